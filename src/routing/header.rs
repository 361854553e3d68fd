//! Where a node is ([`Locator`]: its coordinate in each tree) and the
//! packet header that carries the destination's and the source's locators.
//!
//! # Wire (big-endian)
//!
//! | item | layout | bytes |
//! |---|---|---|
//! | header | `version = 3 · kind · trees u8 · watermark u16` · dest locator · src locator | 5 + two locators ≤ [`MAX_HEADER_LEN`] = 8,239 |
//! | locator | `present u8` (bit `t`: tree `t` present) · per present tree, in order: `root id [8]` · coordinate | 1 + Σ (8 + coordinate) ≤ [`MAX_LOCATOR_LEN`] = 4,117 |
//! | coordinate | `runs u8 · runs × (slot u16 · count u16)` ([`Coord::encode`]) | 1 + 4 × runs ≤ 1,021 |
//!
//! `kind` 0 data, 1 path-broken notice. `trees`: bit `t` set = the packet
//! may still use tree `t` (a source sets one bit to try one tree; the
//! forwarding rule clears bits at dead ends, [`super::greedy::decide_multi`]).
//! Bits and present flags at or above [`MAX_TREES`] are refused. A header
//! for one tree at depth 5 (5 runs) is 5 + 2 × (1 + 8 + 21) = 65 bytes; for
//! three trees 185 bytes.

use core::fmt;

use super::config::MAX_TREES;
use super::coords::{Coord, CoordError, MAX_COORD_WIRE_LEN};
use crate::buf::{Reader, Writer};
use crate::error::BufferTooSmall;

/// Bytes of a root id.
pub const ROOT_ID_LEN: usize = 8;

/// Names a tree's root in headers and locators: the first
/// [`ROOT_ID_LEN`] bytes of the root's public key. Coordinates under
/// different roots are never compared; 64 bits make a collision with a
/// given root key a 2^64 search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct RootId(pub [u8; ROOT_ID_LEN]);

impl RootId {
    /// The id of the root whose public key is `key`.
    pub fn of(key: &[u8; 32]) -> Self {
        let mut id = [0u8; ROOT_ID_LEN];
        for (d, s) in id.iter_mut().zip(key) {
            *d = *s;
        }
        RootId(id)
    }
}

/// A node's coordinate in one tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TreeCoord {
    /// The tree's root.
    pub root: RootId,
    /// The coordinate under that root.
    pub coord: Coord,
}

/// Where a node is: its coordinate in each tree it has joined (at most
/// [`MAX_TREES`]). What a directory hands out for a node, and what a
/// header carries for its destination and source.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Locator {
    trees: [Option<TreeCoord>; MAX_TREES],
}

/// Largest encoded locator.
pub const MAX_LOCATOR_LEN: usize = 1 + MAX_TREES * (ROOT_ID_LEN + MAX_COORD_WIRE_LEN);

impl Locator {
    /// A locator in no tree.
    pub fn new() -> Self {
        Locator::default()
    }

    /// A locator in tree 0 only.
    pub fn tree0(root: RootId, coord: Coord) -> Self {
        let mut l = Locator::new();
        l.set(0, Some(TreeCoord { root, coord }));
        l
    }

    /// The coordinate in tree `t`, if any.
    pub fn get(&self, t: usize) -> Option<&TreeCoord> {
        self.trees.get(t).and_then(Option::as_ref)
    }

    /// Sets (or clears) tree `t`; ignored for `t` ≥ [`MAX_TREES`].
    pub fn set(&mut self, t: usize, c: Option<TreeCoord>) {
        if let Some(e) = self.trees.get_mut(t) {
            *e = c;
        }
    }

