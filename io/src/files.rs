//! The one way tagpulse replaces a file, used for every file it writes outside a staging
//! folder (Parquet parts and weekly tables, JSON state, sessions and tokens, the report
//! index): the content goes to a temp file in the same folder, is synced, renamed over
//! the destination, and the folder is synced, so a crash or a power cut leaves the old or
//! the new content, never a mix. A failed write removes its temp file at once (a full
//! disk must not stay full because of it); a killed one leaves a `.tmp-` file that the
//! next writing command sweeps.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Who may read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The umask decides (data, reports).
    Shared,
    /// The owner only, mode 0600 (sessions and tokens).
    Private,
}

/// A step of [`write_atomic`] that failed, with the path it failed on.
#[derive(Debug, thiserror::Error)]
#[error("cannot {step} {}: {source}", path.display())]
#[allow(missing_docs)] // its fields are the values its messages show
pub struct WriteError {
    /// `create`, `write`, `sync` or `rename into`.
    pub step: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Prefix of every temp file: the sweep of crashed runs' leftovers looks for it.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Replaces `path` with what `write` writes, atomically and durably (see the crate doc);
/// its folder is created when missing.
pub fn write_atomic(
    path: &Path,
    access: Access,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), WriteError> {
    let fail = |step, path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError { step, path, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail("name", path)(io::Error::other("no file name")))?;
    std::fs::create_dir_all(dir).map_err(fail("create", dir))?;
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{}-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = open(&tmp, access).map_err(fail("create", &tmp))?;
        write(&mut file).map_err(fail("write", &tmp))?;
        file.flush().map_err(fail("write", &tmp))?;
        file.sync_all().map_err(fail("sync", &tmp))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(fail("rename into", path))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself must survive a power cut too.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail("sync", dir))
}

/// [`write_atomic`] of `bytes`.
pub fn write_bytes(path: &Path, access: Access, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic(path, access, |f| f.write_all(bytes))
}

fn open(path: &Path, access: Access) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if access == Access::Private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    }
    #[cfg(not(unix))]
    let _ = access;
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn replaces_whole_and_creates_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/x.json");
        write_bytes(&path, Access::Shared, b"old").unwrap();
        write_bytes(&path, Access::Shared, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(&dir.path().join("state")), ["x.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_content_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_bytes(&path, Access::Shared, b"old").unwrap();
        let e = write_atomic(&path, Access::Shared, |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(e.step, "write");
        assert!(e.to_string().ends_with(": disk full"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["x.json"]);
        // A destination that cannot be replaced: the rename fails, nothing is left over.
        std::fs::create_dir_all(dir.path().join("busy/inside")).unwrap();
        let e = write_bytes(&dir.path().join("busy"), Access::Shared, b"x").unwrap_err();
        assert_eq!(e.step, "rename into");
        assert_eq!(names(dir.path()), ["busy", "x.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        write_bytes(&path, Access::Private, b"secret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
