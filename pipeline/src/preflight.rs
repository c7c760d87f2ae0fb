//! `tagpulse config --check`: what the configured jobs will need, probed before they
//! need it, so a missing secret shows up on the day of setup instead of as repeated
//! failures at 06:00: each source's env vars, the ClickHouse server, the SMTP server,
//! each webhook's env var and host.

use std::time::Duration;

use tagpulse_config::{Backend, Config};
use tagpulse_ingest::Source;

/// How long a probe of a server may take.
const PROBE: Duration = Duration::from_secs(5);

/// One thing checked: what, and what is wrong with it (`None`: ready).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// What was checked, e.g. `source bluesky`.
    pub what: String,
    /// What is missing or failing.
    pub problem: Option<String>,
}

fn probe(what: impl Into<String>, result: Result<(), String>) -> Probe {
    Probe {
        what: what.into(),
        problem: result.err(),
    }
}

/// Every check, in the config's order: sources, storage, SMTP, alert targets.
pub async fn preflight(cfg: &Config, sources: &[Box<dyn Source>]) -> Vec<Probe> {
    let mut out = Vec::new();
    for s in sources {
        out.push(probe(
            format!("source {}", s.id()),
            s.preflight().map_err(|e| e.to_string()),
        ));
    }
    if cfg.storage.backend == Backend::Clickhouse {
        let answer = async {
            let store = tagpulse_store::open_clickhouse(&cfg.storage).map_err(|e| e.to_string())?;
            let status = store.status().await.map_err(|e| e.to_string())?;
            tracing::debug!(version = %status.server_version, "ClickHouse answers");
            Ok(())
        };
        out.push(probe("storage: ClickHouse", answer.await));
    }
    if let Some(smtp) = &cfg.smtp {
        let addr = format!("{}:{}", smtp.host, smtp.port());
        let mut result = tcp(&addr).await;
        if result.is_ok() && smtp.user.is_some() {
            result = tagpulse_config::require_env(
                &smtp.password_env,
                "the SMTP password (password_env)",
            )
            .map_err(|e| e.to_string());
        }
        out.push(probe(format!("smtp {addr}"), result));
    }
    for a in &cfg.alerts {
        let Some(hook) = &a.webhook else { continue };
        let url = match (&hook.url, &hook.url_env) {
            (Some(u), _) => Ok(u.clone()),
            (None, Some(env)) => std::env::var(env)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("set the webhook URL in {env} (url_env)")),
            (None, None) => Err("no url or url_env".to_string()),
        };
        let result = match url {
            // The address is a secret (Slack's holds the key): only its host is named.
            Ok(u) => resolves(&u).await,
            Err(e) => Err(e),
        };
        out.push(probe(format!("alert {} webhook", a.id), result));
    }
    out
}

async fn tcp(addr: &str) -> Result<(), String> {
    match tokio::time::timeout(PROBE, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot connect: {e}")),
        Err(_) => Err(format!("no answer within {} s", PROBE.as_secs())),
    }
}

/// Whether the URL's host resolves (no request is sent: a webhook would post).
async fn resolves(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|_| "the webhook URL does not parse".to_string())?;
    let host = parsed
        .host_str()
        .ok_or_else(|| "the webhook URL names no host".to_string())?
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host(format!("{host}:{port}"));
    match tokio::time::timeout(PROBE, lookup).await {
        Ok(Ok(addrs)) => match addrs.count() {
            0 => Err(format!("host {host} does not resolve")),
            _ => Ok(()),
        },
        Ok(Err(_)) => Err(format!("host {host} does not resolve")),
        Err(_) => Err(format!(
            "host {host}: no DNS answer within {} s",
            PROBE.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn probes_name_a_missing_env_var_an_unreachable_server_and_a_bad_host() {
        let cfg = Config::from_toml(
            "[[sources]]\nid = \"x\"\nkind = \"x\"\ntoken_env = \"TP_TEST_PREFLIGHT_UNSET\"\ntags = [\"a\"]\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = 1\nfrom = \"tp@example.com\"\nsecurity = \"none\"\n\
             [[alerts]]\nid = \"hook\"\non = [\"run_failed\"]\nwebhook = { url_env = \"TP_TEST_PREFLIGHT_URL_UNSET\" }\n\
             [[alerts]]\nid = \"local\"\non = [\"run_failed\"]\nwebhook = { url = \"http://localhost:9/x\" }\n\
             [[alerts]]\nid = \"nowhere\"\non = [\"run_failed\"]\nwebhook = { url = \"https://nosuch.invalid/x\" }\n",
            "t.toml",
        )
        .unwrap();
        let sources = tagpulse_ingest::sources::build_all(&cfg).unwrap();
        let probes = preflight(&cfg, &sources).await;
        let by = |what: &str| {
            probes
                .iter()
                .find(|p| p.what == what)
                .unwrap()
                .problem
                .clone()
        };
        assert_eq!(
            by("source x").unwrap(),
            "source x: set the bearer token (token_env) in TP_TEST_PREFLIGHT_UNSET"
        );
        assert!(
            by("smtp 127.0.0.1:1")
                .unwrap()
                .starts_with("cannot connect"),
            "{probes:?}"
        );
        assert_eq!(
            by("alert hook webhook").unwrap(),
            "set the webhook URL in TP_TEST_PREFLIGHT_URL_UNSET (url_env)"
        );
        assert_eq!(by("alert local webhook"), None, "localhost resolves");
        let nowhere = by("alert nowhere webhook").unwrap();
        assert!(nowhere.contains("nosuch.invalid"), "{nowhere}");
    }
}
