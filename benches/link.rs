//! What `link::Link` adds to a transport datagram round trip: one side
//! `send_in_place` + the other side `handle_datagram` (header, session
//! lookup by index, expiry and limit checks, counters, keepalive
//! bookkeeping) against the bare Noise `DatagramTransport` with the header
//! written and parsed by hand (`write_message_in_place` +
//! `Repr::emit` + `Repr::parse_datagram` + `read_message_in_place`), same
//! protocol (`Noise_IK_25519_ChaChaPoly_BLAKE2s`), same provider (ring),
//! in place, in the same run.
//!
//! Timing: thread CPU time (`CLOCK_THREAD_CPUTIME_ID`). Per payload size,
//! `TRIALS` rounds, each running both columns for `ITERS` round trips in
//! alternating order; the medians and the median of the per-round ratios
//! are printed. Run with:
//!
//! ```sh
//! cargo bench --bench link
//! ```
#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

use std::hint::black_box;

use hyperport::crypto::Ring as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::link::wire::{HEADER_LEN, Repr};
use hyperport::link::{
    Config, DEFAULT_PROTOCOL, Gate, GateConfig, Identity, Inbound, Link, Received,
};
use hyperport::noise::datagram::DatagramTransport;
use hyperport::noise::{Builder, HandshakeState};
use hyperport::rng::SeededRng;
use hyperport::time::Instant;

const SIZES: [usize; 2] = [64, 1400];
const TRIALS: usize = 21;
const ITERS: usize = 20_000;

fn links(now: Instant) -> (Link<P>, Link<P>) {
    let mut rng = SeededRng::from_u64(1);
    let (a, b) = (KeyPair::generate(&mut rng), KeyPair::generate(&mut rng));
    let c = Config::default();
    let mut alice = Link::<P>::new(c, Identity::new(a), Some(*b.public()), [1; 32], now).unwrap();
    let mut gate = Gate::<P, 4, 4>::new(
        GateConfig::for_link(&c),
        Identity::new(b.clone()),
        [2; 32],
        now,
    )
    .unwrap();
    alice.connect(now).unwrap();
    let mut buf = [0u8; 300];
    let n = alice.poll_transmit(now, &mut buf).unwrap().unwrap();
    let init = buf[..n].to_vec();
    let Inbound::Hello(h) = gate.handle_initiation(now, b"a", &init, &mut buf) else {
        panic!("not admitted")
    };
    let (mut bob, _) = Link::accept(c, Identity::new(b), [3; 32], now, h).unwrap();
    let n = bob.poll_transmit(now, &mut buf).unwrap().unwrap();
    alice.handle_datagram(now, &mut buf[..n]).unwrap();
    let n = alice.poll_transmit(now, &mut buf).unwrap().unwrap();
    bob.handle_datagram(now, &mut buf[..n]).unwrap();
    assert!(bob.is_established());
    (alice, bob)
}

fn transports(now: Instant) -> (DatagramTransport<P>, DatagramTransport<P>) {
    let mut rng = SeededRng::from_u64(2);
    let (a, b) = (KeyPair::generate(&mut rng), KeyPair::generate(&mut rng));
    let mut i: HandshakeState<P> = Builder::from_name(DEFAULT_PROTOCOL)
        .unwrap()
        .local_static(a)
        .remote_static(*b.public())
        .build_initiator(&mut rng)
        .unwrap();
    let mut r: HandshakeState<P> = Builder::from_name(DEFAULT_PROTOCOL)
        .unwrap()
        .local_static(b)
        .build_responder(&mut rng)
        .unwrap();
    let (mut m, mut p) = ([0u8; 300], [0u8; 300]);
    let k = i.write_message(&[], &mut m).unwrap();
    r.read_message(&m[..k], &mut p).unwrap();
    let k = r.write_message(&[], &mut m).unwrap();
    i.read_message(&m[..k], &mut p).unwrap();
    (
        i.into_datagram_transport(Default::default(), now).unwrap(),
        r.into_datagram_transport(Default::default(), now).unwrap(),
    )
}

fn main() {
    let now = Instant::from_secs(1);
    let (mut alice, mut bob) = links(now);
    let (mut ti, mut tr) = transports(now);
    println!("round trip (seal + open) per datagram, thread CPU ns, median of {TRIALS} rounds");
    println!(
        "| payload | DatagramTransport + header | Link | ratio (median of per-round ratios) |"
    );
    println!("|---:|---:|---:|---:|");
    for len in SIZES {
        let mut d = vec![0u8; HEADER_LEN + len + 16];
        let mut raw = |iters: usize| {
            let t = thread_cpu_ns();
            for _ in 0..iters {
                let (nonce, n) = ti
                    .write_message_in_place(&mut d[HEADER_LEN..], len)
                    .unwrap();
                Repr::TransportData {
                    receiver_index: 7,
                    counter: nonce,
                }
                .emit(&mut d)
                .unwrap();
                let (repr, _) = Repr::parse_datagram(&d[..HEADER_LEN + n]).unwrap();
                let Repr::TransportData { counter, .. } = repr else {
                    panic!()
                };
                let got = tr
                    .read_message_in_place(counter, &mut d[HEADER_LEN..HEADER_LEN + n])
                    .unwrap();
                black_box(got);
            }
            (thread_cpu_ns() - t) as f64 / iters as f64
        };
        let mut e = vec![0u8; HEADER_LEN + len + 16];
        let mut link = |iters: usize| {
            let t = thread_cpu_ns();
            for _ in 0..iters {
                let n = alice.send_in_place(now, &mut e, len).unwrap();
                let got = bob.handle_datagram(now, &mut e[..n]).unwrap();
                assert!(matches!(got, Received::Data(x) if x.len() == len));
            }
            (thread_cpu_ns() - t) as f64 / iters as f64
        };
        raw(ITERS / 10);
        link(ITERS / 10);
        let (mut rs, mut ls, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..TRIALS {
            let (r, l) = if round % 2 == 0 {
                let r = raw(ITERS);
                (r, link(ITERS))
            } else {
                let l = link(ITERS);
                (raw(ITERS), l)
            };
            rs.push(r);
            ls.push(l);
            ratios.push(l / r);
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        println!(
            "| {len} B | {:.0} ns | {:.0} ns | {:.3} |",
            med(&mut rs),
            med(&mut ls),
            med(&mut ratios)
        );
    }
}
