//! Sending announcements: what is due to whom in which tree, pacing, full
//! segments (from any hop a neighbour asks for) or keepalives, and the
//! grants we sign for our neighbours.

use ed25519_dalek::Signer;

#[cfg(doc)]
use super::super::announce::MAX_ANNOUNCE_LEN;
use super::super::announce::{
    Hop, KEEPALIVE_LEN, SegmentHeader, chain_digest, chain_tag, encode_keepalive_flagged,
    encode_segment, grant_message, last_epoch, segment_len,
};
use super::super::coords::MAX_DEPTH;
#[cfg(doc)]
use super::super::{Config, announce::SEGMENT_HOPS};
use super::{ChainStore, Node, Table, Transmit, Verifier};
use crate::error::BufferTooSmall;

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Node<'_, V, S, K, T> {
    /// Writes the next due announcement into `buf` (size it
    /// [`MAX_ANNOUNCE_LEN`], or `announce::segment_buf_len(segment_hops)`
    /// with [`Config::segment_hops`], to never see an error) and says which
    /// link it is for. Call until `Ok(None)` after every input. A chain
    /// deeper than [`Config::segment_hops`] leaves as consecutive segments
    /// to the same link. Announcements of different trees to one neighbour
    /// are paced separately.
    ///
    /// # Errors
    /// [`BufferTooSmall`]: nothing was written and the announcement stays due.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Result<Option<Transmit>, BufferTooSmall> {
        let slots = self.table.as_ref().len().saturating_mul(K);
        let ntrees = self.ntrees();
        let now = self.clock.latest();
        let gap = self.config.min_announce_gap;
        let seg = usize::from(self.config.segment_hops.max(1));
        for step in 0..slots {
            let pos = self
                .tx_cursor
                .wrapping_add(step)
                .checked_rem(slots)
                .unwrap_or(0);
            let (Some(i), Some(t)) = (pos.checked_div(K), pos.checked_rem(K)) else {
                continue;
            };
            if t >= ntrees {
                continue;
            }
            let Some(tr) = self.trees.get(t).filter(|tr| tr.joined) else {
                continue;
            };
            let version = tr.version;
            let position = tr.position;
            let depth = tr.depth();
            let Some(p) = self.peer_at(i, t) else {
                continue;
            };
            if !p.due {
                continue;
            }
            // The rest of a multi-segment announcement of our current
            // position leaves at once, after its first segment.
            let cont = p
                .tx_next
                .filter(|(v, _)| *v == version)
                .map(|(_, s)| usize::from(s));
            // Pacing: however often our position changes (a flapping or
            // hostile neighbour can drive that), one announcement per
            // neighbour and tree per gap; the one that leaves carries the
            // latest position, nothing queues.
            if cont.is_none() && p.paced(gap, now) {
                continue;
            }
            let full = cont.is_some() || p.owes_full(version, self.config.full_refresh_every);
            let want = p.we_want;
            let asked = p
                .they_want
                .map(usize::from)
                .filter(|&w| w <= depth)
                .unwrap_or(0);
            // A neighbour that has our position and only lacks renewed
            // grants gets our last hop alone (it checks it against what
            // signed it, which it kept).
            let renewal = cont.is_none()
                && p.they_want.is_none()
                && p.sent_version != Some(version)
                && p.sent_position == Some(position)
                && depth > 0;
            let start = if renewal {
                depth.saturating_sub(1)
            } else {
                cont.unwrap_or(asked).min(depth)
            };
            let end = start.saturating_add(seg).min(depth);
            let last = end == depth;
            let grant_ok = depth < MAX_DEPTH;
            let need = if full {
                segment_len(end.saturating_sub(start), last && grant_ok)
            } else {
                KEEPALIVE_LEN
            };
            if buf.len() < need {
                return Err(BufferTooSmall {
                    needed: need,
                    available: buf.len(),
                });
            }
            let grant = if grant_ok { self.grant_for(i, t) } else { None };
            let digest = self.own_digest(t, grant.as_ref());
            let tree = Self::tree_index(t);
            let Some(tr) = self.trees.get(t) else {
                continue;
            };
            let detached = tr.detached;
            let written = if full {
                let h = SegmentHeader {
                    tree,
                    root: tr.root,
                    // depth ≤ MAX_DEPTH < u16::MAX.
                    total: u16::try_from(depth).unwrap_or(u16::MAX),
                    start: u16::try_from(start).unwrap_or(u16::MAX),
                    digest,
                    want,
                    detached,
                };
                let hops = tr.chain.hops().get(start..end).unwrap_or(&[]);
                let g = if last { grant.as_ref() } else { None };
                encode_segment(buf, &h, hops, g)?
            } else {
                encode_keepalive_flagged(buf, tree, &tr.root, &digest, want, detached)?
            };
            let Some(p) = self.peer_mut(i, t) else {
                continue;
            };
            p.last_out = Some(now);
            let link = self
                .table
                .as_ref()
                .get(i)
                .and_then(|e| e.n.as_ref())
                .map(|n| n.link);
            let Some(link) = link else { continue };
            self.stats.announcements_out = self.stats.announcements_out.saturating_add(1);
            if full && !last {
                // More segments to this neighbour: keep it due and next.
                if let Some(p) = self.peer_mut(i, t) {
                    p.tx_next = Some((version, u16::try_from(end).unwrap_or(u16::MAX)));
                }
                self.tx_cursor = pos;
                return Ok(Some(Transmit { link, len: written }));
            }
            if let Some(p) = self.peer_mut(i, t) {
                p.due = false;
                p.tx_next = None;
                if full {
                    p.last_full = Some(now);
                    p.sent_version = Some(version);
                    p.sent_position = Some(position);
                    p.since_full = 0;
                    p.they_want = None;
                }
            }
            let written = if full {
                self.stats.full_out = self.stats.full_out.saturating_add(1);
                written
            } else {
                self.more_keepalives(i, buf, written)
            };
            self.tx_cursor = pos.wrapping_add(1);
            return Ok(Some(Transmit { link, len: written }));
        }
        Ok(None)
    }

    /// Appends to the keepalive already in `buf[..written]` for table entry
    /// `i` the keepalives of the other trees that are due to it now (not a
    /// full announcement, not held back by pacing), while `buf` has room:
    /// one message per neighbour and interval, whatever the number of
    /// trees ([`MAX_BUNDLE`](super::super::announce::MAX_BUNDLE)). Returns the message's new length.
    fn more_keepalives(&mut self, i: usize, buf: &mut [u8], mut written: usize) -> usize {
        let now = self.clock.latest();
        let gap = self.config.min_announce_gap;
        let refresh = self.config.full_refresh_every;
        for t in 0..self.ntrees() {
            let Some(tr) = self.trees.get(t).filter(|tr| tr.joined) else {
                continue;
            };
            let (version, depth) = (tr.version, tr.depth());
            let Some(p) = self.peer_at(i, t) else {
                continue;
            };
            let keepalive = p.due
                && p.tx_next.is_none()
                && !p.owes_full(version, refresh)
                && !p.paced(gap, now);
            if !keepalive {
                continue;
            }
            let want = p.we_want;
            let Some(out) = buf.get_mut(written..).filter(|b| b.len() >= KEEPALIVE_LEN) else {
                break;
            };
            let grant = if depth < MAX_DEPTH {
                self.grant_for(i, t)
            } else {
                None
            };
            let digest = self.own_digest(t, grant.as_ref());
            let Some(tr) = self.trees.get(t) else {
                continue;
            };
            let Ok(n) = encode_keepalive_flagged(
                out,
                Self::tree_index(t),
                &tr.root,
                &digest,
                want,
                tr.detached,
            ) else {
                break;
            };
            written = written.saturating_add(n);
            self.stats.announcements_out = self.stats.announcements_out.saturating_add(1);
            if let Some(p) = self.peer_mut(i, t) {
                p.last_out = Some(now);
                p.due = false;
            }
        }
        written
    }

    /// Prefix tag of our current chain in tree `t`, computed once per
    /// version.
    fn own_tag(&mut self, t: usize) -> [u8; 32] {
        let tree = Self::tree_index(t);
        let Some(tr) = self.trees.get_mut(t) else {
            return [0; 32];
        };
        match tr.tag_cache {
            Some((v, tag)) if v == tr.version => tag,
            _ => {
                let tag = chain_tag(tree, &tr.root, tr.chain.hops());
                tr.tag_cache = Some((tr.version, tag));
                tag
            }
        }
    }

    /// The digest of our chain in tree `t` with `grant` (keepalives and
    /// segments to that neighbour).
    fn own_digest(&mut self, t: usize, grant: Option<&Hop>) -> [u8; 16] {
        let tag = self.own_tag(t);
        let last = self
            .trees
            .get(t)
            .map_or(0, |tr| last_epoch(tr.chain.hops()));
        chain_digest(&tag, last, grant.map_or(0, |g| g.epoch))
    }

    /// Our grant in tree `t` for table entry `i` (slot `i + 1`), signed
    /// once per position and epoch and cached.
    fn grant_for(&mut self, i: usize, t: usize) -> Option<Hop> {
        let slot = u16::try_from(i.checked_add(1)?).ok()?;
        let (position, epoch) = self.trees.get(t).map(|tr| (tr.position, tr.grant_epoch))?;
        let p = self.table.as_ref().get(i)?.n.as_ref()?;
        let key = p.key;
        if let Some((pos, e, g)) = p.peer(t)?.grant
            && pos == position
            && e == epoch
        {
            return Some(g);
        }
        // A slot that would give the child an unrepresentable coordinate
        // (too deep, too many runs) is not offered.
        self.trees.get(t)?.coord.child(slot).ok()?;
        let tag = self.own_tag(t);
        let sig = self
            .secret
            .sign(&grant_message(&tag, slot, &key, epoch))
            .to_bytes();
        let g = Hop {
            key,
            slot,
            epoch,
            sig,
        };
        if let Some(p) = self.peer_mut(i, t) {
            p.grant = Some((position, epoch, g));
        }
        Some(g)
    }
}
