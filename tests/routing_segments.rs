//! Chains deeper than one segment: a 700-node path joins one tree and routes
//! end to end; a hand-signed 300-hop chain arrives in two segments and is
//! adopted; out-of-order, re-rooted, forged and self-containing segments are
//! refused or ignored with typed, counted errors; a node whose chain store
//! is too small for a deep chain keeps its position.

mod routing_support;
use ed25519_dalek::{Signer, SigningKey};
use hyperport::routing::announce::{
    Hop, RootInfo, SEGMENT_HOPS, SegmentHeader, chain_digest, encode_segment, grant_message,
    next_tag, root_tag,
};
use hyperport::routing::{
    AnnounceError, Config, Ed25519, LinkId, MAX_ANNOUNCE_LEN, NeighbourEntry, Node,
};
use hyperport::time::Instant;
use routing_support::{HeapChain, Net, Xs, member_config, seed_of, signed_root};

/// The victims' config: the test deployment, a budget that covers a whole
/// 300-hop chain in one interval (the budget has its own tests).
/// One tree: these tests follow one deep chain (with more trees the victim
/// would also root a later tree, and a later tree's root waits
/// `LATER_ROOT_WAIT` intervals more before it stands for tree 0).
fn victim_config() -> Config {
    Config {
        trees: 1,
        verify_budget: 1_000,
        ..member_config()
    }
}

fn sk(i: usize) -> SigningKey {
    SigningKey::from_bytes(&seed_of(i))
}

fn pk(i: usize) -> [u8; 32] {
    sk(i).verifying_key().to_bytes()
}

/// A hand-signed chain: root `sk(9000)` at the top rank, then keys
/// `sk(9001)..` each granted slot 1 by the one above, `depth` hops.
/// Returns the heartbeat, the hops and the prefix tag of every level
/// (`tags[k]` = after `k` hops).
fn chain(depth: usize) -> (RootInfo, Vec<Hop>, Vec<[u8; 32]>) {
    branch(9000, depth)
}

/// Key index of hop `k` (0-based) of the chain whose keys start after
/// `base`: the root's child is `base + 1`; `base` 9000 is the root itself.
fn key_of(base: usize, k: usize) -> usize {
    base + 1 + k
}

/// Like [`chain`], with the hops' keys after `base` (the root stays
/// `sk(9000)`): a second branch under the same root.
fn branch(base: usize, depth: usize) -> (RootInfo, Vec<Hop>, Vec<[u8; 32]>) {
    let keys: Vec<usize> = (0..depth).map(|k| key_of(base, k)).collect();
    keyed(&keys)
}

/// A chain under root `sk(9000)` whose hop `k` is key `keys[k]`, granted
/// slot 1 by the key above.
fn keyed(keys: &[usize]) -> (RootInfo, Vec<Hop>, Vec<[u8; 32]>) {
    let key = pk(9000);
    let hb = signed_root(&sk(9000), 0, u32::MAX, 1, 0);
    let mut tags = vec![root_tag(0, &key, u32::MAX)];
    let mut hops = Vec::new();
    for (k, &key) in keys.iter().enumerate() {
        let child = pk(key);
        let tag = tags[k];
        let signer = if k == 0 { sk(9000) } else { sk(keys[k - 1]) };
        let sig = signer.sign(&grant_message(&tag, 1, &child, 1)).to_bytes();
        hops.push(Hop {
            key: child,
            slot: 1,
            epoch: 1,
            sig,
        });
        tags.push(next_tag(&tag, &child, 1));
    }
    (hb, hops, tags)
}

/// The segments of `hops` (with a grant of slot 1 for `victim` by the last
/// key) as the sender would write them.
fn segments(hb: &RootInfo, hops: &[Hop], tags: &[[u8; 32]], victim: [u8; 32]) -> Vec<Vec<u8>> {
    segments_by(9000, hb, hops, tags, victim)
}

/// [`segments`] of a [`branch`] with keys after `base`.
fn segments_by(
    base: usize,
    hb: &RootInfo,
    hops: &[Hop],
    tags: &[[u8; 32]],
    victim: [u8; 32],
) -> Vec<Vec<u8>> {
    segments_from(key_of(base, hops.len() - 1), hb, hops, tags, victim)
}

