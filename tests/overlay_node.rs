//! `overlay::Node` driven by hand: a line of three nodes over a perfect,
//! instant "network", checked step by step.

mod overlay_support;

use std::collections::VecDeque;

use hyperport::overlay::{Config, Event, Identity, node_name};
use hyperport::ports::{Bytes, PortName};
use hyperport::time::{Duration, Instant};
use overlay_support::{Mem, N, big_stack, node, pipe};

/// Delivers every datagram (1 ms per hop) and fires timers until `until`.
fn run(
    nodes: &mut [N<'_>],
    now: &mut Instant,
    until: Instant,
    events: &mut Vec<(u32, Event<u32>)>,
) {
    let mut wire = VecDeque::new();
    let lat = Duration::from_millis(1);
    overlay_support::run(nodes, now, until, lat, &mut wire, events, &|_, _| false);
}

/// Nodes 0 - 1 - 2 in a line (0 and 2 dial 1), run for five seconds from
/// time zero; returns the nodes and their public keys.
fn line_of_three<'m>(
    mems: &'m mut [Mem],
    now: &mut Instant,
    events: &mut Vec<(u32, Event<u32>)>,
) -> (Vec<N<'m>>, Vec<[u8; 32]>) {
    let t0 = *now;
    let mut nodes: Vec<N<'m>> = mems
        .iter_mut()
        .enumerate()
        .map(|(i, m)| node(i as u32, 1, Config::default(), m, t0))
        .collect();
    let keys: Vec<[u8; 32]> = nodes.iter().map(|n| n.public_key()).collect();
    nodes[0].connect(t0, keys[1], 1).unwrap();
    nodes[2].connect(t0, keys[1], 1).unwrap();
    run(&mut nodes, now, t0 + Duration::from_secs(5), events);
    (nodes, keys)
}

#[test]
fn three_nodes_in_a_line_route_ports_messages() {
    big_stack(three_nodes_in_a_line);
}

fn three_nodes_in_a_line() {
    let mut mems: Vec<Mem> = (0..3).map(|_| Mem::new(4, 4)).collect();
    let mut now = Instant::ZERO;
    let mut events = Vec::new();
    let (mut nodes, _keys) = line_of_three(&mut mems, &mut now, &mut events);
    let ups = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::PeerUp { .. }))
        .count();
    assert_eq!(ups, 4, "{events:?}");
    // No rank authority is configured: every node ranks 0 and the root is
    // the smallest key; all three agree on it, and exactly one is root.
    let root = nodes[0].routing().root().key;
    assert!(nodes.iter().all(|n| n.routing().root().key == root));
    assert_eq!(nodes.iter().filter(|n| n.routing().is_root()).count(), 1);
    // A pipe between 0 and 2: node 0 knows where 2 is (directory).
    let (p0, p2) = pipe(&mut nodes, now, 0, 2, true);
    for k in 0..5u8 {
        nodes[0]
            .ports_mut()
            .send_user_message(p0, Bytes::from_slice(&[k]).unwrap(), &[])
            .unwrap();
    }
    run(&mut nodes, &mut now, Instant::from_secs(10), &mut events);
    let mut got = Vec::new();
    while let Some(m) = nodes[2].ports_mut().get_message(p2).unwrap() {
        got.push(m.payload[0]);
    }
    assert_eq!(got, [0, 1, 2, 3, 4], "{events:?}");
    assert!(nodes.iter().all(|n| n.is_idle()));
    let _: PortName = p0;
}

/// Records queued while the first end-to-end handshake cannot even start
/// (no location yet) for longer than `dead_after`: once the session is up
/// they are delivered, and the correspondent is not declared lost (the dead
/// timer counts from the session's establishment, not from queueing; a
/// first handshake over a long lossy path can take longer than
/// `dead_after`). Fails without `Stream::session_up` in `e2e.rs`.
#[test]
fn a_slow_first_handshake_does_not_count_against_dead_after() {
    big_stack(slow_first_handshake);
}

