//! The `aws-lc` provider: X25519 (static keys included), AEADs and SHA-2
//! from aws-lc-rs (AWS-LC), BLAKE2 from the `blake2` crate.
//!
//! What is wiped, and by whom: AWS-LC frees every key object with
//! `OPENSSL_free`, which zeroizes the whole allocation first; aws-lc-rs
//! returns X25519 shared secrets in a `Zeroizing` buffer, and the copy kept
//! here is a zeroizing [`SharedSecret`]. AEAD keys live in aws-lc-rs's
//! `LessSafeKey` (an `EVP_AEAD_CTX` inside Rust memory), which aws-lc-rs
//! cleans up with `EVP_AEAD_CTX_cleanup` on drop; this crate's own copies of
//! raw key bytes are zeroized as with every provider.
//!
//! Allocation: AWS-LC allocates its key objects with `malloc` (C heap, one
//! per X25519 key and per peer key in a DH), and aws-lc-rs returns each DH
//! result in a `Vec`; a static key imported once is shared by its clones
//! (`Arc`). The transport (AEAD) path allocates nothing.

extern crate alloc;

use alloc::sync::Arc;

use super::blake::Blake2;
use super::x25519::{KEY_LEN, KeyPair, SharedSecret};
use super::{
    AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, Aead, AeadAlgorithm, AeadError, Digest,
    HashAlgorithm, Hasher, Provider,
};
use aws_lc_rs::aead::{self, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, X25519};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

/// Crypto provider backed by aws-lc-rs (AWS-LC): the fastest X25519 on
/// x86_64 and aarch64 (about 2.2 times x25519-dalek per DH on our machines)
/// with static keys, plus its AEADs and SHA-2. Hosted targets only (AWS-LC
/// is C and assembly built with the system C compiler).
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsLc;

/// An X25519 private key inside AWS-LC, shared by the clones of a
/// [`KeyPair`].
#[derive(Clone)]
pub(crate) struct AwsKey(Arc<PrivateKey>);

impl AwsKey {
    /// Imports `secret`; returns the key and the public key AWS-LC computes.
    pub(crate) fn import(secret: &[u8; KEY_LEN]) -> Option<(Self, [u8; KEY_LEN])> {
        let key = PrivateKey::from_private_key(&X25519, secret).ok()?;
        let public = key.compute_public_key().ok()?;
        let public: [u8; KEY_LEN] = public.as_ref().try_into().ok()?;
        Some((AwsKey(Arc::new(key)), public))
    }

    /// `X25519(self, peer)`; all zeros where AWS-LC refuses the peer key
    /// (it returns an error for the all-zero output of a low-order point).
    fn agree(&self, peer: &[u8; KEY_LEN]) -> SharedSecret {
        let peer = UnparsedPublicKey::new(&X25519, peer);
        let mut out = [0u8; KEY_LEN];
        let _ = agreement::agree(&self.0, peer, (), |secret| {
            if let Some(src) = secret.get(..KEY_LEN) {
                out.copy_from_slice(src);
            }
            Ok(())
        });
        let shared = SharedSecret::from_bytes(out);
        out.zeroize();
        shared
    }
}

/// A keyed AWS-LC AEAD cipher.
pub struct AwsLcAead {
    alg: AeadAlgorithm,
    key: LessSafeKey,
}

impl core::fmt::Debug for AwsLcAead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AwsLcAead({:?})", self.alg)
    }
}

impl Aead for AwsLcAead {
    fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }

    fn seal_in_place(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; AEAD_TAG_LEN] {
        let nonce = Nonce::assume_unique_for_key(*nonce);
        let mut out = [0u8; AEAD_TAG_LEN];
        // AWS-LC only fails here for inputs beyond the cipher's limits (far
        // over the 65535 bytes of a Noise message). The tag stays zero then,
        // which no receiver accepts.
        if let Ok(tag) = self
            .key
            .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), in_out)
        {
            out.copy_from_slice(tag.as_ref());
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
        let nonce = Nonce::assume_unique_for_key(*nonce);
        self.key
            .open_in_place_separate_tag(nonce, aead::Aad::from(aad), tag, in_out)
            .map(|_| ())
            .map_err(|_| AeadError)
    }
}

