//! `kind = "bluesky"`: daily counts (platform `bluesky`, metric `posts`): posts carrying
//! the tag per complete UTC day over the last `days`, counted by paging
//! `app.bsky.feed.searchPosts` with `tag`, `since` and `until`.
//!
//! Search needs a login (an app password); the session is kept and refreshed
//! ([`session`]). `hitsTotal` may be rounded or capped, so posts are counted page by page;
//! a day that reaches `max_pages` is unknown (reported `partial`), never stored as the cap.

pub mod session;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tagpulse_config::{key, ConfigError, SourceEntry};
use tokio::sync::RwLock;

use super::BuildContext;
use crate::http::{http_source, private_file, Defaults, HttpClient, HttpFailure, RateLimit};
use crate::{DailyCount, FailureKind, Fetched, IngestError, Progress, Source, Tag, TagFailure};
use session::Session;

/// `kind = "bluesky"`: post counts per day from Bluesky search.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// Unique id of the source.
    pub id: String,
    /// Always `"bluesky"`.
    pub kind: String,
    /// The account's handle, e.g. `tagpulse.bsky.social`.
    pub handle: String,
    /// The environment variable holding an app password (default `TAGPULSE_BLUESKY_PASSWORD`).
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// Complete UTC days counted, ending yesterday (default 7, at most 30).
    #[serde(default = "default_days")]
    pub days: u32,
    /// Pages of 100 posts at most per day; a day that needs more is `partial` (default 50).
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Only these tags (default: every tag of the taxonomy and the brands).
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

fn default_password_env() -> String {
    "TAGPULSE_BLUESKY_PASSWORD".into()
}
fn default_days() -> u32 {
    7
}
fn default_max_pages() -> u32 {
    50
}

/// Builds the source from its `[[sources]]` entry (registered in `sources::REGISTRY`).
pub fn build(entry: &SourceEntry, ctx: BuildContext) -> Result<Box<dyn Source>, ConfigError> {
    let defaults = Defaults {
        base_url: "https://bsky.social",
        // The published 3,000 requests per 5 minutes per IP.
        rate_limit: Some(RateLimit {
            requests: 3000,
            per: Duration::from_secs(300),
        }),
        max_concurrency: 4,
        pause: Duration::ZERO,
    };
    let (cfg, http) = http_source::<BlueskyConfig>(entry, ctx, defaults)?;
    let at = |name: &str| {
        let mut p = entry.path();
        p.push(key(name));
        p
    };
    if !(1..=30).contains(&cfg.days) {
        return Err(ctx.diag.invalid_at(&at("days"), "give 1 to 30 days".into()));
    }
    if cfg.max_pages == 0 {
        return Err(ctx
            .diag
            .invalid_at(&at("max_pages"), "must be at least 1".into()));
    }
    let session_file = private_file::session_file(ctx.data_dir, &cfg.id)
        .map_err(|e| ctx.diag.invalid_at(&at("id"), e.to_string()))?;
    Ok(Box::new(BlueskySource {
        cfg,
        http,
        session_file,
    }))
}

/// Counts posts per tag and day on Bluesky.
pub struct BlueskySource {
    cfg: BlueskyConfig,
    http: HttpClient,
    session_file: PathBuf,
}

#[derive(Deserialize)]
struct SearchPage {
    posts: Vec<serde_json::Value>,
    #[serde(default)]
    cursor: Option<String>,
}

/// The login shared by the tags of one fetch, renewed once when it expires.
struct Login<'a> {
    session: RwLock<Session>,
    password: &'a str,
}

impl BlueskySource {
    /// The saved session, or a new login (saved for the next runs).
    async fn login(&self, password: &str) -> Result<Session, IngestError> {
        if let Some(s) = private_file::load(&self.session_file) {
            return Ok(s);
        }
        let s = session::create(&self.http, &self.cfg.handle, password)
            .await
            .map_err(|f| IngestError::Setup {
                source_id: self.cfg.id.clone(),
                message: format!(
                    "login as {} failed: {}: {} (check handle and {})",
                    self.cfg.handle, f.kind, f.detail, self.cfg.password_env
                ),
            })?;
        private_file::save(&self.session_file, &s);
        Ok(s)
    }

    /// A new session after `failed` expired: refreshed, or a fresh login when the refresh
    /// token is spent too. Another tag may have renewed it already.
    async fn renew(&self, login: &Login<'_>, failed: &str) -> Result<Session, HttpFailure> {
        let mut current = login.session.write().await;
        if current.access != failed {
            return Ok(current.clone());
        }
        let renewed = match session::refresh(&self.http, &current).await {
            Ok(s) => s,
            Err(f) => {
                tracing::info!(source = %self.cfg.id, "session refresh refused ({}): logging in again", f.detail);
                session::create(&self.http, &self.cfg.handle, login.password).await?
            }
        };
        private_file::save(&self.session_file, &renewed);
        *current = renewed.clone();
        Ok(renewed)
    }

