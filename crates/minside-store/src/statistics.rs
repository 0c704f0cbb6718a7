//! Aggregates for the letter statistics (no personal data leaves these queries).

use crate::codec::ts;
use crate::db;
use minside_core::ports::StoreError;
use minside_core::statistics::UnitCounts;
use sqlx::{AnyPool, Row};

pub(crate) async fn letter_counts(
    pool: &AnyPool,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
) -> Result<Vec<UnitCounts>, StoreError> {
    let mut units: Vec<UnitCounts> = sqlx::query(
        "select sender_unit, count(*) as sent, \
         sum(case when read_at is not null and print_queued_at is null then 1 else 0 end) as read_digitally, \
         sum(case when printed_at is not null then 1 else 0 end) as printed, \
         sum(case when answered_at is not null then 1 else 0 end) as answered \
         from letters where created_at >= $1 and created_at < $2 group by sender_unit order by sender_unit",
    )
    .bind(ts(from))
    .bind(ts(to))
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(UnitCounts {
            sender_unit: r.try_get("sender_unit").map_err(db)?,
            sent: r.try_get("sent").map_err(db)?,
            read_digitally: r.try_get("read_digitally").map_err(db)?,
            printed: r.try_get("printed").map_err(db)?,
            answered: r.try_get("answered").map_err(db)?,
            seconds_to_read: Vec::new(),
        })
    })
    .collect::<Result<_, StoreError>>()?;
    let delays = sqlx::query(
        "select sender_unit, read_at - created_at as micros from letters \
         where created_at >= $1 and created_at < $2 and read_at is not null",
    )
    .bind(ts(from))
    .bind(ts(to))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    for r in &delays {
        let unit: String = r.try_get("sender_unit").map_err(db)?;
        let micros: i64 = r.try_get("micros").map_err(db)?;
        if let Some(u) = units.iter_mut().find(|u| u.sender_unit == unit) {
            u.seconds_to_read.push(micros / 1_000_000);
        }
    }
    Ok(units)
}
