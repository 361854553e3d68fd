//! Runs the routing protocol in the deterministic simulator
//! (`hyperport::sim`) from a cold start on edge lists until it converges,
//! then routes seeded random pairs hop by hop through the simulator and
//! reports delivery and stretch (greedy hops / BFS shortest-path hops).
//!
//! ```sh
//! cargo run --release --features sim --example routing_eval -- vectors/topologies/*.txt
//! cargo run --release --features sim --example routing_eval -- --synthetic
//! ```
//!
//! Every option is listed by `--help`. The main ones: `--trees K` (trees
//! per node, default `routing::Config`'s), `--authority` (the evaluation
//! credentials every node's rank, its degree; without it every rank is 0
//! and roots are chosen by key), `--seed S`, `--pairs N`, `--churn`,
//! `--hostile-root`, `--synthetic`, `--path N`, `--grid S`, link latency,
//! jitter and loss, `--no-hop-ack`.
//!
//! # The driver
//!
//! Every vertex is a `routing::Node` wrapped in a `SimNode` adapter
//! ([`RNode`]); every edge is a simulated link (loss-free, fixed latency by
//! default). Announcements and keepalives are simulator messages, the
//! nodes' timers run through `poll_timeout`/`handle_timeout` on the
//! simulator's virtual clock, and data packets are simulator messages too:
//! each hop is one `Node::route` decision at the node the packet reached.
//! A **round** is one announcement interval (1 s) of virtual time;
//! `rounds_to_converge` is the number of rounds up to the last round in
//! which any node's coordinate or root changed, the run ending after a quiet
//! period without change (3 rounds from a cold start; after a failure,
//! 5 rounds more than the deepest node's root timeout, 40 s + 100 ms per
//! hop of depth). Node ranks are the node degrees, ties
//! broken by the neighbours' degree sum (root = a maximum-degree node). Keys
//! are derived from the node index, so runs are reproducible. The sim trace
//! is not recorded (its digest still is).
//!
//! Measuring: a packet for pair `(s, t)` is injected at `s` with `t`'s
//! coordinate at that instant (an oracle directory) and walks the simulated
//! links. A packet that a node forwards a second time while that node's
//! position is unchanged (same [`Node::generation`]), or that exceeds
//! [`HOP_BOUND`] hops, is a **loop**: the program reports it and exits with
//! status 1. The watermark makes such a loop impossible: a node forwards
//! only if its own distance to the header's fixed destination coordinate is
//! below the watermark, and then lowers the watermark to that distance, so
//! it can forward the same packet again only after its own position
//! changed. A packet can still *arrive* twice at an unchanged node when a
//! neighbour forwarded on a stale copy of that node's coordinate; the node
//! then answers "path broken" (counted as undelivered, not as a loop).
//! Reaching a node again after its position changed is counted as a
//! revisit and reported on stderr, not failed: the walk stays bounded by
//! the watermark. A packet forwarded to a node that is not a live neighbour is
//! also a failure (exit 1).
//!
//! # Churn
//!
//! A link removal is a simulator partition of that link plus a link-down
//! input at both ends (the carrier loss an interface reports). A node
//! removal takes the simulated node down: its neighbours are not told and
//! notice through their neighbour timeout. During re-convergence the same
//! pair sample is injected at the start of every round; `during_min_pct` /
//! `during_mean_pct` are the minimum / mean delivery of the batches sent
//! in rounds 1..=`rounds_to_converge` (a packet lost on a failed link or
//! at a down node counts as undelivered). The row's `delivery_pct` and
//! stretch are measured after the quiet period, against BFS on the
//! surviving graph.
//!
//! Output columns: `name nodes delivery_pct avg_stretch max_stretch
//! rounds_to_converge`, then `joined_pct` (nodes in the largest tree),
//! `max_depth`, `signatures_verified` (distinct Ed25519 checks; the
//! simulation memoizes verification across nodes, see `Memo`),
//! `during_min_pct` and `during_mean_pct` (`-` on cold-start rows),
//! `messages` (simulator messages delivered so far on this graph), the
//! wall time, then `anchor_stretch`: the reference notes' tree-metric greedy
//! anchor (`support/routing_anchor.rs`: BFS tree from the max-degree node,
//! greedy over all links) routed on the same pairs, averaged over the pairs
//! both routers delivered, and `delta`: ours minus the anchor on those pairs
//! (after churn the anchor is rebuilt on the surviving graph, one tree per
//! component), `trees`, `header_bytes` (mean encoded header of the packets
//! routed), and with `--hostile-root` `per_tree_pct` (delivery when the
//! source, after a failed first try, may try each tree alone) and
//! `hostile_roots` (trees the hostile node roots at the end). The table is
//! aligned and preceded by a `#` legend.
//!
//! # Hop acknowledgements
//!
//! By default the driver models what a link layer does: the next hop
//! acknowledges a forwarded data packet; without an acknowledgement within
//! twice the slowest link latency (+5 ms) the sender reports the neighbour
//! with `Node::handle_link_suspect` and decides the packet again without
//! it (a retry is not counted as a second visit). `--no-hop-ack` turns it
//! off.
//!
//! # Hostile root
//!
//! `--hostile-root`: a seeded node gets the smallest key the run can grind
//! (below every honest key: it wins any key-based election it may enter)
//! and no credential, and drops every data packet it should forward. Pairs
//! are drawn among the other nodes.

#[path = "support/routing_anchor.rs"]
mod anchor;
#[path = "support/cli.rs"]
mod cli;

use hyperport::routing::{
    Config, Decision, Ed25519, Event, Header, Hop, LinkId, Locator, MAX_DEPTH, MAX_HEADER_LEN,
    NeighbourEntry, Node, PacketKind, TRANSMIT_BUF_LEN, Verifier, credential,
};
use hyperport::sim::{LinkConfig, NodeId, Partition, Sim, SimConfig, SimNode, Transmit};
use hyperport::time::{Duration, Instant, Timed};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

pub struct Graph {
    pub name: String,
    pub adj: Vec<Vec<usize>>,
}

/// Parses an edge list; `Ok(None)` (with a note on stderr) for a file that
/// does not start with the `# nodes N edges M` header (e.g. a licence
/// text); `Err` for a file that cannot be read or a malformed line.
pub fn parse_edgelist(path: &str) -> Result<Option<Graph>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !text.starts_with("# nodes") {
        eprintln!("skipping {path}: not an edge list");
        return Ok(None);
    }
    let mut n = 0usize;
    let mut edges = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('#') {
            let w: Vec<&str> = rest.split_whitespace().collect();
            if let Some(i) = w.iter().position(|x| *x == "nodes") {
                n = w
                    .get(i + 1)
                    .and_then(|x| x.parse().ok())
                    .ok_or_else(|| format!("{path}: bad node count in '{line}'"))?;
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let mut id = || -> Result<usize, String> {
            it.next()
                .and_then(|x| x.parse().ok())
                .filter(|&x: &usize| x < 100_000_000)
                .ok_or_else(|| format!("{path}: bad edge line '{line}'"))
        };
        let (u, v) = (id()?, id()?);
        n = n.max(u + 1).max(v + 1);
        edges.push((u, v));
    }
    let mut adj = vec![Vec::new(); n];
    for (u, v) in edges {
        if u != v && !adj[u].contains(&v) {
            adj[u].push(v);
            adj[v].push(u);
        }
    }
    let name = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string());
    Ok(Some(Graph { name, adj }))
}

