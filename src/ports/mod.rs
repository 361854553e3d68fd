//! Mojo-style ports: message pipes whose ends can travel between nodes.
//!
//! A *route* is a cycle of ports; its two user-visible ends are *receiving*
//! ports, everything between them is a *proxy* that exists only until it is
//! bypassed. A port sent inside a message to another node leaves a proxy
//! behind; the proxy asks to be bypassed (ObserveProxy), the upstream
//! receiving port re-points and acknowledges (ObserveProxyAck), and the proxy
//! disappears once it has forwarded every message up to the acknowledged
//! sequence number (ending its edge with UpdatePreviousPeer).
//!
//! This module implements the *latest* Chromium ports protocol (previous-peer
//! checks and per-edge control sequence numbers) as a sans-IO [`Node`]:
//! commands are method calls, events from other nodes enter through
//! [`Node::handle_event`], and outputs are drained from
//! [`Node::poll_transmit`], [`Node::poll_broadcast`] and [`Node::poll_event`].
//! The wire codec is in [`event`] (byte tables in its docs).
//!
//! # Hardening beyond the reference
//!
//! * Out-of-order sender-verified events are held in a bounded pool, capped
//!   per port and per sending node ([`Config`]); overflow is a
//!   [`ProtocolError`] naming the node. Stale (already processed control
//!   number) and duplicate events are dropped and counted ([`Stats`]).
//! * The held pool drains (issue #16 item 6): events held from a node are
//!   dropped when it is lost, and so are events of a local port held at a
//!   local peer that only that node could name it to (a port it sent here
//!   whose peer is local, or a port re-pointed past its proxy to a local
//!   port); every held event has an age bound
//!   ([`Config::max_held_age`], 60 s, driven by [`Node::handle_timeout`] /
//!   [`Node::poll_timeout`]); no node may take more than half of the pool
//!   (the per-node bound in force is `min(max_held_per_node, HELD / 2)`);
//!   and when the pool is full, the node holding the most gives up its
//!   latest held event for a node holding fewer, and is the one reported
//!   ([`Violation::HeldPoolFull`], [`Stats::held_evicted`]): a node with few
//!   events held (an honest transfer) always finds room while another holds
//!   more. Before, two nodes could fill the pool for good and the next
//!   honest node was reported. Events are held only for a port whose route
//!   can still use them: once a receiving port's peer is closed and every
//!   message up to the last one is there, events from anyone but its
//!   previous peer are dropped, not held (issue #16 item 5: a previous peer
//!   torn down after its announcer's loss named no successor, and the
//!   successor's events stayed held).
//! * Events from anyone but the port's expected previous peer are never
//!   processed (held, bounded, and discarded with the port).
//! * PortAccepted is accepted only from the node the port was sent to and
//!   only while buffering; ObserveProxyAck only on a proxy; anything else is
//!   a typed violation, never a panic.
//! * An unexpected MergePort never closes the named target port: the port
//!   it carries is accepted (so its old route is not stranded) and closed.
//! * A carried or merged port's descriptor must name a referring port on
//!   the sending node, so no node can make this one send PortAccepted to a
//!   third party or to itself (found by the `ports_hostile` fuzz target).
//! * A dropped user message (unknown target, torn-down route, held event
//!   discarded with its port) still accepts and closes the ports it carries,
//!   so the proxies that refer to them are released.
//! * Node loss also tears down ports whose *previous* peer was on the lost
//!   node (Chromium only looks at peers), so no port waits forever for
//!   events only a dead node could send.
//! * Remote input never names this node as its sender:
//!   [`Node::handle_event`] refuses `from` equal to the node's own name (or
//!   the invalid name) with [`EventError::FromSelf`] /
//!   [`EventError::InvalidSender`], before anything is read. (Such input
//!   used to be processed as a self-addressed event: past every per-peer
//!   bound, with its violations swallowed.)
//! * No event can make a port its own peer or its own previous peer, or
//!   merge a route with itself (a MergePort whose port would share the
//!   target's peer): such a port would only ever send to itself and its
//!   events would wait for ever (found by the `ports_hostile` fuzz target).
//! * Dead proxies are erased at once (no lingering closed proxies to leak).
//!
//! # Proxy-chain collapse: linear instead of quadratic
//!
//! In Chromium a proxy asks to be bypassed by sending ObserveProxy to its
//! peer; the event walks the route until it reaches the port whose peer is
//! the proxy. If that port is itself a proxy it answers "retry later" once it
//! is gone, and the request walks the route again. A chain of N proxies
//! therefore costs about 1.5·N² events (measured by `tests/ports_collapse.rs`:
//! 6430 events for N = 64).
//!
//! The port the request is looking for is exactly the proxy's *previous
//! peer*, which the latest protocol already tracks. With
//! [`Config::direct_bypass`] (the default) a proxy sends
//! [`EventKind::ObserveProxyDirect`] (type 9) straight to it, and sends it
//! again whenever an UpdatePreviousPeer changes its previous peer. The
//! receiver acts only if the sender is its current peer (the mirror image of
//! the previous-peer check: the transport authenticates the node, the node
//! knows its peer), and only if it is a receiving port; then it does what
//! Chromium does for a matching ObserveProxy (re-point, ObserveProxyAck on
//! the old edge, which is sender-verified and control-ordered as before). A
//! previous peer that is itself a proxy ignores the request: when it goes
//! away its final UpdatePreviousPeer names the asker's new previous peer,
//! which triggers the re-send, so no "retry later" state is needed. A stale
//! request (the previous peer already moved, merged or closed) is dropped;
//! every such change also ends with an UpdatePreviousPeer to the asker.
//! User-message ordering is unchanged: the ObserveProxyAck still carries the
//! last sequence number sent to the proxy, and the proxy still leaves only
//! after forwarding up to it. The cost is 5N − 1 events for N proxies
//! (4N − 1 plus one [`EventKind::PeerConfirmed`] per proxy, see below).
//! Chromium nodes drop type 9 as unknown, so a network with any Chromium
//! node must turn the option off (its proxies would otherwise never leave).

