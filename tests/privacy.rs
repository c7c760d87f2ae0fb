//! What tagpulse keeps of the people behind the counts: nothing. The Bluesky and
//! Research API sources are fed posts and videos that carry a distinctive handle, user
//! id, user name and text; after a run at trace logging, none of them is found in the
//! lake (read through its Parquet files), the quarantine, the run records, the logs or
//! the reports. The counts themselves are stored, so the check is not empty.

use std::fs;
use std::path::Path;

use chrono::{Duration, Utc};
use polars::prelude::*;
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::*;

/// The words no file or log may hold after the run.
const CANARIES: [&str; 6] = [
    "canary-handle-7q",
    "did:plc:canary42",
    "CANARY POST TEXT about a night shift",
    "canary_user_41",
    "CANARY VIDEO DESCRIPTION",
    "canary-region-xx",
];

async fn server() -> MockServer {
    let server = MockServer::start().await;
    let yesterday = Utc::now() - Duration::days(1);
    Mock::given(path("/xrpc/com.atproto.server.createSession"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accessJwt": "bsky-access", "refreshJwt": "bsky-refresh"})),
        )
        .mount(&server)
        .await;
    let post = |n: u32| {
        json!({
            "uri": format!("at://did:plc:canary42/app.bsky.feed.post/{n}"),
            "cid": "bafy",
            "author": {"did": "did:plc:canary42", "handle": "canary-handle-7q.bsky.social",
                       "displayName": "Canary Person"},
            "record": {"text": "CANARY POST TEXT about a night shift #pflege",
                       "createdAt": yesterday.to_rfc3339()},
            "indexedAt": yesterday.to_rfc3339(),
        })
    };
    Mock::given(path("/xrpc/app.bsky.feed.searchPosts"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"posts": [post(1), post(2), post(3)]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v2/oauth/token/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "research-token", "expires_in": 7200, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    let t = yesterday.timestamp();
    let video = json!({"id": 7_111_222_333u64, "create_time": t, "view_count": 4242,
        "username": "canary_user_41", "video_description": "CANARY VIDEO DESCRIPTION #pflege",
        "region_code": "canary-region-xx", "hashtag_names": ["pflege"]});
    Mock::given(path("/v2/research/video/query/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"videos": [video], "cursor": 1, "has_more": false, "search_id": "s"},
            "error": {"code": "ok", "message": "", "log_id": "l"}})))
        .mount(&server)
        .await;
    server
}

/// Every text a file under `root` holds: Parquet files read as tables (their pages are
/// compressed), the rest as bytes.
fn texts(root: &Path, out: &mut Vec<(String, String)>) {
    for e in fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            texts(&p, out);
        } else if p.extension().is_some_and(|x| x == "parquet") {
            let df = ParquetReader::new(fs::File::open(&p).unwrap())
                .finish()
                .unwrap();
            let mut all = String::new();
            for c in df.columns() {
                if let Ok(s) = c.cast(&DataType::String) {
                    for v in s.str().unwrap().iter().flatten() {
                        all.push_str(v);
                        all.push('\n');
                    }
                }
            }
            out.push((p.display().to_string(), all));
        } else {
            out.push((
                p.display().to_string(),
                String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned(),
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_handle_user_id_or_post_text_is_kept_anywhere() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uri = server.uri();
    fs::write(
        d.join("tagpulse.toml"),
        format!(
            "[taxonomy]\ndefaults = false\n\n[[occupations]]\nname = \"Nursing\"\ntags = [\"pflege\"]\n\n\
             [[sources]]\nid = \"bluesky\"\nkind = \"bluesky\"\nbase_url = \"{uri}\"\nhandle = \"tp.bsky.social\"\n\
             password_env = \"TAGPULSE_TEST_BSKY_PASSWORD\"\ntags = [\"pflege\"]\n\n\
             [[sources]]\nid = \"research\"\nkind = \"tiktok_research\"\nbase_url = \"{uri}\"\nrate_limit = \"100/s\"\n"
        ),
    )
    .unwrap();
    let out = command(d, &["ingest"])
        .env("TAGPULSE_LOG", "trace")
        .env("TAGPULSE_TEST_BSKY_PASSWORD", "pw")
        .env("TAGPULSE_TIKTOK_CLIENT_KEY", "key")
        .env("TAGPULSE_TIKTOK_CLIENT_SECRET", "secret")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("TRACE") || stderr.contains("trace"),
        "logged at trace level"
    );
    // The counts are kept: three posts, one video's views.
    let mut files = Vec::new();
    texts(&d.join("data"), &mut files);
    let daily: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, _)| p.contains("observations/daily"))
        .collect();
    assert!(!daily.is_empty(), "daily counts stored: {files:?}");
    let counts = read(Path::new(&daily[0].0));
    assert!(counts.height() >= 2, "{counts}");
    // The search reads the tables: the tag itself is found where it is stored.
    assert!(
        files
            .iter()
            .any(|(p, t)| p.contains("observations") && t.contains("pflege")),
        "{files:?}"
    );
    files.push(("stdout".into(), stdout));
    files.push(("stderr".into(), stderr));
    for (place, text) in &files {
        for canary in CANARIES {
            assert!(!text.contains(canary), "{canary:?} found in {place}");
        }
    }
    assert!(files.len() > 4, "looked at {} places", files.len());
}
