//! A full disk, for real: small tmpfs mounts. It needs root, as CI has; without, it follows
//! the one test policy ([`needs`]: fails under CI, else skips saying why). A write that runs out of space leaves no temp file or
//! staging folder behind, the stored data stays readable, and the next run works.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A tmpfs of `size` mounted at `dir`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs (this test needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn temp_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with(".tmp-") {
            out.push(p.clone());
        }
        if p.is_dir() && !p.is_symlink() {
            out.extend(temp_entries(&p));
        }
    }
    out
}

#[test]
fn a_full_disk_during_import_and_report_leaves_nothing_behind() {
    require!(
        "root (to mount a tmpfs)",
        is_root(),
        "run the tests as root, as CI does"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The lake on 256 KiB: the fixtures' part file does not fit.
    let lake = Tmpfs::mount(&d.join("small"), "256k");
    fs::write(
        d.join("tagpulse.toml"),
        "[storage]\ndata_dir = \"small/data\"\n\n[report]\nout_dir = \"tiny\"\n",
    )
    .unwrap();
    let (code, err) = fails(d, &["import", &fixture_glob()]);
    assert_eq!(code, 1);
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(temp_entries(&lake.0), Vec::<PathBuf>::new());
    // Room again: the same import works, and nothing was stored twice.
    drop(lake);
    ok(d, &["import", &fixture_glob()]);
    ok(d, &["transform"]);

    // The report folder on 16 KiB: the week's charts do not fit.
    let reports = Tmpfs::mount(&d.join("tiny"), "16k");
    let (code, err) = fails(d, &["report"]);
    assert_eq!(code, 1);
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(temp_entries(&reports.0), Vec::<PathBuf>::new());
    // No index page that points nowhere, and never an empty one.
    let index = reports.0.join("index.html");
    assert!(!index.exists() || fs::metadata(&index).unwrap().len() > 0);
}
