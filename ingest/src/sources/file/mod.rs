//! The file source (`kind = "file"`): TSV series (the fixture format), CSV and JSON lines.
//!
//! A file is parsed whole before anything is returned, and the first bad line ends the
//! fetch with `file:line: what is wrong`, so a caller never stores half a file. Its config
//! is [`FileSourceConfig`]; one module per format (`tsv`, `csv`, `jsonl`) shares `rows`.

mod config;
mod csv;
mod jsonl;
mod rows;
mod tsv;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::NaiveDate;
use rayon::prelude::*;
use tagpulse_config::{ConfigError, SourceEntry};

use super::BuildContext;
use crate::{Backfill, Fetched, IngestError, ObservationBatch, Progress, Source, Tag};
pub use config::{Delimiter, FileFormat, FileSourceConfig, UnknownFormat};
use csv::parse_csv;
use jsonl::parse_jsonl;
use rows::Defaults;
use tsv::parse_tsv;

/// The registry's constructor: a `[[sources]]` entry of kind `file` -> a [`FileSource`].
pub fn build(entry: &SourceEntry, ctx: BuildContext) -> Result<Box<dyn Source>, ConfigError> {
    let mut cfg = config::parse(entry, ctx.diag)?;
    // Patterns in the config file are relative to it, not to where tagpulse started.
    for p in &mut cfg.paths {
        if !Path::new(p.as_str()).is_absolute() {
            *p = ctx.config_dir.join(&*p).to_string_lossy().into_owned();
        }
    }
    Ok(Box::new(FileSource::from_config(&cfg)))
}

/// Reads the files a [`FileSourceConfig`] names.
#[derive(Debug, Clone)]
pub struct FileSource {
    cfg: FileSourceConfig,
}

impl FileSource {
    /// A source for `cfg`.
    pub fn from_config(cfg: &FileSourceConfig) -> Self {
        FileSource { cfg: cfg.clone() }
    }

    /// The files the patterns match, sorted and distinct; a pattern matching nothing is an error.
    pub fn resolve_paths(&self) -> Result<Vec<PathBuf>, IngestError> {
        let mut out = BTreeSet::new();
        for pattern in &self.cfg.paths {
            let is_glob = pattern.contains(['*', '?', '[']);
            if !is_glob {
                let p = PathBuf::from(pattern);
                let problem = match std::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => {
                        let dir = pattern.trim_end_matches('/').to_string();
                        return Err(IngestError::IsDirectory(dir));
                    }
                    Ok(_) => None,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        Some("no such file".into())
                    }
                    // The OS's own words: a symlink loop, no permission, …
                    Err(e) => Some(e.to_string()),
                };
                if let Some(message) = problem {
                    return Err(IngestError::Pattern {
                        pattern: pattern.clone(),
                        message,
                    });
                }
                out.insert(p);
                continue;
            }
            let paths = glob::glob(pattern).map_err(|e| IngestError::Pattern {
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
            let before = out.len();
            for p in paths {
                let p = p.map_err(|e| IngestError::Io {
                    path: e.path().to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                })?;
                if p.is_file() {
                    out.insert(p);
                }
            }
            if out.len() == before {
                return Err(IngestError::Pattern {
                    pattern: pattern.clone(),
                    message: "matches no file".into(),
                });
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Parses every file; all or nothing.
    pub fn read_all(&self, progress: &dyn Progress) -> Result<ObservationBatch, IngestError> {
        let paths = self.resolve_paths()?;
        let total: u64 = paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        progress.set_total(total);
        // Files parse in parallel; the batch keeps their order, and the first bad file
        // in that order is the error, as if they had been read one by one.
        let parts: Vec<Result<ObservationBatch, IngestError>> = paths
            .par_iter()
            .map(|path| {
                let part = self.read_file(path)?;
                progress.advance(std::fs::metadata(path).map_or(0, |m| m.len()));
                Ok(part)
            })
            .collect();
        let mut batch = ObservationBatch::new(self.cfg.id.clone());
        for part in parts {
            batch.extend(part?);
        }
        Ok(batch)
    }

    /// Parses one file, whole.
    fn read_file(&self, path: &Path) -> Result<ObservationBatch, IngestError> {
        let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let raw = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            rows::line_err(path, line, crate::LineProblem::NotUtf8)
        })?;
        // Spreadsheet exports often start with a byte-order mark.
        let text = raw.strip_prefix('\u{feff}').unwrap_or(&raw);
        let format = match self.cfg.format {
            Some(f) => f,
            None => format_of(path)?,
        };
        let defaults = Defaults {
            platform: &self.cfg.platform,
            metric: &self.cfg.metric,
            delimiter: self.cfg.delimiter,
        };
        let mut part = match format {
            FileFormat::Tsv => parse_tsv(path, text, &defaults)?,
            FileFormat::Csv => parse_csv(path, text, &defaults)?,
            FileFormat::Jsonl => parse_jsonl(path, text, &defaults)?,
        };
        if let Some(keep) = &self.cfg.tags {
            part.snapshots.retain(|s| keep.contains(&s.tag));
            part.series.retain(|s| keep.contains(&s.tag));
            part.daily.retain(|d| keep.contains(&d.tag));
        }
        Ok(part)
    }
}

#[async_trait]
impl Source for FileSource {
    fn id(&self) -> &str {
        &self.cfg.id
    }

    fn synthetic(&self) -> bool {
        self.cfg.synthetic
    }

    fn describe(&self) -> String {
        format!(
            "{} (file): {} [{}/{}]{}",
            self.cfg.id,
            self.cfg.paths.join(", "),
            self.cfg.platform,
            self.cfg.metric,
            if self.cfg.synthetic { " synthetic" } else { "" }
        )
    }

    fn tags(&self) -> Option<&[Tag]> {
        self.cfg.tags.as_deref()
    }

    fn backfill(&self) -> Option<&dyn Backfill> {
        Some(self)
    }

    async fn fetch(&self, _tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError> {
        Ok(complete(self.read_all(progress)?))
    }
}

/// The files hold the past already: a backfill stores the part of them in the window.
#[async_trait]
impl Backfill for FileSource {
    fn max_window_days(&self) -> u32 {
        // Each window reads the files again: a year per window keeps that rare.
        366
    }

    async fn fetch_range(
        &self,
        _tags: &[Tag],
        from: NaiveDate,
        to: NaiveDate,
        progress: &dyn Progress,
    ) -> Result<Fetched, IngestError> {
        let mut batch = self.read_all(progress)?;
        let inside = |d: NaiveDate| from <= d && d <= to;
        batch.retain_snapshot_times(|t| inside(t.date_naive()));
        batch.daily.retain(|d| inside(d.day));
        Ok(complete(batch))
    }
}

/// A whole batch: every tag in it succeeded.
fn complete(batch: ObservationBatch) -> Fetched {
    let tags: BTreeSet<&Tag> = batch
        .snapshots
        .iter()
        .map(|s| &s.tag)
        .chain(batch.series.iter().map(|s| &s.tag))
        .chain(batch.daily.iter().map(|d| &d.tag))
        .collect();
    let tags_ok = tags.len();
    Fetched::complete(batch, tags_ok)
}

/// The format a file's extension implies.
pub fn format_of(path: &Path) -> Result<FileFormat, IngestError> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .and_then(|e| FileFormat::from_name(&e))
        .ok_or_else(|| IngestError::UnknownFormat {
            path: path.to_path_buf(),
        })
}

#[cfg(test)]
mod tests;
