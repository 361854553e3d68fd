//! Hardening beyond the reference protocol. Each test drives a node with
//! forged or badly timed events and asserts the behaviour that the
//! reference (Chromium ports, see `/work/shared/reference/ports.md` §3.2)
//! does not have: each would fail against a node without the hardening.
#![cfg(feature = "sim")]

mod ports_common;

use hyperport::ports::{
    Config, Event, EventKind, GetMessageError, NodeName, PortDescriptor, PortName, PortState,
    ProtocolError, UserMessage, Violation,
};
use hyperport::rng::SeededRng;
use ports_common::*;

const V: NodeName = NodeName::new(0x76, 1);
const B: NodeName = NodeName::new(0x76, 2);
const C: NodeName = NodeName::new(0x76, 3);
const D: NodeName = NodeName::new(0x76, 4);

fn victim(cfg: Config) -> TNode {
    TNode::new(V, cfg, SeededRng::from_u64(99))
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
        })
    );
    assert_eq!(v.held_count(), 4, "no growth past the bound");
    assert!(
        !v.get_status(x).unwrap().peer_closed,
        "nothing forged was processed"
    );
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
    let err = v.handle_event(C, forged).unwrap_err();
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
    let err = v.handle_event(C, accepted(p)).unwrap_err();
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
    let err = v.handle_event(C, accepted(q)).unwrap_err();
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
    let err = v.handle_event(C, merge_event(t, new)).unwrap_err();
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
        .unwrap_err();
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
    let err = v.handle_event(C, merge_event(t, u)).unwrap_err();
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
        .unwrap_err();
    assert_eq!((err.node, err.violation), (B, Violation::Malformed));
    assert_eq!(v.port_count(), 1, "no port was created");
    assert!(
        drain(&mut v).iter().all(|(n, _)| *n != D),
        "nothing reflected to D"
    );
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
    let cfg = Config {
        direct_bypass: true,
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
    let mut v = victim(Config::default());
    let (a, b) = v.create_port_pair().unwrap();
    for i in 0..64u32 {
        v.send_user_message(a, pl(&i.to_le_bytes()), &[]).unwrap();
    }
    // Refused before and after the local queue is drained.
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
    let mut v = victim(Config::default());
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
