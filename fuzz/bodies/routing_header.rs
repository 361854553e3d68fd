// Fuzz body: routing header decoding.
//
// Invariants: decoding never panics; a decoded header re-encodes to exactly
// the bytes it consumed; its coordinates respect MAX_DEPTH and contain no
// zero slot; the path-broken reply swaps the coordinates.

use hyperport::routing::{Header, MAX_DEPTH, MAX_HEADER_LEN, PacketKind};

pub fn run(data: &[u8]) {
    let Ok((h, used)) = Header::decode(data) else { return };
    assert!(used <= data.len() && used <= MAX_HEADER_LEN);
    assert!(h.dest.depth() <= MAX_DEPTH && h.src.depth() <= MAX_DEPTH);
    assert!(!h.dest.slots().any(|s| s == 0) && !h.src.slots().any(|s| s == 0));
    let mut buf = [0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..used]);
    let pb = h.path_broken();
    assert_eq!((&pb.dest, &pb.src, pb.kind), (&h.src, &h.dest, PacketKind::PathBroken));
}
