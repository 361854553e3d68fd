//! An encrypted overlay in the deterministic simulator: one
//! `hyperport::overlay::Node` per vertex of a real topology, over lossy,
//! duplicating, reordering links.
//!
//! ```text
//! cargo run --release --example overlay --features sim [-- EDGELIST] [--seed N] [--svg PATH] ...
//! ```
//!
//! Everything protocol-related is the library's `overlay::Node`: Noise
//! sessions with every neighbour (`link`), the routing protocol over them
//! (signed announcements, root election, greedy forwarding with
//! path-broken feedback), end-to-end sessions carrying ports events in
//! reliable, ordered streams. This file is the scenario, the directory the
//! application would have (node keys and locations) and the checks:
//!
//! 1. **Cold start.** Every node starts alone with a fresh identity (its
//!    routing rank is its degree); lower-numbered ends dial their
//!    neighbours. The run waits until every link is up and the routing
//!    protocol has converged: one root per connected component, positions unchanged for 3 s.
//! 2. **Pipes.** Sampled node pairs open a message pipe (ports); the
//!    application tells each end where the other is (its directory); user
//!    messages flow one way.
//! 3. **Forgeries.** A few nodes inject garbage datagrams and replay their
//!    last datagram at a neighbour: refused and counted.
//! 4. **A moving end.** Pipe 0's receiving end travels inside a message to a
//!    third node while the sender keeps sending; the proxy left behind
//!    collapses; the third node answers.
//! 5. **Churn** (`--churn`): links go down and up and nodes restart (same
//!    key, and new key) while messages flow; then everything heals.
//!
//! Checks (the program exits 1 if any fails): every link up, one root per component,
//! exactly-once in-order delivery on every pipe whose ends stayed alive,
//! proxy collapse, no ports violation, forgeries refused, every datagram
//! accounted for, nothing left over (peers, correspondents, records,
//! ports, proxies) that should not be, the recorded trace replayed into
//! fresh nodes (graphs up to 1,000 nodes), and a rerun with the same seed
//! giving the same trace digest. It writes `overlay.svg`: the nodes at
//! their hyperbolic positions in the Poincaré disk (display only: the
//! routing decisions are exact integers), tree links and other links drawn
//! differently, pipe 0's routed path highlighted.

#[path = "support/cli.rs"]
mod cli;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use hyperport::crypto::DefaultProvider as Crypto;
use hyperport::overlay::{
    self, Config as OverlayConfig, CorrSlot, Event as OEvent, Identity, Node, PeerSlot, RecordSlot,
    Storage, TxSlot,
};
use hyperport::ports::{self, Bytes, PortName, PortState};
use hyperport::rng::SeededRng;
use hyperport::routing::{
    Coord, Decision, Ed25519, Hop, LinkId, Locator, NeighbourEntry, Verifier, decide,
};
use hyperport::sim::{
    LinkConfig, NodeId, Partition, RunStats, Sim, SimConfig, SimNode, SplitMix64, Topology,
    TraceDigest, Transmit, node_seed,
};
use hyperport::time::{Duration, Instant};

/// Largest datagram (the simulator's links carry it): an announcement of a
/// 37-hop-deep chain (Kdl) is 3.8 KB.
pub const MTU: usize = 4_096;
/// Largest record (a ports event with two attached ports and a 16-byte
/// payload is about 300 bytes).
pub const REC: usize = 512;
/// User payload of the ports layer: `[kind][pipe u32 BE][k u32 BE]`.
pub type Pl = Bytes<16>;
/// Ports attached to one message.
pub const ATTACH: usize = 2;
/// The ports node of every overlay node.
pub type Ports = ports::Node<Pl, SeededRng, 16, 96, ATTACH, 32, 96, 16>;
/// The overlay node type of the scenario.
pub type ONode<'s> = Node<'s, NodeId, Crypto, Ports, Memo, Vec<Hop>, MTU, REC>;
/// Most user messages one command sends (the ports send window is 16 and
/// its waiting room 64 per port).
pub const MAX_BURST: u32 = 48;

const APP_DATA: u8 = 0;
const APP_TRANSFER: u8 = 1;

fn app_payload(kind: u8, pipe: u32, k: u32) -> Pl {
    let mut v = Pl::new();
    let _ = v.push(kind);
    let _ = v.extend_from_slice(&pipe.to_be_bytes());
    let _ = v.extend_from_slice(&k.to_be_bytes());
    v
}

fn parse_app(p: &[u8]) -> Option<(u8, u32, u32)> {
    Some((
        *p.first()?,
        u32::from_be_bytes(p.get(1..5)?.try_into().ok()?),
        u32::from_be_bytes(p.get(5..9)?.try_into().ok()?),
    ))
}

/// A signature verifier shared by all nodes of one simulation: it memoizes
/// Ed25519 answers (a pure function), so the simulation does not verify
/// the same announcement at every node. Decisions are unchanged.
#[derive(Clone, Default)]
pub struct Memo(Rc<RefCell<HashMap<[u8; 32], bool>>>);

impl Verifier for Memo {
    fn verify(&mut self, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
        use blake2::Digest as _;
        let mut h = blake2::Blake2s256::new();
        h.update(key);
        h.update(sig);
        h.update(msg);
        let id: [u8; 32] = h.finalize().into();
        if let Some(v) = self.0.borrow().get(&id) {
            return *v;
        }
        let v = Ed25519.verify(key, msg, sig);
        self.0.borrow_mut().insert(id, v);
        v
    }
}

/// The storage of one overlay node.
pub struct Mem {
    routing: Vec<NeighbourEntry>,
    peers: Vec<PeerSlot<NodeId, Crypto>>,
    corr: Vec<CorrSlot<Crypto>>,
    records: Vec<RecordSlot<REC>>,
    tx: Vec<TxSlot<NodeId, MTU>>,
}

impl Mem {
    /// Room for `degree` neighbours; endpoints of pipes get room for
    /// correspondents and records, relays almost none.
    pub fn new(degree: usize, endpoint: bool) -> Self {
        let peers = degree.max(1) + 2;
        let (corr, records) = if endpoint { (12, 256) } else { (2, 8) };
        Mem {
            routing: vec![NeighbourEntry::EMPTY; peers],
            peers: (0..peers).map(|_| PeerSlot::new()).collect(),
            corr: (0..corr).map(|_| CorrSlot::new()).collect(),
            records: vec![RecordSlot::EMPTY; records],
            tx: (0..(4 + degree).min(16)).map(|_| TxSlot::new()).collect(),
        }
    }
}

/// Counters of one node's application side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// `PeerUp` events.
    pub peer_up: u64,
    /// `PeerDown` events.
    pub peer_down: u64,
    /// Queued outputs refused for a stale generation.
    pub stale_refused: u64,
    /// Location requests answered by the directory.
    pub locations_needed: u64,
    /// Correspondent incarnations lost.
    pub nodes_lost: u64,
    /// Position changes.
    pub position_changes: u64,
    /// Ports calls that failed, or unexpected messages.
    pub app_errors: u64,
    /// Forged datagrams injected (scenario).
    pub forged_injected: u64,
    /// Replayed datagrams injected (scenario).
    pub replays_injected: u64,
    /// Times this node restarted.
    pub restarts: u64,
    /// Most proxies seen on this node at once.
    pub proxy_peak: u64,
}

/// A scenario command (recorded in the trace).
#[derive(Clone, Debug, Hash)]
pub enum Command {
    /// Dial `key` at `peer` (kept up until disconnected).
    Dial {
        /// The neighbour.
        peer: NodeId,
        /// Its key.
        key: [u8; 32],
    },
    /// Hang up on `key`.
    HangUp {
        /// Its key.
        key: [u8; 32],
    },
    /// The directory's answer: `key` is at `loc` (boxed: a locator is
    /// large, the other commands small).
    Locate {
        /// The node.
        key: [u8; 32],
        /// Its coordinates.
        loc: Box<Locator>,
    },
    /// Create an uninitialized port as this node's end of `pipe`.
    OpenEnd {
        /// Pipe number.
        pipe: u32,
    },
    /// Connect this node's end of `pipe` to `peer_port` on the node `peer`.
    ConnectEnd {
        /// Pipe number.
        pipe: u32,
        /// The node key of the other end.
        peer: [u8; 32],
        /// The other end.
        peer_port: PortName,
    },
    /// Send messages `first..first + count` on this node's end of `pipe`.
    Send {
        /// Pipe number.
        pipe: u32,
        /// First message number.
        first: u32,
        /// How many.
        count: u32,
    },
    /// Send this node's end of `pipe` inside a message on its end of `via`.
    Transfer {
        /// The pipe whose end moves.
        pipe: u32,
        /// The pipe that carries it.
        via: u32,
    },
    /// Close this node's end of `pipe`.
    Close {
        /// Pipe number.
        pipe: u32,
    },
    /// Inject `count` garbage datagrams at neighbour `to`, and a copy of the
    /// last datagram sent to it (a replay).
    Forge {
        /// Neighbour.
        to: NodeId,
        /// How many.
        count: u32,
    },
    /// Restart (all state lost), with the same key or a new one.
    Restart {
        /// A new identity.
        new_key: bool,
    },
}

