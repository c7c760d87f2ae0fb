//! `tagpulse schedule` as a real process: the sample pipeline on a seconds-level schedule
//! with a failing source, run records, `tagpulse status`, one scheduler per data
//! directory, and SIGTERM in the middle of a job.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tagpulse_pipeline::runs::{Outcome, RunHistory, RunRecord, Trigger};

use crate::util::*;

fn config(report_cron: &str) -> String {
    format!(
        "[storage]\ndata_dir = \"data\"\n\n\
         [[sources]]\nid = \"fixtures\"\nkind = \"file\"\npaths = [\"{}\"]\nformat = \"tsv\"\n\
         schedule = \"*/2 * * * * *\"\n\n\
         [[sources]]\nid = \"broken\"\nkind = \"file\"\npaths = [\"missing/*.tsv\"]\n\
         schedule = \"*/3 * * * * *\"\n\n\
         [report]\nout_dir = \"reports\"\nschedule = \"{report_cron}\"\n\n\
         [schedule]\ngrace_period = \"60s\"\nmetrics_addr = \"127.0.0.1:0\"\n",
        fixture_glob()
    )
}

/// Starts the daemon in `dir` (logging JSON); its stderr lines arrive on the receiver.
fn start(dir: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = command(dir, &["--log-format", "json", "schedule"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits for the process to end (at most 90 s) and returns its exit code.
fn exit_code(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("the scheduler did not stop within 90 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn runs_of<'a>(h: &'a RunHistory, job: &str, source: Option<&str>) -> Vec<&'a RunRecord> {
    h.runs
        .iter()
        .filter(|r| r.job == job)
        .filter(|r| source.is_none_or(|s| r.sources.iter().any(|x| x.source == s)))
        .collect()
}

#[test]
fn the_daemon_runs_each_job_on_time_records_it_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("tagpulse.toml"), config("*/4 * * * * *")).unwrap();
    let (mut child, lines) = start(d);
    // Until every job ran on time at least once after its catch-up run.
    let deadline = Instant::now() + Duration::from_secs(120);
    let history = loop {
        assert!(
            Instant::now() < deadline,
            "the jobs did not all run within 120 s"
        );
        std::thread::sleep(Duration::from_millis(300));
        let Ok(h) = RunHistory::read(&d.join("data")) else {
            continue;
        };
        let scheduled = |job, source| {
            runs_of(&h, job, source)
                .iter()
                .any(|r| r.trigger == Trigger::Schedule)
        };
        if scheduled("ingest", Some("fixtures"))
            && scheduled("ingest", Some("broken"))
            && scheduled("report", None)
        {
            break h;
        }
    };

    // status names the running scheduler, from its lock, without taking it.
    let status = ok(d, &["status"]);
    assert!(
        status.contains(&format!("scheduler: running (PID {})", child.id())),
        "{status}"
    );

    // A second scheduler on the same data directory is refused, naming the first.
    let (code, err) = fails(d, &["schedule"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "another `tagpulse schedule` (PID {}) already runs on data",
            child.id()
        )),
        "{err}"
    );

    // Every log line is one JSON object; one of them says where the metrics are.
    let mut log: Vec<Value> = Vec::new();
    let metrics = scrape(&lines, &mut log);
    let value = |series: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(series))
            .unwrap_or_else(|| panic!("{series} missing from\n{metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(value("tagpulse_runs_total{job=\"ingest fixtures\",outcome=\"ok\"}") >= 2.0);
    assert!(value("tagpulse_runs_total{job=\"ingest broken\",outcome=\"failed\"}") >= 1.0);
    assert!(value("tagpulse_runs_total{job=\"report\",outcome=\"ok\"}") >= 1.0);
    let last = value("tagpulse_last_success_timestamp_seconds{job=\"ingest fixtures\"}");
    assert!(
        (chrono::Utc::now().timestamp() as f64 - last).abs() < 120.0,
        "{last}"
    );

    signal(&child, "-TERM");
    assert_eq!(exit_code(&mut child), Some(0));
    log.extend(lines.try_iter().map(|l| json_line(&l)));
    assert!(
        log.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("scheduler stopped:"))),
        "{log:#?}"
    );

    // Every job's first run was the catch-up (nothing recorded before), then on time.
    for (job, source) in [
        ("ingest", Some("fixtures")),
        ("ingest", Some("broken")),
        ("report", None),
    ] {
        let runs = runs_of(&history, job, source);
        assert_eq!(runs[0].trigger, Trigger::CatchUp, "{job} {source:?}");
        assert!(runs[1..].iter().all(|r| r.trigger == Trigger::Schedule));
    }
    let reference = tempfile::tempdir().unwrap();
    ok(reference.path(), &["import", &fixture_glob()]);
    let expected_rows =
        read_dir_frames(&reference.path().join("data/observations/snapshots")).height() as u64;
    // The first fetch stores the files; later ones find nothing appended and store none.
    for (i, r) in runs_of(&history, "ingest", Some("fixtures"))
        .iter()
        .enumerate()
    {
        let (rows, tags) = if i == 0 { (expected_rows, 32) } else { (0, 0) };
        assert_eq!((r.outcome, r.rows_written), (Outcome::Ok, rows));
        assert_eq!(r.sources[0].tags_ok, tags);
    }
    for r in runs_of(&history, "ingest", Some("broken")) {
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.sources[0].status, "failed");
        assert!(
            r.message.contains("missing/*.tsv: matches no file"),
            "{}",
            r.message
        );
    }
    // One job at a time: no run starts before the previous one ended.
    for w in history.runs.windows(2) {
        assert!(w[1].started_at >= w[0].finished_at, "overlap: {w:#?}");
    }

    // The daemon's weekly tables equal a one-shot transform of the same observations.
    ok(reference.path(), &["transform"]);
    let weekly = |root: &Path| read(&root.join("data/weekly/weekly_tag_metrics.parquet"));
    assert!(weekly(d).equals_missing(&weekly(reference.path())));
    let report = runs_of(&history, "report", None);
    assert!(
        report.iter().all(|r| r.outcome == Outcome::Ok),
        "{report:#?}"
    );
    assert!(fs::read_dir(d.join("reports"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.path().join("index.html").is_file()));

    let status = ok(d, &["status"]);
    assert!(status.contains("scheduler: not running"), "{status}");
    assert!(
        status.contains("last runs (newest first, times in UTC):"),
        "{status}"
    );
    assert!(status.contains("fixtures: newest observation"), "{status}");
    assert!(status.contains("ingest: stored, nothing new"), "{status}");
    assert!(
        status.contains("broken: nothing stored; last run ")
            && status.contains("failed, tags 0 ok: missing/*.tsv: matches no file"),
        "{status}"
    );
    assert!(
        status.contains("  ingest broken    */3 * * * * *  "),
        "{status}"
    );

    // Restarted with a report that is not due for months, the daemon serves the report's
    // last success from the history before that job runs again.
    fs::write(d.join("tagpulse.toml"), config("0 0 0 1 1 *")).unwrap();
    let history = RunHistory::read(&d.join("data")).unwrap();
    let reported = runs_of(&history, "report", None)
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .map(|r| r.started_at.timestamp())
        .max()
        .unwrap();
    let (mut child, lines) = start(d);
    let metrics = scrape(&lines, &mut Vec::new());
    signal(&child, "-TERM");
    assert_eq!(exit_code(&mut child), Some(0));
    let line = format!("tagpulse_last_success_timestamp_seconds{{job=\"report\"}} {reported}");
    assert!(
        metrics.lines().any(|l| l == line),
        "{line} missing from\n{metrics}"
    );
}

