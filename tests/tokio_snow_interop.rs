//! The tokio Noise stream adapter against snow (an independent Noise
//! implementation) over real loopback TCP, in both roles: snow is framed by
//! hand here (4-byte big-endian length + one Noise message), exactly as the
//! adapter frames, and the two exchange messages of random sizes up to
//! 65,519 bytes, every echo checked, for several patterns, ciphers and
//! hashes.

#![cfg(feature = "ring")]

use hyperport::adapters::tokio::{StreamConfig, accept, connect_tcp};
use hyperport::channel::MAX_PAYLOAD_LEN;
use hyperport::crypto::Ring as P;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::Builder;
use hyperport::rng::{RngCore, SeededRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PSK: [u8; 32] = [0x42; 32];

/// (name, initiator knows the responder's key in advance, uses a PSK at 3).
const CASES: &[(&str, bool, bool)] = &[
    ("Noise_XX_25519_ChaChaPoly_BLAKE2s", false, false),
    ("Noise_XX_25519_AESGCM_SHA256", false, false),
    ("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, false),
    ("Noise_XXpsk3_25519_ChaChaPoly_SHA512", false, true),
];

async fn write_frame(s: &mut TcpStream, msg: &[u8]) {
    let mut wire = (msg.len() as u32).to_be_bytes().to_vec();
    wire.extend_from_slice(msg);
    s.write_all(&wire).await.unwrap();
}

/// `None` at a clean end of stream.
async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut prefix = [0u8; 4];
    match s.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
        Err(e) => panic!("{e}"),
    }
    let n = u32::from_be_bytes(prefix) as usize;
    assert!(n <= 65_535, "frame of {n} bytes");
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).await.unwrap();
    Some(body)
}

/// A snow handshake over `s`, framed; returns the transport state.
async fn snow_handshake(
    s: &mut TcpStream,
    mut hs: snow::HandshakeState,
) -> (snow::TransportState, Vec<u8>, Vec<u8>) {
    let mut buf = vec![0u8; 65_535];
    let mut plain = vec![0u8; 65_535];
    while !hs.is_handshake_finished() {
        if hs.is_my_turn() {
            let n = hs.write_message(&[], &mut buf).unwrap();
            write_frame(s, &buf[..n]).await;
        } else {
            let m = read_frame(s).await.expect("stream ended in the handshake");
            hs.read_message(&m, &mut plain).unwrap();
        }
    }
    let hash = hs.get_handshake_hash().to_vec();
    let rs = hs
        .get_remote_static()
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    (hs.into_transport_mode().unwrap(), hash, rs)
}

fn snow_builder<'a>(name: &str, secret: &'a [u8; 32], psk: bool) -> snow::Builder<'a> {
    let mut b = snow::Builder::new(name.parse().unwrap())
        .local_private_key(secret)
        .unwrap();
    if psk {
        b = b.psk(3, &PSK).unwrap();
    }
    b
}

fn sizes(rng: &mut SeededRng) -> Vec<usize> {
    let mut v = vec![0, 1, MAX_PAYLOAD_LEN - 1, MAX_PAYLOAD_LEN];
    v.extend((0..60).map(|_| rng.next_u32() as usize % (MAX_PAYLOAD_LEN + 1)));
    v
}

/// hyperport initiates (`connect_tcp`); snow responds and echoes.
#[tokio::test]
async fn hyperport_initiator_against_snow_responder_over_tcp() {
    let mut rng = SeededRng::from_u64(21);
    for &(name, knows_rs, psk) in CASES {
        let ours = KeyPair::generate(&mut rng);
        let theirs = KeyPair::generate(&mut rng);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let their_secret = theirs.secret_bytes();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            let hs = snow_builder(name, &their_secret, psk)
                .build_responder()
                .unwrap();
            let (mut t, hash, rs) = snow_handshake(&mut s, hs).await;
            let mut plain = vec![0u8; 65_535];
            let mut buf = vec![0u8; 65_535];
            let mut n = 0;
            while let Some(m) = read_frame(&mut s).await {
                let k = t.read_message(&m, &mut plain).unwrap();
                let c = t.write_message(&plain[..k], &mut buf).unwrap();
                write_frame(&mut s, &buf[..c]).await;
                n += 1;
            }
            (hash, rs, n)
        });
        let mut b = Builder::from_name(name).unwrap().local_static(ours.clone());
        if knows_rs {
            b = b.remote_static(*theirs.public());
        }
        if psk {
            b = b.psk(3, PSK);
        }
        let hs = b.build_initiator::<P>(&mut rng).unwrap();
        let cfg = StreamConfig::new().require_remote_static(*theirs.public());
        let mut stream = connect_tcp(addr, hs, &cfg).await.unwrap();
        let sizes = sizes(&mut rng);
        for &len in &sizes {
            let mut msg = vec![0u8; len];
            rng.fill_bytes(&mut msg);
            stream.send(&msg).await.unwrap();
            let echo = stream.recv().await.unwrap().unwrap();
            assert!(echo[..] == msg[..], "{name}: echo of {len} bytes differs");
        }
        stream.close().await.unwrap();
        assert!(stream.recv().await.unwrap().is_none());
        let (hash, rs, n) = server.await.unwrap();
        assert_eq!(stream.handshake_hash(), &hash[..], "{name}");
        assert_eq!(&rs[..], ours.public(), "{name}");
        assert_eq!(stream.remote_static(), Some(theirs.public()));
        assert_eq!(n, sizes.len());
    }
}

/// snow initiates; hyperport accepts and echoes.
#[tokio::test]
async fn snow_initiator_against_hyperport_responder_over_tcp() {
    let mut rng = SeededRng::from_u64(22);
    for &(name, knows_rs, psk) in CASES {
        let ours = KeyPair::generate(&mut rng);
        let theirs = KeyPair::generate(&mut rng);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut b = Builder::from_name(name).unwrap().local_static(ours.clone());
        if psk {
            b = b.psk(3, PSK);
        }
        let hs = b.build_responder::<P>(&mut rng).unwrap();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            sock.set_nodelay(true).unwrap();
            let mut stream = accept(sock, hs, &StreamConfig::new()).await.unwrap();
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
        let their_secret = theirs.secret_bytes();
        let our_public = *ours.public();
        let mut sb = snow_builder(name, &their_secret, psk);
        if knows_rs {
            sb = sb.remote_public_key(&our_public).unwrap();
        }
        let (mut t, hash, rs) = snow_handshake(&mut s, sb.build_initiator().unwrap()).await;
        assert_eq!(&rs[..], ours.public(), "{name}");
        let mut buf = vec![0u8; 65_535];
        let mut plain = vec![0u8; 65_535];
        let sizes = sizes(&mut rng);
        for &len in &sizes {
            let mut msg = vec![0u8; len];
            rng.fill_bytes(&mut msg);
            let c = t.write_message(&msg, &mut buf).unwrap();
            write_frame(&mut s, &buf[..c]).await;
            let back = read_frame(&mut s).await.expect("echo");
            let k = t.read_message(&back, &mut plain).unwrap();
            assert!(plain[..k] == msg[..], "{name}: echo of {len} bytes differs");
        }
        s.shutdown().await.unwrap();
        assert!(read_frame(&mut s).await.is_none());
        let (our_hash, our_rs, n) = server.await.unwrap();
        assert_eq!(our_hash, hash, "{name}");
        assert_eq!(our_rs, Some(*theirs.public()), "{name}");
        assert_eq!(n, sizes.len());
    }
}
