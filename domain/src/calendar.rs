//! The production calendar (производственный календарь): which days are working days. A due date that falls
//! on a non-working day moves to the next working day (ГК РФ ст. 193), and penalty days count from the day
//! after it.
//!
//! The calendar is data, not code: `data/production-calendar-ru.txt` is compiled in for 2025–2027, and
//! [`ProductionCalendar::parse`] reads an updated copy. Outside the listed years only weekends are days off.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The calendar shipped with the code.
pub const RUSSIA_2025_2027: &str = include_str!("../data/production-calendar-ru.txt");

/// How a listed day differs from the plain Monday–Friday week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayKind {
    Holiday,
    Workday,
}

/// Working and non-working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionCalendar {
    exceptions: BTreeMap<NaiveDate, DayKind>,
}

/// A line of a calendar file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar line {line}: {reason}")]
pub struct CalendarError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl ProductionCalendar {
    /// The calendar shipped with the code.
    pub fn russia() -> Self {
        // The shipped file is checked by a unit test; a parse failure here is a build defect.
        Self::parse(RUSSIA_2025_2027).unwrap_or_else(|_| Self::weekends_only())
    }

    /// Only Saturdays and Sundays off.
    pub fn weekends_only() -> Self {
        Self {
            exceptions: BTreeMap::new(),
        }
    }

    /// Reads a calendar file: one `YYYY-MM-DD holiday|workday [why]` per line; `#` starts a comment.
    ///
    /// # Errors
    /// [`CalendarError`] naming the first bad line.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let mut exceptions = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |reason: &str| CalendarError {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let mut parts = line.split_whitespace();
            let date = parts
                .next()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| err("expected a date YYYY-MM-DD"))?;
            let kind = match parts.next() {
                Some("holiday") => DayKind::Holiday,
                Some("workday") => DayKind::Workday,
                _ => return Err(err("expected `holiday` or `workday` after the date")),
            };
            if exceptions.insert(date, kind).is_some() {
                return Err(err("the date is listed twice"));
            }
        }
        Ok(Self { exceptions })
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.exceptions.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// `date` itself when it is a working day, else the next working day (ГК РФ ст. 193).
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        // The longest run of days off is the New Year holidays (about 12 days); 60 is a safe bound.
        for _ in 0..60 {
            if self.is_working_day(d) {
                return d;
            }
            d = d + Days::new(1);
        }
        date
    }

    /// The working day `days` working days after `from` (a request's due date).
    pub fn working_days_after(&self, from: NaiveDate, days: u32) -> NaiveDate {
        let mut d = from;
        let mut left = days;
        while left > 0 {
            d = d.succ_opt().unwrap_or(d);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }
}

impl Default for ProductionCalendar {
    fn default() -> Self {
        Self::russia()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::d;

    #[test]
    fn the_shipped_calendar_parses() {
        let c = ProductionCalendar::parse(RUSSIA_2025_2027).unwrap();
        assert!(c.exceptions.len() > 40);
    }

    #[test]
    fn working_days_follow_weekends_holidays_and_transfers() {
        let c = ProductionCalendar::russia();
        let cases = [
            ("2026-03-10", true),  // Tuesday
            ("2026-03-07", false), // Saturday
            ("2026-03-09", false), // Monday, 8 March moved here
            ("2026-01-09", false), // moved from 3 January
            ("2026-01-12", true),
            ("2025-11-01", true), // a worked Saturday
            ("2025-12-31", false),
            ("2028-03-08", true), // outside the listed years: weekdays work
        ];
        for (date, working) in cases {
            assert_eq!(c.is_working_day(d(date)), working, "{date}");
        }
    }

    #[test]
    fn a_due_date_on_a_non_working_day_moves_to_the_next_working_day() {
        let c = ProductionCalendar::russia();
        assert_eq!(c.working_day_on_or_after(d("2026-03-07")), d("2026-03-10")); // Sat → Sun → Mon 9 off
        assert_eq!(c.working_day_on_or_after(d("2026-01-01")), d("2026-01-12"));
        assert_eq!(c.working_day_on_or_after(d("2026-06-12")), d("2026-06-15"));
        assert_eq!(c.working_day_on_or_after(d("2026-03-10")), d("2026-03-10"));
    }

    #[test]
    fn a_bad_calendar_line_is_reported_by_number() {
        let e = ProductionCalendar::parse("# header\n2026-01-01 holiday\n2026-13-01 holiday\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        let e = ProductionCalendar::parse("2026-01-01 vacation").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
