//! Parent choice, per tree: which neighbour's chain to stage, what a
//! verified chain means for us (follow our parent, renew our grants in
//! place, switch to a better parent), whether an offer beats our position
//! (hysteresis, breadth-first order), re-checking stored offers, and
//! adopting a chain.

use super::super::announce::{Full, Hop, RootInfo, next_tag};
use super::super::coords::{Coord, MAX_DEPTH};
use super::table::{Partial, Peer, PeerInfo};
use super::{ChainStore, Node, Table, Verifier};
use crate::time::Instant;

/// Where the hops of a verified chain are: in the message (a chain of one
/// segment), in the staging area (a chain of several), or nowhere (a
/// renewed last hop checked against the neighbour's stored view).
pub(super) enum Source<'f, 'a> {
    Message(&'f Full<'a>),
    Stage,
    Unavailable,
}

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    /// Whether to copy the chain of tree `t` starting to arrive in several
    /// segments from entry `idx` into the staging area: it could become our
    /// chain (our parent's, a better root's, or one no deeper than ours
    /// under our root), it fits, and the area is not busy with another
    /// candidate's unfinished chain (our parent's takes it anyway, and
    /// nobody takes it from our parent's). A candidate holds the area for at
    /// most one announcement interval while others wait, however often it
    /// restarts its chain, so a neighbour that starts chains and never
    /// finishes them cannot keep us from adopting another's. One area
    /// serves every tree.
    pub(super) fn wants_stage(
        &mut self,
        now: Instant,
        t: usize,
        idx: usize,
        root: &RootInfo,
        total: usize,
    ) -> bool {
        let public = self.public;
        let Some(tr) = self.trees.get(t) else {
            return false;
        };
        let ours = tr.depth();
        let candidate = tr.parent == Some(idx)
            || self.beats_ours(t, root)
            || (tr.joined && root.same_tree(&tr.root) && !tr.is_own_root(&public) && total < ours);
        if !candidate || !self.stage_fits(total) {
            return false;
        }
        let is_parent =
            |tt: usize, i: usize| self.trees.get(tt).is_some_and(|x| x.parent == Some(i));
        match self.stage_owner {
            None => true,
            Some(o) if o == (t, idx) || is_parent(t, idx) => true,
            Some((ot, oi)) => {
                let parent = is_parent(ot, oi);
                let lease = self
                    .stage_since
                    .saturating_add(self.config.announce_interval);
                let busy = self
                    .table
                    .as_mut()
                    .get(oi)
                    .and_then(|e| e.n.as_ref())
                    .and_then(|n| n.peer(ot))
                    .and_then(Peer::rx)
                    .is_some_and(|p| p.staged);
                !busy || (!parent && now >= lease)
            }
        }
    }

    /// Whether the staging area holds a `total`-hop chain plus the grant to
    /// us (and the result stays within [`MAX_DEPTH`]).
    pub(super) fn stage_fits(&self, total: usize) -> bool {
        total < self.stage.capacity().min(MAX_DEPTH)
    }

    /// Whether our chain store of tree `t` holds a `total`-hop chain plus
    /// the grant to us.
    fn chain_fits(&self, t: usize, total: usize) -> bool {
        self.trees
            .get(t)
            .is_some_and(|tr| total < tr.chain.capacity().min(MAX_DEPTH))
    }

    /// Whether the hops of the chain `p` verified from `idx` are at hand.
    fn available(&self, t: usize, idx: usize, p: &Partial, source: &Source<'_, '_>) -> bool {
        let total = usize::from(p.total);
        match source {
            Source::Message(_) => self.chain_fits(t, total),
            Source::Stage => {
                p.staged
                    && self.stage_owner == Some((t, idx))
                    && self.stage.hops().len() == total
                    && self.stage_fits(total)
            }
            Source::Unavailable => false,
        }
    }

    /// A verified chain of tree `t` from entry `idx`: `parent` is its
    /// coordinate, `grant` the grant it offers us (if we may take it).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn consider(
        &mut self,
        now: Instant,
        t: usize,
        idx: usize,
        p: &Partial,
        grant: Option<Hop>,
        parent: &Coord,
        source: Source<'_, '_>,
    ) {
        let root = p.root;
        let depth = usize::from(p.total).saturating_add(1);
        let Some(tr) = self.trees.get(t) else {
            return;
        };
        let same_tree = tr.joined && root.same_tree(&tr.root);
        let same_depth = tr.depth() == depth;
        let last = tr.chain.hops().last().copied();
        if tr.parent == Some(idx) {
            let Some(g) = grant.filter(|_| self.feasible(t, &root, depth)) else {
                // The parent's chain is gone (or it detached), or it moved
                // deeper under the same heartbeat (possibly through our own
                // stale subtree): let go and re-join from a feasible offer.
                self.parent_gone(t);
                return;
            };
            if same_tree
                && same_depth
                && p.same_keys
                && last.is_some_and(|l| l.key == g.key && l.slot == g.slot)
            {
                // Our position, unchanged (the hops above ours may carry
                // other signatures: we keep ours); our own grant may have
                // been renewed.
                if Some(g) != last && !self.renew_own(t, g) && self.available(t, idx, p, &source) {
                    self.adopt(now, t, idx, &root, parent, &p.tag, g, source);
                    return;
                }
                self.refresh_root(now, t, &root);
            } else if self.available(t, idx, p, &source) {
                self.adopt(now, t, idx, &root, parent, &p.tag, g, source);
            } else {
                // The parent's new chain did not fit our store.
                self.parent_gone(t);
            }
        } else if let Some(g) = grant
            && self.better_parts(t, &root, parent)
            && self.may_join(t, &root, depth)
        {
            if self.available(t, idx, p, &source) {
                self.adopt(now, t, idx, &root, parent, &p.tag, g, source);
            } else if self.stage_fits(usize::from(p.total)) {
                // The staging area was busy with another candidate's
                // chain: ask again.
                if let Some(x) = self.peer_mut(idx, t) {
                    x.we_want = Some(0);
                    x.due = true;
                }
            }
        }
    }

    /// Whether we may take a position at `depth` under `root` in tree `t`
    /// from a neighbour that offers it (so is not detached itself): the
    /// feasibility condition, except that a detached node re-joins its own
    /// root at any depth through an attached neighbour (whose chain does
    /// not contain us: no loop), at once rather than after the next
    /// heartbeat. Detachment travels down a cut-off subtree, so a detached
    /// node never joins it; if the root itself is gone every node ends up
    /// detached and nothing is offered until the root timeout.
    pub(super) fn may_join(&self, t: usize, root: &RootInfo, depth: usize) -> bool {
        self.feasible(t, root, depth)
            || self
                .trees
                .get(t)
                .is_some_and(|tr| tr.detached && tr.joined && root.same_tree(&tr.root))
    }

    /// Whether an offer in tree `t` from a parent under `root` at
    /// coordinate `parent` beats our current position (hysteresis: under
    /// the same root a depth gain of at least `parent_switch_margin`).
    pub(super) fn better_parts(&self, t: usize, root: &RootInfo, parent: &Coord) -> bool {
        let Some(tr) = self.trees.get(t) else {
            return false;
        };
        if !tr.joined || tr.detached || self.beats_ours(t, root) {
            return true;
        }
        if !root.same_tree(&tr.root) || tr.is_own_root(&self.public) {
            return false;
        }
        let margin = usize::from(self.config.parent_switch_margin.max(1));
        let depth = parent.depth().saturating_add(1);
        if depth.saturating_add(margin) <= tr.depth() {
            return true;
        }
        // Same depth: the parent with the lexicographically smallest
        // coordinate (the tree a breadth-first search in slot order builds).
        // A strict total order, so a static graph cannot flap.
        if self.config.bfs_order_parent && depth == tr.depth() {
            return parent.cmp_path(&tr.coord.parent()) == core::cmp::Ordering::Less;
        }
        false
    }

    /// Asks the best neighbour that would now be a better parent in tree
    /// `t` (its stored summary says so) for its chain; the switch happens
    /// when it arrives and verifies. Catches candidates whose last full
    /// announcement came before our own position changed.
    pub(super) fn reconsider(&mut self, t: usize) {
        let cap = self.config.root_spread;
        let tree = Self::tree_index(t);
        let parent = self.trees.get(t).and_then(|tr| tr.parent);
        let mut best: Option<(usize, &PeerInfo)> = None;
        for (i, e) in self.table.as_ref().iter().enumerate() {
            let Some(info) = e.n.as_ref().and_then(|n| n.peer(t)).and_then(Peer::info) else {
                continue;
            };
            if !info.offer
                || parent == Some(i)
                || !self.better_parts(t, &info.root, &info.coord)
                || !self.may_join(t, &info.root, info.coord.depth().saturating_add(1))
            {
                continue;
            }
            let replace = match best {
                None => true,
                Some((_, b)) => {
                    info.root.beats_in(tree, cap, &b.root)
                        || (info.root.key == b.root.key
                            && info
                                .coord
                                .depth()
                                .cmp(&b.coord.depth())
                                .then_with(|| info.coord.cmp_path(&b.coord))
                                == core::cmp::Ordering::Less)
                }
            };
            if replace {
                best = Some((i, info));
            }
        }
        let Some((i, _)) = best else { return };
        if let Some(x) = self.peer_mut(i, t) {
            x.we_want = Some(0);
            x.due = true;
        }
    }

    /// Our parent renewed our grant in tree `t` (same position): it replaces
    /// the last hop of our chain. `false` if the store cannot do that in
    /// place ([`ChainStore::last_mut`]).
    fn renew_own(&mut self, t: usize, g: Hop) -> bool {
        let Some(last) = self.trees.get_mut(t).and_then(|tr| tr.chain.last_mut()) else {
            return false;
        };
        *last = g;
        self.stats.renewals = self.stats.renewals.saturating_add(1);
        self.new_version(t);
        true
    }

    /// Adopts, in tree `t`, the chain verified from entry `idx` plus `g`
    /// (its grant to us): `parent` is the parent's coordinate and
    /// `parent_tag` its prefix tag (the verification just computed it, so
    /// our own tag costs one hash, not one per hop). Does nothing if the hops
    /// cannot be stored.
    #[allow(clippy::too_many_arguments)]
    fn adopt(
        &mut self,
        now: Instant,
        t: usize,
        idx: usize,
        root: &RootInfo,
        parent: &Coord,
        parent_tag: &[u8; 32],
        g: Hop,
        source: Source<'_, '_>,
    ) {
        let Ok(coord) = parent.child(g.slot) else {
            return;
        };
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        match source {
            Source::Message(f) => {
                if f.depth() >= tr.chain.capacity().min(MAX_DEPTH) {
                    return;
                }
                tr.chain.clear();
                for h in f.hops().chain(core::iter::once(g)) {
                    // Capacity checked above.
                    let _ = tr.chain.push(h);
                }
            }
            Source::Unavailable => return,
            Source::Stage => {
                if self.stage_owner != Some((t, idx))
                    || self.stage.hops().len() != parent.depth()
                    || !self.stage.push(g)
                {
                    return;
                }
                core::mem::swap(&mut tr.chain, &mut self.stage);
                self.stage.clear();
                self.stage_owner = None;
            }
        }
        let tag = next_tag(parent_tag, &g.key, g.slot);
        let root_changed = !(tr.joined && root.same_tree(&tr.root));
        tr.joined = true;
        tr.detached = false;
        if root_changed {
            self.stats.root_changes = self.stats.root_changes.saturating_add(1);
            // A heartbeat we already held is not fresh again: keep the time
            // we first heard it, so a dead root kept alive by stale chains
            // still times out.
            let heard = match self.record(t, root) {
                Some(r) if root.seq <= r.seq => r.heard,
                _ => now,
            };
            if let Some(tr) = self.trees.get_mut(t) {
                tr.root_heard = heard;
                tr.root_since = now;
                tr.root = *root;
            }
            // Chains skipped under the old root may be under the new one.
            for n in self.table.as_mut().iter_mut().filter_map(|e| e.n.as_mut()) {
                if let Some(x) = n.peer_mut(t)
                    && x.info().is_none()
                {
                    x.we_want = Some(0);
                    x.due = true;
                }
            }
        } else {
            self.refresh_root(now, t, root);
        }
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        if tr.parent != Some(idx) {
            self.stats.parent_changes = self.stats.parent_changes.saturating_add(1);
        }
        tr.parent = Some(idx);
        tr.coord = coord;
        self.position_changed(t);
        if let Some(tr) = self.trees.get_mut(t) {
            tr.tag_cache = Some((tr.version, tag));
        }
    }
}
