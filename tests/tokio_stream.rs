//! The tokio Noise stream adapter (`hyperport::adapters::tokio::stream`):
//! handshakes of many patterns over in-memory pipes, the message API and
//! the byte-stream view, the handshake deadline under paused time, pinning,
//! and every failure that must close a stream (framing error, failed
//! decryption, I/O errors) — each checked to close it for good, never to
//! read from the transport again.

#![cfg(feature = "ring")]

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyperport::adapters::tokio::stream::{
    DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_WRITE_TIMEOUT, NoiseStream, StreamConfig, StreamError,
};
use hyperport::adapters::tokio::{accept, connect};
use hyperport::channel::{Channel, MAX_FRAME_LEN, MAX_PAYLOAD_LEN, RecvError};
use hyperport::crypto::Ring as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::framing::DecodeError;
use hyperport::noise::pattern::Token;
use hyperport::noise::{Builder, HandshakeState, NoiseParams};
use hyperport::rng::{RngCore, SeededRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

const XX: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";

struct Keys {
    a: KeyPair,
    b: KeyPair,
}

fn keys(seed: u64) -> Keys {
    let mut rng = SeededRng::from_u64(seed);
    Keys {
        a: KeyPair::generate(&mut rng),
        b: KeyPair::generate(&mut rng),
    }
}

/// Both handshake states for `name`, each side given what its pattern
/// needs: its static key, the peer's static key when the pattern's
/// pre-message holds it, a PSK for `pskN` patterns.
fn handshakes(name: &str, k: &Keys, seed: u64) -> (HandshakeState<P>, HandshakeState<P>) {
    let params = NoiseParams::parse(name).unwrap();
    let pattern = params.pattern();
    let sends_s = |alice: bool| {
        pattern
            .messages()
            .iter()
            .enumerate()
            .any(|(i, m)| pattern.alice_sends(i) == alice && m.tokens().contains(&Token::S))
    };
    let mut rng = SeededRng::from_u64(seed);
    let mut a = Builder::from_name(name).unwrap();
    let mut b = Builder::from_name(name).unwrap();
    if pattern.pre_alice().has_s() || sends_s(true) {
        a = a.local_static(k.a.clone());
    }
    if pattern.pre_bob().has_s() || sends_s(false) {
        b = b.local_static(k.b.clone());
    }
    if pattern.pre_bob().has_s() {
        a = a.remote_static(*k.b.public());
    }
    if pattern.pre_alice().has_s() {
        b = b.remote_static(*k.a.public());
    }
    for &pos in params.psk_positions() {
        a = a.psk(pos, [7; 32]);
        b = b.psk(pos, [7; 32]);
    }
    (
        a.build_initiator::<P>(&mut rng).unwrap(),
        b.build_responder::<P>(&mut rng).unwrap(),
    )
}

type Duplex = NoiseStream<DuplexStream, P>;

async fn pair_with(name: &str, ca: &StreamConfig, cb: &StreamConfig) -> (Duplex, Duplex) {
    let k = keys(1);
    let (ha, hb) = handshakes(name, &k, 2);
    let (x, y) = tokio::io::duplex(1 << 20);
    let (a, b) = tokio::join!(connect(x, ha, ca), accept(y, hb, cb));
    (a.unwrap(), b.unwrap())
}

async fn pair(name: &str) -> (Duplex, Duplex) {
    pair_with(name, &StreamConfig::new(), &StreamConfig::new()).await
}

fn payload(rng: &mut SeededRng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

#[tokio::test]
async fn every_two_way_pattern_handshakes_and_carries_messages() {
    let names = [
        "Noise_NN_25519_ChaChaPoly_BLAKE2s",
        "Noise_NK_25519_ChaChaPoly_SHA256",
        "Noise_NX_25519_AESGCM_SHA512",
        "Noise_KN_25519_ChaChaPoly_BLAKE2b",
        "Noise_KK_25519_AESGCM_BLAKE2s",
        "Noise_KX_25519_ChaChaPoly_BLAKE2s",
        "Noise_XN_25519_ChaChaPoly_BLAKE2s",
        "Noise_XK_25519_ChaChaPoly_BLAKE2s",
        XX,
        "Noise_IN_25519_ChaChaPoly_BLAKE2s",
        "Noise_IK_25519_ChaChaPoly_BLAKE2s",
        "Noise_IX_25519_ChaChaPoly_BLAKE2s",
        "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s",
        "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s",
        "Noise_X1X1_25519_ChaChaPoly_BLAKE2s",
    ];
    let k = keys(1);
    for name in names {
        let (mut a, mut b) = pair(name).await;
        assert_eq!(a.handshake_hash(), b.handshake_hash(), "{name}");
        assert!(!a.handshake_hash().is_empty());
        // Each side learns the other's static key where the pattern
        // pre-knows or transmits it.
        let params = NoiseParams::parse(name).unwrap();
        let pat = params.pattern();
        let sent_by = |alice: bool| {
            pat.messages()
                .iter()
                .enumerate()
                .any(|(i, m)| pat.alice_sends(i) == alice && m.tokens().contains(&Token::S))
        };
        let a_knows_b = pat.pre_bob().has_s() || sent_by(false);
        let b_knows_a = pat.pre_alice().has_s() || sent_by(true);
        assert_eq!(
            a.remote_static(),
            a_knows_b.then_some(k.b.public()),
            "{name}"
        );
        assert_eq!(
            b.remote_static(),
            b_knows_a.then_some(k.a.public()),
            "{name}"
        );
        a.send(b"ping").await.unwrap();
        assert_eq!(&b.recv().await.unwrap().unwrap()[..], b"ping", "{name}");
        b.send(b"pong").await.unwrap();
        assert_eq!(&a.recv().await.unwrap().unwrap()[..], b"pong", "{name}");
    }
}

#[tokio::test]
async fn messages_of_every_size_class_round_trip_in_order() {
    let (mut a, mut b) = pair(XX).await;
    assert_eq!(a.max_message_len(), MAX_PAYLOAD_LEN);
    let mut rng = SeededRng::from_u64(9);
    let mut sizes = vec![0, 1, 15, 16, 17, 4095, 4096, 4097, 65_518, MAX_PAYLOAD_LEN];
    for _ in 0..40 {
        sizes.push(rng.next_u32() as usize % (MAX_PAYLOAD_LEN + 1));
    }
    let msgs: Vec<Vec<u8>> = sizes.iter().map(|&n| payload(&mut rng, n)).collect();
    let sent = msgs.clone();
    let writer = tokio::spawn(async move {
        for m in &sent {
            a.feed(m).await.unwrap();
        }
        a.flush().await.unwrap();
        a.close().await.unwrap();
        a
    });
    for m in &msgs {
        let got = b.recv().await.unwrap().unwrap();
        assert_eq!(got.len(), m.len());
        assert!(got[..] == m[..]);
    }
    // The peer closed on a frame boundary: a clean end.
    assert!(b.recv().await.unwrap().is_none());
    assert!(b.recv().await.unwrap().is_none());
    let a = writer.await.unwrap();
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.messages_sent, msgs.len() as u64);
    assert_eq!(sb.messages_received, msgs.len() as u64);
    let wire: u64 = msgs.iter().map(|m| (m.len() + 20) as u64).sum();
    assert_eq!(sa.bytes_sent, wire);
    assert_eq!(sb.bytes_received, wire);
    assert_eq!((sa.send_errors, sb.recv_errors), (0, 0));
}

#[tokio::test]
async fn too_long_message_is_refused_without_closing() {
    let (mut a, mut b) = pair(XX).await;
    let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
    let e = a.send(&big).await.unwrap_err();
    assert!(
        matches!(e, StreamError::MessageTooLong { len, max } if len == MAX_PAYLOAD_LEN + 1 && max == MAX_PAYLOAD_LEN)
    );
    assert!(!e.is_fatal());
    a.send(b"still fine").await.unwrap();
    assert_eq!(&b.recv().await.unwrap().unwrap()[..], b"still fine");
}

#[tokio::test]
async fn smaller_frame_cap_limits_both_directions() {
    let cfg = StreamConfig::new().with_max_frame_len(1024);
    let (mut a, mut b) = pair_with(XX, &cfg, &cfg).await;
    assert_eq!(a.max_message_len(), 1024 - 16);
    a.send(&[5u8; 1008]).await.unwrap();
    assert_eq!(b.recv().await.unwrap().unwrap().len(), 1008);
    assert!(matches!(
        a.send(&[5u8; 1009]).await,
        Err(StreamError::MessageTooLong { max: 1008, .. })
    ));
    assert!(matches!(
        connect(
            tokio::io::duplex(64).0,
            handshakes(XX, &keys(1), 3).0,
            &StreamConfig::new().with_max_frame_len(100)
        )
        .await,
        Err(StreamError::InvalidConfig(_))
    ));
}

#[tokio::test]
async fn split_halves_run_in_two_tasks() {
    let (a, mut b) = pair(XX).await;
    let (mut rx, mut tx) = a.into_split();
    let sender = tokio::spawn(async move {
        for i in 0..200u32 {
            tx.send(&i.to_be_bytes()).await.unwrap();
        }
        tx.close().await.unwrap();
        tx.stats()
    });
    let echo = tokio::spawn(async move {
        while let Some(m) = b.recv().await.unwrap() {
            b.send(&m).await.unwrap();
        }
        b.close().await.unwrap();
    });
    for i in 0..200u32 {
        let m = rx.recv().await.unwrap().unwrap();
        assert_eq!(&m[..], &i.to_be_bytes());
    }
    assert!(rx.recv().await.unwrap().is_none());
    let stats = sender.await.unwrap();
    echo.await.unwrap();
    assert_eq!(stats.messages_sent, 200);
    assert_eq!(rx.stats().messages_received, 200);
}

#[tokio::test]
async fn byte_stream_view_carries_bytes_across_message_boundaries() {
    let (a, mut b) = pair(XX).await;
    let mut bytes_a = a.into_byte_stream();
    let mut rng = SeededRng::from_u64(4);
    let data = payload(&mut rng, 300_000);
    let expect = data.clone();
    let echo = tokio::spawn(async move {
        let mut n = 0;
        while let Some(m) = b.recv().await.unwrap() {
            // Every message but the last is full.
            assert!(m.len() <= MAX_PAYLOAD_LEN);
            n += m.len();
            b.send(&m).await.unwrap();
        }
        b.close().await.unwrap();
        n
    });
    // Write in odd chunks, shut down (flushes the partial last message).
    let (mut r, mut w) = tokio::io::split(&mut bytes_a);
    let write = async {
        for chunk in data.chunks(7_777) {
            w.write_all(chunk).await.unwrap();
        }
        w.shutdown().await.unwrap();
    };
    let read = async {
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.unwrap();
        back
    };
    let ((), back) = tokio::join!(write, read);
    assert_eq!(echo.await.unwrap(), expect.len());
    assert!(back == expect);
    // 300,000 bytes = 4 full messages of 65,519 and a rest.
    assert_eq!(bytes_a.stats().messages_sent, 5);
}

#[tokio::test]
async fn pinned_key_is_required() {
    let k = keys(1);
    // The right key: fine.
    let (ha, hb) = handshakes(XX, &k, 5);
    let (x, y) = tokio::io::duplex(1 << 16);
    let pin_b = StreamConfig::new().require_remote_static(*k.b.public());
    let pin_a = StreamConfig::new().require_remote_static(*k.a.public());
    let (a, b) = tokio::join!(connect(x, ha, &pin_b), accept(y, hb, &pin_a));
    assert_eq!(a.unwrap().remote_static(), Some(k.b.public()));
    assert!(b.is_ok());
    // Another key: the initiator refuses the responder as soon as message 2
    // reveals it; the responder then sees the stream end mid-handshake.
    let (ha, hb) = handshakes(XX, &k, 6);
    let (x, y) = tokio::io::duplex(1 << 16);
    let wrong = StreamConfig::new().require_remote_static([9; 32]);
    let (a, b) = tokio::join!(connect(x, ha, &wrong), accept(y, hb, &StreamConfig::new()));
    assert!(
        matches!(a, Err(StreamError::Recv(RecvError::UnexpectedPeer))),
        "{a:?}"
    );
    assert!(
        matches!(b, Err(StreamError::Recv(RecvError::EndedInHandshake))),
        "{b:?}"
    );
}

#[tokio::test]
async fn wrong_role_is_refused_before_any_io() {
    let (ha, hb) = handshakes(XX, &keys(1), 7);
    let (x, mut y) = tokio::io::duplex(64);
    assert!(matches!(
        connect(x, hb, &StreamConfig::new()).await,
        Err(StreamError::WrongRole { initiator: false })
    ));
    let (x2, _y2) = tokio::io::duplex(64);
    assert!(matches!(
        accept(x2, ha, &StreamConfig::new()).await,
        Err(StreamError::WrongRole { initiator: true })
    ));
    // Nothing was written (the dropped end reads as EOF).
    let mut buf = [0u8; 8];
    assert_eq!(y.read(&mut buf).await.unwrap(), 0);
}

/// A peer that connects and sends nothing is dropped exactly at the
/// handshake deadline (paused tokio time: no real waiting), and the
/// connection is closed (the peer reads EOF).
#[tokio::test(start_paused = true)]
async fn silent_peer_is_dropped_at_the_handshake_deadline() {
    let (_, hb) = handshakes(XX, &keys(1), 8);
    let (mut peer, ours) = tokio::io::duplex(1 << 16);
    let started = tokio::time::Instant::now();
    let cfg = StreamConfig::new();
    // The outer timeout only catches a missing deadline (the test then fails).
    let r = tokio::time::timeout(DEFAULT_HANDSHAKE_TIMEOUT * 3, accept(ours, hb, &cfg))
        .await
        .expect("the handshake deadline did not fire");
    assert!(
        matches!(r, Err(StreamError::HandshakeTimeout { after }) if after == DEFAULT_HANDSHAKE_TIMEOUT),
        "{r:?}"
    );
    assert_eq!(started.elapsed(), DEFAULT_HANDSHAKE_TIMEOUT);
    let mut buf = [0u8; 16];
    assert_eq!(
        peer.read(&mut buf).await.unwrap(),
        0,
        "connection not closed"
    );
}

/// The same over real loopback TCP (paused time auto-advances while the
/// runtime is idle): the silent client sees the server close.
#[tokio::test(start_paused = true)]
async fn silent_tcp_client_is_dropped_at_the_handshake_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sock, _) = listener.accept().await.unwrap();
    let (_, hb) = handshakes(XX, &keys(1), 9);
    let cfg = StreamConfig::new().with_handshake_timeout(Duration::from_secs(3));
    let started = tokio::time::Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(60), accept(sock, hb, &cfg))
        .await
        .expect("the handshake deadline did not fire");
    assert!(
        matches!(r, Err(StreamError::HandshakeTimeout { .. })),
        "{r:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let mut buf = [0u8; 16];
    assert_eq!(client.read(&mut buf).await.unwrap(), 0);
}