/// The segments of a chain whose last key is `sender`.
fn segments_from(
    sender: usize,
    hb: &RootInfo,
    hops: &[Hop],
    tags: &[[u8; 32]],
    victim: [u8; 32],
) -> Vec<Vec<u8>> {
    let d = hops.len();
    let sender = sk(sender);
    let grant = Hop {
        key: victim,
        slot: 1,
        epoch: 1,
        sig: sender
            .sign(&grant_message(&tags[d], 1, &victim, 1))
            .to_bytes(),
    };
    let digest = chain_digest(&tags[d], 1, 1);
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + SEGMENT_HOPS).min(d);
        let mut b = vec![0u8; MAX_ANNOUNCE_LEN];
        let h = SegmentHeader {
            tree: 0,
            root: *hb,
            total: d as u16,
            start: start as u16,
            digest,
            want: None,
            detached: false,
        };
        let n = encode_segment(&mut b, &h, &hops[start..end], Some(&grant)).unwrap();
        b.truncate(n);
        out.push(b);
        if end == d {
            return out;
        }
        start = end;
    }
}

const SENDER: LinkId = LinkId(9);
const DEPTH: usize = 300;

/// A victim with heap chain stores, linked to the sender of a `DEPTH`-hop
/// chain.
fn victim(table: &mut [NeighbourEntry; 2]) -> Node<'_, Ed25519, HeapChain> {
    let mut v = Node::with_chain_stores(
        victim_config(),
        &seed_of(1),
        table,
        Instant::ZERO,
        Ed25519,
        HeapChain::default(),
        HeapChain::default(),
    );
    v.handle_link_up(Instant::ZERO, SENDER, pk(9000 + DEPTH))
        .unwrap();
    v
}

#[test]
fn a_chain_deeper_than_one_segment_is_verified_and_adopted() {
    let (hb, hops, tags) = chain(DEPTH);
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = victim(&mut table);
    let segs = segments(&hb, &hops, &tags, v.public_key());
    assert_eq!(segs.len(), 2, "255 + 45 hops");
    let t = Instant::from_secs(1);
    v.handle_announcement(t, SENDER, &segs[0]).unwrap();
    assert!(v.is_root(), "nothing is adopted before the last segment");
    v.handle_announcement(t, SENDER, &segs[1]).unwrap();
    assert_eq!(v.root().key, pk(9000));
    assert_eq!(v.coord().depth(), DEPTH + 1);
    assert_eq!(v.coord().runs().len(), 1, "301 times slot 1: one run");
    assert_eq!(v.parent(), Some(SENDER));
    // Every grant, the heartbeat and the rank credential were checked with
    // Ed25519.
    assert_eq!(v.stats().signatures_verified, DEPTH as u64 + 3);
}

#[test]
fn out_of_order_and_re_rooted_segments_are_refused() {
    let (hb, hops, tags) = chain(DEPTH);
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = victim(&mut table);
    let segs = segments(&hb, &hops, &tags, v.public_key());
    let t = Instant::from_secs(1);
    // The second segment without the first.
    assert_eq!(
        v.handle_announcement(t, SENDER, &segs[1]),
        Err(AnnounceError::OutOfOrder)
    );
    // The first segment, then the second under a newer heartbeat: the
    // chain changed under the stream.
    v.handle_announcement(t, SENDER, &segs[0]).unwrap();
    let hb2 = signed_root(&sk(9000), 0, hb.rank, 2, 0);
    let segs2: Vec<Vec<u8>> = segments(&hb2, &hops, &tags, v.public_key())
        .into_iter()
        .map(|mut s| {
            // The same chain under heartbeat 2, named by another digest.
            s[185] ^= 1;
            s
        })
        .collect();
    assert_eq!(
        v.handle_announcement(t, SENDER, &segs2[1]),
        Err(AnnounceError::OutOfOrder)
    );
    // The first segment twice in a row restarts the stream (no error), and
    // a second copy of the last one after the stream ended is out of order.
    v.handle_announcement(t, SENDER, &segs[0]).unwrap();
    v.handle_announcement(t, SENDER, &segs[0]).unwrap();
    v.handle_announcement(t, SENDER, &segs[1]).unwrap();
    assert_eq!(v.coord().depth(), DEPTH + 1);
    assert_eq!(
        v.handle_announcement(t, SENDER, &segs[1]),
        Err(AnnounceError::OutOfOrder)
    );
    assert_eq!(v.stats().out_of_order, 3);
}

