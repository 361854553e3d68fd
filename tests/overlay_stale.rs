//! The stale-metadata regression (shared/reference/failure-modes.md §2):
//! a neighbour reconnects (a new session, a new generation) while a
//! datagram prepared for its previous session waits in the transmit queue.
//! The queued datagram must be refused, never encrypted under the new
//! session.
//!
//! Line A - B - C. A sends a message to C through B; B decrypts the
//! routed packet and queues it for C (generation g). Before B drains its
//! queue, C restarts (same key, new incarnation) and handshakes again; its
//! hello tells B it is a new incarnation, so C's entry at B moves to a new
//! generation. When B drains, the queued packet is refused
//! (`SendFailed { StaleGeneration }`), and C's new incarnation receives no
//! routed packet. With the generation check removed from
//! `Node::poll_transmit`, the packet is encrypted under the new session and
//! C's new incarnation opens it: this test fails (checked by hand).

mod overlay_support;

use std::collections::VecDeque;

use hyperport::overlay::{Config, Event, SendFailure};
use hyperport::ports::Bytes;
use hyperport::time::{Duration, Instant};
use overlay_support::{Dgram, Mem, N, drain, identity, node, open_pipe, run};

#[test]
fn a_datagram_queued_for_a_previous_session_is_refused() {
    overlay_support::big_stack(stale_scenario);
}

fn stale_scenario() {
    eprintln!(
        "size_of Node {} B; slots {:?}",
        std::mem::size_of::<N<'static>>(),
        N::size_of_slots()
    );
    let mut mems: Vec<Mem> = (0..4).map(|_| Mem::new(4, 4)).collect();
    let (first, rest) = mems.split_at_mut(3);
    let mut now = Instant::ZERO;
    let mut nodes: Vec<N<'_>> = first
        .iter_mut()
        .enumerate()
        .map(|(i, m)| node(i as u32, 1, Config::default(), m, now))
        .collect();
    let key = |i: u32| identity(i).public_key();
    nodes[0].connect(now, key(1), 1).unwrap();
    nodes[2].connect(now, key(1), 1).unwrap();
    let lat = Duration::from_millis(1);
    let mut wire: VecDeque<Dgram> = VecDeque::new();
    let mut events = Vec::new();
    run(
        &mut nodes,
        &mut now,
        Instant::from_secs(5),
        lat,
        &mut wire,
        &mut events,
        &|_, _| false,
    );
    assert!(nodes[2].routing().is_root());

    // A pipe A -> C, established with one message.
    let (pa, pc) = open_pipe(&mut nodes, now, 0, 2);
    let msg = |k: u8| Bytes::from_slice(&[k]).unwrap();
    nodes[0]
        .ports_mut()
        .send_user_message(pa, msg(1), &[])
        .unwrap();
    let until = now + Duration::from_secs(3);
    run(
        &mut nodes,
        &mut now,
        until,
        lat,
        &mut wire,
        &mut events,
        &|_, _| false,
    );
    assert_eq!(
        nodes[2]
            .ports_mut()
            .get_message(pc)
            .unwrap()
            .unwrap()
            .payload,
        msg(1)
    );
    wire.clear();

    // A sends again; B receives the routed packet and queues it for C,
    // but does not drain yet.
    nodes[0]
        .ports_mut()
        .send_user_message(pa, msg(2), &[])
        .unwrap();
    let mut buf = vec![0u8; overlay_support::MTU];
    while let Some(t) = nodes[0].poll_transmit(now, &mut buf).unwrap() {
        assert_eq!(t.to, 1);
        nodes[1].handle_datagram(now, 0, &buf[..t.len]);
    }
    assert_eq!(nodes[1].queued(), 1, "B holds the forwarded packet");
    let c_old = nodes[1].peer(&key(2)).unwrap();

    // C restarts: same key, new incarnation, new storage; it dials B.
    now += Duration::from_millis(10);
    nodes[2] = node(2, 2, Config::default(), &mut rest[0], now);
    nodes[2].connect(now, key(1), 1).unwrap();
    while let Some(t) = nodes[2].poll_transmit(now, &mut buf).unwrap() {
        nodes[1].handle_datagram(now, 2, &buf[..t.len]);
    }
    // B answers the handshake: control datagrams leave before the queue.
    let mut answered = false;
    while !answered {
        let t = nodes[1]
            .poll_transmit(now, &mut buf)
            .unwrap()
            .expect("B's response");
        assert_eq!(buf[0], 1, "a link datagram");
        assert_ne!(
            buf[1], 3,
            "control datagrams come first: not the queued packet"
        );
        if t.to == 2 && buf[1] == 2 {
            nodes[2].handle_datagram(now, 1, &buf[..t.len]);
            answered = true;
        }
    }
    // C's first datagrams on the new session (keepalive, hello) reach B:
    // C's entry at B moves to a new generation.
    let mut to_b = Vec::new();
    while let Some(t) = nodes[2].poll_transmit(now, &mut buf).unwrap() {
        to_b.push(buf[..t.len].to_vec());
    }
    for d in &to_b {
        nodes[1].handle_datagram(now, 2, d);
    }
    let c_new = nodes[1].peer(&key(2)).unwrap();
    assert!(c_new.generation > c_old.generation, "{c_old:?} {c_new:?}");
    assert_eq!(nodes[1].queued(), 1, "the old datagram still waits");

    // B drains: the datagram prepared for the old generation is refused.
    let before = *nodes[2].stats();
    let mut out = VecDeque::new();
    let mut evs = Vec::new();
    drain(&mut nodes[1..2], now, lat, &mut out, &mut evs);
    for d in out.iter().filter(|d| d.to == 2) {
        nodes[2].handle_datagram(now, 1, &d.bytes);
    }
    assert_eq!(nodes[1].queued(), 0);
    assert_eq!(nodes[1].stats().stale_generation, 1);
    assert!(
        evs.iter().any(|(_, e)| *e
            == Event::SendFailed {
                peer: c_old,
                reason: SendFailure::StaleGeneration
            }),
        "{evs:?}"
    );
    let after = *nodes[2].stats();
    assert_eq!(
        (
            after.delivered,
            after.forwarded,
            after.routed_dropped,
            after.e2e_dropped
        ),
        (
            before.delivered,
            before.forwarded,
            before.routed_dropped,
            before.e2e_dropped
        ),
        "C's new incarnation received a routed packet prepared for the old session"
    );
}
