//! Helpers for source tests: a source built from a TOML entry, as the config loads it,
//! pointed at a local wiremock server.

use chrono::{Duration, NaiveDate, Utc};
use tagpulse_config::Config;

use crate::sources::build_all;
use crate::{FailureKind, Fetched, NoProgress, Source, Tag};

/// The one source of `entry` (a `[[sources]]` table's body), with `data_dir`.
pub(super) fn source(entry: &str, data_dir: &std::path::Path) -> Box<dyn Source> {
    let text = format!(
        "[storage]\ndata_dir = {:?}\n\n[[sources]]\n{entry}\n",
        data_dir.display().to_string()
    );
    let cfg = Config::from_toml(&text, "t.toml").unwrap();
    build_all(&cfg).unwrap().remove(0)
}

/// Fetches `tags` (by name).
pub(super) async fn fetch(source: &dyn Source, tags: &[&str]) -> Fetched {
    let tags: Vec<Tag> = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
    source.fetch(&tags, &NoProgress).await.unwrap()
}

/// The UTC day `n` days before today.
pub(super) fn days_ago(n: i64) -> NaiveDate {
    Utc::now().date_naive() - Duration::days(n)
}

/// UNIX seconds of a day's midnight UTC.
pub(super) fn midnight(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp()
}

/// Files in the source's quarantine folder.
pub(super) fn quarantined(data_dir: &std::path::Path, source: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(data_dir.join("quarantine").join(source))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// (tag, kind) of every failure, in tag order.
pub(super) fn failure_kinds(got: &Fetched) -> Vec<(&str, FailureKind)> {
    got.failures
        .iter()
        .map(|f| (f.tag.as_str(), f.kind))
        .collect()
}
