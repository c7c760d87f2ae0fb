//! `kind = "mastodon"`: daily counts (platform `mastodon`, metrics `uses` and `accounts`)
//! from one instance's `/api/v1/tags/<tag>` history.
//!
//! Counts are per instance: several instances are several sources, never added. The
//! history holds about 7 days (newest first, every value a string, `day` the UNIX time of
//! midnight UTC); only complete UTC days are stored, zeros included (a quiet day is data).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use tagpulse_config::{de_platform, ConfigError, SourceEntry};

use super::BuildContext;
use crate::http::{http_source, Defaults, HttpClient, RateLimit};
use crate::{DailyCount, Fetched, IngestError, Progress, Source, Tag};

/// `kind = "mastodon"`: one instance's public tag history.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// Unique id of the source; name the instance (e.g. `mastodon-social`).
    pub id: String,
    /// Always `"mastodon"`.
    pub kind: String,
    /// The platform its counts are stored under (default `mastodon`); with several
    /// instances, one per instance, e.g. `mastodon_social`, `mastodon_nl`.
    #[serde(default = "default_platform", deserialize_with = "de_platform")]
    pub platform: String,
    /// Only these tags (default: every tag of the taxonomy and the brands).
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

fn default_platform() -> String {
    "mastodon".into()
}

/// Builds the source from its `[[sources]]` entry (registered in `sources::REGISTRY`).
pub fn build(entry: &SourceEntry, ctx: BuildContext) -> Result<Box<dyn Source>, ConfigError> {
    let defaults = Defaults {
        base_url: "https://mastodon.social",
        // The documented 300 requests per 5 minutes per IP.
        rate_limit: Some(RateLimit {
            requests: 300,
            per: Duration::from_secs(300),
        }),
        max_concurrency: 4,
        pause: Duration::ZERO,
    };
    let (cfg, http) = http_source::<MastodonConfig>(entry, ctx, defaults)?;
    Ok(Box::new(MastodonSource { cfg, http }))
}

/// Reads tag histories from one Mastodon instance.
pub struct MastodonSource {
    cfg: MastodonConfig,
    http: HttpClient,
}

#[derive(Deserialize)]
struct TagAnswer {
    history: Vec<HistoryDay>,
}

#[derive(Deserialize)]
struct HistoryDay {
    day: String,
    uses: String,
    accounts: String,
}

/// The complete days of a history answer as (day, uses, accounts).
fn parse_history(body: &[u8], today: NaiveDate) -> Result<Vec<(NaiveDate, u64, u64)>, String> {
    let answer: TagAnswer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut days = Vec::new();
    for h in answer.history {
        let num = |field: &str, v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("history {field} {v:?} is not a count"))
        };
        let secs = num("day", &h.day)? as i64;
        let day = DateTime::<Utc>::from_timestamp(secs, 0)
            .filter(|t| t.timestamp() % 86_400 == 0)
            .ok_or_else(|| format!("history day {:?} is not a UTC midnight", h.day))?
            .date_naive();
        // Today is still counting: storing it would store a partial day.
        if day < today {
            days.push((day, num("uses", &h.uses)?, num("accounts", &h.accounts)?));
        }
    }
    Ok(days)
}

#[async_trait]
impl Source for MastodonSource {
    fn id(&self) -> &str {
        &self.cfg.id
    }

    fn describe(&self) -> String {
        format!(
            "{} (mastodon): {} [{}/uses, accounts]",
            self.cfg.id,
            self.http.base_url(),
            self.cfg.platform
        )
    }

    fn tags(&self) -> Option<&[Tag]> {
        self.cfg.tags.as_deref()
    }

    fn exclusive_platform(&self) -> Option<&str> {
        Some(&self.cfg.platform)
    }

    fn preflight(&self) -> Result<(), IngestError> {
        self.http.ready()
    }

    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError> {
        let today = Utc::now().date_naive();
        let results = self
            .http
            .each_tag(tags, progress, |tag| async move {
                let url = self.http.url(&format!("/api/v1/tags/{}", tag.as_str()));
                let answer = self.http.send(tag.as_str(), |c| c.get(&url)).await?;
                parse_history(&answer, today)
                    .map_err(|e| self.http.unreadable(tag.as_str(), "tag", &answer, &e))
            })
            .await?;
        let fetched = Fetched::from_results(&self.cfg.id, results, |tag, days, batch| {
            for (day, uses, accounts) in days {
                for (metric, value) in [("uses", uses), ("accounts", accounts)] {
                    batch.daily.push(DailyCount {
                        platform: self.cfg.platform.clone(),
                        tag: tag.clone(),
                        metric: metric.into(),
                        day,
                        value,
                    });
                }
            }
        });
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests;
