//! Noise streams over any `AsyncRead + AsyncWrite` (TCP first): the tokio
//! driver of [`Channel`].
//!
//! The wire is the channel's: every frame is a 4-byte big-endian length and
//! one Noise message (handshake or transport, at most 65,535 bytes). This
//! module adds no protocol of its own: it pumps bytes between the socket and
//! the machine, bounds the handshake with a deadline, and turns what the
//! machine says into typed errors.
//!
//! * [`connect`] / [`accept`] run the handshake (any pattern: the caller
//!   builds the [`HandshakeState`] with [`noise::Builder`](crate::noise::Builder))
//!   under [`StreamConfig::handshake_timeout`] (tokio time, so paused-time
//!   tests work); [`connect_tcp`] also dials, under the same deadline. A peer
//!   that connects and stays silent is dropped at the deadline. This side's
//!   handshake payloads are empty and the peer's are discarded (the
//!   transport carries the application's data).
//! * Then a [`NoiseStream`]: a message API ([`NoiseStream::send`],
//!   [`NoiseStream::recv`], with backpressure: `send` returns once the
//!   frame is written to the transport) that can be split into a
//!   [`NoiseSender`] and a [`NoiseReceiver`] for two tasks, or a byte-stream
//!   view ([`NoiseByteStream`], `AsyncRead` +
//!   `AsyncWrite`).
//! * Reads go incrementally into the channel: a frame's declared length is
//!   checked against the cap at the prefix and nothing is committed for it;
//!   large bodies are read straight into the channel's storage.
//! * **Failure is final.** A framing error, a refused handshake message, a
//!   failed decryption, a peer key other than the pinned one
//!   ([`StreamConfig::require_remote_static`]), an I/O error or a timeout
//!   closes the stream: that call returns the typed error, every later call
//!   returns [`StreamError::Closed`] and the transport is never read from
//!   again (drop the stream to close the socket). Both halves of a split
//!   stream share this state.
//! * Every I/O error is counted ([`StreamStats`]) and reported as a
//!   `tracing` event, besides being returned.
//!
//! # Memory
//!
//! Per stream: the receive storage (`max_frame_len`, default 65,535 bytes),
//! the read buffer (`read_buffer_len`, default 64 KiB), the send queue
//! (two frames: `2 * (max_frame_len + 4)` bytes) and a plaintext buffer of
//! `max_frame_len - 16` bytes: about 320 KiB with the defaults. Nothing
//! grows with what the peer sends. (Received messages are handed out as
//! `Bytes` split off the plaintext buffer; while the application holds
//! them, the next messages go to a fresh buffer.)
//!
//! # Sending
//!
//! Sealed frames queue in the send buffer: [`NoiseStream::feed`] writes
//! them to the transport once a frame's worth (64 KiB by default) is
//! queued, [`NoiseStream::flush`] writes everything, [`NoiseStream::send`]
//! is `feed` + `flush`. So a burst of small messages shares write calls,
//! and a single message goes out at once with `send`.
//!
//! # Cancellation
//!
//! [`NoiseStream::recv`] is cancel-safe (a partial frame stays in the
//! stream). A cancelled `send`/`feed` may or may not have sent its message;
//! a frame that was started is always completed by the next `send`,
//! `feed`, `flush` or `close`, so the stream never carries half a frame
//! followed by another. So a caller can race any call against its own
//! cancellation token.

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::boxed::Box;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use std::vec;
use std::vec::Vec;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::time::{Instant, Sleep};

use crate::channel::{
    self, Channel, Incoming, MAX_MESSAGE_LEN, PREFIX_LEN, RecvError, SendError, TAG_LEN,
};
use crate::crypto::Provider;
use crate::crypto::x25519::KEY_LEN;
use crate::noise::HandshakeState;

/// Default [`StreamConfig::handshake_timeout`]: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`StreamConfig::write_timeout`]: 30 seconds without progress.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`StreamConfig::read_buffer_len`]: 64 KiB.
pub const DEFAULT_READ_BUFFER_LEN: usize = 64 * 1024;
/// Smallest accepted [`StreamConfig::max_frame_len`] (256 bytes: every
/// handshake message of the 25519 patterns with empty payloads fits).
pub const MIN_FRAME_LEN: usize = 256;
/// At most this many reads per poll of a receive (bounded work per
/// wake-up); past it the task yields and is woken again at once.
pub const MAX_READS_PER_POLL: usize = 16;
/// While a frame body has at least this many bytes to come, it is read
/// straight into the channel's storage instead of through the read buffer.
pub const DIRECT_READ_MIN: usize = 4096;

/// Options of a Noise stream. Both sides of a connection must agree on
/// `max_frame_len` (out of band: a smaller receiver refuses larger frames
/// at the prefix).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Deadline of the whole handshake (and of the TCP connect in
    /// [`connect_tcp`]). Default [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// The frame cap, both ways: received frames declaring more are refused
    /// at the prefix (fatal), and sent messages carry at most
    /// `max_frame_len - 16` bytes of payload. From [`MIN_FRAME_LEN`] to
    /// 65,535 (the default, the largest Noise message). Memory: see the
    /// module docs.
    pub max_frame_len: usize,
    /// Bytes read from the transport per read call between frames and for
    /// small frames. Default [`DEFAULT_READ_BUFFER_LEN`]; at least 64.
    pub read_buffer_len: usize,
    /// A write that makes no progress for this long closes the stream with
    /// [`StreamError::WriteTimeout`] (a peer that stopped reading). `None`:
    /// wait forever. Default `Some(`[`DEFAULT_WRITE_TIMEOUT`]`)`.
    pub write_timeout: Option<Duration>,
    /// A receive that gets no bytes for this long closes the stream with
    /// [`StreamError::IdleTimeout`]. `None` (the default): wait forever
    /// (race `recv` against your own deadline or cancellation instead).
    pub idle_timeout: Option<Duration>,
    /// Pins the peer: the handshake fails with
    /// [`RecvError::UnexpectedPeer`] unless the peer proves this static
    /// key. Default `None`.
    pub require_remote_static: Option<[u8; KEY_LEN]>,
    /// Pins the peer's static ML-KEM-768 public key (`hybrid*` and `pq*`
    /// patterns; feature `mlkem`), as
    /// [`require_remote_static`](Self::require_remote_static) does the
    /// X25519 key (see [`Channel::require_remote_static_kem`]). In a hybrid
    /// pattern pin both. Default `None`.
    #[cfg(feature = "mlkem")]
    pub require_remote_static_kem: Option<crate::crypto::mlkem::PublicKey>,
}

