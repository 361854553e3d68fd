//! The ports node: a single-threaded, sans-IO state machine.

use heapless::{Deque, Vec};
use rand_core::{CryptoRng, RngCore};

use super::config::Config;
use super::error::{
    CreateError, Failure, GetMessageError, InitializeError, MergeError, PortError, ProtocolError,
    SendError, Violation,
};
use super::event::{
    Event, EventKind, INITIAL_SEQ, INVALID_SEQ, Payload, PortDescriptor, UserMessage,
};
use super::name::{NodeName, PortName};
use super::port::{Port, PortState};

/// A message handed to the user by [`Node::get_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<P, const A: usize> {
    /// The embedder's payload.
    pub payload: P,
    /// Ports that arrived with it; they now belong to the reader.
    pub ports: Vec<PortName, A>,
}

/// What [`Node::get_status`] reports about a receiving port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortStatus {
    /// The next in-order message is queued.
    pub has_messages: bool,
    /// More messages may still arrive or be read.
    pub receiving_messages: bool,
    /// The conjugate port is closed (or was lost).
    pub peer_closed: bool,
    /// The peer is on another node.
    pub peer_remote: bool,
    /// Messages queued at the port (in order or not).
    pub queued_message_count: usize,
    /// Payload bytes queued at the port.
    pub queued_num_bytes: usize,
    /// Messages sent whose reading the conjugate has not acknowledged.
    pub unacknowledged_message_count: u64,
}

/// An output for the embedder, drained by [`Node::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortEvent {
    /// The port's status may have changed (spurious notices are allowed):
    /// query [`Node::get_status`] / [`Node::get_message`].
    StatusChanged(PortName),
}

/// How strict [`Node::can_shutdown_cleanly`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownPolicy {
    /// No port of any kind may remain.
    DontAllowLocalPorts,
    /// Receiving ports and ports with a local peer may remain; no proxy.
    AllowLocalPorts,
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
}

struct Held<P, const A: usize> {
    port: PortName,
    from: NodeName,
    event: Event<P, A>,
}

/// A Mojo-style ports node.
///
/// Type and const parameters (all storage is fixed; nothing allocates):
///
/// * `P`: the user payload ([`Payload`]); `R`: the injected RNG for names.
/// * `PORTS` (default 64): ports on this node (receiving ends and proxies).
/// * `MSGS` (default 256): user messages queued over all ports.
/// * `A` (default 4): ports attached to one message.
/// * `HELD` (default 64): out-of-order control events held over all ports,
///   and separately, control events buffered by ports being transferred.
/// * `OUT` (default 256): each output queue (events to nodes, self-addressed
///   events, broadcasts, status notices).
///
/// Memory is roughly `PORTS·size_of(Port) + (MSGS + 2·HELD + 3·OUT)·size_of(Event)`;
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
> {
    name: NodeName,
    config: Config,
    rng: R,
    ports: Vec<Port, PORTS>,
    msgs: Vec<(PortName, UserMessage<P, A>), MSGS>,
    held: Vec<Held<P, A>, HELD>,
    deferred: Vec<(PortName, NodeName, Event<P, A>), HELD>,
    local: Deque<Event<P, A>, OUT>,
    outbox: Deque<(NodeName, Event<P, A>), OUT>,
    broadcasts: Deque<Event<P, A>, OUT>,
    status: Deque<PortName, OUT>,
    to_close: Deque<PortName, PORTS>,
    lost: Deque<NodeName, LOST_NODES_REMEMBERED>,
    stats: Stats,
    error: Option<ProtocolError>,
}

type Msg<P, const A: usize> = UserMessage<P, A>;

/// How many lost nodes a node remembers, so that late news naming a lost
/// node (a new previous peer or peer there) is treated as a loss at once.
pub const LOST_NODES_REMEMBERED: usize = 16;

impl<
    P,
    R,
    const PORTS: usize,
    const MSGS: usize,
    const A: usize,
    const HELD: usize,
    const OUT: usize,
