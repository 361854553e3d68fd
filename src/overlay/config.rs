//! Tunables of an overlay node.

use core::fmt;

use crate::link;
use crate::ports;
use crate::routing;
use crate::time::Duration;

/// The configuration of a [`Node`](super::Node). Every field documents its
/// default. Memory is not set here: it is the caller's
/// [`Storage`](super::Storage) (sizes in its docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Hop sessions (neighbours over the driver's datagrams). Default:
    /// `link::Config::default()` (`Noise_IK_25519_ChaChaPoly_BLAKE2s`) with
    /// the prologue [`HOP_PROLOGUE`] and a 300 ms first handshake
    /// retransmission. The pattern must carry the initiator's static key
    /// in its first message (`IK`, `IX`, `IKpsk2`...): the peer table is
    /// keyed by it ([`ConfigError::Pattern`]).
    pub hop: link::Config,
    /// Admission of hop initiations (rates, cookies); default
    /// `link::GateConfig::for_link(&hop)`.
    pub hop_gate: link::GateConfig,
    /// End-to-end sessions (one per correspondent, over routed packets).
    /// Default: as `hop` with the prologue [`E2E_PROLOGUE`], handshake
    /// retransmissions after 1 s then every 2 s for up to 120 s (a long
    /// path loses more: 40 hops at 2 % loss each lose 55 % of the
    /// packets). Same pattern rule as `hop`.
    pub e2e: link::Config,
    /// Admission of end-to-end initiations; default
    /// `link::GateConfig::for_link(&e2e)`.
    pub e2e_gate: link::GateConfig,
    /// The routing machine. Default `routing::Config::default()`.
    pub routing: routing::Config,
    /// The ports machine's limits (used by whoever builds the ports node;
    /// kept here so one value configures a node). Default
    /// `ports::Config::default()`.
    pub ports: ports::Config,
    /// Accept hop sessions from keys never `connect`ed (an open overlay).
    /// Default `true`. Off, an initiation from an unknown key is dropped
    /// after the gate (counted).
    pub accept_inbound: bool,
    /// A hop session that has not exchanged hellos (half-open) this long
    /// after it was created is dropped. Default 10 s.
    pub half_open_ttl: Duration,
    /// A neighbour from which no authenticated datagram arrived for this
    /// long is dropped (silent). Routing announcements arrive every
    /// `routing.announce_interval`, so this is several intervals. Default
    /// 5 s.
    pub silent_ttl: Duration,
    /// A neighbour over which nothing but routing traffic and keepalives
    /// moved (no routed packet either way) for this long is dropped (idle).
    /// `Duration::MAX` keeps idle neighbours (the default: a neighbour is
    /// part of the routing graph even when no packet crosses it).
    pub idle_ttl: Duration,
    /// First retransmission of a hop hello; doubles up to 8 times that.
    /// Default 200 ms.
    pub hello_rto: Duration,
    /// End-to-end records: first retransmission timeout before a round
    /// trip is measured. Default 1 s (RFC 6298).
    pub rto_initial: Duration,
    /// End-to-end records: smallest retransmission timeout. Default 50 ms.
    pub rto_min: Duration,
    /// End-to-end records: largest retransmission timeout (backoff
    /// ceiling). Default 2 s.
    pub rto_max: Duration,
    /// A correspondent whose oldest unacknowledged record saw no
    /// acknowledgement progress for this long is declared lost (ports are
    /// told, its records dropped). Counted from the establishment of the
    /// end-to-end session at the earliest (before it, the handshake
    /// deadline of `e2e` decides). Default 60 s (about 30 retransmissions
    /// at the ceiling).
    pub dead_after: Duration,
    /// Records a stream keeps unacknowledged (its window), at most
    /// [`MAX_WINDOW`](super::MAX_WINDOW). Default 32.
    pub window: u8,
    /// A correspondent with nothing in flight, no session and no traffic
    /// for this long is forgotten (its table entry freed), unless a port
    /// names it and its location is known: that one is probed instead
    /// (see `probe_interval`), so an idle pipe outlives this. Must exceed
    /// `dead_after + rto_max` ([`ConfigError::CorrespondentTtl`]). Default
    /// 180 s.
    pub correspondent_ttl: Duration,
    /// Least time between two [`Event::LocationNeeded`](super::Event) for
    /// one correspondent. Default 1 s.
    pub location_retry: Duration,
    /// A correspondent ports depends on whose stream has been idle this
    /// long is sent a probe record, so that a node that died or restarted
    /// is noticed (and reported lost) even when nothing else is sent to it.
    /// This includes one that never carried a session, if its location is
    /// known: the probe starts the session.
    /// Default 15 s.
    pub probe_interval: Duration,
}

