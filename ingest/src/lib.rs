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

/// What is wrong with one line of an input file (or its name, for a TSV series).
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum LineProblem {
    /// A field the row needs is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// Neither a time nor a day.
    #[error("missing field `observed_at` (or `day` for daily counts)")]
    NoTime,
    /// A time and a day.
    #[error("give either `observed_at` or `day`, not both")]
    BothTimes,
    /// The tag, platform or metric is not valid.
    #[error(transparent)]
    Name(#[from] tagpulse_model::TagError),
    /// The value is no count (quoted as given).
    #[error("bad value {0}: expected a whole number >= 0")]
    Value(String),
    /// The time does not parse (quoted as given).
    #[error("bad observed_at {0}: expected RFC 3339 or `YYYY-MM-DD HH:MM:SS` (UTC)")]
    Time(String),
    /// The time parses but lies outside what a timestamp holds.
    #[error("observed_at {0} out of range")]
    TimeRange(String),
    /// The day does not parse (quoted as given).
    #[error("bad day {0}: expected YYYY-MM-DD")]
    Day(String),
    /// A time or day before 1970 or more than a day ahead.
    #[error("{what} {at} {why}")]
    Implausible {
        /// `observed_at` or `day`.
        what: &'static str,
        at: String,
        why: &'static str,
    },
    /// A TSV line is not `time<TAB>value` (quoted as given).
    #[error("expected `YYYY-MM-DD HH:MM:SS<TAB>value`, got {0}")]
    TsvShape(String),
    /// A TSV time does not parse.
    #[error("bad time {quoted}: {source}")]
    TsvTime {
        /// The time as given, quoted.
        quoted: String,
        /// chrono's reason.
        #[source]
        source: chrono::ParseError,
    },
    /// A TSV file's name is not a tag.
    #[error("file name is not a tag: {0}")]
    FileName(#[source] tagpulse_model::TagError),
    /// The CSV header cannot be read.
    #[error("bad header: {0}")]
    CsvHeader(#[source] csv::Error),
    /// The CSV header lacks a column the rows need.
    #[error("header lacks column `{0}`")]
    CsvColumn(&'static str),
    /// The CSV header lacks a column and looks split by another delimiter.
    #[error("header lacks column `{need}`: it looks `{looks}`-separated, not `{used}`: give --delimiter '{looks}' (or delimiter = \"{looks}\" in the source)")]
    CsvOtherDelimiter {
        /// The column missing.
        need: &'static str,
        /// The delimiter used.
        used: &'static str,
        /// The one the header seems to use.
        looks: &'static str,
    },
    /// The CSV header has neither `observed_at` nor `day`.
    #[error("header lacks column `observed_at` (or `day`)")]
    CsvTimeColumn,
    /// A CSV record is malformed.
    #[error(transparent)]
    Csv(csv::Error),
    /// A JSON line is malformed.
    #[error("malformed JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The bytes are not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
}

/// Why a source could not deliver.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum IngestError {
    /// A line of an input file is malformed; nothing of that import is kept.
    #[error("{}:{line}: {problem}", path.display())]
    Line {
        path: PathBuf,
        /// 1-based line number (0: the file name).
        line: usize,
        #[source]
        problem: LineProblem,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The format could not be told from the file name.
    #[error("{}: cannot tell the format from the extension; pass --format tsv|csv|jsonl", path.display())]
    UnknownFormat { path: PathBuf },
    /// A source cannot start: a credential's env var unset, a bad proxy, ...
    #[error("source {source_id}: {message}")]
    Setup {
        source_id: String,
        /// What is missing, naming the setting.
        message: String,
    },
    /// Ctrl-C or SIGTERM arrived while the source was fetching; nothing of it is kept.
    #[error("source {source_id}: interrupted; nothing of this fetch was stored")]
    Interrupted { source_id: String },
    /// A directory was given where files are read.
    #[error("{0} is a directory: give files or a glob such as {0}/*.tsv")]
    IsDirectory(String),
    /// A glob pattern matched nothing or is invalid.
    #[error("{pattern}: {message}")]
    Pattern { pattern: String, message: String },
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

/// `Ok` when env var `name` is set and not empty; else the setup error of `source`
/// saying what it holds (`what`, e.g. "the bearer token (token_env)").
pub fn env_set(source: &str, name: &str, what: &str) -> Result<(), IngestError> {
    tagpulse_config::require_env(name, what).map_err(|e| IngestError::Setup {
        source_id: source.to_string(),
        message: e.to_string(),
    })
}

/// Something that yields observations.
#[async_trait]
pub trait Source: Send + Sync {
    /// The source's id from `[[sources]]`, used in logs, run records and file names.
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

    /// True for a source that reads local files: it fetches under the data lock (reading
    /// is quick, and what it remembers of the files must move in step with the store),
    /// where a network source fetches without it and takes it only to store.
    fn reads_local_files(&self) -> bool {
        false
    }

    /// Fetches observations for `tags` (a source reading files takes what they hold).
    /// `Err` means nothing could be fetched; per-tag failures are in [`Fetched::failures`]
    /// beside the observations that succeeded.
    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError>;

    /// Called once what the last [`Source::fetch`] yielded is stored (or spooled): a
    /// source that remembers what it has read moves its mark now, not at the fetch, so a
    /// failed store reads the same again next time.
    fn stored(&self) -> Result<(), IngestError> {
        Ok(())
    }

    /// For `tagpulse config --check`: what the source needs before it can fetch (its env
    /// vars: credentials, headers), checked without asking the platform.
    fn preflight(&self) -> Result<(), IngestError> {
        Ok(())
    }

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
