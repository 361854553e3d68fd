//! The sans-IO routing machine: announcements, parent selection, root
//! election, timeouts, forwarding, for up to `K` spanning trees at once.
//!
//! # Protocol
//!
//! A node runs [`Config::trees`] trees side by side; each is the protocol
//! below with its own root, chain, coordinate and parent, and every
//! announcement names its tree. Every [`Config::announce_interval`] a node
//! sends each neighbour, for each tree it has joined, either a *full*
//! announcement (its signed chain from the root plus a grant offering the
//! neighbour a slot, see [`super::announce`]) or, when that neighbour
//! already has the current chain, a 133-byte *keepalive* (root heartbeat +
//! chain digest). A change of position is announced in full at the next
//! [`Node::poll_transmit`], but never sooner than
//! [`Config::min_announce_gap`] after the previous announcement of that
//! tree to that neighbour: changes in between coalesce into one
//! announcement of the latest position, and [`Timed::poll_timeout`] says
//! when it may leave. A receiver whose stored chain does not match a
//! keepalive's digest (a full announcement was lost) asks for the chain in
//! its own messages; requests are served at most once per interval. The
//! keepalives of all trees due to one neighbour leave in one message
//! (at most [`super::announce::MAX_BUNDLE`] announcements back to back).
//! An offered grant is checked only when the node would take it.
//!
//! **Root election** (`node/candidacy.rs`). Tree 0's root is the node with
//! the highest `(rank, then smallest key)` ([`RootInfo::beats`]); a rank
//! above 0 needs a credential ([`super::credential`]), so without an
//! authority every rank is 0 and the smallest key wins. Tree `t` ≥ 1 is
//! rooted at the best candidate at least [`Config::root_spread`] hops from
//! the roots of trees `0..t`, credentialed first, then the smaller key
//! ([`RootInfo::beats_in`]); one key roots at most one tree
//! ([`AnnounceError::DuplicateRoot`]); candidates for a later tree stand
//! in order of merit (a stagger of up to two intervals), and a later
//! tree's root keeps it while an earlier tree re-forms. A node adopts a neighbour's offer when it leads to a better
//! root, or to the same root at a depth at least
//! [`Config::parent_switch_margin`] hops smaller than its current one, or
//! (with [`Config::bfs_order_parent`]) at the same depth through a parent
//! with a lexicographically smaller coordinate, a strict total order that
//! cannot cycle on a static graph; otherwise the incumbent parent stays.
//! That hysteresis, plus timeouts of several intervals, keeps the trees
//! from flapping. Every interval a node also re-checks the offers it stored
//! and asks the best one for its chain if it would now be a better parent.
//! A node never adopts a chain that contains its own key (no loops), nor a
//! root it would beat itself.
//!
//! **Grants are renewed** (`node/election.rs`, [`super::announce`]): every
//! [`super::announce::GRANT_RENEW_AGE`] heartbeats the root re-signs its
//! grants, and every node whose chain is renewed re-signs its own; a chain
//! with a grant past its lifetime is refused, so a grant the parent stopped
//! giving expires.
//!
//! **Failures.** A neighbour silent for [`Config::neighbour_timeout`] is no
//! longer used; after [`Config::silent_eviction`] it is removed from the
//! table ([`Event::NeighbourEvicted`]); a driver that sees traffic to a
//! neighbour fail reports it ([`Node::handle_link_suspect`]) and the node
//! stops using it at once. Losing the parent of a tree (link down, timeout,
//! suspicion, the parent's new chain is unusable or the parent detached)
//! *detaches* the node: it keeps its position (the coordinates others hold
//! for it and its subtree stay good for forwarding), tells its neighbours
//! it is no parent to take, asks every neighbour for its chain and
//! re-joins its own root through any attached neighbour, or a better tree.
//! Only when the root itself is lost (`node/liveness.rs`) does it become
//! its own root again (or unjoined, if it may not root that tree). A root signs a fresh sequence number every [`Config::root_refresh`];
//! a root whose number has not advanced for [`Config::root_timeout`] (plus
//! [`Config::root_timeout_per_hop`] per hop of our depth) is declared dead,
//! its last number is remembered for [`Config::dead_root_hold`] (chains
//! still carrying it are refused as [`AnnounceError::StaleRoot`]) and the
//! next best root takes over.
//!
//! **Feasibility** (as in DSDV/Babel). For each of the last
//! [`FEASIBLE_ROOTS`] roots of a tree a node remembers the smallest depth it
//! held under the newest heartbeat it saw. Under that heartbeat (or an
//! older one) it never moves deeper, neither by adopting an offer nor by
//! following its parent (it lets the parent go instead); a newer heartbeat
//! lifts the condition. Re-adopting a heartbeat it already held does not
//! refresh the root's timeout. Without this, stale chains of a lost root
//! circulate with growing depth and keep the dead root alive (measured on
//! as-733 with the root removed: depth grew one hop per round and no root
//! ever expired).
//!
//! **Forwarding** ([`Node::route`]) is [`super::greedy::decide_multi`] over
//! every live neighbour, in every tree the destination and we share.
//!
//! # Bounds
//!
//! * neighbours: the caller's table of [`NeighbourEntry`] (at most
//!   [`MAX_NEIGHBOURS`] are used; one slot number per entry, one entry per
//!   peer key);
//! * per tree, our own chain; one staging area a candidate parent's chain
//!   of several segments is verified into: `K + 1` [`ChainStore`]s, each
//!   holding at most [`MAX_DEPTH`] hops of 100 bytes ([`InlineChain`], the
//!   default: [`INLINE_CHAIN_HOPS`] hops inline, ≈ 25 KiB each; a
//!   `Vec<Hop>` with the `alloc` feature);
//! * a chain being received: one fixed-size state per neighbour and tree
//!   (running tag, last key, coordinate so far);
//! * signature cache: [`VERIFY_CACHE_ENTRIES`] × 16 bytes; verifications:
//!   [`Config::verify_budget`] per neighbour per interval;
//! * dead roots: [`DEAD_ROOTS`]; feasibility records: [`FEASIBLE_ROOTS`],
//!   per tree; events: one coalesced flag plus one eviction report per table
//!   entry;
//! * output rate: at most one announcement per neighbour and tree per
//!   [`Config::min_announce_gap`] (10/s at the default), whatever the
//!   neighbours send.
//!
//! `size_of::<Node>()` with the default `InlineChain` stores, whatever the
//! table size: about 33 KiB plus 27 KiB per tree of `K` (see
//! `BENCHMARKS.md`).
//!
//! # Where each piece lives
//!
//! | file | what |
//! |---|---|
//! | `node/mod.rs` | the [`Node`] struct, constructors, accessors |
//! | `node/table.rs` | neighbour table: entries, views per tree, links up and down, eviction |
//! | `node/receive.rs` | incoming messages (up to `MAX_BUNDLE` announcements), requests, segment verification |
//! | `node/keepalive.rs` | incoming keepalives |
//! | `node/parent.rs` | parent choice: staging, following, renewal, hysteresis, adoption |
//! | `node/election.rs` | per-tree state, our heartbeat, feasibility, detaching, becoming root, leaving a tree |
//! | `node/candidacy.rs` | who may root which tree, the stagger before a candidate stands, `settle` |
//! | `node/liveness.rs` | root heartbeats: staleness, following them down, root timeout, dead roots |
//! | `node/transmit.rs` | outgoing announcements: pacing, segments, keepalives, grants |
//! | `node/forward.rs` | locators, headers and the forwarding decision at this node |
//! | `node/timers.rs` | [`Timed`]: intervals, budget refill, timeouts, eviction |
//! | `node/verify.rs` | signature checks, their cache and the verification budget |
//! | `node/store.rs` | chain stores |
//! | `node/stats.rs` | counters, events, transmits |

