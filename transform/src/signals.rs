//! Growth and signals on any weekly series: wow, total growth, avg4, momentum, robust z.
//!
//! Rows are sorted by series and week once; each row then looks back over at most
//! [`Z_WINDOW`] earlier rows of its series, placing each by its week distance, so a
//! week outside the series' rows counts as null exactly as the spec says, even where
//! rows are missing.

use polars::prelude::*;

use tagpulse_model::signal::{BREAKOUT_Z, Z_MIN, Z_WINDOW};

const WINDOW: usize = Z_WINDOW as usize;

/// The signal columns of one row from `gained` g, `total_end` te and the `gained` and
/// `total_end` of the [`WINDOW`] weeks before it (index 0 = the week before).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Signals {
    wow_growth: Option<f64>,
    total_growth: Option<f64>,
    avg4: Option<f64>,
    momentum: Option<f64>,
    z: Option<f64>,
    breakout: bool,
    z_median: Option<f64>,
}

/// The median of `v` (sorted in place); for an even count the mean of the middle two.
fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The signals of one row: `g` and `te` its `gained` and `total_end`, `res` its
/// `resolution`, `prev` the `gained` of the weeks before and `te1` last week's `total_end`.
fn row_signals(
    g: Option<f64>,
    te: Option<f64>,
    res: Option<f64>,
    prev: &[Option<f64>; WINDOW],
    te1: Option<f64>,
) -> Signals {
    let positive = |x: Option<f64>| x.filter(|x| *x > 0.0);
    let all4 = |a: [Option<f64>; 4]| -> Option<[f64; 4]> { Some([a[0]?, a[1]?, a[2]?, a[3]?]) };
    let mean4 =
        all4([prev[0], prev[1], prev[2], prev[3]]).map(|p| (p[0] + p[1] + p[2] + p[3]) / 4.0);
    let mut vals: Vec<f64> = prev.iter().flatten().copied().collect();
    let centre = median(&mut vals);
    let z = centre.and_then(|med| {
        let g = g?;
        if vals.len() < Z_MIN as usize {
            return None;
        }
        let mut dev: Vec<f64> = vals.iter().map(|v| (v - med).abs()).collect();
        let mean_dev = dev.iter().sum::<f64>() / dev.len() as f64;
        let mad = median(&mut dev)?;
        let scale = if mad > 0.0 {
            1.4826 * mad
        } else {
            1.2533 * mean_dev
        };
        // A spread smaller than the counter's rounding step is rounding, not a scale.
        let scale = scale.max(res.unwrap_or(0.0));
        (scale > 0.0).then(|| (g - med) / scale)
    });
    let z_median = centre.filter(|_| z.is_some());
    Signals {
        wow_growth: positive(prev[0]).and_then(|p| Some(g? / p - 1.0)),
        total_growth: te1.filter(|d| *d != 0.0).and_then(|d| Some(te? / d - 1.0)),
        avg4: all4([g, prev[0], prev[1], prev[2]]).map(|a| (a[0] + a[1] + a[2] + a[3]) / 4.0),
        momentum: positive(mean4).and_then(|m| Some(g? / m - 1.0)),
        z,
        breakout: z.is_some_and(|z| z >= BREAKOUT_Z) && g.is_some_and(|g| g > 0.0),
        z_median,
    }
}

/// True where a row's keys differ from the row before it (a new series starts).
pub(crate) fn series_starts(df: &DataFrame, keys: &[&str]) -> PolarsResult<Vec<bool>> {
    let mut starts = vec![false; df.height()];
    if let Some(first) = starts.first_mut() {
        *first = true;
    }
    for k in keys {
        let c = df.column(k)?.as_materialized_series().rechunk();
        let mut prev = None;
        for (i, v) in c.str()?.iter().enumerate() {
            if i > 0 && v != prev {
                starts[i] = true;
            }
            prev = v;
        }
    }
    Ok(starts)
}

