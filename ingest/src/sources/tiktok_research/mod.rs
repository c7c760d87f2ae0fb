//! `kind = "tiktok_research"`: TikTok's official Research API, for approved non-profit
//! researchers. Daily counts, platform `tiktok`, per tag and creation day (UTC): `videos`
//! (videos created that day carrying the tag) and `video_views` (the sum of those videos'
//! view counts when queried, so a day's value keeps growing after the day).
//!
//! One search per tag and window (at most 30 days), paged by `cursor` and `search_id`; a
//! spurious invalid `search_id` restarts the search once. The token ([`token`]) is kept
//! between runs and renewed before it expires. When the daily quota runs out, the tags
//! not yet asked fail as `quota` without a request and the next run asks again.

mod search;
pub mod token;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tagpulse_config::{key, ConfigError, SourceEntry};
use tokio::sync::RwLock;

use super::BuildContext;
use crate::http::{http_source, private_file, Defaults, HttpClient, HttpFailure, RateLimit};
use crate::{Backfill, DailyCount, FailureKind, Fetched, IngestError, Progress, Source, Tag};
use search::classify;
use token::{Client, Token};

/// The API's longest query window.
pub const MAX_WINDOW_DAYS: u32 = 30;

/// `kind = "tiktok_research"`: daily video counts and views from the Research API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TikTokResearchConfig {
    /// Unique id of the source.
    pub id: String,
    /// Always `"tiktok_research"`.
    pub kind: String,
    /// The env var holding the client key (default `TAGPULSE_TIKTOK_CLIENT_KEY`).
    #[serde(default = "default_key_env")]
    pub client_key_env: String,
    /// The env var holding the client secret (default `TAGPULSE_TIKTOK_CLIENT_SECRET`).
    #[serde(default = "default_secret_env")]
    pub client_secret_env: String,
    /// Complete UTC days asked for by each run, ending yesterday (default 7, at most 30).
    #[serde(default = "default_days")]
    pub days: u32,
    /// Videos per page, 1 to 100 (default 100).
    #[serde(default = "default_max_count")]
    pub max_count: u32,
    /// Only these tags (default: every tag of the taxonomy and the brands).
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

fn default_key_env() -> String {
    "TAGPULSE_TIKTOK_CLIENT_KEY".into()
}
fn default_secret_env() -> String {
    "TAGPULSE_TIKTOK_CLIENT_SECRET".into()
}
fn default_days() -> u32 {
    7
}
fn default_max_count() -> u32 {
    100
}

/// Builds the source from its `[[sources]]` entry (registered in `sources::REGISTRY`).
pub fn build(entry: &SourceEntry, ctx: BuildContext) -> Result<Box<dyn Source>, ConfigError> {
    let defaults = Defaults {
        base_url: "https://open.tiktokapis.com",
        // About 1,000 requests a day are allowed: one a second never hits a burst limit.
        rate_limit: Some(RateLimit {
            requests: 1,
            per: Duration::from_secs(1),
        }),
        max_concurrency: 1,
        pause: Duration::ZERO,
    };
    let (cfg, mut http) = http_source::<TikTokResearchConfig>(entry, ctx, defaults)?;
    let at = |name: &str| {
        let mut p = entry.path();
        p.push(key(name));
        p
    };
    if !(1..=MAX_WINDOW_DAYS).contains(&cfg.days) {
        return Err(ctx.diag.invalid_at(&at("days"), "give 1 to 30 days".into()));
    }
    if !(1..=100).contains(&cfg.max_count) {
        return Err(ctx
            .diag
            .invalid_at(&at("max_count"), "give 1 to 100 videos per page".into()));
    }
    http.classify_errors(classify);
    let token_file = private_file::session_file(ctx.data_dir, &cfg.id)
        .map_err(|e| ctx.diag.invalid_at(&at("id"), e.to_string()))?;
    Ok(Box::new(TikTokResearchSource {
        cfg,
        http,
        token_file,
    }))
}

/// Daily video counts and views per tag from the Research API.
pub struct TikTokResearchSource {
    cfg: TikTokResearchConfig,
    http: HttpClient,
    token_file: std::path::PathBuf,
}

/// The token shared by the tags of one fetch.
struct Session {
    token: RwLock<Token>,
    client: Client,
    /// Set once the daily quota is used up: later tags are not asked.
    quota_hit: AtomicBool,
}

impl TikTokResearchSource {
    fn setup(&self, message: String) -> IngestError {
        IngestError::Setup {
            source_id: self.cfg.id.clone(),
            message,
        }
    }

