//! What is signed and hashed: the root heartbeat, grants, rank credentials,
//! prefix tags and chain digests.
//!
//! Every message starts with its own domain label, so no signature can be
//! taken for another kind of message. Integers are big-endian.
//!
//! | message | bytes |
//! |---|---|
//! | heartbeat ([`root_message`]) | `"hyperport/routing/root/v3"` (25) · tree u8 · key \[32\] · rank u32 · seq u64 · spread u16 = [`ROOT_MSG_LEN`] = 72 |
//! | grant ([`grant_message`]) | `"hyperport/routing/grant/v3"` (26) · parent tag \[32\] · slot u16 · child key \[32\] · epoch u64 = [`GRANT_MSG_LEN`] = 100 |
//! | rank credential ([`rank_message`]) | `"hyperport/routing/rank/v1"` (25) · node key \[32\] · rank u32 = [`RANK_MSG_LEN`] = 61 |
//!
//! Prefix tags are BLAKE2s-256: the root's tag hashes
//! `"hyperport/routing/prefix/v3" · 0x00 · tree u8 · root key · rank`, each
//! level down hashes `"hyperport/routing/prefix/v3" · 0x01 · previous tag ·
//! key · slot`. A tag therefore commits to the tree, the root and every
//! `(key, slot)` from the root down; a grant signs the parent's tag, so it is
//! bound to exactly one position of one tree.

use blake2::Digest as _;

use super::{Hop, RootInfo};
use crate::buf::Writer;

const ROOT_DOMAIN: &[u8] = b"hyperport/routing/root/v3";
const GRANT_DOMAIN: &[u8] = b"hyperport/routing/grant/v3";
const RANK_DOMAIN: &[u8] = b"hyperport/routing/rank/v1";
const TAG_DOMAIN: &[u8] = b"hyperport/routing/prefix/v3";
const DIGEST_DOMAIN: &[u8] = b"hyperport/routing/digest/v3";

/// Length of the root heartbeat signature message.
pub const ROOT_MSG_LEN: usize = 25 + 1 + 32 + 4 + 8 + 2;
/// Length of a grant signature message.
pub const GRANT_MSG_LEN: usize = 26 + 32 + 2 + 32 + 8;
/// Length of a rank credential signature message.
pub const RANK_MSG_LEN: usize = 25 + 32 + 4;

/// The message a root signs for its heartbeat in tree `tree`.
pub fn root_message(
    tree: u8,
    key: &[u8; 32],
    rank: u32,
    seq: u64,
    spread: u16,
) -> [u8; ROOT_MSG_LEN] {
    let mut m = [0u8; ROOT_MSG_LEN];
    let mut w = Writer::new(&mut m);
    // The writes total ROOT_MSG_LEN bytes exactly; they cannot fail.
    let _ = w.put(ROOT_DOMAIN);
    let _ = w.u8(tree);
    let _ = w.put(key);
    let _ = w.u32(rank);
    let _ = w.u64(seq);
    let _ = w.u16(spread);
    m
}

/// The message a parent whose prefix tag is `parent_tag` signs to grant
/// `slot` to `child`, valid from the root heartbeat `epoch` on (see
/// [`super::GRANT_LIFETIME`]).
pub fn grant_message(
    parent_tag: &[u8; 32],
    slot: u16,
    child: &[u8; 32],
    epoch: u64,
) -> [u8; GRANT_MSG_LEN] {
    let mut m = [0u8; GRANT_MSG_LEN];
    let mut w = Writer::new(&mut m);
    // The writes total GRANT_MSG_LEN bytes exactly; they cannot fail.
    let _ = w.put(GRANT_DOMAIN);
    let _ = w.put(parent_tag);
    let _ = w.u16(slot);
    let _ = w.put(child);
    let _ = w.u64(epoch);
    m
}

/// The message an authority signs to let `node` use `rank` (a rank
/// credential, [`crate::routing::credential`]).
pub fn rank_message(node: &[u8; 32], rank: u32) -> [u8; RANK_MSG_LEN] {
    let mut m = [0u8; RANK_MSG_LEN];
    let mut w = Writer::new(&mut m);
    // The writes total RANK_MSG_LEN bytes exactly; they cannot fail.
    let _ = w.put(RANK_DOMAIN);
    let _ = w.put(node);
    let _ = w.u32(rank);
    m
}

/// Prefix tag of the root of tree `tree` itself (depth 0).
pub fn root_tag(tree: u8, root: &[u8; 32], rank: u32) -> [u8; 32] {
    let mut h = blake2::Blake2s256::new();
    h.update(TAG_DOMAIN);
    h.update([0u8, tree]);
    h.update(root);
    h.update(rank.to_be_bytes());
    h.finalize().into()
}

