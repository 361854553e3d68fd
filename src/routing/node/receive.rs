//! Receiving announcements: parsing, the full-announcement request flag,
//! keepalives, and the segment-by-segment verification of a neighbour's
//! chain (which then feeds parent choice, [`super::parent`]).

use super::super::announce::{
    Announcement, Full, Keepalive, SEGMENT_HOPS, digest_of_tag, grant_message, next_tag, root_tag,
};
use super::super::coords::Coord;
use super::super::error::AnnounceError;
use super::super::greedy::LinkId;
#[cfg(doc)]
use super::Stats;
use super::table::{Partial, PeerInfo, View};
use super::verify::hop_cache_tag;
use super::{ChainStore, Node, Verifier};
use crate::time::Instant;

/// Whether a key repeats among `upper` (the key above the segment: the
/// root's, or the previous segment's last) and the segment's hops (sort, then
/// compare neighbours: O(k log k), k ≤ [`SEGMENT_HOPS`] + 1). Repeats across
/// segments of a deeper chain are not looked for: only a hostile ancestor
/// can write one, inside the subtree it controls anyway; our own key is
/// checked along the whole chain.
fn has_repeated_key(upper: &[u8; 32], f: &Full<'_>) -> bool {
    let mut keys = [[0u8; 32]; SEGMENT_HOPS + 1];
    let mut n = 0usize;
    for k in core::iter::once(*upper).chain(f.hops().map(|h| h.key)) {
        if let Some(slot) = keys.get_mut(n) {
            *slot = k;
            n = n.saturating_add(1);
        }
    }
    let keys = keys.get_mut(..n).unwrap_or(&mut []);
    keys.sort_unstable();
    keys.windows(2).any(|w| w.first() == w.get(1))
}

