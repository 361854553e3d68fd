//! Routing checks: exact coordinates and their distance, the greedy decision
//! over a hand-built neighbour table, the packet header codec, and three
//! `Node` machines exchanging signed announcements by hand.
//!
//! Every expected value is worked out by hand from the formulas documented
//! in `src/routing/`: the tree distance `|a| + |b| - 2 * lcp(a, b)`; the
//! coordinate wire `runs u8 | runs × (slot u16, count u16)` (big-endian,
//! adjacent slots different); the header wire `version u8 = 2 | kind u8
//! (0 data, 1 path broken) | watermark u16 | root [32] | dest coord | src
//! coord`; the announcement segment wire `2 | kind | flags | n | root (108) |
//! total u16 | start u16 | n × hop (98) | grant hop (98)`; and slot `i + 1`
//! for the neighbour in table entry `i`. None of them is produced by the
//! code under test.

use hyperport::BufferTooSmall;
use hyperport::buf::{Reader, Writer};
use hyperport::routing::{
    AnnounceError, ChainOf, Config, Coord, CoordError, Decision, Ed25519, Header, HeaderError,
    LinkId, MAX_COORD_WIRE_LEN, MAX_DEPTH, MAX_DISTANCE, MAX_HEADER_LEN, MAX_RUNS, NeighbourEntry,
    Node, PacketKind, decide,
};
use hyperport::time::{Instant, Timed};

fn c(slots: &[u16]) -> Option<Coord> {
    Coord::from_slots(slots).ok()
}

/// Distance of two slot paths, both built by `Coord::from_slots`.
fn dist(a: &[u16], b: &[u16]) -> Option<u16> {
    Some(c(a)?.distance(&c(b)?))
}

/// Coordinate wire bytes and exact distances on hand-computed examples.
pub fn coords() -> bool {
    coords_inner().unwrap_or(false)
}

