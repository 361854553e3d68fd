//! An encrypted overlay in the deterministic simulator: Noise-secured links,
//! hop-by-hop relaying and Mojo-style ports on top.
//!
//! ```text
//! cargo run --release --example overlay --features sim [-- EDGELIST] [--seed N]
//! ```
//!
//! Loads an edge list (default `vectors/topologies/zoo-Geant2012.txt`) and
//! runs one overlay node per vertex over lossy, duplicating, reordering
//! simulated links:
//!
//! 1. **Identities and handshakes.** Every node has a long-lived X25519 key
//!    pair drawn from its seeded RNG ([`node_seed`]); the public keys are
//!    known to the neighbours in advance (a directory, as in a WireGuard
//!    configuration), so every link runs `Noise_IK_25519_ChaChaPoly_BLAKE2s`:
//!    the lower-numbered end sends the initiation, the other end answers.
//!    Both messages travel in a `framing::datagram` header
//!    (handshake-initiation / handshake-response with session indices); a
//!    lost message is retransmitted on a timer (identical bytes; a responder
//!    answers a repeated initiation with its cached response).
//! 2. **Encrypted datagrams.** After the handshake every packet is a
//!    `DatagramTransport` message whose explicit nonce is the header's
//!    counter. The receiver parses the header first (session index, nonce),
//!    then decrypts; duplicates made by the links are rejected by the replay
//!    window and counted, and forged datagrams (injected by the scenario)
//!    fail authentication and are counted.
//! 3. **Relaying.** Inside the encrypted datagrams, overlay packets carry a
//!    source, a destination, an end-to-end sequence number and a greedy
//!    watermark. A node that is not the destination forwards the packet by
//!    **greedy routing**: `routing::decide` over tree coordinates
//!    (`routing::Coord`) of a BFS spanning tree computed here from the whole
//!    topology. The routing *protocol* (`routing::Node`: root election,
//!    signed announcements) is not run; the coordinates are static. End to end, packets are acknowledged (cumulative plus
//!    the packet that triggered the ack), retransmitted with exponential
//!    backoff, and delivered to the ports layer exactly once, in order.
//! 4. **Ports.** Every node runs a `ports::Node`; ports events are encoded
//!    with the ports codec and sent end to end. Sampled node pairs open a
//!    message pipe and send user messages; one pipe end is then sent inside
//!    a message to a third node, the proxy left behind collapses, and the
//!    pipe keeps working in both directions.
//!
//! The run is checked (handshakes, exactly-once in-order delivery, proxy
//! collapse, no ports protocol violation, every delivered datagram accounted
//! for), its recorded trace is replayed into freshly built nodes (graphs up
//! to 1000 nodes), and it is repeated with the same seed to check the trace
//! digest is identical; the program exits non-zero if any check fails.
//!
//! Runs in well under a second on the default topology (release). Large
//! graphs work but are dominated by X25519 (about ten scalar
//! multiplications per link handshake): as-733 (6474 nodes, 12572 links)
//! takes about 25 s per run.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "ring")]
use hyperport::crypto::Ring as Crypto;
#[cfg(all(not(feature = "ring"), feature = "rustcrypto"))]
use hyperport::crypto::RustCrypto as Crypto;
use hyperport::crypto::x25519::KeyPair;
use hyperport::framing::datagram::{HEADER_LEN, Repr};
use hyperport::noise::datagram::{Config as DatagramConfig, DatagramTransport};
use hyperport::noise::replay::ReplayError;
use hyperport::noise::transport::TransportError;
use hyperport::noise::{Builder, HandshakeState};
use hyperport::ports::{
    Bytes, Config as PortsConfig, Event, Node as PortsNode, NodeName, PortName, PortState,
};
use hyperport::rng::{RngCore, SeededRng};
use hyperport::routing::{Coord, Decision, LinkId, decide};
use hyperport::sim::{
    LinkConfig, NodeId, RunStats, Sim, SimConfig, SimNode, SplitMix64, Topology, TraceDigest,
    Transmit, node_seed,
};
use hyperport::time::{Duration, Instant};

/// The Noise protocol of every link.
pub const NOISE: &str = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
/// Prologue bound into every handshake.
const PROLOGUE: &[u8] = b"hyperport overlay example v1";
/// First handshake retransmission timeout; doubles per try up to `MAX_RTO`.
const HANDSHAKE_RTO: Duration = Duration::from_millis(100);
/// First end-to-end retransmission timeout; doubles per try up to `MAX_RTO`.
const E2E_RTO: Duration = Duration::from_millis(500);
const MAX_RTO: Duration = Duration::from_millis(2_000);
/// Sends of one handshake initiation or one end-to-end packet before giving up.
const MAX_TRIES: u32 = 30;
/// Out-of-order end-to-end packets buffered per source, ahead of the next
/// expected one; packets further ahead are dropped (and retransmitted).
const REORDER_WINDOW: u64 = 1_024;
/// Noise AEAD tag length.
const TAG_LEN: usize = 16;
/// Largest decrypted overlay packet accepted.
const MAX_INNER: usize = 1_200;

/// User payload of the ports layer: `[kind][pipe u32 BE][k u32 BE]`.
type Pl = Bytes<16>;
/// Ports attached to one message.
const ATTACH: usize = 2;
type Ports = PortsNode<Pl, SeededRng, 32, 128, ATTACH, 128, 128>;
/// Largest burst of user messages one command sends. A node that receives
/// a moved pipe end sends straight to the peer, whose port holds those
/// events until the proxy's last event (UpdatePreviousPeer) arrives on its
/// longer path; the ports layer's send window (`Config::send_window`, 16 by
/// default) keeps the rest of a burst waiting in the sender until the peer
/// confirms, so the crate's default hold bound suffices (with a per-port
/// bound of 16 and no window, bursts of 20 were reported as violations:
/// seed 34 on Geant2012). A burst larger than the window plus the waiting
/// room (16 + 64) would see `SendError::WouldBlock` and be counted as an
/// error here.
pub const MAX_BURST: u32 = 48;
type PortsEvent = Event<Pl, ATTACH>;

const APP_DATA: u8 = 0;
const APP_TRANSFER: u8 = 1;

const PKT_DATA: u8 = 0;
const PKT_ACK: u8 = 1;

/// The ports node name of a simulator node.
pub fn node_name(id: NodeId) -> NodeName {
    NodeName::new(0x6f76_6572_6c61_7900, u64::from(id.0) + 1)
}

