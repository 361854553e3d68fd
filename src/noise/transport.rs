//! The Noise transport phase over a reliable, ordered byte stream: implicit
//! nonces (spec rev 34, section 5), manual rekey (section 11.3) and an
//! automatic rekey at message-count boundaries.
//!
//! A [`Transport`] is built from the [`SplitKeys`] a finished handshake
//! hands over. Each message is sealed under the next nonce of the sending
//! direction; the receiver expects exactly that nonce, so messages must be
//! delivered in order, once each (frame them with the crate's stream framing).
//!
//! # A failed decryption ends the stream
//!
//! Over a reliable stream a message that fails authentication means the
//! stream is broken: it was forged, corrupted, truncated, reordered or
//! replayed, and the peers' nonces no longer describe the same messages.
//! The receiving side therefore refuses all further use after the first
//! [`TransportError::Decrypt`]: every later read (and, on an unsplit
//! [`Transport`], every later write) fails with [`TransportError::Broken`],
//! and the application closes the connection (DESIGN: "a stream that saw a
//! failed decryption is closed"). Keys and nonces are not changed by the
//! failure itself. Errors that are the local caller's own (an output buffer
//! too small, a message over 65535 bytes) do not break the transport. The
//! datagram transport ([`datagram`](super::datagram)) keeps its per-packet
//! behaviour: a forged datagram is dropped and the next one is read.
//!
//! # Automatic rekey, and how both peers stay in sync
//!
//! With [`Config::rekey_after_messages`] `= Some(m)`, the key of each
//! direction changes at every nonce that is a positive multiple of `m`: the
//! message with nonce `n` is sealed under `REKEY^(n / m)(k)`. Both peers know
//! every nonce, so both derive the same key at the same message; no message
//! is exchanged and nothing can get out of step. Both peers must therefore
//! use the same `m` (treat it as part of the protocol, like the cipher name).
//! The default (`None`) is plain Noise, interoperable with any other
//! implementation.
//!
//! A time-based policy is not sound here on its own: both peers must switch
//! key at the same *message*, so the switch must be a function of data both
//! hold identically, and the nonce is the only such data. Clocks are not:
//! with any skew or delay, a message sealed just before the sender's
//! deadline arrives after the receiver's (or the other way round), and the
//! two sides disagree on its key. So the receiver must learn when the
//! sender switched key. Over a stream, with implicit nonces, that takes a message or trial
//! decryption (which costs a second AEAD pass on every forged message and is
//! impossible in place, where the failed attempt destroys the ciphertext).
//! The stream transport therefore offers count-based rekeying only, plus
//! [`Transport::rekey_outgoing`] / [`Transport::rekey_incoming`] for an
//! application that signals rekeys itself. The datagram transport, whose
//! nonces are explicit, also rekeys on time
//! ([`datagram`](super::datagram)).
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use hyperport::crypto::{AeadAlgorithm, Digest, Ring};
//! use hyperport::noise::cipher::{SplitKeys, TAG_LEN};
//! use hyperport::noise::transport::{Config, Transport};
//!
//! // In real use both SplitKeys come from a finished handshake.
//! let h = Digest::from_slice(&[0u8; 32]);
//! let alg = AeadAlgorithm::ChaCha20Poly1305;
//! let config = Config::default();
//! let mut alice =
//!     Transport::<Ring>::new(SplitKeys::new([1; 32], [2; 32], alg, h.clone(), true), config);
//! let mut bob = Transport::<Ring>::new(SplitKeys::new([1; 32], [2; 32], alg, h, false), config);
//!
//! let mut wire = [0u8; 64];
//! let n = alice.write_message(b"hello", &mut wire)?;
//! assert_eq!(n, 5 + TAG_LEN);
//! let mut plain = [0u8; 64];
//! let m = bob.read_message(&wire[..n], &mut plain)?;
//! assert_eq!(&plain[..m], b"hello");
//!
//! // The halves can move to different tasks.
//! let (mut bob_tx, _bob_rx) = bob.split();
//! let n = bob_tx.write_message(b"hi", &mut wire)?;
//! let m = alice.read_message(&wire[..n], &mut plain)?;
//! assert_eq!(&plain[..m], b"hi");
//! # }
//! # Ok::<(), hyperport::noise::transport::TransportError>(())
//! ```

use core::fmt;

use super::cipher::{
    CipherError, CipherState, MAX_MESSAGE_LEN, RESERVED_NONCE, SplitKeys, TAG_LEN,
};
use super::replay::ReplayError;
use crate::crypto::{Digest, Provider};
use crate::error::BufferTooSmall;

