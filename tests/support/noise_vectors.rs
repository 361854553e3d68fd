//! Runs Noise test vector files (cacophony / snow format, noise-c format
//! with `fallback`, our post-quantum extension of the cacophony format in
//! `vectors/noise/clatter-pq.txt`, and go-clatter's text format) against
//! `hyperport::noise`. Shared by `tests/noise_vectors.rs` and
//! `examples/noise_vectors.rs`. The formats: `vectors/noise/README.md`.

#![allow(dead_code)]

use hyperport::crypto::Provider;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::cipher::CipherState;
use hyperport::noise::{Builder, HandshakeState, NoiseParams, ParamsError};
use serde_json::Value;

/// Outcome of one vector.
#[derive(Debug)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Per-file tally.
#[derive(Debug, Default)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// (vector name, reason) of every failure.
    pub failures: Vec<(String, String)>,
    /// (vector name, reason) of every skip.
    pub skips: Vec<(String, String)>,
}

/// Runs every vector of a vector file's text (JSON, or go-clatter's text
/// format, which starts with `# Vector:`).
pub fn run_file<P: Provider>(text: &str) -> Result<Tally, String> {
    if text.trim_start().starts_with("# Vector:") {
        return super::go_clatter::run_file::<P>(text);
    }
    let json: Value = serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))?;
    let vectors = json["vectors"].as_array().ok_or("no \"vectors\" array")?;
    let mut t = Tally::default();
    for v in vectors {
        let name = v["protocol_name"]
            .as_str()
            .or_else(|| v["name"].as_str())
            .unwrap_or("?")
            .to_string();
        match run_vector::<P>(v, &name) {
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

fn hex_field(v: &Value, key: &str) -> Result<Option<Vec<u8>>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => hex::decode(s)
            .map(Some)
            .map_err(|e| format!("{key}: bad hex: {e}")),
        Some(_) => Err(format!("{key}: not a string")),
    }
}

fn key32(v: &Value, key: &str) -> Result<Option<[u8; 32]>, String> {
    match hex_field(v, key)? {
        None => Ok(None),
        Some(b) => b
            .try_into()
            .map(Some)
            .map_err(|_| format!("{key}: not 32 bytes")),
    }
}

fn psk_list(v: &Value, side: &str) -> Result<Vec<[u8; 32]>, String> {
    let mut out = Vec::new();
    if let Some(list) = v.get(format!("{side}_psks")).and_then(|l| l.as_array()) {
        for p in list {
            let b = hex::decode(p.as_str().ok_or("psk not a string")?)
                .map_err(|e| format!("psk hex: {e}"))?;
            out.push(b.try_into().map_err(|_| "psk not 32 bytes")?);
        }
    }
    if let Some(k) = key32(v, &format!("{side}_psk"))? {
        out.push(k);
    }
    Ok(out)
}

/// One side's ML-KEM keys from a post-quantum vector (owned here, lent to
/// the builder).
#[derive(Default)]
pub struct KemSide {
    #[cfg(feature = "mlkem")]
    s: Option<hyperport::crypto::mlkem::KeyPair>,
    #[cfg(feature = "mlkem")]
    e: Option<hyperport::crypto::mlkem::KeyPair>,
    #[cfg(feature = "mlkem")]
    rs: Option<hyperport::crypto::mlkem::PublicKey>,
    /// The randomness of this side's encapsulations, in order (what the
    /// builder draws from its RNG after the ephemeral keys).
    pub encapsulations: Vec<u8>,
}

impl KemSide {
    #[cfg_attr(not(feature = "mlkem"), allow(unused_variables))]
    pub fn from_vector(v: &Value, side: &str) -> Result<Self, String> {
        #[allow(unused_mut)]
        let mut k = KemSide::default();
        #[cfg(feature = "mlkem")]
        {
            use hyperport::crypto::mlkem::{KeyPair as KemPair, PublicKey};
            let seed = |key: &str| -> Result<Option<KemPair>, String> {
                match hex_field(v, key)? {
                    None => Ok(None),
                    Some(b) => {
                        let s: [u8; 64] =
                            b.try_into().map_err(|_| format!("{key}: not 64 bytes"))?;
                        Ok(Some(KemPair::from_seed(&s)))
                    }
                }
            };
            k.s = seed(&format!("{side}_static_kem"))?;
            k.e = seed(&format!("{side}_ephemeral_kem"))?;
            let key = format!("{side}_remote_static_kem");
            if let Some(b) = hex_field(v, &key)? {
                k.rs = Some(PublicKey::from_slice(&b).ok_or(format!("{key}: not a valid key"))?);
            }
        }
        if let Some(list) = v
            .get(format!("{side}_encapsulations"))
            .and_then(|l| l.as_array())
        {
            for m in list {
                let b = hex::decode(m.as_str().ok_or("encapsulation not a string")?)
                    .map_err(|e| format!("encapsulation hex: {e}"))?;
                if b.len() != 32 {
                    return Err("encapsulation randomness not 32 bytes".into());
                }
                k.encapsulations.extend_from_slice(&b);
            }
        }
        Ok(k)
    }

