//! The Noise Protocol Framework, revision 34: cipher state, handshake and
//! transports (stream with implicit nonces; datagram with explicit nonces and
//! a replay window), allocation-free and generic over a
//! [`crypto::Provider`](crate::crypto::Provider).
//!
//! ## The handshake run loop
//!
//! A protocol name such as `Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s` parses
//! into [`NoiseParams`] (a `Copy` value over the const pattern tables of
//! [`pattern`]: 3 one-way, 12 fundamental and 23 deferred patterns, with any
//! `pskN` combination and `fallback`). A [`Builder`] takes the keys, the
//! prologue and the PSKs and builds a [`HandshakeState`] for one side. Each
//! side then loops until [`HandshakeState::is_finished`]:
//!
//! * if [`HandshakeState::is_my_turn`]: [`HandshakeState::write_message`]
//!   (payload in, message into the caller's buffer) and send the bytes;
//! * otherwise wait for the peer's bytes and
//!   [`HandshakeState::read_message`] them (payload into the caller's
//!   buffer). A message that fails (forged, truncated, wrong keys) changes
//!   nothing: drop it, and keep waiting or give up.
//!
//! [`HandshakeState::split`] then consumes the handshake and returns the
//! transport keys ([`cipher::SplitKeys`]) with the handshake hash for
//! channel binding; [`HandshakeState::remote_static`] tells who the peer is.
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use hyperport::crypto::{Ring, x25519::KeyPair};
//! use hyperport::noise::{Builder, HandshakeState};
//! use hyperport::rng::SeededRng;
//!
//! let mut rng = SeededRng::from_u64(7); // seed from the OS in production
//! let name = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
//! let mut alice: HandshakeState<Ring> = Builder::from_name(name).unwrap()
//!     .local_static(KeyPair::generate(&mut rng))
//!     .prologue(b"demo")
//!     .build_initiator(&mut rng).unwrap();
//! let bob_key = KeyPair::generate(&mut rng);
//! let bob_public = *bob_key.public();
//! let mut bob: HandshakeState<Ring> = Builder::from_name(name).unwrap()
//!     .local_static(bob_key)
//!     .prologue(b"demo")
//!     .build_responder(&mut rng).unwrap();
//!
//! let (mut msg, mut payload) = ([0u8; 1024], [0u8; 1024]);
//! let (mut me, mut peer) = (&mut alice, &mut bob);
//! while !me.is_finished() {
//!     let n = me.write_message(b"hello", &mut msg).unwrap();
//!     let got = peer.read_message(&msg[..n], &mut payload).unwrap();
//!     assert_eq!(&payload[..got], b"hello");
//!     core::mem::swap(&mut me, &mut peer);
//! }
//! assert_eq!(alice.remote_static(), Some(&bob_public));
//! assert_eq!(alice.handshake_hash(), bob.handshake_hash());
//! let (mut send, _recv) = alice.split().unwrap().into_cipher_states::<Ring>();
//! let (_send, mut recv) = bob.split().unwrap().into_cipher_states::<Ring>();
//! let n = send.encrypt_with_ad(&[], b"transport", &mut msg).unwrap();
//! let got = recv.decrypt_with_ad(&[], &msg[..n], &mut payload).unwrap();
//! assert_eq!(&payload[..got], b"transport");
//! # }
//! ```
//!
//! Ephemeral keys are generated from the RNG given to `build_*` (or fixed
//! with [`Builder::fixed_ephemeral`] for test vectors), so writing needs no
//! RNG. Noise Pipes (spec 10.2): when Bob cannot read Alice's `IK` message,
//! [`HandshakeState::fallback_initiator`] turns Bob into the initiator of
//! `XXfallback` and [`HandshakeState::fallback_responder`] turns Alice into
//! its responder, keeping her ephemeral.
//!
//! A side that knows its peer's static key before the handshake (the IK
//! initiator, both sides of KK) can skip one X25519 per handshake with a
//! [`StaticStatic`]: the `ss` value computed once and given to
//! [`Builder::precomputed_static_static`] (as WireGuard keeps one per peer).

pub mod builder;
pub mod cipher;
pub mod datagram;
pub mod error;
pub mod handshake;
#[cfg(feature = "mlkem")]
pub mod kem;
pub mod params;
pub mod pattern;
pub mod precomputed;
pub mod replay;
mod symmetric;
pub mod transport;

pub use builder::{Builder, PSK_LEN};
pub use error::{BuildError, FallbackError, HandshakeError};
pub use handshake::{HandshakeState, Unfinished};
pub use params::{NoiseParams, ParamsError};
pub use precomputed::StaticStatic;
