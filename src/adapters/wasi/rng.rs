//! Entropy from `wasi:random/random`.

use rand_core::{CryptoRng, Error, RngCore};
use wasip2::random::random::get_random_u64;
use zeroize::Zeroize;

/// The host's cryptographically secure random source
/// (`wasi:random/random.get-random-u64`), as a `rand_core` RNG for
/// [`KeyPair::generate`](crate::crypto::x25519::KeyPair::generate) and the
/// Noise builders.
///
/// WASI requires this function to be a CSPRNG that never blocks and always
/// returns fresh data (a deterministic host must leave it out). It takes no
/// list argument and returns none, so it allocates nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct WasiRng;

impl RngCore for WasiRng {
    fn next_u32(&mut self) -> u32 {
        let [a, b, c, d, ..] = get_random_u64().to_le_bytes();
        u32::from_le_bytes([a, b, c, d])
    }

    fn next_u64(&mut self) -> u64 {
        get_random_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let mut word = get_random_u64().to_le_bytes();
            for (d, s) in chunk.iter_mut().zip(word) {
                *d = s;
            }
            word.zeroize();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for WasiRng {}
