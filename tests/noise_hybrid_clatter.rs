//! Post-quantum Noise interop with clatter 2.3 (an independent Rust
//! implementation of the same patterns, with RustCrypto's `ml-kem`):
//!
//! * the pattern tables are clatter's, token for token;
//! * every hybrid pattern clatter pre-makes (12 base, 16 PSK variants) ×
//!   both ciphers × all four hashes, in both roles (hyperport initiator /
//!   clatter responder and the reverse), with a payload in every handshake
//!   message, equal handshake hashes, and transport messages both ways;
//! * the same for the 26 KEM-only `pq*` patterns (12 base, 14 PSK variants; clatter's `noise_pqkn()` is
//!   named "pqNK" by mistake, so its pqKN is rebuilt here under its real
//!   name with clatter's public pattern constructor).
//!
//! Every provider built in runs the hyperport side.

#![cfg(feature = "mlkem")]

use clatter::bytearray::ByteArray;
use clatter::crypto::cipher::{AesGcm, ChaChaPoly};
use clatter::crypto::dh::X25519;
use clatter::crypto::hash::{Blake2b, Blake2s, Sha256, Sha512};
use clatter::crypto::kem::rust_crypto_ml_kem::MlKem768;
use clatter::handshakepattern::{self as cp, HandshakePattern as CPattern, Token as CToken};
use clatter::traits::{Cipher, Dh, Handshaker, Hash, Kem};
use clatter::{HybridHandshakeCore, HybridHandshakeParams, PqHandshakeCore};

use hyperport::crypto::Provider;
use hyperport::crypto::mlkem;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::pattern::{self, HandshakePattern, PatternKind, Token};
use hyperport::noise::{Builder, HandshakeState, NoiseParams};
use hyperport::rng::SeededRng;

type ClatterRng = clatter::crypto::rng::DefaultRng;

