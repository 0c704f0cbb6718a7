//! Print: the queue of letters for paper, batches that take them exactly once.

use crate::codec::{from_ts, ts};
use crate::db;
use crate::jobs::ensure_pending_in;
use crate::letters::insert_event;
use minside_core::letters::print::{PostalAddress, PrintBatch, PrintItem, PRINT_BATCH};
use minside_core::letters::{ArchiveRef, DocumentMeta};
use minside_core::ports::StoreError;
use sqlx::{AnyPool, Row};

pub(crate) async fn queue(
    pool: &AnyPool,
    letter_id: i64,
    only_if_unread: bool,
    reason: &str,
    now: jiff::Timestamp,
    batch_at: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let Some(r) = sqlx::query(
        "select l.status, l.read_at, l.digital_only, l.print_queued_at, p.id as person_id \
         from letters l left join persons p on p.fodselsnummer = l.recipient_fnr where l.id = $1",
    )
    .bind(letter_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    else {
        return Ok(false);
    };
    let status: String = r.try_get("status").map_err(db)?;
    let read = r
        .try_get::<Option<i64>, _>("read_at")
        .map_err(db)?
        .is_some();
    let digital_only = r.try_get::<i64, _>("digital_only").map_err(db)? == 1;
    let queued = r
        .try_get::<Option<i64>, _>("print_queued_at")
        .map_err(db)?
        .is_some();
    let has_address = r
        .try_get::<Option<i64>, _>("person_id")
        .map_err(db)?
        .is_some();
    let stopped = matches!(status.as_str(), "MANUELT_HANDTERT" | "IKKE_LEVERT");
    if queued || digital_only || stopped || (only_if_unread && read) {
        return Ok(false);
    }
    if !has_address {
        // Not in the population register: no address to print to. The sender must handle it.
        let changed =
            sqlx::query("update letters set status = 'IKKE_LEVERT' where id = $1 and status = $2")
                .bind(letter_id)
                .bind(status.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
        if changed == 1 {
            let detail = serde_json::json!({"reason": "no_postal_address"}).to_string();
            insert_event(
                &mut crate::write::Sqlx(&mut tx),
                letter_id,
                "failed",
                Some(&detail),
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(db)?;
        return Ok(false);
    }
    let changed = sqlx::query(
        "update letters set status = 'SENDT_PRINT', print_queued_at = $1 \
         where id = $2 and status = $3 and print_queued_at is null",
    )
    .bind(ts(now))
    .bind(letter_id)
    .bind(status.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    if changed != 1 {
        // Changed meanwhile (read, queued by another job): the caller's job runs again and decides.
        return Err(StoreError::Conflict(
            "letter changed while queueing for print".into(),
        ));
    }
    let detail = serde_json::json!({ "reason": reason }).to_string();
    insert_event(
        &mut crate::write::Sqlx(&mut tx),
        letter_id,
        "sent_to_print",
        Some(&detail),
        now,
    )
    .await?;
    ensure_pending_in(&mut tx, PRINT_BATCH, "{}", batch_at, now).await?;
    tx.commit().await.map_err(db)?;
    Ok(true)
}

pub(crate) async fn claim_batch(
    pool: &AnyPool,
    public_id: &str,
    limit: i64,
    now: jiff::Timestamp,
    lease_until: jiff::Timestamp,
) -> Result<Option<PrintBatch>, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let stale = sqlx::query(
        "select id from print_batches where state = 'open' and locked_until < $1 order by id limit 1",
    )
    .bind(ts(now))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let mut batch_id = None;
    if let Some(r) = stale {
        let id: i64 = r.try_get("id").map_err(db)?;
        let taken = sqlx::query(
            "update print_batches set locked_until = $1 where id = $2 and state = 'open' and locked_until < $3",
        )
        .bind(ts(lease_until))
        .bind(id)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if taken == 1 {
            batch_id = Some(id);
        }
    }
    let batch_id = match batch_id {
        Some(id) => id,
        None => {
            let id: i64 = sqlx::query(
                "insert into print_batches (public_id, state, letter_count, created_at, locked_until) \
                 values ($1, 'open', 0, $2, $3) returning id",
            )
            .bind(public_id)
            .bind(ts(now))
            .bind(ts(lease_until))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?
            .try_get("id")
            .map_err(db)?;
            // The outer condition is checked again after a concurrent batch took a row, so a
            // letter never lands in two batches.
            let n = sqlx::query(
                "update letters set print_batch_id = $1 \
                 where print_batch_id is null and print_queued_at is not null and id in \
                 (select id from letters where print_queued_at is not null and print_batch_id is null \
                  order by print_queued_at, id limit $2)",
            )
            .bind(id)
            .bind(limit)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if n == 0 {
                tx.rollback().await.map_err(db)?;
                return Ok(None);
            }
            sqlx::query("update print_batches set letter_count = $1 where id = $2")
                .bind(n as i64)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            id
        }
    };
    tx.commit().await.map_err(db)?;
    load_batch(pool, batch_id).await.map(Some)
}

async fn load_batch(pool: &AnyPool, batch_id: i64) -> Result<PrintBatch, StoreError> {
    let b = sqlx::query("select public_id, created_at from print_batches where id = $1")
        .bind(batch_id)
        .fetch_one(pool)
        .await
        .map_err(db)?;
    let mut documents: Vec<(i64, DocumentMeta)> = sqlx::query(
        "select d.letter_id, d.position, d.filename, d.mime_type, d.size_bytes, d.blob_key \
         from letter_documents d join letters l on l.id = d.letter_id \
         where l.print_batch_id = $1 and d.mime_type = 'application/pdf' and d.exclude_from_print = 0 \
         order by d.letter_id, d.position",
    )
    .bind(batch_id)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|d| {
        Ok((
            d.try_get("letter_id").map_err(db)?,
            crate::letters::document_meta(d)?,
        ))
    })
    .collect::<Result<_, StoreError>>()?;
    let rows = sqlx::query(
        "select l.id, l.public_id, l.title, l.sender_unit, l.body, l.created_at, \
         l.archive_saksaar, l.archive_sekvensnummer, l.archive_journalpostnummer, \
         p.given_name, p.family_name, p.street, p.postcode, p.city \
         from letters l join persons p on p.fodselsnummer = l.recipient_fnr \
         where l.print_batch_id = $1 order by l.print_queued_at, l.id",
    )
    .bind(batch_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut items = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let letter_id: i64 = r.try_get("id").map_err(db)?;
        let saksaar: Option<i64> = r.try_get("archive_saksaar").map_err(db)?;
        let sekvens: Option<i64> = r.try_get("archive_sekvensnummer").map_err(db)?;
        let given: String = r.try_get("given_name").map_err(db)?;
        let family: String = r.try_get("family_name").map_err(db)?;
        let (mine, rest): (Vec<_>, Vec<_>) =
            documents.into_iter().partition(|(l, _)| *l == letter_id);
        documents = rest;
        items.push(PrintItem {
            sequence: i as i64 + 1,
            letter_id,
            public_id: r.try_get("public_id").map_err(db)?,
            title: r.try_get("title").map_err(db)?,
            sender_unit: r.try_get("sender_unit").map_err(db)?,
            body: r.try_get("body").map_err(db)?,
            created_at: from_ts(r.try_get("created_at").map_err(db)?)?,
            archive_ref: match (saksaar, sekvens) {
                (Some(saksaar), Some(sekvensnummer)) => Some(ArchiveRef {
                    saksaar,
                    sekvensnummer,
                    journalpostnummer: r.try_get("archive_journalpostnummer").map_err(db)?,
                }),
                _ => None,
            },
            recipient: PostalAddress {
                name: format!("{given} {family}"),
                street: r.try_get("street").map_err(db)?,
                postcode: r.try_get("postcode").map_err(db)?,
                city: r.try_get("city").map_err(db)?,
            },
            documents: mine.into_iter().map(|(_, d)| d).collect(),
        });
    }
    Ok(PrintBatch {
        id: batch_id,
        public_id: b.try_get("public_id").map_err(db)?,
        created_at: from_ts(b.try_get("created_at").map_err(db)?)?,
        items,
    })
}

pub(crate) async fn complete_batch(
    pool: &AnyPool,
    batch_id: i64,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let done = sqlx::query(
        "update print_batches set state = 'delivered', delivered_at = $1 where id = $2 and state = 'open'",
    )
    .bind(ts(now))
    .bind(batch_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    if done != 1 {
        tx.rollback().await.map_err(db)?;
        return Ok(false);
    }
    let public_id: String = sqlx::query("select public_id from print_batches where id = $1")
        .bind(batch_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .try_get("public_id")
        .map_err(db)?;
    sqlx::query(
        "update letters set printed_at = $1, \
         status = case when status = 'SENDT_PRINT' then 'PRINTET' else status end \
         where print_batch_id = $2",
    )
    .bind(ts(now))
    .bind(batch_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query(
        "insert into letter_events (letter_id, event, detail, created_at) \
         select id, 'printed', $1, $2 from letters where print_batch_id = $3",
    )
    .bind(serde_json::json!({ "batch": public_id }).to_string())
    .bind(ts(now))
    .bind(batch_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(true)
}
