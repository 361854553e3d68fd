//! Root liveness, per tree: whether a heartbeat is stale or fresh, following
//! the root's heartbeats down the tree, the root timeout (longer with
//! depth), and what a node does when its root is declared dead (remember it
//! for [`Config::dead_root_hold`], re-elect). Election and candidacy are in
//! `node/election.rs`.

use super::super::announce::RootInfo;
#[cfg(doc)]
use super::super::config::Config;
use super::election::{DeadRoot, Tree};
use super::{ChainStore, Node, Table, Verifier};
use crate::time::{Duration, Instant};

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    pub(super) fn is_stale(&self, t: usize, root: &RootInfo) -> bool {
        self.trees.get(t).is_some_and(|tr| {
            tr.dead
                .iter()
                .any(|d| d.key == root.key && root.seq <= d.seq)
        })
    }

    /// A newer heartbeat of our root in tree `t`, heard from our parent.
    pub(super) fn refresh_root(&mut self, now: Instant, t: usize, root: &RootInfo) {
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        if !(tr.joined && root.same_tree(&tr.root) && root.seq > tr.root.seq) {
            return;
        }
        let credential = tr.root.credential;
        tr.root = RootInfo {
            credential,
            ..*root
        };
        tr.root_heard = now;
        // Pass the new heartbeat on at once (a keepalive, paced like
        // everything else): it then comes down the tree as fast as a new
        // position does.
        self.mark_all_due(t);
        self.note_feasible(t);
        // The root's spread may have changed (candidacy), our grants may be
        // due for renewal, and our own grant may now be past its lifetime.
        self.recheck_from(t);
        self.maybe_renew(t);
        if self.own_grant_expired(t) {
            self.parent_lost(now, t);
        }
    }

    /// Whether our own grant in tree `t` (the last hop of our chain) is past
    /// its lifetime under the newest heartbeat we hold.
    pub(super) fn own_grant_expired(&self, t: usize) -> bool {
        let Some(tr) = self.trees.get(t) else {
            return false;
        };
        tr.chain
            .hops()
            .last()
            .is_some_and(|h| self.expired(tr.root.seq, h.epoch, tr.depth()))
    }

    /// Whether an announcement under `root` in tree `t` from entry `idx`
    /// can be ignored: not our parent, not our root, and a root ours beats.
    pub(super) fn irrelevant(&self, t: usize, idx: usize, root: &RootInfo) -> bool {
        let Some(tr) = self.trees.get(t) else {
            return true;
        };
        tr.parent != Some(idx)
            && !(tr.joined && root.same_tree(&tr.root))
            && (!self.beats_ours(t, root)
                // Not yet in the tree but standing for its root (when our
                // stagger ends): a root we would beat is as useless.
                || (!tr.joined && !self.acceptable_root(t, root)))
    }

    pub(super) fn root_deadline(&self, t: usize) -> Option<Instant> {
        let tr = self.trees.get(t)?;
        if !tr.joined {
            None
        } else if tr.is_own_root(&self.public) {
            Some(tr.next_root_refresh)
        } else {
            Some(tr.root_heard.saturating_add(self.root_timeout(t)))
        }
    }

    /// How long our root in tree `t` may stay silent:
    /// `Config::root_timeout` plus `Config::root_timeout_per_hop` per hop of
    /// our depth.
    pub(super) fn root_timeout(&self, t: usize) -> Duration {
        let depth = self.trees.get(t).map_or(0, Tree::depth);
        let hops = u64::try_from(depth).unwrap_or(u64::MAX);
        self.config
            .root_timeout
            .saturating_add(self.config.root_timeout_per_hop.saturating_mul(hops))
    }

    /// Our heartbeat in tree `t` (we are its root): a new sequence number,
    /// and our grants renewed when due.
    pub(super) fn heartbeat(&mut self, now: Instant, t: usize) {
        let refresh = self.config.root_refresh.max(Duration::from_micros(1));
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        tr.own_seq = tr.own_seq.saturating_add(1);
        tr.next_root_refresh = now.saturating_add(refresh);
        self.sign_heartbeat(t);
        self.mark_all_due(t);
        self.maybe_renew(t);
    }

    /// The root of tree `t` fell silent: remember it as dead and let go.
    pub(super) fn root_died(&mut self, now: Instant, t: usize) {
        let Some(tr) = self.trees.get_mut(t) else {
            return;
        };
        let dead = DeadRoot {
            key: tr.root.key,
            seq: tr.root.seq,
            at: now,
        };
        if tr.dead.is_full() && !tr.dead.is_empty() {
            tr.dead.remove(0);
        }
        let _ = tr.dead.push(dead);
        self.stats.roots_expired = self.stats.roots_expired.saturating_add(1);
        // Neighbours still on the dead root are unusable in this tree.
        for n in self.table.as_mut().iter_mut().filter_map(|e| e.n.as_mut()) {
            if let Some(p) = n.peer_mut(t)
                && p.info()
                    .is_some_and(|i| i.root.key == dead.key && i.root.seq <= dead.seq)
            {
                p.view = super::table::View::None;
            }
        }
        self.parent_lost(now, t);
    }
}