#[test]
fn sigterm_during_a_job_lets_it_finish_and_the_store_stays_complete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // All three jobs run; SIGTERM comes while an on-time report job is running.
    fs::write(d.join("tagpulse.toml"), config("*/5 * * * * *")).unwrap();
    let (mut child, lines) = start(d);
    let deadline = Instant::now() + Duration::from_secs(120);
    // The catch-up report runs first on an empty store; wait for an on-time one.
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the report job never started on time");
        let v = json_line(&line);
        if v["message"] == "starting" && v["job"] == "report" && v["trigger"] == "schedule" {
            break;
        }
    }
    signal(&child, "-TERM");
    assert_eq!(exit_code(&mut child), Some(0));
    let history = RunHistory::read(&d.join("data")).unwrap();
    let last = runs_of(&history, "report", None)
        .into_iter()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last.trigger, Trigger::Schedule);
    // Finished (its recompute at least): never a torn state.
    assert!(
        matches!(last.outcome, Outcome::Ok | Outcome::Interrupted),
        "{last:#?}"
    );
    assert!(last.rows_written > 0);
    // The weekly tables are one whole generation, as `tagpulse report` can read them.
    ok(d, &["report"]);
    let leftovers: Vec<_> = walk(&d.join("data"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
}

/// Reads log lines until the metrics address, then fetches `/metrics` from it.
fn scrape(lines: &mpsc::Receiver<String>, log: &mut Vec<Value>) -> String {
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the metrics address is logged");
        let v = json_line(&line);
        log.push(v.clone());
        if let Some(url) = v["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("metrics at http://"))
        {
            break url.trim_end_matches("/metrics").to_string();
        }
    };
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"),
        "{out}"
    );
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}
