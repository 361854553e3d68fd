//! The framed Noise channel (`hyperport::channel`): handshakes and transport
//! over byte pipes cut into random chunks, interoperability with snow (an
//! independent Noise implementation) framing the same way, and every fatal
//! and non-fatal error of the receive and send paths.

#![cfg(any(feature = "ring", feature = "rustcrypto"))]

use hyperport::channel::{
    Channel, FRAME_OVERHEAD, Incoming, MAX_FRAME_LEN, MAX_PAYLOAD_LEN, PREFIX_LEN, RecvError,
    SendError,
};
use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::framing::DecodeError;
use hyperport::noise::Builder;
use hyperport::noise::transport::TransportError;
use hyperport::rng::{RngCore, SeededRng};

type Ch = Channel<P, Vec<u8>>;

const XX: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";

fn keys(rng: &mut SeededRng) -> KeyPair {
    KeyPair::generate(rng)
}

fn pair(name: &str, cap: usize, rng: &mut SeededRng) -> (Ch, Ch, KeyPair, KeyPair) {
    let ka = keys(rng);
    let kb = keys(rng);
    let mut a = Builder::from_name(name)
        .unwrap()
        .local_static(KeyPair::from_secret_bytes(ka.secret_bytes()));
    // Patterns whose responder key the initiator knows in advance (`?K`).
    if name.split('_').nth(1).is_some_and(|p| p.ends_with('K')) {
        a = a.remote_static(*kb.public());
    }
    let a = a.build_initiator::<P>(rng).unwrap();
    let b = Builder::from_name(name)
        .unwrap()
        .local_static(KeyPair::from_secret_bytes(kb.secret_bytes()))
        .build_responder::<P>(rng)
        .unwrap();
    (
        Channel::new(a, vec![0; cap]).unwrap(),
        Channel::new(b, vec![0; cap]).unwrap(),
        ka,
        kb,
    )
}

/// Feeds `bytes` to `ch` in chunks of random sizes (1..=max_chunk),
/// collecting every delivered payload.
fn feed(
    ch: &mut Ch,
    bytes: &[u8],
    rng: &mut SeededRng,
    max_chunk: usize,
) -> Result<Vec<(bool, Vec<u8>)>, RecvError> {
    let mut plain = vec![0u8; MAX_PAYLOAD_LEN];
    let mut got = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = (1 + rng.next_u32() as usize % max_chunk).min(rest.len());
        let mut input = &rest[..n];
        rest = &rest[n..];
        while let Some(ev) = ch.handle_input(&mut input, &mut plain)? {
            match ev {
                Incoming::HandshakePayload(n) => got.push((true, plain[..n].to_vec())),
                Incoming::Message(n) => got.push((false, plain[..n].to_vec())),
                _ => unreachable!(),
            }
        }
        assert!(input.is_empty());
    }
    Ok(got)
}

/// Runs the handshake between `a` (initiator) and `b` to completion.
fn handshake(a: &mut Ch, b: &mut Ch, rng: &mut SeededRng) {
    let mut out = vec![0u8; MAX_FRAME_LEN];
    for _ in 0..4 {
        for a_speaks in [true, false] {
            let (from, to) = if a_speaks {
                (&mut *a, &mut *b)
            } else {
                (&mut *b, &mut *a)
            };
            let mut wire = Vec::new();
            while let Some(n) = from.poll_handshake(&[], &mut out).unwrap() {
                wire.extend_from_slice(&out[..n]);
            }
            feed(to, &wire, rng, 7).unwrap();
        }
    }
    assert!(a.is_established() && b.is_established());
    assert_eq!(a.handshake_hash(), b.handshake_hash());
}

fn frame(ch: &mut Ch, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; payload.len() + FRAME_OVERHEAD];
    let n = ch.write_message(payload, &mut out).unwrap();
    assert_eq!(n, payload.len() + FRAME_OVERHEAD);
    out
}

