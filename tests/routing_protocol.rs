//! The protocol on small Topology Zoo graphs (debug build): cold-start
//! convergence to one tree, 100% greedy delivery with no loop; then churn
//! (5% of links, then 5% of nodes, seeded), re-convergence and 100% delivery
//! again within each surviving component, never a loop, including while the
//! tree is still changing.
#![allow(clippy::needless_range_loop)]

mod routing_support;
use routing_support::{Net, Outcome, Xs, bfs, load};

fn check_tree(net: &Net) {
    // One root per connected component, and every coordinate is a valid
    // tree position: a node's parent (if any) is a live neighbour whose
    // coordinate is ours minus the last slot.
    let n = net.nodes.len();
    for s in 0..n {
        if !net.alive[s] {
            continue;
        }
        let d = bfs(&net.adj, s);
        for t in 0..n {
            if d[t] != u32::MAX && net.alive[t] {
                assert_eq!(
                    net.nodes[s].root().key,
                    net.nodes[t].root().key,
                    "two roots in one component"
                );
            }
        }
        let c = net.nodes[s].coord();
        match net.nodes[s].parent() {
            None => assert!(net.nodes[s].is_root() && c.depth() == 0),
            Some(l) => {
                let p = l.0 as usize;
                assert!(net.adj[s].contains(&p));
                // Slot by slot, independent of the run-length form.
                let mine: Vec<u16> = c.slots().collect();
                let theirs: Vec<u16> = net.nodes[p].coord().slots().collect();
                assert_eq!(theirs, mine[..c.depth() - 1]);
            }
        }
    }
    // Distinct coordinates per tree.
    let mut seen = std::collections::HashSet::new();
    for (i, node) in net.nodes.iter().enumerate() {
        if net.alive[i] {
            assert!(
                seen.insert((node.root().key, node.coord().clone())),
                "duplicate coordinate"
            );
        }
    }
}

fn cold_start(name: &str) -> Net {
    let mut net = Net::new(load(name));
    let rounds = net.converge(12, 300);
    check_tree(&net);
    // The root is a maximum-degree node (rank = degree).
    let maxdeg = net.adj.iter().map(Vec::len).max().unwrap();
    let root = net.nodes.iter().position(|n| n.is_root()).unwrap();
    assert_eq!(net.adj[root].len(), maxdeg);
    // The converged tree is a BFS tree from the root: depth = BFS distance.
    let d = bfs(&net.adj, root);
    for (i, node) in net.nodes.iter().enumerate() {
        assert_eq!(
            node.coord().depth() as u32,
            d[i],
            "node {i} not at its BFS depth"
        );
        // Breadth-first parent order: the parent is the neighbour one level
        // up with the lexicographically smallest coordinate.
        if let Some(p) = node.parent() {
            let best = net.adj[i]
                .iter()
                .filter(|&&v| d[v] + 1 == d[i])
                .map(|&v| net.nodes[v].coord().slots().collect::<Vec<u16>>())
                .min()
                .unwrap();
            assert_eq!(
                net.nodes[p.0 as usize]
                    .coord()
                    .slots()
                    .collect::<Vec<u16>>(),
                best,
                "node {i}"
            );
        }
    }
    eprintln!("{name}: converged in {rounds} rounds");
    net
}

#[test]
fn cold_start_converges_and_delivers_everything() {
    for name in [
        "zoo-Abilene",
        "zoo-Nsfnet",
        "zoo-Internet2",
        "zoo-Sunet",
        "zoo-Geant2012",
    ] {
        let mut net = cold_start(name);
        let mut rng = Xs(0x1234_5678);
        let (ok, tried, stretch) = net.evaluate(&mut rng, 300);
        assert_eq!(ok, tried, "{name}: delivery below 100%");
        assert!(stretch >= 1.0);
        eprintln!("{name}: {ok}/{tried} delivered, stretch {stretch:.3}");
    }
}

