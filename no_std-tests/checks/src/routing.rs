//! Routing checks: exact coordinates and their distance, the greedy decision
//! over a hand-built neighbour table (one tree and two), the packet header
//! codec, and three `Node` machines exchanging signed announcements by
//! hand.
//!
//! Every expected value is worked out by hand from the formulas documented
//! in `src/routing/`: the tree distance `|a| + |b| - 2 * lcp(a, b)`; the
//! coordinate wire `runs u8 | runs × (slot u16, count u16)` (big-endian,
//! adjacent slots different); the header wire `version u8 = 3 | kind u8
//! (0 data, 1 path broken) | trees u8 | watermark u16 | dest locator | src
//! locator`, a locator being `present u8 | per present tree: root id [8] |
//! coord`; the announcement segment wire `3 | kind | tree | flags | n |
//! want_from u16 | root (174) | total u16 | start u16 | digest [16] | n ×
//! hop (106) | grant hop (106)`; and slot `i + 1` for the neighbour in table
//! entry `i`. None of them is produced by the code under test.

use hyperport::BufferTooSmall;
use hyperport::buf::{Reader, Writer};
use hyperport::routing::{
    AnnounceError, ChainOf, Config, Coord, CoordError, Decision, Ed25519, Header, HeaderError,
    LinkId, Locator, MAX_COORD_WIRE_LEN, MAX_DEPTH, MAX_DISTANCE, MAX_HEADER_LEN, MAX_RUNS,
    MAX_TREES, NeighbourEntry, NeighbourView, Node, PacketKind, RootId, TreeCoord, TreeView,
    credential, decide, decide_multi,
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
    Some(
        fwd_ok
            && closer_ok
            && fwd12_ok
            && loop_ok
            && below_ok
            && dead_ok
            && same_ok
            && deliver_ok
            && two_trees()?,
    )
}

/// `decide_multi` over two trees, by hand. Tree 0 under root id R0, tree 1
/// under R1. We are [2] in tree 0 and [1, 1] in tree 1; the destination is
/// [3] in tree 0 and [1, 2] in tree 1: distances 2 (tree 0) and 2 (tree 1),
/// m(us) = 2. Neighbour X (link 5) is [2, 1] in tree 0 (distance 3) and [1]
/// in tree 1 (distance 1): m = 1, closer. Neighbour Y (link 6) is [3, 4] in
/// tree 0 only: distance 1, depth 2; X wins the tie on m = 1 by its depth in
/// the tree attaining it (tree 1: depth 1 < 2). Without X, Y. Restricted to
/// tree 0 only, a dead end for tree 0 there (X at 3, nobody else) empties
/// the mask: path broken.
fn two_trees() -> Option<bool> {
    let (r0, r1) = (RootId([0x10; 8]), RootId([0x11; 8]));
    let (own0, own1) = (c(&[2])?, c(&[1, 1])?);
    let (x0, x1, y0) = (c(&[2, 1])?, c(&[1])?, c(&[3, 4])?);
    let mut dest = Locator::tree0(r0, c(&[3])?);
    dest.set(
        1,
        Some(TreeCoord {
            root: r1,
            coord: c(&[1, 2])?,
        }),
    );
    let mut own: TreeView<'_> = [None; MAX_TREES];
    *own.get_mut(0)? = Some((r0, &own0));
    *own.get_mut(1)? = Some((r1, &own1));
    let mut xv: TreeView<'_> = [None; MAX_TREES];
    *xv.get_mut(0)? = Some((r0, &x0));
    *xv.get_mut(1)? = Some((r1, &x1));
    let mut yv: TreeView<'_> = [None; MAX_TREES];
    *yv.get_mut(0)? = Some((r0, &y0));
    let x = NeighbourView {
        link: LinkId(5),
        trees: xv,
    };
    let y = NeighbourView {
        link: LinkId(6),
        trees: yv,
    };
    let mut h = Header::new(dest.clone(), Locator::new());
    let both_ok = decide_multi(&own, &mut h, [x, y]) == Decision::Forward(LinkId(5))
        && h.watermark == 2
        && h.trees == 0x0f;
    let mut h = Header::new(dest.clone(), Locator::new());
    let y_ok = decide_multi(&own, &mut h, [y]) == Decision::Forward(LinkId(6)) && h.watermark == 2;
    let mut h = Header::new(dest, Locator::new()).only_tree(0);
    let dead_ok = decide_multi(&own, &mut h, [x]) == Decision::PathBroken && h.trees == 0;
    Some(both_ok && y_ok && dead_ok)
}

/// Header length: 5 fixed bytes; dest in trees 0 ([1, 300], two runs) and
/// 2 (the root): 1 + (8 + 9) + (8 + 1); src in tree 0 (the root): 1 + 8 + 1.
const HDR_LEN: usize = 42;

