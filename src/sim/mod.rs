//! A deterministic discrete-event network simulator: the harness in which
//! the crate's machines are tested and measured (feature `sim`, uses `std`).
//!
//! A [`Sim`] holds `N` nodes, each a sans-IO machine implementing
//! [`SimNode`], joined by undirected links ([`LinkConfig`]: seeded latency
//! range, loss, duplication, reordering, MTU). It moves byte messages between
//! nodes, fires their timers on a virtual clock, applies scheduled faults
//! (link and node-set partitions, heals, nodes going down and up) and records
//! every input each node received, with the outputs it produced, as a
//! [`trace`](Sim::trace). The same seed gives the same trace, bit for bit, on
//! every target; [`replay`] feeds a trace into fresh nodes and checks they
//! produce the same outputs.
//!
//! ```
//! use hyperport::sim::{LinkConfig, NodeId, Sim, SimConfig, SimNode, Transmit};
//! use hyperport::time::{Duration, Instant};
//!
//! /// Answers every message with `pong`, once.
//! #[derive(Default)]
//! struct Echo { out: Vec<Transmit>, got: Vec<Vec<u8>> }
//!
//! impl SimNode for Echo {
//!     type Command = NodeId; // "ping this node"
//!     fn handle_message(&mut self, _now: Instant, from: NodeId, msg: &[u8]) {
//!         self.got.push(msg.to_vec());
//!         if msg == b"ping" {
//!             self.out.push(Transmit { to: from, payload: b"pong".to_vec() });
//!         }
//!     }
//!     fn handle_command(&mut self, _now: Instant, to: NodeId) {
//!         self.out.push(Transmit { to, payload: b"ping".to_vec() });
//!     }
//!     fn poll_transmit(&mut self) -> Option<Transmit> {
//!         self.out.pop()
//!     }
//! }
//!
//! let mut sim = Sim::new(SimConfig::with_seed(7), vec![Echo::default(), Echo::default()]);
//! sim.connect(NodeId(0), NodeId(1), LinkConfig::fixed(Duration::from_millis(5))).unwrap();
//! sim.command(NodeId(0), NodeId(1)).unwrap();
//! let stats = sim.run_until_quiet(100).unwrap();
//! assert_eq!(sim.node(NodeId(0)).unwrap().got, [b"pong".to_vec()]);
//! assert_eq!(stats.now, Instant::from_millis(10)); // one round trip
//! assert_eq!(stats.delivered, 2);
//! ```
//!
//! # Driving a protocol machine
//!
//! Wrap the machine in a small adapter that implements [`SimNode`]:
//!
//! * `handle_message` passes the bytes to the machine's `handle_*` input
//!   (for a stream machine, as one chunk or split as the test likes);
//! * `poll_transmit` drains the machine's `poll_transmit` into owned
//!   [`Transmit`]s (copy out of the machine's caller buffer), naming the
//!   neighbour the machine addressed;
//! * `poll_timeout` / `handle_timeout` forward to the machine's;
//! * the machine's `poll_event` outputs are drained inside the adapter after
//!   every input and kept in the adapter (a `Vec` of events), where the test
//!   reads them with [`Sim::node`];
//! * everything the scenario asks of a node (open a session, send on a port,
//!   originate a route announcement) is a variant of the adapter's
//!   [`SimNode::Command`] enum, so the trace replays it;
//! * the machine's randomness comes from a seed given at construction
//!   ([`node_seed`]), so [`replay`] can rebuild identical nodes.
//!
//! All nodes of a simulation share one type: give different kinds of node
//! (initiator and responder, a relay) a role field or make the adapter an
//! enum. For two parties, [`Sim::pair`]; for a real graph, [`Topology::from_file`]
//! and [`Sim::with_topology`]; to wait for an outcome,
//! [`Sim::run_until_condition`].
//!
//! # Time model
//!
//! Virtual time is a [`crate::time::Instant`] starting at [`Instant::ZERO`].
//! Nothing happens between events: [`Sim::step`] jumps the clock straight to
//! the earliest pending event (a message arrival, a scheduled fault, or a
//! node's `poll_timeout` deadline) and processes exactly that event. The
//! clock never goes backwards; a node deadline already in the past (e.g. one
//! that fell due while the node was down) fires at the current time.
//! [`Sim::command`] and [`Sim::with_node`] act at the current time and do not
//! move the clock; [`Sim::run_until`] leaves the clock at its target.
//! [`Instant::MAX`] from `poll_timeout` means "no timer".
//!
//! # What a step is
//!
//! One call of [`Sim::step`] processes one event: delivering one message
//! (or dropping it on arrival: destination down, or partitioned), firing one
//! node's timeout, or applying one scheduled fault. After every input to a
//! node (message, timeout, command, closure) the simulator drains the node's
//! `poll_transmit` until `None`, hands each transmit to its link **in drain
//! order**, then reads `poll_timeout` once. Commands and closures are inputs
//! but not steps.
//!
//! # Event ordering (ties)
//!
//! Events are ordered by the key `(time, class, sequence)`:
//! at equal times, scheduled faults (class 0) come before message arrivals
//! (class 1), which come before timeouts (class 2). Faults and arrivals of
//! equal time are taken in the order they were scheduled (a global counter
//! incremented for every scheduled fault and every message copy, so two
//! copies sent by one drain arrive in drain order when their times are
//! equal); timeouts of equal deadline are taken by ascending [`NodeId`]. All
//! randomness is drawn from one [`SplitMix64`] seeded by
//! [`SimConfig::seed`], only when a transmit enters a link, in the fixed
//! order documented on [`LinkConfig`]. Nothing depends on hash-map iteration
//! order or on the host.
//!
//! # Faults
//!
//! * [`Partition::Link`] blocks one link in both directions;
//!   [`Partition::Cut`] blocks every link between a node set and the rest.
//!   A message is dropped (`dropped_partition`) if it is blocked when sent or
//!   when it arrives: traffic in flight across a new partition is lost. A heal
//!   names the same link or the same set (in any order) and removes one
//!   matching partition; healing something not partitioned does nothing.
//! * A node that is **down** receives nothing: messages arriving for it are
//!   dropped (`dropped_node_down`), it is given no timeouts and refuses
//!   commands ([`SimError::NodeDown`]). Its timers are paused, not shifted: it
//!   keeps its state and its deadlines, and when it comes back up a deadline
//!   that fell due meanwhile fires at the up time (like a process resumed
//!   after suspension). Its messages already in flight are still delivered.
//!   A node already down at the first step misses the start-up drain: what
//!   it queued at construction goes out after its first input.
//!
//! # Bounds and memory
//!
//! * [`Sim::run_until_quiet`] takes a step bound and [`Sim::run_until`] uses
//!   [`SimConfig::step_limit`]: a run that never goes quiet fails with
//!   [`SimError::StepLimit`] instead of hanging.
//! * A node must keep the `poll_timeout` contract (a `handle_timeout` at the
//!   deadline moves it strictly later or to `None`); a violation is
//!   [`SimError::TimerNotAdvanced`], never a spin.
//! * [`SimConfig::max_transmits_per_input`] and [`SimConfig::max_in_flight`]
//!   bound one drain and the event queue.
//! * Memory (64-bit host, measured with `size_of`): the nodes themselves;
//!   per node about 80 bytes (flags, two deadlines, adjacency list, timer
//!   set entry); per link 96 bytes plus about 40 of index and adjacency; per
//!   message copy in flight 64 bytes plus its payload. The trace (on by
//!   default, [`SimConfig::record_trace`]) keeps every entry until taken:
//!   88 bytes per entry plus 32 per output, and every payload twice (once
//!   as the sender's output, once as the receiver's input). Turn it off for
//!   large runs; the digest is computed incrementally either way.

