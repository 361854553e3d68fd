//! Zero heap allocations per transport message: a counting global allocator
//! watches this thread while stream and datagram transports (both AEADs,
//! copying and in-place paths, automatic rekeys, replay rejections, forged
//! packets) exchange messages.

#![cfg(any(feature = "ring", feature = "rustcrypto", feature = "aws-lc"))]

use hyperport::crypto::{AeadAlgorithm, Digest, Provider};
use hyperport::noise::cipher::SplitKeys;
use hyperport::noise::datagram::{self, DatagramTransport, RekeyPolicy};
use hyperport::noise::transport::{Config, Transport};
use hyperport::time::{Duration, Instant, Timed};

mod alloc_counter;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = alloc_counter::allocations();
    f();
    alloc_counter::allocations() - before
}

fn split(alg: AeadAlgorithm, initiator: bool) -> SplitKeys {
    SplitKeys::new(
        [1; 32],
        [2; 32],
        alg,
        Digest::from_slice(&[3; 32]),
        initiator,
    )
}

#[test]
fn counter_sees_allocations() {
    // The harness itself must be able to fail.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}

#[cfg(feature = "ring")]
#[test]
fn no_allocation_per_message_ring() {
    no_allocation_per_message::<hyperport::crypto::Ring>();
}

#[cfg(feature = "rustcrypto")]
#[test]
fn no_allocation_per_message_rustcrypto() {
    no_allocation_per_message::<hyperport::crypto::RustCrypto>();
}

#[cfg(feature = "aws-lc")]
#[test]
fn no_allocation_per_message_aws_lc() {
    no_allocation_per_message::<hyperport::crypto::AwsLc>();
}

fn no_allocation_per_message<P: Provider>() {
    let mut wire = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    let payload = vec![0x5au8; 65519];
    for alg in [AeadAlgorithm::ChaCha20Poly1305, AeadAlgorithm::Aes256Gcm] {
        let config = Config {
            rekey_after_messages: Some(7),
        };
        let dconfig = datagram::Config {
            rekey: RekeyPolicy {
                after_messages: Some(5),
                after_time: Some(Duration::from_millis(10)),
            },
        };
        let n = allocations(|| {
            // Construction included: it does not allocate either.
            let mut a = Transport::<P>::new(split(alg, true), config);
            let mut b = Transport::<P>::new(split(alg, false), config);
            let mut da = DatagramTransport::<P>::new(split(alg, true), dconfig, Instant::ZERO);
            let mut db = DatagramTransport::<P>::new(split(alg, false), dconfig, Instant::ZERO);
            let mut now = Instant::ZERO;
            for i in 0..60usize {
                let len = [0, 64, 1400, 65519][i % 4];
                let w = a.write_message(&payload[..len], &mut wire).unwrap();
                assert_eq!(b.read_message(&wire[..w], &mut out).unwrap(), len);
                wire[..len].copy_from_slice(&payload[..len]);
                let w = b.write_message_in_place(&mut wire, len).unwrap();
                assert_eq!(a.read_message_in_place(&mut wire[..w]).unwrap(), len);

                let (nonce, w) = da.write_message(&payload[..len], &mut wire).unwrap();
                assert_eq!(db.read_message(nonce, &wire[..w], &mut out).unwrap(), len);
                // replayed, then forged: refused
                assert!(db.read_message(nonce, &wire[..w], &mut out).is_err());
                wire[0] ^= 1;
                assert!(db.read_message(nonce + 1, &wire[..w], &mut out).is_err());
                now += Duration::from_millis(3);
                da.handle_timeout(now);
                let _ = da.poll_timeout();
            }
            assert!(a.sending_nonce() > 0 && da.sending_nonce() > 60);
        });
        assert_eq!(n, 0, "{} {alg:?}: {n} heap allocations", P::NAME);
    }
}
