//! The application's side: [`NodeHandle`] (commands), [`Pipe`] (one ports
//! pipe to another node), [`NodeEvents`] and [`NodeInfo`].

use std::boxed::Box;
use std::net::SocketAddr;
use std::vec::Vec;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::overlay::PeerRef;
use crate::routing::Locator;

use super::config::{MAX_MESSAGE_LEN, Payload};
use super::error::{NodeError, PipeError};
use super::stats::{NodeEvent, NodeStats};

/// A command for the node task; each carries where its answer goes.
// `Send` carries its message inline (at most MAX_MESSAGE_LEN bytes): the
// channel is bounded (`NodeConfig::command_queue` slots), and boxing would
// allocate once per message.
#[allow(clippy::large_enum_variant)]
pub(super) enum Command {
    Connect {
        key: [u8; 32],
        addr: SocketAddr,
        reply: oneshot::Sender<Result<PeerRef, NodeError>>,
    },
    Disconnect {
        key: [u8; 32],
        reply: oneshot::Sender<Result<(), NodeError>>,
    },
    SetLocation {
        key: [u8; 32],
        location: Box<Locator>,
        reply: oneshot::Sender<Result<(), NodeError>>,
    },
    OpenPipe {
        key: [u8; 32],
        reply: oneshot::Sender<Result<Pipe, NodeError>>,
    },
    Send {
        pipe: u64,
        message: Payload,
        reply: oneshot::Sender<Result<(), PipeError>>,
    },
    Stats {
        reply: oneshot::Sender<NodeStats>,
    },
    Info {
        reply: oneshot::Sender<NodeInfo>,
    },
}

/// What a node is and who its neighbours are ([`NodeHandle::info`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeInfo {
    /// This node's key (its Noise static public key; what other nodes
    /// dial and open pipes to).
    pub key: [u8; 32],
    /// This node's current location (what other nodes' directories need
    /// to reach it).
    pub location: Locator,
    /// This run's incarnation.
    pub incarnation: u64,
    /// Whether this node is the root of its routing tree (tree 0).
    pub is_root: bool,
    /// Neighbour sessions: the session, its address, whether it carries data.
    pub peers: Vec<(PeerRef, SocketAddr, bool)>,
    /// Pipes open.
    pub pipes: usize,
    /// Whether nothing waits (no record in flight, nothing queued).
    pub idle: bool,
}

/// Sends commands to a running node. Cheap to clone; every method waits
/// for room in the bounded command channel (backpressure) and then for
/// the node task's answer.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    pub(super) commands: mpsc::Sender<Command>,
}

impl NodeHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Dials the neighbour `key` at `addr`; the session is redialled until
    /// [`NodeHandle::disconnect`]. `PeerUp` follows on the event stream once
    /// it carries data.
    ///
    /// # Errors
    /// [`NodeError::Connect`], [`NodeError::Stopped`].
    pub async fn connect(&self, key: [u8; 32], addr: SocketAddr) -> Result<PeerRef, NodeError> {
        self.ask(|reply| Command::Connect { key, addr, reply })
            .await?
    }

    /// Hangs up on the neighbour `key` (and stops redialling it).
    ///
    /// # Errors
    /// [`NodeError::UnknownPeer`], [`NodeError::Peer`], [`NodeError::Stopped`].
    pub async fn disconnect(&self, key: [u8; 32]) -> Result<(), NodeError> {
        self.ask(|reply| Command::Disconnect { key, reply }).await?
    }

    /// Puts `key`'s location in this driver's directory (and tells the
    /// overlay node). The overlay asks for a location when it has traffic
    /// for a node it cannot place; the driver answers from this directory,
    /// or reports [`NodeEvent::LocationNeeded`].
    ///
    /// # Errors
    /// [`NodeError::CorrespondentsFull`], [`NodeError::Stopped`].
    pub async fn set_location(&self, key: [u8; 32], location: Locator) -> Result<(), NodeError> {
        self.ask(|reply| Command::SetLocation {
            key,
            location: Box::new(location),
            reply,
        })
        .await?
    }

    /// Opens a ports pipe to the node `key` (any node of the overlay, not
    /// only a neighbour; its location must be known, see
    /// [`NodeHandle::set_location`]). Returns at once; messages sent before
    /// the other node answered wait in the ports node and follow the pipe.
    /// The other node's application gets the other end as an incoming pipe.
    ///
    /// # Errors
    /// [`NodeError::OwnKey`], [`NodeError::TooManyPipes`],
    /// [`NodeError::CorrespondentsFull`], [`NodeError::DoorbellBusy`],
    /// [`NodeError::Stopped`].
    pub async fn open_pipe(&self, key: [u8; 32]) -> Result<Pipe, NodeError> {
        self.ask(|reply| Command::OpenPipe { key, reply }).await?
    }

    /// A snapshot of the node's counters.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn stats(&self) -> Result<NodeStats, NodeError> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// The node's key, location, neighbours.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn info(&self) -> Result<NodeInfo, NodeError> {
        self.ask(|reply| Command::Info { reply }).await
    }
}

/// One end of a ports pipe to another node: messages in order, exactly
/// once, while both nodes live. Dropping it closes the pipe (the other
/// end's [`Pipe::recv`] then returns `None`).
#[derive(Debug)]
pub struct Pipe {
    pub(super) id: u64,
    pub(super) remote: [u8; 32],
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) incoming: mpsc::Receiver<Bytes>,
}

impl Pipe {
    /// The key of the node at the other end.
    pub fn remote(&self) -> [u8; 32] {
        self.remote
    }

    /// Sends one message (at most [`MAX_MESSAGE_LEN`] bytes). Returns once
    /// the ports node took it; waits while the pipe's flow control is
    /// closed (backpressure).
    ///
    /// # Errors
    /// [`PipeError`].
    pub async fn send(&self, message: &[u8]) -> Result<(), PipeError> {
        let message =
            Payload::from_slice(message).map_err(|()| PipeError::TooLong { len: message.len() })?;
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Send {
                pipe: self.id,
                message,
                reply,
            })
            .await
            .map_err(|_| PipeError::Stopped)?;
        rx.await.map_err(|_| PipeError::Stopped)?
    }

    /// The next message; `None` once the pipe is closed (by the other end,
    /// its node lost, or our node stopped) and every message was read.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.incoming.recv().await
    }
}

/// The node's events ([`NodeEvent`]); a bounded channel: events the
/// application does not take in time are dropped and counted
/// ([`NodeStats::events_dropped`]).
#[derive(Debug)]
pub struct NodeEvents {
    pub(super) rx: mpsc::Receiver<NodeEvent>,
}

impl NodeEvents {
    /// The next event; `None` once the node task has stopped. Cancel-safe.
    pub async fn recv(&mut self) -> Option<NodeEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<NodeEvent> {
        self.rx.try_recv().ok()
    }
}

/// Pipes other nodes opened to this one.
#[derive(Debug)]
pub struct IncomingPipes {
    pub(super) rx: mpsc::Receiver<Pipe>,
}

impl IncomingPipes {
    /// The next incoming pipe; `None` once the node task has stopped.
    /// Cancel-safe.
    pub async fn accept(&mut self) -> Option<Pipe> {
        self.rx.recv().await
    }
}

const _: () = assert!(MAX_MESSAGE_LEN <= super::config::RECORD / 2);
