//! Growth and signals on any weekly series: wow, total growth, avg4, momentum, robust z.

use polars::prelude::*;

use tagpulse_model::signal::{BREAKOUT_Z, Z_MIN, Z_WINDOW};

use crate::{cols_of, null_of};

/// Adds `wow_growth`, `total_growth`, `avg4`, `momentum`, `z`, `z_median`, `breakout` to weekly rows
/// keyed by `keys` + `week` that carry `gained` and `total_end`.
///
/// Lagged values are joined on `week - k`, not shifted, so a week outside the series'
/// rows counts as null exactly as the spec says, even where rows are missing.
pub fn signals(lf: LazyFrame, keys: &[&str]) -> PolarsResult<LazyFrame> {
    // Read by the eight lag frames and the final join: compute it once.
    let lf = lf.cache();
    let mut keys_w: Vec<&str> = keys.to_vec();
    keys_w.push("week");
    let by = cols_of(&keys_w);
    let mut lags = Vec::with_capacity(Z_WINDOW as usize);
    for k in 1..=Z_WINDOW {
        let mut sel = cols_of(keys);
        sel.extend([
            (col("week") + lit(k)).alias("week"),
            col("gained").alias("prev_gained"),
            col("total_end").alias("prev_total_end"),
            lit(k).alias("weeks_back"),
        ]);
        lags.push(lf.clone().select(sel));
    }
    let long = concat(lags, UnionArgs::default())?;
    let lag = |name: &str, k: i64, alias: &str| {
        col(name)
            .filter(col("weeks_back").eq(lit(k)))
            .first()
            .alias(alias)
    };
    let stats = lf
        .clone()
        .select(by.clone())
        .join(long, by.clone(), by.clone(), JoinArgs::new(JoinType::Left))
        .with_column(
            (col("prev_gained") - col("prev_gained").median().over(by.clone())?)
                .abs()
                .alias("abs_dev"),
        )
        .group_by(by.clone())
        .agg([
            lag("prev_gained", 1, "gained_back1"),
            lag("prev_gained", 2, "gained_back2"),
            lag("prev_gained", 3, "gained_back3"),
            lag("prev_gained", 4, "gained_back4"),
            lag("prev_total_end", 1, "total_end_back1"),
            col("prev_gained").median().alias("median_prev"),
            col("prev_gained").count().alias("prev_weeks"),
            col("abs_dev").median().alias("mad_prev"),
            col("abs_dev").mean().alias("mean_abs_dev_prev"),
        ]);
    let f64_null = || null_of(DataType::Float64);
    let g = || col("gained");
    let mean4 =
        (col("gained_back1") + col("gained_back2") + col("gained_back3") + col("gained_back4"))
            / lit(4.0);
    let scale = when(col("mad_prev").gt(lit(0.0)))
        .then(lit(1.4826) * col("mad_prev"))
        .otherwise(lit(1.2533) * col("mean_abs_dev_prev"));
    let z = when(
        col("prev_weeks")
            .gt_eq(lit(Z_MIN))
            .and(scale.clone().gt(lit(0.0)))
            .and(g().is_not_null()),
    )
    .then((g() - col("median_prev")) / scale)
    .otherwise(f64_null());
    Ok(lf
        .join(stats, by.clone(), by, JoinArgs::new(JoinType::Left))
        .with_columns([
            when(col("gained_back1").gt(lit(0.0)))
                .then(g() / col("gained_back1") - lit(1.0))
                .otherwise(f64_null())
                .alias("wow_growth"),
            when(col("total_end_back1").neq(lit(0.0)))
                .then(col("total_end") / col("total_end_back1") - lit(1.0))
                .otherwise(f64_null())
                .alias("total_growth"),
            ((g() + col("gained_back1") + col("gained_back2") + col("gained_back3")) / lit(4.0))
                .alias("avg4"),
            when(mean4.clone().gt(lit(0.0)))
                .then(g() / mean4 - lit(1.0))
                .otherwise(f64_null())
                .alias("momentum"),
            z.clone().alias("z"),
            z.gt_eq(lit(BREAKOUT_Z))
                .and(g().gt(lit(0.0)))
                .fill_null(lit(false))
                .alias("breakout"),
            col("median_prev").alias("z_median"),
        ])
        .drop(by_name(
            [
                "gained_back1",
                "gained_back2",
                "gained_back3",
                "gained_back4",
                "total_end_back1",
                "median_prev",
                "prev_weeks",
                "mad_prev",
                "mean_abs_dev_prev",
            ],
            true,
            false,
        )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    /// One series with the given `gained` per consecutive week (total_end = running sum).
    fn series(gained: &[Option<f64>]) -> DataFrame {
        let mut total = 1000.0;
        let te: Vec<Option<f64>> = gained
            .iter()
            .map(|g| {
                total += g.unwrap_or(0.0);
                Some(total)
            })
            .collect();
        let n = gained.len();
        let df = DataFrame::new_infer_height(vec![
            Column::new("tag".into(), vec!["a"; n]),
            Column::new("week".into(), (100..100 + n as i64).collect::<Vec<_>>()),
            Column::new("gained".into(), gained.to_vec()),
            Column::new("total_end".into(), te),
        ])
        .unwrap();
        signals(df.lazy(), &["tag"])
            .unwrap()
            .sort(["week"], Default::default())
            .collect()
            .unwrap()
    }

    fn bools(df: &DataFrame, name: &str) -> Vec<Option<bool>> {
        df.column(name).unwrap().bool().unwrap().iter().collect()
    }

    #[test]
    fn wow_avg4_momentum_total_growth() {
        let df = series(&[Some(10.0), Some(20.0), Some(30.0), Some(40.0), Some(50.0)]);
        assert_close(
            &f64s(&df, "wow_growth"),
            &[None, Some(1.0), Some(0.5), Some(1.0 / 3.0), Some(0.25)],
        );
        assert_close(
            &f64s(&df, "avg4"),
            &[None, None, None, Some(25.0), Some(35.0)],
        );
        // momentum of week 5: 50 / mean(10,20,30,40) - 1 = 1.0
        assert_close(&f64s(&df, "momentum"), &[None, None, None, None, Some(1.0)]);
        // total_end: 1010, 1030, 1060, 1100, 1150
        assert_close(
            &f64s(&df, "total_growth"),
            &[
                None,
                Some(20.0 / 1010.0),
                Some(30.0 / 1030.0),
                Some(40.0 / 1060.0),
                Some(50.0 / 1100.0),
            ],
        );
    }

    #[test]
    fn nulls_and_non_positive_divisors_propagate() {
        let df = series(&[Some(0.0), Some(5.0), None, Some(7.0), Some(-1.0), Some(3.0)]);
        // wow: divisor 0 -> null; g null -> null; divisor null -> null; g/7-1; divisor -1 -> null
        assert_close(
            &f64s(&df, "wow_growth"),
            &[None, None, None, None, Some(-1.0 / 7.0 - 1.0), None],
        );
        // avg4 needs all four: week 6 window (7, -1, 3, null) has a null.
        assert_close(&f64s(&df, "avg4"), &[None, None, None, None, None, None]);
        assert_close(&f64s(&df, "momentum"), &[None; 6]);
    }

    #[test]
    fn missing_week_rows_count_as_null() {
        // Rows for weeks 100, 101, 103 only: week 103's previous week has no row.
        let df = DataFrame::new_infer_height(vec![
            Column::new("tag".into(), vec!["a"; 3]),
            Column::new("week".into(), vec![100i64, 101, 103]),
            Column::new("gained".into(), vec![Some(1.0), Some(2.0), Some(4.0)]),
            Column::new("total_end".into(), vec![Some(1.0), Some(3.0), Some(7.0)]),
        ])
        .unwrap();
        let df = signals(df.lazy(), &["tag"])
            .unwrap()
            .sort(["week"], Default::default())
            .collect()
            .unwrap();
        assert_close(&f64s(&df, "wow_growth"), &[None, Some(1.0), None]);
        assert_close(&f64s(&df, "total_growth"), &[None, Some(2.0), None]);
    }

    #[test]
    fn robust_z_with_mad() {
        // Previous 8: 10,12,11,13,10,12,11,13 -> median 11.5; |dev| = 1.5,.5,.5,1.5,...
        // -> MAD = median(.5,.5,.5,.5,1.5,1.5,1.5,1.5) = 1.0; scale = 1.4826.
        let mut g: Vec<Option<f64>> = [10.0, 12.0, 11.0, 13.0, 10.0, 12.0, 11.0, 13.0]
            .map(Some)
            .to_vec();
        g.push(Some(30.0));
        let df = series(&g);
        let z = f64s(&df, "z");
        let want = (30.0 - 11.5) / 1.4826;
        assert_close(&z[8..], &[Some(want)]);
        assert_close(&f64s(&df, "z_median")[8..], &[Some(11.5)]);
        assert_eq!(bools(&df, "breakout")[8], Some(true));
        // Week 7 has 6 previous non-null weeks: 10,12,11,13,10,12 -> median 11.5,
        // |dev| 1.5,.5,.5,1.5,1.5,.5 -> MAD 1.0 -> z = (11 - 11.5) / 1.4826.
        assert_close(&z[6..7], &[Some(-0.5 / 1.4826)]);
        // Fewer than 6 previous weeks: null z and breakout false, not null.
        assert_close(&z[..6], &[None; 6]);
        assert_eq!(bools(&df, "breakout")[..6], [Some(false); 6]);
    }

    #[test]
    fn robust_z_mad_zero_falls_back_to_mean_abs_dev() {
        // Previous 8: six 10s and two 20s -> median 10, MAD 0, mean |dev| = 20/8 = 2.5,
        // scale = 1.2533 * 2.5.
        let mut g: Vec<Option<f64>> = [10.0, 20.0, 10.0, 10.0, 20.0, 10.0, 10.0, 10.0]
            .map(Some)
            .to_vec();
        g.push(Some(25.0));
        let df = series(&g);
        assert_close(&f64s(&df, "z")[8..], &[Some(15.0 / (1.2533 * 2.5))]);
        // 25 -> z = 4.79 >= 3.5 and gained > 0.
        assert_eq!(bools(&df, "breakout")[8], Some(true));
        // All equal: MAD 0 and mean |dev| 0 -> z null, breakout false.
        let df = series(&[Some(5.0); 9]);
        assert_close(&f64s(&df, "z")[8..], &[None]);
        assert_eq!(bools(&df, "breakout")[8], Some(false));
    }

    #[test]
    fn z_ignores_null_weeks_but_needs_six() {
        // Window before week 9 has two nulls -> 6 values 1..6: median 3.5, |dev| 2.5,1.5,.5,
        // .5,1.5,2.5 -> MAD 1.5 -> z = (10 - 3.5) / (1.4826 * 1.5).
        let g = vec![
            Some(1.0),
            None,
            Some(2.0),
            Some(3.0),
            None,
            Some(4.0),
            Some(5.0),
            Some(6.0),
            Some(10.0),
            Some(-50.0),
        ];
        let df = series(&g);
        let z = f64s(&df, "z");
        assert_close(&z[8..9], &[Some(6.5 / (1.4826 * 1.5))]);
        // Week 10: window null,2,3,null,4,5,6,10 (6 values; week 1 dropped out) is enough,
        // but gained is negative -> z negative, breakout false.
        assert!(z[9].unwrap() < 0.0);
        assert_eq!(bools(&df, "breakout")[9], Some(false));
        // A null gained has a null z.
        let df = series(&[
            Some(1.0),
            Some(2.0),
            Some(3.0),
            Some(4.0),
            Some(5.0),
            Some(6.0),
            None,
        ]);
        assert_close(&f64s(&df, "z")[6..], &[None]);
    }
}
