//! Every applicable upstream Noise vector passes: cacophony (472 core 25519
//! vectors), snow (408) and noise-c's rev 34 `XXfallback` vectors (8), with
//! every provider built in (ring, RustCrypto, AWS-LC); and the post-quantum
//! ones: our clatter-generated `clatter-pq.txt` (61) and go-clatter's four.
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

/// Post-quantum vectors generated with clatter 2.3 and a fixed ChaCha20
/// source (`vectors/noise/generator/`): every hybrid and pq pattern.
#[cfg(feature = "mlkem")]
#[test]
fn clatter_pq() {
    run("clatter-pq.txt", 61);
}

/// go-clatter's interop vectors (made by Rust clatter 2.2 with its
/// counter RNG): hybrid XX and IK, pq XX and IK.
#[cfg(feature = "mlkem")]
#[test]
fn go_clatter() {
    for f in [
        "go-clatter/hybrid_xx_x25519_mlkem768_chacha_sha256.txt",
        "go-clatter/hybrid_ik_x25519_mlkem768_aes_sha512.txt",
        "go-clatter/pq_xx_mlkem768_chacha_sha256.txt",
        "go-clatter/pq_ik_mlkem768_aes_sha512.txt",
    ] {
        run(f, 1);
    }
}
