#![no_main]
include!("../bodies/channel_hostile.rs");
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));
