//! `tagpulse backfill`: a past date range asked of a source that can query the past, one
//! window at a time (the source's longest), each stored before the next is asked.
//!
//! Progress is kept in `<data_dir>/backfill/<source>.json`: the last day done and the tags
//! of the current window already stored. A quota, an outage or a kill stops the job; the
//! same command resumes where it stopped. A redone window stores nothing twice (the store
//! replaces observations by identity).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tagpulse_ingest::{Tag, TagFailure};
use tagpulse_model::paths::{child, Escape};

use crate::{Pipeline, PipelineError, ProgressSink};

/// What to backfill.
#[derive(Debug, Clone)]
pub struct BackfillRequest {
    /// The source's id.
    pub source: String,
    /// First UTC day.
    pub from: NaiveDate,
    /// Last UTC day; yesterday when absent.
    pub to: Option<NaiveDate>,
}

/// How a backfill went.
#[derive(Debug, Clone)]
pub struct BackfillOutcome {
    /// The source's id.
    pub source: String,
    /// First day asked.
    pub from: NaiveDate,
    /// Last day asked.
    pub to: NaiveDate,
    /// Windows in the range.
    pub windows: usize,
    /// Windows complete (earlier runs included).
    pub windows_done: usize,
    /// The day an earlier, interrupted run had reached.
    pub resumed_after: Option<NaiveDate>,
    /// Snapshots stored by this run.
    pub snapshots: usize,
    /// Daily counts stored by this run.
    pub daily: usize,
    /// Tags that failed for good (not asked again on resume).
    pub failures: Vec<TagFailure>,
    /// Why the run stopped before the end (a quota, an outage), if it did.
    pub stopped: Option<String>,
}

/// The progress file's content.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct State {
    from: NaiveDate,
    to: NaiveDate,
    /// Every day up to this one is stored.
    done_through: Option<NaiveDate>,
    /// Tags of the window after `done_through` already stored.
    window_tags_done: BTreeSet<String>,
}

/// Where a source's backfill progress is kept; an id that would leave
/// `data_dir/backfill` is refused.
pub fn state_file(data_dir: &Path, source: &str) -> Result<PathBuf, Escape> {
    child(&data_dir.join("backfill"), &format!("{source}.json"))
}

/// `from..=to` cut into windows of at most `days` days.
fn windows(from: NaiveDate, to: NaiveDate, days: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + Days::new(u64::from(days.max(1)) - 1)).min(to);
        out.push((start, end));
        start = end + Days::new(1);
    }
    out
}

fn save(path: &Path, state: &State) -> Result<(), PipelineError> {
    crate::json_file::write(path, state)
}

