//! What the machine reports: counters, events and transmits.

use super::super::greedy::LinkId;
#[cfg(doc)]
use super::super::{AnnounceError, Config};
#[cfg(doc)]
use super::Node;

/// Counters of everything the machine did, refused or dropped (all trees
/// together).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Announcements accepted (full and keepalive).
    pub announcements_in: u64,
    /// Announcements written by [`Node::poll_transmit`].
    pub announcements_out: u64,
    /// Full announcements written (segments that end a chain).
    pub full_out: u64,
    /// Refused: malformed or too deep.
    pub rejected_malformed: u64,
    /// Refused: unregistered link.
    pub rejected_unknown_link: u64,
    /// Refused: wrong sender or grant not for us.
    pub rejected_identity: u64,
    /// Refused: a signature did not verify.
    pub rejected_signature: u64,
    /// Refused: a key repeated in the chain.
    pub rejected_loop: u64,
    /// Refused: chain of a dead root.
    pub rejected_stale_root: u64,
    /// Refused: a grant past its lifetime ([`AnnounceError::Expired`]).
    pub rejected_expired: u64,
    /// Refused: a rank without a valid credential
    /// ([`AnnounceError::BadCredential`]), or a root of an earlier tree
    /// ([`AnnounceError::DuplicateRoot`]).
    pub rejected_credential: u64,
    /// Keepalives that did not match the stored chain.
    pub unknown_digest: u64,
    /// Segments that did not continue the chain being received.
    pub out_of_order: u64,
    /// Announcements not (fully) processed because the neighbour's
    /// verification budget was spent ([`AnnounceError::OverBudget`]).
    pub over_budget: u64,
    /// Ed25519 verifications performed.
    pub signatures_verified: u64,
    /// Signature checks answered by the cache or by our own chain.
    pub signature_cache_hits: u64,
    /// Times a parent changed (including to none), all trees.
    pub parent_changes: u64,
    /// Times a root changed, all trees.
    pub root_changes: u64,
    /// Roots declared dead.
    pub roots_expired: u64,
    /// Chains renewed in place (same position, fresher grants).
    pub renewals: u64,
    /// Neighbour views timed out.
    pub neighbour_timeouts: u64,
    /// Neighbours reported by the driver as not getting traffic through
    /// ([`Node::handle_link_suspect`]).
    pub suspected: u64,
    /// Neighbours removed from the table and reported
    /// ([`Event::NeighbourEvicted`]).
    pub evictions: u64,
    /// Eviction reports overwritten before the driver polled them (the
    /// link is unknown to the node either way).
    pub eviction_reports_lost: u64,
    /// Packets delivered here.
    pub delivered: u64,
    /// Packets forwarded.
    pub forwarded: u64,
    /// Switches of tree at a dead end (see
    /// [`super::super::greedy::decide_multi`]).
    pub tree_switches: u64,
    /// Dead ends reported as path broken.
    pub path_broken: u64,
    /// Packets dropped (dead-ended notices).
    pub dropped: u64,
    /// Links refused because the table was full of useful neighbours.
    pub table_full: u64,
}

/// Why a neighbour left the table without the driver asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Eviction {
    /// Nothing valid from it for [`Config::silent_eviction`].
    Silent,
    /// Its key came up on another link, which took its entry.
    Replaced,
    /// The table was full; it was the worst idle neighbour and a new link
    /// took its entry.
    TableFull,
}

/// An event for the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// This node's coordinate or root changed in some tree (coalesced: one
    /// event however many changes happened since the last poll). Read
    /// [`Node::locator`].
    PositionChanged,
    /// The node removed this link's neighbour from its table: the driver
    /// should close the link. The node has forgotten the link already
    /// (announcements on it are [`AnnounceError::UnknownLink`], a
    /// `handle_link_down` for it does nothing).
    NeighbourEvicted {
        /// The link.
        link: LinkId,
        /// Why.
        reason: Eviction,
    },
}

/// An announcement written by [`Node::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The link to send it on.
    pub link: LinkId,
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
}
