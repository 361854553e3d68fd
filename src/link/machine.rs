//! [`Link`]: one Noise session (and its successors) with one neighbour.

use core::fmt;

use rand_core::RngCore;

use super::config::{Config, Identity, key_needs, responder_key_known};
use super::error::{AcceptError, ConfigError, ConnectError, DatagramError, SendError};
use super::event::{Event, FailReason, LinkStats, Role};
use super::gate::{COOKIE_LIFETIME, Hello, Receipt};
use super::mac::{InitiationId, initiation_id, mac, mac1_key, open_cookie};
use super::wire::{
    COOKIE_LEN, COOKIE_REPLY_LEN, COOKIE_SALT_LEN, HEADER_LEN, KEEPALIVE_LEN, MAC_LEN, MACS_LEN,
    MAX_DATAGRAM, MAX_HANDSHAKE_DATAGRAM, MAX_HANDSHAKE_PAYLOAD, MAX_PAYLOAD, MessageType, Repr,
    STAMP_LEN, datagram_len,
};
use crate::crypto::Provider;
use crate::crypto::x25519::KEY_LEN;
use crate::error::BufferTooSmall;
use crate::noise::cipher::TAG_LEN;
use crate::noise::datagram::DatagramTransport;
use crate::noise::transport::TransportError;
use crate::noise::{Builder, HandshakeError, HandshakeState};
use crate::rng::SeededRng;
use crate::time::{Duration, Instant, Monotonic, Timed};

/// Events a link holds before the oldest is dropped (and counted in
/// [`LinkStats::events_dropped`]); one call queues at most three.
pub const EVENT_QUEUE: usize = 8;

/// `now + d`, or `None` when that is not strictly later (saturated at
/// [`Instant::MAX`]): a timer that cannot move later is stopped instead.
fn later(now: Instant, d: Duration) -> Option<Instant> {
    let t = now.saturating_add(d);
    (t > now).then_some(t)
}

/// The bytes of the last handshake message we wrote (header included, MACs
/// not), kept to resend it.
#[derive(Clone)]
struct Wire {
    bytes: [u8; MAX_HANDSHAKE_DATAGRAM],
    len: usize,
}

impl Wire {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    fn is_initiation(&self) -> bool {
        self.bytes.get(1) == Some(&MessageType::HandshakeInitiation.to_u8())
    }
}

/// Writes the next handshake message of `hs` behind `repr` into a [`Wire`].
fn write_wire<P: Provider>(
    hs: &mut HandshakeState<P>,
    repr: Repr,
    payload: &[u8],
) -> Result<Wire, HandshakeError> {
    let mut w = Wire {
        bytes: [0u8; MAX_HANDSHAKE_DATAGRAM],
        len: 0,
    };
    // Leave room for the MACs an initiation carries.
    let room = MAX_HANDSHAKE_DATAGRAM.saturating_sub(MACS_LEN);
    let body = w
        .bytes
        .get_mut(HEADER_LEN..room)
        .ok_or(HandshakeError::MissingKey)?;
    let n = hs.write_message(payload, body)?;
    repr.emit(&mut w.bytes)
        .map_err(HandshakeError::BufferTooSmall)?;
    w.len = HEADER_LEN.saturating_add(n);
    Ok(w)
}

/// An established session: keys, indices, age, counters.
struct Session<P: Provider> {
    local_index: u32,
    remote_index: u32,
    transport: DatagramTransport<P>,
    created: Instant,
    role: Role,
    /// Transport datagrams written under this session.
    sent: u64,
    /// The time-triggered rekey already fired for this session.
    rekey_fired: bool,
    /// Digest of the final handshake message we read (its duplicates are
    /// answered with a keepalive, confirming the session again).
    final_read: Option<InitiationId>,
}

impl<P: Provider> Session<P> {
    fn expires(&self, config: &Config) -> Instant {
        self.created.saturating_add(config.reject_after_time)
    }

    fn is_expired(&self, now: Instant, config: &Config) -> bool {
        now >= self.expires(config)
    }

    fn rekey_at(&self, config: &Config) -> Instant {
        let t = self.created.saturating_add(config.rekey_after_time);
        match self.role {
            Role::Initiator => t,
            Role::Responder => t.saturating_add(config.responder_rekey_delay),
        }
    }

    fn can_send(&self, now: Instant, config: &Config) -> bool {
        !self.is_expired(now, config)
            && self.transport.sending_nonce() < config.reject_after_messages
    }
}

/// A handshake in progress.
struct Handshake<P: Provider> {
    role: Role,
    hs: HandshakeState<P>,
    local_index: u32,
    /// The peer's index (zero until its first message arrives).
    remote_index: u32,
    wire: Wire,
    /// The initiation this side answered (responder).
    answered: Option<InitiationId>,
    /// Digest of the last message read (its duplicates get our next message
    /// again).
    last_read: Option<InitiationId>,
    deadline: Instant,
    /// Retransmission timer (the initiator's messages only).
    resend_at: Option<Instant>,
    rto: Duration,
    /// `mac1` of the last initiation sent (a cookie reply is bound to it).
    mac1: [u8; MAC_LEN],
}

/// A finished handshake whose session the peer has not used yet: we wrote
/// the last message. Promoted to current by the first datagram under it.
struct Next<P: Provider> {
    session: Session<P>,
    wire: Wire,
    answered: Option<InitiationId>,
    last_read: Option<InitiationId>,
    deadline: Instant,
    resend_at: Option<Instant>,
    rto: Duration,
}

