//! The metric jobs: observations in, weekly tables out, as `docs/metrics.md` defines them.
//!
//! The counter-snapshot rules (envelope, step-downs, Monday boundaries, resolution) run as
//! plain loops over each series' week summaries (`weeks`, `snapshots`), series in parallel
//! on rayon, because they walk a series in time order; the daily sums, the roll-ups and the
//! signals are `LazyFrame` steps that [`weekly_tables`] composes and collects at the edge.
//! No file or network I/O happens here, so each rule is tested on literal frames.
//!
//! Weeks are handled as integer week numbers (`week`, [`tagpulse_model::week`]): week `w`
//! starts on the Monday `7w - 3` days after 1970-01-01, so joins on `week ± k` are exact and
//! a week without a row simply has no partner (it counts as null, as the spec requires).

mod daily;
#[cfg(test)]
mod oracle_tests;
pub mod reference;
mod rollup;
mod series;
mod signals;
mod snapshots;
mod summary;
mod weeks;

use polars::prelude::*;
use tagpulse_config::{Brand, Occupation};
use tagpulse_model::tables::{WEEKLY_BRAND_METRICS, WEEKLY_OCCUPATION_METRICS, WEEKLY_TAG_METRICS};
use tagpulse_model::week::WEEK_OFFSET_DAYS;
#[cfg(test)]
pub(crate) use tagpulse_model::{date_from_days, days_from_date};
pub use tagpulse_model::{dedup_latest, WeeklyTables};

pub use daily::daily_weekly;
pub use rollup::{brands, occupation_tags, occupations};
pub use signals::signals;
pub use snapshots::snapshots_weekly;
pub use summary::series_summary;
pub use weeks::WEEK_COLUMNS;

/// Identity columns of one series.
pub const SERIES: [&str; 3] = ["platform", "tag", "metric"];

/// A polars job failed.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// Polars rejected the plan or the data.
    #[error("transform failed: {0}")]
    Polars(#[from] PolarsError),
    /// The output does not match the table definitions (a bug, caught before storing).
    #[error("transform output does not match the schema: {0}")]
    Schema(#[from] tagpulse_model::SchemaError),
}

/// Parameters of the metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Longest gap (seconds) between two snapshots that is interpolated across.
    pub max_gap_secs: i64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_gap_secs: 7 * 86_400,
        }
    }
}

/// [`tagpulse_model::week::week_of_days`] of a column of days since the epoch.
pub(crate) fn week_of_days(days: Expr) -> Expr {
    (days + lit(WEEK_OFFSET_DAYS)).floor_div(lit(7i64))
}

/// The `week_start` date column from the `week` number
/// ([`tagpulse_model::week::week_monday_days`]).
pub(crate) fn week_start_date(week: Expr) -> Expr {
    (week * lit(7i64) - lit(WEEK_OFFSET_DAYS))
        .cast(DataType::Int32)
        .cast(DataType::Date)
        .alias("week_start")
}

/// A typed null literal.
pub(crate) fn null_of(dtype: DataType) -> Expr {
    lit(NULL).cast(dtype)
}

/// Names as column expressions.
pub(crate) fn cols_of(names: &[&str]) -> Vec<Expr> {
    names.iter().map(|n| col(*n)).collect()
}

/// One row per series and week, from its first week to its last plus `extra_after`
/// weeks; `w_last` keeps the last observed week.
pub(crate) fn week_grid(lf: LazyFrame, keys: &[&str], extra_after: i64) -> LazyFrame {
    lf.group_by(cols_of(keys))
        .agg([
            col("week").min().alias("w_first"),
            col("week").max().alias("w_last"),
        ])
        .with_column(
            int_ranges(
                col("w_first"),
                col("w_last") + lit(1 + extra_after),
                lit(1i64),
                DataType::Int64,
            )
            .alias("week"),
        )
        .explode(
            by_name(["week"], true, false),
            ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            },
        )
}

/// Computes all weekly tables from stored observations; `snapshots` may hold the stored
/// rows as they are (identity is resolved in the per-series pass).
pub fn weekly_tables(
    snapshots: LazyFrame,
    daily: LazyFrame,
    params: &Params,
    taxonomy: &[Occupation],
    brand_cfg: &[Brand],
) -> Result<WeeklyTables, TransformError> {
    let g = series::grouped(&snapshots, params.max_gap_secs)?;
    tables_of(&g, daily, params, taxonomy, brand_cfg)
}

/// Counter snapshots as a store offers them.
pub enum Snapshots {
    /// Stored rows as they are, in slices (duplicates resolved by the transform).
    Stored(Box<dyn tagpulse_model::RowSlices>),
    /// Already summarised per series and week, where the data lives: `platform, tag,
    /// metric` and [`WEEK_COLUMNS`], duplicates resolved, gaps counted against the
    /// `max_gap` of [`Params`].
    Weeks(DataFrame),
}

