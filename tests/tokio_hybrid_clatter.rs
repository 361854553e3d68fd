//! The tokio Noise stream adapter with a hybrid X25519 + ML-KEM-768
//! handshake against clatter (an independent implementation of the same
//! patterns) over real loopback TCP, framed by hand here (4-byte big-endian
//! length + one Noise message, as the adapter frames), in both roles:
//! hybridXX with hyperport initiating and pinning both of clatter's static
//! keys, hybridIK with clatter initiating and hyperport pinning both of its
//! keys, messages of random sizes up to 65,519 bytes echoed and checked;
//! and a pin whose ML-KEM key is wrong (its X25519 key right) refused by
//! the adapter before it sends its own static key.
//!
//! clatter mixes a prologue into the handshake hash only when one is set;
//! Noise (and hyperport, whose default prologue is empty) always mixes it,
//! empty or not. So clatter is given the empty prologue explicitly: without
//! `with_prologue(b"")` the two disagree from the first message.

#![cfg(all(feature = "ring", feature = "mlkem"))]

use clatter::bytearray::ByteArray;
use clatter::crypto::cipher::ChaChaPoly;
use clatter::crypto::dh::X25519;
use clatter::crypto::hash::Blake2s;
use clatter::crypto::kem::rust_crypto_ml_kem::MlKem768;
use clatter::handshakepattern as cp;
use clatter::traits::{Dh, Handshaker, Kem};
use clatter::{HybridHandshakeCore, HybridHandshakeParams};

use hyperport::adapters::tokio::{StreamConfig, StreamError, accept, connect_tcp};
use hyperport::channel::{MAX_PAYLOAD_LEN, RecvError};
use hyperport::crypto::Ring as P;
use hyperport::crypto::mlkem;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::Builder;
use hyperport::rng::{RngCore, SeededRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type ClatterRng = clatter::crypto::rng::DefaultRng;
type Clatter = HybridHandshakeCore<X25519, MlKem768, MlKem768, ChaChaPoly, Blake2s, ClatterRng>;
type Transport = clatter::transportstate::TransportState<ChaChaPoly, Blake2s>;

const XX: &str = "Noise_hybridXX_25519+MLKEM768_ChaChaPoly_BLAKE2s";
const IK: &str = "Noise_hybridIK_25519+MLKEM768_ChaChaPoly_BLAKE2s";

/// One side's static keys.
struct Id {
    dh: KeyPair,
    kem: mlkem::KeyPair,
}

impl Id {
    fn new(rng: &mut SeededRng) -> Id {
        Id {
            dh: KeyPair::generate(rng),
            kem: mlkem::KeyPair::generate(rng),
        }
    }

    fn c_dh(&self) -> clatter::KeyPair<<X25519 as Dh>::PubKey, <X25519 as Dh>::PrivateKey> {
        clatter::KeyPair {
            public: ByteArray::from_slice(self.dh.public()),
            secret: ByteArray::from_slice(&self.dh.secret_bytes()),
        }
    }

    fn c_kem(&self) -> clatter::KeyPair<<MlKem768 as Kem>::PubKey, <MlKem768 as Kem>::SecretKey> {
        clatter::KeyPair {
            public: ByteArray::from_slice(self.kem.public_bytes()),
            secret: ByteArray::from_slice(self.kem.secret_bytes()),
        }
    }
}

async fn write_frame(s: &mut TcpStream, msg: &[u8]) {
    let mut wire = (msg.len() as u32).to_be_bytes().to_vec();
    wire.extend_from_slice(msg);
    s.write_all(&wire).await.unwrap();
}

/// `None` at a clean end of stream (or a reset by a peer that gave up).
async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut prefix = [0u8; 4];
    s.read_exact(&mut prefix).await.ok()?;
    let n = u32::from_be_bytes(prefix) as usize;
    assert!(n <= 65_535, "frame of {n} bytes");
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).await.unwrap();
    Some(body)
}

/// clatter's handshake over `s`; `None` if the peer hung up in it.
async fn clatter_handshake(s: &mut TcpStream, mut hs: Clatter) -> Option<(Transport, Vec<u8>)> {
    let mut buf = vec![0u8; 65_535];
    let mut plain = vec![0u8; 65_535];
    while !hs.is_finished() {
        if hs.is_write_turn() {
            let n = hs.write_message(&[], &mut buf).unwrap();
            write_frame(s, &buf[..n]).await;
        } else {
            let m = read_frame(s).await?;
            hs.read_message(&m, &mut plain).unwrap();
        }
    }
    let hash = hs.get_state().get_hash().as_slice().to_vec();
    Some((hs.finalize().unwrap(), hash))
}

fn sizes(rng: &mut SeededRng) -> Vec<usize> {
    let mut v = vec![0, 1, MAX_PAYLOAD_LEN];
    v.extend((0..20).map(|_| rng.next_u32() as usize % (MAX_PAYLOAD_LEN + 1)));
    v
}

/// A clatter hybridXX responder that echoes until the peer closes; returns
/// the handshake hash and the number of echoes (`None`: no handshake).
async fn clatter_xx_echo(listener: TcpListener, id: Id) -> Option<(Vec<u8>, usize)> {
    let (mut s, _) = listener.accept().await.unwrap();
    s.set_nodelay(true).unwrap();
    let params =
        HybridHandshakeParams::<X25519, MlKem768, MlKem768>::new(cp::noise_hybrid_xx(), false)
            .with_prologue(b"")
            .with_s(id.c_dh())
            .with_s_kem(id.c_kem());
    let (mut t, hash) = clatter_handshake(&mut s, Clatter::new(params).unwrap()).await?;
    let mut plain = vec![0u8; 65_535];
    let mut buf = vec![0u8; 65_535];
    let mut n = 0;
    while let Some(m) = read_frame(&mut s).await {
        let k = t.receive(&m, &mut plain).unwrap();
        let c = t.send(&plain[..k], &mut buf).unwrap();
        write_frame(&mut s, &buf[..c]).await;
        n += 1;
    }
    Some((hash, n))
}

