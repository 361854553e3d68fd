//! Announcement wire format and the parsed view.
//!
//! # Authentication: a signed path from the root
//!
//! The root of tree `t` signs a heartbeat `(t, root key, rank, seq, spread)`
//! and, when its rank is not 0, carries a rank credential signed by the
//! deployment's authority ([`crate::routing::credential`]). Every tree edge
//! is a *grant*: the parent signs `(its prefix tag, the slot, the child's
//! key, the epoch)` ([`sign`]), where the prefix tag is a hash chain over the
//! tree, the root key and rank and every `(key, slot)` from the root down to
//! the parent. The tag commits to the parent's whole position and key, so a
//! grant is bound to exactly one position of one tree, and the signed
//! message has a fixed size whatever the depth. A node's announcement
//! carries the root heartbeat and the grants from the root down to itself
//! (one [`Hop`] per level), plus one more grant addressed to the receiving
//! neighbour, offering it a slot. A receiver checks every signature, that
//! each grant is signed by the key named one level up, that the last key is
//! the key of the link it arrived on and that the offered grant names the
//! receiver. A node therefore cannot claim a position its parent did not
//! grant, nor a root that did not sign the sequence number.
//!
//! # Grants expire
//!
//! A grant's *epoch* is the root heartbeat sequence number it was signed
//! under. Every parent re-signs the grants it gives every
//! [`GRANT_RENEW_AGE`] heartbeats. A receiver refuses
//! ([`AnnounceError::Expired`]) an announcement whose sender's own grant
//! (the last hop of its chain), or the grant offered to the receiver, is
//! more than [`grant_age_limit`] heartbeats older than the newest
//! heartbeat it knows of that root ([`GRANT_LIFETIME`] plus an allowance
//! for the heartbeat's travel time down to that depth). So a grant a
//! parent stopped giving (the link to that child went down) stops being
//! accepted within the limit, and a former child cannot keep replaying it;
//! its own children refuse its announcements too, and leave. The hops
//! above the sender's own are checked for their signatures, not their age:
//! each of them was some node's own grant when that node announced it, and
//! a node keeps the upper part of its chain as it first verified it (a
//! renewal costs one verification per neighbour, not one per hop).
//!
//! # Segments
//!
//! A chain of `d` hops is sent as `⌈d / s⌉` *segments* (`s` ≤
//! [`SEGMENT_HOPS`], one segment, at least, for the root's empty chain),
//! each at most [`MAX_SEGMENT_LEN`] bytes. Each segment repeats the root
//! heartbeat, says where it starts and how long the whole chain is, and
//! names the chain by its digest; the grant rides on the last one. The
//! receiver verifies the hops as they arrive, keeping only a fixed-size
//! state per neighbour, so a chain of any depth up to [`MAX_DEPTH`] is
//! checked in bounded memory. A receiver can ask for a chain from any hop on
//! (`want_from`): it resumes a chain it stopped verifying (verification
//! budget) or whose segment it lost.
//!
//! # Wire (big-endian)
//!
//! | item | layout | bytes |
//! |---|---|---|
//! | header | `version = 3 · kind · tree · flags · n · want_from u16` | 7 |
//! | segment | header · root · `total u16 · start u16 · digest [16]` · n × hop · \[grant hop\] | 201 + 106 × (n + grant) ≤ [`MAX_SEGMENT_LEN`] = 27,337 |
//! | keepalive | header (n = 0) · root without credential · `digest [16]` | [`KEEPALIVE_LEN`] = 133 |
//! | root | `key [32] · rank u32 · seq u64 · spread u16 · sig [64]` · `credential [64]` (segments only) | 174 (110 in a keepalive) |
//! | hop | `key [32] · slot u16 · epoch u64 · sig [64]` | [`HOP_WIRE_LEN`] = 106 |
//!
//! `kind` 1 segment, 2 keepalive. `tree` < [`MAX_TREES`]. `flags` bit 0: a
//! grant for the receiver follows (last segment only); bit 1: "send me your
//! chain from hop `want_from` on" (`want_from` is 0 otherwise); bit 2: the
//! sender is *detached* (it lost its parent and keeps its old position, for
//! forwarding only, while it re-joins: do not take it as a parent); other
//! bits zero. `n ≤ SEGMENT_HOPS`, `start + n ≤ total ≤ MAX_DEPTH`; the segment
//! with `start + n == total` is the last one. Slots are non-zero.

