//! minside-synth: a deterministic synthetic municipality.
//!
//! Persons with valid synthetic fødselsnummer (month + 80, the Tenor range, so never a real
//! person's number), names, addresses, households with guardians and children, contact register
//! entries (some reserved, some stale, some unregistered), properties with owners, and staff.
//! The same seed gives the same municipality; demo, tests and benchmarks share it.

pub mod letters;
mod names;
mod rng;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use minside_core::auth::StaffRole;
use minside_core::ident::{Fodselsnummer, Kommunenummer, MatrikkelId};
use minside_core::person::{
    Address, ContactChannel, ContactRecord, NewPerson, NewProperty, Population, Property,
    RegisterStatus, Relation, StaffUser,
};
use rng::Rng;
use std::collections::HashSet;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub seed: u64,
    pub persons: usize,
    pub kommunenummer: Kommunenummer,
    /// Postal place written in addresses (the municipality's main town).
    pub city: String,
    /// Inclusive range of four-digit postcodes to draw from.
    pub postcodes: (u16, u16),
    /// "Today": ages and contact-info freshness are computed from it.
    pub now: Timestamp,
}

/// Generates the municipality. Deterministic for equal options.
pub fn generate(o: &SynthOptions) -> Population {
    Generator::new(o).run()
}

/// Synthetic staff users for the test IdP, one per role plus an administrator.
pub fn staff() -> Vec<StaffUser> {
    let s = |u: &str, n: &str, roles: Vec<StaffRole>| StaffUser {
        username: u.into(),
        name: n.into(),
        roles,
    };
    vec![
        s(
            "saksbehandler",
            "Siri Saksbehandler",
            vec![StaffRole::Caseworker],
        ),
        s(
            "personvern",
            "Per Personvernombud",
            vec![StaffRole::PrivacyOfficer],
        ),
        s(
            "statistikk",
            "Stine Statistikk",
            vec![StaffRole::Statistics],
        ),
        s("admin", "Ada Administrator", vec![StaffRole::Admin]),
    ]
}

struct Generator<'a> {
    o: &'a SynthOptions,
    rng: Rng,
    today: Date,
    used: HashSet<String>,
    used_matrikkel: HashSet<(u32, u32)>,
    pop: Population,
}

impl<'a> Generator<'a> {
    fn new(o: &'a SynthOptions) -> Self {
        let today = o.now.to_zoned(jiff::tz::TimeZone::UTC).date();
        Self {
            o,
            rng: Rng::new(o.seed),
            today,
            used: HashSet::new(),
            used_matrikkel: HashSet::new(),
            pop: Population {
                staff: staff(),
                registered_at: o.now,
                ..Population::default()
            },
        }
    }

    fn run(mut self) -> Population {
        while self.pop.persons.len() < self.o.persons {
            self.household();
        }
        self.pop.persons.truncate(self.o.persons);
        let n = self.pop.persons.len();
        self.pop.relations.retain(|(g, c, _)| *g < n && *c < n);
        for p in &mut self.pop.properties {
            p.owners.retain(|o| *o < n);
        }
        self.pop.properties.retain(|p| !p.owners.is_empty());
        self.pop
    }