pub fn path(n: usize) -> Graph {
    let mut adj = vec![Vec::new(); n];
    for v in 1..n {
        adj[v - 1].push(v);
        adj[v].push(v - 1);
    }
    Graph {
        name: format!("synthetic-path{n}"),
        adj,
    }
}

pub fn grid(s: usize) -> Graph {
    let mut adj = vec![Vec::new(); s * s];
    for r in 0..s {
        for c in 0..s {
            let v = r * s + c;
            if c + 1 < s {
                adj[v].push(v + 1);
                adj[v + 1].push(v);
            }
            if r + 1 < s {
                adj[v].push(v + s);
                adj[v + s].push(v);
            }
        }
    }
    Graph {
        name: format!("synthetic-grid{s}x{s}"),
        adj,
    }
}

fn synthetic() -> Vec<Graph> {
    let mut out = Vec::new();
    // Hub with 5,000 links.
    let n = 5_001;
    let mut adj = vec![Vec::new(); n];
    for v in 1..n {
        adj[0].push(v);
        adj[v].push(0);
    }
    out.push(Graph {
        name: "synthetic-hub5000".into(),
        adj,
    });
    out.push(path(10_000));
    out.push(grid(100));
    out
}

/// Ed25519 verification memoized across all simulated nodes: a pure
/// function, so every node still gets exactly the answer `Ed25519` gives;
/// only the simulation's cost changes (each distinct signature is checked
/// once per run instead of once per node).
#[derive(Clone, Default)]
struct Memo(Rc<RefCell<MemoState>>);

/// Answers by `key || sig || msg`, and the number of real verifications.
type MemoState = (HashMap<Vec<u8>, bool>, u64);

impl Verifier for Memo {
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        let mut k = Vec::with_capacity(96 + msg.len());
        k.extend_from_slice(key);
        k.extend_from_slice(sig);
        k.extend_from_slice(msg);
        let mut m = self.0.borrow_mut();
        if let Some(v) = m.0.get(&k) {
            return *v;
        }
        let v = Ed25519.verify(key, msg, sig);
        m.1 += 1;
        m.0.insert(k, v);
        v
    }
}

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn key_seed(i: usize) -> [u8; 32] {
    let mut r = SplitMix(0xa5a5_0000 ^ i as u64);
    let mut k = [0u8; 32];
    for c in k.chunks_mut(8) {
        c.copy_from_slice(&r.next().to_le_bytes());
    }
    k
}

/// The deployment's authority (its secret seed): it signs every node's
/// rank credential.
const AUTHORITY: [u8; 32] = [0xee; 32];

/// Root-election rank: the degree, ties broken by the sum of the
/// neighbours' degrees (both known locally after one exchange), so the root
/// is a maximum-degree node with the best-connected neighbourhood.
fn rank_of(adj: &[Vec<usize>], i: usize) -> u32 {
    let deg = adj[i].len().min(0xFFFF) as u32;
    let two: usize = adj[i].iter().map(|&j| adj[j].len()).sum();
    (deg << 16) | two.min(0xFFFF) as u32
}

pub fn bfs(adj: &[Vec<usize>], s: usize) -> Vec<u32> {
    let mut d = vec![u32::MAX; adj.len()];
    d[s] = 0;
    let mut q = VecDeque::from([s]);
    while let Some(u) = q.pop_front() {
        for &v in &adj[u] {
            if d[v] == u32::MAX {
                d[v] = d[u] + 1;
                q.push_back(v);
            }
        }
    }
    d
}

/// Display only: the Poincaré-disk position of a slot path in Kleinberg's
/// embedding of a tree of maximum degree `d` (each node the centre of a
/// regular ideal `d`-gon; the child in slot `k` is placed by
/// `M_child = M_parent · R(2πk/d) · T(cos(π/d)) · R(π)` with SU(1,1)
/// matrices). Floats lose the ordering at hyperbolic radius ≈ 38, which is
/// why no decision uses them; routing compares slot paths exactly.
fn poincare(slots: &[u16], d: f64) -> (f64, f64) {
    type C = (f64, f64);
    let mul = |a: C, b: C| (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0);
    let add = |a: C, b: C| (a.0 + b.0, a.1 + b.1);
    // A matrix [[a, b], [conj b, conj a]] is stored as (a, b).
    let compose = |m: (C, C), n: (C, C)| {
        let (a, b) = m;
        let (c, e) = n;
        let conj = |z: C| (z.0, -z.1);
        (
            add(mul(a, c), mul(b, conj(e))),
            add(mul(a, e), mul(b, conj(c))),
        )
    };
    let rot = |theta: f64| ((theta / 2.0).cos(), (theta / 2.0).sin());
    let r = |theta: f64| (rot(theta), (0.0, 0.0));
    let t = (std::f64::consts::PI / d).cos();
    let g = 1.0 / (1.0 - t * t).sqrt();
    let trans = ((g, 0.0), (g * t, 0.0));
    let mut m = ((1.0, 0.0), (0.0, 0.0));
    for &k in slots {
        let theta = 2.0 * std::f64::consts::PI * f64::from(k) / d;
        m = compose(
            compose(compose(m, r(theta)), trans),
            r(std::f64::consts::PI),
        );
    }
    // Image of the origin: b / conj(a).
    let (a, b) = m;
    let den = a.0 * a.0 + a.1 * a.1;
    ((b.0 * a.0 - b.1 * a.1) / den, (b.1 * a.0 + b.0 * a.1) / den)
}

// ---------------------------------------------------------------------------
// Measurement: pair sampling, stretch, per-stage outcome. Independent of the
// driver: it sees only the adjacency, which nodes are alive, and hop counts.
// ---------------------------------------------------------------------------

/// A packet that takes more hops than this is a loop. The greedy
/// watermark strictly decreases the tree distance to the destination, which
/// is at most `2 × MAX_DEPTH`.
const HOP_BOUND: u32 = 2 * MAX_DEPTH as u32 + 1;

/// Connected component index of every live node (`usize::MAX` for dead).
fn components(adj: &[Vec<usize>], alive: &[bool]) -> Vec<usize> {
    let n = adj.len();
    let mut comp = vec![usize::MAX; n];
    let mut ncomp = 0;
    for s in 0..n {
        if comp[s] == usize::MAX && alive[s] {
            for (v, d) in bfs(adj, s).iter().enumerate() {
                if *d != u32::MAX {
                    comp[v] = ncomp;
                }
            }
            ncomp += 1;
        }
    }
    comp
}

/// Seeded random ordered pairs of distinct live nodes in the same
/// component (at most `pairs`, giving up after `100 × pairs` draws).
pub fn sample_pairs(
    adj: &[Vec<usize>],
    alive: &[bool],
    pairs: usize,
    seed: u64,
) -> Vec<(usize, usize)> {
    let n = adj.len();
    let comp = components(adj, alive);
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(pairs);
    let mut attempts = 0;
    while out.len() < pairs && attempts < pairs * 100 {
        attempts += 1;
        let s = (rng.next() % n as u64) as usize;
        let t = (rng.next() % n as u64) as usize;
        if s == t || !alive[s] || !alive[t] || comp[s] != comp[t] {
            continue;
        }
        out.push((s, t));
    }
    out
}

