//! The neighbour table: one caller-provided entry per link, what we know
//! of each neighbour's position, and links coming and going.

use super::super::announce::RootInfo;
use super::super::coords::Coord;
use super::super::error::LinkError;
use super::super::greedy::LinkId;
use super::{ChainStore, Node, Verifier};
use crate::time::{Duration, Instant};

/// Neighbour entries a node uses at most (slot numbers are non-zero `u16`).
pub const MAX_NEIGHBOURS: usize = u16::MAX as usize;

/// One entry of the caller-provided neighbour table.
///
/// 1,432 bytes on x86-64 (`size_of::<NeighbourEntry>()`, most of it one
/// run-length coordinate of up to [`super::super::MAX_RUNS`] runs); a node with a table of
/// `n` entries uses `n` × that for neighbours. An entry's index `i` is the
/// slot `i + 1` this node grants to that neighbour.
#[derive(Clone, Debug, Default)]
pub struct NeighbourEntry {
    pub(super) n: Option<Neighbour>,
}

impl NeighbourEntry {
    /// An unused entry.
    pub const EMPTY: NeighbourEntry = NeighbourEntry { n: None };
}

#[derive(Clone, Debug)]
pub(super) struct Neighbour {
    pub(super) link: LinkId,
    pub(super) key: [u8; 32],
    pub(super) last_heard: Instant,
    /// What we know of its position.
    pub(super) view: View,
    pub(super) due: bool,
    pub(super) sent_gen: Option<u64>,
    pub(super) since_full: u16,
    pub(super) we_want_full: bool,
    pub(super) they_want_full: bool,
    /// When we last sent it a full announcement.
    pub(super) last_full: Option<Instant>,
    /// When we last sent it anything ([`Config::min_announce_gap`]).
    pub(super) last_out: Option<Instant>,
    pub(super) grant: Option<(u64, [u8; 64])>,
    /// Our announcement to it in progress: (generation, next segment start).
    pub(super) tx_next: Option<(u64, u16)>,
}

/// A neighbour's chain being received: everything needed to verify the next
/// segment, in fixed size whatever the depth.
#[derive(Clone, Debug)]
pub(super) struct Partial {
    pub(super) root: RootInfo,
    pub(super) total: u16,
    /// Hops received so far.
    pub(super) next: u16,
    /// Prefix tag after `next` hops.
    pub(super) tag: [u8; 32],
    /// Key of the last hop received (the root's at the start).
    pub(super) upper: [u8; 32],
    pub(super) coord: Coord,
    pub(super) contains_me: bool,
    /// Every hop so far equals ours at the same depth (already verified).
    pub(super) same_as_ours: bool,
    /// The hops are being copied into the staging area.
    pub(super) staged: bool,
}

/// A neighbour's position as we know it: nothing usable, a verified
/// chain, or a chain still arriving in segments (one or the other, so an
/// entry holds one coordinate).
#[derive(Clone, Debug)]
pub(super) enum View {
    None,
    Ready(PeerInfo),
    Receiving(Partial),
}

impl Neighbour {
    pub(super) fn info(&self) -> Option<&PeerInfo> {
        match &self.view {
            View::Ready(i) => Some(i),
            _ => None,
        }
    }

    pub(super) fn info_mut(&mut self) -> Option<&mut PeerInfo> {
        match &mut self.view {
            View::Ready(i) => Some(i),
            _ => None,
        }
    }

    pub(super) fn rx(&self) -> Option<&Partial> {
        match &self.view {
            View::Receiving(p) => Some(p),
            _ => None,
        }
    }

    /// The chain being received, if any (the view becomes empty then);
    /// a verified chain stays.
    pub(super) fn take_rx(&mut self) -> Option<Partial> {
        match core::mem::replace(&mut self.view, View::None) {
            View::Receiving(p) => Some(p),
            other => {
                self.view = other;
                None
            }
        }
    }

    /// Anything heard that the neighbour timeout applies to.
    pub(super) fn heard(&self) -> bool {
        !matches!(self.view, View::None)
    }

    /// When the pacing gap lets the next announcement to it leave.
    pub(super) fn next_allowed(&self, gap: Duration) -> Option<Instant> {
        self.last_out.map(|t| t.saturating_add(gap))
    }
}

#[derive(Clone, Debug)]
pub(super) struct PeerInfo {
    pub(super) root: RootInfo,
    pub(super) coord: Coord,
    pub(super) digest: [u8; 16],
    /// It offered us a valid grant (so it could be our parent).
    pub(super) offer: bool,
}

impl<V: Verifier, S: ChainStore> Node<'_, V, S> {
    pub(super) fn find_link(&self, link: LinkId) -> Option<usize> {
        self.table
            .iter()
            .position(|e| e.n.as_ref().is_some_and(|n| n.link == link))
    }

    /// Registers a link to a neighbour whose (already authenticated, e.g. by
    /// Noise) public key is `peer`. A full announcement to it is due at once.
    ///
    /// # Errors
    /// [`LinkError`]; nothing changes.
    pub fn handle_link_up(
        &mut self,
        now: Instant,
        link: LinkId,
        peer: [u8; 32],
    ) -> Result<(), LinkError> {
        let now = self.clock.observe(now);
        if peer == self.public {
            return Err(LinkError::SelfLink);
        }
        if self.find_link(link).is_some() {
            return Err(LinkError::Duplicate);
        }
        let Some(e) = self.table.iter_mut().find(|e| e.n.is_none()) else {
            self.stats.table_full = self.stats.table_full.saturating_add(1);
            return Err(LinkError::TableFull);
        };
        e.n = Some(Neighbour {
            link,
            key: peer,
            last_heard: now,
            view: View::None,
            due: true,
            sent_gen: None,
            since_full: 0,
            we_want_full: false,
            they_want_full: false,
            last_full: None,
            last_out: None,
            grant: None,
            tx_next: None,
        });
        Ok(())
    }

    /// Forgets a link (closed by the driver). Losing the parent link makes
    /// the node re-join from its other neighbours.
    pub fn handle_link_down(&mut self, now: Instant, link: LinkId) {
        let now = self.clock.observe(now);
        if let Some(i) = self.find_link(link) {
            if let Some(e) = self.table.get_mut(i) {
                e.n = None;
            }
            if self.stage_owner == Some(i) {
                self.stage_owner = None;
            }
            if self.parent == Some(i) {
                self.become_root(now);
            }
        }
    }
}
