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
//! (4N − 1 plus one [`EventKind::PeerConfirmed`] per UpdatePreviousPeer, see
//! below).
//! Chromium nodes drop type 9 as unknown, so a network with any Chromium
//! node must turn the option off (its proxies would otherwise never leave).

pub mod config;
pub mod error;
pub mod event;
pub mod name;
mod node;
mod port;

pub use config::{Config, ConfigError};
pub use error::{
    CreateError, GetMessageError, InitializeError, MergeError, PortError, ProtocolError, SendError,
    Violation,
};
pub use event::{
    DecodeError, Event, EventKind, Payload, PayloadError, PortDescriptor, UserMessage,
};
pub use name::{NodeName, PortName};
pub use node::{
    LOST_NODES_REMEMBERED, Message, Node, PortEvent, PortStatus, ShutdownPolicy, Stats,
};
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
        let err = n.handle_event(bad, ev).unwrap_err();
        assert_eq!(err.node, bad);
        assert_eq!(err.violation, Violation::UnexpectedEvent(a));
        assert_eq!(n.port_state(a), Some(PortState::Receiving));
    }
}
