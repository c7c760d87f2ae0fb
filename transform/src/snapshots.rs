//! Counter snapshots -> weekly rows: envelope, step-downs, boundary interpolation.
//!
//! One pass over each series' week summaries (see `weeks`): the running maximum is the
//! envelope, a raw value below its predecessor is a step down, and the value at each
//! Monday boundary needs only the last snapshot at or before it and the first after it,
//! which a cursor moving forward with the boundaries finds among the weeks' ends.

use polars::prelude::*;

use crate::series::{grouped, Grouped};
use crate::weeks::{lower_median_step, WeekSummary};
use crate::Params;

use tagpulse_model::week::week_start_secs as week_start;

/// The weekly rows of one series, as columns.
#[derive(Debug, Default)]
struct Weeks {
    week: Vec<i64>,
    total_end: Vec<Option<f64>>,
    gained: Vec<Option<f64>>,
    observations: Vec<u32>,
    decreases: Vec<u32>,
    resolution: Vec<Option<f64>>,
}

/// V(T) on the envelope from the points `(t, env)`: the point at T, else the
/// interpolation across T when the points around it are at most `max_gap` apart.
fn value_at(pts: &[(i64, f64)], cursor: &mut usize, big_t: i64, max_gap: i64) -> Option<f64> {
    // `cursor` ends on the first point after T (boundaries only move forward).
    while *cursor < pts.len() && pts[*cursor].0 <= big_t {
        *cursor += 1;
    }
    let (t_a, v_a) = pts[cursor.checked_sub(1)?];
    if t_a == big_t {
        return Some(v_a);
    }
    let (t_b, v_b) = *pts.get(*cursor)?;
    let dt = (t_b - t_a) as f64;
    if dt > max_gap as f64 {
        return None;
    }
    Some(v_a + (v_b - v_a) * (big_t - t_a) as f64 / dt)
}

/// Weekly rows of one series, from the week of its first snapshot to that of its last.
fn series_weeks(ws: &[WeekSummary], max_gap: i64) -> Weeks {
    let (Some(first), Some(last)) = (ws.first(), ws.last()) else {
        return Weeks::default();
    };
    let (w_first, w_last) = (first.week, last.week);
    let n = (w_last - w_first + 1) as usize;
    let mut out = Weeks {
        week: (w_first..=w_last).collect(),
        total_end: Vec::with_capacity(n),
        gained: Vec::with_capacity(n),
        observations: vec![0; n],
        decreases: vec![0; n],
        resolution: Vec::with_capacity(n),
    };
    // Week i's resolution reads the snapshots of weeks i-1, i and i+1: exactly those in
    // [T_w - 7 days, T_w+1 + 7 days), the ones that can bracket its two boundaries.
    let mut steps = vec![None; n];
    // The only points a boundary can need: each week's first and last, on the envelope.
    let mut pts = Vec::with_capacity(2 * ws.len());
    let mut max = f64::NEG_INFINITY;
    let mut prev_last: Option<f64> = None;
    for s in ws {
        let i = (s.week - w_first) as usize;
        out.observations[i] = s.n;
        steps[i] = Some(&s.steps);
        let into_week = prev_last.is_some_and(|p| s.first_v < p);
        out.decreases[i] = s.decreases + u32::from(into_week);
        pts.push((s.first_t, max.max(s.first_v)));
        max = max.max(s.max_v);
        if s.n > 1 {
            pts.push((s.last_t, max));
        }
        prev_last = Some(s.last_v);
    }
    for i in 0..n {
        let around = steps[i.saturating_sub(1)..(i + 2).min(n)].iter().flatten();
        out.resolution.push(lower_median_step(around.copied()));
    }
    let mut cursor = 0;
    let mut start = value_at(&pts, &mut cursor, week_start(w_first), max_gap);
    for w in w_first..=w_last {
        let end = value_at(&pts, &mut cursor, week_start(w + 1), max_gap);
        out.total_end.push(end);
        out.gained.push(end.zip(start).map(|(e, s)| e - s));
        start = end;
    }
    out
}

/// Weekly rows of snapshot series: `total_end`, `gained`, `observations`, `decreases`.
///
/// Reads stored rows as they are (duplicates resolved here, see `series::grouped`).
/// Output columns: platform, tag, metric, week, total_end, gained, observations,
/// decreases, coverage (null for snapshots), resolution.
pub fn snapshots_weekly(lf: LazyFrame, params: &Params) -> PolarsResult<LazyFrame> {
    weekly_of(&grouped(&lf, params.max_gap_secs)?, params)
}

/// [`snapshots_weekly`] of series already grouped.
pub(crate) fn weekly_of(g: &Grouped, params: &Params) -> PolarsResult<LazyFrame> {
    let max_gap = params.max_gap_secs;
    let clock = std::time::Instant::now();
    let per_series: Vec<Weeks> = g.map(|p| series_weeks(p, max_gap));
    tracing::debug!(elapsed = ?clock.elapsed(), "weekly values per series");
    let rows: usize = per_series.iter().map(|w| w.week.len()).sum();
    let mut all = Weeks::default();
    let mut sid: Vec<IdxSize> = Vec::with_capacity(rows);
    for (i, w) in per_series.into_iter().enumerate() {
        sid.extend(std::iter::repeat_n(i as IdxSize, w.week.len()));
        all.week.extend(w.week);
        all.total_end.extend(w.total_end);
        all.gained.extend(w.gained);
        all.observations.extend(w.observations);
        all.decreases.extend(w.decreases);
        all.resolution.extend(w.resolution);
    }
    let mut columns = g
        .names
        .take(&IdxCa::from_vec("sid".into(), sid))?
        .into_columns();
    columns.extend([
        Column::new("week".into(), all.week),
        Column::new("total_end".into(), all.total_end),
        Column::new("gained".into(), all.gained),
        Column::new("observations".into(), all.observations),
        Column::new("decreases".into(), all.decreases),
        Column::full_null("coverage".into(), rows, &DataType::Float64),
        Column::new("resolution".into(), all.resolution),
    ]);
    Ok(DataFrame::new(rows, columns)?.lazy())
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
