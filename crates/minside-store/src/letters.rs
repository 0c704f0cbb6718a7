//! Letters: creation with documents, event and jobs in one transaction; receipts and status.

use crate::codec::{from_ts, opt_ts, ts};
use crate::db;
use crate::jobs::enqueue_in;
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

pub(crate) async fn create(
    pool: &AnyPool,
    l: &NewLetter,
    jobs: &[NewJob],
) -> Result<(), StoreError> {
    let d = &l.draft;
    let (fnr, orgnr) = match &d.recipient {
        Recipient::Person(f) => (Some(f.as_str().to_owned()), None),
        Recipient::Organisation(o) => (None, Some(o.as_str().to_owned())),
    };
    let options = (!d.response_options.is_empty()).then(|| {
        let items: Vec<serde_json::Value> = d
            .response_options
            .iter()
            .map(|o| serde_json::json!({"code": o.code, "label": o.label}))
            .collect();
        serde_json::Value::Array(items).to_string()
    });
    let mut tx = pool.begin().await.map_err(db)?;
    let id: i64 = sqlx::query(
        "insert into letters (public_id, client_id, sender_ref, request_hash, recipient_fnr, recipient_orgnr, title, \
         sender_unit, body, kind, required_loa, digital_only, reply_allowed, response_options, response_deadline, \
         archive_saksaar, archive_sekvensnummer, archive_journalpostnummer, status, created_at) \
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) returning id",
    )
    .bind(l.public_id.as_str())
    .bind(l.client_id.as_str())
    .bind(d.sender_ref.as_str())
    .bind(l.request_hash.as_str())
    .bind(fnr)
    .bind(orgnr)
    .bind(d.title.as_str())
    .bind(d.sender_unit.as_str())
    .bind(d.body.as_deref())
    .bind(match d.kind {
        minside_core::delivery::LetterKind::Formal => "formal",
        minside_core::delivery::LetterKind::ServiceNotice => "service",
    })
    .bind(d.required_loa.acr())
    .bind(i64::from(d.digital_only))
    .bind(i64::from(d.reply_allowed))
    .bind(options)
    .bind(opt_ts(d.response_deadline))
    .bind(d.archive_ref.map(|a| a.saksaar))
    .bind(d.archive_ref.map(|a| a.sekvensnummer))
    .bind(d.archive_ref.and_then(|a| a.journalpostnummer))
    .bind(LetterStatus::Akseptert.code())
    .bind(ts(l.created_at))
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?
    .try_get("id")
    .map_err(db)?;
    for (i, (doc, key)) in d.documents.iter().zip(&l.blob_keys).enumerate() {
        sqlx::query(
            "insert into letter_documents (letter_id, position, filename, mime_type, exclude_from_print, size_bytes, blob_key) \
             values ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(id)
        .bind(i as i64)
        .bind(doc.filename.as_str())
        .bind(doc.doc_type.mime())
        .bind(i64::from(doc.exclude_from_print))
        .bind(doc.content.len() as i64)
        .bind(key.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    sqlx::query("insert into letter_events (letter_id, event, detail, created_at) values ($1, 'created', null, $2)")
        .bind(id)
        .bind(ts(l.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    for job in jobs {
        enqueue_in(&mut tx, job, l.created_at).await?;
    }
    tx.commit().await.map_err(db)
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
