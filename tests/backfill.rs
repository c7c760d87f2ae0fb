//! `tagpulse backfill`: the Research API window by window against a local server, the
//! daily quota running out mid-backfill and the same command resuming where it stopped;
//! the file source keeping only the range asked; ranges and sources that cannot be.

use std::fs;
use std::path::Path;
use std::process::Output;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::*;

fn video(day: &str, views: u64) -> Value {
    let t = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    json!({"id": t, "create_time": t, "view_count": views})
}

fn answer(tag: &str, start: &str, reply: ResponseTemplate) -> Mock {
    Mock::given(path("/v2/research/video/query/"))
        .and(body_string_contains(format!("[\"{tag}\"]").as_str()))
        .and(body_string_contains(
            format!("\"start_date\":\"{start}\"").as_str(),
        ))
        .respond_with(reply)
}

fn one(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "data": {"videos": [v], "cursor": 1, "has_more": false, "search_id": "s"},
        "error": {"code": "ok", "message": "", "log_id": "l"}}))
}

async fn research_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/v2/oauth/token/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "research-token-secret", "expires_in": 7200, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    for tag in ["azubi", "pflege"] {
        answer(tag, "20260101", one(video("2026-01-05", 10)))
            .mount(&server)
            .await;
    }
    answer("azubi", "20260131", one(video("2026-02-03", 20)))
        .mount(&server)
        .await;
    // The day's quota runs out at the second tag of the second window, once.
    answer("pflege",
        "20260131",
        ResponseTemplate::new(429).set_body_json(json!({"data": {},
            "error": {"code": "daily_quota_limit_exceeded", "message": "quota used up", "log_id": "l"}})),
    )
    .up_to_n_times(1)
    .with_priority(1)
    .mount(&server)
    .await;
    answer("pflege", "20260131", one(video("2026-02-10", 30)))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

fn backfill(d: &Path, args: &[&str]) -> Output {
    command(d, &[&["backfill"], args].concat())
        .env("TAGPULSE_TIKTOK_CLIENT_KEY", "research-key")
        .env("TAGPULSE_TIKTOK_CLIENT_SECRET", "research-secret-value")
        .output()
        .unwrap()
}

fn both(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn research_backfill_stops_at_the_quota_and_resumes_where_it_stopped() {
    let server = research_server().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("tagpulse.toml"),
        format!(
            "[taxonomy]\ndefaults = false\n\n[[occupations]]\nname = \"Trades\"\ntags = [\"azubi\", \"pflege\"]\n\n\
             [[sources]]\nid = \"research\"\nkind = \"tiktok_research\"\nbase_url = \"{}\"\nrate_limit = \"100/s\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let range = [
        "--source",
        "research",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-14",
    ];

    let first = backfill(d, &range);
    let (out, err) = both(&first);
    assert_eq!(first.status.code(), Some(1), "{out}\n{err}");
    assert!(
        out.contains("research: 2026-01-01 to 2026-02-14: 1 of 2 window(s) done; stored 0 snapshots and 150 daily counts"),
        "{out}"
    );
    assert!(
        err.contains("backfill research stopped: quota in the window 2026-01-31 to 2026-02-14 (#pflege: HTTP 429 Too Many Requests: daily_quota_limit_exceeded: quota used up); run the same command again to resume"),
        "{err}"
    );
    let state: Value =
        serde_json::from_slice(&fs::read(d.join("data/backfill/research.json")).unwrap()).unwrap();
    assert_eq!(state["done_through"], json!("2026-01-30"));
    assert_eq!(state["window_tags_done"], json!(["azubi"]));

    let second = backfill(d, &range);
    let (out, err) = both(&second);
    assert!(second.status.success(), "{out}\n{err}");
    assert!(out.contains("research: resumed after 2026-01-30"), "{out}");
    assert!(
        out.contains("2 of 2 window(s) done; stored 0 snapshots and 30 daily counts"),
        "{out}"
    );
    assert!(!d.join("data/backfill/research.json").exists());
    for secret in ["research-secret-value", "research-token-secret"] {
        assert!(!out.contains(secret) && !err.contains(secret));
    }
    // Each window of each tag was asked once, but for the quota's retry.
    let asked = |tag: &str, start: &str| {
        let (tag, start) = (format!("[\"{tag}\"]"), format!("\"{start}\""));
        move |r: &&wiremock::Request| {
            let body = String::from_utf8_lossy(&r.body);
            body.contains(&tag) && body.contains(&start)
        }
    };
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.iter().filter(asked("azubi", "20260101")).count(),
        1
    );
    assert_eq!(
        requests.iter().filter(asked("pflege", "20260101")).count(),
        1
    );
    assert_eq!(
        requests.iter().filter(asked("azubi", "20260131")).count(),
        1
    );
    assert_eq!(
        requests.iter().filter(asked("pflege", "20260131")).count(),
        2
    );

    let daily = read_dir_frames(&d.join("data/observations/daily"));
    assert_eq!(daily.height(), 2 * 45 * 2, "two tags, 45 days, two metrics");
    let (tags, metrics, days) = (
        col_str(&daily, "tag"),
        col_str(&daily, "metric"),
        col_date(&daily, "day"),
    );
    let values = col_f64(&daily, "value");
    let mut nonzero: Vec<(String, String, String, f64)> = (0..daily.height())
        .filter(|&i| values[i] != Some(0.0))
        .map(|i| {
            (
                tags[i].clone(),
                metrics[i].clone(),
                days[i].to_string(),
                values[i].unwrap(),
            )
        })
        .collect();
    nonzero.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let r = |t: &str, m: &str, day: &str, v: f64| (t.into(), m.into(), day.into(), v);
    assert_eq!(
        nonzero,
        [
            r("azubi", "video_views", "2026-01-05", 10.0),
            r("azubi", "video_views", "2026-02-03", 20.0),
            r("azubi", "videos", "2026-01-05", 1.0),
            r("azubi", "videos", "2026-02-03", 1.0),
            r("pflege", "video_views", "2026-01-05", 10.0),
            r("pflege", "video_views", "2026-02-10", 30.0),
            r("pflege", "videos", "2026-01-05", 1.0),
            r("pflege", "videos", "2026-02-10", 1.0),
        ]
    );
}