use core::marker::PhantomData;

use ed25519_dalek::SigningKey;

use super::announce::{MAX_ANNOUNCE_LEN, RootInfo};
use super::config::{Config, DEFAULT_TREES, MAX_TREES};
use super::coords::Coord;
#[cfg(doc)]
use super::coords::MAX_DEPTH;
#[cfg(doc)]
use super::error::AnnounceError;
use super::greedy::LinkId;
#[cfg(doc)]
use crate::time::Timed;
use crate::time::{Instant, Monotonic};

mod candidacy;
mod election;
mod forward;
mod keepalive;
mod liveness;
mod parent;
mod receive;
mod stats;
mod store;
mod table;
#[cfg(test)]
mod tests;
mod timers;
mod transmit;
mod verify;

pub use candidacy::{CANDIDACY_HOLD, LATER_ROOT_WAIT, STAND_STAGGER_STEPS};
use election::Tree;
pub use election::{DEAD_ROOTS, FEASIBLE_ROOTS};
pub use forward::Destination;
pub use stats::{Event, Eviction, Stats, Transmit};
pub use store::{ChainOf, ChainStore, INLINE_CHAIN_HOPS, InlineChain};
pub use table::{MAX_NEIGHBOURS, NeighbourEntry};
pub use verify::{Ed25519, VERIFY_CACHE_ENTRIES, Verifier};