mod link;
mod topology;
mod trace;

pub use link::{LinkConfig, PPM, SplitMix64};
pub use topology::{MAX_NODES, Topology, TopologyError};
pub use trace::{DigestWriter, ReplayError, TraceDigest, TraceEntry, TraceInput, digest, replay};

use core::cmp::{Ordering, Reverse};
use core::fmt;
use core::hash::Hash;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::vec::Vec;

use crate::time::{Duration, Instant};

/// A node's index in a [`Sim`] and a [`Topology`] (`0..node_count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node vectors.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of index `i`, saturating at `u32::MAX` (an id no simulation
    /// has, since [`MAX_NODES`] is far below it).
    pub fn from_index(i: usize) -> Self {
        NodeId(u32::try_from(i).unwrap_or(u32::MAX))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {}", self.0)
    }
}

/// A 32-byte seed for node `node`'s own randomness (for example
/// [`crate::rng::SeededRng::from_seed`]), derived from a scenario seed with
/// [`SplitMix64`]: distinct per node, the same on every run and target.
/// Build nodes with it so that a replay rebuilds identical nodes.
pub fn node_seed(seed: u64, node: NodeId) -> [u8; 32] {
    let mut r = SplitMix64::new(seed ^ u64::from(node.0).wrapping_mul(0xd6e8_feb8_6659_fd93));
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        chunk.copy_from_slice(&r.next_u64().to_le_bytes());
    }
    out
}

/// A message a node wants sent to a neighbour.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transmit {
    /// Destination; must be a neighbour, else the message is dropped and
    /// counted (`dropped_no_link`).
    pub to: NodeId,
    /// The bytes.
    pub payload: Vec<u8>,
}

/// A sans-IO machine the simulator can drive.
///
/// The simulator calls exactly one `handle_*` per input, then drains
/// [`poll_transmit`](Self::poll_transmit) until `None`, then reads
/// [`poll_timeout`](Self::poll_timeout) once. A node must be a deterministic
/// function of its construction and its inputs (own randomness seeded at
/// construction) for [`replay`] to succeed.
pub trait SimNode {
    /// A command injected by a test or scenario ([`Sim::command`]). It is
    /// recorded in the trace, so it must be data: `Clone` to keep a copy and
    /// `Hash` to enter the trace digest (derive it). Use `()` for none.
    type Command: Clone + fmt::Debug + Hash;

    /// A message `msg` from neighbour `from` arrived at `now`.
    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]);

    /// The deadline returned by `poll_timeout` has come (`now` is at or
    /// after it). Default: nothing.
    fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// A command from the scenario. Default: ignore it.
    fn handle_command(&mut self, now: Instant, command: Self::Command) {
        let _ = (now, command);
    }

    /// The next instant this node wants `handle_timeout`, or `None`.
    /// Contract: `handle_timeout` at that instant moves it strictly later or
    /// to `None`. Default: `None`.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The next message to send, drained until `None` after every input.
    fn poll_transmit(&mut self) -> Option<Transmit>;
}

