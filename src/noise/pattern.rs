//! Handshake patterns (Noise spec rev 34, sections 7 and 18): tokens, the
//! const tables of every one-way, fundamental and deferred pattern, and the
//! `pskN` and `fallback` modifiers; with the feature `mlkem`, also the
//! post-quantum patterns of PQNoise (Angel et al., CCS 2022) as clatter
//! names them: the hybrid X25519 + ML-KEM patterns (the table `HYBRID`,
//! `hybridNN` ... `hybridIX`) and the KEM-only ones (the table `PQ`,
//! `pqNN` ... `pqIX`); both tables exist only with `mlkem`.
//!
//! ## KEM tokens and hybrid patterns
//!
//! Two tokens come from PQNoise. `ekem`: the sender encapsulates to the
//! receiver's ephemeral KEM key and sends the ciphertext in the clear; both
//! sides `MixHash(ct)`, then `MixKey(shared secret)`. `skem`: the sender
//! encapsulates to the receiver's static KEM key and sends the ciphertext
//! with `EncryptAndHash` (encrypted once a key exists); both sides then
//! `MixKeyAndHash(shared secret)`. The meaning of `e` and `s` depends on the
//! pattern's [`PatternKind`]: an X25519 key (classical), an ML-KEM key
//! (KEM-only), or both, X25519 first (hybrid: `e` is the 32-byte X25519 key
//! then the 1,184-byte ML-KEM key, each `MixHash`ed, and each `MixKey`ed in
//! a PSK pattern; `s` is the two keys, each `EncryptAndHash`ed with its own
//! tag). A pre-message `s` likewise stands for both static keys.
//!
//! A [`HandshakePattern`] is a small `Copy` value (no allocation): the base
//! patterns are `const` items, and modifiers are applied by
//! [`HandshakePattern::with_psk`] and [`HandshakePattern::with_fallback`],
//! which return a new value.
//!
//! Notation follows rev 34: the left party is *Alice*, the right party is
//! *Bob*; `->` messages go from Alice to Bob. Tokens name keys from Alice's
//! side first (`es` = Alice's ephemeral with Bob's static). The *initiator*
//! is the party that sends the first handshake message: Alice, except in a
//! Bob-initiated pattern such as `XXfallback`, where it is Bob.

use core::fmt;

/// Most messages in a handshake pattern (the deferred `X1X1`, `X1K1`, ...
/// have four).
pub const MAX_MESSAGES: usize = 4;
/// Most tokens in one message pattern, modifiers included (`IX`'s second
/// message has five; psk modifiers add at most two).
pub const MAX_TOKENS: usize = 8;
/// Most `pskN` modifiers in one pattern: `psk0` to `psk4` (a four-message
/// pattern has positions 0 to 4).
pub const MAX_PSKS: usize = MAX_MESSAGES + 1;

/// A token of a message pattern (spec section 7.1; `ekem`, `skem` from
/// PQNoise, feature `mlkem`).
///
/// `#[non_exhaustive]`: the KEM tokens exist only with the `mlkem` feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Token {
    /// `e`: the sender's ephemeral public key.
    E,
    /// `s`: the sender's static public key (encrypted once a key exists).
    S,
    /// `ee`: DH of both ephemerals.
    EE,
    /// `es`: DH of Alice's ephemeral and Bob's static.
    ES,
    /// `se`: DH of Alice's static and Bob's ephemeral.
    SE,
    /// `ss`: DH of both statics.
    SS,
    /// `psk`: mixes a pre-shared key (spec section 9).
    Psk,
    /// `ekem`: encapsulation to the receiver's ephemeral KEM key, the
    /// ciphertext sent in the clear (PQNoise). Feature `mlkem`.
    #[cfg(feature = "mlkem")]
    Ekem,
    /// `skem`: encapsulation to the receiver's static KEM key, the
    /// ciphertext encrypted once a key exists (PQNoise). Feature `mlkem`.
    #[cfg(feature = "mlkem")]
    Skem,
}

/// Which keys a pattern's `e` and `s` tokens stand for, and so which key
/// exchange the protocol name gives (its DH field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PatternKind {
    /// Noise rev 34: X25519 keys (`25519`).
    Classical,
    /// X25519 and ML-KEM-768 keys together (`25519+MLKEM768`): patterns
    /// named `hybrid*`. Feature `mlkem`.
    #[cfg(feature = "mlkem")]
    Hybrid,
    /// ML-KEM-768 keys only (`MLKEM768`): patterns named `pq*`. Feature
    /// `mlkem`.
    #[cfg(feature = "mlkem")]
    Kem,
}

