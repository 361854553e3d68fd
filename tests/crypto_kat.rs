//! Known-answer tests for every crypto primitive, run against every provider
//! (ring and RustCrypto always; AWS-LC with the `aws-lc` feature).
//!
//! The vectors are hand-typed from the RFCs / NIST / the GCM spec into
//! `vectors/crypto/*.json` (each with its source) and were checked there by an
//! independent implementation (`vectors/crypto/verify.py`). Run with
//! `cargo test --all-features --test crypto_kat` (ring and RustCrypto must
//! be enabled; `aws-lc` adds the third provider).
#![cfg(all(feature = "ring", feature = "rustcrypto"))]

#[cfg(feature = "aws-lc")]
use hyperport::crypto::AwsLc;
use hyperport::crypto::x25519::{KEY_LEN, KeyPair, SharedSecret};
use hyperport::crypto::{
    AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, Aead, AeadAlgorithm, AeadError, Digest,
    HashAlgorithm, Hasher, Provider, Ring, RustCrypto, hmac,
};
use serde::Deserialize;
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop};

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors/crypto")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    unhex(s)
        .try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("want {N} bytes, got {}", v.len()))
}

fn hash_alg(name: &str) -> HashAlgorithm {
    match name {
        "Sha256" => HashAlgorithm::Sha256,
        "Sha512" => HashAlgorithm::Sha512,
        "Blake2s" => HashAlgorithm::Blake2s,
        "Blake2b" => HashAlgorithm::Blake2b,
        other => panic!("unknown hash {other}"),
    }
}

fn aead_alg(name: &str) -> AeadAlgorithm {
    match name {
        "ChaCha20Poly1305" => AeadAlgorithm::ChaCha20Poly1305,
        "Aes256Gcm" => AeadAlgorithm::Aes256Gcm,
        other => panic!("unknown AEAD {other}"),
    }
}

// ---------------------------------------------------------------- hashes

#[derive(Deserialize)]
struct HashFile {
    vectors: Vec<HashVector>,
}

#[derive(Deserialize)]
struct HashVector {
    source: String,
    alg: String,
    message: String,
    #[serde(default)]
    repeat: Option<usize>,
    digest: String,
}

fn check_hashes<P: Provider>() -> usize {
    let file: HashFile = load("hash.json");
    let mut n = 0;
    for v in &file.vectors {
        let alg = hash_alg(&v.alg);
        let unit = unhex(&v.message);
        let repeat = v.repeat.unwrap_or(1);
        let want = unhex(&v.digest);
        assert_eq!(want.len(), alg.output_len(), "{}", v.source);

        // Streaming, one `unit` per update (1,000,000 updates for "a" x 10^6).
        let mut h = P::hasher(alg);
        assert_eq!(h.algorithm(), alg);
        for _ in 0..repeat {
            h.update(&unit);
        }
        assert_eq!(h.finish().as_bytes(), &want[..], "{} {}", P::NAME, v.source);

        // One shot over the whole message, and split at every 7th byte.
        let whole = unit.repeat(repeat);
        assert_eq!(
            P::hash(alg, &[&whole]).as_bytes(),
            &want[..],
            "{} one-shot {}",
            P::NAME,
            v.source
        );
        let parts: Vec<&[u8]> = whole.chunks(7).collect();
        assert_eq!(
            P::hash(alg, &parts).as_bytes(),
            &want[..],
            "{} chunked {}",
            P::NAME,
            v.source
        );

        // A clone continues independently of its original.
        if !whole.is_empty() {
            let mut a = P::hasher(alg);
            a.update(&whole[..1]);
            let mut b = a.clone();
            a.update(&whole[1..]);
            b.update(b"x");
            assert_eq!(a.finish().as_bytes(), &want[..], "{} clone", v.source);
            assert_ne!(b.finish().as_bytes(), &want[..], "{} clone", v.source);
        }
        n += 1;
    }
    n
}

#[test]
fn hash_vectors_ring() {
    let n = check_hashes::<Ring>();
    println!("ring: {n} hash vectors checked");
    assert_eq!(n, 12);
}