//!
//! # Send window across a peer change (issue #4, issue #16)
//!
//! When a port's peer changes (a receiving port re-pointed past a proxy,
//! a port moved to another node, or a proxy created by a merge), the new
//! peer holds whatever the port sends until the old path's last event,
//! UpdatePreviousPeer, names the port as its previous peer. Holding is
//! bounded ([`Config::max_held_per_port`] per port and sending node,
//! [`Config::max_held_per_node`]) so a hostile peer cannot grow memory, and
//! past the bound events are dropped and reported; an honest sender with a
//! burst in flight would trip it. So, with [`Config::direct_bypass`] (the
//! default), the new *edge* (sending port → receiving port) is
//! *unconfirmed*, and this node sends on it within windows:
//!
//! * at most [`Config::send_window`] sender-verified events (default 16,
//!   the default hold bound) in flight towards one receiving port, summed
//!   over every unconfirmed edge of this node towards it (successive
//!   previous peers of one port may live on one node), and at most
//!   `max_held_per_node` towards one node;
//! * window use belongs to the edge, not to the port: it is kept in a table
//!   of `PORTS` entries until the receiver confirms that edge, whatever
//!   became of the sending port meanwhile (moved on, bypassed, closed). A
//!   port that bounces between two nodes over a slow link therefore never
//!   gets a fresh window while its earlier ports' events are still held
//!   (issue #16 item 4: each new port started with a fresh window and the
//!   honest node was reported for `HeldPerPortExceeded`).
//!
//! Every later event of that edge (user messages *and* control events such
//! as ObserveClosure, ReadAck or UpdatePreviousPeer, since they share the
//! edge's control numbering and the receiver processes them in order)
//! waits in the sender node, behind earlier events *of the same edge* only
//! (an old edge's waiting UpdatePreviousPeer never holds up a new edge to
//! another port on the same node: issue #16 items 2 and 3), at most
//! [`Config::max_queued_per_port`] per port and `MSGS` in all; past that
//! [`Node::send_user_message`] returns [`SendError::WouldBlock`] and changes
//! nothing. Events that are not sender-verified (ObserveProxyAck to the old
//! proxy, ObserveProxyDirect, PortAccepted, MergePort, PeerConfirmed,
//! PortArrived) never wait.
//!
//! The receiver ends the window with [`EventKind::PeerConfirmed`] (type
//! 10), sent to the new previous peer named by an UpdatePreviousPeer: when
//! it processes that UpdatePreviousPeer (the new previous peer may have
//! nothing to send, and must not wait for a confirmation its own events
//! would trigger), again when a port created from a descriptor announces
//! itself with [`EventKind::PortArrived`] (type 11), and again when it
//! processes that peer's first event. A moved port may not exist yet when
//! the UpdatePreviousPeer naming it is processed (that event travels ahead
//! of the message that creates the port), and then the first confirmation
//! — and a proxy's bypass request to it — is dropped as addressed to an
//! unknown port; PortArrived makes the peer repeat both (issue #16 item 1:
//! such a proxy stayed forever). On a confirmation the sender releases the
//! edge's window, flushes what waits on that edge, in order, and the port
//! leaves the unconfirmed state if it is its current edge. Whenever a
//! window is released (a confirmation, a lost node), the first waiting
//! event of every edge is re-offered to the windows, so an event that
//! waits only because other edges used the shared budget always leaves,
//! also if its port has gone since. A confirmation that matches nothing
//! (stale, from a node that is not the peer, or one of the many honest
//! confirmations of an UpdatePreviousPeer that opened no window) changes
//! nothing and is counted in [`Stats::dropped_confirmations`]; it is not a
//! [`ProtocolError`], because honest ones are common. A forged one can only
//! make its sender's own port hold more (then that port reports it).
//! Waiting never lasts forever: a receiving port that goes away confirms to
//! every sender whose events it discards from its hold, a port that no
//! longer exists answers the first event of an edge (control number 1)
//! with a confirmation, and a lost node's windows and waiting events are
//! dropped with it (its carried ports closed). Events that wait keep their
//! control numbers, so nothing is ever dropped from the middle of an edge.
//!
//! Worst case per node: `MSGS` waiting events (a second pool of
//! `MSGS·size_of(Event)` bytes), `PORTS` window entries (56 bytes each;
//! when the table is full, events of a new unconfirmed edge wait), and at
//! most `send_window` events in flight per receiving port and
//! `max_held_per_node` per receiving node. With the window at most the
//! peers' hold bound, an honest sender never trips
//! [`Violation::HeldPerPortExceeded`] or [`Violation::HeldPerNodeExceeded`]
//! during a bypass (the node-wide pool `HELD` must still cover
//! `max_held_per_node` per peer node that may be bypassing at once).
//!
//! With `direct_bypass == false` (Chromium-compatible mode) there is no
//! window and no confirmation: a Chromium node would drop type 10, so a
//! window would never close. That mode keeps Chromium's weakness: a burst
//! sent while a peer changes can exceed the hold bound. With
//! [`Config::flow_control`] a sender has at most `max_queued_per_port`
//! messages (and a few control events) unread, so in that mode set
//! `max_held_per_port` to `max_queued_per_port + 16`, `max_held_per_node`
//! to cover the ends one node may move at once, and `HELD` to twice that
//! (the randomized test runs that mode with 80, 128 and 256). Moving a
//! port to another node (the new port sends to a peer whose previous peer
//! is announced by the proxy before the port is even delivered) opens no
//! window either: its confirmation could arrive before the port exists.
//! All nodes of a network must share `direct_bypass` and the limits.
//!
//! The hold bound counts per receiving port *and sending node*, the
//! granularity of the window: a node's window budget towards a port is
//! shared by all of its ports sending there, so the events one node can
//! have held at one port during a peer change are at most its window, and
//! `send_window <= max_held_per_port` is exactly the condition under which
//! an honest node never trips the bound. Events of other nodes held at the
//! same port (for example the final UpdatePreviousPeer of a merged proxy
//! on another node, or a second node's window after a second re-pointing)
//! count against their own senders. Counting per port alone blamed an
//! honest node for a full window plus one such event of another node
//! (found by a sweep of `tests/ports_random.rs`, seed 12192, now a
//! regression test). The memory bound is unchanged: `max_held_per_node`
//! per sending node and `HELD` in all.

