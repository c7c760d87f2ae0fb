//! Payloads that failed to parse, kept for diagnosis under
//! `<data_dir>/quarantine/<source>/`, capped in size and count.

use std::path::{Path, PathBuf};

use tagpulse_model::paths::{child, Escape};

/// Bytes kept of one payload.
const MAX_BYTES: usize = 1 << 20;
/// Files kept per source; the oldest go first.
const MAX_FILES: usize = 200;

/// One source's quarantine folder.
#[derive(Debug, Clone)]
pub struct Quarantine {
    /// Its folder, or why `source` names none inside `data_dir/quarantine`.
    dir: Result<PathBuf, Escape>,
}

impl Quarantine {
    /// The folder for `source` under `data_dir`.
    pub fn new(data_dir: &Path, source: &str) -> Self {
        Quarantine {
            dir: child(&data_dir.join("quarantine"), source),
        }
    }

    /// Keeps `body` (the first MiB) as `<time>-<tag>-<what>.txt`; returns its path, or
    /// `None` when it could not be written (logged: a full disk must not hide the error).
    pub fn keep(&self, tag: &str, what: &str, body: &[u8]) -> Option<PathBuf> {
        let name = format!(
            "{}-{tag}-{what}.txt",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
        );
        let found = match &self.dir {
            Ok(dir) => child(dir, &name).map(|path| (dir, path)),
            Err(e) => Err(e.clone()),
        };
        let (dir, path) = match found {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("payload not quarantined: {e}");
                return None;
            }
        };
        let kept = std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(&path, &body[..body.len().min(MAX_BYTES)]));
        if let Err(e) = kept {
            tracing::warn!(path = %path.display(), "cannot quarantine a payload: {e}");
            return None;
        }
        prune(dir);
        Some(path)
    }
}

/// Removes the oldest files of `dir` beyond the cap (names sort by time).
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    if files.len() <= MAX_FILES {
        return;
    }
    files.sort();
    for old in &files[..files.len() - MAX_FILES] {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_capped_copy_and_prunes_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let q = Quarantine::new(dir.path(), "tt");
        let big = vec![b'x'; MAX_BYTES + 10];
        let p = q.keep("azubi", "json", &big).unwrap();
        assert!(p.starts_with(dir.path().join("quarantine/tt")));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), MAX_BYTES as u64);
        for i in 0..MAX_FILES + 5 {
            q.keep(&format!("t{i}"), "json", b"{").unwrap();
        }
        let n = std::fs::read_dir(dir.path().join("quarantine/tt"))
            .unwrap()
            .count();
        assert_eq!(n, MAX_FILES);
        assert!(!p.exists(), "the oldest file goes first");
    }

    #[test]
    fn a_source_or_tag_that_would_leave_the_folder_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let escaping = Quarantine::new(&data, "../../victim");
        assert_eq!(escaping.keep("azubi", "json", b"{"), None);
        let q = Quarantine::new(&data, "tt");
        assert_eq!(q.keep("../../x", "json", b"{"), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
