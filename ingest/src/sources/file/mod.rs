//! The file source (`kind = "file"`): TSV series (the fixture format), CSV and JSON lines.
//!
//! A file is parsed whole before anything is returned, and the first bad line ends the
//! fetch with `file:line: what is wrong`, so a caller never stores half a file. Its config
//! is [`FileSourceConfig`]; one module per format (`tsv`, `csv`, `jsonl`) shares `rows`.
//! A configured (scheduled) file source reads only what was appended since its last
//! stored fetch (`marks`); `tagpulse import` and a backfill read the files whole.

mod config;
mod csv;
mod jsonl;
mod marks;
mod rows;
mod tsv;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::NaiveDate;
use rayon::prelude::*;
use tagpulse_config::{ConfigError, SourceEntry};

use super::BuildContext;
use crate::{Backfill, Fetched, IngestError, ObservationBatch, Progress, Source, Tag};
pub use config::{Delimiter, FileFormat, FileSourceConfig, UnknownFormat};
use csv::parse_csv;
use jsonl::parse_jsonl;
use marks::{Mark, Marks};
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
    let mut source = FileSource::from_config(&cfg);
    source.marks = Some(MarksFile {
        path: Marks::path(ctx.data_dir, &cfg.id),
        read: Mutex::new(None),
    });
    Ok(Box::new(source))
}

/// Reads the files a [`FileSourceConfig`] names.
#[derive(Debug)]
pub struct FileSource {
    cfg: FileSourceConfig,
    /// Where a scheduled source keeps what it has stored; `None` reads files whole.
    marks: Option<MarksFile>,
}

/// A source's marks file, and the marks of its last fetch until that is stored.
#[derive(Debug)]
struct MarksFile {
    path: PathBuf,
    read: Mutex<Option<Marks>>,
}

impl FileSource {
    /// A source for `cfg` that reads its files whole at every fetch (`tagpulse import`).
    pub fn from_config(cfg: &FileSourceConfig) -> Self {
        FileSource {
            cfg: cfg.clone(),
            marks: None,
        }
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
        Ok(self.read_since(&Marks::default(), progress)?.0)
    }

    /// Parses what every file holds past its mark in `marks` (a file without one, whole);
    /// all or nothing. Returns the batch and the marks after it.
    fn read_since(
        &self,
        marks: &Marks,
        progress: &dyn Progress,
    ) -> Result<(ObservationBatch, Marks), IngestError> {
        let paths = self.resolve_paths()?;
        progress.set_total(paths.iter().map(|p| file_len(p)).sum());
        self.read_files(&paths, marks, progress)
    }

