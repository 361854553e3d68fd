//! WASI Preview 2 adapter (feature `wasi`, compiled only for
//! `wasm32-wasip2`): a framed Noise leg over `wasi:sockets` TCP, run in
//! wasmtime or any Preview 2 host.
//!
//! The adapter owns no protocol logic: a [`Leg`] drives a
//! [`Channel`](crate::channel::Channel) (the handshake, the frame layout,
//! the cap, decryption, pinning), moving bytes between it and a
//! [`TcpStream`], and keeping the time with the WASI monotonic clock. The
//! frames are the channel's: a 4-byte big-endian length and one Noise message,
//! so a leg talks to the tokio adapter, the embedded adapter, or any Noise
//! implementation that frames the same way.
//!
//! ```no_run
//! use hyperport::adapters::wasi::{Config, Leg, TcpStream, WasiRng};
//! use hyperport::channel::Channel;
//! use hyperport::crypto::RustCrypto;
//! use hyperport::crypto::x25519::KeyPair;
//! use hyperport::noise::Builder;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::new();
//! let mut rng = WasiRng;
//! let hs = Builder::from_name("Noise_XX_25519_ChaChaPoly_BLAKE2s")?
//!     .local_static(KeyPair::generate(&mut rng))
//!     .build_initiator::<RustCrypto>(&mut rng)?;
//! let channel = Channel::new(hs, vec![0u8; 65_535])?;
//! let stream = TcpStream::connect("127.0.0.1:7000".parse()?, &mut config.connect_deadline())?;
//! let mut leg = Leg::handshake(stream, channel, &config)?;
//! leg.send(b"hello")?;
//! let mut plain = vec![0u8; leg.max_payload_len()];
//! let n = leg.recv(&mut plain)?.ok_or("the peer closed")?;
//! assert_eq!(&plain[..n], b"hello");
//! # Ok(()) }
//! ```
//!
//! A server binds a [`TcpListener`] and hands each accepted stream to
//! [`Leg::handshake`] with a responder's channel. `examples/wasi_leg.rs` is
//! both roles as a command-line tool.
//!
//! # Why the raw Preview 2 bindings, not `std::net`
//!
//! `std::net` works on `wasm32-wasip2` (through wasi-libc), and its
//! `set_read_timeout` does bound a read. But it gives no deadline on accept,
//! a per-call timeout that has to be recomputed and re-armed before every
//! read and write of a multi-step handshake, and timeouts that surface as
//! `WouldBlock`, indistinguishable from a non-blocking socket. The raw
//! bindings (the `wasip2` crate, generated from the WASI 0.2 WIT; safe Rust
//! wrappers, so this module needs no `unsafe`) give the primitive directly:
//!
//! * every wait is one `wasi:io/poll.poll` over the resource's pollable (the
//!   socket for connect and accept, the input or output stream for reads and
//!   writes) and one `monotonic-clock.subscribe-instant` pollable for the
//!   [`Deadline`]. The host sleeps until either is ready: no busy-waiting, no
//!   polling loop in the guest;
//! * a deadline is an absolute instant on the WASI monotonic clock, so the
//!   whole handshake (every read and write of it) shares one deadline, and a
//!   frame that has begun shares one until its last byte;
//! * connect, accept and the listen backlog are explicit
//!   (`start-connect`/`finish-connect`, `accept`, `set-listen-backlog-size`).
//!
//! # Bounds and timeouts
//!
//! | what | bound |
//! |---|---|
//! | frame cap (largest accepted message) | the channel's storage length, at most 65,535; checked at the 4-byte prefix, before any body byte is read |
//! | bytes read per read call | at most the missing prefix bytes, or the missing body bytes of the current frame (never past the frame) |
//! | memory per leg | the channel's storage (the cap) + a send buffer of [`MAX_FRAME_LEN`](crate::channel::MAX_FRAME_LEN) (65,539) bytes, allocated once by [`Leg::handshake`] |
//! | connect / handshake / frame / write | [`Config`]: 10 s each by default |
//! | waiting for the next message | unbounded by default ([`Config::idle_timeout`]) |
//! | connections queued before accept | the `backlog` given to [`TcpListener::bind`] |
//!
//! A peer that declares a frame above the cap, sends a frame that fails
//! authentication, or stalls mid-frame past [`Config::frame_timeout`] gets
//! its connection closed with a typed [`LegError`]; nothing else is affected
//! (a server goes on accepting).
//!
//! # Allocation
//!
//! The leg's own code allocates nothing after [`Leg::handshake`]. The WASI
//! 0.2 ABI does, underneath: `input-stream.read` returns an owned
//! `list<u8>`, which the bindings allocate (at most the bytes asked for:
//! the bounds above) and the leg drops once copied into the channel's
//! storage; and a wait with a finite deadline passes a two-element list to
//! `poll` and gets a list back. Waits without a deadline use
//! `pollable.block`, and a resource that is already ready skips the wait,
//! so neither allocates. Every such allocation is freed before the call
//! returns: memory does not grow with traffic. Measured inside wasmtime
//! (`tests/wasi_alloc.rs`, run by `scripts/wasi_interop.sh`): 2 allocations
//! per echoed message (send and receive) for 0 to 1,400-byte messages, one
//! per read call, and 5 for 65,519-byte messages, whose body arrives in
//! several reads.
//!
//! # Crypto provider
//!
//! Build with `--no-default-features --features wasi,rustcrypto`: the
//! pure-Rust provider needs no C compiler for `wasm32`. ring also builds for
//! `wasm32-wasip2`, but only with clang installed (its C code), and brings no
//! assembly to wasm32, so it would add a system dependency for nothing.
//! Entropy comes from `wasi:random` ([`WasiRng`]).

pub mod clock;
mod leg;
pub mod net;
pub mod rng;

pub use clock::{Deadline, Expired};
pub use leg::{Config, Leg, LegError, Wait};
pub use net::{AcceptError, ConnectError, ErrorCode, IoError, ListenError, TcpListener, TcpStream};
pub use rng::WasiRng;
