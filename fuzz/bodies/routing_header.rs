// Fuzz body: routing header decoding.
//
// Invariants: decoding never panics; a decoded header re-encodes to exactly
// the bytes it consumed; its tree mask and locators name trees below
// MAX_TREES; its coordinates respect MAX_DEPTH and contain no zero slot;
// the path-broken reply swaps the locators and allows every tree again.

use hyperport::routing::{ALL_TREES, Header, MAX_DEPTH, MAX_HEADER_LEN, MAX_TREES, PacketKind};

pub fn run(data: &[u8]) {
    let Ok((h, used)) = Header::decode(data) else { return };
    assert!(used <= data.len() && used <= MAX_HEADER_LEN);
    assert_eq!(h.trees & !ALL_TREES, 0);
    for l in [&h.dest, &h.src] {
        for (t, c) in l.iter() {
            assert!(t < MAX_TREES);
            assert!(c.coord.depth() <= MAX_DEPTH);
            assert!(!c.coord.slots().any(|s| s == 0));
        }
    }
    let mut buf = vec![0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..used]);
    let pb = h.path_broken();
    assert_eq!((&pb.dest, &pb.src, pb.kind), (&h.src, &h.dest, PacketKind::PathBroken));
    assert_eq!((pb.trees, pb.watermark), (ALL_TREES, u16::MAX));
}
