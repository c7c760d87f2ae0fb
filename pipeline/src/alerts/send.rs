//! Delivery: webhook bodies that Slack and Microsoft Teams accept (plus tagpulse's own
//! JSON), posted with no redirect followed; the errors of every delivery
//! ([`DeliveryError`], e-mail's too, see [`super::mail`]) and their retries with backoff.
//! Target URLs and passwords never reach the logs.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde_json::{json, Value};
use tagpulse_config::{WebhookFormat, WebhookTarget};

use super::rules::Finding;

/// Why a delivery failed. Its text goes to the log and `tagpulse status`; it never holds
/// a webhook URL or a password.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum DeliveryError {
    /// An env var the target needs is not set.
    #[error("{var} is not set ({what})")]
    MissingEnv { var: String, what: &'static str },
    /// The webhook target names no URL.
    #[error("no url")]
    NoUrl,
    /// The webhook could not be reached (connection refused, DNS, TLS).
    #[error("cannot reach the webhook: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// The webhook did not answer in time; it may have the post.
    #[error("the webhook did not answer within {secs} s (not tried again in this job: it may have the post)")]
    WebhookTimeout { secs: f64 },
    /// The webhook answered with a redirect, which is not followed.
    #[error("the webhook answered HTTP {0} (a redirect, not followed: configure the final URL)")]
    Redirect(u16),
    /// The webhook answered with an error status.
    #[error("the webhook answered HTTP {status}: {text}")]
    Status { status: u16, text: String },
    /// The SMTP transport could not be set up for the host.
    #[error("smtp {host}: {source}")]
    SmtpSetup {
        host: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// An address of the mail does not parse.
    #[error("{what} {value:?}: {source}")]
    Address {
        /// `smtp.from` or `recipient`.
        what: &'static str,
        value: String,
        #[source]
        source: lettre::address::AddressError,
    },
    /// A file to attach cannot be read.
    #[error("cannot attach {}: {source}", path.display())]
    Attach {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file the mail is made of cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The mail could not be assembled.
    #[error("cannot build the mail: {0}")]
    Build(#[source] lettre::error::Error),
    /// The SMTP server refused or failed.
    #[error("smtp {host}:{port}: {source}")]
    Smtp {
        host: String,
        port: u16,
        #[source]
        source: lettre::transport::smtp::Error,
    },
    /// The SMTP server did not answer in time.
    #[error("smtp {host}:{port}: the server did not answer within {secs} s")]
    SmtpTimeout { host: String, port: u16, secs: f64 },
}

impl DeliveryError {
    /// Whether trying again in this job is safe: not once the receiver may have it.
    fn retry(&self) -> bool {
        !matches!(self, DeliveryError::WebhookTimeout { .. })
    }
}

/// Attempts per delivery (the first and two retries).
const ATTEMPTS: usize = 3;

/// The longest one webhook request may take, connection included.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Retries of one delivery: two, after about 0.5 s and 1 s, jittered.
pub(super) fn backoff() -> ExponentialBuilder {
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
pub fn webhook_url(w: &WebhookTarget) -> Result<String, DeliveryError> {
    match (&w.url, &w.url_env) {
        (Some(url), _) => Ok(url.clone()),
        (None, Some(var)) => std::env::var(var).map_err(|_| DeliveryError::MissingEnv {
            var: var.clone(),
            what: "the webhook's url_env",
        }),
        (None, None) => Err(DeliveryError::NoUrl),
    }
}

/// Posts `body` to the webhook, retrying while the post surely did not arrive; the error
/// never contains the URL. `key` goes out as `Idempotency-Key`, the same for the same
/// findings in every job, so a receiver can drop a repeat.
pub async fn post(
    client: &reqwest::Client,
    w: &WebhookTarget,
    body: &Value,
    key: &str,
) -> Result<(), DeliveryError> {
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
                // A connect timeout never reached the receiver: that one is retried.
                if e.is_timeout() && !e.is_connect() {
                    DeliveryError::WebhookTimeout {
                        secs: WEBHOOK_TIMEOUT.as_secs_f64(),
                    }
                } else {
                    DeliveryError::Unreachable(e.without_url())
                }
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_redirection() {
            // Not followed: a GET would drop the alert, a 307 would re-post it to
            // another host. The configured URL must be the final one.
            return Err(DeliveryError::Redirect(status.as_u16()));
        }
        let text = String::from_utf8_lossy(&head(resp, ERROR_HEAD).await).into_owned();
        Err(DeliveryError::Status {
            status: status.as_u16(),
            text: text
                .chars()
                .take(200)
                .collect::<String>()
                .trim()
                .to_string(),
        })
    };
    attempt.retry(backoff()).when(DeliveryError::retry).await
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
        .use_preconfigured_tls(tagpulse_io::tls::client_config(true))
        .user_agent(format!("tagpulse/{}", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .build()
        .expect("a client with static settings builds")
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
            .unwrap_err()
            .to_string();
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
        .unwrap_err()
        .to_string();
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
        .unwrap_err()
        .to_string();
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
        // Typed, with reqwest's error kept as its source (the URL taken out).
        assert!(matches!(err, DeliveryError::Unreachable(_)), "{err:?}");
        let source = std::error::Error::source(&err).expect("the cause is kept");
        assert!(!source.to_string().contains("127.0.0.1"), "{source}");
        let err = err.to_string();
        assert!(err.contains("cannot reach the webhook"), "{err}");
        // Two backoff waits of at least 0.5 s (jittered upwards) between three attempts.
        assert!(
            started.elapsed() >= Duration::from_millis(1000),
            "{:?}",
            started.elapsed()
        );
    }
}
