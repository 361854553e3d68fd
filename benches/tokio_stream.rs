//! The tokio Noise stream adapter over loopback TCP, side by side with its
//! anchors in the same run:
//!
//! 1. **Throughput**: one socket pair per run, a sender task and a receiver
//!    task; MB/s of payload (10^6 B/s) for `noise` (the adapter's
//!    `NoiseStream`, `feed` per message, one `flush` at the end;
//!    Noise_XX_25519_ChaChaPoly_BLAKE2s, ring provider), `noise+bufw`
//!    (the same over a 64 KiB `tokio::io::BufWriter`, so small frames share
//!    write calls), and `codec` (plain `tokio_util::codec::Framed` with
//!    `LengthDelimitedCodec`, no encryption: `feed` per message, `flush` at
//!    the end, `next` on the receiving side). The ratio is noise / codec.
//! 2. **Handshakes per second** over loopback TCP, each a fresh connection
//!    (connect, accept, the whole XX handshake): the adapter
//!    (`connect_tcp` + `accept`) with the ring provider and, built with
//!    feature `aws-lc`, with the aws-lc provider; snow 0.10 (default
//!    resolver) framed by hand the same way; and the floor of plain TCP
//!    (connect, accept, a 1-byte round trip). Ratios: each adapter / snow
//!    and adapter / TCP.
//!
//! Everything runs on ONE current-thread tokio runtime, so the work of both
//! ends, syscalls included, is on one thread: besides wall time, the
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) is measured, which other
//! processes on a shared machine do not inflate. Rounds alternate the
//! columns (order rotated per round); the medians over the rounds are
//! reported, and the ratios are medians of the per-round ratios.
//!
//! ```sh
//! cargo bench --features tokio --bench tokio_stream
//! cargo bench --features tokio,aws-lc --bench tokio_stream   # both providers
//! ```

use std::future::poll_fn;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream as _;
use hyperport::adapters::tokio::{NoiseStream, StreamConfig, accept, connect, connect_tcp};
use hyperport::crypto::Ring as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::{Builder, HandshakeState};
use hyperport::rng::SeededRng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

const XX: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
const SIZES: [usize; 4] = [64, 1400, 16_384, 65_519];
const ROUNDS: usize = 11;
/// Payload bytes per throughput run (fewer for tiny messages).
fn total_bytes(size: usize) -> usize {
    if size < 1000 { 8 << 20 } else { 64 << 20 }
}
const HANDSHAKES_PER_RUN: usize = 200;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall and thread-CPU time of `f`.
async fn timed<F: std::future::Future<Output = ()>>(f: F) -> (Duration, Duration) {
    let (w, c) = (Instant::now(), thread_cpu());
    f.await;
    (w.elapsed(), thread_cpu() - c)
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (a, b) = tokio::join!(TcpStream::connect(addr), l.accept());
    let (a, b) = (a.unwrap(), b.unwrap().0);
    a.set_nodelay(true).unwrap();
    b.set_nodelay(true).unwrap();
    (a, b)
}

fn handshakes(rng: &mut SeededRng) -> (HandshakeState<P>, HandshakeState<P>) {
    let a = Builder::from_name(XX)
        .unwrap()
        .local_static(KeyPair::generate(rng))
        .build_initiator::<P>(rng)
        .unwrap();
    let b = Builder::from_name(XX)
        .unwrap()
        .local_static(KeyPair::generate(rng))
        .build_responder::<P>(rng)
        .unwrap();
    (a, b)
}

async fn noise_pair<A, B>(a: A, b: B, rng: &mut SeededRng) -> (NoiseStream<A, P>, NoiseStream<B, P>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (ha, hb) = handshakes(rng);
    let cfg = StreamConfig::new();
    let (x, y) = tokio::join!(connect(a, ha, &cfg), accept(b, hb, &cfg));
    (x.unwrap(), y.unwrap())
}

