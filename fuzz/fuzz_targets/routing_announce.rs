#![no_main]
#[path = "../bodies/routing_announce.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
