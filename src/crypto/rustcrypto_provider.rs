//! The pure-Rust provider: RustCrypto AEADs and SHA-2, BLAKE2 from `blake2`.
//! Each algorithm behind its feature (`aesgcm`, `sha256`, `sha512`,
//! `blake2b`) has its code here only when that feature is on.

use super::blake::Blake2;
use super::{
    AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, Aead, AeadAlgorithm, AeadError, Digest,
    HashAlgorithm, Hasher, Provider,
};
#[cfg(feature = "aesgcm")]
use aes_gcm::Aes256Gcm;
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
#[cfg(any(feature = "sha256", feature = "sha512"))]
use sha2::Digest as _;

/// Crypto provider built from the RustCrypto crates; needs no C compiler and
/// no allocator, and builds for every target including Cortex-M. Key
/// schedules are zeroized on drop.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

/// A keyed RustCrypto AEAD cipher.
#[derive(Clone)]
pub struct RustCryptoAead(AeadInner);

// The AES-256 key schedule is inherently ~1 KiB and there is no allocator
// to box it in; the size is paid once per key, not per message.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum AeadInner {
    ChaCha(ChaCha20Poly1305),
    #[cfg(feature = "aesgcm")]
    Aes(Aes256Gcm),
}

impl core::fmt::Debug for RustCryptoAead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RustCryptoAead({:?})", self.algorithm())
    }
}

impl Aead for RustCryptoAead {
    fn algorithm(&self) -> AeadAlgorithm {
        match self.0 {
            AeadInner::ChaCha(_) => AeadAlgorithm::ChaCha20Poly1305,
            #[cfg(feature = "aesgcm")]
            AeadInner::Aes(_) => AeadAlgorithm::Aes256Gcm,
        }
    }

    fn seal_in_place(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; AEAD_TAG_LEN] {
        let nonce = nonce.into();
        // Encryption only fails for plaintexts beyond the cipher's block
        // counter (~256 GiB); callers of this crate pass at most 65535 bytes.
        // The tag stays zero then, which no receiver accepts.
        let tag = match &self.0 {
            AeadInner::ChaCha(c) => c.encrypt_in_place_detached(nonce, aad, in_out),
            #[cfg(feature = "aesgcm")]
            AeadInner::Aes(c) => c.encrypt_in_place_detached(nonce, aad, in_out),
        };
        let mut out = [0u8; AEAD_TAG_LEN];
        if let Ok(tag) = tag {
            out.copy_from_slice(&tag);
        }
        out
    }

    fn open_in_place(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), AeadError> {
        let nonce = nonce.into();
        let tag = tag.into();
        match &self.0 {
            AeadInner::ChaCha(c) => c.decrypt_in_place_detached(nonce, aad, in_out, tag),
            #[cfg(feature = "aesgcm")]
            AeadInner::Aes(c) => c.decrypt_in_place_detached(nonce, aad, in_out, tag),
        }
        .map_err(|_| AeadError)
    }
}

/// A running RustCrypto hash.
#[derive(Clone)]
pub struct RustCryptoHasher(HashInner);

#[derive(Clone)]
enum HashInner {
    #[cfg(feature = "sha256")]
    Sha256(sha2::Sha256),
    #[cfg(feature = "sha512")]
    Sha512(sha2::Sha512),
    Blake(HashAlgorithm, Blake2),
}

impl Hasher for RustCryptoHasher {
    fn algorithm(&self) -> HashAlgorithm {
        match &self.0 {
            #[cfg(feature = "sha256")]
            HashInner::Sha256(_) => HashAlgorithm::Sha256,
            #[cfg(feature = "sha512")]
            HashInner::Sha512(_) => HashAlgorithm::Sha512,
            HashInner::Blake(a, _) => *a,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            #[cfg(feature = "sha256")]
            HashInner::Sha256(h) => h.update(data),
            #[cfg(feature = "sha512")]
            HashInner::Sha512(h) => h.update(data),
            HashInner::Blake(_, b) => b.update(data),
        }
    }

    fn finish(self) -> Digest {
        match self.0 {
            #[cfg(feature = "sha256")]
            HashInner::Sha256(h) => Digest::from_slice(&h.finalize()),
            #[cfg(feature = "sha512")]
            HashInner::Sha512(h) => Digest::from_slice(&h.finalize()),
            HashInner::Blake(_, b) => b.finish(),
        }
    }
}

impl Provider for RustCrypto {
    const NAME: &'static str = "rustcrypto";
    type AeadKey = RustCryptoAead;
    type Hasher = RustCryptoHasher;

    fn aead_key(alg: AeadAlgorithm, key: &[u8; AEAD_KEY_LEN]) -> RustCryptoAead {
        RustCryptoAead(match alg {
            AeadAlgorithm::ChaCha20Poly1305 => AeadInner::ChaCha(ChaCha20Poly1305::new(key.into())),
            #[cfg(feature = "aesgcm")]
            AeadAlgorithm::Aes256Gcm => AeadInner::Aes(Aes256Gcm::new(key.into())),
        })
    }

    fn hasher(alg: HashAlgorithm) -> RustCryptoHasher {
        RustCryptoHasher(match alg {
            #[cfg(feature = "sha256")]
            HashAlgorithm::Sha256 => HashInner::Sha256(sha2::Sha256::new()),
            #[cfg(feature = "sha512")]
            HashAlgorithm::Sha512 => HashInner::Sha512(sha2::Sha512::new()),
            HashAlgorithm::Blake2s => HashInner::Blake(alg, Blake2::s()),
            #[cfg(feature = "blake2b")]
            HashAlgorithm::Blake2b => HashInner::Blake(alg, Blake2::b()),
        })
    }
}
