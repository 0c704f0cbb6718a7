//! Synthetic letters for the demo: a kindergarten offer to a guardian of each young child (with
//! "Ta imot plassen" / "Takk nei" and a deadline) and a property tax notice to each property's
//! first owner. Deterministic from the seed.

use crate::rng::Rng;
use crate::SynthOptions;
use jiff::SignedDuration;
use minside_core::delivery::LetterKind;
use minside_core::letters::{
    ArchiveRef, HistoricLetter, LetterDraft, NewLetter, Recipient, ResponseOption,
};
use minside_core::person::{Population, Relation};
use std::collections::HashSet;

/// The sending system recorded on seeded letters.
pub const SYNTH_CLIENT: &str = "minside-synth";

/// A letter's public id as minside makes it (a version-7 UUID: the time it was made, then random
/// bits), from the seed's generator.
fn uuid(rng: &mut Rng, made: jiff::Timestamp) -> String {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&rng.next().to_be_bytes());
    random[8..].copy_from_slice(&rng.next().to_be_bytes()[..2]);
    let unix_ms = u64::try_from(made.as_millisecond()).unwrap_or(0);
    minside_core::ports::uuid_v7(unix_ms, random)
}

fn draft(
    sender_ref: String,
    to: Recipient,
    title: String,
    unit: &str,
    body: String,
    n: i64,
) -> LetterDraft {
    LetterDraft {
        sender_ref,
        recipient: to,
        title,
        sender_unit: unit.to_owned(),
        body: Some(body),
        documents: Vec::new(),
        archive_ref: Some(ArchiveRef {
            saksaar: 2026,
            sekvensnummer: n,
            journalpostnummer: Some(1),
        }),
        kind: LetterKind::Formal,
        required_loa: minside_core::auth::Loa::Substantial,
        digital_only: false,
        // Residents may write back with questions (and attachments) on every seeded letter.
        reply_allowed: true,
        response_options: Vec::new(),
        response_deadline: None,
        print_after_working_hours: None,
    }
}

/// Letters for a generated population, as if sent over the last days before `o.now`.
pub fn letters(pop: &Population, o: &SynthOptions) -> Vec<NewLetter> {
    let mut rng = Rng::new(o.seed ^ 0x4C45_5454_4552);
    let today = o.now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut out = Vec::new();
    let mut offered = HashSet::new();
    let mut n: i64 = 1000;
    let mut push = |rng: &mut Rng, d: LetterDraft, days_ago: i64| {
        let created_at = o
            .now
            .checked_sub(SignedDuration::from_hours(24 * days_ago))
            .unwrap_or(o.now);
        out.push(NewLetter {
            public_id: uuid(rng, created_at),
            client_id: SYNTH_CLIENT.into(),
            request_hash: "synthetic".into(),
            draft: d,
            blob_keys: Vec::new(),
            created_at,
        });
    };
    for (guardian, child, Relation::Guardian) in &pop.relations {
        let kid = &pop.persons[*child];
        let age = today.year() - kid.birth_date.year();
        if !(1..=5).contains(&age) || !offered.insert(*child) {
            continue;
        }
        n += 1;
        let parent = &pop.persons[*guardian];
        let mut d = draft(
            format!("synth-offer-{n}"),
            Recipient::Person(parent.fnr.clone()),
            format!("Tilbud om barnehageplass for {}", kid.given_name),
            "Barnehageetaten",
            format!(
                "{} har fått tilbud om plass i Solsikken barnehage fra 1. januar.\n\nSvar innen fristen. Har du spørsmål, kan du skrive til oss under meldingen.",
                kid.given_name
            ),
            n,
        );
        d.response_options = vec![
            ResponseOption {
                code: "accept".into(),
                label: "Ta imot plassen".into(),
            },
            ResponseOption {
                code: "decline".into(),
                label: "Takk nei".into(),
            },
        ];
        d.response_deadline = Some(
            o.now
                .checked_add(SignedDuration::from_hours(24 * 14))
                .unwrap_or(o.now),
        );
        let days_ago = i64::try_from(rng.below(5)).unwrap_or(0);
        push(&mut rng, d, days_ago);
    }
    for p in &pop.properties {
        let Some(owner) = p.owners.first() else {
            continue;
        };
        n += 1;
        let d = draft(
            format!("synth-tax-{n}"),
            Recipient::Person(pop.persons[*owner].fnr.clone()),
            format!("Eiendomsskatt {} for {}", today.year() + 1, p.property.address),
            "Eiendomsskattekontoret",
            format!("Eiendomsskatten for {} ({}) er beregnet. Du finner grunnlaget under Eiendom på Min side.", p.property.address, p.property.matrikkel),
            n,
        );
        let days_ago = 5 + i64::try_from(rng.below(40)).unwrap_or(0);
        push(&mut rng, d, days_ago);
    }
    out
}

/// Senders, titles and whether the letter asks for an answer, for the history.
const HISTORY_KINDS: [(&str, &str, bool); 6] = [
    ("Eiendomsskatt", "Eiendomsskatt og kommunale gebyrer", false),
    ("Vann og avløp", "Måleravlesning for vannmåler", false),
    ("Byggesak", "Vedtak i byggesak", false),
    ("Helse og omsorg", "Innkalling til samtale", true),
    ("Skole", "Informasjon fra skolen", false),
    ("Renovasjon", "Endret tømmedag for avfall", false),
];

