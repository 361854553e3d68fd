//! The embedded adapter (`hyperport::adapters::embedded`): every test runs
//! twice, once through the blocking `FramedNoise` (two threads, a pipe whose
//! reads block) and once through the async `AsyncFramedNoise` (one thread,
//! a small executor polling both sides, a pipe whose reads return
//! `Pending`). The pipes cut every read and write into chunks of 1 to 7
//! bytes, so partial I/O is exercised everywhere.
//!
//! Expected values come from outside the adapter: snow (an independent
//! Noise implementation, framing by hand as `len.to_be_bytes() ++ msg`) as
//! the peer, the frame layout and caps typed by hand, and what each side
//! sent compared with what the other received.

#![cfg(any(feature = "ring", feature = "rustcrypto"))]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use hyperport::adapters::embedded::{AsyncFramedNoise, Error, FramedNoise};
use hyperport::channel::{Channel, PREFIX_LEN, RecvError, SendError, TAG_LEN};
use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::framing::DecodeError;
use hyperport::noise::transport::TransportError;
use hyperport::noise::{Builder, HandshakeState};
use hyperport::rng::SeededRng;

const XX: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";

// ---------------------------------------------------------------- pipes

/// One direction of an in-memory byte stream.
#[derive(Default)]
struct Pipe {
    bytes: VecDeque<u8>,
    /// The writing end is gone: reads return 0 once `bytes` is empty.
    closed: bool,
}

struct Shared {
    pipe: Mutex<Pipe>,
    changed: Condvar,
}

/// One end of a duplex pipe: reads from `rx`, writes to `tx`. Each read
/// and write moves at most the next chunk size (1..=max_chunk, cycling), and a
/// write blocks (or is `Pending`) while `tx` holds `capacity` bytes.
/// Dropping the end closes its writing direction (the peer reads EOF).
struct End {
    rx: Arc<Shared>,
    tx: Arc<Shared>,
    chunk: usize,
    max_chunk: usize,
    capacity: usize,
    written: Arc<AtomicUsize>,
}

impl Drop for End {
    fn drop(&mut self) {
        self.tx.pipe.lock().unwrap().closed = true;
        self.tx.changed.notify_all();
    }
}

fn duplex(capacity: usize) -> (End, End) {
    duplex_chunked(capacity, 7)
}

/// As [`duplex`], with reads and writes of up to `max_chunk` bytes.
fn duplex_chunked(capacity: usize, max_chunk: usize) -> (End, End) {
    let new = || {
        Arc::new(Shared {
            pipe: Mutex::new(Pipe::default()),
            changed: Condvar::new(),
        })
    };
    let (ab, ba) = (new(), new());
    let end = |rx: &Arc<Shared>, tx: &Arc<Shared>, chunk| End {
        rx: rx.clone(),
        tx: tx.clone(),
        chunk,
        max_chunk,
        capacity,
        written: Arc::new(AtomicUsize::new(0)),
    };
    (end(&ba, &ab, 0), end(&ab, &ba, 3))
}

impl End {
    /// 1..=7 cycling for the small chunk sizes; a larger `max_chunk`
    /// means "as much as there is".
    fn next_chunk(&mut self) -> usize {
        if self.max_chunk > 7 {
            return self.max_chunk;
        }
        self.chunk = self.chunk % self.max_chunk + 1;
        self.chunk
    }

    /// Takes up to a chunk of available bytes; `None` if none yet (and not
    /// closed).
    fn try_read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if buf.is_empty() {
            return Some(0);
        }
        let want = self.next_chunk().min(buf.len());
        let mut p = self.rx.pipe.lock().unwrap();
        if p.bytes.is_empty() {
            return p.closed.then_some(0);
        }
        let n = want.min(p.bytes.len());
        for (dst, src) in buf.iter_mut().zip(p.bytes.drain(..n)) {
            *dst = src;
        }
        drop(p);
        self.rx.changed.notify_all();
        Some(n)
    }

    /// Puts up to a chunk of `buf` in; `None` if the pipe is full.
    fn try_write(&mut self, buf: &[u8]) -> Option<usize> {
        if buf.is_empty() {
            return Some(0);
        }
        let want = self.next_chunk().min(buf.len());
        let mut p = self.tx.pipe.lock().unwrap();
        let room = self.capacity.saturating_sub(p.bytes.len());
        if room == 0 {
            return None;
        }
        let n = want.min(room);
        p.bytes.extend(&buf[..n]);
        drop(p);
        self.written.fetch_add(n, Ordering::SeqCst);
        self.tx.changed.notify_all();
        Some(n)
    }

    /// Ends this end's writing direction (the peer reads EOF) while it can
    /// still read: a half-closed connection.
    fn close_write(&self) {
        self.tx.pipe.lock().unwrap().closed = true;
        self.tx.changed.notify_all();
    }

    /// Bytes waiting to be read by this end.
    fn pending(&self) -> usize {
        self.rx.pipe.lock().unwrap().bytes.len()
    }
}