    /// The present trees, `(tree, coordinate)`.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &TreeCoord)> + '_ {
        self.trees
            .iter()
            .enumerate()
            .filter_map(|(t, c)| c.as_ref().map(|c| (t, c)))
    }

    /// Bit `t` set for every present tree.
    pub fn present(&self) -> u8 {
        self.iter()
            .fold(0u8, |m, (t, _)| m | 1u8.checked_shl(t as u32).unwrap_or(0))
    }

    /// Encoded length.
    pub fn wire_len(&self) -> usize {
        self.iter().fold(1usize, |n, (_, c)| {
            n.saturating_add(ROOT_ID_LEN)
                .saturating_add(c.coord.wire_len())
        })
    }

    /// Writes the locator.
    ///
    /// # Errors
    /// [`BufferTooSmall`]; nothing is written.
    pub fn encode(&self, w: &mut Writer<'_>) -> Result<(), BufferTooSmall> {
        w.ensure(self.wire_len())?;
        w.u8(self.present())?;
        for (_, c) in self.iter() {
            w.put(&c.root.0)?;
            c.coord.encode(w)?;
        }
        Ok(())
    }

    /// Reads a locator written by [`Locator::encode`].
    ///
    /// # Errors
    /// [`HeaderError`]; the reader may have advanced.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, HeaderError> {
        let present = r.u8().map_err(|_| HeaderError::Truncated)?;
        if u32::from(present) >> MAX_TREES != 0 {
            return Err(HeaderError::Trees(present));
        }
        let mut l = Locator::new();
        for t in 0..MAX_TREES {
            if present & (1 << t) == 0 {
                continue;
            }
            let root = RootId(r.array().map_err(|_| HeaderError::Truncated)?);
            let coord = Coord::decode(r).map_err(HeaderError::Coord)?;
            l.set(t, Some(TreeCoord { root, coord }));
        }
        Ok(l)
    }
}

/// Kind of routed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    /// Ordinary traffic.
    Data,
    /// "Path broken" notice travelling back to the source of a packet that
    /// dead-ended; `dest` is the original source, `src` the original
    /// destination.
    PathBroken,
}

/// Version byte of the header wire format.
pub const HEADER_VERSION: u8 = 3;

/// Every tree bit.
pub const ALL_TREES: u8 = ((1u16 << MAX_TREES) - 1) as u8;

/// Largest encoded header: version, kind, trees, watermark, two locators.
pub const MAX_HEADER_LEN: usize = 5 + 2 * MAX_LOCATOR_LEN;

/// Why a header was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Input ended early: drop the packet.
    Truncated,
    /// Unknown version byte: drop the packet (a newer peer?).
    Version(u8),
    /// Unknown packet kind: drop the packet.
    Kind(u8),
    /// A coordinate was invalid: drop the packet.
    Coord(CoordError),
    /// A tree bit at or above [`MAX_TREES`]: drop the packet.
    Trees(u8),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Truncated => write!(f, "routing header truncated; drop the packet"),
            HeaderError::Version(v) => {
                write!(f, "unknown routing header version {v}; drop the packet")
            }
            HeaderError::Kind(k) => write!(f, "unknown routing packet kind {k}; drop the packet"),
            HeaderError::Coord(e) => write!(f, "invalid coordinate in routing header: {e}"),
            HeaderError::Trees(m) => {
                write!(
                    f,
                    "routing header names trees {m:#04x} beyond MAX_TREES; drop the packet"
                )
            }
        }
    }
}

impl core::error::Error for HeaderError {}

/// The routing header of a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Data or path-broken notice.
    pub kind: PacketKind,
    /// The trees the packet may still use (bit `t` for tree `t`).
    pub trees: u8,
    /// Smallest distance to `dest` reached so far over the usable trees
    /// (`u16::MAX` at the source and after a change of trees).
    pub watermark: u16,
    /// Destination.
    pub dest: Locator,
    /// Source (where a path-broken notice goes).
    pub src: Locator,
}

impl Header {
    /// A fresh data header that may use every tree.
    pub fn new(dest: Locator, src: Locator) -> Self {
        Header {
            kind: PacketKind::Data,
            trees: ALL_TREES,
            watermark: u16::MAX,
            dest,
            src,
        }
    }

    /// The same header restricted to tree `t` (a source trying one tree at
    /// a time).
    pub fn only_tree(mut self, t: usize) -> Self {
        self.trees = 1u8.checked_shl(t as u32).unwrap_or(0) & ALL_TREES;
        self
    }

    /// The notice to route back to the source when this packet dead-ends
    /// (every tree allowed again).
    pub fn path_broken(&self) -> Header {
        Header {
            kind: PacketKind::PathBroken,
            trees: ALL_TREES,
            watermark: u16::MAX,
            dest: self.src.clone(),
            src: self.dest.clone(),
        }
    }

    /// Encoded length.
    pub fn wire_len(&self) -> usize {
        5usize
            .saturating_add(self.dest.wire_len())
            .saturating_add(self.src.wire_len())
    }

