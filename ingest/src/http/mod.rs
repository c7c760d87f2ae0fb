//! The one HTTP layer every HTTP source uses: a reqwest client (rustls on ring, the
//! system's roots, gzip), the source's headers, a rate limiter (`governor`), retries with
//! exponential backoff and jitter that honour the platform's wait headers (`backon`), a
//! total deadline per tag, bounded concurrency, and the quarantine for unreadable payloads.
//!
//! Header values are never logged: log lines carry the source, the tag and a status.

mod options;
pub mod private_file;
mod quarantine;
mod retry;

use std::future::Future;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::{FailureKind, IngestError, Progress, Tag, TagFailure};
use options::parse_http_entry;
pub use options::{parse_size, HeaderSpec, HttpOptions, RateLimit, DEFAULT_MAX_BODY};
use tagpulse_config::{ConfigError, SourceEntry};

use crate::sources::BuildContext;
pub use quarantine::Quarantine;
pub use retry::{wait_from, HttpFailure};

/// What a source kind assumes when its entry does not say.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// The platform's real host.
    pub base_url: &'static str,
    /// The platform's documented limit (or a polite one).
    pub rate_limit: Option<RateLimit>,
    /// Tags fetched at once.
    pub max_concurrency: usize,
    /// Wait between two tags of one worker.
    pub pause: Duration,
}

/// Parses an HTTP source's `[[sources]]` entry (its own keys and the shared HTTP keys)
/// and builds its client; every error names the key and line.
pub fn http_source<T: serde::de::DeserializeOwned>(
    entry: &SourceEntry,
    ctx: BuildContext,
    defaults: Defaults,
) -> Result<(T, HttpClient), ConfigError> {
    let (cfg, options) = parse_http_entry::<T>(entry, ctx.diag)?;
    let http = HttpClient::new(&entry.id, &options, defaults, ctx.data_dir)
        .map_err(|e| ctx.diag.invalid_at(&entry.path(), e.to_string()))?;
    Ok((cfg, http))
}

/// One source's HTTP side: client, limits and quarantine.
pub struct HttpClient {
    source: String,
    client: reqwest::Client,
    base_url: String,
    limiter: Option<DefaultDirectRateLimiter>,
    max_retries: usize,
    deadline: Duration,
    max_concurrency: usize,
    pause: Duration,
    /// The largest answer read (decompressed bytes).
    max_body: u64,
    /// Where unreadable payloads go.
    pub quarantine: Quarantine,
    /// Why the source cannot run, found when it was built.
    setup_error: Option<HeaderError>,
    /// The platform's reading of an error body (a quota is not a rate limit).
    classify: Option<fn(&mut HttpFailure, &[u8])>,
}

/// The part of an error answer read for its words.
const ERROR_BODY_LIMIT: u64 = 64 << 10;

/// The body of `resp`, decompressed, refused past `max` bytes without reading further:
/// an endless or a bombed answer costs at most `max` of memory.
async fn read_limited(mut resp: reqwest::Response, max: u64) -> Result<bytes::Bytes, HttpFailure> {
    let too_big = || {
        HttpFailure::fatal(
            FailureKind::Parse,
            format!("the answer is larger than max_body ({max} bytes)"),
        )
    };
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_big());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| HttpFailure::from_reqwest(&e))?
    {
        if body.len() as u64 + chunk.len() as u64 > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A configured header that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum HeaderError {
    /// Its value comes from an env var that is not set.
    #[error("header {name}: environment variable {env} is not set")]
    EnvUnset { name: String, env: String },
    /// Its value holds characters a header cannot carry (the value is never shown: it
    /// may be a secret).
    #[error("header {name}: the value is not a valid header value")]
    BadValue { name: String },
    /// Its name is not a header name.
    #[error("{name:?} is not a valid header name")]
    BadName { name: String },
}

/// The configured headers, values read from env vars and marked sensitive (never logged).
fn resolve_headers(options: &HttpOptions) -> Result<HeaderMap, HeaderError> {
    let mut headers = HeaderMap::new();
    for (name, spec) in &options.headers {
        let value = match spec {
            HeaderSpec::Literal(v) => v.clone(),
            HeaderSpec::Env { env } => std::env::var(env).map_err(|_| HeaderError::EnvUnset {
                name: name.clone(),
                env: env.clone(),
            })?,
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| HeaderError::BadValue { name: name.clone() })?;
        value.set_sensitive(true);
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HeaderError::BadName { name: name.clone() })?;
        headers.insert(name, value);
    }
    Ok(headers)
}

