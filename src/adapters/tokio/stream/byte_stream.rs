//! The byte-stream view of a Noise stream: `AsyncRead` + `AsyncWrite`.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use bytes::{Buf as _, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{NoiseStream, StreamStats};
use crate::crypto::Provider;
use crate::crypto::x25519::KEY_LEN;

/// Empty messages skipped per read poll before yielding (bounded work per
/// wake-up).
const MAX_EMPTY_PER_POLL: usize = 64;

/// A [`NoiseStream`] as a byte stream ([`NoiseStream::into_byte_stream`]).
///
/// * Reading returns the payloads of received messages in order, message
///   boundaries erased; `Ok(0)` (end of stream) once the peer closed
///   cleanly. An error is fatal and maps to an `io::Error` whose inner
///   error is the [`StreamError`](super::StreamError) (`InvalidData` for
///   refused bytes, `UnexpectedEof` for a stream cut inside a frame,
///   `TimedOut` for timeouts).
/// * Writing buffers up to one message
///   ([`NoiseStream::max_message_len`] bytes) in the frame buffer and seals
///   it in place (no extra copy) when it is full or on `flush`: **flush**
///   (or shut down) to send what was written, as with a `BufWriter`.
///   `poll_shutdown` flushes, then shuts the transport's write side down.
pub struct NoiseByteStream<T, P: Provider> {
    inner: NoiseStream<T, P>,
    /// The unread rest of the last received message.
    current: Bytes,
}

// Nothing is pinned structurally (the machines are plain values moved
// freely), so the view is `Unpin` whenever the transport is.
impl<T: Unpin, P: Provider> Unpin for NoiseByteStream<T, P> {}

impl<T, P: Provider> fmt::Debug for NoiseByteStream<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoiseByteStream")
            .field("inner", &self.inner)
            .field("unread", &self.current.len())
            .finish()
    }
}

impl<T, P: Provider> NoiseByteStream<T, P> {
    pub(super) fn new(inner: NoiseStream<T, P>) -> Self {
        NoiseByteStream {
            inner,
            current: Bytes::new(),
        }
    }

    /// See [`NoiseStream::remote_static`].
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.inner.remote_static()
    }

    /// See [`NoiseStream::handshake_hash`].
    pub fn handshake_hash(&self) -> &[u8] {
        self.inner.handshake_hash()
    }

    /// See [`NoiseStream::stats`].
    pub fn stats(&self) -> StreamStats {
        self.inner.stats()
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        self.inner.get_ref()
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, P: Provider> AsyncRead for NoiseByteStream<T, P> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        for _ in 0..MAX_EMPTY_PER_POLL {
            if !this.current.is_empty() {
                let k = this.current.len().min(buf.remaining());
                buf.put_slice(this.current.get(..k).unwrap_or(&[]));
                this.current.advance(k);
                return Poll::Ready(Ok(()));
            }
            let inner = &mut this.inner;
            match inner.recv.poll_recv(&mut inner.io, cx) {
                Poll::Ready(Ok(Some(m))) => this.current = m,
                Poll::Ready(Ok(None)) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin, P: Provider> AsyncWrite for NoiseByteStream<T, P> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let inner = &mut self.get_mut().inner;
        let (io, send) = (&mut inner.io, &mut inner.send);
        if let Err(e) = send.check_open() {
            return Poll::Ready(Err(e.into()));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Staging starts after the queue: make room for a whole frame first.
        if send.staged == 0 && !send.has_frame_room() {
            match send.poll_drain(io, cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let k = send.stage(data);
        if send.staged_full() {
            if let Err(e) = send.seal_staged() {
                return Poll::Ready(Err(e.into()));
            }
            // Start writing now; if the transport is not ready, the next
            // call (or flush) continues.
            if let Poll::Ready(Err(e)) = send.poll_drain(io, cx) {
                return Poll::Ready(Err(e.into()));
            }
        }
        Poll::Ready(Ok(k))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = &mut self.get_mut().inner;
        inner
            .send
            .poll_flush(&mut inner.io, cx)
            .map_err(io::Error::from)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = &mut self.get_mut().inner;
        inner
            .send
            .poll_close(&mut inner.io, cx)
            .map_err(io::Error::from)
    }
}
