//! The checks run by both no_std proof binaries (the freestanding x86_64
//! Linux binary and the Cortex-M4 image under QEMU).
//!
//! `#![no_std]` and no allocator: every check uses stack buffers only, and
//! the binaries that call [`run_all`] link without a `#[global_allocator]`.
//!
//! Adding a check for a new machine is one line in [`CHECKS`] plus a
//! `fn() -> bool` that returns `true` on success. Expected values are typed
//! from the specifications (the same values as `vectors/crypto/*.json`, which
//! were verified independently by `vectors/crypto/verify.py`).
#![no_std]

use core::fmt::Write as _;
use hyperport::buf::{Reader, Writer};
use hyperport::crypto::x25519::{KEY_LEN, KeyPair};
use hyperport::crypto::{
    Aead, AeadAlgorithm, AeadError, HashAlgorithm, Hasher, Provider, RustCrypto, hmac,
};
use hyperport::rng::SeededRng;
use hyperport::time::{Duration, Instant, Monotonic};
use hyperport::{BufferTooSmall, Truncated};

mod framing;
#[cfg(feature = "mlkem")]
pub mod hybrid;
mod link;
mod noise;
mod overlay;
mod ports;
mod routing;

pub use noise::{MESSAGES_EACH_WAY, XX_BLAKE2S};

/// The provider every check uses: the one that builds for every target.
pub(crate) type P = RustCrypto;