#[test]
fn xx_and_ik_over_random_chunks_every_size() {
    let mut rng = SeededRng::from_u64(1);
    for name in [
        XX,
        "Noise_IK_25519_ChaChaPoly_BLAKE2s",
        "Noise_XX_25519_AESGCM_SHA256",
        "Noise_XK_25519_ChaChaPoly_SHA512",
    ] {
        let (mut a, mut b, ka, kb) = pair(name, 65535, &mut rng);
        handshake(&mut a, &mut b, &mut rng);
        assert_eq!(b.remote_static(), Some(ka.public()));
        assert_eq!(a.remote_static(), Some(kb.public()));
        for size in [0usize, 1, 2, 1000, 4096, 65518, MAX_PAYLOAD_LEN] {
            let mut payload = vec![0u8; size];
            rng.fill_bytes(&mut payload);
            // Several frames back to back, fed in one stream.
            let mut wire = frame(&mut a, &payload);
            wire.extend(frame(&mut a, b"tail"));
            let got = feed(&mut b, &wire, &mut rng, 9000).unwrap();
            assert_eq!(
                got,
                vec![(false, payload.clone()), (false, b"tail".to_vec())]
            );
            let wire = frame(&mut b, &payload);
            assert_eq!(
                feed(&mut a, &wire, &mut rng, 3).unwrap(),
                vec![(false, payload)]
            );
        }
    }
}

#[test]
fn transport_bytes_in_the_same_read_as_the_last_handshake_message() {
    let mut rng = SeededRng::from_u64(2);
    let (mut a, mut b, _, _) = pair(XX, 65535, &mut rng);
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let n = a.poll_handshake(b"one", &mut out).unwrap().unwrap();
    assert_eq!(
        feed(&mut b, &out[..n], &mut rng, 100).unwrap(),
        vec![(true, b"one".to_vec())]
    );
    let n = b.poll_handshake(b"two", &mut out).unwrap().unwrap();
    assert_eq!(
        feed(&mut a, &out[..n], &mut rng, 100).unwrap(),
        vec![(true, b"two".to_vec())]
    );
    // The initiator writes message 3 and is established at once; its first
    // transport message follows in the same segment.
    let n = a.poll_handshake(&[], &mut out).unwrap().unwrap();
    assert!(a.is_established());
    let mut wire = out[..n].to_vec();
    wire.extend(frame(&mut a, b"first"));
    let got = feed(&mut b, &wire, &mut rng, 1000).unwrap();
    assert_eq!(got, vec![(true, vec![]), (false, b"first".to_vec())]);
    assert!(b.is_established());
    assert_eq!(a.poll_handshake(&[], &mut out), Ok(None));
}

/// snow framed the same way, as either role, against the channel.
#[test]
fn interoperates_with_snow_both_roles() {
    let mut rng = SeededRng::from_u64(3);
    for name in [
        XX,
        "Noise_XX_25519_AESGCM_SHA256",
        "Noise_XX_25519_ChaChaPoly_BLAKE2b",
    ] {
        for ours_initiates in [true, false] {
            let ours_keys = keys(&mut rng);
            let snow_keys = keys(&mut rng);
            let builder = Builder::from_name(name)
                .unwrap()
                .local_static(KeyPair::from_secret_bytes(ours_keys.secret_bytes()));
            let hs = if ours_initiates {
                builder.build_initiator::<P>(&mut rng).unwrap()
            } else {
                builder.build_responder::<P>(&mut rng).unwrap()
            };
            let mut ours = Channel::new(hs, vec![0u8; 65535]).unwrap();
            ours.require_remote_static(*snow_keys.public());
            let snow_secret = snow_keys.secret_bytes();
            let sb = snow::Builder::new(name.parse().unwrap())
                .local_private_key(&snow_secret)
                .unwrap();
            let mut snow_hs = if ours_initiates {
                sb.build_responder().unwrap()
            } else {
                sb.build_initiator().unwrap()
            };
            let mut out = vec![0u8; MAX_FRAME_LEN];
            let mut msg = vec![0u8; 65535];
            let mut plain = vec![0u8; 65535];
            while !snow_hs.is_handshake_finished() {
                if snow_hs.is_my_turn() {
                    let n = snow_hs.write_message(b"snow", &mut msg).unwrap();
                    let mut wire = (n as u32).to_be_bytes().to_vec();
                    wire.extend_from_slice(&msg[..n]);
                    let got = feed(&mut ours, &wire, &mut rng, 5).unwrap();
                    assert_eq!(got, vec![(true, b"snow".to_vec())]);
                } else {
                    let n = ours.poll_handshake(b"ours", &mut out).unwrap().unwrap();
                    let len = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
                    assert_eq!(len + PREFIX_LEN, n);
                    let m = snow_hs.read_message(&out[4..n], &mut plain).unwrap();
                    assert_eq!(&plain[..m], b"ours");
                }
            }
            assert!(ours.is_established(), "{name}");
            assert_eq!(ours.handshake_hash().unwrap(), snow_hs.get_handshake_hash());
            assert_eq!(
                snow_hs.get_remote_static().unwrap(),
                ours_keys.public().as_slice()
            );
            let mut snow_t = snow_hs.into_transport_mode().unwrap();
            for size in [0usize, 1, 1400, MAX_PAYLOAD_LEN] {
                let mut payload = vec![0u8; size];
                rng.fill_bytes(&mut payload);
                // ours -> snow
                let n = ours.write_message(&payload, &mut out).unwrap();
                let m = snow_t.read_message(&out[4..n], &mut plain).unwrap();
                assert_eq!(&plain[..m], &payload[..]);
                // snow -> ours
                let n = snow_t.write_message(&payload, &mut msg).unwrap();
                let mut wire = (n as u32).to_be_bytes().to_vec();
                wire.extend_from_slice(&msg[..n]);
                assert_eq!(
                    feed(&mut ours, &wire, &mut rng, 5000).unwrap(),
                    vec![(false, payload)]
                );
            }
        }
    }
}

