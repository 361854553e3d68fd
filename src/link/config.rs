//! [`Config`], [`IndexPolicy`] and [`Identity`]: what a [`Link`](super::Link)
//! is told at construction.

use core::fmt;

use zeroize::Zeroize;

use super::error::ConfigError;
use crate::crypto::x25519::{KEY_LEN, KeyPair};
use crate::noise::pattern::Token;
use crate::noise::{NoiseParams, PSK_LEN};
use crate::time::Duration;

/// The default protocol: `Noise_IK_25519_ChaChaPoly_BLAKE2s`.
pub const DEFAULT_PROTOCOL: &str = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
/// First handshake retransmission timeout (1 s); doubles per resend up to
/// [`DEFAULT_HANDSHAKE_RTO_MAX`].
pub const DEFAULT_HANDSHAKE_RTO: Duration = Duration::from_secs(1);
/// Largest handshake retransmission timeout (16 s).
pub const DEFAULT_HANDSHAKE_RTO_MAX: Duration = Duration::from_secs(16);
/// A handshake not finished this long (90 s) after it started fails
/// (WireGuard's `REKEY_ATTEMPT_TIME`).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(90);
/// The initiator of a session starts a new handshake this long (120 s)
/// after the session was established (WireGuard's `REKEY_AFTER_TIME`).
pub const DEFAULT_REKEY_AFTER_TIME: Duration = Duration::from_secs(120);
/// The responder of a session starts a new handshake this much later than
/// the initiator would (10 s), so that normally only one side rekeys.
pub const DEFAULT_RESPONDER_REKEY_DELAY: Duration = Duration::from_secs(10);
/// A session is dropped this long (180 s) after it was established
/// (WireGuard's `REJECT_AFTER_TIME`).
pub const DEFAULT_REJECT_AFTER_TIME: Duration = Duration::from_secs(180);
/// A new handshake starts once a session has sent this many datagrams
/// (2^60, WireGuard's `REKEY_AFTER_MESSAGES`).
pub const DEFAULT_REKEY_AFTER_MESSAGES: u64 = 1 << 60;
/// A session neither sends nor accepts a datagram with a counter at or above
/// this (2^64 - 2^13 - 1, WireGuard's `REJECT_AFTER_MESSAGES`).
pub const DEFAULT_REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);
/// After data arrived and nothing was sent back for this long (10 s), a
/// keepalive goes out (WireGuard's `KEEPALIVE_TIMEOUT`).
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// How a link chooses its local session indices (the receiver index its
/// peer puts in every datagram to it).
///
/// A link has at most four live local indices at a time (the previous,
/// current and next sessions and a handshake in progress); each new
/// handshake draws a fresh one from the link's seeded RNG, never zero and
/// never equal to another live index of the same link.
///
/// Demultiplexing: with [`IndexPolicy::Tagged`] the low `bits` bits of every
/// index a link hands out equal its `tag`, so a driver holding many links
/// finds the link of an incoming datagram from the header's receiver index
/// alone, in constant time (`index & ((1 << bits) - 1)` is the slot), and
/// then lets the link check the whole index ([`Link::owns_index`]). With
/// [`IndexPolicy::Random`] the driver must map indices itself
/// ([`Link::local_indices`] after every call).
///
/// [`Link::owns_index`]: super::Link::owns_index
/// [`Link::local_indices`]: super::Link::local_indices
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexPolicy {
    /// All 32 bits random (the default).
    #[default]
    Random,
    /// The low `bits` bits are `tag` (chosen by the caller, for instance the
    /// slot of the link in the caller's table), the rest random. `bits` is
    /// at most [`MAX_TAG_BITS`] and `tag` must fit in it.
    Tagged {
        /// The caller's tag.
        tag: u32,
        /// How many low bits the tag takes.
        bits: u8,
    },
}

/// Most bits an [`IndexPolicy::Tagged`] tag may take (24), leaving at least 8
/// random bits per index.
pub const MAX_TAG_BITS: u8 = 24;

