//! The post-quantum check (feature `mlkem`, issue #19): a
//! `Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s` handshake with the
//! pure-Rust provider (RustCrypto + libcrux-ml-kem), keys drawn from a fixed
//! seed, tampered handshake messages (an ML-KEM public key, an ML-KEM
//! ciphertext) refused with no state change, then
//! [`MESSAGES_EACH_WAY`](crate::MESSAGES_EACH_WAY) transport messages each
//! way.
//!
//! Where the kilobytes live: everything is on the stack of this function —
//! the two static ML-KEM key pairs (2,400 B each), the two handshake states
//! (each holds its ML-KEM keys inline, [`SIZES`]), and two message buffers
//! of [`MSG_BUF`] bytes (the genuine and the tampered copy). Nothing is
//! allocated.

use hyperport::crypto::mlkem;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::transport::{Config, Transport};
use hyperport::noise::{Builder, HandshakeError, HandshakeState};
use hyperport::rng::SeededRng;

use crate::{MESSAGES_EACH_WAY, P, noise::one_message};

/// The protocol of the check.
pub const HYBRID_XX: &str = "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s";

/// The largest hybridXX message here, rounded up: message 1 (`<- ekem, e,
/// ee, s, es`) is 3,579 bytes: ML-KEM ciphertext 1,088, `e` (X25519 32 +
/// ML-KEM public key 1,184), encrypted `s` (48 + 1,200), the 11-byte
/// payload and its tag.
pub const MSG_BUF: usize = 3584;

/// Sizes of the values the check keeps (bytes), for the image's report.
pub const SIZES: [(&str, usize); 4] = [
    ("HandshakeState", core::mem::size_of::<HandshakeState<P>>()),
    ("mlkem::KeyPair", core::mem::size_of::<mlkem::KeyPair>()),
    ("mlkem::PublicKey", core::mem::size_of::<mlkem::PublicKey>()),
    ("Transport", core::mem::size_of::<Transport<P>>()),
];

/// The check (see the module docs).
pub(crate) fn hybrid_xx() -> bool {
    run() == Some(true)
}

fn run() -> Option<bool> {
    let mut rng = SeededRng::from_seed(*b"hyperport no_std hybrid XX seed!");
    let alice_dh = KeyPair::generate(&mut rng);
    let bob_dh = KeyPair::generate(&mut rng);
    let alice_kem = mlkem::KeyPair::generate(&mut rng);
    let bob_kem = mlkem::KeyPair::generate(&mut rng);
    let (alice_pub, bob_pub) = (*alice_dh.public(), *bob_dh.public());
    let mut alice: HandshakeState<P> = Builder::from_name(HYBRID_XX)
        .ok()?
        .local_static(alice_dh)
        .local_static_kem(&alice_kem)
        .prologue(b"hyperport no_std")
        .build_initiator(&mut rng)
        .ok()?;
    let mut bob: HandshakeState<P> = Builder::from_name(HYBRID_XX)
        .ok()?
        .local_static(bob_dh)
        .local_static_kem(&bob_kem)
        .prologue(b"hyperport no_std")
        .build_responder(&mut rng)
        .ok()?;

    // -> e / <- ekem, e, ee, s, es / -> skem, s, se / <- skem.
    let mut ok = true;
    let mut msg = [0u8; MSG_BUF];
    let mut got = [0u8; 64];
    let payloads: [&[u8]; 4] = [b"", b"hello alice", b"hello bob", b"done"];
    for (i, p) in payloads.iter().enumerate() {
        let (w, r) = if i % 2 == 0 {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let n = w.write_message(p, &mut msg).ok()?;
        // Message 0: the ML-KEM public key starts at byte 32; a coefficient
        // pushed to 0xfff (>= q) fails the modulus check. Message 1 starts
        // with the ML-KEM ciphertext. Both refused, nothing changed.
        let (at, expect) = match i {
            0 => (33, HandshakeError::InvalidKemKey),
            1 => (7, HandshakeError::Decrypt),
            3 => (1000, HandshakeError::Decrypt),
            _ => (n.checked_sub(1)?, HandshakeError::Decrypt),
        };
        let mut bad = msg;
        if i == 0 {
            // Bytes 32..35 encode two 12-bit coefficients: set the first's
            // high nibble.
            *bad.get_mut(at)? |= 0x0f;
            *bad.get_mut(at.checked_sub(1)?)? |= 0xff;
        } else {
            *bad.get_mut(at)? ^= 0x10;
        }
        let index = r.message_index();
        let mut hash = [0u8; 64];
        let h = r.handshake_hash();
        hash.get_mut(..h.len())?.copy_from_slice(h);
        let hlen = h.len();
        ok &= r.read_message(bad.get(..n)?, &mut got) == Err(expect)
            && r.message_index() == index
            && r.handshake_hash() == hash.get(..hlen)?;
        // A message one byte short (a KEM field of the wrong length).
        ok &= r
            .read_message(msg.get(..n.checked_sub(1)?)?, &mut got)
            .is_err()
            && r.message_index() == index;
        let m = r.read_message(msg.get(..n)?, &mut got).ok()?;
        ok &= got.get(..m)? == *p;
    }
    ok &= alice.is_finished()
        && bob.is_finished()
        && alice.remote_static() == Some(&bob_pub)
        && bob.remote_static() == Some(&alice_pub)
        && alice.remote_static_kem() == Some(&bob_kem.public())
        && bob.remote_static_kem() == Some(&alice_kem.public())
        && alice.handshake_hash() == bob.handshake_hash();

    let mut alice = alice.into_transport(Config::default()).ok()?;
    let mut bob = bob.into_transport(Config::default()).ok()?;
    for i in 0..MESSAGES_EACH_WAY {
        ok &= one_message(&mut alice, &mut bob, 0xa0, i, false)?;
        ok &= one_message(&mut bob, &mut alice, 0xb0, i, false)?;
    }
    ok &= one_message(&mut alice, &mut bob, 0xa0, MESSAGES_EACH_WAY, true)?;
    Some(ok)
}
