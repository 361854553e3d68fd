//! One Noise session with one neighbour over datagrams, in the spirit of
//! WireGuard: handshake with retransmission, backoff and a deadline,
//! session indices, the datagram transport with its replay window, rekey
//! by count and time with the previous session kept for packets in
//! flight, keepalives, expiry, and rate-limited admission of initiations
//! with cookies under load.
//!
//! Two pieces:
//!
//! * [`Link`]: the sessions with one peer (known by its static key once
//!   the handshake says so). Sans-IO: datagrams, time and commands in;
//!   datagrams, events and a timer out.
//! * [`Gate`]: the responder-side admission in front of all links. An
//!   initiation arrives before any link exists for its sender (in `IK` the
//!   sender's static key is encrypted inside it), so the gate screens it
//!   cheaply, reads it (the Diffie-Hellman work) only within the rate
//!   limits, and hands out a [`Hello`] with the authenticated static key.
//!   The caller, who owns the peer table, then calls [`Link::accept`]
//!   (new peer) or [`Link::accept_hello`] (known peer).
//!
//! # The run loop
//!
//! Inputs: [`Link::handle_datagram`]`(now, datagram)`,
//! [`Link::handle_timeout`]`(now)`, and the commands [`Link::connect`],
//! [`Link::send`] / [`Link::send_in_place`], [`Link::close`]. Outputs,
//! drained after every input: [`Link::poll_transmit`]`(now, buf)` (control
//! datagrams: handshake messages and keepalives),
//! [`Link::poll_event`], [`Link::poll_timeout`].
//!
//! One exception to the crate's convention, for speed: transport data is
//! not queued. [`Link::send`] encrypts straight into the caller's buffer
//! and returns the datagram length, and [`Link::handle_datagram`] decrypts
//! in place and returns the payload as a slice of the caller's buffer, so
//! a forwarded packet is copied by nobody.
//!
//! A driver routes each datagram by its header alone ([`route`]):
//! initiations to the gate, everything else to the link owning the
//! header's receiver index (constant time with
//! [`IndexPolicy::Tagged`]).
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use hyperport::crypto::{Ring as P, x25519::KeyPair};
//! use hyperport::link::{
//!     route, Config, Event, Gate, GateConfig, Identity, Inbound, Link, Received, Route,
//!     MAX_CONTROL_DATAGRAM,
//! };
//! use hyperport::rng::SeededRng;
//! use hyperport::{Duration, Instant};
//!
//! let mut rng = SeededRng::from_u64(7); // seed from the OS in production
//! let (a_keys, b_keys) = (KeyPair::generate(&mut rng), KeyPair::generate(&mut rng));
//! let config = Config::default(); // Noise_IK_25519_ChaChaPoly_BLAKE2s
//! let mut now = Instant::ZERO;
//!
//! // Alice knows Bob's key (IK); Bob has a gate and no link yet.
//! let mut alice: Link<P> =
//!     Link::new(config, Identity::new(a_keys), Some(*b_keys.public()), [1; 32], now)?;
//! let mut gate: Gate<P, 16, 8> =
//!     Gate::new(GateConfig::for_link(&config), Identity::new(b_keys.clone()), [2; 32], now)?;
//! let mut bob: Option<Link<P>> = None;
//!
//! alice.connect(now)?;
//! let (mut to_bob, mut to_alice): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
//! let mut buf = [0u8; MAX_CONTROL_DATAGRAM];
//! let mut got = Vec::new();
//! for _round in 0..4 {
//!     // Drain every output into the other side's inbox.
//!     while let Some(n) = alice.poll_transmit(now, &mut buf)? {
//!         to_bob.push(buf[..n].to_vec());
//!     }
//!     if let Some(b) = bob.as_mut() {
//!         while let Some(n) = b.poll_transmit(now, &mut buf)? {
//!             to_alice.push(buf[..n].to_vec());
//!         }
//!     }
//!     now = now + Duration::from_millis(10);
//!     for mut d in to_bob.drain(..) {
//!         match route(&d)? {
//!             Route::Initiation => match gate.handle_initiation(now, b"alice:1", &d, &mut buf) {
//!                 Inbound::Hello(hello) => {
//!                     assert_eq!(hello.remote_static(), Some(alice.local_static()));
//!                     let (link, receipt) =
//!                         Link::accept(config, Identity::new(b_keys.clone()), [3; 32], now, hello)?;
//!                     gate.remember(receipt);
//!                     bob = Some(link);
//!                 }
//!                 other => panic!("{other:?}"),
//!             },
//!             Route::Index(_) => {
//!                 let b = bob.as_mut().expect("Bob's link");
//!                 if let Received::Data(p) = b.handle_datagram(now, &mut d)? {
//!                     got.push(p.to_vec());
//!                 }
//!             }
//!         }
//!     }
//!     for mut d in to_alice.drain(..) {
//!         alice.handle_datagram(now, &mut d)?;
//!     }
//!     if alice.is_established() && got.is_empty() {
//!         // Data: encrypted straight into the caller's buffer.
//!         let mut out = [0u8; 64];
//!         let n = alice.send(now, b"hello bob", &mut out)?;
//!         to_bob.push(out[..n].to_vec());
//!     }
//! }
//! assert_eq!(got, [b"hello bob".to_vec()]);
//! assert!(matches!(alice.poll_event(), Some(Event::Established { sessions: 1, .. })));
//! let bob = bob.expect("Bob's link");
//! assert!(bob.is_established());
//! assert_eq!(bob.remote_static(), Some(alice.local_static()));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Packet layout
//!
//! Every datagram starts with a 20-byte header; all integers are
//! big-endian. [`wire`] is the codec ([`wire::Header`] view,
//! [`wire::Repr`] parse/emit); `framing::datagram` re-exports it.
//!
//! | offset | size | field | value |
//! |---|---|---|---|
//! | 0 | 1 | version | [`wire::VERSION`] (1); anything else is refused |
//! | 1 | 1 | message type | 1 handshake-initiation, 2 handshake-response, 3 transport-data, 4 cookie-reply |
//! | 2 | 2 | reserved | must be zero |
//! | 4 | 4 | sender index | the sender's session index (types 1 and 2) |
//! | 8 | 4 | receiver index | the session index the receiver chose (types 2, 3, 4) |
//! | 12 | 8 | counter | type 3: the Noise explicit nonce |
//! | 20 | … | body | per type, below |
//!
//! A field a type does not use must be zero:
//!
//! | type | sender index | receiver index | counter | body |
//! |---|---|---|---|---|
//! | 1 handshake-initiation | initiator's index | zero | zero | Noise message 1 (payload: 8-byte timestamp), `mac1` (16), `mac2` (16) |
//! | 2 handshake-response | sender's index | receiver's index | zero | the next Noise handshake message (every message after the first, either direction; empty payload) |
//! | 3 transport-data | zero | recipient's index | nonce | Noise transport message: ciphertext and 16-byte tag; an empty payload (36-byte datagram) is a keepalive |
//! | 4 cookie-reply | zero | the initiation's sender index | zero | salt (16), cookie sealed with its tag (32): 68 bytes in all |
//!
//! The handshake messages are plain Noise: strip the header (and the two
//! MACs of an initiation) and any Noise implementation reads them (a test
//! completes an `IK` handshake with snow). Sizes: [`wire::HEADER_LEN`],
//! [`wire::MACS_LEN`], [`wire::COOKIE_REPLY_LEN`], [`KEEPALIVE_LEN`],
//! [`MAX_HANDSHAKE_DATAGRAM`], [`MAX_CONTROL_DATAGRAM`],
//! [`MAX_DATAGRAM`] (65,535) and [`MAX_PAYLOAD`] (65,499).
//!
//! # States, in words
//!
//! A link holds up to four things at once, each with its own local index:
//! a **handshake** in progress, a **next** session (finished, but the peer
//! has not used it yet), the **current** session (carries our data) and
//! the **previous** one (still decrypts datagrams in flight).
//!
//! * *Idle → handshaking*: [`Link::connect`], a [`Link::send`] with no
//!   usable session, or a rekey timer starts a handshake as initiator: the
//!   initiation is queued and retransmitted with the same bytes after
//!   `handshake_rto`, `2 x`, `4 x`, ... up to `handshake_rto_max`.
//!   [`Link::accept`] / [`Link::accept_hello`] start one as responder: the
//!   response is queued, and sent again whenever the initiation comes
//!   again (the gate routes duplicates to the link, which answers from its
//!   cache with no new Diffie-Hellman work).
//! * *Handshaking → established*: the side that **reads** the last
//!   handshake message (the initiator in two-message patterns such as
//!   `IK`) makes its session current at once, emits
//!   [`Event::Established`] and sends a keepalive so the peer learns it.
//!   The side that **writes** the last message keeps the session as
//!   *next* and makes it current on the first authenticated datagram under
//!   it (then emits [`Event::Established`]); it never sends data under an
//!   unconfirmed session.
//! * *Handshaking → failed*: `handshake_timeout` after the start,
//!   [`Event::HandshakeFailed`] with [`FailReason::Timeout`]; a responder
//!   whose *next* session is never used gives up after
//!   `reject_after_time` ([`FailReason::Unconfirmed`]).
//! * *Established → rekeying*: a new handshake (either side) runs beside
//!   the current session; when it completes, current becomes previous.
//! * *Established → expired*: a session is dropped `reject_after_time`
//!   after it was made; when the last one goes, [`Event::Expired`].
//! * *Any → closed*: [`Link::close`]; keys are zeroized.
//!
//! **Both sides initiating at once** (each has its own initiation
//! outstanding when the other's arrives): the initiation whose ephemeral
//! public key is lower (bytewise) wins. The side holding the winner
//! refuses the other ([`AcceptError::Conflict`]); the other side abandons
//! its own and answers. Both sides compare the same two keys, so they
//! agree without a further message.
//!
//! **Initiation timestamps**: an initiation carries the initiator's `now`
//! (microseconds, strictly increasing per link). When the pattern
//! authenticates it as the initiator's (the first message has `ss`, as in
//! `IK`: [`Hello::is_stamp_authentic`]), a link refuses an initiation not
//! newer than the last one it accepted ([`AcceptError::Stale`]), so a
//! recorded initiation replayed later cannot replace a handshake or win a
//! tie-break. Drivers should count `now` from an origin that survives
//! restarts (Unix time, say); with a boot-relative clock, a restarted peer
//! is refused by an old link until the caller replaces that link (the
//! overlay's rule for reconnects). In patterns whose first message does
//! not authenticate the initiator (`XX`, `NK`, ...) the timestamp is not
//! trusted: a replay the gate's cache no longer holds can displace an
//! unconfirmed *next* session (never the current one), and a responder
//! handshake in progress is never displaced ([`AcceptError::Busy`]).
//!
//! # Timers
//!
//! | timer | field | default |
//! |---|---|---|
//! | first retransmission of a handshake message | [`Config::handshake_rto`] | [`DEFAULT_HANDSHAKE_RTO`] 1 s |
//! | retransmission cap (doubling up to it) | [`Config::handshake_rto_max`] | [`DEFAULT_HANDSHAKE_RTO_MAX`] 16 s |
//! | handshake deadline | [`Config::handshake_timeout`] | [`DEFAULT_HANDSHAKE_TIMEOUT`] 90 s |
//! | rekey by time (session initiator) | [`Config::rekey_after_time`] | [`DEFAULT_REKEY_AFTER_TIME`] 120 s |
//! | ... session responder, this much later | [`Config::responder_rekey_delay`] | [`DEFAULT_RESPONDER_REKEY_DELAY`] 10 s |
//! | session lifetime | [`Config::reject_after_time`] | [`DEFAULT_REJECT_AFTER_TIME`] 180 s |
//! | rekey by count (datagrams sent) | [`Config::rekey_after_messages`] | [`DEFAULT_REKEY_AFTER_MESSAGES`] 2^60 |
//! | hard message limit (counter) | [`Config::reject_after_messages`] | [`DEFAULT_REJECT_AFTER_MESSAGES`] 2^64 - 2^13 - 1 |
//! | passive keepalive (data received, nothing sent) | [`Config::keepalive_interval`] | [`DEFAULT_KEEPALIVE_INTERVAL`] 10 s |
//! | persistent keepalive (nothing sent) | [`Config::persistent_keepalive`] | off |
//! | in-session key epochs | [`Config::transport`] | off |
//! | cookie use by the initiator | [`COOKIE_LIFETIME`] | 110 s |
//! | gate cookie secret rotation | [`COOKIE_SECRET_LIFETIME`] | 120 s |
//!
//! [`Link::poll_timeout`] is the earliest of them; calling
//! [`Link::handle_timeout`] at that instant moves it strictly later or to
//! `None` (a test drives a link through its whole life that way).
//!
//! # Admission
//!
//! The [`Gate`] screens every initiation, cheapest check first, so that a
//! flood costs it hashes, not Diffie-Hellman operations:
//!
//! 1. header and size;
//! 2. `mac1 = HMAC(HASH(LABEL_MAC1 || responder static key), header ||
//!    message)` truncated to 16 bytes (for patterns where the initiator
//!    does not know the responder's key, 32 zero bytes stand in for it);
//! 3. the recent-initiation cache: a duplicate goes to the link that
//!    answered it ([`Inbound::Duplicate`]);
//! 4. **under load** (less than half the total allowance left) and with
//!    [`GateConfig::cookies`]: `mac2 = HMAC(cookie, header || message ||
//!    mac1)` must be valid, where the cookie is `HMAC(secret, source
//!    address)` and the secret changes every [`COOKIE_SECRET_LIFETIME`].
//!    Without it the gate writes a cookie reply (the cookie sealed under
//!    a key derived from the responder's static key and a random salt,
//!    with `mac1` as associated data) and does no further work; the
//!    initiator stores the cookie and its next retransmission carries a
//!    valid `mac2`. A spoofed source never receives its cookie.
//! 5. the per-source and total rates ([`GateConfig::per_source`],
//!    [`GateConfig::total`]), token buckets; the per-source table has a
//!    fixed capacity (`SOURCES`), and an entry is reused only once its
//!    source has its whole allowance back, so forged sources cannot grow
//!    it or push out a source that is still being limited; beyond it,
//!    [`GateDrop::TableFull`];
//! 6. the Noise read, which yields the [`Hello`].
//!
//! Every drop is counted in [`GateStats`]. All hashes and the cookie AEAD
//! use the link's own protocol (its hash and cipher), through the
//! [`Provider`](crate::crypto::Provider).
//!
//! # Supported patterns
//!
//! Interactive patterns (two or more messages) that the initiator starts
//! and whose initiator has no pre-message: `IK` (the default), `XX`,
//! `NK`, `XK`, `IX`, `NN`, `NX`, `XN`, `IN`, the deferred variants
//! (`X1X1`, ...) and their `pskN` forms (one network-wide PSK in the
//! [`Identity`]). Patterns where the responder must know the initiator
//! before reading its first message (`KK`, `KN`, `KX`, ...) cannot be
//! served by a gate; one-way patterns have no return path; `fallback` is
//! not supported. In patterns that do not send the initiator's static key
//! in the first message (`XX`, `XK`), [`Hello::remote_static`] is `None`
//! and [`Event::Established`] names the key at the end. A side can start
//! a rekey only if it knows what the pattern requires of an initiator
//! (the responder of `NK` cannot).
//!
//! # Memory
//!
//! A [`Link`] is one fixed-size value (every buffer inline, no
//! allocation): three sessions of the Noise datagram transport, one
//! handshake state and two copies of a handshake message of at most
//! [`MAX_HANDSHAKE_DATAGRAM`] bytes, and an event queue of
//! [`EVENT_QUEUE`] entries. A [`Gate`] is fixed by its const parameters.

