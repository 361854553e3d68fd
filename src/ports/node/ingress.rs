//! Events entering the node: [`Node::handle_event`], the sender check
//! (only the expected previous peer, in control-number order), the bounded
//! pool of events held out of order, dispatch to the per-event handlers,
//! and the bounded loop over self-addressed events.

use rand_core::{CryptoRng, RngCore};

use super::Node;
use crate::ports::error::{EventError, Violation};
use crate::ports::event::{Event, EventKind, INITIAL_SEQ, INVALID_SEQ, Payload};
use crate::ports::name::{NodeName, PortName};
use crate::ports::port::PortState;
use crate::time::Instant;

/// An event held until its turn (out of order, or from a previous peer not
/// yet confirmed).
pub(super) struct Held<P, const A: usize> {
    port: PortName,
    from: NodeName,
    event: Event<P, A>,
    /// When it was held (the latest time the node was given).
    since: Instant,
    /// The remote node it depends on: its sender, or for an event of a
    /// local port created from a descriptor, the node that sent that port
    /// (only that node's proxy can name it to its peer). Its loss releases
    /// the event.
    cause: NodeName,
}

impl<P, const A: usize> Held<P, A> {
    pub(super) fn view(&self) -> (PortName, NodeName, &Event<P, A>) {
        (self.port, self.from, &self.event)
    }

    pub(super) fn since(&self) -> Instant {
        self.since
    }

    pub(super) fn cause(&self) -> NodeName {
        self.cause
    }
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
    /// An event from remote node `from` (decoded by the driver; `from` is
    /// the node the transport authenticated, never this node). Broadcasts
    /// are delivered here too.
    ///
    /// # Errors
    /// [`EventError::Protocol`] naming the offending node if the event (or
    /// an event it released from the out-of-order buffer) broke the
    /// protocol; the offending event was dropped and no port it was not
    /// entitled to change was changed. [`EventError::FromSelf`] or
    /// [`EventError::InvalidSender`] if `from` is this node's own name or
    /// the invalid name: the event is dropped unread (self-addressed events
    /// never leave a node, so such input is a driver bug or a forgery).
    pub fn handle_event(&mut self, from: NodeName, event: Event<P, A>) -> Result<(), EventError> {
        if from == self.name {
            return Err(EventError::FromSelf);
        }
        if !from.is_valid() {
            return Err(EventError::InvalidSender);
        }
        self.error = None;
        self.stats.remote_events = self.stats.remote_events.saturating_add(1);
        self.accept(from, event, from);
        self.finish();
        match self.error.take() {
            Some(e) => Err(EventError::Protocol(e)),
            None => Ok(()),
        }
    }

    /// Processes pending closes and self-addressed events, boundedly.
    pub(super) fn finish(&mut self) {
        let mut steps = 0usize;
        loop {
            while let Some(n) = self.to_close.pop_front() {
                let _ = self.close_internal(n);
            }
            self.pump_waiting();
            if steps >= self.config.max_local_steps {
                break;
            }
            let Some((ev, cause)) = self.local.pop_front() else {
                break;
            };
            steps = steps.saturating_add(1);
            self.stats.local_events = self.stats.local_events.saturating_add(1);
            let me = self.name;
            self.accept(me, ev, cause);
        }
    }

