#![no_main]
include!("../bodies/framing_roundtrip.rs");
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
