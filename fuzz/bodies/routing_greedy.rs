// Fuzz body: the forwarding decision on random coordinates and neighbour
// tables.
//
// Invariants, checked against a direct re-computation: `Forward(l)` goes to
// a listed neighbour strictly closer to the destination than this node (and
// this node is strictly below the old watermark), the closest one, among
// ties the shallowest, then the smallest link id, and sets the watermark to this node's
// distance; `Deliver` iff this node is the destination; otherwise
// `PathBroken`, and then no neighbour was strictly closer or this node was
// not below the watermark. Following the decisions over a random graph
// never revisits a node.

use hyperport::routing::{Coord, Decision, LinkId, decide};

fn coord(bytes: &mut impl Iterator<Item = u8>) -> Coord {
    let len = usize::from(bytes.next().unwrap_or(0) % 12);
    let slots: Vec<u16> = (0..len).map(|_| u16::from(bytes.next().unwrap_or(1) % 4) + 1).collect();
    Coord::from_slots(&slots).unwrap()
}

pub fn run(data: &[u8]) {
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
