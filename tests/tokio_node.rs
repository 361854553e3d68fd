//! The overlay driver (`adapters::tokio::node`) on loopback UDP: a real
//! topology of tasks, a ports pipe between the two nodes farthest apart,
//! rerouting around a stopped node, its restart with the same identity,
//! shutdown under load, and send errors.

use std::collections::VecDeque;
use std::time::Duration;

use hyperport::adapters::tokio::node::{
    IncomingPipes, IoOp, NodeConfig, NodeEvent, NodeEvents, NodeHandle, RunningNode,
};
use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout};
use zeroize::Zeroizing;

/// Runs `f` on a multi-thread runtime whose workers have large stacks (the
/// overlay node is a large value; unoptimized builds move it around).
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .unwrap()
}

fn seed(i: usize) -> Zeroizing<[u8; 32]> {
    let mut s = [0x5au8; 32];
    s[..8].copy_from_slice(&(i as u64).to_be_bytes());
    Zeroizing::new(s)
}

struct Member {
    node: RunningNode,
    handle: NodeHandle,
    events: Option<NodeEvents>,
    incoming: IncomingPipes,
}

async fn start(i: usize, addr: &str, config: NodeConfig) -> Member {
    let socket = UdpSocket::bind(addr).await.unwrap();
    let mut node = RunningNode::start(socket, seed(i), config).unwrap();
    let handle = node.handle();
    let events = node.take_events();
    let incoming = node.take_incoming().unwrap();
    Member {
        node,
        handle,
        events,
        incoming,
    }
}

/// The topology file's edges.
fn topology(name: &str) -> (usize, Vec<(usize, usize)>) {
    let path = format!("{}/vectors/topologies/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = 0;
    let mut edges = Vec::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut it = l.split_whitespace().map(|x| x.parse::<usize>().unwrap());
        let (a, b) = (it.next().unwrap(), it.next().unwrap());
        n = n.max(a + 1).max(b + 1);
        edges.push((a, b));
    }
    (n, edges)
}

fn distances(n: usize, edges: &[(usize, usize)], from: usize) -> Vec<usize> {
    let mut d = vec![usize::MAX; n];
    d[from] = 0;
    let mut q = VecDeque::from([from]);
    while let Some(x) = q.pop_front() {
        for &(a, b) in edges {
            for (u, v) in [(a, b), (b, a)] {
                if u == x && d[v] == usize::MAX {
                    d[v] = d[x] + 1;
                    q.push_back(v);
                }
            }
        }
    }
    d
}

/// Waits until every node's location stayed the same for `quiet`.
async fn converge(members: &[Option<Member>], quiet: Duration, limit: Duration) {
    let start = Instant::now();
    let mut last = Vec::new();
    let mut stable_since = Instant::now();
    loop {
        let mut now = Vec::new();
        for m in members.iter().flatten() {
            let info = m.handle.info().await.unwrap();
            now.push((info.location, info.peers.iter().filter(|p| p.2).count()));
        }
        if now != last {
            last = now;
            stable_since = Instant::now();
        } else if stable_since.elapsed() >= quiet {
            return;
        }
        assert!(start.elapsed() < limit, "routing did not converge");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `count` numbered messages from `from` over `pipe` and checks that
/// `to` receives exactly them, in order.
async fn transfer(
    pipe_tx: &hyperport::adapters::tokio::node::Pipe,
    pipe_rx: &mut hyperport::adapters::tokio::node::Pipe,
    first: u32,
    count: u32,
) {
    let sender = async {
        for k in first..first + count {
            pipe_tx.send(&k.to_be_bytes()).await.unwrap();
        }
    };
    let receiver = async {
        for k in first..first + count {
            let m = timeout(Duration::from_secs(60), pipe_rx.recv())
                .await
                .unwrap_or_else(|_| panic!("message {k} did not arrive"))
                .unwrap_or_else(|| panic!("pipe closed before message {k}"));
            assert_eq!(&m[..], &k.to_be_bytes(), "out of order");
        }
    };
    tokio::join!(sender, receiver);
}

/// The application's directory for one node: answers its location
/// requests with the current location of the node asked for (from that
/// node's handle), as a real deployment's directory would; logs losses.
fn directory(
    mut events: NodeEvents,
    handle: NodeHandle,
    all: Vec<NodeHandle>,
    keys: Vec<[u8; 32]>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            match e {
                NodeEvent::LocationNeeded { key } => {
                    if let Some(i) = keys.iter().position(|k| *k == key)
                        && let Ok(info) = all[i].info().await
                    {
                        let _ = handle.set_location(key, info.location).await;
                    }
                }
                NodeEvent::NodeLost { .. } => eprintln!("{e:?}"),
                _ => {}
            }
        }
    })
}

