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

/// The longest one webhook request may take, connection included.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest one SMTP attempt may take, greeting and every command included: a server
/// that accepts the connection and never greets must not hold a job (and its data lock).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Why one webhook attempt failed, and whether trying again in this job is safe.
struct Attempt {
    error: String,
    /// False once the receiver may have the post: an answer that came too late must not
    /// turn into a second and third copy of every finding.
    retry: bool,
}

/// Posts `body` to the webhook, retrying while the post surely did not arrive; the error
/// never contains the URL. `key` goes out as `Idempotency-Key`, the same for the same
/// findings in every job, so a receiver can drop a repeat.
pub async fn post(
    client: &reqwest::Client,
    w: &WebhookTarget,
    body: &Value,
    key: &str,
) -> Result<(), String> {
    let url = webhook_url(w)?;
    let attempt = || async {
        let resp = client
            .post(&url)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            // Without the URL: it is the secret of a Slack or Teams webhook.
            .map_err(|e| {
                if e.is_timeout() {
                    Attempt {
                        error: format!(
                            "the webhook did not answer within {} s (not tried again in this job: it may have the post)",
                            WEBHOOK_TIMEOUT.as_secs_f64()
                        ),
                        retry: e.is_connect(),
                    }
                } else {
                    Attempt {
                        error: format!("cannot reach the webhook: {}", e.without_url()),
                        retry: true,
                    }
                }
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_redirection() {
            // Not followed: a GET would drop the alert, a 307 would re-post it to
            // another host. The configured URL must be the final one.
            return Err(Attempt {
                error: format!(
                    "the webhook answered HTTP {} (a redirect, not followed: configure the final URL)",
                    status.as_u16()
                ),
                retry: true,
            });
        }
        let text = String::from_utf8_lossy(&head(resp, ERROR_HEAD).await).into_owned();
        let text: String = text.chars().take(200).collect();
        Err(Attempt {
            error: format!(
                "the webhook answered HTTP {}: {}",
                status.as_u16(),
                text.trim()
            ),
            retry: true,
        })
    };
    attempt
        .retry(backoff())
        .when(|a| a.retry)
        .await
        .map_err(|a| a.error)
}

/// The most of a webhook's error answer read: its first words are all the log shows.
const ERROR_HEAD: usize = 4096;

/// The first `max` bytes (about) of `resp`'s body; the rest is never read, so an endless
/// answer costs nothing.
async fn head(mut resp: reqwest::Response, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < max {
        match resp.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk[..chunk.len().min(max - out.len())]),
            _ => break,
        }
    }
    out
}

