//! How an HTTP answer is classified (which failures are retried) and how long the
//! platform asks us to wait (`Retry-After`, Mastodon's and X's reset headers).

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::FailureKind;

/// A failed attempt: its kind, a one-line detail, and whether to try again.
#[derive(Debug, Clone)]
pub struct HttpFailure {
    /// What went wrong.
    pub kind: FailureKind,
    /// One line: the status or error, never a header value.
    pub detail: String,
    /// Worth another attempt (connect errors, timeouts, 429, 5xx).
    pub retryable: bool,
    /// How long the platform asked us to wait before the next attempt.
    pub wait: Option<Duration>,
}

impl HttpFailure {
    /// A failure that is not retried.
    pub fn fatal(kind: FailureKind, detail: impl Into<String>) -> Self {
        HttpFailure {
            kind,
            detail: detail.into(),
            retryable: false,
            wait: None,
        }
    }

    /// A failed request (no HTTP answer).
    pub fn from_reqwest(e: &reqwest::Error) -> Self {
        let (kind, retryable) = if e.is_timeout() {
            (FailureKind::Timeout, true)
        } else if e.is_connect() || e.is_request() || e.is_decode() || e.is_body() {
            (FailureKind::Network, true)
        } else {
            (FailureKind::Network, false)
        };
        // The innermost cause says most ("connection refused", "deadline has elapsed").
        let mut detail = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            detail = format!("{detail}: {c}");
            cause = c.source();
        }
        HttpFailure {
            kind,
            detail,
            retryable,
            wait: None,
        }
    }

    /// A non-success status.
    pub fn from_status(status: StatusCode, headers: &HeaderMap) -> Self {
        let detail = format!("HTTP {status}");
        let (kind, retryable) = match status.as_u16() {
            429 => (FailureKind::RateLimited, true),
            401 | 403 => (FailureKind::Auth, false),
            404 | 410 => (FailureKind::NotFound, false),
            500..=599 => (FailureKind::HttpStatus, true),
            _ => (FailureKind::HttpStatus, false),
        };
        HttpFailure {
            kind,
            detail,
            retryable,
            wait: if retryable { wait_from(headers) } else { None },
        }
    }
}

/// The wait a 429 or 503 answer asks for: `Retry-After` (seconds or an HTTP date), else
/// X's `x-rate-limit-reset` (UNIX seconds), else Mastodon's `X-RateLimit-Reset` (ISO 8601).
pub fn wait_from(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let now = SystemTime::now();
    if let Some(v) = text("retry-after") {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return Some(at.duration_since(now).unwrap_or_default());
        }
    }
    if let Some(v) = text("x-rate-limit-reset") {
        if let Ok(unix) = v.parse::<u64>() {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(unix);
            return Some(at.duration_since(now).unwrap_or_default());
        }
    }
    if let Some(v) = text("x-ratelimit-reset") {
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(v) {
            let at: SystemTime = at.with_timezone(&chrono::Utc).into();
            return Some(at.duration_since(now).unwrap_or_default());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn waits_come_from_each_platforms_header() {
        assert_eq!(
            wait_from(&headers("retry-after", "7")),
            Some(Duration::from_secs(7))
        );
        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        let date = httpdate::fmt_http_date(in_a_minute);
        let w = wait_from(&headers("retry-after", &date)).unwrap();
        assert!(
            w > Duration::from_secs(55) && w <= Duration::from_secs(60),
            "{w:?}"
        );
        let unix = (chrono::Utc::now().timestamp() + 30).to_string();
        let w = wait_from(&headers("x-rate-limit-reset", &unix)).unwrap();
        assert!(
            w > Duration::from_secs(25) && w <= Duration::from_secs(30),
            "{w:?}"
        );
        let iso = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc3339();
        let w = wait_from(&headers("x-ratelimit-reset", &iso)).unwrap();
        assert!(
            w > Duration::from_secs(85) && w <= Duration::from_secs(90),
            "{w:?}"
        );
        assert_eq!(wait_from(&headers("retry-after", "soon")), None);
        assert_eq!(wait_from(&HeaderMap::new()), None);
    }

    #[test]
    fn statuses_map_to_kinds_and_retries() {
        let f =
            HttpFailure::from_status(StatusCode::TOO_MANY_REQUESTS, &headers("retry-after", "2"));
        assert_eq!(
            (f.kind, f.retryable, f.wait),
            (FailureKind::RateLimited, true, Some(Duration::from_secs(2)))
        );
        let f = HttpFailure::from_status(StatusCode::FORBIDDEN, &HeaderMap::new());
        assert_eq!((f.kind, f.retryable), (FailureKind::Auth, false));
        let f = HttpFailure::from_status(StatusCode::BAD_GATEWAY, &HeaderMap::new());
        assert_eq!((f.kind, f.retryable), (FailureKind::HttpStatus, true));
        let f = HttpFailure::from_status(StatusCode::BAD_REQUEST, &HeaderMap::new());
        assert_eq!((f.kind, f.retryable), (FailureKind::HttpStatus, false));
    }
}
