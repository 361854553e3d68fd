//! Noise `CipherState` (spec rev 34, section 5.1) and the hand-off from a
//! finished handshake to a transport ([`SplitKeys`]).
//!
//! A [`CipherState`] holds an optional 32-byte key `k` and a 64-bit counter
//! `n`. With a key, `encrypt_with_ad` / `decrypt_with_ad` use `n` as the AEAD
//! nonce and advance it; without one they copy bytes through unchanged, as
//! the spec requires during the first handshake messages.
//!
//! Rules enforced here:
//!
//! * Nonce `2^64 - 1` is reserved (section 5.1): using it is
//!   [`CipherError::NonceExhausted`]. The only operation that touches it is
//!   [`CipherState::rekey`] (section 11.3).
//! * No Noise message exceeds [`MAX_MESSAGE_LEN`] bytes (section 3), on
//!   either side: [`CipherError::MessageTooLong`].
//! * The state advances only on success. A failed decrypt, a reserved
//!   nonce, an over-long message or a too-small output buffer leaves key and
//!   nonce unchanged.
//! * The raw key bytes are zeroized on drop. The keyed AEAD held beside them
//!   is zeroized too with the RustCrypto provider; ring does not zeroize its
//!   expanded key schedule (a ring limitation).

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::{
    AEAD_KEY_LEN, AEAD_NONCE_LEN, AEAD_TAG_LEN, Aead, AeadAlgorithm, Digest, Provider,
};
use crate::error::BufferTooSmall;

/// Longest Noise message, in bytes (spec section 3): every handshake and
/// transport message, ciphertext and tag included, fits in 65535 bytes.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// Length of the authentication tag appended to every encrypted payload.
pub const TAG_LEN: usize = AEAD_TAG_LEN;

/// Longest plaintext an encrypting [`CipherState`] accepts:
/// [`MAX_MESSAGE_LEN`] minus the tag.
pub const MAX_PLAINTEXT_LEN: usize = MAX_MESSAGE_LEN - TAG_LEN;

/// The reserved nonce `2^64 - 1`: never used to encrypt a message, only by
/// [`CipherState::rekey`].
pub const RESERVED_NONCE: u64 = u64::MAX;

/// Why a [`CipherState`] operation failed. In every case the state (key and
/// nonce) is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CipherError {
    /// The nonce reached the reserved value `2^64 - 1`: this key can send or
    /// receive no more messages. Rekey cannot help (it keeps the nonce);
    /// run a new handshake.
    NonceExhausted,
    /// The message would exceed [`MAX_MESSAGE_LEN`] bytes (`len` is the
    /// ciphertext length it would have, or had). Split the payload.
    MessageTooLong {
        /// Length of the offending message, in bytes.
        len: usize,
    },
    /// The output buffer is too small; nothing was written.
    BufferTooSmall(BufferTooSmall),
    /// Authentication failed (forged, corrupted, truncated, replayed under
    /// another nonce, or for another key). Drop the message.
    Decrypt,
}

impl fmt::Display for CipherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CipherError::NonceExhausted => f.write_str(
                "nonce exhausted (2^64-1 is reserved): no more messages under this key; run a new handshake",
            ),
            CipherError::MessageTooLong { len } => write!(
                f,
                "message of {len} bytes exceeds the Noise maximum of {MAX_MESSAGE_LEN}; split the payload"
            ),
            CipherError::BufferTooSmall(e) => fmt::Display::fmt(e, f),
            CipherError::Decrypt => f.write_str(
                "decryption failed: message forged, corrupted or for another key/nonce; drop it",
            ),
        }
    }
}

