//! What the overlay needs from its surroundings: an address type for the
//! driver's datagrams and a ports node.

use core::fmt;

use crate::error::BufferTooSmall;
use crate::ports::{
    self, Event as PortsEvent, EventError, EventKind, Incarnation, NodeError, NodeName, Payload,
    PortEvent,
};
use crate::rng::{CryptoRng, RngCore};

/// Largest number of other nodes one ports event can name (descriptors of
/// attached ports, proxy and target nodes). Names beyond it get no
/// introduction (counted as ports errors).
pub const MAX_NAMES: usize = 16;

/// Names found in one ports event.
pub type Names = heapless::Vec<NodeName, MAX_NAMES>;

/// The driver's address of a datagram's sender or recipient (a socket
/// address, a simulator node id...).
pub trait Address: Copy + Eq + fmt::Debug {
    /// Bytes identifying the address for the admission gate's per-source
    /// rate limit and cookies (at most 32 are kept as they are; longer ones
    /// are hashed). Returns how many bytes of `out` were written.
    fn source_bytes(&self, out: &mut [u8; 32]) -> usize;
}

/// Writes `parts` one after the other at the start of `out`, returning the
/// length (parts beyond 32 bytes are cut).
fn put(out: &mut [u8; 32], parts: &[&[u8]]) -> usize {
    let mut n = 0usize;
    for p in parts {
        for &b in *p {
            if let Some(d) = out.get_mut(n) {
                *d = b;
                n = n.saturating_add(1);
            }
        }
    }
    n
}

impl Address for core::net::SocketAddr {
    fn source_bytes(&self, out: &mut [u8; 32]) -> usize {
        let port = self.port().to_be_bytes();
        match self.ip() {
            core::net::IpAddr::V4(ip) => put(out, &[&ip.octets(), &port]),
            core::net::IpAddr::V6(ip) => put(out, &[&ip.octets(), &port]),
        }
    }
}

impl Address for u32 {
    fn source_bytes(&self, out: &mut [u8; 32]) -> usize {
        put(out, &[&self.to_be_bytes()])
    }
}

impl Address for u64 {
    fn source_bytes(&self, out: &mut [u8; 32]) -> usize {
        put(out, &[&self.to_be_bytes()])
    }
}

#[cfg(feature = "sim")]
impl Address for crate::sim::NodeId {
    fn source_bytes(&self, out: &mut [u8; 32]) -> usize {
        put(out, &[&self.0.to_be_bytes()])
    }
}

/// Why the ports node did not take an event the overlay delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliverError {
    /// The bytes are not a ports event.
    Decode,
    /// The ports node refused it.
    Refused(EventError),
}

/// The ports node an overlay node carries events for. Implemented for
/// every [`ports::Node`]; the overlay encodes and decodes events with the
/// ports codec, so it never needs the node's type parameters.
pub trait PortsHost {
    /// This node's name (must be [`node_name`](super::node_name) of the
    /// overlay node's key).
    fn name(&self) -> NodeName;
    /// Decodes an event from the authenticated node `from` and hands it
    /// to the node.
    ///
    /// # Errors
    /// [`DeliverError`]; nothing changed for a decode error.
    fn deliver(&mut self, from: NodeName, bytes: &[u8]) -> Result<(), DeliverError>;
    /// Takes the next event for another node, encodes it into `buf`, and
    /// lists in `names` the other nodes it names (descriptors, proxies,
    /// previous peers). Returns the destination and the encoded length;
    /// `Err(BufferTooSmall)` if it did not fit (the event is gone).
    fn next_transmit(
        &mut self,
        buf: &mut [u8],
        names: &mut Names,
    ) -> Option<Result<(NodeName, usize), BufferTooSmall>>;
    /// Takes the next broadcast and encodes it into `buf`.
    fn next_broadcast(&mut self, buf: &mut [u8]) -> Option<Result<usize, BufferTooSmall>>;
    /// The next notice ([`PortEvent`]).
    fn next_event(&mut self) -> Option<PortEvent>;
    /// When the ports node next needs [`PortsHost::handle_timeout`] (held
    /// events reaching their age bound), if ever.
    fn poll_timeout(&self) -> Option<crate::time::Instant>;
    /// Gives the ports node the time (see [`ports::Node::handle_timeout`]);
    /// the overlay calls it at its deadline and before every event it
    /// delivers, so held events are stamped with the current time.
    fn handle_timeout(&mut self, now: crate::time::Instant);
    /// Whether a port of this node may depend on `name` (its peer or
    /// previous peer is there). Spurious `true` is allowed (it only costs
    /// liveness probes); `false` must be right.
    fn depends_on(&self, name: NodeName) -> bool;
    /// Admits incarnation `inc` of `name` (see [`ports::Node::admit_node`]).
    ///
    /// # Errors
    /// As the ports node.
    fn admit(&mut self, name: NodeName, inc: Incarnation) -> Result<(), NodeError>;
    /// Incarnation `inc` of `name` is gone (see
    /// [`ports::Node::lost_connection_to_node`]).
    ///
    /// # Errors
    /// As the ports node.
    fn lost(&mut self, name: NodeName, inc: Incarnation) -> Result<(), NodeError>;
}

