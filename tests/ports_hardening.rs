//! Hardening beyond the reference protocol. Each test drives a node with
//! forged or badly timed events and asserts the behaviour that the
//! reference (Chromium ports, see `/work/shared/reference/ports.md` §3.2)
//! does not have: each would fail against a node without the hardening.
//!
//! That claim is checked by mutation: `scripts/ports_mutations.sh` applies
//! each patch in `scripts/mutants/ports/` (one weakened check in
//! `src/ports/`, the test(s) that must catch it named in its `# test:`
//! header) to a scratch copy of the tree and requires the named tests to
//! fail. Run it after changing a check or one of these tests (slow: about a
//! minute per mutant; not run by CI). A new hardening check gets a mutant
//! and a test here.
#![cfg(feature = "sim")]

mod ports_common;

use hyperport::ports::{
    Config, DecodeError, Event, EventKind, GetMessageError, Incarnation, NodeName, PortDescriptor,
    PortEvent, PortName, PortState, ProtocolError, UserMessage, Violation,
};
use hyperport::rng::SeededRng;
use ports_common::*;

const V: NodeName = NodeName::new(0x76, 1);
const B: NodeName = NodeName::new(0x76, 2);
const C: NodeName = NodeName::new(0x76, 3);
const D: NodeName = NodeName::new(0x76, 4);

/// Boxed: a node is large (its pools are inline), and several tests use two
/// in sequence; on the 2 MiB test-thread stack of a debug build two inline
/// nodes (plus temporaries) can overflow.
fn victim(cfg: Config) -> Box<TNode> {
    Box::new(TNode::new(V, cfg, SeededRng::from_u64(99)))
}

/// `x` on the victim, paired with `y` on node B.
fn cross(v: &mut TNode) -> (PortName, PortName) {
    let x = v.create_uninitialized_port().unwrap();
    let y = PortName::new(0xb0b, 1);
    v.initialize_port(x, B, y, B, y).unwrap();
    (x, y)
}

fn ev(port: PortName, from_port: PortName, ctl: u64, kind: EventKind<Pl, 4>) -> Ev {
    Event {
        port,
        from_port,
        control_seq: ctl,
        kind,
    }
}

fn msg(seq: u64, s: &[u8]) -> EventKind<Pl, 4> {
    EventKind::UserMessage(UserMessage {
        seq,
        ports: heapless::Vec::new(),
        payload: pl(s),
    })
}

fn drain(v: &mut TNode) -> Vec<(NodeName, Ev)> {
    let mut out = Vec::new();
    while let Some(x) = v.poll_transmit() {
        out.push(x);
    }
    while v.poll_event().is_some() {}
    out
}

#[test]
fn held_events_are_bounded_per_port_with_an_error_naming_the_node() {
    let cfg = Config {
        max_held_per_port: 4,
        max_held_per_node: 100,
        ..config()
    };
    let mut v = victim(cfg);
    let (x, _y) = cross(&mut v);
    for i in 0..4u64 {
        let forged = ev(
            x,
            PortName::new(0xf, i + 1),
            1,
            EventKind::ObserveClosure { last_seq: 0 },
        );
        assert_eq!(v.handle_event(C, forged), Ok(()));
    }
    assert_eq!(v.held_count(), 4);
    let forged = ev(
        x,
        PortName::new(0xf, 99),
        1,
        EventKind::ObserveClosure { last_seq: 0 },
    );
    assert_eq!(
        v.handle_event(C, forged),
        Err(ProtocolError {
            node: C,
            violation: Violation::HeldPerPortExceeded(x)
        }
        .into())
    );
    assert_eq!(v.held_count(), 4, "no growth past the bound");
    assert!(
        !v.get_status(x).unwrap().peer_closed,
        "nothing forged was processed"
    );
}

/// The per-port hold bound counts per sending node (the granularity of a
/// sender's window): another node's events held for the same port never
/// make an honest node's window overflow, and the node past its own bound
/// is the one reported.
#[test]
fn held_per_port_bound_counts_each_sending_node_separately() {
    let cfg = Config {
        max_held_per_port: 3,
        max_held_per_node: 100,
        ..config()
    };
    let mut v = victim(cfg);
    let (x, _y) = cross(&mut v);
    let closure = || EventKind::ObserveClosure { last_seq: 0 };
    // Node D: one early event for x (held: D's port is not x's previous peer).
    assert_eq!(
        v.handle_event(D, ev(x, PortName::new(0xd, 1), 1, closure())),
        Ok(())
    );
    // Node C: a full bound's worth for x, all held, none blamed on D's.
    for i in 0..3u64 {
        let e = ev(x, PortName::new(0xc, i + 1), 1, closure());
        assert_eq!(v.handle_event(C, e), Ok(()), "C's event {i}");
    }
    assert_eq!(v.held_count(), 4);
    // One more from C is C's violation; D can still add up to its own bound.
    assert_eq!(
        v.handle_event(C, ev(x, PortName::new(0xc, 9), 1, closure())),
        Err(ProtocolError {
            node: C,
            violation: Violation::HeldPerPortExceeded(x)
        }
        .into())
    );
    assert_eq!(
        v.handle_event(D, ev(x, PortName::new(0xd, 2), 1, closure())),
        Ok(())
    );
    assert_eq!(v.held_count(), 5);
}

#[test]
fn held_events_are_bounded_per_peer_node_and_others_are_not_starved() {
    let cfg = Config {
        max_held_per_port: 100,
        max_held_per_node: 3,
        ..config()
    };
    let mut v = victim(cfg);
    let (a, b) = v.create_port_pair().unwrap();
    let (x, _) = cross(&mut v);
    for (i, p) in [a, b, x].into_iter().enumerate() {
        let forged = ev(p, PortName::new(0xf, i as u64 + 1), 5, msg(5, b"evil"));
        assert_eq!(v.handle_event(C, forged), Ok(()));
    }
    let forged = ev(a, PortName::new(0xf, 9), 5, msg(5, b"evil"));
    let err = v.handle_event(C, forged).unwrap_err().protocol().unwrap();
    assert_eq!(err.node, C);
    assert_eq!(err.violation, Violation::HeldPerNodeExceeded);
    assert_eq!(v.held_count(), 3);
    // Another node still gets its (possibly legitimate) events held.
    let other = ev(a, PortName::new(0xd, 1), 2, msg(2, b"ok"));
    assert_eq!(v.handle_event(D, other), Ok(()));
    assert_eq!(v.held_count(), 4);
}

