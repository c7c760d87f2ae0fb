//! Per-series-week summaries of counter snapshots: all the weekly job needs of them.
//!
//! A week of snapshots reduces to its count, its first and last snapshot, its largest
//! value and what happens inside it (step-downs, gaps). The envelope and every boundary
//! value follow from those alone: the value at a Monday needs only the last snapshot
//! before it and the first after it, which are always a week's last or first one, and
//! the running maximum, which is the maximum of the weeks before. So the Parquet lake
//! summarises its points here, and ClickHouse computes the same summaries in SQL and
//! sends a row per series and week instead of every snapshot.

use polars::prelude::*;
pub(crate) use tagpulse_model::steps::{step_exponent, Steps, STEP_BUCKETS};

/// One series' snapshots in one ISO week.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WeekSummary {
    /// ISO week number (week `w` starts on day `7w - 3`).
    pub week: i64,
    /// Snapshots in the week.
    pub n: u32,
    /// Time (epoch seconds) and raw value of the first snapshot.
    pub first_t: i64,
    pub first_v: f64,
    /// Time and raw value of the last snapshot.
    pub last_t: i64,
    pub last_v: f64,
    /// Largest raw value.
    pub max_v: f64,
    /// Step-downs between snapshots of this week (not the one into it).
    pub decreases: u32,
    /// Longest gap between snapshots of this week (0 for one snapshot).
    pub longest_gap: i64,
    /// Gaps between snapshots of this week longer than `max_gap`.
    pub gaps_over: u32,
    /// How many of the week's snapshots have each rounding step: `steps[k]` counts the
    /// values v > 0 with exactly k trailing decimal zeros (step 10^k). A histogram
    /// because `resolution` is a median over three weeks' snapshots, and counts add up.
    pub steps: Steps,
}

/// The lower median (for an even count the smaller middle value) of the steps counted
/// in `hists`, as a number; None when they count nothing.
pub(crate) fn lower_median_step<'a>(hists: impl Iterator<Item = &'a Steps>) -> Option<f64> {
    let mut total = [0u64; STEP_BUCKETS];
    for h in hists {
        for (t, c) in total.iter_mut().zip(h) {
            *t += u64::from(*c);
        }
    }
    let n: u64 = total.iter().sum();
    if n == 0 {
        return None;
    }
    // 0-based rank of the lower median among n sorted steps.
    let rank = (n - 1) / 2;
    let mut seen = 0;
    for (k, c) in total.iter().enumerate() {
        seen += c;
        if seen > rank {
            return Some(10f64.powi(k as i32));
        }
    }
    unreachable!("rank < n")
}

use tagpulse_model::week::week_of_secs as week_of;

/// Summaries of one series' points (times in seconds, ascending; raw values).
pub(crate) fn summarize(
    points: impl Iterator<Item = (i64, u64)>,
    max_gap: i64,
) -> Vec<WeekSummary> {
    let mut out = Vec::new();
    summarize_into(&mut out, points, max_gap);
    out
}

/// [`summarize`] continued: `out` summarises the points before `points` (all earlier
/// than these), and afterwards all of them, as if summarised in one go.
pub(crate) fn summarize_into(
    out: &mut Vec<WeekSummary>,
    points: impl Iterator<Item = (i64, u64)>,
    max_gap: i64,
) {
    for (t, raw) in points {
        let week = week_of(t);
        let v = raw as f64;
        let step = step_exponent(raw);
        match out.last_mut() {
            Some(w) if w.week == week => {
                let gap = t - w.last_t;
                w.n += 1;
                w.decreases += u32::from(v < w.last_v);
                w.longest_gap = w.longest_gap.max(gap);
                w.gaps_over += u32::from(gap > max_gap);
                w.max_v = w.max_v.max(v);
                (w.last_t, w.last_v) = (t, v);
                if let Some(k) = step {
                    w.steps[k] += 1;
                }
            }
            _ => out.push(WeekSummary {
                week,
                n: 1,
                first_t: t,
                first_v: v,
                last_t: t,
                last_v: v,
                max_v: v,
                decreases: 0,
                longest_gap: 0,
                gaps_over: 0,
                steps: {
                    let mut steps = [0; STEP_BUCKETS];
                    if let Some(k) = step {
                        steps[k] = 1;
                    }
                    steps
                },
            }),
        }
    }
}

