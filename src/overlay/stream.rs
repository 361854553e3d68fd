//! The reliable, ordered record stream of one end-to-end session, and the
//! node-wide record pool it stores records in.
//!
//! A stream is a pair of half-streams (one per direction) numbered by `u32`
//! sequence numbers from 0. Every packet carries the cumulative
//! acknowledgement (the next sequence number expected) and a 32-bit
//! selective acknowledgement of the records buffered after it; a packet may
//! carry one record. The sender keeps at most `W` (≤ [`MAX_WINDOW`])
//! unacknowledged records, retransmits each on its own timer (RFC 6298
//! estimator with Karn's rule, exponential backoff up to a ceiling) and
//! reports the stream dead when its oldest record sees no progress for a
//! configured time. The receiver buffers up to `W - 1` records past a gap
//! and releases records strictly in order, each exactly once.
//!
//! Records live in a [`Pool`] shared by all streams of a node: a record
//! occupies one slot from the moment it is queued until it is acknowledged
//! (sender) or released in order (receiver). Nothing here allocates.

use crate::time::{Duration, Instant};

/// Widest window a stream supports (the selective-acknowledgement bitmap
/// covers the 32 sequence numbers after the cumulative acknowledgement).
pub const MAX_WINDOW: usize = 32;

/// One record buffer of the caller's storage: `REC` bytes and a length
/// (`REC + 4` bytes).
#[derive(Clone, Debug)]
pub struct RecordSlot<const REC: usize> {
    used: bool,
    len: u16,
    data: [u8; REC],
}

impl<const REC: usize> RecordSlot<REC> {
    /// A free slot.
    pub const EMPTY: Self = RecordSlot {
        used: false,
        len: 0,
        data: [0; REC],
    };
}

impl<const REC: usize> Default for RecordSlot<REC> {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// The node-wide pool of record buffers (the caller's slots, at most
/// 65,535 used).
pub(crate) struct Pool<'s, const REC: usize> {
    slots: &'s mut [RecordSlot<REC>],
    used: usize,
    hint: usize,
}

impl<'s, const REC: usize> Pool<'s, REC> {
    /// A pool over `slots` (all freed).
    pub(crate) fn new(slots: &'s mut [RecordSlot<REC>]) -> Self {
        let n = slots.len().min(usize::from(u16::MAX));
        let slots = match slots.get_mut(..n) {
            Some(s) => s,
            None => &mut [],
        };
        for s in slots.iter_mut() {
            s.used = false;
            s.len = 0;
        }
        Pool {
            slots,
            used: 0,
            hint: 0,
        }
    }

    /// Stores `bytes` in a free slot; `None` when the pool is full or
    /// `bytes` is longer than `REC`.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Option<u16> {
        self.put_with(bytes.len(), |d| d.copy_from_slice(bytes))
    }

    /// Stores `len` bytes written by `fill` in a free slot.
    pub(crate) fn put_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Option<u16> {
        if len > REC {
            return None;
        }
        let n = self.slots.len();
        for step in 0..n {
            let i = self.hint.wrapping_add(step).checked_rem(n).unwrap_or(0);
            let Some(s) = self.slots.get_mut(i) else {
                continue;
            };
            if s.used {
                continue;
            }
            let dst = s.data.get_mut(..len)?;
            fill(dst);
            s.used = true;
            s.len = u16::try_from(len).unwrap_or(0);
            self.used = self.used.saturating_add(1);
            self.hint = i.saturating_add(1);
            return u16::try_from(i).ok();
        }
        None
    }

    /// The bytes of slot `id`.
    pub(crate) fn get(&self, id: u16) -> &[u8] {
        self.slots
            .get(usize::from(id))
            .filter(|s| s.used)
            .and_then(|s| s.data.get(..usize::from(s.len)))
            .unwrap_or(&[])
    }

    /// Returns slot `id` to the pool.
    pub(crate) fn release(&mut self, id: u16) {
        if let Some(s) = self.slots.get_mut(usize::from(id))
            && s.used
        {
            s.used = false;
            self.used = self.used.saturating_sub(1);
        }
    }

    /// Slots in use.
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// Slots in all.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }
}

