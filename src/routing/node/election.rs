//! Per-tree state and root election: our own heartbeat, becoming root or
//! leaving a tree, detaching, the feasibility records and dead roots.
//!
//! Who may root which tree, and when a candidate stands: `node/candidacy.rs`.

use ed25519_dalek::Signer;

use super::super::announce::{RootInfo, grant_age_limit, root_message};
use super::super::coords::Coord;
#[cfg(doc)]
use super::super::error::AnnounceError;
use super::{ChainStore, Node, Table, Verifier};
use crate::time::Instant;

/// Dead roots remembered at once per tree (the oldest is forgotten first).
pub const DEAD_ROOTS: usize = 8;
/// Roots whose feasibility record a node keeps per tree (the oldest is
/// forgotten).
pub const FEASIBLE_ROOTS: usize = 4;

#[derive(Clone, Copy, Debug)]
pub(super) struct DeadRoot {
    pub(super) key: [u8; 32],
    pub(super) seq: u64,
    pub(super) at: Instant,
}

/// The smallest depth this node has held under one root heartbeat
/// (key, rank, seq): the feasibility condition (as in DSDV/Babel) that stops
/// stale chains from circulating with growing depth after a failure.
#[derive(Clone, Copy, Debug)]
pub(super) struct Feasible {
    pub(super) key: [u8; 32],
    pub(super) rank: u32,
    pub(super) seq: u64,
    pub(super) depth: usize,
    /// When this heartbeat was first heard: re-adopting the same heartbeat
    /// later does not make the root look fresh again.
    pub(super) heard: Instant,
}

/// Our state in one tree.
pub(super) struct Tree<S> {
    /// Whether we hold a position (as root or member).
    pub(super) joined: bool,
    /// We lost our parent and keep the old position (for forwarding, and
    /// so the coordinates others hold for us stay good) while we look for
    /// a new one; announced as [`super::super::announce::FLAG_DETACHED`].
    pub(super) detached: bool,
    /// The root's heartbeat (ours when we are the root).
    pub(super) root: RootInfo,
    /// Our chain from the root.
    pub(super) chain: S,
    pub(super) coord: Coord,
    pub(super) parent: Option<usize>,
    /// Our heartbeat sequence number as root of this tree.
    pub(super) own_seq: u64,
    pub(super) root_heard: Instant,
    /// When our root here (its key) last changed, or we joined or left.
    pub(super) root_since: Instant,
    /// When we last lost our position here (or started without one): a
    /// candidate's stagger (`stand_at`) counts from it.
    pub(super) stand_from: Instant,
    pub(super) next_root_refresh: Instant,
    pub(super) dead: heapless::Vec<DeadRoot, DEAD_ROOTS>,
    pub(super) feasible: heapless::Vec<Feasible, FEASIBLE_ROOTS>,
    /// Prefix tag of our chain, for one version.
    pub(super) tag_cache: Option<(u64, [u8; 32])>,
    /// Bumps on every change of what we announce in this tree (position,
    /// renewed grants, our own grant renewed).
    pub(super) version: u64,
    /// Bumps on every change of position (grants are signed per position
    /// and epoch).
    pub(super) position: u64,
    /// The epoch our grants in this tree are signed with.
    pub(super) grant_epoch: u64,
}

impl<S: ChainStore> Tree<S> {
    pub(super) fn new(chain: S, public: [u8; 32], seq: u64, now: Instant) -> Self {
        Tree {
            joined: false,
            detached: false,
            root: RootInfo {
                key: public,
                rank: 0,
                seq,
                spread: 0,
                sig: [0; 64],
                credential: [0; 64],
            },
            chain,
            coord: Coord::root(),
            parent: None,
            own_seq: seq,
            root_heard: now,
            root_since: now,
            stand_from: now,
            next_root_refresh: now,
            dead: heapless::Vec::new(),
            feasible: heapless::Vec::new(),
            tag_cache: None,
            version: 0,
            position: 0,
            grant_epoch: seq,
        }
    }

    pub(super) fn is_own_root(&self, public: &[u8; 32]) -> bool {
        self.joined && self.root.key == *public
    }

