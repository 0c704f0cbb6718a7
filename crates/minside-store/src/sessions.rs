//! Sessions and OIDC login attempts.

use crate::codec::{corrupt, from_ts, ts, Cols};
use crate::db;
use crate::fast::{Arg, Reader};
use jiff::Timestamp;
use minside_core::auth::{Loa, StaffRole};
use minside_core::ident::Fodselsnummer;
use minside_core::ports::StoreError;
use minside_core::session::{LoginAttempt, LoginKind, NewSession, Principal, Session, SessionKey};
use sqlx::{AnyPool, Row};

/// A session's columns, named as [`session_from_row`] reads them (the `s_` prefix keeps them
/// apart from other tables' columns where a read joins them, as the dashboard's does).
macro_rules! session_columns {
    () => {
        "kind as s_kind, fodselsnummer as s_fodselsnummer, loa as s_loa, \
         staff_subject as s_staff_subject, display_name as s_display_name, \
         staff_roles as s_staff_roles, csrf_token as s_csrf_token, issuer as s_issuer, \
         sid as s_sid, id_token as s_id_token, created_at as s_created_at, \
         last_seen_at as s_last_seen_at"
    };
}

pub(crate) async fn create(
    pool: &AnyPool,
    s: &NewSession,
    replaces: Option<&SessionKey>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    if let Some(old) = replaces {
        sqlx::query("delete from sessions where key = $1")
            .bind(old.0.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    let (kind, fnr, loa, subject, name, roles) = match &s.principal {
        Principal::Citizen { fnr, loa, name } => (
            "citizen",
            Some(fnr.to_string()),
            Some(loa.acr()),
            None,
            name.clone(),
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
                Some(subject.clone()),
                Some(name.clone()),
                Some(roles.join(",")),
            )
        }
    };
    sqlx::query(
        "insert into sessions (key, kind, fodselsnummer, loa, staff_subject, display_name, staff_roles, csrf_token, \
         issuer, sid, id_token, created_at, last_seen_at) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
    )
    .bind(s.key.0.as_str())
    .bind(kind)
    .bind(fnr)
    .bind(loa)
    .bind(subject)
    .bind(name)
    .bind(roles)
    .bind(s.csrf_token.as_str())
    .bind(s.issuer.as_str())
    .bind(s.sid.as_deref())
    .bind(s.id_token.as_str())
    .bind(ts(s.created_at))
    .bind(ts(s.created_at))
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)
}

pub(crate) async fn get(
    reader: Reader<'_>,
    key: &SessionKey,
) -> Result<Option<Session>, StoreError> {
    reader
        .optional(
            concat!(
                "select ",
                session_columns!(),
                " from sessions where key = $1"
            ),
            &[Arg::Text(key.0.as_str())],
            |r| session_from_row(key, r),
        )
        .await
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
            subject: r.opt_text("s_staff_subject")?.unwrap_or_default(),
            name: r.opt_text("s_display_name")?.unwrap_or_default(),
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

pub(crate) async fn touch(
    pool: &AnyPool,
    key: &SessionKey,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("update sessions set last_seen_at = $1 where key = $2")
        .bind(ts(now))
        .bind(key.0.as_str())
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn end(pool: &AnyPool, key: &SessionKey) -> Result<(), StoreError> {
    sqlx::query("delete from sessions where key = $1")
        .bind(key.0.as_str())
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn end_by_sid(pool: &AnyPool, issuer: &str, sid: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("delete from sessions where issuer = $1 and sid = $2")
        .bind(issuer)
        .bind(sid)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn purge(
    pool: &AnyPool,
    idle_before: Timestamp,
    created_before: Timestamp,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let a = sqlx::query("delete from sessions where last_seen_at < $1 or created_at < $2")
        .bind(ts(idle_before))
        .bind(ts(created_before))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
    let b = sqlx::query("delete from login_attempts where created_at < $1")
        .bind(ts(idle_before))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
    tx.commit().await.map_err(db)?;
    Ok(a + b)
}

pub(crate) async fn save_attempt(pool: &AnyPool, a: &LoginAttempt) -> Result<(), StoreError> {
    sqlx::query(
        "insert into login_attempts (state, kind, nonce, code_verifier, browser_binding, return_to, requested_loa, created_at) \
         values ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(a.state.as_str())
    .bind(a.kind.code())
    .bind(a.nonce.as_str())
    .bind(a.code_verifier.as_str())
    .bind(a.browser_binding.as_str())
    .bind(a.return_to.as_str())
    .bind(a.requested_loa.map(Loa::acr))
    .bind(ts(a.created_at))
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn take_attempt(
    pool: &AnyPool,
    state: &str,
) -> Result<Option<LoginAttempt>, StoreError> {
    let Some(r) = sqlx::query(
        "delete from login_attempts where state = $1 \
         returning state, kind, nonce, code_verifier, browser_binding, return_to, requested_loa, created_at",
    )
    .bind(state)
    .fetch_optional(pool)
    .await
    .map_err(db)?
    else {
        return Ok(None);
    };
    let get = |c: &str| r.try_get::<String, _>(c).map_err(db);
    Ok(Some(LoginAttempt {
        state: get("state")?,
        kind: LoginKind::from_code(&get("kind")?)
            .ok_or_else(|| StoreError::Corrupt("login_attempts.kind".into()))?,
        nonce: get("nonce")?,
        code_verifier: get("code_verifier")?,
        browser_binding: get("browser_binding")?,
        return_to: get("return_to")?,
        requested_loa: r
            .try_get::<Option<String>, _>("requested_loa")
            .map_err(db)?
            .as_deref()
            .and_then(Loa::from_acr),
        created_at: from_ts(r.try_get("created_at").map_err(db)?)?,
    }))
}
