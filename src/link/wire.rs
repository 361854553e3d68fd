//! The packet layout of the link: the 20-byte header every datagram starts
//! with, as a checked view ([`Header`]) and a parsed form ([`Repr`]), plus
//! the sizes of the bodies that follow it.
//!
//! The layout is documented once, with its byte tables, in the
//! [`link` module docs](crate::link#packet-layout). All integers are
//! big-endian.
//!
//! [`Header`] is a checked view over a buffer (after
//! [`Header::new_checked`] no accessor can fail); [`Repr`] is the parsed,
//! validated form, in which an illegal combination cannot be expressed.
//!
//! ```
//! use hyperport::link::wire::{Header, Repr, HEADER_LEN};
//!
//! let repr = Repr::TransportData { receiver_index: 7, counter: 42 };
//! let mut buf = [0u8; HEADER_LEN + 3];
//! repr.emit(&mut buf)?;
//! let header = Header::new_checked(&buf[..])?;
//! assert_eq!(Repr::parse(&header)?, repr);
//! assert_eq!(header.payload().len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use crate::error::{BufferTooSmall, Truncated};
pub use crate::framing::{HeaderError, HeaderField};
use crate::noise::cipher::TAG_LEN;

/// Length of the datagram header in bytes.
pub const HEADER_LEN: usize = 20;

/// The only header version this crate speaks.
pub const VERSION: u8 = 1;

/// Length of `mac1` and of `mac2` at the end of an initiation.
pub const MAC_LEN: usize = 16;
/// Bytes after the Noise message of an initiation: `mac1` then `mac2`.
pub const MACS_LEN: usize = 2 * MAC_LEN;
/// Length of the initiation payload: the initiator's timestamp, a
/// big-endian `u64` of microseconds.
pub const STAMP_LEN: usize = 8;
/// Length of a cookie.
pub const COOKIE_LEN: usize = 16;
/// Length of the random salt of a cookie reply.
pub const COOKIE_SALT_LEN: usize = 16;
/// Length of a whole cookie-reply datagram: header, salt, sealed cookie
/// and its tag (68 bytes).
pub const COOKIE_REPLY_LEN: usize = HEADER_LEN + COOKIE_SALT_LEN + COOKIE_LEN + TAG_LEN;
/// Most key bytes and tags any supported handshake message carries around
/// its payload (an `e`, an encrypted `s` and the payload tag: 96 bytes).
pub const MAX_HANDSHAKE_OVERHEAD: usize = 32 + 32 + TAG_LEN + TAG_LEN;
/// Largest handshake payload a link reads (others only the
/// [`STAMP_LEN`] bytes of an initiation and nothing in later messages).
pub const MAX_HANDSHAKE_PAYLOAD: usize = 64;
/// Largest handshake datagram a link writes or reads (header, message,
/// MACs: 212 bytes).
pub const MAX_HANDSHAKE_DATAGRAM: usize =
    HEADER_LEN + MAX_HANDSHAKE_OVERHEAD + MAX_HANDSHAKE_PAYLOAD + MACS_LEN;
/// Largest datagram a link writes from `poll_transmit` (handshake
/// messages, cookie replies, keepalives): a buffer this long never gets
/// `BufferTooSmall`.
pub const MAX_CONTROL_DATAGRAM: usize = MAX_HANDSHAKE_DATAGRAM;
/// Largest datagram a link accepts or writes (the largest UDP payload).
pub const MAX_DATAGRAM: usize = 65_535;
/// Largest payload of one transport datagram
/// (`MAX_DATAGRAM - HEADER_LEN - TAG_LEN` = 65,499 bytes).
pub const MAX_PAYLOAD: usize = MAX_DATAGRAM - HEADER_LEN - TAG_LEN;
/// Length of a keepalive: a transport datagram with an empty payload.
pub const KEEPALIVE_LEN: usize = HEADER_LEN + TAG_LEN;

/// Length of the transport datagram that carries `payload_len` bytes.
pub const fn datagram_len(payload_len: usize) -> usize {
    HEADER_LEN
        .saturating_add(payload_len)
        .saturating_add(TAG_LEN)
}

