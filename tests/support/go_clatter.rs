//! Runs go-clatter's interop vector files (`vectors/noise/go-clatter/`, a
//! text format; see `vectors/noise/README.md`) against `hyperport::noise`.
//!
//! Those vectors were made by Rust clatter with its `DummyRng` counter: one
//! stream shared by both sides whose byte `i` is `(0xdeadbeef + i) mod 256`.
//! The generator drew the static keys first (initiator X25519, responder
//! X25519 — hybrid only —, initiator ML-KEM `d || z`, responder ML-KEM,
//! whether or not the pattern uses them), then clatter drew,
//! at each write, token by token: `e` → ephemeral X25519 key (hybrid) then
//! ephemeral ML-KEM `d || z`; `ekem`, `skem` → 32 bytes of encapsulation
//! randomness. This runner replays the stream in that order to recover each
//! side's keys and randomness, then checks every message, every handshake
//! hash and the transport messages byte for byte. Handshake payloads are
//! empty; transport payloads are the three strings below.

#![allow(dead_code)]

use hyperport::crypto::Provider;
#[cfg(feature = "mlkem")]
use hyperport::noise::HandshakeState;
use hyperport::noise::NoiseParams;
#[cfg(feature = "mlkem")]
use hyperport::noise::pattern::{PatternKind, Token};

#[cfg(feature = "mlkem")]
use super::noise_vectors::{Msg, exchange, finish};
use super::noise_vectors::{Outcome, Tally};

/// The transport payloads of go-clatter's vector tests, by index.
const TRANSPORT_PAYLOADS: [&str; 3] = [
    "Scream without a sound",
    "Flying off the handle",
    "Eugene gene the dance machine",
];

/// The first value of clatter's `DummyRng` counter in its vectors.
const DUMMY_RNG_START: u64 = 0xdead_beef;

struct Vector {
    name: String,
    fields: std::collections::HashMap<String, String>,
    /// (index, sender is initiator, bytes, hash after)
    messages: Vec<(bool, Vec<u8>, Option<Vec<u8>>)>,
    transports: Vec<(bool, Vec<u8>)>,
    hash: Option<Vec<u8>>,
}

fn parse(text: &str) -> Result<Vec<Vector>, String> {
    let mut out = Vec::new();
    for chunk in text.split("# Vector:").skip(1) {
        let mut lines = chunk.lines();
        let name = lines.next().unwrap_or("").trim().to_string();
        let mut v = Vector {
            name,
            fields: Default::default(),
            messages: Vec::new(),
            transports: Vec::new(),
            hash: None,
        };
        for line in lines {
            let line = line.trim();
            if line.is_empty() || line == "---" || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(':')
                .ok_or(format!("{}: line without ':': {line}", v.name))?;
            let value = value.trim();
            let bytes = || hex::decode(value).map_err(|e| format!("{key}: {e}"));
            if let Some(rest) = key.strip_prefix("msg[") {
                let (i, who) = rest.split_once("] ").ok_or(format!("bad key {key}"))?;
                let i: usize = i.parse().map_err(|_| format!("bad key {key}"))?;
                if i != v.messages.len() {
                    return Err(format!("{}: message {i} out of order", v.name));
                }
                v.messages.push((who == "initiator", bytes()?, None));
            } else if let Some(rest) = key.strip_prefix("h[") {
                let i: usize = rest
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|_| format!("bad key {key}"))?;
                let m = v
                    .messages
                    .get_mut(i)
                    .ok_or(format!("{key} before its message"))?;
                m.2 = Some(bytes()?);
            } else if let Some(rest) = key.strip_prefix("transport[") {
                let (i, who) = rest.split_once("] ").ok_or(format!("bad key {key}"))?;
                let i: usize = i.parse().map_err(|_| format!("bad key {key}"))?;
                if i != v.transports.len() {
                    return Err(format!("{}: transport {i} out of order", v.name));
                }
                v.transports.push((who == "initiator", bytes()?));
            } else if key == "handshake_hash" {
                v.hash = Some(bytes()?);
            } else {
                v.fields.insert(key.to_string(), value.to_string());
            }
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err("no \"# Vector:\" block".into());
    }
    Ok(out)
}

