//! `kind = "tiktok_tag"`: counter snapshots (platform `tiktok`, metrics `views` and, when
//! known, `videos`) of public tags, read the ways `via` lists, in order, until one answers.
//!
//! - `json`: `GET {base_url}/api/challenge/detail/?challengeName=<tag>`;
//! - `html`: `GET {base_url}/tag/<tag>`, read by [`parse::from_html`];
//! - `browser`: the tag page loaded in the system's headless Chromium ([`browser`]), which
//!   signs the calls it makes itself.
//!
//! A captcha, a block or an empty answer is a failure of that tag, never a number.
//! TikTok's terms forbid automated collection; the user is responsible for complying,
//! and the defaults are polite (one request at a time, 0.5 s between tags).

pub mod browser;
pub mod chromium;
pub mod parse;
pub mod reap;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tagpulse_config::{ConfigError, SourceEntry};

use super::BuildContext;
use crate::http::{http_source, Defaults, HttpClient, HttpFailure, RateLimit};
use crate::shutdown::Shutdown;
use crate::{FailureKind, Fetched, IngestError, ObservationBatch, Progress, Snapshot, Source, Tag};
use browser::BrowserSession;
use parse::{Counters, NoCounters};

/// A way of reading a tag's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Way {
    /// The challenge-detail JSON endpoint.
    Json,
    /// The public tag page.
    Html,
    /// The tag page in a headless Chromium.
    Browser,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Json => "json",
            Way::Html => "html",
            Way::Browser => "browser",
        }
    }
}

/// `kind = "tiktok_tag"`: public tag counters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TikTokTagConfig {
    /// Unique id of the source.
    pub id: String,
    /// Always `"tiktok_tag"`.
    pub kind: String,
    /// The ways to try, in order (default `["json", "html"]`).
    #[serde(default = "default_via")]
    pub via: Vec<Way>,
    /// The Chromium for `via = ["browser"]` (default: `chromium`, `chromium-browser`,
    /// `google-chrome-stable`, `google-chrome` or `chrome`, found on PATH).
    #[serde(default)]
    pub browser: Option<PathBuf>,
    /// Only these tags (default: every tag of the taxonomy and the brands).
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

fn default_via() -> Vec<Way> {
    vec![Way::Json, Way::Html]
}

/// Builds the source from its `[[sources]]` entry (registered in `sources::REGISTRY`).
pub fn build(entry: &SourceEntry, ctx: BuildContext) -> Result<Box<dyn Source>, ConfigError> {
    let defaults = Defaults {
        base_url: "https://www.tiktok.com",
        rate_limit: Some(RateLimit {
            requests: 1,
            per: Duration::from_secs(1),
        }),
        max_concurrency: 1,
        pause: Duration::from_millis(500),
    };
    let (cfg, http) = http_source::<TikTokTagConfig>(entry, ctx, defaults)?;
    if cfg.via.is_empty() {
        let mut path = entry.path();
        path.push(tagpulse_config::key("via"));
        return Err(ctx.diag.invalid_at(
            &path,
            "name at least one way: \"json\", \"html\", \"browser\"".into(),
        ));
    }
    Ok(Box::new(TikTokTagSource {
        cfg,
        http,
        shutdown: ctx.shutdown.clone(),
    }))
}

/// Reads public tag counters from TikTok (or whatever `base_url` stands in).
pub struct TikTokTagSource {
    cfg: TikTokTagConfig,
    http: HttpClient,
    /// A shutdown closes the browser and drops the fetch.
    shutdown: Shutdown,
}

impl TikTokTagSource {
    /// One way's answer for `tag`; `browser` is the session when `via` names it.
    async fn read(
        &self,
        tag: &Tag,
        way: Way,
        browser: Option<&BrowserSession>,
    ) -> Result<Counters, HttpFailure> {
        let url = match way {
            Way::Json => self.http.url("/api/challenge/detail/"),
            Way::Html => self.http.url(&format!("/tag/{}", tag.as_str())),
            Way::Browser => {
                let session = browser.expect("started when via names the browser");
                return session.read(&self.http, tag).await;
            }
        };
        let answer = self
            .http
            .send(tag.as_str(), |c| match way {
                Way::Json => c.get(&url).query(&[("challengeName", tag.as_str())]),
                _ => c.get(&url),
            })
            .await?;
        let parsed = match way {
            Way::Json => parse::from_json(&answer),
            _ => parse::from_html(&answer),
        };
        parsed.map_err(|e| match e {
            NoCounters::Signal(kind, detail) => HttpFailure::fatal(kind, detail),
            NoCounters::Unreadable(detail) => {
                self.http
                    .unreadable(tag.as_str(), way.name(), &answer, &detail)
            }
        })
    }

