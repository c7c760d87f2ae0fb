//! Time for the scheduler, behind a trait so tests can run days of schedule in
//! milliseconds (tokio's paused clock) while the daemon follows the wall clock.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What the scheduler asks of time.
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC (a fake clock in tests).
    fn now(&self) -> DateTime<Utc>;
    /// Returns at `t` or soon after.
    async fn sleep_until(&self, t: DateTime<Utc>);
}

/// The system's wall clock, used outside tests.
pub struct SystemClock;

/// Longest single sleep: the wall clock is checked again after it, so a clock step
/// (NTP, a suspended laptop) delays a firing by at most this much.
const RECHECK: Duration = Duration::from_secs(30);

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, t: DateTime<Utc>) {
        loop {
            let left = (t - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(RECHECK)).await;
        }
    }
}

/// A clock that follows tokio's time from a fixed start: under `tokio::time::pause` it
/// jumps ahead whenever every task waits, so tests run hours of schedule at once.
pub struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `base` now.
    pub fn starting_at(base: DateTime<Utc>) -> TokioClock {
        TokioClock {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

#[async_trait]
impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + (tokio::time::Instant::now() - self.start)
    }

    async fn sleep_until(&self, t: DateTime<Utc>) {
        let offset = (t - self.base).to_std().unwrap_or(Duration::ZERO);
        tokio::time::sleep_until(self.start + offset).await;
    }
}
