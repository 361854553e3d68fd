//! Tunables of the routing machine.

use crate::time::Duration;

/// Most spanning trees a node maintains ([`Config::trees`] is clamped to
/// it). Each tree costs every neighbour entry one more coordinate view
/// (see [`super::NeighbourEntry`]) and the node one more chain store.
pub const MAX_TREES: usize = 4;

/// Trees a node's storage holds unless its type says otherwise (the const
/// generic `K` of [`super::Node`] and [`super::NeighbourEntry`]).
pub const DEFAULT_TREES: usize = 4;

/// Tunables of [`super::Node`]. Every field documents its default.
///
/// Memory is not set here: the neighbour table is the caller's slice (see
/// [`super::NeighbourEntry`] for the per-entry size), everything else is
/// fixed-size (see [`super::Node`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// This node's root-election rank. The root of tree 0 is the node with
    /// the highest `(rank, then smallest public key)` heard. A rank above 0
    /// counts only with a valid [`Config::rank_credential`] from
    /// [`Config::authority`]; without one the node runs, and announces
    /// itself, at rank 0 ([`super::Node::rank`] says which). Default 0.
    pub rank: u32,
    /// The deployment's authority: the Ed25519 public key whose signatures
    /// make ranks above 0 count ([`super::credential`]). Every node of a
    /// deployment configures the same one. `None` (the default): no rank
    /// above 0 is accepted, from us or from anyone, so every node ranks 0:
    /// the root of tree 0 is the smallest key, the roots of trees 1.. the
    /// smallest keys far enough from the earlier roots.
    pub authority: Option<[u8; 32]>,
    /// The authority's signature over this node's key and [`Config::rank`]
    /// ([`super::credential::sign_rank`]). Default `None`.
    pub rank_credential: Option<[u8; 64]>,
    /// How many spanning trees to build and route over (1..=[`MAX_TREES`],
    /// clamped, and at most the node's storage `K`). All nodes of a
    /// deployment use the same value. Tree 0 is rooted at the best rank;
    /// tree `t` ≥ 1 at the best candidate (credentialed first) at least
    /// [`Config::root_spread`] hops from the roots of trees `0..t` (see
    /// [`super::node`]). Default 4 ([`MAX_TREES`]), chosen by measurement
    /// (`routing_eval`, BENCHMARKS.md "Several trees"): with 4 trees and
    /// [`Config::root_spread`] 2, stretch is 1.01 on the Topology Zoo
    /// graphs, 1.013 on as-733 and 1.216 on Gnutella08 (1.12, 1.033 and
    /// 1.341 with one tree), at 1.0-2.6 times one tree's messages and
    /// 3.1-3.5 times its signature checks. A node that must spend less
    /// (firmware, a small mesh) runs 1.
    pub trees: u8,
    /// How far apart (hops) the roots of trees 1.. should be from the roots
    /// of the earlier trees: in tree `t` a candidate's distance to the
    /// nearest earlier root counts up to this value, then its rank decides.
    /// All nodes of a deployment use the same value. Default 2 (with 4
    /// trees it cost as-733 26 % fewer signature checks than 3 at the same
    /// stretch; BENCHMARKS.md).
    pub root_spread: u16,
    /// Period of announcements to every neighbour. Default 1 s.
    pub announce_interval: Duration,
    /// Least time between two announcements to one neighbour. A change of
    /// position is announced at once, but changes closer together than this
    /// are coalesced (the announcement that leaves carries the latest
    /// position; nothing queues), so however fast a flapping or hostile
    /// neighbour makes this node move, each neighbour receives at most
    /// `1 / min_announce_gap` announcements per second (10 at the default)
    /// plus nothing else: periodic announcements and served requests for a
    /// full announcement go through the same gate. Zero disables pacing.
    /// Default 100 ms.
    pub min_announce_gap: Duration,
    /// A neighbour silent this long is no longer used (as parent or for
    /// forwarding) until it announces again. Default 3.5 s.
    pub neighbour_timeout: Duration,
    /// How often the root signs a fresh sequence number (its heartbeat).
    /// Default 10 s.
    pub root_refresh: Duration,
    /// A root whose sequence number has not advanced for this long (plus
    /// `root_timeout_per_hop` per hop of the node's depth) is declared dead.
    /// A new heartbeat is passed down the tree at once, so this must exceed
    /// `root_refresh` plus the spread of its delivery times. Default 40 s.
    pub root_timeout: Duration,
    /// Extra root timeout per hop of the node's depth: a heartbeat reaches
    /// depth `d` after about `d` × (link latency + a pacing wait), and the
    /// first one after joining may be that much later than the position
    /// was. Default 100 ms (depth 5: 40.5 s; depth 5,000: 540 s).
    pub root_timeout_per_hop: Duration,
    /// How long a dead root's last sequence number is remembered (announcements
    /// still carrying it are refused). Default 120 s.
    pub dead_root_hold: Duration,
    /// A full announcement is resent to a neighbour at least every this many
    /// announcement intervals even if nothing changed (keepalives in between
    /// are 128 bytes); 0 never resends. Not needed for correctness: a
    /// keepalive whose digest does not match makes the receiver ask for a
    /// full announcement. Default 0.
    pub full_refresh_every: u16,
    /// Hysteresis on parent changes under the same root: switch only to a
    /// parent whose depth is at least this many hops smaller than the
    /// current parent's. 0 is treated as 1. Default 1.
    pub parent_switch_margin: u8,
    /// Among candidate parents at the same depth under the same root, move
    /// to the one with the lexicographically smallest coordinate (the tree a
    /// breadth-first search visiting slots in order builds). Measured on the
    /// reference topologies: lower greedy stretch than keeping the first
    /// parent heard (Gnutella08 1.345 → 1.316 in the reference model), at the
    /// cost of extra re-parenting while converging. Default `true`.
    pub bfs_order_parent: bool,
    /// First sequence number this node uses when it acts as root. Use a
    /// persisted counter or a wall-clock value so a restarted root is not
    /// refused as stale. Default 0.
    pub root_seq_start: u64,
    /// A neighbour that has sent nothing valid for this long (since its link
    /// came up or its last valid announcement) is removed from the table and
    /// reported as [`super::Event::NeighbourEvicted`]; the driver closes the
    /// link. Must exceed `neighbour_timeout`. Default 30 s.
    pub silent_eviction: Duration,
    /// Ed25519 verifications one neighbour may cost this node per
    /// announcement interval (all trees together), on top of a one-off
    /// burst as deep as the node's chain stores (see `node/verify.rs`).
    /// Work beyond it is not done: the announcement is refused as
    /// [`super::AnnounceError::OverBudget`] (counted) and asked for again
    /// after the next interval, from where verification stopped. Raised to
    /// [`MIN_VERIFY_BUDGET`] if smaller (a segment must fit). Default 300:
    /// a hostile neighbour costs at most 300 verifications per second
    /// (about 15 ms of one core) after its burst (367 with the default
    /// 64-hop stores).
    pub verify_budget: u16,
    /// Most hops per announcement segment (1..=255, clamped). A datagram
    /// driver bounds every announcement to its MTU with it:
    /// [`super::announce::segment_buf_len`]`(segment_hops)` bytes (10 hops:
    /// 1,301 bytes). Receivers accept any segment size. Default 255.
    pub segment_hops: u8,
}

/// Smallest [`Config::verify_budget`]: a whole segment (255 hops, the root
/// heartbeat, its credential and the grant).
pub const MIN_VERIFY_BUDGET: u16 = 258;

impl Default for Config {
    fn default() -> Self {
        Config {
            rank: 0,
            authority: None,
            rank_credential: None,
            trees: 4,
            root_spread: 2,
            announce_interval: Duration::from_secs(1),
            min_announce_gap: Duration::from_millis(100),
            neighbour_timeout: Duration::from_millis(3_500),
            root_refresh: Duration::from_secs(10),
            root_timeout: Duration::from_secs(40),
            root_timeout_per_hop: Duration::from_millis(100),
            dead_root_hold: Duration::from_secs(120),
            full_refresh_every: 0,
            parent_switch_margin: 1,
            bfs_order_parent: true,
            root_seq_start: 0,
            silent_eviction: Duration::from_secs(30),
            verify_budget: 300,
            segment_hops: 255,
        }
    }
}
