//! The neighbour table: one caller-provided entry per link, what we know
//! of each neighbour's position in each tree, links coming and going, and
//! who gets evicted.
//!
//! * **One link per key.** A link up for a key that already holds an entry
//!   replaces the old link in the same entry (same slot, so the neighbour
//!   keeps its coordinate under us); the old link is reported as
//!   [`Event::NeighbourEvicted`] with [`Eviction::Replaced`].
//! * **A full table replaces its worst neighbour** rather than refusing a
//!   newcomer: an *idle* neighbour (no verified position in any tree, our
//!   parent in none, registered for at least [`Config::neighbour_timeout`])
//!   that has been silent longest gives up its entry
//!   ([`Eviction::TableFull`]). A table whose every neighbour is useful
//!   refuses the newcomer ([`LinkError::TableFull`]).
//! * **Silent neighbours leave.** Nothing valid for
//!   [`Config::silent_eviction`]: evicted ([`Eviction::Silent`]).
//! * A freed entry is reused last (the oldest freed first): a slot granted
//!   to a neighbour that left is not handed to the next one while its old
//!   grant may still be replayed.

use super::super::announce::{Hop, RootInfo};
use super::super::config::DEFAULT_TREES;
use super::super::coords::Coord;
use super::super::error::LinkError;
use super::super::greedy::LinkId;
use super::stats::Eviction;
use super::{ChainStore, Node, Table, Verifier};
#[cfg(doc)]
use super::{Config, Event};
use crate::time::{Duration, Instant};

/// Neighbour entries a node uses at most (slot numbers are non-zero `u16`).
pub const MAX_NEIGHBOURS: usize = u16::MAX as usize;

/// One entry of the caller-provided neighbour table, for a node of `K`
/// trees.
///
/// About 1.1 KiB plus 1.3 KiB per tree on x86-64
/// (`size_of::<NeighbourEntry<K>>()`: 1 tree 1,392 bytes, 4 trees 5,088;
/// most of it one run-length coordinate of up to [`super::super::MAX_RUNS`]
/// runs per tree); a node with a table of `n` entries uses `n` × that for
/// neighbours. An entry's index `i` is the slot `i + 1` this node grants to
/// that neighbour, in every tree.
#[derive(Clone, Debug)]
pub struct NeighbourEntry<const K: usize = DEFAULT_TREES> {
    pub(super) n: Option<Neighbour<K>>,
    /// A link removed from this entry, not yet reported by `poll_event`.
    pub(super) evicted: Option<(LinkId, Eviction)>,
    /// When the entry was last freed (entries are reused oldest-freed first).
    pub(super) freed_at: Option<Instant>,
}

impl<const K: usize> NeighbourEntry<K> {
    /// An unused entry.
    pub const EMPTY: Self = NeighbourEntry {
        n: None,
        evicted: None,
        freed_at: None,
    };
}

impl<const K: usize> Default for NeighbourEntry<K> {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// A registered neighbour.
#[derive(Clone, Debug)]
pub(super) struct Neighbour<const K: usize> {
    pub(super) link: LinkId,
    pub(super) key: [u8; 32],
    /// When the link was registered.
    pub(super) up_at: Instant,
    /// Last valid sign of life (an accepted announcement, or one refused
    /// only for being out of sync or over budget).
    pub(super) alive_at: Instant,
    /// Verifications it may still cost us (a bucket refilled every
    /// interval).
    pub(super) tokens: u32,
    /// Per tree.
    pub(super) trees: [Peer; K],
}

/// What we know of, and owe to, one neighbour in one tree.
#[derive(Clone, Debug)]
pub(super) struct Peer {
    /// Last accepted announcement of this tree.
    pub(super) last_heard: Instant,
    /// What we know of its position.
    pub(super) view: View,
    pub(super) due: bool,
    /// Our tree version it last got in full, and our position then.
    pub(super) sent_version: Option<u64>,
    pub(super) sent_position: Option<u64>,
    pub(super) since_full: u16,
    /// Our request to it: its chain from this hop on.
    pub(super) we_want: Option<u16>,
    /// Its request to us: our chain from this hop on.
    pub(super) they_want: Option<u16>,
    /// When we last sent it a full announcement.
    pub(super) last_full: Option<Instant>,
    /// When we last sent it anything ([`Config::min_announce_gap`]).
    pub(super) last_out: Option<Instant>,
    /// Our grant to it, signed for one (position, epoch) of the tree.
    pub(super) grant: Option<(u64, u64, Hop)>,
    /// Our announcement to it in progress: (tree version, next segment start).
    pub(super) tx_next: Option<(u64, u16)>,
    /// Verification stopped for the budget: ask again from this hop at the
    /// next interval.
    pub(super) deferred: Option<u16>,
}

impl Peer {
    pub(super) fn new(now: Instant) -> Self {
        Peer {
            last_heard: now,
            view: View::None,
            due: true,
            sent_version: None,
            sent_position: None,
            since_full: 0,
            we_want: None,
            they_want: None,
            last_full: None,
            last_out: None,
            grant: None,
            tx_next: None,
            deferred: None,
        }
    }