/// Most key epochs one received datagram may move the receiver forward
/// (each costs one `REKEY` and one key setup, about a microsecond). A
/// datagram further ahead is refused with [`TransportError::UnknownEpoch`].
pub const MAX_EPOCH_SKIP: u64 = 8;

/// Why a transport operation failed. In every case the transport (keys,
/// nonces, replay window) is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// This direction used up its nonces (`2^64 - 1` is reserved): run a
    /// new handshake.
    NonceExhausted,
    /// The message would exceed [`MAX_MESSAGE_LEN`] bytes (`len` is its
    /// ciphertext length). Split the payload; a received one is dropped.
    MessageTooLong {
        /// Ciphertext length of the offending message, in bytes.
        len: usize,
    },
    /// The output buffer is too small; nothing was written.
    BufferTooSmall(BufferTooSmall),
    /// Authentication failed: forged, corrupted, truncated, out of order on
    /// a stream, or for another key. Drop the message. Over a stream the
    /// connection cannot continue: the stream transport is broken from now
    /// on ([`TransportError::Broken`]); a datagram transport reads the next
    /// packet as usual.
    Decrypt,
    /// Stream only: an earlier message failed authentication
    /// ([`TransportError::Decrypt`]), so this transport refuses all further
    /// use (module docs). Close the connection; a new session needs a new
    /// handshake.
    Broken,
    /// Datagram only: the nonce was refused by the replay window before any
    /// decryption. Drop the packet.
    Replay(ReplayError),
    /// Datagram only: the nonce belongs to a key epoch this receiver no
    /// longer holds (older than the previous one) or that is more than
    /// [`MAX_EPOCH_SKIP`] epochs ahead. Drop the packet.
    UnknownEpoch {
        /// The nonce of the refused packet.
        nonce: u64,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::NonceExhausted => f.write_str(
                "nonces exhausted (2^64-1 is reserved): no more messages this direction; run a new handshake",
            ),
            TransportError::MessageTooLong { len } => write!(
                f,
                "message of {len} bytes exceeds the Noise maximum of {MAX_MESSAGE_LEN}; split the payload"
            ),
            TransportError::BufferTooSmall(e) => fmt::Display::fmt(e, f),
            TransportError::Decrypt => f.write_str(
                "decryption failed: message forged, corrupted, reordered or for another key; drop it",
            ),
            TransportError::Broken => f.write_str(
                "the stream transport is broken: an earlier message failed authentication; close the connection",
            ),
            TransportError::Replay(e) => fmt::Display::fmt(e, f),
            TransportError::UnknownEpoch { nonce } => write!(
                f,
                "nonce {nonce} is from a key epoch no longer held or too far ahead; drop the packet"
            ),
        }
    }
}

impl core::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            TransportError::BufferTooSmall(e) => Some(e),
            TransportError::Replay(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CipherError> for TransportError {
    fn from(e: CipherError) -> Self {
        match e {
            CipherError::NonceExhausted => TransportError::NonceExhausted,
            CipherError::MessageTooLong { len } => TransportError::MessageTooLong { len },
            CipherError::BufferTooSmall(b) => TransportError::BufferTooSmall(b),
            // CipherError is non_exhaustive; anything new is a failure to
            // authenticate or use the message.
            _ => TransportError::Decrypt,
        }
    }
}

impl From<BufferTooSmall> for TransportError {
    fn from(e: BufferTooSmall) -> Self {
        TransportError::BufferTooSmall(e)
    }
}

impl From<ReplayError> for TransportError {
    fn from(e: ReplayError) -> Self {
        TransportError::Replay(e)
    }
}

/// Stream transport configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Rekey each direction every this many messages (at every nonce that is
    /// a positive multiple of it). `Some(0)` counts as `Some(1)`. Both peers
    /// must use the same value. Default `None`: never rekey automatically
    /// (plain Noise). Memory does not depend on it.
    pub rekey_after_messages: Option<u64>,
}

/// Key epochs: nonce `n` is sealed under `REKEY^(n / len)(k)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Epochs {
    /// Epoch length in nonces (at least 1); `None`: a single epoch.
    len: Option<u64>,
}

impl Epochs {
    pub(crate) fn new(len: Option<u64>) -> Self {
        Epochs {
            len: len.map(|l| l.max(1)),
        }
    }

    /// The epoch of nonce `n`.
    pub(crate) fn of(self, n: u64) -> u64 {
        self.len.and_then(|l| n.checked_div(l)).unwrap_or(0)
    }

