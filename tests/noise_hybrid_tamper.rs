//! A corrupted or wrong-length post-quantum handshake message (an ML-KEM
//! public key or ciphertext, an X25519 key, a tag, a payload byte) is a
//! typed error that changes nothing, at every byte position of every
//! message of every hybrid pattern (and of `pqXX`, `pqIK`), issue #19:
//!
//! * every byte flipped (one bit, which bit varying with the position);
//! * every byte deleted (the message one byte short, so the field holding
//!   that byte has the wrong length and everything after it shifts);
//! * the message cut at every length, and one byte too long.
//!
//! After each failed read the reader's handshake hash and message index are
//! unchanged; after all of them the reader reads the genuine message, and
//! the handshake ends with both transports (stream and datagram) working
//! both ways — so no failed read left anything behind.
//!
//! A message that no key protects yet (the first message of `hybridXX`,
//! `hybridNN`, ...: `-> e` in the clear) cannot be authenticated by anyone:
//! a flipped bit that still decodes is accepted, as in classical Noise. For
//! those messages the test checks instead that every corruption is either
//! refused at once (`InvalidKemKey`: the ML-KEM key fails the FIPS 203
//! modulus check; `MessageTooShort`) or makes the peer's answer fail to
//! decrypt (`Decrypt`), with the writer unchanged.

#![cfg(feature = "mlkem")]

use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::mlkem;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::pattern::{self, HandshakePattern, PatternKind, Token};
use hyperport::noise::{Builder, HandshakeError, HandshakeState, NoiseParams, datagram, transport};
use hyperport::rng::SeededRng;
use hyperport::time::Instant;

struct Keys {
    dh: [KeyPair; 2],
    kem: [mlkem::KeyPair; 2],
    kem_pub: [mlkem::PublicKey; 2],
}

fn keys() -> Keys {
    let mut rng = SeededRng::from_u64(19);
    let dh = [KeyPair::generate(&mut rng), KeyPair::generate(&mut rng)];
    let kem = [
        mlkem::KeyPair::generate(&mut rng),
        mlkem::KeyPair::generate(&mut rng),
    ];
    let kem_pub = [kem[0].public(), kem[1].public()];
    Keys { dh, kem, kem_pub }
}

/// (this side has a static key, this side knows the peer's in advance).
fn needs(p: &HandshakePattern, initiator: bool) -> (bool, bool) {
    // All these patterns start with the initiator (alice).
    let sends_s = p
        .messages()
        .iter()
        .enumerate()
        .any(|(i, m)| p.alice_sends(i) == initiator && m.tokens().contains(&Token::S));
    let (mine, peer) = if initiator {
        (p.pre_alice(), p.pre_bob())
    } else {
        (p.pre_bob(), p.pre_alice())
    };
    (mine.has_s() || sends_s, peer.has_s())
}

fn side(params: NoiseParams, k: &Keys, initiator: bool, seed: u64) -> HandshakeState<P> {
    let p = params.pattern();
    let (me, peer) = if initiator { (0, 1) } else { (1, 0) };
    let (has_s, knows_rs) = needs(p, initiator);
    let hybrid = p.kind() == PatternKind::Hybrid;
    let mut b = Builder::new(params).prologue(b"tamper");
    if has_s {
        if hybrid {
            b = b.local_static(k.dh[me].clone());
        }
        b = b.local_static_kem(&k.kem[me]);
    }
    if knows_rs {
        if hybrid {
            b = b.remote_static(*k.dh[peer].public());
        }
        b = b.remote_static_kem(&k.kem_pub[peer]);
    }
    for &pos in params.psk_positions() {
        b = b.psk(pos, [0x19; 32]);
    }
    let mut rng = SeededRng::from_u64(seed);
    let r = if initiator {
        b.build_initiator(&mut rng)
    } else {
        b.build_responder(&mut rng)
    };
    r.unwrap_or_else(|e| panic!("{}: {e}", params.name()))
}