/// The columns of a frame of summaries, after the series' `platform, tag, metric`;
/// `steps` is a list of [`STEP_BUCKETS`] counts (see `WeekSummary::steps`).
pub const WEEK_COLUMNS: [&str; 11] = {
    // The model's definition after the three series keys.
    let all = &tagpulse_model::frames::SNAPSHOT_WEEKS;
    let mut out = [""; 11];
    let mut i = 0;
    while i < 11 {
        out[i] = all.columns[i + 3].name;
        i += 1;
    }
    out
};

/// Summaries from a frame with `platform, tag, metric` and [`WEEK_COLUMNS`] (any
/// numeric types, rows in any order): the series' names and each one's weeks in order.
pub(crate) fn from_frame(df: DataFrame) -> PolarsResult<(DataFrame, Vec<Vec<WeekSummary>>)> {
    let df = df
        .lazy()
        .sort(["platform", "tag", "metric", "week"], Default::default())
        .collect()?;
    let i64s = |name: &str| -> PolarsResult<Vec<i64>> {
        let c = df.column(name)?.cast(&DataType::Int64)?;
        Ok(c.i64()?.iter().map(|v| v.unwrap_or_default()).collect())
    };
    let f64s = |name: &str| -> PolarsResult<Vec<f64>> {
        let c = df.column(name)?.cast(&DataType::Float64)?;
        Ok(c.f64()?.iter().map(|v| v.unwrap_or_default()).collect())
    };
    let (week, n, first_t, last_t) = (i64s("week")?, i64s("n")?, i64s("first_t")?, i64s("last_t")?);
    let (first_v, last_v, max_v) = (f64s("first_v")?, f64s("last_v")?, f64s("max_v")?);
    let (dec, gap, over) = (i64s("decreases")?, i64s("longest_gap")?, i64s("gaps_over")?);
    let steps = step_lists(&df)?;
    let starts = crate::signals::series_starts(&df, &crate::SERIES)?;
    let mut firsts: Vec<IdxSize> = Vec::new();
    let mut series: Vec<Vec<WeekSummary>> = Vec::new();
    for i in 0..df.height() {
        if starts[i] {
            firsts.push(i as IdxSize);
            series.push(Vec::new());
        }
        series.last_mut().expect("a series").push(WeekSummary {
            week: week[i],
            n: n[i] as u32,
            first_t: first_t[i],
            first_v: first_v[i],
            last_t: last_t[i],
            last_v: last_v[i],
            max_v: max_v[i],
            decreases: dec[i] as u32,
            longest_gap: gap[i],
            gaps_over: over[i] as u32,
            steps: steps[i],
        });
    }
    let names = df
        .select(crate::SERIES)?
        .take(&IdxCa::from_vec("i".into(), firsts))?;
    Ok((names, series))
}

