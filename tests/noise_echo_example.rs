//! examples/noise_echo.rs as a user tool: `--help` lists every option and
//! exits 0; each mistake is one line on stderr and exit status 2; and a real
//! responder/initiator pair of processes over loopback TCP prints the
//! documented lines (`static`, `listening`, `handshake hash` equal on both
//! sides, `ok ...`), with a pinned key refused.
//!
//! The example is the binary `cargo test --features tokio` builds next to
//! the test binaries (`target/<profile>/examples/noise_echo`).

#![cfg(feature = "ring")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples");
    let path = dir.join(format!("noise_echo{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --features tokio` (it builds the examples)",
        path.display()
    );
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(example())
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("noise_echo runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_every_option_and_exits_0() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for opt in [
        "--listen",
        "--connect",
        "--pattern",
        "--remote-static",
        "--static-key",
        "--remote-static-kem",
        "--static-kem-seed",
        "--identity",
        "--psk",
        "--prologue",
        "--count",
        "--min-size",
        "--max-size",
        "--seed",
        "--max-frame-len",
        "--handshake-timeout",
        "--idle-timeout",
        "--max-connections",
        "--exit-after",
        "--help",
    ] {
        assert!(help.contains(opt), "--help does not mention {opt}:\n{help}");
    }
}