/// Timing of a stream's retransmissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    /// First retransmission timeout, before any round trip is measured.
    pub rto_initial: Duration,
    /// Smallest retransmission timeout.
    pub rto_min: Duration,
    /// Largest retransmission timeout (backoff ceiling).
    pub rto_max: Duration,
    /// The stream is dead when its oldest unacknowledged record has waited
    /// this long without any acknowledgement progress.
    pub dead_after: Duration,
}

#[derive(Clone, Copy, Debug)]
struct TxRec {
    slot: u16,
    /// First transmission (None: queued, never sent).
    first_sent: Option<Instant>,
    /// When to (re)transmit.
    due: Instant,
    tries: u16,
    /// Selectively acknowledged (slot already released).
    sacked: bool,
    /// Its timer fired ([`Stream::fire_timers`]): send at the next poll.
    ready: bool,
}

/// What the receiver should do with an arriving record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The next record in order: process it now, then call
    /// [`Stream::advance`] and drain [`Stream::pop_ready`].
    InOrder,
    /// Ahead of a gap and inside the window: store it with
    /// [`Stream::buffer`].
    Ahead,
    /// Already received: dropped (the acknowledgement is repeated).
    Duplicate,
    /// Beyond the window: dropped (the sender retransmits it).
    TooFar,
}

/// Why a stream refused an acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadAck;

/// The sending and receiving state of one end-to-end stream.
pub(crate) struct Stream<const W: usize> {
    next_seq: u32,
    una: u32,
    tx: [Option<TxRec>; W],
    rcv_next: u32,
    rx: [Option<u16>; W],
    ack_due: bool,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    /// Last time acknowledgements moved (or the window was empty).
    progress: Instant,
    /// Last time a timeout doubled `rto` (RFC 6298 5.5, once per timeout).
    backed_off: Option<Instant>,
    /// Records acknowledged so far (counters).
    pub(crate) acked: u64,
    /// Retransmissions.
    pub(crate) retransmits: u64,
}

/// A packet the stream wants sent: what ack fields to carry and, maybe, a
/// record (its sequence number and pool slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// Cumulative acknowledgement.
    pub ack: u32,
    /// Selective acknowledgement bitmap.
    pub sack: u32,
    /// The record carried, if any: `(seq, slot)`.
    pub record: Option<(u32, u16)>,
}

impl<const W: usize> Stream<W> {
    const WIN: u32 = if W > MAX_WINDOW {
        MAX_WINDOW as u32
    } else {
        W as u32
    };

    /// A fresh stream (both directions at sequence number 0).
    pub(crate) fn new(now: Instant, timing: &Timing) -> Self {
        Stream {
            next_seq: 0,
            una: 0,
            tx: [None; W],
            rcv_next: 0,
            rx: [None; W],
            ack_due: false,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: timing.rto_initial,
            progress: now,
            backed_off: None,
            acked: 0,
            retransmits: 0,
        }
    }

    fn idx(seq: u32) -> usize {
        // W > 0 is checked by the node's construction; `checked_rem` keeps
        // this total anyway.
        usize::try_from(seq)
            .unwrap_or(0)
            .checked_rem(W)
            .unwrap_or(0)
    }

    /// Records queued or in flight.
    pub(crate) fn in_flight(&self) -> u32 {
        self.next_seq.wrapping_sub(self.una)
    }

    /// Whether one more record fits in the send window.
    pub(crate) fn can_queue(&self) -> bool {
        W > 0 && self.in_flight() < Self::WIN
    }

