//! Spanning-tree coordinates, greedy forwarding with a watermark, and the
//! sans-IO protocol that builds the tree.
//!
//! * [`coords`]: exact coordinates (slot paths from the root) and the exact
//!   integer tree distance every forwarding decision uses; why this is the
//!   hyperbolic embedding's distance up to a monotone map.
//! * [`greedy`]: the forwarding decision (greedy over all links, watermark,
//!   "path broken") and the packet header codec.
//! * [`announce`]: the announcement wire format and the signed path from the
//!   root (Ed25519 per hop) that authenticates every coordinate.
//! * [`node`]: the protocol machine (root election with hysteresis, parent
//!   selection, timeouts, re-convergence, forwarding).
//! * [`config`] and [`error`].
//!
//! # Sizes on the wire
//!
//! | item | bytes |
//! |---|---|
//! | slot | 2 ([`coords::SLOT_WIRE_LEN`]) |
//! | coordinate | 1 + 2 × depth ≤ [`MAX_COORD_WIRE_LEN`] = 511 |
//! | packet header | 36 + two coordinates ≤ [`MAX_HEADER_LEN`] = 1,058 |
//! | keepalive | [`announce::KEEPALIVE_LEN`] = 128 |
//! | full announcement | 112 + 98 × (depth + 1) ≤ [`announce::MAX_ANNOUNCE_LEN`] = 25,200 |
//!
//! No floating-point value is ever on the wire or in a decision, so there is
//! no `|z| >= 1`, NaN or infinity to validate; what is validated on receipt
//! is the depth (≤ [`MAX_DEPTH`]), non-zero slots, exact lengths, every
//! signature of the chain, that the chain ends at the link's peer key, that
//! the offered grant names us, and that no key repeats (a looping ancestry).
//! Each refusal is an [`AnnounceError`] and a counter in [`Stats`].
//!
//! # Cost
//!
//! A node verifies a chain hop once: hops equal to its own chain and hops
//! whose prefix tag is in its [`VERIFY_CACHE_ENTRIES`]-entry cache are not
//! re-verified, chains under a root worse than its own are not verified at
//! all (they are neither joined nor used for forwarding), and an unchanged
//! chain is refreshed by a 128-byte keepalive. Adopting a new chain at depth
//! `d` costs at most `d + 2` Ed25519 verifications.
//!
//! # Evaluation
//!
//! `cargo run --release --features sim --example routing_eval -- vectors/topologies/*.txt`
//! runs the protocol in the deterministic simulator (`hyperport::sim`, 10 ms
//! links) from a cold start and routes 2,000 seeded pairs per graph hop by
//! hop through it: 100% delivery on every topology (Kdl, depth 37,
//! included). The same run routes the same pairs with the reference notes'
//! tree-metric greedy anchor (`examples/support/routing_anchor.rs`). Seed 1,
//! ours / anchor: as-733 1.034 / 1.035, Gnutella08 1.347 / 1.361, Topology
//! Zoo mean 1.1245 / 1.1284 (the table is in `BENCHMARKS.md`).
//!
//! # Known limits
//!
//! * The root is the highest self-declared rank: any node can claim a higher
//!   rank and become root (the "arms race" of key-based roots); the rank is
//!   meant to come from operator configuration.
//! * A parent can grant the same slot to two children (it is trusted for its
//!   subtree); a former child can replay an old grant while the parent keeps
//!   its position.
//! * Nodes deeper than [`MAX_DEPTH`] cannot join the tree: they form their own
//!   trees, unreachable from the main one.

pub mod announce;
pub mod config;
pub mod coords;
pub mod error;
pub mod greedy;
pub mod node;

pub use announce::{Hop, MAX_ANNOUNCE_LEN, RootInfo};
pub use config::Config;
pub use coords::{Coord, CoordError, MAX_COORD_WIRE_LEN, MAX_DEPTH, MAX_DISTANCE, MAX_RUNS, Run};
pub use error::{AnnounceError, LinkError};
pub use greedy::{Decision, Header, HeaderError, LinkId, MAX_HEADER_LEN, PacketKind, decide};
pub use node::{
    ChainStore, DEAD_ROOTS, Ed25519, Event, FEASIBLE_ROOTS, INLINE_CHAIN_HOPS, InlineChain,
    MAX_NEIGHBOURS, NeighbourEntry, Node, Stats, TRANSMIT_BUF_LEN, Transmit, VERIFY_CACHE_ENTRIES,
    Verifier,
};
