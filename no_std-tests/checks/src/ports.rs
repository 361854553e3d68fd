//! Ports checks: the event codec against the independent Python encoder's
//! vector, a local port pair on one node, and two nodes exchanging encoded
//! events through a small loop in the check, one of them sending a port to
//! the other. Everything lives on the stack (small const generics).

use hyperport::ports::{
    Bytes, Event, EventKind, GetMessageError, Node, NodeName, PortName, ShutdownPolicy,
};
use hyperport::rng::SeededRng;

use crate::unhex;

type Pl = Bytes<16>;
/// 8 ports, 8 queued messages, 2 attached ports, 4 held events, output
/// queues of 16: a node is a few tens of KiB, all on the stack.
type N = Node<Pl, SeededRng, 8, 8, 2, 4, 16>;

fn pl(s: &[u8]) -> Option<Pl> {
    Pl::from_slice(s).ok()
}

fn node(n: u64) -> N {
    N::new(
        NodeName::new(0x6e6f_7374_6400, n),
        hyperport::ports::Config::default(),
        SeededRng::from_u64(n),
    )
}

/// `user_message_one_port` from vectors/ports/events.json (written by
/// vectors/ports/gen_events.py, an independent Python encoder of the wire
/// table): decoded field by field, then re-encoded byte for byte.
pub(crate) fn event_codec_vector() -> bool {
    event_codec().unwrap_or(false)
}

fn event_codec() -> Option<bool> {
    let mut wire = [0u8; 178];
    let bytes = unhex(
        "0000000000000000111111111111111122222222222222223333333333333333\
         444444444444444407000000000000002a000000000000000100000000000000\
         0100000000000000020000000000000003000000000000000400000000000000\
         0500000000000000060000000000000007000000000000000800000000000000\
         09000000000000000a000000000000000b000000000000000100000000000000\
         aaaa000000000000bbbb00000000000000ff",
        &mut wire,
    )?;
    let ev = Event::<Pl, 2>::decode(bytes).ok()?;
    let EventKind::UserMessage(m) = &ev.kind else {
        return Some(false);
    };
    let (name, d) = m.ports.first()?;
    let fields = ev.port == PortName::new(0x1111_1111_1111_1111, 0x2222_2222_2222_2222)
        && ev.from_port == PortName::new(0x3333_3333_3333_3333, 0x4444_4444_4444_4444)
        && ev.control_seq == 7
        && m.seq == 42
        && m.ports.len() == 1
        && *name == PortName::new(0xaaaa, 0xbbbb)
        && d.peer_node == NodeName::new(1, 2)
        && d.peer_port == PortName::new(3, 4)
        && d.referring_node == NodeName::new(5, 6)
        && d.referring_port == PortName::new(7, 8)
        && (
            d.next_seq_to_send,
            d.next_seq_to_receive,
            d.last_seq_to_receive,
        ) == (9, 10, 11)
        && d.peer_closed
        && m.payload == [0x00, 0xff];
    let mut out = [0u8; 178];
    let round = ev.encoded_len() == 178 && ev.encode(&mut out) == Ok(178) && out[..] == *bytes;
    // Strict decoding: a truncated event and a carried-port count above A.
    let truncated = Event::<Pl, 2>::decode(bytes.get(..100)?).is_err();
    let too_many = Event::<Pl, 0>::decode(bytes).is_err();
    Some(fields && round && truncated && too_many)
}

pub(crate) fn local_pair() -> bool {
    local().unwrap_or(false)
}

fn local() -> Option<bool> {
    let mut n = node(1);
    let (a, b) = n.create_port_pair().ok()?;
    n.send_user_message(a, pl(b"first")?, &[]).ok()?;
    n.send_user_message(a, pl(b"second")?, &[]).ok()?;
    let m1 = n.get_message(b).ok()??;
    let m2 = n.get_message(b).ok()??;
    let mut ok = m1.payload == b"first"[..]
        && m1.ports.is_empty()
        && m2.payload == b"second"[..]
        && n.get_message(b) == Ok(None);
    n.close_port(a).ok()?;
    ok &= n.get_message(b) == Err(GetMessageError::PeerClosed);
    n.close_port(b).ok()?;
    while n.poll_event().is_some() {}
    ok &= n.port_count() == 0
        && n.can_shutdown_cleanly(ShutdownPolicy::DontAllowLocalPorts)
        && n.poll_transmit().is_none()
        && n.stats().dropped_outputs == 0
        && n.stats().violations == 0;
    Some(ok)
}