impl core::error::Error for CipherError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            CipherError::BufferTooSmall(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BufferTooSmall> for CipherError {
    fn from(e: BufferTooSmall) -> Self {
        CipherError::BufferTooSmall(e)
    }
}

/// The 12-byte AEAD nonce Noise derives from the counter `n`: four zero
/// bytes, then `n` as 8 bytes, little-endian for ChaChaPoly (spec 12.3) and
/// big-endian for AESGCM (spec 12.4).
pub fn nonce_bytes(alg: AeadAlgorithm, n: u64) -> [u8; AEAD_NONCE_LEN] {
    let mut nonce = [0u8; AEAD_NONCE_LEN];
    let counter = match alg {
        AeadAlgorithm::ChaCha20Poly1305 => n.to_le_bytes(),
        #[cfg(feature = "aesgcm")]
        AeadAlgorithm::Aes256Gcm => n.to_be_bytes(),
    };
    if let Some(dst) = nonce.get_mut(4..) {
        dst.copy_from_slice(&counter);
    }
    nonce
}

/// A key: the raw bytes (zeroized on drop) and the provider's keyed AEAD.
struct Keyed<P: Provider> {
    raw: Zeroizing<[u8; AEAD_KEY_LEN]>,
    aead: P::AeadKey,
}

impl<P: Provider> Keyed<P> {
    fn new(alg: AeadAlgorithm, k: &[u8; AEAD_KEY_LEN]) -> Self {
        Keyed {
            raw: Zeroizing::new(*k),
            aead: P::aead_key(alg, k),
        }
    }
}

/// Noise `CipherState` (spec section 5.1): an optional key `k` and a nonce
/// counter `n`.
///
/// ```
/// # #[cfg(feature = "ring")] {
/// use hyperport::crypto::{AeadAlgorithm, Ring};
/// use hyperport::noise::cipher::{CipherState, TAG_LEN};
///
/// let key = [7u8; 32];
/// let mut alice = CipherState::<Ring>::new(AeadAlgorithm::ChaCha20Poly1305);
/// let mut bob = CipherState::<Ring>::new(AeadAlgorithm::ChaCha20Poly1305);
/// alice.initialize_key(&key);
/// bob.initialize_key(&key);
///
/// let mut wire = [0u8; 5 + TAG_LEN];
/// let n = alice.encrypt_with_ad(b"ad", b"hello", &mut wire)?;
/// let mut plain = [0u8; 5];
/// let m = bob.decrypt_with_ad(b"ad", &wire[..n], &mut plain)?;
/// assert_eq!(&plain[..m], b"hello");
/// assert_eq!((alice.nonce(), bob.nonce()), (1, 1));
/// # }
/// # Ok::<(), hyperport::noise::cipher::CipherError>(())
/// ```
pub struct CipherState<P: Provider> {
    alg: AeadAlgorithm,
    key: Option<Keyed<P>>,
    n: u64,
}

impl<P: Provider> fmt::Debug for CipherState<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("CipherState")
            .field("alg", &self.alg)
            .field("has_key", &self.key.is_some())
            .field("n", &self.n)
            .finish()
    }
}

impl<P: Provider> CipherState<P> {
    /// An empty cipher state (no key, `n = 0`) for `alg`.
    pub fn new(alg: AeadAlgorithm) -> Self {
        CipherState {
            alg,
            key: None,
            n: 0,
        }
    }

    /// A cipher state keyed with `k`, `n = 0`.
    pub fn with_key(alg: AeadAlgorithm, k: &[u8; AEAD_KEY_LEN]) -> Self {
        let mut cs = Self::new(alg);
        cs.initialize_key(k);
        cs
    }

    /// `InitializeKey(key)`: sets `k = key` and `n = 0`. The previous key, if
    /// any, is zeroized.
    pub fn initialize_key(&mut self, k: &[u8; AEAD_KEY_LEN]) {
        self.key = Some(Keyed::new(self.alg, k));
        self.n = 0;
    }

    /// `HasKey()`: whether a key is set.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// `SetNonce(n)` (spec section 11.4). Any value is accepted; setting
    /// [`RESERVED_NONCE`] makes the next encrypt or decrypt fail with
    /// [`CipherError::NonceExhausted`].
    pub fn set_nonce(&mut self, n: u64) {
        self.n = n;
    }

    /// The nonce the next encrypt or decrypt will use.
    pub fn nonce(&self) -> u64 {
        self.n
    }

    /// The AEAD algorithm.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }

    /// Bytes of output an encryption of `plaintext_len` bytes produces (the
    /// tag is added only with a key).
    pub fn ciphertext_len(&self, plaintext_len: usize) -> usize {
        if self.has_key() {
            plaintext_len.saturating_add(TAG_LEN)
        } else {
            plaintext_len
        }
    }