/// A neighbour table a node can own or borrow: anything that is a slice of
/// [`NeighbourEntry`] (`&mut [NeighbourEntry]`, an array, a `Vec`, a
/// `heapless::Vec`). Its length is the neighbour cap.
pub trait Table<const K: usize>: AsRef<[NeighbourEntry<K>]> + AsMut<[NeighbourEntry<K>]> {}

impl<X, const K: usize> Table<K> for X where
    X: AsRef<[NeighbourEntry<K>]> + AsMut<[NeighbourEntry<K>]> + ?Sized
{
}

/// The routing machine of one node.
///
/// * `V` checks signatures ([`Ed25519`] unless a driver passes its own,
///   see [`Verifier`]);
/// * `S` stores chains ([`ChainStore`]);
/// * `K` is how many trees its storage holds (at most [`MAX_TREES`];
///   [`Config::trees`] picks how many are used);
/// * `T` is the neighbour table ([`Table`]): borrowed by default, or owned
///   ([`Node::with_table`]).
pub struct Node<
    's,
    V: Verifier = Ed25519,
    S: ChainStore = InlineChain,
    const K: usize = DEFAULT_TREES,
    T: Table<K> = &'s mut [NeighbourEntry<K>],
> {
    verifier: V,
    config: Config,
    secret: SigningKey,
    public: [u8; 32],
    /// Our rank as it counts: `config.rank` with a valid credential, else 0.
    rank: u32,
    /// Our credential (zero for rank 0).
    credential: [u8; 64],
    clock: Monotonic,
    table: T,
    trees: [Tree<S>; K],
    stage: S,
    /// The tree and neighbour whose chain the staging area holds (or is
    /// receiving).
    stage_owner: Option<(usize, usize)>,
    /// Since when `stage_owner` has held the staging area (restarts of its
    /// chain do not renew it).
    stage_since: Instant,
    generation: u64,
    next_announce: Instant,
    vcache: [[u8; 16]; VERIFY_CACHE_ENTRIES],
    event: bool,
    stats: Stats,
    tx_cursor: usize,
    /// Trees from this index on must re-check their candidacy.
    recheck: Option<usize>,
    _table: PhantomData<&'s ()>,
}

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> core::fmt::Debug
    for Node<'_, V, S, K, T>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node")
            .field("public", &self.public)
            .field("rank", &self.rank)
            .field("locator", &self.locator())
            .finish_non_exhaustive()
    }
}

impl<'s> Node<'s, Ed25519> {
    /// A node with Ed25519 secret key `secret` (32-byte seed), starting as the
    /// root of its own tree 0 at `now`. `table` is the neighbour table; its
    /// length (at most [`MAX_NEIGHBOURS`] used) is the neighbour cap.
    pub fn new(
        config: Config,
        secret: &[u8; 32],
        table: &'s mut [NeighbourEntry],
        now: Instant,
    ) -> Self {
        Node::with_verifier(config, secret, table, now, Ed25519)
    }
}

impl<'s, V: Verifier> Node<'s, V> {
    /// [`Node::new`] with a custom signature [`Verifier`].
    pub fn with_verifier(
        config: Config,
        secret: &[u8; 32],
        table: &'s mut [NeighbourEntry],
        now: Instant,
        verifier: V,
    ) -> Self {
        Node::with_chain_stores(
            config,
            secret,
            table,
            now,
            verifier,
            InlineChain::new(),
            InlineChain::new(),
        )
    }
}

impl<'s, V: Verifier, S: ChainStore + Default> Node<'s, V, S> {
    /// [`Node::with_verifier`] with the caller's chain stores: `chain` for
    /// the node's own chain in tree 0 (the other trees get `S::default()`),
    /// `stage` for a candidate parent's (all are cleared; give them the same
    /// capacity, it bounds the depth the node can join at). Another number
    /// of trees or an owned table: [`Node::with_table`].
    pub fn with_chain_stores(
        config: Config,
        secret: &[u8; 32],
        table: &'s mut [NeighbourEntry],
        now: Instant,
        verifier: V,
        chain: S,
        stage: S,
    ) -> Self {
        let mut chain = Some(chain);
        let chains = core::array::from_fn(|_| chain.take().unwrap_or_default());
        Node::with_table(config, secret, table, now, verifier, chains, stage)
    }
}

impl<'s, V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'s, V, S, K, T> {
    const TREES_OK: () = assert!(K >= 1 && K <= MAX_TREES, "1 <= K <= MAX_TREES");

