//! [`RunStats`]: the counters of a simulation.

use crate::time::Instant;

/// Counters of a simulation, cumulative since it was built.
///
/// Invariant: `sent + duplicated == delivered + dropped() + in_flight`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Events processed (arrivals, timeouts, faults).
    pub steps: u64,
    /// The virtual clock.
    pub now: Instant,
    /// Transmits drained from nodes.
    pub sent: u64,
    /// Message copies handed to a node's `handle_message`.
    pub delivered: u64,
    /// Dropped by link loss.
    pub dropped_loss: u64,
    /// Dropped because a partition blocked them (at send or arrival).
    pub dropped_partition: u64,
    /// Dropped because the destination is not a neighbour (or not a node).
    pub dropped_no_link: u64,
    /// Dropped for exceeding the link's MTU.
    pub dropped_mtu: u64,
    /// Dropped on arrival at a node that was down.
    pub dropped_node_down: u64,
    /// Extra copies made by link duplication.
    pub duplicated: u64,
    /// Copies held back (and exempt from FIFO) by link reordering.
    pub reordered: u64,
    /// `handle_timeout` calls.
    pub timeouts: u64,
    /// `handle_command` calls.
    pub commands: u64,
    /// Message copies still in flight.
    pub in_flight: u64,
}

impl RunStats {
    /// All drops together.
    pub fn dropped(&self) -> u64 {
        self.dropped_loss
            .saturating_add(self.dropped_partition)
            .saturating_add(self.dropped_no_link)
            .saturating_add(self.dropped_mtu)
            .saturating_add(self.dropped_node_down)
    }
}
