//! A framed Noise leg (`Noise_XX_25519_ChaChaPoly_BLAKE2s` unless
//! `--pattern` says otherwise) over WASI Preview 2 TCP (`wasi:sockets`),
//! run in wasmtime: an initiator that sends messages and checks their
//! echoes, or the matching echo responder.
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
//! `--pattern` takes a protocol name or a bare pattern (`IK`, `hybridXX`,
//! `pqNK`), any two-way pattern whose keys a run can make: none with the
//! initiator's key known in advance (`K*`: a fresh key cannot be), no
//! `pskN`, no `fallback`. Where the initiator knows the responder's key in
//! advance (`NK`, `XK`, `IK`), `--peer-static` gives it. The hybrid
//! X25519 + ML-KEM-768 and KEM-only patterns (named as clatter names them,
//! `Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s`) need the crate
//! feature `mlkem` (`--features wasi,rustcrypto,mlkem`; a build without it
//! refuses them in one line); their static key includes an ML-KEM-768 key
//! pair, printed as `static kem <hex>` after `static`, and
//! `--peer-static-kem` gives or pins the peer's (a hybrid pin takes both
//! `--peer-static` and `--peer-static-kem`: pinning X25519 alone would not
//! hold against the quantum attacker the hybrid handshake is for).
//!
//! The program itself runs only on `wasm32-wasip2`; built for another target
//! it prints how to build it and exits 2 (`--help` still works).

// Built for another target, the program only parses its arguments.
#![cfg_attr(not(all(target_os = "wasi", target_env = "p2")), allow(dead_code))]

#[path = "support/cli.rs"]
mod cli;
#[path = "support/pattern.rs"]
mod pattern;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Parser};
use hyperport::noise::pattern::Token;
use hyperport::noise::{NoiseParams, ParamsError};

/// Largest payload of one message (65,535-byte Noise message less the tag).
const MAX_PAYLOAD: usize = 65_519;
/// Default time the responder waits for the next message of a connection
/// (it serves one connection at a time).
const DEFAULT_LISTEN_IDLE_MS: u64 = 30_000;
/// Default time the initiator waits for each echo to begin.
const DEFAULT_CONNECT_IDLE_MS: u64 = 10_000;
/// Connections the responder's host queues before `accept`.
const LISTEN_BACKLOG: u32 = 16;

/// A framed Noise leg over WASI Preview 2 TCP, run with `wasmtime run -S
/// inherit-network=y wasi_leg.wasm ...`.
///
/// Frames are a 4-byte big-endian length, then one Noise message (at most
/// 65,535 bytes). Each run makes a fresh static key (entropy from
/// wasi:random) and prints `static <hex>` first (and `static kem <hex>` for
/// hybrid and pq patterns).
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
    /// Protocol name, or a bare pattern (XX = Noise_XX_25519_ChaChaPoly_BLAKE2s,
    /// hybridXX = Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s; hybrid and
    /// pq patterns need the `mlkem` feature).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "Noise_XX_25519_ChaChaPoly_BLAKE2s"
    )]
    pattern: String,
    /// The peer's static key (64 hex digits): required from the peer, or
    /// known in advance (initiator of NK, XK, IK).
    #[arg(long, value_name = "HEX", value_parser = parse_key::<32>)]
    peer_static: Option<[u8; 32]>,
    /// Hybrid/pq patterns: the peer's static ML-KEM-768 public key (2368 hex
    /// digits, its `static kem` line), required or known in advance like
    /// --peer-static (a hybrid pin takes both).
    #[arg(long, value_name = "HEX", value_parser = parse_key::<1184>)]
    peer_static_kem: Option<[u8; 1184]>,
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

fn parse_key<const N: usize>(v: &str) -> Result<[u8; N], String> {
    let mut key = [0u8; N];
    hex::decode_to_slice(v, &mut key).map_err(|_| format!("expected {} hex digits", 2 * N))?;
    Ok(key)
}