/// [`weekly_tables`] and [`series_summary`] from one pass over the snapshots: what a run
/// that recomputes and then reports needs, without reading every snapshot twice.
pub fn weekly_tables_and_summary(
    snapshots: Snapshots,
    daily: LazyFrame,
    params: &Params,
    taxonomy: &[Occupation],
    brand_cfg: &[Brand],
) -> Result<(WeeklyTables, DataFrame), TransformError> {
    let g = series::Grouped::of(snapshots, params)?;
    let summary = summary::summary_of(&g, daily.clone(), params)?.collect()?;
    Ok((tables_of(&g, daily, params, taxonomy, brand_cfg)?, summary))
}

fn tables_of(
    snapshots: &series::Grouped,
    daily: LazyFrame,
    params: &Params,
    taxonomy: &[Occupation],
    brand_cfg: &[Brand],
) -> Result<WeeklyTables, TransformError> {
    let clock = std::time::Instant::now();
    let base = concat(
        [
            snapshots::weekly_of(snapshots, params)?,
            daily_weekly(daily)?,
        ],
        UnionArgs::default(),
    )?;
    let tags = signals(base, &SERIES)?
        .sort(["platform", "metric", "tag", "week"], Default::default())
        .collect()?;
    tracing::debug!(rows = tags.height(), elapsed = ?clock.elapsed(), "weekly tag rows");
    let occ = occupations(tags.clone().lazy(), taxonomy)?.collect()?;
    let brand = brands(tags.clone().lazy(), occ.clone().lazy(), brand_cfg)?
        .select(cols_of(&WEEKLY_BRAND_METRICS.names()))
        .collect()?;
    let finish = |df: DataFrame, columns: &[&str]| -> PolarsResult<DataFrame> {
        df.lazy()
            .with_column(week_start_date(col("week")))
            .select(cols_of(columns))
            .collect()
    };
    let tables = WeeklyTables {
        tags: finish(tags, &WEEKLY_TAG_METRICS.names())?,
        occupations: finish(occ, &WEEKLY_OCCUPATION_METRICS.names())?,
        brands: brand,
        occupation_tags: occupation_tags(taxonomy)?,
    };
    tables.check()?;
    tracing::debug!(elapsed = ?clock.elapsed(), "weekly tables");
    Ok(tables)
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use chrono::NaiveDateTime;

    /// Snapshot observations from (tag, "YYYY-MM-DD HH:MM:SS", value) triples.
    pub(crate) fn snaps(rows: &[(&str, &str, u64)]) -> LazyFrame {
        let ms: Vec<i64> = rows
            .iter()
            .map(|r| {
                NaiveDateTime::parse_from_str(r.1, "%Y-%m-%d %H:%M:%S")
                    .unwrap()
                    .and_utc()
                    .timestamp_millis()
            })
            .collect();
        let n = rows.len();
        DataFrame::new_infer_height(vec![
            Column::new("platform".into(), vec!["tiktok"; n]),
            Column::new("tag".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
            Column::new("metric".into(), vec!["views"; n]),
            Column::new("observed_at".into(), ms)
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .unwrap(),
            Column::new("value".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
            Column::new("source".into(), vec!["t"; n]),
            Column::new("ingested_at".into(), (0..n as i64).collect::<Vec<_>>())
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
                .unwrap(),
        ])
        .unwrap()
        .lazy()
    }

    /// The f64 values of a column.
    pub(crate) fn f64s(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
        df.column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect()
    }

    /// Asserts two optional floats agree to 1e-9 (relative).
    pub(crate) fn assert_close(got: &[Option<f64>], want: &[Option<f64>]) {
        assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            match (g, w) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "row {i}: got {g}, want {w} (all: {got:?})"
                ),
                _ => panic!("row {i}: got {g:?}, want {w:?} (all: {got:?})"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn week_numbers_start_on_monday() {
        // 2026-11-16 is a Monday.
        let monday = days_from_date(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()) as i64;
        let df = df!("d" => [monday - 1, monday, monday + 6, monday + 7])
            .unwrap()
            .lazy()
            .select([week_of_days(col("d")).alias("w")])
            .with_column(week_start_date(col("w")))
            .collect()
            .unwrap();
        let w: Vec<i64> = df
            .column("w")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(w[1] - w[0], 1);
        assert_eq!(w[1], w[2]);
        assert_eq!(w[3] - w[2], 1);
        let ws = df
            .column("week_start")
            .unwrap()
            .date()
            .unwrap()
            .physical()
            .get(1)
            .unwrap();
        assert_eq!(date_from_days(ws), NaiveDate::from_ymd_opt(2026, 11, 16));
    }

    #[test]
    fn dedup_keeps_last_ingested() {
        let lf = snaps(&[
            ("a", "2026-01-05 00:00:00", 10),
            ("a", "2026-01-05 00:00:00", 99),
            ("a", "2026-01-06 00:00:00", 20),
        ]);
        let df = dedup_latest(lf, &["platform", "tag", "metric", "observed_at"])
            .sort(["observed_at"], Default::default())
            .collect()
            .unwrap();
        assert_eq!(df.height(), 2);
        assert_close(&f64s(&df, "value"), &[Some(99.0), Some(20.0)]);
    }
}
