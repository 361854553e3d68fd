//! Toy nodes shared by the `sim_*` tests.
#![allow(dead_code)]

use std::collections::HashSet;

use hyperport::sim::{NodeId, RunStats, SimNode, Transmit};
use hyperport::time::{Duration, Instant};

/// Checks the accounting identity every run must keep.
pub fn check_accounting(s: &RunStats) {
    assert_eq!(
        s.sent + s.duplicated,
        s.delivered + s.dropped() + s.in_flight,
        "{s:?}"
    );
}

/// A message from [`Sender`]: sequence number and send time.
pub fn probe(seq: u32, sent: Instant, size: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(size.max(12));
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&sent.as_micros().to_be_bytes());
    p.resize(size.max(12), 0xa5);
    p
}

/// One received probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub from: NodeId,
    pub seq: u32,
    pub sent: Instant,
    pub at: Instant,
}

/// Commands for [`Sender`].
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum SenderCmd {
    /// Send `count` probes of `size` bytes to `to`, one every `interval`
    /// (timer-driven; an interval of zero sends them all at once).
    Stream {
        to: NodeId,
        count: u32,
        interval: Duration,
        size: usize,
    },
}

/// Timer-driven probe sender, and a probe receiver.
#[derive(Debug, Default)]
pub struct Sender {
    out: std::collections::VecDeque<Transmit>,
    stream: Option<(NodeId, u32, Duration, usize)>,
    next_seq: u32,
    deadline: Option<Instant>,
    pub received: Vec<Received>,
}

impl Sender {
    fn emit(&mut self, now: Instant) {
        let Some((to, count, _, size)) = self.stream else {
            return;
        };
        if self.next_seq < count {
            self.out.push_back(Transmit {
                to,
                payload: probe(self.next_seq, now, size),
            });
            self.next_seq += 1;
        }
    }
    fn rearm(&mut self, now: Instant) {
        self.deadline = match self.stream {
            Some((_, count, interval, _)) if self.next_seq < count => Some(now + interval),
            _ => None,
        };
    }
}

impl SimNode for Sender {
    type Command = SenderCmd;
    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]) {
        let seq = u32::from_be_bytes(msg[..4].try_into().unwrap());
        let sent = Instant::from_micros(u64::from_be_bytes(msg[4..12].try_into().unwrap()));
        self.received.push(Received {
            from,
            seq,
            sent,
            at: now,
        });
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            self.emit(now);
            self.rearm(now);
        }
    }
    fn handle_command(&mut self, now: Instant, cmd: SenderCmd) {
        let SenderCmd::Stream {
            to,
            count,
            interval,
            size,
        } = cmd;
        self.stream = Some((to, count, interval, size));
        self.next_seq = 0;
        if interval == Duration::ZERO {
            while self.next_seq < count {
                self.emit(now);
            }
        } else {
            self.emit(now);
        }
        self.rearm(now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
}

/// Flooding gossip: a rumour is `(origin u32, seq u32, body)`; a node
/// forwards a rumour it has not seen to every neighbour but the one it came
/// from, in neighbour order, and remembers it.
#[derive(Debug)]
pub struct Gossip {
    pub id: NodeId,
    pub neighbours: Vec<NodeId>,
    /// A tag put in every rumour this node originates (replay tests build
    /// a node with a different tag to provoke a divergence).
    pub tag: u8,
    seq: u32,
    pub seen: HashSet<(u32, u32)>,
    /// Rumours in order of first receipt, with receipt time.
    pub log: Vec<((u32, u32), Instant)>,
    out: std::collections::VecDeque<Transmit>,
}

impl Gossip {
    pub fn new(id: NodeId, neighbours: Vec<NodeId>) -> Self {
        Gossip {
            id,
            neighbours,
            tag: 0,
            seq: 0,
            seen: HashSet::new(),
            log: Vec::new(),
            out: Default::default(),
        }
    }
    fn forward(&mut self, except: Option<NodeId>, msg: &[u8]) {
        for &n in &self.neighbours {
            if Some(n) != except {
                self.out.push_back(Transmit {
                    to: n,
                    payload: msg.to_vec(),
                });
            }
        }
    }
}

/// Gossip command: originate a new rumour.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Originate;

impl SimNode for Gossip {
    type Command = Originate;
    fn handle_message(&mut self, now: Instant, from: NodeId, msg: &[u8]) {
        if msg.len() < 8 {
            return;
        }
        let origin = u32::from_be_bytes(msg[..4].try_into().unwrap());
        let seq = u32::from_be_bytes(msg[4..8].try_into().unwrap());
        if self.seen.insert((origin, seq)) {
            self.log.push(((origin, seq), now));
            self.forward(Some(from), msg);
        }
    }
    fn handle_command(&mut self, now: Instant, _: Originate) {
        let key = (self.id.0, self.seq);
        self.seq += 1;
        self.seen.insert(key);
        self.log.push((key, now));
        let mut msg = Vec::new();
        msg.extend_from_slice(&key.0.to_be_bytes());
        msg.extend_from_slice(&key.1.to_be_bytes());
        msg.push(self.tag);
        self.forward(None, &msg);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
}

/// Heartbeat node: every `period` (from `now`, not from the last deadline)
/// it sends `tick` to every neighbour, `limit` times, and logs each tick.
#[derive(Debug)]
pub struct Ticker {
    pub neighbours: Vec<NodeId>,
    pub period: Duration,
    pub limit: u32,
    pub ticks: Vec<Instant>,
    pub heard: Vec<(NodeId, Instant)>,
    deadline: Option<Instant>,
    out: Vec<Transmit>,
}

impl Ticker {
    pub fn new(neighbours: Vec<NodeId>, period: Duration, limit: u32) -> Self {
        Ticker {
            neighbours,
            period,
            limit,
            ticks: Vec::new(),
            heard: Vec::new(),
            deadline: (limit > 0).then(|| Instant::ZERO + period),
            out: Vec::new(),
        }
    }
}

impl SimNode for Ticker {
    type Command = ();
    fn handle_message(&mut self, now: Instant, from: NodeId, _msg: &[u8]) {
        self.heard.push((from, now));
    }
    fn handle_timeout(&mut self, now: Instant) {
        let Some(d) = self.deadline else { return };
        if now < d {
            return;
        }
        self.ticks.push(now);
        for &n in &self.neighbours {
            self.out.push(Transmit {
                to: n,
                payload: b"tick".to_vec(),
            });
        }
        self.deadline = (self.ticks.len() < self.limit as usize).then(|| now + self.period);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop()
    }
}

/// Answers every message twice, forever: a livelock.
#[derive(Debug, Default)]
pub struct Echo2 {
    out: Vec<Transmit>,
}

impl SimNode for Echo2 {
    type Command = NodeId;
    fn handle_message(&mut self, _now: Instant, from: NodeId, msg: &[u8]) {
        for _ in 0..2 {
            self.out.push(Transmit {
                to: from,
                payload: msg.to_vec(),
            });
        }
    }
    fn handle_command(&mut self, _now: Instant, to: NodeId) {
        self.out.push(Transmit {
            to,
            payload: b"hi".to_vec(),
        });
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop()
    }
}

/// Breaks the `poll_timeout` contract: its deadline never moves.
#[derive(Debug, Default)]
pub struct StuckTimer;

impl SimNode for StuckTimer {
    type Command = ();
    fn handle_message(&mut self, _: Instant, _: NodeId, _: &[u8]) {}
    fn poll_timeout(&self) -> Option<Instant> {
        Some(Instant::from_millis(7))
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }
}
