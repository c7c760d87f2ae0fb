//! Where tagpulse data lives: observations and the weekly tables.
//!
//! Each backend is one folder (`parquet/`, `clickhouse/`) implementing [`Store`];
//! [`open`] is the one place that picks it. Tables are those `tagpulse-model` defines.
//!
//! [`Store`] is the one interface the pipeline uses; [`open`] picks the implementation
//! from `[storage]`. The default, [`ParquetStore`], is an embedded lake of Parquet files
//! that needs no server; [`ClickHouseStore`] is the shared store a team queries with SQL.
//! Reads deduplicate observations by identity (last ingested wins), so a re-run or an
//! overlapping import never changes a metric.

pub mod clickhouse;
pub mod generation;
pub mod parquet;
pub mod runs;
pub mod sweep;

use async_trait::async_trait;
use polars::prelude::*;
use tagpulse_config::{Backend, StorageConfig};
use tagpulse_model::{ObservationBatch, RowSlices, SchemaError, WeeklyTables};

pub use crate::clickhouse::{ClickHouseStore, DbStatus, MigrateReport, TransferStats};
pub use parquet::ParquetStore;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum StoreError {
    /// A file or directory could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// A file could not be replaced (which step, which path).
    #[error(transparent)]
    Write(#[from] tagpulse_io::WriteError),
    /// Polars could not read or write a frame.
    #[error("{what}: {source}")]
    Polars { what: String, source: PolarsError },
    /// A file in the lake is not readable Parquet (e.g. copied in by hand, or damaged).
    #[error("{path} is not a readable Parquet file ({message}); move it out of the data directory and re-import its data if needed")]
    Corrupt { path: String, message: String },
    /// Frames that do not match their table's definition (refused before writing).
    #[error("refusing to store {0}")]
    Schema(SchemaError),
    /// The weekly tables have not been computed yet.
    #[error("no weekly tables in {0} yet: run `tagpulse transform` (or `tagpulse run`) first")]
    NoWeeklyTables(String),
    /// ClickHouse could not be reached or refused a request.
    #[error("ClickHouse at {url}: cannot {what}: {message}")]
    ClickHouse {
        /// The server's URL (never with credentials).
        url: String,
        what: String,
        message: String,
    },
    /// A batch could not be delivered to ClickHouse and waits in the local spool.
    #[error("{reason}; kept {snapshots} snapshots and {daily} daily counts in the spool at {dir}: the next run that reaches the server delivers them")]
    Spooled {
        reason: String,
        /// Snapshots spooled.
        snapshots: usize,
        /// Daily counts spooled.
        daily: usize,
        dir: String,
    },
    /// Delivery failed and so did writing the spool: the batch is not stored.
    #[error("{reason}; and the spool could not be written either ({spool}): nothing of this batch was stored")]
    SpoolFailed { reason: String, spool: String },
    /// The database was migrated by a newer tagpulse.
    #[error("database {database} is at schema version {found}, but this tagpulse knows only up to {known}: upgrade tagpulse")]
    SchemaTooNew {
        database: String,
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
    /// A directory given as a Parquet lake has no `observations/` folder.
    #[error("{0} is not a tagpulse Parquet lake (it has no observations/ folder)")]
    NotALake(String),
    /// A ClickHouse-only command was used with another backend.
    #[error("this needs [storage] backend = \"clickhouse\" and a [storage.clickhouse] section")]
    NotClickHouse,
    /// The batches of an [`Store::append_all`] stopped with this error (a bad input file):
    /// nothing of them was stored.
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync>),
}

/// The batches one [`Store::append_all`] stores as one, read one after another.
pub type Batches<'a> = Box<dyn Iterator<Item = Result<ObservationBatch, StoreError>> + Send + 'a>;

/// What an append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendStats {
    /// Counter snapshots written.
    pub snapshots: usize,
    /// Daily counts written.
    pub daily: usize,
}

/// What a compaction did to one kind of observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    /// The table, `snapshots` or `daily_counts`.
    pub table: &'static str,
    /// Files or parts merged (the lake's; `None` where the server merges its own).
    pub parts: Option<usize>,
    /// Rows before, duplicates included.
    pub rows_before: u64,
    /// Rows after: each identity once.
    pub rows_after: u64,
}

