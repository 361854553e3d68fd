//! The framing machine against an independent reference model, over random
//! streams and random chunkings; encoder buffer rules; error behaviour.

use hyperport::BufferTooSmall;
use hyperport::framing::{Config, ConfigError, DecodeError, Decoder, EncodeError, Encoder};

/// xorshift64*: a tiny deterministic generator (no dependency).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How the reference model says a stream ends.
#[derive(Debug, PartialEq)]
enum End {
    /// Clean or incomplete: this many bytes of an unfinished frame remain.
    Pending(usize),
    /// A prefix at stream offset `at` declared `declared` > max.
    TooLong { declared: u32, prefix_end: usize },
}

/// Reference model: parses the whole stream at once, the obvious way.
fn model(stream: &[u8], max: u32) -> (Vec<Vec<u8>>, End) {
    let mut frames = Vec::new();
    let mut pos = 0;
    loop {
        if stream.len() - pos < 4 {
            return (frames, End::Pending(stream.len() - pos));
        }
        let p = &stream[pos..pos + 4];
        let declared = (p[0] as u32) << 24 | (p[1] as u32) << 16 | (p[2] as u32) << 8 | p[3] as u32;
        if declared > max {
            return (
                frames,
                End::TooLong {
                    declared,
                    prefix_end: pos + 4,
                },
            );
        }
        let n = declared as usize;
        if stream.len() - pos - 4 < n {
            return (frames, End::Pending(stream.len() - pos));
        }
        frames.push(stream[pos + 4..pos + 4 + n].to_vec());
        pos += 4 + n;
    }
}

/// Feeds `stream` to a decoder in the given chunk sizes (cycled) and reports
/// what came out in the model's terms.
fn run_decoder(stream: &[u8], max: u32, chunk_sizes: &[usize]) -> (Vec<Vec<u8>>, End) {
    run_decoder_with(stream, max, chunk_sizes, false)
}

/// As [`run_decoder`]; with `direct`, a body in progress is read straight
/// into the decoder's storage (`body_remaining_mut` + `handle_filled`).
fn run_decoder_with(
    stream: &[u8],
    max: u32,
    chunk_sizes: &[usize],
    direct: bool,
) -> (Vec<Vec<u8>>, End) {
    let mut decoder = Decoder::new(
        Config::new().with_max_frame_len(max),
        vec![0u8; max as usize],
    )
    .expect("storage fits");
    let mut frames = Vec::new();
    let mut offset = 0;
    let mut sizes = chunk_sizes.iter().cycle();
    while offset < stream.len() {
        let size = (*sizes.next().unwrap()).min(stream.len() - offset);
        if direct && let Some(dst) = decoder.body_remaining_mut() {
            assert!(!dst.is_empty());
            let n = size.min(dst.len());
            dst[..n].copy_from_slice(&stream[offset..offset + n]);
            offset += n;
            if let Some(frame) = decoder.handle_filled(n).unwrap() {
                frames.push(frame.to_vec());
            }
            continue;
        }
        let chunk = &stream[offset..offset + size];
        let mut input = chunk;
        loop {
            match decoder.handle_input(&mut input) {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= max as usize);
                    frames.push(frame.to_vec());
                }
                Ok(None) => {
                    assert!(input.is_empty());
                    break;
                }
                Err(DecodeError::FrameTooLong { declared, max: m }) => {
                    assert_eq!(m, max);
                    assert!(decoder.is_closed());
                    let mut more = &[0u8][..];
                    assert_eq!(decoder.handle_input(&mut more), Err(DecodeError::Closed));
                    let prefix_end = offset + (chunk.len() - input.len());
                    return (
                        frames,
                        End::TooLong {
                            declared,
                            prefix_end,
                        },
                    );
                }
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
        offset += size;
    }
    (frames, End::Pending(decoder.buffered()))
}

fn random_stream(rng: &mut Rng, max: u32) -> Vec<u8> {
    let mut stream = Vec::new();
    let frames = rng.below(12);
    for _ in 0..frames {
        let len = match rng.below(8) {
            0 => 0,
            1 => max as usize,
            2 => max as usize + 1 + rng.below(3),
            3 => rng.below(5),
            _ => rng.below(max as usize + 1),
        };
        stream.extend_from_slice(&(len as u32).to_be_bytes());
        stream.extend((0..len).map(|_| rng.next() as u8));
    }
    // Sometimes garbage or a cut-off tail.
    match rng.below(4) {
        0 => stream.extend((0..rng.below(9)).map(|_| rng.next() as u8)),
        1 => {
            let cut = rng.below(stream.len() + 1);
            stream.truncate(cut);
        }
        _ => {}
    }
    stream
}

