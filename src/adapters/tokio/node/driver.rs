//! The node task: owns the overlay node, the socket and the pipes; see the
//! run loop in the module docs of [`super`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::vec;
use std::vec::Vec;

use bytes::Bytes;
use rand_core::{OsRng, RngCore};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant as TokioInstant;
use tokio_util::sync::CancellationToken;

use crate::overlay::{self, Event, Storage};
use crate::ports::{NodeName, PortName};
use crate::routing::{ChainOf, Ed25519, Locator, NeighbourEntry};
use crate::time::Instant;

use super::config::{
    MAX_COMMANDS_PER_WAKE, MAX_DATAGRAMS_PER_WAKE, MAX_DRAIN_ROUNDS, MTU, NodeConfig, OverlayNode,
    Payload, PortsNode, RECORD, RETRY_INTERVAL, SEND_STALL_TIMEOUT,
};
use super::error::{NodeError, PipeError};
use super::handle::{Command, NodeInfo, Pipe};
use super::pipe::{NameOverride, PipeRng, doorbell_name};
use super::stats::{IoOp, NodeEvent, NodeStats};

/// Payload of a doorbell message that carries a new pipe's far end.
const OPEN_PIPE: &[u8] = b"open";
/// Payload of the message that makes a node speak to us first.
const KNOCK: &[u8] = b"knock";

/// What the task needs, moved into it.
pub(super) struct Task {
    pub(super) config: NodeConfig,
    pub(super) seed: zeroize::Zeroizing<[u8; 32]>,
    pub(super) rng_seed: [u8; 32],
    pub(super) ports_seed: [u8; 32],
    pub(super) socket: UdpSocket,
    pub(super) commands: mpsc::Receiver<Command>,
    pub(super) weak_commands: mpsc::WeakSender<Command>,
    pub(super) events: mpsc::Sender<NodeEvent>,
    pub(super) incoming: mpsc::Sender<Pipe>,
    pub(super) cancel: CancellationToken,
}

/// How the task ended.
#[derive(Debug)]
pub(super) struct Outcome {
    /// Whether everything sent was delivered before the task stopped
    /// (false: the grace period ran out).
    pub(super) flushed: bool,
    pub(super) stats: NodeStats,
}

/// The node's storage: `Vec`s on the host.
struct Mem {
    routing: Vec<NeighbourEntry>,
    peers: Vec<overlay::PeerSlot<SocketAddr, crate::crypto::DefaultProvider>>,
    corr: Vec<overlay::CorrSlot<crate::crypto::DefaultProvider>>,
    records: Vec<overlay::RecordSlot<RECORD>>,
    tx: Vec<overlay::TxSlot<SocketAddr, MTU>>,
}

impl Mem {
    fn new(c: &NodeConfig) -> Self {
        Mem {
            routing: vec![NeighbourEntry::EMPTY; c.peers],
            peers: (0..c.peers).map(|_| overlay::PeerSlot::new()).collect(),
            corr: (0..c.correspondents)
                .map(|_| overlay::CorrSlot::new())
                .collect(),
            records: vec![overlay::RecordSlot::EMPTY; c.records],
            tx: (0..c.transmit).map(|_| overlay::TxSlot::new()).collect(),
        }
    }
}

/// The clock: overlay time is microseconds since the task started, on
/// tokio's clock (so paused-time tests drive it).
#[derive(Clone, Copy)]
struct Clock(TokioInstant);

