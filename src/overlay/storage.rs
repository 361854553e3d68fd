//! The caller's storage of an overlay node: every table is a slice the
//! caller sizes (arrays in firmware, `Vec`s in a simulator), so nodes of one
//! type can have different capacities and nothing allocates.

use crate::crypto::Provider;
use crate::link::Link;
use crate::routing::{Locator, NeighbourEntry};
use crate::time::Instant;

use super::stream::{MAX_WINDOW, Stream};

pub use super::stream::RecordSlot;

/// Everything an overlay node stores, lent by the caller for the node's
/// lifetime `'s` (a node that restarts is built on fresh storage: the
/// routing machine does not give its table back).
///
/// | table | entry size (x86-64, ring) | what bounds it |
/// |---|---|---|
/// | `routing` | [`NeighbourEntry`] (5 KiB with the routing default of 4 trees) | at least `peers.len()` |
/// | `peers` | about 6.5 KiB (a `link::Link` and the peer's state) | neighbours at once |
/// | `correspondents` | about 8.5 KiB (a `link::Link`, a stream, a location) | end-to-end partners at once |
/// | `records` | `REC + 4` B | records queued, in flight or buffered out of order, all streams together |
/// | `transmit` | `MTU + 40` B | hop datagrams waiting for `poll_transmit` |
///
/// [`Node::size_of_slots`](super::Node::size_of_slots) gives the exact entry
/// sizes for a build.
#[derive(Debug)]
pub struct Storage<'s, A, C: Provider, const MTU: usize, const REC: usize> {
    /// The routing machine's neighbour table (at least as long as `peers`).
    pub routing: &'s mut [NeighbourEntry],
    /// Hop sessions (neighbours).
    pub peers: &'s mut [PeerSlot<A, C>],
    /// End-to-end partners.
    pub correspondents: &'s mut [CorrSlot<C>],
    /// Record buffers shared by every stream.
    pub records: &'s mut [RecordSlot<REC>],
    /// The hop transmit queue.
    pub transmit: &'s mut [TxSlot<A, MTU>],
}

/// One hop session (neighbour).
pub(crate) struct Peer<A, C: Provider> {
    pub(crate) key: [u8; 32],
    pub(crate) addr: A,
    pub(crate) generation: u64,
    /// Made by `connect` (kept and redialled until `disconnect`), with the
    /// address it was given: redials go there, whatever address the
    /// session roamed to.
    pub(crate) outbound: bool,
    pub(crate) dial_addr: A,
    pub(crate) link: Link<C>,
    /// Hellos exchanged and the neighbour registered with routing.
    pub(crate) up: bool,
    /// The neighbour has acknowledged our hello of the current session.
    pub(crate) hello_acked: bool,
    /// We have its hello of the current session.
    pub(crate) hello_got: bool,
    /// Our hello should leave at the next poll.
    pub(crate) hello_due: bool,
    /// When to resend our hello (while not acknowledged).
    pub(crate) hello_at: Option<Instant>,
    pub(crate) hello_tries: u8,
    /// The neighbour's incarnation and routing key (from its verified
    /// hello).
    pub(crate) incarnation: Option<u64>,
    pub(crate) routing_key: [u8; 32],
    /// Largest hop payload it accepts.
    pub(crate) max_payload: u16,
    pub(crate) created: Instant,
    pub(crate) last_rx: Instant,
    pub(crate) last_data: Instant,
}

/// One slot of the peer table.
pub struct PeerSlot<A, C: Provider> {
    pub(crate) p: Option<Peer<A, C>>,
}

impl<A, C: Provider> PeerSlot<A, C> {
    /// A free slot.
    pub const fn new() -> Self {
        PeerSlot { p: None }
    }
}

impl<A, C: Provider> Default for PeerSlot<A, C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A, C: Provider> core::fmt::Debug for PeerSlot<A, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PeerSlot")
            .field("used", &self.p.is_some())
            .finish()
    }
}

/// One end-to-end partner.
pub(crate) struct Corr<C: Provider> {
    pub(crate) key: [u8; 32],
    pub(crate) name: crate::ports::NodeName,
    pub(crate) link: Option<Link<C>>,
    pub(crate) loc: Option<Locator>,
    /// A path-broken notice or a failed route made the location suspect
    /// (still used; not passed on in introductions; replaced by any
    /// newer one).
    pub(crate) loc_stale: bool,
    pub(crate) loc_asked: Option<Instant>,
    pub(crate) stream: Stream<MAX_WINDOW>,
    /// Our send half's stream number.
    pub(crate) my_stream: u32,
    /// Our previous send half ended with records unacknowledged.
    pub(crate) prev_dirty: bool,
    /// Its incarnation (0: not heard from yet), and the one before.
    pub(crate) peer_inc: u64,
    pub(crate) prev_peer_inc: u64,
    /// Its send half we are receiving (valid when `rx_known`).
    pub(crate) peer_stream: u32,
    pub(crate) rx_known: bool,
    /// We reported it lost: its current stream is refused until a new one.
    pub(crate) rx_await_new: bool,
    /// The ports incarnation number it is admitted under (0: none).
    pub(crate) ports_inc: u64,
    pub(crate) last_active: Instant,
}

/// One slot of the correspondent table.
pub struct CorrSlot<C: Provider> {
    pub(crate) c: Option<Corr<C>>,
}

impl<C: Provider> CorrSlot<C> {
    /// A free slot.
    pub const fn new() -> Self {
        CorrSlot { c: None }
    }
}

impl<C: Provider> Default for CorrSlot<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Provider> core::fmt::Debug for CorrSlot<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CorrSlot")
            .field("used", &self.c.is_some())
            .finish()
    }
}

/// What a transmit-queue entry holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TxKind<A> {
    /// A hop payload (plaintext at `start..end`) for peer `slot`, prepared
    /// for `generation`: encrypted at `poll_transmit` under that peer's
    /// session only if the generation is still current.
    Hop {
        slot: u16,
        key: [u8; 32],
        generation: u64,
    },
    /// A datagram sent as it is (a cookie reply) to an address.
    Raw { to: A },
}

/// One entry of the hop transmit queue: `MTU` bytes and what they are.
pub struct TxSlot<A, const MTU: usize> {
    pub(crate) kind: Option<TxKind<A>>,
    pub(crate) order: u64,
    pub(crate) start: u16,
    pub(crate) end: u16,
    pub(crate) data: [u8; MTU],
}

impl<A, const MTU: usize> TxSlot<A, MTU> {
    /// A free slot.
    pub const fn new() -> Self {
        TxSlot {
            kind: None,
            order: 0,
            start: 0,
            end: 0,
            data: [0; MTU],
        }
    }
}

impl<A, const MTU: usize> Default for TxSlot<A, MTU> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A, const MTU: usize> core::fmt::Debug for TxSlot<A, MTU> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TxSlot")
            .field("used", &self.kind.is_some())
            .finish()
    }
}
