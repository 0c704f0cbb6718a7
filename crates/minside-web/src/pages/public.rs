//! Public pages: the front page, language switch, not-found, and the translated error page.

use crate::error::OperationId;
use crate::i18n::Lang;
use crate::layout::{render, render_status, Layout};
use crate::security::{add_security_headers, log_request, safe_return_to, set_cookie};
use crate::AppState;
use askama::Template;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
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

/// What every request passes through, in one layer (each layer of its own boxed the request's
/// future again: bench/, issue 4): the request log line, the security headers, and the error
/// page in the user's language, showing the operation id that the log line of the cause
/// carries, in place of the body of a request that failed.
pub async fn frame(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let is_static = req.uri().path().starts_with("/static/");
    // The language of an error page is chosen only when a request fails, from these headers
    // (kept as they came: an HTTP/1.1 client sends its cookies in one header, an HTTP/2 one may
    // send a header per cookie).
    let lang_from: Vec<(HeaderName, HeaderValue)> = [header::COOKIE, header::ACCEPT_LANGUAGE]
        .into_iter()
        .flat_map(|name| {
            req.headers()
                .get_all(&name)
                .iter()
                .map(move |value| (name.clone(), value.clone()))
        })
        .collect();
    let mut res = next.run(req).await;
    if let Some(OperationId(id)) = res.extensions().get::<OperationId>().cloned() {
        let mut headers = HeaderMap::new();
        for (name, value) in lang_from {
            headers.append(name, value);
        }
        res = error_page(&state, Lang::negotiate(&headers), &id);
    }
    add_security_headers(&mut res, is_static, state.config.secure_cookies);
    log_request(&method, route.as_ref(), res.status().as_u16(), started);
    res
}

fn error_page(state: &AppState, lang: Lang, id: &str) -> Response {
    let layout = Layout::new(state, lang, "/", "error-title");
    let body = layout.tr.t1("error-body", "id", id);
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
