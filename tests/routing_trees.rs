//! Several trees at once: what a node sends per neighbour (one keepalive
//! message for all trees), how a message of several announcements is
//! checked, and that the root of a later tree keeps it while an earlier
//! tree re-forms after losing its root.
#![allow(clippy::needless_range_loop)]

mod routing_support;
use std::collections::HashMap;

use hyperport::routing::announce::{Announcement, KEEPALIVE_LEN, MAX_BUNDLE, encode_keepalive};
use hyperport::routing::{AnnounceError, Config, LinkId};
use routing_support::{Net, grid, seed_of, test_config};

/// Every rank 0, no authority: roots chosen by key.
fn keyed(adj: Vec<Vec<usize>>, trees: u8) -> Net {
    Net::with_configs(adj, |i, _| Config {
        trees,
        authority: None,
        rank: 0,
        rank_credential: None,
        ..test_config(0, &seed_of(i))
    })
}

#[test]
fn the_keepalives_of_every_tree_leave_in_one_message_per_neighbour() {
    let mut net = keyed(grid(5), 3);
    net.converge(5, 200);
    for v in 0..net.nodes.len() {
        for t in 0..3 {
            assert!(net.nodes[v].coord_in(t).is_some(), "node {v} in tree {t}");
        }
    }
    // A quiet round: every neighbour is owed a keepalive in each tree.
    assert!(!net.step());
    // Per direction of every link: (messages, keepalives, segments).
    let mut per_pair: HashMap<(usize, usize), (usize, usize, usize)> = HashMap::new();
    for (to, from, bytes) in &net.inflight {
        let e = per_pair.entry((*from, *to)).or_default();
        e.0 += 1;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let (a, used) = Announcement::parse_prefix(rest).unwrap();
            match a {
                Announcement::Keepalive(_) => e.1 += 1,
                Announcement::Full(_) => e.2 += 1,
            }
            rest = &rest[used..];
        }
    }
    let links: usize = net.adj.iter().map(Vec::len).sum();
    assert_eq!(per_pair.len(), links, "every direction of every link");
    let mut bundles = 0;
    for ((from, to), (messages, keepalives, segments)) in &per_pair {
        assert_eq!(keepalives + segments, 3, "{from} -> {to}: one per tree");
        // Segments (renewed grants) leave alone; the keepalives together.
        assert_eq!(
            *messages,
            segments + usize::from(*keepalives > 0),
            "{from} -> {to}: {keepalives} keepalives in more than one message"
        );
        bundles += usize::from(*keepalives > 1);
    }
    assert!(bundles > 0);
    // Each receiver takes all three.
    let before: Vec<u64> = net
        .nodes
        .iter()
        .map(|n| n.stats().announcements_in)
        .collect();
    net.step();
    for v in 0..net.nodes.len() {
        let got = net.nodes[v].stats().announcements_in - before[v];
        assert_eq!(got, 3 * net.adj[v].len() as u64, "node {v}");
        assert_eq!(net.nodes[v].stats().rejected_malformed, 0);
    }
}

#[test]
fn a_message_that_does_not_parse_whole_is_refused_whole() {
    let mut net = keyed(grid(3), 2);
    net.converge(5, 200);
    let v = 4; // the centre, four neighbours
    let from = net.adj[v][0];
    let root = *net.nodes[from].root();
    let mut one = vec![0u8; KEEPALIVE_LEN];
    let n = encode_keepalive(&mut one, 0, &root, &[0; 16], None).unwrap();
    assert_eq!(n, KEEPALIVE_LEN);
    let now = net.now();
    let before = net.nodes[v].stats().announcements_in;
    // MAX_BUNDLE + 1 announcements: too many, none is acted on.
    let too_many: Vec<u8> = one.repeat(MAX_BUNDLE + 1);
    assert_eq!(
        net.nodes[v].handle_announcement(now, LinkId(from as u32), &too_many),
        Err(AnnounceError::Malformed)
    );
    // One announcement and a stray byte: refused as a whole.
    let mut trailing = one.clone();
    trailing.push(0);
    assert_eq!(
        net.nodes[v].handle_announcement(now, LinkId(from as u32), &trailing),
        Err(AnnounceError::Malformed)
    );
    // Empty.
    assert_eq!(
        net.nodes[v].handle_announcement(now, LinkId(from as u32), &[]),
        Err(AnnounceError::Malformed)
    );
    assert_eq!(net.nodes[v].stats().announcements_in, before);
    assert_eq!(net.nodes[v].stats().rejected_malformed, 3);
    assert_eq!(net.nodes[v].stats().unknown_digest, 0, "nothing was read");
}

