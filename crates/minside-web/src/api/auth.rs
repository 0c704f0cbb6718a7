//! Machine clients: Maskinporten-style JWT bearer tokens (NORWAY.md §2). A client is registered
//! in config with its id, public key and the scopes it may use; it signs short-lived RS256
//! tokens with `iss` = its client id, `aud` = our API audience, `scope`, `iat`, `exp`.

use super::problem::Problem;
use crate::oidc::jws::{verify_rs256, Jwk};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jiff::Timestamp;
use minside_core::auth::SystemClient;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A registered back-office client.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub public_key: Jwk,
    pub scopes: Vec<String>,
}

/// API settings.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// The `aud` tokens must carry (an audience-restricted token, RFC 8707).
    pub audience: String,
    pub clients: Vec<RegisteredClient>,
    /// Tokens whose signature has been checked.
    pub verified: VerifiedTokens,
}

/// Tokens whose signature has already been checked, with their claims. A back-office system sends
/// the same token with every request for the token's lifetime, and checking an RSA signature costs
/// more than storing a letter (profiled in bench/, issue 4). Keyed by the SHA-256 of the whole
/// token, so a token that differs in any byte is checked anew; only the signature check is
/// skipped: audience, lifetime, clock and scopes are checked on every request.
#[derive(Debug, Clone, Default)]
pub struct VerifiedTokens(Arc<Mutex<HashMap<[u8; 32], Value>>>);

/// How many checked tokens are kept (a few per client are live at a time).
const VERIFIED_KEPT: usize = 1024;

impl VerifiedTokens {
    fn claims(&self, token: &str, key: &Jwk, now: i64) -> Result<Value, TokenError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(claims) = kept.get(&digest) {
            return Ok(claims.clone());
        }
        drop(kept);
        let claims =
            verify_rs256(token, std::slice::from_ref(key)).map_err(|_| TokenError::Signature)?;
        kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= VERIFIED_KEPT {
            kept.retain(|_, c| c.get("exp").and_then(Value::as_i64).unwrap_or(0) + SKEW >= now);
            if kept.len() >= VERIFIED_KEPT {
                kept.clear();
            }
        }
        kept.insert(digest, claims.clone());
        Ok(claims)
    }

    /// How many checked tokens are kept.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Clock skew tolerated on `iat`/`exp`.
const SKEW: i64 = 30;
/// Longest token lifetime accepted (Maskinporten's grants are at most 120 s; tokens a few minutes).
const MAX_LIFETIME: i64 = 600;

/// Why a token was refused (the detail of the 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is not a signed JWT")]
    Malformed,
    #[error("unknown client")]
    UnknownClient,
    #[error("the signature does not verify")]
    Signature,
    #[error("wrong audience")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token lives longer than {MAX_LIFETIME} seconds")]
    TooLong,
    #[error("scope {0} is not granted to this client")]
    ScopeNotGranted(String),
}

/// Checks a bearer token and returns the client with the scopes the token carries.
pub fn authenticate(
    token: &str,
    settings: &ApiSettings,
    now: Timestamp,
) -> Result<SystemClient, TokenError> {
    let payload = token.split('.').nth(1).ok_or(TokenError::Malformed)?;
    let unverified: Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed)?;
    let iss = unverified
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(TokenError::Malformed)?;
    let client = settings
        .clients
        .iter()
        .find(|c| c.client_id == iss)
        .ok_or(TokenError::UnknownClient)?;
    let claims = settings
        .verified
        .claims(token, &client.public_key, now.as_second())?;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == settings.audience,
        Some(Value::Array(a)) => a
            .iter()
            .any(|x| x.as_str() == Some(settings.audience.as_str())),
        _ => false,
    };
    if !aud_ok {
        return Err(TokenError::Audience);
    }
    let now = now.as_second();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(TokenError::Malformed)?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(TokenError::Malformed)?;
    if exp + SKEW < now {
        return Err(TokenError::Expired);
    }
    if iat - SKEW > now {
        return Err(TokenError::NotYetValid);
    }
    if exp - iat > MAX_LIFETIME {
        return Err(TokenError::TooLong);
    }
    let scopes: Vec<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if let Some(s) = scopes.iter().find(|s| !client.scopes.contains(s)) {
        return Err(TokenError::ScopeNotGranted(s.clone()));
    }
    Ok(SystemClient {
        client_id: client.client_id.clone(),
        scopes,
    })
}

