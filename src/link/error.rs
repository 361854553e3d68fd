//! The link's errors: one small enum per operation.
//!
//! Errors caused by network input ([`DatagramError`], [`GateDrop`]) are never
//! fatal: the datagram is dropped, counted, and nothing else changes. Errors
//! caused by the caller ([`ConfigError`], [`SendError`], [`ConnectError`],
//! [`AcceptError`]) name the fix.

use core::fmt;

use super::wire::{HeaderError, MessageType};
use crate::error::BufferTooSmall;
use crate::noise::HandshakeError;
use crate::noise::transport::TransportError;

/// A [`Config`](super::Config) or key set a link cannot run with.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The Noise pattern is not one the link runs over datagrams (one-way,
    /// `fallback`, or an initiator pre-message such as `KK`): see the
    /// module docs, "Supported patterns".
    UnsupportedPattern,
    /// [`IndexPolicy::Tagged`](super::IndexPolicy::Tagged) with more than
    /// [`MAX_TAG_BITS`](super::MAX_TAG_BITS) bits or a tag that does not fit.
    BadIndexTag {
        /// The tag given.
        tag: u32,
        /// The bit count given.
        bits: u8,
    },
    /// Timers out of order or zero; the text names them.
    BadTimer(&'static str),
    /// The pattern needs the peer's static key in advance (`IK`, `NK`,
    /// `XK`, ...) and none was given.
    MissingRemoteStatic,
    /// The pattern is a `psk` pattern and the [`Identity`](super::Identity)
    /// has no PSK.
    MissingPsk,
    /// The [`Hello`](super::Hello) was read under another protocol than
    /// this link's `Config::params`.
    ParamsMismatch,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnsupportedPattern => f.write_str(
                "this Noise pattern cannot run over link datagrams (one-way, fallback or an \
                 initiator pre-message); use IK, XX, NK, XK, IX, NN or their psk variants",
            ),
            ConfigError::BadIndexTag { tag, bits } => write!(
                f,
                "index tag {tag} does not fit in {bits} bits, or more than 24 bits asked; \
                 choose a smaller tag or more bits"
            ),
            ConfigError::BadTimer(what) => write!(f, "link timers misconfigured: {what}"),
            ConfigError::MissingRemoteStatic => f.write_str(
                "this pattern needs the peer's static public key in advance; give it to Link::new",
            ),
            ConfigError::MissingPsk => {
                f.write_str("psk pattern without a pre-shared key; use Identity::with_psk")
            }
            ConfigError::ParamsMismatch => f.write_str(
                "the initiation was read under another Noise protocol than the link's; \
                 give the gate and the link the same Config::params",
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

/// [`Link::connect`](super::Link::connect) could not start a handshake.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// The link was closed; build a new one.
    Closed,
    /// The pattern needs the peer's static key to initiate and this link
    /// does not know it (a responder-side `NK` link, say): wait for the
    /// peer to initiate.
    CannotInitiate,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Closed => f.write_str("the link is closed; build a new one"),
            ConnectError::CannotInitiate => f.write_str(
                "this side cannot initiate under the link's pattern (the peer's static key is \
                 unknown); wait for the peer to initiate",
            ),
        }
    }
}

impl core::error::Error for ConnectError {}

/// [`Link::send`](super::Link::send) wrote nothing.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No session can carry data now (none established yet, or the current
    /// one reached its time or message limit). A handshake has been started
    /// if none was in progress and this side can initiate: retry after
    /// [`Event::Established`](super::Event::Established).
    NoSession,
    /// The payload is longer than [`MAX_PAYLOAD`](super::MAX_PAYLOAD).
    PayloadTooLong {
        /// The payload length given.
        len: usize,
    },
    /// The output buffer cannot hold the datagram; nothing was written and
    /// nothing changed. Retry with at least `needed` bytes
    /// ([`datagram_len`](super::datagram_len)).
    BufferTooSmall(BufferTooSmall),
    /// The link was closed.
    Closed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoSession => f.write_str(
                "no established session can carry data now; a handshake is under way: \
                 retry after Event::Established",
            ),
            SendError::PayloadTooLong { len } => write!(
                f,
                "payload of {len} bytes exceeds the link maximum of {}; split it",
                super::MAX_PAYLOAD
            ),
            SendError::BufferTooSmall(e) => fmt::Display::fmt(e, f),
            SendError::Closed => f.write_str("the link is closed; build a new one"),
        }
    }
}

