//! tagpulse's jobs, between the stages and their callers (the binary and the scheduler).
//!
//! [`Pipeline`] owns the loaded config and the store it names, and runs the jobs the data
//! flows through: [`Pipeline::ingest`] (one source), [`Pipeline::import`] (files),
//! [`Pipeline::recompute`] (weekly tables), [`Pipeline::render`] (the report),
//! [`Pipeline::run`] (all of them in order) and [`Pipeline::backfill`] (a past range).
//! Each returns a typed outcome ([`outcome`]); the policy lives here: a failing source does
//! not stop the others, the report is still written, and the outcome says what failed.
//! Around the jobs: their records ([`runs`]), the alerts that follow them ([`alerts`]) and
//! the scheduler that fires them ([`schedule`]).

pub mod alerts;
mod backfill;
mod housekeeping;
#[cfg(test)]
mod import_props;
mod job;
mod json_file;
mod lock;
pub mod outcome;
pub mod preflight;
mod render;
pub mod runs;
pub mod schedule;
mod status;

use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;
use tagpulse_config::{Config, ConfigError};
use tagpulse_ingest::shutdown::Shutdown;
use tagpulse_ingest::sources::file::{FileFormat, FileSource, FileSourceConfig};
use tagpulse_ingest::{IngestError, Progress, Source};
use tagpulse_store::{Store, StoreError};
use tagpulse_transform::{weekly_tables_and_summary, Params, Snapshots, TransformError};

pub use backfill::{state_file as backfill_state_file, BackfillOutcome, BackfillRequest};
pub use job::{chain_line, error_line, Job, JobDone, JobOutput};
pub use lock::DataDirLock;
pub use outcome::{
    ImportOutcome, RecomputeOutcome, RenderOutcome, RunOutcome, SourceOutcome, SourceStatus,
    StepFailure,
};
pub use status::{interval, is_stale, latest_report, problems, Freshness};