/// hyperport initiates hybridXX (`connect_tcp`, both of clatter's keys
/// pinned); clatter responds and echoes.
#[tokio::test]
async fn hybrid_xx_hyperport_initiator_against_clatter_responder() {
    let mut rng = SeededRng::from_u64(31);
    let ours = Id::new(&mut rng);
    let theirs = Id::new(&mut rng);
    let (their_dh, their_kem) = (*theirs.dh.public(), theirs.kem.public());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(clatter_xx_echo(listener, theirs));
    let hs = Builder::from_name(XX)
        .unwrap()
        .local_static(ours.dh.clone())
        .local_static_kem(&ours.kem)
        .build_initiator::<P>(&mut rng)
        .unwrap();
    let cfg = StreamConfig::new()
        .require_remote_static(their_dh)
        .require_remote_static_kem(their_kem);
    let mut stream = connect_tcp(addr, hs, &cfg).await.unwrap();
    let sizes = sizes(&mut rng);
    for &len in &sizes {
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        stream.send(&msg).await.unwrap();
        let echo = stream.recv().await.unwrap().unwrap();
        assert!(echo[..] == msg[..], "echo of {len} bytes differs");
    }
    stream.close().await.unwrap();
    assert!(stream.recv().await.unwrap().is_none());
    let (hash, n) = server
        .await
        .unwrap()
        .expect("clatter finished its handshake");
    assert_eq!(stream.handshake_hash(), &hash[..]);
    assert_eq!(stream.remote_static(), Some(&their_dh));
    assert_eq!(n, sizes.len());
}

/// The same with the ML-KEM pin wrong (the X25519 pin right): the adapter
/// refuses clatter's second message, so clatter never gets the third.
#[tokio::test]
async fn hybrid_xx_with_a_wrong_kem_pin_is_refused() {
    let mut rng = SeededRng::from_u64(32);
    let ours = Id::new(&mut rng);
    let theirs = Id::new(&mut rng);
    let their_dh = *theirs.dh.public();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(clatter_xx_echo(listener, theirs));
    let hs = Builder::from_name(XX)
        .unwrap()
        .local_static(ours.dh.clone())
        .local_static_kem(&ours.kem)
        .build_initiator::<P>(&mut rng)
        .unwrap();
    let cfg = StreamConfig::new()
        .require_remote_static(their_dh)
        .require_remote_static_kem(mlkem::KeyPair::generate(&mut rng).public());
    let err = connect_tcp(addr, hs, &cfg).await.expect_err("refused");
    assert!(
        matches!(err, StreamError::Recv(RecvError::UnexpectedPeer)),
        "{err}"
    );
    assert!(server.await.unwrap().is_none(), "clatter finished anyway");
}

/// clatter initiates hybridIK (it knows both of our keys); hyperport
/// accepts, pins both of clatter's keys, and echoes.
#[tokio::test]
async fn hybrid_ik_clatter_initiator_against_hyperport_responder() {
    let mut rng = SeededRng::from_u64(33);
    let ours = Id::new(&mut rng);
    let theirs = Id::new(&mut rng);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hs = Builder::from_name(IK)
        .unwrap()
        .local_static(ours.dh.clone())
        .local_static_kem(&ours.kem)
        .build_responder::<P>(&mut rng)
        .unwrap();
    let cfg = StreamConfig::new()
        .require_remote_static(*theirs.dh.public())
        .require_remote_static_kem(theirs.kem.public());
    let server = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        sock.set_nodelay(true).unwrap();
        let mut stream = accept(sock, hs, &cfg).await.unwrap();
        let mut n = 0;
        while let Some(m) = stream.recv().await.unwrap() {
            stream.send(&m).await.unwrap();
            n += 1;
        }
        stream.close().await.unwrap();
        (
            stream.handshake_hash().to_vec(),
            stream.remote_static().copied(),
            n,
        )
    });
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let params =
        HybridHandshakeParams::<X25519, MlKem768, MlKem768>::new(cp::noise_hybrid_ik(), true)
            .with_prologue(b"")
            .with_s(theirs.c_dh())
            .with_s_kem(theirs.c_kem())
            .with_rs(ByteArray::from_slice(ours.dh.public()))
            .with_rs_kem(ByteArray::from_slice(ours.kem.public_bytes()));
    let (mut t, hash) = clatter_handshake(&mut s, Clatter::new(params).unwrap())
        .await
        .expect("handshake");
    let mut buf = vec![0u8; 65_535];
    let mut plain = vec![0u8; 65_535];
    let sizes = sizes(&mut rng);
    for &len in &sizes {
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        let c = t.send(&msg, &mut buf).unwrap();
        write_frame(&mut s, &buf[..c]).await;
        let back = read_frame(&mut s).await.expect("echo");
        let k = t.receive(&back, &mut plain).unwrap();
        assert!(plain[..k] == msg[..], "echo of {len} bytes differs");
    }
    s.shutdown().await.unwrap();
    assert!(read_frame(&mut s).await.is_none());
    let (our_hash, our_rs, n) = server.await.unwrap();
    assert_eq!(our_hash, hash);
    assert_eq!(our_rs, Some(*theirs.dh.public()));
    assert_eq!(n, sizes.len());
}
