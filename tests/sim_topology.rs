//! Topology parsing against the shipped edge lists.
#![cfg(feature = "sim")]

use std::path::{Path, PathBuf};

use hyperport::sim::{NodeId, Topology};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/topologies")
}

fn load(name: &str) -> Topology {
    Topology::from_file(dir().join(format!("{name}.txt"))).unwrap()
}

/// The header counted independently of `Topology::parse`: the header line
/// split by hand, and the edge lines simply counted.
fn header_and_lines(path: &Path) -> (usize, usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let words: Vec<&str> = lines.next().unwrap().split(' ').collect();
    assert_eq!(words[..2], ["#", "nodes"]);
    assert_eq!(words[3], "edges");
    let edge_lines = lines.filter(|l| !l.trim().is_empty()).count();
    (
        words[2].parse().unwrap(),
        words[4].parse().unwrap(),
        edge_lines,
    )
}

#[test]
fn every_edge_list_matches_its_header() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "txt") && !p.ends_with("LICENSE-CC-BY-4.0.txt")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 27, "25 zoo graphs, as-733, gnutella08");
    for path in files {
        let (n, m, lines) = header_and_lines(&path);
        assert_eq!(m, lines, "{}", path.display());
        let t = Topology::from_file(&path).unwrap();
        assert_eq!(
            (t.node_count(), t.edge_count()),
            (n, m),
            "{}",
            path.display()
        );
        // Each edge appears in both ends' neighbour lists.
        let degree_sum: usize = (0..n).map(|i| t.degree(NodeId(i as u32))).sum();
        assert_eq!(degree_sum, 2 * m);
    }
}

#[test]
fn hand_typed_counts() {
    // Counts typed from vectors/topologies (SNAP published statistics and
    // the project's networkx statistics table).
    let abilene = load("zoo-Abilene");
    assert_eq!((abilene.node_count(), abilene.edge_count()), (11, 14));
    assert_eq!(abilene.components().len(), 1);

    let as733 = load("as-733-20000102");
    assert_eq!((as733.node_count(), as733.edge_count()), (6474, 12572));
    assert_eq!(as733.components().len(), 1);
    let max_deg = (0..6474).map(|i| as733.degree(NodeId(i))).max().unwrap();
    assert_eq!(max_deg, 1458);

    let gnutella = load("p2p-gnutella08");
    assert_eq!(
        (gnutella.node_count(), gnutella.edge_count()),
        (6301, 20777)
    );
    let comps = gnutella.components();
    assert_eq!(comps.len(), 2);
    let mut sizes: Vec<usize> = comps.iter().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(sizes, [2, 6299]);
    let max_deg = (0..6301).map(|i| gnutella.degree(NodeId(i))).max().unwrap();
    assert_eq!(max_deg, 97);
    // BFS never crosses into the other component.
    let small = comps.iter().find(|c| c.len() == 2).unwrap();
    let d = gnutella.bfs_distances(small[0]);
    assert_eq!(d.iter().filter(|x| x.is_some()).count(), 2);
    assert_eq!(d[small[1].0 as usize], Some(1));
}

fn diameter(t: &Topology) -> u32 {
    (0..t.node_count())
        .map(|i| {
            t.bfs_distances(NodeId(i as u32))
                .into_iter()
                .flatten()
                .max()
                .unwrap()
        })
        .max()
        .unwrap()
}

#[test]
fn bfs_diameters_match_networkx() {
    // Diameters from the topology statistics table (networkx, exact).
    for (name, d) in [
        ("zoo-Abilene", 5),
        ("zoo-Nsfnet", 5),
        ("zoo-Internet2", 8),
        ("zoo-Geant2012", 8),
        ("zoo-Cernet", 5),
        ("zoo-RedBestel", 28),
        ("zoo-Kdl", 58),
    ] {
        assert_eq!(diameter(&load(name)), d, "{name}");
    }
}

#[test]
fn hand_built_graph() {
    // A path 0-1-2 plus an isolated node 3.
    let mut t = Topology::new(4).unwrap();
    t.add_edge(NodeId(0), NodeId(1)).unwrap();
    t.add_edge(NodeId(2), NodeId(1)).unwrap();
    assert!(t.add_edge(NodeId(1), NodeId(0)).is_err());
    assert!(t.add_edge(NodeId(3), NodeId(4)).is_err());
    assert_eq!(t.edge_count(), 2);
    assert_eq!(t.neighbours(NodeId(1)), &[NodeId(0), NodeId(2)]);
    assert_eq!(
        t.bfs_distances(NodeId(0)),
        [Some(0), Some(1), Some(2), None]
    );
    assert_eq!(
        t.components(),
        [vec![NodeId(0), NodeId(1), NodeId(2)], vec![NodeId(3)]]
    );
    assert!(t.has_edge(NodeId(2), NodeId(1)));
    assert!(!t.has_edge(NodeId(0), NodeId(2)));
}
