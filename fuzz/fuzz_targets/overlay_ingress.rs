#![no_main]
#[path = "../bodies/overlay_ingress.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
