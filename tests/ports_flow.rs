//! The sender window across a peer change (issue #4): an honest sender
//! never exceeds the receiver's hold bound, so a burst sent while the
//! other end of a pipe moves between nodes arrives complete, in order,
//! with no violation, under the default limits.
#![cfg(feature = "sim")]

mod ports_common;

use hyperport::ports::{Config, SendError};
use ports_common::*;

fn payload(i: usize) -> Vec<u8> {
    format!("m{i}").into_bytes()
}

/// `a` on node 0 paired with `b` on node 1; `b` is sent to node 2 inside a
/// message, and node 2 is kept from processing the UpdatePreviousPeer that
/// ends the proxy left on node 1 (so `b`'s new home holds whatever `a`
/// sends directly). Node 0 then sends `burst` messages; on
/// [`SendError::WouldBlock`] everything in flight is delivered, node 2 is
/// let go, and the simulator steps.
/// Returns the payloads read at b's old and new homes in order, the most
/// events ever waiting on node 0, and how many sends were refused.
fn burst_during_move(seed: u64, burst: usize, cfg: Config) -> (Vec<Vec<u8>>, usize, usize) {
    let mut net = Net::with_config(3, seed, cfg);
    let (a, b) = net.cross_pair(0, 1);
    let (x, y) = net.cross_pair(1, 2);
    net.set_save(1, true);
    net.set_save(2, true);
    net.block(2, Some(UPDATE_PREVIOUS_PEER));
    net.send(1, x, b"carry", &[b]);
    // `a` is re-pointed to b's new home; the proxy's last event is held.
    net.idle();
    let mut peak = 0;
    let mut refused = 0;
    let mut blocked = true;
    let mut i = 0;
    while i < burst {
        let p = pl(&payload(i));
        match net.with(0, |n| n.send_user_message(a, p, &[])) {
            Ok(()) => i += 1,
            Err(SendError::WouldBlock) => {
                refused += 1;
                // What was sent reaches b's new home and is held there.
                net.idle();
                if blocked {
                    net.block(2, None);
                    blocked = false;
                }
                assert!(net.deliver_one(), "refused with nothing in flight");
            }
            Err(e) => panic!("send {i}: {e}"),
        }
        peak = peak.max(net.with(0, |n| n.waiting_count()));
    }
    net.idle();
    if blocked {
        net.block(2, None);
    }
    net.idle();
    let errors = net.errors();
    assert!(errors.is_empty(), "violations: {errors:?}");
    for n in 0..3 {
        assert_eq!(net.with(n, |n| n.stats().violations), 0);
        assert_eq!(net.with(n, |n| n.waiting_count()), 0);
        assert_eq!(net.with(n, |n| n.held_count()), 0);
    }
    let mut got: Vec<Vec<u8>> = net
        .saved(1)
        .iter()
        .filter(|(p, _)| *p == b)
        .map(|(_, m)| m.payload.to_vec())
        .collect();
    got.extend(
        net.saved(2)
            .iter()
            .filter(|(p, _)| *p != y)
            .map(|(_, m)| m.payload.to_vec()),
    );
    (got, peak, refused)
}

#[test]
fn burst_while_the_other_end_moves_arrives_once_in_order_with_default_limits() {
    let cfg = Config::default();
    let want: Vec<Vec<u8>> = (0..200).map(payload).collect();
    for seed in 0..10 {
        let (got, peak, refused) = burst_during_move(seed, 200, cfg);
        assert_eq!(got, want, "seed {seed}");
        // 16 sent within the window, 64 waiting (max_queued_per_port),
        // then backpressure until the confirmation arrives.
        assert_eq!(peak, cfg.max_queued_per_port, "seed {seed}");
        assert!(refused > 0, "seed {seed}");
    }
}

#[test]
fn a_small_burst_never_blocks() {
    let cfg = Config::default();
    let want: Vec<Vec<u8>> = (0..80).map(payload).collect();
    let (got, peak, refused) = burst_during_move(1, 80, cfg);
    assert_eq!(got, want);
    assert_eq!(peak, 80 - cfg.send_window);
    assert_eq!(refused, 0);
}