fn names_of<P, const A: usize>(ev: &PortsEvent<P, A>, out: &mut Names) -> bool {
    let mut ok = true;
    let mut add = |n: NodeName| {
        if n.is_valid() && !out.contains(&n) && out.push(n).is_err() {
            ok = false;
        }
    };
    match &ev.kind {
        EventKind::UserMessage(m) => {
            for (_, d) in &m.ports {
                add(d.peer_node);
                add(d.referring_node);
            }
        }
        EventKind::ObserveProxy {
            proxy_node,
            target_node,
            ..
        } => {
            add(*proxy_node);
            add(*target_node);
        }
        EventKind::MergePort { descriptor, .. } => {
            add(descriptor.peer_node);
            add(descriptor.referring_node);
        }
        EventKind::UpdatePreviousPeer { node, .. } => add(*node),
        EventKind::ObserveProxyDirect { target_node, .. } => add(*target_node),
        _ => {}
    }
    ok
}

impl<
    P,
    R,
    const PORTS: usize,
    const MSGS: usize,
    const A: usize,
    const HELD: usize,
    const OUT: usize,
    const NODES: usize,
> PortsHost for ports::Node<P, R, PORTS, MSGS, A, HELD, OUT, NODES>
where
    P: Payload,
    R: RngCore + CryptoRng,
{
    fn name(&self) -> NodeName {
        ports::Node::name(self)
    }

    fn deliver(&mut self, from: NodeName, bytes: &[u8]) -> Result<(), DeliverError> {
        let ev = PortsEvent::<P, A>::decode(bytes).map_err(|_| DeliverError::Decode)?;
        self.handle_event(from, ev).map_err(DeliverError::Refused)
    }

    fn next_transmit(
        &mut self,
        buf: &mut [u8],
        names: &mut Names,
    ) -> Option<Result<(NodeName, usize), BufferTooSmall>> {
        let (to, ev) = self.poll_transmit()?;
        names.clear();
        let _ = names_of(&ev, names);
        Some(ev.encode(buf).map(|n| (to, n)))
    }

    fn next_broadcast(&mut self, buf: &mut [u8]) -> Option<Result<usize, BufferTooSmall>> {
        let ev = self.poll_broadcast()?;
        Some(ev.encode(buf))
    }

    fn next_event(&mut self) -> Option<PortEvent> {
        self.poll_event()
    }

    fn poll_timeout(&self) -> Option<crate::time::Instant> {
        ports::Node::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: crate::time::Instant) {
        ports::Node::handle_timeout(self, now);
    }

    fn depends_on(&self, name: NodeName) -> bool {
        // A port whose route a loss of `name` already broke (`peer_lost`)
        // needs nothing more from it: probing it again would only find it
        // lost again.
        self.ports().any(|(p, _)| {
            self.inspect(p).is_some_and(|i| {
                (i.peer.0 == name && !i.peer_lost) || i.prev.0 == name || i.prev_announcer == name
            })
        })
    }

    fn admit(&mut self, name: NodeName, inc: Incarnation) -> Result<(), NodeError> {
        self.admit_node(name, inc)
    }

    fn lost(&mut self, name: NodeName, inc: Incarnation) -> Result<(), NodeError> {
        self.lost_connection_to_node(name, inc)
    }
}
