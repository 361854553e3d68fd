//! Tunables of the routing machine.

use crate::time::Duration;

/// Tunables of [`super::Node`]. Every field documents its default.
///
/// Memory is not set here: the neighbour table is the caller's slice (see
/// [`super::NeighbourEntry`] for the per-entry size), everything else is
/// fixed-size (see [`super::Node`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// This node's root-election rank. The root is the node with the highest
    /// `(rank, then smallest public key)` heard. Default 0. A deployment
    /// sets it from something it trusts (operator configuration); the
    /// evaluation uses the node degree (a central, high-degree root gives the
    /// lowest stretch). A node can claim any rank: see the crate docs on the
    /// root "arms race".
    pub rank: u32,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rank: 0,
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
        }
    }
}
