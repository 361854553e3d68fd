//! Noise handshakes per second (both sides in one thread, empty payloads):
//! hyperport with the ring provider (and, with `--features aws-lc`, the
//! AWS-LC provider) side by side with snow 0.10 (default resolver, and ring
//! resolver with the default as fallback) and clatter 2.3 (`NqHandshake`,
//! RustCrypto primitives) in the same run, plus the X25519-only limit: the
//! DH and key-generation work of one handshake (XX: 6 DH + 2 keygens; IK:
//! 8 DH + 2 keygens) timed alone with the same x25519-dalek build hyperport
//! uses (and with AWS-LC's X25519 for the aws-lc column).
//!
//! Timing: thread CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes on
//! shared cores do not count. `TRIALS` rounds; in each round every column
//! runs for about `TRIAL_MS` of CPU time, in an order rotated per round; the
//! median round is reported, then the median over rounds of hyperport's rate
//! divided by each other column's rate in the same round (load drift between
//! rounds cancels in those ratios). For load-independent instruction counts
//! see `only_mode` and BENCHMARKS.md. Static keys are made once (untimed); ephemeral
//! keys come from each implementation's RNG inside the timed loop (hyperport:
//! a ChaCha20 `SeededRng`; snow and clatter: getrandom). Run with:
//!
//! ```sh
//! cargo bench --bench noise_handshake                       # default features
//! cargo bench --bench noise_handshake --features aws-lc     # + the AWS-LC columns
//! ```
#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

use std::hint::black_box;

use clatter::NqHandshake;
use clatter::crypto::cipher::ChaChaPoly as ClatterChaChaPoly;
use clatter::crypto::dh::X25519 as ClatterX25519;
use clatter::crypto::hash::{Blake2s as ClatterBlake2s, Sha256 as ClatterSha256};
use clatter::traits::{Dh as _, Handshaker as _};
use hyperport::crypto::x25519::KeyPair;
use hyperport::crypto::{Provider, Ring};
use hyperport::noise::{Builder, HandshakeState, NoiseParams, StaticStatic};
use hyperport::rng::SeededRng;

/// Many short rounds rather than few long ones: load on a shared machine
/// drifts on a scale of 100 ms, so columns measured close together in time
/// give per-round ratios that are much less noisy (15 x 120 ms rounds moved
/// ratios by about ±5 % between runs, 61 x 30 ms by about ±2 %).
const TRIALS: usize = 61;
const TRIAL_MS: u64 = 30;

trait Column {
    fn name(&self) -> &'static str;
    /// Runs `iters` complete handshakes.
    fn run(&mut self, iters: u64);
}

struct Keys {
    alice: KeyPair,
    bob: KeyPair,
}

fn ik(name: &str) -> bool {
    name.contains("_IK_")
}

struct Ours<P> {
    params: NoiseParams,
    keys: Keys,
    rng: SeededRng,
    buf: [u8; 256],
    out: [u8; 256],
    /// The initiator's precomputed `ss` (the "+ss" column; XX has no `ss`,
    /// so there the column is the plain handshake again).
    pre: Option<StaticStatic>,
    label: &'static str,
    _p: std::marker::PhantomData<P>,
}

impl<P: Provider> Column for Ours<P> {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64) {
        for _ in 0..iters {
            let mut ib = Builder::new(self.params).local_static(self.keys.alice.clone());
            if ik(self.params.name()) {
                ib = ib.remote_static(*self.keys.bob.public());
            }
            if let Some(pre) = &self.pre {
                ib = ib.precomputed_static_static(pre.clone());
            }
            let mut i: HandshakeState<P> = ib.build_initiator(&mut self.rng).unwrap();
            let mut r: HandshakeState<P> = Builder::new(self.params)
                .local_static(self.keys.bob.clone())
                .build_responder(&mut self.rng)
                .unwrap();
            let mut turn = true;
            while !i.is_finished() {
                let (w, rd) = if turn {
                    (&mut i, &mut r)
                } else {
                    (&mut r, &mut i)
                };
                let n = w.write_message(&[], &mut self.buf).unwrap();
                rd.read_message(&self.buf[..n], &mut self.out).unwrap();
                turn = !turn;
            }
            black_box(i.split().unwrap());
            black_box(r.split().unwrap());
        }
    }
}

struct Snow {
    label: &'static str,
    params: snow::params::NoiseParams,
    ring: bool,
    alice: [u8; 32],
    bob: [u8; 32],
    bob_pub: [u8; 32],
    buf: [u8; 256],
    out: [u8; 256],
}

