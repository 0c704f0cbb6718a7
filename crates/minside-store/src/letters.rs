//! Letters: creation with documents, event and jobs in one transaction; receipts and status.

use crate::codec::{from_ts, opt_ts, ts, Cols};
use crate::db;
use crate::fast::{Arg, Reader};
use crate::jobs::enqueue_in;
use crate::write::{Sqlx, Tx};
use minside_core::jobs::NewJob;
use minside_core::letters::{
    LetterEvent, LetterReceipt, LetterStatus, LetterStatusView, NewLetter, Recipient,
};
use minside_core::ports::StoreError;
use sqlx::{AnyPool, Row};

fn status(code: &str) -> Result<LetterStatus, StoreError> {
    LetterStatus::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("letters.status {code}")))
}

pub(crate) async fn receipt(
    pool: &AnyPool,
    client_id: &str,
    sender_ref: &str,
) -> Result<Option<LetterReceipt>, StoreError> {
    let row = sqlx::query("select public_id, status, request_hash from letters where client_id = $1 and sender_ref = $2")
        .bind(client_id)
        .bind(sender_ref)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(LetterReceipt {
            public_id: r.try_get("public_id").map_err(db)?,
            status: status(&r.try_get::<String, _>("status").map_err(db)?)?,
            request_hash: r.try_get("request_hash").map_err(db)?,
        })
    })
    .transpose()
}

/// Stores a new letter with its documents, its `created` event, the recipient's recounted
/// summary and the jobs it causes, in the caller's transaction.
pub(crate) async fn create_in(
    tx: &mut impl Tx,
    l: &NewLetter,
    jobs: &[NewJob],
) -> Result<(), StoreError> {
    let d = &l.draft;
    let (fnr, orgnr) = match &d.recipient {
        Recipient::Person(f) => (Some(f.as_str()), None),
        Recipient::Organisation(o) => (None, Some(o.as_str())),
    };
    let options = (!d.response_options.is_empty()).then(|| {
        let items: Vec<serde_json::Value> = d
            .response_options
            .iter()
            .map(|o| serde_json::json!({"code": o.code, "label": o.label}))
            .collect();
        serde_json::Value::Array(items).to_string()
    });
    let kind = match d.kind {
        minside_core::delivery::LetterKind::Formal => "formal",
        minside_core::delivery::LetterKind::ServiceNotice => "service",
    };
    let id = tx
        .rows(
            "insert into letters (public_id, client_id, sender_ref, request_hash, recipient_fnr, recipient_orgnr, title, \
             sender_unit, body, kind, required_loa, digital_only, reply_allowed, response_options, response_deadline, \
             archive_saksaar, archive_sekvensnummer, archive_journalpostnummer, status, created_at) \
             values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) returning id",
            &[
                Arg::Text(l.public_id.as_str()),
                Arg::Text(l.client_id.as_str()),
                Arg::Text(d.sender_ref.as_str()),
                Arg::Text(l.request_hash.as_str()),
                Arg::OptText(fnr),
                Arg::OptText(orgnr),
                Arg::Text(d.title.as_str()),
                Arg::Text(d.sender_unit.as_str()),
                Arg::OptText(d.body.as_deref()),
                Arg::Text(kind),
                Arg::Text(d.required_loa.acr()),
                Arg::Int(i64::from(d.digital_only)),
                Arg::Int(i64::from(d.reply_allowed)),
                Arg::OptText(options.as_deref()),
                Arg::OptInt(opt_ts(d.response_deadline)),
                Arg::OptInt(d.archive_ref.map(|a| a.saksaar)),
                Arg::OptInt(d.archive_ref.map(|a| a.sekvensnummer)),
                Arg::OptInt(d.archive_ref.and_then(|a| a.journalpostnummer)),
                Arg::Text(LetterStatus::Akseptert.code()),
                Arg::Int(ts(l.created_at)),
            ],
            |r| r.int("id"),
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Database("insert into letters returned no id".into()))?;
    for (i, (doc, key)) in d.documents.iter().zip(&l.blob_keys).enumerate() {
        tx.exec(
            "insert into letter_documents (letter_id, position, filename, mime_type, exclude_from_print, size_bytes, blob_key) \
             values ($1,$2,$3,$4,$5,$6,$7)",
            &[
                Arg::Int(id),
                Arg::Int(i as i64),
                Arg::Text(doc.filename.as_str()),
                Arg::Text(doc.doc_type.mime()),
                Arg::Int(i64::from(doc.exclude_from_print)),
                Arg::Int(doc.content.len() as i64),
                Arg::Text(key.as_str()),
            ],
        )
        .await?;
    }
    insert_event(tx, id, "created", None, l.created_at).await?;
    crate::summaries::refresh_for_letter(tx, id).await?;
    for job in jobs {
        enqueue_in(tx, job, l.created_at).await?;
    }
    Ok(())
}