//!
//! # Flow control (issue #16 item 9)
//!
//! With [`Config::flow_control`] (the default, in both bypass modes) a
//! receiving port sends at most [`Config::max_queued_per_port`] messages its
//! conjugate has not acknowledged reading. Beyond that
//! [`Node::send_user_message`] returns [`SendError::WouldBlock`] and changes
//! nothing ([`Node::would_block`] tells in advance; the sender gets
//! [`PortEvent::StatusChanged`] when an acknowledgement arrives). The
//! acknowledgements are the reference protocol's own events: once half a
//! queue's worth is unacknowledged, the sender asks for a
//! UserMessageReadAck at half a queue past the last acknowledgement
//! (UserMessageReadAckRequest; the conjugate answers at once with what it
//! has read if that is further, else when it reads that message), so a
//! Chromium peer takes part too. Every message on the route is unread at
//! the conjugate, at a port in transit or at a proxy, so no queue on the
//! route can overflow by an honest sender: before, 65 messages sent to an
//! end in transit overflowed the queue of its old port, the honest sender
//! was reported (`QueueFull`) and the message was lost.
//!
//! Two details keep the count right across moves. A proxy passes a
//! UserMessageReadAck it receives on to its peer (the sending end it
//! stands for; Chromium drops it), so an acknowledgement sent to a moved
//! sender's old port still reaches it. And a moved port's descriptor does
//! not say how much of what it sent is unread, so the new port counts up
//! to a full queue as unacknowledged until the proxy it replaces tells it
//! what it knew (a UserMessageReadAck when it starts proxying) or the
//! conjugate answers its request. A UserMessageReadAckRequest that reaches
//! a port while it is being sent (buffering) is passed on to the new port
//! like one reaching a proxy: answered there, the answer would go the way
//! a buffering port sends, to the new port, which would take it for an
//! acknowledgement of what *it* sent (found by the 100,000-seed run).
//!
//! Flow control bounds each port, not a node: a node's message pool
//! (`MSGS`) must hold what all its ports (and proxies) may have unread, up
//! to `max_queued_per_port` each; a message that finds the pool full is
//! dropped and reported as [`Violation::QueueFull`] against its sender.
//! Size `MSGS` for the receiving ports a node serves at once.
//!
//! # Configuration and inspection
//!
//! [`Config`] holds every bound and switch, each documented with its
//! default: the queue per port ([`Config::max_queued_per_port`], also the
//! flow-control window), the hold bounds per port and sending node and per
//! node ([`Config::max_held_per_port`], [`Config::max_held_per_node`]),
//! the held-event age ([`Config::max_held_age`]), the send window after a
//! peer change ([`Config::send_window`]), the bypass mode
//! ([`Config::direct_bypass`]: `false` is the Chromium-compatible mode),
//! flow control ([`Config::flow_control`]) and the local-event step bound
//! ([`Config::max_local_steps`]). All nodes of a network should share
//! them.
//!
//! For tests and debugging, [`Node::inspect`] returns a [`PortInfo`]: a
//! port's state, its peer and previous peer (and the node that announced
//! the previous peer), whether its peer is closed or lost, its send-window
//! use, how many events are held for it, waiting to be sent from it and
//! queued at it, and its sequence and control numbers.
//! [`Node::held_events`] and [`Node::waiting_events`] list the held and
//! waiting events themselves; [`Node::stats`] counts drops by cause. Once
//! a network is idle, a receiving port with nothing held or waiting and no
//! proxy left anywhere is the expected state (`tests/ports_random.rs`
//! checks exactly that).
//!
//! # Node incarnations and loss
//!
//! A node that goes away and comes back under the same [`NodeName`] is a
//! new *incarnation* ([`Incarnation`], numbered by the embedder in the
//! order it learns of them; an overlay maps its peer generation onto it).
//!
//! * [`Node::lost_connection_to_node`]`(name, incarnation)` ends everything
//!   that depends on that node: ports whose peer or previous peer is there
//!   see their peer closed, proxies towards it die (announced by
//!   broadcast), events held from it or waiting to be sent to it are
//!   dropped, merge targets waiting for it are closed.
//! * [`Node::admit_node`]`(name, incarnation)` is the explicit way to admit
//!   a node again: admitting a later incarnation first ends the earlier one
//!   (nothing made for the old life reaches the new one), and a late loss
//!   report or admission for an earlier incarnation is refused
//!   ([`NodeError::Stale`]) without touching the current one. The table of
//!   admitted nodes has `NODES` entries (a const generic, default 32, 24
//!   bytes each); a loss frees its entry. Admission is optional: a name
//!   never admitted is usable, with no incarnation check.
//! * **Nothing is remembered about lost nodes.** Whenever a port starts to
//!   depend on a remote node — its embedder names it
//!   ([`Node::initialize_port`], [`Node::allow_merge`]), or another node's
//!   event does (UpdatePreviousPeer, ObserveProxy, a carried or merged
//!   port's descriptor, a merge handing a port the other port's peer) —
//!   the node emits [`PortEvent::NodeInUse`]. The
//!   embedder, whose peer table is the one place that knows which nodes
//!   are reachable, answers it with [`Node::lost_connection_to_node`] if
//!   that node is gone. The answer is the same whether the node was lost a
//!   second or a year ago, and a new route to a name that came back works
//!   at once. (Before, lost names were kept in a 16-entry ring: a new route
//!   to a returning node accepted sends with `Ok` and transmitted nothing,
//!   and late news naming a lost node was waited for forever once its
//!   entry was evicted.)
//! * Limit: the wire carries node names only (Chromium's layout), so news
//!   about an earlier incarnation's ports that arrives *after* a later
//!   incarnation was admitted refers to ports the new incarnation never
//!   had, and such a route waits for them (as it would in Chromium). It
//!   takes a third node's event, sent before the old life ended, arriving
//!   after the new life was admitted.

