//! Time of one X25519 Diffie-Hellman (RFC 7748 `X25519(k, u)` with a
//! variable `u`, what a Noise handshake does 6 or 8 times) with every
//! candidate, side by side in one run:
//!
//! - `dalek-ladder`: x25519-dalek 2 `StaticSecret::diffie_hellman`, the
//!   Montgomery ladder over curve25519-dalek's serial 64-bit field (what the
//!   `RustCrypto` provider computes, and the `Ring` provider did before
//!   issue #20);
//! - `dalek-edwards`: the same curve25519-dalek, Edwards form:
//!   `MontgomeryPoint::to_edwards(0)`, `EdwardsPoint::mul_clamped` (which
//!   dispatches at run time to the AVX2 vector backend when the CPU has
//!   AVX2), `to_montgomery()`; the ladder when `u` is not on the curve;
//! - `hyperport-ring`: `Ring::x25519`, whatever the `Ring` provider does now;
//! - `crrl-0.9`: Thomas Pornin's crrl (a research library) `x25519::x25519`;
//! - `aws-lc` (with `--features aws-lc`): `AwsLc::x25519` with a prepared key
//!   (AWS-LC's X25519: the reference ceiling);
//! - `dalek-edwards (twist u)` and `dalek-ladder (twist u)`: both paths on
//!   peer values that are not on the curve (only a misbehaving peer sends
//!   those; the Edwards path then pays the failed decompression on top of
//!   the ladder).
//!
//! Every column cycles through the same `PAIRS` (private key, peer public
//! key) pairs; their outputs are checked equal before timing. Timing as in
//! benches/noise_handshake.rs: thread CPU time (`CLOCK_THREAD_CPUTIME_ID`),
//! `TRIALS` rounds, each column about `TRIAL_MS` of CPU time per round in an
//! order rotated per round; reported: the median time per DH, and the median
//! over rounds of (baseline time / column time) in the same round (the
//! speed-up over the ladder). Run with:
//!
//! ```sh
//! cargo bench --bench x25519                      # default features
//! cargo bench --bench x25519 --features aws-lc    # + the AWS-LC column
//! ```
#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

use std::hint::black_box;

use curve25519_dalek::montgomery::MontgomeryPoint;
use hyperport::crypto::x25519::KeyPair;
use hyperport::crypto::{Provider, Ring};
use hyperport::rng::SeededRng;
use rand_core::RngCore;

const TRIALS: usize = 61;
const TRIAL_MS: u64 = 30;
/// Distinct (private key, peer public key) pairs each column cycles through.
const PAIRS: usize = 16;

/// One input of the benchmark: the private key in every form a column
/// needs, and the peer's `u`.
struct Pair {
    secret: [u8; 32],
    dalek: x25519_dalek::StaticSecret,
    key: KeyPair,
    #[cfg(feature = "aws-lc")]
    aws: KeyPair,
    peer: [u8; 32],
}

type DhFn = fn(&Pair) -> [u8; 32];

fn ladder(p: &Pair) -> [u8; 32] {
    p.dalek
        .diffie_hellman(&x25519_dalek::PublicKey::from(p.peer))
        .to_bytes()
}

fn edwards(p: &Pair) -> [u8; 32] {
    let u = MontgomeryPoint(p.peer);
    match u.to_edwards(0) {
        Some(e) => e.mul_clamped(p.secret).to_montgomery().0,
        None => u.mul_clamped(p.secret).0,
    }
}

fn ring(p: &Pair) -> [u8; 32] {
    *Ring::x25519(&p.key, &p.peer).as_bytes()
}

fn crrl(p: &Pair) -> [u8; 32] {
    crrl::x25519::x25519(&p.peer, &p.secret)
}

#[cfg(feature = "aws-lc")]
fn aws(p: &Pair) -> [u8; 32] {
    use hyperport::crypto::AwsLc;
    *AwsLc::x25519(&p.aws, &p.peer).as_bytes()
}

struct Column {
    name: &'static str,
    f: DhFn,
    twist: bool,
}

