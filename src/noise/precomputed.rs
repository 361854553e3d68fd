//! A precomputed `ss` (static-static) Diffie-Hellman result.
//!
//! The `ss` token of a pattern (IK, KK, KN… see [`pattern`](super::pattern))
//! is `DH(s, rs)`: the same value for every handshake between the same two
//! static keys. A side that knows the peer's static key before the
//! handshake (the initiator of IK, both sides of KK) can compute it once
//! and hand it to every later [`Builder`](super::Builder), saving one of the
//! handshake's four X25519 operations on that side, the way WireGuard keeps
//! a precomputed static-static secret per peer.
//!
//! The value is used only where it is exactly right: when the handshake's
//! local static public key and the peer's static public key (given in
//! advance or received in the handshake) both equal the ones it was
//! computed for. Otherwise it is ignored and the DH is computed, so a stale
//! entry (a peer rotated its key) costs time, never correctness. Handshake
//! messages and keys are byte-identical with and without it.

use core::fmt;

use crate::crypto::x25519::{KEY_LEN, KeyPair, SharedSecret};

/// `DH(local, remote)` for one pair of static keys, with both public keys
/// it belongs to. The secret is zeroized on drop.
#[derive(Clone)]
pub struct StaticStatic {
    local: [u8; KEY_LEN],
    remote: [u8; KEY_LEN],
    secret: SharedSecret,
}

impl StaticStatic {
    /// Computes `DH(local, remote)` once (one X25519 operation).
    ///
    /// A low-order `remote` gives an all-zero value, exactly as the
    /// handshake's own DH would: the handshake treats both the same way.
    pub fn new(local: &KeyPair, remote: &[u8; KEY_LEN]) -> Self {
        StaticStatic {
            local: *local.public(),
            remote: *remote,
            secret: local.dh(remote),
        }
    }

    /// The local static public key it was computed for.
    pub fn local_public(&self) -> &[u8; KEY_LEN] {
        &self.local
    }

    /// The peer's static public key it was computed for.
    pub fn remote_public(&self) -> &[u8; KEY_LEN] {
        &self.remote
    }

    /// The shared secret, if it belongs to exactly this pair of keys.
    pub(crate) fn for_pair(
        &self,
        local: &[u8; KEY_LEN],
        remote: &[u8; KEY_LEN],
    ) -> Option<&SharedSecret> {
        (self.local == *local && self.remote == *remote).then_some(&self.secret)
    }
}

impl fmt::Debug for StaticStatic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticStatic")
            .field("local", &self.local)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DefaultProvider as P;
    use crate::noise::{Builder, HandshakeState};
    use crate::rng::SeededRng;

    const IK: &str = "Noise_IK_25519_ChaChaPoly_SHA256";

    /// Runs IK once; `pre` goes to the initiator. Returns whether both
    /// sides finished with the same handshake hash.
    fn ik(pre: Option<StaticStatic>, alice: &KeyPair, bob: &KeyPair) -> bool {
        let mut rng = SeededRng::from_u64(5);
        let mut b = Builder::from_name(IK)
            .unwrap()
            .local_static(alice.clone())
            .remote_static(*bob.public());
        if let Some(pre) = pre {
            b = b.precomputed_static_static(pre);
        }
        let mut i: HandshakeState<P> = b.build_initiator(&mut rng).unwrap();
        let mut r: HandshakeState<P> = Builder::from_name(IK)
            .unwrap()
            .local_static(bob.clone())
            .build_responder(&mut rng)
            .unwrap();
        let (mut m, mut out) = ([0u8; 256], [0u8; 256]);
        let n = i.write_message(b"", &mut m).unwrap();
        if r.read_message(&m[..n], &mut out).is_err() {
            return false;
        }
        let n = r.write_message(b"", &mut m).unwrap();
        if i.read_message(&m[..n], &mut out).is_err() {
            return false;
        }
        i.handshake_hash() == r.handshake_hash()
    }

    fn keys() -> (KeyPair, KeyPair) {
        let mut rng = SeededRng::from_u64(9);
        (KeyPair::generate(&mut rng), KeyPair::generate(&mut rng))
    }

    /// A value whose secret is wrong but whose public keys match is *used*:
    /// the responder cannot decrypt. This proves the precomputation replaces
    /// the DH (the correct value gives identical messages, see
    /// tests/noise_precomputed.rs, so that alone could not tell).
    #[test]
    fn a_matching_value_is_used() {
        let (alice, bob) = keys();
        assert!(ik(
            Some(StaticStatic::new(&alice, bob.public())),
            &alice,
            &bob
        ));
        let mut wrong = StaticStatic::new(&alice, bob.public());
        wrong.secret = SharedSecret::from_bytes_for_test([7; KEY_LEN]);
        assert!(
            !ik(Some(wrong), &alice, &bob),
            "the forged value was ignored"
        );
    }

    /// A value for another key pair is ignored, whatever its secret.
    #[test]
    fn a_value_for_other_keys_is_ignored() {
        let (alice, bob) = keys();
        let mut rng = SeededRng::from_u64(11);
        let carol = KeyPair::generate(&mut rng);
        for mut other in [
            StaticStatic::new(&alice, carol.public()),
            StaticStatic::new(&carol, bob.public()),
        ] {
            other.secret = SharedSecret::from_bytes_for_test([7; KEY_LEN]);
            assert!(ik(Some(other), &alice, &bob));
        }
    }
}
