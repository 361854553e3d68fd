//! X25519 (RFC 7748) key pairs and Diffie-Hellman, from x25519-dalek.
//!
//! Used by every provider: ring has no static X25519 private key.

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
}

impl KeyPair {
    /// Generates a fresh key pair from `rng`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill_bytes(&mut bytes);
        let kp = Self::from_secret_bytes(bytes);
        bytes.zeroize();
        kp
    }

    /// The key pair whose private key is `secret` (clamped as RFC 7748 says).
    /// Computes the public key once.
    pub fn from_secret_bytes(secret: [u8; KEY_LEN]) -> Self {
        let secret = x25519_dalek::StaticSecret::from(secret);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        KeyPair { secret, public }
    }

    /// The public key.
    pub fn public(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The private key bytes (for persisting an identity). Handle with care.
    pub fn secret_bytes(&self) -> [u8; KEY_LEN] {
        self.secret.to_bytes()
    }

    /// `DH(self, peer)`: the shared secret with `peer`'s public key.
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
