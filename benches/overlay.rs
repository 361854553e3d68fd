//! Forwarding one packet through an overlay node (decrypt the hop datagram,
//! route it greedily, encrypt it for the next hop) against the raw AEAD
//! round trip of the same bytes (ring ChaCha20-Poly1305 `open_in_place` +
//! `seal_in_place_separate_tag`, the physical limit), as a ratio.
//!
//! Three real `overlay::Node`s, A - V - C, converged; A sends ports
//! messages to C through V over an instant in-memory network. Every
//! datagram V receives from A is handled by `handle_datagram` followed by
//! the `poll_transmit` calls that drain V's output; the calls for a
//! datagram V forwarded are timed together (`std::time::Instant`, the same clock and
//! overhead as the baseline). Right after each forwarded packet, the raw
//! AEAD round trip of a payload of the same length is timed the same way,
//! so the two columns interleave sample by sample. Two message sizes: a
//! 16-byte user payload (hop payload about 230 bytes) and a 1,000-byte one
//! (about 1,215 bytes). Reported: the median of each column and the median
//! of the per-round ratios (a round is 200 forwarded packets), robust to
//! load drift on a shared machine. Run with:
//!
//! ```sh
//! cargo bench --bench overlay
//! ```

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant as Clock;

use hyperport::crypto::Ring as P;
use hyperport::overlay::{Config, CorrSlot, Identity, Node, PeerSlot, RecordSlot, Storage, TxSlot};
use hyperport::ports::{self, Bytes, PortName};
use hyperport::rng::SeededRng;
use hyperport::routing::{ChainOf, Ed25519, NeighbourEntry};
use hyperport::time::{Duration, Instant};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

const MTU: usize = 1_500;
const REC: usize = 1_200;
type Ports = ports::Node<Bytes<1000>, SeededRng, 4, 48, 1, 8, 64, 4>;
type N<'s> = Node<'s, u32, P, Ports, Ed25519, ChainOf<4>, MTU, REC>;
const ROUNDS: usize = 40;
const PER_ROUND: usize = 200;

struct Mem {
    routing: Vec<NeighbourEntry>,
    peers: Vec<PeerSlot<u32, P>>,
    corr: Vec<CorrSlot<P>>,
    records: Vec<RecordSlot<REC>>,
    tx: Vec<TxSlot<u32, MTU>>,
}

fn mem() -> Mem {
    Mem {
        routing: vec![NeighbourEntry::EMPTY; 2],
        peers: (0..2).map(|_| PeerSlot::new()).collect(),
        corr: (0..2).map(|_| CorrSlot::new()).collect(),
        records: vec![RecordSlot::EMPTY; 128],
        tx: (0..8).map(|_| TxSlot::new()).collect(),
    }
}

fn node(i: u32, m: &mut Mem) -> N<'_> {
    let id = Identity::from_seed(&[i as u8 + 3; 32]);
    let mut config = Config::default();
    config.routing.rank = i;
    let ports = Ports::new(
        id.node_name(),
        config.ports,
        SeededRng::from_u64(u64::from(i)),
    );
    Node::new(
        config,
        id,
        ports,
        Ed25519,
        ChainOf::new(),
        ChainOf::new(),
        Storage {
            routing: &mut m.routing,
            peers: &mut m.peers,
            correspondents: &mut m.corr,
            records: &mut m.records,
            transmit: &mut m.tx,
        },
        [i as u8 + 1; 32],
        Instant::ZERO,
    )
    .unwrap()
}

struct Net<'s> {
    nodes: Vec<N<'s>>,
    now: Instant,
    wire: VecDeque<(u32, u32, Vec<u8>)>,
    buf: Vec<u8>,
    /// V's forward samples (ns) and the interleaved baseline samples (ns).
    fwd: Vec<u64>,
    aead: Vec<u64>,
    key: LessSafeKey,
    n: u64,
    scratch: Vec<u8>,
    measure: bool,
    /// Hop payload lengths of the timed packets.
    lens: Vec<usize>,
}

fn nonce(n: u64) -> Nonce {
    let mut b = [0u8; 12];
    b[4..].copy_from_slice(&n.to_le_bytes());
    Nonce::assume_unique_for_key(b)
}

