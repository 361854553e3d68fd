// Fuzz body: an overlay node's ingress. A line of three real nodes
// (A - V - C, converged, a ports pipe A -> C through V) runs over an instant
// network while the input injects arbitrary datagrams from arbitrary
// addresses into V (and sometimes A or C): raw bytes, valid datagrams with a
// byte changed, verbatim replays of valid datagrams, and interleaves time
// and user messages.
//
// Invariants: nothing panics; V's tables stay within their slots; the
// timer contract holds (`handle_timeout` at the returned deadline moves it
// strictly later or to `None`); and after the injections stop, the valid
// traffic still works: every user message A sent reaches C exactly once, in
// order.

use std::collections::VecDeque;

use hyperport::crypto::DefaultProvider as P;
use hyperport::overlay::{Config, CorrSlot, Identity, Node, PeerSlot, RecordSlot, Storage, TxSlot};
use hyperport::ports::{self, Bytes};
use hyperport::rng::SeededRng;
use hyperport::routing::{ChainOf, Ed25519, NeighbourEntry};
use hyperport::time::{Duration, Instant};

type Ports = ports::Node<Bytes<4>, SeededRng, 4, 16, 1, 8, 32, 4>;
const MTU: usize = 1_024;
const REC: usize = 256;
type N<'s> = Node<'s, u32, P, Ports, Ed25519, ChainOf<4>, MTU, REC>;
const PEERS: usize = 3;

struct Mem {
    routing: Vec<NeighbourEntry>,
    peers: Vec<PeerSlot<u32, P>>,
    corr: Vec<CorrSlot<P>>,
    records: Vec<RecordSlot<REC>>,
    tx: Vec<TxSlot<u32, MTU>>,
}

fn mem() -> Mem {
    Mem {
        routing: vec![NeighbourEntry::EMPTY; PEERS],
        peers: (0..PEERS).map(|_| PeerSlot::new()).collect(),
        corr: (0..2).map(|_| CorrSlot::new()).collect(),
        records: vec![RecordSlot::EMPTY; 16],
        tx: (0..4).map(|_| TxSlot::new()).collect(),
    }
}

fn identity(i: u32) -> Identity {
    Identity::from_seed(&[i as u8 + 7; 32])
}

fn node(i: u32, m: &mut Mem) -> N<'_> {
    let id = identity(i);
    let mut config = Config::default();
    config.routing.rank = i;
    let ports = Ports::new(id.node_name(), config.ports, SeededRng::from_u64(u64::from(i)));
    Node::new(
        config,
        id,
        ports,
        Ed25519,
        ChainOf::new(),
        ChainOf::new(),
        Storage {
            routing: &mut m.routing,
            peers: &mut m.peers,
            correspondents: &mut m.corr,
            records: &mut m.records,
            transmit: &mut m.tx,
        },
        [i as u8 + 1; 32],
        Instant::ZERO,
    )
    .expect("valid configuration")
}

struct Net<'s> {
    nodes: Vec<N<'s>>,
    now: Instant,
    wire: VecDeque<(u32, u32, Vec<u8>)>,
    /// Valid datagrams seen, for mutation and replay.
    seen: Vec<(u32, Vec<u8>)>,
    buf: Vec<u8>,
}

impl Net<'_> {
    fn drain(&mut self) {
        for i in 0..self.nodes.len() {
            while let Ok(Some(t)) = self.nodes[i].poll_transmit(self.now, &mut self.buf) {
                let bytes = self.buf[..t.len].to_vec();
                if self.seen.len() < 64 {
                    self.seen.push((t.to, bytes.clone()));
                } else {
                    let k = (self.now.as_micros() as usize) % 64;
                    self.seen[k] = (t.to, bytes.clone());
                }
                self.wire.push_back((i as u32, t.to, bytes));
            }
            while let Some(e) = self.nodes[i].poll_event() {
                if std::env::var_os("FUZZ_DEBUG").is_some() {
                    eprintln!("  {} node {i}: {e:?}", self.now);
                }
            }
        }
        assert!(self.nodes[1].peers().count() <= PEERS);
        assert!(self.nodes[1].correspondents().count() <= 2);
    }

    /// Runs the network (instant delivery) until `until`.
    fn run(&mut self, until: Instant) {
        for _ in 0..100_000 {
            self.drain();
            if let Some((from, to, bytes)) = self.wire.pop_front() {
                if let Some(n) = self.nodes.get_mut(to as usize) {
                    n.handle_datagram(self.now, from, &bytes);
                }
                continue;
            }
            let next = self.nodes.iter().filter_map(|n| n.poll_timeout()).min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for n in self.nodes.iter_mut() {
                        if let Some(d) = n.poll_timeout().filter(|d| *d <= self.now) {
                            n.handle_timeout(self.now);
                            // The contract: the deadline moved.
                            assert!(n.poll_timeout().is_none_or(|e| e > d), "timer did not advance");
                        }
                    }
                }
                _ => {
                    self.now = until;
                    return;
                }
            }
        }
        panic!("network did not settle");
    }
}

