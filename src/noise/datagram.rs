//! The Noise transport phase over an unreliable datagram network: explicit
//! 64-bit nonces (spec rev 34, section 11.4), a sliding replay window
//! ([`ReplayWindow`], 2048 packets), and automatic rekey on message count
//! or time.
//!
//! [`DatagramTransport::write_message`] returns the nonce it used; the caller
//! carries it next to the ciphertext (in the framing module's datagram
//! header). [`DatagramTransport::read_message`] takes that nonce back and
//! runs: key selection → replay check (pure) → decrypt → commit to the
//! window. A packet that fails any step changes nothing.
//!
//! # Rekey policy and how both peers stay in sync
//!
//! Keys change at fixed *epochs* of the nonce space: with epoch length `L`,
//! the datagram with nonce `n` is sealed under `REKEY^(n / L)(k)` (spec 11.3
//! `REKEY`). `L` is [`RekeyPolicy::after_messages`], or
//! [`TIME_ONLY_EPOCH_LEN`] when only [`RekeyPolicy::after_time`] is set. No
//! message is exchanged: the receiver reads the epoch off each packet's
//! explicit nonce. Both peers must use the same `L` (same `after_messages`,
//! and both or neither with `after_time`).
//!
//! * Count: after `L` datagrams the sender's nonce enters the next epoch and
//!   it rekeys.
//! * Time: [`poll_timeout`](DatagramTransport::poll_timeout) returns when
//!   `after_time` has passed since the last time-triggered switch;
//!   [`handle_timeout`](DatagramTransport::handle_timeout) then moves the
//!   sender's nonce forward to the start of the next epoch and rekeys (the
//!   skipped nonces are never used; the nonce space is 2^64). The receiver
//!   follows on the first datagram of the new epoch.
//!
//! In-flight datagrams across a boundary: the receiver keeps the previous
//! epoch's key, with that epoch's own replay window, as well as the current
//! one, so a datagram sealed just before a switch and delivered after the
//! first datagrams of the new epoch still opens (if it is within
//! [`REPLAY_WINDOW`](super::replay::REPLAY_WINDOW) of the highest nonce seen
//! in its epoch), even though a time-triggered switch skipped far ahead in
//! the nonce space. Each nonce belongs to exactly one epoch and each epoch
//! has one window, so a duplicate is always caught. Datagrams two or more
//! epochs old are refused ([`TransportError::UnknownEpoch`]). A
//! receiver that lost every datagram of some epochs catches up over at most
//! [`MAX_EPOCH_SKIP`] epochs at once; each skipped epoch costs one `REKEY`
//! and one key setup, so a forged datagram claiming a far epoch costs the
//! receiver at most that many before it fails authentication (and changes
//! nothing). Keys older than the previous epoch are dropped (raw bytes
//! zeroized; see [`cipher`](super::cipher) about ring's key schedule).
//! Keeping the previous key means a key compromised now also exposes the
//! epoch before it, one epoch more than a receiver that drops keys at once.
//!
//! The default policy is no automatic rekey: plain Noise with explicit
//! nonces, as snow's `StatelessTransportState` does it (snow keeps no replay
//! window; this one does).
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use hyperport::crypto::{AeadAlgorithm, Digest, Ring};
//! use hyperport::noise::cipher::SplitKeys;
//! use hyperport::noise::datagram::{Config, DatagramTransport};
//! use hyperport::noise::replay::ReplayError;
//! use hyperport::noise::transport::TransportError;
//! use hyperport::Instant;
//!
//! let h = Digest::from_slice(&[0u8; 32]);
//! let alg = AeadAlgorithm::ChaCha20Poly1305;
//! let now = Instant::ZERO;
//! let cfg = Config::default();
//! let mut a = DatagramTransport::<Ring>::new(
//!     SplitKeys::new([1; 32], [2; 32], alg, h.clone(), true), cfg, now);
//! let mut b = DatagramTransport::<Ring>::new(
//!     SplitKeys::new([1; 32], [2; 32], alg, h, false), cfg, now);
//!
//! let mut p1 = [0u8; 64];
//! let mut p2 = [0u8; 64];
//! let (n1, l1) = a.write_message(b"first", &mut p1)?;
//! let (n2, l2) = a.write_message(b"second", &mut p2)?;
//! let mut out = [0u8; 64];
//! // Delivered out of order: fine.
//! assert_eq!(b.read_message(n2, &p2[..l2], &mut out)?, 6);
//! assert_eq!(b.read_message(n1, &p1[..l1], &mut out)?, 5);
//! // Delivered twice: refused before decryption.
//! assert_eq!(
//!     b.read_message(n1, &p1[..l1], &mut out),
//!     Err(TransportError::Replay(ReplayError::Duplicate))
//! );
//! # }
//! # Ok::<(), hyperport::noise::transport::TransportError>(())
//! ```

