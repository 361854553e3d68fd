//! Parent choice: which neighbour's chain to stage, whether an offer beats
//! our position (hysteresis, breadth-first order), re-checking stored
//! offers, and adopting a verified chain.

use super::super::announce::{Hop, RootInfo, next_tag};
use super::super::coords::{Coord, MAX_DEPTH};
use super::table::{Neighbour, PeerInfo};
use super::{ChainStore, Node, Verifier};
use crate::time::Instant;

impl<V: Verifier, S: ChainStore> Node<'_, V, S> {
    /// Whether to copy the chain starting to arrive from entry `idx` into
    /// the staging area: it could become our chain (our parent's, a better
    /// root's, or one no deeper than ours under our root), it fits, and the
    /// area is not busy with another candidate's unfinished chain (our
    /// parent's takes it anyway, and nobody takes it from our parent's). A
    /// candidate holds the area for at most one announcement interval while
    /// others wait, however often it restarts its chain, so a neighbour that
    /// starts chains and never finishes them cannot keep us from adopting
    /// another's.
    pub(super) fn wants_stage(
        &self,
        now: Instant,
        idx: usize,
        root: &RootInfo,
        total: usize,
    ) -> bool {
        let ours = self.chain.hops().len();
        let candidate = self.parent == Some(idx)
            || root.beats(&self.root)
            || (root.same_tree(&self.root) && !self.is_root() && total < ours);
        if !candidate || !self.stage_fits(total) {
            return false;
        }
        match self.stage_owner {
            None => true,
            Some(o) if o == idx || self.parent == Some(idx) => true,
            Some(o) => {
                let busy = self
                    .table
                    .get(o)
                    .and_then(|e| e.n.as_ref())
                    .and_then(Neighbour::rx)
                    .is_some_and(|p| p.staged);
                let lease = self
                    .stage_since
                    .saturating_add(self.config.announce_interval);
                !busy || (self.parent != Some(o) && now >= lease)
            }
        }
    }

    /// Whether the staging area holds a `total`-hop chain plus the grant to
    /// us (and the result stays within [`MAX_DEPTH`]).
    pub(super) fn stage_fits(&self, total: usize) -> bool {
        total < self.stage.capacity().min(MAX_DEPTH)
    }

    /// Whether an offer from a parent under `root` at coordinate `parent`
    /// beats our current position (hysteresis: under the same root a depth
    /// gain of at least `parent_switch_margin`).
    pub(super) fn better_parts(&self, root: &RootInfo, parent: &Coord) -> bool {
        if root.beats(&self.root) {
            return true;
        }
        if self.root.beats(root) || self.is_root() {
            return false;
        }
        let margin = usize::from(self.config.parent_switch_margin.max(1));
        let depth = parent.depth().saturating_add(1);
        if depth.saturating_add(margin) <= self.chain.hops().len() {
            return true;
        }
        // Same depth: the parent with the lexicographically smallest
        // coordinate (the tree a breadth-first search in slot order builds).
        // A strict total order, so a static graph cannot flap.
        if self.config.bfs_order_parent && depth == self.chain.hops().len() {
            return parent.cmp_path(&self.coord.parent()) == core::cmp::Ordering::Less;
        }
        false
    }

    /// Asks the best neighbour that would now be a better parent (its stored
    /// summary says so) for a full announcement; the switch happens when it
    /// arrives and verifies. Catches candidates whose last full announcement
    /// came before our own position changed.
    pub(super) fn reconsider(&mut self) {
        let mut best: Option<(usize, &PeerInfo)> = None;
        for (i, e) in self.table.iter().enumerate() {
            let Some(info) = e.n.as_ref().and_then(Neighbour::info) else {
                continue;
            };
            if !info.offer
                || self.parent == Some(i)
                || !self.better_parts(&info.root, &info.coord)
                || !self.feasible(&info.root, info.coord.depth().saturating_add(1))
            {
                continue;
            }
            let replace = match best {
                None => true,
                Some((_, b)) => {
                    info.root.beats(&b.root)
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
        if let Some(n) = self.table.get_mut(i).and_then(|e| e.n.as_mut()) {
            n.we_want_full = true;
            n.due = true;
        }
    }

    /// Adopts the chain staged from entry `idx` plus `g` (its grant to us):
    /// `parent` is the parent's coordinate and `parent_tag` its prefix tag
    /// (the verification just computed it, so our own tag costs one hash,
    /// not one per hop). Does nothing if the staging area does not hold that
    /// chain or cannot take our hop.
    pub(super) fn adopt(
        &mut self,
        now: Instant,
        idx: usize,
        root: &RootInfo,
        parent: &Coord,
        parent_tag: &[u8; 32],
        g: Hop,
    ) {
        if self.stage_owner != Some(idx) || self.stage.hops().len() != parent.depth() {
            return;
        }
        let Ok(coord) = parent.child(g.slot) else {
            return;
        };
        if !self.stage.push(g) {
            return;
        }
        core::mem::swap(&mut self.chain, &mut self.stage);
        self.stage.clear();
        self.stage_owner = None;
        let root_changed = !root.same_tree(&self.root);
        if root_changed {
            self.stats.root_changes = self.stats.root_changes.saturating_add(1);
            // A heartbeat we already held is not fresh again: keep the time
            // we first heard it, so a dead root kept alive by stale chains
            // still times out.
            self.root_heard = match self.record(root) {
                Some(r) if root.seq <= r.seq => r.heard,
                _ => now,
            };
            self.root = *root;
            // Chains skipped under the old root may be under the new one.
            for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
                if n.info().is_none() {
                    n.we_want_full = true;
                    n.due = true;
                }
            }
        } else {
            self.refresh_root(now, root);
        }
        if self.parent != Some(idx) {
            self.stats.parent_changes = self.stats.parent_changes.saturating_add(1);
        }
        self.parent = Some(idx);
        self.coord = coord;
        self.position_changed();
        self.tag_cache = Some((self.generation, next_tag(parent_tag, &g.key, g.slot)));
    }
}
