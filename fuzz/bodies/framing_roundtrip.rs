// Fuzz target `framing_roundtrip`: bodies encoded with the framing encoder
// and decoded in arbitrary chunks come back identical; too-long bodies and
// too-small buffers are refused with the buffer untouched.
//
// Input layout: `max_frame_len` (2 bytes, big-endian), chunk size (1 byte,
// 0 meaning "all at once"), then bodies, each a length byte `L` (`L == 255`:
// a 2-byte big-endian length follows) and that many bytes (cut at the end of
// the input).

use hyperport::BufferTooSmall;
use hyperport::framing::{Config, Decoder, EncodeError, Encoder};

pub fn run(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let max = u32::from(u16::from_be_bytes([data[0], data[1]]));
    let chunk = usize::from(data[2]);
    let config = Config::new().with_max_frame_len(max);
    let encoder = Encoder::new(config);

    let mut bodies: Vec<&[u8]> = Vec::new();
    let mut wire = Vec::new();
    let mut rest = &data[3..];
    while let Some((&l, tail)) = rest.split_first() {
        rest = tail;
        let len = if l == 255 && rest.len() >= 2 {
            let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            rest = &rest[2..];
            n
        } else {
            usize::from(l)
        };
        let (body, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;

        let total = body.len() + 4;
        // A buffer one byte short is refused and left untouched.
        let mut short = vec![0xa5u8; total - 1];
        let refused = encoder.encode_frame(body, &mut short);
        assert!(short.iter().all(|&b| b == 0xa5), "short buffer was written");
        let mut out = vec![0x5au8; total + 1];
        let encoded = encoder.encode_frame(body, &mut out);
        if body.len() > max as usize {
            let too_long = Err(EncodeError::FrameTooLong {
                len: body.len(),
                max,
            });
            assert_eq!(refused, too_long);
            assert_eq!(encoded, too_long);
            assert!(out.iter().all(|&b| b == 0x5a));
            continue;
        }
        assert_eq!(
            refused,
            Err(EncodeError::BufferTooSmall(BufferTooSmall {
                needed: total,
                available: total - 1
            }))
        );
        assert_eq!(encoded, Ok(total));
        assert_eq!(out[total], 0x5a, "wrote past the frame");
        assert_eq!(&out[..4], &(body.len() as u32).to_be_bytes());
        wire.extend_from_slice(&out[..total]);
        bodies.push(body);
    }

    let mut decoder =
        Decoder::new(config, vec![0u8; max as usize]).expect("storage of max_frame_len bytes");
    let mut got = Vec::new();
    let size = if chunk == 0 { wire.len().max(1) } else { chunk };
    for c in wire.chunks(size) {
        let mut input = c;
        while let Some(frame) = decoder
            .handle_input(&mut input)
            .expect("encoded stream decodes")
        {
            got.push(frame.to_vec());
        }
    }
    assert_eq!(got, bodies);
    assert_eq!(decoder.handle_eof(), Ok(()));
}