    /// Parses every file whole, a group of files of about `bytes` at a time, for a caller
    /// that stores each batch before the next is read (`tagpulse import`): memory stays
    /// that of one group whatever the input's size. The first bad file stops the
    /// iteration with its error, as [`FileSource::read_all`] would.
    pub fn read_chunks<'a>(
        &'a self,
        bytes: u64,
        progress: &'a dyn Progress,
    ) -> Result<impl Iterator<Item = Result<ObservationBatch, IngestError>> + Send + 'a, IngestError>
    {
        let paths = self.resolve_paths()?;
        let sizes: Vec<u64> = paths.iter().map(|p| file_len(p)).collect();
        progress.set_total(sizes.iter().sum());
        let mut groups: Vec<Vec<PathBuf>> = Vec::new();
        let mut filled = u64::MAX;
        for (path, size) in paths.into_iter().zip(sizes) {
            if filled >= bytes {
                groups.push(Vec::new());
                filled = 0;
            }
            filled += size;
            groups.last_mut().expect("a group").push(path);
        }
        let marks = Marks::default();
        Ok(groups
            .into_iter()
            .map(move |group| Ok(self.read_files(&group, &marks, progress)?.0)))
    }

    /// Parses `paths` past their marks, in parallel; the batch keeps their order, and the
    /// first bad file in that order is the error, as if they had been read one by one.
    fn read_files(
        &self,
        paths: &[PathBuf],
        marks: &Marks,
        progress: &dyn Progress,
    ) -> Result<(ObservationBatch, Marks), IngestError> {
        let parts: Vec<Result<(ObservationBatch, Mark), IngestError>> = paths
            .par_iter()
            .map(|path| {
                let part = self.read_file(path, marks.get(path))?;
                progress.advance(file_len(path));
                Ok(part)
            })
            .collect();
        let mut batch = ObservationBatch::new(self.cfg.id.clone());
        let mut after = marks.clone();
        for (path, part) in paths.iter().zip(parts) {
            let (part, mark) = part?;
            batch.extend(part);
            after.set(path.clone(), mark);
        }
        Ok((batch, after))
    }

    /// Parses one file from its first line past `mark` (whole without one), and the mark
    /// after it.
    fn read_file(
        &self,
        path: &Path,
        mark: Option<&Mark>,
    ) -> Result<(ObservationBatch, Mark), IngestError> {
        // Each thread reads into one buffer it keeps: a fresh one per file had the kernel
        // zero new pages for every file of a big import.
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUFFER.with_borrow_mut(|bytes| {
            bytes.clear();
            let read = std::fs::File::open(path).and_then(|mut f| {
                use std::io::Read;
                f.read_to_end(bytes)
            });
            read.map_err(|source| IngestError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            self.parse_bytes(path, bytes, mark)
        })
    }

    /// Parses `bytes`, the content of `path`, from its first line past `mark`.
    fn parse_bytes(
        &self,
        path: &Path,
        bytes: &[u8],
        mark: Option<&Mark>,
    ) -> Result<(ObservationBatch, Mark), IngestError> {
        let after = Mark::after(bytes);
        let start = match mark.map(|m| m.start_in(bytes)) {
            None => 0,
            Some(None) => return Ok((ObservationBatch::default(), after)),
            Some(Some(start)) => start,
        };
        // The lines before `start` were stored: errors count lines from the file's start.
        let skipped_lines = bytes[..start].iter().filter(|&&b| b == b'\n').count();
        fn utf8<'a>(path: &Path, slice: &'a [u8], skipped: usize) -> Result<&'a str, IngestError> {
            std::str::from_utf8(slice).map_err(|e| {
                let valid = &slice[..e.valid_up_to()];
                let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
                rows::line_err(path, skipped + line, crate::LineProblem::NotUtf8)
            })
        }
        // Spreadsheet exports often start with a byte-order mark.
        let whole = utf8(path, &bytes[start..], skipped_lines)?;
        let whole = whole.strip_prefix('\u{feff}').unwrap_or(whole);
        let format = match self.cfg.format {
            Some(f) => f,
            None => format_of(path)?,
        };
        // A CSV's new lines are read under its header, which sits before `start`.
        let (text, shift) = if start > 0 && format == FileFormat::Csv {
            let header_end = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
            let header = utf8(path, &bytes[..header_end], 0)?;
            let header = header.strip_prefix('\u{feff}').unwrap_or(header);
            (
                std::borrow::Cow::Owned(format!("{header}{whole}")),
                skipped_lines - 1,
            )
        } else {
            (std::borrow::Cow::Borrowed(whole), skipped_lines)
        };
        let text: &str = &text;
        let shifted = |e: IngestError| match e {
            IngestError::Line {
                path,
                line,
                problem,
            } if line > 0 => IngestError::Line {
                path,
                line: line + shift,
                problem,
            },
            e => e,
        };
        let defaults = Defaults {
            platform: &self.cfg.platform,
            metric: &self.cfg.metric,
            delimiter: self.cfg.delimiter,
        };
        let mut part = match format {
            FileFormat::Tsv => parse_tsv(path, text, &defaults),
            FileFormat::Csv => parse_csv(path, text, &defaults),
            FileFormat::Jsonl => parse_jsonl(path, text, &defaults),
        }
        .map_err(shifted)?;
        if let Some(keep) = &self.cfg.tags {
            part.snapshots.retain(|s| keep.contains(&s.tag));
            part.series.retain(|s| keep.contains(&s.tag));
            part.daily.retain(|d| keep.contains(&d.tag));
        }
        Ok((part, after))
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

    fn reads_local_files(&self) -> bool {
        true
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
        let Some(marks) = &self.marks else {
            return Ok(complete(self.read_all(progress)?));
        };
        let (batch, after) = self.read_since(&Marks::load(&marks.path)?, progress)?;
        *marks.read.lock().expect("marks") = Some(after);
        Ok(complete(batch))
    }

    fn stored(&self) -> Result<(), IngestError> {
        let Some(marks) = &self.marks else {
            return Ok(());
        };
        match marks.read.lock().expect("marks").take() {
            Some(after) => after.save(&marks.path),
            None => Ok(()),
        }
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

/// A file's length in bytes (0 when it cannot be read; reading it then says why).
fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
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
