//! Announcement wire format, signature messages and the parsed view.
//!
//! # Authentication: a signed path from the root
//!
//! The root signs a heartbeat `(root key, rank, seq)`. Every tree edge is a
//! *grant*: the parent signs `(its prefix tag, the slot, the child's key)`,
//! where the *prefix tag* is a hash chain over the root key and rank and
//! every `(key, slot)` from the root down to the parent ([`root_tag`],
//! [`next_tag`]). The tag commits to the parent's whole position and key, so
//! a grant is bound to exactly one position, and the signed message has a
//! fixed size whatever the depth ([`GRANT_MSG_LEN`]). A node's announcement
//! carries the root heartbeat and the grants from the root down to itself
//! (one [`Hop`] per level), plus one more grant addressed to the receiving
//! neighbour, offering it a slot. A receiver checks every signature, that
//! each grant is signed by the key named one level up (the tag binds it),
//! that the last key is the key of the link it arrived on and that the
//! offered grant names the receiver. A node therefore cannot claim a position
//! its parent did not grant, nor a root that did not sign the sequence
//! number.
//!
//! # Segments
//!
//! A chain of `d` hops is sent as `⌈d / SEGMENT_HOPS⌉` *segments* (one, at
//! least, for the root's empty chain), each at most [`MAX_SEGMENT_LEN`] =
//! 25,204 bytes, well inside a 64 KiB frame. Each segment repeats the root
//! heartbeat and says where it starts and how long the whole chain is; the
//! grant rides on the last one. The receiver verifies the hops as they
//! arrive, keeping only a fixed-size state per neighbour (the running tag,
//! the last key, the coordinate so far), so a chain of any depth up to
//! [`MAX_DEPTH`] is checked in bounded memory; a segment that does not
//! continue the stream is refused ([`AnnounceError::OutOfOrder`]) and the
//! sender is asked for the whole announcement again.
//!
//! Grants do not carry the root's sequence number, so a grant stays valid
//! while the parent keeps its position; a former child can replay it after
//! the parent stopped granting (the replayer must still be a direct neighbour
//! of its victims and the parent's own position is bound into the grant).
//!
//! # Wire (big-endian)
//!
//! ```text
//! segment:   2 | 1 | flags | n | root | total u16 | start u16 | n × hop | [grant hop if flags & 1]
//! keepalive: 2 | 2 | flags | 0 | root | chain digest [16]
//! root:      key [32] | rank u32 | seq u64 | sig [64]        (108 bytes)
//! hop:       key [32] | slot u16 | sig [64]                  (98 bytes)
//! flags:     bit 0 grant present (last segment only), bit 1 "send me a full announcement"
//! ```
//!
//! `n ≤ SEGMENT_HOPS`, `start + n ≤ total ≤ MAX_DEPTH`; the segment with
//! `start + n == total` is the last one.

use super::coords::{Coord, MAX_DEPTH};
use crate::buf::{Reader, Writer};
use crate::error::BufferTooSmall;

use super::error::AnnounceError;
use blake2::Digest as _;

/// Version byte of the announcement format.
pub const ANNOUNCE_VERSION: u8 = 2;
/// Kind byte of a segment of a full announcement.
pub const KIND_SEGMENT: u8 = 1;
/// Kind byte of a keepalive.
pub const KIND_KEEPALIVE: u8 = 2;
/// Flag: a grant for the receiver follows the chain (last segment only).
pub const FLAG_GRANT: u8 = 1;
/// Flag: the sender asks for a full announcement.
pub const FLAG_WANT_FULL: u8 = 2;