    /// Writes the header, returning the number of bytes written.
    ///
    /// # Errors
    /// [`BufferTooSmall`]; nothing is written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(buf);
        w.ensure(self.wire_len())?;
        w.u8(HEADER_VERSION)?;
        w.u8(match self.kind {
            PacketKind::Data => 0,
            PacketKind::PathBroken => 1,
        })?;
        w.u8(self.trees & ALL_TREES)?;
        w.u16(self.watermark)?;
        self.dest.encode(&mut w)?;
        self.src.encode(&mut w)?;
        Ok(w.position())
    }

    /// Parses and validates a header, returning it and the bytes consumed
    /// (the payload follows).
    ///
    /// # Errors
    /// [`HeaderError`]; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<(Header, usize), HeaderError> {
        let mut r = Reader::new(bytes);
        let v = r.u8().map_err(|_| HeaderError::Truncated)?;
        if v != HEADER_VERSION {
            return Err(HeaderError::Version(v));
        }
        let kind = match r.u8().map_err(|_| HeaderError::Truncated)? {
            0 => PacketKind::Data,
            1 => PacketKind::PathBroken,
            k => return Err(HeaderError::Kind(k)),
        };
        let trees = r.u8().map_err(|_| HeaderError::Truncated)?;
        if trees & !ALL_TREES != 0 {
            return Err(HeaderError::Trees(trees));
        }
        let watermark = r.u16().map_err(|_| HeaderError::Truncated)?;
        let dest = Locator::decode(&mut r)?;
        let src = Locator::decode(&mut r)?;
        Ok((
            Header {
                kind,
                trees,
                watermark,
                dest,
                src,
            },
            r.position(),
        ))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn c(s: &[u16]) -> Coord {
        Coord::from_slots(s).unwrap()
    }

    #[test]
    fn header_wire_typed_by_hand() {
        assert_eq!(MAX_LOCATOR_LEN, 4_117);
        assert_eq!(MAX_HEADER_LEN, 8_239);
        assert_eq!(ALL_TREES, 0x0f);
        let mut dest = Locator::tree0(RootId([7; 8]), c(&[1, 2]));
        dest.set(
            2,
            Some(TreeCoord {
                root: RootId([9; 8]),
                coord: c(&[]),
            }),
        );
        let src = Locator::tree0(RootId([7; 8]), c(&[3]));
        let h = Header::new(dest, src);
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut buf).unwrap();
        // 5 + dest (1 + 8 + 9 + 8 + 1) + src (1 + 8 + 5)
        assert_eq!(n, 5 + 27 + 14);
        assert_eq!(&buf[..5], &[3, 0, 0x0f, 0xff, 0xff]);
        // dest: trees 0 and 2 present; tree 0: id, runs (1 x1)(2 x1); tree 2: id, root coord.
        assert_eq!(buf[5], 0b101);
        assert_eq!(&buf[6..14], &[7; 8]);
        assert_eq!(&buf[14..23], &[2, 0, 1, 0, 1, 0, 2, 0, 1]);
        assert_eq!(&buf[23..31], &[9; 8]);
        assert_eq!(buf[31], 0);
        assert_eq!(buf[32], 0b1);
        let (back, used) = Header::decode(&buf[..n + 4]).unwrap();
        assert_eq!((back.clone(), used), (h.clone(), n));
        let pb = back.path_broken();
        assert_eq!(pb.kind, PacketKind::PathBroken);
        assert_eq!(pb.dest, h.src);
        assert_eq!(pb.src, h.dest);
        assert_eq!(h.clone().only_tree(2).trees, 0b100);
        for cut in 0..n {
            assert!(Header::decode(&buf[..cut]).is_err());
        }
        let mut bad = buf;
        bad[0] = 2;
        assert_eq!(Header::decode(&bad[..n]), Err(HeaderError::Version(2)));
        let mut bad = buf;
        bad[2] = 0x10;
        assert_eq!(Header::decode(&bad[..n]), Err(HeaderError::Trees(0x10)));
        let mut bad = buf;
        bad[5] = 0x30;
        assert_eq!(Header::decode(&bad[..n]), Err(HeaderError::Trees(0x30)));
        let mut small: Vec<u8> = std::vec![0; n - 1];
        assert!(h.encode(&mut small).is_err());
        assert!(small.iter().all(|b| *b == 0));
        assert_eq!(RootId::of(&[5; 32]), RootId([5; 8]));
    }
}
