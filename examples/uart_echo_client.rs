//! The host side of the Cortex-M UART echo image
//! (`no_std-tests/uart-echo.sh`): connects to QEMU's UART0 TCP socket, runs
//! `Noise_XX_25519_ChaChaPoly_BLAKE2s` as the initiator, sends transport
//! messages and checks each echo, then ends the session with an empty
//! message (the image echoes it and exits).
//!
//! ```sh
//! no_std-tests/uart-echo.sh 7400 --seed demo &      # the image, waiting on 127.0.0.1:7400
//! cargo run --example uart_echo_client --features embedded-io -- --port 7400 --seed demo
//! ```
//!
//! Two initiators, chosen with `--impl`:
//!
//! * `hyperport` (default): `adapters::embedded::FramedNoise` (the blocking
//!   embedded adapter) over `std::net::TcpStream`;
//! * `snow`: the independent snow implementation with its own framing code
//!   here (4-byte big-endian length, then the message), to show the image
//!   speaks plain Noise.
//!
//! Prints `handshake hash: HEX` and `server static key: HEX` (the image
//! prints the same hash), then one summary line. With `--seed` it requires
//! the server's static key to be the one the image derives from that seed
//! (`BLAKE2s-256("hyperport-uart-echo static key:" || SEED)` as the private
//! key). Exit status 0 when every echo matched, 1 on any failure, 2 on a bad
//! argument.
//!
//! `--pattern hybridXX` (`Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s`;
//! crate feature `mlkem`, a build without it refuses the name in one line)
//! talks to the image's hybrid variant (`uart-echo.sh --image hybrid`):
//! frame cap 4,096 bytes, payloads up to 4,080; with `--seed` the client
//! also requires the image's ML-KEM-768 public key, derived from the seed as
//! the image derives it (FIPS 203 seed `d || z`, `d` and `z` the BLAKE2s-256
//! of `"hyperport-uart-echo kem seed d:"` / `"... z:"` followed by SEED).
//! snow has no hybrid patterns: `--impl snow` is classical only.

#[path = "support/cli.rs"]
mod cli;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use embedded_io_adapters::std::FromStd;
use hyperport::adapters::embedded::FramedNoise;
use hyperport::channel::{Channel, PREFIX_LEN};
use hyperport::crypto::x25519::KeyPair;
use hyperport::crypto::{DefaultProvider as P, HashAlgorithm, Provider};
use hyperport::noise::Builder;
use hyperport::rng::SeededRng;

const PROTOCOL: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// The protocol of the image's hybrid variant.
const HYBRID_PROTOCOL: &str = "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s";
/// The image's frame cap (its channel storage).
const IMAGE_FRAME_CAP: usize = 1024;
/// The hybrid variant's frame cap.
const HYBRID_FRAME_CAP: usize = 4096;
const KEY_LABEL: &[u8] = b"hyperport-uart-echo static key:";
/// The labels of the image's ML-KEM seed halves (hybrid variant).
#[cfg(feature = "mlkem")]
const KEM_LABELS: [&[u8]; 2] = [
    b"hyperport-uart-echo kem seed d:",
    b"hyperport-uart-echo kem seed z:",
];

