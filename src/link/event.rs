//! What a link reports: [`Event`]s and counters.

use crate::crypto::x25519::KEY_LEN;

/// Which side of a handshake (or of the session it made) this link was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the first handshake message.
    Initiator,
    /// We answered it.
    Responder,
}

/// Why a handshake failed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// Not finished within `Config::handshake_timeout` of its start (all
    /// retransmissions unanswered).
    Timeout,
    /// We answered an initiation but the peer never sent a datagram under
    /// the new session within `Config::reject_after_time` (and no newer
    /// handshake replaced it).
    Unconfirmed,
    /// The handshake revealed a static key other than the one this link
    /// was built for (three-message patterns, where the initiator's key
    /// arrives last). The session was discarded.
    UnexpectedPeer,
}

/// An event from a [`Link`](super::Link), drained with
/// [`poll_event`](super::Link::poll_event).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A session is established and carries data: the first one of the
    /// link, or a rekey (`sessions > 1`). The previous session keeps
    /// decrypting datagrams in flight until it expires.
    Established {
        /// Our role in the handshake that made it.
        role: Role,
        /// The peer's static public key, if the pattern has one.
        remote_static: Option<[u8; KEY_LEN]>,
        /// Sessions established on this link so far, this one included.
        sessions: u64,
    },
    /// A handshake failed. The current session (if any) goes on until it
    /// expires; a new handshake starts on the next `connect` or `send`.
    HandshakeFailed {
        /// Our role in it.
        role: Role,
        /// Why.
        reason: FailReason,
    },
    /// The last usable session expired (time or message limit) and no new
    /// one replaced it: the link carries no data until a handshake
    /// succeeds.
    Expired,
}

/// Counters of one link (monotonic, saturating).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Handshakes this link started as initiator.
    pub handshakes_started: u64,
    /// Handshake messages retransmitted (timer or duplicate).
    pub handshake_resends: u64,
    /// Sessions established.
    pub sessions: u64,
    /// Handshakes that failed.
    pub handshakes_failed: u64,
    /// Transport datagrams written (data and keepalives).
    pub datagrams_sent: u64,
    /// Keepalives written.
    pub keepalives_sent: u64,
    /// Transport datagrams accepted (data and keepalives).
    pub datagrams_received: u64,
    /// Keepalives accepted.
    pub keepalives_received: u64,
    /// Datagrams dropped: header did not parse or wrong size.
    pub dropped_malformed: u64,
    /// Datagrams dropped: unknown receiver index.
    pub dropped_unknown_index: u64,
    /// Datagrams dropped: duplicate or too old for the replay window.
    pub dropped_replay: u64,
    /// Datagrams dropped: failed authentication (transport, handshake or
    /// cookie).
    pub dropped_auth: u64,
    /// Datagrams dropped: expired session, message limit, or an epoch the
    /// transport no longer (or not yet) holds.
    pub dropped_expired: u64,
    /// Datagrams dropped: a message type the link did not expect now.
    pub dropped_unexpected: u64,
    /// Initiations refused by [`Link::accept_hello`](super::Link::accept_hello)
    /// (stale, conflict, wrong peer).
    pub initiations_refused: u64,
    /// Cookie replies accepted.
    pub cookies_received: u64,
    /// Events dropped because the event queue was full (drain it after
    /// every call and this stays zero).
    pub events_dropped: u64,
}

/// Counters of a [`Gate`](super::Gate) (monotonic, saturating).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GateStats {
    /// Initiations read (Diffie-Hellman work done) and handed out as
    /// [`Hello`](super::Hello)s.
    pub admitted: u64,
    /// Duplicates of an accepted initiation, answered from the link's cache.
    pub duplicates: u64,
    /// Cookie replies written.
    pub cookie_replies: u64,
    /// Dropped: not an initiation or malformed.
    pub dropped_malformed: u64,
    /// Dropped: bad `mac1`.
    pub dropped_mac1: u64,
    /// Dropped: per-source rate.
    pub dropped_rate_source: u64,
    /// Dropped: total rate.
    pub dropped_rate_total: u64,
    /// Dropped: per-source table full.
    pub dropped_table_full: u64,
    /// Dropped: the Noise message did not read, or a bad timestamp.
    pub dropped_handshake: u64,
    /// Dropped: cookie needed but the reply buffer was too small.
    pub dropped_reply_buffer: u64,
}
