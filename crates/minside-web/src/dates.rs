//! Dates as pages show them, in the portal's time zone.

use jiff::Timestamp;

/// Dates in the portal's time zone (`letters.timezone`), as Norwegians write them, e.g.
/// `22.11.2026`, with integer arithmetic. The zone's offsets from 1900 to 2200 are a table made
/// once at startup and searched by halves: an inbox page shows some forty dates, and asking the
/// zone for each was a twentieth of the inbox's instructions (after the last transition a zone
/// file lists, jiff works the zone's rule out for the date's year each time; bench/, issue 4).
/// Outside those years the zone itself is asked.
#[derive(Debug, Clone)]
pub struct ZoneDates {
    tz: jiff::tz::TimeZone,
    /// The span the table covers, `[from, until)`.
    from: Timestamp,
    until: Timestamp,
    /// When each offset in `offsets` begins (the zone's transitions, in order).
    starts: Vec<Timestamp>,
    offsets: Vec<jiff::tz::Offset>,
    /// The offset at `from`, before the first transition in the table.
    first: jiff::tz::Offset,
}

/// The years the table covers: `[1900-01-01, 2200-01-01)` UTC.
const TABLE_FROM: i64 = -2_208_988_800;
const TABLE_UNTIL: i64 = 7_258_118_400;

impl ZoneDates {
    pub fn new(tz: jiff::tz::TimeZone) -> Self {
        let from = Timestamp::from_second(TABLE_FROM).unwrap_or(Timestamp::MIN);
        let until = Timestamp::from_second(TABLE_UNTIL).unwrap_or(Timestamp::MAX);
        let (mut starts, mut offsets) = (Vec::new(), Vec::new());
        for tr in tz.following(from) {
            if tr.timestamp() >= until {
                break;
            }
            starts.push(tr.timestamp());
            offsets.push(tr.offset());
        }
        let first = tz.to_offset(from);
        Self {
            tz,
            from,
            until,
            starts,
            offsets,
            first,
        }
    }

    fn offset(&self, t: Timestamp) -> jiff::tz::Offset {
        if t < self.from || t >= self.until {
            return self.tz.to_offset(t);
        }
        match self.starts.partition_point(|start| *start <= t) {
            0 => self.first,
            i => self.offsets.get(i - 1).copied().unwrap_or(self.first),
        }
    }

    /// `dd.mm.yyyy`.
    pub fn date(&self, t: Timestamp) -> String {
        let mut out = String::with_capacity(10);
        push_date(&mut out, self.offset(t).to_datetime(t).date());
        out
    }

    /// `dd.mm.yyyy hh:mm`.
    pub fn date_time(&self, t: Timestamp) -> String {
        let at = self.offset(t).to_datetime(t);
        let mut out = String::with_capacity(16);
        push_date(&mut out, at.date());
        out.push(' ');
        push_two(&mut out, at.hour());
        out.push(':');
        push_two(&mut out, at.minute());
        out
    }
}

fn push_date(out: &mut String, d: jiff::civil::Date) {
    push_two(out, d.day());
    out.push('.');
    push_two(out, d.month());
    out.push('.');
    let year = d.year();
    push_two(out, (year / 100) as i8);
    push_two(out, (year % 100) as i8);
}

/// Two decimal digits of `n` (0–99).
fn push_two(out: &mut String, n: i8) {
    let n = n.unsigned_abs();
    out.push(char::from(b'0' + n / 10 % 10));
    out.push(char::from(b'0' + n % 10));
}

#[cfg(test)]
mod tests {
    use super::ZoneDates;
    use jiff::tz::TimeZone;

    /// Dates are the portal's time zone's: in Oslo an hour ahead of UTC in winter and two in
    /// summer, so late evening UTC is already the next day; and any configured zone is followed.
    #[test]
    fn dates_are_written_in_the_portals_time_zone() {
        let oslo = ZoneDates::new(TimeZone::get("Europe/Oslo").unwrap());
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(oslo.date(at("2026-12-31T23:00:00Z")), "01.01.2027");
        assert_eq!(oslo.date(at("2026-12-31T22:59:59Z")), "31.12.2026");
        assert_eq!(oslo.date(at("2026-06-30T21:59:00Z")), "30.06.2026");
        assert_eq!(oslo.date(at("2026-06-30T22:00:00Z")), "01.07.2026");
        for (t, shown) in [
            ("2026-03-05T07:04:00Z", "05.03.2026 08:04"),
            ("2026-07-05T07:04:00Z", "05.07.2026 09:04"),
            // The hour the clocks go forward (01:00 UTC on the last Sunday of March).
            ("2026-03-29T00:59:00Z", "29.03.2026 01:59"),
            ("2026-03-29T01:00:00Z", "29.03.2026 03:00"),
        ] {
            assert_eq!(oslo.date_time(at(t)), shown, "{t}");
        }
        let utc = ZoneDates::new(TimeZone::UTC);
        assert_eq!(utc.date(at("2026-12-31T22:30:00Z")), "31.12.2026");
        assert_eq!(utc.date(at("0999-01-02T00:00:00Z")), "02.01.0999");
    }

    /// The table of a zone's offsets gives the offset the zone itself gives: at each of its
    /// transitions, a second before and after, every 5 h 7 min over the years a portal shows,
    /// at the table's edges and outside it.
    #[test]
    fn the_zone_table_gives_the_zones_own_offsets() {
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let second = jiff::SignedDuration::from_secs(1);
        for zone in [
            "Europe/Oslo",
            "America/Sao_Paulo",
            "Australia/Lord_Howe",
            "UTC",
        ] {
            let tz = TimeZone::get(zone).unwrap();
            let table = ZoneDates::new(tz.clone());
            let mut times = vec![
                at("0999-01-02T00:00:00Z"),
                at("1899-12-31T23:59:59Z"),
                at("1900-01-01T00:00:00Z"),
                at("2199-12-31T23:59:59Z"),
                at("2200-01-01T00:00:00Z"),
                at("2400-06-01T12:00:00Z"),
            ];
            for tr in tz.following(at("1900-01-01T00:00:00Z")) {
                let x = tr.timestamp();
                if x > at("2100-01-01T00:00:00Z") {
                    break;
                }
                times.extend([x - second, x, x + second]);
            }
            let mut t = at("1990-01-01T00:00:00Z");
            while t < at("2040-01-01T00:00:00Z") {
                times.push(t);
                t += jiff::SignedDuration::from_mins(307);
            }
            for t in times {
                assert_eq!(table.offset(t), tz.to_offset(t), "{zone} {t}");
                let zoned = t.to_zoned(tz.clone());
                assert_eq!(
                    table.date_time(t),
                    zoned.strftime("%d.%m.%Y %H:%M").to_string(),
                    "{zone} {t}"
                );
            }
        }
    }
}
