//! Wire layout of announcements, typed by hand from the byte table.

use super::*;

fn root() -> RootInfo {
    RootInfo {
        key: [1; 32],
        rank: 7,
        seq: 9,
        spread: 3,
        sig: [2; 64],
        credential: [6; 64],
    }
}

fn hop(k: u8, slot: u16, epoch: u64) -> Hop {
    Hop {
        key: [k; 32],
        slot,
        epoch,
        sig: [k ^ 0x55; 64],
    }
}

#[test]
fn sizes_typed_by_hand() {
    assert_eq!(HEADER_LEN, 7);
    assert_eq!(ROOT_WIRE_LEN, 174);
    assert_eq!(KEEPALIVE_ROOT_LEN, 110);
    assert_eq!(HOP_WIRE_LEN, 106);
    assert_eq!(KEEPALIVE_LEN, 133);
    assert_eq!(SEGMENT_HEADER_LEN, 201);
    assert_eq!(MAX_SEGMENT_LEN, 27_337);
    assert_eq!(segment_buf_len(9), 1_261);
    assert_eq!(segment_buf_len(0), segment_buf_len(1));
    assert_eq!(segment_buf_len(1_000), MAX_SEGMENT_LEN);
    assert_eq!(grant_age_limit(0, 50), 6);
    assert_eq!(grant_age_limit(1, 50), 7);
    assert_eq!(grant_age_limit(100, 50), 8);
    assert_eq!(grant_age_limit(5, 0), 11);
}

#[test]
fn single_segment_roundtrip() {
    let hops = [hop(3, 4, 8), hop(6, 1, 9)];
    let grant = hop(8, 2, 7);
    let mut buf = [0u8; 1024];
    let n = encode_full(&mut buf, 2, &root(), &hops, Some(&grant), Some(5)).unwrap();
    assert_eq!(n, 201 + 3 * 106);
    // version 3, kind 1, tree 2, flags grant|want, n 2, want_from 5
    assert_eq!(&buf[..7], &[3, 1, 2, 3, 2, 0, 5]);
    // root: key, rank 7, seq 9, spread 3, sig, credential
    assert_eq!(&buf[7..39], &[1; 32]);
    assert_eq!(&buf[39..43], &[0, 0, 0, 7]);
    assert_eq!(&buf[43..51], &[0, 0, 0, 0, 0, 0, 0, 9]);
    assert_eq!(&buf[51..53], &[0, 3]);
    assert_eq!(&buf[53..117], &[2; 64]);
    assert_eq!(&buf[117..181], &[6; 64]);
    // total 2, start 0, digest
    assert_eq!(&buf[181..185], &[0, 2, 0, 0]);
    assert_eq!(&buf[185..201], &digest_of(2, &root(), &hops, Some(&grant)));
    // First hop: key, slot 4, epoch 8, sig.
    assert_eq!(&buf[201..233], &[3; 32]);
    assert_eq!(&buf[233..243], &[0, 4, 0, 0, 0, 0, 0, 0, 0, 8]);
    assert_eq!(&buf[243..307], &[3 ^ 0x55; 64]);
    // The grant's epoch: 7.
    assert_eq!(&buf[413 + 34..413 + 42], &[0, 0, 0, 0, 0, 0, 0, 7]);
    let Ok(Announcement::Full(f)) = Announcement::parse(&buf[..n]) else {
        panic!("kind")
    };
    assert_eq!(
        (f.tree, f.depth(), f.len(), f.start, f.want),
        (2, 2, 2, 0, Some(5))
    );
    assert!(f.is_last());
    assert!(f.coord().unwrap().slots().eq([4, 1]));
    assert_eq!(f.grant, Some(grant));
    assert!(f.hops().eq(hops));
    assert_eq!(f.root, root());
    for cut in 0..n {
        assert!(Announcement::parse(&buf[..cut]).is_err());
    }
    assert_eq!(
        Announcement::parse(&buf[..n + 1]).err(),
        Some(AnnounceError::Malformed),
        "trailing byte"
    );
    let mut bad = buf;
    bad[233] = 0;
    bad[234] = 0;
    assert_eq!(
        Announcement::parse(&bad[..n]).err(),
        Some(AnnounceError::Malformed),
        "zero slot"
    );
    let mut bad = buf;
    bad[242] = 10;
    assert_eq!(
        Announcement::parse(&bad[..n]).err(),
        Some(AnnounceError::Malformed),
        "a grant from after the heartbeat"
    );
    let mut bad = buf;
    bad[2] = MAX_TREES as u8;
    assert_eq!(
        Announcement::parse(&bad[..n]).err(),
        Some(AnnounceError::Malformed),
        "tree out of range"
    );
    let mut bad = buf;
    bad[3] = 1;
    assert_eq!(
        Announcement::parse(&bad[..n]).err(),
        Some(AnnounceError::Malformed),
        "want_from without the flag"
    );
    // A hop from after the heartbeat cannot be written.
    let late = hop(3, 4, 10);
    assert!(encode_full(&mut buf, 0, &root(), &[late], None, None).is_err());
}

