//! Undirected simple graphs: the edge-list format, neighbours, components and
//! BFS hop distances.

use core::fmt;
use std::collections::VecDeque;
use std::path::Path;
use std::string::String;
use std::vec;
use std::vec::Vec;

use super::NodeId;

/// Largest node count [`Topology::new`] and [`Topology::parse`] accept
/// (2^24). A header asking for more is refused before anything is allocated,
/// so a hostile or corrupt file costs at most about 400 MiB of adjacency
/// vectors rather than an allocation failure.
pub const MAX_NODES: usize = 1 << 24;

/// An undirected simple graph on nodes `0..node_count()`.
///
/// No self-loops, no duplicate edges. Edges are kept in insertion order (for
/// a parsed file, file order) and each node's neighbour list in the order its
/// edges were added, so everything derived from a topology is deterministic.
///
/// Memory: one `(NodeId, NodeId)` per edge plus one `NodeId` per edge end,
/// i.e. about 16 bytes per edge plus 24 bytes per node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    edges: Vec<(NodeId, NodeId)>,
    adjacency: Vec<Vec<NodeId>>,
}

/// Why an edge list or an edge was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyError {
    /// The first line is not `# nodes N edges M`.
    BadHeader,
    /// Line `line` (1-based) is neither blank, a `#` comment nor `u v`.
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// The header (or [`Topology::new`]) asks for more than [`MAX_NODES`] nodes.
    TooManyNodes {
        /// Requested node count.
        nodes: usize,
    },
    /// An edge names a node id `>= node_count`.
    NodeOutOfRange {
        /// The offending id.
        node: u64,
        /// The graph's node count.
        nodes: usize,
    },
    /// An edge from a node to itself.
    SelfLoop {
        /// The node.
        node: NodeId,
    },
    /// The edge (in either direction) is already present.
    DuplicateEdge {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
    },
    /// The file holds a different number of edges from its header.
    EdgeCountMismatch {
        /// Count announced by the header.
        header: usize,
        /// Count found.
        found: usize,
    },
    /// The file could not be read (the message is the I/O error's).
    Io(String),
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopologyError::BadHeader => {
                write!(f, "edge list must start with a `# nodes N edges M` line")
            }
            TopologyError::BadLine { line } => {
                write!(
                    f,
                    "line {line}: expected `u v` (two node ids), a `#` comment or nothing"
                )
            }
            TopologyError::TooManyNodes { nodes } => {
                write!(
                    f,
                    "{nodes} nodes requested, more than the limit of {MAX_NODES}"
                )
            }
            TopologyError::NodeOutOfRange { node, nodes } => {
                write!(
                    f,
                    "node id {node} out of range: the graph has {nodes} nodes"
                )
            }
            TopologyError::SelfLoop { node } => write!(f, "self-loop on {node} is not allowed"),
            TopologyError::DuplicateEdge { a, b } => {
                write!(f, "edge {a}-{b} is given twice (edges are undirected)")
            }
            TopologyError::EdgeCountMismatch { header, found } => {
                write!(f, "header announces {header} edges but {found} were found")
            }
            TopologyError::Io(e) => write!(f, "cannot read edge list: {e}"),
        }
    }
}

impl core::error::Error for TopologyError {}

impl Topology {
    /// A graph of `nodes` nodes and no edges.
    pub fn new(nodes: usize) -> Result<Self, TopologyError> {
        if nodes > MAX_NODES {
            return Err(TopologyError::TooManyNodes { nodes });
        }
        Ok(Topology {
            edges: Vec::new(),
            adjacency: vec![Vec::new(); nodes],
        })
    }

    /// A graph with no nodes.
    pub(super) fn empty() -> Self {
        Topology {
            edges: Vec::new(),
            adjacency: Vec::new(),
        }
    }

    /// Adds the undirected edge `a - b`.
    ///
    /// Refuses (and changes nothing) on an out-of-range id, a self-loop or an
    /// edge already present in either direction.
    pub fn add_edge(&mut self, a: NodeId, b: NodeId) -> Result<(), TopologyError> {
        let nodes = self.node_count();
        for n in [a, b] {
            if n.index() >= nodes {
                return Err(TopologyError::NodeOutOfRange {
                    node: u64::from(n.0),
                    nodes,
                });
            }
        }
        if a == b {
            return Err(TopologyError::SelfLoop { node: a });
        }
        if self.has_edge(a, b) {
            return Err(TopologyError::DuplicateEdge { a, b });
        }
        if let Some(list) = self.adjacency.get_mut(a.index()) {
            list.push(b);
        }
        if let Some(list) = self.adjacency.get_mut(b.index()) {
            list.push(a);
        }
        self.edges.push((a, b));
        Ok(())
    }

    /// Parses the edge-list format: a first line `# nodes N edges M`, then
    /// one `u v` line per undirected edge with 0-based ids. Blank lines and
    /// further `#` lines are ignored; fields are separated by any whitespace.
    ///
    /// The edge count must equal `M`; self-loops and duplicate edges are
    /// errors (the shipped files have none).
    pub fn parse(text: &str) -> Result<Self, TopologyError> {
        let mut lines = text.lines().enumerate();
        let (nodes, header_edges) = lines
            .next()
            .and_then(|(_, l)| parse_header(l))
            .ok_or(TopologyError::BadHeader)?;
        let mut topo = Topology::new(nodes)?;
        topo.edges.reserve(header_edges.min(MAX_NODES));
        for (i, line) in lines {
            let line_no = i.saturating_add(1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(u), Some(v), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(TopologyError::BadLine { line: line_no });
            };
            let (Ok(u), Ok(v)) = (u.parse::<u64>(), v.parse::<u64>()) else {
                return Err(TopologyError::BadLine { line: line_no });
            };
            let id = |x: u64| {
                u32::try_from(x)
                    .ok()
                    .filter(|&x| (x as usize) < nodes)
                    .map(NodeId)
                    .ok_or(TopologyError::NodeOutOfRange { node: x, nodes })
            };
            topo.add_edge(id(u)?, id(v)?)?;
        }
        if topo.edges.len() != header_edges {
            return Err(TopologyError::EdgeCountMismatch {
                header: header_edges,
                found: topo.edges.len(),
            });
        }
        Ok(topo)
    }

