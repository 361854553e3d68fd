//! The overlay node: its record, construction, commands and the ingress
//! entry point (the peer table and hop handling are in `hop.rs`).

use core::marker::PhantomData;

use heapless::Deque;

use super::config::{Config, ConfigError};
use super::event::{ConnectError, DownReason, Event, PeerError, PeerRef, Stats};
use super::host::{Address, PortsHost};
use super::identity::Identity;
use super::storage::{CorrSlot, PeerSlot, Storage, TxKind, TxSlot};
use super::stream::{Pool, RecordSlot, Timing};
use super::wire::HOP_ROUTED;
use crate::crypto::Provider;
use crate::link::{self, Route};
use crate::rng::{RngCore, SeededRng};
use crate::routing::{
    self, ChainStore, Decision, Ed25519, Header, InlineChain, LinkId, Locator, Verifier,
};
use crate::time::{Instant, Monotonic};

/// Events the node keeps for [`Node::poll_event`] (overflow drops the
/// oldest, counted in [`Stats::events_dropped`]).
pub const EVENT_QUEUE: usize = 64;

/// Per-source entries of the end-to-end gate (sources are coordinates).
pub const E2E_GATE_SOURCES: usize = 64;
/// Recent-initiation cache of the end-to-end gate.
pub const E2E_GATE_RECENT: usize = 32;

/// Bytes a hop transport datagram adds around its payload (header and tag).
pub const HOP_OVERHEAD: usize = link::KEEPALIVE_LEN;

/// A datagram written by [`Node::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit<A> {
    /// Where to send it.
    pub to: A,
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
}

/// Result of processing one hop datagram, for the part of the node that
/// owns the transmit queue.
// The notice variant carries a routing header (two inline coordinates);
// it is returned, not stored, once per packet that dead-ends here (no
// allocation in the core, so no box).
#[allow(clippy::large_enum_variant)]
pub(crate) enum HopOutcome {
    /// Consumed (or dropped and counted).
    Done,
    /// Forward `buf[start..end]` (a hop payload, type byte included) to peer
    /// `slot` under `generation`.
    Forward {
        slot: u16,
        key: [u8; 32],
        generation: u64,
        start: usize,
        end: usize,
    },
    /// The packet dead-ended here: route this notice back.
    Notice(Header),
}

/// The state of a node apart from its byte buffers (so a handler can
/// borrow a buffer and the state at once).
pub(crate) struct Core<'s, A, C: Provider, PN, V: Verifier, S: ChainStore, const REC: usize> {
    pub(crate) config: Config,
    pub(crate) timing: Timing,
    pub(crate) identity: Identity,
    pub(crate) link_identity: link::Identity,
    pub(crate) rng: SeededRng,
    pub(crate) clock: Monotonic,
    pub(crate) incarnation: u64,
    pub(crate) next_generation: u64,
    pub(crate) hop_gate: link::DefaultGate<C>,
    pub(crate) e2e_gate: link::Gate<C, E2E_GATE_SOURCES, E2E_GATE_RECENT>,
    pub(crate) routing: routing::Node<'s, V, S>,
    pub(crate) ports: PN,
    pub(crate) peers: &'s mut [PeerSlot<A, C>],
    pub(crate) peer_bits: u8,
    pub(crate) corr: &'s mut [CorrSlot<C>],
    pub(crate) corr_bits: u8,
    pub(crate) pool: Pool<'s, REC>,
    pub(crate) events: Deque<Event<A>, EVENT_QUEUE>,
    pub(crate) stats: Stats,
    /// Announcements are not drained until the next input (the last one did
    /// not fit the buffer).
    pub(crate) routing_blocked: bool,
    pub(crate) peer_cursor: usize,
    pub(crate) corr_cursor: usize,
    pub(crate) last_root: [u8; 32],
}

