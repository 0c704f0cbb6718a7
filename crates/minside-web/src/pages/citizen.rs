//! The resident's own pages: the dashboard and "my data" (which needs a high level of assurance).

use crate::error::AppError;
use crate::i18n::Lang;
use crate::layout::{render, Layout};
use crate::session::CitizenSession;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use minside_core::auth::{citizen_may_view, Loa};
use minside_core::letters::{InboxFilter, InboxQuery};
use minside_core::person::{Dashboard, Person};
use minside_core::usecases::open_letter::show_inbox;
use minside_core::usecases::show_dashboard::{show_dashboard, DashboardView};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    dashboard: Option<Dashboard>,
    /// "3", or "10+" when there are more than fit the count.
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

/// `GET /min-side`.
pub async fn dashboard_page(
    State(state): State<AppState>,
    lang: Lang,
    s: CitizenSession,
) -> Result<Response, AppError> {
    let dashboard = match show_dashboard(state.store.as_ref(), &s.citizen).await? {
        DashboardView::Resident(d) => Some(*d),
        DashboardView::NotResident => None,
    };
    let name = dashboard
        .as_ref()
        .map_or_else(|| s.citizen.fnr.masked(), |d| d.person.full_name());
    let layout = Layout::new(&state, lang, "/min-side", "dashboard-title").with_user(
        name,
        &s.session.csrf_token,
        false,
    );
    let page = |filter, limit| InboxQuery {
        filter,
        search: None,
        after: None,
        limit,
        now: state.clock.now(),
    };
    let unread = show_inbox(
        state.store.as_ref(),
        &s.citizen,
        &page(InboxFilter::Unread, 9),
    )
    .await?;
    let has_letters = !unread.items.is_empty()
        || !show_inbox(state.store.as_ref(), &s.citizen, &page(InboxFilter::All, 1))
            .await?
            .items
            .is_empty();
    let to_answer = show_inbox(
        state.store.as_ref(),
        &s.citizen,
        &page(InboxFilter::NeedsAnswer, 3),
    )
    .await?
    .items
    .into_iter()
    .filter_map(|i| {
        let first = i.options.into_iter().next()?;
        let by = layout.tr.t1(
            "inbox-answer-by",
            "date",
            &super::letters::local_date(i.response_deadline?),
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
    let unread = match (unread.items.len(), unread.next.is_some()) {
        (0, _) => None,
        (n, false) => Some(n.to_string()),
        (n, true) => Some(format!("{n}+")),
    };
    render(&DashboardPage {
        layout,
        dashboard,
        unread,
        has_letters,
        to_answer,
        csrf: s.session.csrf_token.clone(),
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
    let tz = jiff::tz::TimeZone::get("Europe/Oslo").unwrap_or(jiff::tz::TimeZone::UTC);
    let log = log
        .into_iter()
        .map(|e| {
            let kind = if e.actor_kind == "staff" {
                "my-data-log-staff"
            } else {
                "my-data-log-system"
            };
            LogRow {
                when: e
                    .at
                    .to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string(),
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
