//! Noise transport throughput: encrypt (one side) + decrypt (other side),
//! MB/s of payload (10^6 B/s), hyperport's transports with the ring
//! provider side by side with raw ring (`seal_in_place_separate_tag` +
//! `open_in_place`, the physical limit), snow 0.10 (`TransportState`,
//! copying, default resolver and ring resolver) and clatter 2.3
//! (`TransportState`, in place and copying; RustCrypto ChaCha20-Poly1305) in
//! the same run. snow and clatter transports come from an `NN` handshake
//! done once before timing.
//!
//! Timing: thread CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes on
//! shared cores do not count. Per payload size, `TRIALS` rounds; in each
//! round every column runs for about `TRIAL_MS` of CPU time, in an order
//! rotated per round (raw ring and the stream in-place column always run back
//! to back); the median round is reported, the ratio of the medians, and the
//! median of the per-round ratios in-place / raw ring (robust to load drift
//! between rounds). Run with:
//!
//! With `--features aws-lc`, three more columns: raw AWS-LC
//! (aws-lc-rs `LessSafeKey`, same calls as raw ring), hyperport's
//! `Transport` in place with the AWS-LC provider, and its ratio to the
//! faster raw AEAD of the same round.
//!
//! ```sh
//! cargo bench --bench noise_transport
//! cargo bench --bench noise_transport --features aws-lc
//! ```
#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

use std::hint::black_box;

use hyperport::crypto::{AeadAlgorithm, Digest, Provider, Ring};
use hyperport::noise::cipher::SplitKeys;
use hyperport::noise::datagram::{self, DatagramTransport};
use hyperport::noise::transport::{Config, Transport};
use hyperport::time::Instant;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

const SIZES: [usize; 3] = [64, 1400, 65519];
const TRIALS: usize = 31;
const TRIAL_MS: u64 = 60;

/// One benchmarked implementation: `run(iters, len)` encrypts and decrypts
/// `iters` messages of `len` payload bytes.
trait Column {
    fn name(&self) -> &'static str;
    fn run(&mut self, iters: u64, len: usize);
}

fn split(initiator: bool) -> SplitKeys {
    SplitKeys::new(
        [1; 32],
        [2; 32],
        AeadAlgorithm::ChaCha20Poly1305,
        Digest::from_slice(&[3; 32]),
        initiator,
    )
}

struct RawRing {
    tx: LessSafeKey,
    rx: LessSafeKey,
    n: u64,
    buf: AlignedBuf,
}

impl RawRing {
    fn new() -> Self {
        let key = |k| LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[k; 32]).unwrap());
        RawRing {
            tx: key(1),
            rx: key(1),
            n: 0,
            buf: AlignedBuf::new(),
        }
    }
}

/// A 65535-byte buffer starting on a 64-byte boundary, so that every
/// in-place column (raw ring included) sees the same cache-line alignment
/// and differences in unaligned-load penalties cannot masquerade as
/// differences between implementations.
struct AlignedBuf {
    v: Vec<u8>,
    off: usize,
}

impl AlignedBuf {
    fn new() -> Self {
        let v = vec![0x5a; 65535 + 64];
        let off = (64 - v.as_ptr() as usize % 64) % 64;
        AlignedBuf { v, off }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.v[self.off..self.off + 65535]
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.v[self.off..self.off + 65535]
    }
}

fn ring_nonce(n: u64) -> Nonce {
    let mut b = [0u8; 12];
    b[4..].copy_from_slice(&n.to_le_bytes());
    Nonce::assume_unique_for_key(b)
}

