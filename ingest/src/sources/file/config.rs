//! `kind = "file"` in `[[sources]]`: which files, in which format, with which defaults.

use serde::Deserialize;
use tagpulse_config::{de_metric, de_platform, default_metric, default_platform};
use tagpulse_config::{key, ConfigError, Diagnostics, KeySegment, SourceEntry};

use crate::Tag;

/// `kind = "file"`: import files matching glob patterns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// Unique id of the source (stored with every observation).
    pub id: String,
    /// Always `"file"` (selects this component).
    #[serde(default)]
    pub kind: String,
    /// Glob patterns (relative to the working directory).
    pub paths: Vec<String>,
    /// File format; inferred from each file's extension when absent.
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Platform for rows that do not name one (TSV always).
    #[serde(default = "default_platform", deserialize_with = "de_platform")]
    pub platform: String,
    /// Metric for rows that do not name one (TSV always).
    #[serde(default = "default_metric", deserialize_with = "de_metric")]
    pub metric: String,
    /// Only import these tags (all tags in the files when absent).
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    /// Marks the data as synthetic (the bundled sample): the report says so.
    #[serde(default)]
    pub synthetic: bool,
    /// The CSV delimiter (`,`, `;` or `\t`); detected from each file's header when absent.
    #[serde(default, deserialize_with = "de_delimiter")]
    pub delimiter: Option<Delimiter>,
}

/// A CSV field delimiter tagpulse reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(pub u8);

impl Delimiter {
    /// The delimiter written as in the config or on the command line: `,`, `;`, `\t`
    /// (or a tab).
    pub fn parse(s: &str) -> Result<Delimiter, tagpulse_config::Invalid> {
        match s {
            "," => Ok(Delimiter(b',')),
            ";" => Ok(Delimiter(b';')),
            "\t" | "\\t" => Ok(Delimiter(b'\t')),
            _ => Err(tagpulse_config::Invalid(format!(
                "{s:?} is not a CSV delimiter tagpulse reads: use \",\", \";\" or \"\\t\""
            ))),
        }
    }

    /// How to write it in a message: `,`, `;` or `\t`.
    pub fn shown(self) -> &'static str {
        match self.0 {
            b';' => ";",
            b'\t' => "\\t",
            _ => ",",
        }
    }
}

fn de_delimiter<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Delimiter>, D::Error> {
    let s = String::deserialize(d)?;
    Delimiter::parse(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Formats the file source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// `YYYY-MM-DD HH:MM:SS<TAB>value`, tag = file name.
    Tsv,
    /// Header with `tag,observed_at|day,value[,platform,metric]`.
    Csv,
    /// One JSON object per line with the CSV's field names.
    Jsonl,
}

/// A format name that is none of tsv, csv, jsonl (on the command line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {0:?}: use tsv, csv or jsonl")]
pub struct UnknownFormat(pub String);

impl FileFormat {
    /// Parses a format name as given on the command line.
    pub fn from_name(s: &str) -> Option<FileFormat> {
        match s {
            "tsv" => Some(FileFormat::Tsv),
            "csv" => Some(FileFormat::Csv),
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            _ => None,
        }
    }
}

/// Parses and checks a `[[sources]]` entry of kind `file`; errors name key and line.
pub(super) fn parse(
    entry: &SourceEntry,
    diag: &Diagnostics,
) -> Result<FileSourceConfig, ConfigError> {
    let cfg: FileSourceConfig = diag.parse_section(&entry.path(), &entry.table)?;
    let at = |rest: &[KeySegment]| {
        let mut p = entry.path();
        p.extend_from_slice(rest);
        p
    };
    if cfg.paths.is_empty() {
        return Err(diag.invalid_at(
            &at(&[key("paths")]),
            "give at least one path or glob".into(),
        ));
    }
    for (j, p) in cfg.paths.iter().enumerate() {
        if let Err(e) = glob::Pattern::new(p) {
            return Err(diag.invalid_at(
                &at(&[key("paths"), KeySegment::Idx(j)]),
                format!("invalid glob {p:?}: {e}"),
            ));
        }
    }
    Ok(cfg)
}
