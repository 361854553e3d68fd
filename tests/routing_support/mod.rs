//! Shared synchronous-rounds driver for the routing tests (not a test
//! target itself: cargo only builds `tests/*.rs`).
#![allow(dead_code)]

use hyperport::routing::{
    ChainStore, Config, Decision, Ed25519, Header, Hop, LinkId, MAX_DEPTH, NeighbourEntry, Node,
    PacketKind, TRANSMIT_BUF_LEN, Verifier,
};
use hyperport::time::{Duration, Instant, Timed};
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::rc::Rc;

pub fn load(name: &str) -> Vec<Vec<usize>> {
    let path = format!(
        "{}/vectors/topologies/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header[1], "nodes");
    let n: usize = header[2].parse().unwrap();
    let mut adj = vec![Vec::new(); n];
    for l in lines {
        let mut it = l.split_whitespace();
        let (Some(u), Some(v)) = (it.next(), it.next()) else {
            continue;
        };
        let (u, v): (usize, usize) = (u.parse().unwrap(), v.parse().unwrap());
        if u != v && !adj[u].contains(&v) {
            adj[u].push(v);
            adj[v].push(u);
        }
    }
    adj
}

pub struct Xs(pub u64);
impl Xs {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub fn seed_of(i: usize) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    k[31] = 0x42;
    k
}

/// The test deployment's authority (secret seed).
pub const AUTHORITY: [u8; 32] = [0xa5; 32];

/// The test authority's public key.
pub fn authority() -> [u8; 32] {
    hyperport::routing::credential::public_key(&AUTHORITY)
}

/// The test authority's credential for `key` at `rank` (zero for rank 0).
pub fn credential(key: &[u8; 32], rank: u32) -> [u8; 64] {
    if rank == 0 {
        [0; 64]
    } else {
        hyperport::routing::credential::sign_rank(&AUTHORITY, key, rank)
    }
}

/// `Config::default()` in the test deployment, at rank 0.
pub fn member_config() -> Config {
    Config {
        authority: Some(authority()),
        ..Config::default()
    }
}

/// A root heartbeat of tree `tree` signed by `signer`, credentialed.
pub fn signed_root(
    signer: &ed25519_dalek::SigningKey,
    tree: u8,
    rank: u32,
    seq: u64,
    spread: u16,
) -> hyperport::routing::RootInfo {
    use ed25519_dalek::Signer;
    let key = signer.verifying_key().to_bytes();
    hyperport::routing::RootInfo {
        key,
        rank,
        seq,
        spread,
        sig: signer
            .sign(&hyperport::routing::announce::root_message(
                tree, &key, rank, seq, spread,
            ))
            .to_bytes(),
        credential: credential(&key, rank),
    }
}

/// `signer`'s grant of `slot` to `child` under the parent prefix `tag`,
/// signed under the root heartbeat `epoch`.
pub fn signed_grant(
    signer: &ed25519_dalek::SigningKey,
    tag: &[u8; 32],
    slot: u16,
    child: [u8; 32],
    epoch: u64,
) -> Hop {
    use ed25519_dalek::Signer;
    Hop {
        key: child,
        slot,
        epoch,
        sig: signer
            .sign(&hyperport::routing::announce::grant_message(
                tag, slot, &child, epoch,
            ))
            .to_bytes(),
    }
}

/// Short timers so root loss resolves in a few rounds; `rank` credentialed
/// by [`AUTHORITY`] for the node with secret seed `seed`.
pub fn test_config(rank: u32, seed: &[u8; 32]) -> Config {
    let key = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    Config {
        rank,
        authority: Some(hyperport::routing::credential::public_key(&AUTHORITY)),
        rank_credential: Some(hyperport::routing::credential::sign_rank(
            &AUTHORITY, &key, rank,
        )),
        announce_interval: Duration::from_secs(1),
        neighbour_timeout: Duration::from_millis(3_500),
        root_refresh: Duration::from_secs(2),
        root_timeout: Duration::from_secs(8),
        dead_root_hold: Duration::from_secs(30),
        ..Config::default()
    }
}

/// Real Ed25519 verification, memoized across the simulated nodes (a pure
/// function: same answers, less debug-build time).
#[derive(Clone, Default)]
pub struct Memo(Rc<RefCell<HashMap<Vec<u8>, bool>>>);

impl Verifier for Memo {
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        let k = [&key[..], &sig[..], msg].concat();
        if let Some(v) = self.0.borrow().get(&k) {
            return *v;
        }
        let v = Ed25519.verify(key, msg, sig);
        self.0.borrow_mut().insert(k, v);
        v
    }
}

