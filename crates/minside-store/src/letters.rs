//! Letters: creation with documents, event and jobs in one transaction; receipts and status.

use crate::batch::Coalescer;
use crate::codec::{from_ts, opt_ts, ts, Cols};
use crate::db;
use crate::fast::{Arg, Reader};
use crate::write::{params, Chain, Tx};
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
    reader: Reader<'_>,
    client_id: &str,
    sender_ref: &str,
) -> Result<Option<LetterReceipt>, StoreError> {
    reader
        .optional(
            "select public_id, status, request_hash from letters where client_id = $1 and sender_ref = $2",
            &[Arg::Text(client_id), Arg::Text(sender_ref)],
            |r| {
                Ok(LetterReceipt {
                    public_id: r.text("public_id")?,
                    status: status(&r.text("status")?)?,
                    request_hash: r.text("request_hash")?,
                })
            },
        )
        .await
}

/// The letter's row: 20 parameters, `$20` its creation time.
const LETTER_INSERT: &str =
    "insert into letters (public_id, client_id, sender_ref, request_hash, recipient_fnr, recipient_orgnr, title, \
     sender_unit, body, kind, required_loa, digital_only, reply_allowed, response_options, response_deadline, \
     archive_saksaar, archive_sekvensnummer, archive_journalpostnummer, status, created_at) \
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) returning id";

/// A document's row; `{letter}` stands for the letter's id.
const DOCUMENT_INSERT: &str =
    "insert into letter_documents (letter_id, position, filename, mime_type, exclude_from_print, size_bytes, blob_key) \
     values ({letter}, $1, $2, $3, $4, $5, $6)";

