//! TikTok against a local server that answers in the recorded shapes: statsV2 strings,
//! stats only, a video count of 0, no challengeInfo, statusCode 10000/10201/10205, an
//! empty 200, and the JSON failing while the tag page answers in each of its three forms.

use serde_json::{json, Value};
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::sources::testutil::*;
use crate::{FailureKind, Fetched};

fn detail(stats: Value, stats_v2: Option<Value>) -> Value {
    let mut info = json!({"challenge": {"id": "504245", "title": "t"}, "stats": stats});
    if let Some(v2) = stats_v2 {
        info["statsV2"] = v2;
    }
    json!({"statusCode": 0, "challengeInfo": info})
}

async fn json_answer(server: &MockServer, tag: &str, body: ResponseTemplate) {
    Mock::given(path("/api/challenge/detail/"))
        .and(query_param("challengeName", tag))
        .respond_with(body)
        .mount(server)
        .await;
}

async fn page(server: &MockServer, tag: &str, html: String) {
    Mock::given(path(format!("/tag/{tag}")))
        .respond_with(ResponseTemplate::new(200).set_body_string(html))
        .mount(server)
        .await;
}

fn entry(server: &MockServer, via: &str) -> String {
    format!(
        "id = \"tt\"\nkind = \"tiktok_tag\"\nbase_url = \"{}\"\nvia = {via}\npause = \"1ms\"\nrate_limit = \"1000/s\"\nmax_retries = 0\n",
        server.uri()
    )
}

/// (tag, metric, value) of every snapshot.
fn values(got: &Fetched) -> Vec<(String, String, u64)> {
    got.batch
        .snapshots
        .iter()
        .map(|s| (s.tag.as_str().to_string(), s.metric.clone(), s.value))
        .collect()
}

fn v(tag: &str, metric: &str, value: u64) -> (String, String, u64) {
    (tag.into(), metric.into(), value)
}

#[tokio::test]
async fn json_answers_exact_rounded_and_unknown_video_counts() {
    let server = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    json_answer(
        &server,
        "exact",
        ok(detail(
            json!({"videoCount": 0, "viewCount": 954800000000u64}),
            Some(json!({"videoCount": "56953998", "viewCount": "954780316160"})),
        )),
    )
    .await;
    json_answer(
        &server,
        "rounded",
        ok(detail(
            json!({"videoCount": 1200, "viewCount": 3400000}),
            None,
        )),
    )
    .await;
    json_answer(
        &server,
        "novideos",
        ok(detail(json!({"videoCount": 0, "viewCount": 5100}), None)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "[\"json\"]"), dir.path());
    let got = fetch(source.as_ref(), &["exact", "rounded", "novideos"]).await;
    assert_eq!(got.failures, []);
    assert_eq!(
        values(&got),
        [
            v("exact", "views", 954_780_316_160),
            v("exact", "videos", 56_953_998),
            v("rounded", "views", 3_400_000),
            v("rounded", "videos", 1200),
            v("novideos", "views", 5100),
        ],
        "a videoCount of 0 beside views is unknown, not stored as 0"
    );
    assert!(got.batch.snapshots.iter().all(|s| s.platform == "tiktok"));
}

