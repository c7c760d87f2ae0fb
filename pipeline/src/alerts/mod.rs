//! Alerts: after each job, every `[[alerts]]` entry's rules are evaluated ([`rules`]) and
//! what is new is delivered to its targets (webhooks: [`send`], e-mail: [`mail`]); [`state`] keeps what each target
//! received, so a finding goes out once, a failed delivery is tried again next time, and
//! a target that keeps failing shows in `tagpulse status`. Alerts never fail a job.

pub mod mail;
pub mod rules;
pub mod send;
pub mod state;

use chrono::{DateTime, Utc};
use tagpulse_config::{iso_week_label, AlertConfig};

use crate::runs::RunRecord;
use crate::{DataDirLock, Pipeline, PipelineError, RenderOutcome};
use mail::Mail;
use rules::{Finding, Inputs};
use send::DeliveryError;
use state::AlertState;

/// What one target of one entry got in one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The `[[alerts]]` entry's id, which names its state file.
    pub alert: String,
    /// `webhook` or `email`.
    pub target: &'static str,
    /// Findings (and reports) delivered.
    pub sent: usize,
    /// Why delivery failed (it is tried again next time).
    pub error: Option<String>,
}

impl Pipeline {
    /// Evaluates every alert entry and sends what is new after `job`; `report` is the
    /// week just rendered, for entries that mail it. Failures are logged and kept in the
    /// state. Call it without holding the data lock: a slow target must not keep other
    /// jobs out; deliveries of several processes take turns on `.alerts.lock`.
    pub async fn send_alerts(
        &self,
        job: &RunRecord,
        report: Option<&RenderOutcome>,
    ) -> Vec<Delivery> {
        if self.cfg.alerts.is_empty() {
            return Vec::new();
        }
        let storage = &self.cfg.storage;
        let _turn = match DataDirLock::alerts(&storage.data_dir, storage.lock_timeout).await {
            Ok(lock) => lock,
            Err(e) => {
                tracing::warn!(
                    "alerts not evaluated: {e}; what is new goes out after the next job"
                );
                return Vec::new();
            }
        };
        match self.alert_at(Utc::now(), job.started_at, report).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("alerts not evaluated: {e}");
                Vec::new()
            }
        }
    }

    /// [`Pipeline::send_alerts`] as of `now`; an entry evaluated for the first time
    /// starts at `first` (the start of the job just finished, so its failure counts).
    pub async fn alert_at(
        &self,
        now: DateTime<Utc>,
        first: DateTime<Utc>,
        report: Option<&RenderOutcome>,
    ) -> Result<Vec<Delivery>, PipelineError> {
        let history = self.history()?;
        let tables = self.store.read_weekly().await.ok();
        let sources: Vec<String> = self.sources.iter().map(|s| s.id().to_string()).collect();
        let data_dir = &self.cfg.storage.data_dir;
        // Built once, and only when a webhook has something to send (it reads the CA roots).
        let client = std::cell::OnceCell::new();
        let mut out = Vec::new();
        for alert in &self.cfg.alerts {
            let mut state = AlertState::load(data_dir, &alert.id, first.min(now))?;
            let findings = rules::evaluate(
                alert,
                &Inputs {
                    tables: tables.as_ref(),
                    history: &history,
                    sources: &sources,
                    now,
                    since: state.since,
                },
            )?;
            if let Some(w) = &alert.webhook {
                let new = unsent(&state, "webhook", &findings);
                if !new.is_empty() {
                    let ts = state.targets.entry("webhook".into()).or_default();
                    let body = send::webhook_body(w.format, &alert.id, &title(alert, &new), &new);
                    let key = send::idempotency_key(&alert.id, &keys(&new));
                    let result =
                        send::post(client.get_or_init(send::http_client), w, &body, &key).await;
                    out.push(settle(alert, "webhook", ts, &keys(&new), result, now));
                }
            }
            if let Some(e) = &alert.email {
                let smtp = self
                    .cfg
                    .smtp
                    .as_ref()
                    .expect("checked at load: email needs [smtp]");
                let new = unsent(&state, "email", &findings);
                if !new.is_empty() {
                    let ts = state.targets.entry("email".into()).or_default();
                    let mail = Mail {
                        to: e.to.clone(),
                        // Plain ASCII: a subject with `·` gets MIME-encoded mid-line.
                        subject: format!("[tagpulse] {}: {} new finding(s)", alert.id, new.len()),
                        body: new.iter().map(|f| format!("- {}\n", f.text)).collect(),
                        attachments: Vec::new(),
                    };
                    let result = mail::send_mail(smtp, &mail).await;
                    out.push(settle(alert, "email", ts, &keys(&new), result, now));
                }
                if let (true, Some(r)) = (alert.report, report) {
                    let key = format!("report|{}", iso_week_label(r.week));
                    let ts = state.targets.entry("email".into()).or_default();
                    if !ts.sent.contains_key(&key) {
                        let result = match self.report_mail(e.to.clone(), r) {
                            Ok(mail) => mail::send_mail(smtp, &mail).await,
                            Err(why) => Err(why),
                        };
                        out.push(settle(alert, "email", ts, &[key], result, now));
                    }
                }
            }
            state.save(data_dir, &alert.id, now)?;
        }
        Ok(out)
    }

    /// The weekly report as a mail: summary.md as the body, a link, the PNG charts attached.
    fn report_mail(&self, to: Vec<String>, r: &RenderOutcome) -> Result<Mail, DeliveryError> {
        let label = iso_week_label(r.week);
        let read = |path: std::path::PathBuf| move |source| DeliveryError::Read { path, source };
        let summary = std::fs::read_to_string(r.dir.join("summary.md"))
            .map_err(read(r.dir.join("summary.md")))?;
        let link = match &self.cfg.report.base_url {
            Some(base) => format!("{}/{label}/index.html", base.trim_end_matches('/')),
            None => r.dir.join("index.html").display().to_string(),
        };
        let mut charts: Vec<_> = std::fs::read_dir(&r.dir)
            .map_err(read(r.dir.clone()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        charts.sort();
        Ok(Mail {
            to,
            subject: format!("[tagpulse] weekly report {label}"),
            body: format!("{summary}\n\nThe full report: {link}\n"),
            attachments: charts,
        })
    }
}

fn title(alert: &AlertConfig, new: &[Finding]) -> String {
    format!("tagpulse · {}: {} new finding(s)", alert.id, new.len())
}

/// The findings `target` has not received yet.
fn unsent(state: &AlertState, target: &str, findings: &[Finding]) -> Vec<Finding> {
    let sent = state.targets.get(target).map(|t| &t.sent);
    findings
        .iter()
        .filter(|f| !sent.is_some_and(|s| s.contains_key(&f.key)))
        .cloned()
        .collect()
}

fn keys(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|f| f.key.clone()).collect()
}

/// Records a delivery's result in the target's state and logs it.
fn settle(
    alert: &AlertConfig,
    target: &'static str,
    ts: &mut state::TargetState,
    items: &[String],
    result: Result<(), DeliveryError>,
    now: DateTime<Utc>,
) -> Delivery {
    match result {
        Ok(()) => {
            for key in items {
                ts.sent.insert(key.clone(), now);
            }
            ts.failures = 0;
            ts.last_ok = Some(now);
            tracing::info!(alert = alert.id, target, sent = items.len(), "alert sent");
            Delivery {
                alert: alert.id.clone(),
                target,
                sent: items.len(),
                error: None,
            }
        }
        Err(e) => {
            let e = e.to_string();
            ts.failures += 1;
            ts.last_error = Some(e.clone());
            ts.last_failure = Some(now);
            tracing::warn!(
                alert = alert.id,
                target,
                "alert not delivered ({} time(s) in a row; tried again after the next job): {e}",
                ts.failures
            );
            Delivery {
                alert: alert.id.clone(),
                target,
                sent: 0,
                error: Some(e),
            }
        }
    }
}
