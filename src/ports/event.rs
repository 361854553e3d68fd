//! Ports events and their wire codec.
//!
//! # Wire layout (version 0)
//!
//! All integers are little-endian; a name is 16 bytes (`v1` then `v2`, each
//! little-endian u64). The layout is byte-compatible with Chromium's packed
//! ports events (prev-peer protocol, 48-byte header); the four bytes Chromium
//! leaves as padding after the type carry the layout version, which is 0.
//!
//! Header (48 bytes, every event):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | event type (u32, table below) |
//! | 4 | 4 | layout version (u32, must be 0) |
//! | 8 | 16 | `port`: the target port |
//! | 24 | 16 | `from_port`: the sending port (invalid for unverified events) |
//! | 40 | 8 | `control_seq` (u64; `u64::MAX` for unverified events) |
//!
//! Bodies (offsets relative to the end of the header):
//!
//! | type | event | body | total |
//! |---|---|---|---|
//! | 0 | UserMessage | seq u64 @0, n u32 @8, zero u32 @12, n × [`PortDescriptor`] (96 B) @16, n × port name (16 B), payload (rest) | 64 + 112·n + payload |
//! | 1 | PortAccepted | empty | 48 |
//! | 2 | ObserveProxy | proxy node, proxy port, target node, target port (4 × 16 B) | 112 |
//! | 3 | ObserveProxyAck | last seq u64 (`u64::MAX` = retry later) | 56 |
//! | 4 | ObserveClosure | last seq u64 | 56 |
//! | 5 | MergePort | new port name (16 B), [`PortDescriptor`] (96 B) | 160 |
//! | 6 | UserMessageReadAckRequest | seq to acknowledge u64 | 56 |
//! | 7 | UserMessageReadAck | seq acknowledged u64 | 56 |
//! | 8 | UpdatePreviousPeer | new prev node, new prev port (2 × 16 B) | 80 |
//! | 9 | ObserveProxyDirect (hyperport extension) | target node, target port (2 × 16 B) | 80 |
//! | 10 | PeerConfirmed (hyperport extension) | empty | 48 |
//! | 11 | PortArrived (hyperport extension) | empty | 48 |
//!
//! Type 9 is not part of Chromium's protocol: a proxy sends it straight to
//! its previous peer (the port that forwards into it) to ask to be
//! bypassed, instead of sending ObserveProxy around the whole route; see
//! [`super::Config::direct_bypass`]. A Chromium node drops it as unknown.
//!
//! Type 10 is not part of Chromium's protocol either: a port that has just
//! taken a new previous peer (UpdatePreviousPeer) tells that port so, so
//! that it can leave its send window (see [`super::Config::send_window`]).
//! It is not sender-verified (`control_seq` is `u64::MAX`); the receiver
//! checks that the sender is the port's current peer. Sent only when
//! [`super::Config::direct_bypass`] is on.
//!
//! Type 11 is a hyperport extension as well: a port just created from a
//! descriptor (a moved port, or the new port of a merge) tells its peer
//! that it now exists (`from_port` on the sending node), so that the peer,
//! if the new port is its previous peer, repeats what it may have sent
//! before the port existed (its PeerConfirmed, and a proxy's
//! ObserveProxyDirect). Not sender-verified (`control_seq` is `u64::MAX`).
//! Sent only when [`super::Config::direct_bypass`] is on.
//!
//! [`PortDescriptor`] (96 bytes): peer node @0, peer port @16, referring node
//! @32, referring port @48 (16 B each), next seq to send u64 @64, next seq to
//! receive u64 @72, last seq to receive u64 @80, peer closed u8 @88 (0 or 1),
//! 7 zero bytes @89.
//!
//! Decoding is strict: a short buffer, a non-zero padding byte, a
//! `peer_closed` other than 0/1, more than `A` carried ports or trailing bytes
//! after a fixed-size body are errors. An unknown type is
//! [`DecodeError::UnknownType`]; a driver drops such events silently (forward
//! compatibility), exactly as it drops any event that fails to decode.

use core::fmt;

use super::name::{NodeName, PortName};
use crate::buf::{Reader, Writer};
use crate::error::{BufferTooSmall, Truncated};

