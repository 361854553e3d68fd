//! The per-port user-message queue: finding the in-order head, whether a
//! port can still receive, and dropping a message (closing the ports it
//! carries).

use rand_core::{CryptoRng, RngCore};

use super::{Msg, Node};
use crate::ports::event::Payload;
use crate::ports::name::PortName;

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
    pub(super) fn msg_index(&self, port: PortName, seq: u64) -> Option<usize> {
        self.msgs
            .iter()
            .position(|(o, m)| *o == port && m.seq == seq)
    }

    /// Index of the next in-order message of `port`.
    pub(super) fn head(&self, port: PortName) -> Option<usize> {
        let next = self.port(port)?.queue_next_seq;
        self.msg_index(port, next)
    }

    pub(super) fn can_accept_more(&self, port: PortName) -> bool {
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

    pub(super) fn drop_message(&mut self, m: Msg<P, A>) {
        for (n, _) in &m.ports {
            if self.port(*n).is_some() && !self.to_close.iter().any(|c| c == n) {
                let _ = self.to_close.push_back(*n);
            }
        }
    }
}