impl StreamConfig {
    /// The defaults.
    pub fn new() -> Self {
        StreamConfig {
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_frame_len: MAX_MESSAGE_LEN,
            read_buffer_len: DEFAULT_READ_BUFFER_LEN,
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            idle_timeout: None,
            require_remote_static: None,
            #[cfg(feature = "mlkem")]
            require_remote_static_kem: None,
        }
    }

    /// Sets [`StreamConfig::handshake_timeout`].
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`StreamConfig::max_frame_len`].
    #[must_use]
    pub fn with_max_frame_len(mut self, len: usize) -> Self {
        self.max_frame_len = len;
        self
    }

    /// Sets [`StreamConfig::read_buffer_len`].
    #[must_use]
    pub fn with_read_buffer_len(mut self, len: usize) -> Self {
        self.read_buffer_len = len;
        self
    }

    /// Sets [`StreamConfig::write_timeout`].
    #[must_use]
    pub fn with_write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`StreamConfig::idle_timeout`].
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`StreamConfig::require_remote_static`].
    #[must_use]
    pub fn require_remote_static(mut self, key: [u8; KEY_LEN]) -> Self {
        self.require_remote_static = Some(key);
        self
    }

    /// Sets [`StreamConfig::require_remote_static_kem`] (feature `mlkem`).
    #[cfg(feature = "mlkem")]
    #[must_use]
    pub fn require_remote_static_kem(mut self, key: crate::crypto::mlkem::PublicKey) -> Self {
        self.require_remote_static_kem = Some(key);
        self
    }

    fn check(&self) -> Result<(), StreamError> {
        if !(MIN_FRAME_LEN..=MAX_MESSAGE_LEN).contains(&self.max_frame_len) {
            return Err(StreamError::InvalidConfig(
                "max_frame_len must be between MIN_FRAME_LEN (256) and 65535",
            ));
        }
        if self.read_buffer_len < 64 {
            return Err(StreamError::InvalidConfig(
                "read_buffer_len must be at least 64",
            ));
        }
        Ok(())
    }
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a Noise stream operation failed. [`StreamError::is_fatal`] tells
/// whether the stream is now closed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// The channel refused received bytes: a frame over the cap, a refused
    /// handshake message, a failed decryption, an unexpected peer key, the
    /// stream ending inside the handshake or a frame. Fatal.
    Recv(RecvError),
    /// The channel could not send (nonces exhausted, handshake write
    /// failure). Fatal.
    Send(SendError),
    /// The transport failed. Fatal (counted in [`StreamStats`]).
    Io(io::Error),
    /// The handshake did not finish within
    /// [`StreamConfig::handshake_timeout`]; the connection was dropped.
    HandshakeTimeout {
        /// The timeout.
        after: Duration,
    },
    /// A write made no progress for [`StreamConfig::write_timeout`]. Fatal.
    WriteTimeout {
        /// The timeout.
        after: Duration,
    },
    /// No bytes arrived for [`StreamConfig::idle_timeout`]. Fatal.
    IdleTimeout {
        /// The timeout.
        after: Duration,
    },
    /// The message is longer than the stream's
    /// [`NoiseStream::max_message_len`]; nothing was sent. Not fatal.
    MessageTooLong {
        /// The message's length.
        len: usize,
        /// The largest accepted.
        max: usize,
    },
    /// [`connect`] was given a responder's handshake, or [`accept`] an
    /// initiator's. Nothing was sent.
    WrongRole {
        /// Whether the handshake state given was the initiator's.
        initiator: bool,
    },
    /// The [`StreamConfig`] is out of range (the message says which field).
    InvalidConfig(&'static str),
    /// An earlier fatal error, or [`NoiseStream::close`], closed the stream;
    /// drop it (closing the socket).
    Closed,
}

