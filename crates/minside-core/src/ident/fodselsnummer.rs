//! Fødselsnummer and D-nummer (11 digits), including synthetic test numbers and the 2032 scheme.

use super::mod11::{check_digit, digits_of};
use std::fmt;

const W1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const W2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// What sort of number this is, read from the day and month offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberKind {
    /// Day + 40: D-nummer (foreign residents and others without a fødselsnummer).
    pub d_nummer: bool,
    /// Month + 80: Skatteetaten/Tenor synthetic test person (TestID, KRR TEST).
    pub synthetic_tenor: bool,
    /// Month + 40: H-nummer or NAV's older synthetic persons (ambiguous by design).
    pub plus_40: bool,
    /// Month + 65: Norsk helsenett synthetic persons.
    pub synthetic_nhn: bool,
}

impl NumberKind {
    /// True for any test-only range (Tenor, NAV/H-nummer, NHN): never a real person's number in production.
    pub fn is_synthetic(&self) -> bool {
        self.synthetic_tenor || self.plus_40 || self.synthetic_nhn
    }
}

/// A checked fødselsnummer or D-nummer. `Display` gives the 11 digits; `Debug` masks the
/// personal part so that a stray `{:?}` in a log line never leaks a whole number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fodselsnummer(String);

/// Why a string is not a fødselsnummer. Messages are for logs; pages translate the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FodselsnummerError {
    #[error("a fødselsnummer has exactly 11 digits")]
    Format,
    #[error("the date part is not a date")]
    Date,
    #[error("the check digits do not match")]
    Checksum,
}

impl Fodselsnummer {
    /// Parses 11 digits (surrounding whitespace and one inner space after the date are tolerated).
    /// Accepts both the pre-2032 check digit rule and the 2032 rule (K1 with offsets 0–3).
    pub fn parse(input: &str) -> Result<Self, FodselsnummerError> {
        // Spaces a person typed are dropped; a number read back from the database has none
        // (and is parsed on every page: no string is built for it but the one kept).
        let trimmed = input.trim();
        let s: std::borrow::Cow<'_, str> = if trimmed.contains(' ') {
            trimmed
                .chars()
                .filter(|c| *c != ' ')
                .collect::<String>()
                .into()
        } else {
            trimmed.into()
        };
        if s.len() != 11 {
            return Err(FodselsnummerError::Format);
        }
        let mut d = [0u8; 11];
        for (digit, b) in d.iter_mut().zip(s.bytes()) {
            if !b.is_ascii_digit() {
                return Err(FodselsnummerError::Format);
            }
            *digit = b - b'0';
        }
        let (day, month, kind) = decode_date_offsets(&d).ok_or(FodselsnummerError::Date)?;
        let year2 = u32::from(d[4]) * 10 + u32::from(d[5]);
        if !date_exists(day, month, year2, individual(&d), &kind) {
            return Err(FodselsnummerError::Date);
        }
        if !checksum_ok(&d) {
            return Err(FodselsnummerError::Checksum);
        }
        Ok(Self(s.into_owned()))
    }

    /// Builds a number from its first nine digits by computing the check digits (pre-2032 rule).
    /// `None` when the body has no valid check digit (remainder 10) or is not a date.
    pub fn from_body(body9: &str) -> Option<Self> {
        let d = digits_of(body9)?;
        if d.len() != 9 {
            return None;
        }
        let k1 = check_digit(&d, &W1)?;
        let mut ten = d.clone();
        ten.push(k1);
        let k2 = check_digit(&ten, &W2)?;
        Self::parse(&format!("{body9}{k1}{k2}")).ok()
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Offsets found in this number (D-nummer, synthetic ranges).
    pub fn kind(&self) -> NumberKind {
        let d: Vec<u8> = self.0.bytes().map(|b| b - b'0').collect();
        decode_date_offsets(&d)
            .map(|(_, _, k)| k)
            .unwrap_or(NumberKind {
                d_nummer: false,
                synthetic_tenor: false,
                plus_40: false,
                synthetic_nhn: false,
            })
    }

    /// A form safe for logs: birth date digits and the rest masked.
    pub fn masked(&self) -> String {
        format!("{}*****", &self.0[..6])
    }
}

impl fmt::Display for Fodselsnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Fodselsnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fodselsnummer({})", self.masked())
    }
}

fn individual(d: &[u8]) -> u32 {
    u32::from(d[6]) * 100 + u32::from(d[7]) * 10 + u32::from(d[8])
}

/// Removes the D-nummer day offset and the month offsets; returns (day, month, kind).
fn decode_date_offsets(d: &[u8]) -> Option<(u32, u32, NumberKind)> {
    let mut day = u32::from(d[0]) * 10 + u32::from(d[1]);
    let mut month = u32::from(d[2]) * 10 + u32::from(d[3]);
    let mut kind = NumberKind {
        d_nummer: false,
        synthetic_tenor: false,
        plus_40: false,
        synthetic_nhn: false,
    };
    if day > 40 {
        day -= 40;
        kind.d_nummer = true;
    }
    match month {
        1..=12 => {}
        41..=52 => {
            month -= 40;
            kind.plus_40 = true;
        }
        66..=77 => {
            month -= 65;
            kind.synthetic_nhn = true;
        }
        81..=92 => {
            month -= 80;
            kind.synthetic_tenor = true;
        }
        _ => return None,
    }
    (1..=31).contains(&day).then_some((day, month, kind))
}

