// Fuzz body: everything a network can send into a link and a gate.
//
// Alice holds a `Link` to Bob; Bob holds a small `Gate` and, once Alice's
// first initiation is admitted, a `Link` to Alice. The input is a little
// program over a session that starts established (the body runs the first
// handshake itself): both sides send data (sealed datagrams go into a
// bounded pool), pool entries are delivered in any order and any number of
// times, tampered copies and arbitrary bytes are thrown at both links and
// at the gate (from arbitrary source addresses), time moves (forward, or
// backward: clamped), timers fire, rekeys start.
//
// Invariants:
// * nothing panics, every call returns;
// * a payload a link hands out is one the peer sent, in a datagram the
//   peer sent byte for byte, handed out at most once;
// * `poll_timeout` after `handle_timeout` at the returned instant is
//   strictly later or `None`;
// * the gate's table stays within its capacity; every output fits
//   `MAX_CONTROL_DATAGRAM`.

use std::collections::HashSet;

use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::link::{
    Config, Gate, GateConfig, Identity, Inbound, Link, MAX_CONTROL_DATAGRAM, Rate, Received,
    Route, route,
};
use hyperport::noise::NoiseParams;
use hyperport::noise::datagram::RekeyPolicy;
use hyperport::rng::SeededRng;
use hyperport::time::{Duration, Instant};

/// Datagrams kept for (re)delivery.
const POOL: usize = 32;
/// Operations per input.
const MAX_OPS: usize = 200;
/// Gate capacities.
const SOURCES: usize = 4;
const RECENT: usize = 4;

const PROTOCOLS: [&str; 4] = [
    "Noise_IK_25519_ChaChaPoly_BLAKE2s",
    "Noise_XX_25519_AESGCM_SHA256",
    "Noise_NK_25519_ChaChaPoly_SHA512",
    "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b",
];

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// 0 = Alice, 1 = Bob.
type Side = usize;
const ALICE: Side = 0;
const BOB: Side = 1;

struct World {
    config: Config,
    identities: [Identity; 2],
    /// Alice's link exists from the start, Bob's from the first admitted
    /// initiation.
    links: [Option<Link<P>>; 2],
    gates: [Gate<P, SOURCES, RECENT>; 2],
    now: Instant,
    /// (recipient, bytes) of datagrams either side sent.
    pool: Vec<(Side, Vec<u8>)>,
    /// Datagrams each side sent, byte for byte.
    sent: [HashSet<Vec<u8>>; 2],
    /// Transport datagrams whose payload a link handed out.
    accepted: HashSet<Vec<u8>>,
    seq: u32,
}

impl World {
    fn new(proto: usize, knobs: &[u8]) -> Self {
        let k = |i: usize| knobs.get(i).copied().unwrap_or(0);
        let params = NoiseParams::parse(PROTOCOLS[proto % PROTOCOLS.len()]).expect("name");
        let mut config = Config::default().with_params(params);
        config.handshake_rto = Duration::from_millis(5);
        config.handshake_rto_max = Duration::from_millis(40);
        config.handshake_timeout = Duration::from_millis(200);
        config.rekey_after_messages = 2 + u64::from(k(0) % 40);
        config.rekey_after_time = Duration::from_millis(50 + u64::from(k(1)));
        config.reject_after_time = config.rekey_after_time.saturating_mul(3);
        config.keepalive_interval = Duration::from_millis(10);
        config.responder_rekey_delay = Duration::from_millis(5);
        if k(2) & 1 == 1 {
            config.persistent_keepalive = Some(Duration::from_millis(15));
        }
        if k(2) & 2 == 2 {
            config.transport.rekey = RekeyPolicy {
                after_messages: Some(1 + u64::from(k(3) % 8)),
                after_time: (k(2) & 4 == 4).then(|| Duration::from_millis(7)),
            };
        }
        let mut rng = SeededRng::from_u64(0x11ce);
        let a = KeyPair::generate(&mut rng);
        let b = KeyPair::generate(&mut rng);
        let psk = [9u8; 32];
        let identities = [
            Identity::new(a).with_psk(psk),
            Identity::new(b.clone()).with_psk(psk),
        ];
        let now = Instant::from_secs(1);
        let remote = params.pattern().pre_bob().has_s().then_some(*b.public());
        let alice = Link::new(config, identities[ALICE].clone(), remote, [1; 32], now).expect("link");
        let mut gc = GateConfig::for_link(&config);
        gc.per_source = Rate::new(2, Duration::from_millis(100));
        gc.total = Rate::new(6, Duration::from_millis(100));
        gc.cookies = k(2) & 8 == 0;
        let gate = |i: usize| Gate::new(gc, identities[i].clone(), [2 + i as u8; 32], now).expect("gate");
        let gates = [gate(ALICE), gate(BOB)];
        World {
            config,
            identities,
            links: [Some(alice), None],
            gates,
            now,
            pool: Vec::new(),
            sent: [HashSet::new(), HashSet::new()],
            accepted: HashSet::new(),
            seq: 0,
        }
    }

