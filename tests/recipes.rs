//! The README's production recipes, run as written: the crontab lines through `sh` with
//! cron's bare environment (in their order, then both at once), the systemd unit's
//! `ExecStart` with its `EnvironmentFile` and `WorkingDirectory`, and the Kubernetes
//! CronJob's `args` with its mounts. Every absolute path of a recipe is mapped into a
//! temporary folder; the sources are a file and an X source on a local server that
//! answers only with the token from the secrets file, slowly.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tagpulse_pipeline::runs::{Outcome, RunHistory};
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::*;

const TOKEN: &str = "x-token-from-the-secrets-file";

/// The README's first fenced block of `lang` after the heading `heading`.
fn readme_block(heading: &str, lang: &str) -> String {
    let text = fs::read_to_string(repo().join("README.md")).unwrap();
    let from = text
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let fence = format!("```{lang}\n");
    let start = from + text[from..].find(&fence).expect("a block") + fence.len();
    let end = start + text[start..].find("```").unwrap();
    text[start..end].to_string()
}

/// A server root: the recipes' absolute paths mapped into a temporary folder.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        Root {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// `text` with the binary and every server path mapped under the root.
    fn map(&self, text: &str) -> String {
        let mut out = text.replace("/usr/local/bin/tagpulse", BIN);
        for prefix in ["/srv/tagpulse", "/etc/tagpulse", "/var/log/tagpulse"] {
            let mapped = self.path(prefix).display().to_string();
            out = out.replace(prefix, &mapped);
        }
        out
    }

    fn path(&self, server_path: &str) -> PathBuf {
        self.dir.path().join(server_path.trim_start_matches('/'))
    }

    /// The install section's folders, a week and a half of hourly counts and the secrets
    /// file; `config` (server paths) goes to `config_at`.
    fn install(&self, config_at: &str, config: &str) {
        for d in [
            "/srv/tagpulse/data",
            "/srv/tagpulse/reports",
            "/srv/tagpulse/in",
            "/var/log/tagpulse",
            "/etc/tagpulse",
        ] {
            fs::create_dir_all(self.path(d)).unwrap();
        }
        let hours: String = (0..24 * 10)
            .map(|h| {
                let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    + chrono::Duration::hours(h);
                format!("{}\t{}\n", at.format("%Y-%m-%d %H:%M:%S"), 5_000 + 37 * h)
            })
            .collect();
        fs::write(self.path("/srv/tagpulse/in/pflege.tsv"), hours).unwrap();
        fs::write(self.path(config_at), self.map(config)).unwrap();
        fs::write(
            self.path("/etc/tagpulse/env"),
            format!("# secrets\nTAGPULSE_X_TOKEN={TOKEN}\n"),
        )
        .unwrap();
    }

    fn history(&self) -> RunHistory {
        RunHistory::read(&self.path("/srv/tagpulse/data")).unwrap()
    }

    /// The report folders written (`reports/<week>/index.html`).
    fn reports(&self) -> Vec<String> {
        let Ok(dir) = fs::read_dir(self.path("/srv/tagpulse/reports")) else {
            return Vec::new();
        };
        let mut weeks: Vec<String> = dir
            .flatten()
            .filter(|e| e.path().join("index.html").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        weeks.sort();
        weeks
    }
}

