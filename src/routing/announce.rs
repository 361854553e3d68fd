//! Announcement wire format, signature messages and the parsed view.
//!
//! # Authentication: a signed path from the root
//!
//! The root signs a heartbeat `(root key, rank, seq)`. Every tree edge is a
//! *grant*: the parent signs `(root key, depth, the child's full slot path,
//! parent key, child key)`. A node's announcement carries the root heartbeat
//! and the grants from the root down to itself (one [`Hop`] per level), plus
//! one more grant addressed to the receiving neighbour, offering it a slot.
//! A receiver checks every signature, that each grant is signed by the key
//! named one level up, that the last key is the key of the link it arrived on
//! and that the offered grant names the receiver. A node therefore cannot
//! claim a position its parent did not grant, nor a root that did not sign
//! the sequence number. Chains are bounded by [`MAX_DEPTH`] hops, so a full
//! announcement is at most [`MAX_ANNOUNCE_LEN`] bytes.
//!
//! Grants do not carry the root's sequence number, so a grant stays valid
//! while the parent keeps its position; a former child can replay it after
//! the parent stopped granting (the replayer must still be a direct neighbour
//! of its victims and the parent's own position is bound into the grant).
//!
//! # Wire (big-endian)
//!
//! ```text
//! full:      1 | 1 | flags | n | root | n × hop | [grant hop if flags & 1]
//! keepalive: 1 | 2 | flags | 0 | root | chain digest [16]
//! root:      key [32] | rank u32 | seq u64 | sig [64]        (108 bytes)
//! hop:       key [32] | slot u16 | sig [64]                  (98 bytes)
//! flags:     bit 0 grant present, bit 1 "send me a full announcement"
//! ```

use super::coords::{Coord, MAX_DEPTH};
use crate::buf::{Reader, Writer};
use crate::error::BufferTooSmall;

use super::error::AnnounceError;
use blake2::Digest as _;

/// Version byte of the announcement format.
pub const ANNOUNCE_VERSION: u8 = 1;
/// Kind byte of a full announcement.
pub const KIND_FULL: u8 = 1;
/// Kind byte of a keepalive.
pub const KIND_KEEPALIVE: u8 = 2;
/// Flag: a grant for the receiver follows the chain.
pub const FLAG_GRANT: u8 = 1;
/// Flag: the sender asks for a full announcement.
pub const FLAG_WANT_FULL: u8 = 2;

/// Bytes of the root heartbeat on the wire.
pub const ROOT_WIRE_LEN: usize = 32 + 4 + 8 + 64;
/// Bytes of one hop (grant) on the wire.
pub const HOP_WIRE_LEN: usize = 32 + 2 + 64;
/// Bytes of a keepalive.
pub const KEEPALIVE_LEN: usize = 4 + ROOT_WIRE_LEN + 16;
/// Largest full announcement: header, root, [`MAX_DEPTH`] hops and a grant
/// (25,200 bytes).
pub const MAX_ANNOUNCE_LEN: usize = 4 + ROOT_WIRE_LEN + (MAX_DEPTH + 1) * HOP_WIRE_LEN;

const ROOT_DOMAIN: &[u8] = b"hyperport/routing/root/v1";
const GRANT_DOMAIN: &[u8] = b"hyperport/routing/grant/v1";

/// Largest grant signature message.
pub const GRANT_MSG_MAX: usize = 26 + 32 + 1 + 2 * MAX_DEPTH + 64;
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

/// Writes the message a parent signs to grant `path`'s last slot to `child`,
/// returning its length. `path` is the child's full coordinate.
pub fn grant_message(
    out: &mut [u8; GRANT_MSG_MAX],
    root: &[u8; 32],
    path: &[u16],
    parent: &[u8; 32],
    child: &[u8; 32],
) -> usize {
    let mut w = Writer::new(out);
    // path.len() ≤ MAX_DEPTH (callers pass a Coord's slots), so everything
    // fits GRANT_MSG_MAX; a failed write would only shorten the message,
    // which then fails verification.
    let _ = w.put(GRANT_DOMAIN);
    let _ = w.put(root);
    let _ = w.u8(u8::try_from(path.len()).unwrap_or(u8::MAX));
    for s in path {
        let _ = w.u16(*s);
    }
    let _ = w.put(parent);
    let _ = w.put(child);
    w.position()
}

