//! Decoding allocates nothing per frame: a counting global allocator proves
//! that, after setup, decoding N frames (whole, split, and byte by byte) and
//! encoding them performs zero heap allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyperport::framing::datagram::Repr;
use hyperport::framing::{Config, Decoder, Encoder};

/// Counts the allocations made by the test's own thread (the test harness's
/// other threads may allocate at any time), then forwards to the system
/// allocator.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted. `const`-initialised
    /// and without a destructor, so reading it never allocates.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter is a relaxed atomic with no other effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's layout, as `GlobalAlloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` was allocated by this allocator (i.e. by `System`)
        // with `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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

// Only allocations made by this test's thread are counted (see `Counting`).
#[test]
fn decoding_and_encoding_frames_allocates_nothing() {
    COUNTED.with(|c| c.set(true));
    // The counter is live: an allocation on this thread is seen.
    let probe = ALLOCATIONS.load(Ordering::SeqCst);
    std::hint::black_box(Box::new(1u64));
    assert!(
        ALLOCATIONS.load(Ordering::SeqCst) > probe,
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

    let before = ALLOCATIONS.load(Ordering::SeqCst);
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
    let after = ALLOCATIONS.load(Ordering::SeqCst);

    assert_eq!(total, (5 * FRAMES, 5 * expected_bytes));
    assert_eq!(
        after - before,
        0,
        "decoding {} frames allocated",
        5 * FRAMES
    );
}