/// Daily X counts of the last week, only for the secrets file's token, `delay` late.
async fn x_server(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    let today = Utc::now().date_naive();
    let buckets: Vec<_> = (1..8)
        .map(|ago| {
            let start = (today - chrono::Duration::days(ago))
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc();
            json!({"start": start.to_rfc3339(), "end": (start + chrono::Duration::days(1)).to_rfc3339(), "tweet_count": 100 + ago})
        })
        .collect();
    Mock::given(path("/2/tweets/counts/recent"))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": buckets}))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

/// The production config of these tests, with server paths: a data lock of 1 s, so a
/// command that waited for a fetch would fail.
fn config(server: &MockServer) -> String {
    format!(
        r#"[storage]
data_dir = "data"
lock_timeout = "1s"

[taxonomy]
defaults = false

[[occupations]]
name = "Nursing"
tags = ["pflege"]

[[sources]]
id = "counts"
kind = "file"
paths = ["/srv/tagpulse/in/pflege.tsv"]

[[sources]]
id = "x"
kind = "x"
base_url = "{}"

[report]
out_dir = "reports"
"#,
        server.uri()
    )
}

/// `sh -c line` in cron's environment: no variables but a bare PATH, run from `/`.
fn cron_sh(line: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(line)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/");
    cmd
}

fn assert_ran(status: std::process::ExitStatus, root: &Root, what: &str) {
    let log = fs::read_to_string(root.path("/var/log/tagpulse/tagpulse.log")).unwrap_or_default();
    assert!(status.success(), "{what} failed; log:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_crontab_lines_run_as_written_in_order_and_at_once() {
    let block = readme_block("### The alternative: one-shot commands from cron", "cron");
    let lines: Vec<String> = block
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            // Five time fields, then the command cron hands to `sh`.
            let mut rest = l;
            for _ in 0..5 {
                rest = rest.trim_start();
                rest = &rest[rest.find(char::is_whitespace).unwrap()..];
            }
            rest.trim().to_string()
        })
        .collect();
    assert_eq!(lines.len(), 2, "the six-hourly ingest and the weekly line");
    let server = x_server(Duration::from_secs(3)).await;
    let root = Root::new();
    root.install("/srv/tagpulse/tagpulse.toml", &config(&server));
    let (ingest, weekly) = (root.map(&lines[0]), root.map(&lines[1]));

    // In the documented order.
    assert_ran(cron_sh(&ingest).status().unwrap(), &root, "the ingest line");
    assert_ran(cron_sh(&weekly).status().unwrap(), &root, "the weekly line");
    let history = root.history();
    let jobs: Vec<(&str, Outcome)> = history
        .runs
        .iter()
        .map(|r| (r.job.as_str(), r.outcome))
        .collect();
    assert_eq!(jobs, [("ingest", Outcome::Ok), ("run", Outcome::Ok)]);
    assert!(
        history.runs[1].sources.is_empty(),
        "the weekly line fetched nothing"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(!root.reports().is_empty(), "a report was written");

    // Both in the same minute: the weekly line does not wait for the slow fetch.
    let mut fetching = cron_sh(&ingest).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.received_requests().await.unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the second ingest never fetched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ran(cron_sh(&weekly).status().unwrap(), &root, "the weekly line");
    assert!(
        fetching.try_wait().unwrap().is_none(),
        "the weekly line finished while the fetch was still under way"
    );
    assert_ran(fetching.wait().unwrap(), &root, "the ingest line");
    let outcomes: Vec<Outcome> = root.history().runs.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok; 4]);
    let log = fs::read_to_string(root.path("/var/log/tagpulse/tagpulse.log")).unwrap();
    assert!(!log.contains("ERROR") && !log.contains("error:"), "{log}");
    assert!(!log.contains(TOKEN), "the secret stays out of the log");
}