/// Prefix tag one level down: the tag of the parent's prefix, then the
/// child's key and slot.
pub fn next_tag(prev: &[u8; 32], key: &[u8; 32], slot: u16) -> [u8; 32] {
    let mut h = blake2::Blake2s256::new();
    h.update(TAG_DOMAIN);
    h.update([1u8]);
    h.update(prev);
    h.update(key);
    h.update(slot.to_be_bytes());
    h.finalize().into()
}

/// The final prefix tag of a chain in tree `tree` (sender's view).
pub fn chain_tag(tree: u8, root: &RootInfo, hops: &[Hop]) -> [u8; 32] {
    hops.iter()
        .fold(root_tag(tree, &root.key, root.rank), |t, h| {
            next_tag(&t, &h.key, h.slot)
        })
}

/// Epoch of a chain's last hop (the sender's own grant; 0 for the root's
/// empty chain).
pub fn last_epoch(hops: &[Hop]) -> u64 {
    hops.last().map_or(0, |h| h.epoch)
}

/// The digest a keepalive carries and a segment names its chain by: the
/// final prefix tag of the chain, the epoch of its last hop and the epoch
/// of the grant offered to the receiver (0 without one). Renewing a grant
/// ([`super::GRANT_LIFETIME`]) changes it, so a receiver that missed the
/// renewed announcement notices at the next keepalive.
pub fn chain_digest(final_tag: &[u8; 32], last_epoch: u64, grant_epoch: u64) -> [u8; 16] {
    let mut h = blake2::Blake2s256::new();
    h.update(DIGEST_DOMAIN);
    h.update(final_tag);
    h.update(last_epoch.to_be_bytes());
    h.update(grant_epoch.to_be_bytes());
    let out: [u8; 32] = h.finalize().into();
    let mut d = [0u8; 16];
    for (d, o) in d.iter_mut().zip(out) {
        *d = o;
    }
    d
}

/// The digest of a chain and its grant, from the sender's side.
pub fn digest_of(tree: u8, root: &RootInfo, hops: &[Hop], grant: Option<&Hop>) -> [u8; 16] {
    chain_digest(
        &chain_tag(tree, root, hops),
        last_epoch(hops),
        grant.map_or(0, |g| g.epoch),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layouts_typed_by_hand() {
        assert_eq!(ROOT_MSG_LEN, 72);
        assert_eq!(GRANT_MSG_LEN, 100);
        assert_eq!(RANK_MSG_LEN, 61);
        let m = root_message(2, &[7; 32], 0x0102_0304, 5, 0x0a0b);
        assert_eq!(&m[..25], b"hyperport/routing/root/v3");
        assert_eq!(m[25], 2);
        assert_eq!(&m[26..58], &[7; 32]);
        assert_eq!(&m[58..62], &[1, 2, 3, 4]);
        assert_eq!(&m[62..70], &[0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&m[70..], &[0x0a, 0x0b]);
        let g = grant_message(&[3; 32], 0x0201, &[4; 32], 9);
        assert_eq!(&g[..26], b"hyperport/routing/grant/v3");
        assert_eq!(&g[26..58], &[3; 32]);
        assert_eq!(&g[58..60], &[2, 1]);
        assert_eq!(&g[60..92], &[4; 32]);
        assert_eq!(&g[92..], &[0, 0, 0, 0, 0, 0, 0, 9]);
        let r = rank_message(&[5; 32], 7);
        assert_eq!(&r[..25], b"hyperport/routing/rank/v1");
        assert_eq!(&r[25..57], &[5; 32]);
        assert_eq!(&r[57..], &[0, 0, 0, 7]);
    }

    #[test]
    fn tags_bind_tree_root_and_every_level() {
        let t0 = root_tag(0, &[1; 32], 7);
        assert_ne!(root_tag(1, &[1; 32], 7), t0, "another tree");
        assert_ne!(root_tag(0, &[1; 32], 8), t0, "another rank");
        let t1 = next_tag(&t0, &[3; 32], 4);
        assert_ne!(next_tag(&t0, &[3; 32], 5), t1);
        assert_ne!(next_tag(&t0, &[2; 32], 4), t1);
        let root = RootInfo {
            key: [1; 32],
            rank: 7,
            seq: 9,
            spread: 0,
            sig: [0; 64],
            credential: [0; 64],
        };
        let hops = [Hop {
            key: [3; 32],
            slot: 4,
            epoch: 8,
            sig: [0; 64],
        }];
        assert_eq!(chain_tag(0, &root, &hops), t1);
        // The digest moves with the last hop's epoch and the grant's epoch.
        let d = chain_digest(&t1, 8, 9);
        assert_ne!(chain_digest(&t1, 9, 9), d);
        assert_ne!(chain_digest(&t1, 8, 10), d);
        let g = Hop {
            key: [5; 32],
            slot: 1,
            epoch: 9,
            sig: [0; 64],
        };
        assert_eq!(digest_of(0, &root, &hops, Some(&g)), d);
        assert_eq!(last_epoch(&[]), 0);
    }
}