mod encode;
pub mod sign;

use super::config::MAX_TREES;
use super::coords::{Coord, MAX_DEPTH};
use crate::buf::Reader;

use super::error::AnnounceError;
pub use encode::{
    SegmentHeader, encode_full, encode_keepalive, encode_keepalive_flagged, encode_segment,
    segment_len,
};
pub use sign::{
    GRANT_MSG_LEN, RANK_MSG_LEN, ROOT_MSG_LEN, chain_digest, chain_tag, digest_of, grant_message,
    last_epoch, next_tag, rank_message, root_message, root_tag,
};

/// Version byte of the announcement format.
pub const ANNOUNCE_VERSION: u8 = 3;
/// Kind byte of a segment of a full announcement.
pub const KIND_SEGMENT: u8 = 1;
/// Kind byte of a keepalive.
pub const KIND_KEEPALIVE: u8 = 2;
/// Flag: a grant for the receiver follows the chain (last segment only).
pub const FLAG_GRANT: u8 = 1;
/// Flag: the sender asks for the receiver's chain from hop `want_from` on.
pub const FLAG_WANT: u8 = 2;
/// Flag: the sender lost its parent and keeps its old position while it
/// looks for a new one (usable for forwarding, not as a parent).
pub const FLAG_DETACHED: u8 = 4;

/// Most hops in one segment.
pub const SEGMENT_HOPS: usize = 255;
/// Bytes of the common header.
pub const HEADER_LEN: usize = 7;
/// Bytes of the root heartbeat in a segment (with the credential).
pub const ROOT_WIRE_LEN: usize = 32 + 4 + 8 + 2 + 64 + 64;
/// Bytes of the root heartbeat in a keepalive (no credential).
pub const KEEPALIVE_ROOT_LEN: usize = ROOT_WIRE_LEN - 64;
/// Bytes of one hop (grant) on the wire.
pub const HOP_WIRE_LEN: usize = 32 + 2 + 8 + 64;
/// Bytes of a segment before its hops.
pub const SEGMENT_HEADER_LEN: usize = HEADER_LEN + ROOT_WIRE_LEN + 4 + 16;
/// Bytes of a keepalive.
pub const KEEPALIVE_LEN: usize = HEADER_LEN + KEEPALIVE_ROOT_LEN + 16;
/// Largest segment: header, [`SEGMENT_HOPS`] hops and a grant (27,337 bytes).
pub const MAX_SEGMENT_LEN: usize = SEGMENT_HEADER_LEN + (SEGMENT_HOPS + 1) * HOP_WIRE_LEN;
/// Largest announcement message of either kind (a segment).
pub const MAX_ANNOUNCE_LEN: usize = MAX_SEGMENT_LEN;
/// Most announcements one message carries back to back (a receiver
/// refuses the rest as [`AnnounceError::Malformed`]): a node sends the
/// keepalives of all its trees to one neighbour in one message
/// ([`crate::routing::MAX_TREES`] × [`KEEPALIVE_LEN`] = 532 bytes), so
/// keepalive messages do not grow with the number of trees.
pub const MAX_BUNDLE: usize = crate::routing::MAX_TREES;

/// Largest announcement with at most `hops` hops per segment: a driver with
/// an MTU picks [`crate::routing::Config::segment_hops`] so that this fits
/// (9 hops: 1,261 bytes).
pub const fn segment_buf_len(hops: usize) -> usize {
    let hops = if hops > SEGMENT_HOPS {
        SEGMENT_HOPS
    } else if hops == 0 {
        1
    } else {
        hops
    };
    SEGMENT_HEADER_LEN.saturating_add(hops.saturating_add(1).saturating_mul(HOP_WIRE_LEN))
}

