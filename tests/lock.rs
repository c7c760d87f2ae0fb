//! One writer per data directory, between two real processes: a second writer waits up
//! to `storage.lock_timeout` and then names the holder's PID, or goes on once it is free.

use std::fs;
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
async fn a_second_writer_waits_for_the_first_or_names_it() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/tags/pflege"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "pflege", "history": []}))
                .set_delay(Duration::from_secs(4)),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("tagpulse.toml"), config(&server, "1s")).unwrap();
    fs::write(d.join("patient.toml"), config(&server, "60s")).unwrap();
    fs::write(d.join("azubi.tsv"), "2026-01-05 12:00:00\t100\n").unwrap();

    let holder = command(d, &["ingest"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the first process never fetched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = holder.id();

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

    // A patient writer waits and then imports; the holder finished first.
    let patient = tagpulse(d, &["--config", "patient.toml", "import", "azubi.tsv"]);
    let waited = String::from_utf8_lossy(&patient.stderr);
    assert!(patient.status.success(), "{waited}");
    assert!(
        waited.contains(&format!(
            "is in use by another tagpulse (PID {pid}); waiting up to 1m"
        )),
        "{waited}"
    );
    let holder = holder.wait_with_output().unwrap();
    assert!(holder.status.success());
    // Read-only commands never wait.
    ok(d, &["config"]);
}
