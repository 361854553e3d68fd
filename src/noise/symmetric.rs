//! The handshake's `SymmetricState` (Noise spec rev 34, section 5.2) with its
//! embedded handshake cipher (section 5.1).
//!
//! A small `Clone` value (chaining key, hash, optional key, nonce): the
//! handshake works on a copy and commits it only when a whole message has
//! been processed, so a failed read changes nothing.

use super::cipher::{CipherKey, nonce_bytes};
use crate::crypto::hmac::{hkdf2, hkdf3};
use crate::crypto::{
    AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, Aead, AeadAlgorithm, AeadError, Digest,
    HashAlgorithm, Provider,
};
use core::marker::PhantomData;
use zeroize::Zeroize;

/// `SymmetricState`: chaining key `ck`, handshake hash `h`, and a cipher key
/// with its nonce. Zeroized on drop.
pub(crate) struct SymmetricState<P: Provider> {
    hash: HashAlgorithm,
    cipher: AeadAlgorithm,
    ck: Digest,
    h: Digest,
    k: [u8; AEAD_KEY_LEN],
    has_key: bool,
    n: u64,
    _p: PhantomData<P>,
}

impl<P: Provider> Drop for SymmetricState<P> {
    fn drop(&mut self) {
        // `ck` and `h` are `Digest`s, zeroized by their own drop.
        self.k.zeroize();
    }
}

impl<P: Provider> Clone for SymmetricState<P> {
    fn clone(&self) -> Self {
        SymmetricState {
            hash: self.hash,
            cipher: self.cipher,
            ck: self.ck.clone(),
            h: self.h.clone(),
            k: self.k,
            has_key: self.has_key,
            n: self.n,
            _p: PhantomData,
        }
    }
}

/// Errors of the handshake cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymError {
    /// Authentication failed.
    Decrypt,
    /// Nonce exhausted (cannot happen in a handshake of at most four messages).
    Nonce,
}

impl From<AeadError> for SymError {
    fn from(_: AeadError) -> Self {
        SymError::Decrypt
    }
}

impl<P: Provider> SymmetricState<P> {
    /// `InitializeSymmetric(protocol_name)`.
    pub(crate) fn new(hash: HashAlgorithm, cipher: AeadAlgorithm, name: &[u8]) -> Self {
        let hashlen = hash.output_len();
        let h = if name.len() <= hashlen {
            let mut buf = [0u8; crate::crypto::MAX_HASH_LEN];
            if let Some(dst) = buf.get_mut(..name.len()) {
                dst.copy_from_slice(name);
            }
            Digest::from_slice(buf.get(..hashlen).unwrap_or(&[]))
        } else {
            P::hash(hash, &[name])
        };
        SymmetricState {
            hash,
            cipher,
            ck: h.clone(),
            h,
            k: [0; AEAD_KEY_LEN],
            has_key: false,
            n: 0,
            _p: PhantomData,
        }
    }

    pub(crate) fn has_key(&self) -> bool {
        self.has_key
    }

    pub(crate) fn handshake_hash(&self) -> &Digest {
        &self.h
    }

    fn set_key(&mut self, temp_k: &Digest) {
        // HASHLEN is 32 or 64: truncate to 32 bytes (spec 5.2).
        if let Some(src) = temp_k.as_bytes().get(..AEAD_KEY_LEN) {
            self.k.copy_from_slice(src);
        }
        self.has_key = true;
        self.n = 0;
    }

