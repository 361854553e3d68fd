//! Reliable flooding over a real topology in the deterministic simulator.
//!
//! ```text
//! cargo run --release --example overlay_sim --features sim [-- EDGELIST [SEED]]
//! ```
//!
//! Loads an edge list (default `vectors/topologies/zoo-Geant2012.txt`), puts
//! one node on every vertex and links them with jittery, lossy, duplicating,
//! reordering links. A set of origins each floods one rumour; every hop is
//! acknowledged and retransmitted with exponential backoff until acked, so
//! the rumours get through a scheduled partition and a node outage. The run
//! goes until quiet, then is checked: a second run with the same seed must
//! give the same trace digest, and the recorded trace replayed into fresh
//! nodes must reproduce every output.

#[path = "support/cli.rs"]
mod cli;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hyperport::sim::{
    LinkConfig, NodeId, Partition, RunStats, Sim, SimConfig, SimNode, Topology, TraceDigest,
    Transmit, replay,
};
use hyperport::time::{Duration, Instant};

const RUMOUR: u8 = 0;
const ACK: u8 = 1;
/// First retransmission timeout; doubles per try up to `MAX_RTO`.
const RTO: Duration = Duration::from_millis(60);
const MAX_RTO: Duration = Duration::from_millis(1_000);
/// Sends of one rumour to one neighbour before giving up.
const MAX_TRIES: u32 = 12;
/// Graphs with more nodes run without keeping the trace (memory), and with
/// fewer origins (time).
const LARGE: usize = 1_000;

type Key = (u32, u32); // (origin, seq)

fn encode(kind: u8, key: Key) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&key.0.to_be_bytes());
    m.extend_from_slice(&key.1.to_be_bytes());
    m
}

fn decode(msg: &[u8]) -> Option<(u8, Key)> {
    let kind = *msg.first()?;
    let origin = u32::from_be_bytes(msg.get(1..5)?.try_into().ok()?);
    let seq = u32::from_be_bytes(msg.get(5..9)?.try_into().ok()?);
    Some((kind, (origin, seq)))
}

/// Flooding with per-hop acknowledgement and retransmission.
struct Flood {
    id: NodeId,
    neighbours: Vec<NodeId>,
    next_seq: u32,
    /// First receipt (or origination) time of each rumour.
    seen: HashMap<Key, Instant>,
    /// Unacknowledged sends: (neighbour, rumour) -> (deadline, tries).
    pending: HashMap<(NodeId, Key), (Instant, u32)>,
    /// The same, ordered by deadline.
    deadlines: BTreeSet<(Instant, NodeId, Key)>,
    out: VecDeque<Transmit>,
    gave_up: u64,
}

impl Flood {
    fn new(id: NodeId, neighbours: Vec<NodeId>) -> Self {
        Flood {
            id,
            neighbours,
            next_seq: 0,
            seen: HashMap::new(),
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            out: VecDeque::new(),
            gave_up: 0,
        }
    }

    fn send(&mut self, now: Instant, to: NodeId, key: Key, tries: u32) {
        self.out.push_back(Transmit {
            to,
            payload: encode(RUMOUR, key),
        });
        let rto = RTO.saturating_mul(1 << (tries - 1).min(10)).min(MAX_RTO);
        let deadline = now + rto;
        self.pending.insert((to, key), (deadline, tries));
        self.deadlines.insert((deadline, to, key));
    }

    fn settle(&mut self, peer: NodeId, key: Key) {
        if let Some((deadline, _)) = self.pending.remove(&(peer, key)) {
            self.deadlines.remove(&(deadline, peer, key));
        }
    }

    fn learn(&mut self, now: Instant, from: Option<NodeId>, key: Key) {
        self.seen.insert(key, now);
        for i in 0..self.neighbours.len() {
            let n = self.neighbours[i];
            if Some(n) != from {
                self.send(now, n, key, 1);
            }
        }
    }
}

#[derive(Clone, Debug, Hash)]
struct Originate;

impl SimNode for Flood {
    type Command = Originate;

    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]) {
        let Some((kind, key)) = decode(msg) else {
            return;
        };
        match kind {
            RUMOUR => {
                self.out.push_back(Transmit {
                    to: from,
                    payload: encode(ACK, key),
                });
                // The sender has it: no need to send it back.
                self.settle(from, key);
                if !self.seen.contains_key(&key) {
                    self.learn(now, Some(from), key);
                }
            }
            ACK => self.settle(from, key),
            _ => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(deadline, to, key)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.remove(&(deadline, to, key));
            let Some((_, tries)) = self.pending.remove(&(to, key)) else {
                continue;
            };
            if tries < MAX_TRIES {
                self.send(now, to, key, tries + 1);
            } else {
                self.gave_up += 1;
            }
        }
    }

    fn handle_command(&mut self, now: Instant, _: Originate) {
        let key = (self.id.0, self.next_seq);
        self.next_seq += 1;
        self.learn(now, None, key);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(d, _, _)| d)
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
}