/// The blocking face of an [`End`].
struct SyncEnd(End);
/// The async face of an [`End`].
struct AsyncEnd(End);

impl embedded_io::ErrorType for SyncEnd {
    type Error = embedded_io::ErrorKind;
}
impl embedded_io::ErrorType for AsyncEnd {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for SyncEnd {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        loop {
            if let Some(n) = self.0.try_read(buf) {
                return Ok(n);
            }
            let p = self.0.rx.pipe.lock().unwrap();
            if p.bytes.is_empty() && !p.closed {
                drop(self.0.rx.changed.wait(p).unwrap());
            }
        }
    }
}

impl embedded_io::Write for SyncEnd {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        loop {
            if let Some(n) = self.0.try_write(buf) {
                return Ok(n);
            }
            let p = self.0.tx.pipe.lock().unwrap();
            if p.bytes.len() >= self.0.capacity {
                drop(self.0.tx.changed.wait(p).unwrap());
            }
        }
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl embedded_io_async::Read for AsyncEnd {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        std::future::poll_fn(|_| match self.0.try_read(buf) {
            Some(n) => Poll::Ready(Ok(n)),
            None => Poll::Pending,
        })
        .await
    }
}

impl embedded_io_async::Write for AsyncEnd {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        std::future::poll_fn(|_| match self.0.try_write(buf) {
            Some(n) => Poll::Ready(Ok(n)),
            None => Poll::Pending,
        })
        .await
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

// ------------------------------------------------------------ executors

/// Polls two futures in turn (with a no-op waker: the pipes make progress
/// whenever either side runs) until both are done. A deadlock shows as a
/// panic after many rounds without completion.
fn run_both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut cx = Context::from_waker(Waker::noop());
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    for _ in 0..50_000_000u64 {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(&mut cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(&mut cx)
        {
            rb = Some(v);
        }
        if let (Some(_), Some(_)) = (&ra, &rb) {
            return (ra.take().unwrap(), rb.take().unwrap());
        }
    }
    panic!("the two sides deadlocked");
}

/// Runs two closures on two threads (the blocking flavour of `run_both`).
fn run_threads<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|s| {
        let ha = s.spawn(a);
        let hb = s.spawn(b);
        (ha.join().unwrap(), hb.join().unwrap())
    })
}

/// A future that is pending once (lets the other side run).
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await
}

/// Writes the test once for each flavour. In the bodies, `aw!(e)` is `e`
/// (blocking) or `e.await` (async), `link!(io, channel)` builds the
/// flavour's adapter over an [`End`], `io!(end)` wraps an [`End`] for raw
/// `embedded_io` calls, and `Rd` / `Wr` are the flavour's traits and `pause!()` lets the other
/// side run. Each side
/// returns a value; `check` sees both.
macro_rules! both_flavours {
    ($name:ident, capacity = $cap:expr, $(chunk = $chunk:expr,)?
     |$a:ident| $side_a:block,
     |$b:ident| $side_b:block,
     |$ra:pat_param, $rb:pat_param| $check:block) => {
        mod $name {
            use super::*;

            #[test]
            fn blocking() {
                #[allow(unused_macros)]
                macro_rules! aw {
                    ($e:expr) => {
                        $e
                    };
                }
                #[allow(unused_macros)]
                macro_rules! link {
                    ($io:expr, $ch:expr) => {
                        FramedNoise::new(SyncEnd($io), $ch)
                    };
                }
                #[allow(unused_macros)]
                macro_rules! io {
                    ($io:expr) => {
                        SyncEnd($io)
                    };
                }
                #[allow(unused_macros)]
                macro_rules! pause {
                    () => {
                        std::thread::yield_now()
                    };
                }
                #[allow(unused_imports)]
                use embedded_io::{Read as Rd, Write as Wr};
                let ($a, $b) = duplex_chunked($cap, 7 $(- 7 + $chunk)?);
                let ($ra, $rb) = run_threads(move || $side_a, move || $side_b);
                $check
            }

            #[test]
            fn asynchronous() {
                #[allow(unused_macros)]
                macro_rules! aw {
                    ($e:expr) => {
                        $e.await
                    };
                }
                #[allow(unused_macros)]
                macro_rules! link {
                    ($io:expr, $ch:expr) => {
                        AsyncFramedNoise::new(AsyncEnd($io), $ch)
                    };
                }
                #[allow(unused_macros)]
                macro_rules! io {
                    ($io:expr) => {
                        AsyncEnd($io)
                    };
                }
                #[allow(unused_macros)]
                macro_rules! pause {
                    () => {
                        yield_once().await
                    };
                }
                #[allow(unused_imports)]
                use embedded_io_async::{Read as Rd, Write as Wr};
                let ($a, $b) = duplex_chunked($cap, 7 $(- 7 + $chunk)?);
                let ($ra, $rb) = run_both(async move { $side_a }, async move { $side_b });
                $check
            }
        }
    };
}

