//! `tagpulse status`: what an operator and a monitor need, gathered once into [`Status`]
//! and printed as text (every time in UTC, the schedule's zone in brackets) or as JSON
//! (`--json`, times RFC 3339 UTC). `--check` exits 1 when something needs attention.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tagpulse_config::Config;
use tagpulse_pipeline::alerts::state::AlertState;
use tagpulse_pipeline::runs::{RunHistory, RunRecord};

mod text;

/// Everything `status` shows.
#[derive(Debug, Serialize)]
struct Status {
    /// When this status was taken.
    checked_at: DateTime<Utc>,
    /// The store, as the logs describe it.
    store: String,
    /// The IANA zone the schedules are read in.
    schedule_timezone: String,
    /// The `tagpulse schedule` process on this data directory, if one runs.
    scheduler_pid: Option<u32>,
    /// The newest runs, newest first.
    runs: Vec<Run>,
    /// Each scheduled job: its schedule, next fire, last run and last success.
    jobs: Vec<Job>,
    /// Each source's freshness against its schedule.
    sources: Vec<Source>,
    /// The newest report written.
    last_report: Option<Report>,
    /// Each alert target's delivery state.
    alerts: Vec<AlertTarget>,
    /// What needs attention (what `--check` fails on).
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Run {
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    job: String,
    trigger: &'static str,
    outcome: &'static str,
    rows_written: u64,
    message: String,
}

impl Run {
    fn of(r: &RunRecord) -> Run {
        Run {
            started_at: r.started_at,
            finished_at: r.finished_at,
            job: r.job.clone(),
            trigger: r.trigger.as_str(),
            outcome: r.outcome.as_str(),
            rows_written: r.rows_written,
            message: r.message.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Job {
    /// `ingest <source>` or `report`.
    name: String,
    schedule: String,
    next_fire: Option<DateTime<Utc>>,
    /// When it last ran and how that went.
    last_run: Option<(DateTime<Utc>, &'static str)>,
    last_success: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
struct Source {
    id: String,
    /// The newest stored observation (a day counts at its end).
    newest_observation: Option<DateTime<Utc>>,
    /// The last run that asked it: when, which job, and what became of the source.
    last_run: Option<SourceRun>,
    last_success: Option<DateTime<Utc>>,
    /// Seconds between its scheduled fetches (`None`: not a configured source).
    interval_secs: Option<i64>,
    /// No success for two intervals plus an hour.
    stale: bool,
}

#[derive(Debug, Serialize)]
struct SourceRun {
    started_at: DateTime<Utc>,
    job: String,
    status: String,
    /// Observations it stored (or spooled).
    observations: u64,
    tags_ok: u32,
    tags_failed: u32,
    failed_by_kind: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct Report {
    week: String,
    page: String,
    written_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct AlertTarget {
    alert: String,
    target: &'static str,
    /// Deliveries failed in a row (0: fine).
    failures: u32,
    findings_sent: usize,
    last_ok: Option<DateTime<Utc>>,
    last_failure: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

/// Gathers the status of `cfg`'s data directory: reads only, takes no lock.
async fn gather(cfg: Config, runs: usize) -> anyhow::Result<Status> {
    let now = Utc::now();
    let pipeline = crate::open_pipeline(cfg, &tagpulse_ingest::shutdown::Shutdown::new())?;
    let history = pipeline.history()?;
    let cfg = pipeline.config();
    let fresh = pipeline.freshness(&history).await?;
    let states = AlertState::all(&cfg.storage.data_dir);
    let problems = tagpulse_pipeline::problems(cfg, &history, &fresh, &states, now);
    let sources = fresh
        .iter()
        .map(|f| {
            let entry = cfg.sources.iter().find(|e| e.id == f.source);
            let interval = entry.and_then(|e| tagpulse_pipeline::interval(cfg, &e.schedule, now));
            Source {
                id: f.source.clone(),
                newest_observation: f.newest,
                last_run: f
                    .last_run
                    .as_ref()
                    .map(|(r, s)| SourceRun {
                        started_at: r.started_at,
                        job: r.job.clone(),
                        status: s.status.clone(),
                        observations: s.observations,
                        tags_ok: s.tags_ok,
                        tags_failed: s.tags_failed,
                        failed_by_kind: s.failed_by_kind.clone(),
                        message: s.message.clone(),
                    })
                    .or_else(|| last_import(&history, &f.source)),
                last_success: f.last_success,
                interval_secs: interval.map(|i| i.num_seconds()),
                stale: match (interval, f.last_success) {
                    (Some(i), Some(t)) => tagpulse_pipeline::is_stale(i, t, now),
                    (Some(_), None) => true,
                    (None, _) => false,
                },
            }
        })
        .collect();
    let mut jobs: Vec<Job> = cfg
        .sources
        .iter()
        .map(|e| {
            let last = history.source_last(&e.id);
            Job {
                name: format!("ingest {}", e.id),
                schedule: e.schedule.expr().to_string(),
                next_fire: e
                    .schedule
                    .after(cfg.schedule.tz(), now)
                    .next()
                    .map(|t| t.to_utc()),
                last_run: last.map(|(r, _)| (r.started_at, r.outcome.as_str())),
                last_success: history.source_success(&e.id),
            }
        })
        .collect();
    let reporting = ["report", "run"];
    jobs.push(Job {
        name: "report".into(),
        schedule: cfg.report.schedule.expr().to_string(),
        next_fire: cfg
            .report
            .schedule
            .after(cfg.schedule.tz(), now)
            .next()
            .map(|t| t.to_utc()),
        last_run: history
            .runs
            .iter()
            .rev()
            .find(|r| reporting.contains(&r.job.as_str()))
            .map(|r| (r.started_at, r.outcome.as_str())),
        last_success: history.job_success(&reporting),
    });
    let alerts = cfg
        .alerts
        .iter()
        .flat_map(|a| {
            let state = states.iter().find(|(id, _)| *id == a.id).map(|(_, s)| s);
            [
                ("webhook", a.webhook.is_some()),
                ("email", a.email.is_some()),
            ]
            .into_iter()
            .filter(|(_, on)| *on)
            .map(move |(target, _)| {
                let t = state.and_then(|s| s.targets.get(target));
                AlertTarget {
                    alert: a.id.clone(),
                    target,
                    failures: t.map_or(0, |t| t.failures),
                    findings_sent: t.map_or(0, |t| t.sent.len()),
                    last_ok: t.and_then(|t| t.last_ok),
                    last_failure: t.and_then(|t| t.last_failure),
                    last_error: t.and_then(|t| t.last_error.clone()),
                }
            })
        })
        .collect();
    Ok(Status {
        checked_at: now,
        store: pipeline.describe_store(),
        schedule_timezone: cfg.schedule.tz().to_string(),
        scheduler_pid: tagpulse_pipeline::DataDirLock::scheduler_pid(&cfg.storage.data_dir),
        runs: history.latest(runs).map(Run::of).collect(),
        jobs,
        sources,
        last_report: tagpulse_pipeline::latest_report(&cfg.report.out_dir).map(
            |(week, page, written_at)| Report {
                week,
                page: page.display().to_string(),
                written_at,
            },
        ),
        alerts,
        problems,
    })
}

/// `tagpulse import` stores as source `import` without per-tag results: its last run.
fn last_import(history: &RunHistory, source: &str) -> Option<SourceRun> {
    if source != "import" {
        return None;
    }
    let r = history.runs.iter().rev().find(|r| r.job == "import")?;
    Some(SourceRun {
        started_at: r.started_at,
        job: r.job.clone(),
        status: r.outcome.as_str().to_string(),
        observations: r.rows_written,
        tags_ok: 0,
        tags_failed: 0,
        failed_by_kind: String::new(),
        message: format!("{} rows", r.rows_written),
    })
}

/// `tagpulse status [--json] [--check]`.
pub(crate) async fn print(cfg: Config, runs: usize, check: bool, json: bool) -> anyhow::Result<()> {
    let status = gather(cfg, runs).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        text::print(&status, check);
    }
    if check && !status.problems.is_empty() {
        anyhow::bail!(
            "status check: {} problem(s), the first: {}",
            status.problems.len(),
            status.problems[0]
        );
    }
    Ok(())
}
