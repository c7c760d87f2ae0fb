//! What a scheduled file source has stored of each file, so the next fetch reads only the
//! lines appended since: per file its length, where to resume, and the bytes at the file's
//! start and before the resume point. A file whose start or those bytes changed (rewritten,
//! truncated, replaced) is read whole again; identity deduplication keeps that harmless.
//!
//! The marks move only after the store took the rows ([`Marks::save`] is called by the
//! pipeline once the batch is stored), so a failed store re-reads the same lines next time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::IngestError;

/// Bytes of a file's start and of the text before its resume point that a mark keeps.
const PROBE: usize = 64;

/// One file's mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Mark {
    /// The file's length when it was read.
    len: u64,
    /// Where the next read starts: the end of the last complete line read (a last line
    /// without its line break may still be growing, so it is read again).
    resume: u64,
    /// The file's first bytes, hex.
    head: String,
    /// The bytes just before `resume`, hex.
    tail: String,
}

impl Mark {
    /// The mark after reading `bytes` whole.
    pub(super) fn after(bytes: &[u8]) -> Mark {
        let resume = match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => i + 1,
            None => 0,
        };
        Mark {
            len: bytes.len() as u64,
            resume: resume as u64,
            head: hex(&bytes[..bytes.len().min(PROBE)]),
            tail: hex(&bytes[resume.saturating_sub(PROBE)..resume]),
        }
    }

    /// Where to start reading `bytes` now: `None` when nothing was added since the mark,
    /// else the offset of the first unread line (0 when the file is not the one marked).
    pub(super) fn start_in(&self, bytes: &[u8]) -> Option<usize> {
        let (len, resume) = (self.len as usize, self.resume as usize);
        let head = self.head.len() / 2;
        let same = bytes.len() >= len
            && hex(&bytes[..head]) == self.head
            && hex(&bytes[resume.saturating_sub(PROBE)..resume]) == self.tail;
        match same {
            true if bytes.len() == len => None,
            true => Some(resume),
            false => Some(0),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file's mark for one source, kept in `<data_dir>/files/<source>.json`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Marks {
    /// Marks by file path.
    files: BTreeMap<PathBuf, Mark>,
}

impl Marks {
    /// The marks file of source `id`.
    pub(super) fn path(data_dir: &Path, id: &str) -> PathBuf {
        data_dir.join("files").join(format!("{id}.json"))
    }

    /// The marks at `path` (none when the file does not exist yet).
    pub(super) fn load(path: &Path) -> Result<Marks, IngestError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| IngestError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!(
                    "unreadable ({e}); remove it to read the source's files whole once more"
                )),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Marks::default()),
            Err(source) => Err(IngestError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the marks to `path` atomically.
    pub(super) fn save(&self, path: &Path) -> Result<(), IngestError> {
        let json = serde_json::to_vec_pretty(self).expect("marks serialize");
        tagpulse_io::write_bytes(path, tagpulse_io::Access::Shared, &json).map_err(|e| {
            IngestError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            }
        })
    }

    /// The mark of `file`, if it was read before.
    pub(super) fn get(&self, file: &Path) -> Option<&Mark> {
        self.files.get(file)
    }

    /// Sets the mark of `file`.
    pub(super) fn set(&mut self, file: PathBuf, mark: Mark) {
        self.files.insert(file, mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_resumes_after_the_last_complete_line() {
        let first = b"2026-01-05 00:00:00\t1\n2026-01-05 01:00:00\t2\n";
        let mark = Mark::after(first);
        assert_eq!(mark.start_in(first), None, "nothing new");
        let grown = [&first[..], b"2026-01-05 02:00:00\t3\n"].concat();
        assert_eq!(mark.start_in(&grown), Some(first.len()));
        // Rewritten in place (same start, other last lines): read whole.
        let rewritten = b"2026-01-05 00:00:00\t1\n2026-01-05 01:00:00\t9\n2026-01-05 02:00:00\t3\n";
        assert_eq!(mark.start_in(rewritten), Some(0));
        // Truncated: read whole.
        assert_eq!(mark.start_in(&first[..10]), Some(0));
        // A last line without its line break is read again once the file grows.
        let open = b"2026-01-05 00:00:00\t1\n2026-01-05 01:00:00\t2";
        let mark = Mark::after(open);
        assert_eq!(mark.start_in(open), None);
        let closed = [&open[..], b"5\n"].concat();
        assert_eq!(mark.start_in(&closed), Some(22));
    }
}
