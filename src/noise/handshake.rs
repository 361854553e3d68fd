//! The handshake state machine (`HandshakeState`, Noise spec rev 34,
//! section 5.3) for every pattern of [`pattern`](super::pattern).

use super::builder::{Builder, PSK_LEN};
use super::cipher::{MAX_MESSAGE_LEN, SplitKeys};
use super::error::{FallbackError, HandshakeError};
#[cfg(feature = "mlkem")]
use super::kem::KemKeys;
use super::params::NoiseParams;
use super::pattern::{MAX_PSKS, MAX_TOKENS, PatternKind, PreMessage, Token};
use super::precomputed::StaticStatic;
use super::symmetric::{SymError, SymmetricState};
#[cfg(feature = "mlkem")]
use crate::crypto::mlkem;
use crate::crypto::x25519::{KEY_LEN, KeyPair, SharedSecret};
use crate::crypto::{AEAD_TAG_LEN, Provider};
use crate::error::BufferTooSmall;
use core::fmt;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

/// A Noise handshake in progress, for one side.
///
/// Built by [`Builder`]. Drive it with [`write_message`](Self::write_message)
/// and [`read_message`](Self::read_message) in the order the pattern says
/// ([`is_my_turn`](Self::is_my_turn)), then [`split`](Self::split) it once
/// [`is_finished`](Self::is_finished).
///
/// Every call either succeeds or leaves the state exactly as it was: a
/// forged, truncated or corrupted message is rejected and the handshake can
/// go on with the genuine one. Secrets (static and ephemeral private keys,
/// chaining key, cipher key, PSKs) are zeroized on drop. No allocation:
/// the whole state is one value of about 830 bytes on 64-bit targets (the
/// same for every provider: the handshake keys its AEAD per message), and
/// a read or write uses a copy of the ~170-byte symmetric state on the stack.
pub struct HandshakeState<P: Provider> {
    params: NoiseParams,
    sym: SymmetricState<P>,
    s: Option<KeyPair>,
    e: Option<KeyPair>,
    rs: Option<[u8; KEY_LEN]>,
    re: Option<[u8; KEY_LEN]>,
    psks: [[u8; PSK_LEN]; MAX_PSKS],
    initiator: bool,
    next: usize,
    ss: Option<StaticStatic>,
    reject_low_order: bool,
    #[cfg(feature = "mlkem")]
    kem: KemKeys,
}

impl<P: Provider> Drop for HandshakeState<P> {
    fn drop(&mut self) {
        // `sym`, `s` and `e` zeroize themselves.
        self.psks.zeroize();
    }
}

impl<P: Provider> fmt::Debug for HandshakeState<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeState")
            .field("params", &self.params)
            .field("initiator", &self.initiator)
            .field("next_message", &self.next)
            .finish_non_exhaustive()
    }
}

/// The handshake is not finished yet; the state is handed back unchanged.
pub struct Unfinished<P: Provider>(pub HandshakeState<P>);

impl<P: Provider> fmt::Debug for Unfinished<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unfinished(..)")
    }
}

impl<P: Provider> fmt::Display for Unfinished<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the handshake is not finished: process the remaining messages, then split")
    }
}

impl<P: Provider> core::error::Error for Unfinished<P> {}

/// Which side a token's DH uses.
#[derive(Clone, Copy)]
enum Dh {
    Ee,
    Es,
    Se,
    Ss,
}

