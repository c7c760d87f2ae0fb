//! Run records as rows of the `runs` and `run_sources` tables, and back: what the
//! local copy under `data_dir` and the ClickHouse tables store.

use chrono::{DateTime, TimeZone, Utc};
use polars::prelude::*;

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
        let mut by_run: std::collections::HashMap<String, Vec<SourceRecord>> = Default::default();
        let col = |df: &DataFrame, name: &str| {
            df.column(name).map(|c| c.as_materialized_series().clone())
        };
        let (s_run, s_src, s_status, s_obs, s_ok, s_failed, s_kind, s_msg) = (
            col(&sources, "run_id")?,
            col(&sources, "source")?,
            col(&sources, "status")?,
            col(&sources, "observations")?,
            col(&sources, "tags_ok")?,
            col(&sources, "tags_failed")?,
            col(&sources, "failed_by_kind")?,
            col(&sources, "message")?,
        );
        for i in 0..sources.height() {
            let text = |s: &Series| s.str().map(|c| c.get(i).unwrap_or("").to_string());
            by_run.entry(text(&s_run)?).or_default().push(SourceRecord {
                source: text(&s_src)?,
                status: text(&s_status)?,
                observations: s_obs.u64()?.get(i).unwrap_or(0),
                tags_ok: s_ok.u32()?.get(i).unwrap_or(0),
                tags_failed: s_failed.u32()?.get(i).unwrap_or(0),
                failed_by_kind: text(&s_kind)?,
                message: text(&s_msg)?,
            });
        }
        let (r_id, r_job, r_trig, r_start, r_end, r_out, r_rows, r_msg) = (
            col(&runs, "run_id")?,
            col(&runs, "job")?,
            col(&runs, "trigger")?,
            col(&runs, "started_at")?,
            col(&runs, "finished_at")?,
            col(&runs, "outcome")?,
            col(&runs, "rows_written")?,
            col(&runs, "message")?,
        );
        let time = |s: &Series, i: usize| -> PolarsResult<DateTime<Utc>> {
            let ms = s.datetime()?.phys.get(i).unwrap_or(0);
            Ok(Utc.timestamp_millis_opt(ms).single().unwrap_or_default())
        };
        let mut out = Vec::with_capacity(runs.height());
        for i in 0..runs.height() {
            let text = |s: &Series| s.str().map(|c| c.get(i).unwrap_or("").to_string());
            let run_id = text(&r_id)?;
            out.push(RunRecord {
                sources: by_run.remove(&run_id).unwrap_or_default(),
                run_id,
                job: text(&r_job)?,
                trigger: match text(&r_trig)?.as_str() {
                    "schedule" => Trigger::Schedule,
                    "catch-up" => Trigger::CatchUp,
                    _ => Trigger::Cli,
                },
                started_at: time(&r_start, i)?,
                finished_at: time(&r_end, i)?,
                outcome: Outcome::parse(&text(&r_out)?),
                rows_written: r_rows.u64()?.get(i).unwrap_or(0),
                message: text(&r_msg)?,
            });
        }
        out.sort_by_key(|r| r.started_at);
        Ok(RunHistory { runs: out })
    }
}