/// clatter's pre-made patterns with our name for each (clatter's
/// `noise_pqkn()` rebuilt as "pqKN").
fn clatter_patterns() -> Vec<(&'static str, CPattern)> {
    let pq_kn = CPattern::new(
        "pqKN",
        &[CToken::S],
        &[],
        &[&[CToken::E]],
        &[&[CToken::Ekem, CToken::Skem]],
    );
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

fn ours(t: Token) -> CToken {
    match t {
        Token::E => CToken::E,
        Token::S => CToken::S,
        Token::EE => CToken::EE,
        Token::ES => CToken::ES,
        Token::SE => CToken::SE,
        Token::SS => CToken::SS,
        Token::Psk => CToken::Psk,
        Token::Ekem => CToken::Ekem,
        Token::Skem => CToken::Skem,
        _ => unreachable!("no other token"),
    }
}

/// Our pattern for a clatter pattern name (`hybridXXpsk3` ...).
fn our_pattern(name: &str) -> HandshakePattern {
    let kind = if name.starts_with("hybrid") {
        "25519+MLKEM768"
    } else {
        "MLKEM768"
    };
    *NoiseParams::parse(&format!("Noise_{name}_{kind}_ChaChaPoly_SHA256"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .pattern()
}

/// The message tokens are compared here; clatter has no public accessor
/// for pre-messages, which the handshakes below check instead (a wrong
/// pre-message changes the handshake hash).
#[test]
fn pattern_tables_are_clatters() {
    let list = clatter_patterns();
    assert_eq!(list.len(), 28 + 26);
    for (name, cpat) in &list {
        let p = our_pattern(name);
        assert_eq!(cpat.get_name(), *name);
        let (mut i, mut r) = (0, 0);
        for (k, m) in p.messages().iter().enumerate() {
            let theirs = if k % 2 == 0 {
                i += 1;
                cpat.get_initiator_pattern(i - 1)
            } else {
                r += 1;
                cpat.get_responder_pattern(r - 1)
            };
            let mine: Vec<CToken> = m.tokens().iter().map(|t| ours(*t)).collect();
            assert_eq!(mine, theirs, "{name} message {k}");
        }
        assert_eq!(i, cpat.get_initiator_pattern_len(), "{name}");
        assert_eq!(r, cpat.get_responder_pattern_len(), "{name}");
    }
    // Every base pattern of our tables is in clatter's list.
    for p in pattern::HYBRID.iter().chain(pattern::PQ.iter()) {
        assert!(list.iter().any(|(n, _)| *n == p.base_name()), "{p:?}");
    }
}

/// Key material of both sides, in both libraries' forms.
struct Keys {
    dh: [KeyPair; 2],
    kem: [mlkem::KeyPair; 2],
    kem_pub: [mlkem::PublicKey; 2],
    psk: [u8; 32],
}

fn keys(seed: u64) -> Keys {
    let mut rng = SeededRng::from_u64(seed);
    let dh = [KeyPair::generate(&mut rng), KeyPair::generate(&mut rng)];
    let kem = [
        mlkem::KeyPair::generate(&mut rng),
        mlkem::KeyPair::generate(&mut rng),
    ];
    let kem_pub = [kem[0].public(), kem[1].public()];
    Keys {
        dh,
        kem,
        kem_pub,
        psk: [0x42; 32],
    }
}

type CDhKp = clatter::KeyPair<<X25519 as Dh>::PubKey, <X25519 as Dh>::PrivateKey>;
type CKemKp = clatter::KeyPair<<MlKem768 as Kem>::PubKey, <MlKem768 as Kem>::SecretKey>;

fn c_dh(k: &KeyPair) -> CDhKp {
    clatter::KeyPair {
        public: ByteArray::from_slice(k.public()),
        secret: ByteArray::from_slice(&k.secret_bytes()),
    }
}

fn c_kem(k: &mlkem::KeyPair) -> CKemKp {
    clatter::KeyPair {
        public: ByteArray::from_slice(k.public_bytes()),
        secret: ByteArray::from_slice(k.secret_bytes()),
    }
}

/// Which static keys each side has and knows, from our pattern.
fn needs(p: &HandshakePattern, alice: bool) -> (bool, bool) {
    let sends_s = p
        .messages()
        .iter()
        .enumerate()
        .any(|(i, m)| p.alice_sends(i) == alice && m.tokens().contains(&Token::S));
    let (mine, peer) = if alice {
        (p.pre_alice(), p.pre_bob())
    } else {
        (p.pre_bob(), p.pre_alice())
    };
    (mine.has_s() || sends_s, peer.has_s())
}

fn ours_side<P: Provider>(
    params: NoiseParams,
    k: &Keys,
    alice: bool,
    rng: &mut SeededRng,
) -> Result<HandshakeState<P>, hyperport::noise::BuildError> {
    let p = params.pattern();
    let (me, peer) = if alice { (0, 1) } else { (1, 0) };
    let (has_s, knows_rs) = needs(p, alice);
    let mut b = Builder::new(params).prologue(b"interop prologue");
    if has_s {
        if p.kind() == PatternKind::Hybrid {
            b = b.local_static(k.dh[me].clone());
        }
        b = b.local_static_kem(&k.kem[me]);
    }
    if knows_rs {
        if p.kind() == PatternKind::Hybrid {
            b = b.remote_static(*k.dh[peer].public());
        }
        b = b.remote_static_kem(&k.kem_pub[peer]);
    }
    for &pos in params.psk_positions() {
        b = b.psk(pos, k.psk);
    }
    if alice {
        b.build_initiator::<P>(rng)
    } else {
        b.build_responder::<P>(rng)
    }
}

/// A clatter handshake behind one interface (hybrid or KEM-only).
trait Peer {
    fn write(&mut self, payload: &[u8], out: &mut [u8]) -> usize;
    fn read(&mut self, msg: &[u8], out: &mut [u8]) -> usize;
    fn finished(&self) -> bool;
    fn hash(&self) -> Vec<u8>;
    fn into_transport(self: Box<Self>) -> Box<dyn PeerTransport>;
}

trait PeerTransport {
    fn send(&mut self, payload: &[u8], out: &mut [u8]) -> usize;
    fn receive(&mut self, msg: &[u8], out: &mut [u8]) -> usize;
}

impl<C: Cipher, H: Hash> PeerTransport for clatter::transportstate::TransportState<C, H> {
    fn send(&mut self, payload: &[u8], out: &mut [u8]) -> usize {
        clatter::transportstate::TransportState::send(self, payload, out).expect("clatter send")
    }
    fn receive(&mut self, msg: &[u8], out: &mut [u8]) -> usize {
        clatter::transportstate::TransportState::receive(self, msg, out).expect("clatter receive")
    }
}

struct Hyb<C: Cipher, H: Hash>(HybridHandshakeCore<X25519, MlKem768, MlKem768, C, H, ClatterRng>);
struct Pq<C: Cipher, H: Hash>(PqHandshakeCore<MlKem768, MlKem768, C, H, ClatterRng>);

macro_rules! peer_impl {
    ($t:ident) => {
        impl<C: Cipher + 'static, H: Hash + 'static> Peer for $t<C, H> {
            fn write(&mut self, payload: &[u8], out: &mut [u8]) -> usize {
                self.0.write_message(payload, out).expect("clatter write")
            }
            fn read(&mut self, msg: &[u8], out: &mut [u8]) -> usize {
                self.0.read_message(msg, out).expect("clatter read")
            }
            fn finished(&self) -> bool {
                self.0.is_finished()
            }
            fn hash(&self) -> Vec<u8> {
                self.0.get_state().get_hash().as_slice().to_vec()
            }
            fn into_transport(self: Box<Self>) -> Box<dyn PeerTransport> {
                Box::new(self.0.finalize().expect("clatter finalize"))
            }
        }
    };
}
peer_impl!(Hyb);
peer_impl!(Pq);

fn clatter_side<C: Cipher + 'static, H: Hash + 'static>(
    cpat: CPattern,
    our: &HandshakePattern,
    k: &Keys,
    alice: bool,
) -> Box<dyn Peer> {
    let (me, peer) = if alice { (0, 1) } else { (1, 0) };
    let (has_s, knows_rs) = needs(our, alice);
    let psks = our
        .messages()
        .iter()
        .flat_map(|m| m.tokens())
        .filter(|t| **t == Token::Psk)
        .count();
    if our.kind() == PatternKind::Hybrid {
        let mut params = HybridHandshakeParams::<X25519, MlKem768, MlKem768>::new(cpat, alice)
            .with_prologue(b"interop prologue");
        if has_s {
            params = params.with_s(c_dh(&k.dh[me])).with_s_kem(c_kem(&k.kem[me]));
        }
        if knows_rs {
            params = params
                .with_rs(ByteArray::from_slice(k.dh[peer].public()))
                .with_rs_kem(ByteArray::from_slice(k.kem[peer].public_bytes()));
        }
        let mut hs = HybridHandshakeCore::new(params).expect("clatter hybrid handshake");
        for _ in 0..psks {
            hs.push_psk(&k.psk);
        }
        Box::new(Hyb::<C, H>(hs))
    } else {
        let s = has_s.then(|| c_kem(&k.kem[me]));
        let rs = knows_rs.then(|| ByteArray::from_slice(k.kem[peer].public_bytes()));
        let mut hs = PqHandshakeCore::new(cpat, b"interop prologue", alice, s, None, rs, None)
            .expect("clatter pq handshake");
        for _ in 0..psks {
            hs.push_psk(&k.psk);
        }
        Box::new(Pq::<C, H>(hs))
    }
}

/// One full handshake and transport exchange between hyperport (initiator
/// if `we_initiate`) and clatter.
fn run_one<P: Provider, C: Cipher + 'static, H: Hash + 'static>(
    name: &str,
    cpat: CPattern,
    cipher: &str,
    hash: &str,
    we_initiate: bool,
    seed: u64,
) {
    let dh = if name.starts_with("hybrid") {
        "25519+MLKEM768"
    } else {
        "MLKEM768"
    };
    let full = format!("Noise_{name}_{dh}_{cipher}_{hash}");
    let params = NoiseParams::parse(&full).unwrap();
    let k = keys(seed);
    let mut rng = SeededRng::from_u64(seed ^ 0x5eed);
    let mut us: HandshakeState<P> =
        ours_side(params, &k, we_initiate, &mut rng).unwrap_or_else(|e| panic!("{full}: {e}"));
    let mut them = clatter_side::<C, H>(cpat, params.pattern(), &k, !we_initiate);
    let mut buf = vec![0u8; 65535];
    let mut got = vec![0u8; 65535];
    let mut i = 0;
    while !us.is_finished() {
        let payload = format!("{full} message {i}");
        if us.is_my_turn() {
            let len = us.message_len(payload.len());
            let n = us
                .write_message(payload.as_bytes(), &mut buf)
                .unwrap_or_else(|e| panic!("{full} {i}: {e}"));
            assert_eq!(len, Some(n), "{full} {i}: message_len");
            let m = them.read(&buf[..n], &mut got);
            assert_eq!(&got[..m], payload.as_bytes(), "{full} {i}");
        } else {
            let n = them.write(payload.as_bytes(), &mut buf);
            let m = us
                .read_message(&buf[..n], &mut got)
                .unwrap_or_else(|e| panic!("{full} {i}: {e}"));
            assert_eq!(&got[..m], payload.as_bytes(), "{full} {i}");
        }
        i += 1;
    }
    assert!(them.finished(), "{full}");
    assert_eq!(
        us.handshake_hash(),
        &them.hash()[..],
        "{full}: handshake hash"
    );
    if params.pattern().kind() == PatternKind::Hybrid && !needs(params.pattern(), !we_initiate).0 {
        assert!(us.remote_static().is_none());
    }
    let mut ours_t = us.into_transport(Default::default()).unwrap();
    let mut theirs_t = them.into_transport();
    for j in 0..3 {
        let msg = format!("transport {j} from hyperport");
        let n = ours_t.write_message(msg.as_bytes(), &mut buf).unwrap();
        let m = theirs_t.receive(&buf[..n], &mut got);
        assert_eq!(&got[..m], msg.as_bytes(), "{full}");
        let msg = format!("transport {j} from clatter");
        let n = theirs_t.send(msg.as_bytes(), &mut buf);
        let m = ours_t.read_message(&buf[..n], &mut got).unwrap();
        assert_eq!(&got[..m], msg.as_bytes(), "{full}");
    }
}

fn run_all<P: Provider>(filter: fn(&str) -> bool) -> usize {
    let mut n = 0;
    for (name, cpat) in clatter_patterns() {
        if !filter(name) {
            continue;
        }
        for we_initiate in [true, false] {
            macro_rules! suites {
                ($(($c:ty, $cn:literal, $h:ty, $hn:literal)),*) => {
                    $(
                        run_one::<P, $c, $h>(name, cpat.clone(), $cn, $hn, we_initiate, n as u64);
                        n += 1;
                    )*
                };
            }
            suites!(
                (ChaChaPoly, "ChaChaPoly", Sha256, "SHA256"),
                (ChaChaPoly, "ChaChaPoly", Sha512, "SHA512"),
                (ChaChaPoly, "ChaChaPoly", Blake2s, "BLAKE2s"),
                (ChaChaPoly, "ChaChaPoly", Blake2b, "BLAKE2b"),
                (AesGcm, "AESGCM", Sha256, "SHA256"),
                (AesGcm, "AESGCM", Sha512, "SHA512"),
                (AesGcm, "AESGCM", Blake2s, "BLAKE2s"),
                (AesGcm, "AESGCM", Blake2b, "BLAKE2b")
            );
        }
    }
    n
}

#[test]
fn hybrid_patterns_interoperate_in_both_roles() {
    let hybrid = |n: &str| n.starts_with("hybrid");
    #[cfg(feature = "ring")]
    assert_eq!(run_all::<hyperport::crypto::Ring>(hybrid), 28 * 2 * 8);
    #[cfg(feature = "rustcrypto")]
    assert_eq!(run_all::<hyperport::crypto::RustCrypto>(hybrid), 28 * 2 * 8);
    #[cfg(feature = "aws-lc")]
    assert_eq!(run_all::<hyperport::crypto::AwsLc>(hybrid), 28 * 2 * 8);
}

#[test]
fn pq_patterns_interoperate_in_both_roles() {
    let pq = |n: &str| n.starts_with("pq");
    assert_eq!(
        run_all::<hyperport::crypto::DefaultProvider>(pq),
        26 * 2 * 8
    );
}