impl Clock {
    fn now(self) -> Instant {
        Instant::from_micros(u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn at(self, t: Instant) -> TokioInstant {
        self.0
            .checked_add(std::time::Duration::from_micros(t.as_micros()))
            .unwrap_or_else(far_future)
    }
}

fn far_future() -> TokioInstant {
    after(std::time::Duration::from_secs(365 * 86_400))
}

/// `d` from now (now itself if the clock cannot represent it).
fn after(d: std::time::Duration) -> TokioInstant {
    let now = TokioInstant::now();
    now.checked_add(d).unwrap_or(now)
}

/// One pipe end of this node.
struct PipeEnd {
    port: PortName,
    tx: mpsc::Sender<Bytes>,
}

/// A send waiting for the ports node's flow control.
struct PendingSend {
    pipe: u64,
    message: Payload,
    reply: oneshot::Sender<Result<(), PipeError>>,
}

struct Driver {
    config: NodeConfig,
    clock: Clock,
    socket: UdpSocket,
    events: mpsc::Sender<NodeEvent>,
    incoming: mpsc::Sender<Pipe>,
    weak_commands: mpsc::WeakSender<Command>,
    names: NameOverride,
    me: [u8; 32],
    stats: NodeStats,
    /// The application's directory of locations.
    directory: HashMap<[u8; 32], Locator>,
    /// Nodes that spoke to us in their current incarnation.
    admitted: HashSet<[u8; 32]>,
    /// Doorbell port per node.
    doorbells: HashMap<[u8; 32], PortName>,
    /// Far ends of pipes we opened, waiting until their node spoke.
    waiting_open: Vec<([u8; 32], PortName)>,
    pipes: HashMap<u64, PipeEnd>,
    next_pipe: u64,
    pending: VecDeque<PendingSend>,
    /// When a pipe or a send waits on something no datagram may signal.
    retry_at: Option<TokioInstant>,
    out: Vec<u8>,
}

/// Runs the node until cancelled; then flushes within the grace period.
pub(super) async fn run(task: Task) -> Result<Outcome, NodeError> {
    let Task {
        config,
        seed,
        rng_seed,
        ports_seed,
        socket,
        mut commands,
        weak_commands,
        events,
        incoming,
        cancel,
    } = task;
    let clock = Clock(TokioInstant::now());
    let mut mem = Mem::new(&config);
    let identity = overlay::Identity::from_seed(&seed);
    drop(seed);
    let me = identity.public_key();
    let (rng, names) = PipeRng::new(ports_seed);
    let ports = PortsNode::new(identity.node_name(), config.overlay.ports, rng);
    let mut node: OverlayNode<'_> = overlay::Node::new(
        config.overlay,
        identity,
        ports,
        Ed25519,
        ChainOf::new(),
        ChainOf::new(),
        Storage {
            routing: &mut mem.routing,
            peers: &mut mem.peers,
            correspondents: &mut mem.corr,
            records: &mut mem.records,
            transmit: &mut mem.tx,
        },
        rng_seed,
        clock.now(),
    )
    .map_err(NodeError::Config)?;
    let mut d = Driver {
        config,
        clock,
        socket,
        events,
        incoming,
        weak_commands,
        names,
        me,
        stats: NodeStats::default(),
        directory: HashMap::new(),
        admitted: HashSet::new(),
        doorbells: HashMap::new(),
        waiting_open: Vec::new(),
        pipes: HashMap::new(),
        next_pipe: 1,
        pending: VecDeque::new(),
        retry_at: None,
        out: vec![0u8; MTU],
    };
    let flushed = d.run_loop(&mut node, &mut commands, &cancel).await;
    d.stats.overlay = *node.stats();
    // Whatever still waits is answered: the node is gone.
    while let Some(p) = d.pending.pop_front() {
        let _ = p.reply.send(Err(PipeError::Stopped));
    }
    Ok(Outcome {
        flushed,
        stats: d.stats,
    })
}

impl Driver {
    /// The run loop (module docs of [`super`]). Returns whether everything
    /// was flushed at shutdown.
    async fn run_loop(
        &mut self,
        node: &mut OverlayNode<'_>,
        commands: &mut mpsc::Receiver<Command>,
        cancel: &CancellationToken,
    ) -> bool {
        let mut buf = vec![0u8; MTU];
        let mut sleep = pin!(tokio::time::sleep_until(far_future()));
        let mut armed: Option<TokioInstant> = None;
        let mut stopping: Option<TokioInstant> = None;
        let mut commands_open = true;
        let mut recv_paused_until: Option<TokioInstant> = None;
        loop {
            let done = stopping
                .is_some_and(|grace_end| self.flushed(node) || TokioInstant::now() >= grace_end);
            if done {
                return self.flushed(node);
            }
            let want = [
                node.poll_timeout().map(|t| self.clock.at(t)),
                self.retry_at,
                stopping,
                recv_paused_until,
            ]
            .into_iter()
            .flatten()
            .min();
            if want != armed {
                sleep.as_mut().reset(want.unwrap_or_else(far_future));
                armed = want;
            }
            let recv_ok = recv_paused_until.is_none();
            self.stats.wakeups = self.stats.wakeups.saturating_add(1);
            tokio::select! {
                biased;
                () = cancel.cancelled(), if stopping.is_none() => {
                    tracing::debug!("node shutting down");
                    stopping = Some(after(self.config.shutdown_grace));
                    // No new commands; those already queued are still
                    // carried out (their sends are flushed with the rest).
                    commands.close();
                }
                r = self.socket.recv_from(&mut buf), if recv_ok => {
                    match r {
                        Ok((n, from)) => {
                            self.datagram(node, from, buf.get(..n).unwrap_or_default()).await;
                            for _ in 1..MAX_DATAGRAMS_PER_WAKE {
                                match self.socket.try_recv_from(&mut buf) {
                                    Ok((n, from)) => {
                                        self.datagram(node, from, buf.get(..n).unwrap_or_default()).await;
                                    }
                                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                    Err(e) => {
                                        self.io_error(IoOp::Recv, &e, None);
                                        recv_paused_until = Some(after(RETRY_INTERVAL));
                                        break;
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            self.io_error(IoOp::Recv, &e, None);
                            // A failing socket must not spin the task.
                            recv_paused_until = Some(after(RETRY_INTERVAL));
                        }
                    }
                }
                c = commands.recv(), if commands_open => {
                    match c {
                        Some(c) => {
                            self.command(node, c).await;
                            for _ in 1..MAX_COMMANDS_PER_WAKE {
                                match commands.try_recv() {
                                    Ok(c) => self.command(node, c).await,
                                    Err(_) => break,
                                }
                            }
                        }
                        None => commands_open = false,
                    }
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    let now = TokioInstant::now();
                    if recv_paused_until.is_some_and(|t| t <= now) {
                        recv_paused_until = None;
                    }
                    if self.retry_at.is_some_and(|t| t <= now) {
                        self.retry_at = None;
                    }
                    if node.poll_timeout().is_some_and(|t| self.clock.at(t) <= now) {
                        node.handle_timeout(self.clock.now());
                    }
                    self.drain(node).await;
                }
            }
        }
    }

    /// Whether nothing we accepted waits to be delivered.
    fn flushed(&self, node: &OverlayNode<'_>) -> bool {
        self.pending.is_empty() && self.waiting_open.is_empty() && node.is_idle()
    }

    async fn datagram(&mut self, node: &mut OverlayNode<'_>, from: SocketAddr, bytes: &[u8]) {
        self.stats.datagrams_received = self.stats.datagrams_received.saturating_add(1);
        node.handle_datagram(self.clock.now(), from, bytes);
        self.drain(node).await;
    }

    /// Drains the node's outputs after an input: datagrams, events, then
    /// the pipes (reading messages may release acknowledgements, sends that
    /// waited may go): bounded rounds.
    async fn drain(&mut self, node: &mut OverlayNode<'_>) {
        for _ in 0..MAX_DRAIN_ROUNDS {
            let mut busy = false;
            let mut out = std::mem::take(&mut self.out);
            loop {
                match node.poll_transmit(self.clock.now(), &mut out) {
                    Ok(Some(t)) => {
                        busy = true;
                        self.send(t.to, out.get(..t.len).unwrap_or_default()).await;
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // Our buffer is MTU bytes, as the node's type says.
                        self.stats.internal_errors = self.stats.internal_errors.saturating_add(1);
                        break;
                    }
                }
            }
            self.out = out;
            while let Some(e) = node.poll_event() {
                busy = true;
                self.event(node, e);
            }
            busy |= self.service(node);
            if !busy {
                break;
            }
        }
    }

    async fn send(&mut self, to: SocketAddr, bytes: &[u8]) {
        let r = match self.socket.try_send_to(bytes, to) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match tokio::time::timeout(SEND_STALL_TIMEOUT, self.socket.send_to(bytes, to)).await
                {
                    Ok(r) => r,
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "socket buffer full for the send stall timeout",
                    )),
                }
            }
            r => r,
        };
        match r {
            Ok(_) => self.stats.datagrams_sent = self.stats.datagrams_sent.saturating_add(1),
            Err(e) => self.io_error(IoOp::Send, &e, Some(to)),
        }
    }

