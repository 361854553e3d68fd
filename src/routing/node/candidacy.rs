//! Candidacy: who may root which tree, when a candidate stands, and the
//! re-check after every change of position (`settle`).
//!
//! # Who roots which tree
//!
//! * Tree 0: every node is a candidate; the best `(rank, smallest key)`
//!   wins ([`RootInfo::beats`]).
//! * Tree `t` ≥ 1: a node is a candidate only if it holds a position, not
//!   as root, in every tree `0..t`. Its heartbeat carries its *spread*: its
//!   smallest depth in trees `0..t`, i.e. its distance in hops to the
//!   nearest earlier root once the trees are breadth-first. Candidates
//!   compare a credentialed rank first, then `min(spread,
//!   Config::root_spread)`, then rank, then the smaller key
//!   ([`RootInfo::beats_in`]). Every node computes the same order from the
//!   same heartbeats, so the root of tree `t` is the best credentialed node
//!   at least `root_spread` hops from the earlier roots (without
//!   credentials: the smallest key that far), or the farthest one if none
//!   is that far.
//! * One key roots at most one tree: the root of an earlier tree is never a
//!   candidate, and a receiver refuses a tree-`t` heartbeat whose key roots
//!   one of its trees `0..t` ([`AnnounceError::DuplicateRoot`]), and leaves
//!   tree `t` if its root there becomes the root of an earlier tree. So an
//!   unauthorised node roots at most one tree under its key, and none where
//!   a credentialed candidate exists (it can make up other keys; only a
//!   credential outranks them).
//! * A node that is not a candidate for tree `t` and has no parent there is
//!   *unjoined* in `t`: no coordinate, nothing announced, until a
//!   neighbour offers it a position. Every node recomputes its candidacy
//!   after any change of position (`settle`), in tree order, so the trees
//!   form one after the other.
//!
//! # When a candidate stands
//!
//! A candidate for tree `t` ≥ 1 does not start a tree of its own the
//! moment it may: it waits its *stagger* (`stagger`, up to two announcement
//! intervals, shorter the better its candidacy), and joins instead any
//! offer that reaches it meanwhile under a root that beats it. The best
//! candidates stand first and most nodes join the winner once rather than
//! rooting trees of their own and switching. The root of a later tree does
//! not stand for an earlier one, and keeps its tree while an earlier tree
//! re-forms (`may_keep_root`).

use super::super::announce::RootInfo;
#[cfg(doc)]
use super::super::error::AnnounceError;
#[cfg(doc)]
use super::Config;
use super::{ChainStore, Node, Table, Verifier};
use crate::time::{Duration, Instant};

