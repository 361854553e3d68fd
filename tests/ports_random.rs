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
        direct_bypass: seed.is_multiple_of(2),
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

// ---------------------------------------------------------------------------
// The issue #16 mix: 5 nodes, 300 operations, one link far slower than the
// rest, moves that cross and bounce, merges, closes, node losses; both modes.
// ---------------------------------------------------------------------------

/// Which bypass a mix run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The crate default: direct bypass, send windows, flow control.
    Default,
    /// `direct_bypass: false` (Chromium-compatible).
    Chromium,
}

/// Shape counters over all mix runs (to check that the generator really
/// produces the shapes it claims).
#[derive(Default, Debug)]
struct Shapes {
    moves: u64,
    crossing: u64,
    bounces: u64,
    merges: u64,
    closes: u64,
    losses: u64,
    would_block: u64,
    slow_steps: u64,
}

static SHAPES: std::sync::Mutex<Shapes> = std::sync::Mutex::new(Shapes {
    moves: 0,
    crossing: 0,
    bounces: 0,
    merges: 0,
    closes: 0,
    losses: 0,
    would_block: 0,
    slow_steps: 0,
});

struct Mix {
    net: Net,
    m: Model,
    rng: Rng,
    seed: u64,
    shapes: Shapes,
}

fn verbose() -> bool {
    std::env::var("PORTS_VERBOSE").is_ok()
}

impl Mix {
    fn live_ends(&self) -> Vec<usize> {
        (0..self.m.ends.len())
            .filter(|&e| !self.m.ends[e].closed)
            .filter(|&e| matches!(self.m.ends[e].loc, Loc::At(n, _) if !self.net.is_dead(n)))
            .collect()
    }

    /// Unread messages for every open end, wherever it is: each is queued
    /// at some node (at the end's port, at a proxy it left behind, or at a
    /// port in transit), so this bounds what any node's message pool holds
    /// (`MSGS` = 192 in the harness).
    fn unread(&self) -> u32 {
        let m = &self.m;
        (0..m.ends.len())
            .filter(|&x| !m.ends[x].closed)
            .map(|x| m.ends[m.conj(x)].sent.saturating_sub(m.ends[x].read))
            .sum()
    }

    /// Whether end `x` may be attached to a message: its route carries no
    /// ports (two routes carrying each other's ends chase each other for
    /// ever, as in Mojo; the model does not build them).
    fn movable(&self, x: usize) -> bool {
        let m = &self.m;
        m.routes[m.ends[x].route]
            .ends
            .iter()
            .all(|y| m.ends[*y].incoming.iter().all(|(_, a)| a.is_empty()))
    }

    /// A carrier for ends at `node`: a live end there whose conjugate is
    /// open and located on another live node, on a route other than
    /// `not_routes`.
    fn carrier(&mut self, node: usize, not_routes: &[usize]) -> Option<usize> {
        let cands: Vec<usize> = self
            .live_ends()
            .into_iter()
            .filter(|&c| matches!(self.m.ends[c].loc, Loc::At(n, _) if n == node))
            .filter(|&c| !not_routes.contains(&self.m.ends[c].route))
            .filter(|&c| {
                let cc = self.m.conj(c);
                !self.m.ends[cc].closed
                    && matches!(self.m.ends[cc].loc, Loc::At(n, _) if n != node && !self.net.is_dead(n))
            })
            .collect();
        if cands.is_empty() {
            None
        } else {
            Some(cands[self.rng.below(cands.len())])
        }
    }

