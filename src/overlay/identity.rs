//! A node's identity: one secret seed, two keys, and the signed binding
//! between them that every handshake carries.
//!
//! * The **node key** is an X25519 static public key: the Noise identity of
//!   every session (hop and end-to-end), the key of the peer table and of the
//!   correspondents, and (hashed) the ports node name.
//! * The **routing key** is an Ed25519 public key: it signs the node's
//!   routing announcements (`routing::Node`).
//!
//! Both secrets are derived from one 32-byte seed with BLAKE2s under two
//! labels, so they are independent keys (no key is used both for
//! Diffie-Hellman and for signatures) that one identity file holds.
//!
//! # The binding
//!
//! A neighbour must not be able to announce someone else's routing key. So
//! the routing key signs the node key once
//! (`Ed25519(routing secret, "hyperport/overlay/bind/v1" || node key)`), and
//! every hop handshake carries that signature in its payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version: [`BINDING_VERSION`] (1) |
//! | 1 | 1 | kind: [`KIND_HOP`] (1) |
//! | 2 | 2 | largest hop payload the sender accepts, `u16` big-endian |
//! | 4 | 32 | routing key (Ed25519 public key) |
//! | 36 | 64 | signature over the label and the sender's node key |
//!
//! [`BINDING_LEN`] = 100 bytes. The receiver verifies the signature against
//! the static key *Noise authenticated for that session*; only then is the
//! routing key registered for the link (and `routing` refuses announcements
//! whose chain does not end at the registered key). A node can therefore
//! only announce a routing key whose owner signed its own Noise key; a
//! binding copied from another node names that node's Noise key and fails.
//!
//! End-to-end sessions carry a shorter payload, since their Noise static key
//! *is* the identity:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version: [`BINDING_VERSION`] (1) |
//! | 1 | 1 | kind: [`KIND_E2E`] (2) |
//! | 2 | 2 | reserved, zero |
//! | 4 | 8 | the sender's incarnation, `u64` big-endian |
//!
//! [`E2E_HELLO_LEN`] = 12 bytes. The incarnation is drawn from the node's
//! injected RNG when it starts: a correspondent that comes back with another
//! one has restarted (section "Streams" of the module docs).

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::buf::{Reader, Writer};
use crate::crypto::x25519::KeyPair;
use crate::error::BufferTooSmall;
use crate::ports::NodeName;

/// Version byte of both handshake payloads.
pub const BINDING_VERSION: u8 = 1;
/// Kind byte of the hop binding.
pub const KIND_HOP: u8 = 1;
/// Kind byte of the end-to-end hello.
pub const KIND_E2E: u8 = 2;
/// Length of the hop binding payload.
pub const BINDING_LEN: usize = 100;
/// Length of the end-to-end hello payload.
pub const E2E_HELLO_LEN: usize = 12;

const BIND_LABEL: &[u8] = b"hyperport/overlay/bind/v1";
const NOISE_LABEL: &[u8] = b"hyperport/overlay/noise-static/v1";
const ROUTING_LABEL: &[u8] = b"hyperport/overlay/routing-key/v1";
const NAME_LABEL: &[u8] = b"hyperport/overlay/node-name/v1";

fn blake2s(parts: &[&[u8]]) -> [u8; 32] {
    use blake2::Digest as _;
    let mut h = blake2::Blake2s256::new();
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&h.finalize());
    out
}

/// The ports node name of the node whose node key is `key`: the first 16
/// bytes of `BLAKE2s("hyperport/overlay/node-name/v1" || key)`, the same at
/// every node (so names in port descriptors mean the same node everywhere).
pub fn node_name(key: &[u8; 32]) -> NodeName {
    let h = blake2s(&[NAME_LABEL, key]);
    let mut b = [0u8; 16];
    b.copy_from_slice(h.get(..16).unwrap_or(&[0; 16]));
    let n = NodeName::from_bytes(b);
    if n.is_valid() {
        n
    } else {
        // The all-zero name is "invalid" in ports; a key hashing to it
        // (probability 2^-128) gets name 1 instead.
        NodeName::new(0, 1)
    }
}

/// A node's secret identity (zeroized on drop).
#[derive(Clone)]
pub struct Identity {
    noise: KeyPair,
    routing_seed: Zeroizing<[u8; 32]>,
    routing_public: [u8; 32],
    bind_sig: [u8; 64],
}

