//! Exact tree coordinates and the tree distance.
//!
//! A node's coordinate is its path from the root of the spanning tree: the
//! sequence of slot numbers each ancestor granted to the next one. The root's
//! coordinate is the empty path. Slots are non-zero `u16` values (slot `0` is
//! reserved and rejected), a path holds at most [`MAX_DEPTH`] slots, so a
//! coordinate is at most `1 + 2 * MAX_DEPTH` bytes on the wire
//! ([`MAX_COORD_WIRE_LEN`]).
//!
//! # Why a slot path and not Poincaré floats
//!
//! The tree distance `d_T(a, b) = |a| + |b| - 2 * lcp(a, b)` (lcp = longest
//! common prefix) is computed in integers and is exact. It is the metric that a
//! Sarkar-style embedding of the same tree in the hyperbolic plane realises up
//! to a constant scale: with every tree edge drawn as a geodesic of length `τ`
//! and the children of a node spread at angles bounded away from each other,
//! the hyperbolic distance is `τ · d_T` within a factor `1 + ε`
//! (R. Sarkar, GD 2011). The map `d_T ↦ τ · d_T` is strictly monotone, so
//! "neighbour strictly closer to the destination" has the same answer in both,
//! and no decision ever depends on float rounding. Floating-point Poincaré
//! coordinates lose the ordering at hyperbolic radius ≈ 38 (measured on
//! AS-CAIDA and Kdl in the project notes), which a 37-hop-deep ISP map already
//! reaches; the slot path never does. Deployed systems (Yggdrasil/ironwood)
//! route on the same integer tree metric, and on the 27 reference topologies it
//! was never worse on average than exact hyperbolic greedy on the same tree.
//! Floats are for display only and live outside the core.

use core::fmt;

use crate::buf::{Reader, Writer};
use crate::error::BufferTooSmall;

/// Longest path from the root a coordinate may have (tree depth cap).
///
/// A node whose parent is already at this depth cannot join that parent's
/// tree. Bounds the coordinate wire size ([`MAX_COORD_WIRE_LEN`]) and the
/// signature chain of an announcement. 255 so the depth fits the one-byte
/// length field; enough for a 100×100 grid rooted anywhere (depth ≤ 198) and
/// five times the deepest reference topology (Kdl, depth 37).
pub const MAX_DEPTH: usize = 255;

/// Bytes per slot on the wire (big-endian `u16`).
pub const SLOT_WIRE_LEN: usize = 2;

/// Largest encoded coordinate: one length byte plus [`MAX_DEPTH`] slots.
pub const MAX_COORD_WIRE_LEN: usize = 1 + MAX_DEPTH * SLOT_WIRE_LEN;

/// Largest tree distance between two coordinates (`2 * MAX_DEPTH`).
pub const MAX_DISTANCE: u16 = (2 * MAX_DEPTH) as u16;

/// Why a coordinate was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoordError {
    /// The path is longer than [`MAX_DEPTH`]: the sender is malformed or
    /// hostile; drop the message.
    TooDeep,
    /// A slot was zero (reserved): drop the message.
    ZeroSlot,
    /// The input ended inside the coordinate: drop the message.
    Truncated,
}

impl fmt::Display for CoordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoordError::TooDeep => write!(f, "coordinate deeper than MAX_DEPTH ({MAX_DEPTH})"),
            CoordError::ZeroSlot => write!(f, "coordinate contains the reserved slot 0"),
            CoordError::Truncated => write!(f, "coordinate truncated"),
        }
    }
}

impl core::error::Error for CoordError {}

/// An exact tree coordinate: the slot path from the root (empty for the root).
///
/// Invariant: at most [`MAX_DEPTH`] slots, none of them zero.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Coord {
    slots: heapless::Vec<u16, MAX_DEPTH>,
}

impl Coord {
    /// The root's coordinate (the empty path).
    pub const fn root() -> Self {
        Coord {
            slots: heapless::Vec::new(),
        }
    }

    /// A coordinate from a slot path.
    ///
    /// # Errors
    /// [`CoordError::TooDeep`] beyond [`MAX_DEPTH`] slots,
    /// [`CoordError::ZeroSlot`] if a slot is zero.
    pub fn from_slots(slots: &[u16]) -> Result<Self, CoordError> {
        if slots.contains(&0) {
            return Err(CoordError::ZeroSlot);
        }
        let v = heapless::Vec::from_slice(slots).map_err(|()| CoordError::TooDeep)?;
        Ok(Coord { slots: v })
    }

    /// The slot path.
    pub fn slots(&self) -> &[u16] {
        &self.slots
    }

    /// Depth in the tree (0 for the root).
    pub fn depth(&self) -> usize {
        self.slots.len()
    }

    /// The coordinate of the child granted `slot`.
    ///
    /// # Errors
    /// [`CoordError::TooDeep`] if `self` is at [`MAX_DEPTH`],
    /// [`CoordError::ZeroSlot`] if `slot` is zero.
    pub fn child(&self, slot: u16) -> Result<Self, CoordError> {
        if slot == 0 {
            return Err(CoordError::ZeroSlot);
        }
        let mut c = self.clone();
        c.slots.push(slot).map_err(|_| CoordError::TooDeep)?;
        Ok(c)
    }

    /// Appends `slot` in place (the child's coordinate).
    ///
    /// # Errors
    /// As [`Coord::child`]; `self` is unchanged.
    pub fn push(&mut self, slot: u16) -> Result<(), CoordError> {
        if slot == 0 {
            return Err(CoordError::ZeroSlot);
        }
        self.slots.push(slot).map_err(|_| CoordError::TooDeep)
    }

