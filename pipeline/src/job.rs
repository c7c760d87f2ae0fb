//! The one job runner, for the command line and the scheduler alike: a [`Job`] writes
//! under the data directory's lock (taken by each write, so a source's network fetch holds
//! no one up; an import and a backfill's windows read and store under it), is recorded in
//! the run history, and is followed by the alerts once the lock is released (a slow alert
//! target keeps no other job out). Callers only say which job and print what it did.

use std::error::Error;

use crate::runs::{Outcome, RunRecord, Trigger};
use crate::{
    BackfillOutcome, BackfillRequest, ImportOutcome, ImportRequest, Pipeline, PipelineError,
    ProgressSink, RecomputeOutcome, RenderOutcome, RenderRequest, RunOutcome, SourceOutcome,
};

/// A job: what one command or one scheduled firing does.
#[derive(Debug, Clone)]
pub enum Job {
    /// Import files, all or nothing.
    Import(ImportRequest),
    /// Fetch these sources (every configured one when empty) and store what they yield.
    Ingest(Vec<String>),
    /// Ask a source for a past range, window by window.
    Backfill(BackfillRequest),
    /// Recompute the weekly tables.
    Transform,
    /// Merge the stored observations so each identity is kept once.
    Compact,
    /// Render a report; `recompute` first recomputes the weekly tables (the scheduler's
    /// report job).
    Report {
        /// Which week, where.
        req: RenderRequest,
        /// Recompute the weekly tables first.
        recompute: bool,
    },
    /// The main job: every source, the weekly tables, the report.
    Run {
        /// Which week, where.
        req: RenderRequest,
        /// Fetch the sources first (`run --no-ingest` does not: it reports what the
        /// scheduled ingests stored).
        ingest: bool,
    },
}

impl Job {
    /// The name the run history records it under.
    pub fn name(&self) -> &'static str {
        match self {
            Job::Import(_) => "import",
            Job::Ingest(_) => "ingest",
            Job::Backfill(_) => "backfill",
            Job::Transform => "transform",
            Job::Compact => "compact",
            Job::Report { .. } => "report",
            Job::Run { .. } => "run",
        }
    }
}

/// What a job produced, by job.
#[derive(Debug)]
pub enum JobOutput {
    /// Files imported.
    Import(ImportOutcome),
    /// One outcome per source asked.
    Ingest(Vec<SourceOutcome>),
    /// What the backfill fetched and stored, per tag and range.
    Backfill(BackfillOutcome),
    /// The weekly tables written.
    Transform(RecomputeOutcome),
    /// What each kind of observation was compacted to.
    Compact(Vec<tagpulse_store::Compaction>),
    /// The report, and the weekly tables recomputed before it (if asked); no report when
    /// an interrupt came between the two.
    Report {
        /// The recompute before the report, when the job asked for one.
        recomputed: Option<RecomputeOutcome>,
        /// The report written, if the tables had a complete week.
        rendered: Option<RenderOutcome>,
    },
    /// The main job's parts.
    Run(RunOutcome),
}

impl JobOutput {
    /// The report this job rendered, for the alerts that mail it.
    pub fn report(&self) -> Option<&RenderOutcome> {
        match self {
            JobOutput::Report { rendered, .. } => rendered.as_ref(),
            JobOutput::Run(out) => out.render.as_ref().and_then(|r| r.as_ref().ok()),
            _ => None,
        }
    }
}

/// A finished job: its record (already stored), what it produced or the error that
/// stopped it, and why it counts as failed although it produced something.
#[derive(Debug)]
pub struct JobDone {
    /// The closed run record.
    pub record: RunRecord,
    /// What the job produced, or why it produced nothing.
    pub output: Result<JobOutput, PipelineError>,
    /// Set when the job did not do everything (the command exits 1).
    pub failure: Option<String>,
}

impl Pipeline {
    /// Runs `job` under the data directory's lock, records it and sends the alerts it
    /// leads to. Fails only when the command itself is wrong ([`PipelineError::Usage`]:
    /// a file that does not exist, a source that is not configured) or the lock cannot be
    /// had: then nothing ran and nothing is recorded or alerted.
    pub async fn run_job(
        &self,
        job: Job,
        trigger: Trigger,
        progress: &dyn ProgressSink,
    ) -> Result<JobDone, PipelineError> {
        self.usage(&job)?;
        // A job that writes from its first step holds the lock from the start, so it waits
        // (or gives up) before it records anything: the lock is the only thing it lacks.
        let whole = match job {
            Job::Import(_) | Job::Transform | Job::Compact | Job::Report { .. } => {
                Some(self.write_lock().await?)
            }
            Job::Ingest(_) | Job::Backfill(_) | Job::Run { .. } => None,
        };
        let rec = RunRecord::start(job.name(), trigger);
        let output = self.execute(job, progress).await;
        let (record, failure) = close(rec, &output, self.shutdown.is_requested());
        let recorded = match self.write_lock().await {
            Ok(_writing) => self.record(&record).await,
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            tracing::warn!("this run was not recorded: {e}");
        }
        drop(whole);
        let report = output.as_ref().ok().and_then(JobOutput::report);
        self.send_alerts(&record, report).await;
        Ok(JobDone {
            record,
            output,
            failure,
        })
    }