use core::fmt;

use super::cipher::{CipherError, CipherState, RESERVED_NONCE, SplitKeys};
use super::replay::ReplayError;
use super::replay::ReplayWindow;
use super::transport::{Epochs, MAX_EPOCH_SKIP, Sender, TransportError, check_open};
use crate::crypto::{Digest, Provider};
use crate::time::{Duration, Instant, Monotonic, Timed};

/// Epoch length (in nonces) used when only [`RekeyPolicy::after_time`] is
/// set: large enough that count never triggers first in practice (2^32
/// datagrams), small enough that 2^32 time-triggered switches fit in the
/// nonce space.
pub const TIME_ONLY_EPOCH_LEN: u64 = 1 << 32;

/// When the sending key changes on its own (module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RekeyPolicy {
    /// Epoch length: rekey after this many nonces. `Some(0)` counts as
    /// `Some(1)`. Must be equal on both peers. Default `None`.
    pub after_messages: Option<u64>,
    /// Switch to the next epoch at least this often (driven by
    /// `handle_timeout`). `Some(0)` counts as one microsecond. Default
    /// `None`.
    pub after_time: Option<Duration>,
}

impl RekeyPolicy {
    fn epochs(self) -> Epochs {
        Epochs::new(
            self.after_messages
                .or(self.after_time.map(|_| TIME_ONLY_EPOCH_LEN)),
        )
    }
}

/// Datagram transport configuration.
///
/// Memory does not depend on it: a [`DatagramTransport`] holds at most
/// three keyed AEADs (send, receive, previous receive) and two replay
/// windows of about 280 bytes each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Automatic rekey; default: none (plain Noise).
    pub rekey: RekeyPolicy,
}

/// The sending half of a [`DatagramTransport`]; owns its key, nonce and
/// rekey timer (`Send` when the provider's key type is).
pub struct DatagramSendHalf<P: Provider> {
    inner: Sender<P>,
    period: Option<Duration>,
    deadline: Option<Instant>,
    clock: Monotonic,
}

/// The receiving half of a [`DatagramTransport`]; owns its keys and replay
/// window.
pub struct DatagramRecvHalf<P: Provider> {
    current: EpochKey<P>,
    previous: Option<EpochKey<P>>,
    key_epoch: u64,
    epochs: Epochs,
}

/// One epoch's receiving key and its own replay window (an epoch's nonces
/// belong to it alone, so per-epoch windows never miss a duplicate).
struct EpochKey<P: Provider> {
    cipher: CipherState<P>,
    window: ReplayWindow,
}

impl<P: Provider> EpochKey<P> {
    fn new(cipher: CipherState<P>) -> Self {
        EpochKey {
            cipher,
            window: ReplayWindow::new(),
        }
    }

    /// Replay check, decrypt at `nonce`, commit: all or nothing.
    fn open(
        &mut self,
        nonce: u64,
        decrypt: impl FnOnce(&mut CipherState<P>) -> Result<usize, CipherError>,
    ) -> Result<usize, TransportError> {
        self.window.check(nonce)?;
        self.cipher.set_nonce(nonce);
        let len = decrypt(&mut self.cipher)?;
        self.window.commit(nonce);
        Ok(len)
    }
}

impl<P: Provider> fmt::Debug for DatagramSendHalf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramSendHalf")
            .field("nonce", &self.inner.nonce())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<P: Provider> fmt::Debug for DatagramRecvHalf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramRecvHalf")
            .field("key_epoch", &self.key_epoch)
            .field("highest_nonce", &self.highest_nonce())
            .finish_non_exhaustive()
    }
}

