//! Bluesky against a local server: login once and reuse the saved session, a refresh
//! after the access token expired, three pages of posts over two days, a day that hits
//! `max_pages`, and a refused login.

use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::session::{self, Session};
use crate::http::private_file;
use crate::sources::testutil::*;
use crate::{FailureKind, NoProgress, Tag};

const SEARCH: &str = "/xrpc/app.bsky.feed.searchPosts";
const LOGIN: &str = "/xrpc/com.atproto.server.createSession";
const REFRESH: &str = "/xrpc/com.atproto.server.refreshSession";

fn posts(n: usize, cursor: Option<&str>) -> ResponseTemplate {
    let posts: Vec<Value> = (0..n)
        .map(|i| json!({"uri": format!("at://p/{i}")}))
        .collect();
    let mut body = json!({"posts": posts, "hitsTotal": 10000});
    if let Some(c) = cursor {
        body["cursor"] = json!(c);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn since(ago: i64) -> String {
    format!("{}T00:00:00Z", days_ago(ago))
}

fn entry(server: &MockServer, password_env: &str, extra: &str) -> String {
    format!(
        "id = \"bsky\"\nkind = \"bluesky\"\nbase_url = \"{}\"\nhandle = \"tp.bsky.social\"\npassword_env = \"{password_env}\"\ndays = 2\n{extra}",
        server.uri()
    )
}

async fn day_pages(server: &MockServer, token: &str) {
    // Two days ago: three pages (3 + 2 + 1 posts); yesterday: one page of 4.
    let day2 = since(2);
    for (cursor, n, next) in [
        (None, 3, Some("c1")),
        (Some("c1"), 2, Some("c2")),
        (Some("c2"), 1, None),
    ] {
        let mut m = Mock::given(path(SEARCH))
            .and(query_param("since", day2.as_str()))
            .and(query_param("tag", "azubi"))
            .and(query_param("q", "#azubi"))
            .and(header("authorization", format!("Bearer {token}").as_str()));
        m = match cursor {
            Some(c) => m.and(query_param("cursor", c)),
            None => m.and(query_param_is_missing("cursor")),
        };
        m.respond_with(posts(n, next)).mount(server).await;
    }
    Mock::given(path(SEARCH))
        .and(query_param("since", since(1).as_str()))
        .and(query_param(
            "until",
            format!("{}T00:00:00Z", days_ago(0)).as_str(),
        ))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(query_param_is_missing("cursor"))
        .respond_with(posts(4, Some("ignored-after-the-last-page")))
        .mount(server)
        .await;
    Mock::given(path(SEARCH))
        .and(query_param("since", since(1).as_str()))
        .and(query_param("cursor", "ignored-after-the-last-page"))
        .respond_with(posts(0, None))
        .mount(server)
        .await;
}

fn counts(got: &crate::Fetched) -> Vec<(String, u64)> {
    got.batch
        .daily
        .iter()
        .map(|d| (d.day.to_string(), d.value))
        .collect()
}

#[tokio::test]
async fn logs_in_once_counts_pages_per_day_and_reuses_the_session() {
    std::env::set_var("TAGPULSE_TEST_BSKY_A", "app-pass-1234");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .and(body_json(json!({"identifier": "tp.bsky.social", "password": "app-pass-1234"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accessJwt": "acc-1", "refreshJwt": "ref-1", "handle": "tp.bsky.social", "did": "did:plc:x"})))
        .expect(1)
        .mount(&server)
        .await;
    day_pages(&server, "acc-1").await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "TAGPULSE_TEST_BSKY_A", ""), dir.path());
    let got = fetch(source.as_ref(), &["azubi"]).await;
    assert_eq!(got.failures, []);
    assert_eq!(
        counts(&got),
        [(days_ago(2).to_string(), 6), (days_ago(1).to_string(), 4)],
        "posts are counted page by page, never hitsTotal"
    );
    assert!(got
        .batch
        .daily
        .iter()
        .all(|d| d.platform == "bluesky" && d.metric == "posts"));
    let file = private_file::session_file(dir.path(), "bsky").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second run reuses the saved session: the login mock expects exactly one call.
    let again = source_again(&server, dir.path()).await;
    assert_eq!(counts(&again)[0].1, 6);
}

async fn source_again(server: &MockServer, dir: &std::path::Path) -> crate::Fetched {
    let source = source(&entry(server, "TAGPULSE_TEST_BSKY_A", ""), dir);
    source
        .fetch(&[Tag::parse("azubi").unwrap()], &NoProgress)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_the_new_session_kept() {
    std::env::set_var("TAGPULSE_TEST_BSKY_B", "app-pass");
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = private_file::session_file(dir.path(), "bsky").unwrap();
    private_file::save(
        &file,
        &session::Session {
            access: "acc-old".into(),
            refresh: "ref-old".into(),
        },
    );
    Mock::given(path(SEARCH))
        .and(header("authorization", "Bearer acc-old"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "ExpiredToken", "message": "Token has expired"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REFRESH))
        .and(header("authorization", "Bearer ref-old"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accessJwt": "acc-new", "refreshJwt": "ref-new"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(LOGIN))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    day_pages(&server, "acc-new").await;
    let source = source(&entry(&server, "TAGPULSE_TEST_BSKY_B", ""), dir.path());
    let got = fetch(source.as_ref(), &["azubi"]).await;
    assert_eq!(got.failures, []);
    assert_eq!(counts(&got).len(), 2);
    assert_eq!(
        private_file::load::<Session>(&file).unwrap().access,
        "acc-new"
    );
}

#[tokio::test]
async fn a_day_over_max_pages_is_partial_and_not_stored() {
    std::env::set_var("TAGPULSE_TEST_BSKY_C", "app-pass");
    let server = MockServer::start().await;
    Mock::given(path(LOGIN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"accessJwt": "a", "refreshJwt": "r"})),
        )
        .mount(&server)
        .await;
    // Two days ago never ends (every page has a cursor); yesterday is small.
    Mock::given(path(SEARCH))
        .and(query_param("since", since(2).as_str()))
        .respond_with(posts(100, Some("more")))
        .mount(&server)
        .await;
    Mock::given(path(SEARCH))
        .and(query_param("since", since(1).as_str()))
        .respond_with(posts(2, None))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(
        &entry(&server, "TAGPULSE_TEST_BSKY_C", "max_pages = 3\n"),
        dir.path(),
    );
    let got = fetch(source.as_ref(), &["azubi"]).await;
    assert_eq!(
        counts(&got),
        [(days_ago(1).to_string(), 2)],
        "the capped day is not stored as 300"
    );
    assert_eq!(got.failures.len(), 1);
    assert_eq!(got.failures[0].kind, FailureKind::Partial);
    assert!(got.failures[0].detail.contains(&days_ago(2).to_string()));
    let searched = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == SEARCH)
        .count();
    assert_eq!(searched, 3 + 1);
}

#[tokio::test]
async fn a_refused_login_names_the_handle_and_not_the_password() {
    std::env::set_var("TAGPULSE_TEST_BSKY_D", "wrong-pass-9");
    let server = MockServer::start().await;
    Mock::given(path(LOGIN))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "AuthenticationRequired"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "TAGPULSE_TEST_BSKY_D", ""), dir.path());
    let err = source
        .fetch(&[Tag::parse("azubi").unwrap()], &NoProgress)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("login as tp.bsky.social failed: auth"),
        "{err}"
    );
    assert!(err.contains("TAGPULSE_TEST_BSKY_D"), "{err}");
    assert!(!err.contains("wrong-pass-9"), "{err}");
    let unset = source_with_unset(&server, dir.path()).await;
    assert!(unset.contains("TAGPULSE_TEST_BSKY_UNSET"), "{unset}");
}

async fn source_with_unset(server: &MockServer, dir: &std::path::Path) -> String {
    let source = source(&entry(server, "TAGPULSE_TEST_BSKY_UNSET", ""), dir);
    source
        .fetch(&[Tag::parse("azubi").unwrap()], &NoProgress)
        .await
        .unwrap_err()
        .to_string()
}
