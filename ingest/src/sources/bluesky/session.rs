//! The Bluesky login: an app-password session kept under `<data_dir>/sessions/`, reused
//! across runs and refreshed when its access token expires (createSession is limited to
//! 30 per 5 minutes and 300 a day, so a scheduled job must not log in every run); the
//! file is kept by [`crate::http::private_file`].

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::http::{HttpClient, HttpFailure};
use crate::FailureKind;

/// The tokens of one session (secrets: the file is private to the user, never logged).
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    /// Sent as the bearer token of every request.
    #[serde(rename = "accessJwt")]
    pub access: String,
    /// Trades for a new session when `access` expires.
    #[serde(rename = "refreshJwt")]
    pub refresh: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session { .. }")
    }
}

/// Logs in with the handle and app password.
pub async fn create(
    http: &HttpClient,
    handle: &str,
    password: &str,
) -> Result<Session, HttpFailure> {
    let url = http.url("/xrpc/com.atproto.server.createSession");
    let body = json!({"identifier": handle, "password": password});
    let answer = http.send("(login)", |c| c.post(&url).json(&body)).await?;
    serde_json::from_slice(&answer)
        .map_err(|e| HttpFailure::fatal(FailureKind::Auth, format!("unreadable login answer: {e}")))
}

/// Trades the refresh token for a new session.
pub async fn refresh(http: &HttpClient, old: &Session) -> Result<Session, HttpFailure> {
    let url = http.url("/xrpc/com.atproto.server.refreshSession");
    let answer = http
        .send("(refresh)", |c| c.post(&url).bearer_auth(&old.refresh))
        .await?;
    serde_json::from_slice(&answer).map_err(|e| {
        HttpFailure::fatal(FailureKind::Auth, format!("unreadable refresh answer: {e}"))
    })
}

/// True when a failure means the access token is no longer good.
pub fn expired(f: &HttpFailure) -> bool {
    f.kind == FailureKind::Auth
        || f.detail.contains("ExpiredToken")
        || f.detail.contains("InvalidToken")
}
