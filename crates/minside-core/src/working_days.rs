//! Working-day arithmetic in Norwegian local time: SvarUt's print fallback counts its 40 hours
//! only on working days (Monday–Friday, not public holidays).

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Easter Sunday (Gregorian calendar, anonymous algorithm).
pub fn easter_sunday(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// Norwegian public holidays (helligdager and 1 and 17 May) that fall on weekdays or not.
pub fn is_public_holiday(date: Date) -> bool {
    let fixed = matches!(
        (date.month(), date.day()),
        (1, 1) | (5, 1) | (5, 17) | (12, 25) | (12, 26)
    );
    let Some(easter) = easter_sunday(date.year()) else {
        return fixed;
    };
    let movable = [-3, -2, 0, 1, 39, 49, 50]
        .iter()
        .filter_map(|d| easter.checked_add(d.days()).ok())
        .any(|d| d == date);
    fixed || movable
}

/// Monday to Friday and not a public holiday.
pub fn is_working_day(date: Date) -> bool {
    use jiff::civil::Weekday::{Saturday, Sunday};
    !matches!(date.weekday(), Saturday | Sunday) && !is_public_holiday(date)
}

/// `start` plus `hours` hours, where only time on working days (in `tz`) counts.
pub fn add_working_hours(start: Timestamp, hours: i64, tz: &TimeZone) -> Timestamp {
    let mut left = jiff::SignedDuration::from_hours(hours);
    let mut at: DateTime = start.to_zoned(tz.clone()).datetime();
    // A bounded walk: at most one step per calendar day, and `hours` limits the days needed.
    for _ in 0..(hours / 24 + 400) {
        let day = at.date();
        let Ok(next_midnight) = day
            .tomorrow()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        else {
            break;
        };
        if is_working_day(day) {
            let rest_of_day = at.duration_until(next_midnight);
            if left <= rest_of_day {
                return at
                    .checked_add(left)
                    .ok()
                    .and_then(|dt| dt.to_zoned(tz.clone()).ok())
                    .map_or(start, |z| z.timestamp());
            }
            left -= rest_of_day;
        }
        at = next_midnight;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oslo() -> TimeZone {
        TimeZone::get("Europe/Oslo").unwrap()
    }

    fn local(s: &str) -> Timestamp {
        s.parse::<DateTime>()
            .unwrap()
            .to_zoned(oslo())
            .unwrap()
            .timestamp()
    }

    #[test]
    fn easter_is_computed_for_known_years() {
        assert_eq!(easter_sunday(2024).unwrap().to_string(), "2024-03-31");
        assert_eq!(easter_sunday(2025).unwrap().to_string(), "2025-04-20");
        assert_eq!(easter_sunday(2026).unwrap().to_string(), "2026-04-05");
    }

    #[test]
    fn the_norwegian_public_holidays_are_known() {
        for d in [
            "2025-01-01",
            "2025-04-17",
            "2025-04-18",
            "2025-04-21",
            "2025-05-01",
            "2025-05-17",
            "2025-05-29",
            "2025-06-09",
            "2025-12-25",
            "2025-12-26",
        ] {
            assert!(is_public_holiday(d.parse().unwrap()), "{d}");
        }
        for d in ["2025-04-16", "2025-04-22", "2025-12-24", "2025-05-02"] {
            assert!(!is_public_holiday(d.parse().unwrap()), "{d}");
        }
    }

    #[test]
    fn forty_hours_from_friday_afternoon_end_on_tuesday_morning() {
        let due = add_working_hours(local("2025-01-10T15:00"), 40, &oslo());
        assert_eq!(due, local("2025-01-14T07:00"));
    }

    #[test]
    fn easter_is_skipped_whole() {
        let due = add_working_hours(local("2025-04-16T10:00"), 40, &oslo());
        assert_eq!(due, local("2025-04-23T02:00"));
    }

    #[test]
    fn a_letter_sent_on_a_saturday_starts_counting_on_monday() {
        let due = add_working_hours(local("2025-01-11T12:00"), 40, &oslo());
        assert_eq!(due, local("2025-01-14T16:00"));
    }
}