/// Wire layout version written in bytes 4..8 of every header.
pub const WIRE_VERSION: u32 = 0;
/// Size of the common header.
pub const HEADER_LEN: usize = 48;
/// Size of an encoded [`PortDescriptor`].
pub const DESCRIPTOR_LEN: usize = 96;
/// Control sequence number of unverified events ("not set").
pub const INVALID_SEQ: u64 = u64::MAX;
/// First user and control sequence number.
pub const INITIAL_SEQ: u64 = 1;

/// The state of a port as it crosses nodes (carried in a user message or a
/// merge request).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PortDescriptor {
    /// Node of the port's peer.
    pub peer_node: NodeName,
    /// The port's peer.
    pub peer_port: PortName,
    /// Node of the port that becomes a proxy to the new port.
    pub referring_node: NodeName,
    /// The port that becomes a proxy to the new port (receives PortAccepted).
    pub referring_port: PortName,
    /// Next user sequence number the new port will send.
    pub next_seq_to_send: u64,
    /// Next user sequence number the new port expects.
    pub next_seq_to_receive: u64,
    /// Last user sequence number the port will get (if the peer is closed).
    pub last_seq_to_receive: u64,
    /// Whether the peer is already closed.
    pub peer_closed: bool,
}

/// Opaque user payload carried by a [`UserMessage`]; the ports layer never
/// looks inside. Its encoding takes the rest of the event.
pub trait Payload: Clone {
    /// Encoded size in bytes.
    fn encoded_len(&self) -> usize;
    /// Writes exactly [`Payload::encoded_len`] bytes to the front of `out`.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if `out` is shorter; nothing is written.
    fn encode(&self, out: &mut [u8]) -> Result<(), BufferTooSmall>;
    /// Parses a payload occupying all of `bytes`.
    ///
    /// # Errors
    /// [`PayloadError`] if the bytes are not a valid payload.
    fn decode(bytes: &[u8]) -> Result<Self, PayloadError>;
}

/// A payload failed to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadError;

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("user payload malformed or too large; drop the event")
    }
}

impl core::error::Error for PayloadError {}

impl Payload for () {
    fn encoded_len(&self) -> usize {
        0
    }
    fn encode(&self, _out: &mut [u8]) -> Result<(), BufferTooSmall> {
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        if bytes.is_empty() {
            Ok(())
        } else {
            Err(PayloadError)
        }
    }
}

impl<const N: usize> Payload for heapless::Vec<u8, N> {
    fn encoded_len(&self) -> usize {
        self.len()
    }
    fn encode(&self, out: &mut [u8]) -> Result<(), BufferTooSmall> {
        let available = out.len();
        let dst = out.get_mut(..self.len()).ok_or(BufferTooSmall {
            needed: self.len(),
            available,
        })?;
        dst.copy_from_slice(self);
        Ok(())
    }
    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        heapless::Vec::from_slice(bytes).map_err(|()| PayloadError)
    }
}

/// A user message: an opaque payload plus up to `A` attached ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserMessage<P, const A: usize> {
    /// User sequence number (0 = not yet assigned).
    pub seq: u64,
    /// Attached ports: the name each has on the receiving side of this hop,
    /// and its descriptor (meaningful only when the hop crosses nodes).
    pub ports: heapless::Vec<(PortName, PortDescriptor), A>,
    /// The embedder's payload.
    pub payload: P,
}

