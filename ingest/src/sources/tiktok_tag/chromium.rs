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
//! next browser start ([`super::reap`]).

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
