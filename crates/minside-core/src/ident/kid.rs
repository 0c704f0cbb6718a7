//! KID (customer identification number on OCR giro payments), MOD10 (Luhn) or MOD11.

use std::fmt;

/// Which check digit algorithm a biller's bank agreement uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KidAlgorithm {
    Mod10,
    Mod11,
}

/// A checked KID. Which algorithm the biller uses is configuration; without it, either is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kid(String);

/// Why a string is not a KID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KidError {
    #[error("a KID has 2 to 25 digits (a MOD11 check position may be '-')")]
    Format,
    #[error("the check digit does not match")]
    Checksum,
}

impl Kid {
    /// Parses and checks with the given algorithm, or with either when `None`.
    pub fn parse(input: &str, algorithm: Option<KidAlgorithm>) -> Result<Self, KidError> {
        let s = input.trim();
        let (body, check) = s.split_at(s.len().saturating_sub(1));
        let well_formed = (2..=25).contains(&s.len())
            && body.bytes().all(|b| b.is_ascii_digit())
            && check.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if !well_formed {
            return Err(KidError::Format);
        }
        let check = check.chars().next().ok_or(KidError::Format)?;
        let ok = match algorithm {
            Some(KidAlgorithm::Mod10) => mod10(body) == Some(check),
            Some(KidAlgorithm::Mod11) => mod11(body) == Some(check),
            None => mod10(body) == Some(check) || mod11(body) == Some(check),
        };
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(KidError::Checksum)
        }
    }

    /// Appends the check digit to a numeric body.
    pub fn generate(body: &str, algorithm: KidAlgorithm) -> Result<Self, KidError> {
        let check = match algorithm {
            KidAlgorithm::Mod10 => mod10(body),
            KidAlgorithm::Mod11 => mod11(body),
        }
        .ok_or(KidError::Format)?;
        Self::parse(&format!("{body}{check}"), Some(algorithm))
    }

    /// The KID as printed on the giro.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn body_digits(body: &str) -> Option<Vec<u32>> {
    if body.is_empty() {
        return None;
    }
    body.chars().rev().map(|c| c.to_digit(10)).collect()
}

fn mod10(body: &str) -> Option<char> {
    let sum: u32 = body_digits(body)?
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            if p > 9 {
                p - 9
            } else {
                p
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10)
}

fn mod11(body: &str) -> Option<char> {
    let sum: u32 = body_digits(body)?
        .into_iter()
        .enumerate()
        .map(|(i, d)| d * (2 + (i as u32 % 6)))
        .sum();
    match sum % 11 {
        0 => Some('0'),
        1 => Some('-'),
        r => char::from_digit(11 - r, 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KidAlgorithm::{Mod10, Mod11};

    #[test]
    fn generated_check_digits_match_norway_md() {
        assert_eq!(Kid::generate("234567", Mod10).unwrap().as_str(), "2345676");
        assert_eq!(
            Kid::generate("12345678", Mod10).unwrap().as_str(),
            "123456782"
        );
        assert_eq!(
            Kid::generate("12345678", Mod11).unwrap().as_str(),
            "123456785"
        );
        assert_eq!(
            Kid::generate("1000005", Mod11).unwrap().as_str(),
            "1000005-"
        );
        assert_eq!(Kid::generate("55555", Mod11).unwrap().as_str(), "55555-");
    }

    #[test]
    fn validation_vectors_hold_for_either_and_for_each_algorithm() {
        for v in [
            "2345676",
            "23456767",
            "0044555258",
            "12345678903",
            "0365327",
            "036536-",
            "1000005-",
            "01290865",
            "0004614992",
        ] {
            assert!(Kid::parse(v, None).is_ok(), "{v}");
        }
        for v in [
            "23456767",
            "0044555258",
            "01290865",
            "006402710013",
            "0094026358",
        ] {
            assert!(Kid::parse(v, Some(Mod10)).is_ok(), "{v} mod10");
            assert!(Kid::parse(v, Some(Mod11)).is_err(), "{v} is mod10 only");
        }
        for v in ["0365327", "036536-", "1000005-", "0004614992"] {
            assert!(Kid::parse(v, Some(Mod11)).is_ok(), "{v} mod11");
            assert!(Kid::parse(v, Some(Mod10)).is_err(), "{v} is mod11 only");
        }
        for v in ["2345674", "0044555251", "1677036255", "100030", "123456789"] {
            assert!(Kid::parse(v, None).is_err(), "{v}");
        }
    }

    #[test]
    fn a_dash_is_only_allowed_as_the_check_position() {
        assert_eq!(Kid::parse("10-00005", None), Err(KidError::Format));
        assert_eq!(Kid::parse("1", None), Err(KidError::Format));
        assert_eq!(Kid::parse(&"1".repeat(26), None), Err(KidError::Format));
    }
}
