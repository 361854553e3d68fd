#![no_main]
include!("../bodies/noise_stream.rs");
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