impl Pipeline {
    /// Backfills `req.from..=req.to` from one source, resuming an earlier run of the same
    /// range; `Err` when the range or the source cannot be backfilled, or the store fails.
    pub async fn backfill(
        &self,
        req: &BackfillRequest,
        progress: &dyn ProgressSink,
    ) -> Result<BackfillOutcome, PipelineError> {
        let source = *self
            .select_sources(std::slice::from_ref(&req.source))?
            .first()
            .expect("select_sources found it");
        let refuse = |message: String| PipelineError::Backfill {
            source_id: req.source.clone(),
            message,
        };
        let Some(past) = source.backfill() else {
            return Err(refuse("this kind of source cannot query the past (the Research API and the file source can)".into()));
        };
        let today = Utc::now().date_naive();
        let to = req.to.unwrap_or(today - Days::new(1));
        if req.from > to {
            return Err(refuse(format!("--from {} is after --to {to}", req.from)));
        }
        if to > today {
            return Err(refuse(format!(
                "--to {to} is in the future (today is {today} UTC)"
            )));
        }
        let path = state_file(&self.cfg.storage.data_dir, &req.source)
            .map_err(|e| refuse(e.to_string()))?;
        let mut state = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
                Ok(s) if s.from == req.from && s.to == to => s,
                Ok(s) => {
                    tracing::info!(source = req.source, "an earlier backfill of {} to {} was not finished; starting {} to {to} instead", s.from, s.to, req.from);
                    State::new(req.from, to)
                }
                Err(e) => {
                    return Err(refuse(format!(
                        "{} is unreadable ({e}): remove it to start over",
                        path.display()
                    )))
                }
            },
            Err(_) => State::new(req.from, to),
        };
        let all = windows(req.from, to, past.max_window_days());
        let mut out = BackfillOutcome {
            source: req.source.clone(),
            from: req.from,
            to,
            windows: all.len(),
            windows_done: 0,
            resumed_after: state.done_through,
            snapshots: 0,
            daily: 0,
            failures: Vec::new(),
            stopped: None,
        };
        let bar = progress.start(&format!("backfill {}", req.source));
        bar.set_total(all.len() as u64);
        let tags = self.tags_of(source);
        for &(start, end) in &all {
            if state.done_through.is_some_and(|d| end <= d) {
                out.windows_done += 1;
                bar.advance(1);
                continue;
            }
            let asked: Vec<Tag> = tags
                .iter()
                .filter(|t| !state.window_tags_done.contains(t.as_str()))
                .cloned()
                .collect();
            let fetched = past
                .fetch_range(&asked, start, end, &tagpulse_ingest::NoProgress)
                .await?;
            // Stored and marked done under one hold of the lock, so a window is never
            // stored twice by two backfills of one source.
            let _writing = self.write_lock().await?;
            let stats = self.append(&fetched.batch).await?;
            out.snapshots += stats.snapshots;
            out.daily += stats.daily;
            let failed: BTreeSet<&str> = fetched.failures.iter().map(|f| f.tag.as_str()).collect();
            state.window_tags_done.extend(
                asked
                    .iter()
                    .filter(|t| !failed.contains(t.as_str()))
                    .map(|t| t.as_str().to_string()),
            );
            let (transient, lasting): (Vec<TagFailure>, Vec<TagFailure>) = fetched
                .failures
                .into_iter()
                .partition(|f| f.kind.is_transient());
            out.failures.extend(lasting);
            if let Some(first) = transient.first() {
                save(&path, &state)?;
                out.stopped = Some(format!(
                    "{} in the window {start} to {end} (#{}: {})",
                    first.kind,
                    first.tag.as_str(),
                    first.detail
                ));
                out.failures.extend(transient);
                return Ok(out);
            }
            state.done_through = Some(end);
            state.window_tags_done.clear();
            save(&path, &state)?;
            out.windows_done += 1;
            bar.advance(1);
        }
        let _ = std::fs::remove_file(&path);
        Ok(out)
    }
}

impl State {
    fn new(from: NaiveDate, to: NaiveDate) -> Self {
        State {
            from,
            to,
            done_through: None,
            window_tags_done: BTreeSet::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_would_leave_their_folders_name_no_file() {
        let data = Path::new("/srv/tp/data");
        assert_eq!(
            state_file(data, "research").unwrap(),
            data.join("backfill/research.json")
        );
        assert_eq!(
            crate::alerts::state::path(data, "ops").unwrap(),
            data.join("alerts/ops.json")
        );
        assert_eq!(
            tagpulse_ingest::http::private_file::session_file(data, "bsky").unwrap(),
            data.join("sessions/bsky.json")
        );
        // `..` and "" become the plain names `...json` and `.json`: no escape there.
        for bad in ["../../victim", "a/b", "/etc/x"] {
            assert!(state_file(data, bad).is_err(), "{bad:?}");
            let err = crate::alerts::state::path(data, bad)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("cannot name a file in /srv/tp/data/alerts"),
                "{err}"
            );
            assert!(
                tagpulse_ingest::http::private_file::session_file(data, bad).is_err(),
                "{bad:?}"
            );
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn windows_cover_the_range_without_overlap() {
        assert_eq!(
            windows(d("2026-01-01"), d("2026-03-01"), 30),
            [
                (d("2026-01-01"), d("2026-01-30")),
                (d("2026-01-31"), d("2026-03-01")),
            ]
        );
        assert_eq!(
            windows(d("2026-01-01"), d("2026-01-01"), 30),
            [(d("2026-01-01"), d("2026-01-01"))]
        );
        assert_eq!(windows(d("2026-01-01"), d("2026-01-04"), 2).len(), 2);
    }
}
