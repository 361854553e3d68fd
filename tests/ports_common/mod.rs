//! Deterministic multi-node harness for the ports tests.
//!
//! A queue of `(from, to, encoded bytes)`: every event a node emits is
//! encoded, and at delivery decoded again (decode must succeed and re-encode
//! to the same bytes) and the *decoded copy* is handed to the receiver.
//! Delivery order is seeded-random across links and FIFO on each
//! `(from, to)` link, like an ordered transport. Self-addressed events never
//! leave a node (it processes them itself).
#![allow(dead_code)]

use hyperport::ports::{
    Config, Event, EventKind, Message, Node, NodeName, PortEvent, PortName, ProtocolError,
};
use hyperport::rng::SeededRng;

pub type Pl = heapless::Vec<u8, 32>;
pub type TNode = Node<Pl, SeededRng, 64, 192, 4, 96, 192>;
pub type Ev = Event<Pl, 4>;

pub fn pl(s: &[u8]) -> Pl {
    heapless::Vec::from_slice(s).unwrap()
}

pub fn type_of(ev: &Ev) -> u32 {
    ev.kind.type_id()
}

pub const USER_MESSAGE: u32 = 0;
pub const PORT_ACCEPTED: u32 = 1;
pub const OBSERVE_PROXY: u32 = 2;
pub const OBSERVE_PROXY_ACK: u32 = 3;
pub const OBSERVE_CLOSURE: u32 = 4;
pub const MERGE_PORT: u32 = 5;
pub const OBSERVE_PROXY_DIRECT: u32 = 9;

/// Harness defaults: the crate's default limits, and Chromium's bypass
/// unless a test opts in.
pub fn config() -> Config {
    Config {
        direct_bypass: false,
        ..Config::default()
    }
}

pub struct Net {
    pub nodes: Vec<Option<Box<TNode>>>,
    queue: Vec<(usize, usize, Vec<u8>)>,
    rng: u64,
    blocked: Vec<Option<u32>>,
    drop_outgoing: Vec<bool>,
    save: Vec<bool>,
    pub saved: Vec<Vec<(PortName, Message<Pl, 4>)>>,
    /// Cross-node events delivered, by type.
    pub delivered: [u64; 10],
    pub broadcasts: u64,
    pub errors: Vec<(usize, ProtocolError)>,
    pub steps: u64,
    dead: Vec<bool>,
    cut: Vec<(usize, usize)>,
}

impl Net {
    pub fn new(n: usize, seed: u64) -> Self {
        Self::with_config(n, seed, config())
    }

    pub fn with_config(n: usize, seed: u64, cfg: Config) -> Self {
        let nodes = (0..n)
            .map(|i| {
                Some(Box::new(TNode::new(
                    Self::name(i),
                    cfg,
                    SeededRng::from_u64(seed.wrapping_mul(1000).wrapping_add(i as u64)),
                )))
            })
            .collect();
        Net {
            nodes,
            queue: Vec::new(),
            rng: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            blocked: vec![None; n],
            drop_outgoing: vec![false; n],
            save: vec![false; n],
            saved: (0..n).map(|_| Vec::new()).collect(),
            delivered: [0; 10],
            broadcasts: 0,
            errors: Vec::new(),
            steps: 0,
            dead: vec![false; n],
            cut: Vec::new(),
        }
    }

    pub fn name(i: usize) -> NodeName {
        NodeName::new(0x4e4f_4445, i as u64 + 1)
    }

