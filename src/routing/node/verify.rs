//! Signature checks: the [`Verifier`] the driver passes, the node's cache
//! of signatures it already verified, and each neighbour's verification
//! budget.
//!
//! Every Ed25519 verification that a neighbour's announcement causes is
//! paid from that neighbour's tokens (all trees together): a bucket that
//! gains [`Config::verify_budget`] tokens per announcement interval and
//! holds at most that plus the depth of the deepest chain we can store and
//! its 3 other signatures (the burst: a quiet honest neighbour can hand us
//! a whole chain we could adopt at once). Cache hits and hops equal to our
//! own chain are free. When the tokens run out the announcement is refused
//! as [`AnnounceError::OverBudget`]: nothing changes but the progress of a
//! chain arriving in segments, and the neighbour is asked again after the
//! next interval, from the hop where verification stopped. A neighbour
//! costs us at most `burst + verify_budget × intervals` verifications over
//! any stretch of intervals.

use ed25519_dalek::{Signature, VerifyingKey};

use super::super::announce::{RootInfo, rank_message, root_message};
use super::super::config::MIN_VERIFY_BUDGET;
#[cfg(doc)]
use super::super::{AnnounceError, Config};
use super::{ChainStore, Node, Table};

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

/// The outcome of one signature check on behalf of a neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Check {
    Valid,
    Invalid,
    /// The neighbour's budget is spent: not checked.
    Budget,
}

pub(super) fn cache_tag(signer: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> [u8; 16] {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/sigcache/v2");
    h.update(signer);
    h.update(sig);
    h.update(msg);
    let out: [u8; 32] = h.finalize().into();
    let mut t = [0u8; 16];
    for (d, s) in t.iter_mut().zip(out) {
        *d = s;
    }
    t
}

/// Cache tag of one verified hop: its prefix tag (which commits to the
/// tree, the signer, the position and the child), its epoch and its
/// signature: the whole signed message.
pub(super) fn hop_cache_tag(tag: &[u8; 32], epoch: u64, sig: &[u8; 64]) -> [u8; 16] {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/hopcache/v3");
    h.update(tag);
    h.update(epoch.to_be_bytes());
    h.update(sig);
    let out: [u8; 32] = h.finalize().into();
    let mut t = [0u8; 16];
    for (d, s) in t.iter_mut().zip(out) {
        *d = s;
    }
    t
}

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    /// Tokens a neighbour gains per interval.
    pub(super) fn budget(&self) -> u16 {
        self.config.verify_budget.max(MIN_VERIFY_BUDGET)
    }

    /// Most tokens a neighbour holds: the budget plus a whole chain we
    /// could store (its hops, the heartbeat, the credential, the grant).
    pub(super) fn burst(&self) -> u32 {
        let cap = self.stage.capacity().min(super::super::coords::MAX_DEPTH);
        u32::from(self.budget())
            .saturating_add(u32::try_from(cap).unwrap_or(u32::MAX))
            .saturating_add(3)
    }

    fn cache_slot(tag: &[u8; 16]) -> usize {
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

    pub(super) fn hit(&mut self) {
        self.stats.signature_cache_hits = self.stats.signature_cache_hits.saturating_add(1);
    }

    /// One real verification paid by neighbour `idx` (`Budget` when its
    /// tokens are spent); `ctag` is remembered on success.
    pub(super) fn verify_paid(
        &mut self,
        idx: usize,
        ctag: [u8; 16],
        signer: &[u8; 32],
        msg: &[u8],
        sig: &[u8; 64],
    ) -> Check {
        if self.cached(&ctag) {
            self.hit();
            return Check::Valid;
        }
        let Some(n) = self.table.as_mut().get_mut(idx).and_then(|e| e.n.as_mut()) else {
            return Check::Invalid;
        };
        let Some(left) = n.tokens.checked_sub(1) else {
            return Check::Budget;
        };
        n.tokens = left;
        self.stats.signatures_verified = self.stats.signatures_verified.saturating_add(1);
        if self.verifier.verify(signer, msg, sig) {
            self.remember(ctag);
            Check::Valid
        } else {
            Check::Invalid
        }
    }

    /// A signature over `msg` by `signer`, paid by neighbour `idx`.
    pub(super) fn verify(
        &mut self,
        idx: usize,
        signer: &[u8; 32],
        msg: &[u8],
        sig: &[u8; 64],
    ) -> Check {
        let tag = cache_tag(signer, msg, sig);
        self.verify_paid(idx, tag, signer, msg, sig)
    }

    /// The root heartbeat of tree `t` (its signature only; the credential is
    /// [`Node::verify_credential`]).
    pub(super) fn verify_root(&mut self, idx: usize, t: usize, root: &RootInfo) -> Check {
        if let Some(tr) = self.trees.get(t) {
            let ours = &tr.root;
            if tr.joined
                && !tr.is_own_root(&self.public)
                && ours.key == root.key
                && ours.rank == root.rank
                && ours.seq == root.seq
                && ours.spread == root.spread
                && ours.sig == root.sig
            {
                // Byte-identical to the heartbeat we verified when we took it.
                self.hit();
                return Check::Valid;
            }
        }
        let tree = u8::try_from(t).unwrap_or(u8::MAX);
        let m = root_message(tree, &root.key, root.rank, root.seq, root.spread);
        self.verify(idx, &root.key, &m, &root.sig)
    }

    /// The root's rank credential: rank 0 needs none; a higher rank needs
    /// the configured authority's signature.
    pub(super) fn verify_credential(&mut self, idx: usize, root: &RootInfo) -> Check {
        if root.rank == 0 {
            return Check::Valid;
        }
        let Some(authority) = self.config.authority else {
            return Check::Invalid;
        };
        let m = rank_message(&root.key, root.rank);
        self.verify(idx, &authority, &m, &root.credential)
    }
}