impl core::error::Error for SendError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SendError::BufferTooSmall(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Link::handle_datagram`](super::Link::handle_datagram) refused a
/// datagram. Never fatal: the datagram was dropped and counted in
/// [`LinkStats`](super::LinkStats); no key, nonce, window or handshake
/// state changed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatagramError {
    /// The header did not parse.
    Header(HeaderError),
    /// The receiver index names no live session or handshake of this link
    /// (stale, forged, or routed to the wrong link).
    UnknownIndex(u32),
    /// A message this link does not expect now: an initiation that is not a
    /// duplicate of one it answered, a handshake message for a finished
    /// handshake, a cookie reply with no initiation outstanding.
    Unexpected(MessageType),
    /// The datagram is longer than [`MAX_DATAGRAM`](super::MAX_DATAGRAM) or
    /// its body has the wrong size for its type.
    Malformed,
    /// A transport datagram was refused: duplicate or too old (replay
    /// window), wrong epoch, or failed authentication.
    Transport(TransportError),
    /// A handshake message was refused (failed authentication, wrong size).
    Handshake(HandshakeError),
    /// The session is past its lifetime or the counter is at or above
    /// `reject_after_messages`.
    Expired,
    /// A cookie reply failed authentication.
    BadCookie,
    /// The link was closed.
    Closed,
}

impl fmt::Display for DatagramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatagramError::Header(e) => fmt::Display::fmt(e, f),
            DatagramError::UnknownIndex(i) => write!(
                f,
                "receiver index {i:#010x} names no session of this link; dropped"
            ),
            DatagramError::Unexpected(t) => {
                write!(f, "unexpected {t} message for this link's state; dropped")
            }
            DatagramError::Malformed => {
                f.write_str("datagram too long or body of the wrong size for its type; dropped")
            }
            DatagramError::Transport(e) => fmt::Display::fmt(e, f),
            DatagramError::Handshake(e) => fmt::Display::fmt(e, f),
            DatagramError::Expired => {
                f.write_str("session expired (time or message limit); datagram dropped")
            }
            DatagramError::BadCookie => f.write_str("cookie reply failed authentication; dropped"),
            DatagramError::Closed => f.write_str("the link is closed; datagram dropped"),
        }
    }
}

impl core::error::Error for DatagramError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            DatagramError::Header(e) => Some(e),
            DatagramError::Transport(e) => Some(e),
            DatagramError::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

/// A [`Hello`](super::Hello) could not be accepted into a link.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptError {
    /// The configuration or keys do not fit (new links only).
    Config(ConfigError),
    /// The initiation's timestamp is not later than that of an initiation
    /// this link already accepted: a replay (or a peer whose clock went
    /// back, see the module docs, "Initiation timestamps"). Dropped.
    Stale,
    /// A responder handshake with this peer is in progress (three or more
    /// messages) and the new initiation cannot prove it is newer (its
    /// timestamp is not authenticated in this pattern): a replay, or the
    /// peer restarting before its old attempt timed out. Dropped; a genuine
    /// retry succeeds once the old attempt is done.
    Busy,
    /// Both sides initiated at once and ours wins the tie-break (the lower
    /// ephemeral public key): the peer answers ours. Dropped.
    Conflict,
    /// The hello comes from another static key than this link's peer.
    WrongPeer,
    /// Writing the response failed (a handshake message over the size
    /// bounds); nothing changed.
    Handshake(HandshakeError),
    /// The link was closed.
    Closed,
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceptError::Config(e) => fmt::Display::fmt(e, f),
            AcceptError::Stale => f.write_str(
                "initiation not newer than one already accepted (replay); dropped",
            ),
            AcceptError::Busy => f.write_str(
                "a handshake with this peer is in progress and the initiation cannot prove it is \
                 newer; dropped (a genuine retry succeeds once the old attempt is done)",
            ),
            AcceptError::Conflict => f.write_str(
                "simultaneous initiation: ours wins the tie-break, the peer will answer it; dropped",
            ),
            AcceptError::WrongPeer => f.write_str(
                "the initiation comes from another static key than this link's peer; \
                 hand it to that peer's link or build a new one",
            ),
            AcceptError::Handshake(e) => fmt::Display::fmt(e, f),
            AcceptError::Closed => f.write_str("the link is closed; build a new one"),
        }
    }
}

impl core::error::Error for AcceptError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            AcceptError::Config(e) => Some(e),
            AcceptError::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConfigError> for AcceptError {
    fn from(e: ConfigError) -> Self {
        AcceptError::Config(e)
    }
}

/// Why a [`Gate`](super::Gate) dropped an initiation (counted in
/// [`GateStats`](super::GateStats)). No Diffie-Hellman work was done unless
/// the reason is [`GateDrop::Handshake`] or [`GateDrop::BadStamp`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateDrop {
    /// Not an initiation (route it by receiver index instead), or the
    /// header did not parse.
    NotInitiation,
    /// Too short to hold the MACs, or longer than the largest initiation.
    Malformed,
    /// `mac1` does not match: the sender does not know our static public
    /// key (or the datagram was corrupted).
    BadMac1,
    /// Under load, `mac2` was missing or stale and the reply buffer was too
    /// small for the cookie reply.
    CookieReplyBufferTooSmall,
    /// The source used up its initiation allowance for now.
    RateLimitedSource,
    /// The gate used up its total initiation allowance for now.
    RateLimitedTotal,
    /// The per-source table is full of sources still within their
    /// interval; the initiation was dropped rather than evict one.
    TableFull,
    /// The Noise message did not read (forged, corrupted, wrong key).
    Handshake(HandshakeError),
    /// The initiation payload is not an 8-byte timestamp.
    BadStamp,
}

impl fmt::Display for GateDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateDrop::NotInitiation => {
                f.write_str("not an initiation; route the datagram by its receiver index")
            }
            GateDrop::Malformed => f.write_str("initiation of the wrong size; dropped"),
            GateDrop::BadMac1 => f.write_str("initiation mac1 does not match our key; dropped"),
            GateDrop::CookieReplyBufferTooSmall => f.write_str(
                "under load and mac2 invalid, but the reply buffer cannot hold a cookie reply; \
                 pass a buffer of at least COOKIE_REPLY_LEN bytes",
            ),
            GateDrop::RateLimitedSource => f.write_str("source over its initiation rate; dropped"),
            GateDrop::RateLimitedTotal => f.write_str("total initiation rate exceeded; dropped"),
            GateDrop::TableFull => f.write_str("per-source table full of active sources; dropped"),
            GateDrop::Handshake(e) => fmt::Display::fmt(e, f),
            GateDrop::BadStamp => {
                f.write_str("initiation payload is not an 8-byte timestamp; dropped")
            }
        }
    }
}

impl core::error::Error for GateDrop {}
