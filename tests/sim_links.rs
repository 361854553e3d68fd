//! Link behaviour: latency bounds, loss rate, duplication, reordering, MTU,
//! unknown destinations.
#![cfg(feature = "sim")]

mod sim_support;

use hyperport::sim::{LinkConfig, NodeId, Sim, SimConfig, Transmit};
use hyperport::time::{Duration, Instant};
use sim_support::{Sender, SenderCmd, check_accounting};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);

/// Two `Sender`s on one link; A streams `count` probes to B.
fn stream(seed: u64, link: LinkConfig, count: u32, interval: Duration) -> Sim<Sender> {
    let mut sim = Sim::new(
        SimConfig::with_seed(seed),
        vec![Sender::default(), Sender::default()],
    );
    sim.connect(A, B, link).unwrap();
    sim.command(
        A,
        SenderCmd::Stream {
            to: B,
            count,
            interval,
            size: 32,
        },
    )
    .unwrap();
    let stats = sim.run_until_quiet(1_000_000).unwrap();
    check_accounting(&stats);
    assert_eq!(stats.in_flight, 0);
    assert_eq!(
        stats.delivered as usize,
        sim.node(B).unwrap().received.len()
    );
    sim
}

fn inversions(seqs: &[u32]) -> usize {
    seqs.windows(2).filter(|w| w[1] < w[0]).count()
}

#[test]
fn latency_stays_within_the_configured_range() {
    let (lo, hi) = (Duration::from_millis(5), Duration::from_millis(15));
    // Probes 20 ms apart: FIFO never has to hold one back.
    let sim = stream(
        1,
        LinkConfig::default().with_latency(lo, hi),
        2_000,
        Duration::from_millis(20),
    );
    let rx = &sim.node(B).unwrap().received;
    assert_eq!(rx.len(), 2_000);
    let lat: Vec<u64> = rx.iter().map(|r| (r.at - r.sent).as_micros()).collect();
    assert!(
        lat.iter().all(|&l| (5_000..=15_000).contains(&l)),
        "out of range"
    );
    // The whole range is used (uniform draws: 2000 samples of 10 001 values).
    assert!(*lat.iter().min().unwrap() < 5_100);
    assert!(*lat.iter().max().unwrap() > 14_900);
    // Fixed latency is exact.
    let sim = stream(
        1,
        LinkConfig::fixed(Duration::from_millis(7)),
        50,
        Duration::from_millis(1),
    );
    assert!(
        sim.node(B)
            .unwrap()
            .received
            .iter()
            .all(|r| r.at - r.sent == Duration::from_millis(7))
    );
}

#[test]
fn reordered_latency_stays_within_range_plus_hold_back() {
    let mut link = LinkConfig::default()
        .with_latency(Duration::from_millis(5), Duration::from_millis(15))
        .with_reorder_ppm(300_000);
    link.reorder_delay = Duration::from_millis(40);
    let sim = stream(2, link, 2_000, Duration::from_millis(20));
    for r in &sim.node(B).unwrap().received {
        let l = (r.at - r.sent).as_micros();
        assert!((5_000..=55_000).contains(&l), "{l}");
    }
}

#[test]
fn loss_rate_is_within_binomial_bounds() {
    // 10 000 probes, 10 % loss: delivered ~ Binomial(10 000, 0.9), mean
    // 9 000, sd sqrt(10000 * 0.9 * 0.1) = 30. Accept 5 sd.
    for seed in [1, 2, 3] {
        let sim = stream(
            seed,
            LinkConfig::default().with_loss_ppm(100_000),
            10_000,
            Duration::ZERO,
        );
        let s = sim.stats();
        assert!((8_850..=9_150).contains(&s.delivered), "seed {seed}: {s:?}");
        assert_eq!(s.delivered + s.dropped_loss, 10_000);
    }
    // No loss configured: nothing lost.
    let sim = stream(1, LinkConfig::default(), 10_000, Duration::ZERO);
    assert_eq!(sim.stats().delivered, 10_000);
    // Certain loss: nothing arrives.
    let sim = stream(
        1,
        LinkConfig::default().with_loss_ppm(1_000_000),
        100,
        Duration::ZERO,
    );
    assert_eq!(sim.stats().delivered, 0);
}

#[test]
fn duplicates_happen_only_when_configured() {
    let count = 10_000u32;
    let sim = stream(
        5,
        LinkConfig::default().with_duplicate_ppm(100_000),
        count,
        Duration::ZERO,
    );
    let rx = &sim.node(B).unwrap().received;
    let mut seen = std::collections::HashSet::new();
    let dups = rx.iter().filter(|r| !seen.insert(r.seq)).count();
    // ~Binomial(10 000, 0.1): mean 1000, sd 30.
    assert!((850..=1_150).contains(&dups), "{dups}");
    assert_eq!(dups as u64, sim.stats().duplicated);
    assert_eq!(seen.len(), count as usize);

    let mut link = LinkConfig::default()
        .with_latency(Duration::from_millis(1), Duration::from_millis(30))
        .with_loss_ppm(200_000)
        .with_reorder_ppm(200_000);
    link.mtu = Some(1500);
    let sim = stream(5, link, count, Duration::from_micros(100));
    let rx = &sim.node(B).unwrap().received;
    let mut seen = std::collections::HashSet::new();
    assert!(rx.iter().all(|r| seen.insert(r.seq)));
    assert_eq!(sim.stats().duplicated, 0);
}