pub mod config;
pub mod error;
pub mod event;
pub mod name;
mod node;
mod port;

pub use config::{Config, ConfigError};
pub use error::{
    CreateError, EventError, GetMessageError, InitializeError, MergeError, NodeError, PortError,
    ProtocolError, SendError, Violation,
};
pub use event::{
    DecodeError, Event, EventKind, Payload, PayloadError, PortDescriptor, UserMessage,
};
pub use name::{Incarnation, NodeName, PortName};
pub use node::{Message, Node, PortEvent, PortInfo, PortStatus, ShutdownPolicy, Stats};
pub use port::PortState;

/// A ready-made [`Payload`]: up to `N` opaque bytes.
pub type Bytes<const N: usize> = heapless::Vec<u8, N>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    type Pl = heapless::Vec<u8, 16>;
    type N = Node<Pl, SeededRng, 16, 32, 2, 16, 64>;

    fn pl(s: &[u8]) -> Pl {
        heapless::Vec::from_slice(s).unwrap()
    }

    fn node(n: u64) -> N {
        N::new(
            NodeName::new(0, n),
            Config::default(),
            SeededRng::from_u64(n),
        )
    }

    #[test]
    fn local_pair_delivers_in_order_and_closes_cleanly() {
        let mut n = node(1);
        let (a, b) = n.create_port_pair().unwrap();
        n.send_user_message(a, pl(b"1"), &[]).unwrap();
        n.send_user_message(a, pl(b"2"), &[]).unwrap();
        assert_eq!(n.get_message(b).unwrap().unwrap().payload, pl(b"1"));
        assert_eq!(n.get_message(b).unwrap().unwrap().payload, pl(b"2"));
        assert_eq!(n.get_message(b).unwrap(), None);
        n.close_port(a).unwrap();
        assert_eq!(n.get_message(b), Err(GetMessageError::PeerClosed));
        n.close_port(b).unwrap();
        assert!(n.can_shutdown_cleanly(ShutdownPolicy::DontAllowLocalPorts));
        assert_eq!(n.poll_transmit(), None);
    }

    #[test]
    fn send_errors_match_reference_codes() {
        let mut n = node(2);
        let u = n.create_uninitialized_port().unwrap();
        assert_eq!(
            n.send_user_message(u, pl(b""), &[]),
            Err(SendError::StateUnexpected)
        );
        n.close_port(u).unwrap();
        let (a, b) = n.create_port_pair().unwrap();
        assert_eq!(
            n.send_user_message(a, pl(b""), &[a]),
            Err(SendError::CannotSendSelf)
        );
        assert_eq!(
            n.send_user_message(a, pl(b""), &[b]),
            Err(SendError::CannotSendPeer)
        );
        assert_eq!(n.port_state(b), None, "peer attached on failure is closed");
    }

    #[test]
    fn unsolicited_port_accepted_is_a_typed_violation() {
        let mut n = node(3);
        let (a, _b) = n.create_port_pair().unwrap();
        let ev = Event {
            port: a,
            from_port: PortName::INVALID,
            control_seq: event::INVALID_SEQ,
            kind: EventKind::PortAccepted,
        };
        let bad = NodeName::new(9, 9);
        let err = n.handle_event(bad, ev).unwrap_err().protocol().unwrap();
        assert_eq!(err.node, bad);
        assert_eq!(err.violation, Violation::UnexpectedEvent(a));
        assert_eq!(n.port_state(a), Some(PortState::Receiving));
    }
}