impl StreamError {
    /// Whether the stream is closed after this error (everything except
    /// [`StreamError::MessageTooLong`], [`StreamError::WrongRole`] and
    /// [`StreamError::InvalidConfig`], which change nothing).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            StreamError::MessageTooLong { .. }
                | StreamError::WrongRole { .. }
                | StreamError::InvalidConfig(_)
        )
    }

    /// The `io::ErrorKind` this error maps to in the byte-stream view.
    fn io_kind(&self) -> io::ErrorKind {
        match self {
            StreamError::Io(e) => e.kind(),
            StreamError::Recv(RecvError::EndedInHandshake)
            | StreamError::Recv(RecvError::Framing(crate::framing::DecodeError::EndedMidFrame {
                ..
            })) => io::ErrorKind::UnexpectedEof,
            StreamError::Recv(_) | StreamError::Send(_) => io::ErrorKind::InvalidData,
            StreamError::HandshakeTimeout { .. }
            | StreamError::WriteTimeout { .. }
            | StreamError::IdleTimeout { .. } => io::ErrorKind::TimedOut,
            StreamError::MessageTooLong { .. }
            | StreamError::WrongRole { .. }
            | StreamError::InvalidConfig(_) => io::ErrorKind::InvalidInput,
            StreamError::Closed => io::ErrorKind::NotConnected,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Recv(e) => write!(f, "noise stream: {e}"),
            StreamError::Send(e) => write!(f, "noise stream: {e}"),
            StreamError::Io(e) => write!(f, "noise stream: transport failed, stream closed: {e}"),
            StreamError::HandshakeTimeout { after } => write!(
                f,
                "noise stream: handshake not finished within {after:?}; connection dropped \
                 (peer silent, slow, or not speaking this protocol)"
            ),
            StreamError::WriteTimeout { after } => write!(
                f,
                "noise stream: no write progress for {after:?} (the peer stopped reading); \
                 stream closed"
            ),
            StreamError::IdleTimeout { after } => write!(
                f,
                "noise stream: nothing received for {after:?}; stream closed"
            ),
            StreamError::MessageTooLong { len, max } => write!(
                f,
                "noise stream: message of {len} bytes exceeds the maximum of {max}; \
                 nothing sent: split it"
            ),
            StreamError::WrongRole { initiator: true } => f.write_str(
                "noise stream: accept() needs a responder's handshake (build_responder), \
                 got an initiator's",
            ),
            StreamError::WrongRole { initiator: false } => f.write_str(
                "noise stream: connect() needs an initiator's handshake (build_initiator), \
                 got a responder's",
            ),
            StreamError::InvalidConfig(what) => write!(f, "noise stream: invalid config: {what}"),
            StreamError::Closed => f.write_str(
                "noise stream: closed by an earlier error or close(); drop it and reconnect",
            ),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Recv(e) => Some(e),
            StreamError::Send(e) => Some(e),
            StreamError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StreamError> for io::Error {
    fn from(e: StreamError) -> io::Error {
        match e {
            StreamError::Io(e) => e,
            other => io::Error::new(other.io_kind(), other),
        }
    }
}

/// A snapshot of a stream's counters ([`NoiseStream::stats`]); both halves
/// of a split stream count into the same counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Transport messages sealed and queued for the transport (all of
    /// them are written unless an error closes the stream first).
    pub messages_sent: u64,
    /// Transport messages received and authenticated.
    pub messages_received: u64,
    /// Bytes written to the transport after the handshake (prefixes, tags included).
    pub bytes_sent: u64,
    /// Bytes read from the transport after the handshake.
    pub bytes_received: u64,
    /// Write errors and write timeouts of the transport.
    pub send_errors: u64,
    /// Read errors, idle timeouts, and received bytes the channel refused.
    pub recv_errors: u64,
    /// Whether the stream is closed.
    pub closed: bool,
}

/// State both halves of a stream share.
#[derive(Debug)]
struct Shared {
    closed: AtomicBool,
    messages_sent: AtomicU64,
    messages_received: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    send_errors: AtomicU64,
    recv_errors: AtomicU64,
    remote_static: Option<[u8; KEY_LEN]>,
    handshake_hash: Vec<u8>,
    max_message_len: usize,
}

fn bump(counter: &AtomicU64, by: usize) {
    counter.fetch_add(u64::try_from(by).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl Shared {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    fn stats(&self) -> StreamStats {
        StreamStats {
            messages_sent: self.messages_sent.load(Ordering::Relaxed),
            messages_received: self.messages_received.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            send_errors: self.send_errors.load(Ordering::Relaxed),
            recv_errors: self.recv_errors.load(Ordering::Relaxed),
            closed: self.is_closed(),
        }
    }
}

/// A no-progress deadline with one reusable [`Sleep`]. The sleep is reset
/// only when it fires before the real deadline (progress moved the deadline
/// later meanwhile): at most one timer reset per `limit`, however many
/// writes or reads make progress.
struct ProgressTimer {
    limit: Duration,
    last: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl ProgressTimer {
    fn new(limit: Duration) -> Self {
        let now = Instant::now();
        ProgressTimer {
            limit,
            last: now,
            sleep: Box::pin(tokio::time::sleep_until(deadline_after(now, limit))),
        }
    }

    fn progress(&mut self) {
        self.last = Instant::now();
    }

    /// Called when the I/O is pending: `true` once `limit` passed without
    /// progress; otherwise the waker is registered for the deadline.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = deadline_after(self.last, self.limit);
        // Two rounds at most: a stale (earlier) sleep is reset once.
        for _ in 0..2 {
            match self.sleep.as_mut().poll(cx) {
                Poll::Pending => return false,
                Poll::Ready(()) => {
                    if Instant::now() >= deadline {
                        return true;
                    }
                    self.sleep.as_mut().reset(deadline);
                }
            }
        }
        false
    }
}

/// `now + limit`, or about 30 years from now if that overflows.
fn deadline_after(now: Instant, limit: Duration) -> Instant {
    now.checked_add(limit)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365 * 30)))
        .unwrap_or(now)
}

mod byte_stream;

pub use byte_stream::NoiseByteStream;

// ------------------------------------------------------------------ send

/// The sending state: a buffer of two frames' room where sealed frames
/// queue until a flush, or until a frame's worth is queued (then they are
/// written before `feed` returns: backpressure).
struct SendState<P: Provider> {
    tx: channel::Sender<P>,
    /// `2 * frame_room` bytes; `buf[pos..end]` is queued and not yet written.
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// `PREFIX_LEN + max_frame_len`: the room one frame can take.
    frame_room: usize,
    /// Byte-stream view: plaintext staged at `buf[end + PREFIX_LEN..][..staged]`.
    staged: usize,
    /// A drain is under way (the write timer runs from its start).
    draining: bool,
    timer: Option<ProgressTimer>,
    write_timeout: Option<Duration>,
    /// Set by `close`: no more frames.
    shut: bool,
    shared: Arc<Shared>,
}

