//! The page frame every template extends: header with language links and logout, footer with
//! the municipality's contact details. Also the `render` helper.

use crate::error::AppError;
use crate::i18n::{Lang, Tr};
use crate::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A link to the same page in another language.
pub struct LangLink {
    pub code: &'static str,
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// Who is logged in, for the header.
pub struct HeaderUser {
    pub name: String,
    pub csrf: String,
    pub logout_action: &'static str,
}

/// Data the frame needs.
pub struct Layout {
    pub tr: Tr,
    pub title: String,
    pub municipality: String,
    pub phone: String,
    pub email: String,
    pub accessibility_statement_url: String,
    pub home_href: &'static str,
    pub langs: Vec<LangLink>,
    pub user: Option<HeaderUser>,
}

impl Layout {
    /// A frame for `path` (used for the language links) with the translated `title_key`.
    pub fn new(state: &AppState, lang: Lang, path: &str, title_key: &str) -> Self {
        let tr = Tr::new(state.i18n.clone(), lang);
        let encoded: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        let langs = Lang::ALL
            .iter()
            .map(|l| LangLink {
                code: l.code(),
                label: tr.t(l.label_key()).into_owned(),
                href: format!("/lang/{}?return_to={encoded}", l.code()),
                current: *l == lang,
            })
            .collect();
        let m = &state.config.municipality;
        Self {
            title: tr.t(title_key).into_owned(),
            municipality: m.name.clone(),
            phone: m.phone.clone(),
            email: m.email.clone(),
            accessibility_statement_url: m.accessibility_statement_url.clone(),
            home_href: "/",
            langs,
            user: None,
            tr,
        }
    }

    /// Adds the logged-in user (name, logout form with its CSRF token).
    pub fn with_user(mut self, name: String, csrf: &str, staff: bool) -> Self {
        self.home_href = if staff { "/staff" } else { "/min-side" };
        self.user = Some(HeaderUser {
            name,
            csrf: csrf.to_owned(),
            logout_action: if staff { "/staff/logout" } else { "/logout" },
        });
        self
    }

    pub fn lang(&self) -> &'static str {
        self.tr.lang.code()
    }
}

/// Renders a template as an HTML response with `status`.
pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

/// Renders a template as `200 OK`.
pub fn render<T: Template>(page: &T) -> Result<Response, AppError> {
    render_status(StatusCode::OK, page)
}
