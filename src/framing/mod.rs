//! Stream framing and the datagram header codec.
//!
//! # Stream framing
//!
//! A frame on a byte stream is a 4-byte big-endian unsigned length followed by
//! that many body bytes; a Python peer writes `struct.pack('>I', n) + body`.
//! Zero-length frames are legal. The body length excludes the prefix.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | body length `n`, big-endian `u32`, at most [`Config::max_frame_len`] |
//! | 4 | `n` | body |
//!
//! * [`Decoder`]: incremental, sans-IO, allocation-free. Fed arbitrary chunks,
//!   it hands out frames zero-copy when they lie in the input and accumulates
//!   split frames in caller storage (`S: AsMut<[u8]>` of at least
//!   `max_frame_len` bytes: a `[u8; N]` in firmware, a `Vec<u8>` with std).
//!   While a large body is in progress, a driver may read from its transport
//!   straight into that storage ([`Decoder::body_remaining_mut`],
//!   [`Decoder::handle_filled`]) and so copy each byte only once.
//! * [`Encoder`]: writes prefixes (and bodies) into caller buffers.
//! * [`Config::max_frame_len`] bounds both; the default is
//!   [`DEFAULT_MAX_FRAME_LEN`] = 64 KiB. A longer declared length is rejected
//!   as soon as the prefix is read ([`DecodeError::FrameTooLong`]), and the
//!   decoder is then closed: the caller MUST close the connection.
//!
//! The framing machine has no timers, so it takes no `now`; its one input is
//! [`Decoder::handle_input`], which returns the next frame directly because a
//! zero-copy frame borrows the input and so cannot wait in a queue for a later
//! `poll_*` call.
//!
//! ```
//! use hyperport::framing::{Config, Decoder, Encoder};
//!
//! let config = Config::new().with_max_frame_len(1024);
//! let encoder = Encoder::new(config);
//! let mut wire = [0u8; 64];
//! let mut n = 0;
//! for body in [&b"hello"[..], b"", b"world"] {
//!     n += encoder.encode_frame(body, &mut wire[n..])?;
//! }
//!
//! let mut decoder = Decoder::new(config, [0u8; 1024])?;
//! let mut frames = 0;
//! for chunk in wire[..n].chunks(3) {
//!     let mut input = chunk;
//!     while let Some(frame) = decoder.handle_input(&mut input)? {
//!         assert_eq!(frame, [&b"hello"[..], b"", b"world"][frames]);
//!         frames += 1;
//!     }
//! }
//! assert_eq!(frames, 3);
//! decoder.handle_eof()?; // the stream ended on a frame boundary
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Datagram header
//!
//! The fixed-size header of the UDP link (version, message type, session
//! indices, the counter that carries the Noise explicit nonce) now lives in
//! [`crate::link::wire`], where the whole packet layout is documented once;
//! [`datagram`] re-exports it for existing users.

mod config;
mod decoder;
mod encoder;
mod error;

pub use config::{Config, DEFAULT_MAX_FRAME_LEN};
pub use decoder::Decoder;
pub use encoder::Encoder;
pub use error::{ConfigError, DecodeError, EncodeError, FillError, HeaderError, HeaderField};

/// The datagram header codec, moved to [`crate::link::wire`] (the packet
/// layout is documented there, in the [`link`](crate::link#packet-layout)
/// module docs); re-exported here unchanged.
pub mod datagram {
    pub use crate::link::wire::{HEADER_LEN, Header, MessageType, Repr, VERSION};
}

/// Length of the frame length prefix: 4 bytes, a big-endian `u32`.
pub const PREFIX_LEN: usize = 4;
