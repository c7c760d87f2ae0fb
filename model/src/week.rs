//! ISO weeks in UTC and the day numbers the Parquet `Date` type stores.
//!
//! A week is labelled `2026-W47` and starts on its Monday; dates travel as days since
//! 1970-01-01, the physical value of polars' and ClickHouse's `Date`.

use chrono::{Datelike, NaiveDate, Weekday};

/// Parses an ISO week label (`2026-W47`) into the date of its Monday.
pub fn parse_iso_week(s: &str) -> Result<NaiveDate, String> {
    let bad = || format!("invalid week {s:?}: write an ISO week like \"2026-W47\"");
    let (y, w) = s.split_once("-W").ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let week: u32 = w.parse().map_err(|_| bad())?;
    // Observations start in 1970 (and ClickHouse's Date cannot go below it).
    if !(1970..=9999).contains(&year) || y.len() != 4 {
        return Err(format!(
            "invalid week {s:?}: the year must have four digits, 1970 to 9999 (e.g. \"2026-W47\")"
        ));
    }
    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)
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
            assert!(e.contains("four digits, 1970 to 9999"), "{bad}: {e}");
        }
        assert_eq!(
            iso_week_label(NaiveDate::from_ymd_opt(1, 1, 8).unwrap()),
            "0001-W02"
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