impl<P: Provider> SendState<P> {
    fn check_open(&self) -> Result<(), StreamError> {
        if self.shared.is_closed() || self.shut {
            Err(StreamError::Closed)
        } else {
            Ok(())
        }
    }

    fn io_failed(&mut self, e: io::Error) -> StreamError {
        self.shared.close();
        bump(&self.shared.send_errors, 1);
        tracing::warn!(error = %e, "noise stream: write failed; stream closed");
        StreamError::Io(e)
    }

    fn timed_out(&mut self) -> StreamError {
        self.shared.close();
        bump(&self.shared.send_errors, 1);
        let after = self.write_timeout.unwrap_or_default();
        tracing::warn!(
            ?after,
            "noise stream: write made no progress; stream closed"
        );
        StreamError::WriteTimeout { after }
    }

    fn queued(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    /// Writes everything queued.
    fn poll_drain<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), StreamError>> {
        if self.shared.is_closed() {
            return Poll::Ready(Err(StreamError::Closed));
        }
        if self.pos < self.end && !self.draining {
            self.draining = true;
            if let Some(t) = &mut self.timer {
                t.progress();
            }
        }
        while self.pos < self.end {
            let chunk = self.buf.get(self.pos..self.end).unwrap_or(&[]);
            match Pin::new(&mut *io).poll_write(cx, chunk) {
                Poll::Ready(Ok(0)) => {
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    return Poll::Ready(Err(self.io_failed(e)));
                }
                Poll::Ready(Ok(n)) => {
                    self.pos = self.pos.saturating_add(n).min(self.end);
                    bump(&self.shared.bytes_sent, n);
                    if let Some(t) = &mut self.timer {
                        t.progress();
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.io_failed(e))),
                Poll::Pending => {
                    if let Some(t) = &mut self.timer
                        && t.poll_expired(cx)
                    {
                        return Poll::Ready(Err(self.timed_out()));
                    }
                    return Poll::Pending;
                }
            }
        }
        self.draining = false;
        if self.staged == 0 {
            // Staged plaintext (byte view) stays where it is until sealed.
            self.pos = 0;
            self.end = 0;
        }
        Poll::Ready(Ok(()))
    }

    fn max_message_len(&self) -> usize {
        self.shared.max_message_len
    }

    fn fail_send(&mut self, e: SendError) -> StreamError {
        self.shared.close();
        tracing::warn!(error = %e, "noise stream: cannot send; stream closed");
        StreamError::Send(e)
    }

    /// Seals `msg` into the queue, which has room for it.
    fn queue_message(&mut self, msg: &[u8]) -> Result<(), StreamError> {
        let dst = self.buf.get_mut(self.end..).unwrap_or(&mut []);
        match self.tx.write_message(msg, dst) {
            Ok(n) => {
                self.end = self.end.saturating_add(n);
                bump(&self.shared.messages_sent, 1);
                Ok(())
            }
            Err(e) => Err(self.fail_send(e)),
        }
    }

    /// Whether the queue has room for a whole frame (or the staging area)
    /// after what is queued.
    fn has_frame_room(&self) -> bool {
        self.end.saturating_add(self.frame_room) <= self.buf.len()
    }