/// A parsed, structurally valid announcement (signatures not yet checked).
#[derive(Clone, Debug)]
pub enum Announcement<'a> {
    /// The sender's chain and, optionally, a grant for the receiver.
    Full(Full<'a>),
    /// Heartbeat plus the digest of the sender's current chain.
    Keepalive(Keepalive),
}

/// A full announcement.
#[derive(Clone, Debug)]
pub struct Full<'a> {
    /// The root heartbeat.
    pub root: RootInfo,
    /// The sender asks for a full announcement back.
    pub want_full: bool,
    hops: &'a [u8],
    /// The grant offered to the receiver (absent at [`MAX_DEPTH`]).
    pub grant: Option<Hop>,
}

/// A keepalive.
#[derive(Clone, Copy, Debug)]
pub struct Keepalive {
    /// The root heartbeat.
    pub root: RootInfo,
    /// The sender asks for a full announcement back.
    pub want_full: bool,
    /// [`Full::digest`] of the sender's current full announcement.
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
            KIND_FULL => {
                let n = usize::from(n);
                if n > MAX_DEPTH {
                    return Err(AnnounceError::TooDeep);
                }
                let hops = r
                    .take(n.saturating_mul(HOP_WIRE_LEN))
                    .map_err(|_| AnnounceError::Malformed)?;
                let mut hr = Reader::new(hops);
                while !hr.is_empty() {
                    read_hop(&mut hr)?;
                }
                let grant = if flags & FLAG_GRANT != 0 {
                    if n >= MAX_DEPTH {
                        return Err(AnnounceError::TooDeep);
                    }
                    Some(read_hop(&mut r)?)
                } else {
                    None
                };
                Announcement::Full(Full {
                    root,
                    want_full,
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
    /// Number of hops = the sender's depth.
    pub fn depth(&self) -> usize {
        self.hops.len() / HOP_WIRE_LEN
    }

    /// The hops from the root's child down to the sender.
    pub fn hops(&self) -> impl Iterator<Item = Hop> + '_ {
        let mut r = Reader::new(self.hops);
        // Every hop was validated by `parse`.
        core::iter::from_fn(move || read_hop(&mut r).ok())
    }

    /// The sender's public key (the last hop's key, or the root's).
    pub fn sender(&self) -> [u8; 32] {
        self.hops().last().map_or(self.root.key, |h| h.key)
    }

    /// The sender's coordinate.
    pub fn coord(&self) -> Coord {
        let mut c = Coord::root();
        for h in self.hops() {
            // parse() bounded the depth to MAX_DEPTH and the slots to non-zero.
            let _ = c.push(h.slot);
        }
        c
    }

    /// Digest identifying the sender's chain (root key and rank and the hops;
    /// not the heartbeat's seq and signature, not the grant, which only
    /// changes with the chain): BLAKE2s-256 truncated to 16 bytes.
    pub fn digest(&self) -> [u8; 16] {
        chain_digest(&self.root.key, self.root.rank, self.hops)
    }
}

/// Digest of a chain: root key and rank, then the hop bytes.
pub fn chain_digest(root: &[u8; 32], rank: u32, hops: &[u8]) -> [u8; 16] {
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/chain/v1");
    h.update(root);
    h.update(rank.to_be_bytes());
    h.update(hops);
    let out = h.finalize();
    let mut d = [0u8; 16];
    d.copy_from_slice(out.get(..16).unwrap_or(&[0u8; 16]));
    d
}

/// Bytes of a full announcement with `n` hops.
pub fn full_len(n: usize, grant: bool) -> usize {
    let hops = n.saturating_add(usize::from(grant));
    (4 + ROOT_WIRE_LEN).saturating_add(hops.saturating_mul(HOP_WIRE_LEN))
}

/// Writes a full announcement; returns the length.
///
/// # Errors
/// [`BufferTooSmall`]; nothing is written. `hops` longer than [`MAX_DEPTH`]
/// are truncated to it (the node never builds such a chain).
pub fn encode_full(
    buf: &mut [u8],
    root: &RootInfo,
    hops: &[Hop],
    grant: Option<&Hop>,
    want_full: bool,
) -> Result<usize, BufferTooSmall> {
    let hops = hops.get(..MAX_DEPTH).unwrap_or(hops);
    let grant = if hops.len() < MAX_DEPTH { grant } else { None };
    let mut w = Writer::new(buf);
    w.ensure(full_len(hops.len(), grant.is_some()))?;
    let mut flags = 0;
    if grant.is_some() {
        flags |= FLAG_GRANT;
    }
    if want_full {
        flags |= FLAG_WANT_FULL;
    }
    w.put(&[
        ANNOUNCE_VERSION,
        KIND_FULL,
        flags,
        u8::try_from(hops.len()).unwrap_or(u8::MAX),
    ])?;
    write_root(&mut w, root)?;
    for h in hops {
        write_hop(&mut w, h)?;
    }
    if let Some(g) = grant {
        write_hop(&mut w, g)?;
    }
    Ok(w.position())
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

/// The digest [`Full::digest`] computes, from the sender's side.
pub fn digest_of(root: &RootInfo, hops: &[Hop]) -> [u8; 16] {
    let mut h = blake2::Blake2s256::new();
    h.update(b"hyperport/routing/chain/v1");
    h.update(root.key);
    h.update(root.rank.to_be_bytes());
    let mut b = [0u8; HOP_WIRE_LEN];
    for hop in hops {
        let mut w = Writer::new(&mut b);
        let _ = write_hop(&mut w, hop);
        h.update(b);
    }
    let out = h.finalize();
    let mut d = [0u8; 16];
    d.copy_from_slice(out.get(..16).unwrap_or(&[0u8; 16]));
    d
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

    #[test]
    fn sizes_typed_by_hand() {
        assert_eq!(ROOT_WIRE_LEN, 108);
        assert_eq!(HOP_WIRE_LEN, 98);
        assert_eq!(KEEPALIVE_LEN, 128);
        assert_eq!(MAX_ANNOUNCE_LEN, 25_200);
    }

    #[test]
    fn full_roundtrip_and_digest_matches_sender_view() {
        let hops = [
            Hop {
                key: [3; 32],
                slot: 4,
                sig: [5; 64],
            },
            Hop {
                key: [6; 32],
                slot: 1,
                sig: [7; 64],
            },
        ];
        let grant = Hop {
            key: [8; 32],
            slot: 2,
            sig: [9; 64],
        };
        let mut buf = [0u8; 512];
        let n = encode_full(&mut buf, &root(), &hops, Some(&grant), true).unwrap();
        assert_eq!(n, 4 + 108 + 3 * 98);
        assert_eq!(&buf[..4], &[1, 1, 3, 2]);
        let Announcement::Full(f) = Announcement::parse(&buf[..n]).unwrap() else {
            panic!("kind")
        };
        assert_eq!(f.depth(), 2);
        assert_eq!(f.sender(), [6; 32]);
        assert_eq!(f.coord().slots(), &[4, 1]);
        assert_eq!(f.grant, Some(grant));
        assert!(f.want_full);
        assert_eq!(f.digest(), digest_of(&root(), &hops));
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
        bad[4 + 108 + 32] = 0;
        bad[4 + 108 + 33] = 0;
        assert_eq!(
            Announcement::parse(&bad[..n]).err(),
            Some(AnnounceError::Malformed)
        );
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