struct Scenario {
    topology: Topology,
    link: LinkConfig,
    origins: Vec<NodeId>,
    cut: Vec<NodeId>,
    cut_window: (Instant, Instant),
    down: NodeId,
    down_window: (Instant, Instant),
}

fn nodes(t: &Topology) -> Vec<Flood> {
    (0..t.node_count())
        .map(|i| {
            let id = NodeId::from_index(i);
            Flood::new(id, t.neighbours(id).to_vec())
        })
        .collect()
}

fn run(s: &Scenario, config: SimConfig, label: &str) -> Result<Sim<Flood>, String> {
    let mut sim = Sim::with_topology(config, nodes(&s.topology), &s.topology, s.link)
        .map_err(|e| e.to_string())?;
    let cut = Partition::Cut(s.cut.clone());
    sim.schedule_partition(s.cut_window.0, cut.clone())
        .and_then(|()| sim.schedule_heal(s.cut_window.1, cut))
        .and_then(|()| sim.schedule_node_down(s.down_window.0, s.down))
        .and_then(|()| sim.schedule_node_up(s.down_window.1, s.down))
        .map_err(|e| e.to_string())?;
    // Origins start 1 ms apart.
    for (i, &o) in s.origins.iter().enumerate() {
        sim.run_until(Instant::from_millis(i as u64))
            .map_err(|e| e.to_string())?;
        if !sim.is_down(o) {
            sim.command(o, Originate).map_err(|e| e.to_string())?;
        }
    }
    // Until quiet (the condition never holds), with progress on stderr.
    let mut progress = cli::Progress::new();
    sim.run_until_condition(50_000_000, |sim| {
        progress.tick(|| {
            let s = sim.stats();
            format!(
                "{label}: virtual time {}, {} steps, {} messages in flight",
                s.now, s.steps, s.in_flight
            )
        });
        false
    })
    .map_err(|e| e.to_string())?;
    progress.finish();
    Ok(sim)
}

fn pct(x: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * x as f64 / of as f64
    }
}

/// Reliable flooding over a real topology in the deterministic simulator:
/// every hop acknowledged and retransmitted, through a partition and a node
/// outage; then a same-seed determinism check and a trace replay.
#[derive(Parser, Debug)]
#[command(name = "overlay_sim")]
struct Args {
    /// Edge list of the topology (one `a b` pair per line, `#` comments).
    #[arg(default_value_os_t = default_topology())]
    edgelist: PathBuf,
    /// Seed of the simulator (link faults, jitter).
    #[arg(default_value_t = 1)]
    seed: u64,
}

fn default_topology() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/topologies/zoo-Geant2012.txt")
}

