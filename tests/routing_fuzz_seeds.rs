//! The routing fuzz seeds (`fuzz/corpus/routing_*`): announcements whose
//! signatures are valid (so the fuzzer starts past verification), headers
//! of one and several trees, and forwarding inputs. `cargo test --test
//! routing_fuzz_seeds -- --ignored` writes them; the ordinary run checks
//! that the committed announcement seeds are still accepted by the node the
//! fuzz body builds (their signatures verify), so a format change that
//! would leave the fuzzer stuck at verification fails here.

use ed25519_dalek::{Signer, SigningKey};
use hyperport::routing::announce::{
    SegmentHeader, chain_digest, encode_full, encode_keepalive, encode_segment, grant_message,
    next_tag, root_message, root_tag,
};
use hyperport::routing::{
    Config, Coord, Header, Hop, LinkId, Locator, MAX_ANNOUNCE_LEN, NeighbourEntry, Node, RootId,
    RootInfo, TreeCoord, credential,
};
use hyperport::time::Instant;
use std::path::PathBuf;

/// The raw path of `fuzz/bodies/routing_announce.rs` runs a node with this
/// secret and no authority (every rank 0), linked to the chain's first hop.
const VICTIM: [u8; 32] = [7; 32];

fn sk(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

/// A rank-0 root (key 0x30) in tree 0, hops to keys 0x31.., a grant to the
/// victim; `seq` the heartbeat.
fn chain(depth: usize, seq: u64) -> (RootInfo, Vec<Hop>, [u8; 32], Hop) {
    let root = sk(0x30);
    let key = root.verifying_key().to_bytes();
    let hb = RootInfo {
        key,
        rank: 0,
        seq,
        spread: 0,
        sig: root.sign(&root_message(0, &key, 0, seq, 0)).to_bytes(),
        credential: [0; 64],
    };
    let mut tag = root_tag(0, &key, 0);
    let mut hops = Vec::new();
    let mut signer = root;
    for k in 0..depth {
        let child = sk(0x31 + k as u8).verifying_key().to_bytes();
        let slot = 1 + (k as u16 % 3);
        hops.push(Hop {
            key: child,
            slot,
            epoch: seq,
            sig: signer
                .sign(&grant_message(&tag, slot, &child, seq))
                .to_bytes(),
        });
        tag = next_tag(&tag, &child, slot);
        signer = sk(0x31 + k as u8);
    }
    let victim = credential::public_key(&VICTIM);
    let grant = Hop {
        key: victim,
        slot: 2,
        epoch: seq,
        sig: signer
            .sign(&grant_message(&tag, 2, &victim, seq))
            .to_bytes(),
    };
    (hb, hops, tag, grant)
}

fn seeds_announce() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut b = vec![0u8; MAX_ANNOUNCE_LEN];
    // One hop: the sender is the root's child, as the raw body assumes.
    let (hb, hops, tag, g) = chain(1, 5);
    let n = encode_full(&mut b, 0, &hb, &hops, Some(&g), None).unwrap();
    out.push(("full-1hop-grant-signed", b[..n].to_vec()));
    let n = encode_full(&mut b, 0, &hb, &hops, Some(&g), Some(0)).unwrap();
    out.push(("full-1hop-want-signed", b[..n].to_vec()));
    // Its keepalive, and its renewal (the last hop alone).
    let d = chain_digest(&tag, hops[0].epoch, g.epoch);
    let n = encode_keepalive(&mut b, 0, &hb, &d, None).unwrap();
    out.push(("keepalive-1hop-signed", b[..n].to_vec()));
    // Two segments of a 3-hop chain (1 + 2 hops), as the stream goes.
    let (hb, hops, tag, g) = chain(3, 9);
    let d = chain_digest(&tag, hops[2].epoch, g.epoch);
    let h = |start| SegmentHeader {
        tree: 0,
        root: hb,
        total: 3,
        start,
        digest: d,
        want: None,
        detached: false,
    };
    let n = encode_segment(&mut b, &h(0), &hops[..1], Some(&g)).unwrap();
    out.push(("segment-first-of-3-signed", b[..n].to_vec()));
    let n = encode_segment(&mut b, &h(1), &hops[1..], Some(&g)).unwrap();
    out.push(("segment-rest-of-3-signed", b[..n].to_vec()));
    let n = encode_segment(&mut b, &h(2), &hops[2..], Some(&g)).unwrap();
    out.push(("segment-renewal-last-hop-signed", b[..n].to_vec()));
    // The root's own announcement.
    let (hb, _, _, g) = chain(0, 3);
    let n = encode_full(&mut b, 0, &hb, &[], Some(&g), None).unwrap();
    out.push(("full-root-grant-signed", b[..n].to_vec()));
    // Recipes for the structure-aware path (tree, depth, rank, seq, spread,
    // want, slots/ages..., then mutations).
    out.push((
        "recipe-tree1-depth5",
        vec![1, 5, 7, 3, 2, 0, 1, 0, 2, 1, 3, 0, 1, 2, 2, 1, 0, 0, 0],
    ));
    out.push(("recipe-tree0-root", vec![0, 0, 0, 0, 0, 1, 0, 1, 0, 0]));
    out.push((
        "recipe-mutated",
        vec![0, 2, 1, 9, 1, 2, 0, 1, 0, 2, 1, 2, 3, 0, 210, 0xff, 0],
    ));
    out
}

