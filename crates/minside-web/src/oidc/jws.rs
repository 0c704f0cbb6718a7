//! Compact JWS with RS256: signing (test IdP) and verification against a JWKS (relying party).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// One RSA key of a JWKS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default)]
    pub n: String,
    #[serde(default)]
    pub e: String,
}

/// A JWKS document.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// Why a token was not accepted as a signed JWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("algorithm {0} is not accepted (only RS256)")]
    Algorithm(String),
    #[error("no key with this kid in the JWKS")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("signing failed")]
    Sign,
}

/// The public half of `key` as a JWK.
pub fn public_jwk(key: &RsaPublicKey, kid: &str) -> Jwk {
    Jwk {
        kty: "RSA".into(),
        kid: Some(kid.into()),
        alg: Some("RS256".into()),
        use_: Some("sig".into()),
        n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    }
}

/// Signs `payload` as a compact JWS with header `{"alg":"RS256","kid":…,"typ":"JWT"}`.
pub fn sign_rs256(key: &RsaPrivateKey, kid: &str, payload: &Value) -> Result<String, JwsError> {
    let header = serde_json::json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
    let enc = |v: &Value| {
        serde_json::to_vec(v)
            .map(|b| URL_SAFE_NO_PAD.encode(b))
            .map_err(|_| JwsError::Sign)
    };
    let input = format!("{}.{}", enc(&header)?, enc(payload)?);
    let sig = SigningKey::<Sha256>::new(key.clone())
        .try_sign(input.as_bytes())
        .map_err(|_| JwsError::Sign)?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    ))
}

/// The `kid` in a token's header, if any (to decide whether the JWKS must be refetched).
pub fn header_kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    v.get("kid").and_then(Value::as_str).map(str::to_owned)
}

/// Verifies an RS256 compact JWS against `keys` and returns its payload.
pub fn verify_rs256(token: &str, keys: &[Jwk]) -> Result<Value, JwsError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let decode = |x: &str| URL_SAFE_NO_PAD.decode(x).map_err(|_| JwsError::Malformed);
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| JwsError::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if alg != "RS256" {
        return Err(JwsError::Algorithm(alg.to_owned()));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&Jwk> = keys
        .iter()
        .filter(|k| k.kty == "RSA" && k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
        .collect();
    if candidates.is_empty() {
        return Err(JwsError::UnknownKey);
    }
    let signature =
        Signature::try_from(decode(s)?.as_slice()).map_err(|_| JwsError::BadSignature)?;
    let input = format!("{h}.{p}");
    let verified = candidates.iter().any(|k| {
        let (Ok(n), Ok(e)) = (decode(&k.n), decode(&k.e)) else {
            return false;
        };
        RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
            .map(|pk| {
                VerifyingKey::<Sha256>::new(pk)
                    .verify(input.as_bytes(), &signature)
                    .is_ok()
            })
            .unwrap_or(false)
    });
    if !verified {
        return Err(JwsError::BadSignature);
    }
    serde_json::from_slice(&decode(p)?).map_err(|_| JwsError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RsaPrivateKey {
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_and_a_tampered_one_does_not() {
        let k = key();
        let jwk = public_jwk(&k.to_public_key(), "k1");
        let token = sign_rs256(&k, "k1", &serde_json::json!({"sub": "x"})).unwrap();
        assert_eq!(
            verify_rs256(&token, std::slice::from_ref(&jwk)).unwrap()["sub"],
            "x"
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(br#"{"sub":"y"}"#);
        parts[1] = &other;
        assert_eq!(
            verify_rs256(&parts.join("."), std::slice::from_ref(&jwk)),
            Err(JwsError::BadSignature)
        );
        let stranger = public_jwk(&key().to_public_key(), "k1");
        assert_eq!(
            verify_rs256(&token, &[stranger]),
            Err(JwsError::BadSignature)
        );
        let wrong_kid = Jwk {
            kid: Some("k2".into()),
            ..jwk
        };
        assert_eq!(
            verify_rs256(&token, &[wrong_kid]),
            Err(JwsError::UnknownKey)
        );
    }

    #[test]
    fn unsigned_and_hmac_tokens_are_refused() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(b"{}")
        );
        assert_eq!(
            verify_rs256(&none, &[]),
            Err(JwsError::Algorithm("none".into()))
        );
        let hs = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(b"{}")
        );
        assert_eq!(
            verify_rs256(&hs, &[]),
            Err(JwsError::Algorithm("HS256".into()))
        );
        assert_eq!(verify_rs256("abc", &[]), Err(JwsError::Malformed));
    }
}
