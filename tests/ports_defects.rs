//! Regression tests for the defects of issue #16 (ports in the default
//! mode, `direct_bypass` on). Each test reproduces one reported defect and
//! failed on the code before its fix.
#![cfg(feature = "sim")]

mod ports_common;

use hyperport::ports::{
    Config, Event, EventError, EventKind, GetMessageError, Incarnation, NodeError, NodeName,
    PortName, UserMessage,
};
use hyperport::rng::SeededRng;
use ports_common::*;

const V: NodeName = NodeName::new(0x76, 1);
const B: NodeName = NodeName::new(0x76, 2);
const C: NodeName = NodeName::new(0x76, 3);
const D: NodeName = NodeName::new(0x76, 4);

fn victim(cfg: Config) -> Box<TNode> {
    Box::new(TNode::new(V, cfg, SeededRng::from_u64(99)))
}

fn cross(v: &mut TNode, node: NodeName, tag: u64) -> (PortName, PortName) {
    let x = v.create_uninitialized_port().unwrap();
    let y = PortName::new(0xb0b, tag);
    v.initialize_port(x, node, y, node, y).unwrap();
    (x, y)
}

fn ev(port: PortName, from_port: PortName, ctl: u64, kind: EventKind<Pl, 4>) -> Ev {
    Event {
        port,
        from_port,
        control_seq: ctl,
        kind,
    }
}

fn msg(seq: u64, s: &[u8]) -> EventKind<Pl, 4> {
    EventKind::UserMessage(UserMessage {
        seq,
        ports: heapless::Vec::new(),
        payload: pl(s),
    })
}

fn drain(v: &mut TNode) -> Vec<(NodeName, Ev)> {
    let mut out = Vec::new();
    while let Some(x) = v.poll_transmit() {
        out.push(x);
    }
    while v.poll_event().is_some() {}
    out
}

/// Item 7: `handle_event` accepted `from` equal to the node's own name;
/// such events skipped the per-port and per-node hold bounds and their
/// violations were swallowed. Remote input naming this node is refused.
#[test]
fn item7_remote_input_naming_this_node_is_refused() {
    let mut v = victim(Config::default());
    let (x, _y) = cross(&mut v, B, 1);
    drain(&mut v);
    for i in 0..40u64 {
        let forged = ev(x, PortName::new(0xf, i + 1), 5, msg(5, b"self"));
        assert_eq!(
            v.handle_event(V, forged),
            Err(EventError::FromSelf),
            "event {i}"
        );
    }
    assert_eq!(v.held_count(), 0, "nothing held past any bound");
    assert!(drain(&mut v).is_empty());
}

/// Item 8: after a node is lost, a new route to a node of the same name
/// (it came back) accepted `send_user_message` with `Ok` and transmitted
/// nothing.
#[test]
fn item8_a_new_route_to_a_node_that_came_back_transmits() {
    let mut v = victim(Config::default());
    let (x, _y) = cross(&mut v, B, 1);
    v.lost_connection_to_node(B, Incarnation::FIRST).unwrap();
    drain(&mut v);
    assert_eq!(v.get_message(x), Err(GetMessageError::PeerClosed));
    // B comes back: a new route to it.
    let (z, w) = cross(&mut v, B, 2);
    v.send_user_message(z, pl(b"hello"), &[]).unwrap();
    let out = drain(&mut v);
    assert!(
        out.iter().any(|(n, e)| *n == B && e.port == w),
        "the message was not transmitted: {out:?}"
    );
}