/// The identity seed of node `id`'s `key_gen`-th key.
fn identity_seed(seed: u64, id: NodeId, key_gen: u32) -> [u8; 32] {
    let mut s = node_seed(seed ^ 0x6b65_7973, id);
    s[0] ^= key_gen as u8;
    s[1] ^= (key_gen >> 8) as u8;
    s
}

/// The rank authority of scenario `seed`: its secret and its public key.
fn authority(seed: u64) -> ([u8; 32], [u8; 32]) {
    let secret = node_seed(seed ^ 0x6175_7468, NodeId(u32::MAX));
    let public = ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes();
    (secret, public)
}

/// The public key of node `id`'s `key_gen`-th identity.
pub fn public_key(seed: u64, id: NodeId, key_gen: u32) -> [u8; 32] {
    Identity::from_seed(&identity_seed(seed, id, key_gen)).public_key()
}

/// Location requests from the nodes, for the scenario's directory (a side
/// channel: the answers go back as traced commands).
pub type Needs = Rc<RefCell<BTreeSet<(NodeId, [u8; 32])>>>;

/// One simulated node: an `overlay::Node` and the application around it.
pub struct OverlayNode<'s> {
    /// Its id.
    pub id: NodeId,
    /// The overlay node.
    pub node: ONode<'s>,
    seed: u64,
    rank: u32,
    key_gen: u32,
    spares: Vec<&'s mut Mem>,
    memo: Memo,
    dial: Vec<(NodeId, [u8; 32])>,
    ends: BTreeMap<u32, PortName>,
    /// Message numbers received per pipe, in arrival order.
    pub received: BTreeMap<u32, Vec<u32>>,
    /// Pipes whose far end this node saw closed.
    pub peer_closed: BTreeSet<u32>,
    /// Counters.
    pub counters: Counters,
    /// When the position last changed.
    pub position_changed_at: Instant,
    /// Overlay counters of the runs before the last restart.
    pub retired: overlay::Stats,
    out: VecDeque<Transmit>,
    buf: Vec<u8>,
    last_sent: BTreeMap<NodeId, Vec<u8>>,
    needs: Needs,
}

#[allow(clippy::too_many_arguments)]
fn build_node<'s>(
    seed: u64,
    id: NodeId,
    key_gen: u32,
    restarts: u32,
    rank: u32,
    mem: &'s mut Mem,
    memo: Memo,
    now: Instant,
) -> ONode<'s> {
    let identity = Identity::from_seed(&identity_seed(seed, id, key_gen));
    let mut config = OverlayConfig::default();
    // The scenario is the network's rank authority: it signs every node's
    // rank (its degree), so the best-connected node roots the tree.
    let (authority_secret, authority) = authority(seed);
    config.routing.authority = Some(authority);
    config.routing.rank = rank;
    config.routing.rank_credential = Some(hyperport::routing::credential::sign_rank(
        &authority_secret,
        &identity.routing_key(),
        rank,
    ));
    // A hub dialled by all its neighbours at once is allowed to read that
    // many initiations per second (the default allowance is 100/s).
    config.hop_gate.total = hyperport::link::Rate::new(100.max(2 * rank), Duration::from_secs(1));
    let mut node_rng = node_seed(seed ^ u64::from(restarts).wrapping_mul(0x9e37), id);
    let ports = Ports::new(
        identity.node_name(),
        config.ports,
        SeededRng::from_seed(node_rng),
    );
    node_rng[31] ^= 0x5a;
    Node::new(
        config,
        identity,
        ports,
        memo,
        Vec::new(),
        Vec::new(),
        Storage {
            routing: &mut mem.routing,
            peers: &mut mem.peers,
            correspondents: &mut mem.corr,
            records: &mut mem.records,
            transmit: &mut mem.tx,
        },
        node_rng,
        now,
    )
    .expect("the scenario's configuration and storage are valid")
}

