// Shared driver of the `noise_initiator` and `noise_responder` fuzz targets
// (included by both bodies; not a target itself).
//
// The side under test ("ours") runs a handshake against a genuine peer
// (another `HandshakeState` with the right keys). Every message the peer
// sends passes through a mutation chosen by the fuzz input: unchanged, one
// bit flipped, truncated, or replaced by fuzz bytes. Every message ours
// writes uses a fuzz-chosen payload and sometimes a too-small buffer first.
//
// Input layout: byte 0 pattern (index into `ALL`), byte 1 bit mask of `pskN`
// positions, byte 2 cipher and hash, byte 3 RNG seed; then per handshake
// step: a control byte, a payload length byte and the payload, then the
// mutation's arguments (bit flip: u16 position, xor mask; truncation: u16
// length; replacement: u16 length and the bytes).
//
// Invariants checked (a panic reports a broken one):
// * nothing panics on any input;
// * a failed read or write changes no observable state (handshake hash,
//   message index, turn, remote static), and while the transcript has not
//   diverged the genuine message is then still accepted;
// * a too-small output buffer is an error that leaves the buffer untouched;
// * a handshake that completes without divergence gives both sides the same
//   handshake hash and working transport keys.

use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::pattern::{ALL, HandshakePattern, Token};
use hyperport::noise::{Builder, HandshakeError, HandshakeState, NoiseParams};
use hyperport::rng::SeededRng;

const CIPHERS: [&str; 2] = ["ChaChaPoly", "AESGCM"];
const HASHES: [&str; 4] = ["SHA256", "SHA512", "BLAKE2s", "BLAKE2b"];

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head.to_vec()
    }
}

fn needs_static(p: &HandshakePattern, alice: bool) -> bool {
    let pre = if alice { p.pre_alice() } else { p.pre_bob() };
    pre.has_s()
        || p.messages().iter().enumerate().any(|(i, m)| {
            p.alice_sends(i) == alice && m.tokens().contains(&Token::S)
        })
}

fn protocol(input: &mut Input<'_>) -> String {
    let pat = &ALL[usize::from(input.byte()) % ALL.len()];
    let n = pat.messages().len();
    let mask = input.byte();
    let psk = (0..=n)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| format!("psk{i}"))
        .collect::<Vec<_>>()
        .join("+");
    let c = usize::from(input.byte()) % 8;
    format!("Noise_{}{}_25519_{}_{}", pat.base_name(), psk, CIPHERS[c / 4], HASHES[c % 4])
}

fn build(params: NoiseParams, alice: bool, rng: &mut SeededRng) -> HandshakeState<P> {
    // Static keys are fixed; generated once per process.
    static KEYS: std::sync::OnceLock<(KeyPair, KeyPair)> = std::sync::OnceLock::new();
    let (alice_s, bob_s) = KEYS.get_or_init(|| {
        let mut keys = SeededRng::from_u64(0x6b65_7973);
        (KeyPair::generate(&mut keys), KeyPair::generate(&mut keys))
    });
    let pat = *params.pattern();
    let mut b = Builder::new(params).prologue(b"fuzz");
    let (me, peer, peer_pre) = if alice {
        (alice_s, bob_s, pat.pre_bob())
    } else {
        (bob_s, alice_s, pat.pre_alice())
    };
    if needs_static(&pat, alice) {
        b = b.local_static(me.clone());
    }
    if peer_pre.has_s() {
        b = b.remote_static(*peer.public());
    }
    for pos in params.psk_positions() {
        b = b.psk(*pos, [pos.wrapping_mul(17); 32]);
    }
    let built = if alice { b.build_initiator(rng) } else { b.build_responder(rng) };
    built.expect("every table pattern builds with its keys")
}

#[derive(PartialEq, Debug)]
struct Snapshot(Vec<u8>, usize, bool, Option<[u8; 32]>);

fn snap(h: &HandshakeState<P>) -> Snapshot {
    Snapshot(
        h.handshake_hash().to_vec(),
        h.message_index(),
        h.is_my_turn(),
        h.remote_static().copied(),
    )
}

