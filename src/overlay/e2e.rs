//! The end-to-end side of a node: correspondents, their sessions over
//! routed packets, the record streams, and the ports node on top.

use super::event::{Event, LossReason};
use super::host::{DeliverError, PortsHost};
use super::identity::node_name;
use super::node::Core;
use super::storage::Corr;
use super::stream::{Arrival, Stream};
use super::wire::{RECORD_INTRO, RECORD_PORTS, STREAM_PREV_DIRTY, StreamHeader};
use crate::buf::{Reader, Writer};
use crate::crypto::Provider;
use crate::link::{self, Inbound, IndexPolicy, Link, Received, Route};
use crate::ports::{Incarnation, NodeName, PortEvent};
use crate::routing::{ChainStore, Header, Locator, Verifier};
use crate::time::Instant;

use super::host::Address;

impl<A, C, PN, V, S, const REC: usize> Core<'_, A, C, PN, V, S, REC>
where
    A: Address,
    C: Provider,
    PN: PortsHost,
    V: Verifier,
    S: ChainStore,
{
    pub(crate) fn find_corr(&self, key: &[u8; 32]) -> Option<usize> {
        self.corr
            .iter()
            .position(|s| s.c.as_ref().is_some_and(|c| &c.key == key))
    }

    pub(crate) fn find_corr_by_name(&self, name: NodeName) -> Option<usize> {
        self.corr
            .iter()
            .position(|s| s.c.as_ref().is_some_and(|c| c.name == name))
    }

    fn corr_config(&self, slot: usize) -> link::Config {
        self.config.e2e.with_index(IndexPolicy::Tagged {
            tag: u32::try_from(slot).unwrap_or(0),
            bits: self.corr_bits,
        })
    }

    /// Whether correspondent `c` may be forgotten to make room: nothing in
    /// flight or buffered, no handshake under way.
    fn evictable(c: &Corr<C>) -> bool {
        c.stream.is_idle() && c.link.as_ref().is_none_or(|l| !l.is_handshaking())
    }

    /// The correspondent entry of `key`, created if needed (a free slot, or
    /// the least recently active evictable one).
    pub(crate) fn corr_for(&mut self, now: Instant, key: &[u8; 32]) -> Option<usize> {
        if let Some(k) = self.find_corr(key) {
            return Some(k);
        }
        let k = match self.corr.iter().position(|s| s.c.is_none()) {
            Some(k) => k,
            None => {
                let victim = self
                    .corr
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| s.c.as_ref().map(|c| (k, c)))
                    .filter(|(_, c)| Self::evictable(c))
                    // Entries never admitted to ports go first, then the
                    // least recently active.
                    .min_by_key(|(_, c)| (c.ports_inc != 0, c.last_active))
                    .map(|(k, _)| k)?;
                self.forget_corr(now, victim);
                victim
            }
        };
        let c = Corr {
            key: *key,
            name: node_name(key),
            link: None,
            loc: None,
            loc_stale: false,
            loc_asked: None,
            stream: Stream::new(now, &self.timing),
            my_stream: 0,
            prev_dirty: false,
            peer_inc: 0,
            prev_peer_inc: 0,
            peer_stream: 0,
            rx_known: false,
            rx_await_new: false,
            ports_inc: 0,
            last_active: now,
        };
        if let Some(s) = self.corr.get_mut(k) {
            s.c = Some(c);
        }
        Some(k)
    }

    /// Frees correspondent `k` (a ports incarnation it had is reported
    /// lost: its routes can no longer be served).
    pub(crate) fn forget_corr(&mut self, now: Instant, k: usize) {
        self.lose(now, k, LossReason::Evicted);
        if let Some(mut c) = self.corr.get_mut(k).and_then(|s| s.c.take()) {
            if let Some(l) = c.link.as_mut() {
                l.close();
            }
            let pool = &mut self.pool;
            c.stream.release_all(|s| pool.release(s));
        }
    }

    /// Reports correspondent `k`'s admitted incarnation lost to ports (if
    /// any) and ends its streams: ours restarts (flagged dirty when
    /// records were in flight), theirs is refused until a new one starts.
    pub(crate) fn lose(&mut self, now: Instant, k: usize, reason: LossReason) {
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return;
        };
        let dirty = c.stream.in_flight() > 0;
        let pool = &mut self.pool;
        c.stream.reset_tx(now, |s| pool.release(s));
        c.stream.reset_rx(0, |s| pool.release(s));
        c.my_stream = c.my_stream.wrapping_add(1);
        c.prev_dirty = dirty || reason == LossReason::Unreachable;
        c.rx_await_new = true;
        // Its idle and probe timers count from the loss: a port that still
        // names it is probed `probe_interval` later, not at once.
        c.last_active = now;
        let (name, mut inc, key) = (c.name, c.ports_inc, c.key);
        c.ports_inc = 0;
        if inc == 0 && dirty {
            // Never heard from, but ports sent it events: they are lost.
            inc = self.next_gen();
        }
        if inc != 0 {
            let _ = self.ports.lost(name, Incarnation(inc));
            self.stats.nodes_lost = self.stats.nodes_lost.saturating_add(1);
            self.push_event(Event::NodeLost {
                key,
                incarnation: inc,
                reason,
            });
        }
    }

    /// Admits correspondent `k`'s current incarnation to ports.
    fn admit(&mut self, k: usize) {
        let g = self.next_gen();
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return;
        };
        c.ports_inc = g;
        let (name, key) = (c.name, c.key);
        if self.ports.admit(name, Incarnation(g)).is_err() {
            self.stats.ports_errors = self.stats.ports_errors.saturating_add(1);
        }
        self.push_event(Event::NodeUp {
            key,
            incarnation: g,
        });
    }

    /// A routed data packet delivered here: `body` is an end-to-end link
    /// datagram (decrypted in place). Returns `true` when the packet was
    /// meant for another node (an initiation for another key, a session
    /// index nobody here owns): the coordinate it was sent to is no longer
    /// its destination's, and the sender is told with a path-broken notice.
    pub(crate) fn e2e_deliver(
        &mut self,
        now: Instant,
        source: &[u8],
        header: &Header,
        body: &mut [u8],
    ) -> bool {
        match link::route(body) {
            Err(_) => {
                self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1);
                false
            }
            Ok(Route::Initiation) => self.e2e_initiation(now, source, header, body),
            Ok(Route::Index(index)) => {
                let mask = (1u32 << self.corr_bits).wrapping_sub(1);
                let k = usize::try_from(index & mask).unwrap_or(usize::MAX);
                let base = body.as_ptr() as usize;
                let mut owned = false;
                let r = match self
                    .corr
                    .get_mut(k)
                    .and_then(|s| s.c.as_mut())
                    .and_then(|c| c.link.as_mut())
                {
                    Some(l) if l.owns_index(index) => {
                        owned = true;
                        match l.handle_datagram(now, body) {
                            Ok(Received::Data(p)) => {
                                let s = (p.as_ptr() as usize).saturating_sub(base);
                                Some(Some((s, s.saturating_add(p.len()))))
                            }
                            Ok(_) => Some(None),
                            Err(_) => None,
                        }
                    }
                    _ => None,
                };
                match r {
                    None => {
                        self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1);
                        !owned
                    }
                    Some(data) => {
                        self.learn_location(k, header);
                        self.drain_corr_events(now, k);
                        if let Some((s, e)) = data {
                            let plain = body.get(s..e).unwrap_or(&[]);
                            self.stream_receive(now, k, plain);
                        }
                        false
                    }
                }
            }
        }
    }

    /// The source of an authenticated packet is where its header says.
    fn learn_location(&mut self, k: usize, header: &Header) {
        if let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) {
            if c.loc.as_ref() != Some(&header.src) {
                c.loc = Some(header.src.clone());
            }
            c.loc_stale = false;
        }
    }

    /// An end-to-end initiation. `source` is the neighbour the packet came
    /// from (its node key): the gate's per-source rate applies per
    /// neighbour, since a claimed source locator proves nothing.
    fn e2e_initiation(
        &mut self,
        now: Instant,
        source: &[u8],
        header: &Header,
        body: &[u8],
    ) -> bool {
        let mut reply = [0u8; link::wire::COOKIE_REPLY_LEN];
        match self
            .e2e_gate
            .handle_initiation(now, source, body, &mut reply)
        {
            Inbound::Hello(hello) => {
                let Some(key) = hello.remote_static().copied() else {
                    self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1);
                    return false;
                };
                if key == self.identity.public_key() {
                    self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1);
                    return false;
                }
                let Some(k) = self.corr_for(now, &key) else {
                    self.stats.e2e_refused = self.stats.e2e_refused.saturating_add(1);
                    return false;
                };
                let config = self.corr_config(k);
                let seed = self.seed();
                let identity = self.link_identity.clone();
                let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                    return false;
                };
                let receipt = match c.link.as_mut() {
                    Some(l) => l.accept_hello(now, hello),
                    None => match Link::accept(config, identity, seed, now, hello) {
                        Ok((l, r)) => {
                            c.link = Some(l);
                            Ok(r)
                        }
                        Err(e) => Err(e),
                    },
                };
                match receipt {
                    Ok(r) => {
                        self.e2e_gate.remember(r);
                        self.learn_location(k, header);
                        if let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) {
                            c.last_active = now;
                        }
                        self.drain_corr_events(now, k);
                    }
                    Err(_) => self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1),
                }
                false
            }
            Inbound::Duplicate { local_index } => {
                let mask = (1u32 << self.corr_bits).wrapping_sub(1);
                let k = usize::try_from(local_index & mask).unwrap_or(usize::MAX);
                // A retransmitted initiation: the initiator may have moved
                // since the first copy; answer where it is now.
                let owned = self
                    .corr
                    .get(k)
                    .and_then(|s| s.c.as_ref())
                    .and_then(|c| c.link.as_ref())
                    .is_some_and(|l| l.owns_index(local_index));
                if owned {
                    self.learn_location(k, header);
                }
                if let Some(l) = self
                    .corr
                    .get_mut(k)
                    .and_then(|s| s.c.as_mut())
                    .and_then(|c| c.link.as_mut())
                {
                    let mut copy = [0u8; link::MAX_CONTROL_DATAGRAM];
                    if let Some(d) = copy.get_mut(..body.len()) {
                        d.copy_from_slice(body);
                        let _ = l.handle_datagram(now, d);
                    }
                }
                false
            }
            Inbound::Dropped(link::GateDrop::BadMac1) => {
                // Keyed to another node's key: not for us.
                self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1);
                true
            }
            _ => {
                self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1);
                false
            }
        }
    }

    pub(crate) fn drain_corr_events(&mut self, now: Instant, k: usize) {
        for _ in 0..link::EVENT_QUEUE {
            let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                return;
            };
            let Some(l) = c.link.as_mut() else {
                return;
            };
            let Some(ev) = l.poll_event() else {
                return;
            };
            match ev {
                link::Event::Established { sessions, .. } => {
                    // Say who we are (our incarnation) at once.
                    c.stream.want_ack();
                    if sessions == 1 {
                        // The link's first session: records could not leave
                        // before, so the dead timer starts now (a rekey
                        // does not stop data and restarts nothing).
                        c.stream.session_up(now);
                    }
                }
                link::Event::Expired => {
                    // The session is gone; the stream stays (a new session
                    // is made when there is something to send).
                    if let Some(mut l) = c.link.take() {
                        l.close();
                    }
                }
                // No session within the handshake deadline while records
                // wait: the node is unreachable.
                link::Event::HandshakeFailed { .. }
                    if c.stream.in_flight() > 0 && !l.is_established() =>
                {
                    self.lose(now, k, LossReason::Unreachable);
                }
                // Variants added later by `link`, `routing` or `ports`.
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }

    /// A stream packet from correspondent `k` (authenticated).
    fn stream_receive(&mut self, now: Instant, k: usize, plain: &[u8]) {
        let Ok((h, body)) = StreamHeader::decode(plain) else {
            self.stats.e2e_dropped = self.stats.e2e_dropped.saturating_add(1);
            return;
        };
        let me = self.incarnation;
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return;
        };
        c.last_active = now;
        // Which incarnation of the sender is this?
        if c.peer_inc != h.src_incarnation {
            if c.peer_inc != 0 && h.src_incarnation == c.prev_peer_inc {
                // A late packet of the run before: ignore.
                return;
            }
            let restarted = c.peer_inc != 0;
            if restarted {
                self.lose(now, k, LossReason::Restarted);
            }
            let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                return;
            };
            let pool = &mut self.pool;
            if restarted {
                // Records for the old incarnation were dropped by `lose`;
                // a fresh send half starts clean for the new one.
                c.prev_dirty = false;
            }
            c.prev_peer_inc = c.peer_inc;
            c.peer_inc = h.src_incarnation;
            c.rx_known = false;
            c.rx_await_new = false;
            c.stream.reset_rx(0, |s| pool.release(s));
            self.admit(k);
        }
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return;
        };
        // Is it for this run of ours?
        if h.dst_incarnation != 0 && h.dst_incarnation != me {
            // Meant for our previous run: say who we are now; it will
            // restart its stream.
            c.rx_await_new = true;
            c.stream.want_ack();
            return;
        }
        // Which stream of theirs?
        if !c.rx_known || c.peer_stream != h.src_stream {
            let newer = !c.rx_known || h.src_stream.wrapping_sub(c.peer_stream) < u32::MAX / 2;
            if !newer {
                return;
            }
            let had_state = c.rx_known && (c.stream.rx_buffered() || c.stream.rcv_next() != 0);
            let dirty = h.flags & STREAM_PREV_DIRTY != 0;
            let await_new = c.rx_await_new;
            // A new stream of theirs: start where it says nothing is
            // acknowledged yet.
            let pool = &mut self.pool;
            c.stream.reset_rx(h.una, |s| pool.release(s));
            c.peer_stream = h.src_stream;
            c.rx_known = true;
            c.rx_await_new = false;
            if !await_new && (dirty || (had_state && c.stream.rx_buffered())) {
                // It declared us lost: whatever was in flight between us is
                // gone, on both sides.
                self.lose(now, k, LossReason::PeerReset);
                let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                    return;
                };
                c.prev_dirty = false;
                c.rx_await_new = false;
                c.rx_known = true;
                c.peer_stream = h.src_stream;
                let pool = &mut self.pool;
                c.stream.reset_rx(h.una, |s| pool.release(s));
                self.admit(k);
            } else if c.ports_inc == 0 {
                self.admit(k);
            }
        } else if c.rx_await_new {
            // Its old stream, after we declared it lost: refused; our reply
            // (a packet of our new, dirty-flagged stream) makes it restart.
            c.stream.want_ack();
            return;
        }
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return;
        };
        // Acknowledgements of our send half.
        if h.dst_incarnation == me && h.dst_stream == c.my_stream {
            let pool = &mut self.pool;
            let before = c.stream.retransmits;
            let _ = c
                .stream
                .on_ack(now, h.ack, h.sack, &self.timing, |s| pool.release(s));
            let _ = before;
        }
        let Some((seq, ty)) = h.record else {
            return;
        };
        match c.stream.arrival(seq) {
            Arrival::InOrder => {
                c.stream.advance();
                self.process_record(now, k, ty, body);
                // Records buffered behind it, in order.
                for _ in 0..super::MAX_WINDOW {
                    let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
                        return;
                    };
                    let Some(slot) = c.stream.pop_ready() else {
                        break;
                    };
                    c.stream.advance();
                    let mut rec = [0u8; REC];
                    let n = {
                        let b = self.pool.get(slot);
                        let n = b.len().min(REC);
                        if let (Some(d), Some(s)) = (rec.get_mut(..n), b.get(..n)) {
                            d.copy_from_slice(s);
                        }
                        n
                    };
                    self.pool.release(slot);
                    if let Some((&ty, rest)) = rec.get(..n).and_then(|r| r.split_first()) {
                        self.process_record(now, k, ty, rest);
                    }
                }
            }
            Arrival::Ahead => {
                let slot = self.pool.put_with(body.len().saturating_add(1), |d| {
                    if let Some((t, rest)) = d.split_first_mut() {
                        *t = ty;
                        rest.copy_from_slice(body);
                    }
                });
                match slot {
                    Some(slot) => {
                        if let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) {
                            c.stream.buffer(seq, slot);
                        }
                    }
                    None => {
                        self.stats.records_dropped = self.stats.records_dropped.saturating_add(1);
                    }
                }
            }
            Arrival::Duplicate => {
                self.stats.records_duplicate = self.stats.records_duplicate.saturating_add(1);
            }
            Arrival::TooFar => {
                self.stats.records_dropped = self.stats.records_dropped.saturating_add(1);
            }
        }
    }

    fn process_record(&mut self, now: Instant, k: usize, ty: u8, body: &[u8]) {
        self.stats.records_delivered = self.stats.records_delivered.saturating_add(1);
        match ty {
            RECORD_PORTS => {
                let Some(name) = self.corr.get(k).and_then(|s| s.c.as_ref()).map(|c| c.name) else {
                    return;
                };
                self.ports.handle_timeout(now);
                match self.ports.deliver(name, body) {
                    Ok(()) => {}
                    Err(DeliverError::Decode) | Err(DeliverError::Refused(_)) => {
                        self.stats.ports_errors = self.stats.ports_errors.saturating_add(1);
                    }
                }
            }
            RECORD_INTRO => self.process_intro(now, body),
            _ => {}
        }
    }

    /// An introduction: a node key, maybe with its location.
    fn process_intro(&mut self, now: Instant, body: &[u8]) {
        let mut r = Reader::new(body);
        let Ok(key) = r.array::<32>() else {
            return;
        };
        if key == self.identity.public_key() {
            return;
        }
        let loc = match r.u8() {
            Ok(1) => match Locator::decode(&mut r) {
                Ok(l) => Some(l),
                Err(_) => return,
            },
            _ => None,
        };
        if let Some(k) = self.corr_for(now, &key)
            && let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut())
            && (c.loc.is_none() || c.loc_stale)
            && let Some(l) = loc
        {
            c.loc = Some(l);
            c.loc_stale = false;
        }
    }

    /// Writes an introduction of correspondent `k` into `buf` (record type
    /// byte first).
    pub(crate) fn write_intro(&self, k: usize, buf: &mut [u8]) -> Option<usize> {
        let c = self.corr.get(k)?.c.as_ref()?;
        let mut w = Writer::new(buf);
        w.u8(RECORD_INTRO).ok()?;
        w.put(&c.key).ok()?;
        match &c.loc {
            Some(l) if !c.loc_stale => {
                w.u8(1).ok()?;
                l.encode(&mut w).ok()?;
            }
            _ => w.u8(0).ok()?,
        }
        Some(w.position())
    }

    /// Drains the ports node's notices.
    pub(crate) fn pump_ports_events(&mut self, now: Instant) {
        for _ in 0..1_024 {
            let Some(ev) = self.ports.next_event() else {
                return;
            };
            match ev {
                PortEvent::StatusChanged(p) => self.push_event(Event::PortStatus(p)),
                PortEvent::NodeInUse(name) => {
                    if let Some(k) = self.find_corr_by_name(name) {
                        if let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) {
                            c.last_active = now;
                        }
                    } else {
                        self.unknown_node(name);
                    }
                }
                // Variants added later by `link`, `routing` or `ports`.
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }

    /// Ports depends on a node we have no key for: it cannot be reached.
    pub(crate) fn unknown_node(&mut self, name: NodeName) {
        let g = self.next_gen();
        let _ = self.ports.lost(name, Incarnation(g));
        self.stats.nodes_lost = self.stats.nodes_lost.saturating_add(1);
        self.push_event(Event::UnknownNode { name });
    }

    /// Sends correspondent `k` a probe record if ports depends on it (else
    /// just restarts its idle clock).
    pub(crate) fn probe(&mut self, now: Instant, k: usize) {
        let Some(name) = self.corr.get(k).and_then(|s| s.c.as_ref()).map(|c| c.name) else {
            return;
        };
        let wanted = self.ports.depends_on(name);
        let slot = if wanted {
            self.pool.put(&[super::wire::RECORD_PROBE])
        } else {
            None
        };
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return;
        };
        c.last_active = now;
        if let Some(slot) = slot
            && c.stream.queue(now, slot).is_none()
        {
            self.pool.release(slot);
        }
    }

    /// Asks the application for correspondent `k`'s location (rate
    /// limited).
    pub(crate) fn need_location(&mut self, now: Instant, k: usize) {
        let retry = self.config.location_retry;
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return;
        };
        if c.loc_asked.is_some_and(|t| now < t.saturating_add(retry)) {
            return;
        }
        c.loc_asked = Some(now);
        let key = c.key;
        self.push_event(Event::LocationNeeded { key });
    }

    /// The end-to-end link of correspondent `k`, created if needed.
    pub(crate) fn corr_link(&mut self, now: Instant, k: usize) -> bool {
        let config = self.corr_config(k);
        let has = self
            .corr
            .get(k)
            .and_then(|s| s.c.as_ref())
            .is_some_and(|c| c.link.is_some());
        if has {
            return true;
        }
        let seed = self.seed();
        let identity = self.link_identity.clone();
        let Some(c) = self.corr.get_mut(k).and_then(|s| s.c.as_mut()) else {
            return false;
        };
        match Link::new(config, identity, Some(c.key), seed, now) {
            Ok(mut l) => {
                let _ = l.connect(now);
                c.link = Some(l);
                true
            }
            Err(_) => false,
        }
    }
}