impl PatternKind {
    /// The DH field of a protocol name of this kind (`25519`,
    /// `25519+MLKEM768`, `MLKEM768`), as clatter writes it.
    pub const fn dh_name(self) -> &'static str {
        match self {
            PatternKind::Classical => "25519",
            #[cfg(feature = "mlkem")]
            PatternKind::Hybrid => "25519+MLKEM768",
            #[cfg(feature = "mlkem")]
            PatternKind::Kem => "MLKEM768",
        }
    }

    /// Whether `e` and `s` include X25519 keys.
    pub const fn has_dh(self) -> bool {
        match self {
            PatternKind::Classical => true,
            #[cfg(feature = "mlkem")]
            PatternKind::Hybrid => true,
            #[cfg(feature = "mlkem")]
            PatternKind::Kem => false,
        }
    }

    /// Whether `e` and `s` include ML-KEM keys.
    pub const fn has_kem(self) -> bool {
        match self {
            PatternKind::Classical => false,
            #[cfg(feature = "mlkem")]
            PatternKind::Hybrid => true,
            #[cfg(feature = "mlkem")]
            PatternKind::Kem => true,
        }
    }
}

/// A pre-message pattern (spec section 7.1): which public keys a party is
/// known to have before the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PreMessage {
    /// No pre-message.
    Empty,
    /// `e`.
    E,
    /// `s`.
    S,
    /// `e, s`.
    ES,
}

impl PreMessage {
    /// Whether the pre-message holds `e`.
    pub const fn has_e(self) -> bool {
        matches!(self, PreMessage::E | PreMessage::ES)
    }
    /// Whether the pre-message holds `s`.
    pub const fn has_s(self) -> bool {
        matches!(self, PreMessage::S | PreMessage::ES)
    }
}

/// One message pattern: up to [`MAX_TOKENS`] tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessagePattern {
    tokens: [Token; MAX_TOKENS],
    len: u8,
}

impl MessagePattern {
    const EMPTY: MessagePattern = MessagePattern {
        tokens: [Token::E; MAX_TOKENS],
        len: 0,
    };

    // Bounds: every index is below both `tokens.len()` and `MAX_TOKENS`
    // (loop condition), and `i <= MAX_TOKENS` fits in u8. Const fns cannot
    // use `get_mut`.
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    const fn new(tokens: &[Token]) -> Self {
        let mut m = Self::EMPTY;
        let mut i = 0;
        while i < tokens.len() && i < MAX_TOKENS {
            m.tokens[i] = tokens[i];
            i += 1;
        }
        m.len = i as u8;
        m
    }

    /// The tokens, in order.
    pub fn tokens(&self) -> &[Token] {
        self.tokens.get(..usize::from(self.len)).unwrap_or(&[])
    }

    fn push_front(&mut self, t: Token) -> bool {
        let len = usize::from(self.len);
        if len >= MAX_TOKENS {
            return false;
        }
        self.tokens.copy_within(..len, 1);
        if let Some(first) = self.tokens.first_mut() {
            *first = t;
        }
        self.len = self.len.saturating_add(1);
        true
    }

    fn push_back(&mut self, t: Token) -> bool {
        match self.tokens.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = t;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }
}

impl fmt::Debug for MessagePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.tokens()).finish()
    }
}

/// A handshake pattern with its modifiers applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HandshakePattern {
    base: &'static str,
    pre_alice: PreMessage,
    pre_bob: PreMessage,
    messages: [MessagePattern; MAX_MESSAGES],
    len: u8,
    alice_first: bool,
    psk: bool,
    kind: PatternKind,
}

/// Why a modifier cannot be applied to a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModifierError {
    /// `pskN` with `N` greater than the number of messages.
    PskOutOfRange,
    /// The same `pskN` twice.
    DuplicatePsk,
    /// More tokens in one message than [`MAX_TOKENS`].
    TooManyTokens,
    /// `fallback` needs a multi-message Alice-initiated pattern whose first
    /// message holds only `e` (or `e, s`) and no pre-message from Alice, and
    /// must come before any `pskN` (and a classical pattern).
    FallbackNotApplicable,
    /// In a KEM pattern, the `pskN` would make a party encrypt (`s`,
    /// `skem`) under a key derived from the PSK before it has added any
    /// randomness of its own (`e`, `ekem`, or an `skem` before the `psk`):
    /// clatter's form of the PSK validity rule (spec section 9.3).
    PskValidity,
}

impl fmt::Display for ModifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModifierError::PskOutOfRange => {
                "pskN modifier: N is larger than the number of messages in the pattern"
            }
            ModifierError::DuplicatePsk => "the same pskN modifier appears twice",
            ModifierError::TooManyTokens => "too many tokens in one message after modifiers",
            ModifierError::FallbackNotApplicable => {
                "fallback modifier: the pattern's first message is not a valid pre-message, or fallback is not the first modifier"
            }
            ModifierError::PskValidity => {
                "pskN modifier: a party would encrypt under the PSK before adding its own randomness (PSK validity rule)"
            }
        })
    }
}

impl core::error::Error for ModifierError {}