impl Snow {
    fn builder(&self) -> snow::Builder<'_> {
        if self.ring {
            snow::Builder::with_resolver(
                self.params.clone(),
                Box::new(snow::resolvers::FallbackResolver::new(
                    Box::new(snow::resolvers::RingResolver),
                    Box::new(snow::resolvers::DefaultResolver),
                )),
            )
        } else {
            snow::Builder::new(self.params.clone())
        }
    }
}

impl Column for Snow {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64) {
        let ik = matches!(
            self.params.handshake.pattern,
            snow::params::HandshakePattern::IK
        );
        for _ in 0..iters {
            let mut ib = self.builder().local_private_key(&self.alice).unwrap();
            if ik {
                ib = ib.remote_public_key(&self.bob_pub).unwrap();
            }
            let mut i = ib.build_initiator().unwrap();
            let mut r = self
                .builder()
                .local_private_key(&self.bob)
                .unwrap()
                .build_responder()
                .unwrap();
            let mut turn = true;
            while !i.is_handshake_finished() {
                let (w, rd) = if turn {
                    (&mut i, &mut r)
                } else {
                    (&mut r, &mut i)
                };
                let n = w.write_message(&[], &mut self.buf).unwrap();
                rd.read_message(&self.buf[..n], &mut self.out).unwrap();
                turn = !turn;
            }
            black_box(i.into_transport_mode().unwrap());
            black_box(r.into_transport_mode().unwrap());
        }
    }
}

/// clatter's classical handshake with X25519, ChaChaPoly and hash `H`.
struct Clatter<H> {
    ik: bool,
    alice: clatter::KeyPair<[u8; 32], ClatterSecret>,
    bob: clatter::KeyPair<[u8; 32], ClatterSecret>,
    buf: [u8; 256],
    out: [u8; 256],
    _hash: std::marker::PhantomData<H>,
}

type ClatterSecret = <ClatterX25519 as clatter::traits::Dh>::PrivateKey;

impl<H: clatter::traits::Hash> Clatter<H> {
    fn new(ik: bool) -> Self {
        Clatter {
            ik,
            alice: ClatterX25519::genkey().unwrap(),
            bob: ClatterX25519::genkey().unwrap(),
            buf: [0; 256],
            out: [0; 256],
            _hash: std::marker::PhantomData,
        }
    }
}

impl<H: clatter::traits::Hash> Column for Clatter<H> {
    fn name(&self) -> &'static str {
        "clatter-2.3"
    }
    fn run(&mut self, iters: u64) {
        let pattern = if self.ik {
            clatter::handshakepattern::noise_ik
        } else {
            clatter::handshakepattern::noise_xx
        };
        for _ in 0..iters {
            let rs = self.ik.then_some(self.bob.public);
            let mut i = NqHandshake::<ClatterX25519, ClatterChaChaPoly, H>::new(
                pattern(),
                &[],
                true,
                Some(self.alice.clone()),
                None,
                rs,
                None,
            )
            .unwrap();
            let mut r = NqHandshake::<ClatterX25519, ClatterChaChaPoly, H>::new(
                pattern(),
                &[],
                false,
                Some(self.bob.clone()),
                None,
                None,
                None,
            )
            .unwrap();
            let mut turn = true;
            while !i.is_finished() {
                let (w, rd) = if turn {
                    (&mut i, &mut r)
                } else {
                    (&mut r, &mut i)
                };
                let n = w.write_message(&[], &mut self.buf).unwrap();
                rd.read_message(&self.buf[..n], &mut self.out).unwrap();
                turn = !turn;
            }
            black_box(i.finalize().unwrap());
            black_box(r.finalize().unwrap());
        }
    }
}

/// The X25519 work of one handshake alone: 2 ephemeral key generations and
/// `dh` Diffie-Hellman operations, with provider `P`'s X25519.
struct DhOnly<P> {
    dh: usize,
    rng: SeededRng,
    peer: [u8; 32],
    label: &'static str,
    _p: std::marker::PhantomData<P>,
}

impl<P: Provider> Column for DhOnly<P> {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64) {
        for _ in 0..iters {
            let a = P::x25519_generate(&mut self.rng);
            let b = P::x25519_generate(&mut self.rng);
            for k in 0..self.dh {
                let kp = if k % 2 == 0 { &a } else { &b };
                black_box(P::x25519(kp, &self.peer));
            }
        }
    }
}

