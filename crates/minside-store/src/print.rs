//! Print: the queue of letters for paper, batches that take them exactly once.

use crate::codec::{from_ts, ts};
use crate::fast::Arg;
use crate::jobs::ensure_pending_in;
use crate::write::Tx;
use crate::{db, Backend};
use minside_core::letters::print::{PostalAddress, PrintBatch, PrintItem, PRINT_BATCH};
use minside_core::letters::{ArchiveRef, DocumentMeta};
use minside_core::ports::StoreError;
use sqlx::{AnyPool, Row};

/// Queues letters for print (in the caller's transaction), each unless it is read (when
/// `only_if_unread`), digital-only, stopped or queued already; a recipient with no postal address
/// makes a letter `IKKE_LEVERT` instead. The ids queued, in order. Each decision is the `where`
/// of one `update` for all the letters (two statements, their events and the batch job, however
/// many letters: a worker's claim takes them together).
pub(crate) async fn queue_all_in(
    tx: &mut impl Tx,
    backend: Backend,
    letter_ids: &[i64],
    only_if_unread: bool,
    reason: &str,
    now: jiff::Timestamp,
    batch_at: jiff::Timestamp,
) -> Result<Vec<i64>, StoreError> {
    let mut queued = Vec::with_capacity(letter_ids.len());
    for chunk in letter_ids.chunks(200) {
        // The letters from `$from` on.
        let waiting = |from: usize| {
            format!(
                "id in ({}) and print_queued_at is null and digital_only = 0 \
                 and status not in ('MANUELT_HANDTERT', 'IKKE_LEVERT'){}",
                crate::write::params(from, chunk.len()),
                if only_if_unread {
                    " and read_at is null"
                } else {
                    ""
                }
            )
        };
        let ids: Vec<Arg<'_>> = chunk.iter().map(|id| Arg::Int(*id)).collect();
        // Not in the population register: no address to print to. The sender must handle it.
        let mut unaddressed = tx
            .rows(
                &format!(
                    "update letters set status = 'IKKE_LEVERT' where {} and not exists \
                     (select 1 from persons p where p.fodselsnummer = letters.recipient_fnr) returning id",
                    waiting(1)
                ),
                &ids,
                |r| r.int("id"),
            )
            .await?;
        unaddressed.sort_unstable();
        let detail = serde_json::json!({"reason": "no_postal_address"}).to_string();
        insert_events(tx, &unaddressed, "failed", &detail, now).await?;
        let mut args = vec![Arg::Int(ts(now))];
        args.extend(ids);
        let mut ids = tx
            .rows(
                &format!(
                    "update letters set status = 'SENDT_PRINT', print_queued_at = $1 where {} returning id",
                    waiting(2)
                ),
                &args,
                |r| r.int("id"),
            )
            .await?;
        ids.sort_unstable();
        let detail = serde_json::json!({ "reason": reason }).to_string();
        insert_events(tx, &ids, "sent_to_print", &detail, now).await?;
        queued.extend(ids);
    }
    if !queued.is_empty() {
        ensure_pending_in(tx, backend, PRINT_BATCH, "{}", batch_at, now).await?;
    }
    queued.sort_unstable();
    Ok(queued)
}

/// The same event for each letter, in one statement.
async fn insert_events(
    tx: &mut impl Tx,
    letter_ids: &[i64],
    event: &str,
    detail: &str,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    if letter_ids.is_empty() {
        return Ok(());
    }
    let args: Vec<Arg<'_>> = letter_ids
        .iter()
        .flat_map(|id| crate::letters::event_args(*id, event, Some(detail), now))
        .collect();
    tx.exec(&crate::letters::events_insert_sql(letter_ids.len()), &args)
        .await?;
    Ok(())
}

