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
use minside_core::letters::{
    InboxCursor, InboxFilter, InboxQuery, LetterView, INBOX_PAGE_SIZE as PAGE_SIZE,
};
use minside_core::usecases::open_letter::{
    act_on_letter, letter_document, open_letter, show_inbox, LetterAction, OpenLetterError,
};
use serde::Deserialize;

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