    /// What is wrong with the command itself, found before anything runs: a typo at the
    /// terminal is not a failed run.
    fn usage(&self, job: &Job) -> Result<(), PipelineError> {
        let usage = |e: PipelineError| PipelineError::Usage(Box::new(e));
        match job {
            Job::Import(req) => {
                crate::import_source(req)
                    .resolve_paths()
                    .map_err(|e| usage(e.into()))?;
            }
            Job::Ingest(ids) => {
                self.select_sources(ids).map_err(usage)?;
            }
            Job::Backfill(req) => {
                self.select_sources(std::slice::from_ref(&req.source))
                    .map_err(usage)?;
            }
            Job::Transform | Job::Compact | Job::Report { .. } | Job::Run { .. } => {}
        }
        Ok(())
    }

    async fn execute(
        &self,
        job: Job,
        progress: &dyn ProgressSink,
    ) -> Result<JobOutput, PipelineError> {
        Ok(match job {
            Job::Import(req) => JobOutput::Import(self.import(req, progress).await?),
            Job::Ingest(ids) => {
                if self.sources.is_empty() {
                    return Err(PipelineError::NoSources);
                }
                JobOutput::Ingest(self.ingest_sources(&ids, progress).await?)
            }
            Job::Backfill(req) => JobOutput::Backfill(self.backfill(&req, progress).await?),
            Job::Transform => JobOutput::Transform(self.recompute().await?),
            Job::Compact => JobOutput::Compact(self.store.compact().await?),
            Job::Report { req, recompute } => {
                let recomputed = if recompute {
                    Some(self.recompute().await?)
                } else {
                    None
                };
                // The weekly tables are one finished write; the report is the next one.
                let rendered = if recompute && self.shutdown.is_requested() {
                    None
                } else {
                    Some(self.render(&req).await?)
                };
                JobOutput::Report {
                    recomputed,
                    rendered,
                }
            }
            Job::Run { req, ingest } => {
                if ingest && self.sources.is_empty() {
                    tracing::warn!(
                        "no [[sources]] configured: computing from the stored observations only"
                    );
                }
                JobOutput::Run(self.run(&req, ingest, progress).await)
            }
        })
    }
}

/// The record of a job that produced `output` (`interrupted` by a shutdown or not), and
/// why it counts as failed.
fn close(
    rec: RunRecord,
    output: &Result<JobOutput, PipelineError>,
    interrupted: bool,
) -> (RunRecord, Option<String>) {
    let out = match output {
        Ok(out) => out,
        Err(e) => {
            let message = error_line(e);
            return (
                rec.finish(Outcome::Failed, 0, message.clone()),
                Some(message),
            );
        }
    };
    match out {
        JobOutput::Import(o) => (
            rec.finish(Outcome::Ok, (o.snapshots + o.daily) as u64, String::new()),
            None,
        ),
        JobOutput::Ingest(outs) => {
            let failed = outs.iter().filter(|o| !o.is_ok()).count();
            let failure = (failed > 0).then(|| {
                format!(
                    "{failed} of {} source(s) did not store everything (what succeeded is stored)",
                    outs.len()
                )
            });
            (rec.finish_ingest(outs, interrupted), failure)
        }
        JobOutput::Backfill(o) => {
            let failure = backfill_failure(o);
            let rows = o.snapshots + o.daily;
            let outcome = match (&failure, rows) {
                (None, _) => Outcome::Ok,
                (Some(_), 0) => Outcome::Failed,
                (Some(_), _) => Outcome::Partial,
            };
            let message = failure.clone().unwrap_or_default();
            (rec.finish(outcome, rows as u64, message), failure)
        }
        JobOutput::Transform(o) => (rec.finish(Outcome::Ok, o.rows(), String::new()), None),
        // Rewrites what is stored and adds nothing: no rows written.
        JobOutput::Compact(_) => (rec.finish(Outcome::Ok, 0, String::new()), None),
        JobOutput::Report {
            recomputed,
            rendered,
        } => {
            let rows = recomputed.as_ref().map_or(0, RecomputeOutcome::rows);
            match rendered {
                Some(_) => (rec.finish(Outcome::Ok, rows, String::new()), None),
                None => (
                    rec.finish(
                        Outcome::Interrupted,
                        rows,
                        "stopped before the report".into(),
                    ),
                    None,
                ),
            }
        }
        JobOutput::Run(o) => (rec.finish_run(o, interrupted), o.failure()),
    }
}

