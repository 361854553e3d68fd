//! The ObserveClosure handler: a route's end closed; the notice travels
//! around the route, ending proxies on the way.

use rand_core::{CryptoRng, RngCore};

use super::Node;
use crate::ports::event::{EventKind, Payload};
use crate::ports::name::PortName;
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
    pub(super) fn on_observe_closure(&mut self, target: PortName, last: u64) {
        // A port whose peer was lost already refuses anything past what it
        // holds, so a later closure (from a previous peer still alive) must
        // not promise more: a port sent on would wait forever for messages
        // this one has dropped.
        let have = self.received_through(target);
        let Some(p) = self.port_mut(target) else {
            return;
        };
        let last = if p.peer_lost { last.min(have) } else { last };
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
        self.release_if_ended(target);
    }
}