    /// Sends message k from end `e` carrying `att`; updates the model.
    /// Returns whether it was sent.
    fn send(&mut self, e: usize, att: &[usize]) -> bool {
        let seed = self.seed;
        let Loc::At(node, port) = self.m.ends[e].loc else {
            return false;
        };
        let c = self.m.conj(e);
        // Keep every node's unread total inside its message pool: a node's
        // pool (`MSGS`) must hold what all its ports have unread (flow
        // control bounds each port to `max_queued_per_port`, not the node;
        // see `Config::flow_control`). An application that sends more than
        // the receiving node has room for loses messages there, reported
        // as QueueFull against the sender.
        // The model's count misses messages for ends closed meanwhile that
        // still wait at a port on the way (a merge target whose MergePort
        // crosses the slow link, say), so the nodes' own pools count too.
        let mut queued = 0;
        for i in 0..self.net.len() {
            if !self.net.is_dead(i) {
                queued = queued.max(self.net.node(i).queued_count());
            }
        }
        if self.unread() as usize + queued >= 180 {
            return false;
        }
        let names: Vec<PortName> = att
            .iter()
            .map(|x| match self.m.ends[*x].loc {
                Loc::At(_, p) => p,
                _ => unreachable!(),
            })
            .collect();
        let k = self.m.ends[e].sent + 1;
        let r = self.net.with(node, |n| {
            n.send_user_message(port, pl(&encode(e, k, att)), &names)
        });
        if verbose() {
            eprintln!("send end {e} k {k} at {node}:{port} att {att:?} -> {r:?}");
        }
        let m = &mut self.m;
        match r {
            Ok(()) => {
                m.ends[e].sent = k;
                if m.ends[c].closed {
                    for x in att {
                        m.close_end(*x);
                    }
                } else {
                    m.ends[c].incoming.push_back((k, att.to_vec()));
                    for x in att {
                        m.ends[*x].loc = Loc::InTransit;
                    }
                    if m.routes[m.ends[e].route].lossy {
                        for x in att {
                            let rx = m.ends[*x].route;
                            m.mark_lossy(rx);
                        }
                    }
                }
                if !att.is_empty() {
                    self.shapes.moves += 1;
                }
                true
            }
            Err(SendError::PeerClosed) => {
                assert!(
                    m.ends[c].closed || m.routes[m.ends[e].route].lossy,
                    "seed {seed}: PeerClosed on a live route (end {e})"
                );
                for x in att {
                    m.close_end(*x);
                }
                false
            }
            Err(SendError::WouldBlock) => {
                self.shapes.would_block += 1;
                false
            }
            Err(err) => panic!("seed {seed}: send from end {e}: {err}"),
        }
    }

    /// Moves end `x` (at the carrier's node) through carrier end `c`.
    fn move_via(&mut self, x: usize, c: usize) -> bool {
        self.movable(x) && self.send(c, &[x])
    }

    /// Delivers until end `x`, in transit, has arrived and been read out
    /// of its carrier (so it can move again); gives up after a while.
    fn arrive(&mut self, x: usize) -> bool {
        for _ in 0..400 {
            if let Some(r) = (0..self.m.ends.len())
                .find(|&r| self.m.ends[r].incoming.iter().any(|(_, a)| a.contains(&x)))
            {
                read_all(&mut self.net, &mut self.m, r, self.seed);
            }
            match self.m.ends[x].loc {
                Loc::At(..) => return !self.m.ends[x].closed,
                Loc::Gone => return false,
                Loc::InTransit => {}
            }
            if !self.net.deliver_one() {
                return false;
            }
        }
        false
    }

