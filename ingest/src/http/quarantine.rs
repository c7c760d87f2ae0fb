//! Payloads that failed to parse, kept for diagnosis under
//! `<data_dir>/quarantine/<source>/`, capped in size and count.

use std::path::{Path, PathBuf};

/// Bytes kept of one payload.
const MAX_BYTES: usize = 1 << 20;
/// Files kept per source; the oldest go first.
const MAX_FILES: usize = 200;

/// One source's quarantine folder.
#[derive(Debug, Clone)]
pub struct Quarantine {
    dir: PathBuf,
}

impl Quarantine {
    /// The folder for `source` under `data_dir`.
    pub fn new(data_dir: &Path, source: &str) -> Self {
        Quarantine {
            dir: data_dir.join("quarantine").join(source),
        }
    }

    /// Keeps `body` (the first MiB) as `<time>-<tag>-<what>.txt`; returns its path, or
    /// `None` when it could not be written (logged: a full disk must not hide the error).
    pub fn keep(&self, tag: &str, what: &str, body: &[u8]) -> Option<PathBuf> {
        let name = format!(
            "{}-{tag}-{what}.txt",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
        );
        let path = self.dir.join(name);
        let kept = std::fs::create_dir_all(&self.dir)
            .and_then(|_| std::fs::write(&path, &body[..body.len().min(MAX_BYTES)]));
        if let Err(e) = kept {
            tracing::warn!(path = %path.display(), "cannot quarantine a payload: {e}");
            return None;
        }
        self.prune();
        Some(path)
    }

    /// Removes the oldest files beyond the cap (names sort by time).
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
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
}