fn drive(data: &[u8], ours_initiates: bool) {
    let mut input = Input(data);
    let name = protocol(&mut input);
    let params = NoiseParams::parse(&name).expect("generated names parse");
    let mut rng = SeededRng::from_u64(u64::from(input.byte()));
    let mut ours = build(params, ours_initiates, &mut rng);
    let mut peer = build(params, !ours_initiates, &mut rng);
    let mut buf = vec![0u8; 70_000];
    let mut out = vec![0u8; 70_000];
    let mut diverged = false;
    while !ours.is_finished() {
        let control = input.byte();
        let plen = usize::from(input.byte());
        let payload = input.bytes(plen);
        if ours.is_my_turn() {
            let needed = ours.message_len(payload.len()).expect("our turn");
            if control & 0x10 != 0 && needed > 0 {
                let before = snap(&ours);
                let small = &mut out[..needed - 1];
                small.fill(0xa5);
                let e = ours.write_message(&payload, small).unwrap_err();
                assert!(matches!(e, HandshakeError::BufferTooSmall(_)));
                assert!(small.iter().all(|b| *b == 0xa5), "buffer written on error");
                assert_eq!(before, snap(&ours));
            }
            let n = ours.write_message(&payload, &mut buf).expect("our write");
            assert_eq!(n, needed);
            if peer.is_finished() || peer.read_message(&buf[..n], &mut out).is_err() {
                // Only a diverged transcript may make the peer fail.
                assert!(diverged, "{name}: peer rejected a genuine message");
                return;
            }
        } else {
            if peer.is_finished() || !peer.is_my_turn() {
                return;
            }
            let n = peer.write_message(&payload, &mut buf).expect("peer write");
            let genuine = buf[..n].to_vec();
            let mut msg = genuine.clone();
            match control % 4 {
                0 => {}
                1 => {
                    if !msg.is_empty() {
                        let pos = usize::from(input.u16()) % msg.len();
                        msg[pos] ^= input.byte().max(1);
                    }
                }
                2 => {
                    let cut = usize::from(input.u16()) % (msg.len() + 1);
                    msg.truncate(cut);
                }
                _ => {
                    let len = usize::from(input.u16());
                    msg = input.bytes(len);
                }
            }
            let before = snap(&ours);
            match ours.read_message(&msg, &mut out) {
                Ok(got) => {
                    if msg != genuine {
                        // Accepted a changed message (unauthenticated early
                        // messages): the transcripts may now differ.
                        diverged = true;
                    } else {
                        assert_eq!(&out[..got], &payload[..]);
                    }
                }
                Err(_) => {
                    assert_eq!(before, snap(&ours), "{name}: failed read moved state");
                    // Then the genuine message must still be accepted.
                    let got = ours
                        .read_message(&genuine, &mut out)
                        .unwrap_or_else(|e| {
                            assert!(diverged, "{name}: genuine message refused: {e}");
                            usize::MAX
                        });
                    if got == usize::MAX {
                        return;
                    }
                    if !diverged {
                        assert_eq!(&out[..got], &payload[..]);
                    }
                }
            }
        }
    }
    if diverged || !peer.is_finished() {
        return;
    }
    assert_eq!(ours.handshake_hash(), peer.handshake_hash(), "{name}");
    let one_way = params.pattern().is_one_way();
    let (init, resp) = if ours_initiates { (ours, peer) } else { (peer, ours) };
    let (mut is, mut ir) = init.split().expect("finished").into_cipher_states::<P>();
    let (mut rs, mut rr) = resp.split().expect("finished").into_cipher_states::<P>();
    let n = is.encrypt_with_ad(b"ad", b"forward", &mut buf).expect("encrypt");
    let got = rr.decrypt_with_ad(b"ad", &buf[..n], &mut out).expect("decrypt");
    assert_eq!(&out[..got], b"forward");
    if !one_way {
        let n = rs.encrypt_with_ad(b"ad", b"back", &mut buf).expect("encrypt");
        let got = ir.decrypt_with_ad(b"ad", &buf[..n], &mut out).expect("decrypt");
        assert_eq!(&out[..got], b"back");
    }
}
