//! Store benchmark: observations into and out of ClickHouse, against the embedded Parquet
//! lake as the peer, on the fixture series replicated (default 5×, about 570k snapshots).
//!
//! `cargo bench --bench store` with `TAGPULSE_TEST_CLICKHOUSE_URL` pointing at a server
//! (`eval "$(scripts/clickhouse-test-server start)"`); without it the ClickHouse half is
//! skipped. `TAGPULSE_BENCH_SCALE=N` changes the size. It prints rows/s for append and for
//! the deduplicated read the transform does, the ratio to Parquet, and exits 1 when a
//! target below is missed. `TAGPULSE_BENCH_BATCH_ROWS` overrides `batch_rows`.

mod common;

use std::time::Instant;

use common::{frame, replicated};
use polars::prelude::*;
use tagpulse_config::ClickHouseConfig;
use tagpulse_store::{ClickHouseStore, ParquetStore, Store};

/// Target: rows per second into ClickHouse (batched RowBinary inserts, server on loopback).
/// The fixtures span 54 months, so every INSERT writes 54 parts, which the server pays for.
const TARGET_INSERT_PER_SEC: f64 = 150_000.0;
/// Target: our insert takes at most this multiple of the native `clickhouse-client`'s
/// insert of the same rows (the peer; measured when the test server script started it).
const TARGET_VS_NATIVE_CLIENT: f64 = 2.0;
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
        batch_rows: std::env::var("TAGPULSE_BENCH_BATCH_ROWS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(ClickHouseConfig::default().batch_rows),
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
    let native = native_client_insert(&cfg.database, &df);
    if let Some(secs) = native {
        println!(
            "  clickhouse-client (native TCP, TSV) insert {:>7.3} s {:>10.0} rows/s   ratio ours/native {:.2}x",
            secs,
            rate(rows, secs),
            ch_insert / secs
        );
    } else {
        println!("  native clickhouse-client peer skipped (needs clickhouse-client and TAGPULSE_TEST_CLICKHOUSE_DIR)");
    }
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
    if let Some(secs) = native {
        if ch_insert / secs > TARGET_VS_NATIVE_CLIENT {
            missed.push(format!(
                "insert {:.2}x the native client's time > {TARGET_VS_NATIVE_CLIENT}x",
                ch_insert / secs
            ));
        }
    }
    if missed.is_empty() {
        println!("  targets met: insert >= {TARGET_INSERT_PER_SEC:.0}/s and <= {TARGET_VS_NATIVE_CLIENT}x the native client, scan >= {TARGET_SCAN_PER_SEC:.0}/s");
    } else {
        println!("  TARGET MISSED: {}", missed.join("; "));
        std::process::exit(1);
    }
}

/// Seconds `clickhouse-client` takes to insert `df` as TSV into a copy of `snapshots`, on
/// the server `scripts/clickhouse-test-server` started (its TCP port is in its directory).
fn native_client_insert(db: &str, df: &DataFrame) -> Option<f64> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = std::env::var("TAGPULSE_TEST_CLICKHOUSE_DIR").ok()?;
    let ports = std::fs::read_to_string(std::path::Path::new(&dir).join("ports")).ok()?;
    let tcp = ports.split_whitespace().nth(1)?.to_string();
    let client = |query: &str, input: Option<&[u8]>| -> Option<f64> {
        let mut child = Command::new("clickhouse-client")
            .args(["--port", &tcp, "--query", query])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let t = Instant::now();
        child
            .stdin
            .take()?
            .write_all(input.unwrap_or_default())
            .ok()?;
        child
            .wait()
            .ok()?
            .success()
            .then(|| t.elapsed().as_secs_f64())
    };
    client(&format!("CREATE TABLE {db}.peer AS {db}.snapshots"), None)?;
    let mut tsv = Vec::with_capacity(df.height() * 80);
    let col = |n: &str| {
        df.column(n)
            .expect("column")
            .as_materialized_series()
            .clone()
    };
    let (tag, at, value) = (col("tag"), col("observed_at"), col("value"));
    let (tag, at, value) = (
        tag.str().expect("str"),
        at.datetime().expect("datetime").physical(),
        value.u64().expect("u64"),
    );
    for ((t, ms), v) in tag.iter().zip(at.iter()).zip(value.iter()) {
        // 18.16 reads a DateTime as 19 characters unless it is a 10-digit timestamp.
        let at = chrono::DateTime::from_timestamp(ms.unwrap_or_default() / 1000, 0)?
            .format("%Y-%m-%d %H:%M:%S");
        writeln!(
            tsv,
            "tiktok\t{}\tviews\t{at}\t{}\tbench\t2026-01-01 00:00:00\t0",
            t.unwrap_or_default(),
            v.unwrap_or_default()
        )
        .ok()?;
    }
    client(&format!("INSERT INTO {db}.peer FORMAT TSV"), Some(&tsv))
}
