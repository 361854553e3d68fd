//! [`Builder`]: keys, prologue and PSKs for one handshake.

use super::error::BuildError;
use super::handshake::HandshakeState;
#[cfg(feature = "mlkem")]
use super::kem::KemKeys;
use super::params::NoiseParams;
use super::pattern::{MAX_PSKS, Token};
use super::precomputed::StaticStatic;
use super::symmetric::SymmetricState;
use crate::crypto::Provider;
#[cfg(feature = "mlkem")]
use crate::crypto::mlkem;
use crate::crypto::x25519::{KEY_LEN, KeyPair};
use core::fmt;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

/// Length of a pre-shared key (spec section 9: 32 bytes).
pub const PSK_LEN: usize = 32;

/// Sets up a [`HandshakeState`]: protocol, keys, prologue, PSKs.
///
/// ```
/// # #[cfg(feature = "ring")] {
/// use hyperport::crypto::{Ring, x25519::KeyPair};
/// use hyperport::noise::{Builder, HandshakeState};
/// use hyperport::rng::SeededRng;
///
/// let mut rng = SeededRng::from_u64(1); // a real driver seeds from the OS
/// let server = KeyPair::generate(&mut rng);
/// let mut hs: HandshakeState<Ring> = Builder::from_name("Noise_NK_25519_ChaChaPoly_BLAKE2s")
///     .unwrap()
///     .remote_static(*server.public())
///     .prologue(b"my app v1")
///     .build_initiator(&mut rng)
///     .unwrap();
/// assert!(hs.is_my_turn());
/// # }
/// ```
///
/// The prologue is hashed when the handshake is built, so the builder
/// borrows it but the handshake does not. Static public keys are never
/// recomputed: a [`KeyPair`] carries its public key.
pub struct Builder<'a> {
    params: NoiseParams,
    s: Option<KeyPair>,
    e: Option<KeyPair>,
    rs: Option<[u8; KEY_LEN]>,
    re: Option<[u8; KEY_LEN]>,
    prologue: &'a [u8],
    psks: [Option<[u8; PSK_LEN]>; MAX_PSKS],
    bad_psk: Option<u8>,
    ss: Option<StaticStatic>,
    reject_low_order: bool,
    #[cfg(feature = "mlkem")]
    s_kem: Option<&'a mlkem::KeyPair>,
    #[cfg(feature = "mlkem")]
    e_kem: Option<&'a mlkem::KeyPair>,
    #[cfg(feature = "mlkem")]
    rs_kem: Option<&'a mlkem::PublicKey>,
}

impl fmt::Debug for Builder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Drop for Builder<'_> {
    fn drop(&mut self) {
        for p in self.psks.iter_mut().flatten() {
            p.zeroize();
        }
    }
}

impl<'a> Builder<'a> {
    /// A builder for the protocol `params`.
    pub fn new(params: NoiseParams) -> Self {
        Builder {
            params,
            s: None,
            e: None,
            rs: None,
            re: None,
            prologue: &[],
            psks: [None; MAX_PSKS],
            bad_psk: None,
            ss: None,
            reject_low_order: true,
            #[cfg(feature = "mlkem")]
            s_kem: None,
            #[cfg(feature = "mlkem")]
            e_kem: None,
            #[cfg(feature = "mlkem")]
            rs_kem: None,
        }
    }

    /// A builder for the protocol called `name`, such as
    /// `Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s`.
    ///
    /// # Errors
    /// [`BuildError::Params`] if the name does not parse.
    pub fn from_name(name: &str) -> Result<Self, BuildError> {
        Ok(Self::new(NoiseParams::parse(name)?))
    }

    /// The protocol.
    pub fn params(&self) -> &NoiseParams {
        &self.params
    }

    /// The local static key pair.
    pub fn local_static(mut self, s: KeyPair) -> Self {
        self.s = Some(s);
        self
    }

    /// The peer's static public key, known in advance (pre-message `s`).
    pub fn remote_static(mut self, rs: [u8; KEY_LEN]) -> Self {
        self.rs = Some(rs);
        self
    }

