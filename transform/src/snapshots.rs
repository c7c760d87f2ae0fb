//! Counter snapshots -> weekly rows: envelope, step-downs, boundary interpolation.

use polars::prelude::*;

use crate::{
    cols_of, dedup_latest, null_of, week_grid, week_of_days, week_start_secs, Params, SERIES,
};

/// One row per series with an integer `sid`.
///
/// The heavy steps (dedup, sorts, windows, group-bys over millions of snapshots) key on
/// `sid` instead of three string columns: a multi-column string sort was 80% of the
/// job's time. The names are joined back onto the small weekly result.
pub(crate) fn series_ids(lf: &LazyFrame) -> LazyFrame {
    lf.clone()
        .select(cols_of(&SERIES))
        .unique(None, UniqueKeepStrategy::Any)
        .with_row_index("sid", None)
}

/// Deduplicated snapshots as `sid`, `t` (seconds), `raw`, sorted by series and time.
pub(crate) fn keyed_snapshots(lf: LazyFrame, ids: LazyFrame) -> LazyFrame {
    let keyed = lf
        .join(
            ids,
            cols_of(&SERIES),
            cols_of(&SERIES),
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("sid"),
            col("observed_at"),
            col("value").cast(DataType::Float64).alias("raw"),
            col("ingested_at"),
        ]);
    dedup_latest(keyed, &["sid", "observed_at"])
        .select([
            col("sid"),
            col("observed_at")
                .cast(DataType::Int64)
                .floor_div(lit(1000i64))
                .alias("t"),
            col("raw"),
        ])
        .sort(["sid", "t"], Default::default())
}

/// [`keyed_snapshots`] with `running_max`, `step_down` and `week`.
pub(crate) fn enveloped(lf: LazyFrame, ids: LazyFrame) -> PolarsResult<LazyFrame> {
    let sid = [col("sid")];
    Ok(keyed_snapshots(lf, ids).with_columns([
        col("raw")
            .cum_max(false)
            .over(sid.clone())?
            .alias("running_max"),
        col("raw")
            .lt(col("raw").shift(lit(1i64)).over(sid)?)
            .fill_null(lit(false))
            .alias("step_down"),
        week_of_days(col("t").floor_div(lit(86_400i64))).alias("week"),
    ]))
}

/// V(T) at every week boundary of each series (`week` = the week that T starts).
///
/// Boundary rows are merged into the sorted observations; the last observation at or
/// before T and the first after it are found by filling forward and backward, which
/// stays one sort and two window passes however many series there are.
pub(crate) fn boundary_values(obs: LazyFrame, params: &Params) -> PolarsResult<LazyFrame> {
    let sid = [col("sid")];
    let grid = week_grid(obs.clone(), &["sid"], 1);
    let bounds = grid.select([
        col("sid"),
        week_start_secs(col("week")).alias("t"),
        null_of(DataType::Float64).alias("running_max"),
        lit(true).alias("is_boundary"),
        col("week"),
    ]);
    let points = obs.select([
        col("sid"),
        col("t"),
        col("running_max"),
        lit(false).alias("is_boundary"),
        col("week"),
    ]);
    // At equal times the observation sorts first (false < true), so an observation
    // exactly at T is the "last at or before T" and is used as is.
    let merged = concat([points, bounds], UnionArgs::default())?
        .sort(["sid", "t", "is_boundary"], Default::default());
    let obs_t = when(col("is_boundary").not())
        .then(col("t"))
        .otherwise(null_of(DataType::Int64));
    let fwd = FillNullStrategy::Forward(None);
    let bwd = FillNullStrategy::Backward(None);
    let dt = (col("t_b") - col("t_a")).cast(DataType::Float64);
    let interp = col("v_a")
        + (col("v_b") - col("v_a")) * (col("t") - col("t_a")).cast(DataType::Float64) / dt.clone();
    Ok(merged
        .with_columns([
            obs_t
                .clone()
                .fill_null_with_strategy(fwd)
                .over(sid.clone())?
                .alias("t_a"),
            col("running_max")
                .fill_null_with_strategy(fwd)
                .over(sid.clone())?
                .alias("v_a"),
            obs_t
                .fill_null_with_strategy(bwd)
                .over(sid.clone())?
                .alias("t_b"),
            col("running_max")
                .fill_null_with_strategy(bwd)
                .over(sid)?
                .alias("v_b"),
        ])
        .filter(col("is_boundary"))
        .select([
            col("sid"),
            col("week"),
            when(col("t_a").eq(col("t")))
                .then(col("v_a"))
                .when(col("t_a").is_null().or(col("t_b").is_null()))
                .then(null_of(DataType::Float64))
                .when(dt.gt(lit(params.max_gap_secs as f64)))
                .then(null_of(DataType::Float64))
                .otherwise(interp)
                .alias("v"),
        ]))
}