/// Simulator configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed of the PRNG driving every link. Default 0.
    pub seed: u64,
    /// Keep every [`TraceEntry`] (needed for [`Sim::trace`] and [`replay`]).
    /// The digest is computed either way. Default `true`.
    pub record_trace: bool,
    /// Step bound of [`Sim::run_until`]. Default 10 000 000.
    pub step_limit: u64,
    /// Most transmits one input may produce; more is
    /// [`SimError::TransmitFlood`]. Default 65 536.
    pub max_transmits_per_input: usize,
    /// Most message copies in flight; more is [`SimError::InFlightLimit`].
    /// Default 4 194 304 (worst case 256 MiB of queue entries plus payloads).
    pub max_in_flight: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            record_trace: true,
            step_limit: 10_000_000,
            max_transmits_per_input: 65_536,
            max_in_flight: 4_194_304,
        }
    }
}

impl SimConfig {
    /// The default configuration with the given seed.
    pub fn with_seed(seed: u64) -> Self {
        SimConfig {
            seed,
            ..SimConfig::default()
        }
    }
}

/// A set of links to block ([`Sim::partition`]) or unblock ([`Sim::heal`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    /// The link between two nodes, both directions.
    Link(NodeId, NodeId),
    /// Every link with exactly one end in this set.
    Cut(Vec<NodeId>),
}

/// A fault to apply at a virtual time ([`Sim::schedule`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Block links.
    Partition(Partition),
    /// Unblock links blocked by an equal [`Partition`].
    Heal(Partition),
    /// Take a node down.
    NodeDown(NodeId),
    /// Bring a node back up.
    NodeUp(NodeId),
}

/// Counters of a simulation, cumulative since it was built.
///
/// Invariant: `sent + duplicated == delivered + dropped() + in_flight`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Events processed (arrivals, timeouts, faults).
    pub steps: u64,
    /// The virtual clock.
    pub now: Instant,
    /// Transmits drained from nodes.
    pub sent: u64,
    /// Message copies handed to a node's `handle_message`.
    pub delivered: u64,
    /// Dropped by link loss.
    pub dropped_loss: u64,
    /// Dropped because a partition blocked them (at send or arrival).
    pub dropped_partition: u64,
    /// Dropped because the destination is not a neighbour (or not a node).
    pub dropped_no_link: u64,
    /// Dropped for exceeding the link's MTU.
    pub dropped_mtu: u64,
    /// Dropped on arrival at a node that was down.
    pub dropped_node_down: u64,
    /// Extra copies made by link duplication.
    pub duplicated: u64,
    /// Copies held back (and exempt from FIFO) by link reordering.
    pub reordered: u64,
    /// `handle_timeout` calls.
    pub timeouts: u64,
    /// `handle_command` calls.
    pub commands: u64,
    /// Message copies still in flight.
    pub in_flight: u64,
}

impl RunStats {
    /// All drops together.
    pub fn dropped(&self) -> u64 {
        self.dropped_loss
            .saturating_add(self.dropped_partition)
            .saturating_add(self.dropped_no_link)
            .saturating_add(self.dropped_mtu)
            .saturating_add(self.dropped_node_down)
    }
}

/// Why the simulator stopped or refused an operation.
///
/// After [`SimError::StepLimit`] or a refused operation (unknown node, node
/// down, no link) the simulation is intact and can go on. After a node
/// misbehaved ([`SimError::TimerNotAdvanced`], [`SimError::TransmitFlood`],
/// [`SimError::InFlightLimit`]) the input that caused it is recorded only in
/// part: inspect the nodes, but do not trust further steps.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// The run hit its step bound with events still pending: a node set that
    /// never goes quiet (livelock, perpetual timers). Use `run_until` for
    /// machines with periodic timers, or raise the bound.
    StepLimit {
        /// Steps taken by the run that failed.
        steps: u64,
        /// Virtual time when it stopped.
        now: Instant,
        /// Messages still in flight.
        in_flight: u64,
    },
    /// No node has this id.
    UnknownNode {
        /// The id.
        node: NodeId,
    },
    /// The two nodes are not linked (for a link partition or heal).
    NoLink {
        /// One end.
        a: NodeId,
        /// The other end.
        b: NodeId,
    },
    /// The node is down: it takes no commands or closures.
    NodeDown {
        /// The node.
        node: NodeId,
    },
    /// The node broke the `poll_timeout` contract: after `handle_timeout` at
    /// its deadline it returned a deadline not strictly later.
    TimerNotAdvanced {
        /// The node.
        node: NodeId,
        /// Deadline that fired.
        deadline: Instant,
        /// Deadline it returned next.
        next: Instant,
    },
    /// One input produced more than [`SimConfig::max_transmits_per_input`] transmits.
    TransmitFlood {
        /// The node.
        node: NodeId,
        /// The bound.
        limit: usize,
    },
    /// More than [`SimConfig::max_in_flight`] copies would be in flight.
    InFlightLimit {
        /// The bound.
        limit: usize,
    },
    /// The node list and the topology disagree on the node count.
    NodeCountMismatch {
        /// Nodes given.
        nodes: usize,
        /// Nodes in the topology.
        topology: usize,
    },
    /// A link could not be added (self-loop, unknown node).
    Topology(TopologyError),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::StepLimit {
                steps,
                now,
                in_flight,
            } => write!(
                f,
                "simulation did not go quiet within {steps} steps (virtual time {now}, \
                 {in_flight} messages in flight): livelock or perpetual timers"
            ),
            SimError::UnknownNode { node } => write!(f, "{node} does not exist"),
            SimError::NoLink { a, b } => write!(f, "{a} and {b} are not linked"),
            SimError::NodeDown { node } => write!(f, "{node} is down and takes no input"),
            SimError::TimerNotAdvanced {
                node,
                deadline,
                next,
            } => write!(
                f,
                "{node} broke the poll_timeout contract: after handle_timeout at {deadline} \
                 it asked for {next}, not strictly later"
            ),
            SimError::TransmitFlood { node, limit } => {
                write!(f, "{node} queued more than {limit} transmits for one input")
            }
            SimError::InFlightLimit { limit } => {
                write!(f, "more than {limit} messages in flight")
            }
            SimError::NodeCountMismatch { nodes, topology } => {
                write!(f, "{nodes} nodes given for a topology of {topology} nodes")
            }
            SimError::Topology(e) => write!(f, "bad link: {e}"),
        }
    }
}