/// Where a datagram goes, read from its header alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// An initiation: to the [`Gate`](super::Gate) (no receiver index yet).
    Initiation,
    /// Every other type: to the link owning this local index.
    Index(u32),
}

/// Reads where `datagram` goes: constant time, no crypto.
///
/// # Errors
/// As [`Repr::parse`].
pub fn route(datagram: &[u8]) -> Result<Route, HeaderError> {
    let (repr, _) = Repr::parse_datagram(datagram)?;
    Ok(match repr {
        Repr::HandshakeInitiation { .. } => Route::Initiation,
        Repr::HandshakeResponse { receiver_index, .. }
        | Repr::TransportData { receiver_index, .. }
        | Repr::CookieReply { receiver_index } => Route::Index(receiver_index),
    })
}

mod field {
    use core::ops::Range;
    pub(super) const VERSION: usize = 0;
    pub(super) const TYPE: usize = 1;
    pub(super) const RESERVED: Range<usize> = 2..4;
    pub(super) const SENDER: Range<usize> = 4..8;
    pub(super) const RECEIVER: Range<usize> = 8..12;
    pub(super) const COUNTER: Range<usize> = 12..20;
}

/// The message type byte (offset 1).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MessageType {
    /// First handshake message, initiator to responder (1).
    HandshakeInitiation,
    /// Every later handshake message (2): the responder's answer, and the
    /// initiator's third message in three-message patterns.
    HandshakeResponse,
    /// Noise transport message (3); an empty payload is a keepalive.
    TransportData,
    /// A responder under load answers an initiation without a valid `mac2`
    /// with a cookie (4) instead of doing any Diffie-Hellman work.
    CookieReply,
}

impl MessageType {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            MessageType::HandshakeInitiation => 1,
            MessageType::HandshakeResponse => 2,
            MessageType::TransportData => 3,
            MessageType::CookieReply => 4,
        }
    }

    /// The type for a wire value, if it names one.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(MessageType::HandshakeInitiation),
            2 => Some(MessageType::HandshakeResponse),
            3 => Some(MessageType::TransportData),
            4 => Some(MessageType::CookieReply),
            _ => None,
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageType::HandshakeInitiation => "handshake-initiation",
            MessageType::HandshakeResponse => "handshake-response",
            MessageType::TransportData => "transport-data",
            MessageType::CookieReply => "cookie-reply",
        })
    }
}

