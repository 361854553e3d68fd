//! Faults: partitions (single links or node-set cuts), heals, and nodes
//! going down and up, applied now or scheduled on the virtual clock.

use std::vec::Vec;

use super::queue::{CLASS_FAULT, Event};
use super::{Link, NodeId, Sim, SimError, SimNode, link_key};
use crate::time::Instant;

/// A set of links to block ([`Sim::partition`]) or unblock ([`Sim::heal`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    /// The link between two nodes, both directions.
    Link(NodeId, NodeId),
    /// Every link with exactly one end in this set.
    Cut(Vec<NodeId>),
}

/// A fault to apply at a virtual time ([`Sim::schedule`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Block links.
    Partition(Partition),
    /// Unblock links blocked by an equal [`Partition`].
    Heal(Partition),
    /// Take a node down.
    NodeDown(NodeId),
    /// Bring a node back up.
    NodeUp(NodeId),
}

#[derive(Clone, Debug)]
pub(super) struct Cut {
    members: Vec<NodeId>,
    inside: Vec<bool>,
}

impl<N: SimNode> Sim<N> {
    /// Applies `fault` at virtual time `at` (a time already past means the
    /// next step). Ids and links are checked now.
    pub fn schedule(&mut self, at: Instant, fault: Fault) -> Result<(), SimError> {
        self.check_fault(&fault)?;
        let at = at.max(self.now);
        self.push(at, CLASS_FAULT, Event::Fault(fault))
    }

    /// Schedules a partition at `at`.
    pub fn schedule_partition(&mut self, at: Instant, p: Partition) -> Result<(), SimError> {
        self.schedule(at, Fault::Partition(p))
    }

    /// Schedules a heal at `at`.
    pub fn schedule_heal(&mut self, at: Instant, p: Partition) -> Result<(), SimError> {
        self.schedule(at, Fault::Heal(p))
    }

    /// Schedules node `id` going down at `at`.
    pub fn schedule_node_down(&mut self, at: Instant, id: NodeId) -> Result<(), SimError> {
        self.schedule(at, Fault::NodeDown(id))
    }

    /// Schedules node `id` coming up at `at`.
    pub fn schedule_node_up(&mut self, at: Instant, id: NodeId) -> Result<(), SimError> {
        self.schedule(at, Fault::NodeUp(id))
    }

    /// Applies a partition now.
    pub fn partition(&mut self, p: Partition) -> Result<(), SimError> {
        self.apply_now(Fault::Partition(p))
    }

    /// Heals a partition now.
    pub fn heal(&mut self, p: Partition) -> Result<(), SimError> {
        self.apply_now(Fault::Heal(p))
    }

    /// Takes node `id` down now.
    pub fn node_down(&mut self, id: NodeId) -> Result<(), SimError> {
        self.apply_now(Fault::NodeDown(id))
    }

    /// Brings node `id` up now.
    pub fn node_up(&mut self, id: NodeId) -> Result<(), SimError> {
        self.apply_now(Fault::NodeUp(id))
    }

    /// Removes every partition (scheduled ones still apply later).
    pub fn heal_all(&mut self) {
        self.cuts.clear();
        for l in &mut self.links {
            l.cut = 0;
        }
    }

    fn apply_now(&mut self, fault: Fault) -> Result<(), SimError> {
        self.check_fault(&fault)?;
        self.apply(fault);
        Ok(())
    }

    fn check_node(&self, id: NodeId) -> Result<(), SimError> {
        if id.index() < self.nodes.len() {
            Ok(())
        } else {
            Err(SimError::UnknownNode { node: id })
        }
    }

    fn check_fault(&self, fault: &Fault) -> Result<(), SimError> {
        match fault {
            Fault::Partition(Partition::Link(a, b)) | Fault::Heal(Partition::Link(a, b)) => {
                self.check_node(*a)?;
                self.check_node(*b)?;
                if self.link_index.contains_key(&link_key(*a, *b)) {
                    Ok(())
                } else {
                    Err(SimError::NoLink { a: *a, b: *b })
                }
            }
            Fault::Partition(Partition::Cut(set)) | Fault::Heal(Partition::Cut(set)) => {
                set.iter().try_for_each(|&n| self.check_node(n))
            }
            Fault::NodeDown(n) | Fault::NodeUp(n) => self.check_node(*n),
        }
    }

    pub(super) fn apply(&mut self, fault: Fault) {
        match fault {
            Fault::Partition(Partition::Link(a, b)) => {
                if let Some(l) = self.link_mut(a, b) {
                    l.cut = l.cut.saturating_add(1);
                }
            }
            Fault::Heal(Partition::Link(a, b)) => {
                if let Some(l) = self.link_mut(a, b) {
                    l.cut = l.cut.saturating_sub(1);
                }
            }
            Fault::Partition(Partition::Cut(mut set)) => {
                set.sort_unstable();
                set.dedup();
                let mut inside = std::vec![false; self.nodes.len()];
                for n in &set {
                    if let Some(x) = inside.get_mut(n.index()) {
                        *x = true;
                    }
                }
                self.cuts.push(Cut {
                    members: set,
                    inside,
                });
            }
            Fault::Heal(Partition::Cut(mut set)) => {
                set.sort_unstable();
                set.dedup();
                if let Some(i) = self.cuts.iter().position(|c| c.members == set) {
                    self.cuts.remove(i);
                }
            }
            Fault::NodeDown(n) => {
                if let Some(d) = self.down.get_mut(n.index()) {
                    *d = true;
                }
                self.set_timer(n, None);
            }
            Fault::NodeUp(n) => {
                if let Some(d) = self.down.get_mut(n.index()) {
                    *d = false;
                }
                let raw = self.raw_deadline.get(n.index()).copied().flatten();
                self.set_timer(n, raw);
            }
        }
    }

    fn link_mut(&mut self, a: NodeId, b: NodeId) -> Option<&mut Link> {
        let i = *self.link_index.get(&link_key(a, b))?;
        self.links.get_mut(i)
    }

    pub(super) fn blocked(&self, a: NodeId, b: NodeId) -> bool {
        let link_cut = self
            .link_index
            .get(&link_key(a, b))
            .and_then(|&i| self.links.get(i))
            .is_some_and(|l| l.cut > 0);
        link_cut
            || self.cuts.iter().any(|c| {
                c.inside.get(a.index()).copied().unwrap_or(false)
                    != c.inside.get(b.index()).copied().unwrap_or(false)
            })
    }
}
