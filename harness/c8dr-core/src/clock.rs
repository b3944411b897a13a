//! The engine's clock: real time (tokio's, so tests can pause it) or virtual time shared with a
//! simulator, so a deterministic drill runs in milliseconds and replays exactly.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future returned by [`Clock::sleep`].
pub type ClockFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where the engine reads the time and how it waits.
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's origin.
    fn now(&self) -> Duration;

    /// Wait `duration` of this clock's time. A virtual clock advances itself instead of waiting.
    fn sleep(&self, duration: Duration) -> ClockFuture<'_>;

    /// How long, in wall time, one call to the backend may block when `remaining` of this clock's
    /// time is left before the step's deadline. A real clock answers `remaining`; a virtual clock,
    /// whose time does not pass while a call blocks, answers a fixed safety bound.
    fn call_budget(&self, remaining: Duration) -> Duration;

    /// Whether this clock is virtual (reports say so next to every duration).
    fn is_virtual(&self) -> bool;
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_virtual() {
            "VirtualClock"
        } else {
            "RealClock"
        })
    }
}

/// Real time through `tokio::time`, so `#[tokio::test(start_paused = true)]` controls it.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) -> ClockFuture<'_> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn call_budget(&self, remaining: Duration) -> Duration {
        remaining
    }

    fn is_virtual(&self) -> bool {
        false
    }
}
