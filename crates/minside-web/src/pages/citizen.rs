//! The resident's own pages: the dashboard and "my data" (which needs a high level of assurance).

use crate::error::AppError;
use crate::i18n::Lang;
use crate::layout::{render, Layout};
use crate::session::{key_from_headers, login_redirect_from, CitizenSession};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minside_core::auth::{citizen_may_view, Loa};
use minside_core::person::{Dashboard, Person};
use minside_core::usecases::show_dashboard::{show_dashboard, ResidentDashboard};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    dashboard: Option<Dashboard>,
    /// How many letters are unread, when any are.
    unread: Option<String>,
    has_letters: bool,
    /// Letters waiting for an answer, with their first option for a one-click answer.
    to_answer: Vec<ToAnswer>,
    csrf: String,
}

struct ToAnswer {
    id: String,
    title: String,
    by: String,
    option_code: String,
    option_label: String,
}

/// `GET /min-side`: register data, letter counts from the resident's summary row, and one-click
/// answers for letters awaiting one (looked up only when there are some).
///
/// The session is read together with the page's data (one read; the rules are the use case's),
/// so this page takes no session extractor.
pub async fn dashboard_page(
    State(state): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let shown = match key_from_headers(&state, &headers) {
        Some(key) => {
            show_dashboard(
                state.store.as_ref(),
                &state.config.session,
                &key,
                state.clock.now(),
            )
            .await?
        }
        None => None,
    };
    let Some(ResidentDashboard {
        session,
        citizen,
        view,
    }) = shown
    else {
        return Ok(login_redirect_from("/login", &uri));
    };
    let name = view
        .register
        .as_ref()
        .map_or_else(|| citizen.fnr.masked(), |d| d.person.full_name());
    let layout = Layout::new(&state, lang, "/min-side", "dashboard-title").with_user(
        name,
        &session.csrf_token,
        false,
    );
    let to_answer = view
        .to_answer
        .into_iter()
        .filter_map(|i| {
            let first = i.options.into_iter().next()?;
            let by = layout.tr.t1(
                "inbox-answer-by",
                "date",
                &state.dates.date(i.response_deadline?),
            );
            Some(ToAnswer {
                id: i.public_id,
                title: i.title,
                by,
                option_code: first.code,
                option_label: first.label,
            })
        })
        .collect();
    render(&DashboardPage {
        layout,
        dashboard: view.register,
        unread: (view.counts.unread > 0).then(|| view.counts.unread.to_string()),
        has_letters: view.counts.letters > 0,
        to_answer,
        csrf: session.csrf_token.clone(),
    })
}

struct LogRow {
    when: String,
    who: String,
    why: String,
}

#[derive(Template)]
#[template(path = "my_data.html")]
struct MyDataPage {
    layout: Layout,
    fnr: String,
    person: Option<Person>,
    log: Vec<LogRow>,
}

const MY_DATA: &str = "/min-side/mine-opplysninger";

/// `GET /min-side/mine-opplysninger`: register data and the access log. Shows a national identity
/// number, so it asks for `idporten-loa-high` and steps up a substantial session.
pub async fn my_data_page(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
) -> Result<Response, AppError> {
    if let Err(step_up) = citizen_may_view(&s.citizen, Loa::High) {
        let loa = if step_up.required == Loa::High {
            "high"
        } else {
            "substantial"
        };
        return Ok(Redirect::to(&format!(
            "/login?loa={loa}&return_to=%2Fmin-side%2Fmine-opplysninger"
        ))
        .into_response());
    }
    let person = state.store.person_by_fnr(&s.citizen.fnr).await?;
    let log = match &person {
        Some(p) => state.store.access_log(p.id).await?,
        None => Vec::new(),
    };
    let name = person
        .as_ref()
        .map_or_else(|| s.citizen.fnr.masked(), Person::full_name);
    let layout = Layout::new(&state, lang, MY_DATA, "my-data-title").with_user(
        name,
        &s.session.csrf_token,
        false,
    );
    let log = log
        .into_iter()
        .map(|e| {
            let kind = if e.actor_kind == "staff" {
                "my-data-log-staff"
            } else {
                "my-data-log-system"
            };
            LogRow {
                when: state.dates.date_time(e.at),
                who: format!("{} ({})", e.actor_name, layout.tr.t(kind)),
                why: e.purpose,
            }
        })
        .collect();
    render(&MyDataPage {
        fnr: s.citizen.fnr.to_string(),
        person,
        log,
        layout,
    })
}
