// Fuzz target `framing_decode`: arbitrary bytes fed to the stream decoder in
// arbitrary chunks; the frames and the error must equal a whole-buffer
// reference model's, and nothing may panic.
//
// Input layout: `max_frame_len` (3 bytes, big-endian, reduced modulo
// 131 073), `k` (1 byte; `k % 8 + 1` chunk sizes follow; bit 7 set: a body
// in progress is read straight into the decoder's storage through
// `body_remaining_mut`/`handle_filled`), the chunk sizes (1 byte each, 0
// meaning 4096, used cyclically), then the stream.

use hyperport::framing::{Config, DecodeError, Decoder};

/// Largest `max_frame_len` the target tries (128 KiB).
const MAX_CAP: u32 = 128 * 1024;

#[derive(Debug, PartialEq)]
enum End {
    Pending(usize),
    TooLong { declared: u32, prefix_end: usize },
}

/// Whole-buffer reference model.
fn model(stream: &[u8], max: u32) -> (Vec<&[u8]>, End) {
    let mut frames = Vec::new();
    let mut rest = stream;
    loop {
        if rest.len() < 4 {
            return (frames, End::Pending(rest.len()));
        }
        let declared = rest[..4]
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        if declared > max {
            return (
                frames,
                End::TooLong {
                    declared,
                    prefix_end: stream.len() - rest.len() + 4,
                },
            );
        }
        let n = declared as usize;
        if rest.len() - 4 < n {
            return (frames, End::Pending(rest.len()));
        }
        frames.push(&rest[4..4 + n]);
        rest = &rest[4 + n..];
    }
}

pub fn run(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let max =
        (u32::from(data[0]) << 16 | u32::from(data[1]) << 8 | u32::from(data[2])) % (MAX_CAP + 1);
    let k = usize::from(data[3] % 8) + 1;
    let direct = data[3] & 0x80 != 0;
    if data.len() < 4 + k {
        return;
    }
    let sizes: Vec<usize> = data[4..4 + k]
        .iter()
        .map(|&b| if b == 0 { 4096 } else { usize::from(b) })
        .collect();
    let stream = &data[4 + k..];

    let (want_frames, want_end) = model(stream, max);

    let mut decoder = Decoder::new(
        Config::new().with_max_frame_len(max),
        vec![0u8; max as usize],
    )
    .expect("storage of max_frame_len bytes is enough");
    let mut got = 0usize;
    let mut offset = 0usize;
    let mut sizes = sizes.iter().cycle();
    while offset < stream.len() {
        let size = (*sizes.next().expect("non-empty")).min(stream.len() - offset);
        if direct && let Some(dst) = decoder.body_remaining_mut() {
            assert!(!dst.is_empty(), "empty body slice offered");
            let n = size.min(dst.len());
            dst[..n].copy_from_slice(&stream[offset..offset + n]);
            offset += n;
            if let Some(frame) = decoder.handle_filled(n).expect("n fits") {
                assert_eq!(Some(&frame), want_frames.get(got), "frame {got} differs");
                got += 1;
            }
            continue;
        }
        let chunk = &stream[offset..offset + size];
        let mut input = chunk;
        loop {
            match decoder.handle_input(&mut input) {
                Ok(Some(frame)) => {
                    assert_eq!(Some(&frame), want_frames.get(got), "frame {got} differs");
                    got += 1;
                }
                Ok(None) => {
                    assert!(input.is_empty(), "Ok(None) left input unconsumed");
                    break;
                }
                Err(DecodeError::FrameTooLong { declared, max: m }) => {
                    assert_eq!(m, max);
                    assert_eq!(got, want_frames.len(), "error before all frames");
                    let prefix_end = offset + chunk.len() - input.len();
                    assert_eq!(
                        End::TooLong {
                            declared,
                            prefix_end
                        },
                        want_end
                    );
                    assert!(decoder.is_closed());
                    assert_eq!(decoder.handle_input(&mut input), Err(DecodeError::Closed));
                    return;
                }
                Err(e) => panic!("unexpected decoder error {e:?}"),
            }
        }
        offset += size;
    }
    assert_eq!(got, want_frames.len(), "frames missing");
    assert_eq!(End::Pending(decoder.buffered()), want_end);
    let eof = decoder.handle_eof();
    if decoder.buffered() == 0 && matches!(want_end, End::Pending(0)) {
        assert_eq!(eof, Ok(()));
    } else {
        assert!(matches!(eof, Err(DecodeError::EndedMidFrame { .. })));
    }
}
