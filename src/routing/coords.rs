//! Exact tree coordinates and the tree distance.
//!
//! A node's coordinate is its path from the root of the spanning tree: the
//! sequence of slot numbers each ancestor granted to the next one. The root's
//! coordinate is the empty path. Slots are non-zero `u16` values (slot `0` is
//! reserved and rejected), a path holds at most [`MAX_DEPTH`] slots.
//!
//! # Run-length form
//!
//! A coordinate is held and sent as *runs*: `(slot, count)` pairs, at most
//! [`MAX_RUNS`] of them, adjacent runs with different slots (the canonical
//! form; anything else is refused on decode). A deep tree is deep because of
//! long single-child chains, and a parent grants its only child slot 1, so a
//! chain of any length is one run: every node of a 10,000-node path has a
//! coordinate of at most three runs. The wire size is bounded by the run
//! count, not by the depth: at most [`MAX_COORD_WIRE_LEN`] = 1,021 bytes,
//! for any depth up to [`MAX_DEPTH`]. Every path of at most [`MAX_RUNS`]
//! slots (any tree of depth ≤ 255) is representable whatever its slots.
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

use core::cmp::Ordering;
use core::fmt;

use crate::buf::{Reader, Writer};
use crate::error::BufferTooSmall;

/// Longest path from the root a coordinate may have (tree depth cap).
///
/// A node whose parent is already at this depth cannot join that parent's
/// tree. `2 * MAX_DEPTH` still fits the `u16` watermark of a packet header
/// ([`MAX_DISTANCE`]). A 10,000-node path rooted anywhere has depth
/// < 10,000; the deepest reference topology (Kdl) has depth 37.
pub const MAX_DEPTH: usize = 32_767;

/// Most runs (maximal blocks of equal slots) a coordinate may have. Any
/// path of at most this many slots fits, whatever its slots.
pub const MAX_RUNS: usize = 255;

/// Bytes per run on the wire (slot `u16`, count `u16`, big-endian).
pub const RUN_WIRE_LEN: usize = 4;

/// Largest encoded coordinate: one run-count byte plus [`MAX_RUNS`] runs
/// (1,021 bytes).
pub const MAX_COORD_WIRE_LEN: usize = 1 + MAX_RUNS * RUN_WIRE_LEN;

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
    /// The path needs more than [`MAX_RUNS`] runs: drop the message (a node
    /// does not join where its coordinate would have more).
    TooManyRuns,
    /// A run with count zero, or two adjacent runs with the same slot (not
    /// the canonical form): drop the message.
    NonCanonical,
}

impl fmt::Display for CoordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoordError::TooDeep => write!(f, "coordinate deeper than MAX_DEPTH ({MAX_DEPTH})"),
            CoordError::ZeroSlot => write!(f, "coordinate contains the reserved slot 0"),
            CoordError::Truncated => write!(f, "coordinate truncated"),
            CoordError::TooManyRuns => {
                write!(f, "coordinate has more than MAX_RUNS ({MAX_RUNS}) runs")
            }
            CoordError::NonCanonical => {
                write!(
                    f,
                    "coordinate runs not canonical (empty run or repeated slot)"
                )
            }
        }
    }
}

impl core::error::Error for CoordError {}

/// A block of `count` equal slots in a coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Run {
    /// The slot (non-zero).
    pub slot: u16,
    /// How many times it repeats (≥ 1).
    pub count: u16,
}

/// An exact tree coordinate: the slot path from the root (empty for the root).
///
/// Invariant: at most [`MAX_DEPTH`] slots in at most [`MAX_RUNS`] canonical
/// runs, no slot zero.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Coord {
    runs: heapless::Vec<Run, MAX_RUNS>,
    depth: u16,
}

impl Coord {
    /// The root's coordinate (the empty path).
    pub const fn root() -> Self {
        Coord {
            runs: heapless::Vec::new(),
            depth: 0,
        }
    }

    /// A coordinate from a slot path.
    ///
    /// # Errors
    /// [`CoordError::TooDeep`] beyond [`MAX_DEPTH`] slots,
    /// [`CoordError::ZeroSlot`] if a slot is zero,
    /// [`CoordError::TooManyRuns`] beyond [`MAX_RUNS`] runs.
    pub fn from_slots(slots: &[u16]) -> Result<Self, CoordError> {
        if slots.len() > MAX_DEPTH {
            return Err(CoordError::TooDeep);
        }
        let mut c = Coord::root();
        for s in slots {
            c.push(*s)?;
        }
        Ok(c)
    }

