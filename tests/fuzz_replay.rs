//! Replays every fuzz target's committed corpus, plus a batch of seeded
//! pseudo-random inputs, as ordinary tests. See `fuzz/README.md`.
//!
//! The bodies are the very files cargo-fuzz compiles (`fuzz/bodies/*.rs`).

use std::path::Path;

/// Pseudo-random inputs per target on top of the corpus.
const RANDOM_INPUTS: usize = 2_000;
/// Longest pseudo-random input.
const MAX_RANDOM_LEN: usize = 4_096;

fn replay(name: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
    let mut files = 0usize;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).expect("corpus file readable");
            run(&data);
            files += 1;
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ name.len() as u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut buf = Vec::with_capacity(MAX_RANDOM_LEN);
    for _ in 0..RANDOM_INPUTS {
        buf.clear();
        let len = (next() as usize) % MAX_RANDOM_LEN;
        buf.extend((0..len).map(|_| next() as u8));
        run(&buf);
    }
    eprintln!("{name}: {files} corpus files and {RANDOM_INPUTS} random inputs replayed");
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[allow(dead_code, unused_imports)]
            mod $name {
                include!(concat!("../fuzz/bodies/", stringify!($name), ".rs"));
            }
            #[test]
            fn $name() {
                replay(stringify!($name), self::$name::run);
            }
        )*
    };
}

// One entry per fuzz target (keep sorted).
targets! {
    channel_hostile,
    framing_decode,
    framing_header,
    framing_roundtrip,
    link_ingress,
    ports_decode,
    ports_hostile,
    noise_datagram,
    noise_initiator,
    noise_responder,
    noise_stream,
    overlay_ingress,
    routing_announce,
    routing_greedy,
    routing_header,
}