// ------------------------------------------------------------- helpers

/// Initiator and responder handshakes with their static keys.
fn handshakes(seed: u64) -> (HandshakeState<P>, HandshakeState<P>, [u8; 32], [u8; 32]) {
    let mut rng = SeededRng::from_u64(seed);
    let (ka, kb) = (KeyPair::generate(&mut rng), KeyPair::generate(&mut rng));
    let (pa, pb) = (*ka.public(), *kb.public());
    let a = Builder::from_name(XX)
        .unwrap()
        .local_static(ka)
        .build_initiator::<P>(&mut rng)
        .unwrap();
    let b = Builder::from_name(XX)
        .unwrap()
        .local_static(kb)
        .build_responder::<P>(&mut rng)
        .unwrap();
    (a, b, pa, pb)
}

fn channel(hs: HandshakeState<P>, cap: usize) -> Channel<P, Vec<u8>> {
    Channel::new(hs, vec![0u8; cap]).unwrap()
}

/// Message `i` of a run: lengths spread over 1..=max (the first is max),
/// contents depending on `i` and `dir`.
fn message(i: usize, max: usize, dir: u8) -> Vec<u8> {
    let len = if i == 0 { max } else { 1 + (i * 7919) % max };
    (0..len)
        .map(|k| (k as u8).wrapping_mul(31) ^ (i as u8) ^ dir)
        .collect()
}

const NEVER: fn() -> bool = || false;

// --------------------------------------------------------------- tests

// The session: handshake, then 100 messages each way of sizes up
// to the frame cap (1,024-byte frames, payloads up to 1,008), the
// responder echoing (receive into buf[4..], send in place), both ends
// agreeing on the handshake hash and learning each other's key.
both_flavours!(
    handshake_then_100_messages_each_way,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(1);
        let mut link = link!(a, channel(hs, 1024));
        let mut buf = vec![0u8; 1024 + PREFIX_LEN];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let mut plain = vec![0u8; 1024];
        for i in 0..100 {
            let msg = message(i, 1024 - TAG_LEN, 1);
            aw!(link.send(&msg, &mut buf)).unwrap();
            let n = aw!(link.receive(&mut plain)).unwrap().unwrap();
            assert_eq!(plain[..n], msg[..], "echo {i}");
        }
        aw!(link.send(&[], &mut buf)).unwrap();
        assert_eq!(aw!(link.receive(&mut plain)).unwrap(), Some(0));
        let ch = link.channel();
        (
            ch.handshake_hash().unwrap().to_vec(),
            *ch.remote_static().unwrap(),
        )
    },
    |b| {
        let (_, hs, _, _) = handshakes(1);
        let mut link = link!(b, channel(hs, 1024));
        let mut buf = vec![0u8; 1024 + PREFIX_LEN];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let mut echoed = 0;
        loop {
            let n = aw!(link.receive(&mut buf[PREFIX_LEN..])).unwrap().unwrap();
            aw!(link.send_in_place(&mut buf, n)).unwrap();
            if n == 0 {
                break;
            }
            echoed += 1;
        }
        assert_eq!(echoed, 100);
        let ch = link.channel();
        (
            ch.handshake_hash().unwrap().to_vec(),
            *ch.remote_static().unwrap(),
        )
    },
    |(hash_a, key_b_seen), (hash_b, key_a_seen)| {
        let (_, _, pa, pb) = handshakes(1);
        assert_eq!(hash_a, hash_b);
        assert_eq!(hash_a.len(), 32);
        assert_eq!(key_b_seen, pb);
        assert_eq!(key_a_seen, pa);
    }
);