impl<'s> OverlayNode<'s> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        seed: u64,
        id: NodeId,
        rank: u32,
        mem: &'s mut Mem,
        spares: Vec<&'s mut Mem>,
        dial: Vec<(NodeId, [u8; 32])>,
        memo: Memo,
        needs: Needs,
    ) -> Self {
        let mut node = build_node(seed, id, 0, 0, rank, mem, memo.clone(), Instant::ZERO);
        for (peer, key) in &dial {
            let _ = node.connect(Instant::ZERO, *key, *peer);
        }
        if std::env::var_os("OVERLAY_KEYS").is_some() {
            let k = node.public_key();
            eprintln!("KEY {} = {:02x}{:02x}", id, k[0], k[1]);
        }
        let mut n = OverlayNode {
            id,
            node,
            seed,
            rank,
            key_gen: 0,
            spares,
            memo,
            dial,
            ends: BTreeMap::new(),
            received: BTreeMap::new(),
            peer_closed: BTreeSet::new(),
            counters: Counters::default(),
            position_changed_at: Instant::ZERO,
            retired: overlay::Stats::default(),
            out: VecDeque::new(),
            buf: vec![0; MTU],
            last_sent: BTreeMap::new(),
            needs,
        };
        n.drain(Instant::ZERO);
        n
    }

    /// The node's current key.
    pub fn key(&self) -> [u8; 32] {
        self.node.public_key()
    }

    #[allow(dead_code)]
    fn _dbg(&self) {}

    /// This node's end of `pipe`.
    pub fn end(&self, pipe: u32) -> Option<PortName> {
        self.ends.get(&pipe).copied()
    }

    /// Proxies (and ports being transferred) on this node.
    pub fn proxies(&self) -> usize {
        self.node
            .ports()
            .ports()
            .filter(|(_, s)| *s == PortState::Proxying || *s == PortState::Buffering)
            .count()
    }

    /// Ports protocol violations, dropped outputs and application errors.
    pub fn ports_faults(&self) -> u64 {
        let s = self.node.ports().stats();
        s.violations + s.dropped_outputs + self.counters.app_errors
    }

    fn drain(&mut self, now: Instant) {
        while let Ok(Some(t)) = self.node.poll_transmit(now, &mut self.buf) {
            let payload = self.buf[..t.len].to_vec();
            self.last_sent.insert(t.to, payload.clone());
            self.out.push_back(Transmit { to: t.to, payload });
        }
        let mut read = false;
        while let Some(e) = self.node.poll_event() {
            if let Some(v) = std::env::var_os("OVERLAY_TRACE")
                && v.to_string_lossy()
                    .split(',')
                    .any(|x| x == self.id.0.to_string())
            {
                let text = format!("{e:?}");
                // Keys shown by their first two bytes.
                let short = text
                    .split("key: [")
                    .map(|part| match part.split_once(']') {
                        Some((k, rest)) if k.len() > 60 => {
                            let b: Vec<u8> = k.split(", ").filter_map(|x| x.parse().ok()).collect();
                            format!("key: {:02x}{:02x}{rest}", b[0], b[1])
                        }
                        _ => part.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("");
                eprintln!("{now} {}: {short}", self.id);
            }
            match e {
                OEvent::PeerUp { .. } => self.counters.peer_up += 1,
                OEvent::PeerDown { .. } => self.counters.peer_down += 1,
                OEvent::SendFailed { .. } => self.counters.stale_refused += 1,
                OEvent::LocationNeeded { key } => {
                    self.counters.locations_needed += 1;
                    self.needs.borrow_mut().insert((self.id, key));
                }
                OEvent::NodeLost { .. } => self.counters.nodes_lost += 1,
                OEvent::PositionChanged => {
                    self.counters.position_changes += 1;
                    self.position_changed_at = now;
                }
                OEvent::PortStatus(_) => read = true,
                _ => {}
            }
        }
        if read {
            self.read_ends();
            // Reading may have released messages: carry their acks.
            while let Ok(Some(t)) = self.node.poll_transmit(now, &mut self.buf) {
                let payload = self.buf[..t.len].to_vec();
                self.last_sent.insert(t.to, payload.clone());
                self.out.push_back(Transmit { to: t.to, payload });
            }
        }
        self.counters.proxy_peak = self.counters.proxy_peak.max(self.proxies() as u64);
    }

    fn read_ends(&mut self) {
        let ends: Vec<(u32, PortName)> = self.ends.iter().map(|(&k, &v)| (k, v)).collect();
        for (pipe, port) in ends {
            loop {
                match self.node.ports_mut().get_message(port) {
                    Ok(Some(m)) => match parse_app(&m.payload) {
                        Some((APP_DATA, p, k)) if p == pipe => {
                            self.received.entry(pipe).or_default().push(k)
                        }
                        Some((APP_TRANSFER, moved, _)) => {
                            if let Some(&port) = m.ports.first() {
                                self.ends.insert(moved, port);
                            }
                        }
                        _ => self.counters.app_errors += 1,
                    },
                    Ok(None) => break,
                    Err(_) => {
                        // The far end is closed (or its node lost).
                        self.peer_closed.insert(pipe);
                        break;
                    }
                }
            }
        }
    }

    fn command(&mut self, now: Instant, c: Command) {
        match c {
            Command::Dial { peer, key } => {
                if self.node.connect(now, key, peer).is_err() {
                    self.counters.app_errors += 1;
                }
                self.dial.retain(|d| d.0 != peer);
                self.dial.push((peer, key));
            }
            Command::HangUp { key } => {
                if let Some(p) = self.node.peer(&key) {
                    let _ = self.node.disconnect(now, p);
                }
                self.dial.retain(|d| d.1 != key);
            }
            Command::Locate { key, loc } => {
                let _ = self.node.set_location(now, key, *loc);
            }
            Command::OpenEnd { pipe } => match self.node.ports_mut().create_uninitialized_port() {
                Ok(port) => {
                    self.ends.insert(pipe, port);
                }
                Err(_) => self.counters.app_errors += 1,
            },
            Command::ConnectEnd {
                pipe,
                peer,
                peer_port,
            } => {
                let Some(&port) = self.ends.get(&pipe) else {
                    self.counters.app_errors += 1;
                    return;
                };
                let Ok(name) = self.node.remember(now, peer) else {
                    self.counters.app_errors += 1;
                    return;
                };
                if self
                    .node
                    .ports_mut()
                    .initialize_port(port, name, peer_port, name, peer_port)
                    .is_err()
                {
                    self.counters.app_errors += 1;
                }
            }
            Command::Send { pipe, first, count } => {
                let Some(&port) = self.ends.get(&pipe) else {
                    return;
                };
                for k in first..first.saturating_add(count) {
                    if self
                        .node
                        .ports_mut()
                        .send_user_message(port, app_payload(APP_DATA, pipe, k), &[])
                        .is_err()
                    {
                        // A closed far end refuses sends; anything else is a fault.
                        if !self.peer_closed.contains(&pipe) {
                            self.counters.app_errors += 1;
                        }
                    }
                }
            }
            Command::Transfer { pipe, via } => {
                let (Some(moving), Some(&carrier)) = (self.ends.remove(&pipe), self.ends.get(&via))
                else {
                    self.counters.app_errors += 1;
                    return;
                };
                if self
                    .node
                    .ports_mut()
                    .send_user_message(carrier, app_payload(APP_TRANSFER, pipe, 0), &[moving])
                    .is_err()
                {
                    self.counters.app_errors += 1;
                }
            }
            Command::Close { pipe } => {
                if let Some(port) = self.ends.remove(&pipe) {
                    let _ = self.node.ports_mut().close_port(port);
                }
            }
            Command::Forge { to, count } => {
                for i in 0..count {
                    // A well-formed transport header with a receiver index
                    // nobody owns, then noise.
                    let mut d = vec![0u8; 20 + 48];
                    d[0] = 1;
                    d[1] = 3;
                    d[8..12].copy_from_slice(&(0x7777_0000u32 + i).to_be_bytes());
                    d[12..20].copy_from_slice(&u64::from(i).to_be_bytes());
                    let mut r = SplitMix64::new(u64::from(i) ^ u64::from(self.id.0));
                    for b in &mut d[20..] {
                        *b = r.next_u64() as u8;
                    }
                    self.out.push_back(Transmit { to, payload: d });
                    self.counters.forged_injected += 1;
                }
                if let Some(old) = self.last_sent.get(&to) {
                    let payload = old.clone();
                    self.out.push_back(Transmit { to, payload });
                    self.counters.replays_injected += 1;
                }
            }
            Command::Restart { new_key } => {
                let Some(mem) = self.spares.pop() else {
                    self.counters.app_errors += 1;
                    return;
                };
                if new_key {
                    self.key_gen += 1;
                }
                self.counters.restarts += 1;
                let restarts = self.counters.restarts as u32;
                add_stats(&mut self.retired, self.node.stats());
                self.node = build_node(
                    self.seed,
                    self.id,
                    self.key_gen,
                    restarts,
                    self.rank,
                    mem,
                    self.memo.clone(),
                    now,
                );
                self.ends.clear();
                self.last_sent.clear();
                if std::env::var_os("OVERLAY_KEYS").is_some() {
                    let k = self.node.public_key();
                    eprintln!(
                        "{now} RESTART {} new_key {new_key} = {:02x}{:02x}",
                        self.id, k[0], k[1]
                    );
                }
                for (peer, key) in self.dial.clone() {
                    let _ = self.node.connect(now, key, peer);
                }
            }
        }
    }
}

impl SimNode for OverlayNode<'_> {
    type Command = Command;

    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]) {
        self.node.handle_datagram(now, from, msg);
        self.drain(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.node.handle_timeout(now);
        self.drain(now);
    }

    fn handle_command(&mut self, now: Instant, command: Command) {
        self.command(now, command);
        self.drain(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.node.poll_timeout()
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
}

// ----- the scenario -----

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The graph.
    pub topology: Topology,
    /// Scenario seed (keys, links, sample, churn).
    pub seed: u64,
    /// Sampled node pairs that open a pipe.
    pub pipes: usize,
    /// User messages per pipe and phase.
    pub messages: u32,
    /// Every link's behaviour.
    pub link: LinkConfig,
    /// Keep the trace (memory) for the replay check.
    pub record_trace: bool,
    /// Churn rounds (0: none): links down and up, restarts.
    pub churn: u32,
    /// Print a progress line on stderr (only once a run takes > 1 s).
    pub progress: bool,
}

impl Options {
    /// The default workload on `topology`.
    pub fn new(topology: Topology, seed: u64) -> Self {
        Options {
            topology,
            seed,
            pipes: 12,
            messages: 20,
            link: LinkConfig::default()
                .with_latency(Duration::from_millis(2), Duration::from_millis(20))
                .with_loss_ppm(20_000)
                .with_duplicate_ppm(20_000)
                .with_reorder_ppm(50_000)
                .with_mtu(MTU),
            record_trace: false,
            churn: 0,
            progress: false,
        }
    }
}

/// A pipe of the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pipe {
    /// Sending end.
    pub a: NodeId,
    /// Receiving end.
    pub b: NodeId,
    /// Hops between them.
    pub hops: u32,
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Simulator counters.
    pub stats: RunStats,
    /// Trace digest.
    pub digest: TraceDigest,
    /// Application counters summed.
    pub counters: Counters,
    /// Overlay counters summed.
    pub overlay: overlay::Stats,
    /// Links of the topology.
    pub links: usize,
    /// Links up at both ends at the end.
    pub links_up: usize,
    /// When every link was first up.
    pub links_up_at: Instant,
    /// When routing converged from cold start.
    pub converged_at: Instant,
    /// Depth of the routing tree.
    pub depth: usize,
    /// The sampled pipes (the carrier pipe is not included).
    pub pipes: Vec<Pipe>,
    /// Pipe 0's end moved from `pipes[0].b` to this node.
    pub third: NodeId,
    /// User messages delivered (on pipes whose ends stayed alive).
    pub delivered: u64,
    /// User messages sent on those pipes.
    pub expected: u64,
    /// Pipes left out of the exactly-once check (an end restarted).
    pub pipes_broken: usize,
    /// Proxies left anywhere after the run.
    pub proxies_left: usize,
    /// Hops of pipe 0's routed path (a0 to b0) and its shortest path.
    pub path: (Vec<NodeId>, u32),
    /// Named checks and whether each passed.
    pub checks: Vec<(String, bool)>,
    /// The picture (SVG text).
    pub svg: String,
}

impl Outcome {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|(_, ok)| *ok)
    }
}

/// Samples `count` pipes (ends in one component) and the third node that
/// receives pipe 0's end.
fn sample(t: &Topology, seed: u64, count: usize) -> Result<(Vec<Pipe>, NodeId), String> {
    let n = t.node_count();
    let mut r = SplitMix64::new(seed ^ 0x6f76_6572_6c61_7921);
    let mut pipes = Vec::new();
    let mut guard = 0;
    while pipes.len() < count && guard < 100 * count {
        guard += 1;
        let a = NodeId::from_index(r.below(n as u64) as usize);
        let b = NodeId::from_index(r.below(n as u64) as usize);
        if a == b {
            continue;
        }
        if let Some(hops) = t.bfs_distances(a)[b.index()] {
            pipes.push(Pipe { a, b, hops });
        }
    }
    let first = *pipes.first().ok_or("no pipe could be sampled")?;
    let dist_a = t.bfs_distances(first.a);
    let third = (0..n)
        .map(|i| NodeId::from_index((first.b.index() + 1 + i) % n))
        .find(|&c| c != first.a && c != first.b && dist_a[c.index()].is_some())
        .ok_or("no third node")?;
    Ok((pipes, third))
}

/// The storage of every node, and the spares restarts take.
pub struct Arena {
    mems: Vec<Mem>,
    spares: Vec<Vec<Mem>>,
}

impl Arena {
    /// Storage for `t` with `endpoints` getting room for streams, and
    /// `restarts[i]` spares for node `i`.
    pub fn new(t: &Topology, endpoints: &BTreeSet<NodeId>, restarts: &[u32]) -> Self {
        let n = t.node_count();
        let mem = |i: usize| {
            Mem::new(
                t.degree(NodeId::from_index(i)),
                endpoints.contains(&NodeId::from_index(i)),
            )
        };
        Arena {
            mems: (0..n).map(mem).collect(),
            spares: (0..n)
                .map(|i| {
                    (0..restarts.get(i).copied().unwrap_or(0))
                        .map(|_| mem(i))
                        .collect()
                })
                .collect(),
        }
    }

