//! Stored snapshots split into series: identity resolved, sorted by time, and reduced to
//! per-week summaries (`weeks`).
//!
//! A polars plan over millions of snapshots (sorts on three string columns, window
//! passes, self-joins) cost seconds where a loop over each series' points costs
//! milliseconds. So polars reads and groups the rows once, and the per-series work runs
//! as plain loops, series in parallel (rayon).

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;

use crate::weeks::{self, WeekSummary};
use crate::SERIES;
use tagpulse_model::RowSlices;

/// One stored row of a series: what identity resolution and the metrics read.
#[derive(Debug, Default, Clone, Copy)]
struct Row {
    ms: i64,
    ingested: i64,
    value: u64,
}

/// Every snapshot series, as week summaries.
pub(crate) struct Grouped {
    /// The series' identity columns, one row per series.
    pub names: DataFrame,
    /// Each series' weeks with snapshots, in week order.
    pub weeks: Vec<Vec<WeekSummary>>,
}

impl Grouped {
    /// The series of what a store offers: stored rows grouped here, or week summaries
    /// made elsewhere (ClickHouse).
    pub(crate) fn of(snapshots: crate::Snapshots, params: &crate::Params) -> PolarsResult<Self> {
        match snapshots {
            crate::Snapshots::Stored(rows) => grouped(rows.as_ref(), params.max_gap_secs),
            crate::Snapshots::Weeks(df) => {
                let (names, weeks) = weeks::from_frame(df)?;
                Ok(Grouped { names, weeks })
            }
        }
    }

    /// `f` of each series' weeks, in the order of `names`, series in parallel.
    pub(crate) fn map<T: Send>(&self, f: impl Fn(&[WeekSummary]) -> T + Sync) -> Vec<T> {
        self.weeks.par_iter().map(|w| f(w)).collect()
    }
}

/// A series' `platform, tag, metric`.
type SeriesKey = [String; 3];

/// Rows in a row of one series within a slice, and their times.
#[derive(Debug, Clone, Copy)]
struct Run {
    series: u32,
    rows: usize,
    first_ms: i64,
    last_ms: i64,
    /// Each time after the one before: no identity repeats inside the run.
    increasing: bool,
}

