//! Alert e-mail and the mailed report over SMTP (`lettre`: STARTTLS, TLS, or plain to a
//! local relay), each attempt bounded as a whole and retried with the webhooks' backoff.
//! Passwords come from env vars and never reach an error.

use std::path::Path;
use std::time::Duration;

use backon::Retryable;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tagpulse_config::{SmtpConfig, SmtpSecurity};

use super::send::{backoff, DeliveryError};

/// The longest one SMTP attempt may take, greeting and every command included: a server
/// that accepts the connection and never greets must not hold a job (and its data lock).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

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

fn transport(smtp: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    let host = smtp.host.as_str();
    let setup = |source| DeliveryError::SmtpSetup {
        host: host.to_string(),
        source,
    };
    let builder = match smtp.security {
        SmtpSecurity::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(setup)?
        }
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(setup)?,
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    let mut builder = builder.port(smtp.port()).timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &smtp.user {
        let password =
            std::env::var(&smtp.password_env).map_err(|_| DeliveryError::MissingEnv {
                var: smtp.password_env.clone(),
                what: "the [smtp] password",
            })?;
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

fn message(smtp: &SmtpConfig, mail: &Mail) -> Result<Message, DeliveryError> {
    let from: Mailbox = smtp.from.parse().map_err(|source| DeliveryError::Address {
        what: "smtp.from",
        value: smtp.from.clone(),
        source,
    })?;
    let mut b = Message::builder().from(from).subject(mail.subject.clone());
    for to in &mail.to {
        let mb: Mailbox = to.parse().map_err(|source| DeliveryError::Address {
            what: "recipient",
            value: to.clone(),
            source,
        })?;
        b = b.to(mb);
    }
    let mut parts = MultiPart::mixed().singlepart(
        SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone()),
    );
    for path in &mail.attachments {
        let bytes = std::fs::read(path).map_err(|source| DeliveryError::Attach {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let kind = ContentType::parse(mime_of(path)).expect("static content type");
        parts = parts.singlepart(Attachment::new(name).body(bytes, kind));
    }
    b.multipart(parts).map_err(DeliveryError::Build)
}

fn mime_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("csv") => "text/csv",
        _ => "application/octet-stream",
    }
}

/// Sends `mail` through `[smtp]`, retrying; errors name the server, never the password.
pub async fn send_mail(smtp: &SmtpConfig, mail: &Mail) -> Result<(), DeliveryError> {
    send_mail_within(smtp, mail, SMTP_TIMEOUT).await
}

/// [`send_mail`] with each attempt bounded by `limit` as a whole: lettre's own timeout
/// does not cover a server that never sends its greeting.
async fn send_mail_within(
    smtp: &SmtpConfig,
    mail: &Mail,
    limit: Duration,
) -> Result<(), DeliveryError> {
    let transport = transport(smtp)?;
    let msg = message(smtp, mail)?;
    let attempt = || async {
        match tokio::time::timeout(limit, transport.send(msg.clone())).await {
            Ok(sent) => sent.map(|_| ()).map_err(|source| DeliveryError::Smtp {
                host: smtp.host.clone(),
                port: smtp.port(),
                source,
            }),
            Err(_) => Err(DeliveryError::SmtpTimeout {
                host: smtp.host.clone(),
                port: smtp.port(),
                secs: limit.as_secs_f64(),
            }),
        }
    };
    attempt.retry(backoff()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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
            .unwrap_err()
            .to_string();
        assert!(err.contains("did not answer within 0.3 s"), "{err}");
        // Three attempts of 0.3 s and two backoff waits, not forever.
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        held.abort();
    }
}
