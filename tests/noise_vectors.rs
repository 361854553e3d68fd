//! Every applicable upstream Noise vector passes: cacophony (472 core 25519
//! vectors), snow (408) and noise-c's rev 34 `XXfallback` vectors (8), with
//! every provider built in (ring, RustCrypto, AWS-LC).
//! Files and provenance: `vectors/noise/README.md`.

mod support;

use hyperport::crypto::Provider;
use support::noise_vectors::run_file;

fn run(file: &str, expect_pass: usize) {
    #[cfg(feature = "ring")]
    run_with::<hyperport::crypto::Ring>(file, expect_pass);
    #[cfg(feature = "rustcrypto")]
    run_with::<hyperport::crypto::RustCrypto>(file, expect_pass);
    #[cfg(feature = "aws-lc")]
    run_with::<hyperport::crypto::AwsLc>(file, expect_pass);
}

fn run_with<P: Provider>(file: &str, expect_pass: usize) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors/noise")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("vector file");
    let t = run_file::<P>(&text).expect("vector file parses");
    for (name, why) in t.failures.iter().take(20) {
        eprintln!("FAIL {name}: {why}");
    }
    println!(
        "{file} ({}): {} passed, {} failed, {} skipped",
        P::NAME,
        t.passed,
        t.failed,
        t.skipped
    );
    assert_eq!(t.failed, 0, "{file}: failures");
    assert_eq!(t.passed, expect_pass, "{file}: passes");
}

#[test]
fn cacophony() {
    run("cacophony.txt", 472);
}

#[test]
fn snow() {
    run("snow.txt", 408);
}

#[test]
fn noise_c_fallback() {
    run("noise-c-fallback.txt", 8);
}
