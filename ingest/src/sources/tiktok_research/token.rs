//! The Research API's client-credentials token: issued from the client key and secret,
//! kept under `<data_dir>/sessions/` between runs (it lives two hours), and renewed a few
//! minutes before it expires or when the API calls it invalid.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::http::{HttpClient, HttpFailure};
use crate::FailureKind;

/// Renewed this long before it expires, so no request carries a token about to lapse.
const MARGIN: Duration = Duration::minutes(5);

/// An access token and when it expires (a secret: never logged).
#[derive(Clone, Serialize, Deserialize)]
pub struct Token {
    /// Sent as the bearer token.
    pub access_token: String,
    /// When the API stops taking it.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token {{ expires_at: {} }}", self.expires_at)
    }
}

impl Token {
    /// Still good for a while at `now`.
    pub fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - now > MARGIN
    }
}

/// The client key and secret, read from the env vars the config names.
pub struct Client {
    /// `client_key`.
    pub key: String,
    /// `client_secret`.
    pub secret: String,
}

#[derive(Deserialize)]
struct Issued {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Asks for a new token (`grant_type=client_credentials`).
pub async fn issue(http: &HttpClient, client: &Client) -> Result<Token, HttpFailure> {
    let url = http.url("/v2/oauth/token/");
    let form = [
        ("client_key", client.key.as_str()),
        ("client_secret", client.secret.as_str()),
        ("grant_type", "client_credentials"),
    ];
    let answer = http.send("(token)", |c| c.post(&url).form(&form)).await?;
    let issued: Issued = serde_json::from_slice(&answer).map_err(|e| {
        HttpFailure::fatal(FailureKind::Auth, format!("unreadable token answer: {e}"))
    })?;
    match (issued.access_token, issued.expires_in) {
        (Some(access_token), Some(expires_in)) if !access_token.is_empty() => Ok(Token {
            access_token,
            expires_at: Utc::now() + Duration::seconds(expires_in),
        }),
        _ => Err(HttpFailure::fatal(
            FailureKind::Auth,
            format!(
                "no token issued: {} {}",
                issued.error.unwrap_or_default(),
                issued.error_description.unwrap_or_default()
            )
            .trim_end()
            .to_string(),
        )),
    }
}
