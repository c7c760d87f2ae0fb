//! What a job did, as data: the binary turns it into log lines and an exit code, and a
//! scheduler records and alerts on it.

use std::path::PathBuf;

use chrono::NaiveDate;
use tagpulse_ingest::{FailureKind, TagFailure};

/// What became of one source's observations in an ingest.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
    /// Stored: this many snapshots and daily counts.
    Stored {
        /// Counter snapshots stored.
        snapshots: usize,
        /// Daily counts stored.
        daily: usize,
    },
    /// Fetched, but the store was unreachable: kept in its spool for the next run.
    Spooled {
        /// Counter snapshots spooled.
        snapshots: usize,
        /// Daily counts spooled.
        daily: usize,
        /// Why delivery failed, and where the spool is.
        message: String,
    },
    /// Nothing of this source was stored.
    Failed {
        /// Why, in one line.
        message: String,
    },
}

/// One source's result.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceOutcome {
    /// The source's id.
    pub source: String,
    /// What became of its observations.
    pub status: SourceStatus,
    /// Tags that yielded observations.
    pub tags_ok: usize,
    /// Tags that yielded nothing (nothing stored for them), and why.
    pub failures: Vec<TagFailure>,
}

impl SourceOutcome {
    /// True when every tag answered and everything fetched is in the store.
    pub fn is_ok(&self) -> bool {
        matches!(self.status, SourceStatus::Stored { .. }) && self.failures.is_empty()
    }

    /// Failed tags counted by kind, in kind order.
    pub fn failures_by_kind(&self) -> Vec<(FailureKind, usize)> {
        tagpulse_ingest::count_by_kind(&self.failures)
    }

    /// `12 ok, 3 failed (2 soft_block, 1 not_found)`, or `12 ok`.
    pub fn tag_summary(&self) -> String {
        if self.failures.is_empty() {
            return format!("{} ok", self.tags_ok);
        }
        let kinds: Vec<String> = self
            .failures_by_kind()
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        format!(
            "{} ok, {} failed ({})",
            self.tags_ok,
            self.failures.len(),
            kinds.join(", ")
        )
    }

    /// A one-line description for logs and error summaries.
    pub fn describe(&self) -> String {
        match &self.status {
            SourceStatus::Stored { snapshots, daily } => format!(
                "{}: tags {}; stored {snapshots} snapshots and {daily} daily counts",
                self.source,
                self.tag_summary()
            ),
            SourceStatus::Spooled { message, .. } | SourceStatus::Failed { message } => {
                format!("{}: {message}", self.source)
            }
        }
    }
}

/// What `import` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Files read.
    pub files: usize,
    /// Counter snapshots stored.
    pub snapshots: usize,
    /// Daily counts stored.
    pub daily: usize,
    /// The store, described.
    pub store: String,
}

/// What `recompute` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecomputeOutcome {
    /// Rows of `weekly_tag_metrics`.
    pub tag_rows: usize,
    /// Rows of `weekly_occupation_metrics`.
    pub occupation_rows: usize,
    /// Rows of `weekly_brand_metrics`.
    pub brand_rows: usize,
}

impl RecomputeOutcome {
    /// Rows of the three tables together.
    pub fn rows(&self) -> u64 {
        (self.tag_rows + self.occupation_rows + self.brand_rows) as u64
    }
}

/// What `render` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOutcome {
    /// The Monday of the week reported.
    pub week: NaiveDate,
    /// The week's folder (`<out_dir>/<YYYY-Www>`).
    pub dir: PathBuf,
}

/// A step of `run` that failed, kept as the line it prints (the error and its causes):
/// an outcome is cloned and compared, which the error itself cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StepFailure(pub String);

impl StepFailure {
    /// The failure of `e`, with its causes.
    pub fn of(e: &(dyn std::error::Error + 'static)) -> Self {
        StepFailure(crate::job::error_line(e))
    }
}

/// What `run` did: every source, then the weekly tables and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// One entry per configured source, in config order.
    pub sources: Vec<SourceOutcome>,
    /// The recompute, or why it failed.
    pub recompute: Result<RecomputeOutcome, StepFailure>,
    /// The report (absent when the recompute failed), or why it failed.
    pub render: Option<Result<RenderOutcome, StepFailure>>,
}

