//! Decode throughput of the framing machine next to tokio-util's
//! `LengthDelimitedCodec`, on the same wire image, in the same run.
//!
//! ```sh
//! cargo bench --bench framing
//! ```
//!
//! For 64 B, 1400 B and 64 KiB frames, a wire image of about 2 MiB is fed in
//! 4 KiB chunks. Both implementations pay the same simulated socket read:
//! each 4 KiB chunk is copied once into the implementation's buffer (for
//! tokio-util its `BytesMut`; for hyperport a 4 KiB read buffer, or, while a
//! body of at least 4 KiB more is in progress, the decoder's storage via
//! `body_remaining_mut`/`handle_filled`) and decoded from there; every
//! frame's length is summed through `black_box`. Each figure is the median of
//! `RUNS` timed passes after `WARMUP` untimed ones; the two implementations'
//! passes alternate so that both see the same machine load. A hand-rolled timer keeps
//! the build small.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hyperport::framing::{Config, Decoder};
use tokio_util::codec::{Decoder as _, LengthDelimitedCodec};

const CHUNK: usize = 4096;
const WIRE_BYTES: usize = 2 << 20;
const MAX_FRAME: u32 = 64 * 1024;
const WARMUP: usize = 3;
const RUNS: usize = 41;

fn wire(frame_len: usize) -> (Vec<u8>, usize) {
    let frames = (WIRE_BYTES / (frame_len + 4)).max(1);
    let mut wire = Vec::with_capacity(frames * (frame_len + 4));
    for i in 0..frames {
        wire.extend_from_slice(&(frame_len as u32).to_be_bytes());
        wire.extend((0..frame_len).map(|j| (i + j) as u8));
    }
    (wire, frames)
}

fn hyperport_pass(wire: &[u8], decoder: &mut Decoder<Vec<u8>>) -> (usize, usize) {
    let mut read_buf = [0u8; CHUNK];
    let (mut frames, mut bytes) = (0, 0);
    let mut pos = 0;
    while pos < wire.len() {
        let read = CHUNK.min(wire.len() - pos);
        // A large body in progress: "read" straight into the decoder's
        // storage, as a driver would (one copy, like tokio-util's read into
        // its BytesMut).
        if let Some(dst) = decoder.body_remaining_mut().filter(|d| d.len() >= CHUNK) {
            dst[..read].copy_from_slice(&wire[pos..pos + read]);
            pos += read;
            if let Some(frame) = decoder.handle_filled(read).expect("fits") {
                frames += 1;
                bytes += black_box(frame).len();
            }
            continue;
        }
        // Otherwise read into the driver's buffer and decode from there.
        let buf = &mut read_buf[..read];
        buf.copy_from_slice(&wire[pos..pos + read]);
        pos += read;
        let mut input = &buf[..];
        while let Some(frame) = decoder.handle_input(&mut input).expect("valid stream") {
            frames += 1;
            bytes += black_box(frame).len();
        }
    }
    (frames, bytes)
}

fn tokio_pass(wire: &[u8], codec: &mut LengthDelimitedCodec, buf: &mut BytesMut) -> (usize, usize) {
    let (mut frames, mut bytes) = (0, 0);
    for chunk in wire.chunks(CHUNK) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = codec.decode(buf).expect("valid stream") {
            frames += 1;
            bytes += black_box(frame).len();
        }
    }
    (frames, bytes)
}

/// Times `a` and `b` alternately (so both see the same machine load) and
/// returns the median duration of each.
fn medians(
    mut a: impl FnMut() -> (usize, usize),
    mut b: impl FnMut() -> (usize, usize),
    expect: (usize, usize),
) -> (Duration, Duration) {
    for _ in 0..WARMUP {
        assert_eq!(a(), expect);
        assert_eq!(b(), expect);
    }
    let time = |f: &mut dyn FnMut() -> (usize, usize)| {
        let t = Instant::now();
        let got = f();
        let d = t.elapsed();
        assert_eq!(got, expect);
        d
    };
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        ta.push(time(&mut a));
        tb.push(time(&mut b));
    }
    ta.sort();
    tb.sort();
    (ta[RUNS / 2], tb[RUNS / 2])
}

fn main() {
    println!(
        "framing decode, {CHUNK} B chunks, ~{} MiB per pass, median of {RUNS}",
        WIRE_BYTES >> 20
    );
    println!(
        "| frame | implementation | MB/s | frames/s | hyperport / tokio-util |\n|---|---|---:|---:|---:|"
    );
    for frame_len in [64usize, 1400, 64 * 1024] {
        let (wire, frames) = wire(frame_len);
        let expect = (frames, frames * frame_len);

        let config = Config::new().with_max_frame_len(MAX_FRAME);
        let mut decoder = Decoder::new(config, vec![0u8; MAX_FRAME as usize]).expect("storage");
        let mut codec = LengthDelimitedCodec::builder()
            .length_field_length(4)
            .big_endian()
            .max_frame_length(MAX_FRAME as usize)
            .new_codec();
        let mut buf = BytesMut::with_capacity(2 * CHUNK);
        let (ours, theirs) = medians(
            || hyperport_pass(&wire, &mut decoder),
            || tokio_pass(&wire, &mut codec, &mut buf),
            expect,
        );

        let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
        for (name, d, r) in [
            ("hyperport", ours, format!("{ratio:.2}x")),
            ("tokio-util", theirs, String::new()),
        ] {
            let secs = d.as_secs_f64();
            println!(
                "| {frame_len} B | {name} | {:.0} | {:.0} | {r} |",
                wire.len() as f64 / secs / 1e6,
                frames as f64 / secs,
            );
        }
    }
}
