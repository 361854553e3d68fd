//! Errors of the ports layer.

use core::fmt;

use super::name::{NodeName, PortName};

/// Why a command (create, send, close, merge, …) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// No such port on this node.
    PortUnknown,
    /// The port is not in a state that allows this (e.g. sending on an
    /// uninitialized port, closing a proxy, merging a port that was used).
    StateUnexpected,
    /// A port cannot be attached to a message sent through itself.
    CannotSendSelf,
    /// A port cannot be attached to a message sent to it.
    CannotSendPeer,
    /// The peer is closed (and, for reads, every message was read).
    PeerClosed,
    /// A fixed-capacity table is full (ports, queued messages, outbox, or
    /// more attached ports than the node's `A`); free some and retry.
    CapacityExceeded,
    /// A name argument was the invalid name.
    InvalidName,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommandError::PortUnknown => "no such port on this node",
            CommandError::StateUnexpected => "port is not in a state that allows this operation",
            CommandError::CannotSendSelf => "a port cannot be sent through itself",
            CommandError::CannotSendPeer => "a port cannot be sent to its own peer",
            CommandError::PeerClosed => "the peer port is closed",
            CommandError::CapacityExceeded => {
                "a fixed-capacity table is full; drain outputs or close ports and retry"
            }
            CommandError::InvalidName => "invalid (all-zero) name",
        })
    }
}

impl core::error::Error for CommandError {}

/// What a peer node did wrong (the [`ProtocolError`] names the node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Too many out-of-order control events held for this port.
    HeldPerPortExceeded(PortName),
    /// Too many out-of-order control events held from this node.
    HeldPerNodeExceeded,
    /// The node-wide held-event pool is full.
    HeldPoolFull,
    /// A message would exceed the port's queue limit or the message pool.
    QueueFull(PortName),
    /// A carried or merged port name already exists here.
    PortExists(PortName),
    /// A port table, outbox or buffer is full while accepting the event.
    CapacityExceeded,
    /// The event is not valid for the target port's state (e.g. an
    /// unsolicited PortAccepted or ObserveProxyAck).
    UnexpectedEvent(PortName),
    /// The event came from a node that is not entitled to send it.
    WrongSender(PortName),
    /// A field is invalid (invalid names, zero sequence numbers).
    Malformed,
}

/// A peer node violated the protocol. The event was dropped without
/// changing any port it was not entitled to change; the embedder may drop
/// the connection to `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// The offending node.
    pub node: NodeName,
    /// What it did.
    pub violation: Violation,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ports protocol violation by node {}: {:?}; the event was dropped, consider disconnecting that node",
            self.node, self.violation
        )
    }
}

impl core::error::Error for ProtocolError {}
