//! Conversions between domain values and the column types both engines share.

use jiff::civil::Date;
use jiff::Timestamp;
use minside_core::ports::StoreError;

/// Times are stored as UTC microseconds since the epoch.
pub(crate) fn ts(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn from_ts(micros: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn opt_ts(t: Option<Timestamp>) -> Option<i64> {
    t.map(ts)
}

pub(crate) fn date(s: &str) -> Result<Date, StoreError> {
    s.parse()
        .map_err(|e: jiff::Error| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

/// An optional time column.
pub(crate) fn opt_time(
    r: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<Timestamp>, StoreError> {
    use sqlx::Row;
    r.try_get::<Option<i64>, _>(column)
        .map_err(crate::db)?
        .map(from_ts)
        .transpose()
}
