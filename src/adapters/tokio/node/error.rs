//! Typed errors of the node handle and of pipes.

use std::fmt;
use std::io;

use crate::overlay::{ConnectError, PeerError};

/// Why a node could not start, or a command on it failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum NodeError {
    /// The node task has stopped (shut down, or it failed): the command was
    /// not carried out.
    Stopped,
    /// Binding or inspecting the UDP socket failed.
    Socket(io::Error),
    /// The identity file could not be loaded or generated.
    #[cfg(unix)]
    Identity(super::super::IdentityError),
    /// The configuration was refused by the overlay node.
    Config(crate::overlay::ConfigError),
    /// The overlay node refused to dial the peer.
    Connect(ConnectError),
    /// The overlay node refused to hang up (no such peer, or a stale
    /// generation).
    Peer(PeerError),
    /// `key` names no neighbour we dialled or that dialled us.
    UnknownPeer,
    /// The key is this node's own.
    OwnKey,
    /// Every pipe slot ([`NodeConfig::max_pipes`](super::NodeConfig)) or
    /// port of the ports node is in use: close a pipe first.
    TooManyPipes,
    /// The correspondent table is full of busy entries: retry later or give
    /// the node more [`NodeConfig::correspondents`](super::NodeConfig).
    CorrespondentsFull,
    /// The doorbell port towards that node could not take its name (a port
    /// of the previous doorbell is still closing): retry in a moment.
    DoorbellBusy,
    /// The node task did not stop within its grace period plus a margin
    /// (it was aborted).
    ShutdownTimedOut,
    /// The node task panicked (a bug; please report it).
    TaskPanicked,
    /// The operating system's random generator failed.
    Entropy,
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::Stopped => f.write_str("the node has stopped; start a new one"),
            NodeError::Socket(e) => write!(f, "UDP socket: {e}; check the listen address"),
            #[cfg(unix)]
            NodeError::Identity(e) => write!(f, "identity: {e}"),
            NodeError::Config(e) => write!(f, "overlay configuration: {e}"),
            NodeError::Connect(e) => write!(f, "cannot connect: {e}"),
            NodeError::Peer(e) => write!(f, "cannot disconnect: {e}"),
            NodeError::UnknownPeer => {
                f.write_str("no neighbour with that key; connect to it first")
            }
            NodeError::OwnKey => f.write_str("that is this node's own key"),
            NodeError::TooManyPipes => {
                f.write_str("every pipe slot is in use; close a pipe or raise max_pipes")
            }
            NodeError::CorrespondentsFull => f.write_str(
                "the correspondent table is full of busy entries; retry later or raise correspondents",
            ),
            NodeError::DoorbellBusy => {
                f.write_str("the previous doorbell port to that node is still closing; retry")
            }
            NodeError::ShutdownTimedOut => {
                f.write_str("the node task did not stop within its grace period and was aborted")
            }
            NodeError::TaskPanicked => f.write_str("the node task panicked (a bug)"),
            NodeError::Entropy => f.write_str("the operating system's random generator failed"),
        }
    }
}

impl std::error::Error for NodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NodeError::Socket(e) => Some(e),
            #[cfg(unix)]
            NodeError::Identity(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a message could not be sent on a pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PipeError {
    /// The message is longer than [`MAX_MESSAGE_LEN`](super::MAX_MESSAGE_LEN).
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The pipe is closed (the other end closed it, its node was lost or
    /// restarted, or the pipe could not be delivered): open a new one.
    Closed,
    /// The node task has stopped.
    Stopped,
    /// Too many sends wait for the ports node's flow control at once
    /// (bounded by [`NodeConfig::command_queue`](super::NodeConfig)): wait for
    /// one to finish.
    Busy,
}

impl fmt::Display for PipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipeError::TooLong { len } => write!(
                f,
                "message of {len} bytes is longer than {} bytes; split it",
                super::MAX_MESSAGE_LEN
            ),
            PipeError::Closed => f.write_str("the pipe is closed; open a new one"),
            PipeError::Stopped => f.write_str("the node has stopped"),
            PipeError::Busy => f.write_str("too many sends waiting; wait for one to finish"),
        }
    }
}

impl std::error::Error for PipeError {}
