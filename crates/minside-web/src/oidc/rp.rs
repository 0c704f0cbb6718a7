//! The OpenID Connect relying party, shaped after what ID-porten expects (NORWAY.md §1):
//! discovery, authorization code flow with PKCE S256, state and nonce, `acr_values`, ID token
//! validation (signature, issuer, audience, expiry, nonce), RP-initiated logout.

use super::jws::{self, JwkSet, JwsError};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;
use url::Url;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    ClientSecretBasic,
    ClientSecretPost,
}

/// One OIDC client registration.
#[derive(Clone)]
pub struct IdpSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub client_auth: ClientAuth,
    pub scopes: String,
    /// Absolute callback URL registered at the IdP.
    pub redirect_uri: String,
    /// Absolute URL the IdP returns to after logout.
    pub post_logout_redirect_uri: String,
}

impl std::fmt::Debug for IdpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish_non_exhaustive()
    }
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("signature: {0}")]
    Signature(#[from] JwsError),
    #[error("issuer does not match discovery")]
    Issuer,
    #[error("audience does not contain our client id")]
    Audience,
    #[error("token has expired")]
    Expired,
    #[error("token is issued in the future")]
    IssuedInFuture,
    #[error("nonce does not match")]
    Nonce,
    #[error("claim {0} is missing")]
    Missing(&'static str),
}

/// Failures talking to the IdP.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("token request failed: {0}")]
    Token(String),
    #[error("ID token refused: {0}")]
    IdToken(#[from] IdTokenError),
}

#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    end_session_endpoint: Option<String>,
}

struct Provider {
    metadata: Metadata,
    jwks: JwkSet,
    fetched_at: Timestamp,
}

/// The token endpoint's answer (fields we use).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub id_token: String,
    #[serde(default)]
    pub access_token: Option<String>,
}

/// Parameters of one authorization request.
pub struct AuthRequest<'a> {
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
    pub acr_values: Option<&'a str>,
    pub ui_locales: &'a str,
}

/// A relying party for one IdP registration. Discovery and JWKS are cached for 24 hours and the
/// JWKS is refetched when a token names an unknown key.
pub struct OidcClient {
    settings: IdpSettings,
    http: reqwest::Client,
    cache: RwLock<Option<Arc<Provider>>>,
}

const CACHE_FOR: SignedDuration = SignedDuration::from_hours(24);
const CLOCK_SKEW: i64 = 60;