/// What a new letter's rows are made of, for both ways of storing them.
struct LetterRows<'a> {
    letter: [Arg<'a>; 20],
    documents: Vec<[Arg<'a>; 6]>,
    /// The recipient, if a person, for their summary: (fødselsnummer, asks for an answer, by).
    summary: Option<(&'a str, bool, Option<i64>)>,
}

fn letter_rows<'a>(l: &'a NewLetter, options: Option<&'a str>) -> LetterRows<'a> {
    let d = &l.draft;
    let (fnr, orgnr) = match &d.recipient {
        Recipient::Person(f) => (Some(f.as_str()), None),
        Recipient::Organisation(o) => (None, Some(o.as_str())),
    };
    let kind = match d.kind {
        minside_core::delivery::LetterKind::Formal => "formal",
        minside_core::delivery::LetterKind::ServiceNotice => "service",
    };
    LetterRows {
        letter: [
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
            Arg::OptText(options),
            Arg::OptInt(opt_ts(d.response_deadline)),
            Arg::OptInt(d.archive_ref.map(|a| a.saksaar)),
            Arg::OptInt(d.archive_ref.map(|a| a.sekvensnummer)),
            Arg::OptInt(d.archive_ref.and_then(|a| a.journalpostnummer)),
            Arg::Text(LetterStatus::Akseptert.code()),
            Arg::Int(ts(l.created_at)),
        ],
        documents: d
            .documents
            .iter()
            .zip(&l.blob_keys)
            .enumerate()
            .map(|(i, (doc, key))| {
                [
                    Arg::Int(i as i64),
                    Arg::Text(doc.filename.as_str()),
                    Arg::Text(doc.doc_type.mime()),
                    Arg::Int(i64::from(doc.exclude_from_print)),
                    Arg::Int(doc.content.len() as i64),
                    Arg::Text(key.as_str()),
                ]
            })
            .collect(),
        summary: fnr.map(|f| (f, options.is_some(), opt_ts(d.response_deadline))),
    }
}

/// Response options are stored as a JSON array of {code, label} (none when there are none).
fn options_json(l: &NewLetter) -> Option<String> {
    let d = &l.draft;
    (!d.response_options.is_empty()).then(|| {
        let items: Vec<serde_json::Value> = d
            .response_options
            .iter()
            .map(|o| serde_json::json!({"code": o.code, "label": o.label}))
            .collect();
        serde_json::Value::Array(items).to_string()
    })
}

/// Stores a new letter with its documents, its `created` event, the recipient's summary and the
/// jobs it causes, in the caller's transaction.
pub(crate) async fn create_in(
    tx: &mut impl Tx,
    l: &NewLetter,
    jobs: &[NewJob],
) -> Result<(), StoreError> {
    let options = options_json(l);
    let rows = letter_rows(l, options.as_deref());
    let id = tx
        .rows(LETTER_INSERT, &rows.letter, |r| r.int("id"))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Database("insert into letters returned no id".into()))?;
    let document_sql = crate::write::renumber(DOCUMENT_INSERT, 1).replace("{letter}", "$1");
    for doc in &rows.documents {
        let mut args = vec![Arg::Int(id)];
        args.extend_from_slice(doc);
        tx.exec(&document_sql, &args).await?;
    }
    insert_event(tx, id, "created", None, l.created_at).await?;
    if let Some((fnr, to_answer, by)) = rows.summary {
        crate::summaries::add_new_letter(tx, fnr, to_answer, by).await?;
    }
    crate::jobs::enqueue_all_in(tx, jobs, l.created_at).await
}

/// On PostgreSQL: the same rows as [`create_in`], as one statement (a [`Chain`]) outside any
/// transaction: one round trip instead of ten. A duplicate `sender_ref` fails the whole statement
/// as a `Conflict`, and nothing of the letter is stored.
pub(crate) async fn create_in_one_statement(
    pool: &AnyPool,
    l: &NewLetter,
    jobs: &[NewJob],
) -> Result<(), StoreError> {
    let options = options_json(l);
    let rows = letter_rows(l, options.as_deref());
    let mut chain = Chain::default();
    let part = chain.place(LETTER_INSERT, &rows.letter);
    let letter = chain.push(part);
    // The letter's own parameters come first, its creation time the last of them.
    let created_at = chain.next_param() - 1;
    for doc in &rows.documents {
        let part = chain.place(
            &DOCUMENT_INSERT.replace("{letter}", &format!("(select id from {letter})")),
            doc,
        );
        chain.push(part);
    }
    chain.push(format!(
        "insert into letter_events (letter_id, event, detail, created_at) \
         select id, 'created', null, ${created_at} from {letter}"
    ));
    if let Some((fnr, to_answer, by)) = rows.summary {
        let part = chain.place(
            crate::summaries::ADD_NEW_LETTER,
            &crate::summaries::new_letter_args(fnr, to_answer, by),
        );
        chain.push(part);
    }
    if !jobs.is_empty() {
        let args: Vec<Arg<'_>> = jobs
            .iter()
            .flat_map(|j| crate::jobs::job_args(j, l.created_at))
            .collect();
        let part = chain.place(&crate::jobs::enqueue_sql(jobs.len()), &args);
        chain.push(part);
    }
    chain.run(pool).await
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

/// Lines of a resident's first inbox page kept in `inbox_first_pages` on PostgreSQL (migration
/// 0011, whose statements say 21): the inbox's page and one more, to know there is a next page.
pub(crate) const INBOX_FIRST_PAGE_KEPT: i64 = minside_core::letters::INBOX_PAGE_SIZE + 1;

/// A resident's first inbox page on PostgreSQL (all letters not archived, no search), kept with
/// them by migration 0011's triggers: by fødselsnummer, for the key `$1` or for each key in the
/// JSON array `$1`, the key in `i_key` and the letters as one JSON array in `items`, newest first,
/// each `[id, public_id, title, sender_unit, created_at, read_at, marked_unread,
/// response_deadline, answered_at, response_options]`.
const INBOX_FIRST_PAGE_SQL: &str =
    "select fodselsnummer as i_key, items from inbox_first_pages where fodselsnummer = $1";
const INBOX_FIRST_PAGES_SQL: &str = "select fodselsnummer as i_key, items from inbox_first_pages \
     where fodselsnummer = any(array(select json_array_elements_text($1::json)))";

/// The first inbox pages residents open, on PostgreSQL one statement for those asked for
/// together (`batch.rs`): the page that nearly every visit to the inbox shows, one row a
/// resident. Other pages, filters and searches are listed from the letters one at a time.
pub(crate) fn first_page_reads(pool: AnyPool, max_connections: u32) -> Coalescer<String> {
    crate::batch::by_key(
        pool,
        max_connections,
        INBOX_FIRST_PAGE_SQL,
        INBOX_FIRST_PAGES_SQL,
        "i_key",
        |_, r| r.text("items"),
    )
}

/// A line of the inbox as `inbox_first_pages.items` lists it.
type InboxJson = (
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn inbox_line(
    line: InboxJson,
) -> Result<
    (
        minside_core::letters::InboxCursor,
        minside_core::letters::InboxItem,
    ),
    StoreError,
> {
    let (
        id,
        public_id,
        title,
        sender_unit,
        created,
        read_at,
        marked_unread,
        deadline,
        answered,
        options,
    ) = line;
    let created_at = from_ts(created)?;
    Ok((
        minside_core::letters::InboxCursor { created_at, id },
        minside_core::letters::InboxItem {
            public_id,
            title,
            sender_unit,
            created_at,
            read: read_at.is_some() && marked_unread == 0,
            response_deadline: deadline.map(from_ts).transpose()?,
            answered: answered.is_some(),
            options: parse_options(options)?,
        },
    ))
}

/// The inbox's statement for a filter, with or without a cursor and a search: $1 recipient, $2
/// now, $3 limit + 1, $4/$5 cursor, $6 search pattern. Each of the sixteen forms is a constant, so
/// that the direct reads know its column names from before (`fast::SqlText`); the columns in the
/// order the mapping in [`inbox`] reads them. On SQLite every form is answered from
/// `letters_inbox_covering_idx` alone (migration 0010).
fn inbox_sql(
    filter: minside_core::letters::InboxFilter,
    after: bool,
    search: bool,
) -> &'static str {
    use minside_core::letters::InboxFilter;
    macro_rules! inbox_sql {
        ($filter:literal) => {
            match (after, search) {
                (false, false) => inbox_sql!($filter, "and $4 = $4 and $5 = $5", "and $6 = $6"),
                (true, false) => inbox_sql!($filter, after!(), "and $6 = $6"),
                (false, true) => inbox_sql!($filter, "and $4 = $4 and $5 = $5", search!()),
                (true, true) => inbox_sql!($filter, after!(), search!()),
            }
        };
        ($filter:literal, $cursor:expr, $search:expr) => {
            concat!(
                "select created_at, id, public_id, title, sender_unit, read_at, marked_unread, \
                 response_deadline, answered_at, response_options \
                 from letters where recipient_fnr = $1 and ",
                $filter,
                " ",
                $cursor,
                " ",
                $search,
                " and $2 = $2 order by created_at desc, id desc limit $3"
            )
        };
    }
    macro_rules! after {
        () => {
            "and (created_at < $4 or (created_at = $4 and id < $5))"
        };
    }
    macro_rules! search {
        () => {
            "and lower(title) like $6"
        };
    }
    match filter {
        InboxFilter::All => inbox_sql!("archived_at is null"),
        InboxFilter::Unread => {
            inbox_sql!("archived_at is null and (read_at is null or marked_unread = 1)")
        }
        InboxFilter::NeedsAnswer => inbox_sql!(
            "archived_at is null and response_options is not null and answered_at is null \
             and response_deadline > $2"
        ),
        InboxFilter::Archived => inbox_sql!("archived_at is not null"),
    }
}

pub(crate) async fn inbox(
    reader: Reader<'_>,
    first_pages: Option<&Coalescer<String>>,
    fnr: &minside_core::ident::Fodselsnummer,
    q: &minside_core::letters::InboxQuery,
) -> Result<minside_core::letters::InboxPage, StoreError> {
    use minside_core::letters::{InboxCursor, InboxFilter, InboxItem};
    if let Some(together) = first_pages.filter(|_| {
        q.filter == InboxFilter::All
            && q.search.is_none()
            && q.after.is_none()
            && (0..INBOX_FIRST_PAGE_KEPT).contains(&q.limit)
    }) {
        let lines: Vec<InboxJson> = match together.get(fnr.as_str()).await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("inbox_first_pages: {e}")))?,
            None => Vec::new(),
        };
        let wanted = usize::try_from(q.limit + 1).unwrap_or(0);
        let rows = lines
            .into_iter()
            .take(wanted)
            .map(inbox_line)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(page_of(rows, q.limit));
    }
    let sql = inbox_sql(q.filter, q.after.is_some(), q.search.is_some());
    let pattern = q
        .search
        .as_deref()
        .map(|s| format!("%{}%", s.to_lowercase().replace(['%', '_'], "")))
        .unwrap_or_default();
    let cursor_at = q.after.map_or(0, |c| ts(c.created_at));
    let cursor_id = q.after.map_or(0, |c| c.id);
    let rows = reader
        .all(
            sql,
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
                let (public_id, title, sender_unit) = (
                    r.text("public_id")?,
                    r.text("title")?,
                    r.text("sender_unit")?,
                );
                let (read_at, marked_unread) = (r.opt_int("read_at")?, r.int("marked_unread")?);
                let item = InboxItem {
                    public_id,
                    title,
                    sender_unit,
                    created_at: created,
                    read: read_at.is_some() && marked_unread == 0,
                    response_deadline: r.opt_time("response_deadline")?,
                    answered: r.opt_int("answered_at")?.is_some(),
                    options: parse_options(r.opt_text("response_options")?)?,
                };
                Ok((cursor, item))
            },
        )
        .await?;
    Ok(page_of(rows, q.limit))
}

