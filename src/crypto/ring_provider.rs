//! The `ring` provider: AEAD and SHA-2 from ring, BLAKE2 from the `blake2` crate.

use super::blake::Blake2;
use super::x25519::{KEY_LEN, KeyPair, SharedSecret};
use super::{
    AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, Aead, AeadAlgorithm, AeadError, Digest,
    HashAlgorithm, Hasher, Provider,
};
use ring::aead::{self, LessSafeKey, Nonce, UnboundKey};

/// Crypto provider backed by ring (hosted targets only: ring does not build
/// for Cortex-M).
///
/// X25519: curve25519-dalek, in Edwards form on x86_64 with AVX2 (about 1.5
/// times the ladder per DH there) and x25519-dalek's Montgomery ladder
/// elsewhere; see [`x25519`](super::x25519) for why both give the same
/// bytes and are constant-time in the private key. ring itself cannot hold a
/// static X25519 private key.
///
/// Limitation: ring does not zeroize its expanded AEAD key schedules on drop.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ring;

/// A keyed ring AEAD cipher.
pub struct RingAead {
    alg: AeadAlgorithm,
    key: LessSafeKey,
}

impl core::fmt::Debug for RingAead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RingAead({:?})", self.alg)
    }
}

impl Aead for RingAead {
    fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }

    fn seal_in_place(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; AEAD_TAG_LEN] {
        let nonce = Nonce::assume_unique_for_key(*nonce);
        let mut out = [0u8; AEAD_TAG_LEN];
        // ring only fails here for inputs over ~256 GiB (ChaCha20 / GCM block
        // counter limits); no caller of this crate can pass one (Noise caps
        // messages at 65535 bytes). The tag stays zero then, which no receiver
        // accepts.
        if let Ok(tag) = self
            .key
            .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), in_out)
        {
            out.copy_from_slice(tag.as_ref());
        }
        out
    }

    fn open_in_place(
        &self,
        nonce: &[u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), AeadError> {
        let nonce = Nonce::assume_unique_for_key(*nonce);
        self.key
            .open_in_place_separate_tag(
                nonce,
                aead::Aad::from(aad),
                aead::Tag::from(*tag),
                in_out,
                0..,
            )
            .map(|_| ())
            .map_err(|_| AeadError)
    }
}

/// A running ring or BLAKE2 hash.
#[derive(Clone)]
pub struct RingHasher(Inner);

#[derive(Clone)]
enum Inner {
    Sha(HashAlgorithm, ring::digest::Context),
    Blake(HashAlgorithm, Blake2),
}

impl Hasher for RingHasher {
    fn algorithm(&self) -> HashAlgorithm {
        match &self.0 {
            Inner::Sha(a, _) | Inner::Blake(a, _) => *a,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Inner::Sha(_, c) => c.update(data),
            Inner::Blake(_, b) => b.update(data),
        }
    }

    fn finish(self) -> Digest {
        match self.0 {
            Inner::Sha(_, c) => Digest::from_slice(c.finish().as_ref()),
            Inner::Blake(_, b) => b.finish(),
        }
    }
}

impl Provider for Ring {
    const NAME: &'static str = "ring";
    type AeadKey = RingAead;
    type Hasher = RingHasher;

    fn aead_key(alg: AeadAlgorithm, key: &[u8; AEAD_KEY_LEN]) -> RingAead {
        let ring_alg = match alg {
            AeadAlgorithm::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
            AeadAlgorithm::Aes256Gcm => &aead::AES_256_GCM,
        };
        // Both algorithms take exactly AEAD_KEY_LEN (32) bytes, the only
        // error `UnboundKey::new` can return is a key-length mismatch, and the
        // type of `key` rules that out.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(ring_alg, key).expect("32-byte key for a 32-byte-key AEAD");
        RingAead {
            alg,
            key: LessSafeKey::new(unbound),
        }
    }

    /// curve25519-dalek's Edwards-form X25519 where the CPU has AVX2 (see
    /// [`x25519`](super::x25519)), x25519-dalek's ladder
    /// ([`KeyPair::dh`]) elsewhere. The choice depends on the CPU only,
    /// never on a key.
    fn x25519(key: &KeyPair, peer: &[u8; KEY_LEN]) -> SharedSecret {
        if has_avx2() {
            key.dh_edwards(peer)
        } else {
            key.dh(peer)
        }
    }

    fn hasher(alg: HashAlgorithm) -> RingHasher {
        RingHasher(match alg {
            HashAlgorithm::Sha256 => {
                Inner::Sha(alg, ring::digest::Context::new(&ring::digest::SHA256))
            }
            HashAlgorithm::Sha512 => {
                Inner::Sha(alg, ring::digest::Context::new(&ring::digest::SHA512))
            }
            HashAlgorithm::Blake2s => Inner::Blake(alg, Blake2::s()),
            HashAlgorithm::Blake2b => Inner::Blake(alg, Blake2::b()),
        })
    }
}

/// Whether curve25519-dalek multiplies Edwards points with AVX2 here: the
/// CPU has it (detected once and cached by std), or the build assumes it.
/// curve25519-dalek makes the same run-time check and uses its serial field
/// arithmetic without AVX2, where the Edwards form would be slower than the
/// ladder.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_avx2() -> bool {
    cfg!(target_feature = "avx2") || std::is_x86_feature_detected!("avx2")
}

/// Whether curve25519-dalek multiplies Edwards points with AVX2 here: on
/// x86_64 without `std`, only if the build assumes AVX2
/// (`-C target-feature=+avx2`); never on other targets.
#[cfg(not(all(target_arch = "x86_64", feature = "std")))]
fn has_avx2() -> bool {
    cfg!(all(target_arch = "x86_64", target_feature = "avx2"))
}