#[test]
fn a_frame_above_the_cap_is_refused_at_the_prefix() {
    let mut rng = SeededRng::from_u64(4);
    let (mut a, mut b, _, _) = pair(XX, 1024, &mut rng);
    assert_eq!(b.max_frame_len(), 1024);
    assert_eq!(b.max_payload_len(), 1024 - 16);
    handshake(&mut a, &mut b, &mut rng);
    let mut wire = 1025u32.to_be_bytes().to_vec();
    wire.extend_from_slice(&[0u8; 2000]);
    let mut input = &wire[..];
    let mut plain = vec![0u8; 1008];
    let err = b.handle_input(&mut input, &mut plain).unwrap_err();
    assert_eq!(
        err,
        RecvError::Framing(DecodeError::FrameTooLong {
            declared: 1025,
            max: 1024
        })
    );
    assert!(err.is_fatal());
    // Only the prefix was read: no body byte was consumed.
    assert_eq!(input.len(), 2000);
    assert!(b.is_closed());
    let mut input = &wire[4..];
    assert_eq!(
        b.handle_input(&mut input, &mut plain),
        Err(RecvError::Closed)
    );
    assert_eq!(
        b.write_message(b"x", &mut [0u8; 64]),
        Err(SendError::Closed)
    );
    // A cap larger than a Noise message is clamped to 65,535.
    let (_, big, _, _) = pair(XX, 100_000, &mut rng);
    assert_eq!(big.max_frame_len(), 65535);
}

#[test]
fn a_failed_decryption_closes_the_channel_for_good() {
    let mut rng = SeededRng::from_u64(5);
    let (mut a, mut b, _, _) = pair(XX, 65535, &mut rng);
    handshake(&mut a, &mut b, &mut rng);
    let good = frame(&mut a, b"good");
    let mut bad = frame(&mut a, b"will be corrupted");
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(feed(&mut b, &good, &mut rng, 100).unwrap().len(), 1);
    let err = feed(&mut b, &bad, &mut rng, 100).unwrap_err();
    assert_eq!(err, RecvError::Transport(TransportError::Decrypt));
    assert!(b.is_closed());
    // Even a valid next frame is never read.
    let next = frame(&mut a, b"after");
    assert_eq!(feed(&mut b, &next, &mut rng, 100), Err(RecvError::Closed));
    assert_eq!(b.handle_eof(), Err(RecvError::Closed));
}

#[test]
fn a_corrupted_handshake_message_closes_the_channel() {
    let mut rng = SeededRng::from_u64(6);
    for at in [4usize, 20, 40, 60, 90] {
        let (mut a, mut b, _, _) = pair(XX, 65535, &mut rng);
        let mut out = vec![0u8; MAX_FRAME_LEN];
        let n = a.poll_handshake(&[], &mut out).unwrap().unwrap();
        feed(&mut b, &out[..n], &mut rng, 100).unwrap();
        let n = b.poll_handshake(b"payload", &mut out).unwrap().unwrap();
        let at = at.min(n - 1);
        out[at] ^= 0x80;
        let err = feed(&mut a, &out[..n], &mut rng, 100).unwrap_err();
        assert!(
            matches!(err, RecvError::Handshake(_) | RecvError::Framing(_)),
            "{err:?}"
        );
        assert!(a.is_closed());
        assert_eq!(a.poll_handshake(&[], &mut out), Err(SendError::Closed));
    }
}