pub(crate) async fn status_view(
    pool: &AnyPool,
    client_id: &str,
    public_id: &str,
) -> Result<Option<LetterStatusView>, StoreError> {
    let Some(row) =
        sqlx::query("select id, status from letters where client_id = $1 and public_id = $2")
            .bind(client_id)
            .bind(public_id)
            .fetch_optional(pool)
            .await
            .map_err(db)?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id").map_err(db)?;
    let events = sqlx::query(
        "select event, detail, created_at from letter_events where letter_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(LetterEvent {
            event: r.try_get("event").map_err(db)?,
            detail: r.try_get("detail").map_err(db)?,
            at: from_ts(r.try_get("created_at").map_err(db)?)?,
        })
    })
    .collect::<Result<_, StoreError>>()?;
    Ok(Some(LetterStatusView {
        public_id: public_id.to_owned(),
        status: status(&row.try_get::<String, _>("status").map_err(db)?)?,
        events,
    }))
}

pub(crate) async fn inbox(
    reader: Reader<'_>,
    fnr: &minside_core::ident::Fodselsnummer,
    q: &minside_core::letters::InboxQuery,
) -> Result<minside_core::letters::InboxPage, StoreError> {
    use minside_core::letters::{InboxCursor, InboxFilter, InboxItem, InboxPage};
    // $1 recipient, $2 now, $3 limit + 1, $4/$5 cursor, $6 search pattern
    let filter = match q.filter {
        InboxFilter::All => "archived_at is null",
        InboxFilter::Unread => "archived_at is null and (read_at is null or marked_unread = 1)",
        InboxFilter::NeedsAnswer => "archived_at is null and response_options is not null and answered_at is null and response_deadline > $2",
        InboxFilter::Archived => "archived_at is not null",
    };
    let cursor = if q.after.is_some() {
        "and (created_at < $4 or (created_at = $4 and id < $5))"
    } else {
        "and $4 = $4 and $5 = $5"
    };
    let search = if q.search.is_some() {
        "and lower(title) like $6"
    } else {
        "and $6 = $6"
    };
    let sql = format!(
        "select id, public_id, title, sender_unit, created_at, read_at, marked_unread, response_deadline, answered_at, \
         response_options \
         from letters where recipient_fnr = $1 and {filter} {cursor} {search} and $2 = $2 \
         order by created_at desc, id desc limit $3"
    );
    let pattern = q
        .search
        .as_deref()
        .map(|s| format!("%{}%", s.to_lowercase().replace(['%', '_'], "")))
        .unwrap_or_default();
    let cursor_at = q.after.map_or(0, |c| ts(c.created_at));
    let cursor_id = q.after.map_or(0, |c| c.id);
    let rows = reader
        .all(
            &sql,
            &[
                Arg::Text(fnr.as_str()),
                Arg::Int(ts(q.now)),
                Arg::Int(q.limit + 1),
                Arg::Int(cursor_at),
                Arg::Int(cursor_id),
                Arg::Text(&pattern),
            ],
            |r| {
                let created = r.time("created_at")?;
                let cursor = InboxCursor {
                    created_at: created,
                    id: r.int("id")?,
                };
                let item = InboxItem {
                    public_id: r.text("public_id")?,
                    title: r.text("title")?,
                    sender_unit: r.text("sender_unit")?,
                    created_at: created,
                    read: r.opt_int("read_at")?.is_some() && r.int("marked_unread")? == 0,
                    response_deadline: r.opt_time("response_deadline")?,
                    answered: r.opt_int("answered_at")?.is_some(),
                    options: parse_options(r.opt_text("response_options")?)?,
                };
                Ok((cursor, item))
            },
        )
        .await?;
    let more = rows.len() as i64 > q.limit;
    let mut items = Vec::new();
    let mut last = None;
    for (cursor, item) in rows.into_iter().take(usize::try_from(q.limit).unwrap_or(0)) {
        last = Some(cursor);
        items.push(item);
    }
    let next = if more { last } else { None };
    Ok(InboxPage { items, next })
}