/// A check: its name (printed) and a function returning `true` on success.
pub type Check = (&'static str, fn() -> bool);

/// Every check, in the order they run. Add one line per check.
pub const CHECKS: &[Check] = &[
    ("time: Instant/Duration saturate", time_saturating),
    ("time: Monotonic clamps a backwards now", time_monotonic),
    ("buf: Reader big-endian fields and Truncated", buf_reader),
    (
        "buf: Writer fields and BufferTooSmall leaves buffer",
        buf_writer,
    ),
    ("sha256: FIPS 180-4 \"abc\"", sha256_abc),
    (
        "sha256: FIPS 180-4 448-bit two-block, streamed",
        sha256_two_block,
    ),
    ("sha512: FIPS 180-4 \"abc\"", sha512_abc),
    ("blake2s: RFC 7693 appendix B \"abc\"", blake2s_abc),
    ("blake2b: RFC 7693 appendix A \"abc\"", blake2b_abc),
    (
        "chacha20poly1305: RFC 8439 sec 2.8.2 seal/open/tamper",
        chacha_rfc8439,
    ),
    (
        "aes256gcm: GCM spec test case 16 seal/open/tamper",
        aes_gcm_case16,
    ),
    ("hmac-sha256: RFC 4231 test case 2", hmac_sha256),
    ("hmac-sha512: RFC 4231 test case 2", hmac_sha512),
    ("hkdf: RFC 5869 A.3 via Noise hkdf2", hkdf_rfc5869),
    ("x25519: RFC 7748 sec 5.2 vector 1", x25519_scalar_mult),
    ("x25519: RFC 7748 sec 6.1 Alice/Bob DH", x25519_alice_bob),
    ("x25519: low-order point gives is_zero()", x25519_low_order),
    ("x25519: generated key pairs agree", x25519_generate),
    (
        "framing: decoder in chunks (split prefix, bytewise), over-cap -> FrameTooLong",
        framing::decoder_chunks,
    ),
    (
        "framing: decoder closed after error, EndedMidFrame at eof",
        framing::decoder_closed_and_eof,
    ),
    (
        "framing: encoder bytes, FrameTooLong, BufferTooSmall untouched",
        framing::encoder,
    ),
    (
        "framing: datagram header emit/parse and typed errors",
        framing::datagram_header,
    ),
    (
        "ports: event codec vs vectors/ports (python encoder)",
        ports::event_codec_vector,
    ),
    ("ports: local pair send/read/close", ports::local_pair),
    (
        "ports: two nodes, encoded events, a port sent across",
        ports::two_nodes_send_port,
    ),
    (
        "routing: coordinate wire bytes, exact distances, limits",
        routing::coords,
    ),
    (
        "routing: greedy next hop strictly closer, watermark, dead end",
        routing::greedy,
    ),
    (
        "routing: 3 nodes, signed announcements by hand, root C, route C->A",
        routing::three_nodes,
    ),
    (
        "routing: header emit/parse, truncated/over-long -> typed error",
        routing::header,
    ),
    (
        "noise: datagram transport over the header, reorder/dup/forgery",
        noise::datagram_over_header,
    ),
    (
        "link: IK via gate (cached duplicate), keepalive, 8 each way, dup/forgery refused",
        link::ik_handshake_and_transport,
    ),
    NOISE_CHECKS[0],
    NOISE_CHECKS[1],
    NOISE_CHECKS[2],
    OVERLAY_CHECKS[0],
];

/// The overlay group: two `overlay::Node`s with small inline storage
/// (handshake, hellos, routing, an end-to-end session, one ports message).
/// Part of [`CHECKS`]; the `hyperport-nostd-overlay` image runs only this
/// group, so that its flash, RAM and stack are those of a small overlay
/// firmware.
pub const OVERLAY_CHECKS: &[Check] = &[(
    "overlay: 2 nodes, hop + e2e Noise, routing root B, ports message A->B",
    overlay::two_nodes,
)];

/// The Noise group: two upstream vectors and the Cortex-M4 requirement (an
/// `XX` handshake with seeded keys and [`MESSAGES_EACH_WAY`] transport
/// messages each way, tampering rejected). Part of [`CHECKS`]; the
/// `hyperport-nostd-noise` image runs only this group.
pub const NOISE_CHECKS: &[Check] = &[
    (
        "noise: cacophony Noise_XX_25519_ChaChaPoly_BLAKE2s byte for byte",
        noise::cacophony_xx_blake2s,
    ),
    (
        "noise: cacophony Noise_XX_25519_ChaChaPoly_SHA256 byte for byte",
        noise::cacophony_xx_sha256,
    ),
    (
        "noise: XX BLAKE2s seeded keys, 100 msgs each way, tamper rejected",
        noise::xx_seeded_blake2s,
    ),
];

/// The post-quantum group (feature `mlkem`): a hybrid XX handshake with
/// the pure-Rust provider; the `hyperport-nostd-hybrid` image runs it.
#[cfg(feature = "mlkem")]
pub const HYBRID_CHECKS: &[Check] = &[(
    "noise: hybridXX 25519+MLKEM768 seeded, KEM key/ciphertext tamper refused, 100 msgs each way",
    hybrid::hybrid_xx,
)];

/// Runs every check in [`CHECKS`]; see [`run`].
pub fn run_all(log: &mut dyn FnMut(&str)) -> u32 {
    run(CHECKS, log)
}

/// Runs `checks`, logging one line per check (`"ok   <name>"` or
/// `"FAIL <name>"`, no newline) and a summary line. Returns the number of
/// failed checks.
pub fn run(checks: &[Check], log: &mut dyn FnMut(&str)) -> u32 {
    let mut failures = 0u32;
    for (name, check) in checks {
        let ok = check();
        if !ok {
            failures = failures.saturating_add(1);
        }
        let mut line = Line::new();
        let _ = write!(line, "{} {}", if ok { "ok  " } else { "FAIL" }, name);
        log(line.as_str());
    }
    let mut line = Line::new();
    let _ = write!(
        line,
        "{} checks, {} failed (provider {})",
        checks.len(),
        failures,
        P::NAME
    );
    log(line.as_str());
    failures
}

/// A fixed-capacity line; what does not fit is cut.
struct Line {
    buf: [u8; 120],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Line {
            buf: [0; 120],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are copied in (see write_str), so this is UTF-8.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("<line not utf-8>")
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        if s.len() > room {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

/// Decodes hex at compile time (a bad constant fails the build).
const fn hex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 2 * N, "hex length does not match the array");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// Decodes lowercase hex into the front of `out`; `None` if `s` is not
/// hex or does not fit.
fn unhex<'o>(s: &str, out: &'o mut [u8]) -> Option<&'o [u8]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let out = out.get_mut(..s.len() / 2)?;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

// ------------------------------------------------------------------ time

fn time_saturating() -> bool {
    let one_s = Duration::from_secs(1);
    Instant::MAX + one_s == Instant::MAX
        && Instant::from_secs(u64::MAX) == Instant::MAX
        && Instant::ZERO.saturating_sub(one_s) == Instant::ZERO
        && Instant::from_secs(1) - Instant::from_secs(2) == Duration::ZERO
        && Instant::from_secs(3) - Instant::from_millis(500) == Duration::from_micros(2_500_000)
        && Duration::MAX.saturating_mul(2) == Duration::MAX
        && Instant::from_millis(1_234).as_millis() == 1_234
}

fn time_monotonic() -> bool {
    let mut m = Monotonic::new();
    let a = m.observe(Instant::from_secs(5));
    let b = m.observe(Instant::from_secs(3));
    let c = m.observe(Instant::from_secs(7));
    a == Instant::from_secs(5)
        && b == Instant::from_secs(5)
        && c == Instant::from_secs(7)
        && m.latest() == Instant::from_secs(7)
}

// ------------------------------------------------------------------- buf

fn buf_reader() -> bool {
    let bytes = [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x10, 0x11,
    ];
    let mut r = Reader::new(&bytes);
    let ok = r.u8() == Ok(0x01)
        && r.u16() == Ok(0x0203)
        && r.u32() == Ok(0x0405_0607)
        && r.u64() == Ok(0x0809_0a0b_0c0d_0e0f)
        && r.position() == 15
        && r.remaining() == 2;
    // A field longer than what is left fails and consumes nothing.
    let short = r.u32()
        == Err(Truncated {
            needed: 4,
            available: 2,
        })
        && r.remaining() == 2;
    let mut le = Reader::new(&[1, 0, 0, 0, 0, 0, 0, 0x80]);
    ok && short
        && r.take(2) == Ok(&[0x10, 0x11][..])
        && r.is_empty()
        && le.u64_le() == Ok(0x8000_0000_0000_0001)
}

fn buf_writer() -> bool {
    let mut out = [0xeeu8; 8];
    let mut w = Writer::new(&mut out);
    let wrote = w.u16(0x0102).is_ok() && w.u32(0x0304_0506).is_ok() && w.position() == 6;
    let refused = w.u32(0xdead_beef)
        == Err(BufferTooSmall {
            needed: 10,
            available: 8,
        })
        && w.put(&[9, 9, 9]).is_err()
        && w.position() == 6;
    let tail_ok = w.u8(7).is_ok() && w.remaining() == 1;
    wrote && refused && tail_ok && out == [1, 2, 3, 4, 5, 6, 7, 0xee]
}

// ---------------------------------------------------------------- hashes

fn sha256_abc() -> bool {
    P::hash(HashAlgorithm::Sha256, &[b"abc"]).as_bytes()
        == hex::<32>("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
}

fn sha256_two_block() -> bool {
    let msg = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    let want = hex::<32>("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    let mut h = <P as Provider>::hasher(HashAlgorithm::Sha256);
    for chunk in msg.chunks(5) {
        h.update(chunk);
    }
    h.finish().as_bytes() == want && P::hash(HashAlgorithm::Sha256, &[msg]).as_bytes() == want
}

fn sha512_abc() -> bool {
    P::hash(HashAlgorithm::Sha512, &[b"abc"]).as_bytes()
        == hex::<64>(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        )
}

fn blake2s_abc() -> bool {
    P::hash(HashAlgorithm::Blake2s, &[b"abc"]).as_bytes()
        == hex::<32>("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
}

fn blake2b_abc() -> bool {
    P::hash(HashAlgorithm::Blake2b, &[b"abc"]).as_bytes()
        == hex::<64>(
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
             7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
        )
}

// ------------------------------------------------------------------ AEAD

/// Seals `pt`, compares with `ct`/`tag`, opens, then checks that a flipped
/// ciphertext, tag and AAD bit are each rejected.
fn aead_kat<const N: usize>(
    alg: AeadAlgorithm,
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    pt: &[u8; N],
    ct: &[u8; N],
    tag: &[u8; 16],
) -> bool {
    let k = P::aead_key(alg, key);
    let mut buf = *pt;
    let sealed_ok = k.seal_in_place(nonce, aad, &mut buf) == *tag && buf == *ct;
    let opened_ok = k.open_in_place(nonce, aad, &mut buf, tag).is_ok() && buf == *pt;

    let mut bad_ct = *ct;
    bad_ct[N / 2] ^= 1;
    let ct_rejected = k.open_in_place(nonce, aad, &mut bad_ct, tag) == Err(AeadError);
    let mut bad_tag = *tag;
    bad_tag[15] ^= 0x80;
    let mut buf = *ct;
    let tag_rejected = k.open_in_place(nonce, aad, &mut buf, &bad_tag) == Err(AeadError);
    let mut bad_aad = [0u8; 32];
    bad_aad[..aad.len()].copy_from_slice(aad);
    bad_aad[0] ^= 1;
    let mut buf = *ct;
    let aad_rejected =
        k.open_in_place(nonce, &bad_aad[..aad.len()], &mut buf, tag) == Err(AeadError);
    sealed_ok && opened_ok && ct_rejected && tag_rejected && aad_rejected
}

fn chacha_rfc8439() -> bool {
    aead_kat(
        AeadAlgorithm::ChaCha20Poly1305,
        &hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
        &hex("070000004041424344454647"),
        &hex::<12>("50515253c0c1c2c3c4c5c6c7"),
        b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
        &hex::<114>(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6\
             3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36\
             92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc\
             3ff4def08e4b7a9de576d26586cec64b6116",
        ),
        &hex("1ae10b594f09e26a7e902ecbd0600691"),
    )
}

fn aes_gcm_case16() -> bool {
    aead_kat(
        AeadAlgorithm::Aes256Gcm,
        &hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
        &hex("cafebabefacedbaddecaf888"),
        &hex::<20>("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
        &hex::<60>(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        ),
        &hex::<60>(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        ),
        &hex("76fc6ece0f4e1768cddf8853bb2d551b"),
    )
}

// ------------------------------------------------------------ HMAC, HKDF

fn hmac_sha256() -> bool {
    hmac::hmac::<P>(
        HashAlgorithm::Sha256,
        b"Jefe",
        &[b"what do ya want ", b"for nothing?"],
    )
    .as_bytes()
        == hex::<32>("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
}

fn hmac_sha512() -> bool {
    hmac::hmac::<P>(
        HashAlgorithm::Sha512,
        b"Jefe",
        &[b"what do ya want for nothing?"],
    )
    .as_bytes()
        == hex::<64>(
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        )
}

fn hkdf_rfc5869() -> bool {
    // Test case 3: empty salt and info, so Noise's HKDF with an empty
    // chaining key yields T(1) || T(2) = the RFC's OKM (42 bytes).
    let okm = hex::<42>(
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
         9d201395faa4b61a96c8",
    );
    let (o1, o2) = hmac::hkdf2::<P>(HashAlgorithm::Sha256, &[], &[0x0b; 22]);
    let (t1, t2, _t3) = hmac::hkdf3::<P>(HashAlgorithm::Sha256, &[], &[0x0b; 22]);
    o1.as_bytes() == &okm[..32]
        && o2.as_bytes().get(..10) == Some(&okm[32..])
        && t1 == o1
        && t2 == o2
}

// ---------------------------------------------------------------- X25519

fn x25519_scalar_mult() -> bool {
    let k = KeyPair::from_secret_bytes(hex(
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
    ));
    let u = hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
    *k.dh(&u).as_bytes()
        == hex::<KEY_LEN>("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
}

fn x25519_alice_bob() -> bool {
    let alice = KeyPair::from_secret_bytes(hex(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ));
    let bob = KeyPair::from_secret_bytes(hex(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    ));
    let shared = hex::<KEY_LEN>("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    *alice.public()
        == hex::<KEY_LEN>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        && *bob.public()
            == hex::<KEY_LEN>("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        && *alice.dh(bob.public()).as_bytes() == shared
        && *bob.dh(alice.public()).as_bytes() == shared
}

fn x25519_low_order() -> bool {
    let k = KeyPair::from_secret_bytes([0x11; KEY_LEN]);
    let mut one = [0u8; KEY_LEN];
    one[0] = 1;
    k.dh(&[0; KEY_LEN]).is_zero() && k.dh(&one).is_zero() && !k.dh(k.public()).is_zero()
}

fn x25519_generate() -> bool {
    let mut rng = SeededRng::from_seed([42; 32]);
    let a = KeyPair::generate(&mut rng);
    let b = KeyPair::generate(&mut rng);
    a.public() != b.public() && a.dh(b.public()).as_bytes() == b.dh(a.public()).as_bytes()
}
