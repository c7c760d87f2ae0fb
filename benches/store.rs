//! Store benchmark: observations into and out of ClickHouse, against the embedded Parquet
//! lake as the peer, on the fixture series replicated (default 5×, about 570k snapshots).
//!
//! `cargo bench --bench store` with `TAGPULSE_TEST_CLICKHOUSE_URL` pointing at a server
//! (`eval "$(scripts/clickhouse-test-server start)"`); without it the ClickHouse half is
//! skipped. `TAGPULSE_BENCH_SCALE=N` changes the size. It prints rows/s for append and for
//! the deduplicated read the transform does, the ratio to Parquet, and exits 1 when a
//! target below is missed.

mod common;

use std::time::Instant;

use common::{frame, replicated};
use polars::prelude::*;
use tagpulse_config::ClickHouseConfig;
use tagpulse_store::{ClickHouseStore, ParquetStore, Store};

/// Target: rows per second into ClickHouse (batched RowBinary inserts, server on loopback).
const TARGET_INSERT_PER_SEC: f64 = 500_000.0;
/// Target: rows per second out of ClickHouse into polars (`FINAL` read).
const TARGET_SCAN_PER_SEC: f64 = 500_000.0;

fn rate(rows: usize, secs: f64) -> f64 {
    rows as f64 / secs
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let scale: usize = std::env::var("TAGPULSE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut df = frame(&replicated(scale));
    let rows = df.height();
    let tmp = tempfile::tempdir().expect("temp dir");
    println!("store bench: {rows} snapshots");

    let lake = ParquetStore::open(&tmp.path().join("lake")).expect("lake");
    let t = Instant::now();
    lake.append_frames(&mut df, &mut DataFrame::empty())
        .expect("parquet append");
    let pq_append = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = lake
        .scan_snapshots()
        .await
        .expect("scan")
        .collect()
        .expect("collect");
    let pq_scan = t.elapsed().as_secs_f64();
    assert_eq!(back.height(), rows);
    println!(
        "  parquet    append {:>7.3} s {:>10.0} rows/s   scan {:>7.3} s {:>10.0} rows/s",
        pq_append,
        rate(rows, pq_append),
        pq_scan,
        rate(rows, pq_scan)
    );

    let Ok(url) = std::env::var("TAGPULSE_TEST_CLICKHOUSE_URL") else {
        println!("  clickhouse skipped: TAGPULSE_TEST_CLICKHOUSE_URL is not set");
        return;
    };
    let cfg = ClickHouseConfig {
        url,
        database: format!("tp_bench_{}", std::process::id()),
        ..ClickHouseConfig::default()
    };
    let ch = ClickHouseStore::open(&cfg, &tmp.path().join("spool")).expect("open");
    ch.migrate().await.expect("migrate");
    let t = Instant::now();
    ch.insert_frames(&df, &DataFrame::empty())
        .await
        .expect("insert");
    let ch_insert = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = ch
        .scan_snapshots()
        .await
        .expect("scan")
        .collect()
        .expect("collect");
    let ch_scan = t.elapsed().as_secs_f64();
    assert_eq!(back.height(), rows);
    let (ins, scan) = (rate(rows, ch_insert), rate(rows, ch_scan));
    println!(
        "  clickhouse insert {:>7.3} s {:>10.0} rows/s   scan {:>7.3} s {:>10.0} rows/s",
        ch_insert, ins, ch_scan, scan
    );
    println!(
        "  ratio parquet/clickhouse: append {:.2}x, scan {:.2}x",
        ch_insert / pq_append,
        ch_scan / pq_scan
    );
    let drop = format!("DROP DATABASE {}", cfg.database);
    let _ = clickhouse::Client::default()
        .with_url(&cfg.url)
        .with_validation(false)
        .query(&drop)
        .execute()
        .await;
    let mut missed = Vec::new();
    if ins < TARGET_INSERT_PER_SEC {
        missed.push(format!("insert {ins:.0}/s < {TARGET_INSERT_PER_SEC:.0}/s"));
    }
    if scan < TARGET_SCAN_PER_SEC {
        missed.push(format!("scan {scan:.0}/s < {TARGET_SCAN_PER_SEC:.0}/s"));
    }
    if missed.is_empty() {
        println!("  targets met: insert >= {TARGET_INSERT_PER_SEC:.0}/s, scan >= {TARGET_SCAN_PER_SEC:.0}/s");
    } else {
        println!("  TARGET MISSED: {}", missed.join("; "));
        std::process::exit(1);
    }
}
