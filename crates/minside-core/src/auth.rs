//! Who is asking, at which level of assurance, and what they may do. Authorization lives here,
//! not in handlers: pages ask these functions.

use crate::ident::Fodselsnummer;
use std::fmt;

/// Level of assurance from ID-porten's `acr` claim. Ordered: `High` satisfies `Substantial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Loa {
    Low,
    Substantial,
    High,
}

impl Loa {
    /// Reads an `acr` value. eIDAS levels count by their suffix, as Digdir allows.
    pub fn from_acr(acr: &str) -> Option<Self> {
        match acr {
            "idporten-loa-low" | "eidas-loa-low" => Some(Self::Low),
            "idporten-loa-substantial" | "eidas-loa-substantial" => Some(Self::Substantial),
            "idporten-loa-high" | "eidas-loa-high" => Some(Self::High),
            _ => None,
        }
    }

    /// The ID-porten `acr_values` string for this level.
    pub fn acr(self) -> &'static str {
        match self {
            Self::Low => "idporten-loa-low",
            Self::Substantial => "idporten-loa-substantial",
            Self::High => "idporten-loa-high",
        }
    }

    /// True when a session at this level may see content that requires `required`.
    pub fn satisfies(self, required: Loa) -> bool {
        self >= required
    }
}

/// A role a municipal employee may hold (from the staff IdP's `roles` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StaffRole {
    Caseworker,
    PrivacyOfficer,
    Statistics,
    Admin,
}

impl StaffRole {
    pub const ALL: [StaffRole; 4] = [
        Self::Caseworker,
        Self::PrivacyOfficer,
        Self::Statistics,
        Self::Admin,
    ];

    /// The claim value (`caseworker`, `privacy_officer`, `statistics`, `admin`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Caseworker => "caseworker",
            Self::PrivacyOfficer => "privacy_officer",
            Self::Statistics => "statistics",
            Self::Admin => "admin",
        }
    }

    /// Parses a claim value; unknown roles are ignored by callers.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A logged-in resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    pub fnr: Fodselsnummer,
    pub loa: Loa,
}

/// A logged-in employee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub subject: String,
    pub name: String,
    pub roles: Vec<StaffRole>,
}

impl Staff {
    pub fn has(&self, role: StaffRole) -> bool {
        self.roles.contains(&role) || self.roles.contains(&StaffRole::Admin)
    }
}

/// A part of the staff area, each guarded by a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffArea {
    /// The staff front page: any employee with at least one known role.
    Home,
    /// Looking up a resident's data (caseworkers and privacy officers); every look-up is access-logged.
    PersonLookup,
    /// Statistics (role `statistics`).
    Statistics,
}

/// Refusal of a staff area.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this part of the staff area needs another role")]
pub struct Forbidden;

/// May this employee open this area?
pub fn staff_may_open(staff: &Staff, area: StaffArea) -> Result<(), Forbidden> {
    let ok = match area {
        StaffArea::Home => !staff.roles.is_empty(),
        StaffArea::PersonLookup => {
            staff.has(StaffRole::Caseworker) || staff.has(StaffRole::PrivacyOfficer)
        }
        StaffArea::Statistics => staff.has(StaffRole::Statistics),
    };
    ok.then_some(()).ok_or(Forbidden)
}

/// A back-office system authenticated with a Maskinporten-style token: its client id and the
/// scopes granted in this token (already limited to what the client is registered for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemClient {
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// API scopes, one per capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read a resident's register data (every read is access-logged).
    PersonsRead,
    /// Send letters.
    LettersWrite,
    /// Read the status and events of letters the client sent.
    LettersRead,
    /// Read aggregated statistics (no personal data).
    StatisticsRead,
}

impl Scope {
    pub fn code(self) -> &'static str {
        match self {
            Self::PersonsRead => "minside:persons.read",
            Self::LettersWrite => "minside:letters.write",
            Self::LettersRead => "minside:letters.read",
            Self::StatisticsRead => "minside:statistics.read",
        }
    }
}

/// Refusal: the token lacks the scope the operation needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token lacks scope {0}")]
pub struct MissingScope(pub &'static str);

/// May this system do what `scope` covers?
pub fn system_may(client: &SystemClient, scope: Scope) -> Result<(), MissingScope> {
    client
        .scopes
        .iter()
        .any(|s| s == scope.code())
        .then_some(())
        .ok_or(MissingScope(scope.code()))
}

/// The level of assurance a citizen page needs; a lower session must step up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this page needs a login at level {required:?}")]
pub struct StepUpRequired {
    pub required: Loa,
}

/// May a citizen session at this level see a page that requires `required`?
pub fn citizen_may_view(citizen: &Citizen, required: Loa) -> Result<(), StepUpRequired> {
    citizen
        .loa
        .satisfies(required)
        .then_some(())
        .ok_or(StepUpRequired { required })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_satisfies_substantial_but_not_the_other_way() {
        assert!(Loa::High.satisfies(Loa::Substantial));
        assert!(!Loa::Substantial.satisfies(Loa::High));
        assert_eq!(Loa::from_acr("eidas-loa-high"), Some(Loa::High));
        assert_eq!(Loa::from_acr("Level4"), None);
    }

    #[test]
    fn roles_guard_the_staff_areas() {
        let statistician = Staff {
            subject: "s".into(),
            name: "S".into(),
            roles: vec![StaffRole::Statistics],
        };
        assert!(staff_may_open(&statistician, StaffArea::Home).is_ok());
        assert_eq!(
            staff_may_open(&statistician, StaffArea::PersonLookup),
            Err(Forbidden)
        );
        let caseworker = Staff {
            roles: vec![StaffRole::Caseworker],
            ..statistician.clone()
        };
        assert!(staff_may_open(&caseworker, StaffArea::PersonLookup).is_ok());
        assert_eq!(
            staff_may_open(&caseworker, StaffArea::Statistics),
            Err(Forbidden)
        );
        let admin = Staff {
            roles: vec![StaffRole::Admin],
            ..statistician.clone()
        };
        assert!(staff_may_open(&admin, StaffArea::Statistics).is_ok());
        let nobody = Staff {
            roles: vec![],
            ..statistician
        };
        assert_eq!(staff_may_open(&nobody, StaffArea::Home), Err(Forbidden));
    }
}