    /// Counts, logs and reports a socket error.
    fn io_error(&mut self, op: IoOp, e: &io::Error, to: Option<SocketAddr>) {
        match op {
            IoOp::Send => self.stats.send_errors = self.stats.send_errors.saturating_add(1),
            IoOp::Recv => self.stats.recv_errors = self.stats.recv_errors.saturating_add(1),
        }
        tracing::warn!(?op, ?to, error = %e, "overlay node socket error");
        self.emit(NodeEvent::IoError {
            op,
            kind: e.kind(),
            to,
        });
    }

    fn emit(&mut self, e: NodeEvent) {
        if self.events.try_send(e).is_err() {
            self.stats.events_dropped = self.stats.events_dropped.saturating_add(1);
        }
    }

    fn event(&mut self, node: &mut OverlayNode<'_>, e: Event<SocketAddr>) {
        match e {
            Event::PeerUp { peer, addr } => {
                tracing::info!(key = %Hex(&peer.key), generation = peer.generation, %addr, "peer up");
                self.emit(NodeEvent::PeerUp {
                    key: peer.key,
                    generation: peer.generation,
                    addr,
                });
            }
            Event::PeerDown { peer, reason } => {
                tracing::info!(key = %Hex(&peer.key), generation = peer.generation, ?reason, "peer down");
                self.emit(NodeEvent::PeerDown {
                    key: peer.key,
                    generation: peer.generation,
                    reason,
                });
            }
            Event::SendFailed { peer, reason } => self.emit(NodeEvent::SendFailed {
                key: peer.key,
                generation: peer.generation,
                reason,
            }),
            Event::NodeUp { key, .. } => {
                self.admitted.insert(key);
                // Its driver made its doorbell to us before it answered.
                if !self.doorbells.contains_key(&key) && self.ensure_doorbell(node, key).is_err() {
                    self.stats.internal_errors = self.stats.internal_errors.saturating_add(1);
                }
                self.emit(NodeEvent::NodeUp { key });
            }
            Event::NodeLost { key, reason, .. } => {
                self.admitted.remove(&key);
                // The ports node closed every port whose peer was there
                // (pipes see it when they read); the doorbell goes too, and
                // pipes that were waiting to be delivered there.
                if let Some(d) = self.doorbells.remove(&key) {
                    let _ = node.ports_mut().close_port(d);
                }
                let ports = node.ports_mut();
                self.waiting_open.retain(|(k, far)| {
                    if *k == key {
                        let _ = ports.close_port(*far);
                        false
                    } else {
                        true
                    }
                });
                self.emit(NodeEvent::NodeLost { key, reason });
            }
            Event::LocationNeeded { key } => match self.directory.get(&key) {
                Some(loc) => {
                    if node
                        .set_location(self.clock.now(), key, loc.clone())
                        .is_err()
                    {
                        self.stats.internal_errors = self.stats.internal_errors.saturating_add(1);
                    }
                }
                None => self.emit(NodeEvent::LocationNeeded { key }),
            },
            Event::PositionChanged => self.emit(NodeEvent::PositionChanged),
            // Port statuses are looked at by `service` after every drain
            // round; other events carry nothing for the application.
            _ => {}
        }
    }

