//! Post-quantum hybrid Noise handshakes per second (issue #19), both sides in
//! one thread, empty payloads: hyperport (ring provider; with `--features
//! aws-lc` also AWS-LC; ML-KEM is libcrux-ml-kem in both) side by side with
//! clatter 2.3 (`HybridHandshake`, RustCrypto primitives and RustCrypto
//! `ml-kem` 0.2.3) in the same run, and the classical handshake of the same
//! pattern by both, for the cost of going hybrid. Then ML-KEM-768 alone:
//! key generation, encapsulation and decapsulation with libcrux (hyperport)
//! and with RustCrypto `ml-kem` through clatter's `Kem` trait.
//!
//! Timing as in `benches/noise_handshake.rs`: thread CPU time, `TRIALS`
//! rounds of about `TRIAL_MS` per column in an order rotated per round; the
//! median round is reported, then medians over rounds of per-round ratios.
//! Static keys are made once (untimed); ephemeral keys and encapsulation
//! randomness come from each implementation's RNG inside the timed loop.
//!
//! ```sh
//! cargo bench --bench noise_hybrid --features mlkem          # default features + mlkem
//! cargo bench --bench noise_hybrid --features mlkem,aws-lc   # + the AWS-LC column
//! ```
#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

use std::hint::black_box;

use clatter::crypto::cipher::ChaChaPoly as CChaChaPoly;
use clatter::crypto::dh::X25519 as CX25519;
use clatter::crypto::hash::{Blake2s as CBlake2s, Sha256 as CSha256};
use clatter::crypto::kem::rust_crypto_ml_kem::MlKem768 as CMlKem768;
use clatter::traits::{Hash as CHash, Kem as _};
use clatter::{HybridHandshake, HybridHandshakeParams, NqHandshake};
use hyperport::crypto::x25519::KeyPair;
use hyperport::crypto::{Provider, Ring, mlkem};
use hyperport::noise::{Builder, HandshakeState, NoiseParams};
use hyperport::rng::SeededRng;

const TRIALS: usize = 41;
const TRIAL_MS: u64 = 40;

trait Column {
    fn name(&self) -> &'static str;
    /// Runs `iters` complete handshakes (or primitive operations).
    fn run(&mut self, iters: u64);
}

fn ik(name: &str) -> bool {
    name.contains("IK_")
}

fn hybrid(name: &str) -> bool {
    name.contains("_hybrid")
}

/// Static keys of both sides, in both libraries' forms.
struct Keys {
    dh: [KeyPair; 2],
    kem: [mlkem::KeyPair; 2],
    kem_pub: [mlkem::PublicKey; 2],
}

type CDhKp = clatter::KeyPair<
    <CX25519 as clatter::traits::Dh>::PubKey,
    <CX25519 as clatter::traits::Dh>::PrivateKey,
>;
type CKemKp = clatter::KeyPair<
    <CMlKem768 as clatter::traits::Kem>::PubKey,
    <CMlKem768 as clatter::traits::Kem>::SecretKey,
>;

fn c_dh(k: &KeyPair) -> CDhKp {
    use clatter::bytearray::ByteArray;
    clatter::KeyPair {
        public: ByteArray::from_slice(k.public()),
        secret: ByteArray::from_slice(&k.secret_bytes()),
    }
}

fn c_kem(k: &mlkem::KeyPair) -> CKemKp {
    use clatter::bytearray::ByteArray;
    clatter::KeyPair {
        public: ByteArray::from_slice(k.public_bytes()),
        secret: ByteArray::from_slice(k.secret_bytes()),
    }
}

struct Ours<P> {
    label: &'static str,
    params: NoiseParams,
    keys: std::rc::Rc<Keys>,
    dh: [KeyPair; 2],
    rng: SeededRng,
    buf: Vec<u8>,
    out: Vec<u8>,
    _p: std::marker::PhantomData<P>,
}

impl<P: Provider> Column for Ours<P> {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64) {
        let hy = hybrid(self.params.name());
        let k = &*self.keys;
        for _ in 0..iters {
            let mut ib = Builder::new(self.params).local_static(self.dh[0].clone());
            let mut rb = Builder::new(self.params).local_static(self.dh[1].clone());
            if hy {
                ib = ib.local_static_kem(&k.kem[0]);
                rb = rb.local_static_kem(&k.kem[1]);
            }
            if ik(self.params.name()) {
                ib = ib.remote_static(*self.dh[1].public());
                if hy {
                    ib = ib.remote_static_kem(&k.kem_pub[1]);
                }
            }
            let mut i: HandshakeState<P> = ib.build_initiator(&mut self.rng).unwrap();
            let mut r: HandshakeState<P> = rb.build_responder(&mut self.rng).unwrap();
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
            black_box(i.split().ok());
            black_box(r.split().ok());
        }
    }
}