#[tokio::test]
async fn blocks_captchas_and_missing_tags_store_nothing() {
    let server = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    json_answer(
        &server,
        "empty",
        ok(json!({"statusCode": 0, "challengeInfo": {}})),
    )
    .await;
    json_answer(&server, "captcha", ok(json!({"statusCode": 10000}))).await;
    json_answer(&server, "codeonly", ok(json!({"code": 10000}))).await;
    json_answer(&server, "invalid", ok(json!({"statusCode": 10201}))).await;
    json_answer(&server, "gone", ok(json!({"statusCode": 10205}))).await;
    json_answer(
        &server,
        "blank",
        ResponseTemplate::new(200).insert_header("x-ms-token", "abc"),
    )
    .await;
    json_answer(
        &server,
        "good",
        ok(detail(json!({"videoCount": 2, "viewCount": 9}), None)),
    )
    .await;
    // Views 0 and videos 0: how an unknown tag answers, no data rather than zeros.
    json_answer(
        &server,
        "zeros",
        ok(detail(json!({"videoCount": 0, "viewCount": 0}), None)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "[\"json\"]"), dir.path());
    let tags = [
        "empty", "captcha", "codeonly", "invalid", "gone", "blank", "good", "zeros",
    ];
    let got = fetch(source.as_ref(), &tags).await;
    let kinds = failure_kinds(&got);
    assert_eq!(
        kinds,
        [
            ("empty", FailureKind::NotFound),
            ("captcha", FailureKind::Captcha),
            ("codeonly", FailureKind::Captcha),
            ("invalid", FailureKind::SoftBlock),
            ("gone", FailureKind::NotFound),
            ("blank", FailureKind::SoftBlock),
            ("zeros", FailureKind::NotFound),
        ]
    );
    assert_eq!(
        values(&got),
        [v("good", "views", 9), v("good", "videos", 2)]
    );
    assert_eq!(got.tags_ok, 1);
    assert!(
        quarantined(dir.path(), "tt").is_empty(),
        "signals are not parse errors"
    );
}

#[tokio::test]
async fn when_the_json_fails_the_tag_page_answers_in_each_form() {
    let server = MockServer::start().await;
    for tag in ["rehydrated", "sigi", "million", "few", "billion", "missing"] {
        json_answer(&server, tag, ResponseTemplate::new(200)).await;
    }
    let rehydration = json!({"__DEFAULT_SCOPE__": {"webapp.challenge-detail":
        detail(json!({"videoCount": 0, "viewCount": 1}), Some(json!({"videoCount": "321", "viewCount": "98765"})))}});
    page(
        &server,
        "rehydrated",
        format!("<html><body><script id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\" type=\"application/json\">{rehydration}</script></body></html>"),
    )
    .await;
    let sigi = json!({"ChallengePage": {"challengeInfo": {"challenge": {"id": "7"}, "stats": {"videoCount": 40, "viewCount": 5000}}}});
    page(
        &server,
        "sigi",
        format!("<html><script id=\"SIGI_STATE\" type=\"application/json\">{sigi}</script></html>"),
    )
    .await;
    let vv = |text: &str| {
        format!("<html><body><h2 data-e2e=\"challenge-vvcount\"><strong>{text}</strong></h2></body></html>")
    };
    page(&server, "million", vv("1.2M views")).await;
    page(&server, "few", vv("259 views")).await;
    page(&server, "billion", vv("43.6B views")).await;
    page(
        &server,
        "missing",
        "<html><body><p>Couldn't find this hashtag</p></body></html>".into(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "[\"json\", \"html\"]"), dir.path());
    let got = fetch(
        source.as_ref(),
        &["rehydrated", "sigi", "million", "few", "billion", "missing"],
    )
    .await;
    assert_eq!(
        values(&got),
        [
            v("rehydrated", "views", 98765),
            v("rehydrated", "videos", 321),
            v("sigi", "views", 5000),
            v("sigi", "videos", 40),
            v("million", "views", 1_200_000),
            v("few", "views", 259),
            v("billion", "views", 43_600_000_000),
        ]
    );
    assert_eq!(got.failures.len(), 1);
    let f = &got.failures[0];
    assert_eq!((f.tag.as_str(), f.kind), ("missing", FailureKind::NotFound));
    assert!(f.detail.starts_with("json: soft_block"), "{}", f.detail);
    assert!(f.detail.contains("html: not_found"), "{}", f.detail);
}

#[tokio::test]
async fn an_unreadable_answer_is_quarantined_and_named() {
    let server = MockServer::start().await;
    json_answer(
        &server,
        "broken",
        ResponseTemplate::new(200).set_body_string("{\"statusCode\":0,"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = source(&entry(&server, "[\"json\"]"), dir.path());
    let got = fetch(source.as_ref(), &["broken"]).await;
    assert_eq!(got.failures[0].kind, FailureKind::Parse);
    let kept = quarantined(dir.path(), "tt");
    assert_eq!(kept.len(), 1);
    assert!(got.failures[0]
        .detail
        .contains(&kept[0].display().to_string()));
    assert!(got.batch.snapshots.is_empty());
}