impl OidcClient {
    pub fn new(settings: IdpSettings) -> Result<Self, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        Ok(Self {
            settings,
            http,
            cache: RwLock::new(None),
        })
    }

    pub fn settings(&self) -> &IdpSettings {
        &self.settings
    }

    async fn provider(&self, now: Timestamp) -> Result<Arc<Provider>, OidcError> {
        if let Some(p) = self.cache.read().await.as_ref() {
            if now.duration_since(p.fetched_at) < CACHE_FOR {
                return Ok(p.clone());
            }
        }
        self.fetch(now).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let d = |e: reqwest::Error| OidcError::Discovery(e.to_string());
        self.http
            .get(url)
            .send()
            .await
            .map_err(d)?
            .error_for_status()
            .map_err(d)?
            .json()
            .await
            .map_err(d)
    }

    async fn fetch(&self, now: Timestamp) -> Result<Arc<Provider>, OidcError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let metadata: Metadata = self.get_json(&url).await?;
        if metadata.issuer != self.settings.issuer {
            return Err(OidcError::Discovery(format!(
                "discovery issuer {} differs from the configured issuer {}",
                metadata.issuer, self.settings.issuer
            )));
        }
        let jwks: JwkSet = self.get_json(&metadata.jwks_uri).await?;
        let p = Arc::new(Provider {
            metadata,
            jwks,
            fetched_at: now,
        });
        *self.cache.write().await = Some(p.clone());
        Ok(p)
    }

    /// The URL to send the browser to.
    pub async fn authorization_url(
        &self,
        r: &AuthRequest<'_>,
        now: Timestamp,
    ) -> Result<String, OidcError> {
        let p = self.provider(now).await?;
        let mut url = Url::parse(&p.metadata.authorization_endpoint)
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("redirect_uri", &self.settings.redirect_uri)
                .append_pair("scope", &self.settings.scopes)
                .append_pair("state", r.state)
                .append_pair("nonce", r.nonce)
                .append_pair("code_challenge", r.code_challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("ui_locales", r.ui_locales);
            if let Some(acr) = r.acr_values {
                q.append_pair("acr_values", acr);
            }
        }
        Ok(url.into())
    }

    /// RFC 9207: when the IdP sends `iss` on the callback it must be the discovery issuer.
    pub fn callback_issuer_ok(&self, iss: Option<&str>) -> bool {
        iss.is_none_or(|i| i == self.settings.issuer)
    }

    /// Exchanges the code and returns the validated ID token claims and the raw ID token.
    pub async fn exchange_and_verify(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
        now: Timestamp,
    ) -> Result<(Value, String), OidcError> {
        let p = self.provider(now).await?;
        let t = |e: reqwest::Error| OidcError::Token(e.to_string());
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.settings.redirect_uri.as_str()),
            ("code_verifier", code_verifier),
            ("client_id", self.settings.client_id.as_str()),
        ];
        let mut req = self.http.post(&p.metadata.token_endpoint);
        match self.settings.client_auth {
            ClientAuth::ClientSecretPost => {
                form.push(("client_secret", self.settings.client_secret.as_str()))
            }
            ClientAuth::ClientSecretBasic => {
                req = req.basic_auth(
                    form_encode(&self.settings.client_id),
                    Some(form_encode(&self.settings.client_secret)),
                );
            }
        }
        let res = req.form(&form).send().await.map_err(t)?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            return Err(OidcError::Token(format!(
                "{status}: {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        let tokens: TokenResponse = res.json().await.map_err(t)?;
        let claims = match jws::verify_rs256(&tokens.id_token, &p.jwks.keys) {
            Err(JwsError::UnknownKey) => {
                // Key rotation at the IdP: refetch once, then verify again.
                let fresh = self.fetch(now).await?;
                jws::verify_rs256(&tokens.id_token, &fresh.jwks.keys).map_err(IdTokenError::from)?
            }
            other => other.map_err(IdTokenError::from)?,
        };
        validate_claims(
            &claims,
            &p.metadata.issuer,
            &self.settings.client_id,
            nonce,
            now,
        )?;
        Ok((claims, tokens.id_token))
    }

    /// Where to send the browser to end the IdP session (`None` if the IdP has no endpoint).
    pub async fn end_session_url(
        &self,
        id_token_hint: &str,
        state: &str,
        now: Timestamp,
    ) -> Result<Option<String>, OidcError> {
        let p = self.provider(now).await?;
        let Some(endpoint) = &p.metadata.end_session_endpoint else {
            return Ok(None);
        };
        let mut url = Url::parse(endpoint).map_err(|e| OidcError::Discovery(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token_hint)
            .append_pair(
                "post_logout_redirect_uri",
                &self.settings.post_logout_redirect_uri,
            )
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("state", state);
        Ok(Some(url.into()))
    }

    /// Front-channel logout: is `iss` ours? One trailing slash is tolerated (NORWAY.md §1.8).
    pub fn is_our_issuer(&self, iss: &str) -> bool {
        iss.trim_end_matches('/') == self.settings.issuer.trim_end_matches('/')
    }
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// OIDC Core 3.1.3.7 checks after the signature: iss, aud (and azp), exp, iat, nonce.
pub fn validate_claims(
    claims: &Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: Timestamp,
) -> Result<(), IdTokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(IdTokenError::Issuer);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(list)) => {
            list.iter().any(|a| a.as_str() == Some(client_id))
                && (list.len() == 1 || claims.get("azp").and_then(Value::as_str) == Some(client_id))
        }
        _ => false,
    };
    if !aud_ok {
        return Err(IdTokenError::Audience);
    }
    let now_s = now.as_second();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::Missing("exp"))?;
    if exp + CLOCK_SKEW < now_s {
        return Err(IdTokenError::Expired);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::Missing("iat"))?;
    if iat - CLOCK_SKEW > now_s {
        return Err(IdTokenError::IssuedInFuture);
    }
    let got = claims
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or(IdTokenError::Missing("nonce"))?;
    if !crate::security::constant_time_eq(got, nonce) {
        return Err(IdTokenError::Nonce);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn good() -> Value {
        json!({"iss": "https://idp.test", "aud": "minside", "exp": NOW + 120, "iat": NOW, "nonce": "n1", "pid": "20914695016"})
    }

    fn check(c: &Value) -> Result<(), IdTokenError> {
        validate_claims(
            c,
            "https://idp.test",
            "minside",
            "n1",
            Timestamp::from_second(NOW).unwrap(),
        )
    }

    #[test]
    fn a_well_formed_id_token_passes() {
        assert_eq!(check(&good()), Ok(()));
        let mut multi = good();
        multi["aud"] = json!(["minside", "other"]);
        multi["azp"] = json!("minside");
        assert_eq!(check(&multi), Ok(()));
    }

    #[test]
    fn each_broken_claim_is_refused_for_its_own_reason() {
        let with = |k: &str, v: Value| {
            let mut c = good();
            c[k] = v;
            c
        };
        assert_eq!(
            check(&with("iss", json!("https://idp.test/"))),
            Err(IdTokenError::Issuer)
        );
        assert_eq!(
            check(&with("aud", json!("someone-else"))),
            Err(IdTokenError::Audience)
        );
        assert_eq!(
            check(&with("aud", json!(["minside", "other"]))),
            Err(IdTokenError::Audience)
        );
        assert_eq!(
            check(&with("exp", json!(NOW - 61))),
            Err(IdTokenError::Expired)
        );
        assert_eq!(
            check(&with("iat", json!(NOW + 61))),
            Err(IdTokenError::IssuedInFuture)
        );
        assert_eq!(
            check(&with("nonce", json!("replayed"))),
            Err(IdTokenError::Nonce)
        );
        let mut no_nonce = good();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(check(&no_nonce), Err(IdTokenError::Missing("nonce")));
    }
}
