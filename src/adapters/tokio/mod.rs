//! The tokio adapter (feature `tokio`): drives the core machines on tokio.
//! It owns no protocol logic; it supplies sockets, a clock, randomness and
//! tasks, and keeps the adapter rules of `reference/failure-modes.md` §1:
//! every await races a deadline or is cancel-safe for the caller's own
//! select, file operations run off the async workers under a timeout, a
//! stream that saw a framing error or a failed decryption is closed, and
//! every I/O error is surfaced (returned, counted, and a `tracing` event).
//!
//! * [`stream`]: Noise streams over any `AsyncRead + AsyncWrite` (TCP
//!   first), driving [`Channel`](crate::channel::Channel):
//!   [`connect`], [`accept`], [`connect_tcp`], then a message API
//!   ([`NoiseStream`]) or a byte-stream view ([`NoiseByteStream`]).
//! * [`node`]: the overlay driver, an [`overlay::Node`](crate::overlay::Node)
//!   on a UDP socket in one task ([`node::RunningNode`]), with pipes to
//!   other nodes by key, events, counters and a graceful shutdown.
//! * [`identity`]: load or generate a node's static key file (atomic
//!   writes, permission and corruption checks, never a silent
//!   replacement). Unix only.
//!
//! ```no_run
//! # #[cfg(feature = "ring")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hyperport::adapters::tokio::{connect_tcp, StreamConfig};
//! use hyperport::crypto::{Ring, x25519::KeyPair};
//! use hyperport::noise::Builder;
//! use rand_core::OsRng;
//!
//! let hs = Builder::from_name("Noise_XX_25519_ChaChaPoly_BLAKE2s")?
//!     .local_static(KeyPair::generate(&mut OsRng))
//!     .build_initiator::<Ring>(&mut OsRng)?;
//! let mut stream = connect_tcp("127.0.0.1:7000", hs, &StreamConfig::new()).await?;
//! println!("peer {:02x?}", stream.remote_static());
//! stream.send(b"hello").await?;
//! let echo = stream.recv().await?;
//! # Ok(()) }
//! ```

#[cfg(unix)]
pub mod identity;
pub mod node;
pub mod stream;

#[cfg(unix)]
pub use identity::{Identity, IdentityError, IdentityOptions};
pub use stream::{
    NoiseByteStream, NoiseReceiver, NoiseSender, NoiseStream, StreamConfig, StreamError,
    StreamStats, accept, connect, connect_tcp,
};