/// The header of [`header`], typed by hand.
const HDR: [u8; HDR_LEN] = {
    let mut h = [0xabu8; HDR_LEN];
    h[0] = 3; // version
    h[1] = 1; // kind: path broken
    h[2] = 0x05; // trees 0 and 2 allowed
    h[3] = 0x12; // watermark 0x1234
    h[4] = 0x34;
    h[5] = 0b101; // dest present in trees 0 and 2
    // h[6..14]: tree 0 root id, 8 × 0xab
    h[14] = 2; // 2 runs
    h[15] = 0x00; // slot 1
    h[16] = 0x01;
    h[17] = 0x00; // once
    h[18] = 0x01;
    h[19] = 0x01; // slot 300 = 0x012c
    h[20] = 0x2c;
    h[21] = 0x00; // once
    h[22] = 0x01;
    let mut i = 23;
    while i < 31 {
        h[i] = 0xcd; // tree 2 root id
        i += 1;
    }
    h[31] = 0; // tree 2: the root (no runs)
    h[32] = 0b001; // src present in tree 0
    // h[33..41]: root id 8 × 0xab
    h[41] = 0; // src: the root
    h
};

/// Packet header emit and parse against hand-typed bytes; truncated,
/// over-long and malformed input give typed errors.
pub fn header() -> bool {
    header_inner().unwrap_or(false)
}

