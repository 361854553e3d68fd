// Shared body of tests/ports_conformance.rs (Chromium bypass) and
// tests/ports_conformance_direct.rs (direct bypass extension).

use hyperport::ports::{
    GetMessageError, NodeName, PortName, PortState, SendError, ShutdownPolicy,
};
use ports_common::*;

/// The event type a proxy uses to ask to be bypassed in this mode.
fn bypass_request() -> u32 {
    if DIRECT { OBSERVE_PROXY_DIRECT } else { OBSERVE_PROXY }
}

fn net_new(n: usize, seed: u64) -> Net {
    let cfg = hyperport::ports::Config {
        direct_bypass: DIRECT,
        ..config()
    };
    Net::with_config(n, seed, cfg)
}

const STRICT: ShutdownPolicy = ShutdownPolicy::DontAllowLocalPorts;
const LOCAL_OK: ShutdownPolicy = ShutdownPolicy::AllowLocalPorts;

/// Every node is empty: no port, no proxy, no held event, no queued message.
fn assert_clean(net: &mut Net) {
    for i in 0..net.len() {
        let n = net.node(i);
        assert!(
            n.can_shutdown_cleanly(STRICT),
            "node {i} still has ports: {:?}",
            n.ports().collect::<Vec<_>>()
        );
        assert_eq!(n.held_count(), 0, "node {i} holds events");
        assert_eq!(n.queued_count(), 0, "node {i} queues messages");
        assert_eq!(n.stats().dropped_outputs, 0);
    }
    assert!(net.errors().is_empty(), "protocol errors: {:?}", net.errors());
}

fn text(m: &hyperport::ports::Message<Pl, 4>) -> &[u8] {
    &m.payload
}

fn pair(net: &mut Net, i: usize) -> (PortName, PortName) {
    net.with(i, |n| n.create_port_pair()).unwrap()
}

fn status(net: &mut Net, i: usize, p: PortName) -> hyperport::ports::PortStatus {
    net.node(i).get_status(p).unwrap()
}