/// Observations in, weekly tables out; one implementation per backend.
///
/// Call it from tokio's multi-threaded runtime: polars' Parquet reader blocks in place
/// when it finds a runtime, which the current-thread runtime does not allow.
#[async_trait]
pub trait Store: Send + Sync {
    /// A one-line description for logs ("parquet lake at ./data").
    fn describe(&self) -> String;

    /// Stores a batch; it is either stored whole or not at all.
    async fn append(&self, batch: &ObservationBatch) -> Result<AppendStats, StoreError>;

    /// Stores every batch of `batches` as one append: all of them, or nothing when one is
    /// an error (which stops it). By default they are gathered and given to
    /// [`Store::append`]; the lake writes each as it comes, so a big import holds one
    /// batch at a time.
    async fn append_all(&self, batches: Batches<'_>) -> Result<AppendStats, StoreError> {
        let mut all = ObservationBatch::default();
        for batch in batches {
            let batch = batch?;
            all.source = batch.source.clone();
            all.extend(batch);
        }
        self.append(&all).await
    }

    /// Counter snapshots, deduplicated by identity (last ingested wins).
    async fn scan_snapshots(&self) -> Result<LazyFrame, StoreError>;

    /// Every stored snapshot row, duplicates included, in slices, for callers that
    /// resolve identity themselves (the transform does it per series, which is much
    /// cheaper than a sort over the whole store). By default the deduplicated scan as
    /// one slice, which is valid input for them too.
    async fn snapshot_slices(&self) -> Result<Box<dyn RowSlices>, StoreError> {
        Ok(Box::new(self.scan_snapshots().await?))
    }

    /// Snapshots summarised per series and week where the data lives, when the backend
    /// can (`None`: read [`Store::snapshot_slices`]): the columns of
    /// [`tagpulse_model::frames::SNAPSHOT_WEEKS`], in that order, gaps counted against
    /// `max_gap_secs`, identity resolved as in [`Store::scan_snapshots`].
    async fn snapshot_weeks(&self, max_gap_secs: i64) -> Result<Option<DataFrame>, StoreError> {
        let _ = max_gap_secs;
        Ok(None)
    }

    /// Daily counts, deduplicated by identity (last ingested wins).
    async fn scan_daily(&self) -> Result<LazyFrame, StoreError>;

    /// Replaces the weekly tables with `tables`.
    async fn write_weekly(&self, tables: &WeeklyTables) -> Result<(), StoreError>;

    /// The weekly tables last written.
    async fn read_weekly(&self) -> Result<WeeklyTables, StoreError>;

    /// Merges the stored observations so each identity is kept once (`tagpulse compact`):
    /// the lake's parts into one per kind, ClickHouse's parts by `OPTIMIZE … FINAL`.
    async fn compact(&self) -> Result<Vec<Compaction>, StoreError>;

    /// Copies one run's records (tables `runs`, `run_sources`) into the backend's own
    /// tables; the Parquet lake has them in [`runs`] already, so by default nothing.
    async fn record_run(&self, _runs: &DataFrame, _sources: &DataFrame) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Opens the store `[storage]` configures.
pub fn open(cfg: &StorageConfig) -> Result<Box<dyn Store>, StoreError> {
    match cfg.backend {
        Backend::Parquet => Ok(Box::new(ParquetStore::open(&cfg.data_dir)?)),
        Backend::Clickhouse => Ok(Box::new(open_clickhouse(cfg)?)),
    }
}

/// Opens the ClickHouse store `[storage.clickhouse]` configures (for the `db` commands).
pub fn open_clickhouse(cfg: &StorageConfig) -> Result<ClickHouseStore, StoreError> {
    match (&cfg.backend, &cfg.clickhouse) {
        (Backend::Clickhouse, Some(ch)) => ClickHouseStore::open(ch, &cfg.data_dir),
        _ => Err(StoreError::NotClickHouse),
    }
}

pub(crate) fn polars_err(what: impl Into<String>) -> impl FnOnce(PolarsError) -> StoreError {
    let what = what.into();
    move |source| StoreError::Polars { what, source }
}
