//! The responder-side admission in front of every link: [`Gate`].
//!
//! An initiation comes from a peer no link knows yet (in `IK` its static
//! key is inside, encrypted), so it must be screened and read before any
//! link can take it. The gate does the cheap checks first (header, size,
//! `mac1`, the duplicate cache, the cookie under load, the rate limits) and
//! the Diffie-Hellman work last, and hands out a [`Hello`]: the read
//! initiation, with the initiator's authenticated static key when the
//! pattern carries it. The caller (the overlay, which owns the peer table)
//! decides what to do with it: [`Link::accept`](super::Link::accept) for a
//! new peer, [`Link::accept_hello`](super::Link::accept_hello) for a known
//! one, or drop it.

use core::fmt;

use rand_core::RngCore;
use zeroize::Zeroize;

use super::config::{Config, Identity, check_pattern, key_needs, responder_key_known};
use super::error::{ConfigError, GateDrop};
use super::event::GateStats;
use super::mac::{InitiationId, Mac1Key, ct_eq, initiation_id, mac, mac1_key, seal_cookie};
use super::wire::{
    COOKIE_LEN, COOKIE_REPLY_LEN, COOKIE_SALT_LEN, HEADER_LEN, MAC_LEN, MACS_LEN,
    MAX_HANDSHAKE_DATAGRAM, MAX_HANDSHAKE_PAYLOAD, Repr, STAMP_LEN,
};
use crate::crypto::Provider;
use crate::crypto::x25519::KEY_LEN;
use crate::noise::pattern::Token;
use crate::noise::{Builder, HandshakeState, NoiseParams};
use crate::rng::SeededRng;
use crate::time::{Duration, Instant, Monotonic};

/// Default per-source table capacity of [`DefaultGate`] (256 sources,
/// about 12 KiB of the gate's 14.7 KiB).
pub const DEFAULT_SOURCES: usize = 256;
/// Default capacity of the recent-initiation cache of [`DefaultGate`] (64
/// initiations, about 2 KiB).
pub const DEFAULT_RECENT: usize = 64;
/// Longest source address kept verbatim (an IPv6 address and port take
/// 18); a longer one is hashed down to this length.
pub const MAX_SOURCE_LEN: usize = 32;
/// How long a cookie secret is used before a fresh one replaces it (120 s,
/// as WireGuard); cookies made under the previous secret stay valid for one
/// more period.
pub const COOKIE_SECRET_LIFETIME: Duration = Duration::from_secs(120);
/// How long an initiator uses a cookie it received (110 s: ten seconds
/// less than the secret lifetime, so it never presents a cookie the
/// responder has forgotten).
pub const COOKIE_LIFETIME: Duration = Duration::from_secs(110);

/// A gate with the default capacities.
pub type DefaultGate<P> = Gate<P, DEFAULT_SOURCES, DEFAULT_RECENT>;

/// At most `count` events per `per`, in bursts of up to `count` (a token
/// bucket of `count` tokens refilled at `count / per`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Tokens in a full bucket (the burst), at least 1.
    pub count: u32,
    /// Time to refill an empty bucket.
    pub per: Duration,
}

impl Rate {
    /// `count` per `per`.
    pub const fn new(count: u32, per: Duration) -> Self {
        Rate { count, per }
    }

    /// Time one token takes to come back (at least 1 µs).
    fn interval(self) -> Duration {
        let n = u64::from(self.count.max(1));
        Duration::from_micros(self.per.as_micros().checked_div(n).unwrap_or(0).max(1))
    }

    /// The bucket capacity as time (`count` intervals).
    fn capacity(self) -> Duration {
        self.interval().saturating_mul(u64::from(self.count.max(1)))
    }
}

/// A token bucket kept as one instant (the generic cell rate algorithm):
/// `tat` is when the bucket will be full again; a token is available if
/// `tat - now` leaves room for one more interval in the capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bucket {
    tat: Instant,
}

impl Bucket {
    fn can_take(&self, now: Instant, rate: Rate) -> bool {
        let ahead = self.tat.saturating_duration_since(now);
        ahead.saturating_add(rate.interval()) <= rate.capacity()
    }

