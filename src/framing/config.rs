//! Tunables of the stream framing machine.

/// Default [`Config::max_frame_len`]: 64 KiB (65 536 body bytes).
///
/// Large enough for any UDP-sized or Noise-sized message (a Noise message is
/// at most 65 535 bytes), small enough that the accumulation storage of one
/// connection costs 64 KiB.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 64 * 1024;

/// Stream framing configuration, shared by [`Decoder`](super::Decoder) and
/// [`Encoder`](super::Encoder).
///
/// Build it with [`Config::new`] (or `Default`) and the `with_*` setters.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Largest accepted frame body, in bytes, not counting the 4-byte prefix.
    ///
    /// Default [`DEFAULT_MAX_FRAME_LEN`] (64 KiB). A prefix declaring more is
    /// rejected by the decoder as soon as the prefix is complete, before any
    /// body byte is read, and refused by the encoder.
    ///
    /// Memory: the decoder needs caller storage of at least this many bytes
    /// (frames split across input chunks are accumulated there), so the
    /// worst-case memory of one decoder is `max_frame_len` bytes of storage
    /// plus a few words of state. Any value up to `u32::MAX` is allowed.
    pub max_frame_len: u32,
}

impl Config {
    /// The default configuration: `max_frame_len` = [`DEFAULT_MAX_FRAME_LEN`].
    pub const fn new() -> Self {
        Config {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }

    /// Sets [`Config::max_frame_len`].
    #[must_use]
    pub const fn with_max_frame_len(mut self, max_frame_len: u32) -> Self {
        self.max_frame_len = max_frame_len;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}