pub(crate) async fn for_recipient(
    reader: Reader<'_>,
    fnr: &minside_core::ident::Fodselsnummer,
    public_id: &str,
) -> Result<Option<minside_core::letters::LetterView>, StoreError> {
    use minside_core::letters::{ArchiveRef, LetterView};
    let Some(mut letter) = reader
        .optional(
            "select id, public_id, title, sender_unit, body, created_at, read_at, marked_unread, archived_at, \
             required_loa, archive_saksaar, archive_sekvensnummer, archive_journalpostnummer, response_options, \
             response_deadline, answer_code, answered_at, reply_allowed \
             from letters where recipient_fnr = $1 and public_id = $2",
            &[Arg::Text(fnr.as_str()), Arg::Text(public_id)],
            |r| {
                let archive_ref = match (
                    r.opt_int("archive_saksaar")?,
                    r.opt_int("archive_sekvensnummer")?,
                ) {
                    (Some(saksaar), Some(sekvensnummer)) => Some(ArchiveRef {
                        saksaar,
                        sekvensnummer,
                        journalpostnummer: r.opt_int("archive_journalpostnummer")?,
                    }),
                    _ => None,
                };
                Ok(LetterView {
                    reply_allowed: r.int("reply_allowed")? == 1,
                    replies: Vec::new(),
                    id: r.int("id")?,
                    public_id: r.text("public_id")?,
                    title: r.text("title")?,
                    sender_unit: r.text("sender_unit")?,
                    body: r.opt_text("body")?,
                    created_at: r.time("created_at")?,
                    read_at: r.opt_time("read_at")?,
                    marked_unread: r.int("marked_unread")? == 1,
                    archived: r.opt_int("archived_at")?.is_some(),
                    required_loa: minside_core::auth::Loa::from_acr(&r.text("required_loa")?)
                        .ok_or_else(|| StoreError::Corrupt("letters.required_loa".into()))?,
                    archive_ref,
                    response_options: parse_options(r.opt_text("response_options")?)?,
                    response_deadline: r.opt_time("response_deadline")?,
                    answer: match (r.opt_text("answer_code")?, r.opt_time("answered_at")?) {
                        (Some(code), Some(at)) => Some((code, at)),
                        _ => None,
                    },
                    documents: Vec::new(),
                })
            },
        )
        .await?
    else {
        return Ok(None);
    };
    letter.documents = reader
        .all(
            "select position, filename, mime_type, size_bytes, blob_key from letter_documents \
             where letter_id = $1 order by position",
            &[Arg::Int(letter.id)],
            document_meta,
        )
        .await?;
    letter.replies = crate::replies::for_letter(reader, letter.id).await?;
    Ok(Some(letter))
}