fn slow_first_handshake() {
    let mut mems: Vec<Mem> = (0..3).map(|_| Mem::new(4, 4)).collect();
    let mut now = Instant::ZERO;
    let mut events = Vec::new();
    let (mut nodes, keys) = line_of_three(&mut mems, &mut now, &mut events);
    // Node 0 knows node 2's key, not yet where it is.
    let (p0, p2) = pipe(&mut nodes, now, 0, 2, false);
    for k in 0..3u8 {
        nodes[0]
            .ports_mut()
            .send_user_message(p0, Bytes::from_slice(&[k]).unwrap(), &[])
            .unwrap();
    }
    let dead_after = Config::default().dead_after;
    let late = now + dead_after + Duration::from_secs(10);
    run(&mut nodes, &mut now, late, &mut events);
    assert!(
        events
            .iter()
            .any(|(i, e)| *i == 0 && matches!(e, Event::LocationNeeded { key } if *key == keys[2])),
        "{events:?}"
    );
    // The directory answers late.
    let loc2 = nodes[2].location();
    nodes[0].set_location(now, keys[2], loc2).unwrap();
    let until = now + Duration::from_secs(5);
    run(&mut nodes, &mut now, until, &mut events);
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, Event::NodeLost { .. })),
        "{events:?}"
    );
    let mut got = Vec::new();
    while let Some(m) = nodes[2].ports_mut().get_message(p2).unwrap() {
        got.push(m.payload[0]);
    }
    assert_eq!(got, [0, 1, 2]);
    assert!(nodes.iter().all(|n| n.is_idle()));
}

/// A pipe that carries nothing for longer than `correspondent_ttl` stays
/// open: a correspondent a port names is not forgotten while the node knows
/// where it is; it is probed, which brings a session up, and neither node
/// is reported lost. Before, a correspondent that had never carried a
/// session was forgotten after `correspondent_ttl` and ports was told the
/// node was lost, closing an idle pipe between two live nodes.
#[test]
fn an_idle_pipe_outlives_the_correspondent_ttl() {
    big_stack(idle_pipe);
}

fn idle_pipe() {
    let mut mems: Vec<Mem> = (0..3).map(|_| Mem::new(4, 4)).collect();
    let mut now = Instant::ZERO;
    let mut events = Vec::new();
    let (mut nodes, _keys) = line_of_three(&mut mems, &mut now, &mut events);
    // Node 0 knows where 2 is; 2 only knows 0's key. Nothing is sent.
    let (p0, p2) = pipe(&mut nodes, now, 0, 2, true);
    let ttl = Config::default().correspondent_ttl;
    let until = now + ttl + ttl;
    run(&mut nodes, &mut now, until, &mut events);
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, Event::NodeLost { .. })),
        "{events:?}"
    );
    for (i, p) in [(0, p0), (2, p2)] {
        let info = nodes[i].ports().inspect(p).expect("the port is still open");
        assert!(!info.peer_closed, "node {i}: {info:?}");
    }
    // The pipe still carries messages both ways.
    nodes[0]
        .ports_mut()
        .send_user_message(p0, Bytes::from_slice(&[7]).unwrap(), &[])
        .unwrap();
    nodes[2]
        .ports_mut()
        .send_user_message(p2, Bytes::from_slice(&[8]).unwrap(), &[])
        .unwrap();
    let until = now + Duration::from_secs(5);
    run(&mut nodes, &mut now, until, &mut events);
    let m = nodes[2].ports_mut().get_message(p2).unwrap().unwrap();
    assert_eq!(m.payload[0], 7);
    let m = nodes[0].ports_mut().get_message(p0).unwrap().unwrap();
    assert_eq!(m.payload[0], 8);
}

/// The other side of the same rule: a correspondent a port names, that the
/// node knows where to find but that is not there (here: a key no node
/// holds, at node 2's location), is probed; the probe's handshake fails and
/// the port sees its peer closed well before `correspondent_ttl`. Fails
/// without the probe of correspondents that never carried a session (the
/// port would stay open until the correspondent was forgotten).
#[test]
fn a_port_naming_an_absent_node_is_closed_by_the_probe() {
    big_stack(absent_node);
}

fn absent_node() {
    let mut mems: Vec<Mem> = (0..3).map(|_| Mem::new(4, 4)).collect();
    let mut now = Instant::ZERO;
    let mut events = Vec::new();
    let (mut nodes, _keys) = line_of_three(&mut mems, &mut now, &mut events);
    let ghost = Identity::from_seed(&[99; 32]).public_key();
    let loc2 = nodes[2].location();
    nodes[0].set_location(now, ghost, loc2).unwrap();
    let p0 = nodes[0].ports_mut().create_uninitialized_port().unwrap();
    let ng = node_name(&ghost);
    let far = PortName::new(1, 2);
    nodes[0]
        .ports_mut()
        .initialize_port(p0, ng, far, ng, far)
        .unwrap();
    let ttl = Config::default().correspondent_ttl;
    let until = (now + ttl).saturating_sub(Duration::from_secs(1));
    run(&mut nodes, &mut now, until, &mut events);
    let closed = nodes[0]
        .ports()
        .inspect(p0)
        .is_none_or(|info| info.peer_closed);
    assert!(closed, "{:?} {events:?}", nodes[0].ports().inspect(p0));
}
