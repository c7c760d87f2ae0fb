//! Delivery: webhook bodies that Slack and Microsoft Teams accept (plus tagpulse's own
//! JSON), e-mail over SMTP (`lettre`: STARTTLS, TLS, or plain to a local relay), each
//! tried a few times with backoff. Target URLs and passwords never reach the logs.

use std::path::Path;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{json, Value};
use tagpulse_config::{SmtpConfig, SmtpSecurity, WebhookFormat, WebhookTarget};

use super::rules::Finding;

/// Attempts per delivery (the first and two retries).
const ATTEMPTS: usize = 3;

fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_times(ATTEMPTS - 1)
        .with_jitter()
}

/// Slack's mrkdwn treats these three as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The webhook body for `findings` of alert `id`.
pub fn webhook_body(format: WebhookFormat, id: &str, title: &str, findings: &[Finding]) -> Value {
    match format {
        WebhookFormat::Slack => {
            let lines: Vec<String> = findings
                .iter()
                .map(|f| format!("• {}", slack_escape(&f.text)))
                .collect();
            json!({ "text": format!("*{}*\n{}", slack_escape(title), lines.join("\n")) })
        }
        WebhookFormat::Teams => {
            let lines: Vec<String> = findings.iter().map(|f| format!("- {}", f.text)).collect();
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            { "type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": title },
                            { "type": "TextBlock", "wrap": true, "text": lines.join("\n") }
                        ]
                    }
                }]
            })
        }
        WebhookFormat::Json => json!({
            "alert": id,
            "title": title,
            "findings": findings.iter().map(|f| json!({
                "rule": f.rule.as_str(),
                "key": f.key,
                "subject": f.subject,
                "week": f.week,
                "value": f.value,
                "text": f.text,
            })).collect::<Vec<_>>(),
        }),
    }
}

/// The webhook's URL, from the config or its env var.
pub fn webhook_url(w: &WebhookTarget) -> Result<String, String> {
    match (&w.url, &w.url_env) {
        (Some(url), _) => Ok(url.clone()),
        (None, Some(var)) => {
            std::env::var(var).map_err(|_| format!("{var} is not set (the webhook's url_env)"))
        }
        (None, None) => Err("no url".into()),
    }
}

/// Posts `body` to the webhook, retrying; the error never contains the URL.
pub async fn post(client: &reqwest::Client, w: &WebhookTarget, body: &Value) -> Result<(), String> {
    let url = webhook_url(w)?;
    let attempt = || async {
        let resp = client
            .post(&url)
            .json(body)
            .send()
            .await
            // Without the URL: it is the secret of a Slack or Teams webhook.
            .map_err(|e| format!("cannot reach the webhook: {}", e.without_url()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        Err(format!(
            "the webhook answered HTTP {}: {}",
            status.as_u16(),
            text.trim()
        ))
    };
    attempt.retry(backoff()).await
}

/// An HTTP client for webhooks: the system's CA roots, a 10 s timeout, no proxy from env.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tagpulse_ingest::http::tls_config())
        .user_agent(format!("tagpulse/{}", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .expect("a client with static settings builds")
}

/// A mail to send.
pub struct Mail {
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Files attached (PNG charts).
    pub attachments: Vec<std::path::PathBuf>,
}

fn transport(smtp: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = smtp.host.as_str();
    let builder = match smtp.security {
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| format!("smtp {host}: {e}"))?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| format!("smtp {host}: {e}"))?,
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    let mut builder = builder
        .port(smtp.port())
        .timeout(Some(Duration::from_secs(30)));
    if let Some(user) = &smtp.user {
        let password = std::env::var(&smtp.password_env)
            .map_err(|_| format!("{} is not set (the [smtp] password)", smtp.password_env))?;
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

fn message(smtp: &SmtpConfig, mail: &Mail) -> Result<Message, String> {
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("smtp.from {:?}: {e}", smtp.from))?;
    let mut b = Message::builder().from(from).subject(mail.subject.clone());
    for to in &mail.to {
        let mb: Mailbox = to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?;
        b = b.to(mb);
    }
    let mut parts = MultiPart::mixed().singlepart(
        SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone()),
    );
    for path in &mail.attachments {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot attach {}: {e}", path.display()))?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let kind = ContentType::parse(mime_of(path)).expect("static content type");
        parts = parts.singlepart(Attachment::new(name).body(bytes, kind));
    }
    b.multipart(parts)
        .map_err(|e| format!("cannot build the mail: {e}"))
}

fn mime_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("csv") => "text/csv",
        _ => "application/octet-stream",
    }
}

/// Sends `mail` through `[smtp]`, retrying; errors name the server, never the password.
pub async fn send_mail(smtp: &SmtpConfig, mail: &Mail) -> Result<(), String> {
    let transport = transport(smtp)?;
    let msg = message(smtp, mail)?;
    let attempt = || async {
        transport
            .send(msg.clone())
            .await
            .map(|_| ())
            .map_err(|e| format!("smtp {}:{}: {e}", smtp.host, smtp.port()))
    };
    attempt.retry(backoff()).await
}
