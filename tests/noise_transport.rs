//! Two-party tests of the Noise transports through the public API: halves
//! on different threads, a lossy reordering datagram link with automatic
//! rekeys on both count and time, and (with both providers built) ring
//! talking to RustCrypto.

#![cfg(any(feature = "ring", feature = "rustcrypto"))]

use std::sync::mpsc;
use std::thread;

use hyperport::crypto::{AeadAlgorithm, DefaultProvider as P, Digest, Provider};
use hyperport::noise::cipher::SplitKeys;
use hyperport::noise::datagram::{self, DatagramTransport, RekeyPolicy};
use hyperport::noise::replay::ReplayError;
use hyperport::noise::transport::{Config, Transport, TransportError};
use hyperport::time::{Duration, Instant, Timed};

const ALGS: [AeadAlgorithm; 2] = [AeadAlgorithm::ChaCha20Poly1305, AeadAlgorithm::Aes256Gcm];

fn split(alg: AeadAlgorithm, initiator: bool) -> SplitKeys {
    SplitKeys::new(
        [0xA1; 32],
        [0xB2; 32],
        alg,
        Digest::from_slice(&[3; 32]),
        initiator,
    )
}

/// xorshift64: deterministic test randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn stream_halves_on_different_threads() {
    let config = Config {
        rekey_after_messages: Some(100),
    };
    let a = Transport::<P>::new(split(AeadAlgorithm::ChaCha20Poly1305, true), config);
    let b = Transport::<P>::new(split(AeadAlgorithm::ChaCha20Poly1305, false), config);
    let (mut a_tx, mut a_rx) = a.split();
    let (mut b_tx, mut b_rx) = b.split();
    let (to_b, from_a) = mpsc::channel::<Vec<u8>>();
    let (to_a, from_b) = mpsc::channel::<Vec<u8>>();
    const N: u32 = 1000;
    let writer_a = thread::spawn(move || {
        for i in 0..N {
            let msg = i.to_be_bytes().repeat(1 + i as usize % 50);
            let mut wire = vec![0u8; msg.len() + 16];
            let n = a_tx.write_message(&msg, &mut wire).unwrap();
            wire.truncate(n);
            to_b.send(wire).unwrap();
        }
        a_tx.nonce()
    });
    let writer_b = thread::spawn(move || {
        for i in 0..N {
            let mut wire = vec![0u8; 4 + 16];
            let n = b_tx
                .write_message(&(i * 7).to_le_bytes(), &mut wire)
                .unwrap();
            wire.truncate(n);
            to_a.send(wire).unwrap();
        }
    });
    let reader_b = thread::spawn(move || {
        let mut out = vec![0u8; 4096];
        for i in 0..N {
            let wire = from_a.recv().unwrap();
            let m = b_rx.read_message(&wire, &mut out).unwrap();
            assert_eq!(&out[..m], &i.to_be_bytes().repeat(1 + i as usize % 50)[..]);
        }
    });
    let mut out = [0u8; 64];
    for i in 0..N {
        let wire = from_b.recv().unwrap();
        let m = a_rx.read_message(&wire, &mut out).unwrap();
        assert_eq!(&out[..m], &(i * 7).to_le_bytes());
    }
    assert_eq!(writer_a.join().unwrap(), u64::from(N));
    writer_b.join().unwrap();
    reader_b.join().unwrap();
}

