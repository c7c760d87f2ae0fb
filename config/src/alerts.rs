//! `[[alerts]]` and `[smtp]`: which findings are pushed to people, and where. Checked
//! when the config loads (errors name the key and line); sending lives in the pipeline.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;

use crate::diagnostics::invalid_at;
use crate::{clip, key, ConfigError, KeySegment};

/// What an alert entry reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Tags and occupations breaking out in the latest complete week.
    Breakout,
    /// An occupation's week-over-week growth above `wow_above`.
    WowAbove,
    /// An occupation's week-over-week growth below `wow_below`.
    WowBelow,
    /// A brand's share of its occupation moved by at least `brand_share_change`.
    BrandShareChange,
    /// A source without a successful run for `silent_hours`.
    SourceSilent,
    /// A job run failed.
    RunFailed,
}

impl Rule {
    /// The rule's name in config and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Breakout => "breakout",
            Rule::WowAbove => "wow_above",
            Rule::WowBelow => "wow_below",
            Rule::BrandShareChange => "brand_share_change",
            Rule::SourceSilent => "source_silent",
            Rule::RunFailed => "run_failed",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body a webhook gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// A Slack incoming webhook (`text` in Slack's mrkdwn).
    Slack,
    /// A Microsoft Teams workflow webhook (an Adaptive Card message).
    Teams,
    /// tagpulse's own JSON: the findings as fields.
    Json,
}

/// `webhook = { ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// The URL, written in the config (Slack and Teams URLs are secrets: prefer `url_env`).
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// The body's shape: Slack, Teams, or tagpulse's own JSON.
    #[serde(default = "default_format")]
    pub format: WebhookFormat,
}

fn default_format() -> WebhookFormat {
    WebhookFormat::Json
}

/// `email = { to = [...] }`; the server is `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTarget {
    /// Recipients.
    pub to: Vec<String>,
}

/// One `[[alerts]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Names the entry in logs, state files and `tagpulse status`.
    pub id: String,
    /// The rules it reacts to.
    #[serde(default)]
    pub on: Vec<Rule>,
    /// `wow_above`: growth above this fraction (0.5 = +50%).
    #[serde(default = "default_wow_above")]
    pub wow_above: f64,
    /// `wow_below`: growth below this fraction (-0.3 = -30%).
    #[serde(default = "default_wow_below")]
    pub wow_below: f64,
    /// `brand_share_change`: a move of the share by at least this many points (0.05 = 5 pp).
    #[serde(default = "default_share_change")]
    pub brand_share_change: f64,
    /// `source_silent`: hours without a successful run.
    #[serde(default = "default_silent_hours")]
    pub silent_hours: u32,
    /// The weekly rules (breakout, wow_above/below, brand_share_change) fire only for a
    /// subject that gained at least this much that week (default 0: any positive week
    /// for breakouts, any week for the others); keeps tiny tags from alerting.
    #[serde(default)]
    pub min_gained: f64,
    /// Also mail each new weekly report (needs `email`).
    #[serde(default)]
    pub report: bool,
    /// `run_failed` also for runs started by hand or by cron (trigger `cli`); by default
    /// only the scheduler's runs page, so a command typed at a terminal does not.
    #[serde(default)]
    pub on_cli: bool,
    /// A webhook target.
    #[serde(default)]
    pub webhook: Option<WebhookTarget>,
    /// An e-mail target.
    #[serde(default)]
    pub email: Option<EmailTarget>,
}

fn default_wow_above() -> f64 {
    0.5
}
fn default_wow_below() -> f64 {
    -0.3
}
fn default_share_change() -> f64 {
    0.05
}
fn default_silent_hours() -> u32 {
    24
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine.
    None,
}

/// `[smtp]`: the mail server alerts and reports go through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Port; 587 for STARTTLS, 465 for TLS, 25 otherwise when absent.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default = "default_security")]
    pub security: SmtpSecurity,
    /// Login user; none for a relay that needs no login.
    #[serde(default)]
    pub user: Option<String>,
    /// The environment variable holding the password (never the password itself).
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// The sender, e.g. `tagpulse <alerts@example.com>`.
    pub from: String,
}