/// Heartbeats a grant stays valid after its epoch, at depth 0 (see
/// [`grant_age_limit`]): 60 s at the default root refresh.
pub const GRANT_LIFETIME: u64 = 6;
/// A parent re-signs its grants once they are this many heartbeats old
/// (30 s at the default root refresh).
pub const GRANT_RENEW_AGE: u64 = 3;

/// How many heartbeats past its epoch a grant at `depth` (1 for the root's
/// child) is still accepted: [`GRANT_LIFETIME`], plus one heartbeat for
/// every `hops_per_heartbeat` levels of depth (a heartbeat reaches depth
/// `d` about `d` announcement hops after the root signed it, so a parent
/// deep down renews late by the receiver's clock; `hops_per_heartbeat` is
/// the root refresh divided by twice the per-hop root timeout allowance, 50
/// at the defaults; 0 counts as 1).
pub const fn grant_age_limit(depth: usize, hops_per_heartbeat: u64) -> u64 {
    let per = if hops_per_heartbeat == 0 {
        1
    } else {
        hops_per_heartbeat
    };
    GRANT_LIFETIME.saturating_add((depth as u64).div_ceil(per))
}

/// The root's signed heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootInfo {
    /// The root's public key.
    pub key: [u8; 32],
    /// The root's election rank (0 unless `credential` proves it).
    pub rank: u32,
    /// Heartbeat sequence number (increases every root refresh).
    pub seq: u64,
    /// The root's distance in hops from the roots of the earlier trees
    /// (tree 0: 0); see [`crate::routing::node`] on root election.
    pub spread: u16,
    /// Ed25519 signature by `key` over [`root_message`].
    pub sig: [u8; 64],
    /// The authority's signature over [`rank_message`]`(key, rank)`; zero
    /// for rank 0 and in keepalives.
    pub credential: [u8; 64],
}

impl RootInfo {
    /// Whether `self` wins the election of tree 0 against `other`: higher
    /// rank, then smaller key. The order is total and the same at every
    /// node. Trees 1.. also weigh the spread ([`RootInfo::beats_in`]).
    pub fn beats(&self, other: &RootInfo) -> bool {
        self.beats_in(0, 0, other)
    }

    /// Whether `self` wins the election of tree `tree` against `other`
    /// when roots are wanted `spread_cap` hops apart: tree 0 as
    /// [`RootInfo::beats`]; trees 1.. compare, in order: a credentialed
    /// rank (above 0) first, then `min(spread, spread_cap)`, then rank,
    /// then the smaller key.
    pub fn beats_in(&self, tree: u8, spread_cap: u16, other: &RootInfo) -> bool {
        use core::cmp::Reverse;
        let score = |r: &RootInfo| {
            let (elevated, s) = if tree == 0 {
                (false, 0)
            } else {
                (r.rank > 0, r.spread.min(spread_cap))
            };
            (Reverse(elevated), Reverse(s), Reverse(r.rank), r.key)
        };
        score(self) < score(other)
    }

    /// Same root (key and rank), whatever the heartbeat.
    pub fn same_tree(&self, other: &RootInfo) -> bool {
        self.key == other.key && self.rank == other.rank
    }
}

/// One grant: `key` was given `slot` by the key one level up, under the
/// root heartbeat `epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The child's public key.
    pub key: [u8; 32],
    /// The slot granted (non-zero).
    pub slot: u16,
    /// The root heartbeat sequence number the grant was signed under.
    pub epoch: u64,
    /// Ed25519 signature by the parent over [`grant_message`].
    pub sig: [u8; 64],
}

/// A parsed, structurally valid announcement (signatures not yet checked).
#[derive(Clone, Debug)]
pub enum Announcement<'a> {
    /// A segment of the sender's chain and, on the last one, optionally a
    /// grant for the receiver.
    Full(Full<'a>),
    /// Heartbeat plus the digest of the sender's current chain.
    Keepalive(Keepalive),
}