fn drain(events: &mut NodeEvents) -> Vec<NodeEvent> {
    let mut v = Vec::new();
    while let Some(e) = events.try_recv() {
        v.push(e);
    }
    v
}

#[test]
fn abilene_pipe_1000_messages_in_order_between_the_farthest_nodes() {
    rt().block_on(abilene(false));
}

#[test]
fn abilene_pipe_reroutes_around_a_stopped_node_which_rejoins() {
    rt().block_on(abilene(true));
}

/// Eleven nodes along zoo-Abilene; 1,000 messages between the two nodes
/// farthest apart; with `churn`, the busiest intermediate node is stopped
/// (1,000 more messages must be rerouted), then restarted with the same
/// identity (its neighbours see a newer generation; 100 more messages).
async fn abilene(churn: bool) {
    {
        let (n, edges) = topology("zoo-Abilene.txt");
        assert!(n >= 8);
        let mut members: Vec<Option<Member>> = Vec::new();
        for i in 0..n {
            members.push(Some(start(i, "127.0.0.1:0", NodeConfig::new()).await));
        }
        let keys: Vec<[u8; 32]> = members
            .iter()
            .map(|m| m.as_ref().unwrap().node.key())
            .collect();
        let addrs: Vec<_> = members
            .iter()
            .map(|m| m.as_ref().unwrap().node.local_addr())
            .collect();
        for &(a, b) in &edges {
            let (lo, hi) = (a.min(b), a.max(b));
            members[lo]
                .as_ref()
                .unwrap()
                .handle
                .connect(keys[hi], addrs[hi])
                .await
                .unwrap();
        }
        converge(&members, Duration::from_secs(2), Duration::from_secs(60)).await;
        // The two nodes farthest apart.
        let (mut src, mut dst, mut far) = (0, 0, 0);
        for i in 0..n {
            let d = distances(n, &edges, i);
            for (j, &dj) in d.iter().enumerate() {
                if dj != usize::MAX && dj > far {
                    (src, dst, far) = (i, j, dj);
                }
            }
        }
        assert!(far >= 3, "diameter {far}");
        // Each end's directory knows the other's location.
        let loc_src = members[src]
            .as_ref()
            .unwrap()
            .handle
            .info()
            .await
            .unwrap()
            .location;
        let loc_dst = members[dst]
            .as_ref()
            .unwrap()
            .handle
            .info()
            .await
            .unwrap()
            .location;
        members[src]
            .as_ref()
            .unwrap()
            .handle
            .set_location(keys[dst], loc_dst)
            .await
            .unwrap();
        members[dst]
            .as_ref()
            .unwrap()
            .handle
            .set_location(keys[src], loc_src)
            .await
            .unwrap();
        let pipe_a = members[src]
            .as_ref()
            .unwrap()
            .handle
            .open_pipe(keys[dst])
            .await
            .unwrap();
        let mut pipe_b = timeout(
            Duration::from_secs(30),
            members[dst].as_mut().unwrap().incoming.accept(),
        )
        .await
        .expect("the far node got no pipe")
        .unwrap();
        assert_eq!(pipe_b.remote(), keys[src]);
        transfer(&pipe_a, &mut pipe_b, 0, 1_000).await;
        if !churn {
            drop((pipe_a, pipe_b));
            for m in members.into_iter().flatten() {
                m.node.shutdown().await.unwrap();
            }
            return;
        }
        // From now on the ends' directories follow location changes.
        let handles: Vec<NodeHandle> = members
            .iter()
            .map(|m| m.as_ref().unwrap().handle.clone())
            .collect();
        let mut directories = Vec::new();
        for end in [src, dst] {
            let m = members[end].as_mut().unwrap();
            let events = m.events.take().unwrap();
            directories.push(directory(
                events,
                m.handle.clone(),
                handles.clone(),
                keys.clone(),
            ));
        }

        // The intermediate node that forwarded most of it (not the root:
        // losing the root re-elects one, which takes routing's
        // `root_timeout`, 40 s, longer than the streams wait).
        let mut busiest = (0u64, usize::MAX);
        for (i, m) in members.iter().enumerate() {
            if i == src || i == dst {
                continue;
            }
            let h = &m.as_ref().unwrap().handle;
            if h.info().await.unwrap().is_root {
                continue;
            }
            let s = h.stats().await.unwrap();
            busiest = busiest.max((s.overlay.forwarded, i));
        }
        let (forwarded, mid) = busiest;
        assert!(
            forwarded >= 1_000,
            "no intermediate node forwarded: {busiest:?}"
        );
        let mid_addr = addrs[mid];
        let old_generations: Vec<(usize, u64)> = {
            let mut v = Vec::new();
            for (i, m) in members.iter().enumerate() {
                if i == mid {
                    continue;
                }
                let info = m.as_ref().unwrap().handle.info().await.unwrap();
                for (p, _, _) in info.peers {
                    if p.key == keys[mid] {
                        v.push((i, p.generation));
                    }
                }
            }
            v
        };
        assert!(!old_generations.is_empty());
        for m in members.iter_mut().flatten() {
            m.events.as_mut().map(drain).unwrap_or_default();
        }
        // Stop it: traffic is rerouted and continues, in order.
        let stopped = members[mid].take().unwrap();
        stopped.node.shutdown().await.unwrap();
        transfer(&pipe_a, &mut pipe_b, 1_000, 1_000).await;

        // Restart it with the same identity (same seed) at the same address.
        let back = start(mid, &mid_addr.to_string(), NodeConfig::new()).await;
        for &(a, b) in &edges {
            if a == mid || b == mid {
                let other = if a == mid { b } else { a };
                back.handle
                    .connect(keys[other], addrs[other])
                    .await
                    .unwrap();
            }
        }
        assert_eq!(back.node.key(), keys[mid]);
        // Every neighbour sees it up again under a newer generation.
        let deadline = Instant::now() + Duration::from_secs(60);
        for &(i, old) in &old_generations {
            loop {
                let info = members[i].as_ref().unwrap().handle.info().await.unwrap();
                let now = info
                    .peers
                    .iter()
                    .find(|(p, _, up)| p.key == keys[mid] && *up)
                    .map(|(p, _, _)| p.generation);
                // A neighbour may still hold the old session, up, until
                // the restarted node's handshake reaches it: wait for the
                // newer one (never an older one).
                if let Some(g) = now {
                    assert!(g >= old, "node {i}: generation {g} older than {old}");
                    if g > old {
                        break;
                    }
                }
                assert!(
                    Instant::now() < deadline,
                    "node {i} did not see {mid} again under a newer generation than {old}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let ups: Vec<u64> = members
            .iter_mut()
            .flatten()
            .flat_map(|m| m.events.as_mut().map(drain).unwrap_or_default())
            .filter_map(|e| match e {
                NodeEvent::PeerUp {
                    key, generation, ..
                } if key == keys[mid] => Some(generation),
                _ => None,
            })
            .collect();
        assert!(!ups.is_empty(), "no PeerUp for the restarted node");
        members[mid] = Some(back);
        // The pipe still works.
        transfer(&pipe_a, &mut pipe_b, 2_000, 100).await;
        drop((pipe_a, pipe_b));
        for m in members.into_iter().flatten() {
            m.node.shutdown().await.unwrap();
        }
        for d in directories {
            d.await.unwrap();
        }
    }
}

/// Two neighbours with a pipe from the first to the second.
async fn pair(
    i: usize,
    config: NodeConfig,
) -> (
    Member,
    Member,
    hyperport::adapters::tokio::node::Pipe,
    hyperport::adapters::tokio::node::Pipe,
) {
    let a = start(i, "127.0.0.1:0", config.clone()).await;
    let mut b = start(i + 1, "127.0.0.1:0", config).await;
    a.handle
        .connect(b.node.key(), b.node.local_addr())
        .await
        .unwrap();
    let both = [Some(a), Some(b)];
    converge(&both, Duration::from_secs(1), Duration::from_secs(30)).await;
    let [Some(a), Some(bb)] = both else {
        unreachable!()
    };
    b = bb;
    let la = a.handle.info().await.unwrap().location;
    let lb = b.handle.info().await.unwrap().location;
    a.handle.set_location(b.node.key(), lb).await.unwrap();
    b.handle.set_location(a.node.key(), la).await.unwrap();
    let pa = a.handle.open_pipe(b.node.key()).await.unwrap();
    let pb = timeout(Duration::from_secs(30), b.incoming.accept())
        .await
        .unwrap()
        .unwrap();
    (a, b, pa, pb)
}

#[test]
fn shutdown_flushes_what_was_sent() {
    rt().block_on(async {
        let config = NodeConfig::new().with_shutdown_grace(Duration::from_secs(10));
        let (a, b, pa, mut pb) = pair(300, config).await;
        let reader = tokio::spawn(async move {
            for k in 0..300u32 {
                let m = timeout(Duration::from_secs(10), pb.recv())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(&m[..], &k.to_be_bytes());
            }
        });
        for k in 0..300u32 {
            pa.send(&k.to_be_bytes()).await.unwrap();
        }
        // At once: what the ports node took is still delivered.
        let report = a.node.shutdown().await.unwrap();
        assert!(report.flushed, "{report:?}");
        reader.await.unwrap();
        assert_eq!(report.stats.pipe_messages_sent, 300);
        b.node.shutdown().await.unwrap();
    });
}

#[test]
fn shutdown_joins_within_the_grace_period_under_load() {
    rt().block_on(async {
        let grace = Duration::from_millis(800);
        let config = NodeConfig::new().with_shutdown_grace(grace);
        let (a, b, pa, pb) = pair(400, config).await;
        // Load: a writer that never stops, a reader that never reads.
        let writer = tokio::spawn(async move {
            let mut sent = 0u32;
            while pa.send(&sent.to_be_bytes()).await.is_ok() {
                sent += 1;
            }
            sent
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The receiving node vanishes: nothing will be acknowledged again.
        b.node.shutdown().await.unwrap();
        drop(pb);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t0 = Instant::now();
        let report = a
            .node
            .shutdown()
            .await
            .expect("shutdown within its grace period");
        let took = t0.elapsed();
        assert!(!report.flushed, "nothing can be flushed to a vanished node");
        assert!(
            took >= grace - Duration::from_millis(100)
                && took <= grace + Duration::from_millis(300),
            "shutdown took {took:?} with a grace period of {grace:?}"
        );
        // The writer sees the node stop; it is joined too.
        let sent = timeout(Duration::from_secs(1), writer)
            .await
            .unwrap()
            .unwrap();
        assert!(sent > 0);
    });
}

#[test]
fn send_errors_are_counted_and_reported() {
    rt().block_on(async {
        let mut a = start(500, "127.0.0.1:0", NodeConfig::new()).await;
        // An IPv6 destination from an IPv4 socket: every send fails.
        let to: std::net::SocketAddr = "[::1]:9".parse().unwrap();
        a.handle.connect([7u8; 32], to).await.unwrap();
        let reported = timeout(Duration::from_secs(5), async {
            loop {
                match a.events.as_mut().unwrap().recv().await.unwrap() {
                    NodeEvent::IoError {
                        op: IoOp::Send,
                        to: Some(t),
                        ..
                    } if t == to => return,
                    _ => {}
                }
            }
        })
        .await;
        assert!(reported.is_ok(), "no IoError event for the failed send");
        let s = a.handle.stats().await.unwrap();
        assert!(s.send_errors >= 1, "{s:?}");
        assert_eq!(s.datagrams_sent, 0, "{s:?}");
        a.node.shutdown().await.unwrap();
    });
}
