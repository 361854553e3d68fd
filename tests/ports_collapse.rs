//! Proxy-chain collapse cost: a port is moved across N nodes while every
//! ObserveProxy is held back, leaving a chain of N proxies; then delivery
//! resumes and we count the events until the route is direct again.
//!
//! `cargo test --test ports_collapse -- --nocapture` prints the curve.
#![cfg(feature = "sim")]

mod ports_common;

use ports_common::*;

struct Curve {
    n: usize,
    total: u64,
    by_type: [u64; 12],
}

fn collapse(n: usize, seed: u64, direct: bool) -> Curve {
    let cfg = hyperport::ports::Config {
        direct_bypass: direct,
        ..config()
    };
    // a on node 0, b on node 1; b then moves 1 → 2 → … → n+1, leaving a
    // proxy on each of nodes 1..=n (every proxy's previous peer is remote,
    // so nothing collapses while the requests are held).
    let mut net = Net::with_config(n + 2, seed, cfg);
    let (a, b) = net.cross_pair(0, 1);
    let carriers: Vec<_> = (1..=n).map(|k| (k, net.cross_pair(k, k + 1))).collect();
    net.idle();
    let held = if direct { 9 } else { OBSERVE_PROXY };
    for k in 0..n + 2 {
        net.block(k, Some(held));
    }
    let mut moving = b;
    for (k, (c0, c1)) in &carriers {
        net.send(*k, *c0, b"move", &[moving]);
        net.idle();
        moving = net.get(k + 1, *c1).unwrap().ports[0];
    }
    let proxies = (1..=n)
        .flat_map(|k| net.node(k).ports().collect::<Vec<_>>())
        .filter(|(_, s)| *s == hyperport::ports::PortState::Proxying)
        .count();
    assert_eq!(proxies, n, "a chain of {n} proxies was built");
    let before = net.delivered();
    let local_before: u64 = (0..n + 2).map(|k| net.node(k).stats().local_events).sum();
    for k in 0..n + 2 {
        net.block(k, None);
    }
    net.run_until_idle(10_000_000);
    let local_after: u64 = (0..n + 2).map(|k| net.node(k).stats().local_events).sum();
    let after = net.delivered();
    let mut by_type = [0u64; 12];
    for t in 0..12 {
        by_type[t] = after[t] - before[t];
    }
    // Collapsed: a talks to the moved port directly, no proxy is left.
    for k in 0..n + 2 {
        assert!(
            net.node(k)
                .ports()
                .all(|(_, s)| s == hyperport::ports::PortState::Receiving),
            "proxy left on node {k}"
        );
    }
    net.send(0, a, b"ping", &[]);
    net.idle();
    assert_eq!(&net.get(n + 1, moving).unwrap().payload[..], b"ping");
    Curve {
        n,
        total: by_type.iter().sum::<u64>() + (local_after - local_before),
        by_type,
    }
}

fn print(title: &str, rows: &[Curve]) {
    eprintln!("{title}");
    eprintln!(
        "N    total  per-N  ObserveProxy(2/9)  ObserveProxyAck  UpdatePreviousPeer  PeerConfirmed"
    );
    for r in rows {
        eprintln!(
            "{:<4}{:>6}{:>7.1}{:>19}{:>17}{:>20}{:>15}",
            r.n,
            r.total,
            r.total as f64 / r.n as f64,
            r.by_type[2] + r.by_type[9],
            r.by_type[3],
            r.by_type[8],
            r.by_type[10]
        );
    }
}

const NS: [usize; 6] = [1, 2, 4, 8, 16, 64];

#[test]
fn collapse_curve_chromium_bypass() {
    let rows: Vec<Curve> = NS
        .iter()
        .map(|&n| collapse(n, 7 + n as u64, false))
        .collect();
    print("ObserveProxy around the route (Chromium):", &rows);
    // One proxy: ObserveProxy to the moved port, forwarded to a, the ack,
    // the final UpdatePreviousPeer (walkthrough A of the reference: 4
    // events once PortAccepted has been delivered).
    assert_eq!(rows[0].total, 4);
    // Super-linear: 64 proxies cost far more than 64 times one.
    assert!(
        rows[5].total > 20 * 64 * rows[0].total / 4,
        "{}",
        rows[5].total
    );
}

#[test]
fn collapse_curve_direct_bypass() {
    let rows: Vec<Curve> = NS
        .iter()
        .map(|&n| collapse(n, 7 + n as u64, true))
        .collect();
    print(
        "ObserveProxyDirect to the previous peer (hyperport):",
        &rows,
    );
    // One request, one ack, one UpdatePreviousPeer and its PeerConfirmed
    // per proxy; at most one re-sent request per proxy whose upstream was
    // still a proxy (the moved ports' PortArrived notices were delivered
    // while the chain was built). Linear: 5N - 1.
    for r in &rows {
        assert!(r.total < 5 * r.n as u64, "N={} total={}", r.n, r.total);
        assert_eq!(r.by_type[10], r.by_type[8], "one confirmation per UPP");
    }
}
