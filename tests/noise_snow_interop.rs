//! Interoperability with snow 0.10 (an independent implementation): every
//! base pattern (3 one-way, 12 fundamental, 23 deferred), without PSK and
//! with `psk0`, `pskN` at the last message, and `psk0+psk1+...` combined;
//! both ciphers and all four hashes; hyperport as initiator and as
//! responder; random payloads in every handshake message; then transport
//! messages both ways (one way for one-way patterns): half the runs through
//! hyperport's stream `Transport` (`into_transport`), half through the raw
//! `CipherState`s from `split`.

use hyperport::crypto::Provider;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::cipher::CipherState;
use hyperport::noise::pattern::{ALL, HandshakePattern, Token};
use hyperport::noise::{Builder, HandshakeState, NoiseParams};
use hyperport::rng::{RngCore, SeededRng};

const CIPHERS: [&str; 2] = ["ChaChaPoly", "AESGCM"];
const HASHES: [&str; 4] = ["SHA256", "SHA512", "BLAKE2s", "BLAKE2b"];

/// Whether Alice (`true`) or Bob needs a static key in `p`.
fn needs_static(p: &HandshakePattern, alice: bool) -> bool {
    let pre = if alice { p.pre_alice() } else { p.pre_bob() };
    if pre.has_s() {
        return true;
    }
    p.messages()
        .iter()
        .enumerate()
        .any(|(i, m)| p.alice_sends(i) == alice && m.tokens().contains(&Token::S))
}

fn psk_variants(p: &HandshakePattern) -> Vec<String> {
    let n = p.messages().len();
    let mut v = vec![String::new(), "psk0".into(), format!("psk{n}")];
    // All positions combined: psk0+psk1+...+pskN.
    v.push(
        (0..=n)
            .map(|i| format!("psk{i}"))
            .collect::<Vec<_>>()
            .join("+"),
    );
    v
}

fn random_payload(rng: &mut SeededRng) -> Vec<u8> {
    let len = (rng.next_u32() % 200) as usize;
    let mut p = vec![0u8; len];
    rng.fill_bytes(&mut p);
    p
}

#[allow(clippy::large_enum_variant)]
enum Side<P: Provider> {
    Ours(HandshakeState<P>),
    Snow(snow::HandshakeState),
}

impl<P: Provider> Side<P> {
    fn write(&mut self, payload: &[u8], out: &mut [u8]) -> usize {
        match self {
            Side::Ours(h) => h.write_message(payload, out).unwrap(),
            Side::Snow(h) => h.write_message(payload, out).unwrap(),
        }
    }
    fn read(&mut self, msg: &[u8], out: &mut [u8]) -> usize {
        match self {
            Side::Ours(h) => h.read_message(msg, out).unwrap(),
            Side::Snow(h) => h.read_message(msg, out).unwrap(),
        }
    }
    fn hash(&self) -> Vec<u8> {
        match self {
            Side::Ours(h) => h.handshake_hash().to_vec(),
            Side::Snow(h) => h.get_handshake_hash().to_vec(),
        }
    }
    fn remote_static(&self) -> Option<Vec<u8>> {
        match self {
            Side::Ours(h) => h.remote_static().map(|k| k.to_vec()),
            Side::Snow(h) => h.get_remote_static().map(|k| k.to_vec()),
        }
    }
}

// Test-only; the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Transport<P: Provider> {
    Ours(CipherState<P>, CipherState<P>),
    OursStream(hyperport::noise::transport::Transport<P>),
    Snow(snow::TransportState),
}

impl<P: Provider> Transport<P> {
    fn send(&mut self, payload: &[u8], out: &mut [u8]) -> usize {
        match self {
            Transport::Ours(s, _) => s.encrypt_with_ad(&[], payload, out).unwrap(),
            Transport::OursStream(t) => t.write_message(payload, out).unwrap(),
            Transport::Snow(t) => t.write_message(payload, out).unwrap(),
        }
    }
    fn recv(&mut self, msg: &[u8], out: &mut [u8]) -> usize {
        match self {
            Transport::Ours(_, r) => r.decrypt_with_ad(&[], msg, out).unwrap(),
            Transport::OursStream(t) => t.read_message(msg, out).unwrap(),
            Transport::Snow(t) => t.read_message(msg, out).unwrap(),
        }
    }
}

fn into_transport<P: Provider>(side: Side<P>, stream: bool) -> Transport<P> {
    match side {
        Side::Ours(h) if stream => Transport::OursStream(
            h.into_transport(hyperport::noise::transport::Config::default())
                .unwrap(),
        ),
        Side::Ours(h) => {
            let (s, r) = h.split().unwrap().into_cipher_states::<P>();
            Transport::Ours(s, r)
        }
        Side::Snow(h) => Transport::Snow(h.into_transport_mode().unwrap()),
    }
}

