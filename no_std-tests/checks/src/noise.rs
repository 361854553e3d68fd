//! Noise checks: two upstream test vectors (cacophony, byte for byte) and
//! the Cortex-M4 requirement: an `XX` handshake with keys drawn from a fixed
//! seed, then [`MESSAGES_EACH_WAY`] transport messages each way, every one
//! checked, plus tampered messages that must be rejected without changing
//! any state.

use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::transport::{Config, Transport, TransportError};
use hyperport::noise::{Builder, HandshakeError, HandshakeState};
use hyperport::rng::SeededRng;

use crate::{P, unhex};

/// The protocol the Cortex-M4 requirement names.
pub const XX_BLAKE2S: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// The same pattern and cipher with SHA-256.
pub const XX_SHA256: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
/// Transport messages sent in each direction by [`xx_seeded_blake2s`].
pub const MESSAGES_EACH_WAY: u32 = 100;

/// One cacophony vector: keys, prologue, the expected handshake hash and
/// every message (payload, ciphertext), all as lowercase hex.
struct Vector {
    name: &'static str,
    init_static: &'static str,
    init_ephemeral: &'static str,
    resp_static: &'static str,
    resp_ephemeral: &'static str,
    handshake_hash: &'static str,
    messages: [(&'static str, &'static str); 6],
}

// Data copied from vectors/noise/cacophony.txt (haskell-cryptography/
// cacophony, `vectors/cacophony.txt`, commit 8ee9d41e, Unlicense; see
// vectors/noise/README.md). Prologue "John Galt" for both sides.
const PROLOGUE: &[u8] = b"John Galt";
const INIT_STATIC: &str = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
const INIT_EPHEMERAL: &str = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
const RESP_STATIC: &str = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
const RESP_EPHEMERAL: &str = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
const PAYLOADS: [&str; 6] = [
    "4c756477696720766f6e204d69736573",           // "Ludwig von Mises"
    "4d757272617920526f746862617264",             // "Murray Rothbard"
    "462e20412e20486179656b",                     // "F. A. Hayek"
    "4361726c204d656e676572",                     // "Carl Menger"
    "4a65616e2d426170746973746520536179",         // "Jean-Baptiste Say"
    "457567656e2042f6686d20766f6e2042617765726b", // "Eugen Böhm von Bawerk"
];

const CACOPHONY_XX_BLAKE2S: Vector = Vector {
    name: XX_BLAKE2S,
    init_static: INIT_STATIC,
    init_ephemeral: INIT_EPHEMERAL,
    resp_static: RESP_STATIC,
    resp_ephemeral: RESP_EPHEMERAL,
    handshake_hash: "6c4c56cf71612f72d05ceb96c0155e6f4ea54a26b504c93de632a2db4a49d200",
    messages: [
        (
            PAYLOADS[0],
            "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944\
             4c756477696720766f6e204d69736573",
        ),
        (
            PAYLOADS[1],
            "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843\
             7c365eb362a1c991b0557fe8a7fb187d99346765d93ec63db6c1b01504ebeec5\
             5a2298d2dbff80eff034d20595153f63a196a6cead1e11b2bb13e336fa13616d\
             d3e8b0a070c882ed3f1a78c7c06c93",
        ),
        (
            PAYLOADS[2],
            "46c3307de83b014258717d97781c1f50936d8b7d50c0722a1739654d10392d41\
             5b670c114f79b9a4f80541570f77ce88802efa4220cff733e7b5668ba38059ec\
             904b4b8eef9448085faf51",
        ),
        (
            PAYLOADS[3],
            "d5e83adfaac5dc324a68f1862df54549e56d209fba707205f328b2",
        ),
        (
            PAYLOADS[4],
            "d102c9029b1f55c788f561ba7737afbccef9c9f1bf2f238167fd40ba9c1c134867",
        ),
        (
            PAYLOADS[5],
            "cb1ce80960382c6d5d5e740ffb724d1432f0310b200fb6f8424120f506092744baa415e155",
        ),
    ],
};

const CACOPHONY_XX_SHA256: Vector = Vector {
    name: XX_SHA256,
    init_static: INIT_STATIC,
    init_ephemeral: INIT_EPHEMERAL,
    resp_static: RESP_STATIC,
    resp_ephemeral: RESP_EPHEMERAL,
    handshake_hash: "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
    messages: [
        (
            PAYLOADS[0],
            "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944\
             4c756477696720766f6e204d69736573",
        ),
        (
            PAYLOADS[1],
            "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843\
             81cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9\
             bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f\
             8814c7194e83f23dbd8d162c9326ad",
        ),
        (
            PAYLOADS[2],
            "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a8\
             0ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6\
             ae769a1d95941d49b25030",
        ),
        (
            PAYLOADS[3],
            "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
        ),
        (
            PAYLOADS[4],
            "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
        ),
        (
            PAYLOADS[5],
            "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f",
        ),
    ],
};

