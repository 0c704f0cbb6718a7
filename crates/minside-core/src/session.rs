//! Server-side sessions and login attempts; the rules for when a session ends.

use crate::auth::{Loa, StaffRole};
use crate::ident::Fodselsnummer;
use jiff::{SignedDuration, Timestamp};

/// Whose session: a resident's or an employee's. They never mix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Citizen {
        fnr: Fodselsnummer,
        loa: Loa,
        /// The register's name at login (None when not resident), for the page header.
        name: Option<String>,
    },
    Staff {
        subject: String,
        name: String,
        roles: Vec<StaffRole>,
    },
}

/// Hash of the session cookie's secret; the database never holds the cookie value itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey(pub String);

/// A session to store at login.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub key: SessionKey,
    pub principal: Principal,
    pub csrf_token: String,
    /// Issuer and `sid` from the ID token, for front-channel logout.
    pub issuer: String,
    pub sid: Option<String>,
    /// Kept for `id_token_hint` at RP-initiated logout.
    pub id_token: String,
    pub created_at: Timestamp,
}

/// A stored session.
#[derive(Debug, Clone)]
pub struct Session {
    pub key: SessionKey,
    pub principal: Principal,
    pub csrf_token: String,
    pub issuer: String,
    pub sid: Option<String>,
    pub id_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// Idle and absolute limits (configurable; defaults 30 and 120 minutes as ID-porten suggests).
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: SignedDuration,
    pub absolute: SignedDuration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: SignedDuration::from_mins(30),
            absolute: SignedDuration::from_mins(120),
        }
    }
}

impl SessionPolicy {
    /// A session is over when idle too long or older than the absolute limit.
    pub fn is_expired(&self, session: &Session, now: Timestamp) -> bool {
        now.duration_since(session.last_seen_at) > self.idle
            || now.duration_since(session.created_at) > self.absolute
    }

    /// Refresh `last_seen_at` at most once a minute, so reads do not turn into writes.
    pub fn needs_touch(&self, session: &Session, now: Timestamp) -> bool {
        now.duration_since(session.last_seen_at) > SignedDuration::from_secs(60)
    }
}

/// Which login flow an attempt belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    Citizen,
    Staff,
}

impl LoginKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Staff => "staff",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "citizen" => Some(Self::Citizen),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }
}

/// OIDC state kept server-side between the redirect to the IdP and the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    pub state: String,
    pub kind: LoginKind,
    pub nonce: String,
    pub code_verifier: String,
    /// Hash of a cookie set in the browser that started the login (login-CSRF defence).
    pub browser_binding: String,
    pub return_to: String,
    /// The level of assurance asked for (`acr_values`); the ID token must meet it.
    pub requested_loa: Option<Loa>,
    pub created_at: Timestamp,
}

impl LoginAttempt {
    /// Attempts older than ten minutes are refused.
    pub fn is_fresh(&self, now: Timestamp) -> bool {
        now.duration_since(self.created_at) <= SignedDuration::from_mins(10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created: i64, seen: i64) -> Session {
        Session {
            key: SessionKey("k".into()),
            principal: Principal::Staff {
                subject: "s".into(),
                name: "n".into(),
                roles: vec![],
            },
            csrf_token: "c".into(),
            issuer: "i".into(),
            sid: None,
            id_token: "t".into(),
            created_at: Timestamp::from_second(created).unwrap(),
            last_seen_at: Timestamp::from_second(seen).unwrap(),
        }
    }

    #[test]
    fn a_session_ends_after_thirty_idle_minutes_or_two_hours_in_all() {
        let p = SessionPolicy::default();
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        assert!(!p.is_expired(&session(0, 0), t(29 * 60)));
        assert!(p.is_expired(&session(0, 0), t(31 * 60)));
        assert!(!p.is_expired(&session(0, 100 * 60), t(110 * 60)));
        assert!(p.is_expired(&session(0, 119 * 60), t(121 * 60)));
    }
}