    /// Length of the longest common prefix with `other`.
    pub fn common_prefix_len(&self, other: &Coord) -> usize {
        self.slots
            .iter()
            .zip(other.slots.iter())
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Exact tree distance `|a| + |b| - 2 * lcp(a, b)` (hops along the tree).
    ///
    /// At most [`MAX_DISTANCE`]; zero iff the coordinates are equal.
    pub fn distance(&self, other: &Coord) -> u16 {
        let lcp = self.common_prefix_len(other);
        // Both lengths are ≤ MAX_DEPTH = 255 and lcp ≤ both, so the sum is
        // ≤ 510 and fits u16; saturating ops only make the bound explicit.
        let up = self.depth().saturating_sub(lcp);
        let down = other.depth().saturating_sub(lcp);
        u16::try_from(up.saturating_add(down)).unwrap_or(u16::MAX)
    }

    /// Bytes [`Coord::encode`] writes.
    pub fn wire_len(&self) -> usize {
        // depth ≤ 255, so this is ≤ MAX_COORD_WIRE_LEN.
        1usize.saturating_add(self.depth().saturating_mul(SLOT_WIRE_LEN))
    }

    /// Writes `len: u8` then the slots as big-endian `u16`.
    ///
    /// # Errors
    /// [`BufferTooSmall`]; nothing is written.
    pub fn encode(&self, w: &mut Writer<'_>) -> Result<(), BufferTooSmall> {
        w.ensure(self.wire_len())?;
        let len = u8::try_from(self.depth()).unwrap_or(u8::MAX);
        w.u8(len)?;
        for s in &self.slots {
            w.u16(*s)?;
        }
        Ok(())
    }

    /// Reads a coordinate written by [`Coord::encode`], validating it.
    ///
    /// # Errors
    /// [`CoordError`] for a truncated, zero-slot or over-long coordinate.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, CoordError> {
        let len = usize::from(r.u8().map_err(|_| CoordError::Truncated)?);
        if len > MAX_DEPTH {
            // Unreachable with a u8 length while MAX_DEPTH is 255, kept so
            // that lowering MAX_DEPTH stays safe.
            return Err(CoordError::TooDeep);
        }
        let mut c = Coord::root();
        for _ in 0..len {
            let s = r.u16().map_err(|_| CoordError::Truncated)?;
            if s == 0 {
                return Err(CoordError::ZeroSlot);
            }
            c.slots.push(s).map_err(|_| CoordError::TooDeep)?;
        }
        Ok(c)
    }
}

impl fmt::Debug for Coord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Coord[")?;
        for (i, s) in self.slots.iter().enumerate() {
            if i > 0 {
                write!(f, ".")?;
            }
            write!(f, "{s}")?;
        }
        write!(f, "]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &[u16]) -> Coord {
        Coord::from_slots(s).unwrap()
    }

    #[test]
    fn distance_by_hand() {
        // Values worked out by hand on the tree: root -> 1 -> {1.1, 1.2 -> 1.2.3}, root -> 2.
        assert_eq!(c(&[]).distance(&c(&[])), 0);
        assert_eq!(c(&[]).distance(&c(&[1, 2, 3])), 3);
        assert_eq!(c(&[1, 1]).distance(&c(&[1, 2, 3])), 3);
        assert_eq!(c(&[1, 2, 3]).distance(&c(&[2])), 4);
        assert_eq!(c(&[1, 2]).distance(&c(&[1, 2, 3])), 1);
        assert_eq!(c(&[2]).distance(&c(&[2])), 0);
    }

    #[test]
    fn symmetric_triangle_and_extreme_depth() {
        let deep: heapless::Vec<u16, MAX_DEPTH> =
            (0..MAX_DEPTH).map(|i| (i % 7 + 1) as u16).collect();
        let a = c(&deep);
        let mut other = deep.clone();
        other[0] = 9;
        let b = c(&other);
        assert_eq!(a.distance(&b), MAX_DISTANCE);
        assert_eq!(b.distance(&a), MAX_DISTANCE);
        assert_eq!(a.child(1), Err(CoordError::TooDeep));
        let r = Coord::root();
        assert!(a.distance(&b) <= a.distance(&r) + r.distance(&b));
    }

    #[test]
    fn wire_roundtrip_and_rejections() {
        let a = c(&[1, 300, 65535]);
        let mut buf = [0u8; 16];
        let mut w = Writer::new(&mut buf);
        a.encode(&mut w).unwrap();
        assert_eq!(w.position(), 7);
        assert_eq!(&buf[..7], &[3, 0, 1, 1, 44, 255, 255]);
        let mut r = Reader::new(&buf[..7]);
        assert_eq!(Coord::decode(&mut r).unwrap(), a);
        assert_eq!(
            Coord::decode(&mut Reader::new(&[2, 0, 1, 0, 0])),
            Err(CoordError::ZeroSlot)
        );
        assert_eq!(
            Coord::decode(&mut Reader::new(&[2, 0, 1, 0])),
            Err(CoordError::Truncated)
        );
        assert_eq!(Coord::from_slots(&[1, 0]), Err(CoordError::ZeroSlot));
        let mut small = [0u8; 6];
        let mut w = Writer::new(&mut small);
        assert!(a.encode(&mut w).is_err());
        assert_eq!(w.position(), 0);
        assert_eq!(small, [0; 6]);
    }
}
