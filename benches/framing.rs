//! Decode throughput of the framing machine next to tokio-util's
//! `LengthDelimitedCodec`, on the same wire image, in the same run.
//!
//! ```sh
//! cargo bench --bench framing
//! ```
//!
//! For 64 B, 1400 B and 64 KiB frames, a wire image of about 8 MiB is fed in
//! 4 KiB chunks. Both implementations pay the same "socket read": each chunk
//! is copied into the implementation's read buffer (a 4 KiB array for
//! hyperport, the `BytesMut` for tokio-util) and decoded from there; every
//! frame's length is summed through `black_box`. Each figure is the median of
//! `RUNS` timed passes after `WARMUP` untimed ones. A hand-rolled timer keeps
//! the build small.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hyperport::framing::{Config, Decoder};
use tokio_util::codec::{Decoder as _, LengthDelimitedCodec};

const CHUNK: usize = 4096;
const WIRE_BYTES: usize = 8 << 20;
const MAX_FRAME: u32 = 64 * 1024;
const WARMUP: usize = 3;
const RUNS: usize = 21;

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
    for chunk in wire.chunks(CHUNK) {
        let buf = &mut read_buf[..chunk.len()];
        buf.copy_from_slice(chunk);
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

fn median(mut f: impl FnMut() -> (usize, usize), expect: (usize, usize)) -> Duration {
    for _ in 0..WARMUP {
        assert_eq!(f(), expect);
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let got = f();
            let d = t.elapsed();
            assert_eq!(got, expect);
            d
        })
        .collect();
    times.sort();
    times[RUNS / 2]
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
        let ours = median(|| hyperport_pass(&wire, &mut decoder), expect);

        let mut codec = LengthDelimitedCodec::builder()
            .length_field_length(4)
            .big_endian()
            .max_frame_length(MAX_FRAME as usize)
            .new_codec();
        let mut buf = BytesMut::with_capacity(2 * CHUNK);
        let theirs = median(|| tokio_pass(&wire, &mut codec, &mut buf), expect);

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
