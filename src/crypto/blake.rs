//! BLAKE2s-256 and BLAKE2b-512, shared by every provider: from the `blake2`
//! crate, except BLAKE2s with the `simd-blake2s` feature, which comes from
//! `blake2s_simd` (SIMD code chosen at run time; the same output).

use super::Digest;
#[cfg(any(not(feature = "simd-blake2s"), feature = "blake2b"))]
use blake2::Digest as _;

/// A running BLAKE2 computation.
#[derive(Clone)]
pub(crate) enum Blake2 {
    #[cfg(not(feature = "simd-blake2s"))]
    S(blake2::Blake2s256),
    #[cfg(feature = "simd-blake2s")]
    S(blake2s_simd::State),
    #[cfg(feature = "blake2b")]
    B(blake2::Blake2b512),
}

impl Blake2 {
    pub(crate) fn s() -> Self {
        #[cfg(not(feature = "simd-blake2s"))]
        return Blake2::S(blake2::Blake2s256::new());
        // blake2s_simd's default parameters: 32-byte output, no key, salt or
        // personalisation (plain BLAKE2s-256 as Noise uses it).
        #[cfg(feature = "simd-blake2s")]
        return Blake2::S(blake2s_simd::Params::new().to_state());
    }

    #[cfg(feature = "blake2b")]
    pub(crate) fn b() -> Self {
        Blake2::B(blake2::Blake2b512::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            #[cfg(not(feature = "simd-blake2s"))]
            Blake2::S(h) => h.update(data),
            #[cfg(feature = "simd-blake2s")]
            Blake2::S(h) => {
                h.update(data);
            }
            #[cfg(feature = "blake2b")]
            Blake2::B(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        match self {
            #[cfg(not(feature = "simd-blake2s"))]
            Blake2::S(h) => Digest::from_slice(&h.finalize()),
            #[cfg(feature = "simd-blake2s")]
            Blake2::S(h) => Digest::from_slice(h.finalize().as_bytes()),
            #[cfg(feature = "blake2b")]
            Blake2::B(h) => Digest::from_slice(&h.finalize()),
        }
    }
}

#[cfg(all(test, feature = "simd-blake2s"))]
mod tests {
    use super::*;

    /// `blake2s_simd` (used with `simd-blake2s`) against the `blake2` crate
    /// (the other implementation): every length across the block boundaries
    /// 0..=200 bytes, fed whole and in two uneven parts.
    #[test]
    fn simd_blake2s_matches_the_blake2_crate() {
        let data: [u8; 200] = core::array::from_fn(|i| (i as u8).wrapping_mul(31) ^ 0x5a);
        for len in 0..=data.len() {
            let msg = &data[..len];
            let reference = blake2::Blake2s256::digest(msg);
            let mut whole = Blake2::s();
            whole.update(msg);
            assert_eq!(whole.finish().as_bytes(), &reference[..], "len {len}");
            let (a, b) = msg.split_at(len / 3);
            let mut parts = Blake2::s();
            parts.update(a);
            parts.update(b);
            assert_eq!(parts.finish().as_bytes(), &reference[..], "split {len}");
        }
    }
}