fn header_inner() -> Option<bool> {
    let (ra, rc) = (RootId([0xab; 8]), RootId([0xcd; 8]));
    let mut dest = Locator::tree0(ra, c(&[1, 300])?);
    dest.set(
        2,
        Some(TreeCoord {
            root: rc,
            coord: Coord::root(),
        }),
    );
    let src = Locator::tree0(ra, Coord::root());
    let h = Header {
        kind: PacketKind::PathBroken,
        trees: 0x05,
        watermark: 0x1234,
        dest: dest.clone(),
        src: src.clone(),
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
    // A fresh data header: kind 0, every tree (0x0f), watermark 0xffff.
    let fresh = Header::new(dest, src);
    let mut fb = [0u8; HDR_LEN];
    let fresh_ok = fresh.encode(&mut fb).ok()? == HDR_LEN
        && fb.get(..5)? == [3, 0, 0x0f, 0xff, 0xff]
        && fb.get(5..)? == HDR.get(5..)?;

    // Parse: the header then a 3-byte payload; 42 bytes consumed.
    let mut wire = [0u8; HDR_LEN + 3];
    wire.get_mut(..HDR_LEN)?.copy_from_slice(&HDR);
    wire.get_mut(HDR_LEN..)?.copy_from_slice(b"pay");
    let (p, used) = Header::decode(&wire).ok()?;
    let parse_ok = used == HDR_LEN
        && p.kind == PacketKind::PathBroken
        && p.trees == 0x05
        && p.watermark == 0x1234
        && p.dest.get(0)?.root == ra
        && p.dest.get(0)?.coord.slots().eq([1, 300])
        && p.dest.get(1).is_none()
        && p.dest.get(2)?.coord.depth() == 0
        && p.src.get(0)?.coord.depth() == 0
        && wire.get(used..)? == b"pay";

    // Truncated anywhere: a typed error at every cut; which one by hand.
    let mut cuts_ok = true;
    for cut in 0..HDR_LEN {
        let want = match cut {
            // fixed part, dest present byte, root ids, src present byte
            0..=13 | 23..=30 | 32..=40 => HeaderError::Truncated,
            // inside a coordinate
            _ => HeaderError::Coord(CoordError::Truncated),
        };
        cuts_ok &= Header::decode(HDR.get(..cut)?) == Err(want);
    }
    // Over-long: dest tree 0 claims 255 runs; after its two real runs the
    // next bytes (tree 2's root id, 0xcd...) read as a run of 0xcdcd slots
    // 0xcdcd = 52,685 times: deeper than MAX_DEPTH before the input ends.
    let mut long = HDR;
    *long.get_mut(14)? = 255;
    let long_ok = Header::decode(&long) == Err(HeaderError::Coord(CoordError::TooDeep));
    // Over-long and short: 3 runs claimed where the src locator begins.
    let mut short = HDR;
    *short.get_mut(41)? = 3;
    let short_ok = Header::decode(&short) == Err(HeaderError::Coord(CoordError::Truncated));
    let mut bad = HDR;
    *bad.get_mut(0)? = 2;
    let version_ok = Header::decode(&bad) == Err(HeaderError::Version(2));
    let mut bad = HDR;
    *bad.get_mut(1)? = 2;
    let kind_ok = Header::decode(&bad) == Err(HeaderError::Kind(2));
    let mut bad = HDR;
    *bad.get_mut(2)? = 0x15; // tree 4 does not exist
    let trees_ok = Header::decode(&bad) == Err(HeaderError::Trees(0x15));
    let mut bad = HDR;
    *bad.get_mut(16)? = 0; // dest slot 1 -> 0
    let zero_ok = Header::decode(&bad) == Err(HeaderError::Coord(CoordError::ZeroSlot));

    // The largest header: four 255-run coordinates in each locator,
    // 5 + 2 × (1 + 4 × (8 + 1,021)) = 8,239 bytes.
    let mut deep = Coord::root();
    for i in 0..255u16 {
        deep.push(if i % 2 == 0 { 0x0102 } else { 0x0304 }).ok()?;
    }
    let mut full = Locator::new();
    for t in 0..MAX_TREES {
        full.set(
            t,
            Some(TreeCoord {
                root: RootId([t as u8; 8]),
                coord: deep.clone(),
            }),
        );
    }
    let big = Header::new(full.clone(), full);
    let mut bb = [0u8; 8239];
    let max_ok = MAX_TREES == 4
        && MAX_HEADER_LEN == 8239
        && big.encode(&mut bb).ok()? == 8239
        && bb.get(5..15)? == [0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 255]
        && bb.get(15..19)? == [0x01, 0x02, 0, 1]
        && Header::decode(&bb).ok()?.1 == 8239;
    Some(
        emit_ok
            && small_ok
            && fresh_ok
            && parse_ok
            && cuts_ok
            && long_ok
            && short_ok
            && version_ok
            && kind_ok
            && trees_ok
            && zero_ok
            && max_ok,
    )
}

/// Announcement buffer: depth ≤ 2 here, so at most 201 + 3 × 106 = 519 bytes.
const ANN_BUF: usize = 600;

/// The check's authority (secret seed): it credentials the three ranks.
const AUTHORITY: [u8; 32] = [0x5a; 32];

/// Three `Node`s on a line `A -1- B -2- C` (link ids 1 and 2, the same at both
/// ends), ranks 1, 2, 3 credentialed by one authority: announcements carried
/// by hand, Ed25519 verified.
///
/// By hand: C has the highest rank, so it is the root (coordinate `[]`).
/// C's table holds B in entry 0 -> B gets slot 1: `[1]`. B's table holds A
/// (linked first) in entry 0 -> A gets slot 1 under B: `[1, 1]`. C's first
/// announcement to B is `7 + 174 + 20 + 0 hops + grant 106 = 307` bytes;
/// B's to A once B is at depth 1 is `7 + 174 + 20 + 106 + 106 = 413` (the
/// longest B ever sends A: as a root it sent 307, keepalives are 133). A
/// root signature byte flipped in C's first announcement (the signature is
/// at bytes 7 + 32 + 4 + 8 + 2 = 53 .. 117) gives `BadSignature`. A packet
/// from C to A: C forwards on link 2 (watermark d(C, A) = 2), B on link 1
/// (watermark 1), A delivers (0).
///
/// The nodes use 4-hop inline chain stores (`ChainOf<4>`, what a firmware
/// on a shallow network would pick) instead of the default 64-hop ones, so
/// all three fit a Cortex-M image with room to spare.
pub fn three_nodes() -> bool {
    three_nodes_inner().unwrap_or(false)
}

fn three_nodes_inner() -> Option<bool> {
    let t0 = Instant::from_secs(1);
    let mut ta = [NeighbourEntry::EMPTY; 2];
    let mut tb = [NeighbourEntry::EMPTY; 2];
    let mut tc = [NeighbourEntry::EMPTY; 2];
    let authority = credential::public_key(&AUTHORITY);
    let cfg = |rank, seed: u8| Config {
        rank,
        authority: Some(authority),
        rank_credential: Some(credential::sign_rank(
            &AUTHORITY,
            &credential::public_key(&[seed; 32]),
            rank,
        )),
        ..Config::default()
    };
    let node = |rank, seed: u8, table| {
        Node::with_chain_stores(
            cfg(rank, seed),
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
                    // Root signature: bytes 7 + 32 + 4 + 8 + 2 = 53 .. 117.
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
    let mut h = nc.header_to(na.locator());
    let hops_ok = nc.route(&mut h) == Decision::Forward(LinkId(2))
        && h.watermark == 2
        && nb.route(&mut h) == Decision::Forward(LinkId(1))
        && h.watermark == 1
        && na.route(&mut h) == Decision::Deliver
        && h.watermark == 0;
    Some(
        tamper_ok
            && first_c_len == 307
            && b_to_a_len == 413
            && errors == 0
            && roots_ok
            && coords_ok
            && verified_ok
            && hops_ok,
    )
}
