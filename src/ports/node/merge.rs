//! Merging two routes into one: [`Node::allow_merge`], [`Node::merge_ports`]
//! (the MergePort event), [`Node::merge_local_ports`], and the MergePort
//! handler.

use heapless::Vec;
use rand_core::{CryptoRng, RngCore};

use super::Node;
use crate::ports::error::{Failure, MergeError, PortError, Violation};
use crate::ports::event::{Event, EventKind, INITIAL_SEQ, INVALID_SEQ, Payload, PortDescriptor};
use crate::ports::name::{NodeName, PortName};
use crate::ports::port::PortState;

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
        if let Some(n) = from {
            self.node_in_use(n);
        }
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
        // Each port takes the other's peer; one on this node learns of it
        // only from the other's UpdatePreviousPeer, which depends on the
        // node the other's own events there depended on.
        let announcer = |x| self.port(x).map_or(NodeName::INVALID, |p| p.announcer);
        let (ann_a, ann_b) = (announcer(a), announcer(b));
        let window = self.config.direct_bypass;
        for (x, (node, port), ann) in [(a, pb, ann_b), (b, pa, ann_a)] {
            if let Some(p) = self.port_mut(x) {
                p.set_peer(node, port);
                if node == me {
                    p.announcer = ann;
                }
                // The new peer holds what this proxy forwards until the
                // other proxy's UpdatePreviousPeer names this one: forward
                // within a send window until it confirms.
                p.unconfirmed = window;
                p.state = PortState::Proxying;
                if p.peer_closed {
                    p.remove_on_last = true;
                }
            }
            // A new dependency for this port (the other port's peer may be
            // on a node lost meanwhile: the driver answers with the loss).
            self.node_in_use(node);
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

    pub(super) fn on_merge_port(
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
        // The merged port's peer is never the new port itself, nor the
        // target's own peer: two routes never share a port, and a merge of
        // a route with itself would leave a port that only ever sends to
        // itself.
        let shares_peer = self
            .port(target)
            .is_some_and(|p| (p.peer_node, p.peer_port) == (d.peer_node, d.peer_port));
        if !Self::descriptor_ok(&d)
            || d.referring_node != from
            || (d.peer_node == self.name && d.peer_port == new_port)
            || shares_peer
        {
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
}