/// Groups stored snapshots (any order, duplicates allowed) into series.
///
/// Where two rows share an identity (series and `observed_at`), the one with the larger
/// `ingested_at` wins, and among equal `ingested_at` the later row: the rule of
/// [`tagpulse_model::dedup_latest`], so a scan needs no deduplication first.
///
/// The rows are read in slices, twice: the identity columns and times to find each
/// series' runs (rows in a row of one series), then the values. A series whose runs come
/// in time order, each after the one before (a fresh import; history plus new
/// snapshots), is summarised run by run as the slices pass and never held. Only the rows
/// of other series wait in memory until their last run. Gathering every row into one
/// array first made the kernel zero a fresh page for each: half a transform.
pub(crate) fn grouped(stored: &dyn RowSlices, max_gap: i64) -> PolarsResult<Grouped> {
    let clock = std::time::Instant::now();
    let (names, runs) = find_runs(stored)?;
    tracing::debug!(series = names.len(), elapsed = ?clock.elapsed(), "series runs found");
    // Which series can be folded run by run, and how many runs each has.
    let mut in_order = vec![true; names.len()];
    let mut last_ms: Vec<Option<i64>> = vec![None; names.len()];
    let mut runs_left = vec![0u32; names.len()];
    for r in runs.iter().flatten() {
        let id = r.series as usize;
        in_order[id] &= r.increasing && last_ms[id].is_none_or(|m| r.first_ms > m);
        last_ms[id] = Some(r.last_ms);
        runs_left[id] += 1;
    }
    let mut waiting: Vec<Vec<Row>> = vec![Vec::new(); names.len()];
    let mut weeks: Vec<Vec<WeekSummary>> = vec![Vec::new(); names.len()];
    let slices = stored.slices(&["observed_at", "ingested_at", "value"]);
    for (df, slice_runs) in slices.zip(&runs) {
        let df = df?;
        // The scan is read twice: a store written in between must not shift rows.
        if df.height() != slice_runs.iter().map(|r| r.rows).sum::<usize>() {
            return Err(polars_err!(ComputeError: "the observations changed during the transform"));
        }
        let phys = |name: &str| df.column(name).map(|c| c.to_physical_repr());
        let (ms, ingested, value) = (phys("observed_at")?, phys("ingested_at")?, phys("value")?);
        let (ms, ingested) = (no_nulls(ms.i64()?), no_nulls(ingested.i64()?));
        let value = no_nulls(value.u64()?);
        let (ms, ingested, value) = (ms.as_slice(), ingested.as_slice(), value.as_slice());
        let row = |i: usize| Row {
            ms: ms[i],
            ingested: ingested[i],
            value: value[i],
        };
        // The series this slice moves on: their weeks so far (or waiting rows, for a
        // series out of order read to its last run) and their runs here.
        let mut work: Vec<(usize, Work, Vec<std::ops::Range<usize>>)> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        let mut at = 0;
        for r in slice_runs {
            let (id, range) = (r.series as usize, at..at + r.rows);
            at += r.rows;
            runs_left[id] -= 1;
            let task = if in_order[id] {
                Work::Fold(std::mem::take(&mut weeks[id]))
            } else if runs_left[id] == 0 {
                Work::Resolve(std::mem::take(&mut waiting[id]))
            } else {
                waiting[id].extend(range.map(row));
                continue;
            };
            match slot.get(&id) {
                Some(&k) => work[k].2.push(range),
                None => {
                    slot.insert(id, work.len());
                    work.push((id, task, vec![range]));
                }
            }
        }
        let done: Vec<(usize, Vec<WeekSummary>)> = work
            .into_par_iter()
            .map(|(id, task, ranges)| match task {
                Work::Fold(mut so_far) => {
                    let points = ranges.into_iter().flatten();
                    let points = points.map(|i| (ms[i].div_euclid(1000), value[i]));
                    weeks::summarize_into(&mut so_far, points, max_gap);
                    (id, so_far)
                }
                Work::Resolve(mut rows) => {
                    rows.extend(ranges.into_iter().flatten().map(row));
                    let kept = resolve(&mut rows);
                    let points = rows[..kept]
                        .iter()
                        .map(|r| (r.ms.div_euclid(1000), r.value));
                    (id, weeks::summarize(points, max_gap))
                }
            })
            .collect();
        for (id, w) in done {
            weeks[id] = w;
        }
    }
    let column = |i: usize| {
        let v: Vec<&str> = names.iter().map(|n| n[i].as_str()).collect();
        Column::new(SERIES[i].into(), v)
    };
    let names = DataFrame::new_infer_height(vec![column(0), column(1), column(2)])?;
    tracing::debug!(elapsed = ?clock.elapsed(), "series summarised");
    Ok(Grouped { names, weeks })
}

/// What a slice does to one series: fold its runs into the weeks so far, or (its last
/// run) sort them with its waiting rows and summarise the lot.
enum Work {
    Fold(Vec<WeekSummary>),
    Resolve(Vec<Row>),
}

/// The series (by number) and each slice's runs, from the identity columns and times.
fn find_runs(stored: &dyn RowSlices) -> PolarsResult<(Vec<SeriesKey>, Vec<Vec<Run>>)> {
    let mut runs: Vec<Vec<Run>> = Vec::new();
    let mut index: HashMap<SeriesKey, u32> = HashMap::new();
    let mut names: Vec<SeriesKey> = Vec::new();
    let columns = [SERIES[0], SERIES[1], SERIES[2], "observed_at"];
    for df in stored.slices(&columns) {
        let df = df?;
        let [p, t, m] = SERIES.map(|k| df.column(k).and_then(|c| c.str().cloned()));
        let ms = df.column("observed_at")?.to_physical_repr();
        let ms = no_nulls(ms.i64()?);
        let mut slice_runs: Vec<Run> = Vec::new();
        let mut prev: Option<[Option<&str>; 3]> = None;
        let (p, t, m) = (p?, t?, m?);
        let (p, t, m) = (p.rechunk(), t.rechunk(), m.rechunk());
        // A row whose three string views equal the row before's is the same series (a
        // view of 12 bytes or less holds the string; a longer one, where it lies): a
        // 16-byte comparison each instead of three string comparisons. Otherwise the
        // strings decide.
        fn views(c: &StringChunked) -> Option<&[impl PartialEq]> {
            match (c.null_count(), c.downcast_iter().next()) {
                (0, Some(a)) => Some(a.views().as_slice()),
                _ => None,
            }
        }
        let same_views = match (views(&p), views(&t), views(&m)) {
            (Some(a), Some(b), Some(c)) => Some((a, b, c)),
            _ => None,
        };
        let keys = p.iter().zip(t.iter()).zip(m.iter());
        for (i, (key, &t)) in keys.zip(ms.as_slice()).enumerate() {
            if let (Some((a, b, c)), Some(r)) = (same_views, slice_runs.last_mut()) {
                if i > 0 && a[i] == a[i - 1] && b[i] == b[i - 1] && c[i] == c[i - 1] {
                    r.rows += 1;
                    r.increasing &= t > r.last_ms;
                    r.last_ms = t;
                    continue;
                }
            }
            let key = [key.0 .0, key.0 .1, key.1];
            match (prev, slice_runs.last_mut()) {
                (Some(k), Some(r)) if k == key => {
                    r.rows += 1;
                    r.increasing &= t > r.last_ms;
                    r.last_ms = t;
                }
                _ => {
                    let owned = key.map(|s| s.unwrap_or_default().to_string());
                    let id = *index.entry(owned.clone()).or_insert_with(|| {
                        names.push(owned);
                        names.len() as u32 - 1
                    });
                    slice_runs.push(Run {
                        series: id,
                        rows: 1,
                        first_ms: t,
                        last_ms: t,
                        increasing: true,
                    });
                }
            }
            prev = Some(key);
        }
        runs.push(slice_runs);
    }
    Ok((names, runs))
}

