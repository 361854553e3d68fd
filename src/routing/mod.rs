//! Spanning-tree coordinates, greedy forwarding with a watermark, and the
//! sans-IO protocol that builds the tree.
//!
//! * [`coords`]: exact coordinates (slot paths from the root) and the exact
//!   integer tree distance every forwarding decision uses; why this is the
//!   hyperbolic embedding's distance up to a monotone map.
//! * [`greedy`]: the forwarding decision (greedy over all links, watermark,
//!   "path broken") and the packet header codec.
//! * [`announce`]: the announcement wire format (a chain in segments), the
//!   signed path from the root (Ed25519 per hop, each grant bound to the
//!   parent's prefix tag) that authenticates every coordinate.
//! * [`node`]: the protocol machine (root election with hysteresis, parent
//!   selection, timeouts, re-convergence, forwarding).
//! * [`config`] and [`error`].
//!
//! # Sizes on the wire
//!
//! | item | bytes |
//! |---|---|
//! | run of equal slots | 4 ([`coords::RUN_WIRE_LEN`]) |
//! | coordinate | 1 + 4 × runs ≤ [`MAX_COORD_WIRE_LEN`] = 1,021, any depth ≤ [`MAX_DEPTH`] = 32,767 |
//! | packet header | 36 + two coordinates ≤ [`MAX_HEADER_LEN`] = 2,078 |
//! | keepalive | [`announce::KEEPALIVE_LEN`] = 128 |
//! | announcement segment | 116 + 98 × (hops + 1) ≤ [`announce::MAX_SEGMENT_LEN`] = 25,204 |
//! | full announcement | ⌈depth / 255⌉ segments (one for the root), 116 bytes each plus 98 per hop and the grant |
//!
//! No floating-point value is ever on the wire or in a decision, so there is
//! no `|z| >= 1`, NaN or infinity to validate; what is validated on receipt
//! is the depth (≤ [`MAX_DEPTH`]), the run count (≤ [`MAX_RUNS`]), non-zero
//! slots, exact lengths, that segments continue each other, every signature
//! of the chain, that the chain ends at the link's peer key, that the offered
//! grant names us, that our own key is not in the chain, and that no key
//! repeats within a segment (a looping ancestry). Each refusal is an
//! [`AnnounceError`] and a counter in [`Stats`].
//!
//! # Deep trees
//!
//! Any spanning tree of a 10,000-node path is at least 5,000 deep, so depth
//! is bounded by [`MAX_DEPTH`] = 32,767 rather than by a frame: coordinates
//! are run-length ([`coords`]), grants sign a fixed-size prefix tag, a chain
//! travels in segments of at most 255 hops that the receiver verifies one by
//! one in a fixed-size state per neighbour, and the only place a whole chain
//! is held is the node's own [`ChainStore`]s (its chain and the staging area
//! a candidate parent's chain is verified into). Their capacity is the
//! deepest position the node takes: 255 hops inline by default, up to
//! [`MAX_DEPTH`] with `Vec<Hop>` stores ([`Node::with_chain_stores`]).
//!
//! # Cost
//!
//! A node verifies a chain hop once: hops equal to its own chain and hops
//! whose prefix tag is in its [`VERIFY_CACHE_ENTRIES`]-entry cache are not
//! re-verified, chains under a root worse than its own are not verified at
//! all (they are neither joined nor used for forwarding), and an unchanged
//! chain is refreshed by a 128-byte keepalive. Adopting a new chain at depth
//! `d` costs at most `d + 2` Ed25519 verifications and `2d` BLAKE2s
//! hashes of under 200 bytes, spread over its segments (at most
//! 257 verifications per segment).
//!
//! # Run loop
//!
//! Two nodes with small inline chain stores, announcements carried by hand
//! (a driver moves them over its transport), then one packet routed:
//!
//! ```
//! use hyperport::routing::{
//!     ChainOf, Config, Decision, Ed25519, LinkId, NeighbourEntry, Node, TRANSMIT_BUF_LEN,
//! };
//! use hyperport::time::Instant;
//!
//! let now = Instant::from_secs(1);
//! let (mut ta, mut tb) = ([NeighbourEntry::EMPTY; 4], [NeighbourEntry::EMPTY; 4]);
//! let node = |rank, seed, table| {
//!     let config = Config { rank, ..Config::default() };
//!     // 8-hop stores: this node joins trees at most 8 deep.
//!     Node::with_chain_stores(config, &[seed; 32], table, now, Ed25519,
//!                             ChainOf::<8>::new(), ChainOf::<8>::new())
//! };
//! let mut a = node(2, 1, &mut ta);
//! let mut b = node(1, 2, &mut tb);
//! // The link's peer keys come from the transport (Noise authenticates them).
//! a.handle_link_up(now, LinkId(7), b.public_key()).unwrap();
//! b.handle_link_up(now, LinkId(9), a.public_key()).unwrap();
//! let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
//! for _ in 0..3 {
//!     // Drain every output after every input.
//!     while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
//!         assert_eq!(t.link, LinkId(7));
//!         b.handle_announcement(now, LinkId(9), &buf[..t.len]).unwrap();
//!     }
//!     while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
//!         a.handle_announcement(now, LinkId(7), &buf[..t.len]).unwrap();
//!     }
//! }
//! // a has the higher rank: it is the root, b its child in slot 1.
//! assert!(a.is_root());
//! assert_eq!(b.parent(), Some(LinkId(9)));
//! // A packet from a to b: a forwards on link 7, b delivers.
//! let mut header = a.header_to(b.coord().clone());
//! assert_eq!(a.route(&mut header), Decision::Forward(LinkId(7)));
//! assert_eq!(b.route(&mut header), Decision::Deliver);
//! ```
//!
//! Timers go through [`crate::time::Timed`] (`poll_timeout` /
//! `handle_timeout`), as for every machine of the crate.
//!
//! # Evaluation
//!
//! `cargo run --release --features sim --example routing_eval -- vectors/topologies/*.txt`
//! runs the protocol in the deterministic simulator (`hyperport::sim`, 10 ms
//! links) from a cold start and routes 2,000 seeded pairs per graph hop by
//! hop through it: 100% delivery on every topology (Kdl, depth 37,
//! included). The same run routes the same pairs with the reference notes'
//! tree-metric greedy anchor (`examples/support/routing_anchor.rs`). Seed 1,
//! ours / anchor: as-733 1.033 / 1.035, Gnutella08 1.341 / 1.361, Topology
//! Zoo mean 1.1171 / 1.1284 (the table is in `BENCHMARKS.md`; over seeds
//! 1-10 as-733 averages 1.0310 and Gnutella08 1.3322). The
//! synthetic stress graphs (`--synthetic`) deliver 100% too: a 5,000-leaf
//! hub, a 100 × 100 grid, and a 10,000-node path whose deepest node is
//! 5,568 hops from the root.
//!
//! # Known limits
//!
//! * The root is the highest self-declared rank: any node can claim a higher
//!   rank and become root (the "arms race" of key-based roots); the rank is
//!   meant to come from operator configuration.
//! * A parent can grant the same slot to two children (it is trusted for its
//!   subtree); a former child can replay an old grant while the parent keeps
//!   its position.
//! * A node cannot take a position deeper than its chain stores hold
//!   (255 hops by default, [`MAX_DEPTH`] at most) or whose coordinate needs
//!   more than [`MAX_RUNS`] runs (only possible deeper than 255): it joins
//!   through another neighbour if one offers a position it can hold, else it
//!   stays in its own tree, unreachable from the main one.
//! * A neighbour may ask for our full announcement once per announcement
//!   interval; at depth `d` that is `⌈d / 255⌉` segments of up to 25 KB
//!   (a 5,000-deep node answers a 128-byte request with about 490 KB).
//! * Segments must arrive in order (a stream transport, or a datagram one
//!   without reordering); a lost or reordered segment costs a request for
//!   the whole announcement ([`AnnounceError::OutOfOrder`]). Repeated keys
//!   across segments of one chain are not detected (only a hostile ancestor
//!   can write one, inside the subtree it controls anyway); our own key is
//!   checked along the whole chain.

pub mod announce;
pub mod config;
pub mod coords;
pub mod error;
pub mod greedy;
pub mod node;

pub use announce::{Hop, MAX_ANNOUNCE_LEN, MAX_SEGMENT_LEN, RootInfo, SEGMENT_HOPS};
pub use config::Config;
pub use coords::{Coord, CoordError, MAX_COORD_WIRE_LEN, MAX_DEPTH, MAX_DISTANCE, MAX_RUNS, Run};
pub use error::{AnnounceError, LinkError};
pub use greedy::{Decision, Header, HeaderError, LinkId, MAX_HEADER_LEN, PacketKind, decide};
pub use node::{
    ChainOf, ChainStore, DEAD_ROOTS, Ed25519, Event, FEASIBLE_ROOTS, INLINE_CHAIN_HOPS,
    InlineChain, MAX_NEIGHBOURS, NeighbourEntry, Node, Stats, TRANSMIT_BUF_LEN, Transmit,
    VERIFY_CACHE_ENTRIES, Verifier,
};