/// The `steps` column: a list of [`STEP_BUCKETS`] counts per row. Read through the lists'
/// offsets and one flat vector of counts: a Series per row cost 0.16 s at 282k rows.
fn step_lists(df: &DataFrame) -> PolarsResult<Vec<Steps>> {
    let lists = df
        .column("steps")?
        .as_materialized_series()
        .cast(&DataType::List(Box::new(DataType::UInt32)))?;
    let lists = lists.list()?;
    for (i, len) in lists
        .downcast_iter()
        .flat_map(|a| a.offsets().lengths())
        .enumerate()
    {
        if len != STEP_BUCKETS {
            polars_bail!(ComputeError: "week summary row {i}: steps has {len} counts, not {STEP_BUCKETS}");
        }
    }
    if lists.null_count() > 0 {
        polars_bail!(ComputeError: "week summary rows without steps");
    }
    let flat = lists.explode(ExplodeOptions {
        empty_as_null: false,
        keep_nulls: false,
    })?;
    let counts: Vec<u32> = flat.u32()?.iter().map(|c| c.unwrap_or_default()).collect();
    Ok(counts
        .chunks_exact(STEP_BUCKETS)
        .map(|c| c.try_into().expect("chunks of STEP_BUCKETS"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{grouped, Grouped};
    use crate::testutil::snaps;
    use crate::{weekly_tables_and_summary, Params, Snapshots};
    use tagpulse_model::tables::DAILY_COUNTS;

    /// The summaries as a producer outside the transform (ClickHouse) sends them.
    fn to_frame(g: &Grouped) -> DataFrame {
        let mut names = Vec::new();
        let mut cols: Vec<Vec<f64>> = vec![Vec::new(); WEEK_COLUMNS.len() - 1];
        let mut steps = Vec::new();
        for (i, ws) in g.weeks.iter().enumerate() {
            for w in ws {
                names.push(i as IdxSize);
                steps.push(w.steps);
                let vals = [
                    w.week as f64,
                    w.n.into(),
                    w.first_t as f64,
                    w.first_v,
                    w.last_t as f64,
                    w.last_v,
                    w.max_v,
                    w.decreases.into(),
                    w.longest_gap as f64,
                    w.gaps_over.into(),
                ];
                for (c, v) in cols.iter_mut().zip(vals) {
                    c.push(v);
                }
            }
        }
        let mut columns = g
            .names
            .take(&IdxCa::from_vec("i".into(), names))
            .unwrap()
            .into_columns();
        for (name, c) in WEEK_COLUMNS[..WEEK_COLUMNS.len() - 1].iter().zip(cols) {
            // Typed as the ClickHouse store types them.
            let dtype = match *name {
                "week" | "first_t" | "last_t" | "longest_gap" => DataType::Int64,
                _ => DataType::UInt64,
            };
            columns.push(Column::new((*name).into(), c).cast(&dtype).unwrap());
        }
        columns.push(tagpulse_model::steps::steps_column(
            "steps",
            steps.iter().map(|s| s.as_slice()),
        ));
        // Reversed: the reader must not rely on the producer's order.
        DataFrame::new_infer_height(columns).unwrap().reverse()
    }

    #[test]
    fn summaries_from_elsewhere_give_the_same_tables() {
        let lf = || {
            snaps(&[
                ("a", "2026-10-27 03:00:00", 100),
                ("a", "2026-10-29 00:00:00", 180),
                ("a", "2026-10-29 09:00:00", 170), // a step down
                ("a", "2026-11-02 00:00:00", 200), // exactly on a Monday
                ("a", "2026-11-03 12:00:00", 190), // a step down inside the week
                ("a", "2026-11-20 00:00:00", 400), // after a 16-day gap
                ("a", "2026-11-21 00:00:00", 390),
                ("a", "2026-11-24 00:00:00", 420),
                ("b", "2026-11-05 00:00:00", 5),
                ("b", "2026-11-05 00:00:00", 6), // the same identity, ingested later
                ("b", "2026-11-12 00:00:00", 7),
                ("b", "2026-11-19 00:00:00", 9),
                ("b", "2026-11-23 12:00:00", 10),
            ])
        };
        let p = Params::default();
        let daily = || DAILY_COUNTS.empty_frame().lazy();
        let weeks = to_frame(&grouped(&lf(), p.max_gap_secs).unwrap());
        assert_eq!(weeks.height(), 8); // 4 weeks with snapshots each
        let (local, local_summary) =
            weekly_tables_and_summary(Snapshots::Stored(Box::new(lf())), daily(), &p, &[], &[])
                .unwrap();
        let (remote, remote_summary) =
            weekly_tables_and_summary(Snapshots::Weeks(weeks), daily(), &p, &[], &[]).unwrap();
        assert!(
            local.tags.equals_missing(&remote.tags),
            "{}\n{}",
            local.tags,
            remote.tags
        );
        assert!(local_summary.equals_missing(&remote_summary));
        // Not vacuous: a's weeks carry gained values, decreases and a null gap week.
        let dec: u32 = local
            .tags
            .column("decreases")
            .unwrap()
            .u32()
            .unwrap()
            .sum()
            .unwrap();
        assert_eq!(dec, 3);
        let gained = local.tags.column("gained").unwrap();
        assert!(gained.null_count() > 0 && gained.null_count() < gained.len());
    }

    #[test]
    fn a_week_keeps_its_ends_maximum_steps_and_gaps() {
        let mon = 1_794_787_200; // Monday 2026-11-16 00:00:00 UTC
        let day = 86_400;
        let pts = [
            (mon - 1, 5), // Sunday: the week before
            (mon, 10),
            (mon + day, 30),
            (mon + 4 * day, 20), // a step down after a 3-day gap
            (mon + 6 * day, 25),
        ];
        let w = summarize(pts.into_iter(), 2 * day);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].n, w[0].week + 1), (1, w[1].week));
        let s = w[1];
        assert_eq!((s.n, s.first_t, s.first_v), (4, mon, 10.0));
        assert_eq!((s.last_t, s.last_v, s.max_v), (mon + 6 * day, 25.0, 30.0));
        assert_eq!((s.decreases, s.longest_gap, s.gaps_over), (1, 3 * day, 1));
        // Steps: 10, 30, 20 have one trailing zero, 25 none; the Sunday's 5 none.
        assert_eq!(
            (s.steps[0], s.steps[1], s.steps[2..].iter().sum::<u32>()),
            (1, 3, 0)
        );
        assert_eq!(w[0].steps[0], 1);
    }

    #[test]
    fn steps_lists_round_trip_and_a_short_one_is_an_error() {
        let rows: Vec<Steps> = (0..5u32)
            .map(|i| std::array::from_fn(|k| i * 100 + k as u32))
            .collect();
        let col = tagpulse_model::steps::steps_column("steps", rows.iter().map(|s| s.as_slice()));
        let df = DataFrame::new_infer_height(vec![col]).unwrap();
        assert_eq!(step_lists(&df).unwrap(), rows);
        // 19 and 21 counts add up to 40, yet both rows are wrong.
        let bad = [&rows[0][..19], &[7u32; 21][..]];
        let col = tagpulse_model::steps::steps_column("steps", bad.into_iter());
        let err = step_lists(&DataFrame::new_infer_height(vec![col]).unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("row 0: steps has 19 counts"),
            "{err}"
        );
    }

    #[test]
    fn step_of_a_value_is_its_trailing_zeros() {
        assert_eq!(step_exponent(1_230_000_000), Some(7));
        assert_eq!(step_exponent(259), Some(0));
        assert_eq!(step_exponent(10), Some(1));
        assert_eq!(step_exponent(0), None);
        assert_eq!(step_exponent(10_000_000_000_000_000_000), Some(19));
        assert_eq!(step_exponent(u64::MAX), Some(0));
    }

    #[test]
    fn lower_median_of_steps_takes_the_smaller_middle() {
        let mut a = [0; STEP_BUCKETS];
        let mut b = [0; STEP_BUCKETS];
        // Steps 10, 10, 1000, 1000: the lower median is 10 (the mean would be 505).
        a[1] = 2;
        b[3] = 2;
        assert_eq!(lower_median_step([a, b].iter()), Some(10.0));
        // One more 1000: 10, 10, 1000, 1000, 1000 -> 1000.
        b[3] = 3;
        assert_eq!(lower_median_step([a, b].iter()), Some(1000.0));
        assert_eq!(lower_median_step([[0; STEP_BUCKETS]].iter()), None);
        assert_eq!(lower_median_step(std::iter::empty()), None);
    }
}