impl core::error::Error for SimError {}

impl From<TopologyError> for SimError {
    fn from(e: TopologyError) -> Self {
        SimError::Topology(e)
    }
}

/// Event class: orders events of equal time (see the module docs).
const CLASS_FAULT: u8 = 0;
const CLASS_ARRIVAL: u8 = 1;

#[derive(Debug)]
enum Event {
    Arrival {
        from: NodeId,
        to: NodeId,
        payload: Vec<u8>,
    },
    Fault(Fault),
}

#[derive(Debug)]
struct Queued {
    /// `(time, class, sequence)` packed for one comparison: time in the
    /// high 64 bits, the class in bit 63 of the low half, the sequence
    /// number (below 2^63: more events than any run can schedule) under it.
    key: u128,
    at: Instant,
    event: Event,
}

impl Queued {
    fn new(at: Instant, class: u8, seq: u64, event: Event) -> Self {
        let order = u64::from(class & 1).wrapping_shl(63) | (seq & (u64::MAX >> 1));
        let key = u128::from(at.as_micros()).wrapping_shl(64) | u128::from(order);
        Queued { key, at, event }
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

#[derive(Clone, Debug)]
struct Link {
    config: LinkConfig,
    /// Number of active `Partition::Link` on this link.
    cut: u32,
    /// Latest FIFO arrival per direction: `[low -> high, high -> low]`.
    fifo: [Instant; 2],
    /// When the sender side is free again per direction (bandwidth).
    busy_until: [Instant; 2],
}

#[derive(Clone, Debug)]
struct Cut {
    members: Vec<NodeId>,
    inside: Vec<bool>,
}

fn bump(x: &mut u64) {
    *x = x.saturating_add(1);
}

fn link_key(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The simulator: nodes, links, the virtual clock, the event queue, faults,
/// statistics and the trace. See the [module docs](self).
pub struct Sim<N: SimNode> {
    config: SimConfig,
    nodes: Vec<N>,
    down: Vec<bool>,
    /// Deadline as the node returned it (for the contract check).
    raw_deadline: Vec<Option<Instant>>,
    /// Deadline as scheduled (clamped to the clock), key in `timers`.
    sched_deadline: Vec<Option<Instant>>,
    timers: BTreeSet<(Instant, NodeId)>,
    topology: Topology,
    links: Vec<Link>,
    link_index: HashMap<(NodeId, NodeId), usize>,
    cuts: Vec<Cut>,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    rng: SplitMix64,
    now: Instant,
    stats: RunStats,
    started: bool,
    trace: Vec<TraceEntry<N::Command>>,
    digest: DigestWriter,
}

impl<N: SimNode> fmt::Debug for Sim<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("nodes", &self.nodes.len())
            .field("links", &self.links.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<N: SimNode> Sim<N> {
    /// A simulation of `nodes` (node `i` gets [`NodeId`] `i`) with no links
    /// yet; add them with [`Sim::connect`]. More than [`MAX_NODES`] nodes
    /// are truncated to [`MAX_NODES`].
    pub fn new(config: SimConfig, mut nodes: Vec<N>) -> Self {
        nodes.truncate(MAX_NODES);
        let n = nodes.len();
        // Cannot fail: n <= MAX_NODES.
        let topology = Topology::new(n).unwrap_or_else(|_| Topology::empty());
        Sim {
            config,
            nodes,
            down: std::vec![false; n],
            raw_deadline: std::vec![None; n],
            sched_deadline: std::vec![None; n],
            timers: BTreeSet::new(),
            topology,
            links: Vec::new(),
            link_index: HashMap::new(),
            cuts: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: SplitMix64::new(config.seed),
            now: Instant::ZERO,
            stats: RunStats::default(),
            started: false,
            trace: Vec::new(),
            digest: DigestWriter::new(),
        }
    }

    /// A simulation of `nodes` linked as `topology`, every link configured
    /// as `link`. The node count must match.
    pub fn with_topology(
        config: SimConfig,
        nodes: Vec<N>,
        topology: &Topology,
        link: LinkConfig,
    ) -> Result<Self, SimError> {
        if nodes.len() != topology.node_count() {
            return Err(SimError::NodeCountMismatch {
                nodes: nodes.len(),
                topology: topology.node_count(),
            });
        }
        let mut sim = Sim::new(config, nodes);
        for &(a, b) in topology.edges() {
            sim.connect(a, b, link)?;
        }
        Ok(sim)
    }

    /// Two nodes, `a` as [`NodeId`] 0 and `b` as 1, on one link: the
    /// two-party set-up (handshakes, transports).
    pub fn pair(config: SimConfig, a: N, b: N, link: LinkConfig) -> Self {
        let mut sim = Sim::new(config, std::vec![a, b]);
        // Cannot fail: two distinct, existing, unlinked nodes.
        let _ = sim.connect(NodeId(0), NodeId(1), link);
        sim
    }

    /// Links `a` and `b` (both directions) with `config`, or reconfigures
    /// the existing link (its partitions and FIFO state are kept).
    pub fn connect(&mut self, a: NodeId, b: NodeId, config: LinkConfig) -> Result<(), SimError> {
        if let Some(&i) = self.link_index.get(&link_key(a, b))
            && let Some(link) = self.links.get_mut(i)
        {
            link.config = config;
            return Ok(());
        }
        self.topology.add_edge(a, b)?;
        self.link_index.insert(link_key(a, b), self.links.len());
        self.links.push(Link {
            config,
            cut: 0,
            fifo: [Instant::ZERO; 2],
            busy_until: [Instant::ZERO; 2],
        });
        Ok(())
    }

    /// The configuration of the link `a - b`, if linked.
    pub fn link_config(&self, a: NodeId, b: NodeId) -> Option<&LinkConfig> {
        let i = *self.link_index.get(&link_key(a, b))?;
        self.links.get(i).map(|l| &l.config)
    }

    /// The link graph.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A node, for inspection.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes.get(id.index())
    }

    /// A node, mutably, **without** draining it or recording anything:
    /// changes made here are invisible to the trace and can make a replay
    /// diverge, transmits it queues wait for the node's next input, and a
    /// deadline it changes is not seen until then either. Use
    /// [`Sim::command`] (replayable) or [`Sim::with_node`] to act on a node.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut N> {
        self.nodes.get_mut(id.index())
    }

    /// All nodes, indexed by id.
    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }

    /// Whether `id` is down.
    pub fn is_down(&self, id: NodeId) -> bool {
        self.down.get(id.index()).copied().unwrap_or(false)
    }

    /// The counters so far.
    pub fn stats(&self) -> RunStats {
        self.stats
    }

    /// Every entry recorded so far (empty if [`SimConfig::record_trace`] is off).
    pub fn trace(&self) -> &[TraceEntry<N::Command>] {
        &self.trace
    }

    /// Takes the recorded trace out, leaving it empty (the digest still
    /// covers it).
    pub fn take_trace(&mut self) -> Vec<TraceEntry<N::Command>> {
        core::mem::take(&mut self.trace)
    }

    /// The digest of every entry so far, recorded or not.
    pub fn trace_digest(&self) -> TraceDigest {
        self.digest.digest()
    }

    /// True when nothing is pending: no message in flight, no scheduled
    /// fault, no timer of a node that is up.
    pub fn is_quiet(&self) -> bool {
        self.queue.is_empty() && self.timers.is_empty()
    }

    /// The time of the next event, if any.
    pub fn next_event_time(&self) -> Option<Instant> {
        let ev = self.queue.peek().map(|Reverse(q)| q.at);
        let tm = self.timers.first().map(|&(t, _)| t);
        match (ev, tm) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Gives `command` to node `id` now, then drains it. Recorded in the
    /// trace and replayable. Not a step.
    pub fn command(&mut self, id: NodeId, command: N::Command) -> Result<(), SimError> {
        self.start()?;
        let now = self.now;
        let node = self.up_node(id)?;
        node.handle_command(now, command.clone());
        bump(&mut self.stats.commands);
        self.after_input(id, TraceInput::Command(command), None)
    }

    /// Runs `f` on node `id` with the current time, then drains it. The
    /// trace records an opaque entry, which [`replay`] refuses: prefer
    /// [`Sim::command`] where replay matters. Not a step.
    pub fn with_node<R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut N, Instant) -> R,
    ) -> Result<R, SimError> {
        self.start()?;
        let now = self.now;
        let node = self.up_node(id)?;
        let r = f(node, now);
        self.after_input(id, TraceInput::Opaque, None)?;
        Ok(r)
    }

