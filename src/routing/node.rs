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

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::announce::{
    Announcement, Full, Hop, KEEPALIVE_LEN, Keepalive, MAX_ANNOUNCE_LEN, RootInfo, SEGMENT_HOPS,
    chain_tag, digest_of_tag, encode_keepalive, encode_segment, grant_message, next_tag,
    root_message, root_tag, segment_len,
};
use super::config::Config;
use super::coords::{Coord, MAX_DEPTH};
use super::error::{AnnounceError, LinkError};
use super::greedy::{Decision, Header, LinkId, PacketKind, decide};
use crate::error::BufferTooSmall;
use crate::time::{Duration, Instant, Monotonic, Timed};

/// Neighbour entries a node uses at most (slot numbers are non-zero `u16`).
pub const MAX_NEIGHBOURS: usize = u16::MAX as usize;
/// Entries of the verified-signature cache (16 bytes each).
pub const VERIFY_CACHE_ENTRIES: usize = 512;
/// Dead roots remembered at once (the oldest is forgotten first).
pub const DEAD_ROOTS: usize = 8;
/// Hops of the default chain store, [`InlineChain`].
pub const INLINE_CHAIN_HOPS: usize = 255;

/// Storage for a chain of hops: a node has two, its own chain and the
/// staging area a candidate parent's chain is verified into before it is
/// adopted. The capacity (at most [`MAX_DEPTH`]) is the deepest chain the
/// node can join under: a node whose stores hold `c` hops takes positions
/// down to depth `c`.
pub trait ChainStore {
    /// The hops, from the root's child down.
    fn hops(&self) -> &[Hop];
    /// Empties the store.
    fn clear(&mut self);
    /// Appends a hop; `false`, and nothing stored, when full.
    fn push(&mut self, hop: Hop) -> bool;
    /// Most hops it holds (the node uses at most [`MAX_DEPTH`]).
    fn capacity(&self) -> usize;
}

/// An inline chain store of `N` hops (98 × `N` bytes, no allocation).
/// Firmware that knows its network is shallow picks a small `N` and passes
/// two of them to [`Node::with_chain_stores`]; the node then joins at depth
/// `N` at most.
pub type ChainOf<const N: usize> = heapless::Vec<Hop, N>;

/// The default chain store: [`INLINE_CHAIN_HOPS`] hops inline (≈ 25 KiB).
pub type InlineChain = ChainOf<INLINE_CHAIN_HOPS>;

impl<const N: usize> ChainStore for heapless::Vec<Hop, N> {
    fn hops(&self) -> &[Hop] {
        self
    }
    fn clear(&mut self) {
        heapless::Vec::clear(self);
    }
    fn push(&mut self, hop: Hop) -> bool {
        heapless::Vec::push(self, hop).is_ok()
    }
    fn capacity(&self) -> usize {
        N.min(MAX_DEPTH)
    }
}

/// A heap store that grows to [`MAX_DEPTH`] hops (3.2 MB) and no further;
/// `clear` gives the memory back. For hosts and simulations of deep trees.
#[cfg(feature = "alloc")]
impl ChainStore for alloc::vec::Vec<Hop> {
    fn hops(&self) -> &[Hop] {
        self
    }
    fn clear(&mut self) {
        *self = alloc::vec::Vec::new();
    }
    fn push(&mut self, hop: Hop) -> bool {
        if self.len() >= MAX_DEPTH {
            return false;
        }
        alloc::vec::Vec::push(self, hop);
        true
    }
    fn capacity(&self) -> usize {
        MAX_DEPTH
    }
}

/// One entry of the caller-provided neighbour table.
///
/// 1,432 bytes on x86-64 (`size_of::<NeighbourEntry>()`, most of it one
/// run-length coordinate of up to [`super::MAX_RUNS`] runs); a node with a table of
/// `n` entries uses `n` × that for neighbours. An entry's index `i` is the
/// slot `i + 1` this node grants to that neighbour.
#[derive(Clone, Debug, Default)]
pub struct NeighbourEntry {
    n: Option<Neighbour>,
}

