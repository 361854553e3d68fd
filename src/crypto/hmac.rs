//! HMAC (RFC 2104) over any [`Provider`] hash, and the HKDF used by Noise.
//!
//! Built on [`Provider::hasher`] so that every hash of every provider gets
//! HMAC with the same code: `HMAC(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m))`
//! where `K'` is `K` zero-padded to the block length (or `H(K)` if longer).

use super::{Digest, HashAlgorithm, Hasher, MAX_BLOCK_LEN, Provider};
use zeroize::Zeroize;

/// An HMAC key after its padded blocks have been absorbed: the inner hash
/// with `K' ^ ipad` and the outer hash with `K' ^ opad` already compressed.
///
/// Computing `HMAC(K, m)` for several messages `m` under one key (as Noise's
/// HKDF does for its 2 or 3 outputs) then costs one clone of each state
/// instead of re-hashing the two padded key blocks per output. The states
/// are derived from the key; they are dropped with it (the provider's hasher
/// decides whether its internal state is wiped).
pub struct HmacKey<P: Provider> {
    inner: P::Hasher,
    outer: P::Hasher,
}

impl<P: Provider> HmacKey<P> {
    /// Prepares `key` for HMAC with hash `alg` (keys longer than the block
    /// are hashed first, as RFC 2104 says).
    pub fn new(alg: HashAlgorithm, key: &[u8]) -> Self {
        let block_len = alg.block_len();
        let mut k = [0u8; MAX_BLOCK_LEN];
        if key.len() > block_len {
            let d = P::hash(alg, &[key]);
            let n = d.as_bytes().len();
            if let Some(dst) = k.get_mut(..n) {
                dst.copy_from_slice(d.as_bytes());
            }
        } else if let Some(dst) = k.get_mut(..key.len()) {
            dst.copy_from_slice(key);
        }
        let mut pad = [0u8; MAX_BLOCK_LEN];
        for (p, b) in pad.iter_mut().zip(k.iter()) {
            *p = b ^ 0x36;
        }
        let mut inner = P::hasher(alg);
        inner.update(pad.get(..block_len).unwrap_or(&[]));
        for (p, b) in pad.iter_mut().zip(k.iter()) {
            *p = b ^ 0x5c;
        }
        let mut outer = P::hasher(alg);
        outer.update(pad.get(..block_len).unwrap_or(&[]));
        k.zeroize();
        pad.zeroize();
        HmacKey { inner, outer }
    }

    /// `HMAC(K, parts[0] || parts[1] || ...)`.
    pub fn mac(&self, parts: &[&[u8]]) -> Digest {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        let inner = inner.finish();
        let mut outer = self.outer.clone();
        outer.update(inner.as_bytes());
        outer.finish()
    }
}

impl<P: Provider> core::fmt::Debug for HmacKey<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key-derived state.
        write!(f, "HmacKey({:?})", self.inner.algorithm())
    }
}

/// HMAC of the concatenation of `parts` under `key`.
pub fn hmac<P: Provider>(alg: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> Digest {
    HmacKey::<P>::new(alg, key).mac(parts)
}

/// Noise's `HKDF(chaining_key, input_key_material, num_outputs)` (spec section 4.3)
/// with two outputs.
pub fn hkdf2<P: Provider>(alg: HashAlgorithm, chaining_key: &[u8], ikm: &[u8]) -> (Digest, Digest) {
    let temp = HmacKey::<P>::new(alg, hmac::<P>(alg, chaining_key, &[ikm]).as_bytes());
    let o1 = temp.mac(&[&[0x01]]);
    let o2 = temp.mac(&[o1.as_bytes(), &[0x02]]);
    (o1, o2)
}

/// Noise's `HKDF(chaining_key, input_key_material, 3)` (spec section 4.3).
pub fn hkdf3<P: Provider>(
    alg: HashAlgorithm,
    chaining_key: &[u8],
    ikm: &[u8],
) -> (Digest, Digest, Digest) {
    let temp = HmacKey::<P>::new(alg, hmac::<P>(alg, chaining_key, &[ikm]).as_bytes());
    let o1 = temp.mac(&[&[0x01]]);
    let o2 = temp.mac(&[o1.as_bytes(), &[0x02]]);
    let o3 = temp.mac(&[o2.as_bytes(), &[0x03]]);
    (o1, o2, o3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DefaultProvider;

    /// RFC 4231 test case 2 (HMAC-SHA-256, key "Jefe"), typed from the RFC.
    const TC2_DATA: &[u8] = b"what do ya want for nothing?";
    const TC2_SHA256: [u8; 32] = [
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75,
        0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec,
        0x38, 0x43,
    ];

    #[test]
    fn one_key_many_macs_match_the_rfc() {
        let key = HmacKey::<DefaultProvider>::new(HashAlgorithm::Sha256, b"Jefe");
        // A MAC must not disturb the prepared key: the same answer every time,
        // whole or in parts, and after an unrelated MAC in between.
        assert_eq!(key.mac(&[TC2_DATA]).as_bytes(), &TC2_SHA256);
        let _ = key.mac(&[b"something else entirely"]);
        assert_eq!(
            key.mac(&[b"what do ya", b"", b" want for nothing?"])
                .as_bytes(),
            &TC2_SHA256
        );
        assert_eq!(
            hmac::<DefaultProvider>(HashAlgorithm::Sha256, b"Jefe", &[TC2_DATA]).as_bytes(),
            &TC2_SHA256
        );
    }
}
