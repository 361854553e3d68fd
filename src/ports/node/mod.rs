//! The ports node: a single-threaded, sans-IO state machine.
//!
//! This file holds the [`Node`] record, its construction and accessors,
//! the output queues drained by the `poll_*` methods, and the plumbing
//! every other part uses (port lookup, sending, stamping control events).
//! The protocol itself is split along its seams:
//!
//! * `commands`: the embedder API (create, initialize, send, get, status,
//!   close, shutdown check).
//! * `ingress`: events entering the node, the sender check and the
//!   bounded out-of-order hold, dispatch to the handlers, and the
//!   self-addressed event loop.
//! * `queue`: the per-port user-message queue (in-order head, whether more
//!   can arrive, dropping a message and the ports it carries).
//! * `transfer`: sending ports to another node (PrepareToForward,
//!   ConvertToProxy) and accepting them (AcceptPort).
//! * `user_message`: the UserMessage handler.
//! * `proxy`: a proxy's life (PortAccepted, ObserveProxy and its direct
//!   form, ObserveProxyAck, proxy removal).
//! * `closure`: the ObserveClosure handler.
//! * `ack`: read acknowledgements (interval, requests, acks).
//! * `merge`: merging two routes (local and MergePort).
//! * `loss`: node loss and dead-proxy teardown.

mod ack;
mod closure;
mod commands;
mod ingress;
mod loss;
mod merge;
mod proxy;
mod queue;
mod transfer;
mod user_message;

use heapless::{Deque, Vec};
use rand_core::{CryptoRng, RngCore};

use super::config::Config;
use super::error::{ProtocolError, Violation};
use super::event::{Event, EventKind, INVALID_SEQ, Payload, UserMessage};
use super::name::{Incarnation, NodeName, PortName};
use super::port::{Port, PortState};
use crate::time::Instant;

pub use commands::{Message, PortStatus, ShutdownPolicy};
use ingress::Held;

/// An output for the embedder, drained by [`Node::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortEvent {
    /// The port's status may have changed (spurious notices are allowed):
    /// query [`Node::get_status`] / [`Node::get_message`].
    StatusChanged(PortName),
    /// A port here now depends on this remote node (its peer or previous
    /// peer is there, or it waits for a merge from there), learned from
    /// the embedder or from another node's event. If that node is not
    /// reachable — it was lost, and no later incarnation is up — call
    /// [`Node::lost_connection_to_node`] for it; otherwise ignore this.
    /// The node keeps no memory of lost nodes (see
    /// [`Node::lost_connection_to_node`]), so this answer is what ends a
    /// route that late news ties to a lost node. Spurious notices are
    /// allowed; one is queued per name at a time.
    NodeInUse(NodeName),
}

/// A snapshot of one port ([`Node::inspect`]), for tests and debugging.
///
/// Names are [`NodeName::INVALID`] / [`PortName::INVALID`] where unset
/// (an uninitialized port's peer; the previous peer of a port whose route
/// a node loss tore down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortInfo {
    /// Lifecycle state.
    pub state: PortState,
    /// Where this port sends: `(node, port)`.
    pub peer: (NodeName, PortName),
    /// The previous peer: the only sender whose sender-verified events this
    /// port processes, in control-number order.
    pub prev: (NodeName, PortName),
    /// The node whose UpdatePreviousPeer named `prev`, until `prev` is
    /// heard from (invalid otherwise).
    pub prev_announcer: NodeName,
    /// The far end is closed (or lost).
    pub peer_closed: bool,
    /// The route was broken by a node loss.
    pub peer_lost: bool,
    /// A proxy that will go once it has forwarded `last_seq_to_receive`.
    pub remove_on_last: bool,
    /// Sending within a send window after a peer change (see
    /// [`Config::send_window`]).
    pub unconfirmed: bool,
    /// Events sent on the current edge that its peer may still hold (the
    /// edge's window use; 0 once confirmed).
    pub window_used: usize,
    /// Events held for this port out of turn (from its next previous peer,
    /// or forged).
    pub held: usize,
    /// Events of this port waiting for a send window.
    pub waiting: usize,
    /// User messages queued at this port (in order or not).
    pub queued: usize,
    /// Next user sequence number it sends.
    pub next_seq_to_send: u64,
    /// Next user sequence number it hands out (receiving) or forwards
    /// (proxy).
    pub next_seq_to_receive: u64,
    /// Last user sequence number it will get (meaningful once
    /// `peer_closed` or `remove_on_last`).
    pub last_seq_to_receive: u64,
    /// Next control number on the edge to `peer`.
    pub next_ctl_to_send: u64,
    /// Next control number expected from `prev`.
    pub next_ctl_to_receive: u64,
}