    pub(super) fn info(&self) -> Option<&PeerInfo> {
        match &self.view {
            View::Ready(i) => Some(i),
            _ => None,
        }
    }

    pub(super) fn info_mut(&mut self) -> Option<&mut PeerInfo> {
        match &mut self.view {
            View::Ready(i) => Some(i),
            _ => None,
        }
    }

    pub(super) fn rx(&self) -> Option<&Partial> {
        match &self.view {
            View::Receiving(p) => Some(p),
            _ => None,
        }
    }

    /// The chain being received, if any (the view becomes empty then);
    /// a verified chain stays.
    pub(super) fn take_rx(&mut self) -> Option<Partial> {
        match core::mem::replace(&mut self.view, View::None) {
            View::Receiving(p) => Some(p),
            other => {
                self.view = other;
                None
            }
        }
    }

    /// Anything heard that the neighbour timeout applies to.
    pub(super) fn heard(&self) -> bool {
        !matches!(self.view, View::None)
    }

    /// When the pacing gap lets the next announcement to it leave.
    pub(super) fn next_allowed(&self, gap: Duration) -> Option<Instant> {
        self.last_out.map(|t| t.saturating_add(gap))
    }

    /// Whether pacing holds its next announcement back at `now`.
    pub(super) fn paced(&self, gap: Duration, now: Instant) -> bool {
        self.next_allowed(gap).is_some_and(|at| now < at)
    }