/// A job failed.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum PipelineError {
    /// The config is invalid (e.g. a bad key in a source's section).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A source could not deliver.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transform failed (polars, or a table off its definition).
    #[error(transparent)]
    Transform(#[from] TransformError),
    /// Polars failed outside the transform (the series summary, source ids).
    #[error("{0}")]
    Polars(#[from] PolarsError),
    /// The report could not be rendered or written.
    #[error(transparent)]
    Report(#[from] tagpulse_report::ReportError),
    /// The command is wrong (a path, a source id): nothing ran, nothing is recorded.
    #[error(transparent)]
    Usage(Box<PipelineError>),
    /// `--source` named no configured source.
    #[error("no source {id:?} in the config; configured: {known}")]
    UnknownSource {
        id: String,
        /// The configured ids, comma-separated.
        known: String,
    },
    /// Another tagpulse holds the data directory's lock.
    #[error("{data_dir} is in use by another tagpulse process (PID {holder}); waited {waited} (storage.lock_timeout): let it finish, or stop it")]
    Locked {
        data_dir: String,
        /// The holder's PID as it wrote it, or `unknown`.
        holder: String,
        /// How long this process waited.
        waited: String,
    },
    /// Another `tagpulse schedule` runs on this data directory.
    #[error("another `tagpulse schedule` (PID {holder}) already runs on {data_dir}: stop it first (one scheduler per data directory)")]
    AlreadyScheduled {
        data_dir: String,
        /// The holder's PID as it wrote it, or `unknown`.
        holder: String,
    },
    /// `ingest` with no source to ask.
    #[error("no [[sources]] configured: see the README's Sources section (or use `tagpulse import` for files)")]
    NoSources,
    /// A name (a source or alert id) that would put a file outside its folder.
    #[error(transparent)]
    PathEscape(#[from] tagpulse_model::paths::Escape),
    /// A stored table does not hold the rows its definition promises (the error names it).
    #[error(transparent)]
    Rows(#[from] tagpulse_model::rows::RowError),
    /// A file could not be replaced (which step, which path).
    #[error(transparent)]
    Write(#[from] tagpulse_io::WriteError),
    /// Another tagpulse process is delivering alerts and did not finish in time.
    #[error("another tagpulse (PID {holder}) is still delivering alerts")]
    AlertsBusy {
        /// The holder's PID as it wrote it, or `unknown`.
        holder: String,
    },
    /// The source or the range cannot be backfilled.
    #[error("backfill {source_id}: {message}")]
    Backfill {
        source_id: String,
        /// Why, naming the flag or the file.
        message: String,
    },
    /// Nothing is stored yet, so there is nothing to report.
    #[error("no observations stored in {0} yet: import files with `tagpulse import` or configure [[sources]] (see README)")]
    NoObservations(String),
    /// The report folder cannot be used (a file, or overlapping the lake).
    #[error("report out_dir: {0}")]
    OutDir(String),
    /// No week is complete yet and none was asked for.
    #[error("no complete week with figures yet: a week is complete once an observation after its end exists, and has figures once some tag's boundaries interpolate (gaps over [transform] max_gap leave none)")]
    NoCompleteWeek,
    /// The week asked for is not complete yet, or holds no data (exit code 2).
    #[error("{week} {why}; {}", match latest {
        Some(l) => format!("the latest complete week is {l}"),
        None => "no week is complete yet".to_string(),
    })]
    WeekNotReportable {
        /// The week asked for (`2026-W47`).
        week: String,
        /// Why, with what would render it anyway.
        why: String,
        /// The latest complete week, if any.
        latest: Option<String>,
    },
    /// A file or directory of the report could not be written.
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// Receives progress bars for sources; the binary draws them, tests and daemons don't.
pub trait ProgressSink: Send + Sync {
    /// A progress receiver for the work labelled `what` (dropped when that work ends).
    fn start(&self, what: &str) -> Box<dyn Progress>;
}

/// Shows no progress.
pub struct NoProgressSink;

impl ProgressSink for NoProgressSink {
    fn start(&self, _: &str) -> Box<dyn Progress> {
        Box::new(tagpulse_ingest::NoProgress)
    }
}

/// Files to import, as `tagpulse import` takes them.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// Files or glob patterns.
    pub paths: Vec<String>,
    /// The format; from each file's extension when absent.
    pub format: Option<FileFormat>,
    /// Platform of rows that name none.
    pub platform: String,
    /// Metric of rows that name none.
    pub metric: String,
    /// The CSV delimiter; detected from each file's header when absent.
    pub delimiter: Option<tagpulse_ingest::sources::file::Delimiter>,
}

/// Which tags `compare` sets side by side.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    /// The tags (one to five).
    pub tags: Vec<tagpulse_config::Tag>,
    /// Their platform.
    pub platform: String,
    /// Their metric.
    pub metric: String,
    /// Weeks back from the newest week with data.
    pub weeks: i64,
    /// Output directory; else `[report] out_dir` (the files go to its `compare/`).
    pub out_dir: Option<PathBuf>,
    /// Language; else `[report] language`.
    pub language: Option<tagpulse_config::Language>,
}

/// Input bytes an import parses before it stores them: about a million TSV lines, so
/// an import's memory is that of a few such groups, whatever the input's size.
const IMPORT_CHUNK_BYTES: u64 = 16 << 20;

/// The file source an import reads.
pub(crate) fn import_source(req: &ImportRequest) -> FileSource {
    FileSource::from_config(&FileSourceConfig {
        id: "import".into(),
        kind: "file".into(),
        paths: req.paths.clone(),
        format: req.format,
        platform: req.platform.clone(),
        metric: req.metric.clone(),
        tags: None,
        synthetic: false,
        delimiter: req.delimiter,
    })
}

/// Where and which week to render.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    /// The week's Monday; else `[report] week`, else the latest complete week.
    pub week: Option<NaiveDate>,
    /// Output directory; else `[report] out_dir`.
    pub out_dir: Option<PathBuf>,
    /// Render a week that is not complete yet, with a banner saying so.
    pub allow_incomplete: bool,
    /// The report's language; else `[report] language`.
    pub language: Option<tagpulse_config::Language>,
}

/// The config and the store it names: everything a job needs.
pub struct Pipeline {
    cfg: Config,
    sources: Vec<Box<dyn Source>>,
    store: Box<dyn Store>,
    /// The series summary the last recompute derived from the observations, for the
    /// report that follows it in the same process (`run`, the scheduler's report job);
    /// any append drops it.
    series: std::sync::Mutex<Option<polars::prelude::DataFrame>>,
    /// The process's shutdown request: checked between sources and steps, handed to
    /// every source.
    shutdown: Shutdown,
    /// The data directory's lock, held while this pipeline writes.
    write: lock::WriteLock,
}

