//! The Noise Protocol Framework, revision 34: cipher state, handshake and
//! transports (stream with implicit nonces; datagram with explicit nonces and
//! a replay window), allocation-free and generic over a
//! [`crypto::Provider`](crate::crypto::Provider).

pub mod cipher;
pub mod datagram;
pub mod replay;
pub mod transport;
