//! The incremental stream-frame decoder.

use super::PREFIX_LEN;
use super::config::Config;
use super::error::{ConfigError, DecodeError, FillError};

/// Where the decoder is within the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a length prefix; `have` (0..4) of its bytes are in `buf`.
    Prefix { buf: [u8; PREFIX_LEN], have: usize },
    /// Accumulating a body of `len` bytes, `have` of which are in storage.
    /// Invariant: `have < len <= max`.
    Body { len: usize, have: usize },
    /// Failed or ended; no more input is accepted.
    Closed,
}

const START: State = State::Prefix {
    buf: [0; PREFIX_LEN],
    have: 0,
};

/// Incremental, allocation-free decoder of 4-byte big-endian length-prefixed
/// frames (`struct.pack('>I', len) + body`).
///
/// Feed it the bytes of a stream in whatever chunks they arrive, from one byte
/// to megabytes at a time, with [`Decoder::handle_input`]. Each call returns
/// at most one frame:
///
/// * a frame that lies entirely inside the input chunk is handed out
///   **zero-copy**, borrowing the input;
/// * a frame split across chunks is accumulated in the caller's `storage`
///   (`S: AsMut<[u8]>`: an array, a `&mut [u8]`, a `Vec<u8>`…) and handed out
///   borrowing it once complete.
///
/// # Run loop
///
/// For every chunk read from the transport, call `handle_input` until it
/// returns `Ok(None)` (the chunk is then fully consumed), using each frame
/// before the next call:
///
/// ```
/// use hyperport::framing::{Config, Decoder, DecodeError};
///
/// fn on_chunk<S: AsMut<[u8]>>(decoder: &mut Decoder<S>, chunk: &[u8]) -> Result<usize, DecodeError> {
///     let mut input = chunk;
///     let mut frames = 0;
///     while let Some(frame) = decoder.handle_input(&mut input)? {
///         // use `frame: &[u8]` here
///         frames += 1;
///     }
///     assert!(input.is_empty());
///     Ok(frames)
/// }
///
/// let mut decoder = Decoder::new(Config::new().with_max_frame_len(16), [0u8; 16])?;
/// assert_eq!(on_chunk(&mut decoder, &[0, 0, 0, 2, b'h', b'i', 0, 0])?, 1);
/// assert_eq!(on_chunk(&mut decoder, &[0, 0])?, 1); // an empty frame
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Limits and errors
///
/// * A prefix declaring more than [`Config::max_frame_len`] is rejected with
///   [`DecodeError::FrameTooLong`] as soon as its 4 bytes are read; the
///   declared length never reserves or copies anything before that check.
/// * Every error closes the decoder ([`Decoder::is_closed`]); later calls
///   return [`DecodeError::Closed`]. The stream is then out of sync and the
///   caller MUST close the connection.
/// * Frames are never truncated: a frame is handed out whole or not at all.
///   At the end of the stream, [`Decoder::handle_eof`] reports an incomplete
///   final frame.
/// * One call copies at most `max_frame_len + 4` bytes and never loops over
///   frames, so its work is bounded however the input is chunked.
#[derive(Debug)]
pub struct Decoder<S> {
    storage: S,
    /// `config.max_frame_len` as `usize`; `storage` held at least this much
    /// when the decoder was built.
    max: usize,
    config: Config,
    state: State,
}

impl<S: AsMut<[u8]>> Decoder<S> {
    /// A decoder at the start of a stream, accumulating split frames in
    /// `storage`.
    ///
    /// # Errors
    /// [`ConfigError::StorageTooSmall`] if `storage` is shorter than
    /// [`Config::max_frame_len`].
    pub fn new(config: Config, mut storage: S) -> Result<Self, ConfigError> {
        let available = storage.as_mut().len();
        let max = usize::try_from(config.max_frame_len)
            .ok()
            .filter(|&max| max <= available)
            .ok_or(ConfigError::StorageTooSmall {
                needed: config.max_frame_len,
                available,
            })?;
        Ok(Decoder {
            storage,
            max,
            config,
            state: START,
        })
    }