fn default_security() -> SmtpSecurity {
    SmtpSecurity::Starttls
}

fn default_password_env() -> String {
    "TAGPULSE_SMTP_PASSWORD".into()
}

impl SmtpConfig {
    /// The port in force.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }
}

/// Checks every entry against the rest of the config.
pub(crate) fn check(
    alerts: &[AlertConfig],
    smtp: Option<&SmtpConfig>,
    text: &str,
    file: &str,
) -> Result<(), ConfigError> {
    let at = |i: usize, k: &str, message: String| {
        invalid_at(
            text,
            file,
            &[key("alerts"), KeySegment::Idx(i), key(k)],
            message,
        )
    };
    if let Some(smtp) = smtp {
        // A password over plain text is only acceptable to a relay on this machine.
        if smtp.security == SmtpSecurity::None && smtp.user.is_some() && !is_loopback(&smtp.host) {
            return Err(invalid_at(
                text,
                file,
                &[key("smtp"), key("security")],
                format!(
                    "security = \"none\" would send the password unencrypted to {:?}: use \"starttls\" or \"tls\", or a relay on this machine (localhost, 127.0.0.1, ::1)",
                    clip(&smtp.host, 100)
                ),
            ));
        }
    }
    let mut ids = BTreeSet::new();
    for (i, a) in alerts.iter().enumerate() {
        crate::checks::path_id("alert", &a.id).map_err(|m| at(i, "id", m.to_string()))?;
        if !ids.insert(a.id.as_str()) {
            return Err(at(i, "id", format!("alert id {:?} is used twice", a.id)));
        }
        if !(a.min_gained.is_finite() && a.min_gained >= 0.0) {
            return Err(at(
                i,
                "min_gained",
                format!("min_gained must be a number >= 0, not {}", a.min_gained),
            ));
        }
        if a.on.is_empty() && !a.report {
            return Err(at(i, "on", "give at least one rule: breakout, wow_above, wow_below, brand_share_change, source_silent, run_failed (or report = true)".into()));
        }
        if a.webhook.is_none() && a.email.is_none() {
            return Err(at(i, "id", format!("alert {:?} has no target: add webhook = {{ url_env = \"...\", format = \"slack\" }} or email = {{ to = [\"...\"] }}", a.id)));
        }
        if let Some(w) = &a.webhook {
            if w.url.is_some() == w.url_env.is_some() {
                return Err(at(
                    i,
                    "webhook",
                    "give exactly one of url or url_env".into(),
                ));
            }
            if let Some(url) = &w.url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(at(
                        i,
                        "webhook",
                        "url must start with https:// (or http://)".into(),
                    ));
                }
            }
        }
        if let Some(e) = &a.email {
            if smtp.is_none() {
                return Err(at(
                    i,
                    "email",
                    "e-mail needs an [smtp] section (host, from)".into(),
                ));
            }
            if e.to.is_empty() {
                return Err(at(i, "email", "to lists no recipient".into()));
            }
            if let Some(bad) = e.to.iter().find(|t| !t.contains('@')) {
                return Err(at(i, "email", format!("{bad:?} is not an e-mail address")));
            }
        } else if a.report {
            return Err(at(
                i,
                "report",
                "mailing the report needs email = { to = [...] }".into(),
            ));
        }
        if a.silent_hours == 0 {
            return Err(at(
                i,
                "silent_hours",
                "silent_hours must be at least 1".into(),
            ));
        }
        // NaN fails too.
        if a.brand_share_change.is_nan() || a.brand_share_change <= 0.0 {
            return Err(at(
                i,
                "brand_share_change",
                "brand_share_change must be above 0 (0.05 = 5 points)".into(),
            ));
        }
    }
    Ok(())
}

