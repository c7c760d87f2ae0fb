//! X against a local server: partial first and last buckets, the bearer token, a 429
//! that waits for `x-rate-limit-reset`, a missing token.

use serde_json::json;
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::sources::testutil::*;
use crate::{FailureKind, NoProgress, Tag};

fn bucket(start: &str, end: &str, n: u64) -> serde_json::Value {
    json!({"start": start, "end": end, "tweet_count": n})
}

#[tokio::test]
async fn only_complete_utc_days_are_stored_and_the_token_is_sent() {
    std::env::set_var("TAGPULSE_TEST_X_TOKEN_A", "s3cret-token");
    let server = MockServer::start().await;
    Mock::given(path("/2/tweets/counts/recent"))
        .and(query_param("query", "#azubi"))
        .and(query_param("granularity", "day"))
        .and(header("authorization", "Bearer s3cret-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                bucket("2026-11-14T09:31:02.000Z", "2026-11-15T00:00:00.000Z", 5),
                bucket("2026-11-15T00:00:00.000Z", "2026-11-16T00:00:00.000Z", 42),
                bucket("2026-11-16T00:00:00.000Z", "2026-11-17T00:00:00.000Z", 0),
                bucket("2026-11-17T00:00:00.000Z", "2026-11-17T09:31:02.000Z", 7),
            ],
            "meta": {"total_tweet_count": 54}
        })))
        .mount(&server)
        .await;
    // A 429 whose reset is already due is retried at once.
    let reset = chrono::Utc::now().timestamp().to_string();
    Mock::given(path("/2/tweets/counts/recent"))
        .and(query_param("query", "#koch"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("x-rate-limit-reset", reset.as_str()),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/tweets/counts/recent"))
        .and(query_param("query", "#koch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            bucket("2026-11-15T00:00:00.000Z", "2026-11-16T00:00:00.000Z", 3)
        ]})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let entry = format!(
        "id = \"x\"\nkind = \"x\"\nbase_url = \"{}\"\ntoken_env = \"TAGPULSE_TEST_X_TOKEN_A\"\n",
        server.uri()
    );
    let source = source(&entry, dir.path());
    let got = fetch(source.as_ref(), &["azubi", "koch"]).await;
    assert_eq!(got.failures, []);
    let days: Vec<(&str, String, u64)> = got
        .batch
        .daily
        .iter()
        .map(|d| (d.tag.as_str(), d.day.to_string(), d.value))
        .collect();
    assert_eq!(
        days,
        [
            ("azubi", "2026-11-15".to_string(), 42),
            ("azubi", "2026-11-16".to_string(), 0),
            ("koch", "2026-11-15".to_string(), 3),
        ]
    );
    assert!(got
        .batch
        .daily
        .iter()
        .all(|d| d.platform == "x" && d.metric == "posts"));
}

#[tokio::test]
async fn a_missing_token_is_a_clear_error_and_a_refused_one_is_auth() {
    let server = MockServer::start().await;
    Mock::given(path("/2/tweets/counts/recent"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"title": "Unauthorized"})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let entry = |var: &str| {
        format!(
            "id = \"x\"\nkind = \"x\"\nbase_url = \"{}\"\ntoken_env = \"{var}\"\n",
            server.uri()
        )
    };
    let unset = source(&entry("TAGPULSE_TEST_X_TOKEN_UNSET"), dir.path());
    let err = unset
        .fetch(&[Tag::parse("azubi").unwrap()], &NoProgress)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("TAGPULSE_TEST_X_TOKEN_UNSET"), "{err}");
    std::env::set_var("TAGPULSE_TEST_X_TOKEN_B", "wrong");
    let refused = source(&entry("TAGPULSE_TEST_X_TOKEN_B"), dir.path());
    let got = fetch(refused.as_ref(), &["azubi"]).await;
    assert_eq!(got.failures[0].kind, FailureKind::Auth);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no retry storm"
    );
}
