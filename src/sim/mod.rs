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

// Layout: this file holds the `Sim` record, its construction and its
// accessors; `node` the driven machine's side (`NodeId`, `SimNode`,
// `Transmit`), `config` `SimConfig`, `stats` `RunStats`, `error` `SimError`,
// `queue` the ordered event queue, `faults` partitions and node down/up,
// `engine` stepping and draining nodes, `delivery` a transmit's way over its
// link, `link` link parameters and the PRNG, `topology` the link graph,
// `trace` recording, digest and replay.

mod config;
mod delivery;
mod engine;
mod error;
mod faults;
mod link;
mod node;
mod queue;
mod stats;
mod topology;
mod trace;

pub use config::SimConfig;
pub use error::SimError;
pub use faults::{Fault, Partition};
pub use link::{LinkConfig, PPM, SplitMix64};
pub use node::{NodeId, SimNode, Transmit, node_seed};
pub use stats::RunStats;
pub use topology::{MAX_NODES, Topology, TopologyError};
pub use trace::{DigestWriter, ReplayError, TraceDigest, TraceEntry, TraceInput, digest, replay};

use core::cmp::Reverse;
use core::fmt;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::vec::Vec;

use crate::time::Instant;
use faults::Cut;
use queue::Queued;

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
}