/// Every way a stream message can be wrong (out of order, any bit flipped,
/// truncated, replayed) is refused with `Decrypt` without changing the
/// nonce, and then the stream transport is broken: the genuine message and
/// any write are refused with `Broken` (issue #18). Caller errors (a small
/// output buffer) change nothing and do not break it.
#[test]
fn stream_tamper_and_reorder_are_refused_then_the_stream_is_broken() {
    for alg in ALGS {
        let mut a = Transport::<P>::new(split(alg, true), Config::default());
        let mut w0 = [0u8; 40];
        let mut w1 = [0u8; 40];
        let n0 = a.write_message(b"zero", &mut w0).unwrap();
        let n1 = a.write_message(b"one", &mut w1).unwrap();
        let fresh = || Transport::<P>::new(split(alg, false), Config::default());
        let mut out = [0u8; 40];
        // Each bad delivery on a fresh receiver: Decrypt, nonce unchanged,
        // then broken for good.
        let mut bad_inputs: Vec<Vec<u8>> = vec![w1[..n1].to_vec(), w0[..n0 - 1].to_vec()];
        for i in 0..n0 {
            let mut bad = w0;
            bad[i] ^= 0x10;
            bad_inputs.push(bad[..n0].to_vec());
        }
        for bad in &bad_inputs {
            let mut b = fresh();
            assert_eq!(b.read_message(bad, &mut out), Err(TransportError::Decrypt));
            assert_eq!(b.receiving_nonce(), 0);
            assert!(b.is_broken());
            assert_eq!(
                b.read_message(&w0[..n0], &mut out),
                Err(TransportError::Broken)
            );
            let mut w = [0u8; 40];
            assert_eq!(b.write_message(b"x", &mut w), Err(TransportError::Broken));
            assert_eq!(b.receiving_nonce(), 0);
            assert_eq!(b.sending_nonce(), 0);
        }
        let mut b = fresh();
        assert_eq!(b.read_message(&w0[..n0], &mut out), Ok(4));
        assert_eq!(b.read_message(&w1[..n1], &mut out), Ok(3));
        assert_eq!(&out[..3], b"one");
        // Too-small output: error, nothing written, state unchanged, and
        // the stream is still usable.
        let n2 = a.write_message(b"two!", &mut w0).unwrap();
        let mut small = [0xEEu8; 3];
        assert!(matches!(
            b.read_message(&w0[..n2], &mut small),
            Err(TransportError::BufferTooSmall(_))
        ));
        assert_eq!(small, [0xEE; 3]);
        assert!(!b.is_broken());
        assert_eq!(b.read_message(&w0[..n2], &mut out), Ok(4));
        // Replaying on a stream fails (nonce moved on) and breaks it.
        assert_eq!(
            b.read_message(&w1[..n1], &mut out),
            Err(TransportError::Decrypt)
        );
        assert_eq!(
            b.read_message(&w1[..n1], &mut out),
            Err(TransportError::Broken)
        );
    }
}

/// The datagram transport keeps its per-packet behaviour: a forged packet
/// is dropped and the genuine one (and every later one) still opens.
#[test]
fn datagram_failure_does_not_break_the_transport() {
    for alg in ALGS {
        let cfg = datagram::Config::default();
        let now = Instant::ZERO;
        let mut a = DatagramTransport::<P>::new(split(alg, true), cfg, now);
        let mut b = DatagramTransport::<P>::new(split(alg, false), cfg, now);
        let mut out = [0u8; 40];
        for i in 0..5u8 {
            let mut w = [0u8; 40];
            let (nonce, n) = a.write_message(&[i; 8], &mut w).unwrap();
            let mut bad = w;
            bad[0] ^= 1;
            assert_eq!(
                b.read_message(nonce, &bad[..n], &mut out),
                Err(TransportError::Decrypt)
            );
            assert_eq!(b.read_message(nonce, &w[..n], &mut out), Ok(8));
            assert_eq!(out[..8], [i; 8]);
        }
    }
}

