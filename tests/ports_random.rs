//! Seeded randomized runs over 3–6 nodes checked against a reference model.
//!
//! Operations: local and cross-node pairs, sends with attached ports (ends
//! travel back and forth and through chains of nodes), reads, closes,
//! merges (local and remote), node losses, all interleaved with delivery
//! over the simulator (`ports_common`): the seed picks the operations, the
//! per-link latency ranges and every message's latency, hence the delivery
//! order across links (each link is FIFO). The model tracks every route end and every message:
//!
//! * on a route no node loss could touch, every message sent while both
//!   ends stay open arrives exactly once and in order, and the ports it
//!   carries are usable (they are used by later operations);
//! * on any route, messages arrive in order without duplicates;
//! * at the end every end is closed and every live node is empty: no port,
//!   no proxy, no held event, no queued message; no protocol error was
//!   reported by an honest node; no output was dropped.
//!
//! Environment: `PORTS_SEED` (first seed, default 0) and `PORTS_RUNS`
//! (default 2500) choose the seeds; `PORTS_VERBOSE` prints the operations,
//! `PORTS_TRACE` every delivered event, `PORTS_STATS` the simulator counters
//! of each run (with `--nocapture`); `PORTS_DUMP` the model's ends and
//! routes before the final checks; `PORTS_REORDER_PPM` makes the links
//! reorder and `PORTS_SIM_SALT` re-draws a seed's latencies (exploration
//! only, see `ports_common`).
#![cfg(feature = "sim")]

mod ports_common;

use std::collections::{BTreeSet, VecDeque};

use hyperport::ports::{GetMessageError, PortName, SendError};
use ports_common::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Loc {
    At(usize, PortName),
    InTransit,
    Gone,
}

#[derive(Debug)]
struct End {
    route: usize,
    loc: Loc,
    closed: bool,
    sent: u32,
    /// Highest message number read from the conjugate.
    read: u32,
    /// Messages the conjugate sent to this end, not yet read: (k, attached).
    incoming: VecDeque<(u32, Vec<usize>)>,
}

#[derive(Debug)]
struct Route {
    ends: [usize; 2],
    lossy: bool,
    nodes: BTreeSet<usize>,
}

struct Model {
    ends: Vec<End>,
    routes: Vec<Route>,
}

impl Model {
    fn conj(&self, e: usize) -> usize {
        let r = &self.routes[self.ends[e].route];
        if r.ends[0] == e { r.ends[1] } else { r.ends[0] }
    }

    fn new_route(&mut self, a: Loc, b: Loc, nodes: &[usize]) -> (usize, usize) {
        let r = self.routes.len();
        let ea = self.ends.len();
        for loc in [a, b] {
            self.ends.push(End {
                route: r,
                loc,
                closed: false,
                sent: 0,
                read: 0,
                incoming: VecDeque::new(),
            });
        }
        self.routes.push(Route {
            ends: [ea, ea + 1],
            lossy: false,
            nodes: nodes.iter().copied().collect(),
        });
        (ea, ea + 1)
    }

    /// End `e` is closed (by the user or because its carrier was discarded):
    /// everything queued for it is discarded, closing the ends it carried.
    fn close_end(&mut self, e: usize) {
        let mut work = vec![e];
        while let Some(e) = work.pop() {
            if self.ends[e].closed {
                continue;
            }
            self.ends[e].closed = true;
            self.ends[e].loc = Loc::Gone;
            for (_, att) in std::mem::take(&mut self.ends[e].incoming) {
                work.extend(att);
            }
        }
    }

    fn mark_lossy(&mut self, r: usize) {
        let mut work = vec![r];
        while let Some(r) = work.pop() {
            if self.routes[r].lossy {
                continue;
            }
            self.routes[r].lossy = true;
            for e in self.routes[r].ends {
                for (_, att) in &self.ends[e].incoming {
                    for a in att {
                        work.push(self.ends[*a].route);
                    }
                }
            }
        }
    }