async fn noise_run<A, B>(mut tx: NoiseStream<A, P>, mut rx: NoiseStream<B, P>, size: usize)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let count = total_bytes(size) / size;
    let msg = vec![0x5a; size];
    let send = async {
        for _ in 0..count {
            tx.feed(&msg).await.unwrap();
        }
        tx.flush().await.unwrap();
    };
    let recv = async {
        let mut got = 0;
        for _ in 0..count {
            got += rx.recv().await.unwrap().unwrap().len();
        }
        assert_eq!(got, count * size);
    };
    tokio::join!(send, recv);
}

async fn codec_run(a: TcpStream, b: TcpStream, size: usize) {
    let count = total_bytes(size) / size;
    let mut tx = Framed::new(a, LengthDelimitedCodec::new());
    let mut rx = Framed::new(b, LengthDelimitedCodec::new());
    let msg = Bytes::from(vec![0x5a; size]);
    let send = async {
        for _ in 0..count {
            // `SinkExt::feed`: wait for room, queue the frame.
            poll_fn(|cx| futures_sink::Sink::<Bytes>::poll_ready(Pin::new(&mut tx), cx))
                .await
                .unwrap();
            futures_sink::Sink::<Bytes>::start_send(Pin::new(&mut tx), msg.clone()).unwrap();
        }
        poll_fn(|cx| futures_sink::Sink::<Bytes>::poll_flush(Pin::new(&mut tx), cx))
            .await
            .unwrap();
    };
    let recv = async {
        let mut got = 0;
        for _ in 0..count {
            let m = poll_fn(|cx| Pin::new(&mut rx).poll_next(cx))
                .await
                .unwrap()
                .unwrap();
            got += m.len();
        }
        assert_eq!(got, count * size);
    };
    tokio::join!(send, recv);
}

#[derive(Clone, Copy, Debug)]
enum Tp {
    Noise,
    Codec,
}

