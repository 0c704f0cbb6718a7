//! Matrikkel unit id: kommunenummer-gnr/bnr[/fnr[/snr]].

use super::kommunenummer::Kommunenummer;
use std::fmt;

/// A cadastre unit (grunneiendom, festegrunn or eierseksjon).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatrikkelId {
    knr: Kommunenummer,
    gnr: u32,
    bnr: u32,
    fnr: u32,
    snr: u32,
}

/// Why a string is not a matrikkel id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("write the property as kommunenummer-gnr/bnr, for example 4601-166/12 (festenummer and seksjonsnummer may follow)")]
pub struct MatrikkelError;

impl MatrikkelId {
    /// Parses `4601-166/12`, `4601-166/12/5` or `0301-207/264/0/14`.
    pub fn parse(input: &str) -> Result<Self, MatrikkelError> {
        let (knr, rest) = input.trim().split_once('-').ok_or(MatrikkelError)?;
        let knr = Kommunenummer::parse(knr).map_err(|_| MatrikkelError)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let widths = [5, 4, 4, 3];
        if !(2..=4).contains(&parts.len()) {
            return Err(MatrikkelError);
        }
        let mut nums = [0u32; 4];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || p.len() > widths[i] || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(MatrikkelError);
            }
            nums[i] = p.parse().map_err(|_| MatrikkelError)?;
        }
        if nums[0] == 0 || nums[1] == 0 {
            return Err(MatrikkelError);
        }
        Ok(Self {
            knr,
            gnr: nums[0],
            bnr: nums[1],
            fnr: nums[2],
            snr: nums[3],
        })
    }

    /// Builds an id from checked parts (used by the synthetic generator).
    pub fn new(knr: Kommunenummer, gnr: u32, bnr: u32) -> Result<Self, MatrikkelError> {
        Self::parse(&format!("{knr}-{gnr}/{bnr}"))
    }

    pub fn kommunenummer(&self) -> &Kommunenummer {
        &self.knr
    }
    pub fn gnr(&self) -> u32 {
        self.gnr
    }
    pub fn bnr(&self) -> u32 {
        self.bnr
    }
    pub fn fnr(&self) -> u32 {
        self.fnr
    }
    pub fn snr(&self) -> u32 {
        self.snr
    }
}

impl fmt::Display for MatrikkelId {
    /// The short form when fnr and snr are zero, otherwise the full form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}/{}", self.knr, self.gnr, self.bnr)?;
        match (self.fnr, self.snr) {
            (0, 0) => Ok(()),
            (fnr, 0) => write!(f, "/{fnr}"),
            (fnr, snr) => write!(f, "/{fnr}/{snr}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norway_md_vectors_parse_to_their_parts() {
        let a = MatrikkelId::parse("4601-166/12").unwrap();
        assert_eq!(
            (
                a.kommunenummer().as_str(),
                a.gnr(),
                a.bnr(),
                a.fnr(),
                a.snr()
            ),
            ("4601", 166, 12, 0, 0)
        );
        let b = MatrikkelId::parse("0301-207/264/0/14").unwrap();
        assert_eq!(
            (
                b.kommunenummer().as_str(),
                b.gnr(),
                b.bnr(),
                b.fnr(),
                b.snr()
            ),
            ("0301", 207, 264, 0, 14)
        );
        assert_eq!(MatrikkelId::parse("4601-166/12/5").unwrap().fnr(), 5);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "461-166/12",
            "4601-166",
            "4601-123456/1",
            "4601-1/1/1/1234",
            "4601-0/1",
            "4601-a/1",
            "4601-1/1/1/1/1",
        ] {
            assert!(MatrikkelId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["4601-166/12", "0301-207/264/0/14", "4601-166/12/5"] {
            assert_eq!(MatrikkelId::parse(s).unwrap().to_string(), s);
        }
    }
}