    /// Applies `fault` at virtual time `at` (a time already past means the
    /// next step). Ids and links are checked now.
    pub fn schedule(&mut self, at: Instant, fault: Fault) -> Result<(), SimError> {
        self.check_fault(&fault)?;
        let at = at.max(self.now);
        self.push(at, CLASS_FAULT, Event::Fault(fault))
    }

    /// Schedules a partition at `at`.
    pub fn schedule_partition(&mut self, at: Instant, p: Partition) -> Result<(), SimError> {
        self.schedule(at, Fault::Partition(p))
    }

    /// Schedules a heal at `at`.
    pub fn schedule_heal(&mut self, at: Instant, p: Partition) -> Result<(), SimError> {
        self.schedule(at, Fault::Heal(p))
    }

    /// Schedules node `id` going down at `at`.
    pub fn schedule_node_down(&mut self, at: Instant, id: NodeId) -> Result<(), SimError> {
        self.schedule(at, Fault::NodeDown(id))
    }

    /// Schedules node `id` coming up at `at`.
    pub fn schedule_node_up(&mut self, at: Instant, id: NodeId) -> Result<(), SimError> {
        self.schedule(at, Fault::NodeUp(id))
    }

    /// Applies a partition now.
    pub fn partition(&mut self, p: Partition) -> Result<(), SimError> {
        self.apply_now(Fault::Partition(p))
    }

