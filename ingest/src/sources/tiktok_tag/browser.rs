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

use super::chromium::Chromium;
use super::parse::{self, Counters, NoCounters};
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

/// The Chromium to start: `configured`, else the first of `CANDIDATES` on PATH.
pub fn find_browser(configured: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!(
                "browser {}: no such file (install Chromium, on Debian `apt install chromium`, or fix the path)",
                path.display()
            ))
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
    Err(format!(
        "no Chromium found on PATH (looked for {}): install one (Debian: `apt install chromium`) or set `browser` to its path",
        CANDIDATES.join(", ")
    ))
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
    pub async fn launch(executable: &Path, timeout: Duration) -> Result<Self, String> {
        let reaped = reap_stale_browsers(&std::env::temp_dir());
        if reaped > 0 {
            tracing::info!(
                "removed {reaped} browser profile(s) and their processes left by killed runs"
            );
        }
        let profile = tempfile::Builder::new()
            .prefix(&format!("{PROFILE_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| format!("cannot create a browser profile folder: {e}"))?;
        let mut args: Vec<String> = BROWSER_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if running_as_root() {
            // Chromium refuses to start its sandbox as root (containers, CI).
            args.extend(["--no-sandbox".into(), "--disable-setuid-sandbox".into()]);
        }
        let cannot_start = |e: String| {
            format!(
                "cannot start {}: {e} (is it a Chromium? Debian: `apt install chromium`)",
                executable.display()
            )
        };
        let mut chromium = Chromium::start(executable, args, Duration::from_secs(30))
            .await
            .map_err(cannot_start)?;
        let handler_config = HandlerConfig {
            request_timeout: timeout,
            ..HandlerConfig::default()
        };
        let (browser, mut events) =
            match Browser::connect_with_config(chromium.ws_url.clone(), handler_config).await {
                Ok(b) => b,
                Err(e) => {
                    chromium.stop(Duration::ZERO).await;
                    return Err(cannot_start(format!("no DevTools connection: {e}")));
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
                Err(format!("cannot open a browser page: {e}"))
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
        let _ = self.profile.close();
    }
}

/// Profile folders are `<temp>/tagpulse-chromium-<owner pid>-<random>`: the owner's pid
/// tells a killed run's leftovers from a live run's.
const PROFILE_PREFIX: &str = "tagpulse-chromium-";

/// Removes the browser profiles under `dir` whose tagpulse is gone (`kill -9`, the OOM
/// killer), after killing every process still naming them; returns how many. A profile
/// of a live tagpulse, or of an owner this cannot tell, is left alone.
pub fn reap_stale_browsers(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut reaped = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PROFILE_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if owner_alive(owner) {
            continue;
        }
        let path = entry.path();
        kill_processes_naming(&path);
        if std::fs::remove_dir_all(&path).is_ok() {
            reaped += 1;
        }
    }
    reaped
}

/// True while a process `pid` exists. A reused pid only delays the reaping; a renamed
/// tagpulse binary must never lose its live browser.
#[cfg(target_os = "linux")]
fn owner_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Without `/proc` no owner can be told dead: nothing is reaped.
#[cfg(not(target_os = "linux"))]
fn owner_alive(_pid: i32) -> bool {
    true
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

/// SIGKILLs every process whose command line names `marker`; returns how many.
#[cfg(target_os = "linux")]
pub fn kill_processes_naming(marker: &Path) -> usize {
    let pids = processes_naming(marker);
    for &pid in &pids {
        // SAFETY: kill with a positive pid and a valid signal has no memory effects.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    pids.len()
}

/// No `/proc` to read: the kill of the main process has to do.
#[cfg(not(target_os = "linux"))]
pub fn kill_processes_naming(_marker: &Path) -> usize {
    0
}

/// The processes whose command line contains `marker` (Linux `/proc`).
#[cfg(target_os = "linux")]
pub fn processes_naming(marker: &Path) -> Vec<i32> {
    let needle = marker.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_killed_runs_profile_and_processes_are_reaped_a_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // A pid that is gone: a child that already exited and was waited for.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead = gone.id();
        gone.wait().unwrap();
        let stale = tmp.path().join(format!("{PROFILE_PREFIX}{dead}-abc"));
        let live = tmp
            .path()
            .join(format!("{PROFILE_PREFIX}{}-def", std::process::id()));
        let other = tmp.path().join("tagpulse-chromium-notapid");
        for d in [&stale, &live, &other] {
            std::fs::create_dir(d).unwrap();
        }
        // A helper left behind, naming the stale profile as Chromium's helpers do.
        let mut helper = std::process::Command::new("sh")
            .args(["-c", "sleep 300", &stale.display().to_string()])
            .spawn()
            .unwrap();
        // A live one's helper must survive.
        let mut keeper = std::process::Command::new("sh")
            .args(["-c", "sleep 300", &live.display().to_string()])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(processes_naming(&stale).len(), 1);
        assert_eq!(reap_stale_browsers(tmp.path()), 1);
        assert!(!stale.exists() && live.exists() && other.exists());
        let status = helper.wait().unwrap();
        assert!(!status.success(), "the stale helper was killed: {status}");
        assert!(
            keeper.try_wait().unwrap().is_none(),
            "the live helper runs on"
        );
        keeper.kill().unwrap();
        keeper.wait().unwrap();
    }
}