/// A page of at most `limit` lines from `limit + 1` read: the next page starts after the last
/// line shown when there was one more.
fn page_of(
    rows: Vec<(
        minside_core::letters::InboxCursor,
        minside_core::letters::InboxItem,
    )>,
    limit: i64,
) -> minside_core::letters::InboxPage {
    let more = rows.len() as i64 > limit;
    let mut items = Vec::new();
    let mut last = None;
    for (cursor, item) in rows.into_iter().take(usize::try_from(limit).unwrap_or(0)) {
        last = Some(cursor);
        items.push(item);
    }
    let next = if more { last } else { None };
    minside_core::letters::InboxPage { items, next }
}

/// The statement of a letter the resident opens, its documents a column of one JSON array of
/// `[position, filename, mime_type, size_bytes, blob_key]` in position order; `$rest` names the
/// letter (from `from letters` on).
macro_rules! letter_for_recipient_sql {
    ($documents:expr, $rest:expr) => {
        concat!(
            "select id, public_id, title, sender_unit, body, created_at, read_at, marked_unread, archived_at, \
             required_loa, archive_saksaar, archive_sekvensnummer, archive_journalpostnummer, response_options, \
             response_deadline, answer_code, answered_at, reply_allowed, ",
            $documents,
            " as documents, (select count(*) from letter_replies r where r.letter_id = letters.id) as replies",
            $rest
        )
    };
}