    /// Heals a partition now.
    pub fn heal(&mut self, p: Partition) -> Result<(), SimError> {
        self.apply_now(Fault::Heal(p))
    }

    /// Takes node `id` down now.
    pub fn node_down(&mut self, id: NodeId) -> Result<(), SimError> {
        self.apply_now(Fault::NodeDown(id))
    }

    /// Brings node `id` up now.
    pub fn node_up(&mut self, id: NodeId) -> Result<(), SimError> {
        self.apply_now(Fault::NodeUp(id))
    }

    /// Removes every partition (scheduled ones still apply later).
    pub fn heal_all(&mut self) {
        self.cuts.clear();
        for l in &mut self.links {
            l.cut = 0;
        }
    }

    fn apply_now(&mut self, fault: Fault) -> Result<(), SimError> {
        self.check_fault(&fault)?;
        self.apply(fault);
        Ok(())
    }

    /// Processes the earliest pending event. `Ok(false)` when nothing is
    /// pending (the simulation is quiet).
    pub fn step(&mut self) -> Result<bool, SimError> {
        self.start()?;
        let ev = self.queue.peek().map(|Reverse(q)| q.at);
        let tm = self.timers.first().copied();
        let take_event = match (ev, tm) {
            (None, None) => return Ok(false),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            // Faults and arrivals (classes 0, 1) precede timeouts (class 2).
            (Some(e), Some((t, _))) => e <= t,
        };
        bump(&mut self.stats.steps);
        if take_event {
            if let Some(Reverse(q)) = self.queue.pop() {
                self.now = self.now.max(q.at);
                self.stats.now = self.now;
                match q.event {
                    Event::Arrival { from, to, payload } => {
                        self.stats.in_flight = self.stats.in_flight.saturating_sub(1);
                        self.arrive(from, to, payload)?;
                    }
                    Event::Fault(f) => self.apply(f),
                }
            }
        } else if let Some((t, id)) = tm {
            self.now = self.now.max(t);
            self.stats.now = self.now;
            self.timers.remove(&(t, id));
            if let Some(d) = self.sched_deadline.get_mut(id.index()) {
                *d = None;
            }
            let fired = self.raw_deadline.get(id.index()).copied().flatten();
            let now = self.now;
            if let Some(node) = self.nodes.get_mut(id.index()) {
                node.handle_timeout(now);
                bump(&mut self.stats.timeouts);
                self.after_input(id, TraceInput::Timeout, fired)?;
            }
        }
        Ok(true)
    }

    /// Steps through every event up to and including time `t`, then sets the
    /// clock to `t` (if later). Fails with [`SimError::StepLimit`] after
    /// [`SimConfig::step_limit`] steps. Returns the cumulative counters.
    pub fn run_until(&mut self, t: Instant) -> Result<RunStats, SimError> {
        self.start()?;
        let mut steps = 0u64;
        while self.next_event_time().is_some_and(|e| e <= t) {
            if steps >= self.config.step_limit {
                return Err(self.step_limit(steps));
            }
            self.step()?;
            bump(&mut steps);
        }
        self.now = self.now.max(t);
        self.stats.now = self.now;
        Ok(self.stats)
    }

    /// Steps until nothing is pending ([`Sim::is_quiet`]). Fails with
    /// [`SimError::StepLimit`] if events are still pending after `max_steps`
    /// steps of this call; the simulation stays usable. Returns the
    /// cumulative counters.
    pub fn run_until_quiet(&mut self, max_steps: u64) -> Result<RunStats, SimError> {
        self.start()?;
        let mut steps = 0u64;
        while !self.is_quiet() {
            if steps >= max_steps {
                return Err(self.step_limit(steps));
            }
            self.step()?;
            bump(&mut steps);
        }
        Ok(self.stats)
    }

    /// Steps until `done(self)` holds (checked before every step, so an
    /// already true condition takes no step). `Ok(true)` when it holds,
    /// `Ok(false)` when the simulation went quiet first;
    /// [`SimError::StepLimit`] after `max_steps` steps of this call.
    ///
    /// ```ignore
    /// let ok = sim.run_until_condition(100_000, |s| s.node(b).is_some_and(|n| n.handshake_done()))?;
    /// ```
    pub fn run_until_condition(
        &mut self,
        max_steps: u64,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool, SimError> {
        self.start()?;
        let mut steps = 0u64;
        loop {
            if done(self) {
                return Ok(true);
            }
            if self.is_quiet() {
                return Ok(false);
            }
            if steps >= max_steps {
                return Err(self.step_limit(steps));
            }
            self.step()?;
            bump(&mut steps);
        }
    }

    fn step_limit(&self, steps: u64) -> SimError {
        SimError::StepLimit {
            steps,
            now: self.now,
            in_flight: self.stats.in_flight,
        }
    }

    /// First input of a run: drain every up node once (nodes may queue
    /// transmits and timers at construction) as a `Start` entry, in id order.
    fn start(&mut self) -> Result<(), SimError> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        for i in 0..self.nodes.len() {
            let id = NodeId::from_index(i);
            if !self.is_down(id) {
                self.after_input(id, TraceInput::Start, None)?;
            }
        }
        Ok(())
    }