/// A peer that sends the first message and then stalls is dropped at the
/// deadline too (the deadline covers the whole handshake).
#[tokio::test(start_paused = true)]
async fn stalled_handshake_is_dropped_at_the_deadline() {
    let k = keys(1);
    let (ha, hb) = handshakes(XX, &k, 10);
    let (mut peer, ours) = tokio::io::duplex(1 << 16);
    // Hand-drive an initiator for message 1 only.
    let mut ch = Channel::new(ha, vec![0u8; 65_535]).unwrap();
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let n = ch.poll_handshake(&[], &mut out).unwrap().unwrap();
    peer.write_all(&out[..n]).await.unwrap();
    let started = tokio::time::Instant::now();
    let cfg = StreamConfig::new().with_handshake_timeout(Duration::from_secs(5));
    let r = tokio::time::timeout(Duration::from_secs(60), accept(ours, hb, &cfg))
        .await
        .expect("the handshake deadline did not fire");
    assert!(
        matches!(r, Err(StreamError::HandshakeTimeout { .. })),
        "{r:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

/// Transport frames that arrive in the same read as the last handshake
/// message are delivered, not lost.
#[tokio::test]
async fn transport_bytes_after_the_last_handshake_frame_are_kept() {
    let k = keys(1);
    let (ha, hb) = handshakes(XX, &k, 11);
    let (mut peer, ours) = tokio::io::duplex(1 << 20);
    let server = tokio::spawn(async move { accept(ours, hb, &StreamConfig::new()).await });
    let mut ch = Channel::new(ha, vec![0u8; 65_535]).unwrap();
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let mut plain = vec![0u8; 65_535];
    let n = ch.poll_handshake(&[], &mut out).unwrap().unwrap();
    peer.write_all(&out[..n]).await.unwrap();
    let mut rbuf = vec![0u8; 4096];
    while !ch.is_established() {
        let n = peer.read(&mut rbuf).await.unwrap();
        let mut input = &rbuf[..n];
        while ch.handle_input(&mut input, &mut plain).unwrap().is_some() {}
        // Message 3, then two transport frames, in ONE write.
        let mut batch = Vec::new();
        while let Some(n) = ch.poll_handshake(&[], &mut out).unwrap() {
            batch.extend_from_slice(&out[..n]);
        }
        for m in [&b"first"[..], b"second"] {
            let n = ch.write_message(m, &mut out).unwrap();
            batch.extend_from_slice(&out[..n]);
        }
        peer.write_all(&batch).await.unwrap();
    }
    let mut s = server.await.unwrap().unwrap();
    assert_eq!(&s.recv().await.unwrap().unwrap()[..], b"first");
    assert_eq!(&s.recv().await.unwrap().unwrap()[..], b"second");
}

// ------------------------------------------------------ fatal errors

/// Wraps a transport: counts read polls, and fails writes on demand.
struct Probe<T> {
    inner: T,
    reads: Arc<AtomicUsize>,
    fail_writes: Arc<AtomicBool>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Probe<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Probe<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "injected write failure",
            )));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct Probed {
    ours: NoiseStream<Probe<DuplexStream>, P>,
    /// The raw peer: a hand-driven channel over the other pipe end.
    peer: DuplexStream,
    peer_ch: Channel<P, Vec<u8>>,
    reads: Arc<AtomicUsize>,
    fail_writes: Arc<AtomicBool>,
}

