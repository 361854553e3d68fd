//! Runs the routing protocol from a cold start on edge lists until it
//! converges, then routes seeded random pairs greedily and reports delivery
//! and stretch (greedy hops / BFS shortest-path hops).
//!
//! ```sh
//! cargo run --release --example routing_eval -- vectors/topologies/*.txt
//! cargo run --release --example routing_eval -- --synthetic
//! ```
//!
//! Options: `--pairs N` (default 2000), `--seed S` (default 1), `--synthetic`
//! (adds a 5,000-leaf hub, a 10,000-node path and a 100×100 grid),
//! `--path N` and `--grid S` (one synthetic graph of that size), `--churn`
//! (after convergence remove 5% of links, re-converge and measure, then 5%
//! of nodes starting with the root, re-converge and measure; rows
//! `name+links-5%` and `name+nodes-5%`, rounds counted from the failure,
//! stretch against BFS on the surviving graph), `--positions N` (print N
//! nodes' Poincaré-disk positions, for display only).
//!
//! The driver is a simple synchronous-rounds loop: each round advances the
//! clock by one announcement interval, fires every node's timers, and
//! delivers every announcement sent in the previous round. Node ranks are the
//! node degrees, ties broken by the neighbours' degree sum (root = a
//! maximum-degree node). Keys are derived from the node
//! index, so runs are reproducible.
//!
//! Output columns: `name nodes delivery_pct avg_stretch max_stretch
//! rounds_to_converge`, then `joined_pct` (nodes in the largest tree),
//! `max_depth`, `signatures_verified` (distinct Ed25519 checks; the
//! simulator memoizes verification across nodes, see `Memo`) and the wall
//! time. `anchor_stretch` is the reference notes' tree-metric greedy anchor
//! (`support/routing_anchor.rs`: BFS tree from the max-degree node, greedy
//! over all links) routed on the same pairs, averaged over the pairs both
//! routers delivered; `delta` is ours minus the anchor on those pairs
//! (after churn the anchor is rebuilt on the surviving graph, one tree per
//! component). A `# roots:` line on stderr names the anchor's root and ours.

#[path = "support/routing_anchor.rs"]
mod anchor;

use hyperport::routing::{
    Config, Decision, Ed25519, LinkId, NeighbourEntry, Node, TRANSMIT_BUF_LEN, Verifier,
};
use hyperport::time::{Instant, Timed};
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::rc::Rc;

struct Graph {
    name: String,
    adj: Vec<Vec<usize>>,
}