#[test]
fn hash_vectors_rustcrypto() {
    let n = check_hashes::<RustCrypto>();
    println!("rustcrypto: {n} hash vectors checked");
    assert_eq!(n, 12);
}

#[cfg(feature = "aws-lc")]
#[test]
fn hash_vectors_aws_lc() {
    let n = check_hashes::<AwsLc>();
    println!("aws-lc: {n} hash vectors checked");
    assert_eq!(n, 12);
}

// ---------------------------------------------------------------- HMAC

#[derive(Deserialize)]
struct HmacFile {
    vectors: Vec<HmacVector>,
}

#[derive(Deserialize)]
struct HmacVector {
    source: String,
    alg: String,
    key: String,
    data: String,
    mac: String,
    #[serde(default)]
    truncate: Option<usize>,
}

fn check_hmac<P: Provider>() -> usize {
    let file: HmacFile = load("hmac.json");
    let mut n = 0;
    for v in &file.vectors {
        let alg = hash_alg(&v.alg);
        let key = unhex(&v.key);
        let data = unhex(&v.data);
        let want = unhex(&v.mac);
        let got = hmac::hmac::<P>(alg, &key, &[&data]);
        assert_eq!(got.as_bytes().len(), alg.output_len());
        let got = &got.as_bytes()[..v.truncate.unwrap_or(alg.output_len())];
        assert_eq!(got, &want[..], "{} {}", P::NAME, v.source);
        // The message given in several parts is the same message.
        let (a, b) = data.split_at(data.len() / 3);
        let split = hmac::hmac::<P>(alg, &key, &[a, &[], b]);
        assert_eq!(
            &split.as_bytes()[..want.len()],
            &want[..],
            "{} split {}",
            P::NAME,
            v.source
        );
        n += 1;
    }
    n
}

#[test]
fn hmac_vectors_ring() {
    let n = check_hmac::<Ring>();
    println!("ring: {n} HMAC vectors checked");
    assert_eq!(n, 22);
}

#[test]
fn hmac_vectors_rustcrypto() {
    let n = check_hmac::<RustCrypto>();
    println!("rustcrypto: {n} HMAC vectors checked");
    assert_eq!(n, 22);
}

#[cfg(feature = "aws-lc")]
#[test]
fn hmac_vectors_aws_lc() {
    let n = check_hmac::<AwsLc>();
    println!("aws-lc: {n} HMAC vectors checked");
    assert_eq!(n, 22);
}

// ---------------------------------------------------------------- HKDF

#[derive(Deserialize)]
struct HkdfFile {
    rfc5869: Vec<RfcHkdf>,
    noise: Vec<NoiseHkdf>,
}

#[derive(Deserialize)]
struct RfcHkdf {
    source: String,
    alg: String,
    ikm: String,
    salt: String,
    okm: String,
}

#[derive(Deserialize)]
struct NoiseHkdf {
    source: String,
    alg: String,
    chaining_key: String,
    ikm: String,
    output1: String,
    output2: String,
    output3: String,
}

fn check_hkdf<P: Provider>() -> usize {
    let file: HkdfFile = load("hkdf.json");
    let mut n = 0;
    for v in &file.rfc5869 {
        let alg = hash_alg(&v.alg);
        let okm = unhex(&v.okm);
        let (o1, o2) = hmac::hkdf2::<P>(alg, &unhex(&v.salt), &unhex(&v.ikm));
        let mut got = o1.as_bytes().to_vec();
        got.extend_from_slice(o2.as_bytes());
        assert_eq!(&got[..okm.len()], &okm[..], "{} {}", P::NAME, v.source);
        n += 1;
    }
    for v in &file.noise {
        let alg = hash_alg(&v.alg);
        let (ck, ikm) = (unhex(&v.chaining_key), unhex(&v.ikm));
        let want = [unhex(&v.output1), unhex(&v.output2), unhex(&v.output3)];
        let (a1, a2) = hmac::hkdf2::<P>(alg, &ck, &ikm);
        let (b1, b2, b3) = hmac::hkdf3::<P>(alg, &ck, &ikm);
        for (got, want) in [(&a1, &want[0]), (&a2, &want[1])] {
            assert_eq!(got.as_bytes(), &want[..], "{} hkdf2 {}", P::NAME, v.source);
        }
        for (got, want) in [(&b1, &want[0]), (&b2, &want[1]), (&b3, &want[2])] {
            assert_eq!(got.as_bytes(), &want[..], "{} hkdf3 {}", P::NAME, v.source);
        }
        n += 1;
    }
    n
}