async fn probed(cfg: StreamConfig) -> Probed {
    let k = keys(1);
    let (ha, hb) = handshakes(XX, &k, 12);
    let (peer, ours) = tokio::io::duplex(1 << 20);
    let reads = Arc::new(AtomicUsize::new(0));
    let fail_writes = Arc::new(AtomicBool::new(false));
    let probe = Probe {
        inner: ours,
        reads: reads.clone(),
        fail_writes: fail_writes.clone(),
    };
    let server = tokio::spawn(async move { accept(probe, hb, &cfg).await });
    let mut peer = peer;
    let mut ch = Channel::new(ha, vec![0u8; 65_535]).unwrap();
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let mut plain = vec![0u8; 65_535];
    let mut rbuf = vec![0u8; 4096];
    loop {
        while let Some(n) = ch.poll_handshake(&[], &mut out).unwrap() {
            peer.write_all(&out[..n]).await.unwrap();
        }
        if ch.is_established() {
            break;
        }
        let n = peer.read(&mut rbuf).await.unwrap();
        let mut input = &rbuf[..n];
        while ch.handle_input(&mut input, &mut plain).unwrap().is_some() {}
    }
    Probed {
        ours: server.await.unwrap().unwrap(),
        peer,
        peer_ch: ch,
        reads,
        fail_writes,
    }
}

