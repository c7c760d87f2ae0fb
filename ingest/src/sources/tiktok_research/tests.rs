//! The Research API against a local server: the token issued, kept, and renewed when it
//! nears expiry mid-run or is refused; three pages by cursor and search_id; a spurious
//! invalid search_id; 429 and 500 retried; the daily quota stopping the run cleanly.

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::token::Token;
use crate::http::private_file;
use crate::sources::testutil::*;
use crate::FailureKind;

const TOKEN: &str = "/v2/oauth/token/";
const QUERY: &str = "/v2/research/video/query/";

fn entry(server: &MockServer) -> String {
    format!(
        "id = \"research\"\nkind = \"tiktok_research\"\nbase_url = \"{}\"\nclient_key_env = \"TP_TEST_RESEARCH_KEY\"\nclient_secret_env = \"TP_TEST_RESEARCH_SECRET\"\ndays = 3\nmax_retries = 2\nrate_limit = \"1000/s\"\n",
        server.uri()
    )
}

fn set_credentials() {
    // SAFETY: every test of this module sets the same values; no test reads others.
    unsafe {
        std::env::set_var("TP_TEST_RESEARCH_KEY", "key-1");
        std::env::set_var("TP_TEST_RESEARCH_SECRET", "secret-1");
    }
}

async fn token_answers(server: &MockServer, token: &str, expires_in: i64, times: u64) {
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("client_key=key-1"))
        .and(body_string_contains("client_secret=secret-1"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}),
        ))
        .up_to_n_times(times)
        .mount(server)
        .await;
}

/// Matches a query for `tag` at `cursor`, with `search_id` or without one.
fn page_of(tag: &str, cursor: i64, search_id: Option<&str>) -> impl Fn(&Request) -> bool {
    let (tag, search_id) = (tag.to_string(), search_id.map(str::to_string));
    move |r: &Request| {
        let Ok(b) = serde_json::from_slice::<Value>(&r.body) else {
            return false;
        };
        b.pointer("/query/and/0/field_values/0") == Some(&json!(tag))
            && b["cursor"] == json!(cursor)
            && b.get("search_id").and_then(Value::as_str) == search_id.as_deref()
    }
}

/// A video created `ago` days back at 10:00 UTC with `views` views.
fn video(id: u64, ago: i64, views: u64) -> Value {
    json!({"id": id, "create_time": midnight(days_ago(ago)) + 36_000, "view_count": views,
           "hashtag_names": ["azubi"]})
}

fn page(videos: Vec<Value>, cursor: i64, more: bool, search_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "data": {"videos": videos, "cursor": cursor, "has_more": more, "search_id": search_id},
        "error": {"code": "ok", "message": "", "log_id": "l"}}))
}

fn api_error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(
        json!({"data": {}, "error": {"code": code, "message": format!("{code} says the API"), "log_id": "l"}}),
    )
}

