//! Heap allocations of the WASI leg in the steady state, counted INSIDE
//! wasmtime with a counting global allocator.
//!
//! The leg's own code allocates nothing once the handshake is done; the
//! WASI 0.2 bindings underneath do (module docs of `adapters::wasi`, section
//! "Allocation"): each `input-stream.read` returns an owned list, and each
//! `poll` with a deadline passes and returns small lists. This test pins
//! that down as numbers: allocations per echoed message stay within a
//! small constant, the same for 0-byte and 65,519-byte messages, so nothing
//! grows with traffic.
//!
//! Needs a peer: `scripts/wasi_interop.sh` starts the wasm echo responder
//! and runs this file for wasm32-wasip2 with wasmtime as the runner and the
//! responder's address in `WASI_LEG_PEER`.

#![cfg(all(target_os = "wasi", target_env = "p2", feature = "wasi"))]

use hyperport::adapters::wasi::{Config, Leg, TcpStream, WasiRng};
use hyperport::channel::{Channel, MAX_PAYLOAD_LEN};
use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::Builder;

mod alloc_counter;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

/// Read calls per received frame: the prefix and the body, each possibly
/// split in two by the host; plus a wait (two lists) when the data is not
/// there yet, and a wait after the send's flush.
const MAX_ALLOCATIONS_PER_ECHO: usize = 12;

#[test]
fn steady_state_allocations_per_message_are_bounded_and_size_independent() {
    let peer = std::env::var("WASI_LEG_PEER")
        .expect("WASI_LEG_PEER: run through scripts/wasi_interop.sh")
        .parse()
        .expect("WASI_LEG_PEER is IP:PORT");
    let config = Config::new();
    let hs = Builder::from_name("Noise_XX_25519_ChaChaPoly_BLAKE2s")
        .unwrap()
        .local_static(KeyPair::generate(&mut WasiRng))
        .build_initiator::<P>(&mut WasiRng)
        .unwrap();
    let channel = Channel::new(hs, vec![0u8; 65_535]).unwrap();
    let stream = TcpStream::connect(peer, &mut config.connect_deadline()).unwrap();
    let mut leg = Leg::handshake(stream, channel, &config).unwrap();
    let msg = vec![0x5au8; MAX_PAYLOAD_LEN];
    let mut plain = vec![0u8; leg.max_payload_len()];
    let mut echo = |leg: &mut Leg<P, Vec<u8>>, len: usize| {
        leg.send(&msg[..len]).unwrap();
        let n = leg.recv(&mut plain).unwrap().unwrap();
        assert_eq!(&plain[..n], &msg[..len]);
    };
    for len in [0, 1, 1400, MAX_PAYLOAD_LEN] {
        for _ in 0..10 {
            echo(&mut leg, len); // warm-up
        }
        let rounds = 50;
        let before = alloc_counter::allocations();
        for _ in 0..rounds {
            echo(&mut leg, len);
        }
        let total = alloc_counter::allocations() - before;
        let per_echo = total as f64 / rounds as f64;
        println!(
            "{len:>6}-byte messages: {per_echo:.2} allocations per echo (send + recv), all in the WASI bindings"
        );
        assert!(
            total <= MAX_ALLOCATIONS_PER_ECHO * rounds,
            "{len}-byte messages: {per_echo} allocations per echo"
        );
    }
    leg.close();
}
