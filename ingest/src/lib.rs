//! Sources turned into canonical observations.
//!
//! A source (a set of files, or a platform's HTTP API) yields [`Fetched`]: an
//! [`ObservationBatch`] of counter snapshots and daily counts exactly as
//! `docs/metrics.md` defines them, with validated [`Tag`]s, plus the tags that failed and
//! why. Each kind of source is a component folder under `sources/`, registered by one line
//! in [`sources::REGISTRY`]; HTTP sources share [`http`]. Ingest knows nothing about
//! storage.

mod fetched;
pub mod http;
pub mod shutdown;
pub mod sources;

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::NaiveDate;

pub use fetched::{count_by_kind, FailureKind, Fetched, TagFailure};
pub use tagpulse_config::{parse_ident, Tag, TagError};
pub use tagpulse_model::{DailyCount, ObservationBatch, Snapshot, SnapshotSeries};

/// Why a source could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A line of an input file is malformed; nothing of that import is kept.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The format could not be told from the file name.
    #[error("{}: cannot tell the format from the extension; pass --format tsv|csv|jsonl", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A source cannot start: a credential's env var unset, a bad proxy, ...
    #[error("source {source_id}: {message}")]
    Setup {
        /// The source's id.
        source_id: String,
        /// What is missing, naming the setting.
        message: String,
    },
    /// Ctrl-C or SIGTERM arrived while the source was fetching; nothing of it is kept.
    #[error("source {source_id}: interrupted; nothing of this fetch was stored")]
    Interrupted {
        /// The source's id.
        source_id: String,
    },
    /// A directory was given where files are read.
    #[error("{0} is a directory: give files or a glob such as {0}/*.tsv")]
    IsDirectory(String),
    /// A glob pattern matched nothing or is invalid.
    #[error("{pattern}: {message}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong.
        message: String,
    },
}

/// Receives progress of a long fetch (bytes read); the binary draws it.
pub trait Progress: Send + Sync {
    /// Total amount of work, when known.
    fn set_total(&self, total: u64);
    /// Work done since the last call.
    fn advance(&self, delta: u64);
}

/// A progress sink that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn set_total(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// A source that can be asked for a past date range, one window at a time.
#[async_trait]
pub trait Backfill: Send + Sync {
    /// The most UTC days one request window may span (the Research API's 30).
    fn max_window_days(&self) -> u32;

    /// Observations of `tags` dated `from..=to` (UTC days, at most
    /// [`max_window_days`](Backfill::max_window_days) of them).
    async fn fetch_range(
        &self,
        tags: &[Tag],
        from: NaiveDate,
        to: NaiveDate,
        progress: &dyn Progress,
    ) -> Result<Fetched, IngestError>;
}

/// Something that yields observations.
#[async_trait]
pub trait Source: Send + Sync {
    /// The source's id.
    fn id(&self) -> &str;

    /// One line for `tagpulse config`: the id, the kind and what it reads.
    fn describe(&self) -> String;

    /// The tags this source is limited to, when configured (else the taxonomy's).
    fn tags(&self) -> Option<&[Tag]> {
        None
    }

    /// A platform whose series only this source may write, because its counts are its
    /// own (a Mastodon instance's): two sources claiming one are a config error.
    fn exclusive_platform(&self) -> Option<&str> {
        None
    }

    /// True for generated data (the bundled sample): the report says so.
    fn synthetic(&self) -> bool {
        false
    }

    /// Fetches observations for `tags` (a source reading files takes what they hold).
    /// `Err` means nothing could be fetched; per-tag failures are in [`Fetched::failures`]
    /// beside the observations that succeeded.
    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError>;

    /// The way to query the past, for sources that have one (`tagpulse backfill`).
    fn backfill(&self) -> Option<&dyn Backfill> {
        None
    }

    /// For `tagpulse sources check`: fetches one tag each way the source knows, labelled
    /// by way, and stores nothing. A source with one way answers as `fetch` does.
    async fn check(&self, tag: &Tag) -> Result<Vec<(String, Fetched)>, IngestError> {
        let fetched = self.fetch(std::slice::from_ref(tag), &NoProgress).await?;
        Ok(vec![("fetch".to_string(), fetched)])
    }
}
