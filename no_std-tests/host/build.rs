//! Links with no C runtime and no libc: `_start` and the memory intrinsics
//! are ours. The static relocation model comes from `.cargo/config.toml`
//! (target-only rustflags, so build scripts and proc macros stay PIC).
fn main() {
    // Only for x86_64 Linux; elsewhere this binary is not built by run.sh.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os == "linux" && arch == "x86_64" {
        for arg in ["-nostartfiles", "-nostdlib", "-static"] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}
