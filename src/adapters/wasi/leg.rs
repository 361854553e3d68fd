//! [`Leg`]: a [`Channel`] driven over a [`TcpStream`].

use core::fmt;
use core::time::Duration;

use std::vec;
use std::vec::Vec;

use crate::channel::{Channel, Incoming, MAX_FRAME_LEN, PREFIX_LEN, RecvError, SendError};
use crate::crypto::Provider;
use crate::crypto::x25519::KEY_LEN;
use crate::error::BufferTooSmall;

use super::clock::Deadline;
use super::net::{IoError, TcpStream};

/// Timeouts of a [`Leg`]. Every wait of the adapter is bounded by one of
/// them, except the wait for the next message, which is unbounded unless
/// [`idle_timeout`](Config::idle_timeout) is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Time for [`TcpStream::connect`] when opened through
    /// [`Config::connect_deadline`]. Default 10 s.
    pub connect_timeout: Duration,
    /// Time for the whole handshake, from [`Leg::handshake`] to the
    /// established channel: every read and write of the handshake shares this
    /// one deadline. Default 10 s.
    pub handshake_timeout: Duration,
    /// Time for one frame to arrive in full once its first byte has arrived
    /// (a peer that stalls mid-frame is cut off). Default 10 s.
    pub frame_timeout: Duration,
    /// Time [`Leg::recv`] waits for the first byte of the next frame; `None`
    /// (the default) waits as long as it takes. Expiry is not fatal.
    pub idle_timeout: Option<Duration>,
    /// Time for the host to accept one whole frame in [`Leg::send`] (a peer
    /// that stops reading fills the socket buffers). Default 10 s.
    pub write_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The defaults listed on each field.
    pub const fn new() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            frame_timeout: Duration::from_secs(10),
            idle_timeout: None,
            write_timeout: Duration::from_secs(10),
        }
    }

    /// Sets [`connect_timeout`](Config::connect_timeout).
    pub const fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets [`handshake_timeout`](Config::handshake_timeout).
    pub const fn with_handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// Sets [`frame_timeout`](Config::frame_timeout).
    pub const fn with_frame_timeout(mut self, t: Duration) -> Self {
        self.frame_timeout = t;
        self
    }

    /// Sets [`idle_timeout`](Config::idle_timeout).
    pub const fn with_idle_timeout(mut self, t: Option<Duration>) -> Self {
        self.idle_timeout = t;
        self
    }

    /// Sets [`write_timeout`](Config::write_timeout).
    pub const fn with_write_timeout(mut self, t: Duration) -> Self {
        self.write_timeout = t;
        self
    }

    /// A deadline [`connect_timeout`](Config::connect_timeout) from now, for
    /// [`TcpStream::connect`].
    pub fn connect_deadline(&self) -> Deadline {
        Deadline::after(self.connect_timeout)
    }
}

/// Which wait of a [`Leg`] timed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// The handshake did not finish within
    /// [`Config::handshake_timeout`].
    Handshake,
    /// A frame that had begun did not complete within
    /// [`Config::frame_timeout`].
    Frame,
    /// No frame began within [`Config::idle_timeout`].
    Idle,
    /// The host did not take a frame within [`Config::write_timeout`].
    Write,
}

/// Why a [`Leg`] operation failed. [`LegError::is_fatal`] tells whether the
/// connection was closed.
#[derive(Debug)]
#[non_exhaustive]
pub enum LegError {
    /// A wait ran out of time. Fatal except [`Wait::Idle`] (nothing of a
    /// frame had arrived; the caller may wait again or close).
    TimedOut(Wait),
    /// The connection failed (reset, or the peer closed it while we were
    /// writing). Fatal.
    Io(IoError),
    /// The channel refused what arrived: a framing error (a declared length
    /// over the cap, a stream cut mid-frame), a refused handshake message, a
    /// transport message that failed authentication, an unexpected peer key.
    /// Fatal, except [`RecvError::BufferTooSmall`] (nothing was read).
    Recv(RecvError),
    /// The channel could not send: [`SendError::PayloadTooLong`] and
    /// [`SendError::BufferTooSmall`] change nothing; the others are fatal.
    Send(SendError),
    /// An earlier fatal error closed this leg.
    Closed,
}

impl LegError {
    /// Whether the leg closed its connection because of this error (every
    /// later call returns [`LegError::Closed`]).
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::TimedOut(wait) => *wait != Wait::Idle,
            Self::Io(_) | Self::Closed => true,
            Self::Recv(e) => e.is_fatal(),
            Self::Send(e) => !matches!(
                e,
                SendError::PayloadTooLong { .. } | SendError::BufferTooSmall(_)
            ),
        }
    }
}

