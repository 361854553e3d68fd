//! Sending announcements: what is due to whom, pacing, full segments or
//! keepalives, and the grants we sign for our neighbours.

use ed25519_dalek::Signer;

#[cfg(doc)]
use super::super::announce::MAX_ANNOUNCE_LEN;
use super::super::announce::{
    Hop, KEEPALIVE_LEN, SEGMENT_HOPS, chain_tag, digest_of_tag, encode_keepalive, encode_segment,
    grant_message, segment_len,
};
use super::super::coords::MAX_DEPTH;
use super::{ChainStore, Node, Transmit, Verifier};
use crate::error::BufferTooSmall;

impl<V: Verifier, S: ChainStore> Node<'_, V, S> {
    pub(super) fn position_changed(&mut self) {
        self.note_feasible();
        self.generation = self.generation.wrapping_add(1);
        self.event = true;
        self.mark_all_due();
    }

    /// Every neighbour is owed an announcement (paced as usual).
    pub(super) fn mark_all_due(&mut self) {
        for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
            n.due = true;
        }
    }

    /// Writes the next due announcement into `buf` (size it
    /// [`MAX_ANNOUNCE_LEN`] to never see an error) and says which link it is
    /// for. Call until `Ok(None)` after every input. A chain deeper than
    /// [`SEGMENT_HOPS`] leaves as consecutive segments to the same link.
    ///
    /// # Errors
    /// [`BufferTooSmall`]: nothing was written and the announcement stays due.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Result<Option<Transmit>, BufferTooSmall> {
        let len = self.table.len();
        for step in 0..len {
            let i = self
                .tx_cursor
                .wrapping_add(step)
                .checked_rem(len)
                .unwrap_or(0);
            let Some(n) = self.table.get(i).and_then(|e| e.n.as_ref()) else {
                continue;
            };
            if !n.due {
                continue;
            }
            // The rest of a multi-segment announcement of our current
            // position leaves at once, after its first segment.
            let cont = n
                .tx_next
                .filter(|(g, _)| *g == self.generation)
                .map(|(_, s)| usize::from(s));
            // Pacing: however often our position changes (a flapping or
            // hostile neighbour can drive that), one announcement per
            // neighbour per gap; the one that leaves carries the latest
            // position, nothing queues.
            if cont.is_none()
                && n.next_allowed(self.config.min_announce_gap)
                    .is_some_and(|t| self.clock.latest() < t)
            {
                continue;
            }
            let full = cont.is_some()
                || n.sent_gen != Some(self.generation)
                || n.they_want_full
                || (self.config.full_refresh_every != 0
                    && n.since_full >= self.config.full_refresh_every);
            let want = n.we_want_full;
            let depth = self.chain.hops().len();
            let start = cont.unwrap_or(0).min(depth);
            let end = start.saturating_add(SEGMENT_HOPS).min(depth);
            let last = end == depth;
            let grant_ok = last && depth < MAX_DEPTH;
            let need = if full {
                segment_len(end.saturating_sub(start), grant_ok)
            } else {
                KEEPALIVE_LEN
            };
            if buf.len() < need {
                return Err(BufferTooSmall {
                    needed: need,
                    available: buf.len(),
                });
            }
            let written = if full {
                let grant = if grant_ok { self.grant_for(i) } else { None };
                let hops = self.chain.hops().get(start..end).unwrap_or(&[]);
                // depth ≤ MAX_DEPTH < u16::MAX.
                let total = u16::try_from(depth).unwrap_or(u16::MAX);
                let first = u16::try_from(start).unwrap_or(u16::MAX);
                encode_segment(buf, &self.root, total, first, hops, grant.as_ref(), want)?
            } else {
                let d = self.own_digest();
                encode_keepalive(buf, &self.root, &d, want)?
            };
            let generation = self.generation;
            let now = self.clock.latest();
            let Some(n) = self.table.get_mut(i).and_then(|e| e.n.as_mut()) else {
                continue;
            };
            n.last_out = Some(now);
            if full && !last {
                // More segments to this neighbour: keep it due and next.
                n.tx_next = Some((generation, u16::try_from(end).unwrap_or(u16::MAX)));
                self.stats.announcements_out = self.stats.announcements_out.saturating_add(1);
                self.tx_cursor = i;
                return Ok(Some(Transmit {
                    link: n.link,
                    len: written,
                }));
            }
            n.due = false;
            n.tx_next = None;
            if full {
                n.last_full = Some(now);
                n.sent_gen = Some(generation);
                n.since_full = 0;
                n.they_want_full = false;
                self.stats.full_out = self.stats.full_out.saturating_add(1);
            }
            self.stats.announcements_out = self.stats.announcements_out.saturating_add(1);
            self.tx_cursor = i.wrapping_add(1);
            return Ok(Some(Transmit {
                link: n.link,
                len: written,
            }));
        }
        Ok(None)
    }

    /// Prefix tag of our current chain, computed once per position.
    pub(super) fn own_tag(&mut self) -> [u8; 32] {
        match self.tag_cache {
            Some((g, t)) if g == self.generation => t,
            _ => {
                let t = chain_tag(&self.root, self.chain.hops());
                self.tag_cache = Some((self.generation, t));
                t
            }
        }
    }

    /// Digest of our current chain (keepalives).
    pub(super) fn own_digest(&mut self) -> [u8; 16] {
        digest_of_tag(&self.own_tag())
    }

    /// The grant for table entry `i` (slot `i + 1`), signed once per
    /// position and cached.
    pub(super) fn grant_for(&mut self, i: usize) -> Option<Hop> {
        let slot = u16::try_from(i.checked_add(1)?).ok()?;
        let generation = self.generation;
        let n = self.table.get(i)?.n.as_ref()?;
        let key = n.key;
        if let Some((g, sig)) = n.grant {
            if g == generation {
                return Some(Hop { key, slot, sig });
            }
        }
        // A slot that would give the child an unrepresentable coordinate
        // (too deep, too many runs) is not offered.
        self.coord.child(slot).ok()?;
        let tag = self.own_tag();
        let sig = self
            .secret
            .sign(&grant_message(&tag, slot, &key))
            .to_bytes();
        if let Some(n) = self.table.get_mut(i).and_then(|e| e.n.as_mut()) {
            n.grant = Some((generation, sig));
        }
        Some(Hop { key, slot, sig })
    }
}