/// One handshake + transport; `ours_initiates` picks who runs hyperport.
fn run<P: Provider>(name: &str, ours_initiates: bool, rng: &mut SeededRng) {
    let params = NoiseParams::parse(name).unwrap();
    let pat = *params.pattern();
    let alice_s = KeyPair::generate(rng);
    let bob_s = KeyPair::generate(rng);
    let alice_priv = alice_s.secret_bytes();
    let bob_priv = bob_s.secret_bytes();
    let mut psks = Vec::new();
    for pos in params.psk_positions() {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        psks.push((*pos, k));
    }
    let prologue = random_payload(rng);

    let ours = |alice: bool, rng: &mut SeededRng| -> HandshakeState<P> {
        let mut b = Builder::new(params).prologue(&prologue);
        let (me, peer, peer_pre) = if alice {
            (&alice_s, &bob_s, pat.pre_bob())
        } else {
            (&bob_s, &alice_s, pat.pre_alice())
        };
        if needs_static(&pat, alice) {
            b = b.local_static(me.clone());
        }
        if peer_pre.has_s() {
            b = b.remote_static(*peer.public());
        }
        for (pos, k) in &psks {
            b = b.psk(*pos, *k);
        }
        if alice {
            b.build_initiator(rng).unwrap()
        } else {
            b.build_responder(rng).unwrap()
        }
    };
    let theirs = |alice: bool| -> snow::HandshakeState {
        let mut b = snow::Builder::new(name.parse().unwrap());
        b = b.prologue(&prologue).unwrap();
        let (me, peer, peer_pre) = if alice {
            (&alice_priv, &bob_s, pat.pre_bob())
        } else {
            (&bob_priv, &alice_s, pat.pre_alice())
        };
        if needs_static(&pat, alice) {
            b = b.local_private_key(me).unwrap();
        }
        if peer_pre.has_s() {
            b = b.remote_public_key(peer.public()).unwrap();
        }
        for (pos, k) in &psks {
            b = b.psk(*pos, k).unwrap();
        }
        if alice {
            b.build_initiator().unwrap()
        } else {
            b.build_responder().unwrap()
        }
    };
    let (mut init, mut resp) = if ours_initiates {
        (Side::Ours(ours(true, rng)), Side::Snow(theirs(false)))
    } else {
        (Side::Snow(theirs(true)), Side::Ours(ours(false, rng)))
    };
    let mut buf = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    for i in 0..pat.messages().len() {
        let payload = random_payload(rng);
        let (w, r) = if i % 2 == 0 {
            (&mut init, &mut resp)
        } else {
            (&mut resp, &mut init)
        };
        let n = w.write(&payload, &mut buf);
        let got = r.read(&buf[..n], &mut out);
        assert_eq!(&out[..got], &payload[..], "{name}: message {i}");
    }
    assert_eq!(init.hash(), resp.hash(), "{name}: handshake hash");
    if needs_static(&pat, true) {
        assert_eq!(resp.remote_static().as_deref(), Some(&alice_s.public()[..]));
    }
    if needs_static(&pat, false) && !pat.is_one_way() {
        assert_eq!(init.remote_static().as_deref(), Some(&bob_s.public()[..]));
    }
    let stream = rng.next_u32().is_multiple_of(2);
    let mut ti = into_transport(init, stream);
    let mut tr = into_transport(resp, stream);
    for i in 0..6 {
        let payload = random_payload(rng);
        let back = i % 2 == 1 && !pat.is_one_way();
        let (s, r) = if back {
            (&mut tr, &mut ti)
        } else {
            (&mut ti, &mut tr)
        };
        let n = s.send(&payload, &mut buf);
        let got = r.recv(&buf[..n], &mut out);
        assert_eq!(&out[..got], &payload[..], "{name}: transport {i}");
    }
}

/// The full matrix with the default provider.
#[test]
fn interop_with_snow() {
    interop::<hyperport::crypto::DefaultProvider>(true);
}

/// Every pattern, PSK variant and role with each other provider built in,
/// one cipher/hash combination each (rotating through all eight).
#[test]
fn interop_with_snow_other_providers() {
    #[cfg(all(feature = "ring", feature = "rustcrypto"))]
    interop::<hyperport::crypto::RustCrypto>(false);
    #[cfg(all(feature = "ring", feature = "aws-lc"))]
    interop::<hyperport::crypto::AwsLc>(false);
}

fn interop<P: Provider>(full: bool) {
    let mut rng = SeededRng::from_u64(0x5eed);
    let mut runs = 0usize;
    let mut combo = 0usize;
    for pat in ALL.iter() {
        for psk in psk_variants(pat) {
            for ours_initiates in [true, false] {
                // Every cipher and hash for the plain and psk0 variants;
                // the rest rotate through the eight combinations.
                let all = full && (psk.is_empty() || psk == "psk0");
                for c in 0..8 {
                    if !all && c != combo % 8 {
                        continue;
                    }
                    let name = format!(
                        "Noise_{}{}_25519_{}_{}",
                        pat.base_name(),
                        psk,
                        CIPHERS[c / 4],
                        HASHES[c % 4]
                    );
                    run::<P>(&name, ours_initiates, &mut rng);
                    runs += 1;
                }
                combo += 1;
            }
        }
    }
    println!("{}: {runs} handshakes with snow", P::NAME);
    if full {
        assert_eq!(runs, 38 * 2 * (8 + 8 + 1 + 1));
    } else {
        assert_eq!(runs, 38 * 2 * 4);
    }
}
