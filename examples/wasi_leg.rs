//! A framed `Noise_XX_25519_ChaChaPoly_BLAKE2s` leg over WASI Preview 2
//! TCP (`wasi:sockets`), run in wasmtime: an initiator that sends messages
//! and checks their echoes, or the matching echo responder.
//!
//! ```sh
//! rustup target add wasm32-wasip2
//! cargo build --release --target wasm32-wasip2 --example wasi_leg \
//!     --no-default-features --features wasi,rustcrypto
//! W=target/wasm32-wasip2/release/examples/wasi_leg.wasm
//! wasmtime run -S inherit-network=y $W --listen 127.0.0.1:7000 &
//! wasmtime run -S inherit-network=y $W --connect 127.0.0.1:7000 --messages 100
//! ```
//!
//! Frames are a 4-byte big-endian length and one Noise message, so either
//! role interoperates with any Noise implementation that frames the same
//! way (the tokio adapter's `noise_echo`, snow over a `struct.pack('>I')`
//! framing...). Each run generates a fresh static key from `wasi:random`
//! and prints `static <hex>` first. `--help` lists the options.
//!
//! The program itself runs only on `wasm32-wasip2`; built for another target
//! it prints how to build it and exits 2 (`--help` still works).

// Built for another target, the program only parses its arguments.
#![cfg_attr(not(all(target_os = "wasi", target_env = "p2")), allow(dead_code))]

#[path = "support/cli.rs"]
mod cli;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Parser};

/// Largest payload of one message (65,535-byte Noise message less the tag).
const MAX_PAYLOAD: usize = 65_519;
/// Default time the responder waits for the next message of a connection
/// (it serves one connection at a time).
const DEFAULT_LISTEN_IDLE_MS: u64 = 30_000;
/// Default time the initiator waits for each echo to begin.
const DEFAULT_CONNECT_IDLE_MS: u64 = 10_000;
/// Connections the responder's host queues before `accept`.
const LISTEN_BACKLOG: u32 = 16;

/// A framed Noise_XX_25519_ChaChaPoly_BLAKE2s leg over WASI Preview 2 TCP,
/// run with `wasmtime run -S inherit-network=y wasi_leg.wasm ...`.
///
/// Frames are a 4-byte big-endian length, then one Noise message (at most
/// 65,535 bytes). Each run makes a fresh static key (entropy from
/// wasi:random) and prints `static <hex>` first.
#[derive(Parser, Debug)]
#[command(
    name = "wasi_leg",
    group(ArgGroup::new("mode").args(["connect", "listen"])),
    after_help = "Exit status: 0 success, 1 a failed run (one line on stderr says why). A bad \
                  argument exits 2 when built natively, but a WASI Preview 2 exit status is \
                  only success or failure, so wasmtime reports 1."
)]
struct Args {
    /// Initiator: connect to IP:PORT, send messages, check that each comes
    /// back unchanged, print `ok N messages, handshake hash <hex>`.
    #[arg(long, value_name = "IP:PORT")]
    connect: Option<SocketAddr>,
    /// Responder: print `listening on IP:PORT` (port 0 picks one), then echo
    /// every message of each connection, one connection at a time, printing
    /// `<peer>: handshake hash <hex>` and how each connection ended.
    #[arg(long, value_name = "IP:PORT")]
    listen: Option<SocketAddr>,
    /// Messages to send (--connect); sizes start 0, 1, 65519, then vary up
    /// to 65519 bytes.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        conflicts_with = "listen"
    )]
    messages: u64,
    /// Every message this many bytes instead (--connect; 0 to 65519).
    #[arg(
        long,
        value_name = "BYTES",
        conflicts_with = "listen",
        value_parser = clap::value_parser!(u32).range(0..=65_519)
    )]
    size: Option<u32>,
    /// Require the peer's static key (64 hex digits).
    #[arg(long, value_name = "HEX", value_parser = parse_key)]
    peer_static: Option<[u8; 32]>,
    /// Exit 0 after N connections (--listen) [default: serve forever].
    #[arg(long, value_name = "N", conflicts_with = "connect")]
    connections: Option<u64>,
    /// Time to connect (--connect).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = millis)]
    connect_timeout_ms: u64,
    /// Time for the whole handshake.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = millis)]
    handshake_timeout_ms: u64,
    /// Time for a frame to complete once its first byte arrived.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = millis)]
    frame_timeout_ms: u64,
    /// Time to wait for the next message to begin [default: 10000 with
    /// --connect, 30000 with --listen].
    #[arg(long, value_name = "MS", value_parser = millis)]
    idle_timeout_ms: Option<u64>,
}