#[test]
fn a_pinned_key_is_required_before_we_speak_again() {
    let mut rng = SeededRng::from_u64(7);
    // Wrong pin on the XX initiator: it learns the responder's key from
    // message 2 and must not write message 3 (which reveals its identity).
    let (mut a, mut b, _, kb) = pair(XX, 65535, &mut rng);
    let mut wrong = *kb.public();
    wrong[0] ^= 1;
    a.require_remote_static(wrong);
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let n = a.poll_handshake(&[], &mut out).unwrap().unwrap();
    feed(&mut b, &out[..n], &mut rng, 100).unwrap();
    let n = b.poll_handshake(&[], &mut out).unwrap().unwrap();
    assert_eq!(
        feed(&mut a, &out[..n], &mut rng, 100),
        Err(RecvError::UnexpectedPeer)
    );
    assert_eq!(a.poll_handshake(&[], &mut out), Err(SendError::Closed));

    // The right pin completes.
    let (mut a, mut b, ka, kb) = pair(XX, 65535, &mut rng);
    a.require_remote_static(*kb.public());
    b.require_remote_static(*ka.public());
    handshake(&mut a, &mut b, &mut rng);

    // A pin on a pattern that never reveals the peer's key (NN) fails at
    // the end of the handshake.
    let nn = "Noise_NN_25519_ChaChaPoly_BLAKE2s";
    let a_hs = Builder::from_name(nn)
        .unwrap()
        .build_initiator::<P>(&mut rng)
        .unwrap();
    let b_hs = Builder::from_name(nn)
        .unwrap()
        .build_responder::<P>(&mut rng)
        .unwrap();
    let mut a = Channel::new(a_hs, vec![0u8; 65535]).unwrap();
    let mut b = Channel::new(b_hs, vec![0u8; 65535]).unwrap();
    a.require_remote_static([9; 32]);
    let n = a.poll_handshake(&[], &mut out).unwrap().unwrap();
    feed(&mut b, &out[..n], &mut rng, 100).unwrap();
    let n = b.poll_handshake(&[], &mut out).unwrap().unwrap();
    assert!(b.is_established());
    assert_eq!(
        feed(&mut a, &out[..n], &mut rng, 100),
        Err(RecvError::UnexpectedPeer)
    );
    assert!(a.is_closed());
}

#[test]
fn caller_mistakes_change_nothing() {
    let mut rng = SeededRng::from_u64(8);
    let (mut a, mut b, _, _) = pair(XX, 1024, &mut rng);
    // Before the handshake: no transport message.
    assert_eq!(
        a.write_message(b"early", &mut [0u8; 64]),
        Err(SendError::NotEstablished)
    );
    // A handshake output buffer too small.
    let mut small = [0u8; 10];
    assert!(matches!(
        a.poll_handshake(&[], &mut small),
        Err(SendError::BufferTooSmall(_))
    ));
    assert_eq!(small, [0u8; 10]);
    handshake(&mut a, &mut b, &mut rng);
    let wire = frame(&mut a, b"hello");
    // A plaintext buffer below max_payload_len: nothing consumed.
    let mut input = &wire[..];
    let mut plain = vec![0u8; 1007];
    let err = b.handle_input(&mut input, &mut plain).unwrap_err();
    assert!(matches!(err, RecvError::BufferTooSmall(_)));
    assert!(!err.is_fatal());
    assert_eq!(input.len(), wire.len());
    assert!(!b.is_closed());
    let mut plain = vec![0u8; 1008];
    assert_eq!(
        b.handle_input(&mut input, &mut plain),
        Ok(Some(Incoming::Message(5)))
    );
    // Output too small, payload too long: nothing written, nonce unchanged.
    let mut out = [0u8; 5 + FRAME_OVERHEAD - 1];
    assert!(matches!(
        a.write_message(b"hello", &mut out),
        Err(SendError::BufferTooSmall(_))
    ));
    let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
    let mut out = vec![0u8; MAX_FRAME_LEN + 1];
    assert!(matches!(
        a.write_message(&big, &mut out),
        Err(SendError::PayloadTooLong { .. })
    ));
    let wire = frame(&mut a, b"still in step");
    assert_eq!(feed(&mut b, &wire, &mut rng, 3).unwrap().len(), 1);
}