#[test]
fn the_root_of_a_later_tree_keeps_it_while_the_first_tree_re_forms() {
    let mut net = keyed(grid(6), 2);
    net.converge(5, 200);
    let n = net.nodes.len();
    let r0 = (0..n).find(|&i| net.nodes[i].is_root_of(0)).unwrap();
    let r1 = (0..n).find(|&i| net.nodes[i].is_root_of(1)).unwrap();
    assert_ne!(r0, r1);
    net.remove_node(r0);
    // Through the root timeout of tree 0 and its re-election.
    for round in 0..120 {
        net.step();
        assert!(
            net.nodes[r1].is_root_of(1),
            "round {round}: the root of tree 1 let go of it"
        );
        assert!(
            !net.nodes[r1].is_root_of(0),
            "round {round}: the root of tree 1 stood for tree 0"
        );
    }
    // Tree 0 re-formed under another root, and everyone is in both trees
    // under one root each.
    for t in 0..2 {
        let roots: std::collections::HashSet<[u8; 32]> = (0..n)
            .filter(|&i| i != r0)
            .map(|i| net.nodes[i].root_in(t).expect("joined").key)
            .collect();
        assert_eq!(roots.len(), 1, "tree {t}");
    }
    assert!((0..n).any(|i| i != r0 && i != r1 && net.nodes[i].is_root_of(0)));
}

#[test]
fn an_offer_is_checked_when_it_would_be_taken_and_a_forged_one_never_is() {
    use ed25519_dalek::SigningKey;
    use hyperport::routing::MAX_ANNOUNCE_LEN;
    use hyperport::routing::announce::{Hop, encode_full, root_tag};
    use routing_support::signed_grant;
    // A triangle: the root and two children, each the other's neighbour.
    let adj = vec![vec![1, 2], vec![0, 2], vec![0, 1]];
    let mut net = keyed(adj, 1);
    net.converge(5, 200);
    let r = (0..3).find(|&i| net.nodes[i].is_root()).unwrap();
    let (v, w) = match r {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    assert_eq!(net.nodes[v].parent(), Some(LinkId(r as u32)));
    // w's chain, signed with the root's key, and a grant to v that is not
    // w's signature.
    let root = *net.nodes[r].root();
    let rk = SigningKey::from_bytes(&seed_of(r));
    let hop = signed_grant(
        &rk,
        &root_tag(0, &root.key, root.rank),
        7,
        net.nodes[w].public_key(),
        root.seq,
    );
    let forged = Hop {
        key: net.nodes[v].public_key(),
        slot: 1,
        epoch: root.seq,
        sig: [5; 64],
    };
    let mut b = vec![0u8; MAX_ANNOUNCE_LEN];
    let n = encode_full(&mut b, 0, &root, &[hop], Some(&forged), None).unwrap();
    b.truncate(n);
    let checked = net.nodes[v].stats().signatures_verified;
    // Depth 2 through w is worse than v's depth 1: the offer is not taken,
    // so its signature is not checked (w's own hop is).
    let now = net.now();
    assert_eq!(
        net.nodes[v].handle_announcement(now, LinkId(w as u32), &b),
        Ok(())
    );
    assert_eq!(net.nodes[v].parent(), Some(LinkId(r as u32)));
    assert!(net.nodes[v].stats().signatures_verified - checked <= 1);
    assert_eq!(net.nodes[v].stats().rejected_signature, 0);
    // Without its link to the root v would take it: now it is checked,
    // refused, and never taken.
    net.remove_link(v, r);
    let now = net.now();
    assert_eq!(
        net.nodes[v].handle_announcement(now, LinkId(w as u32), &b),
        Err(AnnounceError::BadSignature)
    );
    assert_eq!(net.nodes[v].parent(), None);
    assert_eq!(net.nodes[v].stats().rejected_signature, 1);
    // The honest w still gets v a position through it.
    net.converge(5, 200);
    assert_eq!(net.nodes[v].parent(), Some(LinkId(w as u32)));
    assert_eq!(net.nodes[v].root().key, root.key);
}
