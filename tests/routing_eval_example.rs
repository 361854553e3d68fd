//! Runs the `routing_eval` example's simulator driver small (a path, a grid,
//! zoo-Geant2012 with churn) so CI guards it, and checks its measurement
//! helpers against hand-computed values.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/routing_eval.rs"]
mod routing_eval;

use hyperport::sim::LinkConfig;
use hyperport::time::Duration;
use routing_eval::{
    Fate, Graph, Opts, Packet, Visit, evaluate, grid, path, rounds_of, sample_pairs, shortest_hops,
    tally,
};

fn opts(churn: bool) -> Opts {
    Opts {
        pairs: 200,
        probe_pairs: 50,
        seed: 1,
        churn,
        positions: 0,
        link: LinkConfig::fixed(Duration::from_millis(10)),
        verbose: false,
        pace: Duration::ZERO,
        trees: 1,
        root_spread: hyperport::routing::Config::default().root_spread,
        authority: true,
        hostile: false,
        hop_ack: true,
    }
}

fn zoo(name: &str) -> Graph {
    let p = format!(
        "{}/vectors/topologies/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    routing_eval::parse_edgelist(&p).unwrap().unwrap()
}

#[test]
fn rounds_round_up_to_whole_intervals() {
    let s = Duration::from_secs(1);
    assert_eq!(rounds_of(Duration::from_millis(0), s), 0);
    assert_eq!(rounds_of(Duration::from_millis(200), s), 1);
    assert_eq!(rounds_of(Duration::from_millis(1_000), s), 1);
    assert_eq!(rounds_of(Duration::from_millis(1_010), s), 2);
}

#[test]
fn tally_by_hand() {
    // Path 0-1-2-3: shortest 0->3 is 3 hops, 0->2 is 2 hops.
    let g = path(4);
    let t = tally(
        &shortest_hops(&g.adj, &[(0, 3), (0, 2), (1, 3)]),
        &[Some(3), Some(4), None],
    );
    assert_eq!((t.delivered, t.pairs), (2, 3));
    assert_eq!(t.avg_stretch, 1.5); // (3/3 + 4/2) / 2
    assert_eq!(t.max_stretch, 2.0);
}

#[test]
fn pairs_are_live_and_connected() {
    // Components {0, 1, 2} and {3, 4}; node 1 is dead, which also cuts 0
    // from 2 in the surviving graph given to the sampler.
    let adj = vec![vec![], vec![], vec![], vec![4], vec![3]];
    let alive = [true, false, true, true, true];
    let pairs = sample_pairs(&adj, &alive, 100, 7);
    assert!(!pairs.is_empty());
    for (s, t) in pairs {
        assert!(
            (s, t) == (3, 4) || (s, t) == (4, 3),
            "({s}, {t}) is not a live connected pair"
        );
    }
}

#[test]
fn path_is_routed_exactly() {
    // On a path every route is the only one: stretch exactly 1, and the
    // tree is rooted at an interior node (degree 2, neighbours' degree sum
    // 4: nodes 2..=27), so depth is at most 27.
    let (rows, bad) = evaluate(&path(30), opts(false));
    assert!(!bad);
    let r = &rows[0];
    assert_eq!(r.tally.delivered, r.tally.pairs);
    assert!(r.tally.pairs > 150);
    assert_eq!(r.tally.avg_stretch, 1.0);
    assert_eq!(r.tally.max_stretch, 1.0);
    assert_eq!(r.joined_pct, 100.0);
    assert!(r.max_depth <= 27, "depth {}", r.max_depth);
}

#[test]
fn grid_tree_is_rooted_at_the_centre() {
    // 5x5 grid: the unique best rank is the centre (2,2) (degree 4, all
    // neighbours degree 4), the farthest nodes are the corners, 4 hops away.
    // Announcements travel at link latency: convergence within one round.
    let (rows, bad) = evaluate(&grid(5), opts(false));
    assert!(!bad);
    let r = &rows[0];
    assert_eq!(r.nodes, 25);
    assert_eq!(r.max_depth, 4);
    assert_eq!(r.tally.delivered, r.tally.pairs);
    assert_eq!(r.rounds, 1);
    assert!(
        r.converge_ms >= 40,
        "{} ms for 4 hops of 10 ms",
        r.converge_ms
    );
}

#[test]
fn geant_churn_reconverges_without_loops() {
    let (rows, bad) = evaluate(&zoo("zoo-Geant2012"), opts(true));
    assert!(!bad, "a packet looped or used a non-link");
    let tags: Vec<&str> = rows.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["", "+links-5%", "+nodes-5%"]);
    // 40 nodes; 5% of nodes rounded up is 2.
    assert_eq!(
        rows.iter().map(|r| r.nodes).collect::<Vec<_>>(),
        [40, 40, 38]
    );
    for r in &rows {
        assert_eq!(r.tally.delivered, r.tally.pairs, "{}", r.tag);
    }
    for r in &rows[1..] {
        let (min, mean) = r.during.unwrap();
        assert!(
            (0.0..=mean).contains(&min) && mean <= 100.0,
            "{}: {min} {mean}",
            r.tag
        );
    }
}

/// The loop detector the evaluation runs on every hop can fire: a node that
/// forwards the same packet a second time from an unchanged position is a
/// loop, as is a packet past the hop bound; a second arrival after the node
/// moved, or one the node does not forward again, is not.
#[test]
fn loop_detector_fires_on_a_repeat_forward_from_an_unchanged_position() {
    let mut p = Packet::new(9);
    assert_eq!(p.visit(1, 5, true), Visit::Fine);
    assert_eq!(p.visit(2, 3, true), Visit::Fine);
    // Node 1 again, same generation, forwarding again: a loop.
    assert_eq!(p.visit(1, 5, true), Visit::Loop);
    assert_eq!(p.fate, Fate::Looped);

    let mut p = Packet::new(9);
    assert_eq!(p.visit(1, 5, true), Visit::Fine);
    // Node 1 moved (generation 6) since: a counted revisit, not a loop.
    assert_eq!(p.visit(1, 6, true), Visit::Revisit);
    // Back at generation 6 and not forwarding (path broken): not a loop.
    assert_eq!(p.visit(1, 6, false), Visit::Fine);
    assert_eq!(p.fate, Fate::Moving);

    // Past the hop bound (2 * MAX_DEPTH + 1): a loop whatever the node.
    let mut p = Packet::new(9);
    p.hops = 2 * hyperport::routing::MAX_DEPTH as u32 + 2;
    assert_eq!(p.visit(7, 0, true), Visit::Loop);
}