    fn up_node(&mut self, id: NodeId) -> Result<&mut N, SimError> {
        if self.is_down(id) {
            return Err(SimError::NodeDown { node: id });
        }
        self.nodes
            .get_mut(id.index())
            .ok_or(SimError::UnknownNode { node: id })
    }

    fn check_node(&self, id: NodeId) -> Result<(), SimError> {
        if id.index() < self.nodes.len() {
            Ok(())
        } else {
            Err(SimError::UnknownNode { node: id })
        }
    }

    fn check_fault(&self, fault: &Fault) -> Result<(), SimError> {
        match fault {
            Fault::Partition(Partition::Link(a, b)) | Fault::Heal(Partition::Link(a, b)) => {
                self.check_node(*a)?;
                self.check_node(*b)?;
                if self.link_index.contains_key(&link_key(*a, *b)) {
                    Ok(())
                } else {
                    Err(SimError::NoLink { a: *a, b: *b })
                }
            }
            Fault::Partition(Partition::Cut(set)) | Fault::Heal(Partition::Cut(set)) => {
                set.iter().try_for_each(|&n| self.check_node(n))
            }
            Fault::NodeDown(n) | Fault::NodeUp(n) => self.check_node(*n),
        }
    }

    fn apply(&mut self, fault: Fault) {
        match fault {
            Fault::Partition(Partition::Link(a, b)) => {
                if let Some(l) = self.link_mut(a, b) {
                    l.cut = l.cut.saturating_add(1);
                }
            }
            Fault::Heal(Partition::Link(a, b)) => {
                if let Some(l) = self.link_mut(a, b) {
                    l.cut = l.cut.saturating_sub(1);
                }
            }
            Fault::Partition(Partition::Cut(mut set)) => {
                set.sort_unstable();
                set.dedup();
                let mut inside = std::vec![false; self.nodes.len()];
                for n in &set {
                    if let Some(x) = inside.get_mut(n.index()) {
                        *x = true;
                    }
                }
                self.cuts.push(Cut {
                    members: set,
                    inside,
                });
            }
            Fault::Heal(Partition::Cut(mut set)) => {
                set.sort_unstable();
                set.dedup();
                if let Some(i) = self.cuts.iter().position(|c| c.members == set) {
                    self.cuts.remove(i);
                }
            }
            Fault::NodeDown(n) => {
                if let Some(d) = self.down.get_mut(n.index()) {
                    *d = true;
                }
                self.set_timer(n, None);
            }
            Fault::NodeUp(n) => {
                if let Some(d) = self.down.get_mut(n.index()) {
                    *d = false;
                }
                let raw = self.raw_deadline.get(n.index()).copied().flatten();
                self.set_timer(n, raw);
            }
        }
    }

    fn link_mut(&mut self, a: NodeId, b: NodeId) -> Option<&mut Link> {
        let i = *self.link_index.get(&link_key(a, b))?;
        self.links.get_mut(i)
    }

    fn blocked(&self, a: NodeId, b: NodeId) -> bool {
        let link_cut = self
            .link_index
            .get(&link_key(a, b))
            .and_then(|&i| self.links.get(i))
            .is_some_and(|l| l.cut > 0);
        link_cut
            || self.cuts.iter().any(|c| {
                c.inside.get(a.index()).copied().unwrap_or(false)
                    != c.inside.get(b.index()).copied().unwrap_or(false)
            })
    }

    /// Schedules node `id`'s timer at `raw` (clamped to the clock), replacing
    /// the previous one. `None` or [`Instant::MAX`] clears it.
    fn set_timer(&mut self, id: NodeId, raw: Option<Instant>) {
        let Some(slot) = self.sched_deadline.get_mut(id.index()) else {
            return;
        };
        if let Some(old) = slot.take() {
            self.timers.remove(&(old, id));
        }
        let down = self.down.get(id.index()).copied().unwrap_or(true);
        if let Some(t) = raw.filter(|&t| t != Instant::MAX && !down) {
            let t = t.max(self.now);
            *slot = Some(t);
            self.timers.insert((t, id));
        }
    }

    fn arrive(&mut self, from: NodeId, to: NodeId, payload: Vec<u8>) -> Result<(), SimError> {
        if self.is_down(to) {
            bump(&mut self.stats.dropped_node_down);
            return Ok(());
        }
        if self.blocked(from, to) {
            bump(&mut self.stats.dropped_partition);
            return Ok(());
        }
        let now = self.now;
        let Some(node) = self.nodes.get_mut(to.index()) else {
            bump(&mut self.stats.dropped_no_link);
            return Ok(());
        };
        node.handle_message(now, from, &payload);
        bump(&mut self.stats.delivered);
        self.after_input(to, TraceInput::Message { from, payload }, None)
    }

