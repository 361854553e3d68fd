//! Runs Noise test vector files against `hyperport::noise`.
//!
//! ```sh
//! cargo run --release --features mlkem --example noise_vectors -- vectors/noise/cacophony.txt \
//!     vectors/noise/snow.txt vectors/noise/noise-c-fallback.txt \
//!     vectors/noise/clatter-pq.txt vectors/noise/go-clatter/*.txt [--verbose]
//! ```
//!
//! Reads the cacophony / snow format (`protocol_name`, `init_*`, `resp_*`,
//! `messages`), its post-quantum extension (`*_kem` keys, encapsulation
//! randomness, `random_draws`; `vectors/noise/README.md`), the noise-c
//! format (`name`, single `init_psk`/`resp_psk`, `fallback: true`) and
//! go-clatter's text format (`# Vector:`). For each file it prints the failures, then a last line
//! `N passed, M failed, K skipped`; skipped vectors use a primitive this crate
//! does not implement (448), one this build leaves out (ML-KEM without the
//! `mlkem` feature) or the obsolete pre-rev31 `NoisePSK_` scheme.
//! `--verbose` also prints every skip with its reason. Exit status 1 if any
//! vector failed.

#[path = "support/cli.rs"]
mod cli;
#[path = "../tests/support/go_clatter.rs"]
mod go_clatter;
#[path = "../tests/support/noise_vectors.rs"]
mod noise_vectors;

use clap::Parser;

use hyperport::crypto::DefaultProvider;

/// Runs Noise test vector files (cacophony / snow / noise-c formats, their
/// post-quantum extension, go-clatter's text format) against
/// hyperport's Noise implementation; prints the failures and
/// `N passed, M failed, K skipped` per file. Exit status 1 if a vector
/// failed, 2 on a usage error or an unreadable or malformed file.
#[derive(Parser, Debug)]
#[command(name = "noise_vectors")]
struct Args {
    /// Also print every skipped vector with the reason.
    #[arg(short, long)]
    verbose: bool,
    /// Vector files to run.
    #[arg(required = true)]
    files: Vec<String>,
}

fn main() {
    let Args { verbose, files } = cli::parse();
    // Read and parse every file first: a file that cannot be used is a
    // usage error (exit 2), not a failed vector.
    let mut texts = Vec::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(t) => texts.push(t),
            Err(e) => cli::fail(format_args!("cannot read {file}: {e}")),
        }
    }
    let mut any_failed = false;
    for (file, text) in files.iter().zip(&texts) {
        println!("== {file}");
        match noise_vectors::run_file::<DefaultProvider>(text) {
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
            Err(e) => cli::fail(format_args!("cannot parse {file}: {e}")),
        }
    }
    if any_failed {
        std::process::exit(1);
    }
}