    /// Lends the keys to `b`.
    #[cfg_attr(not(feature = "mlkem"), allow(clippy::unused_self))]
    pub fn apply<'a>(&'a self, b: Builder<'a>) -> Builder<'a> {
        #[cfg(feature = "mlkem")]
        {
            let mut b = b;
            if let Some(s) = &self.s {
                b = b.local_static_kem(s);
            }
            if let Some(e) = &self.e {
                b = b.fixed_ephemeral_kem(e);
            }
            if let Some(rs) = &self.rs {
                b = b.remote_static_kem(rs);
            }
            b
        }
        #[cfg(not(feature = "mlkem"))]
        b
    }
}

/// An RNG that replays fixed bytes (the vector's encapsulation randomness)
/// and counts what was asked beyond them.
pub struct ReplayRng {
    bytes: Vec<u8>,
    at: usize,
    pub overrun: usize,
}

impl ReplayRng {
    pub fn new(bytes: Vec<u8>) -> Self {
        ReplayRng {
            bytes,
            at: 0,
            overrun: 0,
        }
    }

    /// Bytes never drawn.
    pub fn left(&self) -> usize {
        self.bytes.len() - self.at
    }
}

impl rand_core::RngCore for ReplayRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest {
            match self.bytes.get(self.at) {
                Some(b) => {
                    *d = *b;
                    self.at += 1;
                }
                None => {
                    *d = 0;
                    self.overrun += 1;
                }
            }
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for ReplayRng {}

/// Checks that each recorded random draw (`random_draws`, in the order the
/// generator made them) is where its label says in the vector's fields.
fn check_draws(v: &Value) -> Result<(), String> {
    let Some(draws) = v.get("random_draws").and_then(|d| d.as_array()) else {
        return Ok(());
    };
    let mut next_encaps = std::collections::HashMap::<String, usize>::new();
    for d in draws {
        let what = d["for"].as_str().ok_or("draw without \"for\"")?;
        let bytes = hex::decode(d["bytes"].as_str().ok_or("draw without bytes")?)
            .map_err(|e| format!("draw hex: {e}"))?;
        let (field, part) = match what.split_once(' ') {
            Some((f, p)) => (f, p),
            None => (what, ""),
        };
        let expect: Vec<u8> = if field == "psk" {
            let k: usize = part.parse().map_err(|_| format!("draw {what}"))?;
            let list = v["init_psks"].as_array().ok_or("no init_psks")?;
            hex::decode(list.get(k).and_then(|x| x.as_str()).ok_or("psk missing")?)
                .map_err(|e| e.to_string())?
        } else if field.ends_with("_encapsulations") {
            let k = next_encaps.entry(field.to_string()).or_default();
            let list = v[field].as_array().ok_or(format!("no {field}"))?;
            let m = list
                .get(*k)
                .and_then(|x| x.as_str())
                .ok_or(format!("{field}[{k}] missing"))?;
            *k += 1;
            hex::decode(m).map_err(|e| e.to_string())?
        } else {
            let full = hex_field(v, field)?.ok_or(format!("draw {what}: no field {field}"))?;
            match part {
                "(d)" => full[..32].to_vec(),
                "(z)" => full[32..].to_vec(),
                _ => full,
            }
        };
        if expect != bytes {
            return Err(format!("random draw {what:?} differs from its field"));
        }
    }
    Ok(())
}

fn builder<'a>(
    params: NoiseParams,
    v: &Value,
    side: &str,
    prologue: &'a [u8],
) -> Result<Builder<'a>, String> {
    let mut b = Builder::new(params).prologue(prologue);
    if let Some(k) = key32(v, &format!("{side}_static"))? {
        b = b.local_static(KeyPair::from_secret_bytes(k));
    }
    if let Some(k) = key32(v, &format!("{side}_ephemeral"))? {
        b = b.fixed_ephemeral(KeyPair::from_secret_bytes(k));
    }
    if let Some(k) = key32(v, &format!("{side}_remote_static"))? {
        b = b.remote_static(k);
    }
    let psks = psk_list(v, side)?;
    let positions = params.psk_positions();
    if psks.len() != positions.len() {
        return Err(format!(
            "{side}: {} PSKs for {} psk modifiers",
            psks.len(),
            positions.len()
        ));
    }
    for (pos, k) in positions.iter().zip(psks) {
        b = b.psk(*pos, k);
    }
    Ok(b)
}