/// Weekly rows of snapshot series: `total_end`, `gained`, `observations`, `decreases`.
///
/// Output columns: platform, tag, metric, week, total_end, gained, observations,
/// decreases, coverage (null for snapshots).
pub fn snapshots_weekly(lf: LazyFrame, params: &Params) -> PolarsResult<LazyFrame> {
    let ids = series_ids(&lf).cache();
    // Reused by four branches below; without the cache each would redo the dedup,
    // sort and window passes (the `cse` optimiser is not compiled in).
    let obs = enveloped(lf, ids.clone())?.cache();
    let keys_w = cols_of(&["sid", "week"]);
    let per_week = obs.clone().group_by(keys_w.clone()).agg([
        col("t").count().alias("observations"),
        col("step_down").sum().alias("decreases"),
    ]);
    let values = boundary_values(obs.clone(), params)?.cache();
    let start = values
        .clone()
        .select([col("sid"), col("week"), col("v").alias("v_start")]);
    let end = values.select([
        col("sid"),
        (col("week") - lit(1i64)).alias("week"),
        col("v").alias("v_end"),
    ]);
    let left = JoinArgs::new(JoinType::Left);
    Ok(week_grid(obs, &["sid"], 0)
        .select(keys_w.clone())
        .join(start, keys_w.clone(), keys_w.clone(), left.clone())
        .join(end, keys_w.clone(), keys_w.clone(), left.clone())
        .join(per_week, keys_w.clone(), keys_w, left.clone())
        .join(ids, [col("sid")], [col("sid")], left)
        .select([
            col("platform"),
            col("tag"),
            col("metric"),
            col("week"),
            col("v_end").alias("total_end"),
            (col("v_end") - col("v_start")).alias("gained"),
            col("observations")
                .fill_null(lit(0))
                .cast(DataType::UInt32)
                .alias("observations"),
            col("decreases")
                .fill_null(lit(0))
                .cast(DataType::UInt32)
                .alias("decreases"),
            null_of(DataType::Float64).alias("coverage"),
        ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn weekly(rows: &[(&str, &str, u64)], max_gap_days: i64) -> DataFrame {
        snapshots_weekly(
            snaps(rows),
            &Params {
                max_gap_secs: max_gap_days * 86_400,
            },
        )
        .unwrap()
        .sort(["tag", "week"], Default::default())
        .collect()
        .unwrap()
    }

    fn u32s(df: &DataFrame, name: &str) -> Vec<u32> {
        df.column(name)
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .collect()
    }

    // 2026-11-09, -16, -23, -30 are Mondays.

    #[test]
    fn interpolates_linearly_at_monday_boundaries() {
        // Week of 11-09: points on Sat 11-14 12:00 (100) and Tue 11-17 12:00 (400):
        // T(11-16 00:00) lies 1.5 d into a 3 d gap -> 250.
        // Next points Sun 11-22 00:00 (700) and Mon 11-23 12:00 (760): T(11-23 00:00) is
        // 24 h into a 36 h gap -> 700 + 60 * 2/3 = 740.
        let df = weekly(
            &[
                ("a", "2026-11-14 12:00:00", 100),
                ("a", "2026-11-17 12:00:00", 400),
                ("a", "2026-11-22 00:00:00", 700),
                ("a", "2026-11-23 12:00:00", 760),
            ],
            7,
        );
        assert_eq!(df.height(), 3); // weeks of 11-09, 11-16, 11-23
        assert_close(&f64s(&df, "total_end"), &[Some(250.0), Some(740.0), None]);
        // First week: V(11-09) is before the first point -> null gained.
        assert_close(&f64s(&df, "gained"), &[None, Some(490.0), None]);
        assert_eq!(u32s(&df, "observations"), [1, 2, 1]);
        assert_eq!(u32s(&df, "decreases"), [0, 0, 0]);
        assert_close(&f64s(&df, "coverage"), &[None, None, None]);
    }

    #[test]
    fn exact_boundary_hit_ignores_gaps_around_it() {
        // A point exactly at Monday 11-16 00:00 is used even though the gaps around it
        // are 20 days (over max_gap) on both sides.
        let df = weekly(
            &[
                ("a", "2026-10-27 00:00:00", 10),
                ("a", "2026-11-16 00:00:00", 500),
                ("a", "2026-12-06 00:00:00", 900),
            ],
            7,
        );
        let te = f64s(&df, "total_end");
        // Week rows from 10-26 to 11-30; total_end of the week ending 11-16 is 500.
        assert_eq!(df.height(), 6);
        assert_close(&te[2..3], &[Some(500.0)]);
        // Its neighbours' boundaries sit inside 20-day gaps: null.
        assert_close(&te[1..2], &[None]);
        assert_close(&te[3..4], &[None]);
        // The week starting 11-16 (row 3) has V(start) = 500 but V(end) null.
        assert_close(&f64s(&df, "gained")[2..4], &[None, None]);
    }

    #[test]
    fn gap_over_max_is_null_and_exactly_max_interpolates() {
        // 7 days exactly from Thu 11-12 00:00 to Thu 11-19 00:00 -> interpolates.
        let df = weekly(
            &[
                ("a", "2026-11-12 00:00:00", 0),
                ("a", "2026-11-19 00:00:00", 700),
            ],
            7,
        );
        // V(11-16) = 0 + 700 * 4/7 = 400.
        assert_close(&f64s(&df, "total_end"), &[Some(400.0), None]);
        // One second more -> null.
        let df = weekly(
            &[
                ("a", "2026-11-12 00:00:00", 0),
                ("a", "2026-11-19 00:00:01", 700),
            ],
            7,
        );
        assert_close(&f64s(&df, "total_end"), &[None, None]);
        // With max_gap 8 days it interpolates: 700 * (4 d) / (7 d + 1 s).
        let df = weekly(
            &[
                ("a", "2026-11-12 00:00:00", 0),
                ("a", "2026-11-19 00:00:01", 700),
            ],
            8,
        );
        let want = 700.0 * (4.0 * 86_400.0) / (7.0 * 86_400.0 + 1.0);
        assert_close(&f64s(&df, "total_end"), &[Some(want), None]);
    }

    #[test]
    fn step_down_uses_envelope_and_is_counted() {
        // Raw 100, 120, 110 (a step down), 130. Envelope 100, 120, 120, 130.
        // V(11-16): between Sun 11-15 00:00 (running max 120) and Tue 11-17 00:00 (running max 120) -> 120.
        let df = weekly(
            &[
                ("a", "2026-11-14 00:00:00", 100),
                ("a", "2026-11-15 00:00:00", 120),
                ("a", "2026-11-17 00:00:00", 110),
                ("a", "2026-11-24 00:00:00", 130),
            ],
            7,
        );
        // V(11-23) between 11-17 (120) and 11-24 (130): 120 + 10 * 6/7.
        let v23 = 120.0 + 10.0 * 6.0 / 7.0;
        assert_close(&f64s(&df, "total_end"), &[Some(120.0), Some(v23), None]);
        assert_close(&f64s(&df, "gained"), &[None, Some(v23 - 120.0), None]);
        assert_eq!(u32s(&df, "decreases"), [0, 1, 0]);
    }

    #[test]
    fn weeks_without_snapshots_keep_their_row() {
        let df = weekly(
            &[
                ("a", "2026-11-02 00:00:00", 0),
                ("a", "2026-11-26 00:00:00", 240),
            ],
            30,
        );
        // Weeks 11-02, 11-09, 11-16, 11-23; 24 days from 0 to 240 -> 10 per day.
        assert_eq!(u32s(&df, "observations"), [1, 0, 0, 1]);
        assert_close(
            &f64s(&df, "gained"),
            &[Some(70.0), Some(70.0), Some(70.0), None],
        );
    }

    #[test]
    fn series_are_independent() {
        let df = weekly(
            &[
                ("a", "2026-11-15 00:00:00", 0),
                ("a", "2026-11-17 00:00:00", 20),
                ("b", "2026-11-16 00:00:00", 5),
            ],
            7,
        );
        assert_eq!(df.height(), 3);
        assert_close(&f64s(&df, "total_end"), &[Some(10.0), None, None]);
    }
}
