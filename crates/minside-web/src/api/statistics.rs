//! `GET /api/v1/statistics/letters`: the letter statistics for a period (aggregates only).

use super::auth::ApiClient;
use super::problem::{FieldProblem, Problem};
use crate::pages::statistics::{compute, period, PeriodParams};
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use minside_core::auth::{system_may, Scope};
use minside_core::statistics::StatisticsError;
use serde_json::{json, Value};

pub async fn letter_statistics(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Query(p): Query<PeriodParams>,
) -> Result<Json<Value>, Problem> {
    system_may(&client, Scope::StatisticsRead).map_err(|s| Problem::insufficient_scope(s.0))?;
    let invalid = || {
        Problem::invalid(vec![FieldProblem {
            field: "from".into(),
            message: "from and to are months (YYYY-MM), from <= to, at most 36 months apart".into(),
        }])
    };
    let (from, to) = period(&state, &p).ok_or_else(invalid)?;
    let s = match compute(&state, from, to).await {
        Ok(s) => s,
        Err(StatisticsError::BadPeriod) => return Err(invalid()),
        Err(StatisticsError::Store(e)) => return Err(super::problem::logged_internal(&e)),
    };
    let rows: Vec<Value> = s
        .rows
        .iter()
        .map(|r| {
            json!({"month": r.month.to_string(), "sender_unit": r.sender_unit, "sent": r.sent,
                   "read_digitally": r.read_digitally, "printed": r.printed, "answered": r.answered,
                   "median_minutes_to_read": r.median_minutes_to_read, "money_saved_nok": r.money_saved_nok})
        })
        .collect();
    let t = &s.totals;
    Ok(Json(json!({
        "from": s.from.to_string(),
        "to": s.to.to_string(),
        "saving_per_letter_nok": s.saving_per_letter_nok,
        "rows": rows,
        "totals": {"sent": t.sent, "read_digitally": t.read_digitally, "printed": t.printed,
                   "answered": t.answered, "median_minutes_to_read": t.median_minutes_to_read,
                   "money_saved_nok": t.money_saved_nok},
    })))
}