/// True for a host name or address that stays on this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn err(text: &str) -> String {
        Config::from_toml(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn alert_mistakes_name_their_key_and_line() {
        let hook = "webhook = { url_env = \"HOOK\", format = \"slack\" }";
        let e = err(&format!(
            "[[alerts]]\nid = \"a\"\non = [\"breakouts\"]\n{hook}\n"
        ));
        assert!(e.starts_with("t.toml:3:") && e.contains("breakouts"), "{e}");
        let e = err(
            "[[alerts]]\nid = \"a\"\non = [\"breakout\"]\nemail = { to = [\"x@example.com\"] }\n",
        );
        assert_eq!(
            e,
            "t.toml:4: alerts[0].email: e-mail needs an [smtp] section (host, from)"
        );
        let e = err("[[alerts]]\nid = \"a\"\non = [\"breakout\"]\nwebhook = { url = \"https://x\", url_env = \"X\" }\n");
        assert_eq!(
            e,
            "t.toml:4: alerts[0].webhook: give exactly one of url or url_env"
        );
        let e = err(&format!("[[alerts]]\nid = \"a\"\n{hook}\n"));
        assert!(
            e.starts_with("t.toml:1: alerts[0].on: give at least one rule"),
            "{e}"
        );
        let e = err(&format!(
            "[[alerts]]\nid = \"a\"\non = [\"run_failed\"]\n{hook}\n\n[[alerts]]\nid = \"a\"\non = [\"run_failed\"]\n{hook}\n"
        ));
        assert_eq!(e, "t.toml:7: alerts[1].id: alert id \"a\" is used twice");
        let e = err(&format!(
            "[[alerts]]\nid = \"../up\"\non = [\"run_failed\"]\n{hook}\n"
        ));
        assert!(
            e.starts_with("t.toml:2: alerts[0].id: alert id \"../up\": use 1-64 letters"),
            "{e}"
        );
        let ok = Config::from_toml(
            &format!("[smtp]\nhost = \"mail\"\nfrom = \"t <t@example.com>\"\n\n[[alerts]]\nid = \"team-1\"\non = [\"breakout\", \"source_silent\"]\nreport = true\n{hook}\nemail = {{ to = [\"hr@example.com\"] }}\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(ok.alerts[0].silent_hours, 24);
        // A login over plain SMTP: only to a relay on this machine.
        let smtp = |host: &str| {
            format!("[smtp]\nhost = \"{host}\"\nsecurity = \"none\"\nuser = \"u\"\nfrom = \"t <t@example.com>\"\n")
        };
        let e = err(&smtp("10.1.2.3"));
        assert!(
            e.starts_with("t.toml:3: smtp.security: security = \"none\" would send the password unencrypted to \"10.1.2.3\""),
            "{e}"
        );
        for host in ["localhost", "127.0.0.1", "::1", "[::1]", "127.1.2.3"] {
            Config::from_toml(&smtp(host), "t.toml").unwrap();
        }
        // Without a login plain SMTP stays allowed anywhere (an open relay's choice).
        Config::from_toml(
            "[smtp]\nhost = \"10.1.2.3\"\nsecurity = \"none\"\nfrom = \"t <t@example.com>\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(ok.smtp.unwrap().port(), 587);
    }
}

#[cfg(test)]
mod arbitrary {
    //! Arbitrary text as a config file: a config or a `file:line` error, never a panic.

    use crate::{Config, ConfigError};
    use proptest::prelude::*;

    fn texts() -> impl Strategy<Value = String> {
        let pieces = prop::collection::vec(
            prop_oneof![
                Just("[storage]\n".to_string()),
                Just("[report]\n".to_string()),
                Just("[[alerts]]\n".to_string()),
                Just("[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"x\"]\n".to_string()),
                Just("top_n = 0\n".to_string()),
                Just("max_gap = \"9999999y\"\n".to_string()),
                Just("on = [\"breakout\"]\n".to_string()),
                Just("schedule = \"0 0 6 * * Mon\"\n".to_string()),
                "[a-z_]{1,8} = [\"0-9a-z ]{0,12}\n",
                "[ -~\n]{0,30}",
            ],
            0..10,
        );
        prop_oneof![
            pieces.prop_map(|v| v.concat()),
            prop::collection::vec(any::<char>(), 0..200).prop_map(|c| c.into_iter().collect())
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn any_text_loads_or_fails_with_a_line(text in texts()) {
            match Config::from_toml(&text, "t.toml") {
                Ok(_) => {}
                Err(ConfigError::Invalid { file, .. }) => prop_assert_eq!(file, "t.toml"),
                Err(e) => prop_assert!(false, "unexpected error kind: {}", e),
            }
        }
    }
}
