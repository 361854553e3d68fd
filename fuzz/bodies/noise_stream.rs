// Fuzz body: the Noise stream transport's receive path after a real
// handshake.
//
// Keys come from a real `Noise_XX_25519_ChaChaPoly_BLAKE2s` handshake
// between two `HandshakeState`s (fixed seed; run once per process and
// cached, so each input is cheap). The input is then a little program: the
// sender seals payloads into a bounded queue; the receiver is handed the
// next genuine message, a tampered copy of it (one bit flipped anywhere),
// a truncated or extended copy, a message from further ahead in the queue
// (reordering), or arbitrary bytes, through the copying or the in-place
// API, with output buffers of any size. The first byte picks the automatic
// rekey interval (none, or every 1 to 7 messages) and the cipher state is
// checked against a reference model:
//
// * until the first failure, exactly the genuine messages in order are
//   accepted, each yielding the payload that was sealed;
// * a too-small output buffer is `BufferTooSmall` and changes nothing;
// * every other wrong delivery is `Decrypt`, after which every read is
//   `Broken` (a stream that saw a failed decryption ends), and so is every
//   write of an unsplit transport;
// * nothing panics.

use std::collections::VecDeque;
use std::sync::OnceLock;

use hyperport::crypto::x25519::KeyPair;
use hyperport::crypto::{DefaultProvider, Digest};
use hyperport::noise::cipher::SplitKeys;
use hyperport::noise::transport::{Config, Transport, TransportError};
use hyperport::noise::{Builder, HandshakeState};
use hyperport::rng::SeededRng;

type P = DefaultProvider;

/// Largest number of sealed messages waiting for delivery.
const QUEUE: usize = 16;
/// Longest payload sealed or arbitrary message delivered.
const MAX_LEN: usize = 300;

struct Handshake {
    c1: [u8; 32],
    c2: [u8; 32],
    h: Vec<u8>,
}

/// One real XX handshake (both sides), its split keys kept for every input.
fn handshake() -> &'static Handshake {
    static HS: OnceLock<Handshake> = OnceLock::new();
    HS.get_or_init(|| {
        let name = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
        let mut rng = SeededRng::from_u64(0x5eed);
        let mut i: HandshakeState<P> = Builder::from_name(name)
            .expect("name")
            .local_static(KeyPair::generate(&mut rng))
            .build_initiator(&mut rng)
            .expect("initiator");
        let mut r: HandshakeState<P> = Builder::from_name(name)
            .expect("name")
            .local_static(KeyPair::generate(&mut rng))
            .build_responder(&mut rng)
            .expect("responder");
        let (mut msg, mut out) = ([0u8; 256], [0u8; 256]);
        let mut turn = true;
        while !i.is_finished() {
            let (w, rd) = if turn {
                (&mut i, &mut r)
            } else {
                (&mut r, &mut i)
            };
            let n = w.write_message(b"", &mut msg).expect("write");
            rd.read_message(&msg[..n], &mut out).expect("read");
            turn = !turn;
        }
        let keys = i.split().expect("finished");
        Handshake {
            c1: *keys.initiator_to_responder().as_bytes(),
            c2: *keys.responder_to_initiator().as_bytes(),
            h: keys.handshake_hash().as_bytes().to_vec(),
        }
    })
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