impl<P: Provider> DatagramSendHalf<P> {
    /// Encrypts `payload` under the next nonce into `out`; returns
    /// `(nonce, length)`. Send the nonce with the packet.
    ///
    /// # Errors
    /// [`TransportError::NonceExhausted`], [`TransportError::MessageTooLong`],
    /// [`TransportError::BufferTooSmall`]; `out` and the state are unchanged.
    pub fn write_message(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(u64, usize), TransportError> {
        self.inner.seal(payload, out)
    }

    /// In-place [`write_message`](Self::write_message): the payload is
    /// `buf[..payload_len]`; the packet body replaces it in `buf[..length]`.
    ///
    /// # Errors
    /// As [`write_message`](Self::write_message); `buf` is then unchanged.
    pub fn write_message_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<(u64, usize), TransportError> {
        self.inner.seal_in_place(buf, payload_len)
    }

    /// The nonce the next datagram will carry.
    pub fn nonce(&self) -> u64 {
        self.inner.nonce()
    }

    /// Spec `Rekey()` of the current sending key (section 11.3). Unlike the
    /// policy's epochs, the peer cannot see this: it must call
    /// [`DatagramRecvHalf::rekey`] itself, and datagrams in flight across the
    /// change are lost. Prefer [`RekeyPolicy`].
    pub fn rekey(&mut self) {
        self.inner.rekey();
    }
}

impl<P: Provider> Timed for DatagramSendHalf<P> {
    /// When `after_time` is set: the instant of the next time-triggered key
    /// switch.
    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Switches to the next key epoch if the deadline passed, and sets the
    /// next deadline `after_time` later. Near nonce exhaustion, where no
    /// later epoch exists, only the deadline moves.
    fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        let (Some(deadline), Some(period)) = (self.deadline, self.period) else {
            return;
        };
        if now < deadline {
            return;
        }
        self.inner.jump();
        let next = now.saturating_add(period);
        // At Instant::MAX there is no later instant: stop the timer rather
        // than hand out a deadline that does not move.
        self.deadline = (next > now).then_some(next);
    }
}

impl<P: Provider> DatagramRecvHalf<P> {
    /// Authenticates and decrypts the datagram that carried `nonce`, writing
    /// the payload into `out`; returns its length.
    ///
    /// # Errors
    /// [`TransportError::Replay`] (duplicate, too old, reserved nonce),
    /// [`TransportError::UnknownEpoch`], [`TransportError::MessageTooLong`],
    /// [`TransportError::BufferTooSmall`] before any decryption;
    /// [`TransportError::Decrypt`] (the first `ciphertext.len() - 16` bytes
    /// of `out` are zeroed). Keys and replay window are unchanged.
    pub fn read_message(
        &mut self,
        nonce: u64,
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TransportError> {
        check_open(ciphertext.len(), out.len())?;
        self.open(nonce, |cs| cs.decrypt_with_ad(&[], ciphertext, out))
    }

    /// In-place [`read_message`](Self::read_message): `buf` is exactly the
    /// datagram body; on success `buf[..returned]` is the payload.
    ///
    /// # Errors
    /// As [`read_message`](Self::read_message); on
    /// [`TransportError::Decrypt`] the payload part of `buf` is zeroed.
    pub fn read_message_in_place(
        &mut self,
        nonce: u64,
        buf: &mut [u8],
    ) -> Result<usize, TransportError> {
        check_open(buf.len(), buf.len())?;
        self.open(nonce, |cs| cs.decrypt_in_place(&[], buf))
    }

    fn open(
        &mut self,
        nonce: u64,
        decrypt: impl FnOnce(&mut CipherState<P>) -> Result<usize, CipherError>,
    ) -> Result<usize, TransportError> {
        if nonce == RESERVED_NONCE {
            return Err(ReplayError::Reserved.into());
        }
        let epoch = self.epochs.of(nonce);
        if epoch == self.key_epoch {
            return self.current.open(nonce, decrypt);
        }
        if epoch < self.key_epoch {
            return match self.previous.as_mut() {
                Some(prev) if epoch.checked_add(1) == Some(self.key_epoch) => {
                    prev.open(nonce, decrypt)
                }
                _ => Err(TransportError::UnknownEpoch { nonce }),
            };
        }
        let skip = epoch.wrapping_sub(self.key_epoch);
        if skip > MAX_EPOCH_SKIP {
            return Err(TransportError::UnknownEpoch { nonce });
        }
        // Derive the keys of epochs key_epoch+1 ..= epoch; adopt them only
        // if the datagram authenticates.
        let mut before = None;
        let mut next = self.current.cipher.rekeyed();
        for _ in 1..skip {
            let after = next.rekeyed();
            before = Some(next);
            next = after;
        }
        let mut next = EpochKey::new(next);
        let len = next.open(nonce, decrypt)?;
        let old = core::mem::replace(&mut self.current, next);
        self.previous = Some(before.map_or(old, EpochKey::new));
        self.key_epoch = epoch;
        Ok(len)
    }

    /// The highest nonce accepted so far.
    pub fn highest_nonce(&self) -> Option<u64> {
        self.current
            .window
            .highest()
            .or(self.previous.as_ref().and_then(|p| p.window.highest()))
    }

    /// Spec `Rekey()` of the current receiving key, to match the peer's
    /// [`DatagramSendHalf::rekey`]. The previous epoch's key is dropped.
    pub fn rekey(&mut self) {
        self.current.cipher.rekey();
        self.previous = None;
    }
}

/// A Noise transport over datagrams (module docs).
pub struct DatagramTransport<P: Provider> {
    send: DatagramSendHalf<P>,
    recv: DatagramRecvHalf<P>,
    handshake_hash: Digest,
    is_initiator: bool,
}

impl<P: Provider> fmt::Debug for DatagramTransport<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramTransport")
            .field("is_initiator", &self.is_initiator)
            .field("send", &self.send)
            .field("recv", &self.recv)
            .finish_non_exhaustive()
    }
}