#[test]
fn hkdf_vectors_ring() {
    let n = check_hkdf::<Ring>();
    println!("ring: {n} HKDF vectors checked");
    assert_eq!(n, 5);
}

#[test]
fn hkdf_vectors_rustcrypto() {
    let n = check_hkdf::<RustCrypto>();
    println!("rustcrypto: {n} HKDF vectors checked");
    assert_eq!(n, 5);
}

#[cfg(feature = "aws-lc")]
#[test]
fn hkdf_vectors_aws_lc() {
    let n = check_hkdf::<AwsLc>();
    println!("aws-lc: {n} HKDF vectors checked");
    assert_eq!(n, 5);
}

// ---------------------------------------------------------------- AEAD

#[derive(Deserialize)]
struct AeadFile {
    vectors: Vec<AeadVector>,
}

#[derive(Deserialize)]
struct AeadVector {
    source: String,
    alg: String,
    key: String,
    nonce: String,
    aad: String,
    plaintext: String,
    ciphertext: String,
    tag: String,
}

fn check_aead<P: Provider>() -> usize {
    let file: AeadFile = load("aead.json");
    let mut n = 0;
    for v in &file.vectors {
        let alg = aead_alg(&v.alg);
        let key: [u8; AEAD_KEY_LEN] = arr(&v.key);
        let nonce: [u8; AEAD_NONCE_LEN] = arr(&v.nonce);
        let tag: [u8; AEAD_TAG_LEN] = arr(&v.tag);
        let aad = unhex(&v.aad);
        let pt = unhex(&v.plaintext);
        let ct = unhex(&v.ciphertext);
        let what = format!("{} {}", P::NAME, v.source);
        let k = P::aead_key(alg, &key);
        assert_eq!(k.algorithm(), alg);

        // Seal gives the published ciphertext and tag.
        let mut buf = pt.clone();
        let got_tag = k.seal_in_place(&nonce, &aad, &mut buf);
        assert_eq!(buf, ct, "{what}: ciphertext");
        assert_eq!(got_tag, tag, "{what}: tag");

        // Open of the published ciphertext gives the plaintext.
        let mut buf = ct.clone();
        assert_eq!(k.open_in_place(&nonce, &aad, &mut buf, &tag), Ok(()));
        assert_eq!(buf, pt, "{what}: plaintext");

        // Every tampering is rejected.
        let reject = |nonce: &[u8; AEAD_NONCE_LEN],
                      aad: &[u8],
                      ct: &[u8],
                      tag: &[u8; AEAD_TAG_LEN],
                      why: &str| {
            let mut buf = ct.to_vec();
            assert_eq!(
                k.open_in_place(nonce, aad, &mut buf, tag),
                Err(AeadError),
                "{what}: {why} accepted"
            );
        };
        for i in [0, ct.len() / 2, ct.len().saturating_sub(1)] {
            if let Some(b) = ct.get(i) {
                let mut bad = ct.clone();
                bad[i] = b ^ 0x01;
                reject(&nonce, &aad, &bad, &tag, "flipped ciphertext bit");
            }
        }
        if !ct.is_empty() {
            reject(
                &nonce,
                &aad,
                &ct[..ct.len() - 1],
                &tag,
                "truncated ciphertext",
            );
        }
        let mut longer = ct.clone();
        longer.push(0);
        reject(&nonce, &aad, &longer, &tag, "extended ciphertext");
        for i in [0, AEAD_TAG_LEN - 1] {
            let mut bad = tag;
            bad[i] ^= 0x80;
            reject(&nonce, &aad, &ct, &bad, "flipped tag bit");
        }
        reject(&nonce, &aad, &ct, &[0; AEAD_TAG_LEN], "zero tag");
        if let Some(first) = aad.first() {
            let mut bad = aad.clone();
            bad[0] = first ^ 0x01;
            reject(&nonce, &bad, &ct, &tag, "flipped aad bit");
            reject(&nonce, &aad[1..], &ct, &tag, "shortened aad");
        }
        let mut more_aad = aad.clone();
        more_aad.push(0);
        reject(&nonce, &more_aad, &ct, &tag, "extended aad");
        let mut bad_nonce = nonce;
        bad_nonce[AEAD_NONCE_LEN - 1] ^= 0x01;
        reject(&bad_nonce, &aad, &ct, &tag, "other nonce");
        let mut other_key = key;
        other_key[0] ^= 0x01;
        let mut buf = ct.clone();
        assert_eq!(
            P::aead_key(alg, &other_key).open_in_place(&nonce, &aad, &mut buf, &tag),
            Err(AeadError),
            "{what}: other key accepted"
        );
        n += 1;
    }
    n
}