mod config;
mod error;
mod event;
mod gate;
mod mac;
mod machine;
pub mod wire;

pub use config::{
    Config, DEFAULT_HANDSHAKE_RTO, DEFAULT_HANDSHAKE_RTO_MAX, DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_PROTOCOL, DEFAULT_REJECT_AFTER_MESSAGES,
    DEFAULT_REJECT_AFTER_TIME, DEFAULT_REKEY_AFTER_MESSAGES, DEFAULT_REKEY_AFTER_TIME,
    DEFAULT_RESPONDER_REKEY_DELAY, Identity, IndexPolicy, MAX_TAG_BITS,
};
pub use error::{AcceptError, ConfigError, ConnectError, DatagramError, GateDrop, SendError};
pub use event::{Event, FailReason, GateStats, LinkStats, Role};
pub use gate::{
    COOKIE_LIFETIME, COOKIE_SECRET_LIFETIME, DEFAULT_RECENT, DEFAULT_SOURCES, DefaultGate, Gate,
    GateConfig, Hello, Inbound, MAX_SOURCE_LEN, Rate, Receipt,
};
pub use mac::{InitiationId, LABEL_COOKIE, LABEL_ID, LABEL_MAC1};
pub use machine::{EVENT_QUEUE, Link, Received};
pub use wire::{
    KEEPALIVE_LEN, MAX_CONTROL_DATAGRAM, MAX_DATAGRAM, MAX_HANDSHAKE_DATAGRAM, MAX_PAYLOAD, Route,
    datagram_len, route,
};
