//! The HTTP client under the `clickhouse` crate, built here so `https://` works.
//!
//! The crate's own TLS features either need a C build of aws-lc or unwrap the loading of
//! the system's roots (a panic on a machine without a CA store, even for plain http). So
//! tagpulse builds the hyper client itself: rustls with the ring provider, trusting the
//! system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` override them, e.g. for a private CA),
//! loaded only when the URL is https.

use hyper_util::client::legacy::{connect::HttpConnector, Client as HyperClient};
use hyper_util::rt::TokioExecutor;

/// The crate closes idle connections before ClickHouse's 3 s keep-alive does; so do we.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A `clickhouse::Client` for `url` (http or https), with no credentials yet.
pub(crate) fn client(url: &str) -> clickhouse::Client {
    // The system's roots are read only for https: a plain-http setup needs none.
    let tls = tagpulse_io::tls::client_config(url.starts_with("https://"));
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_keepalive(Some(std::time::Duration::from_secs(60)));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let hyper = HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(connector);
    clickhouse::Client::with_http_client(hyper)
}