    /// Byte-stream view: copies as much of `data` as fits into the staged
    /// payload; returns how much. Needs [`has_frame_room`](Self::has_frame_room)
    /// when nothing is staged yet.
    fn stage(&mut self, data: &[u8]) -> usize {
        let max = self.max_message_len();
        let start = self
            .end
            .saturating_add(PREFIX_LEN)
            .saturating_add(self.staged);
        let room = max.saturating_sub(self.staged);
        let k = room.min(data.len());
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(start..start.saturating_add(k)),
            data.get(..k),
        ) {
            dst.copy_from_slice(src);
            self.staged = self.staged.saturating_add(k);
            k
        } else {
            0
        }
    }

    fn staged_full(&self) -> bool {
        self.staged >= self.max_message_len()
    }

    /// Byte-stream view: seals the staged payload in place as one frame at
    /// the end of the queue.
    fn seal_staged(&mut self) -> Result<(), StreamError> {
        if self.staged == 0 {
            return Ok(());
        }
        let dst = self.buf.get_mut(self.end..).unwrap_or(&mut []);
        match self.tx.write_message_in_place(dst, self.staged) {
            Ok(n) => {
                self.staged = 0;
                self.end = self.end.saturating_add(n);
                bump(&self.shared.messages_sent, 1);
                Ok(())
            }
            Err(e) => Err(self.fail_send(e)),
        }
    }

    fn poll_flush<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), StreamError>> {
        if self.staged > 0 && !self.shared.is_closed() {
            self.seal_staged()?;
        }
        match self.poll_drain(io, cx) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        match Pin::new(&mut *io).poll_flush(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.io_failed(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_close<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), StreamError>> {
        if !self.shut {
            match self.poll_flush(io, cx) {
                Poll::Ready(Ok(())) => self.shut = true,
                other => return other,
            }
        }
        match Pin::new(&mut *io).poll_shutdown(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.io_failed(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Seals `msg` into the queue; writes the queue first if it has no room,
    /// and after, once a frame's worth is queued.
    async fn feed<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        msg: &[u8],
    ) -> Result<(), StreamError> {
        self.check_open()?;
        let max = self.max_message_len();
        if msg.len() > max {
            return Err(StreamError::MessageTooLong {
                len: msg.len(),
                max,
            });
        }
        if !self.has_frame_room() {
            poll_fn(|cx| self.poll_drain(io, cx)).await?;
        }
        self.queue_message(msg)?;
        if self.queued() >= self.frame_room {
            poll_fn(|cx| self.poll_drain(io, cx)).await?;
        }
        Ok(())
    }
}

// --------------------------------------------------------------- receive

/// The receiving state: the channel's receiving half, a read buffer and the
/// plaintext buffer messages are split off.
struct RecvState<P: Provider> {
    rx: channel::Receiver<P, Vec<u8>>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    plain: BytesMut,
    max_payload: usize,
    /// Transport messages that arrived with the last handshake frame.
    early: Option<Bytes>,
    /// The peer ended the stream on a frame boundary.
    ended: bool,
    timer: Option<ProgressTimer>,
    idle_timeout: Option<Duration>,
    shared: Arc<Shared>,
}

impl<P: Provider> RecvState<P> {
    fn prepare_plain(&mut self) {
        if self.plain.len() < self.max_payload {
            self.plain.resize(self.max_payload, 0);
        }
    }

    fn take(&mut self, len: usize) -> Bytes {
        bump(&self.shared.messages_received, 1);
        self.plain.split_to(len.min(self.plain.len())).freeze()
    }

    fn fail(&mut self, e: RecvError) -> StreamError {
        if e.is_fatal() {
            self.shared.close();
            bump(&self.shared.recv_errors, 1);
            tracing::debug!(error = %e, "noise stream: received bytes refused; stream closed");
        }
        StreamError::Recv(e)
    }

    fn io_failed(&mut self, e: io::Error) -> StreamError {
        self.shared.close();
        bump(&self.shared.recv_errors, 1);
        tracing::warn!(error = %e, "noise stream: read failed; stream closed");
        StreamError::Io(e)
    }

    fn on_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, StreamError>> {
        if let Some(t) = &mut self.timer
            && t.poll_expired(cx)
        {
            self.shared.close();
            bump(&self.shared.recv_errors, 1);
            let after = self.idle_timeout.unwrap_or_default();
            tracing::debug!(?after, "noise stream: idle timeout; stream closed");
            return Poll::Ready(Err(StreamError::IdleTimeout { after }));
        }
        Poll::Pending
    }

    fn on_read(&mut self, n: usize) {
        bump(&self.shared.bytes_received, n);
        if let Some(t) = &mut self.timer {
            t.progress();
        }
    }

    fn on_eof(&mut self) -> Poll<Result<Option<Bytes>, StreamError>> {
        match self.rx.handle_eof() {
            Ok(()) => {
                self.ended = true;
                Poll::Ready(Ok(None))
            }
            Err(e) => Poll::Ready(Err(self.fail(e))),
        }
    }

    /// The next message, `None` once the peer ended the stream cleanly.
    fn poll_recv<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, StreamError>> {
        if self.shared.is_closed() {
            return Poll::Ready(Err(StreamError::Closed));
        }
        if let Some(m) = self.early.take() {
            return Poll::Ready(Ok(Some(m)));
        }
        if self.ended {
            return Poll::Ready(Ok(None));
        }
        for _ in 0..MAX_READS_PER_POLL {
            // 1. Frames already in the read buffer.
            while self.start < self.end {
                self.prepare_plain();
                let avail = self.buf.get(self.start..self.end).unwrap_or(&[]);
                let mut input = avail;
                let result = self.rx.handle_input(&mut input, &mut self.plain);
                let consumed = avail.len().saturating_sub(input.len());
                self.start = self.start.saturating_add(consumed);
                match result {
                    Ok(Some(Incoming::Message(len))) => {
                        return Poll::Ready(Ok(Some(self.take(len))));
                    }
                    Ok(Some(_)) => {}
                    // The input is used up (a partial frame is in the channel).
                    Ok(None) => self.start = self.end,
                    Err(e) => return Poll::Ready(Err(self.fail(e))),
                }
            }
            self.start = 0;
            self.end = 0;

            // 2. Read: straight into the channel's storage while a large
            // body is in progress, else into the read buffer.
            self.prepare_plain();
            if let Some(dst) = self.rx.read_buffer().filter(|d| d.len() >= DIRECT_READ_MIN) {
                let mut rb = ReadBuf::new(dst);
                match Pin::new(&mut *io).poll_read(cx, &mut rb) {
                    Poll::Pending => return self.on_pending(cx),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(self.io_failed(e))),
                    Poll::Ready(Ok(())) => {}
                }
                let n = rb.filled().len();
                if n == 0 {
                    return self.on_eof();
                }
                self.on_read(n);
                match self.rx.handle_filled(n, &mut self.plain) {
                    Ok(Some(Incoming::Message(len))) => {
                        return Poll::Ready(Ok(Some(self.take(len))));
                    }
                    Ok(_) => {}
                    Err(e) => return Poll::Ready(Err(self.fail(e))),
                }
            } else {
                let mut rb = ReadBuf::new(&mut self.buf);
                match Pin::new(&mut *io).poll_read(cx, &mut rb) {
                    Poll::Pending => return self.on_pending(cx),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(self.io_failed(e))),
                    Poll::Ready(Ok(())) => {}
                }
                let n = rb.filled().len();
                if n == 0 {
                    return self.on_eof();
                }
                self.on_read(n);
                self.end = n;
            }
        }
        // Bounded work per wake-up: yield, and come back at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// ------------------------------------------------------------- handshake

/// The handshake loop: pumps bytes between `io` and the channel until it is
/// established. Transport bytes that follow the last handshake frame stay in
/// `rd[start..end]`.
async fn drive_handshake<T, P>(
    io: &mut T,
    ch: &mut Channel<P, Vec<u8>>,
    rd: &mut [u8],
    range: &mut (usize, usize),
    out: &mut [u8],
    plain: &mut [u8],
    early: &mut Option<Bytes>,
) -> Result<(), StreamError>
where
    T: AsyncRead + AsyncWrite + Unpin,
    P: Provider,
{
    use tokio::io::AsyncReadExt as _;
    loop {
        let mut wrote = false;
        while let Some(n) = ch.poll_handshake(&[], out).map_err(StreamError::Send)? {
            io.write_all(out.get(..n).unwrap_or(&[]))
                .await
                .map_err(StreamError::Io)?;
            wrote = true;
        }
        if wrote {
            io.flush().await.map_err(StreamError::Io)?;
        }
        if ch.is_established() {
            return Ok(());
        }
        if range.0 >= range.1 {
            let n = io.read(rd).await.map_err(StreamError::Io)?;
            if n == 0 {
                return match ch.handle_eof() {
                    Err(e) => Err(StreamError::Recv(e)),
                    Ok(()) => Err(StreamError::Recv(RecvError::EndedInHandshake)),
                };
            }
            *range = (0, n);
        }
        let avail = rd.get(range.0..range.1).unwrap_or(&[]);
        let mut input = avail;
        let result = ch.handle_input(&mut input, plain);
        let consumed = avail.len().saturating_sub(input.len());
        range.0 = range.0.saturating_add(consumed);
        match result.map_err(StreamError::Recv)? {
            // Back to the top: a reply may be due, or the handshake is done.
            Some(Incoming::HandshakePayload(_)) => {}
            // Cannot come before the handshake is done (the check at the
            // top returns first); kept for the application if it ever does.
            Some(Incoming::Message(len)) => {
                *early = Some(Bytes::copy_from_slice(plain.get(..len).unwrap_or(&[])));
            }
            None => *range = (0, 0),
        }
    }
}

/// Runs the handshake of `handshake` (an initiator's, built with
/// `noise::Builder::build_initiator`) over `io`, within
/// [`StreamConfig::handshake_timeout`].
///
/// # Errors
/// [`StreamError::HandshakeTimeout`] (the connection is dropped),
/// [`StreamError::Recv`] (refused message, unexpected peer, stream ended),
/// [`StreamError::Io`], [`StreamError::WrongRole`],
/// [`StreamError::InvalidConfig`].
pub fn connect<T, P>(
    io: T,
    handshake: HandshakeState<P>,
    config: &StreamConfig,
) -> impl Future<Output = Result<NoiseStream<T, P>, StreamError>> + use<T, P>
where
    T: AsyncRead + AsyncWrite + Unpin,
    P: Provider,
{
    // The future owns a copy of the config: it borrows nothing.
    let config = config.clone();
    async move {
        if !handshake.is_initiator() {
            return Err(StreamError::WrongRole { initiator: false });
        }
        let deadline = deadline_after(Instant::now(), config.handshake_timeout);
        establish(io, handshake, &config, deadline).await
    }
}

/// Runs the handshake of `handshake` (a responder's, built with
/// `noise::Builder::build_responder`) over `io`, within
/// [`StreamConfig::handshake_timeout`]. A peer that connects and sends
/// nothing is dropped at the deadline.
///
/// # Errors
/// As [`connect`].
pub fn accept<T, P>(
    io: T,
    handshake: HandshakeState<P>,
    config: &StreamConfig,
) -> impl Future<Output = Result<NoiseStream<T, P>, StreamError>> + use<T, P>
where
    T: AsyncRead + AsyncWrite + Unpin,
    P: Provider,
{
    let config = config.clone();
    async move {
        if handshake.is_initiator() {
            return Err(StreamError::WrongRole { initiator: true });
        }
        let deadline = deadline_after(Instant::now(), config.handshake_timeout);
        establish(io, handshake, &config, deadline).await
    }
}

/// Dials `addr` over TCP (no Nagle delay) and runs [`connect`]; the dial
/// and the handshake share one deadline, [`StreamConfig::handshake_timeout`].
///
/// # Errors
/// As [`connect`]; a failed dial is [`StreamError::Io`].
pub fn connect_tcp<A, P>(
    addr: A,
    handshake: HandshakeState<P>,
    config: &StreamConfig,
) -> impl Future<Output = Result<NoiseStream<TcpStream, P>, StreamError>> + use<A, P>
where
    A: ToSocketAddrs,
    P: Provider,
{
    let config = config.clone();
    async move {
        if !handshake.is_initiator() {
            return Err(StreamError::WrongRole { initiator: false });
        }
        let deadline = deadline_after(Instant::now(), config.handshake_timeout);
        let tcp = match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(StreamError::Io(e)),
            Err(_) => {
                return Err(StreamError::HandshakeTimeout {
                    after: config.handshake_timeout,
                });
            }
        };
        tcp.set_nodelay(true).map_err(StreamError::Io)?;
        establish(tcp, handshake, &config, deadline).await
    }
}

async fn establish<T, P>(
    mut io: T,
    handshake: HandshakeState<P>,
    config: &StreamConfig,
    deadline: Instant,
) -> Result<NoiseStream<T, P>, StreamError>
where
    T: AsyncRead + AsyncWrite + Unpin,
    P: Provider,
{
    config.check()?;
    let mut ch = Channel::new(handshake, vec![0u8; config.max_frame_len])
        .map_err(|_| StreamError::InvalidConfig("frame storage"))?;
    if let Some(key) = config.require_remote_static {
        ch.require_remote_static(key);
    }
    #[cfg(feature = "mlkem")]
    if let Some(key) = &config.require_remote_static_kem {
        ch.require_remote_static_kem(key);
    }
    let max_payload = ch.max_payload_len();
    let mut rd = vec![0u8; config.read_buffer_len].into_boxed_slice();
    // The send queue (two frames' room) doubles as the handshake's output.
    let frame_room = PREFIX_LEN.saturating_add(config.max_frame_len);
    let mut out = vec![0u8; frame_room.saturating_mul(2)].into_boxed_slice();
    let mut plain = BytesMut::zeroed(max_payload);
    let mut range = (0usize, 0usize);
    let mut early = None;
    let run = drive_handshake(
        &mut io, &mut ch, &mut rd, &mut range, &mut out, &mut plain, &mut early,
    );
    match tokio::time::timeout_at(deadline, run).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "noise stream: handshake failed; connection dropped");
            return Err(e);
        }
        Err(_) => {
            let after = config.handshake_timeout;
            tracing::debug!(
                ?after,
                "noise stream: handshake timed out; connection dropped"
            );
            return Err(StreamError::HandshakeTimeout { after });
        }
    }
    let shared = Arc::new(Shared {
        closed: AtomicBool::new(false),
        messages_sent: AtomicU64::new(0),
        messages_received: AtomicU64::new(0),
        bytes_sent: AtomicU64::new(0),
        bytes_received: AtomicU64::new(0),
        send_errors: AtomicU64::new(0),
        recv_errors: AtomicU64::new(0),
        remote_static: ch.remote_static().copied(),
        handshake_hash: ch.handshake_hash().unwrap_or(&[]).to_vec(),
        // Both ways the same cap.
        max_message_len: config.max_frame_len.saturating_sub(TAG_LEN),
    });
    let (tx, rx) = ch
        .split()
        .map_err(|_| StreamError::Recv(RecvError::Closed))?;
    let send = SendState {
        tx,
        buf: out,
        pos: 0,
        end: 0,
        frame_room,
        staged: 0,
        draining: false,
        timer: config.write_timeout.map(ProgressTimer::new),
        write_timeout: config.write_timeout,
        shut: false,
        shared: shared.clone(),
    };
    let (start, end) = range;
    let recv = RecvState {
        rx,
        buf: rd,
        start,
        end,
        plain,
        max_payload,
        early,
        ended: false,
        timer: config.idle_timeout.map(ProgressTimer::new),
        idle_timeout: config.idle_timeout,
        shared: shared.clone(),
    };
    tracing::debug!(
        remote = ?shared.remote_static.map(Hex),
        "noise stream established"
    );
    Ok(NoiseStream {
        io,
        send,
        recv,
        shared,
    })
}

