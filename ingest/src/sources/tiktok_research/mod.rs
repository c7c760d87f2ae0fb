//! `kind = "tiktok_research"`: TikTok's official Research API, for approved non-profit
//! researchers. Daily counts, platform `tiktok`, per tag and creation day (UTC): `videos`
//! (videos created that day carrying the tag) and `video_views` (the sum of those videos'
//! view counts when queried, so a day's value keeps growing after the day).
//!
//! One search per tag and window (at most 30 days), paged by `cursor` and `search_id`; a
//! spurious invalid `search_id` restarts the search once. The token ([`token`]) is kept
//! between runs and renewed before it expires. When the daily quota runs out, the tags
//! not yet asked fail as `quota` without a request and the next run asks again.

pub mod token;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tagpulse_config::{key, ConfigError, SourceEntry};
use tokio::sync::RwLock;

use super::BuildContext;
use crate::http::{http_source, private_file, Defaults, HttpClient, HttpFailure, RateLimit};
use crate::{Backfill, DailyCount, FailureKind, Fetched, IngestError, Progress, Source, Tag};
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

/// The registry's constructor.
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
    let token_file = private_file::session_file(ctx.data_dir, &cfg.id);
    Ok(Box::new(TikTokResearchSource {
        cfg,
        http,
        token_file,
    }))
}

