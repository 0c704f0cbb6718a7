//! Letter statistics: the staff page (role `statistics`) with a table, a CSV export and an SVG
//! chart; the same aggregates as open data (no login) and in the API.

use crate::error::AppError;
use crate::i18n::{Lang, Tr};
use crate::layout::{render, render_status, Layout};
use crate::session::StaffSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minside_core::auth::{staff_may_open, StaffArea};
use minside_core::statistics::{
    letter_statistics, to_csv, to_svg, LetterStatistics, Month, StatisticsError,
};
use serde::Deserialize;

/// `?from=YYYY-MM&to=YYYY-MM` (both optional).
#[derive(Debug, Deserialize, Default)]
pub struct PeriodParams {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The period asked for: the last twelve months up to this one when not given.
pub(crate) fn period(state: &AppState, p: &PeriodParams) -> Option<(Month, Month)> {
    let tz = &state.config.delivery.timezone;
    let this = Month::of(state.clock.now(), tz);
    let to = if p.to.trim().is_empty() {
        this
    } else {
        Month::parse(p.to.trim())?
    };
    let from = if p.from.trim().is_empty() {
        let mut m = Month {
            year: to.year - 1,
            month: to.month,
        };
        m = m.next();
        m
    } else {
        Month::parse(p.from.trim())?
    };
    Some((from, to))
}

pub(crate) async fn compute(
    state: &AppState,
    from: Month,
    to: Month,
) -> Result<LetterStatistics, StatisticsError> {
    letter_statistics(
        state.store.as_ref(),
        &state.config.delivery.timezone,
        from,
        to,
        state.config.saving_per_letter_nok,
    )
    .await
}

fn chart(stats: &LetterStatistics, tr: &Tr) -> String {
    to_svg(
        stats,
        &tr.t("stats-chart-title"),
        [
            tr.t("stats-col-sent").into_owned().as_str(),
            tr.t("stats-col-read").into_owned().as_str(),
            tr.t("stats-col-printed").into_owned().as_str(),
        ],
    )
}

#[derive(Template)]
#[template(path = "staff_statistics.html")]
struct StatisticsPage {
    layout: Layout,
    from: String,
    to: String,
    error: Option<String>,
    stats: Option<LetterStatistics>,
    query: String,
    saving_note: String,
    caption: String,
}

fn minutes(m: &Option<i64>) -> String {
    m.map(|v| v.to_string()).unwrap_or_else(|| "–".into())
}

impl StatisticsPage {
    fn median(&self, m: &Option<i64>) -> String {
        minutes(m)
    }
}

/// `GET /staff/statistikk`.
pub async fn statistics_page(
    State(state): State<AppState>,
    lang: Lang,
    s: StaffSession,
    Query(p): Query<PeriodParams>,
) -> Result<Response, AppError> {
    if staff_may_open(&s.staff, StaffArea::Statistics).is_err() {
        return super::staff::forbidden(&state, lang, &s);
    }
    let layout = Layout::new(&state, lang, "/staff/statistikk", "stats-title").with_user(
        s.staff.name.clone(),
        &s.session.csrf_token,
        true,
    );
    let saving_note = layout.tr.t1(
        "stats-saving-note",
        "nok",
        &state.config.saving_per_letter_nok.to_string(),
    );
    let mut page = StatisticsPage {
        from: p.from.clone(),
        to: p.to.clone(),
        error: None,
        stats: None,
        query: String::new(),
        saving_note,
        caption: String::new(),
        layout,
    };
    let computed = match period(&state, &p) {
        Some((from, to)) => compute(&state, from, to).await,
        None => Err(StatisticsError::BadPeriod),
    };
    match computed {
        Ok(stats) => {
            page.from = stats.from.to_string();
            page.to = stats.to.to_string();
            page.query = format!("from={}&to={}", stats.from, stats.to);
            page.caption = page.layout.tr.tn(
                "stats-caption",
                &[("from", page.from.as_str()), ("to", page.to.as_str())],
            );
            page.stats = Some(stats);
            render(&page)
        }
        Err(StatisticsError::BadPeriod) => {
            page.error = Some(page.layout.tr.t("stats-bad-period").into_owned());
            render_status(StatusCode::BAD_REQUEST, &page)
        }
        Err(StatisticsError::Store(e)) => Err(AppError::Store(e)),
    }
}

fn bad_period(lang: Lang, state: &AppState) -> Response {
    let tr = Tr::new(state.i18n.clone(), lang);
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        tr.t("stats-bad-period").into_owned(),
    )
        .into_response()
}

async fn export(
    state: &AppState,
    lang: Lang,
    p: &PeriodParams,
    as_svg: bool,
    filename: &str,
) -> Result<Response, AppError> {
    let Some((from, to)) = period(state, p) else {
        return Ok(bad_period(lang, state));
    };
    let stats = match compute(state, from, to).await {
        Ok(s) => s,
        Err(StatisticsError::BadPeriod) => return Ok(bad_period(lang, state)),
        Err(StatisticsError::Store(e)) => return Err(AppError::Store(e)),
    };
    let (body, content_type) = if as_svg {
        (
            chart(&stats, &Tr::new(state.i18n.clone(), lang)),
            "image/svg+xml",
        )
    } else {
        (to_csv(&stats), "text/csv; charset=utf-8")
    };
    let disposition = format!(
        "inline; filename=\"{filename}-{from}-{to}.{}\"",
        if as_svg { "svg" } else { "csv" }
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

async fn staff_export(
    state: &AppState,
    lang: Lang,
    s: &StaffSession,
    p: &PeriodParams,
    as_svg: bool,
) -> Result<Response, AppError> {
    if staff_may_open(&s.staff, StaffArea::Statistics).is_err() {
        return super::staff::forbidden(state, lang, s);
    }
    export(state, lang, p, as_svg, "brevstatistikk").await
}

/// `GET /staff/statistikk.csv`.
pub async fn statistics_csv(
    State(state): State<AppState>,
    lang: Lang,
    s: StaffSession,
    Query(p): Query<PeriodParams>,
) -> Result<Response, AppError> {
    staff_export(&state, lang, &s, &p, false).await
}

/// `GET /staff/statistikk.svg`.
pub async fn statistics_svg(
    State(state): State<AppState>,
    lang: Lang,
    s: StaffSession,
    Query(p): Query<PeriodParams>,
) -> Result<Response, AppError> {
    staff_export(&state, lang, &s, &p, true).await
}

#[derive(Template)]
#[template(path = "open_data.html")]
struct OpenDataPage {
    layout: Layout,
}

/// `GET /apne-data`: the open datasets.
pub async fn open_data_page(
    State(state): State<AppState>,
    lang: Lang,
) -> Result<Response, AppError> {
    render(&OpenDataPage {
        layout: Layout::new(&state, lang, "/apne-data", "open-data-title"),
    })
}

/// `GET /apne-data/brevstatistikk.csv`: the letter statistics as open data (no login).
pub async fn open_data_csv(
    State(state): State<AppState>,
    lang: Lang,
    Query(p): Query<PeriodParams>,
) -> Result<Response, AppError> {
    export(&state, lang, &p, false, "brevstatistikk").await
}
