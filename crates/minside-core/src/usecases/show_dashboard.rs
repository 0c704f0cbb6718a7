//! The logged-in resident's front page ("Min side").

use crate::auth::Citizen;
use crate::letters::{InboxCounts, InboxFilter, InboxItem, InboxQuery};
use crate::person::{Dashboard, DashboardData};
use crate::ports::{Store, StoreError};
use crate::session::{Principal, Session, SessionKey, SessionPolicy};
use crate::usecases::resume_session::resume_session;
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

/// The front page of a logged-in resident, with the session it was shown in.
#[derive(Debug)]
pub struct ResidentDashboard {
    pub session: Session,
    pub citizen: Citizen,
    pub view: DashboardView,
}

/// Loads the dashboard for the session with this key (their own data: no access-log entry).
///
/// The front page is the page residents open most, so the session and the dashboard's data are
/// read together ([`Store::session_dashboard`]); the rules are applied here, before anything is
/// shown: none when there is no such session, when it has expired (it is ended) or when it is an
/// employee's.
pub async fn show_dashboard(
    store: &dyn Store,
    policy: &SessionPolicy,
    key: &SessionKey,
    now: Timestamp,
) -> Result<Option<ResidentDashboard>, StoreError> {
    let Some((session, data)) = store.session_dashboard(key).await? else {
        return Ok(None);
    };
    let Some(session) = resume_session(store, policy, session, now).await? else {
        return Ok(None);
    };
    let Principal::Citizen { fnr, loa, .. } = &session.principal else {
        return Ok(None);
    };
    let citizen = Citizen {
        fnr: fnr.clone(),
        loa: *loa,
    };
    let DashboardData { register, counts } = data;
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
    Ok(Some(ResidentDashboard {
        session,
        citizen,
        view: DashboardView {
            register,
            counts,
            to_answer,
        },
    }))
}