/// Delivery and stretch of one batch: `hops[i]` is `Some(h)` when pair `i`
/// was delivered in `h` hops.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub delivered: usize,
    pub pairs: usize,
    pub avg_stretch: f64,
    pub max_stretch: f64,
}

/// Shortest-path hop counts of `pairs` (one BFS per pair), computed once
/// per batch for every stretch figure.
pub fn shortest_hops(adj: &[Vec<usize>], pairs: &[(usize, usize)]) -> Vec<u32> {
    pairs.iter().map(|&(s, d)| bfs(adj, s)[d]).collect()
}

/// `shortest[i]` is pair `i`'s shortest-path hop count ([`shortest_hops`]).
pub fn tally(shortest: &[u32], hops: &[Option<u32>]) -> Tally {
    let mut t = Tally {
        pairs: shortest.len(),
        ..Tally::default()
    };
    let mut sum = 0.0;
    for (&sp, h) in shortest.iter().zip(hops) {
        if let Some(h) = h {
            let st = f64::from(*h) / f64::from(sp);
            t.delivered += 1;
            sum += st;
            t.max_stretch = t.max_stretch.max(st);
        }
    }
    t.avg_stretch = if t.delivered > 0 {
        sum / t.delivered as f64
    } else {
        f64::NAN
    };
    t
}

pub fn delivery_pct(hops: &[Option<u32>]) -> f64 {
    let d = hops.iter().filter(|h| h.is_some()).count();
    100.0 * d as f64 / hops.len().max(1) as f64
}

pub struct Outcome {
    pub tag: String,
    pub nodes: usize,
    pub tally: Tally,
    pub rounds: usize,
    /// Virtual time from the start (or the failure) to the last change.
    pub converge_ms: u64,
    pub joined_pct: f64,
    pub max_depth: usize,
    pub sigs: u64,
    /// Minimum and mean delivery % of the batches sent while re-converging.
    pub during: Option<(f64, f64)>,
    pub messages: u64,
    /// The anchor's average stretch over the pairs both routers delivered.
    pub anchor_stretch: f64,
    /// Ours minus the anchor on those pairs.
    pub delta: f64,
    /// Trees per node.
    pub trees: u8,
    /// Mean encoded header bytes of the packets sent in this stage.
    pub header_bytes: f64,
    /// With a hostile node: delivery % when the source may try each tree
    /// alone after a failed first try.
    pub per_tree_pct: Option<f64>,
    /// With a hostile node: the trees it ended up rooting.
    pub hostile_roots: usize,
}

// ---------------------------------------------------------------------------
// Driver: routing::Node inside hyperport::sim.
// ---------------------------------------------------------------------------

/// Message tags on the simulated links.
const TAG_ANNOUNCE: u8 = 0;
const TAG_PACKET: u8 = 1;
/// A hop acknowledgement (`--hop-ack`): the packet id arrived.
const TAG_ACK: u8 = 2;

/// Scenario inputs to a node (recorded in the sim trace digest).
#[derive(Clone, Debug, Hash)]
enum Cmd {
    /// Originate packet `id` towards locator `dest`, in tree `only` alone
    /// if set (a source trying one tree at a time).
    Send {
        id: u64,
        dest: Box<Locator>,
        only: Option<u8>,
    },
    /// The link to this neighbour lost carrier.
    LinkDown(u32),
}

/// What happened to a data packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// In flight (or silently lost on a failed link / at a down node).
    Moving,
    Delivered,
    /// Delivered at a node other than the intended one.
    Misdelivered,
    /// Path broken / dropped by the routing decision.
    Broken,
    Looped,
    /// Forwarded to a node that is not a live neighbour.
    BadLink,
    /// Dropped by the hostile node (`--hostile-root`).
    Dropped,
}

pub struct Packet {
    pub dst: u32,
    pub hops: u32,
    pub fate: Fate,
    /// Nodes this packet reached, with the node's position generation at
    /// that visit: a repeat at the same generation is a loop.
    pub visited: HashMap<u32, u64>,
}

impl Packet {
    /// A packet for `dst` that has not moved yet.
    pub fn new(dst: u32) -> Self {
        Packet {
            dst,
            hops: 0,
            fate: Fate::Moving,
            visited: HashMap::new(),
        }
    }

    /// The loop rule, applied at every visit: the packet is at `node`, whose
    /// position generation is `generation`, and the node's routing decision
    /// `forwards` it (or not). A loop is a packet over [`HOP_BOUND`] hops,
    /// or a node forwarding it a second time from an unchanged position
    /// (the watermark forbids both). A repeat visit after the node moved is
    /// not a loop: it returns `Visit::Revisit`. A loop settles the packet's
    /// fate as [`Fate::Looped`].
    pub fn visit(&mut self, node: u32, generation: u64, forwards: bool) -> Visit {
        let seen = self.visited.insert(node, generation);
        if self.hops > HOP_BOUND || (seen == Some(generation) && forwards) {
            self.fate = Fate::Looped;
            return Visit::Loop;
        }
        match seen {
            Some(g) if g != generation => Visit::Revisit,
            _ => Visit::Fine,
        }
    }
}

/// What [`Packet::visit`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// First visit, or a repeat that does not forward again.
    Fine,
    /// The node had been visited at an earlier position (counted).
    Revisit,
    /// A loop (the run fails).
    Loop,
}

/// Packet bookkeeping shared by every adapter: the loop detector.
#[derive(Default)]
struct Ledger {
    packets: HashMap<u64, Packet>,
    loops: u64,
    /// Revisits of a node whose own position changed since the packet's
    /// earlier visit (see the module docs): not loops, counted.
    revisits: u64,
    bad_links: u64,
    /// Encoded header bytes of every packet sent (for the mean).
    header_bytes: u64,
}

/// State shared by all adapters of one simulation.
struct Ctx {
    ledger: RefCell<Ledger>,
    /// Scratch buffer for `Node::poll_transmit` (one for all nodes: a node
    /// is 34 KiB already, 25 KiB more each would double the memory).
    buf: RefCell<Vec<u8>>,
}

/// A forwarded packet awaiting its hop acknowledgement: id, next hop, the
/// header as it arrived, deadline.
type Pending = (u64, u32, Box<Header>, Instant);

/// `SimNode` adapter around `routing::Node`.
struct RNode<'a> {
    id: u32,
    /// Hop acknowledgements: forwarded packets not acknowledged yet, with
    /// the header as it arrived here (to decide again) and the deadline;
    /// `None` when the link layer is not modelled.
    acks: Option<(Duration, Vec<Pending>)>,
    /// Drops every data packet it should forward (`--hostile-root`).
    hostile: bool,
    node: Node<'a, Memo, Vec<Hop>>,
    /// Live links (neighbour indices), for the forwarding check.
    links: Vec<u32>,
    /// Data packets to send, ahead of announcements.
    out: VecDeque<Transmit>,
    ctx: Rc<Ctx>,
    /// When this node's coordinate or root last changed.
    last_change: Instant,
    /// Time of the current input.
    now: Instant,
    /// Announcements leave at most once per `pace` (optional driver-side
    /// batching; the node itself already paces each neighbour by
    /// `Config::min_announce_gap`); zero sends every announcement as soon as
    /// the node produces it (the default).
    pace: Duration,
    /// Announcements are held until this instant.
    flush_at: Instant,
    /// An announcement taken from the node inside the pacing window.
    held: Option<Transmit>,
    /// Something was sent since the window opened.
    flushed: bool,
}

