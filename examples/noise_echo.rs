//! A Noise echo server and client over TCP, on the tokio adapter
//! (`hyperport::adapters::tokio`): the host peer for interop checks.
//!
//! ```sh
//! cargo run --release --features tokio --example noise_echo -- --listen 127.0.0.1:7000
//! cargo run --release --features tokio --example noise_echo -- --connect 127.0.0.1:7000 --count 1000
//! ```
//!
//! Wire: every frame is a 4-byte big-endian length and one Noise message
//! (handshake or transport, at most 65,535 bytes: `struct.pack('>I',
//! len(msg)) + msg`); a frame declaring more than `--max-frame-len`
//! (default 65,535) is refused at the prefix and closes that connection.
//! (The crate's generic framing cap is 4 MiB; here one frame holds one
//! Noise message, so 65,535 is the effective cap.) Default protocol
//! `Noise_XX_25519_ChaChaPoly_BLAKE2s`, empty prologue, empty handshake
//! payloads.
//!
//! `--listen ADDR` runs the responder: a fresh static key per run (or
//! `--static-key`, or `--identity FILE`), every connection handshaken under the deadline, then
//! every transport message echoed back as one message, until the peer
//! closes. Ctrl-C stops accepting and closes every connection within a
//! grace period. `--connect ADDR` runs the initiator: it sends `--count`
//! messages of random sizes in `--min-size..=--max-size` and checks every
//! echo.
//!
//! `--pattern` takes a protocol name (`Noise_IK_25519_AESGCM_SHA256`) or a
//! bare pattern (`IK`, meaning `Noise_IK_25519_ChaChaPoly_BLAKE2s`): every
//! two-way pattern of Noise rev 34 with any `pskN`, ciphers ChaChaPoly and
//! AESGCM, hashes SHA256, SHA512, BLAKE2s, BLAKE2b. Keys it cannot make
//! are options: a pattern whose initiator knows the responder's static key
//! in advance (`NK`, `XK`, `KK`, `IK`, ...) needs `--remote-static` on the
//! initiator (the responder prints its key); one whose responder knows the
//! initiator's key (`KN`, `KK`, `KX`, ...) needs `--remote-static` on the
//! responder and a fixed `--static-key` on the initiator; `pskN` needs
//! `--psk` on both. One-way patterns (`N`, `K`, `X`) cannot echo and
//! `fallback` patterns need a failed `IK` first: both are refused.
//! `--remote-static` given for a pattern that transmits the key pins it:
//! another key fails the handshake.
//!
//! Post-quantum patterns (crate feature `mlkem`; a build without it refuses
//! them in one line, exit 2): the hybrid X25519 + ML-KEM-768 patterns as
//! clatter names them (`Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s`,
//! bare `hybridXX`, `hybridIK`, ... with `pskN`) and the KEM-only ones
//! (`Noise_pqXX_MLKEM768_ChaChaPoly_BLAKE2s`, bare `pqXX`, ...). There a
//! static key is an X25519 key pair (hybrid only) AND an ML-KEM-768 key
//! pair: `--static-kem-seed` fixes the ML-KEM one (default: fresh per run),
//! and `--remote-static-kem` gives the peer's ML-KEM public key wherever
//! `--remote-static` gives its X25519 key: in advance (`hybridIK`: both
//! options; `pqIK`: `--remote-static-kem` only), or as a pin. A hybrid pin
//! covers both keys (pinning X25519 alone would not hold against the
//! quantum attacker the hybrid handshake is for), so it takes both options.
//! The peer's ML-KEM public key is the `static kem` line it prints.
//!
//! `--identity FILE` keeps this side's static key in an identity file of
//! the tokio adapter (`hyperport::adapters::tokio::identity`: written
//! atomically, mode 0600, never silently replaced): loaded, or generated
//! on first use. With a classical pattern the file holds (or gets) an
//! X25519 key; with a hybrid or pq pattern it must hold an ML-KEM-768 key
//! too (a new file gets both). An X25519-only file given with a hybrid or
//! pq pattern is refused in one line, exit 2, and left as it is; a hybrid
//! file serves the classical patterns too (its X25519 key).
//!
//! Standard output, one fact per line (logs go to standard error):
//!
//! * `static <64 hex>`: this side's static public key. Always the FIRST
//!   line of the responder (printed even for patterns where the responder
//!   has no static key, which then do not use it); the initiator prints
//!   it first when its pattern has one.
//! * `static kem <2368 hex>` (hybrid and pq patterns): this side's static
//!   ML-KEM-768 public key, right after `static` (the responder always
//!   prints it for these patterns; the initiator when it has a static key).
//! * `listening <ip:port>` (responder): ready to accept.
//! * `handshake hash <hex>`: once per established connection, on both
//!   sides (32 or 64 bytes, by hash function); equal on both ends.
//! * `remote static <64 hex>` (initiator): the responder's static key, if
//!   the pattern revealed one.
//! * `ok <count> messages echoed (<bytes> bytes)` (initiator): last line on
//!   success.
//!
//! Exit status: 0 success; 1 a failed handshake, a wrong or missing echo,
//! an I/O error; 2 a bad argument (one line on standard error).

