//! `link::Link` and `link::Gate` driven through their public run loop:
//! handshake, retransmission with backoff, deadline, duplicated
//! initiations, rekey by count and time with datagrams in flight,
//! keepalives, expiry, simultaneous initiation, the `poll_timeout`
//! contract and the admission bounds under a flood.
//!
//! Expected values come from the documented defaults and formulas (typed
//! here by hand), not from the implementation.

use hyperport::crypto::DefaultProvider as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::link::{
    AcceptError, Config, DatagramError, Event, FailReason, Gate, GateConfig, GateDrop, Identity,
    Inbound, IndexPolicy, KEEPALIVE_LEN, Link, MAX_CONTROL_DATAGRAM, Rate, Received, Role, Route,
    SendError, route, wire,
};
use hyperport::noise::NoiseParams;
use hyperport::rng::SeededRng;
use hyperport::{Duration, Instant};
use rand_core::RngCore;

type G = Gate<P, 64, 16>;

fn keys(seed: u64) -> (KeyPair, KeyPair) {
    let mut r = SeededRng::from_u64(seed);
    (KeyPair::generate(&mut r), KeyPair::generate(&mut r))
}

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

/// Alice (initiator, knows Bob's key) and Bob (a gate, and a link once
/// Alice's first initiation is accepted), with explicit datagram queues.
struct Pair {
    config: Config,
    a_keys: KeyPair,
    b_keys: KeyPair,
    alice: Link<P>,
    bob: Option<Link<P>>,
    gate: G,
    to_bob: Vec<Vec<u8>>,
    to_alice: Vec<Vec<u8>>,
    now: Instant,
    alice_events: Vec<Event>,
    bob_events: Vec<Event>,
    alice_got: Vec<Vec<u8>>,
    bob_got: Vec<Vec<u8>>,
}

impl Pair {
    fn new(config: Config) -> Self {
        let (a_keys, b_keys) = keys(1);
        let now = Instant::ZERO;
        let alice = Link::new(
            config,
            Identity::new(a_keys.clone()),
            Some(*b_keys.public()),
            seed(1),
            now,
        )
        .unwrap();
        let gate = G::new(
            GateConfig::for_link(&config),
            Identity::new(b_keys.clone()),
            seed(2),
            now,
        )
        .unwrap();
        Pair {
            config,
            a_keys,
            b_keys,
            alice,
            bob: None,
            gate,
            to_bob: Vec::new(),
            to_alice: Vec::new(),
            now,
            alice_events: Vec::new(),
            bob_events: Vec::new(),
            alice_got: Vec::new(),
            bob_got: Vec::new(),
        }
    }

    fn bob(&mut self) -> &mut Link<P> {
        self.bob.as_mut().expect("Bob's link")
    }

    /// Moves every queued output of both sides into the other's inbox.
    fn flush(&mut self) {
        let mut buf = [0u8; MAX_CONTROL_DATAGRAM];
        while let Some(n) = self.alice.poll_transmit(self.now, &mut buf).unwrap() {
            self.to_bob.push(buf[..n].to_vec());
        }
        while let Some(e) = self.alice.poll_event() {
            self.alice_events.push(e);
        }
        if let Some(b) = self.bob.as_mut() {
            while let Some(n) = b.poll_transmit(self.now, &mut buf).unwrap() {
                self.to_alice.push(buf[..n].to_vec());
            }
            while let Some(e) = b.poll_event() {
                self.bob_events.push(e);
            }
        }
    }

