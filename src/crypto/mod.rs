//! Cryptographic primitives behind a small provider trait.
//!
//! The protocol machines are generic over a [`Provider`] that supplies
//! X25519, the AEAD ciphers and the hash functions; it is chosen at compile
//! time:
//!
//! | provider | feature | targets | X25519 | AEAD | SHA-2 | BLAKE2 |
//! |---|---|---|---|---|---|---|
//! | `Ring` | `ring` (default) | hosted (x86_64, aarch64, wasm32) | curve25519-dalek (Edwards form with AVX2, else x25519-dalek's ladder) | ring | ring | `blake2` crate |
//! | `RustCrypto` | `rustcrypto` | everywhere, Cortex-M included | x25519-dalek | RustCrypto | `sha2` crate | `blake2` crate |
//! | `AwsLc` | `aws-lc` | hosted (needs a C compiler) | AWS-LC | AWS-LC | AWS-LC | `blake2` crate |
//!
//! X25519 is a provider method ([`Provider::x25519`],
//! [`Provider::x25519_generate`], [`Provider::x25519_prepare`]) whose
//! default is x25519-dalek's Montgomery ladder, which `RustCrypto`
//! (firmware) keeps. ring cannot hold a static X25519 private key, so the
//! `Ring` provider stays with the dalek crates but overrides the DH: on
//! x86_64 with AVX2 it computes X25519 in Edwards form on
//! curve25519-dalek's AVX2 backend (about 1.5 times the ladder per DH, the
//! same bytes; see [`x25519`]). `AwsLc` overrides the DH and key generation
//! with AWS-LC's X25519 (static keys supported). Key pairs are provider-neutral
//! [`x25519::KeyPair`]s. BLAKE2s/BLAKE2b always come from the `blake2`
//! crate.
//!
//! `DefaultProvider` is `Ring` when the `ring` feature is on, otherwise
//! `AwsLc` when `aws-lc` is on, otherwise `RustCrypto` when `rustcrypto`
//! (or `rustcrypto-minimal`) is on.
//!
//! ## Algorithms compiled in
//!
//! ChaCha20-Poly1305 and BLAKE2s are always there. AES-256-GCM, SHA-256,
//! SHA-512 and BLAKE2b each have a feature (`aesgcm`, `sha256`, `sha512`,
//! `blake2b`; `all-algorithms` turns on all four, and `ring`, `aws-lc`
//! and `rustcrypto` imply it, so the hosted default has everything). Without
//! its feature an algorithm's enum variant ([`AeadAlgorithm`],
//! [`HashAlgorithm`]) does not exist, the provider has no code for it, and
//! [`NoiseParams::parse`](crate::noise::NoiseParams::parse) refuses names
//! that ask for it. This is what lets firmware built with
//! `--no-default-features --features rustcrypto-minimal` leave them out: a
//! protocol name is parsed at run time, so without the features every
//! algorithm stays reachable and the linker keeps it. With neither `sha512`
//! nor `blake2b`, [`MAX_HASH_LEN`] is 32 and [`MAX_BLOCK_LEN`] 64, which
//! shrinks every digest, chaining key and HMAC state.
//!
//! Key material owned by this module ([`x25519::KeyPair`],
//! [`x25519::SharedSecret`], [`Digest`] of keyed hashes) is zeroized on drop.

use core::fmt;

mod blake;
pub mod hmac;
#[cfg(feature = "mlkem")]
pub mod mlkem;
pub mod x25519;

#[cfg(feature = "ring")]
mod ring_provider;
#[cfg(feature = "ring")]
pub use ring_provider::Ring;

#[cfg(feature = "aws-lc")]
mod aws_lc_provider;
#[cfg(feature = "aws-lc")]
pub use aws_lc_provider::AwsLc;

#[cfg(feature = "rustcrypto-minimal")]
mod rustcrypto_provider;
#[cfg(feature = "rustcrypto-minimal")]
pub use rustcrypto_provider::RustCrypto;

/// The provider used when a machine is not told otherwise.
#[cfg(feature = "ring")]
pub type DefaultProvider = Ring;
/// The provider used when a machine is not told otherwise.
#[cfg(all(feature = "aws-lc", not(feature = "ring")))]
pub type DefaultProvider = AwsLc;
/// The provider used when a machine is not told otherwise.
#[cfg(all(
    feature = "rustcrypto-minimal",
    not(feature = "ring"),
    not(feature = "aws-lc")
))]
pub type DefaultProvider = RustCrypto;