#[test]
fn mistakes_are_one_line_and_exit_2() {
    let key = "11".repeat(32);
    for args in [
        &[][..],
        &["--no-such-option"],
        &["--listen", "not-an-address"],
        &["--listen", "127.0.0.1:0", "--connect", "127.0.0.1:1"],
        &["--connect", "127.0.0.1:1", "--pattern", "N"],
        &["--connect", "127.0.0.1:1", "--pattern", "XY"],
        &["--connect", "127.0.0.1:1", "--pattern", "XXfallback"],
        &["--connect", "127.0.0.1:1", "--pattern", "IK"],
        &["--connect", "127.0.0.1:1", "--pattern", "XXpsk3"],
        &["--listen", "127.0.0.1:0", "--pattern", "KK"],
        &["--connect", "127.0.0.1:1", "--remote-static", "abc"],
        &["--connect", "127.0.0.1:1", "--psk", "zz"],
        &["--connect", "127.0.0.1:1", "--max-size", "65520"],
        &["--connect", "127.0.0.1:1", "--max-frame-len", "70000"],
        &[
            "--connect",
            "127.0.0.1:1",
            "--min-size",
            "10",
            "--max-size",
            "5",
        ],
        &["--listen", "127.0.0.1:0", "--max-connections", "0"],
        &["--connect", "127.0.0.1:1", "--static-key", &key[..10]],
        &[
            "--connect",
            "127.0.0.1:1",
            "--static-key",
            &key,
            "--identity",
            "x",
        ],
        // Not a file, or a corrupt identity file.
        &["--listen", "127.0.0.1:0", "--identity", "/"],
        &["--listen", "127.0.0.1:0", "--identity", "/dev/null"],
        // ML-KEM options with a classical pattern (with or without `mlkem`).
        &[
            "--connect",
            "127.0.0.1:1",
            "--static-kem-seed",
            &"11".repeat(64),
        ],
        &["--connect", "127.0.0.1:1", "--static-kem-seed", &key],
        &[
            "--listen",
            "127.0.0.1:0",
            "--remote-static-kem",
            &"00".repeat(1184),
        ],
    ] {
        let out = run(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line:\n{stderr}");
        assert!(
            lines[0].starts_with("noise_echo: "),
            "{args:?}: {}",
            lines[0]
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

struct Server {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(example())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Server { child, lines }
    }

    fn line(&mut self) -> String {
        self.lines.next().expect("server output").unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, prefix: &str) -> String {
    line.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
        .to_owned()
}

#[test]
fn responder_and_initiator_processes_echo_and_agree_on_the_hash() {
    let mut server = Server::start(&["--exit-after", "3"]);
    let first = server.line();
    let static_hex = field(&first, "static ");
    assert_eq!(static_hex.len(), 64);
    assert!(static_hex.bytes().all(|b| b.is_ascii_hexdigit()));
    let addr = field(&server.line(), "listening ");

    // A run pinned to the server's key.
    let out = run(&[
        "--connect",
        &addr,
        "--count",
        "60",
        "--seed",
        "5",
        "--remote-static",
        &static_hex,
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("static "));
    assert_eq!(field(lines[1], "remote static "), static_hex);
    let hash = field(lines[2], "handshake hash ");
    assert_eq!(hash.len(), 64);
    assert!(
        lines[3].starts_with("ok 60 messages echoed ("),
        "{}",
        lines[3]
    );
    assert_eq!(field(&server.line(), "handshake hash "), hash);

    // Sizes at the edges.
    let out = run(&[
        "--connect",
        &addr,
        "--count",
        "5",
        "--min-size",
        "65519",
        "--max-size",
        "65519",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    field(&server.line(), "handshake hash ");

    // A wrong pinned key: the handshake fails, exit status 1.
    let wrong = "22".repeat(32);
    let out = run(&["--connect", &addr, "--remote-static", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("static key is not the required one"), "{err}");

    // Three connections ended: the server exits on its own, status 0.
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn ik_with_the_printed_key_and_a_psk_pattern() {
    let mut server = Server::start(&["--pattern", "IK", "--exit-after", "1"]);
    let key = field(&server.line(), "static ");
    let addr = field(&server.line(), "listening ");
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        "IK",
        "--remote-static",
        &key,
        "--count",
        "10",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(server.child.wait().unwrap().code(), Some(0));

    let psk = "ab".repeat(32);
    let mut server = Server::start(&[
        "--pattern",
        "Noise_NNpsk0_25519_AESGCM_SHA256",
        "--psk",
        &psk,
        "--exit-after",
        "1",
    ]);
    server.line();
    let addr = field(&server.line(), "listening ");
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        "Noise_NNpsk0_25519_AESGCM_SHA256",
        "--psk",
        &psk,
        "--count",
        "10",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // NN: no static keys, so no `static` or `remote static` line.
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .starts_with("handshake hash "),
        "{stdout}"
    );
    // SHA256: a 32-byte hash.
    assert_eq!(field(&server.line(), "handshake hash ").len(), 64);
}

/// Ctrl-C (SIGINT) with a connection open and idle: the responder stops
/// accepting, cancels and joins its connection task (which closes the
/// connection) and exits 0 well within its grace period, not after the
/// connection's idle timeout.
#[cfg(unix)]
#[test]
fn ctrl_c_closes_open_connections_and_exits_promptly() {
    use std::io::Read as _;
    use std::time::{Duration, Instant};

    let mut server = Server::start(&[]);
    server.line();
    let addr = field(&server.line(), "listening ");
    // One client comes and goes; another holds a raw TCP connection in its
    // handshake (deadline 10 s, longer than the 5 s grace period).
    let mut client = Command::new(example())
        .args(["--connect", &addr, "--count", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(client.wait().unwrap().success());
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let st = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = server.child.wait().unwrap();
    let took = started.elapsed();
    assert_eq!(status.code(), Some(0), "exit status after Ctrl-C");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // The held connection was closed by the server.
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(idle.read(&mut buf).unwrap_or(0), 0);
}

/// Without the `mlkem` feature a post-quantum name is one line naming the
/// feature, exit 2 (bare and full names).
#[cfg(not(feature = "mlkem"))]
#[test]
fn a_hybrid_name_without_mlkem_is_one_line() {
    for pattern in [
        "hybridXX",
        "Noise_hybridIK_25519+MLKEM768_ChaChaPoly_BLAKE2s",
        "pqNN",
    ] {
        let out = run(&["--listen", "127.0.0.1:0", "--pattern", pattern]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{pattern}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("built without the `mlkem` feature"),
            "{stderr}"
        );
    }
}

/// The responder's `static`, `static kem` and `listening` lines.
#[cfg(feature = "mlkem")]
fn hybrid_server(args: &[&str]) -> (Server, String, String, String) {
    let mut server = Server::start(args);
    let dh = field(&server.line(), "static ");
    let kem = field(&server.line(), "static kem ");
    assert_eq!(kem.len(), 2 * 1184);
    let addr = field(&server.line(), "listening ");
    (server, dh, kem, addr)
}

/// A hybrid XX echo between two processes with both static keys pinned;
/// a pin whose ML-KEM key is wrong (X25519 key right) fails the handshake.
#[cfg(feature = "mlkem")]
#[test]
fn hybrid_xx_echoes_and_a_wrong_kem_pin_is_refused() {
    let name = "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s";
    let (mut server, dh, kem, addr) = hybrid_server(&["--pattern", name, "--exit-after", "2"]);
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        "hybridXX",
        "--remote-static",
        &dh,
        "--remote-static-kem",
        &kem,
        "--count",
        "30",
        "--seed",
        "9",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert_eq!(field(lines[0], "static ").len(), 64);
    assert_eq!(field(lines[1], "static kem ").len(), 2 * 1184);
    assert_eq!(field(lines[2], "remote static "), dh);
    let hash = field(lines[3], "handshake hash ");
    assert!(
        lines[4].starts_with("ok 30 messages echoed ("),
        "{}",
        lines[4]
    );
    assert_eq!(field(&server.line(), "handshake hash "), hash);

    // The X25519 key right, the ML-KEM key another valid one.
    let other = {
        use hyperport::crypto::mlkem::KeyPair;
        let k = KeyPair::from_seed(&[3; 64]);
        k.public_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_ne!(other, kem);
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        "hybridXX",
        "--remote-static",
        &dh,
        "--remote-static-kem",
        &other,
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("static key is not the required one"), "{err}");
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
}

#[cfg(feature = "mlkem")]
fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Patterns with static keys known in advance: hybridIK (the initiator
/// takes both printed keys), pqNK (the ML-KEM key only) and hybridKK (the
/// responder knows the initiator's keys, fixed by --static-key and
/// --static-kem-seed; the public halves computed here).
#[cfg(feature = "mlkem")]
#[test]
fn hybrid_ik_pq_nk_and_hybrid_kk_with_keys_in_advance() {
    let ik = "Noise_hybridIK_25519+MLKEM768_AESGCM_SHA512";
    let (mut server, dh, kem, addr) = hybrid_server(&["--pattern", ik, "--exit-after", "1"]);
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        ik,
        "--remote-static",
        &dh,
        "--remote-static-kem",
        &kem,
        "--count",
        "10",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // SHA512: a 64-byte handshake hash.
    assert_eq!(field(&server.line(), "handshake hash ").len(), 128);
    assert_eq!(server.child.wait().unwrap().code(), Some(0));

    let (mut server, _, kem, addr) = hybrid_server(&["--pattern", "pqNK", "--exit-after", "1"]);
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        "pqNK",
        "--remote-static-kem",
        &kem,
        "--count",
        "10",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // No initiator static key, no X25519 remote static: hash and ok only.
    assert!(stdout.starts_with("handshake hash "), "{stdout}");
    field(&server.line(), "handshake hash ");
    assert_eq!(server.child.wait().unwrap().code(), Some(0));

    let (secret, seed) = ([0x42u8; 32], [0x24u8; 64]);
    let dh_pub = hyperport::crypto::x25519::KeyPair::from_secret_bytes(secret);
    let kem_pub = hyperport::crypto::mlkem::KeyPair::from_seed(&seed);
    let (dh_pub, kem_pub) = (hex_of(dh_pub.public()), hex_of(kem_pub.public_bytes()));
    let (mut server, dh, kem, addr) = hybrid_server(&[
        "--pattern",
        "hybridKK",
        "--remote-static",
        &dh_pub,
        "--remote-static-kem",
        &kem_pub,
        "--exit-after",
        "1",
    ]);
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        "hybridKK",
        "--static-key",
        &hex_of(&secret),
        "--static-kem-seed",
        &hex_of(&seed),
        "--remote-static",
        &dh,
        "--remote-static-kem",
        &kem,
        "--count",
        "10",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(field(lines[0], "static "), dh_pub);
    assert_eq!(field(lines[1], "static kem "), kem_pub);
    field(&server.line(), "handshake hash ");
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
}

/// Mistakes of the post-quantum options: one line, exit 2.
#[cfg(feature = "mlkem")]
#[test]
fn hybrid_mistakes_are_one_line_and_exit_2() {
    let key = "11".repeat(32);
    let kem = hex_of(hyperport::crypto::mlkem::KeyPair::from_seed(&[1; 64]).public_bytes());
    let bad_kem = "ff".repeat(1184);
    for args in [
        &["--connect", "127.0.0.1:1", "--pattern", "hybridIK"][..],
        &[
            "--connect",
            "127.0.0.1:1",
            "--pattern",
            "hybridIK",
            "--remote-static",
            &key,
        ],
        &["--connect", "127.0.0.1:1", "--pattern", "pqIK"],
        &[
            "--connect",
            "127.0.0.1:1",
            "--pattern",
            "hybridXX",
            "--remote-static",
            &key,
        ],
        &[
            "--connect",
            "127.0.0.1:1",
            "--pattern",
            "hybridXX",
            "--remote-static-kem",
            &kem,
        ],
        &[
            "--connect",
            "127.0.0.1:1",
            "--pattern",
            "pqXX",
            "--remote-static",
            &key,
        ],
        &[
            "--connect",
            "127.0.0.1:1",
            "--pattern",
            "hybridXX",
            "--remote-static",
            &key,
            "--remote-static-kem",
            &bad_kem,
        ],
        &[
            "--connect",
            "127.0.0.1:1",
            "--pattern",
            "hybridXX",
            "--remote-static-kem",
            &kem[..100],
        ],
        // KK without the initiator's keys; a hybrid pattern clatter lacks.
        &["--listen", "127.0.0.1:0", "--pattern", "hybridKK"],
        &["--listen", "127.0.0.1:0", "--pattern", "hybridN"],
        &["--connect", "127.0.0.1:1", "--pattern", "hybridXXpsk3"],
    ] {
        let out = run(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line:\n{stderr}");
        assert!(
            lines[0].starts_with("noise_echo: "),
            "{args:?}: {}",
            lines[0]
        );
    }
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p =
            std::env::temp_dir().join(format!("hyperport-noise-echo-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The responder's first lines with `args` (it exits at once).
fn first_lines(args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(&[&["--listen", "127.0.0.1:0", "--exit-after", "0"][..], args].concat());
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// `--identity`: generated on first use (mode 0600), the same key on the
/// next run.
#[cfg(unix)]
#[test]
fn identity_file_is_generated_then_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Scratch::new("id");
    let path = dir.0.join("keys/echo.key");
    let path = path.to_str().unwrap();
    let (code, first, err) = first_lines(&["--identity", path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("created identity file"), "{err}");
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (code, again, err) = first_lines(&["--identity", path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("created"), "{err}");
    assert_eq!(first.lines().next(), again.lines().next());
    assert!(first.starts_with("static "), "{first}");
}

/// `--identity` with hybrid names: a new file gets both keys (the same
/// `static` and `static kem` lines on the next run, and a hybrid echo with
/// both pinned); an X25519-only file is refused in one line, exit 2, left
/// byte for byte; a hybrid file serves a classical name with its X25519 key.
#[cfg(all(unix, feature = "mlkem"))]
#[test]
fn hybrid_identity_file_and_an_x25519_only_one() {
    let dir = Scratch::new("hybrid-id");
    let hybrid = dir.0.join("hybrid.key");
    let hybrid = hybrid.to_str().unwrap();
    let (code, first, err) = first_lines(&["--pattern", "hybridXX", "--identity", hybrid]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = first.lines().collect();
    assert!(lines[0].starts_with("static ") && lines[1].starts_with("static kem "));
    let (mut server, dh, kem, addr) = hybrid_server(&[
        "--pattern",
        "hybridXX",
        "--identity",
        hybrid,
        "--exit-after",
        "1",
    ]);
    assert_eq!(format!("static {dh}"), lines[0]);
    assert_eq!(format!("static kem {kem}"), lines[1]);
    let out = run(&[
        "--connect",
        &addr,
        "--pattern",
        "hybridXX",
        "--remote-static",
        &dh,
        "--remote-static-kem",
        &kem,
        "--count",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    field(&server.line(), "handshake hash ");
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    // The hybrid file with a classical name: its X25519 key.
    let (code, classic, err) = first_lines(&["--identity", hybrid]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(classic.lines().next(), Some(lines[0]));

    let old = dir.0.join("old.key");
    let old = old.to_str().unwrap();
    let (code, _, err) = first_lines(&["--identity", old]);
    assert_eq!(code, Some(0), "{err}");
    let before = std::fs::read(old).unwrap();
    for pattern in ["hybridXX", "pqXX"] {
        let (code, out, err) = first_lines(&["--pattern", pattern, "--identity", old]);
        assert_eq!(code, Some(2), "{pattern}: {out}{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.starts_with("noise_echo: --identity: ") && err.contains("X25519 key only"),
            "{err}"
        );
        assert!(out.is_empty(), "{out}");
    }
    assert_eq!(std::fs::read(old).unwrap(), before);
}
