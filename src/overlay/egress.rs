//! `poll_transmit`: everything a node sends, one datagram per call.

use super::event::SendFailure;
use super::host::{Address, PortsHost};
use super::node::{Node, Transmit, link_id};
use super::storage::TxKind;
use super::wire::{
    HELLO_GOT_YOURS, HELLO_LEN, HELLO_NEED_ACK, HOP_ANNOUNCE, HOP_ROUTED, Hello, RECORD_PORTS,
    STREAM_PREV_DIRTY, StreamHeader,
};
use crate::crypto::Provider;
use crate::error::BufferTooSmall;
use crate::link::{self, SendError};
use crate::routing::{ChainStore, Decision, Header, Verifier};
use crate::time::Instant;

/// Most ports events moved into streams by one `poll_transmit`.
const PUMP_BUDGET: usize = 256;

impl<A, C, PN, V, S, const MTU: usize, const REC: usize> Node<'_, A, C, PN, V, S, MTU, REC>
where
    A: Address,
    C: Provider,
    PN: PortsHost,
    V: Verifier,
    S: ChainStore,
{
    /// Writes the next datagram into `out` (at least `MTU` bytes) and says
    /// where it goes. Call until `Ok(None)` after every input.
    ///
    /// Order: hop link control datagrams (handshakes, keepalives), the hop
    /// transmit queue (forwarded packets, cookie replies; a queued datagram
    /// whose peer generation is no longer current is refused here, see
    /// [`SendFailure::StaleGeneration`]), hellos, routing announcements,
    /// then the end-to-end streams (ports events are moved into them first).
    ///
    /// # Errors
    /// [`BufferTooSmall`] when `out` is shorter than `MTU`; nothing changes.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Transmit<A>>, BufferTooSmall> {
        if out.len() < MTU {
            return Err(BufferTooSmall {
                needed: MTU,
                available: out.len(),
            });
        }
        let now = self.core.clock.observe(now);
        let t = self
            .poll_hop_control(now, out)
            .or_else(|| self.poll_queue(now, out))
            .or_else(|| self.poll_hellos(now, out))
            .or_else(|| self.poll_announcements(now, out))
            .or_else(|| self.poll_streams(now, out));
        if t.is_some() {
            self.core.stats.datagrams_out = self.core.stats.datagrams_out.saturating_add(1);
        }
        Ok(t)
    }

    fn poll_hop_control(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit<A>> {
        let n = self.core.peers.len();
        for step in 0..n {
            let k = self
                .core
                .peer_cursor
                .wrapping_add(step)
                .checked_rem(n)
                .unwrap_or(0);
            let Some(p) = self.core.peers.get_mut(k).and_then(|s| s.p.as_mut()) else {
                continue;
            };
            if let Ok(Some(len)) = p.link.poll_transmit(now, out) {
                let to = p.addr;
                self.core.peer_cursor = k;
                self.core.drain_peer_events(now, k);
                return Some(Transmit { to, len });
            }
        }
        None
    }

    fn poll_queue(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit<A>> {
        loop {
            let k = self
                .tx
                .iter()
                .enumerate()
                .filter(|(_, t)| t.kind.is_some())
                .min_by_key(|(_, t)| t.order)
                .map(|(k, _)| k)?;
            let t = self.tx.get_mut(k)?;
            let kind = t.kind.take()?;
            let bytes = t
                .data
                .get(usize::from(t.start)..usize::from(t.end))
                .unwrap_or(&[]);
            match kind {
                TxKind::Raw { to } => {
                    let dst = out.get_mut(..bytes.len())?;
                    dst.copy_from_slice(bytes);
                    return Some(Transmit {
                        to,
                        len: bytes.len(),
                    });
                }
                TxKind::Hop {
                    slot,
                    key,
                    generation,
                } => {
                    // The generation rule: encrypt only under the session the
                    // datagram was prepared for.
                    let current = self
                        .core
                        .peers
                        .get_mut(usize::from(slot))
                        .and_then(|s| s.p.as_mut())
                        .filter(|p| p.key == key);
                    let Some(p) = current.filter(|p| p.generation == generation) else {
                        self.core
                            .refuse_stale(key, generation, SendFailure::StaleGeneration);
                        continue;
                    };
                    if !p.up {
                        self.core
                            .refuse_stale(key, generation, SendFailure::NoSession);
                        continue;
                    }
                    match p.link.send(now, bytes, out) {
                        Ok(len) => {
                            let to = p.addr;
                            p.last_data = now;
                            return Some(Transmit { to, len });
                        }
                        Err(_) => {
                            self.core
                                .refuse_stale(key, generation, SendFailure::NoSession);
                            self.core.drain_peer_events(now, usize::from(slot));
                        }
                    }
                }
            }
        }
    }

    fn poll_hellos(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit<A>> {
        let max_payload =
            u16::try_from(MTU.saturating_sub(super::node::HOP_OVERHEAD)).unwrap_or(u16::MAX);
        let incarnation = self.core.incarnation;
        let binding = self.core.identity.binding(max_payload);
        for k in 0..self.core.peers.len() {
            let Some(p) = self.core.peers.get_mut(k).and_then(|s| s.p.as_mut()) else {
                continue;
            };
            if !p.hello_due || !p.link.is_established() {
                continue;
            }
            let hello = Hello {
                flags: if p.hello_got { HELLO_GOT_YOURS } else { 0 }
                    | if p.hello_acked { 0 } else { HELLO_NEED_ACK },
                incarnation,
                binding,
            };
            let Ok(n) = hello.encode(&mut self.compose) else {
                continue;
            };
            debug_assert_eq!(n, HELLO_LEN);
            match p.link.send(now, self.compose.get(..n).unwrap_or(&[]), out) {
                Ok(len) => {
                    p.hello_due = false;
                    if !p.hello_acked {
                        let tries = p.hello_tries;
                        p.hello_tries = p.hello_tries.saturating_add(1);
                        let to = p.addr;
                        let at = now.saturating_add(self.core.hello_backoff(tries));
                        if let Some(p) = self.core.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
                            p.hello_at = Some(at);
                        }
                        return Some(Transmit { to, len });
                    }
                    return Some(Transmit { to: p.addr, len });
                }
                Err(SendError::NoSession) => {
                    self.core.drain_peer_events(now, k);
                }
                Err(_) => {}
            }
        }
        None
    }

    fn poll_announcements(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit<A>> {
        for _ in 0..self.core.peers.len().saturating_add(1) {
            if self.core.routing_blocked {
                return None;
            }
            let (first, rest) = self.compose.split_first_mut()?;
            *first = HOP_ANNOUNCE;
            let t = match self.core.routing.poll_transmit(rest) {
                Ok(Some(t)) => t,
                Ok(None) => return None,
                Err(_) => {
                    self.core.routing_blocked = true;
                    self.core.stats.announce_too_big =
                        self.core.stats.announce_too_big.saturating_add(1);
                    return None;
                }
            };
            let Some((slot, _)) = self.core.peer_of_link(t.link) else {
                continue;
            };
            let Some(p) = self
                .core
                .peers
                .get_mut(usize::from(slot))
                .and_then(|s| s.p.as_mut())
            else {
                continue;
            };
            let payload = self.compose.get(..t.len.saturating_add(1)).unwrap_or(&[]);
            if let Ok(len) = p.link.send(now, payload, out) {
                return Some(Transmit { to: p.addr, len });
            }
            self.core.drain_peer_events(now, usize::from(slot));
        }
        None
    }

    /// Moves ports events into their correspondents' streams (as long as
    /// they fit), with introductions of the other nodes they name.
    fn pump_ports(&mut self, now: Instant) {
        self.core.pump_ports_events(now);
        for _ in 0..PUMP_BUDGET {
            if self.stalled.is_none() {
                let Some((first, rest)) = self.stall_buf.split_first_mut() else {
                    return;
                };
                *first = RECORD_PORTS;
                match self.core.ports.next_transmit(rest, &mut self.stall_names) {
                    None => break,
                    Some(Err(_)) => {
                        // Larger than a record: it cannot travel.
                        self.core.stats.ports_errors =
                            self.core.stats.ports_errors.saturating_add(1);
                        continue;
                    }
                    Some(Ok((to, n))) => self.stalled = Some((to, n.saturating_add(1))),
                }
            }
            if !self.place_stalled(now) {
                return;
            }
        }
        // Broadcasts (dead proxies after a node loss) go to every partner
        // that has a ports incarnation, if its window has room.
        for _ in 0..PUMP_BUDGET {
            let Some((first, rest)) = self.stall_buf.split_first_mut() else {
                return;
            };
            *first = RECORD_PORTS;
            let n = match self.core.ports.next_broadcast(rest) {
                None => return,
                Some(Err(_)) => {
                    self.core.stats.ports_errors = self.core.stats.ports_errors.saturating_add(1);
                    continue;
                }
                Some(Ok(n)) => n.saturating_add(1),
            };
            let window = u32::from(self.core.config.window);
            for k in 0..self.core.corr.len() {
                let Some(c) = self.core.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                    continue;
                };
                if c.ports_inc == 0 || c.stream.in_flight() >= window {
                    continue;
                }
                let Some(slot) = self.core.pool.put(self.stall_buf.get(..n).unwrap_or(&[])) else {
                    continue;
                };
                if c.stream.queue(now, slot).is_none() {
                    self.core.pool.release(slot);
                } else {
                    self.core.stats.ports_broadcasts =
                        self.core.stats.ports_broadcasts.saturating_add(1);
                }
            }
        }
    }

    /// Queues the stalled ports event (and its introductions) into its
    /// correspondent's stream. `false` when it still does not fit.
    fn place_stalled(&mut self, now: Instant) -> bool {
        let Some((to, len)) = self.stalled else {
            return true;
        };
        let Some(k) = self.core.find_corr_by_name(to) else {
            // No key for that node: ports is told it is unreachable.
            self.stalled = None;
            self.core.unknown_node(to);
            return true;
        };
        let me = self.core.ports.name();
        let mut intros: heapless::Vec<usize, { super::host::MAX_NAMES }> = heapless::Vec::new();
        for n in &self.stall_names {
            if *n != to
                && *n != me
                && let Some(i) = self.core.find_corr_by_name(*n)
            {
                let _ = intros.push(i);
            }
        }
        let needed = u32::try_from(intros.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let window = u32::from(self.core.config.window);
        let in_flight = self
            .core
            .corr
            .get(k)
            .and_then(|s| s.c.as_ref())
            .map_or(0, |c| c.stream.in_flight());
        let pool_free = self
            .core
            .pool
            .capacity()
            .saturating_sub(self.core.pool.used());
        if in_flight.saturating_add(needed) > window
            || usize::try_from(needed).unwrap_or(usize::MAX) > pool_free
        {
            return false;
        }
        for i in intros {
            let mut buf = [0u8; 1 + 32 + 1 + 32 + crate::routing::MAX_COORD_WIRE_LEN];
            let Some(n) = self.core.write_intro(i, &mut buf) else {
                continue;
            };
            if n > REC {
                continue;
            }
            if let Some(slot) = self.core.pool.put(buf.get(..n).unwrap_or(&[]))
                && let Some(c) = self.core.corr.get_mut(k).and_then(|s| s.c.as_mut())
                && c.stream.queue(now, slot).is_none()
            {
                self.core.pool.release(slot);
            }
        }
        let Some(slot) = self.core.pool.put(self.stall_buf.get(..len).unwrap_or(&[])) else {
            return false;
        };
        if let Some(c) = self.core.corr.get_mut(k).and_then(|s| s.c.as_mut()) {
            c.last_active = now;
            if c.stream.queue(now, slot).is_none() {
                self.core.pool.release(slot);
                return false;
            }
        }
        self.stalled = None;
        true
    }

    fn poll_streams(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit<A>> {
        self.pump_ports(now);
        let n = self.core.corr.len();
        for step in 0..n {
            let k = self
                .core
                .corr_cursor
                .wrapping_add(step)
                .checked_rem(n)
                .unwrap_or(0);
            if let Some(t) = self.poll_corr(now, k, out) {
                self.core.corr_cursor = k;
                return Some(t);
            }
        }
        None
    }

    /// The next datagram of correspondent `k`: its session's control
    /// datagrams, then its stream.
    fn poll_corr(&mut self, now: Instant, k: usize, out: &mut [u8]) -> Option<Transmit<A>> {
        let c = self.core.corr.get(k)?.c.as_ref()?;
        let busy = c.stream.wants_send(now) || c.stream.in_flight() > 0;
        let has_link = c.link.is_some();
        if !busy && !has_link {
            return None;
        }
        // A stale location (a failed route, a path-broken notice) is still
        // tried: the application is asked for a fresh one, and the old one
        // may work again once routing re-converges.
        let stale = c.loc_stale;
        let Some(loc) = c.loc.clone() else {
            if busy {
                self.core.need_location(now, k);
            }
            return None;
        };
        if stale && busy {
            self.core.need_location(now, k);
        }
        if busy && !self.core.corr_link(now, k) {
            return None;
        }
        // Room for the hop header and the routing header in `compose`.
        let header = self.core.routing.header_to(loc.clone());
        let hlen = header.wire_len();
        let at = hlen.saturating_add(1);
        // Control datagrams of the end-to-end session (handshakes).
        let elen = {
            let region = self.compose.get_mut(at..).unwrap_or(&mut []);
            let c = self.core.corr.get_mut(k)?.c.as_mut()?;
            let l = c.link.as_mut()?;
            match l.poll_transmit(now, region) {
                Ok(Some(len)) => Some(len),
                _ => None,
            }
        };
        if let Some(elen) = elen {
            self.core.drain_corr_events(now, k);
            return self.route_out(now, k, header, &loc, elen, out);
        }
        // Stream packets, once the session carries data.
        let established = self
            .core
            .corr
            .get(k)
            .and_then(|s| s.c.as_ref())
            .and_then(|c| c.link.as_ref())
            .is_some_and(|l| l.is_established());
        if !established {
            return None;
        }
        let me = self.core.incarnation;
        let plen = {
            let c = self.core.corr.get_mut(k)?.c.as_mut()?;
            let before = c.stream.retransmits;
            let o = c.stream.poll(now, &self.core.timing)?;
            if o.record.is_some() {
                if c.stream.retransmits != before {
                    self.core.stats.records_retransmitted =
                        self.core.stats.records_retransmitted.saturating_add(1);
                } else {
                    self.core.stats.records_sent = self.core.stats.records_sent.saturating_add(1);
                }
            }
            let (rec_ty, rec_body) = match o.record {
                Some((_, slot)) => {
                    let b = self.core.pool.get(slot);
                    match b.split_first() {
                        Some((t, rest)) => (Some(*t), rest),
                        None => (None, &[][..]),
                    }
                }
                None => (None, &[][..]),
            };
            let h = StreamHeader {
                flags: if c.prev_dirty { STREAM_PREV_DIRTY } else { 0 },
                src_incarnation: me,
                src_stream: c.my_stream,
                una: c.stream.una(),
                dst_incarnation: c.peer_inc,
                dst_stream: if c.rx_known { c.peer_stream } else { 0 },
                ack: o.ack,
                sack: o.sack,
                record: o.record.and_then(|(seq, _)| rec_ty.map(|t| (seq, t))),
            };
            let n = h.encode(&mut self.plain).ok()?;
            let end = n.saturating_add(rec_body.len());
            let dst = self.plain.get_mut(n..end)?;
            dst.copy_from_slice(rec_body);
            end
        };
        let elen = {
            let region = self.compose.get_mut(at..).unwrap_or(&mut []);
            let c = self.core.corr.get_mut(k)?.c.as_mut()?;
            let l = c.link.as_mut()?;
            match l.send(now, self.plain.get(..plen).unwrap_or(&[]), region) {
                Ok(len) => len,
                Err(_) => {
                    self.core.drain_corr_events(now, k);
                    return None;
                }
            }
        };
        self.route_out(now, k, header, &loc, elen, out)
    }

    /// Routes `compose[1 + header len ..][..elen]` (an end-to-end datagram)
    /// towards `loc` and encrypts it for the next hop into `out`.
    fn route_out(
        &mut self,
        now: Instant,
        k: usize,
        mut header: Header,
        loc: &crate::routing::Locator,
        elen: usize,
        out: &mut [u8],
    ) -> Option<Transmit<A>> {
        let hlen = header.wire_len();
        let decision = self.core.routing.route(&mut header);
        let Decision::Forward(link) = decision else {
            // No way there from here under our current root: the location
            // is stale (or the destination sits at our own coordinate).
            self.core.stats.no_route = self.core.stats.no_route.saturating_add(1);
            if let Some(c) = self.core.corr.get_mut(k).and_then(|s| s.c.as_mut())
                && c.loc.as_ref() == Some(loc)
            {
                c.loc_stale = true;
            }
            self.core.need_location(now, k);
            return None;
        };
        let (slot, _) = self.core.peer_of_link(link)?;
        let (first, rest) = self.compose.split_first_mut()?;
        *first = HOP_ROUTED;
        header.encode(rest).ok()?;
        let total = hlen.saturating_add(1).saturating_add(elen);
        let p = self
            .core
            .peers
            .get_mut(usize::from(slot))
            .and_then(|s| s.p.as_mut())?;
        match p
            .link
            .send(now, self.compose.get(..total).unwrap_or(&[]), out)
        {
            Ok(len) => {
                p.last_data = now;
                Some(Transmit { to: p.addr, len })
            }
            Err(_) => {
                self.core.stats.no_session = self.core.stats.no_session.saturating_add(1);
                self.core.drain_peer_events(now, usize::from(slot));
                None
            }
        }
    }
}

// `link_id` is used by the tests of this module's callers.
#[allow(dead_code)]
fn _uses() -> fn(usize, u64) -> crate::routing::LinkId {
    link_id
}

#[allow(dead_code)]
const _OVERHEAD: usize = link::KEEPALIVE_LEN;