/// Most hops in one segment.
pub const SEGMENT_HOPS: usize = 255;
/// Bytes of the root heartbeat on the wire.
pub const ROOT_WIRE_LEN: usize = 32 + 4 + 8 + 64;
/// Bytes of one hop (grant) on the wire.
pub const HOP_WIRE_LEN: usize = 32 + 2 + 64;
/// Bytes of a segment before its hops: header, root, total, start.
pub const SEGMENT_HEADER_LEN: usize = 4 + ROOT_WIRE_LEN + 4;
/// Bytes of a keepalive.
pub const KEEPALIVE_LEN: usize = 4 + ROOT_WIRE_LEN + 16;
/// Largest segment: header, [`SEGMENT_HOPS`] hops and a grant (25,204 bytes).
pub const MAX_SEGMENT_LEN: usize = SEGMENT_HEADER_LEN + (SEGMENT_HOPS + 1) * HOP_WIRE_LEN;
/// Largest announcement message of either kind (a segment).
pub const MAX_ANNOUNCE_LEN: usize = MAX_SEGMENT_LEN;

const ROOT_DOMAIN: &[u8] = b"hyperport/routing/root/v1";
const GRANT_DOMAIN: &[u8] = b"hyperport/routing/grant/v2";
const TAG_DOMAIN: &[u8] = b"hyperport/routing/prefix/v2";

/// Length of a grant signature message.
pub const GRANT_MSG_LEN: usize = 26 + 32 + 2 + 32;
/// Length of the root heartbeat signature message.
pub const ROOT_MSG_LEN: usize = 25 + 32 + 4 + 8;

/// The root's signed heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootInfo {
    /// The root's public key.
    pub key: [u8; 32],
    /// The root's election rank.
    pub rank: u32,
    /// Heartbeat sequence number (increases every root refresh).
    pub seq: u64,
    /// Ed25519 signature by `key` over [`root_message`].
    pub sig: [u8; 64],
}

impl RootInfo {
    /// Whether `self` wins the election against `other`: higher rank, then
    /// smaller key. The order is total and the same at every node.
    pub fn beats(&self, other: &RootInfo) -> bool {
        (core::cmp::Reverse(self.rank), self.key) < (core::cmp::Reverse(other.rank), other.key)
    }

    /// Same root (key and rank), whatever the heartbeat.
    pub fn same_tree(&self, other: &RootInfo) -> bool {
        self.key == other.key && self.rank == other.rank
    }
}

/// One grant: `key` was given `slot` by the key one level up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The child's public key.
    pub key: [u8; 32],
    /// The slot granted (non-zero).
    pub slot: u16,
    /// Ed25519 signature by the parent over [`grant_message`].
    pub sig: [u8; 64],
}

/// The message a root signs for its heartbeat.
pub fn root_message(key: &[u8; 32], rank: u32, seq: u64) -> [u8; ROOT_MSG_LEN] {
    let mut m = [0u8; ROOT_MSG_LEN];
    let mut w = Writer::new(&mut m);
    // The four writes total ROOT_MSG_LEN bytes exactly; they cannot fail.
    let _ = w.put(ROOT_DOMAIN);
    let _ = w.put(key);
    let _ = w.u32(rank);
    let _ = w.u64(seq);
    m
}

/// Prefix tag of the root itself (depth 0): BLAKE2s-256 of the domain, the
/// root key and the rank.
pub fn root_tag(root: &[u8; 32], rank: u32) -> [u8; 32] {
    let mut h = blake2::Blake2s256::new();
    h.update(TAG_DOMAIN);
    h.update([0u8]);
    h.update(root);
    h.update(rank.to_be_bytes());
    h.finalize().into()
}

/// Prefix tag one level down: the tag of the parent's prefix, then the
/// child's key and slot.
pub fn next_tag(prev: &[u8; 32], key: &[u8; 32], slot: u16) -> [u8; 32] {
    let mut h = blake2::Blake2s256::new();
    h.update(TAG_DOMAIN);
    h.update([1u8]);
    h.update(prev);
    h.update(key);
    h.update(slot.to_be_bytes());
    h.finalize().into()
}

