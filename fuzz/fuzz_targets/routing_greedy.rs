#![no_main]
#[path = "../bodies/routing_greedy.rs"]
mod body;
libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
