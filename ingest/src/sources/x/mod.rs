//! `kind = "x"`: daily counts (platform `x`, metric `posts`) from
//! `/2/tweets/counts/recent` with `granularity=day`, app-only bearer token.
//!
//! The answer covers the last 7 days in UTC-day buckets; the first and last buckets are
//! partial days and only complete ones (00:00 to 24:00 UTC) are stored. X sends no
//! `Retry-After`: a 429 waits until `x-rate-limit-reset` (UNIX seconds).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use tagpulse_config::{ConfigError, SourceEntry};

use super::BuildContext;
use crate::http::{http_source, Defaults, HttpClient, RateLimit};
use crate::{DailyCount, Fetched, IngestError, Progress, Source, Tag};

/// `kind = "x"`: post counts per day from the X API v2.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XConfig {
    /// Unique id of the source.
    pub id: String,
    /// Always `"x"`.
    pub kind: String,
    /// The environment variable holding the app's bearer token (default `TAGPULSE_X_TOKEN`).
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// Only these tags (default: every tag of the taxonomy and the brands).
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

fn default_token_env() -> String {
    "TAGPULSE_X_TOKEN".into()
}

/// Builds the source from its `[[sources]]` entry (registered in `sources::REGISTRY`).
pub fn build(entry: &SourceEntry, ctx: BuildContext) -> Result<Box<dyn Source>, ConfigError> {
    let defaults = Defaults {
        base_url: "https://api.x.com",
        // The documented 300 requests per 15 minutes per app.
        rate_limit: Some(RateLimit {
            requests: 300,
            per: Duration::from_secs(900),
        }),
        max_concurrency: 4,
        pause: Duration::ZERO,
    };
    let (cfg, http) = http_source::<XConfig>(entry, ctx, defaults)?;
    Ok(Box::new(XSource { cfg, http }))
}

/// Reads daily post counts from the X API.
pub struct XSource {
    cfg: XConfig,
    http: HttpClient,
}

#[derive(Deserialize)]
struct CountsAnswer {
    #[serde(default)]
    data: Vec<Bucket>,
}

#[derive(Deserialize)]
struct Bucket {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tweet_count: u64,
}

/// The complete UTC days of a counts answer.
fn complete_days(body: &[u8]) -> Result<Vec<(NaiveDate, u64)>, String> {
    let answer: CountsAnswer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(answer
        .data
        .iter()
        .filter(|b| {
            b.start.timestamp() % 86_400 == 0 && b.end - b.start == chrono::Duration::days(1)
        })
        .map(|b| (b.start.date_naive(), b.tweet_count))
        .collect())
}

#[async_trait]
impl Source for XSource {
    fn id(&self) -> &str {
        &self.cfg.id
    }

    fn describe(&self) -> String {
        format!(
            "{} (x): {} [x/posts], token from {}",
            self.cfg.id,
            self.http.base_url(),
            self.cfg.token_env
        )
    }

    fn tags(&self) -> Option<&[Tag]> {
        self.cfg.tags.as_deref()
    }

    fn preflight(&self) -> Result<(), IngestError> {
        self.http.ready()?;
        crate::env_set(
            &self.cfg.id,
            &self.cfg.token_env,
            "the bearer token (token_env)",
        )
    }

    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError> {
        let token = std::env::var(&self.cfg.token_env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| IngestError::Setup {
                source_id: self.cfg.id.clone(),
                message: format!(
                    "set the bearer token in {} (token_env); see the README's X section",
                    self.cfg.token_env
                ),
            })?;
        let url = self.http.url("/2/tweets/counts/recent");
        let results = self
            .http
            .each_tag(tags, progress, |tag| {
                let (url, token) = (&url, &token);
                async move {
                    let query = format!("#{}", tag.as_str());
                    let answer = self
                        .http
                        .send(tag.as_str(), |c| {
                            c.get(url)
                                .query(&[("query", query.as_str()), ("granularity", "day")])
                                .bearer_auth(token)
                        })
                        .await?;
                    complete_days(&answer)
                        .map_err(|e| self.http.unreadable(tag.as_str(), "counts", &answer, &e))
                }
            })
            .await?;
        let fetched = Fetched::from_results(&self.cfg.id, results, |tag, days, batch| {
            batch
                .daily
                .extend(days.into_iter().map(|(day, value)| DailyCount {
                    platform: "x".into(),
                    tag: tag.clone(),
                    metric: "posts".into(),
                    day,
                    value,
                }));
        });
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests;