fn random_chunking(rng: &mut Rng) -> Vec<usize> {
    let kind = rng.below(4);
    (0..1 + rng.below(6))
        .map(|_| match kind {
            0 => 1,
            1 => 1 + rng.below(7),
            2 => 1 + rng.below(300),
            _ => 4096,
        })
        .collect()
}

#[test]
fn random_streams_and_chunkings_match_the_model() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut too_long = 0;
    let mut frames_seen = 0;
    for _ in 0..3_000 {
        let max = [0u32, 1, 7, 64, 255, 1400][rng.below(6)];
        let stream = random_stream(&mut rng, max);
        let chunks = random_chunking(&mut rng);
        let want = model(&stream, max);
        let got = run_decoder(&stream, max, &chunks);
        assert_eq!(
            got, want,
            "max {max} chunks {chunks:?} stream {stream:02x?}"
        );
        too_long += matches!(want.1, End::TooLong { .. }) as usize;
        frames_seen += want.0.len();
    }
    // The generator must exercise both outcomes.
    assert!(
        too_long > 300 && frames_seen > 3_000,
        "{too_long} {frames_seen}"
    );
}

#[test]
fn reading_straight_into_storage_matches_the_model() {
    let mut rng = Rng(0xfeed);
    let mut direct_reads = 0;
    for _ in 0..2_000 {
        let max = [1u32, 7, 64, 1400][rng.below(4)];
        let stream = random_stream(&mut rng, max);
        let chunks = random_chunking(&mut rng);
        let want = model(&stream, max);
        assert_eq!(run_decoder_with(&stream, max, &chunks, true), want);
        direct_reads += (want.0.iter().any(|f| f.len() > chunks[0])) as usize;
    }
    assert!(direct_reads > 100, "{direct_reads}");
}

#[test]
fn handle_filled_misuse_changes_nothing() {
    use hyperport::framing::FillError;
    let mut d = Decoder::new(Config::new().with_max_frame_len(8), [0u8; 8]).unwrap();
    assert!(d.body_remaining_mut().is_none());
    assert_eq!(
        d.handle_filled(1),
        Err(FillError {
            filled: 1,
            remaining: 0
        })
    );
    let mut input = &[0, 0, 0, 5, b'a'][..];
    assert_eq!(d.handle_input(&mut input), Ok(None));
    assert_eq!(d.body_remaining_mut().map(|b| b.len()), Some(4));
    assert_eq!(
        d.handle_filled(5),
        Err(FillError {
            filled: 5,
            remaining: 4
        })
    );
    d.body_remaining_mut().unwrap()[..2].copy_from_slice(b"bc");
    assert_eq!(d.handle_filled(2), Ok(None));
    assert_eq!(d.buffered(), 7);
    let mut input = &b"de"[..];
    assert_eq!(d.handle_input(&mut input), Ok(Some(&b"abcde"[..])));
    assert!(d.is_at_frame_boundary());
}