fn churn(name: &str, seed: u64, expect_notices: bool) {
    let mut net = cold_start(name);
    let mut rng = Xs(seed);
    let edges: Vec<(usize, usize)> = net
        .adj
        .iter()
        .enumerate()
        .flat_map(|(u, a)| a.iter().filter(move |&&v| u < v).map(move |&v| (u, v)))
        .collect();
    let k = (edges.len() * 5).div_ceil(100);
    for _ in 0..k {
        let live: Vec<(usize, usize)> = net
            .adj
            .iter()
            .enumerate()
            .flat_map(|(u, a)| a.iter().filter(move |&&v| u < v).map(move |&v| (u, v)))
            .collect();
        let (u, v) = live[rng.below(live.len())];
        net.remove_link(u, v);
    }
    // Right after the cut, before any announcement: dead ends report
    // "path broken" and the notice travels back (no loop, asserted inside).
    let (mut broken, mut notified) = (0, 0);
    for _ in 0..200 {
        let (s, t) = (rng.below(net.nodes.len()), rng.below(net.nodes.len()));
        if s == t || net.component(s)[t] == u32::MAX {
            continue;
        }
        if let Outcome::Broken {
            notice_reached_source,
        } = net.route_with_notice(s, t)
        {
            broken += 1;
            notified += usize::from(notice_reached_source);
        }
    }
    eprintln!(
        "{name}: {broken} dead ends right after link churn, {notified} notices reached the source"
    );
    if expect_notices {
        assert!(
            broken > 0 && notified > 0,
            "the seeded cut must produce dead ends and notices"
        );
    }
    // While re-converging: no loop ever (asserted inside route()).
    for _ in 0..5 {
        net.step();
        net.evaluate(&mut rng, 40);
    }
    net.converge(12, 300);
    check_tree(&net);
    let (ok, tried, _) = net.evaluate(&mut rng, 300);
    assert_eq!(ok, tried, "{name}: delivery after link churn");

    // 5% of nodes, the root first if the draw hits it (root loss).
    let n = net.nodes.len();
    let k = (n * 5).div_ceil(100);
    let root = net.nodes.iter().position(|x| x.is_root()).unwrap();
    net.remove_node(root);
    for _ in 1..k {
        let v = loop {
            let v = rng.below(n);
            if net.alive[v] {
                break v;
            }
        };
        net.remove_node(v);
    }
    for _ in 0..20 {
        net.step();
        net.evaluate(&mut rng, 20);
    }
    let rounds = 20 + net.converge(12, 400);
    check_tree(&net);
    let (ok, tried, _) = net.evaluate(&mut rng, 300);
    assert_eq!(ok, tried, "{name}: delivery after node churn");
    eprintln!("{name}: re-converged within {rounds} rounds after node churn (root removed)");
}

#[test]
fn churn_links_then_nodes_geant() {
    churn("zoo-Geant2012", 0xc0ffee, true);
}

#[test]
fn churn_links_then_nodes_internet2() {
    churn("zoo-Internet2", 0xbeef, true);
}

#[test]
fn lossy_links_still_converge_to_the_same_tree() {
    // 20% of announcements lost while converging: lost full announcements are
    // recovered through keepalive digests (the receiver asks for a full one),
    // and the result is the same breadth-first tree as without loss.
    let clean = cold_start("zoo-Geant2012");
    let mut net = Net::new(load("zoo-Geant2012"));
    net.loss_permille = 200;
    for _ in 0..40 {
        net.step();
    }
    net.loss_permille = 0;
    net.converge(12, 300);
    check_tree(&net);
    for (i, (a, b)) in net.nodes.iter().zip(&clean.nodes).enumerate() {
        if a.coord() != b.coord() {
            let nb: Vec<_> = net.adj[i]
                .iter()
                .map(|&v| {
                    (
                        v,
                        net.nodes[v].coord().clone(),
                        clean.nodes[v].coord().clone(),
                    )
                })
                .collect();
            panic!(
                "node {i}: lossy {:?} (parent {:?}) clean {:?} (parent {:?}); root same {}; neighbours {nb:?}",
                a.coord(),
                a.parent(),
                b.coord(),
                b.parent(),
                a.root().key == b.root().key
            );
        }
    }
    let asked: u64 = net.nodes.iter().map(|n| n.stats().unknown_digest).sum();
    assert!(asked > 0, "loss must have exercised the digest recovery");
    let mut rng = Xs(5);
    let (ok, tried, _) = net.evaluate(&mut rng, 200);
    assert_eq!(ok, tried);
}

/// Longer sweep (run with `cargo test --test routing_protocol -- --ignored`):
/// the churn scenario on more graphs and seeds.
#[test]
#[ignore]
fn churn_sweep() {
    for name in [
        "zoo-Abilene",
        "zoo-Nsfnet",
        "zoo-Sunet",
        "zoo-Cernet",
        "zoo-Uunet",
        "zoo-Tinet",
        "zoo-Esnet",
    ] {
        for seed in [1u64, 2, 3] {
            churn(name, 0x5eed ^ seed.wrapping_mul(0x9e37_79b9), false);
        }
    }
}
