//! Person summaries: a resident's letter counts, kept in the same transaction as every change to
//! one of their letters, so the dashboard reads one row. A new letter is added to the counts;
//! every other change (read, marked unread, archived or restored, answered) recounts, which keeps
//! the row right whatever the change was; it reads only that person's letters, through the inbox
//! index.

use crate::codec::Cols;
use crate::db;
use crate::fast::{Arg, Reader};
use minside_core::ident::Fodselsnummer;
use minside_core::letters::InboxCounts;
use minside_core::ports::StoreError;

/// The recount: `$1`'s letters' recipients (the subquery `f` names them).
fn recount_sql(recipients: &str) -> String {
    format!(
        "insert into person_summaries (fodselsnummer, letters, unread, to_answer, answer_by) \
         select f.fnr, count(l.id), \
                coalesce(sum(case when l.id is not null and (l.read_at is null or l.marked_unread = 1) then 1 else 0 end), 0), \
                coalesce(sum(case when l.response_options is not null and l.answered_at is null then 1 else 0 end), 0), \
                max(case when l.response_options is not null and l.answered_at is null then l.response_deadline end) \
         from ({recipients}) f \
         left join letters l on l.recipient_fnr = f.fnr and l.archived_at is null \
         where true group by f.fnr \
         on conflict (fodselsnummer) do update set \
           letters = excluded.letters, unread = excluded.unread, to_answer = excluded.to_answer, \
           answer_by = excluded.answer_by"
    )
}

/// Adds a new letter to its recipient's summary (in the caller's transaction): one more letter,
/// one more unread, one more to answer when it has answers to choose from, and its deadline when
/// that is the latest open one — what a recount would find, since a new letter is unread, not
/// archived and not answered. Every other change recounts. A recount read all the recipient's
/// letters: a third of PostgreSQL's time for a letter through the API at 300,000 residents
/// (0.5 ms, their letters' rows spread over a 5 GB table; bench/, issue 4).
/// Counts a new unread letter in its recipient's summary: `$1` the recipient, `$2` 1 when it
/// asks for an answer, `$3` the answer's deadline.
pub(crate) const ADD_NEW_LETTER: &str =
    "insert into person_summaries (fodselsnummer, letters, unread, to_answer, answer_by) \
     values ($1, 1, 1, $2, $3) \
     on conflict (fodselsnummer) do update set \
       letters = person_summaries.letters + 1, unread = person_summaries.unread + 1, \
       to_answer = person_summaries.to_answer + excluded.to_answer, \
       answer_by = case when excluded.answer_by is not null \
         and (person_summaries.answer_by is null or excluded.answer_by > person_summaries.answer_by) \
         then excluded.answer_by else person_summaries.answer_by end";

/// The arguments of [`ADD_NEW_LETTER`].
pub(crate) fn new_letter_args(fnr: &str, to_answer: bool, answer_by: Option<i64>) -> [Arg<'_>; 3] {
    [
        Arg::Text(fnr),
        Arg::Int(i64::from(to_answer)),
        Arg::OptInt(answer_by.filter(|_| to_answer)),
    ]
}

pub(crate) async fn add_new_letter(
    tx: &mut impl crate::write::Tx,
    fnr: &str,
    to_answer: bool,
    answer_by: Option<i64>,
) -> Result<(), StoreError> {
    tx.exec(ADD_NEW_LETTER, &new_letter_args(fnr, to_answer, answer_by))
        .await?;
    Ok(())
}

/// Recounts the summary of the recipient of letter `letter_id` (in the caller's transaction;
/// letters to organisations have none).
pub(crate) async fn refresh_for_letter(
    tx: &mut impl crate::write::Tx,
    letter_id: i64,
) -> Result<(), StoreError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        recount_sql(
            "select recipient_fnr as fnr from letters where id = $1 and recipient_fnr is not null",
        )
    });
    tx.exec(sql, &[Arg::Int(letter_id)]).await?;
    Ok(())
}

/// Recounts the summaries of every recipient of letters `first..=last` (bulk loads).
pub(crate) async fn refresh_for_letters(
    conn: &mut sqlx::AnyConnection,
    first: i64,
    last: i64,
) -> Result<(), StoreError> {
    let sql = recount_sql(
        "select distinct recipient_fnr as fnr from letters \
         where id between $1 and $2 and recipient_fnr is not null",
    );
    sqlx::query(&sql)
        .bind(first)
        .bind(last)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// A resident's counts; zero when they have never had a letter.
pub(crate) async fn counts(
    reader: Reader<'_>,
    fnr: &Fodselsnummer,
) -> Result<InboxCounts, StoreError> {
    Ok(reader
        .optional(
            "select letters, unread, to_answer, answer_by from person_summaries where fodselsnummer = $1",
            &[Arg::Text(fnr.as_str())],
            |r: &dyn Cols| counts_from_row(r),
        )
        .await?
        .unwrap_or_default())
}

/// A summary row's counts (also read as part of the dashboard's statement).
pub(crate) fn counts_from_row(r: &dyn Cols) -> Result<InboxCounts, StoreError> {
    Ok(InboxCounts {
        letters: r.int("letters")?,
        unread: r.int("unread")?,
        to_answer: r.int("to_answer")?,
        answer_by: r.opt_time("answer_by")?,
    })
}