    fn held_ends(&self, node: usize) -> Vec<usize> {
        (0..self.ends.len())
            .filter(|&e| matches!(self.ends[e].loc, Loc::At(n, _) if n == node))
            .filter(|&e| !self.ends[e].closed)
            .collect()
    }
}

fn encode(sender: usize, k: u32, att: &[usize]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(sender as u32).to_le_bytes());
    v.extend_from_slice(&k.to_le_bytes());
    for a in att {
        v.extend_from_slice(&(*a as u32).to_le_bytes());
    }
    v
}

fn decode(b: &[u8]) -> (usize, u32, Vec<usize>) {
    let w: Vec<u32> = b
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (
        w[0] as usize,
        w[1],
        w[2..].iter().map(|x| *x as usize).collect(),
    )
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

/// Reads everything readable at end `e`, checking it against the model.
fn read_all(net: &mut Net, m: &mut Model, e: usize, seed: u64) {
    loop {
        let Loc::At(node, port) = m.ends[e].loc else {
            return;
        };
        if m.ends[e].closed || net.is_dead(node) {
            return;
        }
        let got = net.with(node, |n| n.get_message(port));
        let msg = match got {
            Ok(Some(msg)) => msg,
            Ok(None) => return,
            Err(GetMessageError::PeerClosed) => return,
            Err(err) => panic!("seed {seed}: get_message on end {e}: {err}"),
        };
        let (sender, k, att) = decode(&msg.payload);
        assert_eq!(sender, m.conj(e), "seed {seed}: message from a stranger");
        let lossy = m.routes[m.ends[e].route].lossy;
        if lossy {
            assert!(k > m.ends[e].read, "seed {seed}: duplicate or reordered");
        } else {
            assert_eq!(
                k,
                m.ends[e].read + 1,
                "seed {seed}: gap or reorder on end {e}"
            );
        }
        m.ends[e].read = k;
        // Pop the model entry (earlier ones were lost if the route is lossy).
        while let Some((kk, a)) = m.ends[e].incoming.pop_front() {
            if kk == k {
                assert_eq!(a, att, "seed {seed}");
                break;
            }
            assert!(lossy, "seed {seed}: message {kk} skipped");
            for x in a {
                // Lost together with its carrier.
                if m.ends[x].loc == Loc::InTransit {
                    m.ends[x].loc = Loc::Gone;
                    m.ends[x].closed = true;
                }
            }
        }
        assert_eq!(
            att.len(),
            msg.ports.len(),
            "seed {seed}: attached ports lost"
        );
        if std::env::var("PORTS_VERBOSE").is_ok() {
            eprintln!("read end {e} at {node}:{port} k {k} ports {:?}", msg.ports);
        }
        // A carried end travelled with its message through every proxy of
        // the carrier's receiving end, each of which left a proxy of the
        // carried port behind on its node: its route now depends on all the
        // nodes the carrier's route has touched (a superset, conservative).
        let via = m.routes[m.ends[e].route].nodes.clone();
        for (x, p) in att.iter().zip(msg.ports.iter()) {
            m.ends[*x].loc = Loc::At(node, *p);
            let r = m.ends[*x].route;
            m.routes[r].nodes.insert(node);
            m.routes[r].nodes.extend(via.iter().copied());
        }
    }
}

/// One seeded run; returns the simulator's trace digest.
fn run(seed: u64, ops: usize) -> [u8; 32] {
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let nodes = 3 + rng.below(4);
    // Odd seeds run Chromium's bypass (ObserveProxy around the route), even
    // seeds the direct bypass extension.
    let cfg = hyperport::ports::Config {
        direct_bypass: seed % 2 == 0,
        // Exploration only: PORTS_WINDOW overrides the send window
        // (default: the crate default, 16).
        send_window: std::env::var("PORTS_WINDOW")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(hyperport::ports::Config::default().send_window),
        ..config()
    };
    let mut net = Net::with_config(nodes, seed, cfg);
    let mut m = Model {
        ends: Vec::new(),
        routes: Vec::new(),
    };
    let mut losses = 0;
    for _ in 0..ops {
        let alive: Vec<usize> = net.alive().collect();
        let live_ends: Vec<usize> = (0..m.ends.len())
            .filter(|&e| !m.ends[e].closed && matches!(m.ends[e].loc, Loc::At(..)))
            .collect();
        let total_ports: usize = alive.iter().map(|&i| net.node(i).port_count()).sum();
        let op = rng.below(100);
        if std::env::var("PORTS_VERBOSE").is_ok() {
            eprintln!("op {op}");
        }
        match op {
            0..=9 if total_ports < 40 * alive.len() / 2 => {
                let i = alive[rng.below(alive.len())];
                let j = alive[rng.below(alive.len())];
                if i == j {
                    let (a, b) = net.with(i, |n| n.create_port_pair()).unwrap();
                    m.new_route(Loc::At(i, a), Loc::At(i, b), &[i]);
                } else {
                    let (a, b) = net.cross_pair(i, j);
                    m.new_route(Loc::At(i, a), Loc::At(j, b), &[i, j]);
                }
            }
            10..=13 if total_ports < 40 * alive.len() / 2 => {
                // Merge: a↔b on i, c↔d on j, merge b with c → a↔d.
                let i = alive[rng.below(alive.len())];
                let j = alive[rng.below(alive.len())];
                let (a, b) = net.with(i, |n| n.create_port_pair()).unwrap();
                let (c, d) = net.with(j, |n| n.create_port_pair()).unwrap();
                if std::env::var("PORTS_VERBOSE").is_ok() {
                    eprintln!("merge {i}:{a} {i}:{b} {j}:{c} {j}:{d}");
                }
                if i == j {
                    net.with(i, |n| n.merge_local_ports(b, c)).unwrap();
                } else {
                    net.with(j, |n| n.allow_merge(c, Some(Net::name(i))))
                        .unwrap();
                    net.with(i, |n| n.merge_ports(b, Net::name(j), c)).unwrap();
                }
                m.new_route(Loc::At(i, a), Loc::At(j, d), &[i, j]);
            }
            14..=19 if !live_ends.is_empty() && cfg.direct_bypass => {
                // A burst: up to 56 plain messages in one go, more than the
                // send window (16), so a bypass in progress makes the sender
                // wait (and WouldBlock past the waiting room). Bounded by
                // what the receiver has not read yet (a queue holds 64).
                // Only with the direct bypass: in Chromium's mode there is
                // no window (a Chromium peer never confirms), and a burst
                // during a bypass can exceed the hold bound, as in Chromium
                // (see Config::send_window).
                let e = live_ends[rng.below(live_ends.len())];
                let Loc::At(node, port) = m.ends[e].loc else {
                    unreachable!()
                };
                let c = m.conj(e);
                let n = 17 + rng.below(40);
                // The receiving node's message pool (`MSGS` = 192) is shared
                // by all its ports: an application that sends more than a
                // node has room for loses messages there, reported as
                // QueueFull against the sender (seed 44196 did, with several
                // bursts unread at one node). Bursts keep every node's
                // unread total under half the pool.
                let unread_at = |m: &Model, node: usize| -> u32 {
                    (0..m.ends.len())
                        .filter(|&x| matches!(m.ends[x].loc, Loc::At(n, _) if n == node))
                        .map(|x| m.ends[m.conj(x)].sent.saturating_sub(m.ends[x].read))
                        .sum()
                };
                let receiver = match m.ends[c].loc {
                    Loc::At(cn, _) => Some(cn),
                    _ => None,
                };
                for _ in 0..n {
                    // Unread (in flight, queued, or lost to a closed
                    // end) stays below the queue bound of any port on
                    // the way (64), with room for single sends.
                    if m.ends[e].sent.saturating_sub(m.ends[c].read) >= 30 {
                        break;
                    }
                    if receiver.is_none_or(|cn| unread_at(&m, cn) >= 96) {
                        break;
                    }
                    let k = m.ends[e].sent + 1;
                    let r = net.with(node, |n| {
                        n.send_user_message(port, pl(&encode(e, k, &[])), &[])
                    });
                    match r {
                        Ok(()) => {
                            m.ends[e].sent = k;
                            if !m.ends[c].closed {
                                m.ends[c].incoming.push_back((k, Vec::new()));
                            }
                        }
                        Err(SendError::WouldBlock) => break,
                        Err(SendError::PeerClosed) => {
                            assert!(
                                m.ends[c].closed || m.routes[m.ends[e].route].lossy,
                                "seed {seed}: PeerClosed on a live route"
                            );
                            break;
                        }
                        Err(err) => panic!("seed {seed}: burst send: {err}"),
                    }
                }
                if net.with(node, |n| n.waiting_count()) > 0 {
                    WINDOW_FULL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            20..=59 if !live_ends.is_empty() => {
                let e = live_ends[rng.below(live_ends.len())];
                let Loc::At(node, port) = m.ends[e].loc else {
                    unreachable!()
                };
                let mut att = Vec::new();
                if rng.chance(40) {
                    let cands: Vec<usize> = m
                        .held_ends(node)
                        .into_iter()
                        .filter(|&x| m.ends[x].route != m.ends[e].route)
                        // Never attach an end whose route already carries
                        // ports: two routes carrying each other's ends chase
                        // each other forever (as in Mojo); users cannot
                        // reach them, so the model avoids building them.
                        .filter(|&x| {
                            m.routes[m.ends[x].route]
                                .ends
                                .iter()
                                .all(|y| m.ends[*y].incoming.iter().all(|(_, a)| a.is_empty()))
                        })
                        .collect();
                    if !cands.is_empty() {
                        att.push(cands[rng.below(cands.len())]);
                    }
                }
                let k = m.ends[e].sent + 1;
                let names: Vec<PortName> = att
                    .iter()
                    .map(|x| match m.ends[*x].loc {
                        Loc::At(_, p) => p,
                        _ => unreachable!(),
                    })
                    .collect();
                let r = net.with(node, |n| {
                    n.send_user_message(port, pl(&encode(e, k, &att)), &names)
                });
                let c = m.conj(e);
                if std::env::var("PORTS_VERBOSE").is_ok() {
                    eprintln!("send end {e} at {node}:{port} att {names:?} -> {r:?}");
                }
                match r {
                    Ok(()) => {
                        m.ends[e].sent = k;
                        if m.ends[c].closed {
                            for x in &att {
                                m.close_end(*x);
                            }
                        } else {
                            m.ends[c].incoming.push_back((k, att.clone()));
                            for x in &att {
                                m.ends[*x].loc = Loc::InTransit;
                            }
                            if m.routes[m.ends[e].route].lossy {
                                for x in &att {
                                    let rx = m.ends[*x].route;
                                    m.mark_lossy(rx);
                                }
                            }
                        }
                    }
                    Err(SendError::PeerClosed) => {
                        assert!(
                            m.ends[c].closed || m.routes[m.ends[e].route].lossy,
                            "seed {seed}: PeerClosed on a live route"
                        );
                        for x in &att {
                            m.close_end(*x);
                        }
                    }
                    // Nothing changed: the attached ends stay here.
                    Err(SendError::WouldBlock) => {}
                    Err(err) => panic!("seed {seed}: send: {err}"),
                }
            }
            60..=79 if !live_ends.is_empty() => {
                let e = live_ends[rng.below(live_ends.len())];
                read_all(&mut net, &mut m, e, seed);
            }
            80..=86 if !live_ends.is_empty() => {
                let e = live_ends[rng.below(live_ends.len())];
                let Loc::At(node, port) = m.ends[e].loc else {
                    unreachable!()
                };
                net.with(node, |n| n.close_port(port)).unwrap();
                if std::env::var("PORTS_VERBOSE").is_ok() {
                    eprintln!("close end {e} at {node}:{port}");
                }
                m.close_end(e);
            }
            87 if losses < 2 && alive.len() > 2 && rng.chance(60) => {
                losses += 1;
                let l = alive[rng.below(alive.len())];
                net.remove_node(l);
                if std::env::var("PORTS_VERBOSE").is_ok() {
                    eprintln!("remove node {l}");
                }
                for r in 0..m.routes.len() {
                    if m.routes[r].nodes.contains(&l) {
                        m.mark_lossy(r);
                    }
                }
                for e in 0..m.ends.len() {
                    if matches!(m.ends[e].loc, Loc::At(n, _) if n == l) {
                        m.ends[e].loc = Loc::Gone;
                        m.ends[e].closed = true;
                    }
                }
            }
            _ => {
                let steps = rng.below(30);
                for _ in 0..steps {
                    if !net.deliver_one() {
                        break;
                    }
                }
            }
        }
    }
    // Drain: deliver everything, read everything (materializing carried
    // ends), until nothing changes.
    for _ in 0..50 {
        net.run_until_idle(200_000);
        let before: Vec<u32> = m.ends.iter().map(|e| e.read).collect();
        for e in 0..m.ends.len() {
            read_all(&mut net, &mut m, e, seed);
        }
        if m.ends.iter().map(|e| e.read).collect::<Vec<_>>() == before {
            break;
        }
    }
    // Exactly-once on routes no loss touched, with both ends still open.
    if std::env::var("PORTS_DUMP").is_ok() {
        for i in 0..nodes {
            let (w, h, ports) = net.with(i, |n| {
                (
                    n.waiting_count(),
                    n.held_count(),
                    n.ports().collect::<Vec<_>>(),
                )
            });
            eprintln!("DUMP node {i}: waiting {w} held {h} ports {ports:?}");
        }
        for (i, e) in m.ends.iter().enumerate() {
            eprintln!("DUMP end {i}: {:?} route {:?}", e, m.routes[e.route]);
        }
    }
    for r in &m.routes {
        if r.lossy {
            continue;
        }
        let [a, b] = r.ends;
        if m.ends[a].closed || m.ends[b].closed {
            continue;
        }
        assert_eq!(
            m.ends[b].read, m.ends[a].sent,
            "seed {seed}: messages lost a→b (ends {a} {:?}, {b} {:?})",
            m.ends[a], m.ends[b]
        );
        assert_eq!(
            m.ends[a].read, m.ends[b].sent,
            "seed {seed}: messages lost b→a (ends {a} {:?}, {b} {:?})",
            m.ends[a], m.ends[b]
        );
        assert!(m.ends[a].incoming.is_empty() && m.ends[b].incoming.is_empty());
    }
    // Close everything and check that nothing leaks.
    for e in 0..m.ends.len() {
        if let Loc::At(node, port) = m.ends[e].loc
            && !m.ends[e].closed
            && !net.is_dead(node)
        {
            net.with(node, |n| n.close_port(port)).unwrap();
            m.close_end(e);
        }
    }
    net.run_until_idle(200_000);
    for i in net.alive().collect::<Vec<_>>() {
        if net.node(i).port_count() != 0 && std::env::var("PORTS_VERBOSE").is_ok() {
            for (k, e) in m.ends.iter().enumerate() {
                eprintln!("end {k}: {e:?} route {:?}", m.routes[e.route]);
            }
        }
        let n = net.node(i);
        assert_eq!(
            n.port_count(),
            0,
            "seed {seed}: node {i} leaks {:?}",
            n.ports().collect::<Vec<_>>()
        );
        assert_eq!(n.held_count(), 0, "seed {seed}: node {i} holds events");
        assert_eq!(n.queued_count(), 0, "seed {seed}: node {i} queues messages");
        assert_eq!(n.waiting_count(), 0, "seed {seed}: node {i} waits to send");
        assert_eq!(n.stats().dropped_outputs, 0, "seed {seed}");
    }
    assert!(net.errors().is_empty(), "seed {seed}: {:?}", net.errors());
    if std::env::var("PORTS_STATS").is_ok() {
        eprintln!("seed {seed}: {:?}", net.sim.stats());
    }
    net.sim.trace_digest().0
}

/// Bursts that found the sender's window full (messages waiting): the
/// generator really drives more than a window during a bypass.
static WINDOW_FULL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn random_runs() {
    let base: u64 = std::env::var("PORTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let runs: u64 = std::env::var("PORTS_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2500);
    // Failing seeds found by sweeps (PORTS_SEED / PORTS_RUNS) become named
    // regression tests (`seed_*` below).
    for seed in base..base + runs {
        if std::env::var("PORTS_VERBOSE").is_ok() {
            eprintln!("seed {seed}");
        }
        run(seed, 40 + (seed % 100) as usize);
    }
    let full = WINDOW_FULL.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("bursts that filled a send window: {full}");
    if runs >= 2500 {
        assert!(full > 0, "no burst ever filled a send window");
    }
}

/// Regression (sweep of seeds 2500..15000): a burst on a route local to
/// node 1 filled the node's message pool (`MSGS`) while other local routes
/// held unread messages; the last message was dropped when the local queue
/// was drained, as a violation of node 1 against itself, hence silently
/// (`send_user_message` had returned `Ok`). Now the send is refused with
/// `WouldBlock`.
#[test]
fn seed_14288_local_send_into_a_full_message_pool() {
    run(14288, 40 + (14288 % 100) as usize);
}

/// Regression (sweep of seeds 6000..15000): a receiving port whose peer's
/// node was lost refused a message still in flight from its (live)
/// previous peer, then accepted that peer's ObserveClosure announcing the
/// message, and was sent on: the new port and every proxy towards it waited
/// for the dropped message forever (a proxy leaked). A port whose peer is
/// lost now keeps its last sequence number at what it holds.
#[test]
fn seed_6998_closure_after_peer_loss_promises_no_dropped_message() {
    run(6998, 40 + (6998 % 100) as usize);
}

/// Regression (sweep of seeds 6000..15000): a port's hold bound counted
/// the held events of every sender together; a full window from one node
/// plus one early ObserveClosure from another node's port (re-pointed by a
/// merge) exceeded it, and the honest node was reported. The bound now
/// counts per sending node, the granularity of the sender's window. (The
/// seed's schedule has since changed; the mechanism's own test is
/// `ports_hardening::held_per_port_bound_counts_each_sending_node_separately`.)
#[test]
fn seed_12192_one_nodes_window_plus_another_nodes_event() {
    run(12192, 40 + (12192 % 100) as usize);
}

/// Regression (sweep of seeds 15000..40000), a defect of the reference
/// model, not of the node: a port carried in a message that a proxy on node
/// 2 forwarded to node 3 left a proxy of its own on node 2. Node 2's loss
/// broke that route, but the model only knew the nodes where ends had been
/// read, so it expected the route's messages (and a port they carried) to
/// arrive. A carried end's route now includes the carrier route's nodes.
#[test]
fn seed_16188_route_through_a_proxy_on_a_lost_node_is_lossy() {
    run(16188, 40 + (16188 % 100) as usize);
}

/// Regression (sweep of seeds 16189..40000): a port moved to another node
/// sent a burst to its peer before the proxy it replaced had named it
/// there; the peer held the burst and its hold bound dropped the rest
/// (reported against the honest sender, and a proxy leaked). A moved port
/// now starts with the same send window as a bypassed one, confirmed when
/// its peer processes its first event. (Targeted tests:
/// `ports_flow::burst_from_a_moved_port_before_its_peer_knows_it` and
/// `..._is_confirmed_on_its_first_event`.)
#[test]
fn seed_21390_burst_from_a_moved_port_is_windowed() {
    run(21390, 40 + (21390 % 100) as usize);
}

/// Same mechanism, the moved port's peer on the same node: seed 2158 lost
/// a burst to a local peer's hold bound in an intermediate version that
/// windowed only ports moved across nodes.
#[test]
fn seed_2158_burst_from_a_moved_port_to_a_local_peer() {
    run(2158, 40 + (2158 % 100) as usize);
}

/// Regression (an intermediate version of the moved-port window): a moved
/// port's first event waited because two other ports of its node had used
/// the node-wide window towards the same node; when their confirmations
/// freed it nothing re-offered the waiting event, and the route stalled
/// (two proxies leaked). Freed windows now re-offer waiting events.
/// (Targeted test: `ports_flow::a_freed_window_is_offered_to_another_ports_waiting_message`.)
#[test]
fn seed_9862_freed_window_releases_other_ports_waiting_events() {
    run(9862, 40 + (9862 % 100) as usize);
}

/// Regression (sweep of seeds 40000..100000), a defect of the generator:
/// several bursts left more messages unread at node 0 than its message pool
/// (`MSGS` = 192) holds, and the node dropped one as QueueFull against the
/// sender. Bursts now keep each node's unread total under half the pool.
#[test]
fn seed_44196_bursts_respect_the_receiving_nodes_pool() {
    run(44196, 40 + (44196 % 100) as usize);
}

/// Regression (sweep of seeds 0..100000): a merge made a proxy whose peer
/// was on a node already lost; a message it forwarded there carried a port,
/// whose buffering proxy then waited for a PortAccepted that no node could
/// send (a leak). Sending to a lost node now ends the carried ports'
/// proxies, as dropping a waiting event already did.
#[test]
fn seed_62946_message_forwarded_to_a_lost_node_releases_its_carried_ports() {
    run(62946, 40 + (62946 % 100) as usize);
}

/// Regression (sweep of seeds 0..150000, an intermediate version): a moved
/// port, whose peer had closed, was closed while unconfirmed; its
/// ObserveClosure, the edge's first event, waited for room in the shared
/// window and, the port gone, was never re-offered: the node kept it for
/// ever. A gone port's first waiting event now goes when there is room.
#[test]
fn seed_103188_first_event_of_a_closed_unconfirmed_port_leaves() {
    run(103188, 40 + (103188 % 100) as usize);
}

/// Regression (sweep of seeds 0..300000): a port unconfirmed after a merge
/// had a full window held at its peer when it was moved; moving it cleared
/// its window before its UpdatePreviousPeer (the old edge's last event) was
/// gated, so that 17th event was held too and the honest node was reported.
/// The UpdatePreviousPeer now goes through the old edge's window.
#[test]
fn seed_187074_update_previous_peer_of_a_moved_port_respects_its_window() {
    run(187074, 40 + (187074 % 100) as usize);
}

/// Regression (sweep of seeds 0..400000; fails on the old code too): a
/// local sender's message, held by a peer on the same node during a bypass,
/// exceeded the per-node hold bound counted against the node itself and
/// was dropped after `send_user_message` had returned `Ok`. The per-port and
/// per-node bounds now apply to other nodes' events only (the pool still
/// bounds everything).
#[test]
fn seed_246260_local_held_events_are_not_refused_by_peer_bounds() {
    run(246260, 40 + (246260 % 100) as usize);
}

/// The seed alone decides a run: the same seed twice gives the same
/// simulator trace (every input and output of every node), a different
/// seed a different one.
#[test]
fn runs_are_reproducible_from_the_seed() {
    for seed in [3u64, 4, 77] {
        let ops = 40 + (seed % 100) as usize;
        assert_eq!(run(seed, ops), run(seed, ops), "seed {seed}");
    }
    assert_ne!(run(3, 60), run(5, 60));
}
