//! BLAKE2s-256 and BLAKE2b-512 from the `blake2` crate, shared by every
//! provider (BLAKE2b only with the `blake2b` feature).
//!
//! (An earlier default feature, `simd-blake2s`, took BLAKE2s from
//! `blake2s_simd`. On the one- and two-block inputs Noise hashes it was no
//! faster in side-by-side timing, 0.98-1.01 of the `blake2` crate's time, and
//! handshakes measured 1-3% slower with it, so it was removed; see
//! BENCHMARKS.md.)

use super::Digest;
use blake2::Digest as _;

/// A running BLAKE2 computation.
#[derive(Clone)]
pub(crate) enum Blake2 {
    S(blake2::Blake2s256),
    #[cfg(feature = "blake2b")]
    B(blake2::Blake2b512),
}

impl Blake2 {
    pub(crate) fn s() -> Self {
        Blake2::S(blake2::Blake2s256::new())
    }

    #[cfg(feature = "blake2b")]
    pub(crate) fn b() -> Self {
        Blake2::B(blake2::Blake2b512::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Blake2::S(h) => h.update(data),
            #[cfg(feature = "blake2b")]
            Blake2::B(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        match self {
            Blake2::S(h) => Digest::from_slice(&h.finalize()),
            #[cfg(feature = "blake2b")]
            Blake2::B(h) => Digest::from_slice(&h.finalize()),
        }
    }
}