    /// Makes the doorbell port towards `key` (its name fixed by the two
    /// keys; its peer is `key`'s doorbell towards us).
    fn ensure_doorbell(
        &mut self,
        node: &mut OverlayNode<'_>,
        key: [u8; 32],
    ) -> Result<PortName, NodeError> {
        if let Some(p) = self.doorbells.get(&key) {
            return Ok(*p);
        }
        let remote: NodeName = node
            .remember(self.clock.now(), key)
            .map_err(|_| NodeError::CorrespondentsFull)?;
        let name = doorbell_name(&self.me, &key);
        let far = doorbell_name(&key, &self.me);
        self.names.set(name);
        let port = node.ports_mut().create_uninitialized_port();
        self.names.clear();
        let port = port.map_err(|_| NodeError::TooManyPipes)?;
        if port != name {
            let _ = node.ports_mut().close_port(port);
            return Err(NodeError::DoorbellBusy);
        }
        if node
            .ports_mut()
            .initialize_port(port, remote, far, remote, far)
            .is_err()
        {
            let _ = node.ports_mut().close_port(port);
            return Err(NodeError::DoorbellBusy);
        }
        if let Some(loc) = self.directory.get(&key) {
            let _ = node.set_location(self.clock.now(), key, loc.clone());
        }
        self.doorbells.insert(key, port);
        if !self.admitted.contains(&key) {
            self.knock(node, remote);
        }
        Ok(port)
    }

