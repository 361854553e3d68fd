//! Zero heap allocations per handshake: a counting global allocator (per
//! thread) wraps whole handshakes (builder, ephemeral generation, every
//! message, split, transport messages) and must see no allocation, with the
//! ring and RustCrypto providers. The AWS-LC provider cannot be allocation
//! free through aws-lc-rs's safe API (each X25519 parses the peer key and
//! returns its result in heap buffers; each ephemeral key is an
//! `Arc`-shared AWS-LC object); its test pins the exact count instead, so
//! any new allocation is caught.

use hyperport::crypto::Provider;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::{Builder, HandshakeState};
use hyperport::rng::SeededRng;

mod alloc_counter;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

fn allocs() -> usize {
    alloc_counter::allocations()
}

/// A full handshake plus two transport messages; returns the payload bytes
/// seen so the work cannot be optimised away.
fn handshake<P: Provider>(name: &str, a: &KeyPair, b: &KeyPair, rng: &mut SeededRng) -> usize {
    let ik = name.contains("_IK");
    let mut ib = Builder::from_name(name)
        .unwrap()
        .local_static(a.clone())
        .prologue(b"p");
    let mut rb = Builder::from_name(name)
        .unwrap()
        .local_static(b.clone())
        .prologue(b"p");
    if ik {
        ib = ib.remote_static(*b.public());
    }
    if name.contains("psk3") {
        ib = ib.psk(3, [9; 32]);
        rb = rb.psk(3, [9; 32]);
    }
    let mut init: HandshakeState<P> = ib.build_initiator(rng).unwrap();
    let mut resp: HandshakeState<P> = rb.build_responder(rng).unwrap();
    let mut buf = [0u8; 256];
    let mut out = [0u8; 256];
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
fn handshakes_do_not_allocate_ring() {
    check::<hyperport::crypto::Ring>(|_| 0);
}

#[cfg(feature = "rustcrypto")]
#[test]
fn handshakes_do_not_allocate_rustcrypto() {
    check::<hyperport::crypto::RustCrypto>(|_| 0);
}

/// AWS-LC: per handshake, two per X25519 (aws-lc-rs `agree` parses the peer
/// key into an owned buffer and returns the result in a `Vec`) and one
/// `Arc` per ephemeral key; nothing else (the transport allocates nothing).
#[cfg(feature = "aws-lc")]
#[test]
fn handshakes_allocate_only_in_aws_lc_x25519() {
    check::<hyperport::crypto::AwsLc>(|name| {
        let dh = if name.contains("_IK") { 8 } else { 6 };
        2 * dh + 2
    });
}

/// Runs ten handshakes per protocol and checks the allocations against
/// `expected(name)` per handshake.
fn check<P: Provider>(expected: fn(&str) -> usize) {
    let mut rng = SeededRng::from_u64(1);
    // Static keys in the provider's form once, before counting (a no-op
    // for ring and RustCrypto).
    let a = P::x25519_prepare(KeyPair::generate(&mut rng));
    let b = P::x25519_prepare(KeyPair::generate(&mut rng));
    // The counter works: a Vec allocates.
    let before = allocs();
    let v = std::hint::black_box(vec![1u8; 10]);
    assert!(allocs() > before);
    drop(v);
    for name in [
        "Noise_XX_25519_ChaChaPoly_BLAKE2s",
        "Noise_XX_25519_AESGCM_SHA256",
        "Noise_IK_25519_ChaChaPoly_SHA512",
        "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b",
    ] {
        // Parse + build + handshake + split + transport, ten times.
        let before = allocs();
        let mut seen = 0;
        for _ in 0..10 {
            seen += handshake::<P>(name, &a, &b, &mut rng);
        }
        let used = allocs() - before;
        println!("{} {name}: {used} allocations in 10 handshakes", P::NAME);
        assert_eq!(used, 10 * expected(name), "{} {name}", P::NAME);
        assert!(seen > 0);
    }
}
