//! One search of the Research API: a tag's videos over a window, page by page, counted
//! per creation day; the API's error codes read into failure kinds.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Session, TikTokResearchSource};
use crate::http::HttpFailure;
use crate::{FailureKind, Tag};

/// The Research API's error codes, read from an error body.
pub(super) fn classify(f: &mut HttpFailure, body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let code = v
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("");
    let status = f.detail.split(':').next().unwrap_or("HTTP").to_string();
    match code {
        "daily_quota_limit_exceeded" => {
            f.kind = FailureKind::Quota;
            f.retryable = false;
        }
        "rate_limit_exceeded" => f.kind = FailureKind::RateLimited,
        "access_token_invalid" => f.kind = FailureKind::Auth,
        "" => return,
        _ => {}
    }
    f.detail = format!("{status}: {code}: {message}");
}

/// One page of a video query.
#[derive(Deserialize)]
struct QueryPage {
    #[serde(default)]
    videos: Vec<Value>,
    #[serde(default)]
    cursor: Option<i64>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    search_id: Option<String>,
}

/// Per creation day: videos and the sum of their views.
pub(super) type DayCounts = BTreeMap<NaiveDate, (u64, u64)>;

impl TikTokResearchSource {
    /// One page of `tag`'s videos created `from..=to`.
    async fn page(
        &self,
        s: &Session,
        tag: &Tag,
        (from, to): (NaiveDate, NaiveDate),
        cursor: i64,
        search_id: Option<&str>,
    ) -> Result<QueryPage, HttpFailure> {
        let url = self.http.url("/v2/research/video/query/");
        let mut body = json!({
            "query": {"and": [{"operation": "IN", "field_name": "hashtag_name",
                               "field_values": [tag.as_str()]}]},
            "start_date": from.format("%Y%m%d").to_string(),
            "end_date": to.format("%Y%m%d").to_string(),
            "max_count": self.cfg.max_count,
            "cursor": cursor,
        });
        if let Some(id) = search_id {
            body["search_id"] = json!(id);
        }
        let send = |token: String| {
            let (url, body) = (&url, &body);
            async move {
                self.http
                    .send(tag.as_str(), |c| {
                        c.post(url)
                            .query(&[("fields", "id,create_time,view_count,hashtag_names")])
                            .bearer_auth(&token)
                            .json(body)
                    })
                    .await
            }
        };
        let token = self.token(s, None).await?;
        let answer = match send(token.clone()).await {
            Err(f) if f.kind == FailureKind::Auth && f.detail.contains("access_token_invalid") => {
                tracing::info!(source = %self.cfg.id, "access token refused: renewing it once");
                send(self.token(s, Some(&token)).await?).await?
            }
            other => other?,
        };
        let v: Value = serde_json::from_slice(&answer).map_err(|e| {
            self.http
                .unreadable(tag.as_str(), "query", &answer, &format!("JSON: {e}"))
        })?;
        if let Some(code) = v.pointer("/error/code").and_then(Value::as_str) {
            if code != "ok" {
                let mut f = HttpFailure::fatal(FailureKind::HttpStatus, "HTTP 200");
                classify(&mut f, &answer);
                return Err(f);
            }
        }
        let page: QueryPage = serde_json::from_value(v.get("data").cloned().unwrap_or(Value::Null))
            .map_err(|e| {
                self.http
                    .unreadable(tag.as_str(), "query", &answer, &format!("data: {e}"))
            })?;
        // A count that is not a whole number in u64 is no count: store nothing of the tag.
        if let Some(e) = page.videos.iter().find_map(|v| video_views(v).err()) {
            return Err(self
                .http
                .unreadable(tag.as_str(), "query", &answer, &e.to_string()));
        }
        Ok(page)
    }

