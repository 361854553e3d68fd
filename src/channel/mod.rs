//! A framed Noise channel over a reliable byte stream: the one machine every
//! stream adapter (tokio, WASI, embedded) drives.
//!
//! A [`Channel`] runs a Noise handshake (any pattern the
//! [`noise::Builder`](crate::noise::Builder) accepts) and then the stream
//! transport, over frames of the crate's stream framing. Each frame carries
//! exactly one Noise message:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | `n`, the message length, big-endian `u32`, at most the receiver's frame cap |
//! | 4 | `n` | one Noise message: a handshake message, or a transport message (ciphertext and 16-byte tag) |
//!
//! So any two adapters of this crate, and any correct Noise implementation
//! that frames the same way (`struct.pack('>I', len(msg)) + msg` in Python),
//! interoperate.
//!
//! # Bounds
//!
//! * The receive storage `S` is the caller's (`[u8; N]` in firmware, a
//!   `Vec<u8>` hosted); its length is the **frame cap**, at most
//!   [`MAX_MESSAGE_LEN`] (65,535, the largest Noise message): extra storage
//!   is left unused. A prefix that declares more than the cap is refused as
//!   soon as its 4 bytes are read, before any body byte is read or stored.
//! * Bytes are fed in whatever chunks the transport delivers; nothing is
//!   committed for a declared length beyond what actually arrived.
//! * A transport message carries at most [`MAX_PAYLOAD_LEN`] (65,519) bytes
//!   of payload, and at most [`Channel::max_payload_len`] if the receiver's
//!   cap is smaller (peers agree on their caps out of band).
//! * The channel has no timers: the driver bounds the handshake with its own
//!   deadline (every adapter of this crate does), and closes the connection
//!   when it passes.
//!
//! # Failure is final
//!
//! Any framing error, any refused handshake message, any failed
//! authentication of a transport message, a peer key other than the pinned
//! one, or the end of the stream inside the handshake **closes** the
//! channel ([`RecvError::is_fatal`]): every later call returns
//! [`RecvError::Closed`] / [`SendError::Closed`], and the driver closes the
//! connection without reading from it again. Caller mistakes (a buffer too
//! small, a message before the handshake is done) change nothing.
//!
//! # The run loop
//!
//! ```
//! # #[cfg(any(feature = "ring", feature = "rustcrypto"))] {
//! use hyperport::channel::{Channel, Incoming};
//! use hyperport::crypto::DefaultProvider as P;
//! use hyperport::crypto::x25519::KeyPair;
//! use hyperport::noise::Builder;
//! use hyperport::rng::SeededRng;
//!
//! const NAME: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
//! let mut rng = SeededRng::from_seed([7; 32]);
//! let hs_a = Builder::from_name(NAME)?
//!     .local_static(KeyPair::generate(&mut rng))
//!     .build_initiator::<P>(&mut rng)?;
//! let hs_b = Builder::from_name(NAME)?
//!     .local_static(KeyPair::generate(&mut rng))
//!     .build_responder::<P>(&mut rng)?;
//! let mut a = Channel::new(hs_a, vec![0u8; 65535])?;
//! let mut b = Channel::new(hs_b, vec![0u8; 65535])?;
//!
//! // Two byte pipes stand in for a TCP connection.
//! let (mut a_to_b, mut b_to_a) = (Vec::new(), Vec::new());
//! let mut out = vec![0u8; 65535 + 4];
//! let mut plain = vec![0u8; 65535];
//! while !(a.is_established() && b.is_established()) {
//!     // Write whatever handshake message is due...
//!     for (ch, pipe) in [(&mut a, &mut a_to_b), (&mut b, &mut b_to_a)] {
//!         while let Some(n) = ch.poll_handshake(&[], &mut out)? {
//!             pipe.extend_from_slice(&out[..n]);
//!         }
//!     }
//!     // ...and feed what arrived, in any chunks.
//!     for (ch, pipe) in [(&mut b, &mut a_to_b), (&mut a, &mut b_to_a)] {
//!         let mut input = &pipe[..];
//!         while let Some(_ev) = ch.handle_input(&mut input, &mut plain)? {}
//!         pipe.clear();
//!     }
//! }
//! assert_eq!(a.handshake_hash(), b.handshake_hash());
//!
//! let n = a.write_message(b"hello", &mut out)?;
//! let mut input = &out[..n];
//! assert_eq!(b.handle_input(&mut input, &mut plain)?, Some(Incoming::Message(5)));
//! assert_eq!(&plain[..5], b"hello");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Large messages can skip the copy through the driver's read buffer: while
//! [`Channel::read_buffer`] is `Some`, read from the transport straight into
//! it and report the count with [`Channel::handle_filled`]. A task per
//! direction can own one half each after [`Channel::split`].

