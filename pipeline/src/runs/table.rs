//! Run records as rows of the `runs` and `run_sources` tables, and back: what the
//! local copy under `data_dir` and the ClickHouse tables store.

use chrono::{DateTime, Utc};
use polars::prelude::*;
use tagpulse_model::frame::Columns;
use tagpulse_model::tables::{RUNS, RUN_SOURCES};

use super::{Outcome, RunHistory, RunRecord, SourceRecord, Trigger};
use crate::PipelineError;

impl RunRecord {
    /// The record as one row of `runs` and its rows of `run_sources`.
    pub fn frames(&self) -> PolarsResult<(DataFrame, DataFrame)> {
        // `n` copies of `t` as the model's millisecond timestamp column.
        let ms = |t: DateTime<Utc>, n: usize| -> PolarsResult<Series> {
            Series::new("t".into(), vec![t.timestamp_millis(); n])
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        };
        let runs = df!(
            "run_id" => [self.run_id.as_str()],
            "job" => [self.job.as_str()],
            "trigger" => [self.trigger.as_str()],
            "started_at" => ms(self.started_at, 1)?,
            "finished_at" => ms(self.finished_at, 1)?,
            "outcome" => [self.outcome.as_str()],
            "rows_written" => [self.rows_written],
            "message" => [self.message.as_str()],
        )?;
        let s = &self.sources;
        let n = s.len();
        let sources = df!(
            "run_id" => vec![self.run_id.as_str(); n],
            "source" => s.iter().map(|r| r.source.as_str()).collect::<Vec<_>>(),
            "started_at" => ms(self.started_at, n)?,
            "status" => s.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
            "observations" => s.iter().map(|r| r.observations).collect::<Vec<_>>(),
            "tags_ok" => s.iter().map(|r| r.tags_ok).collect::<Vec<_>>(),
            "tags_failed" => s.iter().map(|r| r.tags_failed).collect::<Vec<_>>(),
            "failed_by_kind" => s.iter().map(|r| r.failed_by_kind.as_str()).collect::<Vec<_>>(),
            "message" => s.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(),
        )?;
        Ok((runs, sources))
    }
}

impl RunHistory {
    /// Reads the records under `data_dir`.
    pub fn read(data_dir: &std::path::Path) -> Result<RunHistory, PipelineError> {
        let (runs, sources) = tagpulse_store::runs::read(data_dir)?;
        let s = Columns::table(&sources, &RUN_SOURCES);
        let (s_run, s_src, s_status, s_obs) = (
            s.str("run_id")?,
            s.str("source")?,
            s.str("status")?,
            s.u64("observations")?,
        );
        let (s_ok, s_failed, s_kind, s_msg) = (
            s.u32("tags_ok")?,
            s.u32("tags_failed")?,
            s.str("failed_by_kind")?,
            s.str("message")?,
        );
        let mut by_run: std::collections::HashMap<String, Vec<SourceRecord>> = Default::default();
        for i in 0..sources.height() {
            by_run
                .entry(s_run[i].clone())
                .or_default()
                .push(SourceRecord {
                    source: s_src[i].clone(),
                    status: s_status[i].clone(),
                    observations: s_obs[i],
                    tags_ok: s_ok[i],
                    tags_failed: s_failed[i],
                    failed_by_kind: s_kind[i].clone(),
                    message: s_msg[i].clone(),
                });
        }
        let r = Columns::table(&runs, &RUNS);
        let (r_id, r_job, r_trig, r_start) = (
            r.str("run_id")?,
            r.str("job")?,
            r.str("trigger")?,
            r.time_ms("started_at")?,
        );
        let (r_end, r_out, r_rows, r_msg) = (
            r.time_ms("finished_at")?,
            r.str("outcome")?,
            r.u64("rows_written")?,
            r.str("message")?,
        );
        let mut out: Vec<RunRecord> = (0..runs.height())
            .map(|i| RunRecord {
                sources: by_run.remove(&r_id[i]).unwrap_or_default(),
                run_id: r_id[i].clone(),
                job: r_job[i].clone(),
                trigger: match r_trig[i].as_str() {
                    "schedule" => Trigger::Schedule,
                    "catch-up" => Trigger::CatchUp,
                    _ => Trigger::Cli,
                },
                started_at: r_start[i],
                finished_at: r_end[i],
                outcome: Outcome::parse(&r_out[i]),
                rows_written: r_rows[i],
                message: r_msg[i].clone(),
            })
            .collect();
        out.sort_by_key(|r| r.started_at);
        Ok(RunHistory { runs: out })
    }
}