/// Takes an open batch whose lease ran out, or makes a new one of up to `limit` queued letters
/// (none when no letter waits); the batch's id.
pub(crate) async fn claim_batch_in(
    tx: &mut impl Tx,
    public_id: &str,
    limit: i64,
    now: jiff::Timestamp,
    lease_until: jiff::Timestamp,
) -> Result<Option<i64>, StoreError> {
    let stale = tx
        .rows(
            "select id from print_batches where state = 'open' and locked_until < $1 order by id limit 1",
            &[Arg::Int(ts(now))],
            |r| r.int("id"),
        )
        .await?;
    if let Some(&id) = stale.first() {
        let taken = tx
            .exec(
                "update print_batches set locked_until = $1 where id = $2 and state = 'open' and locked_until < $3",
                &[Arg::Int(ts(lease_until)), Arg::Int(id), Arg::Int(ts(now))],
            )
            .await?;
        if taken == 1 {
            return Ok(Some(id));
        }
    }
    let id = tx
        .rows(
            "insert into print_batches (public_id, state, letter_count, created_at, locked_until) \
             values ($1, 'open', 0, $2, $3) returning id",
            &[
                Arg::Text(public_id),
                Arg::Int(ts(now)),
                Arg::Int(ts(lease_until)),
            ],
            |r| r.int("id"),
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Database("insert into print_batches returned no id".into()))?;
    // The outer condition is checked again after a concurrent batch took a row, so a letter
    // never lands in two batches.
    let n = tx
        .exec(
            "update letters set print_batch_id = $1 \
             where print_batch_id is null and print_queued_at is not null and id in \
             (select id from letters where print_queued_at is not null and print_batch_id is null \
              order by print_queued_at, id limit $2)",
            &[Arg::Int(id), Arg::Int(limit)],
        )
        .await?;
    if n == 0 {
        // Nothing to print: the empty batch goes again.
        tx.exec("delete from print_batches where id = $1", &[Arg::Int(id)])
            .await?;
        return Ok(None);
    }
    tx.exec(
        "update print_batches set letter_count = $1 where id = $2",
        &[Arg::Int(n as i64), Arg::Int(id)],
    )
    .await?;
    Ok(Some(id))
}

/// The PDF documents of a batch's letters, found from the batch's letters.
const BATCH_DOCUMENTS_SQL: &str =
    "select d.letter_id, d.position, d.filename, d.mime_type, d.size_bytes, d.blob_key \
     from letter_documents d join letters l on l.id = d.letter_id \
     where l.print_batch_id = $1 and d.mime_type = 'application/pdf' and d.exclude_from_print = 0 \
     order by d.letter_id, d.position";

/// The same on PostgreSQL, where the documents of each letter are looked up by letter (`offset 0`
/// keeps the planner from turning it back into a join it orders itself). Until its first ANALYZE
/// with rows, PostgreSQL took `letter_documents` (empty when the database was new) for one row,
/// read all of it and looked up each document's letter: 38 ms a batch with 6,700 documents after
/// a minute of letters through the API, growing with the table (bench/, issue 4); now 0.2 ms.
const BATCH_DOCUMENTS_SQL_POSTGRES: &str =
    "select d.letter_id, d.position, d.filename, d.mime_type, d.size_bytes, d.blob_key \
     from letters l cross join lateral \
       (select * from letter_documents d where d.letter_id = l.id \
        and d.mime_type = 'application/pdf' and d.exclude_from_print = 0 offset 0) d \
     where l.print_batch_id = $1 \
     order by d.letter_id, d.position";

pub(crate) async fn load_batch(
    pool: &AnyPool,
    backend: Backend,
    batch_id: i64,
) -> Result<PrintBatch, StoreError> {
    let b = sqlx::query("select public_id, created_at from print_batches where id = $1")
        .bind(batch_id)
        .fetch_one(pool)
        .await
        .map_err(db)?;
    let mut documents: Vec<(i64, DocumentMeta)> = sqlx::query(match backend {
        Backend::Postgres => BATCH_DOCUMENTS_SQL_POSTGRES,
        Backend::Sqlite => BATCH_DOCUMENTS_SQL,
    })
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

pub(crate) async fn complete_batch_in(
    tx: &mut impl Tx,
    batch_id: i64,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let Some(public_id) = tx
        .rows(
            "update print_batches set state = 'delivered', delivered_at = $1 \
             where id = $2 and state = 'open' returning public_id",
            &[Arg::Int(ts(now)), Arg::Int(batch_id)],
            |r| r.text("public_id"),
        )
        .await?
        .into_iter()
        .next()
    else {
        return Ok(false);
    };
    tx.exec(
        "update letters set printed_at = $1, \
         status = case when status = 'SENDT_PRINT' then 'PRINTET' else status end \
         where print_batch_id = $2",
        &[Arg::Int(ts(now)), Arg::Int(batch_id)],
    )
    .await?;
    let detail = serde_json::json!({ "batch": public_id }).to_string();
    tx.exec(
        "insert into letter_events (letter_id, event, detail, created_at) \
         select id, 'printed', $1, $2 from letters where print_batch_id = $3",
        &[Arg::Text(&detail), Arg::Int(ts(now)), Arg::Int(batch_id)],
    )
    .await?;
    Ok(true)
}
