//! `[[alerts]]` against a local webhook receiver (wiremock) and a local SMTP server in
//! this process (`smtp.rs`): the payloads Slack, Teams and JSON receivers get, each finding sent
//! once, retries, a failing target in `tagpulse status`, and silence when nothing matches.
//! The expected findings are read off the weekly tables here, independently.

use std::fs;
use std::path::Path;

use chrono::Duration;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::smtp::smtp_server;
use crate::util::*;

fn run(dir: &Path, args: &[&str], hook: &str) -> std::process::Output {
    command(dir, args)
        .env("TP_TEST_HOOK", hook)
        .output()
        .unwrap()
}

fn run_ok(dir: &Path, args: &[&str], hook: &str) -> String {
    let out = run(dir, args, hook);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tagpulse {args:?}: {err}");
    err
}

async fn bodies(server: &MockServer, p: &str) -> Vec<Value> {
    requests(server, p)
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn requests(server: &MockServer, p: &str) -> Vec<wiremock::Request> {
    let all = server.received_requests().await.unwrap();
    all.into_iter().filter(|r| r.url.path() == p).collect()
}

async fn hits(server: &MockServer, p: &str) -> usize {
    requests(server, p).await.len()
}

/// The findings the rules must yield, computed here from the weekly tables.
fn oracle(d: &Path) -> (String, Vec<String>, Vec<(String, f64)>) {
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let occ = read(&d.join("data/weekly/weekly_occupation_metrics.parquet"));
    let last = col_date(&tags, "week_start").into_iter().max().unwrap();
    let week = last - Duration::days(7);
    let label = week.format("%G-W%V").to_string();
    let mut breakouts = Vec::new();
    for (df, name, prefix) in [(&tags, "tag", "#"), (&occ, "occupation", "")] {
        let weeks = col_date(df, "week_start");
        let names = col_str(df, name);
        let flags: Vec<bool> = df
            .column("breakout")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(|b| b.unwrap())
            .collect();
        for i in 0..df.height() {
            if weeks[i] == week && flags[i] {
                breakouts.push(format!("{prefix}{}", names[i]));
            }
        }
    }
    let mut wow = Vec::new();
    let weeks = col_date(&occ, "week_start");
    let names = col_str(&occ, "occupation");
    let gained = col_f64(&occ, "gained");
    let resolution = col_f64(&occ, "resolution");
    let gained_in = |name: &str, w| {
        (0..occ.height())
            .find(|j| names[*j] == name && weeks[*j] == w)
            .and_then(|j| gained[j])
    };
    let mut within = 0;
    for (i, g) in col_f64(&occ, "wow_growth").into_iter().enumerate() {
        if let (true, Some(g)) = (weeks[i] == week, g) {
            // A change no larger than the rounding step is no rise or fall.
            let prev = gained_in(&names[i], week - Duration::days(7)).unwrap();
            if (gained[i].unwrap() - prev).abs() <= resolution[i].unwrap_or(0.0) {
                within += 1;
                continue;
            }
            if !(-0.1..=0.1).contains(&g) {
                wow.push((names[i].clone(), g));
            }
        }
    }
    eprintln!("{within} occupation changes within rounding in {label}");
    breakouts.sort();
    (label, breakouts, wow)
}

/// `brand / occupation` pairs whose share moved by at least 0.0001 into the latest week.
fn share_oracle(d: &Path) -> Vec<(String, f64)> {
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let week = col_date(&tags, "week_start").into_iter().max().unwrap() - Duration::days(7);
    let b = read(&d.join("data/weekly/weekly_brand_metrics.parquet"));
    let (weeks, brands, occs, shares) = (
        col_date(&b, "week_start"),
        col_str(&b, "brand"),
        col_str(&b, "occupation"),
        col_f64(&b, "brand_share"),
    );
    let mut out = Vec::new();
    for i in (0..b.height()).filter(|&i| weeks[i] == week) {
        let prev = (0..b.height()).find(|&j| {
            weeks[j] == week - Duration::days(7) && brands[j] == brands[i] && occs[j] == occs[i]
        });
        if let (Some(j), Some(now)) = (prev, shares[i]) {
            if let Some(before) = shares[j] {
                if (now - before).abs() >= 0.0001 {
                    out.push((format!("{} / {}", brands[i], occs[i]), now - before));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Occupations and a brand over fixture tags that still move in their last weeks.
const MOVING: &str = r#"
[[occupations]]
name = "Romantasy"
tags = ["theunwrittenheir", "thekisscurse", "thebondthatburns", "afatesodarkanddelicate", "theenchantedhacienda"]

[[occupations]]
name = "Fantasy series"
tags = ["dungeoncrawlercarl", "kindredscursesaga", "firepower"]

[[brands]]
name = "Acme Books"
tags = ["theunwrittenheir", "thekisscurse", "firepower"]
occupations = ["Romantasy", "Fantasy series"]
"#;

fn config(uri: &str, smtp: u16) -> String {
    format!(
        "{MOVING}\n\
         [[alerts]]\nid = \"data\"\non = [\"breakout\", \"wow_above\", \"wow_below\", \"brand_share_change\"]\n\
         wow_above = 0.1\nwow_below = -0.1\nbrand_share_change = 0.0001\n\
         webhook = {{ url_env = \"TP_TEST_HOOK\", format = \"json\" }}\n\n\
         [[alerts]]\nid = \"slack\"\non = [\"breakout\"]\nwebhook = {{ url = \"{uri}/slack\", format = \"slack\" }}\n\n\
         [[alerts]]\nid = \"teams\"\non = [\"breakout\"]\nwebhook = {{ url = \"{uri}/teams\", format = \"teams\" }}\n\n\
         [[alerts]]\nid = \"quiet\"\non = [\"wow_above\"]\nwow_above = 1.0e12\n\
         webhook = {{ url = \"{uri}/quiet\" }}\n\n\
         [[alerts]]\nid = \"mail\"\non = [\"breakout\"]\nreport = true\nemail = {{ to = [\"hr@example.com\"] }}\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\nsecurity = \"none\"\nfrom = \"tagpulse <tp@example.com>\"\n\n\
         [report]\nbase_url = \"https://intranet.example/tagpulse\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn findings_reach_webhooks_and_mail_once_with_the_right_payloads() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let smtp = smtp_server();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("tagpulse.toml"), config(&server.uri(), smtp.port)).unwrap();
    let hook = format!("{}/json", server.uri());

    // No weekly tables yet: nothing to say.
    run_ok(d, &["import", &fixture_glob()], &hook);
    assert!(server.received_requests().await.unwrap().is_empty());
    run_ok(d, &["transform"], &hook);
    let (week, breakouts, wow) = oracle(d);
    assert!(
        !breakouts.is_empty() && !wow.is_empty(),
        "the fixtures have findings"
    );

    let json = bodies(&server, "/json").await;
    assert_eq!(json.len(), 1);
    let findings = json[0]["findings"].as_array().unwrap();
    let mut got_breakouts: Vec<String> = findings
        .iter()
        .filter(|f| f["rule"] == "breakout")
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect();
    got_breakouts.sort();
    assert_eq!(got_breakouts, breakouts);
    let mut got_wow: Vec<(String, f64)> = findings
        .iter()
        .filter(|f| f["rule"] == "wow_above" || f["rule"] == "wow_below")
        .map(|f| {
            (
                f["subject"].as_str().unwrap().to_string(),
                f["value"].as_f64().unwrap(),
            )
        })
        .collect();
    got_wow.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want_wow = wow.clone();
    want_wow.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got_wow, want_wow);
    let mut got_share: Vec<(String, f64)> = findings
        .iter()
        .filter(|f| f["rule"] == "brand_share_change")
        .map(|f| {
            (
                f["subject"].as_str().unwrap().to_string(),
                f["value"].as_f64().unwrap(),
            )
        })
        .collect();
    got_share.sort_by(|a, b| a.0.cmp(&b.0));
    let want_share = share_oracle(d);
    assert!(!want_share.is_empty(), "the fixtures brand moved");
    assert_eq!(got_share, want_share);
    for f in findings {
        assert_eq!(f["week"], week.as_str());
        let rule = f["rule"].as_str().unwrap();
        assert!(f["key"].as_str().unwrap().starts_with(rule), "{f}");
    }
    assert_eq!(json[0]["alert"], "data");

    let slack = bodies(&server, "/slack").await;
    assert_eq!(slack.len(), 1);
    let text = slack[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "*tagpulse · slack: {} new finding(s)*\n• ",
            breakouts.len()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("• {} broke out in {week}", breakouts[0])),
        "{text}"
    );
    let teams = bodies(&server, "/teams").await;
    assert_eq!(teams.len(), 1);
    assert_eq!(teams[0]["type"], "message");
    let card = &teams[0]["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(
        card["content"]["body"][0]["text"],
        format!("tagpulse · teams: {} new finding(s)", breakouts.len()).as_str()
    );
    assert!(
        bodies(&server, "/quiet").await.is_empty(),
        "no rule matched"
    );

    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(
        mails[0].contains(&format!(
            "Subject: [tagpulse] mail: {} new finding(s)\r\n",
            breakouts.len()
        )),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("To: hr@example.com"), "{}", mails[0]);
    assert!(
        mails[0].contains(&format!("- {} broke out in {week}", breakouts[0])),
        "{}",
        mails[0]
    );

    // The report, mailed once with its charts.
    run_ok(d, &["report"], &hook);
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 2);
    let report = &mails[1];
    assert!(
        report.contains(&format!("Subject: [tagpulse] weekly report {week}")),
        "{report}"
    );
    for chart in fs::read_dir(d.join("reports").join(&week))
        .unwrap()
        .filter_map(Result::ok)
    {
        let name = chart.file_name().to_string_lossy().to_string();
        if name.ends_with(".png") {
            assert!(
                report.contains(&format!("filename=\"{name}\"")),
                "{name} not attached"
            );
        }
    }
    assert!(report.contains("Content-Type: image/png"));
    // The body (quoted-printable: soft line breaks joined) links the published report.
    let body = report.replace("=\r\n", "");
    assert!(
        body.contains(&format!(
            "The full report: https://intranet.example/tagpulse/{week}/index.html"
        )),
        "{report}"
    );

    // Again: nothing new, nothing sent.
    run_ok(d, &["transform"], &hook);
    run_ok(d, &["report"], &hook);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(smtp.mails.lock().unwrap().len(), 2);
    let status = ok(d, &["status"]);
    assert!(
        status.contains(&format!(
            "  slack webhook: ok, {} finding(s) sent",
            breakouts.len()
        )),
        "{status}"
    );
    assert!(
        status.contains("  quiet webhook: nothing sent yet"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_deliveries_are_retried_and_a_failing_target_shows_in_status() {
    let server = MockServer::start().await;
    // /flaky fails once, then works; /down never works (until it is fixed below).
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uri = server.uri();
    fs::write(
        d.join("tagpulse.toml"),
        format!(
            "{TAXONOMY}\n[[sources]]\nid = \"broken\"\nkind = \"file\"\npaths = [\"missing/*.tsv\"]\n\n\
             [[alerts]]\nid = \"flaky\"\non = [\"breakout\"]\nwebhook = {{ url = \"{uri}/flaky\", format = \"json\" }}\n\n\
             [[alerts]]\nid = \"down\"\non = [\"breakout\"]\nwebhook = {{ url = \"{uri}/down\", format = \"json\" }}\n\n\
             [[alerts]]\nid = \"ops\"\non = [\"run_failed\"]\non_cli = true\nwebhook = {{ url = \"{uri}/ops\", format = \"json\" }}\n"
        ),
    )
    .unwrap();
    Mock::given(path("/ops"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    run_ok(d, &["import", &fixture_glob()], "");
    // A failing target does not fail the job.
    let log = run_ok(d, &["transform"], "");
    assert!(
        log.contains("alert not delivered (1 time(s) in a row"),
        "{log}"
    );
    assert!(
        !log.contains(&uri),
        "the webhook URL stays out of the log: {log}"
    );
    assert_eq!(
        hits(&server, "/flaky").await,
        2,
        "one failure, one retry that worked"
    );
    assert_eq!(hits(&server, "/down").await, 3, "three attempts");
    let status = ok(d, &["status"]);
    assert!(status.contains("  flaky webhook: ok, "), "{status}");
    assert!(
        status.contains("  down webhook: FAILING: 1 delivery(ies) in a row")
            && status.contains("the webhook answered HTTP 503: maintenance"),
        "{status}"
    );

    // Fixed: the next job delivers what was missed, and nothing twice.
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    run_ok(d, &["transform"], "");
    assert_eq!(
        (hits(&server, "/down").await, hits(&server, "/flaky").await),
        (1, 0)
    );
    let status = ok(d, &["status"]);
    assert!(status.contains("  down webhook: ok, "), "{status}");

    // A failed run is alerted once, with its reason.
    let out = run(d, &["ingest"], "");
    assert_eq!(out.status.code(), Some(1));
    let ops = bodies(&server, "/ops").await;
    assert_eq!(ops.len(), 1);
    let f = &ops[0]["findings"][0];
    assert_eq!(
        (f["rule"].as_str(), f["subject"].as_str()),
        (Some("run_failed"), Some("ingest"))
    );
    assert!(
        f["text"]
            .as_str()
            .unwrap()
            .contains("missing/*.tsv: matches no file"),
        "{f}"
    );
    run_ok(d, &["transform"], "");
    assert_eq!(bodies(&server, "/ops").await.len(), 1);
}

/// A webhook server answering `/ops` with `answer`, and a work directory whose one source
/// always fails, alerted by `ops` there; `extra` is appended to the config.
async fn failing_source(answer: ResponseTemplate, extra: &str) -> (MockServer, tempfile::TempDir) {
    let server = MockServer::start().await;
    Mock::given(path("/ops"))
        .respond_with(answer)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let uri = server.uri();
    fs::write(
        dir.path().join("tagpulse.toml"),
        format!(
            "{TAXONOMY}\n[[sources]]\nid = \"broken\"\nkind = \"file\"\npaths = [\"missing/*.tsv\"]\n\n\
             [[alerts]]\nid = \"ops\"\non = [\"run_failed\"]\non_cli = true\nwebhook = {{ url = \"{uri}/ops\", format = \"json\" }}\n{extra}"
        ),
    )
    .unwrap();
    (server, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_failed_run_of_a_new_alert_entry_is_alerted() {
    let (server, dir) = failing_source(ResponseTemplate::new(204), "").await;
    let d = dir.path();
    // No state yet for `ops`: the very run that fails is its first evaluation.
    let out = run(d, &["ingest"], "");
    assert_eq!(out.status.code(), Some(1));
    let ops = bodies(&server, "/ops").await;
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0]["findings"][0]["rule"].as_str(), Some("run_failed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_alert_target_holds_no_data_lock() {
    // Accepts the post and answers long after the per-attempt timeout.
    let (server, dir) = failing_source(
        ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(120)),
        "\n[storage]\nlock_timeout = \"1s\"\n",
    )
    .await;
    let d = dir.path();
    run_ok(d, &["import", &fixture_glob()], "");
    let mut stuck = command(d, &["ingest"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while hits(&server, "/ops").await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the failed ingest never tried its alert"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // While `ingest` waits on the webhook, a hand-run transform gets the lake at once.
    let out = run(d, &["transform"], "");
    let still_delivering = stuck.try_wait().unwrap().is_none();
    stuck.kill().unwrap();
    stuck.wait().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        still_delivering,
        "the test needs the delivery still running"
    );
}

/// A mistyped command is no failed run: nothing is recorded or alerted, exit 2. A run
/// that fails by hand pages only an entry with `on_cli`.
#[tokio::test(flavor = "multi_thread")]
async fn a_typo_pages_nobody_and_a_failure_by_hand_pages_only_on_cli_entries() {
    let (server, dir) = failing_source(ResponseTemplate::new(204), "").await;
    let d = dir.path();
    for args in [
        &["import", "/tmp/no-such-file-tagpulse.csv"][..],
        &["ingest", "--source", "nosuch"][..],
        &["backfill", "--source", "nosuch", "--from", "2026-01-01"][..],
    ] {
        let out = run(d, args, "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("no-such-file") || err.contains("no source \"nosuch\""),
            "{err}"
        );
    }
    assert!(ok(d, &["status"]).contains("last runs: none recorded yet"));
    assert_eq!(hits(&server, "/ops").await, 0, "a typo pages nobody");
    // The same failing source by hand, with an entry that leaves CLI runs out.
    let toml = fs::read_to_string(d.join("tagpulse.toml")).unwrap();
    fs::write(d.join("tagpulse.toml"), toml.replace("on_cli = true\n", "")).unwrap();
    let out = run(d, &["ingest"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        ok(d, &["status"]).contains("ingest"),
        "the failure is recorded"
    );
    assert_eq!(
        hits(&server, "/ops").await,
        0,
        "but pages only on_cli entries"
    );
}
