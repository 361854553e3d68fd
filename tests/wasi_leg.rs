//! `examples/wasi_leg.rs` running INSIDE wasmtime, against snow (an
//! independent Noise implementation) and hostile peers on the host.
//!
//! These tests need the `.wasm` and a wasmtime binary, so they are ignored
//! by a plain `cargo test`; `scripts/wasi_interop.sh` builds and installs
//! both and runs them:
//!
//! ```sh
//! WASI_LEG_WASM=target/wasm32-wasip2/release/examples/wasi_leg.wasm WASMTIME=/path/to/wasmtime \
//!     cargo test --test wasi_leg -- --ignored
//! ```
//!
//! The peer is snow with its own key generation, framing each Noise message
//! with a 4-byte big-endian length written here by hand, so nothing of
//! hyperport runs on the host side.

#![cfg(not(target_os = "wasi"))]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const XX: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// Largest transport payload (65,535-byte message less the 16-byte tag).
const MAX_PAYLOAD: usize = 65_519;
/// Generous bound for anything that should happen "at once".
const PROMPT: Duration = Duration::from_secs(3);

fn paths() -> (PathBuf, PathBuf) {
    let get = |var: &str| {
        PathBuf::from(std::env::var_os(var).unwrap_or_else(|| {
            panic!("{var} is not set: run these tests through scripts/wasi_interop.sh")
        }))
    };
    (get("WASI_LEG_WASM"), get("WASMTIME"))
}

/// `wasmtime run -S inherit-network=y wasi_leg.wasm ARGS...`.
fn wasm_command(args: &[&str]) -> Command {
    let (wasm, wasmtime) = paths();
    let mut cmd = Command::new(wasmtime);
    cmd.args(["run", "-S", "inherit-network=y"])
        .arg(wasm)
        .args(args);
    cmd
}

/// Runs the wasm program to completion, killing it after `limit`.
fn run_wasm(args: &[&str], limit: Duration) -> Output {
    let mut child = wasm_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wasmtime");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("wasi_leg {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// The wasm echo responder, running in wasmtime; killed on drop.
struct Responder {
    child: Child,
    addr: SocketAddr,
    static_key: Vec<u8>,
    lines: Receiver<String>,
}

impl Responder {
    fn spawn(extra: &[&str]) -> Self {
        let mut args = vec!["--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = wasm_command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn wasmtime");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("[wasm responder] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut r = Self {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            static_key: Vec::new(),
            lines,
        };
        let key = r.line_with("static ", Duration::from_secs(120));
        r.static_key = hex::decode(key.trim_start_matches("static ")).unwrap();
        let listening = r.line_with("listening on ", Duration::from_secs(30));
        r.addr = listening
            .trim_start_matches("listening on ")
            .parse()
            .unwrap();
        r
    }

    /// The next line containing `needle` (earlier lines are skipped).
    fn line_with(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {needle:?} from the responder: {e}"),
            }
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_frame(stream: &mut TcpStream, msg: &[u8]) {
    let mut wire = u32::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
    wire.extend_from_slice(msg);
    stream.write_all(&wire).unwrap();
}

fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).unwrap();
    let mut msg = vec![0u8; u32::from_be_bytes(prefix) as usize];
    stream.read_exact(&mut msg).unwrap();
    msg
}

/// A snow session over TCP after the XX handshake.
struct SnowLeg {
    stream: TcpStream,
    transport: snow::TransportState,
    hash: Vec<u8>,
    remote_static: Vec<u8>,
    local_public: Vec<u8>,
}

impl SnowLeg {
    fn handshake(mut stream: TcpStream, initiator: bool) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let builder = snow::Builder::new(XX.parse().unwrap());
        let keys = builder.generate_keypair().unwrap();
        let builder = snow::Builder::new(XX.parse().unwrap())
            .local_private_key(&keys.private)
            .unwrap();
        let mut hs = if initiator {
            builder.build_initiator().unwrap()
        } else {
            builder.build_responder().unwrap()
        };
        let mut buf = vec![0u8; 65_535];
        let mut payload = vec![0u8; 65_535];
        while !hs.is_handshake_finished() {
            if hs.is_my_turn() {
                let n = hs.write_message(&[], &mut buf).unwrap();
                write_frame(&mut stream, &buf[..n]);
            } else {
                let msg = read_frame(&mut stream);
                hs.read_message(&msg, &mut payload).unwrap();
            }
        }
        let hash = hs.get_handshake_hash().to_vec();
        let remote_static = hs.get_remote_static().unwrap().to_vec();
        let transport = hs.into_transport_mode().unwrap();
        Self {
            stream,
            transport,
            hash,
            remote_static,
            local_public: keys.public,
        }
    }

    fn connect(addr: SocketAddr) -> Self {
        Self::handshake(TcpStream::connect(addr).unwrap(), true)
    }

    fn send(&mut self, payload: &[u8]) {
        let mut buf = vec![0u8; payload.len() + 16];
        let n = self.transport.write_message(payload, &mut buf).unwrap();
        write_frame(&mut self.stream, &buf[..n]);
    }

    fn recv(&mut self) -> Vec<u8> {
        let msg = read_frame(&mut self.stream);
        let mut plain = vec![0u8; msg.len()];
        let n = self.transport.read_message(&msg, &mut plain).unwrap();
        plain.truncate(n);
        plain
    }

    /// Sends payloads of `sizes` and checks each echo.
    fn echo(&mut self, sizes: &[usize]) {
        for (i, &size) in sizes.iter().enumerate() {
            let payload: Vec<u8> = (0..size).map(|j| (j * 7 + i) as u8).collect();
            self.send(&payload);
            assert_eq!(self.recv(), payload, "echo of a {size}-byte message");
        }
    }
}

