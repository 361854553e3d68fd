//! # hyperport
//!
//! The protocol core of an encrypted overlay network, as pure `#![no_std]`
//! sans-IO state machines: length-prefix framing, the Noise Protocol
//! Framework, Mojo-style ports and hyperbolic greedy routing.
//!
//! No machine owns a socket, a clock, a thread, an allocator or a random
//! source. Each consumes bytes, time and commands, and emits bytes, timers and
//! events; the caller (a driver) moves bytes between machines and the outside
//! world.
//!
//! ## The run loop
//!
//! Every machine follows the same convention:
//!
//! * inputs are `handle_*(now, …)` calls, where `now` is a [`time::Instant`]
//!   the driver reads from its own clock;
//! * outputs are drained from `poll_transmit` / `poll_event` /
//!   `poll_timeout` until they return `None`, after every input;
//! * `poll_timeout` is a contract: calling `handle_timeout` at the returned
//!   instant moves it strictly later or to `None`, so a driver never spins.
//!
//! [`overlay::Node`], [`link::Link`] and [`routing::Node`] follow it with
//! these shapes; the other machines depart from it where their nature asks,
//! as follows (each exception is documented in its module):
//!
//! * [`framing`] and [`channel`]: `handle_input` returns the next frame or
//!   payload directly (it borrows the input, so it cannot wait in a queue);
//!   framing has no timers and takes no `now`.
//! * [`noise`]: the handshake and the stream transport are lockstep message
//!   functions, `write_message` / `read_message`, without `now` and without
//!   `poll_*` (nothing happens between messages); the datagram transport
//!   takes `now` at construction and is [`time::Timed`] for rekey by time.
//! * [`link`]: transport data is not queued: `send` encrypts into the
//!   caller's buffer and `handle_datagram` returns the decrypted payload
//!   (control datagrams do go through `poll_transmit`).
//! * [`ports`]: commands are direct calls (create, send, close, merge),
//!   remote input is `handle_event(from, event)` with an already decoded
//!   event and no `now` (time enters only through its `handle_timeout`, for
//!   the age bound of held events), and `poll_transmit` yields typed events
//!   with the node they go to; encoding them is the driver's (the overlay's).
//! * [`routing`]: `poll_transmit(buf)` takes no `now` (the machine has seen
//!   the time in its inputs), and forwarding is a synchronous decision,
//!   `route(&mut header) -> Decision`, not an input/output pair.
//!
//! ```
//! use hyperport::framing::{Config, Decoder};
//!
//! // A driver reads bytes from its transport in whatever chunks arrive...
//! let mut wire = Vec::new();
//! for body in [&b"hello"[..], b"", b"world"] {
//!     wire.extend_from_slice(&(body.len() as u32).to_be_bytes());
//!     wire.extend_from_slice(body);
//! }
//! let config = Config::new().with_max_frame_len(1024);
//! let mut decoder = Decoder::new(config, [0u8; 1024]).expect("storage holds max_frame_len");
//! let mut frames = Vec::new();
//! for chunk in wire.chunks(3) {
//!     // ...hands each chunk to the machine, and drains every output
//!     // (each call returns at most one frame) before the next input.
//!     let mut input = chunk;
//!     while let Some(frame) = decoder.handle_input(&mut input).expect("well-formed stream") {
//!         frames.push(frame.to_vec());
//!     }
//! }
//! assert_eq!(frames, [b"hello".to_vec(), vec![], b"world".to_vec()]);
//! ```
//!
//! ## Modules
//!
//! * [`time`]: the crate's [`time::Instant`] and the [`time::Timed`] contract.
//! * [`rng`]: injected randomness.
//! * [`buf`]: checked readers and writers over byte slices.
//! * [`crypto`]: the provider trait, the ring and RustCrypto providers, X25519.
//! * [`adapters`]: drivers over real I/O, one feature each (`embedded-io`,
//!   `embedded-io-async`: the framed Noise channel over `embedded_io` streams).
//! * [`framing`]: stream framing and the datagram header.
//! * [`channel`]: a framed Noise channel over a byte stream (handshake, then
//!   transport; one Noise message per frame), the machine every stream
//!   adapter drives.
//! * `sim` (feature `sim`): the deterministic network simulator (virtual
//!   clock, seeded faults, trace and replay).
//! * [`ports`]: Mojo-style ports (nodes, proxies, merge, closure, node loss) and their wire codec.
//! * [`noise`]: Noise cipher state, handshake and transports.
//! * [`routing`]: spanning-tree coordinates, greedy forwarding with a watermark, signed announcements.
//! * [`link`]: one Noise session with one neighbour over datagrams (handshake
//!   retransmission, rekey, keepalive, expiry) and the rate-limited [`link::Gate`]
//!   that admits initiations; the datagram packet layout.
//! * [`overlay`]: one overlay node: a bounded, generation-stamped peer table
//!   of `link` sessions, the routing protocol over them, greedy forwarding,
//!   end-to-end sessions with reliable ordered record streams, and a ports
//!   node on top.
//! * [`adapters`]: feature-gated drivers for real runtimes (`tokio`, ...).
//!
//! ## Safety and limits
//!
//! The core has no `unsafe`, no allocation, no `std`, no clock and no global
//! RNG. Bytes from the network never panic a machine: every buffer, queue and
//! table has a named bound a peer cannot raise, and overflow is a typed error
//! or a counted drop.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | implies `alloc`; nothing in the core needs it |
//! | `alloc` | via `std` | conveniences only |
//! | `ring` | yes | the `crypto::Ring` provider (hosted targets) |
//! | `rustcrypto` | no | the `crypto::RustCrypto` provider (every target, Cortex-M included), every algorithm |
//! | `aws-lc` | no | the `crypto::AwsLc` provider (hosted targets; fastest X25519; implies `std`), every algorithm |
//! | `rustcrypto-minimal` | no | the same provider with only ChaCha20-Poly1305, BLAKE2s and the algorithms below that are on (firmware) |
//! | `aesgcm`, `sha256`, `sha512`, `blake2b` | via `ring` / `rustcrypto` / `aws-lc` | one optional algorithm each ([`crypto`]'s module docs); `all-algorithms` turns on all four |
//! | `embedded-io` | no | `adapters::embedded::FramedNoise` over blocking `embedded_io` streams |
//! | `embedded-io-async` | no | `adapters::embedded::AsyncFramedNoise` over `embedded_io_async` streams |
//! | `dalek-tables` | yes | precomputed X25519 base-point tables (faster keygen, more flash) |
//! | `arbitrary` | no | `arbitrary::Arbitrary` for wire types (fuzzing) |
//! | `sim` | no | the deterministic network simulator (uses `std`) |
//! | `tokio` | no | `adapters::tokio`: Noise streams over tokio I/O, identity key files (implies `std`) |
//!
//! The firmware build is `--no-default-features --features rustcrypto`, or
//! `rustcrypto-minimal` (plus any algorithm features it needs) to leave the
//! unused algorithms out of the image.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod adapters;
pub mod buf;
pub mod channel;
pub mod crypto;
pub mod error;
pub mod framing;
pub mod link;
pub mod noise;
pub mod overlay;
pub mod ports;
pub mod rng;
pub mod routing;
pub mod time;

#[cfg(feature = "sim")]
pub mod sim;

pub use error::{BufferTooSmall, Truncated};
pub use time::{Duration, Instant};