    /// The nodes of a scenario over this storage.
    pub fn nodes<'s>(&'s mut self, t: &Topology, seed: u64, needs: &Needs) -> Vec<OverlayNode<'s>> {
        let memo = Memo::default();
        let keys: Vec<[u8; 32]> = (0..t.node_count())
            .map(|i| public_key(seed, NodeId::from_index(i), 0))
            .collect();
        self.mems
            .iter_mut()
            .zip(self.spares.iter_mut())
            .enumerate()
            .map(|(i, (mem, spares))| {
                let id = NodeId::from_index(i);
                let dial = t
                    .neighbours(id)
                    .iter()
                    .filter(|&&m| m > id)
                    .map(|&m| (m, keys[m.index()]))
                    .collect();
                OverlayNode::new(
                    seed,
                    id,
                    t.degree(id) as u32,
                    mem,
                    spares.iter_mut().collect(),
                    dial,
                    memo.clone(),
                    needs.clone(),
                )
            })
            .collect()
    }
}

const STEPS: u64 = 200_000_000;

fn received<'a>(sim: &'a Sim<OverlayNode<'_>>, node: NodeId, pipe: u32) -> &'a [u32] {
    sim.node(node)
        .and_then(|n| n.received.get(&pipe))
        .map_or(&[], |v| v.as_slice())
}

/// Drives a simulation: steps, answers location requests from the
/// directory, prints progress.
struct Driver<'a, 's> {
    sim: Sim<OverlayNode<'s>>,
    needs: Needs,
    /// Current node of every key (the directory).
    keys: HashMap<[u8; 32], NodeId>,
    progress: bool,
    wall: std::time::Instant,
    last_print: std::time::Instant,
    phase: &'a str,
    printed: bool,
}

impl<'s> Driver<'_, 's> {
    fn err(e: hyperport::sim::SimError) -> String {
        e.to_string()
    }

    fn command(&mut self, id: NodeId, c: Command) -> Result<(), String> {
        self.sim.command(id, c).map_err(Self::err)?;
        self.answer()
    }

    /// Answers every pending location request (the application's
    /// directory: the node's current location, as a traced command).
    fn answer(&mut self) -> Result<(), String> {
        loop {
            let pending: Vec<(NodeId, [u8; 32])> = std::mem::take(&mut *self.needs.borrow_mut())
                .into_iter()
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            for (at, key) in pending {
                let Some(&target) = self.keys.get(&key) else {
                    continue;
                };
                if self.sim.is_down(at) {
                    continue;
                }
                let Some(loc) = self.sim.node(target).map(|n| n.node.location()) else {
                    continue;
                };
                let c = Command::Locate {
                    key,
                    loc: Box::new(loc),
                };
                self.sim.command(at, c).map_err(Self::err)?;
            }
        }
    }

    fn tick(&mut self) {
        if !self.progress {
            return;
        }
        let now = std::time::Instant::now();
        if now.duration_since(self.last_print).as_secs_f64() >= 1.0 {
            self.last_print = now;
            self.printed = true;
            let s = self.sim.stats();
            eprint!(
                "\r{:<12} virtual {:>10}  steps {:>11}  delivered {:>10}  wall {:>6.1} s ",
                self.phase,
                s.now,
                s.steps,
                s.delivered,
                now.duration_since(self.wall).as_secs_f64()
            );
        }
    }

    /// Runs until `cond` holds, at most until virtual time `limit`.
    fn run_until(
        &mut self,
        limit: Instant,
        mut cond: impl FnMut(&Sim<OverlayNode<'s>>) -> bool,
    ) -> Result<bool, String> {
        let mut n = 0u64;
        // The condition may scan every node: evaluated at most once per
        // millisecond of virtual time.
        let mut checked: Option<Instant> = None;
        loop {
            let now = self.sim.now();
            if checked.is_none_or(|t| now >= t + Duration::from_millis(1)) {
                checked = Some(now);
                if cond(&self.sim) {
                    return Ok(true);
                }
            }
            // (Before its first step the simulator has no event yet.)
            let beyond = self.sim.next_event_time().is_some_and(|t| t > limit);
            if beyond || !self.sim.step().map_err(Self::err)? {
                self.sim.run_until(limit).map_err(Self::err)?;
                self.answer()?;
                return Ok(cond(&self.sim));
            }
            self.answer()?;
            n += 1;
            if n.is_multiple_of(4096) {
                self.tick();
            }
            if n > STEPS {
                return Err("step limit".into());
            }
        }
    }

    /// Runs for `d` of virtual time.
    fn run_for(&mut self, d: Duration) -> Result<(), String> {
        let until = self.sim.now() + d;
        self.run_until(until, |_| false).map(|_| ())
    }
}

/// Whether the nodes of each connected component (those not down) agree on
/// one root, and no position changed since `quiet` before now.
fn converged(sim: &Sim<OverlayNode<'_>>, quiet: Duration) -> bool {
    let now = sim.now();
    one_root_per_component(sim)
        && sim.nodes().iter().enumerate().all(|(i, n)| {
            sim.is_down(NodeId::from_index(i)) || now >= n.position_changed_at + quiet
        })
}

/// Whether the nodes of each connected component of the topology (those
/// not down) agree on one root. A graph of several components has as many
/// trees.
fn one_root_per_component(sim: &Sim<OverlayNode<'_>>) -> bool {
    sim.topology().components().iter().all(|component| {
        let mut roots = component
            .iter()
            .filter(|&&id| !sim.is_down(id))
            .filter_map(|&id| sim.node(id))
            .map(|n| n.node.routing().root().key);
        roots.next().is_none_or(|first| roots.all(|r| r == first))
    })
}

/// Links up at both ends (with the current keys).
fn links_up(sim: &Sim<OverlayNode<'_>>) -> usize {
    sim.topology()
        .edges()
        .iter()
        .filter(|&&(a, b)| {
            let (Some(x), Some(y)) = (sim.node(a), sim.node(b)) else {
                return false;
            };
            let up = |n: &OverlayNode<'_>, k: [u8; 32]| {
                n.node.peers().any(|(p, _, up)| up && p.key == k)
            };
            up(x, y.key()) && up(y, x.key())
        })
        .count()
}

/// The greedy path from `a` to `b` as the nodes' routing state gives it
/// (each hop: the neighbour `routing::decide` picks), and whether it
/// arrived.
fn greedy_path(sim: &Sim<OverlayNode<'_>>, a: NodeId, b: NodeId) -> (Vec<NodeId>, bool) {
    let t = sim.topology();
    let Some(dest) = sim.node(b).map(|n| n.node.routing().coord().clone()) else {
        return (vec![a], false);
    };
    let mut path = vec![a];
    let mut wm = u16::MAX;
    let mut at = a;
    for _ in 0..4 * t.node_count() + 8 {
        let Some(n) = sim.node(at) else { break };
        let own = n.node.routing().coord().clone();
        let nbrs: Vec<(LinkId, Coord)> = t
            .neighbours(at)
            .iter()
            .filter_map(|&m| {
                sim.node(m)
                    .map(|x| (LinkId(m.0), x.node.routing().coord().clone()))
            })
            .collect();
        match decide(&own, &dest, &mut wm, nbrs.iter().map(|(l, c)| (*l, c))) {
            Decision::Deliver => return (path, at == b),
            Decision::Forward(LinkId(m)) => {
                at = NodeId(m);
                path.push(at);
            }
            _ => return (path, false),
        }
    }
    (path, false)
}