    /// `EncryptWithAd(ad, plaintext)`: writes `ciphertext || tag` into `out`
    /// and returns its length (`plaintext.len() + TAG_LEN`); without a key,
    /// copies `plaintext` into `out`. Advances the nonce on success only.
    ///
    /// # Errors
    /// [`CipherError::NonceExhausted`] at nonce `2^64 - 1`,
    /// [`CipherError::MessageTooLong`] if the output would exceed
    /// [`MAX_MESSAGE_LEN`], [`CipherError::BufferTooSmall`] if `out` cannot
    /// hold it. Nothing is written and nothing changes then.
    pub fn encrypt_with_ad(
        &mut self,
        ad: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, CipherError> {
        self.check_encrypt(plaintext.len(), out.len())?;
        if let Some(dst) = out.get_mut(..plaintext.len()) {
            dst.copy_from_slice(plaintext);
        }
        self.seal_checked(ad, out, plaintext.len())
    }

    /// Like [`encrypt_with_ad`](Self::encrypt_with_ad), but in place: the
    /// plaintext is `buf[..plaintext_len]`, and `buf[..returned]` receives
    /// `ciphertext || tag`. Saves a copy on large messages.
    ///
    /// # Errors
    /// As [`encrypt_with_ad`](Self::encrypt_with_ad); also
    /// [`CipherError::BufferTooSmall`] if `plaintext_len > buf.len()`.
    /// `buf` and the state are unchanged on error.
    pub fn encrypt_in_place(
        &mut self,
        ad: &[u8],
        buf: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, CipherError> {
        self.check_encrypt(plaintext_len, buf.len())?;
        self.seal_checked(ad, buf, plaintext_len)
    }

    /// Validates an encryption of `plaintext_len` bytes into a buffer of
    /// `out_len` bytes; returns the output length.
    fn check_encrypt(&self, plaintext_len: usize, out_len: usize) -> Result<usize, CipherError> {
        if self.has_key() && self.n == RESERVED_NONCE {
            return Err(CipherError::NonceExhausted);
        }
        let len = self.ciphertext_len(plaintext_len);
        if len > MAX_MESSAGE_LEN {
            return Err(CipherError::MessageTooLong { len });
        }
        if out_len < len {
            return Err(BufferTooSmall {
                needed: len,
                available: out_len,
            }
            .into());
        }
        Ok(len)
    }

    /// The transports' fast path: [`encrypt_in_place`](Self::encrypt_in_place)
    /// for a caller that has already checked the nonce (not
    /// [`RESERVED_NONCE`]) and the lengths (`plaintext_len + TAG_LEN` within
    /// [`MAX_MESSAGE_LEN`] and `buf`). The nonce is checked again (one
    /// comparison: it guards the increment); the lengths only by the
    /// bounds-checked split.
    pub(crate) fn encrypt_in_place_prechecked(
        &mut self,
        buf: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, CipherError> {
        if self.n == RESERVED_NONCE {
            return Err(CipherError::NonceExhausted);
        }
        self.seal_checked(&[], buf, plaintext_len)
    }

    /// The transports' fast path: [`decrypt_in_place`](Self::decrypt_in_place)
    /// with no associated data, for a caller that has already checked that
    /// `buf` is at least a tag long and within [`MAX_MESSAGE_LEN`]. Same
    /// errors and guarantees otherwise.
    pub(crate) fn decrypt_in_place_prechecked(
        &mut self,
        buf: &mut [u8],
    ) -> Result<usize, CipherError> {
        if self.key.is_some() && self.n == RESERVED_NONCE {
            return Err(CipherError::NonceExhausted);
        }
        let len = buf.len().checked_sub(TAG_LEN).ok_or(CipherError::Decrypt)?;
        let (body, tag) = buf.split_at_mut_checked(len).ok_or(CipherError::Decrypt)?;
        self.open_checked(&[], body, tag)?;
        Ok(len)
    }

    /// Seals `buf[..plaintext_len]` in place after [`Self::check_encrypt`]
    /// passed; returns the output length. Without a key the plaintext is
    /// the output.
    fn seal_checked(
        &mut self,
        ad: &[u8],
        buf: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, CipherError> {
        let Some(key) = self.key.as_ref() else {
            return Ok(plaintext_len);
        };
        // check_encrypt proved buf.len() >= plaintext_len + TAG_LEN, so
        // neither error below can happen; they keep the proof local.
        let too_small = BufferTooSmall {
            needed: plaintext_len.saturating_add(TAG_LEN),
            available: buf.len(),
        };
        let (body, rest) = buf.split_at_mut_checked(plaintext_len).ok_or(too_small)?;
        let tag_dst = rest.get_mut(..TAG_LEN).ok_or(too_small)?;
        let nonce = nonce_bytes(self.alg, self.n);
        let tag = key.aead.seal_in_place(&nonce, ad, body);
        tag_dst.copy_from_slice(&tag);
        // check_encrypt ruled out n == RESERVED_NONCE, so this cannot wrap.
        self.n = self.n.wrapping_add(1);
        Ok(plaintext_len.saturating_add(TAG_LEN))
    }

    /// `DecryptWithAd(ad, ciphertext)`: authenticates `ciphertext || tag`,
    /// writes the plaintext into `out` and returns its length; without a key,
    /// copies `ciphertext` into `out`. Advances the nonce on success only.
    ///
    /// # Errors
    /// [`CipherError::NonceExhausted`] at nonce `2^64 - 1`,
    /// [`CipherError::MessageTooLong`] if `ciphertext` exceeds
    /// [`MAX_MESSAGE_LEN`], [`CipherError::BufferTooSmall`] if `out` cannot
    /// hold the plaintext (nothing written), [`CipherError::Decrypt`] if
    /// authentication fails (the first `ciphertext.len() - TAG_LEN` bytes of
    /// `out` are then zeroed). The state is unchanged on every error.
    pub fn decrypt_with_ad(
        &mut self,
        ad: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, CipherError> {
        let len = self.check_decrypt(ciphertext.len(), out.len())?;
        let (body, tag) = match self.key {
            Some(_) => ciphertext
                .split_at_checked(len)
                .ok_or(CipherError::Decrypt)?,
            None => (ciphertext, &[][..]),
        };
        let dst = out.get_mut(..len).ok_or(CipherError::Decrypt)?;
        dst.copy_from_slice(body);
        self.open_checked(ad, dst, tag)?;
        Ok(len)
    }

    /// Like [`decrypt_with_ad`](Self::decrypt_with_ad), but in place: `buf`
    /// is exactly `ciphertext || tag`; on success `buf[..returned]` is the
    /// plaintext. Saves a copy on large messages.
    ///
    /// # Errors
    /// As [`decrypt_with_ad`](Self::decrypt_with_ad). On
    /// [`CipherError::Decrypt`] the plaintext part of `buf` is zeroed (its
    /// ciphertext is lost); on the other errors `buf` is untouched. The state
    /// is unchanged on every error.
    pub fn decrypt_in_place(&mut self, ad: &[u8], buf: &mut [u8]) -> Result<usize, CipherError> {
        let len = self.check_decrypt(buf.len(), buf.len())?;
        if self.key.is_none() {
            return Ok(len);
        }
        let (body, tag) = buf.split_at_mut_checked(len).ok_or(CipherError::Decrypt)?;
        self.open_checked(ad, body, tag)?;
        Ok(len)
    }

    /// Validates a decryption of `ciphertext_len` bytes into `out_len`
    /// bytes; returns the plaintext length.
    fn check_decrypt(&self, ciphertext_len: usize, out_len: usize) -> Result<usize, CipherError> {
        if self.has_key() && self.n == RESERVED_NONCE {
            return Err(CipherError::NonceExhausted);
        }
        if ciphertext_len > MAX_MESSAGE_LEN {
            return Err(CipherError::MessageTooLong {
                len: ciphertext_len,
            });
        }
        let len = if self.has_key() {
            ciphertext_len
                .checked_sub(TAG_LEN)
                .ok_or(CipherError::Decrypt)?
        } else {
            ciphertext_len
        };
        if out_len < len {
            return Err(BufferTooSmall {
                needed: len,
                available: out_len,
            }
            .into());
        }
        Ok(len)
    }

    /// Opens `body` in place against `tag` at the current nonce, after
    /// [`Self::check_decrypt`] passed. Without a key it only accepts.
    fn open_checked(&mut self, ad: &[u8], body: &mut [u8], tag: &[u8]) -> Result<(), CipherError> {
        let Some(key) = self.key.as_ref() else {
            return Ok(());
        };
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| CipherError::Decrypt)?;
        let nonce = nonce_bytes(self.alg, self.n);
        if key.aead.open_in_place(&nonce, ad, body, tag).is_err() {
            // Never leave unauthenticated plaintext behind.
            body.zeroize();
            return Err(CipherError::Decrypt);
        }
        // check_decrypt ruled out n == RESERVED_NONCE, so this cannot wrap.
        self.n = self.n.wrapping_add(1);
        Ok(())
    }

    /// `Rekey()` (spec section 11.3): `k = REKEY(k)`, where
    /// `REKEY(k) = ENCRYPT(k, 2^64 - 1, zerolen, zeros)[..32]` with `zeros`
    /// 32 zero bytes. The nonce is unchanged. An empty cipher state stays
    /// empty (there is no key to rekey).
    pub fn rekey(&mut self) {
        if let Some(key) = self.key.as_ref() {
            let new = Zeroizing::new(rekey_bytes::<P>(self.alg, &key.aead));
            self.key = Some(Keyed::new(self.alg, &new));
        }
    }

    /// A new cipher state holding `REKEY(k)` and the same nonce, leaving
    /// `self` untouched (for callers that must try the next key before
    /// committing to it). An empty state gives an empty state.
    pub fn rekeyed(&self) -> Self {
        let key = self.key.as_ref().map(|key| {
            let new = Zeroizing::new(rekey_bytes::<P>(self.alg, &key.aead));
            Keyed::new(self.alg, &new)
        });
        CipherState {
            alg: self.alg,
            key,
            n: self.n,
        }
    }

    /// The raw key bytes, if any (for tests of this module and of the
    /// handshake, which compare derived keys).
    #[allow(dead_code)]
    pub(crate) fn key_bytes(&self) -> Option<&[u8; AEAD_KEY_LEN]> {
        self.key.as_ref().map(|k| &*k.raw)
    }
}

/// `REKEY(k)` computed with an already keyed AEAD.
fn rekey_bytes<P: Provider>(alg: AeadAlgorithm, aead: &P::AeadKey) -> [u8; AEAD_KEY_LEN] {
    let mut buf = [0u8; AEAD_KEY_LEN];
    // The tag is discarded: REKEY keeps only the first 32 bytes.
    let _tag = aead.seal_in_place(&nonce_bytes(alg, RESERVED_NONCE), &[], &mut buf);
    buf
}

/// A 32-byte transport key from `Split()` (spec section 5.2): the raw bytes
/// of one direction's cipher key. Zeroized on drop; neither `Copy` nor
/// printable, so the bytes are not duplicated or logged by accident.
///
/// [`SplitKeys`] holds two of them; the handshake writes the HKDF outputs
/// straight into them, so no unwiped copy of a transport key is left behind
/// by `split()`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct CipherKey([u8; AEAD_KEY_LEN]);

impl CipherKey {
    /// A key holding `bytes`. The caller's array is a copy the caller must
    /// wipe itself if it matters (prefer [`CipherKey::from_slice`] on a
    /// buffer that is then zeroized).
    pub fn new(bytes: [u8; AEAD_KEY_LEN]) -> Self {
        CipherKey(bytes)
    }

    /// A key from the first [`AEAD_KEY_LEN`] bytes of `bytes`, or `None` if
    /// it is shorter.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut k = CipherKey([0; AEAD_KEY_LEN]);
        k.0.copy_from_slice(bytes.get(..AEAD_KEY_LEN)?);
        Some(k)
    }

    /// The key bytes (for exporting a session key; handle with care).
    pub fn as_bytes(&self) -> &[u8; AEAD_KEY_LEN] {
        &self.0
    }
}

impl From<[u8; AEAD_KEY_LEN]> for CipherKey {
    fn from(bytes: [u8; AEAD_KEY_LEN]) -> Self {
        CipherKey(bytes)
    }
}

impl fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.write_str("CipherKey(..)")
    }
}

/// What a finished handshake hands to a transport: the two cipher keys from
/// `Split()` (spec section 5.2), the AEAD algorithm, the handshake hash and
/// the local role. Zeroized on drop (both keys are [`CipherKey`]s).
///
/// `c1` encrypts initiator-to-responder traffic, `c2` responder-to-initiator.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SplitKeys {
    pub(crate) c1: CipherKey,
    pub(crate) c2: CipherKey,
    #[zeroize(skip)]
    pub(crate) alg: AeadAlgorithm,
    pub(crate) handshake_hash: Digest,
    pub(crate) is_initiator: bool,
}

