//! The peer table and the hop side of the ingress: generations, admission
//! of inbound sessions, hop initiations and transport datagrams, hellos,
//! announcements, routed packets (forwarding, path-broken notices).

use super::event::{ConnectError, DownReason, Event, PeerError, PeerRef, SendFailure};
use super::host::{Address, PortsHost};
use super::node::{Core, HopOutcome, link_id};
use super::storage::Peer;
use super::wire::{HELLO_GOT_YOURS, HELLO_NEED_ACK, HOP_ANNOUNCE, HOP_HELLO, HOP_ROUTED, Hello};
use crate::crypto::Provider;
use crate::link::{self, Inbound, IndexPolicy, Link, Received};
use crate::rng::RngCore;
use crate::routing::{self, ChainStore, Decision, Header, LinkId, PacketKind, Verifier};
use crate::time::{Duration, Instant};

impl<A, C, PN, V, S, const REC: usize> Core<'_, A, C, PN, V, S, REC>
where
    A: Address,
    C: Provider,
    PN: PortsHost,
    V: Verifier,
    S: ChainStore,
{
    pub(crate) fn push_event(&mut self, e: Event<A>) {
        if self.events.is_full() {
            let _ = self.events.pop_front();
            self.stats.events_dropped = self.stats.events_dropped.saturating_add(1);
        }
        let _ = self.events.push_back(e);
    }

    pub(crate) fn next_gen(&mut self) -> u64 {
        let g = self.next_generation;
        self.next_generation = self.next_generation.saturating_add(1);
        g
    }

    pub(crate) fn seed(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        self.rng.fill_bytes(&mut s);
        s
    }

    pub(crate) fn find_peer(&self, key: &[u8; 32]) -> Option<usize> {
        self.peers
            .iter()
            .position(|s| s.p.as_ref().is_some_and(|p| &p.key == key))
    }

    pub(crate) fn check_peer(&self, peer: PeerRef) -> Result<usize, PeerError> {
        let k = self.find_peer(&peer.key).ok_or(PeerError::Unknown)?;
        let current = self
            .peers
            .get(k)
            .and_then(|s| s.p.as_ref())
            .map_or(0, |p| p.generation);
        if current == peer.generation {
            Ok(k)
        } else {
            Err(PeerError::StaleGeneration { current })
        }
    }

    /// The peer slot and generation of a routing link id, if that session
    /// is still the one the id was made for.
    pub(crate) fn peer_of_link(&self, link: LinkId) -> Option<(u16, u64)> {
        let slot = u16::try_from(link.0 >> 16).ok()?;
        let p = self.peers.get(usize::from(slot))?.p.as_ref()?;
        (p.up && link_id(usize::from(slot), p.generation) == link).then_some((slot, p.generation))
    }

    pub(crate) fn peer_key(&self, slot: u16) -> [u8; 32] {
        self.peers
            .get(usize::from(slot))
            .and_then(|s| s.p.as_ref())
            .map_or([0; 32], |p| p.key)
    }

    fn hop_config(&self, slot: usize) -> link::Config {
        self.config.hop.with_index(IndexPolicy::Tagged {
            tag: u32::try_from(slot).unwrap_or(0),
            bits: self.peer_bits,
        })
    }

    fn new_peer(
        &mut self,
        now: Instant,
        key: [u8; 32],
        addr: A,
        outbound: bool,
        link: Link<C>,
    ) -> Peer<A, C> {
        Peer {
            key,
            addr,
            dial_addr: addr,
            generation: self.next_gen(),
            outbound,
            link,
            up: false,
            hello_acked: false,
            hello_got: false,
            hello_due: false,
            hello_at: None,
            hello_tries: 0,
            incarnation: None,
            routing_key: [0; 32],
            max_payload: 0,
            created: now,
            last_rx: now,
            last_data: now,
        }
    }

    /// A slot for a new session: a free one, else (when `allowed`) the
    /// oldest inbound session that is not up. Never an up or outbound one.
    fn slot_for_new(&mut self, now: Instant) -> Option<usize> {
        if let Some(k) = self.peers.iter().position(|s| s.p.is_none()) {
            return Some(k);
        }
        let victim = self
            .peers
            .iter()
            .enumerate()
            .filter_map(|(k, s)| s.p.as_ref().map(|p| (k, p)))
            .filter(|(_, p)| !p.up && !p.outbound)
            .min_by_key(|(_, p)| p.created)
            .map(|(k, _)| k)?;
        self.remove_peer(now, victim, DownReason::Evicted);
        Some(victim)
    }

    pub(crate) fn connect(
        &mut self,
        now: Instant,
        key: [u8; 32],
        addr: A,
    ) -> Result<PeerRef, ConnectError> {
        if key == self.identity.public_key() {
            return Err(ConnectError::SelfConnect);
        }
        if let Some(k) = self.find_peer(&key) {
            let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) else {
                return Err(ConnectError::TableFull);
            };
            p.addr = addr;
            p.dial_addr = addr;
            p.outbound = true;
            if !p.link.is_established() {
                let _ = p.link.connect(now);
            }
            return Ok(PeerRef {
                key,
                generation: p.generation,
            });
        }
        let k = self.slot_for_new(now).ok_or(ConnectError::TableFull)?;
        let seed = self.seed();
        let mut link = Link::new(
            self.hop_config(k),
            self.link_identity.clone(),
            Some(key),
            seed,
            now,
        )
        .map_err(ConnectError::Link)?;
        let _ = link.connect(now);
        let p = self.new_peer(now, key, addr, true, link);
        let r = PeerRef {
            key,
            generation: p.generation,
        };
        if let Some(s) = self.peers.get_mut(k) {
            s.p = Some(p);
        }
        Ok(r)
    }

    /// Ends peer `k`'s session (`PeerDown`). An outbound peer is redialled
    /// at once under a new generation unless the reason is `Closed`.
    pub(crate) fn remove_peer(&mut self, now: Instant, k: usize, reason: DownReason) {
        let Some(mut p) = self.peers.get_mut(k).and_then(|s| s.p.take()) else {
            return;
        };
        p.link.close();
        if p.up {
            self.routing.handle_link_down(now, link_id(k, p.generation));
        }
        self.push_event(Event::PeerDown {
            peer: PeerRef {
                key: p.key,
                generation: p.generation,
            },
            reason,
        });
        if p.outbound && reason != DownReason::Closed && reason != DownReason::BadBinding {
            let seed = self.seed();
            if let Ok(mut link) = Link::new(
                self.hop_config(k),
                self.link_identity.clone(),
                Some(p.key),
                seed,
                now,
            ) {
                let _ = link.connect(now);
                // Redial where we were told the peer is: a session that
                // roamed to a wrong address (a replayed datagram raced the
                // real one from a spoofed source) then recovers.
                let fresh = self.new_peer(now, p.key, p.dial_addr, true, link);
                if let Some(s) = self.peers.get_mut(k) {
                    s.p = Some(fresh);
                }
            }
        }
    }

    /// An initiation datagram from `from`: the gate, then the peer table's
    /// admission rule. Returns the length of a cookie reply written into
    /// `reply`, if any.
    pub(crate) fn hop_initiation(
        &mut self,
        now: Instant,
        from: A,
        bytes: &[u8],
        reply: &mut [u8],
    ) -> Option<usize> {
        let mut src = [0u8; 32];
        let n = from.source_bytes(&mut src);
        let source = src.get(..n).unwrap_or(&[]);
        match self.hop_gate.handle_initiation(now, source, bytes, reply) {
            Inbound::Hello(hello) => {
                let Some(key) = hello.remote_static().copied() else {
                    self.stats.dropped_gate = self.stats.dropped_gate.saturating_add(1);
                    return None;
                };
                if let Some(k) = self.find_peer(&key) {
                    let receipt = self
                        .peers
                        .get_mut(k)
                        .and_then(|s| s.p.as_mut())
                        .map(|p| p.link.accept_hello(now, hello));
                    match receipt {
                        Some(Ok(r)) => {
                            self.hop_gate.remember(r);
                            if let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
                                p.addr = from;
                            }
                            self.drain_peer_events(now, k);
                        }
                        _ => self.stats.dropped_gate = self.stats.dropped_gate.saturating_add(1),
                    }
                    return None;
                }
                if !self.config.accept_inbound || key == self.identity.public_key() {
                    self.stats.inbound_refused = self.stats.inbound_refused.saturating_add(1);
                    return None;
                }
                let Some(k) = self.slot_for_new(now) else {
                    self.stats.inbound_refused = self.stats.inbound_refused.saturating_add(1);
                    return None;
                };
                let seed = self.seed();
                match Link::accept(
                    self.hop_config(k),
                    self.link_identity.clone(),
                    seed,
                    now,
                    hello,
                ) {
                    Ok((link, receipt)) => {
                        self.hop_gate.remember(receipt);
                        let p = self.new_peer(now, key, from, false, link);
                        if let Some(s) = self.peers.get_mut(k) {
                            s.p = Some(p);
                        }
                        self.drain_peer_events(now, k);
                    }
                    Err(_) => self.stats.dropped_gate = self.stats.dropped_gate.saturating_add(1),
                }
                None
            }
            Inbound::Duplicate { local_index } => {
                let slot = self.slot_of_index(local_index);
                if let Some(p) = slot
                    .and_then(|k| self.peers.get_mut(k))
                    .and_then(|s| s.p.as_mut())
                {
                    let mut copy = [0u8; link::MAX_CONTROL_DATAGRAM];
                    if let Some(c) = copy.get_mut(..bytes.len()) {
                        c.copy_from_slice(bytes);
                        let _ = p.link.handle_datagram(now, c);
                    }
                }
                None
            }
            Inbound::CookieReply { len } => Some(len),
            _ => {
                self.stats.dropped_gate = self.stats.dropped_gate.saturating_add(1);
                None
            }
        }
    }

    fn slot_of_index(&self, index: u32) -> Option<usize> {
        let mask = (1u32 << self.peer_bits).wrapping_sub(1);
        let k = usize::try_from(index & mask).ok()?;
        let p = self.peers.get(k)?.p.as_ref()?;
        p.link.owns_index(index).then_some(k)
    }

    /// A datagram for a hop session (by receiver index), in `buf` (a copy
    /// the node may decrypt in place and forward from).
    pub(crate) fn hop_indexed(
        &mut self,
        now: Instant,
        from: A,
        index: u32,
        buf: &mut [u8],
    ) -> HopOutcome {
        let Some(k) = self.slot_of_index(index) else {
            self.stats.dropped_unknown_index = self.stats.dropped_unknown_index.saturating_add(1);
            return HopOutcome::Done;
        };
        let base = buf.as_ptr() as usize;
        let received = match self.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
            Some(p) => match p.link.handle_datagram(now, buf) {
                Ok(Received::Data(plain)) => {
                    let start = (plain.as_ptr() as usize).saturating_sub(base);
                    Some(Some((start, start.saturating_add(plain.len()))))
                }
                Ok(_) => Some(None),
                Err(_) => None,
            },
            None => None,
        };
        let Some(data) = received else {
            self.stats.dropped_link = self.stats.dropped_link.saturating_add(1);
            self.drain_peer_events(now, k);
            return HopOutcome::Done;
        };
        if let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
            p.last_rx = now;
            p.addr = from;
        }
        self.drain_peer_events(now, k);
        let Some((start, end)) = data else {
            return HopOutcome::Done;
        };
        let ty = buf.get(start).copied();
        match ty {
            Some(HOP_HELLO) => {
                self.handle_hello(now, k, buf.get(start..end).unwrap_or(&[]));
                HopOutcome::Done
            }
            Some(HOP_ANNOUNCE) | Some(HOP_ROUTED) => {
                let Some((up, generation)) = self
                    .peers
                    .get(k)
                    .and_then(|s| s.p.as_ref())
                    .map(|p| (p.up, p.generation))
                else {
                    return HopOutcome::Done;
                };
                if !up {
                    self.stats.dropped_early = self.stats.dropped_early.saturating_add(1);
                    return HopOutcome::Done;
                }
                let body = start.saturating_add(1);
                if ty == Some(HOP_ANNOUNCE) {
                    let bytes = buf.get(body..end).unwrap_or(&[]);
                    if self
                        .routing
                        .handle_announcement(now, link_id(k, generation), bytes)
                        .is_err()
                    {
                        self.stats.announce_refused = self.stats.announce_refused.saturating_add(1);
                    }
                    self.pump_routing_events(now);
                    HopOutcome::Done
                } else {
                    if let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
                        p.last_data = now;
                    }
                    let from_key = self.peer_key(u16::try_from(k).unwrap_or(0));
                    self.handle_routed(now, &from_key, buf, body, end)
                }
            }
            _ => {
                self.stats.dropped_malformed = self.stats.dropped_malformed.saturating_add(1);
                HopOutcome::Done
            }
        }
    }

    /// A routed packet at `buf[start..end]` (after the type byte).
    fn handle_routed(
        &mut self,
        now: Instant,
        from_key: &[u8; 32],
        buf: &mut [u8],
        start: usize,
        end: usize,
    ) -> HopOutcome {
        let Some(bytes) = buf.get(start..end) else {
            return HopOutcome::Done;
        };
        let Ok((mut header, hlen)) = Header::decode(bytes) else {
            self.stats.dropped_malformed = self.stats.dropped_malformed.saturating_add(1);
            return HopOutcome::Done;
        };
        match self.routing.route(&mut header) {
            Decision::Forward(link) => {
                let Some((slot, generation)) = self.peer_of_link(link) else {
                    self.stats.routed_dropped = self.stats.routed_dropped.saturating_add(1);
                    return HopOutcome::Done;
                };
                // Forwarding changes the tree mask (byte 2) and the
                // watermark (bytes 3..5); nothing else moves.
                if let Some(t) = buf.get_mut(start.saturating_add(2)) {
                    *t = header.trees;
                }
                if let Some(w) = buf.get_mut(start.saturating_add(3)..start.saturating_add(5)) {
                    w.copy_from_slice(&header.watermark.to_be_bytes());
                }
                self.stats.forwarded = self.stats.forwarded.saturating_add(1);
                HopOutcome::Forward {
                    slot,
                    key: self.peer_key(slot),
                    generation,
                    start: start.saturating_sub(1),
                    end,
                }
            }
            Decision::Deliver => {
                self.stats.delivered = self.stats.delivered.saturating_add(1);
                match header.kind {
                    PacketKind::Data => {
                        let body_start = start.saturating_add(hlen);
                        let body = buf.get_mut(body_start..end).unwrap_or(&mut []);
                        if self.e2e_deliver(now, from_key, &header, body) {
                            // Not for us: the sender's idea of where its
                            // destination is is stale.
                            return HopOutcome::Notice(header.path_broken());
                        }
                    }
                    PacketKind::PathBroken => self.path_broken_received(now, &header),
                }
                HopOutcome::Done
            }
            Decision::PathBroken => HopOutcome::Notice(header.path_broken()),
            Decision::Drop => {
                self.stats.routed_dropped = self.stats.routed_dropped.saturating_add(1);
                HopOutcome::Done
            }
        }
    }

    /// A path-broken notice for us: `header.src` is the coordinate that
    /// could not be reached (or that now belongs to another node).
    /// Locations equal to it become suspect, and the application is asked
    /// for fresh ones.
    fn path_broken_received(&mut self, now: Instant, header: &Header) {
        self.stats.path_broken_received = self.stats.path_broken_received.saturating_add(1);
        for k in 0..self.corr.len() {
            let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                continue;
            };
            if c.loc.as_ref().is_some_and(|l| *l == header.src) {
                c.loc_stale = true;
                self.need_location(now, k);
            }
        }
    }

    fn handle_hello(&mut self, now: Instant, k: usize, bytes: &[u8]) {
        let Ok(hello) = Hello::decode(bytes) else {
            self.stats.dropped_malformed = self.stats.dropped_malformed.saturating_add(1);
            return;
        };
        let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) else {
            return;
        };
        // The Noise-authenticated key of this session.
        let key = p.link.remote_static().copied().unwrap_or(p.key);
        if key != p.key || hello.binding.verify(&key).is_err() {
            self.stats.bad_binding = self.stats.bad_binding.saturating_add(1);
            self.remove_peer(now, k, DownReason::BadBinding);
            return;
        }
        p.hello_got = true;
        if hello.flags & HELLO_GOT_YOURS != 0 {
            p.hello_acked = true;
            p.hello_at = None;
        }
        if hello.flags & HELLO_NEED_ACK != 0 {
            // It waits for word that we have its hello: answer with ours.
            p.hello_due = true;
        }
        let changed =
            p.incarnation != Some(hello.incarnation) || p.routing_key != hello.binding.routing_key;
        if !changed && p.up {
            return;
        }
        if p.up {
            // Same session key, another incarnation or routing key: the
            // neighbour restarted. The old generation ends here; whatever
            // was prepared for it will be refused.
            let old = PeerRef {
                key: p.key,
                generation: p.generation,
            };
            self.routing
                .handle_link_down(now, link_id(k, old.generation));
            self.push_event(Event::PeerDown {
                peer: old,
                reason: DownReason::Restarted,
            });
            let g = self.next_gen();
            if let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
                p.generation = g;
                p.up = false;
            }
        }
        let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) else {
            return;
        };
        p.incarnation = Some(hello.incarnation);
        p.routing_key = hello.binding.routing_key;
        p.max_payload = hello.binding.max_payload;
        let (generation, addr, routing_key) = (p.generation, p.addr, p.routing_key);
        match self
            .routing
            .handle_link_up(now, link_id(k, generation), routing_key)
        {
            Ok(()) => {
                if let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) {
                    p.up = true;
                }
                self.push_event(Event::PeerUp {
                    peer: PeerRef { key, generation },
                    addr,
                });
            }
            Err(_) => self.remove_peer(now, k, DownReason::RoutingRefused),
        }
    }

    /// Handles every event queued by peer `k`'s link.
    pub(crate) fn drain_peer_events(&mut self, now: Instant, k: usize) {
        for _ in 0..link::EVENT_QUEUE {
            let Some(p) = self.peers.get_mut(k).and_then(|s| s.p.as_mut()) else {
                return;
            };
            let Some(ev) = p.link.poll_event() else {
                return;
            };
            match ev {
                link::Event::Established { .. } => {
                    // Every new session re-exchanges hellos: a neighbour
                    // that restarted says so with another incarnation.
                    p.hello_acked = false;
                    p.hello_got = false;
                    p.hello_due = true;
                    p.hello_tries = 0;
                    p.hello_at = Some(now.saturating_add(self.config.hello_rto));
                }
                link::Event::HandshakeFailed { .. } if !p.up && !p.link.is_established() => {
                    self.remove_peer(now, k, DownReason::HalfOpen);
                }
                link::Event::Expired => {
                    self.remove_peer(now, k, DownReason::Expired);
                }
                // Variants added later by `link`, `routing` or `ports`.
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }

    /// Drains the routing machine's events.
    pub(crate) fn pump_routing_events(&mut self, now: Instant) {
        while let Some(ev) = self.routing.poll_event() {
            match ev {
                routing::Event::PositionChanged => {
                    self.push_event(Event::PositionChanged);
                    // Tell every partner where we are now (their next
                    // packet from us carries the new coordinate).
                    for c in self.corr.iter_mut().filter_map(|s| s.c.as_mut()) {
                        if c.peer_inc != 0 {
                            c.stream.want_ack();
                        }
                    }
                    self.last_root = self.routing.root().key;
                }
                routing::Event::NeighbourEvicted { link, .. } => {
                    // Routing dropped the neighbour (silent for its own,
                    // longer, timeout): so does the peer table.
                    let slot = usize::try_from(link.0 >> 16).unwrap_or(usize::MAX);
                    let current = self
                        .peers
                        .get(slot)
                        .and_then(|s| s.p.as_ref())
                        .is_some_and(|p| link_id(slot, p.generation) == link);
                    if current {
                        self.remove_peer(now, slot, DownReason::RoutingRefused);
                    }
                }
                // Variants added later by `routing`.
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }

    /// Refuses a queued output prepared for a generation that is no longer
    /// current (counted, reported).
    pub(crate) fn refuse_stale(&mut self, key: [u8; 32], generation: u64, reason: SendFailure) {
        match reason {
            SendFailure::StaleGeneration => {
                self.stats.stale_generation = self.stats.stale_generation.saturating_add(1);
            }
            _ => self.stats.no_session = self.stats.no_session.saturating_add(1),
        }
        self.push_event(Event::SendFailed {
            peer: PeerRef { key, generation },
            reason,
        });
    }

    /// Backoff for the `tries`-th resend of a hello.
    pub(crate) fn hello_backoff(&self, tries: u8) -> Duration {
        self.config
            .hello_rto
            .saturating_mul(1u64 << u32::from(tries.min(3)))
    }
}