/// Runs the whole scenario once.
pub fn run(o: &Options) -> Result<Outcome, String> {
    let t = &o.topology;
    let n = t.node_count();
    if n < 3 {
        return Err("need at least 3 nodes".into());
    }
    let m = o.messages;
    if m > MAX_BURST {
        return Err(format!("at most {MAX_BURST} messages per pipe"));
    }
    let (pipes, third) = sample(t, o.seed, o.pipes)?;
    let mut endpoints: BTreeSet<NodeId> = pipes.iter().flat_map(|p| [p.a, p.b]).collect();
    endpoints.insert(third);
    // Churn victims: restarts (same key and new key), chosen up front so
    // their spare storage exists. Pipe 0's ends and the third node never
    // restart (the transfer check needs them); other endpoints may.
    let mut r = SplitMix64::new(o.seed ^ 0x6368_7572_6e21);
    let mut restarts = vec![0u32; n];
    let mut plan: Vec<(NodeId, bool)> = Vec::new();
    if o.churn > 0 {
        let first = pipes[0];
        for i in 0..o.churn.min(n as u32 / 2).max(1) {
            let id = NodeId::from_index(r.below(n as u64) as usize);
            if id == first.a || id == first.b || id == third {
                continue;
            }
            restarts[id.index()] += 1;
            plan.push((id, i % 2 == 1));
        }
    }
    let needs: Needs = Rc::new(RefCell::new(BTreeSet::new()));
    let mut arena = Arena::new(t, &endpoints, &restarts);
    let nodes = arena.nodes(t, o.seed, &needs);
    let config = SimConfig {
        record_trace: o.record_trace,
        ..SimConfig::with_seed(o.seed)
    };
    let sim = Sim::with_topology(config, nodes, t, o.link).map_err(|e| e.to_string())?;
    let keys = (0..n)
        .map(|i| {
            (
                public_key(o.seed, NodeId::from_index(i), 0),
                NodeId::from_index(i),
            )
        })
        .collect();
    let now = std::time::Instant::now();
    let mut d = Driver {
        sim,
        needs: needs.clone(),
        keys,
        progress: o.progress,
        wall: now,
        last_print: now,
        phase: "cold start",
        printed: false,
    };

    // Phase 1: cold start. Every link comes up, routing converges.
    let links = t.edge_count();
    let limit = Instant::from_secs(600);
    let mut last = 0;
    d.run_until(limit, |s| {
        let u = links_up(s);
        if u != last && std::env::var_os("OVERLAY_DEBUG").is_some() {
            eprintln!("{} links up at {}", u, s.now());
            for &(a, b) in s.topology().edges() {
                let (x, y) = (s.node(a).unwrap(), s.node(b).unwrap());
                let up = |n: &OverlayNode<'_>, k: [u8; 32]| {
                    n.node.peers().any(|(p, _, up)| up && p.key == k)
                };
                if !(up(x, y.key()) && up(y, x.key())) {
                    eprintln!(
                        "  {a}-{b}: {} {}  {:?} / {:?}",
                        up(x, y.key()),
                        up(y, x.key()),
                        x.node.peers().map(|p| (p.1, p.2)).collect::<Vec<_>>(),
                        y.node.peers().map(|p| (p.1, p.2)).collect::<Vec<_>>()
                    );
                }
            }
        }
        last = u;
        u == links
    })?;
    let links_up_at = d.sim.now();
    d.phase = "converging";
    let quiet = Duration::from_secs(3);
    // Checked once per simulated 100 ms (the check scans every node).
    loop {
        d.run_for(Duration::from_millis(100))?;
        if converged(&d.sim, quiet) || d.sim.now() > limit {
            break;
        }
    }
    let converged_at = d.sim.now().saturating_sub(quiet);

    // Phase 2: open a pipe between each sampled pair; each end learns the
    // other's location from the directory.
    d.phase = "pipes";
    let first = pipes[0];
    let carrier = pipes.len() as u32;
    let mut all = pipes.clone();
    all.push(Pipe {
        a: first.b,
        b: third,
        hops: t.bfs_distances(first.b)[third.index()].unwrap_or(0),
    });
    let key_of =
        |d: &Driver<'_, '_>, id: NodeId| d.sim.node(id).map(|x| x.key()).unwrap_or_default();
    for (i, p) in all.iter().enumerate() {
        let pipe = i as u32;
        d.command(p.a, Command::OpenEnd { pipe })?;
        d.command(p.b, Command::OpenEnd { pipe })?;
        let end = |d: &Driver<'_, '_>, id: NodeId| {
            d.sim.node(id).and_then(|x| x.end(pipe)).ok_or("no end")
        };
        let (pa, pb) = (end(&d, p.a)?, end(&d, p.b)?);
        let (ka, kb) = (key_of(&d, p.a), key_of(&d, p.b));
        let loc = d
            .sim
            .node(p.b)
            .map(|x| x.node.location())
            .ok_or("no node")?;
        d.command(
            p.a,
            Command::Locate {
                key: kb,
                loc: Box::new(loc),
            },
        )?;
        d.command(
            p.a,
            Command::ConnectEnd {
                pipe,
                peer: kb,
                peer_port: pb,
            },
        )?;
        d.command(
            p.b,
            Command::ConnectEnd {
                pipe,
                peer: ka,
                peer_port: pa,
            },
        )?;
    }

    // Phase 3: M messages a -> b on every sampled pipe.
    d.phase = "messages";
    for (i, p) in pipes.iter().enumerate() {
        d.command(
            p.a,
            Command::Send {
                pipe: i as u32,
                first: 0,
                count: m,
            },
        )?;
    }
    let deadline = d.sim.now() + Duration::from_secs(300);
    d.run_until(deadline, |s| {
        pipes
            .iter()
            .enumerate()
            .all(|(i, p)| received(s, p.b, i as u32).len() >= m as usize)
    })?;

    // A few nodes inject forged datagrams at a neighbour, and replay the
    // last datagram they sent it.
    for i in 0..4.min(n) {
        let id = NodeId::from_index(i * n / 4);
        if let Some(&to) = t.neighbours(id).first() {
            d.command(id, Command::Forge { to, count: 2 })?;
        }
    }

    // Churn: links down and up, restarts; messages keep flowing on the
    // pipes (second batch).
    let mut cut: Vec<(NodeId, NodeId)> = Vec::new();
    let mut broken: BTreeSet<u32> = BTreeSet::new();
    if o.churn > 0 {
        d.phase = "churn";
        for (i, p) in pipes.iter().enumerate().skip(1) {
            d.command(
                p.a,
                Command::Send {
                    pipe: i as u32,
                    first: m,
                    count: m,
                },
            )?;
        }
        let mut plan = plan.into_iter();
        let edges = t.edges().to_vec();
        for round in 0..o.churn {
            let action = r.below(3);
            if action == 0 || (action == 2 && cut.is_empty()) {
                // A link goes down, if the graph stays connected without it.
                let (a, b) = edges[r.below(edges.len() as u64) as usize];
                if !cut.contains(&(a, b)) && stays_connected(t, &cut, (a, b)) {
                    d.sim
                        .partition(Partition::Link(a, b))
                        .map_err(Driver::err)?;
                    cut.push((a, b));
                }
            } else if action == 1 {
                if let Some((id, new_key)) = plan.next() {
                    restart(&mut d, t, o.seed, id, new_key, &pipes, &mut broken)?;
                }
            } else if let Some((a, b)) = cut.pop() {
                d.sim.heal(Partition::Link(a, b)).map_err(Driver::err)?;
            }
            let pause = Duration::from_millis(500 + r.below(3_000));
            d.run_for(pause)?;
            let _ = round;
        }
        for (a, b) in cut.drain(..) {
            d.sim.heal(Partition::Link(a, b)).map_err(Driver::err)?;
        }
        for (id, new_key) in plan {
            restart(&mut d, t, o.seed, id, new_key, &pipes, &mut broken)?;
        }
        d.phase = "healing";
        let deadline = d.sim.now() + Duration::from_secs(600);
        d.run_until(deadline, |s| links_up(s) == links)?;
        loop {
            d.run_for(Duration::from_millis(100))?;
            if converged(&d.sim, quiet) || d.sim.now() > deadline {
                break;
            }
        }
        let deadline = d.sim.now() + Duration::from_secs(300);
        d.run_until(deadline, |s| {
            pipes.iter().enumerate().skip(1).all(|(i, p)| {
                broken.contains(&(i as u32)) || received(s, p.b, i as u32).len() >= 2 * m as usize
            })
        })?;
    }

    // Phase 4: b0 sends its end of pipe 0 to the third node inside a
    // message, while a0 keeps sending; then the third node answers a0.
    d.phase = "transfer";
    d.command(
        first.b,
        Command::Transfer {
            pipe: 0,
            via: carrier,
        },
    )?;
    d.command(
        first.a,
        Command::Send {
            pipe: 0,
            first: m,
            count: m,
        },
    )?;
    let deadline = d.sim.now() + Duration::from_secs(300);
    d.run_until(deadline, |s| {
        received(s, third, 0).len() >= m as usize
            && s.node(third).is_some_and(|x| x.end(0).is_some())
    })?;
    d.command(
        third,
        Command::Send {
            pipe: 0,
            first: 0,
            count: m,
        },
    )?;
    let deadline = d.sim.now() + Duration::from_secs(300);
    d.run_until(deadline, |s| received(s, first.a, 0).len() >= m as usize)?;
    d.phase = "settling";
    // Long enough for a session to a node that is gone to fail (its
    // handshake deadline) and its records to be dropped.
    let deadline = d.sim.now() + Duration::from_secs(600);
    d.run_until(deadline, |s| s.nodes().iter().all(|x| x.node.is_idle()))?;
    let moved = d.sim.node(first.b).is_some_and(|x| x.end(0).is_none())
        && d.sim.node(third).is_some_and(|x| x.end(0).is_some());
    if o.churn > 0 {
        // Closing: every pipe end is closed; everything that referred to a
        // node that is gone (or to these pipes) must go away: ports,
        // proxies, sessions and correspondents of old keys.
        d.phase = "closing";
        for i in 0..n {
            for pipe in 0..=carrier {
                let id = NodeId::from_index(i);
                if d.sim.node(id).is_some_and(|x| x.end(pipe).is_some()) {
                    d.command(id, Command::Close { pipe })?;
                }
            }
        }
        let until = d.sim.now() + Duration::from_secs(400);
        d.run_until(until, |_| false)?;
    }
    if d.printed {
        eprintln!();
    }
    let pipe0_path = greedy_path(&d.sim, first.a, first.b);
    if std::env::var_os("OVERLAY_DEBUG").is_some() {
        let mut tot = [0u64; 8];
        for x in d.sim.nodes() {
            let st = x.node.stats();
            for (i, v) in [
                st.routed_dropped,
                st.e2e_dropped,
                st.e2e_refused,
                st.txq_full,
                st.no_session,
                st.no_route,
                st.stale_generation,
                st.dropped_early,
            ]
            .iter()
            .enumerate()
            {
                tot[i] += v;
            }
        }
        eprintln!(
            "routed_dropped e2e_dropped e2e_refused txq_full no_session no_route stale early: {tot:?}"
        );
        for (i, p) in all.iter().enumerate() {
            let (x, y) = (d.sim.node(p.a).unwrap(), d.sim.node(p.b).unwrap());
            eprintln!(
                "pipe {i}: {} -> {}: a got {} b got {}; a ports {:?} queued {}; b ports {:?} queued {}; a corr {:?} b corr {:?} a stats {:?}",
                p.a,
                p.b,
                x.received.get(&(i as u32)).map_or(0, |v| v.len()),
                y.received.get(&(i as u32)).map_or(0, |v| v.len()),
                x.node.ports().ports().collect::<Vec<_>>(),
                x.node.ports().queued_count(),
                y.node.ports().ports().collect::<Vec<_>>(),
                y.node.ports().queued_count(),
                x.node.correspondents().collect::<Vec<_>>().len(),
                y.node
                    .correspondents()
                    .map(|c| (c.1, c.2))
                    .collect::<Vec<_>>(),
                x.node.stats(),
            );
        }
    }

    // Checks.
    let sim = &d.sim;
    let mut checks = Vec::new();
    let up = links_up(sim);
    checks.push((format!("links: {up}/{links} up at both ends"), up == links));
    let roots: BTreeSet<[u8; 32]> = sim
        .nodes()
        .iter()
        .map(|x| x.node.routing().root().key)
        .collect();
    let components = sim.topology().components().len();
    let depth = sim
        .nodes()
        .iter()
        .map(|x| x.node.routing().coord().depth())
        .max()
        .unwrap_or(0);
    let parents_ok = sim.nodes().iter().all(|x| {
        let r = x.node.routing();
        r.is_root() == r.parent().is_none()
    });
    checks.push((
        format!(
            "routing: converged from cold start at {converged_at}, one root per component ({} of {components}), tree depth {depth}",
            roots.len()
        ),
        roots.len() == components && one_root_per_component(sim) && parents_ok,
    ));
    let seq = |from: u32, count: u32| (from..from + count).collect::<Vec<u32>>();
    let mut delivered = 0u64;
    let mut expected = 0u64;
    let mut pipes_ok = true;
    let per_pipe = if o.churn > 0 { 2 * m } else { m };
    for (i, p) in pipes.iter().enumerate().skip(1) {
        let got = received(sim, p.b, i as u32);
        if broken.contains(&(i as u32)) {
            // An end restarted: no duplicate, in order, a prefix.
            pipes_ok &= got.windows(2).all(|w| w[0] < w[1]);
            continue;
        }
        expected += u64::from(per_pipe);
        delivered += got.len() as u64;
        pipes_ok &= got == seq(0, per_pipe).as_slice();
    }
    checks.push((
        format!(
            "{} pipes: {per_pipe} messages each exactly once, in order ({} with a restarted end left out)",
            pipes.len().saturating_sub(1),
            broken.len()
        ),
        pipes_ok,
    ));
    let before = received(sim, first.b, 0);
    let after = received(sim, third, 0);
    let back = received(sim, first.a, 0);
    expected += 3 * u64::from(m);
    delivered += (before.len() + after.len() + back.len()) as u64;
    checks.push((
        format!(
            "pipe 0: {} -> {} then end moved to {}: exactly once, in order, both directions",
            first.a, first.b, third
        ),
        before == seq(0, m).as_slice()
            && after == seq(m, m).as_slice()
            && back == seq(0, m).as_slice(),
    ));
    let proxies_left: usize = sim.nodes().iter().map(OverlayNode::proxies).sum();
    let b0_peak = sim.node(first.b).map_or(0, |x| x.counters.proxy_peak);
    checks.push((
        format!(
            "proxy collapse: {} held a proxy (peak {b0_peak}), none left anywhere",
            first.b
        ),
        moved && b0_peak >= 1 && proxies_left == 0,
    ));
    let faults: u64 = sim.nodes().iter().map(OverlayNode::ports_faults).sum();
    checks.push((
        format!("ports: {faults} violations, dropped events or app errors"),
        faults == 0,
    ));
    let mut c = Counters::default();
    let mut s = overlay::Stats::default();
    for x in sim.nodes() {
        let y = x.counters;
        c.peer_up += y.peer_up;
        c.peer_down += y.peer_down;
        c.stale_refused += y.stale_refused;
        c.locations_needed += y.locations_needed;
        c.nodes_lost += y.nodes_lost;
        c.position_changes += y.position_changes;
        c.app_errors += y.app_errors;
        c.forged_injected += y.forged_injected;
        c.replays_injected += y.replays_injected;
        c.restarts += y.restarts;
        c.proxy_peak = c.proxy_peak.max(y.proxy_peak);
        add_stats(&mut s, x.node.stats());
        add_stats(&mut s, &x.retired);
    }
    let stats = sim.stats();
    checks.push((
        "every datagram accounted for: handed to a node or dropped by a link, none in flight"
            .into(),
        stats.sent + stats.duplicated == stats.delivered + stats.dropped() + stats.in_flight
            && s.datagrams_in == stats.delivered,
    ));
    // A forged datagram names no session (refused before any crypto) and
    // may be lost on its link like any other; a replayed one and every
    // link duplicate are refused by the replay window. Restarts and downed
    // links leave honest datagrams for sessions that are gone too.
    let churned = o.churn > 0;
    checks.push((
        format!(
            "forgeries: {} of {} forged datagrams refused unopened; {} refused by a link ({} replayed injected, {} link duplicates)",
            s.dropped_unknown_index, c.forged_injected, s.dropped_link, c.replays_injected, stats.duplicated
        ),
        s.dropped_unknown_index > 0
            && (churned
                || (s.dropped_unknown_index <= c.forged_injected + stats.duplicated
                    && s.dropped_header == 0
                    && s.dropped_link <= c.replays_injected + stats.duplicated)),
    ));
    // Nothing left over: every hop session is a link of the graph with the
    // current keys, every node idle, no record or queued datagram.
    let live: BTreeSet<[u8; 32]> = sim.nodes().iter().map(OverlayNode::key).collect();
    let mut stray = 0usize;
    for (i, x) in sim.nodes().iter().enumerate() {
        let id = NodeId::from_index(i);
        let nbr: BTreeSet<[u8; 32]> = t
            .neighbours(id)
            .iter()
            .filter_map(|&m| sim.node(m))
            .map(OverlayNode::key)
            .collect();
        let bad: Vec<_> = x
            .node
            .peers()
            .filter(|(p, _, up)| !up || !nbr.contains(&p.key))
            .collect();
        if !bad.is_empty() && std::env::var_os("OVERLAY_DEBUG").is_some() {
            for (p, a, up) in &bad {
                eprintln!(
                    "stray at {id}: {:02x}{:02x} gen {} addr {a} up {up}",
                    p.key[0], p.key[1], p.generation
                );
            }
        }
        stray += bad.len();
        stray += x
            .node
            .correspondents()
            .filter(|(k, _, inflight)| !live.contains(k) && *inflight > 0)
            .count();
        stray += x.node.records_in_use() + x.node.queued();
        if std::env::var_os("OVERLAY_DEBUG").is_some()
            && (x.node.records_in_use() + x.node.queued() > 0 || !x.node.is_idle())
        {
            eprintln!(
                "stray at {id}: records {} queued {} idle {} corr {:?}",
                x.node.records_in_use(),
                x.node.queued(),
                x.node.is_idle(),
                x.node
                    .correspondents()
                    .map(|(k, inc, f)| (format!("{:02x}{:02x}", k[0], k[1]), inc, f))
                    .collect::<Vec<_>>()
            );
        }
    }
    checks.push((
        format!("nothing left over: {stray} stray peer entries, records or queued datagrams"),
        stray == 0 && sim.nodes().iter().all(|x| x.node.is_idle()),
    ));
    if o.churn > 0 {
        let ports_left: usize = sim
            .nodes()
            .iter()
            .map(|x| x.node.ports().port_count())
            .sum();
        let old_corr: usize = sim
            .nodes()
            .iter()
            .map(|x| {
                x.node
                    .correspondents()
                    .filter(|(k, _, _)| !live.contains(k))
                    .count()
            })
            .sum();
        checks.push((
            format!(
                "after closing every pipe: {ports_left} ports left, {old_corr} correspondents of keys that are gone"
            ),
            ports_left == 0 && old_corr == 0,
        ));
    }
    if o.churn == 0 {
        checks.push((
            format!(
                "nothing given up: {} correspondents lost, {} sends refused, {} peer sessions down",
                c.nodes_lost, c.stale_refused, c.peer_down
            ),
            c.nodes_lost == 0 && c.stale_refused == 0,
        ));
    }
    let (path, path_ok) = pipe0_path;
    let shortest = t.bfs_distances(first.a)[first.b.index()].unwrap_or(0);
    checks.push((
        format!(
            "pipe 0's route: {} hops greedy, {shortest} shortest",
            path.len().saturating_sub(1)
        ),
        path_ok,
    ));
    let svg = svg(sim, &path);
    let digest = sim.trace_digest();
    let links_up_final = up;
    let mut outcome = Outcome {
        stats,
        digest,
        counters: c,
        overlay: s,
        links,
        links_up: links_up_final,
        links_up_at,
        converged_at,
        depth,
        pipes: pipes.clone(),
        third,
        delivered,
        expected,
        pipes_broken: broken.len(),
        proxies_left,
        path: (path, shortest),
        checks,
        svg,
    };
    if o.record_trace {
        // Replay the recorded inputs into freshly built nodes: every output
        // and timer must come out the same, and so must the final state.
        let trace = d.sim.take_trace();
        let final_state: Vec<(BTreeMap<u32, Vec<u32>>, Counters, overlay::Stats)> = d
            .sim
            .nodes()
            .iter()
            .map(|x| (x.received.clone(), x.counters, *x.node.stats()))
            .collect();
        drop(d);
        let fresh_needs: Needs = Rc::new(RefCell::new(BTreeSet::new()));
        let mut fresh_arena = Arena::new(t, &endpoints, &restarts);
        let mut fresh = fresh_arena.nodes(t, o.seed, &fresh_needs);
        let replayed = hyperport::sim::replay(&trace, &mut fresh);
        let same = fresh
            .iter()
            .zip(&final_state)
            .all(|(x, y)| x.received == y.0 && x.counters == y.1 && *x.node.stats() == y.2);
        outcome.checks.push((
            match &replayed {
                Ok(k) => format!(
                    "replay: {k} trace entries into fresh nodes, outputs and state identical"
                ),
                Err(e) => format!("replay: {e}"),
            },
            replayed.is_ok() && same,
        ));
    }
    Ok(outcome)
}