    fn lose_node(&mut self, l: usize) {
        self.net.remove_node(l);
        self.shapes.losses += 1;
        if verbose() {
            eprintln!("remove node {l}");
        }
        let m = &mut self.m;
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
}

/// One mix run: 5 nodes, `ops` operations, in `mode`. Panics on any broken
/// invariant (see [`random_mix`]).
fn mix_run(seed: u64, mode: Mode, ops: usize) {
    const NODES: usize = 5;
    let default = hyperport::ports::Config::default();
    let cfg = match mode {
        Mode::Default => default,
        // No send window in this mode (a Chromium peer never confirms):
        // what an honest sender can have held at one port is bounded only
        // by flow control (`max_queued_per_port` unacknowledged messages,
        // plus a few control events), so the hold bounds are sized above
        // it, as `Config::send_window` documents for this mode.
        Mode::Chromium => hyperport::ports::Config {
            direct_bypass: false,
            max_held_per_port: default.max_queued_per_port + 16,
            max_held_per_node: HELD / 2,
            ..default
        },
    };
    let mut net = Net::with_config(NODES, seed, cfg);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x6d69_7821 | 1);
    // One link far slower than the rest (the others: 0..=25 ms).
    let (sa, sb) = (rng.below(NODES), rng.below(NODES - 1));
    let sb = if sb >= sa { sb + 1 } else { sb };
    net.set_latency(
        sa,
        sb,
        hyperport::time::Duration::from_millis(150),
        hyperport::time::Duration::from_millis(400),
    );
    let mut x = Mix {
        net,
        m: Model {
            ends: Vec::new(),
            routes: Vec::new(),
        },
        rng,
        seed,
        shapes: Shapes::default(),
    };
    let mut losses = 0;
    for _ in 0..ops {
        let alive: Vec<usize> = x.net.alive().collect();
        let live = x.live_ends();
        let total_ports: usize = alive.iter().map(|&i| x.net.node(i).port_count()).sum();
        let room = total_ports < 20 * alive.len();
        let op = x.rng.below(100);
        match op {
            0..=7 if room => {
                let i = alive[x.rng.below(alive.len())];
                let j = alive[x.rng.below(alive.len())];
                if i == j {
                    let (a, b) = x.net.with(i, |n| n.create_port_pair()).unwrap();
                    x.m.new_route(Loc::At(i, a), Loc::At(i, b), &[i]);
                } else {
                    let (a, b) = x.net.cross_pair(i, j);
                    x.m.new_route(Loc::At(i, a), Loc::At(j, b), &[i, j]);
                }
            }
            8..=11 if room => {
                let i = alive[x.rng.below(alive.len())];
                let j = alive[x.rng.below(alive.len())];
                let (a, b) = x.net.with(i, |n| n.create_port_pair()).unwrap();
                let (c, d) = x.net.with(j, |n| n.create_port_pair()).unwrap();
                if verbose() {
                    eprintln!("merge {i}:{a} {i}:{b} with {j}:{c} {j}:{d}");
                }
                if i == j {
                    x.net.with(i, |n| n.merge_local_ports(b, c)).unwrap();
                } else {
                    x.net
                        .with(j, |n| n.allow_merge(c, Some(Net::name(i))))
                        .unwrap();
                    x.net
                        .with(i, |n| n.merge_ports(b, Net::name(j), c))
                        .unwrap();
                }
                x.m.new_route(Loc::At(i, a), Loc::At(j, d), &[i, j]);
                x.shapes.merges += 1;
            }
            12..=16 if !live.is_empty() && mode == Mode::Default => {
                // A burst of 17..=56 messages (more than a send window).
                // Chromium mode has no window: a burst during a peer change
                // exceeds the hold bound there by design (Config::send_window).
                let e = live[x.rng.below(live.len())];
                let n = 17 + x.rng.below(40);
                for _ in 0..n {
                    if !x.send(e, &[]) {
                        break;
                    }
                }
            }
            17..=44 if !live.is_empty() => {
                // A message, sometimes carrying another end of its node.
                let e = live[x.rng.below(live.len())];
                let mut att = Vec::new();
                if x.rng.chance(40)
                    && let Loc::At(node, _) = x.m.ends[e].loc
                {
                    let route = x.m.ends[e].route;
                    let cands: Vec<usize> =
                        x.m.held_ends(node)
                            .into_iter()
                            .filter(|&y| x.m.ends[y].route != route && x.movable(y))
                            .collect();
                    if !cands.is_empty() {
                        att.push(cands[x.rng.below(cands.len())]);
                    }
                }
                x.send(e, &att);
            }
            45..=50 if !live.is_empty() => {
                // A bounce: an end moves to another node and back, once or
                // twice, sending a few messages at each stop.
                let e = live[x.rng.below(live.len())];
                let times = 1 + x.rng.below(2);
                let route = x.m.ends[e].route;
                'bounce: for _ in 0..times {
                    for _leg in 0..2 {
                        let Loc::At(node, _) = x.m.ends[e].loc else {
                            break 'bounce;
                        };
                        let Some(c) = x.carrier(node, &[route]) else {
                            break 'bounce;
                        };
                        if !x.move_via(e, c) || !x.arrive(e) {
                            break 'bounce;
                        }
                        for _ in 0..x.rng.below(12) {
                            x.send(e, &[]);
                        }
                    }
                    x.shapes.bounces += 1;
                }
            }
            51..=55 if !live.is_empty() => {
                // Crossing moves: both ends of one route leave at once.
                let e = live[x.rng.below(live.len())];
                let f = x.m.conj(e);
                let route = x.m.ends[e].route;
                let (Loc::At(ni, _), Loc::At(nk, _)) = (x.m.ends[e].loc, x.m.ends[f].loc) else {
                    continue;
                };
                if x.m.ends[f].closed || x.net.is_dead(nk) || !x.movable(e) {
                    continue;
                }
                let Some(c1) = x.carrier(ni, &[route]) else {
                    continue;
                };
                let r1 = x.m.ends[c1].route;
                let Some(c2) = x.carrier(nk, &[route, r1]) else {
                    continue;
                };
                if x.move_via(e, c1) && x.move_via(f, c2) {
                    x.shapes.crossing += 1;
                }
            }
            56..=73 if !live.is_empty() => {
                let e = live[x.rng.below(live.len())];
                read_all(&mut x.net, &mut x.m, e, seed);
            }
            74..=79 if !live.is_empty() => {
                let e = live[x.rng.below(live.len())];
                let Loc::At(node, port) = x.m.ends[e].loc else {
                    unreachable!()
                };
                x.net.with(node, |n| n.close_port(port)).unwrap();
                if verbose() {
                    eprintln!("close end {e} at {node}:{port}");
                }
                x.m.close_end(e);
                x.shapes.closes += 1;
            }
            80 if losses < 2 && alive.len() > 3 && x.rng.chance(50) => {
                losses += 1;
                let l = alive[x.rng.below(alive.len())];
                x.lose_node(l);
            }
            _ => {
                let steps = x.rng.below(30);
                for _ in 0..steps {
                    if !x.net.deliver_one() {
                        break;
                    }
                }
            }
        }
    }
    mix_settle_and_check(&mut x, mode);
    let mut s = SHAPES.lock().unwrap_or_else(|e| e.into_inner());
    s.moves += x.shapes.moves;
    s.crossing += x.shapes.crossing;
    s.bounces += x.shapes.bounces;
    s.merges += x.shapes.merges;
    s.closes += x.shapes.closes;
    s.losses += x.shapes.losses;
    s.would_block += x.shapes.would_block;
    s.slow_steps += x.net.sim.now().as_micros() / 1_000;
}