fn coords_inner() -> Option<bool> {
    // d = |a| + |b| - 2 lcp, worked out by hand:
    let distances_ok = dist(&[3, 1, 4], &[3, 1, 5, 9])? == 3 // 3 + 4 - 2*2
        && dist(&[3, 1, 5, 9], &[3, 1, 4])? == 3 // symmetric
        && dist(&[3, 1, 4], &[])? == 3 // to the root: its depth
        && dist(&[], &[])? == 0
        && dist(&[2, 7], &[3])? == 3 // lcp 0: 2 + 1
        && dist(&[5], &[5])? == 0
        && dist(&[1, 2, 3, 4, 5], &[1, 2])? == 3 // ancestor: depth difference
        && dist(&[9, 9], &[9, 8])? == 2; // siblings
    // Limits: 32,767 slots of depth, 255 runs of 4 bytes plus the count
    // byte = 1,021 wire bytes, 2 * 32,767 = 65,534 distance.
    let limits_ok = MAX_DEPTH == 32_767
        && MAX_RUNS == 255
        && MAX_COORD_WIRE_LEN == 1_021
        && MAX_DISTANCE == 65_534;
    // a = MAX_DEPTH ones (one run), b = 2 then MAX_DEPTH - 1 ones: lcp 0.
    let mut a = Coord::root();
    let mut b = c(&[2])?;
    for _ in 0..MAX_DEPTH - 1 {
        a.push(1).ok()?;
        b.push(1).ok()?;
    }
    a.push(1).ok()?;
    let deep_ok = a.distance(&b) == 65_534
        && a.runs().len() == 1
        && a.wire_len() == 5
        && a.child(1) == Err(CoordError::TooDeep)
        && a.clone().push(2) == Err(CoordError::TooDeep)
        && Coord::from_slots(&[4, 0]) == Err(CoordError::ZeroSlot)
        && c(&[4])?.child(0) == Err(CoordError::ZeroSlot);
    // 255 alternating slots: 255 runs, the most; one more run is refused,
    // one more of the same slot is not.
    let mut alt = Coord::root();
    for i in 0..255u16 {
        alt.push(1 + i % 2).ok()?;
    }
    let runs_ok = alt.runs().len() == 255
        && alt.wire_len() == 1_021
        && alt.child(2) == Err(CoordError::TooManyRuns)
        && alt.child(1).ok()?.depth() == 256;

    // Encode [1, 300, 300, 65535]: 3 runs (1 x1) (300 x2) (65535 x1).
    let x = c(&[1, 300, 300, 65535])?;
    let mut buf = [0u8; 14];
    let mut w = Writer::new(&mut buf);
    x.encode(&mut w).ok()?;
    let encode_ok =
        w.position() == 13 && buf == [3, 0, 1, 0, 1, 0x01, 0x2c, 0, 2, 0xff, 0xff, 0, 1, 0];
    // Root: one zero count byte.
    let mut rb = [0xeeu8; 2];
    let mut w = Writer::new(&mut rb);
    Coord::root().encode(&mut w).ok()?;
    let root_ok = w.position() == 1 && rb == [0, 0xee];
    // Too small: error, nothing written.
    let mut small = [0u8; 12];
    let mut w = Writer::new(&mut small);
    let small_ok = x.encode(&mut w).is_err() && w.position() == 0 && small == [0; 12];

    // Decode hand-written bytes: (0x1234 x3) (7 x1) = [4660, 4660, 4660, 7],
    // 9 bytes read.
    let mut r = Reader::new(&[2, 0x12, 0x34, 0, 3, 0, 7, 0, 1, 0xaa]);
    let d = Coord::decode(&mut r).ok()?;
    let decode_ok = d.slots().eq([4660, 4660, 4660, 7]) && d.depth() == 4 && r.position() == 9;
    let errors_ok = Coord::decode(&mut Reader::new(&[1, 0, 0, 0, 1])) == Err(CoordError::ZeroSlot)
        // A run of count 0, and two adjacent runs of the same slot.
        && Coord::decode(&mut Reader::new(&[1, 0, 1, 0, 0])) == Err(CoordError::NonCanonical)
        && Coord::decode(&mut Reader::new(&[2, 0, 1, 0, 1, 0, 1, 0, 2]))
            == Err(CoordError::NonCanonical)
        // 32,767 + 1 slots.
        && Coord::decode(&mut Reader::new(&[2, 0, 1, 0x7f, 0xff, 0, 2, 0, 1]))
            == Err(CoordError::TooDeep)
        && Coord::decode(&mut Reader::new(&[3, 0, 1])) == Err(CoordError::Truncated)
        && Coord::decode(&mut Reader::new(&[])) == Err(CoordError::Truncated)
        // Over-long: a count byte of 255 with two runs behind it.
        && Coord::decode(&mut Reader::new(&[255, 0, 1, 0, 1, 0, 2, 0, 1]))
            == Err(CoordError::Truncated);
    Some(
        distances_ok
            && limits_ok
            && deep_ok
            && runs_ok
            && encode_ok
            && root_ok
            && small_ok
            && decode_ok
            && errors_ok,
    )
}

/// Greedy decision on a hand-built neighbour table: the strictly closer
/// neighbour (ties to the shallower one, then the one listed first), the watermark, a dead end.
pub fn greedy() -> bool {
    greedy_inner().unwrap_or(false)
}