fn parse_key(v: &str) -> Result<[u8; 32], String> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(v, &mut key).map_err(|_| "expected 64 hex digits".to_owned())?;
    Ok(key)
}

fn millis(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(0) => Err("a timeout must be at least 1 ms".to_owned()),
        Ok(ms) => Ok(ms),
        Err(_) => Err("expected a whole number of milliseconds".to_owned()),
    }
}

impl Args {
    fn idle_timeout(&self) -> Duration {
        let default = if self.listen.is_some() {
            DEFAULT_LISTEN_IDLE_MS
        } else {
            DEFAULT_CONNECT_IDLE_MS
        };
        Duration::from_millis(self.idle_timeout_ms.unwrap_or(default))
    }
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    if args.connect.is_none() && args.listen.is_none() {
        cli::fail("give --connect IP:PORT or --listen IP:PORT (try --help)");
    }
    run(args)
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn run(_args: Args) -> ExitCode {
    cli::fail(
        "this program runs in a WASI Preview 2 host; build it with `cargo build --release \
         --target wasm32-wasip2 --example wasi_leg --no-default-features --features \
         wasi,rustcrypto` and run it with `wasmtime run -S inherit-network=y ...`",
    )
}

#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn run(args: Args) -> ExitCode {
    let result = match (args.connect, args.listen) {
        (Some(addr), _) => wasm::initiator(addr, &args),
        (None, Some(addr)) => wasm::responder(addr, &args),
        (None, None) => Err("give --connect or --listen (try --help)".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("wasi_leg: {msg}");
            ExitCode::from(1)
        }
    }
}

#[cfg(all(target_os = "wasi", target_env = "p2"))]
mod wasm {
    use std::io::Write;
    use std::net::SocketAddr;
    use std::time::Duration;

    use hyperport::adapters::wasi::{
        AcceptError, Config, Deadline, Leg, TcpListener, TcpStream, WasiRng, clock,
    };
    use hyperport::channel::Channel;
    use hyperport::crypto::DefaultProvider as P;
    use hyperport::crypto::x25519::KeyPair;
    use hyperport::noise::{Builder, HandshakeState};
    use hyperport::rng::SeededRng;
    use rand_core::RngCore;

    use super::{Args, LISTEN_BACKLOG, MAX_PAYLOAD};

    const PATTERN: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
    /// Receive storage: the frame cap is the largest Noise message.
    const FRAME_CAP: usize = 65_535;
    /// The first message sizes: 0, 1 and the largest payload, then some
    /// around the tag and chunk boundaries.
    const FIRST_SIZES: [usize; 8] = [0, 1, MAX_PAYLOAD, 15, 16, 17, 4096, MAX_PAYLOAD - 1];

    fn config(args: &Args) -> Config {
        Config::new()
            .with_connect_timeout(Duration::from_millis(args.connect_timeout_ms))
            .with_handshake_timeout(Duration::from_millis(args.handshake_timeout_ms))
            .with_frame_timeout(Duration::from_millis(args.frame_timeout_ms))
            .with_idle_timeout(Some(args.idle_timeout()))
    }

    fn handshake_state(key: &KeyPair, initiator: bool) -> Result<HandshakeState<P>, String> {
        let key = KeyPair::from_secret_bytes(key.secret_bytes());
        let builder = Builder::from_name(PATTERN)
            .map_err(|e| format!("{PATTERN}: {e}"))?
            .local_static(key);
        let built = if initiator {
            builder.build_initiator::<P>(&mut WasiRng)
        } else {
            builder.build_responder::<P>(&mut WasiRng)
        };
        built.map_err(|e| format!("building the handshake: {e}"))
    }

