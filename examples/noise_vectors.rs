//! Runs Noise test vector files against `hyperport::noise`.
//!
//! ```sh
//! cargo run --release --example noise_vectors -- vectors/noise/cacophony.txt \
//!     vectors/noise/snow.txt vectors/noise/noise-c-fallback.txt [--verbose]
//! ```
//!
//! Reads the cacophony / snow format (`protocol_name`, `init_*`, `resp_*`,
//! `messages`) and the noise-c format (`name`, single `init_psk`/`resp_psk`,
//! `fallback: true`). For each file it prints the failures, then a last line
//! `N passed, M failed, K skipped`; skipped vectors use a primitive this crate
//! does not implement (448) or the obsolete pre-rev31 `NoisePSK_` scheme.
//! `--verbose` also prints every skip with its reason. Exit status 1 if any
//! vector failed.

#[path = "../tests/support/noise_vectors.rs"]
mod runner;

use hyperport::crypto::DefaultProvider;

fn main() {
    let mut verbose = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--verbose" | "-v" => verbose = true,
            "--help" | "-h" => {
                eprintln!("usage: noise_vectors [--verbose] FILE...");
                return;
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("usage: noise_vectors [--verbose] FILE...");
        std::process::exit(2);
    }
    let mut any_failed = false;
    for file in &files {
        println!("== {file}");
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                println!("cannot read: {e}");
                any_failed = true;
                continue;
            }
        };
        match runner::run_file::<DefaultProvider>(&text) {
            Ok(t) => {
                for (name, why) in &t.failures {
                    println!("FAIL {name}: {why}");
                }
                if verbose {
                    for (name, why) in &t.skips {
                        println!("skip {name}: {why}");
                    }
                }
                println!(
                    "{} passed, {} failed, {} skipped",
                    t.passed, t.failed, t.skipped
                );
                any_failed |= t.failed > 0;
            }
            Err(e) => {
                println!("cannot parse: {e}");
                any_failed = true;
            }
        }
    }
    if any_failed {
        std::process::exit(1);
    }
}