type CHybrid<H> = HybridHandshake<CX25519, CMlKem768, CMlKem768, CChaChaPoly, H>;

struct Clatter<H> {
    label: &'static str,
    ik: bool,
    hybrid: bool,
    dh: [CDhKp; 2],
    kem: [CKemKp; 2],
    buf: Vec<u8>,
    out: Vec<u8>,
    _h: std::marker::PhantomData<H>,
}

impl<H: CHash + 'static> Clatter<H> {
    fn hybrid_pair(&self) -> (CHybrid<H>, CHybrid<H>) {
        let pattern = if self.ik {
            clatter::handshakepattern::noise_hybrid_ik
        } else {
            clatter::handshakepattern::noise_hybrid_xx
        };
        let mut ip = HybridHandshakeParams::<CX25519, CMlKem768, CMlKem768>::new(pattern(), true)
            .with_s(self.dh[0].clone())
            .with_s_kem(self.kem[0].clone());
        if self.ik {
            ip = ip
                .with_rs(self.dh[1].public)
                .with_rs_kem(self.kem[1].public.clone());
        }
        let rp = HybridHandshakeParams::<CX25519, CMlKem768, CMlKem768>::new(pattern(), false)
            .with_s(self.dh[1].clone())
            .with_s_kem(self.kem[1].clone());
        (
            HybridHandshake::new(ip).unwrap(),
            HybridHandshake::new(rp).unwrap(),
        )
    }
}

/// Drives two clatter handshakes to the end.
fn clatter_drive<T: clatter::traits::Handshaker<C, H>, C, H>(
    mut i: T,
    mut r: T,
    buf: &mut [u8],
    out: &mut [u8],
) where
    C: clatter::traits::Cipher,
    H: CHash,
{
    let mut turn = true;
    while !i.is_finished() {
        let (w, rd) = if turn {
            (&mut i, &mut r)
        } else {
            (&mut r, &mut i)
        };
        let n = w.write_message(&[], buf).unwrap();
        rd.read_message(&buf[..n], out).unwrap();
        turn = !turn;
    }
    black_box(i.finalize().ok());
    black_box(r.finalize().ok());
}

impl<H: CHash + 'static> Column for Clatter<H> {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64) {
        for _ in 0..iters {
            if self.hybrid {
                let (i, r) = self.hybrid_pair();
                clatter_drive(i, r, &mut self.buf, &mut self.out);
            } else {
                let pattern = if self.ik {
                    clatter::handshakepattern::noise_ik
                } else {
                    clatter::handshakepattern::noise_xx
                };
                let rs = self.ik.then(|| self.dh[1].public);
                let i = NqHandshake::<CX25519, CChaChaPoly, H>::new(
                    pattern(),
                    &[],
                    true,
                    Some(self.dh[0].clone()),
                    None,
                    rs,
                    None,
                )
                .unwrap();
                let r = NqHandshake::<CX25519, CChaChaPoly, H>::new(
                    pattern(),
                    &[],
                    false,
                    Some(self.dh[1].clone()),
                    None,
                    None,
                    None,
                )
                .unwrap();
                clatter_drive(i, r, &mut self.buf, &mut self.out);
            }
        }
    }
}

/// One ML-KEM-768 operation, repeated.
struct KemOp {
    label: &'static str,
    op: Box<dyn FnMut()>,
}

impl Column for KemOp {
    fn name(&self) -> &'static str {
        self.label
    }
    fn run(&mut self, iters: u64) {
        for _ in 0..iters {
            (self.op)();
        }
    }
}

