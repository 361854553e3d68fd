//! Forwarding allocates nothing: a counting global allocator proves that a
//! relay node decrypting, routing and re-encrypting routed packets (and
//! handling everything else its neighbours send meanwhile) performs zero
//! heap allocations.

mod alloc_counter;
mod overlay_support;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

use std::collections::VecDeque;

use hyperport::overlay::Config;
use hyperport::ports::Bytes;
use hyperport::time::{Duration, Instant};
use overlay_support::{Dgram, MTU, Mem, N, identity, node, open_pipe, run};

const PACKETS: u8 = 100;

// Only allocations made by this test's thread are counted (see
// `alloc_counter`); the test runs on one thread of its own.
#[test]
fn a_relay_forwards_without_allocating() {
    overlay_support::big_stack(relay);
}

fn relay() {
    let probe = alloc_counter::allocations();
    std::hint::black_box(Box::new(1u64));
    assert!(
        alloc_counter::allocations() > probe,
        "counting allocator not installed"
    );

    // Setup (allowed to allocate): A - V - C, converged, a pipe A -> C.
    let mut mems: Vec<Mem> = (0..3).map(|_| Mem::new(4, 4)).collect();
    let mut now = Instant::ZERO;
    let mut nodes: Vec<N<'_>> = mems
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
    let (pa, pc) = open_pipe(&mut nodes, now, 0, 2);
    nodes[0]
        .ports_mut()
        .send_user_message(pa, Bytes::from_slice(&[0]).unwrap(), &[])
        .unwrap();
    let until = now + Duration::from_secs(2);
    run(
        &mut nodes,
        &mut now,
        until,
        lat,
        &mut wire,
        &mut events,
        &|_, _| false,
    );
    wire.clear();

    // Rounds: A's next datagrams to V are prepared outside the measured
    // region; V handles them (measured); V's output then reaches A and C
    // and their answers come back (unmeasured), so the stream window
    // reopens.
    let mut buf = vec![0u8; MTU];
    let before = *nodes[1].stats();
    let mut allocated = 0usize;
    let mut out: Vec<(u32, usize, usize)> = Vec::with_capacity(4_096);
    let mut arena: Vec<u8> = Vec::with_capacity(4_096 * MTU);
    let mut sent = 1u8;
    let mut got = Vec::new();
    for _round in 0..5 {
        let mut to_v: Vec<Vec<u8>> = Vec::new();
        for _ in 0..20 {
            // Ports flow control may say "would block" (unread messages at
            // the receiver): then this round sends fewer.
            if nodes[0]
                .ports_mut()
                .send_user_message(pa, Bytes::from_slice(&[sent]).unwrap(), &[])
                .is_ok()
            {
                sent += 1;
            }
        }
        while let Some(t) = nodes[0].poll_transmit(now, &mut buf).unwrap() {
            to_v.push(buf[..t.len].to_vec());
        }
        out.clear();
        arena.clear();
        // Measured: V handles each datagram and drains everything it sends.
        let v = &mut nodes[1];
        let a0 = alloc_counter::allocations();
        for d in &to_v {
            v.handle_datagram(now, 0, d);
            while let Some(t) = v.poll_transmit(now, &mut buf).unwrap() {
                let start = arena.len();
                arena.extend_from_slice(&buf[..t.len]);
                out.push((t.to, start, t.len));
            }
            while v.poll_event().is_some() {}
        }
        allocated += alloc_counter::allocations() - a0;
        // Unmeasured: deliver, and let the acknowledgements come back.
        for &(to, start, len) in &out {
            nodes[to as usize].handle_datagram(now, 1, &arena[start..start + len]);
        }
        let until = now + Duration::from_millis(50);
        run(
            &mut nodes,
            &mut now,
            until,
            lat,
            &mut wire,
            &mut events,
            &|_, _| false,
        );
        wire.clear();
        // C's application reads (a port queues at most 64 messages).
        while let Ok(Some(m)) = nodes[2].ports_mut().get_message(pc) {
            got.push(m.payload[0]);
        }
    }
    let after = *nodes[1].stats();
    let forwarded = after.forwarded - before.forwarded;
    let until = now + Duration::from_secs(10);
    run(
        &mut nodes,
        &mut now,
        until,
        lat,
        &mut wire,
        &mut events,
        &|_, _| false,
    );
    while let Ok(Some(m)) = nodes[2].ports_mut().get_message(pc) {
        got.push(m.payload[0]);
    }
    assert_eq!(got, (0..sent).collect::<Vec<u8>>());
    assert!(forwarded >= u64::from(PACKETS), "{forwarded} forwarded");
    assert_eq!(
        allocated, 0,
        "{allocated} allocations for {forwarded} forwarded packets"
    );
    eprintln!("{forwarded} packets forwarded, {allocated} allocations");
}
