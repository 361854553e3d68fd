// Fuzz body: announcement decoding and handling, raw and structure-aware.
//
// Raw: parsing never panics; a parsed segment or keepalive re-encodes to
// exactly the input bytes; a segment holding a whole chain spells a
// coordinate of the announced depth; a node fed the bytes on a registered
// link never panics, keeps its neighbour count, and either accepts or
// returns a typed error.
//
// Structure-aware: the input is a recipe (tree, depth, slots, ranks,
// epochs, flags, then byte mutations) from which the body builds and signs
// real announcements with fixed keys (a chain from a credentialed root to
// the link's peer, plus a grant to the node), so mutated but validly signed
// announcements reach the state machine past verification. An unmutated,
// fresh announcement must be accepted; every other one is accepted or
// refused with a typed error; the node never panics and keeps its
// neighbours.

use ed25519_dalek::{Signer, SigningKey};
use hyperport::routing::announce::{
    Announcement, SegmentHeader, chain_tag, encode_full, encode_keepalive_flagged, encode_segment,
    grant_message, next_tag, root_message, root_tag,
};
use hyperport::routing::{
    Config, Hop, LinkId, MAX_ANNOUNCE_LEN, NeighbourEntry, Node, RootInfo, credential,
};
use hyperport::time::Instant;

const AUTHORITY: [u8; 32] = [0xaa; 32];
const VICTIM: [u8; 32] = [0x77; 32];

pub fn run(data: &[u8]) {
    raw(data);
    structured(data);
}

fn raw(data: &[u8]) {
    if let Ok(a) = Announcement::parse(data) {
        let mut buf = vec![0u8; MAX_ANNOUNCE_LEN];
        let n = match &a {
            Announcement::Full(f) => {
                let hops: Vec<_> = f.hops().collect();
                assert_eq!(hops.len(), f.len());
                assert!(usize::from(f.start) + f.len() <= f.depth());
                if let Some(c) = f.coord() {
                    assert_eq!(c.depth(), f.depth());
                }
                let h = SegmentHeader {
                    tree: f.tree,
                    root: f.root,
                    total: f.total,
                    start: f.start,
                    digest: f.digest,
                    want: f.want,
                    detached: f.detached,
                };
                encode_segment(&mut buf, &h, &hops, f.grant.as_ref()).unwrap()
            }
            Announcement::Keepalive(k) => {
                let r = RootInfo {
                    credential: [0; 64],
                    ..k.root
                };
                encode_keepalive_flagged(&mut buf, k.tree, &r, &k.digest, k.want, k.detached).unwrap()
            }
        };
        assert_eq!(&buf[..n], data, "re-encoding differs");
    }
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut node = Node::new(Config::default(), &[7; 32], &mut table, Instant::ZERO);
    // The peer key is taken from where a one-hop chain's sender would be, so
    // inputs can reach the signature checks.
    let mut peer = [1u8; 32];
    if let Some(k) = data.get(201..233) {
        peer.copy_from_slice(k);
    }
    if peer == node.public_key() {
        peer[0] ^= 1;
    }
    node.handle_link_up(Instant::ZERO, LinkId(1), peer).unwrap();
    let _ = node.handle_announcement(Instant::from_secs(1), LinkId(1), data);
    let _ = node.handle_announcement(Instant::from_secs(2), LinkId(1), data);
    // The same bytes cut in two, as two consecutive messages: a segment
    // stream that starts, continues or breaks off anywhere.
    if let Some((&cut, _)) = data.split_first() {
        let (a, b) = data.split_at(usize::from(cut) % data.len());
        let _ = node.handle_announcement(Instant::from_secs(3), LinkId(1), a);
        let _ = node.handle_announcement(Instant::from_secs(3), LinkId(1), b);
    }
    assert_eq!(node.neighbour_count(), 1);
    let mut out = vec![0u8; MAX_ANNOUNCE_LEN];
    let mut sent = 0;
    while let Ok(Some(_)) = node.poll_transmit(&mut out) {
        sent += 1;
        assert!(sent <= 1, "more than one due announcement per neighbour");
    }
}

/// The signing key of chain position `i` (0: the root).
fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i.wrapping_add(1); 32])
}

struct Recipe<'a> {
    it: core::slice::Iter<'a, u8>,
}

impl Recipe<'_> {
    fn byte(&mut self) -> u8 {
        self.it.next().copied().unwrap_or(0)
    }
}