    fn take(&mut self, now: Instant, rate: Rate) {
        self.tat = self.tat.max(now).saturating_add(rate.interval());
    }

    fn is_full(&self, now: Instant) -> bool {
        self.tat <= now
    }

    /// Whether less than half the bucket is left.
    fn below_half(&self, now: Instant, rate: Rate) -> bool {
        let ahead = self.tat.saturating_duration_since(now);
        ahead.as_micros() > rate.capacity().as_micros() / 2
    }
}

/// The configuration of a [`Gate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GateConfig {
    /// The Noise protocol (must equal the links'); default
    /// [`DEFAULT_PROTOCOL`](super::DEFAULT_PROTOCOL).
    pub params: NoiseParams,
    /// The prologue (must equal the links'); default empty.
    pub prologue: &'static [u8],
    /// Initiations read per source address; default 4 per 4 s (a burst of
    /// four, then one a second). A source over it is dropped
    /// ([`GateDrop::RateLimitedSource`]).
    pub per_source: Rate,
    /// Initiations read in total; default 100 per second. Over it,
    /// [`GateDrop::RateLimitedTotal`]; at half of it the gate is *under
    /// load* (below).
    pub total: Rate,
    /// Under load, demand `mac2` (a cookie proving the source address) and
    /// answer initiations without it with a cookie reply instead of reading
    /// them; default `true`. Off, the gate only drops over the rates.
    pub cookies: bool,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl GateConfig {
    /// The defaults (see each field).
    pub fn new() -> Self {
        GateConfig {
            params: super::config::default_params(),
            prologue: &[],
            per_source: Rate::new(4, Duration::from_secs(4)),
            total: Rate::new(100, Duration::from_secs(1)),
            cookies: true,
        }
    }

    /// The defaults with the protocol and prologue of a link
    /// configuration.
    pub fn for_link(config: &Config) -> Self {
        GateConfig {
            params: config.params,
            prologue: config.prologue,
            ..Self::new()
        }
    }
}

/// A source address as the gate keeps it: up to [`MAX_SOURCE_LEN`] bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct SourceKey {
    bytes: [u8; MAX_SOURCE_LEN],
    len: u8,
}

impl SourceKey {
    fn new<P: Provider>(params: &NoiseParams, source: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_SOURCE_LEN];
        let len = if source.len() <= MAX_SOURCE_LEN {
            if let Some(dst) = bytes.get_mut(..source.len()) {
                dst.copy_from_slice(source);
            }
            source.len()
        } else {
            let d = P::hash(params.hash(), &[source]);
            let n = d.as_bytes().len().min(MAX_SOURCE_LEN);
            if let (Some(dst), Some(src)) = (bytes.get_mut(..n), d.as_bytes().get(..n)) {
                dst.copy_from_slice(src);
            }
            // Marks a hashed key apart from a verbatim one of that length.
            MAX_SOURCE_LEN.saturating_add(1)
        };
        SourceKey {
            bytes,
            len: u8::try_from(len).unwrap_or(u8::MAX),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        let n = usize::from(self.len).min(MAX_SOURCE_LEN);
        self.bytes.get(..n).unwrap_or(&[])
    }
}

#[derive(Clone, Copy)]
struct SourceEntry {
    key: SourceKey,
    bucket: Bucket,
    /// The source proved its address with a valid `mac2`: an unproven
    /// entry never pushes it out.
    proven: bool,
}

#[derive(Clone, Copy)]
struct RecentEntry {
    id: InitiationId,
    /// The local index of the session that answered it.
    local_index: u32,
}

