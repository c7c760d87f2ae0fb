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
}

/// ISO week number of an epoch second.
pub(crate) fn week_of(t: i64) -> i64 {
    (t.div_euclid(86_400) + 3).div_euclid(7)
}

/// Summaries of one series' points (times in seconds, ascending; raw values).
pub(crate) fn summarize(
    points: impl Iterator<Item = (i64, f64)>,
    max_gap: i64,
) -> Vec<WeekSummary> {
    let mut out: Vec<WeekSummary> = Vec::new();
    for (t, v) in points {
        let week = week_of(t);
        match out.last_mut() {
            Some(w) if w.week == week => {
                let gap = t - w.last_t;
                w.n += 1;
                w.decreases += u32::from(v < w.last_v);
                w.longest_gap = w.longest_gap.max(gap);
                w.gaps_over += u32::from(gap > max_gap);
                w.max_v = w.max_v.max(v);
                (w.last_t, w.last_v) = (t, v);
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
            }),
        }
    }
    out
}

/// The columns of a frame of summaries, after the series' `platform, tag, metric`.
pub const WEEK_COLUMNS: [&str; 10] = [
    "week",
    "n",
    "first_t",
    "first_v",
    "last_t",
    "last_v",
    "max_v",
    "decreases",
    "longest_gap",
    "gaps_over",
];

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
        });
    }
    let names = df
        .select(crate::SERIES)?
        .take(&IdxCa::from_vec("i".into(), firsts))?;
    Ok((names, series))
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
        let mut cols: Vec<Vec<f64>> = vec![Vec::new(); WEEK_COLUMNS.len()];
        for (i, ws) in g.weeks.iter().enumerate() {
            for w in ws {
                names.push(i as IdxSize);
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
        for (name, c) in WEEK_COLUMNS.iter().zip(cols) {
            // Typed as the ClickHouse store types them.
            let dtype = match *name {
                "week" | "first_t" | "last_t" | "longest_gap" => DataType::Int64,
                _ => DataType::UInt64,
            };
            columns.push(Column::new((*name).into(), c).cast(&dtype).unwrap());
        }
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
            (mon - 1, 5.0), // Sunday: the week before
            (mon, 10.0),
            (mon + day, 30.0),
            (mon + 4 * day, 20.0), // a step down after a 3-day gap
            (mon + 6 * day, 25.0),
        ];
        let w = summarize(pts.into_iter(), 2 * day);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].n, w[0].week + 1), (1, w[1].week));
        let s = w[1];
        assert_eq!((s.n, s.first_t, s.first_v), (4, mon, 10.0));
        assert_eq!((s.last_t, s.last_v, s.max_v), (mon + 6 * day, 25.0, 30.0));
        assert_eq!((s.decreases, s.longest_gap, s.gaps_over), (1, 3 * day, 1));
    }
}