/// What [`Link::handle_datagram`] made of an accepted datagram.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received<'a> {
    /// A transport datagram: its payload, decrypted in place in the
    /// caller's buffer.
    Data(&'a [u8]),
    /// An authenticated keepalive (empty transport datagram).
    Keepalive,
    /// A handshake message or cookie reply was consumed; drain
    /// `poll_transmit` and `poll_event`.
    Control,
}

/// One Noise session with one neighbour over datagrams (module docs of
/// [`link`](super)).
///
/// A link keeps up to three sessions (previous, current, next) and one
/// handshake in progress, each with its own local index. Every buffer is
/// inline: a `Link` is one value of fixed size, and no call allocates. On
/// 64-bit targets it is 10,800 bytes with the `ring` provider and 14,832
/// with `rustcrypto` (three Noise datagram transports of 2,592 / 3,936
/// bytes make most of it: each holds its keyed AEADs and two replay
/// windows).
pub struct Link<P: Provider> {
    config: Config,
    identity: Identity,
    remote: Option<[u8; KEY_LEN]>,
    rng: SeededRng,
    clock: Monotonic,
    closed: bool,
    handshake: Option<Handshake<P>>,
    next: Option<Next<P>>,
    current: Option<Session<P>>,
    previous: Option<Session<P>>,
    /// Highest initiation stamp accepted from the peer.
    last_stamp: Option<u64>,
    /// Our last initiation stamp (strictly increasing).
    sent_stamp: u64,
    /// Cookie from the peer's gate, with when it arrived.
    cookie: Option<([u8; COOKIE_LEN], Instant)>,
    keepalive_at: Option<Instant>,
    persistent_at: Option<Instant>,
    tx_handshake: bool,
    tx_next: bool,
    tx_keepalive: bool,
    events: heapless::Deque<Event, EVENT_QUEUE>,
    stats: LinkStats,
}