fn add_stats(a: &mut overlay::Stats, b: &overlay::Stats) {
    a.datagrams_in += b.datagrams_in;
    a.datagrams_out += b.datagrams_out;
    a.dropped_header += b.dropped_header;
    a.dropped_unknown_index += b.dropped_unknown_index;
    a.dropped_link += b.dropped_link;
    a.dropped_gate += b.dropped_gate;
    a.forwarded += b.forwarded;
    a.delivered += b.delivered;
    a.path_broken_sent += b.path_broken_sent;
    a.path_broken_received += b.path_broken_received;
    a.records_sent += b.records_sent;
    a.records_retransmitted += b.records_retransmitted;
    a.records_delivered += b.records_delivered;
    a.records_duplicate += b.records_duplicate;
    a.stale_generation += b.stale_generation;
    a.no_route += b.no_route;
    a.nodes_lost += b.nodes_lost;
    a.announce_too_big += b.announce_too_big;
}

/// Whether `t` keeps its number of components without the links in `cut`
/// and `extra`.
fn stays_connected(t: &Topology, cut: &[(NodeId, NodeId)], extra: (NodeId, NodeId)) -> bool {
    let n = t.node_count();
    let norm = |a: NodeId, b: NodeId| (a.min(b), a.max(b));
    let gone = |a: NodeId, b: NodeId| {
        let e = norm(a, b);
        e == norm(extra.0, extra.1) || cut.iter().any(|&(x, y)| norm(x, y) == e)
    };
    let mut seen = vec![false; n];
    let mut components = 0;
    for s in 0..n {
        if seen[s] {
            continue;
        }
        components += 1;
        seen[s] = true;
        let mut q = VecDeque::from([NodeId::from_index(s)]);
        while let Some(u) = q.pop_front() {
            for &v in t.neighbours(u) {
                if !seen[v.index()] && !gone(u, v) {
                    seen[v.index()] = true;
                    q.push_back(v);
                }
            }
        }
    }
    components == t.components().len()
}