mod error;

use core::fmt;

pub use error::{RecvError, SendError};

#[cfg(feature = "mlkem")]
use crate::crypto::mlkem;
use crate::crypto::x25519::KEY_LEN;
use crate::crypto::{Digest, Provider};
use crate::error::BufferTooSmall;
use crate::framing::{self, ConfigError, DecodeError, Decoder};
use crate::noise::HandshakeState;
use crate::noise::transport::{self, RecvHalf, SendHalf, Transport};

pub use crate::framing::PREFIX_LEN;
pub use crate::noise::cipher::{MAX_MESSAGE_LEN, MAX_PLAINTEXT_LEN as MAX_PAYLOAD_LEN, TAG_LEN};

/// Bytes a transport frame adds to its payload: the 4-byte prefix and the
/// 16-byte tag.
pub const FRAME_OVERHEAD: usize = PREFIX_LEN + TAG_LEN;

/// The largest frame on the wire: a prefix and a message of
/// [`MAX_MESSAGE_LEN`] bytes. An output buffer of this size fits any frame.
pub const MAX_FRAME_LEN: usize = PREFIX_LEN + MAX_MESSAGE_LEN;

/// What [`Channel::handle_input`] delivered. The payload is in the caller's
/// plaintext buffer, `plain[..len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming {
    /// The payload of a handshake message (often empty). After the last
    /// handshake message, [`Channel::is_established`] is true.
    HandshakePayload(usize),
    /// The payload of a transport message.
    Message(usize),
}

// The handshake state is the largest phase and lives inline: the core does
// not allocate, so it cannot be boxed; the transport reuses its space.
#[allow(clippy::large_enum_variant)]
enum Phase<P: Provider> {
    Handshake(HandshakeState<P>),
    Open { tx: SendHalf<P>, rx: RecvHalf<P> },
    Closed,
}

/// What stays known about the handshake once the transport runs.
#[derive(Clone)]
struct Session {
    remote_static: Option<[u8; KEY_LEN]>,
    handshake_hash: Digest,
}

/// The peer's static keys a channel requires (its pins).
#[derive(Clone, Default)]
struct Pins {
    x25519: Option<[u8; KEY_LEN]>,
    #[cfg(feature = "mlkem")]
    kem: Option<mlkem::PublicKey>,
}

impl Pins {
    fn any(&self) -> bool {
        #[cfg(feature = "mlkem")]
        if self.kem.is_some() {
            return true;
        }
        self.x25519.is_some()
    }

    /// Whether a key the handshake knows so far differs from its pin.
    fn contradicted_by<P: Provider>(&self, hs: &HandshakeState<P>) -> bool {
        if let (Some(want), Some(got)) = (&self.x25519, hs.remote_static())
            && want != got
        {
            return true;
        }
        #[cfg(feature = "mlkem")]
        if let (Some(want), Some(got)) = (&self.kem, hs.remote_static_kem())
            && want != got
        {
            return true;
        }
        false
    }

    /// Whether the finished handshake revealed every pinned key, equal to
    /// its pin.
    fn met_by<P: Provider>(&self, hs: &HandshakeState<P>) -> bool {
        if self.x25519.is_some() && hs.remote_static() != self.x25519.as_ref() {
            return false;
        }
        #[cfg(feature = "mlkem")]
        if self.kem.is_some() && hs.remote_static_kem() != self.kem.as_ref() {
            return false;
        }
        true
    }
}

/// A framed Noise channel (module docs): handshake, then transport, over
/// one byte stream. `S` is the receive storage; its length is the frame cap.
pub struct Channel<P: Provider, S> {
    phase: Phase<P>,
    decoder: Decoder<S>,
    cap: usize,
    pins: Pins,
    session: Option<Session>,
    transport_config: transport::Config,
}