/// Drains the network and checks the invariants of [`random_mix`].
fn mix_settle_and_check(x: &mut Mix, mode: Mode) {
    let seed = x.seed;
    let at = format!("seed {seed} {mode:?}");
    for _ in 0..50 {
        x.net.run_until_idle(2_000_000);
        let before: Vec<u32> = x.m.ends.iter().map(|e| e.read).collect();
        for e in 0..x.m.ends.len() {
            read_all(&mut x.net, &mut x.m, e, seed);
        }
        if x.m.ends.iter().map(|e| e.read).collect::<Vec<_>>() == before {
            break;
        }
    }
    x.net.run_until_idle(2_000_000);
    // No honest node is ever named in a violation (all nodes are honest).
    if !x.net.errors().is_empty() {
        for i in 0..x.net.len() {
            let n = x.net.node(i);
            eprintln!(
                "{at}: node {i} queued {} ports {}",
                n.queued_count(),
                n.port_count()
            );
            for (p, _) in n.ports().collect::<Vec<_>>() {
                eprintln!("  {p} {:?}", n.inspect(p));
            }
        }
    }
    assert!(x.net.errors().is_empty(), "{at}: {:?}", x.net.errors());
    // Idle: no proxy, no held event, no waiting event, nothing dropped.
    let alive: Vec<usize> = x.net.alive().collect();
    let busy = alive.iter().any(|&i| {
        let n = x.net.node(i);
        n.held_count() + n.waiting_count() > 0
            || n.ports()
                .any(|(_, s)| s != hyperport::ports::PortState::Receiving)
    });
    if busy || std::env::var("PORTS_DUMP").is_ok() {
        for &i in &alive {
            let n = x.net.node(i);
            for (p, _) in n.ports() {
                eprintln!("{at}: node {i} port {p}: {:?}", n.inspect(p));
            }
            for (p, f, e) in n.held_events() {
                eprintln!("{at}: node {i} holds for {p} from {f}: {e:?}");
            }
            for (p, t, e) in n.waiting_events() {
                eprintln!("{at}: node {i} waits from {p} to {t}: {e:?}");
            }
        }
    }
    for i in alive {
        let n = x.net.node(i);
        let proxies: Vec<_> = n
            .ports()
            .filter(|(_, s)| *s != hyperport::ports::PortState::Receiving)
            .map(|(p, s)| (p, s, n.inspect(p)))
            .collect();
        assert!(proxies.is_empty(), "{at}: node {i} keeps {proxies:?}");
        let held: Vec<_> = n.held_events().map(|(p, f, e)| (p, f, e.clone())).collect();
        assert!(held.is_empty(), "{at}: node {i} holds {held:?}");
        let waiting: Vec<_> = n
            .waiting_events()
            .map(|(p, f, e)| (p, f, e.clone()))
            .collect();
        assert!(
            waiting.is_empty(),
            "{at}: node {i} waits to send {waiting:?}"
        );
        assert_eq!(n.stats().dropped_outputs, 0, "{at}");
    }
    // Every message on a live route arrived exactly once, in order.
    let m = &x.m;
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
            "{at}: lost a→b (ends {a} {b})"
        );
        assert_eq!(
            m.ends[a].read, m.ends[b].sent,
            "{at}: lost b→a (ends {a} {b})"
        );
        assert!(m.ends[a].incoming.is_empty() && m.ends[b].incoming.is_empty());
    }
    // Close everything: nothing leaks.
    for e in 0..x.m.ends.len() {
        if let Loc::At(node, port) = x.m.ends[e].loc
            && !x.m.ends[e].closed
            && !x.net.is_dead(node)
        {
            x.net.with(node, |n| n.close_port(port)).unwrap();
            x.m.close_end(e);
        }
    }
    x.net.run_until_idle(2_000_000);
    for i in x.net.alive().collect::<Vec<_>>() {
        let n = x.net.node(i);
        assert_eq!(
            n.port_count(),
            0,
            "{at}: node {i} leaks {:?}",
            n.ports().collect::<Vec<_>>()
        );
        assert_eq!(
            n.held_count() + n.waiting_count() + n.queued_count(),
            0,
            "{at}: node {i}"
        );
    }
    assert!(x.net.errors().is_empty(), "{at}: {:?}", x.net.errors());
}