/// Item 8: news naming a lost node (here an UpdatePreviousPeer naming a
/// port on D) was treated as a loss only while D was among the 16 last
/// lost names; after 16 other losses the port waited for D forever. Now
/// the node remembers nothing and asks the driver (`NodeInUse`), whose
/// answer is the same however many nodes were lost.
#[test]
fn item8_news_naming_a_lost_node_ends_the_route_however_many_nodes_were_lost() {
    for others in [0u64, 40] {
        let mut v = victim(Config::default());
        let x = v.create_uninitialized_port().unwrap();
        let y = PortName::new(0xb0b, 1);
        v.initialize_port(x, C, PortName::new(0xc, 9), B, y)
            .unwrap();
        let mut lost = vec![D];
        v.lost_connection_to_node(D, Incarnation::FIRST).unwrap();
        for k in 0..others {
            let n = NodeName::new(0xe, k + 1);
            v.lost_connection_to_node(n, Incarnation::FIRST).unwrap();
            lost.push(n);
        }
        settle(&mut v, &lost);
        let upp = EventKind::UpdatePreviousPeer {
            node: D,
            port: PortName::new(0xd, 2),
        };
        v.handle_event(B, ev(x, y, 1, upp)).unwrap();
        settle(&mut v, &lost);
        assert_eq!(
            v.get_message(x),
            Err(GetMessageError::PeerClosed),
            "after {others} other losses"
        );
    }
}

/// Item 8: incarnations. Admitting a later incarnation of a node ends the
/// routes made for the earlier one; a late loss report for the earlier one
/// is refused and leaves the routes of the current one alone; the loss of
/// the current one ends them.
#[test]
fn item8_a_later_incarnation_ends_the_earlier_one_and_late_reports_are_stale() {
    let mut v = victim(Config::default());
    v.admit_node(B, Incarnation::new(1)).unwrap();
    let (x, _y) = cross(&mut v, B, 1);
    drain(&mut v);
    assert!(!v.get_status(x).unwrap().peer_closed);
    // B restarts: incarnation 2.
    v.admit_node(B, Incarnation::new(2)).unwrap();
    assert_eq!(v.node_incarnation(B), Some(Incarnation::new(2)));
    assert!(v.get_status(x).unwrap().peer_closed, "x was made for B #1");
    let (z, w) = cross(&mut v, B, 2);
    drain(&mut v);
    // The report of B #1's loss arrives late: refused, z untouched.
    assert_eq!(
        v.lost_connection_to_node(B, Incarnation::new(1)),
        Err(NodeError::Stale)
    );
    assert_eq!(v.admit_node(B, Incarnation::new(1)), Err(NodeError::Stale));
    assert_eq!(v.admit_node(B, Incarnation::new(2)), Ok(()), "idempotent");
    v.send_user_message(z, pl(b"to #2"), &[]).unwrap();
    let out = drain(&mut v);
    assert!(out.iter().any(|(n, e)| *n == B && e.port == w));
    assert!(!v.get_status(z).unwrap().peer_closed);
    // B #2 is lost: z ends, B is no longer admitted.
    v.lost_connection_to_node(B, Incarnation::new(2)).unwrap();
    assert!(v.get_status(z).unwrap().peer_closed);
    assert_eq!(v.node_incarnation(B), None);
}

/// Item 7/8: the node's own name and the invalid name are refused by the
/// node-table calls too; the table's bound is a typed error.
#[test]
fn item8_node_table_refuses_own_and_invalid_names_and_is_bounded() {
    let mut v = victim(Config::default());
    assert_eq!(v.admit_node(V, Incarnation::FIRST), Err(NodeError::OwnName));
    assert_eq!(
        v.lost_connection_to_node(V, Incarnation::FIRST),
        Err(NodeError::OwnName)
    );
    assert_eq!(
        v.admit_node(NodeName::INVALID, Incarnation::FIRST),
        Err(NodeError::InvalidName)
    );
    assert_eq!(
        v.handle_event(
            NodeName::INVALID,
            ev(PortName::new(1, 1), PortName::new(1, 2), 1, msg(1, b""))
        ),
        Err(EventError::InvalidSender)
    );
    for k in 0..128u64 {
        v.admit_node(NodeName::new(0xa, k + 1), Incarnation::FIRST)
            .unwrap();
    }
    assert_eq!(
        v.admit_node(NodeName::new(0xb, 99), Incarnation::FIRST),
        Err(NodeError::CapacityExceeded)
    );
    v.lost_connection_to_node(NodeName::new(0xa, 1), Incarnation::FIRST)
        .unwrap();
    v.admit_node(NodeName::new(0xb, 99), Incarnation::FIRST)
        .unwrap();
}