/// The message a parent whose prefix tag is `parent_tag` signs to grant
/// `slot` to `child`.
pub fn grant_message(parent_tag: &[u8; 32], slot: u16, child: &[u8; 32]) -> [u8; GRANT_MSG_LEN] {
    let mut m = [0u8; GRANT_MSG_LEN];
    let mut w = Writer::new(&mut m);
    // The four writes total GRANT_MSG_LEN bytes exactly; they cannot fail.
    let _ = w.put(GRANT_DOMAIN);
    let _ = w.put(parent_tag);
    let _ = w.u16(slot);
    let _ = w.put(child);
    m
}

/// The keepalive digest of a chain whose final prefix tag is `tag`.
pub fn digest_of_tag(tag: &[u8; 32]) -> [u8; 16] {
    let mut d = [0u8; 16];
    d.copy_from_slice(tag.get(..16).unwrap_or(&[0u8; 16]));
    d
}

/// The final prefix tag of a chain (sender's view).
pub fn chain_tag(root: &RootInfo, hops: &[Hop]) -> [u8; 32] {
    hops.iter().fold(root_tag(&root.key, root.rank), |t, h| {
        next_tag(&t, &h.key, h.slot)
    })
}

/// The keepalive digest of a chain (sender's view).
pub fn digest_of(root: &RootInfo, hops: &[Hop]) -> [u8; 16] {
    digest_of_tag(&chain_tag(root, hops))
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
    /// The root heartbeat.
    pub root: RootInfo,
    /// The sender asks for a full announcement back.
    pub want_full: bool,
    /// Hops in the whole chain (the sender's depth).
    pub total: u16,
    /// Index of this segment's first hop in the chain.
    pub start: u16,
    hops: &'a [u8],
    /// The grant offered to the receiver (last segment only; absent at
    /// [`MAX_DEPTH`]).
    pub grant: Option<Hop>,
}

/// A keepalive.
#[derive(Clone, Copy, Debug)]
pub struct Keepalive {
    /// The root heartbeat.
    pub root: RootInfo,
    /// The sender asks for a full announcement back.
    pub want_full: bool,
    /// Digest of the sender's current chain ([`digest_of`]).
    pub digest: [u8; 16],
}

fn read_root(r: &mut Reader<'_>) -> Result<RootInfo, AnnounceError> {
    let key = r.array::<32>().map_err(|_| AnnounceError::Malformed)?;
    let rank = r.u32().map_err(|_| AnnounceError::Malformed)?;
    let seq = r.u64().map_err(|_| AnnounceError::Malformed)?;
    let sig = r.array::<64>().map_err(|_| AnnounceError::Malformed)?;
    Ok(RootInfo {
        key,
        rank,
        seq,
        sig,
    })
}

fn read_hop(r: &mut Reader<'_>) -> Result<Hop, AnnounceError> {
    let key = r.array::<32>().map_err(|_| AnnounceError::Malformed)?;
    let slot = r.u16().map_err(|_| AnnounceError::Malformed)?;
    let sig = r.array::<64>().map_err(|_| AnnounceError::Malformed)?;
    if slot == 0 {
        return Err(AnnounceError::Malformed);
    }
    Ok(Hop { key, slot, sig })
}

fn write_root(w: &mut Writer<'_>, root: &RootInfo) -> Result<(), BufferTooSmall> {
    w.put(&root.key)?;
    w.u32(root.rank)?;
    w.u64(root.seq)?;
    w.put(&root.sig)
}

fn write_hop(w: &mut Writer<'_>, hop: &Hop) -> Result<(), BufferTooSmall> {
    w.put(&hop.key)?;
    w.u16(hop.slot)?;
    w.put(&hop.sig)
}

