//! Unit tests of the machine on two nodes.

extern crate std;
use super::*;
use crate::routing::{AnnounceError, Decision, LinkError};
use crate::time::Timed;
use std::vec;

const AUTHORITY: [u8; 32] = [0xa5; 32];

/// A config whose `rank` is credentialed by the test authority for the
/// node with secret seed `seed`.
fn ranked(rank: u32, seed: &[u8; 32]) -> Config {
    let key = SigningKey::from_bytes(seed).verifying_key().to_bytes();
    Config {
        rank,
        authority: Some(crate::routing::credential::public_key(&AUTHORITY)),
        rank_credential: Some(crate::routing::credential::sign_rank(
            &AUTHORITY, &key, rank,
        )),
        ..Config::default()
    }
}

fn exchange(a: &mut Node<'_>, b: &mut Node<'_>, now: Instant) {
    let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
    for _ in 0..4 {
        while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
            assert_eq!(t.link, LinkId(2));
            b.handle_announcement(now, LinkId(1), &buf[..t.len])
                .unwrap();
        }
        while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
            assert_eq!(t.link, LinkId(1));
            a.handle_announcement(now, LinkId(2), &buf[..t.len])
                .unwrap();
        }
    }
}

#[test]
fn two_nodes_elect_the_higher_rank_and_sign_real_grants() {
    let (mut ta, mut tb) = ([NeighbourEntry::EMPTY], [NeighbourEntry::EMPTY]);
    let t0 = Instant::ZERO;
    let hi = ranked(9, &[1; 32]);
    let mut a = Node::new(hi, &[1; 32], &mut ta, t0);
    assert_eq!(a.rank(), 9);
    let mut b = Node::new(ranked(0, &[2; 32]), &[2; 32], &mut tb, t0);
    a.handle_link_up(t0, LinkId(2), b.public_key()).unwrap();
    b.handle_link_up(t0, LinkId(1), a.public_key()).unwrap();
    exchange(&mut a, &mut b, t0);
    assert!(a.is_root());
    assert_eq!(b.root().key, a.public_key());
    // a's table entry 0 grants slot 1.
    assert_eq!(*b.coord(), Coord::from_slots(&[1]).unwrap());
    assert_eq!(b.parent(), Some(LinkId(1)));
    assert!(b.stats().signatures_verified >= 2);
    assert_eq!(b.poll_event(), Some(Event::PositionChanged));
    assert_eq!(b.poll_event(), None);
    // Routing both ways.
    let mut h = a.header_to(b.coord().clone());
    assert_eq!(a.route(&mut h), Decision::Forward(LinkId(2)));
    assert_eq!(b.route(&mut h), Decision::Deliver);
    // A second table slot would be refused.
    assert_eq!(
        a.handle_link_up(t0, LinkId(3), [5; 32]),
        Err(LinkError::TableFull)
    );
    assert_eq!(
        a.handle_link_up(t0, LinkId(3), a.public_key()),
        Err(LinkError::SelfLink)
    );
}

#[test]
fn tampered_grant_is_refused_and_parent_loss_recovers() {
    let (mut ta, mut tb) = ([NeighbourEntry::EMPTY], [NeighbourEntry::EMPTY]);
    let t0 = Instant::ZERO;
    let hi = ranked(9, &[1; 32]);
    let mut a = Node::new(hi, &[1; 32], &mut ta, t0);
    assert_eq!(a.rank(), 9);
    let mut b = Node::new(ranked(0, &[2; 32]), &[2; 32], &mut tb, t0);
    a.handle_link_up(t0, LinkId(2), b.public_key()).unwrap();
    b.handle_link_up(t0, LinkId(1), a.public_key()).unwrap();
    let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
    // Too-small buffer: error, nothing consumed.
    assert!(a.poll_transmit(&mut buf[..10]).is_err());
    let t = a.poll_transmit(&mut buf).unwrap().unwrap();
    let mut bad = buf[..t.len].to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1; // flip a bit of the grant's signature
    assert_eq!(
        b.handle_announcement(t0, LinkId(1), &bad),
        Err(AnnounceError::BadSignature)
    );
    assert!(b.is_root());
    assert_eq!(b.stats().rejected_signature, 1);
    b.handle_announcement(t0, LinkId(1), &buf[..t.len]).unwrap();
    assert_eq!(b.parent(), Some(LinkId(1)));
    // Silence: after neighbour_timeout b drops its parent and is root again.
    // Several timer steps: the parent's loss first detaches b (it keeps its
    // position and waits to rejoin its root), then the root timeout ends
    // the tree and b becomes root.
    let mut now = t0;
    for _ in 0..1_000 {
        let next = b.poll_timeout().unwrap();
        assert!(next >= now);
        now = next;
        b.handle_timeout(now);
        assert!(b.poll_timeout().unwrap() > now, "poll_timeout contract");
        if b.is_root() {
            break;
        }
    }
    assert!(b.is_root());
    assert!(now >= t0 + Config::default().neighbour_timeout);
    assert_eq!(b.stats().neighbour_timeouts, 1);
}
