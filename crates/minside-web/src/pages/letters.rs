//! The resident's messages: inbox, letter page (read receipt), documents, archive and unread.

use crate::error::AppError;
use crate::i18n::Lang;
use crate::layout::{render, Layout};
use crate::session::{csrf_ok, CitizenSession};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jiff::Timestamp;
use minside_core::letters::{InboxCursor, InboxFilter, InboxQuery, LetterView};
use minside_core::usecases::open_letter::{
    act_on_letter, letter_document, open_letter, show_inbox, LetterAction, OpenLetterError,
};
use serde::Deserialize;

const PAGE_SIZE: i64 = 20;

/// Dates in the portal's time zone (`letters.timezone`), as Norwegians write them, e.g.
/// `22.11.2026`, with integer arithmetic. The zone's offsets from 1900 to 2200 are a table made
/// once at startup and searched by halves: an inbox page shows some forty dates, and asking the
/// zone for each was a twentieth of the inbox's instructions (after the last transition a zone
/// file lists, jiff works the zone's rule out for the date's year each time; bench/, issue 4).
/// Outside those years the zone itself is asked.
#[derive(Debug, Clone)]
pub struct ZoneDates {
    tz: jiff::tz::TimeZone,
    /// When each offset in `offsets` begins (the zone's transitions, in order).
    starts: Vec<Timestamp>,
    offsets: Vec<jiff::tz::Offset>,
    /// The offset at [`TABLE_FROM`], before the first transition in the table.
    first: jiff::tz::Offset,
}

/// The years the table covers: `[1900-01-01, 2200-01-01)` UTC.
const TABLE_FROM: i64 = -2_208_988_800;
const TABLE_UNTIL: i64 = 7_258_118_400;

impl ZoneDates {
    pub fn new(tz: jiff::tz::TimeZone) -> Self {
        let (from, until) = table_bounds();
        let (mut starts, mut offsets) = (Vec::new(), Vec::new());
        for tr in tz.following(from) {
            if tr.timestamp() >= until {
                break;
            }
            starts.push(tr.timestamp());
            offsets.push(tr.offset());
        }
        let first = tz.to_offset(from);
        Self {
            tz,
            starts,
            offsets,
            first,
        }
    }

    fn offset(&self, t: Timestamp) -> jiff::tz::Offset {
        let (from, until) = table_bounds();
        if t < from || t >= until {
            return self.tz.to_offset(t);
        }
        match self.starts.partition_point(|start| *start <= t) {
            0 => self.first,
            i => self.offsets.get(i - 1).copied().unwrap_or(self.first),
        }
    }

    /// `dd.mm.yyyy`.
    pub fn date(&self, t: Timestamp) -> String {
        let mut out = String::with_capacity(10);
        push_date(&mut out, self.offset(t).to_datetime(t).date());
        out
    }

    /// `dd.mm.yyyy hh:mm`.
    pub fn date_time(&self, t: Timestamp) -> String {
        let at = self.offset(t).to_datetime(t);
        let mut out = String::with_capacity(16);
        push_date(&mut out, at.date());
        out.push(' ');
        push_two(&mut out, at.hour());
        out.push(':');
        push_two(&mut out, at.minute());
        out
    }
}

fn table_bounds() -> (Timestamp, Timestamp) {
    (
        Timestamp::from_second(TABLE_FROM).unwrap_or(Timestamp::MIN),
        Timestamp::from_second(TABLE_UNTIL).unwrap_or(Timestamp::MAX),
    )
}

fn push_date(out: &mut String, d: jiff::civil::Date) {
    push_two(out, d.day());
    out.push('.');
    push_two(out, d.month());
    out.push('.');
    let year = d.year();
    push_two(out, (year / 100) as i8);
    push_two(out, (year % 100) as i8);
}

/// Two decimal digits of `n` (0–99).
fn push_two(out: &mut String, n: i8) {
    let n = n.unsigned_abs();
    out.push(char::from(b'0' + n / 10 % 10));
    out.push(char::from(b'0' + n % 10));
}

struct FilterLink {
    label: String,
    href: String,
    current: bool,
}

struct Row {
    id: String,
    title: String,
    sender_unit: String,
    date: String,
    read: bool,
    answer_by: Option<String>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    filters: Vec<FilterLink>,
    filter: &'static str,
    q: String,
    items: Vec<Row>,
    next_href: Option<String>,
}