/// The issue #16 randomized test. Each seed runs twice, in the default mode
/// and in the Chromium-compatible mode: 5 fully meshed nodes, 300
/// operations (pairs, merges local and remote, sends with and without an
/// attached end, bursts past the send window (default mode only), bounces
/// of an end to another node and back, crossing moves of both ends of a
/// route, reads, closes, up to two node losses, delivery steps), over FIFO
/// links with seeded latencies, one of them far slower (150–400 ms against
/// at most 25 ms). Invariants:
///
/// * every message on a route no node loss touched, with both ends open,
///   arrives exactly once and in order (and carried ends arrive usable);
/// * once the network is idle, no node keeps a proxy, a held event or a
///   waiting event; nothing was dropped from an output queue;
/// * no node reports a protocol violation (every node is honest);
/// * after closing every end, every node is empty.
///
/// `PORTS_MIX_SEED` (default 0) and `PORTS_MIX_RUNS` (default 400 in a
/// debug build, 3,000 in a release build: about a minute either way on a
/// shared 2-core machine) choose the seeds;
/// `PORTS_MIX_OPS` overrides the 300 operations; `PORTS_MIX_KEEP_GOING`
/// runs every seed and lists the failing ones at the end. The full count
/// (100,000 seeds in each mode) was run once in release: command, result
/// and time in BENCHMARKS.md (section Ports).
#[test]
fn random_mix() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let base = env("PORTS_MIX_SEED", 0);
    // The CI size: about a minute on a shared 2-core machine (a debug
    // build runs a seed in both modes in about 0.13 s, a release build in
    // about 0.02 s).
    let runs = env(
        "PORTS_MIX_RUNS",
        if cfg!(debug_assertions) { 400 } else { 3000 },
    );
    let ops = env("PORTS_MIX_OPS", 300) as usize;
    // `PORTS_MIX_KEEP_GOING`: a failing run does not stop the others; the
    // failing (seed, mode) pairs are listed at the end (for the long run).
    let keep_going = std::env::var("PORTS_MIX_KEEP_GOING").is_ok();
    let mut failed = Vec::new();
    let t0 = std::time::Instant::now();
    for seed in base..base + runs {
        if verbose() {
            eprintln!("seed {seed}");
        }
        for mode in [Mode::Default, Mode::Chromium] {
            if keep_going {
                if std::panic::catch_unwind(|| mix_run(seed, mode, ops)).is_err() {
                    eprintln!("FAILED seed {seed} {mode:?}");
                    failed.push((seed, mode));
                }
            } else {
                mix_run(seed, mode, ops);
            }
        }
        if std::env::var("PORTS_MIX_PROGRESS").is_ok() && (seed - base) % 1000 == 999 {
            eprintln!("{} seeds in {:?}", seed - base + 1, t0.elapsed());
        }
    }
    let s = SHAPES.lock().unwrap_or_else(|e| e.into_inner());
    eprintln!("mix: {runs} seeds x 2 modes in {:?}: {s:?}", t0.elapsed());
    assert!(failed.is_empty(), "failed runs: {failed:?}");
    if runs >= 100 {
        assert!(s.crossing > 0 && s.bounces > 0 && s.merges > 0 && s.losses > 0);
        assert!(s.moves > 0 && s.closes > 0);
    }
}