fn greedy_inner() -> Option<bool> {
    // own [1,2], dest [1,3,4]: lcp 1, d = 2 + 3 - 2 = 3.
    let own = c(&[1, 2])?;
    let dest = c(&[1, 3, 4])?;
    // Neighbours and their distance to dest, by hand:
    //   link 10 [1]        lcp 1: 1 + 3 - 2 = 2 (parent)
    //   link 11 [1,2,1]    lcp 1: 3 + 3 - 2 = 4 (child, farther)
    //   link 12 [1,3]      lcp 2: 2 + 3 - 4 = 1
    //   link  8 [1,3,4,6]  lcp 3: 4 + 3 - 6 = 1 (ties with 12; 12 is shallower
    //                      (depth 2 < 4), so 12 wins despite the larger link)
    //   link  4 [1,3,5]    lcp 2: 3 + 3 - 4 = 2
    let table = [
        (LinkId(10), c(&[1])?),
        (LinkId(11), c(&[1, 2, 1])?),
        (LinkId(12), c(&[1, 3])?),
        (LinkId(8), c(&[1, 3, 4, 6])?),
        (LinkId(4), c(&[1, 3, 5])?),
    ];
    let nb = || table.iter().map(|(l, c)| (*l, c));
    let mut wm = u16::MAX;
    let fwd_ok = decide(&own, &dest, &mut wm, nb()) == Decision::Forward(LinkId(12)) && wm == 3;
    // The next hop is strictly closer than us.
    let closer_ok = c(&[1, 3])?.distance(&dest) < own.distance(&dest);
    // Without link 12, the tie-free best is link 8.
    let mut wm = u16::MAX;
    let fwd12_ok = decide(&own, &dest, &mut wm, nb().filter(|(l, _)| *l != LinkId(12)))
        == Decision::Forward(LinkId(8))
        && wm == 3;
    // The packet comes back to us (a loop while coordinates changed) with
    // the watermark 3 we wrote: 3 is not strictly below 3, path broken and
    // the watermark is left alone. With 4 it would still go on.
    let mut wm = 3;
    let loop_ok = decide(&own, &dest, &mut wm, nb()) == Decision::PathBroken && wm == 3;
    let mut wm = 4;
    let below_ok = decide(&own, &dest, &mut wm, nb()) == Decision::Forward(LinkId(12)) && wm == 3;
    // Dead end: only children [1,2,1], [1,2,7] (both at 4 > 3) -> broken.
    let dead = [(LinkId(1), c(&[1, 2, 1])?), (LinkId(2), c(&[1, 2, 7])?)];
    let mut wm = u16::MAX;
    let dead_ok = decide(&own, &dest, &mut wm, dead.iter().map(|(l, c)| (*l, c)))
        == Decision::PathBroken
        && wm == u16::MAX;
    // A neighbour at the same distance (3) is not strictly closer either.
    let same = [(LinkId(1), c(&[1, 5])?)]; // lcp 1: 2 + 3 - 2 = 3
    let mut wm = u16::MAX;
    let same_ok =
        decide(&own, &dest, &mut wm, same.iter().map(|(l, c)| (*l, c))) == Decision::PathBroken;
    // At the destination: deliver, watermark 0.
    let mut wm = 1;
    let deliver_ok = decide(&dest, &dest, &mut wm, nb()) == Decision::Deliver && wm == 0;
    Some(fwd_ok && closer_ok && fwd12_ok && loop_ok && below_ok && dead_ok && same_ok && deliver_ok)
}

/// Header length for dest [1, 300] (two runs) and src = root: 36 + 9 + 1.
const HDR_LEN: usize = 46;

/// The header of [`header`], typed by hand.
const HDR: [u8; HDR_LEN] = {
    let mut h = [0xabu8; HDR_LEN];
    h[0] = 2; // version
    h[1] = 1; // kind: path broken
    h[2] = 0x12; // watermark 0x1234
    h[3] = 0x34;
    // h[4..36]: root key, 32 × 0xab
    h[36] = 2; // dest: 2 runs
    h[37] = 0x00; // slot 1
    h[38] = 0x01;
    h[39] = 0x00; // once
    h[40] = 0x01;
    h[41] = 0x01; // slot 300 = 0x012c
    h[42] = 0x2c;
    h[43] = 0x00; // once
    h[44] = 0x01;
    h[45] = 0; // src: the root (no runs)
    h
};

/// Packet header emit and parse against hand-typed bytes; truncated,
/// over-long and malformed input give typed errors.
pub fn header() -> bool {
    header_inner().unwrap_or(false)
}

