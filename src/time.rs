//! Time as an argument: a crate-owned monotonic [`Instant`] and [`Duration`].
//!
//! Nothing in the core reads a clock. Drivers convert their clock (tokio, WASI
//! monotonic clock, an embedded tick counter, the simulator's virtual clock)
//! into an [`Instant`] counted in microseconds from an arbitrary origin and pass
//! it to every `handle_*` call.
//!
//! All arithmetic saturates: adding to [`Instant::MAX`] stays at the maximum,
//! subtracting a later instant gives [`Duration::ZERO`]. A machine that is
//! handed a `now` earlier than the last one it saw clamps it with [`Monotonic`]
//! instead of panicking or going backwards.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A point in time, in microseconds since a driver-chosen origin.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Instant(u64);

/// A span of time in microseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Duration(u64);

impl Instant {
    /// The origin: zero microseconds.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant; used as "never" by some machines.
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// An instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000))
    }

    /// An instant `secs` seconds after the origin (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(1_000_000))
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Milliseconds since the origin (truncated).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }

    /// `self - d`, saturating at [`Instant::ZERO`].
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable span.
    pub const MAX: Duration = Duration(u64::MAX);

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Duration(micros)
    }

    /// A span of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Duration(millis.saturating_mul(1_000))
    }

    /// A span of `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs.saturating_mul(1_000_000))
    }

    /// The span in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// The span in milliseconds (truncated).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// `self + other`, saturating.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }

    /// `self * k`, saturating.
    pub const fn saturating_mul(self, k: u64) -> Duration {
        Duration(self.0.saturating_mul(k))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating addition.
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = self.saturating_add(rhs);
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating difference: zero if `rhs` is later than `self`.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    /// Saturating addition.
    fn add(self, rhs: Duration) -> Duration {
        self.saturating_add(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({}us)", self.0)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}us", self.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Clamps a sequence of `now` values so that it never goes backwards.
///
/// Every machine keeps one and passes each incoming `now` through
/// [`Monotonic::observe`]: a `now` earlier than the latest one seen is replaced
/// by the latest one. This turns a misbehaving driver clock into a paused
/// clock rather than a panic or a timer that fires twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Monotonic {
    last: Instant,
}

impl Monotonic {
    /// A clamp that has seen nothing yet (starts at [`Instant::ZERO`]).
    pub const fn new() -> Self {
        Monotonic {
            last: Instant::ZERO,
        }
    }

    /// Records `now` and returns `max(now, latest seen)`.
    pub fn observe(&mut self, now: Instant) -> Instant {
        if now > self.last {
            self.last = now;
        }
        self.last
    }

    /// The latest instant observed.
    pub const fn latest(&self) -> Instant {
        self.last
    }
}

/// A machine with timers, driven by one timer per machine in the caller.
///
/// # Contract
///
/// [`Timed::poll_timeout`] returns the next instant at which the machine wants
/// [`Timed::handle_timeout`] to be called, or `None` when it has no timer.
/// Calling `handle_timeout(t)` with `t` at or after the returned instant
/// moves the deadline strictly later or to `None`, so a driver that sleeps
/// until the deadline and calls `handle_timeout` can never spin. Calling it
/// early is a no-op.
pub trait Timed {
    /// The next deadline, if any.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Fires every timer due at or before `now`.
    fn handle_timeout(&mut self, now: Instant);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(
            Instant::from_micros(5) - Instant::from_micros(9),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_millis(3) - Instant::from_micros(1_500),
            Duration::from_micros(1_500)
        );
        assert_eq!(Duration::MAX.saturating_mul(3), Duration::MAX);
        assert_eq!(Instant::from_secs(u64::MAX), Instant::MAX);
        assert_eq!(
            Instant::ZERO.saturating_sub(Duration::from_secs(1)),
            Instant::ZERO
        );
    }

    #[test]
    fn earlier_now_is_clamped() {
        let mut m = Monotonic::new();
        assert_eq!(m.observe(Instant::from_secs(10)), Instant::from_secs(10));
        assert_eq!(m.observe(Instant::from_secs(3)), Instant::from_secs(10));
        assert_eq!(m.observe(Instant::from_secs(11)), Instant::from_secs(11));
        assert_eq!(m.latest(), Instant::from_secs(11));
    }

    #[test]
    fn display_is_seconds() {
        extern crate std;
        use std::format;
        assert_eq!(format!("{}", Instant::from_micros(1_500_000)), "1.500000s");
        assert_eq!(format!("{}", Duration::from_micros(42)), "0.000042s");
    }
}
