//! `[storage]`: where observations and weekly tables live (Parquet lake or ClickHouse).

use std::path::PathBuf;
use std::time::Duration;
use tagpulse_model::text::Invalid;

use serde::{Deserialize, Deserializer};

use crate::de_duration;

/// `[storage]`: where observations and weekly tables live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Which store: `parquet` (the embedded lake, default) or `clickhouse`.
    #[serde(default)]
    pub backend: Backend,
    /// Root of the Parquet lake, and of the ClickHouse backend's local spool; relative
    /// paths are relative to the working directory.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `[storage.clickhouse]`: the server, when `backend = "clickhouse"`.
    #[serde(default)]
    pub clickhouse: Option<ClickHouseConfig>,
    /// How long a writing command waits for another tagpulse to release `data_dir`.
    #[serde(default = "default_lock_timeout", deserialize_with = "de_duration")]
    pub lock_timeout: Duration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: Backend::Parquet,
            data_dir: default_data_dir(),
            clickhouse: None,
            lock_timeout: default_lock_timeout(),
        }
    }
}

fn default_lock_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// Where observations and weekly tables live: local Parquet (the default) or ClickHouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Parquet files under `data_dir` (no server).
    #[default]
    Parquet,
    /// A ClickHouse server (`[storage.clickhouse]`), shared by a team.
    Clickhouse,
}

/// Environment variable holding the ClickHouse password (never part of the file).
pub const CLICKHOUSE_PASSWORD_ENV: &str = "TAGPULSE_CLICKHOUSE_PASSWORD";

/// `[storage.clickhouse]`: how to reach the server. The password comes from
/// [`CLICKHOUSE_PASSWORD_ENV`], so the file can be committed and logged.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, try_from = "RawClickHouse")]
pub struct ClickHouseConfig {
    /// HTTP(S) interface, e.g. `http://127.0.0.1:8123` or `https://ch.example.com:8443`;
    /// the first of `urls` when those are given.
    pub url: String,
    /// Every node tagpulse may talk to, in the order it tries them (`urls = [...]`);
    /// empty when the config gives one `url`.
    pub urls: Vec<String>,
    /// Cluster mode: the `remote_servers` cluster every table is created on (`ON
    /// CLUSTER`), sharded and replicated; `None` for one server.
    pub cluster: Option<String>,
    /// Database tagpulse owns (created by `tagpulse db migrate`).
    pub database: String,
    /// User name.
    pub user: String,
    /// Longest wait for one request before the server counts as unreachable.
    pub timeout: Duration,
    /// Rows per INSERT statement. Each INSERT writes one part per month it touches, so
    /// big batches are much faster for history imports; rows stream, so memory stays flat.
    pub batch_rows: u64,
}

/// `[storage.clickhouse]` as written: `url` and `urls` are exclusive, which only the
/// whole section can tell.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClickHouse {
    #[serde(default, deserialize_with = "de_opt_ch_url")]
    url: Option<String>,
    #[serde(default, deserialize_with = "de_ch_urls")]
    urls: Vec<String>,
    #[serde(default, deserialize_with = "de_cluster")]
    cluster: Option<String>,
    #[serde(default = "default_ch_database", deserialize_with = "de_ch_database")]
    database: String,
    #[serde(default = "default_ch_user")]
    user: String,
    #[serde(default = "default_ch_timeout", deserialize_with = "de_duration")]
    timeout: Duration,
    #[serde(default = "default_ch_batch_rows")]
    batch_rows: u64,
}

impl TryFrom<RawClickHouse> for ClickHouseConfig {
    type Error = Invalid;

    fn try_from(r: RawClickHouse) -> Result<Self, Invalid> {
        let url = match (r.url, r.urls.first()) {
            (Some(_), Some(_)) => {
                return Err(Invalid(
                    "give either url (one server) or urls (several nodes), not both".into(),
                ))
            }
            (Some(url), None) => url,
            (None, Some(first)) => first.clone(),
            (None, None) => default_ch_url(),
        };
        Ok(ClickHouseConfig {
            url,
            urls: r.urls,
            cluster: r.cluster,
            database: r.database,
            user: r.user,
            timeout: r.timeout,
            batch_rows: r.batch_rows,
        })
    }
}

impl ClickHouseConfig {
    /// The nodes to try, in order: `urls`, else the one `url`.
    pub fn nodes(&self) -> Vec<&str> {
        if self.urls.is_empty() {
            vec![self.url.as_str()]
        } else {
            self.urls.iter().map(String::as_str).collect()
        }
    }
}

fn de_opt_ch_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    de_ch_url(d).map(Some)
}

fn de_ch_urls<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let urls = Vec::<String>::deserialize(d)?;
    if urls.is_empty() {
        return Err(serde::de::Error::custom("list at least one node"));
    }
    urls.iter()
        .map(|s| {
            check_clickhouse_url(s).map_err(serde::de::Error::custom)?;
            Ok(s.trim_end_matches('/').to_string())
        })
        .collect()
}

fn de_cluster<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit();
    if !ok {
        return Err(serde::de::Error::custom(format!(
            "{s:?} is not a cluster name from the servers' remote_servers (ASCII letters, digits or _, not starting with a digit)"
        )));
    }
    Ok(Some(s))
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: default_ch_url(),
            urls: Vec::new(),
            cluster: None,
            database: default_ch_database(),
            user: default_ch_user(),
            timeout: default_ch_timeout(),
            batch_rows: default_ch_batch_rows(),
        }
    }
}

fn default_ch_url() -> String {
    "http://127.0.0.1:8123".into()
}

fn default_ch_database() -> String {
    "tagpulse".into()
}

fn default_ch_user() -> String {
    "default".into()
}

fn default_ch_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_ch_batch_rows() -> u64 {
    1_000_000
}

fn de_ch_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_clickhouse_url(&s).map_err(serde::de::Error::custom)?;
    Ok(s.trim_end_matches('/').to_string())
}

/// Checks a ClickHouse URL: `http://` or `https://host:port`, no credentials in it.
pub fn check_clickhouse_url(s: &str) -> Result<(), Invalid> {
    let Some(rest) = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
    else {
        return Err(format!("{s:?} is not an http:// or https:// URL").into());
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!(
            "the URL must not carry credentials: set user in [storage.clickhouse] and the \
             password in {CLICKHOUSE_PASSWORD_ENV}"
        )
        .into());
    }
    if authority.is_empty() {
        return Err(format!("{s:?} names no host").into());
    }
    Ok(())
}

fn de_ch_database<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_identifier(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

/// Checks a database name: ASCII letters, digits and `_`, not starting with a digit, so it
/// can stand in SQL unquoted on every ClickHouse version.
pub fn check_identifier(s: &str) -> Result<(), Invalid> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid database name (1-64 ASCII letters, digits or _, not starting with a digit)"
        ).into())
    }
}
