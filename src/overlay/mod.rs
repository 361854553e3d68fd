//! One overlay node: [`link`](crate::link) sessions with its neighbours,
//! the [`routing`](crate::routing) protocol over them, greedy forwarding of
//! routed packets, and a [`ports`](crate::ports) node on top whose events
//! travel end to end, reliably and in order, over sessions with their
//! authenticated source.
//!
//! ```text
//!   application: ports commands, locations        driver: datagrams, clock
//!          |  ports_mut(), set_location()             |  handle_datagram(now, from, bytes)
//!          v                                          v  handle_timeout(now), poll_*
//!  +----------------------------------------------------------------------+
//!  | ports::Node   events in order; sender = authenticated source          |
//!  | streams       per correspondent: end-to-end link session + records    |
//!  | routing::Node announcements on hop sessions; greedy forwarding        |
//!  | peer table    per neighbour key: hop link session, generation, address|
//!  | transmit queue  plaintext hop payloads tagged (peer, generation)      |
//!  +----------------------------------------------------------------------+
//! ```
//!
//! # Run loop
//!
//! Inputs: [`Node::handle_datagram`]`(now, from, bytes)` (any address, any
//! bytes), [`Node::handle_timeout`]`(now)`, and the commands
//! [`Node::connect`], [`Node::disconnect`], [`Node::set_location`],
//! [`Node::remember`] and the ports commands through [`Node::ports_mut`].
//! Outputs, drained after every input (and after ports commands):
//! [`Node::poll_transmit`]`(now, buf)` (one datagram per call, with its
//! address), [`Node::poll_event`], [`Node::poll_timeout`] (the
//! [`Timed`](crate::time::Timed) contract).
//!
//! A driver (`tests/overlay_node.rs` has a complete one):
//!
//! ```text
//! node.connect(now, neighbour_key, neighbour_addr)?;      // configured neighbours
//! loop {
//!     match next input {
//!         datagram(from, bytes) => node.handle_datagram(now, from, &bytes),
//!         timer                 => node.handle_timeout(now),
//!     }
//!     while let Some(t) = node.poll_transmit(now, &mut buf)? { socket.send_to(&buf[..t.len], t.to) }
//!     while let Some(e) = node.poll_event() {
//!         match e {
//!             Event::LocationNeeded { key } => node.set_location(now, key, directory.lookup(key))?,
//!             Event::PortStatus(port)      => { /* node.ports_mut().get_message(port) */ }
//!             _ => {}
//!         }
//!     }
//!     sleep until node.poll_timeout();
//! }
//! ```
//!
//! # Identities
//!
//! One secret seed gives a node two keys ([`Identity`]): the **node key**
//! (X25519, the Noise static key of every session, the key of the peer
//! table and of correspondents, and, hashed, the ports node name
//! [`node_name`]) and the **routing key** (Ed25519, which signs routing
//! announcements). A neighbour's routing key is registered with routing
//! only after its hello proves that key signed the neighbour's
//! Noise-authenticated node key ([`identity`] module docs); routing refuses
//! announcements whose chain does not end at the registered key. So a
//! neighbour cannot announce someone else's routing key.
//!
//! # Peer table rules
//!
//! * **One entry per key.** A new handshake from a key that has an entry
//!   goes to that entry's link (a rekey, or the peer reconnecting). If the
//!   neighbour's hello then shows another incarnation or routing key (it
//!   restarted), the entry's generation changes: `PeerDown { Restarted }`
//!   for the old one, `PeerUp` for the new.
//! * **Generations.** One node-wide counter from 1, +1 for every new hop
//!   session and every restart seen ([`PeerRef`]). Every event and command
//!   about a neighbour carries one; a command with another generation is
//!   refused ([`PeerError::StaleGeneration`]). Hop datagrams wait in the
//!   transmit queue as plaintext tagged (peer, generation) and are
//!   encrypted at [`Node::poll_transmit`] only if that generation is still
//!   the peer's: otherwise they are refused, counted and reported
//!   ([`SendFailure::StaleGeneration`]), never sent under the newer
//!   session. Nothing is re-resolved (a forwarded packet lost this way is
//!   retransmitted end to end).
//! * **Admission.** Inbound sessions pass the hop [`Gate`](crate::link::Gate)
//!   (per-source and total rates, cookies under load) first. A new key
//!   then takes a free slot, or replaces the oldest inbound session whose
//!   hellos are not exchanged yet; it never evicts a session that is up or
//!   one made by [`Node::connect`]. So a flood of initiations from fresh
//!   keys cycles through half-open slots and established neighbours keep
//!   working. [`Config::accept_inbound`] off refuses unknown keys.
//! * **Expiry.** Half-open after [`Config::half_open_ttl`], silent after
//!   [`Config::silent_ttl`], idle after [`Config::idle_ttl`]: the session
//!   ends with `PeerDown`. Sessions made by [`Node::connect`] are redialled
//!   at once under a new generation until [`Node::disconnect`].
//!
//! # Streams
//!
//! Ports events to another node travel in that node's *stream*: records
//! numbered from 0, acknowledged cumulatively and selectively, retransmitted
//! on timers (RFC 6298 estimator), delivered exactly once and in order
//! ([`Config::window`] records in flight). Streams are carried in
//! end-to-end link sessions whose datagrams are the bodies of routed
//! packets, so the source given to ports is the Noise-authenticated peer.
//! Each run of a node has a random incarnation; a correspondent that speaks
//! with another one restarted: its previous ports incarnation is reported
//! lost ([`Event::NodeLost`]), what was in flight for it is dropped, and the
//! new one is admitted ([`Event::NodeUp`]). A correspondent whose oldest
//! record sees no acknowledgement for [`Config::dead_after`] (or whose
//! session cannot be made within the end-to-end handshake deadline) is
//! reported lost too, and our next stream to it carries a flag so the other
//! side does the same. A correspondent ports depends on (a port's peer or
//! previous peer is there) is sent an empty *probe* record after
//! [`Config::probe_interval`] of silence, so a node that died or restarted
//! is noticed even when nothing else is sent to it.
//!
//! A stream is identified by its sender's incarnation and stream number; a
//! receiver that has no state for it starts at the sender's oldest
//! unacknowledged record (`una`), so forgetting an idle correspondent
//! (after [`Config::correspondent_ttl`], only if ports no longer admits it)
//! never replays nor skips a record.
//!
//! Routing needs the destination's [`Locator`](crate::routing::Locator):
//! the application gives it ([`Node::set_location`], from its directory,
//! when [`Event::LocationNeeded`] asks), and every authenticated packet
//! updates the sender's location (its routing header's source). A node
//! whose position changes sends a packet to every partner. A packet that
//! dead-ends, or reaches a node that is not its destination (the
//! coordinate now belongs to someone else: an initiation for another key,
//! a session index nobody owns there), is answered with a path-broken
//! notice; the source marks that location stale and asks again. A ports
//! event naming third nodes is preceded, in the same stream, by an
//! introduction of each (its key and location), since a ports name is a
//! hash of a key; ports naming a node the overlay has no key for are told
//! it is unreachable ([`Event::UnknownNode`]).
//!
//! # Known limits
//!
//! * **Locations come from outside.** Routing needs the destination's
//!   [`Locator`](crate::routing::Locator); the overlay learns it in band
//!   (every authenticated packet updates its sender's, a node that moves
//!   tells its partners, introductions carry third parties') but the first
//!   one, and a fresh one after both ends moved, come from the application
//!   ([`Event::LocationNeeded`] → [`Node::set_location`]): there is no
//!   lookup protocol.
//! * **Locations are not authenticated.** A routing header is outside the
//!   end-to-end AEAD: a node on the path can rewrite the source locator of
//!   a packet it forwards, and the receiver then answers there until the
//!   next packet from the real source (the same damage as dropping the
//!   packets; nothing is disclosed or forged).
//! * **Roaming.** A neighbour's address follows its authenticated
//!   datagrams, so a replayed datagram that beats the original from a
//!   spoofed source misdirects that neighbour's traffic until its next
//!   datagram; a session made by [`Node::connect`] that goes silent is
//!   redialled at the address it was given.
//! * **No forward secrecy beyond the sessions'**: end-to-end sessions are
//!   Noise `IK` (forward secret), hop sessions too; nothing more.
//! * **Ports events are records of at most `REC - 1` bytes**; a larger one
//!   cannot travel (counted in [`Stats::ports_errors`]).
//! * **A node without a location is forgotten when unused.** A
//!   correspondent that never carried a session and whose location the
//!   node does not know (only [`Node::remember`]ed) is freed after
//!   [`Config::correspondent_ttl`] even when a port still names it; a
//!   later ports event for it raises [`Event::UnknownNode`] and ports is
//!   told the node is lost. Call `remember` again (or give its location)
//!   before using a node left idle that long. One whose location is known
//!   and that a port names is kept and probed instead
//!   ([`Config::probe_interval`]), like any correspondent ports depends on.
//! * **Restart needs fresh storage**: the routing machine does not give its
//!   neighbour table back, so a node cannot be rebuilt in place.
//!
//! # Packet layout
//!
//! Hop datagrams are `link` datagrams (the one header documented in
//! [`link`](crate::link)); their payload starts with a type byte:
//!
//! | type | name | rest |
//! |---|---|---|
//! | 1 | hello | flags `u8` (1: got yours), incarnation `u64`, then the 100-byte binding ([`identity`]) |
//! | 2 | announcement | a `routing` announcement ([`routing::announce`](crate::routing::announce)) |
//! | 3 | routed | a [`routing::Header`](crate::routing::Header), then the body: an end-to-end `link` datagram (data), or nothing (a path-broken notice) |
//!
//! The plaintext of an end-to-end transport datagram is a stream packet
//! ([`wire::StreamHeader`]), big-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | flags: 1 carries a record, 2 previous stream ended dirty |
//! | 1 | 8 | sender's incarnation (non-zero) |
//! | 9 | 4 | sender's stream number |
//! | 13 | 4 | oldest record of that stream not acknowledged (`una`) |
//! | 17 | 8 | receiver's incarnation as the sender knows it (0: unknown) |
//! | 25 | 4 | receiver's stream number the acknowledgement refers to |
//! | 29 | 4 | cumulative acknowledgement (next record expected) |
//! | 33 | 4 | selective acknowledgement: bit i = record `ack + 1 + i` held |
//! | 37 | 4 | with a record: its sequence number |
//! | 41 | 1 | with a record: its type (1 ports event, 2 introduction) |
//! | 42 | … | with a record: its body (a ports event, [`ports::event`](crate::ports::event); or key `[32]`, has-location `u8`, root `[32]`, coordinate) |
//!
//! # Bounds
//!
//! Every table is the caller's [`Storage`]; the node adds its buffers
//! (`2 × MTU + REC`), two gates, the routing machine and the ports node.
//! Queues: [`EVENT_QUEUE`] events (oldest dropped, counted), the transmit
//! queue (full: the datagram is dropped, counted), [`Config::window`]
//! records per stream and the record pool over all of them (full: a ports
//! event waits in the node, and the ports node's own outbox holds the rest).
//! One call does bounded work: one datagram, or one scan of the tables.

mod config;
mod e2e;
mod egress;
mod event;
mod hop;
mod host;
pub mod identity;
mod node;
mod storage;
pub(crate) mod stream;
mod timers;
pub mod wire;

pub use config::{Config, ConfigError, E2E_PROLOGUE, HOP_PROLOGUE};
pub use event::{
    ConnectError, DownReason, Event, LossReason, PeerError, PeerRef, SendFailure, Stats,
};
pub use host::{Address, DeliverError, MAX_NAMES, Names, PortsHost};
pub use identity::{Binding, BindingError, Identity, node_name};
pub use node::{E2E_GATE_RECENT, E2E_GATE_SOURCES, EVENT_QUEUE, HOP_OVERHEAD, Node, Transmit};
pub use storage::{CorrSlot, PeerSlot, RecordSlot, Storage, TxSlot};
pub use stream::MAX_WINDOW;

/// A table had no room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFull;

impl core::fmt::Display for TableFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("correspondent table full of busy entries; retry later or give more slots")
    }
}

impl core::error::Error for TableFull {}
