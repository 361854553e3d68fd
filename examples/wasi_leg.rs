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

use std::process::ExitCode;
use std::time::Duration;

/// Messages sent by default.
const DEFAULT_MESSAGES: u64 = 100;
/// Largest payload of one message (65,535-byte Noise message less the tag).
const MAX_PAYLOAD: usize = 65_519;
/// Default connect / handshake / frame timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time the responder waits for the next message of a connection
/// (it serves one connection at a time).
const DEFAULT_IDLE: Duration = Duration::from_secs(30);
/// Connections the responder's host queues before `accept`.
const LISTEN_BACKLOG: u32 = 16;

const HELP: &str = "\
wasi_leg: a framed Noise_XX_25519_ChaChaPoly_BLAKE2s leg over WASI Preview 2 TCP.

Usage:
  wasmtime run -S inherit-network=y wasi_leg.wasm --connect IP:PORT [OPTIONS]
  wasmtime run -S inherit-network=y wasi_leg.wasm --listen IP:PORT [OPTIONS]

Frames: a 4-byte big-endian length, then one Noise message (at most 65,535
bytes). Each run makes a fresh static key (entropy from wasi:random) and
prints `static <hex>` first.

Modes (exactly one):
  --connect IP:PORT        initiator: send messages, check that each comes back
                           unchanged, print `ok N messages, handshake hash <hex>`
                           and exit 0; any failure prints one line, exits 1
  --listen IP:PORT         responder: print `listening on IP:PORT` (port 0 picks
                           one), then echo every message of each connection, one
                           connection at a time; prints `handshake hash <hex>`
                           and how each connection ended

Options:
  --messages N             (--connect) messages to send [default: 100]; sizes
                           start 0, 1, 65519, then vary up to 65519 bytes
  --size BYTES             (--connect) every message this size instead (0-65519)
  --peer-static HEX        require the peer's static key (64 hex digits)
  --connections N          (--listen) exit 0 after N connections [default: serve
                           forever]
  --connect-timeout-ms MS  (--connect) time to connect [default: 10000]
  --handshake-timeout-ms MS  time for the whole handshake [default: 10000]
  --frame-timeout-ms MS    time for a frame to complete once begun [default: 10000]
  --idle-timeout-ms MS     time to wait for the next message [default: 10000 with
                           --connect, 30000 with --listen]
  -h, --help               print this help and exit 0

Exit status: 0 success, 1 a failed run or a bad argument. (The program exits
2 on a bad argument, but a WASI Preview 2 exit status is only success or
failure, so wasmtime reports 1; the message says which.)
";

/// Which role to run.
#[derive(Debug)]
enum Mode {
    Connect(std::net::SocketAddr),
    Listen(std::net::SocketAddr),
}

/// The parsed command line.
#[derive(Debug)]
struct Args {
    mode: Mode,
    messages: u64,
    size: Option<usize>,
    peer_static: Option<[u8; 32]>,
    connections: Option<u64>,
    connect_timeout: Duration,
    handshake_timeout: Duration,
    frame_timeout: Duration,
    idle_timeout: Option<Duration>,
}

/// What the command line asked for.
enum Parsed {
    Help,
    Run(Box<Args>),
}

fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut mode = None;
    let mut messages = None;
    let mut size = None;
    let mut peer_static = None;
    let mut connections = None;
    let mut connect_timeout = DEFAULT_TIMEOUT;
    let mut handshake_timeout = DEFAULT_TIMEOUT;
    let mut frame_timeout = DEFAULT_TIMEOUT;
    let mut idle_timeout = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(Parsed::Help);
        }
        let mut value = || {
            it.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{flag} needs a value (see --help)"))
        };
        match flag.as_str() {
            "--connect" | "--listen" => {
                let v = value()?;
                let addr = v.parse().map_err(|_| {
                    format!("{flag} {v}: not an IP:PORT address (e.g. 127.0.0.1:7000)")
                })?;
                if mode.is_some() {
                    return Err("give exactly one of --connect and --listen".into());
                }
                mode = Some(if flag == "--connect" {
                    Mode::Connect(addr)
                } else {
                    Mode::Listen(addr)
                });
            }
            "--messages" => messages = Some(number(flag, value()?)?),
            "--size" => {
                let v = value()?;
                let n = number(flag, v)?;
                match usize::try_from(n) {
                    Ok(n) if n <= MAX_PAYLOAD => size = Some(n),
                    _ => return Err(format!("--size {v}: at most {MAX_PAYLOAD} bytes")),
                }
            }
            "--peer-static" => {
                let v = value()?;
                let mut key = [0u8; 32];
                hex::decode_to_slice(v, &mut key)
                    .map_err(|_| format!("--peer-static {v}: expected 64 hex digits"))?;
                peer_static = Some(key);
            }
            "--connections" => connections = Some(number(flag, value()?)?),
            "--connect-timeout-ms" => connect_timeout = millis(flag, value()?)?,
            "--handshake-timeout-ms" => handshake_timeout = millis(flag, value()?)?,
            "--frame-timeout-ms" => frame_timeout = millis(flag, value()?)?,
            "--idle-timeout-ms" => idle_timeout = Some(millis(flag, value()?)?),
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    let mode = mode.ok_or("give --connect IP:PORT or --listen IP:PORT (see --help)")?;
    let idle_default = match mode {
        Mode::Connect(_) => DEFAULT_TIMEOUT,
        Mode::Listen(_) => DEFAULT_IDLE,
    };
    Ok(Parsed::Run(Box::new(Args {
        mode,
        messages: messages.unwrap_or(DEFAULT_MESSAGES),
        size,
        peer_static,
        connections,
        connect_timeout,
        handshake_timeout,
        frame_timeout,
        idle_timeout: Some(idle_timeout.unwrap_or(idle_default)),
    })))
}

fn number(flag: &str, v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("{flag} {v}: expected a whole number"))
}

fn millis(flag: &str, v: &str) -> Result<Duration, String> {
    match number(flag, v)? {
        0 => Err(format!("{flag} 0: a timeout must be at least 1 ms")),
        ms => Ok(Duration::from_millis(ms)),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&argv) {
        Ok(Parsed::Help) => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(args)) => run(*args),
        Err(msg) => {
            eprintln!("wasi_leg: {msg}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn run(_args: Args) -> ExitCode {
    eprintln!(
        "wasi_leg: this program runs in a WASI Preview 2 host; build it with `cargo build \
         --release --target wasm32-wasip2 --example wasi_leg --no-default-features --features \
         wasi,rustcrypto` and run it with `wasmtime run -S inherit-network=y ...`"
    );
    ExitCode::from(2)
}

#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn run(args: Args) -> ExitCode {
    let result = match args.mode {
        Mode::Connect(addr) => wasm::initiator(addr, &args),
        Mode::Listen(addr) => wasm::responder(addr, &args),
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
            .with_connect_timeout(args.connect_timeout)
            .with_handshake_timeout(args.handshake_timeout)
            .with_frame_timeout(args.frame_timeout)
            .with_idle_timeout(args.idle_timeout)
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
        for i in 0..args.messages {
            let len = match (args.size, usize::try_from(i)) {
                (Some(n), _) => n,
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
