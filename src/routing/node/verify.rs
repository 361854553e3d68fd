//! Signature checks: the [`Verifier`] the driver passes, and the node's
//! cache of signatures it already verified.

use ed25519_dalek::{Signature, VerifyingKey};

use super::super::announce::{RootInfo, root_message};
use super::{ChainStore, Node};

/// Entries of the verified-signature cache (16 bytes each).
pub const VERIFY_CACHE_ENTRIES: usize = 512;

/// Checks an Ed25519 signature. The node calls it for every signature it
/// has not verified before (it keeps its own small cache in front).
///
/// [`Ed25519`] is the real check. A driver that runs many nodes in one
/// process (a simulator) may pass a memoizing wrapper shared by all nodes:
/// verification is a pure function of `(key, msg, sig)`, so memoizing it
/// changes no decision, only the simulation's cost.
pub trait Verifier {
    /// Whether `sig` is a valid strict Ed25519 signature of `msg` by `key`.
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool;
}

/// The Ed25519 verifier (ed25519-dalek `verify_strict`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519;

impl Verifier for Ed25519 {
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        VerifyingKey::from_bytes(key)
            .map(|k| k.verify_strict(msg, &Signature::from_bytes(sig)).is_ok())
            .unwrap_or(false)
    }
}

impl<V: Verifier + ?Sized> Verifier for &mut V {
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        (**self).verify(key, msg, sig)
    }
}

pub(super) fn cache_tag(signer: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> [u8; 16] {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/sigcache/v1");
    h.update(signer);
    h.update(sig);
    h.update(msg);
    let out = h.finalize();
    let mut t = [0u8; 16];
    t.copy_from_slice(out.get(..16).unwrap_or(&[0u8; 16]));
    t
}

/// Cache tag of one verified hop: its prefix tag (which commits to the
/// signer, the position and the child) and its signature.
pub(super) fn hop_cache_tag(tag: &[u8; 32], sig: &[u8; 64]) -> [u8; 16] {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/hopcache/v2");
    h.update(tag);
    h.update(sig);
    let out = h.finalize();
    let mut t = [0u8; 16];
    t.copy_from_slice(out.get(..16).unwrap_or(&[0u8; 16]));
    t
}

impl<V: Verifier, S: ChainStore> Node<'_, V, S> {
    pub(super) fn cache_slot(tag: &[u8; 16]) -> usize {
        usize::from(u16::from_le_bytes([tag[0], tag[1]])) % VERIFY_CACHE_ENTRIES
    }

    pub(super) fn cached(&self, tag: &[u8; 16]) -> bool {
        self.vcache.get(Self::cache_slot(tag)) == Some(tag)
    }

    pub(super) fn remember(&mut self, tag: [u8; 16]) {
        if let Some(e) = self.vcache.get_mut(Self::cache_slot(&tag)) {
            *e = tag;
        }
    }

    pub(super) fn verify(&mut self, signer: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        let tag = cache_tag(signer, msg, sig);
        if self.cached(&tag) {
            self.stats.signature_cache_hits = self.stats.signature_cache_hits.saturating_add(1);
            return true;
        }
        self.stats.signatures_verified = self.stats.signatures_verified.saturating_add(1);
        let ok = self.verifier.verify(signer, msg, sig);
        if ok {
            self.remember(tag);
        }
        ok
    }

    pub(super) fn verify_root(&mut self, root: &RootInfo) -> bool {
        if *root == self.root && !self.is_root() {
            // Byte-identical to the heartbeat we verified when we adopted it.
            self.stats.signature_cache_hits = self.stats.signature_cache_hits.saturating_add(1);
            return true;
        }
        let m = root_message(&root.key, root.rank, root.seq);
        self.verify(&root.key, &m, &root.sig)
    }
}
