//! Mastodon against a local server: history with zeros, a 404, and the shared HTTP
//! layer's behaviour (429 with Retry-After, 503 then success, a timeout, malformed JSON,
//! an auth failure without a retry storm).

use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::sources::testutil::*;
use crate::FailureKind;

fn history(days: &[(i64, &str, &str)]) -> serde_json::Value {
    let h: Vec<_> = days
        .iter()
        .map(|(ago, uses, accounts)| {
            json!({"day": midnight(days_ago(*ago)).to_string(), "uses": uses, "accounts": accounts})
        })
        .collect();
    json!({"name": "t", "url": "https://x/tags/t", "history": h})
}

/// The `uses` values stored, in order.
fn uses(got: &crate::Fetched) -> Vec<u64> {
    got.batch
        .daily
        .iter()
        .filter(|d| d.metric == "uses")
        .map(|d| d.value)
        .collect()
}

fn entry(server: &MockServer, extra: &str) -> String {
    format!(
        "id = \"m\"\nkind = \"mastodon\"\nbase_url = \"{}\"\n{extra}",
        server.uri()
    )
}

#[tokio::test]
async fn history_with_zeros_is_stored_per_complete_day_and_a_404_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tags/azubi"))
        .respond_with(ResponseTemplate::new(200).set_body_json(history(&[
            (0, "5", "4"),
            (1, "12", "9"),
            (2, "0", "0"),
            (3, "3", "1"),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tags/nosuchtag"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": "Record not found"})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "max_retries = 2\n"), dir.path());
    let got = fetch(source.as_ref(), &["azubi", "nosuchtag"]).await;

    let mut daily: Vec<(String, chrono::NaiveDate, u64)> = got
        .batch
        .daily
        .iter()
        .map(|d| (d.metric.clone(), d.day, d.value))
        .collect();
    daily.sort();
    assert_eq!(
        daily,
        [
            ("accounts".to_string(), days_ago(3), 1),
            ("accounts".to_string(), days_ago(2), 0),
            ("accounts".to_string(), days_ago(1), 9),
            ("uses".to_string(), days_ago(3), 3),
            ("uses".to_string(), days_ago(2), 0),
            ("uses".to_string(), days_ago(1), 12),
        ],
        "today (still counting) is not stored; zeros are"
    );
    assert!(got
        .batch
        .daily
        .iter()
        .all(|d| d.platform == "mastodon" && d.tag.as_str() == "azubi"));
    assert_eq!(got.tags_ok, 1);
    assert_eq!(got.failures.len(), 1);
    assert_eq!(got.failures[0].tag.as_str(), "nosuchtag");
    assert_eq!(got.failures[0].kind, FailureKind::NotFound);
}

#[tokio::test]
async fn a_429_waits_as_retry_after_says_and_a_503_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/tags/azubi"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/tags/koch"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/tags/azubi"))
        .respond_with(ResponseTemplate::new(200).set_body_json(history(&[(1, "7", "2")])))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/tags/koch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(history(&[(1, "1", "1")])))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "max_retries = 2\n"), dir.path());
    let start = Instant::now();
    let got = fetch(source.as_ref(), &["azubi", "koch"]).await;
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured ({:?})",
        start.elapsed()
    );
    assert_eq!(got.failures, []);
    assert_eq!(got.tags_ok, 2);
    assert_eq!(uses(&got), [7, 1]);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_timeout_and_malformed_json_fail_their_tag_only_and_the_payload_is_kept() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/tags/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/tags/broken"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"history\": [{\"day\": "))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/tags/azubi"))
        .respond_with(ResponseTemplate::new(200).set_body_json(history(&[(1, "7", "2")])))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(
        &entry(&server, "timeout = \"300ms\"\nmax_retries = 1\n"),
        dir.path(),
    );
    let got = fetch(source.as_ref(), &["slow", "broken", "azubi"]).await;
    assert_eq!(got.tags_ok, 1);
    assert_eq!(got.batch.daily.len(), 2, "azubi's day still lands");
    let kinds = failure_kinds(&got);
    assert_eq!(
        kinds,
        [
            ("slow", FailureKind::Timeout),
            ("broken", FailureKind::Parse)
        ]
    );
    let kept = quarantined(dir.path(), "m");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&kept[0]).unwrap(),
        "{\"history\": [{\"day\": "
    );
    assert!(
        got.failures[1]
            .detail
            .contains(&kept[0].display().to_string()),
        "{}",
        got.failures[1].detail
    );
    // One attempt and one retry of the slow tag, no more.
    let slow = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v1/tags/slow")
        .count();
    assert_eq!(slow, 2);
}

