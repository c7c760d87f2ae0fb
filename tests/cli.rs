//! The command line itself: config errors, flags in any position, and what a command
//! needs before it can run.

use std::fs;

use crate::util::*;

#[test]
fn bad_config_is_one_clear_error_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("tagpulse.toml"),
        "[storage]\ndata_dir = \"lake\"\n\n[report]\ntop = 5\n",
    )
    .unwrap();
    let (code, err) = fails(d, &["transform"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("tagpulse.toml:5: report.top: unknown field `top`"),
        "{err}"
    );
    assert!(!d.join("lake").exists());
    fs::write(
        d.join("other.toml"),
        "[[occupations]]\nname = \"Nursing\"\ntags = [\"zorg\", \"zorg helden\"]\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["--config", "other.toml", "config"]);
    assert!(
        err.contains("other.toml:3: occupations[0].tags[1]: invalid tag \"zorg helden\""),
        "{err}"
    );
    // Bad CLI values are rejected by the argument parser (exit 2) with the flag named.
    let out = tagpulse(
        d,
        &["--config", "other.toml", "report", "--week", "2026-47"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--week"));
    let out = tagpulse(d, &["import", "--platform", "Tik Tok", "x.tsv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid platform"));
    // The cause is said once, not once by the error and again by the chain.
    let (_, err) = fails(d, &["--config", "nosuch.toml", "status"]);
    let cause = std::io::Error::from_raw_os_error(2).to_string();
    assert_eq!(
        err.trim(),
        format!("error: cannot read config nosuch.toml: {cause}"),
    );
    // İ is the platforms' i: no complaint about a dot the user never typed.
    fs::write(
        d.join("tr.toml"),
        "[taxonomy]\ndefaults = false\n\n[[occupations]]\nname = \"Turizm\"\ntags = [\"İstanbulİş\"]\n",
    )
    .unwrap();
    let shown = ok(d, &["--config", "tr.toml", "config"]);
    assert!(
        shown.contains("occupations: 1 (1 distinct tags)"),
        "{shown}"
    );
}

#[test]
fn data_dir_flag_works_after_the_subcommand_and_reports_need_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("nurselife.tsv"),
        "2026-11-02 00:00:00\t100\n2026-11-10 00:00:00\t900\n2026-11-18 00:00:00\t1700\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["report"]);
    assert!(err.contains("run `tagpulse transform`"), "{err}");
    // The main job on an empty store: one plain sentence, no colour codes in logs.
    let (code, err) = fails(d, &["run"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no observations stored in data yet: import files with `tagpulse import`"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no ANSI escapes when stderr is not a terminal: {err}"
    );
    ok(d, &["import", "nurselife.tsv", "--data-dir", "elsewhere"]);
    ok(d, &["--data-dir", "elsewhere", "transform"]);
    assert!(d
        .join("elsewhere/weekly/weekly_tag_metrics.parquet")
        .is_file());
    let (code, err) = fails(
        d,
        &["report", "--data-dir", "elsewhere", "--week", "2025-W01"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("2025-W01 has no data"), "{err}");
    // The last observation is in W47, so W45 and W46 are complete; but with 8-day gaps
    // over the default max_gap nothing interpolates: no week has a figure to report.
    let (code, err) = fails(d, &["report", "--data-dir", "elsewhere"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no complete week with figures yet"), "{err}");
    // With max_gap = 8d the boundaries interpolate: V(11-02) = 100 (a snapshot sits exactly
    // on that Monday), V(11-09) = 800, V(11-16) = 1500; V(11-23) is after the last one.
    fs::write(
        d.join("tagpulse.toml"),
        "[storage]\ndata_dir = \"elsewhere\"\n[transform]\nmax_gap = \"8d\"\n",
    )
    .unwrap();
    ok(d, &["transform"]);
    let tags = read(&d.join("elsewhere/weekly/weekly_tag_metrics.parquet"));
    assert_eq!(col_f64(&tags, "gained"), [Some(700.0), Some(700.0), None]);
    assert_eq!(
        col_f64(&tags, "total_end"),
        [Some(800.0), Some(1500.0), None]
    );
    // Now W46 is the latest complete week with figures: the default.
    let out = ok(d, &["report"]);
    assert!(out.contains("2026-W46"), "{out}");
    // W47 holds the newest observation: not complete, refused with exit 2 naming W46,
    // rendered with --allow-incomplete as a marked preview that the index keeps apart.
    let (code, err) = fails(d, &["report", "--week", "2026-W47"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("2026-W47 is not complete")
            && err.contains("the latest complete week is 2026-W46"),
        "{err}"
    );
    assert!(!d.join("reports/2026-W47").exists());
    ok(d, &["report", "--week", "2026-W47", "--allow-incomplete"]);
    let html = fs::read_to_string(d.join("reports/2026-W47/index.html")).unwrap();
    assert!(html.contains("Incomplete week."), "banner");
    let index = fs::read_to_string(d.join("reports/index.html")).unwrap();
    let reports = &index[..index.find("Previews of incomplete weeks").unwrap()];
    assert!(reports.contains("2026-W46/index.html"), "{index}");
    assert!(!reports.contains("2026-W47"), "{index}");
    assert!(index.contains("2026-W47 (incomplete)"), "{index}");
}

#[test]
fn schedule_list_prints_next_fire_times_in_the_zone_and_bad_expressions_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tagpulse.toml"),
        "[schedule]\ntimezone = \"Europe/Amsterdam\"\n\n[[sources]]\nid = \"sample\"\nkind = \"file\"\n\
         paths = [\"x/*.tsv\"]\nschedule = \"0 15 */4 * * *\"\n\n[[sources]]\nid = \"tiktok\"\nkind = \"tiktok_tag\"\n",
    )
    .unwrap();
    let out = ok(
        d,
        &["schedule", "--list", "--after", "2026-03-28T00:00:00Z"],
    );
    assert_eq!(
        out,
        "jobs (times in Europe/Amsterdam):\n\
         \x20 ingest sample  0 15 */4 * * *  2026-03-28 04:15:00 CET, 2026-03-28 08:15:00 CET, 2026-03-28 12:15:00 CET\n\
         \x20 ingest tiktok  0 0 */6 * * *   2026-03-28 06:00:00 CET, 2026-03-28 12:00:00 CET, 2026-03-28 18:00:00 CET\n\
         \x20 report         0 0 6 * * Mon   2026-03-30 06:00:00 CEST, 2026-04-06 06:00:00 CEST, 2026-04-13 06:00:00 CEST\n"
    );
    std::fs::write(
        d.join("tagpulse.toml"),
        "[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"x\"]\nschedule = \"0 */6 * * *\"\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["config"]);
    assert!(
        err.contains("tagpulse.toml:5: sources[0].schedule: \"0 */6 * * *\" has 5 fields"),
        "{err}"
    );
    std::fs::write(
        d.join("tagpulse.toml"),
        "[report]\n\nschedule = \"0 0 6 * * Xyz\"\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["config"]);
    assert!(
        err.contains("tagpulse.toml:3: report.schedule: invalid cron expression \"0 0 6 * * Xyz\""),
        "{err}"
    );
}

#[test]
fn one_observation_is_no_complete_week_and_week_labels_have_four_digit_years() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("azubi.tsv"), "2025-06-04 12:00:00\t100\n").unwrap();
    ok(d, &["import", "azubi.tsv"]);
    ok(d, &["transform"]);
    let (code, err) = fails(d, &["report"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error: no complete week with figures yet"),
        "{err}"
    );
    let (code, err) = fails(d, &["report", "--week", "0000-W01"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the year must have four digits, 1970 to 9999"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clickhouse_error_body_is_capped_and_the_password_masked() {
    use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};
    // A misconfigured proxy that echoes the request headers, password included.
    let server = MockServer::start().await;
    let body = format!(
        "Code: 516. proxy echo: X-ClickHouse-Key: hunter2-secret {}",
        "z".repeat(100_000)
    );
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string(body))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tagpulse.toml"),
        format!(
            "[storage]\nbackend = \"clickhouse\"\n[storage.clickhouse]\nurl = \"{}\"\ndatabase = \"t\"\ntimeout = \"5s\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let out = command(d, &["db", "status"])
        .env("TAGPULSE_CLICKHOUSE_PASSWORD", "hunter2-secret")
        .env("TAGPULSE_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().rfind(|l| l.starts_with("error:")).unwrap();
    assert!(last.contains("X-ClickHouse-Key: *** zzz"), "{last}");
    assert!(last.len() < 1_000, "{} characters", last.len());
    assert!(
        !err.contains("hunter2-secret"),
        "the password leaked: {:?}",
        err.lines()
            .filter(|l| l.contains("hunter2"))
            .map(|l| l.chars().take(300).collect::<String>())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_writing_command_sweeps_what_crashed_runs_left() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["import", &fixture_glob()]);
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    let leftovers = [
        d.join("data/observations/snapshots/.tmp-part-00000000000000001-999-0.parquet"),
        d.join("reports/.tmp-index-999.html"),
    ];
    for p in &leftovers {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, vec![0u8; 4096]).unwrap();
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    // A fresh one may belong to a process writing right now: it stays.
    let fresh = d.join("data/observations/snapshots/.tmp-part-2.parquet");
    fs::write(&fresh, "x").unwrap();
    let out = tagpulse(d, &["transform"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("removed 2 temp file(s) left by crashed runs"),
        "{err}"
    );
    assert!(leftovers.iter().all(|p| !p.exists()));
    assert!(fresh.exists());
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(dir.path(), &["config"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `tagpulse config | head -0`: the reader is gone before the first line.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn report_out_dir_from_the_command_line_never_writes_into_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("azubi.tsv"),
        "2026-11-02 00:00:00\t100\n2026-11-09 00:00:00\t800\n2026-11-16 00:00:00\t1500\n2026-11-23 00:00:00\t2200\n",
    )
    .unwrap();
    ok(d, &["import", "azubi.tsv"]);
    ok(d, &["transform"]);
    for out in ["data", "data/reports", "/", "."] {
        let (code, err) = fails(d, &["report", "--out-dir", out]);
        assert_eq!(code, 1, "{out}: {err}");
        assert!(err.contains("overlap"), "{out}: {err}");
    }
    assert!(!d.join("data/reports").exists() && !d.join("data/index.html").exists());
    // --data-dir moves the lake under the configured reports folder: refused too.
    let (_, err) = fails(d, &["report", "--data-dir", "reports/lake"]);
    assert!(err.contains("overlap"), "{err}");
    ok(d, &["report", "--out-dir", "elsewhere"]);
    assert!(d.join("elsewhere/index.html").is_file());
}

/// Relative paths in a config file are relative to it, whatever directory tagpulse
/// starts in (cron, systemd); a read-only command creates nothing.
#[test]
fn config_paths_follow_the_file_and_status_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (site, elsewhere) = (dir.path().join("srv/tp"), dir.path().join("tmp"));
    fs::create_dir_all(site.join("input")).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    for f in fs::read_dir(fixtures()).unwrap().take(3) {
        let f = f.unwrap().path();
        fs::copy(&f, site.join("input").join(f.file_name().unwrap())).unwrap();
    }
    let config = site.join("tagpulse.toml");
    fs::write(
        &config,
        "[storage]\ndata_dir = \"data\"\n[report]\nout_dir = \"reports\"\n\
         [[sources]]\nid = \"files\"\nkind = \"file\"\npaths = [\"input/*.tsv\"]\n",
    )
    .unwrap();
    let cfg = config.display().to_string();
    // status before anything ran: reads only, creates nothing, here or there.
    let status = ok(&elsewhere, &["--config", &cfg, "status"]);
    assert!(status.contains("none recorded yet"), "{status}");
    let trace = |root: &std::path::Path| -> Vec<String> {
        walk(root)
            .into_iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect()
    };
    assert_eq!(trace(&elsewhere), Vec::<String>::new());
    assert!(!site.join("data").exists(), "{:?}", trace(&site));
    ok(&elsewhere, &["--config", &cfg, "ingest"]);
    assert!(
        site.join("data/observations/snapshots").is_dir(),
        "the lake is beside the config"
    );
    assert_eq!(
        trace(&elsewhere),
        Vec::<String>::new(),
        "nothing where tagpulse started"
    );
    let status = ok(&elsewhere, &["--config", &cfg, "status"]);
    assert!(
        status.contains("ingest") && status.contains("cli"),
        "{status}"
    );
}

fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// `status --check` for monitors: exit 0 and "check: ok" when all is well, exit 1 naming
/// each problem when the last run failed or a source has no success.
#[test]
fn status_check_exits_1_naming_what_needs_attention() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("input")).unwrap();
    let f = fs::read_dir(fixtures())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::copy(&f, d.join("input").join(f.file_name().unwrap())).unwrap();
    let source = |paths: &str| {
        format!("[[sources]]\nid = \"files\"\nkind = \"file\"\npaths = [\"{paths}\"]\n")
    };
    fs::write(d.join("tagpulse.toml"), source("input/*.tsv")).unwrap();
    let (code, err) = fails(d, &["status", "--check"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("source files is stale: no successful run recorded"),
        "{err}"
    );
    ok(d, &["ingest"]);
    let out = ok(d, &["status", "--check"]);
    assert!(out.ends_with("check: ok\n"), "{out}");
    fs::write(d.join("tagpulse.toml"), source("missing/*.tsv")).unwrap();
    let _ = tagpulse(d, &["ingest"]);
    let out = tagpulse(d, &["status", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("check: 1 problem(s)")
            && stdout.contains("- the last run, ingest (cli) at "),
        "{stdout}"
    );
}

/// `status --json` carries what the text shows, for monitors: runs, each job's schedule
/// and last run, each source's freshness against its schedule, the last report; times
/// are UTC, and the schedule zone is named.
#[test]
fn status_json_is_what_a_monitor_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("tagpulse.toml"),
        format!(
            "[schedule]\ntimezone = \"Europe/Amsterdam\"\n\n\
             [[sources]]\nid = \"files\"\nkind = \"file\"\npaths = [\"{}\"]\n\
             schedule = \"0 0 */6 * * *\"\n\n{TAXONOMY}",
            fixture_glob()
        ),
    )
    .unwrap();
    ok(d, &["run"]);
    let out = ok(d, &["status", "--json", "--check"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schedule_timezone"], "Europe/Amsterdam");
    assert_eq!(v["scheduler_pid"], serde_json::Value::Null);
    assert_eq!(v["runs"][0]["job"], "run");
    assert_eq!(v["runs"][0]["outcome"], "ok");
    assert!(v["runs"][0]["started_at"].as_str().unwrap().ends_with('Z'));
    let source = &v["sources"][0];
    assert_eq!(source["id"], "files");
    assert_eq!(source["interval_secs"], 6 * 3600);
    assert_eq!(source["stale"], false);
    assert_eq!(source["last_run"]["status"], "stored");
    let jobs: Vec<&str> = v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, ["ingest files", "report"]);
    assert_eq!(v["jobs"][1]["last_run"][1], "ok", "the run reported");
    let week = v["last_report"]["week"].as_str().unwrap();
    assert!(d.join("reports").join(week).join("index.html").is_file());
    assert_eq!(v["problems"], serde_json::json!([]));

    // The text says which zone the schedules are in and shows every time in UTC.
    let text = ok(d, &["status"]);
    assert!(
        text.contains(
            "jobs (times in UTC; schedules read in Europe/Amsterdam, local time in brackets):"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("last report: {week} at ")), "{text}");
    let next = text.lines().find(|l| l.contains("ingest files")).unwrap();
    assert!(
        next.contains("Z (") && (next.contains("CET)") || next.contains("CEST)")),
        "{next}"
    );
}

/// `config --check` probes what the jobs will need and names what is missing.
#[test]
fn config_check_names_a_missing_secret_and_passes_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("tagpulse.toml"),
        "[[sources]]\nid = \"x\"\nkind = \"x\"\ntoken_env = \"TP_TEST_CHECK_TOKEN\"\ntags = [\"pflege\"]\n",
    )
    .unwrap();
    let (code, err) = fails(d, &["config", "--check"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("config check: 1 problem(s), the first: source x: source x: set the bearer token (token_env) in TP_TEST_CHECK_TOKEN"),
        "{err}"
    );
    let out = command(d, &["config", "--check"])
        .env("TP_TEST_CHECK_TOKEN", "t0ken-value")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("  source x: ok") && stdout.contains("all ready"),
        "{stdout}"
    );
    assert!(!stdout.contains("t0ken-value"), "the secret stays out");
}

/// `config` prints every setting in force (schedule, zone, alerts, SMTP, the report's
/// week) and never a secret: a webhook URL written in the file is not shown.
#[test]
fn config_prints_the_whole_effective_config_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("tagpulse.toml"),
        r#"[schedule]
timezone = "Europe/Amsterdam"

[[sources]]
id = "files"
kind = "file"
paths = ["*.tsv"]
schedule = "0 30 */4 * * *"
min_interval = "3h"

[report]
week = "2026-W46"
language = "nl"

[[alerts]]
id = "eb"
on = ["breakout", "run_failed"]
on_cli = true
webhook = { url = "https://hooks.example/T0/B0/s3cr3t-path", format = "slack" }
email = { to = ["team@example.com"] }

[smtp]
host = "smtp.example.com"
port = 465
security = "tls"
from = "tagpulse@example.com"
"#,
    )
    .unwrap();
    let out = ok(d, &["config"]);
    for line in [
        "    schedule 0 30 */4 * * *, min_interval 3h",
        "report: reports (top 10, language nl, schedule 0 0 6 * * Mon, week 2026-W46)",
        "schedule: timezone Europe/Amsterdam, grace_period 2m, metrics off",
        "alert eb: on breakout, run_failed; webhook (url in the config, not shown) and e-mail to team@example.com; on_cli",
        "smtp: smtp.example.com:465 (Tls), user none, password from $TAGPULSE_SMTP_PASSWORD, from tagpulse@example.com",
        "lock_timeout: 1m",
    ] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    assert!(!out.contains("s3cr3t"), "{out}");
}