fn structured(data: &[u8]) {
    let mut r = Recipe { it: data.iter() };
    let tree = r.byte() % 2;
    let depth = usize::from(r.byte() % 6);
    let rank_sel = r.byte();
    let rank = if tree == 1 || rank_sel & 1 == 1 { u32::from(rank_sel) + 1 } else { 0 };
    let seq = u64::from(r.byte()) + 20;
    let spread = u16::from(r.byte() % 4);
    let want = r.byte().is_multiple_of(3).then(|| u16::from(r.byte() % 4));
    // The root and its heartbeat (credentialed by the authority).
    let root_sk = key(0);
    let root_key = root_sk.verifying_key().to_bytes();
    let root = RootInfo {
        key: root_key,
        rank,
        seq,
        spread,
        sig: root_sk.sign(&root_message(tree, &root_key, rank, seq, spread)).to_bytes(),
        credential: if rank == 0 { [0; 64] } else { credential::sign_rank(&AUTHORITY, &root_key, rank) },
    };
    // The chain down to the sender (position `depth`), each hop signed by
    // the key above it, with slots and ages from the recipe.
    let mut tag = root_tag(tree, &root_key, rank);
    let mut hops = Vec::new();
    let mut fresh = true;
    for i in 0..depth {
        let child = key(i as u8 + 1).verifying_key().to_bytes();
        let slot = u16::from(r.byte() % 3) + 1;
        let age = u64::from(r.byte() % 12);
        if i + 1 == depth && age > 6 {
            fresh = false;
        }
        let epoch = seq - age;
        let sig = key(i as u8).sign(&grant_message(&tag, slot, &child, epoch)).to_bytes();
        hops.push(Hop { key: child, slot, epoch, sig });
        tag = next_tag(&tag, &child, slot);
    }
    let sender = key(depth as u8);
    let sender_key = sender.verifying_key().to_bytes();
    let victim_key = credential::public_key(&VICTIM);
    let gslot = u16::from(r.byte() % 3) + 1;
    let gage = u64::from(r.byte() % 12);
    fresh &= gage <= 6;
    let gepoch = seq - gage;
    let grant = Hop {
        key: victim_key,
        slot: gslot,
        epoch: gepoch,
        sig: sender.sign(&grant_message(&tag, gslot, &victim_key, gepoch)).to_bytes(),
    };
    assert_eq!(tag, chain_tag(tree, &root, &hops));
    let mut msg = vec![0u8; MAX_ANNOUNCE_LEN];
    let n = encode_full(&mut msg, tree, &root, &hops, Some(&grant), want).unwrap();
    msg.truncate(n);
    // Mutations: (position, xor) pairs from the rest of the recipe.
    let mut mutated = msg.clone();
    let mutations = usize::from(r.byte() % 4);
    for _ in 0..mutations {
        let pos = (usize::from(r.byte()) << 8 | usize::from(r.byte())) % mutated.len();
        let x = r.byte();
        mutated[pos] ^= x;
    }
    let cut = r.byte();
    if cut > 240 {
        let keep = mutated.len() * usize::from(cut - 240) / 16;
        mutated.truncate(keep);
    }
    let config = Config {
        authority: Some(credential::public_key(&AUTHORITY)),
        trees: 2,
        ..Config::default()
    };
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut node = Node::new(config, &VICTIM, &mut table, Instant::ZERO);
    node.handle_link_up(Instant::ZERO, LinkId(1), sender_key).unwrap();
    node.handle_link_up(Instant::ZERO, LinkId(2), [0x42; 32]).unwrap();
    let t = Instant::from_secs(1);
    let res = node.handle_announcement(t, LinkId(1), &msg);
    // The victim ranks 0, so any root here beats it; a valid, fresh chain
    // of a credentialed (or, in tree 0, rank-0) root is accepted.
    if fresh {
        assert_eq!(res, Ok(()), "a valid announcement was refused");
    }
    if mutated != msg {
        let _ = node.handle_announcement(t, LinkId(1), &mutated);
        let _ = node.handle_announcement(t, LinkId(1), &msg);
    }
    // The same announcement on the wrong link, and again later.
    let _ = node.handle_announcement(t, LinkId(2), &msg);
    let _ = node.handle_announcement(Instant::from_secs(2), LinkId(1), &mutated);
    assert_eq!(node.neighbour_count(), 2);
    let mut out = vec![0u8; MAX_ANNOUNCE_LEN];
    let mut sent = 0;
    while let Ok(Some(_)) = node.poll_transmit(&mut out) {
        sent += 1;
        assert!(sent <= 2 * 2 * 4, "unbounded output");
    }
    while node.poll_event().is_some() {}
}
