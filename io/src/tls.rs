//! TLS for every outgoing HTTPS connection (sources, webhooks, ClickHouse): rustls on
//! the ring provider (no C toolchain beyond cc), trusting the system's CA roots, which
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` override (e.g. for a private CA).

use std::sync::{Arc, OnceLock};

/// A client configuration; with `system_roots` it trusts the system's CA roots (read
/// once per process), without it nothing (for a plain-http client that needs a config).
pub fn client_config(system_roots: bool) -> rustls::ClientConfig {
    let roots = if system_roots {
        system().clone()
    } else {
        rustls::RootCertStore::empty()
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The system's roots, loaded once; a machine without any gets one warning.
fn system() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("while loading the system's CA certificates: {e}");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "CA certificates for https");
        if added == 0 {
            tracing::warn!(
                "no CA certificates found: https will fail (install ca-certificates or set SSL_CERT_FILE)"
            );
        }
        roots
    })
}