fn pairs(rng: &mut SeededRng, twist: bool) -> Vec<Pair> {
    (0..PAIRS)
        .map(|_| {
            let mut secret = [0u8; 32];
            rng.fill_bytes(&mut secret);
            let peer = loop {
                let mut u = [0u8; 32];
                rng.fill_bytes(&mut u);
                u[31] &= 0x7f;
                let on_curve = MontgomeryPoint(u).to_edwards(0).is_some();
                if twist != on_curve {
                    break u;
                }
            };
            let key = KeyPair::from_secret_bytes(secret);
            Pair {
                secret,
                dalek: x25519_dalek::StaticSecret::from(secret),
                #[cfg(feature = "aws-lc")]
                aws: hyperport::crypto::AwsLc::x25519_prepare(key.clone()),
                key,
                peer,
            }
        })
        .collect()
}

fn run(c: &Column, inputs: &[Pair], iters: u64) {
    for k in 0..iters {
        let p = &inputs[k as usize % inputs.len()];
        black_box((c.f)(black_box(p)));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let mut rng = SeededRng::from_u64(25519);
    let on = pairs(&mut rng, false);
    let tw = pairs(&mut rng, true);
    #[allow(unused_mut)]
    let mut cols = vec![
        Column {
            name: "dalek-ladder",
            f: ladder,
            twist: false,
        },
        Column {
            name: "dalek-edwards",
            f: edwards,
            twist: false,
        },
        Column {
            name: "hyperport-ring",
            f: ring,
            twist: false,
        },
        Column {
            name: "crrl-0.9",
            f: crrl,
            twist: false,
        },
    ];
    #[cfg(feature = "aws-lc")]
    cols.push(Column {
        name: "aws-lc",
        f: aws,
        twist: false,
    });
    cols.push(Column {
        name: "dalek-ladder (twist u)",
        f: ladder,
        twist: true,
    });
    cols.push(Column {
        name: "dalek-edwards (twist u)",
        f: edwards,
        twist: true,
    });
    cols.push(Column {
        name: "hyperport-ring (twist u)",
        f: ring,
        twist: true,
    });
    let input = |c: &Column| if c.twist { &tw } else { &on };
    // Every column computes the same function.
    for c in &cols {
        for p in input(c) {
            assert_eq!((c.f)(p), ladder(p), "{} disagrees with the ladder", c.name);
        }
    }
    if !std::env::args().any(|a| a == "--bench") {
        for c in &cols {
            run(c, input(c), 4);
        }
        println!("x25519: smoke run done (use `cargo bench` to measure)");
        return;
    }
    // Calibrate: iterations that take about TRIAL_MS per column.
    let mut iters = Vec::new();
    for c in &cols {
        run(c, input(c), 50); // warm-up
        let t0 = thread_cpu_ns();
        run(c, input(c), 200);
        let per = (thread_cpu_ns() - t0).max(1) as f64 / 200.0;
        iters.push(((TRIAL_MS as f64 * 1e6) / per).max(1.0) as u64);
    }
    // ns per DH, per round.
    let mut ns = vec![Vec::new(); cols.len()];
    for t in 0..TRIALS {
        for k in 0..cols.len() {
            let idx = (k + t) % cols.len();
            let t0 = thread_cpu_ns();
            run(&cols[idx], input(&cols[idx]), iters[idx]);
            ns[idx].push((thread_cpu_ns() - t0) as f64 / iters[idx] as f64);
        }
    }
    println!(
        "X25519, one DH (variable u), thread CPU time, {TRIALS} rounds of ~{TRIAL_MS} ms per column"
    );
    println!(
        "| column | ns/DH median (min) | speed-up over the ladder (median of per-round ratios) |"
    );
    println!("|---|---|---|");
    for (k, c) in cols.iter().enumerate() {
        // The baseline of a twist column is the ladder on twist inputs.
        let base = if c.twist {
            cols.iter()
                .position(|b| b.twist && b.name.starts_with("dalek-ladder"))
        } else {
            Some(0)
        };
        let ratio = base
            .map(|b| {
                let r: Vec<f64> = ns[b].iter().zip(&ns[k]).map(|(a, x)| a / x).collect();
                format!("{:.3}", median(r))
            })
            .unwrap_or_default();
        let min = ns[k].iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "| {} | {:.0} ({min:.0}) | {ratio} |",
            c.name,
            median(ns[k].clone())
        );
    }
}