// Snow (independent) as the initiator, framing by hand; the adapter as the
// echoing responder. The hashes must agree and every echo match.
both_flavours!(
    interoperates_with_snow,
    capacity = 4096,
    |a| {
        let mut io = io!(a);
        let key = snow::Builder::new(XX.parse().unwrap())
            .generate_keypair()
            .unwrap();
        let mut hs = snow::Builder::new(XX.parse().unwrap())
            .local_private_key(&key.private)
            .unwrap()
            .build_initiator()
            .unwrap();
        let (mut msg, mut out) = (vec![0u8; 1100], vec![0u8; 1100]);
        let frame = |msg: &[u8]| {
            let mut f = (msg.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(msg);
            f
        };
        let n = hs.write_message(&[], &mut msg).unwrap();
        aw!(io.write_all(&frame(&msg[..n]))).unwrap();
        let mut prefix = [0u8; 4];
        aw!(io.read_exact(&mut prefix)).unwrap();
        let len = u32::from_be_bytes(prefix) as usize;
        aw!(io.read_exact(&mut msg[..len])).unwrap();
        hs.read_message(&msg[..len], &mut out).unwrap();
        let n = hs.write_message(&[], &mut msg).unwrap();
        aw!(io.write_all(&frame(&msg[..n]))).unwrap();
        let hash = hs.get_handshake_hash().to_vec();
        let mut t = hs.into_transport_mode().unwrap();
        for i in 0..=20 {
            let data = if i < 20 { message(i, 1008, 2) } else { vec![] };
            let n = t.write_message(&data, &mut msg).unwrap();
            aw!(io.write_all(&frame(&msg[..n]))).unwrap();
            aw!(io.read_exact(&mut prefix)).unwrap();
            let len = u32::from_be_bytes(prefix) as usize;
            assert_eq!(len, data.len() + TAG_LEN);
            aw!(io.read_exact(&mut msg[..len])).unwrap();
            let n = t.read_message(&msg[..len], &mut out).unwrap();
            assert_eq!(out[..n], data[..], "echo {i}");
        }
        hash
    },
    |b| {
        let (_, hs, _, _) = handshakes(2);
        let mut link = link!(b, channel(hs, 1024));
        let mut buf = vec![0u8; 1024 + PREFIX_LEN];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        loop {
            let n = aw!(link.receive(&mut buf[PREFIX_LEN..])).unwrap().unwrap();
            aw!(link.send_in_place(&mut buf, n)).unwrap();
            if n == 0 {
                break;
            }
        }
        link.channel().handshake_hash().unwrap().to_vec()
    },
    |snow_hash, our_hash| {
        assert_eq!(snow_hash, our_hash);
    }
);

// A prefix declaring more than the cap is refused at the prefix: the body
// is never read (the 10 bytes behind it stay in the pipe), the error is
// fatal, and every later call says Closed.
both_flavours!(
    frame_over_the_cap_refused_at_the_prefix,
    capacity = 4096,
    |a| {
        let mut io = io!(a);
        let mut bytes = 65u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[7; 10]);
        aw!(io.write_all(&bytes)).unwrap();
        io
    },
    |b| {
        let (_, hs, _, _) = handshakes(3);
        let mut link = link!(b, channel(hs, 64));
        let mut buf = vec![0u8; 128];
        let e = aw!(link.handshake(&mut buf, NEVER)).unwrap_err();
        assert_eq!(
            e,
            Error::Recv(RecvError::Framing(DecodeError::FrameTooLong {
                declared: 65,
                max: 64
            }))
        );
        assert!(e.is_fatal());
        assert_eq!(aw!(link.handshake(&mut buf, NEVER)), Err(Error::Closed));
        let (io, _) = link.into_parts();
        io.0.pending()
    },
    |_keep_open, left| {
        assert_eq!(left, 10);
    }
);