impl Column for RawRing {
    fn name(&self) -> &'static str {
        "raw ring seal+open"
    }
    fn run(&mut self, iters: u64, len: usize) {
        for _ in 0..iters {
            let (body, rest) = self.buf.split_at_mut(len);
            let tag = self
                .tx
                .seal_in_place_separate_tag(ring_nonce(self.n), Aad::empty(), body)
                .unwrap();
            rest[..16].copy_from_slice(tag.as_ref());
            let plain = self
                .rx
                .open_in_place(ring_nonce(self.n), Aad::empty(), &mut self.buf[..len + 16])
                .unwrap();
            black_box(plain);
            self.n += 1;
        }
    }
}

struct StreamInPlace<P: Provider> {
    a: Transport<P>,
    b: Transport<P>,
    buf: AlignedBuf,
    label: &'static str,
}

impl<P: Provider> Column for StreamInPlace<P> {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64, len: usize) {
        for _ in 0..iters {
            let n = self.a.write_message_in_place(&mut self.buf, len).unwrap();
            let m = self.b.read_message_in_place(&mut self.buf[..n]).unwrap();
            black_box(m);
        }
    }
}

/// Copying column. Its three buffers are placed at different offsets
/// modulo 4096: with back-to-back 64 KiB allocations `dst - src` is 16 mod
/// 4096, where `rep movsb` memcpy is several times slower on this CPU (4K
/// aliasing; measured 21 us vs 1.3 us for a 16 KiB copy) and the column
/// would measure memcpy's slow path, not the transport.
struct StreamCopy {
    a: Transport<Ring>,
    b: Transport<Ring>,
    payload: Vec<u8>,
    wire: Vec<u8>,
    out: Vec<u8>,
}

const WIRE_OFF: usize = 1024;
const OUT_OFF: usize = 2048;

impl Column for StreamCopy {
    fn name(&self) -> &'static str {
        "Transport copying"
    }
    fn run(&mut self, iters: u64, len: usize) {
        for _ in 0..iters {
            let wire = &mut self.wire[WIRE_OFF..];
            let n = self.a.write_message(&self.payload[..len], wire).unwrap();
            let m = self
                .b
                .read_message(&wire[..n], &mut self.out[OUT_OFF..])
                .unwrap();
            black_box(m);
        }
    }
}

struct DatagramInPlace {
    a: DatagramTransport<Ring>,
    b: DatagramTransport<Ring>,
    buf: AlignedBuf,
}

impl Column for DatagramInPlace {
    fn name(&self) -> &'static str {
        "DatagramTransport in place"
    }
    fn run(&mut self, iters: u64, len: usize) {
        for _ in 0..iters {
            let (nonce, n) = self.a.write_message_in_place(&mut self.buf, len).unwrap();
            let m = self
                .b
                .read_message_in_place(nonce, &mut self.buf[..n])
                .unwrap();
            black_box(m);
        }
    }
}

/// Raw aws-lc-rs ChaCha20-Poly1305, the same calls as [`RawRing`].
#[cfg(feature = "aws-lc")]
struct RawAwsLc {
    tx: aws_lc_rs::aead::LessSafeKey,
    rx: aws_lc_rs::aead::LessSafeKey,
    n: u64,
    buf: AlignedBuf,
}

#[cfg(feature = "aws-lc")]
impl RawAwsLc {
    fn new() -> Self {
        use aws_lc_rs::aead::{CHACHA20_POLY1305, LessSafeKey, UnboundKey};
        let key = |k| LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[k; 32]).unwrap());
        RawAwsLc {
            tx: key(1),
            rx: key(1),
            n: 0,
            buf: AlignedBuf::new(),
        }
    }
}

#[cfg(feature = "aws-lc")]
impl Column for RawAwsLc {
    fn name(&self) -> &'static str {
        "raw aws-lc seal+open"
    }
    fn run(&mut self, iters: u64, len: usize) {
        use aws_lc_rs::aead::{Aad, Nonce};
        let nonce = |n: u64| {
            let mut b = [0u8; 12];
            b[4..].copy_from_slice(&n.to_le_bytes());
            Nonce::assume_unique_for_key(b)
        };
        for _ in 0..iters {
            let (body, rest) = self.buf.split_at_mut(len);
            let tag = self
                .tx
                .seal_in_place_separate_tag(nonce(self.n), Aad::empty(), body)
                .unwrap();
            rest[..16].copy_from_slice(tag.as_ref());
            let plain = self
                .rx
                .open_in_place(nonce(self.n), Aad::empty(), &mut self.buf[..len + 16])
                .unwrap();
            black_box(plain);
            self.n += 1;
        }
    }
}

