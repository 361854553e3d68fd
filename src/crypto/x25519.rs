//! X25519 (RFC 7748) key pairs and Diffie-Hellman.
//!
//! A [`KeyPair`] is provider-neutral: it holds the private key (in an
//! x25519-dalek `StaticSecret`, zeroized on drop) and its public key, so the
//! same identity works with every [`Provider`](super::Provider). Which code
//! computes a Diffie-Hellman is the provider's choice
//! ([`Provider::x25519`](super::Provider::x25519)): the `RustCrypto`
//! provider uses x25519-dalek's Montgomery ladder ([`KeyPair::dh`]); the
//! `Ring` provider uses the same curve25519-dalek in Edwards form where
//! that is faster (x86_64 with AVX2, see below) and the ladder elsewhere;
//! the `AwsLc` provider uses AWS-LC. [`KeyPair::generate`] and
//! [`KeyPair::from_secret_bytes`] use x25519-dalek and never allocate, with
//! every feature set. A provider may attach its own form of the key
//! ([`Provider::x25519_prepare`](super::Provider::x25519_prepare), done by
//! the handshake builder; do it once yourself for a static key used in many
//! handshakes): with `AwsLc`, the key imported into AWS-LC, shared by
//! clones.
//!
//! ## X25519 in Edwards form (the `Ring` provider on x86_64 with AVX2)
//!
//! `X25519(k, u)` is the u-coordinate of `k·P` for either point `P` of
//! Curve25519 whose u-coordinate is `u` (RFC 7748 §5; `-P` has the same
//! u), so when `u` is on the curve it can be computed on the birationally
//! equivalent Edwards curve: `MontgomeryPoint::to_edwards` (the map
//! `y = (u-1)/(u+1)`, then decompression), `EdwardsPoint::mul_clamped` (the
//! RFC 7748 clamping, then a fixed-window scalar multiplication that
//! curve25519-dalek runs on its AVX2 vector backend when the CPU has AVX2,
//! chosen at run time), and `to_montgomery` (`u = (1+y)/(1-y)`, which maps
//! the identity, the result for every low-order `u`, to `u = 0`, as the
//! ladder does). On an AMD EPYC (Zen, AVX2) that is about 1.5 times as
//! fast per DH as the ladder (`cargo bench --bench x25519`, BENCHMARKS.md).
//! When `u` is not on the curve (on its twist, `u = -1` included; only a
//! peer that deviates from the protocol sends such a key) `to_edwards`
//! returns `None` and the ladder computes the DH; the results are the
//! ladder's in every case (tests: the RFC 7748 vectors, low-order,
//! non-canonical and high-bit `u`, and 100,000 seeded random pairs, half of
//! them on the twist, against the ladder and against crrl).
//!
//! Constant time: the only branch is on whether `u` is on the curve, and
//! `to_edwards`'s running time depends only on `u`; `u` is the peer's
//! public key, known to anyone who sees the handshake. Nothing branches on
//! or indexes memory by the private key: curve25519-dalek's scalar
//! multiplication selects its table entries in constant time, and its
//! field inversions use a fixed addition chain. The private key's copy
//! made for the multiplication is zeroized, and so is the product point.
//!
//! Where the Edwards form is not faster the `Ring` provider keeps the
//! ladder: without AVX2 curve25519-dalek multiplies Edwards points with its
//! serial field arithmetic, which plus the three field inversions and a
//! square root of the conversions is slower than the ladder. AVX2 is
//! detected with `std::is_x86_feature_detected!` (feature `std`, on by
//! default) or at compile time (`-C target-feature=+avx2`); other targets
//! (aarch64, wasm32, Cortex-M) and `no_std` builds without that flag use
//! the ladder.

use core::fmt;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of an X25519 public key, private key and shared secret.
pub const KEY_LEN: usize = 32;