impl<P: Provider, S> fmt::Debug for Channel<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Handshake(_) => "handshake",
            Phase::Open { .. } => "open",
            Phase::Closed => "closed",
        };
        f.debug_struct("Channel")
            .field("phase", &phase)
            .field("frame_cap", &self.cap)
            .field("pinned", &self.pins.any())
            .finish_non_exhaustive()
    }
}

/// The decoder's cap for storage of `len` bytes.
fn cap_for(len: usize) -> usize {
    len.min(MAX_MESSAGE_LEN)
}

impl<P: Provider, S: AsMut<[u8]>> Channel<P, S> {
    /// A channel that runs `handshake` (either role, any pattern) and then
    /// the stream transport with the default [`transport::Config`] (plain
    /// Noise: no automatic rekey). `storage` receives frames split across
    /// reads; its length (at most [`MAX_MESSAGE_LEN`] is used) is the frame
    /// cap.
    ///
    /// # Errors
    /// [`ConfigError`] only if `storage` reports a shorter length on its
    /// second `as_mut` call than on its first (a broken `AsMut`).
    pub fn new(handshake: HandshakeState<P>, storage: S) -> Result<Self, ConfigError> {
        Self::with_transport_config(handshake, storage, transport::Config::default())
    }

    /// As [`new`](Self::new), with a transport configuration (both peers
    /// must use the same automatic rekey interval).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_transport_config(
        handshake: HandshakeState<P>,
        mut storage: S,
        config: transport::Config,
    ) -> Result<Self, ConfigError> {
        let cap = cap_for(storage.as_mut().len());
        // `cap <= MAX_MESSAGE_LEN < u32::MAX`.
        let max = u32::try_from(cap).unwrap_or(0);
        let decoder = Decoder::new(framing::Config::new().with_max_frame_len(max), storage)?;
        Ok(Channel {
            phase: Phase::Handshake(handshake),
            decoder,
            cap,
            pins: Pins::default(),
            session: None,
            transport_config: config,
        })
    }
}

impl<P: Provider, S: AsMut<[u8]>> Channel<P, S> {
    /// Requires the peer's static key to be `key`: when the handshake reveals
    /// another key (or finishes without revealing one), the channel closes
    /// with [`RecvError::UnexpectedPeer`]. The check runs as soon as the key
    /// is known, before this side writes another message.
    pub fn require_remote_static(&mut self, key: [u8; KEY_LEN]) {
        self.pins.x25519 = Some(key);
    }

    /// Requires the peer's static ML-KEM-768 public key to be `key`
    /// (`hybrid*` and `pq*` patterns; feature `mlkem`), as
    /// [`require_remote_static`](Self::require_remote_static) does for the
    /// X25519 key: another key, or a handshake that finishes without
    /// revealing one, closes the channel with [`RecvError::UnexpectedPeer`].
    /// In a hybrid pattern pin both keys: the X25519 pin alone does not hold
    /// against an attacker who can break X25519, which is what the hybrid
    /// handshake is for. The pin is stored in the channel (1,184 bytes).
    #[cfg(feature = "mlkem")]
    pub fn require_remote_static_kem(&mut self, key: &mlkem::PublicKey) {
        self.pins.kem = Some(key.clone());
    }

    /// Whether the handshake is finished and transport messages flow.
    pub fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// Whether a fatal error closed the channel.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The peer's static key, once the handshake revealed it (or the builder
    /// was given it).
    pub fn remote_static(&self) -> Option<&[u8; KEY_LEN]> {
        match &self.phase {
            Phase::Handshake(hs) => hs.remote_static(),
            _ => self.session.as_ref()?.remote_static.as_ref(),
        }
    }

    /// The handshake hash (channel binding), once established.
    pub fn handshake_hash(&self) -> Option<&[u8]> {
        self.session.as_ref().map(|s| s.handshake_hash.as_bytes())
    }

    /// The frame cap: the largest message this side accepts.
    pub fn max_frame_len(&self) -> usize {
        self.cap
    }

    /// Bytes of an incomplete frame held (prefix bytes included); 0 between
    /// frames. A driver that bounds a frame's arrival with a deadline arms
    /// it while this is non-zero.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Whether the channel stands between two frames (nothing held).
    pub fn is_at_frame_boundary(&self) -> bool {
        self.decoder.is_at_frame_boundary()
    }