impl Probed {
    async fn peer_sends(&mut self, msg: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; MAX_FRAME_LEN];
        let n = self.peer_ch.write_message(msg, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// After a fatal error: every call is `Closed`, the transport is never
    /// polled for reading again, and the counters say so.
    async fn assert_closed_for_good(&mut self) {
        let reads = self.reads.load(Ordering::SeqCst);
        // More bytes arrive; they must not be read.
        let _ = self.peer.write_all(&[0u8; 64]).await;
        for _ in 0..3 {
            assert!(matches!(self.ours.recv().await, Err(StreamError::Closed)));
        }
        assert!(matches!(
            self.ours.send(b"x").await,
            Err(StreamError::Closed)
        ));
        assert_eq!(
            self.reads.load(Ordering::SeqCst),
            reads,
            "read after a fatal error"
        );
        assert!(self.ours.is_closed());
        assert!(self.ours.stats().closed);
    }
}

#[tokio::test]
async fn frame_over_the_cap_is_refused_at_the_prefix() {
    let mut p = probed(StreamConfig::new().with_max_frame_len(1024)).await;
    // A good message first.
    let good = p.peer_sends(b"ok").await;
    p.peer.write_all(&good).await.unwrap();
    assert_eq!(&p.ours.recv().await.unwrap().unwrap()[..], b"ok");
    // Only a prefix declaring 1025 bytes: refused without waiting for a
    // body that never comes (the pipe stays open).
    p.peer.write_all(&1025u32.to_be_bytes()).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), p.ours.recv())
        .await
        .expect("waited for the body")
        .unwrap_err();
    assert!(
        matches!(
            e,
            StreamError::Recv(RecvError::Framing(DecodeError::FrameTooLong {
                declared: 1025,
                max: 1024
            }))
        ),
        "{e:?}"
    );
    assert!(e.is_fatal());
    assert_eq!(p.ours.stats().recv_errors, 1);
    p.assert_closed_for_good().await;
}

