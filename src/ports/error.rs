//! Errors of the ports layer.

use core::fmt;

use super::name::{NodeName, PortName};

/// Internal failure reasons; each public command maps them onto its own
/// error enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    PortUnknown,
    StateUnexpected,
    CannotSendSelf,
    CannotSendPeer,
    PeerClosed,
    CapacityExceeded,
    InvalidName,
    WouldBlock,
    OwnName,
    Stale,
}

macro_rules! command_error {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$vdoc:meta])* $variant:ident => $text:literal, )*
        }
        otherwise $fallback:ident
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $( $name::$variant => $text, )*
                })
            }
        }

        impl core::error::Error for $name {}

        impl From<Failure> for $name {
            #[allow(unreachable_patterns)]
            fn from(e: Failure) -> Self {
                match e {
                    $( Failure::$variant => $name::$variant, )*
                    _ => $name::$fallback,
                }
            }
        }
    };
}

command_error! {
    /// Why a port could not be created.
    CreateError {
        /// The port table is full: close ports and retry.
        CapacityExceeded => "the port table is full; close ports and retry",
    }
    otherwise CapacityExceeded
}

command_error! {
    /// Why [`super::Node::initialize_port`] failed.
    InitializeError {
        /// No such port on this node.
        PortUnknown => "no such port on this node",
        /// The port was already initialized.
        StateUnexpected => "the port is already initialized",
        /// A peer or previous-peer name was the invalid name.
        InvalidName => "invalid (all-zero) peer or previous-peer name",
    }
    otherwise StateUnexpected
}

command_error! {
    /// Why [`super::Node::send_user_message`] failed (every attached port
    /// other than the sending one has been closed, except after
    /// [`SendError::WouldBlock`], which changes nothing).
    SendError {
        /// No such port (sending or attached) on this node.
        PortUnknown => "no such port on this node",
        /// The sending port, or an attached port, is not a receiving port
        /// (or a port is attached twice).
        StateUnexpected => "a port involved is not a receiving port",
        /// The peer is closed: nothing more can be sent.
        PeerClosed => "the peer port is closed",
        /// A port cannot be attached to a message sent through itself.
        CannotSendSelf => "a port cannot be sent through itself",
        /// A port cannot be attached to a message sent to it.
        CannotSendPeer => "a port cannot be sent to its own peer",
        /// More attached ports than the node's `A`.
        CapacityExceeded => "too many attached ports for this node",
        /// The port's peer just changed and its send window
        /// ([`super::Config::send_window`]) and waiting queue are full, or
        /// the peer is on this node and its queue or the message pool is full:
        /// nothing was changed (the payload is dropped, the attached ports
        /// stay open; [`super::Node::would_block`] tells in advance);
        /// deliver incoming events and send again.
        WouldBlock => "the send window is full; deliver events and retry",
    }
    otherwise StateUnexpected
}

command_error! {
    /// Why [`super::Node::get_message`] failed.
    GetMessageError {
        /// No such port on this node.
        PortUnknown => "no such port on this node",
        /// Not a receiving port.
        StateUnexpected => "not a receiving port",
        /// The peer is closed and every message it sent was read.
        PeerClosed => "the peer is closed and every message was read",
    }
    otherwise StateUnexpected
}

command_error! {
    /// Why an operation on one port (status, close, acknowledgement
    /// interval, allowing a merge) failed.
    PortError {
        /// No such port on this node.
        PortUnknown => "no such port on this node",
        /// The port is not in a state that allows this (e.g. closing a proxy).
        StateUnexpected => "the port is not in a state that allows this operation",
    }
    otherwise StateUnexpected
}

command_error! {
    /// Why a merge could not start.
    MergeError {
        /// No such port on this node.
        PortUnknown => "no such port on this node",
        /// A port is not receiving, has sent messages, or the two are peers
        /// (a failed local merge closes the ports it was given).
        StateUnexpected => "ports cannot be merged in their current state",
        /// The destination name was the invalid name.
        InvalidName => "invalid (all-zero) destination name",
    }
    otherwise StateUnexpected
}

command_error! {
    /// Why [`super::Node::admit_node`] or
    /// [`super::Node::lost_connection_to_node`] refused a node (nothing was
    /// changed).
    NodeError {
        /// The name is this node's own: a node never admits or loses
        /// itself (its own ports are local).
        OwnName => "this node's own name: a node never admits or loses itself",
        /// The invalid (all-zero) name.
        InvalidName => "invalid (all-zero) node name",
        /// The node is admitted with a later incarnation: the call refers to
        /// a life of that node that is already over (a late report).
        Stale => "a later incarnation of this node is admitted; the call refers to an older one",
        /// The table of admitted nodes (the node's `NODES`) is full: report
        /// a lost node first, or build the node with a larger `NODES`.
        CapacityExceeded => "the table of admitted nodes is full; report a lost node first",
    }
    otherwise InvalidName
}

/// Why [`super::Node::handle_event`] reported an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// A remote node broke the protocol: the offending event was dropped
    /// (see [`ProtocolError`]).
    Protocol(ProtocolError),
    /// The sender given is this node's own name. Remote input never comes
    /// from this node (its self-addressed events are processed inside the
    /// call that made them and never leave it), so this is a driver bug or
    /// an unauthenticated source: the event was dropped, nothing changed.
    FromSelf,
    /// The sender given is the invalid (all-zero) name: the event was
    /// dropped, nothing changed.
    InvalidSender,
}

impl EventError {
    /// The protocol violation, if that is what this is.
    pub fn protocol(&self) -> Option<ProtocolError> {
        match self {
            EventError::Protocol(e) => Some(*e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for EventError {
    fn from(e: ProtocolError) -> Self {
        EventError::Protocol(e)
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::Protocol(e) => fmt::Display::fmt(e, f),
            EventError::FromSelf => f.write_str(
                "remote event names this node as its sender; dropped (a driver bug or an unauthenticated source)",
            ),
            EventError::InvalidSender => {
                f.write_str("remote event has the invalid (all-zero) sender name; dropped")
            }
        }
    }
}

impl core::error::Error for EventError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            EventError::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

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
