//! Logging to stderr, as text for people and journald or one JSON object per line for log
//! shippers, with secrets masked on the way out: whatever a dependency logs (the
//! ClickHouse client logs whole server answers at debug), the values of secret-looking
//! environment variables never reach the log.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

use crate::cli::{Cli, LogFormat};

/// Parts of an environment variable's name that mark its value as a secret.
const SECRET_NAMES: [&str; 7] = [
    "PASSWORD",
    "TOKEN",
    "SECRET",
    "KEY",
    "COOKIE",
    "WEBHOOK",
    "CREDENTIAL",
];

/// Installs the subscriber for `cli`'s flags and `TAGPULSE_LOG`.
pub(crate) fn init(cli: &Cli) {
    let level = if cli.quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAGPULSE_LOG")
        // chromiumoxide warns about DevTools events newer than its bindings.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{level},chromiumoxide=error"))
        });
    let writer = Masked {
        secrets: secrets(std::env::vars()),
    };
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    match cli.log_format {
        LogFormat::Json => fmt.json().flatten_event(true).init(),
        // Colour only for people: cron and systemd logs get plain text.
        LogFormat::Text => fmt
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

/// The values of secret-looking variables (6 characters or more: shorter ones would mask
/// ordinary words).
fn secrets(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut out: Vec<String> = vars
        .filter(|(k, v)| {
            let k = k.to_ascii_uppercase();
            v.len() >= 6 && SECRET_NAMES.iter().any(|s| k.contains(s))
        })
        .map(|(_, v)| v)
        .collect();
    // Longest first, so a secret containing another is masked whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `text` with every secret replaced by `***`.
fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// Hands out stderr writers that mask the secrets in each log line.
struct Masked {
    secrets: Vec<String>,
}

impl<'a> MakeWriter<'a> for Masked {
    type Writer = MaskedWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedWriter {
            secrets: &self.secrets,
            buf: Vec::new(),
        }
    }
}

/// Collects one event's output and writes it masked when dropped.
struct MaskedWriter<'a> {
    secrets: &'a [String],
    buf: Vec<u8>,
}

impl Write for MaskedWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedWriter<'_> {
    fn drop(&mut self) {
        let text = mask(&String::from_utf8_lossy(&self.buf), self.secrets);
        // A log line that cannot be written has nowhere else to go.
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_variables_are_masked_in_log_lines() {
        let vars = [
            ("TAGPULSE_CLICKHOUSE_PASSWORD", "hunter2-secret"),
            (
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T0/B0/xyz",
            ),
            ("TAGPULSE_X_TOKEN", "abc"),
            ("HOME", "/home/someone"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let secrets = secrets(vars.into_iter());
        assert_eq!(secrets.len(), 2, "short values and other names stay");
        let out = mask(
            "key: hunter2-secret, url https://hooks.slack.com/services/T0/B0/xyz, /home/someone",
            &secrets,
        );
        assert_eq!(out, "key: ***, url ***, /home/someone");
    }
}
