//! The weekly tables and the series summary as plain rows, pulled out of their frames
//! once for every reader downstream of the store (the report, the alerts). The row
//! structs come from the tables' declarations ([`crate::tables`]); what is added here is
//! the one value no table stores: whether a week's change is within rounding.

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

pub use crate::frames::SeriesRow;
use crate::tables::TableRow;
pub use crate::tables::{BrandRow, OccupationRow, TagRow};

/// A frame that does not hold the rows it should: which table, which column, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(pub(crate) String);

/// The growth and breakout values of a tag or occupation row, for code that treats
/// both alike (the report's breakouts and CSV files).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// Week-over-week growth (`wow_growth`).
    pub wow_growth: Option<f64>,
    /// Growth of `total_end`.
    pub total_growth: Option<f64>,
    /// Four-week average of gained.
    pub avg4: Option<f64>,
    /// Gained against the mean of the four weeks before.
    pub momentum: Option<f64>,
    /// Robust z-score of gained.
    pub z: Option<f64>,
    /// The centre of `z`: median gained of the weeks before.
    pub z_median: Option<f64>,
    /// Whether the week breaks out.
    pub breakout: bool,
    /// The counter's rounding step in this week.
    pub resolution: Option<f64>,
    /// The change against the week before is within rounding.
    pub within_rounding: bool,
}

macro_rules! signals_of {
    ($($row:ty),*) => {$(
        impl $row {
            /// The row's growth and breakout values.
            pub fn signals(&self) -> Signals {
                Signals {
                    wow_growth: self.wow_growth,
                    total_growth: self.total_growth,
                    avg4: self.avg4,
                    momentum: self.momentum,
                    z: self.z,
                    z_median: self.z_median,
                    breakout: self.breakout,
                    resolution: self.resolution,
                    within_rounding: self.within_rounding,
                }
            }
        }
    )*};
}

signals_of!(TagRow, OccupationRow);

/// Sets each row's `within_rounding`: its change against the same series' week before
/// (found among `rows`) is no larger than its resolution ([`crate::signal::within_rounding`]).
fn mark_within_rounding<R>(
    rows: &mut [R],
    key: impl Fn(&R) -> [&str; 3],
    week: impl Fn(&R) -> NaiveDate,
    value: impl Fn(&R) -> (Option<f64>, Option<f64>),
    set: impl Fn(&mut R, bool),
) {
    let flags: Vec<bool> = {
        let by_week: HashMap<([&str; 3], NaiveDate), Option<f64>> = rows
            .iter()
            .map(|r| ((key(r), week(r)), value(r).0))
            .collect();
        rows.iter()
            .map(|r| {
                let (gained, resolution) = value(r);
                let before = by_week
                    .get(&(key(r), week(r) - chrono::Duration::weeks(1)))
                    .copied()
                    .flatten();
                crate::signal::within_rounding(gained, before, resolution)
            })
            .collect()
    };
    for (r, flag) in rows.iter_mut().zip(flags) {
        set(r, flag);
    }
}

/// Rows of `weekly_tag_metrics`, each marked within rounding or not.
pub fn tag_rows(df: &DataFrame) -> Result<Vec<TagRow>, RowError> {
    let mut rows = TagRow::from_frame(df)?;
    mark_within_rounding(
        &mut rows,
        |r| [&r.platform, &r.tag, &r.metric],
        |r| r.week_start,
        |r| (r.gained, r.resolution),
        |r, f| r.within_rounding = f,
    );
    Ok(rows)
}

/// Rows of `weekly_occupation_metrics`, each marked within rounding or not.
pub fn occupation_rows(df: &DataFrame) -> Result<Vec<OccupationRow>, RowError> {
    let mut rows = OccupationRow::from_frame(df)?;
    mark_within_rounding(
        &mut rows,
        |r| [&r.platform, &r.occupation, &r.metric],
        |r| r.week_start,
        |r| (r.gained, r.resolution),
        |r, f| r.within_rounding = f,
    );
    Ok(rows)
}

/// Rows of `weekly_brand_metrics` (none from a frame without rows, whatever its columns).
pub fn brand_rows(df: &DataFrame) -> Result<Vec<BrandRow>, RowError> {
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    BrandRow::from_frame(df)
}

/// Rows of the series summary.
pub fn series_rows(df: &DataFrame) -> Result<Vec<SeriesRow>, RowError> {
    SeriesRow::from_frame(df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::WEEKLY_TAG_METRICS;

    fn row(week: NaiveDate, gained: f64, resolution: f64) -> TagRow {
        TagRow {
            platform: "tiktok".into(),
            tag: "azubi".into(),
            metric: "views".into(),
            week_start: week,
            total_end: Some(1e9),
            gained: Some(gained),
            observations: 7,
            resolution: Some(resolution),
            ..Default::default()
        }
    }

    #[test]
    fn tag_rows_round_trip_and_mark_changes_within_rounding() {
        let w = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
        let week = chrono::Duration::weeks(1);
        let rows = [
            row(w, 2e6, 1e6),
            row(w + week, 3e6, 1e6),
            row(w + week * 2, 5e6, 1e6),
        ];
        let df = TagRow::to_frame(&rows).unwrap();
        assert_eq!(WEEKLY_TAG_METRICS.check(&df), Ok(()));
        let back = tag_rows(&df).unwrap();
        // One step of 1e6 is within rounding; two steps are a change; the first week has
        // no week before.
        let flags: Vec<bool> = back.iter().map(|r| r.within_rounding).collect();
        assert_eq!(flags, [false, true, false]);
        let unmarked: Vec<TagRow> = back
            .into_iter()
            .map(|r| TagRow {
                within_rounding: false,
                ..r
            })
            .collect();
        assert_eq!(unmarked, rows);
    }
}
