//! Zero heap allocations in the framed Noise channel: a counting global
//! allocator watches this thread through a whole XX handshake (construction
//! included) and transport messages both ways, copying and in-place, fed in
//! small chunks and straight into the channel's storage.

#![cfg(any(feature = "ring", feature = "rustcrypto"))]

use hyperport::channel::{Channel, FRAME_OVERHEAD, Incoming, PREFIX_LEN};
use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::Builder;
use hyperport::rng::SeededRng;

mod alloc_counter;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = alloc_counter::allocations();
    f();
    alloc_counter::allocations() - before
}

#[test]
fn counter_sees_allocations() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}

#[test]
fn no_allocation_in_handshake_or_transport() {
    const NAME: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
    // Buffers are the caller's: made before counting starts.
    let mut store_a = vec![0u8; 65535];
    let mut store_b = vec![0u8; 65535];
    let mut out = vec![0u8; 65539];
    let mut plain = vec![0u8; 65535];
    let payload = vec![0x5au8; 65519];
    let n = allocations(|| {
        let mut rng = SeededRng::from_u64(1);
        let a = Builder::from_name(NAME)
            .unwrap()
            .local_static(KeyPair::generate(&mut rng))
            .build_initiator::<P>(&mut rng)
            .unwrap();
        let b = Builder::from_name(NAME)
            .unwrap()
            .local_static(KeyPair::generate(&mut rng))
            .build_responder::<P>(&mut rng)
            .unwrap();
        let mut a = Channel::new(a, &mut store_a[..]).unwrap();
        let mut b = Channel::new(b, &mut store_b[..]).unwrap();
        for _ in 0..3 {
            for a_speaks in [true, false] {
                let (from, to) = if a_speaks {
                    (&mut a, &mut b)
                } else {
                    (&mut b, &mut a)
                };
                while let Some(n) = from.poll_handshake(&[], &mut out).unwrap() {
                    for chunk in out[..n].chunks(5) {
                        let mut input = chunk;
                        while to.handle_input(&mut input, &mut plain).unwrap().is_some() {}
                    }
                }
            }
        }
        assert!(a.is_established() && b.is_established());
        for round in 0..20usize {
            let len = [0, 1, 1400, 65519][round % 4];
            let n = a.write_message(&payload[..len], &mut out).unwrap();
            let mut input = &out[..n.min(50)];
            while b.handle_input(&mut input, &mut plain).unwrap().is_some() {}
            let mut at = n.min(50);
            while at < n {
                let mut input = &out[at..n];
                if let Some(buf) = b.read_buffer() {
                    let k = buf.len().min(n - at);
                    buf[..k].copy_from_slice(&out[at..at + k]);
                    at += k;
                    if let Some(ev) = b.handle_filled(k, &mut plain).unwrap() {
                        assert_eq!(ev, Incoming::Message(len));
                    }
                } else {
                    let before = input.len();
                    while b.handle_input(&mut input, &mut plain).unwrap().is_some() {}
                    at += before - input.len();
                }
            }
            out[PREFIX_LEN..PREFIX_LEN + len].copy_from_slice(&payload[..len]);
            let n = b.write_message_in_place(&mut out, len).unwrap();
            assert_eq!(n, len + FRAME_OVERHEAD);
            let mut input = &out[..n];
            assert_eq!(
                a.handle_input(&mut input, &mut plain).unwrap(),
                Some(Incoming::Message(len))
            );
        }
    });
    assert_eq!(n, 0, "allocations in the channel");
}