/// Per-round rates of every column (`TRIALS` rounds, order rotated).
fn measure(cols: &mut [Box<dyn Column>]) -> Vec<Vec<f64>> {
    let mut iters = Vec::new();
    for c in cols.iter_mut() {
        c.run(3); // warm-up
        let t0 = thread_cpu_ns();
        c.run(10);
        let per = (thread_cpu_ns() - t0).max(1) as f64 / 10.0;
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

/// (hybrid protocol, its classical twin).
const PATTERNS: [(&str, &str); 4] = [
    (
        "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s",
        "Noise_XX_25519_ChaChaPoly_BLAKE2s",
    ),
    (
        "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_SHA256",
        "Noise_XX_25519_ChaChaPoly_SHA256",
    ),
    (
        "Noise_hybridIK_25519+MLKEM768_ChaChaPoly_BLAKE2s",
        "Noise_IK_25519_ChaChaPoly_BLAKE2s",
    ),
    (
        "Noise_hybridIK_25519+MLKEM768_ChaChaPoly_SHA256",
        "Noise_IK_25519_ChaChaPoly_SHA256",
    ),
];

fn keys() -> std::rc::Rc<Keys> {
    let mut rng = SeededRng::from_u64(42);
    let dh = [KeyPair::generate(&mut rng), KeyPair::generate(&mut rng)];
    let kem = [
        mlkem::KeyPair::generate(&mut rng),
        mlkem::KeyPair::generate(&mut rng),
    ];
    let kem_pub = [kem[0].public(), kem[1].public()];
    std::rc::Rc::new(Keys { dh, kem, kem_pub })
}

fn ours<P: Provider + 'static>(
    name: &str,
    keys: &std::rc::Rc<Keys>,
    label: &'static str,
) -> Box<dyn Column> {
    Box::new(Ours::<P> {
        label,
        params: NoiseParams::parse(name).unwrap(),
        keys: keys.clone(),
        dh: [
            P::x25519_prepare(keys.dh[0].clone()),
            P::x25519_prepare(keys.dh[1].clone()),
        ],
        rng: SeededRng::from_u64(1),
        buf: vec![0; 8192],
        out: vec![0; 8192],
        _p: std::marker::PhantomData,
    })
}

fn clatter_col(name: &str, keys: &Keys, label: &'static str) -> Box<dyn Column> {
    fn make<H: CHash + 'static>(name: &str, keys: &Keys, label: &'static str) -> Box<dyn Column> {
        Box::new(Clatter::<H> {
            label,
            ik: ik(name),
            hybrid: hybrid(name),
            dh: [c_dh(&keys.dh[0]), c_dh(&keys.dh[1])],
            kem: [c_kem(&keys.kem[0]), c_kem(&keys.kem[1])],
            buf: vec![0; 8192],
            out: vec![0; 8192],
            _h: std::marker::PhantomData,
        })
    }
    if name.ends_with("BLAKE2s") {
        make::<CBlake2s>(name, keys, label)
    } else {
        make::<CSha256>(name, keys, label)
    }
}

/// Column names: hyperport's hybrid handshake(s), clatter's, then the
/// classical twins.
const H_RING: &str = "hyperport-ring hybrid";
const H_AWS: &str = "hyperport-aws-lc hybrid";
const C_HYB: &str = "clatter-2.3 hybrid";
const H_CLASSIC: &str = "hyperport-ring classical";
const C_CLASSIC: &str = "clatter-2.3 classical";

fn columns(hybrid: &str, classical: &str, keys: &std::rc::Rc<Keys>) -> Vec<Box<dyn Column>> {
    #[allow(unused_mut)]
    let mut cols = vec![ours::<Ring>(hybrid, keys, H_RING)];
    #[cfg(feature = "aws-lc")]
    cols.push(ours::<hyperport::crypto::AwsLc>(hybrid, keys, H_AWS));
    cols.push(clatter_col(hybrid, keys, C_HYB));
    cols.push(ours::<Ring>(classical, keys, H_CLASSIC));
    cols.push(clatter_col(classical, keys, C_CLASSIC));
    cols
}

fn kem_columns(keys: &std::rc::Rc<Keys>) -> Vec<Box<dyn Column>> {
    let pk = keys.kem_pub[1].clone();
    let kp = keys.kem[1].clone();
    let mut rng = SeededRng::from_u64(7);
    let (ct, _) = pk.encapsulate(&[7; 32]);
    let cpk = keys.kem[1].public_bytes().to_vec();
    let csk = keys.kem[1].secret_bytes().to_vec();
    let (cct, _) = CMlKem768::encapsulate(&cpk, &mut clatter::crypto::rng::DefaultRng).unwrap();
    let cct = {
        use clatter::bytearray::ByteArray;
        cct.as_slice().to_vec()
    };
    let mut rng2 = SeededRng::from_u64(8);
    let pk2 = pk.clone();
    vec![
        Box::new(KemOp {
            label: "keygen libcrux",
            op: Box::new(move || {
                black_box(mlkem::KeyPair::generate(&mut rng));
            }),
        }),
        Box::new(KemOp {
            label: "keygen ml-kem (clatter)",
            op: Box::new(|| {
                black_box(CMlKem768::genkey().unwrap());
            }),
        }),
        Box::new(KemOp {
            label: "encaps libcrux",
            op: Box::new(move || {
                let mut m = [0u8; 32];
                rand_core::RngCore::fill_bytes(&mut rng2, &mut m);
                black_box(pk2.encapsulate(&m));
            }),
        }),
        Box::new(KemOp {
            label: "encaps ml-kem (clatter)",
            op: Box::new(move || {
                black_box(
                    CMlKem768::encapsulate(&cpk, &mut clatter::crypto::rng::DefaultRng).unwrap(),
                );
            }),
        }),
        Box::new(KemOp {
            label: "decaps libcrux",
            op: Box::new(move || {
                black_box(kp.decapsulate(&ct));
            }),
        }),
        Box::new(KemOp {
            label: "decaps ml-kem (clatter)",
            op: Box::new(move || {
                black_box(CMlKem768::decapsulate(&cct, &csk).unwrap());
            }),
        }),
    ]
}