/// Lower-case hex for `tracing` fields.
struct Hex([u8; KEY_LEN]);

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- stream

/// An established Noise stream over `T` (module docs): whole messages in,
/// whole messages out.
pub struct NoiseStream<T, P: Provider> {
    io: T,
    send: SendState<P>,
    recv: RecvState<P>,
    shared: Arc<Shared>,
}

// Nothing is pinned structurally: `Unpin` whenever the transport is (the
// crypto provider's key types need not be).
impl<T: Unpin, P: Provider> Unpin for NoiseStream<T, P> {}
impl<W: Unpin, P: Provider> Unpin for NoiseSender<W, P> {}
impl<R: Unpin, P: Provider> Unpin for NoiseReceiver<R, P> {}

impl<T, P: Provider> fmt::Debug for NoiseStream<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoiseStream")
            .field("remote_static", &self.shared.remote_static.map(Hex))
            .field("stats", &self.shared.stats())
            .finish_non_exhaustive()
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, P: Provider> NoiseStream<T, P> {
    /// Sends `msg` as one transport message: [`feed`](Self::feed) then
    /// [`flush`](Self::flush); returns once the frame (and any queued
    /// before it) is written to the transport (backpressure). Cancel-safe
    /// in the sense of the module docs.
    ///
    /// # Errors
    /// [`StreamError::MessageTooLong`] (nothing sent, stream usable); fatal:
    /// [`StreamError::Io`], [`StreamError::WriteTimeout`],
    /// [`StreamError::Send`], [`StreamError::Closed`].
    pub async fn send(&mut self, msg: &[u8]) -> Result<(), StreamError> {
        self.send.feed(&mut self.io, msg).await?;
        poll_fn(|cx| self.send.poll_flush(&mut self.io, cx)).await
    }

    /// Seals `msg` into the send queue without flushing: the queue is
    /// written once a frame's worth is queued (then `feed` waits for the
    /// transport: backpressure) or on [`flush`](Self::flush). For bursts of
    /// small messages; end a burst with `flush`.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn feed(&mut self, msg: &[u8]) -> Result<(), StreamError> {
        self.send.feed(&mut self.io, msg).await
    }

    /// Writes every queued frame and flushes the transport.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn flush(&mut self) -> Result<(), StreamError> {
        poll_fn(|cx| self.send.poll_flush(&mut self.io, cx)).await
    }

    /// The next message; `Ok(None)` once the peer closed its side cleanly
    /// (on a frame boundary). Cancel-safe.
    ///
    /// # Errors
    /// Fatal: [`StreamError::Recv`] (framing error, failed decryption, the
    /// stream ended inside a frame), [`StreamError::Io`],
    /// [`StreamError::IdleTimeout`], [`StreamError::Closed`].
    pub async fn recv(&mut self) -> Result<Option<Bytes>, StreamError> {
        poll_fn(|cx| self.recv.poll_recv(&mut self.io, cx)).await
    }

    /// Flushes, then shuts the sending direction down (TCP FIN). Receiving
    /// still works until the peer closes too; later sends are
    /// [`StreamError::Closed`].
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn close(&mut self) -> Result<(), StreamError> {
        poll_fn(|cx| self.send.poll_close(&mut self.io, cx)).await
    }

    /// Splits the stream into a receiving and a sending half for two tasks,
    /// over [`tokio::io::split`]. For a `TcpStream`,
    /// [`into_split_with`](Self::into_split_with) with
    /// `TcpStream::into_split` avoids `split`'s lock.
    pub fn into_split(
        self,
    ) -> (
        NoiseReceiver<tokio::io::ReadHalf<T>, P>,
        NoiseSender<tokio::io::WriteHalf<T>, P>,
    ) {
        self.into_split_with(tokio::io::split)
    }

    /// The byte-stream view of this stream (`AsyncRead` + `AsyncWrite`).
    pub fn into_byte_stream(self) -> NoiseByteStream<T, P> {
        NoiseByteStream::new(self)
    }
}