/// A letter's documents as one JSON text on PostgreSQL.
macro_rules! documents_postgres {
    () => {
        "(select coalesce(json_agg(json_build_array(d.position, d.filename, d.mime_type, d.size_bytes, \
         d.blob_key) order by d.position), '[]')::text from letter_documents d where d.letter_id = letters.id)"
    };
}

/// [`letter_for_recipient_sql`] on SQLite, for one recipient's letter (PostgreSQL reads letters
/// by [`recipient_key`], together with other requests').
const LETTER_FOR_RECIPIENT_SQL_SQLITE: &str = letter_for_recipient_sql!(
    "(select coalesce(json_group_array(json_array(d.position, d.filename, d.mime_type, d.size_bytes, \
     d.blob_key) order by d.position), '[]') from letter_documents d where d.letter_id = letters.id)",
    " from letters where recipient_fnr = $1 and public_id = $2"
);

/// On PostgreSQL, by [`recipient_key`]: the letter whose key is `$1`, and the letters whose keys
/// are in the JSON array `$1` (found by their public ids, then kept only where the recipient is
/// the one the key names), each with its key in `l_key`.
const LETTER_BY_KEY_SQL: &str = letter_for_recipient_sql!(
    documents_postgres!(),
    ", recipient_fnr || ' ' || public_id as l_key from letters \
     where recipient_fnr = split_part($1, ' ', 1) and public_id = split_part($1, ' ', 2)"
);
const LETTERS_BY_KEY_SQL: &str = letter_for_recipient_sql!(
    documents_postgres!(),
    ", recipient_fnr || ' ' || public_id as l_key from letters \
     where public_id = any(array(select split_part(k, ' ', 2) from json_array_elements_text($1::json) k)) \
     and recipient_fnr || ' ' || public_id = any(array(select json_array_elements_text($1::json)))"
);

