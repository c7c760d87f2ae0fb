//! tagpulse's configuration: one TOML file, parsed into typed structs and validated once.
//!
//! Every error names the key path (`sources[0].format`) and the line it stands on, so a
//! scheduled job that fails on a typo says where to look. The default occupation taxonomy
//! ships inside the crate (`occupations.toml`) and is merged with the user's
//! `[[occupations]]`: same name extends the default group, a new name adds one.

#![warn(missing_docs)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

mod alerts;
pub mod diagnostics;
mod schedule;
mod source_entry;
mod storage;
mod taxonomy;

pub use alerts::{
    AlertConfig, EmailTarget, Rule, SmtpConfig, SmtpSecurity, WebhookFormat, WebhookTarget,
};
use diagnostics::{invalid_at, parse_toml};
pub use diagnostics::{key, Diagnostics, KeySegment};
pub use schedule::{default_report_schedule, default_source_schedule, Cron, ScheduleConfig};
pub use source_entry::SourceEntry;
pub use storage::{
    check_clickhouse_url, check_identifier, Backend, ClickHouseConfig, StorageConfig,
    CLICKHOUSE_PASSWORD_ENV,
};
pub use tagpulse_model::{iso_week_label, parse_ident, parse_iso_week, tag, Tag, TagError};
use taxonomy::merge_taxonomy;
pub use taxonomy::{default_taxonomy, occupation_pairs, occupations_by_tag, Brand, Occupation};

/// The default taxonomy, as shipped in `config/occupations.toml`.
pub const DEFAULT_TAXONOMY_TOML: &str = include_str!("../occupations.toml");

/// Name of the config file looked up in the working directory when `--config` is absent.
pub const DEFAULT_CONFIG_FILE: &str = "tagpulse.toml";