/// An X25519 private key with its public key. The private key is zeroized on drop.
#[derive(Clone)]
pub struct KeyPair {
    secret: x25519_dalek::StaticSecret,
    public: [u8; KEY_LEN],
    /// The same private key inside AWS-LC (feature `aws-lc`), shared by
    /// clones. AWS-LC wipes it when the last clone drops (`OPENSSL_free`
    /// zeroizes every allocation before freeing it).
    #[cfg(feature = "aws-lc")]
    aws: Option<super::aws_lc_provider::AwsKey>,
}

impl KeyPair {
    /// Generates a fresh key pair from `rng` (32 random bytes as the
    /// private key).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill_bytes(&mut bytes);
        let kp = Self::from_secret_bytes(bytes);
        bytes.zeroize();
        kp
    }

    /// The key pair whose private key is `secret` (clamped as RFC 7748 says).
    /// Computes the public key once, with x25519-dalek.
    pub fn from_secret_bytes(secret: [u8; KEY_LEN]) -> Self {
        let secret = x25519_dalek::StaticSecret::from(secret);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        KeyPair {
            secret,
            public,
            #[cfg(feature = "aws-lc")]
            aws: None,
        }
    }

    /// The key pair imported into AWS-LC, with the public key AWS-LC
    /// computes; `None` only if AWS-LC refuses the import (never for 32
    /// bytes).
    #[cfg(feature = "aws-lc")]
    pub(crate) fn aws_from_secret_bytes(secret: &[u8; KEY_LEN]) -> Option<Self> {
        let (aws, public) = super::aws_lc_provider::AwsKey::import(secret)?;
        Some(KeyPair {
            secret: x25519_dalek::StaticSecret::from(*secret),
            public,
            aws: Some(aws),
        })
    }

    /// The key inside AWS-LC, if this key pair carries one.
    #[cfg(feature = "aws-lc")]
    pub(crate) fn aws_key(&self) -> Option<&super::aws_lc_provider::AwsKey> {
        self.aws.as_ref()
    }

    /// The public key.
    pub fn public(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The private key bytes (for persisting an identity). Handle with care.
    pub fn secret_bytes(&self) -> [u8; KEY_LEN] {
        self.secret.to_bytes()
    }

    /// `DH(self, peer)` with x25519-dalek's Montgomery ladder: the shared
    /// secret with `peer`'s public key (what the `RustCrypto` provider
    /// computes, and the `Ring` provider without AVX2; a handshake calls
    /// [`Provider::x25519`](super::Provider::x25519)).
    ///
    /// Low-order peer keys yield an all-zero secret; see
    /// [`SharedSecret::is_zero`] for callers that must reject them.
    pub fn dh(&self, peer: &[u8; KEY_LEN]) -> SharedSecret {
        let peer = x25519_dalek::PublicKey::from(*peer);
        SharedSecret(self.secret.diffie_hellman(&peer).to_bytes())
    }

    /// `DH(self, peer)` computed in Edwards form with curve25519-dalek
    /// (the `Ring` provider's X25519 on x86_64 with AVX2; see the [module
    /// documentation](self) for why it equals [`KeyPair::dh`] bit for bit
    /// and is constant-time in the private key). A `peer` that is not on
    /// the curve (the twist) takes the ladder, [`KeyPair::dh`].
    #[cfg(feature = "ring")]
    pub(crate) fn dh_edwards(&self, peer: &[u8; KEY_LEN]) -> SharedSecret {
        use curve25519_dalek::montgomery::MontgomeryPoint;
        // The branch depends only on `peer`, a public value; `to_edwards`
        // reads bits 0..=254 of `peer` (bit 255 ignored, values >= p taken
        // mod p), as RFC 7748 and the ladder do.
        let Some(point) = MontgomeryPoint(*peer).to_edwards(0) else {
            return self.dh(peer);
        };
        let mut scalar = self.secret.to_bytes();
        // `mul_clamped` clamps as RFC 7748 says (as the ladder does). It
        // takes the scalar by value, like x25519-dalek's ladder: our copy is
        // wiped below; copies inside curve25519-dalek are not (nor are the
        // ladder's).
        let mut product = point.mul_clamped(scalar);
        scalar.zeroize();
        let shared = product.to_montgomery().to_bytes();
        product.zeroize();
        SharedSecret(shared)
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The output of X25519; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; KEY_LEN]);

