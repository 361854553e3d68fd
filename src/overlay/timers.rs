//! Timers: `poll_timeout` / `handle_timeout` of the node (the
//! [`Timed`] contract).

use super::event::{DownReason, LossReason};
use super::host::{Address, PortsHost};
use super::node::Node;
use crate::crypto::Provider;
use crate::routing::{ChainStore, Verifier};
use crate::time::{Instant, Timed};

fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl<A, C, PN, V, S, const MTU: usize, const REC: usize> Node<'_, A, C, PN, V, S, MTU, REC>
where
    A: Address,
    C: Provider,
    PN: PortsHost,
    V: Verifier,
    S: ChainStore,
{
    /// When [`Node::handle_timeout`] is next needed (the [`Timed`]
    /// contract: calling it at that instant moves this strictly later or to
    /// `None`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let c = &self.core;
        let mut t = min(c.routing.poll_timeout(), c.ports.poll_timeout());
        for p in c.peers.iter().filter_map(|s| s.p.as_ref()) {
            t = min(t, p.link.poll_timeout());
            if !p.hello_acked {
                t = min(t, p.hello_at);
            }
            t = min(t, Some(Self::peer_deadline(&c.config, p)));
        }
        for k in c.corr.iter().filter_map(|s| s.c.as_ref()) {
            t = min(t, k.link.as_ref().and_then(|l| l.poll_timeout()));
            t = min(t, k.stream.next_timer());
            if k.link.as_ref().is_some_and(|l| l.is_established()) {
                t = min(t, k.stream.dead_at(&c.timing));
            }
            let wanted = c.ports.depends_on(k.name);
            let kept = Self::kept(k, wanted);
            if k.stream.is_idle() && k.ports_inc == 0 && !kept {
                t = min(
                    t,
                    Some(k.last_active.saturating_add(c.config.correspondent_ttl)),
                );
            } else if k.stream.in_flight() == 0 && (k.ports_inc != 0 || kept) && wanted {
                // Probed when nothing of ours is in flight (records it sent
                // may still wait behind a gap it will never fill).
                t = min(
                    t,
                    Some(k.last_active.saturating_add(c.config.probe_interval)),
                );
            }
        }
        t
    }

    /// Whether correspondent `c` is kept although it never carried a
    /// session (`ports_inc == 0`): ports depends on it (`wanted`: a port
    /// names it) and the node knows where it is. It is probed instead of
    /// forgotten, so an idle pipe to it survives `correspondent_ttl` and a
    /// node that is gone is found out (the probe's handshake fails and it
    /// is reported lost). Without a location nothing can probe it: it is
    /// forgotten after `correspondent_ttl` as before, and ports is told.
    fn kept(c: &super::storage::Corr<C>, wanted: bool) -> bool {
        wanted && c.loc.is_some()
    }

    /// When peer `p` expires if nothing changes.
    fn peer_deadline(config: &super::Config, p: &super::storage::Peer<A, C>) -> Instant {
        if p.up {
            p.last_rx
                .saturating_add(config.silent_ttl)
                .min(p.last_data.saturating_add(config.idle_ttl))
        } else {
            p.created.saturating_add(config.half_open_ttl)
        }
    }

    /// Fires every timer due at `now`: link and routing timers, hello
    /// resends, peer expiry (half-open, silent, idle), record
    /// retransmissions (sent at the next [`Node::poll_transmit`]), dead
    /// correspondents, forgotten correspondents.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.core.clock.observe(now);
        self.core.routing_blocked = false;
        if self.core.routing.poll_timeout().is_some_and(|t| t <= now) {
            self.core.routing.handle_timeout(now);
        }
        self.core.pump_routing_events(now);
        if self.core.ports.poll_timeout().is_some_and(|t| t <= now) {
            self.core.ports.handle_timeout(now);
        }
        for k in 0..self.core.peers.len() {
            let Some(p) = self.core.peers.get_mut(k).and_then(|s| s.p.as_mut()) else {
                continue;
            };
            if p.link.poll_timeout().is_some_and(|t| t <= now) {
                p.link.handle_timeout(now);
            }
            if !p.hello_acked && p.hello_at.is_some_and(|t| t <= now) {
                p.hello_due = true;
                let tries = p.hello_tries;
                let at = now.saturating_add(self.core.hello_backoff(tries));
                if let Some(p) = self.core.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
                    p.hello_at = Some(at);
                }
            }
            self.core.drain_peer_events(now, k);
            let Some(p) = self.core.peers.get(k).and_then(|s| s.p.as_ref()) else {
                continue;
            };
            if Self::peer_deadline(&self.core.config, p) <= now {
                let reason = if !p.up {
                    DownReason::HalfOpen
                } else if p.last_rx.saturating_add(self.core.config.silent_ttl) <= now {
                    DownReason::Silent
                } else {
                    DownReason::Idle
                };
                self.core.remove_peer(now, k, reason);
            }
        }
        for k in 0..self.core.corr.len() {
            // Asked only where the answer matters (`kept`: no session yet,
            // a location known): the ports scan is not free.
            let wanted = self
                .core
                .corr
                .get(k)
                .and_then(|s| s.c.as_ref())
                .is_some_and(|c| {
                    c.ports_inc == 0 && c.loc.is_some() && self.core.ports.depends_on(c.name)
                });
            let Some(c) = self.core.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                continue;
            };
            let kept = Self::kept(c, wanted);
            if let Some(l) = c.link.as_mut()
                && l.poll_timeout().is_some_and(|t| t <= now)
            {
                l.handle_timeout(now);
            }
            c.stream.fire_timers(now);
            // Dead: no acknowledgement progress for `dead_after` while the
            // session carries data (before that, the handshake deadline
            // decides).
            let established = c.link.as_ref().is_some_and(|l| l.is_established());
            let dead = established
                && c.stream
                    .dead_at(&self.core.timing)
                    .is_some_and(|t| t <= now);
            let forget = c.ports_inc == 0
                && !kept
                && c.stream.is_idle()
                && c.last_active
                    .saturating_add(self.core.config.correspondent_ttl)
                    <= now;
            let probe = (c.ports_inc != 0 || kept)
                && c.stream.in_flight() == 0
                && c.last_active
                    .saturating_add(self.core.config.probe_interval)
                    <= now;
            self.core.drain_corr_events(now, k);
            if dead {
                self.core.lose(now, k, LossReason::Unreachable);
            } else if forget {
                self.core.forget_corr(now, k);
            } else if probe {
                self.core.probe(now, k);
            }
        }
    }
}

impl<A, C, PN, V, S, const MTU: usize, const REC: usize> Timed
    for Node<'_, A, C, PN, V, S, MTU, REC>
where
    A: Address,
    C: Provider,
    PN: PortsHost,
    V: Verifier,
    S: ChainStore,
{
    fn poll_timeout(&self) -> Option<Instant> {
        Node::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Node::handle_timeout(self, now);
    }
}