impl NeighbourEntry {
    /// An unused entry.
    pub const EMPTY: NeighbourEntry = NeighbourEntry { n: None };
}

#[derive(Clone, Debug)]
struct Neighbour {
    link: LinkId,
    key: [u8; 32],
    last_heard: Instant,
    /// What we know of its position.
    view: View,
    due: bool,
    sent_gen: Option<u64>,
    since_full: u16,
    we_want_full: bool,
    they_want_full: bool,
    /// When we last sent it a full announcement.
    last_full: Option<Instant>,
    /// When we last sent it anything ([`Config::min_announce_gap`]).
    last_out: Option<Instant>,
    grant: Option<(u64, [u8; 64])>,
    /// Our announcement to it in progress: (generation, next segment start).
    tx_next: Option<(u64, u16)>,
}

/// A neighbour's chain being received: everything needed to verify the next
/// segment, in fixed size whatever the depth.
#[derive(Clone, Debug)]
struct Partial {
    root: RootInfo,
    total: u16,
    /// Hops received so far.
    next: u16,
    /// Prefix tag after `next` hops.
    tag: [u8; 32],
    /// Key of the last hop received (the root's at the start).
    upper: [u8; 32],
    coord: Coord,
    contains_me: bool,
    /// Every hop so far equals ours at the same depth (already verified).
    same_as_ours: bool,
    /// The hops are being copied into the staging area.
    staged: bool,
}

/// A neighbour's position as we know it: nothing usable, a verified
/// chain, or a chain still arriving in segments (one or the other, so an
/// entry holds one coordinate).
#[derive(Clone, Debug)]
enum View {
    None,
    Ready(PeerInfo),
    Receiving(Partial),
}

impl Neighbour {
    fn info(&self) -> Option<&PeerInfo> {
        match &self.view {
            View::Ready(i) => Some(i),
            _ => None,
        }
    }

    fn info_mut(&mut self) -> Option<&mut PeerInfo> {
        match &mut self.view {
            View::Ready(i) => Some(i),
            _ => None,
        }
    }

    fn rx(&self) -> Option<&Partial> {
        match &self.view {
            View::Receiving(p) => Some(p),
            _ => None,
        }
    }

    /// The chain being received, if any (the view becomes empty then);
    /// a verified chain stays.
    fn take_rx(&mut self) -> Option<Partial> {
        match core::mem::replace(&mut self.view, View::None) {
            View::Receiving(p) => Some(p),
            other => {
                self.view = other;
                None
            }
        }
    }

    /// Anything heard that the neighbour timeout applies to.
    fn heard(&self) -> bool {
        !matches!(self.view, View::None)
    }

    /// When the pacing gap lets the next announcement to it leave.
    fn next_allowed(&self, gap: Duration) -> Option<Instant> {
        self.last_out.map(|t| t.saturating_add(gap))
    }
}

#[derive(Clone, Debug)]
struct PeerInfo {
    root: RootInfo,
    coord: Coord,
    digest: [u8; 16],
    /// It offered us a valid grant (so it could be our parent).
    offer: bool,
}

#[derive(Clone, Copy, Debug)]
struct DeadRoot {
    key: [u8; 32],
    seq: u64,
    at: Instant,
}

