//! The sans-IO routing machine: announcements, parent selection, root
//! election, timeouts, forwarding.
//!
//! # Protocol
//!
//! Every node starts as the root of its own tree. Every
//! [`Config::announce_interval`] it sends each neighbour either a *full*
//! announcement (its signed chain from the root plus a grant offering the
//! neighbour a slot, see [`super::announce`]) or, when that neighbour already
//! has the current chain, a 128-byte *keepalive* (root heartbeat + chain
//! digest). A change of position is announced in full to every neighbour at
//! the next [`Node::poll_transmit`], but never sooner than
//! [`Config::min_announce_gap`] after the previous announcement to that
//! neighbour: changes in between coalesce into one announcement of the
//! latest position, and [`Timed::poll_timeout`] says when it may leave. A receiver whose stored chain does not
//! match a keepalive's digest (a full announcement was lost) sets the "send
//! me a full announcement" flag in its own messages; such requests are
//! served at most once per interval.
//!
//! **Root election.** The root is the node with the highest
//! `(rank, then smallest key)` ([`RootInfo::beats`]). A node adopts a
//! neighbour's offer when it leads to a better root, or to the same root at a
//! depth at least [`Config::parent_switch_margin`] hops smaller than its
//! current one, or (with [`Config::bfs_order_parent`]) at the same depth
//! through a parent with a lexicographically smaller coordinate, a strict
//! total order that cannot cycle on a static graph; otherwise the incumbent
//! parent stays. That hysteresis, plus timeouts of several intervals, keeps
//! the tree from flapping. Every interval a node also re-checks the offers it
//! stored and asks the best one for a full announcement if it would now be a
//! better parent. A node never adopts a chain that contains its own key (no
//! loops), nor a root it would beat itself.
//!
//! **Failures.** A neighbour silent for [`Config::neighbour_timeout`] is no
//! longer used. Losing the parent (link down, timeout, the parent's new chain
//! is unusable) makes the node its own root again and asks every neighbour
//! for a full announcement, from which it re-joins the best tree. The root
//! signs a fresh sequence number every [`Config::root_refresh`]; a root whose
//! number has not advanced for [`Config::root_timeout`] (plus
//! [`Config::root_timeout_per_hop`] per hop of our depth) is declared dead, its
//! last number is remembered for [`Config::dead_root_hold`] (chains still
//! carrying it are refused as [`AnnounceError::StaleRoot`]) and the next best
//! root takes over.
//!
//! **Feasibility** (as in DSDV/Babel). For each of the last
//! [`FEASIBLE_ROOTS`] roots a node remembers the smallest depth it held under
//! the newest heartbeat it saw. Under that heartbeat (or an older one) it
//! never moves deeper, neither by adopting an offer nor by following its
//! parent (it lets the parent go instead); a newer heartbeat lifts the
//! condition. Re-adopting a heartbeat it already held does not refresh the
//! root's timeout. Without this, stale chains of a lost root circulate with
//! growing depth and keep the dead root alive (measured on as-733 with the
//! root removed: depth grew one hop per round and no root ever expired).
//!
//! **Forwarding** ([`Node::route`]) is [`super::greedy::decide`] over every
//! live neighbour under the same root.
//!
//! # Bounds
//!
//! * neighbours: the caller's `&mut [NeighbourEntry]` (at most
//!   [`MAX_NEIGHBOURS`] are used; one slot number per entry);
//! * own chain and the staging area a candidate parent's chain is verified
//!   into: two [`ChainStore`]s, each holding at most [`MAX_DEPTH`] hops of 98
//!   bytes ([`InlineChain`], the default: [`INLINE_CHAIN_HOPS`] hops inline,
//!   ≈ 25 KiB each; a `Vec<Hop>` with the `alloc` feature);
//! * a chain being received: one fixed-size state per neighbour (running
//!   tag, last key, coordinate so far); deep chains arrive in segments and
//!   are never buffered whole except in the staging area;
//! * signature cache: [`VERIFY_CACHE_ENTRIES`] × 16 bytes;
//! * dead roots: [`DEAD_ROOTS`]; feasibility records: [`FEASIBLE_ROOTS`];
//!   events: one coalesced flag;
//! * output rate: at most one announcement per neighbour per
//!   [`Config::min_announce_gap`] (10/s at the default), whatever the
//!   neighbours send.
//!
//! `size_of::<Node>()` is ≈ 60 KiB (60,664 bytes on x86-64) with the
//! default stores, whatever the table size.

//!
//! # Where each piece lives
//!
//! | file | what |
//! |---|---|
//! | `node/mod.rs` | the [`Node`] struct, constructors, accessors |
//! | `node/table.rs` | neighbour table: entries, views, links up and down |
//! | `node/receive.rs` | incoming announcements: keepalives, segment verification |
//! | `node/parent.rs` | parent choice: staging, hysteresis, re-checks, adoption |
//! | `node/election.rs` | root election and liveness: heartbeats, feasibility, dead roots |
//! | `node/transmit.rs` | outgoing announcements: pacing, segments, keepalives, grants |
//! | `node/forward.rs` | the forwarding decision at this node |
//! | `node/timers.rs` | [`Timed`]: intervals and timeouts |
//! | `node/verify.rs` | signature checks and their cache |
//! | `node/store.rs` | chain stores |
//! | `node/stats.rs` | counters, events, transmits |

use ed25519_dalek::SigningKey;

