//! The logged-in resident's front page ("Min side").

use crate::auth::Citizen;
use crate::person::Dashboard;
use crate::ports::{Store, StoreError};

/// What the dashboard can show. A person who logged in but is not in this municipality's
/// register still gets a page, without register data.
#[derive(Debug)]
pub enum DashboardView {
    Resident(Box<Dashboard>),
    NotResident,
}

/// Loads the dashboard of the logged-in citizen (their own data: no access-log entry).
pub async fn show_dashboard(
    store: &dyn Store,
    citizen: &Citizen,
) -> Result<DashboardView, StoreError> {
    let Some(person) = store.person_by_fnr(&citizen.fnr).await? else {
        return Ok(DashboardView::NotResident);
    };
    Ok(match store.dashboard(person.id).await? {
        Some(d) => DashboardView::Resident(Box::new(d)),
        None => DashboardView::NotResident,
    })
}