#[tokio::test]
async fn frame_over_65535_is_refused_at_the_prefix_by_default() {
    let mut p = probed(StreamConfig::new()).await;
    p.peer.write_all(&65_536u32.to_be_bytes()).await.unwrap();
    let e = p.ours.recv().await.unwrap_err();
    assert!(matches!(
        e,
        StreamError::Recv(RecvError::Framing(DecodeError::FrameTooLong {
            declared: 65_536,
            max: 65_535
        }))
    ));
    p.assert_closed_for_good().await;
}

#[tokio::test]
async fn failed_decryption_closes_the_stream() {
    let mut p = probed(StreamConfig::new()).await;
    let mut frame = p.peer_sends(&[1u8; 10_000]).await;
    frame[5_000] ^= 1;
    p.peer.write_all(&frame).await.unwrap();
    let e = p.ours.recv().await.unwrap_err();
    assert!(
        matches!(e, StreamError::Recv(RecvError::Transport(_))),
        "{e:?}"
    );
    assert_eq!(p.ours.stats().recv_errors, 1);
    p.assert_closed_for_good().await;
}

#[tokio::test]
async fn stream_cut_inside_a_frame_is_an_error_not_an_end() {
    let mut p = probed(StreamConfig::new()).await;
    let frame = p.peer_sends(b"cut short").await;
    p.peer.write_all(&frame[..frame.len() - 3]).await.unwrap();
    p.peer.shutdown().await.unwrap();
    let e = p.ours.recv().await.unwrap_err();
    assert!(
        matches!(
            e,
            StreamError::Recv(RecvError::Framing(DecodeError::EndedMidFrame { .. }))
        ),
        "{e:?}"
    );
    for _ in 0..2 {
        assert!(matches!(p.ours.recv().await, Err(StreamError::Closed)));
    }
}

