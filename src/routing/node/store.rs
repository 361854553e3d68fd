//! Chain stores: where a node keeps its own chain and the staging area a
//! candidate parent's chain is verified into.

use super::super::announce::Hop;
use super::super::coords::MAX_DEPTH;
#[cfg(doc)]
use super::Node;

/// Hops of the default chain store, [`InlineChain`]: the deepest position
/// a node with default stores takes (the deepest reference topology, Kdl,
/// is 37 deep; a 100 × 100 grid 123: give such networks bigger stores).
pub const INLINE_CHAIN_HOPS: usize = 64;

/// Storage for a chain of hops: a node has one per tree, its own chain,
/// and one staging area a candidate parent's chain of several segments is
/// verified into before it is adopted. The capacity (at most
/// [`MAX_DEPTH`]) is the deepest chain the node can join under: a node
/// whose stores hold `c` hops takes positions down to depth `c`.
pub trait ChainStore {
    /// The hops, from the root's child down.
    fn hops(&self) -> &[Hop];
    /// Empties the store.
    fn clear(&mut self);
    /// Appends a hop; `false`, and nothing stored, when full.
    fn push(&mut self, hop: Hop) -> bool;
    /// Most hops it holds (the node uses at most [`MAX_DEPTH`]).
    fn capacity(&self) -> usize;
    /// The last hop, for renewing it in place (our parent re-signed our
    /// grant). The default, `None`, makes the node store the whole chain
    /// again instead.
    fn last_mut(&mut self) -> Option<&mut Hop> {
        None
    }
}

/// An inline chain store of `N` hops (112 × `N` bytes on x86-64, no
/// allocation). Firmware that knows its network is shallow picks a small
/// `N` and passes them to [`Node::with_chain_stores`]; the node then joins
/// at depth `N` at most.
pub type ChainOf<const N: usize> = heapless::Vec<Hop, N>;

/// The default chain store: [`INLINE_CHAIN_HOPS`] hops inline (7 KiB).
pub type InlineChain = ChainOf<INLINE_CHAIN_HOPS>;

impl<const N: usize> ChainStore for heapless::Vec<Hop, N> {
    fn hops(&self) -> &[Hop] {
        self
    }
    fn clear(&mut self) {
        heapless::Vec::clear(self);
    }
    fn push(&mut self, hop: Hop) -> bool {
        heapless::Vec::push(self, hop).is_ok()
    }
    fn capacity(&self) -> usize {
        N.min(MAX_DEPTH)
    }
    fn last_mut(&mut self) -> Option<&mut Hop> {
        self.as_mut_slice().last_mut()
    }
}

/// A heap store that grows to [`MAX_DEPTH`] hops (3.2 MB) and no further;
/// `clear` gives the memory back. For hosts and simulations of deep trees.
#[cfg(feature = "alloc")]
impl ChainStore for alloc::vec::Vec<Hop> {
    fn hops(&self) -> &[Hop] {
        self
    }
    fn clear(&mut self) {
        *self = alloc::vec::Vec::new();
    }
    fn push(&mut self, hop: Hop) -> bool {
        if self.len() >= MAX_DEPTH {
            return false;
        }
        alloc::vec::Vec::push(self, hop);
        true
    }
    fn capacity(&self) -> usize {
        MAX_DEPTH
    }
    fn last_mut(&mut self) -> Option<&mut Hop> {
        self.as_mut_slice().last_mut()
    }
}
