//! Errors of the Noise handshake: building one, writing or reading a
//! message, splitting, and falling back.

use super::params::ParamsError;
use crate::error::BufferTooSmall;
use core::fmt;

/// Why [`Builder`](super::Builder) could not build a handshake. Fix the
/// builder call; nothing was consumed but the builder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The protocol name did not parse.
    Params(ParamsError),
    /// The pattern needs the local static key pair (`local_static`).
    MissingLocalStatic,
    /// A local static key pair was given but the pattern never uses it.
    UnexpectedLocalStatic,
    /// The pattern needs the peer's static public key up front
    /// (`remote_static`: a pre-message `s` such as in `IK`, `NK`, `KK`).
    MissingRemoteStatic,
    /// A remote static key was given but the pattern transmits it (or never
    /// uses it): it would be ignored, which usually hides a mistake.
    UnexpectedRemoteStatic,
    /// The pattern needs the peer's ephemeral public key up front (the
    /// initiator of a `fallback` pattern): `remote_ephemeral`.
    MissingRemoteEphemeral,
    /// A remote ephemeral key was given but the pattern has no such
    /// pre-message.
    UnexpectedRemoteEphemeral,
    /// The local pre-message has `e` (the responder of a `fallback`
    /// pattern): give it with `fixed_ephemeral`.
    MissingLocalEphemeral,
    /// No PSK was given for modifier `psk{position}`.
    MissingPsk {
        /// The `N` of `pskN`.
        position: u8,
    },
    /// A PSK was given for a position the pattern has no `pskN` for.
    UnexpectedPsk {
        /// The position given.
        position: u8,
    },
    /// A post-quantum pattern needs the local static ML-KEM key pair
    /// (`local_static_kem`).
    MissingLocalStaticKem,
    /// A local static ML-KEM key pair was given but the pattern does not use
    /// one (a classical pattern, or this side has no static key).
    UnexpectedLocalStaticKem,
    /// A post-quantum pattern needs the peer's static ML-KEM public key up
    /// front (`remote_static_kem`: the pre-message `s` of `hybridIK`,
    /// `pqNK`, ...).
    MissingRemoteStaticKem,
    /// A remote static ML-KEM key was given but the pattern does not take
    /// one in advance.
    UnexpectedRemoteStaticKem,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Params(e) => write!(f, "bad protocol name: {e}"),
            BuildError::MissingLocalStatic => {
                f.write_str("the pattern needs a local static key pair: call local_static")
            }
            BuildError::UnexpectedLocalStatic => {
                f.write_str("a local static key pair was given but the pattern does not use one")
            }
            BuildError::MissingRemoteStatic => f.write_str(
                "the pattern needs the peer's static public key in advance: call remote_static",
            ),
            BuildError::UnexpectedRemoteStatic => f.write_str(
                "a remote static key was given but the pattern does not take it in advance",
            ),
            BuildError::MissingRemoteEphemeral => f.write_str(
                "the fallback pattern needs the peer's ephemeral key: call remote_ephemeral",
            ),
            BuildError::UnexpectedRemoteEphemeral => {
                f.write_str("a remote ephemeral key was given but the pattern has no pre-message e")
            }
            BuildError::MissingLocalEphemeral => f.write_str(
                "the fallback pattern needs the local ephemeral key pair used before: call fixed_ephemeral",
            ),
            BuildError::MissingPsk { position } => {
                write!(f, "no pre-shared key for psk{position}: call psk({position}, ..)")
            }
            BuildError::UnexpectedPsk { position } => {
                write!(
                    f,
                    "a pre-shared key was given for psk{position}, which the pattern does not have"
                )
            }
            BuildError::MissingLocalStaticKem => f.write_str(
                "the post-quantum pattern needs a local static ML-KEM key pair: call local_static_kem",
            ),
            BuildError::UnexpectedLocalStaticKem => f.write_str(
                "a local static ML-KEM key pair was given but the pattern does not use one",
            ),
            BuildError::MissingRemoteStaticKem => f.write_str(
                "the post-quantum pattern needs the peer's static ML-KEM public key in advance: call remote_static_kem",
            ),
            BuildError::UnexpectedRemoteStaticKem => f.write_str(
                "a remote static ML-KEM key was given but the pattern does not take it in advance",
            ),
        }
    }
}

impl core::error::Error for BuildError {}

impl From<ParamsError> for BuildError {
    fn from(e: ParamsError) -> Self {
        BuildError::Params(e)
    }
}

