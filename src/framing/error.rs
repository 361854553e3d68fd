//! Errors of the framing machine, one enum per operation.

use core::fmt;

use crate::error::{BufferTooSmall, Truncated};

/// [`Decoder::new`](super::Decoder::new) refused the configuration.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The storage cannot hold a frame of `max_frame_len` bytes.
    ///
    /// Pass storage of at least `needed` bytes, or lower
    /// [`Config::max_frame_len`](super::Config::max_frame_len).
    StorageTooSmall {
        /// Bytes the storage needs (the configured maximum frame length).
        needed: u32,
        /// Bytes the storage has.
        available: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::StorageTooSmall { needed, available } => write!(
                f,
                "frame storage too small: max_frame_len is {needed} bytes but the storage has {available}; \
                 pass larger storage or lower max_frame_len"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

/// The byte stream given to [`Decoder::handle_input`](super::Decoder::handle_input)
/// cannot be decoded.
///
/// Every variant is fatal: the decoder is closed and returns
/// [`DecodeError::Closed`] from then on. The stream is out of sync, so the
/// caller MUST close the connection (optionally after telling the peer why).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A length prefix declared a frame longer than
    /// [`Config::max_frame_len`](super::Config::max_frame_len).
    ///
    /// Detected as soon as the 4 prefix bytes were read; no body byte was
    /// consumed or stored. Close the connection.
    FrameTooLong {
        /// The length the prefix declared.
        declared: u32,
        /// The configured maximum.
        max: u32,
    },
    /// [`Decoder::handle_eof`](super::Decoder::handle_eof) was called in the
    /// middle of a frame: the stream ended with an incomplete frame, which is
    /// dropped, not handed out truncated.
    EndedMidFrame {
        /// Bytes of the incomplete frame received, prefix included.
        received: usize,
        /// Bytes the complete frame would have had, prefix included (4 if the
        /// prefix itself was incomplete).
        expected: usize,
    },
    /// The storage's `AsMut<[u8]>` returned a shorter slice than it did when
    /// the decoder was built. This is a bug in the storage type; the frame in
    /// progress is lost.
    StorageChanged,
    /// The decoder already failed (or saw the end of the stream) and accepts
    /// no more input. Close the connection.
    Closed,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::FrameTooLong { declared, max } => write!(
                f,
                "frame length prefix declares {declared} bytes, more than the maximum of {max}; close the connection"
            ),
            DecodeError::EndedMidFrame { received, expected } => write!(
                f,
                "stream ended inside a frame ({received} of {expected} bytes received); the partial frame is dropped"
            ),
            DecodeError::StorageChanged => f.write_str(
                "frame storage shrank after the decoder was built (AsMut returned a shorter slice); close the connection",
            ),
            DecodeError::Closed => f.write_str(
                "decoder is closed after an earlier error or end of stream; close the connection",
            ),
        }
    }
}

impl core::error::Error for DecodeError {}

/// [`Decoder::handle_filled`](super::Decoder::handle_filled) was told more
/// bytes were filled than [`Decoder::body_remaining_mut`](super::Decoder::body_remaining_mut)
/// offered. A driver bug; the decoder is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillError {
    /// Bytes the caller reported as filled.
    pub filled: usize,
    /// Bytes the body still needed (0 if no body was in progress).
    pub remaining: usize,
}

impl fmt::Display for FillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes reported filled but the frame body needed only {}; \
             fill at most body_remaining_mut().len() bytes",
            self.filled, self.remaining
        )
    }
}

impl core::error::Error for FillError {}

/// [`Encoder`](super::Encoder) could not write a frame. Nothing was written.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The body is longer than [`Config::max_frame_len`](super::Config::max_frame_len)
    /// (or than `u32::MAX`). Split the message or raise the maximum on both peers.
    FrameTooLong {
        /// Length of the body that was to be framed.
        len: usize,
        /// The configured maximum.
        max: u32,
    },
    /// The output buffer cannot hold the prefix (and body); it is untouched.
    BufferTooSmall(BufferTooSmall),
}

impl From<BufferTooSmall> for EncodeError {
    fn from(e: BufferTooSmall) -> Self {
        EncodeError::BufferTooSmall(e)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::FrameTooLong { len, max } => write!(
                f,
                "frame body of {len} bytes exceeds the maximum of {max}; nothing was written, split the message"
            ),
            EncodeError::BufferTooSmall(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            EncodeError::BufferTooSmall(e) => Some(e),
            EncodeError::FrameTooLong { .. } => None,
        }
    }
}

/// A header field that a message type does not use (and that must be zero).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderField {
    /// The sender index (bytes 4..8).
    SenderIndex,
    /// The receiver index (bytes 8..12).
    ReceiverIndex,
    /// The counter (bytes 12..20).
    Counter,
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderField::SenderIndex => "sender index",
            HeaderField::ReceiverIndex => "receiver index",
            HeaderField::Counter => "counter",
        })
    }
}

/// A datagram header could not be parsed. Drop the datagram.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The datagram is shorter than [`HEADER_LEN`](crate::link::wire::HEADER_LEN).
    Truncated(Truncated),
    /// The version byte is not [`VERSION`](crate::link::wire::VERSION).
    UnknownVersion(u8),
    /// The message type byte names no known message type.
    UnknownType(u8),
    /// The reserved bytes (2..4) are not zero.
    ReservedNotZero(u16),
    /// A field this message type does not use is not zero.
    UnusedFieldNotZero(HeaderField),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Truncated(t) => write!(
                f,
                "datagram header truncated: {} bytes needed, {} present; drop the datagram",
                t.needed, t.available
            ),
            HeaderError::UnknownVersion(v) => {
                write!(f, "unknown datagram header version {v}; drop the datagram")
            }
            HeaderError::UnknownType(t) => {
                write!(f, "unknown datagram message type {t}; drop the datagram")
            }
            HeaderError::ReservedNotZero(r) => write!(
                f,
                "datagram header reserved bytes are {r:#06x}, must be zero; drop the datagram"
            ),
            HeaderError::UnusedFieldNotZero(field) => write!(
                f,
                "datagram header {field} is unused by this message type and must be zero; drop the datagram"
            ),
        }
    }
}

impl core::error::Error for HeaderError {}