    /// Consumes bytes from the front of `input` and returns the next complete
    /// frame body, if any.
    ///
    /// `input` is advanced past every byte consumed:
    ///
    /// * `Ok(Some(frame))`: `input` now starts right after the frame; call
    ///   again (after using `frame`) to get the next one.
    /// * `Ok(None)`: all of `input` was consumed (it is now empty) and is held
    ///   as part of an incomplete frame; feed the next chunk.
    ///
    /// The frame borrows `input` when it lay wholly inside it (zero-copy) and
    /// the decoder's storage otherwise.
    ///
    /// # Errors
    /// Every error closes the decoder; the caller MUST close the connection.
    /// * [`DecodeError::FrameTooLong`]: a prefix declared more than
    ///   [`Config::max_frame_len`]; `input` is advanced past the prefix only.
    /// * [`DecodeError::Closed`]: an earlier call failed; `input` is untouched.
    /// * [`DecodeError::StorageChanged`]: the storage shrank (a bug in `S`).
    pub fn handle_input<'r, 'i: 'r>(
        &'r mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<&'r [u8]>, DecodeError> {
        let (len, have) = match self.state {
            State::Closed => return Err(DecodeError::Closed),
            State::Prefix { mut buf, have } => {
                let len = if have == 0 {
                    // Fast path: the whole prefix is in the input.
                    match input.split_first_chunk::<PREFIX_LEN>() {
                        Some((prefix, rest)) => {
                            *input = rest;
                            u32::from_be_bytes(*prefix)
                        }
                        None => return Ok(self.take_prefix_bytes(buf, have, input)),
                    }
                } else {
                    let need = PREFIX_LEN.saturating_sub(have);
                    let Some((part, rest)) = input.split_at_checked(need) else {
                        return Ok(self.take_prefix_bytes(buf, have, input));
                    };
                    if let Some(dst) = buf.get_mut(have..) {
                        dst.copy_from_slice(part);
                    }
                    *input = rest;
                    u32::from_be_bytes(buf)
                };
                let len = self.check_len(len)?;
                // The whole body is in the input: hand it out zero-copy.
                if let Some((body, rest)) = input.split_at_checked(len) {
                    self.state = START;
                    *input = rest;
                    return Ok(Some(body));
                }
                (len, 0)
            }
            State::Body { len, have } => (len, have),
        };
        // Accumulate (more of) a body that started in an earlier chunk or
        // does not end in this one. Invariant: have < len <= self.max.
        let take = len.saturating_sub(have).min(input.len());
        let end = have.saturating_add(take);
        // `take <= input.len()` (the `min` above), so `split_at` cannot panic;
        // `dst` below is `end - have == take` bytes long, as is `part`.
        let (part, rest) = input.split_at(take);
        let Some(dst) = self.storage.as_mut().get_mut(have..end) else {
            self.state = State::Closed;
            return Err(DecodeError::StorageChanged);
        };
        dst.copy_from_slice(part);
        *input = rest;
        if end < len {
            self.state = State::Body { len, have: end };
            return Ok(None);
        }
        self.state = START;
        match self.storage.as_mut().get(..len) {
            Some(frame) => Ok(Some(frame)),
            None => {
                self.state = State::Closed;
                Err(DecodeError::StorageChanged)
            }
        }
    }