    /// The first nonce of the epoch after `n`'s, if it is usable (below the
    /// reserved nonce). (Tests: the transports walk boundaries with
    /// [`Epochs::after`], without dividing.)
    #[cfg(test)]
    pub(crate) fn next_boundary(self, n: u64) -> Option<u64> {
        let len = self.len?;
        let next = self.of(n).checked_add(1)?.checked_mul(len)?;
        (next < RESERVED_NONCE).then_some(next)
    }

    /// The first nonce of epoch 1 (where the first rekey happens), or
    /// `u64::MAX` (never: no nonce reaches it) without epochs or when it is
    /// not below the reserved nonce. No division.
    pub(crate) fn first_boundary(self) -> u64 {
        self.after(0)
    }

    /// The boundary after `boundary` (one epoch later), or `u64::MAX`
    /// (never). No division: the stream paths track their next rekey nonce
    /// with this instead of dividing every nonce (a 64-bit division links
    /// about 900 bytes of compiler builtins on Cortex-M).
    pub(crate) fn after(self, boundary: u64) -> u64 {
        match self.len {
            Some(len) => boundary
                .checked_add(len)
                .filter(|b| *b < RESERVED_NONCE)
                .unwrap_or(u64::MAX),
            None => u64::MAX,
        }
    }
}