> Node<P, R, PORTS, MSGS, A, HELD, OUT>
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
            local: Deque::new(),
            outbox: Deque::new(),
            broadcasts: Deque::new(),
            status: Deque::new(),
            to_close: Deque::new(),
            lost: Deque::new(),
            stats: Stats::default(),
            error: None,
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

    /// User messages currently queued over all ports.
    pub fn queued_count(&self) -> usize {
        self.msgs.len()
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
        self.status.pop_front().map(PortEvent::StatusChanged)
    }

    // ----- commands -----

    /// Creates a port with no peer yet (see [`Node::initialize_port`]).
    ///
    /// # Errors
    /// [`CreateError::CapacityExceeded`] if the port table is full.
    pub fn create_uninitialized_port(&mut self) -> Result<PortName, CreateError> {
        let name = self.fresh_name();
        self.ports
            .push(Port::new(name))
            .map_err(|_| Failure::CapacityExceeded)?;
        Ok(name)
    }

    /// Gives an uninitialized port its peer and its expected previous peer
    /// (for a fresh cross-node pair, both are the other end).
    ///
    /// # Errors
    /// [`InitializeError::PortUnknown`], [`InitializeError::StateUnexpected`] if the
    /// port was already initialized, [`InitializeError::InvalidName`].
    pub fn initialize_port(
        &mut self,
        port: PortName,
        peer_node: NodeName,
        peer_port: PortName,
        prev_node: NodeName,
        prev_port: PortName,
    ) -> Result<(), InitializeError> {
        if !(peer_node.is_valid()
            && peer_port.is_valid()
            && prev_node.is_valid()
            && prev_port.is_valid())
        {
            return Err(Failure::InvalidName.into());
        }
        let p = self.port_mut(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Uninitialized {
            return Err(Failure::StateUnexpected.into());
        }
        p.state = PortState::Receiving;
        p.set_peer(peer_node, peer_port);
        p.prev_node = prev_node;
        p.prev_port = prev_port;
        self.status_changed(port);
        Ok(())
    }

    /// Creates two connected receiving ports on this node.
    ///
    /// # Errors
    /// [`CreateError::CapacityExceeded`] if fewer than two port slots are free.
    pub fn create_port_pair(&mut self) -> Result<(PortName, PortName), CreateError> {
        if self.ports.len().saturating_add(2) > PORTS {
            return Err(Failure::CapacityExceeded.into());
        }
        let a = self.create_uninitialized_port()?;
        let b = self.create_uninitialized_port()?;
        let me = self.name;
        // Both ports were just created uninitialized; the names are valid.
        let _ = self.initialize_port(a, me, b, me, b);
        let _ = self.initialize_port(b, me, a, me, a);
        Ok((a, b))
    }

    /// Sends `payload` with `attached` ports through `port`.
    ///
    /// On failure every attached port other than `port` is closed.
    ///
    /// # Errors
    /// [`SendError::PortUnknown`], [`SendError::StateUnexpected`] (not
    /// receiving, or an attached port is not receiving),
    /// [`SendError::PeerClosed`], [`SendError::CannotSendSelf`],
    /// [`SendError::CannotSendPeer`], [`SendError::CapacityExceeded`]
    /// (more than `A` attached ports).
    pub fn send_user_message(
        &mut self,
        port: PortName,
        payload: P,
        attached: &[PortName],
    ) -> Result<(), SendError> {
        let mut ports = Vec::new();
        let mut err = None;
        for n in attached {
            if ports.push((*n, PortDescriptor::default())).is_err() {
                err = Some(Failure::CapacityExceeded);
            }
        }
        let result = match err {
            Some(e) => Err(e),
            None => {
                let m = UserMessage {
                    seq: 0,
                    ports,
                    payload,
                };
                match self.prepare_to_forward(port, PortState::Receiving, false, m) {
                    Ok((to, ev)) => {
                        self.send(to, ev);
                        Ok(())
                    }
                    Err((e, _)) => Err(e),
                }
            }
        };
        if result.is_err() {
            for n in attached {
                if *n != port {
                    let _ = self.close_internal(*n);
                }
            }
        }
        self.finish();
        result.map_err(SendError::from)
    }

    /// Takes the next in-order message from a receiving port, if any.
    ///
    /// # Errors
    /// [`GetMessageError::PortUnknown`], [`GetMessageError::StateUnexpected`],
    /// [`GetMessageError::PeerClosed`] once the peer is closed and every message
    /// it sent was read.
    pub fn get_message(
        &mut self,
        port: PortName,
    ) -> Result<Option<Message<P, A>>, GetMessageError> {
        let p = self.port(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving {
            return Err(Failure::StateUnexpected.into());
        }
        if !self.can_accept_more(port) {
            return Err(Failure::PeerClosed.into());
        }
        let Some(k) = self.head(port) else {
            return Ok(None);
        };
        let (_, m) = self.msgs.swap_remove(k);
        let mut ack = false;
        if let Some(p) = self.port_mut(port) {
            p.queue_next_seq = p.queue_next_seq.saturating_add(1);
            if m.seq == p.seq_to_ack {
                p.seq_to_ack = 0;
                ack = true;
            }
        }
        if ack {
            self.forward_ctl(port, EventKind::ReadAck { seq: m.seq });
        }
        let mut names = Vec::new();
        for (n, _) in &m.ports {
            if let Some(q) = self.port_mut(*n) {
                q.signalable = true;
            }
            // `names` has the same capacity A as `m.ports`.
            let _ = names.push(*n);
        }
        self.finish();
        Ok(Some(Message {
            payload: m.payload,
            ports: names,
        }))
    }

    /// Status of a receiving port.
    ///
    /// # Errors
    /// [`PortError::PortUnknown`], [`PortError::StateUnexpected`].
    pub fn get_status(&self, port: PortName) -> Result<PortStatus, PortError> {
        let p = self.port(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving {
            return Err(Failure::StateUnexpected.into());
        }
        let mut count = 0usize;
        let mut bytes = 0usize;
        for (o, m) in &self.msgs {
            if *o == port {
                count = count.saturating_add(1);
                bytes = bytes.saturating_add(m.payload.encoded_len());
            }
        }
        Ok(PortStatus {
            has_messages: self.head(port).is_some(),
            receiving_messages: self.can_accept_more(port),
            peer_closed: p.peer_closed,
            peer_remote: p.peer_node != self.name,
            queued_message_count: count,
            queued_num_bytes: bytes,
            unacknowledged_message_count: p
                .next_seq_send
                .saturating_sub(p.last_seq_ack)
                .saturating_sub(1),
        })
    }

    /// Closes a receiving (or uninitialized) port. Unread messages are
    /// discarded and the ports they carried closed.
    ///
    /// # Errors
    /// [`PortError::PortUnknown`], [`PortError::StateUnexpected`] for a
    /// proxy.
    pub fn close_port(&mut self, port: PortName) -> Result<(), PortError> {
        let r = self.close_internal(port);
        self.finish();
        r.map_err(PortError::from)
    }

    /// Asks the conjugate to acknowledge reads every `interval` messages
    /// (0 = stop asking).
    ///
    /// # Errors
    /// [`PortError::PortUnknown`], [`PortError::StateUnexpected`].
    pub fn set_acknowledge_request_interval(
        &mut self,
        port: PortName,
        interval: u64,
    ) -> Result<(), PortError> {
        let p = self.port_mut(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving {
            return Err(Failure::StateUnexpected.into());
        }
        p.ack_interval = interval;
        let seq = p.last_seq_ack.saturating_add(interval);
        if interval > 0 {
            self.forward_ctl(port, EventKind::ReadAckRequest { seq });
        }
        self.finish();
        Ok(())
    }

    /// Marks `port` as the allowed target of one MergePort, optionally only
    /// from node `from`.
    ///
    /// # Errors
    /// [`PortError::PortUnknown`], [`PortError::StateUnexpected`].
    pub fn allow_merge(&mut self, port: PortName, from: Option<NodeName>) -> Result<(), PortError> {
        let p = self.port_mut(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving {
            return Err(Failure::StateUnexpected.into());
        }
        p.pending_merge = true;
        p.pending_merge_node = from.unwrap_or(NodeName::INVALID);
        Ok(())
    }

    /// Merges the route of `port` (here) with the route of `dest_port` on
    /// `dest_node` (which must have called [`Node::allow_merge`]). Neither
    /// port may have sent a message. Call on one side only.
    ///
    /// # Errors
    /// [`MergeError::PortUnknown`], [`MergeError::StateUnexpected`],
    /// [`MergeError::InvalidName`].
    pub fn merge_ports(
        &mut self,
        port: PortName,
        dest_node: NodeName,
        dest_port: PortName,
    ) -> Result<(), MergeError> {
        if !dest_node.is_valid() || !dest_port.is_valid() {
            return Err(Failure::InvalidName.into());
        }
        let p = self.port(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving || p.next_seq_send != INITIAL_SEQ {
            return Err(Failure::StateUnexpected.into());
        }
        let (new_port, descriptor) = self.convert_to_proxy(port, dest_node);
        self.send(
            dest_node,
            Event {
                port: dest_port,
                from_port: PortName::INVALID,
                control_seq: INVALID_SEQ,
                kind: EventKind::MergePort {
                    new_port,
                    descriptor,
                },
            },
        );
        self.finish();
        Ok(())
    }

    /// Merges two receiving ports of this node: their conjugates become
    /// each other's peers and both ports go away.
    ///
    /// # Errors
    /// [`MergeError::PortUnknown`], [`MergeError::StateUnexpected`]; on a
    /// bad state both ports are closed.
    pub fn merge_local_ports(&mut self, a: PortName, b: PortName) -> Result<(), MergeError> {
        let r = self.merge_internal(a, b);
        self.finish();
        r.map_err(MergeError::from)
    }

    /// The transport to `node` is gone: ports whose peer or previous peer
    /// was there see their peer closed; proxies toward it die and are
    /// announced by broadcast.
    pub fn lost_connection_to_node(&mut self, node: NodeName) {
        if !self.lost.iter().any(|n| *n == node) {
            if self.lost.is_full() {
                let _ = self.lost.pop_front();
            }
            let _ = self.lost.push_back(node);
        }
        self.destroy_all_ports_with_peer(node, None);
        // Hardening: ports whose *previous* peer was on the lost node would
        // otherwise wait forever for events only that node could send.
        let mut victims: Vec<PortName, PORTS> = Vec::new();
        for p in &self.ports {
            // A prev announced by the lost node and never heard from may
            // not exist at all: the message that was to create it may have
            // died with that node.
            if (p.prev_node == node || p.prev_announcer == node)
                && p.state != PortState::Uninitialized
            {
                let _ = victims.push(p.name);
            }
        }
        for name in victims {
            self.prev_lost(name);
        }
        // A merge target waiting for a MergePort that only the lost node
        // could send will never be merged: close it so its route ends.
        let mut orphans: Vec<PortName, PORTS> = Vec::new();
        for p in &self.ports {
            if p.pending_merge && p.pending_merge_node == node {
                let _ = orphans.push(p.name);
            }
        }
        for name in orphans {
            let _ = self.close_internal(name);
        }
        self.finish();
    }

    /// Whether the node may shut down under `policy`.
    pub fn can_shutdown_cleanly(&self, policy: ShutdownPolicy) -> bool {
        match policy {
            ShutdownPolicy::DontAllowLocalPorts => self.ports.is_empty(),
            ShutdownPolicy::AllowLocalPorts => self
                .ports
                .iter()
                .all(|p| p.peer_node == self.name || p.state == PortState::Receiving),
        }
    }

    // ----- input -----

    /// An event from node `from` (decoded by the driver). Broadcasts are
    /// delivered here too.
    ///
    /// # Errors
    /// [`ProtocolError`] naming `from` if the event (or an event it released
    /// from the out-of-order buffer) broke the protocol; the offending event
    /// was dropped and no port it was not entitled to change was changed.
    pub fn handle_event(
        &mut self,
        from: NodeName,
        event: Event<P, A>,
    ) -> Result<(), ProtocolError> {
        self.error = None;
        self.stats.remote_events = self.stats.remote_events.saturating_add(1);
        self.accept(from, event);
        self.finish();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
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
        let r = if to == self.name {
            self.local.push_back(ev).map_err(|_| ())
        } else {
            self.outbox.push_back((to, ev)).map_err(|_| ())
        };
        if r.is_err() {
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

    /// Processes pending closes and self-addressed events, boundedly.
    fn finish(&mut self) {
        let mut steps = 0usize;
        loop {
            while let Some(n) = self.to_close.pop_front() {
                let _ = self.close_internal(n);
            }
            if steps >= self.config.max_local_steps {
                break;
            }
            let Some(ev) = self.local.pop_front() else {
                break;
            };
            steps = steps.saturating_add(1);
            self.stats.local_events = self.stats.local_events.saturating_add(1);
            let me = self.name;
            self.accept(me, ev);
        }
    }

    fn msg_index(&self, port: PortName, seq: u64) -> Option<usize> {
        self.msgs
            .iter()
            .position(|(o, m)| *o == port && m.seq == seq)
    }

    /// Index of the next in-order message of `port`.
    fn head(&self, port: PortName) -> Option<usize> {
        let next = self.port(port)?.queue_next_seq;
        self.msg_index(port, next)
    }

    fn can_accept_more(&self, port: PortName) -> bool {
        let Some(p) = self.port(port) else {
            return false;
        };
        if p.peer_closed || p.remove_on_last {
            if p.peer_lost {
                return self.head(port).is_some();
            }
            return p.queue_next_seq <= p.last_seq_to_receive;
        }
        true
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
        Some((to, ev))
    }

    fn forward_ctl(&mut self, port: PortName, kind: EventKind<P, A>) {
        if let Some((to, ev)) = self.stamp(port, kind) {
            self.send(to, ev);
        }
    }

    fn drop_message(&mut self, m: Msg<P, A>) {
        for (n, _) in &m.ports {
            if self.port(*n).is_some() && !self.to_close.iter().any(|c| c == n) {
                let _ = self.to_close.push_back(*n);
            }
        }
    }

    fn erase_port(&mut self, name: PortName) {
        if let Some(i) = self.ports.iter().position(|p| p.name == name) {
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

    /// Drops every event held for `name`. Held user messages are discarded
    /// like messages to a closed port: their carried ports are accepted and
    /// closed, so the proxies that refer to them are released.
    fn discard_held(&mut self, name: PortName) {
        while let Some(k) = self.held.iter().position(|h| h.port == name) {
            let h = self.held.swap_remove(k);
            if let EventKind::UserMessage(m) = h.event.kind
                && self.accept_carried(h.from, &m)
            {
                self.drop_message(m);
            }
        }
    }

    fn close_internal(&mut self, name: PortName) -> Result<(), Failure> {
        let p = self.port(name).ok_or(Failure::PortUnknown)?;
        match p.state {
            PortState::Uninitialized => {
                self.erase_port(name);
                Ok(())
            }
            PortState::Receiving => {
                let last = p.next_seq_send.saturating_sub(1);
                let lost = p.peer_lost;
                let stamped = self.stamp(name, EventKind::ObserveClosure { last_seq: last });
                self.erase_port(name);
                if let Some((to, ev)) = stamped {
                    self.send(to, ev);
                }
                if lost {
                    // The route is broken by a node loss, so the closure
                    // cannot travel around it back to the proxies that still
                    // forward to this port (one may even have a previous
                    // peer that was never created). Announce the port's end
                    // like a dead proxy: every port whose peer it was learns.
                    self.broadcast_dead(name);
                    let me = self.name;
                    self.destroy_all_ports_with_peer(me, Some(name));
                }
                Ok(())
            }
            PortState::Buffering | PortState::Proxying => Err(Failure::StateUnexpected),
        }
    }

    // ----- internals: procedures -----

    /// Assigns a sequence number, validates and (across nodes) converts the
    /// attached ports, and stamps the message as an event from `fwd`.
    #[allow(clippy::type_complexity)]
    fn prepare_to_forward(
        &mut self,
        fwd: PortName,
        expected: PortState,
        ignore_closed_peer: bool,
        mut m: Msg<P, A>,
    ) -> Result<(NodeName, Event<P, A>), (Failure, Msg<P, A>)> {
        let Some(p) = self.port(fwd) else {
            return Err((Failure::PortUnknown, m));
        };
        if p.state != expected {
            return Err((Failure::StateUnexpected, m));
        }
        if !ignore_closed_peer && p.peer_closed {
            return Err((Failure::PeerClosed, m));
        }
        let to = p.peer_node;
        let peer_port = p.peer_port;
        for (k, (n, _)) in m.ports.iter().enumerate() {
            let e = if *n == fwd {
                Some(Failure::CannotSendSelf)
            } else if to == self.name && *n == peer_port {
                Some(Failure::CannotSendPeer)
            } else {
                match self.port(*n) {
                    None => Some(Failure::PortUnknown),
                    Some(q) if q.state != PortState::Receiving => Some(Failure::StateUnexpected),
                    Some(_) => {
                        if m.ports.iter().take(k).any(|(o, _)| o == n) {
                            Some(Failure::StateUnexpected)
                        } else {
                            None
                        }
                    }
                }
            };
            if let Some(e) = e {
                return Err((e, m));
            }
        }
        if m.seq == 0
            && let Some(p) = self.port_mut(fwd)
        {
            m.seq = p.next_seq_send;
            p.next_seq_send = p.next_seq_send.saturating_add(1);
        }
        if to != self.name {
            for slot in m.ports.iter_mut() {
                *slot = self.convert_to_proxy(slot.0, to);
            }
        }
        let Some(p) = self.port_mut(fwd) else {
            return Err((Failure::PortUnknown, m));
        };
        let ev = Event {
            port: p.peer_port,
            from_port: fwd,
            control_seq: p.take_ctl(),
            kind: EventKind::UserMessage(m),
        };
        Ok((p.peer_node, ev))
    }

    /// Turns a receiving port into a buffering proxy toward a new port
    /// `(to, new name)`; returns the new name and its descriptor.
    fn convert_to_proxy(&mut self, name: PortName, to: NodeName) -> (PortName, PortDescriptor) {
        let new = PortName::random(&mut self.rng);
        let me = self.name;
        let Some(p) = self.port_mut(name) else {
            return (new, PortDescriptor::default());
        };
        let upp = Event {
            port: p.peer_port,
            from_port: name,
            control_seq: p.take_ctl(),
            kind: EventKind::UpdatePreviousPeer {
                node: to,
                port: new,
            },
        };
        let old_peer = (p.peer_node, p.peer_port);
        p.state = PortState::Buffering;
        if p.peer_closed {
            p.remove_on_last = true;
        }
        let desc = PortDescriptor {
            peer_node: p.peer_node,
            peer_port: p.peer_port,
            referring_node: me,
            referring_port: name,
            next_seq_to_send: p.next_seq_send,
            next_seq_to_receive: p.queue_next_seq,
            last_seq_to_receive: p.last_seq_to_receive,
            peer_closed: p.peer_closed,
        };
        p.set_peer(to, new);
        self.send(old_peer.0, upp);
        if old_peer.0 == me {
            self.status_changed(old_peer.1);
        }
        (new, desc)
    }

    fn accept_port(&mut self, name: PortName, d: &PortDescriptor) {
        let mut p = Port::new(name);
        p.state = PortState::Receiving;
        p.set_peer(d.peer_node, d.peer_port);
        p.prev_node = d.referring_node;
        p.prev_port = d.referring_port;
        p.next_seq_send = d.next_seq_to_send;
        p.last_seq_ack = d.next_seq_to_send.saturating_sub(1);
        p.queue_next_seq = d.next_seq_to_receive;
        p.last_seq_to_receive = d.last_seq_to_receive;
        p.peer_closed = d.peer_closed;
        p.signalable = false;
        if self.ports.push(p).is_err() {
            self.stats.dropped_outputs = self.stats.dropped_outputs.saturating_add(1);
            return;
        }
        if self.is_lost(d.referring_node) {
            self.prev_lost(name);
        }
        if self.is_lost(d.peer_node) {
            self.peer_lost(name);
        }
        self.send(
            d.referring_node,
            Event {
                port: d.referring_port,
                from_port: PortName::INVALID,
                control_seq: INVALID_SEQ,
                kind: EventKind::PortAccepted,
            },
        );
    }

    fn descriptor_ok(d: &PortDescriptor) -> bool {
        d.peer_node.is_valid()
            && d.peer_port.is_valid()
            && d.referring_node.is_valid()
            && d.referring_port.is_valid()
            && d.next_seq_to_send >= INITIAL_SEQ
            && d.next_seq_to_receive >= INITIAL_SEQ
            && d.next_seq_to_send != INVALID_SEQ
            && d.next_seq_to_receive != INVALID_SEQ
    }

    fn forward_from_proxy(&mut self, name: PortName) {
        loop {
            let Some(k) = self.head(name) else { return };
            let (_, m) = self.msgs.swap_remove(k);
            if let Some(p) = self.port_mut(name) {
                p.queue_next_seq = p.queue_next_seq.saturating_add(1);
            }
            match self.prepare_to_forward(name, PortState::Proxying, true, m) {
                Ok((to, ev)) => self.send(to, ev),
                Err((_, m)) => self.drop_message(m),
            }
        }
    }

    fn begin_proxying(&mut self, name: PortName) {
        let Some(p) = self.port_mut(name) else { return };
        p.state = PortState::Proxying;
        while let Some(k) = self.deferred.iter().position(|d| d.0 == name) {
            let (_, to, ev) = self.deferred.remove(k);
            self.send(to, ev);
        }
        self.forward_from_proxy(name);
        let Some(p) = self.port_mut(name) else { return };
        let ack = p.seq_to_ack;
        p.seq_to_ack = 0;
        let remove = p.remove_on_last;
        if ack != 0 {
            self.forward_ctl(name, EventKind::ReadAckRequest { seq: ack });
        }
        if remove {
            self.try_remove_proxy(name);
        } else {
            self.initiate_proxy_removal(name);
        }
    }

    fn initiate_proxy_removal(&mut self, name: PortName) {
        let me = self.name;
        let Some(p) = self.port(name) else { return };
        if p.state != PortState::Proxying {
            return;
        }
        if self.config.direct_bypass {
            // Ask the port that forwards into this proxy, directly.
            if !p.prev_node.is_valid() || p.remove_on_last {
                return;
            }
            let (to, ev) = (
                p.prev_node,
                Event {
                    port: p.prev_port,
                    from_port: name,
                    control_seq: INVALID_SEQ,
                    kind: EventKind::ObserveProxyDirect {
                        target_node: p.peer_node,
                        target_port: p.peer_port,
                    },
                },
            );
            self.send(to, ev);
            return;
        }
        let kind = EventKind::ObserveProxy {
            proxy_node: me,
            proxy_port: name,
            target_node: p.peer_node,
            target_port: p.peer_port,
        };
        self.forward_ctl(name, kind);
    }

    fn try_remove_proxy(&mut self, name: PortName) {
        let Some(p) = self.port(name) else { return };
        if p.state != PortState::Proxying || !p.remove_on_last || self.can_accept_more(name) {
            return;
        }
        let Some(p) = self.port_mut(name) else { return };
        let deferred = p.deferred_ack.take().map(|(node, port)| {
            (
                node,
                Event {
                    port,
                    from_port: name,
                    control_seq: p.take_ctl(),
                    kind: EventKind::ObserveProxyAck {
                        last_seq: INVALID_SEQ,
                    },
                },
            )
        });
        let upp = Event {
            port: p.peer_port,
            from_port: name,
            control_seq: p.take_ctl(),
            kind: EventKind::UpdatePreviousPeer {
                node: p.prev_node,
                port: p.prev_port,
            },
        };
        let to = p.peer_node;
        // A proxy whose previous peer was lost (prev cleared) already sent
        // ObserveClosure downstream; it has no successor to name.
        if p.prev_node.is_valid() {
            self.send(to, upp);
        }
        self.erase_port(name);
        if let Some((n, e)) = deferred {
            self.send(n, e);
        }
    }

    fn merge_internal(&mut self, a: PortName, b: PortName) -> Result<(), Failure> {
        let me = self.name;
        let ok = match (self.port(a), self.port(b)) {
            (Some(pa), Some(pb)) => {
                a != b
                    && pa.state == PortState::Receiving
                    && pb.state == PortState::Receiving
                    && !(pa.peer_node == me && pa.peer_port == b)
                    && !(pb.peer_node == me && pb.peer_port == a)
                    && pa.next_seq_send == INITIAL_SEQ
                    && pb.next_seq_send == INITIAL_SEQ
            }
            _ => false,
        };
        if !ok {
            for n in [a, b] {
                if self.port(n).map(|p| p.state) == Some(PortState::Receiving) {
                    let _ = self.close_internal(n);
                }
            }
            if self.port(a).is_none() && self.port(b).is_none() {
                return Err(Failure::StateUnexpected);
            }
            return Err(Failure::StateUnexpected);
        }
        let mut upps: Vec<(NodeName, Event<P, A>), 2> = Vec::new();
        let mut peers = [(NodeName::INVALID, PortName::INVALID); 2];
        for (i, (x, other)) in [(a, b), (b, a)].into_iter().enumerate() {
            if let Some(p) = self.port_mut(x) {
                let ev = Event {
                    port: p.peer_port,
                    from_port: x,
                    control_seq: p.take_ctl(),
                    kind: EventKind::UpdatePreviousPeer {
                        node: me,
                        port: other,
                    },
                };
                let _ = upps.push((p.peer_node, ev));
                if let Some(slot) = peers.get_mut(i) {
                    *slot = (p.peer_node, p.peer_port);
                }
            }
        }
        let [pa, pb] = peers;
        for (x, (node, port)) in [(a, pb), (b, pa)] {
            if let Some(p) = self.port_mut(x) {
                p.set_peer(node, port);
                p.state = PortState::Proxying;
                if p.peer_closed {
                    p.remove_on_last = true;
                }
            }
        }
        self.forward_from_proxy(a);
        self.forward_from_proxy(b);
        for (to, ev) in upps {
            self.send(to, ev);
        }
        for x in [a, b] {
            let Some(p) = self.port(x) else { continue };
            let (remove, closed, last) = (p.remove_on_last, p.peer_closed, p.last_seq_to_receive);
            if remove || closed {
                self.forward_ctl(x, EventKind::ObserveClosure { last_seq: last });
            }
            if remove {
                self.try_remove_proxy(x);
            } else {
                self.initiate_proxy_removal(x);
            }
        }
        Ok(())
    }

    fn is_lost(&self, node: NodeName) -> bool {
        self.lost.iter().any(|n| *n == node)
    }

    /// The previous peer of `name` is on a lost node: nothing more will come
    /// through it. Acts as if the previous peer had sent ObserveClosure for
    /// everything received so far, and forgets the previous peer.
    fn prev_lost(&mut self, name: PortName) {
        let Some(p) = self.port(name) else { return };
        let was_proxy = matches!(p.state, PortState::Proxying | PortState::Buffering);
        let mut last = p.queue_next_seq.saturating_sub(1);
        while self.msg_index(name, last.saturating_add(1)).is_some() {
            last = last.saturating_add(1);
        }
        if let Some(p) = self.port_mut(name) {
            p.peer_lost = true;
            p.prev_node = NodeName::INVALID;
            p.prev_port = PortName::INVALID;
        }
        self.discard_held(name);
        self.on_observe_closure(name, last);
        if was_proxy {
            self.broadcast_dead(name);
        }
    }

    /// The peer of `name` is on a lost node.
    fn peer_lost(&mut self, name: PortName) {
        let Some(p) = self.port(name) else { return };
        let (node, port) = (p.peer_node, p.peer_port);
        self.destroy_all_ports_with_peer(node, Some(port));
    }

    fn destroy_all_ports_with_peer(&mut self, node: NodeName, port: Option<PortName>) {
        let mut work: Deque<(NodeName, Option<PortName>), PORTS> = Deque::new();
        let _ = work.push_back((node, port));
        while let Some((node, port)) = work.pop_front() {
            let mut hit: Vec<PortName, PORTS> = Vec::new();
            for p in &self.ports {
                if p.peer_node == node && port.is_none_or(|x| x == p.peer_port) {
                    let _ = hit.push(p.name);
                }
            }
            for name in hit {
                let Some(p) = self.port_mut(name) else {
                    continue;
                };
                if !p.peer_closed {
                    p.peer_closed = true;
                    p.peer_lost = true;
                }
                match p.state {
                    PortState::Receiving => self.status_changed(name),
                    PortState::Buffering | PortState::Proxying => {
                        self.erase_port(name);
                        self.broadcast_dead(name);
                        let me = self.name;
                        if work.push_back((me, Some(name))).is_err() {
                            self.stats.dropped_outputs =
                                self.stats.dropped_outputs.saturating_add(1);
                        }
                    }
                    PortState::Uninitialized => {}
                }
            }
        }
    }

    // ----- internals: ingress -----

    fn accept(&mut self, from: NodeName, ev: Event<P, A>) {
        if !ev.is_sender_verified() {
            self.dispatch(from, ev);
            return;
        }
        let target = ev.port;
        let Some(p) = self.port(target) else {
            self.dispatch(from, ev);
            return;
        };
        if ev.control_seq == 0 || ev.control_seq == INVALID_SEQ || !ev.from_port.is_valid() {
            self.violation(from, Violation::Malformed);
            return;
        }
        if !p.prev_node.is_valid() {
            // Route torn down by a node loss: nothing more is processed, but
            // ports carried by a dropped message are accepted and closed so
            // the proxies referring to them are released.
            self.stats.dropped_unknown = self.stats.dropped_unknown.saturating_add(1);
            if let EventKind::UserMessage(m) = ev.kind
                && self.accept_carried(from, &m)
            {
                self.drop_message(m);
            }
            return;
        }
        if from == p.prev_node && ev.from_port == p.prev_port {
            if ev.control_seq == p.ctl_recv {
                if let Some(p) = self.port_mut(target) {
                    p.prev_announcer = NodeName::INVALID;
                }
                self.dispatch_and_drain(from, ev);
                return;
            }
            if ev.control_seq < p.ctl_recv {
                self.stats.dropped_stale = self.stats.dropped_stale.saturating_add(1);
                return;
            }
        }
        // Out of turn: hold it, within bounds.
        let mut per_port = 0usize;
        let mut per_node = 0usize;
        for h in &self.held {
            if h.port == target
                && h.from == from
                && h.event.from_port == ev.from_port
                && h.event.control_seq == ev.control_seq
            {
                self.stats.dropped_duplicate = self.stats.dropped_duplicate.saturating_add(1);
                return;
            }
            if h.port == target {
                per_port = per_port.saturating_add(1);
            }
            if h.from == from {
                per_node = per_node.saturating_add(1);
            }
        }
        if per_port >= self.config.max_held_per_port {
            self.violation(from, Violation::HeldPerPortExceeded(target));
            return;
        }
        if per_node >= self.config.max_held_per_node {
            self.violation(from, Violation::HeldPerNodeExceeded);
            return;
        }
        if self
            .held
            .push(Held {
                port: target,
                from,
                event: ev,
            })
            .is_err()
        {
            self.violation(from, Violation::HeldPoolFull);
            return;
        }
        self.stats.held_peak = self.stats.held_peak.max(self.held.len());
    }

    fn dispatch_and_drain(&mut self, from: NodeName, ev: Event<P, A>) {
        let target = ev.port;
        self.dispatch(from, ev);
        loop {
            let Some(p) = self.port_mut(target) else {
                return;
            };
            p.ctl_recv = p.ctl_recv.saturating_add(1);
            let (node, port, want) = (p.prev_node, p.prev_port, p.ctl_recv);
            let Some(k) = self.held.iter().position(|h| {
                h.port == target
                    && h.from == node
                    && h.event.from_port == port
                    && h.event.control_seq == want
            }) else {
                return;
            };
            let h = self.held.swap_remove(k);
            if let Some(p) = self.port_mut(target) {
                p.prev_announcer = NodeName::INVALID;
            }
            self.dispatch(h.from, h.event);
        }
    }

    fn dispatch(&mut self, from: NodeName, ev: Event<P, A>) {
        let target = ev.port;
        match ev.kind {
            EventKind::UserMessage(m) => self.on_user_message(from, target, m),
            EventKind::PortAccepted => self.on_port_accepted(from, target),
            EventKind::ObserveProxy {
                proxy_node,
                proxy_port,
                target_node,
                target_port,
            } => {
                if target.is_valid() {
                    self.on_observe_proxy(
                        from,
                        target,
                        (proxy_node, proxy_port),
                        (target_node, target_port),
                    );
                } else if proxy_node != self.name && proxy_node.is_valid() {
                    self.destroy_all_ports_with_peer(proxy_node, Some(proxy_port));
                }
            }
            EventKind::ObserveProxyAck { last_seq } => {
                self.on_observe_proxy_ack(from, target, last_seq)
            }
            EventKind::ObserveClosure { last_seq } => self.on_observe_closure(target, last_seq),
            EventKind::MergePort {
                new_port,
                descriptor,
            } => self.on_merge_port(from, target, new_port, descriptor),
            EventKind::ReadAckRequest { seq } => self.on_read_ack_request(target, seq),
            EventKind::ReadAck { seq } => self.on_read_ack(target, seq),
            EventKind::ObserveProxyDirect {
                target_node,
                target_port,
            } => {
                let matches = self
                    .port(target)
                    .is_some_and(|p| p.peer_node == from && p.peer_port == ev.from_port);
                if !matches {
                    // Stale (already re-pointed, moved, or closed) or forged.
                    self.stats.dropped_stale = self.stats.dropped_stale.saturating_add(1);
                    return;
                }
                if self.port(target).map(|p| p.state) != Some(PortState::Receiving) {
                    // The target is itself a proxy: no deferred answer is
                    // needed, its removal sends the asker an
                    // UpdatePreviousPeer, on which the asker asks again.
                    return;
                }
                self.on_observe_proxy(
                    from,
                    target,
                    (from, ev.from_port),
                    (target_node, target_port),
                );
            }
            EventKind::UpdatePreviousPeer { node, port } => {
                if !node.is_valid() || !port.is_valid() {
                    self.violation(from, Violation::Malformed);
                    return;
                }
                if let Some(p) = self.port_mut(target) {
                    p.prev_node = node;
                    p.prev_port = port;
                    p.prev_announcer = from;
                    // The drain loop's increment makes this 1.
                    p.ctl_recv = 0;
                    let awaiting = p.state == PortState::Proxying && !p.remove_on_last;
                    if self.is_lost(node) {
                        self.prev_lost(target);
                    } else if awaiting && self.config.direct_bypass {
                        // The old prev was bypassed or moved: ask the new one.
                        self.initiate_proxy_removal(target);
                    }
                }
            }
        }
    }

    /// Creates the ports a message from another node carries (sending
    /// PortAccepted to each referrer). Validates everything first; on a bad
    /// name or descriptor nothing is created and `false` is returned.
    fn accept_carried(&mut self, from: NodeName, m: &Msg<P, A>) -> bool {
        if from == self.name {
            return true;
        }
        for (k, (n, d)) in m.ports.iter().enumerate() {
            if !n.is_valid()
                || self.port(*n).is_some()
                || m.ports.iter().take(k).any(|(o, _)| o == n)
            {
                self.violation(from, Violation::PortExists(*n));
                return false;
            }
            // The referring port is the sender's own (it became a proxy
            // there): anything else would make this node send PortAccepted
            // to a third party (reflection) or to itself.
            if !Self::descriptor_ok(d) || d.referring_node != from {
                self.violation(from, Violation::Malformed);
                return false;
            }
        }
        if self.ports.len().saturating_add(m.ports.len()) > PORTS {
            self.violation(from, Violation::CapacityExceeded);
            return false;
        }
        for (n, d) in &m.ports {
            self.accept_port(*n, d);
        }
        true
    }

    fn on_user_message(&mut self, from: NodeName, target: PortName, m: Msg<P, A>) {
        if !self.accept_carried(from, &m) {
            return;
        }
        let ok = self.can_accept_more(target)
            && self.port(target).map(|p| p.state) != Some(PortState::Uninitialized);
        let Some(p) = self.port(target).filter(|_| ok) else {
            self.stats.dropped_unknown = self.stats.dropped_unknown.saturating_add(1);
            self.drop_message(m);
            return;
        };
        let state = p.state;
        if m.seq < p.queue_next_seq || self.msg_index(target, m.seq).is_some() {
            self.stats.dropped_duplicate = self.stats.dropped_duplicate.saturating_add(1);
            self.drop_message(m);
            return;
        }
        let queued = self.msgs.iter().filter(|(o, _)| *o == target).count();
        if queued >= self.config.max_queued_per_port {
            self.violation(from, Violation::QueueFull(target));
            self.drop_message(m);
            return;
        }
        if let Err((_, m)) = self.msgs.push((target, m)) {
            self.violation(from, Violation::QueueFull(target));
            self.drop_message(m);
            return;
        }
        match state {
            PortState::Receiving => {
                let signal = self.port(target).is_some_and(|p| p.signalable);
                if signal && self.head(target).is_some() {
                    self.status_changed(target);
                }
            }
            PortState::Proxying => {
                self.forward_from_proxy(target);
                self.try_remove_proxy(target);
            }
            PortState::Buffering | PortState::Uninitialized => {}
        }
    }

    fn on_port_accepted(&mut self, from: NodeName, target: PortName) {
        let Some(p) = self.port(target) else {
            self.violation(from, Violation::UnexpectedEvent(target));
            return;
        };
        if p.state != PortState::Buffering {
            self.violation(from, Violation::UnexpectedEvent(target));
            return;
        }
        if p.peer_node != from {
            self.violation(from, Violation::WrongSender(target));
            return;
        }
        self.begin_proxying(target);
    }

    fn on_observe_proxy(
        &mut self,
        from: NodeName,
        target: PortName,
        proxy: (NodeName, PortName),
        dest: (NodeName, PortName),
    ) {
        if !dest.0.is_valid() || !dest.1.is_valid() || !proxy.0.is_valid() {
            self.violation(from, Violation::Malformed);
            return;
        }
        let Some(p) = self.port_mut(target) else {
            return;
        };
        if (p.peer_node, p.peer_port) == proxy {
            if p.state == PortState::Receiving {
                let ctl = p.take_ctl();
                let last = p.next_seq_send.saturating_sub(1);
                p.set_peer(dest.0, dest.1);
                self.send(
                    proxy.0,
                    Event {
                        port: proxy.1,
                        from_port: target,
                        control_seq: ctl,
                        kind: EventKind::ObserveProxyAck { last_seq: last },
                    },
                );
                self.maybe_resend_ack_request(target);
                self.maybe_resend_ack(target);
                self.status_changed(target);
                if self.is_lost(dest.0) {
                    self.peer_lost(target);
                }
            } else {
                p.deferred_ack = Some(proxy);
            }
        } else {
            self.forward_ctl(
                target,
                EventKind::ObserveProxy {
                    proxy_node: proxy.0,
                    proxy_port: proxy.1,
                    target_node: dest.0,
                    target_port: dest.1,
                },
            );
        }
    }

    fn maybe_resend_ack_request(&mut self, port: PortName) {
        let Some(p) = self.port(port) else { return };
        if p.state == PortState::Receiving && p.ack_interval > 0 {
            let seq = p.last_seq_ack.saturating_add(p.ack_interval);
            self.forward_ctl(port, EventKind::ReadAckRequest { seq });
        }
    }

    fn maybe_resend_ack(&mut self, port: PortName) {
        let Some(p) = self.port(port) else { return };
        let read = p.queue_next_seq.saturating_sub(1);
        if p.state == PortState::Receiving && p.seq_to_ack != 0 && read > 0 {
            self.forward_ctl(port, EventKind::ReadAck { seq: read });
        }
    }

    fn on_observe_proxy_ack(&mut self, from: NodeName, target: PortName, last: u64) {
        let Some(p) = self.port_mut(target) else {
            self.stats.dropped_unknown = self.stats.dropped_unknown.saturating_add(1);
            return;
        };
        if p.state != PortState::Proxying {
            self.violation(from, Violation::UnexpectedEvent(target));
            return;
        }
        if last == INVALID_SEQ {
            self.initiate_proxy_removal(target);
        } else {
            p.remove_on_last = true;
            p.last_seq_to_receive = last;
            self.try_remove_proxy(target);
        }
    }

    fn on_observe_closure(&mut self, target: PortName, last: u64) {
        let Some(p) = self.port_mut(target) else {
            return;
        };
        p.peer_closed = true;
        p.last_seq_to_receive = last;
        let mut fwd_last = last;
        let mut try_remove = false;
        let mut signal = false;
        match p.state {
            PortState::Receiving => {
                signal = true;
                fwd_last = p.next_seq_send.saturating_sub(1);
                p.last_seq_ack = fwd_last;
            }
            PortState::Buffering | PortState::Proxying => {
                p.remove_on_last = true;
                try_remove = p.state == PortState::Proxying;
            }
            PortState::Uninitialized => return,
        }
        if signal {
            self.status_changed(target);
        }
        let stamped = self.stamp(target, EventKind::ObserveClosure { last_seq: fwd_last });
        if try_remove {
            self.try_remove_proxy(target);
        }
        if let Some((to, ev)) = stamped {
            self.send(to, ev);
        }
    }

    fn on_merge_port(
        &mut self,
        from: NodeName,
        target: PortName,
        new_port: PortName,
        d: PortDescriptor,
    ) {
        if !new_port.is_valid() || self.port(new_port).is_some() {
            self.violation(from, Violation::PortExists(new_port));
            return;
        }
        if !Self::descriptor_ok(&d) || d.referring_node != from {
            self.violation(from, Violation::Malformed);
            return;
        }
        if self.ports.is_full() {
            self.violation(from, Violation::CapacityExceeded);
            return;
        }
        // Accept first so the other route's end is never stranded; on any
        // failure below only this new port is closed, never the target.
        self.accept_port(new_port, &d);
        let gate = self.port(target).map(|p| {
            p.pending_merge && (!p.pending_merge_node.is_valid() || p.pending_merge_node == from)
        });
        match gate {
            Some(true) => {
                if let Some(p) = self.port_mut(target) {
                    p.pending_merge = false;
                    p.pending_merge_node = NodeName::INVALID;
                }
                let _ = self.merge_internal(target, new_port);
            }
            Some(false) => {
                let _ = self.close_internal(new_port);
                self.violation(from, Violation::WrongSender(target));
            }
            None => {
                let _ = self.close_internal(new_port);
                self.stats.dropped_unknown = self.stats.dropped_unknown.saturating_add(1);
            }
        }
    }

    fn on_read_ack_request(&mut self, target: PortName, seq: u64) {
        let Some(p) = self.port_mut(target) else {
            return;
        };
        if p.state == PortState::Proxying {
            self.forward_ctl(target, EventKind::ReadAckRequest { seq });
            return;
        }
        let cur = p.queue_next_seq.saturating_sub(1);
        if cur >= seq {
            self.forward_ctl(target, EventKind::ReadAck { seq: cur });
        } else if p.seq_to_ack == 0 || seq < p.seq_to_ack {
            p.seq_to_ack = seq;
        }
    }

    fn on_read_ack(&mut self, target: PortName, seq: u64) {
        let Some(p) = self.port_mut(target) else {
            return;
        };
        if seq >= p.next_seq_send || seq <= p.last_seq_ack {
            self.stats.dropped_stale = self.stats.dropped_stale.saturating_add(1);
            return;
        }
        p.last_seq_ack = seq;
        let receiving = p.state == PortState::Receiving;
        if p.ack_interval > 0 && !p.peer_closed {
            let next = seq.saturating_add(p.ack_interval);
            self.forward_ctl(target, EventKind::ReadAckRequest { seq: next });
        }
        if receiving {
            self.status_changed(target);
        }
    }
}
