//! Per-series facts for the report's data-quality section: span, counts, gaps.

use polars::prelude::*;

use crate::{dedup_latest, snapshot_seconds, Params, SERIES};

/// One row per series: `platform, tag, metric, kind ("snapshots" | "daily"), first_s,
/// last_s` (epoch seconds), `observations`, `longest_gap_s`, `gaps_over_max` (gaps
/// between consecutive observations longer than `max_gap`).
pub fn series_summary(
    snapshots: LazyFrame,
    daily: LazyFrame,
    params: &Params,
) -> PolarsResult<LazyFrame> {
    let snap = snapshot_seconds(snapshots, vec![lit("snapshots").alias("kind")]);
    let days = dedup_latest(daily, &["platform", "tag", "metric", "day"]).select([
        col("platform"),
        col("tag"),
        col("metric"),
        (col("day").cast(DataType::Int32).cast(DataType::Int64) * lit(86_400i64)).alias("t"),
        lit("daily").alias("kind"),
    ]);
    let mut keys: Vec<Expr> = SERIES.iter().map(|c| col(*c)).collect();
    keys.push(col("kind"));
    let gap = (col("t") - col("t").shift(lit(1i64))).over(keys.clone())?;
    Ok(concat([snap, days], UnionArgs::default())?
        .sort(
            ["platform", "tag", "metric", "kind", "t"],
            Default::default(),
        )
        .with_column(gap.alias("gap"))
        .group_by(keys)
        .agg([
            col("t").min().alias("first_s"),
            col("t").max().alias("last_s"),
            col("t")
                .count()
                .cast(DataType::UInt32)
                .alias("observations"),
            col("gap").max().fill_null(lit(0i64)).alias("longest_gap_s"),
            col("gap")
                .gt(lit(params.max_gap_secs))
                .sum()
                .cast(DataType::UInt32)
                .alias("gaps_over_max"),
        ])
        .sort(["platform", "metric", "tag"], Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::empty_daily;
    use crate::testutil::*;

    #[test]
    fn spans_and_gaps() {
        let lf = snaps(&[
            ("a", "2026-11-01 00:00:00", 1),
            ("a", "2026-11-02 00:00:00", 2),
            ("a", "2026-11-12 00:00:00", 3),
            ("a", "2026-11-12 00:00:00", 3),
            ("b", "2026-11-05 00:00:00", 1),
        ]);
        let df = series_summary(lf, empty_daily().lazy(), &Params::default())
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(df.height(), 2);
        assert_close(&f64s(&df, "observations"), &[Some(3.0), Some(1.0)]);
        assert_close(
            &f64s(&df, "longest_gap_s"),
            &[Some(10.0 * 86_400.0), Some(0.0)],
        );
        assert_close(&f64s(&df, "gaps_over_max"), &[Some(1.0), Some(0.0)]);
    }
}