/// Checks that a ciphertext of `plaintext_len + TAG_LEN` bytes fits the
/// Noise limit and a buffer of `out_len` bytes; returns its length.
fn check_seal(plaintext_len: usize, out_len: usize) -> Result<usize, TransportError> {
    let len = plaintext_len.saturating_add(TAG_LEN);
    if len > MAX_MESSAGE_LEN {
        return Err(TransportError::MessageTooLong { len });
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

/// Checks a received ciphertext's length against the Noise limit, the tag
/// and a buffer of `out_len` bytes; returns the plaintext length.
pub(crate) fn check_open(ciphertext_len: usize, out_len: usize) -> Result<usize, TransportError> {
    if ciphertext_len > MAX_MESSAGE_LEN {
        return Err(TransportError::MessageTooLong {
            len: ciphertext_len,
        });
    }
    let len = ciphertext_len
        .checked_sub(TAG_LEN)
        .ok_or(TransportError::Decrypt)?;
    if out_len < len {
        return Err(BufferTooSmall {
            needed: len,
            available: out_len,
        }
        .into());
    }
    Ok(len)
}

/// The sending direction shared by the stream and datagram transports:
/// sequential nonces, lazy rekey at epoch boundaries, optional jump to the
/// next epoch (datagram time policy).
pub(crate) struct Sender<P: Provider> {
    cipher: CipherState<P>,
    epochs: Epochs,
    /// Epoch of the key in `cipher`.
    key_epoch: u64,
    /// First nonce of epoch `key_epoch + 1` (`u64::MAX`: never).
    rekey_at: u64,
}

impl<P: Provider> Sender<P> {
    pub(crate) fn new(cipher: CipherState<P>, epochs: Epochs) -> Self {
        Sender {
            cipher,
            epochs,
            key_epoch: 0,
            rekey_at: epochs.first_boundary(),
        }
    }

    pub(crate) fn nonce(&self) -> u64 {
        self.cipher.nonce()
    }

    /// Validates a message of `plaintext_len` bytes into `out_len` bytes.
    fn check(&self, plaintext_len: usize, out_len: usize) -> Result<usize, TransportError> {
        if self.cipher.nonce() == RESERVED_NONCE {
            return Err(TransportError::NonceExhausted);
        }
        check_seal(plaintext_len, out_len)
    }

    /// Brings the key to the epoch of the current nonce (called only once
    /// the message is known to be sealable, so that failures change nothing).
    /// The common case (no epoch boundary) is one comparison, inlined.
    #[inline]
    fn catch_up(&mut self) {
        if self.cipher.nonce() >= self.rekey_at {
            self.rekey_to_current_epoch();
        }
    }

    #[cold]
    #[inline(never)]
    fn rekey_to_current_epoch(&mut self) {
        // Nonces advance one at a time and jumps land on the next epoch, so
        // the gap is at most one; the bound keeps the work constant anyway.
        for _ in 0..MAX_EPOCH_SKIP {
            if self.cipher.nonce() < self.rekey_at {
                break;
            }
            self.cipher.rekey();
            self.key_epoch = self.key_epoch.saturating_add(1);
            self.rekey_at = self.epochs.after(self.rekey_at);
        }
    }

    /// Seals `payload` into `out`; returns `(nonce, length)`.
    pub(crate) fn seal(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(u64, usize), TransportError> {
        self.check(payload.len(), out.len())?;
        self.catch_up();
        let n = self.cipher.nonce();
        let len = self.cipher.encrypt_with_ad(&[], payload, out)?;
        Ok((n, len))
    }

    /// Seals `buf[..plaintext_len]` in place; returns `(nonce, length)`.
    pub(crate) fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        plaintext_len: usize,
    ) -> Result<(u64, usize), TransportError> {
        if plaintext_len > buf.len() {
            return Err(BufferTooSmall {
                needed: plaintext_len,
                available: buf.len(),
            }
            .into());
        }
        self.check(plaintext_len, buf.len())?;
        self.catch_up();
        let n = self.cipher.nonce();
        // `check` proved the nonce usable and the lengths within bounds.
        let len = self
            .cipher
            .encrypt_in_place_prechecked(buf, plaintext_len)?;
        Ok((n, len))
    }

    /// Switches to the next key epoch now: if the current nonce already
    /// starts an epoch whose rekey is pending, performs it; otherwise skips
    /// the nonce ahead to the next epoch boundary and rekeys. Does nothing
    /// without epochs or when the next boundary would reach the reserved
    /// nonce. Returns whether the key changed.
    pub(crate) fn jump(&mut self) -> bool {
        // A nonce below `rekey_at` is in the current key's epoch; the next
        // boundary is `rekey_at` itself.
        if self.cipher.nonce() < self.rekey_at {
            if self.rekey_at == u64::MAX {
                return false;
            }
            self.cipher.set_nonce(self.rekey_at);
        }
        self.catch_up();
        true
    }

    /// Spec `Rekey()` of the current key (manual, section 11.3).
    pub(crate) fn rekey(&mut self) {
        self.cipher.rekey();
    }

    /// Test hook (spec `SetNonce`): moves to nonce `n` and treats the
    /// current key as the key of `n`'s epoch (no rekeys are derived).
    #[cfg(test)]
    pub(crate) fn set_nonce_for_test(&mut self, n: u64) {
        self.cipher.set_nonce(n);
        self.key_epoch = self.epochs.of(n);
        self.rekey_at = self.epochs.next_boundary(n).unwrap_or(u64::MAX);
    }
}

/// The receiving direction of a stream: the next expected nonce, lazy
/// rekey at epoch boundaries.
struct StreamReceiver<P: Provider> {
    cipher: CipherState<P>,
    epochs: Epochs,
    key_epoch: u64,
    /// First nonce of epoch `key_epoch + 1` (`u64::MAX`: never).
    rekey_at: u64,
    /// Set by the first failed authentication; every later read is
    /// refused with [`TransportError::Broken`].
    broken: bool,
}

impl<P: Provider> StreamReceiver<P> {
    /// Returns the key for the expected nonce's epoch: `None` means the
    /// current one, `Some` a rekeyed candidate to adopt only on success.
    fn candidate(&self) -> Option<CipherState<P>> {
        (self.cipher.nonce() >= self.rekey_at).then(|| self.cipher.rekeyed())
    }

    fn adopt(&mut self, next: Option<CipherState<P>>) {
        if let Some(next) = next {
            self.cipher = next;
            self.key_epoch = self.key_epoch.saturating_add(1);
            self.rekey_at = self.epochs.after(self.rekey_at);
        }
    }

    /// Marks the receiver broken if `r` is a failed authentication.
    fn note(&mut self, r: Result<usize, TransportError>) -> Result<usize, TransportError> {
        if r == Err(TransportError::Decrypt) {
            self.broken = true;
        }
        r
    }

    fn open(&mut self, ciphertext: &[u8], out: &mut [u8]) -> Result<usize, TransportError> {
        if self.broken {
            return Err(TransportError::Broken);
        }
        let r = self.open_inner(ciphertext, out);
        self.note(r)
    }

    fn open_inner(&mut self, ciphertext: &[u8], out: &mut [u8]) -> Result<usize, TransportError> {
        check_open(ciphertext.len(), out.len())?;
        let mut next = self.candidate();
        let cs = next.as_mut().unwrap_or(&mut self.cipher);
        let len = cs.decrypt_with_ad(&[], ciphertext, out)?;
        self.adopt(next);
        Ok(len)
    }

    fn open_in_place(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if self.broken {
            return Err(TransportError::Broken);
        }
        let r = self.open_in_place_inner(buf);
        self.note(r)
    }

    fn open_in_place_inner(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        check_open(buf.len(), buf.len())?;
        // Fast path: the expected nonce is in the current key's epoch.
        if self.cipher.nonce() < self.rekey_at {
            return Ok(self.cipher.decrypt_in_place_prechecked(buf)?);
        }
        let mut next = self.candidate();
        let cs = next.as_mut().unwrap_or(&mut self.cipher);
        let len = cs.decrypt_in_place_prechecked(buf)?;
        self.adopt(next);
        Ok(len)
    }
}

/// The sending half of a stream [`Transport`]. Owns its key and nonce, so
/// it can live in another task than the [`RecvHalf`] (it is `Send` when the
/// provider's key type is, as with both providers of this crate).
pub struct SendHalf<P: Provider> {
    inner: Sender<P>,
}

/// The receiving half of a stream [`Transport`]. Owns its key and nonce.
pub struct RecvHalf<P: Provider> {
    inner: StreamReceiver<P>,
}

impl<P: Provider> fmt::Debug for SendHalf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendHalf")
            .field("nonce", &self.inner.nonce())
            .finish_non_exhaustive()
    }
}

