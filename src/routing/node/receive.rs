//! Receiving announcements: parsing, the chain request, keepalives, and the
//! segment-by-segment verification of a neighbour's chain (which then
//! feeds parent choice, `node/parent.rs`).

use super::super::announce::{
    Announcement, Full, MAX_BUNDLE, RootInfo, SEGMENT_HOPS, chain_digest, grant_message, next_tag,
    root_tag,
};
use super::super::coords::Coord;
use super::super::error::AnnounceError;
use super::super::greedy::LinkId;
use super::parent::Source;
use super::table::{Partial, PeerInfo, View};
use super::verify::{Check, hop_cache_tag};
use super::{ChainStore, Node, Table, Verifier};
#[cfg(doc)]
use super::{Config, Stats};
use crate::time::Instant;

/// Whether a key repeats among `upper` (the key above the segment: the
/// root's, or the previous segment's last) and the segment's hops (sort, then
/// compare neighbours: O(k log k), k ≤ [`SEGMENT_HOPS`] + 1). Repeats across
/// segments of a deeper chain are not looked for: only a hostile ancestor
/// can write one, inside the subtree it controls anyway; our own key is
/// checked along the whole chain.
fn has_repeated_key(upper: &[u8; 32], f: &Full<'_>) -> bool {
    let mut keys = [[0u8; 32]; SEGMENT_HOPS + 1];
    let mut n = 0usize;
    for k in core::iter::once(*upper).chain(f.hops().map(|h| h.key)) {
        if let Some(slot) = keys.get_mut(n) {
            *slot = k;
            n = n.saturating_add(1);
        }
    }
    let keys = keys.get_mut(..n).unwrap_or(&mut []);
    keys.sort_unstable();
    keys.windows(2).any(|w| w.first() == w.get(1))
}