#[test]
fn end_of_stream() {
    let mut rng = SeededRng::from_u64(9);
    // Inside the handshake.
    let (mut a, _b, _, _) = pair(XX, 65535, &mut rng);
    assert_eq!(a.handle_eof(), Err(RecvError::EndedInHandshake));
    assert!(a.is_closed());
    // Inside a frame.
    let (mut a, mut b, _, _) = pair(XX, 65535, &mut rng);
    handshake(&mut a, &mut b, &mut rng);
    let wire = frame(&mut a, b"cut short");
    feed(&mut b, &wire[..wire.len() - 3], &mut rng, 100).unwrap();
    assert!(matches!(
        b.handle_eof(),
        Err(RecvError::Framing(DecodeError::EndedMidFrame { .. }))
    ));
    assert!(b.is_closed());
    // On a frame boundary: receiving is over, sending still works.
    let (mut a, mut b, _, _) = pair(XX, 65535, &mut rng);
    handshake(&mut a, &mut b, &mut rng);
    assert_eq!(b.handle_eof(), Ok(()));
    assert_eq!(b.handle_eof(), Err(RecvError::Closed));
    let wire = frame(&mut b, b"last echo");
    assert_eq!(feed(&mut a, &wire, &mut rng, 4).unwrap().len(), 1);
    let mut plain = vec![0u8; 65535];
    let mut input = &b"\0\0\0\0"[..];
    assert_eq!(
        b.handle_input(&mut input, &mut plain),
        Err(RecvError::Closed)
    );
}

#[test]
fn reading_straight_into_the_channel_storage() {
    let mut rng = SeededRng::from_u64(10);
    let (mut a, mut b, _, _) = pair(XX, 65535, &mut rng);
    handshake(&mut a, &mut b, &mut rng);
    let mut payload = vec![0u8; 60_000];
    rng.fill_bytes(&mut payload);
    let wire = frame(&mut a, &payload);
    let mut plain = vec![0u8; 65535];
    // The first 100 bytes through handle_input, the rest straight into the
    // storage in 4 KiB reads.
    assert!(b.is_at_frame_boundary());
    let mut input = &wire[..100];
    assert_eq!(b.handle_input(&mut input, &mut plain), Ok(None));
    assert_eq!(b.buffered(), 100);
    assert!(!b.is_at_frame_boundary());
    let mut at = 100;
    let mut got = None;
    while got.is_none() {
        let buf = b.read_buffer().expect("a body is in progress");
        let n = buf.len().min(4096);
        buf[..n].copy_from_slice(&wire[at..at + n]);
        at += n;
        got = b.handle_filled(n, &mut plain).unwrap();
    }
    assert_eq!(at, wire.len());
    assert_eq!(got, Some(Incoming::Message(60_000)));
    assert_eq!(b.buffered(), 0);
    assert_eq!(&plain[..60_000], &payload[..]);
    assert!(b.read_buffer().is_none());
    assert!(matches!(
        b.handle_filled(1, &mut plain),
        Err(RecvError::BadFill(_))
    ));
    assert!(!b.is_closed());
}