/// The key a letter is read by for its recipient: the fødselsnummer and the public id (neither
/// has a space).
fn recipient_key(fnr: &minside_core::ident::Fodselsnummer, public_id: &str) -> String {
    format!("{} {public_id}", fnr.as_str())
}

/// A letter as its statement returns it: without documents and replies, its documents as JSON,
/// and how many replies it has.
pub(crate) type LetterRow = (minside_core::letters::LetterView, String, i64);

fn letter_row(r: &dyn Cols) -> Result<LetterRow, StoreError> {
    use minside_core::letters::{ArchiveRef, LetterView};
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
    let letter = LetterView {
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
    };
    Ok((letter, r.text("documents")?, r.int("replies")?))
}

/// The letters residents open, on PostgreSQL one statement for those asked for together
/// (`batch.rs`; the letter page otherwise made a round trip of its own after its batched session
/// read, and was 2.5–3.8× the dashboard's time there: issue 4, reports vm-17 and vm-18).
pub(crate) fn recipient_reads(pool: AnyPool, max_connections: u32) -> Coalescer<LetterRow> {
    crate::batch::by_key(
        pool,
        max_connections,
        LETTER_BY_KEY_SQL,
        LETTERS_BY_KEY_SQL,
        "l_key",
        |_, r| letter_row(r),
    )
}

/// A letter the resident opens, with its documents, in one statement (on PostgreSQL each
/// statement is a round trip, and the letter page read the letter, its documents and its replies
/// one after the other); the replies are read only when the letter has some. `together` is
/// PostgreSQL's reader of letters asked for at once (the store makes one for every PostgreSQL
/// database); without it the store is SQLite.
pub(crate) async fn for_recipient(
    reader: Reader<'_>,
    together: Option<&Coalescer<LetterRow>>,
    fnr: &minside_core::ident::Fodselsnummer,
    public_id: &str,
) -> Result<Option<minside_core::letters::LetterView>, StoreError> {
    let row = match together {
        Some(together) => together.get(&recipient_key(fnr, public_id)).await?,
        None => {
            reader
                .optional(
                    LETTER_FOR_RECIPIENT_SQL_SQLITE,
                    &[Arg::Text(fnr.as_str()), Arg::Text(public_id)],
                    letter_row,
                )
                .await?
        }
    };
    let Some((mut letter, documents, replies)) = row else {
        return Ok(None);
    };
    let listed: Vec<(i64, String, String, i64, String)> = serde_json::from_str(&documents)
        .map_err(|e| StoreError::Corrupt(format!("letter_documents: {e}")))?;
    letter.documents = listed
        .into_iter()
        .map(|(position, filename, mime_type, size_bytes, blob_key)| {
            minside_core::letters::DocumentMeta {
                position,
                filename,
                mime_type,
                size_bytes,
                blob_key,
            }
        })
        .collect();
    if replies > 0 {
        letter.replies = crate::replies::for_letter(reader, letter.id).await?;
    }
    Ok(Some(letter))
}