fn key(hex: &str) -> Option<KeyPair> {
    let mut k = [0u8; 32];
    (unhex(hex, &mut k)?.len() == 32).then(|| KeyPair::from_secret_bytes(k))
}

/// Runs one cacophony vector: the three handshake messages and three
/// transport messages (sides alternate, initiator first), each compared
/// byte for byte with the upstream ciphertext and decrypted by the peer;
/// then the handshake hash.
fn cacophony(v: &Vector) -> Option<bool> {
    // The ephemerals are fixed, so the RNG is never drawn from.
    let mut rng = SeededRng::from_u64(0);
    let mut init: HandshakeState<P> = Builder::from_name(v.name)
        .ok()?
        .local_static(key(v.init_static)?)
        .fixed_ephemeral(key(v.init_ephemeral)?)
        .prologue(PROLOGUE)
        .build_initiator(&mut rng)
        .ok()?;
    let mut resp: HandshakeState<P> = Builder::from_name(v.name)
        .ok()?
        .local_static(key(v.resp_static)?)
        .fixed_ephemeral(key(v.resp_ephemeral)?)
        .prologue(PROLOGUE)
        .build_responder(&mut rng)
        .ok()?;
    let (mut payload, mut want, mut msg, mut got) = ([0u8; 32], [0u8; 128], [0u8; 128], [0u8; 64]);
    let mut ok = true;
    for (i, (p_hex, c_hex)) in v.messages.iter().enumerate().take(3) {
        let p = unhex(p_hex, &mut payload)?;
        let c = unhex(c_hex, &mut want)?;
        let (w, r) = if i % 2 == 0 {
            (&mut init, &mut resp)
        } else {
            (&mut resp, &mut init)
        };
        let n = w.write_message(p, &mut msg).ok()?;
        let m = r.read_message(msg.get(..n)?, &mut got).ok()?;
        ok &= msg.get(..n)? == c && got.get(..m)? == p;
    }
    let hash = unhex(v.handshake_hash, &mut want)?;
    ok &= init.handshake_hash() == hash && resp.handshake_hash() == hash;
    let mut init = init.into_transport(Config::default()).ok()?;
    let mut resp = resp.into_transport(Config::default()).ok()?;
    for (i, (p_hex, c_hex)) in v.messages.iter().enumerate().skip(3) {
        let p = unhex(p_hex, &mut payload)?;
        let c = unhex(c_hex, &mut want)?;
        let (w, r) = if i % 2 == 0 {
            (&mut init, &mut resp)
        } else {
            (&mut resp, &mut init)
        };
        let n = w.write_message(p, &mut msg).ok()?;
        let m = r.read_message(msg.get(..n)?, &mut got).ok()?;
        ok &= msg.get(..n)? == c && got.get(..m)? == p;
    }
    Some(ok)
}

pub(crate) fn cacophony_xx_blake2s() -> bool {
    cacophony(&CACOPHONY_XX_BLAKE2S) == Some(true)
}

pub(crate) fn cacophony_xx_sha256() -> bool {
    cacophony(&CACOPHONY_XX_SHA256) == Some(true)
}

/// The payload of message `i` in direction `dir`: its length (1..=64) and
/// bytes both depend on both, so a message delivered out of place or
/// decrypted wrongly cannot compare equal.
fn payload(dir: u8, i: u32, out: &mut [u8; 64]) -> &[u8] {
    let [b0, b1, b2, b3] = i.to_le_bytes();
    let len = usize::from(b0 % 64).saturating_add(1);
    for (j, b) in (0u8..).zip(out.iter_mut()) {
        *b = dir ^ b0.wrapping_mul(31) ^ b1 ^ b2 ^ b3 ^ j.wrapping_mul(7);
    }
    out.get(..len).unwrap_or(&[])
}

/// Sends message `i` from `tx` to `rx` and checks that it decrypts to what
/// was sent; with `tamper`, delivers only a copy with one bit flipped, which
/// must fail with [`TransportError::Decrypt`] without changing the nonce,
/// after which the stream transport is broken: the genuine message is
/// refused with [`TransportError::Broken`].
pub(crate) fn one_message(
    tx: &mut Transport<P>,
    rx: &mut Transport<P>,
    dir: u8,
    i: u32,
    tamper: bool,
) -> Option<bool> {
    let (mut sent, mut wire, mut got) = ([0u8; 64], [0u8; 96], [0u8; 96]);
    let p = payload(dir, i, &mut sent);
    let n = tx.write_message(p, &mut wire).ok()?;
    let ok = n == p.len().checked_add(16)?;
    if tamper {
        let mut bad = wire;
        let byte = bad.get_mut(n.checked_div(2)?)?;
        *byte ^= 0x04;
        let before = rx.receiving_nonce();
        return Some(
            ok && rx.read_message(bad.get(..n)?, &mut got) == Err(TransportError::Decrypt)
                && rx.receiving_nonce() == before
                && rx.read_message(wire.get(..n)?, &mut got) == Err(TransportError::Broken)
                && rx.receiving_nonce() == before,
        );
    }
    let m = rx.read_message(wire.get(..n)?, &mut got).ok()?;
    Some(ok && got.get(..m)? == p)
}