#[test]
fn aead_vectors_ring() {
    let n = check_aead::<Ring>();
    println!("ring: {n} AEAD vectors checked (with tampering)");
    assert_eq!(n, 6);
}

#[test]
fn aead_vectors_rustcrypto() {
    let n = check_aead::<RustCrypto>();
    println!("rustcrypto: {n} AEAD vectors checked (with tampering)");
    assert_eq!(n, 6);
}

#[cfg(feature = "aws-lc")]
#[test]
fn aead_vectors_aws_lc() {
    let n = check_aead::<AwsLc>();
    println!("aws-lc: {n} AEAD vectors checked (with tampering)");
    assert_eq!(n, 6);
}

/// The providers agree with each other on inputs no vector covers
/// (lengths around the block sizes), in both directions.
#[test]
fn providers_agree() {
    let mut n = 0;
    for alg in [AeadAlgorithm::ChaCha20Poly1305, AeadAlgorithm::Aes256Gcm] {
        let key = [0x42; AEAD_KEY_LEN];
        let (r, c) = (Ring::aead_key(alg, &key), RustCrypto::aead_key(alg, &key));
        for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1000] {
            let pt: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let nonce = [len as u8; AEAD_NONCE_LEN];
            let aad = &pt[..len / 2];
            let (mut a, mut b) = (pt.clone(), pt.clone());
            let ta = r.seal_in_place(&nonce, aad, &mut a);
            let tb = c.seal_in_place(&nonce, aad, &mut b);
            assert_eq!((&a, ta), (&b, tb), "{alg:?} len {len}");
            assert_eq!(c.open_in_place(&nonce, aad, &mut a, &ta), Ok(()));
            assert_eq!(r.open_in_place(&nonce, aad, &mut b, &tb), Ok(()));
            assert_eq!((&a, &b), (&pt, &pt));
            #[cfg(feature = "aws-lc")]
            {
                let l = AwsLc::aead_key(alg, &key);
                let mut x = pt.clone();
                let tx = l.seal_in_place(&nonce, aad, &mut x);
                assert_eq!(
                    (&x, tx),
                    (&b_sealed(&r, &nonce, aad, &pt), ta),
                    "aws-lc {alg:?} {len}"
                );
                assert_eq!(l.open_in_place(&nonce, aad, &mut x, &tx), Ok(()));
                assert_eq!(x, pt);
            }
            n += 1;
        }
    }
    for alg in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha512,
        HashAlgorithm::Blake2s,
        HashAlgorithm::Blake2b,
    ] {
        for len in [0usize, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 300] {
            let m: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(
                Ring::hash(alg, &[&m]).as_bytes(),
                RustCrypto::hash(alg, &[&m]).as_bytes(),
                "{alg:?} len {len}"
            );
            #[cfg(feature = "aws-lc")]
            assert_eq!(
                Ring::hash(alg, &[&m]).as_bytes(),
                AwsLc::hash(alg, &[&m]).as_bytes(),
                "aws-lc {alg:?} len {len}"
            );
            n += 1;
        }
    }
    println!("{n} cross-provider comparisons");
}