pub(crate) async fn mark_read_in(
    tx: &mut impl Tx,
    letter_id: i64,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let first = tx
        .exec(
            "update letters set read_at = $1, marked_unread = 0, \
             status = case when status in ('AKSEPTERT', 'VARSLET') then 'LEST' else status end \
             where id = $2 and read_at is null",
            &[Arg::Int(ts(now)), Arg::Int(letter_id)],
        )
        .await?
        == 1;
    if first {
        insert_event(tx, letter_id, "read", None, now).await?;
    } else {
        tx.exec(
            "update letters set marked_unread = 0 where id = $1",
            &[Arg::Int(letter_id)],
        )
        .await?;
    }
    crate::summaries::refresh_for_letter(tx, letter_id).await?;
    Ok(first)
}

pub(crate) async fn set_archived_in(
    tx: &mut impl Tx,
    letter_id: i64,
    archived: bool,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    tx.exec(
        "update letters set archived_at = $1 where id = $2",
        &[Arg::OptInt(archived.then(|| ts(now))), Arg::Int(letter_id)],
    )
    .await?;
    crate::summaries::refresh_for_letter(tx, letter_id).await
}

pub(crate) async fn mark_unread_in(tx: &mut impl Tx, letter_id: i64) -> Result<(), StoreError> {
    tx.exec(
        "update letters set marked_unread = 1 where id = $1 and read_at is not null",
        &[Arg::Int(letter_id)],
    )
    .await?;
    crate::summaries::refresh_for_letter(tx, letter_id).await
}

/// Records the resident's answer, once: false (and nothing changed) when it was answered already.
pub(crate) async fn answer_in(
    tx: &mut impl Tx,
    letter_id: i64,
    option: &str,
    by: &minside_core::ident::Fodselsnummer,
    now: jiff::Timestamp,
    jobs: &[NewJob],
) -> Result<bool, StoreError> {
    let done = tx
        .exec(
            "update letters set answered_at = $1, answer_code = $2, answered_by = $3 \
             where id = $4 and answered_at is null",
            &[
                Arg::Int(ts(now)),
                Arg::Text(option),
                Arg::Text(by.as_str()),
                Arg::Int(letter_id),
            ],
        )
        .await?
        == 1;
    if !done {
        return Ok(false);
    }
    // The sender learns which option and when; "by" is the recipient (no number in the event).
    let detail = serde_json::json!({"option": option, "by": "recipient"}).to_string();
    insert_event(tx, letter_id, "answered", Some(&detail), now).await?;
    crate::summaries::refresh_for_letter(tx, letter_id).await?;
    crate::jobs::enqueue_all_in(tx, jobs, now).await?;
    Ok(true)
}

/// Response options are stored as a JSON array of {code, label}.
fn parse_options(
    json: Option<String>,
) -> Result<Vec<minside_core::letters::ResponseOption>, StoreError> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    // Straight into the two fields (through `serde_json::Value` it was a twentieth of the inbox's
    // instructions: bench/, issue 4).
    #[derive(serde::Deserialize)]
    struct Stored {
        #[serde(default)]
        code: String,
        #[serde(default)]
        label: String,
    }
    Ok(serde_json::from_str::<Vec<Stored>>(&json)
        .map_err(|e| StoreError::Corrupt(format!("letters.response_options: {e}")))?
        .into_iter()
        .map(|o| minside_core::letters::ResponseOption {
            code: o.code,
            label: o.label,
        })
        .collect())
}

/// The delivery view's columns: the letter, once per `notified` event (whose detail names the
/// channel) or once with no event; `where` follows.
macro_rules! delivery_select {
    () => {
        "select l.id, l.public_id, l.recipient_fnr, l.kind, l.status, l.read_at, l.response_deadline, \
         l.answered_at, e.detail from letters l \
         left join letter_events e on e.letter_id = l.id and e.event = 'notified' where l.public_id "
    };
}