impl Identity {
    /// The identity of `seed` (keep the seed secret; it is the identity).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let noise = KeyPair::from_secret_bytes(*Zeroizing::new(blake2s(&[NOISE_LABEL, seed])));
        let routing_seed = Zeroizing::new(blake2s(&[ROUTING_LABEL, seed]));
        let signing = SigningKey::from_bytes(&routing_seed);
        let routing_public = signing.verifying_key().to_bytes();
        let bind_sig = signing.sign(&bind_message(noise.public())).to_bytes();
        Identity {
            noise,
            routing_seed,
            routing_public,
            bind_sig,
        }
    }

    /// The node key (X25519 static public key).
    pub fn public_key(&self) -> [u8; 32] {
        *self.noise.public()
    }

    /// The routing key (Ed25519 public key).
    pub fn routing_key(&self) -> [u8; 32] {
        self.routing_public
    }

    /// This node's ports name ([`node_name`] of its node key).
    pub fn node_name(&self) -> NodeName {
        node_name(self.noise.public())
    }

    /// The Noise static key pair.
    pub(crate) fn noise_keypair(&self) -> &KeyPair {
        &self.noise
    }

    /// The Ed25519 seed the routing machine signs with.
    pub(crate) fn routing_seed(&self) -> &[u8; 32] {
        &self.routing_seed
    }

    /// The binding this node sends in its hop handshakes.
    pub fn binding(&self, max_payload: u16) -> Binding {
        Binding {
            max_payload,
            routing_key: self.routing_public,
            sig: self.bind_sig,
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public_key", self.noise.public())
            .field("routing_key", &self.routing_public)
            .finish_non_exhaustive()
    }
}

fn bind_message(node_key: &[u8; 32]) -> [u8; 57] {
    let mut m = [0u8; 57];
    let (a, b) = m.split_at_mut(BIND_LABEL.len());
    a.copy_from_slice(BIND_LABEL);
    b.copy_from_slice(node_key);
    m
}

/// Why a handshake payload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingError {
    /// Wrong length, version or kind: not a payload of this protocol.
    Malformed,
    /// The signature does not bind this routing key to the session's
    /// Noise-authenticated node key (a copied or forged binding).
    BadSignature,
}

impl fmt::Display for BindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindingError::Malformed => "handshake payload malformed; session refused",
            BindingError::BadSignature => {
                "routing key not bound to the peer's Noise key (bad signature); session refused"
            }
        })
    }
}

impl core::error::Error for BindingError {}

/// The hop handshake payload: the sender's routing key, signed by it over
/// the sender's node key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Largest hop payload (plaintext) the sender accepts.
    pub max_payload: u16,
    /// The sender's routing key.
    pub routing_key: [u8; 32],
    /// Ed25519 signature over the label and the sender's node key.
    pub sig: [u8; 64],
}

impl Binding {
    /// Writes the [`BINDING_LEN`]-byte payload.
    ///
    /// # Errors
    /// [`BufferTooSmall`]; nothing is written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(buf);
        w.ensure(BINDING_LEN)?;
        w.u8(BINDING_VERSION)?;
        w.u8(KIND_HOP)?;
        w.u16(self.max_payload)?;
        w.put(&self.routing_key)?;
        w.put(&self.sig)?;
        Ok(w.position())
    }

    /// Parses a payload (not yet verified: see [`Binding::verify`]).
    ///
    /// # Errors
    /// [`BindingError::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, BindingError> {
        if bytes.len() != BINDING_LEN {
            return Err(BindingError::Malformed);
        }
        let mut r = Reader::new(bytes);
        let m = |_| BindingError::Malformed;
        if r.u8().map_err(m)? != BINDING_VERSION || r.u8().map_err(m)? != KIND_HOP {
            return Err(BindingError::Malformed);
        }
        Ok(Binding {
            max_payload: r.u16().map_err(m)?,
            routing_key: r.array().map_err(m)?,
            sig: r.array().map_err(m)?,
        })
    }

    /// Checks the signature binds `routing_key` to `node_key` (the static
    /// key the Noise handshake authenticated).
    ///
    /// # Errors
    /// [`BindingError::BadSignature`].
    pub fn verify(&self, node_key: &[u8; 32]) -> Result<(), BindingError> {
        let ok = VerifyingKey::from_bytes(&self.routing_key)
            .map(|k| {
                k.verify_strict(&bind_message(node_key), &Signature::from_bytes(&self.sig))
                    .is_ok()
            })
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(BindingError::BadSignature)
        }
    }
}

