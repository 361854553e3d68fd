//! WASI Preview 2 adapter (feature `wasi`, target `wasm32-wasip2`): a framed
//! Noise leg over `wasi:sockets` TCP.
//!
//! (Work in progress: the socket layer; the leg lands with the channel.)

pub mod clock;
pub mod net;
pub mod rng;

pub use clock::{Deadline, Expired};
pub use net::{AcceptError, ConnectError, ErrorCode, IoError, ListenError, TcpListener, TcpStream};
pub use rng::WasiRng;
