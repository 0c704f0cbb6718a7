//! Letter statistics per month and sender unit: sent, read digitally, printed, answered, median
//! time to read, and the money saved by letters read digitally instead of printed. Aggregates
//! only: no person appears in them, so the same numbers are an open dataset.

use crate::ports::{Store, StoreError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A calendar month (`YYYY-MM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

impl Month {
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        Date::new(year, month, 1).ok()?;
        Some(Self { year, month })
    }

    pub fn of(t: Timestamp, tz: &TimeZone) -> Self {
        let d = t.to_zoned(tz.clone()).date();
        Self {
            year: d.year(),
            month: d.month(),
        }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month's first instant in `tz`.
    pub fn start(self, tz: &TimeZone) -> Option<Timestamp> {
        Date::new(self.year, self.month, 1)
            .ok()?
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Counts for one sender unit in one period, as the store aggregates them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitCounts {
    pub sender_unit: String,
    pub sent: i64,
    /// Opened in the portal and never sent to print: a paper letter saved.
    pub read_digitally: i64,
    pub printed: i64,
    pub answered: i64,
    /// Seconds from arrival to first opening, of every letter read (any order).
    pub seconds_to_read: Vec<i64>,
}

/// One line of the statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    pub month: Month,
    pub sender_unit: String,
    pub sent: i64,
    pub read_digitally: i64,
    pub printed: i64,
    pub answered: i64,
    /// Median time from arrival to first opening, in minutes (none read: `None`).
    pub median_minutes_to_read: Option<i64>,
    pub money_saved_nok: i64,
}

/// Totals over rows (the median is over every letter read in the period).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatsTotals {
    pub sent: i64,
    pub read_digitally: i64,
    pub printed: i64,
    pub answered: i64,
    pub median_minutes_to_read: Option<i64>,
    pub money_saved_nok: i64,
}

/// The statistics for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterStatistics {
    pub from: Month,
    pub to: Month,
    pub saving_per_letter_nok: i64,
    pub rows: Vec<StatsRow>,
    pub totals: StatsTotals,
}

/// The median of `values` in minutes (the lower middle for an even count), rounded down.
pub fn median_minutes(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2] / 60)
}

/// Why statistics cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum StatisticsError {
    #[error("the period must run forwards and span at most 36 months")]
    BadPeriod,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Statistics for the months `from..=to` in the municipality's time zone.
pub async fn letter_statistics(
    store: &dyn Store,
    tz: &TimeZone,
    from: Month,
    to: Month,
    saving_per_letter_nok: i64,
) -> Result<LetterStatistics, StatisticsError> {
    if from > to {
        return Err(StatisticsError::BadPeriod);
    }
    let mut months = vec![from];
    while let Some(&last) = months.last() {
        if last >= to {
            break;
        }
        if months.len() >= 36 {
            return Err(StatisticsError::BadPeriod);
        }
        months.push(last.next());
    }
    let mut rows = Vec::new();
    let mut all_seconds = Vec::new();
    let mut totals = StatsTotals::default();
    for m in months {
        let (Some(start), Some(end)) = (m.start(tz), m.next().start(tz)) else {
            return Err(StatisticsError::BadPeriod);
        };
        for mut u in store.letter_counts(start, end).await? {
            totals.sent += u.sent;
            totals.read_digitally += u.read_digitally;
            totals.printed += u.printed;
            totals.answered += u.answered;
            all_seconds.extend_from_slice(&u.seconds_to_read);
            rows.push(StatsRow {
                month: m,
                median_minutes_to_read: median_minutes(&mut u.seconds_to_read),
                money_saved_nok: u.read_digitally * saving_per_letter_nok,
                sender_unit: u.sender_unit,
                sent: u.sent,
                read_digitally: u.read_digitally,
                printed: u.printed,
                answered: u.answered,
            });
        }
    }
    totals.median_minutes_to_read = median_minutes(&mut all_seconds);
    totals.money_saved_nok = totals.read_digitally * saving_per_letter_nok;
    Ok(LetterStatistics {
        from,
        to,
        saving_per_letter_nok,
        rows,
        totals,
    })
}

/// The statistics as CSV (RFC 4180, comma-separated, a header line, UTF-8).
pub fn to_csv(stats: &LetterStatistics) -> String {
    let mut out = String::from(
        "month,sender_unit,sent,read_digitally,printed,answered,median_minutes_to_read,money_saved_nok\r\n",
    );
    for r in &stats.rows {
        let unit = if r.sender_unit.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", r.sender_unit.replace('"', "\"\""))
        } else {
            r.sender_unit.clone()
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            r.month,
            unit,
            r.sent,
            r.read_digitally,
            r.printed,
            r.answered,
            r.median_minutes_to_read
                .map(|m| m.to_string())
                .unwrap_or_default(),
            r.money_saved_nok
        ));
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart per month: letters sent, read digitally and printed (SVG, with a title and a
/// description for screen readers; the page's table has the same numbers).
pub fn to_svg(stats: &LetterStatistics, title: &str, labels: [&str; 3]) -> String {
    let mut per_month: Vec<(Month, [i64; 3])> = Vec::new();
    for r in &stats.rows {
        match per_month.last_mut() {
            Some((m, v)) if *m == r.month => {
                v[0] += r.sent;
                v[1] += r.read_digitally;
                v[2] += r.printed;
            }
            _ => per_month.push((r.month, [r.sent, r.read_digitally, r.printed])),
        }
    }
    let max = per_month
        .iter()
        .map(|(_, v)| v[0].max(v[1]).max(v[2]))
        .max()
        .unwrap_or(0)
        .max(1);
    let (left, top, height, group) = (60.0, 40.0, 200.0, 72.0);
    let width = left + group * per_month.len().max(1) as f64 + 20.0;
    let colors = ["#1e5aa8", "#0b7a3b", "#a34700"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {h}\" width=\"{width}\" height=\"{h}\" role=\"img\" aria-labelledby=\"t d\">\
<title id=\"t\">{t}</title><desc id=\"d\">{d}</desc>\
<style>text{{font-family:sans-serif;font-size:12px;fill:#1a1a1a}}</style>",
        h = top + height + 60.0,
        t = xml(title),
        d = xml(&per_month.iter().map(|(m, v)| format!("{m}: {} {}, {} {}, {} {}", v[0], labels[0], v[1], labels[1], v[2], labels[2])).collect::<Vec<_>>().join("; ")),
    );
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#1a1a1a\"/><text x=\"4\" y=\"{ty}\">{max}</text><text x=\"4\" y=\"{y}\">0</text>",
        y = top + height,
        x2 = width - 10.0,
        ty = top + 4.0
    ));
    for (i, (m, v)) in per_month.iter().enumerate() {
        let x0 = left + group * i as f64 + 8.0;
        for (k, value) in v.iter().enumerate() {
            let h = height * (*value as f64) / (max as f64);
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"16\" height=\"{h:.1}\" fill=\"{c}\"><title>{m} {l}: {value}</title></rect>",
                x = x0 + 18.0 * k as f64,
                y = top + height - h,
                c = colors[k],
                l = xml(labels[k]),
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{x0}\" y=\"{y}\">{m}</text>",
            y = top + height + 16.0
        ));
    }
    for (k, l) in labels.iter().enumerate() {
        let x = left + 150.0 * k as f64;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{c}\"/><text x=\"{tx}\" y=\"{ty}\">{l}</text>",
            y = top + height + 32.0,
            c = colors[k],
            tx = x + 16.0,
            ty = top + height + 43.0,
            l = xml(l)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_roll_over_the_year() {
        let m = Month::parse("2026-12").unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().to_string(), "2027-01");
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let oslo = TimeZone::get("Europe/Oslo").unwrap();
        assert_eq!(
            Month::parse("2026-12")
                .unwrap()
                .start(&oslo)
                .unwrap()
                .to_string(),
            "2026-11-30T23:00:00Z"
        );
        assert_eq!(
            Month::of("2026-11-30T23:30:00Z".parse().unwrap(), &oslo).to_string(),
            "2026-12"
        );
    }

    #[test]
    fn the_median_is_the_middle_value_in_minutes() {
        assert_eq!(median_minutes(&mut []), None);
        assert_eq!(median_minutes(&mut [600]), Some(10));
        assert_eq!(median_minutes(&mut [7200, 60, 600]), Some(10));
        assert_eq!(median_minutes(&mut [60, 120, 180, 240]), Some(2));
    }

    fn stats() -> LetterStatistics {
        let m = Month::parse("2026-11").unwrap();
        LetterStatistics {
            from: m,
            to: m,
            saving_per_letter_nok: 22,
            rows: vec![StatsRow {
                month: m,
                sender_unit: "Oppvekst, barnehage".into(),
                sent: 10,
                read_digitally: 7,
                printed: 3,
                answered: 5,
                median_minutes_to_read: Some(42),
                money_saved_nok: 154,
            }],
            totals: StatsTotals::default(),
        }
    }

    #[test]
    fn csv_quotes_a_unit_with_a_comma() {
        assert_eq!(
            to_csv(&stats()),
            "month,sender_unit,sent,read_digitally,printed,answered,median_minutes_to_read,money_saved_nok\r\n\
             2026-11,\"Oppvekst, barnehage\",10,7,3,5,42,154\r\n"
        );
    }

    #[test]
    fn the_chart_has_a_title_a_text_description_and_a_bar_per_number() {
        let svg = to_svg(
            &stats(),
            "Brev <2026>",
            ["sendt", "lest digitalt", "skrevet ut"],
        );
        assert!(svg.contains("<title id=\"t\">Brev &lt;2026&gt;</title>"));
        assert!(svg.contains("2026-11: 10 sendt, 7 lest digitalt, 3 skrevet ut"));
        assert_eq!(
            svg.matches("<rect").count(),
            3 + 3,
            "three bars and three legend keys"
        );
    }
}
