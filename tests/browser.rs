//! `via = ["browser"]` against the system's Chromium and a local server: counters from the
//! page's rehydration data, counters only a real page can fetch (its script signs the
//! call), a captcha and an empty page; every Chromium process gone after the run, after a
//! timeout, after Ctrl-C or SIGTERM, and after a `kill -9` of tagpulse. Without Chromium
//! they follow the one test policy (`util::needs`: fail under CI, else skip saying why).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::*;

/// Whether a Chromium is on PATH.
fn chromium_found() -> bool {
    chromium().is_some()
}

const SEED: &str = "n0nce-7";

fn rehydrated_page(views: &str, videos: &str) -> String {
    let data = json!({"__DEFAULT_SCOPE__": {"webapp.challenge-detail": {"statusCode": 0,
        "challengeInfo": {"challenge": {"id": "7", "title": "rehydrated"},
        "statsV2": {"videoCount": videos, "viewCount": views}}}}});
    format!(
        "<!doctype html><html><head><title>#rehydrated</title></head><body><h1>#rehydrated</h1>\
         <script id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\" type=\"application/json\">{data}</script>\
         </body></html>"
    )
}

/// A page without counters whose script adds a header to every `fetch` it makes, the
/// way the real web app signs its API calls.
fn signing_page() -> String {
    format!(
        r#"<!doctype html><html><head><meta name="sign-seed" content="{SEED}"></head>
<body><h1>#signed</h1><p>Loading videos…</p>
<script>
(function () {{
  const seed = document.querySelector('meta[name="sign-seed"]').content;
  const plain = window.fetch.bind(window);
  window.fetch = function (url, opts) {{
    opts = Object.assign({{}}, opts);
    const h = new Headers(opts.headers || {{}});
    h.set('X-Tt-Sign', 'signed:' + seed + ':' + String(url).length);
    opts.headers = h;
    return plain(url, opts);
  }};
}})();
</script></body></html>"#
    )
}

