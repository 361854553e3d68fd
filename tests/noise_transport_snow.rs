//! Interop: hyperport's transports against snow 0.10 (an independent Noise
//! implementation). snow runs an NN handshake between two of its own
//! states; the split keys (`dangerously_get_raw_split`) seed hyperport's
//! side, and the two then exchange transport messages both ways, with
//! manual rekeys, count-based rekeys (emulated on snow's side with its
//! `rekey_outgoing` / `rekey_incoming` at the same nonces), and explicit
//! nonces (snow's `StatelessTransportState` against `DatagramTransport`).

#![cfg(feature = "ring")]

use hyperport::crypto::{AeadAlgorithm, Digest, Ring};
use hyperport::noise::cipher::SplitKeys;
use hyperport::noise::datagram::{self, DatagramTransport};
use hyperport::noise::transport::{Config, Transport};
use hyperport::time::Instant;

const PATTERNS: [(&str, AeadAlgorithm); 2] = [
    (
        "Noise_NN_25519_ChaChaPoly_SHA256",
        AeadAlgorithm::ChaCha20Poly1305,
    ),
    ("Noise_NN_25519_AESGCM_BLAKE2s", AeadAlgorithm::Aes256Gcm),
];

/// A finished snow NN handshake: both handshake states, and the split keys.
fn handshake(
    name: &str,
) -> (
    snow::HandshakeState,
    snow::HandshakeState,
    [u8; 32],
    [u8; 32],
) {
    let mut i = snow::Builder::new(name.parse().unwrap())
        .build_initiator()
        .unwrap();
    let mut r = snow::Builder::new(name.parse().unwrap())
        .build_responder()
        .unwrap();
    let (mut m, mut p) = ([0u8; 200], [0u8; 200]);
    let n = i.write_message(&[], &mut m).unwrap();
    r.read_message(&m[..n], &mut p).unwrap();
    let n = r.write_message(&[], &mut m).unwrap();
    i.read_message(&m[..n], &mut p).unwrap();
    assert!(i.is_handshake_finished() && r.is_handshake_finished());
    let (c1, c2) = i.dangerously_get_raw_split();
    assert_eq!(r.dangerously_get_raw_split(), (c1, c2));
    (i, r, c1, c2)
}

fn keys(c1: [u8; 32], c2: [u8; 32], alg: AeadAlgorithm, h: &[u8], initiator: bool) -> SplitKeys {
    SplitKeys::new(c1, c2, alg, Digest::from_slice(h), initiator)
}

#[test]
fn stream_both_ways_with_manual_rekey() {
    for (name, alg) in PATTERNS {
        for we_initiate in [true, false] {
            let (i, r, c1, c2) = handshake(name);
            let (theirs, h) = if we_initiate {
                let h = r.get_handshake_hash().to_vec();
                (r.into_transport_mode().unwrap(), h)
            } else {
                let h = i.get_handshake_hash().to_vec();
                (i.into_transport_mode().unwrap(), h)
            };
            let mut snow_t = theirs;
            let mut ours =
                Transport::<Ring>::new(keys(c1, c2, alg, &h, we_initiate), Config::default());
            assert_eq!(ours.handshake_hash().as_bytes(), &h[..]);
            let (mut wire, mut out) = (vec![0u8; 65535], vec![0u8; 65535]);
            for round in 0..40usize {
                if round == 13 {
                    ours.rekey_outgoing();
                    snow_t.rekey_incoming();
                }
                if round == 27 {
                    ours.rekey_incoming();
                    snow_t.rekey_outgoing();
                }
                let len = [0, 1, 15, 16, 17, 1400, 65519][round % 7];
                let msg: Vec<u8> = (0..len).map(|k| (k * 31 + round) as u8).collect();
                // hyperport -> snow
                let n = ours.write_message(&msg, &mut wire).unwrap();
                let m = snow_t.read_message(&wire[..n], &mut out).unwrap();
                assert_eq!(&out[..m], &msg[..], "{name} round {round} ours->snow");
                // snow -> hyperport
                let n = snow_t.write_message(&msg, &mut wire).unwrap();
                let m = ours.read_message(&wire[..n], &mut out).unwrap();
                assert_eq!(&out[..m], &msg[..], "{name} round {round} snow->ours");
            }
        }
    }
}

#[test]
fn count_rekey_matches_spec_rekey_at_boundaries() {
    const EVERY: u64 = 5;
    for (name, alg) in PATTERNS {
        let (i, _r, c1, c2) = handshake(name);
        let h = i.get_handshake_hash().to_vec();
        let mut snow_i = i.into_transport_mode().unwrap();
        let config = Config {
            rekey_after_messages: Some(EVERY),
        };
        let mut ours = Transport::<Ring>::new(keys(c1, c2, alg, &h, false), config);
        let (mut wire, mut out) = ([0u8; 100], [0u8; 100]);
        for n in 0..23u64 {
            if n > 0 && n % EVERY == 0 {
                snow_i.rekey_outgoing();
                snow_i.rekey_incoming();
            }
            let msg = n.to_be_bytes();
            let len = snow_i.write_message(&msg, &mut wire).unwrap();
            assert_eq!(
                ours.read_message(&wire[..len], &mut out),
                Ok(8),
                "{name} n={n}"
            );
            let len = ours.write_message(&msg, &mut wire).unwrap();
            assert_eq!(snow_i.read_message(&wire[..len], &mut out).unwrap(), 8);
            assert_eq!(&out[..8], &msg);
        }
    }
}

#[test]
fn datagram_against_stateless_transport() {
    for (name, alg) in PATTERNS {
        let (i, _r, c1, c2) = handshake(name);
        let h = i.get_handshake_hash().to_vec();
        let snow_i = i.into_stateless_transport_mode().unwrap();
        let mut ours = DatagramTransport::<Ring>::new(
            keys(c1, c2, alg, &h, false),
            datagram::Config::default(),
            Instant::ZERO,
        );
        let (mut wire, mut out) = ([0u8; 100], [0u8; 100]);
        // snow sends out of order with explicit nonces, including a large
        // jump; hyperport accepts each once.
        for nonce in [3u64, 0, 1, 9_000, 8_999, 2, 7_000] {
            let msg = nonce.to_le_bytes();
            let len = snow_i.write_message(nonce, &msg, &mut wire).unwrap();
            let got = ours.read_message(nonce, &wire[..len], &mut out);
            match nonce {
                0 | 1 | 3 | 9_000 | 8_999 | 7_000 => assert_eq!(got, Ok(8), "{name} {nonce}"),
                // 2 arrives after 9000: more than 2048 behind.
                _ => assert!(got.is_err(), "{name} {nonce} is too old"),
            }
            assert!(ours.read_message(nonce, &wire[..len], &mut out).is_err());
        }
        // hyperport -> snow
        for _ in 0..3 {
            let (nonce, len) = ours.write_message(b"datagram", &mut wire).unwrap();
            let m = snow_i.read_message(nonce, &wire[..len], &mut out).unwrap();
            assert_eq!(&out[..m], b"datagram");
        }
    }
}