fn seeds_header() -> Vec<(&'static str, Vec<u8>)> {
    let c = |s: &[u16]| Coord::from_slots(s).unwrap();
    let mut out = Vec::new();
    let mut b = vec![0u8; 9_000];
    let one = Header::new(
        Locator::tree0(RootId([1; 8]), c(&[1, 2, 3])),
        Locator::tree0(RootId([1; 8]), c(&[4])),
    );
    let n = one.encode(&mut b).unwrap();
    out.push(("data-one-tree", b[..n].to_vec()));
    let mut dest = Locator::tree0(RootId([1; 8]), c(&[1, 2]));
    dest.set(
        1,
        Some(TreeCoord {
            root: RootId([2; 8]),
            coord: c(&[3, 3, 1]),
        }),
    );
    dest.set(
        2,
        Some(TreeCoord {
            root: RootId([3; 8]),
            coord: c(&[]),
        }),
    );
    let mut src = Locator::tree0(RootId([1; 8]), c(&[2]));
    src.set(
        1,
        Some(TreeCoord {
            root: RootId([2; 8]),
            coord: c(&[1]),
        }),
    );
    let three = Header::new(dest, src);
    let n = three.encode(&mut b).unwrap();
    out.push(("data-three-trees", b[..n].to_vec()));
    let n = three.clone().only_tree(1).encode(&mut b).unwrap();
    out.push(("data-tree1-only", b[..n].to_vec()));
    let n = three.path_broken().encode(&mut b).unwrap();
    out.push(("broken-three-trees", b[..n].to_vec()));
    let deep: Vec<u16> = std::iter::repeat_n(1, 5_000).chain([2, 2]).collect();
    let d = Header::new(
        Locator::tree0(RootId([9; 8]), c(&deep)),
        Locator::tree0(RootId([9; 8]), c(&deep[..4_000])),
    );
    let n = d.encode(&mut b).unwrap();
    out.push(("data-depth5000", b[..n].to_vec()));
    out
}

fn seeds_greedy() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "small",
            vec![3, 1, 2, 3, 2, 2, 1, 255, 3, 2, 1, 1, 1, 2, 2, 2, 2],
        ),
        ("walk", (0u8..120).map(|i| i.wrapping_mul(37)).collect()),
        (
            "multi-trees",
            (0u8..200)
                .map(|i| i.wrapping_mul(91).wrapping_add(7))
                .collect(),
        ),
    ]
}

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name)
}

#[test]
#[ignore]
fn regenerate() {
    for (target, seeds) in [
        ("routing_announce", seeds_announce()),
        ("routing_header", seeds_header()),
        ("routing_greedy", seeds_greedy()),
    ] {
        let dir = corpus(target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// Every committed signed seed is accepted by the raw path's node (its
/// signatures verify; segment streams in order).
#[test]
fn committed_announcement_seeds_carry_valid_signatures() {
    let dir = corpus("routing_announce");
    let mut checked = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with("-signed"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "signed seeds missing: run with --ignored");
    // Replay in stream order: the first segment before the rest.
    names.sort_by_key(|n| (!n.contains("first"), n.contains("renewal"), n.clone()));
    let mut table = [
        NeighbourEntry::EMPTY,
        NeighbourEntry::EMPTY,
        NeighbourEntry::EMPTY,
    ];
    let mut node = Node::new(Config::default(), &VICTIM, &mut table, Instant::ZERO);
    let keys = [0x31u8, 0x33, 0x30].map(|i| sk(i).verifying_key().to_bytes());
    for (i, k) in keys.iter().enumerate() {
        node.handle_link_up(Instant::ZERO, LinkId(i as u32), *k)
            .unwrap();
    }
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        let link = if name.contains("of-3") || name.contains("renewal") {
            1
        } else if name.contains("root") {
            2
        } else {
            0
        };
        let res = node.handle_announcement(Instant::from_secs(1), LinkId(link), &bytes);
        assert_eq!(res, Ok(()), "{name}");
        checked += 1;
    }
    assert!(node.stats().signatures_verified > 0);
    eprintln!("{checked} signed seeds accepted");
}