/// Counters of events the node dropped without an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sender-verified events with a control number already processed.
    pub dropped_stale: u64,
    /// Events identical to one already held.
    pub dropped_duplicate: u64,
    /// Events for ports that no longer exist (or whose route is torn down).
    pub dropped_unknown: u64,
    /// Outputs dropped because an output queue was full (a sizing bug:
    /// must stay 0; see [`Node`] for the sizing rule).
    pub dropped_outputs: u64,
    /// Protocol violations reported.
    pub violations: u64,
    /// Most events ever held out of order at once.
    pub held_peak: usize,
    /// Self-addressed events processed (they never reach the outbox).
    pub local_events: u64,
    /// Events accepted through [`Node::handle_event`] from other nodes.
    pub remote_events: u64,
    /// PeerConfirmed events that matched no send window (honest ones are
    /// common: every UpdatePreviousPeer is confirmed; forged ones change
    /// nothing).
    pub dropped_confirmations: u64,
    /// Held events dropped because they were held longer than
    /// [`Config::max_held_age`].
    pub held_expired: u64,
    /// Held events dropped to make room in a full pool for a node holding
    /// fewer (each reported as [`Violation::HeldPoolFull`] naming its
    /// sender).
    pub held_evicted: u64,
}

/// A Mojo-style ports node.
///
/// Type and const parameters (all storage is fixed; nothing allocates):
///
/// * `P`: the user payload ([`Payload`]); `R`: the injected RNG for names.
/// * `PORTS` (default 64): ports on this node (receiving ends and proxies).
/// * `MSGS` (default 256): user messages queued over all ports, and
///   separately, events waiting for a send window ([`Config::send_window`]).
/// * `A` (default 4): ports attached to one message.
/// * `HELD` (default 64): out-of-order control events held over all ports,
///   and separately, control events buffered by ports being transferred.
/// * `OUT` (default 256): each output queue (events to nodes, self-addressed
///   events, broadcasts, status notices, node notices).
/// * `NODES` (default 32): remote nodes admitted with an incarnation
///   ([`Node::admit_node`]); 24 bytes each.
///
/// Memory is roughly `PORTS·(size_of(Port) + 56) + (2·MSGS + 2·HELD +
/// 3·OUT)·size_of(Event) + 24·NODES` (the 56 bytes per port are the
/// send-window table, the 24 per node the incarnation table; a held event
/// also carries its 8-byte time stamp);
/// [`Node::port_record_size`] gives the first factor. Drain the outputs after
/// every call; `OUT` must exceed the outputs of one call (at most about
/// `2·PORTS + A·MSGS` for a node loss or a close that discards messages).
///
/// Self-addressed events (local pairs, local transfers) are processed inside
/// the call that produced them, up to [`Config::max_local_steps`].
pub struct Node<
    P,
    R,
    const PORTS: usize = 64,
    const MSGS: usize = 256,
    const A: usize = 4,
    const HELD: usize = 64,
    const OUT: usize = 256,
    const NODES: usize = 32,