    fn accept(&mut self, from: NodeName, ev: Event<P, A>, cause: NodeName) {
        if !ev.is_sender_verified() {
            self.dispatch(from, ev);
            return;
        }
        let target = ev.port;
        let Some(p) = self.port(target) else {
            if ev.control_seq == INITIAL_SEQ && ev.from_port.is_valid() {
                // The first event of an edge reached a port that is gone:
                // nothing from that sender will be held here, so release
                // any send window it opened towards this port.
                self.confirm(from, ev.from_port, target);
            }
            self.dispatch(from, ev);
            return;
        };
        if ev.control_seq == 0 || ev.control_seq == INVALID_SEQ || !ev.from_port.is_valid() {
            self.violation(from, Violation::Malformed);
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
        if self.route_ended(target) || self.ended_in_transit(target) {
            // Nothing this port can still use would come from anyone but
            // its previous peer (none, if a node loss tore its route
            // down): nothing is held for it any more.
            self.drop_unprocessed(from, ev);
            return;
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
            // Per port *and sending node*: the granularity of the sender's
            // window (`Config::send_window` counts one node's events towards
            // one port), so one node's events never make another's overflow.
            if h.port == target && h.from == from {
                per_port = per_port.saturating_add(1);
            }
            if h.from == from {
                per_node = per_node.saturating_add(1);
            }
        }
        // The per-port and per-node bounds keep one *peer* from taking more
        // than its share of the pool; this node's own events (a local sender
        // whose peer here still waits for a previous peer's last event) are
        // bounded by its own windows and by the pool. Refusing them would
        // drop an honest local message that `send_user_message` accepted.
        let remote = from != self.name;
        if remote && per_port >= self.config.max_held_per_port {
            self.violation(from, Violation::HeldPerPortExceeded(target));
            return;
        }
        if remote && per_node >= self.held_per_node() {
            self.violation(from, Violation::HeldPerNodeExceeded);
            return;
        }
        if self.held.is_full() && !self.evict_for(from, per_node) {
            self.violation(from, Violation::HeldPoolFull);
            return;
        }
        let since = self.now;
        if self
            .held
            .push(Held {
                port: target,
                from,
                event: ev,
                since,
                cause,
            })
            .is_err()
        {
            self.violation(from, Violation::HeldPoolFull);
            return;
        }
        self.stats.held_peak = self.stats.held_peak.max(self.held.len());
    }

    /// Drops a sender-verified event that will never be processed here
    /// (its port's route was torn down or has ended). Ports carried by a
    /// dropped message are accepted and closed so the proxies referring to
    /// them are released; the first event of an edge releases the sender's
    /// window (nothing of it will be held here).
    fn drop_unprocessed(&mut self, from: NodeName, ev: Event<P, A>) {
        self.stats.dropped_unknown = self.stats.dropped_unknown.saturating_add(1);
        if ev.control_seq == INITIAL_SEQ {
            self.confirm(from, ev.from_port, ev.port);
        }
        if let EventKind::UserMessage(m) = ev.kind
            && self.accept_carried(from, &m)
        {
            self.drop_message(m);
        }
    }

    /// Whether `port` is a receiving port whose route has ended: its peer
    /// is closed and every message up to the last one announced is here
    /// (queued or read). Its previous peer may still send (its final
    /// UpdatePreviousPeer, acknowledgements), but nothing from any other
    /// sender can matter to it any more: a sender named later could only
    /// add events past the end. Such events are not held (and those held
    /// are dropped when the route ends), so a previous peer that went away
    /// without naming its successor (its own previous peer was announced
    /// by a lost node) cannot leave them held for ever.
    pub(super) fn route_ended(&self, port: PortName) -> bool {
        self.port(port).is_some_and(|p| {
            p.state == PortState::Receiving
                && p.peer_closed
                && self.received_through(port) >= p.last_seq_to_receive
        })
    }

    /// Whether `port` is being sent (buffering) although its route has
    /// ended: the new port will get what it holds and nothing past it, and
    /// this port goes once the new one is accepted (dropping what is held
    /// for it). Events of other senders can never be used; holding them
    /// until then would blame an honest sender (the peer that keeps sending
    /// until it hears of the end) for the hold bound.
    pub(super) fn ended_in_transit(&self, port: PortName) -> bool {
        self.port(port).is_some_and(|p| {
            p.state == PortState::Buffering
                && p.peer_closed
                && self.received_through(port) >= p.last_seq_to_receive
        })
    }

    /// Drops what is held for `port` if its route has ended.
    pub(super) fn release_if_ended(&mut self, port: PortName) {
        if self.route_ended(port) {
            self.discard_held(port);
        }
    }

    /// The per-node hold bound in force: `max_held_per_node`, but never
    /// more than half the pool, so no single node can take all of it.
    pub(super) fn held_per_node(&self) -> usize {
        self.config.max_held_per_node.min(HELD / 2).max(1)
    }

    /// The pool is full and `from` (holding `has` events) needs a slot:
    /// the remote node holding the most events gives up its latest one if
    /// it holds more than `from` would after this event, and is reported
    /// ([`Violation::HeldPoolFull`] naming it). So a node holding few events
    /// (an honest one in a transfer) always finds room while others hold
    /// more, and the one reported is never the one with the least. Returns
    /// whether a slot was freed.
    fn evict_for(&mut self, from: NodeName, has: usize) -> bool {
        let me = self.name;
        let mut top: Option<(NodeName, usize)> = None;
        for h in &self.held {
            if h.from == me || h.from == from {
                continue;
            }
            let n = self.held.iter().filter(|o| o.from == h.from).count();
            if top.is_none_or(|(_, m)| n > m) {
                top = Some((h.from, n));
            }
        }
        let Some((victim, n)) = top else {
            return false;
        };
        if n <= has.saturating_add(1) {
            return false;
        }
        let Some(k) = self.held.iter().rposition(|h| h.from == victim) else {
            return false;
        };
        self.drop_held_at(k);
        self.stats.held_evicted = self.stats.held_evicted.saturating_add(1);
        self.violation(victim, Violation::HeldPoolFull);
        true
    }

    /// Drops every held event matching `f` that was held at or before
    /// `until` (expiry), or any time (`None`), like [`Self::discard_held`]
    /// does for one port; `sender_alive: false` when the senders are lost
    /// (nothing is sent back to them, their carried ports are not
    /// accepted: the proxies they refer to died with them). Returns how
    /// many.
    pub(super) fn drop_held(
        &mut self,
        f: impl Fn(&Held<P, A>) -> bool,
        until: Option<Instant>,
        sender_alive: bool,
    ) -> usize {
        let mut n = 0usize;
        while let Some(k) = self
            .held
            .iter()
            .position(|h| f(h) && until.is_none_or(|t| h.since <= t))
        {
            if sender_alive {
                self.drop_held_at(k);
            } else {
                self.held.remove(k);
                self.stats.dropped_unknown = self.stats.dropped_unknown.saturating_add(1);
            }
            n = n.saturating_add(1);
        }
        n
    }

    /// Drops the held event at `k`. A held user message is discarded like a
    /// message to a closed port: its carried ports are accepted and closed,
    /// so the proxies that refer to them are released. Its sender may be
    /// waiting for a confirmation that the event's target can no longer
    /// give (its events are not processed): release it, once per edge.
    fn drop_held_at(&mut self, k: usize) {
        if k >= self.held.len() {
            return;
        }
        let h = self.held.remove(k);
        let (port, hf, hp) = (h.port, h.from, h.event.from_port);
        if !self
            .held
            .iter()
            .any(|o| o.port == port && o.from == hf && o.event.from_port == hp)
        {
            self.confirm(hf, hp, port);
        }
        if let EventKind::UserMessage(m) = h.event.kind
            && self.accept_carried(h.from, &m)
        {
            self.drop_message(m);
        }
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
            let h = self.held.remove(k);
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
            EventKind::PeerConfirmed => self.on_peer_confirmed(from, target, ev.from_port),
            EventKind::PortArrived => self.on_port_arrived(from, target, ev.from_port),
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
                // A port is never its own previous peer.
                if !node.is_valid() || !port.is_valid() || (node, port) == (self.name, target) {
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
                    // The new previous peer's events are no longer held
                    // here: end its send window now (it may have nothing to
                    // send). A port still being moved may not exist yet, and
                    // then loses this; it announces itself (PortArrived)
                    // once it exists, and is confirmed again then.
                    self.confirm(node, port, target);
                    if awaiting && self.config.direct_bypass {
                        // The old prev was bypassed or moved: ask the new one.
                        self.initiate_proxy_removal(target);
                    }
                    // News naming a node: the embedder answers with a loss
                    // if that node is gone (nothing is remembered here).
                    self.node_in_use(node);
                }
            }
        }
    }

    /// PortArrived from `(from, from_port)`: a port just created there from
    /// a descriptor, whose peer is `target`. If it is `target`'s previous
    /// peer, what `target` sent it before it existed was lost: its
    /// PeerConfirmed, and a proxy's bypass request (a moved port's
    /// UpdatePreviousPeer reaches its peer before the message that creates
    /// the port reaches its new node, so both can arrive too early and be
    /// dropped as addressed to an unknown port). Send them again. Anything
    /// else (stale, not the previous peer) changes nothing.
    fn on_port_arrived(&mut self, from: NodeName, target: PortName, from_port: PortName) {
        let Some(p) = self.port_mut(target) else {
            self.stats.dropped_stale = self.stats.dropped_stale.saturating_add(1);
            return;
        };
        if p.prev_node != from || p.prev_port != from_port {
            self.stats.dropped_stale = self.stats.dropped_stale.saturating_add(1);
            return;
        }
        let awaiting = p.state == PortState::Proxying && !p.remove_on_last;
        self.confirm(from, from_port, target);
        if awaiting {
            self.initiate_proxy_removal(target);
        }
    }

    /// Sends PeerConfirmed from `me_port` to `(node, port)` (hyperport
    /// extension: only with [`crate::ports::Config::direct_bypass`]).
    pub(super) fn confirm(&mut self, node: NodeName, port: PortName, me_port: PortName) {
        if !self.config.direct_bypass || !node.is_valid() || !port.is_valid() {
            return;
        }
        self.send(
            node,
            Event {
                port,
                from_port: me_port,
                control_seq: INVALID_SEQ,
                kind: EventKind::PeerConfirmed,
            },
        );
    }

    /// Drops every event held for `name` (see [`Self::drop_held_at`]).
    pub(super) fn discard_held(&mut self, name: PortName) {
        self.drop_held(|h| h.port == name, None, true);
    }
}
