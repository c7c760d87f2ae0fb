//! The Chromium process itself, started so that it cannot outlive tagpulse.
//!
//! A keeper thread starts it and stays parked until the session ends; on Linux the child
//! asks for a parent-death signal (`PR_SET_PDEATHSIG`, SIGKILL) tied to that thread, so a
//! `kill -9` of tagpulse (cron, the OOM killer, systemd's `KillMode=process`) takes the
//! browser along, and Chromium's helpers follow their browser. Its DevTools address is read
//! from its stderr, which is drained for the browser's whole life (a full pipe would stall
//! it). The session then talks to it with `chromiumoxide`'s `Browser::connect`.
//!
//! Where no parent-death signal exists, or a run was killed before this existed, the
//! profiles of runs that are gone, and every process still naming them, are reaped at the
//! next browser start ([`reap_stale_browsers`]).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// The line Chromium prints once its DevTools endpoint listens.
const LISTENING: &str = "DevTools listening on ";

/// Lines of Chromium's stderr kept for the error when it exits before listening.
const KEPT_LINES: usize = 6;

/// Why Chromium did not start.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum StartError {
    /// No thread could be started to keep the process.
    #[error("cannot start a thread for the browser: {0}")]
    Thread(#[source] std::io::Error),
    /// The executable could not be run.
    #[error("{0}")]
    Spawn(#[source] std::io::Error),
    /// It exited before listening; `said` holds its last stderr lines.
    #[error("it exited without opening its DevTools port{}", if said.is_empty() { String::new() } else { format!(": {said}") })]
    Exited {
        /// Its last stderr lines, joined with ` | `.
        said: String,
    },
    /// The keeper thread ended without an answer.
    #[error("the browser's keeper thread ended early")]
    KeeperEnded,
    /// It did not listen in time.
    #[error("it did not open its DevTools port within {secs} s")]
    Timeout { secs: u64 },
}

/// A started Chromium; stopping (or dropping) it ends the process.
pub struct Chromium {
    /// The DevTools WebSocket address of its browser target.
    pub ws_url: String,
    /// Tells the keeper how long the browser may take to exit by itself.
    stop: Option<mpsc::Sender<Duration>>,
    /// Resolves once the keeper has seen the process gone.
    done: Option<oneshot::Receiver<()>>,
}

impl Chromium {
    /// Starts `executable` with `args` (and `TMPDIR` set to `tmp`, when given) and waits up
    /// to `launch_timeout` for its DevTools address; on any failure the process is gone
    /// when this returns.
    pub async fn start(
        executable: &Path,
        args: Vec<String>,
        tmp: Option<&Path>,
        launch_timeout: Duration,
    ) -> Result<Chromium, StartError> {
        let (url_tx, url_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<Duration>();
        let (done_tx, done_rx) = oneshot::channel();
        let mut cmd = Command::new(executable);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(tmp) = tmp {
            cmd.env("TMPDIR", tmp);
        }
        die_with_parent(&mut cmd);
        std::thread::Builder::new()
            .name("chromium-keeper".into())
            .spawn(move || keep(cmd, url_tx, stop_rx, done_tx))
            .map_err(StartError::Thread)?;
        let mut chromium = Chromium {
            ws_url: String::new(),
            stop: Some(stop_tx),
            done: Some(done_rx),
        };
        let answer = tokio::time::timeout(launch_timeout, url_rx).await;
        let failure = match answer {
            Ok(Ok(Ok(url))) => {
                chromium.ws_url = url;
                return Ok(chromium);
            }
            Ok(Ok(Err(e))) => e,
            Ok(Err(_)) => StartError::KeeperEnded,
            Err(_) => StartError::Timeout {
                secs: launch_timeout.as_secs(),
            },
        };
        chromium.stop(Duration::ZERO).await;
        Err(failure)
    }

    /// Waits up to `grace` for the process to exit (after a `Browser.close`), then kills it.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
        if let Some(done) = self.done.take() {
            // The keeper kills at the end of `grace`; a second more is for the wait.
            let _ = tokio::time::timeout(grace + Duration::from_secs(1), done).await;
        }
    }
}

/// The keeper thread: starts the process, hands its DevTools address back, then waits
/// for the stop (a dropped [`Chromium`] stops at once) and ends the process.
fn keep(
    mut cmd: Command,
    url_tx: oneshot::Sender<Result<String, StartError>>,
    stop_rx: mpsc::Receiver<Duration>,
    done_tx: oneshot::Sender<()>,
) {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = url_tx.send(Err(StartError::Spawn(e)));
            return;
        }
    };
    if let Some(stderr) = child.stderr.take() {
        let drain = std::thread::Builder::new()
            .name("chromium-stderr".into())
            .spawn(move || drain(stderr, url_tx));
        if drain.is_err() {
            let _ = child.kill();
        }
    }
    let grace = stop_rx.recv().unwrap_or(Duration::ZERO);
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    let _ = done_tx.send(());
}

