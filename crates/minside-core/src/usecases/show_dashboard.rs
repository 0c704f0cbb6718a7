//! The logged-in resident's front page ("Min side").

use crate::auth::Citizen;
use crate::letters::{InboxCounts, InboxFilter, InboxItem, InboxQuery};
use crate::person::{Dashboard, DashboardData};
use crate::ports::{Store, StoreError};
use jiff::Timestamp;

/// How many letters awaiting an answer the dashboard offers one-click answers for.
pub const TO_ANSWER_SHOWN: i64 = 3;

/// What the dashboard shows.
#[derive(Debug)]
pub struct DashboardView {
    /// Register data; none for a person who logged in but is not in this municipality's register
    /// (they still get a page, and their letters).
    pub register: Option<Dashboard>,
    /// Letter counts from the resident's summary row (no counting per request).
    pub counts: InboxCounts,
    /// Up to [`TO_ANSWER_SHOWN`] letters still awaiting an answer before their deadline, newest
    /// first; only looked up when the summary says a deadline is still ahead.
    pub to_answer: Vec<InboxItem>,
}

/// Loads the dashboard of the logged-in citizen (their own data: no access-log entry).
pub async fn show_dashboard(
    store: &dyn Store,
    citizen: &Citizen,
    now: Timestamp,
) -> Result<DashboardView, StoreError> {
    let DashboardData { register, counts } = store.dashboard(&citizen.fnr).await?;
    let to_answer = if counts.to_answer > 0 && counts.answer_by.is_some_and(|by| by > now) {
        let query = InboxQuery {
            filter: InboxFilter::NeedsAnswer,
            search: None,
            after: None,
            limit: TO_ANSWER_SHOWN,
            now,
        };
        store.inbox(&citizen.fnr, &query).await?.items
    } else {
        Vec::new()
    };
    Ok(DashboardView {
        register,
        counts,
        to_answer,
    })
}