impl RunOutcome {
    /// Sources that did not store everything.
    pub fn failed_sources(&self) -> Vec<&SourceOutcome> {
        self.sources.iter().filter(|s| !s.is_ok()).collect()
    }

    /// True when every source stored and the report was written.
    pub fn is_success(&self) -> bool {
        self.failed_sources().is_empty() && matches!(self.render, Some(Ok(_)))
    }

    /// The failure summary a batch job prints, or `None` on success.
    pub fn failure(&self) -> Option<String> {
        let failed: Vec<String> = self.failed_sources().iter().map(|s| s.describe()).collect();
        let stage = match (&self.recompute, &self.render) {
            (Err(e), _) => Some(e.0.clone()),
            (Ok(_), Some(Err(e))) => Some(e.0.clone()),
            _ => None,
        };
        match (failed.is_empty(), stage) {
            (true, None) => None,
            (true, Some(e)) => Some(e),
            (false, None) => Some(format!(
                "{} source(s) failed (the report uses the data stored so far):\n  {}",
                failed.len(),
                failed.join("\n  ")
            )),
            (false, Some(e)) => Some(format!(
                "{} source(s) failed and then the weekly tables could not be computed:\n  {}: {e}",
                failed.len(),
                failed.join("\n  ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, status: SourceStatus) -> SourceOutcome {
        SourceOutcome {
            source: id.into(),
            status,
            tags_ok: 1,
            failures: Vec::new(),
        }
    }

    #[test]
    fn tag_failures_fail_the_source_and_are_counted_by_kind() {
        let failure = |tag: &str, kind| TagFailure {
            tag: tagpulse_ingest::Tag::parse(tag).unwrap(),
            kind,
            detail: "x".into(),
        };
        let mut out = source(
            "tt",
            SourceStatus::Stored {
                snapshots: 2,
                daily: 0,
            },
        );
        out.tags_ok = 2;
        assert!(out.is_ok());
        out.failures = vec![
            failure("a", FailureKind::SoftBlock),
            failure("b", FailureKind::NotFound),
            failure("c", FailureKind::SoftBlock),
        ];
        assert!(!out.is_ok());
        assert_eq!(
            out.tag_summary(),
            "2 ok, 3 failed (1 not_found, 2 soft_block)"
        );
        assert_eq!(
            out.describe(),
            "tt: tags 2 ok, 3 failed (1 not_found, 2 soft_block); stored 2 snapshots and 0 daily counts"
        );
    }

    #[test]
    fn a_failed_source_fails_the_run_but_not_the_report() {
        let out = RunOutcome {
            sources: vec![
                source(
                    "a",
                    SourceStatus::Stored {
                        snapshots: 3,
                        daily: 0,
                    },
                ),
                source(
                    "b",
                    SourceStatus::Failed {
                        message: "x.tsv:3: bad value".into(),
                    },
                ),
            ],
            recompute: Ok(RecomputeOutcome {
                tag_rows: 1,
                occupation_rows: 0,
                brand_rows: 0,
            }),
            render: Some(Ok(RenderOutcome {
                week: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
                dir: "r/2026-W47".into(),
            })),
        };
        assert!(!out.is_success());
        assert_eq!(
            out.failure().unwrap(),
            "1 source(s) failed (the report uses the data stored so far):\n  b: x.tsv:3: bad value"
        );
        let ok = RunOutcome {
            sources: vec![out.sources[0].clone()],
            ..out.clone()
        };
        assert!(ok.is_success());
        assert_eq!(ok.failure(), None);
        let broken = RunOutcome {
            recompute: Err(StepFailure("no observations".into())),
            render: None,
            ..out
        };
        assert_eq!(
            broken.failure().unwrap(),
            "1 source(s) failed and then the weekly tables could not be computed:\n  b: x.tsv:3: bad value: no observations"
        );
    }
}