impl Net<'_> {
    fn drain(&mut self, i: usize) {
        while let Some(t) = self.nodes[i]
            .poll_transmit(self.now, &mut self.buf)
            .unwrap()
        {
            self.wire
                .push_back((i as u32, t.to, self.buf[..t.len].to_vec()));
        }
        while self.nodes[i].poll_event().is_some() {}
    }

    fn deliver(&mut self) -> bool {
        let Some((from, to, bytes)) = self.wire.pop_front() else {
            return false;
        };
        let to = to as usize;
        // Only A's packets towards C are timed: they carry the records
        // (the user payload); C's acknowledgements back are small.
        if to == 1 && from == 0 && self.measure {
            let before = self.nodes[1].stats().forwarded;
            let t0 = Clock::now();
            self.nodes[1].handle_datagram(self.now, from, &bytes);
            let mut out = 0;
            while let Some(t) = self.nodes[1]
                .poll_transmit(self.now, &mut self.buf)
                .unwrap()
            {
                out += 1;
                self.wire.push_back((1, t.to, self.buf[..t.len].to_vec()));
            }
            let dt = t0.elapsed().as_nanos() as u64;
            while self.nodes[1].poll_event().is_some() {}
            if self.nodes[1].stats().forwarded == before + 1 && out == 1 {
                self.fwd.push(dt);
                // The baseline, same length, same clock: open + seal.
                let len = bytes.len() - 36;
                self.lens.push(len);
                let t0 = Clock::now();
                let body = &mut self.scratch[..len];
                let tag = self
                    .key
                    .seal_in_place_separate_tag(nonce(self.n), Aad::empty(), body)
                    .unwrap();
                self.scratch[len..len + 16].copy_from_slice(tag.as_ref());
                let plain = self
                    .key
                    .open_in_place(nonce(self.n), Aad::empty(), &mut self.scratch[..len + 16])
                    .unwrap();
                black_box(plain);
                let dt = t0.elapsed().as_nanos() as u64;
                self.n += 1;
                self.aead.push(dt);
            }
        } else {
            self.nodes[to].handle_datagram(self.now, from, &bytes);
            self.drain(to);
        }
        true
    }

    fn settle(&mut self, until: Instant) {
        loop {
            for i in 0..3 {
                self.drain(i);
            }
            if self.deliver() {
                continue;
            }
            let next = self.nodes.iter().filter_map(|n| n.poll_timeout()).min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for n in self.nodes.iter_mut() {
                        if n.poll_timeout().is_some_and(|d| d <= self.now) {
                            n.handle_timeout(self.now);
                        }
                    }
                }
                _ => {
                    self.now = until;
                    return;
                }
            }
        }
    }
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn bench(payload: usize) {
    let mut mems: Vec<Mem> = (0..3).map(|_| mem()).collect();
    let nodes: Vec<N<'_>> = mems
        .iter_mut()
        .enumerate()
        .map(|(i, m)| node(i as u32, m))
        .collect();
    let mut net = Net {
        nodes,
        now: Instant::ZERO,
        wire: VecDeque::new(),
        buf: vec![0; MTU],
        fwd: Vec::new(),
        aead: Vec::new(),
        key: LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7; 32]).unwrap()),
        n: 0,
        scratch: vec![0; MTU + 16],
        measure: false,
        lens: Vec::new(),
    };
    let key = |i: u32| Identity::from_seed(&[i as u8 + 3; 32]).public_key();
    net.nodes[0].connect(Instant::ZERO, key(1), 1).unwrap();
    net.nodes[2].connect(Instant::ZERO, key(1), 1).unwrap();
    net.settle(Instant::from_secs(5));
    let now = net.now;
    let loc = net.nodes[2].location();
    net.nodes[0].set_location(now, key(2), loc).unwrap();
    let pa: PortName = net.nodes[0]
        .ports_mut()
        .create_uninitialized_port()
        .unwrap();
    let pc = net.nodes[2]
        .ports_mut()
        .create_uninitialized_port()
        .unwrap();
    let na = net.nodes[2].remember(now, key(0)).unwrap();
    let nc = Identity::from_seed(&[5; 32]).node_name();
    net.nodes[0]
        .ports_mut()
        .initialize_port(pa, nc, pc, nc, pc)
        .unwrap();
    net.nodes[2]
        .ports_mut()
        .initialize_port(pc, na, pa, na, pa)
        .unwrap();
    let msg: Bytes<1000> = Bytes::from_slice(&vec![0x5a; payload]).unwrap();
    let mut ratios = Vec::new();
    let mut all_fwd = Vec::new();
    let mut all_aead = Vec::new();
    for round in 0..ROUNDS + 2 {
        net.measure = round >= 2; // two warm-up rounds
        net.fwd.clear();
        net.aead.clear();
        let mut spins = 0;
        while net.fwd.len() < PER_ROUND {
            spins += 1;
            assert!(
                spins < 10_000,
                "V forwards nothing from A: the pipe carries no data"
            );
            for _ in 0..16 {
                let _ = net.nodes[0]
                    .ports_mut()
                    .send_user_message(pa, msg.clone(), &[]);
            }
            let until = net.now + Duration::from_millis(20);
            net.settle(until);
            while net.nodes[2]
                .ports_mut()
                .get_message(pc)
                .ok()
                .flatten()
                .is_some()
            {}
            if !net.measure {
                break;
            }
        }
        if net.measure {
            let f = median(&mut net.fwd.clone());
            let a = median(&mut net.aead.clone());
            ratios.push(f as f64 / a as f64);
            all_fwd.extend_from_slice(&net.fwd);
            all_aead.extend_from_slice(&net.aead);
        }
    }
    let f = median(&mut all_fwd);
    let a = median(&mut all_aead);
    ratios.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let r = ratios[ratios.len() / 2];
    net.lens.sort_unstable();
    let len = net.lens[net.lens.len() / 2];
    println!(
        "{payload:>5} B user payload ({:>4} B hop payload, median): forward {:>5} ns, raw AEAD open+seal {:>5} ns, ratio {:.2} (median of {} per-round ratios; {} samples each)",
        len,
        f,
        a,
        r,
        ratios.len(),
        all_fwd.len()
    );
}

fn main() {
    println!(
        "overlay forwarding (decrypt, route, encrypt) vs raw ChaCha20-Poly1305 open+seal of the same hop payload (ring)"
    );
    // Nodes are large values (their ports node holds 1,000-byte payloads).
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            for payload in [16, 1000] {
                bench(payload);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