#[test]
fn a_forged_hop_in_a_later_segment_is_refused_and_nothing_moves() {
    let (hb, mut hops, tags) = chain(DEPTH);
    // Hop 270 (in the second segment) signed by the wrong key.
    let child = hops[270].key;
    hops[270].sig = sk(4242)
        .sign(&grant_message(&tags[270], 1, &child, 1))
        .to_bytes();
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = victim(&mut table);
    let segs = segments(&hb, &hops, &tags, v.public_key());
    let t = Instant::from_secs(1);
    v.handle_announcement(t, SENDER, &segs[0]).unwrap();
    assert_eq!(
        v.handle_announcement(t, SENDER, &segs[1]),
        Err(AnnounceError::BadSignature)
    );
    assert!(v.is_root());
    assert_eq!(v.stats().rejected_signature, 1);
}

#[test]
fn a_deep_chain_through_ourselves_is_not_an_offer() {
    // The victim's own key is hop 260 of the chain (in the second segment):
    // joining would put it under itself.
    let (hb, mut hops, mut tags) = chain(DEPTH);
    let me = pk(1);
    hops[260].key = me;
    for k in 260..DEPTH {
        let parent_sk = if k == 260 { sk(9260) } else { sk(9000 + k) };
        let signer = if k == 261 { sk(1) } else { parent_sk };
        hops[k].sig = signer
            .sign(&grant_message(&tags[k], 1, &hops[k].key, 1))
            .to_bytes();
        tags[k + 1] = next_tag(&tags[k], &hops[k].key, 1);
    }
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = victim(&mut table);
    let segs = segments(&hb, &hops, &tags, me);
    let t = Instant::from_secs(1);
    v.handle_announcement(t, SENDER, &segs[0]).unwrap();
    v.handle_announcement(t, SENDER, &segs[1]).unwrap();
    assert!(v.is_root(), "a chain containing us is never adopted");
}

#[test]
fn a_node_whose_store_is_too_small_keeps_its_position() {
    // The default store holds 64 hops: a 300-hop chain is verified (the
    // neighbour stays usable for forwarding) but cannot be adopted.
    let (hb, hops, tags) = chain(DEPTH);
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = Node::new(victim_config(), &seed_of(1), &mut table, Instant::ZERO);
    v.handle_link_up(Instant::ZERO, SENDER, pk(9000 + DEPTH))
        .unwrap();
    let segs = segments(&hb, &hops, &tags, v.public_key());
    let t = Instant::from_secs(1);
    v.handle_announcement(t, SENDER, &segs[0]).unwrap();
    v.handle_announcement(t, SENDER, &segs[1]).unwrap();
    assert!(v.is_root());
}

#[test]
fn a_700_node_path_forms_one_tree_and_routes_end_to_end() {
    const N: usize = 700;
    let mut adj = vec![Vec::new(); N];
    for i in 0..N - 1 {
        adj[i].push(i + 1);
        adj[i + 1].push(i);
    }
    let mut net = Net::new(adj);
    net.converge(5, 5_000);
    let root = net.nodes[0].root().key;
    let mut deepest = 0;
    for (i, n) in net.nodes.iter().enumerate() {
        assert_eq!(n.root().key, root, "node {i} in another tree");
        deepest = deepest.max(n.coord().depth());
        assert!(n.coord().runs().len() <= 3, "node {i}: {:?}", n.coord());
        // Tree depth = hops to the root along the path.
        let r = net.nodes.iter().position(|m| m.is_root()).unwrap();
        assert_eq!(n.coord().depth(), i.abs_diff(r), "node {i}");
    }
    // Any root leaves one side at least (N - 1) / 2 deep: several segments.
    assert!(deepest > SEGMENT_HOPS, "deepest {deepest}");
    let mut rng = Xs(7);
    for _ in 0..100 {
        let (s, t) = (rng.below(N), rng.below(N));
        assert_eq!(net.route(s, t), Some(s.abs_diff(t) as u32), "{s} -> {t}");
    }
}

