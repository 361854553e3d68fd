//! The four gaps of issue #17 item 4, one regression test each (each fails
//! without its mechanism):
//!
//! * a grant stays valid after the parent stopped granting: a former
//!   child's replay is refused once the grant's lifetime is over;
//! * one peer key could hold every neighbour slot: one entry per key, and a
//!   full table replaces its worst (idle) neighbour;
//! * a neighbour that never speaks kept its slot forever: evicted after
//!   `Config::silent_eviction`, reported to the driver;
//! * every announcement was verified at once: a neighbour's verifications
//!   are bounded by its budget; the rest is deferred and asked for later.

mod routing_support;
use ed25519_dalek::SigningKey;
use hyperport::routing::announce::{
    Announcement, encode_full, encode_keepalive, next_tag, root_tag,
};
use hyperport::routing::{
    AnnounceError, Config, Event, Eviction, Hop, LinkError, LinkId, MAX_ANNOUNCE_LEN,
    NeighbourEntry, Node, TRANSMIT_BUF_LEN,
};
use hyperport::time::{Instant, Timed};
use routing_support::{Net, member_config, seed_of, signed_grant, signed_root};

fn sk(i: usize) -> SigningKey {
    SigningKey::from_bytes(&seed_of(i))
}

fn pk(i: usize) -> [u8; 32] {
    sk(i).verifying_key().to_bytes()
}

/// Runs `node`'s timers up to `until`, returning the events seen.
fn run_until(node: &mut Node<'_>, from: Instant, until: Instant) -> Vec<Event> {
    let mut events = Vec::new();
    let mut now = from;
    let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
    while let Some(t) = node.poll_timeout().filter(|t| *t <= until) {
        assert!(t >= now);
        now = t;
        node.handle_timeout(now);
        assert!(
            node.poll_timeout().is_none_or(|t| t > now),
            "poll_timeout contract"
        );
        while node.poll_transmit(&mut buf).unwrap().is_some() {}
        while let Some(e) = node.poll_event() {
            events.push(e);
        }
    }
    events
}

#[test]
fn a_grant_the_parent_stopped_giving_expires_and_its_replay_is_refused() {
    // 0 (the root: highest degree) - 1 - 2, and 2 - 3 - 0. Node 2's parent
    // is 1 or 3 (both depth 1); we record every announcement node 2 sends
    // node 3, then cut 2's link to its parent, and replay node 2's old
    // announcements (as a former child would) to node 3 later.
    let adj = vec![vec![1, 3, 4], vec![0, 2], vec![1, 3], vec![2, 0], vec![0]];
    let mut net = Net::new(adj);
    net.converge(8, 200);
    let parent = net.nodes[2].parent().unwrap().0 as usize;
    assert!(parent == 1 || parent == 3);
    let other = 4 - parent; // the other depth-1 neighbour of node 2
    // Node 2's current full announcement to `other` (it carries node 2's
    // own grant from `parent`): `other` asks for it (the request flag is
    // honoured even on a message refused otherwise).
    let now = net.now();
    let mut ask = vec![0u8; 200];
    let n = encode_keepalive(&mut ask, 0, net.nodes[0].root(), &[0; 16], Some(0)).unwrap();
    let _ = net.nodes[2].handle_announcement(now, LinkId(other as u32), &ask[..n]);
    net.step();
    let old = net
        .inflight
        .iter()
        .find(|(to, from, b)| {
            *to == other
                && *from == 2
                && matches!(Announcement::parse(b), Ok(Announcement::Full(f)) if f.depth() == 2)
        })
        .map(|(_, _, b)| b.clone())
        .expect("node 2's chain");
    // The replay is accepted while the grant is young...
    let now = net.now();
    assert_eq!(
        net.nodes[other].handle_announcement(now, LinkId(2), &old),
        Ok(())
    );
    // ... then node 2 is cut from its parent, which stops renewing that
    // grant; the network runs on (heartbeats every 2 s in the test config).
    net.remove_link(2, parent);
    for _ in 0..40 {
        net.step();
    }
    let now = net.now();
    assert_eq!(
        net.nodes[other].handle_announcement(now, LinkId(2), &old),
        Err(AnnounceError::Expired),
        "a former child replays a grant its parent stopped giving 40 s ago"
    );
    assert!(net.nodes[other].stats().rejected_expired >= 1);
    // Honest renewals kept everyone else's grants alive meanwhile (the
    // refusal made `other` forget node 2 until its next announcement).
    net.converge(3, 50);
    let mut rng = routing_support::Xs(3);
    let (ok, tried, _) = net.evaluate(&mut rng, 50);
    assert_eq!(ok, tried);
    assert!(net.nodes.iter().map(|n| n.stats().renewals).sum::<u64>() > 0);
}