/// How far back the history reaches.
const HISTORY_DAYS: usize = 3 * 365;

/// The letter history of `pop.persons[range]`: on average `per_person` letters each, spread over
/// the last three years, in the states real ones end in — most read digitally (some answered,
/// some archived), the unread ones older than a week printed by the fallback, reserved residents'
/// letters printed at once, the last week's unread ones notified and waiting. Deterministic per
/// person, so a municipality can be generated in chunks.
pub fn history(
    pop: &Population,
    o: &SynthOptions,
    per_person: f64,
    range: std::ops::Range<usize>,
) -> Vec<HistoricLetter> {
    use minside_core::letters::LetterStatus;
    let max = (per_person * 2.0).round().max(0.0) as usize;
    let mut out = Vec::new();
    let minutes = |m: usize| SignedDuration::from_mins(i64::try_from(m).unwrap_or(0));
    for i in range {
        let Some(person) = pop.persons.get(i) else {
            break;
        };
        let mut rng = Rng::new(o.seed ^ 0x4849_5354 ^ (i as u64).wrapping_mul(0x9E37_79B9));
        let count = rng.below(max + 1);
        for k in 0..count {
            let (unit, title, asks) = HISTORY_KINDS[rng.below(HISTORY_KINDS.len())];
            let age = minutes(rng.below(HISTORY_DAYS * 24 * 60));
            let created_at = o.now.checked_sub(age).unwrap_or(o.now);
            let n = i64::try_from(i * 64 + k).unwrap_or(0);
            let mut d = draft(
                format!("synth-history-{i}-{k}"),
                Recipient::Person(person.fnr.clone()),
                format!(
                    "{title} ({})",
                    created_at.to_zoned(jiff::tz::TimeZone::UTC).date()
                ),
                unit,
                "Se vedlagt informasjon. Har du spørsmål, kan du skrive til oss under meldingen."
                    .to_owned(),
                n,
            );
            if asks {
                d.response_options = vec![
                    ResponseOption {
                        code: "yes".into(),
                        label: "Jeg kommer".into(),
                    },
                    ResponseOption {
                        code: "new-time".into(),
                        label: "Jeg trenger ny time".into(),
                    },
                ];
                d.response_deadline = created_at
                    .checked_add(SignedDuration::from_hours(24 * 14))
                    .ok();
            }
            let asks_answer = !d.response_options.is_empty();
            let mut h = HistoricLetter {
                letter: NewLetter {
                    public_id: uuid(&mut rng, created_at),
                    client_id: SYNTH_CLIENT.into(),
                    request_hash: "synthetic".into(),
                    draft: d,
                    blob_keys: Vec::new(),
                    created_at,
                },
                status: LetterStatus::Varslet,
                notified_at: None,
                read_at: None,
                answer: None,
                printed_at: None,
                archived_at: None,
            };
            let after = |m: usize| {
                created_at
                    .checked_add(minutes(m))
                    .ok()
                    .filter(|t| *t < o.now)
            };
            if person.contact.reserved {
                h.status = LetterStatus::Printet;
                h.printed_at = after(60);
            } else {
                h.notified_at = after(1);
                // Three in four are read, most within two days.
                let read = rng.below(4) < 3;
                h.read_at = if read {
                    after(2 + rng.below(2 * 24 * 60))
                } else {
                    None
                };
                if h.read_at.is_some() {
                    h.status = LetterStatus::Lest;
                    if asks_answer && rng.below(5) < 4 {
                        h.answer = h.read_at.map(|t| ("yes".to_owned(), t));
                    }
                    if age > SignedDuration::from_hours(24 * 365) && rng.below(3) == 0 {
                        h.archived_at = after(2 * 24 * 60 + 1);
                    }
                } else if let Some(printed) = after(7 * 24 * 60) {
                    // Unread after a week: the print fallback.
                    h.status = LetterStatus::Printet;
                    h.printed_at = Some(printed);
                }
            }
            if h.notified_at.is_none() && h.printed_at.is_none() {
                h.status = LetterStatus::Akseptert;
            }
            out.push(h);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use minside_core::ident::Kommunenummer;

    #[test]
    fn young_children_bring_one_offer_each_and_owners_a_tax_notice() {
        let o = SynthOptions {
            seed: 3,
            persons: 800,
            kommunenummer: Kommunenummer::parse("4601").unwrap(),
            city: "BERGEN".into(),
            postcodes: (5003, 5099),
            now: "2026-11-22T12:00:00Z".parse().unwrap(),
        };
        let pop = crate::generate(&o);
        let all = letters(&pop, &o);
        let offers: Vec<&NewLetter> = all
            .iter()
            .filter(|l| !l.draft.response_options.is_empty())
            .collect();
        assert!(offers.len() > 10, "{}", offers.len());
        assert!(offers
            .iter()
            .all(|l| l.draft.response_deadline.is_some_and(|d| d > o.now)));
        assert_eq!(all.len() - offers.len(), pop.properties.len());
        let ids: HashSet<&str> = all.iter().map(|l| l.public_id.as_str()).collect();
        assert_eq!(ids.len(), all.len(), "unique ids");
        assert_eq!(
            letters(&pop, &o)
                .iter()
                .map(|l| l.public_id.clone())
                .collect::<Vec<_>>(),
            all.iter().map(|l| l.public_id.clone()).collect::<Vec<_>>()
        );
    }
}