/// Reads Chromium's stderr to its end, sending the DevTools address once it appears, or
/// the last lines when the process exits without one.
fn drain(stderr: std::process::ChildStderr, url_tx: oneshot::Sender<Result<String, StartError>>) {
    let mut url_tx = Some(url_tx);
    let mut last: VecDeque<String> = VecDeque::new();
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        line.clear();
        if url_tx.is_none() {
            continue;
        }
        if let Some(at) = text.find(LISTENING) {
            let url = text[at + LISTENING.len()..].trim().to_string();
            if let Some(tx) = url_tx.take() {
                let _ = tx.send(Ok(url));
            }
            continue;
        }
        if last.len() == KEPT_LINES {
            last.pop_front();
        }
        last.push_back(text);
    }
    if let Some(tx) = url_tx {
        let said: Vec<String> = last.into_iter().filter(|l| !l.is_empty()).collect();
        let _ = tx.send(Err(StartError::Exited {
            said: said.join(" | "),
        }));
    }
}

/// Linux: the child gets SIGKILL when the thread that started it ends, which a killed
/// tagpulse's threads all do.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // The parent's pid before the fork: a parent that died before the prctl took effect
    // would leave the child orphaned, so the child checks and gives up.
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: prctl and getppid are async-signal-safe, as pre_exec requires; nothing is
    // allocated between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(std::io::Error::other(
                    "tagpulse ended before the browser started",
                ));
            }
            Ok(())
        });
    }
}

/// Elsewhere no parent-death signal exists: the profile reaping at the next start has to do.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

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

    /// A stand-in browser: prints the line Chromium prints, then sleeps.
    fn fake(dir: &Path, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-chromium");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    #[tokio::test]
    async fn the_address_is_read_and_stop_ends_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake(
            dir.path(),
            "echo noise >&2; echo \"DevTools listening on ws://127.0.0.1:1/devtools/browser/x\" >&2; echo $$ > \"$1\"; exec sleep 300",
        );
        let pidfile = dir.path().join("pid");
        let mut c = Chromium::start(
            &exe,
            vec![pidfile.display().to_string()],
            None,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(c.ws_url, "ws://127.0.0.1:1/devtools/browser/x");
        let deadline = Instant::now() + Duration::from_secs(5);
        let pid: i32 = loop {
            if let Some(p) = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                break p;
            }
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(alive(pid));
        c.stop(Duration::from_millis(100)).await;
        assert!(!alive(pid), "stopped");
    }

    #[tokio::test]
    async fn an_early_exit_is_an_error_with_what_it_said() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake(dir.path(), "echo 'cannot open display' >&2; exit 1");
        let err = match Chromium::start(&exe, vec![], None, Duration::from_secs(10)).await {
            Ok(_) => panic!("a browser that exits is no browser"),
            Err(e) => e,
        };
        assert_eq!(
            err.to_string(),
            "it exited without opening its DevTools port: cannot open display"
        );
        let silent = fake(dir.path(), "exec sleep 300");
        let started = Instant::now();
        let err = match Chromium::start(&silent, vec![], None, Duration::from_millis(300)).await {
            Ok(_) => panic!("no address, no browser"),
            Err(e) => e,
        };
        assert!(matches!(err, StartError::Timeout { secs: 0 }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[cfg(all(test, target_os = "linux"))]
mod reaping {
    use super::*;

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