/// A view of a datagram header over a buffer, smoltcp style.
///
/// Build it with [`Header::new_checked`], which checks the length once; then
/// every accessor is infallible. The view does not check field values: that
/// is [`Repr::parse`]'s job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// A view without any check.
    ///
    /// Accessors never panic: on a buffer shorter than [`HEADER_LEN`] they
    /// read missing bytes as zero. Prefer [`Header::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Header { buffer }
    }

    /// A view over `buffer`, checked to hold at least [`HEADER_LEN`] bytes.
    ///
    /// # Errors
    /// [`HeaderError::Truncated`] if it is shorter.
    pub fn new_checked(buffer: T) -> Result<Self, HeaderError> {
        let header = Header::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Checks the buffer holds at least [`HEADER_LEN`] bytes.
    ///
    /// # Errors
    /// [`HeaderError::Truncated`] if it is shorter.
    pub fn check_len(&self) -> Result<(), HeaderError> {
        let available = self.buffer.as_ref().len();
        if available < HEADER_LEN {
            Err(HeaderError::Truncated(Truncated {
                needed: HEADER_LEN,
                available,
            }))
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        let end = at.saturating_add(N);
        if let Some(src) = self.buffer.as_ref().get(at..end) {
            out.copy_from_slice(src);
        }
        out
    }

    /// The version byte.
    pub fn version(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::VERSION)
            .copied()
            .unwrap_or(0)
    }

    /// The raw message type byte.
    pub fn message_type(&self) -> u8 {
        self.buffer.as_ref().get(field::TYPE).copied().unwrap_or(0)
    }

    /// The reserved bytes (2..4) as a big-endian `u16`.
    pub fn reserved(&self) -> u16 {
        u16::from_be_bytes(self.bytes(field::RESERVED.start))
    }

    /// The sender index.
    pub fn sender_index(&self) -> u32 {
        u32::from_be_bytes(self.bytes(field::SENDER.start))
    }

    /// The receiver index.
    pub fn receiver_index(&self) -> u32 {
        u32::from_be_bytes(self.bytes(field::RECEIVER.start))
    }

    /// The counter (the Noise explicit nonce of transport data).
    pub fn counter(&self) -> u64 {
        u64::from_be_bytes(self.bytes(field::COUNTER.start))
    }

    /// The bytes after the header.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    fn set_bytes(&mut self, at: usize, value: &[u8]) {
        let end = at.saturating_add(value.len());
        if let Some(dst) = self.buffer.as_mut().get_mut(at..end) {
            dst.copy_from_slice(value);
        }
    }

    /// Sets the version byte.
    pub fn set_version(&mut self, v: u8) {
        self.set_bytes(field::VERSION, &[v]);
    }

    /// Sets the raw message type byte.
    pub fn set_message_type(&mut self, v: u8) {
        self.set_bytes(field::TYPE, &[v]);
    }

    /// Sets the reserved bytes.
    pub fn set_reserved(&mut self, v: u16) {
        self.set_bytes(field::RESERVED.start, &v.to_be_bytes());
    }

    /// Sets the sender index.
    pub fn set_sender_index(&mut self, v: u32) {
        self.set_bytes(field::SENDER.start, &v.to_be_bytes());
    }

    /// Sets the receiver index.
    pub fn set_receiver_index(&mut self, v: u32) {
        self.set_bytes(field::RECEIVER.start, &v.to_be_bytes());
    }

    /// Sets the counter.
    pub fn set_counter(&mut self, v: u64) {
        self.set_bytes(field::COUNTER.start, &v.to_be_bytes());
    }

    /// The bytes after the header, mutably (to write the payload in place).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

/// A parsed, valid datagram header: only the fields each type uses.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Repr {
    /// Handshake initiation: carries the initiator's session index.
    HandshakeInitiation {
        /// The index the initiator chose for this session; the responder
        /// puts it in the receiver index of its response.
        sender_index: u32,
    },
    /// Handshake response.
    HandshakeResponse {
        /// The index the responder chose for this session.
        sender_index: u32,
        /// The initiator's index, copied from the initiation.
        receiver_index: u32,
    },
    /// Transport data.
    TransportData {
        /// The recipient's session index.
        receiver_index: u32,
        /// The Noise explicit nonce of the payload.
        counter: u64,
    },
    /// Cookie reply to an initiation.
    CookieReply {
        /// The initiator's index, copied from the initiation.
        receiver_index: u32,
    },
}

impl Repr {
    /// Parses and validates a header.
    ///
    /// # Errors
    /// [`HeaderError::UnknownVersion`], [`HeaderError::UnknownType`],
    /// [`HeaderError::ReservedNotZero`], [`HeaderError::UnusedFieldNotZero`],
    /// and [`HeaderError::Truncated`] for a view built with
    /// [`Header::new_unchecked`] over a short buffer.
    pub fn parse<T: AsRef<[u8]>>(header: &Header<T>) -> Result<Repr, HeaderError> {
        header.check_len()?;
        if header.version() != VERSION {
            return Err(HeaderError::UnknownVersion(header.version()));
        }
        let ty = MessageType::from_u8(header.message_type())
            .ok_or(HeaderError::UnknownType(header.message_type()))?;
        if header.reserved() != 0 {
            return Err(HeaderError::ReservedNotZero(header.reserved()));
        }
        let unused = |is_zero: bool, field| {
            if is_zero {
                Ok(())
            } else {
                Err(HeaderError::UnusedFieldNotZero(field))
            }
        };
        match ty {
            MessageType::HandshakeInitiation => {
                unused(header.receiver_index() == 0, HeaderField::ReceiverIndex)?;
                unused(header.counter() == 0, HeaderField::Counter)?;
                Ok(Repr::HandshakeInitiation {
                    sender_index: header.sender_index(),
                })
            }
            MessageType::HandshakeResponse => {
                unused(header.counter() == 0, HeaderField::Counter)?;
                Ok(Repr::HandshakeResponse {
                    sender_index: header.sender_index(),
                    receiver_index: header.receiver_index(),
                })
            }
            MessageType::TransportData => {
                unused(header.sender_index() == 0, HeaderField::SenderIndex)?;
                Ok(Repr::TransportData {
                    receiver_index: header.receiver_index(),
                    counter: header.counter(),
                })
            }
            MessageType::CookieReply => {
                unused(header.sender_index() == 0, HeaderField::SenderIndex)?;
                unused(header.counter() == 0, HeaderField::Counter)?;
                Ok(Repr::CookieReply {
                    receiver_index: header.receiver_index(),
                })
            }
        }
    }

