// Fuzz body: the framed Noise channel's receive path after a real handshake.
//
// Two channels finish a `Noise_NN_25519_ChaChaPoly_BLAKE2s` handshake with
// fixed ephemeral keys; then the input is a little program of what reaches
// the receiver `b`'s byte stream:
//
// * the next authentic frame sealed by `a` (random payload length);
// * a copy of an earlier authentic frame (a replay);
// * a tampered copy of the next authentic frame (one byte flipped), which
//   consumes that frame;
// * raw bytes (including prefixes above the cap, zero-length frames, cut
//   frames);
// fed in chunks of fuzzer-chosen sizes, through `handle_input` or straight
// into `read_buffer` / `handle_filled`, with an optional end of stream.
//
// Checked against a model written out directly:
// * while only authentic frames were fed, every one is delivered, in order,
//   with the payload that was sealed; nothing else is ever delivered;
// * once any hostile byte was fed, no message is ever delivered again: the
//   channel either waits for more bytes or is closed, and once closed every
//   receive and every send returns `Closed`;
// * an error is fatal exactly when `is_fatal` says so;
// * nothing panics.

use hyperport::channel::{Channel, FRAME_OVERHEAD, Incoming, RecvError, SendError};
use hyperport::crypto::DefaultProvider;
use hyperport::crypto::x25519::KeyPair;
use hyperport::noise::Builder;
use hyperport::rng::SeededRng;

type Ch = Channel<DefaultProvider, [u8; CAP]>;

/// The receiver's frame cap (small, so prefixes above it are easy to hit).
const CAP: usize = 2048;
/// Most frames one input may seal.
const MAX_FRAMES: usize = 64;

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

fn pair() -> (Ch, Ch) {
    const NAME: &str = "Noise_NN_25519_ChaChaPoly_BLAKE2s";
    let mut rng = SeededRng::from_u64(7);
    let ea = KeyPair::from_secret_bytes([1; 32]);
    let eb = KeyPair::from_secret_bytes([2; 32]);
    let a = Builder::from_name(NAME)
        .and_then(|b| b.fixed_ephemeral(ea).build_initiator::<DefaultProvider>(&mut rng))
        .expect("builder");
    let b = Builder::from_name(NAME)
        .and_then(|b| b.fixed_ephemeral(eb).build_responder::<DefaultProvider>(&mut rng))
        .expect("builder");
    let mut a = Channel::new(a, [0u8; CAP]).expect("storage");
    let mut b = Channel::new(b, [0u8; CAP]).expect("storage");
    let mut out = [0u8; 256];
    let mut plain = [0u8; CAP];
    for _ in 0..2 {
        for a_speaks in [true, false] {
            let (from, to) = if a_speaks { (&mut a, &mut b) } else { (&mut b, &mut a) };
            while let Some(n) = from.poll_handshake(&[], &mut out).expect("handshake write") {
                let mut input = &out[..n];
                while to.handle_input(&mut input, &mut plain).expect("handshake read").is_some() {}
            }
        }
    }
    assert!(a.is_established() && b.is_established());
    (a, b)
}

pub fn run(data: &[u8]) {
    let (mut a, mut b) = pair();
    let mut input = Input(data);
    // The receiver's byte stream, and the authentic payloads in it, in order,
    // up to the first hostile byte.
    let mut stream: Vec<u8> = Vec::new();
    let mut expected: Vec<Vec<u8>> = Vec::new();
    let mut hostile = false;
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut counter = 0u8;
    while let Some(op) = input.byte() {
        if sent.len() >= MAX_FRAMES {
            break;
        }
        match op % 5 {
            0 | 1 => {
                let len = usize::from(input.u16().unwrap_or(0)) % (CAP - FRAME_OVERHEAD + 1);
                counter = counter.wrapping_add(1);
                let payload = vec![counter; len];
                let mut out = vec![0u8; len + FRAME_OVERHEAD];
                let n = a.write_message(&payload, &mut out).expect("seal");
                let frame = out[..n].to_vec();
                if op % 5 == 1 {
                    // Tampered: one byte flipped (the prefix included).
                    let at = usize::from(input.u16().unwrap_or(0)) % frame.len();
                    let mut bad = frame.clone();
                    bad[at] ^= input.byte().unwrap_or(1).max(1);
                    stream.extend_from_slice(&bad);
                    hostile = true;
                } else {
                    stream.extend_from_slice(&frame);
                    if !hostile {
                        expected.push(payload);
                    }
                }
                sent.push(frame);
            }
            2 => {
                if let Some(frame) = sent.get(usize::from(input.byte().unwrap_or(0)) % sent.len().max(1)) {
                    stream.extend_from_slice(frame);
                    hostile = true;
                }
            }
            _ => {
                let n = usize::from(input.byte().unwrap_or(0));
                let raw = input.bytes(n);
                if !raw.is_empty() {
                    stream.extend_from_slice(raw);
                    hostile = true;
                }
            }
        }
    }
    let eof = input.0.is_empty() && data.len() % 2 == 1;

    // Feed the stream in chunks whose sizes come from the data's bytes.
    let mut plain = [0u8; CAP];
    let mut delivered: Vec<Vec<u8>> = Vec::new();
    let mut closed = false;
    let mut at = 0usize;
    let mut k = 0usize;
    while at < stream.len() && !closed {
        let size = 1 + usize::from(data.get(k % data.len().max(1)).copied().unwrap_or(0)) * 13;
        k += 1;
        let end = (at + size).min(stream.len());
        let direct = k.is_multiple_of(3);
        let result = if direct && let Some(buf) = b.read_buffer() {
            let n = buf.len().min(end - at);
            buf[..n].copy_from_slice(&stream[at..at + n]);
            at += n;
            b.handle_filled(n, &mut plain).map(|ev| ev.into_iter().collect::<Vec<_>>())
        } else {
            let mut chunk = &stream[at..end];
            let r = loop {
                match b.handle_input(&mut chunk, &mut plain) {
                    Ok(Some(Incoming::Message(n))) => delivered.push(plain[..n].to_vec()),
                    Ok(Some(other)) => panic!("handshake event after the handshake: {other:?}"),
                    Ok(None) => break Ok(Vec::new()),
                    Err(e) => break Err(e),
                }
            };
            at = end - chunk.len();
            r
        };
        match result {
            Ok(evs) => {
                for ev in evs {
                    match ev {
                        Incoming::Message(n) => delivered.push(plain[..n].to_vec()),
                        other => panic!("handshake event after the handshake: {other:?}"),
                    }
                }
            }
            Err(e) => {
                assert!(e.is_fatal(), "non-fatal receive error {e:?}: the buffers are right");
                assert!(hostile, "authentic stream refused: {e:?}");
                assert!(b.is_closed());
                closed = true;
            }
        }
    }
    assert!(
        delivered.len() <= expected.len() && delivered[..] == expected[..delivered.len()],
        "delivered something not sealed in order"
    );
    if !hostile {
        assert_eq!(delivered, expected, "an authentic frame was not delivered");
    }
    if closed {
        let mut none: &[u8] = &[0, 0, 0, 1, 0];
        assert_eq!(b.handle_input(&mut none, &mut plain), Err(RecvError::Closed));
        assert_eq!(b.write_message(b"x", &mut [0u8; 64]), Err(SendError::Closed));
        assert!(b.read_buffer().is_none());
    } else if eof {
        let r = b.handle_eof();
        if !hostile {
            assert_eq!(r, Ok(()), "an authentic stream ends on a frame boundary");
        }
    }
}
