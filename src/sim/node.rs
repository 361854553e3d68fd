//! What the simulator drives: node ids and seeds, the [`SimNode`] trait a
//! sans-IO machine implements, and the [`Transmit`] it emits.

use core::fmt;
use core::hash::Hash;
use std::vec::Vec;

use super::SplitMix64;
use crate::time::Instant;

#[cfg(doc)]
use super::{MAX_NODES, Sim, Topology, replay};

/// A node's index in a [`Sim`] and a [`Topology`] (`0..node_count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node vectors.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of index `i`, saturating at `u32::MAX` (an id no simulation
    /// has, since [`MAX_NODES`] is far below it).
    pub fn from_index(i: usize) -> Self {
        NodeId(u32::try_from(i).unwrap_or(u32::MAX))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {}", self.0)
    }
}

/// A 32-byte seed for node `node`'s own randomness (for example
/// [`crate::rng::SeededRng::from_seed`]), derived from a scenario seed with
/// [`SplitMix64`]: distinct per node, the same on every run and target.
/// Build nodes with it so that a replay rebuilds identical nodes.
pub fn node_seed(seed: u64, node: NodeId) -> [u8; 32] {
    let mut r = SplitMix64::new(seed ^ u64::from(node.0).wrapping_mul(0xd6e8_feb8_6659_fd93));
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        chunk.copy_from_slice(&r.next_u64().to_le_bytes());
    }
    out
}

/// A message a node wants sent to a neighbour.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transmit {
    /// Destination; must be a neighbour, else the message is dropped and
    /// counted (`dropped_no_link`).
    pub to: NodeId,
    /// The bytes.
    pub payload: Vec<u8>,
}

/// A sans-IO machine the simulator can drive.
///
/// The simulator calls exactly one `handle_*` per input, then drains
/// [`poll_transmit`](Self::poll_transmit) until `None`, then reads
/// [`poll_timeout`](Self::poll_timeout) once. A node must be a deterministic
/// function of its construction and its inputs (own randomness seeded at
/// construction) for [`replay`] to succeed.
pub trait SimNode {
    /// A command injected by a test or scenario ([`Sim::command`]). It is
    /// recorded in the trace, so it must be data: `Clone` to keep a copy and
    /// `Hash` to enter the trace digest (derive it). Use `()` for none.
    type Command: Clone + fmt::Debug + Hash;

    /// A message `msg` from neighbour `from` arrived at `now`.
    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]);

    /// The deadline returned by `poll_timeout` has come (`now` is at or
    /// after it). Default: nothing.
    fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// A command from the scenario. Default: ignore it.
    fn handle_command(&mut self, now: Instant, command: Self::Command) {
        let _ = (now, command);
    }

    /// The next instant this node wants `handle_timeout`, or `None`.
    /// Contract: `handle_timeout` at that instant moves it strictly later or
    /// to `None`. Default: `None`.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The next message to send, drained until `None` after every input.
    fn poll_transmit(&mut self) -> Option<Transmit>;
}