/// Index of the aws-lc `Transport` column and of the raw AWS-LC column
/// (appended after the other columns).
#[cfg(feature = "aws-lc")]
const AWS: (usize, usize) = (9, 8);

fn columns() -> Vec<Box<dyn Column>> {
    let stream = || {
        (
            Transport::<Ring>::new(split(true), Config::default()),
            Transport::<Ring>::new(split(false), Config::default()),
        )
    };
    let (a, b) = stream();
    let (c, d) = stream();
    let dg =
        |i| DatagramTransport::<Ring>::new(split(i), datagram::Config::default(), Instant::ZERO);
    let (ca, cb) = clatter_pair();
    let (cc, cd) = clatter_pair();
    vec![
        Box::new(RawRing::new()),
        Box::new(StreamInPlace {
            a,
            b,
            buf: AlignedBuf::new(),
            label: "Transport in place",
        }),
        Box::new(StreamCopy {
            a: c,
            b: d,
            payload: vec![0x5a; 65535],
            wire: vec![0; 65535 + WIRE_OFF],
            out: vec![0; 65535 + OUT_OFF],
        }),
        Box::new(DatagramInPlace {
            a: dg(true),
            b: dg(false),
            buf: AlignedBuf::new(),
        }),
        Box::new(Snow::new("snow-0.10-default copying", false)),
        Box::new(Snow::new("snow-0.10-ring copying", true)),
        Box::new(ClatterInPlace {
            a: ca,
            b: cb,
            buf: AlignedBuf::new(),
        }),
        Box::new(ClatterCopy {
            a: cc,
            b: cd,
            payload: vec![0x5a; 65535],
            wire: vec![0; 65535 + WIRE_OFF],
            out: vec![0; 65535 + OUT_OFF],
        }),
        #[cfg(feature = "aws-lc")]
        Box::new(RawAwsLc::new()),
        #[cfg(feature = "aws-lc")]
        Box::new(StreamInPlace::<hyperport::crypto::AwsLc> {
            a: Transport::new(split(true), Config::default()),
            b: Transport::new(split(false), Config::default()),
            buf: AlignedBuf::new(),
            label: "Transport in place (aws-lc)",
        }),
    ]
}

type ClatterTransport = clatter::transportstate::TransportState<
    clatter::crypto::cipher::ChaChaPoly,
    clatter::crypto::hash::Blake2s,
>;

/// A clatter transport pair from an `NN` handshake.
fn clatter_pair() -> (ClatterTransport, ClatterTransport) {
    use clatter::traits::Handshaker as _;
    type Hs = clatter::NqHandshake<
        clatter::crypto::dh::X25519,
        clatter::crypto::cipher::ChaChaPoly,
        clatter::crypto::hash::Blake2s,
    >;
    let nn = clatter::handshakepattern::noise_nn;
    let mut i = Hs::new(nn(), &[], true, None, None, None, None).unwrap();
    let mut r = Hs::new(nn(), &[], false, None, None, None, None).unwrap();
    let (mut buf, mut out) = ([0u8; 256], [0u8; 256]);
    let n = i.write_message(&[], &mut buf).unwrap();
    r.read_message(&buf[..n], &mut out).unwrap();
    let n = r.write_message(&[], &mut buf).unwrap();
    i.read_message(&buf[..n], &mut out).unwrap();
    (i.finalize().unwrap(), r.finalize().unwrap())
}