/// One overlay node (module docs of [`overlay`](super)).
///
/// * `A`: the driver's address type; `C`: the crypto provider; `PN`: the
///   ports node ([`PortsHost`]); `V`, `S`: the routing machine's signature
///   verifier and chain stores.
/// * `MTU`: the largest datagram the node writes or reads (header and tag
///   included); `REC`: the largest record (an encoded ports event plus one
///   type byte).
///
/// The node's own size is about `2 × MTU + REC` bytes plus the routing
/// machine (`size_of::<routing::Node>()`), the ports node, two gates
/// (13 KiB and 5 KiB) and a few hundred bytes; the tables are the caller's
/// ([`Storage`]).
pub struct Node<
    's,
    A,
    C: Provider,
    PN,
    V: Verifier = Ed25519,
    S: ChainStore = InlineChain,
    const MTU: usize = 1_400,
    const REC: usize = 512,
> {
    pub(crate) core: Core<'s, A, C, PN, V, S, REC>,
    pub(crate) tx: &'s mut [TxSlot<A, MTU>],
    pub(crate) tx_order: u64,
    /// A stream packet's plaintext is composed here.
    pub(crate) plain: [u8; MTU],
    /// A routed hop payload is composed here.
    pub(crate) compose: [u8; MTU],
    /// A ports event that could not be queued yet (its stream was full).
    pub(crate) stalled: Option<(crate::ports::NodeName, usize)>,
    pub(crate) stall_names: super::host::Names,
    pub(crate) stall_buf: [u8; REC],
    pub(crate) _pd: PhantomData<A>,
}

pub(crate) fn bits_for(n: usize) -> u8 {
    let mut bits = 1u8;
    while bits < 16 && (1usize << bits) < n {
        bits = bits.saturating_add(1);
    }
    bits
}

/// The routing link id of peer `slot` under `generation`.
pub(crate) fn link_id(slot: usize, generation: u64) -> LinkId {
    let s = u32::try_from(slot).unwrap_or(0) & 0xffff;
    LinkId((s << 16) | (generation & 0xffff) as u32)
}