impl RNode<'_> {
    fn drain_events(&mut self, now: Instant) {
        while let Some(e) = self.node.poll_event() {
            match e {
                Event::NeighbourEvicted { link, .. } => self.links.retain(|&x| x != link.0),
                _ => self.last_change = now,
            }
        }
    }

    /// Packet `id` with header `h` is at this node: record the visit,
    /// decide, forward or settle its fate.
    fn on_packet(&mut self, id: u64, h: Header) {
        self.on_packet_again(id, h, false);
    }

    /// [`RNode::on_packet`]; `again`: a retransmission after a hop timeout
    /// (the same visit, decided again without the suspect neighbour).
    fn on_packet_again(&mut self, id: u64, mut h: Header, again: bool) {
        let arrival = self.acks.as_ref().map(|_| Box::new(h.clone()));
        let mut l = self.ctx.ledger.borrow_mut();
        let Ledger {
            packets,
            loops,
            revisits,
            bad_links,
            ..
        } = &mut *l;
        let Some(p) = packets.get_mut(&id) else {
            return;
        };
        if p.fate != Fate::Moving {
            return;
        }
        // The packet's state at this node: the node's position and the
        // trees the packet may still use when it leaves (a switch of tree
        // at a dead end may legitimately bring it back through a node).
        let decision = self.node.route(&mut h);
        let state = (self.node.generation() << 8) | u64::from(h.trees);
        let visit = if again {
            Visit::Fine
        } else {
            p.visit(self.id, state, matches!(decision, Decision::Forward(_)))
        };
        match visit {
            Visit::Loop => {
                *loops += 1;
                return;
            }
            Visit::Revisit => *revisits += 1,
            Visit::Fine => {}
        }
        match decision {
            Decision::Deliver => {
                p.fate = if p.dst == self.id {
                    Fate::Delivered
                } else {
                    Fate::Misdelivered
                };
            }
            Decision::Forward(_) if self.hostile && h.kind == PacketKind::Data => {
                p.fate = Fate::Dropped;
            }
            Decision::Forward(LinkId(v)) => {
                if !self.links.contains(&v) {
                    p.fate = Fate::BadLink;
                    *bad_links += 1;
                    return;
                }
                p.hops += 1;
                let mut payload = vec![0u8; 9 + MAX_HEADER_LEN];
                payload[0] = TAG_PACKET;
                payload[1..9].copy_from_slice(&id.to_le_bytes());
                let Ok(len) = h.encode(&mut payload[9..]) else {
                    p.fate = Fate::Broken;
                    return;
                };
                payload.truncate(9 + len);
                self.out.push_back(Transmit {
                    to: NodeId(v),
                    payload,
                });
                if let (Some((timeout, pending)), Some(a)) = (self.acks.as_mut(), arrival) {
                    pending.push((id, v, a, self.now.saturating_add(*timeout)));
                }
            }
            _ => p.fate = Fate::Broken,
        }
    }
}

impl SimNode for RNode<'_> {
    type Command = Cmd;

    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]) {
        self.now = now;
        match msg.split_first() {
            Some((&TAG_ANNOUNCE, rest)) => {
                // Refusals are counted in the node's stats.
                let _ = self.node.handle_announcement(now, LinkId(from.0), rest);
                self.drain_events(now);
            }
            Some((&TAG_ACK, rest)) if rest.len() == 8 => {
                let id = u64::from_le_bytes(rest.try_into().expect("8 bytes"));
                if let Some((_, pending)) = self.acks.as_mut() {
                    pending.retain(|(p, to, _, _)| !(*p == id && *to == from.0));
                }
            }
            Some((&TAG_PACKET, rest)) if rest.len() >= 8 => {
                let (id, hdr) = rest.split_at(8);
                if self.acks.is_some() {
                    let mut ack = vec![TAG_ACK];
                    ack.extend_from_slice(id);
                    self.out.push_back(Transmit {
                        to: from,
                        payload: ack,
                    });
                }
                let id = u64::from_le_bytes(id.try_into().expect("8 bytes"));
                match Header::decode(hdr) {
                    Ok((h, _)) => self.on_packet(id, h),
                    Err(e) => panic!("undecodable header from our own encoder: {e}"),
                }
            }
            _ => panic!("unknown message from {from}"),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        // The deadline may be our flush time rather than the node's.
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
            self.drain_events(now);
        }
        // Hops not acknowledged in time: the neighbour is suspect (the
        // routing node stops using it), and the packet is decided again
        // here without it.
        let expired: Vec<Pending> = match self.acks.as_mut() {
            Some((_, pending)) => {
                let (gone, keep) = pending.drain(..).partition(|(_, _, _, at)| *at <= now);
                *pending = keep;
                gone
            }
            None => Vec::new(),
        };
        for (id, v, h, _) in expired {
            self.node.handle_link_suspect(now, LinkId(v));
            self.drain_events(now);
            self.on_packet_again(id, *h, true);
        }
    }

    fn handle_command(&mut self, now: Instant, command: Cmd) {
        self.now = now;
        match command {
            Cmd::Send { id, dest, only } => {
                let mut h = self.node.header_to(*dest);
                if let Some(t) = only {
                    h = h.only_tree(usize::from(t));
                }
                self.ctx.ledger.borrow_mut().header_bytes += h.wire_len() as u64;
                self.on_packet(id, h);
            }
            Cmd::LinkDown(v) => {
                self.node.handle_link_down(now, LinkId(v));
                self.links.retain(|&x| x != v);
                self.drain_events(now);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let node = self.node.poll_timeout();
        let node = match (node, self.held.is_some()) {
            (Some(t), true) => Some(t.min(self.flush_at)),
            (None, true) => Some(self.flush_at),
            (t, false) => t,
        };
        let ack = self
            .acks
            .as_ref()
            .and_then(|(_, p)| p.iter().map(|(_, _, _, at)| *at).min());
        match (node, ack) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.out.pop_front() {
            return Some(t);
        }
        if self.now < self.flush_at {
            // Inside the pacing window: keep (at most) one announcement back
            // so a flush is scheduled; the node coalesces the rest.
            if self.held.is_none() {
                self.held = self.pull();
            }
            return None;
        }
        if let Some(t) = self.held.take().or_else(|| self.pull()) {
            self.flushed = true;
            return Some(t);
        }
        if self.flushed {
            self.flushed = false;
            self.flush_at = self.now.saturating_add(self.pace);
        }
        None
    }
}

impl RNode<'_> {
    /// The node's next announcement as a simulator message.
    fn pull(&mut self) -> Option<Transmit> {
        let mut buf = self.ctx.buf.borrow_mut();
        let t = self
            .node
            .poll_transmit(&mut buf[1..])
            .expect("buffer sized to the maximum")?;
        buf[0] = TAG_ANNOUNCE;
        Some(Transmit {
            to: NodeId(t.link.0),
            payload: buf[..1 + t.len].to_vec(),
        })
    }
}