/// What the delivery jobs need of a letter, in one statement.
pub(crate) async fn for_delivery(
    reader: Reader<'_>,
    public_id: &str,
) -> Result<Option<minside_core::letters::DeliveryView>, StoreError> {
    const ONE: &str = concat!(delivery_select!(), "= $1 order by l.id, e.id");
    let rows = reader
        .all(ONE, &[Arg::Text(public_id)], delivery_row)
        .await?;
    Ok(delivery_views(rows).into_iter().next())
}

/// [`for_delivery`] for several letters in one statement (a worker's claim of notices); the
/// letters that exist, in the order of their ids.
pub(crate) async fn all_for_delivery(
    reader: Reader<'_>,
    public_ids: &[&str],
) -> Result<Vec<minside_core::letters::DeliveryView>, StoreError> {
    let mut views = Vec::with_capacity(public_ids.len());
    for chunk in public_ids.chunks(500) {
        let sql = format!(
            concat!(delivery_select!(), "in ({}) order by l.id, e.id"),
            params(1, chunk.len())
        );
        let args: Vec<Arg<'_>> = chunk.iter().map(|id| Arg::Text(id)).collect();
        views.extend(delivery_views(reader.all(&sql, &args, delivery_row).await?));
    }
    Ok(views)
}

type DeliveryRow = (minside_core::letters::DeliveryView, Option<String>);

fn delivery_row(r: &dyn Cols) -> Result<DeliveryRow, StoreError> {
    let channel = r.opt_text("detail")?.and_then(|d| {
        serde_json::from_str::<serde_json::Value>(&d)
            .ok()?
            .get("channel")?
            .as_str()
            .map(str::to_owned)
    });
    let view = minside_core::letters::DeliveryView {
        id: r.int("id")?,
        public_id: r.text("public_id")?,
        recipient: r
            .opt_text("recipient_fnr")?
            .map(|f| minside_core::ident::Fodselsnummer::parse(&f))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind: if r.text("kind")? == "service" {
            minside_core::delivery::LetterKind::ServiceNotice
        } else {
            minside_core::delivery::LetterKind::Formal
        },
        status: status(&r.text("status")?)?,
        read: r.opt_time("read_at")?.is_some(),
        notified: Vec::new(),
        response_deadline: r.opt_time("response_deadline")?,
        answered: r.opt_time("answered_at")?.is_some(),
    };
    Ok((view, channel))
}

/// Rows ordered by letter, one per notified channel, folded into one view per letter.
fn delivery_views(rows: Vec<DeliveryRow>) -> Vec<minside_core::letters::DeliveryView> {
    let mut views: Vec<minside_core::letters::DeliveryView> = Vec::new();
    for (view, channel) in rows {
        let same = views.last().is_some_and(|last| last.id == view.id);
        if !same {
            views.push(view);
        }
        if let (Some(last), Some(channel)) = (views.last_mut(), channel) {
            last.notified.push(channel);
        }
    }
    views
}

const EVENT_INSERT: &str =
    "insert into letter_events (letter_id, event, detail, created_at) values ($1, $2, $3, $4)";

/// The statement that sets `VARSLET` on the letters `$1…$n` still `AKSEPTERT`.
fn notified_status_sql(n: usize) -> String {
    format!(
        "update letters set status = 'VARSLET' where id in ({}) and status = 'AKSEPTERT'",
        params(1, n)
    )
}

/// One statement adding `n` events, four parameters each (see [`event_args`]).
pub(crate) fn events_insert_sql(n: usize) -> String {
    format!(
        "insert into letter_events (letter_id, event, detail, created_at) values {}",
        crate::population::values(n, 4)
    )
}

fn notified_detail(channel: &str) -> String {
    serde_json::json!({ "channel": channel }).to_string()
}

/// How many letters one statement records: 4 parameters each for the events, far below either
/// engine's limit.
pub(crate) const NOTICES_PER_STATEMENT: usize = 200;

