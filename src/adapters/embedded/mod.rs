//! The embedded adapter: a framed Noise [`Channel`] over any
//! [`embedded_io`] byte stream — a UART, an embassy TCP socket, a USB CDC
//! port — blocking ([`FramedNoise`], feature `embedded-io`) or async
//! ([`AsyncFramedNoise`], feature `embedded-io-async`, for embassy and other
//! executors).
//!
//! It owns no protocol logic: the [`Channel`] does the handshake, the
//! framing (4-byte big-endian length prefix, one Noise message per frame)
//! and the transport; the adapter moves bytes between it and the stream,
//! checks the caller's deadline during the handshake, and turns everything
//! into one typed [`Error`] that carries the transport's own error.
//!
//! # Storage
//!
//! Nothing allocates and the adapter holds no buffer of its own (its whole
//! state is the stream, the channel and two flags). The caller provides:
//!
//! * the channel's receive storage (`Channel::new(hs, [0u8; 1024])`): its
//!   length is the frame cap, so 1 KiB of storage means messages of at most
//!   1,024 bytes, payloads of at most 1,008;
//! * a buffer per call: [`FramedNoise::handshake`] takes one of at least
//!   [`Channel::max_payload_len`] bytes that also fits a handshake frame
//!   (100 bytes for `XX` without payloads; [`Channel::handshake_frame_len`]
//!   tells); [`FramedNoise::receive`] writes the plaintext into the
//!   caller's buffer (at least `max_payload_len` bytes);
//!   [`FramedNoise::send`] seals into the caller's output buffer (payload +
//!   [`FRAME_OVERHEAD`](crate::channel::FRAME_OVERHEAD) bytes), and
//!   [`FramedNoise::send_in_place`] seals a payload already placed at
//!   `buf[PREFIX_LEN..]`, so an echo server needs only the channel storage
//!   and one buffer of `cap + 4` bytes (receive into `buf[4..]`, send in
//!   place).
//!
//! # Reading exactly what the channel needs
//!
//! The adapter never reads past the end of the current frame: between
//! frames it reads one byte at a time until the channel has the 4-byte
//! prefix, then reads the body straight into the channel's storage
//! ([`Channel::read_buffer`]). So no bytes of the next frame are ever held in
//! a buffer the caller cannot see, and after [`FramedNoise::into_parts`] the
//! stream is positioned exactly at a frame boundary (or wherever the channel
//! stopped). On a UART, whose reads deliver a byte or two at a time anyway,
//! this costs nothing; on a socket it costs at most four one-byte reads per
//! frame.
//!
//! # The handshake deadline
//!
//! Firmware has no common clock, so the handshake takes a deadline check,
//! `expired: impl FnMut() -> bool`, that the caller builds from whatever
//! clock it has (a SysTick count, `embassy_time::Instant`, a retry counter).
//! It is called before every batch of handshake writes, before every read
//! and after every read that did not complete a frame; once it returns
//! `true` the handshake fails with [`Error::TimedOut`] and the link is
//! closed. A blocking read that never returns cannot be interrupted by a
//! check, so a transport whose peer may go silent needs a read timeout of
//! its own (its error then comes back as [`Error::Read`]). In async code the
//! handshake future can also be wrapped in a timeout
//! (`embassy_time::with_timeout`); see [`AsyncFramedNoise`] for what
//! cancellation does.
//!
//! # Errors and closing
//!
//! Every error the channel calls fatal (a frame over the cap, a refused
//! handshake message, a forged or reordered transport message, the wrong
//! peer, the end of the stream inside the handshake or inside a frame)
//! closes the link, as do [`Error::TimedOut`], a failed write ([`Error::Write`]) and a write
//! of zero bytes (the peer may hold a partial frame): every later call
//! returns [`Error::Closed`], and the caller drops the connection. Caller
//! mistakes ([`Error::NotEstablished`], a buffer too small, a payload too
//! long) change nothing; neither does a failed read ([`Error::Read`]), which
//! can be retried
//! ([`Error::is_fatal`]).
//!
//! # Example (blocking, over a TCP stream on a host)
//!
//! ```no_run
//! # #[cfg(any(feature = "ring", feature = "rustcrypto"))] {
//! use embedded_io_adapters::std::FromStd;
//! use hyperport::adapters::embedded::FramedNoise;
//! use hyperport::channel::Channel;
//! use hyperport::crypto::DefaultProvider as P;
//! use hyperport::crypto::x25519::KeyPair;
//! use hyperport::noise::Builder;
//! use hyperport::rng::SeededRng;
//! use std::time::{Duration, Instant};
//!
//! let mut rng = SeededRng::from_seed([1; 32]); // seed from the OS in production
//! let hs = Builder::from_name("Noise_XX_25519_ChaChaPoly_BLAKE2s")?
//!     .local_static(KeyPair::generate(&mut rng))
//!     .build_initiator::<P>(&mut rng)?;
//! let stream = std::net::TcpStream::connect("127.0.0.1:7000")?;
//! let mut link = FramedNoise::new(FromStd::new(stream), Channel::new(hs, [0u8; 1024])?);
//!
//! let mut buf = [0u8; 1024 + 4];
//! let deadline = Instant::now() + Duration::from_secs(10);
//! link.handshake(&mut buf, || Instant::now() > deadline)?;
//! link.send(b"hello", &mut buf)?;
//! if let Some(n) = link.receive(&mut buf)? {
//!     println!("{:?}", &buf[..n]);
//! }
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "embedded-io-async")]
mod asynch;
mod blocking;

#[cfg(feature = "embedded-io-async")]
pub use asynch::AsyncFramedNoise;
pub use blocking::FramedNoise;

