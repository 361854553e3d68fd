//! What the driver reports: events for the application and a counters
//! snapshot.

use std::io;
use std::net::SocketAddr;

use crate::overlay::{self, DownReason, LossReason, SendFailure};

/// Which socket operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IoOp {
    /// Sending a datagram.
    Send,
    /// Receiving a datagram.
    Recv,
}

/// Something that happened on the node, for the application
/// ([`NodeEvents`](super::NodeEvents)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// A neighbour's hop session carries data.
    PeerUp {
        /// Its node key.
        key: [u8; 32],
        /// The session's generation (a restarted neighbour comes back with a
        /// new one).
        generation: u64,
        /// Its address.
        addr: SocketAddr,
    },
    /// A neighbour's hop session ended (one made by
    /// [`NodeHandle::connect`](super::NodeHandle::connect) is redialled).
    PeerDown {
        /// Its node key.
        key: [u8; 32],
        /// The session's generation.
        generation: u64,
        /// Why.
        reason: DownReason,
    },
    /// A node we exchange pipe traffic with spoke (first time, or a new
    /// incarnation).
    NodeUp {
        /// Its node key.
        key: [u8; 32],
    },
    /// A node we exchange pipe traffic with was lost (restarted,
    /// unreachable...): its pipes are closed.
    NodeLost {
        /// Its node key.
        key: [u8; 32],
        /// Why.
        reason: LossReason,
    },
    /// Traffic waits for a node whose location this driver's directory
    /// does not have: give it with
    /// [`NodeHandle::set_location`](super::NodeHandle::set_location).
    LocationNeeded {
        /// Its node key.
        key: [u8; 32],
    },
    /// A datagram prepared for a neighbour session was refused.
    SendFailed {
        /// The neighbour's key.
        key: [u8; 32],
        /// The session's generation.
        generation: u64,
        /// Why.
        reason: SendFailure,
    },
    /// This node's position in the routing trees changed (see
    /// [`NodeHandle::info`](super::NodeHandle::info) for the new location).
    PositionChanged,
    /// A socket operation failed (also counted in [`NodeStats`] and logged
    /// as a `tracing` warning). The node keeps running.
    IoError {
        /// What was being done.
        op: IoOp,
        /// The operating system's error kind.
        kind: io::ErrorKind,
        /// The destination of a failed send.
        to: Option<SocketAddr>,
    },
}

/// A snapshot of the node's counters ([`NodeHandle::stats`](super::NodeHandle::stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// The overlay node's own counters.
    pub overlay: overlay::Stats,
    /// Datagrams received from the socket.
    pub datagrams_received: u64,
    /// Datagrams sent on the socket.
    pub datagrams_sent: u64,
    /// Sends that failed (an error from the socket, or no room in its
    /// buffer within [`SEND_STALL_TIMEOUT`](super::SEND_STALL_TIMEOUT)):
    /// the datagram was dropped.
    pub send_errors: u64,
    /// Receives that failed.
    pub recv_errors: u64,
    /// Events the application did not take in time (its channel was full).
    pub events_dropped: u64,
    /// Wake-ups of the node task.
    pub wakeups: u64,
    /// Commands handled.
    pub commands: u64,
    /// Messages sent on pipes (accepted by the ports node).
    pub pipe_messages_sent: u64,
    /// Messages received on pipes (handed to the application).
    pub pipe_messages_received: u64,
    /// Pipes opened by other nodes that were refused (no slot, or the
    /// application does not take incoming pipes).
    pub pipes_refused: u64,
    /// Ports-node or driver calls that failed where nothing could be
    /// returned to a caller (counted, never silent).
    pub internal_errors: u64,
}