#[test]
fn segments_split_a_chain_and_only_the_last_carries_the_grant() {
    let hops = [hop(3, 4, 9), hop(6, 1, 9), hop(9, 1, 9)];
    let grant = hop(8, 2, 9);
    let h = |start, total| SegmentHeader {
        tree: 0,
        root: root(),
        total,
        start,
        digest: [4; 16],
        want: None,
        detached: false,
    };
    let mut buf = [0u8; 1024];
    let n = encode_segment(&mut buf, &h(0, 3), &hops[..2], Some(&grant)).unwrap();
    assert_eq!(n, 201 + 2 * 106);
    let Ok(Announcement::Full(f)) = Announcement::parse(&buf[..n]) else {
        panic!("kind")
    };
    assert!(!f.is_last() && f.grant.is_none() && f.coord().is_none());
    assert_eq!(f.digest, [4; 16]);
    let n = encode_segment(&mut buf, &h(2, 3), &hops[2..], Some(&grant)).unwrap();
    let Ok(Announcement::Full(f)) = Announcement::parse(&buf[..n]) else {
        panic!("kind")
    };
    assert!(f.is_last() && f.grant == Some(grant) && f.start == 2);
    // A grant flag on a segment that is not the last one.
    let n = encode_segment(&mut buf, &h(0, 3), &hops[..2], None).unwrap();
    buf[3] |= FLAG_GRANT;
    let mut longer = [0u8; 1024];
    longer[..n].copy_from_slice(&buf[..n]);
    longer[n..n + 106].copy_from_slice(&[1; 106]);
    assert_eq!(
        Announcement::parse(&longer[..n + 106]).err(),
        Some(AnnounceError::Malformed)
    );
    // Range past the total, and an empty segment of a non-empty chain.
    let n = encode_segment(&mut buf, &h(2, 3), &hops[2..], None).unwrap();
    buf[181..183].copy_from_slice(&2u16.to_be_bytes());
    assert_eq!(
        Announcement::parse(&buf[..n]).err(),
        Some(AnnounceError::Malformed)
    );
    let n = encode_segment(&mut buf, &h(0, 3), &[], None).unwrap();
    assert_eq!(
        Announcement::parse(&buf[..n]).err(),
        Some(AnnounceError::Malformed)
    );
    // Deeper than MAX_DEPTH.
    buf[181..183].copy_from_slice(&u16::MAX.to_be_bytes());
    assert_eq!(
        Announcement::parse(&buf[..n]).err(),
        Some(AnnounceError::TooDeep)
    );
    // The encoder refuses ranges it cannot express.
    assert!(encode_segment(&mut buf, &h(0, 1), &hops, None).is_err());
}

#[test]
fn keepalive_roundtrip() {
    let mut buf = [0u8; KEEPALIVE_LEN];
    assert!(encode_keepalive(&mut buf[..KEEPALIVE_LEN - 1], 0, &root(), &[4; 16], None).is_err());
    let n = encode_keepalive(&mut buf, 1, &root(), &[4; 16], None).unwrap();
    assert_eq!(n, 133);
    assert_eq!(&buf[..7], &[3, 2, 1, 0, 0, 0, 0]);
    assert_eq!(&buf[117..], &[4; 16]);
    let Ok(Announcement::Keepalive(k)) = Announcement::parse(&buf[..n]) else {
        panic!("kind")
    };
    // The credential does not travel in a keepalive.
    let want = RootInfo {
        credential: [0; 64],
        ..root()
    };
    assert_eq!((k.tree, k.root, k.digest, k.want), (1, want, [4; 16], None));
    let n = encode_keepalive(&mut buf, 1, &root(), &[4; 16], Some(300)).unwrap();
    assert_eq!(&buf[3..7], &[2, 0, 1, 44]);
    assert_eq!(Announcement::parse(&buf[..n]).unwrap().want(), Some(300));
}

#[test]
fn root_order() {
    let a = RootInfo { rank: 5, ..root() };
    let b = RootInfo {
        rank: 4,
        key: [0; 32],
        ..root()
    };
    let c = RootInfo {
        rank: 5,
        key: [0; 32],
        ..root()
    };
    assert!(a.beats(&b) && !b.beats(&a));
    assert!(c.beats(&a) && !a.beats(&c));
    assert!(!a.beats(&a));
    // Trees 1..: the spread, capped, comes first.
    let near = RootInfo {
        spread: 1,
        rank: 100,
        ..root()
    };
    let far = RootInfo {
        spread: 9,
        rank: 1,
        ..root()
    };
    let farther = RootInfo {
        spread: 20,
        rank: 0,
        ..root()
    };
    assert!(near.beats_in(0, 3, &far), "tree 0 ignores the spread");
    assert!(far.beats_in(1, 3, &near));
    // A credentialed rank comes before the spread...
    assert!(far.beats_in(1, 3, &farther));
    assert!(far.beats_in(1, 30, &farther));
    // ... then, both at or beyond the cap, rank decides, then the key.
    let farther_ranked = RootInfo {
        spread: 20,
        rank: 2,
        ..root()
    };
    assert!(farther_ranked.beats_in(1, 30, &far));
    assert!(far.beats_in(
        1,
        3,
        &RootInfo {
            rank: 1,
            key: [9; 32],
            ..far
        }
    ));
}
