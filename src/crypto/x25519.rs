//! X25519 (RFC 7748) key pairs and Diffie-Hellman.
//!
//! A [`KeyPair`] is provider-neutral: it holds the private key (in an
//! x25519-dalek `StaticSecret`, zeroized on drop) and its public key, so the
//! same identity works with every [`Provider`](super::Provider). Which code
//! computes a Diffie-Hellman is the provider's choice
//! ([`Provider::x25519`](super::Provider::x25519)): the `Ring` and
//! `RustCrypto` providers use x25519-dalek ([`KeyPair::dh`]); the `AwsLc`
//! provider uses AWS-LC. [`KeyPair::generate`] and
//! [`KeyPair::from_secret_bytes`] use x25519-dalek and never allocate, with
//! every feature set. A provider may attach its own form of the key
//! ([`Provider::x25519_prepare`](super::Provider::x25519_prepare), done by
//! the handshake builder; do it once yourself for a static key used in many
//! handshakes): with `AwsLc`, the key imported into AWS-LC, shared by
//! clones.

use core::fmt;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of an X25519 public key, private key and shared secret.
pub const KEY_LEN: usize = 32;

/// An X25519 private key with its public key. The private key is zeroized on drop.
#[derive(Clone)]
pub struct KeyPair {
    secret: x25519_dalek::StaticSecret,
    public: [u8; KEY_LEN],
    /// The same private key inside AWS-LC (feature `aws-lc`), shared by
    /// clones. AWS-LC wipes it when the last clone drops (`OPENSSL_free`
    /// zeroizes every allocation before freeing it).
    #[cfg(feature = "aws-lc")]
    aws: Option<super::aws_lc_provider::AwsKey>,
}

impl KeyPair {
    /// Generates a fresh key pair from `rng` (32 random bytes as the
    /// private key).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill_bytes(&mut bytes);
        let kp = Self::from_secret_bytes(bytes);
        bytes.zeroize();
        kp
    }

    /// The key pair whose private key is `secret` (clamped as RFC 7748 says).
    /// Computes the public key once, with x25519-dalek.
    pub fn from_secret_bytes(secret: [u8; KEY_LEN]) -> Self {
        let secret = x25519_dalek::StaticSecret::from(secret);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        KeyPair {
            secret,
            public,
            #[cfg(feature = "aws-lc")]
            aws: None,
        }
    }

    /// The key pair imported into AWS-LC, with the public key AWS-LC
    /// computes; `None` only if AWS-LC refuses the import (never for 32
    /// bytes).
    #[cfg(feature = "aws-lc")]
    pub(crate) fn aws_from_secret_bytes(secret: &[u8; KEY_LEN]) -> Option<Self> {
        let (aws, public) = super::aws_lc_provider::AwsKey::import(secret)?;
        Some(KeyPair {
            secret: x25519_dalek::StaticSecret::from(*secret),
            public,
            aws: Some(aws),
        })
    }

    /// The key inside AWS-LC, if this key pair carries one.
    #[cfg(feature = "aws-lc")]
    pub(crate) fn aws_key(&self) -> Option<&super::aws_lc_provider::AwsKey> {
        self.aws.as_ref()
    }

    /// The public key.
    pub fn public(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The private key bytes (for persisting an identity). Handle with care.
    pub fn secret_bytes(&self) -> [u8; KEY_LEN] {
        self.secret.to_bytes()
    }

    /// `DH(self, peer)` with x25519-dalek: the shared secret with `peer`'s
    /// public key (what the `Ring` and `RustCrypto` providers compute; a
    /// handshake calls [`Provider::x25519`](super::Provider::x25519)).
    ///
    /// Low-order peer keys yield an all-zero secret; see
    /// [`SharedSecret::is_zero`] for callers that must reject them.
    pub fn dh(&self, peer: &[u8; KEY_LEN]) -> SharedSecret {
        let peer = x25519_dalek::PublicKey::from(*peer);
        SharedSecret(self.secret.diffie_hellman(&peer).to_bytes())
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The output of X25519; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; KEY_LEN]);

impl SharedSecret {
    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A secret holding `bytes`: for a [`Provider`](super::Provider) that
    /// computes X25519 itself (the output of `X25519(k, u)`, or all zeros
    /// where its X25519 refuses a low-order `u`).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SharedSecret(bytes)
    }

    /// A secret with the given bytes (unit tests that need a wrong value).
    #[cfg(test)]
    pub(crate) fn from_bytes_for_test(bytes: [u8; KEY_LEN]) -> Self {
        SharedSecret(bytes)
    }

    /// Whether the secret is all zeros (the peer sent a low-order point).
    /// Constant-time with respect to the secret's value.
    pub fn is_zero(&self) -> bool {
        self.0.iter().fold(0u8, |acc, b| acc | b) == 0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}