/// The body of an event, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind<P, const A: usize> {
    /// Type 0: a user message.
    UserMessage(UserMessage<P, A>),
    /// Type 1: the transferred port was accepted; the referring port may
    /// start proxying.
    PortAccepted,
    /// Type 2: a proxy asks to be bypassed (targeted), or a dead proxy is
    /// announced (broadcast form: `port` invalid, target fields invalid).
    ObserveProxy {
        /// Node of the proxy.
        proxy_node: NodeName,
        /// The proxy.
        proxy_port: PortName,
        /// Node of the proxy's peer.
        target_node: NodeName,
        /// The proxy's peer.
        target_port: PortName,
    },
    /// Type 3: answer to ObserveProxy.
    ObserveProxyAck {
        /// Last user seq the proxy will have to forward; `u64::MAX` = retry later.
        last_seq: u64,
    },
    /// Type 4: the route's far receiving port closed.
    ObserveClosure {
        /// Last user seq that will be sent.
        last_seq: u64,
    },
    /// Type 5: merge the sender's port (described) into the target port.
    MergePort {
        /// Name of the port to create on the receiving node.
        new_port: PortName,
        /// Its state.
        descriptor: PortDescriptor,
    },
    /// Type 6: ask the peer to acknowledge reading up to `seq`.
    ReadAckRequest {
        /// Sequence number to acknowledge.
        seq: u64,
    },
    /// Type 7: the peer read up to `seq`.
    ReadAck {
        /// Sequence number acknowledged.
        seq: u64,
    },
    /// Type 8: the last event on an edge; the target's next sender is named.
    UpdatePreviousPeer {
        /// Node of the new previous peer.
        node: NodeName,
        /// The new previous peer.
        port: PortName,
    },
    /// Type 9 (hyperport extension): the sending proxy (`from_port` on the
    /// sending node) asks its previous peer, the target, to re-point past
    /// it to `target`. Accepted only if the target's peer is the sender.
    ObserveProxyDirect {
        /// Node of the proxy's peer.
        target_node: NodeName,
        /// The proxy's peer.
        target_port: PortName,
    },
    /// Type 10 (hyperport extension): the sending port (`from_port` on the
    /// sending node) has processed the UpdatePreviousPeer naming the target
    /// as its previous peer, so events from the target are no longer held
    /// there. Accepted only if the target's peer is the sender.
    PeerConfirmed,
    /// Type 11 (hyperport extension): the sending port (`from_port` on the
    /// sending node) was just created there from a descriptor; the target
    /// is its peer. If the sender is the target's previous peer, the target
    /// repeats what may have reached the sender before it existed.
    PortArrived,
}

/// A ports event: header fields plus a typed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<P, const A: usize> {
    /// Target port (invalid for the broadcast form of ObserveProxy).
    pub port: PortName,
    /// Sending port, for sender-verified events.
    pub from_port: PortName,
    /// Control sequence number on the edge `from_port → port`.
    pub control_seq: u64,
    /// Body.
    pub kind: EventKind<P, A>,
}

/// Why bytes could not be decoded as an [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended early.
    Truncated(Truncated),
    /// Unknown event type: drop silently (a newer peer).
    UnknownType(u32),
    /// Unsupported layout version.
    UnsupportedVersion(u32),
    /// A padding byte was not zero, or a flag not 0/1.
    Malformed,
    /// More attached ports than this build accepts.
    TooManyPorts(u32),
    /// Bytes after a fixed-size body.
    TrailingBytes,
    /// The user payload did not decode.
    Payload(PayloadError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated(t) => write!(f, "ports event truncated: {t}"),
            DecodeError::UnknownType(t) => write!(f, "unknown ports event type {t}; drop it"),
            DecodeError::UnsupportedVersion(v) => {
                write!(f, "unsupported ports wire version {v}; drop it")
            }
            DecodeError::Malformed => f.write_str("non-zero padding or bad flag in ports event"),
            DecodeError::TooManyPorts(n) => write!(f, "ports event carries {n} ports, too many"),
            DecodeError::TrailingBytes => f.write_str("trailing bytes after ports event body"),
            DecodeError::Payload(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for DecodeError {}

impl From<Truncated> for DecodeError {
    fn from(t: Truncated) -> Self {
        DecodeError::Truncated(t)
    }
}

fn read_name(r: &mut Reader<'_>) -> Result<[u8; 16], Truncated> {
    r.array::<16>()
}

fn read_port(r: &mut Reader<'_>) -> Result<PortName, Truncated> {
    Ok(PortName::from_bytes(read_name(r)?))
}

fn read_node(r: &mut Reader<'_>) -> Result<NodeName, Truncated> {
    Ok(NodeName::from_bytes(read_name(r)?))
}

impl PortDescriptor {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let peer_node = read_node(r)?;
        let peer_port = read_port(r)?;
        let referring_node = read_node(r)?;
        let referring_port = read_port(r)?;
        let next_seq_to_send = r.u64_le()?;
        let next_seq_to_receive = r.u64_le()?;
        let last_seq_to_receive = r.u64_le()?;
        let peer_closed = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::Malformed),
        };
        if r.array::<7>()? != [0; 7] {
            return Err(DecodeError::Malformed);
        }
        Ok(PortDescriptor {
            peer_node,
            peer_port,
            referring_node,
            referring_port,
            next_seq_to_send,
            next_seq_to_receive,
            last_seq_to_receive,
            peer_closed,
        })
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), BufferTooSmall> {
        w.put(&self.peer_node.to_bytes())?;
        w.put(&self.peer_port.to_bytes())?;
        w.put(&self.referring_node.to_bytes())?;
        w.put(&self.referring_port.to_bytes())?;
        w.u64_le(self.next_seq_to_send)?;
        w.u64_le(self.next_seq_to_receive)?;
        w.u64_le(self.last_seq_to_receive)?;
        w.u8(u8::from(self.peer_closed))?;
        w.put(&[0; 7])
    }
}