impl<P: Provider> HandshakeState<P> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        params: NoiseParams,
        sym: SymmetricState<P>,
        s: Option<KeyPair>,
        e: Option<KeyPair>,
        rs: Option<[u8; KEY_LEN]>,
        re: Option<[u8; KEY_LEN]>,
        psks: [[u8; PSK_LEN]; MAX_PSKS],
        initiator: bool,
        ss: Option<StaticStatic>,
        reject_low_order: bool,
        #[cfg(feature = "mlkem")] kem: KemKeys,
    ) -> Self {
        HandshakeState {
            params,
            sym,
            s,
            e,
            rs,
            re,
            psks,
            initiator,
            next: 0,
            ss,
            reject_low_order,
            #[cfg(feature = "mlkem")]
            kem,
        }
    }

    /// The protocol.
    pub fn params(&self) -> &NoiseParams {
        &self.params
    }

    /// Whether this side sends the first message.
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    /// Whether this side is Alice (the left party of the pattern; differs
    /// from [`is_initiator`](Self::is_initiator) only in `fallback` patterns).
    pub fn is_alice(&self) -> bool {
        self.initiator == self.params.pattern().alice_first()
    }

    /// Index of the next handshake message (0 = first).
    pub fn message_index(&self) -> usize {
        self.next
    }

    /// Whether every handshake message has been written or read.
    pub fn is_finished(&self) -> bool {
        self.next >= self.params.pattern().messages().len()
    }

    /// Whether the next message is this side's to write.
    pub fn is_my_turn(&self) -> bool {
        !self.is_finished() && self.params.pattern().alice_sends(self.next) == self.is_alice()
    }

    /// The peer's static public key, once known (given in advance or
    /// received and authenticated so far).
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.rs.as_ref()
    }

    /// The peer's static ML-KEM-768 public key, once known (post-quantum
    /// patterns; given in advance or received and authenticated so far).
    #[cfg(feature = "mlkem")]
    pub fn remote_static_kem(&self) -> Option<&mlkem::PublicKey> {
        self.kem.rs.as_ref()
    }

    /// The local ephemeral public key, if this side has one.
    pub fn local_ephemeral_public(&self) -> Option<&[u8; KEY_LEN]> {
        self.e.as_ref().map(|e| e.public())
    }

    /// The handshake hash `h` so far; after the last message, the value for
    /// channel binding (spec section 11.2).
    pub fn handshake_hash(&self) -> &[u8] {
        self.sym.handshake_hash().as_bytes()
    }

    /// Bytes of keys and tags the next message carries around a payload,
    /// with `has_key` the cipher state before it.
    fn overhead(&self, index: usize, mut has_key: bool) -> usize {
        let pattern = self.params.pattern();
        let psk = pattern.is_psk();
        let kind = pattern.kind();
        let mut n = 0usize;
        if let Some(m) = pattern.messages().get(index) {
            for t in m.tokens() {
                match t {
                    Token::E => {
                        n = n.saturating_add(e_len(kind));
                        has_key |= psk;
                    }
                    Token::S => {
                        n = n.saturating_add(s_len(kind));
                        if has_key {
                            n = n.saturating_add(AEAD_TAG_LEN.saturating_mul(s_parts(kind)));
                        }
                    }
                    Token::EE | Token::ES | Token::SE | Token::SS | Token::Psk => has_key = true,
                    #[cfg(feature = "mlkem")]
                    Token::Ekem => {
                        n = n.saturating_add(mlkem::CIPHERTEXT_LEN);
                        has_key = true;
                    }
                    #[cfg(feature = "mlkem")]
                    Token::Skem => {
                        n = n.saturating_add(mlkem::CIPHERTEXT_LEN);
                        if has_key {
                            n = n.saturating_add(AEAD_TAG_LEN);
                        }
                        has_key = true;
                    }
                }
            }
        }
        if has_key {
            n = n.saturating_add(AEAD_TAG_LEN);
        }
        n
    }

    /// Length of the next message this side writes with a payload of
    /// `payload_len` bytes, or `None` if it is not this side's turn.
    pub fn message_len(&self, payload_len: usize) -> Option<usize> {
        if !self.is_my_turn() {
            return None;
        }
        Some(
            self.overhead(self.next, self.sym.has_key())
                .saturating_add(payload_len),
        )
    }

    fn turn_check(&self, writing: bool) -> Result<(), HandshakeError> {
        if self.is_finished() {
            return Err(HandshakeError::Finished);
        }
        if self.is_my_turn() != writing {
            return Err(HandshakeError::NotMyTurn);
        }
        Ok(())
    }

    fn dh(
        &self,
        which: Dh,
        re: Option<&[u8; KEY_LEN]>,
        rs: Option<&[u8; KEY_LEN]>,
    ) -> Result<SharedSecret, HandshakeError> {
        let alice = self.is_alice();
        // Tokens name Alice's key first (rev 34): `es` = Alice's e, Bob's s.
        let (mine, theirs) = match (which, alice) {
            (Dh::Ee, _) => (self.e.as_ref(), re),
            (Dh::Ss, _) => (self.s.as_ref(), rs),
            (Dh::Es, true) | (Dh::Se, false) => (self.e.as_ref(), rs),
            (Dh::Es, false) | (Dh::Se, true) => (self.s.as_ref(), re),
        };
        let secret = match (mine, theirs) {
            (Some(k), Some(p)) => match (which, self.ss.as_ref()) {
                (Dh::Ss, Some(pre)) => match pre.for_pair(k.public(), p) {
                    Some(secret) => secret.clone(),
                    None => P::x25519(k, p),
                },
                _ => P::x25519(k, p),
            },
            _ => return Err(HandshakeError::MissingKey),
        };
        // Spec 12.1 allows signalling an error for the all-zero output of
        // a low-order peer key; on by default (Builder docs).
        if self.reject_low_order && secret.is_zero() {
            return Err(HandshakeError::LowOrderKey);
        }
        Ok(secret)
    }

    fn psk_position(index: usize, token_index: usize) -> usize {
        if index == 0 && token_index == 0 {
            0
        } else {
            index.saturating_add(1)
        }
    }

    /// Writes the next handshake message, carrying `payload`, into `out`;
    /// returns its length.
    ///
    /// # Errors
    /// [`HandshakeError::NotMyTurn`], [`HandshakeError::Finished`],
    /// [`HandshakeError::MessageTooLong`] (over 65535 bytes),
    /// [`HandshakeError::BufferTooSmall`] (see
    /// [`message_len`](Self::message_len)). Nothing is written and nothing
    /// changes on error.
    pub fn write_message(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, HandshakeError> {
        self.turn_check(true)?;
        let index = self.next;
        let len = self
            .overhead(index, self.sym.has_key())
            .saturating_add(payload.len());
        if len > MAX_MESSAGE_LEN {
            return Err(HandshakeError::MessageTooLong { len });
        }
        if out.len() < len {
            return Err(BufferTooSmall {
                needed: len,
                available: out.len(),
            }
            .into());
        }
        let mut sym = self.sym.clone();
        let pattern = *self.params.pattern();
        let psk = pattern.is_psk();
        let kind = pattern.kind();
        let tokens = pattern
            .messages()
            .get(index)
            .map(|m| m.tokens())
            .unwrap_or(&[]);
        // Every DH of the message first, so that a missing or low-order key
        // fails before a byte of `out` is written (the keys they use are all
        // known before the message: local ones, and the peer's from earlier
        // messages or pre-messages). Likewise the keys and randomness of the
        // encapsulations are checked here.
        let mut dhs: [Option<SharedSecret>; MAX_TOKENS] = core::array::from_fn(|_| None);
        #[cfg(feature = "mlkem")]
        let mut encapsulations = 0usize;
        for (slot, t) in dhs.iter_mut().zip(tokens.iter()) {
            *slot = match t {
                Token::EE => Some(self.dh(Dh::Ee, self.re.as_ref(), None)?),
                Token::ES => Some(self.dh(Dh::Es, self.re.as_ref(), self.rs.as_ref())?),
                Token::SE => Some(self.dh(Dh::Se, self.re.as_ref(), self.rs.as_ref())?),
                Token::SS => Some(self.dh(Dh::Ss, None, self.rs.as_ref())?),
                Token::E | Token::S | Token::Psk => None,
                #[cfg(feature = "mlkem")]
                Token::Ekem | Token::Skem => {
                    let peer = if *t == Token::Ekem {
                        self.kem.re.is_some()
                    } else {
                        self.kem.rs.is_some()
                    };
                    if !peer || self.kem.seed(encapsulations).is_none() {
                        return Err(HandshakeError::MissingKey);
                    }
                    encapsulations = encapsulations.saturating_add(1);
                    None
                }
            };
        }
        #[cfg(feature = "mlkem")]
        let mut used = 0usize;
        let mut at = 0usize;
        for ((ti, t), dh) in tokens.iter().enumerate().zip(dhs.iter()) {
            match t {
                Token::E => {
                    if kind.has_dh() {
                        let e = *self.e.as_ref().ok_or(HandshakeError::MissingKey)?.public();
                        put(out, &mut at, &e)?;
                        sym.mix_hash(&e);
                        if psk {
                            sym.mix_key(&e);
                        }
                    }
                    #[cfg(feature = "mlkem")]
                    if kind.has_kem() {
                        let e = self.kem.e.as_ref().ok_or(HandshakeError::MissingKey)?;
                        let e = e.public_bytes();
                        put(out, &mut at, e)?;
                        sym.mix_hash(e);
                        if psk {
                            sym.mix_key(e);
                        }
                    }
                }
                Token::S => {
                    if kind.has_dh() {
                        let s = *self.s.as_ref().ok_or(HandshakeError::MissingKey)?.public();
                        encrypt_put(&mut sym, out, &mut at, &s)?;
                    }
                    #[cfg(feature = "mlkem")]
                    if kind.has_kem() {
                        let s = self.kem.s.as_ref().ok_or(HandshakeError::MissingKey)?;
                        encrypt_put(&mut sym, out, &mut at, s.public_bytes())?;
                    }
                }
                Token::EE | Token::ES | Token::SE | Token::SS => {
                    sym.mix_key(dh.as_ref().ok_or(HandshakeError::MissingKey)?.as_bytes());
                }
                Token::Psk => {
                    let k = self
                        .psks
                        .get(Self::psk_position(index, ti))
                        .ok_or(HandshakeError::MissingKey)?;
                    sym.mix_key_and_hash(k);
                }
                #[cfg(feature = "mlkem")]
                Token::Ekem => {
                    // PQNoise `ekem`: the ciphertext in the clear, then
                    // MixHash(ct), MixKey(ss).
                    let re = self.kem.re.as_ref().ok_or(HandshakeError::MissingKey)?;
                    let m = self.kem.seed(used).ok_or(HandshakeError::MissingKey)?;
                    let (ct, ss) = P::mlkem768_encapsulate(re, m);
                    used = used.saturating_add(1);
                    put(out, &mut at, ct.as_bytes())?;
                    sym.mix_hash(ct.as_bytes());
                    sym.mix_key(ss.as_bytes());
                }
                #[cfg(feature = "mlkem")]
                Token::Skem => {
                    // PQNoise `skem`: EncryptAndHash(ct), MixKeyAndHash(ss).
                    let rs = self.kem.rs.as_ref().ok_or(HandshakeError::MissingKey)?;
                    let m = self.kem.seed(used).ok_or(HandshakeError::MissingKey)?;
                    let (ct, ss) = P::mlkem768_encapsulate(rs, m);
                    used = used.saturating_add(1);
                    encrypt_put(&mut sym, out, &mut at, ct.as_bytes())?;
                    sym.mix_key_and_hash(ss.as_bytes());
                }
            }
        }
        let n = if sym.has_key() {
            payload.len().saturating_add(AEAD_TAG_LEN)
        } else {
            payload.len()
        };
        let end = at.saturating_add(n);
        let dst = out.get_mut(at..end).ok_or(HandshakeError::MissingKey)?;
        if let Some(d) = dst.get_mut(..payload.len()) {
            d.copy_from_slice(payload);
        }
        sym.encrypt_and_hash(dst).map_err(sym_err)?;
        self.sym = sym;
        self.next = index.saturating_add(1);
        #[cfg(feature = "mlkem")]
        {
            self.kem.consume(used);
            // The peer's ephemeral KEM key served its one `ekem`.
            if tokens.contains(&Token::Ekem) {
                self.kem.re = None;
            }
        }
        Ok(end)
    }

    /// Reads the next handshake message from the peer, writing its payload
    /// into `out`; returns the payload length.
    ///
    /// # Errors
    /// [`HandshakeError::NotMyTurn`], [`HandshakeError::Finished`],
    /// [`HandshakeError::MessageTooLong`], [`HandshakeError::MessageTooShort`],
    /// [`HandshakeError::BufferTooSmall`] (nothing written),
    /// [`HandshakeError::Decrypt`] (the payload part of `out` may have been
    /// overwritten with zeros), [`HandshakeError::LowOrderKey`],
    /// [`HandshakeError::InvalidKemKey`]. The handshake state is unchanged
    /// on every error: drop the message and keep reading.
    pub fn read_message(
        &mut self,
        message: &[u8],
        out: &mut [u8],
    ) -> Result<usize, HandshakeError> {
        self.turn_check(false)?;
        let index = self.next;
        if message.len() > MAX_MESSAGE_LEN {
            return Err(HandshakeError::MessageTooLong { len: message.len() });
        }
        let needed = self.overhead(index, self.sym.has_key());
        let payload_len =
            message
                .len()
                .checked_sub(needed)
                .ok_or(HandshakeError::MessageTooShort {
                    needed,
                    len: message.len(),
                })?;
        if out.len() < payload_len {
            return Err(BufferTooSmall {
                needed: payload_len,
                available: out.len(),
            }
            .into());
        }
        let mut sym = self.sym.clone();
        let mut re = self.re;
        let mut rs = self.rs;
        let pattern = *self.params.pattern();
        let psk = pattern.is_psk();
        let kind = pattern.kind();
        // The peer's ML-KEM keys from this message, kept aside until the
        // whole message is accepted.
        #[cfg(feature = "mlkem")]
        let (mut re_kem, mut rs_kem): (Option<mlkem::PublicKey>, Option<mlkem::PublicKey>) =
            (None, None);
        let tokens = pattern
            .messages()
            .get(index)
            .map(|m| m.tokens())
            .unwrap_or(&[]);
        let mut rest = message;
        for (ti, t) in tokens.iter().enumerate() {
            match t {
                Token::E => {
                    if kind.has_dh() {
                        let e: [u8; KEY_LEN] = take(&mut rest, KEY_LEN)?
                            .try_into()
                            .map_err(|_| HandshakeError::MissingKey)?;
                        sym.mix_hash(&e);
                        if psk {
                            sym.mix_key(&e);
                        }
                        re = Some(e);
                    }
                    #[cfg(feature = "mlkem")]
                    if kind.has_kem() {
                        let e = take(&mut rest, mlkem::PUBLIC_KEY_LEN)?;
                        let key =
                            mlkem::PublicKey::from_slice(e).ok_or(HandshakeError::InvalidKemKey)?;
                        sym.mix_hash(e);
                        if psk {
                            sym.mix_key(e);
                        }
                        re_kem = Some(key);
                    }
                }
                Token::S => {
                    if kind.has_dh() {
                        let mut s = [0u8; KEY_LEN];
                        take_decrypt(&mut sym, &mut rest, &mut s)?;
                        rs = Some(s);
                    }
                    #[cfg(feature = "mlkem")]
                    if kind.has_kem() {
                        let mut s = [0u8; mlkem::PUBLIC_KEY_LEN];
                        take_decrypt(&mut sym, &mut rest, &mut s)?;
                        rs_kem = Some(
                            mlkem::PublicKey::from_bytes(&s)
                                .ok_or(HandshakeError::InvalidKemKey)?,
                        );
                    }
                }
                Token::EE => sym.mix_key(self.dh(Dh::Ee, re.as_ref(), None)?.as_bytes()),
                Token::ES => sym.mix_key(self.dh(Dh::Es, re.as_ref(), rs.as_ref())?.as_bytes()),
                Token::SE => sym.mix_key(self.dh(Dh::Se, re.as_ref(), rs.as_ref())?.as_bytes()),
                Token::SS => sym.mix_key(self.dh(Dh::Ss, None, rs.as_ref())?.as_bytes()),
                Token::Psk => {
                    let k = self
                        .psks
                        .get(Self::psk_position(index, ti))
                        .ok_or(HandshakeError::MissingKey)?;
                    sym.mix_key_and_hash(k);
                }
                #[cfg(feature = "mlkem")]
                Token::Ekem => {
                    let ct = take(&mut rest, mlkem::CIPHERTEXT_LEN)?;
                    let e = self.kem.e.as_ref().ok_or(HandshakeError::MissingKey)?;
                    sym.mix_hash(ct);
                    let ct = mlkem::Ciphertext::from_slice(ct).ok_or(HandshakeError::Decrypt)?;
                    sym.mix_key(P::mlkem768_decapsulate(e, &ct).as_bytes());
                }
                #[cfg(feature = "mlkem")]
                Token::Skem => {
                    let s = self.kem.s.as_ref().ok_or(HandshakeError::MissingKey)?;
                    let mut ct = [0u8; mlkem::CIPHERTEXT_LEN];
                    take_decrypt(&mut sym, &mut rest, &mut ct)?;
                    let ct = mlkem::Ciphertext::from_bytes(&ct);
                    sym.mix_key_and_hash(P::mlkem768_decapsulate(s, &ct).as_bytes());
                }
            }
        }
        let dst = out
            .get_mut(..payload_len)
            .ok_or(HandshakeError::MissingKey)?;
        sym.decrypt_and_hash(rest, dst).map_err(sym_err)?;
        self.sym = sym;
        self.re = re;
        self.rs = rs;
        self.next = index.saturating_add(1);
        #[cfg(feature = "mlkem")]
        {
            if re_kem.is_some() {
                self.kem.re = re_kem;
            }
            if rs_kem.is_some() {
                self.kem.rs = rs_kem;
            }
            // Our ephemeral KEM key served its one `ekem`.
            if tokens.contains(&Token::Ekem) {
                self.kem.e = None;
            }
        }
        Ok(payload_len)
    }

    /// Ends the handshake (spec `Split()`): the transport keys, the handshake
    /// hash and this side's role, for the transports.
    ///
    /// # Errors
    /// [`Unfinished`] (holding `self`, unchanged) if messages remain.
    // The error hands the whole state back by value (no allocation in the
    // core, so it cannot be boxed); it is moved once, on a caller bug.
    #[allow(clippy::result_large_err)]
    pub fn split(self) -> Result<SplitKeys, Unfinished<P>> {
        if !self.is_finished() {
            return Err(Unfinished(self));
        }
        let (c1, c2) = self.sym.split();
        Ok(SplitKeys::new(
            c1,
            c2,
            self.params.cipher(),
            self.sym.handshake_hash().clone(),
            self.initiator,
        ))
    }

    /// Ends the handshake into a stream [`Transport`](super::transport::Transport)
    /// (implicit nonces): [`split`](Self::split) handed to
    /// [`Transport::new`](super::transport::Transport::new).
    ///
    /// # Errors
    /// [`Unfinished`] (holding `self`, unchanged) if messages remain.
    #[allow(clippy::result_large_err)] // see `split`
    pub fn into_transport(
        self,
        config: super::transport::Config,
    ) -> Result<super::transport::Transport<P>, Unfinished<P>> {
        Ok(super::transport::Transport::new(self.split()?, config))
    }

    /// Ends the handshake into a
    /// [`DatagramTransport`](super::datagram::DatagramTransport) (explicit
    /// nonces, replay window) created at `now`.
    ///
    /// # Errors
    /// [`Unfinished`] (holding `self`, unchanged) if messages remain.
    #[allow(clippy::result_large_err)] // see `split`
    pub fn into_datagram_transport(
        self,
        config: super::datagram::Config,
        now: crate::time::Instant,
    ) -> Result<super::datagram::DatagramTransport<P>, Unfinished<P>> {
        Ok(super::datagram::DatagramTransport::new(
            self.split()?,
            config,
            now,
        ))
    }

    /// Noise Pipes, Bob's side (spec section 10.2): after
    /// [`read_message`](Self::read_message) of the first message failed (for
    /// `IK`: Alice used a stale static key for Bob), turn this responder into
    /// the *initiator* of a `fallback` handshake such as `XXfallback`.
    ///
    /// `builder` names the fallback protocol and carries the prologue (and
    /// PSKs if any); this side's static key and its unused ephemeral are
    /// carried over, and Alice's ephemeral is taken from the start of
    /// `first_message`.
    ///
    /// # Errors
    /// [`FallbackError`]; `self` is consumed either way.
    pub fn fallback_initiator(
        mut self,
        builder: Builder<'_>,
        first_message: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<HandshakeState<P>, FallbackError> {
        if self.initiator || self.next != 0 {
            return Err(FallbackError::WrongState);
        }
        check_fallback_pattern(builder.params())?;
        let re: [u8; KEY_LEN] = first_message
            .get(..KEY_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(FallbackError::MessageTooShort)?;
        let mut b = builder.remote_ephemeral(re);
        if let Some(s) = self.s.take() {
            b = b.local_static(s);
        }
        if let Some(e) = self.e.take() {
            b = b.fixed_ephemeral(e);
        }
        Ok(b.build_initiator(rng)?)
    }

    /// Noise Pipes, Alice's side (spec section 10.2): after writing the first
    /// message, when the peer answered with the first message of a
    /// `fallback` handshake, turn this initiator into the *responder* of that
    /// handshake. This side's static key and the ephemeral it already sent
    /// are carried over; `builder` names the protocol and carries the
    /// prologue (and PSKs if any).
    ///
    /// # Errors
    /// [`FallbackError`]; `self` is consumed either way.
    pub fn fallback_responder(
        mut self,
        builder: Builder<'_>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<HandshakeState<P>, FallbackError> {
        if !self.initiator || self.next != 1 {
            return Err(FallbackError::WrongState);
        }
        check_fallback_pattern(builder.params())?;
        let mut b = builder;
        if let Some(s) = self.s.take() {
            b = b.local_static(s);
        }
        let e = self.e.take().ok_or(FallbackError::WrongState)?;
        Ok(b.fixed_ephemeral(e).build_responder(rng)?)
    }
}

fn check_fallback_pattern(params: &NoiseParams) -> Result<(), FallbackError> {
    let p = params.pattern();
    if p.alice_first() || p.pre_alice() != PreMessage::E {
        return Err(FallbackError::NotFallbackPattern);
    }
    Ok(())
}

fn sym_err(e: SymError) -> HandshakeError {
    match e {
        SymError::Decrypt => HandshakeError::Decrypt,
        SymError::Nonce => HandshakeError::NonceExhausted,
    }
}

/// Bytes of `e` on the wire for a pattern kind.
fn e_len(kind: PatternKind) -> usize {
    let mut n = 0usize;
    if kind.has_dh() {
        n = n.saturating_add(KEY_LEN);
    }
    #[cfg(feature = "mlkem")]
    if kind.has_kem() {
        n = n.saturating_add(crate::crypto::mlkem::PUBLIC_KEY_LEN);
    }
    n
}

/// Bytes of `s` on the wire without tags (the same keys as `e`).
fn s_len(kind: PatternKind) -> usize {
    e_len(kind)
}

/// How many separately encrypted keys `s` is (each gets its own tag).
fn s_parts(kind: PatternKind) -> usize {
    usize::from(kind.has_dh()).saturating_add(usize::from(kind.has_kem()))
}

/// `EncryptAndHash(bytes)` into `out` at `at`.
fn encrypt_put<P: Provider>(
    sym: &mut SymmetricState<P>,
    out: &mut [u8],
    at: &mut usize,
    bytes: &[u8],
) -> Result<(), HandshakeError> {
    let n = if sym.has_key() {
        bytes.len().saturating_add(AEAD_TAG_LEN)
    } else {
        bytes.len()
    };
    let end = at.saturating_add(n);
    let dst = out.get_mut(*at..end).ok_or(HandshakeError::MissingKey)?;
    if let Some(d) = dst.get_mut(..bytes.len()) {
        d.copy_from_slice(bytes);
    }
    sym.encrypt_and_hash(dst).map_err(sym_err)?;
    *at = end;
    Ok(())
}

/// `DecryptAndHash` of the next `plain.len()` (+ tag) bytes into `plain`.
fn take_decrypt<P: Provider>(
    sym: &mut SymmetricState<P>,
    rest: &mut &[u8],
    plain: &mut [u8],
) -> Result<(), HandshakeError> {
    let n = if sym.has_key() {
        plain.len().saturating_add(AEAD_TAG_LEN)
    } else {
        plain.len()
    };
    let ct = take(rest, n)?;
    sym.decrypt_and_hash(ct, plain).map_err(sym_err)
}

fn put(out: &mut [u8], at: &mut usize, bytes: &[u8]) -> Result<(), HandshakeError> {
    let end = at.saturating_add(bytes.len());
    out.get_mut(*at..end)
        .ok_or(HandshakeError::MissingKey)?
        .copy_from_slice(bytes);
    *at = end;
    Ok(())
}

fn take<'m>(rest: &mut &'m [u8], n: usize) -> Result<&'m [u8], HandshakeError> {
    let (head, tail) = rest.split_at_checked(n).ok_or(HandshakeError::Decrypt)?;
    *rest = tail;
    Ok(head)
}
