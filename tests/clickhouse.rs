//! End-to-end tests of the ClickHouse backend against a real server.
//!
//! The server comes from `scripts/clickhouse-test-server`, which exports
//! `TAGPULSE_TEST_CLICKHOUSE_URL`. A missing server follows the one test policy
//! ([`needs`]): under CI (`CI=true`) it fails every test here; elsewhere they say SKIPPED
//! and return. Each test works in its own fresh
//! database; the spool test starts (and stops, and restarts) a private server of its own.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;
use clickhouse::Client;
use polars::prelude::*;

const SERVER_ENV: &str = "TAGPULSE_TEST_CLICKHOUSE_URL";

/// The shared test server, or `None` (after [`needs`] said so).
fn server_url() -> Option<String> {
    let url = std::env::var(SERVER_ENV).ok().filter(|u| !u.is_empty());
    needs(
        &format!("a ClickHouse server ({SERVER_ENV})"),
        url.is_some(),
        "start one with eval \"$(scripts/clickhouse-test-server start)\"",
    )
    .then_some(url)
    .flatten()
}

macro_rules! server_or_skip {
    () => {
        match server_url() {
            Some(url) => url,
            None => return,
        }
    };
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A SQL client on `db` (validation off, as ClickHouse 18.16 needs).
fn sql(url: &str, db: &str) -> Client {
    Client::default()
        .with_url(url)
        .with_database(db)
        .with_validation(false)
}

/// A test's own database: dropped before use, and again when the test passes (a failed
/// test leaves it for inspection).
struct TestDb {
    url: String,
    name: String,
}

impl TestDb {
    fn drop_database(&self) {
        let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
        runtime().block_on(async {
            Client::default()
                .with_url(&self.url)
                .with_validation(false)
                .query(&sql)
                .execute()
                .await
                .unwrap();
        });
    }
}

impl std::ops::Deref for TestDb {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.drop_database();
        }
    }
}

fn fresh_db(url: &str, test: &str) -> TestDb {
    let db = TestDb {
        url: url.to_string(),
        name: format!("tp_{test}_{}", std::process::id()),
    };
    db.drop_database();
    db
}

fn count(url: &str, db: &str, query: &str) -> u64 {
    runtime().block_on(async { sql(url, db).query(query).fetch_one::<u64>().await.unwrap() })
}

fn write_config(dir: &Path, storage: &str, rest: &str) {
    fs::write(dir.join("tagpulse.toml"), format!("{storage}\n{rest}")).unwrap();
}

fn ch_storage(url: &str, db: &str) -> String {
    format!(
        "[storage]\nbackend = \"clickhouse\"\n[storage.clickhouse]\nurl = \"{url}\"\ndatabase = \"{db}\"\ntimeout = \"20s\"\nbatch_rows = 20000\n"
    )
}

/// Daily Mastodon uses of two fixture tags in May 2025 (days 7 and 19 missing), so the
/// daily-count path and a second platform run through both stores.
pub(crate) fn write_daily_csv(dir: &Path) -> usize {
    let mut csv = String::from("tag,day,value,platform,metric\n");
    let mut n = 0;
    for tag in ["gracereilly", "heiracademy"] {
        for day in (1..=25).filter(|d| *d != 7 && *d != 19) {
            csv.push_str(&format!(
                "{tag},2025-05-{day:02},{},mastodon,uses\n",
                day * 3 + tag.len()
            ));
            n += 1;
        }
    }
    fs::write(dir.join("uses.csv"), csv).unwrap();
    n
}

/// Distinct (tag, observed_at) pairs in the fixture files, counted straight from the text.
pub(crate) fn distinct_fixture_observations(files: &[PathBuf]) -> usize {
    let mut seen = BTreeSet::new();
    for f in files {
        let tag = f.file_stem().unwrap().to_string_lossy().to_lowercase();
        for line in fs::read_to_string(f).unwrap().lines() {
            if let Some((ts, _)) = line.split_once('\t') {
                seen.insert((tag.clone(), ts.to_string()));
            }
        }
    }
    seen.len()
}

pub(crate) fn fixture_files(first_letters: std::ops::RangeInclusive<char>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "tsv")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.chars().next())
                    .is_some_and(|c| first_letters.contains(&c.to_ascii_lowercase()))
        })
        .collect();
    files.sort();
    files
}