impl<V: Verifier, S: ChainStore> Node<'_, V, S> {
    /// Processes one announcement (a keepalive or one segment of a full
    /// announcement) received on `link`. Bounded work: at most
    /// [`SEGMENT_HOPS`] + 2 signature checks, [`SEGMENT_HOPS`] + 1 hashes and
    /// one scan of the table.
    ///
    /// # Errors
    /// [`AnnounceError`] (also counted in [`Stats`]); a refused announcement
    /// from a neighbour stops that neighbour from being used until it sends a
    /// valid one.
    pub fn handle_announcement(
        &mut self,
        now: Instant,
        link: LinkId,
        bytes: &[u8],
    ) -> Result<(), AnnounceError> {
        let now = self.clock.observe(now);
        let Some(idx) = self.find_link(link) else {
            self.stats.rejected_unknown_link = self.stats.rejected_unknown_link.saturating_add(1);
            return Err(AnnounceError::UnknownLink);
        };
        let parsed = Announcement::parse(bytes);
        // A request for our full announcement is honoured whatever happens
        // to the rest of the message: two neighbours that both lost each
        // other's chain would otherwise ignore each other's requests forever.
        // Requests are served at once at most once per announcement
        // interval (later ones wait for the next interval), so a neighbour
        // flooding 128-byte requests cannot make us send our whole chain
        // (one 25 KB segment per 255 hops of depth) for each.
        let want = match &parsed {
            Ok(Announcement::Full(f)) => f.want_full,
            Ok(Announcement::Keepalive(k)) => k.want_full,
            Err(_) => false,
        };
        let interval = self.config.announce_interval;
        if want {
            if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
                n.they_want_full = true;
                if n.last_full
                    .is_none_or(|t| now >= t.saturating_add(interval))
                {
                    n.due = true;
                }
            }
        }
        let res = match parsed {
            Ok(Announcement::Full(f)) => self.handle_full(now, idx, &f),
            Ok(Announcement::Keepalive(k)) => self.handle_keepalive(now, idx, &k),
            Err(e) => Err(e),
        };
        match res {
            Ok(()) => {
                self.stats.announcements_in = self.stats.announcements_in.saturating_add(1);
            }
            Err(e) => {
                let s = &mut self.stats;
                let c = match e {
                    AnnounceError::Malformed | AnnounceError::TooDeep => &mut s.rejected_malformed,
                    AnnounceError::UnknownLink => &mut s.rejected_unknown_link,
                    AnnounceError::WrongSender | AnnounceError::GrantNotForUs => {
                        &mut s.rejected_identity
                    }
                    AnnounceError::BadSignature => &mut s.rejected_signature,
                    AnnounceError::LoopingChain => &mut s.rejected_loop,
                    AnnounceError::StaleRoot => &mut s.rejected_stale_root,
                    AnnounceError::UnknownDigest => &mut s.unknown_digest,
                    AnnounceError::OutOfOrder => &mut s.out_of_order,
                };
                *c = c.saturating_add(1);
                // The sender's previous state can no longer be trusted as
                // current: stop using it, ask for a full announcement.
                if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
                    n.view = View::None;
                    n.we_want_full = true;
                    n.due = true;
                }
                if self.parent == Some(idx) {
                    self.become_root(now);
                }
            }
        }
        res
    }

    pub(super) fn handle_keepalive(
        &mut self,
        now: Instant,
        idx: usize,
        k: &Keepalive,
    ) -> Result<(), AnnounceError> {
        if self.is_stale(&k.root) {
            return Err(AnnounceError::StaleRoot);
        }
        let Some(n) = self.table.get(idx).and_then(|e| e.n.as_ref()) else {
            return Err(AnnounceError::UnknownLink);
        };
        let matches = n
            .info()
            .is_some_and(|i| i.digest == k.digest && i.root.same_tree(&k.root));
        if !matches && self.irrelevant(idx, &k.root) {
            // A tree we would neither join nor forward in: liveness only.
            if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
                n.last_heard = now;
                n.view = View::None;
            }
            return Ok(());
        }
        if !matches {
            return Err(AnnounceError::UnknownDigest);
        }
        if !self.verify_root(&k.root) {
            return Err(AnnounceError::BadSignature);
        }
        if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
            n.last_heard = now;

            if let Some(i) = n.info_mut() {
                if k.root.seq > i.root.seq {
                    i.root = k.root;
                }
            }
        }
        if self.parent == Some(idx) {
            self.refresh_root(now, &k.root);
        }
        Ok(())
    }

    pub(super) fn handle_full(
        &mut self,
        now: Instant,
        idx: usize,
        f: &Full<'_>,
    ) -> Result<(), AnnounceError> {
        let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) else {
            return Err(AnnounceError::UnknownLink);
        };
        let peer = n.key;
        let pending = n.take_rx();
        if f.is_last() && f.hops().last().map_or(f.root.key, |h| h.key) != peer {
            return Err(AnnounceError::WrongSender);
        }
        if self.is_stale(&f.root) {
            return Err(AnnounceError::StaleRoot);
        }
        if let Some(g) = &f.grant {
            if g.key != self.public {
                return Err(AnnounceError::GrantNotForUs);
            }
        }
        let mut p = if f.start == 0 {
            if self.irrelevant(idx, &f.root) {
                // Lazy verification: a chain under a root worse than ours is
                // useless (we would not join it and `route` only forwards
                // under our own root), so its signatures are not checked and
                // it is not stored. If our root changes we ask for it again.
                if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
                    n.last_heard = now;
                    n.view = View::None;
                    n.we_want_full = false;
                }
                return Ok(());
            }
            if !self.verify_root(&f.root) {
                return Err(AnnounceError::BadSignature);
            }
            let staged = self.wants_stage(now, idx, &f.root, f.depth());
            if staged {
                self.stage.clear();
                // The lease runs from when this neighbour took the area;
                // its later chains, finished or not, do not renew it.
                if self.stage_owner != Some(idx) {
                    self.stage_since = now;
                }
                self.stage_owner = Some(idx);
            }
            Partial {
                root: f.root,
                total: f.total,
                next: 0,
                tag: root_tag(&f.root.key, f.root.rank),
                upper: f.root.key,
                coord: Coord::root(),
                contains_me: f.root.key == self.public,
                same_as_ours: f.root.same_tree(&self.root),
                staged,
            }
        } else {
            match pending {
                Some(p) if p.next == f.start && p.total == f.total && p.root == f.root => p,
                _ => return Err(AnnounceError::OutOfOrder),
            }
        };
        if has_repeated_key(&p.upper, f) {
            return Err(AnnounceError::LoopingChain);
        }
        // Walk the segment: coordinate, our own key, signatures (skipped for
        // hops equal to our own chain and for hops in the cache), staging.
        for hop in f.hops() {
            let k = usize::from(p.next);
            p.coord.push(hop.slot).map_err(|_| AnnounceError::TooDeep)?;
            if hop.key == self.public {
                p.contains_me = true;
            }
            p.same_as_ours = p.same_as_ours && self.chain.hops().get(k) == Some(&hop);
            let tag = next_tag(&p.tag, &hop.key, hop.slot);
            if p.same_as_ours {
                self.stats.signature_cache_hits = self.stats.signature_cache_hits.saturating_add(1);
            } else {
                let ctag = hop_cache_tag(&tag, &hop.sig);
                if self.cached(&ctag) {
                    self.stats.signature_cache_hits =
                        self.stats.signature_cache_hits.saturating_add(1);
                } else {
                    let m = grant_message(&p.tag, hop.slot, &hop.key);
                    self.stats.signatures_verified =
                        self.stats.signatures_verified.saturating_add(1);
                    if !self.verifier.verify(&p.upper, &m, &hop.sig) {
                        return Err(AnnounceError::BadSignature);
                    }
                    self.remember(ctag);
                }
            }
            if p.staged && !(self.stage_owner == Some(idx) && self.stage.push(hop)) {
                p.staged = false;
            }
            p.tag = tag;
            p.upper = hop.key;
            p.next = p.next.saturating_add(1);
        }
        if !f.is_last() {
            if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
                n.last_heard = now;
                n.view = View::Receiving(p);
            }
            return Ok(());
        }
        let digest = digest_of_tag(&p.tag);
        let coord = p.coord;
        // The grant offered to us.
        let mut offer = false;
        if let Some(g) = &f.grant {
            if !p.contains_me {
                coord.child(g.slot).map_err(|_| AnnounceError::TooDeep)?;
                let m = grant_message(&p.tag, g.slot, &self.public);
                if !self.verify(&peer, &m, &g.sig) {
                    return Err(AnnounceError::BadSignature);
                }
                offer = f.root.beats(&self.self_root());
            }
        }
        let staged = p.staged
            && self.stage_owner == Some(idx)
            && self.stage.hops().len() == usize::from(p.total);
        if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
            n.last_heard = now;
            n.we_want_full = false;
            n.view = View::Ready(PeerInfo {
                root: f.root,
                coord: coord.clone(),
                digest,
                offer,
            });
        }
        let depth = f.depth().saturating_add(1);
        let grant = if offer { f.grant } else { None };
        if self.parent == Some(idx) {
            if !offer || !self.feasible(&f.root, depth) {
                // The parent's chain is gone, or it moved deeper under the
                // same heartbeat (possibly through our own stale subtree):
                // let go and re-join from a feasible offer.
                self.become_root(now);
            } else if f.root.same_tree(&self.root)
                && self.chain.hops().len() == depth
                && p.same_as_ours
                && grant.as_ref() == self.chain.hops().last()
            {
                self.refresh_root(now, &f.root);
            } else if let (true, Some(g)) = (staged, grant) {
                let worse = self.root.beats(&f.root);
                self.adopt(now, idx, &f.root, &coord, &p.tag, g);
                if worse {
                    for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
                        n.we_want_full = true;
                        n.due = true;
                    }
                }
            } else {
                // The parent's new chain did not fit our store.
                self.become_root(now);
            }
        } else if let Some(g) = grant {
            if self.better_parts(&f.root, &coord) && self.feasible(&f.root, depth) {
                if staged {
                    self.adopt(now, idx, &f.root, &coord, &p.tag, g);
                } else if self.stage_fits(f.depth()) {
                    // The staging area was busy with another candidate's
                    // chain: ask again.
                    if let Some(n) = self.table.get_mut(idx).and_then(|e| e.n.as_mut()) {
                        n.we_want_full = true;
                        n.due = true;
                    }
                }
            }
        }
        Ok(())
    }
}
