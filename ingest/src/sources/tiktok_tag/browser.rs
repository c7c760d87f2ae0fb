//! `via = "browser"`: TikTok's counters read through the system's headless Chromium over
//! the DevTools protocol (`chromiumoxide`).
//!
//! The web app signs its own API calls, so a loaded tag page is asked twice: first for
//! the rehydration JSON it carries ([`parse::from_html`] on the live DOM), then, when the
//! page holds no counters, for the challenge-detail endpoint through a `fetch` made in the
//! page's context, which the page's own scripts sign ([`parse::from_json`]). One browser
//! per fetch, one page reused; [`BrowserSession::close`] ends every Chromium process,
//! also after errors, timeouts and an interrupt, and a killed tagpulse takes its browser
//! along ([`super::chromium`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::handler::HandlerConfig;
use chromiumoxide::{Browser, Page};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::chromium::{Chromium, StartError};
use super::parse::{self, Counters, NoCounters};
use super::reap::{kill_processes_naming, reap_stale_browsers, PROFILE_PREFIX};
use crate::http::{HttpClient, HttpFailure};
use crate::{FailureKind, Tag};

/// Names a Chromium goes by on PATH, most specific first.
const CANDIDATES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
    "chrome",
];

/// Why no browser session could be had.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum BrowserError {
    /// The configured `browser` path is not a file.
    #[error("browser {}: no such file (install Chromium, on Debian `apt install chromium`, or fix the path)", path.display())]
    NoSuchFile { path: PathBuf },
    /// None of the usual names is on PATH.
    #[error("no Chromium found on PATH (looked for {}): install one (Debian: `apt install chromium`) or set `browser` to its path", CANDIDATES.join(", "))]
    NotOnPath,
    /// The fresh profile folder could not be made.
    #[error("cannot create a browser profile folder: {0}")]
    Profile(#[source] std::io::Error),
    /// The process did not start.
    #[error("cannot start {}: {source} (is it a Chromium? Debian: `apt install chromium`)", executable.display())]
    Start {
        executable: PathBuf,
        /// Why.
        source: StartError,
    },
    /// It started but DevTools did not connect.
    #[error("cannot start {}: no DevTools connection: {source} (is it a Chromium? Debian: `apt install chromium`)", executable.display())]
    Connect {
        executable: PathBuf,
        source: chromiumoxide::error::CdpError,
    },
    /// No page could be opened.
    #[error("cannot open a browser page: {0}")]
    Page(#[source] chromiumoxide::error::CdpError),
}

/// The Chromium to start: `configured`, else the first of `CANDIDATES` on PATH.
pub fn find_browser(configured: Option<&Path>) -> Result<PathBuf, BrowserError> {
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(BrowserError::NoSuchFile {
                path: path.to_path_buf(),
            })
        };
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    for name in CANDIDATES {
        for dir in std::env::split_paths(&dirs) {
            let path = dir.join(name);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    Err(BrowserError::NotOnPath)
}

/// Chromium's switches: headless, DevTools on a free port, and none of its own network
/// services (this machine class refuses them, and they are not ours to make anyway).
const BROWSER_ARGS: &[&str] = &[
    "--headless",
    "--remote-debugging-port=0",
    "--hide-scrollbars",
    "--mute-audio",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-extensions",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-background-networking",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--disable-dev-shm-usage",
    "--disable-features=TranslateUI",
    "--disable-hang-monitor",
    "--disable-popup-blocking",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--enable-automation",
    "--lang=en_US",
];

/// A running headless Chromium with the one page every tag is read through.
pub struct BrowserSession {
    process: Process,
    page: Mutex<Page>,
    timeout: Duration,
}

/// The Chromium process tree, its DevTools connection and its profile.
struct Process {
    browser: Browser,
    chromium: Chromium,
    handler: JoinHandle<()>,
    /// The profile folder, unique per session: it also names every process of it.
    profile: tempfile::TempDir,
}

/// What a page-context `fetch` answered.
#[derive(Deserialize)]
struct PageAnswer {
    status: u16,
    body: String,
    #[serde(default)]
    error: Option<String>,
}

impl BrowserSession {
    /// Starts `executable` headless with a fresh profile; `timeout` bounds each DevTools
    /// request (a page load included).
    pub async fn launch(executable: &Path, timeout: Duration) -> Result<Self, BrowserError> {
        let reaped = reap_stale_browsers(&std::env::temp_dir());
        if reaped > 0 {
            tracing::info!(
                "removed {reaped} browser profile(s) and their processes left by killed runs"
            );
        }
        let profile = tempfile::Builder::new()
            .prefix(&format!("{PROFILE_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(BrowserError::Profile)?;
        let mut args: Vec<String> = BROWSER_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if running_as_root() {
            // Chromium refuses to start its sandbox as root (containers, CI).
            args.extend(["--no-sandbox".into(), "--disable-setuid-sandbox".into()]);
        }
        // Chromium's own temp files (shared memory, crash reports) go inside the profile,
        // which the close removes: in the system's temp folder they outlived a killed run.
        let tmp = profile.path().join("tmp");
        std::fs::create_dir_all(&tmp).map_err(BrowserError::Profile)?;
        let mut chromium = Chromium::start(executable, args, Some(&tmp), Duration::from_secs(30))
            .await
            .map_err(|source| BrowserError::Start {
                executable: executable.to_path_buf(),
                source,
            })?;
        let handler_config = HandlerConfig {
            request_timeout: timeout,
            ..HandlerConfig::default()
        };
        let (browser, mut events) =
            match Browser::connect_with_config(chromium.ws_url.clone(), handler_config).await {
                Ok(b) => b,
                Err(e) => {
                    chromium.stop(Duration::ZERO).await;
                    return Err(BrowserError::Connect {
                        executable: executable.to_path_buf(),
                        source: e,
                    });
                }
            };
        // The DevTools connection is served by this task until the browser goes away.
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        let process = Process {
            browser,
            chromium,
            handler,
            profile,
        };
        match process.browser.new_page("about:blank").await {
            Ok(page) => Ok(BrowserSession {
                process,
                page: Mutex::new(page),
                timeout,
            }),
            Err(e) => {
                process.close().await;
                Err(BrowserError::Page(e))
            }
        }
    }

    /// Loads the tag page and reads its counters: from the page's data, else from a
    /// page-context `fetch` of the challenge-detail endpoint. Unreadable answers are
    /// quarantined through `http`.
    pub async fn read(&self, http: &HttpClient, tag: &Tag) -> Result<Counters, HttpFailure> {
        let page = self.page.lock().await;
        let url = http.url(&format!("/tag/{}", tag.as_str()));
        page.goto(url.as_str())
            .await
            .map_err(|e| browser_failure("loading the tag page", &e))?;
        let html = page
            .content()
            .await
            .map_err(|e| browser_failure("reading the tag page", &e))?;
        let from_page = parse::from_html(html.as_bytes());
        match from_page {
            Ok(c) => return Ok(c),
            // The page said why: a captcha or an unknown tag is the answer.
            Err(NoCounters::Signal(kind, detail))
                if matches!(kind, FailureKind::Captcha | FailureKind::NotFound) =>
            {
                return Err(HttpFailure::fatal(kind, format!("tag page: {detail}")));
            }
            Err(_) => {}
        }
        let detail_url = format!(
            "{}?challengeName={}",
            http.url("/api/challenge/detail/"),
            tag.as_str()
        );
        let answer = self.page_fetch(&page, &detail_url).await?;
        if let Some(error) = answer.error {
            return Err(HttpFailure::fatal(
                FailureKind::Network,
                format!("page-context fetch: {error}"),
            ));
        }
        if !(200..300).contains(&answer.status) {
            let status = reqwest::StatusCode::from_u16(answer.status)
                .unwrap_or(reqwest::StatusCode::BAD_GATEWAY);
            let mut f = HttpFailure::from_status(status, &Default::default());
            f.detail = format!("page-context fetch: {}", f.detail);
            return Err(f);
        }
        parse::from_json(answer.body.as_bytes()).map_err(|e| match e {
            NoCounters::Signal(kind, detail) => {
                HttpFailure::fatal(kind, format!("page-context fetch: {detail}"))
            }
            NoCounters::Unreadable(detail) => {
                http.unreadable(tag.as_str(), "browser", answer.body.as_bytes(), &detail)
            }
        })
    }

    /// `fetch(url)` run by the page, so the page's own request hooks sign it.
    async fn page_fetch(&self, page: &Page, url: &str) -> Result<PageAnswer, HttpFailure> {
        let url = serde_json::to_string(url).expect("a string serialises");
        let script = format!(
            "(async () => {{ try {{ const r = await fetch({url}, {{credentials: 'include'}}); \
             return {{status: r.status, body: await r.text()}}; }} \
             catch (e) {{ return {{status: 0, body: '', error: String(e)}}; }} }})()"
        );
        let params = EvaluateParams::builder()
            .expression(script)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .expect("expression is set");
        let result = tokio::time::timeout(self.timeout, page.evaluate_expression(params))
            .await
            .map_err(|_| {
                HttpFailure::fatal(
                    FailureKind::Timeout,
                    "page-context fetch: no answer in time",
                )
            })?
            .map_err(|e| browser_failure("page-context fetch", &e))?;
        result.into_value().map_err(|e| {
            HttpFailure::fatal(
                FailureKind::Parse,
                format!("page-context fetch: unexpected result: {e}"),
            )
        })
    }

    /// Ends the browser and every process of it; see `Process::close`.
    pub async fn close(self) {
        drop(self.page);
        self.process.close().await;
    }
}

impl Process {
    /// A polite `Browser.close`, then a kill, then any process still naming this
    /// session's profile (Chromium's helpers), then the profile itself.
    async fn close(mut self) {
        let grace = Duration::from_secs(5);
        let _ = tokio::time::timeout(grace, self.browser.close()).await;
        // Waits for the exit Browser.close asked for; kills at the end of the grace.
        self.chromium.stop(grace).await;
        self.handler.abort();
        let left = kill_processes_naming(self.profile.path());
        if left > 0 {
            tracing::debug!("killed {left} browser helper process(es) left behind");
        }
        // A helper killed just now may still be exiting, and writing: removal is retried
        // for up to a second rather than leaving the profile behind.
        let path = self.profile.path().to_path_buf();
        drop(self.profile.close());
        for _ in 0..20 {
            if !path.exists() || std::fs::remove_dir_all(&path).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A failure of the browser itself (gone, or a DevTools call that timed out).
fn browser_failure(what: &str, e: &chromiumoxide::error::CdpError) -> HttpFailure {
    let kind = match e {
        chromiumoxide::error::CdpError::Timeout => FailureKind::Timeout,
        _ => FailureKind::Network,
    };
    HttpFailure::fatal(kind, format!("browser, {what}: {e}"))
}

#[cfg(unix)]
fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
fn running_as_root() -> bool {
    false
}
