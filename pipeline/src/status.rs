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

/// The time between a schedule's next two fire times after `now` (in the schedule's
/// zone, so a daylight-saving day counts as it is); `None` for one that never fires again.
pub fn interval(
    cfg: &tagpulse_config::Config,
    cron: &tagpulse_config::Cron,
    now: DateTime<Utc>,
) -> Option<chrono::Duration> {
    let mut fires = cron.after(cfg.schedule.tz(), now);
    match (fires.next(), fires.next()) {
        (Some(a), Some(b)) => Some(b.with_timezone(&Utc) - a.with_timezone(&Utc)),
        _ => None,
    }
}

/// Whether a source scheduled every `interval` and last stored at `success` is stale at
/// `now`: two missed fire times plus an hour's slack.
pub fn is_stale(interval: chrono::Duration, success: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - success > interval * 2 + chrono::Duration::hours(1)
}

/// The newest week folder under `out_dir` holding a report (`index.html`): its name, its
/// page and when that was written.
pub fn latest_report(
    out_dir: &std::path::Path,
) -> Option<(String, std::path::PathBuf, DateTime<Utc>)> {
    let week = crate::render::published_weeks(out_dir)
        .ok()?
        .into_iter()
        .next()?;
    let page = out_dir.join(&week).join("index.html");
    let written = std::fs::metadata(&page).ok()?.modified().ok()?;
    Some((week, page, written.into()))
}

/// What `status --check` reports to a monitor, one sentence each: the newest run failed,
/// a configured source has had no successful run for two of its scheduled intervals
/// (plus an hour), an alert target is failing. Empty when all is well.
pub fn problems(
    cfg: &tagpulse_config::Config,
    history: &RunHistory,
    fresh: &[Freshness],
    alerts: &[(String, crate::alerts::state::AlertState)],
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = history.runs.last() {
        if r.outcome == crate::runs::Outcome::Failed {
            out.push(format!(
                "the last run, {} ({}) at {}, failed: {}",
                r.job,
                r.trigger.as_str(),
                r.started_at.format("%Y-%m-%d %H:%MZ"),
                r.message
            ));
        }
    }
    for entry in &cfg.sources {
        let Some(interval) = interval(cfg, &entry.schedule, now) else {
            continue;
        };
        let success = fresh
            .iter()
            .find(|f| f.source == entry.id)
            .and_then(|f| f.last_success);
        match success {
            Some(t) if !is_stale(interval, t, now) => {}
            Some(t) => out.push(format!(
                "source {} is stale: its last successful run was at {}, and it is scheduled every {}",
                entry.id,
                t.format("%Y-%m-%d %H:%MZ"),
                humantime::format_duration(interval.to_std().unwrap_or_default())
            )),
            None => out.push(format!(
                "source {} is stale: no successful run recorded",
                entry.id
            )),
        }
    }
    for (id, state) in alerts {
        for (target, t) in &state.targets {
            if t.failures > 0 {
                out.push(format!(
                    "alert {id}: its {target} is failing ({} delivery(ies) in a row)",
                    t.failures
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::state::{AlertState, TargetState};
    use crate::runs::{Outcome, Trigger};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fresh(source: &str, last_success: Option<&str>) -> Freshness {
        Freshness {
            source: source.into(),
            newest: None,
            last_run: None,
            last_success: last_success.map(t),
        }
    }

    #[test]
    fn problems_name_a_failed_last_run_stale_sources_and_failing_targets() {
        let cfg = tagpulse_config::Config::from_toml(
            "[[sources]]\nid = \"six\"\nkind = \"file\"\npaths = [\"x/*.tsv\"]\nschedule = \"0 0 */6 * * *\"\n\
             [[sources]]\nid = \"daily\"\nkind = \"file\"\npaths = [\"y/*.tsv\"]\nschedule = \"0 0 6 * * *\"\n",
            "t.toml",
        )
        .unwrap();
        let now = t("2026-11-20T12:00:00Z");
        let ok = RunHistory {
            runs: vec![RunRecord::start("ingest", Trigger::Schedule).finish(
                Outcome::Ok,
                1,
                String::new(),
            )],
        };
        // Six-hourly: 12 h + 1 h allowed; daily: 48 h + 1 h.
        let fine = [
            fresh("six", Some("2026-11-19T23:30:00Z")),
            fresh("daily", Some("2026-11-18T12:00:00Z")),
        ];
        assert_eq!(problems(&cfg, &ok, &fine, &[], now), Vec::<String>::new());
        let stale = [
            fresh("six", Some("2026-11-19T22:30:00Z")),
            fresh("daily", None),
        ];
        assert_eq!(
            problems(&cfg, &ok, &stale, &[], now),
            [
                "source six is stale: its last successful run was at 2026-11-19 22:30Z, and it is scheduled every 6h",
                "source daily is stale: no successful run recorded"
            ]
        );
        let mut failed = ok.clone();
        failed
            .runs
            .push(RunRecord::start("run", Trigger::Cli).finish(Outcome::Failed, 0, "boom".into()));
        let mut state = AlertState {
            since: now,
            targets: Default::default(),
        };
        state.targets.insert(
            "webhook".into(),
            TargetState {
                failures: 3,
                ..Default::default()
            },
        );
        let found = problems(&cfg, &failed, &fine, &[("ops".into(), state)], now);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("the last run, run (cli) at ")
                && found[0].ends_with("failed: boom")
        );
        assert_eq!(
            found[1],
            "alert ops: its webhook is failing (3 delivery(ies) in a row)"
        );
    }
}