    fn print_line(line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn ms(since: hyperport::Instant) -> f64 {
        clock::now().saturating_duration_since(since).as_micros() as f64 / 1000.0
    }

    pub fn initiator(addr: SocketAddr, args: &Args) -> Result<(), String> {
        let config = config(args);
        let key = KeyPair::generate(&mut WasiRng);
        print_line(&format!("static {}", hex::encode(key.public())));
        let mut channel = Channel::new(handshake_state(&key, true)?, vec![0u8; FRAME_CAP])
            .map_err(|e| format!("channel: {e}"))?;
        if let Some(pin) = args.peer_static {
            channel.require_remote_static(pin);
        }
        let start = clock::now();
        let stream = TcpStream::connect(addr, &mut config.connect_deadline())
            .map_err(|e| format!("{addr}: {e}"))?;
        let mut leg =
            Leg::handshake(stream, channel, &config).map_err(|e| format!("{addr}: {e}"))?;
        let handshake_ms = ms(start);

        let mut seed = [0u8; 32];
        WasiRng.fill_bytes(&mut seed);
        let mut rng = SeededRng::from_seed(seed);
        let mut sent = vec![0u8; MAX_PAYLOAD];
        let mut plain = vec![0u8; leg.max_payload_len()];
        let mut bytes = 0u64;
        let echo_start = clock::now();
        let mut progress = crate::cli::Progress::new();
        for i in 0..args.messages {
            progress.tick(|| {
                format!(
                    "{i}/{} messages echoed ({bytes} payload bytes)",
                    args.messages
                )
            });
            let len = match (args.size, usize::try_from(i)) {
                (Some(n), _) => n as usize,
                (None, Ok(i)) if i < FIRST_SIZES.len() => FIRST_SIZES[i],
                (None, _) => (rng.next_u32() as usize) % (MAX_PAYLOAD + 1),
            };
            let msg = &mut sent[..len];
            rng.fill_bytes(msg);
            leg.send(msg)
                .map_err(|e| format!("message {i} ({len} bytes): {e}"))?;
            match leg.recv(&mut plain) {
                Ok(Some(n)) if plain[..n] == *msg => bytes += n as u64,
                Ok(Some(n)) => {
                    return Err(format!(
                        "message {i}: the echo differs ({n} bytes back for {len} sent)"
                    ));
                }
                Ok(None) => {
                    return Err(format!(
                        "message {i}: the peer closed the connection before echoing"
                    ));
                }
                Err(e) => return Err(format!("message {i} ({len} bytes): {e}")),
            }
        }
        progress.finish();
        let echo_ms = ms(echo_start);
        let mib_s = bytes as f64 / (1024.0 * 1024.0) / (echo_ms / 1000.0).max(1e-9);
        print_line(&format!(
            "echoed {} messages, {bytes} payload bytes in {echo_ms:.1} ms ({mib_s:.1} MiB/s); \
             connect and handshake {handshake_ms:.1} ms",
            args.messages
        ));
        print_line(&format!(
            "ok {} messages, handshake hash {}",
            args.messages,
            hex::encode(leg.handshake_hash())
        ));
        leg.close();
        Ok(())
    }

    pub fn responder(addr: SocketAddr, args: &Args) -> Result<(), String> {
        let config = config(args);
        let key = KeyPair::generate(&mut WasiRng);
        print_line(&format!("static {}", hex::encode(key.public())));
        let listener =
            TcpListener::bind(addr, LISTEN_BACKLOG).map_err(|e| format!("{addr}: {e}"))?;
        print_line(&format!("listening on {}", listener.local_addr()));
        // One receive storage and one plaintext buffer, reused by every
        // connection.
        let mut storage = vec![0u8; FRAME_CAP];
        let mut plain = vec![0u8; FRAME_CAP];
        let mut served = 0u64;
        while args.connections.is_none_or(|max| served < max) {
            let stream = match listener.accept(&mut Deadline::never()) {
                Ok(s) => s,
                // One incoming connection failed before we got it.
                Err(e @ AcceptError::Socket(_)) => {
                    print_line(&format!("{e}; accepting the next connection"));
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            served += 1;
            let peer = stream.peer_addr();
            let mut channel = Channel::new(handshake_state(&key, false)?, &mut storage[..])
                .map_err(|e| format!("channel: {e}"))?;
            if let Some(pin) = args.peer_static {
                channel.require_remote_static(pin);
            }
            let mut leg = match Leg::handshake(stream, channel, &config) {
                Ok(leg) => leg,
                Err(e) => {
                    print_line(&format!("{peer}: connection closed in the handshake: {e}"));
                    continue;
                }
            };
            print_line(&format!(
                "{peer}: handshake hash {}",
                hex::encode(leg.handshake_hash())
            ));
            let mut echoed = 0u64;
            let end = loop {
                match leg.recv(&mut plain) {
                    Ok(Some(n)) => {
                        if let Err(e) = leg.send(&plain[..n]) {
                            break format!("connection closed: {e}");
                        }
                        echoed += 1;
                    }
                    Ok(None) => break "closed by the peer".to_owned(),
                    Err(e) => break format!("connection closed: {e}"),
                }
            };
            leg.close();
            print_line(&format!("{peer}: {end} after {echoed} messages"));
        }
        Ok(())
    }
}
