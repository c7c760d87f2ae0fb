//! tagpulse's configuration: one TOML file, parsed into typed structs and validated once.
//!
//! Every error names the key path (`sources[0].format`) and the line it stands on, so a
//! scheduled job that fails on a typo says where to look. The default occupation taxonomy
//! ships inside the crate (`occupations.toml`) and is merged with the user's
//! `[[occupations]]`: same name extends the default group, a new name adds one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

mod alerts;
mod checks;
pub use checks::out_dir_problem;
pub mod diagnostics;
mod schedule;
mod source_entry;
mod storage;
mod taxonomy;

pub use alerts::{
    AlertConfig, EmailTarget, Rule, SmtpConfig, SmtpSecurity, WebhookFormat, WebhookTarget,
};
use diagnostics::parse_toml;
pub use diagnostics::{key, Diagnostics, KeySegment};
pub use schedule::{default_report_schedule, default_source_schedule, Cron, ScheduleConfig};
pub use source_entry::SourceEntry;
pub use storage::{
    check_clickhouse_url, check_identifier, Backend, ClickHouseConfig, StorageConfig,
    CLICKHOUSE_PASSWORD_ENV,
};
pub use tagpulse_model::text::clip;
pub use tagpulse_model::text::Invalid;
pub use tagpulse_model::{
    iso_week_label, parse_ident, parse_iso_week, tag, Tag, TagError, WeekError,
};
use taxonomy::merge_taxonomy;
pub use taxonomy::{default_taxonomy, occupation_pairs, occupations_by_tag, Brand, Occupation};

/// The default taxonomy, as shipped in `config/occupations.toml`.
pub const DEFAULT_TAXONOMY_TOML: &str = include_str!("../occupations.toml");

/// Name of the config file looked up in the working directory when `--config` is absent.
pub const DEFAULT_CONFIG_FILE: &str = "tagpulse.toml";

/// A configuration that could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error, unknown key or bad value, with its place in the file.
    #[error("{file}:{line}: {key}: {message}")]
    Invalid {
        /// The file name (or `<built-in>` for the shipped taxonomy).
        file: String,
        /// 1-based line of the offending key or value (0 when unknown).
        line: usize,
        /// The key path, e.g. `sources[0].format`.
        key: String,
        message: String,
    },
}

/// The whole configuration, as read from `tagpulse.toml` and checked.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where data lives.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Where observations come from; `tagpulse run` pulls each in turn.
    #[serde(default)]
    pub sources: Vec<SourceEntry>,
    /// Whether the shipped taxonomy is included.
    #[serde(default)]
    pub taxonomy: TaxonomyConfig,
    /// Occupation groups (merged with the default taxonomy by name).
    #[serde(default)]
    pub occupations: Vec<Occupation>,
    /// Employers whose own tags are compared with the occupations they recruit for.
    #[serde(default)]
    pub brands: Vec<Brand>,
    /// Metric parameters.
    #[serde(default)]
    pub transform: TransformConfig,
    /// Report output.
    #[serde(default)]
    pub report: ReportConfig,
    /// `[schedule]`: the time zone of every schedule.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// `[[alerts]]`: findings pushed to webhooks and e-mail.
    #[serde(default)]
    pub alerts: Vec<AlertConfig>,
    /// `[smtp]`: the mail server of e-mail alerts.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// The file's text, to point errors found later (a source's section) at a line.
    #[serde(skip)]
    pub diagnostics: Diagnostics,
    /// The folder of the config file, which relative paths in it are relative to (empty:
    /// the working directory, for a config read from it or built in).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[taxonomy]`: how the occupation taxonomy is assembled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyConfig {
    /// Include the shipped default taxonomy (`config/occupations.toml`).
    #[serde(default = "default_true")]
    pub defaults: bool,
}

impl Default for TaxonomyConfig {
    fn default() -> Self {
        TaxonomyConfig { defaults: true }
    }
}

fn default_true() -> bool {
    true
}

/// Default platform of rows that name none.
pub fn default_platform() -> String {
    "tiktok".into()
}

/// Default metric of rows that name none.
pub fn default_metric() -> String {
    "views".into()
}

/// serde helper: a platform name, validated.
pub fn de_platform<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    parse_ident("platform", &s).map_err(serde::de::Error::custom)
}

/// serde helper: a metric name, validated.
pub fn de_metric<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    parse_ident("metric", &s).map_err(serde::de::Error::custom)
}

/// `[transform]`: metric parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// Longest gap between two snapshots that is still interpolated across ("7d").
    #[serde(default = "default_max_gap", deserialize_with = "de_duration")]
    pub max_gap: Duration,
}

impl Default for TransformConfig {
    fn default() -> Self {
        TransformConfig {
            max_gap: default_max_gap(),
        }
    }
}

fn default_max_gap() -> Duration {
    Duration::from_secs(7 * 86_400)
}

pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let dur = humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {s:?} ({e}); write e.g. \"7d\" or \"36h\""
        ))
    })?;
    if dur.as_secs() == 0 {
        return Err(serde::de::Error::custom("must be at least 1s"));
    }
    Ok(dur)
}

