//! The weighted modulus-11 check digit shared by fødselsnummer, orgnr and kontonummer.

/// Check digit for `digits` with `weights` (same length): 11 − (Σ dᵢ·wᵢ mod 11), where 11 gives 0
/// and 10 means "no valid check digit exists for this body" (`None`).
pub(crate) fn check_digit(digits: &[u8], weights: &[u32]) -> Option<u8> {
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        k => u8::try_from(k).ok(),
    }
}

/// Splits an ASCII digit string into digit values; `None` if any character is not 0-9.
pub(crate) fn digits_of(s: &str) -> Option<Vec<u8>> {
    s.bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect()
}