impl<T, P: Provider> NoiseStream<T, P> {
    /// Splits the stream with `split_io`, which divides the transport into
    /// a read half and a write half (`TcpStream::into_split`,
    /// `tokio::io::split`).
    pub fn into_split_with<R, W>(
        self,
        split_io: impl FnOnce(T) -> (R, W),
    ) -> (NoiseReceiver<R, P>, NoiseSender<W, P>) {
        let (r, w) = split_io(self.io);
        (
            NoiseReceiver {
                io: r,
                recv: self.recv,
            },
            NoiseSender {
                io: w,
                send: self.send,
            },
        )
    }

    /// The peer's static key (what to pin), if the pattern revealed one.
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.shared.remote_static.as_ref()
    }

    /// The handshake hash (channel binding; equal on both sides).
    pub fn handshake_hash(&self) -> &[u8] {
        &self.shared.handshake_hash
    }

    /// The largest message [`send`](Self::send) accepts (and the largest
    /// this side receives): `max_frame_len - 16`, 65,519 by default.
    pub fn max_message_len(&self) -> usize {
        self.shared.max_message_len
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> StreamStats {
        self.shared.stats()
    }

    /// Whether an error or [`close`](Self::close) closed the stream.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed() || self.send.shut
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

/// The sending half of a [`NoiseStream`] ([`NoiseStream::into_split`]).
pub struct NoiseSender<W, P: Provider> {
    io: W,
    send: SendState<P>,
}

impl<W, P: Provider> fmt::Debug for NoiseSender<W, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoiseSender")
            .field("stats", &self.send.shared.stats())
            .finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin, P: Provider> NoiseSender<W, P> {
    /// See [`NoiseStream::send`].
    ///
    /// # Errors
    /// As [`NoiseStream::send`].
    pub async fn send(&mut self, msg: &[u8]) -> Result<(), StreamError> {
        self.send.feed(&mut self.io, msg).await?;
        poll_fn(|cx| self.send.poll_flush(&mut self.io, cx)).await
    }

    /// See [`NoiseStream::feed`].
    ///
    /// # Errors
    /// As [`NoiseStream::send`].
    pub async fn feed(&mut self, msg: &[u8]) -> Result<(), StreamError> {
        self.send.feed(&mut self.io, msg).await
    }

    /// See [`NoiseStream::flush`].
    ///
    /// # Errors
    /// As [`NoiseStream::send`].
    pub async fn flush(&mut self) -> Result<(), StreamError> {
        poll_fn(|cx| self.send.poll_flush(&mut self.io, cx)).await
    }

    /// See [`NoiseStream::close`].
    ///
    /// # Errors
    /// As [`NoiseStream::send`].
    pub async fn close(&mut self) -> Result<(), StreamError> {
        poll_fn(|cx| self.send.poll_close(&mut self.io, cx)).await
    }
}

impl<W, P: Provider> NoiseSender<W, P> {
    /// See [`NoiseStream::max_message_len`].
    pub fn max_message_len(&self) -> usize {
        self.send.shared.max_message_len
    }

    /// A snapshot of the stream's counters (shared with the receiver).
    pub fn stats(&self) -> StreamStats {
        self.send.shared.stats()
    }

    /// See [`NoiseStream::remote_static`].
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.send.shared.remote_static.as_ref()
    }
}

/// The receiving half of a [`NoiseStream`] ([`NoiseStream::into_split`]).
pub struct NoiseReceiver<R, P: Provider> {
    io: R,
    recv: RecvState<P>,
}

impl<R, P: Provider> fmt::Debug for NoiseReceiver<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoiseReceiver")
            .field("stats", &self.recv.shared.stats())
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin, P: Provider> NoiseReceiver<R, P> {
    /// See [`NoiseStream::recv`].
    ///
    /// # Errors
    /// As [`NoiseStream::recv`].
    pub async fn recv(&mut self) -> Result<Option<Bytes>, StreamError> {
        poll_fn(|cx| self.recv.poll_recv(&mut self.io, cx)).await
    }
}

impl<R, P: Provider> NoiseReceiver<R, P> {
    /// A snapshot of the stream's counters (shared with the sender).
    pub fn stats(&self) -> StreamStats {
        self.recv.shared.stats()
    }

    /// See [`NoiseStream::remote_static`].
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.recv.shared.remote_static.as_ref()
    }

    /// See [`NoiseStream::handshake_hash`].
    pub fn handshake_hash(&self) -> &[u8] {
        &self.recv.shared.handshake_hash
    }
}
