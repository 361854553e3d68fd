//! [`AsyncFramedNoise`]: the adapter over `embedded_io_async::{Read, Write}`.

use super::{Error, Link, recv_error, send_error};
use crate::channel::{Channel, Incoming};
use crate::crypto::Provider;
use embedded_io_async::{Read, Write};

/// A framed Noise channel over an async [`embedded_io_async`] stream (an
/// embassy-net `TcpSocket`, an async UART): the same operations, rules and
/// errors as [`FramedNoise`](super::FramedNoise) (module docs), as `async`
/// functions. Needs no particular executor, no `Send`, no allocation.
///
/// # Cancellation
///
/// Dropping a [`receive`](Self::receive) future (a `select` with another
/// event, a timeout) loses nothing as long as the stream's own `read` is
/// cancel-safe (embassy-net's is): bytes are handed to the channel only
/// after a read completes, so the next call carries on with the frame in
/// progress. Dropping a future while it is *writing* (a send, or the
/// handshake's write of its message) may leave part of a frame on the
/// stream: the next call then fails with [`Error::Closed`] and the
/// connection must be dropped. A handshake wrapped in a timeout that fires
/// is over either way: start a new connection.
pub struct AsyncFramedNoise<T, P: Provider, S> {
    io: T,
    link: Link<P, S>,
}

impl<T, P: Provider, S> core::fmt::Debug for AsyncFramedNoise<T, P, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncFramedNoise")
            .field("channel", &self.link.channel)
            .field("closed", &self.link.closed)
            .field("ended", &self.link.ended)
            .finish_non_exhaustive()
    }
}

impl<T, P, S> AsyncFramedNoise<T, P, S>
where
    T: Read + Write,
    P: Provider,
    S: AsMut<[u8]>,
{
    /// Drives `channel` over `io`.
    pub fn new(io: T, channel: Channel<P, S>) -> Self {
        AsyncFramedNoise {
            io,
            link: Link::new(channel),
        }
    }

    /// See [`FramedNoise::handshake`](super::FramedNoise::handshake).
    ///
    /// # Errors
    /// As [`FramedNoise::handshake`](super::FramedNoise::handshake).
    pub async fn handshake(
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
                self.write_all(buf.get(..n).unwrap_or_default()).await?;
                wrote = true;
            }
            if wrote {
                self.flush().await?;
            }
            if self.link.channel.is_established() {
                return Ok(());
            }
            self.link.check_plain(buf)?;
            if expired() {
                return Err(self.link.fail(Error::TimedOut));
            }
            if self.read_frame(buf, &mut expired).await?.is_none() {
                // `eof` in the handshake is always the channel's error.
                return Err(Error::Closed);
            }
        }
    }

    /// See [`FramedNoise::send`](super::FramedNoise::send).
    ///
    /// # Errors
    /// As [`FramedNoise::send`](super::FramedNoise::send).
    pub async fn send(&mut self, payload: &[u8], out: &mut [u8]) -> Result<(), Error<T::Error>> {
        self.link.check_open()?;
        let n = self
            .link
            .channel
            .write_message(payload, out)
            .map_err(send_error)?;
        self.write_frame(out.get(..n).unwrap_or_default()).await
    }

    /// See [`FramedNoise::send_in_place`](super::FramedNoise::send_in_place).
    ///
    /// # Errors
    /// As [`FramedNoise::send`](super::FramedNoise::send).
    pub async fn send_in_place(
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
        self.write_frame(buf.get(..n).unwrap_or_default()).await
    }

    /// See [`FramedNoise::receive`](super::FramedNoise::receive).
    ///
    /// # Errors
    /// As [`FramedNoise::receive`](super::FramedNoise::receive).
    pub async fn receive(&mut self, plain: &mut [u8]) -> Result<Option<usize>, Error<T::Error>> {
        self.link.check_open()?;
        if !self.link.channel.is_established() {
            return Err(Error::NotEstablished);
        }
        if self.link.ended {
            return Ok(None);
        }
        self.link.check_plain(plain)?;
        loop {
            match self.read_frame(plain, &mut || false).await? {
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

    /// The stream.
    pub fn io_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The stream and the channel; the stream is positioned where the
    /// channel stopped reading.
    pub fn into_parts(self) -> (T, Channel<P, S>) {
        (self.io, self.link.channel)
    }

    /// As the blocking adapter's: one byte at a time between frames, then
    /// the body into the channel's storage; never past the frame.
    async fn read_frame(
        &mut self,
        plain: &mut [u8],
        expired: &mut impl FnMut() -> bool,
    ) -> Result<Option<Incoming>, Error<T::Error>> {
        loop {
            let event = if let Some(dst) = self.link.channel.read_buffer() {
                let n = self.io.read(dst).await.map_err(Error::Read)?;
                if n == 0 {
                    return self.link.eof().map(|()| None);
                }
                self.link.channel.handle_filled(n, plain)
            } else {
                let mut byte = [0u8; 1];
                if self.io.read(&mut byte).await.map_err(Error::Read)? == 0 {
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

    async fn write_frame(&mut self, frame: &[u8]) -> Result<(), Error<T::Error>> {
        self.write_all(frame).await?;
        self.flush().await
    }

    /// `write_all` that closes the link on failure, treats `Ok(0)` as an
    /// error, and marks the link as mid-write while it runs (so that a
    /// cancelled write closes it).
    async fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), Error<T::Error>> {
        self.link.writing = true;
        while !bytes.is_empty() {
            match self.io.write(bytes).await {
                Ok(0) => return Err(self.link.fail(Error::WriteZero)),
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) => return Err(self.link.fail(Error::Write(e))),
            }
        }
        self.link.writing = false;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Error<T::Error>> {
        self.link.writing = true;
        let r = self.io.flush().await;
        self.link.writing = false;
        r.map_err(|e| self.link.fail(Error::Write(e)))
    }
}