    fn index_of(&self, name: NodeName) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| Self::name(i) == name)
    }

    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    pub fn node(&mut self, i: usize) -> &mut TNode {
        self.nodes[i].as_mut().expect("node removed")
    }

    /// Runs `f` on node `i` and collects its outputs.
    pub fn with<R>(&mut self, i: usize, f: impl FnOnce(&mut TNode) -> R) -> R {
        let r = f(self.node(i));
        self.pump(i);
        r
    }

    pub fn block(&mut self, i: usize, ty: Option<u32>) {
        self.blocked[i] = ty;
    }

    pub fn set_drop(&mut self, i: usize, on: bool) {
        self.drop_outgoing[i] = on;
    }

    pub fn set_save(&mut self, i: usize, on: bool) {
        self.save[i] = on;
    }

    /// Drains node `i`'s outputs into the queue.
    pub fn pump(&mut self, i: usize) {
        let n = self.nodes.len();
        let Some(node) = self.nodes[i].as_mut() else {
            return;
        };
        let mut out = Vec::new();
        while let Some((to, ev)) = node.poll_transmit() {
            out.push((Some(to), ev));
        }
        while let Some(ev) = node.poll_broadcast() {
            out.push((None, ev));
        }
        let mut status = Vec::new();
        while let Some(PortEvent::StatusChanged(p)) = node.poll_event() {
            status.push(p);
        }
        if self.save[i] {
            let mut work = status;
            while let Some(p) = work.pop() {
                while let Ok(Some(m)) = self.node(i).get_message(p) {
                    work.extend(m.ports.iter().copied());
                    self.saved[i].push((p, m));
                }
            }
            // Reading may emit acks.
            let node = self.nodes[i].as_mut().unwrap();
            while let Some((to, ev)) = node.poll_transmit() {
                out.push((Some(to), ev));
            }
            while node.poll_event().is_some() {}
        }
        if self.drop_outgoing[i] || self.dead[i] {
            return;
        }
        for (to, ev) in out {
            let mut buf = vec![0u8; ev.encoded_len()];
            let len = ev.encode(&mut buf).expect("encode");
            assert_eq!(len, buf.len());
            match to {
                Some(to) => {
                    if let Some(j) = self.index_of(to) {
                        if !self.dead[j] && !self.is_cut(i, j) {
                            self.queue.push((i, j, buf));
                        }
                    }
                }
                None => {
                    self.broadcasts += 1;
                    for j in 0..n {
                        if j != i && !self.dead[j] && !self.is_cut(i, j) {
                            self.queue.push((i, j, buf.clone()));
                        }
                    }
                }
            }
        }
    }

    pub fn pump_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.pump(i);
        }
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Delivers one queued event (random link, FIFO within the link).
    /// Returns false if nothing is deliverable.
    pub fn deliver_one(&mut self) -> bool {
        self.pump_all();
        // Candidate = first queued event of each (from, to) link whose
        // receiver is not blocked on that event's type.
        let mut seen = Vec::new();
        let mut cands = Vec::new();
        for (k, (f, t, bytes)) in self.queue.iter().enumerate() {
            if seen.contains(&(*f, *t)) {
                continue;
            }
            seen.push((*f, *t));
            let ty = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
            if self.blocked[*t] == Some(ty) {
                continue;
            }
            cands.push(k);
        }
        if cands.is_empty() {
            return false;
        }
        let k = cands[(self.rand() % cands.len() as u64) as usize];
        let (f, t, bytes) = self.queue.remove(k);
        let ev = Ev::decode(&bytes).expect("every emitted event decodes");
        let mut again = vec![0u8; bytes.len()];
        ev.encode(&mut again).unwrap();
        assert_eq!(again, bytes, "decode->encode is the identity");
        self.steps += 1;
        self.delivered[type_of(&ev) as usize] += 1;
        if std::env::var("PORTS_TRACE").is_ok() {
            eprintln!(
                "{f}->{t} port={} from={} ctl={} {:?}",
                ev.port, ev.from_port, ev.control_seq, ev.kind
            );
        }
        if let Some(node) = self.nodes[t].as_mut() {
            if let Err(e) = node.handle_event(Self::name(f), ev) {
                self.errors.push((t, e));
            }
            self.pump(t);
        }
        true
    }

    /// Delivers until nothing is deliverable; panics after `max_steps`.
    pub fn run_until_idle(&mut self, max_steps: u64) -> u64 {
        let start = self.steps;
        while self.deliver_one() {
            assert!(
                self.steps - start <= max_steps,
                "no quiescence in {max_steps} steps"
            );
        }
        self.steps - start
    }

    pub fn idle(&mut self) {
        self.run_until_idle(1_000_000);
    }

    /// Removes node `i`: its queued events vanish and every other node is
    /// told the connection is lost. The node object stays reachable (its
    /// outputs go nowhere), as in the reference harness.
    pub fn remove_node(&mut self, i: usize) {
        self.pump_all();
        self.dead[i] = true;
        self.queue.retain(|(f, t, _)| *f != i && *t != i);
        for j in 0..self.nodes.len() {
            if !self.dead[j] {
                self.with(j, |n| n.lost_connection_to_node(Net::name(i)));
            }
        }
    }

    /// Cuts the link between `i` and `j` (both directions): queued events
    /// vanish and later ones are dropped. Nobody is told.
    pub fn cut_link(&mut self, i: usize, j: usize) {
        self.pump_all();
        self.cut.push((i, j));
        self.queue
            .retain(|(f, t, _)| !((*f == i && *t == j) || (*f == j && *t == i)));
    }

    fn is_cut(&self, i: usize, j: usize) -> bool {
        self.cut.contains(&(i, j)) || self.cut.contains(&(j, i))
    }

    pub fn is_dead(&self, i: usize) -> bool {
        self.dead[i]
    }

    /// A receiving pair `a@i ↔ b@j` across nodes.
    pub fn cross_pair(&mut self, i: usize, j: usize) -> (PortName, PortName) {
        let a = self.node(i).create_uninitialized_port().unwrap();
        let b = self.node(j).create_uninitialized_port().unwrap();
        let (ni, nj) = (Self::name(i), Self::name(j));
        self.with(i, |n| n.initialize_port(a, nj, b, nj, b))
            .unwrap();
        self.with(j, |n| n.initialize_port(b, ni, a, ni, a))
            .unwrap();
        (a, b)
    }

    pub fn send(&mut self, i: usize, port: PortName, s: &[u8], attached: &[PortName]) {
        self.with(i, |n| n.send_user_message(port, pl(s), attached))
            .expect("send");
    }

    pub fn get(&mut self, i: usize, port: PortName) -> Option<Message<Pl, 4>> {
        self.with(i, |n| n.get_message(port)).expect("get_message")
    }

    pub fn close(&mut self, i: usize, port: PortName) {
        self.with(i, |n| n.close_port(port)).expect("close");
    }

    pub fn alive(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| !self.dead[i])
    }
}

pub fn is_user_message(ev: &Ev) -> bool {
    matches!(ev.kind, EventKind::UserMessage(_))
}

#[test]
fn sizes() {
    eprintln!(
        "Event {} B, Node {} B, Port record {} B",
        std::mem::size_of::<Ev>(),
        std::mem::size_of::<TNode>(),
        TNode::port_record_size()
    );
}
