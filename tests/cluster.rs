//! The ClickHouse backend in cluster mode against a real 2-shard x 2-replica cluster
//! (ZooKeeper and four Debian ClickHouse 18.16 servers on loopback), started by
//! `scripts/clickhouse-test-cluster`, which exports `TAGPULSE_TEST_CLUSTER_URLS`,
//! `TAGPULSE_TEST_CLUSTER_NAME` and `TAGPULSE_TEST_CLUSTER_DIR`. A missing cluster follows
//! the one test policy ([`needs`]): under CI it fails; elsewhere the tests say SKIPPED.

use std::collections::BTreeSet;

use clickhouse::Client;

use crate::clickhouse::{
    assert_same_frame, distinct_fixture_observations, fixture_files, runtime, write_daily_csv,
    WEEKLY_FILES,
};
use crate::util::*;

const URLS_ENV: &str = "TAGPULSE_TEST_CLUSTER_URLS";

/// One cluster test at a time: some stop nodes the others would be using.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `scripts/clickhouse-test-cluster` with `args` on the cluster in `dir`; its stdout.
fn cluster_script(args: &[&str], dir: &std::path::Path) -> String {
    let out = std::process::Command::new(repo().join("scripts/clickhouse-test-cluster"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clickhouse-test-cluster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the cluster script's `kill-node N` or `start-node N` on the shared cluster.
fn node_cmd(cmd: &str, n: u8) {
    let dir = std::env::var("TAGPULSE_TEST_CLUSTER_DIR").expect("the script exports the dir");
    cluster_script(&[cmd, &n.to_string()], std::path::Path::new(&dir));
}

/// Restarts node `n` when dropped, so a failed test leaves the cluster whole.
struct Down(u8);

impl Drop for Down {
    fn drop(&mut self) {
        node_cmd("start-node", self.0);
        ddl_ready();
    }
}

/// Waits (up to 3 minutes) until every node runs `ON CLUSTER` DDL again: a node restarted
/// after a SIGKILL answers queries at once, but takes its place in the DDL queue only once
/// its old ZooKeeper session has expired.
fn ddl_ready() {
    let Some((urls, cluster)) = cluster() else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let done = runtime().block_on(async {
            node(&urls[0])
                .with_setting("distributed_ddl_task_timeout", "10")
                .query(&format!(
                    "CREATE DATABASE IF NOT EXISTS tp_ready ON CLUSTER {cluster}"
                ))
                .execute()
                .await
        });
        match done {
            Ok(()) => return,
            Err(e) if std::time::Instant::now() > deadline => {
                panic!("the cluster does not run DDL on every node: {e}")
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
    }
}

/// The cluster's node URLs (node 1 and 2 are shard 1, nodes 3 and 4 shard 2) and name.
fn cluster() -> Option<(Vec<String>, String)> {
    let urls: Vec<String> = std::env::var(URLS_ENV)
        .unwrap_or_default()
        .split(',')
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    let name = std::env::var("TAGPULSE_TEST_CLUSTER_NAME").unwrap_or_default();
    needs(
        &format!("a ClickHouse test cluster ({URLS_ENV})"),
        urls.len() == 4 && !name.is_empty(),
        "start one with eval \"$(scripts/clickhouse-test-cluster start)\"",
    )
    .then_some((urls, name))
}

fn node(url: &str) -> Client {
    Client::default().with_url(url).with_validation(false)
}

/// Rows of a one-column String query on one node.
fn strings(url: &str, query: &str) -> BTreeSet<String> {
    runtime().block_on(async {
        node(url)
            .query(query)
            .fetch_all::<String>()
            .await
            .unwrap()
            .into_iter()
            .collect()
    })
}

fn count(url: &str, query: &str) -> u64 {
    runtime().block_on(async { node(url).query(query).fetch_one::<u64>().await.unwrap() })
}

fn drop_database(urls: &[String], cluster: &str, db: &str) {
    runtime().block_on(async {
        node(&urls[0])
            .query(&format!(
                "DROP DATABASE IF EXISTS {db} ON CLUSTER {cluster}"
            ))
            .execute()
            .await
            .unwrap();
    });
}

fn cluster_storage(urls: &[String], cluster: &str, db: &str) -> String {
    let list: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[storage]\nbackend = \"clickhouse\"\n[storage.clickhouse]\ncluster = \"{cluster}\"\nurls = [{}]\ndatabase = \"{db}\"\ntimeout = \"60s\"\nbatch_rows = 20000\n",
        list.join(", ")
    )
}

#[test]
fn fixtures_on_the_cluster_give_parquets_weekly_tables_with_each_tag_on_one_shard() {
    let Some((urls, cluster)) = cluster() else {
        return;
    };
    let _turn = turn();
    ddl_ready();
    let db = format!("tp_cluster_{}", std::process::id());
    drop_database(&urls, &cluster, &db);

    let pq = tempfile::tempdir().unwrap();
    std::fs::write(pq.path().join("tagpulse.toml"), TAXONOMY).unwrap();
    ok(pq.path(), &["import", &fixture_glob()]);
    let days = write_daily_csv(pq.path());
    ok(pq.path(), &["import", "uses.csv"]);
    ok(pq.path(), &["transform"]);

    let ch = tempfile::tempdir().unwrap();
    std::fs::write(
        ch.path().join("tagpulse.toml"),
        format!("{}\n{TAXONOMY}", cluster_storage(&urls, &cluster, &db)),
    )
    .unwrap();
    let out = ok(ch.path(), &["db", "migrate"]);
    assert!(out.contains("applied migration 6"), "{out}");
    let again = ok(ch.path(), &["db", "migrate"]);
    assert!(
        again.contains("schema version 6 (already current)"),
        "{again}"
    );
    // Three imports of the same files: replication and FINAL keep one row each.
    for _ in 0..3 {
        let out = ok(ch.path(), &["import", &fixture_glob()]);
        assert!(out.contains("imported 114043 snapshots"), "{out}");
    }
    write_daily_csv(ch.path());
    ok(ch.path(), &["import", "uses.csv"]);
    ok(ch.path(), &["transform"]);
    let files = fixture_files('a'..='z');
    let distinct = distinct_fixture_observations(&files) as u64;
    assert_eq!(
        count(
            &urls[0],
            &format!("SELECT count() FROM {db}.snapshots FINAL")
        ),
        distinct
    );

    // compact merges each node's parts: then every observation is stored once.
    let out = ok(ch.path(), &["compact"]);
    assert!(
        out.starts_with("snapshots: ") && out.contains(&format!(" rows -> {distinct} rows")),
        "{out}"
    );

    // Each tag lives on exactly one shard, and both replicas of a shard hold it.
    let tags = |url: &str| {
        strings(
            url,
            &format!("SELECT DISTINCT tag FROM {db}.snapshots_local"),
        )
    };
    let (shard1, shard2) = (tags(&urls[0]), tags(&urls[2]));
    assert!(shard1.is_disjoint(&shard2), "{shard1:?} / {shard2:?}");
    assert_eq!(shard1.len() + shard2.len(), files.len());
    assert!(
        !shard1.is_empty() && !shard2.is_empty(),
        "both shards hold tags"
    );
    runtime().block_on(async {
        for url in [&urls[1], &urls[3]] {
            node(url)
                .query(&format!("SYSTEM SYNC REPLICA {db}.snapshots_local"))
                .execute()
                .await
                .unwrap();
        }
    });
    assert_eq!(tags(&urls[1]), shard1, "replica 2 of shard 1");
    assert_eq!(tags(&urls[3]), shard2, "replica 2 of shard 2");

    // Cell for cell, read from another node than the one written to.
    let export = export_through(ch.path(), &urls[3], &cluster, &db);
    for name in WEEKLY_FILES {
        let a = read(&pq.path().join("data").join(name));
        let b = read(&export.join(name));
        assert_same_frame(name, &a, &b);
    }
    // The analyst views answer across shards.
    assert_eq!(
        count(&urls[2], &format!("SELECT count() FROM {db}.v_tag_history")),
        count(
            &urls[2],
            &format!("SELECT count() FROM {db}.weekly_tag_metrics")
        )
    );
    drop_database(&urls, &cluster, &db);

    // `db import-parquet` moves the Parquet lake into the cluster: read back from another
    // node, its observations and weekly tables equal the lake's.
    let moved = format!("{db}_moved");
    drop_database(&urls, &cluster, &moved);
    let mv = tempfile::tempdir().unwrap();
    std::fs::write(
        mv.path().join("tagpulse.toml"),
        format!("{}\n{TAXONOMY}", cluster_storage(&urls, &cluster, &moved)),
    )
    .unwrap();
    let lake = pq.path().join("data");
    let weekly_rows = read(&lake.join(WEEKLY_FILES[0])).height();
    let out = ok(mv.path(), &["db", "import-parquet", lake.to_str().unwrap()]);
    assert!(
        out.contains(&format!(
            "imported {distinct} snapshots, {days} daily counts and {weekly_rows} weekly tag rows"
        )),
        "{out}"
    );
    let back = export_through(mv.path(), &urls[2], &cluster, &moved);
    for (kind, time) in [("snapshots", "observed_at"), ("daily", "day")] {
        let (a, b) = (lake_rows(&lake, kind, time), lake_rows(&back, kind, time));
        assert_same_frame(kind, &a, &b);
    }
    for name in WEEKLY_FILES {
        assert_same_frame(name, &read(&lake.join(name)), &read(&back.join(name)));
    }
    drop_database(&urls, &cluster, &moved);
}

/// Waits up to `secs` until `query` counts as many rows on `node_url` (a replica back
/// from being down) as on `peer`; panics with `what` when it does not.
fn same_count_soon(node_url: &str, peer: &str, query: &str, secs: u64, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let got =
            runtime().block_on(async { node(node_url).query(query).fetch_one::<u64>().await.ok() });
        let want = count(peer, query);
        if got == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {got:?} of {want} rows"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `db export --to parquet` of `db` with `url` as the only node tagpulse may use, into
/// `dir/export-<port>`; that folder.
fn export_through(dir: &std::path::Path, url: &str, cluster: &str, db: &str) -> std::path::PathBuf {
    let port = url.rsplit(':').next().unwrap();
    let config = dir.join(format!("node-{port}.toml"));
    let mut storage = cluster_storage(&[url.to_string()], cluster, db);
    storage.push_str(TAXONOMY);
    std::fs::write(&config, storage).unwrap();
    let out = dir.join(format!("export-{port}"));
    let (config_arg, out_arg) = (config.to_str().unwrap(), out.to_str().unwrap());
    ok(
        dir,
        &[
            "--config", config_arg, "db", "export", "--to", "parquet", out_arg,
        ],
    );
    out
}

/// Every row of a lake's `observations/<kind>` parts in one frame, sorted by identity.
fn lake_rows(lake: &std::path::Path, kind: &str, time: &str) -> polars::prelude::DataFrame {
    read_dir_frames(&lake.join("observations").join(kind))
        .sort(
            ["platform", "tag", "metric", time],
            polars::prelude::SortMultipleOptions::default(),
        )
        .unwrap()
}

#[test]
fn a_replica_down_fails_no_import_it_catches_up_and_the_next_node_answers() {
    let Some((urls, cluster)) = cluster() else {
        return;
    };
    let _turn = turn();
    ddl_ready();
    let db = format!("tp_cluster_down_{}", std::process::id());
    drop_database(&urls, &cluster, &db);
    let ch = tempfile::tempdir().unwrap();
    std::fs::write(
        ch.path().join("tagpulse.toml"),
        format!("{}\n{TAXONOMY}", cluster_storage(&urls, &cluster, &db)),
    )
    .unwrap();
    ok(ch.path(), &["db", "migrate"]);

    // Node 2, shard 1's second replica, killed while an import runs.
    let import = command(ch.path(), &["import", &fixture_glob()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    node_cmd("kill-node", 2);
    let down = Down(2);
    let out = import.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the import failed with a replica down: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = fixture_files('a'..='z');
    let distinct = distinct_fixture_observations(&files) as u64;
    let final_count = format!("SELECT count() FROM {db}.snapshots FINAL");
    assert_eq!(count(&urls[0], &final_count), distinct);

    // Restarted, the replica catches up with identical row counts.
    drop(down);
    let local = format!("SELECT count() FROM {db}.snapshots_local FINAL");
    same_count_soon(&urls[1], &urls[0], &local, 90, "node 2 did not catch up");

    // Node 1, the first url, down: tagpulse goes on with the next node that answers.
    node_cmd("kill-node", 1);
    let down1 = Down(1);
    let out = ok(ch.path(), &["db", "status"]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("snapshots "))
        .unwrap();
    assert!(line.ends_with(&format!(" {distinct} rows")), "{out}");
    let days = write_daily_csv(ch.path());
    let out = ok(ch.path(), &["import", "uses.csv"]);
    assert!(out.contains(&format!("and {days} daily counts")), "{out}");
    drop(down1);
    let out = ok(ch.path(), &["transform"]);
    assert!(out.contains("weekly tables: 2182 tag rows"), "{out}");
    drop_database(&urls, &cluster, &db);
}

/// A cluster of this test's own, started by the script in a temp folder and stopped when
/// dropped: after a restart, 18.16 may take minutes to run `ON CLUSTER` DDL on the nodes
/// again, which must not hold up the other tests.
struct PrivateCluster {
    dir: tempfile::TempDir,
    urls: Vec<String>,
}

impl PrivateCluster {
    fn start() -> PrivateCluster {
        let dir = tempfile::tempdir().unwrap();
        let env = cluster_script(&["start"], dir.path());
        let urls = env
            .lines()
            .find_map(|l| l.strip_prefix(&format!("export {URLS_ENV}=")))
            .expect("the script prints the urls")
            .split(',')
            .map(str::to_string)
            .collect();
        PrivateCluster { dir, urls }
    }

    fn node(&self, cmd: &str, n: u8) {
        cluster_script(&[cmd, &n.to_string()], self.dir.path());
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(repo().join("scripts/clickhouse-test-cluster"))
            .args(["stop", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}

#[test]
fn a_whole_shard_down_is_named_and_spooled_and_a_replica_down_fails_no_transform() {
    let Some((_, cluster)) = cluster() else {
        return;
    };
    let private = PrivateCluster::start();
    let urls = &private.urls;
    let db = "tp_cluster_shard";
    let ch = tempfile::tempdir().unwrap();
    std::fs::write(
        ch.path().join("tagpulse.toml"),
        format!("{}\n{TAXONOMY}", cluster_storage(urls, &cluster, db)),
    )
    .unwrap();
    ok(ch.path(), &["db", "migrate"]);

    // Shard 2 is nodes 3 and 4, both stopped.
    private.node("stop-node", 3);
    private.node("stop-node", 4);
    let (code, err) = fails(ch.path(), &["import", &fixture_glob()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("shard 2 (127.0.0.1:")
            && err.contains(&format!("of cluster {cluster} did not answer")),
        "{err}"
    );
    assert!(
        err.contains("kept 114043 snapshots and 0 daily counts in the spool"),
        "{err}"
    );
    private.node("start-node", 3);
    private.node("start-node", 4);

    // Back up: the next import delivers the spool first, and every observation is there once.
    ok(ch.path(), &["import", &fixture_glob()]);
    let files = fixture_files('a'..='z');
    assert_eq!(
        count(
            &urls[0],
            &format!("SELECT count() FROM {db}.snapshots FINAL")
        ),
        distinct_fixture_observations(&files) as u64
    );

    // A replica down fails no transform: the nodes that answer swap the new weekly tables
    // in, and the stopped one builds them from the DDL queue and its peer once it is back.
    private.node("stop-node", 2);
    let out = ok(ch.path(), &["transform"]);
    assert!(out.contains("weekly tables: 2174 tag rows"), "{out}");
    let weekly = format!("SELECT count() FROM {db}.weekly_tag_metrics");
    assert_eq!(count(&urls[2], &weekly), 2174);
    private.node("start-node", 2);
    let local = format!("SELECT count() FROM {db}.weekly_tag_metrics_local");
    same_count_soon(
        &urls[1],
        &urls[0],
        &local,
        120,
        "node 2 did not build the weekly tables",
    );
}
