//! Framing checks: the stream decoder over a fixed storage array fed in
//! chunks, the encoder, and the datagram header codec. Expected bytes are
//! typed from the layouts in the framing module docs (4-byte big-endian
//! length prefix; the 20-byte header table), not produced by the code.

use hyperport::BufferTooSmall;
use hyperport::framing::datagram::{HEADER_LEN, Header, Repr};
use hyperport::framing::{Config, DecodeError, Decoder, EncodeError, Encoder, HeaderError};

/// Largest frame body the checks accept; also the decoder's storage.
const MAX: u32 = 16;

/// Three frames ("hello", "", a 16-byte body at the cap) then a prefix
/// declaring 17 bytes, one over the cap.
const WIRE: [u8; 4 + 5 + 4 + 4 + 16 + 4] = [
    0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', // frame 1
    0, 0, 0, 0, // frame 2: empty
    0, 0, 0, 16, b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'a', b'b', b'c',
    b'd', b'e', b'f', // frame 3: exactly max_frame_len
    0, 0, 0, 17, // over the cap
];
const FRAMES: [&[u8]; 3] = [b"hello", b"", b"0123456789abcdef"];

/// Feeds [`WIRE`] cut at `cuts` (increasing offsets), collecting frames;
/// returns how many matched [`FRAMES`] in order and the final result.
fn feed(cuts: &[usize]) -> (usize, Result<(), DecodeError>) {
    let Ok(mut dec) = Decoder::new(Config::new().with_max_frame_len(MAX), [0u8; MAX as usize])
    else {
        return (0, Ok(()));
    };
    let mut matched = 0usize;
    let mut start = 0usize;
    for &end in cuts.iter().chain(core::iter::once(&WIRE.len())) {
        let mut input = WIRE.get(start..end).unwrap_or(&[]);
        start = end;
        loop {
            match dec.handle_input(&mut input) {
                Ok(Some(frame)) => {
                    if FRAMES.get(matched) == Some(&frame) {
                        matched = matched.saturating_add(1);
                    } else {
                        return (matched, Ok(()));
                    }
                }
                Ok(None) => break,
                Err(e) => return (matched, Err(e)),
            }
        }
    }
    (matched, Ok(()))
}

pub(crate) fn decoder_chunks() -> bool {
    let want = Err(DecodeError::FrameTooLong {
        declared: 17,
        max: MAX,
    });
    // Whole input at once (zero-copy path).
    let whole = feed(&[]) == (3, want);
    // A split prefix (cut after 2 of frame 1's prefix bytes), a cut inside
    // the empty frame's prefix, a body split at 1 byte, and the over-cap
    // prefix split 3 + 1.
    let split = feed(&[2, 7, 11, 18, 19, 36]) == (3, want);
    // One byte at a time.
    let mut every = [0usize; WIRE.len() - 1];
    for (i, c) in every.iter_mut().enumerate() {
        *c = i.saturating_add(1);
    }
    let bytewise = feed(&every) == (3, want);
    whole && split && bytewise
}

pub(crate) fn decoder_closed_and_eof() -> bool {
    let Ok(mut dec) = Decoder::new(Config::new().with_max_frame_len(MAX), [0u8; MAX as usize])
    else {
        return false;
    };
    // A prefix over the cap closes the decoder; later input is refused
    // untouched.
    let mut input: &[u8] = &[0, 0, 1, 0, 0xff];
    let too_long = dec.handle_input(&mut input)
        == Err(DecodeError::FrameTooLong {
            declared: 256,
            max: MAX,
        })
        && input == [0xff];
    let closed = dec.handle_input(&mut input) == Err(DecodeError::Closed) && dec.is_closed();
    // Storage smaller than the cap is refused up front.
    let small = Decoder::new(Config::new().with_max_frame_len(MAX), [0u8; 8]).is_err();
    // End of stream inside a frame: 4 + 2 of 4 + 5 bytes.
    let Ok(mut dec) = Decoder::new(Config::new().with_max_frame_len(MAX), [0u8; MAX as usize])
    else {
        return false;
    };
    let mut part: &[u8] = &[0, 0, 0, 5, b'h', b'e'];
    let partial = dec.handle_input(&mut part) == Ok(None) && part.is_empty();
    let eof = dec.handle_eof()
        == Err(DecodeError::EndedMidFrame {
            received: 6,
            expected: 9,
        });
    too_long && closed && small && partial && eof
}