/// The authenticated back-office client of an API request.
pub struct ApiClient(pub SystemClient);

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Problem::unauthorized(TokenError::Missing.to_string()))?;
        authenticate(token.trim(), &state.config.api, state.clock.now())
            .map(ApiClient)
            .map_err(|e| {
                tracing::warn!(reason = %e, "API token refused");
                Problem::unauthorized(e.to_string())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jws::{public_jwk, sign_rs256};
    use rsa::RsaPrivateKey;
    use serde_json::json;
    use std::sync::OnceLock;

    fn key() -> &'static RsaPrivateKey {
        static K: OnceLock<RsaPrivateKey> = OnceLock::new();
        K.get_or_init(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap())
    }

    const NOW: i64 = 1_800_000_000;

    fn settings() -> ApiSettings {
        ApiSettings {
            audience: "minside-api".into(),
            clients: vec![RegisteredClient {
                client_id: "sak-arkiv".into(),
                public_key: public_jwk(&key().to_public_key(), "k"),
                scopes: vec!["minside:persons.read".into()],
            }],
            verified: VerifiedTokens::default(),
        }
    }

    fn token(claims: Value) -> String {
        sign_rs256(key(), "k", &claims).unwrap()
    }

    fn good() -> Value {
        json!({"iss": "sak-arkiv", "aud": "minside-api", "scope": "minside:persons.read", "iat": NOW, "exp": NOW + 120, "jti": "x"})
    }

    fn check(c: Value) -> Result<SystemClient, TokenError> {
        authenticate(&token(c), &settings(), Timestamp::from_second(NOW).unwrap())
    }

    #[test]
    fn a_well_formed_token_from_a_registered_client_passes_with_its_scopes() {
        let c = check(good()).unwrap();
        assert_eq!(c.client_id, "sak-arkiv");
        assert_eq!(c.scopes, vec!["minside:persons.read".to_owned()]);
    }

    #[test]
    fn every_broken_claim_is_refused_for_its_own_reason() {
        let with = |k: &str, v: Value| {
            let mut c = good();
            c[k] = v;
            c
        };
        assert_eq!(
            check(with("iss", json!("stranger"))),
            Err(TokenError::UnknownClient)
        );
        assert_eq!(
            check(with("aud", json!("another-portal"))),
            Err(TokenError::Audience)
        );
        assert_eq!(
            check(with("exp", json!(NOW - 31))),
            Err(TokenError::Expired)
        );
        assert_eq!(
            check(with("iat", json!(NOW + 31))),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            check(with("exp", json!(NOW + 601))),
            Err(TokenError::TooLong)
        );
        assert_eq!(
            check(with(
                "scope",
                json!("minside:persons.read minside:letters.write")
            )),
            Err(TokenError::ScopeNotGranted("minside:letters.write".into()))
        );
        let other = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let forged = sign_rs256(&other, "k", &good()).unwrap();
        assert_eq!(
            authenticate(&forged, &settings(), Timestamp::from_second(NOW).unwrap()),
            Err(TokenError::Signature)
        );
        assert_eq!(
            authenticate(
                "nonsense",
                &settings(),
                Timestamp::from_second(NOW).unwrap()
            ),
            Err(TokenError::Malformed)
        );
    }

    /// A system reuses its token: the signature is checked once, but a token changed in any byte
    /// is checked again, and the clock and the scopes still count for a remembered one.
    #[test]
    fn a_checked_token_is_remembered_but_only_its_signature_check_is_skipped() {
        let s = settings();
        let at = |t: i64| Timestamp::from_second(t).unwrap();
        let t = token(good());
        assert!(authenticate(&t, &s, at(NOW)).is_ok());
        assert!(authenticate(&t, &s, at(NOW + 60)).is_ok());
        assert_eq!(s.verified.len(), 1, "checked once, remembered");
        assert_eq!(
            authenticate(&t, &s, at(NOW + 120 + 31)),
            Err(TokenError::Expired),
            "a remembered token still expires"
        );
        let mut narrower = s.clone();
        narrower.clients[0].scopes.clear();
        assert_eq!(
            authenticate(&t, &narrower, at(NOW)),
            Err(TokenError::ScopeNotGranted("minside:persons.read".into())),
            "the scopes registered for the client still count for a remembered token"
        );
        // One character inside the signature changed (every bit of it counts there).
        let at_ten = t.len() - 10;
        let c = if &t[at_ten..=at_ten] == "A" { "B" } else { "A" };
        let tampered = format!("{}{c}{}", &t[..at_ten], &t[at_ten + 1..]);
        assert_eq!(
            authenticate(&tampered, &s, at(NOW)),
            Err(TokenError::Signature)
        );
        assert_eq!(s.verified.len(), 1, "a refused token is not remembered");
    }
}