impl fmt::Display for LegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut(Wait::Handshake) => {
                f.write_str("handshake timed out, connection closed (handshake_timeout)")
            }
            Self::TimedOut(Wait::Frame) => {
                f.write_str("the peer stalled inside a frame, connection closed (frame_timeout)")
            }
            Self::TimedOut(Wait::Idle) => {
                f.write_str("no message within idle_timeout; the leg is still open")
            }
            Self::TimedOut(Wait::Write) => f.write_str(
                "the peer did not take our frame in time, connection closed (write_timeout)",
            ),
            Self::Io(e) => write!(f, "{e}; connection closed"),
            Self::Recv(e) => e.fmt(f),
            Self::Send(e) => e.fmt(f),
            Self::Closed => f.write_str("the leg was closed by an earlier error; open a new one"),
        }
    }
}

impl core::error::Error for LegError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Recv(e) => Some(e),
            Self::Send(e) => Some(e),
            Self::TimedOut(_) | Self::Closed => None,
        }
    }
}

/// What one read step produced.
enum Step {
    /// A whole frame was processed.
    Frame(Incoming),
    /// Bytes of an unfinished frame arrived.
    Partial,
    /// The peer closed its side.
    Eof,
}

/// A framed Noise channel over one TCP connection: the [`Channel`] does the
/// protocol, the leg moves bytes and keeps the time.
///
/// Reads never take a byte past the frame in progress: the prefix is read
/// (at most [`PREFIX_LEN`] bytes), then exactly the body it declares, into
/// the channel's storage ([`Channel::read_buffer`]). A declared length above
/// the cap is refused after the 4 prefix bytes, before any body byte is
/// read.
///
/// Memory: the channel's receive storage `S` (its length is the frame cap)
/// plus one send buffer of [`MAX_FRAME_LEN`] bytes, allocated when the leg
/// is created. Nothing grows after that.
pub struct Leg<P: Provider, S> {
    channel: Channel<P, S>,
    /// `None` once a fatal error closed the connection.
    stream: Option<TcpStream>,
    /// Frames to send; the handshake's received payloads also land here.
    tx: Vec<u8>,
    config: Config,
    /// Prefix bytes of the current frame handed to the channel so far
    /// (0..PREFIX_LEN); the body is tracked by the channel itself.
    prefix_held: usize,
    /// Armed when the first byte of a frame arrives; cleared when the frame
    /// completes.
    frame_deadline: Option<Deadline>,
    /// The peer closed its side between two frames: `recv` returns
    /// `Ok(None)` from now on, sending still works.
    peer_done: bool,
}