    /// The key and secret, and a token: the saved one while fresh, else a new one.
    async fn open(&self) -> Result<Session, IngestError> {
        self.http.ready()?;
        let env = |name: &str, key: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| self.setup(format!("set the client {key} in {name} (client_{key}_env); see the README's TikTok Research API section")))
        };
        let client = Client {
            key: env(&self.cfg.client_key_env, "key")?,
            secret: env(&self.cfg.client_secret_env, "secret")?,
        };
        let token = match private_file::load::<Token>(&self.token_file) {
            Some(t) if t.fresh(Utc::now()) => t,
            _ => self.issue(&client).await.map_err(|f| {
                self.setup(format!(
                    "no access token: {}: {} (check {} and {})",
                    f.kind, f.detail, self.cfg.client_key_env, self.cfg.client_secret_env
                ))
            })?,
        };
        Ok(Session {
            token: RwLock::new(token),
            client,
            quota_hit: AtomicBool::new(false),
        })
    }

    async fn issue(&self, client: &Client) -> Result<Token, HttpFailure> {
        let t = token::issue(&self.http, client).await?;
        private_file::save(&self.token_file, &t);
        Ok(t)
    }

    /// The token to send: the current one, renewed first when it is about to expire or
    /// when `invalid` (the token the API refused) is still the current one.
    async fn token(&self, s: &Session, invalid: Option<&str>) -> Result<String, HttpFailure> {
        {
            let t = s.token.read().await;
            if t.fresh(Utc::now()) && invalid != Some(t.access_token.as_str()) {
                return Ok(t.access_token.clone());
            }
        }
        let mut t = s.token.write().await;
        // Another tag may have renewed it meanwhile.
        if !t.fresh(Utc::now()) || invalid == Some(t.access_token.as_str()) {
            *t = self.issue(&s.client).await?;
        }
        Ok(t.access_token.clone())
    }
}

#[async_trait]
impl Source for TikTokResearchSource {
    fn id(&self) -> &str {
        &self.cfg.id
    }

    fn describe(&self) -> String {
        format!(
            "{} (tiktok_research): {} (key from {}, secret from {}), last {} days [tiktok/videos, video_views daily]",
            self.cfg.id,
            self.http.base_url(),
            self.cfg.client_key_env,
            self.cfg.client_secret_env,
            self.cfg.days
        )
    }

    fn tags(&self) -> Option<&[Tag]> {
        self.cfg.tags.as_deref()
    }

    fn backfill(&self) -> Option<&dyn Backfill> {
        Some(self)
    }

    fn preflight(&self) -> Result<(), IngestError> {
        self.http.ready()?;
        crate::env_set(
            &self.cfg.id,
            &self.cfg.client_key_env,
            "the client key (client_key_env)",
        )?;
        crate::env_set(
            &self.cfg.id,
            &self.cfg.client_secret_env,
            "the client secret (client_secret_env)",
        )
    }

    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError> {
        let yesterday = Utc::now().date_naive() - chrono::Days::new(1);
        let from = yesterday - chrono::Days::new(u64::from(self.cfg.days) - 1);
        self.fetch_range(tags, from, yesterday, progress).await
    }
}

#[async_trait]
impl Backfill for TikTokResearchSource {
    fn max_window_days(&self) -> u32 {
        MAX_WINDOW_DAYS
    }

    /// Counts `tags` over `from..=to`; after the quota runs out the rest fail as `quota`.
    async fn fetch_range(
        &self,
        tags: &[Tag],
        from: NaiveDate,
        to: NaiveDate,
        progress: &dyn Progress,
    ) -> Result<Fetched, IngestError> {
        let s = &self.open().await?;
        let results = self
            .http
            .each_tag(tags, progress, |tag| async move {
                if s.quota_hit.load(Ordering::SeqCst) {
                    return Err(HttpFailure::fatal(
                        FailureKind::Quota,
                        "the daily quota is used up: not asked (asked again next run)",
                    ));
                }
                let counted = self.count_window(s, &tag, (from, to)).await;
                if matches!(&counted, Err(f) if f.kind == FailureKind::Quota) {
                    s.quota_hit.store(true, Ordering::SeqCst);
                }
                counted
            })
            .await?;
        Ok(Fetched::from_results(
            &self.cfg.id,
            results,
            |tag, days, batch| {
                for (day, (videos, views)) in days {
                    for (metric, value) in [("videos", videos), ("video_views", views)] {
                        batch.daily.push(DailyCount {
                            platform: "tiktok".into(),
                            tag: tag.clone(),
                            metric: metric.into(),
                            day,
                            value,
                        });
                    }
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests;
