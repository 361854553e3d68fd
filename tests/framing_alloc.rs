//! Decoding allocates nothing per frame: a counting global allocator proves
//! that, after setup, decoding N frames (whole, split, and byte by byte) and
//! encoding them performs zero heap allocations.

use hyperport::framing::datagram::Repr;
use hyperport::framing::{Config, Decoder, Encoder};

mod alloc_counter;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

const FRAMES: usize = 2_000;

/// Decodes `wire` in `chunk`-byte chunks; returns (frames, body bytes).
fn decode_all<S: AsMut<[u8]>>(
    decoder: &mut Decoder<S>,
    wire: &[u8],
    chunk: usize,
) -> (usize, usize) {
    let mut frames = 0;
    let mut bytes = 0;
    for c in wire.chunks(chunk) {
        let mut input = c;
        while let Some(frame) = decoder.handle_input(&mut input).expect("valid stream") {
            frames += 1;
            bytes += frame.len();
        }
    }
    (frames, bytes)
}

// Only allocations made by this test's thread are counted (see `alloc_counter`).
#[test]
fn decoding_and_encoding_frames_allocates_nothing() {
    // The counter is live: an allocation on this thread is seen.
    let probe = alloc_counter::allocations();
    std::hint::black_box(Box::new(1u64));
    assert!(
        alloc_counter::allocations() > probe,
        "counting allocator not installed"
    );

    // Setup (allowed to allocate): the wire image and the decoder storage.
    let config = Config::new().with_max_frame_len(2048);
    let encoder = Encoder::new(config);
    let mut wire = vec![0u8; FRAMES * (4 + 2048)];
    let mut len = 0;
    let mut expected_bytes = 0;
    for i in 0..FRAMES {
        let body_len = (i * 131) % 2049;
        len += encoder.encode_prefix(body_len, &mut wire[len..]).unwrap() + body_len;
        expected_bytes += body_len;
    }
    let wire = &wire[..len];
    let mut heap_decoder = Decoder::new(config, vec![0u8; 2048]).unwrap();
    let mut static_decoder = Decoder::new(config, [0u8; 2048]).unwrap();
    let mut out = [0u8; 4 + 2048];
    let body = [7u8; 2048];
    let mut header = [0u8; 64];

    let before = alloc_counter::allocations();
    let mut total = (0, 0);
    for chunk in [1, 3, 4096, 65_536, len] {
        let (f, b) = decode_all(&mut heap_decoder, wire, chunk);
        let (f2, b2) = decode_all(&mut static_decoder, wire, chunk);
        assert_eq!((f, b), (f2, b2));
        total.0 += f;
        total.1 += b;
    }
    // The direct-read path: bodies read straight into storage.
    let (mut frames, mut pos) = (0, 0);
    while pos < wire.len() {
        let read = 512.min(wire.len() - pos);
        if let Some(dst) = heap_decoder.body_remaining_mut() {
            let n = read.min(dst.len());
            dst[..n].copy_from_slice(&wire[pos..pos + n]);
            pos += n;
            frames += heap_decoder.handle_filled(n).unwrap().is_some() as usize;
            continue;
        }
        let mut input = &wire[pos..pos + read];
        pos += read;
        while heap_decoder.handle_input(&mut input).unwrap().is_some() {
            frames += 1;
        }
    }
    assert_eq!(frames, FRAMES);
    for i in 0..FRAMES {
        let n = encoder.encode_frame(&body[..i % 2049], &mut out).unwrap();
        std::hint::black_box(&out[..n]);
        let repr = Repr::TransportData {
            receiver_index: i as u32,
            counter: i as u64,
        };
        repr.emit(&mut header).unwrap();
        assert_eq!(Repr::parse_datagram(&header).unwrap().0, repr);
    }
    let after = alloc_counter::allocations();

    assert_eq!(total, (5 * FRAMES, 5 * expected_bytes));
    assert_eq!(
        after - before,
        0,
        "decoding {} frames allocated",
        5 * FRAMES
    );
}
