//! The overlay's own wire formats: the hop payload (what a hop session's
//! transport datagram carries) and the stream header (what an end-to-end
//! session's transport datagram carries). Byte tables in the
//! [module docs](super#packet-layout); all integers big-endian.

use core::fmt;

use super::identity::{BINDING_LEN, Binding, BindingError};
use crate::buf::{Reader, Writer};
use crate::error::BufferTooSmall;

/// Hop payload type: hello (binding, incarnation).
pub const HOP_HELLO: u8 = 1;
/// Hop payload type: a routing announcement.
pub const HOP_ANNOUNCE: u8 = 2;
/// Hop payload type: a routed packet (routing header, then body).
pub const HOP_ROUTED: u8 = 3;

/// Length of a hop hello payload (type byte included).
pub const HELLO_LEN: usize = 1 + 1 + 8 + BINDING_LEN;

/// Hello flag: the sender has received (and verified) our hello of the
/// current session.
pub const HELLO_GOT_YOURS: u8 = 1;
/// Hello flag: the sender has not yet received a hello of ours flagged
/// [`HELLO_GOT_YOURS`]; answer with one. A hello without it is a pure
/// acknowledgement and is not answered (so hellos cannot ping-pong).
pub const HELLO_NEED_ACK: u8 = 2;

/// Stream flag: the packet carries a record (`seq`, type, body).
pub const STREAM_RECORD: u8 = 1;
/// Stream flag: the sender's previous stream to us ended with records
/// unacknowledged (it declared us lost): treat its new stream as a new
/// incarnation of the sender.
pub const STREAM_PREV_DIRTY: u8 = 2;
const STREAM_FLAGS: u8 = STREAM_RECORD | STREAM_PREV_DIRTY;

/// Length of the stream header without a record.
pub const STREAM_HEADER_LEN: usize = 1 + 8 + 4 + 4 + 8 + 4 + 4 + 4;
/// Length of the stream header with a record (sequence number and type).
pub const STREAM_RECORD_HEADER_LEN: usize = STREAM_HEADER_LEN + 4 + 1;

/// Record type: an encoded ports event.
pub const RECORD_PORTS: u8 = 1;
/// Record type: an introduction (a node key and, maybe, its location).
pub const RECORD_INTRO: u8 = 2;
/// Record type: a liveness probe (empty body), sent on an idle stream to a
/// node ports depends on, so that its loss is noticed.
pub const RECORD_PROBE: u8 = 3;

/// Why an overlay payload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Truncated, trailing bytes, unknown type or flags.
    Malformed,
    /// The hello's binding did not parse.
    Binding(BindingError),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Malformed => f.write_str("overlay payload malformed; dropped"),
            WireError::Binding(e) => write!(f, "hello: {e}"),
        }
    }
}

impl core::error::Error for WireError {}

/// A hop hello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// [`HELLO_GOT_YOURS`], [`HELLO_NEED_ACK`].
    pub flags: u8,
    /// The sender's incarnation (random per run).
    pub incarnation: u64,
    /// The sender's binding (routing key signed over its node key).
    pub binding: Binding,
}

impl Hello {
    /// Writes the [`HELLO_LEN`]-byte hop payload.
    ///
    /// # Errors
    /// [`BufferTooSmall`]; nothing is written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(buf);
        w.ensure(HELLO_LEN)?;
        w.u8(HOP_HELLO)?;
        w.u8(self.flags)?;
        w.u64(self.incarnation)?;
        let n = self.binding.encode(w.tail_mut())?;
        w.advance(n)?;
        Ok(w.position())
    }

    /// Parses a hop payload of type [`HOP_HELLO`].
    ///
    /// # Errors
    /// [`WireError`].
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let m = |_| WireError::Malformed;
        if r.u8().map_err(m)? != HOP_HELLO {
            return Err(WireError::Malformed);
        }
        let flags = r.u8().map_err(m)?;
        if flags & !(HELLO_GOT_YOURS | HELLO_NEED_ACK) != 0 {
            return Err(WireError::Malformed);
        }
        let incarnation = r.u64().map_err(m)?;
        let binding = Binding::decode(r.take_rest()).map_err(WireError::Binding)?;
        Ok(Hello {
            flags,
            incarnation,
            binding,
        })
    }
}

/// The header of a stream packet (inside an end-to-end transport datagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamHeader {
    /// [`STREAM_PREV_DIRTY`] or 0 ([`STREAM_RECORD`] is implied by
    /// `record`).
    pub flags: u8,
    /// The sender's incarnation.
    pub src_incarnation: u64,
    /// The sender's stream number (its send half to us).
    pub src_stream: u32,
    /// The oldest record of that stream the sender has not seen
    /// acknowledged: a receiver with no state for the stream starts there.
    pub una: u32,
    /// Our incarnation as the sender knows it (0: not known yet).
    pub dst_incarnation: u64,
    /// Our stream number the acknowledgement refers to (our send half as
    /// the sender knows it; meaningless while `dst_incarnation` is 0).
    pub dst_stream: u32,
    /// Cumulative acknowledgement of our send half.
    pub ack: u32,
    /// Selective acknowledgement bitmap (bit i: `ack + 1 + i`).
    pub sack: u32,
    /// With [`STREAM_RECORD`]: the record's sequence number and type.
    pub record: Option<(u32, u8)>,
}

impl StreamHeader {
    /// Encoded length.
    pub fn len(&self) -> usize {
        if self.record.is_some() {
            STREAM_RECORD_HEADER_LEN
        } else {
            STREAM_HEADER_LEN
        }
    }