#[test]
fn a_deep_node_gives_its_root_more_time_per_hop() {
    // Depth 301: the root may stay silent 40 s + 301 × 100 ms = 70.1 s
    // (Config defaults typed by hand) before this node declares it dead.
    use hyperport::routing::announce::encode_keepalive;
    use hyperport::time::{Duration, Timed};
    let (hb, hops, tags) = chain(DEPTH);
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = victim(&mut table);
    let segs = segments(&hb, &hops, &tags, v.public_key());
    let t0 = Instant::from_secs(1);
    v.handle_announcement(t0, SENDER, &segs[0]).unwrap();
    v.handle_announcement(t0, SENDER, &segs[1]).unwrap();
    assert_eq!(v.coord().depth(), DEPTH + 1);
    // The parent stays alive (keepalives every second) but the heartbeat
    // never advances.
    let mut k = vec![0u8; 200];
    let n = encode_keepalive(&mut k, 0, &hb, &chain_digest(&tags[DEPTH], 1, 1), None).unwrap();
    k.truncate(n);
    let mut dead_at = None;
    for ms in (100..80_000u64).step_by(100) {
        let now = t0 + Duration::from_millis(ms);
        if ms % 1_000 == 0 {
            v.handle_announcement(now, SENDER, &k).unwrap();
        }
        if v.poll_timeout().is_some_and(|t| t <= now) {
            v.handle_timeout(now);
        }
        if v.is_root() {
            dead_at = Some(ms);
            break;
        }
    }
    let dead_at = dead_at.expect("the root was never declared dead");
    assert!(
        (70_100..70_300).contains(&dead_at),
        "dead after {dead_at} ms"
    );
    assert_eq!(v.stats().roots_expired, 1);
}

#[test]
fn a_new_heartbeat_is_passed_down_at_once() {
    // A node under a hand-signed chain receives a newer heartbeat from its
    // parent half-way through an announcement interval: it owes its other
    // neighbour a keepalive carrying it now, not at its next interval.
    use hyperport::routing::TRANSMIT_BUF_LEN;
    use hyperport::routing::announce::{Announcement, encode_keepalive};
    use hyperport::time::{Duration, Timed};
    let (hb, hops, tags) = chain(3);
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = Node::with_chain_stores(
        victim_config(),
        &seed_of(1),
        &mut table,
        Instant::ZERO,
        Ed25519,
        HeapChain::default(),
        HeapChain::default(),
    );
    v.handle_link_up(Instant::ZERO, SENDER, pk(9003)).unwrap();
    v.handle_link_up(Instant::ZERO, LinkId(5), pk(77)).unwrap();
    let t0 = Instant::from_secs(1);
    v.handle_timeout(t0);
    for s in segments(&hb, &hops, &tags, v.public_key()) {
        v.handle_announcement(t0, SENDER, &s).unwrap();
    }
    assert_eq!(v.coord().depth(), 4);
    let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
    while v.poll_transmit(&mut buf).unwrap().is_some() {}
    // Half an interval later: heartbeat seq 2 from the parent.
    let now = t0 + Duration::from_millis(500);
    let hb2 = signed_root(&sk(9000), 0, hb.rank, 2, 0);
    let mut k = vec![0u8; 200];
    let n = encode_keepalive(&mut k, 0, &hb2, &chain_digest(&tags[3], 1, 1), None).unwrap();
    v.handle_announcement(now, SENDER, &k[..n]).unwrap();
    assert_eq!(v.root().seq, 2);
    let mut to_other = None;
    while let Some(t) = v.poll_transmit(&mut buf).unwrap() {
        if t.link == LinkId(5) {
            to_other = Some(buf[..t.len].to_vec());
        }
    }
    let msg = to_other.expect("no announcement to the other neighbour");
    let Ok(Announcement::Keepalive(ka)) = Announcement::parse(&msg) else {
        panic!("a keepalive")
    };
    assert_eq!(ka.root.seq, 2);
}