    /// Every video of `tag` created `from..=to`, counted per creation day (every day of
    /// the window present, zero when no video was made).
    pub(super) async fn count_window(
        &self,
        s: &Session,
        tag: &Tag,
        window: (NaiveDate, NaiveDate),
    ) -> Result<DayCounts, HttpFailure> {
        let mut restarted = false;
        'search: loop {
            let mut days: DayCounts = window
                .0
                .iter_days()
                .take_while(|d| *d <= window.1)
                .map(|d| (d, (0, 0)))
                .collect();
            let mut seen = HashSet::new();
            let (mut cursor, mut search_id) = (0i64, None::<String>);
            loop {
                let page = match self
                    .page(s, tag, window, cursor, search_id.as_deref())
                    .await
                {
                    Ok(p) => p,
                    // The API sometimes forgets a search it just started: start over once.
                    Err(f)
                        if search_id.is_some()
                            && !restarted
                            && f.detail.contains("invalid_params") =>
                    {
                        tracing::info!(source = %self.cfg.id, tag = tag.as_str(), "search_id refused ({}): restarting the search", f.detail);
                        restarted = true;
                        continue 'search;
                    }
                    Err(f) => return Err(f),
                };
                for video in &page.videos {
                    add_video(&mut days, &mut seen, video)
                        .map_err(|e| HttpFailure::fatal(FailureKind::Parse, e.to_string()))?;
                }
                let next = page.cursor.unwrap_or(cursor);
                if !page.has_more {
                    return Ok(days);
                }
                if next <= cursor {
                    return Err(HttpFailure::fatal(
                        FailureKind::Parse,
                        format!("has_more with a cursor that does not advance ({next})"),
                    ));
                }
                cursor = next;
                search_id = page.search_id.or(search_id);
            }
        }
    }
}

/// A video of a Research API answer that cannot be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub(super) enum VideoError {
    /// `create_time` is missing or not a time.
    #[error("video {id}: no readable create_time")]
    NoCreateTime {
        /// The video's id as the answer wrote it.
        id: String,
    },
    /// `view_count` is missing.
    #[error("video {id}: no view_count")]
    NoViewCount { id: String },
    /// `view_count` is negative, fractional, beyond u64 or null.
    #[error("video {id}: view_count {text} is not a whole number from 0 to {max}", max = u64::MAX)]
    BadViewCount {
        id: String,
        /// The value as written, clipped.
        text: String,
    },
    /// A day's views add up past u64.
    #[error("the views of {videos} on {day} add up past {max}", max = u64::MAX)]
    Overflow {
        /// Videos counted that day so far.
        videos: u64,
        day: chrono::NaiveDate,
    },
}

/// Adds one video to its creation day (once per id; outside the window it is ignored).
fn add_video(
    days: &mut DayCounts,
    seen: &mut HashSet<String>,
    video: &Value,
) -> Result<(), VideoError> {
    let id = video.get("id").map(|v| v.to_string()).unwrap_or_default();
    if !id.is_empty() && !seen.insert(id.clone()) {
        return Ok(());
    }
    let created = video
        .get("create_time")
        .and_then(Value::as_i64)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .ok_or_else(|| VideoError::NoCreateTime { id: id.clone() })?;
    let views = video_views(video)?;
    if let Some(day) = days.get_mut(&created.date_naive()) {
        day.0 += 1;
        day.1 = day.1.checked_add(views).ok_or(VideoError::Overflow {
            videos: day.0,
            day: created.date_naive(),
        })?;
    }
    Ok(())
}

/// A video's `view_count`: a whole number from 0 to u64::MAX, else an error naming it
/// (negative, fractional, beyond u64, null or missing are never summed as 0).
fn video_views(video: &Value) -> Result<u64, VideoError> {
    let id = video.get("id").map(|v| v.to_string()).unwrap_or_default();
    match video.get("view_count") {
        Some(v) => v.as_u64().ok_or_else(|| VideoError::BadViewCount {
            id,
            text: tagpulse_model::text::clip(&v.to_string(), 40).into_owned(),
        }),
        None => Err(VideoError::NoViewCount { id }),
    }
}