pub struct Msg {
    pub payload: Vec<u8>,
    pub ciphertext: Vec<u8>,
    /// The handshake hash after this handshake message (post-quantum
    /// vectors).
    pub hash: Option<Vec<u8>>,
}

fn messages(v: &Value) -> Result<Vec<Msg>, String> {
    let list = v["messages"].as_array().ok_or("no messages")?;
    list.iter()
        .map(|m| {
            Ok(Msg {
                payload: hex_field(m, "payload")?.ok_or("no payload")?,
                ciphertext: hex_field(m, "ciphertext")?.ok_or("no ciphertext")?,
                hash: hex_field(m, "handshake_hash")?,
            })
        })
        .collect()
}

fn params_or_skip(name: &str) -> Result<NoiseParams, Outcome> {
    if name.starts_with("NoisePSK_") {
        return Err(Outcome::Skip(
            "obsolete pre-rev31 NoisePSK_ scheme (rev 34 uses pskN modifiers)".into(),
        ));
    }
    match NoiseParams::parse(name) {
        Ok(p) => Ok(p),
        Err(ParamsError::UnsupportedDh) => Err(Outcome::Skip("unsupported DH (only 25519)".into())),
        Err(e @ (ParamsError::UnsupportedCipher | ParamsError::UnsupportedHash)) => {
            Err(Outcome::Skip(format!("unsupported primitive: {e}")))
        }
        Err(e @ ParamsError::NotCompiledIn { .. }) => Err(Outcome::Skip(format!("{e}"))),
        Err(e) => Err(Outcome::Fail(format!("name does not parse: {e}"))),
    }
}

/// One handshake message from `w` to `r`, checked against the vector.
pub fn exchange<P: Provider>(
    w: &mut HandshakeState<P>,
    r: &mut HandshakeState<P>,
    m: &Msg,
    i: usize,
) -> Result<(), String> {
    let mut buf = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    let n = w
        .write_message(&m.payload, &mut buf)
        .map_err(|e| format!("message {i}: write: {e}"))?;
    if buf[..n] != m.ciphertext[..] {
        return Err(format!("message {i}: ciphertext differs"));
    }
    let got = r
        .read_message(&m.ciphertext, &mut out)
        .map_err(|e| format!("message {i}: read: {e}"))?;
    if out[..got] != m.payload[..] {
        return Err(format!("message {i}: payload differs"));
    }
    if let Some(h) = &m.hash
        && (w.handshake_hash() != &h[..] || r.handshake_hash() != &h[..])
    {
        return Err(format!("message {i}: handshake hash differs"));
    }
    Ok(())
}

fn transport<P: Provider>(
    send: &mut CipherState<P>,
    recv: &mut CipherState<P>,
    m: &Msg,
    i: usize,
) -> Result<(), String> {
    let mut buf = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    let n = send
        .encrypt_with_ad(&[], &m.payload, &mut buf)
        .map_err(|e| format!("transport {i}: encrypt: {e}"))?;
    if buf[..n] != m.ciphertext[..] {
        return Err(format!("transport {i}: ciphertext differs"));
    }
    let got = recv
        .decrypt_with_ad(&[], &m.ciphertext, &mut out)
        .map_err(|e| format!("transport {i}: decrypt: {e}"))?;
    if out[..got] != m.payload[..] {
        return Err(format!("transport {i}: payload differs"));
    }
    Ok(())
}

/// Finishes a vector after the handshake: hash, split, transport messages.
/// `a` is the side that sends transport messages with even indices.
pub fn finish<P: Provider>(
    v: &Value,
    a: HandshakeState<P>,
    b: HandshakeState<P>,
    msgs: &[Msg],
    first_transport: usize,
    one_way: bool,
) -> Result<(), String> {
    if let Some(h) = hex_field(v, "handshake_hash")?
        && (a.handshake_hash() != &h[..] || b.handshake_hash() != &h[..])
    {
        return Err("handshake hash differs".into());
    }
    let (mut a_send, mut a_recv) = a
        .split()
        .map_err(|_| "side a: split before the end".to_string())?
        .into_cipher_states::<P>();
    let (mut b_send, mut b_recv) = b
        .split()
        .map_err(|_| "side b: split before the end".to_string())?
        .into_cipher_states::<P>();
    for (i, m) in msgs.iter().enumerate().skip(first_transport) {
        if one_way || i % 2 == 0 {
            transport(&mut a_send, &mut b_recv, m, i)?;
        } else {
            transport(&mut b_send, &mut a_recv, m, i)?;
        }
    }
    Ok(())
}