impl Pipeline {
    /// Builds every configured source (the registry validates each entry) and opens the
    /// store `cfg` names.
    pub fn open(cfg: Config) -> Result<Self, PipelineError> {
        Self::open_with(cfg, Shutdown::new())
    }

    /// [`Pipeline::open`] with the process's `shutdown`, which its jobs and sources obey.
    pub fn open_with(cfg: Config, shutdown: Shutdown) -> Result<Self, PipelineError> {
        let sources = tagpulse_ingest::sources::build_all_with(&cfg, &shutdown)?;
        let store = tagpulse_store::open(&cfg.storage)?;
        let write = lock::WriteLock::new(&cfg.storage.data_dir, cfg.storage.lock_timeout);
        Ok(Pipeline {
            cfg,
            sources,
            store,
            series: Default::default(),
            shutdown,
            write,
        })
    }

    /// The shutdown request this pipeline obeys.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The configured sources, in config order.
    pub fn sources(&self) -> &[Box<dyn Source>] {
        &self.sources
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The store, described for logs.
    pub fn describe_store(&self) -> String {
        self.store.describe()
    }

    /// A share of the data directory's lock for a write (see [`lock::WriteLock`]); the
    /// first share of a nesting sweeps what crashed runs left, which only the holder may.
    pub(crate) async fn write_lock(&self) -> Result<lock::WriteGuard<'_>, PipelineError> {
        let guard = self.write.enter().await?;
        if guard.first {
            self.sweep_leftovers();
        }
        Ok(guard)
    }

    fn params(&self) -> Params {
        Params {
            max_gap_secs: self.cfg.transform.max_gap.as_secs() as i64,
        }
    }

    /// Fetches one source and stores what it yields. A network source fetches without the
    /// data lock and takes it to store; one reading local files reads under it, so what it
    /// remembers of the files moves in step with the store.
    pub async fn ingest(&self, source: &dyn Source, progress: &dyn ProgressSink) -> SourceOutcome {
        let failed = |message: String| SourceOutcome {
            source: source.id().to_string(),
            status: SourceStatus::Failed { message },
            tags_ok: 0,
            failures: Vec::new(),
        };
        let _reading = if source.reads_local_files() {
            match self.write_lock().await {
                Ok(guard) => Some(guard),
                Err(e) => return failed(e.to_string()),
            }
        } else {
            None
        };
        let tags = self.tags_of(source);
        let fetched = {
            let bar = progress.start(source.id());
            source.fetch(&tags, bar.as_ref()).await
        };
        let mut fetched = match fetched {
            Ok(f) => f,
            Err(e) => return failed(e.to_string()),
        };
        let dropped = fetched.batch.retain_plausible(chrono::Utc::now());
        if dropped > 0 {
            tracing::warn!(
                source = source.id(),
                "{dropped} observation(s) dated before 1970 or more than 24 h ahead were not stored"
            );
        }
        // What succeeded is stored even when other tags failed.
        let status = match self.append(&fetched.batch).await {
            Ok(stats) => SourceStatus::Stored {
                snapshots: stats.snapshots,
                daily: stats.daily,
            },
            // Safe on disk, not in the store yet.
            Err(PipelineError::Store(
                e @ StoreError::Spooled {
                    snapshots, daily, ..
                },
            )) => SourceStatus::Spooled {
                snapshots,
                daily,
                message: e.to_string(),
            },
            Err(e) => SourceStatus::Failed {
                message: e.to_string(),
            },
        };
        if !matches!(status, SourceStatus::Failed { .. }) {
            if let Err(e) = source.stored() {
                tracing::warn!(
                    source = source.id(),
                    "what was read is stored, but not remembered (the next fetch reads it again): {e}"
                );
            }
        }
        SourceOutcome {
            source: source.id().to_string(),
            status,
            tags_ok: fetched.tags_ok,
            failures: fetched.failures,
        }
    }