> {
    name: NodeName,
    config: Config,
    rng: R,
    ports: Vec<Port, PORTS>,
    msgs: Vec<(PortName, UserMessage<P, A>), MSGS>,
    held: Vec<Held<P, A>, HELD>,
    deferred: Vec<(PortName, NodeName, Event<P, A>), HELD>,
    /// Events of unconfirmed edges past their send window, in send order:
    /// (sending port, destination node, event, the remote node a
    /// self-addressed event depends on: `cause_of` when it began to wait,
    /// as its port may be gone by the time it leaves).
    waiting: Vec<(PortName, NodeName, Event<P, A>, NodeName), MSGS>,
    /// Send-window use per unconfirmed edge (sending port, destination
    /// node and port): events sent on it that the receiver may still hold.
    /// An entry outlives its port's record (a port moved or closed while
    /// its events wait at the receiver) and goes when the receiver confirms
    /// the edge (PeerConfirmed) or its node is lost.
    windows: Vec<Window, PORTS>,
    /// A send window shrank its use (a confirmation, an unconfirmed port
    /// erased): waiting events of *other* ports may fit now.
    window_freed: bool,
    /// Self-addressed events, each with the remote node it depends on (see
    /// `Held::cause`).
    local: Deque<(Event<P, A>, NodeName), OUT>,
    outbox: Deque<(NodeName, Event<P, A>), OUT>,
    broadcasts: Deque<Event<P, A>, OUT>,
    status: Deque<PortName, OUT>,
    /// Remote nodes a port started to depend on ([`PortEvent::NodeInUse`]).
    in_use: Deque<NodeName, OUT>,
    to_close: Deque<PortName, PORTS>,
    /// Admitted remote nodes and their current incarnation.
    admitted: Vec<(NodeName, Incarnation), NODES>,
    stats: Stats,
    error: Option<ProtocolError>,
    /// The latest time given to [`Node::handle_timeout`] (stamps held
    /// events).
    now: Instant,
}

type Msg<P, const A: usize> = UserMessage<P, A>;

/// Send-window use of one unconfirmed edge `from → (to, at)`.
#[derive(Clone, Copy, Debug)]
struct Window {
    from: PortName,
    to: NodeName,
    at: PortName,
    used: usize,
    /// For an edge to a port of this node: the remote node whose
    /// UpdatePreviousPeer alone names `from` there (`Port::announcer` when
    /// the window opened). Only that node's message confirms the edge, so
    /// its loss ends the window even after `from` has moved on.
    cause: NodeName,
}

impl<
    P,
    R,
    const PORTS: usize,
    const MSGS: usize,
    const A: usize,
    const HELD: usize,
    const OUT: usize,
    const NODES: usize,