    /// The largest payload a received message can carry (the frame cap less
    /// the tag): the plaintext buffer passed to
    /// [`handle_input`](Self::handle_input) must be at least this long.
    pub fn max_payload_len(&self) -> usize {
        self.cap.saturating_sub(TAG_LEN)
    }

    /// Length of the frame [`poll_handshake`](Self::poll_handshake) would
    /// write for a payload of `payload_len` bytes, or `None` when no
    /// handshake message is due from this side.
    pub fn handshake_frame_len(&self, payload_len: usize) -> Option<usize> {
        match &self.phase {
            Phase::Handshake(hs) if !hs.is_finished() => hs
                .message_len(payload_len)
                .map(|n| n.saturating_add(PREFIX_LEN)),
            _ => None,
        }
    }

    /// Writes the next handshake message, carrying `payload`, as a whole
    /// frame into `out` when it is this side's turn; `Ok(None)` otherwise.
    /// Call it after every input (and once at the start: the initiator
    /// speaks first) until it returns `None`.
    ///
    /// # Errors
    /// [`SendError::BufferTooSmall`], [`SendError::PayloadTooLong`] (nothing
    /// changes); [`SendError::Handshake`] if the handshake cannot write
    /// (the channel closes); [`SendError::Closed`].
    pub fn poll_handshake(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<Option<usize>, SendError> {
        let hs = match &mut self.phase {
            Phase::Handshake(hs) if hs.is_my_turn() && !hs.is_finished() => hs,
            Phase::Closed => return Err(SendError::Closed),
            _ => return Ok(None),
        };
        let Some(msg_len) = hs.message_len(payload.len()) else {
            return Ok(None);
        };
        if msg_len > MAX_MESSAGE_LEN {
            return Err(SendError::PayloadTooLong {
                len: payload.len(),
                max: MAX_MESSAGE_LEN.saturating_sub(msg_len.saturating_sub(payload.len())),
            });
        }
        let frame_len = msg_len.saturating_add(PREFIX_LEN);
        let Some((prefix, body)) = out
            .get_mut(..frame_len)
            .and_then(|f| f.split_first_chunk_mut::<PREFIX_LEN>())
        else {
            return Err(SendError::BufferTooSmall(BufferTooSmall {
                needed: frame_len,
                available: out.len(),
            }));
        };
        match hs.write_message(payload, body) {
            Ok(n) => {
                // `n == msg_len <= MAX_MESSAGE_LEN`, which fits a u32.
                *prefix = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
                if hs.is_finished() {
                    self.establish();
                }
                Ok(Some(n.saturating_add(PREFIX_LEN)))
            }
            Err(e) => {
                self.close();
                Err(SendError::Handshake(e))
            }
        }
    }

    /// Encrypts `payload` as one transport message and writes the whole
    /// frame (prefix, ciphertext, tag: `payload.len() + FRAME_OVERHEAD`
    /// bytes) into `out`; returns its length.
    ///
    /// # Errors
    /// [`SendError::NotEstablished`], [`SendError::PayloadTooLong`],
    /// [`SendError::BufferTooSmall`], [`SendError::Transport`] (nonces
    /// exhausted), [`SendError::Closed`]; nothing is written.
    pub fn write_message(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        match &mut self.phase {
            Phase::Open { tx, .. } => seal(tx, payload, out),
            Phase::Handshake(_) => Err(SendError::NotEstablished),
            Phase::Closed => Err(SendError::Closed),
        }
    }

    /// In-place [`write_message`](Self::write_message): the payload is
    /// `buf[PREFIX_LEN..PREFIX_LEN + payload_len]`; the frame replaces it in
    /// `buf[..payload_len + FRAME_OVERHEAD]`, whose length is returned.
    ///
    /// # Errors
    /// As [`write_message`](Self::write_message); `buf` is then unchanged.
    pub fn write_message_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, SendError> {
        match &mut self.phase {
            Phase::Open { tx, .. } => seal_in_place(tx, buf, payload_len),
            Phase::Handshake(_) => Err(SendError::NotEstablished),
            Phase::Closed => Err(SendError::Closed),
        }
    }

    /// Feeds received bytes. Consumes from `input` up to the end of the next
    /// complete frame, processes it and returns what it carried (its payload
    /// is in `plain[..len]`), or `Ok(None)` once `input` is used up. Call it
    /// again while `input` is not empty; after a handshake message, call
    /// [`poll_handshake`](Self::poll_handshake) too.
    ///
    /// # Errors
    /// [`RecvError::BufferTooSmall`] if `plain` is shorter than
    /// [`max_payload_len`](Self::max_payload_len) (nothing consumed); every
    /// other error is fatal (module docs).
    pub fn handle_input(
        &mut self,
        input: &mut &[u8],
        plain: &mut [u8],
    ) -> Result<Option<Incoming>, RecvError> {
        if matches!(self.phase, Phase::Closed) {
            return Err(RecvError::Closed);
        }
        self.check_plain(plain)?;
        let frame = self.decoder.handle_input(input);
        let result = match frame {
            Ok(None) => return Ok(None),
            Ok(Some(frame)) => process(&mut self.phase, &self.pins, frame, plain),
            Err(e) => Err(decode_error(e)),
        };
        self.after(result)
    }

    /// The unfilled rest of the frame body being received, to read into
    /// directly (see [`Decoder::body_remaining_mut`]); `None` between
    /// frames or when the body is complete.
    pub fn read_buffer(&mut self) -> Option<&mut [u8]> {
        if matches!(self.phase, Phase::Closed) {
            return None;
        }
        self.decoder.body_remaining_mut()
    }

    /// Marks `filled` bytes of [`read_buffer`](Self::read_buffer) as
    /// received; processes the frame if that completed it.
    ///
    /// # Errors
    /// As [`handle_input`](Self::handle_input), and
    /// [`RecvError::BadFill`] when `filled` exceeds the buffer (nothing
    /// changes).
    pub fn handle_filled(
        &mut self,
        filled: usize,
        plain: &mut [u8],
    ) -> Result<Option<Incoming>, RecvError> {
        if matches!(self.phase, Phase::Closed) {
            return Err(RecvError::Closed);
        }
        self.check_plain(plain)?;
        let result = match self.decoder.handle_filled(filled) {
            Ok(None) => return Ok(None),
            Ok(Some(frame)) => process(&mut self.phase, &self.pins, frame, plain),
            Err(e) => return Err(RecvError::BadFill(e)),
        };
        self.after(result)
    }

    /// Tells the channel the stream ended. Sending stays possible (a
    /// half-closed TCP connection can still carry the last echoes);
    /// receiving is over.
    ///
    /// # Errors
    /// [`RecvError::EndedInHandshake`] before the handshake finished,
    /// [`RecvError::Framing`] if the stream ended inside a frame (both
    /// fatal), [`RecvError::Closed`] if already closed or ended.
    pub fn handle_eof(&mut self) -> Result<(), RecvError> {
        match self.phase {
            Phase::Closed => Err(RecvError::Closed),
            Phase::Handshake(_) => {
                self.close();
                Err(RecvError::EndedInHandshake)
            }
            Phase::Open { .. } => match self.decoder.handle_eof() {
                Ok(()) => Ok(()),
                Err(DecodeError::Closed) => Err(RecvError::Closed),
                Err(e) => {
                    self.close();
                    Err(RecvError::Framing(e))
                }
            },
        }
    }

    /// Splits an established channel into a sending and a receiving half,
    /// each owned by its own task. Gives the channel back unchanged when it
    /// is not established.
    ///
    /// # Errors
    /// The channel itself, when the handshake is not finished or it is
    /// closed.
    #[allow(clippy::result_large_err)] // the channel moves back once, on a caller bug
    pub fn split(self) -> Result<(Sender<P>, Receiver<P, S>), Self> {
        match self.phase {
            Phase::Open { tx, rx } => Ok((
                Sender { tx },
                Receiver {
                    rx: Some(rx),
                    decoder: self.decoder,
                    cap: self.cap,
                },
            )),
            phase => Err(Channel { phase, ..self }),
        }
    }

    fn check_plain(&self, plain: &[u8]) -> Result<(), RecvError> {
        let needed = self.max_payload_len();
        if plain.len() < needed {
            return Err(RecvError::BufferTooSmall(BufferTooSmall {
                needed,
                available: plain.len(),
            }));
        }
        Ok(())
    }

    /// Applies the outcome of one frame: closes on error, moves to the
    /// transport when the handshake just finished.
    fn after(
        &mut self,
        result: Result<Incoming, RecvError>,
    ) -> Result<Option<Incoming>, RecvError> {
        match result {
            Ok(ev) => {
                if let Phase::Handshake(hs) = &self.phase
                    && hs.is_finished()
                {
                    self.establish();
                    if self.is_closed() {
                        return Err(RecvError::UnexpectedPeer);
                    }
                }
                Ok(Some(ev))
            }
            Err(e) => {
                self.close();
                Err(e)
            }
        }
    }

    /// Ends a finished handshake: the transport takes over. With a pinned
    /// key, a handshake that never revealed the peer's static key closes the
    /// channel instead.
    fn establish(&mut self) {
        let Phase::Handshake(hs) = core::mem::replace(&mut self.phase, Phase::Closed) else {
            return;
        };
        if !self.pins.met_by(&hs) {
            return; // stays Closed
        }
        let remote_static = hs.remote_static().copied();
        let Ok(keys) = hs.split() else {
            return; // unreachable: `establish` runs only when finished
        };
        let transport = Transport::<P>::new(keys, self.transport_config);
        self.session = Some(Session {
            remote_static,
            handshake_hash: transport.handshake_hash().clone(),
        });
        let (tx, rx) = transport.split();
        self.phase = Phase::Open { tx, rx };
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
    }
}

/// Maps a framing failure of the receive path.
fn decode_error(e: DecodeError) -> RecvError {
    match e {
        DecodeError::Closed => RecvError::Closed,
        e => RecvError::Framing(e),
    }
}

/// Processes one received frame in the current phase.
fn process<P: Provider>(
    phase: &mut Phase<P>,
    pins: &Pins,
    frame: &[u8],
    plain: &mut [u8],
) -> Result<Incoming, RecvError> {
    match phase {
        Phase::Handshake(hs) => {
            let n = hs
                .read_message(frame, plain)
                .map_err(RecvError::Handshake)?;
            if pins.contradicted_by(hs) {
                return Err(RecvError::UnexpectedPeer);
            }
            Ok(Incoming::HandshakePayload(n))
        }
        Phase::Open { rx, .. } => open(rx, frame, plain),
        Phase::Closed => Err(RecvError::Closed),
    }
}

fn open<P: Provider>(
    rx: &mut RecvHalf<P>,
    frame: &[u8],
    plain: &mut [u8],
) -> Result<Incoming, RecvError> {
    rx.read_message(frame, plain)
        .map(Incoming::Message)
        .map_err(RecvError::Transport)
}

fn seal<P: Provider>(
    tx: &mut SendHalf<P>,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, SendError> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(SendError::PayloadTooLong {
            len: payload.len(),
            max: MAX_PAYLOAD_LEN,
        });
    }
    let frame_len = payload.len().saturating_add(FRAME_OVERHEAD);
    let Some((prefix, body)) = out
        .get_mut(..frame_len)
        .and_then(|f| f.split_first_chunk_mut::<PREFIX_LEN>())
    else {
        return Err(SendError::BufferTooSmall(BufferTooSmall {
            needed: frame_len,
            available: out.len(),
        }));
    };
    let n = tx
        .write_message(payload, body)
        .map_err(SendError::Transport)?;
    // `n <= MAX_MESSAGE_LEN`, which fits a u32.
    *prefix = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    Ok(n.saturating_add(PREFIX_LEN))
}