impl<P, const A: usize> EventKind<P, A> {
    /// The wire type number.
    pub fn type_id(&self) -> u32 {
        match self {
            EventKind::UserMessage(_) => 0,
            EventKind::PortAccepted => 1,
            EventKind::ObserveProxy { .. } => 2,
            EventKind::ObserveProxyAck { .. } => 3,
            EventKind::ObserveClosure { .. } => 4,
            EventKind::MergePort { .. } => 5,
            EventKind::ReadAckRequest { .. } => 6,
            EventKind::ReadAck { .. } => 7,
            EventKind::UpdatePreviousPeer { .. } => 8,
            EventKind::ObserveProxyDirect { .. } => 9,
            EventKind::PeerConfirmed => 10,
            EventKind::PortArrived => 11,
        }
    }
}

impl<P: Payload, const A: usize> Event<P, A> {
    /// Whether the receiver checks this event against the target's previous
    /// peer and control sequence (everything except PortAccepted, MergePort
    /// and the broadcast form of ObserveProxy).
    pub fn is_sender_verified(&self) -> bool {
        match self.kind {
            EventKind::PortAccepted
            | EventKind::MergePort { .. }
            | EventKind::ObserveProxyDirect { .. }
            | EventKind::PeerConfirmed
            | EventKind::PortArrived => false,
            EventKind::ObserveProxy { .. } => self.port.is_valid(),
            _ => true,
        }
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        let body = match &self.kind {
            EventKind::UserMessage(m) => 16usize
                .saturating_add(m.ports.len().saturating_mul(DESCRIPTOR_LEN + 16))
                .saturating_add(m.payload.encoded_len()),
            EventKind::PortAccepted | EventKind::PeerConfirmed | EventKind::PortArrived => 0,
            EventKind::ObserveProxy { .. } => 64,
            EventKind::ObserveProxyAck { .. }
            | EventKind::ObserveClosure { .. }
            | EventKind::ReadAckRequest { .. }
            | EventKind::ReadAck { .. } => 8,
            EventKind::MergePort { .. } => 16 + DESCRIPTOR_LEN,
            EventKind::UpdatePreviousPeer { .. } => 32,
            EventKind::ObserveProxyDirect { .. } => 32,
        };
        HEADER_LEN.saturating_add(body)
    }