impl SharedSecret {
    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A secret holding `bytes`: for a [`Provider`](super::Provider) that
    /// computes X25519 itself (the output of `X25519(k, u)`, or all zeros
    /// where its X25519 refuses a low-order `u`).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SharedSecret(bytes)
    }

    /// A secret with the given bytes (unit tests that need a wrong value).
    #[cfg(test)]
    pub(crate) fn from_bytes_for_test(bytes: [u8; KEY_LEN]) -> Self {
        SharedSecret(bytes)
    }

    /// Whether the secret is all zeros (the peer sent a low-order point).
    /// Constant-time with respect to the secret's value.
    pub fn is_zero(&self) -> bool {
        self.0.iter().fold(0u8, |acc, b| acc | b) == 0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

#[cfg(all(test, feature = "ring"))]
mod tests {
    //! The Edwards-form X25519 of the `Ring` provider against x25519-dalek's
    //! ladder, RFC 7748's vectors (typed in from the RFC) and crrl (an
    //! independent implementation).

    use super::*;
    use crate::rng::SeededRng;
    use curve25519_dalek::montgomery::MontgomeryPoint;

    /// 64 hex digits to 32 bytes.
    fn h(s: &str) -> [u8; KEY_LEN] {
        let mut out = [0u8; KEY_LEN];
        assert_eq!(s.len(), 2 * KEY_LEN);
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn ladder(k: &[u8; KEY_LEN], u: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        *KeyPair::from_secret_bytes(*k).dh(u).as_bytes()
    }

    fn edwards(k: &[u8; KEY_LEN], u: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        *KeyPair::from_secret_bytes(*k).dh_edwards(u).as_bytes()
    }

    fn on_curve(u: &[u8; KEY_LEN]) -> bool {
        MontgomeryPoint(*u).to_edwards(0).is_some()
    }

    /// RFC 7748 §5.2, the two single-call vectors. The second `u` has its
    /// top bit set (ignored) and the first is on the curve.
    #[test]
    fn rfc7748_section_5_2_vectors() {
        let cases = [
            (
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
            ),
            (
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
            ),
        ];
        for (k, u, out) in cases {
            let (k, u, out) = (h(k), h(u), h(out));
            assert_eq!(edwards(&k, &u), out);
            assert_eq!(ladder(&k, &u), out);
        }
        assert!(on_curve(&h(cases[0].1)));
    }

    /// RFC 7748 §5.2, iterated: `k, u = X25519(k, u), k` from `k = u = 9`;
    /// the values after 1 and 1,000 iterations. Every `u` here is on the
    /// curve (9, then outputs of X25519 on curve points), so all 1,000
    /// steps take the Edwards path.
    #[test]
    fn rfc7748_iterated_vectors() {
        let mut k = [0u8; KEY_LEN];
        k[0] = 9;
        let mut u = k;
        let mut edwards_steps = 0;
        for i in 1..=1000 {
            if on_curve(&u) {
                edwards_steps += 1;
            }
            let r = edwards(&k, &u);
            u = k;
            k = r;
            if i == 1 {
                assert_eq!(
                    k,
                    h("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
                );
            }
        }
        assert_eq!(
            k,
            h("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
        );
        assert_eq!(edwards_steps, 1000);
    }

    /// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret,
    /// through the key pair API.
    #[test]
    fn rfc7748_section_6_1_diffie_hellman() {
        let a = KeyPair::from_secret_bytes(h(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let b = KeyPair::from_secret_bytes(h(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        assert_eq!(
            a.public(),
            &h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            b.public(),
            &h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        );
        let shared = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(a.dh_edwards(b.public()).as_bytes(), &shared);
        assert_eq!(b.dh_edwards(a.public()).as_bytes(), &shared);
    }

    /// The low-order `u` (order 1, 2, 4 and 8 on the curve, and `-1` on
    /// the twist), canonical, non-canonical (`+ p`) and with the top bit
    /// set: every clamped scalar is a multiple of 8, so the output is all
    /// zeros on both paths.
    #[test]
    fn low_order_points_give_all_zero() {
        let low = [
            // 0 and 1 (orders 2 and 4).
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            // The two points of order 8.
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            // p - 1 (u = -1, on the twist), p (= 0), p + 1 (= 1).
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        let mut rng = SeededRng::from_u64(7);
        let mut via_edwards = 0;
        for u in low {
            for top in [0u8, 0x80] {
                let mut u = h(u);
                u[31] |= top;
                if on_curve(&u) {
                    via_edwards += 1;
                }
                for _ in 0..4 {
                    let mut k = [0u8; KEY_LEN];
                    rng.fill_bytes(&mut k);
                    let kp = KeyPair::from_secret_bytes(k);
                    assert!(kp.dh_edwards(&u).is_zero(), "u = {u:02x?}");
                    assert!(kp.dh(&u).is_zero(), "u = {u:02x?}");
                }
            }
        }
        // All but -1 are on the curve: 6 of 7, with and without the top bit.
        assert_eq!(via_edwards, 12);
    }

    /// Every non-canonical `u` (p ..= 2^255 - 1, i.e. 0 ..= 18 + p), with
    /// and without the top bit: the same output as the canonical value, on
    /// both paths.
    #[test]
    fn non_canonical_u_is_reduced() {
        let mut rng = SeededRng::from_u64(8);
        for small in 0u8..19 {
            // p + small = 2^255 - 19 + small: low byte 0xed + small, then
            // 0xff..., top byte 0x7f (no carry: 0xed + 18 = 0xff).
            let mut non = [0xffu8; KEY_LEN];
            non[0] = 0xed + small;
            non[31] = 0x7f;
            let mut canonical = [0u8; KEY_LEN];
            canonical[0] = small;
            let mut k = [0u8; KEY_LEN];
            rng.fill_bytes(&mut k);
            let want = ladder(&k, &canonical);
            assert_eq!(edwards(&k, &canonical), want, "u = {small}");
            for top in [0u8, 0x80] {
                let mut u = non;
                u[31] |= top;
                assert_eq!(edwards(&k, &u), want, "u = p + {small}, top {top:#x}");
                assert_eq!(ladder(&k, &u), want, "u = p + {small}, top {top:#x}");
            }
        }
    }

    /// 100,000 seeded random (scalar, u) pairs, random `u` (about half on
    /// the twist, half with the top bit set): the Edwards path equals the
    /// ladder on every one, and crrl on every tenth.
    #[test]
    fn random_pairs_match_the_ladder() {
        const N: usize = 100_000;
        let mut rng = SeededRng::from_u64(25519);
        let mut twist = 0usize;
        let mut top = 0usize;
        for i in 0..N {
            let mut k = [0u8; KEY_LEN];
            let mut u = [0u8; KEY_LEN];
            rng.fill_bytes(&mut k);
            rng.fill_bytes(&mut u);
            if !on_curve(&u) {
                twist += 1;
            }
            if u[31] & 0x80 != 0 {
                top += 1;
            }
            let e = edwards(&k, &u);
            assert_eq!(e, ladder(&k, &u), "pair {i}: k {k:02x?} u {u:02x?}");
            #[cfg(not(target_os = "wasi"))]
            if i % 10 == 0 {
                assert_eq!(e, crrl::x25519::x25519(&u, &k), "pair {i}");
            }
        }
        assert!((45_000..55_000).contains(&twist), "{twist} on the twist");
        assert!((45_000..55_000).contains(&top), "{top} with the top bit");
    }
}