pub fn run(data: &[u8]) {
    let mut input = Input(data);
    let Some(first) = input.byte() else {
        return;
    };
    let config = Config {
        rekey_after_messages: match first % 8 {
            0 => None,
            k => Some(u64::from(k)),
        },
    };
    let hs = handshake();
    let keys = |initiator| {
        SplitKeys::new(
            hs.c1,
            hs.c2,
            hyperport::crypto::AeadAlgorithm::ChaCha20Poly1305,
            Digest::from_slice(&hs.h),
            initiator,
        )
    };
    let mut tx = Transport::<P>::new(keys(true), config);
    let mut rx = Transport::<P>::new(keys(false), config);
    // Sealed (payload, message) pairs not yet delivered, oldest first.
    let mut queue: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
    let mut accepted = 0u64;
    let mut broken = false;
    let mut out = vec![0u8; MAX_LEN + 64];
    while let Some(op) = input.byte() {
        // What the receiver is handed, and whether it is the genuine next
        // message (`Some(payload)`).
        let (msg, genuine): (Vec<u8>, Option<Vec<u8>>) = match op % 8 {
            0 | 1 => {
                if queue.len() < QUEUE {
                    let len = usize::from(input.byte().unwrap_or(0)) % MAX_LEN;
                    let payload = input.bytes(len).to_vec();
                    let mut wire = vec![0u8; payload.len() + 16];
                    let n = tx.write_message(&payload, &mut wire).expect("seal");
                    wire.truncate(n);
                    queue.push_back((payload, wire));
                }
                continue;
            }
            2 | 3 => match queue.pop_front() {
                Some((p, m)) => (m, Some(p)),
                None => continue,
            },
            4 => match queue.front() {
                // One bit flipped anywhere in the next message.
                Some((_, m)) => {
                    let mut bad = m.clone();
                    let bit = usize::from(input.u16().unwrap_or(0)) % (bad.len() * 8);
                    bad[bit / 8] ^= 1 << (bit % 8);
                    (bad, None)
                }
                None => continue,
            },
            5 => match queue.front() {
                // Truncated or extended by a few bytes.
                Some((_, m)) => {
                    let k = input.byte().unwrap_or(0);
                    let mut bad = m.clone();
                    if k & 0x80 == 0 {
                        bad.truncate(bad.len().saturating_sub(usize::from(k % 17) + 1));
                    } else {
                        bad.extend(std::iter::repeat_n(k, usize::from(k % 5) + 1));
                    }
                    (bad, None)
                }
                None => continue,
            },
            6 => {
                // A later message first (reordering), if there is one.
                let k = usize::from(input.byte().unwrap_or(0));
                if queue.len() < 2 {
                    continue;
                }
                (queue[1 + k % (queue.len() - 1)].1.clone(), None)
            }
            _ => {
                let len = usize::from(input.byte().unwrap_or(0)) % MAX_LEN;
                (input.bytes(len).to_vec(), None)
            }
        };
        // Output buffer: usually big enough, sometimes one byte short.
        let short = input.byte().unwrap_or(0) % 16 == 0;
        let plain_len = msg.len().saturating_sub(16);
        let in_place = op & 0x40 != 0;
        let got = if short && plain_len > 0 {
            let r = rx.read_message(&msg, &mut out[..plain_len - 1]);
            if !broken && msg.len() >= 16 {
                assert!(
                    matches!(r, Err(TransportError::BufferTooSmall(_))),
                    "short buffer: {r:?}"
                );
                assert_eq!(
                    rx.receiving_nonce(),
                    accepted,
                    "short buffer moved the nonce"
                );
                if let Some(p) = genuine {
                    queue.push_front((p, msg));
                }
                continue;
            }
            r
        } else if in_place {
            let mut buf = msg.clone();
            rx.read_message_in_place(&mut buf).inspect(|&n| {
                out[..n].copy_from_slice(&buf[..n]);
            })
        } else {
            rx.read_message(&msg, &mut out)
        };
        match (broken, genuine) {
            (true, _) => assert_eq!(got, Err(TransportError::Broken), "broken stream read"),
            (false, Some(payload)) => {
                let n = got.expect("the genuine next message must open");
                assert_eq!(&out[..n], &payload[..], "wrong payload");
                accepted += 1;
            }
            (false, None) => {
                assert!(
                    got.is_err() || msg.len() > 65535,
                    "a wrong message was accepted"
                );
                if msg.len() <= 65535 {
                    assert_eq!(got, Err(TransportError::Decrypt), "wrong message");
                    broken = true;
                }
            }
        }
        assert_eq!(rx.is_broken(), broken);
        assert_eq!(
            rx.receiving_nonce(),
            accepted,
            "nonce moved without success"
        );
        if broken {
            let mut w = [0u8; 32];
            assert_eq!(rx.write_message(b"x", &mut w), Err(TransportError::Broken));
        }
    }
}
