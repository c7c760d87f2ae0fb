//! One `[[sources]]` entry as the config file holds it: the id, the kind, the schedule
//! (the scheduler's key, checked here) and the rest of its table, which the ingest
//! registry hands to the component of that kind.

use serde::{Deserialize, Deserializer};

use crate::diagnostics::{invalid_at, key, KeySegment};
use crate::schedule::{default_source_schedule, Cron};
use crate::ConfigError;

/// One `[[sources]]` entry as written: its id and kind, and its whole table, which the
/// ingest registry parses with the config struct of that kind's component.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEntry {
    /// Position in the file's `[[sources]]` array (for `sources[i]` in errors).
    pub index: usize,
    /// The source's id (stored with every observation it yields).
    pub id: String,
    /// Which component reads it, e.g. `file`.
    pub kind: String,
    /// When `tagpulse schedule` runs it (`schedule = "…"`, default every six hours).
    pub schedule: Cron,
    /// `tagpulse run` does not fetch the source again when a run stored it less than
    /// this long ago (`min_interval = "2h"`): an `ingest` shortly before did the work.
    pub min_interval: Option<std::time::Duration>,
    /// Every key of the entry, `id` and `kind` included (`schedule` and `min_interval`
    /// taken out).
    pub table: toml::Table,
    /// `schedule` as written, checked by [`SourceEntry::place`] so errors name its line.
    schedule_text: Option<toml::Value>,
    /// `min_interval` as written, checked by [`SourceEntry::place`].
    min_interval_text: Option<toml::Value>,
}

impl SourceEntry {
    /// The key path of this entry, `sources[i]`, for errors.
    pub fn path(&self) -> Vec<KeySegment> {
        vec![key("sources"), KeySegment::Idx(self.index)]
    }

    /// Records the entry's position `index` and checks its `schedule`, naming the line of
    /// `file` (whose text is `text`) when it is not a valid cron expression.
    pub(crate) fn place(
        &mut self,
        index: usize,
        text: &str,
        file: &str,
    ) -> Result<(), ConfigError> {
        self.index = index;
        if let Some(v) = self.schedule_text.take() {
            let parsed = match v.as_str() {
                Some(expr) => Cron::parse(expr),
                None => Err(tagpulse_model::text::Invalid(
                    "give the schedule as a string, e.g. \"0 0 */6 * * *\"".into(),
                )),
            };
            let mut path = self.path();
            path.push(key("schedule"));
            self.schedule = parsed.map_err(|m| invalid_at(text, file, &path, m.to_string()))?;
        }
        if let Some(v) = self.min_interval_text.take() {
            let parsed = match v.as_str() {
                Some(d) => humantime::parse_duration(d).map_err(|e| {
                    format!("{d:?} is not a duration such as \"5h\" or \"30m\" ({e})")
                }),
                None => Err("give the interval as a string, e.g. \"2h\"".into()),
            };
            let mut path = self.path();
            path.push(key("min_interval"));
            self.min_interval =
                Some(parsed.map_err(|m| invalid_at(text, file, &path, m.to_string()))?);
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for SourceEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        // The scheduler's key, not the component's: taken out before the component sees it.
        let schedule_text = table.remove("schedule");
        let min_interval_text = table.remove("min_interval");
        let text = |k: &str| match table.get(k) {
            Some(toml::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(D::Error::custom(format!("`{k}` must be a string"))),
            None => Err(D::Error::missing_field(match k {
                "id" => "id",
                _ => "kind",
            })),
        };
        Ok(SourceEntry {
            index: 0,
            id: text("id")?,
            kind: text("kind")?,
            schedule: default_source_schedule(),
            min_interval: None,
            table,
            schedule_text,
            min_interval_text,
        })
    }
}