    /// Stores the few prefix bytes of an input too short to complete the
    /// prefix. Consumes all of `input`.
    fn take_prefix_bytes<'r>(
        &mut self,
        mut buf: [u8; PREFIX_LEN],
        have: usize,
        input: &mut &[u8],
    ) -> Option<&'r [u8]> {
        let end = have.saturating_add(input.len());
        if let Some(dst) = buf.get_mut(have..end) {
            dst.copy_from_slice(input);
            self.state = State::Prefix { buf, have: end };
        }
        *input = &[];
        None
    }

    /// The unfilled part of the frame body being accumulated, for reading
    /// from the transport straight into the decoder's storage.
    ///
    /// `Some` only between frames' prefix and end, when the body started in
    /// an earlier chunk and is still incomplete (after
    /// [`Decoder::handle_input`] returned `Ok(None)` in the middle of a body).
    /// A driver receiving large frames can then read directly into this slice
    /// and call [`Decoder::handle_filled`], saving the copy from its read
    /// buffer. Worth it when the slice is at least as long as the driver's
    /// usual read; otherwise keep calling `handle_input`. The slice holds
    /// exactly the missing body bytes, so a read into it never takes bytes of
    /// the next frame.
    pub fn body_remaining_mut(&mut self) -> Option<&mut [u8]> {
        match self.state {
            State::Body { len, have } => self.storage.as_mut().get_mut(have..len),
            _ => None,
        }
    }

    /// Marks `filled` bytes at the start of [`Decoder::body_remaining_mut`]
    /// as received, and returns the frame if that completed it.
    ///
    /// # Errors
    /// [`FillError`] if `filled` exceeds the slice's length (0 when no body
    /// is in progress); nothing changes, the call was a driver bug.
    pub fn handle_filled(&mut self, filled: usize) -> Result<Option<&[u8]>, FillError> {
        let State::Body { len, have } = self.state else {
            return Err(FillError {
                filled,
                remaining: 0,
            });
        };
        let remaining = len.saturating_sub(have);
        if filled > remaining {
            return Err(FillError { filled, remaining });
        }
        let have = have.saturating_add(filled);
        if have < len {
            self.state = State::Body { len, have };
            return Ok(None);
        }
        self.state = START;
        Ok(self.storage.as_mut().get(..len))
    }

    /// Checks a declared length against the maximum; closes on failure.
    fn check_len(&mut self, declared: u32) -> Result<usize, DecodeError> {
        match usize::try_from(declared) {
            Ok(len) if len <= self.max => Ok(len),
            _ => {
                self.state = State::Closed;
                Err(DecodeError::FrameTooLong {
                    declared,
                    max: self.config.max_frame_len,
                })
            }
        }
    }

    /// Tells the decoder the stream has ended, and closes it.
    ///
    /// # Errors
    /// * [`DecodeError::EndedMidFrame`] if bytes of an incomplete frame are
    ///   held (the stream was cut inside a frame; that frame is dropped).
    /// * [`DecodeError::Closed`] if the decoder was already closed.
    pub fn handle_eof(&mut self) -> Result<(), DecodeError> {
        let state = core::mem::replace(&mut self.state, State::Closed);
        match state {
            State::Closed => Err(DecodeError::Closed),
            State::Prefix { have: 0, .. } => Ok(()),
            State::Prefix { have, .. } => Err(DecodeError::EndedMidFrame {
                received: have,
                expected: PREFIX_LEN,
            }),
            State::Body { len, have } => Err(DecodeError::EndedMidFrame {
                received: have.saturating_add(PREFIX_LEN),
                expected: len.saturating_add(PREFIX_LEN),
            }),
        }
    }
}

impl<S> Decoder<S> {
    /// The configuration the decoder was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes of an incomplete frame currently held (prefix bytes included);
    /// 0 at a frame boundary.
    pub fn buffered(&self) -> usize {
        match self.state {
            State::Prefix { have, .. } => have,
            State::Body { have, .. } => have.saturating_add(PREFIX_LEN),
            State::Closed => 0,
        }
    }

    /// Whether the decoder stands between two frames (nothing held) and is
    /// open.
    pub fn is_at_frame_boundary(&self) -> bool {
        matches!(self.state, State::Prefix { have: 0, .. })
    }

    /// Whether the decoder failed or saw the end of the stream; it then
    /// accepts no more input.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Gives the storage back (e.g. to reuse it for the next connection).
    pub fn into_storage(self) -> S {
        self.storage
    }
}
