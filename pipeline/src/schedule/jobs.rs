//! The production [`Runner`]: each scheduled firing is one [`Pipeline::run_job`] (lock,
//! record, alerts, as for the command line), counted in the metrics.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::{entries, JobId, Runner, Scheduler, Stats, SystemClock};
use crate::runs::{Outcome, RunHistory, RunRecord, Trigger};
use crate::{DataDirLock, Job, NoProgressSink, Pipeline, PipelineError, RenderRequest};

/// Called after every scheduled run with its record (the metrics).
pub trait RunObserver: Send + Sync + 'static {
    /// A run of `job` has just been recorded as `rec`.
    fn observe(&self, job: &JobId, rec: &RunRecord);
}

/// Runs scheduled jobs on a [`Pipeline`].
pub struct PipelineRunner {
    pipeline: Arc<Pipeline>,
    observers: Vec<Arc<dyn RunObserver>>,
}

impl PipelineRunner {
    /// A runner of `pipeline`'s jobs, telling `observers` about each run.
    pub fn new(pipeline: Arc<Pipeline>, observers: Vec<Arc<dyn RunObserver>>) -> Self {
        PipelineRunner {
            pipeline,
            observers,
        }
    }

    /// Runs one job once and returns its record (already stored).
    pub async fn run_once(
        &self,
        job: &JobId,
        trigger: Trigger,
    ) -> Result<RunRecord, PipelineError> {
        let job = match job {
            JobId::Ingest(id) => Job::Ingest(vec![id.clone()]),
            JobId::Report => Job::Report {
                req: RenderRequest::default(),
                recompute: true,
            },
        };
        let done = self.pipeline.run_job(job, trigger, &NoProgressSink).await?;
        if let Some(r) = done.output.as_ref().ok().and_then(|o| o.report()) {
            tracing::info!(
                "report for {} written to {}",
                tagpulse_config::iso_week_label(r.week),
                r.dir.display()
            );
        }
        Ok(done.record)
    }
}

#[async_trait]
impl Runner for PipelineRunner {
    async fn run(&self, job: &JobId, trigger: Trigger) {
        match self.run_once(job, trigger).await {
            Ok(rec) => {
                let secs = (rec.finished_at - rec.started_at).as_seconds_f64();
                if rec.outcome == Outcome::Ok {
                    tracing::info!(job = %job, outcome = "ok", rows = rec.rows_written, "finished in {secs:.1}s");
                } else {
                    tracing::error!(job = %job, outcome = rec.outcome.as_str(), rows = rec.rows_written, "{}", rec.message);
                }
                for o in &self.observers {
                    o.observe(job, &rec);
                }
            }
            // Not even recorded (the lock, the run history): only the log knows.
            Err(e) => tracing::error!(job = %job, outcome = "failed", "{e}"),
        }
    }
}

/// Each scheduled job's last successful start, from the run history.
pub fn last_success(
    pipeline: &Pipeline,
    history: &RunHistory,
) -> HashMap<JobId, chrono::DateTime<chrono::Utc>> {
    entries(pipeline.config())
        .into_iter()
        .filter_map(|e| {
            let at = match &e.job {
                JobId::Ingest(id) => history.source_success(id),
                JobId::Report => history.job_success(&["run", "report"]),
            }?;
            Some((e.job, at))
        })
        .collect()
}

/// `tagpulse schedule`: runs the configured jobs on the wall clock until `stop` resolves.
pub async fn serve(
    pipeline: Arc<Pipeline>,
    observers: Vec<Arc<dyn RunObserver>>,
    stop: impl Future<Output = ()>,
) -> Result<Stats, PipelineError> {
    let cfg = pipeline.config().clone();
    let _scheduler = DataDirLock::scheduler(&cfg.storage.data_dir).await?;
    let mut observers = observers;
    let history = pipeline.history()?;
    let last = last_success(&pipeline, &history);
    if let Some(addr) = cfg.schedule.metrics_addr {
        let m = Arc::new(super::metrics::Metrics::default());
        // A restarted daemon knows when each job last succeeded before its next run.
        m.seed_last_success(&last);
        let bound = super::metrics::serve(addr, m.clone()).await?;
        if !bound.ip().is_loopback() {
            tracing::warn!(
                "metrics are served without authentication on {bound}, beyond this machine"
            );
        }
        tracing::info!("metrics at http://{bound}/metrics");
        observers.push(m);
    }
    let jobs = entries(&cfg);
    tracing::info!(
        "scheduling {} job(s) in {}: {}",
        jobs.len(),
        cfg.schedule.tz(),
        jobs.iter()
            .map(|e| format!("{} ({})", e.job, e.cron.expr()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let runner = PipelineRunner::new(pipeline, observers);
    let sched = Scheduler::new(
        jobs,
        cfg.schedule.tz(),
        SystemClock,
        runner,
        cfg.schedule.grace_period,
    );
    Ok(sched.run(&last, stop).await)
}
