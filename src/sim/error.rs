//! [`SimError`]: why the simulator stopped or refused an operation.

use core::fmt;

use super::{NodeId, TopologyError};
use crate::time::Instant;

#[cfg(doc)]
use super::SimConfig;

/// Why the simulator stopped or refused an operation.
///
/// After [`SimError::StepLimit`] or a refused operation (unknown node, node
/// down, no link) the simulation is intact and can go on. After a node
/// misbehaved ([`SimError::TimerNotAdvanced`], [`SimError::TransmitFlood`],
/// [`SimError::InFlightLimit`]) the input that caused it is recorded only in
/// part: inspect the nodes, but do not trust further steps.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// The run hit its step bound with events still pending: a node set that
    /// never goes quiet (livelock, perpetual timers). Use `run_until` for
    /// machines with periodic timers, or raise the bound.
    StepLimit {
        /// Steps taken by the run that failed.
        steps: u64,
        /// Virtual time when it stopped.
        now: Instant,
        /// Messages still in flight.
        in_flight: u64,
    },
    /// No node has this id.
    UnknownNode {
        /// The id.
        node: NodeId,
    },
    /// The two nodes are not linked (for a link partition or heal).
    NoLink {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
    },
    /// The node is down: it takes no commands or closures.
    NodeDown {
        /// The node.
        node: NodeId,
    },
    /// The node broke the `poll_timeout` contract: after `handle_timeout` at
    /// its deadline it returned a deadline not strictly later.
    TimerNotAdvanced {
        /// The node.
        node: NodeId,
        /// Deadline that fired.
        deadline: Instant,
        /// Deadline it returned next.
        next: Instant,
    },
    /// One input produced more than [`SimConfig::max_transmits_per_input`] transmits.
    TransmitFlood {
        /// The node.
        node: NodeId,
        /// The bound.
        limit: usize,
    },
    /// More than [`SimConfig::max_in_flight`] copies would be in flight.
    InFlightLimit {
        /// The bound.
        limit: usize,
    },
    /// The node list and the topology disagree on the node count.
    NodeCountMismatch {
        /// Nodes given.
        nodes: usize,
        /// Nodes in the topology.
        topology: usize,
    },
    /// A link could not be added (self-loop, unknown node).
    Topology(TopologyError),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::StepLimit {
                steps,
                now,
                in_flight,
            } => write!(
                f,
                "simulation did not go quiet within {steps} steps (virtual time {now}, \
                 {in_flight} messages in flight): livelock or perpetual timers"
            ),
            SimError::UnknownNode { node } => write!(f, "{node} does not exist"),
            SimError::NoLink { a, b } => write!(f, "{a} and {b} are not linked"),
            SimError::NodeDown { node } => write!(f, "{node} is down and takes no input"),
            SimError::TimerNotAdvanced {
                node,
                deadline,
                next,
            } => write!(
                f,
                "{node} broke the poll_timeout contract: after handle_timeout at {deadline} \
                 it asked for {next}, not strictly later"
            ),
            SimError::TransmitFlood { node, limit } => {
                write!(f, "{node} queued more than {limit} transmits for one input")
            }
            SimError::InFlightLimit { limit } => {
                write!(f, "more than {limit} messages in flight")
            }
            SimError::NodeCountMismatch { nodes, topology } => {
                write!(f, "{nodes} nodes given for a topology of {topology} nodes")
            }
            SimError::Topology(e) => write!(f, "bad link: {e}"),
        }
    }
}

impl core::error::Error for SimError {}

impl From<TopologyError> for SimError {
    fn from(e: TopologyError) -> Self {
        SimError::Topology(e)
    }
}
