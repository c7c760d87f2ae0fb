//! Reading TikTok's counters from the challenge-detail JSON and from the tag page, with
//! every `statusCode` mapped to its failure kind. Shared by every way of fetching.

use scraper::{Html, Selector};
use serde_json::Value;

use crate::FailureKind;

/// The counters of one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Views of the tag's videos.
    pub views: u64,
    /// Videos with the tag, when the answer knows it.
    pub videos: Option<u64>,
}

/// Why an answer gave no counters: a platform signal, or a payload we could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoCounters {
    /// The platform said why (blocked, captcha, not found ...).
    Signal(FailureKind, String),
    /// The payload is not what we expect (quarantined by the caller).
    Unreadable(String),
}

/// The counters of a challenge-detail answer (`statusCode`, `challengeInfo`).
pub fn from_json(body: &[u8]) -> Result<Counters, NoCounters> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(NoCounters::Signal(
            FailureKind::SoftBlock,
            "HTTP 200 with an empty body".into(),
        ));
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| NoCounters::Unreadable(format!("JSON: {e}")))?;
    from_detail(&v)
}

/// The counters of a parsed challenge-detail object.
fn from_detail(v: &Value) -> Result<Counters, NoCounters> {
    let status = v
        .get("statusCode")
        .or_else(|| v.get("status_code"))
        .or_else(|| v.get("code"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if status != 0 {
        return Err(NoCounters::Signal(
            status_kind(status),
            format!("statusCode {status}"),
        ));
    }
    let info = v.get("challengeInfo");
    let has_id = info
        .and_then(|i| i.pointer("/challenge/id"))
        .is_some_and(|id| !id.is_null() && id.as_str() != Some(""));
    if !has_id {
        return Err(NoCounters::Signal(
            FailureKind::NotFound,
            "no challengeInfo.challenge.id: the tag has no data".into(),
        ));
    }
    let info = info.expect("checked");
    let exact = |key: &str| {
        info.pointer(&format!("/statsV2/{key}"))
            .and_then(Value::as_str)
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let rounded = |key: &str| {
        info.pointer(&format!("/stats/{key}"))
            .and_then(Value::as_u64)
    };
    let views = exact("viewCount")
        .or_else(|| rounded("viewCount"))
        .ok_or_else(|| {
            NoCounters::Unreadable("challengeInfo has neither statsV2 nor stats viewCount".into())
        })?;
    let videos = exact("videoCount").or_else(|| rounded("videoCount"));
    // No views and no videos is how an unknown tag answers, like a missing id: no data,
    // not a counter at zero.
    if views == 0 && videos.unwrap_or(0) == 0 {
        return Err(NoCounters::Signal(
            FailureKind::NotFound,
            "viewCount 0 and no videos: the tag has no data".into(),
        ));
    }
    // A video count of 0 beside views is "unknown", never zero.
    let videos = videos.filter(|n| *n > 0);
    Ok(Counters { views, videos })
}

/// The failure kind of a non-zero `statusCode`.
pub fn status_kind(status: i64) -> FailureKind {
    match status {
        10000 => FailureKind::Captcha,
        10201 => FailureKind::SoftBlock,
        10205 | 10209 | 10211 | 10212 => FailureKind::NotFound,
        _ => FailureKind::SoftBlock,
    }
}

/// The counters of a tag page: the rehydration JSON, then `SIGI_STATE`, then the visible
/// view count (3 significant digits, videos unknown).
pub fn from_html(body: &[u8]) -> Result<Counters, NoCounters> {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return Err(NoCounters::Signal(
            FailureKind::SoftBlock,
            "HTTP 200 with an empty page".into(),
        ));
    }
    let page = Html::parse_document(&text);
    let script = |id: &str| {
        let sel = Selector::parse(&format!("script#{id}")).expect("valid selector");
        page.select(&sel).next().map(|e| e.inner_html())
    };
    if let Some(json) = script("__UNIVERSAL_DATA_FOR_REHYDRATION__") {
        let v: Value = serde_json::from_str(&json)
            .map_err(|e| NoCounters::Unreadable(format!("rehydration JSON: {e}")))?;
        if let Some(detail) = v.pointer("/__DEFAULT_SCOPE__/webapp.challenge-detail") {
            return from_detail(detail);
        }
    }
    if let Some(json) = script("SIGI_STATE") {
        let v: Value = serde_json::from_str(&json)
            .map_err(|e| NoCounters::Unreadable(format!("SIGI_STATE JSON: {e}")))?;
        if let Some(detail) = find_detail(&v) {
            return from_detail(detail);
        }
    }
    let sel = Selector::parse(r#"[data-e2e="challenge-vvcount"]"#).expect("valid selector");
    if let Some(el) = page.select(&sel).next() {
        let shown: String = el.text().collect();
        return abbreviated_views(&shown)
            .map(|views| Counters {
                views,
                videos: None,
            })
            .ok_or_else(|| NoCounters::Unreadable(format!("view count {shown:?}")));
    }
    if text.contains("Couldn't find this hashtag") {
        return Err(NoCounters::Signal(
            FailureKind::NotFound,
            "the page says \"Couldn't find this hashtag\"".into(),
        ));
    }
    if text.contains("captcha") || text.contains("verify") {
        return Err(NoCounters::Signal(
            FailureKind::Captcha,
            "the page asks for a verification".into(),
        ));
    }
    Err(NoCounters::Unreadable(
        "no counters on the page (no rehydration data, SIGI_STATE or view count)".into(),
    ))
}

/// The first object holding a `challengeInfo` (SIGI_STATE nests it by page).
fn find_detail(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(map) if map.contains_key("challengeInfo") => Some(v),
        Value::Object(map) => map.values().find_map(find_detail),
        Value::Array(items) => items.iter().find_map(find_detail),
        _ => None,
    }
}

/// "43.6B views" -> 43,600,000,000; "259 views" -> 259; K, M, B as 1e3, 1e6, 1e9.
pub fn abbreviated_views(text: &str) -> Option<u64> {
    let word = text.split_whitespace().next()?.replace(',', "");
    let (digits, scale) = match word.chars().last()? {
        'K' | 'k' => (&word[..word.len() - 1], 1e3),
        'M' | 'm' => (&word[..word.len() - 1], 1e6),
        'B' | 'b' => (&word[..word.len() - 1], 1e9),
        _ => (word.as_str(), 1.0),
    };
    let n: f64 = digits
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    // A plain count is whole; past u64 the page is not showing a count ("as u64" would
    // saturate it to 18446744073709551615).
    if scale == 1.0 && n.fract() != 0.0 {
        return None;
    }
    let v = (n * scale).round();
    (v < 18_446_744_073_709_551_616.0).then_some(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviated_counts() {
        assert_eq!(abbreviated_views("1.2M views"), Some(1_200_000));
        assert_eq!(abbreviated_views("259 views"), Some(259));
        assert_eq!(abbreviated_views("43.6B views"), Some(43_600_000_000));
        assert_eq!(abbreviated_views("598.1M"), Some(598_100_000));
        assert_eq!(abbreviated_views("views"), None);
        assert_eq!(abbreviated_views("99999999999999999999999B views"), None);
        assert_eq!(abbreviated_views("18446744073709551616 views"), None);
        assert_eq!(abbreviated_views("12.5 views"), None);
        assert_eq!(abbreviated_views("-5 views"), None);
        assert_eq!(abbreviated_views("18.4B views"), Some(18_400_000_000));
    }

    #[test]
    fn status_codes_map_to_kinds() {
        for (code, kind) in [
            (10000, FailureKind::Captcha),
            (10201, FailureKind::SoftBlock),
            (10205, FailureKind::NotFound),
            (10211, FailureKind::NotFound),
        ] {
            let body = format!("{{\"statusCode\":{code}}}");
            assert_eq!(
                from_json(body.as_bytes()),
                Err(NoCounters::Signal(kind, format!("statusCode {code}")))
            );
        }
        assert!(matches!(
            from_json(b"{\"code\":10000}"),
            Err(NoCounters::Signal(FailureKind::Captcha, _))
        ));
    }
}