/// A column's values as one slice, nulls read as 0 (the lake declares these columns
/// non-null; lakes from before that could mark them optional).
fn no_nulls<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> NoNulls<T> {
    match ca.cont_slice() {
        Ok(_) => NoNulls::Column(ca.clone()),
        Err(_) => NoNulls::Copied(ca.iter().map(Option::unwrap_or_default).collect()),
    }
}

/// What [`no_nulls`] returns: the column itself when it is one chunk without nulls.
enum NoNulls<T: PolarsNumericType> {
    Column(ChunkedArray<T>),
    Copied(Vec<T::Native>),
}

impl<T: PolarsNumericType> NoNulls<T> {
    fn as_slice(&self) -> &[T::Native] {
        match self {
            NoNulls::Column(ca) => ca.cont_slice().expect("checked in no_nulls"),
            NoNulls::Copied(v) => v,
        }
    }
}

/// Sorts one series by time and keeps the winner of each identity at the front;
/// returns how many rows it kept.
fn resolve(rows: &mut [Row]) -> usize {
    let key = |r: &Row| (r.ms, r.ingested);
    // Stable, so rows with equal time and ingested_at keep their stored order and the
    // later one wins below. Most series arrive sorted already.
    if !rows.is_sorted_by_key(key) {
        rows.sort_by_key(key);
    }
    let mut kept = 0;
    for i in 0..rows.len() {
        if rows.get(i + 1).is_some_and(|n| n.ms == rows[i].ms) {
            continue; // superseded by a later row with the same identity
        }
        rows[kept] = rows[i];
        kept += 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::snaps;

    #[test]
    fn groups_sorts_and_keeps_the_last_ingested() {
        // `snaps` numbers ingested_at by row: later rows were ingested later.
        let lf = snaps(&[
            ("b", "2026-11-02 00:00:00", 7),
            ("a", "2026-11-03 00:00:00", 30),
            ("a", "2026-11-01 00:00:00", 10),
            ("a", "2026-11-03 00:00:00", 31),
            ("a", "2026-11-02 00:00:00", 20),
        ]);
        let g = grouped(&lf, 7 * 86_400).unwrap();
        let points: Vec<Vec<(i64, f64)>> = g.map(|w| {
            w.iter()
                .flat_map(|s| [(s.first_t, s.first_v), (s.last_t, s.last_v)])
                .collect()
        });
        let tags: Vec<Option<&str>> = g
            .names
            .column("tag")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        let a = tags.iter().position(|t| *t == Some("a")).unwrap();
        let b = tags.iter().position(|t| *t == Some("b")).unwrap();
        let day = 86_400;
        // 2026-11-01 00:00:00 UTC, a Sunday: it closes one week, Nov 2-3 open the next.
        // The later 31 replaced 30.
        let nov1 = 1_793_491_200;
        let (d1, d2, d3) = (nov1, nov1 + day, nov1 + 2 * day);
        assert_eq!(points[a], [(d1, 10.0), (d1, 10.0), (d2, 20.0), (d3, 31.0)]);
        assert_eq!(g.weeks[a].iter().map(|w| w.n).sum::<u32>(), 3);
        assert_eq!(points[b], [(d2, 7.0), (d2, 7.0)]);
    }

    /// Frames given as the slices of a store.
    struct Sliced(Vec<DataFrame>);

    impl RowSlices for Sliced {
        fn slices<'a>(
            &'a self,
            columns: &'a [&'a str],
        ) -> Box<dyn Iterator<Item = PolarsResult<DataFrame>> + 'a> {
            Box::new(
                self.0
                    .iter()
                    .map(move |df| df.select(columns.iter().copied())),
            )
        }
    }

    /// Each tag's week summaries, by tag.
    fn by_tag(g: &Grouped) -> std::collections::BTreeMap<String, Vec<WeekSummary>> {
        let tags = g.names.column("tag").unwrap().str().unwrap();
        let tags = tags.iter().map(|t| t.unwrap().to_string());
        tags.zip(g.weeks.iter().cloned()).collect()
    }

    #[test]
    fn series_split_over_slices_and_runs_equal_their_deduplicated_rows() {
        // Later rows were ingested later, in three slices of 6, 7 and 6 rows. Read as
        // they come, in time order: "c" (one run), "d" (runs in all three slices), LONG
        // (two runs in slice 2; past 12 bytes, so its rows' string views differ).
        // Gathered and resolved: "a" (a corrected day 3 and a resent
        // day 1 in slice 3) and "b" (day 6 after day 9).
        const LONG: &str = "engineering_apprentice";
        let rows = [
            (1, "a", 10),
            (2, "a", 20),
            (5, "b", 50),
            (1, "d", 1),
            (3, "a", 30),
            (9, "b", 90),
            (4, LONG, 4),
            (1, "c", 1),
            (2, "c", 2),
            (20, "c", 3),
            (5, LONG, 5),
            (2, "d", 2),
            (3, "d", 3),
            (3, "a", 33),
            (1, "a", 10),
            (16, "a", 160),
            (6, "b", 60),
            (8, "d", 8),
            (9, "d", 9),
        ]
        .map(|(d, tag, v)| (tag, format!("2026-11-{d:02} 12:00:00"), v));
        let rows: Vec<(&str, &str, u64)> = rows.iter().map(|r| (r.0, r.1.as_str(), r.2)).collect();
        let all = snaps(&rows).collect().unwrap();
        let sliced = Sliced(vec![all.slice(0, 6), all.slice(6, 7), all.slice(13, 6)]);
        let got = grouped(&sliced, 7 * 86_400).unwrap();
        let deduplicated = tagpulse_model::dedup_latest(
            all.lazy(),
            &tagpulse_model::observation::SNAPSHOT_IDENTITY,
        )
        .sort(["tag", "observed_at"], Default::default());
        let want = grouped(&deduplicated, 7 * 86_400).unwrap();
        assert_eq!(by_tag(&got), by_tag(&want));
        let a = &by_tag(&got)["a"];
        // Nov 1 (a Sunday) closes a week; 2, 3 the next; 16 a third. The later 33 won.
        assert_eq!(a.iter().map(|w| w.n).collect::<Vec<_>>(), [1, 2, 1]);
        assert_eq!(a[1].last_v, 33.0);
        let d = &by_tag(&got)["d"];
        // Nov 2-8 is one week: three runs of three slices folded into it.
        assert_eq!(d.iter().map(|w| w.n).collect::<Vec<_>>(), [1, 3, 1]);
        assert_eq!((d[1].first_v, d[1].last_v), (2.0, 8.0));
        assert_eq!(by_tag(&got)[LONG].iter().map(|w| w.n).sum::<u32>(), 2);
    }

    /// A store that gains a row between the two reads of a transform.
    struct Growing(DataFrame, std::sync::atomic::AtomicUsize);

    impl RowSlices for Growing {
        fn slices<'a>(
            &'a self,
            columns: &'a [&'a str],
        ) -> Box<dyn Iterator<Item = PolarsResult<DataFrame>> + 'a> {
            let reads = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let rows = self.0.height() - 1 + reads.min(1);
            Box::new(std::iter::once(
                self.0.slice(0, rows).select(columns.iter().copied()),
            ))
        }
    }

    #[test]
    fn rows_added_between_the_two_reads_are_refused() {
        let all = snaps(&[
            ("a", "2026-11-01 00:00:00", 1),
            ("a", "2026-11-02 00:00:00", 2),
        ]);
        let store = Growing(all.collect().unwrap(), Default::default());
        let e = grouped(&store, 7 * 86_400).err().expect("refused");
        assert!(
            e.to_string().contains("changed during the transform"),
            "{e}"
        );
    }
}