// A transport message with one bit flipped: Recv(Transport(Decrypt)),
// fatal, then Closed for receive and send alike.
both_flavours!(
    forged_transport_message_closes_the_link,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(4);
        let mut link = link!(a, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let (end, mut ch) = link.into_parts();
        let mut io = end;
        let n = ch.write_message(b"genuine", &mut buf).unwrap();
        buf[n - 1] ^= 1;
        aw!(io.write_all(&buf[..n])).unwrap();
        io
    },
    |b| {
        let (_, hs, _, _) = handshakes(4);
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let e = aw!(link.receive(&mut buf)).unwrap_err();
        assert_eq!(
            e,
            Error::Recv(RecvError::Transport(TransportError::Decrypt))
        );
        assert!(e.is_fatal());
        assert_eq!(aw!(link.receive(&mut buf)), Err(Error::Closed));
        assert_eq!(aw!(link.send(b"x", &mut buf)), Err(Error::Closed));
    },
    |_, _| {}
);

// The end of the stream: inside the handshake (fatal), between frames after
// it (Ok(None), again on the next call, and sending still works), and
// inside a frame (fatal).
both_flavours!(
    end_of_stream_in_handshake,
    capacity = 4096,
    |a| {
        drop(a);
    },
    |b| {
        let (_, hs, _, _) = handshakes(5);
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        let e = aw!(link.handshake(&mut buf, NEVER)).unwrap_err();
        assert_eq!(e, Error::Recv(RecvError::EndedInHandshake));
        assert!(e.is_fatal());
        assert_eq!(aw!(link.handshake(&mut buf, NEVER)), Err(Error::Closed));
    },
    |_, _| {}
);

both_flavours!(
    clean_end_between_frames,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(6);
        let mut link = link!(a, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        aw!(link.send(b"one", &mut buf)).unwrap();
        aw!(link.send(b"two", &mut buf)).unwrap();
        link.io_mut().0.close_write();
        // The peer still answers on its half.
        let n = aw!(link.receive(&mut buf)).unwrap().unwrap();
        assert_eq!(&buf[..n], b"bye");
    },
    |b| {
        let (_, hs, _, _) = handshakes(6);
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        for want in [&b"one"[..], b"two"] {
            let n = aw!(link.receive(&mut buf)).unwrap().unwrap();
            assert_eq!(&buf[..n], want);
        }
        assert_eq!(aw!(link.receive(&mut buf)), Ok(None));
        assert_eq!(aw!(link.receive(&mut buf)), Ok(None));
        aw!(link.send(b"bye", &mut buf)).unwrap();
    },
    |_, _| {}
);

both_flavours!(
    end_inside_a_frame,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(7);
        let mut link = link!(a, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let (mut io, mut ch) = link.into_parts();
        let n = ch.write_message(b"cut short", &mut buf).unwrap();
        aw!(io.write_all(&buf[..n - 5])).unwrap();
        io.0.close_write();
        io
    },
    |b| {
        let (_, hs, _, _) = handshakes(7);
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let e = aw!(link.receive(&mut buf)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Recv(RecvError::Framing(DecodeError::EndedMidFrame { .. }))
            ),
            "{e:?}"
        );
        assert!(e.is_fatal());
        assert_eq!(aw!(link.receive(&mut buf)), Err(Error::Closed));
    },
    |_, _| {}
);

// The deadline check: the responder gives up as soon as it has written its
// message (the check before the next read says so), without waiting for
// the initiator's last message; TimedOut is fatal. The initiator finishes
// its side regardless. A check that is already true ends the handshake
// before any byte moves.
both_flavours!(
    handshake_deadline,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(8);
        let mut link = link!(a, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        link
    },
    |b| {
        let (_, hs, _, _) = handshakes(8);
        let written = b.written.clone();
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        let mut checks = 0;
        let e = aw!(link.handshake(&mut buf, || {
            checks += 1;
            written.load(Ordering::SeqCst) > 0
        }))
        .unwrap_err();
        assert_eq!(e, Error::TimedOut);
        assert!(e.is_fatal());
        assert!(!link.channel().is_established());
        assert_eq!(aw!(link.handshake(&mut buf, NEVER)), Err(Error::Closed));
        // Message 2 (XX: e, ee, s, es: 32 + 48 + 16 bytes) went out whole.
        let sent = written.load(Ordering::SeqCst);
        assert_eq!(sent, PREFIX_LEN + 32 + 48 + 16);
        assert!(checks >= 3, "{checks}");

        let (_, hs, _, _) = handshakes(8);
        let (c, _) = duplex(16);
        let written = c.written.clone();
        let mut link = link!(c, channel(hs, 256));
        assert_eq!(aw!(link.handshake(&mut buf, || true)), Err(Error::TimedOut));
        assert_eq!(written.load(Ordering::SeqCst), 0);
    },
    |initiator, _| {
        assert!(initiator.channel().is_established());
    }
);