fn main() {
    let keys = keys();
    // `cargo test --benches` runs us without `--bench`: a quick smoke run.
    if !std::env::args().any(|a| a == "--bench") {
        for (h, c) in PATTERNS {
            for col in columns(h, c, &keys).iter_mut() {
                col.run(1);
            }
        }
        for col in kem_columns(&keys).iter_mut() {
            col.run(1);
        }
        println!("noise_hybrid: smoke run done (use `cargo bench` to measure)");
        return;
    }
    println!(
        "Hybrid Noise handshakes/s, both sides in one thread, thread CPU time, median (max) of {TRIALS} rounds"
    );
    let mut ratio_rows = Vec::new();
    for (pi, (h, c)) in PATTERNS.iter().enumerate() {
        let mut cols = columns(h, c, &keys);
        let names: Vec<_> = cols.iter().map(|c| c.name()).collect();
        if pi == 0 {
            println!("| pattern | {} |", names.join(" | "));
            println!("|---|{}", "---:|".repeat(names.len()));
        }
        let r = measure(&mut cols);
        let cells: Vec<String> = r
            .iter()
            .map(|v| {
                let max = v.iter().cloned().fold(0.0, f64::max);
                format!("{:.0} ({max:.0})", median(v.clone()))
            })
            .collect();
        println!("| {h} | {} |", cells.join(" | "));
        let idx = |n: &str| names.iter().position(|c| *c == n);
        let ratio =
            |a: usize, b: usize| median(r[a].iter().zip(&r[b]).map(|(x, y)| x / y).collect());
        let (hr, ch, hc, cc) = (
            idx(H_RING).unwrap(),
            idx(C_HYB).unwrap(),
            idx(H_CLASSIC).unwrap(),
            idx(C_CLASSIC).unwrap(),
        );
        let aws = idx(H_AWS)
            .map(|a| format!("{:.3}", ratio(a, ch)))
            .unwrap_or_else(|| "-".into());
        ratio_rows.push(format!(
            "| {h} | **{:.3}** | {aws} | {:.3} | {:.3} | {:.3} |",
            ratio(hr, ch),
            ratio(hr, hc),
            ratio(ch, cc),
            ratio(hc, cc),
        ));
    }
    println!();
    println!("Ratios: median over the {TRIALS} rounds of the per-round ratio");
    println!(
        "| pattern | hyperport-ring / clatter (hybrid) | hyperport-aws-lc / clatter (hybrid) | hyperport hybrid / classical | clatter hybrid / classical | hyperport / clatter (classical) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for row in ratio_rows {
        println!("{row}");
    }
    println!();
    println!("ML-KEM-768 operations/s, median (max) of {TRIALS} rounds");
    let mut cols = kem_columns(&keys);
    let r = measure(&mut cols);
    println!(
        "| operation | libcrux-ml-kem 0.0.11 (hyperport) | RustCrypto ml-kem 0.2.3 (clatter) | ratio |"
    );
    println!("|---|---:|---:|---:|");
    for (k, op) in ["key generation", "encapsulation", "decapsulation"]
        .iter()
        .enumerate()
    {
        let (a, b) = (2 * k, 2 * k + 1);
        let cell = |v: &Vec<f64>| {
            let max = v.iter().cloned().fold(0.0, f64::max);
            format!("{:.0} ({max:.0})", median(v.clone()))
        };
        let per: Vec<f64> = r[a].iter().zip(&r[b]).map(|(x, y)| x / y).collect();
        println!(
            "| {op} | {} | {} | **{:.2}** |",
            cell(&r[a]),
            cell(&r[b]),
            median(per)
        );
    }
}
