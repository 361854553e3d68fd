//! Spanning-tree coordinates in several trees at once, greedy forwarding
//! with a watermark, and the sans-IO protocol that builds the trees.
//!
//! # Where each piece lives
//!
//! * [`coords`]: exact coordinates (slot paths from a root) and the exact
//!   integer tree distance every forwarding decision uses; why this is the
//!   hyperbolic embedding's distance up to a monotone map.
//! * [`header`]: a node's [`Locator`] (its coordinate in each tree) and the
//!   packet [`Header`] carrying the destination's and the source's.
//! * [`greedy`]: the forwarding decision ([`decide`] in one tree,
//!   [`decide_multi`] over all of them: greedy over all links, watermark,
//!   switch of tree at a dead end, "path broken").
//! * [`announce`]: the announcement wire format (a chain in segments; read
//!   in `announce/mod.rs`, written in `announce/encode.rs`), the
//!   signed path from the root (Ed25519 per hop, each grant bound to the
//!   parent's prefix tag and to a root heartbeat, renewed) that
//!   authenticates every coordinate.
//! * [`credential`]: rank credentials, how a deployment controls who may be
//!   a root.
//! * [`node`]: the protocol machine, itself in pieces (`node/table.rs`
//!   neighbours, `node/receive.rs` and `node/parent.rs` chains and parent
//!   choice, `node/election.rs` roots, `node/candidacy.rs` who may root
//!   which tree, `node/keepalive.rs` keepalives, `node/transmit.rs` announcements,
//!   `node/forward.rs` forwarding, `node/timers.rs` timeouts,
//!   `node/verify.rs` signatures and the verification budget; the table in
//!   [`node`] says more).
//! * [`config`] and [`error`].
//!
//! # Several trees
//!
//! A node runs [`Config::trees`] spanning trees (at most [`MAX_TREES`]).
//! Tree 0 is rooted at the best rank (credentialed ranks above 0, else the
//! smallest key); tree `t` ≥ 1 at the best candidate at least
//! [`Config::root_spread`] hops from the earlier roots, credentialed first
//! (a rule every node evaluates the same way from the signed heartbeats;
//! one key roots at most one tree). A packet carries the
//! destination's coordinate in every tree; each hop goes to the neighbour
//! with the smallest tree distance over all usable trees, only if that
//! strictly lowers the watermark; a dead end in some trees drops them and
//! goes on in the others ([`decide_multi`]). Stretch falls with every tree
//! (measured in `BENCHMARKS.md`), and when one tree is re-forming after a
//! failure the others carry the traffic.
//!
//! # Sizes on the wire
//!
//! | item | bytes |
//! |---|---|
//! | run of equal slots | 4 ([`coords::RUN_WIRE_LEN`]) |
//! | coordinate | 1 + 4 × runs ≤ [`MAX_COORD_WIRE_LEN`] = 1,021, any depth ≤ [`MAX_DEPTH`] = 32,767 |
//! | locator | 1 + Σ over its trees (8 + coordinate) ≤ [`MAX_LOCATOR_LEN`] = 4,117 |
//! | packet header | 5 + two locators ≤ [`MAX_HEADER_LEN`] = 8,239 (one tree at depth 5: 65; three trees: 185) |
//! | keepalive | [`announce::KEEPALIVE_LEN`] = 133 |
//! | announcement segment | 201 + 106 × (hops + 1) ≤ [`announce::MAX_SEGMENT_LEN`] = 27,337 |
//! | full announcement | ⌈depth / s⌉ segments (one for the root), `s` = [`Config::segment_hops`] ≤ 255 |
//!
//! No floating-point value is ever on the wire or in a decision, so there is
//! no `|z| >= 1`, NaN or infinity to validate; what is validated on receipt
//! is the tree index, the depth (≤ [`MAX_DEPTH`]), the run count (≤
//! [`MAX_RUNS`]), non-zero slots, exact lengths, that segments continue each
//! other, every signature of the chain, the root's rank credential, that
//! the sender's own grant and the grant offered to us are within their
//! lifetime, that the chain ends at the link's peer key, that the offered
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
//! is held is the node's own [`ChainStore`]s (one per tree, and the staging
//! area a candidate parent's chain of several segments is verified into).
//! Their capacity is the deepest position the node takes: 64 hops inline by
//! default ([`INLINE_CHAIN_HOPS`]), up to [`MAX_DEPTH`] with `Vec<Hop>`
//! stores ([`Node::with_chain_stores`], [`Node::with_table`]).
//!
//! # Cost
//!
//! A node verifies a chain hop once: hops equal to its own chain and hops
//! whose prefix tag is in its [`VERIFY_CACHE_ENTRIES`]-entry cache are not
//! re-verified, chains under a root worse than its own are not verified at
//! all (they are neither joined nor used for forwarding), and an unchanged
//! chain is refreshed by a 133-byte keepalive. Adopting a new chain at depth
//! `d` costs at most `d + 3` Ed25519 verifications and `2d` BLAKE2s hashes
//! of under 200 bytes, spread over its segments. A renewed grant (every
//! [`announce::GRANT_RENEW_AGE`] heartbeats) travels as a one-hop segment and
//! costs one verification. Whatever a neighbour sends, it costs at most its
//! budget ([`Config::verify_budget`] per interval, see `node/verify.rs`).
//!
//! # Run loop
//!
//! Two nodes with small inline chain stores, ranks credentialed by one
//! authority, announcements carried by hand (a driver moves them over its
//! transport), then one packet routed:
//!
//! ```
//! use hyperport::routing::{
//!     ChainOf, Config, Decision, Ed25519, LinkId, NeighbourEntry, Node, TRANSMIT_BUF_LEN,
//!     credential,
//! };
//! use hyperport::time::Instant;
//!
//! let now = Instant::from_secs(1);
//! // The deployment's authority signs each node's rank once, offline.
//! let authority_secret = [0xa5; 32];
//! let authority = credential::public_key(&authority_secret);
//! let (mut ta, mut tb) = ([NeighbourEntry::EMPTY; 4], [NeighbourEntry::EMPTY; 4]);
//! let node = |rank, seed, table| {
//!     let me = credential::public_key(&[seed; 32]);
//!     let config = Config {
//!         rank,
//!         authority: Some(authority),
//!         rank_credential: Some(credential::sign_rank(&authority_secret, &me, rank)),
//!         ..Config::default()
//!     };
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
//! // A packet from a to b, addressed by b's locator: a forwards on link 7,
//! // b delivers.
//! let mut header = a.header_to(b.locator());
//! assert_eq!(a.route(&mut header), Decision::Forward(LinkId(7)));
//! assert_eq!(b.route(&mut header), Decision::Deliver);
//! ```
//!
//! Timers go through [`crate::time::Timed`] (`poll_timeout` /
//! `handle_timeout`), as for every machine of the crate; events
//! ([`Event`]) include evicted neighbours the driver should disconnect.
//!
//! # Evaluation
//!
//! `cargo run --release --features sim --example routing_eval -- vectors/topologies/*.txt`
//! runs the protocol in the deterministic simulator (`hyperport::sim`, 10 ms
//! links) from a cold start and routes 2,000 seeded pairs per graph hop by
//! hop through it, side by side with the reference notes' tree-metric
//! greedy anchor (`examples/support/routing_anchor.rs`); `--trees K` sets
//! the number of trees, `--churn` removes links and nodes and measures
//! delivery while the trees re-form, `--hostile-root` adds a node that
//! claims the best rank it can without a credential and drops what it
//! should forward. The figures (stretch, delivery, cost at one tree and at
//! the default) are in `BENCHMARKS.md`.
//!
//! # Known limits
//!
//! * Without an authority ([`Config::authority`]) every rank is 0: roots are
//!   chosen by key (the "arms race" of key-based roots), bounded to one tree
//!   per key; a node that makes up several keys can root several trees.
//!   With an authority, credentialed nodes outrank every uncredentialed
//!   one. A credential cannot be revoked by the protocol (change the
//!   authority key). Roots are trusted for the spread they claim (a
//!   credentialed one is the deployment's own node).
//! * A parent can grant the same slot to two children (it is trusted for its
//!   subtree); a former child can replay an old grant until it expires
//!   ([`announce::grant_age_limit`]: 60 s plus an allowance for depth at the
//!   default refresh).
//! * A node cannot take a position deeper than its chain stores hold
//!   ([`INLINE_CHAIN_HOPS`] by default, [`MAX_DEPTH`] at most) or whose
//!   coordinate needs more than [`MAX_RUNS`] runs (only possible deeper than
//!   255): it joins through another neighbour if one offers a position it
//!   can hold, else it stays in its own tree 0, unreachable from the main
//!   one, and unjoined in the others.
//! * A neighbour may ask for our full announcement once per announcement
//!   interval and tree; at depth `d` that is `⌈d / 255⌉` segments of up to
//!   27 KB (a 5,000-deep node answers a 133-byte request with about 530 KB).
//! * Segments must arrive in order (a stream transport, or a datagram one
//!   without reordering); a lost or reordered segment costs a request for
//!   the chain from where it stopped ([`AnnounceError::OutOfOrder`]).
//!   Repeated keys across segments of one chain are not detected (only a
//!   hostile ancestor can write one, inside the subtree it controls
//!   anyway); our own key is checked along the whole chain.
//! * A full table whose neighbours all announce valid positions refuses a
//!   newcomer ([`LinkError::TableFull`]): many keys announcing valid
//!   positions can hold every entry (one entry per key bounds it to one
//!   entry per identity).

