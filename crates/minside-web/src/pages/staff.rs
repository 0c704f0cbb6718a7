//! The staff area: front page and the access-logged resident look-up.

use crate::error::AppError;
use crate::i18n::Lang;
use crate::layout::{render, render_status, Layout};
use crate::session::{csrf_ok, StaffSession};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use minside_core::access_log::{Purpose, PurposeError};
use minside_core::auth::{staff_may_open, StaffArea};
use minside_core::ident::{Fodselsnummer, FodselsnummerError};
use minside_core::person::Person;
use minside_core::usecases::look_up_person::{look_up_person, LookUpPersonError};
use serde::Deserialize;

use super::public::MessagePage;

#[derive(Template)]
#[template(path = "staff_home.html")]
struct StaffHomePage {
    layout: Layout,
    roles: Vec<String>,
    may_look_up: bool,
    may_see_statistics: bool,
}

pub(crate) fn forbidden(
    state: &AppState,
    lang: Lang,
    s: &StaffSession,
) -> Result<Response, AppError> {
    let mut page = MessagePage::new(
        state,
        lang,
        "forbidden-title",
        "forbidden-body",
        Some(("/staff", "staff-title")),
    );
    page.layout = page
        .layout
        .with_user(s.staff.name.clone(), &s.session.csrf_token, true);
    render_status(StatusCode::FORBIDDEN, &page)
}

/// `GET /staff`.
pub async fn staff_home_page(
    State(state): State<AppState>,
    lang: Lang,
    s: StaffSession,
) -> Result<Response, AppError> {
    let layout = Layout::new(&state, lang, "/staff", "staff-title").with_user(
        s.staff.name.clone(),
        &s.session.csrf_token,
        true,
    );
    let roles = s
        .staff
        .roles
        .iter()
        .map(|r| layout.tr.t(&format!("role-{}", r.code())).into_owned())
        .collect();
    let may_look_up = staff_may_open(&s.staff, StaffArea::PersonLookup).is_ok();
    let may_see_statistics = staff_may_open(&s.staff, StaffArea::Statistics).is_ok();
    if staff_may_open(&s.staff, StaffArea::Home).is_err() {
        return forbidden(&state, lang, &s);
    }
    render(&StaffHomePage {
        layout,
        roles,
        may_look_up,
        may_see_statistics,
    })
}

#[derive(Template)]
#[template(path = "staff_lookup.html")]
struct LookupPage {
    layout: Layout,
    csrf: String,
    errors: Vec<(&'static str, String)>,
    notice: Option<String>,
    fnr_value: String,
    fnr_error: Option<String>,
    purpose_value: String,
    purpose_error: Option<String>,
    result: Option<Person>,
}

impl LookupPage {
    fn new(state: &AppState, lang: Lang, s: &StaffSession) -> Self {
        Self {
            layout: Layout::new(state, lang, "/staff/person", "staff-lookup-title").with_user(
                s.staff.name.clone(),
                &s.session.csrf_token,
                true,
            ),
            csrf: s.session.csrf_token.clone(),
            errors: Vec::new(),
            notice: None,
            fnr_value: String::new(),
            fnr_error: None,
            purpose_value: String::new(),
            purpose_error: None,
            result: None,
        }
    }
}

/// `GET /staff/person`.
pub async fn person_lookup_page(
    State(state): State<AppState>,
    lang: Lang,
    s: StaffSession,
) -> Result<Response, AppError> {
    if staff_may_open(&s.staff, StaffArea::PersonLookup).is_err() {
        return forbidden(&state, lang, &s);
    }
    render(&LookupPage::new(&state, lang, &s))
}

#[derive(Deserialize)]
pub struct LookupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    fnr: String,
    #[serde(default)]
    purpose: String,
}

/// `POST /staff/person`: the number travels in the form body, never in a URL.
pub async fn person_lookup_submit(
    State(state): State<AppState>,
    lang: Lang,
    s: StaffSession,
    Form(form): Form<LookupForm>,
) -> Result<Response, AppError> {
    if staff_may_open(&s.staff, StaffArea::PersonLookup).is_err() {
        return forbidden(&state, lang, &s);
    }
    let mut page = LookupPage::new(&state, lang, &s);
    page.fnr_value = form.fnr.trim().to_owned();
    page.purpose_value = form.purpose.trim().to_owned();
    if !csrf_ok(&s.session, &form.csrf) {
        page.notice = Some(page.layout.tr.t("err-csrf").into_owned());
        return render_status(StatusCode::FORBIDDEN, &page);
    }
    let fnr = Fodselsnummer::parse(&form.fnr).map_err(|e| match e {
        FodselsnummerError::Format => "err-fnr-format",
        FodselsnummerError::Date => "err-fnr-date",
        FodselsnummerError::Checksum => "err-fnr-checksum",
    });
    let purpose = Purpose::parse(&form.purpose).map_err(|e| match e {
        PurposeError::Missing => "err-purpose-missing",
        PurposeError::TooLong => "err-purpose-too-long",
    });
    let (fnr, purpose) = match (fnr, purpose) {
        (Ok(f), Ok(p)) => (f, p),
        (f, p) => {
            if let Err(key) = f {
                let msg = page.layout.tr.t(key).into_owned();
                page.errors.push(("fnr", msg.clone()));
                page.fnr_error = Some(msg);
            }
            if let Err(key) = p {
                let msg = page.layout.tr.t(key).into_owned();
                page.errors.push(("purpose", msg.clone()));
                page.purpose_error = Some(msg);
            }
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    match look_up_person(
        state.store.as_ref(),
        state.clock.as_ref(),
        &s.staff,
        &fnr,
        purpose,
    )
    .await
    {
        Ok(person) => {
            page.result = Some(person);
            render(&page)
        }
        Err(LookUpPersonError::NotFound) => {
            page.notice = Some(page.layout.tr.t("staff-lookup-not-found").into_owned());
            render_status(StatusCode::NOT_FOUND, &page)
        }
        Err(LookUpPersonError::Forbidden(_) | LookUpPersonError::MissingScope(_)) => {
            forbidden(&state, lang, &s)
        }
        Err(LookUpPersonError::Store(e)) => Err(e.into()),
    }
}