    /// Drains node `id` after an input, records the entry, sends its
    /// transmits and refreshes its timer. `fired` is the deadline that fired
    /// when the input was a timeout (for the contract check).
    fn after_input(
        &mut self,
        id: NodeId,
        input: TraceInput<N::Command>,
        fired: Option<Instant>,
    ) -> Result<(), SimError> {
        let limit = self.config.max_transmits_per_input;
        let Some(node) = self.nodes.get_mut(id.index()) else {
            return Err(SimError::UnknownNode { node: id });
        };
        let mut outputs = Vec::new();
        while let Some(t) = node.poll_transmit() {
            if outputs.len() >= limit {
                return Err(SimError::TransmitFlood { node: id, limit });
            }
            outputs.push(t);
        }
        let next_timeout = node.poll_timeout();
        let entry = TraceEntry {
            at: self.now,
            node: id,
            input,
            outputs,
            next_timeout,
        };
        self.digest.entry(&entry);
        for t in &entry.outputs {
            self.send(id, t)?;
        }
        if self.config.record_trace {
            self.trace.push(entry);
        }
        if let Some(slot) = self.raw_deadline.get_mut(id.index()) {
            *slot = next_timeout;
        }
        if let (Some(deadline), Some(next)) = (fired, next_timeout)
            && next != Instant::MAX
            && next <= deadline
        {
            return Err(SimError::TimerNotAdvanced {
                node: id,
                deadline,
                next,
            });
        }
        self.set_timer(id, next_timeout);
        Ok(())
    }

    /// Hands one transmit to its link (see [`LinkConfig`] for the order of
    /// random draws).
    fn send(&mut self, from: NodeId, t: &Transmit) -> Result<(), SimError> {
        bump(&mut self.stats.sent);
        let to = t.to;
        let Some(&li) = self.link_index.get(&link_key(from, to)) else {
            bump(&mut self.stats.dropped_no_link);
            return Ok(());
        };
        let Some(cfg) = self.links.get(li).map(|l| l.config) else {
            bump(&mut self.stats.dropped_no_link);
            return Ok(());
        };
        if cfg.mtu.is_some_and(|m| t.payload.len() > m) {
            bump(&mut self.stats.dropped_mtu);
            return Ok(());
        }
        if self.blocked(from, to) {
            bump(&mut self.stats.dropped_partition);
            return Ok(());
        }
        let dir = usize::from(from > to);
        let depart = self.serialise(li, dir, &cfg, t.payload.len());
        if self.rng.chance_ppm(cfg.loss_ppm) {
            bump(&mut self.stats.dropped_loss);
            return Ok(());
        }
        let duplicate = self.rng.chance_ppm(cfg.duplicate_ppm);
        self.send_copy(li, dir, &cfg, depart, from, to, t.payload.clone())?;
        if duplicate {
            bump(&mut self.stats.duplicated);
            self.send_copy(li, dir, &cfg, depart, from, to, t.payload.clone())?;
        }
        Ok(())
    }

    /// When a message of `len` bytes has left the sender on a link with a
    /// bandwidth: messages queue behind each other per direction (no queue
    /// bound). The clock itself without a bandwidth.
    fn serialise(&mut self, li: usize, dir: usize, cfg: &LinkConfig, len: usize) -> Instant {
        let now = self.now;
        let Some(bw) = cfg.bandwidth.filter(|&b| b > 0) else {
            return now;
        };
        let Some(busy) = self
            .links
            .get_mut(li)
            .and_then(|l| l.busy_until.get_mut(dir))
        else {
            return now;
        };
        let bytes = u64::try_from(len).unwrap_or(u64::MAX);
        // ceil(len * 1e6 / bw) microseconds; bw > 0 so the division is defined.
        let micros = bytes
            .saturating_mul(1_000_000)
            .saturating_add(bw.saturating_sub(1))
            .checked_div(bw)
            .unwrap_or(u64::MAX);
        let depart = (*busy)
            .max(now)
            .saturating_add(Duration::from_micros(micros));
        *busy = depart;
        depart
    }

    #[allow(clippy::too_many_arguments)] // private; each argument is one fact of the copy
    fn send_copy(
        &mut self,
        li: usize,
        dir: usize,
        cfg: &LinkConfig,
        depart: Instant,
        from: NodeId,
        to: NodeId,
        payload: Vec<u8>,
    ) -> Result<(), SimError> {
        let lo = cfg.latency_min.as_micros();
        let hi = cfg.latency_max.as_micros().max(lo);
        let latency = Duration::from_micros(self.rng.range_inclusive(lo, hi));
        let mut at = depart.saturating_add(latency);
        if self.rng.chance_ppm(cfg.reorder_ppm) {
            let extra = self
                .rng
                .range_inclusive(1, cfg.reorder_delay.as_micros().max(1));
            at = at.saturating_add(Duration::from_micros(extra));
            bump(&mut self.stats.reordered);
        } else if let Some(fifo) = self.links.get_mut(li).and_then(|l| l.fifo.get_mut(dir)) {
            at = at.max(*fifo);
            *fifo = at;
        }
        self.push(at, CLASS_ARRIVAL, Event::Arrival { from, to, payload })?;
        bump(&mut self.stats.in_flight);
        Ok(())
    }

    fn push(&mut self, at: Instant, class: u8, event: Event) -> Result<(), SimError> {
        if self.queue.len() >= self.config.max_in_flight {
            return Err(SimError::InFlightLimit {
                limit: self.config.max_in_flight,
            });
        }
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        self.queue.push(Reverse(Queued::new(at, class, seq, event)));
        Ok(())
    }
}
