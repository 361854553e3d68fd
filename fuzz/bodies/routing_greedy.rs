// Fuzz body: the forwarding decision on random coordinates and neighbour
// tables, in one tree (`decide`) and in several (`decide_multi`).
//
// Invariants, checked against a direct re-computation: `Forward(l)` goes to
// a listed neighbour strictly closer to the destination than this node (and
// this node is strictly below the old watermark), the closest one, among
// ties the shallowest, then the smallest link id, and sets the watermark to this node's
// distance; `Deliver` iff this node is the destination; otherwise
// `PathBroken`, and then no neighbour was strictly closer or this node was
// not below the watermark. Following the decisions over a random graph
// never revisits a node. With several trees: `decide_multi` with one tree
// equals `decide`; a walk never forwards twice from one node with the same
// tree mask, the mask only loses bits, and the walk ends within
// MAX_TREES × (2 × MAX_DEPTH + 1) hops.

use hyperport::routing::{
    Coord, Decision, Header, LinkId, Locator, MAX_DEPTH, MAX_TREES, NeighbourView, RootId,
    TreeCoord, TreeView, decide, decide_multi,
};

fn coord(bytes: &mut impl Iterator<Item = u8>) -> Coord {
    let len = usize::from(bytes.next().unwrap_or(0) % 12);
    let slots: Vec<u16> = (0..len).map(|_| u16::from(bytes.next().unwrap_or(1) % 4) + 1).collect();
    Coord::from_slots(&slots).unwrap()
}

pub fn run(data: &[u8]) {
    run_multi(data);
    let mut it = data.iter().copied();
    let own = coord(&mut it);
    let dest = coord(&mut it);
    let wm0 = match it.next() {
        Some(b) if b < 200 => u16::from(b),
        _ => u16::MAX,
    };
    let k = usize::from(it.next().unwrap_or(0) % 16);
    let nb: Vec<(LinkId, Coord)> = (0..k)
        .map(|i| (LinkId(u32::from(it.next().unwrap_or(0) % 8) + (i as u32) * 8), coord(&mut it)))
        .collect();
    let mut wm = wm0;
    let own_d = own.distance(&dest);
    let d = decide(&own, &dest, &mut wm, nb.iter().map(|(l, c)| (*l, c)));
    let best = nb
        .iter()
        .map(|(l, c)| (c.distance(&dest), c.depth(), *l))
        .filter(|(x, _, _)| *x < own_d)
        .min();
    match d {
        Decision::Deliver => {
            assert_eq!(own_d, 0);
            assert_eq!(wm, 0);
        }
        Decision::Forward(l) => {
            assert!(own_d > 0 && own_d < wm0);
            assert_eq!(Some(l), best.map(|b| b.2));
            assert_eq!(wm, own_d);
        }
        Decision::PathBroken => {
            assert!(own_d > 0);
            assert!(own_d >= wm0 || best.is_none());
            assert_eq!(wm, wm0);
        }
        Decision::Drop => panic!("decide never drops"),
    }

    // A walk over a random graph whose nodes hold the remaining coordinates.
    let n = usize::from(it.next().unwrap_or(0) % 24) + 1;
    let coords: Vec<Coord> = (0..n).map(|_| coord(&mut it)).collect();
    let mut adj = vec![Vec::new(); n];
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        let (a, b) = (usize::from(a) % n, usize::from(b) % n);
        if a != b {
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    let target = coords[n - 1].clone();
    let mut at = 0;
    let mut wm = u16::MAX;
    let mut seen = vec![false; n];
    loop {
        assert!(!seen[at], "loop");
        seen[at] = true;
        let before = coords[at].distance(&target);
        match decide(&coords[at], &target, &mut wm, adj[at].iter().map(|&v| (LinkId(v as u32), &coords[v]))) {
            Decision::Forward(LinkId(v)) => {
                let v = v as usize;
                assert!(coords[v].distance(&target) < before);
                at = v;
            }
            _ => break,
        }
    }
}

/// Node `i`'s coordinates in up to MAX_TREES trees (tree `t` under root id
/// `[t; 8]`, or under another root for a stale view), from the input.
fn positions(bytes: &mut impl Iterator<Item = u8>, n: usize) -> Vec<[Option<(RootId, Coord)>; MAX_TREES]> {
    (0..n)
        .map(|_| {
            core::array::from_fn(|t| {
                let b = bytes.next().unwrap_or(0);
                (!b.is_multiple_of(5)).then(|| {
                    let root = if b.is_multiple_of(7) { RootId([9; 8]) } else { RootId([t as u8; 8]) };
                    (root, coord(bytes))
                })
            })
        })
        .collect()
}

fn view(p: &[Option<(RootId, Coord)>; MAX_TREES]) -> TreeView<'_> {
    core::array::from_fn(|t| p[t].as_ref().map(|(r, c)| (*r, c)))
}