/// Restarts node `id` (same key or a new one); its dialling neighbours
/// learn the new key from the directory. Pipes with an end there are broken.
fn restart(
    d: &mut Driver<'_, '_>,
    t: &Topology,
    seed: u64,
    id: NodeId,
    new_key: bool,
    pipes: &[Pipe],
    broken: &mut BTreeSet<u32>,
) -> Result<(), String> {
    let old = d.sim.node(id).map(OverlayNode::key).unwrap_or_default();
    d.command(id, Command::Restart { new_key })?;
    let key = d.sim.node(id).map(OverlayNode::key).unwrap_or_default();
    for (i, p) in pipes.iter().enumerate() {
        if p.a == id || p.b == id {
            broken.insert(i as u32);
        }
    }
    if new_key {
        d.keys.remove(&old);
        d.keys.insert(key, id);
        let _ = seed;
        for &m in t.neighbours(id) {
            if m < id {
                d.command(m, Command::HangUp { key: old })?;
                d.command(m, Command::Dial { peer: id, key })?;
            }
        }
    }
    Ok(())
}

// ----- the picture -----

/// Display only: the Poincaré-disk position of a slot path in a
/// hyperbolic tree layout: the child in slot `k` is reached by rotating by
/// `2πk/d`, translating by the distance that places the children of the
/// origin at Euclidean radius `r`, and turning around. Each move is an
/// SU(1,1) matrix `[[a, b], [b̄, ā]]` acting on the disk; the node is the
/// image of the origin. With `r = cos(π/d)` this is the embedding in which
/// greedy routing provably works (every node the centre of an ideal
/// `d`-gon); the picture uses a smaller `r` so that deep nodes stay
/// visible. Floats lose the ordering deep in the tree (radius ≈ 38), which
/// is why no routing decision uses them.
pub fn poincare(slots: &[u16], d: f64, r: f64) -> (f64, f64) {
    #[derive(Clone, Copy)]
    struct C(f64, f64);
    impl C {
        fn mul(self, o: C) -> C {
            C(self.0 * o.0 - self.1 * o.1, self.0 * o.1 + self.1 * o.0)
        }
        fn add(self, o: C) -> C {
            C(self.0 + o.0, self.1 + o.1)
        }
        fn conj(self) -> C {
            C(self.0, -self.1)
        }
    }
    // (a, b) stands for [[a, b], [conj b, conj a]].
    let compose = |(a, b): (C, C), (c, e): (C, C)| {
        (a.mul(c).add(b.mul(e.conj())), a.mul(e).add(b.mul(c.conj())))
    };
    let rotation = |theta: f64| (C((theta / 2.0).cos(), (theta / 2.0).sin()), C(0.0, 0.0));
    let g = 1.0 / (1.0 - r * r).sqrt();
    let translate = (C(g, 0.0), C(g * r, 0.0));
    let mut m = (C(1.0, 0.0), C(0.0, 0.0));
    for &k in slots {
        let theta = 2.0 * std::f64::consts::PI * f64::from(k) / d;
        m = compose(
            compose(compose(m, rotation(theta)), translate),
            rotation(std::f64::consts::PI),
        );
    }
    let (a, b) = m;
    // b / conj(a)
    let den = a.0 * a.0 + a.1 * a.1;
    ((b.0 * a.0 - b.1 * a.1) / den, (b.1 * a.0 + b.0 * a.1) / den)
}

