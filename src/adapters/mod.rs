//! Adapters: feature-gated drivers that move bytes between the sans-IO
//! machines and a real runtime. They own no protocol logic: framing,
//! handshakes and transport are the core machines' (`channel`, `noise`,
//! `overlay`); an adapter supplies sockets, a clock, randomness and tasks.
//!
//! | feature | module | drives | over |
//! |---|---|---|---|
//! | `tokio` | `tokio` | `channel::Channel`; `overlay::Node` | `AsyncRead`/`AsyncWrite` (TCP), `UdpSocket`; identity files |
//! | `wasi` | `wasi` | `channel::Channel` | WASI Preview 2 `wasi:sockets` TCP |
//! | `embedded-io`, `embedded-io-async` | `embedded` | `channel::Channel` | any `embedded_io` reader/writer |
//!
//! Every stream adapter uses one frame layout (a 4-byte big-endian length
//! prefix, then one Noise message of at most 65,535 bytes), so any two of
//! them interoperate.

#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub mod embedded;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(all(feature = "wasi", target_os = "wasi", target_env = "p2"))]
pub mod wasi;
