//! Moving ports between nodes: PrepareToForward (sequence numbers, checks
//! on attached ports), ConvertToProxy on the sending side, and AcceptPort
//! (with descriptor validation) on the receiving side.

use rand_core::{CryptoRng, RngCore};

use super::{Msg, Node};
use crate::ports::error::{Failure, Violation};
use crate::ports::event::{Event, EventKind, INITIAL_SEQ, INVALID_SEQ, Payload, PortDescriptor};
use crate::ports::name::{NodeName, PortName};
use crate::ports::port::{Port, PortState};

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
    /// Assigns a sequence number, validates and (across nodes) converts the
    /// attached ports, and stamps the message as an event from `fwd`.
    #[allow(clippy::type_complexity)]
    pub(super) fn prepare_to_forward(
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
    pub(super) fn convert_to_proxy(
        &mut self,
        name: PortName,
        to: NodeName,
    ) -> (PortName, PortDescriptor) {
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
        // The UpdatePreviousPeer is the old edge's last event: it goes
        // through that edge's window (behind anything waiting for the old
        // peer's confirmation, and counted if the edge is unconfirmed, since
        // the old peer may still hold a full window of ours).
        let upp = self.gate(name, old_peer.0, upp);
        let Some(p) = self.port_mut(name) else {
            return (new, desc);
        };
        p.set_peer(to, new);
        // The new port's previous peer is this proxy: no window towards it.
        // (What the old edge has in flight stays counted in its window
        // until the old peer confirms it.)
        p.unconfirmed = false;
        if let Some((t, e)) = upp {
            self.send(t, e);
        }
        if old_peer.0 == me {
            self.status_changed(old_peer.1);
        }
        (new, desc)
    }

    pub(super) fn accept_port(&mut self, name: PortName, d: &PortDescriptor) {
        let mut p = Port::new(name);
        p.state = PortState::Receiving;
        p.set_peer(d.peer_node, d.peer_port);
        p.prev_node = d.referring_node;
        p.prev_port = d.referring_port;
        if d.peer_node == self.name {
            p.announcer = d.referring_node;
        }
        p.next_seq_send = d.next_seq_to_send;
        p.last_seq_ack = d.next_seq_to_send.saturating_sub(1);
        if self.config.flow_control {
            // The descriptor does not say how much of what this end sent is
            // still unread: assume up to a full window, until the proxy it
            // replaces passes on what it knew (a ReadAck when it starts
            // proxying) or the conjugate answers a request.
            let unknown = p
                .last_seq_ack
                .min(u64::try_from(self.config.max_queued_per_port).unwrap_or(u64::MAX));
            p.last_seq_ack = p.last_seq_ack.saturating_sub(unknown);
        }
        p.queue_next_seq = d.next_seq_to_receive;
        p.last_seq_to_receive = d.last_seq_to_receive;
        p.peer_closed = d.peer_closed;
        p.signalable = false;
        // A moved port's peer holds what it sends until the proxy it
        // replaces names it (UpdatePreviousPeer): the same window as after
        // a bypass, ended by the peer's PeerConfirmed once it processes
        // this port's first event.
        p.unconfirmed = self.config.direct_bypass;
        if self.ports.push(p).is_err() {
            self.stats.dropped_outputs = self.stats.dropped_outputs.saturating_add(1);
            return;
        }
        // The referring node is the sender (checked by the callers); the
        // peer's node is news: the embedder answers with a loss if it is gone.
        self.node_in_use(d.peer_node);
        self.send(
            d.referring_node,
            Event {
                port: d.referring_port,
                from_port: PortName::INVALID,
                control_seq: INVALID_SEQ,
                kind: EventKind::PortAccepted,
            },
        );
        if self.config.direct_bypass {
            // The peer may already have sent this port, before it existed
            // here, a confirmation or a bypass request that was dropped
            // (the UpdatePreviousPeer naming it travels ahead of the
            // message that creates it): tell the peer it exists now.
            self.send(
                d.peer_node,
                Event {
                    port: d.peer_port,
                    from_port: name,
                    control_seq: INVALID_SEQ,
                    kind: EventKind::PortArrived,
                },
            );
        }
    }

    pub(super) fn descriptor_ok(d: &PortDescriptor) -> bool {
        d.peer_node.is_valid()
            && d.peer_port.is_valid()
            && d.referring_node.is_valid()
            && d.referring_port.is_valid()
            && d.next_seq_to_send >= INITIAL_SEQ
            && d.next_seq_to_receive >= INITIAL_SEQ
            && d.next_seq_to_send != INVALID_SEQ
            && d.next_seq_to_receive != INVALID_SEQ
    }

    /// Creates the ports a message from another node carries (sending
    /// PortAccepted to each referrer). Validates everything first; on a bad
    /// name or descriptor nothing is created and `false` is returned.
    pub(super) fn accept_carried(&mut self, from: NodeName, m: &Msg<P, A>) -> bool {
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
            // Nor may a port be its own peer (a route of one port, whose
            // events could only ever wait for themselves).
            if !Self::descriptor_ok(d)
                || d.referring_node != from
                || (d.peer_node == self.name && d.peer_port == *n)
            {
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
}