// Pinning: a responder that requires another initiator key refuses the
// last message (UnexpectedPeer, fatal); an initiator that requires another
// responder key refuses message 2 before writing message 3, and the
// responder then sees the stream end inside the handshake.
both_flavours!(
    pinned_key_mismatch_responder_side,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(9);
        let mut link = link!(a, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        link
    },
    |b| {
        let (_, hs, _, _) = handshakes(9);
        let mut ch = channel(hs, 256);
        ch.require_remote_static([9; 32]);
        let mut link = link!(b, ch);
        let mut buf = vec![0u8; 512];
        let e = aw!(link.handshake(&mut buf, NEVER)).unwrap_err();
        assert_eq!(e, Error::Recv(RecvError::UnexpectedPeer));
        assert!(e.is_fatal());
    },
    |_, _| {}
);

both_flavours!(
    pinned_key_mismatch_initiator_side,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(10);
        let mut ch = channel(hs, 256);
        ch.require_remote_static([9; 32]);
        let written = a.written.clone();
        let mut link = link!(a, ch);
        let mut buf = vec![0u8; 512];
        let e = aw!(link.handshake(&mut buf, NEVER)).unwrap_err();
        assert_eq!(e, Error::Recv(RecvError::UnexpectedPeer));
        // Only message 1 (32 bytes) went out: not message 3.
        assert_eq!(written.load(Ordering::SeqCst), PREFIX_LEN + 32);
        drop(link);
    },
    |b| {
        let (_, hs, _, _) = handshakes(10);
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        assert_eq!(
            aw!(link.handshake(&mut buf, NEVER)),
            Err(Error::Recv(RecvError::EndedInHandshake))
        );
    },
    |_, _| {}
);

// Caller mistakes change nothing: sending or receiving before the
// handshake, a plaintext buffer below max_payload_len (nothing is read from
// the stream: the frame is received whole afterwards), an output buffer
// too small (nothing written), a payload over the Noise limit.
both_flavours!(
    caller_mistakes_change_nothing,
    capacity = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(11);
        let written = a.written.clone();
        let mut link = link!(a, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        assert_eq!(
            aw!(link.send(b"early", &mut buf)),
            Err(Error::NotEstablished)
        );
        assert_eq!(aw!(link.receive(&mut buf)), Err(Error::NotEstablished));
        assert!(!Error::<()>::NotEstablished.is_fatal());
        assert_eq!(written.load(Ordering::SeqCst), 0);
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let before = written.load(Ordering::SeqCst);
        let e =
            aw!(link.send(b"0123456789", &mut buf[..10 + TAG_LEN + PREFIX_LEN - 1])).unwrap_err();
        assert!(
            matches!(e, Error::Send(SendError::BufferTooSmall(_))),
            "{e:?}"
        );
        assert!(!e.is_fatal());
        let huge = vec![0u8; 65_520];
        let e = aw!(link.send(&huge, &mut buf)).unwrap_err();
        assert!(
            matches!(e, Error::Send(SendError::PayloadTooLong { .. })),
            "{e:?}"
        );
        assert_eq!(written.load(Ordering::SeqCst), before);
        aw!(link.send(b"0123456789", &mut buf)).unwrap();
        link
    },
    |b| {
        let (_, hs, _, _) = handshakes(11);
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        // Wait until the whole frame is there, then ask with a short buffer.
        while link.io_mut().0.pending() < PREFIX_LEN + 10 + TAG_LEN {
            pause!();
        }
        let e = aw!(link.receive(&mut buf[..256 - TAG_LEN - 1])).unwrap_err();
        assert!(
            matches!(e, Error::Recv(RecvError::BufferTooSmall(_))),
            "{e:?}"
        );
        assert!(!e.is_fatal());
        assert_eq!(link.io_mut().0.pending(), PREFIX_LEN + 10 + TAG_LEN);
        let n = aw!(link.receive(&mut buf)).unwrap().unwrap();
        assert_eq!(&buf[..n], b"0123456789");
    },
    |_, _| {}
);

