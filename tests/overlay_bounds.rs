//! Bounded sessions: a flood of initiations from forged keys and addresses
//! keeps every table at its bound and established neighbours working; an
//! idle or silent neighbour is dropped after its TTL.
//!
//! Each test fails without its mechanism (checked by hand, see the report):
//! with `slot_for_new` allowed to evict any session, the flood evicts the
//! established neighbours; with the idle (or silent) deadline ignored, the
//! idle (silent) neighbour stays.

mod overlay_support;

use std::collections::VecDeque;

use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::link::{self, Link};
use hyperport::overlay::{Config, DownReason, Event, HOP_PROLOGUE};
use hyperport::ports::Bytes;
use hyperport::rng::SeededRng;
use hyperport::time::{Duration, Instant};
use overlay_support::{Dgram, Mem, N, big_stack, identity, node, open_pipe, run};

const FLOOD: u32 = 10_000;

#[test]
fn a_flood_of_initiations_keeps_tables_bounded_and_neighbours_working() {
    big_stack(flood);
}

fn flood() {
    // A - V - C; V has 6 peer slots, two of them taken by A and C.
    let mut mems: Vec<Mem> = vec![Mem::new(2, 4), Mem::new(6, 4), Mem::new(2, 4)];
    let mut now = Instant::ZERO;
    let mut nodes: Vec<N<'_>> = mems
        .iter_mut()
        .enumerate()
        .map(|(i, m)| node(i as u32, 1, Config::default(), m, now))
        .collect();
    let key = |i: u32| identity(i).public_key();
    let a = nodes[0].connect(now, key(1), 1).unwrap();
    let c = nodes[2].connect(now, key(1), 1).unwrap();
    let lat = Duration::from_millis(1);
    let mut wire: VecDeque<Dgram> = VecDeque::new();
    let mut events = Vec::new();
    let none = |_: u32, _: u32| false;
    run(
        &mut nodes,
        &mut now,
        Instant::from_secs(5),
        lat,
        &mut wire,
        &mut events,
        &none,
    );
    let at_v_a = nodes[1].peer(&key(0)).unwrap();
    let at_v_c = nodes[1].peer(&key(2)).unwrap();
    // A pipe A -> C through V.
    let (pa, pc) = open_pipe(&mut nodes, now, 0, 2);

    // The flood: each initiation is a real IK initiation to V from a fresh
    // key, from a fresh address, 1 ms apart; A keeps sending meanwhile.
    let mut cfg = Config::default().hop;
    cfg = cfg.with_prologue(HOP_PROLOGUE);
    let mut rng = SeededRng::from_u64(99);
    let mut buf = vec![0u8; link::MAX_CONTROL_DATAGRAM];
    let mut sent = 0u8;
    let mut got = Vec::new();
    let mut max_peers = 0;
    for i in 0..FLOOD {
        let kp = KeyPair::generate(&mut rng);
        let mut l: Link<P> = Link::new(
            cfg,
            link::Identity::new(kp),
            Some(key(1)),
            [i as u8; 32],
            now,
        )
        .unwrap();
        l.connect(now).unwrap();
        let n = l.poll_transmit(now, &mut buf).unwrap().unwrap();
        nodes[1].handle_datagram(now, 1_000 + i, &buf[..n]);
        max_peers = max_peers.max(nodes[1].peers().count());
        if i % 100 == 0 && sent < 60 {
            nodes[0]
                .ports_mut()
                .send_user_message(pa, Bytes::from_slice(&[sent]).unwrap(), &[])
                .unwrap();
            sent += 1;
        }
        let until = now + Duration::from_millis(1);
        run(
            &mut nodes,
            &mut now,
            until,
            lat,
            &mut wire,
            &mut events,
            &none,
        );
        while let Ok(Some(m)) = nodes[2].ports_mut().get_message(pc) {
            got.push(m.payload[0]);
        }
    }
    let until = now + Duration::from_secs(20);
    run(
        &mut nodes,
        &mut now,
        until,
        lat,
        &mut wire,
        &mut events,
        &none,
    );
    while let Ok(Some(m)) = nodes[2].ports_mut().get_message(pc) {
        got.push(m.payload[0]);
    }

    // Memory stayed at the bound: six peer slots, the gate's table.
    assert!(max_peers <= 6, "{max_peers}");
    assert!(nodes[1].gate_stats().admitted > 0);
    let evicted = events
        .iter()
        .filter(|(n, e)| {
            *n == 1
                && matches!(
                    e,
                    Event::PeerDown {
                        reason: DownReason::Evicted,
                        ..
                    }
                )
        })
        .count();
    assert!(evicted > 0, "the flood never pressed on the table");
    // The established neighbours were never touched.
    for (n, e) in &events {
        if let Event::PeerDown { peer, reason } = e {
            assert!(
                !((*n == 1 && (*peer == at_v_a || *peer == at_v_c))
                    || (*n == 0 && *peer == a)
                    || (*n == 2 && *peer == c)),
                "established session {peer:?} went down at node {n}: {reason:?}"
            );
        }
    }
    assert_eq!(nodes[1].peer(&key(0)), Some(at_v_a));
    assert_eq!(nodes[1].peer(&key(2)), Some(at_v_c));
    // ... and kept carrying traffic: every message, once, in order.
    assert_eq!(got, (0..sent).collect::<Vec<u8>>());
    eprintln!(
        "flood: {FLOOD} initiations; gate {:?}; {} half-open sessions evicted; {} messages delivered",
        nodes[1].gate_stats(),
        evicted,
        got.len()
    );
}