/// Whether day/month exists in some year the number can stand for. Pre-2032 numbers fix the century
/// from the individual number; synthetic numbers and 2032-scheme numbers need not, so for them
/// any century that makes the date exist is accepted.
fn date_exists(day: u32, month: u32, year2: u32, ind: u32, kind: &NumberKind) -> bool {
    let by_rule = match ind {
        0..=499 => Some(1900),
        500..=749 if year2 >= 54 => Some(1800),
        500..=999 if year2 <= 39 => Some(2000),
        900..=999 if year2 >= 40 => Some(1900),
        _ => None,
    };
    let fits = |century: u32| day <= days_in_month(century + year2, month);
    match by_rule {
        Some(c) if !kind.is_synthetic() && !kind.d_nummer => fits(c) || fits(2000) && year2 <= 39,
        _ => [1800, 1900, 2000].into_iter().any(fits),
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// K1 must be one of the 2032-scheme candidates (offset 0 is the old rule); K2 is computed
/// from the K1 actually present.
fn checksum_ok(d: &[u8]) -> bool {
    let s1: u32 = d[..9].iter().zip(W1).map(|(x, w)| u32::from(*x) * w).sum();
    let k1 = u32::from(d[9]);
    let k1_ok = (0..4).any(|r| {
        let candidate = (11 + r - s1 % 11) % 11;
        candidate != 10 && candidate == k1
    });
    k1_ok && check_digit(&d[..10], &W2) == Some(d[10])
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[&str] = &[
        "13097248022",
        "29029648784",
        "29020075838",
        "15021951940",
        "15108695088",
        "02016126007",
        "31129956715",
        "23079421936",
        "53097248016",
        "13527248013",
        "24417138435",
        "10915596784",
        "20914695016",
        "68467038838",
        "50846202355",
        "41814061033",
        "01709012327",
        "41819012359",
        "70108299914",
        "30108299920",
        "30108299939",
        "02013299997",
    ];
    const INVALID: &[&str] = &[
        "13097248032",
        "13097248023",
        "15108695077",
        "32127248022",
        "13137248022",
        "29020112345",
        "41804061033",
        "02013299987",
        "02013299996",
        "1309724802",
        "123456789101",
        "1234567891A",
    ];

    #[test]
    fn every_valid_vector_from_norway_md_parses() {
        for v in VALID {
            assert!(
                Fodselsnummer::parse(v).is_ok(),
                "{v} should be valid: {:?}",
                Fodselsnummer::parse(v)
            );
        }
    }

    #[test]
    fn every_invalid_vector_from_norway_md_is_refused() {
        for v in INVALID {
            assert!(Fodselsnummer::parse(v).is_err(), "{v} should be invalid");
        }
    }

    /// Spaces a person types (and whitespace around) are dropped; what is kept has none.
    #[test]
    fn typed_spaces_are_dropped() {
        let v = VALID[0];
        let typed = format!("  {} {}\t", &v[..6], &v[6..]);
        assert_eq!(Fodselsnummer::parse(&typed).unwrap().as_str(), v);
        assert_eq!(
            Fodselsnummer::parse(&format!("{} {}", &v[..6], &v[7..])),
            Err(FodselsnummerError::Format)
        );
        // Eleven bytes that are not eleven digits.
        assert_eq!(
            Fodselsnummer::parse("130972480é"),
            Err(FodselsnummerError::Format)
        );
    }

    #[test]
    fn a_body_whose_first_check_digit_would_be_ten_has_no_number() {
        assert_eq!(Fodselsnummer::from_body("010190123"), None);
    }

    #[test]
    fn length_and_non_digits_are_format_errors() {
        assert_eq!(
            Fodselsnummer::parse("1309724802"),
            Err(FodselsnummerError::Format)
        );
        assert_eq!(
            Fodselsnummer::parse("1234567891A"),
            Err(FodselsnummerError::Format)
        );
        assert_eq!(
            Fodselsnummer::parse("13097248032"),
            Err(FodselsnummerError::Checksum)
        );
        assert_eq!(
            Fodselsnummer::parse("32127248022"),
            Err(FodselsnummerError::Date)
        );
    }

    #[test]
    fn kinds_are_read_from_the_offsets() {
        let tenor = Fodselsnummer::parse("20914695016").unwrap().kind();
        assert!(tenor.synthetic_tenor && !tenor.d_nummer && tenor.is_synthetic());
        let d = Fodselsnummer::parse("53097248016").unwrap().kind();
        assert!(d.d_nummer && !d.is_synthetic());
        let both = Fodselsnummer::parse("50846202355").unwrap().kind();
        assert!(both.d_nummer && both.synthetic_tenor);
        assert!(
            Fodselsnummer::parse("01709012327")
                .unwrap()
                .kind()
                .synthetic_nhn
        );
        assert!(Fodselsnummer::parse("13527248013").unwrap().kind().plus_40);
        assert!(!Fodselsnummer::parse("13097248022")
            .unwrap()
            .kind()
            .is_synthetic());
    }

    #[test]
    fn debug_output_never_shows_the_whole_number() {
        let f = Fodselsnummer::parse("20914695016").unwrap();
        let dbg = format!("{f:?}");
        assert!(!dbg.contains("20914695016"), "{dbg}");
        assert_eq!(f.to_string(), "20914695016");
    }

    #[test]
    fn from_body_computes_both_check_digits() {
        assert_eq!(
            Fodselsnummer::from_body("130972480").unwrap().as_str(),
            "13097248022"
        );
        assert_eq!(
            Fodselsnummer::from_body("209146950").unwrap().as_str(),
            "20914695016"
        );
    }
}