/// Counters of everything the machine did, refused or dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Announcements accepted (full and keepalive).
    pub announcements_in: u64,
    /// Announcements written by [`Node::poll_transmit`].
    pub announcements_out: u64,
    /// Full announcements written.
    pub full_out: u64,
    /// Refused: malformed or too deep.
    pub rejected_malformed: u64,
    /// Refused: unregistered link.
    pub rejected_unknown_link: u64,
    /// Refused: wrong sender or grant not for us.
    pub rejected_identity: u64,
    /// Refused: a signature did not verify.
    pub rejected_signature: u64,
    /// Refused: a key repeated in the chain.
    pub rejected_loop: u64,
    /// Refused: chain of a dead root.
    pub rejected_stale_root: u64,
    /// Keepalives that did not match the stored chain.
    pub unknown_digest: u64,
    /// Segments that did not continue the chain being received.
    pub out_of_order: u64,
    /// Ed25519 verifications performed.
    pub signatures_verified: u64,
    /// Signature checks answered by the cache or by our own chain.
    pub signature_cache_hits: u64,
    /// Times the parent changed (including to none).
    pub parent_changes: u64,
    /// Times the root changed.
    pub root_changes: u64,
    /// Roots declared dead.
    pub roots_expired: u64,
    /// Neighbours timed out.
    pub neighbour_timeouts: u64,
    /// Packets delivered here.
    pub delivered: u64,
    /// Packets forwarded.
    pub forwarded: u64,
    /// Dead ends reported as path broken.
    pub path_broken: u64,
    /// Packets dropped (dead-ended notices, root mismatch of a notice).
    pub dropped: u64,
    /// Links refused because the table was full.
    pub table_full: u64,
}

/// An event for the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// This node's coordinate or root changed (coalesced: one event however
    /// many changes happened since the last poll). Read [`Node::coord`].
    PositionChanged,
}

/// An announcement written by [`Node::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The link to send it on.
    pub link: LinkId,
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
}

/// Checks an Ed25519 signature. The node calls it for every signature it
/// has not verified before (it keeps its own small cache in front).
///
/// [`Ed25519`] is the real check. A driver that runs many nodes in one
/// process (a simulator) may pass a memoizing wrapper shared by all nodes:
/// verification is a pure function of `(key, msg, sig)`, so memoizing it
/// changes no decision, only the simulation's cost.
pub trait Verifier {
    /// Whether `sig` is a valid strict Ed25519 signature of `msg` by `key`.
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool;
}

/// The Ed25519 verifier (ed25519-dalek `verify_strict`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519;

impl Verifier for Ed25519 {
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        VerifyingKey::from_bytes(key)
            .map(|k| k.verify_strict(msg, &Signature::from_bytes(sig)).is_ok())
            .unwrap_or(false)
    }
}

impl<V: Verifier + ?Sized> Verifier for &mut V {
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        (**self).verify(key, msg, sig)
    }
}

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

/// Roots whose feasibility record a node keeps (the oldest is forgotten).
pub const FEASIBLE_ROOTS: usize = 4;

