//! Generates the post-quantum Noise test vectors `vectors/noise/clatter-pq.txt`
//! with clatter 2.3.0 alone (no hyperport code is linked) and a fixed
//! ChaCha20 random source, and prints them as JSON on standard output.
//!
//! ```sh
//! cd vectors/noise/generator && cargo run --release > ../clatter-pq.txt
//! ```
//!
//! Every random byte clatter or this program asks for comes from one
//! ChaCha20 stream per vector (rand_chacha 0.3 `ChaCha20Rng::from_seed`, seed
//! = the vector's index as a little-endian u64 in bytes 0..8, then
//! `0x5a` in bytes 8..32). Each draw is recorded, in the order it is made, in
//! the vector's `random_draws`, and copied into the field it became (the
//! format is described in `../README.md`). The draws happen in this order:
//!
//! 1. setup, by this program: the initiator's static X25519 key (32 bytes,
//!    hybrid patterns), its static ML-KEM seed (`d` then `z`, 32 bytes each),
//!    the same for the responder (only for sides that have static keys),
//!    then one 32-byte PSK per `psk` token;
//! 2. during each `write_message`, by clatter, token by token: `e` draws the
//!    ephemeral X25519 key (hybrid) then the ephemeral ML-KEM `d` and `z`;
//!    `ekem` and `skem` draw the 32-byte encapsulation randomness `m`.

use std::cell::RefCell;

use clatter::bytearray::ByteArray;
use clatter::crypto::cipher::{AesGcm, ChaChaPoly};
use clatter::crypto::dh::X25519;
use clatter::crypto::hash::{Blake2b, Blake2s, Sha256, Sha512};
use clatter::crypto::kem::rust_crypto_ml_kem::MlKem768;
use clatter::handshakepattern::{self as cp, HandshakePattern, Token};
use clatter::traits::{Cipher, Dh, Handshaker, Hash, Kem};
use clatter::transportstate::TransportState;
use clatter::{HybridHandshakeCore, HybridHandshakeParams, PqHandshakeCore};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use serde_json::{Value, json};

const PROLOGUE: &[u8] = b"hyperport post-quantum vectors";

/// The recorded random source of the vector being generated.
struct Source {
    rng: ChaCha20Rng,
    draws: Vec<Vec<u8>>,
}

thread_local! {
    static SOURCE: RefCell<Source> = RefCell::new(Source {
        rng: ChaCha20Rng::from_seed([0; 32]),
        draws: Vec::new(),
    });
}

fn reset(index: u64) {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&index.to_le_bytes());
    SOURCE.with(|s| {
        let mut s = s.borrow_mut();
        s.rng = ChaCha20Rng::from_seed(seed);
        s.draws.clear();
    });
}

fn take_draws() -> Vec<Vec<u8>> {
    SOURCE.with(|s| std::mem::take(&mut s.borrow_mut().draws))
}

/// clatter creates its RNG with `Default` inside each handshake; every
/// instance reads the one recorded stream.
#[derive(Default, Clone)]
struct RecordingRng;

