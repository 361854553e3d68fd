//! Forwarding decision cost and memory per neighbour.
//!
//! ```sh
//! cargo bench --bench routing
//! ```
//!
//! `decide/<degree>`: the pure greedy step over `degree` neighbours with
//! depth-12 coordinates. `decide_deep/<degree>`: the same at depth ~5,000 on
//! a path-like tree (coordinates of a few runs: the cost follows the runs,
//! not the depth). `route/<degree>`: `Node::route` at a hub of that
//! degree after a real protocol exchange (hub is the root, leaves at depth
//! 1, destination a leaf), including the table scan and a header clone.
//! `decide_multi_k<K>/<degree>`: the multi-tree step with `K` trees (each
//! neighbour and the destination at depth 12 in every tree); `k1` is run
//! twice, first and last, around the others.
//! Plain `std::time` harness (no extra dependencies): median of 15 batches.

use hyperport::routing::{
    Config, Coord, Header, LinkId, Locator, MAX_TREES, NeighbourEntry, NeighbourView, Node, RootId,
    TRANSMIT_BUF_LEN, TreeCoord, TreeView, credential, decide, decide_multi,
};
use hyperport::time::Instant;
use std::hint::black_box;

fn median_ns_per_iter(iters: u32, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let t = std::time::Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples[7]
}

fn coord(seed: u64, depth: usize) -> Coord {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let slots: Vec<u16> = (0..depth)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 8 + 1) as u16
        })
        .collect();
    Coord::from_slots(&slots).unwrap()
}

fn bench_decide(degree: usize) {
    let own = coord(1, 12);
    let dest = coord(2, 12);
    let nb: Vec<(LinkId, Coord)> = (0..degree)
        .map(|i| (LinkId(i as u32), coord(10 + i as u64, 12)))
        .collect();
    time_decide("decide", &own, &dest, &nb);
}

/// Median time of one `decide` from `own` to `dest` over `nb`.
fn time_decide(name: &str, own: &Coord, dest: &Coord, nb: &[(LinkId, Coord)]) {
    let degree = nb.len();
    let ns = median_ns_per_iter(2_000_000 / degree as u32 + 10, || {
        let mut wm = u16::MAX;
        black_box(decide(
            black_box(own),
            black_box(dest),
            &mut wm,
            nb.iter().map(|(l, c)| (*l, c)),
        ));
    });
    println!("{name}/{degree}: {ns:.0} ns per packet");
}

/// `decide_multi` with `k` trees: every neighbour and the destination have
/// a depth-12 coordinate in each tree (the header's watermark and tree mask
/// are reset every iteration, nothing is cloned).
fn bench_decide_multi(degree: usize, k: usize) {
    let root = |t: usize| RootId([t as u8 + 1; 8]);
    let own_c: Vec<Coord> = (0..k).map(|t| coord(1 + 100 * t as u64, 12)).collect();
    let mut own: TreeView<'_> = [None; MAX_TREES];
    for t in 0..k {
        own[t] = Some((root(t), &own_c[t]));
    }
    let mut dest = Locator::new();
    for t in 0..k {
        dest.set(
            t,
            Some(TreeCoord {
                root: root(t),
                coord: coord(2 + 100 * t as u64, 12),
            }),
        );
    }
    let nb_c: Vec<Vec<Coord>> = (0..degree)
        .map(|i| {
            (0..k)
                .map(|t| coord(10 + i as u64 + 100_000 * t as u64, 12))
                .collect()
        })
        .collect();
    let nb: Vec<NeighbourView<'_>> = nb_c
        .iter()
        .enumerate()
        .map(|(i, cs)| {
            let mut trees: TreeView<'_> = [None; MAX_TREES];
            for t in 0..k {
                trees[t] = Some((root(t), &cs[t]));
            }
            NeighbourView {
                link: LinkId(i as u32),
                trees,
            }
        })
        .collect();
    let mut h = Header::new(dest, Locator::new());
    let mask = h.trees;
    let ns = median_ns_per_iter(2_000_000 / degree as u32 + 10, || {
        h.watermark = u16::MAX;
        h.trees = mask;
        black_box(decide_multi(black_box(&own), &mut h, nb.iter().copied()));
    });
    println!("decide_multi_k{k}/{degree}: {ns:.0} ns per packet");
}