    fn household(&mut self) {
        let family = names::FAMILY[self.rng.below(names::FAMILY.len())];
        let street = names::STREETS[self.rng.below(names::STREETS.len())];
        let address = Address {
            street: format!("{street} {}", 1 + self.rng.below(120)),
            postcode: format!(
                "{:04}",
                self.o.postcodes.0
                    + self
                        .rng
                        .below(usize::from(self.o.postcodes.1 - self.o.postcodes.0 + 1))
                        as u16
            ),
            city: self.o.city.clone(),
        };
        let kind = self.rng.below(100);
        let adults = if kind < 60 { 2 } else { 1 };
        let children = match kind {
            0..=34 => 1 + self.rng.below(3),
            35..=49 => 0,
            60..=74 => 1 + self.rng.below(2),
            _ => 0,
        };
        let elderly = kind >= 85;
        let mut adult_idx = Vec::new();
        for _ in 0..adults {
            let age = if elderly {
                67 + self.rng.below(30)
            } else if children > 0 {
                25 + self.rng.below(25)
            } else {
                19 + self.rng.below(60)
            };
            adult_idx.push(self.person(family, &address, age));
        }
        for _ in 0..children {
            let age = self.rng.below(18);
            let child = self.person(family, &address, age);
            for g in &adult_idx {
                self.pop.relations.push((*g, child, Relation::Guardian));
            }
        }
        // Most households own their home; some also a second unit (cabin, garage, a flat they
        // rent out): about one property per two residents, as in the cadastre of a large town.
        let homes = usize::from(self.rng.below(100) < 80);
        let extra = usize::from(self.rng.below(100) < 30);
        for k in 0..homes + extra {
            let (gnr, bnr) = loop {
                let key = (
                    1 + self.rng.below(400) as u32,
                    1 + self.rng.below(2000) as u32,
                );
                if self.used_matrikkel.insert(key) {
                    break key;
                }
            };
            let street = if k < homes {
                format!("{}, {} {}", address.street, address.postcode, address.city)
            } else {
                let other = names::STREETS[self.rng.below(names::STREETS.len())];
                format!(
                    "{other} {}, {} {}",
                    1 + self.rng.below(120),
                    address.postcode,
                    address.city
                )
            };
            if let Ok(matrikkel) = MatrikkelId::new(self.o.kommunenummer.clone(), gnr, bnr) {
                self.pop.properties.push(NewProperty {
                    property: Property {
                        matrikkel,
                        address: street,
                    },
                    owners: adult_idx.clone(),
                });
            }
        }
    }

    /// Adds one person of `age` years and returns their index.
    fn person(&mut self, family: &str, address: &Address, age: usize) -> usize {
        let female = self.rng.below(2) == 0;
        let given = if female {
            names::GIVEN_F
        } else {
            names::GIVEN_M
        };
        let given_name = given[self.rng.below(given.len())].to_owned();
        let (fnr, birth_date) = self.fodselsnummer(age, female);
        let contact = self.contact(&given_name, family, age);
        self.pop.persons.push(NewPerson {
            fnr,
            given_name,
            family_name: family.to_owned(),
            birth_date,
            address: address.clone(),
            kommunenummer: self.o.kommunenummer.clone(),
            contact,
        });
        self.pop.persons.len() - 1
    }

    /// A synthetic (month + 80) number for someone born `age` years before today.
    fn fodselsnummer(&mut self, age: usize, female: bool) -> (Fodselsnummer, Date) {
        loop {
            let days_back = (age as i64) * 365 + self.rng.below(365) as i64;
            let Ok(birth) = self.today.checked_sub((days_back).days()) else {
                continue;
            };
            let year = i32::from(birth.year());
            let individual = if year >= 2000 {
                500 + self.rng.below(500)
            } else {
                self.rng.below(500)
            };
            // Pre-2032 numbers carry gender in the ninth digit: even female, odd male.
            let individual = (individual & !1) | usize::from(!female);
            let body = format!(
                "{:02}{:02}{:02}{:03}",
                birth.day(),
                i32::from(birth.month()) + 80,
                year.rem_euclid(100),
                individual.min(999)
            );
            if let Some(fnr) = Fodselsnummer::from_body(&body) {
                if self.used.insert(fnr.as_str().to_owned()) {
                    return (fnr, birth);
                }
            }
        }
    }

