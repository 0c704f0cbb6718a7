//! Sessions and OIDC login attempts.

use crate::batch::Coalescer;
use crate::codec::{corrupt, ts, Cols};
use crate::fast::{Arg, Reader};
use crate::write::Tx;
use jiff::Timestamp;
use minside_core::auth::{Loa, StaffRole};
use minside_core::ident::Fodselsnummer;
use minside_core::ports::StoreError;
use minside_core::session::{LoginAttempt, LoginKind, NewSession, Principal, Session, SessionKey};

/// A session's columns, named as [`session_from_row`] reads them (the `s_` prefix keeps them
/// apart from other tables' columns where a read joins them, as the dashboard's does), in the
/// order it reads them (`fast::ColumnNames` looks from the column after the last one found).
macro_rules! session_columns {
    () => {
        "kind as s_kind, fodselsnummer as s_fodselsnummer, loa as s_loa, \
         display_name as s_display_name, staff_subject as s_staff_subject, \
         staff_roles as s_staff_roles, csrf_token as s_csrf_token, issuer as s_issuer, \
         sid as s_sid, id_token as s_id_token, created_at as s_created_at, \
         last_seen_at as s_last_seen_at"
    };
}

pub(crate) async fn create_in(
    tx: &mut impl Tx,
    s: &NewSession,
    replaces: Option<&SessionKey>,
) -> Result<(), StoreError> {
    if let Some(old) = replaces {
        end_in(tx, old).await?;
    }
    let (kind, fnr, loa, subject, name, roles) = match &s.principal {
        Principal::Citizen { fnr, loa, name } => (
            "citizen",
            Some(fnr.as_str()),
            Some(loa.acr()),
            None,
            name.as_deref(),
            None,
        ),
        Principal::Staff {
            subject,
            name,
            roles,
        } => {
            let roles: Vec<&str> = roles.iter().map(|r| r.code()).collect();
            (
                "staff",
                None,
                None,
                Some(subject.as_str()),
                Some(name.as_str()),
                Some(roles.join(",")),
            )
        }
    };
    tx.exec(
        "insert into sessions (key, kind, fodselsnummer, loa, staff_subject, display_name, staff_roles, csrf_token, \
         issuer, sid, id_token, created_at, last_seen_at) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        &[
            Arg::Text(s.key.0.as_str()),
            Arg::Text(kind),
            Arg::OptText(fnr),
            Arg::OptText(loa),
            Arg::OptText(subject),
            Arg::OptText(name),
            Arg::OptText(roles.as_deref()),
            Arg::Text(s.csrf_token.as_str()),
            Arg::Text(s.issuer.as_str()),
            Arg::OptText(s.sid.as_deref()),
            Arg::Text(s.id_token.as_str()),
            Arg::Int(ts(s.created_at)),
            Arg::Int(ts(s.created_at)),
        ],
    )
    .await?;
    Ok(())
}

/// The session whose key is `$1` (SQLite, and PostgreSQL for one key).
const SESSION_SQL: &str = concat!(
    "select key as s_key, ",
    session_columns!(),
    " from sessions where key = $1"
);
/// The sessions whose keys are in the JSON array `$1` (PostgreSQL, requests read together).
const SESSIONS_SQL: &str = concat!(
    "select key as s_key, ",
    session_columns!(),
    " from sessions where key = any(array(select json_array_elements_text($1::json)))"
);

/// The sessions of concurrent requests on PostgreSQL, one statement for those that arrive
/// together (`batch.rs`): every page but the front page starts with this read.
pub(crate) fn reads(pool: sqlx::AnyPool, max_connections: u32) -> Coalescer<Session> {
    crate::batch::by_session(
        pool,
        max_connections,
        SESSION_SQL,
        SESSIONS_SQL,
        session_from_row,
    )
}

pub(crate) async fn get(
    reader: Reader<'_>,
    together: Option<&Coalescer<Session>>,
    key: &SessionKey,
) -> Result<Option<Session>, StoreError> {
    match together {
        Some(together) => together.get(&key.0).await,
        None => {
            reader
                .optional(SESSION_SQL, &[Arg::Text(key.0.as_str())], |r| {
                    session_from_row(key, r)
                })
                .await
        }
    }
}