/// `Key=Value` of a unit file's `[Service]` section.
fn unit_key(unit: &str, key: &str) -> String {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the unit has no {key}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_systemd_unit_runs_the_scheduler_with_its_secrets_and_stops_cleanly() {
    let unit = readme_block(
        "### The scheduler: `tagpulse schedule` under systemd",
        "ini",
    );
    let server = x_server(Duration::from_millis(200)).await;
    let root = Root::new();
    root.install("/srv/tagpulse/tagpulse.toml", &config(&server));
    let exec = root.map(&unit_key(&unit, "ExecStart"));
    let workdir = root.map(&unit_key(&unit, "WorkingDirectory"));
    let env_file = root.map(&unit_key(&unit, "EnvironmentFile"));
    let mut args = exec.split_whitespace();
    let mut cmd = Command::new(args.next().unwrap());
    cmd.args(args)
        .current_dir(&workdir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // systemd's EnvironmentFile: NAME=value lines, `#` comments.
    for line in fs::read_to_string(&env_file).unwrap().lines() {
        if let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            cmd.env(k.trim(), v.trim());
        }
    }
    let mut scheduler = cmd.spawn().unwrap();
    // Nothing ran yet: the catch-up runs every job once at start.
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = |h: &RunHistory| {
        ["ingest", "report"]
            .iter()
            .all(|job| h.runs.iter().filter(|r| r.job == *job).count() >= 1)
    };
    while !root.path("/srv/tagpulse/data/runs").exists() || !done(&root.history()) {
        assert!(
            scheduler.try_wait().unwrap().is_none(),
            "the scheduler exited early"
        );
        assert!(Instant::now() < deadline, "the catch-up did not finish");
        std::thread::sleep(Duration::from_millis(200));
    }
    let stop = Command::new("kill")
        .args(["-TERM", &scheduler.id().to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(status) = scheduler.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "no exit within 60 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let history = root.history();
    let failed: Vec<String> = history
        .runs
        .iter()
        .filter(|r| r.outcome != Outcome::Ok)
        .map(|r| format!("{} {}: {}", r.job, r.outcome.as_str(), r.message))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        history
            .runs
            .iter()
            .any(|r| r.sources.iter().any(|s| s.source == "x" && s.delivered())),
        "the X source got its token from the EnvironmentFile"
    );
    assert!(
        !root.reports().is_empty(),
        "the report is in /srv/tagpulse/reports"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubernetes_cronjob_keeps_data_and_reports_on_its_claim() {
    let yaml = readme_block("### Kubernetes CronJob", "yaml");
    // The ConfigMap's tagpulse.toml: the indented lines under `tagpulse.toml: |`.
    let at = yaml.find("tagpulse.toml: |\n").unwrap() + "tagpulse.toml: |\n".len();
    let toml: String = yaml[at..]
        .lines()
        .take_while(|l| l.starts_with("    "))
        .map(|l| format!("{}\n", &l[4..]))
        .collect();
    let args_line = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("args: "))
        .unwrap();
    let args: Vec<String> = serde_json::from_str(args_line).unwrap();
    // Mounts by volume name, and which volume is the claim.
    let mounts: Vec<(String, String)> = yaml
        .lines()
        .filter(|l| l.contains("mountPath:"))
        .map(|l| {
            let field = |k: &str| {
                let from = l.find(k).unwrap() + k.len();
                l[from..]
                    .split([',', '}'])
                    .next()
                    .unwrap()
                    .trim()
                    .to_string()
            };
            (field("name:"), field("mountPath:"))
        })
        .collect();
    let claim_volume = yaml
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[1].contains("persistentVolumeClaim"))
        .and_then(|w| w[0].trim().strip_prefix("- name: ").map(str::to_string))
        .unwrap();
    let claim = &mounts
        .iter()
        .find(|(name, _)| *name == claim_volume)
        .expect("the claim is mounted")
        .1;
    let cfg: toml::Table = toml.parse().unwrap();
    for (section, key) in [("storage", "data_dir"), ("report", "out_dir")] {
        let p = cfg[section][key].as_str().unwrap();
        assert!(
            Path::new(p).starts_with(claim),
            "{section}.{key} = {p} is not on the claim mounted at {claim}"
        );
    }

    let server = x_server(Duration::from_millis(100)).await;
    let root = Root::new();
    // The ConfigMap's keys plus this test's sources and taxonomy.
    let full = config(&server)
        .replace(
            "[storage]\ndata_dir = \"data\"\nlock_timeout = \"1s\"\n",
            "",
        )
        .replace("[report]\nout_dir = \"reports\"\n", "");
    let config_file = args
        .iter()
        .skip_while(|a| *a != "--config")
        .nth(1)
        .unwrap()
        .clone();
    root.install(&config_file, &format!("{toml}\n{full}"));
    let out = Command::new(BIN)
        .args(args.iter().map(|a| root.map(a)))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TAGPULSE_X_TOKEN", TOKEN)
        .current_dir(root.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Everything the job wrote is on the claim: the lake, the run records, the report.
    let claim_dir = root.path(claim);
    assert!(claim_dir.join("data/observations/snapshots").is_dir());
    assert_eq!(root.history().runs.len(), 1);
    assert!(!root.reports().is_empty());
    let outside: Vec<String> = fs::read_dir(root.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "srv" && n != "etc" && n != "var")
        .collect();
    assert!(outside.is_empty(), "written beside the mounts: {outside:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_does_not_refetch_a_source_stored_within_its_min_interval() {
    let server = x_server(Duration::ZERO).await;
    let root = Root::new();
    let cfg = config(&server).replace("kind = \"x\"\n", "kind = \"x\"\nmin_interval = \"1h\"\n");
    root.install("/srv/tagpulse/tagpulse.toml", &cfg);
    let d = root.path("/srv/tagpulse");
    let with_token = |args: &[&str]| {
        let out = command(&d, args)
            .env("TAGPULSE_X_TOKEN", TOKEN)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    with_token(&["ingest", "--source", "x"]);
    let log = with_token(&["run"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(
        log.contains("within its min_interval of 1h: not fetched again"),
        "{log}"
    );
    // The file source has no min_interval: run read it (nothing new after the ingest).
    let run = root.history().runs.pop().unwrap();
    let asked: Vec<&str> = run.sources.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(asked, ["counts"]);

    let bad = cfg.replace("min_interval = \"1h\"", "min_interval = \"soon\"");
    fs::write(d.join("tagpulse.toml"), root.map(&bad)).unwrap();
    let (code, err) = fails(&d, &["config"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "tagpulse.toml:20: sources[1].min_interval: \"soon\" is not a duration such as \"5h\""
        ),
        "{err}"
    );
}