impl<P: Provider> fmt::Debug for Link<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("remote", &self.remote)
            .field("established", &self.is_established())
            .field("handshaking", &self.handshake.is_some())
            .field("closed", &self.closed)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<P: Provider> Link<P> {
    fn blank(
        config: Config,
        identity: Identity,
        seed: [u8; 32],
        now: Instant,
    ) -> Result<Self, ConfigError> {
        config.check()?;
        if !config.params.psk_positions().is_empty() && identity.psk().is_none() {
            return Err(ConfigError::MissingPsk);
        }
        let mut clock = Monotonic::new();
        clock.observe(now);
        Ok(Link {
            config,
            identity,
            remote: None,
            rng: SeededRng::from_seed(seed),
            clock,
            closed: false,
            handshake: None,
            next: None,
            current: None,
            previous: None,
            last_stamp: None,
            sent_stamp: 0,
            cookie: None,
            keepalive_at: None,
            persistent_at: None,
            tx_handshake: false,
            tx_next: false,
            tx_keepalive: false,
            events: heapless::Deque::new(),
            stats: LinkStats::default(),
        })
    }

    /// A link to the peer whose static public key is `remote_static` (or
    /// `None` when the pattern does not need it in advance, or when only
    /// the peer will initiate). No handshake starts until
    /// [`connect`](Self::connect) or [`send`](Self::send). `seed` feeds the
    /// link's RNG (ephemeral keys, session indices): seed it from a real
    /// entropy source.
    ///
    /// # Errors
    /// [`ConfigError`] from [`Config::check`], or
    /// [`ConfigError::MissingPsk`].
    pub fn new(
        config: Config,
        identity: Identity,
        remote_static: Option<[u8; KEY_LEN]>,
        seed: [u8; 32],
        now: Instant,
    ) -> Result<Self, ConfigError> {
        let mut link = Self::blank(config, identity, seed, now)?;
        link.remote = remote_static;
        Ok(link)
    }

    /// A responder-side link for the initiation a [`Gate`](super::Gate)
    /// read: writes the response (queued for `poll_transmit`) and returns
    /// the link with a [`Receipt`] for [`Gate::remember`](super::Gate::remember).
    ///
    /// # Errors
    /// [`AcceptError::Config`] (including a hello read under other
    /// parameters), [`AcceptError::Handshake`].
    pub fn accept(
        config: Config,
        identity: Identity,
        seed: [u8; 32],
        now: Instant,
        hello: Hello<P>,
    ) -> Result<(Self, Receipt), AcceptError> {
        let mut link = Self::blank(config, identity, seed, now)?;
        let receipt = link.accept_hello(now, hello)?;
        Ok((link, receipt))
    }

    /// Accepts a peer initiation into this (existing) link: a rekey started
    /// by the peer, or its reconnection. The response is queued; the new
    /// session becomes current when the peer first uses it.
    ///
    /// Rules, in order: a hello from another static key than the link's
    /// peer is refused ([`AcceptError::WrongPeer`]); a duplicate of the
    /// initiation this link already answered resends the cached response;
    /// a hello with an authenticated timestamp
    /// ([`Hello::is_stamp_authentic`]) not later than the last accepted one
    /// is refused ([`AcceptError::Stale`]); a responder handshake in
    /// progress is displaced only by a hello with an authenticated
    /// timestamp ([`AcceptError::Busy`]); while our own initiation is
    /// outstanding, the initiation with the lower ephemeral public key wins
    /// ([`AcceptError::Conflict`] when ours does; otherwise ours is
    /// abandoned and theirs answered).
    ///
    /// # Errors
    /// As above, and [`AcceptError::Closed`], [`AcceptError::Handshake`].
    pub fn accept_hello(&mut self, now: Instant, hello: Hello<P>) -> Result<Receipt, AcceptError> {
        let now = self.clock.observe(now);
        if self.closed {
            return Err(AcceptError::Closed);
        }
        if hello.hs.params() != &self.config.params {
            return Err(ConfigError::ParamsMismatch.into());
        }
        if let (Some(mine), Some(theirs)) = (self.remote.as_ref(), hello.remote_static.as_ref())
            && mine != theirs
        {
            self.stats.initiations_refused = self.stats.initiations_refused.saturating_add(1);
            return Err(AcceptError::WrongPeer);
        }
        // A duplicate of what we answered: the same response again.
        if let Some(h) = self.handshake.as_ref()
            && h.answered == Some(hello.id)
        {
            self.tx_handshake = true;
            self.stats.handshake_resends = self.stats.handshake_resends.saturating_add(1);
            return Ok(Receipt {
                id: hello.id,
                local_index: h.local_index,
            });
        }
        if let Some(n) = self.next.as_ref()
            && n.answered == Some(hello.id)
        {
            self.tx_next = true;
            self.stats.handshake_resends = self.stats.handshake_resends.saturating_add(1);
            return Ok(Receipt {
                id: hello.id,
                local_index: n.session.local_index,
            });
        }
        if hello.stamp_authentic && self.last_stamp.is_some_and(|s| hello.stamp <= s) {
            self.stats.initiations_refused = self.stats.initiations_refused.saturating_add(1);
            return Err(AcceptError::Stale);
        }
        // A responder handshake in progress (three or more messages) is
        // displaced only by an initiation proven newer.
        if self
            .handshake
            .as_ref()
            .is_some_and(|h| h.role == Role::Responder)
            && !hello.stamp_authentic
        {
            self.stats.initiations_refused = self.stats.initiations_refused.saturating_add(1);
            return Err(AcceptError::Busy);
        }
        // Simultaneous initiation: the lower ephemeral key initiates.
        if let Some(h) = self.handshake.as_ref()
            && h.role == Role::Initiator
            && let Some(mine) = h.hs.local_ephemeral_public()
            && mine.as_slice() < hello.remote_ephemeral.as_slice()
        {
            self.stats.initiations_refused = self.stats.initiations_refused.saturating_add(1);
            return Err(AcceptError::Conflict);
        }
        let Hello {
            mut hs,
            remote_static,
            sender_index,
            stamp,
            stamp_authentic,
            id,
            ..
        } = hello;
        let local_index = self.fresh_index();
        let wire = write_wire(
            &mut hs,
            Repr::HandshakeResponse {
                sender_index: local_index,
                receiver_index: sender_index,
            },
            &[],
        )
        .map_err(AcceptError::Handshake)?;
        // Committed: from here on the link changes.
        if self.remote.is_none() {
            self.remote = remote_static;
        }
        if stamp_authentic {
            self.last_stamp = Some(stamp);
        }
        self.handshake = None;
        self.tx_handshake = false;
        if hs.is_finished() {
            let session = self
                .session_from(hs, Role::Responder, local_index, sender_index, now, None)
                .ok_or(AcceptError::Handshake(HandshakeError::Finished))?;
            self.next = Some(Next {
                session,
                wire,
                answered: Some(id),
                last_read: None,
                deadline: now.saturating_add(self.config.reject_after_time),
                resend_at: None,
                rto: self.config.handshake_rto,
            });
            self.tx_next = true;
        } else {
            self.handshake = Some(Handshake {
                role: Role::Responder,
                hs,
                local_index,
                remote_index: sender_index,
                wire,
                answered: Some(id),
                last_read: None,
                deadline: now.saturating_add(self.config.handshake_timeout),
                resend_at: None,
                rto: self.config.handshake_rto,
                mac1: [0; MAC_LEN],
            });
            self.tx_handshake = true;
        }
        Ok(Receipt { id, local_index })
    }

    /// The session of a finished handshake (`None` if it is not finished,
    /// which callers rule out by checking `is_finished` first).
    fn session_from(
        &self,
        hs: HandshakeState<P>,
        role: Role,
        local_index: u32,
        remote_index: u32,
        now: Instant,
        final_read: Option<InitiationId>,
    ) -> Option<Session<P>> {
        let keys = hs.split().ok()?;
        Some(Session {
            local_index,
            remote_index,
            transport: DatagramTransport::new(keys, self.config.transport, now),
            created: now,
            role,
            sent: 0,
            rekey_fired: false,
            final_read,
        })
    }

    /// Starts a handshake as initiator now, unless one is already in
    /// progress (then nothing changes). The initiation is queued for
    /// `poll_transmit`; the outcome arrives as
    /// [`Event::Established`] or [`Event::HandshakeFailed`].
    ///
    /// # Errors
    /// [`ConnectError::Closed`], [`ConnectError::CannotInitiate`] (the
    /// pattern needs the peer's static key and it is unknown).
    pub fn connect(&mut self, now: Instant) -> Result<(), ConnectError> {
        let now = self.clock.observe(now);
        if self.closed {
            return Err(ConnectError::Closed);
        }
        self.start_handshake(now)
    }

    fn can_initiate(&self) -> bool {
        !key_needs(&self.config.params, true).remote_static || self.remote.is_some()
    }

    fn start_handshake(&mut self, now: Instant) -> Result<(), ConnectError> {
        if !self.can_initiate() {
            return Err(ConnectError::CannotInitiate);
        }
        if self.handshake.is_some()
            || self
                .next
                .as_ref()
                .is_some_and(|n| n.session.role == Role::Initiator)
        {
            return Ok(());
        }
        let params = self.config.params;
        let needs = key_needs(&params, true);
        let mut b = Builder::new(params).prologue(self.config.prologue);
        if needs.local_static {
            b = b.local_static(self.identity.keys().clone());
        }
        if needs.remote_static
            && let Some(r) = self.remote
        {
            b = b.remote_static(r);
        }
        if let Some(psk) = self.identity.psk() {
            for &pos in params.psk_positions() {
                b = b.psk(pos, *psk);
            }
        }
        let mut hs: HandshakeState<P> = b
            .build_initiator(&mut self.rng)
            .map_err(|_| ConnectError::CannotInitiate)?;
        let stamp = now.as_micros().max(self.sent_stamp.saturating_add(1));
        let local_index = self.fresh_index();
        let wire = write_wire(
            &mut hs,
            Repr::HandshakeInitiation {
                sender_index: local_index,
            },
            &stamp.to_be_bytes(),
        )
        .map_err(|_| ConnectError::CannotInitiate)?;
        self.sent_stamp = stamp;
        let rto = self.config.handshake_rto;
        self.handshake = Some(Handshake {
            role: Role::Initiator,
            hs,
            local_index,
            remote_index: 0,
            wire,
            answered: None,
            last_read: None,
            deadline: now.saturating_add(self.config.handshake_timeout),
            resend_at: later(now, rto),
            rto,
            mac1: [0; MAC_LEN],
        });
        self.tx_handshake = true;
        self.stats.handshakes_started = self.stats.handshakes_started.saturating_add(1);
        Ok(())
    }

    fn fresh_index(&mut self) -> u32 {
        let policy = self.config.index;
        for _ in 0..16 {
            let i = policy.make(self.rng.next_u32());
            if i != 0 && !self.owns_index(i) {
                return i;
            }
        }
        // Practically unreachable (at least 8 random bits, at most four live
        // indices); five distinct small candidates, not all taken.
        (1u32..=5)
            .map(|r| policy.make(r))
            .find(|&i| i != 0 && !self.owns_index(i))
            .unwrap_or(policy.make(6))
    }

    /// Whether `index` is one of this link's live local indices.
    pub fn owns_index(&self, index: u32) -> bool {
        self.local_indices().contains(&Some(index))
    }

    /// The live local indices: of the handshake in progress, the next,
    /// current and previous sessions.
    pub fn local_indices(&self) -> [Option<u32>; 4] {
        [
            self.handshake.as_ref().map(|h| h.local_index),
            self.next.as_ref().map(|n| n.session.local_index),
            self.current.as_ref().map(|s| s.local_index),
            self.previous.as_ref().map(|s| s.local_index),
        ]
    }

    /// Encrypts `payload` under the current session into `out` (header
    /// included) and returns the datagram length,
    /// [`datagram_len`](super::datagram_len)`(payload.len())`.
    ///
    /// Counts towards the rekey limits: past `rekey_after_messages`, a new
    /// handshake starts (the datagram still goes out under the current
    /// session).
    ///
    /// # Errors
    /// [`SendError::NoSession`] (a handshake is started when this side can
    /// initiate), [`SendError::PayloadTooLong`],
    /// [`SendError::BufferTooSmall`] (nothing written, nothing changed),
    /// [`SendError::Closed`].
    pub fn send(
        &mut self,
        now: Instant,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        let now = self.clock.observe(now);
        let needed = self.check_send(now, payload.len(), out.len())?;
        let dst = out
            .get_mut(HEADER_LEN..HEADER_LEN.saturating_add(payload.len()))
            .ok_or(SendError::BufferTooSmall(BufferTooSmall {
                needed,
                available: 0,
            }))?;
        dst.copy_from_slice(payload);
        self.seal(now, out, payload.len())
    }

    /// [`send`](Self::send) without a copy: the payload is
    /// `buf[HEADER_LEN..HEADER_LEN + payload_len]` and is encrypted in
    /// place; the header is written in front of it.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_in_place(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, SendError> {
        let now = self.clock.observe(now);
        self.check_send(now, payload_len, buf.len())?;
        self.seal(now, buf, payload_len)
    }

    fn check_send(
        &mut self,
        now: Instant,
        payload_len: usize,
        buf_len: usize,
    ) -> Result<usize, SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        if payload_len > MAX_PAYLOAD {
            return Err(SendError::PayloadTooLong { len: payload_len });
        }
        let needed = datagram_len(payload_len);
        if buf_len < needed {
            return Err(SendError::BufferTooSmall(BufferTooSmall {
                needed,
                available: buf_len,
            }));
        }
        let usable = self
            .current
            .as_ref()
            .is_some_and(|s| s.can_send(now, &self.config));
        if !usable {
            // Start a handshake if we can; the caller retries after
            // Event::Established either way.
            let _ = self.start_handshake(now);
            return Err(SendError::NoSession);
        }
        Ok(needed)
    }

    /// Seals `buf[HEADER_LEN..][..payload_len]` under the current session
    /// (checked usable by `check_send`).
    fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, SendError> {
        let needed = datagram_len(payload_len);
        let Some(s) = self.current.as_mut() else {
            return Err(SendError::NoSession);
        };
        let body = buf
            .get_mut(HEADER_LEN..needed)
            .ok_or(SendError::BufferTooSmall(BufferTooSmall {
                needed,
                available: 0,
            }))?;
        let (nonce, len) = match s.transport.write_message_in_place(body, payload_len) {
            Ok(r) => r,
            Err(TransportError::BufferTooSmall(b)) => return Err(SendError::BufferTooSmall(b)),
            Err(_) => return Err(SendError::NoSession),
        };
        Repr::TransportData {
            receiver_index: s.remote_index,
            counter: nonce,
        }
        .emit(buf)
        .map_err(SendError::BufferTooSmall)?;
        s.sent = s.sent.saturating_add(1);
        let rekey = s.sent >= self.config.rekey_after_messages;
        self.note_sent(now);
        if rekey {
            let _ = self.start_handshake(now);
        }
        Ok(HEADER_LEN.saturating_add(len))
    }

    /// Bookkeeping after any transport datagram went out.
    fn note_sent(&mut self, now: Instant) {
        self.stats.datagrams_sent = self.stats.datagrams_sent.saturating_add(1);
        self.keepalive_at = None;
        self.persistent_at = self.config.persistent_keepalive.and_then(|d| later(now, d));
    }

    /// Handles one datagram from the peer (routed here by its receiver
    /// index, or an initiation the [`Gate`](super::Gate) called a
    /// duplicate). Transport payloads are decrypted in place: the returned
    /// [`Received::Data`] borrows `datagram`.
    ///
    /// # Errors
    /// [`DatagramError`]: the datagram was dropped and counted; nothing
    /// changed (a failed decryption may have scrambled the buffer).
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        datagram: &'a mut [u8],
    ) -> Result<Received<'a>, DatagramError> {
        let now = self.clock.observe(now);
        if self.closed {
            return Err(DatagramError::Closed);
        }
        let result = self.dispatch(now, datagram);
        if let Err(e) = &result {
            self.count_drop(e);
        }
        result
    }

    fn count_drop(&mut self, e: &DatagramError) {
        let s = &mut self.stats;
        let c = match e {
            DatagramError::Header(_) | DatagramError::Malformed => &mut s.dropped_malformed,
            DatagramError::UnknownIndex(_) => &mut s.dropped_unknown_index,
            DatagramError::Unexpected(_) | DatagramError::Closed => &mut s.dropped_unexpected,
            DatagramError::Transport(TransportError::Replay(_)) => &mut s.dropped_replay,
            DatagramError::Transport(TransportError::UnknownEpoch { .. })
            | DatagramError::Expired => &mut s.dropped_expired,
            DatagramError::Transport(_)
            | DatagramError::Handshake(_)
            | DatagramError::BadCookie => &mut s.dropped_auth,
        };
        *c = c.saturating_add(1);
    }

    fn dispatch<'a>(
        &mut self,
        now: Instant,
        datagram: &'a mut [u8],
    ) -> Result<Received<'a>, DatagramError> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(DatagramError::Malformed);
        }
        let (repr, _) = Repr::parse_datagram(datagram).map_err(DatagramError::Header)?;
        match repr {
            Repr::HandshakeInitiation { .. } => self.on_initiation(datagram),
            Repr::HandshakeResponse {
                sender_index,
                receiver_index,
            } => self.on_handshake(now, sender_index, receiver_index, datagram),
            Repr::TransportData {
                receiver_index,
                counter,
            } => self.on_transport(now, receiver_index, counter, datagram),
            Repr::CookieReply { receiver_index } => self.on_cookie(now, receiver_index, datagram),
        }
    }

    fn digest(&self, bytes: &[u8]) -> InitiationId {
        initiation_id::<P>(self.config.params.hash(), bytes)
    }

    /// An initiation reaches a link only as a duplicate of one it answered.
    fn on_initiation<'a>(&mut self, datagram: &[u8]) -> Result<Received<'a>, DatagramError> {
        let signed_len = datagram
            .len()
            .checked_sub(MACS_LEN)
            .filter(|&n| n > HEADER_LEN)
            .ok_or(DatagramError::Malformed)?;
        let id = self.digest(datagram.get(..signed_len).unwrap_or(&[]));
        if self
            .handshake
            .as_ref()
            .is_some_and(|h| h.answered == Some(id))
        {
            self.tx_handshake = true;
        } else if self.next.as_ref().is_some_and(|n| n.answered == Some(id)) {
            self.tx_next = true;
        } else {
            return Err(DatagramError::Unexpected(MessageType::HandshakeInitiation));
        }
        self.stats.handshake_resends = self.stats.handshake_resends.saturating_add(1);
        Ok(Received::Control)
    }

    fn on_handshake<'a>(
        &mut self,
        now: Instant,
        sender_index: u32,
        receiver_index: u32,
        datagram: &[u8],
    ) -> Result<Received<'a>, DatagramError> {
        if datagram.len() > MAX_HANDSHAKE_DATAGRAM {
            return Err(DatagramError::Malformed);
        }
        let digest = self.digest(datagram);
        // A handshake in progress.
        if let Some(h) = self.handshake.as_mut()
            && h.local_index == receiver_index
        {
            if h.last_read == Some(digest) {
                // The peer did not get our answer: send it again.
                self.tx_handshake = true;
                self.stats.handshake_resends = self.stats.handshake_resends.saturating_add(1);
                return Ok(Received::Control);
            }
            if h.hs.is_my_turn() || (h.remote_index != 0 && h.remote_index != sender_index) {
                return Err(DatagramError::Unexpected(MessageType::HandshakeResponse));
            }
            let body = datagram.get(HEADER_LEN..).unwrap_or(&[]);
            let mut payload = [0u8; MAX_HANDSHAKE_PAYLOAD];
            h.hs.read_message(body, &mut payload)
                .map_err(DatagramError::Handshake)?;
            h.remote_index = sender_index;
            h.last_read = Some(digest);
            self.advance(now, digest);
            return Ok(Received::Control);
        }
        // Our last message was lost: the peer repeats the one before.
        if let Some(n) = self.next.as_ref()
            && n.session.local_index == receiver_index
        {
            if n.last_read == Some(digest) {
                self.tx_next = true;
                self.stats.handshake_resends = self.stats.handshake_resends.saturating_add(1);
                return Ok(Received::Control);
            }
            return Err(DatagramError::Unexpected(MessageType::HandshakeResponse));
        }
        // We read the final message and confirmed with a keepalive that
        // was lost: confirm again.
        for s in [self.current.as_ref(), self.previous.as_ref()]
            .into_iter()
            .flatten()
        {
            if s.local_index == receiver_index {
                if s.final_read == Some(digest) {
                    self.tx_keepalive = true;
                    return Ok(Received::Control);
                }
                return Err(DatagramError::Unexpected(MessageType::HandshakeResponse));
            }
        }
        Err(DatagramError::UnknownIndex(receiver_index))
    }

    /// After a handshake message was read: write ours if it is our turn,
    /// and finish the handshake when it is done.
    fn advance(&mut self, now: Instant, read_digest: InitiationId) {
        let Some(mut h) = self.handshake.take() else {
            return;
        };
        // Check the peer's static key as soon as the handshake reveals it;
        // learn it if the link did not know it.
        match (self.remote.as_ref(), h.hs.remote_static()) {
            (Some(want), Some(got)) if want != got => {
                self.fail(h.role, FailReason::UnexpectedPeer);
                return;
            }
            (None, Some(got)) => self.remote = Some(*got),
            _ => {}
        }
        if h.hs.is_finished() {
            // We read the last message: the session is confirmed.
            let role = h.role;
            match self.session_from(
                h.hs,
                role,
                h.local_index,
                h.remote_index,
                now,
                Some(read_digest),
            ) {
                Some(session) => self.install(now, session),
                None => self.fail(role, FailReason::Timeout),
            }
            self.tx_handshake = false;
            self.tx_keepalive = true;
            return;
        }
        let wire = write_wire(
            &mut h.hs,
            Repr::HandshakeResponse {
                sender_index: h.local_index,
                receiver_index: h.remote_index,
            },
            &[],
        );
        let Ok(wire) = wire else {
            self.fail(h.role, FailReason::Timeout);
            return;
        };
        let resend_at = (h.role == Role::Initiator)
            .then(|| later(now, self.config.handshake_rto))
            .flatten();
        if h.hs.is_finished() {
            // We wrote the last message: wait for the peer to use it.
            let role = h.role;
            let Some(session) =
                self.session_from(h.hs, role, h.local_index, h.remote_index, now, None)
            else {
                self.fail(role, FailReason::Timeout);
                return;
            };
            self.next = Some(Next {
                session,
                wire,
                answered: h.answered,
                last_read: Some(read_digest),
                deadline: h.deadline,
                resend_at,
                rto: self.config.handshake_rto,
            });
            self.tx_handshake = false;
            self.tx_next = true;
        } else {
            h.wire = wire;
            h.resend_at = resend_at;
            h.rto = self.config.handshake_rto;
            self.handshake = Some(h);
            self.tx_handshake = true;
        }
    }

    fn fail(&mut self, role: Role, reason: FailReason) {
        self.stats.handshakes_failed = self.stats.handshakes_failed.saturating_add(1);
        self.push_event(Event::HandshakeFailed { role, reason });
    }

    /// Makes `session` current (the old current becomes previous).
    fn install(&mut self, now: Instant, session: Session<P>) {
        let role = session.role;
        let old = self.current.replace(session);
        if old.is_some() {
            self.previous = old;
        }
        self.stats.sessions = self.stats.sessions.saturating_add(1);
        self.persistent_at = self.config.persistent_keepalive.and_then(|d| later(now, d));
        self.push_event(Event::Established {
            role,
            remote_static: self.remote,
            sessions: self.stats.sessions,
        });
    }

    fn push_event(&mut self, e: Event) {
        if self.events.is_full() {
            let _ = self.events.pop_front();
            self.stats.events_dropped = self.stats.events_dropped.saturating_add(1);
        }
        let _ = self.events.push_back(e);
    }

    fn on_transport<'a>(
        &mut self,
        now: Instant,
        receiver_index: u32,
        counter: u64,
        datagram: &'a mut [u8],
    ) -> Result<Received<'a>, DatagramError> {
        if datagram.len() < KEEPALIVE_LEN {
            return Err(DatagramError::Malformed);
        }
        if counter >= self.config.reject_after_messages {
            return Err(DatagramError::Expired);
        }
        let config = self.config;
        let (_, body) = datagram
            .split_at_mut_checked(HEADER_LEN)
            .ok_or(DatagramError::Malformed)?;
        let (which, len) = if let Some(n) = self.next.as_mut()
            && n.session.local_index == receiver_index
        {
            if n.session.is_expired(now, &config) {
                return Err(DatagramError::Expired);
            }
            let len = n
                .session
                .transport
                .read_message_in_place(counter, body)
                .map_err(DatagramError::Transport)?;
            (Slot::Next, len)
        } else if let Some(s) = self.current.as_mut()
            && s.local_index == receiver_index
        {
            if s.is_expired(now, &config) {
                return Err(DatagramError::Expired);
            }
            let len = s
                .transport
                .read_message_in_place(counter, body)
                .map_err(DatagramError::Transport)?;
            (Slot::Current, len)
        } else if let Some(s) = self.previous.as_mut()
            && s.local_index == receiver_index
        {
            if s.is_expired(now, &config) {
                return Err(DatagramError::Expired);
            }
            let len = s
                .transport
                .read_message_in_place(counter, body)
                .map_err(DatagramError::Transport)?;
            (Slot::Previous, len)
        } else {
            return Err(DatagramError::UnknownIndex(receiver_index));
        };
        if which == Slot::Next
            && let Some(n) = self.next.take()
        {
            // The peer uses the new session: it is confirmed.
            self.tx_next = false;
            self.install(now, n.session);
        }
        self.stats.datagrams_received = self.stats.datagrams_received.saturating_add(1);
        if len == 0 {
            self.stats.keepalives_received = self.stats.keepalives_received.saturating_add(1);
            return Ok(Received::Keepalive);
        }
        if self.keepalive_at.is_none() {
            self.keepalive_at = later(now, self.config.keepalive_interval);
        }
        Ok(Received::Data(body.get(..len).unwrap_or(&[])))
    }

    fn on_cookie<'a>(
        &mut self,
        now: Instant,
        receiver_index: u32,
        datagram: &[u8],
    ) -> Result<Received<'a>, DatagramError> {
        if datagram.len() != COOKIE_REPLY_LEN {
            return Err(DatagramError::Malformed);
        }
        let Some(h) = self.handshake.as_ref().filter(|h| {
            h.local_index == receiver_index
                && h.role == Role::Initiator
                && h.hs.message_index() == 1
        }) else {
            return Err(DatagramError::Unexpected(MessageType::CookieReply));
        };
        let mut salt = [0u8; COOKIE_SALT_LEN];
        let mut sealed = [0u8; COOKIE_LEN + TAG_LEN];
        let body = datagram.get(HEADER_LEN..).unwrap_or(&[]);
        let (s, c) = body
            .split_at_checked(COOKIE_SALT_LEN)
            .ok_or(DatagramError::Malformed)?;
        salt.copy_from_slice(s);
        sealed.copy_from_slice(
            c.get(..COOKIE_LEN + TAG_LEN)
                .ok_or(DatagramError::Malformed)?,
        );
        let responder = responder_key_known(&self.config.params)
            .then_some(self.remote.as_ref())
            .flatten();
        let cookie = open_cookie::<P>(
            self.config.params.cipher(),
            self.config.params.hash(),
            responder,
            &salt,
            &h.mac1,
            &sealed,
        )
        .ok_or(DatagramError::BadCookie)?;
        self.cookie = Some((cookie, now));
        self.stats.cookies_received = self.stats.cookies_received.saturating_add(1);
        Ok(Received::Control)
    }

    /// Writes the next queued control datagram (handshake message, cookie
    /// reply resend, keepalive) into `buf` and returns its length, or
    /// `None` when nothing is queued. A buffer of
    /// [`MAX_CONTROL_DATAGRAM`](super::MAX_CONTROL_DATAGRAM) bytes always
    /// suffices. Transport data does not queue here: [`send`](Self::send)
    /// writes it straight into the caller's buffer.
    ///
    /// # Errors
    /// [`BufferTooSmall`]: nothing written, the datagram stays queued.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let now = self.clock.observe(now);
        if self.closed {
            return Ok(None);
        }
        if self.tx_handshake {
            if let Some(n) = self.write_handshake(now, buf)? {
                self.tx_handshake = false;
                return Ok(Some(n));
            }
            self.tx_handshake = false;
        }
        if self.tx_next {
            if let Some(n) = self.next.as_ref() {
                let len = n.wire.len;
                let available = buf.len();
                let dst = buf.get_mut(..len).ok_or(BufferTooSmall {
                    needed: len,
                    available,
                })?;
                dst.copy_from_slice(n.wire.as_bytes());
                self.tx_next = false;
                return Ok(Some(len));
            }
            self.tx_next = false;
        }
        if self.tx_keepalive {
            let usable = self
                .current
                .as_ref()
                .is_some_and(|s| s.can_send(now, &self.config));
            if usable {
                if buf.len() < KEEPALIVE_LEN {
                    return Err(BufferTooSmall {
                        needed: KEEPALIVE_LEN,
                        available: buf.len(),
                    });
                }
                self.tx_keepalive = false;
                match self.seal(now, buf, 0) {
                    Ok(n) => {
                        self.stats.keepalives_sent = self.stats.keepalives_sent.saturating_add(1);
                        return Ok(Some(n));
                    }
                    Err(_) => return Ok(None),
                }
            }
            self.tx_keepalive = false;
        }
        Ok(None)
    }

    /// The handshake message in progress, with fresh MACs on an initiation.
    fn write_handshake(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let cookie = self
            .cookie
            .filter(|(_, at)| now.saturating_duration_since(*at) < COOKIE_LIFETIME)
            .map(|(c, _)| c);
        let hash = self.config.params.hash();
        let responder = responder_key_known(&self.config.params)
            .then_some(self.remote.as_ref())
            .flatten();
        let Some(h) = self.handshake.as_mut() else {
            return Ok(None);
        };
        let len = h.wire.len;
        let initiation = h.wire.is_initiation();
        let total = if initiation {
            len.saturating_add(MACS_LEN)
        } else {
            len
        };
        let available = buf.len();
        let dst = buf.get_mut(..total).ok_or(BufferTooSmall {
            needed: total,
            available,
        })?;
        let (head, macs) = dst.split_at_mut(len);
        head.copy_from_slice(h.wire.as_bytes());
        if initiation {
            let key = mac1_key::<P>(hash, responder);
            let m1 = mac::<P>(hash, &key.0, &[head]);
            h.mac1 = m1;
            let (m1_dst, m2_dst) = macs.split_at_mut(MAC_LEN);
            m1_dst.copy_from_slice(&m1);
            match cookie {
                Some(c) => m2_dst.copy_from_slice(&mac::<P>(hash, &c, &[head, &m1])),
                None => m2_dst.fill(0),
            }
        }
        Ok(Some(total))
    }

    /// The next event, if any. Drain after every call.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Closes the link: every session and handshake is dropped (keys
    /// zeroized), nothing more is sent, and every later input is refused.
    pub fn close(&mut self) {
        self.closed = true;
        self.handshake = None;
        self.next = None;
        self.current = None;
        self.previous = None;
        self.tx_handshake = false;
        self.tx_next = false;
        self.tx_keepalive = false;
        self.keepalive_at = None;
        self.persistent_at = None;
    }

    /// Whether a session can carry data now.
    pub fn is_established(&self) -> bool {
        let now = self.clock.latest();
        self.current
            .as_ref()
            .is_some_and(|s| s.can_send(now, &self.config))
    }

    /// Whether a handshake is in progress (ours or the peer's).
    pub fn is_handshaking(&self) -> bool {
        self.handshake.is_some() || self.next.is_some()
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The peer's static public key, when known (given, or learned in a
    /// handshake).
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.remote.as_ref()
    }

    /// Our static public key.
    pub fn local_static(&self) -> &[u8; KEY_LEN] {
        self.identity.public()
    }

    /// The handshake hash of the current session (channel binding).
    pub fn handshake_hash(&self) -> Option<&[u8]> {
        self.current
            .as_ref()
            .map(|s| s.transport.handshake_hash().as_bytes())
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) wants to
    /// run, or `None`. Calling `handle_timeout` at (or after) it moves it
    /// strictly later or to `None`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut at = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if let Some(h) = self.handshake.as_ref() {
            at(Some(h.deadline));
            at(h.resend_at);
        }
        if let Some(n) = self.next.as_ref() {
            at(Some(n.deadline));
            at(n.resend_at);
        }
        if let Some(s) = self.current.as_ref() {
            at(Some(s.expires(&self.config)));
            if !s.rekey_fired && self.can_initiate() {
                at(Some(s.rekey_at(&self.config)));
            }
            at(s.transport.poll_timeout());
            at(self.keepalive_at);
            at(self.persistent_at);
        }
        if let Some(s) = self.previous.as_ref() {
            at(Some(s.expires(&self.config)));
        }
        t
    }

    /// Fires every timer due at `now`: handshake retransmissions (backoff
    /// doubling up to `handshake_rto_max`) and deadlines, session expiry,
    /// rekey by time, keepalives. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if self.closed {
            return;
        }
        let config = self.config;
        // The handshake in progress.
        if let Some(h) = self.handshake.as_mut() {
            if now >= h.deadline {
                let role = h.role;
                self.handshake = None;
                self.tx_handshake = false;
                self.fail(role, FailReason::Timeout);
            } else if h.resend_at.is_some_and(|t| now >= t) {
                h.rto = h.rto.saturating_add(h.rto).min(config.handshake_rto_max);
                h.resend_at = later(now, h.rto);
                self.tx_handshake = true;
                self.stats.handshake_resends = self.stats.handshake_resends.saturating_add(1);
            }
        }
        // The unconfirmed session.
        if let Some(n) = self.next.as_mut() {
            if now >= n.deadline {
                let role = n.session.role;
                let reason = match role {
                    Role::Initiator => FailReason::Timeout,
                    Role::Responder => FailReason::Unconfirmed,
                };
                self.next = None;
                self.tx_next = false;
                self.fail(role, reason);
            } else if n.resend_at.is_some_and(|t| now >= t) {
                n.rto = n.rto.saturating_add(n.rto).min(config.handshake_rto_max);
                n.resend_at = later(now, n.rto);
                self.tx_next = true;
                self.stats.handshake_resends = self.stats.handshake_resends.saturating_add(1);
            }
        }
        // Expiry.
        if self
            .previous
            .as_ref()
            .is_some_and(|s| s.is_expired(now, &config))
        {
            self.previous = None;
        }
        if self
            .current
            .as_ref()
            .is_some_and(|s| s.is_expired(now, &config))
        {
            // The previous session is older still: gone above.
            self.current = None;
            self.keepalive_at = None;
            self.persistent_at = None;
            self.tx_keepalive = false;
            if self.current.is_none() {
                self.push_event(Event::Expired);
            }
        }
        // Rekey by time.
        let can_initiate = self.can_initiate();
        let mut rekey = false;
        if let Some(s) = self.current.as_mut() {
            if can_initiate && !s.rekey_fired && now >= s.rekey_at(&config) {
                s.rekey_fired = true;
                rekey = true;
            }
            if s.transport.poll_timeout().is_some_and(|t| now >= t) {
                s.transport.handle_timeout(now);
            }
        }
        if rekey {
            let _ = self.start_handshake(now);
        }
        // Keepalives.
        if self.keepalive_at.is_some_and(|t| now >= t) {
            self.keepalive_at = None;
            self.tx_keepalive = self.current.is_some();
        }
        if self.persistent_at.is_some_and(|t| now >= t) {
            self.persistent_at = config.persistent_keepalive.and_then(|d| later(now, d));
            self.tx_keepalive = self.current.is_some();
        }
    }
}

impl<P: Provider> Timed for Link<P> {
    fn poll_timeout(&self) -> Option<Instant> {
        Link::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Link::handle_timeout(self, now);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Next,
    Current,
    Previous,
}

// The initiation payload is the stamp; it must fit the read buffer.
const _: () = assert!(STAMP_LEN <= MAX_HANDSHAKE_PAYLOAD);