fn run_vector<P: Provider>(v: &Value, name: &str) -> Outcome {
    let params = match params_or_skip(name) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let res = if v.get("fallback").and_then(|f| f.as_bool()) == Some(true) {
        run_fallback::<P>(v, params)
    } else {
        run_plain::<P>(v, params)
    };
    match res {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

fn run_plain<P: Provider>(v: &Value, params: NoiseParams) -> Result<(), String> {
    check_draws(v)?;
    let ip = hex_field(v, "init_prologue")?.unwrap_or_default();
    let rp = hex_field(v, "resp_prologue")?.unwrap_or_default();
    // Post-quantum vectors fix the ML-KEM keys and the encapsulation
    // randomness, which the builder draws from its RNG; classical ones
    // need no randomness (fixed ephemerals).
    let (ik, rk) = (
        KemSide::from_vector(v, "init")?,
        KemSide::from_vector(v, "resp")?,
    );
    let mut irng = ReplayRng::new(ik.encapsulations.clone());
    let mut rrng = ReplayRng::new(rk.encapsulations.clone());
    let mut init: HandshakeState<P> = ik
        .apply(builder(params, v, "init", &ip)?)
        .build_initiator(&mut irng)
        .map_err(|e| format!("initiator: {e}"))?;
    let mut resp: HandshakeState<P> = rk
        .apply(builder(params, v, "resp", &rp)?)
        .build_responder(&mut rrng)
        .map_err(|e| format!("responder: {e}"))?;
    if params.pattern().kind() != hyperport::noise::pattern::PatternKind::Classical {
        for (who, r) in [("initiator", &irng), ("responder", &rrng)] {
            if r.overrun > 0 || r.left() > 0 {
                return Err(format!(
                    "{who}: drew {} random bytes beyond the vector's, left {} unused",
                    r.overrun,
                    r.left()
                ));
            }
        }
    }
    let msgs = messages(v)?;
    let n_hs = params.pattern().messages().len();
    if msgs.len() < n_hs {
        return Err("fewer messages than the pattern".into());
    }
    for (i, m) in msgs.iter().enumerate().take(n_hs) {
        if init.is_my_turn() {
            exchange(&mut init, &mut resp, m, i)?;
        } else {
            exchange(&mut resp, &mut init, m, i)?;
        }
    }
    finish(v, init, resp, &msgs, n_hs, params.pattern().is_one_way())
}

/// noise-c fallback vectors: Alice tries `IK` with a stale key for Bob; Bob
/// fails to read it and both fall back to the named `XXfallback` protocol.
fn run_fallback<P: Provider>(v: &Value, params: NoiseParams) -> Result<(), String> {
    let mut rng = hyperport::rng::SeededRng::from_u64(0);
    let first = v["pattern"].as_str().unwrap_or("IK");
    let name = params.name();
    let mut parts: Vec<&str> = name.split('_').collect();
    parts[1] = first;
    let first_name = parts.join("_");
    let first_params = NoiseParams::parse(&first_name).map_err(|e| format!("{first_name}: {e}"))?;
    let ip = hex_field(v, "init_prologue")?.unwrap_or_default();
    let rp = hex_field(v, "resp_prologue")?.unwrap_or_default();
    let mut alice: HandshakeState<P> = builder(first_params, v, "init", &ip)?
        .build_initiator(&mut rng)
        .map_err(|e| format!("IK initiator: {e}"))?;
    // Bob knows no remote static; drop resp_remote_static if present.
    let mut bob: HandshakeState<P> = builder(first_params, v, "resp", &rp)?
        .build_responder(&mut rng)
        .map_err(|e| format!("IK responder: {e}"))?;
    let msgs = messages(v)?;
    if msgs.len() < 3 {
        return Err("fallback vector with fewer than 3 messages".into());
    }
    let mut buf = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    let n = alice
        .write_message(&msgs[0].payload, &mut buf)
        .map_err(|e| format!("IK message: {e}"))?;
    if buf[..n] != msgs[0].ciphertext[..] {
        return Err("IK message: ciphertext differs".into());
    }
    if bob.read_message(&msgs[0].ciphertext, &mut out).is_ok() {
        return Err("IK message: Bob read it, no fallback happens".into());
    }
    let mut bob = bob
        .fallback_initiator(
            Builder::new(params).prologue(&rp),
            &msgs[0].ciphertext,
            &mut rng,
        )
        .map_err(|e| format!("Bob fallback: {e}"))?;
    let mut alice = alice
        .fallback_responder(Builder::new(params).prologue(&ip), &mut rng)
        .map_err(|e| format!("Alice fallback: {e}"))?;
    exchange(&mut bob, &mut alice, &msgs[1], 1)?;
    exchange(&mut alice, &mut bob, &msgs[2], 2)?;
    // After the handshake, even-indexed messages go from Alice (the
    // original initiator, as noise-c numbers them).
    finish(v, alice, bob, &msgs, 3, false)
}
