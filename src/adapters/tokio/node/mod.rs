//! The overlay driver: runs an [`overlay::Node`](crate::overlay::Node) on a
//! [`tokio::net::UdpSocket`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hyperport::adapters::tokio::node::{NodeConfig, RunningNode};
//!
//! let mut node = RunningNode::bind("127.0.0.1:7001", "/var/lib/mynode", NodeConfig::new()).await?;
//! let handle = node.handle();
//! let mut events = node.take_events().expect("events");
//! let peer_key = [0u8; 32]; // the neighbour's node key (printed by its node)
//! handle.connect(peer_key, "127.0.0.1:7002".parse()?).await?;
//! let pipe = handle.open_pipe(peer_key).await?;
//! pipe.send(b"hello").await?;
//! while let Some(e) = events.recv().await { println!("{e:?}"); }
//! let report = node.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # The task and its run loop
//!
//! [`RunningNode::start`] spawns **one task** that owns the overlay node,
//! its storage (`Vec`s sized by [`NodeConfig`]), the socket and the pipes'
//! state; nothing else touches them. The application talks to it through
//! a **bounded command channel** ([`NodeHandle`], [`Pipe::send`]): when the
//! task is behind, callers wait (backpressure), nothing queues without
//! bound. Each turn of the loop:
//!
//! 1. computes the next deadline: the node's `poll_timeout()`, a retry time
//!    when a pipe waits for room ([`RETRY_INTERVAL`]), the end of the
//!    shutdown grace period. The **one** `sleep_until` future is reset only
//!    when that deadline changed;
//! 2. waits (`select!`, biased in this order) for
//!    * cancellation ([`RunningNode::cancel_token`]): shutdown starts (below);
//!    * a datagram: it is handled, then up to [`MAX_DATAGRAMS_PER_WAKE`]` - 1`
//!      more that are already waiting (`try_recv_from`);
//!    * a command: it is carried out, then up to
//!      [`MAX_COMMANDS_PER_WAKE`]` - 1` more already queued;
//!    * the deadline: `handle_timeout(now)`;
//! 3. after **every** input (each datagram, each command, the timer) it
//!    drains the node: `poll_transmit` until empty (each datagram sent at
//!    once), `poll_event` until empty (events answered or forwarded), then
//!    the pipes (messages read into their queues, sends that waited for flow
//!    control retried), repeated while anything happened, at most
//!    [`MAX_DRAIN_ROUNDS`] rounds.
//!
//! So one wake-up does bounded work and timers and commands are never
//! starved by a flood of datagrams. Time is tokio's clock (microseconds since
//! the task started), so tests can pause it.
//!
//! **Errors are never discarded.** A failed send or receive is counted in
//! [`NodeStats`] (`send_errors`, `recv_errors`), logged as a `tracing`
//! warning, and reported as [`NodeEvent::IoError`]; the node keeps running
//! (UDP is lossy; the end-to-end layer retransmits). A send that would block
//! waits at most [`SEND_STALL_TIMEOUT`]. A receive error pauses reading for
//! [`RETRY_INTERVAL`] so a failing socket cannot spin the task. Events the
//! application does not take in time are dropped and counted
//! (`events_dropped`): the task never waits for the application.
//!
//! **Shutdown.** [`RunningNode::shutdown`] cancels the task's token. The
//! task closes the command channel (commands already queued are still
//! carried out), keeps running datagrams and timers until everything sent
//! is delivered (no record unacknowledged, transmit queue empty, no send
//! waiting) or [`NodeConfig::shutdown_grace`] has passed, answers whatever
//! still waits with [`PipeError::Stopped`], and returns. `shutdown` joins
//! the task (it is the only task spawned) and reports whether everything
//! was flushed ([`ShutdownReport`]); a task that did not stop within the
//! grace period plus one second is aborted ([`NodeError::ShutdownTimedOut`]).
//! Dropping a [`RunningNode`] cancels the task too, without waiting.
//!
//! # Pipes and locations
//!
//! [`NodeHandle::open_pipe`] opens a ports pipe to any node by its key;
//! the other node's application gets the other end from
//! [`IncomingPipes::accept`]. How the two nodes meet is in [`pipe`]. The
//! overlay routes by location, and has no lookup protocol: the driver keeps
//! a directory filled by [`NodeHandle::set_location`] and answers the
//! node's location requests from it; a location it lacks is reported as
//! [`NodeEvent::LocationNeeded`]. [`NodeHandle::info`] gives this node's
//! location, to publish in whatever directory the application has.
//!
//! # Identity
//!
//! [`RunningNode::bind`] loads or generates the node's secret with
//! [`identity::load_or_generate`](super::identity::load_or_generate) (the
//! file `overlay.key` in the given directory; atomic writes, mode 0600, never
//! silently replaced). Its 32 secret bytes are the overlay identity's seed
//! ([`overlay::Identity::from_seed`](crate::overlay::Identity::from_seed));
//! the node key other nodes use is derived from it
//! ([`RunningNode::key`]), it is **not** the `public` line of the file.

mod config;
mod driver;
mod error;
mod handle;
pub mod pipe;
mod stats;

