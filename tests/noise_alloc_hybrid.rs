//! Zero heap allocations per post-quantum handshake (issue #19): a counting
//! global allocator (per thread) wraps whole `hybridXX`, `hybridIK`,
//! `hybridXXpsk3` and `pqXX` handshakes — builder (ephemeral X25519 and
//! ML-KEM key generation, encapsulation randomness), every message (ML-KEM
//! encapsulation and decapsulation), split, transport messages — and must
//! see none with the ring and RustCrypto providers. ML-KEM is libcrux for
//! every provider; with AWS-LC only its X25519 allocates, as in
//! `noise_alloc_handshake.rs` (two per DH, one per ephemeral key), so the
//! hybrid handshakes pin the same count and `pqXX` (no X25519) none.

#![cfg(feature = "mlkem")]

use hyperport::crypto::Provider;
use hyperport::crypto::mlkem;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::{Builder, HandshakeState};
use hyperport::rng::SeededRng;

mod alloc_counter;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

fn allocs() -> usize {
    alloc_counter::allocations()
}

struct Keys {
    dh: [KeyPair; 2],
    kem: [mlkem::KeyPair; 2],
    kem_pub: mlkem::PublicKey,
}

/// A full handshake plus two transport messages; returns the payload bytes
/// seen so the work cannot be optimised away.
fn handshake<P: Provider>(name: &str, k: &Keys, rng: &mut SeededRng) -> usize {
    let ik = name.contains("IK_");
    let hybrid = name.contains("_hybrid");
    let mut ib = Builder::from_name(name)
        .unwrap()
        .local_static_kem(&k.kem[0])
        .prologue(b"p");
    let mut rb = Builder::from_name(name)
        .unwrap()
        .local_static_kem(&k.kem[1])
        .prologue(b"p");
    if hybrid {
        ib = ib.local_static(k.dh[0].clone());
        rb = rb.local_static(k.dh[1].clone());
    }
    if ik {
        ib = ib.remote_static_kem(&k.kem_pub);
        if hybrid {
            ib = ib.remote_static(*k.dh[1].public());
        }
    }
    if name.contains("psk3") {
        ib = ib.psk(3, [9; 32]);
        rb = rb.psk(3, [9; 32]);
    }
    let mut init: HandshakeState<P> = ib.build_initiator(rng).unwrap();
    let mut resp: HandshakeState<P> = rb.build_responder(rng).unwrap();
    let mut buf = [0u8; 4096];
    let mut out = [0u8; 4096];
    let mut seen = 0;
    let mut turn = true;
    while !init.is_finished() {
        let (w, r) = if turn {
            (&mut init, &mut resp)
        } else {
            (&mut resp, &mut init)
        };
        let n = w.write_message(b"payload", &mut buf).unwrap();
        seen += r.read_message(&buf[..n], &mut out).unwrap();
        turn = !turn;
    }
    let (mut s, _) = init.split().unwrap().into_cipher_states::<P>();
    let (_, mut r) = resp.split().unwrap().into_cipher_states::<P>();
    for _ in 0..2 {
        let n = s.encrypt_with_ad(&[], b"transport", &mut buf).unwrap();
        seen += r.decrypt_with_ad(&[], &buf[..n], &mut out).unwrap();
    }
    seen
}

#[cfg(feature = "ring")]
#[test]
fn hybrid_handshakes_do_not_allocate_ring() {
    check::<hyperport::crypto::Ring>(|_| 0);
}

#[cfg(feature = "rustcrypto")]
#[test]
fn hybrid_handshakes_do_not_allocate_rustcrypto() {
    check::<hyperport::crypto::RustCrypto>(|_| 0);
}

/// AWS-LC: its X25519 only (two per DH, one per ephemeral key); ML-KEM
/// (libcrux) and everything else allocate nothing.
#[cfg(feature = "aws-lc")]
#[test]
fn hybrid_handshakes_allocate_only_in_aws_lc_x25519() {
    check::<hyperport::crypto::AwsLc>(|name| {
        if !name.contains("_hybrid") {
            return 0;
        }
        let dh = if name.contains("IK_") { 8 } else { 6 };
        2 * dh + 2
    });
}

/// Runs five handshakes per protocol and checks the allocations against
/// `expected(name)` per handshake.
fn check<P: Provider>(expected: fn(&str) -> usize) {
    let mut rng = SeededRng::from_u64(1);
    let dh = [
        P::x25519_prepare(KeyPair::generate(&mut rng)),
        P::x25519_prepare(KeyPair::generate(&mut rng)),
    ];
    let kem = [
        mlkem::KeyPair::generate(&mut rng),
        mlkem::KeyPair::generate(&mut rng),
    ];
    let kem_pub = kem[1].public();
    let k = Keys { dh, kem, kem_pub };
    // The counter works: a Vec allocates.
    let before = allocs();
    let v = std::hint::black_box(vec![1u8; 10]);
    assert!(allocs() > before);
    drop(v);
    for name in [
        "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s",
        "Noise_hybridIK_25519+MLKEM768_AESGCM_SHA256",
        "Noise_hybridXXpsk3_25519+MLKEM768_ChaChaPoly_SHA512",
        "Noise_pqXX_MLKEM768_ChaChaPoly_BLAKE2b",
    ] {
        let before = allocs();
        let mut seen = 0;
        for _ in 0..5 {
            seen += handshake::<P>(name, &k, &mut rng);
        }
        let used = allocs() - before;
        println!("{} {name}: {used} allocations in 5 handshakes", P::NAME);
        assert_eq!(used, 5 * expected(name), "{} {name}", P::NAME);
        assert!(seen > 0);
    }
}