pub enum Outcome {
    Delivered(u32),
    Broken { notice_reached_source: bool },
    Lost,
}

/// A chain store on the heap, up to `MAX_DEPTH` hops (the crate's own
/// `Vec<Hop>` store needs the `alloc` feature; this one works in every
/// feature set the tests are built with).
#[derive(Default)]
pub struct HeapChain(pub Vec<Hop>);

impl ChainStore for HeapChain {
    fn hops(&self) -> &[Hop] {
        &self.0
    }
    fn clear(&mut self) {
        self.0 = Vec::new();
    }
    fn push(&mut self, hop: Hop) -> bool {
        if self.0.len() >= MAX_DEPTH {
            return false;
        }
        self.0.push(hop);
        true
    }
    fn capacity(&self) -> usize {
        MAX_DEPTH
    }
    fn last_mut(&mut self) -> Option<&mut Hop> {
        self.0.last_mut()
    }
}

pub struct Net {
    pub adj: Vec<Vec<usize>>,
    pub nodes: Vec<Node<'static, Memo, HeapChain>>,
    pub alive: Vec<bool>,
    pub inflight: Vec<(usize, usize, Vec<u8>)>,
    pub round: u64,
    /// Per-mille of announcements dropped in transit (seeded).
    pub loss_permille: u64,
    loss_rng: Xs,
    buf: Vec<u8>,
}

impl Net {
    pub fn new(adj: Vec<Vec<usize>>) -> Net {
        Net::with_trees(adj, 1)
    }

    /// A network whose nodes run `trees` trees.
    pub fn with_trees(adj: Vec<Vec<usize>>, trees: u8) -> Net {
        Net::with_configs(adj, |i, degree| Config {
            trees,
            ..test_config(degree as u32, &seed_of(i))
        })
    }

