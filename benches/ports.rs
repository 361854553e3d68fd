//! Ports throughput: user messages per second through a local pair, and
//! through a route with k = 0, 1, 4 proxies across nodes (proxies kept alive
//! by holding their bypass requests), every hop encoded and decoded by the
//! test harness. Also prints the memory per port record.
//!
//! `cargo bench --bench ports`

#[path = "../tests/ports_common/mod.rs"]
#[allow(unused_imports)]
mod ports_common;

use std::time::Instant;

use ports_common::*;

fn local_pair(msgs: usize) -> f64 {
    let mut net = Net::new(1, 1);
    let (a, b) = net.with(0, |n| n.create_port_pair()).unwrap();
    let start = Instant::now();
    for i in 0..msgs {
        net.node(0)
            .send_user_message(a, pl(&(i as u32).to_le_bytes()), &[])
            .unwrap();
        let m = net.node(0).get_message(b).unwrap().unwrap();
        assert_eq!(m.payload.len(), 4);
        while net.node(0).poll_event().is_some() {}
    }
    msgs as f64 / start.elapsed().as_secs_f64()
}

/// a on node 0, b moved from node 1 across k more nodes (k proxies).
fn chain(k: usize, msgs: usize) -> f64 {
    let mut net = Net::new(k + 2, 2);
    let (a, b) = net.cross_pair(0, 1);
    let carriers: Vec<_> = (1..=k).map(|i| (i, net.cross_pair(i, i + 1))).collect();
    net.idle();
    // Every ObserveProxy walks the chain and ends at a's node: hold it
    // there, so no proxy is bypassed and user messages still flow.
    net.block(0, Some(OBSERVE_PROXY));
    let mut moving = b;
    for (i, (c0, c1)) in &carriers {
        net.send(*i, *c0, b"move", &[moving]);
        net.idle();
        moving = net.get(i + 1, *c1).unwrap().ports[0];
    }
    let proxies = (1..=k)
        .flat_map(|i| net.node(i).ports().collect::<Vec<_>>())
        .filter(|(_, s)| *s == hyperport::ports::PortState::Proxying)
        .count();
    assert_eq!(proxies, k, "route keeps {k} proxies");
    let end = k + 1;
    let start = Instant::now();
    let mut got = 0;
    for i in 0..msgs {
        net.send(0, a, &(i as u32).to_le_bytes(), &[]);
        if i % 16 == 15 {
            net.idle();
            while net.get(end, moving).is_some() {
                got += 1;
            }
        }
    }
    net.idle();
    while net.get(end, moving).is_some() {
        got += 1;
    }
    assert_eq!(got, msgs);
    msgs as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    println!(
        "port record: {} bytes; Event<32-byte payload, 4 ports>: {} bytes; node as benchmarked: {} bytes",
        TNode::port_record_size(),
        std::mem::size_of::<Ev>(),
        std::mem::size_of::<TNode>()
    );
    println!(
        "local pair (send + get, one node): {:>10.0} msgs/s",
        local_pair(200_000)
    );
    for k in [0usize, 1, 4] {
        println!(
            "route with {k} proxies across {} nodes: {:>10.0} msgs/s",
            k + 2,
            chain(k, 20_000)
        );
    }
}
