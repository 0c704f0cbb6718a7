//! Kommunenummer: four digits, kept as a string so that Oslo stays "0301".

use std::fmt;

/// A municipality number. Membership in SSB's current classification is configuration, not code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kommunenummer(String);

/// Why a string is not a municipality number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a kommunenummer has exactly 4 digits, for example 0301 or 4601")]
pub struct KommunenummerError;

impl Kommunenummer {
    /// Parses exactly four digits.
    pub fn parse(input: &str) -> Result<Self, KommunenummerError> {
        let s = input.trim();
        if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) && s != "0000" {
            Ok(Self(s.to_owned()))
        } else {
            Err(KommunenummerError)
        }
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The county (fylkesnummer): the first two digits.
    pub fn fylke(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for Kommunenummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_digits_with_leading_zero_are_kept() {
        let oslo = Kommunenummer::parse("0301").unwrap();
        assert_eq!(oslo.as_str(), "0301");
        assert_eq!(oslo.fylke(), "03");
        assert_eq!(Kommunenummer::parse("4601").unwrap().fylke(), "46");
        for bad in ["301", "46011", "46a1", "", "0000"] {
            assert!(Kommunenummer::parse(bad).is_err(), "{bad}");
        }
    }
}