/// clatter's `DummyRng` stream.
struct Dummy(u64);

impl Dummy {
    fn take(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                let b = (self.0 % 256) as u8;
                self.0 += 1;
                b
            })
            .collect()
    }
}

pub fn run_file<P: Provider>(text: &str) -> Result<Tally, String> {
    let mut t = Tally::default();
    for v in parse(text)? {
        let name = v.name.clone();
        match run_vector::<P>(&v) {
            Outcome::Pass => t.passed += 1,
            Outcome::Fail(r) => {
                t.failed += 1;
                t.failures.push((name, r));
            }
            Outcome::Skip(r) => {
                t.skipped += 1;
                t.skips.push((name, r));
            }
        }
    }
    Ok(t)
}

fn run_vector<P: Provider>(v: &Vector) -> Outcome {
    let f = |k: &str| v.fields.get(k).map(String::as_str).unwrap_or("");
    if f("kem") != "MlKem768" || !matches!(f("dh"), "" | "25519") {
        return Outcome::Skip(format!(
            "dh {} kem {}: only 25519 + ML-KEM-768",
            f("dh"),
            f("kem")
        ));
    }
    if v.fields.keys().any(|k| k.contains("psk")) {
        return Outcome::Skip("PSK vectors of this format are not defined".into());
    }
    let dh = if f("pattern").starts_with("hybrid") {
        "25519+MLKEM768"
    } else {
        "MLKEM768"
    };
    let full = format!("Noise_{}_{dh}_{}_{}", f("pattern"), f("cipher"), f("hash"));
    let params = match NoiseParams::parse(&full) {
        Ok(p) => p,
        Err(e @ hyperport::noise::ParamsError::NotCompiledIn { .. }) => {
            return Outcome::Skip(format!("{full}: {e}"));
        }
        Err(e) => return Outcome::Fail(format!("{full}: {e}")),
    };
    match run::<P>(v, params) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

#[cfg(not(feature = "mlkem"))]
#[allow(clippy::extra_unused_type_parameters)]
fn run<P: Provider>(_v: &Vector, _params: NoiseParams) -> Result<(), String> {
    Err("post-quantum names do not parse without the mlkem feature".into())
}

#[cfg(feature = "mlkem")]
fn run<P: Provider>(v: &Vector, params: NoiseParams) -> Result<(), String> {
    use super::noise_vectors::ReplayRng;
    use hyperport::crypto::mlkem;
    use hyperport::crypto::x25519::KeyPair;
    use hyperport::noise::Builder;

    let pattern = params.pattern();
    let hybrid = pattern.kind() == PatternKind::Hybrid;
    let prologue = hex::decode(
        v.fields
            .get("prologue_hex")
            .map(String::as_str)
            .unwrap_or(""),
    )
    .map_err(|e| format!("prologue_hex: {e}"))?;
    let mut rng = Dummy(DUMMY_RNG_START);
    let arr32 = |b: Vec<u8>| -> [u8; 32] { b.try_into().unwrap_or([0; 32]) };
    let arr64 = |b: Vec<u8>| -> [u8; 64] { b.try_into().unwrap_or([0; 64]) };
    // Statics: initiator X25519, responder X25519 (hybrid only), initiator
    // ML-KEM, responder ML-KEM (the generator always makes them all).
    let dh = if hybrid {
        [
            KeyPair::from_secret_bytes(arr32(rng.take(32))),
            KeyPair::from_secret_bytes(arr32(rng.take(32))),
        ]
    } else {
        [
            KeyPair::from_secret_bytes([1; 32]),
            KeyPair::from_secret_bytes([2; 32]),
        ]
    };
    let kem = [
        mlkem::KeyPair::from_seed(&arr64(rng.take(64))),
        mlkem::KeyPair::from_seed(&arr64(rng.take(64))),
    ];
    let kem_pub = [kem[0].public(), kem[1].public()];
    // Each writer's draws, token by token, in message order.
    let mut eph: [Option<KeyPair>; 2] = [None, None];
    let mut eph_kem: [Option<mlkem::KeyPair>; 2] = [None, None];
    let mut encaps: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    if v.messages.len() != pattern.messages().len() {
        return Err(format!(
            "{} messages for a {}-message pattern",
            v.messages.len(),
            pattern.messages().len()
        ));
    }
    for (i, m) in pattern.messages().iter().enumerate() {
        let w = usize::from(!pattern.alice_sends(i));
        if v.messages[i].0 != (w == 0) {
            return Err(format!("message {i}: sender differs from the pattern"));
        }
        for t in m.tokens() {
            match t {
                Token::E => {
                    if hybrid {
                        eph[w] = Some(KeyPair::from_secret_bytes(arr32(rng.take(32))));
                    }
                    eph_kem[w] = Some(mlkem::KeyPair::from_seed(&arr64(rng.take(64))));
                }
                Token::Ekem | Token::Skem => encaps[w].extend(rng.take(32)),
                _ => {}
            }
        }
    }
    let uses_static = |alice: bool| {
        let (mine, _) = if alice {
            (pattern.pre_alice(), pattern.pre_bob())
        } else {
            (pattern.pre_bob(), pattern.pre_alice())
        };
        mine.has_s()
            || pattern.messages().iter().enumerate().any(|(i, m)| {
                let own = pattern.alice_sends(i) == alice;
                m.tokens()
                    .iter()
                    .any(|t| (own && *t == Token::S) || (!own && *t == Token::Skem))
            })
    };
    let mut sides = Vec::new();
    let mut rngs = [
        ReplayRng::new(encaps[0].clone()),
        ReplayRng::new(encaps[1].clone()),
    ];
    for (w, alice) in [(0usize, true), (1, false)] {
        let peer = 1 - w;
        let knows = if alice {
            pattern.pre_bob()
        } else {
            pattern.pre_alice()
        }
        .has_s();
        let mut b = Builder::new(params).prologue(&prologue);
        if uses_static(alice) {
            if hybrid {
                b = b.local_static(dh[w].clone());
            }
            b = b.local_static_kem(&kem[w]);
        }
        if knows {
            if hybrid {
                b = b.remote_static(*dh[peer].public());
            }
            b = b.remote_static_kem(&kem_pub[peer]);
        }
        if let Some(e) = eph[w].take() {
            b = b.fixed_ephemeral(e);
        }
        if let Some(e) = &eph_kem[w] {
            b = b.fixed_ephemeral_kem(e);
        }
        let hs: HandshakeState<P> = if alice {
            b.build_initiator(&mut rngs[w])
        } else {
            b.build_responder(&mut rngs[w])
        }
        .map_err(|e| format!("build: {e}"))?;
        sides.push(hs);
    }
    for (w, r) in rngs.iter().enumerate() {
        if r.overrun > 0 || r.left() > 0 {
            return Err(format!(
                "side {w}: random bytes drawn {} beyond, {} unused",
                r.overrun,
                r.left()
            ));
        }
    }
    let mut resp = sides.pop().ok_or("no responder")?;
    let mut init = sides.pop().ok_or("no initiator")?;
    let mut msgs = Vec::new();
    for (i, (from_init, bytes, h)) in v.messages.iter().enumerate() {
        let m = Msg {
            payload: Vec::new(),
            ciphertext: bytes.clone(),
            hash: h.clone(),
        };
        if *from_init {
            exchange(&mut init, &mut resp, &m, i)?;
        } else {
            exchange(&mut resp, &mut init, &m, i)?;
        }
        msgs.push(m);
    }
    if let Some(h) = &v.hash
        && init.handshake_hash() != &h[..]
    {
        return Err("handshake hash differs".into());
    }
    // Transport messages: `finish` sends even indices from its first side.
    for (k, (from_init, bytes)) in v.transports.iter().enumerate() {
        if *from_init != (k % 2 == 0) {
            return Err(format!("transport {k}: unexpected sender"));
        }
        let payload = TRANSPORT_PAYLOADS
            .get(k)
            .ok_or(format!("transport {k}: no known payload"))?;
        msgs.push(Msg {
            payload: payload.as_bytes().to_vec(),
            ciphertext: bytes.clone(),
            hash: None,
        });
    }
    let n_hs = v.messages.len();
    if !n_hs.is_multiple_of(2) {
        return Err("odd handshake length: transport senders not defined".into());
    }
    let json = serde_json::json!({});
    finish(&json, init, resp, &msgs, n_hs, false)
}
