//! The driver's configuration, its named bounds, and the node type it runs.

use std::net::SocketAddr;
use std::time::Duration;

use crate::crypto::DefaultProvider;
use crate::overlay;
use crate::ports;
use crate::routing::{ChainOf, Ed25519};

use super::pipe::PipeRng;

/// Largest datagram the node sends or accepts (bytes).
pub const MTU: usize = 1_400;
/// Size of one end-to-end record slot (bytes): a ports event must encode
/// into `RECORD - 1` bytes.
pub const RECORD: usize = 512;
/// Largest message on a pipe (bytes). A longer one is refused with
/// [`PipeError::TooLong`](super::PipeError::TooLong).
pub const MAX_MESSAGE_LEN: usize = 256;

/// At most this many datagrams are read per wake-up of the node task (each
/// is handled and its outputs drained before the next); the rest wait in
/// the socket for the next wake-up, so commands and timers are never
/// starved.
pub const MAX_DATAGRAMS_PER_WAKE: usize = 64;
/// At most this many commands are taken per wake-up of the node task.
pub const MAX_COMMANDS_PER_WAKE: usize = 32;
/// At most this many rounds of draining (transmits, then events, whose
/// handling may make more transmits) after one input.
pub const MAX_DRAIN_ROUNDS: usize = 8;
/// A datagram whose send would block waits at most this long for room in
/// the socket's buffer; then it is dropped and counted
/// ([`NodeStats::send_errors`](super::NodeStats)).
pub const SEND_STALL_TIMEOUT: Duration = Duration::from_millis(50);
/// While a pipe's receive queue is full or a send waits for the ports
/// node's flow control, the task looks again this often (besides every
/// datagram it receives).
pub const RETRY_INTERVAL: Duration = Duration::from_millis(5);

/// Message payload carried by the ports node (at most [`MAX_MESSAGE_LEN`]
/// bytes).
pub type Payload = ports::Bytes<MAX_MESSAGE_LEN>;
/// The ports node the driver runs: 64 ports, 256 queued messages, 2 ports
/// attached per message, 64 held events, 256 outgoing events, 32 nodes
/// (the ports defaults; worst-case size `ports::Node::port_record_size`
/// and the message pool: about 256 × 300 bytes).
pub type PortsNode = ports::Node<Payload, PipeRng, 64, 256, 2, 64, 256, 32>;
/// The overlay node the driver runs.
pub type OverlayNode<'s> =
    overlay::Node<'s, SocketAddr, DefaultProvider, PortsNode, Ed25519, ChainOf<8>, MTU, RECORD>;

/// How a node is run: the overlay's configuration, the sizes of its tables
/// (the node's storage is `Vec`s of these lengths) and the adapter's own
/// bounds.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeConfig {
    /// The overlay node's configuration. Default: `overlay::Config::default()`.
    pub overlay: overlay::Config,
    /// Neighbour slots (hop sessions and routing table entries). Default 16
    /// (`Node::size_of_slots()[0]` bytes each, a few KiB).
    pub peers: usize,
    /// Correspondent slots (nodes we exchange pipe traffic with). Default 32.
    pub correspondents: usize,
    /// End-to-end record slots of [`RECORD`] bytes, over all streams.
    /// Default 256 (128 KiB).
    pub records: usize,
    /// Transmit queue slots of [`MTU`] bytes. Default 64 (88 KiB).
    pub transmit: usize,
    /// Capacity of the command channel from the handles to the node task:
    /// a full channel makes callers wait (backpressure). Default 64.
    pub command_queue: usize,
    /// Capacity of the event channel ([`NodeEvents`](super::NodeEvents)):
    /// when the application does not keep up, events are dropped and
    /// counted ([`NodeStats::events_dropped`](super::NodeStats)), the node
    /// never waits. Default 256.
    pub event_queue: usize,
    /// Capacity of each pipe's receive queue (messages). A full queue
    /// leaves messages in the ports node, whose flow control then slows the
    /// sender. Default 64.
    pub pipe_queue: usize,
    /// Most pipes open at once (ours and the ones other nodes open to us).
    /// Default 32 (each is one port of the ports node's 64).
    pub max_pipes: usize,
    /// Whether a node that opens a pipe to us gets one (announced on
    /// [`RunningNode::take_incoming`](super::RunningNode::take_incoming)). Default `true`.
    pub accept_pipes: bool,
    /// How long [`RunningNode::shutdown`](super::RunningNode::shutdown)
    /// keeps running the node to deliver what was sent (records in flight
    /// acknowledged, transmit queue empty) before it stops regardless.
    /// Default 2 s.
    pub shutdown_grace: Duration,
}

impl NodeConfig {
    /// The defaults (see each field).
    pub fn new() -> Self {
        NodeConfig {
            overlay: overlay::Config::default(),
            peers: 16,
            correspondents: 32,
            records: 256,
            transmit: 64,
            command_queue: 64,
            event_queue: 256,
            pipe_queue: 64,
            max_pipes: 32,
            accept_pipes: true,
            shutdown_grace: Duration::from_secs(2),
        }
    }

    /// Sets [`NodeConfig::shutdown_grace`].
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`NodeConfig::overlay`].
    #[must_use]
    pub fn with_overlay(mut self, overlay: overlay::Config) -> Self {
        self.overlay = overlay;
        self
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self::new()
    }
}
