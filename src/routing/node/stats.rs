//! What the machine reports: counters, events and transmits.

use super::super::greedy::LinkId;
#[cfg(doc)]
use super::Node;

/// Counters of everything the machine did, refused or dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Announcements accepted (full and keepalive).
    pub announcements_in: u64,
    /// Announcements written by [`Node::poll_transmit`].
    pub announcements_out: u64,
    /// Full announcements written.
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
    /// Keepalives that did not match the stored chain.
    pub unknown_digest: u64,
    /// Segments that did not continue the chain being received.
    pub out_of_order: u64,
    /// Ed25519 verifications performed.
    pub signatures_verified: u64,
    /// Signature checks answered by the cache or by our own chain.
    pub signature_cache_hits: u64,
    /// Times the parent changed (including to none).
    pub parent_changes: u64,
    /// Times the root changed.
    pub root_changes: u64,
    /// Roots declared dead.
    pub roots_expired: u64,
    /// Neighbours timed out.
    pub neighbour_timeouts: u64,
    /// Packets delivered here.
    pub delivered: u64,
    /// Packets forwarded.
    pub forwarded: u64,
    /// Dead ends reported as path broken.
    pub path_broken: u64,
    /// Packets dropped (dead-ended notices, root mismatch of a notice).
    pub dropped: u64,
    /// Links refused because the table was full.
    pub table_full: u64,
}

/// An event for the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// This node's coordinate or root changed (coalesced: one event however
    /// many changes happened since the last poll). Read [`Node::coord`].
    PositionChanged,
}

/// An announcement written by [`Node::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The link to send it on.
    pub link: LinkId,
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
}