impl fmt::Debug for SplitKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the keys.
        f.debug_struct("SplitKeys")
            .field("alg", &self.alg)
            .field("is_initiator", &self.is_initiator)
            .finish_non_exhaustive()
    }
}

impl SplitKeys {
    /// Bundles the outputs of `Split()`: `c1` (initiator to responder), `c2`
    /// (responder to initiator), the AEAD algorithm, the handshake hash `h`
    /// and whether the local side was the initiator. The keys are
    /// [`CipherKey`]s or plain arrays (copied; a caller that passes arrays
    /// wipes its own copies).
    pub fn new(
        c1: impl Into<CipherKey>,
        c2: impl Into<CipherKey>,
        alg: AeadAlgorithm,
        handshake_hash: Digest,
        is_initiator: bool,
    ) -> Self {
        SplitKeys {
            c1: c1.into(),
            c2: c2.into(),
            alg,
            handshake_hash,
            is_initiator,
        }
    }

    /// The AEAD algorithm both keys are for.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }

    /// The handshake hash (for channel binding, spec section 11.2).
    pub fn handshake_hash(&self) -> &Digest {
        &self.handshake_hash
    }

    /// Whether the local side was the initiator.
    pub fn is_initiator(&self) -> bool {
        self.is_initiator
    }

    /// The initiator-to-responder key `c1` (for exporting session keys to
    /// another implementation; handle with care).
    pub fn initiator_to_responder(&self) -> &CipherKey {
        &self.c1
    }

