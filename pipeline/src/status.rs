//! `tagpulse status`'s data: each source's freshness (its newest stored observation and
//! its last run) next to the run history.

use chrono::{DateTime, TimeZone, Utc};
use polars::prelude::*;
use tagpulse_model::date_from_days;

use crate::runs::{RunHistory, RunRecord, SourceRecord};
use crate::{Pipeline, PipelineError};

/// How current one source's data is.
#[derive(Debug, Clone)]
pub struct Freshness {
    /// The source's id (`import` for `tagpulse import`).
    pub source: String,
    /// The newest stored snapshot time, or the end of the newest stored day.
    pub newest: Option<DateTime<Utc>>,
    /// Its line in the newest run that asked it, and that run.
    pub last_run: Option<(RunRecord, SourceRecord)>,
    /// When the newest run that stored it started.
    pub last_success: Option<DateTime<Utc>>,
}

impl Pipeline {
    /// Every configured source's freshness, then any other source found in the store.
    pub async fn freshness(&self, history: &RunHistory) -> Result<Vec<Freshness>, PipelineError> {
        let snaps = self
            .store
            .scan_snapshots()
            .await?
            .group_by([col("source")])
            .agg([col("observed_at").max().cast(DataType::Int64).alias("ms")])
            .collect()?;
        // A day's counts are complete at its end.
        let days = self
            .store
            .scan_daily()
            .await?
            .group_by([col("source")])
            .agg([col("day").max().cast(DataType::Int32).alias("d")])
            .collect()?;
        let mut newest: Vec<(String, DateTime<Utc>)> = Vec::new();
        let src = snaps.column("source")?.str()?.clone();
        let ms = snaps.column("ms")?.i64()?.clone();
        for (s, v) in src.iter().zip(ms.iter()) {
            if let (Some(s), Some(v)) = (s, v) {
                if let Some(t) = Utc.timestamp_millis_opt(v).single() {
                    newest.push((s.to_string(), t));
                }
            }
        }
        let src = days.column("source")?.str()?.clone();
        let d = days.column("d")?.i32()?.clone();
        for (s, v) in src.iter().zip(d.iter()) {
            if let (Some(s), Some(end)) = (s, v.and_then(|v| date_from_days(v + 1))) {
                newest.push((s.to_string(), end.and_time(Default::default()).and_utc()));
            }
        }
        let mut ids: Vec<String> = self.sources.iter().map(|s| s.id().to_string()).collect();
        for (s, _) in &newest {
            if !ids.contains(s) {
                ids.push(s.clone());
            }
        }
        Ok(ids
            .into_iter()
            .map(|id| Freshness {
                newest: newest
                    .iter()
                    .filter(|(s, _)| *s == id)
                    .map(|(_, t)| *t)
                    .max(),
                last_run: history
                    .source_last(&id)
                    .map(|(r, s)| (r.clone(), s.clone())),
                last_success: history.source_success(&id),
                source: id,
            })
            .collect())
    }
}