/// A lossy, duplicating, reordering link with rekeys every 50 ms (and, in
/// one policy, every 16 datagrams): every delivered original opens exactly
/// once; duplicates and stale datagrams are refused; both directions keep
/// working.
#[test]
fn datagram_lossy_link_with_rekeys() {
    let policies = [
        // (policy, least final sending nonce)
        (Some(16), 3000 + 50),
        // Time only: each switch skips to the next 2^32 boundary.
        (None, 50 << 32),
    ];
    for (alg, (after_messages, least_nonce)) in ALGS.into_iter().zip(policies).chain([
        (AeadAlgorithm::ChaCha20Poly1305, policies[1]),
        (AeadAlgorithm::Aes256Gcm, policies[0]),
    ]) {
        let cfg = datagram::Config {
            rekey: RekeyPolicy {
                after_messages,
                after_time: Some(Duration::from_millis(50)),
            },
        };
        let mut now = Instant::ZERO;
        let mut a = DatagramTransport::<P>::new(split(alg, true), cfg, now);
        let mut b = DatagramTransport::<P>::new(split(alg, false), cfg, now);
        let mut rng = Rng(0xfeed_beef ^ alg as u64);
        let mut in_flight: Vec<(u64, Vec<u8>, u32)> = Vec::new();
        let mut delivered = std::collections::BTreeSet::new();
        let (mut ok, mut dup, mut other) = (0, 0, 0);
        let mut out = [0u8; 64];
        for i in 0..3000u32 {
            now += Duration::from_millis(1);
            a.handle_timeout(now);
            let mut wire = vec![0u8; 4 + 16];
            let (nonce, n) = a.write_message(&i.to_be_bytes(), &mut wire).unwrap();
            wire.truncate(n);
            if !rng.next().is_multiple_of(10) {
                in_flight.push((nonce, wire.clone(), i));
            }
            if rng.next().is_multiple_of(20) {
                in_flight.push((nonce, wire, i)); // duplicate
            }
            // Deliver a random in-flight datagram (reordering), sometimes two.
            for _ in 0..(1 + rng.next() % 2) {
                if in_flight.is_empty() {
                    break;
                }
                let k = (rng.next() % in_flight.len() as u64) as usize;
                let (nonce, wire, i) = in_flight.swap_remove(k);
                match b.read_message(nonce, &wire, &mut out) {
                    Ok(4) => {
                        assert_eq!(out[..4], i.to_be_bytes());
                        assert!(delivered.insert(nonce), "duplicate accepted");
                        ok += 1;
                    }
                    Err(TransportError::Replay(ReplayError::Duplicate)) => {
                        assert!(delivered.contains(&nonce));
                        dup += 1;
                    }
                    Err(TransportError::Replay(ReplayError::TooOld))
                    | Err(TransportError::UnknownEpoch { .. }) => {
                        assert!(!delivered.contains(&nonce));
                        other += 1;
                    }
                    r => panic!("unexpected {r:?}"),
                }
            }
        }
        // Most originals get through (10% loss, plus a backlog that ages out).
        assert!(ok > 2000, "{alg:?}: ok={ok} dup={dup} stale={other}");
        assert!(dup > 0);
        // Time rekeys (every 50 ms = 50 datagrams) skipped the sender to
        // the next epoch boundary: more nonces used than datagrams sent.
        assert!(a.sending_nonce() > least_nonce, "{}", a.sending_nonce());
        // The reverse direction still works.
        let (nonce, n) = b.write_message(b"back", &mut out).unwrap();
        let mut back = [0u8; 8];
        let body = out;
        assert_eq!(a.read_message(nonce, &body[..n], &mut back), Ok(4));
    }
}

fn cross<S: Provider, R: Provider>() {
    for alg in ALGS {
        let mut a = Transport::<S>::new(
            split(alg, true),
            Config {
                rekey_after_messages: Some(3),
            },
        );
        let mut b = Transport::<R>::new(
            split(alg, false),
            Config {
                rekey_after_messages: Some(3),
            },
        );
        let mut wire = [0u8; 300];
        let mut out = [0u8; 300];
        for i in 0..10u8 {
            let n = a.write_message(&[i; 200], &mut wire).unwrap();
            assert_eq!(b.read_message(&wire[..n], &mut out), Ok(200));
            let n = b.write_message(&[i; 100], &mut wire).unwrap();
            assert_eq!(a.read_message(&wire[..n], &mut out), Ok(100));
        }
    }
}

#[cfg(all(feature = "ring", feature = "rustcrypto"))]
#[test]
fn ring_talks_to_rustcrypto() {
    use hyperport::crypto::{Ring, RustCrypto};
    cross::<Ring, RustCrypto>();
    cross::<RustCrypto, Ring>();
}

#[test]
fn same_provider_cross() {
    cross::<P, P>();
}
