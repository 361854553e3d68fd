//! Puts the hyperport echo image's memory.x and device.x (the same budget
//! and vector table) where cortex-m-rt's link.x finds them.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for f in ["memory.x", "device.x"] {
        let src = format!("../uart-echo/{f}");
        fs::copy(&src, out.join(f)).expect("copy linker script");
        println!("cargo:rerun-if-changed={src}");
    }
    println!("cargo:rustc-link-search={}", out.display());
}