/// Noise_XX_25519_ChaChaPoly_BLAKE2s initiator for the UART echo image
/// (no_std-tests/uart-echo.sh): the handshake, N echoed messages, a final
/// empty one.
#[derive(Parser, Debug)]
#[command(name = "uart_echo_client")]
struct Args {
    /// TCP port of QEMU's UART0 socket.
    #[arg(long)]
    port: u16,
    /// Host of that socket.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Require the server static key the image derives from SEED.
    #[arg(long)]
    seed: Option<String>,
    /// Messages to send, each echoed.
    #[arg(long, default_value_t = 100)]
    messages: usize,
    /// Largest payload: the image's cap of 1,024-byte messages less the
    /// 16-byte tag at most (4,080 with --pattern hybridXX).
    #[arg(long, default_value_t = 1008, value_parser = clap::value_parser!(u16).range(1..=4080))]
    max_payload: u16,
    /// The image's protocol: XX (Noise_XX_25519_ChaChaPoly_BLAKE2s) or, for
    /// its hybrid variant, hybridXX
    /// (Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s; feature `mlkem`).
    #[arg(long, value_name = "NAME", default_value = "XX")]
    pattern: String,
    /// The initiator: hyperport's blocking embedded adapter, or snow.
    #[arg(long = "impl", value_enum, default_value_t = Impl::Hyperport)]
    implementation: Impl,
    /// Seconds for the connect retries, the handshake deadline and each read.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Impl {
    /// `adapters::embedded::FramedNoise` over `std::net::TcpStream`.
    Hyperport,
    /// snow, with the framing written here.
    Snow,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let hybrid = match args.pattern.as_str() {
        "XX" | PROTOCOL => false,
        "hybridXX" | HYBRID_PROTOCOL if cfg!(feature = "mlkem") => true,
        "hybridXX" | HYBRID_PROTOCOL => cli::fail(
            "--pattern hybridXX: this uart_echo_client was built without the `mlkem` feature \
             (rebuild with --features embedded-io,mlkem)",
        ),
        other => cli::fail(format_args!(
            "--pattern {other:?}: the image speaks {PROTOCOL} (XX) or, its hybrid variant, \
             {HYBRID_PROTOCOL} (hybridXX)"
        )),
    };
    if hybrid && args.implementation == Impl::Snow {
        cli::fail("--impl snow has no hybrid patterns: use --impl hyperport with hybridXX");
    }
    let cap = if hybrid {
        HYBRID_FRAME_CAP
    } else {
        IMAGE_FRAME_CAP
    };
    if usize::from(args.max_payload) > cap - 16 {
        cli::fail(format_args!(
            "--max-payload {} exceeds the image's {} (its frame cap {cap} less the tag)",
            args.max_payload,
            cap - 16
        ));
    }
    match run(&args, hybrid) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("uart_echo_client: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn run(args: &Args, hybrid: bool) -> Res<()> {
    let expected = args.seed.as_deref().map(image_public_key);
    let stream = connect(args)?;
    stream.set_read_timeout(Some(Duration::from_secs(args.timeout)))?;
    stream.set_nodelay(true)?;
    let started = Instant::now();
    let snow = args.implementation == Impl::Snow;
    let (sent, bytes) = if snow {
        run_snow(args, stream, expected)?
    } else {
        run_hyperport(args, stream, expected, hybrid)?
    };
    println!(
        "echoed {sent} messages each way ({bytes} payload bytes, 1..={} bytes each) and the final empty message, impl {}, {}, in {:.2} s",
        args.max_payload,
        if snow { "snow" } else { "hyperport" },
        if hybrid { HYBRID_PROTOCOL } else { PROTOCOL },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The image's static public key for `seed`.
fn image_public_key(seed: &str) -> [u8; 32] {
    let d = P::hash(HashAlgorithm::Blake2s, &[KEY_LABEL, seed.as_bytes()]);
    let mut secret = [0u8; 32];
    secret.copy_from_slice(d.as_bytes());
    *KeyPair::from_secret_bytes(secret).public()
}

/// The image's static ML-KEM-768 key pair for `seed` (hybrid variant).
#[cfg(feature = "mlkem")]
fn image_kem_key(seed: &str) -> hyperport::crypto::mlkem::KeyPair {
    let mut both = [0u8; 64];
    for (half, label) in both.chunks_mut(32).zip(KEM_LABELS) {
        half.copy_from_slice(P::hash(HashAlgorithm::Blake2s, &[label, seed.as_bytes()]).as_bytes());
    }
    hyperport::crypto::mlkem::KeyPair::from_seed(&both)
}

/// Connects, retrying while QEMU is not listening yet.
fn connect(args: &Args) -> Res<TcpStream> {
    let until = Instant::now() + Duration::from_secs(args.timeout);
    loop {
        match TcpStream::connect((args.host.as_str(), args.port)) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= until => {
                return Err(format!("cannot connect to {}:{}: {e}", args.host, args.port).into());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn os_random() -> Res<[u8; 32]> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

/// Message `i`: its length (the first is the largest, the second 1 byte,
/// the rest spread over 1..=max) and contents, from a fixed generator.
fn message(i: usize, max: usize) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = match i {
        0 => max,
        1 => 1,
        _ => 1 + (next() % max as u64) as usize,
    };
    (0..len).map(|_| next() as u8).collect()
}

/// The progress line: messages echoed so far.
fn echoed(done: usize, of: usize, bytes: usize) -> String {
    format!("{done}/{of} messages echoed ({bytes} payload bytes)")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn print_session(hash: &[u8], server: &[u8]) {
    println!("handshake hash: {}", hex(hash));
    println!("server static key: {}", hex(server));
}

fn run_hyperport(
    args: &Args,
    stream: TcpStream,
    expected: Option<[u8; 32]>,
    hybrid: bool,
) -> Res<(usize, usize)> {
    let mut rng = SeededRng::from_seed(os_random()?);
    let (name, cap) = if hybrid {
        (HYBRID_PROTOCOL, HYBRID_FRAME_CAP)
    } else {
        (PROTOCOL, IMAGE_FRAME_CAP)
    };
    let builder = Builder::from_name(name)?.local_static(KeyPair::generate(&mut rng));
    #[cfg(feature = "mlkem")]
    let kem = hyperport::crypto::mlkem::KeyPair::generate(&mut rng);
    #[cfg(feature = "mlkem")]
    let builder = if hybrid {
        builder.local_static_kem(&kem)
    } else {
        builder
    };
    let hs = builder.build_initiator::<P>(&mut rng)?;
    // Our cap equals the image's: its echoes are as long as our messages.
    let mut channel = Channel::new(hs, vec![0u8; cap])?;
    if let Some(key) = expected {
        channel.require_remote_static(key);
    }
    // The hybrid pin covers the image's ML-KEM key too.
    #[cfg(feature = "mlkem")]
    if let Some(seed) = args.seed.as_deref().filter(|_| hybrid) {
        channel.require_remote_static_kem(&image_kem_key(seed).public());
    }
    let mut link = FramedNoise::new(FromStd::new(stream), channel);
    let mut buf = vec![0u8; cap + PREFIX_LEN];
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    link.handshake(&mut buf, || Instant::now() > deadline)?;
    let ch = link.channel();
    print_session(
        ch.handshake_hash().unwrap_or_default(),
        ch.remote_static().map(|k| &k[..]).unwrap_or_default(),
    );
    let mut plain = vec![0u8; cap];
    let mut bytes = 0;
    let mut progress = cli::Progress::new();
    for i in 0..=args.messages {
        progress.tick(|| echoed(i, args.messages, bytes));
        // The last one is the empty end-of-session message.
        let msg = if i < args.messages {
            message(i, usize::from(args.max_payload))
        } else {
            Vec::new()
        };
        link.send(&msg, &mut buf)?;
        let n = link
            .receive(&mut plain)?
            .ok_or_else(|| format!("the image closed the stream before echoing message {i}"))?;
        if plain[..n] != msg[..] {
            return Err(format!("echo {i} differs ({n} bytes back, {} sent)", msg.len()).into());
        }
        bytes += n;
    }
    Ok((args.messages, bytes))
}

fn run_snow(args: &Args, mut stream: TcpStream, expected: Option<[u8; 32]>) -> Res<(usize, usize)> {
    let builder = snow::Builder::new(PROTOCOL.parse()?);
    let key = builder.generate_keypair()?;
    let mut hs = snow::Builder::new(PROTOCOL.parse()?)
        .local_private_key(&key.private)?
        .build_initiator()?;
    let mut msg = vec![0u8; IMAGE_FRAME_CAP];
    let mut payload = vec![0u8; IMAGE_FRAME_CAP];
    let n = hs.write_message(&[], &mut msg)?;
    write_frame(&mut stream, &msg[..n])?;
    let frame = read_frame(&mut stream)?;
    hs.read_message(&frame, &mut payload)?;
    let server = hs
        .get_remote_static()
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    if let Some(want) = expected
        && server != want
    {
        return Err(format!("server static key {} is not the seed's", hex(&server)).into());
    }
    let n = hs.write_message(&[], &mut msg)?;
    write_frame(&mut stream, &msg[..n])?;
    print_session(hs.get_handshake_hash(), &server);
    let mut t = hs.into_transport_mode()?;
    let mut bytes = 0;
    let mut progress = cli::Progress::new();
    for i in 0..=args.messages {
        progress.tick(|| echoed(i, args.messages, bytes));
        let data = if i < args.messages {
            message(i, usize::from(args.max_payload))
        } else {
            Vec::new()
        };
        let n = t.write_message(&data, &mut msg)?;
        write_frame(&mut stream, &msg[..n])?;
        let frame = read_frame(&mut stream)?;
        let n = t.read_message(&frame, &mut payload)?;
        if payload[..n] != data[..] {
            return Err(format!("echo {i} differs ({n} bytes back, {} sent)", data.len()).into());
        }
        bytes += n;
    }
    Ok((args.messages, bytes))
}

fn write_frame(stream: &mut TcpStream, msg: &[u8]) -> Res<()> {
    stream.write_all(&(msg.len() as u32).to_be_bytes())?;
    stream.write_all(msg)?;
    Ok(())
}

fn read_frame(stream: &mut TcpStream) -> Res<Vec<u8>> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix)?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len > IMAGE_FRAME_CAP {
        return Err(format!("frame of {len} bytes over the cap {IMAGE_FRAME_CAP}").into());
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(body)
}