/// The `Idempotency-Key` of a post of `keys` by alert `id`: a digest, stable across jobs
/// and versions.
pub fn idempotency_key(id: &str, keys: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    for k in keys {
        h.update([0u8]);
        h.update(k.as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An HTTP client for webhooks: the system's CA roots, a 10 s timeout, no redirects
/// followed and no `Referer` (the URL is the webhook's secret).
pub fn http_client() -> reqwest::Client {
    client_within(WEBHOOK_TIMEOUT)
}

fn client_within(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tagpulse_ingest::http::tls_config())
        .user_agent(format!("tagpulse/{}", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
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
    let mut builder = builder.port(smtp.port()).timeout(Some(SMTP_TIMEOUT));
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
    send_mail_within(smtp, mail, SMTP_TIMEOUT).await
}

/// [`send_mail`] with each attempt bounded by `limit` as a whole: lettre's own timeout
/// does not cover a server that never sends its greeting.
async fn send_mail_within(smtp: &SmtpConfig, mail: &Mail, limit: Duration) -> Result<(), String> {
    let transport = transport(smtp)?;
    let msg = message(smtp, mail)?;
    let attempt = || async {
        match tokio::time::timeout(limit, transport.send(msg.clone())).await {
            Ok(sent) => sent
                .map(|_| ())
                .map_err(|e| format!("smtp {}:{}: {e}", smtp.host, smtp.port())),
            Err(_) => Err(format!(
                "smtp {}:{}: the server did not answer within {} s",
                smtp.host,
                smtp.port(),
                limit.as_secs_f64()
            )),
        }
    };
    attempt.retry(backoff()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn hook(url: String) -> WebhookTarget {
        WebhookTarget {
            url: Some(url),
            url_env: None,
            format: WebhookFormat::Json,
        }
    }

    #[tokio::test]
    async fn a_server_that_never_greets_fails_each_attempt_in_time() {
        // Accepts connections and says nothing, as a stuck relay does.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                open.push(conn);
            }
        });
        let smtp = SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(port),
            security: SmtpSecurity::None,
            user: None,
            password_env: "TP_UNUSED".into(),
            from: "tagpulse <tp@example.com>".into(),
        };
        let mail = Mail {
            to: vec!["hr@example.com".into()],
            subject: "s".into(),
            body: "b".into(),
            attachments: vec![],
        };
        let start = Instant::now();
        let err = send_mail_within(&smtp, &mail, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.contains("did not answer within 0.3 s"), "{err}");
        // Three attempts of 0.3 s and two backoff waits, not forever.
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        held.abort();
    }

    #[tokio::test]
    async fn webhooks_follow_no_redirect_and_say_so() {
        let server = MockServer::start().await;
        for (p, code) in [("/moved", 301), ("/found", 302), ("/temp", 307)] {
            Mock::given(path(p))
                .respond_with(
                    ResponseTemplate::new(code)
                        .insert_header("location", format!("{}/elsewhere", server.uri())),
                )
                .mount(&server)
                .await;
        }
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let client = http_client();
        for (p, code) in [("/moved", 301), ("/found", 302), ("/temp", 307)] {
            let err = post(
                &client,
                &hook(format!("{}{p}", server.uri())),
                &json!({"a": 1}),
                "k",
            )
            .await
            .unwrap_err();
            assert!(
                err.contains(&format!("HTTP {code} (a redirect, not followed")),
                "{err}"
            );
            assert!(!err.contains(&server.uri()), "the URL is a secret: {err}");
        }
        let requests = server.received_requests().await.unwrap();
        assert!(requests.iter().all(|r| r.url.path() != "/elsewhere"));
        assert!(requests.iter().all(|r| !r.headers.contains_key("referer")));
        // Each redirect was one failed attempt of three.
        assert_eq!(requests.len(), 9);
    }

    #[tokio::test]
    async fn an_endless_error_answer_is_read_only_for_its_first_words() {
        // A 500 whose body never ends: the post must fail in time, quoting its start.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf).await;
                    let _ = conn
                        .write_all(b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n")
                        .await;
                    let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
                    while conn.write_all(chunk.as_bytes()).await.is_ok() {}
                });
            }
        });
        let started = Instant::now();
        let err = post(
            &client_within(Duration::from_secs(5)),
            &hook(format!("http://127.0.0.1:{port}/hook")),
            &json!({}),
            "k",
        )
        .await
        .unwrap_err();
        assert_eq!(
            err,
            format!("the webhook answered HTTP 500: {}", "x".repeat(200))
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        server.abort();
    }

    #[tokio::test]
    async fn a_late_answer_is_posted_once_and_a_refused_connection_three_times() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(1)))
            .mount(&server)
            .await;
        let client = client_within(Duration::from_millis(200));
        let keys = vec!["breakout|2026-W46|nurselife".to_string()];
        let key = idempotency_key("ops", &keys);
        let err = post(
            &client,
            &hook(format!("{}/slow", server.uri())),
            &json!({}),
            &key,
        )
        .await
        .unwrap_err();
        assert!(err.contains("the webhook did not answer within"), "{err}");
        // The receiver may have it: no second and third copy in this job.
        let got = server.received_requests().await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].headers["idempotency-key"], key.as_str());
        // The same findings carry the same key in the next job; others another.
        assert_eq!(key, idempotency_key("ops", &keys));
        assert_eq!(key.len(), 32);
        assert_ne!(key, idempotency_key("ops2", &keys));
        assert_ne!(key, idempotency_key("ops", &[]));

        // Nobody listening: the post surely did not arrive, so it is tried three times.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let started = Instant::now();
        let err = post(
            &client,
            &hook(format!("http://127.0.0.1:{port}/x")),
            &json!({}),
            &key,
        )
        .await
        .unwrap_err();
        assert!(err.contains("cannot reach the webhook"), "{err}");
        // Two backoff waits of at least 0.5 s (jittered upwards) between three attempts.
        assert!(
            started.elapsed() >= Duration::from_millis(1000),
            "{:?}",
            started.elapsed()
        );
    }
}
