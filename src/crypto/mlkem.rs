//! ML-KEM-768 (FIPS 203): key pairs, encapsulation and decapsulation for the
//! post-quantum hybrid and KEM-only Noise patterns (feature `mlkem`).
//!
//! ## Which implementation, and why
//!
//! The code is [libcrux-ml-kem](https://crates.io/crates/libcrux-ml-kem)
//! (Cryspen), chosen over RustCrypto's `ml-kem` (what clatter uses) for four
//! reasons:
//!
//! * **Verified.** Its portable, AVX2 and NEON code paths are proven
//!   panic-free and functionally correct against a specification of
//!   FIPS 203 (hax / F*), and secret-independent in their control flow;
//!   RustCrypto's `ml-kem` is carefully written but unverified.
//! * **Fast where we run.** It picks AVX2 (x86_64) or NEON (aarch64) at run
//!   time, with a portable fallback everywhere else; RustCrypto's `ml-kem` is
//!   portable code only. On our x86_64 machines libcrux's key generation,
//!   encapsulation and decapsulation take a fraction of `ml-kem`'s time
//!   (BENCHMARKS.md, "ML-KEM-768").
//! * **Randomness is an argument.** Key generation takes the 64 bytes
//!   `d || z` and encapsulation the 32 bytes `m` of FIPS 203's internal
//!   algorithms as plain arrays: the caller's RNG supplies them, like every
//!   other key of this crate, and test vectors can fix them.
//! * **Fits firmware.** `#![no_std]`, no allocator, no C, builds for
//!   `thumbv7em-none-eabihf`; only ML-KEM-768 is compiled in.
//!
//! AWS-LC (feature `aws-lc`) also has ML-KEM-768, but it draws its own
//! randomness inside key generation and encapsulation, with no way to
//! inject it: it could not honour this crate's rule that randomness comes
//! from the caller, nor reproduce a test vector. Every provider therefore
//! uses libcrux for ML-KEM (the [`Provider`](super::Provider) methods
//! `mlkem768_*` have libcrux as their default).
//!
//! ## Sizes, and where they live
//!
//! | value | bytes | type |
//! |---|---|---|
//! | decapsulation (private) key, public key included | 2,400 | [`KeyPair`] |
//! | encapsulation (public) key | 1,184 | [`PublicKey`] |
//! | ciphertext | 1,088 | [`Ciphertext`] |
//! | shared secret | 32 | [`SharedSecret`] |
//! | key generation seed `d \|\| z` | 64 | |
//! | encapsulation randomness `m` | 32 | |
//!
//! Nothing is allocated: every value is an inline array, so it lives where
//! its owner lives (a handshake state holds its keys inline, see
//! [`HandshakeState`](crate::noise::HandshakeState)). A [`KeyPair`] is
//! zeroized on drop, and so is a [`SharedSecret`]. The stack copies libcrux
//! makes inside a call are not wiped (no Rust ML-KEM crate does).
//!
//! ## Input checks (FIPS 203, section 7)
//!
//! A public key received from a peer is checked ([`PublicKey::from_bytes`]:
//! every coefficient below q, the "modulus check"); a key that fails is
//! refused. Ciphertexts have a fixed length and need no other check
//! (decapsulation of a forged ciphertext yields an unrelated secret, which
//! makes the next authentication fail). An imported private key is checked
//! against the hash of its public key ([`KeyPair::from_bytes`]).

use core::fmt;

use libcrux_ml_kem::mlkem768;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

/// Length of an ML-KEM-768 encapsulation (public) key.
pub const PUBLIC_KEY_LEN: usize = 1184;
/// Length of an ML-KEM-768 decapsulation (private) key, which contains the
/// public key.
pub const SECRET_KEY_LEN: usize = 2400;
/// Length of an ML-KEM-768 ciphertext.
pub const CIPHERTEXT_LEN: usize = 1088;
/// Length of an ML-KEM shared secret.
pub const SHARED_SECRET_LEN: usize = 32;
/// Length of a key generation seed (`d || z` of FIPS 203, 32 bytes each).
pub const SEED_LEN: usize = 64;
/// Length of the randomness of one encapsulation (`m` of FIPS 203).
pub const ENCAPSULATION_SEED_LEN: usize = 32;

