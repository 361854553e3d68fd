//! The UserMessage handler: queue, hold, or forward an arriving message.

use rand_core::{CryptoRng, RngCore};

use super::{Msg, Node};
use crate::ports::error::Violation;
use crate::ports::event::Payload;
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
    pub(super) fn on_user_message(&mut self, from: NodeName, target: PortName, m: Msg<P, A>) {
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
                self.release_if_ended(target);
            }
            PortState::Proxying => {
                self.forward_from_proxy(target);
                self.try_remove_proxy(target);
            }
            PortState::Buffering | PortState::Uninitialized => {}
        }
    }
}
