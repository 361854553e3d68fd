//! Partitions, heals and nodes going down and up, at scheduled virtual times.
#![cfg(feature = "sim")]

mod sim_support;

use hyperport::sim::{Fault, LinkConfig, NodeId, Partition, Sim, SimConfig, SimError, Topology};
use hyperport::time::{Duration, Instant};
use sim_support::{Gossip, Originate, Sender, SenderCmd, Ticker, check_accounting};

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);

fn ms(x: u64) -> Instant {
    Instant::from_millis(x)
}

#[test]
fn link_partition_blocks_traffic_and_heal_restores_it() {
    // A sends a probe every 10 ms from t = 0 to 990 ms over a 5 ms link; the
    // link is cut over [300, 600) ms. A probe is lost if the link is cut
    // when it is sent or when it arrives: sent 300..=590 are lost (faults
    // precede timeouts at equal times, so the one sent at 300 is too);
    // sent 290 (arrives 295) and 600 get through.
    let mut sim = Sim::new(
        SimConfig::with_seed(3),
        vec![Sender::default(), Sender::default()],
    );
    sim.connect(A, B, LinkConfig::fixed(Duration::from_millis(5)))
        .unwrap();
    sim.schedule_partition(ms(300), Partition::Link(B, A))
        .unwrap();
    sim.schedule_heal(ms(600), Partition::Link(A, B)).unwrap();
    sim.command(
        A,
        SenderCmd::Stream {
            to: B,
            count: 100,
            interval: Duration::from_millis(10),
            size: 16,
        },
    )
    .unwrap();
    let s = sim.run_until_quiet(10_000).unwrap();
    check_accounting(&s);
    let sent: Vec<u64> = sim
        .node(B)
        .unwrap()
        .received
        .iter()
        .map(|r| r.sent.as_millis())
        .collect();
    let expect: Vec<u64> = (0..30).chain(60..100).map(|i| i * 10).collect();
    assert_eq!(sent, expect);
    assert_eq!((s.delivered, s.dropped_partition), (70, 30));
}

#[test]
fn in_flight_messages_are_lost_when_a_partition_starts() {
    let mut sim = Sim::new(
        SimConfig::default(),
        vec![Sender::default(), Sender::default()],
    );
    sim.connect(A, B, LinkConfig::fixed(Duration::from_millis(50)))
        .unwrap();
    sim.command(
        A,
        SenderCmd::Stream {
            to: B,
            count: 1,
            interval: Duration::ZERO,
            size: 16,
        },
    )
    .unwrap();
    sim.schedule_partition(ms(20), Partition::Cut(vec![A]))
        .unwrap();
    let s = sim.run_until_quiet(10).unwrap();
    assert_eq!((s.delivered, s.dropped_partition), (0, 1));
}

/// Four nodes, a 4-cycle 0-1-2-3-0 of 1 ms links, flooding gossip.
fn square() -> Sim<Gossip> {
    let t = Topology::parse("# nodes 4 edges 4\n0 1\n1 2\n2 3\n3 0\n").unwrap();
    let nodes = (0..4)
        .map(|i| Gossip::new(NodeId(i), t.neighbours(NodeId(i)).to_vec()))
        .collect();
    Sim::with_topology(
        SimConfig::default(),
        nodes,
        &t,
        LinkConfig::fixed(Duration::from_millis(1)),
    )
    .unwrap()
}

fn reached(sim: &Sim<Gossip>, rumour: (u32, u32)) -> Vec<u32> {
    (0..4)
        .filter(|&i| sim.node(NodeId(i)).unwrap().seen.contains(&rumour))
        .collect()
}

#[test]
fn node_set_partition_splits_and_heal_rejoins() {
    let mut sim = square();
    let side = Partition::Cut(vec![NodeId(1), NodeId(0)]);
    sim.partition(side.clone()).unwrap();
    sim.command(A, Originate).unwrap();
    sim.run_until_quiet(100).unwrap();
    assert_eq!(reached(&sim, (0, 0)), [0, 1]);
    // Healing names the same set, in any order.
    sim.heal(Partition::Cut(vec![A, B, A])).unwrap();
    sim.command(A, Originate).unwrap();
    let s = sim.run_until_quiet(100).unwrap();
    assert_eq!(reached(&sim, (0, 1)), [0, 1, 2, 3]);
    check_accounting(&s);
    // 0 -> {1, 3} blocked to 3; 1 -> 2 blocked: two drops in the first round.
    assert_eq!(s.dropped_partition, 2);
}

