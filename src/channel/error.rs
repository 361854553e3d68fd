//! Errors of the framed Noise channel.

use core::fmt;

use crate::error::BufferTooSmall;
use crate::framing::{DecodeError, FillError};
use crate::noise::HandshakeError;
use crate::noise::transport::TransportError;

/// Why bytes received on a [`Channel`](super::Channel) (or a
/// [`Receiver`](super::Receiver)) were refused.
///
/// Every error caused by the peer's bytes is **fatal**: the channel is then
/// closed, every later call returns [`RecvError::Closed`], and the driver
/// must close the connection and never read from it again
/// ([`RecvError::is_fatal`]). The two caller mistakes
/// ([`RecvError::BufferTooSmall`], [`RecvError::BadFill`]) change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvError {
    /// The framing layer refused the stream: a prefix declared a frame above
    /// the cap ([`DecodeError::FrameTooLong`], detected at the prefix, before
    /// any body byte was read) or the stream ended inside a frame
    /// ([`DecodeError::EndedMidFrame`]). Fatal.
    Framing(DecodeError),
    /// A handshake message was refused (forged, corrupted, truncated, for
    /// other keys). Fatal: the handshake cannot continue.
    Handshake(HandshakeError),
    /// A transport message failed authentication (forged, corrupted,
    /// reordered, or truncated). Fatal: the peers' nonces no longer agree.
    Transport(TransportError),
    /// The peer's static key is not the one required with
    /// [`Channel::require_remote_static`](super::Channel::require_remote_static)
    /// (or its ML-KEM key is not the one required with
    /// `require_remote_static_kem`, or the pattern never revealed a pinned
    /// key). Fatal.
    UnexpectedPeer,
    /// The stream ended before the handshake finished. Fatal.
    EndedInHandshake,
    /// The plaintext buffer is shorter than
    /// [`Channel::max_payload_len`](super::Channel::max_payload_len); nothing
    /// was consumed. Pass a larger buffer.
    BufferTooSmall(BufferTooSmall),
    /// [`Channel::handle_filled`](super::Channel::handle_filled) was told of
    /// more bytes than [`Channel::read_buffer`](super::Channel::read_buffer)
    /// offered; nothing changed (a driver bug).
    BadFill(FillError),
    /// An earlier fatal error (or the end of the stream) closed the receiving
    /// side; close the connection.
    Closed,
}

impl RecvError {
    /// Whether this error closed the channel (every error except
    /// [`RecvError::BufferTooSmall`] and [`RecvError::BadFill`], which change
    /// nothing).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, RecvError::BufferTooSmall(_) | RecvError::BadFill(_))
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Framing(e) => write!(f, "framing error, connection closed: {e}"),
            RecvError::Handshake(e) => {
                write!(f, "handshake message refused, connection closed: {e}")
            }
            RecvError::Transport(e) => {
                write!(f, "transport message refused, connection closed: {e}")
            }
            RecvError::UnexpectedPeer => f.write_str(
                "the peer's static key is not the required one; connection closed (check the pinned key)",
            ),
            RecvError::EndedInHandshake => {
                f.write_str("the stream ended before the Noise handshake finished")
            }
            RecvError::BufferTooSmall(e) => write!(
                f,
                "plaintext buffer too small, nothing consumed: {e}; pass at least max_payload_len() bytes"
            ),
            RecvError::BadFill(e) => write!(f, "driver bug, nothing changed: {e}"),
            RecvError::Closed => f.write_str(
                "the channel was closed by an earlier error or the end of the stream; close the connection",
            ),
        }
    }
}

impl core::error::Error for RecvError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            RecvError::Framing(e) => Some(e),
            RecvError::Handshake(e) => Some(e),
            RecvError::Transport(e) => Some(e),
            RecvError::BufferTooSmall(e) => Some(e),
            RecvError::BadFill(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a message could not be written. Nothing was written and the channel
/// is unchanged, except after [`SendError::Closed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// Transport messages can only be sent once the handshake is finished
    /// ([`Channel::is_established`](super::Channel::is_established)).
    NotEstablished,
    /// The output buffer is too small for the frame (prefix, message, tag).
    BufferTooSmall(BufferTooSmall),
    /// The payload is longer than one Noise message can carry
    /// ([`MAX_PAYLOAD_LEN`](super::MAX_PAYLOAD_LEN) for a transport message);
    /// split it.
    PayloadTooLong {
        /// The payload's length.
        len: usize,
        /// The most one message can carry.
        max: usize,
    },
    /// The handshake could not write its next message (for example a key the
    /// pattern needs was not given to the builder). The channel is closed.
    Handshake(HandshakeError),
    /// The transport refused (its nonces are exhausted: open a new channel).
    Transport(TransportError),
    /// The channel was closed by an earlier fatal error; close the connection.
    Closed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotEstablished => {
                f.write_str("the Noise handshake is not finished; send after it is established")
            }
            SendError::BufferTooSmall(e) => {
                write!(f, "output buffer too small, nothing written: {e}")
            }
            SendError::PayloadTooLong { len, max } => write!(
                f,
                "payload of {len} bytes exceeds the {max} bytes one Noise message carries; split it"
            ),
            SendError::Handshake(e) => {
                write!(f, "cannot write the next handshake message: {e}")
            }
            SendError::Transport(e) => write!(f, "cannot send: {e}"),
            SendError::Closed => {
                f.write_str("the channel was closed by an earlier error; close the connection")
            }
        }
    }
}

impl core::error::Error for SendError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SendError::BufferTooSmall(e) => Some(e),
            SendError::Handshake(e) => Some(e),
            SendError::Transport(e) => Some(e),
            _ => None,
        }
    }
}
