//! Bank account number (kontonummer, 11 digits BBBB.AA.CCCCK, MOD11).

use super::mod11::{check_digit, digits_of};
use std::fmt;

const W: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// A checked Norwegian bank account number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kontonummer(String);

/// Why a string is not an account number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KontonummerError {
    #[error("a kontonummer has exactly 11 digits")]
    Format,
    #[error("the check digit does not match")]
    Checksum,
}

impl Kontonummer {
    /// Parses 11 digits, ignoring the dots and spaces of the display form, or an IBAN `NO…`.
    pub fn parse(input: &str) -> Result<Self, KontonummerError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '.')
            .collect();
        if let Some(rest) = compact.strip_prefix("NO") {
            return Self::parse_iban(rest);
        }
        let d = digits_of(&compact)
            .filter(|d| d.len() == 11)
            .ok_or(KontonummerError::Format)?;
        if check_digit(&d[..10], &W) != Some(d[10]) {
            return Err(KontonummerError::Checksum);
        }
        Ok(Self(compact))
    }

    fn parse_iban(rest: &str) -> Result<Self, KontonummerError> {
        if rest.len() != 13 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(KontonummerError::Format);
        }
        let (check, bban) = rest.split_at(2);
        // ISO 13616: move "NO" + check digits to the end, N=23, O=24, then mod 97 must be 1.
        let rearranged = format!("{bban}2324{check}");
        let rem = rearranged
            .bytes()
            .fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97);
        if rem != 1 {
            return Err(KontonummerError::Checksum);
        }
        Self::parse(bban)
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kontonummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", &self.0[..4], &self.0[4..6], &self.0[6..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norway_md_vectors_hold() {
        assert!(Kontonummer::parse("86011117947").is_ok());
        assert!(Kontonummer::parse("12345678903").is_ok());
        assert!(Kontonummer::parse("8601.11.17947").is_ok());
        assert_eq!(
            Kontonummer::parse("NO9386011117947").unwrap().as_str(),
            "86011117947"
        );
        assert_eq!(
            Kontonummer::parse("86011117949"),
            Err(KontonummerError::Checksum)
        );
        assert!(Kontonummer::parse("15032080000").is_err());
        assert_eq!(
            Kontonummer::parse("NO9386011117948"),
            Err(KontonummerError::Checksum)
        );
        for x in 0..=9 {
            assert!(Kontonummer::parse(&format!("1234567892{x}")).is_err());
        }
    }

    #[test]
    fn it_is_displayed_with_dots() {
        assert_eq!(
            Kontonummer::parse("86011117947").unwrap().to_string(),
            "8601.11.17947"
        );
    }
}