/// Announcement intervals a node must have kept the same root in every
/// earlier tree before it stands for the root of a later one.
pub const CANDIDACY_HOLD: u64 = 1;
/// Steps of one announcement interval a candidate's stagger is counted in:
/// a candidate for a later tree's root waits, after its hold, up to one
/// interval if it is at least [`Config::root_spread`] hops from the
/// earlier roots (the better its candidacy, the sooner), up to two if it
/// is nearer.
pub const STAND_STAGGER_STEPS: u64 = 1024;
/// Announcement intervals the root of a later tree waits, with no position
/// in an earlier tree and no offer there, before it stands for that tree
/// (and lets its own go).
pub const LATER_ROOT_WAIT: u64 = 2;

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    /// Whether we may be the root of tree `t` (module docs): a member, not
    /// the root, of every earlier tree, under the same root there for at
    /// least [`CANDIDACY_HOLD`] announcement intervals (so the later trees
    /// do not start from positions that are still settling).
    pub(super) fn candidate(&self, t: usize) -> bool {
        let now = self.clock.latest();
        let hold = self.candidacy_hold();
        self.trees.iter().take(t).all(|s| {
            s.joined && !s.is_own_root(&self.public) && s.root_since.saturating_add(hold) <= now
        })
    }

    /// Whether we root one of the trees after `t`. Such a root keeps the
    /// tree it has when tree `t` loses its root: it joins whatever root
    /// reaches it in `t` (never displacing one), and stands for `t` only if
    /// none does within [`LATER_ROOT_WAIT`] intervals (a node left alone),
    /// so a failure in an earlier tree does not take a later tree's root
    /// with it.
    fn roots_later(&self, t: usize) -> bool {
        self.trees
            .iter()
            .skip(t.saturating_add(1))
            .any(|s| s.joined && s.is_own_root(&self.public))
    }

    /// Whether we may stay the root of tree `t` we already root: not the
    /// root of an earlier tree. Unlike [`Self::candidate`] it asks for no
    /// hold and no position in the earlier trees, so while an earlier tree
    /// re-forms (its root lost, say) this tree keeps its root and carries
    /// traffic.
    fn may_keep_root(&self, t: usize) -> bool {
        self.trees
            .iter()
            .take(t)
            .all(|s| !(s.joined && s.is_own_root(&self.public)))
    }

    /// How long a candidate for tree `t` ≥ 1 waits, after it may first
    /// stand, before it starts a tree of its own ([`STAND_STAGGER_STEPS`]):
    /// the better its candidacy in [`RootInfo::beats_in`]'s order, the
    /// sooner. The best candidates stand first and their announcements
    /// reach the others before these would stand, so most nodes join the
    /// winner at once instead of rooting a tree of their own and switching
    /// (measured on as-733: the switches cost most of a later tree's
    /// messages and signatures). Within one interval: far candidates
    /// (spread ≥ [`Config::root_spread`]), credentialed ranks first, higher
    /// first, then rank 0 by key; within a second interval the near ones in
    /// the same order. Tree 0 does not wait: without it no tree forms. The
    /// root of a later tree waits [`LATER_ROOT_WAIT`] intervals for any
    /// tree before its own.
    pub(super) fn stagger(&self, t: usize) -> Duration {
        if self.roots_later(t) {
            return self
                .config
                .announce_interval
                .saturating_mul(LATER_ROOT_WAIT);
        }
        if t == 0 {
            return Duration::ZERO;
        }
        let me = self.self_root(t);
        let cap = self.config.root_spread;
        let near: u64 = if me.spread.min(cap) >= cap {
            0
        } else {
            STAND_STAGGER_STEPS
        };
        let half = STAND_STAGGER_STEPS / 2;
        let within = if me.rank > 0 {
            // Credentialed: higher ranks sooner, half / 2, half / 3, ...
            // by powers of two.
            half.checked_div(u64::from(me.rank.ilog2()).saturating_add(2))
                .unwrap_or(0)
        } else {
            // Rank 0: the smaller key sooner, across the second half.
            let key = u64::from(u16::from_be_bytes([me.key[0], me.key[1]]));
            half.saturating_add(key.saturating_mul(half) >> 16)
        };
        let steps = near.saturating_add(within);
        Duration::from_micros(
            self.config
                .announce_interval
                .as_micros()
                .saturating_mul(steps)
                / STAND_STAGGER_STEPS,
        )
    }

    /// When a candidate for tree `t` may start a tree of its own: the hold
    /// after the earlier trees' last change of root, or the loss of its
    /// position here, whichever is later, plus its [`Self::stagger`].
    pub(super) fn stand_at(&self, t: usize) -> Instant {
        let hold = self.candidacy_hold();
        let held = self
            .trees
            .iter()
            .take(t)
            .map(|s| s.root_since.saturating_add(hold))
            .max()
            .unwrap_or(Instant::ZERO);
        let from = self.trees.get(t).map_or(Instant::ZERO, |s| s.stand_from);
        held.max(from).saturating_add(self.stagger(t))
    }

    pub(super) fn candidacy_hold(&self) -> Duration {
        self.config.announce_interval.saturating_mul(CANDIDACY_HOLD)
    }

    /// When a tree before `t` completes its hold, or our stagger for `t`
    /// ends (so candidacy for `t` must be looked at again), if one is
    /// pending.
    pub(super) fn candidacy_deadline(&self, t: usize) -> Option<Instant> {
        let now = self.clock.latest();
        let hold = self.candidacy_hold();
        let held = self
            .trees
            .iter()
            .take(t)
            .filter(|s| s.joined && !s.is_own_root(&self.public))
            .map(|s| s.root_since.saturating_add(hold))
            .filter(|&at| at > now)
            .max();
        let own = self
            .trees
            .get(t)
            .is_some_and(|s| s.joined && s.is_own_root(&self.public));
        let stand = ((t > 0 || self.roots_later(t)) && !own && self.candidate(t))
            .then(|| self.stand_at(t))
            .filter(|&at| at > now);
        match (held, stand) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a neighbour has offered us a position in tree `t` under a
    /// root that beats our own candidacy (then we join it rather than
    /// start a tree of our own).
    fn better_offer_known(&self, t: usize) -> Option<usize> {
        let me = self.self_root(t);
        let (tree, cap) = (Self::tree_index(t), self.config.root_spread);
        self.table.as_ref().iter().position(|e| {
            e.n.as_ref()
                .and_then(|n| n.peer(t))
                .and_then(super::table::Peer::info)
                .is_some_and(|i| {
                    i.offer && (self.roots_later(t) || i.root.beats_in(tree, cap, &me))
                })
        })
    }

    /// Whether `key` roots one of our trees before `t` (so it may not root
    /// tree `t`).
    pub(super) fn roots_earlier(&self, t: usize, key: &[u8; 32]) -> bool {
        self.trees
            .iter()
            .take(t)
            .any(|s| s.joined && s.root.key == *key)
    }

    /// Our smallest depth in the trees before `t`.
    pub(super) fn own_spread(&self, t: usize) -> u16 {
        self.trees
            .iter()
            .take(t)
            .map(|s| u16::try_from(s.depth()).unwrap_or(u16::MAX))
            .min()
            .unwrap_or(0)
    }

    /// Our own (unsigned) heartbeat for tree `t`.
    pub(super) fn self_root(&self, t: usize) -> RootInfo {
        RootInfo {
            key: self.public,
            rank: self.rank,
            seq: self.trees.get(t).map_or(0, |tr| tr.own_seq),
            spread: self.own_spread(t),
            sig: [0; 64],
            credential: self.credential,
        }
    }

    /// Whether we may join tree `t` under `root`: a candidate only under a
    /// root that beats its own candidacy.
    pub(super) fn acceptable_root(&self, t: usize, root: &RootInfo) -> bool {
        !self.candidate(t)
            || self.roots_later(t)
            || root.beats_in(
                Self::tree_index(t),
                self.config.root_spread,
                &self.self_root(t),
            )
    }

    /// Re-checks candidacy in the trees marked since the last call, in tree
    /// order (a change in tree `t` only affects trees after it).
    pub(super) fn settle(&mut self, now: Instant) {
        let Some(from) = self.recheck.take() else {
            return;
        };
        let cap = self.config.root_spread;
        for t in from..self.ntrees() {
            let cand = self.candidate(t);
            let public = self.public;
            let Some(tr) = self.trees.get(t) else {
                break;
            };
            let own = tr.is_own_root(&public);
            let joined = tr.joined;
            let root = tr.root;
            if own {
                if !self.may_keep_root(t) {
                    self.unjoin(t);
                } else if cand && root.spread.min(cap) != self.own_spread(t).min(cap) {
                    // Our distance to the earlier roots changed where the
                    // election looks (below the cap): a new heartbeat says
                    // so (keepalives carry it).
                    if let Some(tr) = self.trees.get_mut(t) {
                        tr.own_seq = tr.own_seq.saturating_add(1);
                    }
                    self.sign_heartbeat(t);
                    self.mark_all_due(t);
                }
            } else if !joined {
                if cand {
                    match self.better_offer_known(t) {
                        // Ask for it; joining happens when it arrives.
                        Some(i) => {
                            if let Some(x) = self.peer_mut(i, t) {
                                x.we_want = Some(0);
                                x.due = true;
                            }
                        }
                        None if now >= self.stand_at(t) => self.become_root(now, t),
                        // Our stagger is not over: a better candidate may
                        // still reach us (`candidacy_deadline` wakes us).
                        None => {}
                    }
                }
            } else if self.roots_earlier(t, &root.key) {
                // Our root here now roots an earlier tree: one key, one tree.
                self.parent_lost(now, t);
            } else if cand
                && !self.roots_later(t)
                && self.self_root(t).beats_in(Self::tree_index(t), cap, &root)
                && now >= self.stand_at(t)
            {
                self.become_root(now, t);
            }
        }
        self.recheck = None;
    }
}