fn node_of(name: NodeName) -> Option<NodeId> {
    let b = name.to_bytes();
    let v2 = u64::from_le_bytes(b[8..16].try_into().ok()?);
    let id = NodeId(u32::try_from(v2.checked_sub(1)?).ok()?);
    (node_name(id) == name).then_some(id)
}

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

/// Counters of one node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Handshake messages sent, first copies.
    pub handshake_sent: u64,
    /// Handshake messages re-sent (timer, or cached response).
    pub handshake_resent: u64,
    /// Handshake messages received.
    pub handshake_received: u64,
    /// Handshake messages refused (failed to authenticate or wrong peer).
    pub handshake_rejected: u64,
    /// Handshake messages ignored as duplicates of a finished handshake.
    pub handshake_duplicate: u64,
    /// Links on which this side reached the transport phase.
    pub sessions_up: u64,
    /// Links whose handshake gave up.
    pub handshake_failed: u64,
    /// Encrypted transport datagrams sent.
    pub datagrams_sent: u64,
    /// Transport datagrams that decrypted.
    pub datagrams_accepted: u64,
    /// Transport datagrams refused by the replay window before decryption.
    pub rejected_replay: u64,
    /// Transport datagrams that failed authentication (or named no session).
    pub rejected_forgery: u64,
    /// Datagrams whose header did not parse.
    pub rejected_header: u64,
    /// Transport datagrams that arrived before the session was up.
    pub early: u64,
    /// Forged datagrams this node injected (scenario).
    pub forged_injected: u64,
    /// Copies of its own earlier datagrams this node re-sent (scenario).
    pub replays_injected: u64,
    /// Packets forwarded for others.
    pub relayed: u64,
    /// Packets dropped because the next hop had no session yet.
    pub no_session: u64,
    /// Packets greedy routing could not forward (dead end; none expected on
    /// tree coordinates).
    pub path_broken: u64,
    /// End-to-end retransmissions.
    pub e2e_retransmits: u64,
    /// End-to-end duplicates received (already delivered).
    pub e2e_duplicates: u64,
    /// End-to-end packets abandoned after `MAX_TRIES`.
    pub e2e_gave_up: u64,
    /// Ports events that failed to decode or broke the protocol.
    pub ports_errors: u64,
    /// Ports broadcasts (only on node loss; none expected).
    pub ports_broadcasts: u64,
    /// Most proxies (or ports being transferred) seen on this node at once.
    pub proxy_peak: u64,
}

enum Session {
    /// Initiator waiting for the response.
    Initiating {
        hs: Box<HandshakeState<Crypto>>,
        datagram: Vec<u8>,
        deadline: Instant,
        tries: u32,
    },
    /// Responder waiting for the initiation.
    Waiting,
    /// Transport phase.
    Up {
        transport: Box<DatagramTransport<Crypto>>,
        peer_index: u32,
        /// Responder: the initiation answered and the response, to answer a
        /// retransmitted initiation identically.
        answered: Option<(Vec<u8>, Vec<u8>)>,
    },
    Failed,
}

struct Link {
    peer: NodeId,
    peer_public: [u8; 32],
    my_index: u32,
    session: Session,
}

struct Outgoing {
    next_seq: u64,
    /// seq -> (packet body, deadline, tries)
    unacked: BTreeMap<u64, (Vec<u8>, Instant, u32)>,
}

#[derive(Default)]
struct Incoming {
    next: u64,
    buffer: BTreeMap<u64, Vec<u8>>,
}

/// A scenario command (recorded in the trace).
#[derive(Clone, Debug, Hash)]
pub enum Command {
    /// Create an uninitialized port as this node's end of `pipe`.
    OpenEnd {
        /// Pipe number.
        pipe: u32,
    },
    /// Connect this node's end of `pipe` to `peer_port` on `peer`.
    Connect {
        /// Pipe number.
        pipe: u32,
        /// The node holding the other end.
        peer: NodeId,
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
    /// Inject `count` forged transport datagrams towards neighbour `to`,
    /// and one verbatim copy of the last datagram sent to it (a replay).
    Forge {
        /// Neighbour.
        to: NodeId,
        /// How many.
        count: u32,
    },
}

/// One overlay node: Noise sessions per link, relaying, end-to-end
/// reliability and a ports node.
pub struct OverlayNode {
    id: NodeId,
    secret: [u8; 32],
    rng: SeededRng,
    /// The latest input time.
    clock: Instant,
    links: Vec<Link>,
    /// Greedy routing state: own and neighbours' tree coordinates, and the
    /// coordinates of every node that ends a pipe of the scenario.
    routes: Routes,
    out: VecDeque<Transmit>,
    /// The last transport datagram sent to each neighbour (for the replay
    /// injected by [`Command::Forge`]).
    last_sent: BTreeMap<NodeId, Vec<u8>>,
    outgoing: BTreeMap<NodeId, Outgoing>,
    incoming: BTreeMap<NodeId, Incoming>,
    ports: Box<Ports>,
    /// This node's end of each pipe.
    ends: BTreeMap<u32, PortName>,
    /// Message numbers received per pipe, in arrival order.
    pub received: BTreeMap<u32, Vec<u32>>,
    /// Counters.
    pub counters: Counters,
}

impl OverlayNode {
    fn new(
        seed: u64,
        id: NodeId,
        neighbours: &[(NodeId, [u8; 32])],
        routes: Routes,
    ) -> Result<Self, String> {
        let mut rng = SeededRng::from_seed(node_seed(seed, id));
        let key = KeyPair::generate(&mut rng);
        let secret = key.secret_bytes();
        let mut ports_seed = [0u8; 32];
        rng.fill_bytes(&mut ports_seed);
        let ports = Box::new(Ports::new(
            node_name(id),
            PortsConfig::default(),
            SeededRng::from_seed(ports_seed),
        ));
        let mut node = OverlayNode {
            id,
            secret,
            rng,
            clock: Instant::ZERO,
            links: Vec::new(),
            routes,
            out: VecDeque::new(),
            last_sent: BTreeMap::new(),
            outgoing: BTreeMap::new(),
            incoming: BTreeMap::new(),
            ports,
            ends: BTreeMap::new(),
            received: BTreeMap::new(),
            counters: Counters::default(),
        };
        for &(peer, peer_public) in neighbours {
            let my_index = loop {
                let i = node.rng.next_u32();
                if i != 0 && node.links.iter().all(|l| l.my_index != i) {
                    break i;
                }
            };
            let session = if id < peer {
                node.start_handshake(my_index, &peer_public)?
            } else {
                Session::Waiting
            };
            if let Session::Initiating { datagram, .. } = &session {
                node.out.push_back(Transmit {
                    to: peer,
                    payload: datagram.clone(),
                });
                node.counters.handshake_sent += 1;
            }
            node.links.push(Link {
                peer,
                peer_public,
                my_index,
                session,
            });
        }
        Ok(node)
    }

