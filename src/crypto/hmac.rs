//! HMAC (RFC 2104) over any [`Provider`] hash, and the HKDF used by Noise.
//!
//! Built on [`Provider::hasher`] so that every hash of every provider gets
//! HMAC with the same code: `HMAC(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m))`
//! where `K'` is `K` zero-padded to the block length (or `H(K)` if longer).

use super::{Digest, HashAlgorithm, Hasher, MAX_BLOCK_LEN, Provider};
use zeroize::Zeroize;

/// HMAC of the concatenation of `parts` under `key`.
pub fn hmac<P: Provider>(alg: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> Digest {
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
    for part in parts {
        inner.update(part);
    }
    let inner = inner.finish();
    for (p, b) in pad.iter_mut().zip(k.iter()) {
        *p = b ^ 0x5c;
    }
    let mut outer = P::hasher(alg);
    outer.update(pad.get(..block_len).unwrap_or(&[]));
    outer.update(inner.as_bytes());
    k.zeroize();
    pad.zeroize();
    outer.finish()
}

/// Noise's `HKDF(chaining_key, input_key_material, num_outputs)` (spec section 4.3)
/// with two outputs.
pub fn hkdf2<P: Provider>(alg: HashAlgorithm, chaining_key: &[u8], ikm: &[u8]) -> (Digest, Digest) {
    let temp = hmac::<P>(alg, chaining_key, &[ikm]);
    let o1 = hmac::<P>(alg, temp.as_bytes(), &[&[0x01]]);
    let o2 = hmac::<P>(alg, temp.as_bytes(), &[o1.as_bytes(), &[0x02]]);
    (o1, o2)
}

/// Noise's `HKDF(chaining_key, input_key_material, 3)` (spec section 4.3).
pub fn hkdf3<P: Provider>(
    alg: HashAlgorithm,
    chaining_key: &[u8],
    ikm: &[u8],
) -> (Digest, Digest, Digest) {
    let temp = hmac::<P>(alg, chaining_key, &[ikm]);
    let o1 = hmac::<P>(alg, temp.as_bytes(), &[&[0x01]]);
    let o2 = hmac::<P>(alg, temp.as_bytes(), &[o1.as_bytes(), &[0x02]]);
    let o3 = hmac::<P>(alg, temp.as_bytes(), &[o2.as_bytes(), &[0x03]]);
    (o1, o2, o3)
}