/// Parses an edge list; `None` (with a note on stderr) for a file that does
/// not start with the `# nodes N edges M` header (e.g. a licence text).
fn parse_edgelist(path: &str) -> Option<Graph> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    if !text.starts_with("# nodes") {
        eprintln!("skipping {path}: not an edge list");
        return None;
    }
    let mut n = 0usize;
    let mut edges = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('#') {
            let w: Vec<&str> = rest.split_whitespace().collect();
            if let Some(i) = w.iter().position(|x| *x == "nodes") {
                n = w[i + 1].parse().expect("node count");
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let u: usize = it.next().unwrap().parse().expect("u");
        let v: usize = it.next().expect("v").parse().expect("v");
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
    Some(Graph { name, adj })
}

fn path(n: usize) -> Graph {
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

fn grid(s: usize) -> Graph {
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

/// Root-election rank: the degree, ties broken by the sum of the
/// neighbours' degrees (both known locally after one exchange), so the root
/// is a maximum-degree node with the best-connected neighbourhood.
fn rank_of(adj: &[Vec<usize>], i: usize) -> u32 {
    let deg = adj[i].len().min(0xFFFF) as u32;
    let two: usize = adj[i].iter().map(|&j| adj[j].len()).sum();
    (deg << 16) | two.min(0xFFFF) as u32
}

fn bfs(adj: &[Vec<usize>], s: usize) -> Vec<u32> {
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

struct Outcome {
    tag: String,
    nodes: usize,
    delivered: usize,
    pairs: usize,
    avg_stretch: f64,
    max_stretch: f64,
    anchor_stretch: f64,
    delta: f64,
    rounds: usize,
    joined_pct: f64,
    max_depth: usize,
    sigs: u64,
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

/// The simulated network: nodes, live links, announcements in flight.
struct Sim<'a> {
    nodes: Vec<Node<'a, Memo>>,
    adj: Vec<Vec<usize>>,
    alive: Vec<bool>,
    inflight: Vec<(usize, usize, Vec<u8>)>,
    round: usize,
    interval: hyperport::time::Duration,
    buf: Vec<u8>,
}

impl Sim<'_> {
    fn now(&self) -> Instant {
        Instant::ZERO.saturating_add(self.interval.saturating_mul(self.round as u64))
    }

    /// Runs rounds until no position changed for `quiet` rounds; returns the
    /// number of rounds up to the last change.
    fn run(&mut self, quiet: usize, max_rounds: usize) -> usize {
        let start = self.round;
        let mut last_change = self.round;
        let mut gens: Vec<u64> = self.nodes.iter().map(|n| n.generation()).collect();
        while self.round < start + max_rounds {
            self.round += 1;
            let now = self.now();
            for (to, from, bytes) in std::mem::take(&mut self.inflight) {
                if self.alive[to] && self.alive[from] {
                    // Errors are counted by the node.
                    let _ = self.nodes[to].handle_announcement(now, LinkId(from as u32), &bytes);
                }
            }
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if self.alive[i] && node.poll_timeout().is_some_and(|t| t <= now) {
                    node.handle_timeout(now);
                }
            }
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if !self.alive[i] {
                    continue;
                }
                while let Some(t) = node
                    .poll_transmit(&mut self.buf)
                    .expect("buffer sized to the maximum")
                {
                    self.inflight
                        .push((t.link.0 as usize, i, self.buf[..t.len].to_vec()));
                }
                while node.poll_event().is_some() {}
            }
            let mut changed = false;
            for (i, node) in self.nodes.iter().enumerate() {
                if node.generation() != gens[i] {
                    gens[i] = node.generation();
                    changed = true;
                }
            }
            if changed {
                last_change = self.round;
            } else if self.round >= last_change + quiet {
                break;
            }
        }
        last_change - start
    }

    fn remove_link(&mut self, u: usize, v: usize) {
        self.adj[u].retain(|&x| x != v);
        self.adj[v].retain(|&x| x != u);
        let now = self.now();
        self.nodes[u].handle_link_down(now, LinkId(v as u32));
        self.nodes[v].handle_link_down(now, LinkId(u as u32));
    }

    fn remove_node(&mut self, u: usize) {
        for v in self.adj[u].clone() {
            self.remove_link(u, v);
        }
        self.alive[u] = false;
    }

    /// Routes seeded random pairs of live nodes in the same component:
    /// (delivered, attempted, average stretch, maximum stretch, and the
    /// anchor's and our average over the pairs both delivered).
    fn measure(&mut self, pairs: usize, seed: u64) -> (usize, usize, f64, f64, f64, f64) {
        let n = self.nodes.len();
        let anchor = anchor::Anchor::new(&self.adj, &self.alive);
        let (mut both, mut anchor_sum, mut ours_sum) = (0usize, 0.0, 0.0);
        if let Some(hub) = (0..n)
            .filter(|&v| self.alive[v])
            .max_by_key(|&v| self.adj[v].len())
        {
            let ar = anchor.root_of(hub);
            let key = self.nodes[ar].root().key;
            let ours = (0..n).find(|&v| self.nodes[v].public_key() == key);
            eprintln!(
                "# roots: anchor node {ar} (degree {}, tree depth {}), ours node {ours:?} (degree {:?})",
                self.adj[ar].len(),
                anchor.max_depth(),
                ours.map(|v| self.adj[v].len())
            );
        }
        let mut comp = vec![usize::MAX; n];
        let mut ncomp = 0;
        for s in 0..n {
            if comp[s] == usize::MAX && self.alive[s] {
                for (v, d) in bfs(&self.adj, s).iter().enumerate() {
                    if *d != u32::MAX {
                        comp[v] = ncomp;
                    }
                }
                ncomp += 1;
            }
        }
        let mut rng = SplitMix(seed);
        let (mut delivered, mut done, mut attempts) = (0, 0, 0);
        let (mut sum, mut max) = (0.0, 0.0f64);
        while done < pairs && attempts < pairs * 100 {
            attempts += 1;
            let s = (rng.next() % n as u64) as usize;
            let t = (rng.next() % n as u64) as usize;
            if s == t || !self.alive[s] || !self.alive[t] || comp[s] != comp[t] {
                continue;
            }
            done += 1;
            let sp = bfs(&self.adj, s)[t];
            let mut header = self.nodes[s].header_to(self.nodes[t].coord().clone());
            let mut at = s;
            let mut hops = 0u32;
            let ok = loop {
                match self.nodes[at].route(&mut header) {
                    Decision::Deliver => break at == t,
                    Decision::Forward(LinkId(v)) => {
                        assert!(
                            self.adj[at].contains(&(v as usize)),
                            "forwarded over a non-link"
                        );
                        at = v as usize;
                        hops += 1;
                        assert!(
                            hops as usize <= 2 * hyperport::routing::MAX_DEPTH + 1,
                            "loop"
                        );
                    }
                    _ => break false,
                }
            };
            if ok {
                delivered += 1;
                let st = f64::from(hops) / f64::from(sp);
                sum += st;
                max = max.max(st);
                if let Some(ah) = anchor.route(s, t) {
                    both += 1;
                    anchor_sum += f64::from(ah) / f64::from(sp);
                    ours_sum += st;
                }
            }
        }
        let avg = if delivered > 0 {
            sum / delivered as f64
        } else {
            f64::NAN
        };
        let both = both.max(1) as f64;
        (
            delivered,
            done,
            avg,
            max,
            anchor_sum / both,
            ours_sum / both,
        )
    }
}

fn evaluate(
    g: &Graph,
    pairs: usize,
    seed: u64,
    churn: bool,
    show_positions: usize,
) -> Vec<Outcome> {
    let n = g.adj.len();
    let config = Config::default();
    let mut tables: Vec<Vec<NeighbourEntry>> = g
        .adj
        .iter()
        .map(|a| vec![NeighbourEntry::EMPTY; a.len()])
        .collect();
    let t0 = Instant::ZERO;
    let memo = Memo::default();
    let nodes: Vec<Node<'_, Memo>> = tables
        .iter_mut()
        .enumerate()
        .map(|(i, t)| {
            let c = Config {
                rank: rank_of(&g.adj, i),
                ..config
            };
            Node::with_verifier(c, &key_seed(i), t, t0, memo.clone())
        })
        .collect();
    let mut sim = Sim {
        nodes,
        adj: g.adj.clone(),
        alive: vec![true; n],
        inflight: Vec::new(),
        round: 0,
        interval: config.announce_interval,
        buf: vec![0u8; TRANSMIT_BUF_LEN],
    };
    let keys: Vec<[u8; 32]> = sim.nodes.iter().map(|n| n.public_key()).collect();
    // Slot order: each node registers its links by decreasing neighbour
    // degree (then id), so hubs get the small slots and, with the
    // breadth-first parent order, the tree leans on hubs.
    for (u, a) in g.adj.iter().enumerate() {
        let mut order = a.clone();
        order.sort_by_key(|&v| (std::cmp::Reverse(g.adj[v].len()), v));
        for v in order {
            sim.nodes[u]
                .handle_link_up(t0, LinkId(v as u32), keys[v])
                .expect("table sized to degree");
        }
    }
    let mut out = Vec::new();
    let rounds = sim.run(3, 5_000);
    if let Some(step) = n.checked_div(show_positions) {
        let d = 1.0 + sim.adj.iter().map(Vec::len).max().unwrap_or(1) as f64;
        for i in (0..n).step_by(step.max(1)).take(show_positions) {
            let c = sim.nodes[i].coord();
            let (x, y) = poincare(c.slots(), d);
            println!(
                "# {} node {i} coord {c:?} poincare ({x:.6}, {y:.6}) |z| {:.12} (display only)",
                g.name,
                (x * x + y * y).sqrt()
            );
        }
    }
    out.push(outcome(&mut sim, &memo, rounds, pairs, seed, ""));
    if churn {
        // 5% of links, then 5% of nodes (the root first: root loss), seeded.
        let mut rng = SplitMix(seed ^ 0xc4);
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (u, a) in sim.adj.iter().enumerate() {
            edges.extend(a.iter().filter(|&&v| u < v).map(|&v| (u, v)));
        }
        for _ in 0..(edges.len() * 5).div_ceil(100) {
            let i = (rng.next() % edges.len() as u64) as usize;
            let (u, v) = edges.swap_remove(i);
            sim.remove_link(u, v);
        }
        // Quiet long enough for a root timeout to show.
        let quiet =
            (config.root_timeout.as_micros() / config.announce_interval.as_micros()) as usize + 5;
        let rounds = sim.run(quiet, 5_000);
        out.push(outcome(&mut sim, &memo, rounds, pairs, seed, "+links-5%"));
        let root = sim.nodes.iter().position(|x| x.is_root()).unwrap_or(0);
        sim.remove_node(root);
        let mut removed = 1;
        while removed < (n * 5).div_ceil(100) {
            let v = (rng.next() % n as u64) as usize;
            if sim.alive[v] {
                sim.remove_node(v);
                removed += 1;
            }
        }
        let rounds = sim.run(quiet, 5_000);
        out.push(outcome(&mut sim, &memo, rounds, pairs, seed, "+nodes-5%"));
    }
    out
}

fn outcome(
    sim: &mut Sim<'_>,
    memo: &Memo,
    rounds: usize,
    pairs: usize,
    seed: u64,
    tag: &str,
) -> Outcome {
    let live: Vec<usize> = (0..sim.nodes.len()).filter(|&i| sim.alive[i]).collect();
    let mut per_root: HashMap<[u8; 32], usize> = HashMap::new();
    for &i in &live {
        *per_root.entry(sim.nodes[i].root().key).or_default() += 1;
    }
    let biggest = per_root.values().copied().max().unwrap_or(0);
    let max_depth = live
        .iter()
        .map(|&i| sim.nodes[i].coord().depth())
        .max()
        .unwrap_or(0);
    let (delivered, done, avg, max, anchor_avg, ours_common) = sim.measure(pairs, seed);
    Outcome {
        tag: tag.to_string(),
        nodes: live.len(),
        delivered,
        pairs: done,
        avg_stretch: avg,
        max_stretch: max,
        anchor_stretch: anchor_avg,
        delta: ours_common - anchor_avg,
        rounds,
        joined_pct: 100.0 * biggest as f64 / live.len().max(1) as f64,
        max_depth,
        sigs: memo.0.borrow().1,
    }
}

fn main() {
    let mut pairs = 2_000usize;
    let mut seed = 1u64;
    let mut churn = false;
    let mut positions = 0usize;
    let mut graphs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pairs" => pairs = args.next().and_then(|x| x.parse().ok()).expect("--pairs N"),
            "--seed" => seed = args.next().and_then(|x| x.parse().ok()).expect("--seed S"),
            "--synthetic" => graphs.extend(synthetic()),
            "--churn" => churn = true,
            "--positions" => {
                positions = args
                    .next()
                    .and_then(|x| x.parse().ok())
                    .expect("--positions N")
            }
            "--path" => graphs.push(path(
                args.next().and_then(|x| x.parse().ok()).expect("--path N"),
            )),
            "--grid" => graphs.push(grid(
                args.next().and_then(|x| x.parse().ok()).expect("--grid S"),
            )),
            p => graphs.extend(parse_edgelist(p)),
        }
    }
    if graphs.is_empty() {
        eprintln!("usage: routing_eval [--pairs N] [--seed S] [--synthetic] [--churn] EDGELIST...");
        std::process::exit(2);
    }
    println!(
        "name nodes delivery_pct avg_stretch max_stretch rounds_to_converge joined_pct max_depth signatures_verified secs anchor_stretch delta"
    );
    for g in &graphs {
        let start = std::time::Instant::now();
        for o in evaluate(g, pairs, seed, churn, positions) {
            println!(
                "{}{} {} {:.2} {:.3} {:.2} {} {:.1} {} {} {:.1} {:.3} {:+.4}",
                g.name,
                o.tag,
                o.nodes,
                100.0 * o.delivered as f64 / o.pairs.max(1) as f64,
                o.avg_stretch,
                o.max_stretch,
                o.rounds,
                o.joined_pct,
                o.max_depth,
                o.sigs,
                start.elapsed().as_secs_f64(),
                o.anchor_stretch,
                o.delta
            );
        }
    }
}
