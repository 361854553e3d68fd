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

/// The protocol to run. One pick past the table selects the Noise Pipes
/// flow: `IK` with a stale key for Bob, then `XXfallback`.
fn protocol(input: &mut Input<'_>) -> String {
    let pick = usize::from(input.byte()) % (ALL.len() + 1);
    let Some(pat) = ALL.get(pick) else {
        input.byte(); // no PSK mask
        let c = usize::from(input.byte()) % 8;
        return format!("Noise_XXfallback_25519_{}_{}", CIPHERS[c / 4], HASHES[c % 4]);
    };
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

/// Alice's and Bob's static keys, and a stale key Alice wrongly holds for
/// Bob in the Pipes flow; generated once per process.
fn keys() -> &'static (KeyPair, KeyPair, KeyPair) {
    static KEYS: std::sync::OnceLock<(KeyPair, KeyPair, KeyPair)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = SeededRng::from_u64(0x6b65_7973);
        (
            KeyPair::generate(&mut keys),
            KeyPair::generate(&mut keys),
            KeyPair::generate(&mut keys),
        )
    })
}

/// Noise Pipes prefix: Alice's `IK` message (mutated by the input when Bob
/// is under test) fails at Bob, and both turn into the `XXfallback` pair.
/// Returns (Alice, Bob, whether Bob got a changed ephemeral).
fn pipes(
    params: NoiseParams,
    input: &mut Input<'_>,
    mutate: bool,
    rng: &mut SeededRng,
) -> (HandshakeState<P>, HandshakeState<P>, bool) {
    let (alice_s, bob_s, stale) = keys();
    let suite = &params.name()["Noise_XXfallback".len()..];
    let ik = NoiseParams::parse(&format!("Noise_IK{suite}")).expect("IK name");
    let mut alice: HandshakeState<P> = Builder::new(ik)
        .local_static(alice_s.clone())
        .remote_static(*stale.public())
        .prologue(b"fuzz")
        .build_initiator(rng)
        .expect("IK initiator");
    let mut bob: HandshakeState<P> = Builder::new(ik)
        .local_static(bob_s.clone())
        .prologue(b"fuzz")
        .build_responder(rng)
        .expect("IK responder");
    let plen = usize::from(input.byte());
    let payload = input.bytes(plen);
    let mut buf = vec![0u8; 70_000];
    let mut out = vec![0u8; 70_000];
    let n = alice.write_message(&payload, &mut buf).expect("IK write");
    let genuine = buf[..n].to_vec();
    let mut msg = genuine.clone();
    if mutate {
        mutate_message(&mut msg, input.byte(), input);
    }
    let before = snap(&bob);
    assert!(bob.read_message(&msg, &mut out).is_err(), "IK with a stale key accepted");
    assert_eq!(before, snap(&bob));
    let changed_e = msg.get(..32) != genuine.get(..32);
    let fallback = || Builder::new(params).prologue(b"fuzz");
    let bob = match bob.fallback_initiator(fallback(), &msg, rng) {
        Ok(b) => b,
        Err(e) => {
            assert!(msg.len() < 32, "fallback refused: {e}");
            // Too short to carry Alice's ephemeral: Bob cannot fall back.
            let b = build_fallback_bob(params, &genuine, rng);
            return (alice.fallback_responder(fallback(), rng).expect("Alice fallback"), b, true);
        }
    };
    let alice = alice.fallback_responder(fallback(), rng).expect("Alice fallback");
    (alice, bob, changed_e)
}

/// Bob's fallback state from the genuine message (used when the mutated one
/// was too short; the run then counts as diverged).
fn build_fallback_bob(params: NoiseParams, genuine: &[u8], rng: &mut SeededRng) -> HandshakeState<P> {
    let (_, bob_s, _) = keys();
    let mut re = [0u8; 32];
    re.copy_from_slice(&genuine[..32]);
    Builder::new(params)
        .prologue(b"fuzz")
        .local_static(bob_s.clone())
        .remote_ephemeral(re)
        .build_initiator(rng)
        .expect("fallback Bob")
}

/// Applies the mutation `control % 4` selects.
fn mutate_message(msg: &mut Vec<u8>, control: u8, input: &mut Input<'_>) {
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
            *msg = input.bytes(len);
        }
    }
}

fn build(params: NoiseParams, alice: bool, rng: &mut SeededRng) -> HandshakeState<P> {
    // Static keys are fixed; generated once per process.
    let (alice_s, bob_s, _) = keys();
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
    let (mut ours, mut peer, mut diverged) = if params.pattern().alice_first() {
        (
            build(params, ours_initiates, &mut rng),
            build(params, !ours_initiates, &mut rng),
            false,
        )
    } else {
        // Pipes: the initiator target is Alice, the responder target Bob.
        let (alice, bob, diverged) = pipes(params, &mut input, !ours_initiates, &mut rng);
        if ours_initiates {
            (alice, bob, diverged)
        } else {
            (bob, alice, diverged)
        }
    };
    let mut buf = vec![0u8; 70_000];
    let mut out = vec![0u8; 70_000];
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
            let before = snap(&ours);
            let n = match ours.write_message(&payload, &mut buf) {
                Ok(n) => n,
                // A changed early message was accepted (`diverged`) and
                // planted a low-order key: our DH with it refuses the
                // all-zero result (spec 12.1, on by default), and the
                // failed write changed nothing.
                Err(HandshakeError::LowOrderKey) if diverged => {
                    assert_eq!(before, snap(&ours), "{name}: failed write moved state");
                    return;
                }
                Err(e) => panic!("{name}: our write: {e}"),
            };
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
            mutate_message(&mut msg, control, &mut input);
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
    let (init, resp) = if ours.is_initiator() { (ours, peer) } else { (peer, ours) };
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
