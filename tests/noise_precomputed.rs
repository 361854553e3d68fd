//! A precomputed static-static DH (`noise::StaticStatic`) changes nothing on
//! the wire: for every pattern with an `ss` token, both roles, the messages,
//! handshake hash and first transport message are byte-identical to those
//! of a handshake that computes the DH. (That the value is really used, not
//! ignored, is checked in `src/noise/precomputed.rs` with a forged value.)

use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::{Builder, HandshakeState, NoiseParams, PSK_LEN, StaticStatic};
use hyperport::rng::SeededRng;

const PATTERNS: &[&str] = &[
    "Noise_K_25519_ChaChaPoly_SHA256",
    "Noise_X_25519_ChaChaPoly_BLAKE2s",
    "Noise_IK_25519_ChaChaPoly_SHA256",
    "Noise_IK_25519_AESGCM_BLAKE2b",
    "Noise_KK_25519_ChaChaPoly_SHA512",
    "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s",
    "Noise_KKpsk0_25519_AESGCM_SHA256",
];

/// One full handshake plus one transport message each way; every byte that
/// went over the wire, then the handshake hash.
fn transcript(name: &str, precompute: bool) -> Vec<Vec<u8>> {
    let params = NoiseParams::parse(name).unwrap();
    let mut rng = SeededRng::from_u64(3);
    let alice = KeyPair::generate(&mut rng);
    let bob = KeyPair::generate(&mut rng);
    let mut ib = Builder::new(params)
        .local_static(alice.clone())
        .prologue(b"p");
    let mut rb = Builder::new(params)
        .local_static(bob.clone())
        .prologue(b"p");
    for pos in params.psk_positions() {
        ib = ib.psk(*pos, [*pos; PSK_LEN]);
        rb = rb.psk(*pos, [*pos; PSK_LEN]);
    }
    let p = params.pattern();
    if p.pre_bob().has_s() {
        ib = ib.remote_static(*bob.public());
    }
    if p.pre_alice().has_s() {
        rb = rb.remote_static(*alice.public());
    }
    if precompute {
        // The responder of IK/X learns the initiator's key in the first
        // message: its value applies once that key arrives.
        ib = ib.precomputed_static_static(StaticStatic::new(&alice, bob.public()));
        rb = rb.precomputed_static_static(StaticStatic::new(&bob, alice.public()));
    }
    let mut i: HandshakeState<P> = ib.build_initiator(&mut SeededRng::from_u64(10)).unwrap();
    let mut r: HandshakeState<P> = rb.build_responder(&mut SeededRng::from_u64(20)).unwrap();
    let mut wire = Vec::new();
    let (mut m, mut out) = ([0u8; 512], [0u8; 512]);
    let mut turn = true;
    while !i.is_finished() {
        let (w, rd) = if turn {
            (&mut i, &mut r)
        } else {
            (&mut r, &mut i)
        };
        let n = w.write_message(b"payload", &mut m).unwrap();
        let got = rd.read_message(&m[..n], &mut out).unwrap();
        assert_eq!(&out[..got], b"payload", "{name}");
        wire.push(m[..n].to_vec());
        turn = !turn;
    }
    assert_eq!(i.handshake_hash(), r.handshake_hash(), "{name}");
    wire.push(i.handshake_hash().to_vec());
    let (mut it, mut rt) = (
        i.into_transport(Default::default()).unwrap(),
        r.into_transport(Default::default()).unwrap(),
    );
    let mut buf = [0u8; 64];
    let n = it.write_message(b"after", &mut buf).unwrap();
    wire.push(buf[..n].to_vec());
    let got = rt.read_message(&buf[..n], &mut out).unwrap();
    assert_eq!(&out[..got], b"after");
    wire
}

#[test]
fn precomputed_static_static_is_byte_identical() {
    for name in PATTERNS {
        assert!(
            NoiseParams::parse(name)
                .unwrap()
                .pattern()
                .messages()
                .iter()
                .any(|m| m
                    .tokens()
                    .iter()
                    .any(|t| matches!(t, hyperport::noise::pattern::Token::SS))),
            "{name} has no ss token"
        );
        assert_eq!(transcript(name, false), transcript(name, true), "{name}");
    }
    eprintln!(
        "{} patterns with ss: identical with and without precomputation",
        PATTERNS.len()
    );
}