impl<P: Provider> DatagramTransport<P> {
    /// The transport for the local side of a finished handshake; `now`
    /// starts the time-based rekey timer. The key bytes in `keys` are
    /// zeroized when consumed here.
    pub fn new(keys: SplitKeys, config: Config, now: Instant) -> Self {
        let epochs = config.rekey.epochs();
        let period = config
            .rekey
            .after_time
            .map(|d| d.max(Duration::from_micros(1)));
        let handshake_hash = keys.handshake_hash().clone();
        let is_initiator = keys.is_initiator();
        let (send, recv) = keys.into_cipher_states::<P>();
        let mut clock = Monotonic::new();
        let now = clock.observe(now);
        DatagramTransport {
            send: DatagramSendHalf {
                inner: Sender::new(send, epochs),
                period,
                deadline: period.map(|p| now.saturating_add(p)),
                clock,
            },
            recv: DatagramRecvHalf {
                current: EpochKey::new(recv),
                previous: None,
                key_epoch: 0,
                epochs,
            },
            handshake_hash,
            is_initiator,
        }
    }

    /// See [`DatagramSendHalf::write_message`].
    ///
    /// # Errors
    /// As [`DatagramSendHalf::write_message`].
    pub fn write_message(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(u64, usize), TransportError> {
        self.send.write_message(payload, out)
    }

    /// See [`DatagramSendHalf::write_message_in_place`].
    ///
    /// # Errors
    /// As [`DatagramSendHalf::write_message_in_place`].
    pub fn write_message_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<(u64, usize), TransportError> {
        self.send.write_message_in_place(buf, payload_len)
    }

    /// See [`DatagramRecvHalf::read_message`].
    ///
    /// # Errors
    /// As [`DatagramRecvHalf::read_message`].
    pub fn read_message(
        &mut self,
        nonce: u64,
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TransportError> {
        self.recv.read_message(nonce, ciphertext, out)
    }

    /// See [`DatagramRecvHalf::read_message_in_place`].
    ///
    /// # Errors
    /// As [`DatagramRecvHalf::read_message_in_place`].
    pub fn read_message_in_place(
        &mut self,
        nonce: u64,
        buf: &mut [u8],
    ) -> Result<usize, TransportError> {
        self.recv.read_message_in_place(nonce, buf)
    }

    /// The handshake hash `h` (spec section 11.2, channel binding).
    pub fn handshake_hash(&self) -> &Digest {
        &self.handshake_hash
    }

    /// Whether the local side initiated the handshake.
    pub fn is_initiator(&self) -> bool {
        self.is_initiator
    }

    /// The nonce the next datagram sent will carry.
    pub fn sending_nonce(&self) -> u64 {
        self.send.nonce()
    }

    /// See [`DatagramSendHalf::rekey`].
    pub fn rekey_outgoing(&mut self) {
        self.send.rekey();
    }

    /// See [`DatagramRecvHalf::rekey`].
    pub fn rekey_incoming(&mut self) {
        self.recv.rekey();
    }

    /// Splits into independently owned halves (sender task, receiver task).
    pub fn split(self) -> (DatagramSendHalf<P>, DatagramRecvHalf<P>) {
        (self.send, self.recv)
    }

    #[cfg(test)]
    fn set_sending_nonce_for_test(&mut self, n: u64) {
        self.send.inner.set_nonce_for_test(n);
    }
}

impl<P: Provider> Timed for DatagramTransport<P> {
    /// See [`DatagramSendHalf::poll_timeout`](Timed::poll_timeout).
    fn poll_timeout(&self) -> Option<Instant> {
        self.send.poll_timeout()
    }

    /// See [`DatagramSendHalf::handle_timeout`](Timed::handle_timeout).
    fn handle_timeout(&mut self, now: Instant) {
        self.send.handle_timeout(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{AeadAlgorithm, DefaultProvider as P};
    use crate::noise::cipher::TAG_LEN;
    use crate::noise::replay::REPLAY_WINDOW;

    type T = DatagramTransport<P>;

    fn pair(config: Config) -> (T, T) {
        let h = Digest::from_slice(&[9; 32]);
        let alg = AeadAlgorithm::ChaCha20Poly1305;
        (
            T::new(
                SplitKeys::new([1; 32], [2; 32], alg, h.clone(), true),
                config,
                Instant::ZERO,
            ),
            T::new(
                SplitKeys::new([1; 32], [2; 32], alg, h, false),
                config,
                Instant::ZERO,
            ),
        )
    }

    #[derive(Clone, Copy)]
    struct Pkt {
        nonce: u64,
        len: usize,
        buf: [u8; 64],
    }

    fn seal(t: &mut T, msg: &[u8]) -> Pkt {
        let mut buf = [0u8; 64];
        let (nonce, len) = t.write_message(msg, &mut buf).unwrap();
        Pkt { nonce, len, buf }
    }

    fn open(t: &mut T, p: &Pkt) -> Result<usize, TransportError> {
        let mut out = [0u8; 64];
        t.read_message(p.nonce, &p.buf[..p.len], &mut out)
    }

    #[test]
    fn halves_are_send() {
        fn is_send<X: Send>() {}
        is_send::<DatagramSendHalf<P>>();
        is_send::<DatagramRecvHalf<P>>();
    }

    #[test]
    fn reorder_replay_and_tamper() {
        let (mut a, mut b) = pair(Config::default());
        let pkts: [Pkt; 6] = core::array::from_fn(|i| seal(&mut a, &[i as u8; 10]));
        for i in [3, 0, 5, 1, 4, 2] {
            assert_eq!(open(&mut b, &pkts[i]), Ok(10));
        }
        for p in &pkts {
            assert_eq!(
                open(&mut b, p),
                Err(TransportError::Replay(ReplayError::Duplicate))
            );
        }
        let p = seal(&mut a, b"fresh");
        let mut bad = p;
        bad.buf[2] ^= 4;
        let window = b.recv.current.window.clone();
        assert_eq!(open(&mut b, &bad), Err(TransportError::Decrypt));
        // Wrong nonce for the ciphertext: fails, does not burn the nonce.
        let wrong = Pkt {
            nonce: p.nonce + 1,
            ..p
        };
        assert_eq!(open(&mut b, &wrong), Err(TransportError::Decrypt));
        assert!(
            b.recv.current.window == window,
            "failures leave the window alone"
        );
        assert_eq!(open(&mut b, &p), Ok(5));
        assert_eq!(
            b.read_message(RESERVED_NONCE, &p.buf[..p.len], &mut [0; 64]),
            Err(TransportError::Replay(ReplayError::Reserved))
        );
    }

    #[test]
    fn too_old() {
        let (mut a, mut b) = pair(Config::default());
        let old = seal(&mut a, b"old");
        a.set_sending_nonce_for_test(REPLAY_WINDOW);
        let new = seal(&mut a, b"new");
        assert_eq!(open(&mut b, &new), Ok(3));
        assert_eq!(
            open(&mut b, &old),
            Err(TransportError::Replay(ReplayError::TooOld))
        );
    }

    #[test]
    fn exhaustion() {
        let (mut a, mut b) = pair(Config::default());
        a.set_sending_nonce_for_test(RESERVED_NONCE - 2);
        let p1 = seal(&mut a, b"1");
        let p2 = seal(&mut a, b"2");
        assert_eq!(
            (p1.nonce, p2.nonce),
            (RESERVED_NONCE - 2, RESERVED_NONCE - 1)
        );
        assert_eq!(
            a.write_message(b"3", &mut [0; 64]),
            Err(TransportError::NonceExhausted)
        );
        assert_eq!(open(&mut b, &p2), Ok(1));
        assert_eq!(open(&mut b, &p1), Ok(1));
    }

    #[test]
    fn count_rekey_with_in_flight_datagrams() {
        let cfg = Config {
            rekey: RekeyPolicy {
                after_messages: Some(4),
                after_time: None,
            },
        };
        let (mut a, mut b) = pair(cfg);
        let pkts: [Pkt; 12] = core::array::from_fn(|i| seal(&mut a, &[i as u8; 3]));
        // Epoch 1 first, then a late epoch-0 datagram (previous key), then
        // epoch 2, then epoch 0 again: two epochs old, refused.
        assert_eq!(open(&mut b, &pkts[5]), Ok(3));
        assert_eq!(open(&mut b, &pkts[3]), Ok(3));
        assert_eq!(open(&mut b, &pkts[8]), Ok(3));
        assert_eq!(open(&mut b, &pkts[6]), Ok(3));
        assert_eq!(
            open(&mut b, &pkts[2]),
            Err(TransportError::UnknownEpoch { nonce: 2 })
        );
        assert_eq!(open(&mut b, &pkts[11]), Ok(3));
        // Independent check: nonce 9 sealed under c1 rekeyed twice.
        let mut k = CipherState::<P>::with_key(AeadAlgorithm::ChaCha20Poly1305, &[1; 32]);
        k.rekey();
        k.rekey();
        k.set_nonce(9);
        let mut expect = [0u8; 3 + TAG_LEN];
        k.encrypt_with_ad(&[], &[9; 3], &mut expect).unwrap();
        assert_eq!(pkts[9].buf[..pkts[9].len], expect);
    }

    #[test]
    fn epoch_skip_bound() {
        let cfg = Config {
            rekey: RekeyPolicy {
                after_messages: Some(2),
                after_time: None,
            },
        };
        let (mut a2, mut b) = pair(cfg);
        let mut pkts = [0u8; 64];
        let mut last = None;
        for _ in 0..=2 * (MAX_EPOCH_SKIP + 1) {
            last = Some(a2.write_message(b"x", &mut pkts).unwrap());
        }
        let (n, len) = last.unwrap();
        assert_eq!(n, 2 * (MAX_EPOCH_SKIP + 1));
        let mut out = [0u8; 8];
        assert_eq!(
            b.read_message(n, &pkts[..len], &mut out),
            Err(TransportError::UnknownEpoch { nonce: n })
        );
        // MAX_EPOCH_SKIP epochs ahead is fine.
        let (mut a3, mut b3) = pair(cfg);
        let mut last = None;
        for _ in 0..=2 * MAX_EPOCH_SKIP {
            last = Some(a3.write_message(b"y", &mut pkts).unwrap());
        }
        let (n, len) = last.unwrap();
        assert_eq!(b3.read_message(n, &pkts[..len], &mut out), Ok(1));
        // ...and the previous epoch's key is the one right before.
        let mut prev = CipherState::<P>::with_key(AeadAlgorithm::ChaCha20Poly1305, &[1; 32]);
        for _ in 0..MAX_EPOCH_SKIP - 1 {
            prev.rekey();
        }
        prev.set_nonce(n - 1);
        let mut w = [0u8; 17];
        prev.encrypt_with_ad(&[], b"z", &mut w).unwrap();
        assert_eq!(b3.read_message(n - 1, &w, &mut out), Ok(1));
    }

    #[test]
    fn time_rekey_follows_without_messages() {
        let period = Duration::from_secs(120);
        let cfg = Config {
            rekey: RekeyPolicy {
                after_messages: None,
                after_time: Some(period),
            },
        };
        let (mut a, mut b) = pair(cfg);
        assert_eq!(a.poll_timeout(), Some(Instant::ZERO + period));
        let p0 = seal(&mut a, b"before");
        // Early call: nothing happens.
        a.handle_timeout(Instant::from_secs(10));
        assert_eq!(a.sending_nonce(), 1);
        let t = a.poll_timeout().unwrap();
        a.handle_timeout(t);
        assert!(
            a.poll_timeout().unwrap() > t,
            "deadline moves strictly later"
        );
        assert_eq!(a.sending_nonce(), TIME_ONLY_EPOCH_LEN);
        let p1 = seal(&mut a, b"after");
        assert_eq!(p1.nonce, TIME_ONLY_EPOCH_LEN);
        assert_eq!(open(&mut b, &p1), Ok(5));
        // The datagram from before the switch arrives late: previous key.
        assert_eq!(open(&mut b, &p0), Ok(6));
        // A clock going backwards is clamped; no spin.
        a.handle_timeout(Instant::ZERO);
        assert_eq!(a.sending_nonce(), TIME_ONLY_EPOCH_LEN + 1);
        // A timeout right at the start of a fresh epoch whose rekey is
        // pending only performs the rekey.
        let cfg2 = Config {
            rekey: RekeyPolicy {
                after_messages: Some(2),
                after_time: Some(period),
            },
        };
        let (mut c, mut d) = pair(cfg2);
        let _ = seal(&mut c, b"0");
        let _ = seal(&mut c, b"1");
        c.handle_timeout(Instant::ZERO + period);
        assert_eq!(c.sending_nonce(), 2);
        let p = seal(&mut c, b"2");
        assert_eq!(open(&mut d, &p), Ok(1));
        // At Instant::MAX the timer stops rather than spin.
        c.handle_timeout(Instant::MAX);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn time_rekey_near_exhaustion_only_moves_the_deadline() {
        let period = Duration::from_secs(1);
        let cfg = Config {
            rekey: RekeyPolicy {
                after_messages: None,
                after_time: Some(period),
            },
        };
        let (mut a, _) = pair(cfg);
        // Inside the last epoch: no later boundary below the reserved nonce.
        let last_epoch = (RESERVED_NONCE / TIME_ONLY_EPOCH_LEN) * TIME_ONLY_EPOCH_LEN;
        a.set_sending_nonce_for_test(last_epoch + 5);
        a.handle_timeout(Instant::ZERO + period);
        assert_eq!(a.sending_nonce(), last_epoch + 5, "no jump possible");
        assert_eq!(a.poll_timeout(), Some(Instant::ZERO + period + period));
        // The key did not change (the test hook made c1 the key of this
        // epoch): the datagram is sealed under c1 at that nonce.
        let p = seal(&mut a, b"x");
        assert_eq!(p.nonce, last_epoch + 5);
        let mut k = CipherState::<P>::with_key(AeadAlgorithm::ChaCha20Poly1305, &[1; 32]);
        k.set_nonce(p.nonce);
        let mut expect = [0u8; 1 + TAG_LEN];
        k.encrypt_with_ad(&[], b"x", &mut expect).unwrap();
        assert_eq!(p.buf[..p.len], expect);
    }

    #[test]
    fn no_policy_no_timer() {
        let (mut a, _) = pair(Config::default());
        assert_eq!(a.poll_timeout(), None);
        a.handle_timeout(Instant::MAX);
        assert_eq!(a.sending_nonce(), 0);
    }
}