    /// `MixKey(input_key_material)`.
    pub(crate) fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, temp_k) = hkdf2::<P>(self.hash, self.ck.as_bytes(), ikm);
        self.ck = ck;
        self.set_key(&temp_k);
    }

    /// `MixHash(data)`.
    pub(crate) fn mix_hash(&mut self, data: &[u8]) {
        self.h = P::hash(self.hash, &[self.h.as_bytes(), data]);
    }

    /// `MixKeyAndHash(input_key_material)`.
    pub(crate) fn mix_key_and_hash(&mut self, ikm: &[u8]) {
        let (ck, temp_h, temp_k) = hkdf3::<P>(self.hash, self.ck.as_bytes(), ikm);
        self.ck = ck;
        self.mix_hash(temp_h.as_bytes());
        self.set_key(&temp_k);
    }

    fn next_nonce(&mut self) -> Result<[u8; AEAD_NONCE_LEN], SymError> {
        // Spec 5.1: nonce 2^64-1 is reserved.
        if self.n == u64::MAX {
            return Err(SymError::Nonce);
        }
        let nonce = nonce_bytes(self.cipher, self.n);
        self.n = self.n.saturating_add(1);
        Ok(nonce)
    }

    /// `EncryptAndHash`: `buf` holds the plaintext followed by room for the
    /// tag when a key is set; encrypts in place, mixes the ciphertext into
    /// `h`, and returns the bytes written (plaintext length, plus 16 with a
    /// key). `buf` must be exactly that long.
    pub(crate) fn encrypt_and_hash(&mut self, buf: &mut [u8]) -> Result<usize, SymError> {
        if self.has_key {
            let plain_len = buf.len().saturating_sub(AEAD_TAG_LEN);
            let nonce = self.next_nonce()?;
            let (body, tag_dst) = buf.split_at_mut(plain_len);
            let key = P::aead_key(self.cipher, &self.k);
            let tag = key.seal_in_place(&nonce, self.h.as_bytes(), body);
            tag_dst.copy_from_slice(&tag);
        }
        self.mix_hash(buf);
        Ok(buf.len())
    }

    /// `DecryptAndHash`: decrypts `ciphertext` into `out` (which must be
    /// exactly the plaintext length: `ciphertext.len() - 16` with a key, else
    /// `ciphertext.len()`). On error, `self` must be discarded by the caller
    /// (the handshake works on a copy) and `out` holds no plaintext.
    pub(crate) fn decrypt_and_hash(
        &mut self,
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<(), SymError> {
        if self.has_key {
            let plain_len = ciphertext.len().saturating_sub(AEAD_TAG_LEN);
            let (body, tag) = ciphertext.split_at(plain_len);
            let tag: [u8; AEAD_TAG_LEN] = tag.try_into().map_err(|_| SymError::Decrypt)?;
            if out.len() != plain_len {
                return Err(SymError::Decrypt);
            }
            out.copy_from_slice(body);
            let nonce = self.next_nonce()?;
            let key = P::aead_key(self.cipher, &self.k);
            if let Err(e) = key.open_in_place(&nonce, self.h.as_bytes(), out, &tag) {
                out.zeroize();
                return Err(e.into());
            }
        } else {
            if out.len() != ciphertext.len() {
                return Err(SymError::Decrypt);
            }
            out.copy_from_slice(ciphertext);
        }
        self.mix_hash(ciphertext);
        Ok(())
    }

    /// `Split()`: the two transport keys (initiator-to-responder first),
    /// truncated to 32 bytes and written straight into zeroizing
    /// [`CipherKey`]s (the HKDF outputs are `Digest`s, zeroized too).
    pub(crate) fn split(&self) -> (CipherKey, CipherKey) {
        let (t1, t2) = hkdf2::<P>(self.hash, self.ck.as_bytes(), &[]);
        // Every HASHLEN is 32 or 64, so both are at least AEAD_KEY_LEN long;
        // the fallback (all-zero key) is unreachable.
        let k1 = CipherKey::from_slice(t1.as_bytes()).unwrap_or_else(|| CipherKey::new([0; 32]));
        let k2 = CipherKey::from_slice(t2.as_bytes()).unwrap_or_else(|| CipherKey::new([0; 32]));
        (k1, k2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DefaultProvider as P;

    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

    /// `Split()` hands out keys that wipe themselves (issue #18): the
    /// compile-time bound fails if it returns plain arrays again, and the
    /// keys are the spec's HKDF(ck, "") outputs truncated to 32 bytes.
    #[test]
    fn split_returns_zeroizing_keys() {
        for hash in [HashAlgorithm::Sha256, HashAlgorithm::Blake2b] {
            let mut sym =
                SymmetricState::<P>::new(hash, AeadAlgorithm::ChaCha20Poly1305, b"Noise_NN_test");
            sym.mix_key(b"some input key material");
            let (k1, k2) = sym.split();
            zeroize_on_drop(&k1);
            zeroize_on_drop(&k2);
            let (t1, t2) = hkdf2::<P>(hash, sym.ck.as_bytes(), &[]);
            assert_eq!(&k1.as_bytes()[..], &t1.as_bytes()[..AEAD_KEY_LEN]);
            assert_eq!(&k2.as_bytes()[..], &t2.as_bytes()[..AEAD_KEY_LEN]);
            assert_ne!(k1, k2);
        }
    }
}