    fn contact(&mut self, given: &str, family: &str, age: usize) -> ContactRecord {
        let none = |status| ContactRecord {
            status,
            reserved: false,
            email: None,
            mobile: None,
            language: None,
        };
        if age < 15 {
            return none(RegisterStatus::NotRegistered);
        }
        let roll = self.rng.below(100);
        if roll < 4 {
            return none(RegisterStatus::NotRegistered);
        }
        if roll < 5 {
            return none(RegisterStatus::Deleted);
        }
        let stale = (5..13).contains(&roll);
        let reserved = (13..19).contains(&roll);
        let now = self.o.now;
        let mut when = |stale: bool| {
            let days = if stale {
                600 + self.rng.below(900)
            } else {
                self.rng.below(500)
            };
            now.checked_sub(SignedDuration::from_hours(24 * days as i64))
                .unwrap_or(now)
        };
        let email_at = when(stale);
        let mobile_at = when(stale);
        let n = self.rng.below(1000);
        let ascii = |s: &str| names::ascii(s);
        let email = (self.rng.below(100) < 85).then(|| ContactChannel {
            value: format!("{}.{}{n}@example.test", ascii(given), ascii(family)),
            updated_at: email_at,
            verified_at: None,
        });
        let mobile = (email.is_none() || self.rng.below(100) < 80).then(|| ContactChannel {
            value: format!("+47 4{:07}", self.rng.below(10_000_000)),
            updated_at: mobile_at,
            verified_at: None,
        });
        let language = match self.rng.below(20) {
            0 => Some("en".to_owned()),
            1 | 2 => Some("nn".to_owned()),
            _ => Some("nb".to_owned()),
        };
        ContactRecord {
            status: RegisterStatus::Active,
            reserved,
            email,
            mobile,
            language,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(persons: usize) -> SynthOptions {
        SynthOptions {
            seed: 7,
            persons,
            kommunenummer: Kommunenummer::parse("4601").unwrap(),
            city: "BERGEN".into(),
            postcodes: (5003, 5099),
            now: "2026-11-22T12:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_municipality() {
        let a = generate(&options(300));
        let b = generate(&options(300));
        let fa: Vec<&str> = a.persons.iter().map(|p| p.fnr.as_str()).collect();
        let fb: Vec<&str> = b.persons.iter().map(|p| p.fnr.as_str()).collect();
        assert_eq!(fa, fb);
        assert_eq!(a.properties.len(), b.properties.len());
    }

    #[test]
    fn every_number_is_synthetic_valid_and_unique() {
        let pop = generate(&options(2000));
        assert_eq!(pop.persons.len(), 2000);
        let mut seen = HashSet::new();
        for p in &pop.persons {
            assert!(
                p.fnr.kind().synthetic_tenor,
                "{:?} must be in the +80 range",
                p.fnr
            );
            assert!(Fodselsnummer::parse(p.fnr.as_str()).is_ok());
            assert!(seen.insert(p.fnr.clone()));
        }
    }

    #[test]
    fn the_municipality_has_every_kind_of_resident_the_demo_needs() {
        let pop = generate(&options(2000));
        let reserved = pop.persons.iter().filter(|p| p.contact.reserved).count();
        let unregistered = pop
            .persons
            .iter()
            .filter(|p| p.contact.status == RegisterStatus::NotRegistered)
            .count();
        let children = pop
            .relations
            .iter()
            .map(|r| r.1)
            .collect::<HashSet<_>>()
            .len();
        assert!(reserved > 20, "reserved: {reserved}");
        assert!(unregistered > 20, "unregistered: {unregistered}");
        assert!(children > 200, "children: {children}");
        assert!(pop.properties.len() > 200);
        assert!(pop.properties.iter().all(|p| !p.owners.is_empty()));
        assert!(pop.persons.iter().any(|p| p.birth_date.year() < 1950));
        assert!(pop
            .relations
            .iter()
            .all(|(g, c, _)| pop.persons[*g].birth_date < pop.persons[*c].birth_date));
    }

    #[test]
    fn a_large_town_has_about_one_property_per_two_residents_and_families() {
        let pop = generate(&options(20_000));
        let per_resident = pop.properties.len() as f64 / pop.persons.len() as f64;
        assert!((0.4..0.6).contains(&per_resident), "{per_resident}");
        let children = pop
            .relations
            .iter()
            .map(|(_, c, _)| *c)
            .collect::<HashSet<_>>()
            .len();
        assert!(children > 3_000, "{children} children with guardians");
    }
}