impl<P: Provider> fmt::Debug for RecvHalf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvHalf")
            .field("nonce", &self.inner.cipher.nonce())
            .field("broken", &self.inner.broken)
            .finish_non_exhaustive()
    }
}

impl<P: Provider> SendHalf<P> {
    /// Encrypts `payload` (at most [`MAX_PLAINTEXT_LEN`](super::cipher::MAX_PLAINTEXT_LEN)
    /// bytes) under the next nonce into `out`; returns the message length,
    /// `payload.len() + TAG_LEN`.
    ///
    /// # Errors
    /// [`TransportError::NonceExhausted`], [`TransportError::MessageTooLong`],
    /// [`TransportError::BufferTooSmall`]; `out` and the state are unchanged.
    pub fn write_message(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TransportError> {
        self.inner.seal(payload, out).map(|(_, len)| len)
    }

    /// In-place [`write_message`](Self::write_message): the payload is
    /// `buf[..payload_len]`; the message replaces it in `buf[..returned]`.
    ///
    /// # Errors
    /// As [`write_message`](Self::write_message); `buf` is then unchanged.
    pub fn write_message_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, TransportError> {
        self.inner
            .seal_in_place(buf, payload_len)
            .map(|(_, len)| len)
    }

    /// The nonce the next message will use (also the number of messages
    /// sent so far).
    pub fn nonce(&self) -> u64 {
        self.inner.nonce()
    }

    /// Spec `Rekey()` of the sending key (section 11.3). The peer must call
    /// [`RecvHalf::rekey`] at the same point of the stream; the application
    /// signals that itself.
    pub fn rekey(&mut self) {
        self.inner.rekey();
    }
}

impl<P: Provider> RecvHalf<P> {
    /// Authenticates and decrypts the next message into `out`; returns the
    /// payload length (`message.len() - TAG_LEN`).
    ///
    /// # Errors
    /// [`TransportError::Decrypt`] (the first `message.len() - TAG_LEN`
    /// bytes of `out` are zeroed; from then on this half is broken),
    /// [`TransportError::Broken`] (an earlier message failed: close the
    /// connection), [`TransportError::MessageTooLong`],
    /// [`TransportError::BufferTooSmall`], [`TransportError::NonceExhausted`].
    /// Keys and nonce are unchanged on every error.
    pub fn read_message(
        &mut self,
        message: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TransportError> {
        self.inner.open(message, out)
    }

    /// In-place [`read_message`](Self::read_message): `buf` is exactly the
    /// message; on success `buf[..returned]` is the payload.
    ///
    /// # Errors
    /// As [`read_message`](Self::read_message); on
    /// [`TransportError::Decrypt`] the payload part of `buf` is zeroed.
    pub fn read_message_in_place(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        self.inner.open_in_place(buf)
    }

    /// The nonce the next message must carry (messages received so far).
    pub fn nonce(&self) -> u64 {
        self.inner.cipher.nonce()
    }

    /// Whether a message failed authentication, after which this half
    /// refuses every read ([`TransportError::Broken`]).
    pub fn is_broken(&self) -> bool {
        self.inner.broken
    }

    /// Spec `Rekey()` of the receiving key (section 11.3), to match the
    /// peer's [`SendHalf::rekey`].
    pub fn rekey(&mut self) {
        self.inner.cipher.rekey();
    }
}

/// A Noise transport over a reliable, ordered stream (module docs).
pub struct Transport<P: Provider> {
    send: SendHalf<P>,
    recv: RecvHalf<P>,
    handshake_hash: Digest,
    is_initiator: bool,
}

impl<P: Provider> fmt::Debug for Transport<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("is_initiator", &self.is_initiator)
            .field("send", &self.send)
            .field("recv", &self.recv)
            .finish_non_exhaustive()
    }
}