/// Adds `wow_growth`, `total_growth`, `avg4`, `momentum`, `z`, `breakout`, `z_median` to
/// weekly rows keyed by `keys` (string columns) + `week` that carry `gained`,
/// `total_end` and `resolution`; the rows come back sorted by `keys` and `week`.
pub fn signals(lf: LazyFrame, keys: &[&str]) -> PolarsResult<LazyFrame> {
    let mut by: Vec<&str> = keys.to_vec();
    by.push("week");
    let df = lf.sort(by, Default::default()).collect()?;
    let starts = series_starts(&df, keys)?;
    let week: Vec<i64> = df
        .column("week")?
        .i64()?
        .rechunk()
        .into_no_null_iter()
        .collect();
    let f64s = |name: &str| -> PolarsResult<Vec<Option<f64>>> {
        Ok(df
            .column(name)?
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .collect())
    };
    let (gained, total_end) = (f64s("gained")?, f64s("total_end")?);
    let resolution = f64s("resolution")?;
    let mut first = 0;
    let out: Vec<Signals> = (0..df.height())
        .map(|i| {
            if starts[i] {
                first = i;
            }
            let mut prev = [None; WINDOW];
            let mut te1 = None;
            for j in (first..i).rev() {
                let back = (week[i] - week[j]) as usize;
                if back > WINDOW {
                    break;
                }
                prev[back - 1] = gained[j];
                if back == 1 {
                    te1 = total_end[j];
                }
            }
            row_signals(gained[i], total_end[i], resolution[i], &prev, te1)
        })
        .collect();
    let column = |name: &str, f: fn(&Signals) -> Option<f64>| {
        Column::new(name.into(), out.iter().map(f).collect::<Vec<_>>())
    };
    let mut df = df;
    df.hstack_mut(&[
        column("wow_growth", |s| s.wow_growth),
        column("total_growth", |s| s.total_growth),
        column("avg4", |s| s.avg4),
        column("momentum", |s| s.momentum),
        column("z", |s| s.z),
        Column::new(
            "breakout".into(),
            out.iter().map(|s| s.breakout).collect::<Vec<_>>(),
        ),
        column("z_median", |s| s.z_median),
    ])?;
    Ok(df.lazy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    /// One series with the given `gained` per consecutive week (total_end = running sum),
    /// an exact counter (resolution 1).
    fn series(gained: &[Option<f64>]) -> DataFrame {
        series_res(gained, Some(1.0))
    }

    /// [`series`] with the given resolution in every week.
    fn series_res(gained: &[Option<f64>], res: Option<f64>) -> DataFrame {
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
            Column::new("resolution".into(), vec![res; n]),
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
            Column::new("resolution".into(), vec![Some(0.0); 3]),
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
        // All equal: MAD 0 and mean |dev| 0 -> with no resolution z null, breakout false,
        // and z_median null with it.
        let df = series_res(&[Some(5.0); 9], None);
        assert_close(&f64s(&df, "z")[8..], &[None]);
        assert_close(&f64s(&df, "z_median")[8..], &[None]);
        assert_eq!(bools(&df, "breakout")[8], Some(false));
        // The same with resolution 0 (a daily count): still null.
        let df = series_res(&[Some(5.0); 9], Some(0.0));
        assert_close(&f64s(&df, "z")[8..], &[None]);
        // An exact counter (resolution 1): the scale is 1, z = 0 and its centre is kept.
        let df = series(&[Some(5.0); 9]);
        assert_close(&f64s(&df, "z")[8..], &[Some(0.0)]);
        assert_close(&f64s(&df, "z_median")[8..], &[Some(5.0)]);
    }

    #[test]
    fn the_scale_is_raised_to_the_resolution() {
        // In steps of 10M: 30M a week, one week 40M (a single rounding step), then 40M.
        // Previous 8: seven 3e7 and one 4e7 -> median 3e7, MAD 0, mean |dev| = 1e7/8,
        // scale 1.2533 * 1.25e6 = 1.566625e6 -> z would be 1e7 / 1.566625e6 = 6.38.
        let mut g: Vec<Option<f64>> = [3e7, 3e7, 3e7, 3e7, 4e7, 3e7, 3e7, 3e7].map(Some).to_vec();
        g.push(Some(4e7));
        let df = series_res(&g, Some(1e6));
        let z_old = 1e7 / (1.2533 * 1.25e6);
        assert_close(&f64s(&df, "z")[8..], &[Some(z_old)]);
        assert_eq!(bools(&df, "breakout")[8], Some(true));
        // With the counter's real step of 10M the scale is 1e7: z = 1, no breakout.
        let df = series_res(&g, Some(1e7));
        assert_close(&f64s(&df, "z")[8..], &[Some(1.0)]);
        assert_close(&f64s(&df, "z_median")[8..], &[Some(3e7)]);
        assert_eq!(bools(&df, "breakout")[8], Some(false));
        // A MAD-based scale above the resolution is kept: 1.4826 * MAD.
        let df = series_res(
            &[10.0, 12.0, 11.0, 13.0, 10.0, 12.0, 11.0, 13.0, 30.0].map(Some),
            Some(1.2),
        );
        assert_close(&f64s(&df, "z")[8..], &[Some(18.5 / 1.4826)]);
        // ... and one below it is raised: MAD 1 * 1.4826 < 2.
        let df = series_res(
            &[10.0, 12.0, 11.0, 13.0, 10.0, 12.0, 11.0, 13.0, 30.0].map(Some),
            Some(2.0),
        );
        assert_close(&f64s(&df, "z")[8..], &[Some(18.5 / 2.0)]);
        // A null resolution counts as 0.
        let df = series_res(&g, None);
        assert_close(&f64s(&df, "z")[8..], &[Some(z_old)]);
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