/// The simulated network and what the measurement needs to know about it.
struct Net<'a> {
    sim: Sim<RNode<'a>>,
    /// Surviving graph (for BFS and pair sampling).
    adj: Vec<Vec<usize>>,
    alive: Vec<bool>,
    ctx: Rc<Ctx>,
    interval: Duration,
    /// Longest one-hop latency of a link (for how long packets may walk).
    hop_latency: Duration,
    next_packet: u64,
    /// Print per-round progress on stderr (`--verbose`).
    verbose: bool,
    /// The hostile node, if any (no pair starts or ends there).
    hostile: Option<usize>,
    trees: u8,
}

impl Net<'_> {
    /// Live nodes that may be a pair's end (the hostile node is not).
    fn honest(&self) -> Vec<bool> {
        (0..self.alive.len())
            .map(|i| self.alive[i] && self.hostile != Some(i))
            .collect()
    }

    fn sim_err(e: hyperport::sim::SimError) -> ! {
        panic!("simulator: {e}")
    }

    /// Advances virtual time by one round.
    fn round(&mut self) {
        let t = self.sim.now().saturating_add(self.interval);
        self.sim.run_until(t).unwrap_or_else(|e| Self::sim_err(e));
    }

    fn generations(&self) -> Vec<u64> {
        self.sim
            .nodes()
            .iter()
            .map(|n| n.node.generation())
            .collect()
    }

    /// Runs rounds until no live node's position changed for `quiet`
    /// rounds (at most `max_rounds`). With `probe`, injects those pairs at
    /// the start of every round. Returns the virtual time from the start to
    /// the last position change, the rounds up to the last round with a
    /// change, and the packet ids of each round's batch.
    fn converge(
        &mut self,
        quiet: usize,
        max_rounds: usize,
        probe: Option<&[(usize, usize)]>,
    ) -> (Duration, usize, Vec<Vec<u64>>) {
        let start = self.sim.now();
        let mut gens = self.generations();
        let mut last_change = 0;
        let mut batches = Vec::new();
        for r in 1..=max_rounds {
            if let Some(pairs) = probe {
                batches.push(self.send(pairs));
            }
            self.round();
            let now = self.generations();
            let moved = (0..now.len())
                .filter(|&i| self.alive[i] && now[i] != gens[i])
                .count();
            let changed = moved > 0;
            if self.verbose {
                eprintln!(
                    "round {r} at {} ms: {moved} nodes moved",
                    self.sim.now().as_millis()
                );
            }
            gens = now;
            if changed {
                last_change = r;
            } else if r >= last_change + quiet {
                break;
            }
        }
        let last = (0..self.alive.len())
            .filter(|&i| self.alive[i])
            .map(|i| self.sim.nodes()[i].last_change)
            .max()
            .unwrap_or(start);
        (last.saturating_duration_since(start), last_change, batches)
    }

    /// Injects one packet per pair; returns their ids.
    fn send(&mut self, pairs: &[(usize, usize)]) -> Vec<u64> {
        self.send_in(pairs, None)
    }

    /// Injects one packet per pair, in tree `only` alone if set.
    fn send_in(&mut self, pairs: &[(usize, usize)], only: Option<u8>) -> Vec<u64> {
        let mut ids = Vec::with_capacity(pairs.len());
        for &(s, t) in pairs {
            let id = self.next_packet;
            self.next_packet += 1;
            let dest = Box::new(self.sim.nodes()[t].node.locator());
            self.ctx
                .ledger
                .borrow_mut()
                .packets
                .insert(id, Packet::new(t as u32));
            self.sim
                .command(NodeId(s as u32), Cmd::Send { id, dest, only })
                .unwrap_or_else(|e| Self::sim_err(e));
            ids.push(id);
        }
        ids
    }

    /// Whether every packet of `ids` has a final fate.
    fn settled(&self, ids: &[u64]) -> bool {
        let l = self.ctx.ledger.borrow();
        ids.iter()
            .all(|id| l.packets.get(id).is_none_or(|p| p.fate != Fate::Moving))
    }

    /// Hop counts of delivered packets (`None`: not delivered), forgetting
    /// the packets.
    fn outcome(&mut self, ids: &[u64]) -> Vec<Option<u32>> {
        let mut l = self.ctx.ledger.borrow_mut();
        ids.iter()
            .map(|id| match l.packets.remove(id) {
                Some(Packet {
                    fate: Fate::Delivered,
                    hops,
                    ..
                }) => Some(hops),
                _ => None,
            })
            .collect()
    }

    /// Depth of the deepest live node.
    fn max_depth(&self) -> u64 {
        (0..self.sim.nodes().len())
            .filter(|&i| self.alive[i])
            .map(|i| self.sim.nodes()[i].node.coord().depth() as u64)
            .max()
            .unwrap_or(0)
    }

    /// Routes `pairs` through the simulator (rounds run until every packet
    /// settled, at most as many as the longest walk the watermark allows,
    /// `2 × max depth + 1` hops, takes at the slowest link latency, and at
    /// least 10): hop counts of the delivered ones.
    fn route_pairs(&mut self, pairs: &[(usize, usize)]) -> Vec<Option<u32>> {
        self.route_pairs_in(pairs, None)
    }

    /// [`Net::route_pairs`] in tree `only` alone if set.
    fn route_pairs_in(&mut self, pairs: &[(usize, usize)], only: Option<u8>) -> Vec<Option<u32>> {
        let ids = self.send_in(pairs, only);
        let depth = self.max_depth();
        let walk = self.hop_latency.saturating_mul(2 * depth + 2);
        let rounds = (walk.as_micros() / self.interval.as_micros().max(1)) as usize + 2;
        for _ in 0..rounds.max(10) {
            if self.settled(&ids) {
                break;
            }
            self.round();
        }
        self.outcome(&ids)
    }

    fn remove_link(&mut self, u: usize, v: usize) {
        self.adj[u].retain(|&x| x != v);
        self.adj[v].retain(|&x| x != u);
        let (a, b) = (NodeId(u as u32), NodeId(v as u32));
        self.sim
            .partition(Partition::Link(a, b))
            .unwrap_or_else(|e| Self::sim_err(e));
        for (x, y) in [(a, b), (b, a)] {
            if !self.sim.is_down(x) {
                self.sim
                    .command(x, Cmd::LinkDown(y.0))
                    .unwrap_or_else(|e| Self::sim_err(e));
            }
        }
    }

    fn remove_node(&mut self, u: usize) {
        for v in std::mem::take(&mut self.adj[u]) {
            self.adj[v].retain(|&x| x != u);
        }
        self.alive[u] = false;
        self.sim
            .node_down(NodeId(u as u32))
            .unwrap_or_else(|e| Self::sim_err(e));
    }

    /// Loops, forwarding over non-links, and revisits after a position
    /// change seen so far.
    fn violations(&self) -> (u64, u64, u64) {
        let l = self.ctx.ledger.borrow();
        (l.loops, l.bad_links, l.revisits)
    }
}

