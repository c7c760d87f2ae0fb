//! Ctrl-C and SIGTERM for the moments when an abrupt exit would leave something behind
//! (a running browser): holders of a [`Hold`] get the signal as [`requested`] and let
//! go cleanly; with no holder the process exits at once, as it would by default.
//!
//! Only the binary calls [`listen`]; a library user without it keeps the default
//! signal behaviour and [`requested`] never resolves.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::watch;

static HOLDERS: AtomicUsize = AtomicUsize::new(0);
/// The exit code the first handed-over signal asks for (0: none yet).
static CODE: AtomicI32 = AtomicI32::new(0);
static STOP: OnceLock<watch::Sender<bool>> = OnceLock::new();

fn stop() -> &'static watch::Sender<bool> {
    STOP.get_or_init(|| watch::channel(false).0)
}

/// While alive, an interrupt is handed to [`requested`] instead of ending the process.
pub struct Hold(());

impl Hold {
    /// Takes a hold until dropped.
    pub fn new() -> Self {
        HOLDERS.fetch_add(1, Ordering::SeqCst);
        Hold(())
    }
}

impl Default for Hold {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        HOLDERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves once Ctrl-C or SIGTERM arrived while a [`Hold`] was taken.
pub async fn requested() {
    let mut rx = stop().subscribe();
    // Err means the sender is gone, which a static never is.
    let _ = rx.wait_for(|stopped| *stopped).await;
}

/// True once an interrupt was handed to the holders: callers stop starting new work.
pub fn is_requested() -> bool {
    *stop().borrow()
}

/// The exit code of the interrupt handed to the holders (130 for Ctrl-C, 143 for
/// SIGTERM), once there was one.
pub fn exit_code() -> Option<u8> {
    u8::try_from(CODE.load(Ordering::SeqCst))
        .ok()
        .filter(|c| *c != 0)
}

/// Starts listening for Ctrl-C and SIGTERM (call once, inside the runtime). A second
/// signal, or one with nobody holding, exits with 128 + the signal number.
pub fn listen() {
    tokio::spawn(async {
        loop {
            let code = next_signal().await;
            if HOLDERS.load(Ordering::SeqCst) == 0 || *stop().borrow() {
                std::process::exit(code);
            }
            tracing::warn!("interrupted: closing what is open, then stopping (again to force)");
            CODE.store(code, Ordering::SeqCst);
            stop().send_replace(true);
        }
    });
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