pub(crate) fn encoder() -> bool {
    let enc = Encoder::new(Config::new().with_max_frame_len(MAX));
    let mut out = [0xeeu8; 12];
    let n = enc.encode_frame(b"hello", &mut out);
    let framed = n == Ok(9) && out == [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', 0xee, 0xee, 0xee];
    let prefix = enc.prefix(0x10) == Ok([0, 0, 0, 0x10]) && enc.frame_len(16) == Ok(20);
    let too_long = enc.encode_frame(&[0; 17], &mut [0u8; 32])
        == Err(EncodeError::FrameTooLong { len: 17, max: MAX });
    // Too small an output: an error, and the buffer is untouched.
    let mut small = [0xeeu8; 8];
    let refused = matches!(
        enc.encode_frame(b"hello", &mut small),
        Err(EncodeError::BufferTooSmall(_))
    ) && small == [0xee; 8];
    framed && prefix && too_long && refused
}

pub(crate) fn datagram_header() -> bool {
    // transport-data (3), receiver index 0x0a0b0c0d, counter 0x0102..08,
    // then a 2-byte payload; big-endian per the header table.
    let wire: [u8; HEADER_LEN + 2] = [
        1, 3, 0, 0, // version, type, reserved
        0, 0, 0, 0, // sender index (unused: zero)
        0x0a, 0x0b, 0x0c, 0x0d, // receiver index
        1, 2, 3, 4, 5, 6, 7, 8, // counter
        0xca, 0xfe, // payload
    ];
    let repr = Repr::TransportData {
        receiver_index: 0x0a0b_0c0d,
        counter: 0x0102_0304_0506_0708,
    };
    let parsed = Repr::parse_datagram(&wire) == Ok((repr, &[0xca, 0xfe][..]));
    let mut out = [0u8; HEADER_LEN + 2];
    let emitted =
        repr.emit(&mut out) == Ok(HEADER_LEN) && out.get(..HEADER_LEN) == wire.get(..HEADER_LEN);
    let mut small = [0x55u8; HEADER_LEN - 1];
    let refused = repr.emit(&mut small)
        == Err(BufferTooSmall {
            needed: HEADER_LEN,
            available: HEADER_LEN - 1,
        })
        && small == [0x55; HEADER_LEN - 1];

    // handshake-response (2): sender 7, receiver 9.
    let resp = Repr::HandshakeResponse {
        sender_index: 7,
        receiver_index: 9,
    };
    let mut hdr = [0u8; HEADER_LEN];
    let resp_ok = resp.emit(&mut hdr).is_ok()
        && hdr == [1, 2, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0]
        && Header::new_checked(&hdr[..]).is_ok_and(|h| Repr::parse(&h) == Ok(resp));

    // Malformed headers: typed errors, never a panic.
    let mut bad = wire;
    bad[0] = 2;
    let version = Repr::parse_datagram(&bad) == Err(HeaderError::UnknownVersion(2));
    let mut bad = wire;
    bad[1] = 9;
    let kind = Repr::parse_datagram(&bad) == Err(HeaderError::UnknownType(9));
    let mut bad = wire;
    bad[3] = 1;
    let reserved = Repr::parse_datagram(&bad) == Err(HeaderError::ReservedNotZero(1));
    let mut bad = wire;
    bad[7] = 1; // sender index set on transport data
    let unused = matches!(
        Repr::parse_datagram(&bad),
        Err(HeaderError::UnusedFieldNotZero(_))
    );
    let short = matches!(
        Repr::parse_datagram(&wire[..HEADER_LEN - 1]),
        Err(HeaderError::Truncated(_))
    );
    parsed && emitted && refused && resp_ok && version && kind && reserved && unused && short
}