/// Waits until the peer closes `stream` (EOF or reset); returns how long it
/// took. Panics if it stays open past `limit`.
fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => start.elapsed(),
        Ok(_) => panic!("the responder sent bytes instead of closing"),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ) =>
        {
            start.elapsed()
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("the connection was still open after {limit:?}")
        }
        Err(e) => panic!("read: {e}"),
    }
}

/// A good connection after a hostile one: the responder still serves.
fn assert_still_serving(r: &Responder) {
    let mut snow = SnowLeg::connect(r.addr);
    snow.echo(&[0, 1, MAX_PAYLOAD, 1000]);
    let line = r.line_with("handshake hash", PROMPT);
    assert!(line.ends_with(&hex::encode(&snow.hash)), "{line}");
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn wasm_responder_echoes_for_a_snow_initiator_with_the_same_handshake_hash() {
    let r = Responder::spawn(&["--connections", "1"]);
    let mut snow = SnowLeg::connect(r.addr);
    assert_eq!(
        snow.remote_static, r.static_key,
        "snow saw the printed static key"
    );
    snow.echo(&[0, 1, MAX_PAYLOAD, 15, 16, 17, 4096, MAX_PAYLOAD - 1]);
    let line = r.line_with("handshake hash", PROMPT);
    assert_eq!(
        line,
        format!(
            "{}: handshake hash {}",
            snow.stream.local_addr().unwrap(),
            hex::encode(&snow.hash)
        )
    );
    snow.stream.shutdown(Shutdown::Write).unwrap();
    let end = r.line_with("after", PROMPT);
    assert!(
        end.ends_with("closed by the peer after 8 messages"),
        "{end}"
    );
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn pipelined_messages_and_a_half_close_are_all_echoed() {
    let r = Responder::spawn(&["--connections", "1"]);
    let mut snow = SnowLeg::connect(r.addr);
    let sizes = [MAX_PAYLOAD, 0, 7, MAX_PAYLOAD, 1];
    let payloads: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (j + 3 * i) as u8).collect())
        .collect();
    // Every message written before any echo is read, then our side closed:
    // the responder reads frames back to back, sees the end of stream on a
    // frame boundary, and its echoes still arrive.
    for p in &payloads {
        snow.send(p);
    }
    snow.stream.shutdown(Shutdown::Write).unwrap();
    for p in &payloads {
        assert_eq!(&snow.recv(), p);
    }
    let end = r.line_with("after", PROMPT);
    assert!(
        end.ends_with("closed by the peer after 5 messages"),
        "{end}"
    );
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn wasm_initiator_checks_echoes_from_a_snow_responder() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut snow = SnowLeg::handshake(stream, false);
        let mut echoed = 0;
        loop {
            let mut prefix = [0u8; 4];
            match snow.stream.read_exact(&mut prefix) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
                Err(e) => panic!("snow responder: {e}"),
            }
            let mut msg = vec![0u8; u32::from_be_bytes(prefix) as usize];
            snow.stream.read_exact(&mut msg).unwrap();
            let mut plain = vec![0u8; msg.len()];
            let n = snow.transport.read_message(&msg, &mut plain).unwrap();
            snow.send(&plain[..n]);
            echoed += 1;
        }
        (snow.hash, snow.remote_static, snow.local_public, echoed)
    });
    // Pin the responder's key: the wasm side must see snow's static key.
    let out = run_wasm(
        &["--connect", &addr.to_string(), "--messages", "12"],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    let (hash, remote_static, _snow_public, echoed) = peer.join().unwrap();
    assert_eq!(echoed, 12);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("static {}", hex::encode(&remote_static)).as_str())
    );
    assert_eq!(
        stdout.lines().last(),
        Some(format!("ok 12 messages, handshake hash {}", hex::encode(&hash)).as_str()),
        "{stdout}"
    );
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn a_pinned_key_that_does_not_match_fails_with_one_line() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // Answer the first XX message as snow would, then see the wasm side
        // hang up before it writes its static key.
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let builder = snow::Builder::new(XX.parse().unwrap());
        let keys = builder.generate_keypair().unwrap();
        let mut hs = snow::Builder::new(XX.parse().unwrap())
            .local_private_key(&keys.private)
            .unwrap()
            .build_responder()
            .unwrap();
        let mut buf = vec![0u8; 1024];
        let msg = read_frame(&mut stream);
        hs.read_message(&msg, &mut buf).unwrap();
        let n = hs.write_message(&[], &mut buf).unwrap();
        write_frame(&mut stream, &buf[..n]);
        time_to_close(&mut stream, PROMPT)
    });
    let wrong = hex::encode([7u8; 32]);
    let out = run_wasm(
        &["--connect", &addr.to_string(), "--peer-static", &wrong],
        Duration::from_secs(120),
    );
    peer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("static key is not the required one"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn a_declared_length_above_the_cap_is_refused_at_the_prefix() {
    // Long handshake and frame timeouts: a close within PROMPT shows the
    // responder did not wait for the 65,536 declared body bytes.
    let r = Responder::spawn(&[
        "--handshake-timeout-ms",
        "60000",
        "--frame-timeout-ms",
        "60000",
    ]);
    for declared in [65_536u32, u32::MAX] {
        // In the handshake (the first frame)...
        let mut raw = TcpStream::connect(r.addr).unwrap();
        raw.write_all(&declared.to_be_bytes()).unwrap();
        let took = time_to_close(&mut raw, PROMPT);
        let line = r.line_with("connection closed", PROMPT);
        assert!(
            line.contains(&format!(
                "frame length prefix declares {declared} bytes, more than the maximum of 65535"
            )),
            "{line} (after {took:?})"
        );
        // ...and in the transport.
        let mut snow = SnowLeg::connect(r.addr);
        snow.echo(&[5]);
        snow.stream.write_all(&declared.to_be_bytes()).unwrap();
        let took = time_to_close(&mut snow.stream, PROMPT);
        let line = r.line_with("connection closed", PROMPT);
        assert!(
            line.contains(&format!("frame length prefix declares {declared} bytes"))
                && line.ends_with("after 1 messages"),
            "{line} (after {took:?})"
        );
    }
    assert_still_serving(&r);
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn a_peer_that_stalls_mid_frame_hits_the_frame_deadline() {
    let frame_ms = 400;
    let r = Responder::spawn(&[
        "--frame-timeout-ms",
        &frame_ms.to_string(),
        "--handshake-timeout-ms",
        "60000",
        "--idle-timeout-ms",
        "60000",
    ]);
    // Inside the body, and inside the prefix.
    for partial in [
        &[0u8, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10][..],
        &[0, 0][..],
    ] {
        let mut snow = SnowLeg::connect(r.addr);
        snow.echo(&[3]);
        snow.stream.write_all(partial).unwrap();
        let took = time_to_close(&mut snow.stream, Duration::from_secs(10));
        assert!(
            took >= Duration::from_millis(frame_ms - 50),
            "closed after {took:?}"
        );
        assert!(
            took < Duration::from_millis(frame_ms) + PROMPT,
            "closed after {took:?}"
        );
        let line = r.line_with("connection closed", PROMPT);
        assert!(line.contains("stalled inside a frame"), "{line}");
    }
    assert_still_serving(&r);
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn a_peer_that_stalls_in_the_handshake_hits_the_handshake_deadline() {
    let hs_ms = 400;
    let r = Responder::spawn(&["--handshake-timeout-ms", &hs_ms.to_string()]);
    // Half a prefix, then a whole prefix with a partial first message, then
    // nothing at all.
    for partial in [&[0u8, 0][..], &[0, 0, 0, 32, 1, 2, 3][..], &[][..]] {
        let mut raw = TcpStream::connect(r.addr).unwrap();
        raw.write_all(partial).unwrap();
        let took = time_to_close(&mut raw, Duration::from_secs(10));
        assert!(
            took >= Duration::from_millis(hs_ms - 50),
            "closed after {took:?}"
        );
        let line = r.line_with("connection closed", PROMPT);
        assert!(line.contains("handshake timed out"), "{line}");
    }
    assert_still_serving(&r);
}

/// CPU time (user + system, every thread) the process `pid` has used.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): state is
    // field 3, utime 14 and stime 15, in clock ticks.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Duration::from_secs_f64(ticks as f64 / hz as f64)
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn waiting_costs_no_cpu() {
    // Every wait is the host's (`pollable.block`, or `poll` with a clock
    // pollable): a responder that waits for seconds burns almost no CPU. A
    // guest that polled in a loop would burn the whole wait.
    let r = Responder::spawn(&[
        "--handshake-timeout-ms",
        "3000",
        "--frame-timeout-ms",
        "3000",
        "--idle-timeout-ms",
        "3000",
    ]);
    let pid = r.child.id();
    // 5% of each 3 s wait. (A guest spinning through a wait used 330 ms of
    // a 1.5 s wait with the machine's load average at 16 on 2 cores, and
    // all of it on an idle machine.)
    let budget = Duration::from_millis(150);
    std::thread::sleep(Duration::from_millis(300));
    // 1. Waiting in accept (no deadline: `block`).
    let before = cpu_time(pid);
    std::thread::sleep(Duration::from_millis(3000));
    let used = cpu_time(pid) - before;
    eprintln!("accept wait: {used:?} of CPU in 3 s");
    assert!(used < budget, "accept wait used {used:?} of CPU in 3 s");
    // 2. A stalled handshake (deadline: `poll` with the clock pollable).
    let mut raw = TcpStream::connect(r.addr).unwrap();
    raw.write_all(&[0, 0]).unwrap();
    let before = cpu_time(pid);
    let took = time_to_close(&mut raw, Duration::from_secs(10));
    let used = cpu_time(pid) - before;
    assert!(took >= Duration::from_millis(2900), "closed after {took:?}");
    eprintln!("handshake wait: {used:?} of CPU in {took:?}");
    assert!(
        used < budget,
        "a {took:?} handshake wait used {used:?} of CPU"
    );
    // 3. An idle connection, and then a frame stalled in its body.
    let mut snow = SnowLeg::connect(r.addr);
    snow.echo(&[1]);
    let before = cpu_time(pid);
    let took = time_to_close(&mut snow.stream, Duration::from_secs(10));
    let used = cpu_time(pid) - before;
    eprintln!("idle wait: {used:?} of CPU in {took:?}");
    assert!(used < budget, "a {took:?} idle wait used {used:?} of CPU");
    let mut snow = SnowLeg::connect(r.addr);
    snow.echo(&[1]);
    snow.stream.write_all(&[0, 0, 1, 0, 9, 9]).unwrap();
    let before = cpu_time(pid);
    let took = time_to_close(&mut snow.stream, Duration::from_secs(10));
    let used = cpu_time(pid) - before;
    eprintln!("mid-frame wait: {used:?} of CPU in {took:?}");
    assert!(
        used < budget,
        "a {took:?} mid-frame wait used {used:?} of CPU"
    );
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn a_message_that_fails_authentication_closes_the_connection() {
    let r = Responder::spawn(&[]);
    let mut snow = SnowLeg::connect(r.addr);
    snow.echo(&[10]);
    let mut buf = vec![0u8; 64];
    let n = snow.transport.write_message(b"forged", &mut buf).unwrap();
    buf[n - 1] ^= 1;
    write_frame(&mut snow.stream, &buf[..n]);
    time_to_close(&mut snow.stream, PROMPT);
    let line = r.line_with("connection closed", PROMPT);
    assert!(line.contains("transport message refused"), "{line}");
    assert_still_serving(&r);
}

#[test]
#[ignore = "needs the .wasm and wasmtime: run by scripts/wasi_interop.sh"]
fn the_cli_reports_help_bad_arguments_and_failures() {
    let out = run_wasm(&["--help"], Duration::from_secs(120));
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--connect",
        "--listen",
        "--messages",
        "--size",
        "--pattern",
        "--peer-static",
        "--peer-static-kem",
        "--connections",
        "--connect-timeout-ms",
        "--handshake-timeout-ms",
        "--frame-timeout-ms",
        "--idle-timeout-ms",
        "--help",
    ] {
        assert!(help.contains(option), "--help does not list {option}");
    }
    for bad in [
        &["--connect", "localhost"][..],
        &["--messages", "x", "--connect", "127.0.0.1:1"],
        &["--size", "65520", "--connect", "127.0.0.1:1"],
        &["--messages", "3", "--listen", "127.0.0.1:0"],
        &["--peer-static", "abcd", "--connect", "127.0.0.1:1"],
        &["--frame-timeout-ms", "0", "--connect", "127.0.0.1:1"],
        &["--bogus"],
        &[],
    ] {
        let out = run_wasm(bad, Duration::from_secs(120));
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The program exits 2, but `wasi:cli/exit` carries only success or
        // failure: wasmtime reports 1.
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{bad:?}: {stderr}");
        assert!(stderr.starts_with("wasi_leg"), "{bad:?}: {stderr}");
        assert!(
            stderr.trim_end().ends_with("(try --help)"),
            "{bad:?}: {stderr}"
        );
    }
    // Nobody listens on that port (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = run_wasm(&["--connect", &port.to_string()], Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("connection-refused"), "{stderr}");
    // Without network access from the runtime.
    let (wasm, wasmtime) = paths();
    let out = Command::new(wasmtime)
        .arg("run")
        .arg(wasm)
        .args(["--connect", &port.to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("inherit-network"), "{stderr}");
}

/// The hybrid X25519 + ML-KEM-768 leg (`--pattern hybridXX` / `hybridIK`)
/// in wasmtime against clatter on the host (an independent implementation
/// of the hybrid patterns, framed by hand as above). The `.wasm` must be
/// built with `--features wasi,rustcrypto,mlkem` (scripts/wasi_interop.sh
/// does).
#[cfg(feature = "mlkem")]
mod hybrid {
    use super::*;

    use clatter::bytearray::ByteArray;
    use clatter::crypto::cipher::ChaChaPoly;
    use clatter::crypto::dh::X25519;
    use clatter::crypto::hash::Blake2s;
    use clatter::crypto::kem::rust_crypto_ml_kem::MlKem768;
    use clatter::handshakepattern::{self as cp, HandshakePattern};
    use clatter::traits::{Dh, Handshaker, Kem};
    use clatter::{HybridHandshake, HybridHandshakeParams};

    type Clatter = HybridHandshake<X25519, MlKem768, MlKem768, ChaChaPoly, Blake2s>;
    type DhKeys = clatter::KeyPair<<X25519 as Dh>::PubKey, <X25519 as Dh>::PrivateKey>;
    type KemKeys = clatter::KeyPair<<MlKem768 as Kem>::PubKey, <MlKem768 as Kem>::SecretKey>;
    type Transport = clatter::transportstate::TransportState<ChaChaPoly, Blake2s>;

    /// The wasm responder's `static`, `static kem` and `listening on` lines.
    fn responder(extra: &[&str]) -> (Child, SocketAddr, Vec<u8>, Vec<u8>) {
        let mut args = vec!["--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = wasm_command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn wasmtime");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = || lines.next().expect("a line").expect("utf-8");
        let dh = hex::decode(next().strip_prefix("static ").expect("static")).unwrap();
        let kem = hex::decode(next().strip_prefix("static kem ").expect("static kem")).unwrap();
        let addr = next()
            .strip_prefix("listening on ")
            .expect("listening")
            .parse()
            .unwrap();
        std::thread::spawn(move || lines.for_each(|l| eprintln!("[wasm responder] {l:?}")));
        (child, addr, dh, kem)
    }

    /// A clatter handshake over `stream`; returns the transport, the
    /// handshake hash and the peer's static keys (X25519, ML-KEM).
    fn clatter_handshake(
        stream: &mut TcpStream,
        pattern: HandshakePattern,
        initiator: bool,
        keys: (DhKeys, KemKeys),
        rs: Option<(&[u8], &[u8])>,
    ) -> (Transport, Vec<u8>, (Vec<u8>, Vec<u8>)) {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        // hyperport mixes the (empty) prologue as Noise says; clatter only
        // when one is set.
        let mut params = HybridHandshakeParams::new(pattern, initiator)
            .with_prologue(b"")
            .with_s(keys.0)
            .with_s_kem(keys.1);
        if let Some((dh, kem)) = rs {
            params = params
                .with_rs(ByteArray::from_slice(dh))
                .with_rs_kem(ByteArray::from_slice(kem));
        }
        let mut hs = Clatter::new(params).unwrap();
        let mut buf = vec![0u8; 65_535];
        let mut payload = vec![0u8; 65_535];
        while !hs.is_finished() {
            if hs.is_write_turn() {
                let n = hs.write_message(&[], &mut buf).unwrap();
                write_frame(stream, &buf[..n]);
            } else {
                let msg = read_frame(stream);
                hs.read_message(&msg, &mut payload).unwrap();
            }
        }
        let hash = hs.get_state().get_hash().as_slice().to_vec();
        let rs = hs.get_remote_static().expect("the peer's static keys");
        let rs = (rs.dh().as_slice().to_vec(), rs.kem().as_slice().to_vec());
        (hs.finalize().unwrap(), hash, rs)
    }

    fn fresh_keys() -> (DhKeys, KemKeys) {
        (X25519::genkey().unwrap(), MlKem768::genkey().unwrap())
    }

    #[test]
    #[ignore = "needs the .wasm (with mlkem) and wasmtime: run by scripts/wasi_interop.sh"]
    fn hybrid_xx_wasm_responder_echoes_for_a_clatter_initiator() {
        let (mut child, addr, dh, kem) =
            responder(&["--pattern", "hybridXX", "--connections", "1"]);
        assert_eq!((dh.len(), kem.len()), (32, 1184));
        let mut stream = TcpStream::connect(addr).unwrap();
        let (mut t, _hash, rs) =
            clatter_handshake(&mut stream, cp::noise_hybrid_xx(), true, fresh_keys(), None);
        assert_eq!(rs, (dh, kem), "clatter saw the printed static keys");
        let mut buf = vec![0u8; 65_535];
        let mut plain = vec![0u8; 65_535];
        for size in [0, 1, MAX_PAYLOAD, 4096] {
            let msg: Vec<u8> = (0..size).map(|j| (j * 5) as u8).collect();
            let n = t.send(&msg, &mut buf).unwrap();
            write_frame(&mut stream, &buf[..n]);
            let echo = read_frame(&mut stream);
            let k = t.receive(&echo, &mut plain).unwrap();
            assert_eq!(&plain[..k], &msg[..], "echo of {size} bytes");
        }
        stream.shutdown(Shutdown::Write).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }

    /// The wasm initiator of hybridIK, given both of clatter's keys in
    /// advance (--peer-static, --peer-static-kem): echoes checked, the
    /// same handshake hash, clatter sees the wasm side's printed keys.
    #[test]
    #[ignore = "needs the .wasm (with mlkem) and wasmtime: run by scripts/wasi_interop.sh"]
    fn hybrid_ik_wasm_initiator_against_a_clatter_responder() {
        let keys = fresh_keys();
        let dh = keys.0.public.as_slice().to_vec();
        let kem = keys.1.public.as_slice().to_vec();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let (mut t, hash, rs) =
                clatter_handshake(&mut stream, cp::noise_hybrid_ik(), false, keys, None);
            let mut buf = vec![0u8; 65_535];
            let mut plain = vec![0u8; 65_535];
            let mut echoed = 0;
            loop {
                let mut prefix = [0u8; 4];
                match stream.read_exact(&mut prefix) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
                    Err(e) => panic!("clatter responder: {e}"),
                }
                let mut msg = vec![0u8; u32::from_be_bytes(prefix) as usize];
                stream.read_exact(&mut msg).unwrap();
                let k = t.receive(&msg, &mut plain).unwrap();
                let n = t.send(&plain[..k], &mut buf).unwrap();
                write_frame(&mut stream, &buf[..n]);
                echoed += 1;
            }
            (hash, rs, echoed)
        });
        let out = run_wasm(
            &[
                "--connect",
                &addr.to_string(),
                "--pattern",
                "Noise_hybridIK_25519+MLKEM768_ChaChaPoly_BLAKE2s",
                "--peer-static",
                &hex::encode(&dh),
                "--peer-static-kem",
                &hex::encode(&kem),
                "--messages",
                "10",
            ],
            Duration::from_secs(120),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let (hash, rs, echoed) = peer.join().unwrap();
        assert_eq!(echoed, 10);
        let mut lines = stdout.lines();
        assert_eq!(
            lines.next(),
            Some(format!("static {}", hex::encode(&rs.0)).as_str())
        );
        assert_eq!(
            lines.next(),
            Some(format!("static kem {}", hex::encode(&rs.1)).as_str())
        );
        assert_eq!(
            stdout.lines().last(),
            Some(format!("ok 10 messages, handshake hash {}", hex::encode(&hash)).as_str()),
            "{stdout}"
        );
    }

    /// A hybridXX pin whose X25519 key is right and ML-KEM key wrong: the
    /// wasm initiator refuses clatter's second message (one line, exit 1)
    /// and hangs up before it sends its own static keys.
    #[test]
    #[ignore = "needs the .wasm (with mlkem) and wasmtime: run by scripts/wasi_interop.sh"]
    fn hybrid_pin_with_a_wrong_kem_key_fails_with_one_line() {
        let keys = fresh_keys();
        let dh = keys.0.public.as_slice().to_vec();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let params = HybridHandshakeParams::new(cp::noise_hybrid_xx(), false)
                .with_prologue(b"")
                .with_s(keys.0)
                .with_s_kem(keys.1);
            let mut hs = Clatter::new(params).unwrap();
            let mut buf = vec![0u8; 65_535];
            let msg = read_frame(&mut stream);
            hs.read_message(&msg, &mut buf).unwrap();
            let mut out = vec![0u8; 65_535];
            let n = hs.write_message(&[], &mut out).unwrap();
            write_frame(&mut stream, &out[..n]);
            time_to_close(&mut stream, Duration::from_secs(30))
        });
        let other_kem = MlKem768::genkey().unwrap();
        let out = run_wasm(
            &[
                "--connect",
                &addr.to_string(),
                "--pattern",
                "hybridXX",
                "--peer-static",
                &hex::encode(&dh),
                "--peer-static-kem",
                &hex::encode(other_kem.public.as_slice()),
            ],
            Duration::from_secs(120),
        );
        peer.join().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("static key is not the required one"),
            "{stderr}"
        );
    }

    /// Post-quantum argument mistakes: one line each (exit 1 under
    /// wasmtime, 2 natively).
    #[test]
    #[ignore = "needs the .wasm (with mlkem) and wasmtime: run by scripts/wasi_interop.sh"]
    fn hybrid_argument_mistakes_are_one_line() {
        let dh = hex::encode([1u8; 32]);
        let kem = hex::encode(MlKem768::genkey().unwrap().public.as_slice());
        let out_of_range = "ff".repeat(1184);
        for bad in [
            &["--connect", "127.0.0.1:1", "--pattern", "hybridIK"][..],
            &[
                "--connect",
                "127.0.0.1:1",
                "--pattern",
                "hybridIK",
                "--peer-static",
                &dh,
            ],
            &[
                "--connect",
                "127.0.0.1:1",
                "--pattern",
                "hybridXX",
                "--peer-static",
                &dh,
            ],
            &[
                "--connect",
                "127.0.0.1:1",
                "--pattern",
                "pqXX",
                "--peer-static",
                &dh,
            ],
            &["--connect", "127.0.0.1:1", "--peer-static-kem", &kem],
            &["--connect", "127.0.0.1:1", "--pattern", "hybridKK"],
            &["--connect", "127.0.0.1:1", "--pattern", "hybridXXpsk3"],
            &[
                "--connect",
                "127.0.0.1:1",
                "--pattern",
                "pqNN",
                "--peer-static-kem",
                &out_of_range,
            ],
        ] {
            let out = run_wasm(bad, Duration::from_secs(120));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{bad:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{bad:?}: {stderr}");
            assert!(stderr.starts_with("wasi_leg"), "{bad:?}: {stderr}");
        }
    }
}
