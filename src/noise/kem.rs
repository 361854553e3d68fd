//! The ML-KEM keys and encapsulation randomness a handshake holds for the
//! post-quantum patterns (feature `mlkem`).

use crate::crypto::mlkem::{self, ENCAPSULATION_SEED_LEN};
use zeroize::Zeroize;

use super::pattern::MAX_MESSAGES;

/// Most encapsulations (`ekem`, `skem` tokens) one side writes in a
/// handshake: at most one of each per message, in at most half the
/// messages (the side's own). clatter's patterns need two.
pub const MAX_ENCAPSULATIONS: usize = MAX_MESSAGES;

/// One side's ML-KEM state: its own key pairs, the peer's public keys, and
/// the randomness of the encapsulations it will write (drawn when the
/// handshake is built, so writing needs no RNG). About 7.3 KiB inline; the
/// key pairs and the randomness are zeroized on drop.
#[derive(Default)]
pub(crate) struct KemKeys {
    /// Local static key pair.
    pub(crate) s: Option<mlkem::KeyPair>,
    /// Local ephemeral key pair (dropped once the peer's `ekem` is read).
    pub(crate) e: Option<mlkem::KeyPair>,
    /// Peer's static public key.
    pub(crate) rs: Option<mlkem::PublicKey>,
    /// Peer's ephemeral public key (dropped once our `ekem` is written).
    pub(crate) re: Option<mlkem::PublicKey>,
    /// Randomness of each encapsulation this side writes, in order.
    seeds: [[u8; ENCAPSULATION_SEED_LEN]; MAX_ENCAPSULATIONS],
    /// How many seeds were drawn / used so far.
    drawn: u8,
    used: u8,
}

impl KemKeys {
    /// Draws the randomness of `count` encapsulations from `rng`.
    pub(crate) fn draw_seeds(&mut self, rng: &mut impl rand_core::RngCore, count: usize) {
        for seed in self.seeds.iter_mut().take(count) {
            rng.fill_bytes(seed);
        }
        // count <= MAX_ENCAPSULATIONS = 4 (take above).
        self.drawn = u8::try_from(count.min(MAX_ENCAPSULATIONS)).unwrap_or(0);
    }

    /// The randomness of the `k`-th encapsulation from now (0 = next).
    pub(crate) fn seed(&self, k: usize) -> Option<&[u8; ENCAPSULATION_SEED_LEN]> {
        let i = usize::from(self.used).checked_add(k)?;
        if i >= usize::from(self.drawn) {
            return None;
        }
        self.seeds.get(i)
    }

    /// Marks `k` seeds as used and wipes them.
    pub(crate) fn consume(&mut self, k: usize) {
        for _ in 0..k {
            if let Some(s) = self.seeds.get_mut(usize::from(self.used)) {
                s.zeroize();
            }
            self.used = self.used.saturating_add(1);
        }
    }
}

impl Drop for KemKeys {
    fn drop(&mut self) {
        // The key pairs wipe themselves.
        self.seeds.zeroize();
    }
}
