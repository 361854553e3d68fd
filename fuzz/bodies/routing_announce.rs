// Fuzz body: announcement decoding and handling.
//
// Invariants: parsing never panics; a parsed segment or keepalive
// re-encodes to exactly the input bytes; a segment holding a whole chain
// spells a coordinate of the announced depth; a node fed the bytes on a
// registered link never panics, keeps its neighbour count, and either
// accepts or returns a typed error.

use hyperport::routing::announce::{Announcement, encode_keepalive, encode_segment};
use hyperport::routing::{Config, LinkId, MAX_ANNOUNCE_LEN, NeighbourEntry, Node};
use hyperport::time::Instant;

pub fn run(data: &[u8]) {
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
                let g = f.grant.as_ref();
                encode_segment(&mut buf, &f.root, f.total, f.start, &hops, g, f.want_full).unwrap()
            }
            Announcement::Keepalive(k) => {
                encode_keepalive(&mut buf, &k.root, &k.digest, k.want_full).unwrap()
            }
        };
        assert_eq!(&buf[..n], data, "re-encoding differs");
    }
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let mut node = Node::new(Config::default(), &[7; 32], &mut table, Instant::ZERO);
    // The peer key is taken from where a one-hop chain's sender would be, so
    // inputs can reach the signature checks.
    let mut peer = [1u8; 32];
    if let Some(k) = data.get(116..148) {
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