/// Options of one evaluation.
#[derive(Clone, Copy)]
pub struct Opts {
    /// Pairs routed after convergence (default 2000).
    pub pairs: usize,
    /// Pairs routed at the start of every round while re-converging
    /// (default 500).
    pub probe_pairs: usize,
    /// Seed of the pair sample, the churn choices and the links.
    pub seed: u64,
    /// Run the churn stages.
    pub churn: bool,
    /// Poincaré positions to print.
    pub positions: usize,
    /// Every link's parameters.
    pub link: LinkConfig,
    /// Per-round progress on stderr.
    pub verbose: bool,
    /// Minimum time between two flushes of a node's announcements.
    pub pace: Duration,
    /// Spanning trees per node (`routing::Config::trees`).
    pub trees: u8,
    /// Hops wanted between the roots (`routing::Config::root_spread`).
    pub root_spread: u16,
    /// The evaluation is the deployment's authority: it credentials every
    /// node's rank (the degree). Without it every rank is 0.
    pub authority: bool,
    /// Add a hostile node (`--hostile-root`).
    pub hostile: bool,
    /// Model the link layer's hop acknowledgements (`--no-hop-ack` off).
    pub hop_ack: bool,
}

/// Runs one graph; returns its rows and whether a loop or a forward over a
/// non-link was seen.
pub fn evaluate(g: &Graph, o: Opts) -> (Vec<Outcome>, bool) {
    let n = g.adj.len();
    let config = Config {
        authority: o.authority.then(|| credential::public_key(&AUTHORITY)),
        trees: o.trees,
        root_spread: o.root_spread,
        ..Config::default()
    };
    // The hostile node: a seeded pick, with the smallest key it can grind
    // (below every honest key) and no credential.
    let hostile =
        (o.hostile && n > 2).then(|| (SplitMix(o.seed ^ 0x0605_711e).next() % n as u64) as usize);
    let hostile_seed = hostile.map(|h| {
        let best = (0..n)
            .filter(|&i| i != h)
            .map(|i| credential::public_key(&key_seed(i)))
            .min()
            .unwrap_or([0xff; 32]);
        (0..(20 * n as u64).max(4_096))
            .map(|j| key_seed(1 << 40 | j as usize))
            .map(|s| (credential::public_key(&s), s))
            .find(|(k, _)| *k < best)
            .map(|(_, s)| s)
            .unwrap_or_else(|| key_seed(h))
    });
    let seed_of = |i: usize| match (hostile, hostile_seed) {
        (Some(h), Some(s)) if h == i => s,
        _ => key_seed(i),
    };
    let mut tables: Vec<Vec<NeighbourEntry>> = g
        .adj
        .iter()
        .map(|a| vec![NeighbourEntry::EMPTY; a.len()])
        .collect();
    let t0 = Instant::ZERO;
    let memo = Memo::default();
    let ctx = Rc::new(Ctx {
        ledger: RefCell::new(Ledger::default()),
        buf: RefCell::new(vec![0u8; 1 + TRANSMIT_BUF_LEN]),
    });
    let mut nodes: Vec<RNode<'_>> = tables
        .iter_mut()
        .enumerate()
        .map(|(i, t)| {
            // Ranks (degrees) count only with the authority's credential;
            // the hostile node gets none, whatever it claims.
            let rank = rank_of(&g.adj, i);
            let key = credential::public_key(&seed_of(i));
            let c = Config {
                rank,
                rank_credential: (o.authority && hostile != Some(i))
                    .then(|| credential::sign_rank(&AUTHORITY, &key, rank)),
                ..config
            };
            RNode {
                id: i as u32,
                acks: o.hop_ack.then(|| {
                    // Twice the slowest link's latency, and a little.
                    let t = o
                        .link
                        .latency_max
                        .saturating_mul(2)
                        .saturating_add(Duration::from_millis(5));
                    (t, Vec::new())
                }),
                hostile: hostile == Some(i),
                node: Node::with_chain_stores(
                    c,
                    &seed_of(i),
                    t,
                    t0,
                    memo.clone(),
                    Vec::new(),
                    Vec::new(),
                ),
                links: g.adj[i].iter().map(|&v| v as u32).collect(),
                out: VecDeque::new(),
                ctx: ctx.clone(),
                last_change: t0,
                now: t0,
                pace: o.pace,
                flush_at: t0,
                held: None,
                flushed: false,
            }
        })
        .collect();
    let keys: Vec<[u8; 32]> = nodes.iter().map(|n| n.node.public_key()).collect();
    // Slot order: each node registers its links by decreasing neighbour
    // degree (then id), so hubs get the small slots and, with the
    // breadth-first parent order, the tree leans on hubs.
    for (u, a) in g.adj.iter().enumerate() {
        let mut order = a.clone();
        order.sort_by_key(|&v| (std::cmp::Reverse(g.adj[v].len()), v));
        for v in order {
            nodes[u]
                .node
                .handle_link_up(t0, LinkId(v as u32), keys[v])
                .expect("table sized to degree");
        }
    }
    let sim_config = SimConfig {
        seed: o.seed,
        record_trace: false,
        ..SimConfig::default()
    };
    let mut sim = Sim::new(sim_config, nodes);
    for (u, a) in g.adj.iter().enumerate() {
        for &v in a.iter().filter(|&&v| u < v) {
            sim.connect(NodeId(u as u32), NodeId(v as u32), o.link)
                .expect("distinct nodes, one link each");
        }
    }
    let mut net = Net {
        sim,
        adj: g.adj.clone(),
        alive: vec![true; n],
        ctx,
        interval: config.announce_interval,
        hop_latency: o.link.latency_max,
        next_packet: 0,
        verbose: o.verbose,
        hostile,
        trees: o.trees,
    };
    let mut out = Vec::new();
    let (took, _, _) = net.converge(3, 5_000, None);
    let rounds = (took, rounds_of(took, net.interval));
    if let Some(step) = n.checked_div(o.positions) {
        let d = 1.0 + net.adj.iter().map(Vec::len).max().unwrap_or(1) as f64;
        for i in (0..n).step_by(step.max(1)).take(o.positions) {
            let c = net.sim.nodes()[i].node.coord();
            let slots: Vec<u16> = c.slots().collect();
            let (x, y) = poincare(&slots, d);
            println!(
                "# {} node {i} coord {c:?} poincare ({x:.6}, {y:.6}) |z| {:.12} (display only)",
                g.name,
                (x * x + y * y).sqrt()
            );
        }
    }
    out.push(stage(&mut net, &memo, rounds, None, o, ""));
    if o.churn {
        // Quiet long enough for a root timeout to show, at the deepest
        // node's timeout (it grows per hop of depth).
        let depth = net.max_depth();
        let timeout = config
            .root_timeout
            .saturating_add(config.root_timeout_per_hop.saturating_mul(depth));
        let quiet = (timeout.as_micros() / config.announce_interval.as_micros()) as usize + 5;
        // 5% of links, then 5% of nodes (the root first: root loss), seeded.
        let mut rng = SplitMix(o.seed ^ 0xc4);
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (u, a) in net.adj.iter().enumerate() {
            edges.extend(a.iter().filter(|&&v| u < v).map(|&v| (u, v)));
        }
        for _ in 0..(edges.len() * 5).div_ceil(100) {
            let i = (rng.next() % edges.len() as u64) as usize;
            let (u, v) = edges.swap_remove(i);
            net.remove_link(u, v);
        }
        let during = reconverge(&mut net, quiet, o);
        out.push(stage(
            &mut net,
            &memo,
            during.0,
            Some(during.1),
            o,
            "+links-5%",
        ));
        let root = (0..n)
            .find(|&i| net.alive[i] && net.sim.nodes()[i].node.is_root())
            .unwrap_or(0);
        net.remove_node(root);
        let mut removed = 1;
        while removed < (n * 5).div_ceil(100) {
            let v = (rng.next() % n as u64) as usize;
            if net.alive[v] {
                net.remove_node(v);
                removed += 1;
            }
        }
        let during = reconverge(&mut net, quiet, o);
        out.push(stage(
            &mut net,
            &memo,
            during.0,
            Some(during.1),
            o,
            "+nodes-5%",
        ));
    }
    let (loops, bad, revisits) = net.violations();
    if revisits > 0 {
        eprintln!(
            "{}: {revisits} packets reached a node again after its position changed (bounded by the watermark; not loops)",
            g.name
        );
    }
    if loops > 0 || bad > 0 {
        eprintln!(
            "{}: {loops} looping packets, {bad} packets forwarded over a non-link",
            g.name
        );
    }
    (out, loops > 0 || bad > 0)
}

