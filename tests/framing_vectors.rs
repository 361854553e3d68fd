//! Replays `vectors/framing/*.json` against the framing decoder and the
//! datagram header codec. Spec constants are typed here by hand.

use hyperport::framing::datagram::{HEADER_LEN, Header, Repr, VERSION};
use hyperport::framing::{
    Config, DEFAULT_MAX_FRAME_LEN, DecodeError, Decoder, HeaderError, HeaderField, PREFIX_LEN,
};
use serde::Deserialize;
use serde_json::Value;

/// The spec: a 4-byte prefix.
const SPEC_PREFIX_LEN: usize = 4;
/// The documented default cap: 64 KiB.
const SPEC_DEFAULT_MAX: u32 = 65_536;
/// The datagram header: 1 + 1 + 2 + 4 + 4 + 8 bytes, version 1.
const SPEC_HEADER_LEN: usize = 20;
const SPEC_VERSION: u8 = 1;

fn load(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors/framing")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("json")
}

#[test]
fn spec_constants() {
    assert_eq!(PREFIX_LEN, SPEC_PREFIX_LEN);
    assert_eq!(DEFAULT_MAX_FRAME_LEN, SPEC_DEFAULT_MAX);
    assert_eq!(Config::default().max_frame_len, SPEC_DEFAULT_MAX);
    assert_eq!(HEADER_LEN, SPEC_HEADER_LEN);
    assert_eq!(VERSION, SPEC_VERSION);
}

#[derive(Deserialize)]
struct DecodeCase {
    name: String,
    max_frame_len: u32,
    chunks: Vec<String>,
    frames: Vec<String>,
    error: Option<Value>,
    #[serde(default)]
    buffered: usize,
    #[serde(default)]
    eof_error: Option<Value>,
}

fn expected_error(v: &Value) -> DecodeError {
    let n = |k: &str| v[k].as_u64().expect(k);
    match v["kind"].as_str().expect("kind") {
        "frame_too_long" => DecodeError::FrameTooLong {
            declared: n("declared") as u32,
            max: n("max") as u32,
        },
        "ended_mid_frame" => DecodeError::EndedMidFrame {
            received: n("received") as usize,
            expected: n("expected") as usize,
        },
        other => panic!("unknown error kind {other}"),
    }
}

/// Runs one case with the given storage and checks frames, error, error
/// offset, leftover bytes and end-of-stream outcome.
fn run_decode_case<S: AsMut<[u8]>>(case: &DecodeCase, storage: S) {
    let config = Config::new().with_max_frame_len(case.max_frame_len);
    let mut decoder = Decoder::new(config, storage).expect("storage fits");
    let mut frames = Vec::new();
    let mut consumed = 0usize;
    let mut error = None;
    'outer: for chunk in &case.chunks {
        let chunk = hex::decode(chunk).unwrap();
        let mut input = &chunk[..];
        loop {
            let before = input.len();
            match decoder.handle_input(&mut input) {
                Ok(Some(frame)) => frames.push(hex::encode(frame)),
                Ok(None) => {
                    assert!(input.is_empty(), "{}: Ok(None) must consume all", case.name);
                    consumed += before;
                    break;
                }
                Err(e) => {
                    consumed += before - input.len();
                    error = Some(e);
                    break 'outer;
                }
            }
            consumed += before - input.len();
        }
    }
    assert_eq!(frames, case.frames, "{}: frames", case.name);
    match (&case.error, error) {
        (None, None) => {
            assert_eq!(decoder.buffered(), case.buffered, "{}: buffered", case.name);
            let eof = decoder.handle_eof();
            match &case.eof_error {
                None => assert_eq!(eof, Ok(()), "{}: eof", case.name),
                Some(v) => assert_eq!(eof, Err(expected_error(v)), "{}: eof", case.name),
            }
        }
        (Some(v), Some(e)) => {
            assert_eq!(e, expected_error(v), "{}: error", case.name);
            assert_eq!(
                consumed,
                v["consumed"].as_u64().unwrap() as usize,
                "{}: error offset",
                case.name
            );
            assert!(decoder.is_closed());
            let mut rest: &[u8] = &[0, 0, 0, 0];
            assert_eq!(decoder.handle_input(&mut rest), Err(DecodeError::Closed));
        }
        (want, got) => panic!("{}: expected error {want:?}, got {got:?}", case.name),
    }
}

