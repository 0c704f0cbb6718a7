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

/// Reading columns by name from a row of either driver: the row mappings are written once and
/// serve both the sqlx queries and the direct SQLite reads of the hot pages (`fast.rs`).
pub(crate) trait Cols {
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;

    fn time(&self, column: &str) -> Result<Timestamp, StoreError> {
        from_ts(self.int(column)?)
    }
    fn opt_time(&self, column: &str) -> Result<Option<Timestamp>, StoreError> {
        self.opt_int(column)?.map(from_ts).transpose()
    }
}

impl Cols for sqlx::any::AnyRow {
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        sqlx::Row::try_get(self, column).map_err(crate::db)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        sqlx::Row::try_get(self, column).map_err(crate::db)
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        sqlx::Row::try_get(self, column).map_err(crate::db)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        sqlx::Row::try_get(self, column).map_err(crate::db)
    }
}