impl<'s, A, C, PN, V, S, const MTU: usize, const REC: usize> Node<'s, A, C, PN, V, S, MTU, REC>
where
    A: Address,
    C: Provider,
    PN: PortsHost,
    V: Verifier,
    S: ChainStore + Default,
{
    /// A node with identity `identity` (keep the seed it came from secret),
    /// ports node `ports` (named [`Identity::node_name`]), routing verifier
    /// and chain stores, the caller's `storage`, and `seed` for its RNG
    /// (session indices, ephemeral keys, incarnation: seed it from a real
    /// entropy source). It starts as the root of its own routing tree, with
    /// no neighbour.
    ///
    /// # Errors
    /// [`ConfigError`] ([`Config::check`], unusable storage).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        identity: Identity,
        ports: PN,
        verifier: V,
        chain: S,
        stage: S,
        storage: Storage<'s, A, C, MTU, REC>,
        seed: [u8; 32],
        now: Instant,
    ) -> Result<Self, ConfigError> {
        config.check()?;
        let Storage {
            routing: table,
            peers,
            correspondents,
            records,
            transmit,
        } = storage;
        if peers.is_empty()
            || correspondents.is_empty()
            || table.len() < peers.len()
            || peers.len() > 1 << 16
            || correspondents.len() > 1 << 16
            || records.len() > usize::from(u16::MAX)
            || MTU < 256
            || MTU > usize::from(u16::MAX)
        {
            return Err(ConfigError::Storage);
        }
        let mut rng = SeededRng::from_seed(seed);
        let mut gate_seed = [0u8; 32];
        rng.fill_bytes(&mut gate_seed);
        let link_identity = link::Identity::new(identity.noise_keypair().clone());
        let hop_gate = link::Gate::new(config.hop_gate, link_identity.clone(), gate_seed, now)
            .map_err(ConfigError::Link)?;
        rng.fill_bytes(&mut gate_seed);
        let e2e_gate = link::Gate::new(config.e2e_gate, link_identity.clone(), gate_seed, now)
            .map_err(ConfigError::Link)?;
        let mut incarnation = 0;
        while incarnation == 0 {
            incarnation = rng.next_u64();
        }
        for p in peers.iter_mut() {
            p.p = None;
        }
        for c in correspondents.iter_mut() {
            c.c = None;
        }
        for t in transmit.iter_mut() {
            t.kind = None;
        }
        // Every announcement must fit one hop datagram: fewer hops per
        // segment when the MTU is small (routing splits longer chains).
        let mut config = config;
        let room = MTU.saturating_sub(HOP_OVERHEAD).saturating_sub(1);
        while config.routing.segment_hops > 1
            && routing::announce::segment_buf_len(usize::from(config.routing.segment_hops)) > room
        {
            config.routing.segment_hops = config.routing.segment_hops.saturating_sub(1);
        }
        if routing::announce::segment_buf_len(usize::from(config.routing.segment_hops)) > room {
            return Err(ConfigError::Storage);
        }
        let routing = routing::Node::with_chain_stores(
            config.routing,
            identity.routing_seed(),
            table,
            now,
            verifier,
            chain,
            stage,
        );
        let last_root = routing.root().key;
        let mut clock = Monotonic::new();
        clock.observe(now);
        let peer_bits = bits_for(peers.len());
        let corr_bits = bits_for(correspondents.len());
        Ok(Node {
            core: Core {
                timing: Timing {
                    rto_initial: config.rto_initial,
                    rto_min: config.rto_min,
                    rto_max: config.rto_max,
                    dead_after: config.dead_after,
                },
                config,
                identity,
                link_identity,
                rng,
                clock,
                incarnation,
                next_generation: 1,
                hop_gate,
                e2e_gate,
                routing,
                ports,
                peers,
                peer_bits,
                corr: correspondents,
                corr_bits,
                pool: Pool::new(records),
                events: Deque::new(),
                stats: Stats::default(),
                routing_blocked: false,
                peer_cursor: 0,
                corr_cursor: 0,
                last_root,
            },
            tx: transmit,
            tx_order: 0,
            plain: [0; MTU],
            compose: [0; MTU],
            stalled: None,
            stall_names: heapless::Vec::new(),
            stall_buf: [0; REC],
            _pd: PhantomData,
        })
    }

    /// Entry sizes of the storage tables for this build (peer slot,
    /// correspondent slot, record slot, transmit slot), in bytes.
    pub fn size_of_slots() -> [usize; 4] {
        [
            core::mem::size_of::<PeerSlot<A, C>>(),
            core::mem::size_of::<CorrSlot<C>>(),
            core::mem::size_of::<RecordSlot<REC>>(),
            core::mem::size_of::<TxSlot<A, MTU>>(),
        ]
    }

    /// This node's key (Noise static public key).
    pub fn public_key(&self) -> [u8; 32] {
        self.core.identity.public_key()
    }

    /// This node's routing key.
    pub fn routing_key(&self) -> [u8; 32] {
        self.core.identity.routing_key()
    }

    /// This run's incarnation (random, non-zero).
    pub fn incarnation(&self) -> u64 {
        self.core.incarnation
    }

    /// The routing machine (coordinate, root, parent, stats).
    pub fn routing(&self) -> &routing::Node<'s, V, S> {
        &self.core.routing
    }

    /// This node's location (its coordinate in every routing tree), for a
    /// directory.
    pub fn location(&self) -> Locator {
        self.core.routing.locator()
    }

    /// The ports node.
    pub fn ports(&self) -> &PN {
        &self.core.ports
    }

    /// The ports node, for commands (create, send, close, merge...). Its
    /// outputs are carried at the next [`Node::poll_transmit`].
    pub fn ports_mut(&mut self) -> &mut PN {
        &mut self.core.ports
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// The hop gate's counters.
    pub fn gate_stats(&self) -> &link::GateStats {
        self.core.hop_gate.stats()
    }

    /// Every hop session: its reference, address, and whether it is up.
    pub fn peers(&self) -> impl Iterator<Item = (PeerRef, A, bool)> + '_ {
        self.core
            .peers
            .iter()
            .filter_map(|s| s.p.as_ref())
            .map(|p| {
                (
                    PeerRef {
                        key: p.key,
                        generation: p.generation,
                    },
                    p.addr,
                    p.up,
                )
            })
    }

    /// The current session with `key`, if any.
    pub fn peer(&self, key: &[u8; 32]) -> Option<PeerRef> {
        self.core.find_peer(key).and_then(|k| {
            self.core
                .peers
                .get(k)
                .and_then(|s| s.p.as_ref())
                .map(|p| PeerRef {
                    key: p.key,
                    generation: p.generation,
                })
        })
    }

    /// Correspondents known (key, admitted ports incarnation or 0, records
    /// in flight).
    pub fn correspondents(&self) -> impl Iterator<Item = ([u8; 32], u64, u32)> + '_ {
        self.core
            .corr
            .iter()
            .filter_map(|s| s.c.as_ref())
            .map(|c| (c.key, c.ports_inc, c.stream.in_flight()))
    }

    /// Record slots in use (all streams).
    pub fn records_in_use(&self) -> usize {
        self.core.pool.used()
    }

    /// Hop datagrams waiting in the transmit queue.
    pub fn queued(&self) -> usize {
        self.tx.iter().filter(|t| t.kind.is_some()).count()
    }

    /// Whether nothing waits: no record in flight or buffered, no queued
    /// datagram, no stalled ports event.
    pub fn is_idle(&self) -> bool {
        self.stalled.is_none()
            && self.queued() == 0
            && self
                .core
                .corr
                .iter()
                .filter_map(|s| s.c.as_ref())
                .all(|c| c.stream.is_idle())
    }

    /// Starts (or keeps) a hop session with the node whose key is `key` at
    /// `addr`. Such an *outbound* session is redialled after it fails or
    /// goes silent, until [`Node::disconnect`]. Connecting to a key that
    /// already has a session updates its address and returns it.
    ///
    /// # Errors
    /// [`ConnectError`]; nothing changes.
    pub fn connect(
        &mut self,
        now: Instant,
        key: [u8; 32],
        addr: A,
    ) -> Result<PeerRef, ConnectError> {
        let now = self.core.clock.observe(now);
        self.core.connect(now, key, addr)
    }

    /// Ends the hop session `peer` (and stops redialling it).
    ///
    /// # Errors
    /// [`PeerError::Unknown`], or [`PeerError::StaleGeneration`] when the
    /// key's session is another generation (nothing changes).
    pub fn disconnect(&mut self, now: Instant, peer: PeerRef) -> Result<(), PeerError> {
        let now = self.core.clock.observe(now);
        let k = self.core.check_peer(peer)?;
        self.core.remove_peer(now, k, DownReason::Closed);
        Ok(())
    }

    /// Makes the node know `key` (a node the application will name in
    /// ports calls) and returns its ports name ([`super::node_name`]).
    /// Ports events from and to it need this (or a location, or an
    /// introduction by another node): a name the node cannot map to a key
    /// is unreachable, and ports is told so when a port starts to depend on
    /// it.
    ///
    /// # Errors
    /// [`super::TableFull`] when every correspondent slot is busy.
    pub fn remember(
        &mut self,
        now: Instant,
        key: [u8; 32],
    ) -> Result<crate::ports::NodeName, super::TableFull> {
        let now = self.core.clock.observe(now);
        if key != self.core.identity.public_key() {
            self.core.corr_for(now, &key).ok_or(super::TableFull)?;
        }
        Ok(super::node_name(&key))
    }

    /// Tells the node where `key` is (from the application's directory),
    /// creating its correspondent entry if needed. Traffic waiting for it
    /// leaves at the next [`Node::poll_transmit`].
    ///
    /// # Errors
    /// [`super::TableFull`] when every correspondent slot is busy.
    pub fn set_location(
        &mut self,
        now: Instant,
        key: [u8; 32],
        locator: Locator,
    ) -> Result<(), super::TableFull> {
        let now = self.core.clock.observe(now);
        if key == self.core.identity.public_key() {
            return Ok(());
        }
        let k = self.core.corr_for(now, &key).ok_or(super::TableFull)?;
        if let Some(c) = self.core.corr.get_mut(k).and_then(|s| s.c.as_mut()) {
            c.loc = Some(locator);
            c.loc_stale = false;
            c.loc_asked = None;
        }
        Ok(())
    }

    /// Handles one datagram from `from` (any address, any bytes).
    pub fn handle_datagram(&mut self, now: Instant, from: A, bytes: &[u8]) {
        let now = self.core.clock.observe(now);
        self.core.routing_blocked = false;
        self.core.stats.datagrams_in = self.core.stats.datagrams_in.saturating_add(1);
        if bytes.len() > MTU {
            self.core.stats.dropped_header = self.core.stats.dropped_header.saturating_add(1);
            return;
        }
        match link::route(bytes) {
            Err(_) => {
                self.core.stats.dropped_header = self.core.stats.dropped_header.saturating_add(1);
            }
            Ok(Route::Initiation) => {
                let k = self.free_tx();
                let reply: &mut [u8] = match k.and_then(|k| self.tx.get_mut(k)) {
                    Some(t) => &mut t.data,
                    None => &mut self.compose,
                };
                let len = self.core.hop_initiation(now, from, bytes, reply);
                if let (Some(len), Some(k)) = (len, k) {
                    self.commit_tx(k, TxKind::Raw { to: from }, 0, len);
                }
            }
            Ok(Route::Index(index)) => {
                // Decrypt into a free transmit slot: a forwarded packet
                // then leaves from there without another copy.
                let k = self.free_tx();
                let outcome = {
                    let buf: &mut [u8] = match k.and_then(|k| self.tx.get_mut(k)) {
                        Some(t) => &mut t.data,
                        None => &mut self.compose,
                    };
                    let Some(buf) = buf.get_mut(..bytes.len()) else {
                        return;
                    };
                    buf.copy_from_slice(bytes);
                    self.core.hop_indexed(now, from, index, buf)
                };
                match outcome {
                    HopOutcome::Done => {}
                    HopOutcome::Forward {
                        slot,
                        key,
                        generation,
                        start,
                        end,
                    } => match k {
                        Some(k) => {
                            let kind = TxKind::Hop {
                                slot,
                                key,
                                generation,
                            };
                            self.commit_tx(k, kind, start, end);
                        }
                        None => {
                            self.core.stats.txq_full = self.core.stats.txq_full.saturating_add(1);
                        }
                    },
                    HopOutcome::Notice(h) => self.send_notice(h),
                }
            }
        }
    }

    /// Routes a path-broken notice back towards the source.
    fn send_notice(&mut self, mut h: Header) {
        let Decision::Forward(link) = self.core.routing.route(&mut h) else {
            self.core.stats.routed_dropped = self.core.stats.routed_dropped.saturating_add(1);
            return;
        };
        let Some((slot, generation)) = self.core.peer_of_link(link) else {
            self.core.stats.routed_dropped = self.core.stats.routed_dropped.saturating_add(1);
            return;
        };
        let key = self.core.peer_key(slot);
        let Some(k) = self.free_tx() else {
            self.core.stats.txq_full = self.core.stats.txq_full.saturating_add(1);
            return;
        };
        let Some(t) = self.tx.get_mut(k) else {
            return;
        };
        let Some(first) = t.data.get_mut(link::wire::HEADER_LEN) else {
            return;
        };
        *first = HOP_ROUTED;
        let start = link::wire::HEADER_LEN;
        let body = t.data.get_mut(start.saturating_add(1)..).unwrap_or(&mut []);
        let Ok(n) = h.encode(body) else {
            return;
        };
        self.core.stats.path_broken_sent = self.core.stats.path_broken_sent.saturating_add(1);
        let end = start.saturating_add(1).saturating_add(n);
        self.commit_tx(
            k,
            TxKind::Hop {
                slot,
                key,
                generation,
            },
            start,
            end,
        );
    }

    pub(crate) fn free_tx(&self) -> Option<usize> {
        self.tx.iter().position(|t| t.kind.is_none())
    }

    pub(crate) fn commit_tx(&mut self, k: usize, kind: TxKind<A>, start: usize, end: usize) {
        let order = self.tx_order;
        self.tx_order = self.tx_order.wrapping_add(1);
        if let Some(t) = self.tx.get_mut(k) {
            t.kind = Some(kind);
            t.order = order;
            t.start = u16::try_from(start).unwrap_or(0);
            t.end = u16::try_from(end).unwrap_or(0);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event<A>> {
        let now = self.core.clock.latest();
        self.core.pump_ports_events(now);
        self.core.pump_routing_events(now);
        self.core.events.pop_front()
    }
}
