//! The trace: every input a node received, with the outputs it produced, its
//! stable digest, and replay into fresh nodes.

use core::fmt;
use core::hash::{Hash, Hasher};
use std::vec::Vec;

use blake2::Digest as _;

use super::{NodeId, SimNode, Transmit};
use crate::time::Instant;

/// What a node was given in one trace entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TraceInput<C> {
    /// The start-up drain: the node was polled for the transmits it queued
    /// before the run began (no `handle_*` call).
    Start,
    /// `handle_message(at, from, payload)`.
    Message {
        /// Sender.
        from: NodeId,
        /// The bytes delivered.
        payload: Vec<u8>,
    },
    /// `handle_timeout(at)`.
    Timeout,
    /// `handle_command(at, command)` via [`super::Sim::command`].
    Command(C),
    /// An opaque closure run by [`super::Sim::with_node`]. It cannot be
    /// replayed: [`replay`] stops with [`ReplayError::Opaque`].
    Opaque,
}

/// One input delivered to one node and everything the node produced in
/// response: the transmits drained after it, in drain order, and its
/// `poll_timeout` afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TraceEntry<C> {
    /// Virtual time of the input.
    pub at: Instant,
    /// The node that received it.
    pub node: NodeId,
    /// The input.
    pub input: TraceInput<C>,
    /// Transmits drained after the input, in `poll_transmit` order
    /// (before link faults: a lost message is still listed here).
    pub outputs: Vec<Transmit>,
    /// `poll_timeout()` after the drain, as the node returned it.
    pub next_timeout: Option<Instant>,
}

/// A stable digest of a trace: BLAKE2s-256 over the canonical encoding of
/// every entry (see [`DigestWriter`]). Same trace, same digest on every
/// target.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceDigest(pub [u8; 32]);

impl fmt::Display for TraceDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TraceDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceDigest({self})")
    }
}

/// Running BLAKE2s-256 over trace entries, also a [`Hasher`] so that a
/// command's derived [`Hash`] feeds it.
///
/// Canonical encoding of an entry, all integers little-endian:
/// `at: u64`, `node: u32`, then the input as a tag byte (`0` start,
/// `1` message + `from: u32` + `len: u64` + bytes, `2` timeout, `3` command +
/// the command's `Hash` output, `4` opaque), then `outputs: u64` count and per
/// output `to: u32` + `len: u64` + bytes, then `0` for no timeout or `1` +
/// `u64`. The `Hasher` writes every integer little-endian and widens
/// `usize`/`isize` to 64 bits, so a derived `Hash` gives the same bytes on
/// 32- and 64-bit targets.
#[derive(Clone, Debug, Default)]
pub struct DigestWriter(blake2::Blake2s256);

impl DigestWriter {
    /// An empty digest.
    pub fn new() -> Self {
        DigestWriter(blake2::Blake2s256::new())
    }