/// Length of every AEAD key used here (ChaCha20-Poly1305 and AES-256-GCM).
pub const AEAD_KEY_LEN: usize = 32;
/// Length of an AEAD nonce.
pub const AEAD_NONCE_LEN: usize = 12;
/// Length of an AEAD authentication tag.
pub const AEAD_TAG_LEN: usize = 16;
/// Longest hash output supported: 64 (SHA-512, BLAKE2b), or 32 when
/// neither the `sha512` nor the `blake2b` feature is on.
pub const MAX_HASH_LEN: usize = if WIDE_HASHES { 64 } else { 32 };
/// Longest hash block supported: 128 (SHA-512, BLAKE2b), or 64 when
/// neither the `sha512` nor the `blake2b` feature is on.
pub const MAX_BLOCK_LEN: usize = if WIDE_HASHES { 128 } else { 64 };
/// Whether a 64-byte hash (SHA-512 or BLAKE2b) is compiled in.
const WIDE_HASHES: bool = cfg!(any(feature = "sha512", feature = "blake2b"));

/// An AEAD algorithm.
///
/// `#[non_exhaustive]`: `Aes256Gcm` exists only with the `aesgcm` feature
/// (see [the module docs](self)), and turning a feature on must not break a
/// `match` elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum AeadAlgorithm {
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
    /// AES-256 in Galois/Counter Mode (NIST SP 800-38D). Feature `aesgcm`.
    #[cfg(feature = "aesgcm")]
    Aes256Gcm,
}

/// A hash function.
///
/// `#[non_exhaustive]`: all but `Blake2s` exist only with their features
/// (see [the module docs](self)), and turning a feature on must not break a
/// `match` elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4). Feature `sha256`.
    #[cfg(feature = "sha256")]
    Sha256,
    /// SHA-512 (FIPS 180-4). Feature `sha512`.
    #[cfg(feature = "sha512")]
    Sha512,
    /// BLAKE2s with a 32-byte output (RFC 7693).
    Blake2s,
    /// BLAKE2b with a 64-byte output (RFC 7693). Feature `blake2b`.
    #[cfg(feature = "blake2b")]
    Blake2b,
}

impl HashAlgorithm {
    /// Output length in bytes (Noise's `HASHLEN`).
    pub const fn output_len(self) -> usize {
        match self {
            #[cfg(feature = "sha256")]
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Blake2s => 32,
            #[cfg(feature = "sha512")]
            HashAlgorithm::Sha512 => 64,
            #[cfg(feature = "blake2b")]
            HashAlgorithm::Blake2b => 64,
        }
    }

    /// Block length in bytes (Noise's `BLOCKLEN`, used by HMAC).
    pub const fn block_len(self) -> usize {
        match self {
            #[cfg(feature = "sha256")]
            HashAlgorithm::Sha256 => 64,
            HashAlgorithm::Blake2s => 64,
            #[cfg(feature = "sha512")]
            HashAlgorithm::Sha512 => 128,
            #[cfg(feature = "blake2b")]
            HashAlgorithm::Blake2b => 128,
        }
    }
}

/// A hash output of up to [`MAX_HASH_LEN`] bytes. Zeroized on drop, since it
/// often holds key material (HMAC outputs, chaining keys).
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct Digest {
    bytes: [u8; MAX_HASH_LEN],
    len: usize,
}

impl Digest {
    /// A digest holding `bytes` (at most [`MAX_HASH_LEN`]; longer input is cut).
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut d = Digest {
            bytes: [0; MAX_HASH_LEN],
            len: bytes.len().min(MAX_HASH_LEN),
        };
        if let (Some(dst), Some(src)) = (d.bytes.get_mut(..d.len), bytes.get(..d.len)) {
            dst.copy_from_slice(src);
        }
        d
    }

    /// The output bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print possible key material.
        write!(f, "Digest({} bytes)", self.len)
    }
}

/// Authentication failed: the ciphertext, tag, nonce or associated data was
/// not what the key sealed. Drop the message; nothing else is learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AeadError;

impl fmt::Display for AeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "AEAD authentication failed: message forged, corrupted or for another key; drop it",
        )
    }
}

impl core::error::Error for AeadError {}

/// A keyed AEAD cipher.
pub trait Aead {
    /// The algorithm this key is for.
    fn algorithm(&self) -> AeadAlgorithm;

    /// Encrypts `in_out` in place and returns the tag.
    fn seal_in_place(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; AEAD_TAG_LEN];

    /// Verifies `tag` and decrypts `in_out` in place.
    ///
    /// # Errors
    /// [`AeadError`] if authentication fails. The contents of `in_out` are
    /// then unspecified (never the plaintext of a forged message): callers
    /// decrypt into a scratch or output buffer, never into state they keep.
    fn open_in_place(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), AeadError>;
}