/// Per-round handshakes/s of every column (`TRIALS` rounds, order rotated).
fn measure(cols: &mut [Box<dyn Column>]) -> Vec<Vec<f64>> {
    // Calibrate: iterations that take about TRIAL_MS per column.
    let mut iters = Vec::new();
    for c in cols.iter_mut() {
        c.run(5); // warm-up
        let t0 = thread_cpu_ns();
        c.run(20);
        let per = (thread_cpu_ns() - t0).max(1) as f64 / 20.0;
        iters.push(((TRIAL_MS as f64 * 1e6) / per).max(1.0) as u64);
    }
    let mut rates = vec![Vec::new(); cols.len()];
    for t in 0..TRIALS {
        for k in 0..cols.len() {
            let idx = (k + t) % cols.len();
            let t0 = thread_cpu_ns();
            cols[idx].run(iters[idx]);
            let secs = (thread_cpu_ns() - t0) as f64 / 1e9;
            rates[idx].push(iters[idx] as f64 / secs);
        }
    }
    rates
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

const PATTERNS: [&str; 4] = [
    "Noise_XX_25519_ChaChaPoly_BLAKE2s",
    "Noise_XX_25519_ChaChaPoly_SHA256",
    "Noise_IK_25519_ChaChaPoly_BLAKE2s",
    "Noise_IK_25519_ChaChaPoly_SHA256",
];

/// Column names of hyperport (ratios are computed for these against the
/// peers).
const OURS: [&str; 2] = ["hyperport-ring", "hyperport-aws-lc"];
/// Column names of the other implementations.
const PEERS: [&str; 3] = ["snow-0.10-default", "snow-0.10-ring", "clatter-2.3"];

/// The columns for protocol `name`: hyperport first, the peers, the limits,
/// then hyperport with a precomputed `ss`.
fn columns(name: &str, seed: &mut SeededRng) -> Vec<Box<dyn Column>> {
    let alice = KeyPair::generate(seed);
    let bob = KeyPair::generate(seed);
    let snow_col = |label, ring| Snow {
        label,
        params: name.parse().unwrap(),
        ring,
        alice: alice.secret_bytes(),
        bob: bob.secret_bytes(),
        bob_pub: *bob.public(),
        buf: [0; 256],
        out: [0; 256],
    };
    fn ours<P: Provider + 'static>(
        name: &str,
        alice: &KeyPair,
        bob: &KeyPair,
        label: &'static str,
        pre: Option<StaticStatic>,
    ) -> Box<dyn Column> {
        Box::new(Ours::<P> {
            params: NoiseParams::parse(name).unwrap(),
            // Static keys in the provider's form, once (as a server keeps
            // its identity); a no-op for the dalek providers.
            keys: Keys {
                alice: P::x25519_prepare(alice.clone()),
                bob: P::x25519_prepare(bob.clone()),
            },
            rng: SeededRng::from_u64(1),
            buf: [0; 256],
            out: [0; 256],
            pre,
            label,
            _p: std::marker::PhantomData,
        })
    }
    fn limit<P: Provider + 'static>(
        name: &str,
        bob: &KeyPair,
        label: &'static str,
    ) -> Box<dyn Column> {
        Box::new(DhOnly::<P> {
            dh: if ik(name) { 8 } else { 6 },
            rng: SeededRng::from_u64(2),
            peer: *bob.public(),
            label,
            _p: std::marker::PhantomData,
        })
    }
    let pre = ik(name).then(|| StaticStatic::new(&alice, bob.public()));
    #[allow(unused_mut)]
    let mut cols: Vec<Box<dyn Column>> = vec![ours::<Ring>(name, &alice, &bob, OURS[0], None)];
    #[cfg(feature = "aws-lc")]
    cols.push(ours::<hyperport::crypto::AwsLc>(
        name, &alice, &bob, OURS[1], None,
    ));
    cols.push(Box::new(snow_col(PEERS[0], false)));
    cols.push(Box::new(snow_col(PEERS[1], true)));
    cols.push(if name.ends_with("BLAKE2s") {
        Box::new(Clatter::<ClatterBlake2s>::new(ik(name)))
    } else {
        Box::new(Clatter::<ClatterSha256>::new(ik(name)))
    });
    cols.push(limit::<Ring>(name, &bob, "X25519-only limit"));
    #[cfg(feature = "aws-lc")]
    cols.push(limit::<hyperport::crypto::AwsLc>(
        name,
        &bob,
        "X25519-only limit (aws-lc)",
    ));
    // Last: the same handshake with the initiator's `ss` precomputed
    // (`noise::StaticStatic`, as WireGuard keeps per peer).
    cols.push(ours::<Ring>(name, &alice, &bob, "hyperport-ring+ss", pre));
    cols
}

