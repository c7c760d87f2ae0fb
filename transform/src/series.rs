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

/// Groups stored snapshots (any order, duplicates allowed) into series.
///
/// Where two rows share an identity (series and `observed_at`), the one with the larger
/// `ingested_at` wins, and among equal `ingested_at` the later row: the rule of
/// [`tagpulse_model::dedup_latest`], so a scan needs no deduplication first.
///
/// The rows are read in slices, twice: the identity columns to find each series' runs
/// (rows in a row of one series), then the values. A series is summarised as soon as its
/// last run is read, straight from the slice when it is one sorted run (a fresh import);
/// only the rows of series with runs still to come wait in memory. Gathering every row
/// into one array first made the kernel zero a fresh page for each, half a transform.
pub(crate) fn grouped(stored: &dyn RowSlices, max_gap: i64) -> PolarsResult<Grouped> {
    let clock = std::time::Instant::now();
    // Each slice's runs: (series number, rows).
    let mut runs: Vec<Vec<(u32, usize)>> = Vec::new();
    let mut index: HashMap<[String; 3], u32> = HashMap::new();
    let mut names: Vec<[String; 3]> = Vec::new();
    for df in stored.slices(&SERIES) {
        let df = df?;
        let [p, t, m] = SERIES.map(|k| df.column(k).and_then(|c| c.str().cloned()));
        let mut slice_runs: Vec<(u32, usize)> = Vec::new();
        let mut prev: Option<[Option<&str>; 3]> = None;
        for key in p?.iter().zip(t?.iter()).zip(m?.iter()) {
            let key = [key.0 .0, key.0 .1, key.1];
            match (prev, slice_runs.last_mut()) {
                (Some(k), Some((_, n))) if k == key => *n += 1,
                _ => {
                    let owned = key.map(|s| s.unwrap_or_default().to_string());
                    let id = *index.entry(owned.clone()).or_insert_with(|| {
                        names.push(owned);
                        names.len() as u32 - 1
                    });
                    slice_runs.push((id, 1));
                }
            }
            prev = Some(key);
        }
        runs.push(slice_runs);
    }
    tracing::debug!(series = names.len(), elapsed = ?clock.elapsed(), "series numbered");
    let mut runs_left = vec![0u32; names.len()];
    for &(id, _) in runs.iter().flatten() {
        runs_left[id as usize] += 1;
    }
    let mut waiting: Vec<Vec<Row>> = vec![Vec::new(); names.len()];
    let mut weeks: Vec<Vec<WeekSummary>> = vec![Vec::new(); names.len()];
    let slices = stored.slices(&["observed_at", "ingested_at", "value"]);
    for (df, slice_runs) in slices.zip(&runs) {
        let df = df?;
        // The scan is read twice: a store written in between must not shift rows.
        if df.height() != slice_runs.iter().map(|r| r.1).sum::<usize>() {
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
        // Series whose last run this is, with their waiting rows and that run's range.
        let mut complete = Vec::new();
        let mut at = 0;
        for &(id, n) in slice_runs {
            let id = id as usize;
            runs_left[id] -= 1;
            if runs_left[id] == 0 {
                complete.push((id, std::mem::take(&mut waiting[id]), at..at + n));
            } else {
                waiting[id].extend((at..at + n).map(row));
            }
            at += n;
        }
        let done: Vec<(usize, Vec<WeekSummary>)> = complete
            .into_par_iter()
            .map(|(id, mut rows, run)| {
                // One run in time order, each time once: no identity to resolve.
                if rows.is_empty() && ms[run.clone()].windows(2).all(|w| w[0] < w[1]) {
                    let points = run.map(|i| (ms[i].div_euclid(1000), value[i]));
                    return (id, weeks::summarize(points, max_gap));
                }
                rows.extend(run.map(row));
                let kept = resolve(&mut rows);
                let points = rows[..kept]
                    .iter()
                    .map(|r| (r.ms.div_euclid(1000), r.value));
                (id, weeks::summarize(points, max_gap))
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
        // Later rows were ingested later. "a" is in three runs over three slices, with a
        // corrected value (day 3) and an exact resend (day 1); "b" in two runs of slice 1;
        // "c" in one sorted run (read straight from its slice).
        let rows = [
            (1, "a", 10),
            (2, "a", 20),
            (5, "b", 50),
            (3, "a", 30),
            (9, "b", 90),
            (1, "c", 1),
            (2, "c", 2),
            (20, "c", 3),
            (3, "a", 33),
            (1, "a", 10),
            (16, "a", 160),
            (6, "b", 60),
        ]
        .map(|(d, tag, v)| (tag, format!("2026-11-{d:02} 12:00:00"), v));
        let rows: Vec<(&str, &str, u64)> = rows.iter().map(|r| (r.0, r.1.as_str(), r.2)).collect();
        let all = snaps(&rows).collect().unwrap();
        let sliced = Sliced(vec![all.slice(0, 5), all.slice(5, 4), all.slice(9, 3)]);
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