#[tokio::test]
async fn an_auth_failure_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/tags/azubi"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "max_retries = 5\n"), dir.path());
    let got = fetch(source.as_ref(), &["azubi"]).await;
    assert_eq!(got.failures[0].kind, FailureKind::Auth);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[test]
fn a_bad_http_key_names_its_line() {
    let text = "[[sources]]\nid = \"m\"\nkind = \"mastodon\"\n\nrate_limit = \"fast\"\n";
    let cfg = tagpulse_config::Config::from_toml(text, "t.toml").unwrap();
    let err = crate::sources::build_all(&cfg).err().unwrap().to_string();
    assert!(err.starts_with("t.toml:5: sources[0].rate_limit:"), "{err}");
    let text = "[[sources]]\nid = \"m\"\nkind = \"mastodon\"\nbase_urll = \"http://x\"\n";
    let cfg = tagpulse_config::Config::from_toml(text, "t.toml").unwrap();
    let err = crate::sources::build_all(&cfg).err().unwrap().to_string();
    assert!(err.starts_with("t.toml:4: sources[0].base_urll:"), "{err}");
}

#[tokio::test]
async fn the_rate_limit_spaces_requests_across_concurrent_tags() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(history(&[(1, "1", "1")])))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    // 4 workers, but 2 requests per second: 6 tags take at least 2 s after the burst of 2.
    let source = source(
        &entry(&server, "rate_limit = \"2/s\"\nmax_concurrency = 4\n"),
        dir.path(),
    );
    let start = Instant::now();
    let got = fetch(source.as_ref(), &["a", "b", "c", "d", "e", "f"]).await;
    let took = start.elapsed();
    assert_eq!(got.tags_ok, 6);
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn the_tag_deadline_bounds_retries_and_slow_answers() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/tags/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(
        &entry(&server, "deadline = \"400ms\"\ntimeout = \"20s\"\n"),
        dir.path(),
    );
    let start = Instant::now();
    let got = fetch(source.as_ref(), &["slow"]).await;
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(got.failures[0].kind, FailureKind::Timeout);
    assert!(
        got.failures[0].detail.contains("tag deadline of 400ms"),
        "{}",
        got.failures[0].detail
    );
}

#[test]
fn two_instances_under_one_platform_are_refused() {
    let text = "[[sources]]\nid = \"a\"\nkind = \"mastodon\"\n\n[[sources]]\nid = \"b\"\nkind = \"mastodon\"\nbase_url = \"https://mastodon.nl\"\n";
    let cfg = tagpulse_config::Config::from_toml(text, "t.toml").unwrap();
    let err = crate::sources::build_all(&cfg).err().unwrap().to_string();
    assert!(
        err.contains("sources[1].platform: source a uses platform \"mastodon\" already"),
        "{err}"
    );
    let ok = text.replace(
        "kind = \"mastodon\"\nbase_url",
        "kind = \"mastodon\"\nplatform = \"mastodon_nl\"\nbase_url",
    );
    let cfg = tagpulse_config::Config::from_toml(&ok, "t.toml").unwrap();
    let sources = crate::sources::build_all(&cfg).unwrap();
    assert_eq!(sources[1].exclusive_platform(), Some("mastodon_nl"));
}