    /// The public key of node `id` for scenario `seed` (the directory).
    pub fn public_key(seed: u64, id: NodeId) -> [u8; 32] {
        let mut rng = SeededRng::from_seed(node_seed(seed, id));
        *KeyPair::generate(&mut rng).public()
    }

    fn start_handshake(&mut self, my_index: u32, peer: &[u8; 32]) -> Result<Session, String> {
        let mut hs: HandshakeState<Crypto> = Builder::from_name(NOISE)
            .map_err(|e| e.to_string())?
            .local_static(KeyPair::from_secret_bytes(self.secret))
            .remote_static(*peer)
            .prologue(PROLOGUE)
            .build_initiator(&mut self.rng)
            .map_err(|e| e.to_string())?;
        let mut datagram = vec![0u8; HEADER_LEN + 256];
        Repr::HandshakeInitiation {
            sender_index: my_index,
        }
        .emit(&mut datagram)
        .map_err(|e| e.to_string())?;
        let n = hs
            .write_message(&[], &mut datagram[HEADER_LEN..])
            .map_err(|e| e.to_string())?;
        datagram.truncate(HEADER_LEN + n);
        Ok(Session::Initiating {
            hs: Box::new(hs),
            datagram,
            deadline: Instant::ZERO + HANDSHAKE_RTO,
            tries: 1,
        })
    }

    /// Whether the session with every neighbour is up.
    pub fn all_up(&self) -> bool {
        self.links
            .iter()
            .all(|l| matches!(l.session, Session::Up { .. }))
    }

    fn is_up(&self, peer: NodeId) -> bool {
        self.links
            .iter()
            .any(|l| l.peer == peer && matches!(l.session, Session::Up { .. }))
    }

    /// The port of this node's end of `pipe`, if any.
    pub fn end(&self, pipe: u32) -> Option<PortName> {
        self.ends.get(&pipe).copied()
    }

    /// Proxies still on this node.
    pub fn proxies(&self) -> usize {
        self.ports
            .ports()
            .filter(|(_, s)| *s == PortState::Proxying || *s == PortState::Buffering)
            .count()
    }

    /// Ports protocol violations and dropped outputs seen by this node.
    pub fn ports_faults(&self) -> u64 {
        let s = self.ports.stats();
        s.violations + s.dropped_outputs + self.counters.ports_errors
    }

    /// Whether nothing is waiting for an acknowledgement.
    pub fn idle(&self) -> bool {
        self.outgoing.values().all(|o| o.unacked.is_empty())
    }

    // ----- link layer -----

    /// Encrypts `inner` for neighbour `hop` into a transport datagram.
    fn send_datagram(&mut self, hop: NodeId, inner: &[u8]) -> bool {
        let Some(link) = self.links.iter_mut().find(|l| l.peer == hop) else {
            return false;
        };
        let Session::Up {
            transport,
            peer_index,
            ..
        } = &mut link.session
        else {
            self.counters.no_session += 1;
            return false;
        };
        let mut buf = vec![0u8; HEADER_LEN + inner.len() + TAG_LEN];
        let Ok((nonce, len)) = transport.write_message(inner, &mut buf[HEADER_LEN..]) else {
            return false;
        };
        let repr = Repr::TransportData {
            receiver_index: *peer_index,
            counter: nonce,
        };
        if repr.emit(&mut buf).is_err() {
            return false;
        }
        buf.truncate(HEADER_LEN + len);
        self.last_sent.insert(hop, buf.clone());
        self.out.push_back(Transmit {
            to: hop,
            payload: buf,
        });
        self.counters.datagrams_sent += 1;
        true
    }

    fn handle_datagram(&mut self, now: Instant, from: NodeId, msg: &[u8]) {
        // Parse the header first; nothing else is looked at before.
        let Ok((repr, body)) = Repr::parse_datagram(msg) else {
            self.counters.rejected_header += 1;
            return;
        };
        let Some(li) = self.links.iter().position(|l| l.peer == from) else {
            self.counters.rejected_header += 1;
            return;
        };
        match repr {
            Repr::HandshakeInitiation { sender_index } => {
                self.handle_initiation(now, li, sender_index, msg, body)
            }
            Repr::HandshakeResponse {
                sender_index,
                receiver_index,
            } => self.handle_response(now, li, sender_index, receiver_index, body),
            Repr::TransportData {
                receiver_index,
                counter,
            } => self.handle_transport(now, li, receiver_index, counter, body),
            _ => self.counters.rejected_header += 1,
        }
    }

    fn handle_initiation(
        &mut self,
        now: Instant,
        li: usize,
        sender_index: u32,
        whole: &[u8],
        body: &[u8],
    ) {
        self.counters.handshake_received += 1;
        let Some(link) = self.links.get(li) else {
            return;
        };
        let (peer, my_index, peer_public) = (link.peer, link.my_index, link.peer_public);
        match &link.session {
            Session::Up {
                answered: Some((init, resp)),
                ..
            } if init == whole => {
                // A retransmitted initiation: our response was lost.
                let payload = resp.clone();
                self.out.push_back(Transmit { to: peer, payload });
                self.counters.handshake_resent += 1;
                return;
            }
            Session::Waiting => {}
            _ => {
                // Only the lower-numbered end initiates; anything else here
                // is a stale or forged initiation.
                self.counters.handshake_rejected += 1;
                return;
            }
        }
        let built = Builder::from_name(NOISE).and_then(|b| {
            b.local_static(KeyPair::from_secret_bytes(self.secret))
                .prologue(PROLOGUE)
                .build_responder::<Crypto>(&mut self.rng)
        });
        let Ok(mut hs) = built else {
            self.counters.handshake_rejected += 1;
            return;
        };
        let mut scratch = [0u8; 256];
        if hs.read_message(body, &mut scratch).is_err() || hs.remote_static() != Some(&peer_public)
        {
            self.counters.handshake_rejected += 1;
            return;
        }
        let mut resp = vec![0u8; HEADER_LEN + 256];
        let repr = Repr::HandshakeResponse {
            sender_index: my_index,
            receiver_index: sender_index,
        };
        let Ok(n) = hs.write_message(&[], &mut resp[HEADER_LEN..]) else {
            self.counters.handshake_rejected += 1;
            return;
        };
        if repr.emit(&mut resp).is_err() {
            return;
        }
        resp.truncate(HEADER_LEN + n);
        let Ok(transport) = hs.into_datagram_transport(DatagramConfig::default(), now) else {
            self.counters.handshake_rejected += 1;
            return;
        };
        if let Some(link) = self.links.get_mut(li) {
            link.session = Session::Up {
                transport: Box::new(transport),
                peer_index: sender_index,
                answered: Some((whole.to_vec(), resp.clone())),
            };
        }
        self.counters.sessions_up += 1;
        self.counters.handshake_sent += 1;
        self.out.push_back(Transmit {
            to: peer,
            payload: resp,
        });
    }