/// Captures `tracing` events (level and message) for the send-error test.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", f.name(), v));
            }
        }
        let mut v = V(format!("{}", event.metadata().level()));
        event.record(&mut v);
        self.0.lock().unwrap().push(v.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A write error is returned, counted in the stats, reported as a `tracing`
/// warning, and closes the stream — never swallowed.
#[tokio::test(flavor = "current_thread")]
async fn send_error_is_counted_and_reported() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let mut p = probed(StreamConfig::new()).await;
    p.ours.send(b"fine").await.unwrap();
    assert_eq!(p.ours.stats().send_errors, 0);
    p.fail_writes.store(true, Ordering::SeqCst);
    let e = p.ours.send(b"doomed").await.unwrap_err();
    assert!(
        matches!(&e, StreamError::Io(io) if io.kind() == io::ErrorKind::ConnectionReset),
        "{e:?}"
    );
    let stats = p.ours.stats();
    assert_eq!(stats.send_errors, 1);
    // Both were sealed; the second never reached the transport.
    assert_eq!(stats.messages_sent, 2);
    assert_eq!(stats.bytes_sent, 4 + 20);
    assert!(stats.closed);
    let events = capture.0.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| e.starts_with("WARN")
            && e.contains("write failed")
            && e.contains("injected write failure")),
        "no warning event: {events:?}"
    );
    assert!(matches!(
        p.ours.send(b"again").await,
        Err(StreamError::Closed)
    ));
    assert_eq!(p.ours.stats().send_errors, 1);
}

