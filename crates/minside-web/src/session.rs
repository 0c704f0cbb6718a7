//! Server-side sessions: the cookie holds a random secret, the database its SHA-256. Extractors
//! give handlers the logged-in citizen or employee, or send the browser to the right login.

use crate::error::AppError;
use crate::security::{constant_time_eq, cookie};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minside_core::auth::{Citizen, Staff};
use minside_core::session::{Principal, Session, SessionKey};
use minside_core::usecases::resume_session::resume_session;
use sha2::{Digest, Sha256};

/// Name of the session cookie (`__Host-` prefix when Secure, which also pins Path=/ and no Domain).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-minside"
    } else {
        "minside"
    }
}

/// The database key of a session cookie value: SHA-256 of the configured secret and the value.
pub fn session_key(state: &AppState, cookie_value: &str) -> SessionKey {
    key_for(&state.config.session_secret, cookie_value)
}

/// SHA-256 of `secret:cookie_value`, lower-case hex (hashed in parts, without joining them).
fn key_for(secret: &str, cookie_value: &str) -> SessionKey {
    let digest = Sha256::new()
        .chain_update(secret.as_bytes())
        .chain_update(b":")
        .chain_update(cookie_value.as_bytes())
        .finalize();
    SessionKey(hex::encode(digest))
}

/// The session key for the request's cookie, if any.
pub fn key_from_headers(state: &AppState, headers: &HeaderMap) -> Option<SessionKey> {
    cookie(headers, cookie_name(state.config.secure_cookies)).map(|t| session_key(state, &t))
}

/// Loads the live session: expired ones are ended; `last_seen_at` is refreshed at most once a minute.
pub async fn load(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
    let Some(key) = key_from_headers(state, headers) else {
        return Ok(None);
    };
    let Some(session) = state.store.session(&key).await? else {
        return Ok(None);
    };
    Ok(resume_session(
        state.store.as_ref(),
        &state.config.session,
        session,
        state.clock.now(),
    )
    .await?)
}

/// Does the submitted form token match the session's?
pub fn csrf_ok(session: &Session, submitted: &str) -> bool {
    constant_time_eq(&session.csrf_token, submitted)
}

fn login_redirect(login: &str, parts: &Parts) -> Response {
    login_redirect_from(login, &parts.uri)
}

/// A redirect to `login` that comes back to `here` afterwards.
pub fn login_redirect_from(login: &str, here: &axum::http::Uri) -> Response {
    let here = here.path_and_query().map_or("/", |p| p.as_str());
    let encoded: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("{login}?return_to={encoded}")).into_response()
}

/// The live session of this request, or a redirect to `login` (coming back here afterwards).
async fn require(state: &AppState, parts: &Parts, login: &str) -> Result<Session, Response> {
    load(state, &parts.headers)
        .await
        .map_err(IntoResponse::into_response)?
        .ok_or_else(|| login_redirect(login, parts))
}

/// A logged-in resident.
pub struct CitizenSession {
    pub session: Session,
    pub citizen: Citizen,
}

impl CitizenSession {
    /// The name for the page header: the register's name, or the masked number.
    pub fn display_name(&self) -> String {
        match &self.session.principal {
            Principal::Citizen { name: Some(n), .. } => n.clone(),
            _ => self.citizen.fnr.masked(),
        }
    }
}

impl FromRequestParts<AppState> for CitizenSession {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = require(state, parts, "/login").await?;
        let Principal::Citizen { fnr, loa, .. } = &session.principal else {
            return Err(login_redirect("/login", parts));
        };
        let citizen = Citizen {
            fnr: fnr.clone(),
            loa: *loa,
        };
        Ok(Self { session, citizen })
    }
}

/// A logged-in employee. A resident's session never passes this extractor.
pub struct StaffSession {
    pub session: Session,
    pub staff: Staff,
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = require(state, parts, "/staff/login").await?;
        let Principal::Staff {
            subject,
            name,
            roles,
        } = &session.principal
        else {
            return Err(login_redirect("/staff/login", parts));
        };
        let staff = Staff {
            subject: subject.clone(),
            name: name.clone(),
            roles: roles.clone(),
        };
        Ok(Self { session, staff })
    }
}

#[cfg(test)]
mod tests {
    /// The key is SHA-256 of the secret, a colon and the cookie value, in lower-case hex: the
    /// same key as before it was hashed in parts, so that sessions outlive an upgrade.
    #[test]
    fn a_session_key_is_the_hex_sha256_of_secret_colon_value() {
        assert_eq!(
            super::key_for("ab", "c").0,
            crate::security::sha256_hex("ab:c")
        );
        assert_eq!(
            crate::security::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(
            super::key_for("a", "bc").0,
            crate::security::sha256_hex("abc")
        );
    }
}
