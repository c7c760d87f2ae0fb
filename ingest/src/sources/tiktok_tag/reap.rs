//! Browser profiles and processes left by runs that are gone.
//!
//! Each session's profile folder names its tagpulse's pid, and every Chromium process
//! carries the profile path on its command line. A run killed before it could close its
//! browser (`kill -9`, the OOM killer, a platform without a parent-death signal) leaves
//! both behind; the next browser start finds them by that name and removes them, and a
//! closing session kills any helper still naming its own profile.

use std::path::Path;

/// Profile folders are `<temp>/tagpulse-chromium-<owner pid>-<random>`: the owner's pid
/// tells a killed run's leftovers from a live run's.
pub(super) const PROFILE_PREFIX: &str = "tagpulse-chromium-";

/// Removes the browser profiles under `dir` whose tagpulse is gone (`kill -9`, the OOM
/// killer), after killing every process still naming them; returns how many. A profile
/// of a live tagpulse, or of an owner this cannot tell, is left alone.
pub fn reap_stale_browsers(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut reaped = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PROFILE_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if owner_alive(owner) {
            continue;
        }
        let path = entry.path();
        kill_processes_naming(&path);
        if std::fs::remove_dir_all(&path).is_ok() {
            reaped += 1;
        }
    }
    reaped
}

/// True while a process `pid` exists. A reused pid only delays the reaping; a renamed
/// tagpulse binary must never lose its live browser.
#[cfg(target_os = "linux")]
fn owner_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Without `/proc` no owner can be told dead: nothing is reaped.
#[cfg(not(target_os = "linux"))]
fn owner_alive(_pid: i32) -> bool {
    true
}

/// SIGKILLs every process whose command line names `marker`; returns how many.
#[cfg(target_os = "linux")]
pub fn kill_processes_naming(marker: &Path) -> usize {
    let pids = processes_naming(marker);
    for &pid in &pids {
        // SAFETY: kill with a positive pid and a valid signal has no memory effects.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    pids.len()
}

/// No `/proc` to read: the kill of the main process has to do.
#[cfg(not(target_os = "linux"))]
pub fn kill_processes_naming(_marker: &Path) -> usize {
    0
}

/// The processes whose command line contains `marker` (Linux `/proc`).
#[cfg(target_os = "linux")]
pub fn processes_naming(marker: &Path) -> Vec<i32> {
    let needle = marker.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_killed_runs_profile_and_processes_are_reaped_a_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // A pid that is gone: a child that already exited and was waited for.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead = gone.id();
        gone.wait().unwrap();
        let stale = tmp.path().join(format!("{PROFILE_PREFIX}{dead}-abc"));
        let live = tmp
            .path()
            .join(format!("{PROFILE_PREFIX}{}-def", std::process::id()));
        let other = tmp.path().join("tagpulse-chromium-notapid");
        for d in [&stale, &live, &other] {
            std::fs::create_dir(d).unwrap();
        }
        // A helper left behind, naming the stale profile as Chromium's helpers do.
        let mut helper = std::process::Command::new("sh")
            .args(["-c", "sleep 300", &stale.display().to_string()])
            .spawn()
            .unwrap();
        // A live one's helper must survive.
        let mut keeper = std::process::Command::new("sh")
            .args(["-c", "sleep 300", &live.display().to_string()])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(processes_naming(&stale).len(), 1);
        assert_eq!(reap_stale_browsers(tmp.path()), 1);
        assert!(!stale.exists() && live.exists() && other.exists());
        let status = helper.wait().unwrap();
        assert!(!status.success(), "the stale helper was killed: {status}");
        assert!(
            keeper.try_wait().unwrap().is_none(),
            "the live helper runs on"
        );
        keeper.kill().unwrap();
        keeper.wait().unwrap();
    }
}