/// The letters' notices went out, each on its channel: `VARSLET` (unless a letter moved on
/// already) and a `notified` event each, in the caller's transaction (two statements per 200).
pub(crate) async fn record_notified_in(
    tx: &mut impl Tx,
    notices: &[(i64, &str)],
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    for chunk in notices.chunks(NOTICES_PER_STATEMENT) {
        let details: Vec<String> = chunk.iter().map(|(_, c)| notified_detail(c)).collect();
        let ids: Vec<Arg<'_>> = chunk.iter().map(|(id, _)| Arg::Int(*id)).collect();
        tx.exec(&notified_status_sql(chunk.len()), &ids).await?;
        let events = notified_event_args(chunk, &details, now);
        tx.exec(&events_insert_sql(chunk.len()), &events).await?;
    }
    Ok(())
}

fn notified_event_args<'a>(
    notices: &[(i64, &str)],
    details: &'a [String],
    now: jiff::Timestamp,
) -> Vec<Arg<'a>> {
    notices
        .iter()
        .zip(details)
        .flat_map(|((id, _), detail)| event_args(*id, "notified", Some(detail), now))
        .collect()
}

/// On PostgreSQL: [`record_notified_in`] for up to [`NOTICES_PER_STATEMENT`] notices as one
/// statement outside any transaction (a [`Chain`]).
pub(crate) async fn record_notified_in_one_statement(
    pool: &AnyPool,
    notices: &[(i64, &str)],
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let details: Vec<String> = notices.iter().map(|(_, c)| notified_detail(c)).collect();
    let ids: Vec<Arg<'_>> = notices.iter().map(|(id, _)| Arg::Int(*id)).collect();
    let mut chain = Chain::default();
    let part = chain.place(&notified_status_sql(notices.len()), &ids);
    chain.push(part);
    let events = notified_event_args(notices, &details, now);
    let part = chain.place(&events_insert_sql(notices.len()), &events);
    chain.push(part);
    chain.run(pool).await
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
    tx.exec(EVENT_INSERT, &event_args(letter_id, event, detail, now))
        .await?;
    Ok(())
}

/// The four parameters of one event's row (see [`events_insert_sql`]).
pub(crate) fn event_args<'a>(
    letter_id: i64,
    event: &'a str,
    detail: Option<&'a str>,
    now: jiff::Timestamp,
) -> [Arg<'a>; 4] {
    [
        Arg::Int(letter_id),
        Arg::Text(event),
        Arg::OptText(detail),
        Arg::Int(ts(now)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use minside_core::letters::InboxFilter;

    /// PostgreSQL's migration 0011 keeps as many lines of each first inbox page as the store reads
    /// from it: the inbox's page size and one more. (A new page size needs a migration that keeps
    /// as many.)
    #[test]
    fn the_kept_first_inbox_pages_hold_a_page_and_one_more() {
        let migration = include_str!("../migrations/postgres/0011_inbox_first_pages.sql");
        let kept = super::INBOX_FIRST_PAGE_KEPT;
        assert_eq!(kept, minside_core::letters::INBOX_PAGE_SIZE + 1);
        let statements = migration
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(statements.matches(&format!("limit {kept})")).count(), 1);
        assert_eq!(statements.matches(&format!("n <= {kept}\n")).count(), 1);
    }

    /// Every filter, with and without a cursor and a search, lists a resident's letters from the
    /// covering index alone, in its order: no table row read (a resident's letters lie on as many
    /// table pages as they are letters), no sort.
    #[test]
    fn every_inbox_statement_reads_the_covering_index_alone_on_sqlite() {
        for filter in InboxFilter::ALL {
            for after in [false, true] {
                for search in [false, true] {
                    let plan = crate::migrations::sqlite_plan(inbox_sql(filter, after, search));
                    let case = format!("{filter:?} after={after} search={search}: {plan:#?}");
                    assert_eq!(plan.len(), 1, "{case}");
                    assert!(
                        plan[0].starts_with(
                            "SEARCH letters USING COVERING INDEX letters_inbox_covering_idx (recipient_fnr=?"
                        ),
                        "{case}"
                    );
                }
            }
        }
    }
}