/// (tag, metric, days ago, value), sorted.
fn daily(got: &crate::Fetched) -> Vec<(String, String, i64, u64)> {
    let today = days_ago(0);
    let mut rows: Vec<_> = got
        .batch
        .daily
        .iter()
        .map(|d| {
            assert_eq!(d.platform, "tiktok");
            (
                d.tag.as_str().to_string(),
                d.metric.clone(),
                (today - d.day).num_days(),
                d.value,
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(tag: &str, metric: &str, ago: i64, value: u64) -> (String, String, i64, u64) {
    (tag.into(), metric.into(), ago, value)
}

#[tokio::test]
async fn three_pages_a_spurious_search_id_and_a_token_that_expires_mid_run() {
    set_credentials();
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The first token is good for 301 s: inside the 5-minute margin after a second.
    token_answers(&server, "tok-1", 301, 1).await;
    token_answers(&server, "tok-2", 7200, 1).await;
    let auth = |t: &str| header("authorization", format!("Bearer {t}").as_str());
    Mock::given(path(QUERY))
        .and(query_param(
            "fields",
            "id,create_time,view_count,hashtag_names",
        ))
        .and(page_of("azubi", 0, None))
        .and(auth("tok-1"))
        .respond_with(
            page(vec![video(1, 3, 100), video(2, 3, 50)], 2, true, "s-1")
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&server)
        .await;
    // The search is forgotten once: it restarts from the first page (tok-2 by then).
    Mock::given(path(QUERY))
        .and(page_of("azubi", 2, Some("s-1")))
        .respond_with(api_error(400, "invalid_params"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(QUERY))
        .and(page_of("azubi", 0, None))
        .and(auth("tok-2"))
        .respond_with(page(
            vec![video(1, 3, 100), video(2, 3, 50)],
            2,
            true,
            "s-1",
        ))
        .mount(&server)
        .await;
    Mock::given(path(QUERY))
        .and(page_of("azubi", 2, Some("s-1")))
        .and(auth("tok-2"))
        .respond_with(page(vec![video(3, 1, 7), video(2, 3, 50)], 4, true, "s-1"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path(QUERY))
        .and(page_of("azubi", 4, Some("s-1")))
        .and(auth("tok-2"))
        .respond_with(page(vec![video(4, 1, 3)], 5, false, "s-1"))
        .mount(&server)
        .await;

    let source = source(&entry(&server), dir.path());
    let got = fetch(source.as_ref(), &["azubi"]).await;
    assert_eq!(failure_kinds(&got), []);
    assert_eq!(
        daily(&got),
        [
            row("azubi", "video_views", 1, 10),
            row("azubi", "video_views", 2, 0),
            row("azubi", "video_views", 3, 150),
            row("azubi", "videos", 1, 2),
            row("azubi", "videos", 2, 0),
            row("azubi", "videos", 3, 2),
        ]
    );
    // The renewed token is kept for the next run, readable by the owner only.
    let file = private_file::session_file(dir.path(), "research").unwrap();
    let kept: Token = private_file::load(&file).unwrap();
    assert_eq!(kept.access_token, "tok-2");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn a_kept_token_is_reused_and_a_refused_one_renewed_once() {
    set_credentials();
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    private_file::save(
        &private_file::session_file(dir.path(), "research").unwrap(),
        &Token {
            access_token: "kept".into(),
            expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        },
    );
    token_answers(&server, "new", 7200, 1).await;
    Mock::given(path(QUERY))
        .and(header("authorization", "Bearer kept"))
        .respond_with(api_error(401, "access_token_invalid"))
        .mount(&server)
        .await;
    Mock::given(path(QUERY))
        .and(header("authorization", "Bearer new"))
        .respond_with(page(vec![video(9, 2, 40)], 1, false, "s"))
        .mount(&server)
        .await;
    let source = source(&entry(&server), dir.path());
    let got = fetch(source.as_ref(), &["azubi"]).await;
    assert_eq!(failure_kinds(&got), []);
    assert_eq!(daily(&got)[1], row("azubi", "video_views", 2, 40));
    let issued = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == TOKEN)
        .count();
    assert_eq!(
        issued, 1,
        "the kept token was tried first, then renewed once"
    );
}

#[tokio::test]
async fn rate_limits_and_500s_are_retried_and_the_quota_stops_the_run() {
    set_credentials();
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    token_answers(&server, "t", 7200, 5).await;
    for (tag, first) in [
        (
            "azubi",
            api_error(429, "rate_limit_exceeded").insert_header("retry-after", "0"),
        ),
        ("pflege", ResponseTemplate::new(500)),
    ] {
        Mock::given(path(QUERY))
            .and(page_of(tag, 0, None))
            .respond_with(first)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path(QUERY))
            .and(page_of(tag, 0, None))
            .respond_with(page(vec![video(1, 1, 5)], 1, false, "s"))
            .with_priority(2)
            .mount(&server)
            .await;
    }
    Mock::given(path(QUERY))
        .and(page_of("koch", 0, None))
        .respond_with(api_error(429, "daily_quota_limit_exceeded"))
        .mount(&server)
        .await;
    let source = source(&entry(&server), dir.path());
    let got = fetch(source.as_ref(), &["azubi", "pflege", "koch", "zimmerer"]).await;
    assert_eq!(
        failure_kinds(&got),
        [
            ("koch", FailureKind::Quota),
            ("zimmerer", FailureKind::Quota)
        ]
    );
    assert!(
        got.failures[0]
            .detail
            .contains("daily_quota_limit_exceeded: daily_quota_limit_exceeded says the API"),
        "{}",
        got.failures[0].detail
    );
    assert!(
        got.failures[1].detail.contains("not asked"),
        "{}",
        got.failures[1].detail
    );
    let asked = |tag: &str| {
        let tag = tag.to_string();
        move |r: &&Request| String::from_utf8_lossy(&r.body).contains(&format!("[\"{tag}\"]"))
    };
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.iter().filter(asked("azubi")).count(),
        2,
        "429 then ok"
    );
    assert_eq!(
        requests.iter().filter(asked("pflege")).count(),
        2,
        "500 then ok"
    );
    assert_eq!(
        requests.iter().filter(asked("koch")).count(),
        1,
        "a quota is not retried"
    );
    assert_eq!(requests.iter().filter(asked("zimmerer")).count(), 0);
    assert_eq!(
        got.batch.daily.len(),
        2 * 3 * 2,
        "two tags, three days, two metrics"
    );
    assert!(daily(&got).contains(&row("pflege", "videos", 1, 1)));
}

#[tokio::test]
async fn missing_credentials_and_bad_settings_say_which() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let s = source(
        &format!(
            "id = \"r\"\nkind = \"tiktok_research\"\nbase_url = \"{}\"\nclient_key_env = \"TP_TEST_UNSET_KEY\"\n",
            server.uri()
        ),
        dir.path(),
    );
    let tags = [crate::Tag::parse("azubi").unwrap()];
    let err = s
        .fetch(&tags, &crate::NoProgress)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("set the client key in TP_TEST_UNSET_KEY"),
        "{err}"
    );
    let text = "[[sources]]\nid = \"r\"\nkind = \"tiktok_research\"\ndays = 31\n";
    let cfg = tagpulse_config::Config::from_toml(text, "t.toml").unwrap();
    let err = crate::sources::build_all(&cfg).err().unwrap().to_string();
    assert!(
        err.contains("t.toml:4: sources[0].days: give 1 to 30 days"),
        "{err}"
    );
}

#[tokio::test]
async fn a_view_count_that_is_no_count_fails_its_tag_and_stores_nothing() {
    set_credentials();
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    token_answers(&server, "t", 7200, 1).await;
    let at = midnight(days_ago(1)) + 36_000;
    let with_views = |views: &str| -> Value {
        serde_json::from_str(&format!(
            r#"{{"id": 1, "create_time": {at}, {views} "hashtag_names": ["x"]}}"#
        ))
        .unwrap()
    };
    let hostile = [
        ("negative", vec![with_views(r#""view_count": -5,"#)]),
        ("huge", vec![with_views(r#""view_count": 1e308,"#)]),
        (
            "beyond",
            vec![with_views(r#""view_count": 1180591620717411303424,"#)],
        ),
        ("fraction", vec![with_views(r#""view_count": 12.5,"#)]),
        ("null", vec![with_views(r#""view_count": null,"#)]),
        ("missing", vec![with_views("")]),
        // Three videos at u64::MAX: the sum would wrap.
        ("wrap", (1..=3).map(|id| video(id, 1, u64::MAX)).collect()),
        ("good", vec![video(1, 1, 7), video(2, 1, 5)]),
    ];
    for (tag, videos) in &hostile {
        Mock::given(path(QUERY))
            .and(page_of(tag, 0, None))
            .respond_with(page(videos.clone(), 1, false, "s"))
            .mount(&server)
            .await;
    }
    let source = source(&entry(&server), dir.path());
    let tags: Vec<&str> = hostile.iter().map(|h| h.0).collect();
    let got = fetch(source.as_ref(), &tags).await;
    let failed = failure_kinds(&got);
    assert_eq!(failed.len(), 7, "{failed:?}");
    assert!(
        failed.iter().all(|(_, k)| *k == FailureKind::Parse),
        "{failed:?}"
    );
    for (f, tag) in got.failures.iter().zip(&tags) {
        let want = match *tag {
            "missing" => "no view_count".to_string(),
            "wrap" => "add up past".to_string(),
            _ => "is not a whole number".to_string(),
        };
        assert!(f.detail.contains(&want), "{tag}: {}", f.detail);
    }
    // Only the good tag's day is stored: 2 videos, 12 views.
    let mine: Vec<_> = daily(&got).into_iter().filter(|r| r.2 == 1).collect();
    assert_eq!(
        mine,
        [
            row("good", "video_views", 1, 12),
            row("good", "videos", 1, 2)
        ]
    );
    assert!(daily(&got).iter().all(|r| r.0 == "good"));
    // The unreadable answers are kept for a look (the wrap is a valid answer).
    assert_eq!(quarantined(dir.path(), "research").len(), 6);
}
