//! Rank credentials: how a deployment controls who may be a root.
//!
//! A rank above 0 counts only when the deployment's *authority* (an
//! Ed25519 key every node configures as [`super::Config::authority`]) has
//! signed it for the node's key: the credential is the authority's
//! signature over [`rank_message`]`(node key, rank)` (61 bytes, typed out in
//! [`super::announce::sign`]). A root heartbeat with a rank above 0 carries
//! the credential; a receiver verifies it (once per root, cached) and
//! refuses the announcement otherwise
//! ([`super::AnnounceError::BadCredential`]). A node without a credential
//! runs at rank 0.
//!
//! What this bounds:
//!
//! * In every tree a credentialed candidate beats every uncredentialed one
//!   (tree 0 by rank; trees 1.. compare "credentialed" before the distance
//!   to the earlier roots), so where credentialed nodes are reachable an
//!   unauthorised node roots no tree, whatever rank it claims or key it
//!   grinds.
//! * Without credentials (no authority configured, or none reachable) the
//!   roots are chosen among ordinary nodes (tree 0: the smallest key; trees
//!   1..: the smallest key far enough from the earlier roots), and one key
//!   roots at most one tree (see `node/election.rs`): an unauthorised node
//!   roots at most one tree under its own key. It can make up more keys
//!   (pretend to be several nodes); nothing but a credential outranks that.
//! * A credential is not revocable by the protocol: to withdraw one, the
//!   deployment changes its authority key (and re-issues the credentials it
//!   keeps).
//!
//! ```
//! use hyperport::routing::credential::{sign_rank, verify_rank};
//! let authority_secret = [9u8; 32];
//! let authority = hyperport::routing::credential::public_key(&authority_secret);
//! let node_key = [1u8; 32]; // the node's routing public key
//! let cred = sign_rank(&authority_secret, &node_key, 42);
//! assert!(verify_rank(&authority, &node_key, 42, &cred));
//! assert!(!verify_rank(&authority, &node_key, 43, &cred));
//! ```

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

pub use super::announce::sign::{RANK_MSG_LEN, rank_message};

/// The Ed25519 public key of a 32-byte secret seed: an authority's (for
/// [`super::Config::authority`]) or a node's (the key its credential
/// names; the same key [`super::Node::public_key`] returns).
pub fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(secret).verifying_key().to_bytes()
}

/// The credential letting `node` use `rank`: the authority's signature over
/// [`rank_message`]. Runs where the authority's secret is kept (not in the
/// nodes).
pub fn sign_rank(authority_secret: &[u8; 32], node: &[u8; 32], rank: u32) -> [u8; 64] {
    SigningKey::from_bytes(authority_secret)
        .sign(&rank_message(node, rank))
        .to_bytes()
}

/// Whether `credential` is `authority`'s valid signature of `(node, rank)`
/// (strict Ed25519 verification).
pub fn verify_rank(
    authority: &[u8; 32],
    node: &[u8; 32],
    rank: u32,
    credential: &[u8; 64],
) -> bool {
    VerifyingKey::from_bytes(authority)
        .map(|k| {
            k.verify_strict(
                &rank_message(node, rank),
                &Signature::from_bytes(credential),
            )
            .is_ok()
        })
        .unwrap_or(false)
}