/// Several trees over a random graph.
pub fn run_multi(data: &[u8]) {
    let mut it = data.iter().copied();
    let n = usize::from(it.next().unwrap_or(0) % 24) + 2;
    let pos = positions(&mut it, n);
    let mut adj = vec![Vec::new(); n];
    for _ in 0..3 * n {
        let (Some(a), Some(b)) = (it.next(), it.next()) else { break };
        let (a, b) = (usize::from(a) % n, usize::from(b) % n);
        if a != b && !adj[a].contains(&b) {
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    let mut dest = Locator::new();
    for (t, p) in pos[n - 1].iter().enumerate() {
        if let Some((r, c)) = p {
            dest.set(t, Some(TreeCoord { root: *r, coord: c.clone() }));
        }
    }
    let mut h = Header::new(dest, Locator::new());
    if let Some(b) = it.next() {
        h.trees = b & hyperport::routing::ALL_TREES;
    }
    // One tree only: the same decision as `decide`.
    if pos.iter().all(|p| p[1..].iter().all(Option::is_none))
        && let (Some((r0, own)), Some(d0)) = (&pos[0][0], h.dest.get(0))
        && *r0 == d0.root
        && adj[0].iter().all(|&v| pos[v][0].as_ref().is_some_and(|(r, _)| *r == d0.root))
    {
        let mut a = h.clone();
        a.trees = 1;
        let mut wm = a.watermark;
        let single = decide(own, &d0.coord, &mut wm, adj[0].iter().map(|&v| (LinkId(v as u32), &pos[v][0].as_ref().unwrap().1)));
        let multi = decide_multi(&view(&pos[0]), &mut a, adj[0].iter().map(|&v| NeighbourView { link: LinkId(v as u32), trees: view(&pos[v]) }));
        assert_eq!(single, multi);
        if single != Decision::PathBroken {
            assert_eq!(wm, a.watermark);
        }
    }
    let mut at = 0;
    let mut seen = std::collections::HashSet::new();
    let mut hops = 0usize;
    loop {
        let mask = h.trees;
        let d = decide_multi(&view(&pos[at]), &mut h, adj[at].iter().map(|&v| NeighbourView { link: LinkId(v as u32), trees: view(&pos[v]) }));
        assert_eq!(h.trees & !mask, 0, "the mask only loses bits");
        match d {
            Decision::Forward(LinkId(v)) => {
                assert!(seen.insert((at, h.trees)), "forwarded twice from {at} with mask {:#x}", h.trees);
                assert!(adj[at].contains(&(v as usize)));
                at = v as usize;
                hops += 1;
                assert!(hops <= MAX_TREES * (2 * MAX_DEPTH + 1));
            }
            Decision::Deliver => {
                assert!(pos[at].iter().enumerate().any(|(t, p)| {
                    p.as_ref().zip(h.dest.get(t)).is_some_and(|((r, c), d)| *r == d.root && *c == d.coord)
                }));
                break;
            }
            _ => break,
        }
    }
}