    /// Makes the overlay speak to `remote` before anything is sent on our
    /// doorbell: one message on a throwaway port whose peer is a random
    /// name there. The other node drops it (no such port; counted by its
    /// ports node as `dropped_unknown`), but its stream from us now exists,
    /// so its driver makes its doorbell to us and its acknowledgement tells
    /// us so ([`Event::NodeUp`]).
    fn knock(&mut self, node: &mut OverlayNode<'_>, remote: NodeName) {
        let ports = node.ports_mut();
        let Ok(k) = ports.create_uninitialized_port() else {
            self.stats.internal_errors = self.stats.internal_errors.saturating_add(1);
            return;
        };
        let mut r = [0u8; 16];
        if OsRng.try_fill_bytes(&mut r).is_err() {
            r = k.to_bytes();
        }
        let nowhere = PortName::from_bytes(r);
        let sent = ports
            .initialize_port(k, remote, nowhere, remote, nowhere)
            .is_ok()
            && ports
                .send_user_message(k, Payload::from_slice(KNOCK).unwrap_or_default(), &[])
                .is_ok();
        if !sent {
            self.stats.internal_errors = self.stats.internal_errors.saturating_add(1);
        }
        let _ = ports.close_port(k);
    }

    /// A new pipe end handed to the application.
    fn new_pipe(&mut self, remote: [u8; 32], port: PortName) -> Option<Pipe> {
        let commands = self.weak_commands.upgrade()?;
        let (tx, rx) = mpsc::channel(self.config.pipe_queue.max(1));
        let id = self.next_pipe;
        self.next_pipe = self.next_pipe.wrapping_add(1);
        self.pipes.insert(id, PipeEnd { port, tx });
        Some(Pipe {
            id,
            remote,
            commands,
            incoming: rx,
        })
    }

    fn open_pipe(&mut self, node: &mut OverlayNode<'_>, key: [u8; 32]) -> Result<Pipe, NodeError> {
        if key == self.me {
            return Err(NodeError::OwnKey);
        }
        if self.pipes.len().saturating_add(self.waiting_open.len()) >= self.config.max_pipes {
            return Err(NodeError::TooManyPipes);
        }
        self.ensure_doorbell(node, key)?;
        let (ours, far) = node
            .ports_mut()
            .create_port_pair()
            .map_err(|_| NodeError::TooManyPipes)?;
        let Some(pipe) = self.new_pipe(key, ours) else {
            let _ = node.ports_mut().close_port(ours);
            let _ = node.ports_mut().close_port(far);
            return Err(NodeError::Stopped);
        };
        self.waiting_open.push((key, far));
        Ok(pipe)
    }