    fn push(&mut self, to: Side, d: Vec<u8>) {
        if self.pool.len() >= POOL {
            self.pool.remove(0);
        }
        self.pool.push((to, d));
    }

    /// Drains both sides' control datagrams into the pool.
    fn drain(&mut self) {
        let mut buf = [0u8; MAX_CONTROL_DATAGRAM];
        for side in [ALICE, BOB] {
            let mut out = Vec::new();
            if let Some(l) = self.links[side].as_mut() {
                while let Ok(Some(n)) = l.poll_transmit(self.now, &mut buf) {
                    assert!(n <= MAX_CONTROL_DATAGRAM);
                    out.push(buf[..n].to_vec());
                }
                while l.poll_event().is_some() {}
            }
            for d in out {
                self.sent[side].insert(d.clone());
                self.push(1 - side, d);
            }
        }
    }

    fn deliver(&mut self, to: Side, bytes: &[u8], source: &[u8]) {
        let wire = bytes.to_vec();
        let mut d = bytes.to_vec();
        let now = self.now;
        match route(&d) {
            Ok(Route::Initiation) => {
                let mut reply = [0u8; MAX_CONTROL_DATAGRAM];
                match self.gates[to].handle_initiation(now, source, &d, &mut reply) {
                    Inbound::Hello(hello) => {
                        let r = match self.links[to].as_mut() {
                            Some(l) => l.accept_hello(now, hello),
                            None => Link::accept(
                                self.config,
                                self.identities[to].clone(),
                                [3; 32],
                                now,
                                hello,
                            )
                            .map(|(l, r)| {
                                self.links[to] = Some(l);
                                r
                            }),
                        };
                        if let Ok(receipt) = r {
                            self.gates[to].remember(receipt);
                        }
                    }
                    Inbound::Duplicate { local_index } => {
                        if let Some(l) = self.links[to].as_mut().filter(|l| l.owns_index(local_index)) {
                            let _ = l.handle_datagram(now, &mut d);
                        }
                    }
                    Inbound::CookieReply { len } => {
                        assert!(len <= MAX_CONTROL_DATAGRAM);
                        let r = reply[..len].to_vec();
                        self.push(1 - to, r);
                    }
                    _ => {}
                }
                assert!(self.gates[to].tracked_sources() <= SOURCES);
            }
            _ => {
                if let Some(l) = self.links[to].as_mut()
                    && let Ok(Received::Data(p)) = l.handle_datagram(now, &mut d)
                {
                    assert!(is_payload(p), "payload not one the peer sent");
                    assert!(self.sent[1 - to].contains(&wire), "accepted a datagram the peer never sent");
                    assert!(self.accepted.insert(wire), "accepted twice");
                }
            }
        }
        self.drain();
    }

    fn send(&mut self, from: Side, body: &[u8]) {
        let mut payload = b"pl".to_vec();
        payload.extend_from_slice(&self.seq.to_be_bytes());
        payload.extend_from_slice(body);
        self.seq = self.seq.wrapping_add(1);
        let mut out = vec![0u8; payload.len() + 64];
        let now = self.now;
        let Some(l) = self.links[from].as_mut() else { return };
        if let Ok(n) = l.send(now, &payload, &mut out) {
            out.truncate(n);
            self.sent[from].insert(out.clone());
            self.push(1 - from, out);
        }
        self.drain();
    }

    /// Moves the clock to `to` (clamped by the links if earlier) and fires
    /// every timer due on the way.
    fn time(&mut self, to: Instant) {
        for _ in 0..64 {
            let next = self
                .links
                .iter()
                .flatten()
                .filter_map(|l| l.poll_timeout())
                .min();
            let Some(t) = next.filter(|&t| t <= to) else { break };
            self.now = self.now.max(t);
            for l in self.links.iter_mut().flatten() {
                if l.poll_timeout() == Some(t) {
                    l.handle_timeout(t);
                    assert!(l.poll_timeout().is_none_or(|n| n > t), "spin");
                }
            }
            self.drain();
        }
        self.now = to;
    }