/// Whether a key protects message `k` (some DH, KEM or PSK token came
/// before its payload).
fn keyed(p: &HandshakePattern, k: usize) -> bool {
    p.messages().iter().take(k + 1).any(|m| {
        m.tokens().iter().any(|t| {
            matches!(
                t,
                Token::EE
                    | Token::ES
                    | Token::SE
                    | Token::SS
                    | Token::Psk
                    | Token::Ekem
                    | Token::Skem
            )
        })
    })
}

/// The typed errors a tampered message may produce.
fn typed(e: &HandshakeError) -> bool {
    matches!(
        e,
        HandshakeError::Decrypt
            | HandshakeError::InvalidKemKey
            | HandshakeError::MessageTooShort { .. }
            | HandshakeError::LowOrderKey
    )
}

/// Every tampered form of `good`: (what, bytes).
fn tampered(good: &[u8]) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    let flips = (0..good.len()).map(move |i| {
        let mut m = good.to_vec();
        m[i] ^= 1 << (i % 8);
        (format!("byte {i} flipped"), m)
    });
    let deletions = (0..good.len()).map(move |i| {
        let mut m = good.to_vec();
        m.remove(i);
        (format!("byte {i} deleted"), m)
    });
    let cuts = (0..good.len()).map(move |n| (format!("cut to {n} bytes"), good[..n].to_vec()));
    flips.chain(deletions).chain(cuts)
}