impl<P: Provider> Transport<P> {
    /// The transport for the local side of a finished handshake. The key
    /// bytes in `keys` are zeroized when it is consumed here.
    pub fn new(keys: SplitKeys, config: Config) -> Self {
        let epochs = Epochs::new(config.rekey_after_messages);
        let handshake_hash = keys.handshake_hash().clone();
        let is_initiator = keys.is_initiator();
        let (send, recv) = keys.into_cipher_states::<P>();
        Transport {
            send: SendHalf {
                inner: Sender::new(send, epochs),
            },
            recv: RecvHalf {
                inner: StreamReceiver {
                    cipher: recv,
                    epochs,
                    key_epoch: 0,
                    rekey_at: epochs.first_boundary(),
                    broken: false,
                },
            },
            handshake_hash,
            is_initiator,
        }
    }

    /// See [`SendHalf::write_message`].
    ///
    /// # Errors
    /// As [`SendHalf::write_message`], and [`TransportError::Broken`] once a
    /// received message failed authentication (nothing is written).
    pub fn write_message(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TransportError> {
        self.usable()?;
        self.send.write_message(payload, out)
    }

    /// See [`SendHalf::write_message_in_place`].
    ///
    /// # Errors
    /// As [`write_message`](Self::write_message).
    pub fn write_message_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, TransportError> {
        self.usable()?;
        self.send.write_message_in_place(buf, payload_len)
    }

    fn usable(&self) -> Result<(), TransportError> {
        if self.recv.is_broken() {
            return Err(TransportError::Broken);
        }
        Ok(())
    }

    /// Whether a received message failed authentication, after which the
    /// transport refuses every read and write ([`TransportError::Broken`]).
    pub fn is_broken(&self) -> bool {
        self.recv.is_broken()
    }

    /// See [`RecvHalf::read_message`].
    ///
    /// # Errors
    /// As [`RecvHalf::read_message`].
    pub fn read_message(
        &mut self,
        message: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TransportError> {
        self.recv.read_message(message, out)
    }

    /// See [`RecvHalf::read_message_in_place`].
    ///
    /// # Errors
    /// As [`RecvHalf::read_message_in_place`].
    pub fn read_message_in_place(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        self.recv.read_message_in_place(buf)
    }

    /// The handshake hash `h` (spec section 11.2, channel binding).
    pub fn handshake_hash(&self) -> &Digest {
        &self.handshake_hash
    }

    /// Whether the local side initiated the handshake.
    pub fn is_initiator(&self) -> bool {
        self.is_initiator
    }

    /// The nonce of the next message sent.
    pub fn sending_nonce(&self) -> u64 {
        self.send.nonce()
    }

    /// The nonce the next received message must carry.
    pub fn receiving_nonce(&self) -> u64 {
        self.recv.nonce()
    }

    /// Spec `Rekey()` of the sending key (see [`SendHalf::rekey`]).
    pub fn rekey_outgoing(&mut self) {
        self.send.rekey();
    }

    /// Spec `Rekey()` of the receiving key (see [`RecvHalf::rekey`]).
    pub fn rekey_incoming(&mut self) {
        self.recv.rekey();
    }

    /// Splits into independently owned halves (for example, a reader task
    /// and a writer task). The handshake hash stays with the caller through
    /// [`handshake_hash`](Self::handshake_hash) before the split. After a
    /// split only the [`RecvHalf`] learns of a failed decryption: the
    /// reader must then close the connection (or tell the writer to stop).
    pub fn split(self) -> (SendHalf<P>, RecvHalf<P>) {
        (self.send, self.recv)
    }

    #[cfg(test)]
    fn set_nonces_for_test(&mut self, send: u64, recv: u64) {
        self.send.inner.set_nonce_for_test(send);
        self.recv.inner.cipher.set_nonce(recv);
        self.recv.inner.key_epoch = self.recv.inner.epochs.of(recv);
        self.recv.inner.rekey_at = self
            .recv
            .inner
            .epochs
            .next_boundary(recv)
            .unwrap_or(u64::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{AeadAlgorithm, DefaultProvider as P};

    fn pair(config: Config, alg: AeadAlgorithm) -> (Transport<P>, Transport<P>) {
        let h = Digest::from_slice(&[9; 32]);
        (
            Transport::new(
                SplitKeys::new([1; 32], [2; 32], alg, h.clone(), true),
                config,
            ),
            Transport::new(SplitKeys::new([1; 32], [2; 32], alg, h, false), config),
        )
    }

    fn send_recv(
        a: &mut Transport<P>,
        b: &mut Transport<P>,
        msg: &[u8],
    ) -> Result<(), TransportError> {
        let mut wire = [0u8; 256];
        let n = a.write_message(msg, &mut wire)?;
        let mut out = [0u8; 256];
        let m = b.read_message(&wire[..n], &mut out)?;
        assert_eq!(&out[..m], msg);
        Ok(())
    }

    #[test]
    fn halves_are_send() {
        fn is_send<T: Send>() {}
        is_send::<SendHalf<P>>();
        is_send::<RecvHalf<P>>();
        is_send::<Transport<P>>();
    }

    #[test]
    fn exhaustion() {
        let (mut a, mut b) = pair(Config::default(), AeadAlgorithm::ChaCha20Poly1305);
        a.set_nonces_for_test(RESERVED_NONCE - 2, 0);
        b.set_nonces_for_test(0, RESERVED_NONCE - 2);
        send_recv(&mut a, &mut b, b"1").unwrap();
        send_recv(&mut a, &mut b, b"2").unwrap();
        assert_eq!(a.sending_nonce(), RESERVED_NONCE);
        let mut wire = [0u8; 64];
        assert_eq!(
            a.write_message(b"3", &mut wire),
            Err(TransportError::NonceExhausted)
        );
        assert_eq!(
            a.write_message_in_place(&mut wire, 1),
            Err(TransportError::NonceExhausted)
        );
        assert_eq!(wire, [0; 64]);
        let mut out = [0u8; 64];
        assert_eq!(
            b.read_message(&[0; 17], &mut out),
            Err(TransportError::NonceExhausted)
        );
        // The other direction is unaffected.
        send_recv(&mut b, &mut a, b"still fine").unwrap();
    }

    #[test]
    fn count_rekey_stays_in_sync_and_changes_key() {
        let config = Config {
            rekey_after_messages: Some(3),
        };
        let (mut a, mut b) = pair(config, AeadAlgorithm::Aes256Gcm);
        let (mut plain_a, mut plain_b) = pair(Config::default(), AeadAlgorithm::Aes256Gcm);
        for i in 0..10u8 {
            let mut w1 = [0u8; 32];
            let mut w2 = [0u8; 32];
            let n1 = a.write_message(&[i; 8], &mut w1).unwrap();
            plain_a.write_message(&[i; 8], &mut w2).unwrap();
            // Same key for nonces 0..3, then different ones.
            assert_eq!(w1 == w2, i < 3, "message {i}");
            let mut out = [0u8; 8];
            assert_eq!(b.read_message(&w1[..n1], &mut out), Ok(8));
            assert_eq!(out, [i; 8]);
            let _ = plain_b.read_message(&w2[..n1], &mut out).unwrap();
        }
        // Independent check of the key for epoch 3 (nonces 9..12): the
        // initiator's c1 rekeyed three times.
        let mut k = CipherState::<P>::with_key(AeadAlgorithm::Aes256Gcm, &[1; 32]);
        k.rekey();
        k.rekey();
        k.rekey();
        k.set_nonce(10);
        let mut expect = [0u8; 20];
        k.encrypt_with_ad(&[], b"abcd", &mut expect).unwrap();
        let mut got = [0u8; 20];
        a.write_message(b"abcd", &mut got).unwrap();
        assert_eq!(got, expect);
        send_recv(&mut b, &mut a, b"reverse direction also rekeys").unwrap();
    }

    #[test]
    fn failed_read_at_boundary_changes_no_key_and_breaks_the_stream() {
        let config = Config {
            rekey_after_messages: Some(2),
        };
        let (mut a, mut b) = pair(config, AeadAlgorithm::ChaCha20Poly1305);
        send_recv(&mut a, &mut b, b"0").unwrap();
        send_recv(&mut a, &mut b, b"1").unwrap();
        let mut wire = [0u8; 32];
        let n = a.write_message(b"2", &mut wire).unwrap();
        let mut bad = wire;
        bad[0] ^= 0x80;
        let mut out = [0u8; 32];
        assert!(!b.is_broken());
        assert_eq!(
            b.read_message(&bad[..n], &mut out),
            Err(TransportError::Decrypt)
        );
        assert_eq!(b.receiving_nonce(), 2);
        assert_eq!(b.recv.inner.key_epoch, 0, "candidate key not adopted");
        // From now on the stream is refused, even the genuine message, in
        // both directions and through both APIs.
        assert!(b.is_broken());
        assert_eq!(
            b.read_message(&wire[..n], &mut out),
            Err(TransportError::Broken)
        );
        assert_eq!(
            b.read_message_in_place(&mut wire[..n]),
            Err(TransportError::Broken)
        );
        let mut w = [0xEEu8; 32];
        assert_eq!(b.write_message(b"x", &mut w), Err(TransportError::Broken));
        assert_eq!(
            b.write_message_in_place(&mut w, 1),
            Err(TransportError::Broken)
        );
        assert_eq!(w, [0xEE; 32], "nothing written");
        assert_eq!((b.receiving_nonce(), b.sending_nonce()), (2, 0));
        assert_eq!(b.recv.inner.key_epoch, 0);
    }

    #[test]
    fn in_place_failure_breaks_the_receiving_half() {
        let (a, b) = pair(Config::default(), AeadAlgorithm::Aes256Gcm);
        let (mut a_tx, _a_rx) = a.split();
        let (_b_tx, mut b_rx) = b.split();
        let mut wire = [0u8; 32];
        let n = a_tx.write_message(b"hey", &mut wire).unwrap();
        let genuine = wire;
        // Truncated (shorter than a tag) counts as a failed authentication.
        assert_eq!(
            b_rx.read_message_in_place(&mut wire[..TAG_LEN - 1]),
            Err(TransportError::Decrypt)
        );
        assert!(b_rx.is_broken());
        let mut again = genuine;
        assert_eq!(
            b_rx.read_message_in_place(&mut again[..n]),
            Err(TransportError::Broken)
        );
        assert_eq!(again, genuine, "a broken half does not touch the buffer");
    }

    #[test]
    fn caller_errors_do_not_break_the_stream() {
        let (mut a, mut b) = pair(Config::default(), AeadAlgorithm::ChaCha20Poly1305);
        let mut wire = [0u8; 64];
        let n = a.write_message(b"payload", &mut wire).unwrap();
        let mut small = [0u8; 3];
        assert!(matches!(
            b.read_message(&wire[..n], &mut small),
            Err(TransportError::BufferTooSmall(_))
        ));
        let big = [0u8; MAX_MESSAGE_LEN + 1];
        let mut out = [0u8; 64];
        assert!(matches!(
            b.read_message(&big, &mut out),
            Err(TransportError::MessageTooLong { .. })
        ));
        assert!(!b.is_broken());
        assert_eq!(b.read_message(&wire[..n], &mut out), Ok(7));
    }

    #[test]
    fn manual_rekey() {
        let (mut a, mut b) = pair(Config::default(), AeadAlgorithm::ChaCha20Poly1305);
        a.rekey_outgoing();
        b.rekey_incoming();
        let mut wire = [0u8; 32];
        let n = a.write_message(b"y", &mut wire).unwrap();
        let mut out = [0u8; 4];
        assert_eq!(b.read_message(&wire[..n], &mut out), Ok(1));
        assert_eq!(out[0], b'y');
        send_recv(&mut b, &mut a, b"other direction untouched").unwrap();
        // A rekey on one side only: the next message fails and breaks the
        // receiver.
        a.rekey_outgoing();
        let n = a.write_message(b"z", &mut wire).unwrap();
        assert_eq!(
            b.read_message(&wire[..n], &mut out),
            Err(TransportError::Decrypt)
        );
        assert_eq!(b.receiving_nonce(), 1);
        assert!(b.is_broken());
    }

    #[test]
    fn epochs_arithmetic() {
        let e = Epochs::new(Some(0));
        assert_eq!(e.of(5), 5);
        let e = Epochs::new(Some(10));
        assert_eq!((e.of(9), e.of(10)), (0, 1));
        assert_eq!(e.next_boundary(0), Some(10));
        assert_eq!(e.next_boundary(10), Some(20));
        assert_eq!(e.next_boundary(u64::MAX - 3), None);
        let none = Epochs::new(None);
        assert_eq!((none.of(u64::MAX), none.next_boundary(0)), (0, None));
        // Largest boundary below the reserved nonce is still usable.
        let big = Epochs::new(Some(u64::MAX / 2));
        assert_eq!(big.next_boundary(0), Some(u64::MAX / 2));
        assert_eq!(big.next_boundary(u64::MAX / 2), Some(u64::MAX - 1));
        // The division-free walk agrees with next_boundary everywhere.
        for e in [Epochs::new(Some(1)), Epochs::new(Some(10)), big, none] {
            assert_eq!(e.first_boundary(), e.next_boundary(0).unwrap_or(u64::MAX));
            let mut b = e.first_boundary();
            for _ in 0..5 {
                if b == u64::MAX {
                    break;
                }
                assert_eq!(e.after(b), e.next_boundary(b).unwrap_or(u64::MAX));
                b = e.after(b);
            }
        }
        assert_eq!(big.after(u64::MAX / 2), u64::MAX - 1);
        assert_eq!(big.after(u64::MAX - 1), u64::MAX);
    }
}