fn header_inner() -> Option<bool> {
    let h = Header {
        kind: PacketKind::PathBroken,
        watermark: 0x1234,
        root: [0xab; 32],
        dest: c(&[1, 300])?,
        src: Coord::root(),
    };
    let mut buf = [0u8; HDR_LEN + 3];
    let n = h.encode(&mut buf).ok()?;
    let emit_ok = n == HDR_LEN && h.wire_len() == HDR_LEN && buf.get(..HDR_LEN)? == HDR;
    // One byte short: BufferTooSmall, nothing written.
    let mut small = [0u8; HDR_LEN - 1];
    let small_ok = h.encode(&mut small)
        == Err(BufferTooSmall {
            needed: HDR_LEN,
            available: HDR_LEN - 1,
        })
        && small == [0; HDR_LEN - 1];
    // A fresh data header starts at watermark 0xffff, kind 0.
    let fresh = Header::new([0xab; 32], c(&[1, 300])?, Coord::root());
    let mut fb = [0u8; HDR_LEN];
    let fresh_ok = fresh.encode(&mut fb).ok()? == HDR_LEN
        && fb.get(..4)? == [2, 0, 0xff, 0xff]
        && fb.get(4..)? == HDR.get(4..)?;

    // Parse: the header then a 3-byte payload; 46 bytes consumed.
    let mut wire = [0u8; HDR_LEN + 3];
    wire.get_mut(..HDR_LEN)?.copy_from_slice(&HDR);
    wire.get_mut(HDR_LEN..)?.copy_from_slice(b"pay");
    let (p, used) = Header::decode(&wire).ok()?;
    let parse_ok = used == HDR_LEN
        && p.kind == PacketKind::PathBroken
        && p.watermark == 0x1234
        && p.root == [0xab; 32]
        && p.dest.slots().eq([1, 300])
        && p.src.depth() == 0
        && wire.get(used..)? == b"pay";

    // Truncated anywhere: a typed error at every cut; which one by hand.
    let mut cuts_ok = true;
    for cut in 0..HDR_LEN {
        let want = match cut {
            0..=35 => HeaderError::Truncated,               // fixed part
            _ => HeaderError::Coord(CoordError::Truncated), // inside a coordinate
        };
        cuts_ok &= Header::decode(HDR.get(..cut)?) == Err(want);
    }
    // Over-long: dest claims 255 runs, the input holds 10 more bytes.
    let mut long = HDR;
    *long.get_mut(36)? = 255;
    let long_ok = Header::decode(&long) == Err(HeaderError::Coord(CoordError::Truncated));
    let mut bad = HDR;
    *bad.get_mut(0)? = 1;
    let version_ok = Header::decode(&bad) == Err(HeaderError::Version(1));
    let mut bad = HDR;
    *bad.get_mut(1)? = 2;
    let kind_ok = Header::decode(&bad) == Err(HeaderError::Kind(2));
    let mut bad = HDR;
    *bad.get_mut(38)? = 0; // dest slot 1 -> 0
    let zero_ok = Header::decode(&bad) == Err(HeaderError::Coord(CoordError::ZeroSlot));

    // The largest header: two 255-run coordinates, 36 + 2 × 1,021 = 2,078.
    let mut deep = Coord::root();
    for i in 0..255u16 {
        deep.push(if i % 2 == 0 { 0x0102 } else { 0x0304 }).ok()?;
    }
    let big = Header::new([0; 32], deep.clone(), deep);
    let mut bb = [0u8; 2078];
    let max_ok = MAX_HEADER_LEN == 2078
        && big.encode(&mut bb).ok()? == 2078
        && bb.get(36..41)? == [255, 0x01, 0x02, 0, 1]
        && bb.get(36 + 1021..36 + 1026)? == [255, 0x01, 0x02, 0, 1]
        && Header::decode(&bb).ok()?.1 == 2078;
    Some(
        emit_ok
            && small_ok
            && fresh_ok
            && parse_ok
            && cuts_ok
            && long_ok
            && version_ok
            && kind_ok
            && zero_ok
            && max_ok,
    )
}

/// Announcement buffer: depth ≤ 2 here, so at most 116 + 3 × 98 = 410 bytes.
const ANN_BUF: usize = 512;

/// Three `Node`s on a line `A -1- B -2- C` (link ids 1 and 2, the same at both
/// ends), ranks 1, 2, 3: announcements carried by hand, Ed25519 verified.
///
/// By hand: C has the highest rank, so it is the root (coordinate `[]`).
/// C's table holds B in entry 0 -> B gets slot 1: `[1]`. B's table holds A
/// (linked first) in entry 0 -> A gets slot 1 under B: `[1, 1]`. C's first
/// announcement to B is `4 + 108 + 4 + 0 hops + grant 98 = 214` bytes; B's
/// to A once B is at depth 1 is `4 + 108 + 4 + 98 + 98 = 312` (the longest
/// B ever sends A: as a root it sent 214, keepalives are 128). A root signature
/// byte flipped in C's first announcement gives `BadSignature`. A packet
/// from C to A: C forwards on link 2 (watermark d(C, A) = 2), B on link 1
/// (watermark 1), A delivers (0).
///
/// The nodes use 4-hop inline chain stores (`ChainOf<4>`, what a firmware
/// on a shallow network would pick) instead of the default 255-hop ones:
/// about 11 KiB per node instead of 60, so all three fit a Cortex-M image.
pub fn three_nodes() -> bool {
    three_nodes_inner().unwrap_or(false)
}