use std::boxed::Box;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use rand_core::{OsRng, RngCore};
use tokio::net::{ToSocketAddrs, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

pub use config::{
    MAX_COMMANDS_PER_WAKE, MAX_DATAGRAMS_PER_WAKE, MAX_DRAIN_ROUNDS, MAX_MESSAGE_LEN, MTU,
    NodeConfig, OverlayNode, Payload, PortsNode, RECORD, RETRY_INTERVAL, SEND_STALL_TIMEOUT,
};
pub use error::{NodeError, PipeError};
pub use handle::{IncomingPipes, NodeEvents, NodeHandle, NodeInfo, Pipe};
pub use stats::{IoOp, NodeEvent, NodeStats};

/// Name of the identity file [`RunningNode::bind`] uses in its directory.
pub const IDENTITY_FILE: &str = "overlay.key";
/// How long past the grace period [`RunningNode::shutdown`] waits for the
/// task before aborting it.
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(1);

/// What [`RunningNode::shutdown`] found.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Whether everything sent was delivered (acknowledged) before the
    /// task stopped; `false`: the grace period ran out first.
    pub flushed: bool,
    /// The node's last counters.
    pub stats: NodeStats,
}

/// A node running in its task: the owner's side (handle, events, incoming
/// pipes, shutdown).
#[derive(Debug)]
pub struct RunningNode {
    handle: NodeHandle,
    events: Option<NodeEvents>,
    incoming: Option<IncomingPipes>,
    cancel: CancellationToken,
    task: Option<JoinHandle<Result<driver::Outcome, NodeError>>>,
    key: [u8; 32],
    local_addr: SocketAddr,
    grace: Duration,
}

impl RunningNode {
    /// Loads or generates the identity in `identity_dir` (file
    /// [`IDENTITY_FILE`]), binds a UDP socket on `listen`, and starts the node.
    ///
    /// # Errors
    /// [`NodeError::Identity`], [`NodeError::Socket`], as [`RunningNode::start`].
    #[cfg(unix)]
    pub async fn bind(
        listen: impl ToSocketAddrs,
        identity_dir: impl AsRef<Path>,
        config: NodeConfig,
    ) -> Result<Self, NodeError> {
        let path = identity_dir.as_ref().join(IDENTITY_FILE);
        let id = super::identity::load_or_generate(&path, &super::IdentityOptions::new())
            .await
            .map_err(NodeError::Identity)?;
        let seed = Zeroizing::new(id.key_pair().secret_bytes());
        let socket = UdpSocket::bind(listen).await.map_err(NodeError::Socket)?;
        Self::start(socket, seed, config)
    }

    /// Starts a node with identity seed `seed` on `socket` (spawns its task
    /// on the current runtime).
    ///
    /// # Errors
    /// [`NodeError::Socket`] if the socket has no local address,
    /// [`NodeError::Config`] if the overlay refuses the configuration,
    /// [`NodeError::Entropy`].
    pub fn start(
        socket: UdpSocket,
        seed: Zeroizing<[u8; 32]>,
        config: NodeConfig,
    ) -> Result<Self, NodeError> {
        config.overlay.check().map_err(NodeError::Config)?;
        let local_addr = socket.local_addr().map_err(NodeError::Socket)?;
        let mut rng_seed = [0u8; 32];
        let mut ports_seed = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut rng_seed)
            .map_err(|_| NodeError::Entropy)?;
        OsRng
            .try_fill_bytes(&mut ports_seed)
            .map_err(|_| NodeError::Entropy)?;
        let key = crate::overlay::Identity::from_seed(&seed).public_key();
        let (cmd_tx, cmd_rx) = mpsc::channel(config.command_queue.max(1));
        let (ev_tx, ev_rx) = mpsc::channel(config.event_queue.max(1));
        let (in_tx, in_rx) = mpsc::channel(config.max_pipes.max(1));
        let cancel = CancellationToken::new();
        let grace = config.shutdown_grace;
        let task = driver::Task {
            config,
            seed,
            rng_seed,
            ports_seed,
            socket,
            commands: cmd_rx,
            weak_commands: cmd_tx.downgrade(),
            events: ev_tx,
            incoming: in_tx,
            cancel: cancel.clone(),
        };
        // The node is a large value: box the future so it lives on the heap.
        let task = tokio::spawn(Box::pin(driver::run(task)));
        Ok(RunningNode {
            handle: NodeHandle { commands: cmd_tx },
            events: Some(NodeEvents { rx: ev_rx }),
            incoming: Some(IncomingPipes { rx: in_rx }),
            cancel,
            task: Some(task),
            key,
            local_addr,
            grace,
        })
    }

    /// A handle for commands (clone it freely).
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// The event stream (once).
    pub fn take_events(&mut self) -> Option<NodeEvents> {
        self.events.take()
    }

    /// Pipes other nodes open to this one (once).
    pub fn take_incoming(&mut self) -> Option<IncomingPipes> {
        self.incoming.take()
    }

    /// This node's key (what others dial and open pipes to).
    pub fn key(&self) -> [u8; 32] {
        self.key
    }

    /// The socket's local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The task's cancellation token: cancelling it starts the shutdown
    /// (e.g. from a Ctrl-C handler); [`RunningNode::shutdown`] then joins.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops the node: cancels its task, which flushes what was sent within
    /// [`NodeConfig::shutdown_grace`], and joins it.
    ///
    /// # Errors
    /// [`NodeError::ShutdownTimedOut`] (the task was aborted),
    /// [`NodeError::TaskPanicked`], or the error the task stopped with.
    pub async fn shutdown(mut self) -> Result<ShutdownReport, NodeError> {
        self.cancel.cancel();
        let Some(mut task) = self.task.take() else {
            return Err(NodeError::Stopped);
        };
        let limit = self.grace.saturating_add(SHUTDOWN_MARGIN);
        match tokio::time::timeout(limit, &mut task).await {
            Ok(Ok(Ok(o))) => Ok(ShutdownReport {
                flushed: o.flushed,
                stats: o.stats,
            }),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(NodeError::TaskPanicked),
            Err(_) => {
                task.abort();
                let _ = task.await;
                Err(NodeError::ShutdownTimedOut)
            }
        }
    }

    /// Whether the task has ended (shut down or failed).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