impl<P: Provider, S> fmt::Debug for Leg<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leg")
            .field("channel", &self.channel)
            .field("stream", &self.stream)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<P: Provider, S: AsMut<[u8]>> Leg<P, S> {
    /// Runs `channel`'s handshake over `stream` (either role: the channel's
    /// handshake state decides who speaks first) under one deadline of
    /// [`Config::handshake_timeout`]. Payloads the peer sends in handshake
    /// messages are read and dropped.
    ///
    /// # Errors
    /// Any [`LegError`]; the connection is then closed (the stream is shut
    /// down and dropped).
    pub fn handshake(
        stream: TcpStream,
        channel: Channel<P, S>,
        config: &Config,
    ) -> Result<Self, LegError> {
        let mut leg = Self {
            channel,
            stream: Some(stream),
            tx: vec![0; MAX_FRAME_LEN],
            config: *config,
            prefix_held: 0,
            frame_deadline: None,
            peer_done: false,
        };
        match leg.run_handshake() {
            Ok(()) => Ok(leg),
            Err(e) => {
                leg.close();
                Err(e)
            }
        }
    }

    fn run_handshake(&mut self) -> Result<(), LegError> {
        let mut deadline = Deadline::after(self.config.handshake_timeout);
        let stream = self.stream.as_ref().ok_or(LegError::Closed)?;
        loop {
            while let Some(n) = self
                .channel
                .poll_handshake(&[], &mut self.tx)
                .map_err(LegError::Send)?
            {
                let frame = self.tx.get(..n).unwrap_or_default();
                stream
                    .write_all(frame, &mut deadline)
                    .map_err(|e| step_error(e.into(), Wait::Handshake))?;
            }
            if self.channel.is_established() {
                return Ok(());
            }
            // Handshake payloads land in `tx` (free until the next
            // `poll_handshake`) and are dropped.
            match read_step(
                &mut self.channel,
                stream,
                &mut self.prefix_held,
                &mut deadline,
                &mut self.tx,
            )
            .map_err(|e| step_error(e, Wait::Handshake))?
            {
                Step::Frame(_) | Step::Partial => {}
                Step::Eof => {
                    self.channel.handle_eof().map_err(LegError::Recv)?;
                    return Err(LegError::Recv(RecvError::EndedInHandshake));
                }
            }
        }
    }

    /// Encrypts `payload` (at most [`MAX_PAYLOAD_LEN`](crate::channel::MAX_PAYLOAD_LEN)
    /// bytes) as one frame and writes it, waiting at most
    /// [`Config::write_timeout`] for the host to take it.
    ///
    /// # Errors
    /// [`LegError::Send`] (too long: nothing sent, the leg stays open),
    /// [`LegError::TimedOut`]`(`[`Wait::Write`]`)`, [`LegError::Io`],
    /// [`LegError::Closed`].
    pub fn send(&mut self, payload: &[u8]) -> Result<(), LegError> {
        let result = self.send_inner(payload);
        self.check(result)
    }

    fn send_inner(&mut self, payload: &[u8]) -> Result<(), LegError> {
        let stream = self.stream.as_ref().ok_or(LegError::Closed)?;
        let n = self
            .channel
            .write_message(payload, &mut self.tx)
            .map_err(LegError::Send)?;
        let frame = self.tx.get(..n).unwrap_or_default();
        let mut deadline = Deadline::after(self.config.write_timeout);
        stream
            .write_all(frame, &mut deadline)
            .map_err(|e| step_error(e.into(), Wait::Write))
    }

    /// [`send`](Self::send) without the copy: the payload is
    /// `buf[PREFIX_LEN..PREFIX_LEN + payload_len]`, and `buf` must have room
    /// for the frame (`payload_len +`
    /// [`FRAME_OVERHEAD`](crate::channel::FRAME_OVERHEAD) bytes); the frame is
    /// built in place and written from there.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_in_place(&mut self, buf: &mut [u8], payload_len: usize) -> Result<(), LegError> {
        let result = self.send_in_place_inner(buf, payload_len);
        self.check(result)
    }

    fn send_in_place_inner(&mut self, buf: &mut [u8], payload_len: usize) -> Result<(), LegError> {
        let stream = self.stream.as_ref().ok_or(LegError::Closed)?;
        let n = self
            .channel
            .write_message_in_place(buf, payload_len)
            .map_err(LegError::Send)?;
        let frame = buf.get(..n).unwrap_or_default();
        let mut deadline = Deadline::after(self.config.write_timeout);
        stream
            .write_all(frame, &mut deadline)
            .map_err(|e| step_error(e.into(), Wait::Write))
    }

    /// Receives the next message into `plain` (at least
    /// [`max_payload_len`](Self::max_payload_len) bytes long) and returns
    /// its length; `Ok(None)` when the peer closed the connection between
    /// two frames (and on every later call; sending still works until the
    /// leg is closed).
    ///
    /// Waits for the first byte of the next frame at most
    /// [`Config::idle_timeout`], then for the rest of that frame at most
    /// [`Config::frame_timeout`].
    ///
    /// # Errors
    /// [`LegError::Recv`] (a framing error, a message that fails
    /// authentication, the stream cut mid-frame: all fatal; a `plain` that is
    /// too short: nothing read), [`LegError::TimedOut`], [`LegError::Io`],
    /// [`LegError::Closed`].
    pub fn recv(&mut self, plain: &mut [u8]) -> Result<Option<usize>, LegError> {
        let result = self.recv_inner(plain);
        self.check(result)
    }

    fn recv_inner(&mut self, plain: &mut [u8]) -> Result<Option<usize>, LegError> {
        let stream = self.stream.as_ref().ok_or(LegError::Closed)?;
        if self.peer_done {
            return Ok(None);
        }
        // Checked before any byte leaves the socket, so that a short buffer
        // loses nothing (the channel checks again, before consuming).
        let needed = self.channel.max_payload_len();
        if plain.len() < needed {
            return Err(LegError::Recv(RecvError::BufferTooSmall(BufferTooSmall {
                needed,
                available: plain.len(),
            })));
        }
        let mut idle = Deadline::after_opt(self.config.idle_timeout);
        loop {
            let mid_frame = self.prefix_held > 0 || self.channel.read_buffer().is_some();
            let (deadline, wait) = if mid_frame {
                let frame_timeout = self.config.frame_timeout;
                let d = self
                    .frame_deadline
                    .get_or_insert_with(|| Deadline::after(frame_timeout));
                (d, Wait::Frame)
            } else {
                (&mut idle, Wait::Idle)
            };
            match read_step(
                &mut self.channel,
                stream,
                &mut self.prefix_held,
                deadline,
                plain,
            )
            .map_err(|e| step_error(e, wait))?
            {
                Step::Frame(Incoming::Message(n)) => {
                    self.frame_deadline = None;
                    return Ok(Some(n));
                }
                // Not produced once established; nothing to deliver.
                Step::Frame(_) => self.frame_deadline = None,
                Step::Partial => {}
                Step::Eof => {
                    self.channel.handle_eof().map_err(LegError::Recv)?;
                    self.peer_done = true;
                    return Ok(None);
                }
            }
        }
    }

    /// Closes the connection if `result` is a fatal error.
    fn check<T>(&mut self, result: Result<T, LegError>) -> Result<T, LegError> {
        if result.as_ref().is_err_and(LegError::is_fatal) {
            self.close();
        }
        result
    }

    /// Shuts the connection down and releases it; later calls return
    /// [`LegError::Closed`].
    pub fn close(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.shutdown();
        }
    }

    /// Whether the connection is closed (by [`close`](Self::close) or a
    /// fatal error).
    pub fn is_closed(&self) -> bool {
        self.stream.is_none()
    }

    /// The handshake hash (channel binding): the same on both sides.
    pub fn handshake_hash(&self) -> &[u8] {
        self.channel.handshake_hash().unwrap_or_default()
    }

    /// The peer's static key, if the pattern revealed one.
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.channel.remote_static()
    }

    /// The largest payload [`recv`](Self::recv) can deliver: the `plain`
    /// buffer must be at least this long.
    pub fn max_payload_len(&self) -> usize {
        self.channel.max_payload_len()
    }

    /// The TCP connection, while open.
    pub fn stream(&self) -> Option<&TcpStream> {
        self.stream.as_ref()
    }
}