    /// The slot path, from the root's child down.
    pub fn slots(&self) -> impl Iterator<Item = u16> + Clone + '_ {
        self.runs
            .iter()
            .flat_map(|r| core::iter::repeat_n(r.slot, usize::from(r.count)))
    }

    /// The runs (canonical: adjacent slots differ, counts ≥ 1).
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Depth in the tree (0 for the root).
    pub fn depth(&self) -> usize {
        usize::from(self.depth)
    }

    /// The last slot (`None` for the root).
    pub fn last_slot(&self) -> Option<u16> {
        self.runs.last().map(|r| r.slot)
    }

    /// The coordinate of the child granted `slot`.
    ///
    /// # Errors
    /// As [`Coord::push`].
    pub fn child(&self, slot: u16) -> Result<Self, CoordError> {
        let mut c = self.clone();
        c.push(slot)?;
        Ok(c)
    }

    /// The parent's coordinate (the root's parent is the root).
    pub fn parent(&self) -> Coord {
        let mut c = self.clone();
        if let Some(last) = c.runs.last_mut() {
            last.count = last.count.saturating_sub(1);
            if last.count == 0 {
                c.runs.pop();
            }
            c.depth = c.depth.saturating_sub(1);
        }
        c
    }

    /// Appends `slot` in place (the child's coordinate).
    ///
    /// # Errors
    /// [`CoordError::TooDeep`] if `self` is at [`MAX_DEPTH`],
    /// [`CoordError::ZeroSlot`] if `slot` is zero,
    /// [`CoordError::TooManyRuns`] if a new run would exceed [`MAX_RUNS`];
    /// `self` is unchanged.
    pub fn push(&mut self, slot: u16) -> Result<(), CoordError> {
        if slot == 0 {
            return Err(CoordError::ZeroSlot);
        }
        if self.depth() >= MAX_DEPTH {
            return Err(CoordError::TooDeep);
        }
        match self.runs.last_mut() {
            Some(last) if last.slot == slot => {
                // depth < MAX_DEPTH < u16::MAX, so the count cannot overflow.
                last.count = last.count.saturating_add(1);
            }
            _ => self
                .runs
                .push(Run { slot, count: 1 })
                .map_err(|_| CoordError::TooManyRuns)?,
        }
        self.depth = self.depth.saturating_add(1);
        Ok(())
    }

    /// Length of the longest common prefix with `other` (walks the runs:
    /// O(runs), not O(depth)).
    pub fn common_prefix_len(&self, other: &Coord) -> usize {
        let mut n = 0usize;
        for (a, b) in self.runs.iter().zip(other.runs.iter()) {
            if a.slot != b.slot {
                break;
            }
            n = n.saturating_add(usize::from(a.count.min(b.count)));
            if a.count != b.count {
                break;
            }
        }
        n
    }

    /// Exact tree distance `|a| + |b| - 2 * lcp(a, b)` (hops along the tree).
    ///
    /// At most [`MAX_DISTANCE`]; zero iff the coordinates are equal.
    pub fn distance(&self, other: &Coord) -> u16 {
        let lcp = self.common_prefix_len(other);
        // Both depths are ≤ MAX_DEPTH and lcp ≤ both, so the sum is
        // ≤ 2 * MAX_DEPTH < u16::MAX; saturating ops only make that explicit.
        let up = self.depth().saturating_sub(lcp);
        let down = other.depth().saturating_sub(lcp);
        u16::try_from(up.saturating_add(down)).unwrap_or(u16::MAX)
    }

    /// Lexicographic order of the slot paths (a prefix sorts first).
    pub fn cmp_path(&self, other: &Coord) -> Ordering {
        self.slots().cmp(other.slots())
    }

    /// Bytes [`Coord::encode`] writes (≤ [`MAX_COORD_WIRE_LEN`]).
    pub fn wire_len(&self) -> usize {
        1usize.saturating_add(self.runs.len().saturating_mul(RUN_WIRE_LEN))
    }

    /// Writes `runs: u8` then each run as big-endian `slot: u16, count: u16`.
    ///
    /// # Errors
    /// [`BufferTooSmall`]; nothing is written.
    pub fn encode(&self, w: &mut Writer<'_>) -> Result<(), BufferTooSmall> {
        w.ensure(self.wire_len())?;
        // runs.len() ≤ MAX_RUNS = 255.
        w.u8(u8::try_from(self.runs.len()).unwrap_or(u8::MAX))?;
        for r in &self.runs {
            w.u16(r.slot)?;
            w.u16(r.count)?;
        }
        Ok(())
    }

    /// Reads a coordinate written by [`Coord::encode`], validating it (slots
    /// non-zero, counts non-zero, adjacent slots different, depth ≤
    /// [`MAX_DEPTH`]).
    ///
    /// # Errors
    /// [`CoordError`]; the reader may have advanced.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, CoordError> {
        let n = usize::from(r.u8().map_err(|_| CoordError::Truncated)?);
        let mut c = Coord::root();
        let mut depth = 0usize;
        for _ in 0..n {
            let slot = r.u16().map_err(|_| CoordError::Truncated)?;
            let count = r.u16().map_err(|_| CoordError::Truncated)?;
            if slot == 0 {
                return Err(CoordError::ZeroSlot);
            }
            if count == 0 || c.runs.last().is_some_and(|l| l.slot == slot) {
                return Err(CoordError::NonCanonical);
            }
            depth = depth.saturating_add(usize::from(count));
            if depth > MAX_DEPTH {
                return Err(CoordError::TooDeep);
            }
            c.runs
                .push(Run { slot, count })
                .map_err(|_| CoordError::TooManyRuns)?;
        }
        c.depth = u16::try_from(depth).map_err(|_| CoordError::TooDeep)?;
        Ok(c)
    }
}

