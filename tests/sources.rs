//! Live sources end to end, against a local server that answers in the platforms' shapes:
//! `tagpulse run` with TikTok, Mastodon, X and Bluesky sources stores what succeeded, reports each
//! platform in its own panel, exits 1 for the tag that failed, and never logs a secret.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use chrono::{Datelike, Duration, Utc};
use serde_json::json;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::*;

const COOKIE: &str = "msToken=cookie-secret-4711";
const X_TOKEN: &str = "x-bearer-secret-0815";
const BSKY_PASSWORD: &str = "bsky-app-pass-secret-42";

async fn platform_server() -> MockServer {
    let server = MockServer::start().await;
    let today = Utc::now().date_naive();
    let history: Vec<_> = (0..8)
        .map(|ago| {
            let day = today - Duration::days(ago);
            let midnight = day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
            json!({"day": midnight.to_string(), "uses": (10 + ago).to_string(), "accounts": "3"})
        })
        .collect();
    Mock::given(path("/api/v1/tags/pflege"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "pflege", "history": history})),
        )
        .mount(&server)
        .await;
    let buckets: Vec<_> = (1..8)
        .map(|ago| {
            let start = (today - Duration::days(ago)).and_hms_opt(0, 0, 0).unwrap().and_utc();
            json!({"start": start.to_rfc3339(), "end": (start + Duration::days(1)).to_rfc3339(), "tweet_count": 100 + ago})
        })
        .collect();
    Mock::given(path("/2/tweets/counts/recent"))
        .and(query_param("query", "#pflege"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": buckets})))
        .mount(&server)
        .await;
    Mock::given(path("/xrpc/com.atproto.server.createSession"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"accessJwt": "bsky-access-secret", "refreshJwt": "bsky-refresh-secret"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/xrpc/app.bsky.feed.searchPosts"))
        .and(query_param("tag", "pflege"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"posts": [{"uri": "at://1"}, {"uri": "at://2"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/challenge/detail/"))
        .and(query_param("challengeName", "pflege"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"statusCode": 0,
            "challengeInfo": {"challenge": {"id": "1"}, "statsV2": {"viewCount": "990000", "videoCount": "77"}}})))
        .mount(&server)
        .await;
    Mock::given(path("/api/challenge/detail/"))
        .and(query_param("challengeName", "blocked"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"statusCode": 10000})))
        .mount(&server)
        .await;
    Mock::given(path("/tag/blocked"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// Three weeks of TikTok snapshots up to now, so last week has a TikTok panel too.
fn write_history(dir: &Path) {
    let now = Utc::now();
    let mut tsv = String::new();
    for h in (0..21 * 4).rev() {
        let t = now - Duration::hours(6 * h);
        writeln!(
            tsv,
            "{}\t{}",
            t.format("%Y-%m-%d %H:%M:%S"),
            900_000 - h * 1000
        )
        .unwrap();
    }
    fs::create_dir_all(dir.join("history")).unwrap();
    fs::write(dir.join("history/pflege.tsv"), tsv).unwrap();
}

fn config(server: &MockServer) -> String {
    let uri = server.uri();
    format!(
        r#"[taxonomy]
defaults = false

[[occupations]]
name = "Nursing"
tags = ["pflege", "blocked"]

[[sources]]
id = "history"
kind = "file"
paths = ["history/*.tsv"]

[[sources]]
id = "tiktok"
kind = "tiktok_tag"
base_url = "{uri}"
pause = "1ms"
max_retries = 0
headers = {{ cookie = {{ env = "TAGPULSE_TEST_COOKIE" }} }}

[[sources]]
id = "mastodon-test"
kind = "mastodon"
base_url = "{uri}"
tags = ["pflege"]

[[sources]]
id = "x"
kind = "x"
base_url = "{uri}"
token_env = "TAGPULSE_TEST_X_TOKEN"
tags = ["pflege"]

[[sources]]
id = "bluesky"
kind = "bluesky"
base_url = "{uri}"
handle = "tp.bsky.social"
password_env = "TAGPULSE_TEST_BSKY_PASSWORD"
tags = ["pflege"]
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn run_with_live_sources_stores_what_succeeded_and_reports_each_platform() {
    let server = platform_server().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_history(d);
    fs::write(d.join("tagpulse.toml"), config(&server)).unwrap();
    let last_week = Utc::now().date_naive() - Duration::days(7);
    let week = format!(
        "{}-W{:02}",
        last_week.iso_week().year(),
        last_week.iso_week().week()
    );

    let out = std::process::Command::new(BIN)
        .args(["run", "--week", &week])
        .current_dir(d)
        .env_remove("TAGPULSE_CONFIG")
        .env_remove("TAGPULSE_DATA_DIR")
        .env("TAGPULSE_TEST_COOKIE", COOKIE)
        .env("TAGPULSE_TEST_X_TOKEN", X_TOKEN)
        .env("TAGPULSE_TEST_BSKY_PASSWORD", BSKY_PASSWORD)
        .env("TAGPULSE_LOG", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one tag failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("tiktok: tags 1 ok, 1 failed (1 soft_block)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("#blocked: soft_block: json: captcha"),
        "{stderr}"
    );
    for secret in [
        COOKIE,
        X_TOKEN,
        BSKY_PASSWORD,
        "cookie-secret",
        "bearer-secret",
        "bsky-access-secret",
        "bsky-refresh-secret",
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked"
        );
    }

    // What succeeded is stored, nothing for the blocked tag.
    let snaps = read_dir_frames(&d.join("data/observations/snapshots"));
    let live: Vec<(String, String, f64)> = (0..snaps.height())
        .filter(|i| col_str(&snaps, "source")[*i] == "tiktok")
        .map(|i| {
            (
                col_str(&snaps, "tag")[i].clone(),
                col_str(&snaps, "metric")[i].clone(),
                col_f64(&snaps, "value")[i].unwrap(),
            )
        })
        .collect();
    let mut live = live;
    live.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        live,
        [
            ("pflege".to_string(), "videos".to_string(), 77.0),
            ("pflege".to_string(), "views".to_string(), 990_000.0),
        ]
    );
    let daily = read_dir_frames(&d.join("data/observations/daily"));
    let count = |platform: &str, metric: &str| {
        (0..daily.height())
            .filter(|i| {
                col_str(&daily, "platform")[*i] == platform
                    && col_str(&daily, "metric")[*i] == metric
            })
            .count()
    };
    assert_eq!(count("mastodon", "uses"), 7, "today is not a complete day");
    assert_eq!(count("mastodon", "accounts"), 7);
    assert_eq!(count("x", "posts"), 7);
    assert_eq!(count("bluesky", "posts"), 7, "the last 7 complete days");

    let html = fs::read_to_string(d.join(format!("reports/{week}/index.html"))).unwrap();
    for panel in [
        "TikTok views",
        "Mastodon uses",
        "Mastodon accounts",
        "X posts",
    ] {
        assert!(html.contains(panel), "no {panel} panel");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_check_shows_each_way_and_stores_nothing() {
    let server = platform_server().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_history(d);
    fs::write(d.join("tagpulse.toml"), config(&server)).unwrap();
    // The config loads without the secrets; the source that needs one says which.
    ok(d, &["config"]);
    let (_, err) = fails(d, &["sources", "check", "--source", "tiktok"]);
    assert!(err.contains("no source answered with data"), "{err}");
    let check = |tag: &str| {
        std::process::Command::new(BIN)
            .args(["sources", "check", "--source", "tiktok", "--tag", tag])
            .current_dir(d)
            .env_remove("TAGPULSE_CONFIG")
            .env_remove("TAGPULSE_DATA_DIR")
            .env("TAGPULSE_TEST_COOKIE", COOKIE)
            .output()
            .unwrap()
    };
    let answer = check("pflege");
    assert!(answer.status.success());
    let out = String::from_utf8_lossy(&answer.stdout);
    assert!(
        out.contains("json: would store snapshot tiktok/views #pflege = 990000"),
        "{out}"
    );
    assert!(
        out.contains("json: would store snapshot tiktok/videos #pflege = 77"),
        "{out}"
    );
    assert!(
        out.contains("html: failed: not_found: HTTP 404 Not Found"),
        "{out}"
    );
    let blocked = check("blocked");
    assert_eq!(blocked.status.code(), Some(1));
    let err = String::from_utf8_lossy(&blocked.stderr);
    assert!(err.contains("no source answered with data"), "{err}");
    let out = String::from_utf8_lossy(&blocked.stdout);
    assert!(
        out.contains("json: failed: captcha: statusCode 10000"),
        "{out}"
    );
    let (_, err) = fails(d, &["sources", "check", "--source", "nope"]);
    assert!(
        err.contains(
            "no source \"nope\" in the config; configured: history, tiktok, mastodon-test, x, bluesky"
        ),
        "{err}"
    );
    let parts = ["snapshots", "daily"]
        .iter()
        .filter_map(|k| fs::read_dir(d.join("data/observations").join(k)).ok())
        .flat_map(|r| r.flatten())
        .count();
    assert_eq!(parts, 0, "check stores nothing");

    // `ingest` runs only the sources named and stores what they yield.
    let out = ok(d, &["ingest", "--source", "mastodon-test"]);
    assert!(
        out.contains("mastodon-test: tags 1 ok; stored 0 snapshots and 14 daily counts"),
        "{out}"
    );
    let (code, err) = fails(d, &["ingest", "--source", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("TAGPULSE_TEST_X_TOKEN"), "{err}");
}