/// Re-converges after a failure, probing delivery every round: rounds to
/// re-converge and (min, mean) delivery % of the batches sent in rounds
/// `1..=rounds` (at least round 1).
fn reconverge(net: &mut Net<'_>, quiet: usize, o: Opts) -> ((Duration, usize), (f64, f64)) {
    let pairs = sample_pairs(&net.adj, &net.honest(), o.probe_pairs, o.seed);
    let (took, _, batches) = net.converge(quiet, 5_000, Some(&pairs));
    let rounds = rounds_of(took, net.interval);
    // Let the last batches land.
    for _ in 0..10 {
        if batches.iter().all(|b| net.settled(b)) {
            break;
        }
        net.round();
    }
    let pcts: Vec<f64> = batches
        .iter()
        .map(|b| delivery_pct(&net.outcome(b)))
        .collect();
    let during = &pcts[..rounds.max(1).min(pcts.len())];
    let min = during.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = during.iter().sum::<f64>() / during.len().max(1) as f64;
    ((took, rounds), (min, mean))
}

/// Rounds (announcement intervals) of virtual time needed to cover `took`:
/// a change at 0.2 s is round 1, at 1.0 s round 1, at 1.01 s round 2.
pub fn rounds_of(took: Duration, interval: Duration) -> usize {
    took.as_micros().div_ceil(interval.as_micros().max(1)) as usize
}

/// Final measurement of a stage: routes the pair sample and reads the tree.
fn stage(
    net: &mut Net<'_>,
    memo: &Memo,
    (took, rounds): (Duration, usize),
    during: Option<(f64, f64)>,
    o: Opts,
    tag: &str,
) -> Outcome {
    let live: Vec<usize> = (0..net.adj.len()).filter(|&i| net.alive[i]).collect();
    let mut per_root: HashMap<[u8; 32], usize> = HashMap::new();
    for &i in &live {
        *per_root
            .entry(net.sim.nodes()[i].node.root().key)
            .or_default() += 1;
    }
    let biggest = per_root.values().copied().max().unwrap_or(0);
    let max_depth = live
        .iter()
        .map(|&i| net.sim.nodes()[i].node.coord().depth())
        .max()
        .unwrap_or(0);
    let pairs = sample_pairs(&net.adj, &net.honest(), o.pairs, o.seed);
    let (bytes0, sent0) = {
        let l = net.ctx.ledger.borrow();
        (l.header_bytes, net.next_packet)
    };
    let hops = net.route_pairs(&pairs);
    let header_bytes = (net.ctx.ledger.borrow().header_bytes - bytes0) as f64
        / (net.next_packet - sent0).max(1) as f64;
    // With a hostile node: the source may try each tree alone after a
    // failed first try.
    let per_tree_pct = net.hostile.map(|_| {
        let mut any: Vec<bool> = hops.iter().map(Option::is_some).collect();
        for t in 0..net.trees {
            let left: Vec<usize> = (0..pairs.len()).filter(|&i| !any[i]).collect();
            if left.is_empty() {
                break;
            }
            let retry: Vec<(usize, usize)> = left.iter().map(|&i| pairs[i]).collect();
            for (i, h) in left.iter().zip(net.route_pairs_in(&retry, Some(t))) {
                any[*i] |= h.is_some();
            }
        }
        100.0 * any.iter().filter(|&&d| d).count() as f64 / any.len().max(1) as f64
    });
    let hostile_roots = net.hostile.map_or(0, |h| {
        let n = &net.sim.nodes()[h].node;
        (0..usize::from(net.trees))
            .filter(|&t| n.is_root_of(t))
            .count()
    });
    let shortest = shortest_hops(&net.adj, &pairs);
    let (anchor_stretch, delta) = versus_anchor(&net.adj, &net.alive, &pairs, &shortest, &hops);
    Outcome {
        tag: tag.to_string(),
        nodes: live.len(),
        tally: tally(&shortest, &hops),
        rounds,
        converge_ms: took.as_millis(),
        joined_pct: 100.0 * biggest as f64 / live.len().max(1) as f64,
        max_depth,
        sigs: memo.0.borrow().1,
        during,
        messages: net.sim.stats().delivered,
        anchor_stretch,
        delta,
        trees: net.trees,
        header_bytes,
        per_tree_pct,
        hostile_roots,
    }
}

/// Routes the same pairs with the anchor: (its average stretch, ours minus
/// its) over the pairs both delivered.
fn versus_anchor(
    adj: &[Vec<usize>],
    alive: &[bool],
    pairs: &[(usize, usize)],
    shortest: &[u32],
    hops: &[Option<u32>],
) -> (f64, f64) {
    let a = anchor::Anchor::new(adj, alive);
    if let Some(hub) = (0..adj.len())
        .filter(|&v| alive[v])
        .max_by_key(|&v| adj[v].len())
    {
        eprintln!(
            "# anchor: root node {} (degree {}), tree depth {}",
            a.root_of(hub),
            adj[a.root_of(hub)].len(),
            a.max_depth()
        );
    }
    let (mut both, mut theirs, mut ours) = (0usize, 0.0, 0.0);
    for ((&(s, t), &sp), h) in pairs.iter().zip(shortest).zip(hops) {
        let (Some(h), Some(ah)) = (h, a.route(s, t)) else {
            continue;
        };
        let sp = f64::from(sp);
        both += 1;
        theirs += f64::from(ah) / sp;
        ours += f64::from(*h) / sp;
    }
    let n = both.max(1) as f64;
    (theirs / n, (ours - theirs) / n)
}