use crate::channel::{Channel, RecvError, SendError};
use crate::crypto::Provider;
use crate::error::BufferTooSmall;
use core::fmt;

/// Why an operation of [`FramedNoise`] / [`AsyncFramedNoise`] failed. `E`
/// is the transport's own error type.
///
/// [`Error::is_fatal`] tells whether the link is closed now (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// Reading from the transport failed, with its own error. Nothing is
    /// lost (the bytes read before stay with the channel) and the link stays
    /// open: the call can be repeated, for example after a read timeout.
    Read(E),
    /// Writing to (or flushing) the transport failed, with its own error.
    /// The link is closed: the peer may hold part of a frame.
    Write(E),
    /// The channel refused what was received: framing (a frame over the
    /// cap, the stream ending inside a frame), a handshake message, a
    /// transport message's authentication, the peer's key, or the stream
    /// ending inside the handshake. Fatal, except
    /// [`RecvError::BufferTooSmall`] (nothing was read).
    Recv(RecvError),
    /// The channel could not seal a message: a buffer too small or a
    /// payload too long (nothing sent, nothing changed), the handshake could
    /// not write, or the nonces are exhausted (fatal).
    Send(SendError),
    /// The handshake's deadline check returned `true`. The link is closed.
    TimedOut,
    /// The transport's `write` accepted no bytes of a non-empty buffer
    /// (`Ok(0)`). The link is closed.
    WriteZero,
    /// A message was sent or received before the handshake finished; nothing
    /// changed. Run [`FramedNoise::handshake`] first.
    NotEstablished,
    /// An earlier fatal error (or a cancelled async write) closed the link;
    /// drop it and the connection.
    Closed,
}

impl<E> Error<E> {
    /// Whether the link is closed after this error (every later call
    /// returns [`Error::Closed`]).
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Read(_) | Error::NotEstablished => false,
            Error::Recv(e) => e.is_fatal(),
            Error::Send(e) => matches!(
                e,
                SendError::Handshake(_) | SendError::Transport(_) | SendError::Closed
            ),
            Error::Write(_) | Error::TimedOut | Error::WriteZero | Error::Closed => true,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read(e) => write!(f, "reading from the transport failed: {e}"),
            Error::Write(e) => write!(
                f,
                "writing to the transport failed, link closed (drop the connection): {e}"
            ),
            Error::Recv(e) => write!(f, "{e}"),
            Error::Send(e) => write!(f, "{e}"),
            Error::TimedOut => f.write_str(
                "the Noise handshake did not finish before the deadline; link closed, drop the connection",
            ),
            Error::WriteZero => f.write_str(
                "the transport accepted no bytes of a write; link closed, drop the connection",
            ),
            Error::NotEstablished => f.write_str(
                "the Noise handshake is not finished; call handshake() before sending or receiving",
            ),
            Error::Closed => f.write_str(
                "the link was closed by an earlier error; drop it and the connection",
            ),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Read(e) | Error::Write(e) => Some(e),
            Error::Recv(e) => Some(e),
            Error::Send(e) => Some(e),
            _ => None,
        }
    }
}

/// The state both adapters share besides the stream: the channel, and
/// whether the adapter itself closed the link (a timeout, a failed or
/// cancelled write) or saw the end of the stream.
struct Link<P: Provider, S> {
    channel: Channel<P, S>,
    /// The adapter closed the link (not the channel: the channel closes
    /// itself on fatal input).
    closed: bool,
    /// A write is under way; still set when an operation starts again, the
    /// previous one was cancelled mid-write (async only).
    writing: bool,
    /// The stream ended on a frame boundary after the handshake: receiving
    /// is over, sending still works.
    ended: bool,
}

impl<P: Provider, S: AsMut<[u8]>> Link<P, S> {
    fn new(channel: Channel<P, S>) -> Self {
        Link {
            channel,
            closed: false,
            writing: false,
            ended: false,
        }
    }

    /// Fails with [`Error::Closed`] if an earlier error closed the link
    /// (a write left half done by a cancelled future closes it now).
    fn check_open<E>(&mut self) -> Result<(), Error<E>> {
        if self.writing {
            self.writing = false;
            self.closed = true;
        }
        if self.closed || self.channel.is_closed() {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Closes the link and returns `e`.
    fn fail<E>(&mut self, e: Error<E>) -> Error<E> {
        self.closed = true;
        e
    }

    /// `plain` must hold any payload before a byte is read: a byte taken
    /// from the stream cannot be given back.
    fn check_plain<E>(&self, plain: &[u8]) -> Result<(), Error<E>> {
        let needed = self.channel.max_payload_len();
        if plain.len() < needed {
            return Err(Error::Recv(RecvError::BufferTooSmall(BufferTooSmall {
                needed,
                available: plain.len(),
            })));
        }
        Ok(())
    }

    /// The end of the stream: a clean end after the handshake (`Ok`), or
    /// the channel's fatal error.
    fn eof<E>(&mut self) -> Result<(), Error<E>> {
        match self.channel.handle_eof() {
            Ok(()) => {
                self.ended = true;
                Ok(())
            }
            Err(e) => Err(recv_error(e)),
        }
    }
}

/// A channel receive error, with the channel's `Closed` as the adapter's.
fn recv_error<E>(e: RecvError) -> Error<E> {
    match e {
        RecvError::Closed => Error::Closed,
        e => Error::Recv(e),
    }
}

/// A channel send error, with the channel's `Closed` as the adapter's.
fn send_error<E>(e: SendError) -> Error<E> {
    match e {
        SendError::Closed => Error::Closed,
        SendError::NotEstablished => Error::NotEstablished,
        e => Error::Send(e),
    }
}
