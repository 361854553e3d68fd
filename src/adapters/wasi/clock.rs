//! The WASI monotonic clock (`wasi:clocks/monotonic-clock`) and deadlines.

use core::time::Duration;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};

use crate::time::Instant;

/// Reads the WASI monotonic clock as a crate [`Instant`] (microseconds since
/// an unspecified origin, the same for the whole run).
pub fn now() -> Instant {
    Instant::from_micros(monotonic_clock::now() / 1_000)
}

/// A blocking operation gave up because its [`Deadline`] passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired;

/// A point on the WASI monotonic clock after which a blocking call gives up,
/// or no limit at all.
///
/// Every blocking call of this adapter takes a `&mut Deadline`. Waiting is
/// done by the host: the call subscribes to the resource it waits for (a
/// socket, a stream) and, when the deadline is finite, to one
/// `monotonic-clock.subscribe-instant` pollable, and hands both to one
/// `wasi:io/poll.poll`. The guest never spins. The clock pollable is created
/// on the first wait that needs it and reused by every later wait on the
/// same deadline, so one deadline can span a whole handshake.
#[derive(Debug)]
pub struct Deadline {
    /// Nanoseconds on the WASI monotonic clock; `None`: no limit.
    at_ns: Option<u64>,
    /// The clock pollable for `at_ns`, created by the first wait that needs it.
    timer: Option<Pollable>,
}

impl Deadline {
    /// No limit: waits block until the resource is ready.
    pub const fn never() -> Self {
        Self {
            at_ns: None,
            timer: None,
        }
    }

    /// `timeout` from now (saturating: a timeout beyond the clock's range is
    /// no limit).
    pub fn after(timeout: Duration) -> Self {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        Self {
            at_ns: monotonic_clock::now().checked_add(ns),
            timer: None,
        }
    }

    /// [`Deadline::after`] for `Some(timeout)`, [`Deadline::never`] for `None`.
    pub fn after_opt(timeout: Option<Duration>) -> Self {
        timeout.map_or_else(Self::never, Self::after)
    }

    /// Time left before the deadline (zero once it passed); `None` if there
    /// is no limit.
    pub fn remaining(&self) -> Option<Duration> {
        self.at_ns
            .map(|at| Duration::from_nanos(at.saturating_sub(monotonic_clock::now())))
    }

    /// Whether the deadline has passed.
    pub fn has_passed(&self) -> bool {
        self.at_ns.is_some_and(|at| monotonic_clock::now() >= at)
    }

    /// Blocks (in the host) until `ready` is ready or the deadline passes.
    ///
    /// A resource that is already ready returns at once, even after the
    /// deadline: the caller then does its non-blocking operation, and only a
    /// call that would have to wait fails with [`Expired`].
    pub(crate) fn wait(&mut self, ready: &Pollable) -> Result<(), Expired> {
        // `ready()` is one host call without a list, so no allocation in the
        // bindings when data is already there.
        if ready.ready() {
            return Ok(());
        }
        let Some(at) = self.at_ns else {
            ready.block();
            return Ok(());
        };
        if monotonic_clock::now() >= at {
            return Err(Expired);
        }
        let timer = self
            .timer
            .get_or_insert_with(|| monotonic_clock::subscribe_instant(at));
        // `poll` returns the indices of the ready pollables: 0 is `ready`.
        if poll::poll(&[ready, timer]).contains(&0) {
            Ok(())
        } else {
            Err(Expired)
        }
    }
}