/// An incremental hash computation.
pub trait Hasher: Clone {
    /// The algorithm being computed.
    fn algorithm(&self) -> HashAlgorithm;
    /// Absorbs `data`.
    fn update(&mut self, data: &[u8]);
    /// Finishes and returns the digest.
    fn finish(self) -> Digest;
}

/// A crypto provider: a compile-time choice of X25519, AEAD and hash
/// implementations.
pub trait Provider {
    /// Short name used in benchmarks and logs ("ring", "rustcrypto", "aws-lc").
    const NAME: &'static str;
    /// A keyed AEAD cipher.
    type AeadKey: Aead;
    /// An incremental hasher.
    type Hasher: Hasher;

    /// Keys an AEAD cipher. Keying is done once per key, not per message.
    fn aead_key(alg: AeadAlgorithm, key: &[u8; AEAD_KEY_LEN]) -> Self::AeadKey;

    /// Starts a hash computation.
    fn hasher(alg: HashAlgorithm) -> Self::Hasher;

    /// `X25519(key, peer)` (RFC 7748): the shared secret with `peer`'s
    /// public key, all zeros for a low-order `peer` (a provider whose
    /// X25519 refuses such a key returns all zeros too, so the handshake's
    /// low-order check sees the same thing everywhere).
    ///
    /// Default: x25519-dalek ([`x25519::KeyPair::dh`]).
    fn x25519(key: &x25519::KeyPair, peer: &[u8; x25519::KEY_LEN]) -> x25519::SharedSecret {
        key.dh(peer)
    }

    /// A fresh ephemeral key pair: 32 bytes from `rng` as the private key,
    /// and its public key computed by this provider. Randomness is always
    /// injected (no provider draws its own).
    ///
    /// Default: x25519-dalek (no allocation).
    fn x25519_generate<R: rand_core::RngCore + rand_core::CryptoRng>(
        rng: &mut R,
    ) -> x25519::KeyPair {
        x25519::KeyPair::generate(rng)
    }

    /// The key pair in the form this provider computes with fastest (the
    /// same private and public key). The handshake builder calls it for the
    /// local static and a fixed ephemeral key; calling it once yourself on
    /// a static key used for many handshakes saves that work per handshake
    /// (with `AwsLc`: one import into AWS-LC, a fixed-base scalar
    /// multiplication; a prepared key passes through unchanged).
    ///
    /// Default: the key pair unchanged.
    fn x25519_prepare(key: x25519::KeyPair) -> x25519::KeyPair {
        key
    }

    /// ML-KEM-768 key generation from `seed = d || z` (FIPS 203
    /// `KeyGen_internal`, deterministic: the caller's RNG drew the seed).
    ///
    /// Default: libcrux-ml-kem ([`mlkem::KeyPair::from_seed`]); every
    /// provider of this crate keeps it (see [`mlkem`] for why AWS-LC's is
    /// not used).
    #[cfg(feature = "mlkem")]
    fn mlkem768_generate(seed: &[u8; mlkem::SEED_LEN]) -> mlkem::KeyPair {
        mlkem::KeyPair::from_seed(seed)
    }

    /// ML-KEM-768 encapsulation to `peer` with randomness `m` (FIPS 203
    /// `Encaps_internal`, deterministic).
    ///
    /// Default: libcrux-ml-kem ([`mlkem::PublicKey::encapsulate`]).
    #[cfg(feature = "mlkem")]
    fn mlkem768_encapsulate(
        peer: &mlkem::PublicKey,
        m: &[u8; mlkem::ENCAPSULATION_SEED_LEN],
    ) -> (mlkem::Ciphertext, mlkem::SharedSecret) {
        peer.encapsulate(m)
    }

    /// ML-KEM-768 decapsulation (implicit rejection: a forged ciphertext
    /// gives an unrelated secret, not an error).
    ///
    /// Default: libcrux-ml-kem ([`mlkem::KeyPair::decapsulate`]).
    #[cfg(feature = "mlkem")]
    fn mlkem768_decapsulate(key: &mlkem::KeyPair, ct: &mlkem::Ciphertext) -> mlkem::SharedSecret {
        key.decapsulate(ct)
    }

    /// Hashes the concatenation of `parts` in one call.
    fn hash(alg: HashAlgorithm, parts: &[&[u8]]) -> Digest {
        let mut h = Self::hasher(alg);
        for p in parts {
            h.update(p);
        }
        h.finish()
    }
}
