//! What an overlay node reports: events, counters and the typed errors of
//! its commands.

use core::fmt;

use crate::ports::{NodeName, PortName};

/// A hop session incarnation: the neighbour's node key and the generation
/// of the session. Generations come from one node-wide counter that starts
/// at 1 and grows with every new session (whoever it is with), so a
/// generation alone names one incarnation; the key is carried for the
/// caller's convenience. Every event, command and queued output about a
/// neighbour carries one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerRef {
    /// The neighbour's node key (Noise static public key).
    pub key: [u8; 32],
    /// The session's generation.
    pub generation: u64,
}

/// Why a hop session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DownReason {
    /// [`Node::disconnect`](super::Node::disconnect).
    Closed,
    /// Nothing authenticated arrived for `silent_ttl`.
    Silent,
    /// No routed packet crossed it for `idle_ttl`.
    Idle,
    /// The hellos were not exchanged within `half_open_ttl`, or the
    /// handshake failed.
    HalfOpen,
    /// The session expired and no new handshake replaced it.
    Expired,
    /// The neighbour came back with another incarnation (it restarted) or
    /// another routing key; a new generation follows ([`Event::PeerUp`]).
    Restarted,
    /// The neighbour's hello did not bind its routing key to its Noise key.
    BadBinding,
    /// The slot was taken for another session (only an unconfirmed inbound
    /// session is ever evicted).
    Evicted,
    /// The routing table refused the neighbour (full, or it claims our own
    /// routing key), or evicted it (silent for routing's own timeout).
    RoutingRefused,
}

/// Why a correspondent's incarnation was reported lost to ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LossReason {
    /// It restarted (another incarnation spoke).
    Restarted,
    /// Its records saw no acknowledgement for `dead_after`.
    Unreachable,
    /// It declared us lost (its stream restarted dirty).
    PeerReset,
    /// Ports named it and the overlay has no key for it (no introduction,
    /// or forgotten): unreachable.
    Unknown,
    /// Its entry was reused for another correspondent (table full).
    Evicted,
}

/// Why a queued output was refused instead of sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendFailure {
    /// It was prepared for an older generation of that neighbour's
    /// session: never encrypted under the newer one (the documented rule is
    /// refusal, no re-resolution; the end-to-end layer retransmits).
    StaleGeneration,
    /// The neighbour's session is gone or cannot carry data now.
    NoSession,
}

/// An event for the application, drained with
/// [`Node::poll_event`](super::Node::poll_event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<A> {
    /// A hop session carries data: hellos exchanged, the binding verified,
    /// the neighbour registered with routing.
    PeerUp {
        /// The session.
        peer: PeerRef,
        /// Its current address.
        addr: A,
    },
    /// A hop session ended.
    PeerDown {
        /// The session.
        peer: PeerRef,
        /// Why.
        reason: DownReason,
    },
    /// A queued output for a neighbour was refused.
    SendFailed {
        /// The session it was prepared for.
        peer: PeerRef,
        /// Why.
        reason: SendFailure,
    },
    /// A correspondent's incarnation spoke for the first time (admitted to
    /// ports with the local number `incarnation`).
    NodeUp {
        /// Its node key.
        key: [u8; 32],
        /// The ports incarnation number given to it.
        incarnation: u64,
    },
    /// A correspondent's incarnation was reported lost to ports.
    NodeLost {
        /// Its node key.
        key: [u8; 32],
        /// The ports incarnation number that ended.
        incarnation: u64,
        /// Why.
        reason: LossReason,
    },
    /// Traffic waits for a node whose location is unknown or stale: answer
    /// with [`Node::set_location`](super::Node::set_location) (from the
    /// application's directory). Repeated at most every
    /// `location_retry` while traffic waits.
    LocationNeeded {
        /// Its node key.
        key: [u8; 32],
    },
    /// Ports named a node the overlay cannot reach (no key known): it was
    /// reported lost to ports.
    UnknownNode {
        /// The name.
        name: NodeName,
    },
    /// This node's coordinate or root changed.
    PositionChanged,
    /// A port's status may have changed (from the ports node): read it with
    /// [`Node::ports_mut`](super::Node::ports_mut).
    PortStatus(PortName),
}