/// What the gate made of an initiation.
// The `Hello` variant carries a whole handshake state (no allocation in the
// core, so it cannot be boxed); it is moved once per admitted initiation,
// which the rates bound.
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
pub enum Inbound<P: Provider> {
    /// Read: decide, then accept it into a link or drop it (see [`Hello`]).
    Hello(Hello<P>),
    /// A duplicate of an initiation already accepted into the link whose
    /// local index this is: hand the datagram to that link's
    /// [`handle_datagram`](super::Link::handle_datagram), which resends its
    /// cached response (no Diffie-Hellman work anywhere).
    Duplicate {
        /// The local index of the link (session) that answered it.
        local_index: u32,
    },
    /// Under load and without a valid `mac2`: `reply[..len]` is a cookie
    /// reply; send it back to the source.
    CookieReply {
        /// Bytes written at the start of the reply buffer.
        len: usize,
    },
    /// Dropped, and counted.
    Dropped(GateDrop),
}

impl<P: Provider> fmt::Debug for Inbound<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inbound::Hello(h) => f.debug_tuple("Hello").field(h).finish(),
            Inbound::Duplicate { local_index } => f
                .debug_struct("Duplicate")
                .field("local_index", local_index)
                .finish(),
            Inbound::CookieReply { len } => {
                f.debug_struct("CookieReply").field("len", len).finish()
            }
            Inbound::Dropped(d) => f.debug_tuple("Dropped").field(d).finish(),
        }
    }
}

/// A read initiation: who calls (when the pattern says), and the responder
/// handshake ready to answer. Consumed by
/// [`Link::accept`](super::Link::accept) or
/// [`Link::accept_hello`](super::Link::accept_hello); dropping it refuses
/// the initiation (its secrets are zeroized).
pub struct Hello<P: Provider> {
    pub(crate) hs: HandshakeState<P>,
    pub(crate) remote_static: Option<[u8; KEY_LEN]>,
    pub(crate) remote_ephemeral: [u8; KEY_LEN],
    pub(crate) sender_index: u32,
    pub(crate) stamp: u64,
    /// The stamp was encrypted under a key only the holder of
    /// `remote_static` could derive (the first message has `ss`).
    pub(crate) stamp_authentic: bool,
    pub(crate) id: InitiationId,
}

impl<P: Provider> fmt::Debug for Hello<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hello")
            .field("remote_static", &self.remote_static)
            .field("sender_index", &self.sender_index)
            .field("stamp", &self.stamp)
            .finish_non_exhaustive()
    }
}

impl<P: Provider> Hello<P> {
    /// The initiator's static public key, authenticated, when the pattern
    /// sends it in the first message (`IK`, `IX`, ...); `None` for
    /// patterns that send it later (`XX`: the link learns it at the end) or
    /// never (`NK`, `NN`).
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        self.remote_static.as_ref()
    }

    /// The initiator's session index (the receiver index of our response).
    pub fn initiator_index(&self) -> u32 {
        self.sender_index
    }

    /// The initiator's timestamp (microseconds of its clock).
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Whether the timestamp is authenticated as the initiator's: its
    /// first message has an `ss` token (`IK`), so only the holder of
    /// [`remote_static`](Self::remote_static) could have sealed it.
    pub fn is_stamp_authentic(&self) -> bool {
        self.stamp_authentic
    }

    /// The initiation's id (its header and Noise message, hashed).
    pub fn id(&self) -> InitiationId {
        self.id
    }

    /// The protocol it was read under.
    pub fn params(&self) -> &NoiseParams {
        self.hs.params()
    }
}

/// Proof that a link answered an initiation: give it to
/// [`Gate::remember`] so that duplicates of that initiation are sent to the
/// link instead of being read again.
#[must_use = "give the receipt to Gate::remember, or duplicates cost a second Diffie-Hellman"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub(crate) id: InitiationId,
    pub(crate) local_index: u32,
}

impl Receipt {
    /// The local index of the session that answers the initiation.
    pub fn local_index(&self) -> u32 {
        self.local_index
    }

    /// The initiation's id.
    pub fn id(&self) -> InitiationId {
        self.id
    }
}

/// Admission in front of every link: screens initiations and reads the
/// ones it admits (module docs of [`link`](super), "Admission").
///
/// `SOURCES` bounds the per-source table, `RECENT` the cache of recent
/// initiation ids. Memory is fixed: about `SOURCES x 48 + RECENT x 24`
/// bytes plus about a kilobyte (14,704 bytes for [`DefaultGate`] on 64-bit
/// targets, either provider). A flood of
/// initiations from forged sources cannot grow it, evicts only entries of
/// sources whose allowance has fully come back, and never touches a link:
/// established sessions live in the links, not here.
pub struct Gate<
    P: Provider,
    const SOURCES: usize = DEFAULT_SOURCES,
    const RECENT: usize = DEFAULT_RECENT,