pub mod announce;
pub mod config;
pub mod coords;
pub mod credential;
pub mod error;
pub mod greedy;
pub mod header;
pub mod node;

pub use announce::{Hop, MAX_ANNOUNCE_LEN, MAX_SEGMENT_LEN, RootInfo, SEGMENT_HOPS};
pub use config::{Config, DEFAULT_TREES, MAX_TREES, MIN_VERIFY_BUDGET};
pub use coords::{Coord, CoordError, MAX_COORD_WIRE_LEN, MAX_DEPTH, MAX_DISTANCE, MAX_RUNS, Run};
pub use error::{AnnounceError, LinkError};
pub use greedy::{Decision, LinkId, NeighbourView, TreeView, decide, decide_multi};
pub use header::{
    ALL_TREES, Header, HeaderError, Locator, MAX_HEADER_LEN, MAX_LOCATOR_LEN, PacketKind, RootId,
    TreeCoord,
};
pub use node::{
    CANDIDACY_HOLD, ChainOf, ChainStore, DEAD_ROOTS, Destination, Ed25519, Event, Eviction,
    FEASIBLE_ROOTS, INLINE_CHAIN_HOPS, InlineChain, LATER_ROOT_WAIT, MAX_NEIGHBOURS,
    NeighbourEntry, Node, STAND_STAGGER_STEPS, Stats, TRANSMIT_BUF_LEN, Table, Transmit,
    VERIFY_CACHE_ENTRIES, Verifier,
};