// The adapter never reads past the frame it is receiving: with three frames
// waiting and a stream that hands out as much as a read asks for,
// receiving one leaves exactly the other two in the stream, and a new
// adapter over the same stream and channel receives them.
both_flavours!(
    never_reads_past_a_frame,
    capacity = 4096,
    chunk = 4096,
    |a| {
        let (hs, _, _, _) = handshakes(12);
        let mut link = link!(a, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        let (mut io, mut ch) = link.into_parts();
        let mut all = Vec::new();
        for m in [&b"first"[..], b"second", b"third!"] {
            let n = ch.write_message(m, &mut buf).unwrap();
            all.extend_from_slice(&buf[..n]);
        }
        aw!(io.write_all(&all)).unwrap();
        io
    },
    |b| {
        let (_, hs, _, _) = handshakes(12);
        let mut link = link!(b, channel(hs, 256));
        let mut buf = vec![0u8; 512];
        aw!(link.handshake(&mut buf, NEVER)).unwrap();
        while link.io_mut().0.pending() < 3 * (PREFIX_LEN + TAG_LEN) + 17 {
            pause!();
        }
        let n = aw!(link.receive(&mut buf)).unwrap().unwrap();
        assert_eq!(&buf[..n], b"first");
        let (io, ch) = link.into_parts();
        assert_eq!(io.0.pending(), 2 * (PREFIX_LEN + TAG_LEN) + 12);
        let mut link = link!(io.0, ch);
        for want in [&b"second"[..], b"third!"] {
            let n = aw!(link.receive(&mut buf)).unwrap().unwrap();
            assert_eq!(&buf[..n], want);
        }
    },
    |_, _| {}
);

// ------------------------------------------------- the transport's errors

/// What a [`Faulty`] stream does.
#[derive(Clone, Copy)]
enum Fault {
    /// Every read fails with `Interrupted`.
    ReadError,
    /// Every write returns `Ok(0)`.
    WriteZero,
    /// Every write fails with `BrokenPipe`.
    WriteError,
}

/// A stream that fails as told, counting the calls it got.
struct Faulty {
    fault: Fault,
    reads: usize,
}

impl embedded_io::ErrorType for Faulty {
    type Error = embedded_io::ErrorKind;
}
impl embedded_io::Read for Faulty {
    fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
        self.reads += 1;
        Err(embedded_io::ErrorKind::Interrupted)
    }
}
impl embedded_io::Write for Faulty {
    fn write(&mut self, _: &[u8]) -> Result<usize, Self::Error> {
        match self.fault {
            Fault::WriteZero => Ok(0),
            Fault::WriteError => Err(embedded_io::ErrorKind::BrokenPipe),
            Fault::ReadError => unreachable!("a responder reads first"),
        }
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io_async::Read for Faulty {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}
impl embedded_io_async::Write for Faulty {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

// A failed read comes back as the transport's own error, is not fatal, and
// the call can be repeated; a write of zero bytes is WriteZero (no panic,
// unlike embedded-io's own write_all) and a failed write Io: both close the
// link.
macro_rules! transport_errors_test {
    ($name:ident, $new:path, $run:path) => {
        #[test]
        fn $name() {
            let (_, responder, _, _) = handshakes(13);
            let mut link = $new(
                Faulty {
                    fault: Fault::ReadError,
                    reads: 0,
                },
                channel(responder, 256),
            );
            let mut buf = vec![0u8; 512];
            let e = $run(link.handshake(&mut buf, NEVER));
            assert_eq!(e, Err(Error::Read(embedded_io::ErrorKind::Interrupted)));
            assert!(!e.unwrap_err().is_fatal());
            let e = $run(link.handshake(&mut buf, NEVER));
            assert_eq!(e, Err(Error::Read(embedded_io::ErrorKind::Interrupted)));
            assert_eq!(link.io_mut().reads, 2);
            let err: &dyn std::error::Error = &Error::Read(embedded_io::ErrorKind::Interrupted);
            assert!(err.source().is_some());

            for (fault, want) in [
                (Fault::WriteZero, Error::WriteZero),
                (
                    Fault::WriteError,
                    Error::Write(embedded_io::ErrorKind::BrokenPipe),
                ),
            ] {
                let (initiator, _, _, _) = handshakes(13);
                let mut link = $new(Faulty { fault, reads: 0 }, channel(initiator, 256));
                let e = $run(link.handshake(&mut buf, NEVER)).unwrap_err();
                assert_eq!(e, want);
                assert!(e.is_fatal());
                assert_eq!($run(link.handshake(&mut buf, NEVER)), Err(Error::Closed));
                assert_eq!(link.io_mut().reads, 0);
            }
        }
    };
}

fn block_on<F: Future>(f: F) -> F::Output {
    run_both(f, std::future::ready(())).0
}

/// The blocking flavour's "executor".
fn ident<T>(t: T) -> T {
    t
}

transport_errors_test!(transport_errors_blocking, FramedNoise::new, ident);
transport_errors_test!(
    transport_errors_asynchronous,
    AsyncFramedNoise::new,
    block_on
);

// ------------------------------------------------- async cancellation

/// Polls `f` once and drops it (a `select` that chose another branch).
fn poll_once_and_drop<F: Future>(f: F) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(f).poll(&mut cx).is_ready()
}

type AsyncLink = AsyncFramedNoise<AsyncEnd, P, Vec<u8>>;

/// Established async links over a duplex pipe of `capacity` bytes.
fn established_async(capacity: usize, seed: u64) -> (AsyncLink, AsyncLink) {
    let (ea, eb) = duplex(capacity);
    let (ha, hb, _, _) = handshakes(seed);
    let mut a = AsyncFramedNoise::new(AsyncEnd(ea), channel(ha, 256));
    let mut b = AsyncFramedNoise::new(AsyncEnd(eb), channel(hb, 256));
    let (ra, rb) = run_both(
        async {
            let mut buf = vec![0u8; 512];
            a.handshake(&mut buf, NEVER).await
        },
        async {
            let mut buf = vec![0u8; 512];
            b.handshake(&mut buf, NEVER).await
        },
    );
    ra.unwrap();
    rb.unwrap();
    (a, b)
}

// Dropping a receive future that is waiting loses nothing: with a frame
// delivered a few bytes at a time and the receive future polled (and
// dropped) after each piece, a last receive gets the whole message.
#[test]
fn async_receive_is_cancel_safe() {
    let (a, mut b) = established_async(4096, 14);
    let (mut io_a, mut ch_a) = a.into_parts();
    let mut buf = vec![0u8; 512];
    let n = ch_a.write_message(b"hello there", &mut buf).unwrap();
    assert_eq!(n, PREFIX_LEN + 11 + TAG_LEN);
    let mut plain = vec![0u8; 512];
    for piece in buf[..n - 1].chunks(3) {
        let mut rest = piece;
        while !rest.is_empty() {
            rest = &rest[io_a.0.try_write(rest).unwrap()..];
        }
        assert!(!poll_once_and_drop(b.receive(&mut plain)));
        assert_eq!(b.io_mut().0.pending(), 0, "every byte went to the channel");
    }
    assert!(io_a.0.try_write(&buf[n - 1..n]) == Some(1));
    let got = block_on(b.receive(&mut plain)).unwrap().unwrap();
    assert_eq!(&plain[..got], b"hello there");
    // Still in step: a reply the other way.
    let mut a = AsyncFramedNoise::new(io_a, ch_a);
    block_on(b.send(b"reply", &mut buf)).unwrap();
    let got = block_on(a.receive(&mut plain)).unwrap().unwrap();
    assert_eq!(&plain[..got], b"reply");
}

// Dropping a send future while its frame is half written closes the link:
// the next call says Closed instead of writing a second frame after half a
// first one.
#[test]
fn async_send_cancelled_mid_write_closes_the_link() {
    // A pipe of 8 bytes: a 37-byte frame cannot be written in one go.
    let (_a, mut b) = established_async(8, 15);
    // The handshake left nothing in b's outgoing pipe (the initiator read it).
    let mut buf = vec![0u8; 512];
    assert!(!poll_once_and_drop(b.send(b"a longer message", &mut buf)));
    assert_eq!(block_on(b.send(b"x", &mut buf)), Err(Error::Closed));
    assert_eq!(block_on(b.receive(&mut buf)), Err(Error::Closed));
}
