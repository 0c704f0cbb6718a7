//! Organisasjonsnummer (9 digits, MOD11 with weights 3 2 7 6 5 4 3 2).

use super::mod11::{check_digit, digits_of};
use std::fmt;

const W: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

/// A checked organisation number from Enhetsregisteret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Organisasjonsnummer(String);

/// Why a string is not an organisation number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgnrError {
    #[error("an organisasjonsnummer has exactly 9 digits")]
    Format,
    #[error("the check digit does not match")]
    Checksum,
}

impl Organisasjonsnummer {
    /// Parses 9 digits; spaces (as in `988 077 917`) are ignored.
    pub fn parse(input: &str) -> Result<Self, OrgnrError> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let d = digits_of(&s)
            .filter(|d| d.len() == 9)
            .ok_or(OrgnrError::Format)?;
        if check_digit(&d[..8], &W) != Some(d[8]) {
            return Err(OrgnrError::Checksum);
        }
        Ok(Self(s))
    }

    /// The 9 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses a Maskinporten `consumer.ID` such as `0192:991825827` (only ICD 0192 is issued).
    pub fn from_iso6523(id: &str) -> Result<Self, OrgnrError> {
        match id.split_once(':') {
            Some(("0192", rest)) => Self::parse(rest),
            _ => Err(OrgnrError::Format),
        }
    }
}

impl fmt::Display for Organisasjonsnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", &self.0[..3], &self.0[3..6], &self.0[6..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norway_md_vectors_hold() {
        for v in [
            "988077917",
            "991825827",
            "974760673",
            "984661185",
            "889640782",
            "910075918",
            "922020175",
            "910753614",
            "988 077 917",
        ] {
            assert!(Organisasjonsnummer::parse(v).is_ok(), "{v}");
        }
        for v in [
            "988077918",
            "974760674",
            "123456789",
            "98807791",
            "9880779170",
        ] {
            assert!(Organisasjonsnummer::parse(v).is_err(), "{v}");
        }
        for x in 0..=9 {
            assert!(
                Organisasjonsnummer::parse(&format!("10000013{x}")).is_err(),
                "body 10000013 has no check digit"
            );
        }
    }

    #[test]
    fn it_is_displayed_in_groups_of_three() {
        assert_eq!(
            Organisasjonsnummer::parse("988077917").unwrap().to_string(),
            "988 077 917"
        );
    }

    #[test]
    fn maskinporten_consumer_ids_parse_only_with_icd_0192() {
        assert_eq!(
            Organisasjonsnummer::from_iso6523("0192:991825827")
                .unwrap()
                .as_str(),
            "991825827"
        );
        assert!(Organisasjonsnummer::from_iso6523("0192:988077918").is_err());
        assert!(Organisasjonsnummer::from_iso6523("0088:1234567890123").is_err());
    }
}