    /// Reads and parses an edge-list file (see [`Topology::parse`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, TopologyError> {
        let text = std::fs::read_to_string(path.as_ref())
            .map_err(|e| TopologyError::Io(std::format!("{}: {e}", path.as_ref().display())))?;
        Topology::parse(&text)
    }

    /// Number of nodes (ids `0..node_count()`).
    pub fn node_count(&self) -> usize {
        self.adjacency.len()
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// The edges, each once, in insertion order.
    pub fn edges(&self) -> &[(NodeId, NodeId)] {
        &self.edges
    }

    /// The neighbours of `n` in edge insertion order (empty for an unknown id).
    pub fn neighbours(&self, n: NodeId) -> &[NodeId] {
        self.adjacency.get(n.index()).map_or(&[], Vec::as_slice)
    }

    /// Degree of `n` (0 for an unknown id).
    pub fn degree(&self, n: NodeId) -> usize {
        self.neighbours(n).len()
    }

    /// Whether the edge `a - b` exists (in either direction).
    pub fn has_edge(&self, a: NodeId, b: NodeId) -> bool {
        // Scan the shorter list: degrees are small except for hubs.
        let (x, y) = if self.degree(a) <= self.degree(b) {
            (a, b)
        } else {
            (b, a)
        };
        self.neighbours(x).contains(&y)
    }

    /// The connected components, each sorted by id, ordered by their
    /// smallest id. Isolated nodes are components of one.
    pub fn components(&self) -> Vec<Vec<NodeId>> {
        let mut seen = vec![false; self.node_count()];
        let mut out = Vec::new();
        let mut queue = VecDeque::new();
        for start in 0..self.node_count() {
            match seen.get_mut(start) {
                Some(s) if !*s => *s = true,
                _ => continue,
            }
            let mut comp = Vec::new();
            queue.push_back(NodeId::from_index(start));
            while let Some(n) = queue.pop_front() {
                comp.push(n);
                for &m in self.neighbours(n) {
                    if let Some(s) = seen.get_mut(m.index())
                        && !*s
                    {
                        *s = true;
                        queue.push_back(m);
                    }
                }
            }
            comp.sort_unstable();
            out.push(comp);
        }
        out
    }

    /// BFS hop distances from `src`: entry `i` is `Some(hops)` to node `i`,
    /// `None` when unreachable (all `None` for an unknown `src`). Use it for
    /// path stretch: routed hops divided by `bfs_distances(s)[d]`.
    pub fn bfs_distances(&self, src: NodeId) -> Vec<Option<u32>> {
        let mut dist = vec![None; self.node_count()];
        let Some(d0) = dist.get_mut(src.index()) else {
            return dist;
        };
        *d0 = Some(0u32);
        let mut queue = VecDeque::from([(src, 0u32)]);
        while let Some((n, d)) = queue.pop_front() {
            let next = d.saturating_add(1);
            for &m in self.neighbours(n) {
                if let Some(slot) = dist.get_mut(m.index())
                    && slot.is_none()
                {
                    *slot = Some(next);
                    queue.push_back((m, next));
                }
            }
        }
        dist
    }
}

fn parse_header(line: &str) -> Option<(usize, usize)> {
    let mut f = line.split_whitespace();
    let ok = f.next() == Some("#") && f.next() == Some("nodes");
    let nodes = f.next()?.parse().ok()?;
    let ok = ok && f.next() == Some("edges");
    let edges = f.next()?.parse().ok()?;
    (ok && f.next().is_none()).then_some((nodes, edges))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_small_graph() {
        let t = Topology::parse("# nodes 4 edges 3\n0 1\n1 2\n\n# c\n2 0\n").unwrap();
        assert_eq!((t.node_count(), t.edge_count()), (4, 3));
        assert_eq!(t.neighbours(NodeId(0)), &[NodeId(1), NodeId(2)]);
        assert_eq!(t.components().len(), 2);
        assert_eq!(t.bfs_distances(NodeId(0))[3], None);
        assert_eq!(t.bfs_distances(NodeId(1))[2], Some(1));
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Topology::parse("0 1\n"), Err(TopologyError::BadHeader));
        assert_eq!(
            Topology::parse("# nodes 2 edges 1\n0 x\n"),
            Err(TopologyError::BadLine { line: 2 })
        );
        assert_eq!(
            Topology::parse("# nodes 2 edges 1\n0 2\n"),
            Err(TopologyError::NodeOutOfRange { node: 2, nodes: 2 })
        );
        assert_eq!(
            Topology::parse("# nodes 2 edges 2\n0 1\n1 0\n"),
            Err(TopologyError::DuplicateEdge {
                a: NodeId(1),
                b: NodeId(0)
            })
        );
        assert_eq!(
            Topology::parse("# nodes 2 edges 1\n1 1\n"),
            Err(TopologyError::SelfLoop { node: NodeId(1) })
        );
        assert_eq!(
            Topology::parse("# nodes 2 edges 2\n0 1\n"),
            Err(TopologyError::EdgeCountMismatch {
                header: 2,
                found: 1
            })
        );
        assert_eq!(
            Topology::parse("# nodes 99999999999 edges 0\n"),
            Err(TopologyError::TooManyNodes { nodes: 99999999999 })
        );
    }
}