/// Prologue of every hop handshake.
pub const HOP_PROLOGUE: &[u8] = b"hyperport/overlay/hop/v1";
/// Prologue of every end-to-end handshake.
pub const E2E_PROLOGUE: &[u8] = b"hyperport/overlay/e2e/v1";

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The defaults (see each field).
    pub fn new() -> Self {
        let mut hop = link::Config::default().with_prologue(HOP_PROLOGUE);
        hop.handshake_rto = Duration::from_millis(300);
        hop.handshake_rto_max = Duration::from_secs(4);
        hop.handshake_timeout = Duration::from_secs(30);
        let mut e2e = link::Config::default().with_prologue(E2E_PROLOGUE);
        e2e.handshake_rto = Duration::from_secs(1);
        e2e.handshake_rto_max = Duration::from_secs(2);
        e2e.handshake_timeout = Duration::from_secs(120);
        Config {
            hop,
            hop_gate: link::GateConfig::for_link(&hop),
            e2e,
            e2e_gate: link::GateConfig::for_link(&e2e),
            routing: routing::Config::default(),
            ports: ports::Config::default(),
            accept_inbound: true,
            half_open_ttl: Duration::from_secs(10),
            silent_ttl: Duration::from_secs(5),
            idle_ttl: Duration::MAX,
            hello_rto: Duration::from_millis(200),
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(50),
            rto_max: Duration::from_secs(2),
            dead_after: Duration::from_secs(60),
            window: 32,
            correspondent_ttl: Duration::from_secs(180),
            location_retry: Duration::from_secs(1),
            probe_interval: Duration::from_secs(15),
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// The first problem found.
    pub fn check(&self) -> Result<(), ConfigError> {
        for c in [&self.hop, &self.e2e] {
            c.check().map_err(ConfigError::Link)?;
            // The peer table and the correspondents are keyed by the
            // initiator's static key, which the gate must read from the
            // first message: a pattern whose first message carries `s`.
            let p = c.params.pattern();
            let first_has_s = p
                .messages()
                .first()
                .is_some_and(|m| m.tokens().contains(&crate::noise::pattern::Token::S));
            if !first_has_s {
                return Err(ConfigError::Pattern);
            }
        }
        if self.window == 0 || usize::from(self.window) > super::MAX_WINDOW {
            return Err(ConfigError::Window);
        }
        if self.rto_min == Duration::ZERO
            || self.rto_initial == Duration::ZERO
            || self.rto_max < self.rto_min
            || self.hello_rto == Duration::ZERO
            || self.probe_interval == Duration::ZERO
        {
            return Err(ConfigError::Timer);
        }
        if self.correspondent_ttl <= self.dead_after.saturating_add(self.rto_max) {
            return Err(ConfigError::CorrespondentTtl);
        }
        Ok(())
    }
}

/// Why a [`Config`] (or the storage given with it) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A link configuration is invalid.
    Link(link::ConfigError),
    /// A link pattern does not carry the initiator's static key in its
    /// first message (use `IK`, `IX` or a `psk` variant of them).
    Pattern,
    /// `window` is 0 or above [`MAX_WINDOW`](super::MAX_WINDOW).
    Window,
    /// A retransmission timer is zero or `rto_max < rto_min`.
    Timer,
    /// `correspondent_ttl` does not exceed `dead_after + rto_max`: a
    /// correspondent could be forgotten while the other side still
    /// retransmits to it.
    CorrespondentTtl,
    /// The storage is unusable: no peer or correspondent slot, a routing
    /// table shorter than the peer table, more than 65,535 record slots,
    /// peer/correspondent slots beyond the index tag space (2^16), or an
    /// `MTU` outside 256..=65,535 or too small for a one-hop announcement
    /// segment.
    Storage,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Link(e) => write!(f, "link configuration: {e}"),
            ConfigError::Pattern => f.write_str(
                "the Noise pattern must carry the initiator's static key in its first message (IK, IX)",
            ),
            ConfigError::Window => f.write_str("window must be between 1 and MAX_WINDOW (32)"),
            ConfigError::Timer => {
                f.write_str("retransmission timers must be non-zero and rto_max >= rto_min")
            }
            ConfigError::CorrespondentTtl => {
                f.write_str("correspondent_ttl must exceed dead_after + rto_max")
            }
            ConfigError::Storage => f.write_str(
                "storage unusable: give at least one peer and one correspondent slot, a routing \
                 table at least as long as the peer table, and at most 65,535 of each",
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_checks_bite() {
        assert_eq!(Config::default().check(), Ok(()));
        let c = Config {
            window: 33,
            ..Config::default()
        };
        assert_eq!(c.check(), Err(ConfigError::Window));
        let c = Config {
            correspondent_ttl: Config::default().dead_after,
            ..Config::default()
        };
        assert_eq!(c.check(), Err(ConfigError::CorrespondentTtl));
        let mut c = Config::default();
        c.hop = c.hop.with_params(
            crate::noise::NoiseParams::parse("Noise_XX_25519_ChaChaPoly_BLAKE2s").unwrap(),
        );
        assert_eq!(c.check(), Err(ConfigError::Pattern));
        let mut c = Config::default();
        c.e2e = c.e2e.with_params(
            crate::noise::NoiseParams::parse("Noise_IX_25519_ChaChaPoly_BLAKE2s").unwrap(),
        );
        assert_eq!(c.check(), Ok(()));
    }
}
