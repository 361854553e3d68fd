//! Root election and root liveness: our own heartbeat, becoming root, the
//! feasibility records, dead roots and the root timeout.

use ed25519_dalek::Signer;

use super::super::announce::{RootInfo, root_message};
use super::super::coords::Coord;
use super::{ChainStore, Node, Verifier};
use crate::time::{Duration, Instant};

/// Dead roots remembered at once (the oldest is forgotten first).
pub const DEAD_ROOTS: usize = 8;

#[derive(Clone, Copy, Debug)]
pub(super) struct DeadRoot {
    pub(super) key: [u8; 32],
    pub(super) seq: u64,
    pub(super) at: Instant,
}

/// Roots whose feasibility record a node keeps (the oldest is forgotten).
pub const FEASIBLE_ROOTS: usize = 4;

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

impl<V: Verifier, S: ChainStore> Node<'_, V, S> {
    pub(super) fn self_root(&self) -> RootInfo {
        RootInfo {
            key: self.public,
            rank: self.config.rank,
            seq: self.own_seq,
            sig: [0; 64],
        }
    }

    pub(super) fn sign_heartbeat(&mut self) {
        let m = root_message(&self.public, self.config.rank, self.own_seq);
        self.root = RootInfo {
            key: self.public,
            rank: self.config.rank,
            seq: self.own_seq,
            sig: self.secret.sign(&m).to_bytes(),
        };
    }

    /// Whether joining `root` at `depth` satisfies the feasibility
    /// condition: under the same heartbeat (or an older one) we never move
    /// deeper than the smallest depth we held under it. A newer sequence
    /// number from the root lifts the condition.
    pub(super) fn feasible(&self, root: &RootInfo, depth: usize) -> bool {
        match self.record(root) {
            Some(f) if root.seq <= f.seq => depth <= f.depth,
            _ => true,
        }
    }

    pub(super) fn record(&self, root: &RootInfo) -> Option<&Feasible> {
        self.feasible
            .iter()
            .find(|f| f.key == root.key && f.rank == root.rank)
    }

    /// Records the current position in the feasibility state (not while we
    /// are our own root).
    pub(super) fn note_feasible(&mut self) {
        if self.is_root() {
            return;
        }
        let depth = self.chain.hops().len();
        let r = self.root;
        let heard = self.root_heard;
        if let Some(f) = self
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
        if self.feasible.is_full() && !self.feasible.is_empty() {
            self.feasible.remove(0);
        }
        let _ = self.feasible.push(Feasible {
            key: r.key,
            rank: r.rank,
            seq: r.seq,
            depth,
            heard,
        });
    }

    pub(super) fn become_root(&mut self, now: Instant) {
        let was_root = self.is_root();
        self.own_seq = self.own_seq.saturating_add(1);
        self.sign_heartbeat();
        self.chain.clear();
        self.coord = Coord::root();
        self.stage_owner = None;
        self.stage.clear();
        if self.parent.take().is_some() {
            self.stats.parent_changes = self.stats.parent_changes.saturating_add(1);
        }
        if !was_root {
            self.stats.root_changes = self.stats.root_changes.saturating_add(1);
        }
        self.root_heard = now;
        self.next_root_refresh = now.saturating_add(self.config.root_refresh);
        for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
            n.we_want_full = true;
        }
        self.position_changed();
    }

    pub(super) fn is_stale(&self, root: &RootInfo) -> bool {
        self.dead
            .iter()
            .any(|d| d.key == root.key && root.seq <= d.seq)
    }

    pub(super) fn refresh_root(&mut self, now: Instant, root: &RootInfo) {
        if root.same_tree(&self.root) && root.seq > self.root.seq {
            self.root = *root;
            // Pass the new heartbeat on at once (a keepalive, paced like
            // everything else): it then comes down the tree as fast as a
            // new position does. At one hop per announcement interval, a
            // node adopted at depth 60 would hear the next heartbeat only
            // after the root timeout.
            self.mark_all_due();
            self.root_heard = now;
            self.note_feasible();
        }
    }

    /// Whether an announcement under `root` from entry `idx` can be ignored:
    /// not our parent, not our root, and a root ours beats.
    pub(super) fn irrelevant(&self, idx: usize, root: &RootInfo) -> bool {
        self.parent != Some(idx) && !root.same_tree(&self.root) && !root.beats(&self.root)
    }

    pub(super) fn root_deadline(&self) -> Option<Instant> {
        if self.is_root() {
            Some(self.next_root_refresh)
        } else {
            Some(self.root_heard.saturating_add(self.root_timeout()))
        }
    }

    /// How long our root may stay silent: [`Config::root_timeout`] plus
    /// [`Config::root_timeout_per_hop`] per hop of our depth.
    pub(super) fn root_timeout(&self) -> Duration {
        let hops = u64::try_from(self.chain.hops().len()).unwrap_or(u64::MAX);
        self.config
            .root_timeout
            .saturating_add(self.config.root_timeout_per_hop.saturating_mul(hops))
    }
}