#[test]
fn scheduled_cut_and_heal_apply_at_their_times() {
    let mut sim = square();
    sim.schedule(ms(10), Fault::Partition(Partition::Cut(vec![NodeId(2)])))
        .unwrap();
    sim.schedule(ms(20), Fault::Heal(Partition::Cut(vec![NodeId(2)])))
        .unwrap();
    sim.run_until(ms(15)).unwrap();
    assert_eq!(sim.now(), ms(15));
    sim.command(A, Originate).unwrap();
    sim.run_until(ms(19)).unwrap();
    assert_eq!(reached(&sim, (0, 0)), [0, 1, 3]);
    sim.run_until_quiet(100).unwrap();
    sim.command(B, Originate).unwrap();
    sim.run_until_quiet(100).unwrap();
    assert_eq!(reached(&sim, (1, 0)), [0, 1, 2, 3]);
    // Node 2 never got the first rumour: flooding does not repair.
    assert_eq!(reached(&sim, (0, 0)), [0, 1, 3]);
}

#[test]
fn down_node_receives_nothing_and_its_timers_pause() {
    // Two tickers, 10 ms period, 1 ms link. B is down over [100, 300) ms.
    let nodes = vec![
        Ticker::new(vec![B], Duration::from_millis(10), 40),
        Ticker::new(vec![A], Duration::from_millis(10), 40),
    ];
    let mut sim = Sim::new(SimConfig::default(), nodes);
    sim.connect(A, B, LinkConfig::fixed(Duration::from_millis(1)))
        .unwrap();
    sim.schedule_node_down(ms(100), B).unwrap();
    sim.schedule_node_up(ms(300), B).unwrap();
    sim.run_until(ms(200)).unwrap();
    assert!(sim.is_down(B));
    assert_eq!(sim.command(B, ()), Err(SimError::NodeDown { node: B }));
    let s = sim.run_until_quiet(10_000).unwrap();
    check_accounting(&s);
    let b = sim.node(B).unwrap();
    // Ticks at 10..=90; the one due at 100 is paused (the fault comes first
    // at equal times) and fires when B comes up at 300, then every 10 ms.
    let expect: Vec<Instant> = (1..10).chain(30..61).map(|i| ms(i * 10)).collect();
    assert_eq!(b.ticks, expect);
    assert_eq!(b.ticks.len(), 40);
    // B hears A's ticks sent at 10..=90 and 300..=400 (A ticks 10..=400; ones
    // arriving at 101..=291 are dropped: 20 of them).
    assert!(b.heard.iter().all(|&(_, t)| t < ms(100) || t >= ms(300)));
    assert_eq!(s.dropped_node_down, 20);
    assert_eq!(b.heard.len(), 9 + 11);
    // A hears every B tick.
    assert_eq!(sim.node(A).unwrap().heard.len(), 40);
}

#[test]
fn faults_are_checked_when_scheduled() {
    let mut sim = square();
    assert_eq!(
        sim.schedule_partition(ms(1), Partition::Link(NodeId(0), NodeId(2))),
        Err(SimError::NoLink {
            a: NodeId(0),
            b: NodeId(2)
        })
    );
    assert_eq!(
        sim.schedule_node_down(ms(1), NodeId(4)),
        Err(SimError::UnknownNode { node: NodeId(4) })
    );
    assert!(sim.partition(Partition::Cut(vec![NodeId(9)])).is_err());
    assert!(matches!(
        sim.command(NodeId(4), Originate),
        Err(SimError::UnknownNode { .. })
    ));
}

#[test]
fn run_until_condition_stops_when_it_holds() {
    let mut sim = square();
    sim.command(A, Originate).unwrap();
    // 0 -> 1 -> 2 over 1 ms links: node 2 hears the rumour at 2 ms.
    let held = sim
        .run_until_condition(100, |s| s.node(NodeId(2)).unwrap().seen.contains(&(0, 0)))
        .unwrap();
    assert!(held);
    assert_eq!(sim.now(), ms(2));
    // A condition that never holds ends when the simulation is quiet.
    assert_eq!(sim.run_until_condition(100, |_| false), Ok(false));
    assert!(sim.is_quiet());
}