    /// The peer's ephemeral public key, known in advance (only the initiator
    /// of a `fallback` pattern, which takes it from the failed first
    /// message; see [`HandshakeState::fallback_initiator`]).
    pub fn remote_ephemeral(mut self, re: [u8; KEY_LEN]) -> Self {
        self.re = Some(re);
        self
    }

    /// The prologue (spec section 6), hashed at build time. Both sides must
    /// give the same bytes.
    pub fn prologue(mut self, prologue: &'a [u8]) -> Self {
        self.prologue = prologue;
        self
    }

    /// The pre-shared key for modifier `pskN` with `N = position`.
    /// A position outside the pattern makes `build_*` fail with
    /// [`BuildError::UnexpectedPsk`].
    pub fn psk(mut self, position: u8, key: [u8; PSK_LEN]) -> Self {
        match self.psks.get_mut(usize::from(position)) {
            Some(slot) => *slot = Some(key),
            None => self.bad_psk = Some(position),
        }
        self
    }

    /// A precomputed `DH(s, rs)` for the `ss` token (see
    /// [`StaticStatic`]): used when it was computed for this handshake's
    /// local static key and the peer's static key, ignored otherwise (also
    /// when the pattern has no `ss`). Saves one X25519 operation; messages
    /// and keys are the same either way.
    pub fn precomputed_static_static(mut self, ss: StaticStatic) -> Self {
        self.ss = Some(ss);
        self
    }

    /// Whether a Diffie-Hellman whose output is all zeros (the peer's key
    /// is a low-order X25519 point) fails the handshake with
    /// [`HandshakeError::LowOrderKey`](super::HandshakeError::LowOrderKey).
    /// **On by default.**
    ///
    /// The Noise spec (rev 34, section 12.1) lets an implementation either
    /// use the all-zero output or detect it and signal an error; rejecting
    /// it is the choice taken here. No honest peer ever sends such a key
    /// (a key pair made by any X25519 implementation has a prime-order
    /// public key), and rejecting it keeps a malicious or broken peer from
    /// forcing a DH result that does not depend on our private key. The
    /// check is on the DH output (all of its 32 bytes, in constant time),
    /// so it catches every encoding of every low-order point, whatever list
    /// a blocklist would have used. Turn it off (`false`) only to reproduce
    /// an implementation that accepts such keys; the handshake is then
    /// byte-identical to the spec's default behaviour.
    pub fn reject_low_order_keys(mut self, reject: bool) -> Self {
        self.reject_low_order = reject;
        self
    }

    /// Uses `e` as the local ephemeral key pair instead of generating one.
    ///
    /// For test vectors and for the responder of a `fallback` pattern (which
    /// must reuse the ephemeral of its first message). Never reuse an
    /// ephemeral key otherwise.
    pub fn fixed_ephemeral(mut self, e: KeyPair) -> Self {
        self.e = Some(e);
        self
    }

    /// The local static ML-KEM-768 key pair, for the `hybrid*` and `pq*`
    /// patterns in which this side has a static key (feature `mlkem`).
    ///
    /// Borrowed like the prologue: `build_*` copies it into the handshake
    /// (2,400 bytes), so one identity serves many handshakes without a
    /// clone. In a hybrid pattern the X25519 static key
    /// ([`local_static`](Self::local_static)) is needed too: `s` stands for
    /// both.
    #[cfg(feature = "mlkem")]
    pub fn local_static_kem(mut self, s: &'a mlkem::KeyPair) -> Self {
        self.s_kem = Some(s);
        self
    }

    /// The peer's static ML-KEM-768 public key, known in advance (the
    /// pre-message `s` of `hybridIK`, `pqNK`, ...; feature `mlkem`).
    /// Borrowed and copied at build time like
    /// [`local_static_kem`](Self::local_static_kem).
    #[cfg(feature = "mlkem")]
    pub fn remote_static_kem(mut self, rs: &'a mlkem::PublicKey) -> Self {
        self.rs_kem = Some(rs);
        self
    }

    /// Uses `e` as the local ephemeral ML-KEM-768 key pair instead of
    /// generating one (test vectors only; feature `mlkem`). Never reuse an
    /// ephemeral key otherwise.
    #[cfg(feature = "mlkem")]
    pub fn fixed_ephemeral_kem(mut self, e: &'a mlkem::KeyPair) -> Self {
        self.e_kem = Some(e);
        self
    }

