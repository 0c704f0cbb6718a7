//! The webhook outbox: letter events per client after a cursor.

use crate::codec::{from_ts, ts};
use crate::db;
use minside_core::letters::webhook::OutboundEvent;
use minside_core::ports::StoreError;
use sqlx::{AnyPool, Row};

pub(crate) async fn events_for_client(
    pool: &AnyPool,
    client_id: &str,
    after: i64,
    until: jiff::Timestamp,
    limit: i64,
) -> Result<Vec<OutboundEvent>, StoreError> {
    sqlx::query(
        "select e.id, l.public_id, l.sender_ref, e.event, e.created_at, e.detail \
         from letter_events e join letters l on l.id = e.letter_id \
         where l.client_id = $1 and e.id > $2 and e.created_at <= $3 order by e.id limit $4",
    )
    .bind(client_id)
    .bind(after)
    .bind(ts(until))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(OutboundEvent {
            id: r.try_get("id").map_err(db)?,
            letter: r.try_get("public_id").map_err(db)?,
            sender_ref: r.try_get("sender_ref").map_err(db)?,
            event: r.try_get("event").map_err(db)?,
            at: from_ts(r.try_get("created_at").map_err(db)?)?,
            detail: r.try_get("detail").map_err(db)?,
        })
    })
    .collect()
}

pub(crate) async fn cursor(pool: &AnyPool, client_id: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query("select last_event_id from webhook_cursors where client_id = $1")
            .bind(client_id)
            .fetch_optional(pool)
            .await
            .map_err(db)?
            .map(|r| r.try_get::<i64, _>("last_event_id"))
            .transpose()
            .map_err(db)?
            .unwrap_or(0),
    )
}

pub(crate) async fn advance_in(
    tx: &mut impl crate::write::Tx,
    client_id: &str,
    to: i64,
) -> Result<(), StoreError> {
    tx.exec(
        "insert into webhook_cursors (client_id, last_event_id) values ($1, $2) \
         on conflict (client_id) do update set last_event_id = excluded.last_event_id \
         where webhook_cursors.last_event_id < excluded.last_event_id",
        &[crate::fast::Arg::Text(client_id), crate::fast::Arg::Int(to)],
    )
    .await?;
    Ok(())
}