/// The Research API's error codes, read from an error body.
fn classify(f: &mut HttpFailure, body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let code = v
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("");
    let status = f.detail.split(':').next().unwrap_or("HTTP").to_string();
    match code {
        "daily_quota_limit_exceeded" => {
            f.kind = FailureKind::Quota;
            f.retryable = false;
        }
        "rate_limit_exceeded" => f.kind = FailureKind::RateLimited,
        "access_token_invalid" => f.kind = FailureKind::Auth,
        "" => return,
        _ => {}
    }
    f.detail = format!("{status}: {code}: {message}");
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

/// One page of a video query.
#[derive(Deserialize)]
struct QueryPage {
    #[serde(default)]
    videos: Vec<Value>,
    #[serde(default)]
    cursor: Option<i64>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    search_id: Option<String>,
}

/// Per creation day: videos and the sum of their views.
type DayCounts = BTreeMap<NaiveDate, (u64, u64)>;

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
                .ok_or_else(|| self.setup(format!("set the client {key} in {name} ({key}_env); see the README's TikTok Research API section")))
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

    /// One page of `tag`'s videos created `from..=to`.
    async fn page(
        &self,
        s: &Session,
        tag: &Tag,
        (from, to): (NaiveDate, NaiveDate),
        cursor: i64,
        search_id: Option<&str>,
    ) -> Result<QueryPage, HttpFailure> {
        let url = self.http.url("/v2/research/video/query/");
        let mut body = json!({
            "query": {"and": [{"operation": "IN", "field_name": "hashtag_name",
                               "field_values": [tag.as_str()]}]},
            "start_date": from.format("%Y%m%d").to_string(),
            "end_date": to.format("%Y%m%d").to_string(),
            "max_count": self.cfg.max_count,
            "cursor": cursor,
        });
        if let Some(id) = search_id {
            body["search_id"] = json!(id);
        }
        let send = |token: String| {
            let (url, body) = (&url, &body);
            async move {
                self.http
                    .send(tag.as_str(), |c| {
                        c.post(url)
                            .query(&[("fields", "id,create_time,view_count,hashtag_names")])
                            .bearer_auth(&token)
                            .json(body)
                    })
                    .await
            }
        };
        let token = self.token(s, None).await?;
        let answer = match send(token.clone()).await {
            Err(f) if f.kind == FailureKind::Auth && f.detail.contains("access_token_invalid") => {
                tracing::info!(source = %self.cfg.id, "access token refused: renewing it once");
                send(self.token(s, Some(&token)).await?).await?
            }
            other => other?,
        };
        let v: Value = serde_json::from_slice(&answer).map_err(|e| {
            self.http
                .unreadable(tag.as_str(), "query", &answer, &format!("JSON: {e}"))
        })?;
        if let Some(code) = v.pointer("/error/code").and_then(Value::as_str) {
            if code != "ok" {
                let mut f = HttpFailure::fatal(FailureKind::HttpStatus, "HTTP 200");
                classify(&mut f, &answer);
                return Err(f);
            }
        }
        serde_json::from_value(v.get("data").cloned().unwrap_or(Value::Null)).map_err(|e| {
            self.http
                .unreadable(tag.as_str(), "query", &answer, &format!("data: {e}"))
        })
    }

    /// Every video of `tag` created `from..=to`, counted per creation day (every day of
    /// the window present, zero when no video was made).
    async fn count_window(
        &self,
        s: &Session,
        tag: &Tag,
        window: (NaiveDate, NaiveDate),
    ) -> Result<DayCounts, HttpFailure> {
        let mut restarted = false;
        'search: loop {
            let mut days: DayCounts = window
                .0
                .iter_days()
                .take_while(|d| *d <= window.1)
                .map(|d| (d, (0, 0)))
                .collect();
            let mut seen = HashSet::new();
            let (mut cursor, mut search_id) = (0i64, None::<String>);
            loop {
                let page = match self
                    .page(s, tag, window, cursor, search_id.as_deref())
                    .await
                {
                    Ok(p) => p,
                    // The API sometimes forgets a search it just started: start over once.
                    Err(f)
                        if search_id.is_some()
                            && !restarted
                            && f.detail.contains("invalid_params") =>
                    {
                        tracing::info!(source = %self.cfg.id, tag = tag.as_str(), "search_id refused ({}): restarting the search", f.detail);
                        restarted = true;
                        continue 'search;
                    }
                    Err(f) => return Err(f),
                };
                for video in &page.videos {
                    add_video(&mut days, &mut seen, video)
                        .map_err(|e| HttpFailure::fatal(FailureKind::Parse, e))?;
                }
                let next = page.cursor.unwrap_or(cursor);
                if !page.has_more {
                    return Ok(days);
                }
                if next <= cursor {
                    return Err(HttpFailure::fatal(
                        FailureKind::Parse,
                        format!("has_more with a cursor that does not advance ({next})"),
                    ));
                }
                cursor = next;
                search_id = page.search_id.or(search_id);
            }
        }
    }

    /// Counts `tags` over `from..=to`; after the quota runs out the rest fail as `quota`.
    async fn window(
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

/// Adds one video to its creation day (once per id; outside the window it is ignored).
fn add_video(
    days: &mut DayCounts,
    seen: &mut HashSet<String>,
    video: &Value,
) -> Result<(), String> {
    let id = video.get("id").map(|v| v.to_string()).unwrap_or_default();
    if !id.is_empty() && !seen.insert(id.clone()) {
        return Ok(());
    }
    let created = video
        .get("create_time")
        .and_then(Value::as_i64)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .ok_or_else(|| format!("video {id}: no readable create_time"))?;
    let views = video.get("view_count").and_then(Value::as_u64).unwrap_or(0);
    if let Some(day) = days.get_mut(&created.date_naive()) {
        day.0 += 1;
        day.1 += views;
    }
    Ok(())
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

    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError> {
        let yesterday = Utc::now().date_naive() - chrono::Days::new(1);
        let from = yesterday - chrono::Days::new(u64::from(self.cfg.days) - 1);
        self.window(tags, from, yesterday, progress).await
    }
}

#[async_trait]
impl Backfill for TikTokResearchSource {
    fn max_window_days(&self) -> u32 {
        MAX_WINDOW_DAYS
    }

    async fn fetch_range(
        &self,
        tags: &[Tag],
        from: NaiveDate,
        to: NaiveDate,
        progress: &dyn Progress,
    ) -> Result<Fetched, IngestError> {
        self.window(tags, from, to, progress).await
    }
}

#[cfg(test)]
mod tests;