#[test]
fn file_backfill_keeps_the_range_and_refuses_what_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("history")).unwrap();
    let mut tsv = String::new();
    let mut day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    while day <= NaiveDate::from_ymd_opt(2026, 3, 31).unwrap() {
        tsv.push_str(&format!("{day} 12:00:00\t{}\n", 1000 + day.ordinal()));
        day = day.succ_opt().unwrap();
    }
    fs::write(d.join("history/azubi.tsv"), tsv).unwrap();
    fs::write(
        d.join("tagpulse.toml"),
        "[[sources]]\nid = \"history\"\nkind = \"file\"\npaths = [\"history/*.tsv\"]\n\n\
         [[sources]]\nid = \"tt\"\nkind = \"tiktok_tag\"\n",
    )
    .unwrap();
    let out = ok(
        d,
        &[
            "backfill",
            "--source",
            "history",
            "--from",
            "2026-02-01",
            "--to",
            "2026-02-28",
        ],
    );
    assert!(
        out.contains("history: 2026-02-01 to 2026-02-28: 1 of 1 window(s) done; stored 28 snapshots and 0 daily counts"),
        "{out}"
    );
    let snaps = read_dir_frames(&d.join("data/observations/snapshots"));
    let values = col_f64(&snaps, "value");
    let (lo, hi) = (1000.0 + 32.0, 1000.0 + 59.0);
    assert!(
        values.iter().all(|v| (lo..=hi).contains(&v.unwrap())),
        "{values:?}"
    );

    let (_, err) = fails(d, &["backfill", "--source", "tt", "--from", "2026-01-01"]);
    assert!(
        err.contains("backfill tt: this kind of source cannot query the past"),
        "{err}"
    );
    let (_, err) = fails(
        d,
        &[
            "backfill",
            "--source",
            "history",
            "--from",
            "2026-03-01",
            "--to",
            "2026-02-01",
        ],
    );
    assert!(
        err.contains("--from 2026-03-01 is after --to 2026-02-01"),
        "{err}"
    );
    let (_, err) = fails(d, &["backfill", "--source", "nope", "--from", "2026-01-01"]);
    assert!(err.contains("no source \"nope\" in the config"), "{err}");
    let (_, err) = fails(
        d,
        &["backfill", "--source", "history", "--from", "2026-13-01"],
    );
    assert!(err.contains("--from"), "{err}");
}