/// `[report]`: where and what to render.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Output directory; each week goes to `<out_dir>/<YYYY-Www>/`.
    #[serde(default = "default_out_dir")]
    pub out_dir: PathBuf,
    /// Rows in the "top" tables and series in the trend chart.
    #[serde(default = "default_top_n")]
    pub top_n: usize,
    /// Where the reports are published (e.g. `https://intranet/tagpulse`), for links in
    /// mail; the local path is linked when absent.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Week to report (`2026-W47`); the latest complete week when absent.
    #[serde(default, deserialize_with = "de_week")]
    pub week: Option<NaiveDate>,
    /// When `tagpulse schedule` recomputes and renders (default Mondays 06:00).
    #[serde(default = "default_report_schedule")]
    pub schedule: Cron,
    /// The report's language: every fixed text, the headline, dates and numbers.
    #[serde(default)]
    pub language: Language,
    /// The CSV files' delimiter: `,`, `;`, `\t` or `|`; default `,` in English and `;`
    /// where the decimal mark is a comma (nl, de).
    #[serde(default, deserialize_with = "de_delimiter")]
    pub csv_delimiter: Option<char>,
}

fn de_delimiter<'de, D: Deserializer<'de>>(d: D) -> Result<Option<char>, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "," | ";" | "\t" | "|" => Ok(s.chars().next()),
        _ => Err(serde::de::Error::custom(format!(
            "{s:?} is not a CSV delimiter: use \",\", \";\", \"\\t\" or \"|\""
        ))),
    }
}

/// A language the report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English (the default).
    #[default]
    En,
    /// Dutch (Nederlands).
    Nl,
    /// German (Deutsch).
    De,
}

impl Language {
    /// Every language, English first.
    pub const ALL: [Language; 3] = [Language::En, Language::Nl, Language::De];

    /// The language of a code (`en`, `nl`, `de`), as `--language` takes it.
    pub fn parse(code: &str) -> Result<Language, tagpulse_model::text::Invalid> {
        Language::ALL
            .into_iter()
            .find(|l| l.code() == code)
            .ok_or_else(|| {
                tagpulse_model::text::Invalid(format!(
                    "unknown language {code:?}: use en, nl or de"
                ))
            })
    }

    /// The BCP 47 code, as in `<html lang>`: `en`, `nl`, `de`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Nl => "nl",
            Language::De => "de",
        }
    }
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            out_dir: default_out_dir(),
            top_n: default_top_n(),
            base_url: None,
            week: None,
            schedule: default_report_schedule(),
            language: Language::default(),
            csv_delimiter: None,
        }
    }
}

fn default_out_dir() -> PathBuf {
    PathBuf::from("reports")
}

fn default_top_n() -> usize {
    10
}

fn de_week<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let s = String::deserialize(d)?;
    parse_iso_week(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

impl Config {
    /// Loads `path`, merges the default taxonomy and validates everything.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Config::from_toml(&text, &path.display().to_string())?;
        // Relative paths in the file mean the same whatever directory cron or systemd
        // starts tagpulse in: they are relative to the file.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            cfg.base_dir = dir.to_path_buf();
            for p in [&mut cfg.storage.data_dir, &mut cfg.report.out_dir] {
                *p = cfg.base_dir.join(&*p);
            }
        }
        Ok(cfg)
    }

    /// Parses and validates TOML text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = parse_toml(text, file)?;
        for (i, s) in cfg.sources.iter_mut().enumerate() {
            s.place(i, text, file)?;
        }
        cfg.diagnostics = Diagnostics {
            file: file.to_string(),
            text: text.to_string(),
        };
        cfg.validate(text, file)?;
        if cfg.taxonomy.defaults {
            let defaults = default_taxonomy();
            cfg.occupations = merge_taxonomy(defaults, std::mem::take(&mut cfg.occupations));
        }
        cfg.check_brands(text, file)?;
        alerts::check(&cfg.alerts, cfg.smtp.as_ref(), text, file)?;
        Ok(cfg)
    }

    /// The built-in defaults (used when there is neither a file nor flags).
    pub fn builtin() -> Config {
        Config::from_toml("", "<built-in>")
            .expect("empty config with the shipped taxonomy is valid")
    }

    /// Every tag the taxonomy and the brands name, sorted and distinct.
    pub fn tracked_tags(&self) -> Vec<Tag> {
        tracked_tags(&self.occupations, &self.brands)
            .into_iter()
            .collect()
    }
}

/// `Ok` when env var `name` is set and not empty; else says to set `what` (e.g. "the
/// bearer token (token_env)") there. Every secret tagpulse reads comes through such a var.
pub fn require_env(name: &str, what: &str) -> Result<(), Invalid> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(()),
        _ => Err(Invalid(format!("set {what} in {name}"))),
    }
}

/// The tags `occupations` and `brands` name, sorted and distinct: the tags tagpulse tracks
/// (fetched by sources without their own list, given a page in the report).
pub fn tracked_tags(occupations: &[Occupation], brands: &[Brand]) -> BTreeSet<Tag> {
    occupations
        .iter()
        .flat_map(|o| o.tags.iter().cloned())
        .chain(brands.iter().flat_map(|b| b.tags.iter().cloned()))
        .collect()
}

#[cfg(test)]
mod tests;