    /// Sends waiting far ends through their doorbells, reads pipes and
    /// doorbells, retries waiting sends, closes pipes the application
    /// dropped. Returns whether it did anything.
    fn service(&mut self, node: &mut OverlayNode<'_>) -> bool {
        let mut did = false;
        let mut retry = false;
        // Far ends of new pipes, once their node spoke.
        let mut k = 0;
        while let Some(&(key, far)) = self.waiting_open.get(k) {
            let door = self.doorbells.get(&key).copied();
            match door {
                Some(door) if self.admitted.contains(&key) => {
                    let msg = Payload::from_slice(OPEN_PIPE).unwrap_or_default();
                    match node.ports_mut().send_user_message(door, msg, &[far]) {
                        Ok(()) => {
                            self.waiting_open.swap_remove(k);
                            did = true;
                            continue;
                        }
                        Err(crate::ports::SendError::WouldBlock) => retry = true,
                        Err(_) => {
                            // The far end was closed with the failure.
                            self.waiting_open.swap_remove(k);
                            self.stats.internal_errors =
                                self.stats.internal_errors.saturating_add(1);
                            continue;
                        }
                    }
                }
                _ => {}
            }
            k = k.saturating_add(1);
        }
        // Doorbells: pipes other nodes opened to us.
        let doors: Vec<([u8; 32], PortName)> =
            self.doorbells.iter().map(|(k, p)| (*k, *p)).collect();
        for (key, door) in doors {
            loop {
                if self.incoming.capacity() == 0 && !self.incoming.is_closed() {
                    retry = true;
                    break;
                }
                match node.ports_mut().get_message(door) {
                    Ok(Some(m)) => {
                        did = true;
                        let Some(&far) = m.ports.first() else {
                            self.stats.internal_errors =
                                self.stats.internal_errors.saturating_add(1);
                            continue;
                        };
                        let room = self.config.accept_pipes
                            && self.pipes.len() < self.config.max_pipes
                            && m.payload.as_slice() == OPEN_PIPE;
                        let pipe = if room { self.new_pipe(key, far) } else { None };
                        match pipe.map(|p| self.incoming.try_send(p)) {
                            Some(Ok(())) => {}
                            Some(Err(e)) => {
                                let p = e.into_inner();
                                self.pipes.remove(&p.id);
                                let _ = node.ports_mut().close_port(far);
                                self.stats.pipes_refused =
                                    self.stats.pipes_refused.saturating_add(1);
                            }
                            None => {
                                let _ = node.ports_mut().close_port(far);
                                self.stats.pipes_refused =
                                    self.stats.pipes_refused.saturating_add(1);
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // Peer closed (its node lost): drop it; the next
                        // time that node speaks a new one is made.
                        let _ = node.ports_mut().close_port(door);
                        self.doorbells.remove(&key);
                        break;
                    }
                }
            }
        }
        // Pipes: read into the application's queue while it has room.
        let ids: Vec<u64> = self.pipes.keys().copied().collect();
        for id in ids {
            let Some(p) = self.pipes.get(&id) else {
                continue;
            };
            let (port, tx) = (p.port, p.tx.clone());
            if tx.is_closed() {
                // The application dropped the pipe.
                let _ = node.ports_mut().close_port(port);
                self.pipes.remove(&id);
                did = true;
                continue;
            }
            loop {
                let Ok(permit) = tx.try_reserve() else {
                    retry = true;
                    break;
                };
                match node.ports_mut().get_message(port) {
                    Ok(Some(m)) => {
                        did = true;
                        permit.send(Bytes::copy_from_slice(&m.payload));
                        self.stats.pipe_messages_received =
                            self.stats.pipe_messages_received.saturating_add(1);
                        // Ports carried on a pipe are not part of this API.
                        for extra in m.ports {
                            let _ = node.ports_mut().close_port(extra);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // Closed by the other end (or its node lost), and
                        // every message read: the application sees the end.
                        let _ = node.ports_mut().close_port(port);
                        self.pipes.remove(&id);
                        did = true;
                        break;
                    }
                }
            }
        }
        // Sends waiting for flow control.
        for _ in 0..self.pending.len() {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            if let Some(p) = self.try_send(node, p) {
                self.pending.push_back(p);
                retry = true;
            } else {
                did = true;
            }
        }
        if retry && self.retry_at.is_none() {
            self.retry_at = Some(after(RETRY_INTERVAL));
        }
        did
    }

    /// Sends on a pipe; gives the send back if it must wait.
    fn try_send(&mut self, node: &mut OverlayNode<'_>, p: PendingSend) -> Option<PendingSend> {
        let Some(end) = self.pipes.get(&p.pipe) else {
            let _ = p.reply.send(Err(PipeError::Closed));
            return None;
        };
        match node
            .ports_mut()
            .send_user_message(end.port, p.message.clone(), &[])
        {
            Ok(()) => {
                self.stats.pipe_messages_sent = self.stats.pipe_messages_sent.saturating_add(1);
                let _ = p.reply.send(Ok(()));
                None
            }
            Err(crate::ports::SendError::WouldBlock) => Some(p),
            Err(_) => {
                let _ = p.reply.send(Err(PipeError::Closed));
                None
            }
        }
    }

    async fn command(&mut self, node: &mut OverlayNode<'_>, c: Command) {
        self.stats.commands = self.stats.commands.saturating_add(1);
        let now = self.clock.now();
        match c {
            Command::Connect { key, addr, reply } => {
                let r = node.connect(now, key, addr).map_err(NodeError::Connect);
                let _ = reply.send(r);
            }
            Command::Disconnect { key, reply } => {
                let r = match node.peer(&key) {
                    Some(p) => node.disconnect(now, p).map_err(NodeError::Peer),
                    None => Err(NodeError::UnknownPeer),
                };
                let _ = reply.send(r);
            }
            Command::SetLocation {
                key,
                location,
                reply,
            } => {
                let location = *location;
                let r = node
                    .set_location(now, key, location.clone())
                    .map_err(|_| NodeError::CorrespondentsFull);
                if r.is_ok() && key != self.me {
                    self.directory.insert(key, location);
                }
                let _ = reply.send(r);
            }
            Command::OpenPipe { key, reply } => {
                let r = self.open_pipe(node, key);
                if let Err(Ok(pipe)) = reply.send(r) {
                    // The caller went away: the pipe closes at the next
                    // service round (its receiver is dropped).
                    drop(pipe);
                }
            }
            Command::Send {
                pipe,
                message,
                reply,
            } => {
                let p = PendingSend {
                    pipe,
                    message,
                    reply,
                };
                if let Some(p) = self.try_send(node, p) {
                    if self.pending.len() >= self.config.command_queue.max(1) {
                        let _ = p.reply.send(Err(PipeError::Busy));
                    } else {
                        self.pending.push_back(p);
                        if self.retry_at.is_none() {
                            self.retry_at = Some(after(RETRY_INTERVAL));
                        }
                    }
                }
            }
            Command::Stats { reply } => {
                let mut s = self.stats;
                s.overlay = *node.stats();
                let _ = reply.send(s);
            }
            Command::Info { reply } => {
                let _ = reply.send(NodeInfo {
                    key: self.me,
                    location: node.location(),
                    incarnation: node.incarnation(),
                    is_root: node.routing().is_root(),
                    peers: node.peers().collect(),
                    pipes: self.pipes.len(),
                    idle: self.flushed(node),
                });
            }
        }
        self.drain(node).await;
    }
}

/// Lower-case hex of a key, for logs.
pub(super) struct Hex<'a>(pub(super) &'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