/// Two neighbours, no routed packet between them: after `idle_ttl` the
/// node that was dialled drops the session (the dialler redials).
#[test]
fn an_idle_neighbour_is_dropped_after_its_ttl() {
    big_stack(|| {
        let mut mems: Vec<Mem> = vec![Mem::new(2, 2), Mem::new(2, 2)];
        let mut now = Instant::ZERO;
        let mut config = Config::default();
        config.idle_ttl = Duration::from_secs(20);
        let mut nodes: Vec<N<'_>> = mems
            .iter_mut()
            .enumerate()
            .map(|(i, m)| node(i as u32, 1, config, m, now))
            .collect();
        nodes[0].connect(now, identity(1).public_key(), 1).unwrap();
        let lat = Duration::from_millis(1);
        let (mut wire, mut events) = (VecDeque::new(), Vec::new());
        run(
            &mut nodes,
            &mut now,
            Instant::from_secs(19),
            lat,
            &mut wire,
            &mut events,
            &|_, _| false,
        );
        let first = nodes[1].peer(&identity(0).public_key()).unwrap();
        assert!(
            !events
                .iter()
                .any(|(_, e)| matches!(e, Event::PeerDown { .. }))
        );
        run(
            &mut nodes,
            &mut now,
            Instant::from_secs(21),
            lat,
            &mut wire,
            &mut events,
            &|_, _| false,
        );
        assert!(
            events.iter().any(|(n, e)| *n == 1
                && *e
                    == Event::PeerDown {
                        peer: first,
                        reason: DownReason::Idle
                    }),
            "{events:?}"
        );
        assert_ne!(nodes[1].peer(&identity(0).public_key()), Some(first));
    });
}

/// A neighbour whose datagrams stop arriving is dropped after
/// `silent_ttl`.
#[test]
fn a_silent_neighbour_is_dropped_after_its_ttl() {
    big_stack(|| {
        let mut mems: Vec<Mem> = vec![Mem::new(2, 2), Mem::new(2, 2)];
        let mut now = Instant::ZERO;
        let config = Config::default();
        let mut nodes: Vec<N<'_>> = mems
            .iter_mut()
            .enumerate()
            .map(|(i, m)| node(i as u32, 1, config, m, now))
            .collect();
        nodes[0].connect(now, identity(1).public_key(), 1).unwrap();
        let lat = Duration::from_millis(1);
        let (mut wire, mut events) = (VecDeque::new(), Vec::new());
        run(
            &mut nodes,
            &mut now,
            Instant::from_secs(3),
            lat,
            &mut wire,
            &mut events,
            &|_, _| false,
        );
        let at_b = nodes[1].peer(&identity(0).public_key()).unwrap();
        // From now on nothing from node 0 reaches node 1.
        let cut = |from: u32, _: u32| from == 0;
        run(
            &mut nodes,
            &mut now,
            Instant::from_secs(7),
            lat,
            &mut wire,
            &mut events,
            &cut,
        );
        assert!(
            !events
                .iter()
                .any(|(n, e)| *n == 1 && matches!(e, Event::PeerDown { .. }))
        );
        run(
            &mut nodes,
            &mut now,
            Instant::from_secs(9),
            lat,
            &mut wire,
            &mut events,
            &cut,
        );
        assert!(
            events.iter().any(|(n, e)| *n == 1
                && *e
                    == Event::PeerDown {
                        peer: at_b,
                        reason: DownReason::Silent
                    }),
            "{events:?}"
        );
        assert_eq!(nodes[1].peers().count(), 0);
    });
}