pub(crate) async fn mark_read(
    pool: &AnyPool,
    letter_id: i64,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let first = sqlx::query(
        "update letters set read_at = $1, marked_unread = 0, \
         status = case when status in ('AKSEPTERT', 'VARSLET') then 'LEST' else status end \
         where id = $2 and read_at is null",
    )
    .bind(ts(now))
    .bind(letter_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected()
        == 1;
    if first {
        insert_event(&mut Sqlx(&mut tx), letter_id, "read", None, now).await?;
    } else {
        sqlx::query("update letters set marked_unread = 0 where id = $1")
            .bind(letter_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    crate::summaries::refresh_for_letter(&mut Sqlx(&mut tx), letter_id).await?;
    tx.commit().await.map_err(db)?;
    Ok(first)
}

pub(crate) async fn set_archived(
    pool: &AnyPool,
    letter_id: i64,
    archived: bool,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("update letters set archived_at = $1 where id = $2")
        .bind(archived.then(|| ts(now)))
        .bind(letter_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    crate::summaries::refresh_for_letter(&mut Sqlx(&mut tx), letter_id).await?;
    tx.commit().await.map_err(db)
}

pub(crate) async fn mark_unread(pool: &AnyPool, letter_id: i64) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("update letters set marked_unread = 1 where id = $1 and read_at is not null")
        .bind(letter_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    crate::summaries::refresh_for_letter(&mut Sqlx(&mut tx), letter_id).await?;
    tx.commit().await.map_err(db)
}

pub(crate) async fn answer(
    pool: &AnyPool,
    letter_id: i64,
    option: &str,
    by: &minside_core::ident::Fodselsnummer,
    now: jiff::Timestamp,
    jobs: &[NewJob],
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let done = sqlx::query("update letters set answered_at = $1, answer_code = $2, answered_by = $3 where id = $4 and answered_at is null")
        .bind(ts(now))
        .bind(option)
        .bind(by.as_str())
        .bind(letter_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected()
        == 1;
    if !done {
        tx.rollback().await.map_err(db)?;
        return Ok(false);
    }
    // The sender learns which option and when; "by" is the recipient (no number in the event).
    let detail = serde_json::json!({"option": option, "by": "recipient"}).to_string();
    insert_event(
        &mut Sqlx(&mut tx),
        letter_id,
        "answered",
        Some(&detail),
        now,
    )
    .await?;
    crate::summaries::refresh_for_letter(&mut Sqlx(&mut tx), letter_id).await?;
    for job in jobs {
        enqueue_in(&mut Sqlx(&mut tx), job, now).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(true)
}

/// Response options are stored as a JSON array of {code, label}.
fn parse_options(
    json: Option<String>,
) -> Result<Vec<minside_core::letters::ResponseOption>, StoreError> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    Ok(serde_json::from_str::<Vec<serde_json::Value>>(&json)
        .map_err(|e| StoreError::Corrupt(format!("letters.response_options: {e}")))?
        .iter()
        .map(|o| minside_core::letters::ResponseOption {
            code: o["code"].as_str().unwrap_or_default().to_owned(),
            label: o["label"].as_str().unwrap_or_default().to_owned(),
        })
        .collect())
}

pub(crate) async fn for_delivery(
    pool: &AnyPool,
    public_id: &str,
) -> Result<Option<minside_core::letters::DeliveryView>, StoreError> {
    let Some(r) = sqlx::query(
        "select id, recipient_fnr, kind, status, read_at, response_deadline, answered_at from letters where public_id = $1",
    )
    .bind(public_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?
    else {
        return Ok(None);
    };
    let id: i64 = r.try_get("id").map_err(db)?;
    let notified =
        sqlx::query("select detail from letter_events where letter_id = $1 and event = 'notified'")
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(db)?
            .iter()
            .filter_map(|e| e.try_get::<Option<String>, _>("detail").ok().flatten())
            .filter_map(|d| {
                serde_json::from_str::<serde_json::Value>(&d)
                    .ok()?
                    .get("channel")?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
    let fnr: Option<String> = r.try_get("recipient_fnr").map_err(db)?;
    let kind: String = r.try_get("kind").map_err(db)?;
    Ok(Some(minside_core::letters::DeliveryView {
        id,
        public_id: public_id.to_owned(),
        recipient: fnr
            .map(|f| minside_core::ident::Fodselsnummer::parse(&f))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind: if kind == "service" {
            minside_core::delivery::LetterKind::ServiceNotice
        } else {
            minside_core::delivery::LetterKind::Formal
        },
        status: status(&r.try_get::<String, _>("status").map_err(db)?)?,
        read: r.opt_time("read_at")?.is_some(),
        notified,
        response_deadline: r.opt_time("response_deadline")?,
        answered: r.opt_time("answered_at")?.is_some(),
    }))
}

/// The letter's notice went out: `VARSLET` (unless it moved on already) and a `notified` event.
pub(crate) async fn record_notified_in(
    tx: &mut impl Tx,
    letter_id: i64,
    channel: &str,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    tx.exec(
        "update letters set status = 'VARSLET' where id = $1 and status = 'AKSEPTERT'",
        &[Arg::Int(letter_id)],
    )
    .await?;
    let detail = serde_json::json!({ "channel": channel }).to_string();
    insert_event(tx, letter_id, "notified", Some(&detail), now).await
}

pub(crate) async fn record_event(
    pool: &AnyPool,
    letter_id: i64,
    event: &str,
    detail: &str,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    insert_event(&mut Sqlx(&mut conn), letter_id, event, Some(detail), now).await
}

/// A `letter_documents` row (position, filename, mime_type, size_bytes, blob_key).
pub(crate) fn document_meta(
    d: &dyn Cols,
) -> Result<minside_core::letters::DocumentMeta, StoreError> {
    Ok(minside_core::letters::DocumentMeta {
        position: d.int("position")?,
        filename: d.text("filename")?,
        mime_type: d.text("mime_type")?,
        size_bytes: d.int("size_bytes")?,
        blob_key: d.text("blob_key")?,
    })
}

/// Adds one event to a letter's log (in the caller's transaction). The log is also the webhook
/// outbox and the source of the statistics' times.
pub(crate) async fn insert_event(
    tx: &mut impl Tx,
    letter_id: i64,
    event: &str,
    detail: Option<&str>,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    tx.exec(
        "insert into letter_events (letter_id, event, detail, created_at) values ($1, $2, $3, $4)",
        &[
            Arg::Int(letter_id),
            Arg::Text(event),
            Arg::OptText(detail),
            Arg::Int(ts(now)),
        ],
    )
    .await?;
    Ok(())
}