fn main() -> ExitCode {
    let Args {
        edgelist: path,
        seed,
    } = cli::parse();
    let topology = match Topology::from_file(&path) {
        Ok(t) => t,
        Err(e) => cli::fail(e),
    };
    let n = topology.node_count();
    if n < 2 {
        cli::fail(format_args!("{}: need at least 2 nodes", path.display()));
    }
    let large = n > LARGE;
    let origin_count = if large { 8 } else { n.min(200) };
    let origins: Vec<NodeId> = (0..origin_count)
        .map(|i| NodeId::from_index(i * n / origin_count))
        .collect();
    let link = LinkConfig::default()
        .with_latency(Duration::from_millis(2), Duration::from_millis(20))
        .with_loss_ppm(20_000)
        .with_duplicate_ppm(10_000)
        .with_reorder_ppm(50_000)
        .with_mtu(1_280);
    let scenario = Scenario {
        cut: (0..n.div_ceil(10)).map(NodeId::from_index).collect(),
        cut_window: (Instant::from_millis(50), Instant::from_millis(250)),
        down: NodeId::from_index(n / 2),
        down_window: (Instant::from_millis(100), Instant::from_millis(400)),
        topology,
        link,
        origins,
    };
    let components = scenario.topology.components();
    let component_of: HashMap<NodeId, usize> = components
        .iter()
        .enumerate()
        .flat_map(|(c, nodes)| nodes.iter().map(move |&n| (n, c)))
        .collect();
    let max_degree = (0..n)
        .map(|i| scenario.topology.degree(NodeId::from_index(i)))
        .max()
        .unwrap_or(0);

    println!("overlay_sim: reliable flooding in the deterministic simulator");
    println!(
        "topology   {}: {} nodes, {} links, {} component(s), max degree {}",
        path.display(),
        n,
        scenario.topology.edge_count(),
        components.len(),
        max_degree
    );
    println!(
        "links      latency 2-20 ms, loss 2.0 %, duplicate 1.0 %, reorder 5.0 % (hold-back <= 20 ms), MTU 1280"
    );
    println!(
        "faults     nodes 0-{} cut off over [50, 250) ms; node {} down over [100, 400) ms",
        scenario.cut.len() - 1,
        scenario.down.0
    );
    println!(
        "workload   {} origins flood one rumour each (1 ms apart); per-hop ack, retransmit {}-{} ms backoff, {} tries; seed {}",
        scenario.origins.len(),
        RTO.as_millis(),
        MAX_RTO.as_millis(),
        MAX_TRIES,
        seed
    );

    let config = SimConfig {
        record_trace: !large,
        ..SimConfig::with_seed(seed)
    };
    let wall = std::time::Instant::now();
    let sim = match run(&scenario, config, "run") {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("run failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let wall_run = wall.elapsed();
    let s: RunStats = sim.stats();

    // Coverage: each rumour should reach every node of its origin's component.
    let mut reached = 0u64;
    let mut possible = 0u64;
    let mut latencies = Vec::new();
    for (i, &o) in scenario.origins.iter().enumerate() {
        let key = (o.0, 0);
        // An origin that was down at its start time originated nothing.
        let originated = sim.node(o).is_some_and(|node| node.next_seq > 0);
        let Some(&c) = component_of.get(&o).filter(|_| originated) else {
            continue;
        };
        let start = Instant::from_millis(i as u64);
        possible += components[c].len() as u64;
        for &m in &components[c] {
            if let Some(&t) = sim.node(m).and_then(|node| node.seen.get(&key)) {
                reached += 1;
                latencies.push((t - start).as_micros());
            }
        }
    }
    latencies.sort_unstable();
    let gave_up: u64 = sim.nodes().iter().map(|n| n.gave_up).sum();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, |&us| us as f64 / 1_000.0)
    };
    println!(
        "coverage   {reached}/{possible} (node, rumour) pairs ({:.2} %); first receipt p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {gave_up} sends given up",
        pct(reached, possible),
        quantile(0.5),
        quantile(0.99),
        quantile(1.0),
    );
    println!(
        "messages   sent {}, delivered {}, dropped {} (loss {}, partition {}, node down {}, no link {}, mtu {}), duplicated {}, held back {}",
        s.sent,
        s.delivered,
        s.dropped(),
        s.dropped_loss,
        s.dropped_partition,
        s.dropped_node_down,
        s.dropped_no_link,
        s.dropped_mtu,
        s.duplicated,
        s.reordered
    );
    println!(
        "run        virtual time {}, {} steps ({} timeouts, {} commands), wall {:.1} ms",
        s.now,
        s.steps,
        s.timeouts,
        s.commands,
        wall_run.as_secs_f64() * 1e3
    );
    let digest: TraceDigest = sim.trace_digest();
    println!(
        "trace      {} entries kept, digest {digest}",
        sim.trace().len()
    );

    // Determinism: same seed, same trace digest.
    let mut ok = true;
    let rerun = match run(
        &scenario,
        SimConfig {
            record_trace: false,
            ..config
        },
        "rerun",
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rerun failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let same = rerun.trace_digest() == digest && rerun.stats() == s;
    ok &= same;
    println!(
        "rerun      same seed: digest {}",
        if same { "identical" } else { "DIFFERENT" }
    );
    // Replay the recorded inputs into fresh nodes.
    if sim.trace().is_empty() {
        println!("replay     skipped: trace not kept for graphs over {LARGE} nodes");
    } else {
        let mut fresh = nodes(&scenario.topology);
        match replay(sim.trace(), &mut fresh) {
            Ok(k) => {
                let same_state = fresh
                    .iter()
                    .zip(sim.nodes())
                    .all(|(a, b)| a.seen == b.seen && a.pending == b.pending);
                ok &= same_state;
                println!(
                    "replay     {k} entries into fresh nodes: every output identical, final state {}",
                    if same_state { "identical" } else { "DIFFERENT" }
                );
            }
            Err(e) => {
                ok = false;
                println!("replay     FAILED: {e}");
            }
        }
    }
    let unreached: HashSet<u32> = (0..n as u32)
        .filter(|&i| {
            component_of.get(&NodeId(i)).is_some_and(|&c| {
                scenario
                    .origins
                    .iter()
                    .any(|o| component_of.get(o) == Some(&c))
            }) && sim.node(NodeId(i)).is_some_and(|node| node.seen.is_empty())
        })
        .collect();
    if !unreached.is_empty() {
        println!("note       {} nodes heard no rumour", unreached.len());
    }
    println!("wall total {:.1} ms", wall.elapsed().as_secs_f64() * 1e3);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