/// Runs one handshake, tampering with every message; returns how many
/// tampered messages were refused.
fn run(name: &str, seed: u64) -> usize {
    let params = NoiseParams::parse(name).unwrap();
    let p = *params.pattern();
    let k = keys();
    let mut init = side(params, &k, true, seed);
    let mut resp = side(params, &k, false, seed + 1);
    let mut buf = vec![0u8; 16 * 1024];
    let mut out = vec![0u8; 16 * 1024];
    let mut refused = 0;
    let mut idx = 0;
    while !init.is_finished() {
        let (w, r) = if idx % 2 == 0 {
            (&mut init, &mut resp)
        } else {
            (&mut resp, &mut init)
        };
        let protected = keyed(&p, idx);
        // An unprotected message carries no payload, so that every cut is
        // short of a key (a cleartext payload may be any length).
        let payload = if protected {
            format!("{name} message {idx}")
        } else {
            String::new()
        };
        let n = w.write_message(payload.as_bytes(), &mut buf).unwrap();
        let good = buf[..n].to_vec();
        let (h0, i0) = (r.handshake_hash().to_vec(), r.message_index());
        if protected {
            let mut longer = good.clone();
            longer.push(0);
            let forms = tampered(&good).chain([("one byte too long".to_string(), longer)]);
            for (what, bad) in forms {
                match r.read_message(&bad, &mut out) {
                    Ok(_) => panic!("{name} message {idx}: {what}: accepted"),
                    Err(e) => assert!(typed(&e), "{name} message {idx}: {what}: {e:?}"),
                }
                assert_eq!(
                    r.handshake_hash(),
                    &h0[..],
                    "{name} {idx}: {what}: hash changed"
                );
                assert_eq!(r.message_index(), i0, "{name} {idx}: {what}: index changed");
                refused += 1;
            }
        } else {
            // Only a first message can be unprotected: its reader is the
            // responder, rebuilt fresh for each corruption; the writer reads
            // that responder's answer.
            assert_eq!(idx, 0, "{name}: unprotected message after the first");
            let (wh, wi) = (w.handshake_hash().to_vec(), w.message_index());
            for (what, bad) in tampered(&good) {
                let mut fresh = side(params, &k, false, seed + 1);
                match fresh.read_message(&bad, &mut out) {
                    Err(e) => {
                        assert!(typed(&e), "{name} message 0: {what}: {e:?}");
                        assert_eq!(fresh.message_index(), 0, "{name}: {what}");
                    }
                    Ok(_) => {
                        let m = fresh.write_message(b"answer", &mut buf).unwrap();
                        match w.read_message(&buf[..m], &mut out) {
                            Err(HandshakeError::Decrypt) => {}
                            other => panic!("{name}: {what}: answer read as {other:?}"),
                        }
                        assert_eq!(w.handshake_hash(), &wh[..], "{name}: {what}");
                        assert_eq!(w.message_index(), wi, "{name}: {what}");
                    }
                }
                refused += 1;
            }
        }
        let got = r.read_message(&good, &mut out).unwrap();
        assert_eq!(&out[..got], payload.as_bytes(), "{name} {idx}");
        assert_eq!(r.handshake_hash(), w.handshake_hash(), "{name} {idx}");
        idx += 1;
    }
    assert!(resp.is_finished());
    let hash = init.handshake_hash().to_vec();
    // Both transports work both ways after the tampered handshake.
    let (i2, r2) = (
        side(params, &k, true, seed),
        side(params, &k, false, seed + 1),
    );
    let (mut it, mut rt) = (
        init.into_transport(transport::Config::default()).unwrap(),
        resp.into_transport(transport::Config::default()).unwrap(),
    );
    let n = it.write_message(b"stream i->r", &mut buf).unwrap();
    let m = rt.read_message(&buf[..n], &mut out).unwrap();
    assert_eq!(&out[..m], b"stream i->r");
    let n = rt.write_message(b"stream r->i", &mut buf).unwrap();
    let m = it.read_message(&buf[..n], &mut out).unwrap();
    assert_eq!(&out[..m], b"stream r->i");
    // A second, untampered handshake with the same keys and randomness
    // ends with the same hash, and its datagram transports work.
    let (mut a, mut b) = (i2, r2);
    while !a.is_finished() {
        let (w, r) = if a.is_my_turn() {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        let payload = if keyed(&p, w.message_index()) {
            format!("{name} message {}", w.message_index())
        } else {
            String::new()
        };
        let n = w.write_message(payload.as_bytes(), &mut buf).unwrap();
        r.read_message(&buf[..n], &mut out).unwrap();
    }
    assert_eq!(a.handshake_hash(), &hash[..], "{name}: replay hash");
    let now = Instant::from_secs(1);
    let mut ad = a
        .into_datagram_transport(datagram::Config::default(), now)
        .unwrap();
    let mut bd = b
        .into_datagram_transport(datagram::Config::default(), now)
        .unwrap();
    let (nonce, n) = ad.write_message(b"datagram i->r", &mut buf).unwrap();
    let m = bd.read_message(nonce, &buf[..n], &mut out).unwrap();
    assert_eq!(&out[..m], b"datagram i->r");
    let (nonce, n) = bd.write_message(b"datagram r->i", &mut buf).unwrap();
    let m = ad.read_message(nonce, &buf[..n], &mut out).unwrap();
    assert_eq!(&out[..m], b"datagram r->i");
    refused
}

#[test]
fn every_hybrid_pattern_refuses_every_tampered_message() {
    let suites = [
        "ChaChaPoly_BLAKE2s",
        "AESGCM_SHA256",
        "ChaChaPoly_SHA512",
        "AESGCM_BLAKE2b",
    ];
    let mut total = 0;
    for (i, p) in pattern::HYBRID.iter().enumerate() {
        let name = format!(
            "Noise_{}_25519+MLKEM768_{}",
            p.base_name(),
            suites[i % suites.len()]
        );
        total += run(&name, 100 + 2 * i as u64);
    }
    println!("{total} tampered hybrid handshake messages refused");
    assert!(total > 100_000, "{total}");
}

#[test]
fn pq_xx_and_ik_refuse_every_tampered_message() {
    let mut total = 0;
    for (i, name) in [
        "Noise_pqXX_MLKEM768_ChaChaPoly_BLAKE2s",
        "Noise_pqIK_MLKEM768_AESGCM_SHA256",
    ]
    .iter()
    .enumerate()
    {
        total += run(name, 200 + 2 * i as u64);
    }
    assert!(total > 10_000, "{total}");
}
