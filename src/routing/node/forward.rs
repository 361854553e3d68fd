//! Forwarding: the greedy decision at this node over its live neighbours.

use super::super::coords::Coord;
use super::super::greedy::{Decision, Header, PacketKind, decide};
use super::{ChainStore, Node, Verifier};

impl<V: Verifier, S: ChainStore> Node<'_, V, S> {
    /// A data header from this node to `dest` (under the current root).
    pub fn header_to(&self, dest: Coord) -> Header {
        Header::new(self.root.key, dest, self.coord.clone())
    }

    /// The forwarding decision for a packet at this node, updating the
    /// header's watermark. On [`Decision::PathBroken`] send
    /// [`Header::path_broken`] (route it with this same method); a notice
    /// that dead-ends itself, or any packet for another root whose kind is a
    /// notice, yields [`Decision::Drop`]. A data packet under another root is
    /// reported as path broken (its coordinates mean nothing here).
    pub fn route(&mut self, header: &mut Header) -> Decision {
        let d = if header.root != self.root.key {
            Decision::PathBroken
        } else {
            let root = self.root.key;
            let nb = self
                .table
                .iter()
                .filter_map(|e| e.n.as_ref())
                .filter_map(|n| n.info().map(|i| (n.link, i)))
                .filter(|(_, i)| i.root.key == root)
                .map(|(l, i)| (l, &i.coord));
            decide(&self.coord, &header.dest, &mut header.watermark, nb)
        };
        let d = match (d, header.kind) {
            (Decision::PathBroken, PacketKind::PathBroken) => Decision::Drop,
            (d, _) => d,
        };
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
}