/// The smallest depth this node has held under one root heartbeat
/// (key, rank, seq): the feasibility condition (as in DSDV/Babel) that stops
/// stale chains from circulating with growing depth after a failure.
#[derive(Clone, Copy, Debug)]
struct Feasible {
    key: [u8; 32],
    rank: u32,
    seq: u64,
    depth: usize,
    /// When this heartbeat was first heard: re-adopting the same heartbeat
    /// later does not make the root look fresh again.
    heard: Instant,
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

fn cache_tag(signer: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> [u8; 16] {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/sigcache/v1");
    h.update(signer);
    h.update(sig);
    h.update(msg);
    let out = h.finalize();
    let mut t = [0u8; 16];
    t.copy_from_slice(out.get(..16).unwrap_or(&[0u8; 16]));
    t
}

/// Cache tag of one verified hop: its prefix tag (which commits to the
/// signer, the position and the child) and its signature.
fn hop_cache_tag(tag: &[u8; 32], sig: &[u8; 64]) -> [u8; 16] {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/hopcache/v2");
    h.update(tag);
    h.update(sig);
    let out = h.finalize();
    let mut t = [0u8; 16];
    t.copy_from_slice(out.get(..16).unwrap_or(&[0u8; 16]));
    t
}

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

    /// A data header from this node to `dest` (under the current root).
    pub fn header_to(&self, dest: Coord) -> Header {
        Header::new(self.root.key, dest, self.coord.clone())
    }

    fn self_root(&self) -> RootInfo {
        RootInfo {
            key: self.public,
            rank: self.config.rank,
            seq: self.own_seq,
            sig: [0; 64],
        }
    }

    fn sign_heartbeat(&mut self) {
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
    fn feasible(&self, root: &RootInfo, depth: usize) -> bool {
        match self.record(root) {
            Some(f) if root.seq <= f.seq => depth <= f.depth,
            _ => true,
        }
    }

    fn record(&self, root: &RootInfo) -> Option<&Feasible> {
        self.feasible
            .iter()
            .find(|f| f.key == root.key && f.rank == root.rank)
    }

    /// Records the current position in the feasibility state (not while we
    /// are our own root).
    fn note_feasible(&mut self) {
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

    fn position_changed(&mut self) {
        self.note_feasible();
        self.generation = self.generation.wrapping_add(1);
        self.event = true;
        self.mark_all_due();
    }

    /// Every neighbour is owed an announcement (paced as usual).
    fn mark_all_due(&mut self) {
        for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
            n.due = true;
        }
    }

    fn become_root(&mut self, now: Instant) {
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

    fn cache_slot(tag: &[u8; 16]) -> usize {
        usize::from(u16::from_le_bytes([tag[0], tag[1]])) % VERIFY_CACHE_ENTRIES
    }

    fn cached(&self, tag: &[u8; 16]) -> bool {
        self.vcache.get(Self::cache_slot(tag)) == Some(tag)
    }

    fn remember(&mut self, tag: [u8; 16]) {
        if let Some(e) = self.vcache.get_mut(Self::cache_slot(&tag)) {
            *e = tag;
        }
    }

    fn verify(&mut self, signer: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        let tag = cache_tag(signer, msg, sig);
        if self.cached(&tag) {
            self.stats.signature_cache_hits = self.stats.signature_cache_hits.saturating_add(1);
            return true;
        }
        self.stats.signatures_verified = self.stats.signatures_verified.saturating_add(1);
        let ok = self.verifier.verify(signer, msg, sig);
        if ok {
            self.remember(tag);
        }
        ok
    }

    fn verify_root(&mut self, root: &RootInfo) -> bool {
        if *root == self.root && !self.is_root() {
            // Byte-identical to the heartbeat we verified when we adopted it.
            self.stats.signature_cache_hits = self.stats.signature_cache_hits.saturating_add(1);
            return true;
        }
        let m = root_message(&root.key, root.rank, root.seq);
        self.verify(&root.key, &m, &root.sig)
    }

    fn is_stale(&self, root: &RootInfo) -> bool {
        self.dead
            .iter()
            .any(|d| d.key == root.key && root.seq <= d.seq)
    }

    fn find_link(&self, link: LinkId) -> Option<usize> {
        self.table
            .iter()
            .position(|e| e.n.as_ref().is_some_and(|n| n.link == link))
    }

    /// Registers a link to a neighbour whose (already authenticated, e.g. by
    /// Noise) public key is `peer`. A full announcement to it is due at once.
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
        let Some(e) = self.table.iter_mut().find(|e| e.n.is_none()) else {
            self.stats.table_full = self.stats.table_full.saturating_add(1);
            return Err(LinkError::TableFull);
        };
        e.n = Some(Neighbour {
            link,
            key: peer,
            last_heard: now,
            view: View::None,
            due: true,
            sent_gen: None,
            since_full: 0,
            we_want_full: false,
            they_want_full: false,
            last_full: None,
            last_out: None,
            grant: None,
            tx_next: None,
        });
        Ok(())
    }

    /// Forgets a link (closed by the driver). Losing the parent link makes
    /// the node re-join from its other neighbours.
    pub fn handle_link_down(&mut self, now: Instant, link: LinkId) {
        let now = self.clock.observe(now);
        if let Some(i) = self.find_link(link) {
            if let Some(e) = self.table.get_mut(i) {
                e.n = None;
            }
            if self.stage_owner == Some(i) {
                self.stage_owner = None;
            }
            if self.parent == Some(i) {
                self.become_root(now);
            }
        }
    }

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

    fn handle_keepalive(
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

    fn refresh_root(&mut self, now: Instant, root: &RootInfo) {
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

    /// Whether to copy the chain starting to arrive from entry `idx` into
    /// the staging area: it could become our chain (our parent's, a better
    /// root's, or one no deeper than ours under our root), it fits, and the
    /// area is not busy with another candidate's unfinished chain (our
    /// parent's takes it anyway, and nobody takes it from our parent's). A
    /// candidate holds the area for at most one announcement interval while
    /// others wait, however often it restarts its chain, so a neighbour that
    /// starts chains and never finishes them cannot keep us from adopting
    /// another's.
    fn wants_stage(&self, now: Instant, idx: usize, root: &RootInfo, total: usize) -> bool {
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
    fn stage_fits(&self, total: usize) -> bool {
        total < self.stage.capacity().min(MAX_DEPTH)
    }

    fn handle_full(&mut self, now: Instant, idx: usize, f: &Full<'_>) -> Result<(), AnnounceError> {
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

    /// Whether an announcement under `root` from entry `idx` can be ignored:
    /// not our parent, not our root, and a root ours beats.
    fn irrelevant(&self, idx: usize, root: &RootInfo) -> bool {
        self.parent != Some(idx) && !root.same_tree(&self.root) && !root.beats(&self.root)
    }

    /// Whether an offer from a parent under `root` at coordinate `parent`
    /// beats our current position (hysteresis: under the same root a depth
    /// gain of at least `parent_switch_margin`).
    fn better_parts(&self, root: &RootInfo, parent: &Coord) -> bool {
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
    fn reconsider(&mut self) {
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
    fn adopt(
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

    /// Writes the next due announcement into `buf` (size it
    /// [`MAX_ANNOUNCE_LEN`] to never see an error) and says which link it is
    /// for. Call until `Ok(None)` after every input. A chain deeper than
    /// [`SEGMENT_HOPS`] leaves as consecutive segments to the same link.
    ///
    /// # Errors
    /// [`BufferTooSmall`]: nothing was written and the announcement stays due.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Result<Option<Transmit>, BufferTooSmall> {
        let len = self.table.len();
        for step in 0..len {
            let i = self
                .tx_cursor
                .wrapping_add(step)
                .checked_rem(len)
                .unwrap_or(0);
            let Some(n) = self.table.get(i).and_then(|e| e.n.as_ref()) else {
                continue;
            };
            if !n.due {
                continue;
            }
            // The rest of a multi-segment announcement of our current
            // position leaves at once, after its first segment.
            let cont = n
                .tx_next
                .filter(|(g, _)| *g == self.generation)
                .map(|(_, s)| usize::from(s));
            // Pacing: however often our position changes (a flapping or
            // hostile neighbour can drive that), one announcement per
            // neighbour per gap; the one that leaves carries the latest
            // position, nothing queues.
            if cont.is_none()
                && n.next_allowed(self.config.min_announce_gap)
                    .is_some_and(|t| self.clock.latest() < t)
            {
                continue;
            }
            let full = cont.is_some()
                || n.sent_gen != Some(self.generation)
                || n.they_want_full
                || (self.config.full_refresh_every != 0
                    && n.since_full >= self.config.full_refresh_every);
            let want = n.we_want_full;
            let depth = self.chain.hops().len();
            let start = cont.unwrap_or(0).min(depth);
            let end = start.saturating_add(SEGMENT_HOPS).min(depth);
            let last = end == depth;
            let grant_ok = last && depth < MAX_DEPTH;
            let need = if full {
                segment_len(end.saturating_sub(start), grant_ok)
            } else {
                KEEPALIVE_LEN
            };
            if buf.len() < need {
                return Err(BufferTooSmall {
                    needed: need,
                    available: buf.len(),
                });
            }
            let written = if full {
                let grant = if grant_ok { self.grant_for(i) } else { None };
                let hops = self.chain.hops().get(start..end).unwrap_or(&[]);
                // depth ≤ MAX_DEPTH < u16::MAX.
                let total = u16::try_from(depth).unwrap_or(u16::MAX);
                let first = u16::try_from(start).unwrap_or(u16::MAX);
                encode_segment(buf, &self.root, total, first, hops, grant.as_ref(), want)?
            } else {
                let d = self.own_digest();
                encode_keepalive(buf, &self.root, &d, want)?
            };
            let generation = self.generation;
            let now = self.clock.latest();
            let Some(n) = self.table.get_mut(i).and_then(|e| e.n.as_mut()) else {
                continue;
            };
            n.last_out = Some(now);
            if full && !last {
                // More segments to this neighbour: keep it due and next.
                n.tx_next = Some((generation, u16::try_from(end).unwrap_or(u16::MAX)));
                self.stats.announcements_out = self.stats.announcements_out.saturating_add(1);
                self.tx_cursor = i;
                return Ok(Some(Transmit {
                    link: n.link,
                    len: written,
                }));
            }
            n.due = false;
            n.tx_next = None;
            if full {
                n.last_full = Some(now);
                n.sent_gen = Some(generation);
                n.since_full = 0;
                n.they_want_full = false;
                self.stats.full_out = self.stats.full_out.saturating_add(1);
            }
            self.stats.announcements_out = self.stats.announcements_out.saturating_add(1);
            self.tx_cursor = i.wrapping_add(1);
            return Ok(Some(Transmit {
                link: n.link,
                len: written,
            }));
        }
        Ok(None)
    }

    /// Prefix tag of our current chain, computed once per position.
    fn own_tag(&mut self) -> [u8; 32] {
        match self.tag_cache {
            Some((g, t)) if g == self.generation => t,
            _ => {
                let t = chain_tag(&self.root, self.chain.hops());
                self.tag_cache = Some((self.generation, t));
                t
            }
        }
    }

    /// Digest of our current chain (keepalives).
    fn own_digest(&mut self) -> [u8; 16] {
        digest_of_tag(&self.own_tag())
    }

    /// The grant for table entry `i` (slot `i + 1`), signed once per
    /// position and cached.
    fn grant_for(&mut self, i: usize) -> Option<Hop> {
        let slot = u16::try_from(i.checked_add(1)?).ok()?;
        let generation = self.generation;
        let n = self.table.get(i)?.n.as_ref()?;
        let key = n.key;
        if let Some((g, sig)) = n.grant {
            if g == generation {
                return Some(Hop { key, slot, sig });
            }
        }
        // A slot that would give the child an unrepresentable coordinate
        // (too deep, too many runs) is not offered.
        self.coord.child(slot).ok()?;
        let tag = self.own_tag();
        let sig = self
            .secret
            .sign(&grant_message(&tag, slot, &key))
            .to_bytes();
        if let Some(n) = self.table.get_mut(i).and_then(|e| e.n.as_mut()) {
            n.grant = Some((generation, sig));
        }
        Some(Hop { key, slot, sig })
    }

    /// Returns the pending event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        if core::mem::take(&mut self.event) {
            Some(Event::PositionChanged)
        } else {
            None
        }
    }

    /// The forwarding decision for a packet at this node, updating the
    /// header's watermark. On [`Decision::PathBroken`] send
    /// [`Header::path_broken`] (route it with this same method); a notice
    /// that dead-ends itself, or any packet for another root whose kind is a
    /// notice, yields [`Decision::Drop`]. A data packet under another root is
    /// reported as path broken (its coordinates mean nothing here).
    pub fn route(&mut self, header: &mut Header) -> Decision {
        let d = if header.root != self.root.key {
            Decision::PathBroken
        } else {
            let root = self.root.key;
            let nb = self
                .table
                .iter()
                .filter_map(|e| e.n.as_ref())
                .filter_map(|n| n.info().map(|i| (n.link, i)))
                .filter(|(_, i)| i.root.key == root)
                .map(|(l, i)| (l, &i.coord));
            decide(&self.coord, &header.dest, &mut header.watermark, nb)
        };
        let d = match (d, header.kind) {
            (Decision::PathBroken, PacketKind::PathBroken) => Decision::Drop,
            (d, _) => d,
        };
        let s = &mut self.stats;
        let c = match d {
            Decision::Deliver => &mut s.delivered,
            Decision::Forward(_) => &mut s.forwarded,
            Decision::PathBroken => &mut s.path_broken,
            Decision::Drop => &mut s.dropped,
        };
        *c = c.saturating_add(1);
        d
    }

    fn root_deadline(&self) -> Option<Instant> {
        if self.is_root() {
            Some(self.next_root_refresh)
        } else {
            Some(self.root_heard.saturating_add(self.root_timeout()))
        }
    }

    /// How long our root may stay silent: [`Config::root_timeout`] plus
    /// [`Config::root_timeout_per_hop`] per hop of our depth.
    fn root_timeout(&self) -> Duration {
        let hops = u64::try_from(self.chain.hops().len()).unwrap_or(u64::MAX);
        self.config
            .root_timeout
            .saturating_add(self.config.root_timeout_per_hop.saturating_mul(hops))
    }
}

impl<V: Verifier, S: ChainStore> Timed for Node<'_, V, S> {
    fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.next_announce;
        if let Some(r) = self.root_deadline() {
            t = t.min(r);
        }
        let latest = self.clock.latest();
        for n in self.table.iter().filter_map(|e| e.n.as_ref()) {
            if n.heard() {
                t = t.min(n.last_heard.saturating_add(self.config.neighbour_timeout));
            }
            // A paced announcement becomes sendable (an earlier one is
            // sendable now: the caller polls transmits after every input).
            if n.due
                && let Some(at) = n.next_allowed(self.config.min_announce_gap)
                && at > latest
            {
                t = t.min(at);
            }
        }
        for d in &self.dead {
            t = t.min(d.at.saturating_add(self.config.dead_root_hold));
        }
        Some(t)
    }

    fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if now >= self.next_announce {
            let next = self
                .next_announce
                .saturating_add(self.config.announce_interval);
            self.next_announce = if next > now {
                next
            } else {
                now.saturating_add(self.config.announce_interval)
            };
            if self.next_announce <= now {
                // Zero interval or saturated clock: never spin.
                self.next_announce = Instant::MAX;
            }
            for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
                n.due = true;
                n.since_full = n.since_full.saturating_add(1);
            }
            self.reconsider();
        }
        if self.is_root() && now >= self.next_root_refresh {
            self.own_seq = self.own_seq.saturating_add(1);
            self.sign_heartbeat();
            self.mark_all_due();
            self.next_root_refresh = now.saturating_add(
                self.config
                    .root_refresh
                    .max(crate::time::Duration::from_micros(1)),
            );
        }
        let timeout = self.config.neighbour_timeout;
        let mut lost_parent = false;
        for (i, e) in self.table.iter_mut().enumerate() {
            if let Some(n) = e.n.as_mut() {
                if n.heard() && n.last_heard.saturating_add(timeout) <= now {
                    n.view = View::None;
                    n.we_want_full = true;
                    self.stats.neighbour_timeouts = self.stats.neighbour_timeouts.saturating_add(1);
                    if self.parent == Some(i) {
                        lost_parent = true;
                    }
                }
            }
        }
        if !self.is_root() && self.root_heard.saturating_add(self.root_timeout()) <= now {
            let dead = DeadRoot {
                key: self.root.key,
                seq: self.root.seq,
                at: now,
            };
            if self.dead.is_full() && !self.dead.is_empty() {
                self.dead.remove(0);
            }
            let _ = self.dead.push(dead);
            self.stats.roots_expired = self.stats.roots_expired.saturating_add(1);
            // Neighbours still on the dead root are unusable.
            for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
                if n.info()
                    .is_some_and(|i| i.root.key == dead.key && i.root.seq <= dead.seq)
                {
                    n.view = View::None;
                }
            }
            lost_parent = true;
        }
        let hold = self.config.dead_root_hold;
        self.dead.retain(|d| d.at.saturating_add(hold) > now);
        if lost_parent {
            self.become_root(now);
        }
    }
}

/// Largest buffer [`Node::poll_transmit`] ever needs.
pub const TRANSMIT_BUF_LEN: usize = MAX_ANNOUNCE_LEN;

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    fn exchange(a: &mut Node<'_>, b: &mut Node<'_>, now: Instant) {
        let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
        for _ in 0..4 {
            while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
                assert_eq!(t.link, LinkId(2));
                b.handle_announcement(now, LinkId(1), &buf[..t.len])
                    .unwrap();
            }
            while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
                assert_eq!(t.link, LinkId(1));
                a.handle_announcement(now, LinkId(2), &buf[..t.len])
                    .unwrap();
            }
        }
    }

    #[test]
    fn two_nodes_elect_the_higher_rank_and_sign_real_grants() {
        let (mut ta, mut tb) = ([NeighbourEntry::EMPTY], [NeighbourEntry::EMPTY]);
        let t0 = Instant::ZERO;
        let hi = Config {
            rank: 9,
            ..Config::default()
        };
        let mut a = Node::new(hi, &[1; 32], &mut ta, t0);
        let mut b = Node::new(Config::default(), &[2; 32], &mut tb, t0);
        a.handle_link_up(t0, LinkId(2), b.public_key()).unwrap();
        b.handle_link_up(t0, LinkId(1), a.public_key()).unwrap();
        exchange(&mut a, &mut b, t0);
        assert!(a.is_root());
        assert_eq!(b.root().key, a.public_key());
        // a's table entry 0 grants slot 1.
        assert_eq!(*b.coord(), Coord::from_slots(&[1]).unwrap());
        assert_eq!(b.parent(), Some(LinkId(1)));
        assert!(b.stats().signatures_verified >= 2);
        assert_eq!(b.poll_event(), Some(Event::PositionChanged));
        assert_eq!(b.poll_event(), None);
        // Routing both ways.
        let mut h = a.header_to(b.coord().clone());
        assert_eq!(a.route(&mut h), Decision::Forward(LinkId(2)));
        assert_eq!(b.route(&mut h), Decision::Deliver);
        // A second table slot would be refused.
        assert_eq!(
            a.handle_link_up(t0, LinkId(3), [5; 32]),
            Err(LinkError::TableFull)
        );
        assert_eq!(
            a.handle_link_up(t0, LinkId(3), a.public_key()),
            Err(LinkError::SelfLink)
        );
    }

    #[test]
    fn tampered_grant_is_refused_and_parent_loss_recovers() {
        let (mut ta, mut tb) = ([NeighbourEntry::EMPTY], [NeighbourEntry::EMPTY]);
        let t0 = Instant::ZERO;
        let hi = Config {
            rank: 9,
            ..Config::default()
        };
        let mut a = Node::new(hi, &[1; 32], &mut ta, t0);
        let mut b = Node::new(Config::default(), &[2; 32], &mut tb, t0);
        a.handle_link_up(t0, LinkId(2), b.public_key()).unwrap();
        b.handle_link_up(t0, LinkId(1), a.public_key()).unwrap();
        let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
        // Too-small buffer: error, nothing consumed.
        assert!(a.poll_transmit(&mut buf[..10]).is_err());
        let t = a.poll_transmit(&mut buf).unwrap().unwrap();
        let mut bad = buf[..t.len].to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1; // flip a bit of the grant's signature
        assert_eq!(
            b.handle_announcement(t0, LinkId(1), &bad),
            Err(AnnounceError::BadSignature)
        );
        assert!(b.is_root());
        assert_eq!(b.stats().rejected_signature, 1);
        b.handle_announcement(t0, LinkId(1), &buf[..t.len]).unwrap();
        assert_eq!(b.parent(), Some(LinkId(1)));
        // Silence: after neighbour_timeout b drops its parent and is root again.
        let mut now = t0;
        for _ in 0..10 {
            let next = b.poll_timeout().unwrap();
            assert!(next >= now);
            now = next;
            b.handle_timeout(now);
            assert!(b.poll_timeout().unwrap() > now, "poll_timeout contract");
            if b.is_root() {
                break;
            }
        }
        assert!(b.is_root());
        assert!(now >= t0 + Config::default().neighbour_timeout);
        assert_eq!(b.stats().neighbour_timeouts, 1);
    }
}