    /// Tries each way in order; the failure names what every way answered.
    async fn counters(
        &self,
        tag: &Tag,
        browser: Option<&BrowserSession>,
    ) -> Result<Counters, HttpFailure> {
        let mut tried = Vec::new();
        let mut last = FailureKind::SoftBlock;
        for &way in &self.cfg.via {
            match self.read(tag, way, browser).await {
                Ok(c) => return Ok(c),
                Err(f) => {
                    tracing::debug!(source = %self.cfg.id, tag = tag.as_str(), way = way.name(), kind = %f.kind, "{}", f.detail);
                    last = f.kind;
                    tried.push(format!("{}: {} ({})", way.name(), f.kind, f.detail));
                }
            }
        }
        Err(HttpFailure::fatal(last, tried.join("; ")))
    }

    /// The browser for this fetch when `via` names it; a missing or broken Chromium is
    /// the source's error, saying how to install one.
    async fn start_browser(&self) -> Result<Option<BrowserSession>, IngestError> {
        if !self.cfg.via.contains(&Way::Browser) {
            return Ok(None);
        }
        // Each of these errors quotes its cause, so its text is the whole story.
        let setup = |e: browser::BrowserError| IngestError::Setup {
            source_id: self.cfg.id.clone(),
            message: e.to_string(),
        };
        let executable = browser::find_browser(self.cfg.browser.as_deref()).map_err(setup)?;
        let session = BrowserSession::launch(&executable, self.http.deadline())
            .await
            .map_err(setup)?;
        tracing::debug!(source = %self.cfg.id, browser = %executable.display(), "browser started");
        Ok(Some(session))
    }

    /// Runs `work` with the browser (if any), then closes it whatever happened: done,
    /// failed, or interrupted by Ctrl-C / SIGTERM (then the source's answer is an error
    /// and nothing of it is stored).
    async fn with_browser<T>(
        &self,
        work: impl AsyncFnOnce(Option<&BrowserSession>) -> Result<T, IngestError>,
    ) -> Result<T, IngestError> {
        let _hold = self.shutdown.hold();
        let session = self.start_browser().await?;
        let result = tokio::select! {
            r = work(session.as_ref()) => r,
            () = self.shutdown.requested() => Err(IngestError::Interrupted {
                source_id: self.cfg.id.clone(),
            }),
        };
        if let Some(s) = session {
            s.close().await;
        }
        result
    }
}

#[async_trait]
impl Source for TikTokTagSource {
    fn id(&self) -> &str {
        &self.cfg.id
    }

    fn describe(&self) -> String {
        let via: Vec<&str> = self.cfg.via.iter().map(|w| w.name()).collect();
        format!(
            "{} (tiktok_tag): {} via {} [tiktok/views, videos]",
            self.cfg.id,
            self.http.base_url(),
            via.join(", ")
        )
    }

    fn tags(&self) -> Option<&[Tag]> {
        self.cfg.tags.as_deref()
    }

    async fn check(&self, tag: &Tag) -> Result<Vec<(String, Fetched)>, IngestError> {
        self.http.ready()?;
        self.with_browser(async |browser| Ok(self.check_ways(tag, browser).await))
            .await
    }

    fn preflight(&self) -> Result<(), IngestError> {
        self.http.ready()
    }

    async fn fetch(&self, tags: &[Tag], progress: &dyn Progress) -> Result<Fetched, IngestError> {
        self.http.ready()?;
        self.with_browser(async |browser| {
            let results = self
                .http
                .each_tag(tags, progress, |tag| async move {
                    let counters = self.counters(&tag, browser).await?;
                    Ok((Utc::now(), counters))
                })
                .await?;
            Ok(Fetched::from_results(&self.cfg.id, results, add))
        })
        .await
    }
}

impl TikTokTagSource {
    /// Every way's answer for one tag, labelled by way.
    async fn check_ways(
        &self,
        tag: &Tag,
        browser: Option<&BrowserSession>,
    ) -> Vec<(String, Fetched)> {
        let mut out = Vec::new();
        for &way in &self.cfg.via {
            let result = self
                .read(tag, way, browser)
                .await
                .map(|c| (Utc::now(), c))
                .map_err(|f| crate::TagFailure {
                    tag: tag.clone(),
                    kind: f.kind,
                    detail: f.detail,
                });
            let fetched = Fetched::from_results(&self.cfg.id, vec![(tag.clone(), result)], add);
            out.push((way.name().to_string(), fetched));
        }
        out
    }
}

/// A tag's counters as snapshots: `views`, and `videos` when known.
fn add(tag: &Tag, (observed_at, c): (DateTime<Utc>, Counters), batch: &mut ObservationBatch) {
    let snapshot = |metric: &str, value| Snapshot {
        platform: "tiktok".into(),
        tag: tag.clone(),
        metric: metric.into(),
        observed_at,
        value,
    };
    batch.snapshots.push(snapshot("views", c.views));
    if let Some(videos) = c.videos {
        batch.snapshots.push(snapshot("videos", videos));
    }
}

#[cfg(test)]
mod tests;