/// Writes the [`E2E_HELLO_LEN`]-byte end-to-end handshake payload.
///
/// # Errors
/// [`BufferTooSmall`]; nothing is written.
pub fn encode_hello(incarnation: u64, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    w.ensure(E2E_HELLO_LEN)?;
    w.u8(BINDING_VERSION)?;
    w.u8(KIND_E2E)?;
    w.u16(0)?;
    w.u64(incarnation)?;
    Ok(w.position())
}

/// Parses an end-to-end handshake payload, returning the incarnation.
///
/// # Errors
/// [`BindingError::Malformed`].
pub fn decode_hello(bytes: &[u8]) -> Result<u64, BindingError> {
    if bytes.len() != E2E_HELLO_LEN {
        return Err(BindingError::Malformed);
    }
    let mut r = Reader::new(bytes);
    let m = |_| BindingError::Malformed;
    if r.u8().map_err(m)? != BINDING_VERSION
        || r.u8().map_err(m)? != KIND_E2E
        || r.u16().map_err(m)? != 0
    {
        return Err(BindingError::Malformed);
    }
    r.u64().map_err(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_round_trip_and_layout() {
        let id = Identity::from_seed(&[7; 32]);
        let b = id.binding(1_200);
        let mut buf = [0u8; BINDING_LEN];
        assert_eq!(b.encode(&mut buf), Ok(100));
        // Byte table: version 1, kind 1, 1200 = 0x04b0, then the key.
        assert_eq!(&buf[..4], &[1, 1, 0x04, 0xb0]);
        assert_eq!(&buf[4..36], &id.routing_key());
        assert_eq!(Binding::decode(&buf), Ok(b));
        assert_eq!(b.verify(&id.public_key()), Ok(()));
        assert!(b.encode(&mut [0u8; 99]).is_err());
        for cut in 0..BINDING_LEN {
            assert_eq!(Binding::decode(&buf[..cut]), Err(BindingError::Malformed));
        }
        let mut bad = buf;
        bad[1] = 2;
        assert_eq!(Binding::decode(&bad), Err(BindingError::Malformed));
    }

    #[test]
    fn a_copied_binding_does_not_bind_another_noise_key() {
        let victim = Identity::from_seed(&[1; 32]);
        let thief = Identity::from_seed(&[2; 32]);
        // The thief presents the victim's routing key and signature in its
        // own handshake: the session authenticated the thief's node key.
        let stolen = victim.binding(1_000);
        assert_eq!(
            stolen.verify(&thief.public_key()),
            Err(BindingError::BadSignature)
        );
        // Its own routing key with the victim's signature: refused too.
        let mut mixed = thief.binding(1_000);
        mixed.sig = stolen.sig;
        assert_eq!(
            mixed.verify(&thief.public_key()),
            Err(BindingError::BadSignature)
        );
        // One flipped signature bit.
        let mut flipped = thief.binding(1_000);
        flipped.sig[10] ^= 1;
        assert_eq!(
            flipped.verify(&thief.public_key()),
            Err(BindingError::BadSignature)
        );
        assert_eq!(thief.binding(1_000).verify(&thief.public_key()), Ok(()));
    }

    #[test]
    fn keys_are_independent_and_deterministic() {
        let a = Identity::from_seed(&[3; 32]);
        let b = Identity::from_seed(&[3; 32]);
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.routing_key(), b.routing_key());
        assert_ne!(a.public_key(), a.routing_key());
        assert_ne!(a.public_key(), Identity::from_seed(&[4; 32]).public_key());
        // The node key is X25519 of the derived secret (checked against the
        // crypto module's independent derivation).
        let sk = blake2s(&[NOISE_LABEL, &[3; 32]]);
        assert_eq!(*KeyPair::from_secret_bytes(sk).public(), a.public_key());
        assert_eq!(a.node_name(), node_name(&a.public_key()));
    }

    #[test]
    fn hello_round_trip() {
        let mut buf = [0u8; 12];
        assert_eq!(encode_hello(0x0102_0304_0506_0708, &mut buf), Ok(12));
        assert_eq!(buf, [1, 2, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(decode_hello(&buf), Ok(0x0102_0304_0506_0708));
        buf[2] = 1;
        assert_eq!(decode_hello(&buf), Err(BindingError::Malformed));
        assert_eq!(decode_hello(&buf[..11]), Err(BindingError::Malformed));
    }
}
