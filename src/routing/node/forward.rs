//! Forwarding: the greedy decision at this node over its live neighbours,
//! in every tree at once ([`decide_multi`]).

use super::super::config::MAX_TREES;
use super::super::coords::Coord;
use super::super::greedy::{Decision, NeighbourView, TreeView, decide_multi, settle};
use super::super::header::{Header, Locator, RootId, TreeCoord};
use super::{ChainStore, Node, Table, Verifier};

/// Where a packet goes: a whole [`Locator`], or a bare coordinate in our
/// current tree 0 (what single-tree callers had).
// Passed by value once per header built; no allocator to box the locator.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A coordinate under our current root of tree 0.
    Coord(Coord),
    /// The destination's coordinates in every tree it has joined.
    Locator(Locator),
}

impl From<Coord> for Destination {
    fn from(c: Coord) -> Self {
        Destination::Coord(c)
    }
}

impl From<Locator> for Destination {
    fn from(l: Locator) -> Self {
        Destination::Locator(l)
    }
}

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    /// Our position in every tree we have joined: what a directory should
    /// hand out for this node (it changes with [`super::Event::PositionChanged`]).
    pub fn locator(&self) -> Locator {
        let mut l = Locator::new();
        for (t, tr) in self.trees.iter().enumerate().take(self.ntrees()) {
            if tr.joined {
                l.set(
                    t,
                    Some(TreeCoord {
                        root: RootId::of(&tr.root.key),
                        coord: tr.coord.clone(),
                    }),
                );
            }
        }
        l
    }

    /// A data header from this node to `dest` (a [`Locator`], or a bare
    /// [`Coord`] under our current root of tree 0), allowed to use every
    /// tree. Restrict it with [`Header::only_tree`] to try one tree.
    pub fn header_to(&self, dest: impl Into<Destination>) -> Header {
        let dest = match dest.into() {
            Destination::Locator(l) => l,
            Destination::Coord(c) => {
                let root = self.trees.first().map_or([0; 32], |tr| tr.root.key);
                Locator::tree0(RootId::of(&root), c)
            }
        };
        Header::new(dest, self.locator())
    }

    /// The forwarding decision for a packet at this node, updating the
    /// header's watermark and, at a dead end in some trees, the trees it
    /// may still use (see [`decide_multi`]). On [`Decision::PathBroken`]
    /// send [`Header::path_broken`] (route it with this same method); a
    /// notice that dead-ends itself yields [`Decision::Drop`].
    pub fn route(&mut self, header: &mut Header) -> Decision {
        let ntrees = self.ntrees();
        let mut own: TreeView<'_> = [None; MAX_TREES];
        for (t, tr) in self.trees.iter().enumerate().take(ntrees) {
            if let (true, Some(o)) = (tr.joined, own.get_mut(t)) {
                *o = Some((RootId::of(&tr.root.key), &tr.coord));
            }
        }
        let neighbours = self
            .table
            .as_ref()
            .iter()
            .filter_map(|e| e.n.as_ref())
            .map(move |n| {
                let mut trees: TreeView<'_> = [None; MAX_TREES];
                for (t, p) in n.trees.iter().enumerate().take(ntrees) {
                    if let (Some(i), Some(v)) = (p.info(), trees.get_mut(t)) {
                        *v = Some((RootId::of(&i.root.key), &i.coord));
                    }
                }
                NeighbourView {
                    link: n.link,
                    trees,
                }
            })
            .filter(|v| v.trees.iter().any(Option::is_some));
        let before = header.trees;
        let d = settle(decide_multi(&own, header, neighbours), header.kind);
        if header.trees != before && d != Decision::PathBroken && d != Decision::Drop {
            self.stats.tree_switches = self.stats.tree_switches.saturating_add(1);
        }
        let s = &mut self.stats;
        let c = match d {
            Decision::Deliver => &mut s.delivered,
            Decision::Forward(_) => &mut s.forwarded,
            Decision::PathBroken => &mut s.path_broken,
            Decision::Drop => &mut s.dropped,
        };
        *c = c.saturating_add(1);
        d
    }

    /// Our coordinate in tree `t`, if we have joined it.
    pub fn coord_in(&self, t: usize) -> Option<&Coord> {
        self.trees
            .get(t)
            .filter(|tr| tr.joined && t < self.ntrees())
            .map(|tr| &tr.coord)
    }
}
