//! Leftovers of crashed runs: temp files and staging folders (`.tmp-…`, `….json.tmp`)
//! that a killed process never renamed into place. Readers skip them already; the sweep
//! gives their disk space back. Only entries older than the cut-off go, so a write in
//! progress in another process is never touched.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Temp entries under these roots that are older than this are swept.
pub const SWEEP_AFTER: Duration = Duration::from_secs(3600);

fn is_temp(name: &str) -> bool {
    name.starts_with(".tmp-") || name.ends_with(".json.tmp")
}

/// Removes temp files and folders older than `older_than` anywhere under `roots`;
/// returns what it removed. Errors are skipped: a sweep never fails a job.
pub fn sweep(roots: &[&Path], older_than: Duration) -> Vec<PathBuf> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = Vec::new();
    for root in roots {
        walk(root, cutoff, &mut removed, 0);
    }
    removed
}

fn walk(dir: &Path, cutoff: SystemTime, removed: &mut Vec<PathBuf>, depth: usize) {
    // The lake is a few levels deep; a link loop or a huge tree is not ours to walk.
    if depth > 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_temp(&name) {
            if meta.modified().is_ok_and(|m| m < cutoff) {
                let gone = if meta.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                if gone.is_ok() {
                    removed.push(path);
                }
            }
        } else if meta.is_dir() {
            walk(&path, cutoff, removed, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_leftovers_go_and_fresh_ones_and_data_stay() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let parts = root.join("observations/snapshots");
        std::fs::create_dir_all(&parts).unwrap();
        let old = SystemTime::now() - Duration::from_secs(7200);
        let make = |p: PathBuf, age: SystemTime| {
            std::fs::write(&p, "x").unwrap();
            std::fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(age)
                .unwrap();
            p
        };
        let stale = make(parts.join(".tmp-part-1.parquet"), old);
        let fresh = make(parts.join(".tmp-part-2.parquet"), SystemTime::now());
        let data = make(parts.join("part-1.parquet"), old);
        let progress = make(root.join("backfill.json.tmp"), old);
        let staging = root.join(".generations/.tmp-weekly-1");
        std::fs::create_dir_all(&staging).unwrap();
        make(staging.join("a.parquet"), old);
        std::fs::File::open(&staging)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut removed = sweep(&[root], SWEEP_AFTER);
        removed.sort();
        let mut want = vec![stale, progress, staging];
        want.sort();
        assert_eq!(removed, want);
        assert!(fresh.exists() && data.exists());
    }
}