#[test]
fn a_neighbour_that_never_finishes_its_chain_holds_the_staging_area_one_interval_at_most() {
    // The attacker (link 9) keeps restarting a valid 300-hop chain under a
    // better root and never sends its second segment. An honest neighbour
    // (link 8) offers a 260-hop chain under the same root in two segments.
    use hyperport::time::Duration;
    let (hb, hops, tags) = chain(DEPTH);
    let (_, honest_hops, honest_tags) = branch(9500, 260);
    let honest_link = LinkId(8);
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = victim(&mut table);
    v.handle_link_up(Instant::ZERO, honest_link, pk(key_of(9500, 259)))
        .unwrap();
    let me = v.public_key();
    let attack = segments(&hb, &hops, &tags, me);
    let honest = segments_by(9500, &hb, &honest_hops, &honest_tags, me);
    assert_eq!(honest.len(), 2);
    let at = |ms| Instant::from_secs(1) + Duration::from_millis(ms);
    // t = 1.0 s: the attacker's first segment takes the staging area.
    v.handle_announcement(at(0), SENDER, &attack[0]).unwrap();
    // t = 1.2 s: the honest chain verifies but cannot be staged yet.
    for s in &honest {
        v.handle_announcement(at(200), honest_link, s).unwrap();
    }
    assert!(v.is_root(), "staging area still lent to the attacker");
    // t = 1.9 s: the attacker restarts; that does not renew its lease.
    v.handle_announcement(at(900), SENDER, &attack[0]).unwrap();
    // t = 2.1 s, one interval after the attacker took it: the honest chain
    // (asked for again) is staged and adopted.
    for s in &honest {
        v.handle_announcement(at(1_100), honest_link, s).unwrap();
    }
    assert_eq!(v.parent(), Some(honest_link));
    assert_eq!(v.coord().depth(), 261);
    // The attacker's restarted stream lost the area: finishing it now does
    // not move us (it is deeper anyway).
    v.handle_announcement(at(1_200), SENDER, &attack[1])
        .unwrap();
    assert_eq!(v.parent(), Some(honest_link));
}

#[test]
fn our_parents_chain_keeps_the_staging_area_however_long_it_has_held_it() {
    // Our parent (link 9, key 9300) has held the staging area since an
    // earlier refresh; now it moves (a new 300-hop chain through keys
    // 9701..) and, between its two segments, another candidate (link 8, a
    // 300-hop chain: same depth and coordinate, not better) sends its
    // chain. The parent's chain must stay staged: we follow it rather than
    // dropping to root.
    use hyperport::time::Duration;
    let (hb, hops, tags) = chain(DEPTH);
    let mut moved_keys: Vec<usize> = (9701..9701 + DEPTH - 1).collect();
    moved_keys.push(9000 + DEPTH);
    let (_, moved, moved_tags) = keyed(&moved_keys);
    let (_, other, other_tags) = branch(9500, DEPTH);
    let other_link = LinkId(8);
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut v = victim(&mut table);
    v.handle_link_up(Instant::ZERO, other_link, pk(key_of(9500, DEPTH - 1)))
        .unwrap();
    let me = v.public_key();
    let at = |ms| Instant::from_secs(1) + Duration::from_millis(ms);
    let first = segments(&hb, &hops, &tags, me);
    for s in &first {
        v.handle_announcement(at(0), SENDER, s).unwrap();
    }
    assert_eq!(v.parent(), Some(SENDER));
    // t = 3 s: the same chain again (a refresh: nothing moves).
    for s in &first {
        v.handle_announcement(at(2_000), SENDER, s).unwrap();
    }
    assert_eq!(v.parent(), Some(SENDER));
    // t = 10 s: the parent's moved chain, interleaved with the other's.
    let moved_segs = segments_from(9000 + DEPTH, &hb, &moved, &moved_tags, me);
    let other_segs = segments_by(9500, &hb, &other, &other_tags, me);
    v.handle_announcement(at(9_000), SENDER, &moved_segs[0])
        .unwrap();
    for s in &other_segs {
        v.handle_announcement(at(9_100), other_link, s).unwrap();
    }
    v.handle_announcement(at(9_200), SENDER, &moved_segs[1])
        .unwrap();
    assert!(
        !v.is_root(),
        "dropped to root: the parent's chain lost its staging"
    );
    assert_eq!(v.parent(), Some(SENDER));
    assert_eq!(v.coord().depth(), DEPTH + 1);
}