/// Single-column mode for instruction counting: with
/// `NOISE_HS_ONLY=<pattern>:<column>` and `NOISE_HS_ITERS=<n>` set, runs
/// exactly `n` handshakes of that column (after building every column of the
/// pattern, untimed) and exits. `NOISE_HS_ITERS=0` gives the fixed cost to
/// subtract. See BENCHMARKS.md for the `perf stat` recipe.
fn only_mode() -> bool {
    let Ok(spec) = std::env::var("NOISE_HS_ONLY") else {
        return false;
    };
    let iters: u64 = std::env::var("NOISE_HS_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (pat, col) = spec
        .split_once(':')
        .expect("NOISE_HS_ONLY=<pattern>:<column>");
    let name = PATTERNS
        .iter()
        .find(|p| p.contains(pat))
        .expect("pattern: e.g. XX_25519_ChaChaPoly_BLAKE2s");
    let mut seed = SeededRng::from_u64(42);
    let mut cols = columns(name, &mut seed);
    let c = cols.iter_mut().find(|c| c.name() == col).expect(
        "column: hyperport-ring, hyperport-aws-lc, snow-0.10-default, snow-0.10-ring, clatter-2.3, X25519-only limit, hyperport-ring+ss",
    );
    c.run(iters);
    true
}

fn main() {
    if only_mode() {
        return;
    }
    let mut seed = SeededRng::from_u64(42);
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us without
    // it: keep that a quick smoke run (two handshakes per column).
    if !std::env::args().any(|a| a == "--bench") {
        for name in PATTERNS {
            for c in columns(name, &mut seed).iter_mut() {
                c.run(2);
            }
        }
        println!("noise_handshake: smoke run done (use `cargo bench` to measure)");
        return;
    }
    println!(
        "Noise handshakes/s, both sides in one thread, thread CPU time, median (max) of {TRIALS} rounds"
    );
    let mut ratio_rows = Vec::new();
    for (pi, name) in PATTERNS.iter().enumerate() {
        let mut cols = columns(name, &mut seed);
        let names: Vec<_> = cols.iter().map(|c| c.name()).collect();
        if pi == 0 {
            println!("| pattern | {} |", names.join(" | "));
            println!("|---|{}", "---|".repeat(names.len()));
        }
        let r = measure(&mut cols);
        let cells: Vec<String> = r
            .iter()
            .map(|v| {
                let max = v.iter().cloned().fold(0.0, f64::max);
                format!("{:.0} ({max:.0})", median(v.clone()))
            })
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
        // Median over rounds of ours / other column in the same round (load
        // drift within a round hits both sides of each ratio); "best peer"
        // is the fastest peer of that round.
        let idx = |n: &str| names.iter().position(|c| *c == n);
        let peers: Vec<usize> = PEERS.iter().filter_map(|p| idx(p)).collect();
        for o in OURS.iter().chain(["hyperport-ring+ss"].iter()) {
            let Some(oi) = idx(o) else { continue };
            let mut row = Vec::new();
            let mut cols_named = Vec::new();
            for (k, other) in names.iter().enumerate() {
                if k == oi {
                    continue;
                }
                let per_round: Vec<f64> = r[oi].iter().zip(&r[k]).map(|(a, b)| a / b).collect();
                row.push(format!("{:.3}", median(per_round)));
                cols_named.push(*other);
            }
            let best: Vec<f64> = (0..r[oi].len())
                .map(|t| {
                    let b = peers.iter().map(|&p| r[p][t]).fold(0.0, f64::max);
                    r[oi][t] / b
                })
                .collect();
            row.push(format!("**{:.3}**", median(best)));
            cols_named.push("best peer");
            ratio_rows.push((
                o.to_string(),
                name.to_string(),
                cols_named.join(" | "),
                row.join(" | "),
            ));
        }
    }
    println!();
    println!(
        "Ratios: median over the {TRIALS} rounds of (row's column / other column) in the same round"
    );
    for o in OURS.iter().chain(["hyperport-ring+ss"].iter()) {
        let rows: Vec<_> = ratio_rows.iter().filter(|r| r.0 == *o).collect();
        let Some(first) = rows.first() else { continue };
        println!();
        println!("{o} / column:");
        println!("| pattern | {} |", first.2);
        println!("|---|{}", "---|".repeat(first.2.split(" | ").count()));
        for (_, name, _, row) in rows {
            println!("| {name} | {row} |");
        }
    }
}