    /// Parses the header at the start of a datagram and returns it with the
    /// payload after it.
    ///
    /// # Errors
    /// As [`Repr::parse`], including [`HeaderError::Truncated`].
    pub fn parse_datagram(datagram: &[u8]) -> Result<(Repr, &[u8]), HeaderError> {
        let header = Header::new_checked(datagram)?;
        let repr = Repr::parse(&header)?;
        Ok((repr, datagram.get(HEADER_LEN..).unwrap_or(&[])))
    }

    /// The message type.
    pub const fn message_type(&self) -> MessageType {
        match self {
            Repr::HandshakeInitiation { .. } => MessageType::HandshakeInitiation,
            Repr::HandshakeResponse { .. } => MessageType::HandshakeResponse,
            Repr::TransportData { .. } => MessageType::TransportData,
            Repr::CookieReply { .. } => MessageType::CookieReply,
        }
    }

    /// Bytes [`Repr::emit`] writes: always [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `buf` and
    /// returns [`HEADER_LEN`]; the rest of `buf` is untouched.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if `buf` is shorter than [`HEADER_LEN`]; `buf` is
    /// untouched.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let available = buf.len();
        let dst = buf.get_mut(..HEADER_LEN).ok_or(BufferTooSmall {
            needed: HEADER_LEN,
            available,
        })?;
        self.emit_header(&mut Header::new_unchecked(dst));
        Ok(HEADER_LEN)
    }

    /// Writes every header field into a view (which should have been checked
    /// with [`Header::new_checked`]; fields beyond a short buffer are skipped).
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Header<T>) {
        let (sender, receiver, counter) = match *self {
            Repr::HandshakeInitiation { sender_index } => (sender_index, 0, 0),
            Repr::HandshakeResponse {
                sender_index,
                receiver_index,
            } => (sender_index, receiver_index, 0),
            Repr::TransportData {
                receiver_index,
                counter,
            } => (0, receiver_index, counter),
            Repr::CookieReply { receiver_index } => (0, receiver_index, 0),
        };
        header.set_version(VERSION);
        header.set_message_type(self.message_type().to_u8());
        header.set_reserved(0);
        header.set_sender_index(sender);
        header.set_receiver_index(receiver);
        header.set_counter(counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let mut b = [0u8; HEADER_LEN];
        for (repr, want) in [
            (
                Repr::HandshakeInitiation { sender_index: 9 },
                Route::Initiation,
            ),
            (
                Repr::HandshakeResponse {
                    sender_index: 1,
                    receiver_index: 2,
                },
                Route::Index(2),
            ),
            (
                Repr::TransportData {
                    receiver_index: 3,
                    counter: 4,
                },
                Route::Index(3),
            ),
            (Repr::CookieReply { receiver_index: 5 }, Route::Index(5)),
        ] {
            repr.emit(&mut b).unwrap();
            assert_eq!(route(&b), Ok(want));
        }
        assert!(route(&b[..19]).is_err());
        // Sizes from the layout table.
        assert_eq!(COOKIE_REPLY_LEN, 68);
        assert_eq!(KEEPALIVE_LEN, 36);
        assert_eq!(MAX_HANDSHAKE_DATAGRAM, 212);
        assert_eq!(MAX_PAYLOAD, 65_499);
        assert_eq!(datagram_len(10), 46);
    }
}