/// Regression (issue #16 item 5, found by the mix): crossing moves of both
/// ends of a route to one node, then the loss of the node that announced
/// one of them; a receiving port whose route had ended kept the other
/// end's events held. (The mechanism's own test, which fails without it:
/// `ports_defects::item5_a_port_whose_route_ended_holds_nothing`; with
/// the later release of events tied to a lost node, this seed no longer
/// needs that mechanism alone.)
#[test]
fn mix_seed_99_held_events_outlive_a_node_loss_after_crossing_moves() {
    mix_run(99, Mode::Default, 300);
}

/// Regression (found by the mix in Chromium mode, an intermediate version
/// of the item-6 fix): a port moved here from node 4 long ago, re-pointed
/// since, sent events to a local proxy; held there, they were dropped on
/// node 4's loss as if they still waited for node 4 to name the port, and
/// a chain of proxies stayed for ever. Only events on a moved port's first
/// edge (to its descriptor peer) wait for its origin node.
#[test]
fn mix_seed_475_events_of_a_moved_port_outlive_its_origin_node() {
    mix_run(475, Mode::Chromium, 300);
}

/// Regression (found by the mix): a MergePort crossed the slow link while
/// the merge target's peer moved to a node that was then lost; the merge
/// gave the new proxy that lost peer, and its forwarded messages waited
/// for a window towards the lost node for ever. A merge now tells the
/// driver about the peers it hands over (`PortEvent::NodeInUse`), which
/// answers with the loss.
#[test]
fn mix_seed_1016_a_merge_hands_over_a_peer_on_a_lost_node() {
    mix_run(1016, Mode::Default, 300);
}

/// Regression (found by the 100,000-seed run): a node loss tore a route
/// down at one end (its previous peer was on the lost node), and that end
/// was then sent on; while it was in transit (buffering), the other end,
/// not yet told of the end, kept sending, and its messages were held at
/// the buffering port until the hold bound named the honest sender
/// (`HeldPerPortExceeded`). A port in transit whose route has ended holds
/// nothing: those messages can never be used.
#[test]
fn mix_seed_11311_a_port_in_transit_after_its_route_ended_holds_nothing() {
    mix_run(11311, Mode::Default, 300);
}