/// Most rounds [`pump`] runs before it gives up (the exchanges here settle
/// in a handful).
const MAX_ROUNDS: usize = 32;

/// Delivers everything `from` has queued for `to`: each event is encoded,
/// decoded from the bytes (which must give the same event back) and handed
/// to `to`. Returns how many were delivered, or `None` on any failure (an
/// event for a third node, a codec mismatch, a protocol error).
fn deliver(from: &mut N, to: &mut N, wire: &mut [u8; 512]) -> Option<usize> {
    let mut count = 0usize;
    while let Some((dest, ev)) = from.poll_transmit() {
        if dest != to.name() {
            return None;
        }
        let n = ev.encode(wire).ok()?;
        let back = Event::decode(wire.get(..n)?).ok()?;
        if back != ev {
            return None;
        }
        to.handle_event(from.name(), back).ok()?;
        count = count.checked_add(1)?;
    }
    while let Some(ev) = from.poll_broadcast() {
        let n = ev.encode(wire).ok()?;
        to.handle_event(from.name(), Event::decode(wire.get(..n)?).ok()?)
            .ok()?;
        count = count.checked_add(1)?;
    }
    while from.poll_event().is_some() {}
    Some(count)
}

/// Runs the two nodes until neither has anything to send.
fn pump(a: &mut N, b: &mut N) -> Option<()> {
    let mut wire = [0u8; 512];
    for _ in 0..MAX_ROUNDS {
        let moved = deliver(a, b, &mut wire)?.checked_add(deliver(b, a, &mut wire)?)?;
        if moved == 0 {
            return Some(());
        }
    }
    None
}

pub(crate) fn two_nodes_send_port() -> bool {
    two_nodes().unwrap_or(false)
}

fn two_nodes() -> Option<bool> {
    let (mut a, mut b) = (node(1), node(2));
    // A cross-node pair: each end's peer (and previous peer) is the other.
    let a0 = a.create_uninitialized_port().ok()?;
    let b0 = b.create_uninitialized_port().ok()?;
    a.initialize_port(a0, b.name(), b0, b.name(), b0).ok()?;
    b.initialize_port(b0, a.name(), a0, a.name(), a0).ok()?;

    // A sends one end of a local pair (y) to B over a0 -> b0.
    let (x, y) = a.create_port_pair().ok()?;
    a.send_user_message(a0, pl(b"take this port")?, &[y]).ok()?;
    pump(&mut a, &mut b)?;
    let m = b.get_message(b0).ok()??;
    let mut ok = m.payload == b"take this port"[..] && m.ports.len() == 1;
    let y2 = *m.ports.first()?;

    // The moved port works both ways, and its proxy on A is gone.
    a.send_user_message(x, pl(b"via moved port")?, &[]).ok()?;
    pump(&mut a, &mut b)?;
    let m = b.get_message(y2).ok()??;
    ok &= m.payload == b"via moved port"[..];
    b.send_user_message(y2, pl(b"reply")?, &[]).ok()?;
    pump(&mut a, &mut b)?;
    let m = a.get_message(x).ok()??;
    ok &= m.payload == b"reply"[..]
        && a.port_state(y).is_none()
        && a.port_count() == 2
        && b.port_count() == 2
        && !b.get_status(y2).ok()?.peer_closed
        && b.get_status(y2).ok()?.peer_remote;

    // Closing one end is seen across the nodes; then everything closes.
    a.close_port(x).ok()?;
    pump(&mut a, &mut b)?;
    ok &= b.get_message(y2) == Err(GetMessageError::PeerClosed);
    b.close_port(y2).ok()?;
    a.close_port(a0).ok()?;
    pump(&mut a, &mut b)?;
    ok &= b.get_message(b0) == Err(GetMessageError::PeerClosed);
    b.close_port(b0).ok()?;
    pump(&mut a, &mut b)?;
    for n in [&a, &b] {
        let s = n.stats();
        ok &= n.port_count() == 0
            && n.can_shutdown_cleanly(ShutdownPolicy::DontAllowLocalPorts)
            && s.dropped_outputs == 0
            && s.violations == 0
            && s.remote_events > 0;
    }
    Some(ok)
}
