//! Generations: a set of files that becomes visible all at once, or not at all.
//!
//! The files are written into a fresh directory `<parent>/.generations/<name>-<id>/`,
//! synced, and then published by replacing the symlink `<parent>/<name>` (pointing at
//! `.generations/<name>-<id>`) with one `rename`, which POSIX makes atomic. Readers open
//! `<parent>/<name>/<file>` with no glue (pandas, DuckDB, a browser); a reader that must
//! see one generation across several files resolves the link once ([`resolve`]). The
//! generation replaced is kept until the next publish, so a reader that resolved it just
//! before the switch can still finish; older ones, and staging left by a crash, are
//! removed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::StoreError;

/// Folder (under the parent) holding the generation directories.
pub const GENERATIONS_DIR: &str = ".generations";

static SEQ: AtomicU64 = AtomicU64::new(0);

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io { what, path, source }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", dir))
}

/// Writes a new generation of `<parent>/<name>` with `fill` (given the staging
/// directory), then publishes it atomically. On error nothing is published and the
/// staging directory is removed. Returns the published directory.
pub fn publish<E>(
    parent: &Path,
    name: &str,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<PathBuf, E>
where
    E: From<StoreError>,
{
    let gens = parent.join(GENERATIONS_DIR);
    std::fs::create_dir_all(&gens).map_err(io("cannot create", &gens))?;
    let id = format!(
        "{name}-{:017}-{}-{}",
        chrono::Utc::now().timestamp_micros(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let staging = gens.join(format!(".tmp-{id}"));
    std::fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
    let staged = fill(&staging).and_then(|()| sync_tree(&staging).map_err(E::from));
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let dir = gens.join(&id);
    std::fs::rename(&staging, &dir).map_err(io("cannot rename into", &dir))?;
    sync_dir(&gens)?;
    let link = parent.join(name);
    let tmp_link = parent.join(format!(".tmp-link-{id}"));
    let target = Path::new(GENERATIONS_DIR).join(&id);
    std::os::unix::fs::symlink(&target, &tmp_link).map_err(io("cannot create", &tmp_link))?;
    if let Err(e) = std::fs::rename(&tmp_link, &link) {
        let _ = std::fs::remove_file(&tmp_link);
        return Err(io("cannot switch", &link)(e).into());
    }
    sync_dir(parent)?;
    prune(parent, name, &id);
    Ok(dir)
}

/// Removes generations of `name` other than `current` and the one before it, and
/// staging directories left by crashed runs. Failures are logged, never fatal: the new
/// generation is already published.
fn prune(parent: &Path, name: &str, current: &str) {
    let gens = parent.join(GENERATIONS_DIR);
    let Ok(entries) = std::fs::read_dir(&gens) else {
        return;
    };
    let prefix = format!("{name}-");
    let mut mine: Vec<String> = Vec::new();
    let mut stale: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(rest) = file.strip_prefix(".tmp-") {
            // Another process may be staging right now: only its own crash leaves this
            // behind, and only ours can be swept safely (same pid, not the current id).
            if rest.starts_with(&prefix) && is_orphan(rest) {
                stale.push(e.path());
            }
        } else if file.starts_with(&prefix) && file.as_str() != current {
            mine.push(file);
        }
    }
    mine.sort();
    // Keep the newest older generation for readers that resolved the link just before.
    mine.pop();
    stale.extend(mine.into_iter().map(|f| gens.join(f)));
    for p in stale {
        if let Err(e) = std::fs::remove_dir_all(&p) {
            tracing::warn!(path = %p.display(), "cannot remove an old generation: {e}");
        }
    }
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if file
                .strip_prefix(".tmp-link-")
                .is_some_and(|rest| rest.starts_with(&prefix) && is_orphan(rest))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// True when the generation id `<name>-<µs>-<pid>-<n>` was made by a process that no
/// longer runs (so its staging can never be published).
fn is_orphan(id: &str) -> bool {
    let mut parts = id.rsplit('-');
    let _seq = parts.next();
    match parts.next().and_then(|p| p.parse::<u32>().ok()) {
        Some(pid) if pid == std::process::id() => false,
        Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
        None => false,
    }
}

/// Syncs every file and folder under `dir` (a report has a `tags/` folder), then `dir`.
fn sync_tree(dir: &Path) -> Result<(), StoreError> {
    for entry in std::fs::read_dir(dir).map_err(io("cannot list", dir))? {
        let path = entry.map_err(io("cannot list", dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io("cannot sync", &path))?;
        }
    }
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync", dir))
}

/// Copies the files of `from` (and its folders) into `to`, for a new generation that
/// changes few of them.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(to).map_err(io("cannot create", to))?;
    for entry in std::fs::read_dir(from).map_err(io("cannot list", from))? {
        let path = entry.map_err(io("cannot list", from))?.path();
        let dest = to.join(path.file_name().expect("a listed entry has a name"));
        if path.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest).map_err(io("cannot copy", &path))?;
        }
    }
    Ok(())
}

/// The directory `<parent>/<name>` points at now, or `None` when nothing was published.
pub fn resolve(parent: &Path, name: &str) -> Result<Option<PathBuf>, StoreError> {
    let link = parent.join(name);
    match std::fs::read_link(&link) {
        Ok(target) => Ok(Some(parent.join(target))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read the link", &link)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) -> Result<(), StoreError> {
        for (f, text) in files {
            std::fs::write(dir.join(f), text).map_err(io("cannot write", &dir.join(f)))?;
        }
        Ok(())
    }

    #[test]
    fn publishes_whole_sets_and_keeps_one_previous() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert_eq!(resolve(root, "weekly").unwrap(), None);
        for k in 0..4 {
            let v = k.to_string();
            publish(root, "weekly", |d| write(d, &[("a", &v), ("b", &v)])).unwrap();
            assert_eq!(std::fs::read_to_string(root.join("weekly/a")).unwrap(), v);
            assert_eq!(std::fs::read_to_string(root.join("weekly/b")).unwrap(), v);
        }
        let gens: Vec<_> = std::fs::read_dir(root.join(GENERATIONS_DIR))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(gens.len(), 2, "the current and the previous generation");
        let current = resolve(root, "weekly").unwrap().unwrap();
        assert!(current.starts_with(root.join(GENERATIONS_DIR)));
    }

    #[test]
    fn a_failed_fill_publishes_nothing_and_leaves_no_staging() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        publish(root, "weekly", |d| write(d, &[("a", "old")])).unwrap();
        let err = publish(root, "weekly", |d| {
            write(d, &[("a", "half")])?;
            Err(StoreError::NotClickHouse)
        })
        .unwrap_err();
        assert!(matches!(err, StoreError::NotClickHouse));
        assert_eq!(
            std::fs::read_to_string(root.join("weekly/a")).unwrap(),
            "old"
        );
        let names: Vec<String> = std::fs::read_dir(root.join(GENERATIONS_DIR))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(!names[0].starts_with(".tmp-"), "{names:?}");
    }

    #[test]
    fn staging_of_dead_processes_is_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let gens = root.join(GENERATIONS_DIR);
        // pid 2^22+1 is above Linux's pid_max limit, so no process has it.
        let dead = gens.join(".tmp-weekly-00000000000000001-4194305-0");
        std::fs::create_dir_all(&dead).unwrap();
        let other = gens.join(".tmp-report-00000000000000001-4194305-0");
        std::fs::create_dir_all(&other).unwrap();
        publish(root, "weekly", |d| write(d, &[("a", "x")])).unwrap();
        assert!(!dead.exists());
        assert!(
            other.exists(),
            "another name's staging is not ours to sweep"
        );
    }
}