    /// Builds the initiator (the side that sends the first message).
    ///
    /// Randomness: everything this side will ever need is drawn from `rng`
    /// here, in this order, so that writing needs no RNG: the ephemeral
    /// X25519 private key (32 bytes), the ephemeral ML-KEM seed `d || z`
    /// (64 bytes; post-quantum patterns), then the randomness `m` of each
    /// encapsulation (`ekem`, `skem`) this side writes, 32 bytes each, in
    /// message order. A key given with `fixed_ephemeral*` is not drawn.
    ///
    /// # Errors
    /// [`BuildError`] if a key or PSK the pattern needs is missing, or one it
    /// does not use was given.
    pub fn build_initiator<P: Provider>(
        self,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<HandshakeState<P>, BuildError> {
        self.build(true, rng)
    }

    /// Builds the responder (the side that receives the first message).
    ///
    /// # Errors
    /// As [`build_initiator`](Self::build_initiator).
    pub fn build_responder<P: Provider>(
        self,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<HandshakeState<P>, BuildError> {
        self.build(false, rng)
    }

    fn build<P: Provider>(
        mut self,
        initiator: bool,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<HandshakeState<P>, BuildError> {
        let pattern = *self.params.pattern();
        let alice = initiator == pattern.alice_first();
        let (my_pre, peer_pre) = if alice {
            (pattern.pre_alice(), pattern.pre_bob())
        } else {
            (pattern.pre_bob(), pattern.pre_alice())
        };
        // Which keys this side uses.
        let kind = pattern.kind();
        let mut sends_e = false;
        let mut uses_s = my_pre.has_s();
        #[cfg(feature = "mlkem")]
        let mut encapsulations = 0usize;
        for (i, m) in pattern.messages().iter().enumerate() {
            let mine = pattern.alice_sends(i) == alice;
            for t in m.tokens() {
                match t {
                    Token::E if mine => sends_e = true,
                    Token::S if mine => uses_s = true,
                    Token::SS => uses_s = true,
                    Token::ES if !alice => uses_s = true,
                    Token::SE if alice => uses_s = true,
                    // The peer's `skem` encapsulates to our static key.
                    #[cfg(feature = "mlkem")]
                    Token::Skem if !mine => uses_s = true,
                    #[cfg(feature = "mlkem")]
                    Token::Ekem | Token::Skem if mine => {
                        encapsulations = encapsulations.saturating_add(1);
                    }
                    _ => {}
                }
            }
        }
        // In a KEM-only pattern `s` is an ML-KEM key only.
        let uses_dh_s = uses_s && kind.has_dh();
        #[cfg(feature = "mlkem")]
        {
            let uses_kem_s = uses_s && kind.has_kem();
            match (uses_kem_s, self.s_kem.is_some()) {
                (true, false) => return Err(BuildError::MissingLocalStaticKem),
                (false, true) => return Err(BuildError::UnexpectedLocalStaticKem),
                _ => {}
            }
            let peer_kem_s = peer_pre.has_s() && kind.has_kem();
            match (peer_kem_s, self.rs_kem.is_some()) {
                (true, false) => return Err(BuildError::MissingRemoteStaticKem),
                (false, true) => return Err(BuildError::UnexpectedRemoteStaticKem),
                _ => {}
            }
        }
        let peer_dh_s = peer_pre.has_s() && kind.has_dh();
        match (uses_dh_s, self.s.is_some()) {
            (true, false) => return Err(BuildError::MissingLocalStatic),
            (false, true) => return Err(BuildError::UnexpectedLocalStatic),
            _ => {}
        }
        match (peer_dh_s, self.rs.is_some()) {
            (true, false) => return Err(BuildError::MissingRemoteStatic),
            (false, true) => return Err(BuildError::UnexpectedRemoteStatic),
            _ => {}
        }
        match (peer_pre.has_e(), self.re.is_some()) {
            (true, false) => return Err(BuildError::MissingRemoteEphemeral),
            (false, true) => return Err(BuildError::UnexpectedRemoteEphemeral),
            _ => {}
        }
        if my_pre.has_e() && self.e.is_none() {
            return Err(BuildError::MissingLocalEphemeral);
        }
        if let Some(position) = self.bad_psk {
            return Err(BuildError::UnexpectedPsk { position });
        }
        let positions = self.params.psk_positions();
        for pos in positions {
            if self
                .psks
                .get(usize::from(*pos))
                .copied()
                .flatten()
                .is_none()
            {
                return Err(BuildError::MissingPsk { position: *pos });
            }
        }
        for (i, p) in self.psks.iter().enumerate() {
            let i = u8::try_from(i).unwrap_or(u8::MAX);
            if p.is_some() && !positions.contains(&i) {
                return Err(BuildError::UnexpectedPsk { position: i });
            }
        }
        // Generate the ephemeral now, so that writing needs no RNG; keys
        // given in advance in the provider's form (a no-op for dalek).
        if !kind.has_dh() {
            self.e = None;
        } else if sends_e && self.e.is_none() {
            self.e = Some(P::x25519_generate(rng));
        } else {
            self.e = self.e.take().map(P::x25519_prepare);
        }
        self.s = self.s.take().map(P::x25519_prepare);
        #[cfg(feature = "mlkem")]
        let kem = {
            let mut kem = KemKeys::default();
            if kind.has_kem() {
                if sends_e {
                    kem.e = Some(match self.e_kem {
                        Some(e) => e.clone(),
                        None => {
                            let mut seed = [0u8; mlkem::SEED_LEN];
                            rng.fill_bytes(&mut seed);
                            let kp = P::mlkem768_generate(&seed);
                            seed.zeroize();
                            kp
                        }
                    });
                }
                kem.s = self.s_kem.cloned();
                kem.rs = self.rs_kem.cloned();
                kem.draw_seeds(rng, encapsulations);
            }
            kem
        };

        let mut sym = SymmetricState::<P>::new(
            self.params.hash(),
            self.params.cipher(),
            self.params.name_bytes(),
        );
        sym.mix_hash(self.prologue);
        // Pre-messages: Alice's keys first, `e` before `s` (spec 7.1); with a
        // PSK, a pre-message `e` is also mixed into the key (spec 9.2).
        let psk = pattern.is_psk();
        for (pre, is_mine) in [(pattern.pre_alice(), alice), (pattern.pre_bob(), !alice)] {
            if pre.has_e() {
                let e = if is_mine {
                    self.e.as_ref().map(|k| *k.public())
                } else {
                    self.re
                };
                let e = e.ok_or(BuildError::MissingRemoteEphemeral)?;
                sym.mix_hash(&e);
                if psk {
                    sym.mix_key(&e);
                }
            }
            if pre.has_s() && kind.has_dh() {
                let s = if is_mine {
                    self.s.as_ref().map(|k| *k.public())
                } else {
                    self.rs
                };
                sym.mix_hash(&s.ok_or(BuildError::MissingRemoteStatic)?);
            }
            // A hybrid `s` is both keys, X25519 first (as clatter).
            #[cfg(feature = "mlkem")]
            if pre.has_s() && kind.has_kem() {
                if is_mine {
                    let s = kem.s.as_ref().ok_or(BuildError::MissingLocalStaticKem)?;
                    sym.mix_hash(s.public_bytes());
                } else {
                    let rs = kem.rs.as_ref().ok_or(BuildError::MissingRemoteStaticKem)?;
                    sym.mix_hash(rs.as_bytes());
                }
            }
        }
        let mut psks = [[0u8; PSK_LEN]; MAX_PSKS];
        for (dst, src) in psks.iter_mut().zip(self.psks.iter()) {
            if let Some(k) = src {
                *dst = *k;
            }
        }
        Ok(HandshakeState::from_parts(
            self.params,
            sym,
            self.s.take(),
            self.e.take(),
            self.rs,
            self.re,
            psks,
            initiator,
            self.ss.take(),
            self.reject_low_order,
            #[cfg(feature = "mlkem")]
            kem,
        ))
    }
}
