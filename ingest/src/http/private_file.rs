//! Credentials a source keeps between runs (a login session, an access token) under
//! `<data_dir>/sessions/<source>.json`, readable by the owner only and written whole.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tagpulse_model::paths::{child, Escape};

/// Where source `source` keeps its credentials; an id that would leave
/// `data_dir/sessions` is refused.
pub fn session_file(data_dir: &Path, source: &str) -> Result<PathBuf, Escape> {
    child(&data_dir.join("sessions"), &format!("{source}.json"))
}

/// The saved value, if any (an unreadable file counts as none: it only costs a login).
pub fn load<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Saves `value` readable by its owner only (mode 0600), replacing the file atomically.
pub fn save<T: Serialize>(path: &Path, value: &T) {
    let json = serde_json::to_vec(value).expect("serialisable");
    if let Err(e) = tagpulse_io::write_bytes(path, tagpulse_io::Access::Private, &json) {
        // Only costs a login next run.
        tracing::warn!("cannot keep the source's session: {e}");
    }
}