impl fmt::Debug for Coord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Coord[")?;
        for (i, r) in self.runs.iter().enumerate() {
            if i > 0 {
                write!(f, ".")?;
            }
            if r.count == 1 {
                write!(f, "{}", r.slot)?;
            } else {
                write!(f, "{}x{}", r.slot, r.count)?;
            }
        }
        write!(f, "]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

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
        // Runs that share a slot but not a length: [1,1,1] vs [1,1,2].
        assert_eq!(c(&[1, 1, 1]).distance(&c(&[1, 1, 2])), 2);
        assert_eq!(c(&[1, 1, 1]).common_prefix_len(&c(&[1, 1, 2])), 2);
        assert_eq!(c(&[1, 1]).common_prefix_len(&c(&[1, 1, 1, 1])), 2);
    }

    /// The run-walking prefix and order against the obvious slot-by-slot
    /// definitions, on every pair of paths over slots {1, 2} up to depth 6.
    #[test]
    fn runs_agree_with_the_slot_definitions() {
        let mut all: Vec<Vec<u16>> = Vec::new();
        for depth in 0..=6u32 {
            for bits in 0..(1u32 << depth) {
                all.push((0..depth).map(|i| 1 + ((bits >> i) & 1) as u16).collect());
            }
        }
        for a in &all {
            let ca = c(a);
            assert_eq!(ca.slots().collect::<Vec<_>>(), *a);
            assert_eq!(ca.depth(), a.len());
            let mut p = a.clone();
            p.pop();
            assert_eq!(ca.parent(), c(&p));
            for b in &all {
                let cb = c(b);
                let lcp = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                assert_eq!(ca.common_prefix_len(&cb), lcp, "{a:?} {b:?}");
                assert_eq!(usize::from(ca.distance(&cb)), a.len() + b.len() - 2 * lcp);
                assert_eq!(ca.cmp_path(&cb), a.cmp(b));
                assert_eq!(ca == cb, a == b);
            }
        }
    }

    #[test]
    fn symmetric_triangle_and_extreme_depth() {
        let mut a = Coord::root();
        let mut b = Coord::root();
        b.push(9).unwrap();
        for _ in 0..MAX_DEPTH {
            a.push(1).unwrap();
        }
        for _ in 1..MAX_DEPTH {
            b.push(1).unwrap();
        }
        assert_eq!(a.depth(), MAX_DEPTH);
        assert_eq!(a.runs().len(), 1);
        assert_eq!(a.distance(&b), MAX_DISTANCE);
        assert_eq!(b.distance(&a), MAX_DISTANCE);
        assert_eq!(MAX_DISTANCE, 65_534);
        assert_eq!(a.child(1), Err(CoordError::TooDeep));
        let r = Coord::root();
        assert!(a.distance(&b) <= a.distance(&r) + r.distance(&b));
        // Every path of MAX_RUNS slots fits, the next run does not.
        let alternating: Vec<u16> = (0..MAX_RUNS).map(|i| (i % 2 + 1) as u16).collect();
        let mut x = c(&alternating);
        assert_eq!(x.runs().len(), MAX_RUNS);
        let last = x.last_slot().unwrap();
        assert_eq!(x.push(3 - last), Err(CoordError::TooManyRuns));
        x.push(last).unwrap();
        assert_eq!(x.wire_len(), MAX_COORD_WIRE_LEN);
    }

    #[test]
    fn wire_roundtrip_and_rejections() {
        let a = c(&[1, 300, 300, 65535]);
        let mut buf = [0u8; 16];
        let mut w = Writer::new(&mut buf);
        a.encode(&mut w).unwrap();
        assert_eq!(w.position(), 13);
        assert_eq!(&buf[..13], &[3, 0, 1, 0, 1, 1, 44, 0, 2, 255, 255, 0, 1]);
        let mut r = Reader::new(&buf[..13]);
        assert_eq!(Coord::decode(&mut r).unwrap(), a);
        assert_eq!(
            Coord::decode(&mut Reader::new(&[1, 0, 0, 0, 1])),
            Err(CoordError::ZeroSlot)
        );
        assert_eq!(
            Coord::decode(&mut Reader::new(&[1, 0, 1, 0, 0])),
            Err(CoordError::NonCanonical)
        );
        assert_eq!(
            Coord::decode(&mut Reader::new(&[2, 0, 1, 0, 1, 0, 1, 0, 1])),
            Err(CoordError::NonCanonical)
        );
        assert_eq!(
            Coord::decode(&mut Reader::new(&[2, 0, 1, 0x7f, 0xff, 0, 2, 0, 1])),
            Err(CoordError::TooDeep)
        );
        assert_eq!(
            Coord::decode(&mut Reader::new(&[2, 0, 1, 0])),
            Err(CoordError::Truncated)
        );
        assert_eq!(Coord::from_slots(&[1, 0]), Err(CoordError::ZeroSlot));
        let mut small = [0u8; 12];
        let mut w = Writer::new(&mut small);
        assert!(a.encode(&mut w).is_err());
        assert_eq!(w.position(), 0);
        assert_eq!(small, [0; 12]);
    }
}
