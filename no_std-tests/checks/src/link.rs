//! `link`: an `IK` handshake between a `Link` and a `Gate` + `Link`, then
//! transport datagrams both ways, all on stack buffers.
//!
//! Expected sizes are typed from the packet layout in the `link` module
//! docs and the Noise `IK` message patterns: initiation = 20-byte header +
//! `e` (32) + encrypted `s` (32 + 16) + encrypted 8-byte timestamp
//! (8 + 16) + `mac1` (16) + `mac2` (16) = 156 bytes; response = 20 + `e`
//! (32) + empty encrypted payload (16) = 68; keepalive = 20 + 16 = 36;
//! data = 20 + payload + 16.

use hyperport::crypto::x25519::KeyPair;
use hyperport::link::wire::{HEADER_LEN, Repr};
use hyperport::link::{
    Config, DatagramError, Event, Gate, GateConfig, Identity, Inbound, Link, Received, Role,
};
use hyperport::noise::replay::ReplayError;
use hyperport::noise::transport::TransportError;
use hyperport::rng::SeededRng;
use hyperport::time::{Duration, Instant};

use crate::P;

const INITIATION_LEN: usize = 156;
const RESPONSE_LEN: usize = 68;
const KEEPALIVE_LEN: usize = 36;

/// Handshake through the gate (with a duplicated initiation answered from
/// the cache), the initiator's confirmation keepalive, 8 datagrams each
/// way delivered out of order, a duplicate and a forgery refused.
pub(crate) fn ik_handshake_and_transport() -> bool {
    check().unwrap_or(false)
}

fn check() -> Option<bool> {
    let mut rng = SeededRng::from_seed([0x4c; 32]);
    let a_keys = KeyPair::generate(&mut rng);
    let b_keys = KeyPair::generate(&mut rng);
    let config = Config::default();
    let mut now = Instant::from_secs(5);
    let mut ok = true;

    let mut alice: Link<P> = Link::new(
        config,
        Identity::new(a_keys.clone()),
        Some(*b_keys.public()),
        [1; 32],
        now,
    )
    .ok()?;
    let mut gate: Gate<P, 4, 4> = Gate::new(
        GateConfig::for_link(&config),
        Identity::new(b_keys.clone()),
        [2; 32],
        now,
    )
    .ok()?;

    // Initiation.
    alice.connect(now).ok()?;
    let mut init = [0u8; 256];
    let n = alice.poll_transmit(now, &mut init).ok()??;
    ok &= n == INITIATION_LEN;
    let init = init.get(..n)?;
    let (repr, _) = Repr::parse_datagram(init).ok()?;
    ok &= matches!(repr, Repr::HandshakeInitiation { .. });
    ok &= alice.poll_transmit(now, &mut [0u8; 256]).ok()?.is_none();

    // The gate reads it and Bob's link answers.
    let mut reply = [0u8; 128];
    let Inbound::Hello(hello) = gate.handle_initiation(now, b"alice", init, &mut reply) else {
        return Some(false);
    };
    ok &= hello.remote_static() == Some(a_keys.public());
    let (mut bob, receipt) =
        Link::<P>::accept(config, Identity::new(b_keys.clone()), [3; 32], now, hello).ok()?;
    gate.remember(receipt);
    let mut resp = [0u8; 256];
    let m = bob.poll_transmit(now, &mut resp).ok()??;
    ok &= m == RESPONSE_LEN;

    // A duplicate of the initiation: the same response, no second read.
    let Inbound::Duplicate { local_index } =
        gate.handle_initiation(now, b"alice", init, &mut reply)
    else {
        return Some(false);
    };
    ok &= bob.owns_index(local_index);
    let mut dup = [0u8; 256];
    dup.get_mut(..n)?.copy_from_slice(init);
    ok &= bob.handle_datagram(now, dup.get_mut(..n)?) == Ok(Received::Control);
    let mut resp2 = [0u8; 256];
    let m2 = bob.poll_transmit(now, &mut resp2).ok()??;
    ok &= resp2.get(..m2)? == resp.get(..m)?;
    ok &= gate.stats().admitted == 1 && gate.stats().duplicates == 1;

    // Alice reads the response: established, confirms with a keepalive.
    now += Duration::from_millis(3);
    ok &= alice.handle_datagram(now, resp.get_mut(..m)?) == Ok(Received::Control);
    ok &= alice.is_established();
    ok &= matches!(
        alice.poll_event(),
        Some(Event::Established {
            role: Role::Initiator,
            sessions: 1,
            ..
        })
    );
    let mut ka = [0u8; 64];
    let k = alice.poll_transmit(now, &mut ka).ok()??;
    ok &= k == KEEPALIVE_LEN;
    ok &= !bob.is_established();
    ok &= bob.handle_datagram(now, ka.get_mut(..k)?) == Ok(Received::Keepalive);
    ok &= bob.is_established();
    ok &= alice.handshake_hash() == bob.handshake_hash();

    // 8 datagrams each way, delivered in a shuffled order.
    let mut a2b = [[0u8; HEADER_LEN + 8 + 16]; 8];
    let mut b2a = [[0u8; HEADER_LEN + 8 + 16]; 8];
    for (i, (x, y)) in (0u8..).zip(a2b.iter_mut().zip(b2a.iter_mut())) {
        ok &= alice.send(now, &[i; 8], x).ok()? == x.len();
        ok &= bob.send(now, &[0x80 | i; 8], y).ok()? == y.len();
    }
    for i in [5usize, 0, 7, 2, 1, 6, 3, 4] {
        let mut d = *a2b.get(i)?;
        let want = [u8::try_from(i).ok()?; 8];
        ok &= bob.handle_datagram(now, &mut d) == Ok(Received::Data(&want));
        let mut e = *b2a.get(i)?;
        let want = [0x80 | u8::try_from(i).ok()?; 8];
        ok &= alice.handle_datagram(now, &mut e) == Ok(Received::Data(&want));
    }
    // A duplicate and a forgery are refused; nothing changes.
    let mut d = *a2b.get(3)?;
    ok &= bob.handle_datagram(now, &mut d)
        == Err(DatagramError::Transport(TransportError::Replay(
            ReplayError::Duplicate,
        )));
    let mut fresh = [0u8; HEADER_LEN + 8 + 16];
    alice.send(now, b"genuine!", &mut fresh).ok()?;
    let mut forged = fresh;
    forged[HEADER_LEN + 2] ^= 1;
    ok &= bob.handle_datagram(now, &mut forged)
        == Err(DatagramError::Transport(TransportError::Decrypt));
    ok &= bob.handle_datagram(now, &mut fresh) == Ok(Received::Data(b"genuine!"));
    ok &= bob.stats().datagrams_received == 10 && bob.stats().dropped_replay == 1;
    Some(ok)
}
