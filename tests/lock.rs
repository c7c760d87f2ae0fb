//! One writer per data directory, between real processes, held only while writing: a
//! source's slow network fetch keeps no one waiting; a process that is writing makes a
//! second writer wait up to `storage.lock_timeout` and then names the holder's PID.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::*;

fn config(server: &MockServer, lock_timeout: &str) -> String {
    format!(
        "[storage]\nlock_timeout = \"{lock_timeout}\"\n\n[taxonomy]\ndefaults = false\n\n\
         [[occupations]]\nname = \"Nursing\"\ntags = [\"pflege\"]\n\n\
         [[sources]]\nid = \"slow\"\nkind = \"mastodon\"\nbase_url = \"{}\"\n",
        server.uri()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_fetch_holds_no_lock_so_the_weekly_job_goes_ahead() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/tags/pflege"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "pflege", "history": [
                    {"day": "1767571200", "uses": "3", "accounts": "2"}
                ]}))
                .set_delay(Duration::from_secs(6)),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("tagpulse.toml"), config(&server, "1s")).unwrap();
    fs::write(d.join("azubi.tsv"), "2026-01-05 12:00:00\t100\n").unwrap();
    let fetching = command(d, &["ingest"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the ingest never fetched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The crontab's weekly line and a hand-run import during the fetch: neither waits
    // for it (the lock timeout is 1 s, the fetch takes 6 s).
    ok(d, &["import", "azubi.tsv"]);
    ok(d, &["transform"]);
    let fetched = fetching.wait_with_output().unwrap();
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let status = ok(d, &["status"]);
    let lines: Vec<&str> = status.lines().filter(|l| l.contains(" ok ")).collect();
    assert_eq!(
        lines.len(),
        3,
        "import, transform and ingest recorded: {status}"
    );
    assert!(
        status.contains("slow: newest observation 2026-01-06 00:00Z"),
        "the fetch was stored after the others: {status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_writer_waits_for_the_writing_one_or_names_it() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("tagpulse.toml"), config(&server, "1s")).unwrap();
    fs::write(d.join("patient.toml"), config(&server, "60s")).unwrap();
    fs::write(d.join("azubi.tsv"), "2026-01-05 12:00:00\t100\n").unwrap();
    // This test process writes the lake, as another tagpulse would: lock and PID.
    fs::create_dir_all(d.join("data")).unwrap();
    let mut held = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(d.join("data/.lock"))
        .unwrap();
    held.try_lock().unwrap();
    write!(held, "{}", std::process::id()).unwrap();
    let pid = std::process::id();

    let started = Instant::now();
    let (code, err) = fails(d, &["transform"]);
    assert_eq!(code, 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert!(
        err.contains(&format!(
            "data is in use by another tagpulse process (PID {pid}); waited 1s (storage.lock_timeout)"
        )),
        "{err}"
    );

    // A patient writer waits, and imports once the holder is done.
    let patient = command(d, &["--config", "patient.toml", "import", "azubi.tsv"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    held.unlock().unwrap();
    let patient = patient.wait_with_output().unwrap();
    let waited = String::from_utf8_lossy(&patient.stderr);
    assert!(patient.status.success(), "{waited}");
    assert!(
        waited.contains(&format!(
            "is in use by another tagpulse (PID {pid}); waiting up to 1m"
        )),
        "{waited}"
    );
    // Read-only commands never wait.
    held.try_lock().unwrap();
    ok(d, &["config"]);
    ok(d, &["status"]);
}
