//! Ctrl-C and SIGTERM as a value handed to whoever must react, never a global: the binary
//! makes one [`Shutdown`], [`Shutdown::listen`]s with it, and passes it to the pipeline,
//! which hands it to every source in its build context and checks it between jobs' steps
//! (as vector hands a shutdown signal to each component).
//!
//! While someone holds a [`Hold`] (a source with a browser open, the scheduler), a signal
//! cancels the token and they let go cleanly; with no holder the process exits at once,
//! as it would by default. A second signal always exits. Without `listen` (a library user,
//! a test) nothing is ever requested unless [`Shutdown::request`] is called.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// The process's shutdown request; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    state: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Holds taken and not dropped.
    holders: AtomicUsize,
    /// The exit code the first handed-over signal asks for (0: none yet).
    code: AtomicI32,
}

/// While alive, a signal is handed to [`Shutdown::requested`] instead of ending the process.
#[derive(Debug)]
pub struct Hold(Arc<State>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.holders.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shutdown {
    /// A shutdown nobody has requested.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a hold until the returned value is dropped.
    pub fn hold(&self) -> Hold {
        self.state.holders.fetch_add(1, Ordering::SeqCst);
        Hold(self.state.clone())
    }

    /// Resolves once a shutdown was requested.
    pub async fn requested(&self) {
        self.token.cancelled().await
    }

    /// True once a shutdown was requested: callers stop starting new work.
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The exit code of the request (130 for Ctrl-C, 143 for SIGTERM), once there was one.
    pub fn exit_code(&self) -> Option<u8> {
        u8::try_from(self.state.code.load(Ordering::SeqCst))
            .ok()
            .filter(|c| *c != 0)
    }

    /// Requests the shutdown as a signal asking for exit `code` would.
    pub fn request(&self, code: i32) {
        let _ = self
            .state
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
        self.token.cancel();
    }

    /// Starts listening for Ctrl-C and SIGTERM (call once, inside the runtime). A second
    /// signal, or one with nobody holding, exits with 128 + the signal number.
    pub fn listen(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let code = next_signal().await;
                if me.state.holders.load(Ordering::SeqCst) == 0 || me.is_requested() {
                    std::process::exit(code);
                }
                tracing::warn!("interrupted: closing what is open, then stopping (again to force)");
                me.request(code);
            }
        });
    }
}

/// Waits for the next Ctrl-C or SIGTERM; returns the exit code it asks for.
#[cfg(unix)]
async fn next_signal() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = int.recv() => 130,
        _ = term.recv() => 143,
    }
}

#[cfg(not(unix))]
async fn next_signal() -> i32 {
    let _ = tokio::signal::ctrl_c().await;
    130
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_reaches_every_clone_once_with_its_code() {
        let a = Shutdown::new();
        let b = a.clone();
        let other = Shutdown::new();
        assert!(!b.is_requested() && b.exit_code().is_none());
        let waiting = tokio::spawn(async move { b.requested().await });
        a.request(143);
        a.request(130);
        waiting.await.unwrap();
        assert!(a.is_requested());
        assert_eq!(
            a.exit_code(),
            Some(143),
            "the first request decides the code"
        );
        assert!(
            !other.is_requested(),
            "no global: another shutdown is untouched"
        );
        let held = a.hold();
        assert_eq!(a.state.holders.load(Ordering::SeqCst), 1);
        drop(held);
        assert_eq!(a.state.holders.load(Ordering::SeqCst), 0);
    }
}
