// A hostile peer drives one honest ports node: the input is a script of
// forged events (any type, forged port names, from-ports, control and user
// sequence numbers, carried port descriptors, claimed sender among three
// nodes, or the victim's own name) interleaved with the honest user's own
// commands and with the passing of time. Checked: no panic, every bound
// holds after every step (ports, queued messages, held events per port /
// per node / total), every output encodes, the timer contract holds
// (`handle_timeout` at `poll_timeout` moves it strictly later), input
// naming the victim itself is refused, and once every node the victim
// depends on is declared lost the held and waiting pools are empty —
// without closing a single port — and no proxy is left. Then the user
// closes what it holds and the node is empty: nothing leaked.

use hyperport::ports::{
    Bytes, Config, Event, EventKind, Incarnation, Node, NodeName, PortDescriptor, PortEvent,
    PortName, PortState, UserMessage,
};
use hyperport::ports::EventError;
use hyperport::rng::SeededRng;
use hyperport::time::{Duration, Instant};

type Pl = Bytes<16>;
type Victim = Node<Pl, SeededRng, 32, 64, 2, 24, 256>;

struct Script<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn u64(&mut self) -> u64 {
        match self.byte() % 4 {
            0 => u64::from(self.byte() % 8),
            1 => u64::MAX,
            2 => 0,
            _ => (0..8).fold(0u64, |a, _| (a << 8) | u64::from(self.byte())),
        }
    }
}

const HOSTILE: [NodeName; 3] = [
    NodeName::new(0xbad, 1),
    NodeName::new(0xbad, 2),
    NodeName::new(0xbad, 3),
];

fn pick_node(s: &mut Script<'_>, me: NodeName) -> NodeName {
    match s.byte() % 5 {
        0..=2 => HOSTILE[usize::from(s.byte()) % 3],
        3 => me,
        _ => NodeName::new(s.u64(), s.u64()),
    }
}

fn pick_port(s: &mut Script<'_>, pool: &[PortName]) -> PortName {
    let b = s.byte();
    if b < 200 && !pool.is_empty() {
        pool[usize::from(b) % pool.len()]
    } else if b < 230 {
        PortName::INVALID
    } else {
        PortName::new(s.u64(), s.u64())
    }
}

fn descriptor(s: &mut Script<'_>, pool: &[PortName], me: NodeName) -> PortDescriptor {
    PortDescriptor {
        peer_node: pick_node(s, me),
        peer_port: pick_port(s, pool),
        referring_node: pick_node(s, me),
        referring_port: pick_port(s, pool),
        next_seq_to_send: s.u64(),
        next_seq_to_receive: s.u64(),
        last_seq_to_receive: s.u64(),
        peer_closed: s.byte() & 1 == 1,
    }
}

fn forged(s: &mut Script<'_>, pool: &[PortName], me: NodeName) -> Event<Pl, 2> {
    let kind = match s.byte() % 11 {
        0 => {
            let mut m = UserMessage {
                seq: s.u64(),
                ports: Default::default(),
                payload: Pl::new(),
            };
            for _ in 0..s.byte() % 3 {
                let _ = m.ports.push((pick_port(s, pool), descriptor(s, pool, me)));
            }
            EventKind::UserMessage(m)
        }
        1 => EventKind::PortAccepted,
        2 => EventKind::ObserveProxy {
            proxy_node: pick_node(s, me),
            proxy_port: pick_port(s, pool),
            target_node: pick_node(s, me),
            target_port: pick_port(s, pool),
        },
        3 => EventKind::ObserveProxyAck { last_seq: s.u64() },
        4 => EventKind::ObserveClosure { last_seq: s.u64() },
        5 => EventKind::MergePort {
            new_port: pick_port(s, pool),
            descriptor: descriptor(s, pool, me),
        },
        6 => EventKind::ReadAckRequest { seq: s.u64() },
        7 => EventKind::ReadAck { seq: s.u64() },
        8 => EventKind::UpdatePreviousPeer {
            node: pick_node(s, me),
            port: pick_port(s, pool),
        },
        9 => EventKind::ObserveProxyDirect {
            target_node: pick_node(s, me),
            target_port: pick_port(s, pool),
        },
        _ => EventKind::PeerConfirmed,
    };
    Event {
        port: pick_port(s, pool),
        from_port: pick_port(s, pool),
        control_seq: s.u64(),
        kind,
    }
}

fn drain(v: &mut Victim, pool: &mut Vec<PortName>, peers: &mut Vec<NodeName>) {
    let mut buf = [0u8; 1024];
    while let Some((to, ev)) = v.poll_transmit() {
        if !peers.contains(&to) {
            peers.push(to);
        }
        ev.encode(&mut buf).expect("outputs encode");
        for n in [ev.port, ev.from_port] {
            if n.is_valid() && !pool.contains(&n) && pool.len() < 64 {
                pool.push(n);
            }
        }
    }
    while let Some(ev) = v.poll_broadcast() {
        ev.encode(&mut buf).expect("broadcasts encode");
    }
    // Nodes the victim depends on are nodes it may address: a driver
    // reports them lost too when they are unreachable.
    while let Some(e) = v.poll_event() {
        if let PortEvent::NodeInUse(n) = e
            && !peers.contains(&n)
        {
            peers.push(n);
        }
    }
}