> Node<P, R, PORTS, MSGS, A, HELD, OUT, NODES>
where
    P: Payload,
    R: RngCore + CryptoRng,
{
    /// A node named `name` drawing port names from `rng`.
    pub fn new(name: NodeName, config: Config, rng: R) -> Self {
        Node {
            name,
            config,
            rng,
            ports: Vec::new(),
            msgs: Vec::new(),
            held: Vec::new(),
            deferred: Vec::new(),
            waiting: Vec::new(),
            windows: Vec::new(),
            window_freed: false,
            local: Deque::new(),
            outbox: Deque::new(),
            broadcasts: Deque::new(),
            status: Deque::new(),
            in_use: Deque::new(),
            to_close: Deque::new(),
            admitted: Vec::new(),
            stats: Stats::default(),
            error: None,
            now: Instant::ZERO,
        }
    }

    /// This node's name.
    pub fn name(&self) -> NodeName {
        self.name
    }

    /// Drop counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// `size_of` the per-port record (memory per port or proxy, excluding
    /// queued messages and held events).
    pub fn port_record_size() -> usize {
        core::mem::size_of::<Port>()
    }

    /// Number of ports (any state) on this node.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// The state of a port, if it exists.
    pub fn port_state(&self, port: PortName) -> Option<PortState> {
        self.port(port).map(|p| p.state)
    }

    /// Every port name and state on this node (for tests and diagnostics).
    pub fn ports(&self) -> impl Iterator<Item = (PortName, PortState)> + '_ {
        self.ports.iter().map(|p| (p.name, p.state))
    }

    /// Out-of-order events currently held.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// Events currently waiting for a send window (see
    /// [`Config::send_window`]).
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    /// User messages currently queued over all ports.
    pub fn queued_count(&self) -> usize {
        self.msgs.len()
    }

    /// A snapshot of one port's protocol state, for tests and debugging
    /// (`None` if no such port). See [`PortInfo`].
    pub fn inspect(&self, port: PortName) -> Option<PortInfo> {
        let p = self.port(port)?;
        Some(PortInfo {
            state: p.state,
            peer: (p.peer_node, p.peer_port),
            prev: (p.prev_node, p.prev_port),
            prev_announcer: p.prev_announcer,
            peer_closed: p.peer_closed,
            peer_lost: p.peer_lost,
            remove_on_last: p.remove_on_last,
            unconfirmed: p.unconfirmed,
            window_used: self.edge_window(port, p.peer_node, p.peer_port),
            held: self.held.iter().filter(|h| h.view().0 == port).count(),
            waiting: self.waiting.iter().filter(|w| w.0 == port).count(),
            queued: self.msgs.iter().filter(|(o, _)| *o == port).count(),
            next_seq_to_send: p.next_seq_send,
            next_seq_to_receive: p.queue_next_seq,
            last_seq_to_receive: p.last_seq_to_receive,
            next_ctl_to_send: p.ctl_send,
            next_ctl_to_receive: p.ctl_recv,
        })
    }

    /// Every event held out of turn, as `(target port, sending node,
    /// event)`, oldest first (for tests and debugging).
    pub fn held_events(&self) -> impl Iterator<Item = (PortName, NodeName, &Event<P, A>)> + '_ {
        self.held.iter().map(|h| h.view())
    }

    /// Every event waiting for a send window, as `(sending port, destination
    /// node, event)` in send order (for tests and debugging). The sending
    /// port may be gone (its first event still waits, see the module docs).
    pub fn waiting_events(&self) -> impl Iterator<Item = (PortName, NodeName, &Event<P, A>)> + '_ {
        self.waiting.iter().map(|(p, n, e, _)| (*p, *n, e))
    }

    // ----- time -----

    /// Gives the node the time: held events older than
    /// [`Config::max_held_age`] are dropped (counted in
    /// [`Stats::held_expired`]; their senders are released as if the port
    /// had discarded them), and later held events are stamped with `now`.
    /// Call it at [`Node::poll_timeout`] (calling it earlier, e.g. before
    /// every [`Node::handle_event`], only keeps the stamps fresher). A
    /// `now` earlier than the last one is ignored (the clock never goes
    /// back).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let age = self.config.max_held_age;
        // Held at or before `now - age`: their age bound has passed.
        if self.now >= Instant::ZERO.saturating_add(age) {
            let cut = self.now.saturating_sub(age);
            let n = self.drop_held(|_| true, Some(cut), true);
            self.stats.held_expired = self
                .stats
                .held_expired
                .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        }
        self.finish();
    }

    /// When the node next needs [`Node::handle_timeout`]: the moment the
    /// oldest held event reaches its age bound (`None` while nothing is
    /// held). Calling `handle_timeout` at that instant moves it strictly
    /// later or to `None`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.held
            .iter()
            .map(|h| h.since())
            .min()
            .map(|t| t.saturating_add(self.config.max_held_age))
    }

    // ----- outputs -----

    /// Next event to deliver to another node, as `(node, event)`.
    pub fn poll_transmit(&mut self) -> Option<(NodeName, Event<P, A>)> {
        self.outbox.pop_front()
    }

    /// Next event to deliver to every other node (the broadcast form of
    /// ObserveProxy announcing a dead proxy).
    pub fn poll_broadcast(&mut self) -> Option<Event<P, A>> {
        self.broadcasts.pop_front()
    }

    /// Next notice for the embedder.
    pub fn poll_event(&mut self) -> Option<PortEvent> {
        if let Some(n) = self.in_use.pop_front() {
            return Some(PortEvent::NodeInUse(n));
        }
        self.status.pop_front().map(PortEvent::StatusChanged)
    }

    // ----- internals: plumbing -----

    fn fresh_name(&mut self) -> PortName {
        loop {
            let n = PortName::random(&mut self.rng);
            if self.port(n).is_none() {
                return n;
            }
        }
    }

    fn port(&self, name: PortName) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    fn port_mut(&mut self, name: PortName) -> Option<&mut Port> {
        self.ports.iter_mut().find(|p| p.name == name)
    }

    fn violation(&mut self, node: NodeName, violation: Violation) {
        self.stats.violations = self.stats.violations.saturating_add(1);
        if node != self.name && self.error.is_none() {
            self.error = Some(ProtocolError { node, violation });
        }
    }

    fn send(&mut self, to: NodeName, ev: Event<P, A>) {
        let cause = self.cause_of(ev.from_port, to, ev.port);
        self.send_caused(to, ev, cause);
    }

    /// The remote node a self-addressed event of port `from` to `(to, at)`
    /// depends on if it is held: the node whose UpdatePreviousPeer alone
    /// can name `from` to that local peer (`Port::announcer`), or, for an
    /// edge `from` has left, the announcer it had then (`Port::left`) or
    /// the node recorded by the edge's send window when it opened. Invalid
    /// otherwise.
    fn cause_of(&self, from: PortName, to: NodeName, at: PortName) -> NodeName {
        if to != self.name {
            return NodeName::INVALID;
        }
        let known = self.port(from).map_or(NodeName::INVALID, |p| {
            if (p.peer_node, p.peer_port) == (to, at) {
                p.announcer
            } else if (p.left.0, p.left.1) == (to, at) {
                p.left.2
            } else {
                NodeName::INVALID
            }
        });
        if known.is_valid() {
            return known;
        }
        self.windows
            .iter()
            .find(|w| w.from == from && w.to == to && w.at == at)
            .map_or(NodeName::INVALID, |w| w.cause)
    }

    /// [`Self::send`] with the remote node a self-addressed event depends
    /// on given (its sending port may be gone already).
    fn send_caused(&mut self, to: NodeName, ev: Event<P, A>, cause: NodeName) {
        let r = if to == self.name {
            self.local.push_back((ev, cause)).map_err(|_| ())
        } else {
            self.outbox.push_back((to, ev)).map_err(|_| ())
        };
        if r.is_err() {
            self.stats.dropped_outputs = self.stats.dropped_outputs.saturating_add(1);
        }
    }

    /// A port now depends on remote node `node`: tell the embedder
    /// ([`PortEvent::NodeInUse`]), which answers with a loss if that node
    /// is gone.
    fn node_in_use(&mut self, node: NodeName) {
        if node == self.name || !node.is_valid() || self.in_use.iter().any(|n| *n == node) {
            return;
        }
        if self.in_use.push_back(node).is_err() {
            self.stats.dropped_outputs = self.stats.dropped_outputs.saturating_add(1);
        }
    }

    fn status_changed(&mut self, port: PortName) {
        if self.status.iter().any(|p| *p == port) {
            return;
        }
        if self.status.push_back(port).is_err() {
            self.stats.dropped_outputs = self.stats.dropped_outputs.saturating_add(1);
        }
    }

    fn broadcast_dead(&mut self, port: PortName) {
        let ev = Event {
            port: PortName::INVALID,
            from_port: PortName::INVALID,
            control_seq: INVALID_SEQ,
            kind: EventKind::ObserveProxy {
                proxy_node: self.name,
                proxy_port: port,
                target_node: NodeName::INVALID,
                target_port: PortName::INVALID,
            },
        };
        if self.broadcasts.push_back(ev).is_err() {
            self.stats.dropped_outputs = self.stats.dropped_outputs.saturating_add(1);
        }
    }

    /// Stamps a control event from `port` to its peer. Returns it, or `None`
    /// if the port is buffering (then it is kept until proxying starts) or
    /// gone.
    fn stamp(&mut self, port: PortName, kind: EventKind<P, A>) -> Option<(NodeName, Event<P, A>)> {
        let p = self.port_mut(port)?;
        let ev = Event {
            port: p.peer_port,
            from_port: port,
            control_seq: p.take_ctl(),
            kind,
        };
        let to = p.peer_node;
        if p.state == PortState::Buffering {
            if self.deferred.push((port, to, ev)).is_err() {
                self.stats.dropped_outputs = self.stats.dropped_outputs.saturating_add(1);
            }
            return None;
        }
        self.gate(port, to, ev)
    }

    /// The send window: passes a sender-verified event from `port` to `to`
    /// through (`Some`), or keeps it waiting behind earlier ones (`None`).
    /// An event waits if an earlier event of the same *edge* waits (from
    /// `port` to the same port on `to`: one control-number stream), or if
    /// its edge is windowed (the port's current, unconfirmed edge, or an
    /// earlier edge the receiver has not confirmed yet) and the windows
    /// towards its receiver are used up. Events of an earlier edge never
    /// hold up a later edge's: they go to another port, with its own
    /// numbering.
    fn gate(
        &mut self,
        port: PortName,
        to: NodeName,
        ev: Event<P, A>,
    ) -> Option<(NodeName, Event<P, A>)> {
        let dest = ev.port;
        let behind = self
            .waiting
            .iter()
            .any(|w| w.0 == port && w.1 == to && w.2.port == dest);
        if !behind && (!self.windowed(port, to, dest) || self.charge(port, to, dest)) {
            return Some((to, ev));
        }
        let cause = self.cause_of(port, to, dest);
        match self.waiting.push((port, to, ev, cause)) {
            Ok(()) => None,
            // Callers check room first (send_user_message); a control event
            // finding the pool full goes out of order rather than being lost.
            Err(w) => Some((w.1, w.2)),
        }
    }

    /// Whether the edge `port → (to, dest)` sends within a window: it is
    /// the port's current edge and unconfirmed, or the receiver may still
    /// hold events sent on it.
    fn windowed(&self, port: PortName, to: NodeName, dest: PortName) -> bool {
        self.port(port)
            .is_some_and(|p| p.unconfirmed && p.peer_node == to && p.peer_port == dest)
            || self.edge_window(port, to, dest) > 0
    }

    /// Counts one more event in the window of the edge `port → (to, dest)`
    /// if the windows towards that receiver have room (and the window table
    /// has a slot): `false` if the event must wait.
    fn charge(&mut self, port: PortName, to: NodeName, dest: PortName) -> bool {
        if self.window_full(to, dest) {
            return false;
        }
        if let Some(w) = self
            .windows
            .iter_mut()
            .find(|w| w.from == port && w.to == to && w.at == dest)
        {
            w.used = w.used.saturating_add(1);
            return true;
        }
        let cause = self.cause_of(port, to, dest);
        self.windows
            .push(Window {
                from: port,
                to,
                at: dest,
                used: 1,
                cause,
            })
            .is_ok()
    }

    /// The effective send window (clamped to this node's hold bounds).
    fn window(&self) -> usize {
        self.config
            .send_window
            .min(self.config.max_held_per_port)
            .min(self.config.max_held_per_node)
            .max(1)
    }

    /// Window use of one edge.
    fn edge_window(&self, port: PortName, to: NodeName, dest: PortName) -> usize {
        self.windows
            .iter()
            .filter(|w| w.from == port && w.to == to && w.at == dest)
            .fold(0usize, |n, w| n.saturating_add(w.used))
    }

    /// Window use of every unconfirmed edge of this node towards `to`
    /// (only those towards `port` there, if given).
    fn window_used(&self, to: NodeName, port: Option<PortName>) -> usize {
        self.windows
            .iter()
            .filter(|w| w.to == to && port.is_none_or(|x| x == w.at))
            .fold(0usize, |n, w| n.saturating_add(w.used))
    }

    /// Whether the window towards `port` on `to` is used up: the per-port
    /// window, summed over every edge of this node towards that port
    /// (successive previous peers of one port may live here, and moved or
    /// closed ones still count until confirmed: the receiver's hold bound
    /// is per port and sending node), or the node-wide one (the receiver's
    /// per-node bound), or the window table is full.
    fn window_full(&self, to: NodeName, port: PortName) -> bool {
        self.window_used(to, Some(port)) >= self.window()
            || self.window_used(to, None) >= self.config.max_held_per_node.max(1)
    }

    /// Whether [`Node::send_user_message`] on `port` would fail now with
    /// [`SendError::WouldBlock`](crate::ports::SendError::WouldBlock): one more
    /// event from `port` would have to wait for a send window and there is no
    /// room for it to wait, or it would not fit at a peer on this node.
    ///
    /// Check this before building a payload you cannot afford to lose:
    /// `WouldBlock` drops the payload it was given. `false` for an unknown
    /// port (the send then fails with `PortUnknown`).
    pub fn would_block(&self, port: PortName) -> bool {
        let Some(p) = self.port(port) else {
            return false;
        };
        let to = p.peer_node;
        // A peer on this node: the message is queued here when the local
        // queue is drained, where a full per-port queue or a full message
        // pool (`MSGS`) would drop it as a violation of this node against
        // itself, i.e. silently. Refuse it now instead (nothing changed;
        // reading the peer's messages makes room).
        if to == self.name && !self.local_room(p.peer_port) {
            return true;
        }
        // Flow control: the conjugate has a full queue's worth unread.
        if p.state == PortState::Receiving && !p.peer_closed && self.flow_blocked(port) {
            return true;
        }
        let queued = self
            .waiting
            .iter()
            .filter(|w| w.0 == port && w.1 == to && w.2.port == p.peer_port)
            .count();
        let table_full = self.windows.is_full() && self.edge_window(port, to, p.peer_port) == 0;
        let must_wait = queued > 0
            || (self.windowed(port, to, p.peer_port)
                && (self.window_full(to, p.peer_port) || table_full));
        must_wait && (queued >= self.config.max_queued_per_port || self.waiting.is_full())
    }

    /// Whether one more user message sent locally to `target` fits both its
    /// queue (`max_queued_per_port`) and the node's message pool (`MSGS`),
    /// counting the user messages still in the local queue.
    fn local_room(&self, target: PortName) -> bool {
        let mut pending = 0usize;
        let mut pending_target = 0usize;
        for (ev, _) in &self.local {
            if matches!(ev.kind, EventKind::UserMessage(_)) {
                pending = pending.saturating_add(1);
                if ev.port == target {
                    pending_target = pending_target.saturating_add(1);
                }
            }
        }
        let queued = self.msgs.iter().filter(|(o, _)| *o == target).count();
        queued.saturating_add(pending_target) < self.config.max_queued_per_port
            && self.msgs.len().saturating_add(pending) < MSGS
    }

    /// Sends every waiting event of the edge `port → (to, at)`, in order.
    fn flush_waiting(&mut self, port: PortName, to: NodeName, at: PortName) -> bool {
        let mut any = false;
        while let Some(k) = self
            .waiting
            .iter()
            .position(|w| w.0 == port && w.1 == to && w.2.port == at)
        {
            let (_, to, ev, cause) = self.waiting.remove(k);
            self.send_caused(to, ev, cause);
            any = true;
        }
        any
    }

    /// Re-offers waiting events to the windows after window use shrank
    /// somewhere (`window_freed`: a confirmation, a lost node): the first
    /// waiting event of each edge goes out, in order, while the windows
    /// towards its receiver have room, and is counted in its edge's window.
    /// An event that waits only because *other* edges had used the shared
    /// budget (several previous peers of one port, or the node-wide bound)
    /// would otherwise wait for a confirmation that may never come: the
    /// receiver confirms an edge on its UpdatePreviousPeer, which a port
    /// still being moved can miss, on the port's PortArrived, and on the
    /// edge's first event, which may be this one. The edge may belong to a
    /// port that has gone since (closed or moved on). Bounded: one pass
    /// over the pool (`MSGS`) per freed window.
    pub(super) fn pump_waiting(&mut self) {
        if !core::mem::take(&mut self.window_freed) {
            return;
        }
        let mut k = 0usize;
        while let Some((port, to, dest)) = self.waiting.get(k).map(|w| (w.0, w.1, w.2.port)) {
            let first = !self
                .waiting
                .iter()
                .take(k)
                .any(|w| w.0 == port && w.1 == to && w.2.port == dest);
            if !first || !self.charge(port, to, dest) {
                k = k.saturating_add(1);
                continue;
            }
            let (_, to, ev, cause) = self.waiting.remove(k);
            self.send_caused(to, ev, cause);
        }
    }

    /// Discards waiting events matching `f` (their route ended): carried
    /// ports are closed like those of any dropped message.
    fn drop_waiting(&mut self, f: impl Fn(&(PortName, NodeName, Event<P, A>, NodeName)) -> bool) {
        while let Some(k) = self.waiting.iter().position(&f) {
            let (_, to, ev, _) = self.waiting.remove(k);
            self.stats.dropped_unknown = self.stats.dropped_unknown.saturating_add(1);
            if let EventKind::UserMessage(m) = ev.kind {
                // The carried ports are buffering proxies towards `to` that
                // will never be accepted: end them like proxies towards a
                // lost node.
                for (n, _) in &m.ports {
                    self.destroy_all_ports_with_peer(to, Some(*n));
                }
            }
        }
    }

    /// PeerConfirmed from `(from, from_port)` for `target`: the edge
    /// `target → (from, from_port)` is confirmed. Its window is released
    /// (also if `target` has gone or moved on since: its events were held
    /// there), its waiting events go out in order, and if it is `target`'s
    /// current edge, `target` leaves its send window. Anything else changes
    /// nothing and is counted in [`Stats::dropped_confirmations`]: every
    /// UpdatePreviousPeer is confirmed, also when the named port never had
    /// a window (a new port, a proxy removed after a closure), so an
    /// unmatched confirmation is not evidence of a hostile sender.
    fn on_peer_confirmed(&mut self, from: NodeName, target: PortName, from_port: PortName) {
        let before = self.windows.len();
        self.windows
            .retain(|w| !(w.from == target && w.to == from && w.at == from_port));
        let released = self.windows.len() != before;
        if released {
            self.window_freed = true;
        }
        let confirmed = match self.port_mut(target) {
            Some(p) if p.unconfirmed && p.peer_node == from && p.peer_port == from_port => {
                p.unconfirmed = false;
                true
            }
            _ => false,
        };
        let flushed = self.flush_waiting(target, from, from_port);
        if !released && !flushed && !confirmed {
            self.stats.dropped_confirmations = self.stats.dropped_confirmations.saturating_add(1);
        }
    }

    fn forward_ctl(&mut self, port: PortName, kind: EventKind<P, A>) {
        if let Some((to, ev)) = self.stamp(port, kind) {
            self.send(to, ev);
        }
    }

    fn erase_port(&mut self, name: PortName) {
        if let Some(i) = self.ports.iter().position(|p| p.name == name) {
            // Its edges' windows stay until confirmed: the receivers may
            // still hold what it sent.
            self.ports.swap_remove(i);
        }
        // Held user messages are discarded like messages to a closed port:
        // their carried ports are accepted and closed, so the proxies that
        // refer to them are released and their routes see the closure.
        self.discard_held(name);
        self.deferred.retain(|d| d.0 != name);
        while let Some(k) = self.msgs.iter().position(|(o, _)| *o == name) {
            let (_, m) = self.msgs.swap_remove(k);
            self.drop_message(m);
        }
    }
}