/// Mounts `answer` for GET `path` on `server`.
async fn mount(server: &MockServer, p: &str, answer: ResponseTemplate) {
    Mock::given(path(p))
        .respond_with(answer)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_configured_header_never_follows_a_redirect_to_another_origin() {
    // SAFETY: only this test reads this variable.
    unsafe { std::env::set_var("TP_TEST_MASTODON_KEY", "k-secret-1") };
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    let to = |s: &MockServer, p: &str, code| {
        ResponseTemplate::new(code).insert_header("location", format!("{}{p}", s.uri()))
    };
    mount(
        &server,
        "/api/v1/tags/away",
        to(&other, "/api/v1/tags/away", 302),
    )
    .await;
    // Same origin: followed, with the header.
    mount(
        &server,
        "/api/v1/tags/moved",
        to(&server, "/api/v1/tags/here", 301),
    )
    .await;
    let ok = |uses| ResponseTemplate::new(200).set_body_json(history(&[(1, uses, "1")]));
    mount(&server, "/api/v1/tags/here", ok("7")).await;
    mount(&other, "/api/v1/tags/away", ok("1")).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = "max_retries = 0\nheaders = { x-api-key = { env = \"TP_TEST_MASTODON_KEY\" } }\n";
    let source = source(&entry(&server, extra), dir.path());
    let got = fetch(source.as_ref(), &["away", "moved"]).await;
    let seen = server.received_requests().await.unwrap();
    assert!(seen.iter().all(|r| r
        .headers
        .get("x-api-key")
        .is_some_and(|v| v == "k-secret-1")));
    assert!(
        other.received_requests().await.unwrap().is_empty(),
        "the other origin got no request, so never the header"
    );
    assert_eq!(got.failures.len(), 1, "{:?}", got.failures);
    assert_eq!(got.failures[0].tag.as_str(), "away");
    assert!(
        got.failures[0].detail.contains("302"),
        "{}",
        got.failures[0].detail
    );
    assert_eq!(uses(&got), [7]);
}

#[tokio::test]
async fn an_answer_over_max_body_fails_its_tag_as_parse_even_when_compressed() {
    use std::io::Write;
    let server = MockServer::start().await;
    // 4 KiB of history: over a 1 KiB max_body.
    let long: Vec<_> = (1..=60).map(|ago| (ago, "100000", "100000")).collect();
    mount(
        &server,
        "/api/v1/tags/big",
        ResponseTemplate::new(200).set_body_json(history(&long)),
    )
    .await;
    // 16 MiB of zeros, gzipped to 16 KiB: the decompressed size is what counts.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b'0'; 16 << 20]).unwrap();
    mount(
        &server,
        "/api/v1/tags/bomb",
        ResponseTemplate::new(200)
            .insert_header("content-encoding", "gzip")
            .set_body_bytes(gz.finish().unwrap()),
    )
    .await;
    let ok = ResponseTemplate::new(200).set_body_json(history(&[(1, "7", "2")]));
    mount(&server, "/api/v1/tags/small", ok).await;
    let dir = tempfile::tempdir().unwrap();
    let src = source(&entry(&server, "max_body = \"64KiB\"\n"), dir.path());
    let got = fetch(src.as_ref(), &["bomb", "small"]).await;
    assert_eq!(failure_kinds(&got), [("bomb", FailureKind::Parse)]);
    assert!(
        got.failures[0]
            .detail
            .contains("larger than max_body (65536 bytes)"),
        "{}",
        got.failures[0].detail
    );
    assert_eq!(uses(&got), [7]);
    let src = source(&entry(&server, "max_body = 1024\n"), dir.path());
    let got = fetch(src.as_ref(), &["big"]).await;
    assert_eq!(failure_kinds(&got), [("big", FailureKind::Parse)]);
    assert!(got.batch.daily.is_empty());
    // A bad size names its key.
    let text = format!("[[sources]]\n{}", entry(&server, "max_body = \"8MB\"\n"));
    let err = tagpulse_config::Config::from_toml(&text, "t.toml")
        .map(|c| crate::sources::build_all(&c).map(|_| ()))
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("max_body") && err.contains("unit \"MB\""),
        "{err}"
    );
}