/// Where the public key sits inside the decapsulation key:
/// `dk = dk_pke (1152) || ek (1184) || H(ek) (32) || z (32)`.
const PUBLIC_KEY_OFFSET: usize = 1152;

/// An ML-KEM-768 key pair: the decapsulation key (which holds the public
/// key). Zeroized on drop; `Debug` prints only the start of the public key.
#[derive(Clone)]
pub struct KeyPair(mlkem768::MlKem768PrivateKey);

impl KeyPair {
    /// A fresh key pair: 64 bytes from `rng` (`d`, then `z`, as RustCrypto's
    /// `ml-kem` draws them), then [`from_seed`](Self::from_seed).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = [0u8; SEED_LEN];
        rng.fill_bytes(&mut seed);
        let kp = Self::from_seed(&seed);
        seed.zeroize();
        kp
    }

    /// The key pair FIPS 203's `ML-KEM.KeyGen_internal(d, z)` derives from
    /// `seed = d || z` (deterministic).
    pub fn from_seed(seed: &[u8; SEED_LEN]) -> Self {
        let (sk, _pk) = mlkem768::generate_key_pair(*seed).into_parts();
        KeyPair(sk)
    }

    /// The key pair with decapsulation key `bytes` (as written by
    /// [`secret_bytes`](Self::secret_bytes)), if it passes FIPS 203's
    /// decapsulation key check (the hash of the embedded public key).
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_LEN]) -> Option<Self> {
        let kp = KeyPair(mlkem768::MlKem768PrivateKey::from(bytes));
        // The check hashes the public key inside the private key and
        // compares; the ciphertext argument is only length-checked.
        let ct = mlkem768::MlKem768Ciphertext::default();
        mlkem768::validate_private_key(&kp.0, &ct).then_some(kp)
    }

    /// The public key bytes (a view into the decapsulation key).
    pub fn public_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        let all: &[u8; SECRET_KEY_LEN] = self.0.as_slice();
        match all
            .get(PUBLIC_KEY_OFFSET..PUBLIC_KEY_OFFSET.saturating_add(PUBLIC_KEY_LEN))
            .and_then(|s| <&[u8; PUBLIC_KEY_LEN]>::try_from(s).ok())
        {
            Some(pk) => pk,
            // The range lies inside the 2400-byte key (1152 + 1184 = 2336).
            None => &[0; PUBLIC_KEY_LEN],
        }
    }

    /// The public key, as a peer receives it.
    pub fn public(&self) -> PublicKey {
        PublicKey(mlkem768::MlKem768PublicKey::from(self.public_bytes()))
    }

    /// The decapsulation key bytes (for persisting an identity). Handle
    /// with care.
    pub fn secret_bytes(&self) -> &[u8; SECRET_KEY_LEN] {
        self.0.as_slice()
    }

    /// FIPS 203 `ML-KEM.Decaps`: the shared secret of `ct`. A forged or
    /// corrupted ciphertext gives an unrelated pseudo-random secret
    /// (implicit rejection), never an error. What the default
    /// [`Provider::mlkem768_decapsulate`](super::Provider::mlkem768_decapsulate)
    /// computes.
    pub fn decapsulate(&self, ct: &Ciphertext) -> SharedSecret {
        SharedSecret(mlkem768::decapsulate(&self.0, &ct.0))
    }
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        self.0[..SECRET_KEY_LEN].zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for KeyPair {}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mlkem::KeyPair")
            .field("public", &Prefix(self.public_bytes()))
            .finish_non_exhaustive()
    }
}

/// An ML-KEM-768 encapsulation (public) key that passed FIPS 203's
/// modulus check.
#[derive(Clone)]
pub struct PublicKey(mlkem768::MlKem768PublicKey);

impl PublicKey {
    /// The key `bytes`, if every one of its coefficients is below q
    /// (FIPS 203 section 7.2, the input check before encapsulation): a key
    /// from any honest ML-KEM implementation passes; a corrupted one very
    /// likely does not (and if it does, encapsulating to it only produces
    /// a secret the sender cannot share).
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Option<Self> {
        let pk = mlkem768::MlKem768PublicKey::from(bytes);
        mlkem768::validate_public_key(&pk).then_some(PublicKey(pk))
    }

