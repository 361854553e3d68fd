//! A proxy's life: PortAccepted starts proxying (flushing what was
//! buffered), ObserveProxy (or its direct form) re-points the upstream
//! receiving port, ObserveProxyAck fixes the last message to forward, and
//! the proxy removes itself once it has forwarded it.

use rand_core::{CryptoRng, RngCore};

use super::Node;
use crate::ports::error::Violation;
use crate::ports::event::{Event, EventKind, INVALID_SEQ, Payload};
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
    pub(super) fn forward_from_proxy(&mut self, name: PortName) {
        loop {
            let Some(k) = self.head(name) else { return };
            let (_, m) = self.msgs.swap_remove(k);
            if let Some(p) = self.port_mut(name) {
                p.queue_next_seq = p.queue_next_seq.saturating_add(1);
            }
            match self.prepare_to_forward(name, PortState::Proxying, true, m) {
                Ok((to, ev)) => {
                    if let Some((to, ev)) = self.gate(name, to, ev) {
                        self.send(to, ev);
                    }
                }
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
        let acked = p.last_seq_ack;
        if ack != 0 {
            self.forward_ctl(name, EventKind::ReadAckRequest { seq: ack });
        }
        if self.config.flow_control && acked > 0 {
            // The moved port does not know how much of what it sent was
            // read (its descriptor does not say): tell it what this port
            // knew.
            self.forward_ctl(name, EventKind::ReadAck { seq: acked });
        }
        if remove {
            self.try_remove_proxy(name);
        } else {
            self.initiate_proxy_removal(name);
        }
    }

    pub(super) fn initiate_proxy_removal(&mut self, name: PortName) {
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

    pub(super) fn try_remove_proxy(&mut self, name: PortName) {
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
        if p.prev_node.is_valid()
            && let Some((to, upp)) = self.gate(name, to, upp)
        {
            self.send(to, upp);
        }
        self.erase_port(name);
        if let Some((n, e)) = deferred {
            self.send(n, e);
        }
    }

    pub(super) fn on_port_accepted(&mut self, from: NodeName, target: PortName) {
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

    pub(super) fn on_observe_proxy(
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
        let me = self.name;
        let Some(p) = self.port_mut(target) else {
            return;
        };
        if (p.peer_node, p.peer_port) == proxy {
            if dest == (me, target) {
                // Re-pointed to itself: a port is never its own peer (it
                // would only ever send to itself). The request is forged
                // (the walk of an honest one ends at the proxy's target's
                // upstream port, never at the target).
                self.violation(from, Violation::Malformed);
                return;
            }
            if p.state == PortState::Receiving {
                // Whatever still waits for an earlier window goes to the
                // proxy first (it is counted in `last`).
                self.flush_waiting(target, proxy.0, proxy.1);
                let window = self.config.direct_bypass;
                let Some(p) = self.port_mut(target) else {
                    return;
                };
                let ctl = p.take_ctl();
                let last = p.next_seq_send.saturating_sub(1);
                p.set_peer(dest.0, dest.1);
                // A local new peer learns of this port only from the
                // proxy's final UpdatePreviousPeer.
                if dest.0 == me && proxy.0 != me {
                    p.announcer = proxy.0;
                }
                // The new peer holds what this port sends until the proxy's
                // UpdatePreviousPeer arrives: send within a window until it
                // confirms (Config::send_window).
                p.unconfirmed = window;
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
                self.node_in_use(dest.0);
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

    pub(super) fn on_observe_proxy_ack(&mut self, from: NodeName, target: PortName, last: u64) {
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
}
