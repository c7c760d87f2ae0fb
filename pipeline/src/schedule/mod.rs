//! `tagpulse schedule`: one long-running process firing each job at its cron times.
//!
//! [`Scheduler`] owns the timing policy and nothing else: when a job is due, that a job
//! never overlaps itself (a firing while it still runs is skipped and logged), catch-up
//! after downtime (a job whose fire time passed since its last success runs once at start,
//! not once per missed time), and shutdown (stop firing, let the running job finish within
//! the grace period). Jobs run one at a time, in firing order, so the store sees one writer
//! even inside the daemon. What a job does is a [`Runner`] ([`jobs::PipelineRunner`] in
//! production); time is a [`Clock`], so tests run days of schedule in milliseconds.

mod clock;
pub mod jobs;
pub mod metrics;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tagpulse_config::{Config, Cron};
use tokio::sync::mpsc;

pub use clock::{Clock, SystemClock, TokioClock};

use crate::runs::Trigger;

/// A scheduled job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobId {
    /// Fetch one source and store what it yields.
    Ingest(String),
    /// Recompute the weekly tables, render the report, evaluate the alerts.
    Report,
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobId::Ingest(id) => write!(f, "ingest {id}"),
            JobId::Report => f.write_str("report"),
        }
    }
}

/// A job and its cron expression.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Which job the entry runs.
    pub job: JobId,
    /// When it fires.
    pub cron: Cron,
}

/// Every job the config schedules: one per source, then the report.
pub fn entries(cfg: &Config) -> Vec<Entry> {
    let mut out: Vec<Entry> = cfg
        .sources
        .iter()
        .map(|s| Entry {
            job: JobId::Ingest(s.id.clone()),
            cron: s.schedule.clone(),
        })
        .collect();
    out.push(Entry {
        job: JobId::Report,
        cron: cfg.report.schedule.clone(),
    });
    out
}

/// Does one job run; never fails (a failure is the runner's to record and log).
#[async_trait]
pub trait Runner: Send + Sync + 'static {
    /// Runs `job` to its end.
    async fn run(&self, job: &JobId, trigger: Trigger);
}

/// What a scheduler did before it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Runs started on time.
    pub fired: usize,
    /// Runs started at start-up for a missed fire time.
    pub caught_up: usize,
    /// Firings skipped because the job was still running.
    pub skipped: usize,
    /// True when the running job outlasted the grace period.
    pub abandoned: bool,
}

/// Fires jobs at their times (see the module's documentation).
pub struct Scheduler<C: Clock, R: Runner> {
    entries: Vec<Entry>,
    tz: Tz,
    clock: Arc<C>,
    runner: Arc<R>,
    grace: Duration,
}

impl<C: Clock, R: Runner> Scheduler<C, R> {
    /// A scheduler of `entries` in zone `tz`.
    pub fn new(entries: Vec<Entry>, tz: Tz, clock: C, runner: R, grace: Duration) -> Self {
        Scheduler {
            entries,
            tz,
            clock: Arc::new(clock),
            runner: Arc::new(runner),
            grace,
        }
    }

    /// Runs until `stop` resolves; `last_success` holds each job's last successful start
    /// (a job without one is due at once).
    pub async fn run(
        self,
        last_success: &HashMap<JobId, DateTime<Utc>>,
        stop: impl Future<Output = ()>,
    ) -> Stats {
        let mut stats = Stats::default();
        let busy: Arc<Mutex<HashSet<JobId>>> = Default::default();
        let (tx, mut rx) = mpsc::unbounded_channel::<(JobId, Trigger)>();
        let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let worker = {
            let (busy, runner, stopping) = (busy.clone(), self.runner.clone(), stopping.clone());
            tokio::spawn(async move {
                while let Some((job, trigger)) = rx.recv().await {
                    // Queued before the stop, not started: dropped.
                    if !stopping.load(std::sync::atomic::Ordering::SeqCst) {
                        tracing::info!(job = %job, trigger = trigger.as_str(), "starting");
                        // Its own task: a job that panics is logged, the scheduler goes on.
                        let (r, j) = (runner.clone(), job.clone());
                        let run = tokio::spawn(async move { r.run(&j, trigger).await });
                        if let Err(e) = run.await {
                            tracing::error!(job = %job, outcome = "failed", "the job crashed: {e}");
                        }
                    }
                    busy.lock().expect("busy set").remove(&job);
                }
            })
        };
        let fire = |job: &JobId, trigger: Trigger, at: DateTime<Utc>| -> bool {
            if !busy.lock().expect("busy set").insert(job.clone()) {
                tracing::warn!(job = %job, "skipped the {at} firing: the previous run still runs");
                return false;
            }
            tracing::debug!(job = %job, trigger = trigger.as_str(), "due");
            tx.send((job.clone(), trigger)).is_ok()
        };

        let now = self.clock.now();
        for e in &self.entries {
            let missed = match last_success.get(&e.job) {
                None => true,
                Some(t) => e.cron.after(self.tz, *t).next().is_some_and(|f| f <= now),
            };
            if missed && fire(&e.job, Trigger::CatchUp, now) {
                stats.caught_up += 1;
            }
        }
        // Each job's last considered instant: its next firing is the first one after it.
        let mut cursor = vec![now; self.entries.len()];
        tokio::pin!(stop);
        loop {
            let next = self
                .entries
                .iter()
                .zip(&cursor)
                .filter_map(|(e, c)| e.cron.after(self.tz, *c).next())
                .map(|t| t.with_timezone(&Utc))
                .min();
            let wake = async {
                match next {
                    Some(t) => self.clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut stop => break,
                _ = wake => {}
            }
            let now = self.clock.now();
            for (e, c) in self.entries.iter().zip(cursor.iter_mut()) {
                let Some(due) = e.cron.after(self.tz, *c).next() else {
                    continue;
                };
                if due > now {
                    continue;
                }
                // Several missed times (a clock step) still fire once.
                *c = now;
                if fire(&e.job, Trigger::Schedule, due.with_timezone(&Utc)) {
                    stats.fired += 1;
                } else {
                    stats.skipped += 1;
                }
            }
        }

        stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(tx);
        let running: Vec<String> = busy
            .lock()
            .expect("busy set")
            .iter()
            .map(|j| j.to_string())
            .collect();
        if !running.is_empty() {
            tracing::info!(
                "stopping: letting {} finish (grace_period {})",
                running.join(", "),
                humantime::format_duration(self.grace)
            );
        }
        if tokio::time::timeout(self.grace, worker).await.is_err() {
            stats.abandoned = true;
        }
        stats
    }
}

#[cfg(test)]
mod tests;
