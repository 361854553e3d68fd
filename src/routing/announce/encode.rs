//! Writing announcements: segments, whole chains and keepalives, in the
//! layout the [module docs](super) give (the reader is in `mod.rs`).

#[cfg(doc)]
use super::SEGMENT_HOPS;
#[cfg(doc)]
use super::chain_digest;
use super::{
    ANNOUNCE_VERSION, FLAG_DETACHED, FLAG_GRANT, FLAG_WANT, HOP_WIRE_LEN, Hop, KEEPALIVE_LEN,
    KIND_KEEPALIVE, KIND_SEGMENT, RootInfo, SEGMENT_HEADER_LEN, digest_of,
};
use crate::buf::Writer;
use crate::error::BufferTooSmall;
use crate::routing::config::MAX_TREES;
use crate::routing::coords::MAX_DEPTH;

fn write_root(w: &mut Writer<'_>, root: &RootInfo, credential: bool) -> Result<(), BufferTooSmall> {
    w.put(&root.key)?;
    w.u32(root.rank)?;
    w.u64(root.seq)?;
    w.u16(root.spread)?;
    w.put(&root.sig)?;
    if credential {
        w.put(&root.credential)?;
    }
    Ok(())
}

fn write_hop(w: &mut Writer<'_>, hop: &Hop) -> Result<(), BufferTooSmall> {
    w.put(&hop.key)?;
    w.u16(hop.slot)?;
    w.u64(hop.epoch)?;
    w.put(&hop.sig)
}

/// Bytes of a segment with `n` hops.
pub fn segment_len(n: usize, grant: bool) -> usize {
    let hops = n.saturating_add(usize::from(grant));
    SEGMENT_HEADER_LEN.saturating_add(hops.saturating_mul(HOP_WIRE_LEN))
}

/// Everything of a segment but its hops and grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The tree.
    pub tree: u8,
    /// The root heartbeat (with its credential).
    pub root: RootInfo,
    /// Hops in the whole chain.
    pub total: u16,
    /// Index of the segment's first hop.
    pub start: u16,
    /// The digest naming the chain ([`chain_digest`]).
    pub digest: [u8; 16],
    /// Ask the receiver for its chain from this hop on.
    pub want: Option<u16>,
    /// We are detached ([`FLAG_DETACHED`]).
    pub detached: bool,
}

fn unrepresentable(buf: &[u8]) -> BufferTooSmall {
    BufferTooSmall {
        needed: usize::MAX,
        available: buf.len(),
    }
}

fn write_header(
    w: &mut Writer<'_>,
    kind: u8,
    tree: u8,
    flags: u8,
    n: u8,
    want: Option<u16>,
) -> Result<(), BufferTooSmall> {
    let flags = if want.is_some() {
        flags | FLAG_WANT
    } else {
        flags
    };
    w.put(&[ANNOUNCE_VERSION, kind, tree, flags, n])?;
    w.u16(want.unwrap_or(0))
}

/// Writes one segment: `hops` are the chain's hops `start..start + hops.len()`
/// of a chain of `h.total` hops; `grant` is written only on the last segment
/// (`start + hops.len() == total`) of a chain shallower than [`MAX_DEPTH`].
/// Returns the length.
///
/// # Errors
/// [`BufferTooSmall`] (also for more than [`SEGMENT_HOPS`] hops, a range
/// past `total`, a tree ≥ [`MAX_TREES`] or a hop whose epoch is after the
/// root's heartbeat, which no buffer can hold); nothing is written.
pub fn encode_segment(
    buf: &mut [u8],
    h: &SegmentHeader,
    hops: &[Hop],
    grant: Option<&Hop>,
) -> Result<usize, BufferTooSmall> {
    let n = u8::try_from(hops.len()).ok();
    let end = u16::try_from(hops.len())
        .ok()
        .and_then(|l| h.start.checked_add(l))
        .filter(|&end| end <= h.total && usize::from(h.total) <= MAX_DEPTH);
    let (Some(n), Some(end)) = (n, end) else {
        return Err(unrepresentable(buf));
    };
    let seq = h.root.seq;
    if usize::from(h.tree) >= MAX_TREES || hops.iter().chain(grant).any(|x| x.epoch > seq) {
        return Err(unrepresentable(buf));
    }
    let grant = if end == h.total && usize::from(h.total) < MAX_DEPTH {
        grant
    } else {
        None
    };
    let mut w = Writer::new(buf);
    w.ensure(segment_len(hops.len(), grant.is_some()))?;
    let flags =
        if grant.is_some() { FLAG_GRANT } else { 0 } | if h.detached { FLAG_DETACHED } else { 0 };
    write_header(&mut w, KIND_SEGMENT, h.tree, flags, n, h.want)?;
    write_root(&mut w, &h.root, true)?;
    w.u16(h.total)?;
    w.u16(h.start)?;
    w.put(&h.digest)?;
    for x in hops.iter().chain(grant) {
        write_hop(&mut w, x)?;
    }
    Ok(w.position())
}

/// Writes a whole chain of at most [`SEGMENT_HOPS`] hops as its single
/// segment, with its digest ([`digest_of`]); the common case, deeper chains
/// need [`encode_segment`] per segment. Returns the length.
///
/// # Errors
/// As [`encode_segment`]; nothing is written.
pub fn encode_full(
    buf: &mut [u8],
    tree: u8,
    root: &RootInfo,
    hops: &[Hop],
    grant: Option<&Hop>,
    want: Option<u16>,
) -> Result<usize, BufferTooSmall> {
    let Ok(total) = u16::try_from(hops.len()) else {
        return Err(unrepresentable(buf));
    };
    let h = SegmentHeader {
        tree,
        root: *root,
        total,
        start: 0,
        digest: digest_of(tree, root, hops, grant),
        want,
        detached: false,
    };
    encode_segment(buf, &h, hops, grant)
}

/// Writes a keepalive; returns [`KEEPALIVE_LEN`].
///
/// # Errors
/// [`BufferTooSmall`] (also for a tree ≥ [`MAX_TREES`]); nothing is written.
pub fn encode_keepalive(
    buf: &mut [u8],
    tree: u8,
    root: &RootInfo,
    digest: &[u8; 16],
    want: Option<u16>,
) -> Result<usize, BufferTooSmall> {
    encode_keepalive_flagged(buf, tree, root, digest, want, false)
}

/// [`encode_keepalive`] with the detached flag ([`FLAG_DETACHED`]).
///
/// # Errors
/// As [`encode_keepalive`].
pub fn encode_keepalive_flagged(
    buf: &mut [u8],
    tree: u8,
    root: &RootInfo,
    digest: &[u8; 16],
    want: Option<u16>,
    detached: bool,
) -> Result<usize, BufferTooSmall> {
    if usize::from(tree) >= MAX_TREES {
        return Err(unrepresentable(buf));
    }
    let mut w = Writer::new(buf);
    w.ensure(KEEPALIVE_LEN)?;
    let flags = if detached { FLAG_DETACHED } else { 0 };
    write_header(&mut w, KIND_KEEPALIVE, tree, flags, 0, want)?;
    write_root(&mut w, root, false)?;
    w.put(digest)?;
    Ok(w.position())
}