/// Runs hyperport::routing in the deterministic simulator on each graph
/// and prints one row per stage (the columns are in the example's docs).
#[derive(clap::Parser)]
#[command(name = "routing_eval")]
struct Args {
    /// Pairs routed after convergence.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pairs: u64,
    /// Pairs routed every round while re-converging.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    probe_pairs: u64,
    /// Seed of the pair sample, the churn choices, the hostile node and the links.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Spanning trees per node [default: routing::Config's default].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    trees: Option<u8>,
    /// Hops wanted between the roots of the trees [default: routing::Config's default].
    #[arg(long, value_name = "HOPS", value_parser = clap::value_parser!(u16).range(1..=64))]
    root_spread: Option<u16>,
    /// The evaluation acts as the deployment's authority and credentials
    /// every node's rank (its degree); without it every rank is 0.
    #[arg(long)]
    authority: bool,
    /// Add a 5,000-leaf hub, a 10,000-node path and a 100x100 grid.
    #[arg(long)]
    synthetic: bool,
    /// Add an N-node path.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    path: Vec<u64>,
    /// Add an S x S grid.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(2..=1_000))]
    grid: Vec<u64>,
    /// After convergence remove 5% of links, re-converge and measure, then
    /// 5% of nodes (the root of tree 0 first).
    #[arg(long)]
    churn: bool,
    /// A seeded node without a credential takes the smallest key it can
    /// grind and drops every data packet it should forward; pairs are
    /// between the other nodes, and `per_tree_pct` is the delivery when the
    /// source may also try each tree alone.
    #[arg(long)]
    hostile_root: bool,
    /// Link latency in ms.
    #[arg(long, default_value_t = 10, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    latency: u64,
    /// Extra latency drawn per message from [0, MS].
    #[arg(long, default_value_t = 0, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    jitter: u64,
    /// Per-message loss on every link, parts per million.
    #[arg(long, default_value_t = 0, value_name = "PPM", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    loss: u32,
    /// Driver-side batching: a node flushes its announcements at most once per MS.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pace: u64,
    /// Print N nodes' Poincare-disk positions (display only).
    #[arg(long, default_value_t = 0, value_name = "N")]
    positions: u64,
    /// Per-round progress on stderr.
    #[arg(long)]
    verbose: bool,
    /// Do not model hop acknowledgements (by default a forwarded data
    /// packet is acknowledged by the next hop; without an acknowledgement
    /// in twice the link latency the sender reports the neighbour to
    /// routing as suspect and decides again without it).
    #[arg(long)]
    no_hop_ack: bool,
    /// Edge lists (`# nodes N edges M` header, then `u v` lines).
    edgelists: Vec<String>,
}

/// The output columns, in order (the header line).
const COLUMNS: [&str; 20] = [
    "name",
    "nodes",
    "delivery_pct",
    "avg_stretch",
    "max_stretch",
    "rounds_to_converge",
    "converge_ms",
    "joined_pct",
    "max_depth",
    "signatures_verified",
    "during_min_pct",
    "during_mean_pct",
    "messages",
    "secs",
    "anchor_stretch",
    "delta",
    "trees",
    "header_bytes",
    "per_tree_pct",
    "hostile_roots",
];

/// What the columns mean (printed as `#` lines before the table).
const LEGEND: &[&str] = &[
    "name: graph, +links-5% / +nodes-5% after churn; nodes: live nodes",
    "delivery_pct: pairs delivered (first try); avg_stretch / max_stretch: hops / BFS hops",
    "rounds_to_converge / converge_ms: virtual time to the last position change (1 s rounds)",
    "joined_pct: nodes under the most common root of tree 0; max_depth: deepest node, tree 0",
    "signatures_verified: distinct Ed25519 checks; messages: simulator messages so far",
    "during_min_pct / during_mean_pct: delivery of the per-round probes while re-converging",
    "secs: wall time; anchor_stretch / delta: the tree-distance anchor on the same pairs, ours minus it",
    "trees: trees per node; header_bytes: mean encoded packet header",
    "per_tree_pct / hostile_roots (--hostile-root): delivery with one try per tree; trees the hostile node roots",
];

/// One line of the table: the name left-aligned, the rest right-aligned
/// under their headers.
fn print_row(name_width: usize, cells: Vec<String>) {
    let mut line = String::new();
    for (i, (cell, head)) in cells.iter().zip(COLUMNS).enumerate() {
        if i == 0 {
            line.push_str(&format!("{cell:<name_width$}"));
        } else {
            let w = head.len().max(7);
            line.push_str(&format!(" {cell:>w$}"));
        }
    }
    println!("{}", line.trim_end());
}

fn main() -> std::process::ExitCode {
    let args: Args = cli::parse();
    let mut o = Opts {
        pairs: args.pairs as usize,
        probe_pairs: args.probe_pairs as usize,
        seed: args.seed,
        churn: args.churn,
        positions: args.positions as usize,
        link: LinkConfig::fixed(Duration::from_millis(10)),
        verbose: args.verbose,
        pace: Duration::from_millis(args.pace),
        trees: args.trees.unwrap_or(Config::default().trees),
        root_spread: args.root_spread.unwrap_or(Config::default().root_spread),
        authority: args.authority,
        hostile: args.hostile_root,
        hop_ack: !args.no_hop_ack,
    };
    let mut graphs = Vec::new();
    for p in &args.edgelists {
        match parse_edgelist(p) {
            Ok(g) => graphs.extend(g),
            Err(e) => cli::fail(e),
        }
    }
    if args.synthetic {
        graphs.extend(synthetic());
    }
    graphs.extend(args.path.iter().map(|&n| path(n as usize)));
    graphs.extend(args.grid.iter().map(|&s| grid(s as usize)));
    if graphs.is_empty() {
        cli::fail("no graph given (edge lists, --synthetic, --path or --grid; see --help)");
    }
    let (latency, jitter, loss) = (args.latency, args.jitter, args.loss);
    o.link = LinkConfig::fixed(Duration::from_millis(latency))
        .with_latency(
            Duration::from_millis(latency),
            Duration::from_millis(latency + jitter),
        )
        .with_loss_ppm(loss);
    let name_width = graphs
        .iter()
        .map(|g| g.name.len() + "+nodes-5%".len())
        .max()
        .unwrap_or(4)
        .max(4);
    for line in LEGEND {
        println!("# {line}");
    }
    print_row(name_width, COLUMNS.iter().map(|c| c.to_string()).collect());
    let mut failed = false;
    for g in &graphs {
        let start = std::time::Instant::now();
        let (rows, bad) = evaluate(g, o);
        failed |= bad;
        for r in rows {
            let (min, mean) = match r.during {
                Some((min, mean)) => (format!("{min:.2}"), format!("{mean:.2}")),
                None => ("-".into(), "-".into()),
            };
            let (per_tree, hostile_roots) = match r.per_tree_pct {
                Some(p) => (format!("{p:.2}"), r.hostile_roots.to_string()),
                None => ("-".into(), "-".into()),
            };
            print_row(
                name_width,
                vec![
                    format!("{}{}", g.name, r.tag),
                    r.nodes.to_string(),
                    format!(
                        "{:.2}",
                        100.0 * r.tally.delivered as f64 / r.tally.pairs.max(1) as f64
                    ),
                    format!("{:.3}", r.tally.avg_stretch),
                    format!("{:.2}", r.tally.max_stretch),
                    r.rounds.to_string(),
                    r.converge_ms.to_string(),
                    format!("{:.1}", r.joined_pct),
                    r.max_depth.to_string(),
                    r.sigs.to_string(),
                    min,
                    mean,
                    r.messages.to_string(),
                    format!("{:.1}", start.elapsed().as_secs_f64()),
                    format!("{:.3}", r.anchor_stretch),
                    format!("{:+.4}", r.delta),
                    r.trees.to_string(),
                    format!("{:.1}", r.header_bytes),
                    per_tree,
                    hostile_roots,
                ],
            );
        }
    }
    if failed {
        eprintln!("FAILED: a packet looped or was forwarded over a non-link");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
