//! Run records as rows of the `runs` and `run_sources` tables, and back: what the
//! local copy under `data_dir` and the ClickHouse tables store.

use polars::prelude::*;
use tagpulse_model::tables::{RunRow, RunSourceRow, TableRow};

use super::{Outcome, RunHistory, RunRecord, SourceRecord, Trigger};
use crate::PipelineError;

impl RunRecord {
    /// The record as one row of `runs` and its rows of `run_sources`.
    pub fn frames(&self) -> PolarsResult<(DataFrame, DataFrame)> {
        let run = RunRow {
            run_id: self.run_id.clone(),
            job: self.job.clone(),
            trigger: self.trigger.as_str().to_string(),
            started_at: self.started_at,
            finished_at: self.finished_at,
            outcome: self.outcome.as_str().to_string(),
            rows_written: self.rows_written,
            message: self.message.clone(),
        };
        let sources: Vec<RunSourceRow> = self
            .sources
            .iter()
            .map(|s| RunSourceRow {
                run_id: self.run_id.clone(),
                source: s.source.clone(),
                started_at: self.started_at,
                status: s.status.clone(),
                observations: s.observations,
                tags_ok: s.tags_ok,
                tags_failed: s.tags_failed,
                failed_by_kind: s.failed_by_kind.clone(),
                message: s.message.clone(),
            })
            .collect();
        Ok((RunRow::to_frame(&[run])?, RunSourceRow::to_frame(&sources)?))
    }
}

impl RunHistory {
    /// Reads the records under `data_dir`.
    pub fn read(data_dir: &std::path::Path) -> Result<RunHistory, PipelineError> {
        let (runs, sources) = tagpulse_store::runs::read(data_dir)?;
        let mut by_run: std::collections::HashMap<String, Vec<SourceRecord>> = Default::default();
        for s in RunSourceRow::from_frame(&sources)? {
            by_run.entry(s.run_id).or_default().push(SourceRecord {
                source: s.source,
                status: s.status,
                observations: s.observations,
                tags_ok: s.tags_ok,
                tags_failed: s.tags_failed,
                failed_by_kind: s.failed_by_kind,
                message: s.message,
            });
        }
        let mut out: Vec<RunRecord> = RunRow::from_frame(&runs)?
            .into_iter()
            .map(|r| RunRecord {
                sources: by_run.remove(&r.run_id).unwrap_or_default(),
                trigger: match r.trigger.as_str() {
                    "schedule" => Trigger::Schedule,
                    "catch-up" => Trigger::CatchUp,
                    _ => Trigger::Cli,
                },
                outcome: Outcome::parse(&r.outcome),
                run_id: r.run_id,
                job: r.job,
                started_at: r.started_at,
                finished_at: r.finished_at,
                rows_written: r.rows_written,
                message: r.message,
            })
            .collect();
        out.sort_by_key(|r| r.started_at);
        Ok(RunHistory { runs: out })
    }
}