    /// Whether nothing is waiting for an acknowledgement and nothing is
    /// buffered out of order.
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight() == 0 && self.rx.iter().all(Option::is_none)
    }

    /// Queues a record already stored in `slot`; it leaves at the next
    /// [`Stream::poll`]. Returns its sequence number, or `None` (and the
    /// caller keeps the slot) when the window is full.
    pub(crate) fn queue(&mut self, now: Instant, slot: u16) -> Option<u32> {
        if !self.can_queue() {
            return None;
        }
        let seq = self.next_seq;
        if self.in_flight() == 0 {
            self.progress = now;
        }
        let e = self.tx.get_mut(Self::idx(seq))?;
        *e = Some(TxRec {
            slot,
            first_sent: None,
            due: now,
            tries: 0,
            sacked: false,
            ready: false,
        });
        self.next_seq = seq.wrapping_add(1);
        Some(seq)
    }

    fn sack_bits(&self) -> u32 {
        let mut bits = 0u32;
        for i in 0..Self::WIN.saturating_sub(1).min(32) {
            let seq = self.rcv_next.wrapping_add(1).wrapping_add(i);
            if self.rx.get(Self::idx(seq)).is_some_and(Option::is_some) {
                bits |= 1u32.checked_shl(i).unwrap_or(0);
            }
        }
        bits
    }

    /// The next packet to send at `now`: the lowest record due (new, or
    /// whose timer expired; its timer is re-armed with backoff), else a bare
    /// acknowledgement if one is due, else `None`.
    pub(crate) fn poll(&mut self, now: Instant, timing: &Timing) -> Option<Outgoing> {
        let mut pick = None;
        for i in 0..self.in_flight() {
            let seq = self.una.wrapping_add(i);
            if let Some(Some(r)) = self.tx.get(Self::idx(seq))
                && !r.sacked
                && (r.ready || r.due <= now)
            {
                pick = Some(seq);
                break;
            }
        }
        let ack = self.rcv_next;
        let sack = self.sack_bits();
        if let Some(seq) = pick {
            let rto = self.rto;
            let slot = {
                let Some(Some(r)) = self.tx.get_mut(Self::idx(seq)) else {
                    return None;
                };
                if r.first_sent.is_none() {
                    r.first_sent = Some(now);
                } else {
                    self.retransmits = self.retransmits.saturating_add(1);
                    // A timeout: back the stream's timer off (once per
                    // round of timeouts) until a fresh sample comes.
                    if self.backed_off.is_none_or(|t| now >= t.saturating_add(rto)) {
                        self.backed_off = Some(now);
                        self.rto = rto.saturating_mul(2).min(timing.rto_max);
                    }
                }
                r.tries = r.tries.saturating_add(1);
                r.ready = false;
                let backoff =
                    rto.saturating_mul(1u64 << u32::from(r.tries.saturating_sub(1)).min(16));
                r.due =
                    now.saturating_add(backoff.min(timing.rto_max).max(Duration::from_micros(1)));
                r.slot
            };
            self.ack_due = false;
            return Some(Outgoing {
                ack,
                sack,
                record: Some((seq, slot)),
            });
        }
        if core::mem::take(&mut self.ack_due) {
            return Some(Outgoing {
                ack,
                sack,
                record: None,
            });
        }
        None
    }

    /// The acknowledgement fields for a packet sent for another reason.
    #[cfg(test)]
    pub(crate) fn ack_fields(&mut self) -> (u32, u32) {
        self.ack_due = false;
        (self.rcv_next, self.sack_bits())
    }

    /// Processes the acknowledgement fields of an authenticated packet.
    /// Releases every acknowledged record's slot into `release`.
    ///
    /// # Errors
    /// [`BadAck`] when `ack` acknowledges a record never sent (nothing
    /// changes).
    pub(crate) fn on_ack(
        &mut self,
        now: Instant,
        ack: u32,
        sack: u32,
        timing: &Timing,
        mut release: impl FnMut(u16),
    ) -> Result<(), BadAck> {
        let newly = ack.wrapping_sub(self.una);
        if newly > self.in_flight() {
            // Either older than `una` (a stale ack: ignore its cumulative
            // part) or beyond what was sent (refused).
            if self.una.wrapping_sub(ack) <= u32::MAX / 2 {
                return Ok(());
            }
            return Err(BadAck);
        }
        let mut sample = None;
        for _ in 0..newly {
            let i = Self::idx(self.una);
            if let Some(e) = self.tx.get_mut(i)
                && let Some(r) = e.take()
            {
                if !r.sacked {
                    release(r.slot);
                }
                if r.tries == 1 {
                    sample = r.first_sent.map(|t| now.saturating_duration_since(t));
                }
                self.acked = self.acked.saturating_add(1);
            }
            self.una = self.una.wrapping_add(1);
        }
        for bit in 0..32u32 {
            if sack & 1u32.checked_shl(bit).unwrap_or(0) == 0 {
                continue;
            }
            let seq = ack.wrapping_add(1).wrapping_add(bit);
            if seq.wrapping_sub(self.una) >= self.in_flight() {
                continue;
            }
            if let Some(Some(r)) = self.tx.get_mut(Self::idx(seq))
                && !r.sacked
                && r.first_sent.is_some()
            {
                r.sacked = true;
                release(r.slot);
                if r.tries == 1 && sample.is_none() {
                    sample = r.first_sent.map(|t| now.saturating_duration_since(t));
                }
            }
        }
        if newly > 0 || self.in_flight() == 0 {
            self.progress = now;
        }
        if let Some(s) = sample {
            self.rtt_sample(s, timing);
        }
        Ok(())
    }

    /// RFC 6298 section 2 (alpha 1/8, beta 1/4, K = 4), bounded by the
    /// configured minimum and maximum.
    fn rtt_sample(&mut self, r: Duration, timing: &Timing) {
        let r = r.as_micros();
        let (srtt, rttvar) = match self.srtt {
            None => (r, r / 2),
            Some(s) => {
                let s = s.as_micros();
                let diff = s.abs_diff(r);
                let rttvar =
                    (self.rttvar.as_micros().saturating_mul(3) / 4).saturating_add(diff / 4);
                let srtt = (s.saturating_mul(7) / 8).saturating_add(r / 8);
                (srtt, rttvar)
            }
        };
        self.backed_off = None;
        self.srtt = Some(Duration::from_micros(srtt));
        self.rttvar = Duration::from_micros(rttvar);
        let rto = Duration::from_micros(srtt.saturating_add(rttvar.saturating_mul(4).max(1)));
        self.rto = rto.max(timing.rto_min).min(timing.rto_max);
    }

    /// Classifies an arriving record; marks an acknowledgement due.
    pub(crate) fn arrival(&mut self, seq: u32) -> Arrival {
        self.ack_due = true;
        let off = seq.wrapping_sub(self.rcv_next);
        if off == 0 {
            Arrival::InOrder
        } else if self.rcv_next.wrapping_sub(seq) <= u32::MAX / 2 {
            Arrival::Duplicate
        } else if off < Self::WIN {
            if self.rx.get(Self::idx(seq)).is_some_and(Option::is_some) {
                Arrival::Duplicate
            } else {
                Arrival::Ahead
            }
        } else {
            Arrival::TooFar
        }
    }

    /// Stores an [`Arrival::Ahead`] record kept in pool slot `slot`.
    pub(crate) fn buffer(&mut self, seq: u32, slot: u16) {
        if let Some(e) = self.rx.get_mut(Self::idx(seq)) {
            *e = Some(slot);
        }
    }

    /// The in-order record was processed: move past it.
    pub(crate) fn advance(&mut self) {
        self.rcv_next = self.rcv_next.wrapping_add(1);
    }

    /// The next buffered record now in order (its slot; the caller
    /// processes it, releases the slot, and calls [`Stream::advance`]).
    pub(crate) fn pop_ready(&mut self) -> Option<u16> {
        self.rx.get_mut(Self::idx(self.rcv_next))?.take()
    }

    /// When the stream next needs [`Stream::poll`]: the earliest
    /// retransmission timer (new records and due acks are sent at once and
    /// are not timers).
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        for i in 0..self.in_flight() {
            if let Some(Some(r)) = self.tx.get(Self::idx(self.una.wrapping_add(i)))
                && !r.sacked
                && !r.ready
                && r.first_sent.is_some()
            {
                t = Some(t.map_or(r.due, |t| t.min(r.due)));
            }
        }
        t
    }

    /// Whether something is sendable right now (a new record or a due ack),
    /// without a timer.
    pub(crate) fn wants_send(&self, now: Instant) -> bool {
        self.ack_due
            || (0..self.in_flight()).any(|i| {
                self.tx
                    .get(Self::idx(self.una.wrapping_add(i)))
                    .and_then(Option::as_ref)
                    .is_some_and(|r| !r.sacked && (r.ready || r.due <= now))
            })
    }

    /// When the stream is declared dead if nothing moves: `None` while
    /// nothing is in flight.
    pub(crate) fn dead_at(&self, timing: &Timing) -> Option<Instant> {
        (self.in_flight() > 0).then(|| self.progress.saturating_add(timing.dead_after))
    }

    /// Releases every slot the stream holds (the stream is being dropped).
    pub(crate) fn release_all(&mut self, mut release: impl FnMut(u16)) {
        for e in self.tx.iter_mut() {
            if let Some(r) = e.take()
                && !r.sacked
            {
                release(r.slot);
            }
        }
        for e in self.rx.iter_mut() {
            if let Some(s) = e.take() {
                release(s);
            }
        }
        self.una = self.next_seq;
    }

    /// The current retransmission timeout.
    #[cfg(test)]
    pub(crate) fn rto(&self) -> Duration {
        self.rto
    }

    /// Marks every retransmission timer due at `now` as ready to send (the
    /// timer part of `handle_timeout`: the next [`Stream::poll`] sends
    /// them, and [`Stream::next_timer`] no longer reports them).
    pub(crate) fn fire_timers(&mut self, now: Instant) {
        for i in 0..self.in_flight() {
            if let Some(Some(r)) = self.tx.get_mut(Self::idx(self.una.wrapping_add(i)))
                && !r.sacked
                && r.first_sent.is_some()
                && r.due <= now
            {
                r.ready = true;
            }
        }
    }

    /// Oldest record not yet acknowledged (cumulatively).
    pub(crate) fn una(&self) -> u32 {
        self.una
    }

    /// Next record expected from the peer.
    pub(crate) fn rcv_next(&self) -> u32 {
        self.rcv_next
    }

    /// Whether records wait after a gap.
    pub(crate) fn rx_buffered(&self) -> bool {
        self.rx.iter().any(Option::is_some)
    }

    /// Starts a new send half at sequence number 0, releasing every record
    /// queued or in flight; the round-trip estimate is kept.
    pub(crate) fn reset_tx(&mut self, now: Instant, release: impl FnMut(u16)) {
        let mut release = release;
        for e in self.tx.iter_mut() {
            if let Some(r) = e.take()
                && !r.sacked
            {
                release(r.slot);
            }
        }
        self.next_seq = 0;
        self.una = 0;
        self.progress = now;
    }

    /// Starts a new receive half whose first record is `next`, releasing
    /// every buffered record.
    pub(crate) fn reset_rx(&mut self, next: u32, release: impl FnMut(u16)) {
        let mut release = release;
        for e in self.rx.iter_mut() {
            if let Some(s) = e.take() {
                release(s);
            }
        }
        self.rcv_next = next;
        self.ack_due = false;
    }

    /// Asks for a bare packet at the next poll (to carry acknowledgements
    /// or our new location).
    pub(crate) fn want_ack(&mut self) {
        self.ack_due = true;
    }

    /// The session carrying this stream was just established: no record
    /// could leave before, so the dead timer (no acknowledgement progress
    /// for `dead_after`) counts from `now`, not from when the records were
    /// queued (a handshake over a long lossy path may itself take longer
    /// than `dead_after`; the handshake has its own deadline).
    pub(crate) fn session_up(&mut self, now: Instant) {
        self.progress = now;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::rng::{RngCore, SeededRng};
    use std::collections::VecDeque;
    use std::vec::Vec;

    fn timing() -> Timing {
        Timing {
            rto_initial: Duration::from_millis(100),
            rto_min: Duration::from_millis(10),
            rto_max: Duration::from_millis(800),
            dead_after: Duration::from_secs(30),
        }
    }

    #[test]
    fn pool_hands_out_and_takes_back() {
        let mut slots = [RecordSlot::<4>::EMPTY; 3];
        let mut p = Pool::new(&mut slots);
        let a = p.put(b"ab").unwrap();
        let b = p.put(b"cdef").unwrap();
        assert_eq!(p.put(b"toolong"), None);
        let c = p.put(b"").unwrap();
        assert_eq!(p.put(b"x"), None, "full");
        assert_eq!(
            (p.get(a), p.get(b), p.get(c)),
            (&b"ab"[..], &b"cdef"[..], &b""[..])
        );
        assert_eq!(p.used(), 3);
        p.release(b);
        p.release(b);
        assert_eq!(p.used(), 2);
        assert_eq!(p.put(b"y"), Some(b));
    }

    /// A packet on the simulated path: (ack, sack, record (seq, bytes)).
    type Pkt = (u32, u32, Option<(u32, Vec<u8>)>);

    struct End {
        s: Stream<8>,
        pool: Pool<'static, 8>,
        got: Vec<Vec<u8>>,
    }

    impl End {
        fn new() -> Self {
            let slots =
                std::boxed::Box::leak(std::vec![RecordSlot::<8>::EMPTY; 32].into_boxed_slice());
            End {
                s: Stream::new(Instant::ZERO, &timing()),
                pool: Pool::new(slots),
                got: Vec::new(),
            }
        }

        fn receive(&mut self, now: Instant, p: &Pkt) {
            let t = timing();
            let pool = &mut self.pool;
            self.s
                .on_ack(now, p.0, p.1, &t, |s| pool.release(s))
                .unwrap();
            if let Some((seq, body)) = &p.2 {
                match self.s.arrival(*seq) {
                    Arrival::InOrder => {
                        self.got.push(body.clone());
                        self.s.advance();
                        while let Some(slot) = self.s.pop_ready() {
                            self.got.push(self.pool.get(slot).to_vec());
                            self.pool.release(slot);
                            self.s.advance();
                        }
                    }
                    Arrival::Ahead => {
                        if let Some(slot) = self.pool.put(body) {
                            self.s.buffer(*seq, slot);
                        }
                    }
                    Arrival::Duplicate | Arrival::TooFar => {}
                }
            }
        }

        fn poll(&mut self, now: Instant) -> Option<Pkt> {
            let o = self.s.poll(now, &timing())?;
            Some((
                o.ack,
                o.sack,
                o.record
                    .map(|(seq, slot)| (seq, self.pool.get(slot).to_vec())),
            ))
        }
    }

    /// Reference model: a perfectly reliable FIFO of the same records.
    /// Both ends send `n` records over a path that loses, duplicates and
    /// reorders; every record must arrive exactly once, in order, and every
    /// pool slot must come back.
    #[test]
    fn exactly_once_in_order_over_a_bad_path() {
        for seed in 0..300u64 {
            let mut rng = SeededRng::from_u64(seed);
            let mut ends = [End::new(), End::new()];
            let n = 40u32;
            let mut sent = [0u32; 2];
            // (arrival time, to, packet)
            let mut wire: VecDeque<(Instant, usize, Pkt)> = VecDeque::new();
            let mut now = Instant::ZERO;
            for _ in 0..20_000 {
                for side in 0..2 {
                    while sent[side] < n && ends[side].s.can_queue() {
                        let body = sent[side].to_be_bytes().to_vec();
                        let slot = ends[side].pool.put(&body).unwrap();
                        ends[side].s.queue(now, slot).unwrap();
                        sent[side] += 1;
                    }
                    while let Some(p) = ends[side].poll(now) {
                        let r = rng.next_u32() % 100;
                        if r < 15 {
                            continue; // lost
                        }
                        let delay = Duration::from_millis(5 + u64::from(rng.next_u32() % 30));
                        wire.push_back((now + delay, 1 - side, p.clone()));
                        if r < 22 {
                            let d2 = Duration::from_millis(u64::from(rng.next_u32() % 50));
                            wire.push_back((now + d2, 1 - side, p));
                        }
                    }
                }
                // Next event: earliest arrival or timer.
                let next_arrival = wire.iter().map(|w| w.0).min();
                let next_timer = ends.iter().filter_map(|e| e.s.next_timer()).min();
                let Some(t) = [next_arrival, next_timer].into_iter().flatten().min() else {
                    break;
                };
                now = now.max(t);
                let mut i = 0;
                while i < wire.len() {
                    if wire[i].0 <= now {
                        let (_, to, p) = wire.remove(i).unwrap();
                        ends[to].receive(now, &p);
                    } else {
                        i += 1;
                    }
                }
            }
            for side in 0..2 {
                let want: Vec<Vec<u8>> = (0..n).map(|k| k.to_be_bytes().to_vec()).collect();
                assert_eq!(ends[1 - side].got, want, "seed {seed} side {side}");
                assert!(ends[side].s.is_idle(), "seed {seed}");
                assert_eq!(ends[side].pool.used(), 0, "seed {seed}: slots leaked");
            }
        }
    }

    #[test]
    fn window_bounds_the_queue_and_acks_are_checked() {
        let t = timing();
        let mut s: Stream<4> = Stream::new(Instant::ZERO, &t);
        for slot in 0..4 {
            assert_eq!(s.queue(Instant::ZERO, slot), Some(u32::from(slot)));
        }
        assert_eq!(s.queue(Instant::ZERO, 9), None);
        // An ack for a record never sent is refused and changes nothing.
        assert_eq!(s.on_ack(Instant::ZERO, 9, 0, &t, |_| {}), Err(BadAck));
        assert_eq!(s.in_flight(), 4);
        // Nothing was sent yet: acks up to what is queued are accepted
        // (queued counts as sent for the cumulative check).
        for _ in 0..4 {
            assert!(s.poll(Instant::ZERO, &t).unwrap().record.is_some());
        }
        assert_eq!(s.poll(Instant::ZERO, &t), None);
        let mut released = Vec::new();
        s.on_ack(Instant::from_millis(20), 2, 0b1, &t, |x| released.push(x))
            .unwrap();
        assert_eq!(released, [0, 1, 3]);
        assert_eq!(s.in_flight(), 2);
        // RTT sample 20 ms: RTO = 20 + 4 * 10 = 60 ms.
        assert_eq!(s.rto(), Duration::from_millis(60));
        // Record 2 retransmits at its (initial 100 ms) timer.
        assert_eq!(s.next_timer(), Some(Instant::from_millis(100)));
        let o = s.poll(Instant::from_millis(100), &t).unwrap();
        assert_eq!(o.record, Some((2, 2)));
        assert_eq!(s.retransmits, 1);
    }

    #[test]
    fn receiver_classifies_and_sacks() {
        let t = timing();
        let mut s: Stream<4> = Stream::new(Instant::ZERO, &t);
        assert_eq!(s.arrival(1), Arrival::Ahead);
        s.buffer(1, 7);
        assert_eq!(s.arrival(1), Arrival::Duplicate);
        assert_eq!(s.arrival(4), Arrival::TooFar);
        assert_eq!(s.ack_fields(), (0, 0b1));
        assert_eq!(s.arrival(0), Arrival::InOrder);
        s.advance();
        assert_eq!(s.pop_ready(), Some(7));
        s.advance();
        assert_eq!(s.arrival(0), Arrival::Duplicate);
        assert_eq!(s.ack_fields(), (2, 0));
    }

    #[test]
    fn dead_after_no_progress() {
        let t = timing();
        let mut s: Stream<4> = Stream::new(Instant::ZERO, &t);
        assert_eq!(s.dead_at(&t), None);
        s.queue(Instant::from_secs(5), 0).unwrap();
        assert_eq!(s.dead_at(&t), Some(Instant::from_secs(35)));
    }
}
