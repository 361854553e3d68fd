//! Replays `vectors/ports/events.json`: every vector's bytes decode to the
//! event its fields describe, and that event encodes to the same bytes. The
//! bytes were assembled by `vectors/ports/gen_events.py` from the documented
//! byte table, independently of the Rust codec.

use hyperport::ports::{Bytes, Event, EventKind, NodeName, PortDescriptor, PortName, UserMessage};
use serde_json::Value;

type Ev = Event<Bytes<64>, 4>;

fn pair(v: &Value) -> (u64, u64) {
    (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
}
fn port(v: &Value) -> PortName {
    let (a, b) = pair(v);
    PortName::new(a, b)
}
fn node(v: &Value) -> NodeName {
    let (a, b) = pair(v);
    NodeName::new(a, b)
}
fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}
fn desc(d: &Value) -> PortDescriptor {
    PortDescriptor {
        peer_node: node(&d["peer_node"]),
        peer_port: port(&d["peer_port"]),
        referring_node: node(&d["referring_node"]),
        referring_port: port(&d["referring_port"]),
        next_seq_to_send: u(&d["next_seq_to_send"]),
        next_seq_to_receive: u(&d["next_seq_to_receive"]),
        last_seq_to_receive: u(&d["last_seq_to_receive"]),
        peer_closed: d["peer_closed"].as_bool().unwrap(),
    }
}

fn expected(v: &Value) -> Ev {
    let f = &v["fields"];
    let kind = match u(&v["type"]) {
        0 => {
            let mut ports = heapless::Vec::new();
            for p in f["ports"].as_array().unwrap() {
                ports
                    .push((port(&p["name"]), desc(&p["descriptor"])))
                    .unwrap();
            }
            let payload = hex::decode(f["payload_hex"].as_str().unwrap()).unwrap();
            EventKind::UserMessage(UserMessage {
                seq: u(&f["seq"]),
                ports,
                payload: heapless::Vec::from_slice(&payload).unwrap(),
            })
        }
        1 => EventKind::PortAccepted,
        2 => EventKind::ObserveProxy {
            proxy_node: node(&f["proxy_node"]),
            proxy_port: port(&f["proxy_port"]),
            target_node: node(&f["target_node"]),
            target_port: port(&f["target_port"]),
        },
        3 => EventKind::ObserveProxyAck {
            last_seq: u(&f["last_seq"]),
        },
        4 => EventKind::ObserveClosure {
            last_seq: u(&f["last_seq"]),
        },
        5 => EventKind::MergePort {
            new_port: port(&f["new_port"]),
            descriptor: desc(&f["descriptor"]),
        },
        6 => EventKind::ReadAckRequest { seq: u(&f["seq"]) },
        7 => EventKind::ReadAck { seq: u(&f["seq"]) },
        8 => EventKind::UpdatePreviousPeer {
            node: node(&f["node"]),
            port: port(&f["port"]),
        },
        9 => EventKind::ObserveProxyDirect {
            target_node: node(&f["target_node"]),
            target_port: port(&f["target_port"]),
        },
        10 => EventKind::PeerConfirmed,
        11 => EventKind::PortArrived,
        t => panic!("unknown type {t}"),
    };
    Event {
        port: port(&v["port"]),
        from_port: port(&v["from_port"]),
        control_seq: u(&v["control_seq"]),
        kind,
    }
}

#[test]
fn ports_event_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/ports/events.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    let mut types = std::collections::BTreeSet::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let bytes = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        assert_eq!(bytes.len() as u64, u(&v["len"]), "{name}");
        let want = expected(v);
        let got = Ev::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
        let mut out = vec![0u8; want.encoded_len()];
        assert_eq!(want.encode(&mut out).unwrap(), bytes.len(), "{name}");
        assert_eq!(out, bytes, "{name}");
        assert_eq!(
            want.is_sender_verified(),
            !matches!(
                name,
                "port_accepted"
                    | "merge_port"
                    | "observe_proxy_broadcast"
                    | "observe_proxy_direct_ext"
                    | "peer_confirmed_ext"
                    | "port_arrived_ext"
            )
        );
        types.insert(u(&v["type"]));
        // Every strict prefix is rejected.
        for cut in 0..bytes.len() {
            if u(&v["type"]) == 0 && cut >= 64 + 112 * want_ports(&want) {
                continue; // a shorter payload is still a valid message
            }
            assert!(Ev::decode(&bytes[..cut]).is_err(), "{name} prefix {cut}");
        }
    }
    assert_eq!(types.len(), 12, "one vector per event type");
}

fn want_ports(e: &Ev) -> usize {
    match &e.kind {
        EventKind::UserMessage(m) => m.ports.len(),
        _ => 0,
    }
}