impl IndexPolicy {
    pub(crate) fn check(self) -> Result<(), ConfigError> {
        match self {
            IndexPolicy::Random => Ok(()),
            IndexPolicy::Tagged { tag, bits } => {
                if bits > MAX_TAG_BITS || u64::from(tag) >= (1u64 << bits) {
                    Err(ConfigError::BadIndexTag { tag, bits })
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The index made of the random `r` under this policy.
    pub(crate) fn make(self, r: u32) -> u32 {
        match self {
            IndexPolicy::Random => r,
            IndexPolicy::Tagged { tag, bits } => {
                let shifted = r.checked_shl(u32::from(bits)).unwrap_or(0);
                shifted | tag
            }
        }
    }

    /// Whether `index` could have been made under this policy.
    pub fn matches(self, index: u32) -> bool {
        match self {
            IndexPolicy::Random => true,
            IndexPolicy::Tagged { tag, bits } => {
                let mask = 1u32.checked_shl(u32::from(bits)).map_or(u32::MAX, |m| {
                    // `m >= 1`, so the subtraction cannot underflow.
                    m.wrapping_sub(1)
                });
                index & mask == tag
            }
        }
    }
}

/// The configuration of a [`Link`](super::Link): the Noise protocol and the
/// timers. Every field has a named default; a `Config` is `Copy` and holds
/// no secrets (keys go in [`Identity`]).
///
/// Memory does not depend on it: a link is one fixed-size value
/// ([`Link`](super::Link) docs give its size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The Noise protocol; default [`DEFAULT_PROTOCOL`]. Must be a pattern
    /// the link supports ([`Config::check`]); both peers must use the same.
    pub params: NoiseParams,
    /// The prologue both peers bind into every handshake; default empty.
    pub prologue: &'static [u8],
    /// How local session indices are chosen; default [`IndexPolicy::Random`].
    pub index: IndexPolicy,
    /// First handshake retransmission timeout; default
    /// [`DEFAULT_HANDSHAKE_RTO`].
    pub handshake_rto: Duration,
    /// Retransmission timeout cap; default [`DEFAULT_HANDSHAKE_RTO_MAX`].
    pub handshake_rto_max: Duration,
    /// Handshake deadline; default [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// Rekey by time; default [`DEFAULT_REKEY_AFTER_TIME`].
    pub rekey_after_time: Duration,
    /// Extra delay before the session's responder rekeys by time; default
    /// [`DEFAULT_RESPONDER_REKEY_DELAY`].
    pub responder_rekey_delay: Duration,
    /// Session lifetime; default [`DEFAULT_REJECT_AFTER_TIME`].
    pub reject_after_time: Duration,
    /// Rekey by message count; default [`DEFAULT_REKEY_AFTER_MESSAGES`].
    pub rekey_after_messages: u64,
    /// Hard message limit per session; default
    /// [`DEFAULT_REJECT_AFTER_MESSAGES`].
    pub reject_after_messages: u64,
    /// Passive keepalive delay; default [`DEFAULT_KEEPALIVE_INTERVAL`].
    pub keepalive_interval: Duration,
    /// Send a keepalive whenever nothing was sent for this long (keeps NAT
    /// mappings open and tells the peer we are alive); default `None`.
    pub persistent_keepalive: Option<Duration>,
    /// In-session key epochs of the Noise datagram transport
    /// ([`noise::datagram`](crate::noise::datagram)); default none. Both
    /// peers must agree.
    pub transport: crate::noise::datagram::Config,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The defaults (see each field).
    pub fn new() -> Self {
        Config {
            params: default_params(),
            prologue: &[],
            index: IndexPolicy::Random,
            handshake_rto: DEFAULT_HANDSHAKE_RTO,
            handshake_rto_max: DEFAULT_HANDSHAKE_RTO_MAX,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            rekey_after_time: DEFAULT_REKEY_AFTER_TIME,
            responder_rekey_delay: DEFAULT_RESPONDER_REKEY_DELAY,
            reject_after_time: DEFAULT_REJECT_AFTER_TIME,
            rekey_after_messages: DEFAULT_REKEY_AFTER_MESSAGES,
            reject_after_messages: DEFAULT_REJECT_AFTER_MESSAGES,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            persistent_keepalive: None,
            transport: crate::noise::datagram::Config::default(),
        }
    }

    /// With another Noise protocol.
    pub fn with_params(mut self, params: NoiseParams) -> Self {
        self.params = params;
        self
    }

    /// With a prologue.
    pub fn with_prologue(mut self, prologue: &'static [u8]) -> Self {
        self.prologue = prologue;
        self
    }

    /// With an index policy.
    pub fn with_index(mut self, index: IndexPolicy) -> Self {
        self.index = index;
        self
    }

    /// Checks the configuration: a supported pattern
    /// ([`ConfigError::UnsupportedPattern`]), a valid index tag, timers in
    /// a sensible order (`rekey_after_time < reject_after_time`,
    /// `rekey_after_messages < reject_after_messages`, non-zero
    /// retransmission timeout and deadline).
    ///
    /// # Errors
    /// The first problem found.
    pub fn check(&self) -> Result<(), ConfigError> {
        check_pattern(&self.params)?;
        self.index.check()?;
        if self.handshake_rto == Duration::ZERO
            || self.handshake_rto_max < self.handshake_rto
            || self.handshake_timeout == Duration::ZERO
        {
            return Err(ConfigError::BadTimer(
                "handshake_rto / handshake_rto_max / handshake_timeout",
            ));
        }
        if self.rekey_after_time >= self.reject_after_time {
            return Err(ConfigError::BadTimer(
                "rekey_after_time must be below reject_after_time",
            ));
        }
        if self.rekey_after_messages >= self.reject_after_messages || self.rekey_after_messages == 0
        {
            return Err(ConfigError::BadTimer(
                "rekey_after_messages must be non-zero and below reject_after_messages",
            ));
        }
        if self.keepalive_interval == Duration::ZERO
            || self.persistent_keepalive == Some(Duration::ZERO)
        {
            return Err(ConfigError::BadTimer(
                "keepalive intervals must be non-zero",
            ));
        }
        Ok(())
    }
}

/// `Noise_IK_25519_ChaChaPoly_BLAKE2s`, parsed.
// The argument is a constant protocol name that parses (checked by the
// `default_protocol_parses` test), so the `expect` never fires.
#[allow(clippy::expect_used)]
pub(crate) fn default_params() -> NoiseParams {
    NoiseParams::parse(DEFAULT_PROTOCOL).expect("DEFAULT_PROTOCOL parses")
}

/// Which of a pattern's keys each side needs (module docs of [`super`],
/// "Supported patterns").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyNeeds {
    /// The side uses its own static key.
    pub(crate) local_static: bool,
    /// The side must know the peer's static key before the handshake.
    pub(crate) remote_static: bool,
}

/// Key needs of Alice (`alice = true`, the initiator) or Bob.
pub(crate) fn key_needs(params: &NoiseParams, alice: bool) -> KeyNeeds {
    let pattern = params.pattern();
    let (my_pre, peer_pre) = if alice {
        (pattern.pre_alice(), pattern.pre_bob())
    } else {
        (pattern.pre_bob(), pattern.pre_alice())
    };
    let mut uses_s = my_pre.has_s();
    for (i, m) in pattern.messages().iter().enumerate() {
        let mine = pattern.alice_sends(i) == alice;
        for t in m.tokens() {
            match t {
                Token::S if mine => uses_s = true,
                Token::SS => uses_s = true,
                Token::ES if !alice => uses_s = true,
                Token::SE if alice => uses_s = true,
                _ => {}
            }
        }
    }
    KeyNeeds {
        local_static: uses_s,
        remote_static: peer_pre.has_s(),
    }
}

/// Whether the pattern has a responder pre-message `s` (then `mac1` is keyed
/// by the responder's static public key).
pub(crate) fn responder_key_known(params: &NoiseParams) -> bool {
    params.pattern().pre_bob().has_s()
}

/// The patterns a link runs over datagrams: Alice first (no `fallback`),
/// at least two messages (interactive), no pre-message for the initiator
/// (neither `e` nor `s`: a responder behind a [`Gate`](super::Gate) cannot
/// know who calls before reading the initiation).
pub(crate) fn check_pattern(params: &NoiseParams) -> Result<(), ConfigError> {
    let p = params.pattern();
    if !p.alice_first()
        || p.messages().len() < 2
        || p.pre_alice().has_e()
        || p.pre_alice().has_s()
        || p.pre_bob().has_e()
    {
        return Err(ConfigError::UnsupportedPattern);
    }
    Ok(())
}

/// Our side's long-term secrets: the static key pair and, for `psk`
/// patterns, the pre-shared key (one for the whole network: a responder
/// cannot choose a per-peer PSK before it knows who calls). Zeroized on
/// drop.
#[derive(Clone)]
pub struct Identity {
    keys: KeyPair,
    psk: Option<[u8; PSK_LEN]>,
}

impl Drop for Identity {
    fn drop(&mut self) {
        if let Some(p) = self.psk.as_mut() {
            p.zeroize();
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public", self.keys.public())
            .field("psk", &self.psk.is_some())
            .finish()
    }
}

impl Identity {
    /// An identity with this static key pair and no PSK.
    pub fn new(keys: KeyPair) -> Self {
        Identity { keys, psk: None }
    }

    /// With the network's pre-shared key (for `pskN` patterns).
    pub fn with_psk(mut self, psk: [u8; PSK_LEN]) -> Self {
        self.psk = Some(psk);
        self
    }

    /// The static key pair.
    pub fn keys(&self) -> &KeyPair {
        &self.keys
    }

    /// The static public key.
    pub fn public(&self) -> &[u8; KEY_LEN] {
        self.keys.public()
    }

    pub(crate) fn psk(&self) -> Option<&[u8; PSK_LEN]> {
        self.psk.as_ref()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn default_protocol_parses() {
        assert_eq!(default_params().name(), DEFAULT_PROTOCOL);
        assert_eq!(Config::new().check(), Ok(()));
    }

    #[test]
    fn supported_patterns() {
        for name in [
            "IK", "XX", "NK", "NN", "XK", "IX", "IKpsk2", "XXpsk3", "X1X1", "NX",
        ] {
            let p =
                NoiseParams::parse(&std::format!("Noise_{name}_25519_ChaChaPoly_BLAKE2s")).unwrap();
            assert_eq!(check_pattern(&p), Ok(()), "{name}");
        }
        for name in ["KK", "KN", "N", "K", "X", "XXfallback", "KX"] {
            let p =
                NoiseParams::parse(&std::format!("Noise_{name}_25519_ChaChaPoly_BLAKE2s")).unwrap();
            assert_eq!(
                check_pattern(&p),
                Err(ConfigError::UnsupportedPattern),
                "{name}"
            );
        }
    }

    #[test]
    fn tagged_indices() {
        let p = IndexPolicy::Tagged { tag: 5, bits: 4 };
        assert_eq!(p.check(), Ok(()));
        assert_eq!(p.make(0xffff_ffff) & 0xf, 5);
        assert!(p.matches(p.make(123)));
        assert!(!p.matches(6));
        assert!(IndexPolicy::Tagged { tag: 16, bits: 4 }.check().is_err());
        assert!(IndexPolicy::Tagged { tag: 0, bits: 25 }.check().is_err());
        assert!(IndexPolicy::Tagged { tag: 0, bits: 0 }.matches(77));
    }
}
