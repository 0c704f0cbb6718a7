//! Bulk load of a synthetic letter history (benchmark and demo databases): multi-row inserts of
//! letters and their events in one transaction per call, and the recipients' summaries recounted
//! (and on PostgreSQL their first inbox pages kept) in the same transaction.

use crate::codec::{opt_ts, ts};
use crate::db;
use minside_core::delivery::LetterKind;
use minside_core::letters::{HistoricLetter, Recipient};
use minside_core::ports::StoreError;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

const LETTER_COLUMNS: [&str; 24] = [
    "public_id",
    "client_id",
    "sender_ref",
    "request_hash",
    "recipient_fnr",
    "title",
    "sender_unit",
    "body",
    "kind",
    "required_loa",
    "digital_only",
    "reply_allowed",
    "response_options",
    "response_deadline",
    "status",
    "created_at",
    "read_at",
    "archived_at",
    "answered_at",
    "answer_code",
    "answered_by",
    "print_queued_at",
    "print_batch_id",
    "printed_at",
];

/// Rows per statement. sqlx binds SQLite parameters by name, looking each one up among all of
/// the statement's (quadratic in their number: 400 letters a statement spent 80% of the time
/// there), so statements stay at a few hundred values (see `population::CHUNK`).
const LETTERS_PER_STATEMENT: usize = 10;
const EVENTS_PER_STATEMENT: usize = 50;
/// Printed letters of the history per print batch: the print job's default `print_batch_size`.
const LETTERS_PER_BATCH: usize = 500;