impl HandshakePattern {
    // Bounds: every index is below both `msgs.len()` and `MAX_MESSAGES`
    // (loop condition), and `i <= MAX_MESSAGES` fits in u8.
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    const fn new(
        base: &'static str,
        pre_alice: PreMessage,
        pre_bob: PreMessage,
        msgs: &[&[Token]],
    ) -> Self {
        Self::of_kind(PatternKind::Classical, base, pre_alice, pre_bob, msgs)
    }

    // Bounds: as in `new`.
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    const fn of_kind(
        kind: PatternKind,
        base: &'static str,
        pre_alice: PreMessage,
        pre_bob: PreMessage,
        msgs: &[&[Token]],
    ) -> Self {
        let mut messages = [MessagePattern::EMPTY; MAX_MESSAGES];
        let mut i = 0;
        while i < msgs.len() && i < MAX_MESSAGES {
            messages[i] = MessagePattern::new(msgs[i]);
            i += 1;
        }
        HandshakePattern {
            base,
            pre_alice,
            pre_bob,
            messages,
            len: i as u8,
            alice_first: true,
            psk: false,
            kind,
        }
    }

    /// What `e` and `s` stand for: X25519 keys, ML-KEM keys, or both.
    pub fn kind(&self) -> PatternKind {
        self.kind
    }

