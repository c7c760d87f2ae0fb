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
/// The rows are read in slices, twice: the identity columns to number the series, then
/// the values, scattered into one array ordered by series. Rows of a series usually sit
/// together, so most rows cost three string comparisons with the row before.
pub(crate) fn grouped(stored: &dyn RowSlices, max_gap: i64) -> PolarsResult<Grouped> {
    let clock = std::time::Instant::now();
    // Series number of each row, one vector per slice of the scan.
    let mut ids: Vec<Vec<u32>> = Vec::new();
    let mut index: HashMap<[String; 3], u32> = HashMap::new();
    let mut names: Vec<[String; 3]> = Vec::new();
    for df in stored.slices(&SERIES) {
        let df = df?;
        let [p, t, m] = SERIES.map(|k| df.column(k).and_then(|c| c.str().cloned()));
        let mut chunk_ids = Vec::with_capacity(df.height());
        let mut prev: Option<([Option<&str>; 3], u32)> = None;
        for key in p?.iter().zip(t?.iter()).zip(m?.iter()) {
            let key = [key.0 .0, key.0 .1, key.1];
            let id = match prev {
                Some((k, id)) if k == key => id,
                _ => {
                    let owned = key.map(|s| s.unwrap_or_default().to_string());
                    *index.entry(owned.clone()).or_insert_with(|| {
                        names.push(owned);
                        names.len() as u32 - 1
                    })
                }
            };
            prev = Some((key, id));
            chunk_ids.push(id);
        }
        ids.push(chunk_ids);
    }
    let height: usize = ids.iter().map(Vec::len).sum();
    tracing::debug!(rows = height, series = names.len(), elapsed = ?clock.elapsed(), "series numbered");
    let mut starts = vec![0usize; names.len() + 1];
    for &id in ids.iter().flatten() {
        starts[id as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut rows = vec![Row::default(); height];
    let mut next = starts.clone();
    let slices = stored.slices(&["observed_at", "ingested_at", "value"]);
    for (df, ids) in slices.zip(&ids) {
        let df = df?;
        // The scan is read twice: a store written in between must not shift rows.
        if df.height() != ids.len() {
            return Err(polars_err!(ComputeError: "the observations changed during the transform"));
        }
        let phys = |name: &str| df.column(name).map(|c| c.to_physical_repr());
        let (ms, ingested) = (phys("observed_at")?, phys("ingested_at")?);
        let value = df.column("value")?.u64()?;
        let values = ms
            .i64()?
            .iter()
            .zip(ingested.i64()?.iter())
            .zip(value.iter());
        for (((ms, ing), v), &id) in values.zip(ids) {
            let slot = &mut next[id as usize];
            rows[*slot] = Row {
                ms: ms.unwrap_or_default(),
                ingested: ing.unwrap_or_default(),
                value: v.unwrap_or_default(),
            };
            *slot += 1;
        }
    }
    drop(ids);
    tracing::debug!(elapsed = ?clock.elapsed(), "values scattered by series");
    let mut segments = Vec::with_capacity(names.len());
    let mut rest = rows.as_mut_slice();
    for w in starts.windows(2) {
        let (seg, tail) = rest.split_at_mut(w[1] - w[0]);
        segments.push(seg);
        rest = tail;
    }
    let weeks = segments
        .into_par_iter()
        .map(|rows| {
            let kept = resolve(rows);
            let points = rows[..kept]
                .iter()
                .map(|r| (r.ms.div_euclid(1000), r.value));
            weeks::summarize(points, max_gap)
        })
        .collect();
    let column = |i: usize| {
        let v: Vec<&str> = names.iter().map(|n| n[i].as_str()).collect();
        Column::new(SERIES[i].into(), v)
    };
    let names = DataFrame::new_infer_height(vec![column(0), column(1), column(2)])?;
    tracing::debug!(elapsed = ?clock.elapsed(), "series sorted and deduplicated");
    Ok(Grouped { names, weeks })
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
}