    pub(super) fn depth(&self) -> usize {
        self.chain.hops().len()
    }
}

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    /// Trees in use (`Config::trees`, clamped to `1..=K`).
    pub(super) fn ntrees(&self) -> usize {
        usize::from(self.config.trees).clamp(1, K.max(1))
    }

    pub(super) fn tree_index(t: usize) -> u8 {
        u8::try_from(t).unwrap_or(u8::MAX)
    }

    pub(super) fn sign_heartbeat(&mut self, t: usize) {
        let mut r = self.self_root(t);
        let m = root_message(Self::tree_index(t), &r.key, r.rank, r.seq, r.spread);
        r.sig = self.secret.sign(&m).to_bytes();
        if let Some(tr) = self.trees.get_mut(t) {
            tr.root = r;
        }
    }

    /// Whether `root` beats our current root in tree `t` (anything valid
    /// beats nothing).
    pub(super) fn beats_ours(&self, t: usize, root: &RootInfo) -> bool {
        match self.trees.get(t) {
            Some(tr) if tr.joined => {
                root.beats_in(Self::tree_index(t), self.config.root_spread, &tr.root)
            }
            _ => true,
        }
    }

    /// Whether joining `root` at `depth` in tree `t` satisfies the
    /// feasibility condition: under the same heartbeat (or an older one) we
    /// never move deeper than the smallest depth we held under it. A newer
    /// sequence number from the root lifts the condition.
    pub(super) fn feasible(&self, t: usize, root: &RootInfo, depth: usize) -> bool {
        match self.record(t, root) {
            Some(f) if root.seq <= f.seq => depth <= f.depth,
            _ => true,
        }
    }

    pub(super) fn record(&self, t: usize, root: &RootInfo) -> Option<&Feasible> {
        self.trees
            .get(t)?
            .feasible
            .iter()
            .find(|f| f.key == root.key && f.rank == root.rank)
    }

    /// The newest heartbeat sequence number we know of `root` in tree `t`.
    pub(super) fn known_seq(&self, t: usize, root: &RootInfo) -> u64 {
        let mut seq = root.seq;
        if let Some(tr) = self.trees.get(t)
            && tr.joined
            && tr.root.same_tree(root)
        {
            seq = seq.max(tr.root.seq);
        }
        if let Some(f) = self.record(t, root) {
            seq = seq.max(f.seq);
        }
        seq
    }

    /// Root refreshes per heartbeat-lifetime unit of depth
    /// ([`grant_age_limit`]).
    pub(super) fn hops_per_heartbeat(&self) -> u64 {
        let per_hop = self
            .config
            .root_timeout_per_hop
            .as_micros()
            .saturating_mul(2)
            .max(1);
        self.config
            .root_refresh
            .as_micros()
            .checked_div(per_hop)
            .unwrap_or(1)
            .max(1)
    }

    /// Whether a grant of `epoch` at `depth` is past its lifetime when the
    /// root's newest heartbeat is `seq`.
    pub(super) fn expired(&self, seq: u64, epoch: u64, depth: usize) -> bool {
        seq.saturating_sub(epoch) > grant_age_limit(depth, self.hops_per_heartbeat())
    }

    /// Records the current position of tree `t` in its feasibility state
    /// (not while we are its root).
    pub(super) fn note_feasible(&mut self, t: usize) {
        let public = self.public;
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        if !tr.joined || tr.is_own_root(&public) {
            return;
        }
        let depth = tr.depth();
        let r = tr.root;
        let heard = tr.root_heard;
        if let Some(f) = tr
            .feasible
            .iter_mut()
            .find(|f| f.key == r.key && f.rank == r.rank)
        {
            if r.seq == f.seq {
                f.depth = f.depth.min(depth);
            } else if r.seq > f.seq {
                *f = Feasible {
                    key: r.key,
                    rank: r.rank,
                    seq: r.seq,
                    depth,
                    heard,
                };
            }
            return;
        }
        if tr.feasible.is_full() && !tr.feasible.is_empty() {
            tr.feasible.remove(0);
        }
        let _ = tr.feasible.push(Feasible {
            key: r.key,
            rank: r.rank,
            seq: r.seq,
            depth,
            heard,
        });
    }

    /// Our position in tree `t` changed: a new version to announce to
    /// everyone (grants signed afresh under the current heartbeat), an
    /// event, and the later trees re-check their candidacy.
    pub(super) fn position_changed(&mut self, t: usize) {
        self.note_feasible(t);
        self.generation = self.generation.wrapping_add(1);
        self.event = true;
        if let Some(tr) = self.trees.get_mut(t) {
            tr.position = tr.position.wrapping_add(1);
            tr.grant_epoch = tr.root.seq;
        }
        self.new_version(t);
        self.recheck_from(t.saturating_add(1));
    }

    /// What we announce in tree `t` changed: everyone gets the full
    /// announcement.
    pub(super) fn new_version(&mut self, t: usize) {
        if let Some(tr) = self.trees.get_mut(t) {
            tr.version = tr.version.wrapping_add(1);
        }
        self.mark_all_due(t);
    }

    /// Re-signs our grants in tree `t` once they are
    /// [`super::super::announce::GRANT_RENEW_AGE`] heartbeats old.
    pub(super) fn maybe_renew(&mut self, t: usize) {
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        if tr.joined
            && tr.root.seq.saturating_sub(tr.grant_epoch) >= super::super::announce::GRANT_RENEW_AGE
        {
            tr.grant_epoch = tr.root.seq;
            self.stats.renewals = self.stats.renewals.saturating_add(1);
            self.new_version(t);
        }
    }

    pub(super) fn recheck_from(&mut self, t: usize) {
        self.recheck = Some(self.recheck.map_or(t, |r| r.min(t)));
    }

    /// Every neighbour is owed an announcement of tree `t` (paced as usual).
    pub(super) fn mark_all_due(&mut self, t: usize) {
        for n in self.table.as_mut().iter_mut().filter_map(|e| e.n.as_mut()) {
            if let Some(p) = n.peer_mut(t) {
                p.due = true;
            }
        }
    }

    /// Asks every neighbour for its whole chain of tree `t`.
    fn ask_all(&mut self, t: usize) {
        for n in self.table.as_mut().iter_mut().filter_map(|e| e.n.as_mut()) {
            if let Some(p) = n.peer_mut(t) {
                p.we_want = Some(0);
            }
        }
    }

    /// Makes us the root of tree `t` (our own tree).
    pub(super) fn become_root(&mut self, now: Instant, t: usize) {
        let public = self.public;
        let refresh = self.config.root_refresh;
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        let was_root = tr.is_own_root(&public);
        tr.own_seq = tr.own_seq.saturating_add(1);
        if !was_root {
            tr.root_since = now;
        }
        tr.joined = true;
        tr.detached = false;
        tr.chain.clear();
        tr.coord = Coord::root();
        let had_parent = tr.parent.take().is_some();
        tr.root_heard = now;
        tr.next_root_refresh = now.saturating_add(refresh);
        if self.stage_owner.is_some_and(|(st, _)| st == t) {
            self.stage_owner = None;
            self.stage.clear();
        }
        if had_parent {
            self.stats.parent_changes = self.stats.parent_changes.saturating_add(1);
        }
        if !was_root {
            self.stats.root_changes = self.stats.root_changes.saturating_add(1);
        }
        self.sign_heartbeat(t);
        self.ask_all(t);
        self.position_changed(t);
    }

    /// Leaves tree `t` (not a candidate, no parent): no coordinate there.
    pub(super) fn unjoin(&mut self, t: usize) {
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        if !tr.joined {
            return;
        }
        tr.joined = false;
        tr.stand_from = self.clock.latest();
        tr.detached = false;
        tr.chain.clear();
        tr.coord = Coord::root();
        let had_parent = tr.parent.take().is_some();
        tr.version = tr.version.wrapping_add(1);
        if self.stage_owner.is_some_and(|(st, _)| st == t) {
            self.stage_owner = None;
            self.stage.clear();
        }
        if had_parent {
            self.stats.parent_changes = self.stats.parent_changes.saturating_add(1);
        }
        self.stats.root_changes = self.stats.root_changes.saturating_add(1);
        self.generation = self.generation.wrapping_add(1);
        self.event = true;
        self.ask_all(t);
        self.recheck_from(t.saturating_add(1));
    }

    /// Our parent in tree `t` is gone or its chain unusable (link down,
    /// silence, a refused or moved chain): we *detach*, keeping our position
    /// (the coordinates the rest of the network holds for us, and for our
    /// subtree, stay good for forwarding) and announcing that we are not a
    /// parent to take, while we re-join from the offers (a feasible one, or
    /// any under a newer heartbeat). If our root dies meanwhile, the root
    /// timeout lets go for good (`parent_lost`).
    pub(super) fn parent_gone(&mut self, t: usize) {
        let public = self.public;
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        if !tr.joined || tr.is_own_root(&public) {
            return;
        }
        if tr.parent.take().is_some() {
            self.stats.parent_changes = self.stats.parent_changes.saturating_add(1);
        }
        if tr.detached {
            return;
        }
        tr.detached = true;
        if self.stage_owner.is_some_and(|(st, _)| st == t) {
            self.stage_owner = None;
            self.stage.clear();
        }
        self.ask_all(t);
        // Everyone learns we are detached (and our children detach too).
        self.new_version(t);
        self.reconsider(t);
    }

    /// Our position in tree `t` is lost for good (its root died, our own
    /// grant expired, our root roots an earlier tree): our own root if we
    /// are a candidate whose stagger is over, else unjoined (a candidate
    /// stands when its stagger ends and no better offer came); either way
    /// we re-join from the offers.
    pub(super) fn parent_lost(&mut self, now: Instant, t: usize) {
        if let Some(tr) = self.trees.get_mut(t) {
            tr.stand_from = now;
        }
        if self.candidate(t) && now >= self.stand_at(t) {
            self.become_root(now, t);
        } else {
            self.unjoin(t);
        }
    }
}
