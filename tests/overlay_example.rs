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

#[test]
fn abilene_lossy_links_pass_every_check() {
    let (t, text) = topology("zoo-Abilene.txt");
    let edges = edges_in(&text);
    for seed in [1, 2, 3] {
        let out = run(&small(t.clone(), seed)).unwrap();
        assert!(out.ok(), "seed {seed}: {:?}", out.checks);
        assert_eq!(out.links, edges);
        assert_eq!(out.handshakes, edges);
        // 5 pipes a -> b, and pipe 0 three times (before, after the move, back).
        assert_eq!(out.expected, (5 + 3) * 8);
        assert_eq!(out.delivered, out.expected);
        assert_eq!(out.proxies_left, 0);
        assert_eq!(out.counters.forged_injected, 8);
    }
}

#[test]
fn same_seed_same_digest_other_seed_other_digest() {
    let (t, _) = topology("zoo-Abilene.txt");
    let a = run(&small(t.clone(), 7)).unwrap();
    let b = run(&small(t.clone(), 7)).unwrap();
    let c = run(&small(t, 8)).unwrap();
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.stats, b.stats);
    assert_ne!(a.digest, c.digest);
}

#[test]
fn perfect_links_need_no_retransmission_and_reject_exactly_the_forgeries() {
    let (t, text) = topology("zoo-Abilene.txt");
    let o = Options {
        link: LinkConfig::fixed(Duration::from_millis(5)),
        ..small(t, 4)
    };
    let out = run(&o).unwrap();
    assert!(out.ok(), "{:?}", out.checks);
    let c = out.counters;
    // IK: one initiation and one response per link, nothing resent.
    assert_eq!(c.handshake_sent, 2 * edges_in(&text) as u64);
    assert_eq!(c.handshake_resent, 0);
    assert_eq!(c.e2e_retransmits, 0);
    assert_eq!(c.e2e_duplicates, 0);
    assert_eq!(out.stats.dropped(), 0);
    // Every forged datagram arrives and fails authentication; every
    // replayed one arrives after its original and is refused unopened.
    assert_eq!(c.rejected_forgery, 8);
    // (A forging node replays only if it has sent its neighbour something.)
    assert!(c.replays_injected >= 1);
    assert_eq!(c.rejected_replay, c.replays_injected);
    // Every datagram sent arrived and opened (nothing lost or duplicated).
    assert_eq!(c.datagrams_accepted, c.datagrams_sent);
    // Handshakes on 5 ms links finish within one round trip.
    assert_eq!(
        out.handshakes_done_at,
        hyperport::time::Instant::from_millis(10)
    );
}

#[test]
fn geant_default_workload_passes() {
    let (t, text) = topology("zoo-Geant2012.txt");
    let out = run(&Options::new(t, 1)).unwrap();
    assert!(out.ok(), "{:?}", out.checks);
    assert_eq!(out.handshakes, edges_in(&text));
    assert_eq!(out.delivered, (11 + 3) * 20);
}