impl<'a> Announcement<'a> {
    /// Parses one announcement; never panics.
    ///
    /// # Errors
    /// [`AnnounceError::Malformed`] or [`AnnounceError::TooDeep`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, AnnounceError> {
        let mut r = Reader::new(bytes);
        let hdr = r.array::<4>().map_err(|_| AnnounceError::Malformed)?;
        let [version, kind, flags, n] = hdr;
        if version != ANNOUNCE_VERSION || flags & !(FLAG_GRANT | FLAG_WANT_FULL) != 0 {
            return Err(AnnounceError::Malformed);
        }
        let want_full = flags & FLAG_WANT_FULL != 0;
        let root = read_root(&mut r)?;
        let out = match kind {
            KIND_SEGMENT => {
                let total = r.u16().map_err(|_| AnnounceError::Malformed)?;
                let start = r.u16().map_err(|_| AnnounceError::Malformed)?;
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
                    .map_err(|_| AnnounceError::Malformed)?;
                let mut hr = Reader::new(hops);
                while !hr.is_empty() {
                    read_hop(&mut hr)?;
                }
                let grant = if flags & FLAG_GRANT != 0 {
                    if end != total {
                        return Err(AnnounceError::Malformed);
                    }
                    if usize::from(total) >= MAX_DEPTH {
                        return Err(AnnounceError::TooDeep);
                    }
                    Some(read_hop(&mut r)?)
                } else {
                    None
                };
                Announcement::Full(Full {
                    root,
                    want_full,
                    total,
                    start,
                    hops,
                    grant,
                })
            }
            KIND_KEEPALIVE => {
                if n != 0 || flags & FLAG_GRANT != 0 {
                    return Err(AnnounceError::Malformed);
                }
                let digest = r.array::<16>().map_err(|_| AnnounceError::Malformed)?;
                Announcement::Keepalive(Keepalive {
                    root,
                    want_full,
                    digest,
                })
            }
            _ => return Err(AnnounceError::Malformed),
        };
        if !r.is_empty() {
            return Err(AnnounceError::Malformed);
        }
        Ok(out)
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
        // Every hop was validated by `parse`.
        core::iter::from_fn(move || read_hop(&mut r).ok())
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

/// Bytes of a segment with `n` hops.
pub fn segment_len(n: usize, grant: bool) -> usize {
    let hops = n.saturating_add(usize::from(grant));
    SEGMENT_HEADER_LEN.saturating_add(hops.saturating_mul(HOP_WIRE_LEN))
}

/// Writes one segment: `hops` are the chain's hops `start..start + hops.len()`
/// of a chain of `total` hops; `grant` is written only on the last segment
/// (`start + hops.len() == total`) of a chain shallower than [`MAX_DEPTH`].
/// Returns the length.
///
/// # Errors
/// [`BufferTooSmall`] (also for more than [`SEGMENT_HOPS`] hops or a range
/// past `total`, which no buffer can hold); nothing is written.
pub fn encode_segment(
    buf: &mut [u8],
    root: &RootInfo,
    total: u16,
    start: u16,
    hops: &[Hop],
    grant: Option<&Hop>,
    want_full: bool,
) -> Result<usize, BufferTooSmall> {
    let n = u8::try_from(hops.len()).ok();
    let end = u16::try_from(hops.len())
        .ok()
        .and_then(|l| start.checked_add(l))
        .filter(|&end| end <= total && usize::from(total) <= MAX_DEPTH);
    let (Some(n), Some(end)) = (n, end) else {
        return Err(BufferTooSmall {
            needed: usize::MAX,
            available: buf.len(),
        });
    };
    let grant = if end == total && usize::from(total) < MAX_DEPTH {
        grant
    } else {
        None
    };
    let mut w = Writer::new(buf);
    w.ensure(segment_len(hops.len(), grant.is_some()))?;
    let mut flags = 0;
    if grant.is_some() {
        flags |= FLAG_GRANT;
    }
    if want_full {
        flags |= FLAG_WANT_FULL;
    }
    w.put(&[ANNOUNCE_VERSION, KIND_SEGMENT, flags, n])?;
    write_root(&mut w, root)?;
    w.u16(total)?;
    w.u16(start)?;
    for h in hops {
        write_hop(&mut w, h)?;
    }
    if let Some(g) = grant {
        write_hop(&mut w, g)?;
    }
    Ok(w.position())
}

/// Writes a whole chain of at most [`SEGMENT_HOPS`] hops as its single
/// segment (the common case; deeper chains need [`encode_segment`] per
/// segment). Returns the length.
///
/// # Errors
/// [`BufferTooSmall`]; nothing is written.
pub fn encode_full(
    buf: &mut [u8],
    root: &RootInfo,
    hops: &[Hop],
    grant: Option<&Hop>,
    want_full: bool,
) -> Result<usize, BufferTooSmall> {
    let total = u16::try_from(hops.len()).unwrap_or(u16::MAX);
    encode_segment(buf, root, total, 0, hops, grant, want_full)
}

/// Writes a keepalive; returns [`KEEPALIVE_LEN`].
///
/// # Errors
/// [`BufferTooSmall`]; nothing is written.
pub fn encode_keepalive(
    buf: &mut [u8],
    root: &RootInfo,
    digest: &[u8; 16],
    want_full: bool,
) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    w.ensure(KEEPALIVE_LEN)?;
    let flags = if want_full { FLAG_WANT_FULL } else { 0 };
    w.put(&[ANNOUNCE_VERSION, KIND_KEEPALIVE, flags, 0])?;
    write_root(&mut w, root)?;
    w.put(digest)?;
    Ok(w.position())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> RootInfo {
        RootInfo {
            key: [1; 32],
            rank: 7,
            seq: 9,
            sig: [2; 64],
        }
    }