/// What the chosen pattern needs (checked before anything runs).
struct Plan {
    params: NoiseParams,
    /// This side has a static key (initiator / responder).
    alice_s: bool,
    bob_s: bool,
    /// The initiator knows the responder's static key in advance.
    alice_knows_bob: bool,
    /// Static keys include an X25519 / an ML-KEM-768 key pair.
    dh: bool,
    // Read only where ML-KEM keys exist (feature `mlkem`).
    #[cfg_attr(not(feature = "mlkem"), allow(dead_code))]
    kem: bool,
}

fn plan(args: &Args) -> Result<Plan, String> {
    let name = &args.pattern;
    let params = NoiseParams::parse(&pattern::full_name(name)).map_err(|e| match e {
        ParamsError::NotCompiledIn { feature: "mlkem" } => format!(
            "--pattern {name:?}: post-quantum pattern, but this wasi_leg was built without the \
             `mlkem` feature (build with --features wasi,rustcrypto,mlkem)"
        ),
        e => format!("--pattern {name:?}: {e}"),
    })?;
    let pat = params.pattern();
    if pat.is_one_way() || !pat.alice_first() || pat.is_psk() {
        return Err(format!(
            "--pattern {name:?}: one-way, fallback and pskN patterns are not supported here"
        ));
    }
    if pat.pre_alice().has_s() {
        return Err(format!(
            "--pattern {name:?}: the responder would need the initiator's static key in \
             advance, and each run makes a fresh one"
        ));
    }
    let kind = pat.kind();
    let (dh, kem) = (kind.has_dh(), kind.has_kem());
    if !kem && args.peer_static_kem.is_some() {
        return Err(format!(
            "--peer-static-kem is for hybrid and pq patterns only, not {name:?}"
        ));
    }
    if !dh && args.peer_static.is_some() {
        return Err(format!(
            "--pattern {name:?} has no X25519 static key: give the peer's with --peer-static-kem"
        ));
    }
    if dh && kem && args.peer_static.is_some() != args.peer_static_kem.is_some() {
        return Err(format!(
            "--pattern {name:?} is hybrid: the peer's static key is an X25519 and an ML-KEM \
             key, give both --peer-static and --peer-static-kem"
        ));
    }
    let alice_knows_bob = pat.pre_bob().has_s();
    if alice_knows_bob && args.connect.is_some() {
        if dh && args.peer_static.is_none() {
            return Err(format!(
                "--pattern {name:?} needs --peer-static: the responder's key (its `static` line)"
            ));
        }
        if kem && args.peer_static_kem.is_none() {
            return Err(format!(
                "--pattern {name:?} needs --peer-static-kem: the responder's ML-KEM key (its \
                 `static kem` line)"
            ));
        }
    }
    #[cfg(feature = "mlkem")]
    if let Some(bytes) = &args.peer_static_kem
        && hyperport::crypto::mlkem::PublicKey::from_bytes(bytes).is_none()
    {
        return Err(
            "--peer-static-kem is not an ML-KEM-768 public key (a coefficient is out of range)"
                .to_owned(),
        );
    }
    let sends_s = |alice: bool| {
        pat.messages()
            .iter()
            .enumerate()
            .any(|(i, m)| pat.alice_sends(i) == alice && m.tokens().contains(&Token::S))
    };
    Ok(Plan {
        alice_s: sends_s(true),
        bob_s: alice_knows_bob || sends_s(false),
        alice_knows_bob,
        dh,
        kem,
        params,
    })
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
    let plan = plan(&args).unwrap_or_else(|e| cli::fail(e));
    run(args, plan)
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn run(_args: Args, _plan: Plan) -> ExitCode {
    cli::fail(
        "this program runs in a WASI Preview 2 host; build it with `cargo build --release \
         --target wasm32-wasip2 --example wasi_leg --no-default-features --features \
         wasi,rustcrypto` and run it with `wasmtime run -S inherit-network=y ...`",
    )
}

#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn run(args: Args, plan: Plan) -> ExitCode {
    let result = match (args.connect, args.listen) {
        (Some(addr), _) => wasm::initiator(addr, &args, &plan),
        (None, Some(addr)) => wasm::responder(addr, &args, &plan),
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
    #[cfg(feature = "mlkem")]
    use hyperport::crypto::mlkem;
    use hyperport::crypto::x25519::KeyPair;
    use hyperport::noise::{Builder, HandshakeState};
    use hyperport::rng::SeededRng;
    use rand_core::RngCore;

    use super::{Args, LISTEN_BACKLOG, MAX_PAYLOAD, Plan};
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

    /// This run's static keys: X25519 always (printed even where unused),
    /// ML-KEM-768 for hybrid and pq patterns.
    struct Keys {
        dh: KeyPair,
        #[cfg(feature = "mlkem")]
        kem: Option<mlkem::KeyPair>,
    }

    impl Keys {
        fn generate(plan: &Plan) -> Keys {
            #[cfg(not(feature = "mlkem"))]
            let _ = plan;
            Keys {
                dh: KeyPair::generate(&mut WasiRng),
                #[cfg(feature = "mlkem")]
                kem: plan.kem.then(|| mlkem::KeyPair::generate(&mut WasiRng)),
            }
        }

        fn print(&self) {
            print_line(&format!("static {}", hex::encode(self.dh.public())));
            #[cfg(feature = "mlkem")]
            if let Some(kem) = &self.kem {
                print_line(&format!("static kem {}", hex::encode(kem.public_bytes())));
            }
        }
    }

    /// The peer's ML-KEM key of --peer-static-kem (checked by `plan`).
    #[cfg(feature = "mlkem")]
    fn peer_kem(args: &Args) -> Option<mlkem::PublicKey> {
        args.peer_static_kem
            .as_ref()
            .and_then(mlkem::PublicKey::from_bytes)
    }

    fn handshake_state(
        plan: &Plan,
        args: &Args,
        keys: &Keys,
        initiator: bool,
    ) -> Result<HandshakeState<P>, String> {
        let has_s = if initiator { plan.alice_s } else { plan.bob_s };
        let mut builder = Builder::new(plan.params);
        if has_s && plan.dh {
            builder = builder.local_static(KeyPair::from_secret_bytes(keys.dh.secret_bytes()));
        }
        #[cfg(feature = "mlkem")]
        if let Some(kem) = keys.kem.as_ref().filter(|_| has_s) {
            builder = builder.local_static_kem(kem);
        }
        let knows = initiator && plan.alice_knows_bob;
        if let Some(rs) = args.peer_static.filter(|_| knows && plan.dh) {
            builder = builder.remote_static(rs);
        }
        #[cfg(feature = "mlkem")]
        let rs_kem = peer_kem(args).filter(|_| knows && plan.kem);
        #[cfg(feature = "mlkem")]
        if let Some(rs) = &rs_kem {
            builder = builder.remote_static_kem(rs);
        }
        let name = plan.params.name();
        let built = if initiator {
            builder.build_initiator::<P>(&mut WasiRng)
        } else {
            builder.build_responder::<P>(&mut WasiRng)
        };
        built.map_err(|e| format!("building the {name} handshake: {e}"))
    }

    /// Pins the peer's keys given on the command line.
    fn pin<S: AsMut<[u8]>>(channel: &mut Channel<P, S>, args: &Args) {
        if let Some(pin) = args.peer_static {
            channel.require_remote_static(pin);
        }
        #[cfg(feature = "mlkem")]
        if let Some(pin) = peer_kem(args) {
            channel.require_remote_static_kem(&pin);
        }
    }

    fn print_line(line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn ms(since: hyperport::Instant) -> f64 {
        clock::now().saturating_duration_since(since).as_micros() as f64 / 1000.0
    }

    pub fn initiator(addr: SocketAddr, args: &Args, plan: &Plan) -> Result<(), String> {
        let config = config(args);
        let keys = Keys::generate(plan);
        keys.print();
        let hs = handshake_state(plan, args, &keys, true)?;
        let mut channel =
            Channel::new(hs, vec![0u8; FRAME_CAP]).map_err(|e| format!("channel: {e}"))?;
        pin(&mut channel, args);
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

    pub fn responder(addr: SocketAddr, args: &Args, plan: &Plan) -> Result<(), String> {
        let config = config(args);
        let keys = Keys::generate(plan);
        keys.print();
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
            let hs = handshake_state(plan, args, &keys, false)?;
            let mut channel =
                Channel::new(hs, &mut storage[..]).map_err(|e| format!("channel: {e}"))?;
            pin(&mut channel, args);
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