/// A running AWS-LC or BLAKE2 hash.
#[derive(Clone)]
pub struct AwsLcHasher(Inner);

#[derive(Clone)]
enum Inner {
    Sha(HashAlgorithm, aws_lc_rs::digest::Context),
    Blake(HashAlgorithm, Blake2),
}

impl Hasher for AwsLcHasher {
    fn algorithm(&self) -> HashAlgorithm {
        match &self.0 {
            Inner::Sha(a, _) | Inner::Blake(a, _) => *a,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Inner::Sha(_, c) => c.update(data),
            Inner::Blake(_, b) => b.update(data),
        }
    }

    fn finish(self) -> Digest {
        match self.0 {
            Inner::Sha(_, c) => Digest::from_slice(c.finish().as_ref()),
            Inner::Blake(_, b) => b.finish(),
        }
    }
}

impl Provider for AwsLc {
    const NAME: &'static str = "aws-lc";
    type AeadKey = AwsLcAead;
    type Hasher = AwsLcHasher;

    fn aead_key(alg: AeadAlgorithm, key: &[u8; AEAD_KEY_LEN]) -> AwsLcAead {
        let lc_alg = match alg {
            AeadAlgorithm::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
            AeadAlgorithm::Aes256Gcm => &aead::AES_256_GCM,
        };
        // Both algorithms take exactly AEAD_KEY_LEN (32) bytes; the only
        // error `UnboundKey::new` returns for them is a key-length mismatch,
        // which the type of `key` rules out.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(lc_alg, key).expect("32-byte key for a 32-byte-key AEAD");
        AwsLcAead {
            alg,
            key: LessSafeKey::new(unbound),
        }
    }

    fn hasher(alg: HashAlgorithm) -> AwsLcHasher {
        AwsLcHasher(match alg {
            HashAlgorithm::Sha256 => Inner::Sha(
                alg,
                aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
            ),
            HashAlgorithm::Sha512 => Inner::Sha(
                alg,
                aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA512),
            ),
            HashAlgorithm::Blake2s => Inner::Blake(alg, Blake2::s()),
            HashAlgorithm::Blake2b => Inner::Blake(alg, Blake2::b()),
        })
    }

    /// AWS-LC's X25519, with the key pair's imported key when it has one
    /// (made by [`AwsLc::x25519_generate`] or [`AwsLc::x25519_prepare`]);
    /// otherwise the key is imported for this one DH.
    fn x25519(key: &KeyPair, peer: &[u8; KEY_LEN]) -> SharedSecret {
        if let Some(k) = key.aws_key() {
            return k.agree(peer);
        }
        let mut secret = key.secret_bytes();
        let imported = AwsKey::import(&secret);
        secret.zeroize();
        match imported {
            Some((k, _)) => k.agree(peer),
            // Unreachable for 32 bytes; the result is still correct.
            None => key.dh(peer),
        }
    }

    /// 32 bytes from `rng`, imported into AWS-LC, public key from AWS-LC
    /// (one fixed-base scalar multiplication).
    fn x25519_generate<R: RngCore + CryptoRng>(rng: &mut R) -> KeyPair {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill_bytes(&mut bytes);
        let kp = KeyPair::aws_from_secret_bytes(&bytes);
        let kp = match kp {
            Some(kp) => kp,
            // Unreachable for 32 bytes; fall back to the portable key.
            None => KeyPair::from_secret_bytes(bytes),
        };
        bytes.zeroize();
        kp
    }

    /// Imports the key into AWS-LC once (the imported key is shared by the
    /// clones of the result); a key pair that already carries one is
    /// returned unchanged.
    fn x25519_prepare(key: KeyPair) -> KeyPair {
        if key.aws_key().is_some() {
            return key;
        }
        let mut secret = key.secret_bytes();
        let prepared = KeyPair::aws_from_secret_bytes(&secret);
        secret.zeroize();
        prepared.unwrap_or(key)
    }
}
