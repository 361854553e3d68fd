#![no_main]
include!("../bodies/noise_datagram.rs");
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
