//! The event queue: message arrivals and scheduled faults in a total
//! order (time, then class, then insertion sequence), so that equal seeds
//! give equal runs.

use core::cmp::{Ordering, Reverse};
use std::vec::Vec;

use super::{Fault, NodeId, Sim, SimError, SimNode};
use crate::time::Instant;

/// Event class: orders events of equal time (see the module docs).
pub(super) const CLASS_FAULT: u8 = 0;
pub(super) const CLASS_ARRIVAL: u8 = 1;

#[derive(Debug)]
pub(super) enum Event {
    Arrival {
        from: NodeId,
        to: NodeId,
        payload: Vec<u8>,
    },
    Fault(Fault),
}

#[derive(Debug)]
pub(super) struct Queued {
    /// `(time, class, sequence)` packed for one comparison: time in the
    /// high 64 bits, the class in bit 63 of the low half, the sequence
    /// number (below 2^63: more events than any run can schedule) under it.
    key: u128,
    pub(super) at: Instant,
    pub(super) event: Event,
}

impl Queued {
    fn new(at: Instant, class: u8, seq: u64, event: Event) -> Self {
        let order = u64::from(class & 1).wrapping_shl(63) | (seq & (u64::MAX >> 1));
        let key = u128::from(at.as_micros()).wrapping_shl(64) | u128::from(order);
        Queued { key, at, event }
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl<N: SimNode> Sim<N> {
    pub(super) fn push(&mut self, at: Instant, class: u8, event: Event) -> Result<(), SimError> {
        if self.queue.len() >= self.config.max_in_flight {
            return Err(SimError::InFlightLimit {
                limit: self.config.max_in_flight,
            });
        }
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        self.queue.push(Reverse(Queued::new(at, class, seq, event)));
        Ok(())
    }
}