    fn hop(k: u8, slot: u16) -> Hop {
        Hop {
            key: [k; 32],
            slot,
            sig: [k ^ 0x55; 64],
        }
    }

    #[test]
    fn sizes_typed_by_hand() {
        assert_eq!(ROOT_WIRE_LEN, 108);
        assert_eq!(HOP_WIRE_LEN, 98);
        assert_eq!(KEEPALIVE_LEN, 128);
        assert_eq!(SEGMENT_HEADER_LEN, 116);
        assert_eq!(MAX_SEGMENT_LEN, 25_204);
        assert_eq!(GRANT_MSG_LEN, 92);
    }

    #[test]
    fn single_segment_roundtrip() {
        let hops = [hop(3, 4), hop(6, 1)];
        let grant = hop(8, 2);
        let mut buf = [0u8; 512];
        let n = encode_full(&mut buf, &root(), &hops, Some(&grant), true).unwrap();
        assert_eq!(n, 116 + 3 * 98);
        assert_eq!(&buf[..4], &[2, 1, 3, 2]);
        // total 2, start 0
        assert_eq!(&buf[112..116], &[0, 2, 0, 0]);
        let Announcement::Full(f) = Announcement::parse(&buf[..n]).unwrap() else {
            panic!("kind")
        };
        assert_eq!((f.depth(), f.len(), f.start), (2, 2, 0));
        assert!(f.is_last());
        assert!(f.coord().unwrap().slots().eq([4, 1]));
        assert_eq!(f.grant, Some(grant));
        assert!(f.want_full);
        for cut in 0..n {
            assert!(Announcement::parse(&buf[..cut]).is_err());
        }
        // Trailing byte.
        assert_eq!(
            Announcement::parse(&buf[..n + 1]).err(),
            Some(AnnounceError::Malformed)
        );
        // Zero slot in a hop.
        let mut bad = buf;
        bad[116 + 32] = 0;
        bad[116 + 33] = 0;
        assert_eq!(
            Announcement::parse(&bad[..n]).err(),
            Some(AnnounceError::Malformed)
        );
    }

