//! Runs the `overlay` example's scenario small (zoo-Abilene, Geant2012) so CI
//! guards it: the example's code is included as a module and its checks are
//! asserted, together with facts computed here independently of it.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/overlay.rs"]
mod overlay;

use hyperport::sim::{LinkConfig, Topology};
use hyperport::time::Duration;
use overlay::{Options, run};

fn topology(name: &str) -> (Topology, String) {
    let path = format!("{}/vectors/topologies/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    (Topology::parse(&text).unwrap(), text)
}

/// Distinct undirected edges of an edge list, counted from the text.
fn edges_in(text: &str) -> usize {
    let mut set = std::collections::BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split_whitespace().map(|x| x.parse::<u32>().unwrap());
        let (a, b) = (f.next().unwrap(), f.next().unwrap());
        if a != b {
            set.insert((a.min(b), a.max(b)));
        }
    }
    set.len()
}

fn small(t: Topology, seed: u64) -> Options {
    Options {
        pipes: 6,
        messages: 8,
        record_trace: true,
        ..Options::new(t, seed)
    }
}

fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn abilene_lossy_links_pass_every_check() {
    on_big_stack(|| {
        let (t, text) = topology("zoo-Abilene.txt");
        let edges = edges_in(&text);
        for seed in [1, 2, 3] {
            let out = run(&small(t.clone(), seed)).unwrap();
            assert!(out.ok(), "seed {seed}: {:?}", out.checks);
            assert_eq!(out.links, edges);
            assert_eq!(out.links_up, edges);
            // 5 pipes a -> b, and pipe 0 three times (before, after the
            // move, back).
            assert_eq!(out.expected, (5 + 3) * 8);
            assert_eq!(out.delivered, out.expected);
            assert_eq!(out.proxies_left, 0);
            assert_eq!(out.counters.forged_injected, 8);
            // The routing protocol ran: one root, a tree, positions moved
            // from cold start.
            assert!(out.counters.position_changes >= 10);
            assert!(out.depth >= 1);
            // A replay check ran and passed.
            assert!(
                out.checks
                    .iter()
                    .any(|(n, ok)| n.starts_with("replay") && *ok)
            );
        }
    });
}

#[test]
fn same_seed_same_digest_other_seed_other_digest() {
    on_big_stack(|| {
        let (t, _) = topology("zoo-Abilene.txt");
        let a = run(&small(t.clone(), 7)).unwrap();
        let b = run(&small(t.clone(), 7)).unwrap();
        let c = run(&small(t, 8)).unwrap();
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.stats, b.stats);
        assert_ne!(a.digest, c.digest);
    });
}

#[test]
fn perfect_links_need_no_retransmission_and_refuse_exactly_the_forgeries() {
    on_big_stack(|| {
        let (t, _) = topology("zoo-Abilene.txt");
        let o = Options {
            link: LinkConfig::fixed(Duration::from_millis(5)).with_mtu(overlay::MTU),
            ..small(t, 4)
        };
        let out = run(&o).unwrap();
        assert!(out.ok(), "{:?}", out.checks);
        let s = out.overlay;
        assert_eq!(out.stats.dropped(), 0);
        assert_eq!(s.records_retransmitted, 0);
        assert_eq!(s.records_duplicate, 0);
        // Every forged datagram arrives and names no session; every replayed
        // one is refused by the replay window; nothing else is refused.
        assert_eq!(s.dropped_unknown_index, 8);
        assert_eq!(s.dropped_link, out.counters.replays_injected);
        assert!(out.counters.replays_injected >= 1);
        // Every datagram sent arrived (nothing lost or duplicated).
        assert_eq!(s.datagrams_in, out.stats.sent);
    });
}

#[test]
fn geant_default_workload_passes() {
    on_big_stack(|| {
        let (t, text) = topology("zoo-Geant2012.txt");
        let out = run(&Options::new(t, 1)).unwrap();
        assert!(out.ok(), "{:?}", out.checks);
        assert_eq!(out.links_up, edges_in(&text));
        assert_eq!(out.delivered, (11 + 3) * 20);
        assert!(out.svg.starts_with("<svg"));
        // The highlighted path is a real greedy route, never shorter than
        // the shortest path.
        assert!(out.path.0.len() as u32 > out.path.1);
    });
}