#[cfg(feature = "aws-lc")]
fn b_sealed<A: Aead>(key: &A, nonce: &[u8; AEAD_NONCE_LEN], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let mut v = pt.to_vec();
    let _ = key.seal_in_place(nonce, aad, &mut v);
    v
}

// ---------------------------------------------------------------- X25519

#[derive(Deserialize)]
struct X25519File {
    scalar_mult: Vec<ScalarMult>,
    iterated: Vec<Iterated>,
    dh: Vec<Dh>,
    low_order: Vec<LowOrder>,
}

#[derive(Deserialize)]
struct ScalarMult {
    source: String,
    scalar: String,
    u: String,
    output: String,
}

#[derive(Deserialize)]
struct Iterated {
    source: String,
    iterations: usize,
    output: String,
}

#[derive(Deserialize)]
struct Dh {
    source: String,
    alice_private: String,
    alice_public: String,
    bob_private: String,
    bob_public: String,
    shared: String,
}

#[derive(Deserialize)]
struct LowOrder {
    source: String,
    u: String,
}

/// `X25519(k, u)` through provider `P`, with `k` as a key pair made by
/// `KeyPair::from_secret_bytes`, as one made by `P`'s own generator fed the
/// same bytes, and as one prepared by `P` (all three must agree).
fn x25519<P: Provider>(k: [u8; KEY_LEN], u: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
    let a = *P::x25519(&KeyPair::from_secret_bytes(k), u).as_bytes();
    let b = *P::x25519(&P::x25519_generate(&mut Fixed(k)), u).as_bytes();
    let c = *P::x25519(&P::x25519_prepare(KeyPair::from_secret_bytes(k)), u).as_bytes();
    assert_eq!(a, b, "{}: generated key disagrees", P::NAME);
    assert_eq!(a, c, "{}: prepared key disagrees", P::NAME);
    a
}