#[derive(Deserialize)]
pub struct InboxParams {
    filter: Option<String>,
    q: Option<String>,
    after: Option<String>,
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /min-side/meldinger`.
pub async fn inbox_page(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
    Query(p): Query<InboxParams>,
) -> Result<Response, AppError> {
    let filter = p
        .filter
        .as_deref()
        .and_then(InboxFilter::from_code)
        .unwrap_or_default();
    let q =
        p.q.unwrap_or_default()
            .trim()
            .chars()
            .take(100)
            .collect::<String>();
    let query = InboxQuery {
        filter,
        search: (!q.is_empty()).then(|| q.clone()),
        after: p.after.as_deref().and_then(InboxCursor::decode),
        limit: PAGE_SIZE,
        now: state.clock.now(),
    };
    let page = show_inbox(state.store.as_ref(), &s.citizen, &query).await?;
    let layout = Layout::new(&state, lang, "/min-side/meldinger", "inbox-title").with_user(
        s.display_name(),
        &s.session.csrf_token,
        false,
    );
    let filters = InboxFilter::ALL
        .iter()
        .map(|f| FilterLink {
            label: layout.tr.t(&format!("filter-{}", f.code())).into_owned(),
            href: format!("/min-side/meldinger?filter={}", f.code()),
            current: *f == filter,
        })
        .collect();
    let dates = &state.dates;
    let items = page
        .items
        .into_iter()
        .map(|i| Row {
            answer_by: i
                .response_deadline
                .filter(|_| !i.answered)
                .map(|d| layout.tr.t1("inbox-answer-by", "date", &dates.date(d))),
            id: i.public_id,
            title: i.title,
            sender_unit: i.sender_unit,
            date: dates.date(i.created_at),
            read: i.read,
        })
        .collect();
    let next_href = page.next.map(|c| {
        format!(
            "/min-side/meldinger?filter={}&q={}&after={}",
            filter.code(),
            enc(&q),
            c.encode()
        )
    });
    render(&InboxPage {
        layout,
        filters,
        filter: filter.code(),
        q,
        items,
        next_href,
    })
}

#[derive(Template)]
#[template(path = "letter.html")]
struct LetterPage {
    layout: Layout,
    letter: LetterView,
    date: String,
    deadline: Option<String>,
    answered: Option<String>,
    paragraphs: Vec<String>,
    csrf: String,
    /// The reply form: problems to show and the text typed so far.
    reply_errors: Vec<String>,
    reply_text: String,
    reply_sent: bool,
    /// Local date and time of each reply, in the thread's order.
    reply_dates: Vec<String>,
}

impl LetterPage {
    fn reply_date(&self, i: &usize) -> &str {
        self.reply_dates.get(*i).map_or("", String::as_str)
    }
}

fn not_found(state: &AppState, lang: Lang) -> Result<Response, AppError> {
    let page = super::public::MessagePage::new(
        state,
        lang,
        "not-found-title",
        "not-found-body",
        Some(("/min-side/meldinger", "letter-back")),
    );
    crate::layout::render_status(StatusCode::NOT_FOUND, &page)
}

fn step_up(public_id: &str) -> Response {
    Redirect::to(&format!(
        "/login?loa=high&return_to={}",
        enc(&format!("/min-side/meldinger/{public_id}"))
    ))
    .into_response()
}

/// `?sendt=1` after a reply was sent.
#[derive(Debug, Deserialize, Default)]
pub struct LetterParams {
    #[serde(default)]
    sendt: String,
}

fn letter_view_page(
    state: &AppState,
    lang: Lang,
    s: &CitizenSession,
    letter: LetterView,
) -> LetterPage {
    let path = format!("/min-side/meldinger/{}", letter.public_id);
    let mut layout = Layout::new(state, lang, &path, "inbox-title").with_user(
        s.display_name(),
        &s.session.csrf_token,
        false,
    );
    layout.title.clone_from(&letter.title);
    let paragraphs = letter
        .body
        .as_deref()
        .unwrap_or_default()
        .split("\n\n")
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let dates = &state.dates;
    let answered = letter.answer.as_ref().map(|(code, at)| {
        let label = letter
            .response_options
            .iter()
            .find(|o| &o.code == code)
            .map_or(code.as_str(), |o| o.label.as_str());
        layout.tr.tn(
            "letter-answered",
            &[("option", label), ("date", &dates.date(*at))],
        )
    });
    LetterPage {
        answered,
        date: dates.date(letter.created_at),
        deadline: letter.response_deadline.map(|d| dates.date(d)),
        paragraphs,
        csrf: s.session.csrf_token.clone(),
        reply_errors: Vec::new(),
        reply_text: String::new(),
        reply_sent: false,
        reply_dates: letter
            .replies
            .iter()
            .map(|r| dates.date_time(r.created_at))
            .collect(),
        letter,
        layout,
    }
}

/// `GET /min-side/meldinger/{id}`: opening records that the letter was read (once).
pub async fn letter_page(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
    Path(id): Path<String>,
    Query(params): Query<LetterParams>,
) -> Result<Response, AppError> {
    let letter =
        match open_letter(state.store.as_ref(), state.clock.as_ref(), &s.citizen, &id).await {
            Ok(l) => l,
            Err(OpenLetterError::NotFound) => return not_found(&state, lang),
            Err(OpenLetterError::StepUp(_)) => return Ok(step_up(&id)),
            Err(OpenLetterError::Store(e)) => return Err(e.into()),
            Err(OpenLetterError::Blob(e)) => return Err(AppError::Internal(e.to_string())),
        };
    let mut page = letter_view_page(&state, lang, &s, letter);
    page.reply_sent = params.sendt == "1";
    render(&page)
}

/// `POST /min-side/meldinger/{id}/skriv-svar` (multipart: csrf, tekst, vedlegg…): stores the
/// reply and goes back to the letter; problems are shown on the letter page, text kept.
pub async fn reply_submit(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
    Path(id): Path<String>,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, AppError> {
    use minside_core::letters::reply::{AttachmentInput, ReplyProblem};
    use minside_core::usecases::reply_to_letter::{
        reply_to_letter, ReplyPorts, ReplyToLetterError,
    };
    let back = format!("/min-side/meldinger/{}", enc(&id));
    let (mut csrf, mut text, mut files) = (String::new(), String::new(), Vec::new());
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // A body over the limit or cut off: treat as a bad form (back to the letter).
            Err(_) => {
                return Ok((StatusCode::PAYLOAD_TOO_LARGE, Redirect::to(&back)).into_response())
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let Ok(bytes) = field.bytes().await else {
            return Ok((StatusCode::PAYLOAD_TOO_LARGE, Redirect::to(&back)).into_response());
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "tekst" => text = String::from_utf8_lossy(&bytes).into_owned(),
            "vedlegg" => files.push(AttachmentInput {
                filename: filename.unwrap_or_default(),
                bytes: bytes.to_vec(),
            }),
            _ => {}
        }
    }
    if !csrf_ok(&s.session, &csrf) {
        return Ok(Redirect::to(&back).into_response());
    }
    let ports = ReplyPorts {
        store: state.store.as_ref(),
        blobs: state.blobs.as_ref(),
        clock: state.clock.as_ref(),
        ids: state.ids.as_ref(),
    };
    match reply_to_letter(&ports, &s.citizen, &id, &text, files).await {
        Ok(()) => Ok(Redirect::to(&format!("{back}?sendt=1")).into_response()),
        Err(ReplyToLetterError::NotFound) => not_found(&state, lang),
        Err(ReplyToLetterError::StepUp(_)) => Ok(step_up(&id)),
        Err(ReplyToLetterError::NotAllowed) => {
            let mut page = super::public::MessagePage::new(
                &state,
                lang,
                "letter-reply-refused",
                "err-reply-not-allowed",
                Some((back.as_str(), "letter-back")),
            );
            page.layout = page
                .layout
                .with_user(s.display_name(), &s.session.csrf_token, false);
            crate::layout::render_status(StatusCode::FORBIDDEN, &page)
        }
        Err(ReplyToLetterError::Invalid(problems)) => {
            let letter = match minside_core::usecases::open_letter::open_letter(
                state.store.as_ref(),
                state.clock.as_ref(),
                &s.citizen,
                &id,
            )
            .await
            {
                Ok(l) => l,
                Err(_) => return not_found(&state, lang),
            };
            let mut page = letter_view_page(&state, lang, &s, letter);
            let max = minside_core::letters::reply::MAX_REPLY_CHARS.to_string();
            page.reply_errors = problems
                .iter()
                .map(|p| match p {
                    ReplyProblem::EmptyText => page.layout.tr.t("err-reply-empty").into_owned(),
                    ReplyProblem::TextTooLong => page.layout.tr.t1("err-reply-long", "max", &max),
                    ReplyProblem::TooManyAttachments => {
                        page.layout.tr.t("err-reply-count").into_owned()
                    }
                    ReplyProblem::UnsupportedType(f) => {
                        page.layout.tr.t1("err-reply-type", "file", f)
                    }
                    ReplyProblem::TooLarge(f) => page.layout.tr.t1("err-reply-size", "file", f),
                })
                .collect();
            page.reply_text = text;
            crate::layout::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(ReplyToLetterError::Store(e)) => Err(e.into()),
        Err(ReplyToLetterError::Blob(e)) => Err(AppError::Internal(e.to_string())),
    }
}

/// `GET /min-side/meldinger/{id}/svar/{reply}/vedlegg/{position}`: an attachment of the
/// resident's own reply.
pub async fn reply_attachment_download(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
    Path((id, reply, position)): Path<(String, String, i64)>,
) -> Result<Response, AppError> {
    use minside_core::usecases::reply_to_letter::reply_attachment;
    let file = reply_attachment(
        state.store.as_ref(),
        state.blobs.as_ref(),
        &s.citizen,
        &id,
        &reply,
        position,
    )
    .await
    .map(|(meta, bytes)| (meta.filename, meta.mime_type, bytes));
    served(&state, lang, &id, file)
}

/// A document or attachment the resident may open, or why not.
fn served(
    state: &AppState,
    lang: Lang,
    id: &str,
    file: Result<(String, String, Vec<u8>), OpenLetterError>,
) -> Result<Response, AppError> {
    match file {
        Ok((filename, mime_type, bytes)) => Ok(download(&filename, mime_type, bytes)),
        Err(OpenLetterError::NotFound) => not_found(state, lang),
        Err(OpenLetterError::StepUp(_)) => Ok(step_up(id)),
        Err(OpenLetterError::Store(e)) => Err(e.into()),
        Err(OpenLetterError::Blob(e)) => Err(AppError::Internal(e.to_string())),
    }
}

/// A file download (never cached, never shown inline).
pub(crate) fn download(filename: &str, mime_type: String, bytes: Vec<u8>) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"",
        filename.replace(['"', '\r', '\n'], "_")
    );
    (
        [
            (header::CONTENT_TYPE, mime_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /min-side/meldinger/{id}/dokumenter/{position}`: the document, type from its sniffed bytes.
pub async fn letter_document_download(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
    Path((id, position)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let file = letter_document(
        state.store.as_ref(),
        state.blobs.as_ref(),
        &s.citizen,
        &id,
        position,
    )
    .await
    .map(|(meta, bytes)| (meta.filename, meta.mime_type, bytes));
    served(&state, lang, &id, file)
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

/// `POST /min-side/meldinger/{id}`: archive, move back, or mark unread; then back (303).
pub async fn letter_submit(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let back = format!("/min-side/meldinger/{}", enc(&id));
    if !csrf_ok(&s.session, &form.csrf) {
        return Ok(Redirect::to(&back).into_response());
    }
    let action = match form.action.as_str() {
        "archive" => LetterAction::Archive,
        "unarchive" => LetterAction::Unarchive,
        "unread" => LetterAction::MarkUnread,
        _ => return Ok(Redirect::to(&back).into_response()),
    };
    match act_on_letter(
        state.store.as_ref(),
        state.clock.as_ref(),
        &s.citizen,
        &id,
        action,
    )
    .await
    {
        Ok(()) if action == LetterAction::Unarchive => Ok(Redirect::to(&back).into_response()),
        Ok(()) => Ok(Redirect::to("/min-side/meldinger").into_response()),
        Err(OpenLetterError::NotFound) => not_found(&state, lang),
        Err(OpenLetterError::StepUp(_)) => Ok(step_up(&id)),
        Err(OpenLetterError::Store(e)) => Err(e.into()),
        Err(OpenLetterError::Blob(e)) => Err(AppError::Internal(e.to_string())),
    }
}

#[derive(Template)]
#[template(path = "answer_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    body: String,
    id: String,
    option: String,
    csrf: String,
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    option: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /min-side/meldinger/{id}/svar`: the first post shows the confirm step; the confirmed
/// post stores the answer and goes back to the letter, which shows the receipt.
pub async fn answer_submit(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    use minside_core::usecases::answer_letter::{answer_letter, prepare_answer, AnswerLetterError};
    let back = format!("/min-side/meldinger/{}", enc(&id));
    if !csrf_ok(&s.session, &form.csrf) {
        return Ok(Redirect::to(&back).into_response());
    }
    let (store, clock) = (state.store.as_ref(), state.clock.as_ref());
    let outcome = if form.confirm == "yes" {
        answer_letter(store, clock, &s.citizen, &id, &form.option)
            .await
            .map(|()| None)
    } else {
        prepare_answer(store, clock, &s.citizen, &id, &form.option)
            .await
            .map(|(_, label)| Some(label))
    };
    let refused = |key: &str, status: StatusCode| {
        let mut page = super::public::MessagePage::new(
            &state,
            lang,
            "letter-answer-refused",
            key,
            Some((back.as_str(), "letter-back")),
        );
        page.layout = page
            .layout
            .with_user(s.display_name(), &s.session.csrf_token, false);
        crate::layout::render_status(status, &page)
    };
    match outcome {
        Ok(None) => Ok(Redirect::to(&back).into_response()),
        Ok(Some(label)) => {
            let layout = Layout::new(&state, lang, &back, "letter-answer-confirm-title").with_user(
                s.display_name(),
                &s.session.csrf_token,
                false,
            );
            let body = layout.tr.t1("letter-answer-confirm-body", "option", &label);
            render(&ConfirmPage {
                layout,
                body,
                id,
                option: form.option,
                csrf: s.session.csrf_token.clone(),
            })
        }
        Err(AnswerLetterError::NotFound) => not_found(&state, lang),
        Err(AnswerLetterError::StepUp(_)) => Ok(step_up(&id)),
        Err(AnswerLetterError::AlreadyAnswered) => {
            refused("err-answer-twice", StatusCode::CONFLICT)
        }
        Err(AnswerLetterError::DeadlinePassed) => {
            refused("err-answer-late", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(AnswerLetterError::NoSuchOption) => {
            refused("err-answer-option", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(AnswerLetterError::Store(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::ZoneDates;
    use jiff::tz::TimeZone;

    /// Dates are the portal's time zone's: in Oslo an hour ahead of UTC in winter and two in
    /// summer, so late evening UTC is already the next day; and any configured zone is followed.
    #[test]
    fn dates_are_written_in_the_portals_time_zone() {
        let oslo = ZoneDates::new(TimeZone::get("Europe/Oslo").unwrap());
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(oslo.date(at("2026-12-31T23:00:00Z")), "01.01.2027");
        assert_eq!(oslo.date(at("2026-12-31T22:59:59Z")), "31.12.2026");
        assert_eq!(oslo.date(at("2026-06-30T21:59:00Z")), "30.06.2026");
        assert_eq!(oslo.date(at("2026-06-30T22:00:00Z")), "01.07.2026");
        for (t, shown) in [
            ("2026-03-05T07:04:00Z", "05.03.2026 08:04"),
            ("2026-07-05T07:04:00Z", "05.07.2026 09:04"),
            // The hour the clocks go forward (01:00 UTC on the last Sunday of March).
            ("2026-03-29T00:59:00Z", "29.03.2026 01:59"),
            ("2026-03-29T01:00:00Z", "29.03.2026 03:00"),
        ] {
            assert_eq!(oslo.date_time(at(t)), shown, "{t}");
        }
        let utc = ZoneDates::new(TimeZone::UTC);
        assert_eq!(utc.date(at("2026-12-31T22:30:00Z")), "31.12.2026");
        assert_eq!(utc.date(at("0999-01-02T00:00:00Z")), "02.01.0999");
    }

    /// The table of a zone's offsets gives the offset the zone itself gives: at each of its
    /// transitions, a second before and after, every 5 h 7 min over the years a portal shows,
    /// at the table's edges and outside it.
    #[test]
    fn the_zone_table_gives_the_zones_own_offsets() {
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let second = jiff::SignedDuration::from_secs(1);
        for zone in [
            "Europe/Oslo",
            "America/Sao_Paulo",
            "Australia/Lord_Howe",
            "UTC",
        ] {
            let tz = TimeZone::get(zone).unwrap();
            let table = ZoneDates::new(tz.clone());
            let mut times = vec![
                at("0999-01-02T00:00:00Z"),
                at("1899-12-31T23:59:59Z"),
                at("1900-01-01T00:00:00Z"),
                at("2199-12-31T23:59:59Z"),
                at("2200-01-01T00:00:00Z"),
                at("2400-06-01T12:00:00Z"),
            ];
            for tr in tz.following(at("1900-01-01T00:00:00Z")) {
                let x = tr.timestamp();
                if x > at("2100-01-01T00:00:00Z") {
                    break;
                }
                times.extend([x - second, x, x + second]);
            }
            let mut t = at("1990-01-01T00:00:00Z");
            while t < at("2040-01-01T00:00:00Z") {
                times.push(t);
                t += jiff::SignedDuration::from_mins(307);
            }
            for t in times {
                assert_eq!(table.offset(t), tz.to_offset(t), "{zone} {t}");
                let zoned = t.to_zoned(tz.clone());
                assert_eq!(
                    table.date_time(t),
                    zoned.strftime("%d.%m.%Y %H:%M").to_string(),
                    "{zone} {t}"
                );
            }
        }
    }
}