fn three_nodes_inner() -> Option<bool> {
    let t0 = Instant::from_secs(1);
    let mut ta = [NeighbourEntry::EMPTY; 2];
    let mut tb = [NeighbourEntry::EMPTY; 2];
    let mut tc = [NeighbourEntry::EMPTY; 2];
    let cfg = |rank| Config {
        rank,
        ..Config::default()
    };
    let node = |rank, seed: u8, table| {
        Node::with_chain_stores(
            cfg(rank),
            &[seed; 32],
            table,
            t0,
            Ed25519,
            ChainOf::<4>::new(),
            ChainOf::<4>::new(),
        )
    };
    let mut nodes = [
        node(1, 0x11, &mut ta),
        node(2, 0x22, &mut tb),
        node(3, 0x33, &mut tc),
    ];
    let [ka, kb, kc] = [
        nodes.first()?.public_key(),
        nodes.get(1)?.public_key(),
        nodes.get(2)?.public_key(),
    ];
    let [na, nb, nc] = &mut nodes;
    na.handle_link_up(t0, LinkId(1), kb).ok()?;
    nb.handle_link_up(t0, LinkId(1), ka).ok()?;
    nb.handle_link_up(t0, LinkId(2), kc).ok()?;
    nc.handle_link_up(t0, LinkId(2), kb).ok()?;

    // Which node is at the other end of `link` from node `from`.
    let peer = |from: usize, link: LinkId| match (from, link.0) {
        (0, 1) => Some(1),
        (1, 1) => Some(0),
        (1, 2) => Some(2),
        (2, 2) => Some(1),
        _ => None,
    };
    let mut buf = [0u8; ANN_BUF];
    let mut tamper_ok = false;
    let mut first_c_len = 0usize;
    let mut b_to_a_len = 0usize;
    let mut errors = 0u32;
    for round in 0..12u64 {
        let now = Instant::from_secs(1 + round);
        for n in nodes.iter_mut() {
            if n.poll_timeout().is_some_and(|t| t <= now) {
                n.handle_timeout(now);
            }
        }
        // Drain every node until nothing is due (bounded).
        for _ in 0..32 {
            let mut sent = false;
            for from in 0..3usize {
                let tx = nodes.get_mut(from)?.poll_transmit(&mut buf).ok()?;
                let Some(tx) = tx else { continue };
                sent = true;
                let to = peer(from, tx.link)?;
                let msg = buf.get(..tx.len)?;
                if from == 2 && first_c_len == 0 {
                    first_c_len = tx.len;
                    // Root signature: bytes 4 + 32 + 4 + 8 = 48 .. 112.
                    let mut forged = [0u8; ANN_BUF];
                    forged.get_mut(..tx.len)?.copy_from_slice(msg);
                    *forged.get_mut(60)? ^= 0x01;
                    tamper_ok =
                        nodes
                            .get_mut(to)?
                            .handle_announcement(now, tx.link, forged.get(..tx.len)?)
                            == Err(AnnounceError::BadSignature);
                }
                if from == 1 && to == 0 {
                    b_to_a_len = b_to_a_len.max(tx.len);
                }
                if nodes
                    .get_mut(to)?
                    .handle_announcement(now, tx.link, msg)
                    .is_err()
                {
                    errors = errors.saturating_add(1);
                }
            }
            if !sent {
                break;
            }
        }
    }
    let [na, nb, nc] = &mut nodes;
    let roots_ok = na.root().key == kc && nb.root().key == kc && nc.root().key == kc;
    let coords_ok = nc.is_root()
        && nc.coord().depth() == 0
        && nb.coord().slots().eq([1])
        && na.coord().slots().eq([1, 1])
        && nb.parent() == Some(LinkId(2))
        && na.parent() == Some(LinkId(1))
        && nc.parent().is_none();
    let verified_ok = nb.stats().rejected_signature == 1
        && na.stats().signatures_verified > 0
        && nb.stats().signatures_verified > 0;
    // Route C -> A.
    let mut h = nc.header_to(na.coord().clone());
    let hops_ok = nc.route(&mut h) == Decision::Forward(LinkId(2))
        && h.watermark == 2
        && nb.route(&mut h) == Decision::Forward(LinkId(1))
        && h.watermark == 1
        && na.route(&mut h) == Decision::Deliver
        && h.watermark == 0;
    Some(
        tamper_ok
            && first_c_len == 214
            && b_to_a_len == 312
            && errors == 0
            && roots_ok
            && coords_ok
            && verified_ok
            && hops_ok,
    )
}