fn seal_in_place<P: Provider>(
    tx: &mut SendHalf<P>,
    buf: &mut [u8],
    payload_len: usize,
) -> Result<usize, SendError> {
    if payload_len > MAX_PAYLOAD_LEN {
        return Err(SendError::PayloadTooLong {
            len: payload_len,
            max: MAX_PAYLOAD_LEN,
        });
    }
    let frame_len = payload_len.saturating_add(FRAME_OVERHEAD);
    let Some((prefix, body)) = buf
        .get_mut(..frame_len)
        .and_then(|f| f.split_first_chunk_mut::<PREFIX_LEN>())
    else {
        return Err(SendError::BufferTooSmall(BufferTooSmall {
            needed: frame_len,
            available: buf.len(),
        }));
    };
    let n = tx
        .write_message_in_place(body, payload_len)
        .map_err(SendError::Transport)?;
    *prefix = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    Ok(n.saturating_add(PREFIX_LEN))
}

/// The sending half of an established [`Channel`] ([`Channel::split`]).
pub struct Sender<P: Provider> {
    tx: SendHalf<P>,
}

impl<P: Provider> fmt::Debug for Sender<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("tx", &self.tx).finish()
    }
}

impl<P: Provider> Sender<P> {
    /// See [`Channel::write_message`].
    ///
    /// # Errors
    /// As [`Channel::write_message`].
    pub fn write_message(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        seal(&mut self.tx, payload, out)
    }