    /// Adds one entry.
    pub fn entry<C: Hash>(&mut self, e: &TraceEntry<C>) {
        self.write_u64(e.at.as_micros());
        self.write_u32(e.node.0);
        match &e.input {
            TraceInput::Start => self.write_u8(0),
            TraceInput::Message { from, payload } => {
                self.write_u8(1);
                self.write_u32(from.0);
                self.bytes(payload);
            }
            TraceInput::Timeout => self.write_u8(2),
            TraceInput::Command(c) => {
                self.write_u8(3);
                c.hash(self);
            }
            TraceInput::Opaque => self.write_u8(4),
        }
        self.write_u64(e.outputs.len() as u64);
        for t in &e.outputs {
            self.write_u32(t.to.0);
            self.bytes(&t.payload);
        }
        match e.next_timeout {
            None => self.write_u8(0),
            Some(t) => {
                self.write_u8(1);
                self.write_u64(t.as_micros());
            }
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.write_u64(b.len() as u64);
        self.0.update(b);
    }

    /// The digest of everything added so far.
    pub fn digest(&self) -> TraceDigest {
        TraceDigest(self.0.clone().finalize().into())
    }
}

impl Hasher for DigestWriter {
    fn finish(&self) -> u64 {
        let d = self.digest().0;
        let mut first = [0u8; 8];
        first.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(first)
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn write_u8(&mut self, i: u8) {
        self.0.update([i]);
    }
    fn write_u16(&mut self, i: u16) {
        self.0.update(i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.0.update(i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.0.update(i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.0.update(i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i8(&mut self, i: i8) {
        self.write_u8(i as u8);
    }
    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }
    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }
    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }
}

/// The digest of a whole trace (equal to [`super::Sim::trace_digest`] for the
/// trace that sim recorded).
pub fn digest<C: Hash>(trace: &[TraceEntry<C>]) -> TraceDigest {
    let mut w = DigestWriter::new();
    for e in trace {
        w.entry(e);
    }
    w.digest()
}

/// Why a replay stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// Entry `index` names a node beyond the nodes given.
    UnknownNode {
        /// Entry index in the trace.
        index: usize,
        /// The node it names.
        node: NodeId,
    },
    /// Entry `index` is a [`TraceInput::Opaque`] closure, which the trace
    /// cannot reproduce: drive such nodes with [`super::Sim::command`].
    Opaque {
        /// Entry index in the trace.
        index: usize,
    },
    /// The node's transmits after entry `index` differ from the recorded ones.
    OutputsDiffer {
        /// Entry index in the trace.
        index: usize,
        /// The node.
        node: NodeId,
        /// Recorded transmits.
        expected: Vec<Transmit>,
        /// Transmits produced by the replay.
        got: Vec<Transmit>,
    },
    /// The node's `poll_timeout` after entry `index` differs from the recorded one.
    TimeoutDiffers {
        /// Entry index in the trace.
        index: usize,
        /// The node.
        node: NodeId,
        /// Recorded deadline.
        expected: Option<Instant>,
        /// Deadline after the replayed input.
        got: Option<Instant>,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::UnknownNode { index, node } => write!(
                f,
                "trace entry {index} is for {node}, but fewer nodes were given to replay into"
            ),
            ReplayError::Opaque { index } => write!(
                f,
                "trace entry {index} is an opaque `with_node` closure, which cannot be replayed; \
                 inject commands with `Sim::command` to get a replayable trace"
            ),
            ReplayError::OutputsDiffer {
                index,
                node,
                expected,
                got,
            } => write!(
                f,
                "replay diverged at entry {index}: {node} transmitted {} messages, {} recorded \
                 (or their bytes/destinations differ); the node is not a deterministic function \
                 of its inputs",
                got.len(),
                expected.len()
            ),
            ReplayError::TimeoutDiffers {
                index,
                node,
                expected,
                got,
            } => write!(
                f,
                "replay diverged at entry {index}: {node} asked for timeout {got:?}, \
                 {expected:?} recorded"
            ),
        }
    }
}

impl core::error::Error for ReplayError {}

/// Feeds every input of `trace` into `nodes` (indexed by [`NodeId`]), in
/// trace order and at the recorded times, and checks that each node produces
/// exactly the recorded transmits (bytes, destinations, order) and
/// `poll_timeout`. No network is simulated: the recorded inputs already
/// carry every effect of links and faults.
///
/// The nodes must be built exactly as the original run's were (same
/// constructor arguments, same seeds). Returns the number of entries
/// replayed.
pub fn replay<N: SimNode>(
    trace: &[TraceEntry<N::Command>],
    nodes: &mut [N],
) -> Result<usize, ReplayError> {
    let mut got = Vec::new();
    for (index, e) in trace.iter().enumerate() {
        let node = nodes
            .get_mut(e.node.index())
            .ok_or(ReplayError::UnknownNode {
                index,
                node: e.node,
            })?;
        match &e.input {
            TraceInput::Start => {}
            TraceInput::Message { from, payload } => node.handle_message(e.at, *from, payload),
            TraceInput::Timeout => node.handle_timeout(e.at),
            TraceInput::Command(c) => node.handle_command(e.at, c.clone()),
            TraceInput::Opaque => return Err(ReplayError::Opaque { index }),
        }
        got.clear();
        // Bounded: one more than recorded is enough to see a divergence.
        while got.len() <= e.outputs.len() {
            match node.poll_transmit() {
                Some(t) => got.push(t),
                None => break,
            }
        }
        if got != e.outputs {
            return Err(ReplayError::OutputsDiffer {
                index,
                node: e.node,
                expected: e.outputs.clone(),
                got,
            });
        }
        let t = node.poll_timeout();
        if t != e.next_timeout {
            return Err(ReplayError::TimeoutDiffers {
                index,
                node: e.node,
                expected: e.next_timeout,
                got: t,
            });
        }
    }
    Ok(trace.len())
}