    /// Delivers one datagram to Bob (gate or link).
    fn deliver_bob(&mut self, mut d: Vec<u8>) -> Result<(), String> {
        match route(&d).map_err(|e| e.to_string())? {
            Route::Initiation => {
                let mut reply = [0u8; MAX_CONTROL_DATAGRAM];
                match self
                    .gate
                    .handle_initiation(self.now, b"alice", &d, &mut reply)
                {
                    Inbound::Hello(hello) => {
                        let receipt = match self.bob.as_mut() {
                            Some(b) => {
                                b.accept_hello(self.now, hello).map_err(|e| e.to_string())?
                            }
                            None => {
                                let (link, r) = Link::accept(
                                    self.config,
                                    Identity::new(self.b_keys.clone()),
                                    seed(3),
                                    self.now,
                                    hello,
                                )
                                .map_err(|e| e.to_string())?;
                                self.bob = Some(link);
                                r
                            }
                        };
                        self.gate.remember(receipt);
                        Ok(())
                    }
                    Inbound::Duplicate { local_index } => {
                        let b = self.bob.as_mut().ok_or("no link")?;
                        assert!(b.owns_index(local_index));
                        b.handle_datagram(self.now, &mut d)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    }
                    Inbound::CookieReply { len } => {
                        self.to_alice.push(reply[..len].to_vec());
                        Ok(())
                    }
                    Inbound::Dropped(d) => Err(d.to_string()),
                    _ => Err("other".into()),
                }
            }
            Route::Index(_) => {
                let b = self.bob.as_mut().ok_or("no link")?;
                match b.handle_datagram(self.now, &mut d) {
                    Ok(Received::Data(p)) => {
                        self.bob_got.push(p.to_vec());
                        Ok(())
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }

    fn deliver_alice(&mut self, mut d: Vec<u8>) -> Result<(), DatagramError> {
        match self.alice.handle_datagram(self.now, &mut d)? {
            Received::Data(p) => self.alice_got.push(p.to_vec()),
            Received::Keepalive | Received::Control => {}
            _ => {}
        }
        Ok(())
    }

    /// Flushes and delivers everything until both inboxes stay empty.
    fn settle(&mut self) {
        for _ in 0..16 {
            self.flush();
            if self.to_bob.is_empty() && self.to_alice.is_empty() {
                return;
            }
            for d in std::mem::take(&mut self.to_bob) {
                let _ = self.deliver_bob(d);
            }
            for d in std::mem::take(&mut self.to_alice) {
                let _ = self.deliver_alice(d);
            }
        }
        panic!("did not settle");
    }

    fn handshake(&mut self) {
        self.alice.connect(self.now).unwrap();
        self.settle();
        assert!(self.alice.is_established());
        assert!(self.bob().is_established());
    }

    fn a_send(&mut self, payload: &[u8]) -> Result<Vec<u8>, SendError> {
        let mut out = vec![0u8; payload.len() + 64];
        let n = self.alice.send(self.now, payload, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    fn b_send(&mut self, payload: &[u8]) -> Result<Vec<u8>, SendError> {
        let now = self.now;
        let mut out = vec![0u8; payload.len() + 64];
        let n = self.bob().send(now, payload, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Runs both links' timers up to `until`, in order, delivering nothing.
    fn timers_until(&mut self, until: Instant) {
        loop {
            let next = [
                self.alice.poll_timeout(),
                self.bob.as_ref().and_then(|b| b.poll_timeout()),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.alice.handle_timeout(self.now);
                    if let Some(b) = self.bob.as_mut() {
                        b.handle_timeout(self.now);
                    }
                    self.flush();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }
}

#[test]
fn ik_handshake_and_data_both_ways() {
    let mut p = Pair::new(Config::default());
    p.handshake();
    // The initiator read the last message: established at once; the
    // responder when Alice's keepalive arrived.
    assert_eq!(p.alice_events.len(), 1);
    assert!(matches!(
        p.alice_events[0],
        Event::Established {
            role: Role::Initiator,
            sessions: 1,
            remote_static: Some(k)
        } if k == *p.b_keys.public()
    ));
    assert!(matches!(
        p.bob_events[..],
        [Event::Established {
            role: Role::Responder,
            sessions: 1,
            remote_static: Some(k)
        }] if k == *p.a_keys.public()
    ));
    assert_eq!(
        p.alice.handshake_hash(),
        p.bob.as_ref().unwrap().handshake_hash()
    );
    let d = p.a_send(b"to bob").unwrap();
    assert_eq!(d.len(), wire::HEADER_LEN + 6 + 16);
    p.deliver_bob(d).unwrap();
    let d = p.b_send(b"to alice").unwrap();
    p.deliver_alice(d).unwrap();
    assert_eq!(p.bob_got, [b"to bob".to_vec()]);
    assert_eq!(p.alice_got, [b"to alice".to_vec()]);
    // One initiation, one response, one keepalive: nothing else was sent.
    assert_eq!(p.alice.stats().keepalives_sent, 1);
    assert_eq!(p.bob().stats().keepalives_received, 1);
    assert_eq!(p.gate.stats().admitted, 1);
}

/// The initiation goes out at 0, then after 1, 2, 4, 8, 16, 16, ... s
/// (DEFAULT_HANDSHAKE_RTO doubling up to DEFAULT_HANDSHAKE_RTO_MAX), with
/// identical bytes, until the 90 s deadline: HandshakeFailed(Timeout).
#[test]
fn retransmission_backoff_and_deadline() {
    let mut p = Pair::new(Config::default());
    p.alice.connect(p.now).unwrap();
    p.flush();
    let first = p.to_bob.clone();
    assert_eq!(first.len(), 1);
    let mut sent_at = vec![p.now];
    p.to_bob.clear();
    while let Some(t) = p.alice.poll_timeout() {
        p.now = t;
        p.alice.handle_timeout(t);
        p.flush();
        for d in p.to_bob.drain(..) {
            assert_eq!(d, first[0], "retransmissions carry identical bytes");
            sent_at.push(t);
        }
        assert!(p.alice.poll_timeout().is_none_or(|n| n > t));
    }
    let secs: Vec<u64> = sent_at.iter().map(|t| t.as_micros() / 1_000_000).collect();
    // 0, 1, 3, 7, 15, 31, 47, 63, 79 (then the deadline at 90 comes first).
    assert_eq!(secs, [0, 1, 3, 7, 15, 31, 47, 63, 79]);
    assert_eq!(p.now, Instant::from_secs(90));
    assert_eq!(
        p.alice_events,
        [Event::HandshakeFailed {
            role: Role::Initiator,
            reason: FailReason::Timeout
        }]
    );
    assert!(!p.alice.is_handshaking());
    assert_eq!(p.alice.stats().handshake_resends, 8);
    // A later send starts a fresh handshake (new bytes: new ephemeral).
    assert_eq!(p.a_send(b"x"), Err(SendError::NoSession));
    p.flush();
    assert_eq!(p.to_bob.len(), 1);
    assert_ne!(p.to_bob[0], first[0]);
}

/// The same initiation delivered twice: the gate reads it once; the
/// duplicate goes to Bob's link, which answers with the identical cached
/// response.
#[test]
fn duplicated_initiation_gets_the_cached_response() {
    let mut p = Pair::new(Config::default());
    p.alice.connect(p.now).unwrap();
    p.flush();
    let init = p.to_bob.pop().unwrap();
    p.deliver_bob(init.clone()).unwrap();
    p.flush();
    let response = p.to_alice.pop().unwrap();
    assert_eq!(p.gate.stats().admitted, 1);
    // Alice's retransmission (identical bytes) and a network duplicate.
    for _ in 0..2 {
        p.deliver_bob(init.clone()).unwrap();
        p.flush();
        assert_eq!(p.to_alice.pop().unwrap(), response);
    }
    assert_eq!(p.gate.stats().admitted, 1, "no second Diffie-Hellman");
    assert_eq!(p.gate.stats().duplicates, 2);
    assert_eq!(p.bob().stats().handshake_resends, 2);
    // Alice completes with the response.
    p.deliver_alice(response.clone()).unwrap();
    p.settle();
    assert!(p.bob().is_established());
    // A duplicate response after completion: Alice confirms again with a
    // keepalive (it may mean hers was lost) and nothing else changes.
    p.deliver_alice(response).unwrap();
    p.flush();
    assert_eq!(p.to_bob.len(), 1);
    assert_eq!(p.to_bob[0].len(), KEEPALIVE_LEN);
}

fn rekey_config() -> Config {
    let mut c = Config::default();
    c.rekey_after_messages = 10;
    c
}

/// Rekey by count: the 10th datagram starts a handshake; a datagram
/// sealed under the old session just before the switch, delivered after
/// it, still opens (previous session).
#[test]
fn rekey_by_count_keeps_the_previous_session_for_datagrams_in_flight() {
    let mut p = Pair::new(rekey_config());
    p.handshake();
    let mut in_flight = Vec::new();
    for i in 0..10u8 {
        in_flight.push(p.a_send(&[i]).unwrap());
    }
    assert!(p.alice.is_handshaking(), "10 datagrams: rekey started");
    assert_eq!(p.alice.stats().handshakes_started, 2);
    // Deliver the first five, complete the rekey, then the rest.
    for d in in_flight.drain(..5) {
        p.deliver_bob(d).unwrap();
    }
    p.settle();
    assert!(!p.alice.is_handshaking());
    assert!(matches!(
        p.alice_events.last(),
        Some(Event::Established { sessions: 2, .. })
    ));
    assert!(matches!(
        p.bob_events.last(),
        Some(Event::Established { sessions: 2, .. })
    ));
    let late = p.a_send(b"new session").unwrap();
    for d in in_flight {
        p.deliver_bob(d).unwrap();
    }
    p.deliver_bob(late).unwrap();
    assert_eq!(p.bob_got.len(), 11);
    assert_eq!(p.bob_got[9], [9]);
    assert_eq!(p.bob_got[10], b"new session");
    // Bob's datagrams under the new session reach Alice too.
    let d = p.b_send(b"back").unwrap();
    p.deliver_alice(d).unwrap();
    assert_eq!(p.alice_got, [b"back".to_vec()]);
}

/// Rekey by time: the session initiator rekeys at 120 s; a datagram sealed
/// before and delivered after opens under the previous session.
#[test]
fn rekey_by_time_keeps_the_previous_session_for_datagrams_in_flight() {
    let mut p = Pair::new(Config::default());
    p.handshake();
    let t0 = p.now;
    let old = p.a_send(b"old").unwrap();
    let old_late = p.a_send(b"too late").unwrap();
    let bob_old = p.b_send(b"bob old").unwrap();
    p.timers_until(t0 + Duration::from_secs(119));
    assert!(!p.alice.is_handshaking());
    p.timers_until(t0 + Duration::from_secs(120));
    assert!(p.alice.is_handshaking(), "rekey at REKEY_AFTER_TIME");
    assert_eq!(p.to_bob.len(), 1);
    p.settle();
    assert!(matches!(
        p.alice_events.last(),
        Some(Event::Established { sessions: 2, .. })
    ));
    p.deliver_bob(old).unwrap();
    p.deliver_alice(bob_old).unwrap();
    assert_eq!(p.bob_got, [b"old".to_vec()]);
    assert_eq!(p.alice_got, [b"bob old".to_vec()]);
    // The previous session is dropped REJECT_AFTER_TIME (180 s) after it
    // was made: a datagram sealed under it and delivered later is refused.
    p.timers_until(t0 + Duration::from_secs(180));
    assert!(p.deliver_bob(old_late).is_err());
    assert_eq!(p.bob().stats().dropped_unknown_index, 1);
    let d = p.a_send(b"new").unwrap();
    p.deliver_bob(d).unwrap();
    assert_eq!(p.bob_got.last().unwrap(), b"new");
}

/// With `IndexPolicy::Tagged`, every local index a link hands out, over
/// many rekeys, carries the caller's tag in its low bits: a driver finds
/// the link from the receiver index alone.
#[test]
fn tagged_indices_demultiplex() {
    let mut c = rekey_config();
    c.index = IndexPolicy::Tagged { tag: 0x2a, bits: 8 };
    let mut p = Pair::new(c);
    p.handshake();
    let mut seen = std::collections::HashSet::new();
    for i in 0..100u8 {
        // (The gate admits one initiation per second per source.)
        p.advance(Duration::from_millis(500));
        let d = p.a_send(&[i]).unwrap();
        p.deliver_bob(d.clone()).unwrap();
        if let Ok(Route::Index(idx)) = route(&d) {
            // Bob's link was built by Link::accept with the same config.
            assert_eq!(idx & 0xff, 0x2a);
            seen.insert(idx);
        }
        p.settle();
        for idx in p.alice.local_indices().into_iter().flatten() {
            assert_eq!(idx & 0xff, 0x2a);
            assert!(p.alice.owns_index(idx));
        }
    }
    let (n, a, g) = (seen.len(), *p.alice.stats(), *p.gate.stats());
    assert!(n >= 9, "{n} sessions {a:?} {g:?}");
}

/// Passive keepalive: Bob got data and sent nothing; after 10 s a
/// keepalive goes out. If he sent something meanwhile, none.
#[test]
fn passive_keepalive() {
    let mut p = Pair::new(Config::default());
    p.handshake();
    let d = p.a_send(b"ping").unwrap();
    p.deliver_bob(d).unwrap();
    let t = p.now;
    p.timers_until(t + Duration::from_millis(9_999));
    assert!(p.to_alice.is_empty());
    p.timers_until(t + Duration::from_secs(10));
    assert_eq!(p.to_alice.len(), 1);
    assert_eq!(p.to_alice[0].len(), KEEPALIVE_LEN);
    let k = p.to_alice.pop().unwrap();
    let mut k2 = k.clone();
    assert_eq!(
        p.alice.handle_datagram(p.now, &mut k2),
        Ok(Received::Keepalive)
    );
    // Data answered within the interval: no keepalive.
    let d = p.a_send(b"ping2").unwrap();
    p.deliver_bob(d).unwrap();
    p.advance(Duration::from_secs(3));
    let r = p.b_send(b"pong").unwrap();
    p.deliver_alice(r).unwrap();
    let t = p.now;
    p.timers_until(t + Duration::from_secs(30));
    assert!(p.to_alice.is_empty());
    // Alice got "pong" and sent nothing after it: she keepalives (her
    // confirmation one plus this); keepalives never trigger keepalives.
    assert_eq!(p.alice.stats().keepalives_sent, 2);
    assert_eq!(p.bob().stats().keepalives_sent, 1);
}

/// Persistent keepalive: one every interval while nothing else is sent.
#[test]
fn persistent_keepalive() {
    let mut c = Config::default();
    c.persistent_keepalive = Some(Duration::from_secs(25));
    let mut p = Pair::new(c);
    p.handshake();
    let t = p.now;
    p.timers_until(t + Duration::from_secs(100));
    let from_alice = p.to_bob.iter().filter(|d| d.len() == KEEPALIVE_LEN).count();
    assert_eq!(from_alice, 4);
}

/// Expiry: Bob goes silent; Alice's rekeys fail; at 180 s the session is
/// gone (Event::Expired) and sending needs a new handshake.
#[test]
fn session_expiry() {
    let mut p = Pair::new(Config::default());
    p.handshake();
    let t0 = p.now;
    p.timers_until(t0 + Duration::from_secs(179));
    assert!(p.alice.is_established());
    let late = p.a_send(b"late").unwrap();
    p.to_bob.clear(); // Bob hears nothing any more
    p.timers_until(t0 + Duration::from_secs(180));
    assert!(!p.alice.is_established());
    assert!(p.alice_events.contains(&Event::Expired));
    assert_eq!(p.a_send(b"x"), Err(SendError::NoSession));
    // Bob's side expires too; a datagram from the dead session is refused.
    assert!(!p.bob().is_established());
    assert!(p.bob_events.contains(&Event::Expired));
    assert!(p.deliver_bob(late).is_err());
    // Keeping the limit also on the receiving side: nothing lives past it.
    assert!(p.alice.poll_timeout().is_some());
}

/// Both sides initiate at once: the initiation with the lower ephemeral
/// key wins on both sides; one session results.
#[test]
fn simultaneous_initiation_resolves_deterministically() {
    for s in 0..8u64 {
        let (a_keys, b_keys) = keys(100 + s);
        let config = Config::default();
        let now = Instant::ZERO;
        let mut a = Link::<P>::new(
            config,
            Identity::new(a_keys.clone()),
            Some(*b_keys.public()),
            [s as u8; 32],
            now,
        )
        .unwrap();
        let mut b = Link::<P>::new(
            config,
            Identity::new(b_keys.clone()),
            Some(*a_keys.public()),
            [s as u8 + 100; 32],
            now,
        )
        .unwrap();
        let mut ga = G::new(
            GateConfig::for_link(&config),
            Identity::new(a_keys),
            seed(9),
            now,
        )
        .unwrap();
        let mut gb = G::new(
            GateConfig::for_link(&config),
            Identity::new(b_keys),
            seed(8),
            now,
        )
        .unwrap();
        a.connect(now).unwrap();
        b.connect(now).unwrap();
        let mut buf = [0u8; MAX_CONTROL_DATAGRAM];
        let n = a.poll_transmit(now, &mut buf).unwrap().unwrap();
        let init_a = buf[..n].to_vec();
        let n = b.poll_transmit(now, &mut buf).unwrap().unwrap();
        let init_b = buf[..n].to_vec();
        // Ephemeral keys are the first 32 bytes of each Noise message.
        let ea = &init_a[wire::HEADER_LEN..wire::HEADER_LEN + 32];
        let eb = &init_b[wire::HEADER_LEN..wire::HEADER_LEN + 32];
        let a_wins = ea < eb;
        let Inbound::Hello(hb) = gb.handle_initiation(now, b"a", &init_a, &mut buf) else {
            panic!()
        };
        let Inbound::Hello(ha) = ga.handle_initiation(now, b"b", &init_b, &mut buf) else {
            panic!()
        };
        let rb = b.accept_hello(now, hb);
        let ra = a.accept_hello(now, ha);
        if a_wins {
            assert!(rb.is_ok());
            assert_eq!(ra, Err(AcceptError::Conflict));
        } else {
            assert!(ra.is_ok());
            assert_eq!(rb, Err(AcceptError::Conflict));
        }
        // Exchange the rest.
        let mut to_a: Vec<Vec<u8>> = Vec::new();
        let mut to_b: Vec<Vec<u8>> = Vec::new();
        for _ in 0..6 {
            while let Some(n) = a.poll_transmit(now, &mut buf).unwrap() {
                to_b.push(buf[..n].to_vec());
            }
            while let Some(n) = b.poll_transmit(now, &mut buf).unwrap() {
                to_a.push(buf[..n].to_vec());
            }
            for mut d in to_a.drain(..) {
                if route(&d) == Ok(Route::Initiation) {
                    continue; // already handled above
                }
                let _ = a.handle_datagram(now, &mut d);
            }
            for mut d in to_b.drain(..) {
                if route(&d) == Ok(Route::Initiation) {
                    continue;
                }
                let _ = b.handle_datagram(now, &mut d);
            }
        }
        assert!(a.is_established() && b.is_established(), "seed {s}");
        assert_eq!(a.handshake_hash(), b.handshake_hash());
        assert_eq!(a.stats().sessions, 1);
        assert_eq!(b.stats().sessions, 1);
        let winner_role = |l: &mut Link<P>| {
            std::iter::from_fn(|| l.poll_event())
                .find_map(|e| match e {
                    Event::Established { role, .. } => Some(role),
                    _ => None,
                })
                .unwrap()
        };
        let (ra, rb) = (winner_role(&mut a), winner_role(&mut b));
        assert_eq!(ra == Role::Initiator, a_wins, "seed {s}");
        assert_eq!(rb == Role::Initiator, !a_wins, "seed {s}");
    }
}

/// A replayed initiation that the gate no longer caches is refused by the
/// link as stale (its timestamp is not newer).
#[test]
fn replayed_initiation_is_stale() {
    let mut p = Pair::new(rekey_config());
    p.alice.connect(p.now).unwrap();
    p.flush();
    let old_init = p.to_bob[0].clone();
    p.settle();
    // Push the old initiation out of the gate's cache with 20 rekeys.
    for i in 0..20 {
        p.advance(Duration::from_secs(1));
        for _ in 0..10 {
            let d = p.a_send(&[i]).unwrap();
            p.deliver_bob(d).unwrap();
        }
        p.settle();
    }
    p.advance(Duration::from_secs(5));
    let before = p.bob().stats().initiations_refused;
    assert_eq!(p.deliver_bob(old_init), Err(AcceptError::Stale.to_string()));
    assert_eq!(p.bob().stats().initiations_refused, before + 1);
    assert!(p.bob().is_established());
}

/// Drives a pair through hours of simulated life (rekeys, keepalives,
/// expiry after Bob goes silent) calling `handle_timeout` exactly at each
/// `poll_timeout`: the deadline always moves strictly later or to None.
#[test]
fn poll_timeout_contract() {
    let mut c = Config::default();
    c.persistent_keepalive = Some(Duration::from_secs(7));
    c.transport.rekey.after_time = Some(Duration::from_secs(30));
    c.transport.rekey.after_messages = None;
    let mut p = Pair::new(c);
    p.handshake();
    let mut rng = SeededRng::from_u64(5);
    let mut fired = 0u32;
    let end = Instant::from_secs(4 * 3600);
    let silent_from = Instant::from_secs(3 * 3600);
    while p.now < end {
        let ta = p.alice.poll_timeout();
        let tb = p.bob.as_ref().and_then(|b| b.poll_timeout());
        let Some(t) = [ta, tb].into_iter().flatten().min() else {
            break;
        };
        assert!(t >= p.now, "deadline in the past");
        p.now = t;
        if ta == Some(t) {
            p.alice.handle_timeout(t);
            assert!(p.alice.poll_timeout().is_none_or(|n| n > t), "alice at {t}");
        }
        if tb == Some(t) {
            p.bob().handle_timeout(t);
            let n = p.bob().poll_timeout();
            assert!(n.is_none_or(|n| n > t), "bob at {t}");
        }
        fired += 1;
        p.flush();
        // Some data now and then; lose 10% of everything.
        if rng.next_u32().is_multiple_of(4)
            && let Ok(d) = p.a_send(b"data")
        {
            p.to_bob.push(d);
        }
        let silent = p.now >= silent_from;
        for d in std::mem::take(&mut p.to_bob) {
            if !silent && !rng.next_u32().is_multiple_of(10) {
                let _ = p.deliver_bob(d);
            }
        }
        for d in std::mem::take(&mut p.to_alice) {
            if !silent && !rng.next_u32().is_multiple_of(10) {
                let _ = p.deliver_alice(d);
            }
        }
    }
    assert!(fired > 1000, "{fired}");
    assert!(p.alice.stats().sessions > 50, "{:?}", p.alice.stats());
    assert!(p.alice_events.contains(&Event::Expired));
}

/// 10,000 initiations from distinct forged keys and addresses (10 per
/// millisecond) into a gate with a 64-source table: the table stays at its
/// bound, at most a table's worth of initiations is read (Diffie-Hellman
/// work), every other one is refused and counted, and the established link
/// keeps carrying data all along. With cookies the refusals are cookie
/// replies (a spoofed source never gets its cookie); without, counted drops.
fn flood(cookies: bool) -> hyperport::link::GateStats {
    let mut c = Config::default();
    c.handshake_timeout = Duration::from_secs(3600);
    let mut p = Pair::new(c);
    let mut gc = GateConfig::for_link(&c);
    gc.cookies = cookies;
    // One initiation per 10 s per source: no slot frees up during the test.
    gc.per_source = Rate::new(4, Duration::from_secs(40));
    p.gate = G::new(gc, Identity::new(p.b_keys.clone()), seed(2), p.now).unwrap();
    p.handshake();
    let mut rng = SeededRng::from_u64(77);
    let bob_public = *p.b_keys.public();
    let mut reply = [0u8; MAX_CONTROL_DATAGRAM];
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    for i in 0..10_000u32 {
        // A fresh identity and address per initiation.
        let forger = KeyPair::generate(&mut rng);
        let mut f =
            Link::<P>::new(c, Identity::new(forger), Some(bob_public), [0; 32], p.now).unwrap();
        f.connect(p.now).unwrap();
        let n = f.poll_transmit(p.now, &mut reply).unwrap().unwrap();
        let init = reply[..n].to_vec();
        let addr = i.to_be_bytes();
        let key = match p.gate.handle_initiation(p.now, &addr, &init, &mut reply) {
            Inbound::Hello(_) => "admitted".to_string(), // refused by the caller
            Inbound::CookieReply { len } => {
                assert_eq!(len, wire::COOKIE_REPLY_LEN);
                "cookie".into()
            }
            Inbound::Dropped(d) => format!("{d:?}"),
            Inbound::Duplicate { .. } => "duplicate".into(),
            _ => "other".into(),
        };
        *outcomes.entry(key).or_default() += 1;
        assert!(p.gate.tracked_sources() <= 64);
        if i % 100 == 0 {
            let d = p.a_send(&i.to_be_bytes()).unwrap();
            p.deliver_bob(d).unwrap();
            let d = p.b_send(&i.to_be_bytes()).unwrap();
            p.deliver_alice(d).unwrap();
        }
        if i % 10 == 9 {
            p.advance(Duration::from_millis(1));
        }
    }
    let s = *p.gate.stats();
    println!("cookies {cookies}: {outcomes:?} {s:?}");
    assert_eq!(p.gate.tracked_sources(), 64);
    assert_eq!(
        s.admitted
            + s.cookie_replies
            + s.dropped_rate_total
            + s.dropped_table_full
            + s.dropped_rate_source,
        10_001, // the flood plus Alice's own initiation
        "every initiation accounted for"
    );
    assert_eq!(p.bob_got.len(), 100);
    assert_eq!(p.alice_got.len(), 100);
    assert!(p.alice.is_established() && p.bob().is_established());
    assert_eq!(
        p.bob().stats().sessions,
        1,
        "no flood initiation reached the link"
    );
    // A newcomer right after the flood, from a real address.
    let mut carol = Link::<P>::new(
        c,
        Identity::new(KeyPair::generate(&mut rng)),
        Some(bob_public),
        [5; 32],
        p.now,
    )
    .unwrap();
    carol.connect(p.now).unwrap();
    let n = carol.poll_transmit(p.now, &mut reply).unwrap().unwrap();
    let init = reply[..n].to_vec();
    let mut admitted = false;
    match p.gate.handle_initiation(p.now, b"carol", &init, &mut reply) {
        Inbound::CookieReply { len } => {
            let mut cookie = reply[..len].to_vec();
            assert_eq!(
                carol.handle_datagram(p.now, &mut cookie),
                Ok(Received::Control)
            );
            // Her retransmission carries mac2: she proved her address.
            p.advance(Duration::from_secs(1));
            carol.handle_timeout(p.now);
            let n = carol.poll_transmit(p.now, &mut reply).unwrap().unwrap();
            let again = reply[..n].to_vec();
            admitted = matches!(
                p.gate
                    .handle_initiation(p.now, b"carol", &again, &mut reply),
                Inbound::Hello(_)
            );
        }
        Inbound::Dropped(GateDrop::TableFull) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        admitted, cookies,
        "a proven newcomer displaces an unproven entry"
    );
    assert_eq!(p.gate.tracked_sources(), 64);
    s
}

#[test]
fn flood_of_forged_initiations_with_cookies() {
    let s = flood(true);
    // The table fills (64 sources, Alice included), then the gate is under
    // load and answers with cookies: no more reads.
    assert_eq!(s.admitted, 64);
    assert_eq!(s.cookie_replies, 10_001 - 64);
}

#[test]
fn flood_of_forged_initiations_without_cookies() {
    let s = flood(false);
    // No source's allowance comes back within the 1 s flood (one token per
    // 10 s per source), so the table never frees a slot: 64 reads, the rest
    // dropped as table-full, counted.
    assert_eq!(s.admitted, 64);
    assert_eq!(s.dropped_table_full, 10_001 - 64);
    assert_eq!(s.cookie_replies, 0);
}

/// Under load, a legitimate initiator gets a cookie reply, keeps the
/// cookie, and its next retransmission (with mac2) is admitted.
#[test]
fn cookie_round_trip_under_load() {
    let mut c = Config::default();
    c.handshake_rto = Duration::from_millis(100);
    let mut p = Pair::new(c);
    // Put the gate under load: spend its total allowance with garbage
    // initiations from another source that pass mac1 (a real forger).
    let mut rng = SeededRng::from_u64(3);
    let mut reply = [0u8; MAX_CONTROL_DATAGRAM];
    for i in 0..60u32 {
        let mut f = Link::<P>::new(
            c,
            Identity::new(KeyPair::generate(&mut rng)),
            Some(*p.b_keys.public()),
            [1; 32],
            p.now,
        )
        .unwrap();
        f.connect(p.now).unwrap();
        let n = f.poll_transmit(p.now, &mut reply).unwrap().unwrap();
        let init = reply[..n].to_vec();
        let _ = p
            .gate
            .handle_initiation(p.now, &i.to_be_bytes(), &init, &mut reply);
    }
    assert!(p.gate.is_under_load(p.now));
    let cookies = p.gate.stats().cookie_replies;
    p.alice.connect(p.now).unwrap();
    p.flush();
    let init = p.to_bob.pop().unwrap();
    p.deliver_bob(init).unwrap();
    assert_eq!(p.gate.stats().cookie_replies, cookies + 1);
    let cookie = p.to_alice.pop().unwrap();
    assert_eq!(cookie.len(), wire::COOKIE_REPLY_LEN);
    // A forged cookie reply is refused; the real one accepted.
    let mut forged = cookie.clone();
    forged[30] ^= 1;
    assert_eq!(p.deliver_alice(forged), Err(DatagramError::BadCookie));
    p.deliver_alice(cookie).unwrap();
    assert_eq!(p.alice.stats().cookies_received, 1);
    // The retransmission carries mac2 and is admitted.
    p.advance(Duration::from_millis(100));
    p.alice.handle_timeout(p.now);
    p.settle();
    assert!(p.alice.is_established());
    assert_eq!(p.gate.stats().cookie_replies, cookies + 1);
}

/// A forged datagram changes nothing: a bit flip anywhere in a transport
/// datagram is refused and the genuine one still opens; a forged
/// handshake response leaves the handshake able to complete.
#[test]
fn forgeries_change_nothing() {
    let mut p = Pair::new(Config::default());
    p.alice.connect(p.now).unwrap();
    p.flush();
    let init = p.to_bob.pop().unwrap();
    p.deliver_bob(init).unwrap();
    p.flush();
    let resp = p.to_alice.pop().unwrap();
    for i in wire::HEADER_LEN..resp.len() {
        let mut f = resp.clone();
        f[i] ^= 0x40;
        assert!(p.deliver_alice(f).is_err());
    }
    p.deliver_alice(resp).unwrap();
    p.settle();
    let d = p.a_send(b"genuine").unwrap();
    for i in 0..d.len() {
        let mut f = d.clone();
        f[i] ^= 0x01;
        assert!(p.deliver_bob(f).is_err(), "byte {i}");
    }
    p.deliver_bob(d.clone()).unwrap();
    assert_eq!(p.bob_got, [b"genuine".to_vec()]);
    assert!(p.deliver_bob(d).is_err(), "replay");
}

#[test]
fn other_patterns() {
    for name in [
        "Noise_XX_25519_AESGCM_SHA256",
        "Noise_NK_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk3_25519_ChaChaPoly_SHA512",
        "Noise_IKpsk2_25519_AESGCM_BLAKE2s",
        "Noise_NN_25519_ChaChaPoly_BLAKE2s",
        "Noise_X1X1_25519_ChaChaPoly_BLAKE2s",
    ] {
        let config = Config::default().with_params(NoiseParams::parse(name).unwrap());
        let (a_keys, b_keys) = keys(9);
        let now = Instant::ZERO;
        let psk = [7u8; 32];
        let id = |k: &KeyPair| Identity::new(k.clone()).with_psk(psk);
        let remote = config
            .params
            .pattern()
            .pre_bob()
            .has_s()
            .then_some(*b_keys.public());
        let mut a = Link::<P>::new(config, id(&a_keys), remote, seed(1), now).unwrap();
        let mut g = G::new(GateConfig::for_link(&config), id(&b_keys), seed(2), now).unwrap();
        let mut b: Option<Link<P>> = None;
        a.connect(now).unwrap();
        let mut buf = [0u8; MAX_CONTROL_DATAGRAM];
        let mut to_b: Vec<Vec<u8>> = Vec::new();
        let mut to_a: Vec<Vec<u8>> = Vec::new();
        for _ in 0..8 {
            while let Some(n) = a.poll_transmit(now, &mut buf).unwrap() {
                to_b.push(buf[..n].to_vec());
            }
            if let Some(b) = b.as_mut() {
                while let Some(n) = b.poll_transmit(now, &mut buf).unwrap() {
                    to_a.push(buf[..n].to_vec());
                }
            }
            for mut d in to_b.drain(..) {
                if route(&d) == Ok(Route::Initiation) {
                    let Inbound::Hello(h) = g.handle_initiation(now, b"a", &d, &mut buf) else {
                        panic!("{name}")
                    };
                    let (l, r) = Link::accept(config, id(&b_keys), seed(3), now, h).unwrap();
                    g.remember(r);
                    b = Some(l);
                } else {
                    b.as_mut().unwrap().handle_datagram(now, &mut d).unwrap();
                }
            }
            for mut d in to_a.drain(..) {
                a.handle_datagram(now, &mut d).unwrap();
            }
        }
        let b = b.as_mut().unwrap();
        assert!(a.is_established() && b.is_established(), "{name}");
        assert_eq!(a.handshake_hash(), b.handshake_hash(), "{name}");
        if !name.contains("_N") {
            assert_eq!(b.remote_static(), Some(a_keys.public()), "{name}");
        }
        let mut out = [0u8; 64];
        let n = b.send(now, b"hi", &mut out).unwrap();
        let mut d = out[..n].to_vec();
        assert_eq!(
            a.handle_datagram(now, &mut d),
            Ok(Received::Data(b"hi")),
            "{name}"
        );
    }
}

#[test]
fn errors_leave_things_unchanged() {
    let mut p = Pair::new(Config::default());
    p.handshake();
    // Buffer too small: nothing written, nothing changed.
    let mut small = [0xa5u8; 10];
    assert!(matches!(
        p.alice.send(p.now, b"payload", &mut small),
        Err(SendError::BufferTooSmall(_))
    ));
    assert!(small.iter().all(|&b| b == 0xa5));
    assert_eq!(p.alice.stats().datagrams_sent, 1);
    // poll_transmit with a short buffer keeps the datagram queued.
    let d = p.a_send(b"x").unwrap();
    p.deliver_bob(d).unwrap();
    p.advance(Duration::from_secs(10));
    let now = p.now;
    p.bob().handle_timeout(now);
    let mut tiny = [0u8; 8];
    assert!(p.bob().poll_transmit(now, &mut tiny).is_err());
    let mut buf = [0u8; MAX_CONTROL_DATAGRAM];
    assert_eq!(
        p.bob().poll_transmit(now, &mut buf),
        Ok(Some(KEEPALIVE_LEN))
    );
    // Garbage is refused without a panic.
    for len in [0, 1, 19, 20, 21, 35, 36, 37, 100] {
        let mut g = vec![0x01u8; len];
        assert!(p.alice.handle_datagram(p.now, &mut g).is_err());
    }
    // A gate refuses non-initiations and bad mac1.
    let mut r = [0u8; 80];
    let d = p.a_send(b"x").unwrap();
    assert!(matches!(
        p.gate.handle_initiation(p.now, b"x", &d, &mut r),
        Inbound::Dropped(GateDrop::NotInitiation)
    ));
    p.alice.connect(p.now).unwrap(); // no-op: nothing in progress? starts a rekey
    p.flush();
    let mut init = p.to_bob.pop().unwrap();
    let l = init.len();
    init[l - 20] ^= 1; // inside mac1
    assert!(matches!(
        p.gate.handle_initiation(p.now, b"x", &init, &mut r),
        Inbound::Dropped(GateDrop::BadMac1)
    ));
}

#[test]
fn rate_limit_per_source_then_total() {
    let config = Config::default();
    let (_, b_keys) = keys(1);
    let mut gc = GateConfig::for_link(&config);
    gc.per_source = Rate::new(2, Duration::from_secs(2));
    gc.total = Rate::new(4, Duration::from_secs(1));
    gc.cookies = false;
    let mut g = G::new(gc, Identity::new(b_keys.clone()), seed(5), Instant::ZERO).unwrap();
    let mut rng = SeededRng::from_u64(1);
    let mut init = || {
        let mut f = Link::<P>::new(
            config,
            Identity::new(KeyPair::generate(&mut rng)),
            Some(*b_keys.public()),
            [2; 32],
            Instant::ZERO,
        )
        .unwrap();
        f.connect(Instant::ZERO).unwrap();
        let mut b = [0u8; MAX_CONTROL_DATAGRAM];
        let n = f.poll_transmit(Instant::ZERO, &mut b).unwrap().unwrap();
        b[..n].to_vec()
    };
    let mut r = [0u8; 80];
    let t = Instant::ZERO;
    let kind = |x: Inbound<P>| match x {
        Inbound::Hello(_) => "hello",
        Inbound::Dropped(GateDrop::RateLimitedSource) => "source",
        Inbound::Dropped(GateDrop::RateLimitedTotal) => "total",
        _ => "other",
    };
    assert_eq!(
        kind(g.handle_initiation(t, b"s1", &init(), &mut r)),
        "hello"
    );
    assert_eq!(
        kind(g.handle_initiation(t, b"s1", &init(), &mut r)),
        "hello"
    );
    assert_eq!(
        kind(g.handle_initiation(t, b"s1", &init(), &mut r)),
        "source"
    );
    assert_eq!(
        kind(g.handle_initiation(t, b"s2", &init(), &mut r)),
        "hello"
    );
    assert_eq!(
        kind(g.handle_initiation(t, b"s3", &init(), &mut r)),
        "hello"
    );
    assert_eq!(
        kind(g.handle_initiation(t, b"s4", &init(), &mut r)),
        "total"
    );
    // One token back per 250 ms in total, per source one per second.
    let t = Instant::from_millis(250);
    assert_eq!(
        kind(g.handle_initiation(t, b"s1", &init(), &mut r)),
        "source"
    );
    assert_eq!(
        kind(g.handle_initiation(t, b"s4", &init(), &mut r)),
        "hello"
    );
    let t = Instant::from_millis(1000);
    assert_eq!(
        kind(g.handle_initiation(t, b"s1", &init(), &mut r)),
        "hello"
    );
    let s = g.stats();
    assert_eq!(
        (s.admitted, s.dropped_rate_source, s.dropped_rate_total),
        (6, 2, 1)
    );
}