#[test]
fn basic1() {
    let mut net = net_new(2, 1);
    let (x0, x1) = net.cross_pair(0, 1);
    let (a0, a1) = pair(&mut net, 0);
    net.send(0, x0, b"hello", &[a1]);
    net.close(0, a0);
    net.close(0, x0);
    net.close(1, x1);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn basic2() {
    let mut net = net_new(2, 2);
    let (x0, x1) = net.cross_pair(0, 1);
    let (b0, b1) = pair(&mut net, 0);
    net.send(0, x0, b"hello", &[b1]);
    net.send(0, b0, b"hello again", &[]);
    net.close(0, b0);
    net.close(0, x0);
    net.close(1, x1);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn basic3() {
    let mut net = net_new(2, 3);
    let (x0, x1) = net.cross_pair(0, 1);
    let (a0, a1) = pair(&mut net, 0);
    net.send(0, x0, b"hello", &[a1]);
    net.send(0, a0, b"hello again", &[]);
    net.send(0, x0, b"foo", &[a0]);
    let (b0, b1) = pair(&mut net, 0);
    net.send(0, x0, b"bar", &[b1]);
    net.send(0, b0, b"baz", &[]);
    net.close(0, b0);
    net.close(0, x0);
    net.close(1, x1);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn lost_connection_to_node1() {
    let mut net = net_new(2, 4);
    let (x0, x1) = net.cross_pair(0, 1);
    net.idle();
    net.set_drop(1, true);
    let (a0, a1) = pair(&mut net, 0);
    net.send(0, x0, b"foo", &[a1]);
    net.idle();
    net.remove_node(1);
    net.close(0, a0);
    net.close(0, x0);
    net.close(1, x1);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn lost_connection_to_node2() {
    let mut net = net_new(2, 5);
    let (x0, x1) = net.cross_pair(0, 1);
    let (a0, a1) = pair(&mut net, 0);
    net.send(0, x0, b"take a1", &[a1]);
    net.idle();
    net.set_drop(1, true);
    net.remove_node(1);
    net.idle();
    assert_eq!(
        net.with(0, |n| n.get_message(a0)),
        Err(GetMessageError::PeerClosed)
    );
    // Node 1 can still read the carrier message.
    let m = net.get(1, x1).expect("carrier message");
    assert_eq!(text(&m), b"take a1");
    assert_eq!(m.ports.len(), 1);
    net.close(1, m.ports[0]);
    net.close(0, a0);
    net.close(0, x0);
    net.close(1, x1);
    net.idle();
    assert_clean(&mut net);
}

fn secondary_proxy_setup(net: &mut Net) -> [PortName; 6] {
    let (a, b) = net.cross_pair(0, 1);
    let (c, d) = net.cross_pair(1, 2);
    let (e, f) = pair(net, 0);
    net.send(0, a, b".", &[f]);
    net.idle();
    let m = net.get(1, b).unwrap();
    let f1 = m.ports[0];
    [a, b, c, d, e, f1]
}

#[test]
fn lost_connection_to_node_with_secondary_proxy() {
    let mut net = net_new(3, 6);
    let [a, b, c, d, e, f1] = secondary_proxy_setup(&mut net);
    // Hold F's bypass request where it goes: around the route to node 2
    // (Chromium), or straight to its previous peer E on node 0 (direct).
    let holder = if DIRECT { 0 } else { 2 };
    net.block(holder, Some(bypass_request()));
    net.send(1, c, b".", &[f1]);
    net.idle();
    // Node 1 loses node 2 while F's proxy on node 1 waits for its ack.
    net.cut_link(1, 2);
    net.lose(1, 2);
    if DIRECT {
        // The held direct request still reaches E before the dead-proxy
        // broadcast (same link), so E re-points to F's new home on node 2,
        // whose previous peer is F's proxy on node 1. The cut link is
        // symmetric: node 2 learns it too, and (hardening) tears that port
        // down, which closes E's route as the scenario expects.
        net.lose(2, 1);
    }
    net.block(holder, None);
    net.idle();
    assert_eq!(net.node(1).port_state(f1), None, "proxy on node 1 is gone");
    assert!(status(&mut net, 0, e).peer_closed, "E sees its peer closed");
    net.close(0, a);
    net.close(1, b);
    net.close(1, c);
    net.close(2, d);
    net.close(0, e);
    net.idle();
    for i in 0..3 {
        assert!(net.node(i).can_shutdown_cleanly(STRICT), "node {i}");
    }
}

#[test]
fn lost_connection_to_node_after_sending_observe_proxy() {
    let mut net = net_new(3, 7);
    let [a, b, c, d, e, f1] = secondary_proxy_setup(&mut net);
    net.block(0, Some(bypass_request()));
    net.send(1, c, b".", &[f1]);
    net.idle();
    net.cut_link(1, 2);
    net.lose(1, 2);
    net.block(0, None);
    net.idle();
    assert_eq!(net.node(1).port_state(f1), None, "closed proxy is erased");
    // The held ObserveProxy reached E before the dead-proxy broadcast, so E
    // re-pointed to F's new home on node 2 (a live link): no closure.
    assert!(!status(&mut net, 0, e).peer_closed);
    net.close(0, a);
    net.close(1, b);
    net.close(1, c);
    net.close(2, d);
    net.close(0, e);
    net.idle();
    for i in 0..3 {
        assert!(net.node(i).can_shutdown_cleanly(STRICT), "node {i}");
    }
}

#[test]
fn lost_connection_to_node_with_local_proxy() {
    let mut net = net_new(2, 8);
    let (a, b) = net.cross_pair(0, 1);
    let (c, d) = pair(&mut net, 0);
    // Keep D's proxy on node 0: hold its bypass request (Chromium), or,
    // since the direct request to C is local, hold the PortAccepted.
    let held = if DIRECT { PORT_ACCEPTED } else { OBSERVE_PROXY };
    net.block(0, Some(held));
    net.send(0, a, b"foo", &[d]);
    net.idle();
    assert!(matches!(
        net.node(0).port_state(d),
        Some(PortState::Proxying | PortState::Buffering)
    ));
    let m = net.get(1, b).unwrap();
    assert_eq!(m.ports.len(), 1);
    net.remove_node(1);
    net.block(0, None);
    net.idle();
    assert_eq!(net.node(0).port_state(d), None);
    assert!(status(&mut net, 0, c).peer_closed);
    net.close(0, a);
    net.close(0, c);
    net.idle();
    assert!(net.node(0).can_shutdown_cleanly(STRICT));
}

#[test]
fn get_message1() {
    let mut net = net_new(1, 9);
    let (a0, a1) = pair(&mut net, 0);
    assert!(net.get(0, a0).is_none());
    net.close(0, a1);
    net.idle();
    assert_eq!(
        net.with(0, |n| n.get_message(a0)),
        Err(GetMessageError::PeerClosed)
    );
    net.close(0, a0);
    assert_clean(&mut net);
}

#[test]
fn get_message2() {
    let mut net = net_new(1, 10);
    let (a0, a1) = pair(&mut net, 0);
    net.send(0, a1, b"1", &[]);
    net.idle();
    let m = net.get(0, a0).unwrap();
    assert_eq!(text(&m), b"1");
    assert!(m.ports.is_empty());
    net.close(0, a0);
    net.close(0, a1);
    assert_clean(&mut net);
}

#[test]
fn get_message3() {
    let mut net = net_new(1, 11);
    let (a0, a1) = pair(&mut net, 0);
    for s in [b"1", b"2", b"3"] {
        net.send(0, a1, s, &[]);
    }
    net.idle();
    for s in [b"1", b"2", b"3"] {
        assert_eq!(text(&net.get(0, a0).unwrap()), s);
    }
    net.close(0, a0);
    net.close(0, a1);
    assert_clean(&mut net);
}

#[test]
fn delegation1() {
    let mut net = net_new(2, 12);
    let (x0, x1) = net.cross_pair(0, 1);
    let (a0, a1) = pair(&mut net, 0);
    net.send(0, x0, b"a1", &[a1]);
    net.idle();
    let m = net.get(1, x1).unwrap();
    let a2 = m.ports[0];
    net.send(1, x1, b"a2", &[a2]);
    net.send(0, a0, b"hello", &[]);
    net.idle();
    let m = net.get(0, x0).unwrap();
    assert_eq!(text(&m), b"a2");
    let a3 = m.ports[0];
    let m = net.get(0, a3).unwrap();
    assert_eq!(text(&m), b"hello");
    assert!(m.ports.is_empty());
    for (i, p) in [(0, a0), (0, a3), (0, x0), (1, x1)] {
        net.close(i, p);
    }
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn delegation2() {
    for seed in 0..100 {
        let mut net = net_new(2, 1300 + seed);
        net.set_save(1, true);
        let (a, b) = net.cross_pair(0, 1);
        let (c, d) = pair(&mut net, 0);
        let (e, f) = pair(&mut net, 0);
        net.send(0, a, b"d", &[d]);
        net.send(0, c, b"f", &[f]);
        net.send(0, e, b"hello", &[]);
        net.idle();
        let got = net.saved(1).iter().any(|(_, m)| text(m) == b"hello");
        assert!(got, "seed {seed}: hello not received");
        let _ = b;
    }
}

#[test]
fn send_uninitialized() {
    let mut net = net_new(1, 14);
    let x = net.with(0, |n| n.create_uninitialized_port()).unwrap();
    assert_eq!(
        net.with(0, |n| n.send_user_message(x, pl(b"oops"), &[])),
        Err(SendError::StateUnexpected)
    );
    net.close(0, x);
    assert_clean(&mut net);
}

#[test]
fn send_failure() {
    let mut net = net_new(1, 15);
    let (a, b) = pair(&mut net, 0);
    assert_eq!(
        net.with(0, |n| n.send_user_message(a, pl(b"oops"), &[a])),
        Err(SendError::CannotSendSelf)
    );
    assert_eq!(
        net.with(0, |n| n.send_user_message(a, pl(b"nope"), &[b])),
        Err(SendError::CannotSendPeer)
    );
    assert_eq!(net.node(0).port_state(b), None, "B was closed");
    net.idle();
    assert_eq!(
        net.with(0, |n| n.get_message(a)),
        Err(GetMessageError::PeerClosed),
        "nothing delivered, and A sees B closed"
    );
    net.close(0, a);
    assert_clean(&mut net);
}

#[test]
fn dont_leak_unreceived_ports() {
    let mut net = net_new(1, 16);
    let (a, b) = pair(&mut net, 0);
    let (c, d) = pair(&mut net, 0);
    net.send(0, a, b"foo", &[d]);
    net.close(0, c);
    net.close(0, a);
    net.close(0, b);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn allow_shutdown_with_local_ports_open() {
    let mut net = net_new(1, 17);
    let (a, b) = pair(&mut net, 0);
    let (c, d) = pair(&mut net, 0);
    net.send(0, a, b"foo", &[d]);
    net.idle();
    assert!(net.node(0).can_shutdown_cleanly(LOCAL_OK));
    assert!(!net.node(0).can_shutdown_cleanly(STRICT));
    let m = net.get(0, b).unwrap();
    let e = m.ports[0];
    for p in [a, b, c, e] {
        net.close(0, p);
    }
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn proxy_collapse1() {
    let mut net = net_new(1, 18);
    let (x, y) = pair(&mut net, 0);
    let (a, b) = pair(&mut net, 0);
    let mut moving = b;
    for _ in 0..3 {
        net.send(0, x, b"foo", &[moving]);
        net.idle();
        moving = net.get(0, y).unwrap().ports[0];
    }
    for p in [x, y, a, moving] {
        net.close(0, p);
    }
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn proxy_collapse2() {
    let mut net = net_new(1, 19);
    let (x, y) = pair(&mut net, 0);
    let (a, b) = pair(&mut net, 0);
    net.send(0, x, b"foo", &[b]);
    net.send(0, x, b"bar", &[a]);
    net.close(0, x);
    net.close(0, y);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn send_with_closed_peer() {
    let mut net = net_new(1, 20);
    let (x, y) = pair(&mut net, 0);
    let (a, b) = pair(&mut net, 0);
    net.send(0, a, b"hey", &[]);
    net.close(0, a);
    net.send(0, x, b"foo", &[b]);
    net.idle();
    let c = net.get(0, y).unwrap().ports[0];
    assert_eq!(text(&net.get(0, c).unwrap()), b"hey");
    let s = status(&mut net, 0, c);
    assert!(!s.receiving_messages && !s.has_messages && s.peer_closed);
    for p in [x, y, c] {
        net.close(0, p);
    }
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn send_with_closed_peer_sent() {
    let mut net = net_new(1, 21);
    let (x, y) = pair(&mut net, 0);
    let (a, b) = pair(&mut net, 0);
    net.send(0, x, b"foo", &[a]);
    net.idle();
    let c = net.get(0, y).unwrap().ports[0];
    net.send(0, x, b"bar", &[c]);
    net.idle();
    let d = net.get(0, y).unwrap().ports[0];
    net.send(0, d, b"hey", &[]);
    net.close(0, d);
    net.send(0, x, b"baz", &[b]);
    net.idle();
    let e = net.get(0, y).unwrap().ports[0];
    assert_eq!(text(&net.get(0, e).unwrap()), b"hey");
    let s = status(&mut net, 0, e);
    assert!(!s.receiving_messages && !s.has_messages && s.peer_closed);
    for p in [x, y, e] {
        net.close(0, p);
    }
    net.idle();
    assert_clean(&mut net);
}

/// A↔B on node 0, C↔D on node 1, merge B with C (C allowed).
fn merge_setup(net: &mut Net) -> [PortName; 4] {
    let (a, b) = pair(net, 0);
    let (c, d) = pair(net, 1);
    [a, b, c, d]
}

fn merge(net: &mut Net, b: PortName, c: PortName) {
    net.with(1, |n| n.allow_merge(c, Some(Net::name(0))))
        .unwrap();
    net.with(0, |n| n.merge_ports(b, Net::name(1), c)).unwrap();
    net.idle();
}

#[test]
fn merge_ports() {
    let mut net = net_new(2, 22);
    let [a, b, c, d] = merge_setup(&mut net);
    net.send(0, a, b"hey", &[]);
    merge(&mut net, b, c);
    assert!(net.node(0).can_shutdown_cleanly(LOCAL_OK));
    assert!(net.node(1).can_shutdown_cleanly(LOCAL_OK));
    assert_eq!(net.node(0).port_count(), 1, "only A remains on node 0");
    assert_eq!(net.node(1).port_count(), 1, "only D remains on node 1");
    assert_eq!(text(&net.get(1, d).unwrap()), b"hey");
    net.close(0, a);
    net.close(1, d);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn merge_port_with_closed_peer1() {
    let mut net = net_new(2, 23);
    let [a, b, c, d] = merge_setup(&mut net);
    net.send(0, a, b"hey", &[]);
    net.close(0, a);
    net.idle();
    merge(&mut net, b, c);
    assert_eq!(net.node(0).port_count(), 0);
    assert_eq!(text(&net.get(1, d).unwrap()), b"hey");
    assert_eq!(
        net.with(1, |n| n.get_message(d)),
        Err(GetMessageError::PeerClosed)
    );
    net.close(1, d);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn merge_port_with_closed_peer2() {
    let mut net = net_new(2, 24);
    let [a, b, c, d] = merge_setup(&mut net);
    net.send(1, d, b"hey", &[]);
    net.close(1, d);
    net.idle();
    merge(&mut net, b, c);
    assert_eq!(net.node(1).port_count(), 0);
    assert_eq!(text(&net.get(0, a).unwrap()), b"hey");
    net.close(0, a);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn merge_ports_with_closed_peers() {
    let mut net = net_new(2, 25);
    let [a, b, c, d] = merge_setup(&mut net);
    net.close(0, a);
    net.close(1, d);
    net.idle();
    merge(&mut net, b, c);
    assert_clean(&mut net);
}

#[test]
fn merge_ports_with_moved_peers() {
    let mut net = net_new(2, 26);
    let [a, b, c, d] = merge_setup(&mut net);
    let (x, y) = net.cross_pair(0, 1);
    net.send(0, x, b"a", &[a]);
    net.idle();
    let e = net.get(1, y).unwrap().ports[0];
    net.send(1, e, b"hey", &[]);
    net.send(1, d, b"hi", &[]);
    net.idle();
    merge(&mut net, b, c);
    assert_eq!(text(&net.get(1, e).unwrap()), b"hi");
    assert_eq!(text(&net.get(1, d).unwrap()), b"hey");
    for (i, p) in [(1, e), (1, d), (0, x), (1, y)] {
        net.close(i, p);
    }
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn merge_ports_fails_gracefully() {
    let mut net = net_new(2, 27);
    let [a, b, c, d] = merge_setup(&mut net);
    let (x, y) = net.cross_pair(0, 1);
    net.idle();
    net.block(1, Some(MERGE_PORT));
    net.with(1, |n| n.allow_merge(c, None)).unwrap();
    net.with(0, |n| n.merge_ports(b, Net::name(1), c)).unwrap();
    // Meanwhile C leaves node 1.
    net.send(1, y, b"c", &[c]);
    net.idle();
    net.block(1, None);
    net.idle();
    assert_eq!(net.node(0).port_state(b), None);
    assert_eq!(net.node(1).port_state(c), None);
    let e = net.get(0, x).unwrap().ports[0];
    assert_eq!(
        net.with(0, |n| n.get_message(a)),
        Err(GetMessageError::PeerClosed)
    );
    for (i, p) in [(0, a), (1, d), (0, e), (0, x), (1, y)] {
        net.close(i, p);
    }
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn remote_peer_status() {
    let mut net = net_new(2, 28);
    let (a, b) = pair(&mut net, 0);
    assert!(!status(&mut net, 0, a).peer_remote);
    assert!(!status(&mut net, 0, b).peer_remote);
    let (x0, x1) = net.cross_pair(0, 1);
    assert!(status(&mut net, 0, x0).peer_remote);
    assert!(status(&mut net, 1, x1).peer_remote);
    // b moves to node 1 and x1 to node 0 ...
    net.send(0, x0, b"b", &[b]);
    net.idle();
    let b1 = net.get(1, x1).unwrap().ports[0];
    assert!(status(&mut net, 0, a).peer_remote);
    assert!(status(&mut net, 1, b1).peer_remote);
    // ... and back.
    net.send(1, x1, b"b", &[b1]);
    net.idle();
    let b2 = net.get(0, x0).unwrap().ports[0];
    assert!(!status(&mut net, 0, a).peer_remote);
    assert!(!status(&mut net, 0, b2).peer_remote);
    for (i, p) in [(0, a), (0, b2), (0, x0), (1, x1)] {
        net.close(i, p);
    }
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn remote_peer_status_after_local_port_merge() {
    let mut net = net_new(2, 29);
    let (a, b) = pair(&mut net, 0);
    let (c, d) = net.cross_pair(0, 1);
    assert!(!status(&mut net, 0, a).peer_remote);
    net.with(0, |n| n.merge_local_ports(b, c)).unwrap();
    net.idle();
    assert!(status(&mut net, 0, a).peer_remote);
    assert!(status(&mut net, 1, d).peer_remote);
    net.close(0, a);
    net.close(1, d);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn remote_peer_status_after_remote_port_merge() {
    let mut net = net_new(2, 30);
    let [a, b, c, d] = merge_setup(&mut net);
    assert!(!status(&mut net, 0, a).peer_remote);
    assert!(!status(&mut net, 1, d).peer_remote);
    merge(&mut net, b, c);
    assert!(status(&mut net, 0, a).peer_remote);
    assert!(status(&mut net, 1, d).peer_remote);
    net.close(0, a);
    net.close(1, d);
    net.idle();
    assert_clean(&mut net);
}

#[test]
fn retransmit_user_message_events() {
    let mut net = net_new(1, 31);
    let (a, b) = pair(&mut net, 0);
    net.send(0, a, b"ping", &[]);
    let m = net.get(0, b).unwrap();
    assert_eq!(text(&m), b"ping");
    net.with(0, |n| n.send_user_message(b, m.payload, &[]))
        .unwrap();
    let m = net.get(0, a).unwrap();
    assert_eq!(text(&m), b"ping");
    net.with(0, |n| n.send_user_message(a, m.payload, &[]))
        .unwrap();
    let m = net.get(0, b).unwrap();
    assert_eq!(text(&m), b"ping");
    net.close(0, a);
    net.close(0, b);
    assert_clean(&mut net);
}

#[test]
fn set_acknowledge_request_interval() {
    let mut net = net_new(2, 32);
    let (a0, a1) = pair(&mut net, 0);
    let unacked = |net: &mut Net| status(net, 0, a0).unacknowledged_message_count;
    for i in 0..15u8 {
        net.send(0, a0, &[i], &[]);
    }
    for _ in 0..5 {
        net.get(0, a1).unwrap();
    }
    net.idle();
    assert_eq!(unacked(&mut net), 15);
    net.with(0, |n| n.set_acknowledge_request_interval(a0, 1))
        .unwrap();
    net.idle();
    assert_eq!(unacked(&mut net), 10);
    for _ in 0..5 {
        net.get(0, a1).unwrap();
    }
    net.idle();
    assert_eq!(unacked(&mut net), 5);
    // Move a1 to node 1 and read the rest there.
    let (x0, x1) = net.cross_pair(0, 1);
    net.send(0, x0, b"a1", &[a1]);
    net.idle();
    let a2 = net.get(1, x1).unwrap().ports[0];
    for _ in 0..5 {
        net.get(1, a2).unwrap();
    }
    net.idle();
    assert_eq!(unacked(&mut net), 0);
    net.with(0, |n| n.set_acknowledge_request_interval(a0, 0))
        .unwrap();
    for i in 0..10u8 {
        net.send(0, a0, &[i], &[]);
    }
    net.idle();
    assert_ne!(unacked(&mut net), 0);
    net.close(1, a2);
    net.idle();
    assert_eq!(unacked(&mut net), 0);
    for (i, p) in [(0, a0), (0, x0), (1, x1)] {
        net.close(i, p);
    }
    net.idle();
    assert_clean(&mut net);
}

// ----- name_unittest.cc -----

#[test]
fn name_defaults() {
    assert_eq!(PortName::default(), PortName::INVALID);
    assert_eq!(NodeName::default(), NodeName::INVALID);
    assert!(!PortName::default().is_valid());
}

fn hash_of<T: std::hash::Hash>(t: &T) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(t)
}

#[test]
fn port_name_checks() {
    let a = PortName::new(50, 100);
    let b = PortName::new(50, 100);
    let c = PortName::new(100, 50);
    let d = PortName::new(50, 101);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a < c && a < d && d < c);
    assert_eq!(hash_of(&a), hash_of(&b));
    assert_ne!(hash_of(&a), hash_of(&c));
}

#[test]
fn node_name_checks() {
    let a = NodeName::new(50, 100);
    let b = NodeName::new(50, 100);
    let c = NodeName::new(100, 50);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a < c && NodeName::new(50, 99) < a);
    assert_eq!(hash_of(&a), hash_of(&b));
    assert_ne!(hash_of(&a), hash_of(&c));
}