/// An "RNG" that hands out one fixed 32-byte key (to feed known private
/// keys through `Provider::x25519_generate`).
struct Fixed([u8; KEY_LEN]);
impl rand_core::RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        unimplemented!()
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.copy_from_slice(&self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for Fixed {}

#[test]
fn x25519_vectors_ring() {
    check_x25519::<Ring>();
}

#[test]
fn x25519_vectors_rustcrypto() {
    check_x25519::<RustCrypto>();
}

#[cfg(feature = "aws-lc")]
#[test]
fn x25519_vectors_aws_lc() {
    check_x25519::<AwsLc>();
}

fn check_x25519<P: Provider>() {
    let file: X25519File = load("x25519.json");
    let mut n = 0;
    for v in &file.scalar_mult {
        assert_eq!(
            x25519::<P>(arr(&v.scalar), &arr(&v.u)),
            arr::<KEY_LEN>(&v.output),
            "{}",
            v.source
        );
        n += 1;
    }
    for v in &file.iterated {
        let mut k = [0u8; KEY_LEN];
        k[0] = 9;
        let mut u = k;
        for _ in 0..v.iterations {
            let next = x25519::<P>(k, &u);
            u = k;
            k = next;
        }
        assert_eq!(k, arr::<KEY_LEN>(&v.output), "{}", v.source);
        n += 1;
    }
    for v in &file.dh {
        let alice = KeyPair::from_secret_bytes(arr(&v.alice_private));
        let bob = KeyPair::from_secret_bytes(arr(&v.bob_private));
        assert_eq!(
            alice.public(),
            &arr::<KEY_LEN>(&v.alice_public),
            "{}",
            v.source
        );
        assert_eq!(bob.public(), &arr::<KEY_LEN>(&v.bob_public), "{}", v.source);
        // The private key round-trips (clamping happens inside the scalar mult).
        assert_eq!(alice.secret_bytes(), arr::<KEY_LEN>(&v.alice_private));
        let ab = P::x25519(&alice, bob.public());
        let ba = P::x25519(&bob, alice.public());
        let g = P::x25519_generate(&mut Fixed(arr(&v.alice_private)));
        assert_eq!(
            g.public(),
            alice.public(),
            "{}: generated public key",
            P::NAME
        );
        assert_eq!(ab.as_bytes(), &arr::<KEY_LEN>(&v.shared), "{}", v.source);
        assert_eq!(ba.as_bytes(), &arr::<KEY_LEN>(&v.shared), "{}", v.source);
        assert!(!ab.is_zero());
        n += 1;
    }
    for v in &file.low_order {
        let u: [u8; KEY_LEN] = arr(&v.u);
        for secret in [[0x11; KEY_LEN], arr(&file.dh[0].alice_private)] {
            let s = P::x25519(&KeyPair::from_secret_bytes(secret), &u);
            assert!(s.is_zero(), "{}: not all-zero", v.source);
            assert_eq!(s.as_bytes(), &[0; KEY_LEN]);
        }
        n += 1;
    }
    println!("{}: {n} X25519 vectors checked", P::NAME);
    assert_eq!(n, 9);
}

#[test]
fn x25519_generate_agrees() {
    let mut rng = hyperport::rng::SeededRng::from_seed([7; 32]);
    let a = KeyPair::generate(&mut rng);
    let b = KeyPair::generate(&mut rng);
    assert_ne!(a.public(), b.public());
    assert_eq!(a.dh(b.public()).as_bytes(), b.dh(a.public()).as_bytes());
    // Same seed, same key: generation is a pure function of the injected RNG.
    let mut again = hyperport::rng::SeededRng::from_seed([7; 32]);
    assert_eq!(KeyPair::generate(&mut again).public(), a.public());
}

// ---------------------------------------------------------------- zeroize

fn zeroize_on_drop<T: ZeroizeOnDrop>() {}

#[test]
fn secrets_zeroize() {
    // Compile-time: both types clear themselves on drop.
    zeroize_on_drop::<Digest>();
    zeroize_on_drop::<SharedSecret>();

    let mut d = hmac::hmac::<RustCrypto>(HashAlgorithm::Sha512, b"key", &[b"msg"]);
    assert_ne!(d, Digest::from_slice(&[]));
    d.zeroize();
    // Equality compares the whole backing array and the length, so this says
    // every byte is zero, not only that the visible length became 0.
    assert_eq!(d, Digest::from_slice(&[]));
    assert!(d.as_bytes().is_empty());

    let alice = KeyPair::from_secret_bytes([0x11; KEY_LEN]);
    let bob = KeyPair::from_secret_bytes([0x22; KEY_LEN]);
    let mut s = alice.dh(bob.public());
    assert!(!s.is_zero());
    s.zeroize();
    assert!(s.is_zero());
    assert_eq!(s.as_bytes(), &[0; KEY_LEN]);
}

/// The transport keys a handshake's `split()` returns (issue #18): both
/// `CipherKey` and the `SplitKeys` holding two of them clear themselves on
/// drop, and zeroizing a key leaves every byte zero.
#[test]
fn split_keys_zeroize() {
    use hyperport::noise::cipher::{CipherKey, SplitKeys};
    zeroize_on_drop::<CipherKey>();
    zeroize_on_drop::<SplitKeys>();

    let mut k = CipherKey::new([0x5a; AEAD_KEY_LEN]);
    assert_eq!(k.as_bytes(), &[0x5a; AEAD_KEY_LEN]);
    k.zeroize();
    assert_eq!(k.as_bytes(), &[0; AEAD_KEY_LEN]);

    let mut keys = SplitKeys::new(
        [1; AEAD_KEY_LEN],
        CipherKey::new([2; AEAD_KEY_LEN]),
        AeadAlgorithm::ChaCha20Poly1305,
        Digest::from_slice(&[3; 32]),
        true,
    );
    keys.zeroize();
    assert_eq!(keys.initiator_to_responder().as_bytes(), &[0; AEAD_KEY_LEN]);
    assert_eq!(keys.responder_to_initiator().as_bytes(), &[0; AEAD_KEY_LEN]);
    assert_eq!(keys.handshake_hash(), &Digest::from_slice(&[]));
}
