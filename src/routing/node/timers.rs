//! Timers: announcement intervals, root heartbeats, neighbour and root
//! timeouts, through [`Timed`].

use super::table::View;
use super::{ChainStore, DeadRoot, Node, Verifier};
use crate::time::{Instant, Timed};

impl<V: Verifier, S: ChainStore> Timed for Node<'_, V, S> {
    fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.next_announce;
        if let Some(r) = self.root_deadline() {
            t = t.min(r);
        }
        let latest = self.clock.latest();
        for n in self.table.iter().filter_map(|e| e.n.as_ref()) {
            if n.heard() {
                t = t.min(n.last_heard.saturating_add(self.config.neighbour_timeout));
            }
            // A paced announcement becomes sendable (an earlier one is
            // sendable now: the caller polls transmits after every input).
            if n.due
                && let Some(at) = n.next_allowed(self.config.min_announce_gap)
                && at > latest
            {
                t = t.min(at);
            }
        }
        for d in &self.dead {
            t = t.min(d.at.saturating_add(self.config.dead_root_hold));
        }
        Some(t)
    }

    fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if now >= self.next_announce {
            let next = self
                .next_announce
                .saturating_add(self.config.announce_interval);
            self.next_announce = if next > now {
                next
            } else {
                now.saturating_add(self.config.announce_interval)
            };
            if self.next_announce <= now {
                // Zero interval or saturated clock: never spin.
                self.next_announce = Instant::MAX;
            }
            for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
                n.due = true;
                n.since_full = n.since_full.saturating_add(1);
            }
            self.reconsider();
        }
        if self.is_root() && now >= self.next_root_refresh {
            self.own_seq = self.own_seq.saturating_add(1);
            self.sign_heartbeat();
            self.mark_all_due();
            self.next_root_refresh = now.saturating_add(
                self.config
                    .root_refresh
                    .max(crate::time::Duration::from_micros(1)),
            );
        }
        let timeout = self.config.neighbour_timeout;
        let mut lost_parent = false;
        for (i, e) in self.table.iter_mut().enumerate() {
            if let Some(n) = e.n.as_mut() {
                if n.heard() && n.last_heard.saturating_add(timeout) <= now {
                    n.view = View::None;
                    n.we_want_full = true;
                    self.stats.neighbour_timeouts = self.stats.neighbour_timeouts.saturating_add(1);
                    if self.parent == Some(i) {
                        lost_parent = true;
                    }
                }
            }
        }
        if !self.is_root() && self.root_heard.saturating_add(self.root_timeout()) <= now {
            let dead = DeadRoot {
                key: self.root.key,
                seq: self.root.seq,
                at: now,
            };
            if self.dead.is_full() && !self.dead.is_empty() {
                self.dead.remove(0);
            }
            let _ = self.dead.push(dead);
            self.stats.roots_expired = self.stats.roots_expired.saturating_add(1);
            // Neighbours still on the dead root are unusable.
            for n in self.table.iter_mut().filter_map(|e| e.n.as_mut()) {
                if n.info()
                    .is_some_and(|i| i.root.key == dead.key && i.root.seq <= dead.seq)
                {
                    n.view = View::None;
                }
            }
            lost_parent = true;
        }
        let hold = self.config.dead_root_hold;
        self.dead.retain(|d| d.at.saturating_add(hold) > now);
        if lost_parent {
            self.become_root(now);
        }
    }
}