/// The Cortex-M4 requirement: `Noise_XX_25519_ChaChaPoly_BLAKE2s` with both
/// static keys and both ephemerals drawn from [`SeededRng`] (fixed seed),
/// then [`MESSAGES_EACH_WAY`] messages each way, interleaved.
///
/// Checks: every handshake payload and transport message decrypts to what
/// was sent; a tampered handshake message (the encrypted static key in
/// message 2) is rejected and changes nothing (the genuine message is read
/// next); both sides learn each other's static key and agree on the
/// handshake hash; both nonces count exactly the messages sent; a final
/// tampered transport message is rejected without changing the nonce and
/// breaks the receiving stream transport (it refuses the genuine message
/// and any write).
pub(crate) fn xx_seeded_blake2s() -> bool {
    xx_seeded(XX_BLAKE2S) == Some(true)
}

fn xx_seeded(name: &str) -> Option<bool> {
    let mut rng = SeededRng::from_seed(*b"hyperport no_std noise XX seed!!");
    let alice_key = KeyPair::generate(&mut rng);
    let bob_key = KeyPair::generate(&mut rng);
    let (alice_pub, bob_pub) = (*alice_key.public(), *bob_key.public());
    let mut alice: HandshakeState<P> = Builder::from_name(name)
        .ok()?
        .local_static(alice_key)
        .prologue(b"hyperport no_std")
        .build_initiator(&mut rng)
        .ok()?;
    let mut bob: HandshakeState<P> = Builder::from_name(name)
        .ok()?
        .local_static(bob_key)
        .prologue(b"hyperport no_std")
        .build_responder(&mut rng)
        .ok()?;

    // -> e; <- e, ee, s, es; -> s, se. Payloads ride along.
    let mut ok = alice_pub != bob_pub;
    let (mut msg, mut got) = ([0u8; 160], [0u8; 64]);
    let hs_payloads: [&[u8]; 3] = [b"hello bob", b"hello alice", b"done"];
    for (i, p) in hs_payloads.iter().enumerate() {
        let (w, r) = if i % 2 == 0 {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let n = w.write_message(p, &mut msg).ok()?;
        if i == 2 {
            // Message 2 starts with the initiator's encrypted static key.
            let mut bad = msg;
            let b = bad.get_mut(5)?;
            *b ^= 0x01;
            let index = r.message_index();
            ok &= r.read_message(bad.get(..n)?, &mut got) == Err(HandshakeError::Decrypt)
                && r.message_index() == index
                && !r.is_finished();
        }
        let m = r.read_message(msg.get(..n)?, &mut got).ok()?;
        ok &= got.get(..m)? == *p;
    }
    ok &= alice.is_finished()
        && bob.is_finished()
        && alice.remote_static() == Some(&bob_pub)
        && bob.remote_static() == Some(&alice_pub)
        && alice.handshake_hash().len() == 32
        && alice.handshake_hash() == bob.handshake_hash();

    let mut alice = alice.into_transport(Config::default()).ok()?;
    let mut bob = bob.into_transport(Config::default()).ok()?;
    ok &= alice.handshake_hash() == bob.handshake_hash();
    for i in 0..MESSAGES_EACH_WAY {
        ok &= one_message(&mut alice, &mut bob, 0xa0, i, false)?;
        ok &= one_message(&mut bob, &mut alice, 0xb0, i, false)?;
    }
    let count = u64::from(MESSAGES_EACH_WAY);
    ok &= alice.sending_nonce() == count
        && alice.receiving_nonce() == count
        && bob.sending_nonce() == count
        && bob.receiving_nonce() == count;
    // Last, a tampered message from Alice: refused, and Bob's stream is
    // broken from then on (a stream that saw a failed decryption ends): it
    // refuses to write too.
    ok &= one_message(&mut alice, &mut bob, 0xa0, MESSAGES_EACH_WAY, true)?;
    let mut wire = [0u8; 32];
    ok &= bob.write_message(b"more", &mut wire) == Err(TransportError::Broken)
        && bob.is_broken()
        && !alice.is_broken();
    Some(ok)
}

/// The datagram transport over the framing module's datagram header:
/// explicit nonces carried in the header counter, delivery out of order, a
/// duplicate and a forged datagram refused, the reserved nonce refused.
/// Fixed split keys (no handshake, to keep the shared table fast); the first
/// datagram is also sealed directly with the RFC 8439-checked AEAD under
/// the Noise spec's nonce layout (section 12.3: 4 zero bytes, then the
/// counter little-endian), which must give the same bytes.
pub(crate) fn datagram_over_header() -> bool {
    datagram().unwrap_or(false)
}

fn datagram() -> Option<bool> {
    use hyperport::crypto::{Aead, AeadAlgorithm, Digest, Provider};
    use hyperport::framing::datagram::{HEADER_LEN, Repr};
    use hyperport::noise::datagram::{Config, DatagramTransport};
    use hyperport::noise::replay::ReplayError;
    use hyperport::time::Instant;

    const COUNT: usize = 8;
    const RECEIVER: u32 = 0x5eed;
    let (c1, c2) = ([0x11u8; 32], [0x22u8; 32]);
    let alg = AeadAlgorithm::ChaCha20Poly1305;
    let h = Digest::from_slice(&[0x33; 32]);
    let now = Instant::from_secs(1);
    let mut alice = DatagramTransport::<P>::new(
        hyperport::noise::cipher::SplitKeys::new(c1, c2, alg, h.clone(), true),
        Config::default(),
        now,
    );
    let mut bob = DatagramTransport::<P>::new(
        hyperport::noise::cipher::SplitKeys::new(c1, c2, alg, h, false),
        Config::default(),
        now,
    );

    // Alice seals COUNT datagrams: header (counter = nonce) + ciphertext.
    let mut wire = [[0u8; HEADER_LEN + 16 + 8]; COUNT];
    let mut ok = true;
    for (i, d) in (0u8..).zip(wire.iter_mut()) {
        let payload = [i; 8];
        let (head, body) = d.split_at_mut(HEADER_LEN);
        let (nonce, len) = alice.write_message(&payload, body).ok()?;
        ok &= nonce == u64::from(i) && len == 24;
        Repr::TransportData {
            receiver_index: RECEIVER,
            counter: nonce,
        }
        .emit(head)
        .ok()?;
    }
    // Independent seal of datagram 0.
    let mut direct = [0u8; 8];
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&0u64.to_le_bytes());
    let tag = P::aead_key(alg, &c1).seal_in_place(&nonce, &[], &mut direct);
    ok &=
        wire[0].get(HEADER_LEN..HEADER_LEN + 8)? == direct && wire[0].get(HEADER_LEN + 8..)? == tag;

    // Bob receives them out of order, parsing each header first.
    let mut got = [0u8; 16];
    let mut receive = |bob: &mut DatagramTransport<P>, d: &[u8]| {
        let (repr, body) = Repr::parse_datagram(d).ok()?;
        let Repr::TransportData {
            receiver_index,
            counter,
        } = repr
        else {
            return None;
        };
        (receiver_index == RECEIVER).then_some(())?;
        Some((counter, bob.read_message(counter, body, &mut got)))
    };
    for i in [3usize, 0, 7, 1, 2, 6, 5, 4] {
        let (counter, r) = receive(&mut bob, wire.get(i)?)?;
        ok &= counter == u64::try_from(i).ok()? && r == Ok(8);
    }
    // A network duplicate and the reserved nonce.
    let (_, dup) = receive(&mut bob, wire.get(5)?)?;
    ok &= dup == Err(TransportError::Replay(ReplayError::Duplicate));
    let mut reserved = *wire.first()?;
    Repr::TransportData {
        receiver_index: RECEIVER,
        counter: u64::MAX,
    }
    .emit(&mut reserved)
    .ok()?;
    let (_, res) = receive(&mut bob, &reserved)?;
    ok &= res == Err(TransportError::Replay(ReplayError::Reserved));
    // Alice's datagram 8, first with one ciphertext bit flipped: refused,
    // and nothing changes, so the genuine one opens next.
    let mut next = [0u8; HEADER_LEN + 24];
    let (head, body) = next.split_at_mut(HEADER_LEN);
    let (n8, len) = alice.write_message(b"eighth!!", body).ok()?;
    Repr::TransportData {
        receiver_index: RECEIVER,
        counter: n8,
    }
    .emit(head)
    .ok()?;
    let genuine = next.get(..HEADER_LEN.checked_add(len)?)?;
    let mut forged = next;
    forged[HEADER_LEN + 3] ^= 0x10;
    let (_, bad) = receive(&mut bob, forged.get(..genuine.len())?)?;
    ok &= bad == Err(TransportError::Decrypt);
    let (_, r8) = receive(&mut bob, genuine)?;
    ok &= n8 == 8 && r8 == Ok(8) && got.get(..8)? == b"eighth!!";
    Some(ok)
}