> {
    config: GateConfig,
    identity: Identity,
    mac1: Mac1Key,
    rng: SeededRng,
    clock: Monotonic,
    total: Bucket,
    sources: [Option<SourceEntry>; SOURCES],
    recent: [Option<RecentEntry>; RECENT],
    recent_next: usize,
    secret: [u8; 32],
    previous_secret: Option<[u8; 32]>,
    secret_born: Instant,
    stats: GateStats,
    _provider: core::marker::PhantomData<P>,
}

impl<P: Provider, const S: usize, const R: usize> Drop for Gate<P, S, R> {
    fn drop(&mut self) {
        self.secret.zeroize();
        if let Some(s) = self.previous_secret.as_mut() {
            s.zeroize();
        }
    }
}

impl<P: Provider, const S: usize, const R: usize> fmt::Debug for Gate<P, S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("stats", &self.stats)
            .field("tracked_sources", &self.tracked_sources())
            .finish_non_exhaustive()
    }
}

impl<P: Provider, const SOURCES: usize, const RECENT: usize> Gate<P, SOURCES, RECENT> {
    /// A gate answering for `identity`, with randomness (cookie secrets,
    /// responder ephemerals, salts) from `seed`.
    ///
    /// # Errors
    /// [`ConfigError::UnsupportedPattern`], [`ConfigError::MissingPsk`].
    pub fn new(
        config: GateConfig,
        identity: Identity,
        seed: [u8; 32],
        now: Instant,
    ) -> Result<Self, ConfigError> {
        check_pattern(&config.params)?;
        if !config.params.psk_positions().is_empty() && identity.psk().is_none() {
            return Err(ConfigError::MissingPsk);
        }
        let responder = responder_key_known(&config.params).then_some(identity.public());
        let mac1 = mac1_key::<P>(config.params.hash(), responder);
        let mut rng = SeededRng::from_seed(seed);
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        let mut clock = Monotonic::new();
        let now = clock.observe(now);
        Ok(Gate {
            config,
            identity,
            mac1,
            rng,
            clock,
            total: Bucket::default(),
            sources: [None; SOURCES],
            recent: [None; RECENT],
            recent_next: 0,
            secret,
            previous_secret: None,
            secret_born: now,
            stats: GateStats::default(),
            _provider: core::marker::PhantomData,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &GateStats {
        &self.stats
    }

    /// Sources in the per-source table (at most `SOURCES`).
    pub fn tracked_sources(&self) -> usize {
        self.sources.iter().filter(|e| e.is_some()).count()
    }

    /// Whether the gate is under load at `now`: less than half its total
    /// allowance left, or no room in the per-source table for a new
    /// source. Initiations then need a valid `mac2` when
    /// [`GateConfig::cookies`] is on.
    pub fn is_under_load(&self, now: Instant) -> bool {
        self.total.below_half(now, self.config.total) || self.free_slot(now).is_none()
    }

    /// A slot a new source may take: empty, or held by a source whose
    /// allowance has fully come back (forgetting it loses nothing).
    fn free_slot(&self, now: Instant) -> Option<usize> {
        self.sources
            .iter()
            .position(|e| e.as_ref().is_none_or(|e| e.bucket.is_full(now)))
    }

    /// Records that the link behind `receipt` answered its initiation, so
    /// that duplicates go to it ([`Inbound::Duplicate`]).
    pub fn remember(&mut self, receipt: Receipt) {
        if let Some(e) = self
            .recent
            .iter_mut()
            .flatten()
            .find(|e| e.id == receipt.id)
        {
            e.local_index = receipt.local_index;
        } else {
            self.push_recent(receipt.id, receipt.local_index);
        }
    }

    fn push_recent(&mut self, id: InitiationId, local_index: u32) {
        if let Some(slot) = self.recent.get_mut(self.recent_next) {
            *slot = Some(RecentEntry { id, local_index });
        }
        self.recent_next = self
            .recent_next
            .saturating_add(1)
            .checked_rem(RECENT)
            .unwrap_or(0);
    }

    fn rotate_secret(&mut self, now: Instant) {
        if now.saturating_duration_since(self.secret_born) < COOKIE_SECRET_LIFETIME {
            return;
        }
        let two = COOKIE_SECRET_LIFETIME.saturating_mul(2);
        let keep_previous = now.saturating_duration_since(self.secret_born) < two;
        let mut fresh = [0u8; 32];
        self.rng.fill_bytes(&mut fresh);
        let old = core::mem::replace(&mut self.secret, fresh);
        if let Some(p) = self.previous_secret.as_mut() {
            p.zeroize();
        }
        self.previous_secret = keep_previous.then_some(old);
        self.secret_born = now;
    }

    fn cookie_for(&self, secret: &[u8; 32], source: &SourceKey) -> [u8; COOKIE_LEN] {
        mac::<P>(self.config.params.hash(), secret, &[source.as_bytes()])
    }

    /// Screens an initiation datagram from `source` (the caller's bytes for
    /// the sender's address: a cookie is bound to them, and the per-source
    /// rate is kept per distinct value) and reads it if it passes.
    ///
    /// In order: header and size; `mac1` (one hash, no Diffie-Hellman);
    /// the cache of recent initiations ([`Inbound::Duplicate`]); under
    /// load, `mac2` (else a cookie reply written into `reply`, which needs
    /// [`COOKIE_REPLY_LEN`] bytes); the per-source and total rates; then
    /// the Noise message is read (the Diffie-Hellman work) and the
    /// initiator's timestamp checked for form. Bounded work: a scan of
    /// `SOURCES + RECENT` small entries and at most one handshake read.
    pub fn handle_initiation(
        &mut self,
        now: Instant,
        source: &[u8],
        datagram: &[u8],
        reply: &mut [u8],
    ) -> Inbound<P> {
        let now = self.clock.observe(now);
        let hash = self.config.params.hash();
        // Header and size.
        let sender_index = match Repr::parse_datagram(datagram) {
            Ok((Repr::HandshakeInitiation { sender_index }, _)) => sender_index,
            _ => {
                self.stats.dropped_malformed = self.stats.dropped_malformed.saturating_add(1);
                return Inbound::Dropped(GateDrop::NotInitiation);
            }
        };
        if datagram.len() > MAX_HANDSHAKE_DATAGRAM
            || datagram.len() < HEADER_LEN.saturating_add(MACS_LEN)
        {
            self.stats.dropped_malformed = self.stats.dropped_malformed.saturating_add(1);
            return Inbound::Dropped(GateDrop::Malformed);
        }
        let body_end = datagram.len().saturating_sub(MACS_LEN);
        let mac1_end = body_end.saturating_add(MAC_LEN);
        let (Some(signed), Some(mac1_bytes), Some(mac2_bytes), Some(with_mac1)) = (
            datagram.get(..body_end),
            datagram.get(body_end..mac1_end),
            datagram.get(mac1_end..),
            datagram.get(..mac1_end),
        ) else {
            self.stats.dropped_malformed = self.stats.dropped_malformed.saturating_add(1);
            return Inbound::Dropped(GateDrop::Malformed);
        };
        // mac1: the sender knows our public key (or the protocol).
        let expect1 = mac::<P>(hash, &self.mac1.0, &[signed]);
        if !ct_eq(&expect1, mac1_bytes) {
            self.stats.dropped_mac1 = self.stats.dropped_mac1.saturating_add(1);
            return Inbound::Dropped(GateDrop::BadMac1);
        }
        // Duplicates of an initiation a link answered: no new work at all.
        // (A duplicate of one that was refused is read again, within the
        // rates: the refusal may have been temporary, `AcceptError::Busy`.)
        let id = initiation_id::<P>(hash, signed);
        if let Some(local_index) = self
            .recent
            .iter()
            .flatten()
            .find(|e| e.id == id)
            .map(|e| e.local_index)
        {
            self.stats.duplicates = self.stats.duplicates.saturating_add(1);
            return Inbound::Duplicate { local_index };
        }
        let key = SourceKey::new::<P>(&self.config.params, source);
        // Under load: the source must prove its address with mac2.
        let mut proven = false;
        if self.config.cookies && self.is_under_load(now) {
            self.rotate_secret(now);
            let current = self.cookie_for(&self.secret, &key);
            let mut ok = ct_eq(&mac::<P>(hash, &current, &[with_mac1]), mac2_bytes);
            if !ok && let Some(prev) = self.previous_secret {
                let old = self.cookie_for(&prev, &key);
                ok = ct_eq(&mac::<P>(hash, &old, &[with_mac1]), mac2_bytes);
            }
            proven = ok;
            if !ok {
                let mut m1 = [0u8; MAC_LEN];
                m1.copy_from_slice(mac1_bytes);
                return match self.write_cookie_reply(sender_index, &m1, &current, reply) {
                    Some(len) => {
                        self.stats.cookie_replies = self.stats.cookie_replies.saturating_add(1);
                        Inbound::CookieReply { len }
                    }
                    None => {
                        self.stats.dropped_reply_buffer =
                            self.stats.dropped_reply_buffer.saturating_add(1);
                        Inbound::Dropped(GateDrop::CookieReplyBufferTooSmall)
                    }
                };
            }
        }
        // Rates: per source, then in total; the entry is made only if both
        // have a token.
        let rate = self.config.per_source;
        let slot = self
            .sources
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.key == key));
        if let Some(i) = slot
            && let Some(Some(e)) = self.sources.get(i)
            && !e.bucket.can_take(now, rate)
        {
            self.stats.dropped_rate_source = self.stats.dropped_rate_source.saturating_add(1);
            return Inbound::Dropped(GateDrop::RateLimitedSource);
        }
        if !self.total.can_take(now, self.config.total) {
            self.stats.dropped_rate_total = self.stats.dropped_rate_total.saturating_add(1);
            return Inbound::Dropped(GateDrop::RateLimitedTotal);
        }
        let slot = match slot {
            Some(i) => i,
            None => {
                // A free slot; else, for a source that proved its address,
                // one held by a source that did not (forged sources never
                // come back with a cookie).
                let free = self.free_slot(now).or_else(|| {
                    proven
                        .then(|| {
                            self.sources
                                .iter()
                                .position(|e| e.as_ref().is_some_and(|e| !e.proven))
                        })
                        .flatten()
                });
                match free {
                    Some(i) => {
                        if let Some(e) = self.sources.get_mut(i) {
                            *e = Some(SourceEntry {
                                key,
                                bucket: Bucket::default(),
                                proven,
                            });
                        }
                        i
                    }
                    None => {
                        self.stats.dropped_table_full =
                            self.stats.dropped_table_full.saturating_add(1);
                        return Inbound::Dropped(GateDrop::TableFull);
                    }
                }
            }
        };
        if let Some(Some(e)) = self.sources.get_mut(slot) {
            e.bucket.take(now, rate);
            e.proven |= proven;
        }
        self.total.take(now, self.config.total);
        // The Diffie-Hellman work.
        match self.read(signed, sender_index, id) {
            Ok(hello) => {
                self.stats.admitted = self.stats.admitted.saturating_add(1);
                Inbound::Hello(hello)
            }
            Err(d) => {
                self.stats.dropped_handshake = self.stats.dropped_handshake.saturating_add(1);
                Inbound::Dropped(d)
            }
        }
    }

    fn read(
        &mut self,
        signed: &[u8],
        sender_index: u32,
        id: InitiationId,
    ) -> Result<Hello<P>, GateDrop> {
        let params = self.config.params;
        let needs = key_needs(&params, false);
        let mut b = Builder::new(params).prologue(self.config.prologue);
        if needs.local_static {
            b = b.local_static(self.identity.keys().clone());
        }
        if let Some(psk) = self.identity.psk() {
            for &pos in params.psk_positions() {
                b = b.psk(pos, *psk);
            }
        }
        let mut hs: HandshakeState<P> = b
            .build_responder(&mut self.rng)
            .map_err(|_| GateDrop::Malformed)?;
        let message = signed.get(HEADER_LEN..).unwrap_or(&[]);
        let mut payload = [0u8; MAX_HANDSHAKE_PAYLOAD];
        let n = hs
            .read_message(message, &mut payload)
            .map_err(GateDrop::Handshake)?;
        let stamp: [u8; STAMP_LEN] = payload
            .get(..n)
            .and_then(|p| p.try_into().ok())
            .ok_or(GateDrop::BadStamp)?;
        let mut re = [0u8; KEY_LEN];
        re.copy_from_slice(message.get(..KEY_LEN).ok_or(GateDrop::Malformed)?);
        let remote_static = hs.remote_static().copied();
        let stamp_authentic = remote_static.is_some()
            && params
                .pattern()
                .messages()
                .first()
                .is_some_and(|m| m.tokens().contains(&Token::SS));
        Ok(Hello {
            hs,
            remote_static,
            remote_ephemeral: re,
            sender_index,
            stamp: u64::from_be_bytes(stamp),
            stamp_authentic,
            id,
        })
    }

    fn write_cookie_reply(
        &mut self,
        receiver_index: u32,
        mac1: &[u8; MAC_LEN],
        cookie: &[u8; COOKIE_LEN],
        reply: &mut [u8],
    ) -> Option<usize> {
        let out = reply.get_mut(..COOKIE_REPLY_LEN)?;
        let mut salt = [0u8; COOKIE_SALT_LEN];
        self.rng.fill_bytes(&mut salt);
        let responder = responder_key_known(&self.config.params).then_some(self.identity.public());
        let sealed = seal_cookie::<P>(
            self.config.params.cipher(),
            self.config.params.hash(),
            responder,
            &salt,
            mac1,
            cookie,
        );
        Repr::CookieReply { receiver_index }.emit(out).ok()?;
        let (salt_dst, rest) = out.get_mut(HEADER_LEN..)?.split_at_mut(COOKIE_SALT_LEN);
        salt_dst.copy_from_slice(&salt);
        rest.copy_from_slice(&sealed);
        Some(COOKIE_REPLY_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DefaultProvider as P;

    #[test]
    fn token_bucket_is_a_rate() {
        // 4 per 4 s: a burst of four, then one a second.
        let rate = Rate::new(4, Duration::from_secs(4));
        let mut b = Bucket::default();
        let t0 = Instant::from_secs(10);
        assert!(b.is_full(t0));
        for _ in 0..4 {
            assert!(b.can_take(t0, rate));
            b.take(t0, rate);
        }
        assert!(!b.can_take(t0, rate));
        assert!(b.below_half(t0, rate));
        let t1 = t0 + Duration::from_millis(999);
        assert!(!b.can_take(t1, rate));
        let t1 = t0 + Duration::from_secs(1);
        assert!(b.can_take(t1, rate));
        b.take(t1, rate);
        assert!(!b.can_take(t1, rate));
        // Full again four intervals after the last take.
        assert!(!b.is_full(t1 + Duration::from_millis(3_999)));
        assert!(b.is_full(t1 + Duration::from_secs(4)));
        // A zero rate still lets one through per `per` (count counts as 1).
        let one = Rate::new(0, Duration::from_secs(1));
        let mut c = Bucket::default();
        assert!(c.can_take(t0, one));
        c.take(t0, one);
        assert!(!c.can_take(t0, one));
    }

    #[test]
    fn long_sources_are_hashed_apart() {
        let params = super::super::config::default_params();
        let short = SourceKey::new::<P>(&params, &[7; 32]);
        let long = SourceKey::new::<P>(&params, &[7; 33]);
        let long2 = SourceKey::new::<P>(&params, &[8; 33]);
        assert_eq!(short.as_bytes(), &[7; 32]);
        assert!(short != long && long != long2);
        assert_eq!(long.as_bytes().len(), MAX_SOURCE_LEN);
    }
}
