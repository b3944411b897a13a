//! Simulated ("cluster") time and the clocks mapping wall time onto it.
//!
//! The world runs on [`SimTime`]: milliseconds since the simulation started. A
//! [`ScaledClock`] makes simulated time pass `time_scale` times faster than wall time; a
//! [`ManualClock`] only moves when told to (tests, deterministic runs).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

/// Simulated time: milliseconds since the simulation started.
pub type SimTime = u64;

/// Wall-clock instant (Unix milliseconds) that simulated time 0 is rendered as in
/// timestamps: 2025-09-29T11:00:00Z. Fixed, so outputs are reproducible.
pub const SIM_EPOCH_UNIX_MILLIS: u64 = 1_759_143_600_000;

/// Converts a duration to simulated milliseconds (saturating).
#[must_use]
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Renders a simulated instant as an RFC 3339 timestamp with millisecond precision.
#[must_use]
pub fn rfc3339(t: SimTime) -> String {
    let wall = UNIX_EPOCH + Duration::from_millis(SIM_EPOCH_UNIX_MILLIS.saturating_add(t));
    humantime::format_rfc3339_millis(wall).to_string()
}

/// Unix milliseconds of a simulated instant.
#[must_use]
pub fn unix_millis(t: SimTime) -> u64 {
    SIM_EPOCH_UNIX_MILLIS.saturating_add(t)
}

/// A boxed future returned by [`Clock::sleep_until`].
pub type SleepFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Maps wall time to simulated time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current simulated time.
    fn now(&self) -> SimTime;

    /// Resolves once simulated time has reached `due`. A scaled clock sleeps the wall
    /// equivalent (with `tokio::time`, so paused test time works); a manual clock jumps.
    fn sleep_until(&self, due: SimTime) -> SleepFuture<'_>;

    /// Whether time moves only when told ([`Clock::advance_by`]) rather than with wall time.
    fn is_manual(&self) -> bool {
        false
    }

    /// Moves time forward by `d` if this clock can be moved by hand; returns whether it
    /// moved. Clocks that follow wall time refuse (the default).
    fn advance_by(&self, d: Duration) -> bool {
        let _ = d;
        false
    }
}

/// Simulated time = wall time elapsed since creation × `time_scale`.
#[derive(Debug)]
pub struct ScaledClock {
    origin: tokio::time::Instant,
    time_scale: f64,
}

impl ScaledClock {
    /// Starts a clock at simulated time 0. Non-positive or non-finite scales are treated as 1.
    #[must_use]
    pub fn new(time_scale: f64) -> Self {
        let time_scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale
        } else {
            1.0
        };
        Self {
            origin: tokio::time::Instant::now(),
            time_scale,
        }
    }

    /// The configured time scale.
    #[must_use]
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }
}

impl Clock for ScaledClock {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "elapsed times are positive and far below u64::MAX milliseconds"
    )]
    fn now(&self) -> SimTime {
        (self.origin.elapsed().as_secs_f64() * self.time_scale * 1000.0) as u64
    }

    fn sleep_until(&self, due: SimTime) -> SleepFuture<'_> {
        Box::pin(async move {
            loop {
                let now = self.now();
                if now >= due {
                    return;
                }
                #[allow(
                    clippy::cast_precision_loss,
                    reason = "simulated delays are far below 2^52 ms"
                )]
                let wall = (due - now) as f64 / self.time_scale / 1000.0;
                let wall = Duration::from_secs_f64(wall).max(Duration::from_micros(100));
                tokio::time::sleep(wall).await;
            }
        })
    }
}

/// Virtual time that only moves when advanced (or when a handler waits for a due time).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A clock at simulated time 0.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `d` (saturating at `u64::MAX` milliseconds).
    pub fn advance(&self, d: Duration) {
        let step = millis(d);
        let _ = self
            .now
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(step))
            });
    }

    /// Moves time forward to `t` (never backwards).
    pub fn set(&self, t: SimTime) {
        self.now.fetch_max(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SimTime {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep_until(&self, due: SimTime) -> SleepFuture<'_> {
        self.now.fetch_max(due, Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }

    fn is_manual(&self) -> bool {
        true
    }

    fn advance_by(&self, d: Duration) -> bool {
        self.advance(d);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_fixed_epoch() {
        assert_eq!(rfc3339(0), "2025-09-29T11:00:00.000Z");
        assert_eq!(rfc3339(1_500), "2025-09-29T11:00:01.500Z");
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_follows_paused_tokio_time() {
        let clock = ScaledClock::new(100.0);
        assert_eq!(clock.now(), 0);
        clock.sleep_until(20_000).await;
        assert!(clock.now() >= 20_000);
        assert!(clock.now() < 20_100);
    }

    #[tokio::test]
    async fn manual_clock_jumps_on_wait() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), 1_000);
        clock.sleep_until(5_000).await;
        assert_eq!(clock.now(), 5_000);
        clock.set(10);
        assert_eq!(clock.now(), 5_000);
    }

    #[test]
    fn only_the_manual_clock_can_be_advanced_through_the_trait() {
        let manual: &dyn Clock = &ManualClock::new();
        assert!(manual.is_manual());
        assert!(manual.advance_by(Duration::from_millis(1_500)));
        assert_eq!(manual.now(), 1_500);
        let scaled: &dyn Clock = &ScaledClock::new(10.0);
        assert!(!scaled.is_manual());
        assert!(!scaled.advance_by(Duration::from_secs(60)));
        assert!(scaled.now() < 60_000);
    }
}
