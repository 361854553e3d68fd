//! Node loss: [`Node::lost_connection_to_node`], the memory of lost nodes,
//! and tearing down ports whose peer or previous peer is gone (including
//! dead proxies announced by broadcast).

use heapless::{Deque, Vec};
use rand_core::{CryptoRng, RngCore};

use super::Node;
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
> Node<P, R, PORTS, MSGS, A, HELD, OUT>
where
    P: Payload,
    R: RngCore + CryptoRng,
{
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
        // Events waiting for a send window towards the lost node die with
        // it, like those already in flight.
        self.drop_waiting(|w| w.1 == node);
        for p in self.ports.iter_mut().filter(|p| p.peer_node == node) {
            p.unconfirmed = false;
            p.window_used = 0;
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

    pub(super) fn is_lost(&self, node: NodeName) -> bool {
        self.lost.iter().any(|n| *n == node)
    }

    /// The previous peer of `name` is on a lost node: nothing more will come
    /// through it. Acts as if the previous peer had sent ObserveClosure for
    /// everything received so far, and forgets the previous peer.
    pub(super) fn prev_lost(&mut self, name: PortName) {
        let Some(p) = self.port(name) else { return };
        let was_proxy = matches!(p.state, PortState::Proxying | PortState::Buffering);
        let last = self.received_through(name);
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

    /// The last user sequence number `name` holds with no gap before it:
    /// what it has delivered or queued. Once a route is broken by a node
    /// loss, this is all the port can still hand on.
    pub(super) fn received_through(&self, name: PortName) -> u64 {
        let Some(p) = self.port(name) else { return 0 };
        let mut last = p.queue_next_seq.saturating_sub(1);
        while self.msg_index(name, last.saturating_add(1)).is_some() {
            last = last.saturating_add(1);
        }
        last
    }

    /// The peer of `name` is on a lost node.
    pub(super) fn peer_lost(&mut self, name: PortName) {
        let Some(p) = self.port(name) else { return };
        let (node, port) = (p.peer_node, p.peer_port);
        self.destroy_all_ports_with_peer(node, Some(port));
    }

    pub(super) fn destroy_all_ports_with_peer(&mut self, node: NodeName, port: Option<PortName>) {
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
                // Nothing more comes from a lost peer: the port's last
                // message is the last it holds (as Mojo does). A closure that
                // announced more keeps its number: that many can still come
                // through the previous peer, which is alive.
                let have = self.received_through(name);
                let Some(p) = self.port_mut(name) else {
                    continue;
                };
                if !p.peer_closed {
                    p.peer_closed = true;
                    p.peer_lost = true;
                    p.last_seq_to_receive = have;
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
}