/// One segment of a full announcement.
#[derive(Clone, Debug)]
pub struct Full<'a> {
    /// The tree.
    pub tree: u8,
    /// The root heartbeat.
    pub root: RootInfo,
    /// The sender asks for our chain from this hop on.
    pub want: Option<u16>,
    /// The sender is detached (not a parent to take).
    pub detached: bool,
    /// Hops in the whole chain (the sender's depth).
    pub total: u16,
    /// Index of this segment's first hop in the chain.
    pub start: u16,
    /// The digest naming the whole chain ([`chain_digest`]).
    pub digest: [u8; 16],
    hops: &'a [u8],
    /// The grant offered to the receiver (last segment only; absent at
    /// [`MAX_DEPTH`]).
    pub grant: Option<Hop>,
}

/// A keepalive.
#[derive(Clone, Copy, Debug)]
pub struct Keepalive {
    /// The tree.
    pub tree: u8,
    /// The root heartbeat (credential zero).
    pub root: RootInfo,
    /// The sender asks for our chain from this hop on.
    pub want: Option<u16>,
    /// The sender is detached (not a parent to take).
    pub detached: bool,
    /// Digest of the sender's current chain ([`chain_digest`]).
    pub digest: [u8; 16],
}

fn read_root(r: &mut Reader<'_>, credential: bool) -> Result<RootInfo, AnnounceError> {
    let m = |_| AnnounceError::Malformed;
    let key = r.array::<32>().map_err(m)?;
    let rank = r.u32().map_err(m)?;
    let seq = r.u64().map_err(m)?;
    let spread = r.u16().map_err(m)?;
    let sig = r.array::<64>().map_err(m)?;
    let credential = if credential {
        r.array::<64>().map_err(m)?
    } else {
        [0; 64]
    };
    Ok(RootInfo {
        key,
        rank,
        seq,
        spread,
        sig,
        credential,
    })
}

fn read_hop(r: &mut Reader<'_>, seq: u64) -> Result<Hop, AnnounceError> {
    let m = |_| AnnounceError::Malformed;
    let key = r.array::<32>().map_err(m)?;
    let slot = r.u16().map_err(m)?;
    let epoch = r.u64().map_err(m)?;
    let sig = r.array::<64>().map_err(m)?;
    if slot == 0 || epoch > seq {
        return Err(AnnounceError::Malformed);
    }
    Ok(Hop {
        key,
        slot,
        epoch,
        sig,
    })
}

fn header(r: &mut Reader<'_>) -> Result<(u8, u8, u8, u8, Option<u16>), AnnounceError> {
    let [version, kind, tree, flags, n] = r.array::<5>().map_err(|_| AnnounceError::Malformed)?;
    let want_from = r.u16().map_err(|_| AnnounceError::Malformed)?;
    if version != ANNOUNCE_VERSION
        || usize::from(tree) >= MAX_TREES
        || flags & !(FLAG_GRANT | FLAG_WANT | FLAG_DETACHED) != 0
        || (flags & FLAG_WANT == 0 && want_from != 0)
    {
        return Err(AnnounceError::Malformed);
    }
    let want = (flags & FLAG_WANT != 0).then_some(want_from);
    Ok((kind, tree, flags, n, want))
}

