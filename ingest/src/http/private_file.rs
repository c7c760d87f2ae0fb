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
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        std::io::Write::write_all(&mut opts.open(&tmp)?, &serde_json::to_vec(value)?)?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        // Only costs a login next run.
        tracing::warn!(path = %path.display(), "cannot keep the source's session: {e}");
    }
}
