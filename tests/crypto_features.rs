//! The algorithm features (`aesgcm`, `sha256`, `sha512`, `blake2b`): what a
//! build without them refuses, and that what it keeps still speaks Noise.
//!
//! Runs in both configurations:
//!
//! * `cargo test --all-features --test crypto_features` (everything on);
//! * `cargo test --no-default-features --features rustcrypto-minimal --test
//!   crypto_features` (the firmware set: ChaCha20-Poly1305 and BLAKE2s only),
//!   as `scripts/embedded_interop.sh` runs it.
//!
//! Expected values: the feature names and hash lengths are typed from the
//! crate docs and the Noise spec (section 4: HASHLEN 32 for SHA256/BLAKE2s,
//! 64 for SHA512/BLAKE2b); the handshake is checked against snow, an
//! independent implementation.

use hyperport::crypto::x25519::KeyPair;
use hyperport::crypto::{DefaultProvider as P, MAX_BLOCK_LEN, MAX_HASH_LEN};
use hyperport::noise::{Builder, HandshakeState, NoiseParams, ParamsError};
use hyperport::rng::SeededRng;

/// Each optional algorithm: its protocol-name token, its feature, and
/// whether the feature is on in this build.
const OPTIONAL: [(&str, &str, bool); 4] = [
    ("AESGCM", "aesgcm", cfg!(feature = "aesgcm")),
    ("SHA256", "sha256", cfg!(feature = "sha256")),
    ("SHA512", "sha512", cfg!(feature = "sha512")),
    ("BLAKE2b", "blake2b", cfg!(feature = "blake2b")),
];

fn name_with(token: &str) -> String {
    if token == "AESGCM" {
        format!("Noise_XX_25519_{token}_BLAKE2s")
    } else {
        format!("Noise_XX_25519_ChaChaPoly_{token}")
    }
}

#[test]
fn optional_algorithms_parse_exactly_when_their_feature_is_on() {
    for (token, feature, on) in OPTIONAL {
        let name = name_with(token);
        let got = NoiseParams::parse(&name);
        if on {
            let p = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.name(), name);
        } else {
            let e = got.expect_err(&name);
            assert_eq!(e, ParamsError::NotCompiledIn { feature }, "{name}");
            let msg = e.to_string();
            assert!(msg.contains(&format!("`{feature}`")), "{msg}");
        }
    }
    // The always-present suite parses in every build; unknown names keep
    // their own errors.
    assert!(NoiseParams::parse("Noise_XX_25519_ChaChaPoly_BLAKE2s").is_ok());
    assert_eq!(
        NoiseParams::parse("Noise_XX_25519_Foo_BLAKE2s"),
        Err(ParamsError::UnsupportedCipher)
    );
    assert_eq!(
        NoiseParams::parse("Noise_XX_25519_ChaChaPoly_MD5"),
        Err(ParamsError::UnsupportedHash)
    );
}

#[test]
fn hash_buffers_shrink_without_64_byte_hashes() {
    let wide = cfg!(any(feature = "sha512", feature = "blake2b"));
    assert_eq!(MAX_HASH_LEN, if wide { 64 } else { 32 });
    assert_eq!(MAX_BLOCK_LEN, if wide { 128 } else { 64 });
}

/// The suite every build keeps, against snow: the same handshake hash, then
/// transport messages both ways.
#[test]
fn the_kept_suite_interoperates_with_snow() {
    let name = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
    let mut rng = SeededRng::from_u64(15);
    let ours_key = KeyPair::generate(&mut rng);
    let mut ours: HandshakeState<P> = Builder::from_name(name)
        .unwrap()
        .local_static(ours_key)
        .build_initiator(&mut rng)
        .unwrap();
    let snow_key = snow::Builder::new(name.parse().unwrap())
        .generate_keypair()
        .unwrap();
    let mut theirs = snow::Builder::new(name.parse().unwrap())
        .local_private_key(&snow_key.private)
        .unwrap()
        .build_responder()
        .unwrap();
    let (mut msg, mut payload) = ([0u8; 256], [0u8; 256]);
    let n = ours.write_message(b"1", &mut msg).unwrap();
    assert_eq!(theirs.read_message(&msg[..n], &mut payload).unwrap(), 1);
    let n = theirs.write_message(b"22", &mut msg).unwrap();
    assert_eq!(ours.read_message(&msg[..n], &mut payload).unwrap(), 2);
    let n = ours.write_message(b"333", &mut msg).unwrap();
    assert_eq!(theirs.read_message(&msg[..n], &mut payload).unwrap(), 3);
    assert!(ours.is_finished() && theirs.is_handshake_finished());
    assert_eq!(ours.handshake_hash(), theirs.get_handshake_hash());
    assert_eq!(ours.remote_static().unwrap()[..], snow_key.public[..]);

    let (mut send, mut recv) = ours.split().unwrap().into_cipher_states::<P>();
    let mut theirs = theirs.into_transport_mode().unwrap();
    for i in 0..10u8 {
        let text = [i; 40];
        let n = send.encrypt_with_ad(&[], &text, &mut msg).unwrap();
        assert_eq!(theirs.read_message(&msg[..n], &mut payload).unwrap(), 40);
        assert_eq!(payload[..40], text);
        let n = theirs.write_message(&text[..i as usize], &mut msg).unwrap();
        let got = recv.decrypt_with_ad(&[], &msg[..n], &mut payload).unwrap();
        assert_eq!(payload[..got], text[..i as usize]);
    }
}
