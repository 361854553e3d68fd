//! Node incarnations and loss: [`Node::admit_node`],
//! [`Node::lost_connection_to_node`], and tearing down ports whose peer or previous peer is gone (including
//! dead proxies announced by broadcast).

use heapless::{Deque, Vec};
use rand_core::{CryptoRng, RngCore};

use super::Node;
use crate::ports::error::{Failure, NodeError};
use crate::ports::event::Payload;
use crate::ports::name::{Incarnation, NodeName, PortName};
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
    /// Admits incarnation `incarnation` of remote node `node`: the node
    /// (re)appeared, for instance a peer that reconnected under the same
    /// name. Admitting is optional (a node never admitted is usable, its
    /// incarnation unknown); what it adds is that a *later* incarnation
    /// ends the earlier one, and that a late loss report for an earlier
    /// incarnation is refused instead of ending the routes of this one.
    ///
    /// * `node` not admitted: it is admitted; ports that already refer to
    ///   it are kept (they were made for this incarnation).
    /// * admitted with an earlier incarnation: that incarnation is lost
    ///   first (exactly as [`Node::lost_connection_to_node`]: every route
    ///   through it ends), then this one is admitted. Nothing made for the
    ///   earlier life can reach the new one.
    /// * admitted with the same incarnation: nothing changes.
    ///
    /// Admit a new incarnation before handing this node anything from it
    /// or creating routes to it.
    ///
    /// # Errors
    /// [`NodeError::Stale`] if a later incarnation is admitted;
    /// [`NodeError::CapacityExceeded`] if the table of admitted nodes
    /// (`NODES`) is full; [`NodeError::OwnName`], [`NodeError::InvalidName`].
    /// Nothing changed.
    pub fn admit_node(
        &mut self,
        node: NodeName,
        incarnation: Incarnation,
    ) -> Result<(), NodeError> {
        self.check_remote(node)?;
        match self.admitted.iter_mut().find(|(n, _)| *n == node) {
            Some((_, cur)) if *cur > incarnation => return Err(Failure::Stale.into()),
            Some((_, cur)) if *cur == incarnation => return Ok(()),
            Some((_, cur)) => {
                *cur = incarnation;
                self.lose(node);
                self.finish();
                self.release_caused_by(node);
            }
            None => {
                self.admitted
                    .push((node, incarnation))
                    .map_err(|_| NodeError::CapacityExceeded)?;
            }
        }
        self.finish();
        Ok(())
    }

    /// The incarnation of `node` admitted by [`Node::admit_node`], if any.
    pub fn node_incarnation(&self, node: NodeName) -> Option<Incarnation> {
        self.admitted
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, i)| *i)
    }

    /// Incarnation `incarnation` of remote node `node` is gone (its
    /// transport died, or it is not reachable): ports whose peer or
    /// previous peer was there see their peer closed; proxies toward it die
    /// and are announced by broadcast; events held from it, or waiting to
    /// be sent to it, are dropped. If `node` was admitted (with this or an
    /// earlier incarnation) it is no longer.
    ///
    /// Nothing is remembered about lost nodes: a later route to a node of
    /// the same name works (it is a new incarnation, which
    /// [`Node::admit_node`] can make explicit). News from other nodes that
    /// names a node (a port's new peer or previous peer) produces
    /// [`PortEvent::NodeInUse`](super::PortEvent::NodeInUse); answer it with
    /// this call while the node is gone. That keeps the memory of lost
    /// nodes in one place, the embedder's own table of peers, and makes the
    /// answer the same whether a node was lost a second or a year ago.
    /// Calling this again for a node already lost is harmless.
    ///
    /// # Errors
    /// [`NodeError::Stale`] if a later incarnation of `node` is admitted
    /// (a late report: nothing changed, the routes through the current
    /// incarnation stay); [`NodeError::OwnName`], [`NodeError::InvalidName`].
    pub fn lost_connection_to_node(
        &mut self,
        node: NodeName,
        incarnation: Incarnation,
    ) -> Result<(), NodeError> {
        self.check_remote(node)?;
        if let Some(k) = self.admitted.iter().position(|(n, _)| *n == node) {
            if self.admitted.get(k).is_some_and(|(_, i)| *i > incarnation) {
                return Err(Failure::Stale.into());
            }
            self.admitted.swap_remove(k);
        }
        self.lose(node);
        self.finish();
        self.release_caused_by(node);
        self.finish();
        Ok(())
    }

    /// Drops events of local ports held at a local peer that only `node`
    /// could name them to (see `Port::announcer`), once `node` is lost.
    /// Run after the loss's own self-addressed events were processed: a
    /// port torn down by the loss may just have sent its ObserveClosure
    /// there.
    ///
    /// The send windows of those ports towards their local peers end too:
    /// only `node`'s UpdatePreviousPeer would have named them there, so
    /// nothing will confirm them, and what waits on them (an ObserveClosure
    /// of a port whose previous peer was on `node`, say) would wait for
    /// ever (found by the `ports_hostile` fuzz target). It is dropped like
    /// the events of those edges already held, and the windows are freed.
    /// Waiting events and windows record the node they depend on when they
    /// begin (`cause_of`), as their port may have moved on or be gone by
    /// now (found by the same target, corpus
    /// `regress-waiting-after-announcer-loss` and
    /// `regress-waiting-cause-of-a-closed-port`).
    fn release_caused_by(&mut self, node: NodeName) {
        let me = self.name;
        self.drop_held(|h| h.view().1 == me && h.cause() == node, None, true);
        self.drop_waiting(|w| w.1 == me && w.3 == node);
        for p in self.ports.iter_mut() {
            if p.peer_node == me && p.announcer == node {
                p.unconfirmed = false;
            }
        }
        let before = self.windows.len();
        self.windows.retain(|w| !(w.to == me && w.cause == node));
        if self.windows.len() != before {
            self.window_freed = true;
        }
        self.end_routes_to_missing_local_peers(node);
    }

    /// Ends the routes of ports whose peer is a port of this node that does
    /// not exist, when only the lost `node` could have made that peer take
    /// their events (`Port::announcer`): their peer is treated as lost, as
    /// if it were on `node` (a proxy dies and is announced, a receiving
    /// port sees its peer closed).
    ///
    /// Why this is safe. A local peer that does not exist may still come:
    /// a moved port whose creating message is in flight (`PortArrived`),
    /// so "missing" alone ends nothing. But a port `x` whose peer `m` is
    /// here and whose announcer is `node` has its events taken by `m` only
    /// once `m`'s previous peer becomes `x`, and only an UpdatePreviousPeer
    /// that `node` sends (or that a chain started by `node` sends: a
    /// merge's, see `merge_internal`) names `x` there. With `node` lost
    /// that never happens: if `m` is created later, it is created with its
    /// descriptor's referring port as previous peer, and every
    /// announcement that could lead from there to `x` passes through
    /// `node`; the events that were to do it are dropped now
    /// (`drop_held`, `drop_waiting` above). So `x` can never deliver
    /// anything again: its route is broken by this loss, exactly like a
    /// route through `node`. A peer that exists is left alone: it may
    /// have heard from `x` already (the announcer is kept after that), and
    /// if not, its own previous peer's loss (`prev_lost`) ends the route
    /// from its side. (The one honest case this ends early: `m` heard from
    /// a proxy `x` and was closed since, and `node` is lost while `x` waits
    /// for its own removal; `x` forwards into nothing either way, but the
    /// ports still sending to it now see a lost peer rather than waiting
    /// for `m`'s closure.)
    ///
    /// Found by the `ports_hostile` fuzz target (FUZZING.md finding 7,
    /// corpus `regress-proxy-to-a-missing-local-port`): a hostile MergePort
    /// naming a port of this node that never exists as the new port's peer
    /// left the merged proxy pointing at it after every loss.
    fn end_routes_to_missing_local_peers(&mut self, node: NodeName) {
        let me = self.name;
        let mut hit: Vec<PortName, PORTS> = Vec::new();
        for p in &self.ports {
            if p.peer_node == me
                && p.announcer == node
                && p.state != PortState::Uninitialized
                && self.port(p.peer_port).is_none()
            {
                let _ = hit.push(p.name);
            }
        }
        if !hit.is_empty() {
            self.destroy_ports(hit);
        }
    }

    fn check_remote(&self, node: NodeName) -> Result<(), NodeError> {
        if node == self.name {
            return Err(Failure::OwnName.into());
        }
        if !node.is_valid() {
            return Err(Failure::InvalidName.into());
        }
        Ok(())
    }

    /// Ends everything that depends on `node` (one incarnation of it).
    fn lose(&mut self, node: NodeName) {
        // Events held from the lost node will never be released by it
        // (what they wait for would come from it or after it): drop them.
        self.drop_held(|h| h.view().1 == node, None, false);
        // So will events of local ports that only that node could name
        // to their local peers (`release_caused_by`, once the loss's own
        // local events have been processed).
        // Events waiting for a send window towards the lost node die with
        // it, like those already in flight.
        self.drop_waiting(|w| w.1 == node);
        // Nothing will be confirmed by the lost node: its windows are free.
        let before = self.windows.len();
        self.windows.retain(|w| w.to != node);
        if self.windows.len() != before {
            self.window_freed = true;
        }
        for p in self.ports.iter_mut().filter(|p| p.peer_node == node) {
            p.unconfirmed = false;
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

    pub(super) fn destroy_all_ports_with_peer(&mut self, node: NodeName, port: Option<PortName>) {
        let mut hit: Vec<PortName, PORTS> = Vec::new();
        for p in &self.ports {
            if p.peer_node == node && port.is_none_or(|x| x == p.peer_port) {
                let _ = hit.push(p.name);
            }
        }
        self.destroy_ports(hit);
    }

    /// Ends the routes of the ports `hit`, whose peer is gone: each sees
    /// its peer closed (lost); a proxy dies and is announced, and the
    /// ports of this node whose peer it was follow, boundedly (each port
    /// is erased at most once, so at most `PORTS` rounds).
    fn destroy_ports(&mut self, mut hit: Vec<PortName, PORTS>) {
        let me = self.name;
        let mut work: Deque<PortName, PORTS> = Deque::new();
        loop {
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
                    PortState::Receiving => {
                        self.status_changed(name);
                        self.release_if_ended(name);
                    }
                    PortState::Buffering | PortState::Proxying => {
                        self.erase_port(name);
                        self.broadcast_dead(name);
                        if work.push_back(name).is_err() {
                            self.stats.dropped_outputs =
                                self.stats.dropped_outputs.saturating_add(1);
                        }
                    }
                    PortState::Uninitialized => {}
                }
            }
            let Some(gone) = work.pop_front() else {
                return;
            };
            hit = Vec::new();
            for p in &self.ports {
                if p.peer_node == me && p.peer_port == gone {
                    let _ = hit.push(p.name);
                }
            }
        }
    }
}
