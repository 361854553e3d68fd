//! Every example is a user tool: `--help` exits 0 with a usage text, and a
//! bad argument, an unreadable file or a malformed input prints ONE line on
//! stderr and exits 2, with no panic and no backtrace.
//!
//! The examples are the binaries `cargo test` builds next to the test
//! binaries (`target/<profile>/examples/`); run `cargo test --all-features`
//! (which builds every example first), not this file alone on a fresh tree.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `(example, feature it needs)`: every example of the crate. (`wasi_leg`
/// runs only under wasmtime, where `scripts/wasi_interop.sh` checks it; its
/// host build parses the same command line, checked here.)
const EXAMPLES: &[(&str, Option<&str>)] = &[
    ("frame_echo", None),
    ("node", Some("tokio")),
    ("noise_vectors", None),
    ("overlay", Some("sim")),
    ("overlay_sim", Some("sim")),
    ("uart_echo_client", Some("embedded-io")),
    ("wasi_leg", Some("wasi")),
    ("noise_echo", Some("tokio")),
];

fn enabled(feature: Option<&str>) -> bool {
    match feature {
        None => true,
        Some("sim") => cfg!(feature = "sim"),
        Some("embedded-io") => cfg!(feature = "embedded-io"),
        Some("wasi") => cfg!(feature = "wasi"),
        Some("tokio") => cfg!(feature = "tokio"),
        Some(other) => panic!("unknown feature {other}"),
    }
}

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build the examples first (`cargo test --all-features` does)",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("example runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_no_panic(name: &str, out: &Output) {
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "{name} panicked:\n{all}"
    );
}

/// A mistake: exit status 2 and exactly one line on stderr.
fn assert_one_line_exit_2(name: &str, args: &[&str]) {
    let out = run(name, args);
    assert_no_panic(name, &out);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name} {args:?}: exit status {:?}, stderr:\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{name} {args:?}: not one line:\n{stderr}");
    assert!(
        lines[0].starts_with(&format!("{name}: ")),
        "{name} {args:?}: the line does not name the program: {}",
        lines[0]
    );
}

#[test]
fn every_example_has_help() {
    for &(name, feature) in EXAMPLES.iter().filter(|(_, f)| enabled(*f)) {
        let _ = feature;
        for flag in ["--help", "-h"] {
            let out = run(name, &[flag]);
            assert_no_panic(name, &out);
            assert_eq!(out.status.code(), Some(0), "{name} {flag}");
            let stdout = text(&out.stdout);
            assert!(stdout.contains("Usage:"), "{name} {flag}:\n{stdout}");
            assert!(stdout.contains("--help"), "{name} {flag}:\n{stdout}");
        }
    }
}

#[test]
fn every_example_refuses_an_unknown_option_in_one_line() {
    for &(name, _) in EXAMPLES.iter().filter(|(_, f)| enabled(*f)) {
        assert_one_line_exit_2(name, &["--no-such-option"]);
    }
}

#[test]
fn bad_values_and_files_are_one_line_exit_2() {
    let dir = std::env::temp_dir().join(format!("hyperport-examples-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let malformed = dir.join("malformed.txt");
    std::fs::write(&malformed, "0 1\nthis is not an edge\n").unwrap();
    let malformed = malformed.to_str().unwrap();
    let missing = dir.join("no-such-file.txt");
    let missing = missing.to_str().unwrap();

    assert_one_line_exit_2("frame_echo", &["not-an-address"]);
    assert_one_line_exit_2("noise_vectors", &[]);
    assert_one_line_exit_2("noise_vectors", &[missing]);
    assert_one_line_exit_2("noise_vectors", &[malformed]);
    if cfg!(feature = "sim") {
        assert_one_line_exit_2("overlay", &[missing]);
        assert_one_line_exit_2("overlay", &[malformed]);
        assert_one_line_exit_2("overlay", &["--messages", "49"]);
        assert_one_line_exit_2("overlay", &["--svg", "/no/such/dir/x.svg"]);
        assert_one_line_exit_2("overlay_sim", &[missing]);
        assert_one_line_exit_2("overlay_sim", &[malformed]);
        assert_one_line_exit_2(
            "overlay_sim",
            &["vectors/topologies/zoo-Geant2012.txt", "abc"],
        );
    }
    if cfg!(feature = "embedded-io") {
        assert_one_line_exit_2("uart_echo_client", &[]);
        assert_one_line_exit_2("uart_echo_client", &["--port", "x"]);
        assert_one_line_exit_2(
            "uart_echo_client",
            &["--port", "1", "--max-payload", "1009"],
        );
        assert_one_line_exit_2("uart_echo_client", &["--port", "1", "--impl", "noise-c"]);
        assert_one_line_exit_2("uart_echo_client", &["--port", "1", "--timeout", "0"]);
    }
    if cfg!(feature = "wasi") {
        assert_one_line_exit_2("wasi_leg", &[]);
        assert_one_line_exit_2("wasi_leg", &["--connect", "localhost"]);
        assert_one_line_exit_2("wasi_leg", &["--connect", "127.0.0.1:1", "--size", "65520"]);
        assert_one_line_exit_2("wasi_leg", &["--listen", "127.0.0.1:0", "--messages", "3"]);
        assert_one_line_exit_2(
            "wasi_leg",
            &["--connect", "127.0.0.1:1", "--peer-static", "ab"],
        );
        assert_one_line_exit_2(
            "wasi_leg",
            &["--connect", "127.0.0.1:1", "--frame-timeout-ms", "0"],
        );
        // Built for the host, a valid command line says where it runs.
        assert_one_line_exit_2("wasi_leg", &["--connect", "127.0.0.1:1"]);
    }
    if cfg!(feature = "tokio") {
        assert_one_line_exit_2("noise_echo", &[]);
        assert_one_line_exit_2("noise_echo", &["--listen", "not-an-address"]);
        assert_one_line_exit_2("noise_echo", &["--connect", "127.0.0.1:1", "--count", "x"]);
        assert_one_line_exit_2(
            "noise_echo",
            &["--connect", "127.0.0.1:1", "--pattern", "N"],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run longer than a second shows its progress on stderr (one line after
/// the first second when stderr is not a terminal), and stdout keeps only
/// the results. overlay_sim on a 6,474-node graph simulates for several
/// seconds in a debug build.
#[test]
fn a_long_run_shows_progress_on_stderr() {
    if !cfg!(feature = "sim") {
        return;
    }
    let out = run("overlay_sim", &["vectors/topologies/as-733-20000102.txt"]);
    assert_no_panic("overlay_sim", &out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("overlay_sim: run: virtual time ")),
        "no progress line on stderr:\n{stderr}"
    );
    assert!(
        !text(&out.stdout).contains("virtual time 0."),
        "progress on stdout"
    );
}