    /// The configured sources with these ids (all when `ids` is empty), in config order.
    pub fn select_sources(&self, ids: &[String]) -> Result<Vec<&dyn Source>, PipelineError> {
        for id in ids {
            if !self.sources.iter().any(|s| s.id() == id) {
                let known: Vec<&str> = self.sources.iter().map(|s| s.id()).collect();
                return Err(PipelineError::UnknownSource {
                    id: id.clone(),
                    known: if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    },
                });
            }
        }
        Ok(self
            .sources
            .iter()
            .filter(|s| ids.is_empty() || ids.iter().any(|id| id == s.id()))
            .map(|s| s.as_ref())
            .collect())
    }

    /// The tags `source` fetches: its own list, else the taxonomy's and the brands'.
    pub fn tags_of(&self, source: &dyn Source) -> Vec<tagpulse_ingest::Tag> {
        source
            .tags()
            .map(<[_]>::to_vec)
            .unwrap_or_else(|| self.cfg.tracked_tags())
    }

    /// Runs the chosen sources once (all when `ids` is empty) and stores what they yield;
    /// one failing source never stops the others.
    pub async fn ingest_sources(
        &self,
        ids: &[String],
        progress: &dyn ProgressSink,
    ) -> Result<Vec<SourceOutcome>, PipelineError> {
        let mut out = Vec::new();
        for source in self.select_sources(ids)? {
            let o = self.ingest(source, progress).await;
            log_outcome(&o);
            out.push(o);
            if self.shutdown.is_requested() {
                break;
            }
        }
        Ok(out)
    }

    /// Imports files: all or nothing (the first bad line stops it, nothing is stored).
    pub async fn import(
        &self,
        req: ImportRequest,
        progress: &dyn ProgressSink,
    ) -> Result<ImportOutcome, PipelineError> {
        let source = import_source(&req);
        let files = source.resolve_paths()?.len();
        let stats = {
            let bar = progress.start("reading");
            let batches = source
                .read_chunks(IMPORT_CHUNK_BYTES, bar.as_ref())?
                .map(|b| b.map_err(|e| StoreError::Source(Box::new(e))));
            let _writing = self.append_lock().await?;
            match self.store.append_all(Box::new(batches)).await {
                Err(StoreError::Source(e)) => match e.downcast::<IngestError>() {
                    Ok(e) => return Err((*e).into()),
                    Err(e) => return Err(StoreError::Source(e).into()),
                },
                other => other?,
            }
        };
        Ok(ImportOutcome {
            files,
            snapshots: stats.snapshots,
            daily: stats.daily,
            store: self.store.describe(),
        })
    }

    /// The stored snapshots as the transform reads them: summarised by the store when it
    /// can (ClickHouse sends a row per series and week), else every stored row.
    pub(crate) async fn snapshots(&self) -> Result<Snapshots, PipelineError> {
        let max_gap = self.params().max_gap_secs;
        Ok(match self.store.snapshot_weeks(max_gap).await? {
            Some(weeks) => Snapshots::Weeks(weeks),
            None => Snapshots::Stored(self.store.snapshot_slices().await?),
        })
    }

    /// Stores a batch under the data lock; the series summary of the last recompute no
    /// longer holds.
    pub(crate) async fn append(
        &self,
        batch: &tagpulse_ingest::ObservationBatch,
    ) -> Result<tagpulse_store::AppendStats, PipelineError> {
        let _writing = self.append_lock().await?;
        Ok(self.store.append(batch).await?)
    }

    /// The data lock for storing observations: whatever is stored under it makes the
    /// series summary of the last recompute stale, so it is dropped here.
    async fn append_lock(&self) -> Result<lock::WriteGuard<'_>, PipelineError> {
        let guard = self.write_lock().await?;
        self.series.lock().expect("series lock").take();
        Ok(guard)
    }

    /// The series summary the last recompute left, if nothing was stored since.
    pub(crate) fn take_series(&self) -> Option<polars::prelude::DataFrame> {
        self.series.lock().expect("series lock").take()
    }

    /// Recomputes every weekly table from the stored observations and stores them as one
    /// generation.
    pub async fn recompute(&self) -> Result<RecomputeOutcome, PipelineError> {
        let _writing = self.write_lock().await?;
        let (snapshots, daily) = (self.snapshots().await?, self.store.scan_daily().await?);
        let (params, occupations, brands) = (
            self.params(),
            self.cfg.occupations.clone(),
            self.cfg.brands.clone(),
        );
        let (tables, series) = blocking(move || {
            weekly_tables_and_summary(snapshots, daily, &params, &occupations, &brands)
        })
        .await?;
        self.store.write_weekly(&tables).await?;
        *self.series.lock().expect("series lock") = Some(series);
        Ok(RecomputeOutcome {
            tag_rows: tables.tags.height(),
            occupation_rows: tables.occupations.height(),
            brand_rows: tables.brands.height(),
        })
    }

    /// Charts and a CSV of up to five tags' weekly gained, side by side and indexed to
    /// 100, written to `<out_dir>/compare/`; reads the weekly tables only (no lock, no
    /// run record). Returns the files written.
    pub async fn compare(&self, req: CompareRequest) -> Result<Vec<PathBuf>, PipelineError> {
        let out_dir = req
            .out_dir
            .clone()
            .unwrap_or_else(|| self.cfg.report.out_dir.clone())
            .join("compare");
        let tables = self.store.read_weekly().await?;
        let language = req.language.unwrap_or(self.cfg.report.language);
        let files = blocking(move || {
            tagpulse_report::compare::compare(&tagpulse_report::compare::CompareInput {
                tables: &tables,
                tags: req.tags.iter().map(|t| t.as_str().to_string()).collect(),
                platform: req.platform,
                metric: req.metric,
                weeks: req.weeks,
                language,
            })
        })
        .await?;
        std::fs::create_dir_all(&out_dir).map_err(|source| PipelineError::Io {
            what: "create",
            path: out_dir.display().to_string(),
            source,
        })?;
        let mut written = Vec::new();
        for (name, bytes) in files {
            let path = out_dir.join(name);
            tagpulse_io::write_bytes(&path, tagpulse_io::Access::Shared, &bytes)?;
            written.push(path);
        }
        Ok(written)
    }

    /// Renders the report of one week from the stored weekly tables.
    pub async fn render(&self, req: &RenderRequest) -> Result<RenderOutcome, PipelineError> {
        let _writing = self.write_lock().await?;
        render::render(self, req).await
    }

    /// The main job: every source (when `ingest`; one stored less than its `min_interval`
    /// ago is not fetched again), then the weekly tables, then the report.
    pub async fn run(
        &self,
        req: &RenderRequest,
        ingest: bool,
        progress: &dyn ProgressSink,
    ) -> RunOutcome {
        let mut sources = Vec::with_capacity(self.sources.len());
        let history = self.history().ok();
        let now = chrono::Utc::now();
        for (source, entry) in self.sources.iter().zip(&self.cfg.sources) {
            if !ingest {
                break;
            }
            let stored = history.as_ref().and_then(|h| h.source_success(source.id()));
            if let (Some(min), Some(at)) = (entry.min_interval, stored) {
                let ago = (now - at).to_std().unwrap_or_default();
                if ago < min {
                    tracing::info!(
                        source = source.id(),
                        "stored {} ago, within its min_interval of {}: not fetched again",
                        humantime::format_duration(std::time::Duration::from_secs(ago.as_secs())),
                        humantime::format_duration(min)
                    );
                    continue;
                }
            }
            // One broken source must not hold back the report from the others.
            let out = self.ingest(source.as_ref(), progress).await;
            log_outcome(&out);
            sources.push(out);
            if self.shutdown.is_requested() {
                break;
            }
        }
        // The weekly tables and the report they feed are written under one hold of the lock.
        let writing = self.write_lock().await;
        let recompute = if self.shutdown.is_requested() {
            Err(StepFailure(
                "interrupted: the weekly tables and the report were left as they were".into(),
            ))
        } else {
            match &writing {
                Ok(_) => self.recompute().await.map_err(|e| StepFailure::of(&e)),
                Err(e) => Err(StepFailure::of(e)),
            }
        };
        let render = match &recompute {
            Ok(_) => Some(self.render(req).await.map_err(|e| StepFailure::of(&e))),
            Err(_) => None,
        };
        drop(writing);
        RunOutcome {
            sources,
            recompute,
            render,
        }
    }
}

/// Runs CPU-bound work (the transform on rayon, the report's charts) on tokio's blocking
/// pool, so the async workers keep serving signals, the metrics endpoint and the
/// sources' timers meanwhile; a panic in `f` is a panic here.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// One log line per source: info when all is stored, else an error naming what failed.
fn log_outcome(out: &SourceOutcome) {
    match &out.status {
        SourceStatus::Stored { snapshots, daily } if out.failures.is_empty() => {
            tracing::info!(
                source = out.source,
                snapshots,
                daily,
                tags = out.tags_ok,
                "stored"
            )
        }
        _ => tracing::error!(source = out.source, "{}", out.describe()),
    }
}