    /// Delivers the whole pool in order until it stays empty (a bounded
    /// number of rounds).
    fn settle(&mut self) {
        for _ in 0..8 {
            if self.pool.is_empty() {
                return;
            }
            for (to, d) in std::mem::take(&mut self.pool) {
                self.deliver(to, &d, if to == BOB { b"alice" } else { b"bob" });
            }
        }
    }
}

fn is_payload(p: &[u8]) -> bool {
    p.starts_with(b"pl") && p.len() >= 6
}

pub fn run(data: &[u8]) {
    let mut input = Input(data);
    let proto = usize::from(input.byte().unwrap_or(0));
    let knobs = input.bytes(4).to_vec();
    let mut w = World::new(proto, &knobs);
    // A session to start from.
    if let Some(a) = w.links[ALICE].as_mut() {
        let _ = a.connect(w.now);
    }
    w.drain();
    w.settle();
    for _ in 0..MAX_OPS {
        let Some(op) = input.byte() else { break };
        match op % 12 {
            0 => {
                let n = usize::from(input.byte().unwrap_or(0) % 64);
                let body = input.bytes(n).to_vec();
                w.send(ALICE, &body);
            }
            1 => {
                let n = usize::from(input.byte().unwrap_or(0) % 64);
                let body = input.bytes(n).to_vec();
                w.send(BOB, &body);
            }
            2 | 3 => {
                // Deliver (and keep, for duplicates) a pool entry.
                if !w.pool.is_empty() {
                    let i = usize::from(input.byte().unwrap_or(0)) % w.pool.len();
                    let (to, d) = w.pool[i].clone();
                    if op % 12 == 3 {
                        w.pool.remove(i);
                    }
                    w.deliver(to, &d, if to == BOB { b"alice" } else { b"bob" });
                }
            }
            4 => {
                // A tampered copy of a pool entry.
                if !w.pool.is_empty() {
                    let i = usize::from(input.byte().unwrap_or(0)) % w.pool.len();
                    let (to, mut d) = w.pool[i].clone();
                    let at = usize::from(input.byte().unwrap_or(0));
                    let bit = input.byte().unwrap_or(1);
                    if !d.is_empty() {
                        let at = at % d.len();
                        d[at] ^= bit | 1;
                    }
                    w.deliver(to, &d, if to == BOB { b"alice" } else { b"bob" });
                }
            }
            5 => {
                // Arbitrary bytes to Alice.
                let n = usize::from(input.byte().unwrap_or(0));
                let d = input.bytes(n).to_vec();
                w.deliver(ALICE, &d, b"");
            }
            6 => {
                // Arbitrary bytes to Bob, from an arbitrary source.
                let s = usize::from(input.byte().unwrap_or(0) % 40);
                let source = input.bytes(s).to_vec();
                let n = usize::from(input.byte().unwrap_or(0));
                let d = input.bytes(n).to_vec();
                w.deliver(BOB, &d, &source);
            }
            7 => {
                // A pool entry with a few bytes of header rewritten.
                if !w.pool.is_empty() {
                    let i = usize::from(input.byte().unwrap_or(0)) % w.pool.len();
                    let (to, mut d) = w.pool[i].clone();
                    let patch = input.bytes(4).to_vec();
                    let at = usize::from(input.byte().unwrap_or(0) % 20);
                    for (j, b) in patch.iter().enumerate() {
                        if let Some(x) = d.get_mut(at + j) {
                            *x = *b;
                        }
                    }
                    w.deliver(to, &d, b"mallory");
                }
            }
            8 => {
                let ms = u64::from(input.byte().unwrap_or(0));
                let t = w.now + Duration::from_millis(ms);
                w.time(t);
            }
            9 => {
                // A clock that goes back: clamped, never a panic.
                let back = Duration::from_millis(u64::from(input.byte().unwrap_or(0)));
                w.now = w.now.saturating_sub(back);
            }
            10 => {
                match usize::from(input.byte().unwrap_or(0) % 3) {
                    2 => w.settle(),
                    side => {
                        let now = w.now;
                        if let Some(l) = w.links[side].as_mut() {
                            let _ = l.connect(now);
                        }
                    }
                }
                w.drain();
            }
            _ => {
                // A burst from one source: duplicates of a pool entry with
                // fresh source addresses.
                if !w.pool.is_empty() {
                    let i = usize::from(input.byte().unwrap_or(0)) % w.pool.len();
                    let (to, d) = w.pool[i].clone();
                    for s in 0..8u8 {
                        w.deliver(to, &d, &[s]);
                    }
                }
            }
        }
    }
    // Always able to finish cleanly.
    for l in w.links.iter_mut().flatten() {
        l.close();
        assert!(l.poll_timeout().is_none());
    }
}