async fn throughput_once(col: Tp, size: usize, rng: &mut SeededRng) -> (Duration, Duration) {
    let (a, b) = tcp_pair().await;
    match col {
        Tp::Noise => {
            let (x, y) = noise_pair(a, b, rng).await;
            timed(noise_run(x, y, size)).await
        }
        Tp::Codec => timed(codec_run(a, b, size)).await,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

// ------------------------------------------------------------ handshakes

#[derive(Clone, Copy, Debug)]
enum Hs {
    /// The adapter with the ring provider (the default build).
    Adapter,
    /// The adapter with the aws-lc provider (feature `aws-lc`).
    #[cfg(feature = "aws-lc")]
    AdapterAwsLc,
    Snow,
    Tcp,
}

impl Hs {
    /// Every column of this build, adapters first.
    fn all() -> Vec<Hs> {
        let mut v = vec![Hs::Adapter];
        #[cfg(feature = "aws-lc")]
        v.push(Hs::AdapterAwsLc);
        v.extend([Hs::Snow, Hs::Tcp]);
        v
    }

    fn name(self) -> &'static str {
        match self {
            Hs::Adapter => "adapter (ring)",
            #[cfg(feature = "aws-lc")]
            Hs::AdapterAwsLc => "adapter (aws-lc)",
            Hs::Snow => "snow",
            Hs::Tcp => "plain TCP",
        }
    }
}

/// One adapter handshake over a fresh loopback connection with provider
/// `Q`; key generation for the ephemerals is part of it.
async fn adapter_handshake<Q: hyperport::crypto::Provider>(
    l: &TcpListener,
    keys: (&KeyPair, &KeyPair),
    cfg: &StreamConfig,
    rng: &mut SeededRng,
) {
    let addr = l.local_addr().unwrap();
    let ha = Builder::from_name(XX)
        .unwrap()
        .local_static(keys.0.clone())
        .build_initiator::<Q>(rng)
        .unwrap();
    let hb = Builder::from_name(XX)
        .unwrap()
        .local_static(keys.1.clone())
        .build_responder::<Q>(rng)
        .unwrap();
    let server = async {
        let (s, _) = l.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        accept(s, hb, cfg).await.unwrap()
    };
    let (x, y) = tokio::join!(connect_tcp(addr, ha, cfg), server);
    std::hint::black_box((x.unwrap(), y));
}

async fn snow_frame_write(s: &mut TcpStream, msg: &[u8]) {
    let mut wire = Vec::with_capacity(4 + msg.len());
    wire.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    wire.extend_from_slice(msg);
    s.write_all(&wire).await.unwrap();
}

async fn snow_frame_read(s: &mut TcpStream, buf: &mut [u8]) -> usize {
    let mut p = [0u8; 4];
    s.read_exact(&mut p).await.unwrap();
    let n = u32::from_be_bytes(p) as usize;
    s.read_exact(&mut buf[..n]).await.unwrap();
    n
}

async fn snow_handshake(mut s: TcpStream, mut hs: snow::HandshakeState) {
    let mut msg = vec![0u8; 1024];
    let mut rd = vec![0u8; 1024];
    let mut plain = vec![0u8; 1024];
    while !hs.is_handshake_finished() {
        if hs.is_my_turn() {
            let n = hs.write_message(&[], &mut msg).unwrap();
            snow_frame_write(&mut s, &msg[..n]).await;
        } else {
            let n = snow_frame_read(&mut s, &mut rd).await;
            hs.read_message(&rd[..n], &mut plain).unwrap();
        }
    }
    std::hint::black_box(hs.into_transport_mode().unwrap());
}

async fn handshakes_once(col: Hs, rng: &mut SeededRng) -> (Duration, Duration) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let cfg = StreamConfig::new();
    let ours_a = KeyPair::generate(rng);
    let ours_b = KeyPair::generate(rng);
    let params: snow::params::NoiseParams = XX.parse().unwrap();
    let (sa, sb) = (ours_a.secret_bytes(), ours_b.secret_bytes());
    timed(async {
        for _ in 0..HANDSHAKES_PER_RUN {
            match col {
                Hs::Adapter => adapter_handshake::<P>(&l, (&ours_a, &ours_b), &cfg, rng).await,
                #[cfg(feature = "aws-lc")]
                Hs::AdapterAwsLc => {
                    adapter_handshake::<hyperport::crypto::AwsLc>(&l, (&ours_a, &ours_b), &cfg, rng)
                        .await
                }
                Hs::Snow => {
                    let hi = snow::Builder::new(params.clone())
                        .local_private_key(&sa)
                        .unwrap()
                        .build_initiator()
                        .unwrap();
                    let hr = snow::Builder::new(params.clone())
                        .local_private_key(&sb)
                        .unwrap()
                        .build_responder()
                        .unwrap();
                    let client = async {
                        let s = TcpStream::connect(addr).await.unwrap();
                        s.set_nodelay(true).unwrap();
                        snow_handshake(s, hi).await;
                    };
                    let server = async {
                        let (s, _) = l.accept().await.unwrap();
                        s.set_nodelay(true).unwrap();
                        snow_handshake(s, hr).await;
                    };
                    tokio::join!(client, server);
                }
                Hs::Tcp => {
                    let client = async {
                        let mut s = TcpStream::connect(addr).await.unwrap();
                        s.set_nodelay(true).unwrap();
                        s.write_all(&[1]).await.unwrap();
                        let mut b = [0u8; 1];
                        s.read_exact(&mut b).await.unwrap();
                    };
                    let server = async {
                        let (mut s, _) = l.accept().await.unwrap();
                        s.set_nodelay(true).unwrap();
                        let mut b = [0u8; 1];
                        s.read_exact(&mut b).await.unwrap();
                        s.write_all(&b).await.unwrap();
                    };
                    tokio::join!(client, server);
                }
            }
        }
    })
    .await
}