impl<'a> Announcement<'a> {
    /// Parses one announcement that is the whole of `bytes`; never panics.
    ///
    /// # Errors
    /// [`AnnounceError::Malformed`] (also for bytes left over) or
    /// [`AnnounceError::TooDeep`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, AnnounceError> {
        match Self::parse_prefix(bytes)? {
            (a, n) if n == bytes.len() => Ok(a),
            _ => Err(AnnounceError::Malformed),
        }
    }

    /// Parses the announcement at the start of `bytes` and says how many
    /// bytes it took (a message may carry several back to back, see
    /// [`MAX_BUNDLE`]); never panics.
    ///
    /// # Errors
    /// [`AnnounceError::Malformed`] or [`AnnounceError::TooDeep`].
    pub fn parse_prefix(bytes: &'a [u8]) -> Result<(Self, usize), AnnounceError> {
        let m = |_| AnnounceError::Malformed;
        let mut r = Reader::new(bytes);
        let (kind, tree, flags, n, want) = header(&mut r)?;
        let out = match kind {
            KIND_SEGMENT => {
                let root = read_root(&mut r, true)?;
                let total = r.u16().map_err(m)?;
                let start = r.u16().map_err(m)?;
                let digest = r.array::<16>().map_err(m)?;
                if usize::from(total) > MAX_DEPTH {
                    return Err(AnnounceError::TooDeep);
                }
                let n16 = u16::from(n);
                let end = start.checked_add(n16).ok_or(AnnounceError::Malformed)?;
                if end > total || (n == 0 && total != 0) {
                    return Err(AnnounceError::Malformed);
                }
                let hops = r
                    .take(usize::from(n).saturating_mul(HOP_WIRE_LEN))
                    .map_err(m)?;
                let mut hr = Reader::new(hops);
                while !hr.is_empty() {
                    read_hop(&mut hr, root.seq)?;
                }
                let grant = if flags & FLAG_GRANT != 0 {
                    if end != total {
                        return Err(AnnounceError::Malformed);
                    }
                    if usize::from(total) >= MAX_DEPTH {
                        return Err(AnnounceError::TooDeep);
                    }
                    Some(read_hop(&mut r, root.seq)?)
                } else {
                    None
                };
                Announcement::Full(Full {
                    tree,
                    root,
                    want,
                    detached: flags & FLAG_DETACHED != 0,
                    total,
                    start,
                    digest,
                    hops,
                    grant,
                })
            }
            KIND_KEEPALIVE => {
                if n != 0 || flags & FLAG_GRANT != 0 {
                    return Err(AnnounceError::Malformed);
                }
                let root = read_root(&mut r, false)?;
                let digest = r.array::<16>().map_err(m)?;
                Announcement::Keepalive(Keepalive {
                    tree,
                    root,
                    want,
                    detached: flags & FLAG_DETACHED != 0,
                    digest,
                })
            }
            _ => return Err(AnnounceError::Malformed),
        };
        Ok((out, r.position()))
    }

    /// The tree the announcement is about.
    pub fn tree(&self) -> u8 {
        match self {
            Announcement::Full(f) => f.tree,
            Announcement::Keepalive(k) => k.tree,
        }
    }

    /// The sender's request for our chain (from this hop on), if any.
    pub fn want(&self) -> Option<u16> {
        match self {
            Announcement::Full(f) => f.want,
            Announcement::Keepalive(k) => k.want,
        }
    }
}

impl Full<'_> {
    /// Number of hops in this segment.
    pub fn len(&self) -> usize {
        self.hops.len() / HOP_WIRE_LEN
    }

    /// Whether this segment carries no hop (the root's announcement).
    pub fn is_empty(&self) -> bool {
        self.hops.is_empty()
    }

    /// Whether this is the last segment of the chain.
    pub fn is_last(&self) -> bool {
        usize::from(self.start).saturating_add(self.len()) == usize::from(self.total)
    }

    /// The sender's depth (hops in the whole chain).
    pub fn depth(&self) -> usize {
        usize::from(self.total)
    }

    /// This segment's hops, in chain order.
    pub fn hops(&self) -> impl Iterator<Item = Hop> + '_ {
        let mut r = Reader::new(self.hops);
        let seq = self.root.seq;
        // Every hop was validated by `parse`.
        core::iter::from_fn(move || read_hop(&mut r, seq).ok())
    }

    /// The sender's coordinate, if this segment holds the whole chain.
    pub fn coord(&self) -> Option<Coord> {
        if self.start != 0 || !self.is_last() {
            return None;
        }
        let mut c = Coord::root();
        for h in self.hops() {
            c.push(h.slot).ok()?;
        }
        Some(c)
    }
}

#[cfg(test)]
mod tests;