/// The picture: nodes at their hyperbolic positions, tree links dark,
/// other links light, `path` in red.
fn svg(sim: &Sim<OverlayNode<'_>>, path: &[NodeId]) -> String {
    let t = sim.topology();
    let d = (0..t.node_count())
        .map(|i| t.degree(NodeId::from_index(i)))
        .max()
        .unwrap_or(2)
        .max(2) as f64
        + 1.0;
    let (size, radius) = (1000.0, 480.0);
    let pos: Vec<(f64, f64)> = sim
        .nodes()
        .iter()
        .map(|x| {
            let slots: Vec<u16> = x.node.routing().coord().slots().collect();
            let (px, py) = poincare(&slots, d, 0.55);
            (size / 2.0 + radius * px, size / 2.0 - radius * py)
        })
        .collect();
    let coord = |id: NodeId| sim.node(id).map(|x| x.node.routing().coord().clone());
    let tree = |a: NodeId, b: NodeId| {
        let (Some(ca), Some(cb)) = (coord(a), coord(b)) else {
            return false;
        };
        (ca.depth() == cb.depth() + 1 && ca.parent() == cb)
            || (cb.depth() == ca.depth() + 1 && cb.parent() == ca)
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">"#
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r##"<circle cx="{c}" cy="{c}" r="{radius}" fill="#f6f8fc" stroke="#9aa5b8" stroke-width="1.5"/>"##,
        c = size / 2.0
    );
    let line = |out: &mut String, a: usize, b: usize, style: &str| {
        let _ = writeln!(
            out,
            r#"<line x1="{:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" {style}/>"#,
            pos[a].0, pos[a].1, pos[b].0, pos[b].1
        );
    };
    for &(a, b) in t.edges() {
        if !tree(a, b) {
            line(
                &mut out,
                a.index(),
                b.index(),
                r##"stroke="#c9ced8" stroke-width="0.6" stroke-dasharray="3,2""##,
            );
        }
    }
    for &(a, b) in t.edges() {
        if tree(a, b) {
            line(
                &mut out,
                a.index(),
                b.index(),
                r##"stroke="#34507a" stroke-width="1.2""##,
            );
        }
    }
    for w in path.windows(2) {
        line(
            &mut out,
            w[0].index(),
            w[1].index(),
            r##"stroke="#d62728" stroke-width="3.5" stroke-linecap="round""##,
        );
    }
    for (i, x) in sim.nodes().iter().enumerate() {
        let r = if x.node.routing().is_root() { 6.0 } else { 2.5 };
        let fill = if path.first() == Some(&NodeId::from_index(i))
            || path.last() == Some(&NodeId::from_index(i))
        {
            "#d62728"
        } else if x.node.routing().is_root() {
            "#f0a30a"
        } else {
            "#34507a"
        };
        let _ = writeln!(
            out,
            r#"<circle cx="{:.2}" cy="{:.2}" r="{r}" fill="{fill}"><title>{} {:?}</title></circle>"#,
            pos[i].0,
            pos[i].1,
            NodeId::from_index(i),
            x.node.routing().coord()
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="12" y="24" font-family="sans-serif" font-size="14" fill="#333">hyperport overlay: {} nodes in the Poincaré disk (display only); tree links solid, other links dashed, pipe 0's routed path red</text>"##,
        t.node_count()
    );
    out.push_str("</svg>\n");
    out
}

// ----- the command line -----

/// Command-line options.
#[derive(clap::Parser, Debug)]
#[command(
    name = "overlay",
    about = "An encrypted overlay in the deterministic simulator: link sessions, the routing protocol and ports over a real topology, with checks",
    after_help = "Exits 0 when every check passes, 1 when a check fails, 2 on a bad argument or an unreadable edge list."
)]
pub struct Cli {
    /// Edge list to load (default: vectors/topologies/zoo-Geant2012.txt).
    pub edgelist: Option<PathBuf>,
    /// Scenario seed (keys, links, sample, churn).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Node pairs that open a pipe.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub pipes: u32,
    /// User messages per pipe and phase (at most 48).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=48))]
    pub messages: u32,
    /// Churn rounds: links go down and up, nodes restart (0: none).
    #[arg(long, default_value_t = 0)]
    pub churn: u32,
    /// Link loss, in parts per million.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(0..=500_000))]
    pub loss_ppm: u32,
    /// Link duplication, in parts per million.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(0..=500_000))]
    pub duplicate_ppm: u32,
    /// Link reordering, in parts per million.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub reorder_ppm: u32,
    /// Where to write the picture.
    #[arg(long, default_value = "overlay.svg")]
    pub svg: PathBuf,
    /// Do not write the picture.
    #[arg(long)]
    pub no_svg: bool,
    /// Skip the trace replay check (it is on for graphs up to 1,000 nodes).
    #[arg(long)]
    pub no_replay: bool,
    /// Skip the rerun with the same seed.
    #[arg(long)]
    pub no_rerun: bool,
}

#[allow(dead_code)] // unused when the tests include this file as a module
fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    let path = cli.edgelist.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/topologies/zoo-Geant2012.txt")
    });
    let topology = match Topology::from_file(&path) {
        Ok(t) => t,
        Err(e) => cli::fail(format_args!("{}: {e}", path.display())),
    };
    // The picture's file is created now, so a bad path fails before the run.
    let mut svg_file = if cli.no_svg {
        None
    } else {
        match std::fs::File::create(&cli.svg) {
            Ok(f) => Some(f),
            Err(e) => cli::fail(format_args!("{}: {e}", cli.svg.display())),
        }
    };
    let mut o = Options::new(topology, cli.seed);
    o.pipes = cli.pipes as usize;
    o.messages = cli.messages;
    o.churn = cli.churn;
    o.link = o
        .link
        .with_loss_ppm(cli.loss_ppm)
        .with_duplicate_ppm(cli.duplicate_ppm)
        .with_reorder_ppm(cli.reorder_ppm);
    o.record_trace = !cli.no_replay && o.topology.node_count() <= 1_000;
    o.progress = true;
    let t = &o.topology;
    println!(
        "overlay: an encrypted overlay in the deterministic simulator (hyperport::overlay::Node)"
    );
    println!(
        "topology   {}: {} nodes, {} links, {} component(s)",
        path.display(),
        t.node_count(),
        t.edge_count(),
        t.components().len()
    );
    println!(
        "links      latency 2-20 ms, loss {:.1} %, duplicate {:.1} %, reorder {:.1} %, MTU {MTU}; seed {}",
        f64::from(cli.loss_ppm) / 1e4,
        f64::from(cli.duplicate_ppm) / 1e4,
        f64::from(cli.reorder_ppm) / 1e4,
        cli.seed
    );
    println!(
        "sessions   {} per neighbour (link), routed end-to-end sessions per correspondent",
        overlay::Config::default().hop.params.name()
    );
    let [peer, corr, rec, tx] = ONode::size_of_slots();
    println!(
        "memory     node {} B + per neighbour {} B (peer slot + routing entry) + per correspondent {corr} B, record {rec} B, transmit slot {tx} B",
        std::mem::size_of::<ONode<'static>>(),
        peer + std::mem::size_of::<NeighbourEntry>()
    );
    let wall = std::time::Instant::now();
    let out = match run(&o) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("overlay: run failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let wall_run = wall.elapsed();
    let (c, s, st) = (&out.counters, &out.overlay, &out.stats);
    println!(
        "cold start {}/{} links up by {}, routing converged at {} (tree depth {}, {} position changes)",
        out.links_up, out.links, out.links_up_at, out.converged_at, out.depth, c.position_changes
    );
    println!(
        "datagrams  {} sent; link dropped {} (loss {}, mtu {}, partition {}), duplicated {}, reordered {}",
        st.sent,
        st.dropped(),
        st.dropped_loss,
        st.dropped_mtu,
        st.dropped_partition,
        st.duplicated,
        st.reordered
    );
    println!(
        "           refused: {} bad header, {} unknown index, {} by a link (replay, forgery, duplicate); {} forged + {} replayed injected",
        s.dropped_header,
        s.dropped_unknown_index,
        s.dropped_link,
        c.forged_injected,
        c.replays_injected
    );
    println!(
        "routing    {} packets forwarded, {} delivered, {} path-broken notices sent, {} received",
        s.forwarded, s.delivered, s.path_broken_sent, s.path_broken_received
    );
    println!(
        "streams    {} records sent, {} retransmitted, {} delivered in order, {} duplicates dropped; {} location requests answered",
        s.records_sent,
        s.records_retransmitted,
        s.records_delivered,
        s.records_duplicate,
        c.locations_needed
    );
    if o.churn > 0 {
        println!(
            "churn      {} rounds: {} restarts, {} peer sessions down, {} correspondents lost, {} stale sends refused",
            o.churn, c.restarts, c.peer_down, c.nodes_lost, c.stale_refused
        );
    }
    let adjacent = out.pipes.iter().filter(|p| p.hops == 1).count();
    let max_hops = out.pipes.iter().map(|p| p.hops).max().unwrap_or(0);
    println!(
        "ports      {} pipes ({adjacent} between neighbours, up to {max_hops} hops), {} messages each; pipe 0's end moved {} -> {} inside a message",
        out.pipes.len(),
        o.messages,
        out.pipes[0].b,
        out.third
    );
    println!(
        "app        {}/{} user messages delivered exactly once, in order; {} proxies left",
        out.delivered, out.expected, out.proxies_left
    );
    println!(
        "run        virtual time {}, {} steps ({} timeouts, {} commands), wall {:.1} ms",
        st.now,
        st.steps,
        st.timeouts,
        st.commands,
        wall_run.as_secs_f64() * 1e3
    );
    println!("trace      digest {}", out.digest);
    let mut ok = out.ok();
    for (name, pass) in &out.checks {
        println!("check      {} {name}", if *pass { "ok  " } else { "FAIL" });
    }
    if !cli.no_rerun {
        let mut again_opts = o.clone();
        again_opts.record_trace = false;
        match run(&again_opts) {
            Ok(again) => {
                let same = again.digest == out.digest && again.stats == out.stats;
                ok &= same;
                println!(
                    "check      {} rerun with the same seed: digest {}",
                    if same { "ok  " } else { "FAIL" },
                    if same { "identical" } else { "DIFFERENT" }
                );
            }
            Err(e) => {
                ok = false;
                println!("check      FAIL rerun: {e}");
            }
        }
    }
    if let Some(f) = svg_file.as_mut() {
        use std::io::Write as _;
        match f.write_all(out.svg.as_bytes()) {
            Ok(()) => println!(
                "picture    {} (Poincaré disk; pipe 0's path in red, {} hops)",
                cli.svg.display(),
                out.path.0.len().saturating_sub(1)
            ),
            Err(e) => cli::fail(format_args!("{}: {e}", cli.svg.display())),
        }
    }
    println!("wall total {:.1} ms", wall.elapsed().as_secs_f64() * 1e3);
    if ok {
        println!("result     all checks passed");
        ExitCode::SUCCESS
    } else {
        println!("result     FAILED");
        ExitCode::FAILURE
    }
}
