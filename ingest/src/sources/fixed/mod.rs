//! `kind = "fixed"`: a test-only source that yields one configured value per tag.
//!
//! It exists to prove the component shape: this folder and its line in
//! `sources::REGISTRY` are everything it took to add it (config struct, `Source` impl,
//! errors that point into the file).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tagpulse_config::{ConfigError, SourceEntry};

use super::BuildContext;
use crate::{Fetched, IngestError, ObservationBatch, Progress, Snapshot, Source, Tag};

/// `kind = "fixed"`: the same counter value for every tag, at one time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FixedSourceConfig {
    /// Unique id of the source.
    pub id: String,
    /// Always `"fixed"`.
    pub kind: String,
    /// The tags to report.
    pub tags: Vec<Tag>,
    /// The counter value reported for each tag.
    pub value: u64,
    /// When the value was observed (RFC 3339).
    pub observed_at: DateTime<Utc>,
}

/// Builds the source from its `[[sources]]` entry (registered in `sources::REGISTRY`).
pub(super) fn build(
    entry: &SourceEntry,
    ctx: BuildContext,
) -> Result<Box<dyn Source>, ConfigError> {
    let cfg: FixedSourceConfig = ctx.diag.parse_section(&entry.path(), &entry.table)?;
    Ok(Box::new(FixedSource(cfg)))
}

/// Yields `value` for each configured tag.
pub(super) struct FixedSource(FixedSourceConfig);

#[async_trait]
impl Source for FixedSource {
    fn id(&self) -> &str {
        &self.0.id
    }

    fn describe(&self) -> String {
        format!(
            "{} ({}): {} tags",
            self.0.id,
            self.0.kind,
            self.0.tags.len()
        )
    }

    fn tags(&self) -> Option<&[Tag]> {
        Some(&self.0.tags)
    }

    async fn fetch(&self, tags: &[Tag], _: &dyn Progress) -> Result<Fetched, IngestError> {
        let mut batch = ObservationBatch::new(&self.0.id);
        for tag in tags {
            batch.snapshots.push(Snapshot {
                platform: "tiktok".into(),
                tag: tag.clone(),
                metric: "views".into(),
                observed_at: self.0.observed_at,
                value: self.0.value,
            });
        }
        Ok(Fetched::complete(batch, tags.len()))
    }
}

#[cfg(test)]
mod tests {
    use tagpulse_config::{Config, ConfigError};

    use crate::sources::build_all;
    use crate::NoProgress;

    #[tokio::test]
    async fn registered_by_one_line_and_parsed_from_its_section() {
        let cfg = Config::from_toml(
            "[[sources]]\nid = \"f\"\nkind = \"fixed\"\ntags = [\"#Azubi\"]\nvalue = 7\nobserved_at = \"2026-11-16T00:00:00Z\"\n",
            "t.toml",
        )
        .unwrap();
        let sources = build_all(&cfg).unwrap();
        assert_eq!(sources[0].describe(), "f (fixed): 1 tags");
        let tags = sources[0].tags().unwrap().to_vec();
        let batch = sources[0].fetch(&tags, &NoProgress).await.unwrap().batch;
        assert_eq!(batch.snapshots.len(), 1);
        assert_eq!(batch.snapshots[0].tag.as_str(), "azubi");
        assert_eq!(batch.snapshots[0].value, 7);
    }

    #[test]
    fn a_bad_key_in_its_section_names_path_and_line() {
        let cfg = Config::from_toml(
            "[[sources]]\nid = \"f\"\nkind = \"fixed\"\ntags = [\"a\"]\nvalue = 7\nobserved_at = \"2026-11-16T00:00:00Z\"\ncolour = \"red\"\n",
            "t.toml",
        )
        .unwrap();
        let Err(ConfigError::Invalid {
            line, key, message, ..
        }) = build_all(&cfg)
        else {
            panic!("an unknown key must be an error");
        };
        assert_eq!((line, key.as_str()), (7, "sources[0].colour"));
        assert!(message.contains("unknown field `colour`"), "{message}");
    }
}
