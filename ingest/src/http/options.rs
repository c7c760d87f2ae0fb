//! The keys every HTTP source shares (`base_url`, `timeout`, `rate_limit`, `headers`, ...),
//! parsed from the same `[[sources]]` entry as the source's own keys.

use std::collections::BTreeMap;
use std::time::Duration;
use tagpulse_model::text::Invalid;

use serde::{Deserialize, Deserializer};
use tagpulse_config::{key, ConfigError, Diagnostics, KeySegment, SourceEntry};

/// The HTTP keys of a `[[sources]]` entry; every one is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpOptions {
    /// Where the platform answers (default: its real host; for Mastodon and Bluesky the
    /// instance or PDS). A proxy, a mirror or a test server can stand in.
    pub base_url: Option<String>,
    /// The `User-Agent` header (default `tagpulse/<version>`).
    pub user_agent: Option<String>,
    /// Per request, e.g. `"20s"` (default 20 s).
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub timeout: Option<Duration>,
    /// Everything for one tag, retries included, e.g. `"2m"` (default 2 min).
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub deadline: Option<Duration>,
    /// An HTTP(S) proxy URL for every request.
    pub proxy: Option<String>,
    /// Extra headers; a value is a string or `{ env = "VAR" }` (read at start, never logged).
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderSpec>,
    /// Retries after the first attempt on connect errors, timeouts, 429 and 5xx (default 4).
    pub max_retries: Option<usize>,
    /// Requests at most, e.g. `"1/s"` or `"300/5m"` (default: the platform's limit).
    #[serde(default, deserialize_with = "de_opt_rate")]
    pub rate_limit: Option<RateLimit>,
    /// Tags fetched at once (default 1 for TikTok, 4 elsewhere).
    pub max_concurrency: Option<usize>,
    /// Wait between two tags of one worker, e.g. `"500ms"` (TikTok's default 0.5 s).
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub pause: Option<Duration>,
    /// The largest answer read, decompressed, e.g. `"8MiB"` or a number of bytes (default
    /// 8 MiB); a larger one fails its tag as `parse`.
    #[serde(default, deserialize_with = "de_opt_size")]
    pub max_body: Option<u64>,
}

/// `max_body` when not configured.
pub const DEFAULT_MAX_BODY: u64 = 8 << 20;

/// A size: a number of bytes, or a string with `B`, `KiB`, `MiB` or `GiB`.
pub fn parse_size(s: &str) -> Result<u64, Invalid> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!("invalid size {s:?}: unit {other:?}; write e.g. \"8MiB\"").into())
        }
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("invalid size {s:?}: write a positive size such as \"8MiB\"").into())
}

fn de_opt_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Bytes(0) => Err(serde::de::Error::custom("max_body must be above 0")),
        Size::Bytes(b) => Ok(Some(b)),
        Size::Text(t) => parse_size(&t).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A header value: literal, or read from an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum HeaderSpec {
    /// The value as written in the config (not a secret).
    Literal(String),
    /// `{ env = "VAR" }`: the value of `VAR` (a secret stays out of the file).
    Env {
        /// The env var holding the value (read at start, never logged).
        env: String,
    },
}

/// `n` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in each period.
    pub requests: u32,
    /// The period the requests are spread over.
    pub per: Duration,
}

impl RateLimit {
    /// Parses `"1/s"`, `"300/5m"`, `"10/1h"`.
    pub fn parse(s: &str) -> Result<RateLimit, Invalid> {
        let (n, per) = s.split_once('/').ok_or_else(|| {
            Invalid(format!(
                "invalid rate {s:?}: write e.g. \"1/s\" or \"300/5m\""
            ))
        })?;
        let requests: u32 =
            n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                Invalid(format!("invalid rate {s:?}: {n:?} is not a positive count"))
            })?;
        let per = per.trim();
        let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
            per.to_string()
        } else {
            format!("1{per}")
        };
        let per = humantime::parse_duration(&per)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Invalid(format!(
                    "invalid rate {s:?}: {per:?} is not a period such as s, 5m, 1h"
                ))
            })?;
        Ok(RateLimit { requests, per })
    }
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    let dur = humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!("invalid duration {s:?} ({e}); write e.g. \"20s\""))
    })?;
    if dur.is_zero() || dur > Duration::from_secs(86_400) {
        return Err(serde::de::Error::custom(format!(
            "{s:?}: give a duration between 1ms and 24h"
        )));
    }
    Ok(Some(dur))
}

fn de_opt_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RateLimit>, D::Error> {
    let s = String::deserialize(d)?;
    RateLimit::parse(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// The names of a struct's fields, as serde knows them (no hand-kept list to drift).
fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Fields(Option<&'static [&'static str]>);
    struct Grab<'a>(&'a mut Fields);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for Grab<'_> {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 .0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields = Fields(None);
    let _ = T::deserialize(Grab(&mut fields));
    fields.0.unwrap_or(&[])
}

/// Splits a `[[sources]]` entry into the HTTP keys and the source's own keys, and parses
/// both; a bad key in either is `file:line: sources[i].key: message`.
pub(super) fn parse_http_entry<T: serde::de::DeserializeOwned>(
    entry: &SourceEntry,
    diag: &Diagnostics,
) -> Result<(T, HttpOptions), ConfigError> {
    let http_keys = field_names::<HttpOptions>();
    let (mut http, mut own) = (toml::Table::new(), toml::Table::new());
    for (k, v) in &entry.table {
        if http_keys.contains(&k.as_str()) {
            http.insert(k.clone(), v.clone());
        } else {
            own.insert(k.clone(), v.clone());
        }
    }
    let own: T = diag.parse_section(&entry.path(), &own)?;
    let options: HttpOptions = diag.parse_section(&entry.path(), &http)?;
    let at = |name: &str| {
        let mut p = entry.path();
        p.push(key(name));
        p
    };
    if let Some(url) = &options.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(diag.invalid_at(
                &at("base_url"),
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
    }
    if options.max_concurrency == Some(0) {
        return Err(diag.invalid_at(&at("max_concurrency"), "must be at least 1".into()));
    }
    for (name, spec) in &options.headers {
        let mut p = at("headers");
        p.push(KeySegment::Key(name.clone()));
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(diag.invalid_at(&p, format!("{name:?} is not a valid header name")));
        }
        if let HeaderSpec::Env { env } = spec {
            if env.is_empty() {
                return Err(diag.invalid_at(&p, "name the environment variable".into()));
            }
        }
    }
    Ok((own, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_bad_ones_say_why() {
        assert_eq!(
            RateLimit::parse("1/s").unwrap(),
            RateLimit {
                requests: 1,
                per: Duration::from_secs(1)
            }
        );
        assert_eq!(
            RateLimit::parse("300/5m").unwrap().per,
            Duration::from_secs(300)
        );
        assert!(RateLimit::parse("0/s").unwrap_err().contains("positive"));
        assert!(RateLimit::parse("5").unwrap_err().contains("300/5m"));
        assert!(RateLimit::parse("5/fortnight").is_err());
    }

    #[test]
    fn serde_names_every_http_key() {
        let names = field_names::<HttpOptions>();
        assert_eq!(names.len(), 11);
        assert!(names.contains(&"base_url") && names.contains(&"max_body"));
    }

    #[test]
    fn sizes_parse_and_bad_ones_say_why() {
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("8MB").unwrap_err().contains("unit \"MB\""));
        assert!(parse_size("0").unwrap_err().contains("positive"));
        assert!(parse_size("99999999999GiB")
            .unwrap_err()
            .contains("positive"));
    }
}
