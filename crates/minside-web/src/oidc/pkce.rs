//! PKCE (RFC 7636) with S256, the only method ID-porten accepts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// BASE64URL(SHA-256(verifier)) without padding.
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier must be 43–128 characters from the unreserved set.
pub fn verifier_is_valid(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_match_the_vectors_in_norway_md() {
        assert_eq!(
            challenge_s256("xyo94uhy3zKvgB0NJwLms86SwcjtWviEOpkBnGgaLlo"),
            "b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI"
        );
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifier_is_valid(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!verifier_is_valid("short"));
    }
}
