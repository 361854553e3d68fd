//! Overlay check: two `overlay::Node`s with small inline storage (no
//! allocator, every table an array on the stack) over an instant "network"
//! of fixed buffers: the Noise hop handshake, the hellos that bind each
//! routing key to its Noise key, the routing protocol electing the
//! higher-ranked node root, an end-to-end session, and one ports message
//! delivered from A to B.
//!
//! Expected values are the protocol's, worked out by hand: B (rank 2) is
//! the root (coordinate `[]`), A is its child in slot 1 (`[1]`); A's
//! routing parent is its only link; the message bytes arrive unchanged;
//! each node saw exactly one `PeerUp` and no protocol violation.

use hyperport::crypto::RustCrypto as P;
use hyperport::overlay::{
    Config, CorrSlot, Event, Identity, Node, PeerSlot, RecordSlot, Storage, TxSlot,
};
use hyperport::ports::{self, Bytes};
use hyperport::rng::SeededRng;
use hyperport::routing::{ChainOf, Ed25519, NeighbourEntry};
use hyperport::time::{Duration, Instant};

/// The ports node of the check: 2 ports, 4 queued messages, 1 attached
/// port, small queues.
type Ports = ports::Node<Bytes<4>, SeededRng, 2, 4, 1, 2, 8, 2>;
/// Largest datagram (an announcement at depth 1 is 312 bytes).
pub const MTU: usize = 512;
/// Largest record.
pub const REC: usize = 128;
type N<'s> = Node<'s, u32, P, Ports, Ed25519, ChainOf<2>, MTU, REC>;

/// The storage of one node, inline.
struct Mem {
    routing: [NeighbourEntry; 1],
    peers: [PeerSlot<u32, P>; 1],
    corr: [CorrSlot<P>; 1],
    records: [RecordSlot<REC>; 4],
    tx: [TxSlot<u32, MTU>; 2],
}

impl Mem {
    fn new() -> Self {
        Mem {
            routing: [NeighbourEntry::EMPTY],
            peers: [PeerSlot::new()],
            corr: [CorrSlot::new()],
            records: [RecordSlot::EMPTY; 4],
            tx: [TxSlot::new(), TxSlot::new()],
        }
    }
}

fn node(i: u32, mem: &mut Mem) -> Option<N<'_>> {
    let id = Identity::from_seed(&[i as u8 + 40; 32]);
    let mut config = Config::default();
    config.routing.rank = i;
    let ports = Ports::new(
        id.node_name(),
        config.ports,
        SeededRng::from_u64(u64::from(i)),
    );
    Node::new(
        config,
        id,
        ports,
        Ed25519,
        ChainOf::new(),
        ChainOf::new(),
        Storage {
            routing: &mut mem.routing,
            peers: &mut mem.peers,
            correspondents: &mut mem.corr,
            records: &mut mem.records,
            transmit: &mut mem.tx,
        },
        [i as u8 + 9; 32],
        Instant::ZERO,
    )
    .ok()
}

/// Datagrams in flight: a fixed ring of `(to, len, bytes)`.
struct Wire {
    slots: [(u32, usize, [u8; MTU]); 8],
    head: usize,
    len: usize,
}

impl Wire {
    fn push(&mut self, to: u32, bytes: &[u8]) -> bool {
        if self.len == self.slots.len() || bytes.len() > MTU {
            return false;
        }
        let i = (self.head + self.len) % self.slots.len();
        self.slots[i].0 = to;
        self.slots[i].1 = bytes.len();
        self.slots[i].2[..bytes.len()].copy_from_slice(bytes);
        self.len += 1;
        true
    }
}

/// Drains both nodes (counting `PeerUp`s), delivers, fires timers, until
/// `until`. `false` if the wire overflowed.
fn run(
    nodes: &mut [N<'_>; 2],
    wire: &mut Wire,
    now: &mut Instant,
    until: Instant,
    ups: &mut [u32; 2],
) -> bool {
    let mut buf = [0u8; MTU];
    for _ in 0..20_000 {
        for (i, n) in nodes.iter_mut().enumerate() {
            while let Ok(Some(t)) = n.poll_transmit(*now, &mut buf) {
                if !wire.push(t.to, &buf[..t.len]) {
                    return false;
                }
            }
            while let Some(e) = n.poll_event() {
                if matches!(e, Event::PeerUp { .. }) {
                    ups[i] += 1;
                }
            }
        }
        if wire.len > 0 {
            let (to, len, bytes) = wire.slots[wire.head];
            wire.head = (wire.head + 1) % wire.slots.len();
            wire.len -= 1;
            let from = 1 - to;
            if let Some(n) = nodes.get_mut(to as usize) {
                n.handle_datagram(*now, from, &bytes[..len]);
            }
            continue;
        }
        let next = nodes.iter().filter_map(|n| n.poll_timeout()).min();
        match next {
            Some(t) if t <= until => {
                *now = (*now).max(t);
                for n in nodes.iter_mut() {
                    if n.poll_timeout().is_some_and(|d| d <= *now) {
                        n.handle_timeout(*now);
                    }
                }
            }
            _ => {
                *now = until;
                return true;
            }
        }
    }
    false
}

/// Two nodes: handshake, hellos, routing (root B, A at `[1]`), an
/// end-to-end session and one ports message A -> B.
pub fn two_nodes() -> bool {
    two_nodes_inner().unwrap_or(false)
}

fn two_nodes_inner() -> Option<bool> {
    let (mut ma, mut mb) = (Mem::new(), Mem::new());
    let mut nodes = [node(1, &mut ma)?, node(2, &mut mb)?];
    let kb = nodes[1].public_key();
    let ka = nodes[0].public_key();
    let mut now = Instant::ZERO;
    nodes[0].connect(now, kb, 1).ok()?;
    let mut wire = Wire {
        slots: [(0, 0, [0; MTU]); 8],
        head: 0,
        len: 0,
    };
    let mut ups = [0u32; 2];
    let ran = run(
        &mut nodes,
        &mut wire,
        &mut now,
        Instant::from_secs(3),
        &mut ups,
    );
    let routing_ok = nodes[1].routing().is_root()
        && !nodes[0].routing().is_root()
        && nodes[0].routing().coord().slots().eq([1u16])
        && nodes[0].routing().parent().is_some();
    // A pipe A -> B: A learns B's location, B remembers A's key.
    let loc = nodes[1].location();
    nodes[0].set_location(now, kb, loc).ok()?;
    let pa = nodes[0].ports_mut().create_uninitialized_port().ok()?;
    let pb = nodes[1].ports_mut().create_uninitialized_port().ok()?;
    let na = nodes[1].remember(now, ka).ok()?;
    let nb = nodes[1].ports().name();
    nodes[0]
        .ports_mut()
        .initialize_port(pa, nb, pb, nb, pb)
        .ok()?;
    nodes[1]
        .ports_mut()
        .initialize_port(pb, na, pa, na, pa)
        .ok()?;
    let msg = Bytes::from_slice(b"m4!\x01").ok()?;
    nodes[0]
        .ports_mut()
        .send_user_message(pa, msg.clone(), &[])
        .ok()?;
    let until = now + Duration::from_secs(3);
    let ran2 = run(&mut nodes, &mut wire, &mut now, until, &mut ups);
    let got = nodes[1].ports_mut().get_message(pb).ok()??;
    let clean = nodes.iter().all(|n| {
        n.ports().stats().violations == 0 && n.is_idle() && n.stats().stale_generation == 0
    });
    Some(ran && ran2 && routing_ok && got.payload == msg && ups == [1, 1] && clean)
}