impl HttpClient {
    /// A client for source `source` with its `options`; `Err` names the missing env var or
    /// the bad proxy.
    pub fn new(
        source: &str,
        options: &HttpOptions,
        defaults: Defaults,
        data_dir: &Path,
    ) -> Result<Self, IngestError> {
        // A header's env var is read now but missing only fails this source's fetches:
        // `tagpulse transform` or another source must not need TikTok's cookie.
        let (headers, setup_error) = match resolve_headers(options) {
            Ok(h) => (h, None),
            Err(message) => (HeaderMap::new(), Some(message)),
        };
        let user_agent = options
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("tagpulse/{}", env!("CARGO_PKG_VERSION")));
        // reqwest drops Authorization and Cookie on a redirect to another origin, but
        // not a configured header such as x-api-key: with headers configured, a redirect
        // stays on the origin it started from (another one answers as its 3xx).
        let redirect = if headers.is_empty() {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::custom(|attempt| {
                let first = attempt.previous().first().map(|u| u.origin());
                if attempt.previous().len() > 10 {
                    attempt.error("more than 10 redirects")
                } else if first.is_some_and(|o| o != attempt.url().origin()) {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            })
        };
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tagpulse_io::tls::client_config(true))
            .user_agent(user_agent)
            .redirect(redirect)
            .default_headers(headers)
            .gzip(true)
            .timeout(options.timeout.unwrap_or(Duration::from_secs(20)))
            .connect_timeout(Duration::from_secs(10));
        if let Some(proxy) = &options.proxy {
            let proxy = reqwest::Proxy::all(proxy).map_err(|e| IngestError::Setup {
                source_id: source.to_string(),
                message: format!("proxy: {e}"),
            })?;
            builder = builder.proxy(proxy);
        } else {
            // No proxy unless configured: an inherited HTTP_PROXY must not reroute a source.
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| IngestError::Setup {
            source_id: source.to_string(),
            message: format!("cannot build the HTTP client: {e}"),
        })?;
        let limiter = options.rate_limit.or(defaults.rate_limit).map(|r| {
            let n = NonZeroU32::new(r.requests).expect("parsed as positive");
            let quota = Quota::with_period(r.per / r.requests)
                .expect("positive period")
                .allow_burst(n);
            RateLimiter::direct(quota)
        });
        Ok(HttpClient {
            source: source.to_string(),
            client,
            base_url: options
                .base_url
                .clone()
                .unwrap_or_else(|| defaults.base_url.to_string())
                .trim_end_matches('/')
                .to_string(),
            limiter,
            max_retries: options.max_retries.unwrap_or(4),
            deadline: options.deadline.unwrap_or(Duration::from_secs(120)),
            max_concurrency: options.max_concurrency.unwrap_or(defaults.max_concurrency),
            max_body: options.max_body.unwrap_or(options::DEFAULT_MAX_BODY),
            pause: options.pause.unwrap_or(defaults.pause),
            quarantine: Quarantine::new(data_dir, source),
            setup_error,
            classify: None,
        })
    }

    /// Lets the source refine a failed answer from its body (kind, retryable) before the
    /// retry policy sees it.
    pub fn classify_errors(&mut self, classify: fn(&mut HttpFailure, &[u8])) {
        self.classify = Some(classify);
    }

    /// `Err` when the source cannot run at all (a header's env var unset).
    pub fn ready(&self) -> Result<(), IngestError> {
        match &self.setup_error {
            Some(message) => Err(IngestError::Setup {
                source_id: self.source.clone(),
                message: message.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// A `parse` failure for an answer that could not be read; the payload is
    /// quarantined and the detail names the file.
    pub fn unreadable(&self, tag: &str, what: &str, body: &[u8], error: &str) -> HttpFailure {
        let detail = match self.quarantine.keep(tag, what, body) {
            Some(p) => format!("{error} (payload kept in {})", p.display()),
            None => format!("{error} (the payload could not be kept)"),
        };
        HttpFailure::fatal(FailureKind::Parse, detail)
    }

    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The total time one tag may take.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The base URL in force.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends the request `build` makes, retrying connect errors, timeouts, 429 and 5xx
    /// with backoff and jitter (or as long as the platform asks), up to `max_retries`.
    pub async fn send(
        &self,
        tag: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<bytes::Bytes, HttpFailure> {
        let attempt = || async {
            if let Some(l) = &self.limiter {
                l.until_ready().await;
            }
            let resp = build(&self.client)
                .send()
                .await
                .map_err(|e| HttpFailure::from_reqwest(&e))?;
            let status = resp.status();
            if !status.is_success() {
                let mut failure = HttpFailure::from_status(status, resp.headers());
                // The platform's own words ("ExpiredToken", "invalid_params") help the
                // reader and the source; a short prefix is enough.
                // An error page needs no more than its first words.
                if let Ok(body) = read_limited(resp, ERROR_BODY_LIMIT).await {
                    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
                    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !text.is_empty() {
                        failure.detail = format!("{}: {text}", failure.detail);
                    }
                    if let Some(classify) = self.classify {
                        classify(&mut failure, &body);
                    }
                }
                return Err(failure);
            }
            read_limited(resp, self.max_body).await
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(30))
            .with_max_times(self.max_retries)
            .with_jitter();
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|f: &HttpFailure| f.retryable)
            // The platform's own wait wins over the backoff's guess; a wait beyond the
            // tag's deadline ends the tag now, as rate limited, instead of as a timeout.
            .adjust(|f: &HttpFailure, dur| {
                dur.and_then(|d| match f.wait {
                    Some(w) if w > self.deadline => None,
                    Some(w) => Some(w),
                    None => Some(d),
                })
            })
            .notify(|f: &HttpFailure, dur| {
                tracing::info!(
                    source = %self.source, tag, kind = %f.kind,
                    "{}; retrying in {:.1}s", f.detail, dur.as_secs_f64()
                );
            })
            .await
    }

    /// Runs `fetch` for every tag, `max_concurrency` at a time with `pause` between two
    /// tags of a worker, each bounded by the tag deadline. Results come in tag order.
    pub async fn each_tag<T, F, Fut>(
        &self,
        tags: &[Tag],
        progress: &dyn Progress,
        fetch: F,
    ) -> Result<Vec<(Tag, Result<T, TagFailure>)>, IngestError>
    where
        F: Fn(Tag) -> Fut,
        Fut: Future<Output = Result<T, HttpFailure>>,
    {
        self.ready()?;
        progress.set_total(tags.len() as u64);
        let out: Vec<(Tag, Result<T, TagFailure>)> =
            futures::stream::iter(tags.iter().cloned().enumerate())
                .map(|(i, tag)| {
                    let fut = fetch(tag.clone());
                    async move {
                        let result = match tokio::time::timeout(self.deadline, fut).await {
                            Ok(Ok(v)) => Ok(v),
                            Ok(Err(f)) => Err(TagFailure {
                                tag: tag.clone(),
                                kind: f.kind,
                                detail: f.detail,
                            }),
                            Err(_) => Err(TagFailure {
                                tag: tag.clone(),
                                kind: FailureKind::Timeout,
                                detail: format!(
                                    "no answer within the tag deadline of {}",
                                    humantime::format_duration(self.deadline)
                                ),
                            }),
                        };
                        if let Err(f) = &result {
                            tracing::warn!(source = %self.source, "{f}");
                        }
                        progress.advance(1);
                        if !self.pause.is_zero() && i + 1 < tags.len() {
                            tokio::time::sleep(self.pause).await;
                        }
                        (tag, result)
                    }
                })
                // In tag order, `max_concurrency` running at once.
                .buffered(self.max_concurrency)
                .collect()
                .await;
        Ok(out)
    }
}
