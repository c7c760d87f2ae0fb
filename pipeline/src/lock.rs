//! One writer per data directory: every writing command holds an OS lock on
//! `<data_dir>/.lock` (released by the OS when the process ends, even on a kill), so two
//! tagpulse processes (a cron job and a hand-run import, two schedulers) never write one
//! lake at once. A second writer waits up to `storage.lock_timeout`, then gives up naming
//! the holder's PID, which the holder writes into the file.
//!
//! The lock is held only while writing: a source fetches over the network without it and
//! takes it to store ([`WriteLock`]), so a slow fetch never keeps a `report` or an
//! `import` waiting.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::PipelineError;

/// Held while a command writes `data_dir`; dropping it releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock of `data_dir` (created when missing), waiting up to `timeout`.
    pub async fn acquire(data_dir: &Path, timeout: Duration) -> Result<Self, PipelineError> {
        Self::take(data_dir, ".lock", timeout).await
    }

    /// Takes `<data_dir>/.alerts.lock`, waiting up to `timeout`: alert deliveries take
    /// turns (each finding once) without holding the data lock over a slow target.
    pub async fn alerts(data_dir: &Path, timeout: Duration) -> Result<Self, PipelineError> {
        Self::take(data_dir, ".alerts.lock", timeout)
            .await
            .map_err(|e| match e {
                PipelineError::Locked { holder, .. } => PipelineError::AlertsBusy { holder },
                e => e,
            })
    }

    /// Takes `<data_dir>/.schedule.lock` for a scheduler's lifetime, without waiting: one
    /// `tagpulse schedule` per data directory (its jobs take [`DataDirLock::acquire`]).
    pub async fn scheduler(data_dir: &Path) -> Result<Self, PipelineError> {
        Self::take(data_dir, ".schedule.lock", Duration::ZERO)
            .await
            .map_err(|e| match e {
                PipelineError::Locked {
                    data_dir, holder, ..
                } => PipelineError::AlreadyScheduled { data_dir, holder },
                e => e,
            })
    }

    async fn take(data_dir: &Path, name: &str, timeout: Duration) -> Result<Self, PipelineError> {
        let path = data_dir.join(name);
        let io = |what: &'static str| {
            let path = path.display().to_string();
            move |source| PipelineError::Io { what, path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io("create"))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("open"))?;
        let started = Instant::now();
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let holder = holder_pid(&mut file);
                    if started.elapsed() >= timeout {
                        return Err(PipelineError::Locked {
                            data_dir: data_dir.display().to_string(),
                            holder,
                            waited: humantime::format_duration(timeout).to_string(),
                        });
                    }
                    if !announced {
                        tracing::info!(
                            "{} is in use by another tagpulse (PID {holder}); waiting up to {}",
                            data_dir.display(),
                            humantime::format_duration(timeout)
                        );
                        announced = true;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(TryLockError::Error(e)) => return Err(io("lock")(e)),
            }
        }
        // Ours now: say who holds it, for the next process that has to wait.
        file.set_len(0).map_err(io("write"))?;
        file.seek(SeekFrom::Start(0)).map_err(io("write"))?;
        write!(file, "{}", std::process::id()).map_err(io("write"))?;
        Ok(DataDirLock { _file: file, path })
    }

    /// The PID of the `tagpulse schedule` running on `data_dir`, if one is: the PID its
    /// lock file names, when that process is alive and is a scheduler (Linux: its
    /// `/proc/<pid>/cmdline`). Reads only, and takes no lock: a scheduler starting at
    /// that moment is never refused because `status` looked.
    pub fn scheduler_pid(data_dir: &Path) -> Option<u32> {
        let text = std::fs::read_to_string(data_dir.join(".schedule.lock")).ok()?;
        let pid: u32 = text.trim().parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_tagpulse = args.first().is_some_and(|a| a.ends_with(b"tagpulse"));
        (is_tagpulse && args.iter().any(|a| *a == b"schedule")).then_some(pid)
    }

    /// The lock file (`<data_dir>/.lock`), named in messages about the holder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The data lock of one pipeline, taken on the first write and released after the last:
/// nested writes (a store inside a job that holds it already) share one lock, since a
/// second `flock` from the same process would wait on itself.
#[derive(Debug)]
pub(crate) struct WriteLock {
    data_dir: PathBuf,
    timeout: Duration,
    held: std::sync::Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    depth: usize,
    lock: Option<DataDirLock>,
}

/// One write's share of [`WriteLock`]; the lock goes when the last share does.
#[derive(Debug)]
pub(crate) struct WriteGuard<'a> {
    owner: &'a WriteLock,
    /// This share took the lock (the first one of a nesting).
    pub(crate) first: bool,
}

impl WriteLock {
    /// The lock of `data_dir`, not taken yet.
    pub(crate) fn new(data_dir: &Path, timeout: Duration) -> Self {
        WriteLock {
            data_dir: data_dir.to_path_buf(),
            timeout,
            held: Default::default(),
        }
    }

    /// A share of the lock: the lock itself when no write of this process holds it
    /// (waiting up to the timeout), else one more share of it.
    pub(crate) async fn enter(&self) -> Result<WriteGuard<'_>, PipelineError> {
        {
            let mut held = self.held.lock().expect("write lock");
            if held.depth > 0 {
                held.depth += 1;
                return Ok(WriteGuard {
                    owner: self,
                    first: false,
                });
            }
        }
        let lock = DataDirLock::acquire(&self.data_dir, self.timeout).await?;
        let mut held = self.held.lock().expect("write lock");
        held.depth += 1;
        held.lock = Some(lock);
        Ok(WriteGuard {
            owner: self,
            first: true,
        })
    }

    /// Whether a write of this process holds the lock now.
    #[cfg(test)]
    pub(crate) fn is_held(&self) -> bool {
        self.held.lock().expect("write lock").depth > 0
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let mut held = self.owner.held.lock().expect("write lock");
        held.depth -= 1;
        if held.depth == 0 {
            held.lock = None;
        }
    }
}

/// The PID the holder wrote, or `unknown` (it may not have written it yet).
fn holder_pid(file: &mut File) -> String {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text));
    match read {
        Ok(_) if !text.trim().is_empty() => text.trim().to_string(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_then_names_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), Duration::ZERO)
            .await
            .unwrap();
        let pid = std::fs::read_to_string(first.path()).unwrap();
        assert_eq!(pid, std::process::id().to_string());
        let started = Instant::now();
        let err = DataDirLock::acquire(dir.path(), Duration::from_millis(300))
            .await
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(
            err.contains(&format!("in use by another tagpulse process (PID {pid})")),
            "{err}"
        );
        drop(first);
        DataDirLock::acquire(dir.path(), Duration::ZERO)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn nested_writes_share_one_lock_and_the_last_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let lock = WriteLock::new(dir.path(), Duration::ZERO);
        let outer = lock.enter().await.unwrap();
        let inner = lock.enter().await.unwrap();
        assert!(outer.first && !inner.first);
        drop(outer);
        assert!(lock.is_held());
        // Another holder (here a second lock of the same directory) cannot have it yet.
        assert!(DataDirLock::acquire(dir.path(), Duration::ZERO)
            .await
            .is_err());
        drop(inner);
        assert!(!lock.is_held());
        DataDirLock::acquire(dir.path(), Duration::ZERO)
            .await
            .unwrap();
    }
}
