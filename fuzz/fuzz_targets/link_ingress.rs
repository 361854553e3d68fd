#![no_main]
include!("../bodies/link_ingress.rs");
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
