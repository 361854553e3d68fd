//! Timers, through [`Timed`]: announcement intervals (and the verification
//! budget's refill), root heartbeats, neighbour view timeouts, silent
//! neighbour eviction, root timeouts and the dead-root hold.

use super::stats::Eviction;
use super::table::View;
use super::{ChainStore, Node, Table, Verifier};
use crate::time::{Instant, Timed};

impl<V: Verifier, S: ChainStore, const K: usize, T: Table<K>> Timed for Node<'_, V, S, K, T> {
    fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.next_announce;
        let ntrees = self.ntrees();
        for tree in 0..ntrees {
            if let Some(r) = self.root_deadline(tree) {
                t = t.min(r);
            }
            // A hold before candidacy ends (a later tree may start).
            if let Some(r) = self.candidacy_deadline(tree) {
                t = t.min(r);
            }
            if let Some(tr) = self.trees.get(tree) {
                for d in &tr.dead {
                    t = t.min(d.at.saturating_add(self.config.dead_root_hold));
                }
            }
        }
        let latest = self.clock.latest();
        for n in self.table.as_ref().iter().filter_map(|e| e.n.as_ref()) {
            t = t.min(n.alive_at.saturating_add(self.config.silent_eviction));
            for p in n.trees.iter().take(ntrees) {
                if p.heard() {
                    t = t.min(p.last_heard.saturating_add(self.config.neighbour_timeout));
                }
                // A paced announcement becomes sendable (an earlier one is
                // sendable now: the caller polls transmits after every
                // input).
                if p.due
                    && let Some(at) = p.next_allowed(self.config.min_announce_gap)
                    && at > latest
                {
                    t = t.min(at);
                }
            }
        }
        Some(t)
    }

    fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        let ntrees = self.ntrees();
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
            let (budget, burst) = (u32::from(self.budget()), self.burst());
            for n in self.table.as_mut().iter_mut().filter_map(|e| e.n.as_mut()) {
                n.tokens = n.tokens.saturating_add(budget).min(burst);
                for p in n.trees.iter_mut().take(ntrees) {
                    p.due = true;
                    p.since_full = p.since_full.saturating_add(1);
                    // Verification deferred for the budget: ask for the
                    // rest now that the tokens are back.
                    if let Some(from) = p.deferred.take() {
                        p.we_want = Some(from);
                    }
                }
            }
            for t in 0..ntrees {
                self.reconsider(t);
            }
        }
        for t in 0..ntrees {
            let due = self
                .trees
                .get(t)
                .is_some_and(|tr| tr.is_own_root(&self.public) && now >= tr.next_root_refresh);
            if due {
                self.heartbeat(now, t);
            }
        }
        // Neighbour views that timed out, per tree.
        let timeout = self.config.neighbour_timeout;
        let mut lost = [false; K];
        let parents: [Option<usize>; K] =
            core::array::from_fn(|t| self.trees.get(t).and_then(|tr| tr.parent));
        for (i, e) in self.table.as_mut().iter_mut().enumerate() {
            let Some(n) = e.n.as_mut() else { continue };
            for (t, p) in n.trees.iter_mut().enumerate().take(ntrees) {
                if p.heard() && p.last_heard.saturating_add(timeout) <= now {
                    p.view = View::None;
                    p.we_want = Some(0);
                    self.stats.neighbour_timeouts = self.stats.neighbour_timeouts.saturating_add(1);
                    if parents.get(t) == Some(&Some(i))
                        && let Some(l) = lost.get_mut(t)
                    {
                        *l = true;
                    }
                }
            }
        }
        // Silent neighbours leave the table.
        let silent = self.config.silent_eviction;
        for i in 0..self.table.as_ref().len() {
            let gone = self
                .table
                .as_ref()
                .get(i)
                .and_then(|e| e.n.as_ref())
                .is_some_and(|n| n.alive_at.saturating_add(silent) <= now);
            if gone {
                self.remove_entry(now, i, Some(Eviction::Silent));
            }
        }
        for t in 0..ntrees {
            let dead = self.trees.get(t).is_some_and(|tr| {
                tr.joined
                    && !tr.is_own_root(&self.public)
                    && tr.root_heard.saturating_add(self.root_timeout(t)) <= now
            });
            if dead {
                self.root_died(now, t);
            } else if lost.get(t) == Some(&true)
                && self
                    .trees
                    .get(t)
                    .is_some_and(|tr| tr.parent.is_some() && Some(&tr.parent) == parents.get(t))
            {
                self.parent_gone(t);
            }
            let hold = self.config.dead_root_hold;
            if let Some(tr) = self.trees.get_mut(t) {
                tr.dead.retain(|d| d.at.saturating_add(hold) > now);
            }
        }
        // Candidacy depends on time (the hold, the stagger): look again.
        self.recheck_from(0);
        self.settle(now);
    }
}