impl RngCore for RecordingRng {
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
        SOURCE.with(|s| {
            let mut s = s.borrow_mut();
            s.rng.fill_bytes(dest);
            s.draws.push(dest.to_vec());
        });
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for RecordingRng {}

/// A clatter handshake of either kind behind one interface.
trait Side {
    fn write(&mut self, payload: &[u8], out: &mut [u8]) -> usize;
    fn read(&mut self, msg: &[u8], out: &mut [u8]) -> usize;
    fn finished(&self) -> bool;
    fn hash(&self) -> Vec<u8>;
    fn transport(self: Box<Self>) -> Box<dyn Transport>;
}

trait Transport {
    fn send(&mut self, payload: &[u8], out: &mut [u8]) -> usize;
    fn receive(&mut self, msg: &[u8], out: &mut [u8]) -> usize;
}

impl<C: Cipher, H: Hash> Transport for TransportState<C, H> {
    fn send(&mut self, payload: &[u8], out: &mut [u8]) -> usize {
        TransportState::send(self, payload, out).expect("send")
    }
    fn receive(&mut self, msg: &[u8], out: &mut [u8]) -> usize {
        TransportState::receive(self, msg, out).expect("receive")
    }
}

struct Hyb<C: Cipher, H: Hash>(HybridHandshakeCore<X25519, MlKem768, MlKem768, C, H, RecordingRng>);
struct Pq<C: Cipher, H: Hash>(PqHandshakeCore<MlKem768, MlKem768, C, H, RecordingRng>);

macro_rules! side_impl {
    ($t:ident) => {
        impl<C: Cipher + 'static, H: Hash + 'static> Side for $t<C, H> {
            fn write(&mut self, payload: &[u8], out: &mut [u8]) -> usize {
                self.0.write_message(payload, out).expect("write")
            }
            fn read(&mut self, msg: &[u8], out: &mut [u8]) -> usize {
                self.0.read_message(msg, out).expect("read")
            }
            fn finished(&self) -> bool {
                self.0.is_finished()
            }
            fn hash(&self) -> Vec<u8> {
                self.0.get_state().get_hash().as_slice().to_vec()
            }
            fn transport(self: Box<Self>) -> Box<dyn Transport> {
                Box::new(self.0.finalize().expect("finalize"))
            }
        }
    };
}
side_impl!(Hyb);
side_impl!(Pq);

/// Which static keys the initiator / responder have, and which the other
/// side knows in advance, from the pattern's letters (`K`: known in
/// advance; `X`, `I`: transmitted; `N`: none).
fn statics(base: &str) -> [(bool, bool); 2] {
    let letters: Vec<char> = base.chars().filter(|c| c.is_ascii_uppercase()).collect();
    let side = |c: char| (c != 'N', c == 'K');
    [side(letters[0]), side(letters[1])]
}

type DhKp = clatter::KeyPair<<X25519 as Dh>::PubKey, <X25519 as Dh>::PrivateKey>;
type KemKp = clatter::KeyPair<<MlKem768 as Kem>::PubKey, <MlKem768 as Kem>::SecretKey>;

struct Party {
    dh: Option<DhKp>,
    kem: Option<KemKp>,
}

fn hexs(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

fn generate<C: Cipher + 'static, H: Hash + 'static>(
    index: u64,
    name: &str,
    pattern: HandshakePattern,
) -> Value {
    let hybrid = name.starts_with("hybrid");
    let dh_name = if hybrid { "25519+MLKEM768" } else { "MLKEM768" };
    let protocol = format!("Noise_{name}_{dh_name}_{}_{}", C::name(), H::name());
    let base = name.trim_start_matches("hybrid").trim_start_matches("pq");
    let base = &base[..base.find("psk").unwrap_or(base.len())];
    let st = statics(base);
    reset(index);

    // Setup draws: statics, then PSKs.
    let mut draws_meta: Vec<String> = Vec::new();
    let mut fields = serde_json::Map::new();
    fields.insert("protocol_name".into(), Value::String(protocol.clone()));
    fields.insert("init_prologue".into(), hexs(PROLOGUE));
    fields.insert("resp_prologue".into(), hexs(PROLOGUE));
    let mut parties = Vec::new();
    for (role, (has, _)) in ["init", "resp"].iter().zip(st) {
        let mut p = Party { dh: None, kem: None };
        if has {
            if hybrid {
                let kp = X25519::genkey_rng(&mut RecordingRng).expect("dh keygen");
                fields.insert(format!("{role}_static"), hexs(kp.secret.as_slice()));
                draws_meta.push(format!("{role}_static"));
                p.dh = Some(kp);
            }
            let kp = MlKem768::genkey_rng(&mut RecordingRng).expect("kem keygen");
            draws_meta.push(format!("{role}_static_kem (d)"));
            draws_meta.push(format!("{role}_static_kem (z)"));
            p.kem = Some(kp);
        }
        parties.push(p);
    }
    let psk_count: usize = (0..pattern.get_initiator_pattern_len())
        .map(|i| pattern.get_initiator_pattern(i))
        .chain((0..pattern.get_responder_pattern_len()).map(|i| pattern.get_responder_pattern(i)))
        .flatten()
        .filter(|t| **t == Token::Psk)
        .count();
    let mut psks = Vec::new();
    for k in 0..psk_count {
        let mut psk = [0u8; 32];
        RecordingRng.fill_bytes(&mut psk);
        draws_meta.push(format!("psk {k}"));
        psks.push(psk);
    }
    let setup = take_draws();
    assert_eq!(setup.len(), draws_meta.len());
    // The static ML-KEM seeds are the two draws d, z.
    let mut at = 0;
    for (role, (has, _)) in ["init", "resp"].iter().zip(st) {
        if has {
            if hybrid {
                at += 1;
            }
            let seed = [setup[at].clone(), setup[at + 1].clone()].concat();
            fields.insert(format!("{role}_static_kem"), hexs(&seed));
            at += 2;
        }
    }
    if !psks.is_empty() {
        let list: Vec<Value> = psks.iter().map(|p| hexs(p)).collect();
        fields.insert("init_psks".into(), Value::Array(list.clone()));
        fields.insert("resp_psks".into(), Value::Array(list));
    }
    // Remote statics known in advance (public keys).
    for (me, peer) in [(0usize, 1usize), (1, 0)] {
        let role = ["init", "resp"][me];
        if st[peer].1 {
            let p = &parties[peer];
            if let Some(dh) = &p.dh {
                fields.insert(format!("{role}_remote_static"), hexs(dh.public.as_slice()));
            }
            let kem = p.kem.as_ref().expect("static kem");
            fields.insert(format!("{role}_remote_static_kem"), hexs(kem.public.as_slice()));
        }
    }

    // The two clatter handshakes.
    let mut sides: Vec<Box<dyn Side>> = Vec::new();
    for (me, initiator) in [(0usize, true), (1, false)] {
        let peer = 1 - me;
        let own = &parties[me];
        let known = st[peer].1;
        if hybrid {
            let mut params = HybridHandshakeParams::<X25519, MlKem768, MlKem768>::new(
                pattern.clone(),
                initiator,
            )
            .with_prologue(PROLOGUE);
            if let (Some(dh), Some(kem)) = (&own.dh, &own.kem) {
                params = params.with_s(dh.clone()).with_s_kem(kem.clone());
            }
            if known {
                let p = &parties[peer];
                params = params
                    .with_rs(p.dh.as_ref().expect("dh").public.clone())
                    .with_rs_kem(p.kem.as_ref().expect("kem").public.clone());
            }
            let mut hs = HybridHandshakeCore::new(params).expect("hybrid handshake");
            for p in &psks {
                hs.push_psk(p);
            }
            sides.push(Box::new(Hyb::<C, H>(hs)));
        } else {
            let s = own.kem.clone();
            let rs = known.then(|| parties[peer].kem.as_ref().expect("kem").public.clone());
            let mut hs = PqHandshakeCore::new(pattern.clone(), PROLOGUE, initiator, s, None, rs, None)
                .expect("pq handshake");
            for p in &psks {
                hs.push_psk(p);
            }
            sides.push(Box::new(Pq::<C, H>(hs)));
        }
    }

    let mut messages = Vec::new();
    let mut all_draws: Vec<(String, Vec<u8>)> = draws_meta.into_iter().zip(setup).collect();
    let mut eph: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut eph_kem: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut encaps: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    let mut buf = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    let mut i = 0usize;
    let (mut ii, mut ri) = (0usize, 0usize);
    while !sides[0].finished() {
        let w = i % 2;
        let role = ["init", "resp"][w];
        let tokens = if w == 0 {
            ii += 1;
            pattern.get_initiator_pattern(ii - 1)
        } else {
            ri += 1;
            pattern.get_responder_pattern(ri - 1)
        };
        let payload = format!("handshake message {i}").into_bytes();
        let n = sides[w].write(&payload, &mut buf);
        let m = sides[1 - w].read(&buf[..n], &mut out);
        assert_eq!(out[..m], payload[..]);
        let h = sides[w].hash();
        assert_eq!(h, sides[1 - w].hash());
        // Name the draws this write made, token by token.
        let mut d = take_draws().into_iter();
        for t in tokens {
            match t {
                Token::E => {
                    if hybrid {
                        let e = d.next().expect("e draw");
                        eph[w] = e.clone();
                        all_draws.push((format!("{role}_ephemeral"), e));
                    }
                    let dd = d.next().expect("d draw");
                    let z = d.next().expect("z draw");
                    eph_kem[w] = [dd.clone(), z.clone()].concat();
                    all_draws.push((format!("{role}_ephemeral_kem (d)"), dd));
                    all_draws.push((format!("{role}_ephemeral_kem (z)"), z));
                }
                Token::Ekem | Token::Skem => {
                    let m = d.next().expect("m draw");
                    let which = if *t == Token::Ekem { "ekem" } else { "skem" };
                    encaps[w].push(hexs(&m));
                    all_draws.push((format!("{role}_encapsulations ({which}, message {i})"), m));
                }
                _ => {}
            }
        }
        assert!(d.next().is_none(), "{protocol}: unexpected draw in message {i}");
        messages.push(json!({
            "payload": hexs(&payload),
            "ciphertext": hexs(&buf[..n]),
            "handshake_hash": hexs(&h),
        }));
        i += 1;
    }
    assert!(sides[1].finished());
    let hash = sides[0].hash();
    let mut ts: Vec<Box<dyn Transport>> = sides.into_iter().map(|s| s.transport()).collect();
    // Transport messages continue the alternation of the handshake (the
    // cacophony convention: overall message index even = initiator).
    for j in 0..4 {
        let w = (i + j) % 2;
        let payload = format!("transport message {j} from the {}", ["initiator", "responder"][w])
            .into_bytes();
        let n = ts[w].send(&payload, &mut buf);
        let m = ts[1 - w].receive(&buf[..n], &mut out);
        assert_eq!(out[..m], payload[..]);
        messages.push(json!({"payload": hexs(&payload), "ciphertext": hexs(&buf[..n])}));
    }
    assert!(take_draws().is_empty());
    for (w, role) in ["init", "resp"].iter().enumerate() {
        if !eph[w].is_empty() {
            fields.insert(format!("{role}_ephemeral"), hexs(&eph[w]));
        }
        if !eph_kem[w].is_empty() {
            fields.insert(format!("{role}_ephemeral_kem"), hexs(&eph_kem[w]));
        }
        if !encaps[w].is_empty() {
            fields.insert(
                format!("{role}_encapsulations"),
                Value::Array(std::mem::take(&mut encaps[w])),
            );
        }
    }
    fields.insert("handshake_hash".into(), hexs(&hash));
    fields.insert(
        "random_draws".into(),
        Value::Array(
            all_draws
                .into_iter()
                .map(|(what, b)| json!({"for": what, "bytes": hexs(&b)}))
                .collect(),
        ),
    );
    fields.insert("messages".into(), Value::Array(messages));
    Value::Object(fields)
}

fn patterns() -> Vec<(&'static str, HandshakePattern)> {
    let pq_kn = HandshakePattern::new("pqKN", &[Token::S], &[], &[&[Token::E]], &[&[
        Token::Ekem,
        Token::Skem,
    ]]);
    let pq_kn_psk2 = pq_kn.add_psks(&[2], "pqKNpsk2");
    vec![
        ("hybridNN", cp::noise_hybrid_nn()),
        ("hybridNK", cp::noise_hybrid_nk()),
        ("hybridNX", cp::noise_hybrid_nx()),
        ("hybridKN", cp::noise_hybrid_kn()),
        ("hybridKK", cp::noise_hybrid_kk()),
        ("hybridKX", cp::noise_hybrid_kx()),
        ("hybridXN", cp::noise_hybrid_xn()),
        ("hybridXK", cp::noise_hybrid_xk()),
        ("hybridXX", cp::noise_hybrid_xx()),
        ("hybridIN", cp::noise_hybrid_in()),
        ("hybridIK", cp::noise_hybrid_ik()),
        ("hybridIX", cp::noise_hybrid_ix()),
        ("hybridNNpsk0", cp::noise_hybrid_nn_psk0()),
        ("hybridNNpsk2", cp::noise_hybrid_nn_psk2()),
        ("hybridNKpsk2", cp::noise_hybrid_nk_psk2()),
        ("hybridNXpsk2", cp::noise_hybrid_nx_psk2()),
        ("hybridXNpsk3", cp::noise_hybrid_xn_psk3()),
        ("hybridXKpsk3", cp::noise_hybrid_xk_psk3()),
        ("hybridXXpsk3", cp::noise_hybrid_xx_psk3()),
        ("hybridKNpsk0", cp::noise_hybrid_kn_psk0()),
        ("hybridKNpsk2", cp::noise_hybrid_kn_psk2()),
        ("hybridKKpsk2", cp::noise_hybrid_kk_psk2()),
        ("hybridKXpsk2", cp::noise_hybrid_kx_psk2()),
        ("hybridINpsk1", cp::noise_hybrid_in_psk1()),
        ("hybridINpsk2", cp::noise_hybrid_in_psk2()),
        ("hybridIKpsk1", cp::noise_hybrid_ik_psk1()),
        ("hybridIKpsk2", cp::noise_hybrid_ik_psk2()),
        ("hybridIXpsk2", cp::noise_hybrid_ix_psk2()),
        ("pqNN", cp::noise_pqnn()),
        ("pqNK", cp::noise_pqnk()),
        ("pqNX", cp::noise_pqnx()),
        // clatter 2.3's noise_pqkn() is named "pqNK" by mistake; the same
        // pattern under its own name.
        ("pqKN", pq_kn),
        ("pqKK", cp::noise_pqkk()),
        ("pqKX", cp::noise_pqkx()),
        ("pqXN", cp::noise_pqxn()),
        ("pqXK", cp::noise_pqxk()),
        ("pqXX", cp::noise_pqxx()),
        ("pqIN", cp::noise_pqin()),
        ("pqIK", cp::noise_pqik()),
        ("pqIX", cp::noise_pqix()),
        ("pqNNpsk2", cp::noise_pqnn_psk2()),
        ("pqNKpsk2", cp::noise_pqnk_psk2()),
        ("pqNXpsk2", cp::noise_pqnx_psk2()),
        ("pqKNpsk2", pq_kn_psk2),
        ("pqKKpsk2", cp::noise_pqkk_psk2()),
        ("pqKXpsk2", cp::noise_pqkx_psk2()),
        ("pqXNpsk3", cp::noise_pqxn_psk3()),
        ("pqXKpsk3", cp::noise_pqxk_psk3()),
        ("pqXXpsk3", cp::noise_pqxx_psk3()),
        ("pqINpsk1", cp::noise_pqin_psk1()),
        ("pqINpsk2", cp::noise_pqin_psk2()),
        ("pqIKpsk1", cp::noise_pqik_psk1()),
        ("pqIKpsk2", cp::noise_pqik_psk2()),
        ("pqIXpsk2", cp::noise_pqix_psk2()),
    ]
}

/// One vector of `name` with suite `s` (0..8: ChaChaPoly then AESGCM, each
/// with SHA256, SHA512, BLAKE2s, BLAKE2b).
fn one(index: u64, name: &str, p: HandshakePattern, s: usize) -> Value {
    match s {
        0 => generate::<ChaChaPoly, Sha256>(index, name, p),
        1 => generate::<ChaChaPoly, Sha512>(index, name, p),
        2 => generate::<ChaChaPoly, Blake2s>(index, name, p),
        3 => generate::<ChaChaPoly, Blake2b>(index, name, p),
        4 => generate::<AesGcm, Sha256>(index, name, p),
        5 => generate::<AesGcm, Sha512>(index, name, p),
        6 => generate::<AesGcm, Blake2s>(index, name, p),
        _ => generate::<AesGcm, Blake2b>(index, name, p),
    }
}

fn main() {
    // Every pattern once, the suites in turn; hybridXX with every suite
    // (kept small: the interop tests cover every pattern x suite).
    let mut vectors = Vec::new();
    let mut index = 0u64;
    for (k, (name, p)) in patterns().into_iter().enumerate() {
        let all = name == "hybridXX";
        for s in 0..8 {
            if all || s == k % 8 {
                vectors.push(one(index, name, p.clone(), s));
                index += 1;
            }
        }
    }
    let doc = json!({
        "generator": "vectors/noise/generator (this repository), clatter 2.3.0 with RustCrypto ml-kem 0.2.3",
        "random_source": "per vector: rand_chacha 0.3 ChaCha20Rng::from_seed(index as u64 little-endian in bytes 0..8, 0x5a in bytes 8..32); every draw listed in random_draws, in order",
        "vectors": vectors,
    });
    println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
}
