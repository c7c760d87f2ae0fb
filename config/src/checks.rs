//! The rules a config must keep beyond its types, checked after parsing: unique ids and
//! names, the ClickHouse section, bounds (`max_gap`, `top_n`), the report folder apart
//! from the data, brands naming known occupations. Each error names its key and line.

use std::collections::BTreeSet;
use std::time::Duration;
use tagpulse_model::text::Invalid;

use crate::diagnostics::invalid_at;
use crate::{clip, key, Backend, Config, ConfigError, KeySegment};

/// An id that names files under `data_dir` (quarantine, tokens, backfill progress, alert
/// state): 1-64 ASCII letters, digits, `-` and `_`, so no id can step out of its folder
/// (`../x`) or hide (`.x`).
pub(crate) fn path_id(what: &str, id: &str) -> Result<(), Invalid> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} id {:?}: use 1-64 letters, digits, - and _ (it names files under data_dir)",
            clip(id, 100)
        )
        .into())
    }
}

/// Why `out` cannot take reports beside the lake at `data_dir`: a file, or either folder
/// inside the other (`/` included). None when it can.
pub fn out_dir_problem(out: &std::path::Path, data_dir: &std::path::Path) -> Option<String> {
    if out.is_file() {
        return Some(format!("{} is a file, not a directory", out.display()));
    }
    let (Ok(o), Ok(d)) = (std::path::absolute(out), std::path::absolute(data_dir)) else {
        return None;
    };
    (o.starts_with(&d) || d.starts_with(&o)).then(|| {
        format!(
            "{} and storage.data_dir {} overlap: the report would write into the data (or the reverse); give them separate folders",
            out.display(),
            data_dir.display()
        )
    })
}

impl Config {
    /// Ids and names unique, the ClickHouse section present, bounds kept.
    pub(crate) fn validate(&self, text: &str, file: &str) -> Result<(), ConfigError> {
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
            let at = |message| {
                invalid_at(
                    text,
                    file,
                    &[key("sources"), KeySegment::Idx(i), key("id")],
                    message,
                )
            };
            path_id("source", &s.id).map_err(|e| at(e.to_string()))?;
            if !ids.insert(s.id.clone()) {
                return Err(at(format!("source id {:?} is used twice", s.id)));
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
        match out_dir_problem(&self.report.out_dir, &self.storage.data_dir) {
            Some(why) => Err(at(why)),
            None => Ok(()),
        }
    }

    /// Brand names unique, each naming occupations the taxonomy has.
    pub(crate) fn check_brands(&self, text: &str, file: &str) -> Result<(), ConfigError> {
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
}
