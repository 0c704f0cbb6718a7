//! A request's session, as read from the store: ended when it has expired, and its
//! `last_seen_at` refreshed at most once a minute (so reads do not turn into writes).

use crate::ports::{Store, StoreError};
use crate::session::{Session, SessionPolicy};
use jiff::Timestamp;

/// The live session, or none (an expired one is ended on the way).
pub async fn resume_session(
    store: &dyn Store,
    policy: &SessionPolicy,
    session: Session,
    now: Timestamp,
) -> Result<Option<Session>, StoreError> {
    if policy.is_expired(&session, now) {
        store.end_session(&session.key).await?;
        return Ok(None);
    }
    if policy.needs_touch(&session, now) {
        store.touch_session(&session.key, now).await?;
    }
    Ok(Some(session))
}