async fn run() {
    let mut rng = SeededRng::from_u64(1);
    println!("## Throughput over loopback TCP ({ROUNDS} rounds, medians, MB/s of payload)\n");
    println!(
        "| payload | noise wall | codec wall | noise / codec (wall) | noise cpu | codec cpu | noise / codec (cpu) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let cols = [Tp::Noise, Tp::Codec];
    for size in SIZES {
        let bytes = (total_bytes(size) / size * size) as f64;
        let (mut wall, mut cpu) = (vec![Vec::new(); 2], vec![Vec::new(); 2]);
        let (mut ratio_w, mut ratio_c) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let mut this = [(0.0, 0.0); 2];
            for k in 0..2 {
                let i = (k + round) % 2;
                let (w, c) = throughput_once(cols[i], size, &mut rng).await;
                this[i] = (bytes / w.as_secs_f64() / 1e6, bytes / c.as_secs_f64() / 1e6);
            }
            for i in 0..2 {
                wall[i].push(this[i].0);
                cpu[i].push(this[i].1);
            }
            ratio_w.push(this[0].0 / this[1].0);
            ratio_c.push(this[0].1 / this[1].1);
        }
        let m = |v: &Vec<f64>| median(v.clone());
        println!(
            "| {size} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} |",
            m(&wall[0]),
            m(&wall[1]),
            m(&ratio_w),
            m(&cpu[0]),
            m(&cpu[1]),
            m(&ratio_c),
        );
    }

    println!(
        "\n## Handshakes per second over loopback TCP (XX, {HANDSHAKES_PER_RUN} per run, {ROUNDS} rounds, medians)\n"
    );
    let cols = Hs::all();
    let snow = cols.iter().position(|c| matches!(c, Hs::Snow)).unwrap();
    let tcp = cols.iter().position(|c| matches!(c, Hs::Tcp)).unwrap();
    let adapters = snow; // the adapter columns come first
    let n = cols.len();
    let mut head = String::from("| clock |");
    for c in &cols {
        head += &format!(" {} |", c.name());
    }
    for c in &cols[..adapters] {
        head += &format!(" {} / snow | {} / TCP |", c.name(), c.name());
    }
    println!("{head}");
    println!("|---|{}", "---:|".repeat(n + 2 * adapters));
    let mut wall = vec![Vec::new(); n];
    let mut cpu = vec![Vec::new(); n];
    // Per adapter: ratios to snow and to TCP, per round (wall, CPU).
    let mut rw = vec![Vec::new(); 2 * adapters];
    let mut rc = vec![Vec::new(); 2 * adapters];
    for round in 0..ROUNDS {
        let mut this = vec![(0.0, 0.0); n];
        for k in 0..n {
            let i = (k + round) % n;
            let (w, c) = handshakes_once(cols[i], &mut rng).await;
            let per = HANDSHAKES_PER_RUN as f64;
            this[i] = (per / w.as_secs_f64(), per / c.as_secs_f64());
        }
        for i in 0..n {
            wall[i].push(this[i].0);
            cpu[i].push(this[i].1);
        }
        for a in 0..adapters {
            rw[2 * a].push(this[a].0 / this[snow].0);
            rw[2 * a + 1].push(this[a].0 / this[tcp].0);
            rc[2 * a].push(this[a].1 / this[snow].1);
            rc[2 * a + 1].push(this[a].1 / this[tcp].1);
        }
    }
    let m = |v: &Vec<f64>| median(v.clone());
    for (clock, rates, ratios) in [("wall", &wall, &rw), ("thread CPU", &cpu, &rc)] {
        let mut row = format!("| {clock} |");
        for r in rates.iter() {
            row += &format!(" {:.0} |", m(r));
        }
        for r in ratios.iter() {
            row += &format!(" {:.2} |", m(r));
        }
        println!("{row}");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}