/// The events a historic letter's state implies, in order.
fn events(h: &HistoricLetter) -> Vec<(&'static str, Option<String>, i64)> {
    let mut e = vec![("created", None, ts(h.letter.created_at))];
    if let Some(t) = h.notified_at {
        e.push(("notified", Some(r#"{"channel":"email"}"#.to_owned()), ts(t)));
    }
    if let Some(t) = h.read_at {
        e.push(("read", None, ts(t)));
    }
    if let Some((code, t)) = &h.answer {
        let detail = serde_json::json!({"option": code, "by": "recipient"}).to_string();
        e.push(("answered", Some(detail), ts(*t)));
    }
    if let Some(t) = h.printed_at {
        e.push(("sent_to_print", Some("history".to_owned()), ts(t)));
        e.push(("printed", None, ts(t)));
    }
    e
}

pub(crate) async fn insert(
    pool: &AnyPool,
    sqlite: bool,
    letters: &[HistoricLetter],
) -> Result<(), StoreError> {
    // Rows go in in the order they happened. A municipality's letters arrive over years, so in a
    // real database a resident's letters lie among everyone else's, and a letter's events among
    // those of letters sent on other days: each on a page of its own. Loaded resident by resident,
    // a resident's whole inbox sat on one or two pages, and the benchmark measured reads no real
    // database would see (issue 4).
    let mut letters: Vec<&HistoricLetter> = letters.iter().collect();
    letters.sort_by_key(|h| h.letter.created_at);
    let mut tx = pool.begin().await.map_err(db)?;
    if sqlite {
        // A bulk load's connection: statement journals in memory, a larger page cache.
        sqlx::query("pragma temp_store = memory; pragma cache_size = -131072")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    } else {
        // The triggers that keep each resident's first inbox page (PostgreSQL's migration 0011)
        // stand aside for this transaction; the pages are kept once at its end.
        sqlx::query("insert into letters_bulk_load (loading) values (1)")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    // The printed ones were printed in batches that were delivered: without one they would sit
    // in the print queue (queued, no batch) and the worker would print them again. A batch holds
    // at most as many letters as the print job puts in one: with thousands a batch, PostgreSQL's
    // statistics made every batch look that large, and the load of a new batch joined it to all
    // persons by hash (100 ms a batch at 300k residents, issue 4).
    let mut batch_of: HashMap<&str, i64> = HashMap::new();
    let printed: Vec<&HistoricLetter> = letters
        .iter()
        .copied()
        .filter(|h| h.printed_at.is_some())
        .collect();
    for group in printed.chunks(LETTERS_PER_BATCH) {
        let at = group
            .iter()
            .filter_map(|h| h.printed_at)
            .max()
            .map_or(0, ts);
        let first = group.first().map_or("", |h| h.letter.public_id.as_str());
        let id: i64 = sqlx::query(
            "insert into print_batches (public_id, state, letter_count, created_at, locked_until, delivered_at) \
             values ($1, 'delivered', $2, $3, $3, $3) returning id",
        )
        .bind(format!("history-{first}"))
        .bind(i64::try_from(group.len()).unwrap_or(i64::MAX))
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .try_get("id")
        .map_err(db)?;
        batch_of.extend(group.iter().map(|h| (h.letter.public_id.as_str(), id)));
    }
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(letters.len());
    for chunk in letters.chunks(LETTERS_PER_STATEMENT) {
        let sql = format!(
            "insert into letters ({}) values {} returning id, public_id",
            LETTER_COLUMNS.join(", "),
            crate::population::values(chunk.len(), LETTER_COLUMNS.len())
        );
        let mut q = sqlx::query(&sql);
        for h in chunk {
            let d = &h.letter.draft;
            let fnr = match &d.recipient {
                Recipient::Person(f) => Some(f.as_str().to_owned()),
                Recipient::Organisation(_) => None,
            };
            let options = (!d.response_options.is_empty()).then(|| {
                serde_json::Value::Array(
                    d.response_options
                        .iter()
                        .map(|o| serde_json::json!({"code": o.code, "label": o.label}))
                        .collect(),
                )
                .to_string()
            });
            q = q
                .bind(h.letter.public_id.as_str())
                .bind(h.letter.client_id.as_str())
                .bind(d.sender_ref.as_str())
                .bind(h.letter.request_hash.as_str())
                .bind(fnr)
                .bind(d.title.as_str())
                .bind(d.sender_unit.as_str())
                .bind(d.body.as_deref())
                .bind(match d.kind {
                    LetterKind::Formal => "formal",
                    LetterKind::ServiceNotice => "service",
                })
                .bind(d.required_loa.acr())
                .bind(i64::from(d.digital_only))
                .bind(i64::from(d.reply_allowed))
                .bind(options)
                .bind(opt_ts(d.response_deadline))
                .bind(h.status.code())
                .bind(ts(h.letter.created_at))
                .bind(opt_ts(h.read_at))
                .bind(opt_ts(h.archived_at))
                .bind(opt_ts(h.answer.as_ref().map(|a| a.1)))
                .bind(h.answer.as_ref().map(|a| a.0.clone()))
                .bind(h.answer.as_ref().map(|_| "recipient"))
                .bind(opt_ts(h.printed_at))
                .bind(batch_of.get(h.letter.public_id.as_str()).copied())
                .bind(opt_ts(h.printed_at));
        }
        for r in q.fetch_all(&mut *tx).await.map_err(db)? {
            ids.insert(
                r.try_get("public_id").map_err(db)?,
                r.try_get("id").map_err(db)?,
            );
        }
    }
    let mut rows = Vec::new();
    for h in &letters {
        let id = *ids
            .get(&h.letter.public_id)
            .ok_or_else(|| StoreError::Database("a letter was not returned".into()))?;
        rows.extend(events(h).into_iter().map(|(e, d, t)| (id, e, d, t)));
    }
    rows.sort_by_key(|r| r.3);
    for chunk in rows.chunks(EVENTS_PER_STATEMENT) {
        let sql = format!(
            "insert into letter_events (letter_id, event, detail, created_at) values {}",
            crate::population::values(chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (id, event, detail, at) in chunk {
            q = q.bind(*id).bind(*event).bind(detail.as_deref()).bind(*at);
        }
        q.execute(&mut *tx).await.map_err(db)?;
    }
    if let (Some(first), Some(last)) = (ids.values().min(), ids.values().max()) {
        crate::summaries::refresh_for_letters(&mut tx, *first, *last).await?;
        if !sqlite {
            sqlx::query(
                "insert into inbox_first_pages (fodselsnummer, items) \
                 select f.fnr, inbox_first_page_of(f.fnr) from (select distinct recipient_fnr as fnr \
                   from letters where id between $1 and $2 and recipient_fnr is not null) f \
                 on conflict (fodselsnummer) do update set items = excluded.items",
            )
            .bind(*first)
            .bind(*last)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
    }
    if !sqlite {
        sqlx::query("delete from letters_bulk_load")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}