#[test]
fn split_halves_work_independently() {
    let mut rng = SeededRng::from_u64(11);
    let (mut a, b, _, _) = pair(XX, 65535, &mut rng);
    // Not established yet: the channel comes back.
    let mut b = b.split().unwrap_err();
    handshake(&mut a, &mut b, &mut rng);
    let (mut tx, mut rx) = b.split().unwrap();
    let (mut atx, arx) = a.split().unwrap();
    let mut out = vec![0u8; 200];
    let mut buf = vec![0u8; 200];
    let n = atx.write_message(b"to b", &mut out).unwrap();
    let mut plain = vec![0u8; 65535];
    let mut input = &out[..n];
    assert_eq!(
        rx.handle_input(&mut input, &mut plain),
        Ok(Some(Incoming::Message(4)))
    );
    buf[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(b"to a");
    let n = tx.write_message_in_place(&mut buf, 4).unwrap();
    assert_eq!(n, 4 + FRAME_OVERHEAD);
    drop(arx);
    // A corrupted frame closes the receiving half.
    let n = atx.write_message(b"x", &mut out).unwrap();
    out[n - 1] ^= 1;
    let mut input = &out[..n];
    assert_eq!(
        rx.handle_input(&mut input, &mut plain),
        Err(RecvError::Transport(TransportError::Decrypt))
    );
    assert!(rx.is_closed());
}

/// The ML-KEM pin of the hybrid and KEM-only patterns: a wrong KEM key
/// stops the initiator before it writes again even when the X25519 pin
/// matches (the X25519 pin alone would not hold against an attacker who
/// breaks X25519); the right pins complete; a pin on a pattern that never
/// reveals a KEM key fails at the end.
#[cfg(feature = "mlkem")]
#[test]
fn a_pinned_kem_key_is_required_too() {
    use hyperport::crypto::mlkem;

    let mut rng = SeededRng::from_u64(8);
    let hybrid_xx = "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s";
    let (ka, kb) = (keys(&mut rng), keys(&mut rng));
    let (qa, qb) = (
        mlkem::KeyPair::generate(&mut rng),
        mlkem::KeyPair::generate(&mut rng),
    );
    let hybrid_pair = |rng: &mut SeededRng| -> (Ch, Ch) {
        let a = Builder::from_name(hybrid_xx)
            .unwrap()
            .local_static(ka.clone())
            .local_static_kem(&qa)
            .build_initiator::<P>(rng)
            .unwrap();
        let b = Builder::from_name(hybrid_xx)
            .unwrap()
            .local_static(kb.clone())
            .local_static_kem(&qb)
            .build_responder::<P>(rng)
            .unwrap();
        (
            Channel::new(a, vec![0; 65535]).unwrap(),
            Channel::new(b, vec![0; 65535]).unwrap(),
        )
    };
    let mut out = vec![0u8; MAX_FRAME_LEN];

    let (mut a, mut b) = hybrid_pair(&mut rng);
    a.require_remote_static(*kb.public());
    a.require_remote_static_kem(&mlkem::KeyPair::generate(&mut rng).public());
    let n = a.poll_handshake(&[], &mut out).unwrap().unwrap();
    feed(&mut b, &out[..n], &mut rng, 100).unwrap();
    let n = b.poll_handshake(&[], &mut out).unwrap().unwrap();
    assert_eq!(
        feed(&mut a, &out[..n], &mut rng, 100),
        Err(RecvError::UnexpectedPeer)
    );
    assert!(a.is_closed());
    assert_eq!(a.poll_handshake(&[], &mut out), Err(SendError::Closed));

    let (mut a, mut b) = hybrid_pair(&mut rng);
    a.require_remote_static(*kb.public());
    a.require_remote_static_kem(&qb.public());
    b.require_remote_static(*ka.public());
    b.require_remote_static_kem(&qa.public());
    handshake(&mut a, &mut b, &mut rng);

    // hybridNN reveals no static key: a KEM pin fails at the end.
    let nn = "Noise_hybridNN_25519+MLKEM768_ChaChaPoly_BLAKE2s";
    let a_hs = Builder::from_name(nn)
        .unwrap()
        .build_initiator::<P>(&mut rng)
        .unwrap();
    let b_hs = Builder::from_name(nn)
        .unwrap()
        .build_responder::<P>(&mut rng)
        .unwrap();
    let mut a = Channel::new(a_hs, vec![0u8; 65535]).unwrap();
    let mut b = Channel::new(b_hs, vec![0u8; 65535]).unwrap();
    a.require_remote_static_kem(&qb.public());
    let n = a.poll_handshake(&[], &mut out).unwrap().unwrap();
    feed(&mut b, &out[..n], &mut rng, 100).unwrap();
    let n = b.poll_handshake(&[], &mut out).unwrap().unwrap();
    assert!(b.is_established());
    assert_eq!(
        feed(&mut a, &out[..n], &mut rng, 100),
        Err(RecvError::UnexpectedPeer)
    );
    assert!(a.is_closed());
}
