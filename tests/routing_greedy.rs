//! Property test: on random trees plus random extra links, greedy forwarding
//! on the tree distance with a watermark delivers every pair, and every hop
//! strictly decreases the distance to the destination. Checked against an
//! independent BFS (path length bounds) on the same graph.
#![allow(clippy::needless_range_loop)]

use hyperport::routing::{Coord, Decision, LinkId, decide};
use std::collections::VecDeque;

struct Xs(u64);
impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random tree (node i > 0 attaches to a random earlier node) plus extra links.
fn random_graph(rng: &mut Xs, n: usize, extra: usize) -> (Vec<Vec<usize>>, Vec<Coord>) {
    let mut adj = vec![Vec::new(); n];
    let mut coords = vec![Coord::root(); n];
    let mut children = vec![0u16; n];
    for v in 1..n {
        // Bias towards recent nodes to get deep trees too.
        let p = if rng.below(2) == 0 {
            rng.below(v)
        } else {
            v - 1 - rng.below(v.min(3))
        };
        children[p] += 1;
        coords[v] = coords[p].child(children[p]).unwrap();
        adj[p].push(v);
        adj[v].push(p);
    }
    for _ in 0..extra {
        let (a, b) = (rng.below(n), rng.below(n));
        if a != b && !adj[a].contains(&b) {
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    (adj, coords)
}

fn bfs(adj: &[Vec<usize>], s: usize) -> Vec<usize> {
    let mut d = vec![usize::MAX; adj.len()];
    d[s] = 0;
    let mut q = VecDeque::from([s]);
    while let Some(u) = q.pop_front() {
        for &v in &adj[u] {
            if d[v] == usize::MAX {
                d[v] = d[u] + 1;
                q.push_back(v);
            }
        }
    }
    d
}

#[test]
fn greedy_with_watermark_always_delivers_on_random_graphs() {
    let mut rng = Xs(0x5eed_1234_abcd_0001);
    let mut pairs = 0;
    for _ in 0..60 {
        let n = 2 + rng.below(120);
        let extra = rng.below(n * 2);
        let (adj, coords) = random_graph(&mut rng, n, extra);
        for _ in 0..40 {
            let (s, t) = (rng.below(n), rng.below(n));
            let sp = bfs(&adj, s)[t];
            let mut at = s;
            let mut wm = u16::MAX;
            let mut hops = 0usize;
            loop {
                let nb = adj[at].iter().map(|&v| (LinkId(v as u32), &coords[v]));
                let before = coords[at].distance(&coords[t]);
                match decide(&coords[at], &coords[t], &mut wm, nb) {
                    Decision::Deliver => break,
                    Decision::Forward(LinkId(v)) => {
                        let v = v as usize;
                        assert!(adj[at].contains(&v), "forwarded over a non-link");
                        assert!(
                            coords[v].distance(&coords[t]) < before,
                            "hop did not decrease distance"
                        );
                        assert_eq!(wm, before);
                        at = v;
                        hops += 1;
                        assert!(hops <= 2 * n, "loop");
                    }
                    d => panic!("static connected graph must deliver, got {d:?}"),
                }
            }
            assert_eq!(at, t);
            // Greedy never beats the shortest path and never exceeds the tree path.
            assert!(hops >= sp);
            assert!(hops <= coords[s].distance(&coords[t]) as usize);
            pairs += 1;
        }
    }
    assert_eq!(pairs, 60 * 40);
}

#[test]
fn stale_coordinates_never_loop() {
    // Every node gets an arbitrary (possibly inconsistent) coordinate: the
    // watermark must still end every walk within MAX_DISTANCE hops, with
    // strictly decreasing watermarks, at Deliver or PathBroken.
    let mut rng = Xs(77);
    for _ in 0..200 {
        let n = 2 + rng.below(40);
        let (adj, _) = random_graph(&mut rng, n, n);
        let coords: Vec<Coord> = (0..n)
            .map(|_| {
                let len = rng.below(6);
                let s: Vec<u16> = (0..len).map(|_| 1 + rng.below(3) as u16).collect();
                Coord::from_slots(&s).unwrap()
            })
            .collect();
        let dest = coords[rng.below(n)].clone();
        let mut at = rng.below(n);
        let mut wm = u16::MAX;
        let mut last = u32::MAX;
        for _ in 0..=hyperport::routing::MAX_DISTANCE as usize + 1 {
            let nb = adj[at].iter().map(|&v| (LinkId(v as u32), &coords[v]));
            match decide(&coords[at], &dest, &mut wm, nb) {
                Decision::Forward(LinkId(v)) => {
                    assert!(u32::from(wm) < last);
                    last = u32::from(wm);
                    at = v as usize;
                }
                Decision::Deliver | Decision::PathBroken => break,
                Decision::Drop => unreachable!(),
            }
        }
    }
}