#[test]
fn decode_vectors() {
    let doc = load("decode.json");
    assert_eq!(doc["prefix_len"].as_u64(), Some(SPEC_PREFIX_LEN as u64));
    let cases: Vec<DecodeCase> = serde_json::from_value(doc["cases"].clone()).unwrap();
    assert!(cases.len() >= 15, "vector file lost cases");
    for case in &cases {
        let max = case.max_frame_len as usize;
        // The same case through three storage types, and with generous storage.
        run_decode_case(case, vec![0u8; max]);
        run_decode_case(case, vec![0xeeu8; max + 100]);
        let mut slice = vec![0u8; max];
        run_decode_case(case, &mut slice[..]);
        if max == 16 {
            run_decode_case(case, [0u8; 16]);
        }
        // Re-chunked one byte at a time, the frames and errors must not change.
        let stream: Vec<u8> = case
            .chunks
            .iter()
            .flat_map(|c| hex::decode(c).unwrap())
            .collect();
        let bytewise = DecodeCase {
            name: format!("{} (byte by byte)", case.name),
            max_frame_len: case.max_frame_len,
            chunks: stream.iter().map(|b| hex::encode([*b])).collect(),
            frames: case.frames.clone(),
            error: case.error.clone(),
            buffered: case.buffered,
            eof_error: case.eof_error.clone(),
        };
        run_decode_case(&bytewise, vec![0u8; max]);
    }
}

#[test]
fn header_vectors() {
    let doc = load("header.json");
    assert_eq!(doc["header_len"].as_u64(), Some(SPEC_HEADER_LEN as u64));
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 15, "vector file lost cases");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let data = hex::decode(case["hex"].as_str().unwrap()).unwrap();
        let parsed = Repr::parse_datagram(&data);
        if let Some(repr) = case.get("repr") {
            let n = |k: &str| repr[k].as_u64().unwrap();
            let want = match repr["type"].as_str().unwrap() {
                "handshake_initiation" => Repr::HandshakeInitiation {
                    sender_index: n("sender_index") as u32,
                },
                "handshake_response" => Repr::HandshakeResponse {
                    sender_index: n("sender_index") as u32,
                    receiver_index: n("receiver_index") as u32,
                },
                "transport_data" => Repr::TransportData {
                    receiver_index: n("receiver_index") as u32,
                    counter: n("counter"),
                },
                "cookie_reply" => Repr::CookieReply {
                    receiver_index: n("receiver_index") as u32,
                },
                other => panic!("{name}: unknown type {other}"),
            };
            let payload = hex::decode(case["payload"].as_str().unwrap()).unwrap();
            assert_eq!(parsed, Ok((want, &payload[..])), "{name}");
            // Emit reproduces the vector's header bytes exactly.
            let mut out = [0x5au8; SPEC_HEADER_LEN];
            assert_eq!(want.emit(&mut out), Ok(SPEC_HEADER_LEN));
            assert_eq!(&out[..], &data[..SPEC_HEADER_LEN], "{name}: emit");
            // The checked view reads the raw fields.
            let view = Header::new_checked(&data[..]).unwrap();
            assert_eq!(view.version(), SPEC_VERSION);
            assert_eq!(view.payload(), &payload[..]);
        } else {
            let e = &case["error"];
            let v = |k: &str| e[k].as_u64().unwrap();
            let want = match e["kind"].as_str().unwrap() {
                "truncated" => HeaderError::Truncated(hyperport::Truncated {
                    needed: v("needed") as usize,
                    available: v("available") as usize,
                }),
                "unknown_version" => HeaderError::UnknownVersion(v("value") as u8),
                "unknown_type" => HeaderError::UnknownType(v("value") as u8),
                "reserved_not_zero" => HeaderError::ReservedNotZero(v("value") as u16),
                "unused_field_not_zero" => {
                    HeaderError::UnusedFieldNotZero(match e["field"].as_str().unwrap() {
                        "sender_index" => HeaderField::SenderIndex,
                        "receiver_index" => HeaderField::ReceiverIndex,
                        "counter" => HeaderField::Counter,
                        other => panic!("{name}: unknown field {other}"),
                    })
                }
                other => panic!("{name}: unknown error {other}"),
            };
            assert_eq!(parsed, Err(want), "{name}");
        }
    }
}