    /// Writes the event to the front of `out` and returns its length.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if `out` is shorter than [`Event::encoded_len`];
    /// nothing is written.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let len = self.encoded_len();
        let mut w = Writer::new(out);
        w.ensure(len)?;
        w.put(&(self.kind.type_id()).to_le_bytes())?;
        w.put(&(WIRE_VERSION).to_le_bytes())?;
        w.put(&self.port.to_bytes())?;
        w.put(&self.from_port.to_bytes())?;
        w.u64_le(self.control_seq)?;
        match &self.kind {
            EventKind::UserMessage(m) => {
                w.u64_le(m.seq)?;
                // The port count is bounded by A, a small const.
                w.put(&(u32::try_from(m.ports.len()).unwrap_or(u32::MAX)).to_le_bytes())?;
                w.put(&0u32.to_le_bytes())?;
                for (_, d) in &m.ports {
                    d.encode(&mut w)?;
                }
                for (n, _) in &m.ports {
                    w.put(&n.to_bytes())?;
                }
                let plen = m.payload.encoded_len();
                let tail = w.tail_mut();
                let dst = tail.get_mut(..plen).ok_or(BufferTooSmall {
                    needed: len,
                    available: len.saturating_sub(plen),
                })?;
                m.payload.encode(dst)?;
                w.advance(plen)?;
            }
            EventKind::PortAccepted | EventKind::PeerConfirmed | EventKind::PortArrived => {}
            EventKind::ObserveProxy {
                proxy_node,
                proxy_port,
                target_node,
                target_port,
            } => {
                w.put(&proxy_node.to_bytes())?;
                w.put(&proxy_port.to_bytes())?;
                w.put(&target_node.to_bytes())?;
                w.put(&target_port.to_bytes())?;
            }
            EventKind::ObserveProxyAck { last_seq } | EventKind::ObserveClosure { last_seq } => {
                w.u64_le(*last_seq)?;
            }
            EventKind::MergePort {
                new_port,
                descriptor,
            } => {
                w.put(&new_port.to_bytes())?;
                descriptor.encode(&mut w)?;
            }
            EventKind::ReadAckRequest { seq } | EventKind::ReadAck { seq } => w.u64_le(*seq)?,
            EventKind::UpdatePreviousPeer { node, port }
            | EventKind::ObserveProxyDirect {
                target_node: node,
                target_port: port,
            } => {
                w.put(&node.to_bytes())?;
                w.put(&port.to_bytes())?;
            }
        }
        Ok(w.position())
    }

    /// Parses one event occupying all of `bytes`.
    ///
    /// # Errors
    /// [`DecodeError`] for anything but a well-formed event of a known type.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let ty = u32::from_le_bytes(r.array()?);
        let version = u32::from_le_bytes(r.array()?);
        let port = read_port(&mut r)?;
        let from_port = read_port(&mut r)?;
        let control_seq = r.u64_le()?;
        if version != WIRE_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let kind = match ty {
            0 => {
                let seq = r.u64_le()?;
                let n = u32::from_le_bytes(r.array()?);
                if u32::from_le_bytes(r.array()?) != 0 {
                    return Err(DecodeError::Malformed);
                }
                let count = usize::try_from(n).map_err(|_| DecodeError::TooManyPorts(n))?;
                if count > A {
                    return Err(DecodeError::TooManyPorts(n));
                }
                let mut descs: heapless::Vec<PortDescriptor, A> = heapless::Vec::new();
                for _ in 0..count {
                    let d = PortDescriptor::decode(&mut r)?;
                    descs.push(d).map_err(|_| DecodeError::TooManyPorts(n))?;
                }
                let mut ports = heapless::Vec::new();
                for d in descs {
                    let name = read_port(&mut r)?;
                    ports
                        .push((name, d))
                        .map_err(|_| DecodeError::TooManyPorts(n))?;
                }
                let payload = P::decode(r.take_rest()).map_err(DecodeError::Payload)?;
                return Ok(Event {
                    port,
                    from_port,
                    control_seq,
                    kind: EventKind::UserMessage(UserMessage {
                        seq,
                        ports,
                        payload,
                    }),
                });
            }
            1 => EventKind::PortAccepted,
            2 => EventKind::ObserveProxy {
                proxy_node: read_node(&mut r)?,
                proxy_port: read_port(&mut r)?,
                target_node: read_node(&mut r)?,
                target_port: read_port(&mut r)?,
            },
            3 => EventKind::ObserveProxyAck {
                last_seq: r.u64_le()?,
            },
            4 => EventKind::ObserveClosure {
                last_seq: r.u64_le()?,
            },
            5 => EventKind::MergePort {
                new_port: read_port(&mut r)?,
                descriptor: PortDescriptor::decode(&mut r)?,
            },
            6 => EventKind::ReadAckRequest { seq: r.u64_le()? },
            7 => EventKind::ReadAck { seq: r.u64_le()? },
            8 => EventKind::UpdatePreviousPeer {
                node: read_node(&mut r)?,
                port: read_port(&mut r)?,
            },
            9 => EventKind::ObserveProxyDirect {
                target_node: read_node(&mut r)?,
                target_port: read_port(&mut r)?,
            },
            10 => EventKind::PeerConfirmed,
            11 => EventKind::PortArrived,
            other => return Err(DecodeError::UnknownType(other)),
        };
        if !r.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(Event {
            port,
            from_port,
            control_seq,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Ev = Event<heapless::Vec<u8, 16>, 2>;

    #[test]
    fn port_accepted_is_48_bytes_with_hand_checked_header() {
        let e: Ev = Event {
            port: PortName::new(1, 2),
            from_port: PortName::INVALID,
            control_seq: INVALID_SEQ,
            kind: EventKind::PortAccepted,
        };
        let mut buf = [0u8; 64];
        let n = e.encode(&mut buf).unwrap();
        assert_eq!(n, 48);
        let mut expect = [0u8; 48];
        expect[0] = 1; // type 1 LE
        expect[8] = 1; // port v1 = 1
        expect[16] = 2; // port v2 = 2
        expect[40..48].copy_from_slice(&[0xff; 8]);
        assert_eq!(&buf[..48], &expect);
        assert_eq!(Ev::decode(&buf[..48]).unwrap(), e);
    }

    #[test]
    fn too_small_buffer_writes_nothing() {
        let e: Ev = Event {
            port: PortName::new(1, 2),
            from_port: PortName::new(3, 4),
            control_seq: 1,
            kind: EventKind::ObserveClosure { last_seq: 9 },
        };
        let mut buf = [0xaau8; 55];
        assert!(e.encode(&mut buf).is_err());
        assert!(buf.iter().all(|&b| b == 0xaa));
    }

    #[test]
    fn rejects_short_unknown_trailing_and_too_many_ports() {
        assert!(matches!(
            Ev::decode(&[0u8; 47]),
            Err(DecodeError::Truncated(_))
        ));
        let mut b = [0u8; 48];
        b[0] = 12;
        assert_eq!(Ev::decode(&b), Err(DecodeError::UnknownType(12)));
        b[0] = 1;
        b[4] = 1;
        assert_eq!(Ev::decode(&b), Err(DecodeError::UnsupportedVersion(1)));
        let mut c = [0u8; 49];
        c[0] = 1;
        assert_eq!(Ev::decode(&c), Err(DecodeError::TrailingBytes));
        let mut d = [0u8; 64];
        d[56] = 3; // 3 ports > A = 2
        assert_eq!(Ev::decode(&d), Err(DecodeError::TooManyPorts(3)));
        d[56] = 0xff;
        d[57] = 0xff;
        d[58] = 0xff;
        d[59] = 0xff;
        assert_eq!(Ev::decode(&d), Err(DecodeError::TooManyPorts(u32::MAX)));
    }

    #[test]
    fn user_message_round_trip_and_size() {
        let d = PortDescriptor {
            peer_node: NodeName::new(1, 1),
            peer_port: PortName::new(2, 2),
            referring_node: NodeName::new(3, 3),
            referring_port: PortName::new(4, 4),
            next_seq_to_send: 5,
            next_seq_to_receive: 6,
            last_seq_to_receive: 7,
            peer_closed: true,
        };
        let mut ports = heapless::Vec::new();
        ports.push((PortName::new(9, 9), d)).unwrap();
        let e: Ev = Event {
            port: PortName::new(1, 2),
            from_port: PortName::new(3, 4),
            control_seq: 5,
            kind: EventKind::UserMessage(UserMessage {
                seq: 1,
                ports,
                payload: heapless::Vec::from_slice(b"hey").unwrap(),
            }),
        };
        let mut buf = [0u8; 256];
        let n = e.encode(&mut buf).unwrap();
        assert_eq!(n, 64 + 112 + 3);
        assert_eq!(&buf[n - 3..n], b"hey");
        assert_eq!(Ev::decode(&buf[..n]).unwrap(), e);
        // peer_closed byte must be 0/1
        buf[64 + 88] = 2;
        assert_eq!(Ev::decode(&buf[..n]), Err(DecodeError::Malformed));
    }
}