pub(super) fn check(c: Check, bad: AnnounceError) -> Result<(), AnnounceError> {
    match c {
        Check::Valid => Ok(()),
        Check::Invalid => Err(bad),
        Check::Budget => Err(AnnounceError::OverBudget),
    }
}

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    /// Processes one message received on `link`: an announcement (a
    /// keepalive or one segment of a full announcement, of one tree), or up
    /// to [`MAX_BUNDLE`] of them back to back (what [`Node::poll_transmit`]
    /// sends when the keepalives of several trees are due at once), in
    /// order; the first refusal ends the message. Bounded work per
    /// announcement: at most [`SEGMENT_HOPS`] + 3 signature checks (and
    /// never more than the neighbour's remaining budget,
    /// [`Config::verify_budget`] per interval, whatever the message holds),
    /// [`SEGMENT_HOPS`] + 1 hashes and a few scans of the table.
    ///
    /// # Errors
    /// [`AnnounceError`] (also counted in [`Stats`]). A refused
    /// announcement stops that neighbour from being used in that tree until
    /// it sends a valid one, except [`AnnounceError::OverBudget`] (nothing
    /// changes; the rest is asked for after the next interval).
    pub fn handle_announcement(
        &mut self,
        now: Instant,
        link: LinkId,
        bytes: &[u8],
    ) -> Result<(), AnnounceError> {
        let now = self.clock.observe(now);
        let Some(idx) = self.find_link(link) else {
            self.stats.rejected_unknown_link = self.stats.rejected_unknown_link.saturating_add(1);
            return Err(AnnounceError::UnknownLink);
        };
        // Up to MAX_BUNDLE announcements back to back (the keepalives of
        // several trees). The whole message is checked first: one that
        // does not parse completely is refused as a whole, nothing in it
        // acted on.
        let mut parsed: [Option<Announcement<'_>>; MAX_BUNDLE] = core::array::from_fn(|_| None);
        let mut count = 0usize;
        let mut rest = bytes;
        while !rest.is_empty() {
            let Some(slot) = parsed.get_mut(count) else {
                return self.handle_one(now, idx, Err(AnnounceError::Malformed));
            };
            match Announcement::parse_prefix(rest) {
                Ok((a, n)) => {
                    *slot = Some(a);
                    rest = rest.get(n..).unwrap_or(&[]);
                }
                Err(e) => return self.handle_one(now, idx, Err(e)),
            }
            count = count.saturating_add(1);
        }
        if count == 0 {
            return self.handle_one(now, idx, Err(AnnounceError::Malformed));
        }
        for a in parsed.into_iter().flatten() {
            // The first refusal ends the message.
            self.handle_one(now, idx, Ok(a))?;
        }
        Ok(())
    }

    /// One announcement of a message, parsed (or refused by the parser).
    fn handle_one(
        &mut self,
        now: Instant,
        idx: usize,
        parsed: Result<Announcement<'_>, AnnounceError>,
    ) -> Result<(), AnnounceError> {
        let tree = parsed.as_ref().ok().map(|a| usize::from(a.tree()));
        // A tree we do not run (another deployment size): liveness only.
        if tree.is_some_and(|t| t >= self.ntrees()) {
            self.alive(now, idx);
            self.stats.announcements_in = self.stats.announcements_in.saturating_add(1);
            return Ok(());
        }
        // A request for our chain is honoured whatever happens to the rest
        // of the message: two neighbours that both lost each other's chain
        // would otherwise ignore each other's requests forever. Requests
        // are served at once at most once per announcement interval (later
        // ones wait for the next interval), so a neighbour flooding small
        // requests cannot make us send our whole chain for each.
        if let (Some(t), Ok(a)) = (tree, &parsed)
            && let Some(from) = a.want()
        {
            self.requested(now, idx, t, from);
        }
        let res = match (&parsed, tree) {
            (Ok(Announcement::Full(f)), Some(t)) => self.handle_full(now, t, idx, f),
            (Ok(Announcement::Keepalive(k)), Some(t)) => self.handle_keepalive(now, t, idx, k),
            (Err(e), _) => Err(*e),
            _ => Err(AnnounceError::Malformed),
        };
        self.account(now, idx, tree, res);
        self.settle(now);
        res
    }

    /// The neighbour asked for our chain of tree `t` from hop `from` on.
    fn requested(&mut self, now: Instant, idx: usize, t: usize, from: u16) {
        let interval = self.config.announce_interval;
        let Some(p) = self.peer_mut(idx, t) else {
            return;
        };
        p.they_want = Some(p.they_want.map_or(from, |w| w.min(from)));
        if p.last_full
            .is_none_or(|t| now >= t.saturating_add(interval))
        {
            p.due = true;
        }
    }

    /// A sign of life from neighbour `idx` (eviction timer).
    fn alive(&mut self, now: Instant, idx: usize) {
        if let Some(n) = self.table.as_mut().get_mut(idx).and_then(|e| e.n.as_mut()) {
            n.alive_at = now;
        }
    }

    /// Counts the outcome; a refusal resets the sender's view in that tree
    /// (every tree when the tree is unknown) and lets go of it as parent.
    fn account(
        &mut self,
        now: Instant,
        idx: usize,
        tree: Option<usize>,
        res: Result<(), AnnounceError>,
    ) {
        let e = match res {
            Ok(()) => {
                self.stats.announcements_in = self.stats.announcements_in.saturating_add(1);
                self.alive(now, idx);
                return;
            }
            Err(e) => e,
        };
        let s = &mut self.stats;
        let c = match e {
            AnnounceError::Malformed | AnnounceError::TooDeep => &mut s.rejected_malformed,
            AnnounceError::UnknownLink => &mut s.rejected_unknown_link,
            AnnounceError::WrongSender | AnnounceError::GrantNotForUs => &mut s.rejected_identity,
            AnnounceError::BadSignature => &mut s.rejected_signature,
            AnnounceError::LoopingChain => &mut s.rejected_loop,
            AnnounceError::StaleRoot => &mut s.rejected_stale_root,
            AnnounceError::UnknownDigest => &mut s.unknown_digest,
            AnnounceError::OutOfOrder => &mut s.out_of_order,
            AnnounceError::Expired => &mut s.rejected_expired,
            AnnounceError::BadCredential | AnnounceError::DuplicateRoot => {
                &mut s.rejected_credential
            }
            AnnounceError::OverBudget => &mut s.over_budget,
        };
        *c = c.saturating_add(1);
        match e {
            AnnounceError::OverBudget => {
                self.alive(now, idx);
                return;
            }
            // Out of sync (a lost or late message), not hostile: still
            // alive, and what we knew of it stays usable (as if the message
            // had been lost) until its whole chain, asked for now, arrives.
            AnnounceError::UnknownDigest | AnnounceError::OutOfOrder => {
                self.alive(now, idx);
                if let Some(t) = tree
                    && let Some(p) = self.peer_mut(idx, t)
                {
                    p.we_want = Some(0);
                    p.due = true;
                }
                return;
            }
            _ => {}
        }
        // The sender's previous state can no longer be trusted as current:
        // stop using it, ask for its whole chain.
        let trees = match tree {
            Some(t) => t..t.saturating_add(1),
            None => 0..K,
        };
        for t in trees {
            if let Some(p) = self.peer_mut(idx, t) {
                p.view = View::None;
                p.we_want = Some(0);
                p.due = true;
            }
            if self.trees.get(t).is_some_and(|tr| tr.parent == Some(idx)) {
                self.parent_gone(t);
            }
        }
    }

    /// Table entry `idx`'s view in tree `t`.
    pub(super) fn peer_at(&self, idx: usize, t: usize) -> Option<&super::table::Peer> {
        self.table
            .as_ref()
            .get(idx)
            .and_then(|e| e.n.as_ref())
            .and_then(|n| n.peer(t))
    }

    pub(super) fn peer_mut(&mut self, idx: usize, t: usize) -> Option<&mut super::table::Peer> {
        self.table
            .as_mut()
            .get_mut(idx)
            .and_then(|e| e.n.as_mut())
            .and_then(|n| n.peer_mut(t))
    }

    /// One segment of neighbour `idx`'s chain in tree `t`.
    fn handle_full(
        &mut self,
        now: Instant,
        t: usize,
        idx: usize,
        f: &Full<'_>,
    ) -> Result<(), AnnounceError> {
        let Some(n) = self.table.as_mut().get_mut(idx).and_then(|e| e.n.as_mut()) else {
            return Err(AnnounceError::UnknownLink);
        };
        let peer = n.key;
        let Some(x) = n.peer_mut(t) else {
            return Err(AnnounceError::UnknownLink);
        };
        // Verification of this neighbour's chain stopped for the budget: the
        // rest is asked for after the refill; until then its segments wait.
        if x.deferred.is_some() {
            return Err(AnnounceError::OverBudget);
        }
        let pending = x.take_rx();
        if f.is_last() && f.hops().last().map_or(f.root.key, |h| h.key) != peer {
            return Err(AnnounceError::WrongSender);
        }
        if self.is_stale(t, &f.root) {
            return Err(AnnounceError::StaleRoot);
        }
        if let Some(g) = &f.grant
            && g.key != self.public
        {
            return Err(AnnounceError::GrantNotForUs);
        }
        let tree = Self::tree_index(t);
        let mut p = if f.start == 0 {
            if self.irrelevant(t, idx, &f.root) {
                // Lazy verification: a chain under a root worse than ours is
                // useless (we would not join it and `route` only compares
                // coordinates under the destination's roots, which a worse
                // root here is not for long), so its signatures are not
                // checked and it is not stored. If our root changes we ask
                // for it again.
                if let Some(p) = self.peer_mut(idx, t) {
                    p.last_heard = now;
                    p.view = View::None;
                    p.we_want = None;
                }
                return Ok(());
            }
            // One key roots one tree.
            if self.roots_earlier(t, &f.root.key) {
                return Err(AnnounceError::DuplicateRoot);
            }
            check(
                self.verify_root(idx, t, &f.root),
                AnnounceError::BadSignature,
            )?;
            check(
                self.verify_credential(idx, &f.root),
                AnnounceError::BadCredential,
            )?;
            // A chain that arrives in several segments is copied into the
            // staging area if it may become ours; a single segment is
            // adopted straight from the message.
            let staged = !f.is_last() && self.wants_stage(now, t, idx, &f.root, f.depth());
            if staged {
                self.stage.clear();
                // The lease runs from when this neighbour took the area;
                // its later chains, finished or not, do not renew it.
                if self.stage_owner != Some((t, idx)) {
                    self.stage_since = now;
                }
                self.stage_owner = Some((t, idx));
            }
            let ours = self
                .trees
                .get(t)
                .map(|tr| tr.joined && tr.root.same_tree(&f.root));
            Partial {
                root: f.root,
                total: f.total,
                digest: f.digest,
                next: 0,
                tag: root_tag(tree, &f.root.key, f.root.rank),
                upper: f.root.key,
                prev_tag: [0; 32],
                prev_upper: [0; 32],
                coord: Coord::root(),
                last_epoch: 0,
                contains_me: f.root.key == self.public,
                same_as_ours: ours == Some(true),
                same_keys: ours == Some(true),
                staged,
            }
        } else {
            let mut p = match pending {
                Some(p)
                    if p.next == f.start
                        && p.total == f.total
                        && p.digest == f.digest
                        && p.root.same_tree(&f.root)
                        && f.root.seq >= p.root.seq =>
                {
                    p
                }
                _ => self.renewal(t, idx, f).ok_or(AnnounceError::OutOfOrder)?,
            };
            if f.root.seq > p.root.seq {
                check(
                    self.verify_root(idx, t, &f.root),
                    AnnounceError::BadSignature,
                )?;
                p.root = RootInfo {
                    credential: p.root.credential,
                    ..f.root
                };
            }
            p
        };

        if has_repeated_key(&p.upper, f) {
            return Err(AnnounceError::LoopingChain);
        }
        let seq = self.known_seq(t, &f.root);
        // Walk the segment: coordinate, our own key, the lifetime of the
        // sender's own grant, signatures (skipped for hops equal to our own
        // chain and for hops in the cache), staging.
        for hop in f.hops() {
            let k = usize::from(p.next);
            let depth = k.saturating_add(1);
            p.coord.push(hop.slot).map_err(|_| AnnounceError::TooDeep)?;
            if hop.key == self.public {
                p.contains_me = true;
            }
            if depth == usize::from(p.total) && self.expired(seq, hop.epoch, depth) {
                return Err(AnnounceError::Expired);
            }
            let (same, same_key) = self.trees.get(t).map_or((false, false), |tr| {
                let mine = tr.chain.hops().get(k);
                (
                    mine == Some(&hop),
                    mine.is_some_and(|m| m.key == hop.key && m.slot == hop.slot),
                )
            });
            p.same_as_ours = p.same_as_ours && same;
            p.same_keys = p.same_keys && same_key;
            let tag = next_tag(&p.tag, &hop.key, hop.slot);
            if p.same_as_ours {
                self.hit();
            } else {
                let ctag = hop_cache_tag(&tag, hop.epoch, &hop.sig);
                let m = grant_message(&p.tag, hop.slot, &hop.key, hop.epoch);
                match self.verify_paid(idx, ctag, &p.upper, &m, &hop.sig) {
                    Check::Valid => {}
                    Check::Invalid => return Err(AnnounceError::BadSignature),
                    Check::Budget => {
                        self.defer(t, idx, p, f);
                        return Err(AnnounceError::OverBudget);
                    }
                }
            }
            if p.staged && !(self.stage_owner == Some((t, idx)) && self.stage.push(hop)) {
                p.staged = false;
            }
            p.prev_tag = p.tag;
            p.prev_upper = p.upper;
            p.tag = tag;
            p.upper = hop.key;
            p.last_epoch = hop.epoch;
            p.next = p.next.saturating_add(1);
        }
        if !f.is_last() {
            if let Some(x) = self.peer_mut(idx, t) {
                x.last_heard = now;
                x.view = View::Receiving(p);
            }
            return Ok(());
        }
        let digest = chain_digest(&p.tag, p.last_epoch, f.grant.map_or(0, |g| g.epoch));
        if digest != p.digest {
            return Err(AnnounceError::Malformed);
        }
        let coord = p.coord.clone();
        // The grant offered to us.
        let mut offer = false;
        if let Some(g) = &f.grant
            && !p.contains_me
        {
            coord.child(g.slot).map_err(|_| AnnounceError::TooDeep)?;
            if self.expired(seq, g.epoch, f.depth().saturating_add(1)) {
                return Err(AnnounceError::Expired);
            }
            // Lazy: the grant is checked only where we would take it now
            // (from our parent, or a better position). Any other offer is
            // remembered unchecked; acting on it later (`reconsider`, a
            // candidacy that waits for it) asks for the chain again, and
            // the grant is checked then, before it is taken.
            let depth = f.depth().saturating_add(1);
            let wanted = self.trees.get(t).is_some_and(|tr| tr.parent == Some(idx))
                || (self.better_parts(t, &f.root, &coord) && self.may_join(t, &f.root, depth));
            if wanted {
                let m = grant_message(&p.tag, g.slot, &self.public, g.epoch);
                if let Err(e) = check(
                    self.verify(idx, &peer, &m, &g.sig),
                    AnnounceError::BadSignature,
                ) {
                    // An offer that fails its check is no offer.
                    if let Some(i) = self.peer_mut(idx, t).and_then(|x| x.info_mut()) {
                        i.offer = false;
                    }
                    return Err(e);
                }
            }
            offer = !f.detached && self.acceptable_root(t, &f.root);
        }
        if let Some(x) = self.peer_mut(idx, t) {
            x.last_heard = now;
            x.we_want = None;
            x.deferred = None;
            x.view = View::Ready(PeerInfo {
                root: f.root,
                coord: coord.clone(),
                digest,
                last_epoch: p.last_epoch,
                tag: p.tag,
                parent_tag: p.prev_tag,
                parent_key: p.prev_upper,
                contains_me: p.contains_me,
                offer,
            });
        }
        let source = if f.start == 0 {
            Source::Message(f)
        } else if p.staged {
            Source::Stage
        } else {
            Source::Unavailable
        };
        self.consider(now, t, idx, &p, f.grant.filter(|_| offer), &coord, source);
        Ok(())
    }

    /// A segment holding only the last hop of the neighbour's chain, which
    /// we already hold whole (same root, depth and position): its renewed
    /// grant. Verifying it needs only what signed it (kept with the view).
    fn renewal(&mut self, t: usize, idx: usize, f: &Full<'_>) -> Option<Partial> {
        if !(f.is_last() && f.len() == 1 && usize::from(f.start).saturating_add(1) == f.depth()) {
            return None;
        }
        let hop = f.hops().next()?;
        let parent = self.trees.get(t).map(|tr| tr.parent);
        let n = self.table.as_ref().get(idx)?.n.as_ref()?;
        let i = n.peer(t)?.info()?;
        if !i.root.same_tree(&f.root)
            || f.root.seq < i.root.seq
            || i.coord.depth() != f.depth()
            || next_tag(&i.parent_tag, &hop.key, hop.slot) != i.tag
        {
            return None;
        }
        Some(Partial {
            root: i.root,
            total: f.total,
            digest: f.digest,
            next: f.start,
            tag: i.parent_tag,
            upper: i.parent_key,
            prev_tag: [0; 32],
            prev_upper: [0; 32],
            coord: i.coord.parent(),
            last_epoch: 0,
            contains_me: i.contains_me,
            same_as_ours: false,
            // Our chain is its chain plus our hop (its position did not
            // change since we took it).
            same_keys: parent == Some(Some(idx)),
            staged: false,
        })
    }

    /// Verification stopped for the budget: keep what was verified of a
    /// chain arriving in segments, and ask for the rest (from where it
    /// stopped) after the next interval.
    fn defer(&mut self, t: usize, idx: usize, p: Partial, f: &Full<'_>) {
        // A single segment adopted straight from the message is asked for
        // whole again (its verified hops are in the cache by then).
        let from = if f.start == 0 && f.is_last() {
            0
        } else {
            p.next
        };
        if let Some(x) = self.peer_mut(idx, t) {
            x.deferred = Some(from);
            if from > 0 {
                x.view = View::Receiving(p);
            }
        }
    }
}