use super::announce::{MAX_ANNOUNCE_LEN, RootInfo};
use super::config::Config;
use super::coords::Coord;
#[cfg(doc)]
use super::coords::MAX_DEPTH;
#[cfg(doc)]
use super::error::AnnounceError;
use super::greedy::LinkId;
#[cfg(doc)]
use crate::time::Timed;
use crate::time::{Instant, Monotonic};

mod election;
mod forward;
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

pub use election::{DEAD_ROOTS, FEASIBLE_ROOTS};
use election::{DeadRoot, Feasible};
pub use stats::{Event, Stats, Transmit};
pub use store::{ChainOf, ChainStore, INLINE_CHAIN_HOPS, InlineChain};
pub use table::{MAX_NEIGHBOURS, NeighbourEntry};
pub use verify::{Ed25519, VERIFY_CACHE_ENTRIES, Verifier};

/// The routing machine of one node.
///
/// `V` checks signatures ([`Ed25519`] unless a driver passes its own, see
/// [`Verifier`]).
pub struct Node<'s, V: Verifier = Ed25519, S: ChainStore = InlineChain> {
    verifier: V,
    config: Config,
    secret: SigningKey,
    public: [u8; 32],
    clock: Monotonic,
    table: &'s mut [NeighbourEntry],
    root: RootInfo,
    chain: S,
    stage: S,
    /// The neighbour whose chain the staging area holds (or is receiving).
    stage_owner: Option<usize>,
    /// Since when `stage_owner` has held the staging area (restarts of its
    /// chain do not renew it).
    stage_since: Instant,
    coord: Coord,
    parent: Option<usize>,
    generation: u64,
    own_seq: u64,
    root_heard: Instant,
    next_announce: Instant,
    next_root_refresh: Instant,
    dead: heapless::Vec<DeadRoot, DEAD_ROOTS>,
    vcache: [[u8; 16]; VERIFY_CACHE_ENTRIES],
    event: bool,
    stats: Stats,
    tx_cursor: usize,
    tag_cache: Option<(u64, [u8; 32])>,
    feasible: heapless::Vec<Feasible, FEASIBLE_ROOTS>,
}

impl<V: Verifier, S: ChainStore> core::fmt::Debug for Node<'_, V, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node")
            .field("public", &self.public)
            .field("root", &self.root.key)
            .field("coord", &self.coord)
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

impl<'s> Node<'s, Ed25519> {
    /// A node with Ed25519 secret key `secret` (32-byte seed), starting as the
    /// root of its own tree at `now`. `table` is the neighbour table; its
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

/// Largest buffer [`Node::poll_transmit`] ever needs.
pub const TRANSMIT_BUF_LEN: usize = MAX_ANNOUNCE_LEN;

impl<'s, V: Verifier, S: ChainStore> Node<'s, V, S> {
    /// [`Node::with_verifier`] with the caller's chain stores: `chain` for
    /// the node's own chain, `stage` for a candidate parent's (both are
    /// cleared; give them the same capacity, it bounds the depth the node can
    /// join at).
    pub fn with_chain_stores(
        config: Config,
        secret: &[u8; 32],
        table: &'s mut [NeighbourEntry],
        now: Instant,
        verifier: V,
        mut chain: S,
        mut stage: S,
    ) -> Self {
        chain.clear();
        stage.clear();
        let secret = SigningKey::from_bytes(secret);
        let public = secret.verifying_key().to_bytes();
        for e in table.iter_mut() {
            *e = NeighbourEntry::EMPTY;
        }
        let len = table.len().min(MAX_NEIGHBOURS);
        let table = match table.get_mut(..len) {
            Some(t) => t,
            None => &mut [],
        };
        let mut n = Node {
            verifier,
            config,
            secret,
            public,
            clock: Monotonic::new(),
            table,
            root: RootInfo {
                key: public,
                rank: config.rank,
                seq: config.root_seq_start,
                sig: [0; 64],
            },
            chain,
            stage,
            stage_owner: None,
            stage_since: now,
            coord: Coord::root(),
            parent: None,
            generation: 0,
            own_seq: config.root_seq_start,
            root_heard: now,
            next_announce: now,
            next_root_refresh: now,
            dead: heapless::Vec::new(),
            vcache: [[0; 16]; VERIFY_CACHE_ENTRIES],
            event: false,
            stats: Stats::default(),
            tx_cursor: 0,
            tag_cache: None,
            feasible: heapless::Vec::new(),
        };
        let now = n.clock.observe(now);
        n.become_root(now);
        n
    }

    /// This node's public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// This node's current coordinate.
    pub fn coord(&self) -> &Coord {
        &self.coord
    }

    /// The current root heartbeat.
    pub fn root(&self) -> &RootInfo {
        &self.root
    }

    /// Whether this node is currently the root of its tree.
    pub fn is_root(&self) -> bool {
        self.root.key == self.public
    }

    /// The parent's link, if any.
    pub fn parent(&self) -> Option<LinkId> {
        self.parent
            .and_then(|i| self.table.get(i))
            .and_then(|e| e.n.as_ref())
            .map(|n| n.link)
    }

    /// Bumps on every change of position.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Neighbours registered.
    pub fn neighbour_count(&self) -> usize {
        self.table.iter().filter(|e| e.n.is_some()).count()
    }

    /// Returns the pending event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        if core::mem::take(&mut self.event) {
            Some(Event::PositionChanged)
        } else {
            None
        }
    }
}