struct ClatterInPlace {
    a: ClatterTransport,
    b: ClatterTransport,
    buf: AlignedBuf,
}

impl Column for ClatterInPlace {
    fn name(&self) -> &'static str {
        "clatter-2.3 in place"
    }
    fn run(&mut self, iters: u64, len: usize) {
        for _ in 0..iters {
            let n = self.a.send_in_place(&mut self.buf, len).unwrap();
            let m = self.b.receive_in_place(&mut self.buf, n).unwrap();
            black_box(m);
        }
    }
}

/// Copying clatter column (buffer offsets as for [`StreamCopy`]).
struct ClatterCopy {
    a: ClatterTransport,
    b: ClatterTransport,
    payload: Vec<u8>,
    wire: Vec<u8>,
    out: Vec<u8>,
}

impl Column for ClatterCopy {
    fn name(&self) -> &'static str {
        "clatter-2.3 copying"
    }
    fn run(&mut self, iters: u64, len: usize) {
        for _ in 0..iters {
            let wire = &mut self.wire[WIRE_OFF..];
            let n = self.a.send(&self.payload[..len], wire).unwrap();
            let m = self
                .b
                .receive(&wire[..n], &mut self.out[OUT_OFF..])
                .unwrap();
            black_box(m);
        }
    }
}

/// A snow transport pair from an `NN` handshake; `ring`: ring resolver with
/// the default one as fallback.
fn snow_pair(ring: bool) -> (snow::TransportState, snow::TransportState) {
    let builder = || {
        let params: snow::params::NoiseParams =
            "Noise_NN_25519_ChaChaPoly_BLAKE2s".parse().unwrap();
        if ring {
            snow::Builder::with_resolver(
                params,
                Box::new(snow::resolvers::FallbackResolver::new(
                    Box::new(snow::resolvers::RingResolver),
                    Box::new(snow::resolvers::DefaultResolver),
                )),
            )
        } else {
            snow::Builder::new(params)
        }
    };
    let mut i = builder().build_initiator().unwrap();
    let mut r = builder().build_responder().unwrap();
    let (mut buf, mut out) = ([0u8; 256], [0u8; 256]);
    let n = i.write_message(&[], &mut buf).unwrap();
    r.read_message(&buf[..n], &mut out).unwrap();
    let n = r.write_message(&[], &mut buf).unwrap();
    i.read_message(&buf[..n], &mut out).unwrap();
    (
        i.into_transport_mode().unwrap(),
        r.into_transport_mode().unwrap(),
    )
}

/// snow's `TransportState` (copying only; buffer offsets as for
/// [`StreamCopy`]).
struct Snow {
    label: &'static str,
    a: snow::TransportState,
    b: snow::TransportState,
    payload: Vec<u8>,
    wire: Vec<u8>,
    out: Vec<u8>,
}

impl Snow {
    fn new(label: &'static str, ring: bool) -> Self {
        let (a, b) = snow_pair(ring);
        Snow {
            label,
            a,
            b,
            payload: vec![0x5a; 65535],
            wire: vec![0; 65535 + WIRE_OFF],
            out: vec![0; 65535 + OUT_OFF],
        }
    }
}

impl Column for Snow {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64, len: usize) {
        for _ in 0..iters {
            let wire = &mut self.wire[WIRE_OFF..];
            let n = self.a.write_message(&self.payload[..len], wire).unwrap();
            let m = self
                .b
                .read_message(&wire[..n], &mut self.out[OUT_OFF..])
                .unwrap();
            black_box(m);
        }
    }
}