/// Why a backfill counts as failed: it stopped early, or some tag failed for good.
fn backfill_failure(o: &BackfillOutcome) -> Option<String> {
    if let Some(why) = &o.stopped {
        Some(format!(
            "backfill {} stopped: {why}; run the same command again to resume",
            o.source
        ))
    } else if !o.failures.is_empty() {
        Some(format!(
            "backfill {}: {} tag(s) failed and were skipped",
            o.source,
            o.failures.len()
        ))
    } else {
        None
    }
}

/// An error and its causes on one line, `outer: cause: root`, each said once: most of
/// tagpulse's errors already quote their cause, so printing the chain as is would repeat
/// it ("Read-only file system (os error 30): Read-only file system (os error 30)").
pub fn error_line(e: &(dyn Error + 'static)) -> String {
    chain_line(std::iter::successors(
        Some(e),
        |e: &&(dyn Error + 'static)| (*e).source(),
    ))
}

/// [`error_line`] over any chain of errors (anyhow's, for instance).
pub fn chain_line<'a>(chain: impl Iterator<Item = &'a (dyn Error + 'static)>) -> String {
    let mut line = String::new();
    for cause in chain {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quotes its cause and names it as its source, as tagpulse's errors do.
    #[derive(Debug)]
    struct Quoting {
        source: std::io::Error,
    }

    impl std::fmt::Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot write data/x.parquet: {}", self.source)
        }
    }

    impl Error for Quoting {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_cause_already_quoted_is_said_once() {
        let io = std::io::Error::from_raw_os_error(30);
        let root = io.to_string();
        let e = Quoting { source: io };
        assert_eq!(
            error_line(&e),
            format!("cannot write data/x.parquet: {root}")
        );
        let io = std::io::Error::from_raw_os_error(30);
        let plain: Vec<&(dyn Error + 'static)> = vec![&e, &io];
        assert_eq!(chain_line(plain.into_iter()), error_line(&e));
        let (a, b) = (
            std::io::Error::other("outer"),
            std::io::Error::other("root cause"),
        );
        let two: Vec<&(dyn Error + 'static)> = vec![&a, &b];
        assert_eq!(chain_line(two.into_iter()), "outer: root cause");
    }

    #[test]
    fn every_job_has_its_record_name() {
        let names: Vec<&str> = [
            Job::Import(ImportRequest {
                delimiter: None,
                paths: vec![],
                format: None,
                platform: "tiktok".into(),
                metric: "views".into(),
            }),
            Job::Ingest(vec![]),
            Job::Transform,
            Job::Compact,
            Job::Report {
                req: RenderRequest::default(),
                recompute: true,
            },
            Job::Run {
                req: RenderRequest::default(),
                ingest: true,
            },
        ]
        .iter()
        .map(Job::name)
        .collect();
        assert_eq!(
            names,
            ["import", "ingest", "transform", "compact", "report", "run"]
        );
    }
}

#[cfg(test)]
mod off_the_workers {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::{ImportRequest, NoProgressSink, Pipeline};

    #[test]
    fn the_transform_leaves_the_async_worker_free() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        // 20 series of 3,000 hourly snapshots: a transform of some tenths of a second.
        for t in 0..20 {
            let path = dir.path().join(format!("tag{t}.tsv"));
            let start = chrono::DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").unwrap();
            let lines: String = (0..3_000i64)
                .map(|h| {
                    let at = start + chrono::Duration::hours(h);
                    format!("{}\t{}\n", at.format("%Y-%m-%d %H:%M:%S"), 1_000 * h + t)
                })
                .collect();
            std::fs::write(&path, lines).unwrap();
            paths.push(path.display().to_string());
        }
        let toml = format!(
            "[storage]\ndata_dir = {:?}\n",
            dir.path().join("data").display().to_string()
        );
        let cfg = tagpulse_config::Config::from_toml(&toml, "t.toml").unwrap();
        // One worker thread: while it is busy nothing else on it runs.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pipeline = Pipeline::open(cfg).unwrap();
            let req = ImportRequest {
                delimiter: None,
                paths,
                format: None,
                platform: "tiktok".into(),
                metric: "views".into(),
            };
            pipeline.import(req, &NoProgressSink).await.unwrap();
            let ticks = Arc::new(AtomicUsize::new(0));
            let counter = ticks.clone();
            let ticker = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
            let started = Instant::now();
            let out = pipeline.recompute().await.unwrap();
            let took = started.elapsed();
            let ticked = ticks.load(Ordering::Relaxed);
            ticker.abort();
            assert!(out.tag_rows > 20 * 15, "{out:?}");
            // A transform on the worker would let the ticker run only between its awaits.
            assert!(
                took < Duration::from_millis(40) || ticked as u128 >= took.as_millis() / 10,
                "{ticked} ticks in {took:?}"
            );
        });
    }
}