async fn browser_server() -> MockServer {
    let server = MockServer::start().await;
    let page = |p: &str, body: String| {
        Mock::given(path(format!("/tag/{p}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/html; charset=utf-8"))
    };
    page("rehydrated", rehydrated_page("987654321", "1234"))
        .mount(&server)
        .await;
    page("signed", signing_page()).mount(&server).await;
    page(
        "captcha",
        "<html><body><div id=\"captcha-verify-container\">Verify to continue</div></body></html>"
            .into(),
    )
    .mount(&server)
    .await;
    page("empty", String::new()).mount(&server).await;
    Mock::given(path("/tag/slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(rehydrated_page("1", "1"), "text/html")
                .set_delay(Duration::from_secs(60)),
        )
        .mount(&server)
        .await;
    // The signed call: only a request carrying the page's signature gets the counters.
    let url = format!(
        "{}/api/challenge/detail/?challengeName=signed",
        server.uri()
    );
    Mock::given(path("/api/challenge/detail/"))
        .and(query_param("challengeName", "signed"))
        .and(header(
            "x-tt-sign",
            format!("signed:{SEED}:{}", url.len()).as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"statusCode": 0,
            "challengeInfo": {"challenge": {"id": "9"},
            "statsV2": {"viewCount": "55500", "videoCount": "321"}}})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    // Anything else, unsigned or not: the soft block's empty 200.
    Mock::given(path("/api/challenge/detail/"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

fn config(server: &MockServer, tags: &[&str], deadline: &str) -> String {
    let quoted: Vec<String> = tags.iter().map(|t| format!("{t:?}")).collect();
    format!(
        r#"[taxonomy]
defaults = false

[[occupations]]
name = "Browsing"
tags = [{tags}]

[[sources]]
id = "tt"
kind = "tiktok_tag"
via = ["browser"]
base_url = "{uri}"
pause = "1ms"
deadline = "{deadline}"
max_retries = 0
"#,
        tags = quoted.join(", "),
        uri = server.uri()
    )
}

/// The page server started and a work directory whose config reads `tags` through the
/// browser; `None` without Chromium (after [`needs`] said so).
async fn setup(tags: &[&str], deadline: &str) -> Option<(MockServer, tempfile::TempDir, PathBuf)> {
    if !needs(
        "Chromium",
        chromium_found(),
        "install it (Debian: `apt install chromium`; .ci/run does)",
    ) {
        return None;
    }
    let server = browser_server().await;
    let (dir, tmp) = workdir();
    fs::write(
        dir.path().join("tagpulse.toml"),
        config(&server, tags, deadline),
    )
    .unwrap();
    Some((server, dir, tmp))
}

fn assert_no_chromium(tmp: &Path) {
    assert_eq!(
        processes_naming(tmp),
        Vec::<String>::new(),
        "Chromium left behind"
    );
}

/// A directory for one test whose path names every browser process the run starts
/// (their profile lives under its `tmp/`).
fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    (dir, tmp)
}

fn in_tmp(d: &Path, tmp: &Path, args: &[&str]) -> Command {
    let mut cmd = command(d, args);
    cmd.env("TMPDIR", tmp);
    cmd
}

/// The command lines of live processes that name `marker` (Chromium's all carry its
/// profile path).
fn processes_naming(marker: &Path) -> Vec<String> {
    let needle = marker.to_string_lossy().into_owned();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let raw = fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            cmdline
                .contains(&needle)
                .then(|| cmdline.chars().take(120).collect())
        })
        .collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The stored snapshots as (tag, metric, value), sorted.
fn stored(d: &Path) -> Vec<(String, String, f64)> {
    let dir = d.join("data/observations/snapshots");
    if !dir.is_dir() || fs::read_dir(&dir).unwrap().next().is_none() {
        return Vec::new();
    }
    let snaps = read_dir_frames(&dir);
    let mut rows: Vec<_> = (0..snaps.height())
        .map(|i| {
            (
                col_str(&snaps, "tag")[i].clone(),
                col_str(&snaps, "metric")[i].clone(),
                col_f64(&snaps, "value")[i].unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_reads_page_data_and_signed_calls_and_stores_only_counters() {
    let tags = ["rehydrated", "signed", "captcha", "empty"];
    let Some((server, dir, tmp)) = setup(&tags, "20s").await else {
        return;
    };
    let d = dir.path();

    let out = in_tmp(d, &tmp, &["ingest", "--source", "tt"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "two tags failed:\n{all}");
    assert!(
        all.contains("tt: tags 2 ok, 2 failed (1 soft_block, 1 captcha)"),
        "{all}"
    );
    assert!(
        all.contains(
            "#captcha: captcha: browser: captcha (tag page: the page asks for a verification)"
        ),
        "{all}"
    );
    assert!(
        all.contains(
            "#empty: soft_block: browser: soft_block (page-context fetch: HTTP 200 with an empty body)"
        ),
        "{all}"
    );
    let s = |t: &str, m: &str, v: f64| (t.to_string(), m.to_string(), v);
    assert_eq!(
        stored(d),
        [
            s("rehydrated", "videos", 1234.0),
            s("rehydrated", "views", 987_654_321.0),
            s("signed", "videos", 321.0),
            s("signed", "views", 55_500.0),
        ]
    );
    assert_no_chromium(&tmp);
    assert_eq!(
        fs::read_dir(&tmp).unwrap().count(),
        0,
        "the browser profile is removed"
    );

    // Plain HTTP cannot get the signed counters: the same tag through `json` is blocked.
    let check = in_tmp(
        d,
        &tmp,
        &["sources", "check", "--source", "tt", "--tag", "signed"],
    )
    .output()
    .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        out.contains("browser: would store snapshot tiktok/views #signed = 55500"),
        "{out}"
    );
    let unsigned = plain_get(&format!(
        "{}/api/challenge/detail/?challengeName=signed",
        server.uri()
    ))
    .await;
    assert_eq!(unsigned, "", "an unsigned call gets the soft block");
    assert_no_chromium(&tmp);
}

async fn plain_get(url: &str) -> String {
    // The page server is plain HTTP on 127.0.0.1: a bare TCP request keeps the test free
    // of another HTTP client.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut conn = tokio::net::TcpStream::connect(host).await.unwrap();
    conn.write_all(
        format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_never_loads_times_out_and_the_browser_is_closed() {
    let Some((_server, dir, tmp)) = setup(&["slow", "rehydrated"], "3s").await else {
        return;
    };
    let d = dir.path();
    let started = Instant::now();
    let out = in_tmp(d, &tmp, &["ingest", "--source", "tt"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(started.elapsed() < Duration::from_secs(50), "{all}");
    assert!(
        all.contains("#slow: timeout: no answer within the tag deadline of 3s"),
        "{all}"
    );
    // The page is reused after the timeout.
    assert_eq!(
        stored(d),
        [
            ("rehydrated".into(), "videos".into(), 1234.0),
            ("rehydrated".into(), "views".into(), 987_654_321.0),
        ]
    );
    assert_no_chromium(&tmp);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_and_sigterm_close_the_browser_store_nothing_and_exit_as_the_signal_asks() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        interrupted_run(signal, code).await;
    }
}

/// One `run` stopped by `signal` while the browser waits for a page: exit `code`.
async fn interrupted_run(signal: &str, code: i32) {
    let Some((server, dir, tmp)) = setup(&["rehydrated", "slow"], "60s").await else {
        return;
    };
    let d = dir.path();
    let child = in_tmp(d, &tmp, &["run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_slow_page(&server).await;
    assert!(!processes_naming(&tmp).is_empty(), "Chromium is running");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap()
        .success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(code), "{signal}: {all}");
    assert!(
        all.contains("source tt: interrupted; nothing of this fetch was stored"),
        "{all}"
    );
    assert_no_chromium(&tmp);
    assert_eq!(stored(d), Vec::new(), "an interrupted fetch stores nothing");
    assert!(
        !d.join("data/weekly").exists(),
        "no recompute after an interrupt"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_tagpulse_takes_its_browser_along() {
    let Some((server, dir, tmp)) = setup(&["slow"], "60s").await else {
        return;
    };
    let d = dir.path();
    let mut child = in_tmp(d, &tmp, &["ingest", "--source", "tt"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_slow_page(&server).await;
    let running = processes_naming(&tmp).len();
    assert!(running > 0, "Chromium is running");
    // As cron, the OOM killer and systemd's KillMode=process do it.
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !processes_naming(&tmp).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        processes_naming(&tmp),
        Vec::<String>::new(),
        "{running} Chromium process(es) outlived their tagpulse"
    );
}

/// Until the browser is asking for the page that never comes.
async fn wait_for_slow_page(server: &MockServer) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let asked = server.received_requests().await.unwrap_or_default();
        if asked.iter().any(|r| r.url.path() == "/tag/slow") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the browser never asked for /tag/slow"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_missing_browser_says_how_to_install_one() {
    let (dir, tmp) = workdir();
    let d = dir.path();
    let server_uri = "http://127.0.0.1:9";
    let cfg = |extra: &str| {
        format!(
            "[taxonomy]\ndefaults = false\n\n[[occupations]]\nname = \"B\"\ntags = [\"x\"]\n\n\
             [[sources]]\nid = \"tt\"\nkind = \"tiktok_tag\"\nvia = [\"browser\"]\nbase_url = \"{server_uri}\"\n{extra}"
        )
    };
    fs::write(d.join("tagpulse.toml"), cfg("")).unwrap();
    let out = in_tmp(d, &tmp, &["ingest", "--source", "tt"])
        .env("PATH", d.join("empty-path"))
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("source tt: no Chromium found on PATH (looked for chromium, chromium-browser, google-chrome-stable, google-chrome, chrome): install one (Debian: `apt install chromium`) or set `browser` to its path"),
        "{all}"
    );
    fs::write(
        d.join("tagpulse.toml"),
        cfg("browser = \"/nonexistent/chromium\"\n"),
    )
    .unwrap();
    let out = in_tmp(d, &tmp, &["ingest", "--source", "tt"])
        .output()
        .unwrap();
    let all = text(&out);
    assert!(
        all.contains("browser /nonexistent/chromium: no such file (install Chromium, on Debian `apt install chromium`, or fix the path)"),
        "{all}"
    );
    fs::write(d.join("tagpulse.toml"), cfg("browser = \"/bin/true\"\n")).unwrap();
    let out = in_tmp(d, &tmp, &["ingest", "--source", "tt"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("source tt: cannot start /bin/true: "), "{all}");
    // Not a config error: `transform` and the other sources run without a browser.
    let shown = ok(d, &["config"]);
    assert!(
        shown.contains("tt (tiktok_tag): http://127.0.0.1:9 via browser"),
        "{shown}"
    );
}