    /// The responder-to-initiator key `c2` (see
    /// [`initiator_to_responder`](Self::initiator_to_responder)).
    pub fn responder_to_initiator(&self) -> &CipherKey {
        &self.c2
    }

    /// The local side's `(send, receive)` cipher states, both at nonce 0:
    /// `(c1, c2)` for the initiator, `(c2, c1)` for the responder. The key
    /// bytes held here are zeroized when `self` drops at the end of the call.
    pub fn into_cipher_states<P: Provider>(self) -> (CipherState<P>, CipherState<P>) {
        let (send, recv) = if self.is_initiator {
            (&self.c1, &self.c2)
        } else {
            (&self.c2, &self.c1)
        };
        (
            CipherState::with_key(self.alg, send.as_bytes()),
            CipherState::with_key(self.alg, recv.as_bytes()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DefaultProvider as P;

    const ALGS: [AeadAlgorithm; 2] = [AeadAlgorithm::ChaCha20Poly1305, AeadAlgorithm::Aes256Gcm];

    fn keyed(alg: AeadAlgorithm) -> CipherState<P> {
        CipherState::with_key(alg, &[0x42; 32])
    }

    #[test]
    fn nonce_layout_is_spec() {
        // Spec 12.3: 32 bits of zeros + little-endian n; 12.4: big-endian n.
        let n = 0x0102_0304_0506_0708;
        assert_eq!(
            nonce_bytes(AeadAlgorithm::ChaCha20Poly1305, n),
            [0, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]
        );
        assert_eq!(
            nonce_bytes(AeadAlgorithm::Aes256Gcm, n),
            [0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]
        );
    }

    #[test]
    fn encrypt_uses_hand_typed_nonce() {
        // The ciphertext at n = 0x0102030405060708 must equal a raw AEAD seal
        // under the nonce typed out by hand from the spec's layout.
        let cases: [(AeadAlgorithm, [u8; 12]); 2] = [
            (
                AeadAlgorithm::ChaCha20Poly1305,
                [0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1],
            ),
            (
                AeadAlgorithm::Aes256Gcm,
                [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
            ),
        ];
        for (alg, nonce) in cases {
            let mut cs = keyed(alg);
            cs.set_nonce(0x0102_0304_0506_0708);
            let mut out = [0u8; 11 + TAG_LEN];
            assert_eq!(cs.encrypt_with_ad(b"ad", b"hello world", &mut out), Ok(27));
            let raw = P::aead_key(alg, &[0x42; 32]);
            let mut expect = *b"hello world";
            let tag = raw.seal_in_place(&nonce, b"ad", &mut expect);
            assert_eq!(&out[..11], &expect);
            assert_eq!(&out[11..], &tag);
            assert_eq!(cs.nonce(), 0x0102_0304_0506_0709);
        }
    }

    #[test]
    fn aes_gcm_nist_vector_at_nonce_zero() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test case
        // 14: K = 0^256, IV = 0^96 (Noise AESGCM nonce for n = 0), P = 0^128.
        let mut cs = CipherState::<P>::with_key(AeadAlgorithm::Aes256Gcm, &[0; 32]);
        let mut out = [0u8; 32];
        assert_eq!(cs.encrypt_with_ad(&[], &[0; 16], &mut out), Ok(32));
        let expect: [u8; 32] = [
            0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3,
            0x9d, 0x18, 0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5,
            0xd4, 0x8a, 0xb9, 0x19,
        ];
        assert_eq!(out, expect);
    }

    #[test]
    fn roundtrip_and_nonce_advance() {
        for alg in ALGS {
            let (mut a, mut b) = (keyed(alg), keyed(alg));
            for i in 0..5u8 {
                let msg = [i; 40];
                let mut wire = [0u8; 40 + TAG_LEN];
                assert_eq!(a.encrypt_with_ad(&[i], &msg, &mut wire), Ok(56));
                let mut plain = [0u8; 40];
                assert_eq!(b.decrypt_with_ad(&[i], &wire, &mut plain), Ok(40));
                assert_eq!(plain, msg);
            }
            assert_eq!((a.nonce(), b.nonce()), (5, 5));
        }
    }

    #[test]
    fn in_place_matches_copying() {
        for alg in ALGS {
            let (mut a, mut b) = (keyed(alg), keyed(alg));
            let mut copy = [0u8; 30 + TAG_LEN];
            a.encrypt_with_ad(b"x", &[9; 30], &mut copy).unwrap();
            let mut buf = [9u8; 30 + TAG_LEN];
            assert_eq!(b.encrypt_in_place(b"x", &mut buf, 30), Ok(46));
            assert_eq!(buf, copy);
            let mut c = keyed(alg);
            assert_eq!(c.decrypt_in_place(b"x", &mut buf), Ok(30));
            assert_eq!(buf[..30], [9; 30]);
            assert_eq!(c.nonce(), 1);
        }
    }

    #[test]
    fn no_key_copies_through() {
        let mut cs = CipherState::<P>::new(AeadAlgorithm::ChaCha20Poly1305);
        assert!(!cs.has_key());
        let mut out = [0u8; 5];
        assert_eq!(cs.encrypt_with_ad(b"ad", b"abcde", &mut out), Ok(5));
        assert_eq!(&out, b"abcde");
        let mut back = [0u8; 5];
        assert_eq!(cs.decrypt_with_ad(b"ad", &out, &mut back), Ok(5));
        assert_eq!(&back, b"abcde");
        assert_eq!(cs.nonce(), 0);
        // Without a key the reserved nonce is irrelevant (n is never used).
        cs.set_nonce(RESERVED_NONCE);
        assert_eq!(cs.encrypt_with_ad(b"", b"abcde", &mut out), Ok(5));
        cs.rekey();
        assert!(!cs.has_key());
    }

    #[test]
    fn failures_change_nothing() {
        for alg in ALGS {
            let mut a = keyed(alg);
            let mut b = keyed(alg);
            let mut wire = [0u8; 10 + TAG_LEN];
            a.encrypt_with_ad(b"", &[1; 10], &mut wire).unwrap();

            // Too-small output on encrypt: untouched buffer, same nonce.
            let mut small = [0xAAu8; 10 + TAG_LEN - 1];
            assert_eq!(
                a.encrypt_with_ad(b"", &[1; 10], &mut small),
                Err(CipherError::BufferTooSmall(BufferTooSmall {
                    needed: 26,
                    available: 25
                }))
            );
            assert_eq!(small, [0xAA; 25]);
            let mut small2 = [0xAAu8; 25];
            assert!(a.encrypt_in_place(b"", &mut small2, 10).is_err());
            assert_eq!(small2, [0xAA; 25]);
            assert_eq!(a.nonce(), 1);

            // Too-small output on decrypt.
            let mut out = [0xAAu8; 9];
            assert!(matches!(
                b.decrypt_with_ad(b"", &wire, &mut out),
                Err(CipherError::BufferTooSmall(_))
            ));
            assert_eq!(out, [0xAA; 9]);
            assert_eq!(b.nonce(), 0);

            // Tampered ciphertext, tag, AD; truncated input.
            let mut out = [0u8; 10];
            for i in 0..wire.len() {
                let mut bad = wire;
                bad[i] ^= 1;
                assert_eq!(
                    b.decrypt_with_ad(b"", &bad, &mut out),
                    Err(CipherError::Decrypt)
                );
                assert_eq!(out, [0; 10], "no unauthenticated plaintext");
            }
            assert_eq!(
                b.decrypt_with_ad(b"z", &wire, &mut out),
                Err(CipherError::Decrypt)
            );
            assert_eq!(
                b.decrypt_with_ad(b"", &wire[..TAG_LEN - 1], &mut out),
                Err(CipherError::Decrypt)
            );
            let mut bad = wire;
            bad[0] ^= 1;
            assert_eq!(b.decrypt_in_place(b"", &mut bad), Err(CipherError::Decrypt));
            assert_eq!(b.nonce(), 0);

            // Wrong nonce fails, right one still works afterwards.
            b.set_nonce(1);
            assert_eq!(
                b.decrypt_with_ad(b"", &wire, &mut out),
                Err(CipherError::Decrypt)
            );
            b.set_nonce(0);
            assert_eq!(b.decrypt_with_ad(b"", &wire, &mut out), Ok(10));
            assert_eq!(out, [1; 10]);
        }
    }

    #[test]
    fn reserved_nonce() {
        for alg in ALGS {
            let mut a = keyed(alg);
            let mut b = keyed(alg);
            a.set_nonce(RESERVED_NONCE - 1);
            b.set_nonce(RESERVED_NONCE - 1);
            let mut wire = [0u8; 3 + TAG_LEN];
            assert_eq!(a.encrypt_with_ad(b"", b"end", &mut wire), Ok(19));
            assert_eq!(a.nonce(), RESERVED_NONCE);
            let mut again = [0u8; 3 + TAG_LEN];
            assert_eq!(
                a.encrypt_with_ad(b"", b"end", &mut again),
                Err(CipherError::NonceExhausted)
            );
            assert_eq!(again, [0; 19]);
            assert_eq!(
                a.encrypt_in_place(b"", &mut again, 3),
                Err(CipherError::NonceExhausted)
            );
            assert_eq!(a.nonce(), RESERVED_NONCE);

            let mut out = [0u8; 3];
            assert_eq!(b.decrypt_with_ad(b"", &wire, &mut out), Ok(3));
            assert_eq!(&out, b"end");
            assert_eq!(
                b.decrypt_with_ad(b"", &wire, &mut out),
                Err(CipherError::NonceExhausted)
            );
            assert_eq!(b.nonce(), RESERVED_NONCE);
        }
    }

    #[test]
    fn max_message_len_both_sides() {
        assert_eq!(MAX_MESSAGE_LEN, 65535);
        let mut a = keyed(AeadAlgorithm::ChaCha20Poly1305);
        let big = [0u8; MAX_MESSAGE_LEN + 1];
        let mut out = [0u8; MAX_MESSAGE_LEN + 1];
        assert_eq!(
            a.encrypt_with_ad(b"", &big[..65520], &mut out),
            Err(CipherError::MessageTooLong { len: 65536 })
        );
        assert_eq!(a.nonce(), 0);
        assert_eq!(a.encrypt_with_ad(b"", &big[..65519], &mut out), Ok(65535));
        let mut b = keyed(AeadAlgorithm::ChaCha20Poly1305);
        let mut plain = [0u8; MAX_MESSAGE_LEN];
        assert_eq!(
            b.decrypt_with_ad(b"", &out[..65536], &mut plain),
            Err(CipherError::MessageTooLong { len: 65536 })
        );
        assert_eq!(b.decrypt_with_ad(b"", &out[..65535], &mut plain), Ok(65519));
        // Without a key the limit is on the plaintext itself.
        let mut e = CipherState::<P>::new(AeadAlgorithm::ChaCha20Poly1305);
        assert_eq!(
            e.encrypt_with_ad(b"", &big, &mut out),
            Err(CipherError::MessageTooLong { len: 65536 })
        );
        assert_eq!(e.encrypt_with_ad(b"", &big[..65535], &mut out), Ok(65535));
    }

    #[test]
    fn rekey_is_encrypt_at_max_nonce() {
        for alg in ALGS {
            let k = [0x42u8; 32];
            let mut cs = keyed(alg);
            cs.set_nonce(7);
            cs.rekey();
            assert_eq!(cs.nonce(), 7, "rekey keeps the nonce");
            // Independently: ENCRYPT(k, 2^64-1, "", zeros) with the raw
            // provider and a hand-typed all-0xff counter.
            let mut expect = [0u8; 32];
            let nonce = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
            let _ = P::aead_key(alg, &k).seal_in_place(&nonce, &[], &mut expect);
            assert_eq!(cs.key_bytes(), Some(&expect));
            assert_ne!(expect, k);
            let fresh = keyed(alg);
            let next = fresh.rekeyed();
            assert_eq!(fresh.key_bytes(), Some(&k), "rekeyed leaves self alone");
            assert_eq!(next.key_bytes(), Some(&expect));
            // And the new key is the one used afterwards.
            let mut other = CipherState::<P>::with_key(alg, &expect);
            other.set_nonce(7);
            let (mut w1, mut w2) = ([0u8; 20], [0u8; 20]);
            cs.encrypt_with_ad(b"", b"four", &mut w1).unwrap();
            other.encrypt_with_ad(b"", b"four", &mut w2).unwrap();
            assert_eq!(w1, w2);
        }
    }

    #[cfg(all(feature = "ring", feature = "rustcrypto"))]
    #[test]
    fn providers_agree() {
        use crate::crypto::{Ring, RustCrypto};
        for alg in ALGS {
            let mut r = CipherState::<Ring>::with_key(alg, &[3; 32]);
            let mut c = CipherState::<RustCrypto>::with_key(alg, &[3; 32]);
            r.set_nonce(0xdead_beef_0000_0001);
            c.set_nonce(0xdead_beef_0000_0001);
            r.rekey();
            c.rekey();
            let (mut w1, mut w2) = ([0u8; 60], [0u8; 60]);
            r.encrypt_with_ad(b"ad", &[5; 44], &mut w1).unwrap();
            c.encrypt_with_ad(b"ad", &[5; 44], &mut w2).unwrap();
            assert_eq!(w1, w2);
        }
    }

    #[test]
    fn split_keys_roles() {
        let h = Digest::from_slice(&[1; 32]);
        let alg = AeadAlgorithm::ChaCha20Poly1305;
        let (mut i_send, mut i_recv) =
            SplitKeys::new([1; 32], [2; 32], alg, h.clone(), true).into_cipher_states::<P>();
        let keys = SplitKeys::new([1; 32], [2; 32], alg, h, false);
        assert!(!keys.is_initiator());
        assert_eq!(keys.handshake_hash().as_bytes(), &[1; 32]);
        let (mut r_send, mut r_recv) = keys.into_cipher_states::<P>();
        assert_eq!(i_send.key_bytes(), Some(&[1; 32]));
        assert_eq!(r_send.key_bytes(), Some(&[2; 32]));
        let mut w = [0u8; 18];
        let mut p = [0u8; 2];
        i_send.encrypt_with_ad(b"", b"hi", &mut w).unwrap();
        assert_eq!(r_recv.decrypt_with_ad(b"", &w, &mut p), Ok(2));
        r_send.encrypt_with_ad(b"", b"yo", &mut w).unwrap();
        assert_eq!(i_recv.decrypt_with_ad(b"", &w, &mut p), Ok(2));
        assert_eq!(&p, b"yo");
    }
}