    /// Never empty (always at least [`STREAM_HEADER_LEN`]).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header (the record body follows it).
    ///
    /// # Errors
    /// [`BufferTooSmall`]; nothing is written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(buf);
        w.ensure(self.len())?;
        let flags = (self.flags & STREAM_PREV_DIRTY)
            | if self.record.is_some() {
                STREAM_RECORD
            } else {
                0
            };
        w.u8(flags)?;
        w.u64(self.src_incarnation)?;
        w.u32(self.src_stream)?;
        w.u32(self.una)?;
        w.u64(self.dst_incarnation)?;
        w.u32(self.dst_stream)?;
        w.u32(self.ack)?;
        w.u32(self.sack)?;
        if let Some((seq, ty)) = self.record {
            w.u32(seq)?;
            w.u8(ty)?;
        }
        Ok(w.position())
    }

    /// Parses a stream packet: the header and the record body (empty without
    /// a record; a packet without a record must end after the header).
    ///
    /// # Errors
    /// [`WireError::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<(Self, &[u8]), WireError> {
        let mut r = Reader::new(bytes);
        let m = |_| WireError::Malformed;
        let flags = r.u8().map_err(m)?;
        if flags & !STREAM_FLAGS != 0 {
            return Err(WireError::Malformed);
        }
        let mut h = StreamHeader {
            flags: flags & STREAM_PREV_DIRTY,
            src_incarnation: r.u64().map_err(m)?,
            src_stream: r.u32().map_err(m)?,
            una: r.u32().map_err(m)?,
            dst_incarnation: r.u64().map_err(m)?,
            dst_stream: r.u32().map_err(m)?,
            ack: r.u32().map_err(m)?,
            sack: r.u32().map_err(m)?,
            record: None,
        };
        if h.src_incarnation == 0 {
            return Err(WireError::Malformed);
        }
        if flags & STREAM_RECORD != 0 {
            let seq = r.u32().map_err(m)?;
            let ty = r.u8().map_err(m)?;
            if ty != RECORD_PORTS && ty != RECORD_INTRO && ty != RECORD_PROBE {
                return Err(WireError::Malformed);
            }
            h.record = Some((seq, ty));
            Ok((h, r.take_rest()))
        } else if r.is_empty() {
            Ok((h, &[]))
        } else {
            Err(WireError::Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::Identity;

    #[test]
    fn hello_layout() {
        let id = Identity::from_seed(&[9; 32]);
        let h = Hello {
            flags: HELLO_GOT_YOURS,
            incarnation: 0x1122_3344_5566_7788,
            binding: id.binding(1_280),
        };
        let mut buf = [0u8; HELLO_LEN];
        assert_eq!(h.encode(&mut buf), Ok(110));
        assert_eq!(
            &buf[..14],
            &[
                1, 1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 1, 0x05, 0x00
            ]
        );
        assert_eq!(Hello::decode(&buf), Ok(h));
        for cut in 0..HELLO_LEN {
            assert!(Hello::decode(&buf[..cut]).is_err());
        }
        let mut bad = buf;
        bad[1] = 4;
        assert_eq!(Hello::decode(&bad), Err(WireError::Malformed));
        assert!(h.encode(&mut [0u8; HELLO_LEN - 1]).is_err());
    }

    #[test]
    fn stream_header_layout() {
        let h = StreamHeader {
            flags: STREAM_PREV_DIRTY,
            src_incarnation: 1,
            src_stream: 2,
            una: 9,
            dst_incarnation: 3,
            dst_stream: 4,
            ack: 5,
            sack: 6,
            record: Some((7, RECORD_PORTS)),
        };
        let mut buf = [0u8; 64];
        let n = h.encode(&mut buf).unwrap();
        assert_eq!(n, 42);
        #[rustfmt::skip]
        let want = [
            3,                      // flags: record | prev dirty
            0, 0, 0, 0, 0, 0, 0, 1, // src incarnation
            0, 0, 0, 2,             // src stream
            0, 0, 0, 9,             // una
            0, 0, 0, 0, 0, 0, 0, 3, // dst incarnation
            0, 0, 0, 4,             // dst stream
            0, 0, 0, 5,             // ack
            0, 0, 0, 6,             // sack
            0, 0, 0, 7,             // seq
            1,                      // record type
        ];
        assert_eq!(&buf[..n], &want);
        buf[n] = 0xaa;
        let (back, body) = StreamHeader::decode(&buf[..n + 1]).unwrap();
        assert_eq!((back, body), (h, &[0xaa][..]));
        let bare = StreamHeader {
            record: None,
            flags: 0,
            ..h
        };
        let n = bare.encode(&mut buf).unwrap();
        assert_eq!(n, 37);
        assert_eq!(StreamHeader::decode(&buf[..n]), Ok((bare, &[][..])));
        assert_eq!(
            StreamHeader::decode(&buf[..n + 1]),
            Err(WireError::Malformed)
        );
        for cut in 0..n {
            assert!(StreamHeader::decode(&buf[..cut]).is_err());
        }
        let mut bad = buf;
        bad[0] = 4;
        assert_eq!(StreamHeader::decode(&bad[..n]), Err(WireError::Malformed));
        let mut zero_inc = buf;
        zero_inc[8] = 0;
        assert_eq!(
            StreamHeader::decode(&zero_inc[..n]),
            Err(WireError::Malformed)
        );
    }
}
