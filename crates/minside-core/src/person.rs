//! Persons, households, contact register entries and properties as the portal knows them.

use crate::ident::{Fodselsnummer, Kommunenummer, MatrikkelId};
use jiff::civil::Date;
use jiff::Timestamp;

/// Database id of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonId(pub i64);

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub street: String,
    pub postcode: String,
    pub city: String,
}

/// A resident as the population register gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub fnr: Fodselsnummer,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    pub address: Address,
    pub kommunenummer: Kommunenummer,
}

impl Person {
    /// "Given Family", as shown on pages.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// Status of a person in the contact and reservation register (KRR `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterStatus {
    Active,
    Deleted,
    NotRegistered,
}

impl RegisterStatus {
    /// The KRR code (`AKTIV`, `SLETTET`, `IKKE_REGISTRERT`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "AKTIV",
            Self::Deleted => "SLETTET",
            Self::NotRegistered => "IKKE_REGISTRERT",
        }
    }

    /// Parses a KRR code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "AKTIV" => Some(Self::Active),
            "SLETTET" => Some(Self::Deleted),
            "IKKE_REGISTRERT" => Some(Self::NotRegistered),
            _ => None,
        }
    }
}

/// One channel of contact info with the timestamps that decide the 18-month rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactChannel {
    pub value: String,
    pub updated_at: Timestamp,
    pub verified_at: Option<Timestamp>,
}

/// A person's entry in the contact and reservation register (shape of NORWAY.md §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub status: RegisterStatus,
    pub reserved: bool,
    pub email: Option<ContactChannel>,
    pub mobile: Option<ContactChannel>,
    pub language: Option<String>,
}

/// A property (cadastre unit) with its street address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub matrikkel: MatrikkelId,
    pub address: String,
}

/// Role of an adult towards a child in a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Guardian,
}

/// A person to insert, as the synthetic generator or a register import gives them.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub fnr: Fodselsnummer,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    pub address: Address,
    pub kommunenummer: Kommunenummer,
    pub contact: ContactRecord,
}

/// A property to insert with indexes of its owners in [`Population::persons`].
#[derive(Debug, Clone)]
pub struct NewProperty {
    pub property: Property,
    pub owners: Vec<usize>,
}

/// A synthetic staff user (demo and test only; production staff come from the staff IdP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub username: String,
    pub name: String,
    pub roles: Vec<crate::auth::StaffRole>,
}

/// A batch of register data to insert in one go (bulk seeding).
#[derive(Debug, Clone, Default)]
pub struct Population {
    pub persons: Vec<NewPerson>,
    /// (guardian index, child index, relation) into `persons`.
    pub relations: Vec<(usize, usize, Relation)>,
    pub properties: Vec<NewProperty>,
    pub staff: Vec<StaffUser>,
    /// When these records entered the register (stored as `created_at`).
    pub registered_at: jiff::Timestamp,
}

/// Why a person is offered on the test IdP's picker page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateGroup {
    Guardian,
    Owner,
    Reserved,
    Child,
    Elderly,
}

/// A seeded person offered for test login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCandidate {
    pub group: CandidateGroup,
    pub fnr: Fodselsnummer,
    pub name: String,
    pub birth_date: Date,
}

/// What the dashboard shows about the logged-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub person: Person,
    pub properties: Vec<Property>,
    pub children: Vec<String>,
}

/// The dashboard's data as the store reads it in one go: register data (none for a person who
/// is not in this municipality's register) and the resident's letter counts from their summary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DashboardData {
    pub register: Option<Dashboard>,
    pub counts: crate::letters::InboxCounts,
}
