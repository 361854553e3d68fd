//! A small hand-driven network of `overlay::Node`s for the overlay tests:
//! instant or fixed-latency delivery, per-link cuts, manual polling.

#![allow(dead_code)]

use std::collections::VecDeque;

use hyperport::crypto::DefaultProvider as P;
use hyperport::overlay::{
    Config, CorrSlot, Event, Identity, Node, PeerSlot, RecordSlot, Storage, TxSlot,
};
use hyperport::ports::{self, Bytes};
use hyperport::rng::SeededRng;
use hyperport::routing::{ChainOf, Ed25519, NeighbourEntry};
use hyperport::time::{Duration, Instant};

pub type Ports = ports::Node<Bytes<16>, SeededRng, 16, 64, 2, 32, 128, 16>;
pub const MTU: usize = 1_400;
pub const REC: usize = 400;
pub type Chain = ChainOf<8>;
pub type N<'s> = Node<'s, u32, P, Ports, Ed25519, Chain, MTU, REC>;

/// Storage of one node.
pub struct Mem {
    pub routing: Vec<NeighbourEntry>,
    pub peers: Vec<PeerSlot<u32, P>>,
    pub corr: Vec<CorrSlot<P>>,
    pub records: Vec<RecordSlot<REC>>,
    pub tx: Vec<TxSlot<u32, MTU>>,
}

impl Mem {
    pub fn new(peers: usize, corr: usize) -> Self {
        Mem {
            routing: vec![NeighbourEntry::EMPTY; peers],
            peers: (0..peers).map(|_| PeerSlot::new()).collect(),
            corr: (0..corr).map(|_| CorrSlot::new()).collect(),
            records: vec![RecordSlot::EMPTY; 64],
            tx: (0..8).map(|_| TxSlot::new()).collect(),
        }
    }
}

/// The identity of test node `i`.
pub fn identity(i: u32) -> Identity {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&i.to_be_bytes());
    seed[31] = 0xa5;
    Identity::from_seed(&seed)
}

/// Node `i` (rank `i`), incarnation seed `run`.
pub fn node<'s>(i: u32, run: u8, config: Config, mem: &'s mut Mem, now: Instant) -> N<'s> {
    let id = identity(i);
    let mut config = config;
    config.routing.rank = i;
    let ports = Ports::new(
        id.node_name(),
        config.ports,
        SeededRng::from_u64(1_000 + u64::from(i)),
    );
    let mut seed = [run; 32];
    seed[..4].copy_from_slice(&i.to_be_bytes());
    Node::new(
        config,
        id,
        ports,
        Ed25519,
        Chain::new(),
        Chain::new(),
        Storage {
            routing: &mut mem.routing,
            peers: &mut mem.peers,
            correspondents: &mut mem.corr,
            records: &mut mem.records,
            transmit: &mut mem.tx,
        },
        seed,
        now,
    )
    .unwrap()
}

/// A datagram on the wire.
#[derive(Clone, Debug)]
pub struct Dgram {
    pub at: Instant,
    pub from: u32,
    pub to: u32,
    pub bytes: Vec<u8>,
}

/// Drains every node's outputs onto the wire (latency `lat`) and its events
/// into `events`.
pub fn drain(
    nodes: &mut [N<'_>],
    now: Instant,
    lat: Duration,
    wire: &mut VecDeque<Dgram>,
    events: &mut Vec<(u32, Event<u32>)>,
) {
    let mut buf = vec![0u8; MTU];
    for (i, n) in nodes.iter_mut().enumerate() {
        while let Some(t) = n.poll_transmit(now, &mut buf).unwrap() {
            wire.push_back(Dgram {
                at: now + lat,
                from: i as u32,
                to: t.to,
                bytes: buf[..t.len].to_vec(),
            });
        }
        while let Some(e) = n.poll_event() {
            events.push((i as u32, e));
        }
    }
}

/// Runs until `until`: delivers datagrams (dropping those `cut` returns
/// true for), fires timers, drains after every input.
pub fn run(
    nodes: &mut [N<'_>],
    now: &mut Instant,
    until: Instant,
    lat: Duration,
    wire: &mut VecDeque<Dgram>,
    events: &mut Vec<(u32, Event<u32>)>,
    cut: &dyn Fn(u32, u32) -> bool,
) {
    loop {
        drain(nodes, *now, lat, wire, events);
        let next_wire = wire.iter().map(|w| w.at).min();
        let next_timer = nodes.iter().filter_map(|n| n.poll_timeout()).min();
        let Some(t) = [next_wire, next_timer].into_iter().flatten().min() else {
            *now = until;
            return;
        };
        if t > until {
            *now = until;
            return;
        }
        *now = (*now).max(t);
        if let Some(pos) = wire.iter().position(|w| w.at <= *now) {
            let d = wire.remove(pos).unwrap();
            if (d.to as usize) < nodes.len() && !cut(d.from, d.to) {
                nodes[d.to as usize].handle_datagram(*now, d.from, &d.bytes);
            }
        } else {
            for n in nodes.iter_mut() {
                if n.poll_timeout().is_some_and(|t| t <= *now) {
                    n.handle_timeout(*now);
                }
            }
        }
    }
}

/// Opens a ports pipe between test nodes `a` and `c` (`nodes[i]` is test
/// node `i`): `a` is told where `c` is, `c` remembers `a`'s key, and one
/// port on each side is initialized to the other. Returns the ports (at
/// `a`, at `c`).
pub fn open_pipe(
    nodes: &mut [N<'_>],
    now: Instant,
    a: usize,
    c: usize,
) -> (hyperport::ports::PortName, hyperport::ports::PortName) {
    pipe(nodes, now, a, c, true)
}

/// [`open_pipe`], with `a` told where `c` is only if `locate` (otherwise
/// it only remembers `c`'s key and asks for the location when it needs it).
pub fn pipe(
    nodes: &mut [N<'_>],
    now: Instant,
    a: usize,
    c: usize,
    locate: bool,
) -> (hyperport::ports::PortName, hyperport::ports::PortName) {
    let (ia, ic) = (a as u32, c as u32);
    if locate {
        let loc = nodes[c].location();
        nodes[a]
            .set_location(now, identity(ic).public_key(), loc)
            .unwrap();
    }
    let pa = nodes[a].ports_mut().create_uninitialized_port().unwrap();
    let pc = nodes[c].ports_mut().create_uninitialized_port().unwrap();
    let nc = nodes[a].remember(now, identity(ic).public_key()).unwrap();
    let na = nodes[c].remember(now, identity(ia).public_key()).unwrap();
    nodes[a]
        .ports_mut()
        .initialize_port(pa, nc, pc, nc, pc)
        .unwrap();
    nodes[c]
        .ports_mut()
        .initialize_port(pc, na, pa, na, pa)
        .unwrap();
    (pa, pc)
}

/// The ports name of test node `i`.
pub fn node_name_of(i: u32) -> hyperport::ports::NodeName {
    identity(i).node_name()
}

/// Runs `f` on a thread with a large stack (nodes are large values, and
/// unoptimized builds copy them around).
pub fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}