    /// Whether what it is owed of our position `version` is a full
    /// announcement rather than a keepalive: it has not had this version,
    /// it asked for our chain, or `refresh_every` intervals (0: never)
    /// passed since the last full one.
    pub(super) fn owes_full(&self, version: u64, refresh_every: u16) -> bool {
        self.sent_version != Some(version)
            || self.they_want.is_some()
            || (refresh_every != 0 && self.since_full >= refresh_every)
    }
}

/// A neighbour's chain being received: everything needed to verify the next
/// segment, in fixed size whatever the depth.
#[derive(Clone, Debug)]
pub(super) struct Partial {
    pub(super) root: RootInfo,
    pub(super) total: u16,
    /// The chain's digest, as its segments name it.
    pub(super) digest: [u8; 16],
    /// Hops received so far.
    pub(super) next: u16,
    /// Prefix tag after `next` hops.
    pub(super) tag: [u8; 32],
    /// Key of the last hop received (the root's at the start).
    pub(super) upper: [u8; 32],
    /// `tag` and `upper` before the last hop received (what signed it).
    pub(super) prev_tag: [u8; 32],
    pub(super) prev_upper: [u8; 32],
    pub(super) coord: Coord,
    /// Epoch of the last hop so far.
    pub(super) last_epoch: u64,
    pub(super) contains_me: bool,
    /// Every hop so far equals ours at the same depth (already verified).
    pub(super) same_as_ours: bool,
    /// Every hop so far names the same key and slot as ours (ours renewed
    /// if the signatures differ).
    pub(super) same_keys: bool,
    /// The hops are being copied into the staging area.
    pub(super) staged: bool,
}

/// A neighbour's position as we know it: nothing usable, a verified
/// chain, or a chain still arriving in segments (one or the other, so an
/// entry holds one coordinate per tree).
#[derive(Clone, Debug)]
pub(super) enum View {
    None,
    Ready(PeerInfo),
    Receiving(Partial),
}

/// A neighbour's verified position in one tree.
#[derive(Clone, Debug)]
pub(super) struct PeerInfo {
    pub(super) root: RootInfo,
    pub(super) coord: Coord,
    pub(super) digest: [u8; 16],
    /// Epoch of its own grant (the last hop of its chain; 0 for a root).
    pub(super) last_epoch: u64,
    /// Its prefix tag (its position).
    pub(super) tag: [u8; 32],
    /// The prefix tag and key of its parent (what its own grant is signed
    /// under and by): a renewed grant is checked against them alone.
    pub(super) parent_tag: [u8; 32],
    pub(super) parent_key: [u8; 32],
    /// Our key is in its chain.
    pub(super) contains_me: bool,
    /// It offered us a valid grant (so it could be our parent).
    pub(super) offer: bool,
}

impl<const K: usize> Neighbour<K> {
    fn new(link: LinkId, key: [u8; 32], now: Instant, tokens: u32) -> Self {
        Neighbour {
            link,
            key,
            up_at: now,
            alive_at: now,
            tokens,
            trees: core::array::from_fn(|_| Peer::new(now)),
        }
    }

    pub(super) fn peer(&self, t: usize) -> Option<&Peer> {
        self.trees.get(t)
    }

    pub(super) fn peer_mut(&mut self, t: usize) -> Option<&mut Peer> {
        self.trees.get_mut(t)
    }

    /// No verified position in any tree.
    fn idle(&self) -> bool {
        self.trees.iter().all(|p| p.info().is_none())
    }
}

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    pub(super) fn find_link(&mut self, link: LinkId) -> Option<usize> {
        self.table
            .as_mut()
            .iter()
            .position(|e| e.n.as_ref().is_some_and(|n| n.link == link))
    }

    /// Registers a link to a neighbour whose (already authenticated, e.g. by
    /// Noise) public key is `peer`. A full announcement to it is due at once.
    ///
    /// A key already registered on another link moves to this link (same
    /// entry and slot); the old link is reported by [`Node::poll_event`] as
    /// [`Event::NeighbourEvicted`] ([`Eviction::Replaced`]). A full table
    /// evicts its worst idle neighbour for the newcomer
    /// ([`Eviction::TableFull`]), see the module docs. Drain
    /// [`Node::poll_event`] afterwards.
    ///
    /// # Errors
    /// [`LinkError`]; nothing changes.
    pub fn handle_link_up(
        &mut self,
        now: Instant,
        link: LinkId,
        peer: [u8; 32],
    ) -> Result<(), LinkError> {
        let now = self.clock.observe(now);
        if peer == self.public {
            return Err(LinkError::SelfLink);
        }
        if self.find_link(link).is_some() {
            return Err(LinkError::Duplicate);
        }
        let tokens = self.burst();
        let same_key = self
            .table
            .as_mut()
            .iter()
            .position(|e| e.n.as_ref().is_some_and(|n| n.key == peer));
        let (idx, evict) = match same_key {
            Some(i) => (i, Some(Eviction::Replaced)),
            None => match self.free_entry() {
                Some(i) => (i, None),
                None => match self.worst_idle(now) {
                    Some(i) => (i, Some(Eviction::TableFull)),
                    None => {
                        self.stats.table_full = self.stats.table_full.saturating_add(1);
                        return Err(LinkError::TableFull);
                    }
                },
            },
        };
        if let Some(reason) = evict {
            self.remove_entry(now, idx, Some(reason));
        }
        if let Some(e) = self.table.as_mut().get_mut(idx) {
            e.n = Some(Neighbour::new(link, peer, now, tokens));
        }
        Ok(())
    }

