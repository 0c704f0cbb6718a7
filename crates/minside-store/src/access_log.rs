//! The access log: a read of a person's data and its log entry in one transaction.

use crate::codec::{from_ts, ts};
use crate::db;
use crate::fast::Arg;
use crate::persons::{person_from_row, PERSON_COLUMNS};
use minside_core::access_log::{Access, AccessLogEntry};
use minside_core::ident::Fodselsnummer;
use minside_core::person::{Person, PersonId};
use minside_core::ports::StoreError;
use sqlx::{AnyPool, Row};

/// Writes the entry first (insert … select, so only when the person exists), then reads: the
/// write-first order lets SQLite take its write lock at once instead of upgrading a read.
pub(crate) async fn read_person_logged_in(
    tx: &mut impl crate::write::Tx,
    fnr: &Fodselsnummer,
    a: &Access,
) -> Result<Option<Person>, StoreError> {
    let logged = tx
        .exec(
            "insert into access_log (person_id, actor_kind, actor_id, actor_name, purpose, what, created_at) \
             select id, $1, $2, $3, $4, $5, $6 from persons where fodselsnummer = $7",
            &[
                Arg::Text(a.actor.kind()),
                Arg::Text(a.actor.id()),
                Arg::Text(a.actor.display_name()),
                Arg::Text(a.purpose.as_str()),
                Arg::Text(a.what),
                Arg::Int(ts(a.at)),
                Arg::Text(fnr.as_str()),
            ],
        )
        .await?;
    if logged == 0 {
        return Ok(None);
    }
    Ok(tx
        .rows(
            &format!("select {PERSON_COLUMNS} from persons where fodselsnummer = $1"),
            &[Arg::Text(fnr.as_str())],
            |r| person_from_row(r),
        )
        .await?
        .into_iter()
        .next())
}

pub(crate) async fn for_person(
    pool: &AnyPool,
    person: PersonId,
) -> Result<Vec<AccessLogEntry>, StoreError> {
    sqlx::query(
        "select actor_kind, actor_name, purpose, what, created_at from access_log \
         where person_id = $1 order by created_at desc, id desc limit 200",
    )
    .bind(person.0)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(AccessLogEntry {
            actor_kind: r.try_get("actor_kind").map_err(db)?,
            actor_name: r.try_get("actor_name").map_err(db)?,
            purpose: r.try_get("purpose").map_err(db)?,
            what: r.try_get("what").map_err(db)?,
            at: from_ts(r.try_get("created_at").map_err(db)?)?,
        })
    })
    .collect()
}