    /// One page of the day's posts for `tag`.
    async fn page(
        &self,
        login: &Login<'_>,
        tag: &Tag,
        day: NaiveDate,
        cursor: Option<&str>,
    ) -> Result<SearchPage, HttpFailure> {
        let url = self.http.url("/xrpc/app.bsky.feed.searchPosts");
        let since = format!("{day}T00:00:00Z");
        let until = format!("{}T00:00:00Z", day + chrono::Duration::days(1));
        let q = format!("#{}", tag.as_str());
        let send = |token: String| {
            let (url, since, until, q) = (&url, &since, &until, &q);
            async move {
                self.http
                    .send(tag.as_str(), |c| {
                        let mut query = vec![
                            ("q", q.as_str()),
                            ("tag", tag.as_str()),
                            ("since", since.as_str()),
                            ("until", until.as_str()),
                            ("sort", "latest"),
                            ("limit", "100"),
                        ];
                        if let Some(cur) = cursor {
                            query.push(("cursor", cur));
                        }
                        c.get(url).query(&query).bearer_auth(&token)
                    })
                    .await
            }
        };
        let token = login.session.read().await.access.clone();
        let answer = match send(token.clone()).await {
            Err(f) if session::expired(&f) => {
                let renewed = self.renew(login, &token).await?;
                send(renewed.access).await?
            }
            other => other?,
        };
        serde_json::from_slice(&answer).map_err(|e| {
            self.http
                .unreadable(tag.as_str(), "search", &answer, &e.to_string())
        })
    }

    /// Posts of `tag` on `day`, or `None` when the day needs more than `max_pages`.
    async fn count_day(
        &self,
        login: &Login<'_>,
        tag: &Tag,
        day: NaiveDate,
    ) -> Result<Option<u64>, HttpFailure> {
        let mut cursor: Option<String> = None;
        let mut posts = 0u64;
        for _ in 0..self.cfg.max_pages {
            let page = self.page(login, tag, day, cursor.as_deref()).await?;
            posts += page.posts.len() as u64;
            match page.cursor {
                Some(c) if !page.posts.is_empty() => cursor = Some(c),
                _ => return Ok(Some(posts)),
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Source for BlueskySource {
    fn id(&self) -> &str {
        &self.cfg.id
    }

    fn describe(&self) -> String {
        format!(
            "{} (bluesky): {} as {} (password from {}), last {} days [bluesky/posts]",
            self.cfg.id,
            self.http.base_url(),
            self.cfg.handle,
            self.cfg.password_env,
            self.cfg.days
        )
    }

    fn tags(&self) -> Option<&[Tag]> {
        self.cfg.tags.as_deref()
    }

    fn preflight(&self) -> Result<(), IngestError> {
        self.http.ready()?;
        crate::env_set(
            &self.cfg.id,
            &self.cfg.password_env,
            "an app password (password_env)",
        )
    }

    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError> {
        self.http.ready()?;
        let password = std::env::var(&self.cfg.password_env)
            .ok()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| IngestError::Setup {
                source_id: self.cfg.id.clone(),
                message: format!(
                    "set an app password in {} (password_env); see the README's Bluesky section",
                    self.cfg.password_env
                ),
            })?;
        let login = Login {
            session: RwLock::new(self.login(&password).await?),
            password: &password,
        };
        let today = Utc::now().date_naive();
        let days: Vec<NaiveDate> = (1..=self.cfg.days as i64)
            .rev()
            .map(|k| today - chrono::Duration::days(k))
            .collect();
        let login = &login;
        let days = &days;
        let results = self
            .http
            .each_tag(tags, progress, |tag| async move {
                let mut counted = Vec::new();
                for &day in days {
                    counted.push((day, self.count_day(login, &tag, day).await?));
                }
                Ok(counted)
            })
            .await?;
        let mut partial = Vec::new();
        let max_pages = self.cfg.max_pages;
        let mut fetched = Fetched::from_results(&self.cfg.id, results, |tag, counted, batch| {
            for (day, count) in counted {
                match count {
                    Some(value) => batch.daily.push(DailyCount {
                        platform: "bluesky".into(),
                        tag: tag.clone(),
                        metric: "posts".into(),
                        day,
                        value,
                    }),
                    None => partial.push(TagFailure {
                        tag: tag.clone(),
                        kind: FailureKind::Partial,
                        detail: format!(
                            "{day} has more than {max_pages} pages of posts: not stored (raise max_pages)"
                        ),
                    }),
                }
            }
        });
        fetched.failures.extend(partial);
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests;