#[test]
fn reordering_happens_only_when_configured() {
    // Probes 100 us apart over a 1-30 ms latency range: without reordering
    // the FIFO rule must keep them in order although latencies vary.
    let jittery =
        LinkConfig::default().with_latency(Duration::from_millis(1), Duration::from_millis(30));
    let sim = stream(
        9,
        jittery.with_duplicate_ppm(100_000),
        5_000,
        Duration::from_micros(100),
    );
    let seqs: Vec<u32> = sim
        .node(B)
        .unwrap()
        .received
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(inversions(&seqs), 0);
    assert_eq!(sim.stats().reordered, 0);

    let sim = stream(
        9,
        jittery.with_reorder_ppm(100_000),
        5_000,
        Duration::from_micros(100),
    );
    let seqs: Vec<u32> = sim
        .node(B)
        .unwrap()
        .received
        .iter()
        .map(|r| r.seq)
        .collect();
    let held = sim.stats().reordered;
    // ~Binomial(5000, 0.1): mean 500, sd 21.
    assert!((400..=600).contains(&held), "{held}");
    // A held-back probe (up to 20 ms) is overtaken by the next ones (100 us apart).
    assert!(inversions(&seqs) > 200, "{}", inversions(&seqs));
}

#[test]
fn mtu_and_unknown_destinations_are_counted_drops() {
    let mut sim = Sim::new(
        SimConfig::default(),
        vec![Sender::default(), Sender::default(), Sender::default()],
    );
    sim.connect(A, B, LinkConfig::default().with_mtu(100))
        .unwrap();
    for (to, size) in [(B, 100), (B, 101), (NodeId(2), 20), (NodeId(9), 20)] {
        sim.command(
            A,
            SenderCmd::Stream {
                to,
                count: 1,
                interval: Duration::ZERO,
                size,
            },
        )
        .unwrap();
    }
    let s = sim.run_until_quiet(100).unwrap();
    check_accounting(&s);
    assert_eq!(
        (s.sent, s.delivered, s.dropped_mtu, s.dropped_no_link),
        (4, 1, 1, 2)
    );
    // Every output is in the trace, dropped or not.
    let outs: Vec<&Transmit> = sim.trace().iter().flat_map(|e| &e.outputs).collect();
    assert_eq!(outs.len(), 4);
}

#[test]
fn ties_follow_send_order_and_time_jumps_to_events() {
    // Zero interval: 10 probes sent in one drain, same fixed latency: they
    // arrive at the same instant, in send order, in 10 steps.
    let sim = stream(
        0,
        LinkConfig::fixed(Duration::from_millis(3)),
        10,
        Duration::ZERO,
    );
    let rx = &sim.node(B).unwrap().received;
    assert_eq!(
        rx.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    assert!(rx.iter().all(|r| r.at == Instant::from_millis(3)));
    let s = sim.stats();
    assert_eq!((s.steps, s.now), (10, Instant::from_millis(3)));
}

#[test]
fn pair_is_two_linked_nodes() {
    let mut sim = Sim::pair(
        SimConfig::default(),
        Sender::default(),
        Sender::default(),
        LinkConfig::fixed(Duration::from_millis(4)),
    );
    assert_eq!(sim.node_count(), 2);
    assert_eq!(sim.topology().edges(), &[(A, B)]);
    sim.command(
        B,
        SenderCmd::Stream {
            to: A,
            count: 3,
            interval: Duration::from_millis(1),
            size: 12,
        },
    )
    .unwrap();
    let s = sim.run_until_quiet(100).unwrap();
    assert_eq!((s.delivered, s.now), (3, Instant::from_millis(6)));
}

#[test]
fn bandwidth_serialises_messages() {
    // 1 000-byte probes at 1 MB/s take 1 ms each on the wire; with a fixed
    // 5 ms latency, probe k (sent at 0 with the others) arrives at
    // (k + 1) ms + 5 ms. A lost probe still used its slot.
    let link = LinkConfig::fixed(Duration::from_millis(5)).with_bandwidth(1_000_000);
    let mut sim = Sim::pair(
        SimConfig::default(),
        Sender::default(),
        Sender::default(),
        link,
    );
    sim.command(
        A,
        SenderCmd::Stream {
            to: B,
            count: 10,
            interval: Duration::ZERO,
            size: 1_000,
        },
    )
    .unwrap();
    sim.run_until_quiet(100).unwrap();
    let at: Vec<u64> = sim
        .node(B)
        .unwrap()
        .received
        .iter()
        .map(|r| r.at.as_millis())
        .collect();
    assert_eq!(at, (6..16).collect::<Vec<_>>());
    // The other direction is independent, and a 1-byte-per-second link
    // makes a 12-byte probe take 12 s.
    sim.connect(A, B, LinkConfig::fixed(Duration::ZERO).with_bandwidth(1))
        .unwrap();
    let t0 = sim.now();
    sim.command(
        B,
        SenderCmd::Stream {
            to: A,
            count: 1,
            interval: Duration::ZERO,
            size: 12,
        },
    )
    .unwrap();
    sim.run_until_quiet(100).unwrap();
    assert_eq!(
        sim.node(A).unwrap().received[0].at - t0,
        Duration::from_secs(12)
    );
}