/// A depth-`depth` coordinate: slot `first`, then `depth - 2` times slot 1,
/// then slot `last`.
fn deep(first: u16, depth: usize, last: u16) -> Coord {
    let mut c = Coord::from_slots(&[first]).unwrap();
    for _ in 0..depth - 2 {
        c.push(1).unwrap();
    }
    c.push(last).unwrap();
    c
}

fn bench_decide_deep(degree: usize) {
    let own = deep(2, 5_000, 3);
    let dest = deep(2, 5_100, 2);
    let nb: Vec<(LinkId, Coord)> = (0..degree)
        .map(|i| {
            (
                LinkId(i as u32),
                deep(2, 4_990 + i % 20, 2 + (i % 5) as u16),
            )
        })
        .collect();
    time_decide("decide_deep", &own, &dest, &nb);
}

fn bench_route(degree: usize) {
    let t0 = Instant::ZERO;
    let mut hub_table = vec![NeighbourEntry::EMPTY; degree];
    let mut leaf_tables: Vec<[NeighbourEntry; 1]> =
        (0..degree).map(|_| [NeighbourEntry::EMPTY]).collect();
    let seed = [0xffu8; 32];
    // The hub is the root: a rank credentialed by the deployment's authority.
    let authority = [0xa5u8; 32];
    let member = Config {
        authority: Some(credential::public_key(&authority)),
        ..Config::default()
    };
    let hub_cfg = Config {
        rank: 1_000,
        rank_credential: Some(credential::sign_rank(
            &authority,
            &credential::public_key(&seed),
            1_000,
        )),
        ..member
    };
    let mut hub = Node::new(hub_cfg, &seed, &mut hub_table, t0);
    let mut leaves: Vec<Node<'_>> = leaf_tables
        .iter_mut()
        .enumerate()
        .map(|(i, t)| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Node::new(member, &s, t, t0)
        })
        .collect();
    for (i, leaf) in leaves.iter_mut().enumerate() {
        hub.handle_link_up(t0, LinkId(i as u32), leaf.public_key())
            .unwrap();
        leaf.handle_link_up(t0, LinkId(u32::MAX), hub.public_key())
            .unwrap();
    }
    let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
    for _ in 0..3 {
        while let Some(t) = hub.poll_transmit(&mut buf).unwrap() {
            leaves[t.link.0 as usize]
                .handle_announcement(t0, LinkId(u32::MAX), &buf[..t.len])
                .unwrap();
        }
        for (i, leaf) in leaves.iter_mut().enumerate() {
            while let Some(t) = leaf.poll_transmit(&mut buf).unwrap() {
                hub.handle_announcement(t0, LinkId(i as u32), &buf[..t.len])
                    .unwrap();
            }
        }
    }
    let dest = leaves[degree / 2].coord().clone();
    assert_eq!(dest.depth(), 1);
    let header = hub.header_to(dest);
    let ns = median_ns_per_iter(200_000 / degree as u32 + 10, || {
        let mut h = header.clone();
        black_box(hub.route(&mut h));
    });
    println!("route/{degree}: {ns:.0} ns per packet");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    for d in [4, 64, 1024] {
        bench_decide(d);
    }
    for d in [4, 64, 1024] {
        bench_decide_deep(d);
    }
    // Alternated, so k = 1 and the others see the same machine load.
    for d in [4, 64, 1024] {
        for k in [1, 3, 4, 1] {
            bench_decide_multi(d, k);
        }
    }
    for d in [4, 64, 1024] {
        bench_route(d);
    }
    println!(
        "memory: NeighbourEntry {} bytes per neighbour (K = {MAX_TREES}), {} bytes (K = 1); Node {} bytes (fixed, any table size)",
        std::mem::size_of::<NeighbourEntry>(),
        std::mem::size_of::<NeighbourEntry<1>>(),
        std::mem::size_of::<Node<'static>>()
    );
}
