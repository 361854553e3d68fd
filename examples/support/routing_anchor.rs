//! The stretch anchor of the reference notes (`routing.md` §4 "Method"),
//! re-implemented as a plain centralised router so that `routing_eval` can
//! measure it on exactly the pairs it measures the protocol on.
//!
//! * Spanning tree: per connected component, a breadth-first search from the
//!   node of maximum degree (ties: lowest id), neighbours visited in id
//!   order; the first node to reach a vertex is its parent.
//! * Distance: the tree distance `depth(a) + depth(b) - 2 · depth(lca)`.
//! * Forwarding: greedy over **all** links of the current node: the
//!   neighbour with the smallest tree distance to the destination, ties to
//!   the lowest id; the packet fails if no neighbour is strictly closer than
//!   the current node.
//!
//! Not part of the crate: std, `Vec`, panics on misuse. Written from the
//! notes' description only (no code of the reference implementation).

use std::collections::VecDeque;

/// The anchor router over one graph snapshot.
pub struct Anchor {
    /// Adjacency, each list sorted by id.
    adj: Vec<Vec<usize>>,
    /// Tree parent (`usize::MAX` for a root or a node outside every tree).
    parent: Vec<usize>,
    /// Depth in its tree.
    depth: Vec<u32>,
    /// Root of the node's tree (`usize::MAX` outside every tree).
    root: Vec<usize>,
}

impl Anchor {
    /// Builds the BFS forest over the nodes with `alive[v]` (links to dead
    /// nodes are ignored).
    pub fn new(adj: &[Vec<usize>], alive: &[bool]) -> Self {
        let n = adj.len();
        let adj: Vec<Vec<usize>> = adj
            .iter()
            .enumerate()
            .map(|(u, a)| {
                let mut a: Vec<usize> = if alive[u] {
                    a.iter().copied().filter(|&v| alive[v] && v != u).collect()
                } else {
                    Vec::new()
                };
                a.sort_unstable();
                a.dedup();
                a
            })
            .collect();
        // Components first, so that each tree's root is its max-degree node.
        let mut comp = vec![usize::MAX; n];
        let mut members: Vec<Vec<usize>> = Vec::new();
        for s in 0..n {
            if !alive[s] || comp[s] != usize::MAX {
                continue;
            }
            let c = members.len();
            let mut m = vec![s];
            comp[s] = c;
            let mut i = 0;
            while i < m.len() {
                let u = m[i];
                i += 1;
                for &v in &adj[u] {
                    if comp[v] == usize::MAX {
                        comp[v] = c;
                        m.push(v);
                    }
                }
            }
            members.push(m);
        }
        let mut parent = vec![usize::MAX; n];
        let mut depth = vec![0u32; n];
        let mut root = vec![usize::MAX; n];
        for m in &members {
            // Maximum degree, ties to the lowest id.
            let r = m
                .iter()
                .copied()
                .max_by_key(|&v| (adj[v].len(), std::cmp::Reverse(v)))
                .expect("a component has a node");
            root[r] = r;
            let mut q = VecDeque::from([r]);
            while let Some(u) = q.pop_front() {
                for &v in &adj[u] {
                    if root[v] == usize::MAX {
                        root[v] = r;
                        parent[v] = u;
                        depth[v] = depth[u] + 1;
                        q.push_back(v);
                    }
                }
            }
        }
        Anchor {
            adj,
            parent,
            depth,
            root,
        }
    }

    /// The root of `v`'s tree.
    pub fn root_of(&self, v: usize) -> usize {
        self.root[v]
    }

    /// Deepest node's depth.
    pub fn max_depth(&self) -> u32 {
        self.depth.iter().copied().max().unwrap_or(0)
    }

    /// Tree distance, `None` if `a` and `b` are in different trees.
    pub fn tree_distance(&self, a: usize, b: usize) -> Option<u32> {
        if self.root[a] == usize::MAX || self.root[a] != self.root[b] {
            return None;
        }
        let (mut a, mut b) = (a, b);
        let mut d = 0;
        while a != b {
            if self.depth[a] >= self.depth[b] {
                a = self.parent[a];
            } else {
                b = self.parent[b];
            }
            d += 1;
        }
        Some(d)
    }

    /// Routes greedily from `s` to `t`: the hop count, or `None` when the
    /// packet fails (no strictly closer neighbour, or different trees).
    pub fn route(&self, s: usize, t: usize) -> Option<u32> {
        let mut at = s;
        let mut here = self.tree_distance(s, t)?;
        let mut hops = 0;
        while here > 0 {
            let mut best: Option<(u32, usize)> = None;
            for &v in &self.adj[at] {
                let d = self.tree_distance(v, t)?;
                // Strict `<` keeps the first (lowest id) of equal candidates.
                if d < here && best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, v));
                }
            }
            let (d, v) = best?;
            at = v;
            here = d;
            hops += 1;
        }
        Some(hops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_square_with_tail() {
        // 0-1, 0-2, 1-3, 2-3, 3-4: node 3 has the max degree (3) → root 3;
        // BFS in id order: 3 → 1, 2, 4; 1 → 0. Tree: 0-1-3-2, 3-4.
        let mut adj = vec![Vec::new(); 5];
        for (u, v) in [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)] {
            adj[u].push(v);
            adj[v].push(u);
        }
        let a = Anchor::new(&adj, &[true; 5]);
        assert_eq!(a.root_of(0), 3);
        assert_eq!(a.tree_distance(0, 2), Some(3));
        // Greedy uses the non-tree link 0-2 directly.
        assert_eq!(a.route(0, 2), Some(1));
        assert_eq!(a.route(4, 0), Some(3));
        assert_eq!(a.max_depth(), 2);
    }
}