    fn handle_response(
        &mut self,
        now: Instant,
        li: usize,
        sender_index: u32,
        receiver_index: u32,
        body: &[u8],
    ) {
        self.counters.handshake_received += 1;
        let Some(link) = self.links.get_mut(li) else {
            return;
        };
        if receiver_index != link.my_index {
            self.counters.handshake_rejected += 1;
            return;
        }
        let Session::Initiating { hs, .. } = &mut link.session else {
            self.counters.handshake_duplicate += 1;
            return;
        };
        let mut scratch = [0u8; 256];
        if hs.read_message(body, &mut scratch).is_err() || !hs.is_finished() {
            self.counters.handshake_rejected += 1;
            return;
        }
        let Session::Initiating { hs, .. } = core::mem::replace(&mut link.session, Session::Failed)
        else {
            return;
        };
        match hs.into_datagram_transport(DatagramConfig::default(), now) {
            Ok(transport) => {
                link.session = Session::Up {
                    transport: Box::new(transport),
                    peer_index: sender_index,
                    answered: None,
                };
                self.counters.sessions_up += 1;
            }
            Err(_) => self.counters.handshake_failed += 1,
        }
    }

    fn handle_transport(
        &mut self,
        now: Instant,
        li: usize,
        receiver_index: u32,
        counter: u64,
        body: &[u8],
    ) {
        let Some(link) = self.links.get_mut(li) else {
            return;
        };
        if receiver_index != link.my_index {
            self.counters.rejected_forgery += 1;
            return;
        }
        let Session::Up { transport, .. } = &mut link.session else {
            self.counters.early += 1;
            return;
        };
        let mut inner = [0u8; MAX_INNER];
        let from = link.peer;
        match transport.read_message(counter, body, &mut inner) {
            Ok(n) => {
                self.counters.datagrams_accepted += 1;
                let packet = inner[..n].to_vec();
                self.handle_packet(now, from, &packet);
            }
            Err(TransportError::Replay(ReplayError::Duplicate | ReplayError::TooOld)) => {
                self.counters.rejected_replay += 1
            }
            Err(_) => self.counters.rejected_forgery += 1,
        }
    }

    // ----- overlay packets (relay + end-to-end reliability) -----

    /// Forwards `packet` one hop towards `dst` by the greedy decision of
    /// `routing::decide`, updating the packet's watermark.
    fn route(&mut self, dst: NodeId, packet: &[u8]) {
        let (Some(dest), Some(wm)) = (
            self.routes.directory.get(&dst),
            packet.get(17..19).and_then(|b| b.try_into().ok()),
        ) else {
            self.counters.path_broken += 1;
            return;
        };
        let mut watermark = u16::from_be_bytes(wm);
        let neighbours = self.routes.neighbours.iter().map(|(l, c)| (*l, c));
        match decide(&self.routes.coord, dest, &mut watermark, neighbours) {
            Decision::Forward(LinkId(hop)) => {
                let mut p = packet.to_vec();
                p[17..19].copy_from_slice(&watermark.to_be_bytes());
                self.send_datagram(NodeId(hop), &p);
            }
            _ => self.counters.path_broken += 1,
        }
    }

    fn handle_packet(&mut self, now: Instant, _hop: NodeId, p: &[u8]) {
        let (Some(&kind), Some(src), Some(dst), Some(n), true) = (
            p.first(),
            p.get(1..5).and_then(|b| b.try_into().ok()),
            p.get(5..9).and_then(|b| b.try_into().ok()),
            p.get(9..17).and_then(|b| b.try_into().ok()),
            p.len() >= HDR,
        ) else {
            return;
        };
        let (src, dst, n) = (
            NodeId(u32::from_be_bytes(src)),
            NodeId(u32::from_be_bytes(dst)),
            u64::from_be_bytes(n),
        );
        if dst != self.id {
            self.counters.relayed += 1;
            self.route(dst, p);
            return;
        }
        match kind {
            PKT_DATA => self.handle_data(now, src, n, &p[HDR..]),
            PKT_ACK => {
                if let Some(o) = self.outgoing.get_mut(&src) {
                    // Cumulative: everything below `n` arrived; selective:
                    // the packet that triggered this ack arrived too.
                    o.unacked.retain(|&seq, _| seq >= n);
                    if let Some(b) = p.get(HDR..HDR + 8).and_then(|b| b.try_into().ok()) {
                        o.unacked.remove(&u64::from_be_bytes(b));
                    }
                }
            }
            _ => {}
        }
    }

    fn handle_data(&mut self, _now: Instant, src: NodeId, seq: u64, body: &[u8]) {
        let inc = self.incoming.entry(src).or_default();
        if seq < inc.next || inc.buffer.contains_key(&seq) {
            self.counters.e2e_duplicates += 1;
        } else if seq - inc.next < REORDER_WINDOW {
            inc.buffer.insert(seq, body.to_vec());
        }
        let mut ready = Vec::new();
        while let Some(b) = inc.buffer.remove(&inc.next) {
            ready.push(b);
            inc.next += 1;
        }
        let ack_to = inc.next;
        let ack = packet(PKT_ACK, self.id, src, ack_to, &seq.to_be_bytes());
        self.route(src, &ack);
        for b in ready {
            match PortsEvent::decode(&b) {
                Ok(ev) => {
                    if let Err(e) = self.ports.handle_event(node_name(src), ev) {
                        if std::env::var_os("OVERLAY_DEBUG").is_some() {
                            eprintln!("{} <- {}: {e:?}", self.id, src);
                        }
                        self.counters.ports_errors += 1;
                    }
                }
                Err(_) => self.counters.ports_errors += 1,
            }
            self.pump_ports();
        }
    }

