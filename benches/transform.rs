//! Transform benchmark: the polars jobs against the plain-loop reference (the peer), on
//! the 32 real fixture series replicated to a few million snapshots.
//!
//! `cargo bench --bench transform` (release build). `TAGPULSE_BENCH_SCALE=N` replicates
//! the fixtures N times (default 20, about 2.3M snapshots). It prints throughput, the
//! ratio to the peer and peak memory, and checks the targets below; a missed target is
//! reported, and exits 1 so a bench run in CI would be red.

mod common;

use common::{best_of, frame, replicated};
use polars::prelude::*;
use tagpulse_model::tables::DAILY_COUNTS;
use tagpulse_transform::{reference, weekly_tables, Params};

/// Target: at least this many snapshots per second through `weekly_tables` (2 cores).
const TARGET_ROWS_PER_SEC: f64 = 1_000_000.0;
/// Target: peak memory per snapshot, in bytes.
const TARGET_BYTES_PER_ROW: f64 = 400.0;

fn peak_rss_bytes() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

fn main() {
    let scale: usize = std::env::var("TAGPULSE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let series = replicated(scale);
    let df = frame(&series);
    let rows = df.height() as f64;
    let params = Params::default();
    let rss_before = peak_rss_bytes().unwrap_or(0.0);

    let (polars_time, tables) = best_of(3, || {
        weekly_tables(
            df.clone().lazy(),
            DAILY_COUNTS.empty_frame().lazy(),
            &params,
            &[],
            &[],
        )
        .expect("transform")
    });
    let rss = peak_rss_bytes().unwrap_or(0.0);
    let (peer_time, weeks) = best_of(3, || {
        series
            .iter()
            .map(|(_, p)| reference::snapshot_weeks(p, params.max_gap_secs).len())
            .sum::<usize>()
    });
    assert_eq!(
        tables.tags.height(),
        weeks,
        "polars and the reference disagree on rows"
    );

    let rate = rows / polars_time.as_secs_f64();
    let bytes_per_row = (rss - rss_before).max(0.0) / rows;
    println!(
        "transform bench: {} series, {rows} snapshots, {} weekly rows",
        series.len(),
        weeks
    );
    println!(
        "  polars weekly_tables (all metrics): {:>8.3} s  {:>12.0} snapshots/s",
        polars_time.as_secs_f64(),
        rate
    );
    println!(
        "  reference loop (weekly values only): {:>7.3} s  {:>12.0} snapshots/s",
        peer_time.as_secs_f64(),
        rows / peer_time.as_secs_f64()
    );
    println!(
        "  ratio reference/polars: {:.2}x (polars also computes signals, roll-ups and signals' joins)",
        peer_time.as_secs_f64() / polars_time.as_secs_f64()
    );
    println!(
        "  peak memory: {:.0} MiB, {:.0} bytes per snapshot above the input",
        rss / 1_048_576.0,
        bytes_per_row
    );
    let mut missed = Vec::new();
    if rate < TARGET_ROWS_PER_SEC {
        missed.push(format!(
            "throughput {rate:.0}/s < target {TARGET_ROWS_PER_SEC:.0}/s"
        ));
    }
    if bytes_per_row > TARGET_BYTES_PER_ROW {
        missed.push(format!(
            "{bytes_per_row:.0} B/row > target {TARGET_BYTES_PER_ROW:.0} B/row"
        ));
    }
    if missed.is_empty() {
        println!("  targets met: >= {TARGET_ROWS_PER_SEC:.0} snapshots/s, <= {TARGET_BYTES_PER_ROW:.0} B/snapshot");
    } else {
        println!("  TARGET MISSED: {}", missed.join("; "));
        std::process::exit(1);
    }
}