#[path = "support/cli.rs"]
mod cli;
#[path = "support/pattern.rs"]
mod pattern;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rand_core::OsRng;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use hyperport::adapters::tokio::{StreamConfig, StreamError, accept, connect_tcp};
use hyperport::channel::MAX_MESSAGE_LEN;
use hyperport::crypto::DefaultProvider as P;
#[cfg(feature = "mlkem")]
use hyperport::crypto::mlkem;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::pattern::Token;
use hyperport::noise::{Builder, HandshakeState, NoiseParams, ParamsError};
use hyperport::rng::{RngCore, SeededRng};

/// How long connections get to finish after Ctrl-C (or `--exit-after`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A Noise echo server (`--listen`) and client (`--connect`) over TCP:
/// 4-byte big-endian length + one Noise message per frame. Prints `static
/// <hex>` first (responder), `handshake hash <hex>` per connection, and
/// `ok ...` (initiator) on success.
#[derive(Parser, Debug)]
#[command(name = "noise_echo")]
#[command(group(clap::ArgGroup::new("mode").args(["listen", "connect"])))]
struct Args {
    /// Run the responder on ADDR (port 0: any free port) and echo every message.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Run the initiator against ADDR: send messages, check the echoes.
    #[arg(long, value_name = "ADDR")]
    connect: Option<SocketAddr>,
    /// Protocol name, or a bare pattern (XX = Noise_XX_25519_ChaChaPoly_BLAKE2s).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "Noise_XX_25519_ChaChaPoly_BLAKE2s"
    )]
    pattern: String,
    /// The peer's static public key (64 hex digits): needed where the pattern
    /// knows it in advance; otherwise pins the peer.
    #[arg(long, value_name = "HEX", value_parser = parse_hex::<32>)]
    remote_static: Option<[u8; 32]>,
    /// This side's static PRIVATE key (64 hex digits); default: a fresh random key.
    #[arg(long, value_name = "HEX", value_parser = parse_hex::<32>)]
    static_key: Option<[u8; 32]>,
    /// This side's static key(s) in an identity file: loaded, or generated on
    /// first use (X25519; with hybrid/pq patterns X25519 + ML-KEM-768).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["static_key", "static_kem_seed"])]
    identity: Option<std::path::PathBuf>,
    /// Hybrid/pq patterns (feature `mlkem`): the peer's static ML-KEM-768
    /// public key (2368 hex digits, its `static kem` line): needed where the
    /// pattern knows it in advance; otherwise pins the peer (with
    /// --remote-static in hybrid patterns).
    #[arg(long, value_name = "HEX", value_parser = parse_hex::<1184>)]
    remote_static_kem: Option<[u8; 1184]>,
    /// Hybrid/pq patterns (feature `mlkem`): this side's static ML-KEM-768 key
    /// pair as its 64-byte FIPS 203 seed d||z (128 hex digits, SECRET);
    /// default: a fresh random key pair.
    #[arg(long, value_name = "HEX", value_parser = parse_hex::<64>)]
    static_kem_seed: Option<[u8; 64]>,
    /// Pre-shared key for pskN patterns (64 hex digits), used at every psk position.
    #[arg(long, value_name = "HEX", value_parser = parse_hex::<32>)]
    psk: Option<[u8; 32]>,
    /// Prologue (both sides must use the same).
    #[arg(long, value_name = "TEXT", default_value = "")]
    prologue: String,
    /// Initiator: messages to send.
    #[arg(long, value_name = "N", default_value_t = 100)]
    count: u64,
    /// Initiator: smallest message, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    min_size: usize,
    /// Initiator: largest message, in bytes (at most --max-frame-len - 16).
    #[arg(long, value_name = "BYTES", default_value_t = 65_519)]
    max_size: usize,
    /// Initiator: seed of the message sizes and contents (default: random).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Frame cap both ways, 256..=65535 (larger frames are refused at the prefix).
    #[arg(long, value_name = "BYTES", default_value_t = MAX_MESSAGE_LEN)]
    max_frame_len: usize,
    /// Handshake deadline in seconds (a silent peer is dropped then).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    handshake_timeout: u64,
    /// Seconds without any received byte before a connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    idle_timeout: u64,
    /// Responder: most connections served at once (more are closed at once).
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_connections: usize,
    /// Responder: exit (status 0) after N connections ended.
    #[arg(long, value_name = "N")]
    exit_after: Option<u64>,
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return Err(format!(
            "expected {} hex digits, got {} characters",
            2 * N,
            bytes.len()
        ));
    }
    let mut key = [0u8; N];
    for (out, pair) in key.iter_mut().zip(bytes.chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| "not hex".to_owned())?;
        *out = u8::from_str_radix(text, 16).map_err(|_| format!("{text:?} is not hex"))?;
    }
    Ok(key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prints one line to standard output now (tests and scripts read it live).
fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// What the chosen pattern needs from each side.
struct Plan {
    params: NoiseParams,
    /// Alice (initiator) / Bob (responder) has a static key.
    alice_s: bool,
    bob_s: bool,
    /// Alice knows Bob's static key in advance / Bob knows Alice's.
    alice_knows_bob: bool,
    bob_knows_alice: bool,
    /// A static key includes an X25519 key pair (classical and hybrid
    /// patterns) / an ML-KEM-768 key pair (hybrid and pq patterns).
    dh: bool,
    // Read only where ML-KEM keys exist (feature `mlkem`).
    #[cfg_attr(not(feature = "mlkem"), allow(dead_code))]
    kem: bool,
    /// `--remote-static-kem`, checked.
    #[cfg(feature = "mlkem")]
    remote_kem: Option<mlkem::PublicKey>,
}

fn plan(args: &Args) -> Result<Plan, String> {
    let name = &args.pattern;
    let params = NoiseParams::parse(&pattern::full_name(name)).map_err(|e| match e {
        ParamsError::NotCompiledIn { feature: "mlkem" } => format!(
            "--pattern {name:?}: post-quantum pattern, but this noise_echo was built without \
             the `mlkem` feature (rebuild with --features tokio,mlkem)"
        ),
        e => format!("--pattern {name:?}: {e}"),
    })?;
    let pat = params.pattern();
    let kind = pat.kind();
    let (dh, kem) = (kind.has_dh(), kind.has_kem());
    if !kem && (args.static_kem_seed.is_some() || args.remote_static_kem.is_some()) {
        return Err(format!(
            "--static-kem-seed and --remote-static-kem are for hybrid and pq patterns only, not {name:?}"
        ));
    }
    if !dh && args.remote_static.is_some() {
        return Err(format!(
            "--pattern {name:?} has no X25519 static key: give the peer's key with --remote-static-kem"
        ));
    }
    if pat.is_one_way() {
        return Err(format!(
            "--pattern {name:?} is one-way: the responder never sends, so nothing can be echoed"
        ));
    }
    if !pat.alice_first() {
        return Err(format!(
            "--pattern {name:?}: fallback patterns start from a failed IK exchange; not supported here"
        ));
    }
    let sends_s = |alice: bool| {
        pat.messages()
            .iter()
            .enumerate()
            .any(|(i, m)| pat.alice_sends(i) == alice && m.tokens().contains(&Token::S))
    };
    // A hybrid pin covers both static keys (module docs).
    if dh && kem && args.remote_static.is_some() != args.remote_static_kem.is_some() {
        return Err(format!(
            "--pattern {name:?} is hybrid: the peer's static key is an X25519 and an ML-KEM key, \
             give both --remote-static and --remote-static-kem (its `static` and `static kem` lines)"
        ));
    }
    #[cfg(feature = "mlkem")]
    let remote_kem = match &args.remote_static_kem {
        Some(bytes) => Some(mlkem::PublicKey::from_bytes(bytes).ok_or(
            "--remote-static-kem is not an ML-KEM-768 public key (a coefficient is out of range)",
        )?),
        None => None,
    };
    Ok(Plan {
        alice_s: pat.pre_alice().has_s() || sends_s(true),
        bob_s: pat.pre_bob().has_s() || sends_s(false),
        alice_knows_bob: pat.pre_bob().has_s(),
        bob_knows_alice: pat.pre_alice().has_s(),
        dh,
        kem,
        #[cfg(feature = "mlkem")]
        remote_kem,
        params,
    })
}

/// One side's static keys.
struct Keys {
    /// X25519: always made (the responder prints it even when unused).
    dh: KeyPair,
    /// ML-KEM-768, for hybrid and pq patterns.
    #[cfg(feature = "mlkem")]
    kem: Option<mlkem::KeyPair>,
}

impl Keys {
    /// The keys of `--identity`, or of `--static-key` / `--static-kem-seed`
    /// (fresh where not given). A bad identity file ends the program (exit 2).
    async fn new(plan: &Plan, args: &Args) -> Keys {
        if let Some(path) = &args.identity {
            return Keys::from_file(plan, path).await;
        }
        #[cfg(not(feature = "mlkem"))]
        let _ = plan;
        Keys {
            dh: match args.static_key {
                Some(secret) => KeyPair::from_secret_bytes(secret),
                None => KeyPair::generate(&mut OsRng),
            },
            #[cfg(feature = "mlkem")]
            kem: plan.kem.then(|| match &args.static_kem_seed {
                Some(seed) => mlkem::KeyPair::from_seed(seed),
                None => mlkem::KeyPair::generate(&mut OsRng),
            }),
        }
    }

    #[cfg(unix)]
    async fn from_file(plan: &Plan, path: &std::path::Path) -> Keys {
        use hyperport::adapters::tokio::identity;
        let opts = identity::IdentityOptions::new();
        #[cfg(feature = "mlkem")]
        let loaded = if plan.kem {
            identity::load_or_generate_hybrid(path, &opts).await
        } else {
            identity::load_or_generate(path, &opts).await
        };
        #[cfg(not(feature = "mlkem"))]
        let loaded = {
            let _ = plan;
            identity::load_or_generate(path, &opts).await
        };
        let id = loaded.unwrap_or_else(|e| cli::fail(format_args!("--identity: {e}")));
        if id.was_created() {
            eprintln!("noise_echo: created identity file {}", path.display());
        }
        Keys {
            dh: id.key_pair().clone(),
            #[cfg(feature = "mlkem")]
            kem: if plan.kem {
                id.kem_key_pair().cloned()
            } else {
                None
            },
        }
    }

    #[cfg(not(unix))]
    async fn from_file(_: &Plan, _: &std::path::Path) -> Keys {
        cli::fail("--identity needs a Unix system (file modes)")
    }

    /// Prints `static <hex>` and, for hybrid and pq patterns, `static kem <hex>`.
    fn say(&self) {
        say(format_args!("static {}", hex(self.dh.public())));
        #[cfg(feature = "mlkem")]
        if let Some(kem) = &self.kem {
            say(format_args!("static kem {}", hex(kem.public_bytes())));
        }
    }
}

/// A handshake state for one side, or the one-line reason it cannot be made.
fn handshake(
    plan: &Plan,
    args: &Args,
    initiator: bool,
    keys: Option<&Keys>,
) -> Result<HandshakeState<P>, String> {
    let name = plan.params.name();
    let mut b = Builder::new(plan.params).prologue(args.prologue.as_bytes());
    if let Some(k) = keys.filter(|_| plan.dh) {
        b = b.local_static(k.dh.clone());
    }
    #[cfg(feature = "mlkem")]
    if let Some(kem) = keys.and_then(|k| k.kem.as_ref()) {
        b = b.local_static_kem(kem);
    }
    let knows = if initiator {
        plan.alice_knows_bob
    } else {
        plan.bob_knows_alice
    };
    if knows && plan.dh {
        let Some(rs) = args.remote_static else {
            let whose = if initiator {
                "the responder's static key (it prints `static <hex>` first)"
            } else {
                "the initiator's static public key (start the initiator with a fixed --static-key)"
            };
            return Err(format!("{name} needs --remote-static: {whose}"));
        };
        b = b.remote_static(rs);
    }
    #[cfg(feature = "mlkem")]
    if knows && plan.kem {
        let Some(rs) = &plan.remote_kem else {
            let whose = if initiator {
                "the responder's static ML-KEM public key (it prints `static kem <hex>`)"
            } else {
                "the initiator's (start the initiator with a fixed --static-kem-seed; it prints `static kem <hex>`)"
            };
            return Err(format!("{name} needs --remote-static-kem: {whose}"));
        };
        b = b.remote_static_kem(rs);
    }
    let positions = plan.params.psk_positions();
    if !positions.is_empty() {
        let Some(psk) = args.psk else {
            return Err(format!("{name} needs --psk HEX (the same on both sides)"));
        };
        for &pos in positions {
            b = b.psk(pos, psk);
        }
    }
    let built = if initiator {
        b.build_initiator::<P>(&mut OsRng)
    } else {
        b.build_responder::<P>(&mut OsRng)
    };
    built.map_err(|e| format!("{name}: {e}"))
}

fn stream_config(plan: &Plan, args: &Args) -> StreamConfig {
    let mut c = StreamConfig::new()
        .with_max_frame_len(args.max_frame_len)
        .with_handshake_timeout(Duration::from_secs(args.handshake_timeout))
        .with_idle_timeout(Some(Duration::from_secs(args.idle_timeout)));
    if let Some(rs) = args.remote_static {
        c = c.require_remote_static(rs);
    }
    #[cfg(feature = "mlkem")]
    if let Some(rs) = &plan.remote_kem {
        c = c.require_remote_static_kem(rs.clone());
    }
    #[cfg(not(feature = "mlkem"))]
    let _ = plan;
    c
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let plan = plan(&args).unwrap_or_else(|e| cli::fail(e));
    if !(256..=MAX_MESSAGE_LEN).contains(&args.max_frame_len) {
        cli::fail(format_args!(
            "--max-frame-len {} is out of range 256..=65535",
            args.max_frame_len
        ));
    }
    let max_payload = args.max_frame_len - 16;
    if args.max_size > max_payload {
        cli::fail(format_args!(
            "--max-size {} exceeds the largest message, {max_payload} (--max-frame-len - 16)",
            args.max_size
        ));
    }
    if args.min_size > args.max_size {
        cli::fail("--min-size is larger than --max-size");
    }
    if args.max_connections == 0 {
        cli::fail("--max-connections must be at least 1");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("noise_echo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if let Some(addr) = args.listen {
        runtime.block_on(listen(addr, &plan, &args))
    } else if let Some(addr) = args.connect {
        runtime.block_on(connect(addr, &plan, &args))
    } else {
        cli::fail("give --listen ADDR or --connect ADDR")
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("noise_echo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn listen(addr: SocketAddr, plan: &Plan, args: &Args) -> Result<(), String> {
    let keys = Keys::new(plan, args).await;
    // Check the keys the pattern needs before accepting anyone.
    handshake(plan, args, false, plan.bob_s.then_some(&keys)).unwrap_or_else(|e| cli::fail(e));
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| cli::fail(format_args!("cannot listen on {addr}: {e}")));
    let local = listener
        .local_addr()
        .map_err(|e| format!("local address: {e}"))?;
    keys.say();
    say(format_args!("listening {local}"));

    let config = stream_config(plan, args);
    let token = CancellationToken::new();
    let limit = Arc::new(Semaphore::new(args.max_connections));
    let mut tasks = JoinSet::new();
    let mut ended = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        if args.exit_after.is_some_and(|n| ended >= n) {
            break;
        }
        tokio::select! {
            r = &mut ctrl_c => {
                if let Err(e) = r {
                    eprintln!("noise_echo: cannot wait for Ctrl-C: {e}");
                }
                eprintln!("noise_echo: shutting down");
                break;
            }
            Some(joined) = tasks.join_next() => {
                ended += 1;
                if let Err(e) = joined {
                    eprintln!("noise_echo: connection task failed: {e}");
                }
            }
            accepted = listener.accept() => {
                let (sock, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors and the like: report, back off.
                        eprintln!("noise_echo: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(permit) = limit.clone().try_acquire_owned() else {
                    eprintln!("{peer}: refused: {} connections already open", args.max_connections);
                    continue;
                };
                let hs = match handshake(plan, args, false, plan.bob_s.then_some(&keys)) {
                    Ok(hs) => hs,
                    Err(e) => return Err(e),
                };
                let config = config.clone();
                let token = token.child_token();
                tasks.spawn(async move {
                    serve(sock, peer, hs, &config, &token).await;
                    drop(permit);
                });
            }
        }
    }
    // Graceful shutdown: every connection task is told to stop and joined
    // within the grace period; stragglers are aborted and joined too.
    token.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "noise_echo: {} connections did not stop in time; aborting them",
            tasks.len()
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// Echoes every message of one connection until the peer closes, an error
/// closes the stream, or `token` is cancelled.
async fn serve(
    sock: TcpStream,
    peer: SocketAddr,
    hs: HandshakeState<P>,
    config: &StreamConfig,
    token: &CancellationToken,
) {
    if let Err(e) = sock.set_nodelay(true) {
        eprintln!("{peer}: set_nodelay: {e}");
    }
    let mut stream = tokio::select! {
        r = accept(sock, hs, config) => match r {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{peer}: handshake failed: {e}");
                return;
            }
        },
        () = token.cancelled() => return,
    };
    say(format_args!(
        "handshake hash {}",
        hex(stream.handshake_hash())
    ));
    let mut echoed = 0u64;
    let reason = loop {
        let msg = tokio::select! {
            r = stream.recv() => r,
            () = token.cancelled() => break "shutting down".to_owned(),
        };
        match msg {
            Ok(Some(m)) => {
                let sent = tokio::select! {
                    r = stream.send(&m) => r,
                    () = token.cancelled() => break "shutting down".to_owned(),
                };
                if let Err(e) = sent {
                    break format!("send failed: {e}");
                }
                echoed += 1;
            }
            Ok(None) => break "closed by the peer".to_owned(),
            Err(e) => break format!("{e}"),
        }
    };
    // Best effort: tell the peer we are done (bounded by the write timeout).
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.close()).await;
    let stats = stream.stats();
    eprintln!(
        "{peer}: {reason}; {echoed} messages echoed, {} send errors, {} receive errors",
        stats.send_errors, stats.recv_errors
    );
}

async fn connect(addr: SocketAddr, plan: &Plan, args: &Args) -> Result<(), String> {
    let keys = if plan.alice_s {
        Some(Keys::new(plan, args).await)
    } else {
        None
    };
    let hs = handshake(plan, args, true, keys.as_ref()).unwrap_or_else(|e| cli::fail(e));
    if let Some(k) = &keys {
        k.say();
    }
    let mut stream = connect_tcp(addr, hs, &stream_config(plan, args))
        .await
        .map_err(|e| format!("handshake with {addr} failed: {e}"))?;
    if let Some(rs) = stream.remote_static() {
        say(format_args!("remote static {}", hex(rs)));
    }
    say(format_args!(
        "handshake hash {}",
        hex(stream.handshake_hash())
    ));

    let seed = args.seed.unwrap_or_else(|| OsRng.next_u64());
    let mut rng = SeededRng::from_u64(seed);
    let span = (args.max_size - args.min_size) as u64 + 1;
    let mut total = 0u64;
    let mut msg = Vec::with_capacity(args.max_size);
    let mut progress = cli::Progress::new();
    for i in 0..args.count {
        progress.tick(|| format!("{i}/{} messages echoed ({total} bytes)", args.count));
        let len = args.min_size + (rng.next_u64() % span) as usize;
        msg.resize(len, 0);
        rng.fill_bytes(&mut msg);
        stream
            .send(&msg)
            .await
            .map_err(|e| format!("message {i} ({len} bytes, seed {seed}): {e}"))?;
        match stream.recv().await {
            Ok(Some(echo)) if echo[..] == msg[..] => total += len as u64,
            Ok(Some(echo)) => {
                return Err(format!(
                    "message {i} (seed {seed}): echo differs ({} bytes back, {len} sent)",
                    echo.len()
                ));
            }
            Ok(None) => return Err(format!("the server closed after {i} echoes")),
            Err(e) => return Err(format!("echo of message {i} (seed {seed}): {e}")),
        }
    }
    progress.finish();
    // Close our side; the server then closes too.
    stream.close().await.map_err(|e| format!("close: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(5), stream.recv()).await {
        Ok(Ok(None)) | Err(_) => {}
        Ok(Ok(Some(_))) => return Err("an unexpected message after the last echo".to_owned()),
        Ok(Err(StreamError::Closed)) => {}
        Ok(Err(e)) => return Err(format!("after the last echo: {e}")),
    }
    say(format_args!(
        "ok {} messages echoed ({total} bytes)",
        args.count
    ));
    Ok(())
}
