//! ISO weeks in UTC and the day numbers the Parquet `Date` type stores.
//!
//! A week is labelled `2026-W47` and starts on its Monday; dates travel as days since
//! 1970-01-01, the physical value of polars' and ClickHouse's `Date`.

use chrono::{Datelike, NaiveDate, Weekday};

/// Days from the Monday that starts week 0 (1969-12-29) to 1970-01-01: week numbers
/// are `(days + 3) div 7`, so that every week starts on a Monday. The transform's polars
/// expressions, its loops and the ClickHouse SQL all use this one offset.
pub const WEEK_OFFSET_DAYS: i64 = 3;

/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;

/// The week number of a day (days since 1970-01-01).
#[inline]
pub fn week_of_days(days: i64) -> i64 {
    (days + WEEK_OFFSET_DAYS).div_euclid(7)
}

/// The week number of an instant (seconds since the epoch, UTC).
#[inline]
pub fn week_of_secs(t: i64) -> i64 {
    week_of_days(t.div_euclid(DAY_SECS))
}

/// The Monday of week `w`, in days since 1970-01-01.
pub fn week_monday_days(w: i64) -> i64 {
    w * 7 - WEEK_OFFSET_DAYS
}

/// The first second of week `w` (its Monday 00:00 UTC).
pub fn week_start_secs(w: i64) -> i64 {
    week_monday_days(w) * DAY_SECS
}

/// Parses an ISO week label (`2026-W47`) into the date of its Monday.
pub fn parse_iso_week(s: &str) -> Result<NaiveDate, WeekError> {
    let bad = || WeekError::Shape(s.to_string());
    let (y, w) = s.split_once("-W").ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let week: u32 = w.parse().map_err(|_| bad())?;
    // Observations start in 1970 (and ClickHouse's Date cannot go below it).
    if !(1970..=9999).contains(&year) || y.len() != 4 {
        return Err(WeekError::Year(s.to_string()));
    }
    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)
}

/// A text that is not an ISO week tagpulse can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeekError {
    /// Not `YYYY-Www`, or a week the year does not have.
    #[error("invalid week {0:?}: write an ISO week like \"2026-W47\"")]
    Shape(String),
    /// A year outside 1970..=9999 or not written with four digits.
    #[error(
        "invalid week {0:?}: the year must have four digits, 1970 to 9999 (e.g. \"2026-W47\")"
    )]
    Year(String),
}

/// The ISO week label (`2026-W47`) of a date.
pub fn iso_week_label(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// A date from days since 1970-01-01.
pub fn date_from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days + 719_163)
}

/// Days since 1970-01-01 of a date.
pub fn days_from_date(d: NaiveDate) -> i32 {
    d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks() {
        let d = parse_iso_week("2026-W47").unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2026, 11, 16).unwrap());
        assert_eq!(iso_week_label(d), "2026-W47");
        assert_eq!(
            iso_week_label(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            "2026-W53"
        );
        assert!(parse_iso_week("2026-W60").is_err());
        for bad in ["0000-W01", "1969-W10", "10000-W01", "26-W01"] {
            let e = parse_iso_week(bad).unwrap_err();
            assert_eq!(e, WeekError::Year(bad.to_string()));
            assert!(
                e.to_string().contains("four digits, 1970 to 9999"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            iso_week_label(NaiveDate::from_ymd_opt(1, 1, 8).unwrap()),
            "0001-W02"
        );
    }

    #[test]
    fn week_numbers_start_on_mondays_and_invert() {
        for w in [-1, 0, 1, 2_967, 2_968] {
            let monday = date_from_days(week_monday_days(w) as i32).unwrap();
            assert_eq!(monday.weekday(), Weekday::Mon, "week {w}");
            assert_eq!(week_of_days(week_monday_days(w)), w);
            assert_eq!(week_of_days(week_monday_days(w) + 6), w, "its Sunday");
            assert_eq!(week_of_secs(week_start_secs(w)), w);
            assert_eq!(week_of_secs(week_start_secs(w) - 1), w - 1);
        }
        // 2026-11-16 (a Monday) is day 20,773.
        let d = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        assert_eq!(
            week_monday_days(week_of_days(days_from_date(d) as i64)),
            20_773
        );
    }

    #[test]
    fn day_numbers_round_trip() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(days_from_date(d), 20_777);
        assert_eq!(date_from_days(20_777), Some(d));
        assert_eq!(
            days_from_date(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()),
            0
        );
    }
}