/// Counters of one overlay node (monotonic, saturating).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams handed to `handle_datagram`.
    pub datagrams_in: u64,
    /// Datagrams written by `poll_transmit`.
    pub datagrams_out: u64,
    /// Dropped: the header did not parse.
    pub dropped_header: u64,
    /// Dropped: no peer owns the receiver index.
    pub dropped_unknown_index: u64,
    /// Dropped by a hop link (replay, authentication, expired...): see the
    /// link's own stats.
    pub dropped_link: u64,
    /// Dropped by the hop gate (rates, mac1, handshake).
    pub dropped_gate: u64,
    /// Inbound hop sessions refused: `accept_inbound` off or the peer table
    /// full of confirmed peers.
    pub inbound_refused: u64,
    /// Hello, announcement or routed payload that did not parse.
    pub dropped_malformed: u64,
    /// Hop payloads other than hellos before the hellos were exchanged.
    pub dropped_early: u64,
    /// Hellos whose binding failed.
    pub bad_binding: u64,
    /// Routing announcements refused by `routing`.
    pub announce_refused: u64,
    /// Announcements that did not fit the transmit buffer (deeper chains
    /// than the MTU allows).
    pub announce_too_big: u64,
    /// Routed packets forwarded.
    pub forwarded: u64,
    /// Routed packets delivered here.
    pub delivered: u64,
    /// Path-broken notices sent.
    pub path_broken_sent: u64,
    /// Path-broken notices received for our traffic.
    pub path_broken_received: u64,
    /// Routed packets dropped (routing said drop, or a notice dead-ended).
    pub routed_dropped: u64,
    /// Outputs dropped because the transmit queue was full.
    pub txq_full: u64,
    /// Queued outputs refused: their generation was not current.
    pub stale_generation: u64,
    /// Queued outputs dropped: their neighbour's session could not send.
    pub no_session: u64,
    /// Routed packets delivered here that did not open under an end-to-end
    /// session.
    pub e2e_dropped: u64,
    /// End-to-end initiations refused (correspondent table full).
    pub e2e_refused: u64,
    /// Records sent for the first time.
    pub records_sent: u64,
    /// Records retransmitted.
    pub records_retransmitted: u64,
    /// Records delivered in order to ports.
    pub records_delivered: u64,
    /// Records received twice.
    pub records_duplicate: u64,
    /// Records dropped: beyond the window or no pool slot.
    pub records_dropped: u64,
    /// Ports events that failed to encode or decode, or that ports refused.
    pub ports_errors: u64,
    /// Ports broadcasts sent (one per correspondent).
    pub ports_broadcasts: u64,
    /// Correspondent incarnations reported lost.
    pub nodes_lost: u64,
    /// Events dropped because the event queue was full.
    pub events_dropped: u64,
    /// Stream packets dropped because no route led to their destination.
    pub no_route: u64,
}

/// [`Node::connect`](super::Node::connect) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The key is our own.
    SelfConnect,
    /// Every peer slot holds a confirmed or outbound session: disconnect one
    /// or give the node more slots.
    TableFull,
    /// The link refused (configuration).
    Link(crate::link::ConfigError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::SelfConnect => f.write_str("cannot connect to our own key"),
            ConnectError::TableFull => f.write_str(
                "peer table full of established or outbound sessions; disconnect one or use more slots",
            ),
            ConnectError::Link(e) => write!(f, "link: {e}"),
        }
    }
}

impl core::error::Error for ConnectError {}

/// A command named a hop session that is not the current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerError {
    /// No session with that key exists.
    Unknown,
    /// The key's current session has another generation: the command was
    /// prepared for an older (or never seen) incarnation and is refused.
    StaleGeneration {
        /// The current generation.
        current: u64,
    },
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Unknown => f.write_str("no session with that peer"),
            PeerError::StaleGeneration { current } => write!(
                f,
                "stale generation: the peer's current session is generation {current}; re-read it from the events"
            ),
        }
    }
}

impl core::error::Error for PeerError {}
