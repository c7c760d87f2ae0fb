//! Prometheus metrics of the scheduler's runs, served on `[schedule] metrics_addr` in the
//! text exposition format: runs by job and outcome, each job's last success time, rows
//! written, and failed tags by source and kind.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::{Request, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::jobs::RunObserver;
use super::JobId;
use crate::runs::RunRecord;
use crate::PipelineError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobOutcome {
    job: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabel {
    job: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceKind {
    source: String,
    kind: String,
}

/// The scheduler's metrics; observes every run.
pub struct Metrics {
    registry: Mutex<Registry>,
    runs: Family<JobOutcome, Counter>,
    last_success: Family<JobLabel, Gauge>,
    rows: Family<JobLabel, Counter>,
    tags_failed: Family<SourceKind, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let m = Metrics {
            registry: Mutex::new(Registry::with_prefix("tagpulse")),
            runs: Family::default(),
            last_success: Family::default(),
            rows: Family::default(),
            tags_failed: Family::default(),
        };
        {
            let mut r = m.registry.lock().expect("registry");
            r.register("runs", "Job runs by job and outcome", m.runs.clone());
            r.register(
                "last_success_timestamp_seconds",
                "Start of each job's last successful run (Unix time)",
                m.last_success.clone(),
            );
            r.register(
                "rows_written",
                "Observations and weekly rows stored",
                m.rows.clone(),
            );
            r.register(
                "tags_failed",
                "Tags that yielded nothing, by source and failure kind",
                m.tags_failed.clone(),
            );
        }
        m
    }
}

impl Metrics {
    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(
            &mut out,
            &self.registry.lock().expect("registry"),
        )
        .expect("writing to a String cannot fail");
        out
    }
}

impl Metrics {
    /// Sets each job's last success from the run history (a restart must not blank it).
    pub fn seed_last_success(&self, last: &HashMap<JobId, DateTime<Utc>>) {
        for (job, at) in last {
            self.last_success
                .get_or_create(&JobLabel {
                    job: job.to_string(),
                })
                .set(at.timestamp());
        }
    }
}

impl RunObserver for Metrics {
    fn observe(&self, job: &JobId, rec: &RunRecord) {
        let job = job.to_string();
        self.runs
            .get_or_create(&JobOutcome {
                job: job.clone(),
                outcome: rec.outcome.as_str().into(),
            })
            .inc();
        let label = JobLabel { job };
        self.rows.get_or_create(&label).inc_by(rec.rows_written);
        if rec.outcome.succeeded() {
            self.last_success
                .get_or_create(&label)
                .set(rec.started_at.timestamp());
        }
        for s in &rec.sources {
            for (kind, n) in s.failed_kinds() {
                self.tags_failed
                    .get_or_create(&SourceKind {
                        source: s.source.clone(),
                        kind: kind.into(),
                    })
                    .inc_by(n);
            }
        }
    }
}

/// Connections served at once; more are closed at once (a scraper needs one or two).
const MAX_CONNECTIONS: usize = 32;

/// The longest one connection may stay open, idle or half-sent: a scrape takes
/// milliseconds, and file descriptors are shared with every job.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);

/// Serves `metrics` at `http://addr/metrics` until the process ends; binding fails loudly.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<SocketAddr, PipelineError> {
    serve_within(addr, metrics, MAX_CONNECTIONS, CONNECTION_LIFETIME).await
}

/// [`serve`] with at most `max` connections, each closed after `lifetime`.
async fn serve_within(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    max: usize,
    lifetime: Duration,
) -> Result<SocketAddr, PipelineError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| PipelineError::Io {
            what: "serve metrics on (schedule.metrics_addr)",
            path: addr.to_string(),
            source,
        })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors: wait instead of spinning on the error.
                    tracing::debug!("metrics accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let metrics = metrics.clone();
                        async move {
                            let (status, body) = if req.uri().path() == "/metrics" {
                                (200, metrics.render())
                            } else {
                                (404, "not found: the metrics are at /metrics\n".to_string())
                            };
                            Response::builder()
                                .status(status)
                                .header(
                                    "content-type",
                                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                )
                                .body(Full::new(Bytes::from(body)))
                        }
                    });
                let io = hyper_util::rt::TokioIo::new(stream);
                let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
                match tokio::time::timeout(lifetime, conn).await {
                    Ok(Err(e)) => tracing::debug!("metrics connection: {e}"),
                    Err(_) => tracing::debug!("metrics connection closed after {lifetime:?}"),
                    Ok(Ok(())) => {}
                }
            });
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{Outcome, SourceRecord, Trigger};

    #[tokio::test]
    async fn runs_are_counted_and_served_over_http() {
        let m = Arc::new(Metrics::default());
        let mut rec =
            RunRecord::start("ingest", Trigger::Schedule).finish(Outcome::Partial, 40, "x".into());
        rec.sources = vec![SourceRecord {
            source: "tt".into(),
            status: "stored".into(),
            observations: 40,
            tags_ok: 4,
            tags_failed: 3,
            failed_by_kind: "not_found=1 soft_block=2".into(),
            message: String::new(),
        }];
        let job = JobId::Ingest("tt".into());
        m.observe(&job, &rec);
        m.observe(&job, &rec);
        let failed =
            RunRecord::start("report", Trigger::Schedule).finish(Outcome::Failed, 0, "x".into());
        m.observe(&JobId::Report, &failed);

        let addr = serve("127.0.0.1:0".parse().unwrap(), m.clone())
            .await
            .unwrap();
        let body = fetch(addr, "/metrics").await;
        let line = |name: &str| -> f64 {
            body.lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{name} missing from\n{body}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert_eq!(
            line("tagpulse_runs_total{job=\"ingest tt\",outcome=\"partial\"}"),
            2.0
        );
        assert_eq!(
            line("tagpulse_runs_total{job=\"report\",outcome=\"failed\"}"),
            1.0
        );
        assert_eq!(line("tagpulse_rows_written_total{job=\"ingest tt\"}"), 80.0);
        assert_eq!(
            line("tagpulse_tags_failed_total{source=\"tt\",kind=\"soft_block\"}"),
            4.0
        );
        assert_eq!(
            line("tagpulse_last_success_timestamp_seconds{job=\"ingest tt\"}"),
            rec.started_at.timestamp() as f64
        );
        // A failed job has no success time.
        assert!(!body.contains("tagpulse_last_success_timestamp_seconds{job=\"report\"}"));
        assert!(fetch(addr, "/").await.contains("404"));
    }

    #[tokio::test]
    async fn idle_half_sent_connections_are_capped_and_closed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let m = Arc::new(Metrics::default());
        let addr = serve_within(
            "127.0.0.1:0".parse().unwrap(),
            m,
            4,
            Duration::from_millis(300),
        )
        .await
        .unwrap();
        // Twenty clients that send half a request and then nothing.
        let mut idle = Vec::new();
        for _ in 0..20 {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
            idle.push(s);
        }
        // Each is closed: past the cap at once, the others after their lifetime.
        for s in &mut idle {
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("closed in time")
                .unwrap_or(0);
            assert_eq!(n, 0, "closed without an answer");
        }
        // And the scraper is served again.
        assert!(fetch(addr, "/metrics").await.starts_with("HTTP/1.0 200"));
    }

    /// A plain HTTP/1.0 GET: the whole response as text.
    async fn fetch(addr: SocketAddr, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }
}