/// A peer that stops reading: the send stalls on backpressure and fails at
/// the write timeout (paused time), counted as a send error.
#[tokio::test(start_paused = true)]
async fn peer_that_stops_reading_hits_the_write_timeout() {
    let k = keys(1);
    let (ha, hb) = handshakes(XX, &k, 13);
    // A small pipe: about 64 KiB in flight at most.
    let (x, y) = tokio::io::duplex(64 * 1024);
    let (a, b) = tokio::join!(
        connect(x, ha, &StreamConfig::new()),
        accept(y, hb, &StreamConfig::new())
    );
    let (mut a, _b_never_reads) = (a.unwrap(), b.unwrap());
    let big = vec![0u8; 60_000];
    let started = tokio::time::Instant::now();
    let mut sent = 0;
    let run = async {
        loop {
            match a.send(&big).await {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 10, "backpressure never applied");
        }
    };
    // The outer timeout only catches a missing write timeout.
    let e = tokio::time::timeout(DEFAULT_WRITE_TIMEOUT * 3, run)
        .await
        .expect("the write timeout did not fire");
    assert!(
        matches!(e, StreamError::WriteTimeout { after } if after == DEFAULT_WRITE_TIMEOUT),
        "{e:?}"
    );
    assert_eq!(started.elapsed(), DEFAULT_WRITE_TIMEOUT);
    assert_eq!(a.stats().send_errors, 1);
    assert!(matches!(a.send(b"x").await, Err(StreamError::Closed)));
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_closes_a_silent_stream() {
    let cfg = StreamConfig::new().with_idle_timeout(Some(Duration::from_secs(7)));
    let (mut a, mut b) = pair_with(XX, &StreamConfig::new(), &cfg).await;
    a.send(b"one").await.unwrap();
    assert_eq!(&b.recv().await.unwrap().unwrap()[..], b"one");
    let started = tokio::time::Instant::now();
    let e = tokio::time::timeout(Duration::from_secs(60), b.recv())
        .await
        .expect("the idle timeout did not fire")
        .unwrap_err();
    assert!(matches!(e, StreamError::IdleTimeout { .. }), "{e:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(7));
    assert!(matches!(b.recv().await, Err(StreamError::Closed)));
}

/// `recv` is cancel-safe: a receive abandoned halfway through a frame loses
/// nothing.
#[tokio::test]
async fn recv_is_cancel_safe() {
    let mut p = probed(StreamConfig::new()).await;
    let frame = p.peer_sends(&[3u8; 30_000]).await;
    p.peer.write_all(&frame[..10_000]).await.unwrap();
    // Give up on the receive while the frame is incomplete.
    let r = tokio::time::timeout(Duration::from_millis(50), p.ours.recv()).await;
    assert!(r.is_err());
    p.peer.write_all(&frame[10_000..]).await.unwrap();
    let m = p.ours.recv().await.unwrap().unwrap();
    assert_eq!(m.len(), 30_000);
    assert!(m.iter().all(|&b| b == 3));
}

/// The byte view maps fatal errors to `io::Error`s with the stream error
/// inside.
#[tokio::test]
async fn byte_view_reports_fatal_errors_as_invalid_data() {
    let mut p = probed(StreamConfig::new()).await;
    let mut frame = p.peer_sends(b"tampered").await;
    frame[6] ^= 0x80;
    p.peer.write_all(&frame).await.unwrap();
    let mut view = p.ours.into_byte_stream();
    let mut buf = [0u8; 64];
    let e = view.read(&mut buf).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert!(e.get_ref().unwrap().downcast_ref::<StreamError>().is_some());
    let e = view.read(&mut buf).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotConnected);
}

/// `feed` queues small messages (sharing write calls) until a flush or a
/// frame's worth; `send` writes at once.
#[tokio::test]
async fn feed_queues_until_flush_or_a_frame_worth() {
    let (mut a, mut b) = pair(XX).await;
    for i in 0..10u8 {
        a.feed(&[i; 100]).await.unwrap();
    }
    assert_eq!(a.stats().bytes_sent, 0, "written before a flush");
    assert!(
        tokio::time::timeout(Duration::from_millis(50), b.recv())
            .await
            .is_err()
    );
    a.flush().await.unwrap();
    assert_eq!(a.stats().bytes_sent, 10 * 120);
    for i in 0..10u8 {
        assert_eq!(&b.recv().await.unwrap().unwrap()[..], &[i; 100]);
    }
    // More than a frame's worth (65,539 bytes) queued: written without a flush.
    for _ in 0..70 {
        a.feed(&[7; 1000]).await.unwrap();
    }
    assert!(a.stats().bytes_sent >= 10 * 120 + 65_539);
    for _ in 0..60 {
        assert_eq!(b.recv().await.unwrap().unwrap().len(), 1000);
    }
    a.send(b"last").await.unwrap();
    for _ in 60..70 {
        b.recv().await.unwrap().unwrap();
    }
    assert_eq!(&b.recv().await.unwrap().unwrap()[..], b"last");
}
