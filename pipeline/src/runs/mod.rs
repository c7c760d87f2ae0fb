//! Run records: what every job run did (scheduled or one-shot), kept under `data_dir`
//! for `tagpulse status`, the scheduler's catch-up and the alerts, and copied into the
//! ClickHouse `runs`/`run_sources` tables when that is the backend.

mod table;

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use tagpulse_ingest::TagFailure;

use crate::outcome::{RunOutcome, SourceOutcome, SourceStatus};
use crate::{Pipeline, PipelineError};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A one-shot command.
    Cli,
    /// The scheduler, at a fire time.
    Schedule,
    /// The scheduler at start, for a fire time missed while it was down.
    CatchUp,
}

impl Trigger {
    /// The name stored in `runs.trigger`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Cli => "cli",
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch-up",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything it set out to do is stored.
    Ok,
    /// Stored, but some tags or sources failed.
    Partial,
    /// Nothing (or not the main part) was done.
    Failed,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
}

impl Outcome {
    /// The name stored in `runs.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// True for `ok` and `partial`: the run stored what it could (catch-up, `source_silent`).
    pub fn succeeded(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Partial)
    }

    fn parse(s: &str) -> Outcome {
        match s {
            "ok" => Outcome::Ok,
            "partial" => Outcome::Partial,
            "interrupted" => Outcome::Interrupted,
            _ => Outcome::Failed,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One source's line in a run record.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The source's id.
    pub source: String,
    /// `stored`, `spooled` or `failed`.
    pub status: String,
    /// Snapshots plus daily counts stored (or spooled).
    pub observations: u64,
    /// Tags that yielded observations.
    pub tags_ok: u32,
    /// Tags that yielded nothing.
    pub tags_failed: u32,
    /// Failed tags per kind, `kind=n` separated by spaces.
    pub failed_by_kind: String,
    /// Why the source failed; empty otherwise.
    pub message: String,
}

impl SourceRecord {
    /// The record of one source's outcome.
    pub fn of(o: &SourceOutcome) -> SourceRecord {
        let (status, observations, message) = match &o.status {
            SourceStatus::Stored { snapshots, daily } => ("stored", snapshots + daily, ""),
            SourceStatus::Spooled {
                snapshots,
                daily,
                message,
            } => ("spooled", snapshots + daily, message.as_str()),
            SourceStatus::Failed { message } => ("failed", 0, message.as_str()),
        };
        SourceRecord {
            source: o.source.clone(),
            status: status.into(),
            observations: observations as u64,
            tags_ok: o.tags_ok as u32,
            tags_failed: o.failures.len() as u32,
            failed_by_kind: by_kind(&o.failures),
            message: message.into(),
        }
    }

    /// `failed_by_kind` read back: (kind, tags) pairs, as `by_kind` wrote them.
    pub fn failed_kinds(&self) -> impl Iterator<Item = (&str, u64)> {
        self.failed_by_kind
            .split_whitespace()
            .filter_map(|part| part.split_once('='))
            .map(|(kind, n)| (kind, n.parse().unwrap_or(0)))
    }

    /// True when the source stored (or spooled) what it fetched.
    pub fn delivered(&self) -> bool {
        self.status != "failed"
    }
}

fn by_kind(failures: &[TagFailure]) -> String {
    tagpulse_ingest::count_by_kind(failures)
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One job run, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Unique id: start time and process id.
    pub run_id: String,
    /// `ingest`, `import`, `transform`, `report`, `run` or `backfill`.
    pub job: String,
    /// What started it.
    pub trigger: Trigger,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: Outcome,
    /// Observations plus weekly rows stored.
    pub rows_written: u64,
    /// Why it failed or what was partial; empty when ok.
    pub message: String,
    /// The sources it asked, in order.
    pub sources: Vec<SourceRecord>,
}

impl RunRecord {
    /// A run of `job` starting now; [`RunRecord::finish`] closes it.
    pub fn start(job: &str, trigger: Trigger) -> RunRecord {
        let now = Utc::now();
        // The run history keeps milliseconds: the record in hand equals the stored one.
        let started_at = now.trunc_subsecs(3);
        RunRecord {
            run_id: format!(
                "{}-{}",
                now.format("%Y%m%dT%H%M%S%.6fZ"),
                std::process::id()
            ),
            job: job.into(),
            trigger,
            started_at,
            finished_at: started_at,
            outcome: Outcome::Ok,
            rows_written: 0,
            message: String::new(),
            sources: Vec::new(),
        }
    }

    /// Closes the run now with its outcome.
    pub fn finish(mut self, outcome: Outcome, rows_written: u64, message: String) -> RunRecord {
        self.finished_at = Utc::now().trunc_subsecs(3);
        self.outcome = outcome;
        self.rows_written = rows_written;
        self.message = message;
        self
    }

    /// Closes an ingest of `sources`: ok when every source stored everything, partial
    /// when some stored, failed when none did.
    pub fn finish_ingest(mut self, sources: &[SourceOutcome], interrupted: bool) -> RunRecord {
        self.sources = sources.iter().map(SourceRecord::of).collect();
        let rows = self.sources.iter().map(|s| s.observations).sum();
        let failed: Vec<String> = sources
            .iter()
            .filter(|s| !s.is_ok())
            .map(|s| s.describe())
            .collect();
        // A signal after the last source stored interrupts nothing.
        let outcome = if failed.is_empty() {
            Outcome::Ok
        } else if interrupted {
            Outcome::Interrupted
        } else if self.sources.iter().any(|s| s.delivered()) {
            Outcome::Partial
        } else {
            Outcome::Failed
        };
        self.finish(outcome, rows, failed.join("; "))
    }

    /// Closes a `run` (sources, recompute, render): failed when no report came out.
    pub fn finish_run(self, out: &RunOutcome, interrupted: bool) -> RunRecord {
        let weekly = match &out.recompute {
            Ok(r) => (r.tag_rows + r.occupation_rows + r.brand_rows) as u64,
            Err(_) => 0,
        };
        let mut rec = self.finish_ingest(&out.sources, interrupted);
        rec.rows_written += weekly;
        if !matches!(out.render, Some(Ok(_))) {
            rec.outcome = if interrupted {
                Outcome::Interrupted
            } else {
                Outcome::Failed
            };
            rec.message = out.failure().unwrap_or_default();
        }
        rec
    }
}

/// Every recorded run, oldest first.
#[derive(Debug, Clone, Default)]
pub struct RunHistory {
    /// The runs with their sources.
    pub runs: Vec<RunRecord>,
}

impl RunHistory {
    /// The last `n` runs, newest first.
    pub fn latest(&self, n: usize) -> impl Iterator<Item = &RunRecord> {
        self.runs.iter().rev().take(n)
    }

    /// When the newest run that delivered `source` started.
    pub fn source_success(&self, source: &str) -> Option<DateTime<Utc>> {
        self.runs
            .iter()
            .rev()
            .find(|r| {
                r.sources
                    .iter()
                    .any(|s| s.source == source && s.delivered())
            })
            .map(|r| r.started_at)
    }

    /// The newest run that asked `source`, with that source's line.
    pub fn source_last(&self, source: &str) -> Option<(&RunRecord, &SourceRecord)> {
        self.runs.iter().rev().find_map(|r| {
            r.sources
                .iter()
                .find(|s| s.source == source)
                .map(|s| (r, s))
        })
    }

    /// When the newest successful run of one of `jobs` started.
    pub fn job_success(&self, jobs: &[&str]) -> Option<DateTime<Utc>> {
        self.runs
            .iter()
            .rev()
            .find(|r| r.outcome.succeeded() && jobs.contains(&r.job.as_str()))
            .map(|r| r.started_at)
    }
}

impl Pipeline {
    /// Records a finished run under `data_dir` and, with ClickHouse, in its `runs` tables.
    /// Only the local copy can fail the call: an unreachable server is logged.
    pub async fn record(&self, rec: &RunRecord) -> Result<(), PipelineError> {
        let (runs, sources) = rec.frames()?;
        tagpulse_store::runs::append(&self.config().storage.data_dir, &runs, &sources)?;
        if let Err(e) = self.store.record_run(&runs, &sources).await {
            tracing::warn!("run {} recorded locally only: {e}", rec.run_id);
        }
        Ok(())
    }

    /// Every recorded run, oldest first, from the backend's run tables.
    pub fn history(&self) -> Result<RunHistory, PipelineError> {
        RunHistory::read(&self.config().storage.data_dir)
    }
}