    fn send_reliable(&mut self, now: Instant, dst: NodeId, body: &[u8]) {
        let o = self.outgoing.entry(dst).or_insert(Outgoing {
            next_seq: 0,
            unacked: BTreeMap::new(),
        });
        let seq = o.next_seq;
        o.next_seq += 1;
        o.unacked.insert(seq, (body.to_vec(), now + E2E_RTO, 1));
        let p = packet(PKT_DATA, self.id, dst, seq, body);
        self.route(dst, &p);
    }

    /// Drains the ports node: events to other nodes go out reliably, status
    /// changes are read by the application.
    fn pump_ports(&mut self) {
        loop {
            let mut progressed = false;
            while let Some((to, ev)) = self.ports.poll_transmit() {
                progressed = true;
                let mut buf = vec![0u8; ev.encoded_len()];
                let (Ok(_), Some(dst)) = (ev.encode(&mut buf), node_of(to)) else {
                    self.counters.ports_errors += 1;
                    continue;
                };
                let now = self.clock;
                self.send_reliable(now, dst, &buf);
            }
            while self.ports.poll_broadcast().is_some() {
                progressed = true;
                self.counters.ports_broadcasts += 1;
            }
            while self.ports.poll_event().is_some() {
                progressed = true;
            }
            // Read every pipe end this node holds.
            let ends: Vec<(u32, PortName)> = self.ends.iter().map(|(&k, &v)| (k, v)).collect();
            for (pipe, port) in ends {
                while let Ok(Some(m)) = self.ports.get_message(port) {
                    progressed = true;
                    match parse_app(&m.payload) {
                        Some((APP_DATA, p, k)) if p == pipe => {
                            self.received.entry(pipe).or_default().push(k)
                        }
                        Some((APP_TRANSFER, moved, _)) => {
                            if let Some(&port) = m.ports.first() {
                                self.ends.insert(moved, port);
                            }
                        }
                        _ => self.counters.ports_errors += 1,
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        self.counters.proxy_peak = self.counters.proxy_peak.max(self.proxies() as u64);
    }
}

/// Overlay packet header length.
const HDR: usize = 19;

/// An overlay packet: `[kind][src u32][dst u32][n u64][watermark u16][body]`.
/// Data: `n` is the sequence number and the body a ports event. Ack: `n` is
/// the next sequence number expected (cumulative) and the body the sequence
/// number of the packet that triggered it (selective). The watermark is the
/// greedy-routing field (`routing::decide`), fresh (`u16::MAX`) at the source.
fn packet(kind: u8, src: NodeId, dst: NodeId, n: u64, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(HDR + body.len());
    p.push(kind);
    p.extend_from_slice(&src.0.to_be_bytes());
    p.extend_from_slice(&dst.0.to_be_bytes());
    p.extend_from_slice(&n.to_be_bytes());
    p.extend_from_slice(&u16::MAX.to_be_bytes());
    p.extend_from_slice(body);
    p
}

fn backoff(base: Duration, tries: u32) -> Duration {
    base.saturating_mul(1 << tries.saturating_sub(1).min(10))
        .min(MAX_RTO)
}

impl OverlayNode {
    fn next_deadline(&self) -> Option<Instant> {
        let hs = self.links.iter().filter_map(|l| match l.session {
            Session::Initiating { deadline, .. } => Some(deadline),
            _ => None,
        });
        let e2e = self
            .outgoing
            .values()
            .flat_map(|o| o.unacked.values().map(|&(_, d, _)| d));
        hs.chain(e2e).min()
    }

    fn on_timeout(&mut self, now: Instant) {
        for link in &mut self.links {
            let peer = link.peer;
            let Session::Initiating {
                datagram,
                deadline,
                tries,
                ..
            } = &mut link.session
            else {
                continue;
            };
            if *deadline > now {
                continue;
            }
            if *tries >= MAX_TRIES {
                link.session = Session::Failed;
                self.counters.handshake_failed += 1;
                continue;
            }
            *tries += 1;
            *deadline = now + backoff(HANDSHAKE_RTO, *tries);
            self.out.push_back(Transmit {
                to: peer,
                payload: datagram.clone(),
            });
            self.counters.handshake_resent += 1;
        }
        let mut resend = Vec::new();
        for (&dst, o) in &mut self.outgoing {
            let mut dead = Vec::new();
            for (&seq, (body, deadline, tries)) in &mut o.unacked {
                if *deadline > now {
                    continue;
                }
                if *tries >= MAX_TRIES {
                    dead.push(seq);
                    continue;
                }
                *tries += 1;
                *deadline = now + backoff(E2E_RTO, *tries);
                resend.push(packet(PKT_DATA, self.id, dst, seq, body));
            }
            for seq in dead {
                o.unacked.remove(&seq);
                self.counters.e2e_gave_up += 1;
            }
        }
        for p in resend {
            self.counters.e2e_retransmits += 1;
            let dst = NodeId(u32::from_be_bytes([p[5], p[6], p[7], p[8]]));
            self.route(dst, &p);
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::OpenEnd { pipe } => {
                if let Ok(port) = self.ports.create_uninitialized_port() {
                    self.ends.insert(pipe, port);
                }
            }
            Command::Connect {
                pipe,
                peer,
                peer_port,
            } => {
                if let Some(&port) = self.ends.get(&pipe) {
                    let n = node_name(peer);
                    if self
                        .ports
                        .initialize_port(port, n, peer_port, n, peer_port)
                        .is_err()
                    {
                        self.counters.ports_errors += 1;
                    }
                }
            }
            Command::Send { pipe, first, count } => {
                let Some(&port) = self.ends.get(&pipe) else {
                    self.counters.ports_errors += 1;
                    return;
                };
                for k in first..first.saturating_add(count) {
                    if self
                        .ports
                        .send_user_message(port, app_payload(APP_DATA, pipe, k), &[])
                        .is_err()
                    {
                        self.counters.ports_errors += 1;
                    }
                    self.pump_ports();
                }
            }
            Command::Transfer { pipe, via } => {
                let (Some(moving), Some(&carrier)) = (self.ends.remove(&pipe), self.ends.get(&via))
                else {
                    self.counters.ports_errors += 1;
                    return;
                };
                if self
                    .ports
                    .send_user_message(carrier, app_payload(APP_TRANSFER, pipe, 0), &[moving])
                    .is_err()
                {
                    self.counters.ports_errors += 1;
                }
            }
            Command::Forge { to, count } => {
                let Some(link) = self.links.iter().find(|l| l.peer == to) else {
                    return;
                };
                let Session::Up {
                    transport,
                    peer_index,
                    ..
                } = &link.session
                else {
                    return;
                };
                let (peer_index, base) = (*peer_index, transport.sending_nonce());
                for i in 0..count {
                    // A well-formed header naming the real session and an
                    // unused nonce, with random bytes for the ciphertext.
                    let mut d = vec![0u8; HEADER_LEN + 48];
                    let repr = Repr::TransportData {
                        receiver_index: peer_index,
                        counter: base + 1_000_000 + u64::from(i),
                    };
                    if repr.emit(&mut d).is_err() {
                        return;
                    }
                    self.rng.fill_bytes(&mut d[HEADER_LEN..]);
                    self.out.push_back(Transmit { to, payload: d });
                    self.counters.forged_injected += 1;
                }
                if let Some(old) = self.last_sent.get(&to) {
                    let payload = old.clone();
                    self.out.push_back(Transmit { to, payload });
                    self.counters.replays_injected += 1;
                }
            }
        }
        self.pump_ports();
    }
}

impl SimNode for OverlayNode {
    type Command = Command;

    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]) {
        self.clock = now;
        self.handle_datagram(now, from, msg);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.clock = now;
        self.on_timeout(now);
    }

    fn handle_command(&mut self, now: Instant, command: Command) {
        self.clock = now;
        self.on_command(command);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_deadline()
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
    /// Scenario seed (keys, links, sample).
    pub seed: u64,
    /// Sampled node pairs that open a pipe.
    pub pipes: usize,
    /// User messages per pipe and phase.
    pub messages: u32,
    /// Every link's behaviour.
    pub link: LinkConfig,
    /// Keep the trace (memory) in the simulator.
    pub record_trace: bool,
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
                .with_mtu(1_280),
            record_trace: false,
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
    /// Node counters summed.
    pub counters: Counters,
    /// Links of the topology.
    pub links: usize,
    /// Links whose both ends reached the transport phase.
    pub handshakes: usize,
    /// Virtual time when the last handshake finished.
    pub handshakes_done_at: Instant,
    /// The sampled pipes (the transfer pipe is not included).
    pub pipes: Vec<Pipe>,
    /// Pipe 0's end moved from `pipes[0].b` to this node.
    pub third: NodeId,
    /// User messages delivered (exactly once, in order, checked).
    pub delivered: u64,
    /// User messages sent.
    pub expected: u64,
    /// Proxies left anywhere after the run.
    pub proxies_left: usize,
    /// Named checks and whether each passed.
    pub checks: Vec<(String, bool)>,
}

impl Outcome {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|(_, ok)| *ok)
    }
}

/// A node's greedy-routing state.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    coord: Coord,
    neighbours: Vec<(LinkId, Coord)>,
    directory: BTreeMap<NodeId, Coord>,
}

/// Tree coordinates (`routing::Coord`) of every node: a BFS spanning tree
/// of each component from its lowest-numbered node, children numbered 1, 2,
/// ... in neighbour order. Computed here from the whole topology; the
/// routing protocol (`routing::Node`, signed announcements) is not run.
fn tree_coords(t: &Topology) -> Result<Vec<Coord>, String> {
    let n = t.node_count();
    let mut coords: Vec<Option<Coord>> = vec![None; n];
    for r in 0..n {
        if coords[r].is_some() {
            continue;
        }
        coords[r] = Some(Coord::root());
        let mut queue = VecDeque::from([NodeId::from_index(r)]);
        while let Some(u) = queue.pop_front() {
            let cu = coords[u.index()].clone().unwrap_or_default();
            let mut slot = 0u16;
            for &v in t.neighbours(u) {
                if coords[v.index()].is_none() {
                    slot += 1;
                    coords[v.index()] = Some(cu.child(slot).map_err(|e| e.to_string())?);
                    queue.push_back(v);
                }
            }
        }
    }
    Ok(coords.into_iter().map(Option::unwrap_or_default).collect())
}

/// Greedy-routing state per node, with the coordinates of `dests` known.
fn routes(t: &Topology, dests: &[NodeId]) -> Result<Vec<Routes>, String> {
    let coords = tree_coords(t)?;
    let directory: BTreeMap<NodeId, Coord> = dests
        .iter()
        .map(|&d| (d, coords[d.index()].clone()))
        .collect();
    Ok((0..t.node_count())
        .map(|i| Routes {
            coord: coords[i].clone(),
            neighbours: t
                .neighbours(NodeId::from_index(i))
                .iter()
                .map(|&m| (LinkId(m.0), coords[m.index()].clone()))
                .collect(),
            directory: directory.clone(),
        })
        .collect())
}

/// Builds the nodes of a scenario, able to route towards `dests`.
pub fn build_nodes(t: &Topology, seed: u64, dests: &[NodeId]) -> Result<Vec<OverlayNode>, String> {
    let n = t.node_count();
    let publics: Vec<[u8; 32]> = (0..n)
        .map(|i| OverlayNode::public_key(seed, NodeId::from_index(i)))
        .collect();
    routes(t, dests)?
        .into_iter()
        .enumerate()
        .map(|(i, hops)| {
            let id = NodeId::from_index(i);
            let neighbours: Vec<(NodeId, [u8; 32])> = t
                .neighbours(id)
                .iter()
                .map(|&m| (m, publics[m.index()]))
                .collect();
            OverlayNode::new(seed, id, &neighbours, hops)
        })
        .collect()
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

const STEPS: u64 = 20_000_000;

fn received(sim: &Sim<OverlayNode>, node: NodeId, pipe: u32) -> &[u32] {
    sim.node(node)
        .and_then(|n| n.received.get(&pipe))
        .map_or(&[], |v| v.as_slice())
}

/// Runs the whole scenario once.
pub fn run(o: &Options) -> Result<Outcome, String> {
    let t = &o.topology;
    let n = t.node_count();
    if n < 3 {
        return Err("need at least 3 nodes".into());
    }
    let config = SimConfig {
        record_trace: o.record_trace,
        ..SimConfig::with_seed(o.seed)
    };
    let (pipes, third) = sample(t, o.seed, o.pipes)?;
    let mut dests: Vec<NodeId> = pipes.iter().flat_map(|p| [p.a, p.b]).collect();
    dests.push(third);
    dests.sort_unstable();
    dests.dedup();
    let mut sim = Sim::with_topology(config, build_nodes(t, o.seed, &dests)?, t, o.link)
        .map_err(|e| e.to_string())?;
    let e = |e: hyperport::sim::SimError| e.to_string();

    // Phase 1: every link runs its handshake.
    // (Each link brings up one session at each end: count them, O(n) a step.)
    let sessions = 2 * t.edge_count() as u64;
    sim.run_until_condition(STEPS, |s| {
        s.nodes()
            .iter()
            .map(|x| x.counters.sessions_up)
            .sum::<u64>()
            >= sessions
    })
    .map_err(e)?;
    let handshakes_done_at = sim.stats().now;

    // Phase 2: open a pipe between each sampled pair.
    let first = *pipes.first().ok_or("no pipe")?;
    let carrier = pipes.len() as u32; // pipe number of b0 <-> third
    let mut all = pipes.clone();
    all.push(Pipe {
        a: first.b,
        b: third,
        hops: t.bfs_distances(first.b)[third.index()].unwrap_or(0),
    });
    for (i, p) in all.iter().enumerate() {
        let pipe = i as u32;
        sim.command(p.a, Command::OpenEnd { pipe }).map_err(e)?;
        sim.command(p.b, Command::OpenEnd { pipe }).map_err(e)?;
        let end = |id: NodeId| sim.node(id).and_then(|x| x.end(pipe)).ok_or("no end");
        let (pa, pb) = (end(p.a)?, end(p.b)?);
        sim.command(
            p.a,
            Command::Connect {
                pipe,
                peer: p.b,
                peer_port: pb,
            },
        )
        .map_err(e)?;
        sim.command(
            p.b,
            Command::Connect {
                pipe,
                peer: p.a,
                peer_port: pa,
            },
        )
        .map_err(e)?;
    }

    // Phase 3: N messages a -> b on every sampled pipe.
    let m = o.messages;
    if m > MAX_BURST {
        return Err(format!("at most {MAX_BURST} messages per pipe"));
    }
    for (i, p) in pipes.iter().enumerate() {
        sim.command(
            p.a,
            Command::Send {
                pipe: i as u32,
                first: 0,
                count: m,
            },
        )
        .map_err(e)?;
    }
    sim.run_until_condition(STEPS, |s| {
        pipes
            .iter()
            .enumerate()
            .all(|(i, p)| received(s, p.b, i as u32).len() >= m as usize)
    })
    .map_err(e)?;

    // A few nodes inject forged datagrams at a neighbour, and replay the
    // last datagram they sent it.
    for i in 0..4.min(n) {
        let id = NodeId::from_index(i * n / 4);
        let to = sim
            .node(id)
            .and_then(|x| x.last_sent.keys().next().copied())
            .or(t.neighbours(id).first().copied());
        if let Some(to) = to {
            sim.command(id, Command::Forge { to, count: 2 })
                .map_err(e)?;
        }
    }

    // Phase 4: b0 sends its end of pipe 0 to the third node inside a
    // message, while a0 keeps sending; then the third node answers a0.
    sim.command(
        first.b,
        Command::Transfer {
            pipe: 0,
            via: carrier,
        },
    )
    .map_err(e)?;
    sim.command(
        first.a,
        Command::Send {
            pipe: 0,
            first: m,
            count: m,
        },
    )
    .map_err(e)?;
    sim.run_until_condition(STEPS, |s| {
        received(s, third, 0).len() >= m as usize
            && s.node(third).is_some_and(|x| x.end(0).is_some())
    })
    .map_err(e)?;
    sim.command(
        third,
        Command::Send {
            pipe: 0,
            first: 0,
            count: m,
        },
    )
    .map_err(e)?;
    sim.run_until_quiet(STEPS).map_err(e)?;

    // Checks.
    let mut checks = Vec::new();
    let links = t.edge_count();
    let handshakes = t
        .edges()
        .iter()
        .filter(|&&(a, b)| {
            sim.node(a).is_some_and(|x| x.is_up(b)) && sim.node(b).is_some_and(|x| x.is_up(a))
        })
        .count();
    checks.push((
        format!("handshakes {handshakes}/{links}"),
        handshakes == links,
    ));
    let seq = |from: u32| (from..from + m).collect::<Vec<u32>>();
    let mut delivered = 0u64;
    let mut expected = 0u64;
    let mut pipes_ok = true;
    for (i, p) in pipes.iter().enumerate().skip(1) {
        let got = received(&sim, p.b, i as u32);
        expected += u64::from(m);
        delivered += got.len() as u64;
        pipes_ok &= got == seq(0).as_slice();
    }
    checks.push((
        format!(
            "{} pipes: {m} messages each exactly once, in order",
            pipes.len().saturating_sub(1)
        ),
        pipes_ok,
    ));
    let before = received(&sim, first.b, 0);
    let after = received(&sim, third, 0);
    let back = received(&sim, first.a, 0);
    expected += 3 * u64::from(m);
    delivered += (before.len() + after.len() + back.len()) as u64;
    checks.push((
        format!(
            "pipe 0: {} -> {} then end moved to {}: exactly once, in order, both directions",
            first.a, first.b, third
        ),
        before == seq(0).as_slice() && after == seq(m).as_slice() && back == seq(0).as_slice(),
    ));
    let proxies_left: usize = sim.nodes().iter().map(OverlayNode::proxies).sum();
    let b0_peak = sim.node(first.b).map_or(0, |x| x.counters.proxy_peak);
    let moved = sim.node(first.b).is_some_and(|x| x.end(0).is_none())
        && sim.node(third).is_some_and(|x| x.end(0).is_some());
    checks.push((
        format!(
            "proxy collapse: {} held a proxy (peak {b0_peak}), none left anywhere",
            first.b
        ),
        moved && b0_peak >= 1 && proxies_left == 0,
    ));
    let faults: u64 = sim.nodes().iter().map(OverlayNode::ports_faults).sum();
    checks.push((
        format!("ports: {faults} violations or dropped events"),
        faults == 0,
    ));
    let mut c = Counters::default();
    for x in sim.nodes() {
        let y = x.counters;
        c.handshake_sent += y.handshake_sent;
        c.handshake_resent += y.handshake_resent;
        c.handshake_rejected += y.handshake_rejected;
        c.handshake_duplicate += y.handshake_duplicate;
        c.sessions_up += y.sessions_up;
        c.handshake_failed += y.handshake_failed;
        c.datagrams_sent += y.datagrams_sent;
        c.datagrams_accepted += y.datagrams_accepted;
        c.rejected_replay += y.rejected_replay;
        c.rejected_forgery += y.rejected_forgery;
        c.rejected_header += y.rejected_header;
        c.early += y.early;
        c.forged_injected += y.forged_injected;
        c.replays_injected += y.replays_injected;
        c.relayed += y.relayed;
        c.path_broken += y.path_broken;
        c.no_session += y.no_session;
        c.e2e_retransmits += y.e2e_retransmits;
        c.e2e_duplicates += y.e2e_duplicates;
        c.e2e_gave_up += y.e2e_gave_up;
        c.ports_errors += y.ports_errors;
        c.ports_broadcasts += y.ports_broadcasts;
        c.handshake_received += y.handshake_received;
        c.proxy_peak = c.proxy_peak.max(y.proxy_peak);
    }
    let stats = sim.stats();
    if o.record_trace {
        // Replay the recorded inputs into freshly built nodes: every output
        // and timer must come out the same, and so must the final state.
        let mut fresh = build_nodes(t, o.seed, &dests)?;
        let replayed = hyperport::sim::replay(sim.trace(), &mut fresh);
        let same_state = fresh
            .iter()
            .zip(sim.nodes())
            .all(|(x, y)| x.received == y.received && x.counters == y.counters);
        checks.push((
            match &replayed {
                Ok(k) => format!(
                    "replay: {k} trace entries into fresh nodes, outputs and state identical"
                ),
                Err(e) => format!("replay: {e}"),
            },
            replayed.is_ok() && same_state,
        ));
    }
    checks.push((
        "every delivered datagram accounted for (handshake, accepted, replay, forgery, early, bad header)"
            .into(),
        stats.delivered
            == c.handshake_received
                + c.datagrams_accepted
                + c.rejected_replay
                + c.rejected_forgery
                + c.early
                + c.rejected_header,
    ));
    checks.push((
        "rejections: forgeries seen; every rejected datagram was forged, replayed or a link duplicate"
            .into(),
        c.rejected_forgery > 0
            && c.rejected_forgery + c.rejected_replay
                <= c.forged_injected + c.replays_injected + stats.duplicated,
    ));
    checks.push((
        "nothing given up or routed into a dead end, every node idle".into(),
        c.e2e_gave_up == 0
            && c.handshake_failed == 0
            && c.path_broken == 0
            && sim.nodes().iter().all(OverlayNode::idle),
    ));
    Ok(Outcome {
        stats,
        digest: sim.trace_digest(),
        counters: c,
        links,
        handshakes,
        handshakes_done_at,
        pipes,
        third,
        delivered,
        expected,
        proxies_left,
        checks,
    })
}

fn usage() -> ExitCode {
    eprintln!("usage: overlay [EDGELIST] [--seed N]");
    ExitCode::FAILURE
}

#[allow(dead_code)] // unused when the test includes this file as a module
fn main() -> ExitCode {
    let mut path = None;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--seed" {
            match args.next().map(|s| s.parse()) {
                Some(Ok(s)) => seed = s,
                _ => return usage(),
            }
        } else if a.starts_with('-') || path.is_some() {
            return usage();
        } else {
            path = Some(PathBuf::from(a));
        }
    }
    let path = path.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/topologies/zoo-Geant2012.txt")
    });
    let topology = match Topology::from_file(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let mut options = Options::new(topology, seed);
    // The trace (for the replay check) is kept for graphs up to 1000 nodes.
    options.record_trace = options.topology.node_count() <= 1_000;
    let t = &options.topology;
    println!("overlay: an encrypted overlay in the deterministic simulator");
    println!(
        "topology   {}: {} nodes, {} links, {} component(s)",
        path.display(),
        t.node_count(),
        t.edge_count(),
        t.components().len()
    );
    println!(
        "links      latency 2-20 ms, loss 2.0 %, duplicate 2.0 %, reorder 5.0 %, MTU 1280; seed {seed}"
    );
    println!(
        "security   {NOISE} on every link (peer keys from a directory), explicit nonce in the framing::datagram header, replay window"
    );
    println!(
        "relaying   greedy forwarding (routing::decide) on static BFS-tree coordinates (the routing protocol itself is not run); end-to-end ack + retransmit"
    );
    let wall = std::time::Instant::now();
    let out = match run(&options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("run failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let wall_run = wall.elapsed();
    let c = &out.counters;
    let s = &out.stats;
    println!(
        "handshakes {}/{} links up by {} ({} messages, {} resent, {} rejected, {} duplicate)",
        out.handshakes,
        out.links,
        out.handshakes_done_at,
        c.handshake_sent,
        c.handshake_resent,
        c.handshake_rejected,
        c.handshake_duplicate
    );
    println!(
        "datagrams  sent {} (+{} forged, +{} replayed injected); link dropped {} (loss {}, mtu {}), duplicated {}, reordered {}",
        c.datagrams_sent,
        c.forged_injected,
        c.replays_injected,
        s.dropped(),
        s.dropped_loss,
        s.dropped_mtu,
        s.duplicated,
        s.reordered
    );
    println!(
        "           accepted {}, rejected as replay {}, as forgery {}, before session {}, bad header {}",
        c.datagrams_accepted, c.rejected_replay, c.rejected_forgery, c.early, c.rejected_header
    );
    println!(
        "relay      {} packets forwarded, {} greedy dead ends, {} end-to-end retransmissions, {} end-to-end duplicates dropped, {} dropped for no session",
        c.relayed, c.path_broken, c.e2e_retransmits, c.e2e_duplicates, c.no_session
    );
    let adjacent = out.pipes.iter().filter(|p| p.hops == 1).count();
    let max_hops = out.pipes.iter().map(|p| p.hops).max().unwrap_or(0);
    let first = out.pipes[0];
    println!(
        "ports      {} pipes ({adjacent} between neighbours, up to {max_hops} hops), {} messages each; pipe 0's end moved {} -> {} inside a message",
        out.pipes.len(),
        options.messages,
        first.b,
        out.third
    );
    println!(
        "app        {}/{} user messages delivered exactly once, in order; {} proxies left",
        out.delivered, out.expected, out.proxies_left
    );
    println!(
        "run        virtual time {}, {} steps ({} timeouts, {} commands), wall {:.1} ms",
        s.now,
        s.steps,
        s.timeouts,
        s.commands,
        wall_run.as_secs_f64() * 1e3
    );
    println!("trace      digest {}", out.digest);
    let mut ok = out.ok();
    for (name, pass) in &out.checks {
        println!("check      {} {name}", if *pass { "ok  " } else { "FAIL" });
    }
    match run(&options) {
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
    println!("wall total {:.1} ms", wall.elapsed().as_secs_f64() * 1e3);
    if ok {
        println!("result     all checks passed");
        ExitCode::SUCCESS
    } else {
        println!("result     FAILED");
        ExitCode::FAILURE
    }
}
