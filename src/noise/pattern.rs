//! Handshake patterns (Noise spec rev 34, sections 7 and 18): tokens, the
//! const tables of every one-way, fundamental and deferred pattern, and the
//! `pskN` and `fallback` modifiers.
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

/// A token of a message pattern (spec section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// must come before any `pskN`.
    FallbackNotApplicable,
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
        }
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
        (index % 2 == 0) == self.alice_first
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
        Ok(self)
    }

    /// Applies `fallback` (spec section 10.2): Alice's first message becomes
    /// her pre-message, and Bob sends the first remaining message.
    ///
    /// # Errors
    /// [`ModifierError::FallbackNotApplicable`] unless the pattern is
    /// Alice-initiated, has at least two messages, no `psk` yet, no Alice
    /// pre-message, and a first message of `e` or `e, s`.
    pub fn with_fallback(mut self) -> Result<Self, ModifierError> {
        if !self.alice_first || self.psk || self.len < 2 || self.pre_alice != PreMessage::Empty {
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

    /// The base pattern called `name` (`"XX"`, `"NK1"`, `"N"`, ...), if any.
    pub fn by_name(name: &str) -> Option<HandshakePattern> {
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
        for (i, m) in p.messages().iter().enumerate() {
            let who = if p.alice_sends(i) { 0 } else { 1 };
            let mut psk_seen = false;
            for t in m.tokens() {
                let dh = |a: usize, b: usize| (a, b);
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
                };
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
                assert!(sent[who][0], "{p:?}: message {i} encrypts before sending e");
            }
            let _ = psk_seen;
        }
        // Both ephemerals are used in `ee` unless the pattern is one-way.
        assert!(p.is_one_way() || done[0][0], "{p:?}: no ee");
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