fn check_bounds(v: &Victim, cfg: &Config) {
    assert!(v.port_count() <= 32);
    assert!(v.queued_count() <= 64);
    assert!(v.held_count() <= 24);
    assert!(v.held_count() <= cfg.max_held_per_node * HOSTILE.len());
    assert_eq!(v.stats().dropped_outputs, 0, "outbox sized for one call");
}

pub fn run(data: &[u8]) {
    let mut s = Script { data, pos: 0 };
    let me = NodeName::new(0x600d, 1);
    let cfg = Config {
        max_queued_per_port: 8,
        max_held_per_port: 4,
        max_held_per_node: 8,
        ..Config::default()
    };
    let mut v = Victim::new(me, cfg, SeededRng::from_u64(7));
    let mut pool: Vec<PortName> = Vec::new();
    let mut peers: Vec<NodeName> = HOSTILE.to_vec();
    // Honest setup: a local pair and a pair shared with hostile node 0.
    let (a, b) = v.create_port_pair().expect("room");
    let x = v.create_uninitialized_port().expect("room");
    let y = PortName::new(0x5eed, 1);
    v.initialize_port(x, HOSTILE[0], y, HOSTILE[0], y).expect("init");
    pool.extend([a, b, x, y]);
    drain(&mut v, &mut pool, &mut peers);
    let mut now = Instant::ZERO;
    let mut steps = 0;
    while !s.done() && steps < 256 {
        steps += 1;
        let mine: Vec<PortName> = v
            .ports()
            .filter(|(_, st)| *st == PortState::Receiving)
            .map(|(p, _)| p)
            .collect();
        for p in &mine {
            if !pool.contains(p) && pool.len() < 64 {
                pool.push(*p);
            }
        }
        match s.byte() % 10 {
            0 if !mine.is_empty() => {
                let p = mine[usize::from(s.byte()) % mine.len()];
                let att: Vec<PortName> = if s.byte() & 1 == 1 {
                    vec![mine[usize::from(s.byte()) % mine.len()]]
                } else {
                    vec![]
                };
                let _ = v.send_user_message(p, Pl::new(), &att);
            }
            1 if !mine.is_empty() => {
                let p = mine[usize::from(s.byte()) % mine.len()];
                let _ = v.get_message(p);
            }
            2 if !mine.is_empty() && s.byte().is_multiple_of(4) => {
                let p = mine[usize::from(s.byte()) % mine.len()];
                let _ = v.close_port(p);
            }
            3 if !mine.is_empty() => {
                let p = mine[usize::from(s.byte()) % mine.len()];
                let _ = v.allow_merge(p, None);
            }
            4 => {
                // Time passes: a little, or past the held-event age bound.
                let dt = if s.byte() & 1 == 1 {
                    cfg.max_held_age
                } else {
                    Duration::from_millis(u64::from(s.byte()))
                };
                now += dt;
                v.handle_timeout(now);
                if let Some(t) = v.poll_timeout() {
                    assert!(t > now, "a deadline already due after handle_timeout");
                    v.handle_timeout(t);
                    now = t;
                    assert!(v.poll_timeout().is_none_or(|u| u > t), "timer contract");
                }
            }
            5 => {
                // Remote input naming the victim itself is refused unread.
                let held = v.held_count();
                let ev = forged(&mut s, &pool, me);
                assert_eq!(v.handle_event(me, ev), Err(EventError::FromSelf));
                assert_eq!(v.held_count(), held);
            }
            _ => {
                let from = HOSTILE[usize::from(s.byte()) % 3];
                let ev = forged(&mut s, &pool, me);
                let _ = v.handle_event(from, ev);
            }
        }
        drain(&mut v, &mut pool, &mut peers);
        check_bounds(&v, &cfg);
    }
    // Every node the victim ever addressed or depends on goes away (a
    // driver reports unreachable nodes as lost). Without closing a single
    // port, the held and waiting pools drain and no proxy is left.
    let mut k = 0;
    while k < peers.len() {
        let n = peers[k];
        k += 1;
        let _ = v.lost_connection_to_node(n, Incarnation::FIRST);
        drain(&mut v, &mut pool, &mut peers);
    }
    let held: Vec<_> = v.held_events().map(|(p, n, e)| (p, n, e.clone())).collect();
    assert!(held.is_empty(), "held events outlive the lost nodes: {held:?}");
    assert_eq!(v.waiting_count(), 0, "waiting events outlive the lost nodes");
    assert_eq!(v.poll_timeout(), None);
    let proxies: Vec<_> = v
        .ports()
        .filter(|(_, st)| *st != PortState::Receiving && *st != PortState::Uninitialized)
        .collect();
    assert!(proxies.is_empty(), "proxies left: {proxies:?}");
    // The user closes what it holds: nothing leaks.
    for _ in 0..4 {
        let mine: Vec<PortName> = v.ports().map(|(p, _)| p).collect();
        for p in mine {
            let _ = v.close_port(p);
            drain(&mut v, &mut pool, &mut peers);
        }
    }
    let left: Vec<_> = v.ports().collect();
    assert!(left.is_empty(), "ports leaked: {left:?}");
    assert_eq!(v.held_count(), 0);
    assert_eq!(v.queued_count(), 0);
}