#[test]
fn random_bytes_match_the_model() {
    let mut rng = Rng(42);
    for _ in 0..3_000 {
        let max = [0u32, 3, 300, 70_000][rng.below(4)];
        // Small prefixes are likely when the top bytes are zero.
        let stream: Vec<u8> = (0..rng.below(64))
            .map(|_| {
                if rng.below(3) == 0 {
                    0
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        let chunks = random_chunking(&mut rng);
        assert_eq!(run_decoder(&stream, max, &chunks), model(&stream, max));
    }
}

#[test]
fn default_max_is_64_kib_exactly() {
    // Hand-typed: 64 KiB = 65 536 bytes is accepted, 65 537 is not.
    let mut stream = vec![0x00, 0x01, 0x00, 0x00];
    stream.extend(std::iter::repeat_n(0xab, 65_536));
    stream.extend([0x00, 0x01, 0x00, 0x01]);
    let mut decoder = Decoder::new(Config::default(), vec![0u8; 65_536]).unwrap();
    let mut frames = 0;
    let mut result = Ok(());
    'feed: for chunk in stream.chunks(4096) {
        let mut input = chunk;
        loop {
            match decoder.handle_input(&mut input) {
                Ok(Some(f)) => {
                    assert_eq!(f.len(), 65_536);
                    assert!(f.iter().all(|&b| b == 0xab));
                    frames += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(frames, 1);
    assert_eq!(
        result,
        Err(DecodeError::FrameTooLong {
            declared: 65_537,
            max: 65_536
        })
    );
}

#[test]
fn whole_frames_are_borrowed_from_the_input_split_ones_from_storage() {
    let stream = [
        0, 0, 0, 3, b'a', b'b', b'c', 0, 0, 0, 0, 0, 0, 0, 2, b'x', b'y', 0, 0, 0, 4, b'1',
    ];
    let mut storage = [0u8; 8];
    let storage_range = storage.as_ptr_range();
    let mut decoder = Decoder::new(Config::new().with_max_frame_len(8), &mut storage[..]).unwrap();
    let mut input = &stream[..];
    let in_range = input.as_ptr_range();
    for want in [&b"abc"[..], b"", b"xy"] {
        let frame = decoder.handle_input(&mut input).unwrap().unwrap();
        assert_eq!(frame, want);
        assert!(in_range.contains(&frame.as_ptr()) || frame.is_empty());
    }
    assert_eq!(decoder.handle_input(&mut input), Ok(None));
    assert_eq!(decoder.buffered(), 5);
    let mut input = &b"234"[..];
    let frame = decoder.handle_input(&mut input).unwrap().unwrap();
    assert_eq!(frame, b"1234");
    assert!(storage_range.contains(&frame.as_ptr()));
    assert!(decoder.is_at_frame_boundary());
    assert_eq!(decoder.handle_eof(), Ok(()));
    assert!(decoder.is_closed());
}

#[test]
fn storage_must_hold_max_frame_len() {
    assert_eq!(
        Decoder::new(Config::new().with_max_frame_len(100), [0u8; 99]).err(),
        Some(ConfigError::StorageTooSmall {
            needed: 100,
            available: 99
        })
    );
    assert!(Decoder::new(Config::new().with_max_frame_len(0), [0u8; 0]).is_ok());
    assert!(Decoder::new(Config::default(), vec![0u8; 65_535]).is_err());
}

#[test]
fn errors_close_the_decoder() {
    let mut d = Decoder::new(Config::new().with_max_frame_len(4), [0u8; 4]).unwrap();
    let mut input = &[0, 0, 0, 5, 1, 2, 3, 4, 5][..];
    assert_eq!(
        d.handle_input(&mut input),
        Err(DecodeError::FrameTooLong {
            declared: 5,
            max: 4
        })
    );
    // Only the prefix was consumed; the body was not touched.
    assert_eq!(input, &[1, 2, 3, 4, 5]);
    assert!(d.is_closed());
    assert_eq!(d.handle_input(&mut input), Err(DecodeError::Closed));
    assert_eq!(input.len(), 5);
    assert_eq!(d.handle_eof(), Err(DecodeError::Closed));

    // End of stream inside a prefix and inside a body.
    let mut d = Decoder::new(Config::new().with_max_frame_len(4), [0u8; 4]).unwrap();
    let mut input = &[0, 0, 0][..];
    assert_eq!(d.handle_input(&mut input), Ok(None));
    assert_eq!(
        d.handle_eof(),
        Err(DecodeError::EndedMidFrame {
            received: 3,
            expected: 4
        })
    );
    assert!(d.is_closed());
    let mut d = Decoder::new(Config::new().with_max_frame_len(4), [0u8; 4]).unwrap();
    let mut input = &[0, 0, 0, 3, 9][..];
    assert_eq!(d.handle_input(&mut input), Ok(None));
    assert_eq!(
        d.handle_eof(),
        Err(DecodeError::EndedMidFrame {
            received: 5,
            expected: 7
        })
    );
    // Every error says what to do.
    let msg = DecodeError::FrameTooLong {
        declared: 5,
        max: 4,
    }
    .to_string();
    assert!(msg.contains("close the connection"), "{msg}");
}

/// A storage whose slice shrinks after construction: a misbehaving `AsMut`.
struct Shrinking {
    buf: [u8; 8],
    calls: usize,
}
impl AsMut<[u8]> for Shrinking {
    fn as_mut(&mut self) -> &mut [u8] {
        self.calls += 1;
        if self.calls == 1 {
            &mut self.buf
        } else {
            &mut self.buf[..2]
        }
    }
}

#[test]
fn shrinking_storage_is_an_error_not_a_panic() {
    let storage = Shrinking {
        buf: [0; 8],
        calls: 0,
    };
    let mut d = Decoder::new(Config::new().with_max_frame_len(8), storage).unwrap();
    let mut input = &[0, 0, 0, 6, 1, 2, 3][..];
    assert_eq!(d.handle_input(&mut input), Err(DecodeError::StorageChanged));
    assert!(d.is_closed());
}

#[test]
fn encoder_writes_the_spec_prefix() {
    let e = Encoder::new(Config::default());
    // struct.pack('>I', n), typed by hand.
    assert_eq!(e.prefix(0), Ok([0, 0, 0, 0]));
    assert_eq!(e.prefix(1), Ok([0, 0, 0, 1]));
    assert_eq!(e.prefix(0x1234), Ok([0, 0, 0x12, 0x34]));
    assert_eq!(e.prefix(65_536), Ok([0, 1, 0, 0]));
    assert_eq!(
        e.prefix(65_537),
        Err(EncodeError::FrameTooLong {
            len: 65_537,
            max: 65_536
        })
    );
    let e = Encoder::new(Config::new().with_max_frame_len(u32::MAX));
    assert_eq!(e.prefix(u32::MAX as usize), Ok([0xff; 4]));
    assert_eq!(
        e.prefix(u32::MAX as usize + 1),
        Err(EncodeError::FrameTooLong {
            len: u32::MAX as usize + 1,
            max: u32::MAX
        })
    );
    let mut out = [0u8; 9];
    assert_eq!(e.encode_frame(b"hello", &mut out), Ok(9));
    assert_eq!(out, [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o']);
    assert_eq!(e.frame_len(5), Ok(9));
}

#[test]
fn encoder_too_small_buffer_is_untouched() {
    let e = Encoder::new(Config::new().with_max_frame_len(16));
    let mut rng = Rng(7);
    for _ in 0..500 {
        let body: Vec<u8> = (0..rng.below(20)).map(|_| rng.next() as u8).collect();
        let size = rng.below(body.len() + 6);
        let mut out = vec![0xa5u8; size];
        let frame = e.encode_frame(&body, &mut out);
        if body.len() > 16 {
            assert_eq!(
                frame,
                Err(EncodeError::FrameTooLong {
                    len: body.len(),
                    max: 16
                })
            );
            assert!(out.iter().all(|&b| b == 0xa5));
        } else if size < body.len() + 4 {
            assert_eq!(
                frame,
                Err(EncodeError::BufferTooSmall(BufferTooSmall {
                    needed: body.len() + 4,
                    available: size
                }))
            );
            assert!(out.iter().all(|&b| b == 0xa5), "buffer touched");
        } else {
            assert_eq!(frame, Ok(body.len() + 4));
            assert_eq!(&out[..4], &(body.len() as u32).to_be_bytes());
            assert_eq!(&out[4..body.len() + 4], &body[..]);
            assert!(out[body.len() + 4..].iter().all(|&b| b == 0xa5));
        }
        let mut small = vec![0xa5u8; rng.below(4)];
        let n = small.len();
        if body.len() <= 16 {
            assert_eq!(
                e.encode_prefix(body.len(), &mut small),
                Err(EncodeError::BufferTooSmall(BufferTooSmall {
                    needed: 4,
                    available: n
                }))
            );
        }
        assert!(small.iter().all(|&b| b == 0xa5));
    }
}

#[test]
fn encode_then_decode_is_identity() {
    let config = Config::new().with_max_frame_len(300);
    let e = Encoder::new(config);
    let mut rng = Rng(99);
    for _ in 0..300 {
        let bodies: Vec<Vec<u8>> = (0..rng.below(10))
            .map(|_| (0..rng.below(301)).map(|_| rng.next() as u8).collect())
            .collect();
        let mut wire = Vec::new();
        for b in &bodies {
            let mut out = vec![0; b.len() + 4];
            assert_eq!(e.encode_frame(b, &mut out), Ok(b.len() + 4));
            wire.extend_from_slice(&out);
        }
        let chunks = random_chunking(&mut rng);
        assert_eq!(run_decoder(&wire, 300, &chunks), (bodies, End::Pending(0)));
    }
}
