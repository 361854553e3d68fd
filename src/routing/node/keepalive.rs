//! Receiving a keepalive: a neighbour's root heartbeat and the digest of
//! its chain, which refresh the view we hold of it (or ask for its chain
//! when the digest is not the one we hold).

use super::super::announce::{Keepalive, RootInfo};
use super::super::error::AnnounceError;
use super::receive::check;
use super::table::View;
use super::{ChainStore, Node, Table, Verifier};
use crate::time::Instant;

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    pub(super) fn handle_keepalive(
        &mut self,
        now: Instant,
        t: usize,
        idx: usize,
        k: &Keepalive,
    ) -> Result<(), AnnounceError> {
        if self.is_stale(t, &k.root) {
            return Err(AnnounceError::StaleRoot);
        }
        let Some(p) = self.peer_at(idx, t) else {
            return Err(AnnounceError::UnknownLink);
        };
        let view = p
            .info()
            .filter(|i| i.digest == k.digest && i.root.same_tree(&k.root))
            .map(|i| (i.last_epoch, i.coord.depth(), i.root.credential));
        let Some((last_epoch, depth, credential)) = view else {
            if self.irrelevant(t, idx, &k.root) {
                // A tree we would neither join nor forward in: liveness only.
                if let Some(p) = self.peer_mut(idx, t) {
                    p.last_heard = now;
                    p.view = View::None;
                }
                return Ok(());
            }
            return Err(AnnounceError::UnknownDigest);
        };
        // Its own grant, under this newer heartbeat, is past its lifetime:
        // it owes us a renewed one.
        let seq = self.known_seq(t, &k.root);
        if depth > 0 && self.expired(seq, last_epoch, depth) {
            return Err(AnnounceError::UnknownDigest);
        }
        check(
            self.verify_root(idx, t, &k.root),
            AnnounceError::BadSignature,
        )?;
        if let Some(i) = self.peer_mut(idx, t).and_then(|p| {
            p.last_heard = now;
            p.info_mut()
        }) {
            // A detached neighbour is no parent to take.
            i.offer = i.offer && !k.detached;
            if k.root.seq > i.root.seq {
                i.root = RootInfo {
                    credential,
                    ..k.root
                };
            }
        }
        if self.trees.get(t).is_some_and(|tr| tr.parent == Some(idx)) {
            if k.detached {
                // Our parent lost its own: we keep our position too, and
                // look for another parent.
                self.parent_gone(t);
            } else {
                self.refresh_root(now, t, &k.root);
            }
        }
        Ok(())
    }
}