/// Why a handshake message could not be written or read. In every case the
/// handshake state is exactly as it was before the call: a reader may drop
/// the message and wait for another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// It is the other side's turn (writing when a message is expected, or
    /// reading when one should be written).
    NotMyTurn,
    /// Every handshake message has been processed: call `split`.
    Finished,
    /// The output buffer is too small; nothing was written.
    BufferTooSmall(BufferTooSmall),
    /// The message would be, or is, longer than 65535 bytes (spec section 3).
    MessageTooLong {
        /// Its length.
        len: usize,
    },
    /// The message is shorter than the pattern's keys and tags require.
    MessageTooShort {
        /// Bytes the keys and tags need.
        needed: usize,
        /// Bytes the message has.
        len: usize,
    },
    /// Authentication of an encrypted key or payload failed: forged,
    /// corrupted, or the peer holds other keys (for `IK`, a stale responder
    /// key: consider `fallback`).
    Decrypt,
    /// A key the pattern needs is missing (only for patterns whose
    /// pre-conditions the builder could not check).
    MissingKey,
    /// The handshake nonce ran out (cannot happen with spec patterns).
    NonceExhausted,
    /// A Diffie-Hellman with the peer's public key gave the all-zero
    /// output: the key (received in the message, or given in advance) is
    /// one of the low-order X25519 points, which no honest peer sends.
    /// Refused because low-order rejection is on (the default, see
    /// [`Builder::reject_low_order_keys`](super::Builder::reject_low_order_keys));
    /// drop the message, nothing changed.
    LowOrderKey,
    /// An ML-KEM-768 public key in the message fails FIPS 203's input
    /// check (a coefficient not below q): corrupted or forged, since no
    /// honest peer produces one. Drop the message, nothing changed.
    InvalidKemKey,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::NotMyTurn => {
                f.write_str("not this side's turn in the handshake; nothing changed")
            }
            HandshakeError::Finished => {
                f.write_str("the handshake is finished: split it into a transport")
            }
            HandshakeError::BufferTooSmall(e) => fmt::Display::fmt(e, f),
            HandshakeError::MessageTooLong { len } => write!(
                f,
                "handshake message of {len} bytes exceeds the Noise maximum of 65535; shorten the payload"
            ),
            HandshakeError::MessageTooShort { needed, len } => write!(
                f,
                "handshake message of {len} bytes is shorter than the {needed} its keys need; dropped, nothing changed"
            ),
            HandshakeError::Decrypt => f.write_str(
                "handshake message failed authentication (forged, corrupted or other keys); dropped, nothing changed",
            ),
            HandshakeError::MissingKey => {
                f.write_str("a key the pattern needs was never provided or received")
            }
            HandshakeError::NonceExhausted => f.write_str("handshake nonce exhausted"),
            HandshakeError::LowOrderKey => f.write_str(
                "the peer's X25519 public key has low order (all-zero shared secret); refused, nothing changed",
            ),
            HandshakeError::InvalidKemKey => f.write_str(
                "the peer's ML-KEM public key fails the FIPS 203 modulus check (corrupted or forged); dropped, nothing changed",
            ),
        }
    }
}

impl core::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            HandshakeError::BufferTooSmall(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BufferTooSmall> for HandshakeError {
    fn from(e: BufferTooSmall) -> Self {
        HandshakeError::BufferTooSmall(e)
    }
}

/// Why a handshake could not be turned into a fallback handshake
/// (spec section 10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackError {
    /// The new protocol has no `fallback` modifier, or its pre-message is not
    /// Alice's `e` alone.
    NotFallbackPattern,
    /// The old handshake is not at the right step: Alice must have written
    /// exactly the first message; Bob must have read nothing.
    WrongState,
    /// The first message is shorter than an ephemeral key.
    MessageTooShort,
    /// Building the new handshake failed.
    Build(BuildError),
}

impl fmt::Display for FallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FallbackError::NotFallbackPattern => f.write_str(
                "the new protocol name must use the fallback modifier with Alice's pre-message e",
            ),
            FallbackError::WrongState => f.write_str(
                "fallback needs the initiator right after its first message, or the responder before any read",
            ),
            FallbackError::MessageTooShort => {
                f.write_str("the first message is too short to hold an ephemeral key")
            }
            FallbackError::Build(e) => write!(f, "fallback handshake: {e}"),
        }
    }
}

impl core::error::Error for FallbackError {}

impl From<BuildError> for FallbackError {
    fn from(e: BuildError) -> Self {
        FallbackError::Build(e)
    }
}