/// Iterations taking about `TRIAL_MS` of CPU time for `col` at `len`.
fn calibrate(col: &mut dyn Column, len: usize) -> u64 {
    let mut iters = 1u64;
    loop {
        let t0 = thread_cpu_ns();
        col.run(iters, len);
        let dt = thread_cpu_ns() - t0;
        if dt > 5_000_000 {
            return (iters as u128 * TRIAL_MS as u128 * 1_000_000 / dt as u128).max(1) as u64;
        }
        iters *= 2;
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Single-column mode for instruction counts: with
/// `NOISE_TR_ONLY=<column>:<payload bytes>` and `NOISE_TR_ITERS=<n>`, runs
/// `n` encrypt+decrypt pairs of that column and exits (`n = 0` gives the
/// fixed cost to subtract). See BENCHMARKS.md.
fn only_mode() -> bool {
    let Ok(spec) = std::env::var("NOISE_TR_ONLY") else {
        return false;
    };
    let iters: u64 = std::env::var("NOISE_TR_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (col, len) = spec.rsplit_once(':').expect("NOISE_TR_ONLY=<column>:<len>");
    let len: usize = len.parse().expect("payload length");
    let mut cols = columns();
    let c = cols
        .iter_mut()
        .find(|c| c.name() == col)
        .expect("column name as printed in the table header");
    c.run(iters, len);
    true
}

fn main() {
    if only_mode() {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` runs us with no
    // such flag: keep that a quick smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let mut cols = columns();
    println!(
        "Noise transport ChaCha20-Poly1305, encrypt + decrypt, MB/s of payload (median of {TRIALS} trials, thread CPU time)"
    );
    println!();
    print!("| payload |");
    for c in &cols {
        print!(" {} |", c.name());
    }
    print!(" in place / raw ring | in place / raw ring, per round |");
    #[cfg(feature = "aws-lc")]
    print!(" aws-lc in place / faster raw AEAD, per round |");
    println!();
    print!("|---|");
    for _ in &cols {
        print!("---|");
    }
    #[cfg(feature = "aws-lc")]
    print!("---|");
    println!("---|---|");
    for len in SIZES {
        let iters: Vec<u64> = if quick {
            vec![3; cols.len()]
        } else {
            // warm-up and calibration
            cols.iter_mut()
                .map(|c| calibrate(c.as_mut(), len))
                .collect()
        };
        let trials = if quick { 1 } else { TRIALS };
        let mut rates = vec![Vec::new(); cols.len()];
        for t in 0..trials {
            for k in 0..cols.len() {
                let i = (k + t) % cols.len();
                let t0 = thread_cpu_ns();
                cols[i].run(iters[i], len);
                let dt = (thread_cpu_ns() - t0).max(1);
                rates[i].push(iters[i] as f64 * len as f64 * 1e3 / dt as f64);
            }
        }
        // Ratio of the stream in-place column to raw ring within each round
        // (the two run back to back), then the median: load drift between
        // rounds cancels.
        let mut per_round: Vec<f64> = rates[1].iter().zip(&rates[0]).map(|(a, b)| a / b).collect();
        let per_round = median(&mut per_round);
        // The aws-lc transport against the faster raw AEAD (raw ring or raw
        // AWS-LC, whichever has the higher median), per round. (Taking the
        // faster of the two in each round would bias the reference upwards:
        // the maximum of two noisy figures.)
        #[cfg(feature = "aws-lc")]
        let aws_per_round = {
            let mut a = rates[0].clone();
            let mut b = rates[AWS.1].clone();
            let faster = if median(&mut a) >= median(&mut b) {
                0
            } else {
                AWS.1
            };
            let mut v: Vec<f64> = (0..rates[0].len())
                .map(|t| rates[AWS.0][t] / rates[faster][t])
                .collect();
            median(&mut v)
        };
        let med: Vec<f64> = rates.iter_mut().map(|r| median(r)).collect();
        print!("| {len} B |");
        for m in &med {
            print!(" {m:.1} |");
        }
        print!(
            " {:.1} % | {:.1} % |",
            100.0 * med[1] / med[0],
            100.0 * per_round
        );
        #[cfg(feature = "aws-lc")]
        print!(" {:.1} % |", 100.0 * aws_per_round);
        println!();
    }
}
