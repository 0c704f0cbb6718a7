//! Public pages: the front page, language switch, not-found, and the translated error page.

use crate::error::OperationId;
use crate::i18n::Lang;
use crate::layout::{render, render_status, Layout};
use crate::security::{safe_return_to, set_cookie};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "front.html")]
struct FrontPage {
    layout: Layout,
}

/// `GET /`.
pub async fn front_page(State(state): State<AppState>, lang: Lang) -> Response {
    let page = FrontPage {
        layout: Layout::new(&state, lang, "/", "site-title"),
    };
    render(&page).into_response()
}

/// A page with a title, one paragraph and an optional link (errors, logged out, login failed).
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub body: String,
    pub link: Option<(String, String)>,
}

impl MessagePage {
    /// Builds the page from translation keys.
    pub fn new(
        state: &AppState,
        lang: Lang,
        title: &str,
        body: &str,
        link: Option<(&str, &str)>,
    ) -> Self {
        let layout = Layout::new(state, lang, "/", title);
        let body = layout.tr.t(body).into_owned();
        let link = link.map(|(href, key)| (href.to_owned(), layout.tr.t(key).into_owned()));
        Self { layout, body, link }
    }
}

#[derive(Deserialize)]
pub struct ReturnTo {
    pub return_to: Option<String>,
}

/// `GET /lang/{code}?return_to=…`: remembers the language for a year and goes back.
pub async fn switch_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<ReturnTo>,
) -> Response {
    let back = safe_return_to(q.return_to.as_deref(), "/");
    let Some(lang) = Lang::from_code(&code) else {
        return Redirect::to(&back).into_response();
    };
    let cookie = set_cookie(
        "lang",
        lang.code(),
        "/",
        Some(31_536_000),
        state.config.secure_cookies,
        false,
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

/// Fallback: a translated 404 page.
pub async fn not_found(State(state): State<AppState>, lang: Lang) -> Response {
    let page = MessagePage::new(
        &state,
        lang,
        "not-found-title",
        "not-found-body",
        Some(("/", "to-front")),
    );
    render_status(StatusCode::NOT_FOUND, &page).into_response()
}

/// Replaces the body of a failed request with the error page in the user's language,
/// showing the operation id that the log line carries.
pub async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = Lang::negotiate(req.headers());
    let res = next.run(req).await;
    let Some(OperationId(id)) = res.extensions().get::<OperationId>().cloned() else {
        return res;
    };
    let layout = Layout::new(&state, lang, "/", "error-title");
    let body = layout.tr.t1("error-body", "id", &id);
    let page = MessagePage {
        layout,
        body,
        link: None,
    };
    match page.render() {
        Ok(html) => (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, format!("Error {id}")).into_response(),
    }
}
