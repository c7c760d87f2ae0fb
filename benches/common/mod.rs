//! Benchmark inputs shared by the bench binaries: the 32 real fixture series, replicated.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use polars::prelude::*;

/// The fixtures `scale` times over, each copy's tags suffixed `_k`.
pub(crate) fn replicated(scale: usize) -> Vec<(String, Vec<(i64, u64)>)> {
    let base = load();
    (0..scale)
        .flat_map(|k| {
            base.iter()
                .map(move |(t, p)| (format!("{t}_{k}"), p.clone()))
        })
        .collect()
}

/// The fixture series: (tag, [(unix seconds, value)]).
pub(crate) fn load() -> Vec<(String, Vec<(i64, u64)>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiktok-tag-views");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("tsv") {
            continue;
        }
        let tag = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_lowercase();
        let points = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (t, v) = l.split_once('\t').expect("tab");
                let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").expect("time");
                (t.and_utc().timestamp(), v.parse().expect("value"))
            })
            .collect();
        out.push((tag, points));
    }
    out
}

/// Snapshots of `series` as a frame with the stored schema.
pub(crate) fn frame(series: &[(String, Vec<(i64, u64)>)]) -> DataFrame {
    let n: usize = series.iter().map(|s| s.1.len()).sum();
    let (mut tag, mut ms, mut value) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (name, points) in series {
        for (t, v) in points {
            tag.push(name.as_str());
            ms.push(t * 1000);
            value.push(*v);
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new("platform".into(), vec!["tiktok"; n]),
        Column::new("tag".into(), tag),
        Column::new("metric".into(), vec!["views"; n]),
        Column::new("observed_at".into(), ms)
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .expect("cast"),
        Column::new("value".into(), value),
        Column::new("source".into(), vec!["bench"; n]),
        Column::new("ingested_at".into(), vec![0i64; n])
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .expect("cast"),
    ])
    .expect("frame")
}

/// The fastest of `runs` runs of `f`, and the last result.
pub(crate) fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = f();
        best = best.min(t.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}
