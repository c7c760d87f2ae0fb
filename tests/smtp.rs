//! A minimal SMTP receiver for the alert tests, and the SMTP security modes against it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A minimal SMTP receiver (no TLS, no login): every message's DATA, as received.
pub(crate) struct Smtp {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<String>>>,
}

pub(crate) fn smtp_server() -> Smtp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Arc<Mutex<Vec<String>>> = Default::default();
    let store = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                let mut say = |s: &str| w.write_all(s.as_bytes()).is_ok();
                say("220 localhost test ESMTP\r\n");
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 {
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let ok = if cmd.starts_with("EHLO") {
                        say("250-localhost\r\n250 8BITMIME\r\n")
                    } else if cmd == "DATA" {
                        say("354 go ahead\r\n");
                        let mut data = String::new();
                        let mut l = String::new();
                        while r.read_line(&mut l).unwrap_or(0) > 0 && l != ".\r\n" {
                            data.push_str(&l);
                            l.clear();
                        }
                        store.lock().unwrap().push(data);
                        say("250 queued\r\n")
                    } else if cmd == "QUIT" {
                        say("221 bye\r\n");
                        false
                    } else {
                        say("250 ok\r\n")
                    };
                    if !ok {
                        break;
                    }
                    line.clear();
                }
            });
        }
    });
    Smtp { port, mails }
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_security_modes_are_what_they_say_and_the_password_comes_from_env() {
    use tagpulse_config::{SmtpConfig, SmtpSecurity};
    use tagpulse_pipeline::alerts::mail::{send_mail, Mail};
    let smtp = smtp_server();
    let cfg = |security, user: Option<&str>| SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(smtp.port),
        security,
        user: user.map(str::to_string),
        password_env: "TP_TEST_SMTP_PASSWORD_UNSET".into(),
        from: "tagpulse <tp@example.com>".into(),
    };
    let mail = Mail {
        to: vec!["hr@example.com".into()],
        subject: "s".into(),
        body: "b".into(),
        attachments: Vec::new(),
    };
    send_mail(&cfg(SmtpSecurity::None, None), &mail)
        .await
        .unwrap();
    assert_eq!(smtp.mails.lock().unwrap().len(), 1);
    // The test server speaks plain SMTP only: TLS and STARTTLS must refuse to go on.
    let tls = send_mail(&cfg(SmtpSecurity::Tls, None), &mail)
        .await
        .unwrap_err()
        .to_string();
    // A plain greeting where a TLS record was due.
    assert!(
        tls.starts_with(&format!("smtp 127.0.0.1:{}: ", smtp.port))
            && tls.contains("corrupt message"),
        "{tls}"
    );
    let starttls = send_mail(&cfg(SmtpSecurity::Starttls, None), &mail)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        starttls.contains("STARTTLS is not supported on this server"),
        "{starttls}"
    );
    assert_eq!(
        smtp.mails.lock().unwrap().len(),
        1,
        "nothing sent in the clear"
    );
    let login = send_mail(&cfg(SmtpSecurity::None, Some("alerts")), &mail)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        login,
        "TP_TEST_SMTP_PASSWORD_UNSET is not set (the [smtp] password)"
    );
}