/// Maps a failed read step or write that waited for `wait`.
fn step_error(e: StepError, wait: Wait) -> LegError {
    match e {
        StepError::Io(IoError::TimedOut) => LegError::TimedOut(wait),
        StepError::Io(e) => LegError::Io(e),
        StepError::Recv(e) => LegError::Recv(e),
    }
}

/// A failed read step: the socket or the channel.
enum StepError {
    Io(IoError),
    Recv(RecvError),
}

impl From<IoError> for StepError {
    fn from(e: IoError) -> Self {
        Self::Io(e)
    }
}

/// Reads the next piece of the frame in progress and hands it to the
/// channel: at most the missing prefix bytes between frames, at most the
/// missing body bytes (straight into the channel's storage) inside one.
fn read_step<P: Provider, S: AsMut<[u8]>>(
    channel: &mut Channel<P, S>,
    stream: &TcpStream,
    prefix_held: &mut usize,
    deadline: &mut Deadline,
    plain: &mut [u8],
) -> Result<Step, StepError> {
    let outcome = if let Some(body) = channel.read_buffer() {
        let Some(chunk) = stream.read_some(body.len(), deadline)? else {
            return Ok(Step::Eof);
        };
        // `read_some` returns at most `body.len()` bytes.
        let n = chunk.len().min(body.len());
        for (d, s) in body.iter_mut().zip(&chunk) {
            *d = *s;
        }
        channel.handle_filled(n, plain)
    } else {
        let missing = PREFIX_LEN.saturating_sub(*prefix_held).max(1);
        let Some(chunk) = stream.read_some(missing, deadline)? else {
            return Ok(Step::Eof);
        };
        let mut input = chunk.as_slice();
        let outcome = channel.handle_input(&mut input, plain);
        // The channel consumes up to the end of the frame; a prefix read
        // never reaches past the prefix, so it takes every byte.
        *prefix_held = prefix_held.saturating_add(chunk.len().saturating_sub(input.len()));
        outcome
    };
    match outcome {
        Ok(Some(ev)) => {
            *prefix_held = 0;
            Ok(Step::Frame(ev))
        }
        Ok(None) => {
            if channel.read_buffer().is_some() {
                // The prefix is complete; the body is the channel's to track.
                *prefix_held = 0;
            }
            Ok(Step::Partial)
        }
        Err(e) => Err(StepError::Recv(e)),
    }
}