#[test]
fn one_entry_per_key_and_a_full_table_replaces_an_idle_neighbour() {
    let mut table = [NeighbourEntry::EMPTY, NeighbourEntry::EMPTY];
    let t0 = Instant::ZERO;
    let mut a = Node::new(member_config(), &seed_of(0), &mut table, t0);
    a.handle_link_up(t0, LinkId(1), pk(1)).unwrap();
    // The same key on a second link takes the first one's entry.
    a.handle_link_up(t0, LinkId(2), pk(1)).unwrap();
    assert_eq!(a.neighbour_count(), 1);
    assert_eq!(
        a.poll_event(),
        Some(Event::NeighbourEvicted {
            link: LinkId(1),
            reason: Eviction::Replaced
        })
    );
    // The evicted link is forgotten.
    assert_eq!(
        a.handle_announcement(t0, LinkId(1), &[0]),
        Err(AnnounceError::UnknownLink)
    );
    a.handle_link_up(t0, LinkId(3), pk(3)).unwrap();
    assert_eq!(a.neighbour_count(), 2);
    // Full, and both neighbours are new: the newcomer is refused...
    assert_eq!(
        a.handle_link_up(t0, LinkId(4), pk(4)),
        Err(LinkError::TableFull)
    );
    // ... but once they have been idle (nothing valid) for a neighbour
    // timeout, the one silent longest makes room.
    let t1 = t0 + Config::default().neighbour_timeout;
    a.handle_link_up(t1, LinkId(4), pk(4)).unwrap();
    assert_eq!(a.neighbour_count(), 2);
    assert_eq!(
        a.poll_event(),
        Some(Event::NeighbourEvicted {
            link: LinkId(2),
            reason: Eviction::TableFull
        })
    );
}

#[test]
fn a_neighbour_that_never_speaks_is_evicted_and_reported() {
    let mut table = [NeighbourEntry::EMPTY; 2];
    let t0 = Instant::ZERO;
    let mut a = Node::new(member_config(), &seed_of(0), &mut table, t0);
    assert_eq!(a.poll_event(), Some(Event::PositionChanged));
    a.handle_link_up(t0, LinkId(7), pk(7)).unwrap();
    let silent = Config::default().silent_eviction;
    let events = run_until(&mut a, t0, Instant::from_micros(silent.as_micros() - 1_000));
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(a.neighbour_count(), 1);
    let events = run_until(&mut a, t0, t0 + silent);
    assert_eq!(
        events,
        [Event::NeighbourEvicted {
            link: LinkId(7),
            reason: Eviction::Silent
        }]
    );
    assert_eq!(a.neighbour_count(), 0);
    assert_eq!(a.stats().evictions, 1);
    // A later link-down for it is a no-op.
    a.handle_link_down(t0 + silent, LinkId(7));
}

/// A hostile neighbour (key 50) sends announcements that each need `depth`
/// fresh Ed25519 verifications: chains under ever better credentialed roots
/// of its own making.
fn expensive(i: u32, depth: usize, victim: [u8; 32]) -> Vec<u8> {
    let root_sk = sk(1000 + i as usize);
    let hb = signed_root(&root_sk, 0, 1_000 + i, 5, 0);
    let mut tag = root_tag(0, &hb.key, hb.rank);
    let mut hops: Vec<Hop> = Vec::new();
    let mut signer = root_sk;
    for k in 0..depth {
        let child = if k + 1 == depth {
            pk(50)
        } else {
            pk(2000 + 100 * i as usize + k)
        };
        hops.push(signed_grant(&signer, &tag, 1, child, 5));
        tag = next_tag(&tag, &child, 1);
        signer = if k + 1 == depth {
            sk(50)
        } else {
            sk(2000 + 100 * i as usize + k)
        };
    }
    let g = signed_grant(&sk(50), &tag, 1, victim, 5);
    let mut b = vec![0u8; MAX_ANNOUNCE_LEN];
    let n = encode_full(&mut b, 0, &hb, &hops, Some(&g), None).unwrap();
    b.truncate(n);
    b
}

#[test]
fn a_neighbour_cannot_make_us_verify_more_than_its_budget() {
    let mut table = [NeighbourEntry::EMPTY; 2];
    let t0 = Instant::ZERO;
    let cfg = member_config();
    let mut a = Node::new(cfg, &seed_of(0), &mut table, t0);
    a.handle_link_up(t0, LinkId(50), pk(50)).unwrap();
    let me = a.public_key();
    // 30 announcements of 40 hops each in one instant: 30 × 43 = 1,290
    // verifications asked for.
    let msgs: Vec<Vec<u8>> = (0..30).map(|i| expensive(i, 40, me)).collect();
    let mut refused = 0;
    for m in &msgs {
        match a.handle_announcement(t0, LinkId(50), m) {
            Ok(()) => {}
            Err(AnnounceError::OverBudget) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    // The bucket: the budget plus one chain of our (64-hop) stores and its
    // three other signatures.
    let burst = u64::from(cfg.verify_budget) + 64 + 3;
    let spent = a.stats().signatures_verified;
    assert!(
        spent <= burst,
        "{spent} verifications for one neighbour at once"
    );
    assert!(refused > 0 && a.stats().over_budget == refused);
    // One interval later the deferred chain is asked for again, from where
    // it stopped (our next message to the neighbour carries the request).
    let t1 = t0 + cfg.announce_interval;
    a.handle_timeout(t1);
    let mut buf = vec![0u8; TRANSMIT_BUF_LEN];
    let mut asked = false;
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        asked |= Announcement::parse(&buf[..t.len]).unwrap().want().is_some();
    }
    assert!(asked);
    // And it may cost us one budget more, no more.
    for m in &msgs {
        let _ = a.handle_announcement(t1, LinkId(50), m);
    }
    let spent2 = a.stats().signatures_verified - spent;
    assert!(
        spent2 <= u64::from(cfg.verify_budget) + (burst - spent),
        "{spent2}"
    );
}