    /// The general constructor: any [`Table`] (owned or borrowed), one
    /// chain store per tree and the staging area (all cleared; same
    /// capacity, it bounds the depth the node can join at).
    ///
    /// The node's rank is [`Config::rank`] if [`Config::rank_credential`]
    /// verifies under [`Config::authority`], else 0 ([`Node::rank`]).
    pub fn with_table(
        config: Config,
        secret: &[u8; 32],
        mut table: T,
        now: Instant,
        verifier: V,
        chains: [S; K],
        mut stage: S,
    ) -> Self {
        let () = Self::TREES_OK;
        stage.clear();
        let secret = SigningKey::from_bytes(secret);
        let public = secret.verifying_key().to_bytes();
        for e in table.as_mut().iter_mut() {
            *e = NeighbourEntry::EMPTY;
        }
        // Our own credential is checked once, here, directly (it is not
        // network work and is not counted).
        let (rank, credential) = match (config.rank, config.authority, config.rank_credential) {
            (0, _, _) => (0, [0; 64]),
            (r, Some(a), Some(c)) if super::credential::verify_rank(&a, &public, r, &c) => (r, c),
            _ => (0, [0; 64]),
        };
        let seq = config.root_seq_start;
        let trees = chains.map(|mut c| {
            c.clear();
            Tree::new(c, public, seq, now)
        });
        let mut n = Node {
            verifier,
            config,
            secret,
            public,
            rank,
            credential,
            clock: Monotonic::new(),
            table,
            trees,
            stage,
            stage_owner: None,
            stage_since: now,
            generation: 0,
            next_announce: now,
            vcache: [[0; 16]; VERIFY_CACHE_ENTRIES],
            event: false,
            stats: Stats::default(),
            tx_cursor: 0,
            recheck: None,
            _table: PhantomData,
        };
        let now = n.clock.observe(now);
        n.become_root(now, 0);
        n.settle(now);
        n
    }

    /// This node's public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// This node's rank as it counts (0 unless credentialed).
    pub fn rank(&self) -> u32 {
        self.rank
    }

    /// This node's current coordinate in tree 0 (see [`Node::locator`] for
    /// every tree).
    pub fn coord(&self) -> &Coord {
        self.trees.first().map_or(&ROOT_COORD, |t| &t.coord)
    }

    /// The current root heartbeat of tree 0.
    pub fn root(&self) -> &RootInfo {
        self.root_in(0).unwrap_or(&NO_ROOT)
    }

    /// The current root heartbeat of tree `t`, if we have joined it.
    pub fn root_in(&self, t: usize) -> Option<&RootInfo> {
        self.trees
            .get(t)
            .filter(|tr| tr.joined && t < self.ntrees())
            .map(|tr| &tr.root)
    }

    /// Whether this node is currently the root of tree 0.
    pub fn is_root(&self) -> bool {
        self.is_root_of(0)
    }

    /// Whether this node is currently the root of tree `t`.
    pub fn is_root_of(&self, t: usize) -> bool {
        t < self.ntrees()
            && self
                .trees
                .get(t)
                .is_some_and(|tr| tr.is_own_root(&self.public))
    }

    /// The parent's link in tree 0, if any.
    pub fn parent(&self) -> Option<LinkId> {
        self.parent_in(0)
    }

    /// The parent's link in tree `t`, if any.
    pub fn parent_in(&self, t: usize) -> Option<LinkId> {
        self.trees
            .get(t)
            .and_then(|tr| tr.parent)
            .and_then(|i| self.table.as_ref().get(i))
            .and_then(|e| e.n.as_ref())
            .map(|n| n.link)
    }

    /// Trees in use ([`Config::trees`], clamped to `1..=K`).
    pub fn trees(&self) -> usize {
        self.ntrees()
    }

    /// Bumps on every change of position, in any tree.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Neighbours registered.
    pub fn neighbour_count(&self) -> usize {
        self.table.as_ref().iter().filter(|e| e.n.is_some()).count()
    }

    /// Returns the next pending event, if any: evicted neighbours first,
    /// then a coalesced position change.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some((link, reason)) = self.take_eviction() {
            return Some(Event::NeighbourEvicted { link, reason });
        }
        if core::mem::take(&mut self.event) {
            Some(Event::PositionChanged)
        } else {
            None
        }
    }
}

static ROOT_COORD: Coord = Coord::root();
static NO_ROOT: RootInfo = RootInfo {
    key: [0; 32],
    rank: 0,
    seq: 0,
    spread: 0,
    sig: [0; 64],
    credential: [0; 64],
};

/// Largest buffer [`Node::poll_transmit`] ever needs.
pub const TRANSMIT_BUF_LEN: usize = MAX_ANNOUNCE_LEN;
