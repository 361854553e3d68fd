//! Errors of the routing machine.

use core::fmt;

/// Why an announcement was refused. Each refusal is also counted in
/// [`super::Stats`]; the machine's state is unchanged except that the
/// sender's previous announcement may stop being used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnnounceError {
    /// The bytes are not a well-formed announcement (truncated, trailing
    /// bytes, unknown version or kind, zero slot).
    Malformed,
    /// The chain is longer than [`super::MAX_DEPTH`], or the coordinate it
    /// spells needs more than [`super::coords::MAX_RUNS`] runs.
    TooDeep,
    /// The announcement came on a link that is not registered.
    UnknownLink,
    /// The sender's key (last key of the chain) is not the key of the link.
    WrongSender,
    /// The grant is addressed to another node.
    GrantNotForUs,
    /// A signature in the chain (root heartbeat or a grant) does not verify:
    /// the sender claims a position nobody granted it.
    BadSignature,
    /// A key appears twice in the chain (a looping ancestry).
    LoopingChain,
    /// The chain's root was declared dead and this sequence number is not
    /// newer than the last one seen from it.
    StaleRoot,
    /// A keepalive did not match the last full announcement of this
    /// neighbour; a full one has been requested.
    UnknownDigest,
    /// A segment that does not continue the chain being received from this
    /// neighbour (a segment was lost, or the chain changed under it); a full
    /// announcement has been requested.
    OutOfOrder,
    /// A grant in the chain is older than its lifetime
    /// ([`super::announce::grant_age_limit`]): its parent stopped renewing it
    /// (a revoked grant, or a replay of one).
    Expired,
    /// The root claims a rank above 0 without a valid credential from the
    /// configured authority (or none is configured).
    BadCredential,
    /// The root already roots an earlier tree here: one key roots one tree.
    DuplicateRoot,
    /// Verifying this announcement would exceed the neighbour's
    /// verification budget for this interval
    /// ([`super::Config::verify_budget`]): nothing was changed; the rest is
    /// asked for again after the next interval.
    OverBudget,
}

impl fmt::Display for AnnounceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            AnnounceError::Malformed => "malformed announcement; dropped",
            AnnounceError::TooDeep => {
                "announcement chain deeper than MAX_DEPTH or its coordinate over MAX_RUNS runs; dropped"
            }
            AnnounceError::UnknownLink => {
                "announcement on an unregistered link; call handle_link_up first"
            }
            AnnounceError::WrongSender => {
                "announcement signed for another sender than the link's peer; dropped"
            }
            AnnounceError::GrantNotForUs => "announcement grant addressed to another node; dropped",
            AnnounceError::BadSignature => {
                "announcement signature invalid (forged position); dropped"
            }
            AnnounceError::LoopingChain => "announcement chain repeats a key; dropped",
            AnnounceError::StaleRoot => "announcement from a root declared dead; dropped",
            AnnounceError::UnknownDigest => {
                "keepalive for an unknown chain; a full announcement was requested"
            }
            AnnounceError::OutOfOrder => {
                "announcement segment out of order; a full announcement was requested"
            }
            AnnounceError::Expired => {
                "announcement carries a grant past its lifetime (revoked or replayed); dropped"
            }
            AnnounceError::BadCredential => {
                "announcement root claims a rank without a valid authority credential; dropped"
            }
            AnnounceError::DuplicateRoot => {
                "announcement root already roots an earlier tree (one key, one tree); dropped"
            }
            AnnounceError::OverBudget => {
                "neighbour's verification budget for this interval is spent; deferred, asked again later"
            }
        };
        f.write_str(s)
    }
}

impl core::error::Error for AnnounceError {}

/// Why a link could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// Every entry of the caller's neighbour table is in use: remove a link or
    /// give the node a larger table.
    TableFull,
    /// This link id is already registered.
    Duplicate,
    /// The peer key is this node's own key.
    SelfLink,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            LinkError::TableFull => "neighbour table full; remove a link or use a larger table",
            LinkError::Duplicate => "link id already registered",
            LinkError::SelfLink => "peer key is our own key",
        };
        f.write_str(s)
    }
}

impl core::error::Error for LinkError {}
