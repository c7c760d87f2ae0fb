//! What each alert entry has sent, per target, in `data_dir/alerts/<id>.json`: a finding
//! is sent once per target, a failed delivery is tried again at the next evaluation, and
//! a target's consecutive failures are kept for `tagpulse status`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use tagpulse_model::paths::child;

use crate::PipelineError;

/// Sent keys are forgotten after this long (the findings they name are long past).
const KEEP_DAYS: i64 = 120;

/// One target's delivery record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TargetState {
    /// Finding keys delivered, with when.
    pub sent: BTreeMap<String, DateTime<Utc>>,
    /// Deliveries failed in a row (0 once one succeeds).
    pub failures: u32,
    /// The last failure, as logged.
    pub last_error: Option<String>,
    /// When it last failed.
    pub last_failure: Option<DateTime<Utc>>,
    /// When it last delivered.
    pub last_ok: Option<DateTime<Utc>>,
}

/// One alert entry's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlertState {
    /// When the entry was first evaluated: failed runs before it are not alerted.
    pub since: DateTime<Utc>,
    /// Per target (`webhook`, `email`).
    pub targets: BTreeMap<String, TargetState>,
}

/// The state file of alert `id`; an id that would leave `data_dir/alerts` is refused.
pub fn path(data_dir: &Path, id: &str) -> Result<PathBuf, PipelineError> {
    Ok(child(&data_dir.join("alerts"), &format!("{id}.json"))?)
}

impl AlertState {
    /// Reads the state of `id`; a new one starting at `first` when there is none. A damaged file
    /// is an error rather than a reset, which would send everything again.
    pub fn load(
        data_dir: &Path,
        id: &str,
        first: DateTime<Utc>,
    ) -> Result<AlertState, PipelineError> {
        let path = path(data_dir, id)?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| PipelineError::Io {
                what: "read the alert state",
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AlertState {
                since: first,
                targets: BTreeMap::new(),
            }),
            Err(source) => Err(PipelineError::Io {
                what: "read the alert state",
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes it back, dropping keys older than the retention.
    pub fn save(
        &mut self,
        data_dir: &Path,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PipelineError> {
        let cutoff = now - Duration::days(KEEP_DAYS);
        for t in self.targets.values_mut() {
            t.sent.retain(|_, at| *at >= cutoff);
        }
        crate::json_file::write(&path(data_dir, id)?, self)
    }

    /// Every entry's state under `data_dir`, by id (for `tagpulse status`).
    pub fn all(data_dir: &Path) -> Vec<(String, AlertState)> {
        let Ok(dir) = std::fs::read_dir(data_dir.join("alerts")) else {
            return Vec::new();
        };
        let mut out: Vec<(String, AlertState)> = dir
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e
                    .file_name()
                    .to_string_lossy()
                    .strip_suffix(".json")?
                    .to_string();
                let state = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
                Some((name, state))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