pub fn run(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let mut mems: Vec<Mem> = (0..3).map(|_| mem()).collect();
    let nodes: Vec<N<'_>> = mems.iter_mut().enumerate().map(|(i, m)| node(i as u32, m)).collect();
    let mut net = Net {
        nodes,
        now: Instant::ZERO,
        wire: VecDeque::new(),
        seen: Vec::new(),
        buf: vec![0; MTU],
    };
    let key = |i: u32| identity(i).public_key();
    net.nodes[0].connect(Instant::ZERO, key(1), 1).expect("slot");
    net.nodes[2].connect(Instant::ZERO, key(1), 1).expect("slot");
    net.run(Instant::from_secs(3));
    let loc = net.nodes[2].location();
    let now = net.now;
    net.nodes[0].set_location(now, key(2), loc).expect("slot");
    let pa = net.nodes[0].ports_mut().create_uninitialized_port().expect("port");
    let pc = net.nodes[2].ports_mut().create_uninitialized_port().expect("port");
    let na = net.nodes[2].remember(now, key(0)).expect("slot");
    let nc = identity(2).node_name();
    net.nodes[0].ports_mut().initialize_port(pa, nc, pc, nc, pc).expect("init");
    net.nodes[2].ports_mut().initialize_port(pc, na, pa, na, pa).expect("init");

    let mut it = data.iter().copied();
    let mut sent = 0u8;
    let mut got: Vec<u8> = Vec::new();
    let mut ops = 0;
    while let Some(op) = it.next() {
        ops += 1;
        if ops > 64 {
            break;
        }
        let arg = it.next().unwrap_or(0);
        let target = if op & 0x80 != 0 { u32::from(arg % 3) } else { 1 };
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("op {} arg {arg} target {target} now {}", op % 6, net.now);
        }
        match op % 6 {
            0 => {
                // Arbitrary bytes from an arbitrary address.
                let len = usize::from(it.next().unwrap_or(0)) * 4;
                let bytes: Vec<u8> = (0..len).map(|_| it.next().unwrap_or(0)).collect();
                let now = net.now;
                net.nodes[target as usize].handle_datagram(now, u32::from(arg) + 100, &bytes);
            }
            1 | 2 => {
                // A valid datagram, replayed or with one byte changed, from
                // its real sender's address or another one.
                if !net.seen.is_empty() {
                    let k = usize::from(it.next().unwrap_or(0)) % net.seen.len();
                    let (to, mut bytes) = net.seen[k].clone();
                    if op % 6 == 1 && !bytes.is_empty() {
                        let p = usize::from(it.next().unwrap_or(0)) % bytes.len();
                        bytes[p] ^= it.next().unwrap_or(1).max(1);
                    }
                    let from = if arg & 1 == 0 { (to + 1) % 3 } else { u32::from(arg) };
                    let now = net.now;
                    if let Some(n) = net.nodes.get_mut(to as usize) {
                        n.handle_datagram(now, from, &bytes);
                    }
                }
            }
            3 => {
                let until = net.now + Duration::from_millis(u64::from(arg) * 10);
                net.run(until);
            }
            4 => {
                if sent < 16
                    && net.nodes[0]
                        .ports_mut()
                        .send_user_message(pa, Bytes::from_slice(&[sent]).expect("fits"), &[])
                        .is_ok()
                {
                    sent += 1;
                }
            }
            _ => {
                // Time goes backwards (clamped, never a panic).
                let now = net.now.saturating_sub(Duration::from_millis(u64::from(arg)));
                net.nodes[target as usize].handle_timeout(now);
            }
        }
        net.drain();
        while let Ok(Some(m)) = net.nodes[2].ports_mut().get_message(pc) {
            got.push(m.payload[0]);
        }
    }
    // The valid traffic still works once the injections stop.
    let until = net.now + Duration::from_secs(30);
    net.run(until);
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        for n in &net.nodes {
            eprintln!("{:?} peers {:?} corr {:?}", n.stats(), n.peers().map(|p| p.2).collect::<Vec<_>>(), n.correspondents().collect::<Vec<_>>().len());
            eprintln!("gate {:?}", n.gate_stats());
        }
    }
    while let Ok(Some(m)) = net.nodes[2].ports_mut().get_message(pc) {
        got.push(m.payload[0]);
    }
    assert_eq!(got, (0..sent).collect::<Vec<u8>>(), "messages lost, duplicated or reordered");
}
