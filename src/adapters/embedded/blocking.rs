//! [`FramedNoise`]: the adapter over blocking `embedded_io::{Read, Write}`.

use super::{Error, Link, recv_error, send_error};
use crate::channel::{Channel, Incoming};
use crate::crypto::Provider;
use embedded_io::{Read, Write};

/// A framed Noise channel over a blocking [`embedded_io`] stream (module
/// docs: storage, reads, deadline, errors). `T` is the stream, `P` the
/// crypto provider, `S` the channel's receive storage.
pub struct FramedNoise<T, P: Provider, S> {
    io: T,
    link: Link<P, S>,
}

impl<T, P: Provider, S> core::fmt::Debug for FramedNoise<T, P, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FramedNoise")
            .field("channel", &self.link.channel)
            .field("closed", &self.link.closed)
            .field("ended", &self.link.ended)
            .finish_non_exhaustive()
    }
}

impl<T, P, S> FramedNoise<T, P, S>
where
    T: Read + Write,
    P: Provider,
    S: AsMut<[u8]>,
{
    /// Drives `channel` (built with its handshake state, receive storage and
    /// optional pinned key) over `io`.
    pub fn new(io: T, channel: Channel<P, S>) -> Self {
        FramedNoise {
            io,
            link: Link::new(channel),
        }
    }

    /// Runs the handshake to its end: writes this side's messages (with
    /// empty payloads) as they fall due, reads the peer's, and returns once
    /// the channel is established. Payloads the peer puts in its handshake
    /// messages are read and dropped (drive the [`Channel`] directly to use
    /// them). Returns at once if the handshake is already done.
    ///
    /// `buf` holds outgoing handshake frames and incoming handshake
    /// payloads: at least [`Channel::max_payload_len`] bytes, and at least
    /// the largest handshake frame. `expired` is the deadline check (module
    /// docs); once it returns `true` the link closes with
    /// [`Error::TimedOut`].
    ///
    /// # Errors
    /// [`Error::TimedOut`], [`Error::Read`], [`Error::Write`], [`Error::WriteZero`],
    /// [`Error::Recv`] (a refused message, the wrong peer, the end of the
    /// stream), [`Error::Send`] (`buf` too small: nothing changed),
    /// [`Error::Closed`].
    pub fn handshake(
        &mut self,
        buf: &mut [u8],
        mut expired: impl FnMut() -> bool,
    ) -> Result<(), Error<T::Error>> {
        self.link.check_open()?;
        loop {
            if self.link.channel.is_established() {
                return Ok(());
            }
            if expired() {
                return Err(self.link.fail(Error::TimedOut));
            }
            let mut wrote = false;
            while let Some(n) = self
                .link
                .channel
                .poll_handshake(&[], buf)
                .map_err(send_error)?
            {
                self.write_all(buf.get(..n).unwrap_or_default())?;
                wrote = true;
            }
            if wrote {
                self.flush()?;
            }
            if self.link.channel.is_established() {
                return Ok(());
            }
            self.link.check_plain(buf)?;
            if expired() {
                return Err(self.link.fail(Error::TimedOut));
            }
            if self.read_frame(buf, &mut expired)?.is_none() {
                // `eof` in the handshake is always the channel's error.
                return Err(Error::Closed);
            }
        }
    }

    /// Encrypts `payload` as one transport message and writes its frame
    /// (sealed into `out`, which needs `payload.len() +
    /// FRAME_OVERHEAD` bytes), then flushes.
    ///
    /// # Errors
    /// [`Error::NotEstablished`], [`Error::Send`] (buffer too small, payload
    /// too long: nothing sent), [`Error::Write`] / [`Error::WriteZero`] (the
    /// link closes), [`Error::Closed`].
    pub fn send(&mut self, payload: &[u8], out: &mut [u8]) -> Result<(), Error<T::Error>> {
        self.link.check_open()?;
        let n = self
            .link
            .channel
            .write_message(payload, out)
            .map_err(send_error)?;
        self.write_frame(out.get(..n).unwrap_or_default())
    }

    /// [`send`](Self::send) without the copy: the payload is
    /// `buf[PREFIX_LEN..PREFIX_LEN + payload_len]` and is sealed in place.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<(), Error<T::Error>> {
        self.link.check_open()?;
        let n = self
            .link
            .channel
            .write_message_in_place(buf, payload_len)
            .map_err(send_error)?;
        self.write_frame(buf.get(..n).unwrap_or_default())
    }

    /// Receives the next transport message into `plain` (at least
    /// [`Channel::max_payload_len`] bytes) and returns its length, or
    /// `Ok(None)` when the stream ended cleanly between two frames (then
    /// again on every later call; sending still works).
    ///
    /// # Errors
    /// [`Error::NotEstablished`], [`Error::Recv`] (fatal except a `plain`
    /// too small), [`Error::Read`] (can be retried), [`Error::Closed`].
    pub fn receive(&mut self, plain: &mut [u8]) -> Result<Option<usize>, Error<T::Error>> {
        self.link.check_open()?;
        if !self.link.channel.is_established() {
            return Err(Error::NotEstablished);
        }
        if self.link.ended {
            return Ok(None);
        }
        self.link.check_plain(plain)?;
        loop {
            match self.read_frame(plain, &mut || false)? {
                Some(Incoming::Message(n)) => return Ok(Some(n)),
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }

    /// The channel: handshake hash, peer key, frame cap.
    pub fn channel(&self) -> &Channel<P, S> {
        &self.link.channel
    }

    /// The stream (for example to change its read timeout).
    pub fn io_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The stream and the channel. The stream is positioned where the
    /// channel stopped reading (the adapter never reads ahead).
    pub fn into_parts(self) -> (T, Channel<P, S>) {
        (self.io, self.link.channel)
    }

    /// Reads until the channel has a whole frame and returns what it
    /// carried, or `None` at a clean end of the stream. Between frames it
    /// reads one byte at a time (the prefix), then the body straight into
    /// the channel's storage, so it never reads past the frame.
    fn read_frame(
        &mut self,
        plain: &mut [u8],
        expired: &mut impl FnMut() -> bool,
    ) -> Result<Option<Incoming>, Error<T::Error>> {
        loop {
            let event = if let Some(dst) = self.link.channel.read_buffer() {
                let n = self.io.read(dst).map_err(Error::Read)?;
                if n == 0 {
                    return self.link.eof().map(|()| None);
                }
                self.link.channel.handle_filled(n, plain)
            } else {
                let mut byte = [0u8; 1];
                if self.io.read(&mut byte).map_err(Error::Read)? == 0 {
                    return self.link.eof().map(|()| None);
                }
                self.link.channel.handle_input(&mut &byte[..], plain)
            };
            if let Some(event) = event.map_err(recv_error)? {
                return Ok(Some(event));
            }
            if expired() {
                return Err(self.link.fail(Error::TimedOut));
            }
        }
    }

    fn write_frame(&mut self, frame: &[u8]) -> Result<(), Error<T::Error>> {
        self.write_all(frame)?;
        self.flush()
    }

    /// `write_all` that closes the link on failure and treats `Ok(0)` as an
    /// error (embedded-io's own `write_all` panics on it).
    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), Error<T::Error>> {
        while !bytes.is_empty() {
            match self.io.write(bytes) {
                Ok(0) => return Err(self.link.fail(Error::WriteZero)),
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) => return Err(self.link.fail(Error::Write(e))),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error<T::Error>> {
        self.io.flush().map_err(|e| self.link.fail(Error::Write(e)))
    }
}