pub(crate) fn session_from_row(key: &SessionKey, r: &dyn Cols) -> Result<Session, StoreError> {
    let principal = match r.text("s_kind")?.as_str() {
        "citizen" => Principal::Citizen {
            fnr: Fodselsnummer::parse(&r.opt_text("s_fodselsnummer")?.unwrap_or_default())
                .map_err(corrupt("sessions.fodselsnummer"))?,
            loa: Loa::from_acr(&r.opt_text("s_loa")?.unwrap_or_default())
                .ok_or_else(|| StoreError::Corrupt("sessions.loa".into()))?,
            name: r.opt_text("s_display_name")?,
        },
        "staff" => Principal::Staff {
            name: r.opt_text("s_display_name")?.unwrap_or_default(),
            subject: r.opt_text("s_staff_subject")?.unwrap_or_default(),
            roles: r
                .opt_text("s_staff_roles")?
                .unwrap_or_default()
                .split(',')
                .filter_map(StaffRole::from_code)
                .collect(),
        },
        other => return Err(StoreError::Corrupt(format!("sessions.kind {other}"))),
    };
    Ok(Session {
        key: key.clone(),
        principal,
        csrf_token: r.text("s_csrf_token")?,
        issuer: r.text("s_issuer")?,
        sid: r.opt_text("s_sid")?,
        id_token: r.text("s_id_token")?,
        created_at: r.time("s_created_at")?,
        last_seen_at: r.time("s_last_seen_at")?,
    })
}

pub(crate) async fn touch_in(
    tx: &mut impl Tx,
    key: &SessionKey,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.exec(
        "update sessions set last_seen_at = $1 where key = $2",
        &[Arg::Int(ts(now)), Arg::Text(key.0.as_str())],
    )
    .await?;
    Ok(())
}

pub(crate) async fn end_in(tx: &mut impl Tx, key: &SessionKey) -> Result<(), StoreError> {
    tx.exec(
        "delete from sessions where key = $1",
        &[Arg::Text(key.0.as_str())],
    )
    .await?;
    Ok(())
}

pub(crate) async fn end_by_sid_in(
    tx: &mut impl Tx,
    issuer: &str,
    sid: &str,
) -> Result<u64, StoreError> {
    tx.exec(
        "delete from sessions where issuer = $1 and sid = $2",
        &[Arg::Text(issuer), Arg::Text(sid)],
    )
    .await
}

pub(crate) async fn purge_in(
    tx: &mut impl Tx,
    idle_before: Timestamp,
    created_before: Timestamp,
) -> Result<u64, StoreError> {
    let a = tx
        .exec(
            "delete from sessions where last_seen_at < $1 or created_at < $2",
            &[Arg::Int(ts(idle_before)), Arg::Int(ts(created_before))],
        )
        .await?;
    let b = tx
        .exec(
            "delete from login_attempts where created_at < $1",
            &[Arg::Int(ts(idle_before))],
        )
        .await?;
    Ok(a + b)
}

pub(crate) async fn save_attempt_in(tx: &mut impl Tx, a: &LoginAttempt) -> Result<(), StoreError> {
    tx.exec(
        "insert into login_attempts (state, kind, nonce, code_verifier, browser_binding, return_to, requested_loa, created_at) \
         values ($1,$2,$3,$4,$5,$6,$7,$8)",
        &[
            Arg::Text(a.state.as_str()),
            Arg::Text(a.kind.code()),
            Arg::Text(a.nonce.as_str()),
            Arg::Text(a.code_verifier.as_str()),
            Arg::Text(a.browser_binding.as_str()),
            Arg::Text(a.return_to.as_str()),
            Arg::OptText(a.requested_loa.map(Loa::acr)),
            Arg::Int(ts(a.created_at)),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn take_attempt_in(
    tx: &mut impl Tx,
    state: &str,
) -> Result<Option<LoginAttempt>, StoreError> {
    Ok(tx
        .rows(
            "delete from login_attempts where state = $1 \
             returning state, kind, nonce, code_verifier, browser_binding, return_to, requested_loa, created_at",
            &[Arg::Text(state)],
            |r| {
                Ok(LoginAttempt {
                    state: r.text("state")?,
                    kind: LoginKind::from_code(&r.text("kind")?)
                        .ok_or_else(|| StoreError::Corrupt("login_attempts.kind".into()))?,
                    nonce: r.text("nonce")?,
                    code_verifier: r.text("code_verifier")?,
                    browser_binding: r.text("browser_binding")?,
                    return_to: r.text("return_to")?,
                    requested_loa: r.opt_text("requested_loa")?.as_deref().and_then(Loa::from_acr),
                    created_at: r.time("created_at")?,
                })
            },
        )
        .await?
        .into_iter()
        .next())
}