    /// A network whose node `i` (of degree `d`) runs `config(i, d)`.
    pub fn with_configs(adj: Vec<Vec<usize>>, config: impl Fn(usize, usize) -> Config) -> Net {
        let n = adj.len();
        let memo = Memo::default();
        let mut nodes: Vec<Node<'static, Memo, HeapChain>> = (0..n)
            .map(|i| {
                let table: &'static mut [NeighbourEntry] =
                    Box::leak(vec![NeighbourEntry::EMPTY; adj[i].len().max(1)].into_boxed_slice());
                Node::with_chain_stores(
                    config(i, adj[i].len()),
                    &seed_of(i),
                    table,
                    Instant::ZERO,
                    memo.clone(),
                    HeapChain::default(),
                    HeapChain::default(),
                )
            })
            .collect();
        let keys: Vec<_> = nodes.iter().map(|x| x.public_key()).collect();
        for (u, a) in adj.iter().enumerate() {
            for &v in a {
                nodes[u]
                    .handle_link_up(Instant::ZERO, LinkId(v as u32), keys[v])
                    .unwrap();
            }
        }
        Net {
            adj,
            nodes,
            alive: vec![true; n],
            inflight: Vec::new(),
            round: 0,
            loss_permille: 0,
            loss_rng: Xs(0x10_55),
            buf: vec![0; TRANSMIT_BUF_LEN],
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_secs(self.round)
    }

    /// One round; returns whether any node changed position.
    pub fn step(&mut self) -> bool {
        self.round += 1;
        let now = self.now();
        let before: Vec<u64> = self.nodes.iter().map(|n| n.generation()).collect();
        for (to, from, bytes) in std::mem::take(&mut self.inflight) {
            if self.loss_permille > 0 && self.loss_rng.next() % 1000 < self.loss_permille {
                continue;
            }
            if self.alive[to] && self.alive[from] && self.adj[to].contains(&from) {
                let _ = self.nodes[to].handle_announcement(now, LinkId(from as u32), &bytes);
            }
        }
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if !self.alive[i] {
                continue;
            }
            let t = node.poll_timeout().unwrap();
            if t <= now {
                node.handle_timeout(now);
                // Contract: the deadline moved strictly later.
                assert!(node.poll_timeout().is_none_or(|t2| t2 > now));
            }
        }
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if !self.alive[i] {
                continue;
            }
            while let Some(t) = node.poll_transmit(&mut self.buf).unwrap() {
                self.inflight
                    .push((t.link.0 as usize, i, self.buf[..t.len].to_vec()));
            }
            while node.poll_event().is_some() {}
        }
        self.nodes
            .iter()
            .zip(before)
            .any(|(n, g)| n.generation() != g)
    }

    /// Runs until no position changed for `quiet` rounds; returns the round
    /// of the last change. Panics after `max` rounds.
    pub fn converge(&mut self, quiet: u64, max: u64) -> u64 {
        let start = self.round;
        let mut last = self.round;
        loop {
            if self.step() {
                last = self.round;
            }
            if self.round >= last + quiet {
                return last - start;
            }
            assert!(self.round - start < max, "no convergence in {max} rounds");
        }
    }

    pub fn remove_link(&mut self, u: usize, v: usize) {
        self.adj[u].retain(|&x| x != v);
        self.adj[v].retain(|&x| x != u);
        let now = self.now();
        self.nodes[u].handle_link_down(now, LinkId(v as u32));
        self.nodes[v].handle_link_down(now, LinkId(u as u32));
    }

    pub fn remove_node(&mut self, u: usize) {
        for v in self.adj[u].clone() {
            self.remove_link(u, v);
        }
        self.alive[u] = false;
    }

    pub fn component(&self, s: usize) -> Vec<u32> {
        bfs(&self.adj, s)
    }

    /// Routes s -> t; asserts no node forwards the packet twice (a loop; a
    /// node reached again with stale coordinates must refuse it by the
    /// watermark) and that only live links are used. Returns Some(hops) on
    /// delivery at t.
    pub fn route(&mut self, s: usize, t: usize) -> Option<u32> {
        match self.route_with_notice(s, t) {
            Outcome::Delivered(h) => Some(h),
            _ => None,
        }
    }

    /// Walks one header from `at`; returns the final decision, node and hops.
    fn walk(&mut self, mut at: usize, h: &mut Header) -> (Decision, usize, u32) {
        // A node may forward a packet again only after the packet switched
        // trees (a smaller tree mask): (node, mask) never repeats.
        let mut seen = std::collections::HashSet::new();
        let mut hops = 0;
        let mut trail = Vec::new();
        loop {
            trail.push((at, self.nodes[at].coord().clone(), h.watermark, h.trees));
            let d = self.nodes[at].route(h);
            if matches!(d, Decision::Forward(_)) {
                assert!(
                    seen.insert((at, h.trees)),
                    "routing loop at node {at}: {trail:?} dest {:?}",
                    h.dest
                );
            }
            match d {
                Decision::Forward(LinkId(v)) => {
                    let v = v as usize;
                    assert!(
                        self.adj[at].contains(&v) && self.alive[v],
                        "forwarded over a dead link"
                    );
                    at = v;
                    hops += 1;
                }
                d => return (d, at, hops),
            }
        }
    }

    /// Routes s -> t; on a dead end, routes the path-broken notice from the
    /// dead end back towards s's coordinate (also loop-checked).
    pub fn route_with_notice(&mut self, s: usize, t: usize) -> Outcome {
        let dest = self.nodes[t].locator();
        let mut h = self.nodes[s].header_to(dest);
        match self.walk(s, &mut h) {
            (Decision::Deliver, at, hops) if at == t => Outcome::Delivered(hops),
            (Decision::PathBroken, at, _) => {
                let mut notice = h.path_broken();
                assert_eq!(notice.kind, PacketKind::PathBroken);
                let (d, end, _) = self.walk(at, &mut notice);
                assert_ne!(
                    d,
                    Decision::PathBroken,
                    "a notice is never answered by a notice"
                );
                Outcome::Broken {
                    notice_reached_source: d == Decision::Deliver && end == s,
                }
            }
            _ => Outcome::Lost,
        }
    }

    /// Routes `pairs` random pairs within live components; returns
    /// (delivered, attempted, average stretch).
    pub fn evaluate(&mut self, rng: &mut Xs, pairs: usize) -> (usize, usize, f64) {
        let n = self.nodes.len();
        let (mut ok, mut tried, mut sum) = (0, 0, 0.0);
        let mut guard = 0;
        while tried < pairs && guard < pairs * 100 {
            guard += 1;
            let (s, t) = (rng.below(n), rng.below(n));
            if s == t || !self.alive[s] || !self.alive[t] {
                continue;
            }
            let d = self.component(s)[t];
            if d == u32::MAX {
                continue;
            }
            tried += 1;
            if let Some(h) = self.route(s, t) {
                assert!(h >= d);
                ok += 1;
                sum += h as f64 / d as f64;
            }
        }
        (ok, tried, if ok > 0 { sum / ok as f64 } else { 0.0 })
    }
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

/// A `side` x `side` grid (4-neighbour).
pub fn grid(side: usize) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); side * side];
    for r in 0..side {
        for c in 0..side {
            let i = r * side + c;
            if c + 1 < side {
                adj[i].push(i + 1);
                adj[i + 1].push(i);
            }
            if r + 1 < side {
                adj[i].push(i + side);
                adj[i + side].push(i);
            }
        }
    }
    adj
}