    /// The key from a slice of exactly [`PUBLIC_KEY_LEN`] bytes, checked as
    /// by [`from_bytes`](Self::from_bytes).
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes.try_into().ok()?)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        self.0.as_slice()
    }

    /// FIPS 203 `ML-KEM.Encaps_internal(ek, m)`: the ciphertext and shared
    /// secret for randomness `m` (deterministic). What the default
    /// [`Provider::mlkem768_encapsulate`](super::Provider::mlkem768_encapsulate)
    /// computes.
    pub fn encapsulate(&self, m: &[u8; ENCAPSULATION_SEED_LEN]) -> (Ciphertext, SharedSecret) {
        let (ct, ss) = mlkem768::encapsulate(&self.0, *m);
        (Ciphertext(ct), SharedSecret(ss))
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mlkem::PublicKey({:?})", Prefix(self.as_bytes()))
    }
}

/// An ML-KEM-768 ciphertext.
#[derive(Clone)]
pub struct Ciphertext(mlkem768::MlKem768Ciphertext);

impl Ciphertext {
    /// The ciphertext `bytes` (any 1088 bytes are a ciphertext).
    pub fn from_bytes(bytes: &[u8; CIPHERTEXT_LEN]) -> Self {
        Ciphertext(mlkem768::MlKem768Ciphertext::from(bytes))
    }

    /// The ciphertext from a slice of exactly [`CIPHERTEXT_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(Self::from_bytes(bytes.try_into().ok()?))
    }

    /// The ciphertext bytes.
    pub fn as_bytes(&self) -> &[u8; CIPHERTEXT_LEN] {
        self.0.as_slice()
    }
}

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mlkem::Ciphertext({:?})", Prefix(self.as_bytes()))
    }
}

/// An ML-KEM shared secret; zeroized on drop, never printed.
#[derive(Clone, Zeroize, zeroize::ZeroizeOnDrop)]
pub struct SharedSecret([u8; SHARED_SECRET_LEN]);

impl SharedSecret {
    /// A secret holding `bytes` (for a provider with its own ML-KEM).
    pub fn from_bytes(bytes: [u8; SHARED_SECRET_LEN]) -> Self {
        SharedSecret(bytes)
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; SHARED_SECRET_LEN] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mlkem::SharedSecret(..)")
    }
}

/// Prints the first 8 bytes of a long value in hex.
struct Prefix<'a>(&'a [u8]);

impl fmt::Debug for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("..")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    #[test]
    fn round_trip_and_public_key_view() {
        let mut rng = SeededRng::from_u64(3);
        let kp = KeyPair::generate(&mut rng);
        let (sk, pk) = mlkem768::generate_key_pair({
            let mut r = SeededRng::from_u64(3);
            let mut s = [0u8; 64];
            r.fill_bytes(&mut s);
            s
        })
        .into_parts();
        assert_eq!(kp.secret_bytes(), sk.as_slice());
        assert_eq!(kp.public_bytes(), pk.as_slice());
        let pk = PublicKey::from_bytes(kp.public_bytes()).unwrap();
        let (ct, ss) = pk.encapsulate(&[9; 32]);
        assert_eq!(kp.decapsulate(&ct).as_bytes(), ss.as_bytes());
        // Implicit rejection: a corrupted ciphertext decapsulates to
        // another secret, no error.
        let mut bad = *ct.as_bytes();
        bad[17] ^= 1;
        assert_ne!(
            kp.decapsulate(&Ciphertext::from_bytes(&bad)).as_bytes(),
            ss.as_bytes()
        );
        assert!(KeyPair::from_bytes(kp.secret_bytes()).is_some());
        let mut sk = *kp.secret_bytes();
        sk[PUBLIC_KEY_OFFSET + 5] ^= 1;
        assert!(KeyPair::from_bytes(&sk).is_none());
    }

    #[test]
    fn modulus_check_refuses_out_of_range_coefficients() {
        let kp = KeyPair::from_seed(&[1; 64]);
        let mut pk = *kp.public_bytes();
        assert!(PublicKey::from_bytes(&pk).is_some());
        // The first 12-bit coefficient is the low 12 bits of bytes 0..2:
        // 0xfff = 4095 >= q = 3329.
        pk[0] = 0xff;
        pk[1] |= 0x0f;
        assert!(PublicKey::from_bytes(&pk).is_none());
    }
}
