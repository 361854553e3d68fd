//! The link's handshake messages are plain Noise: snow 0.10 (an
//! independent implementation) plays Bob's Noise part for a `link::Link`
//! initiator. The test strips the link header (and the initiation's two
//! MACs) before handing bytes to snow, and wraps snow's response in a
//! handshake-response header; the link then runs transport datagrams whose
//! bodies snow's stateless transport opens with the header counter as the
//! nonce, and the other way round.

use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::link::{
    Config, Event, Identity, Link, MAX_CONTROL_DATAGRAM, Received, Role,
    wire::{HEADER_LEN, MACS_LEN, Repr, STAMP_LEN},
};
use hyperport::noise::NoiseParams;
use hyperport::rng::SeededRng;
use hyperport::{Duration, Instant};

#[test]
fn snow_completes_the_links_ik_handshake() {
    for name in [
        "Noise_IK_25519_ChaChaPoly_BLAKE2s",
        "Noise_IK_25519_AESGCM_SHA256",
        "Noise_XX_25519_ChaChaPoly_SHA512",
    ] {
        let mut rng = SeededRng::from_u64(42);
        let alice = KeyPair::generate(&mut rng);
        let bob = KeyPair::generate(&mut rng);
        let config = Config::default().with_params(NoiseParams::parse(name).unwrap());
        let is_ik = name.contains("_IK_");
        let mut now = Instant::from_secs(1_000);
        let mut link = Link::<P>::new(
            config,
            Identity::new(alice.clone()),
            is_ik.then_some(*bob.public()),
            [1; 32],
            now,
        )
        .unwrap();
        let mut snow_bob = snow::Builder::new(name.parse().unwrap())
            .local_private_key(&bob.secret_bytes())
            .unwrap()
            .build_responder()
            .unwrap();

        link.connect(now).unwrap();
        let mut buf = [0u8; MAX_CONTROL_DATAGRAM];
        let n = link.poll_transmit(now, &mut buf).unwrap().unwrap();
        let (repr, _) = Repr::parse_datagram(&buf[..n]).unwrap();
        let Repr::HandshakeInitiation { sender_index } = repr else {
            panic!("{repr:?}")
        };
        // Strip header and MACs: snow reads the plain Noise message.
        let mut payload = [0u8; 256];
        let m = snow_bob
            .read_message(&buf[HEADER_LEN..n - MACS_LEN], &mut payload)
            .unwrap();
        assert_eq!(
            m, STAMP_LEN,
            "{name}: the initiation payload is the timestamp"
        );
        assert_eq!(
            u64::from_be_bytes(payload[..8].try_into().unwrap()),
            now.as_micros()
        );
        if is_ik {
            assert_eq!(snow_bob.get_remote_static(), Some(&alice.public()[..]));
        }
        // snow answers; the test puts it in a handshake-response header.
        let bob_index = 0x0b0b_0b0b;
        let mut dgram = vec![0u8; HEADER_LEN + 256];
        Repr::HandshakeResponse {
            sender_index: bob_index,
            receiver_index: sender_index,
        }
        .emit(&mut dgram)
        .unwrap();
        let m = snow_bob
            .write_message(&[], &mut dgram[HEADER_LEN..])
            .unwrap();
        dgram.truncate(HEADER_LEN + m);
        now += Duration::from_millis(5);
        assert_eq!(link.handle_datagram(now, &mut dgram), Ok(Received::Control));
        if !is_ik {
            // XX: the link writes the third message; snow reads it.
            let n = link.poll_transmit(now, &mut buf).unwrap().unwrap();
            snow_bob
                .read_message(&buf[HEADER_LEN..n], &mut payload)
                .unwrap();
            // The link waits for Bob's first datagram (it wrote last).
            assert!(!link.is_established());
        } else {
            assert!(link.is_established());
            assert!(matches!(
                link.poll_event(),
                Some(Event::Established {
                    role: Role::Initiator,
                    ..
                })
            ));
        }
        assert!(snow_bob.is_handshake_finished());
        assert_eq!(
            snow_bob.get_remote_static(),
            Some(&alice.public()[..]),
            "{name}"
        );
        let snow_t = snow_bob.into_stateless_transport_mode().unwrap();

        // snow -> link: a transport datagram with snow's explicit nonce.
        let our_index = link.local_indices().into_iter().flatten().next().unwrap();
        let mut d = vec![0u8; HEADER_LEN + 64];
        Repr::TransportData {
            receiver_index: our_index,
            counter: 0,
        }
        .emit(&mut d)
        .unwrap();
        let m = snow_t
            .write_message(0, b"from snow", &mut d[HEADER_LEN..])
            .unwrap();
        d.truncate(HEADER_LEN + m);
        assert_eq!(
            link.handle_datagram(now, &mut d),
            Ok(Received::Data(b"from snow"))
        );
        assert!(link.is_established());

        // link -> snow, twice (counters 0.. in the header).
        while link.poll_transmit(now, &mut buf).unwrap().is_some() {}
        for text in [&b"from the link"[..], b"again"] {
            let mut out = [0u8; 128];
            let n = link.send(now, text, &mut out).unwrap();
            let (repr, body) = Repr::parse_datagram(&out[..n]).unwrap();
            let Repr::TransportData {
                receiver_index,
                counter,
            } = repr
            else {
                panic!()
            };
            assert_eq!(receiver_index, bob_index);
            let m = snow_t.read_message(counter, body, &mut payload).unwrap();
            assert_eq!(&payload[..m], text, "{name}");
        }
    }
}