    /// See [`Channel::write_message_in_place`].
    ///
    /// # Errors
    /// As [`Channel::write_message_in_place`].
    pub fn write_message_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, SendError> {
        seal_in_place(&mut self.tx, buf, payload_len)
    }
}

/// The receiving half of an established [`Channel`] ([`Channel::split`]).
/// A fatal error closes it like the whole channel.
pub struct Receiver<P: Provider, S> {
    rx: Option<RecvHalf<P>>,
    decoder: Decoder<S>,
    cap: usize,
}

impl<P: Provider, S> fmt::Debug for Receiver<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("closed", &self.rx.is_none())
            .field("frame_cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl<P: Provider, S: AsMut<[u8]>> Receiver<P, S> {
    /// Whether a fatal error closed this half.
    pub fn is_closed(&self) -> bool {
        self.rx.is_none()
    }

    /// See [`Channel::buffered`].
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// See [`Channel::is_at_frame_boundary`].
    pub fn is_at_frame_boundary(&self) -> bool {
        self.decoder.is_at_frame_boundary()
    }

    /// See [`Channel::max_payload_len`].
    pub fn max_payload_len(&self) -> usize {
        self.cap.saturating_sub(TAG_LEN)
    }

    /// See [`Channel::handle_input`]; only transport messages arrive here.
    ///
    /// # Errors
    /// As [`Channel::handle_input`].
    pub fn handle_input(
        &mut self,
        input: &mut &[u8],
        plain: &mut [u8],
    ) -> Result<Option<Incoming>, RecvError> {
        let needed = self.max_payload_len();
        let Some(rx) = self.rx.as_mut() else {
            return Err(RecvError::Closed);
        };
        if plain.len() < needed {
            return Err(RecvError::BufferTooSmall(BufferTooSmall {
                needed,
                available: plain.len(),
            }));
        }
        let result = match self.decoder.handle_input(input) {
            Ok(None) => return Ok(None),
            Ok(Some(frame)) => open(rx, frame, plain),
            Err(e) => Err(decode_error(e)),
        };
        self.after(result)
    }

    /// See [`Channel::read_buffer`].
    pub fn read_buffer(&mut self) -> Option<&mut [u8]> {
        self.rx.as_ref()?;
        self.decoder.body_remaining_mut()
    }

    /// See [`Channel::handle_filled`].
    ///
    /// # Errors
    /// As [`Channel::handle_filled`].
    pub fn handle_filled(
        &mut self,
        filled: usize,
        plain: &mut [u8],
    ) -> Result<Option<Incoming>, RecvError> {
        let needed = self.max_payload_len();
        let Some(rx) = self.rx.as_mut() else {
            return Err(RecvError::Closed);
        };
        if plain.len() < needed {
            return Err(RecvError::BufferTooSmall(BufferTooSmall {
                needed,
                available: plain.len(),
            }));
        }
        let result = match self.decoder.handle_filled(filled) {
            Ok(None) => return Ok(None),
            Ok(Some(frame)) => open(rx, frame, plain),
            Err(e) => return Err(RecvError::BadFill(e)),
        };
        self.after(result)
    }

    /// See [`Channel::handle_eof`].
    ///
    /// # Errors
    /// [`RecvError::Framing`] if the stream ended inside a frame (fatal),
    /// [`RecvError::Closed`] if already closed or ended.
    pub fn handle_eof(&mut self) -> Result<(), RecvError> {
        if self.rx.is_none() {
            return Err(RecvError::Closed);
        }
        match self.decoder.handle_eof() {
            Ok(()) => Ok(()),
            Err(DecodeError::Closed) => Err(RecvError::Closed),
            Err(e) => {
                self.rx = None;
                Err(RecvError::Framing(e))
            }
        }
    }

    fn after(
        &mut self,
        result: Result<Incoming, RecvError>,
    ) -> Result<Option<Incoming>, RecvError> {
        match result {
            Ok(ev) => Ok(Some(ev)),
            Err(e) => {
                self.rx = None;
                Err(e)
            }
        }
    }
}
