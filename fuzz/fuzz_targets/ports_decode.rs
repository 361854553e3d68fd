#![no_main]
include!("../bodies/ports_decode.rs");
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