    #[test]
    fn segments_split_a_chain_and_only_the_last_carries_the_grant() {
        let hops = [hop(3, 4), hop(6, 1), hop(9, 1)];
        let grant = hop(8, 2);
        let mut buf = [0u8; 512];
        // Hops 0..2 of 3: not last, the grant is not written.
        let n = encode_segment(&mut buf, &root(), 3, 0, &hops[..2], Some(&grant), false).unwrap();
        assert_eq!(n, 116 + 2 * 98);
        let Announcement::Full(f) = Announcement::parse(&buf[..n]).unwrap() else {
            panic!("kind")
        };
        assert!(!f.is_last() && f.grant.is_none() && f.coord().is_none());
        let n = encode_segment(&mut buf, &root(), 3, 2, &hops[2..], Some(&grant), false).unwrap();
        let Announcement::Full(f) = Announcement::parse(&buf[..n]).unwrap() else {
            panic!("kind")
        };
        assert!(f.is_last() && f.grant == Some(grant) && f.start == 2);
        // A grant flag on a segment that is not the last one.
        let n = encode_segment(&mut buf, &root(), 3, 0, &hops[..2], None, false).unwrap();
        buf[2] |= FLAG_GRANT;
        let mut longer = [0u8; 512];
        longer[..n].copy_from_slice(&buf[..n]);
        longer[n..n + 98].copy_from_slice(&[1; 98]);
        assert_eq!(
            Announcement::parse(&longer[..n + 98]).err(),
            Some(AnnounceError::Malformed)
        );
        // Range past the total, and an empty segment of a non-empty chain.
        let n = encode_segment(&mut buf, &root(), 3, 2, &hops[2..], None, false).unwrap();
        buf[112..114].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(
            Announcement::parse(&buf[..n]).err(),
            Some(AnnounceError::Malformed)
        );
        let n = encode_segment(&mut buf, &root(), 3, 0, &[], None, false).unwrap();
        assert_eq!(
            Announcement::parse(&buf[..n]).err(),
            Some(AnnounceError::Malformed)
        );
        // Deeper than MAX_DEPTH.
        buf[112..114].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(
            Announcement::parse(&buf[..n]).err(),
            Some(AnnounceError::TooDeep)
        );
        // The encoder refuses ranges it cannot express.
        assert!(encode_segment(&mut buf, &root(), 1, 0, &hops, None, false).is_err());
    }

    #[test]
    fn tags_chain_and_bind_every_level() {
        let hops = [hop(3, 4), hop(6, 1)];
        let t0 = root_tag(&root().key, root().rank);
        let t1 = next_tag(&t0, &hops[0].key, 4);
        let t2 = next_tag(&t1, &hops[1].key, 1);
        assert_eq!(chain_tag(&root(), &hops), t2);
        assert_eq!(digest_of(&root(), &hops), digest_of_tag(&t2));
        // Another rank, slot or key anywhere changes the tag.
        assert_ne!(root_tag(&root().key, 8), t0);
        assert_ne!(next_tag(&t0, &hops[0].key, 5), t1);
        assert_ne!(next_tag(&t0, &[4; 32], 4), t1);
        // The heartbeat's seq and signature are not part of it.
        let r2 = RootInfo {
            seq: 99,
            sig: [0; 64],
            ..root()
        };
        assert_eq!(chain_tag(&r2, &hops), t2);
        let m = grant_message(&t1, 1, &hops[1].key);
        assert_eq!(&m[..26], b"hyperport/routing/grant/v2");
        assert_eq!(&m[26..58], &t1);
        assert_eq!(&m[58..60], &[0, 1]);
        assert_eq!(&m[60..], &hops[1].key);
    }

    #[test]
    fn keepalive_roundtrip() {
        let mut buf = [0u8; KEEPALIVE_LEN];
        assert!(encode_keepalive(&mut buf[..KEEPALIVE_LEN - 1], &root(), &[4; 16], false).is_err());
        let n = encode_keepalive(&mut buf, &root(), &[4; 16], false).unwrap();
        let Announcement::Keepalive(k) = Announcement::parse(&buf[..n]).unwrap() else {
            panic!("kind")
        };
        assert_eq!((k.root, k.digest, k.want_full), (root(), [4; 16], false));
    }

    #[test]
    fn root_order() {
        let a = RootInfo { rank: 5, ..root() };
        let b = RootInfo {
            rank: 4,
            key: [0; 32],
            ..root()
        };
        let c = RootInfo {
            rank: 5,
            key: [0; 32],
            ..root()
        };
        assert!(a.beats(&b) && !b.beats(&a));
        assert!(c.beats(&a) && !a.beats(&c));
        assert!(!a.beats(&a));
    }
}