    /// A free entry: never used first, then the one freed longest ago;
    /// entries with an unreported eviction last.
    fn free_entry(&mut self) -> Option<usize> {
        self.table
            .as_mut()
            .iter()
            .enumerate()
            .filter(|(_, e)| e.n.is_none())
            .min_by_key(|(i, e)| (e.evicted.is_some(), e.freed_at, *i))
            .map(|(i, _)| i)
    }

    /// The idle neighbour silent longest, registered for at least a
    /// neighbour timeout and nobody's parent.
    fn worst_idle(&mut self, now: Instant) -> Option<usize> {
        let grace = self.config.neighbour_timeout;
        let parents: [Option<usize>; K] =
            core::array::from_fn(|t| self.trees.get(t).and_then(|tr| tr.parent));
        self.table
            .as_mut()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.n.as_ref().map(|n| (i, n)))
            .filter(|(i, n)| {
                n.idle() && !parents.contains(&Some(*i)) && n.up_at.saturating_add(grace) <= now
            })
            .min_by_key(|(i, n)| (n.alive_at, *i))
            .map(|(i, _)| i)
    }

    /// Frees entry `idx` (reporting the link if `reason`), letting go of
    /// every tree it was our parent in.
    pub(super) fn remove_entry(&mut self, now: Instant, idx: usize, reason: Option<Eviction>) {
        let Some(e) = self.table.as_mut().get_mut(idx) else {
            return;
        };
        let Some(n) = e.n.take() else {
            return;
        };
        e.freed_at = Some(now);
        if let Some(reason) = reason {
            if e.evicted.is_some() {
                self.stats.eviction_reports_lost =
                    self.stats.eviction_reports_lost.saturating_add(1);
            }
            e.evicted = Some((n.link, reason));
            self.stats.evictions = self.stats.evictions.saturating_add(1);
        }
        if self.stage_owner.is_some_and(|(_, o)| o == idx) {
            self.stage_owner = None;
        }
        for t in 0..K {
            if self.trees.get(t).is_some_and(|tr| tr.parent == Some(idx)) {
                self.parent_gone(t);
            }
        }
        let _ = now;
    }

    /// Forgets a link (closed by the driver). Losing a parent link makes
    /// the node re-join that tree from its other neighbours. A link the
    /// node already evicted (or never had) is ignored.
    pub fn handle_link_down(&mut self, now: Instant, link: LinkId) {
        let now = self.clock.observe(now);
        if let Some(i) = self.find_link(link) {
            self.remove_entry(now, i, None);
        }
    }

    /// The driver's report that traffic to `link`'s neighbour is not getting
    /// through (no acknowledgement in time, a failed send): the node stops
    /// using that neighbour, in every tree, until it hears a valid
    /// announcement from it again, as after a neighbour timeout but at
    /// once; where it was our parent we detach and look for another. The
    /// link stays registered (it may recover). An unknown link is ignored.
    pub fn handle_link_suspect(&mut self, now: Instant, link: LinkId) {
        let _ = self.clock.observe(now);
        let Some(idx) = self.find_link(link) else {
            return;
        };
        self.stats.suspected = self.stats.suspected.saturating_add(1);
        for t in 0..K {
            if let Some(p) = self
                .table
                .as_mut()
                .get_mut(idx)
                .and_then(|e| e.n.as_mut())
                .and_then(|n| n.peer_mut(t))
            {
                p.view = View::None;
                p.we_want = Some(0);
                p.due = true;
            }
            if self.trees.get(t).is_some_and(|tr| tr.parent == Some(idx)) {
                self.parent_gone(t);
            }
        }
        self.settle(self.clock.latest());
    }

    /// The first unreported eviction, cleared.
    pub(super) fn take_eviction(&mut self) -> Option<(LinkId, Eviction)> {
        self.table
            .as_mut()
            .iter_mut()
            .find_map(|e| e.evicted.take())
    }
}
