//! Daily counts -> weekly rows: sums with coverage.

use polars::prelude::*;

use crate::{cols_of, dedup_latest, null_of, week_grid, week_of_days, SERIES};

/// Weekly rows of daily-count series: `gained` = sum of the days present, `coverage` =
/// days present / 7, `total_end` null. A week inside the series with no day at all has
/// coverage 0 and a null `gained` (nothing was counted, so nothing is claimed).
///
/// Output columns as [`crate::snapshots_weekly`]; `decreases` is 0 (no counter to step down).
pub fn daily_weekly(lf: LazyFrame) -> PolarsResult<LazyFrame> {
    let keys_w = cols_of(&["platform", "tag", "metric", "week"]);
    let days = dedup_latest(lf, &["platform", "tag", "metric", "day"])
        .select([
            col("platform"),
            col("tag"),
            col("metric"),
            week_of_days(col("day").cast(DataType::Int32).cast(DataType::Int64)).alias("week"),
            col("value").cast(DataType::Float64).alias("value"),
        ])
        .cache();
    let per_week = days.clone().group_by(keys_w.clone()).agg([
        col("value").sum().alias("sum"),
        col("value").count().alias("days"),
    ]);
    Ok(week_grid(days, &SERIES, 0)
        .select(keys_w.clone())
        .join(
            per_week,
            keys_w.clone(),
            keys_w,
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("platform"),
            col("tag"),
            col("metric"),
            col("week"),
            null_of(DataType::Float64).alias("total_end"),
            col("sum").alias("gained"),
            col("days")
                .fill_null(lit(0))
                .cast(DataType::UInt32)
                .alias("observations"),
            lit(0u32).cast(DataType::UInt32).alias("decreases"),
            (col("days").fill_null(lit(0)).cast(DataType::Float64) / lit(7.0)).alias("coverage"),
            // Exact counts: no rounding step.
            lit(0.0).alias("resolution"),
        ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days_from_date;
    use crate::testutil::*;
    use chrono::NaiveDate;

    fn daily(rows: &[(&str, &str, u64)]) -> LazyFrame {
        let days: Vec<i32> = rows
            .iter()
            .map(|r| days_from_date(NaiveDate::parse_from_str(r.1, "%Y-%m-%d").unwrap()))
            .collect();
        let n = rows.len();
        DataFrame::new_infer_height(vec![
            Column::new("platform".into(), vec!["mastodon"; n]),
            Column::new("tag".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
            Column::new("metric".into(), vec!["uses"; n]),
            Column::new("day".into(), days)
                .cast(&DataType::Date)
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

    #[test]
    fn sums_days_with_coverage() {
        // Week of Mon 11-09: Sun 11-15 only. Week of 11-16: Mon..Sun all 7 days (one
        // re-ingested: the later value 5 replaces 50). Week of 11-23: none. 11-30: Mon.
        let mut rows: Vec<(&str, String, u64)> = vec![("a", "2026-11-15".into(), 3)];
        for d in 16..=22 {
            rows.push(("a", format!("2026-11-{d}"), 10));
        }
        rows.push(("a", "2026-11-18".into(), 5));
        rows.push(("a", "2026-11-30".into(), 8));
        let borrowed: Vec<(&str, &str, u64)> =
            rows.iter().map(|r| (r.0, r.1.as_str(), r.2)).collect();
        let df = daily_weekly(daily(&borrowed))
            .unwrap()
            .sort(["week"], Default::default())
            .collect()
            .unwrap();
        assert_eq!(df.height(), 4);
        assert_close(
            &f64s(&df, "gained"),
            &[Some(3.0), Some(65.0), None, Some(8.0)],
        );
        assert_close(
            &f64s(&df, "coverage"),
            &[Some(1.0 / 7.0), Some(1.0), Some(0.0), Some(1.0 / 7.0)],
        );
        assert_close(&f64s(&df, "total_end"), &[None, None, None, None]);
        assert_close(
            &f64s(&df, "observations"),
            &[Some(1.0), Some(7.0), Some(0.0), Some(1.0)],
        );
    }
}

#[cfg(test)]
mod composed {
    use crate::testutil::*;
    use crate::{weekly_tables, Params};
    use polars::prelude::*;
    use tagpulse_model::tables::WEEKLY_TAG_METRICS;

    #[test]
    fn weekly_tables_mix_snapshots_and_daily_counts() {
        let snapshots = snaps(&[
            ("a", "2026-11-15 00:00:00", 0),
            ("a", "2026-11-17 00:00:00", 20),
        ]);
        let daily = DataFrame::new_infer_height(vec![
            Column::new("platform".into(), ["mastodon"]),
            Column::new("tag".into(), ["a"]),
            Column::new("metric".into(), ["uses"]),
            Column::new("day".into(), [20_409i32])
                .cast(&DataType::Date)
                .unwrap(),
            Column::new("value".into(), [4u64]),
            Column::new("source".into(), ["m"]),
            Column::new("ingested_at".into(), [1i64])
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
                .unwrap(),
        ])
        .unwrap();
        let t = weekly_tables(snapshots, daily.lazy(), &Params::default(), &[], &[]).unwrap();
        let names: Vec<&str> = t
            .tags
            .get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(names, WEEKLY_TAG_METRICS.names());
        // Sorted by platform: mastodon's daily row first, then tiktok's two weeks.
        assert_eq!(t.tags.height(), 3);
        assert_close(&f64s(&t.tags, "gained"), &[Some(4.0), None, None]);
        assert_close(&f64s(&t.tags, "total_end"), &[None, Some(10.0), None]);
        assert_close(&f64s(&t.tags, "coverage"), &[Some(1.0 / 7.0), None, None]);
        // A daily count is exact: resolution 0. The snapshots 0 and 20: 0 has no step,
        // 20 has step 10, in both weeks' windows.
        assert_close(
            &f64s(&t.tags, "resolution"),
            &[Some(0.0), Some(10.0), Some(10.0)],
        );
        assert_eq!(t.occupations.height(), 0);
        assert_eq!(t.brands.height(), 0);
    }
}