#[test]
fn stale_and_duplicate_control_events_are_dropped() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    v.handle_event(B, ev(x, y, 1, msg(1, b"one"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"one");
    // Replay of an already processed control number: dropped, no effect.
    v.handle_event(B, ev(x, y, 1, msg(1, b"one"))).unwrap();
    assert_eq!(v.stats().dropped_stale, 1);
    assert_eq!(v.get_message(x).unwrap(), None);
    assert_eq!(v.held_count(), 0, "a stale event is not held forever");
    // A duplicate of an event waiting for its turn is held once.
    v.handle_event(B, ev(x, y, 3, msg(3, b"three"))).unwrap();
    v.handle_event(B, ev(x, y, 3, msg(3, b"three"))).unwrap();
    assert_eq!(v.stats().dropped_duplicate, 1);
    assert_eq!(v.held_count(), 1);
    v.handle_event(B, ev(x, y, 2, msg(2, b"two"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"two");
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"three");
    assert_eq!(v.get_message(x).unwrap(), None, "processed exactly once");
    assert_eq!(v.held_count(), 0);
}

#[test]
fn events_from_anyone_but_the_previous_peer_are_not_processed() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    // Node C knows both port names and forges B's port as sender.
    v.handle_event(C, ev(x, y, 1, EventKind::ObserveClosure { last_seq: 0 }))
        .unwrap();
    v.handle_event(C, ev(x, y, 2, msg(1, b"forged"))).unwrap();
    assert!(!v.get_status(x).unwrap().peer_closed);
    assert_eq!(v.get_message(x).unwrap(), None);
    // The real previous peer is unaffected.
    v.handle_event(B, ev(x, y, 1, msg(1, b"real"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"real");
    assert!(!v.get_status(x).unwrap().peer_closed);
}

#[test]
fn unsolicited_port_accepted_never_changes_a_port() {
    let mut v = victim(config());
    let (p, q) = v.create_port_pair().unwrap();
    let accepted = |port| ev(port, PortName::INVALID, u64::MAX, EventKind::PortAccepted);
    // On a receiving port (the reference's fatal OOPS path).
    let err = v
        .handle_event(C, accepted(p))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!(
        (err.node, err.violation),
        (C, Violation::UnexpectedEvent(p))
    );
    assert_eq!(v.port_state(p), Some(PortState::Receiving));
    // On a buffering port, from a node other than where it was sent.
    let (c, _d) = cross(&mut v);
    v.send_user_message(c, pl(b"q"), &[q]).unwrap();
    drain(&mut v);
    assert_eq!(v.port_state(q), Some(PortState::Buffering));
    let err = v
        .handle_event(C, accepted(q))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!((err.node, err.violation), (C, Violation::WrongSender(q)));
    assert_eq!(v.port_state(q), Some(PortState::Buffering));
    // The node it was sent to may.
    v.handle_event(B, accepted(q)).unwrap();
    assert_eq!(v.port_state(q), Some(PortState::Proxying));
}

fn merge_event(target: PortName, new: PortName) -> Ev {
    ev(
        target,
        PortName::INVALID,
        u64::MAX,
        EventKind::MergePort {
            new_port: new,
            descriptor: PortDescriptor {
                peer_node: C,
                peer_port: PortName::new(0xc, 1),
                referring_node: C,
                referring_port: PortName::new(0xc, 2),
                next_seq_to_send: 1,
                next_seq_to_receive: 1,
                last_seq_to_receive: 0,
                peer_closed: false,
            },
        },
    )
}

#[test]
fn unexpected_merge_port_keeps_the_target_and_releases_the_new_port() {
    let mut v = victim(config());
    let (t, u) = v.create_port_pair().unwrap();
    drain(&mut v);
    let new = PortName::new(0x7e, 1);
    let err = v
        .handle_event(C, merge_event(t, new))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!((err.node, err.violation), (C, Violation::WrongSender(t)));
    // The named target is untouched (the reference closes it) ...
    assert_eq!(v.port_state(t), Some(PortState::Receiving));
    assert!(!v.get_status(t).unwrap().peer_closed);
    assert!(!v.get_status(u).unwrap().peer_closed);
    // ... and the accepted port is not leaked: it was accepted (so its
    // referrer is released) and closed (so its route sees the closure).
    assert_eq!(v.port_state(new), None);
    assert_eq!(v.port_count(), 2);
    let out = drain(&mut v);
    assert!(out.iter().any(|(n, e)| *n == C
        && e.port == PortName::new(0xc, 2)
        && matches!(e.kind, EventKind::PortAccepted)));
    assert!(out.iter().any(|(n, e)| *n == C
        && e.port == PortName::new(0xc, 1)
        && e.from_port == new
        && matches!(e.kind, EventKind::ObserveClosure { .. })));
    // A target allowed only from node B refuses C the same way.
    v.allow_merge(t, Some(B)).unwrap();
    let err = v
        .handle_event(C, merge_event(t, PortName::new(0x7e, 2)))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!(err.violation, Violation::WrongSender(t));
    assert_eq!(v.port_state(t), Some(PortState::Receiving));
    assert_eq!(v.port_count(), 2);
}

#[test]
fn merge_port_reusing_an_existing_name_is_rejected_without_side_effects() {
    let mut v = victim(config());
    let (t, u) = v.create_port_pair().unwrap();
    v.allow_merge(t, None).unwrap();
    drain(&mut v);
    let err = v
        .handle_event(C, merge_event(t, u))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!(err.violation, Violation::PortExists(u));
    assert_eq!(v.port_state(u), Some(PortState::Receiving));
    assert_eq!(v.port_state(t), Some(PortState::Receiving));
    assert!(drain(&mut v).is_empty());
}

/// Reference weakness 3.2b: the receiving port re-pointed past a proxy, the
/// proxy's node dies before its UpdatePreviousPeer arrives; the port behind
/// it must not wait forever for messages held from the new sender.
#[test]
fn losing_the_previous_peers_node_never_leaves_a_port_waiting() {
    let mut net = Net::new(3, 41);
    let (a, b) = net.cross_pair(0, 1);
    let (c1, c2) = net.cross_pair(1, 2);
    net.idle();
    // Move b from node 1 to node 2; its proxy on node 1 never hears the
    // ObserveProxyAck, so it never sends its final UpdatePreviousPeer.
    net.block(1, Some(OBSERVE_PROXY_ACK));
    net.send(1, c1, b"b", &[b]);
    net.idle();
    let b2 = net.get(2, c2).unwrap().ports[0];
    // a (node 0) was re-pointed to b2 and sends to it; b2 holds that
    // message because its previous peer is still the proxy on node 1.
    net.send(0, a, b"hello", &[]);
    net.idle();
    assert_eq!(net.get(2, b2), None);
    assert!(net.node(2).held_count() > 0);
    net.remove_node(1);
    net.idle();
    assert_eq!(
        net.with(2, |n| n.get_message(b2)),
        Err(GetMessageError::PeerClosed),
        "b2 learns that nothing more can come"
    );
    assert_eq!(net.node(2).held_count(), 0);
    assert!(
        net.node(0).get_status(a).unwrap().peer_closed,
        "and so does a"
    );
    net.close(0, a);
    net.close(2, b2);
    net.close(2, c2);
    net.idle();
    assert!(net.node(0).port_count() == 0 && net.node(2).port_count() == 0);
}

#[test]
fn a_merge_target_whose_merging_node_is_lost_is_closed() {
    let mut net = Net::new(2, 42);
    let (c, d) = net.with(1, |n| n.create_port_pair()).unwrap();
    net.with(1, |n| n.allow_merge(c, Some(Net::name(0))))
        .unwrap();
    net.remove_node(0);
    net.idle();
    assert_eq!(net.node(1).port_state(c), None);
    assert_eq!(
        net.with(1, |n| n.get_message(d)),
        Err(GetMessageError::PeerClosed)
    );
}

/// Reference weakness 3.2h: a carried port's descriptor names the port that
/// will receive PortAccepted. It must be the sender's own; otherwise a node
/// could make this one send PortAccepted to any third party (or itself).
#[test]
fn carried_ports_must_refer_to_the_sending_node() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    drain(&mut v);
    let mut m = UserMessage {
        seq: 1,
        ports: heapless::Vec::new(),
        payload: pl(b"reflect"),
    };
    let d = PortDescriptor {
        peer_node: B,
        peer_port: PortName::new(0xb, 7),
        referring_node: D,
        referring_port: PortName::new(0xd, 1),
        next_seq_to_send: 1,
        next_seq_to_receive: 1,
        last_seq_to_receive: 0,
        peer_closed: false,
    };
    m.ports.push((PortName::new(0x7e, 9), d)).unwrap();
    let err = v
        .handle_event(B, ev(x, y, 1, EventKind::UserMessage(m)))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!((err.node, err.violation), (B, Violation::Malformed));
    assert_eq!(v.port_count(), 1, "no port was created");
    assert!(
        drain(&mut v).iter().all(|(n, _)| *n != D),
        "nothing reflected to D"
    );
}

/// The first event a port sent to B would send now: where it goes and the
/// port it names.
fn next_destination(v: &mut TNode, port: PortName) -> (NodeName, PortName) {
    drain(v);
    v.send_user_message(port, pl(b"probe"), &[]).unwrap();
    let out = drain(v);
    assert_eq!(out.len(), 1, "one message sent: {out:?}");
    (out[0].0, out[0].1.port)
}

fn desc(referring_node: NodeName, send: u64, recv: u64) -> PortDescriptor {
    PortDescriptor {
        peer_node: referring_node,
        peer_port: PortName::new(0xc, 1),
        referring_node,
        referring_port: PortName::new(0xc, 2),
        next_seq_to_send: send,
        next_seq_to_receive: recv,
        last_seq_to_receive: 0,
        peer_closed: false,
    }
}

fn carrying(seq: u64, ports: &[(PortName, PortDescriptor)]) -> EventKind<Pl, 4> {
    EventKind::UserMessage(UserMessage {
        seq,
        ports: heapless::Vec::from_slice(ports).unwrap(),
        payload: pl(b"carrier"),
    })
}

#[test]
fn events_from_another_port_of_the_previous_node_are_not_processed() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    // Right node, right control number, but a port of B that is not x's
    // previous peer (e.g. a route B also proxies for).
    let other = PortName::new(0xb0b, 2);
    v.handle_event(
        B,
        ev(x, other, 1, EventKind::ObserveClosure { last_seq: 0 }),
    )
    .unwrap();
    v.handle_event(B, ev(x, other, 1, msg(1, b"forged")))
        .unwrap();
    assert!(!v.get_status(x).unwrap().peer_closed);
    assert_eq!(v.get_message(x).unwrap(), None);
    v.handle_event(B, ev(x, y, 1, msg(1, b"real"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"real");
    assert!(!v.get_status(x).unwrap().peer_closed);
}

#[test]
fn verified_events_without_a_control_number_or_sender_port_are_malformed() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    // Control numbers start at 1 (ports.md §1.4); u64::MAX marks unverified
    // events; a verified event names its sending port.
    for (from_port, ctl) in [(y, 0), (y, u64::MAX), (PortName::INVALID, 1)] {
        let e = ev(x, from_port, ctl, msg(1, b"bad"));
        assert_eq!(
            v.handle_event(B, e),
            Err(ProtocolError {
                node: B,
                violation: Violation::Malformed
            }
            .into()),
            "from_port {from_port:?} ctl {ctl}"
        );
    }
    assert_eq!(v.held_count(), 0, "nothing malformed is held");
    assert_eq!(v.get_message(x).unwrap(), None);
}

#[test]
fn observe_proxy_ack_to_a_receiving_port_is_an_error() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    // Only a proxy asked for an ack (reference §3.2c: the OOPS path).
    let err = v
        .handle_event(B, ev(x, y, 1, EventKind::ObserveProxyAck { last_seq: 0 }))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!(
        (err.node, err.violation),
        (B, Violation::UnexpectedEvent(x))
    );
    // The port still takes its peer's messages.
    v.handle_event(B, ev(x, y, 2, msg(1, b"still"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"still");
    assert_eq!(v.port_state(x), Some(PortState::Receiving));
}

#[test]
fn observe_proxy_naming_an_invalid_target_is_malformed() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    let bad = EventKind::ObserveProxy {
        proxy_node: B,
        proxy_port: y,
        target_node: NodeName::INVALID,
        target_port: PortName::INVALID,
    };
    let err = v
        .handle_event(B, ev(x, y, 1, bad))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!((err.node, err.violation), (B, Violation::Malformed));
    assert_eq!(next_destination(&mut v, x), (B, y), "x still sends to y");
}

#[test]
fn forged_direct_bypass_request_does_not_repoint_a_port() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    drain(&mut v);
    // C claims to be x's peer proxy y and asks x to skip to D. The event is
    // not sender-verified, so the peer check is the only gate.
    let forged = ev(
        x,
        y,
        u64::MAX,
        EventKind::ObserveProxyDirect {
            target_node: D,
            target_port: PortName::new(0xd, 1),
        },
    );
    v.handle_event(C, forged).unwrap();
    assert!(
        drain(&mut v).is_empty(),
        "nothing is sent on C's behalf (no ack, no ObserveProxy relayed)"
    );
    assert_eq!(next_destination(&mut v, x), (B, y));
    assert!(!v.get_status(x).unwrap().peer_closed);
}

#[test]
fn update_previous_peer_naming_no_port_is_malformed() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    let bad = EventKind::UpdatePreviousPeer {
        node: NodeName::INVALID,
        port: PortName::INVALID,
    };
    let err = v
        .handle_event(B, ev(x, y, 1, bad))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!((err.node, err.violation), (B, Violation::Malformed));
    // x still accepts the real previous peer's next event.
    v.handle_event(B, ev(x, y, 2, msg(1, b"after"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"after");
}

#[test]
fn merge_port_must_refer_to_the_sending_node() {
    let mut v = victim(config());
    let (t, _u) = v.create_port_pair().unwrap();
    v.allow_merge(t, None).unwrap();
    drain(&mut v);
    let mut e = merge_event(t, PortName::new(0x7e, 3));
    if let EventKind::MergePort { descriptor, .. } = &mut e.kind {
        descriptor.referring_node = D;
    }
    let err = v.handle_event(C, e).unwrap_err().protocol().unwrap();
    assert_eq!((err.node, err.violation), (C, Violation::Malformed));
    assert_eq!(v.port_state(t), Some(PortState::Receiving));
    assert_eq!(v.port_count(), 2, "nothing accepted, nothing merged");
    assert!(drain(&mut v).is_empty(), "nothing reflected to D");
}

#[test]
fn merge_port_to_an_unknown_port_releases_the_new_port() {
    let mut v = victim(config());
    let (_t, _u) = v.create_port_pair().unwrap();
    drain(&mut v);
    let new = PortName::new(0x7e, 4);
    v.handle_event(C, merge_event(PortName::new(0x404, 1), new))
        .unwrap();
    assert_eq!(v.port_state(new), None, "not left open and unowned");
    assert_eq!(v.port_count(), 2);
    let out = drain(&mut v);
    assert!(out.iter().any(|(n, e)| *n == C
        && e.port == PortName::new(0xc, 2)
        && matches!(e.kind, EventKind::PortAccepted)));
    assert!(out.iter().any(|(n, e)| *n == C
        && e.port == PortName::new(0xc, 1)
        && matches!(e.kind, EventKind::ObserveClosure { .. })));
}

#[test]
fn merge_port_into_a_full_port_table_keeps_the_target() {
    let mut v = victim(config());
    // TNode holds 64 ports.
    let (t, u) = v.create_port_pair().unwrap();
    for _ in 0..31 {
        v.create_port_pair().unwrap();
    }
    assert_eq!(v.port_count(), 64);
    v.allow_merge(t, None).unwrap();
    drain(&mut v);
    let err = v
        .handle_event(C, merge_event(t, PortName::new(0x7e, 5)))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!((err.node, err.violation), (C, Violation::CapacityExceeded));
    assert_eq!(v.port_state(t), Some(PortState::Receiving));
    assert!(!v.get_status(u).unwrap().peer_closed);
    assert_eq!(v.port_count(), 64);
}

#[test]
fn carried_port_names_must_be_new_and_distinct() {
    // A name that already exists here (the target itself).
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    drain(&mut v);
    let e = ev(x, y, 1, carrying(1, &[(x, desc(B, 1, 1))]));
    let err = v.handle_event(B, e).unwrap_err().protocol().unwrap();
    assert_eq!((err.node, err.violation), (B, Violation::PortExists(x)));
    assert_eq!(v.port_count(), 1);
    assert!(drain(&mut v).is_empty());
    // The same new name twice in one message.
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    drain(&mut v);
    let n = PortName::new(0x7e, 6);
    let e = ev(
        x,
        y,
        1,
        carrying(1, &[(n, desc(B, 1, 1)), (n, desc(B, 1, 1))]),
    );
    let err = v.handle_event(B, e).unwrap_err().protocol().unwrap();
    assert_eq!((err.node, err.violation), (B, Violation::PortExists(n)));
    assert_eq!(v.port_count(), 1);
    assert!(drain(&mut v).is_empty());
}

#[test]
fn descriptors_with_sequence_number_zero_are_malformed() {
    // Sequence numbers start at 1 (ports.md §1.4).
    for (send, recv) in [(0, 1), (1, 0)] {
        let mut v = victim(config());
        let (x, y) = cross(&mut v);
        drain(&mut v);
        let e = ev(
            x,
            y,
            1,
            carrying(1, &[(PortName::new(0x7e, 7), desc(B, send, recv))]),
        );
        let err = v.handle_event(B, e).unwrap_err().protocol().unwrap();
        assert_eq!(
            (err.node, err.violation),
            (B, Violation::Malformed),
            "send {send} recv {recv}"
        );
        assert_eq!(v.port_count(), 1);
        assert!(drain(&mut v).is_empty());
    }
}

#[test]
fn user_message_sequence_replays_are_dropped() {
    // A message whose sequence number was already read, under a fresh
    // control number: dropped, and it takes no queue slot.
    let cfg = Config {
        max_queued_per_port: 1,
        ..config()
    };
    let mut v = victim(cfg);
    let (x, y) = cross(&mut v);
    v.handle_event(B, ev(x, y, 1, msg(1, b"one"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"one");
    v.handle_event(B, ev(x, y, 2, msg(1, b"again"))).unwrap();
    assert_eq!(v.get_message(x).unwrap(), None);
    v.handle_event(B, ev(x, y, 3, msg(2, b"two"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"two");
    // A sequence number already queued (waiting for an earlier one).
    let cfg = Config {
        max_queued_per_port: 2,
        ..config()
    };
    let mut v = victim(cfg);
    let (x, y) = cross(&mut v);
    v.handle_event(B, ev(x, y, 1, msg(2, b"two"))).unwrap();
    v.handle_event(B, ev(x, y, 2, msg(2, b"dup"))).unwrap();
    v.handle_event(B, ev(x, y, 3, msg(1, b"one"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"one");
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"two");
    assert_eq!(v.get_message(x).unwrap(), None);
    assert_eq!(v.stats().dropped_duplicate, 1);
}

#[test]
fn queued_messages_are_bounded_per_port() {
    let cfg = Config {
        max_queued_per_port: 2,
        ..config()
    };
    let mut v = victim(cfg);
    let (x, y) = cross(&mut v);
    // Unread messages: seq 1, 2 fit; 3 is over the bound.
    v.handle_event(B, ev(x, y, 1, msg(1, b"1"))).unwrap();
    v.handle_event(B, ev(x, y, 2, msg(2, b"2"))).unwrap();
    assert_eq!(
        v.handle_event(B, ev(x, y, 3, msg(3, b"3"))),
        Err(ProtocolError {
            node: B,
            violation: Violation::QueueFull(x)
        }
        .into())
    );
    assert_eq!(v.get_status(x).unwrap().queued_message_count, 2);
    // Other ports still get their messages.
    let (a, b) = v.create_port_pair().unwrap();
    v.send_user_message(a, pl(b"local"), &[]).unwrap();
    assert_eq!(&v.get_message(b).unwrap().unwrap().payload[..], b"local");
}

/// B announced (UpdatePreviousPeer) that x's messages will now come from a
/// port on D, then B was lost: the port on D may never have been created
/// (the message that was to create it may have died with B), so x must
/// not wait for it.
#[test]
fn a_previous_peer_announced_by_a_lost_node_is_not_waited_for() {
    let mut v = victim(config());
    let x = v.create_uninitialized_port().unwrap();
    let y = PortName::new(0xb0b, 1);
    // Peer on C (alive), previous peer on B.
    v.initialize_port(x, C, PortName::new(0xc, 9), B, y)
        .unwrap();
    let upp = EventKind::UpdatePreviousPeer {
        node: D,
        port: PortName::new(0xd, 2),
    };
    v.handle_event(B, ev(x, y, 1, upp)).unwrap();
    assert_eq!(v.get_message(x).unwrap(), None);
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    assert_eq!(v.get_message(x), Err(GetMessageError::PeerClosed));
}

fn wire(e: &Ev) -> Vec<u8> {
    let mut buf = vec![0u8; e.encoded_len()];
    let n = e.encode(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

#[test]
fn decode_rejects_more_ports_than_the_node_carries() {
    // Header (48) + seq (8) + port count (4) + reserved (4): ports.md §1.3.
    let mut b = wire(&ev(
        PortName::new(1, 1),
        PortName::new(2, 2),
        1,
        msg(1, b""),
    ));
    assert_eq!(b.len(), 64);
    b[56] = 5; // 5 ports > A = 4, and no descriptor bytes follow
    assert_eq!(Ev::decode(&b), Err(DecodeError::TooManyPorts(5)));
    b[56..60].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(Ev::decode(&b), Err(DecodeError::TooManyPorts(u32::MAX)));
}

#[test]
fn decode_rejects_non_zero_reserved_and_padding_bytes() {
    let e = ev(
        PortName::new(1, 1),
        PortName::new(2, 2),
        1,
        carrying(1, &[(PortName::new(3, 3), desc(B, 1, 1))]),
    );
    let good = wire(&e);
    // 64-byte UserMessage header, 96-byte descriptor (four 16-byte names,
    // three u64, peer_closed, 7 padding bytes), 16-byte port name.
    assert_eq!(good.len(), 64 + 96 + 16 + b"carrier".len());
    assert_eq!(Ev::decode(&good), Ok(e));
    // Reserved u32 after the port count (bytes 60..64).
    for i in 60..64 {
        let mut b = good.clone();
        b[i] = 1;
        assert_eq!(Ev::decode(&b), Err(DecodeError::Malformed), "byte {i}");
    }
    // Descriptor padding after peer_closed (descriptor bytes 89..96).
    for i in 64 + 89..64 + 96 {
        let mut b = good.clone();
        b[i] = 1;
        assert_eq!(Ev::decode(&b), Err(DecodeError::Malformed), "byte {i}");
    }
}

/// The held pool as a whole is bounded (`HELD`), and no
/// single node can take all of it: the per-node bound in force is at most
/// half the pool. When two nodes fill it, a third node holding nothing
/// still gets a slot: the largest holder gives up its latest event and is
/// the one reported; a node holding about as much as the largest is refused
/// itself.
#[test]
fn the_held_pool_as_a_whole_is_bounded_with_an_error() {
    let cfg = Config {
        max_held_per_port: 10_000,
        max_held_per_node: 10_000,
        ..config()
    };
    let mut v = victim(cfg);
    let (x, _y) = cross(&mut v);
    let e_node = NodeName::new(0x76, 5);
    let park = |v: &mut TNode, from: NodeName, i: u64| {
        let e = ev(x, PortName::new(from.v2, i + 1), 5, msg(5, b"h"));
        v.handle_event(from, e)
    };
    let half = (HELD / 2) as u64;
    for i in 0..half {
        assert_eq!(park(&mut v, C, i), Ok(()));
    }
    assert_eq!(
        park(&mut v, C, half),
        Err(ProtocolError {
            node: C,
            violation: Violation::HeldPerNodeExceeded
        }
        .into()),
        "at most half the pool per node"
    );
    for i in 0..half {
        assert_eq!(park(&mut v, D, i), Ok(()));
    }
    assert_eq!(v.held_count(), HELD);
    assert_eq!(
        park(&mut v, e_node, 0),
        Err(ProtocolError {
            node: C,
            violation: Violation::HeldPoolFull
        }
        .into()),
        "the largest holder (the first of two) makes room and is reported"
    );
    assert_eq!(v.held_count(), HELD);
    assert!(v.held_events().any(|(_, n, _)| n == e_node));
    assert_eq!(v.stats().held_evicted, 1);
    assert_eq!(
        park(&mut v, C, half + 99),
        Err(ProtocolError {
            node: C,
            violation: Violation::HeldPoolFull
        }
        .into()),
        "C (one fewer) is refused: D holds no more than C would"
    );
    assert_eq!(v.held_count(), HELD);
}

#[test]
fn held_events_are_released_only_to_the_previous_peer() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    // C (another node) and B's other port queue "next" events for x ...
    v.handle_event(C, ev(x, y, 2, EventKind::ObserveClosure { last_seq: 0 }))
        .unwrap();
    let other = PortName::new(0xb0b, 2);
    v.handle_event(
        B,
        ev(x, other, 2, EventKind::ObserveClosure { last_seq: 0 }),
    )
    .unwrap();
    assert_eq!(v.held_count(), 2);
    // ... which must not be released when x's real previous peer catches up.
    v.handle_event(B, ev(x, y, 1, msg(1, b"one"))).unwrap();
    assert!(!v.get_status(x).unwrap().peer_closed);
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"one");
    v.handle_event(B, ev(x, y, 2, msg(2, b"two"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"two");
    assert!(!v.get_status(x).unwrap().peer_closed);
}

/// `x` on the victim with its peer on C and its previous peer on B.
fn prev_on_b_peer_on_c(v: &mut TNode) -> (PortName, PortName) {
    let x = v.create_uninitialized_port().unwrap();
    let y = PortName::new(0xb0b, 1);
    v.initialize_port(x, C, PortName::new(0xc, 9), B, y)
        .unwrap();
    (x, y)
}

/// B hands x's previous-peer role to D, and D is heard from: losing B later
/// must not end x's route (only an announced-but-silent D is suspect).
#[test]
fn a_previous_peer_heard_from_survives_the_loss_of_its_announcer() {
    let d = PortName::new(0xd, 2);
    let upp = || EventKind::UpdatePreviousPeer { node: D, port: d };
    // D's first event arrives after B's announcement.
    let mut v = victim(config());
    let (x, y) = prev_on_b_peer_on_c(&mut v);
    v.handle_event(B, ev(x, y, 1, upp())).unwrap();
    v.handle_event(D, ev(x, d, 1, msg(1, b"from D"))).unwrap();
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"from D");
    v.handle_event(D, ev(x, d, 2, msg(2, b"more"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"more");
    // D's first event arrives before the announcement (held, then released).
    let mut v = victim(config());
    let (x, y) = prev_on_b_peer_on_c(&mut v);
    v.handle_event(D, ev(x, d, 1, msg(1, b"early"))).unwrap();
    assert_eq!(v.held_count(), 1);
    v.handle_event(B, ev(x, y, 1, upp())).unwrap();
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"early");
    v.handle_event(D, ev(x, d, 2, msg(2, b"more"))).unwrap();
    assert_eq!(&v.get_message(x).unwrap().unwrap().payload[..], b"more");
}

/// Node loss is not remembered by the node; news arriving later that names
/// a port on the lost node makes the node tell the driver it now depends on
/// that node ([`PortEvent::NodeInUse`]), and the driver's answer (a loss)
/// ends the route: no port is left waiting for it. Here an
/// UpdatePreviousPeer: x's messages would now come from D.
#[test]
fn lost_node_named_by_update_previous_peer() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
    settle(&mut v, &[D]);
    let upp = EventKind::UpdatePreviousPeer {
        node: D,
        port: PortName::new(0xd, 3),
    };
    v.handle_event(B, ev(x, y, 1, upp)).unwrap();
    assert_eq!(v.poll_event(), Some(PortEvent::NodeInUse(D)));
    // The driver's answer.
    v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
    assert_eq!(v.get_message(x), Err(GetMessageError::PeerClosed));
}

/// As above, an ObserveProxy: x's peer would now be on the lost node D.
#[test]
fn lost_node_named_by_observe_proxy() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
    settle(&mut v, &[D]);
    let op = EventKind::ObserveProxy {
        proxy_node: B,
        proxy_port: y,
        target_node: D,
        target_port: PortName::new(0xd, 3),
    };
    v.handle_event(B, ev(x, y, 1, op)).unwrap();
    assert_eq!(v.poll_event(), Some(PortEvent::NodeInUse(D)));
    // The driver's answer.
    v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
    assert!(v.get_status(x).unwrap().peer_closed);
    assert_eq!(v.get_message(x), Err(GetMessageError::PeerClosed));
}

/// As above, a carried port whose peer is on the lost node D.
#[test]
fn lost_node_named_by_a_carried_port() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
    settle(&mut v, &[D]);
    let n = PortName::new(0x7e, 8);
    let mut dd = desc(B, 1, 1);
    dd.peer_node = D;
    dd.peer_port = PortName::new(0xd, 3);
    v.handle_event(B, ev(x, y, 1, carrying(1, &[(n, dd)])))
        .unwrap();
    assert_eq!(v.poll_event(), Some(PortEvent::NodeInUse(D)));
    // The driver's answer.
    v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
    assert_eq!(v.port_state(n), Some(PortState::Receiving));
    assert!(v.get_status(n).unwrap().peer_closed);
    assert_eq!(v.get_message(n), Err(GetMessageError::PeerClosed));
}

#[test]
fn carried_ports_over_the_port_table_are_rejected_whole() {
    let mut v = victim(config());
    let (x, y) = cross(&mut v);
    for _ in 0..31 {
        v.create_port_pair().unwrap();
    }
    assert_eq!(v.port_count(), 63, "one slot left of TNode's 64");
    drain(&mut v);
    let two = [
        (PortName::new(0x7e, 10), desc(B, 1, 1)),
        (PortName::new(0x7e, 11), desc(B, 1, 1)),
    ];
    let err = v
        .handle_event(B, ev(x, y, 1, carrying(1, &two)))
        .unwrap_err()
        .protocol()
        .unwrap();
    assert_eq!((err.node, err.violation), (B, Violation::CapacityExceeded));
    // All or nothing: no port half-accepted, no PortAccepted sent.
    assert_eq!(v.port_count(), 63);
    assert!(drain(&mut v).is_empty());
}

/// Once a port's previous peer is lost, nothing more is processed or held
/// for it; a message sent to it is dropped, and the ports it carries are
/// accepted and closed so their senders' proxies are released.
#[test]
fn a_route_torn_down_by_node_loss_holds_nothing_more() {
    let mut v = victim(config());
    let (x, _y) = prev_on_b_peer_on_c(&mut v);
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    drain(&mut v);
    let n = PortName::new(0x7e, 12);
    let mut dd = desc(D, 1, 1);
    dd.peer_port = PortName::new(0xd, 5);
    dd.referring_port = PortName::new(0xd, 6);
    let e = ev(x, PortName::new(0xd, 7), 1, carrying(1, &[(n, dd)]));
    v.handle_event(D, e).unwrap();
    assert_eq!(v.held_count(), 0);
    assert_eq!(v.port_state(n), None);
    let out = drain(&mut v);
    assert!(out.iter().any(|(to, e)| *to == D
        && e.port == PortName::new(0xd, 6)
        && matches!(e.kind, EventKind::PortAccepted)));
    assert!(out.iter().any(|(to, e)| *to == D
        && e.port == PortName::new(0xd, 5)
        && matches!(e.kind, EventKind::ObserveClosure { .. })));
}

/// x (victim) re-pointed from y@B to z@C by y's direct bypass request:
/// x is unconfirmed towards C.
fn repointed(v: &mut TNode) -> (PortName, PortName) {
    let (x, y) = cross(v);
    let z = PortName::new(0xc0c, 3);
    let req = ev(
        x,
        y,
        u64::MAX,
        EventKind::ObserveProxyDirect {
            target_node: C,
            target_port: z,
        },
    );
    v.handle_event(B, req).unwrap();
    drain(v);
    (x, z)
}

#[test]
fn forged_or_unsolicited_confirmations_change_nothing() {
    let cfg = Config {
        direct_bypass: true,
        ..Config::default()
    };
    let mut v = victim(cfg);
    let (x, z) = repointed(&mut v);
    for i in 0..20u8 {
        v.send_user_message(x, pl(&[i]), &[]).unwrap();
    }
    let out = drain(&mut v);
    // The window (16, typed from the documented default) went to C.
    assert_eq!(out.len(), 16);
    assert!(out.iter().all(|(n, e)| *n == C && e.port == z));
    assert_eq!(v.waiting_count(), 4);
    let confirm = |port, from_port| ev(port, from_port, u64::MAX, EventKind::PeerConfirmed);
    // From a node that is not x's peer, naming x's peer port: nothing.
    assert_eq!(v.handle_event(D, confirm(x, z)), Ok(()));
    // From the peer's node but another port: nothing.
    let other = PortName::new(0xc0c, 4);
    assert_eq!(v.handle_event(C, confirm(x, other)), Ok(()));
    // To a port with no window, and to an unknown port: nothing.
    let (w, wy) = cross(&mut v);
    assert_eq!(v.handle_event(B, confirm(w, wy)), Ok(()));
    assert_eq!(
        v.handle_event(C, confirm(PortName::new(0xdead, 1), z)),
        Ok(())
    );
    assert!(
        drain(&mut v).is_empty(),
        "no output from forged confirmations"
    );
    assert_eq!(v.waiting_count(), 4);
    assert_eq!(v.stats().dropped_confirmations, 4);
    assert_eq!(v.stats().violations, 0);
    // The real one from z@C releases the rest, in order.
    v.handle_event(C, confirm(x, z)).unwrap();
    let out = drain(&mut v);
    assert_eq!(v.waiting_count(), 0);
    let ctl: Vec<u64> = out.iter().map(|(_, e)| e.control_seq).collect();
    assert_eq!(ctl, vec![17, 18, 19, 20]);
    // A second (stale) one changes nothing either.
    v.handle_event(C, confirm(x, z)).unwrap();
    assert!(drain(&mut v).is_empty());
    v.send_user_message(x, pl(b"after"), &[]).unwrap();
    assert_eq!(drain(&mut v).len(), 1, "confirmed: no window any more");
}

#[test]
fn a_full_waiting_room_refuses_sends_without_changing_anything() {
    // Without flow control, which would refuse at 64 unacknowledged
    // messages, before the waiting room is full.
    let cfg = Config {
        direct_bypass: true,
        flow_control: false,
        ..Config::default()
    };
    let mut v = victim(cfg);
    let (x, _z) = repointed(&mut v);
    let (a, _ay) = cross(&mut v);
    // 16 in the window + 64 waiting (max_queued_per_port default).
    for i in 0..80u32 {
        v.send_user_message(x, pl(&i.to_le_bytes()), &[]).unwrap();
    }
    assert_eq!(v.waiting_count(), 64);
    assert!(v.would_block(x), "the refusal is predictable");
    assert!(!v.would_block(a), "other ports unaffected");
    let ports_before = v.port_count();
    assert_eq!(
        v.send_user_message(x, pl(b"x"), &[a]),
        Err(hyperport::ports::SendError::WouldBlock)
    );
    assert_eq!(v.port_count(), ports_before, "attached port kept");
    assert_eq!(v.port_state(a), Some(PortState::Receiving));
    assert_eq!(v.waiting_count(), 64);
}

/// A local peer (both ends on this node): a send that would overflow the
/// peer's queue (`max_queued_per_port`, 64) is refused with `WouldBlock`
/// instead of being dropped later, when the local queue is drained, as a
/// violation of the node against itself (seed 14288 lost a message so,
/// silently: `send_user_message` had returned `Ok`).
#[test]
fn a_full_local_queue_refuses_sends_instead_of_dropping_them() {
    // Without flow control (which would refuse the 65th as well, and keep
    // refusing until a read acknowledgement): the local room check alone.
    let mut v = victim(Config {
        flow_control: false,
        ..Config::default()
    });
    let (a, b) = v.create_port_pair().unwrap();
    for i in 0..64u32 {
        v.send_user_message(a, pl(&i.to_le_bytes()), &[]).unwrap();
    }
    // Refused before and after the local queue is drained.
    assert!(v.would_block(a));
    assert_eq!(
        v.send_user_message(a, pl(b"x"), &[]),
        Err(hyperport::ports::SendError::WouldBlock)
    );
    drain(&mut v);
    assert_eq!(
        v.send_user_message(a, pl(b"x"), &[]),
        Err(hyperport::ports::SendError::WouldBlock)
    );
    // Reading one makes room for one.
    assert!(v.get_message(b).unwrap().is_some());
    assert!(!v.would_block(a));
    v.send_user_message(a, pl(b"y"), &[]).unwrap();
    drain(&mut v);
    let mut n = 0;
    while v.get_message(b).unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 64, "63 left of the first 64, then y");
    assert_eq!(v.stats().violations, 0);
}

/// The same for the node's message pool (`MSGS`, 192 in the tests): three
/// local routes with 64 unread messages each fill it, and a fourth route's
/// first send is refused rather than silently lost.
#[test]
fn a_full_message_pool_refuses_local_sends_instead_of_dropping_them() {
    let mut v = victim(Config {
        flow_control: false,
        ..Config::default()
    });
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (a, b) = v.create_port_pair().unwrap();
        for i in 0..64u32 {
            v.send_user_message(a, pl(&i.to_le_bytes()), &[]).unwrap();
        }
        readers.push(b);
    }
    let (c, d) = v.create_port_pair().unwrap();
    assert_eq!(
        v.send_user_message(c, pl(b"x"), &[]),
        Err(hyperport::ports::SendError::WouldBlock)
    );
    drain(&mut v);
    assert_eq!(v.queued_count(), 192);
    assert!(v.get_message(readers[0]).unwrap().is_some());
    v.send_user_message(c, pl(b"y"), &[]).unwrap();
    drain(&mut v);
    assert!(v.get_message(d).unwrap().is_some());
    assert_eq!(v.stats().violations, 0);
}

/// A port on the victim, paired with `y` on B, then re-pointed by y's
/// direct bypass request to `z` on C: unconfirmed towards C.
fn repointed_to(v: &mut TNode, y: PortName, z: PortName) -> PortName {
    let x = v.create_uninitialized_port().unwrap();
    v.initialize_port(x, B, y, B, y).unwrap();
    let req = EventKind::ObserveProxyDirect {
        target_node: C,
        target_port: z,
    };
    v.handle_event(B, ev(x, y, u64::MAX, req)).unwrap();
    drain(v);
    x
}

/// Window use is shared by every edge of a node towards one receiving node
/// (`max_held_per_node`). An edge whose first event waits only because
/// other edges used that budget, and whose port has gone since (closed
/// here), gets no confirmation of its own until that event arrives: when
/// the other edges' window is released, the freed room is offered to it.
#[test]
fn a_freed_window_releases_the_waiting_event_of_a_gone_port() {
    let cfg = Config {
        direct_bypass: true,
        max_held_per_node: 16,
        ..Config::default()
    };
    let mut v = victim(cfg);
    let (z1, z2) = (PortName::new(0xc0c, 1), PortName::new(0xc0c, 2));
    let u = repointed_to(&mut v, PortName::new(0xb0b, 1), z1);
    let w = repointed_to(&mut v, PortName::new(0xb0b, 2), z2);
    for i in 0..16u32 {
        v.send_user_message(u, pl(&i.to_le_bytes()), &[]).unwrap();
    }
    v.send_user_message(w, pl(b"w"), &[]).unwrap();
    assert_eq!(
        v.waiting_count(),
        1,
        "the node-wide window towards C is full"
    );
    v.close_port(w).unwrap();
    drain(&mut v);
    // C confirms u's edge: the window towards C is free again.
    let confirm = ev(u, z1, u64::MAX, EventKind::PeerConfirmed);
    v.handle_event(C, confirm).unwrap();
    let out = drain(&mut v);
    assert!(
        out.iter().any(|(n, e)| *n == C
            && e.port == z2
            && e.from_port == w
            && e.control_seq == 1
            && matches!(e.kind, EventKind::UserMessage(_))),
        "w's first event left: {out:?}"
    );
}

/// The UpdatePreviousPeer a port sends when it moves away is the last event
/// of its old edge: with that edge unconfirmed and its window full (the old
/// peer may hold a full window of ours), it waits for the confirmation like
/// the rest of the edge (sent at once, it would be one more event held
/// there, and the honest node would be reported).
#[test]
fn a_moved_ports_update_previous_peer_waits_for_its_old_edges_window() {
    let cfg = Config {
        direct_bypass: true,
        ..Config::default()
    };
    let mut v = victim(cfg);
    let z = PortName::new(0xc0c, 1);
    let x = repointed_to(&mut v, PortName::new(0xb0b, 1), z);
    for i in 0..16u32 {
        v.send_user_message(x, pl(&i.to_le_bytes()), &[]).unwrap();
    }
    let carrier = v.create_uninitialized_port().unwrap();
    let dy = PortName::new(0xd0d, 1);
    v.initialize_port(carrier, D, dy, D, dy).unwrap();
    drain(&mut v);
    v.send_user_message(carrier, pl(b"carry"), &[x]).unwrap();
    let is_upp = |e: &Ev| e.port == z && matches!(e.kind, EventKind::UpdatePreviousPeer { .. });
    assert!(
        !drain(&mut v).iter().any(|(_, e)| is_upp(e)),
        "UPP sent past the window"
    );
    assert!(
        v.waiting_events()
            .any(|(p, n, e)| p == x && n == C && is_upp(e))
    );
    // C confirms the old edge: the UpdatePreviousPeer leaves.
    v.handle_event(C, ev(x, z, u64::MAX, EventKind::PeerConfirmed))
        .unwrap();
    assert!(drain(&mut v).iter().any(|(n, e)| *n == C && is_upp(e)));
    assert_eq!(v.waiting_count(), 0);
}

/// Events wait behind earlier events of their own *edge* only: a port moved
/// to the node of its old, unconfirmed peer leaves its old edge's last
/// event (UpdatePreviousPeer) waiting there, and the messages it then
/// forwards as a proxy to its new port, on the same node, go at once
/// (issue #16 item 2: they waited behind the other edge).
#[test]
fn a_new_edge_never_waits_behind_an_old_edge_to_the_same_node() {
    let cfg = Config {
        direct_bypass: true,
        ..Config::default()
    };
    let mut v = victim(cfg);
    let (y, z) = (PortName::new(0xb0b, 1), PortName::new(0xc0c, 1));
    let x = repointed_to(&mut v, y, z);
    for i in 0..16u32 {
        v.send_user_message(x, pl(&i.to_le_bytes()), &[]).unwrap();
    }
    // x moves to C, the node of its unconfirmed peer z.
    let carrier = v.create_uninitialized_port().unwrap();
    let cy = PortName::new(0xc0c, 9);
    v.initialize_port(carrier, C, cy, C, cy).unwrap();
    drain(&mut v);
    v.send_user_message(carrier, pl(b"carry"), &[x]).unwrap();
    let out = drain(&mut v);
    let x2 = out
        .iter()
        .find_map(|(_, e)| match &e.kind {
            EventKind::UserMessage(m) if e.port == cy => Some(m.ports[0].0),
            _ => None,
        })
        .expect("the carrier left");
    assert_eq!(
        v.waiting_count(),
        1,
        "the old edge's UpdatePreviousPeer waits"
    );
    v.handle_event(
        C,
        ev(x, PortName::INVALID, u64::MAX, EventKind::PortAccepted),
    )
    .unwrap();
    drain(&mut v);
    // x's previous peer y (on B) sends a message through the proxy.
    v.handle_event(B, ev(x, y, 1, msg(1, b"through"))).unwrap();
    let out = drain(&mut v);
    assert!(
        out.iter()
            .any(|(n, e)| *n == C && e.port == x2 && matches!(e.kind, EventKind::UserMessage(_))),
        "the new edge's message left at once: {out:?}"
    );
}

/// A port a node sends here (carried in a message) may name a local port
/// as its peer; until that node's proxy names it there, its events are
/// held at the local port. If that node is lost, nothing will ever name
/// it: its events are released with the node, like the node's own (found
/// by the `ports_hostile` fuzz target, corpus `regress-held-local-after-loss`:
/// the port was closed at once, and its ObserveClosure stayed held).
#[test]
fn events_of_a_port_a_lost_node_sent_here_are_released_with_it() {
    let mut v = victim(config());
    let (a, _b) = v.create_port_pair().unwrap();
    let (x, y) = cross(&mut v);
    let n = PortName::new(0x7e, 1);
    let d = PortDescriptor {
        peer_node: V,
        peer_port: a,
        referring_node: B,
        referring_port: PortName::new(0xb0b, 9),
        next_seq_to_send: 1,
        next_seq_to_receive: 1,
        last_seq_to_receive: 0,
        peer_closed: false,
    };
    v.handle_event(B, ev(x, y, 1, carrying(1, &[(n, d)])))
        .unwrap();
    let m = v.get_message(x).unwrap().unwrap();
    assert_eq!(m.ports.as_slice(), &[n]);
    v.close_port(n).unwrap();
    drain(&mut v);
    assert_eq!(
        v.inspect(a).unwrap().held,
        1,
        "n's closure waits for n to be named"
    );
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    assert_eq!(v.held_count(), 0, "released with B");
}

/// A local sender's events held by a local port (its previous peer, on
/// another node, has not named the sender yet) are bounded by the sender's
/// own windows and the pool, not by the per-port and per-node bounds meant
/// for other nodes: refusing them would lose messages `send_user_message`
/// had accepted, silently (a violation of the node against itself). In
/// Chromium-compatible mode there is no window, so they can exceed both.
#[test]
fn a_local_senders_held_events_are_not_refused_by_the_peer_bounds() {
    let cfg = config(); // Chromium-compatible: no send window.
    let mut v = victim(cfg);
    let x = v.create_uninitialized_port().unwrap();
    let y = v.create_uninitialized_port().unwrap();
    let p = PortName::new(0xb0b, 7);
    // y's previous peer is still a proxy on B; x (local) already sends to y.
    v.initialize_port(y, V, x, B, p).unwrap();
    v.initialize_port(x, V, y, V, y).unwrap();
    let n = cfg.max_held_per_node + 8; // past both peer bounds
    for i in 0..n as u32 {
        v.send_user_message(x, pl(&i.to_le_bytes()), &[]).unwrap();
    }
    drain(&mut v);
    // The messages and the flow control's read-ack request among them.
    assert_eq!(v.inspect(y).unwrap().held, n + 1, "all held, none refused");
    assert_eq!(v.stats().violations, 0);
    // B's proxy names x: everything is delivered, in order.
    v.handle_event(
        B,
        ev(y, p, 1, EventKind::UpdatePreviousPeer { node: V, port: x }),
    )
    .unwrap();
    for i in 0..n as u32 {
        let m = v.get_message(y).unwrap().expect("delivered");
        assert_eq!(&m.payload[..], &i.to_le_bytes());
    }
}

/// The same for a port re-pointed past a proxy on another node to a local
/// port: only that proxy's final UpdatePreviousPeer names it there, so its
/// events held there (here its ObserveClosure, sent when the node's loss
/// tears it down) are released with the node (found by the `ports_hostile`
/// fuzz target, corpus `regress-held-local-after-repoint`).
#[test]
fn events_of_a_port_repointed_by_a_lost_node_are_released_with_it() {
    let cfg = Config {
        direct_bypass: true,
        ..Config::default()
    };
    let mut v = victim(cfg);
    let (a, _b) = v.create_port_pair().unwrap();
    let (x, y) = cross(&mut v);
    let req = EventKind::ObserveProxyDirect {
        target_node: V,
        target_port: a,
    };
    v.handle_event(B, ev(x, y, u64::MAX, req)).unwrap();
    assert_eq!(v.inspect(x).unwrap().peer, (V, a));
    v.send_user_message(x, pl(b"to a"), &[]).unwrap();
    drain(&mut v);
    assert!(
        v.inspect(a).unwrap().held > 0,
        "held until B's proxy names x"
    );
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    assert_eq!(v.held_count(), 0, "released with B");
}

/// No event may make a port its own peer or its own previous peer, or
/// merge a route with itself: such a port would only ever send to itself,
/// and its events would wait for ever (found by the `ports_hostile` fuzz
/// target, corpus `regress-waiting-after-loss`: a MergePort whose port
/// shared the target's peer left events waiting for a window for ever).
#[test]
fn a_port_is_never_its_own_peer_or_previous_peer() {
    let cfg = Config {
        direct_bypass: true,
        ..Config::default()
    };
    let malformed = |r: Result<(), hyperport::ports::EventError>, from| {
        assert_eq!(
            r,
            Err(ProtocolError {
                node: from,
                violation: Violation::Malformed
            }
            .into())
        );
    };
    let mut v = victim(cfg);
    let (x, y) = cross(&mut v);
    // Re-pointed to itself (direct and targeted bypass requests).
    let to_self = EventKind::ObserveProxyDirect {
        target_node: V,
        target_port: x,
    };
    malformed(v.handle_event(B, ev(x, y, u64::MAX, to_self)), B);
    let to_self = EventKind::ObserveProxy {
        proxy_node: B,
        proxy_port: y,
        target_node: V,
        target_port: x,
    };
    malformed(v.handle_event(B, ev(x, y, 1, to_self)), B);
    assert_eq!(v.inspect(x).unwrap().peer, (B, y));
    // Named its own previous peer.
    let upp = EventKind::UpdatePreviousPeer { node: V, port: x };
    malformed(v.handle_event(B, ev(x, y, 2, upp)), B);
    assert_eq!(v.inspect(x).unwrap().prev, (B, y));
    // A carried port whose peer is itself.
    let n = PortName::new(0x7e, 3);
    let mut d = desc(B, 1, 1);
    d.peer_node = V;
    d.peer_port = n;
    malformed(v.handle_event(B, ev(x, y, 3, carrying(1, &[(n, d)]))), B);
    assert_eq!(v.port_state(n), None);
    // A MergePort whose new port would be its own peer, or share the
    // target's peer.
    let (t, u) = v.create_port_pair().unwrap();
    v.allow_merge(t, None).unwrap();
    drain(&mut v);
    for peer in [PortName::new(0x7e, 4), u] {
        let mut e = merge_event(t, PortName::new(0x7e, 4));
        if let EventKind::MergePort { descriptor, .. } = &mut e.kind {
            descriptor.peer_node = V;
            descriptor.peer_port = peer;
        }
        malformed(v.handle_event(C, e), C);
        assert_eq!(v.port_state(t), Some(PortState::Receiving));
        assert_eq!(v.port_state(PortName::new(0x7e, 4)), None);
    }
    assert_eq!(v.inspect(u).unwrap().peer, (V, t), "the route is intact");
}

/// Direct bypass with a send window of four (the per-port hold bound).
fn window_of_four() -> Config {
    Config {
        max_held_per_port: 4,
        max_held_per_node: 8,
        send_window: 4,
        direct_bypass: true,
        ..config()
    }
}

/// A port's send window towards a port of this node that only a remote
/// node's UpdatePreviousPeer would confirm ends with that node, even once
/// the port has moved on from that edge: what still waits on it is
/// dropped (found by the `ports_hostile` fuzz target, corpus
/// `regress-waiting-after-announcer-loss`: B re-created a just-closed port
/// under its old name, re-pointed it at its old local pair, and the
/// UpdatePreviousPeer of its move waited for that window for ever).
#[test]
fn a_window_towards_a_local_port_ends_with_the_node_that_was_to_confirm_it() {
    let mut v = victim(window_of_four());
    let (a, b) = v.create_port_pair().unwrap();
    v.close_port(a).unwrap();
    drain(&mut v);
    // B delivers, to the closed a, a message carrying a port n (peer on C)
    // and a port named a again (peer on B).
    let n = PortName::new(0x7e, 1);
    let d = |peer_node| PortDescriptor {
        peer_node,
        peer_port: a,
        referring_node: B,
        referring_port: a,
        next_seq_to_send: 4,
        next_seq_to_receive: 4,
        last_seq_to_receive: 4,
        peer_closed: false,
    };
    let _ = v.handle_event(B, ev(a, a, 0, carrying(4, &[(n, d(C)), (a, d(B))])));
    drain(&mut v);
    assert_eq!(v.inspect(a).unwrap().peer, (B, a));
    // B says its port bypasses itself: a's new peer is b, here, which
    // learns of a only from B.
    let direct = EventKind::ObserveProxyDirect {
        target_node: V,
        target_port: b,
    };
    let _ = v.handle_event(B, ev(a, a, 0, direct));
    drain(&mut v);
    let info = v.inspect(a).unwrap();
    assert_eq!(info.peer, (V, b));
    assert!(info.unconfirmed);
    // a uses its window towards b, then moves to C: its UpdatePreviousPeer
    // to b waits for that window.
    for _ in 0..4 {
        v.send_user_message(a, pl(b"m"), &[]).unwrap();
    }
    assert_eq!(
        v.inspect(a).unwrap().window_used,
        4,
        "the window is used up"
    );
    v.send_user_message(n, pl(b"carrier"), &[a]).unwrap();
    drain(&mut v);
    assert_eq!(v.waiting_count(), 1, "the move's UpdatePreviousPeer waits");
    // B, which alone could confirm that window, is lost: it ends.
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    drain(&mut v);
    assert_eq!(v.waiting_count(), 0, "released with B");
    v.lost_connection_to_node(C, Incarnation::FIRST).unwrap();
    drain(&mut v);
    assert_eq!(v.waiting_count(), 0);
    assert_eq!(v.held_count(), 0);
    let proxies: Vec<_> = v
        .ports()
        .filter(|(_, st)| *st != PortState::Receiving)
        .collect();
    assert!(proxies.is_empty(), "proxies left: {proxies:?}");
    // The window a used towards b is free again: a port that D sends here
    // with its peer on b sends its first message at once rather than
    // waiting behind a used-up window.
    let x = v.create_uninitialized_port().unwrap();
    let y = PortName::new(0xd0d, 1);
    v.initialize_port(x, D, y, D, y).unwrap();
    let m = PortName::new(0x7e, 2);
    let dm = PortDescriptor {
        peer_node: V,
        peer_port: b,
        referring_node: D,
        referring_port: PortName::new(0xd0d, 2),
        next_seq_to_send: 1,
        next_seq_to_receive: 1,
        last_seq_to_receive: 0,
        peer_closed: false,
    };
    v.handle_event(D, ev(x, y, 1, carrying(1, &[(m, dm)])))
        .unwrap();
    drain(&mut v);
    v.send_user_message(m, pl(b"m"), &[]).unwrap();
    drain(&mut v);
    assert_eq!(v.waiting_count(), 0, "no window left over from a");
}

/// An event that waits for a send window keeps the node it depends on,
/// even once its port is gone: here C merges five ports into targets that
/// do not exist, each made here with its peer on the local port b and
/// closed at once. Four closures are held at b (only C could name their
/// ports there) and fill the window towards b; the fifth waits. When C is
/// lost, all five go. Before, the fifth was sent once the window was freed,
/// without its cause (its port was gone), and held at b for ever (found by
/// the `ports_hostile` fuzz target, corpus
/// `regress-waiting-cause-of-a-closed-port`).
#[test]
fn a_waiting_event_of_a_closed_port_goes_with_the_node_it_depends_on() {
    let mut v = victim(window_of_four());
    let (_a, b) = v.create_port_pair().unwrap();
    for i in 0..5u64 {
        let merge = EventKind::MergePort {
            new_port: PortName::new(0x7e, i + 1),
            descriptor: PortDescriptor {
                peer_node: V,
                peer_port: b,
                referring_node: C,
                referring_port: PortName::new(0xc, i + 1),
                next_seq_to_send: 1,
                next_seq_to_receive: 1,
                last_seq_to_receive: 0,
                peer_closed: false,
            },
        };
        // No such target: the new port is closed at once.
        let target = PortName::new(0x7e, 100 + i);
        let _ = v.handle_event(C, ev(target, PortName::INVALID, u64::MAX, merge));
        drain(&mut v);
    }
    assert_eq!(v.inspect(b).unwrap().held, 4, "four closures held at b");
    assert_eq!(v.waiting_count(), 1, "the fifth waits for the window");
    v.lost_connection_to_node(C, Incarnation::FIRST).unwrap();
    drain(&mut v);
    assert_eq!(v.waiting_count(), 0, "dropped with C");
    assert_eq!(v.held_count(), 0, "released with C");
}

/// A merge whose new port names a local port as its peer: the merged ports
/// swap peers, so x (which B shares) now sends to the local port b, which
/// learns of x only from the new port's UpdatePreviousPeer, and the new
/// port's own events to b depend on C, which sent it. Both wait at b for C;
/// when B and C are lost nothing stays held. Before, the UpdatePreviousPeer
/// (sent after the swap, on an edge the new port had left) and x's closure
/// kept no cause and were held at b for ever (found by the `ports_hostile`
/// fuzz target, corpus `regress-held-after-merge-to-a-local-peer`).
#[test]
fn a_merge_onto_a_local_peer_leaves_nothing_held_after_the_losses() {
    let mut v = victim(window_of_four());
    let (_a, b) = v.create_port_pair().unwrap();
    let (x, _y) = cross(&mut v);
    v.allow_merge(x, None).unwrap();
    drain(&mut v);
    let merge = EventKind::MergePort {
        new_port: PortName::new(0x7e, 1),
        descriptor: PortDescriptor {
            peer_node: V,
            peer_port: b,
            referring_node: C,
            referring_port: PortName::new(0xc, 1),
            next_seq_to_send: 1,
            next_seq_to_receive: 1,
            last_seq_to_receive: 0,
            peer_closed: false,
        },
    };
    v.handle_event(C, ev(x, PortName::INVALID, u64::MAX, merge))
        .unwrap();
    drain(&mut v);
    assert!(v.inspect(b).unwrap().held > 0, "waiting at b for C");
    for n in [B, C] {
        v.lost_connection_to_node(n, Incarnation::FIRST).unwrap();
        drain(&mut v);
    }
    let held: Vec<_> = v.held_events().map(|(p, n, _)| (p, n)).collect();
    assert!(held.is_empty(), "held after the losses: {held:?}");
    assert_eq!(v.waiting_count(), 0);
}

/// A merge whose new port names, as its peer, a port of this node that does
/// not exist: the merged port x becomes a proxy towards that missing port,
/// which only C (the merging node) could make take x's events. A missing
/// local peer alone ends nothing (an honest moved port may still be on its
/// way, and D's loss changes nothing), but C's loss does: x's route is
/// broken like a route through C, so x dies and is announced to B, whose
/// port still sends to it. Before, x stayed a proxy, forwarding into the
/// void, until its previous peer's node was lost; with a local previous
/// peer that could not bypass it, for ever (found by the `ports_hostile`
/// fuzz target, FUZZING.md finding 7, corpus
/// `regress-proxy-to-a-missing-local-port`, where C named the missing port
/// after merging into the name of a port it had just merged away).
#[test]
fn a_proxy_towards_a_missing_local_port_ends_with_the_node_that_named_it() {
    let mut v = victim(window_of_four());
    let (x, y) = cross(&mut v);
    v.allow_merge(x, None).unwrap();
    drain(&mut v);
    let missing = PortName::new(0x7e, 2);
    let merge = EventKind::MergePort {
        new_port: PortName::new(0x7e, 1),
        descriptor: PortDescriptor {
            peer_node: V,
            peer_port: missing,
            referring_node: C,
            referring_port: PortName::new(0xc, 1),
            next_seq_to_send: 1,
            next_seq_to_receive: 1,
            last_seq_to_receive: 0,
            peer_closed: false,
        },
    };
    v.handle_event(C, ev(x, PortName::INVALID, u64::MAX, merge))
        .unwrap();
    drain(&mut v);
    let info = v.inspect(x).unwrap();
    assert_eq!(info.state, PortState::Proxying);
    assert_eq!(info.peer, (V, missing));
    assert_eq!(info.prev, (B, y));
    // A node that never named the missing port: nothing changes.
    v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
    drain(&mut v);
    assert_eq!(v.port_state(x), Some(PortState::Proxying));
    while v.poll_broadcast().is_some() {}
    // C, the only node that could name x to the missing port, is lost: x
    // dies and says so, like a proxy towards a lost node.
    v.lost_connection_to_node(C, Incarnation::FIRST).unwrap();
    drain(&mut v);
    assert_eq!(v.port_state(x), None, "x ended with C");
    let mut dead = Vec::new();
    while let Some(e) = v.poll_broadcast() {
        if let EventKind::ObserveProxy { proxy_port, .. } = e.kind {
            dead.push(proxy_port);
        }
    }
    assert!(dead.contains(&x), "x announced dead: {dead:?}");
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    drain(&mut v);
    let proxies: Vec<_> = v
        .ports()
        .filter(|(_, st)| *st != PortState::Receiving)
        .collect();
    assert!(proxies.is_empty(), "proxies left: {proxies:?}");
    assert_eq!(v.held_count(), 0);
    assert_eq!(v.waiting_count(), 0);
}