    /// The base pattern's name (`"XX"`, `"IK1"`, ...), without modifiers.
    pub fn base_name(&self) -> &'static str {
        self.base
    }

    /// Alice's pre-message.
    pub fn pre_alice(&self) -> PreMessage {
        self.pre_alice
    }

    /// Bob's pre-message.
    pub fn pre_bob(&self) -> PreMessage {
        self.pre_bob
    }

    /// The message patterns, in order.
    pub fn messages(&self) -> &[MessagePattern] {
        self.messages.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Whether Alice sends the first message (false for Bob-initiated
    /// patterns produced by `fallback`).
    pub fn alice_first(&self) -> bool {
        self.alice_first
    }

    /// Whether the pattern has a `psk` modifier (spec section 9.2: then every
    /// `e` token also calls `MixKey`).
    pub fn is_psk(&self) -> bool {
        self.psk
    }

    /// Whether the pattern is one-way (a single message, spec section 7.4).
    pub fn is_one_way(&self) -> bool {
        self.len == 1
    }

    /// Whether message `index` is sent by Alice.
    pub fn alice_sends(&self, index: usize) -> bool {
        index.is_multiple_of(2) == self.alice_first
    }

    /// Applies `pskN` (spec section 9.2): `psk0` puts a `psk` token at the
    /// start of the first message, `pskN` (N >= 1) at the end of message N.
    ///
    /// # Errors
    /// See [`ModifierError`].
    pub fn with_psk(mut self, n: u8) -> Result<Self, ModifierError> {
        if n > self.len {
            return Err(ModifierError::PskOutOfRange);
        }
        let ok = if n == 0 {
            let m = self
                .messages
                .first_mut()
                .ok_or(ModifierError::PskOutOfRange)?;
            if m.tokens().first() == Some(&Token::Psk) {
                return Err(ModifierError::DuplicatePsk);
            }
            m.push_front(Token::Psk)
        } else {
            let m = self
                .messages
                .get_mut(usize::from(n).saturating_sub(1))
                .ok_or(ModifierError::PskOutOfRange)?;
            if m.tokens().last() == Some(&Token::Psk) {
                return Err(ModifierError::DuplicatePsk);
            }
            m.push_back(Token::Psk)
        };
        if !ok {
            return Err(ModifierError::TooManyTokens);
        }
        self.psk = true;
        #[cfg(feature = "mlkem")]
        if self.kind != PatternKind::Classical && !self.psk_rule_holds() {
            return Err(ModifierError::PskValidity);
        }
        Ok(self)
    }

    /// clatter's PSK validity rule for KEM patterns, for each party over
    /// its own messages in order: the first of `e` / `ekem` (randomness
    /// before anything is encrypted), `skem` before any `psk` (its
    /// encapsulation adds randomness), or `s` / `skem` after a `psk`
    /// (encryption under a key from the PSK alone: refused) decides.
    #[cfg(feature = "mlkem")]
    fn psk_rule_holds(&self) -> bool {
        for alice in [true, false] {
            let mut psk_seen = false;
            let mut decided = false;
            for (i, m) in self.messages().iter().enumerate() {
                if self.alice_sends(i) != alice || decided {
                    continue;
                }
                for t in m.tokens() {
                    match t {
                        Token::Psk => psk_seen = true,
                        Token::E | Token::Ekem => {
                            decided = true;
                            break;
                        }
                        Token::Skem | Token::S if psk_seen => return false,
                        Token::Skem => {
                            decided = true;
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
        true
    }

    /// Applies `fallback` (spec section 10.2): Alice's first message becomes
    /// her pre-message, and Bob sends the first remaining message.
    ///
    /// # Errors
    /// [`ModifierError::FallbackNotApplicable`] unless the pattern is
    /// Alice-initiated, has at least two messages, no `psk` yet, no Alice
    /// pre-message, and a first message of `e` or `e, s`.
    pub fn with_fallback(mut self) -> Result<Self, ModifierError> {
        if !self.alice_first
            || self.psk
            || self.len < 2
            || self.pre_alice != PreMessage::Empty
            || self.kind != PatternKind::Classical
        {
            return Err(ModifierError::FallbackNotApplicable);
        }
        let first = self
            .messages
            .first()
            .ok_or(ModifierError::FallbackNotApplicable)?;
        self.pre_alice = match first.tokens() {
            [Token::E] => PreMessage::E,
            [Token::E, Token::S] => PreMessage::ES,
            _ => return Err(ModifierError::FallbackNotApplicable),
        };
        self.messages.copy_within(1.., 0);
        if let Some(last) = self.messages.last_mut() {
            *last = MessagePattern::EMPTY;
        }
        self.len = self.len.saturating_sub(1);
        self.alice_first = false;
        Ok(self)
    }

    /// The base pattern called `name` (`"XX"`, `"NK1"`, `"N"`, ...; with
    /// the `mlkem` feature also `"hybridXX"`, `"pqIK"`, ...), if any.
    pub fn by_name(name: &str) -> Option<HandshakePattern> {
        #[cfg(feature = "mlkem")]
        {
            if name.starts_with("hybrid") {
                return HYBRID.iter().find(|p| p.base == name).copied();
            }
            if name.starts_with("pq") {
                return PQ.iter().find(|p| p.base == name).copied();
            }
        }
        ALL.iter().find(|p| p.base == name).copied()
    }
}

use PreMessage as Pm;
use Token::{E, EE, ES, S, SE, SS};

macro_rules! patterns {
    ($( $(#[$doc:meta])* $id:ident = ($name:literal, $pa:ident, $pb:ident, [$([$($t:ident),*]),*]); )*) => {
        $(
            $(#[$doc])*
            pub const $id: HandshakePattern =
                HandshakePattern::new($name, Pm::$pa, Pm::$pb, &[$(&[$($t),*]),*]);
        )*
        /// Every base pattern of the spec: 3 one-way, 12 fundamental, 23 deferred.
        pub const ALL: [HandshakePattern; 38] = [$($id),*];
    };
}

patterns! {
    /// `N`: `<- s ... -> e, es`.
    N = ("N", Empty, S, [[E, ES]]);
    /// `K`: `-> s, <- s ... -> e, es, ss`.
    K = ("K", S, S, [[E, ES, SS]]);
    /// `X`: `<- s ... -> e, es, s, ss`.
    X = ("X", Empty, S, [[E, ES, S, SS]]);

    /// `NN`.
    NN = ("NN", Empty, Empty, [[E], [E, EE]]);
    /// `NK`.
    NK = ("NK", Empty, S, [[E, ES], [E, EE]]);
    /// `NX`.
    NX = ("NX", Empty, Empty, [[E], [E, EE, S, ES]]);
    /// `KN`.
    KN = ("KN", S, Empty, [[E], [E, EE, SE]]);
    /// `KK`.
    KK = ("KK", S, S, [[E, ES, SS], [E, EE, SE]]);
    /// `KX`.
    KX = ("KX", S, Empty, [[E], [E, EE, SE, S, ES]]);
    /// `XN`.
    XN = ("XN", Empty, Empty, [[E], [E, EE], [S, SE]]);
    /// `XK`.
    XK = ("XK", Empty, S, [[E, ES], [E, EE], [S, SE]]);
    /// `XX`.
    XX = ("XX", Empty, Empty, [[E], [E, EE, S, ES], [S, SE]]);
    /// `IN`.
    IN = ("IN", Empty, Empty, [[E, S], [E, EE, SE]]);
    /// `IK`.
    IK = ("IK", Empty, S, [[E, ES, S, SS], [E, EE, SE]]);
    /// `IX`.
    IX = ("IX", Empty, Empty, [[E, S], [E, EE, SE, S, ES]]);

    /// `NK1`.
    NK1 = ("NK1", Empty, S, [[E], [E, EE, ES]]);
    /// `NX1`.
    NX1 = ("NX1", Empty, Empty, [[E], [E, EE, S], [ES]]);
    /// `X1N`.
    X1N = ("X1N", Empty, Empty, [[E], [E, EE], [S], [SE]]);
    /// `X1K`.
    X1K = ("X1K", Empty, S, [[E, ES], [E, EE], [S], [SE]]);
    /// `XK1`.
    XK1 = ("XK1", Empty, S, [[E], [E, EE, ES], [S, SE]]);
    /// `X1K1`.
    X1K1 = ("X1K1", Empty, S, [[E], [E, EE, ES], [S], [SE]]);
    /// `X1X`.
    X1X = ("X1X", Empty, Empty, [[E], [E, EE, S, ES], [S], [SE]]);
    /// `XX1`.
    XX1 = ("XX1", Empty, Empty, [[E], [E, EE, S], [ES, S, SE]]);
    /// `X1X1`.
    X1X1 = ("X1X1", Empty, Empty, [[E], [E, EE, S], [ES, S], [SE]]);
    /// `K1N`.
    K1N = ("K1N", S, Empty, [[E], [E, EE], [SE]]);
    /// `K1K`.
    K1K = ("K1K", S, S, [[E, ES], [E, EE], [SE]]);
    /// `KK1`.
    KK1 = ("KK1", S, S, [[E], [E, EE, SE, ES]]);
    /// `K1K1`.
    K1K1 = ("K1K1", S, S, [[E], [E, EE, ES], [SE]]);
    /// `K1X`.
    K1X = ("K1X", S, Empty, [[E], [E, EE, S, ES], [SE]]);
    /// `KX1`.
    KX1 = ("KX1", S, Empty, [[E], [E, EE, SE, S], [ES]]);
    /// `K1X1`.
    K1X1 = ("K1X1", S, Empty, [[E], [E, EE, S], [SE, ES]]);
    /// `I1N`.
    I1N = ("I1N", Empty, Empty, [[E, S], [E, EE], [SE]]);
    /// `I1K`.
    I1K = ("I1K", Empty, S, [[E, ES, S], [E, EE], [SE]]);
    /// `IK1`.
    IK1 = ("IK1", Empty, S, [[E, S], [E, EE, SE, ES]]);
    /// `I1K1`.
    I1K1 = ("I1K1", Empty, S, [[E, S], [E, EE, ES], [SE]]);
    /// `I1X`.
    I1X = ("I1X", Empty, Empty, [[E, S], [E, EE, S, ES], [SE]]);
    /// `IX1`.
    IX1 = ("IX1", Empty, Empty, [[E, S], [E, EE, SE, S], [ES]]);
    /// `I1X1`.
    I1X1 = ("I1X1", Empty, Empty, [[E, S], [E, EE, S], [SE, ES]]);
}

#[cfg(feature = "mlkem")]
use Token::{Ekem, Skem};

#[cfg(feature = "mlkem")]
macro_rules! kem_patterns {
    ($table:ident, $kind:ident, $doc_table:literal;
     $( $(#[$doc:meta])* $id:ident = ($name:literal, $pa:ident, $pb:ident, [$([$($t:ident),*]),*]); )*) => {
        $(
            $(#[$doc])*
            pub const $id: HandshakePattern = HandshakePattern::of_kind(
                PatternKind::$kind, $name, Pm::$pa, Pm::$pb, &[$(&[$($t),*]),*]);
        )*
        #[doc = $doc_table]
        pub const $table: [HandshakePattern; 12] = [$($id),*];
    };
}

// The hybrid patterns of clatter 2.3 (`handshakepattern.rs`, `noise_hybrid_*`),
// token for token; tests/noise_hybrid_clatter.rs compares them with clatter's.
#[cfg(feature = "mlkem")]
kem_patterns! {
    HYBRID, Hybrid, "Every hybrid (X25519 + ML-KEM) pattern, as clatter defines them (feature `mlkem`).";
    /// `hybridNN`: `-> e / <- ekem, e, ee`.
    HYBRID_NN = ("hybridNN", Empty, Empty, [[E], [Ekem, E, EE]]);
    /// `hybridNK`: `<- s ... -> skem, e, es / <- ekem, e, ee`.
    HYBRID_NK = ("hybridNK", Empty, S, [[Skem, E, ES], [Ekem, E, EE]]);
    /// `hybridNX`: `-> e / <- ekem, e, ee, s, es / -> skem`.
    HYBRID_NX = ("hybridNX", Empty, Empty, [[E], [Ekem, E, EE, S, ES], [Skem]]);
    /// `hybridKN`: `-> s ... -> e / <- ekem, skem, e, ee, se`.
    HYBRID_KN = ("hybridKN", S, Empty, [[E], [Ekem, Skem, E, EE, SE]]);
    /// `hybridKK`: `-> s, <- s ... -> skem, e, es, ss / <- ekem, skem, e, ee, se`.
    HYBRID_KK = ("hybridKK", S, S, [[Skem, E, ES, SS], [Ekem, Skem, E, EE, SE]]);
    /// `hybridKX`: `-> s ... -> e / <- ekem, skem, e, ee, se, s, es / -> skem`.
    HYBRID_KX = ("hybridKX", S, Empty, [[E], [Ekem, Skem, E, EE, SE, S, ES], [Skem]]);
    /// `hybridXN`: `-> e / <- ekem, e, ee / -> s, se / <- skem`.
    HYBRID_XN = ("hybridXN", Empty, Empty, [[E], [Ekem, E, EE], [S, SE], [Skem]]);
    /// `hybridXK`: `<- s ... -> skem, e, es / <- ekem, e, ee / -> s, se / <- skem`.
    HYBRID_XK = ("hybridXK", Empty, S, [[Skem, E, ES], [Ekem, E, EE], [S, SE], [Skem]]);
    /// `hybridXX`: `-> e / <- ekem, e, ee, s, es / -> skem, s, se / <- skem`.
    HYBRID_XX = ("hybridXX", Empty, Empty, [[E], [Ekem, E, EE, S, ES], [Skem, S, SE], [Skem]]);
    /// `hybridIN`: `-> e, s / <- ekem, skem, e, ee, se`.
    HYBRID_IN = ("hybridIN", Empty, Empty, [[E, S], [Ekem, Skem, E, EE, SE]]);
    /// `hybridIK`: `<- s ... -> skem, e, es, s, ss / <- ekem, skem, e, ee, se`.
    HYBRID_IK = ("hybridIK", Empty, S, [[Skem, E, ES, S, SS], [Ekem, Skem, E, EE, SE]]);
    /// `hybridIX`: `-> e, s / <- ekem, skem, e, ee, se, s, es / -> skem`.
    HYBRID_IX = ("hybridIX", Empty, Empty, [[E, S], [Ekem, Skem, E, EE, SE, S, ES], [Skem]]);
}

// The KEM-only patterns of PQNoise as clatter 2.3 defines them (`noise_pq*`).
// One difference: clatter's `noise_pqkn()` names itself "pqNK" (so its
// protocol name collides with the real pqNK's); here it is "pqKN".
#[cfg(feature = "mlkem")]
kem_patterns! {
    PQ, Kem, "Every KEM-only (ML-KEM) pattern of PQNoise, as clatter defines them (feature `mlkem`).";
    /// `pqNN`: `-> e / <- ekem`.
    PQ_NN = ("pqNN", Empty, Empty, [[E], [Ekem]]);
    /// `pqNK`: `<- s ... -> skem, e / <- ekem`.
    PQ_NK = ("pqNK", Empty, S, [[Skem, E], [Ekem]]);
    /// `pqNX`: `-> e / <- ekem, s / -> skem`.
    PQ_NX = ("pqNX", Empty, Empty, [[E], [Ekem, S], [Skem]]);
    /// `pqKN`: `-> s ... -> e / <- ekem, skem`.
    PQ_KN = ("pqKN", S, Empty, [[E], [Ekem, Skem]]);
    /// `pqKK`: `-> s, <- s ... -> skem, e / <- ekem, skem`.
    PQ_KK = ("pqKK", S, S, [[Skem, E], [Ekem, Skem]]);
    /// `pqKX`: `-> s ... -> e / <- ekem, skem, s / -> skem`.
    PQ_KX = ("pqKX", S, Empty, [[E], [Ekem, Skem, S], [Skem]]);
    /// `pqXN`: `-> e / <- ekem / -> s / <- skem`.
    PQ_XN = ("pqXN", Empty, Empty, [[E], [Ekem], [S], [Skem]]);
    /// `pqXK`: `<- s ... -> skem, e / <- ekem / -> s / <- skem`.
    PQ_XK = ("pqXK", Empty, S, [[Skem, E], [Ekem], [S], [Skem]]);
    /// `pqXX`: `-> e / <- ekem, s / -> skem, s / <- skem`.
    PQ_XX = ("pqXX", Empty, Empty, [[E], [Ekem, S], [Skem, S], [Skem]]);
    /// `pqIN`: `-> e, s / <- ekem, skem`.
    PQ_IN = ("pqIN", Empty, Empty, [[E, S], [Ekem, Skem]]);
    /// `pqIK`: `<- s ... -> skem, e, s / <- ekem, skem`.
    PQ_IK = ("pqIK", Empty, S, [[Skem, E, S], [Ekem, Skem]]);
    /// `pqIX`: `-> e, s / <- ekem, skem, s / -> skem`.
    PQ_IX = ("pqIX", Empty, Empty, [[E, S], [Ekem, Skem, S], [Skem]]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_counts_and_unique_names() {
        let one_way = ALL.iter().filter(|p| p.is_one_way()).count();
        let deferred = ALL.iter().filter(|p| p.base.contains('1')).count();
        assert_eq!(one_way, 3);
        assert_eq!(deferred, 23);
        assert_eq!(ALL.len() - one_way - deferred, 12);
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.base, b.base);
            }
        }
    }

    /// The validity rules of spec section 7.3 (and 9.3 for PSKs), checked on
    /// every table pattern, with and without `psk0`, `pskN`, `fallback`:
    /// keys are used only once possessed, sent at most once, each DH done at
    /// most once, and no encryption by a party whose static key was used in a
    /// DH unless its ephemeral did the matching DH too.
    fn assert_valid(p: &HandshakePattern) {
        // [alice, bob] x [e, s]: possessed (own key) / sent or pre-known.
        let mut sent = [[false; 2]; 2];
        sent[0] = [p.pre_alice().has_e(), p.pre_alice().has_s()];
        sent[1] = [p.pre_bob().has_e(), p.pre_bob().has_s()];
        let mut done = [[false; 2]; 2]; // done[alice key][bob key], 0 = e, 1 = s
        // KEM patterns: encapsulations [sender][0 = ekem, 1 = skem], and
        // whether the sender has added randomness of its own.
        #[cfg_attr(not(feature = "mlkem"), allow(unused_mut))]
        let mut kem = [[false; 2]; 2];
        let mut own_random = [sent[0][0], sent[1][0]];
        for (i, m) in p.messages().iter().enumerate() {
            let who = if p.alice_sends(i) { 0 } else { 1 };
            let mut psk_seen = false;
            for t in m.tokens() {
                let dh = |a: usize, b: usize| (a, b);
                #[cfg(feature = "mlkem")]
                if matches!(t, Token::Ekem | Token::Skem) {
                    let k = usize::from(*t == Token::Skem);
                    assert_ne!(p.kind(), PatternKind::Classical, "{p:?}: KEM token");
                    // The receiver's key must be known to the sender.
                    assert!(sent[1 - who][k], "{p:?}: {t:?} before the peer's key");
                    assert!(!kem[who][k], "{p:?}: {t:?} twice");
                    kem[who][k] = true;
                    own_random[who] = true;
                    continue;
                }
                if *t == Token::E {
                    own_random[who] = true;
                }
                let (a, b) = match t {
                    Token::E | Token::S => {
                        let k = usize::from(*t == Token::S);
                        assert!(!sent[who][k], "{p:?}: key sent twice");
                        sent[who][k] = true;
                        continue;
                    }
                    Token::Psk => {
                        psk_seen = true;
                        continue;
                    }
                    Token::EE => dh(0, 0),
                    Token::ES => dh(0, 1),
                    Token::SE => dh(1, 0),
                    Token::SS => dh(1, 1),
                    #[allow(unreachable_patterns)]
                    _ => continue,
                };
                assert!(p.kind().has_dh(), "{p:?}: DH token in a KEM-only pattern");
                // Each side owns its own key; the other's must have been sent.
                assert!(sent[0][a] && sent[1][b], "{p:?}: DH {t:?} before keys");
                assert!(!done[a][b], "{p:?}: DH {t:?} twice");
                done[a][b] = true;
            }
            // Rule 4 for the sender, before its payload is encrypted.
            let (own_s_e, own_e_e, own_s_s, own_e_s) = if who == 0 {
                (done[1][0], done[0][0], done[1][1], done[0][1])
            } else {
                (done[0][1], done[0][0], done[1][1], done[1][0])
            };
            assert!(!own_s_e || own_e_e, "{p:?}: message {i} rule 4 (se)");
            assert!(!own_s_s || own_e_s, "{p:?}: message {i} rule 4 (ss)");
            // PSK rule (9.3): with a psk, no sender encrypts its payload
            // before it has sent `e` (in this or an earlier message).
            if p.is_psk() {
                assert!(
                    own_random[who],
                    "{p:?}: message {i} encrypts before adding randomness"
                );
            }
            let _ = psk_seen;
        }
        // Both ephemerals are used (in `ee`, or the responder's `ekem` to
        // the initiator's ephemeral KEM key) unless the pattern is one-way.
        if p.kind().has_dh() {
            assert!(p.is_one_way() || done[0][0], "{p:?}: no ee");
        }
        if p.kind().has_kem() {
            assert!(kem[1][0], "{p:?}: no ekem");
            // Every static KEM key that is used is encapsulated to.
            for who in 0..2 {
                if sent[who][1] {
                    assert!(kem[1 - who][1], "{p:?}: static KEM key never used");
                }
            }
        }
    }

    #[test]
    fn every_pattern_follows_the_validity_rules() {
        for p in ALL {
            assert_valid(&p);
            assert_valid(&p.with_psk(0).unwrap());
            let n = p.messages().len() as u8;
            assert_valid(&p.with_psk(n).unwrap());
            if let Ok(f) = p.with_fallback() {
                assert_valid(&f);
                assert_valid(&f.with_psk(0).unwrap());
            }
        }
        assert!(XX.with_fallback().is_ok());
    }

    /// The hybrid and KEM-only tables follow the same rules (with the KEM
    /// tokens' own: an encapsulation only to a key the sender knows, each
    /// once per side, every static KEM key used), and PQNoise's token order:
    /// within a message, `ekem` before `skem` before any key and the payload.
    #[cfg(feature = "mlkem")]
    #[test]
    fn kem_patterns_follow_the_validity_rules() {
        for p in HYBRID.iter().chain(PQ.iter()) {
            assert_valid(p);
            for m in p.messages() {
                let pos = |x: Token| m.tokens().iter().position(|t| *t == x);
                let first_key = m
                    .tokens()
                    .iter()
                    .position(|t| matches!(t, Token::E | Token::S))
                    .unwrap_or(usize::MAX);
                if let (Some(a), Some(b)) = (pos(Token::Ekem), pos(Token::Skem)) {
                    assert!(a < b, "{p:?}");
                }
                for k in [Token::Ekem, Token::Skem] {
                    assert!(pos(k).is_none_or(|i| i < first_key), "{p:?}");
                }
            }
            assert_eq!(p.with_fallback(), Err(ModifierError::FallbackNotApplicable));
            assert_eq!(HandshakePattern::by_name(p.base_name()), Some(*p));
        }
        // clatter's pre-made PSK variants are accepted...
        for (p, n) in [
            (HYBRID_NN, 0),
            (HYBRID_NN, 2),
            (HYBRID_NK, 2),
            (HYBRID_NX, 2),
            (HYBRID_XN, 3),
            (HYBRID_XK, 3),
            (HYBRID_XX, 3),
            (HYBRID_KN, 0),
            (HYBRID_KN, 2),
            (HYBRID_KK, 2),
            (HYBRID_KX, 2),
            (HYBRID_IN, 1),
            (HYBRID_IN, 2),
            (HYBRID_IK, 1),
            (HYBRID_IK, 2),
            (HYBRID_IX, 2),
            (PQ_NN, 2),
            (PQ_NK, 2),
            (PQ_NX, 2),
            (PQ_XN, 3),
            (PQ_XK, 3),
            (PQ_XX, 3),
            (PQ_KN, 2),
            (PQ_KK, 2),
            (PQ_KX, 2),
            (PQ_IN, 1),
            (PQ_IN, 2),
            (PQ_IK, 1),
            (PQ_IK, 2),
            (PQ_IX, 2),
        ] {
            assert_valid(&p.with_psk(n).unwrap());
        }
        // ...and one that would encrypt `skem` under the PSK alone is not
        // (clatter refuses it too).
        assert_eq!(HYBRID_NK.with_psk(0), Err(ModifierError::PskValidity));
        assert_eq!(PQ_IK.with_psk(0), Err(ModifierError::PskValidity));
        assert!(HYBRID_XX.with_psk(0).is_ok());
    }

    #[test]
    #[should_panic(expected = "before keys")]
    fn validity_check_catches_a_dh_before_the_key_is_sent() {
        // `es` needs Bob's static, which nobody sent.
        assert_valid(&HandshakePattern::new(
            "bad",
            PreMessage::Empty,
            PreMessage::Empty,
            &[&[E, ES]],
        ));
    }

    #[test]
    #[should_panic(expected = "rule 4")]
    fn validity_check_catches_rule_4() {
        // `<- s ... -> e / <- es`: Bob encrypts after a DH of his static
        // with Alice's ephemeral but without `ee`.
        assert_valid(&HandshakePattern::new(
            "bad",
            PreMessage::Empty,
            PreMessage::S,
            &[&[E], &[ES]],
        ));
    }

    #[test]
    fn psk_modifiers() {
        // Spec 9.4: XXpsk3 = -> e / <- e, ee, s, es / -> s, se, psk.
        let p = XX.with_psk(3).unwrap();
        assert_eq!(p.messages()[2].tokens(), &[S, SE, Token::Psk]);
        // NNpsk0 = -> psk, e / <- e, ee.
        let p = NN.with_psk(0).unwrap();
        assert_eq!(p.messages()[0].tokens(), &[Token::Psk, E]);
        assert!(p.is_psk());
        let p = NN.with_psk(0).unwrap().with_psk(2).unwrap();
        assert_eq!(p.messages()[1].tokens(), &[E, EE, Token::Psk]);
        assert_eq!(NN.with_psk(3), Err(ModifierError::PskOutOfRange));
        assert_eq!(
            NN.with_psk(1).unwrap().with_psk(1),
            Err(ModifierError::DuplicatePsk)
        );
    }

    #[test]
    fn fallback_modifier() {
        // Spec 10.2: XXfallback = -> e ... <- e, ee, s, es / -> s, se.
        let p = XX.with_fallback().unwrap();
        assert_eq!(p.pre_alice(), PreMessage::E);
        assert!(!p.alice_first());
        assert_eq!(p.messages().len(), 2);
        assert_eq!(p.messages()[0].tokens(), &[E, EE, S, ES]);
        assert!(!p.alice_sends(0));
        assert!(p.alice_sends(1));
        assert_eq!(
            IK.with_fallback(),
            Err(ModifierError::FallbackNotApplicable)
        );
        assert_eq!(N.with_fallback(), Err(ModifierError::FallbackNotApplicable));
    }
}