/// A configuration that could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
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
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
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
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            out_dir: default_out_dir(),
            top_n: default_top_n(),
            base_url: None,
            week: None,
            schedule: default_report_schedule(),
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
        Config::from_toml(&text, &path.display().to_string())
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

    fn validate(&self, text: &str, file: &str) -> Result<(), ConfigError> {
        if self.storage.backend == Backend::Clickhouse && self.storage.clickhouse.is_none() {
            return Err(invalid_at(
                text,
                file,
                &[key("storage"), key("backend")],
                "backend = \"clickhouse\" needs a [storage.clickhouse] section (url, database, user)"
                    .into(),
            ));
        }
        if self
            .storage
            .clickhouse
            .as_ref()
            .is_some_and(|c| c.batch_rows == 0)
        {
            return Err(invalid_at(
                text,
                file,
                &[key("storage"), key("clickhouse"), key("batch_rows")],
                "batch_rows must be at least 1".into(),
            ));
        }
        let mut ids = BTreeSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            if s.id.is_empty() || !ids.insert(s.id.clone()) {
                return Err(invalid_at(
                    text,
                    file,
                    &[key("sources"), KeySegment::Idx(i), key("id")],
                    format!("source id {:?} is empty or used twice", s.id),
                ));
            }
        }
        let mut names = BTreeSet::new();
        for (i, o) in self.occupations.iter().enumerate() {
            if o.name.trim().is_empty() || !names.insert(o.name.clone()) {
                return Err(invalid_at(
                    text,
                    file,
                    &[key("occupations"), KeySegment::Idx(i), key("name")],
                    format!("occupation name {:?} is empty or used twice", o.name),
                ));
            }
        }
        // Longer gaps than a year are not gaps any more; huge values overflow the transform.
        if self.transform.max_gap > Duration::from_secs(365 * 86_400) {
            return Err(invalid_at(
                text,
                file,
                &[key("transform"), key("max_gap")],
                format!(
                    "max_gap {} is longer than the maximum, 365 days",
                    humantime::format_duration(self.transform.max_gap)
                ),
            ));
        }
        self.check_out_dir(text, file)?;
        if self.report.top_n == 0 || self.report.top_n > 100 {
            return Err(invalid_at(
                text,
                file,
                &[key("report"), key("top_n")],
                format!("top_n must be 1 to 100, not {}", self.report.top_n),
            ));
        }
        Ok(())
    }

    /// The report must not write into the lake, nor the lake into the report.
    fn check_out_dir(&self, text: &str, file: &str) -> Result<(), ConfigError> {
        let at =
            |message: String| invalid_at(text, file, &[key("report"), key("out_dir")], message);
        let out = &self.report.out_dir;
        if out.is_file() {
            return Err(at(format!("{} is a file, not a directory", out.display())));
        }
        let (Ok(o), Ok(d)) = (
            std::path::absolute(out),
            std::path::absolute(&self.storage.data_dir),
        ) else {
            return Ok(());
        };
        if o.starts_with(&d) || d.starts_with(&o) {
            return Err(at(format!(
                "{} and storage.data_dir {} overlap: the report would write into the data (or the reverse); give them separate folders",
                out.display(),
                self.storage.data_dir.display()
            )));
        }
        Ok(())
    }

    fn check_brands(&self, text: &str, file: &str) -> Result<(), ConfigError> {
        let known: BTreeSet<&str> = self.occupations.iter().map(|o| o.name.as_str()).collect();
        let mut names = BTreeSet::new();
        for (i, b) in self.brands.iter().enumerate() {
            if b.name.trim().is_empty() || !names.insert(b.name.clone()) {
                return Err(invalid_at(
                    text,
                    file,
                    &[key("brands"), KeySegment::Idx(i), key("name")],
                    format!("brand name {:?} is empty or used twice", b.name),
                ));
            }
            for (j, o) in b.occupations.iter().enumerate() {
                if !known.contains(o.as_str()) {
                    return Err(invalid_at(
                        text,
                        file,
                        &[
                            key("brands"),
                            KeySegment::Idx(i),
                            key("occupations"),
                            KeySegment::Idx(j),
                        ],
                        format!("unknown occupation {o:?} (not in the taxonomy)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every tag the taxonomy and the brands name, sorted and distinct.
    pub fn tracked_tags(&self) -> Vec<Tag> {
        let set: BTreeSet<Tag> = self
            .occupations
            .iter()
            .flat_map(|o| o.tags.iter().cloned())
            .chain(self.brands.iter().flat_map(|b| b.tags.iter().cloned()))
            .collect();
        set.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, String, String) {
        match Config::from_toml(text, "t.toml").unwrap_err() {
            ConfigError::Invalid {
                line, key, message, ..
            } => (line, key, message),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_duplicate_key_is_named() {
        let (line, key, msg) = err("[report]\ntop_n = 3\ntop_n = 4\n");
        assert_eq!(
            (line, key.as_str(), msg.as_str()),
            (3, "report.top_n", "duplicate key")
        );
        let (line, key, _) = err("a = 1\n[storage]\ndata_dir = \"x\"\ndata_dir = \"y\"\n");
        assert_eq!((line, key.as_str()), (4, "storage.data_dir"));
    }

    #[test]
    fn a_huge_max_gap_and_an_out_dir_in_the_lake_are_refused() {
        for gap in ["9223372036854775808s", "584542046090y", "366d"] {
            let text = format!("[transform]\nmax_gap = \"{gap}\"\n");
            let (line, key, msg) = err(&text);
            assert_eq!(
                (line, key.as_str()),
                (2, "transform.max_gap"),
                "{gap}: {msg}"
            );
        }
        let (_, _, msg) = err("[transform]\nmax_gap = \"366d\"\n");
        assert!(msg.contains("longer than the maximum, 365 days"), "{msg}");
        Config::from_toml("[transform]\nmax_gap = \"365d\"\n", "t.toml").unwrap();
        for (data, out) in [("data", "data"), ("data", "data/reports"), ("x/data", "x")] {
            let text =
                format!("[storage]\ndata_dir = \"{data}\"\n\n[report]\nout_dir = \"{out}\"\n");
            let (line, key, msg) = err(&text);
            assert_eq!((line, key.as_str()), (5, "report.out_dir"), "{msg}");
            assert!(msg.contains("overlap"), "{msg}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afile");
        std::fs::write(&file, "x").unwrap();
        let (_, key, msg) = err(&format!(
            "[report]\nout_dir = {:?}\n",
            file.display().to_string()
        ));
        assert_eq!(key, "report.out_dir");
        assert_eq!(
            msg,
            format!("{} is a file, not a directory", file.display())
        );
    }

    #[test]
    fn clickhouse_section_parses_with_defaults() {
        let c = Config::from_toml(
            "[storage]\nbackend = \"clickhouse\"\n[storage.clickhouse]\nurl = \"http://ch.internal:8123/\"\ndatabase = \"brand_team\"\ntimeout = \"5s\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.storage.backend, Backend::Clickhouse);
        let ch = c.storage.clickhouse.unwrap();
        assert_eq!(ch.url, "http://ch.internal:8123");
        assert_eq!(ch.database, "brand_team");
        assert_eq!(ch.user, "default");
        assert_eq!(ch.timeout, Duration::from_secs(5));
        assert_eq!(ch.batch_rows, 1_000_000);
    }

    #[test]
    fn clickhouse_config_errors_name_the_key() {
        let (line, key, msg) = err("[storage]\nbackend = \"clickhouse\"\n");
        assert_eq!((line, key.as_str()), (2, "storage.backend"));
        assert!(msg.contains("[storage.clickhouse]"), "{msg}");

        let (line, key, msg) = err("[storage.clickhouse]\nurl = \"http://u:secret@h:8123\"\n");
        assert_eq!((line, key.as_str()), (2, "storage.clickhouse.url"));
        assert!(msg.contains("TAGPULSE_CLICKHOUSE_PASSWORD"), "{msg}");

        let (line, key, msg) = err("[storage.clickhouse]\n\ndatabase = \"a-b; DROP\"\n");
        assert_eq!((line, key.as_str()), (3, "storage.clickhouse.database"));
        assert!(msg.contains("not a valid database name"), "{msg}");

        let (_, key, msg) = err("[storage.clickhouse]\npassword = \"x\"\n");
        assert_eq!(key, "storage.clickhouse.password");
        assert!(msg.contains("unknown field"), "{msg}");

        let (line, key, _) = err("[storage.clickhouse]\nbatch_rows = 0\n");
        assert_eq!((line, key.as_str()), (2, "storage.clickhouse.batch_rows"));
        let (_, _, msg) = err("[storage.clickhouse]\nurl = \"ftp://h:8443\"\n");
        assert!(msg.contains("is not an http:// or https:// URL"), "{msg}");
    }

    #[test]
    fn empty_file_gives_defaults_and_the_shipped_taxonomy() {
        let c = Config::from_toml("", "t.toml").unwrap();
        assert_eq!(c.storage.data_dir, PathBuf::from("data"));
        assert_eq!(c.report.out_dir, PathBuf::from("reports"));
        assert_eq!(c.report.top_n, 10);
        assert_eq!(c.transform.max_gap, Duration::from_secs(604_800));
        assert!(c.occupations.len() >= 15, "{}", c.occupations.len());
        let nursing = c.occupations.iter().find(|o| o.name == "Nursing").unwrap();
        for t in ["nurselife", "scrublife", "verpleegkundige", "pflegekraft"] {
            assert!(nursing.tags.iter().any(|x| x.as_str() == t), "{t}");
        }
        let all = c.tracked_tags();
        for t in [
            "lovemyjob",
            "internship",
            "stagiair",
            "azubi",
            "cheflife",
            "forgelife",
        ] {
            assert!(all.iter().any(|x| x.as_str() == t), "{t}");
        }
    }

    #[test]
    fn full_config_parses() {
        let c = Config::from_toml(
            r##"
[storage]
data_dir = "/var/lib/tagpulse"

[[sources]]
id = "sample"
kind = "file"
paths = ["examples/sample/*.tsv"]
format = "tsv"
platform = "tiktok"
metric = "views"
synthetic = true

[[occupations]]
name = "Nursing"
tags = ["#ZorgHelden"]

[[occupations]]
name = "Beekeepers"
tags = ["imker", "beekeeping"]

[[brands]]
name = "Acme Care"
tags = ["acmecare"]
occupations = ["Nursing"]

[transform]
max_gap = "36h"

[report]
out_dir = "out"
top_n = 5
week = "2026-W47"
"##,
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.transform.max_gap, Duration::from_secs(36 * 3600));
        assert_eq!(c.report.week, NaiveDate::from_ymd_opt(2026, 11, 16));
        let nursing = c.occupations.iter().find(|o| o.name == "Nursing").unwrap();
        assert!(nursing.tags.iter().any(|t| t.as_str() == "nurselife"));
        assert_eq!(nursing.tags.last().unwrap().as_str(), "zorghelden");
        assert!(c.occupations.iter().any(|o| o.name == "Beekeepers"));
        // The entry is handed whole to the ingest registry (which parses it; tested there).
        let f = &c.sources[0];
        assert_eq!(
            (f.index, f.id.as_str(), f.kind.as_str()),
            (0, "sample", "file")
        );
        assert_eq!(f.table["format"].as_str(), Some("tsv"));
        assert_eq!(f.table["synthetic"].as_bool(), Some(true));
        assert_eq!(c.brands[0].tags[0].as_str(), "acmecare");
    }

    #[test]
    fn unknown_key_names_path_and_line() {
        let (line, key, msg) = err("[storage]\ndata_dir = \"x\"\n\n[report]\noutdir = \"y\"\n");
        assert_eq!(line, 5);
        assert_eq!(key, "report.outdir");
        assert!(msg.contains("unknown field `outdir`"), "{msg}");
    }

    #[test]
    fn invalid_tag_in_taxonomy_names_path_and_line() {
        let (line, key, msg) = err("[[occupations]]\nname = \"X\"\ntags = [\"ok\", \"not ok\"]\n");
        assert_eq!(line, 3);
        assert_eq!(key, "occupations[0].tags[1]");
        assert!(msg.contains("\"not ok\""), "{msg}");
    }

    #[test]
    fn bad_values_are_errors() {
        let (line, key, msg) = err("[transform]\nmax_gap = \"seven days\"\n");
        assert_eq!((line, key.as_str()), (2, "transform.max_gap"));
        assert!(msg.contains("invalid duration"), "{msg}");

        let (line, key, _) = err("\n[report]\ntop_n = 0\n");
        assert_eq!((line, key.as_str()), (3, "report.top_n"));

        let (line, key, msg) = err("[report]\nweek = \"2026-47\"\n");
        assert_eq!((line, key.as_str()), (2, "report.week"));
        assert!(msg.contains("ISO week"), "{msg}");

        let (_, key, msg) = err("[storage]\nbackend = \"sqlite\"\n");
        assert_eq!(key, "storage.backend");
        assert!(msg.contains("sqlite"), "{msg}");

        let (line, key, msg) = err("x = [\n");
        assert_eq!(key, "(document)");
        assert!(line >= 1 && !msg.is_empty());
    }

    #[test]
    fn source_errors() {
        let (line, key, _) = err(
            "[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"x\"]\n\n[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"y\"]\n",
        );
        assert_eq!((line, key.as_str()), (7, "sources[1].id"));
        // A bad value inside a source's own keys is the ingest registry's to report
        // (`tagpulse_ingest::sources` tests); an entry without a kind is caught here.
        let (_, key, msg) = err("[[sources]]\nid = \"a\"\npaths = [\"x\"]\n");
        assert!(key.starts_with("sources[0]"), "{key}");
        assert!(msg.contains("kind"), "{msg}");
    }

    #[test]
    fn brand_with_unknown_occupation() {
        let (line, key, msg) = err(
            "[[brands]]\nname = \"A\"\ntags = [\"a\"]\noccupations = [\"Nursing\", \"Astronauts\"]\n",
        );
        assert_eq!((line, key.as_str()), (4, "brands[0].occupations[1]"));
        assert!(msg.contains("Astronauts"), "{msg}");
    }

    #[test]
    fn taxonomy_defaults_can_be_switched_off() {
        let c = Config::from_toml(
            "[taxonomy]\ndefaults = false\n[[occupations]]\nname = \"Only\"\ntags = [\"one\"]\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.occupations.len(), 1);
        assert_eq!(occupation_pairs(&c.occupations).len(), 1);
    }
}
