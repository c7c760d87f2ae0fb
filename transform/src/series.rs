//! Stored snapshots split into series: identity resolved, sorted by time, in plain vectors.
//!
//! The weekly job and the report's series summary both walk every series point by point,
//! and a polars plan over millions of snapshots (sorts on three string columns, window
//! passes, self-joins) cost seconds where a loop over each series' points costs
//! milliseconds. So polars reads and groups the rows once, and the per-series work runs
//! as plain loops, series in parallel (rayon).

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;

use crate::SERIES;

/// One series' snapshots: distinct times (seconds), ascending, with their raw values.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Points {
    /// Observation times, epoch seconds, strictly ascending per stored identity.
    pub t: Vec<i64>,
    /// Raw values, as f64 (the envelope and interpolation are f64).
    pub raw: Vec<f64>,
}

/// One stored row of a series: what identity resolution and the metrics read.
#[derive(Debug, Default, Clone, Copy)]
struct Row {
    ms: i64,
    ingested: i64,
    value: u64,
}

/// Every snapshot series of a scan, deduplicated and sorted, in one flat array.
pub(crate) struct Grouped {
    /// The series' identity columns, one row per series.
    pub names: DataFrame,
    rows: Vec<Row>,
    spans: Vec<std::ops::Range<usize>>,
}

impl Grouped {
    /// `f` of each series' points, in the order of `names`, series in parallel.
    pub fn map<T: Send>(&self, f: impl Fn(&Points) -> T + Sync) -> Vec<T> {
        self.spans
            .par_iter()
            .map(|span| {
                let rows = &self.rows[span.clone()];
                f(&Points {
                    t: rows.iter().map(|r| r.ms.div_euclid(1000)).collect(),
                    raw: rows.iter().map(|r| r.value as f64).collect(),
                })
            })
            .collect()
    }
}

/// Rows read per slice of the scan: bounds the memory of the string columns.
const CHUNK: usize = 1 << 20;

/// Slices of `lf` (with `columns`) of at most [`CHUNK`] rows, in row order, until one
/// comes back short.
fn chunks(lf: &LazyFrame, columns: &[&str]) -> impl Iterator<Item = PolarsResult<DataFrame>> {
    let lf = lf.clone().select(crate::cols_of(columns));
    let mut done = false;
    (0..).map_while(move |i| {
        if done {
            return None;
        }
        let df = lf
            .clone()
            .slice((i * CHUNK) as i64, CHUNK as IdxSize)
            .collect();
        done = df.as_ref().map_or(true, |df| df.height() < CHUNK);
        Some(df)
    })
}

/// Groups stored snapshots (any order, duplicates allowed) into series.
///
/// Where two rows share an identity (series and `observed_at`), the one with the larger
/// `ingested_at` wins, and among equal `ingested_at` the later row: the rule of
/// [`tagpulse_model::dedup_latest`], so a scan needs no deduplication first.
///
/// The scan is read in slices, twice: the identity columns to number the series, then
/// the values, scattered into one array ordered by series. Rows of a series usually sit
/// together, so most rows cost three string comparisons with the row before.
pub(crate) fn grouped(lf: LazyFrame) -> PolarsResult<Grouped> {
    let clock = std::time::Instant::now();
    // Series number of each row, one vector per slice of the scan.
    let mut ids: Vec<Vec<u32>> = Vec::new();
    let mut index: HashMap<[String; 3], u32> = HashMap::new();
    let mut names: Vec<[String; 3]> = Vec::new();
    for df in chunks(&lf, &SERIES) {
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
    let slices = chunks(&lf, &["observed_at", "ingested_at", "value"]);
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
    let kept: Vec<usize> = segments.into_par_iter().map(resolve).collect();
    let spans = starts.iter().zip(kept).map(|(s, k)| *s..s + k).collect();
    let column = |i: usize| {
        let v: Vec<&str> = names.iter().map(|n| n[i].as_str()).collect();
        Column::new(SERIES[i].into(), v)
    };
    let names = DataFrame::new_infer_height(vec![column(0), column(1), column(2)])?;
    tracing::debug!(elapsed = ?clock.elapsed(), "series sorted and deduplicated");
    Ok(Grouped { names, rows, spans })
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
        let g = grouped(lf).unwrap();
        let points = g.map(|p| p.clone());
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
        let nov1 = 1_793_491_200; // 2026-11-01 00:00:00 UTC
        assert_eq!(points[a].t, [nov1, nov1 + day, nov1 + 2 * day]);
        assert_eq!(points[a].raw, [10.0, 20.0, 31.0]);
        assert_eq!(points[b].raw, [7.0]);
    }
}