pub(crate) fn assert_same_frame(what: &str, a: &DataFrame, b: &DataFrame) {
    assert_eq!(a.schema(), b.schema(), "{what}: schemas differ");
    assert_eq!(a.height(), b.height(), "{what}: row counts differ");
    assert!(a.equals_missing(b), "{what}: cells differ\n{a}\n{b}");
}

/// The weekly tables of a lake, under its `weekly` generation link.
pub(crate) const WEEKLY_FILES: [&str; 4] = [
    "weekly/weekly_tag_metrics.parquet",
    "weekly/weekly_occupation_metrics.parquet",
    "weekly/weekly_brand_metrics.parquet",
    "weekly/occupation_tags.parquet",
];

#[test]
fn fixtures_in_clickhouse_give_the_same_weekly_tables_and_report_as_parquet() {
    let url = server_or_skip!();
    let db = fresh_db(&url, "same_as_parquet");

    let pq = tempfile::tempdir().unwrap();
    write_config(pq.path(), "", TAXONOMY);
    ok(pq.path(), &["import", &fixture_glob()]);
    let days = write_daily_csv(pq.path());
    ok(pq.path(), &["import", "uses.csv"]);
    ok(pq.path(), &["transform"]);
    ok(pq.path(), &["report", "--week", "2025-W20"]);

    let ch = tempfile::tempdir().unwrap();
    write_config(ch.path(), &ch_storage(&url, &db), TAXONOMY);
    let out = ok(ch.path(), &["import", &fixture_glob()]);
    assert!(out.contains("imported 114043 snapshots"), "{out}");
    assert!(
        out.contains(&format!("ClickHouse database {}", &*db)),
        "{out}"
    );
    write_daily_csv(ch.path());
    let out = ok(ch.path(), &["import", "uses.csv"]);
    assert!(
        out.contains(&format!("imported 0 snapshots and {days} daily counts")),
        "{out}"
    );
    let out = ok(ch.path(), &["transform"]);
    assert!(out.contains("weekly tables: 2182 tag rows"), "{out}");
    ok(ch.path(), &["report", "--week", "2025-W20"]);
    // Nothing may have been written to a local lake: the data lives in ClickHouse.
    assert!(!ch.path().join("data/observations").exists());
    // Each command is a run in ClickHouse's `runs` too, with what it stored.
    assert_eq!(
        count(&url, &db, "SELECT count() FROM runs WHERE outcome = 'ok'"),
        4
    );
    assert_eq!(
        count(
            &url,
            &db,
            "SELECT sum(rows_written) FROM runs WHERE job = 'import'"
        ),
        114_043 + days as u64
    );
    assert_eq!(
        count(&url, &db, "SELECT sum(rows_written) FROM runs WHERE job = 'transform'"),
        count(
            &url,
            &db,
            "SELECT (SELECT count() FROM weekly_tag_metrics) + (SELECT count() FROM weekly_occupation_metrics) + (SELECT count() FROM weekly_brand_metrics)"
        )
    );

    // Cell for cell: the weekly tables, read back out of ClickHouse, equal Parquet's.
    let out = ok(ch.path(), &["db", "export", "--to", "parquet", "export"]);
    assert!(
        out.contains(&format!(
            "exported 114043 snapshots, {days} daily counts and 2182 weekly tag rows"
        )),
        "{out}"
    );
    assert_eq!(
        count(&url, &db, "SELECT count() FROM daily_counts FINAL"),
        days as u64
    );
    assert_eq!(
        count(
            &url,
            &db,
            "SELECT countIf(coverage IS NOT NULL) FROM weekly_tag_metrics"
        ),
        8,
        "two tags x four weeks of daily counts"
    );
    for name in WEEKLY_FILES {
        let a = read(&pq.path().join("data").join(name));
        let b = read(&ch.path().join("export").join(name));
        assert!(
            a.height() > 0,
            "{name} is empty: the test would prove nothing"
        );
        assert_same_frame(name, &a, &b);
    }

    // The same numbers through SQL alone, without tagpulse's own read path.
    let tags = read(&pq.path().join("data/weekly/weekly_tag_metrics.parquet"));
    let occ = read(
        &pq.path()
            .join("data/weekly/weekly_occupation_metrics.parquet"),
    );
    let brands = read(&pq.path().join("data/weekly/weekly_brand_metrics.parquet"));
    assert_eq!(
        count(&url, &db, "SELECT count() FROM weekly_tag_metrics"),
        tags.height() as u64
    );
    assert_eq!(
        count(&url, &db, "SELECT count() FROM weekly_occupation_metrics"),
        occ.height() as u64
    );
    assert_eq!(
        count(&url, &db, "SELECT count() FROM weekly_brand_metrics"),
        brands.height() as u64
    );
    assert_eq!(
        count(
            &url,
            &db,
            "SELECT count() FROM weekly_tag_metrics WHERE breakout = 1"
        ),
        tags.column("breakout")
            .unwrap()
            .bool()
            .unwrap()
            .sum()
            .unwrap() as u64
    );
    // The hand-checked cell of the Parquet e2e test, bit for bit.
    let total_end: Option<f64> = runtime().block_on(async {
        sql(&url, &db)
            .query(
                "SELECT total_end FROM weekly_tag_metrics WHERE tag = ? AND week_start = toDate(?)",
            )
            .bind("springguardiansandsongbirds")
            .bind("2025-05-19")
            .fetch_one()
            .await
            .unwrap()
    });
    assert_eq!(total_end, Some(789300.0 + 100.0 * 9914.0 / 14562.0));

    // The analysts' views answer from the same tables.
    let latest: (u64, u64) = runtime().block_on(async {
        sql(&url, &db)
            .query("SELECT count(), uniqExact(week_start) FROM v_latest_week_occupations")
            .fetch_one()
            .await
            .unwrap()
    });
    assert_eq!(latest.1, 1, "one week in v_latest_week_occupations");
    assert_eq!(latest.0, 2, "both occupations in the latest complete week");
    let history: Vec<(String, String)> = runtime().block_on(async {
        sql(&url, &db)
            .query("SELECT DISTINCT tag, occupations FROM v_tag_history WHERE tag IN ('gracereilly', 'bitterthorn') ORDER BY tag")
            .fetch_all()
            .await
            .unwrap()
    });
    assert_eq!(
        history,
        [
            ("bitterthorn".to_string(), String::new()),
            ("gracereilly".to_string(), "Romantasy authors".to_string())
        ]
    );

    // Every example query of the README runs on this server and finds rows.
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let queries: Vec<&str> = readme
        .split("```sql\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert!(
        queries.len() >= 5,
        "README has {} example queries",
        queries.len()
    );
    for q in queries {
        let q = q
            .replace("'Acme Care'", "'Acme Books'")
            .replace("'nurselife'", "'gracereilly'");
        let tsv = runtime().block_on(async {
            sql(&url, &db)
                .query(&q)
                .fetch_bytes("TabSeparated")
                .unwrap()
                .collect()
                .await
        });
        let tsv = tsv.unwrap_or_else(|e| panic!("README query fails: {e}\n{q}"));
        assert!(!tsv.is_empty(), "README query finds nothing:\n{q}");
    }

    // The report renders the same figures from either store.
    for file in [
        "tags.csv",
        "occupations.csv",
        "summary.md",
        "occupations-tiktok-views.svg",
        "brand-share-tiktok-views.svg",
    ] {
        // Minus the generation-time line, which differs by the minute.
        let text = |dir: &Path| -> String {
            fs::read_to_string(dir.join("reports/2025-W20").join(file))
                .unwrap()
                .lines()
                .filter(|l| !l.contains("(generated "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (a, b) = (text(pq.path()), text(ch.path()));
        assert!(a.lines().count() >= 3, "{file} is nearly empty");
        assert_eq!(a, b, "{file} differs between the backends");
    }
}

#[test]
fn importing_the_same_files_three_times_keeps_one_row_per_observation() {
    let url = server_or_skip!();
    let db = fresh_db(&url, "triple");
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &ch_storage(&url, &db), TAXONOMY);
    let files = fixture_files('a'..='z');
    assert_eq!(files.len(), 32);
    let distinct = distinct_fixture_observations(&files) as u64;

    ok(dir.path(), &["import", &fixture_glob()]);
    ok(dir.path(), &["transform"]);
    ok(dir.path(), &["db", "export", "--to", "parquet", "once"]);
    for _ in 0..2 {
        ok(dir.path(), &["import", &fixture_glob()]);
    }
    assert_eq!(
        count(&url, &db, "SELECT count() FROM snapshots FINAL"),
        distinct
    );
    assert_eq!(
        count(
            &url,
            &db,
            "SELECT uniqExact(platform, tag, metric, observed_at) FROM snapshots"
        ),
        distinct
    );
    ok(dir.path(), &["transform"]);
    ok(dir.path(), &["db", "export", "--to", "parquet", "thrice"]);
    for name in WEEKLY_FILES {
        let a = read(&dir.path().join("once").join(name));
        let b = read(&dir.path().join("thrice").join(name));
        assert_same_frame(name, &a, &b);
    }
    // `compact` merges the server's parts (the server may have merged some already):
    // each observation is then stored once.
    let out = ok(dir.path(), &["compact"]);
    assert!(
        out.contains(&format!(" rows -> {distinct} rows")) && out.starts_with("snapshots: "),
        "{out}"
    );
    assert_eq!(count(&url, &db, "SELECT count() FROM snapshots"), distinct);
    ok(dir.path(), &["transform"]);
    ok(
        dir.path(),
        &["db", "export", "--to", "parquet", "compacted"],
    );
    for name in WEEKLY_FILES {
        let a = read(&dir.path().join("once").join(name));
        let b = read(&dir.path().join("compacted").join(name));
        assert_same_frame(name, &a, &b);
    }
}

/// A private server in `dir`, driven through the repo's script.
struct PrivateServer {
    dir: PathBuf,
}

impl PrivateServer {
    fn script(&self, cmd: &str) -> String {
        let out = Command::new(repo().join("scripts/clickhouse-test-server"))
            .args([cmd, "--dir"])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "clickhouse-test-server {cmd} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn start(&self) -> String {
        let env = self.script("start");
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {SERVER_ENV}=")))
            .expect("the script prints the URL")
            .to_string()
    }

    fn stop(&self) {
        self.script("stop");
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/clickhouse-test-server"))
            .args(["stop", "--dir"])
            .arg(&self.dir)
            .output();
    }
}

fn spooled_parts(dir: &Path, db: &str) -> usize {
    ["snapshots", "daily"]
        .iter()
        .map(|k| {
            let d = dir
                .join("data/clickhouse-spool")
                .join(db)
                .join("observations")
                .join(k);
            fs::read_dir(d).map(|r| r.count()).unwrap_or(0)
        })
        .sum()
}

fn file_source(id: &str, files: &[PathBuf]) -> String {
    let paths = files
        .iter()
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    format!("[[sources]]\nkind = \"file\"\nid = \"{id}\"\npaths = [{paths}]\n")
}

#[test]
fn a_stopped_server_means_spool_then_exactly_once_delivery() {
    // Needs the shared server only as proof that the script could install ClickHouse.
    let _ = server_or_skip!();
    let home = tempfile::tempdir().unwrap();
    let server = PrivateServer {
        dir: home.path().join("server"),
    };
    let url = server.start();
    let db = "spool_test";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (first, second, third) = (
        fixture_files('a'..='c'),
        fixture_files('d'..='k'),
        fixture_files('l'..='z'),
    );

    write_config(
        d,
        &ch_storage(&url, db),
        &format!("{TAXONOMY}\n{}", file_source("first", &first)),
    );
    ok(d, &["run", "--week", "2025-W20"]);
    let after_first = distinct_fixture_observations(&first) as u64;
    assert_eq!(
        count(&url, db, "SELECT count() FROM snapshots FINAL"),
        after_first
    );

    // The server goes away: the run fails loudly, but the observations are safe on disk.
    server.stop();
    write_config(
        d,
        &ch_storage(&url, db),
        &format!("{TAXONOMY}\n{}", file_source("second", &second)),
    );
    let (code, err) = fails(d, &["run", "--week", "2025-W20"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("ClickHouse at {url}: cannot connect")),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    let spooled = distinct_fixture_observations(&second);
    assert!(
        err.contains(&format!(
            "kept {spooled} snapshots and 0 daily counts in the spool"
        )),
        "{err}"
    );
    assert!(
        err.contains("the next run that reaches the server delivers them"),
        "{err}"
    );
    assert!(spooled_parts(d, db) > 0);

    // Back up: the next run delivers the spool along with its own source.
    server.start();
    write_config(
        d,
        &ch_storage(&url, db),
        &format!("{TAXONOMY}\n{}", file_source("third", &third)),
    );
    let out = tagpulse(d, &["run", "--week", "2025-W20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("delivered spooled observations"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        spooled_parts(d, db),
        0,
        "the spool is emptied once delivered"
    );
    let everything: Vec<PathBuf> = [first.clone(), second.clone(), third.clone()].concat();
    let all = distinct_fixture_observations(&everything) as u64;
    assert_eq!(count(&url, db, "SELECT count() FROM snapshots FINAL"), all);
    assert_eq!(
        count(&url, db, "SELECT count() FROM snapshots"),
        all,
        "delivered exactly once"
    );
    assert_eq!(
        count(
            &url,
            db,
            "SELECT count() FROM snapshots WHERE source = 'second'"
        ),
        spooled as u64
    );

    // Stopped in the middle of an import's inserts (small batches, stopped as soon as the
    // first batch is visible): a restart and one more run store everything exactly once.
    // A new platform makes every observation new, so only a working spool can pass.
    // Batches this small keep the import going long enough to be caught mid-way even on a
    // busy machine (each is one INSERT).
    let small_batches = ch_storage(&url, db).replace("batch_rows = 20000", "batch_rows = 50");
    write_config(d, &small_batches, TAXONOMY);
    let mut child = Command::new(BIN)
        .args(["import", "--platform", "instagram", &fixture_glob()])
        .current_dir(d)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let visible = "SELECT count() FROM snapshots WHERE platform = 'instagram'";
    let (rt, poll) = (runtime(), sql(&url, db));
    let mut stopped_mid_insert = false;
    for _ in 0..6000 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let seen = rt.block_on(async { poll.query(visible).fetch_one::<u64>().await });
        if seen.is_ok_and(|n| n > 0) {
            server.stop();
            stopped_mid_insert = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stopped_mid_insert,
        "the import finished before the stop: {stderr}"
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("kept {all} snapshots")),
        "{stderr}"
    );
    assert!(spooled_parts(d, db) > 0);
    server.start();
    ok(d, &["transform"]);
    assert_eq!(spooled_parts(d, db), 0);
    assert_eq!(
        count(
            &url,
            db,
            "SELECT count() FROM snapshots FINAL WHERE platform = 'instagram'"
        ),
        all
    );
    assert_eq!(
        count(&url, db, "SELECT count() FROM snapshots FINAL"),
        2 * all
    );
}

#[test]
fn quotes_backslashes_and_sql_in_names_are_stored_verbatim() {
    let url = server_or_skip!();
    let db = fresh_db(&url, "verbatim");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brand = r#"O'Brien "Care" \ Co'; DROP TABLE snapshots; --"#;
    let occupation = r#"Night \"shift\" nurses'); DELETE FROM x WHERE ('1'='1"#;
    // Source ids name files under data_dir, so quotes never reach them (refused at load,
    // see the config tests); the id here has every character an id may have.
    let source = "Src-1_x";
    let toml_str = |s: &str| format!("{:?}", s);
    let files = fixture_files('g'..='g');
    let rest = format!(
        "[[occupations]]\nname = {}\ntags = [\"gracereilly\"]\n\n[[brands]]\nname = {}\ntags = [\"gracereilly\"]\noccupations = [{}]\n\n{}",
        toml_str(occupation),
        toml_str(brand),
        toml_str(occupation),
        file_source("placeholder", &files).replace("\"placeholder\"", &toml_str(source)),
    );
    write_config(d, &ch_storage(&url, &db), &rest);
    ok(d, &["run", "--week", "2025-W20"]);

    let c = sql(&url, &db);
    let (brands, occupations, sources, tagged): (Vec<String>, Vec<String>, Vec<String>, u64) =
        runtime().block_on(async {
            (
                c.query("SELECT DISTINCT brand FROM weekly_brand_metrics")
                    .fetch_all()
                    .await
                    .unwrap(),
                c.query("SELECT DISTINCT occupation FROM occupation_tags WHERE tag = ?")
                    .bind("gracereilly")
                    .fetch_all()
                    .await
                    .unwrap(),
                c.query("SELECT DISTINCT source FROM snapshots")
                    .fetch_all()
                    .await
                    .unwrap(),
                c.query(
                    "SELECT count() FROM weekly_brand_metrics WHERE brand = ? AND occupation = ?",
                )
                .bind(brand)
                .bind(occupation)
                .fetch_one()
                .await
                .unwrap(),
            )
        });
    assert_eq!(brands, [brand]);
    assert!(
        occupations.contains(&occupation.to_string()),
        "{occupations:?}"
    );
    assert_eq!(sources, [source]);
    assert!(tagged > 0);
    assert!(
        count(&url, &db, "SELECT count() FROM snapshots") > 0,
        "snapshots survived"
    );
    // Read back through tagpulse too: the report names the occupation verbatim (CSV-quoted).
    let csv = fs::read_to_string(d.join("reports/2025-W20/occupations.csv")).unwrap();
    assert!(csv.contains(r#"Night \""shift\"" nurses');"#), "{csv}");

    // Tags cannot carry quotes at all: the config is refused, naming the place.
    write_config(
        d,
        &ch_storage(&url, &db),
        "[[occupations]]\nname = \"x\"\ntags = [\"it's\"]\n",
    );
    let (code, err) = fails(d, &["config"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("tagpulse.toml:11: occupations[0].tags[0]: invalid tag"),
        "{err}"
    );
}

#[test]
fn migrate_is_idempotent_status_tells_and_secrets_stay_out_of_output() {
    let url = server_or_skip!();
    let db = fresh_db(&url, "migrate");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(d, &ch_storage(&url, &db), "");

    let out = ok(d, &["db", "status"]);
    assert!(
        out.contains("server version 18.") || out.contains("server version 2"),
        "{out}"
    );
    assert_eq!(out.matches("  pending  ").count(), 6, "{out}");
    let out = ok(d, &["db", "migrate"]);
    assert!(
        out.contains("applied migration 1") && out.contains("applied migration 6"),
        "{out}"
    );
    assert!(out.contains("schema version 6 (migrated)"), "{out}");
    let out = ok(d, &["db", "migrate"]);
    assert!(out.contains("schema version 6 (already current)"), "{out}");
    assert!(!out.contains("applied migration"), "{out}");
    assert_eq!(count(&url, &db, "SELECT count() FROM schema_migrations"), 6);
    // Every weekly and run table has exactly as many columns as the model defines.
    for def in tagpulse_model::tables::WEEKLY_TABLES
        .iter()
        .chain(tagpulse_model::tables::RUN_TABLES.iter())
    {
        let sql = format!(
            "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = '{}'",
            def.name
        );
        assert_eq!(
            count(&url, &db, &sql),
            def.columns.len() as u64,
            "{}",
            def.name
        );
    }
    let out = ok(d, &["db", "status"]);
    assert_eq!(out.matches("applied  ").count(), 6, "{out}");
    assert!(out.contains("snapshots") && out.contains("0 rows"), "{out}");
    for view in ["v_latest_week_occupations", "v_tag_history"] {
        assert_eq!(
            count(
                &url,
                &db,
                &format!("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = '{view}'")
            ),
            1
        );
    }

    // A value ClickHouse cannot hold is refused as bad data, not spooled as an outage,
    // with the same error as on the Parquet backend.
    fs::write(
        d.join("old.csv"),
        "tag,observed_at,value\nazubi,1969-12-31 23:00:00,5\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["import", "old.csv"]);
    assert!(
        err.contains("old.csv:2: observed_at 1969-12-31 23:00:00 is before 1970-01-01"),
        "{err}"
    );
    assert_eq!(spooled_parts(d, &db), 0);
    assert_eq!(count(&url, &db, "SELECT count() FROM snapshots"), 0);

    // A password goes to the server and nowhere else.
    let secret = "s3cr3t-Zq9-never-print";
    let out = Command::new(BIN)
        .args(["import", &fixture_glob()])
        .current_dir(d)
        .env("TAGPULSE_CLICKHOUSE_PASSWORD", secret)
        .env("TAGPULSE_LOG", "trace")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the test server's user has no password: {all}"
    );
    assert!(all.contains("ClickHouse at"), "{all}");
    assert!(!all.contains(secret), "the password leaked: {all}");
    let out = Command::new(BIN)
        .args(["config"])
        .current_dir(d)
        .env("TAGPULSE_CLICKHOUSE_PASSWORD", secret)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("password from TAGPULSE_CLICKHOUSE_PASSWORD"),
        "{shown}"
    );
    assert!(!shown.contains(secret));

    // A database migrated by a newer tagpulse is refused, not half-used.
    runtime().block_on(async {
        sql(&url, &db)
            .query("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')")
            .execute()
            .await
            .unwrap();
    });
    let (_, err) = fails(d, &["db", "migrate"]);
    assert!(
        err.contains("schema version 99") && err.contains("upgrade tagpulse"),
        "{err}"
    );

    // The db commands say what they need with the Parquet backend.
    write_config(d, "", "");
    let (_, err) = fails(d, &["db", "status"]);
    assert!(err.contains("backend = \"clickhouse\""), "{err}");
}

#[test]
fn a_parquet_lake_moves_into_clickhouse_and_back_with_one_command_each() {
    let url = server_or_skip!();
    let db = fresh_db(&url, "move");
    let laptop = tempfile::tempdir().unwrap();
    write_config(laptop.path(), "", TAXONOMY);
    ok(laptop.path(), &["import", &fixture_glob()]);
    ok(laptop.path(), &["transform"]);
    let lake = laptop.path().join("data");

    let team = tempfile::tempdir().unwrap();
    write_config(team.path(), &ch_storage(&url, &db), TAXONOMY);
    let (_, err) = fails(team.path(), &["db", "import-parquet", "nowhere"]);
    assert!(
        err.contains("nowhere is not a tagpulse Parquet lake"),
        "{err}"
    );
    let out = ok(
        team.path(),
        &["db", "import-parquet", lake.to_str().unwrap()],
    );
    assert!(
        out.contains("imported 114043 snapshots, 0 daily counts and 2174 weekly tag rows"),
        "{out}"
    );
    assert_eq!(
        count(&url, &db, "SELECT count() FROM snapshots FINAL"),
        114_043
    );
    // The moved weekly tables serve reports right away, and a recompute changes nothing.
    ok(team.path(), &["report", "--week", "2025-W20"]);
    ok(team.path(), &["transform"]);

    let out = ok(team.path(), &["db", "export", "--to", "parquet", "back"]);
    assert!(out.contains("exported 114043 snapshots"), "{out}");
    for name in WEEKLY_FILES {
        let a = read(&lake.join(name));
        let b = read(&team.path().join("back").join(name));
        assert_same_frame(name, &a, &b);
    }
    // The exported lake is a working lake: the Parquet backend recomputes the same tables.
    let back = team.path().join("back");
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "", TAXONOMY);
    ok(
        home.path(),
        &["--data-dir", back.to_str().unwrap(), "transform"],
    );
    let a = read(&lake.join(WEEKLY_FILES[0]));
    let b = read(&back.join(WEEKLY_FILES[0]));
    assert_same_frame("recomputed from the export", &a, &b);
    // Its observations keep their original ingestion times.
    let ingested = |dir: &Path| {
        let parts: Vec<_> = fs::read_dir(dir.join("observations/snapshots"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let mut all: Vec<i64> = Vec::new();
        for p in parts {
            let df = read(&p);
            all.extend(
                df.column("ingested_at")
                    .unwrap()
                    .datetime()
                    .unwrap()
                    .physical()
                    .iter()
                    .flatten(),
            );
        }
        all.sort();
        all.dedup();
        all
    };
    assert_eq!(ingested(&lake), ingested(&back));
}

#[test]
fn a_server_that_never_answers_times_out_and_spools() {
    // Accepts connections and then says nothing: no real server is needed for this one.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let storage = ch_storage(&url, "silent").replace("timeout = \"20s\"", "timeout = \"1s\"");
    write_config(d, &storage, "");
    let started = std::time::Instant::now();
    let (code, err) = fails(d, &["import", &fixture_glob()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the timeout did not hold"
    );
    assert!(
        err.contains(&format!(
            "ClickHouse at {url}: cannot connect: timeout expired"
        )),
        "{err}"
    );
    assert!(err.contains("kept 114043 snapshots"), "{err}");
    assert!(spooled_parts(d, "silent") > 0);
}

#[test]
fn https_works_with_the_servers_ca_and_an_unknown_ca_is_refused() {
    let url = server_or_skip!();
    let (Ok(https), Ok(ca)) = (
        std::env::var("TAGPULSE_TEST_CLICKHOUSE_HTTPS_URL"),
        std::env::var("TAGPULSE_TEST_CLICKHOUSE_CA"),
    ) else {
        require!(
            "https on the test server",
            false,
            "install openssl and restart scripts/clickhouse-test-server"
        );
        return;
    };
    let db = fresh_db(&url, "https");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(d, &ch_storage(&https, &db), "");
    let files = fixture_files('a'..='c');
    let import = |cert_file: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.arg("import")
            .args(&files)
            .current_dir(d)
            .env("NO_COLOR", "1");
        match cert_file {
            Some(f) => cmd.env("SSL_CERT_FILE", f),
            None => cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR"),
        };
        cmd.output().unwrap()
    };

    // Trusting the server's CA (as a private CA would be, through SSL_CERT_FILE).
    let out = import(Some(&ca));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = distinct_fixture_observations(&files);
    assert!(
        stdout.contains(&format!("imported {n} snapshots")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("at {https}")), "{stdout}");
    assert_eq!(
        count(&url, &db, "SELECT count() FROM snapshots FINAL"),
        n as u64
    );

    // With only the system's CAs the test CA is unknown: the certificate is refused, and
    // the batch waits in the spool.
    let out = import(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot connect") && stderr.contains("invalid peer certificate"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("kept {n} snapshots")), "{stderr}");
    assert!(spooled_parts(d, &db) > 0);
}

#[test]
fn scans_are_served_from_the_cache_until_the_store_writes() {
    // The store keeps what it read for the rest of the job; its own writes drop that
    // copy. A row written behind its back (straight SQL) shows whether a scan was served
    // from the cache (not seen) or from the server (seen).
    let url = server_or_skip!();
    let db = fresh_db(&url, "cache");
    let dir = tempfile::tempdir().unwrap();
    let cfg = tagpulse_config::ClickHouseConfig {
        url: url.clone(),
        database: db.to_string(),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use tagpulse_store::Store;
        let store = tagpulse_store::ClickHouseStore::open(&cfg, dir.path()).unwrap();
        let batch = |tag: &str, n: i64| tagpulse_model::ObservationBatch {
            source: "cache-test".into(),
            snapshots: (0..n)
                .map(|i| tagpulse_model::Snapshot {
                    platform: "tiktok".into(),
                    tag: tagpulse_config::Tag::parse(tag).unwrap(),
                    metric: "views".into(),
                    observed_at: chrono::DateTime::from_timestamp(1_750_000_000 + i * 3600, 0)
                        .unwrap(),
                    value: 100 + i as u64,
                })
                .collect(),
            ..Default::default()
        };
        let height = |lf: LazyFrame| lf.collect().unwrap().height();
        store.append(&batch("azubi", 5)).await.unwrap();
        assert_eq!(height(store.scan_snapshots().await.unwrap()), 5);
        let behind = sql(&url, &db);
        behind
            .query(
                "INSERT INTO snapshots \
                 SELECT 'tiktok', 'behind', 'views', toDateTime(1750000000), 7, 'sql', \
                 toDateTime(1750000000), 1",
            )
            .execute()
            .await
            .unwrap();
        let on_server: u64 = behind
            .query("SELECT count() FROM snapshots")
            .fetch_one()
            .await
            .unwrap();
        assert_eq!(
            on_server, 6,
            "the row behind the store's back is on the server"
        );
        assert_eq!(
            height(store.scan_snapshots().await.unwrap()),
            5,
            "the second scan must come from the cache"
        );
        store.append(&batch("koch", 3)).await.unwrap();
        assert_eq!(
            height(store.scan_snapshots().await.unwrap()),
            9,
            "a write must drop the cached copy: 5 + 1 behind its back + 3"
        );
        // A re-append of the same identities changes nothing.
        store.append(&batch("koch", 3)).await.unwrap();
        assert_eq!(height(store.scan_snapshots().await.unwrap()), 9);
    });
}
