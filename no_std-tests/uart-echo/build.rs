//! Puts memory.x (memory-hybrid.x with the `hybrid` feature) and device.x
//! where cortex-m-rt's link.x finds them.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let memory = if env::var_os("CARGO_FEATURE_HYBRID").is_some() {
        "memory-hybrid.x"
    } else {
        "memory.x"
    };
    for (from, to) in [(memory, "memory.x"), ("device.x", "device.x")] {
        fs::copy(from, out.join(to)).expect("copy linker script");
        println!("cargo:rerun-if-changed={from}");
    }
    println!("cargo:rustc-link-search={}", out.display());
}
