//! The stream-frame encoder.

use super::PREFIX_LEN;
use super::config::Config;
use super::error::EncodeError;
use crate::error::BufferTooSmall;

/// Writes 4-byte big-endian length prefixes (and optionally bodies) into
/// caller buffers.
///
/// Stateless apart from its maximum; any number of frames can be written with
/// one encoder. Every method checks everything before writing: on error the
/// output buffer is untouched.
///
/// ```
/// use hyperport::framing::{Config, Encoder, EncodeError};
///
/// let encoder = Encoder::new(Config::new());
/// let mut out = [0u8; 16];
/// let n = encoder.encode_frame(b"hi", &mut out)?;
/// assert_eq!(&out[..n], &[0, 0, 0, 2, b'h', b'i']);
/// // Or write the body yourself after a 4-byte prefix:
/// assert_eq!(encoder.prefix(2)?, [0, 0, 0, 2]);
/// # Ok::<(), EncodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoder {
    config: Config,
}

impl Encoder {
    /// An encoder refusing bodies longer than [`Config::max_frame_len`].
    pub const fn new(config: Config) -> Self {
        Encoder { config }
    }

    /// The configuration the encoder was built with.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The length prefix of a body of `body_len` bytes.
    ///
    /// # Errors
    /// [`EncodeError::FrameTooLong`] if `body_len` exceeds
    /// [`Config::max_frame_len`].
    pub fn prefix(&self, body_len: usize) -> Result<[u8; PREFIX_LEN], EncodeError> {
        match u32::try_from(body_len) {
            Ok(len) if len <= self.config.max_frame_len => Ok(len.to_be_bytes()),
            _ => Err(EncodeError::FrameTooLong {
                len: body_len,
                max: self.config.max_frame_len,
            }),
        }
    }

    /// Total encoded size (prefix + body) of a body of `body_len` bytes.
    ///
    /// # Errors
    /// [`EncodeError::FrameTooLong`] as for [`Encoder::prefix`].
    pub fn frame_len(&self, body_len: usize) -> Result<usize, EncodeError> {
        self.prefix(body_len)?;
        body_len
            .checked_add(PREFIX_LEN)
            .ok_or(EncodeError::FrameTooLong {
                len: body_len,
                max: self.config.max_frame_len,
            })
    }

    /// Writes the 4-byte prefix of a body of `body_len` bytes at the start of
    /// `out` and returns 4. The caller writes the body after it.
    ///
    /// # Errors
    /// [`EncodeError::FrameTooLong`], or [`EncodeError::BufferTooSmall`] if
    /// `out` is shorter than 4 bytes. `out` is untouched on error.
    pub fn encode_prefix(&self, body_len: usize, out: &mut [u8]) -> Result<usize, EncodeError> {
        let prefix = self.prefix(body_len)?;
        let available = out.len();
        let dst = out.get_mut(..PREFIX_LEN).ok_or(BufferTooSmall {
            needed: PREFIX_LEN,
            available,
        })?;
        dst.copy_from_slice(&prefix);
        Ok(PREFIX_LEN)
    }

    /// Writes prefix and `body` at the start of `out` and returns the number
    /// of bytes written (`body.len() + 4`).
    ///
    /// # Errors
    /// [`EncodeError::FrameTooLong`], or [`EncodeError::BufferTooSmall`] if
    /// the whole frame does not fit. `out` is untouched on error.
    pub fn encode_frame(&self, body: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
        let prefix = self.prefix(body.len())?;
        let total = self.frame_len(body.len())?;
        let available = out.len();
        let dst = out.get_mut(..total).ok_or(BufferTooSmall {
            needed: total,
            available,
        })?;
        let (dst_prefix, dst_body) = dst.split_at_mut(PREFIX_LEN);
        dst_prefix.copy_from_slice(&prefix);
        dst_body.copy_from_slice(body);
        Ok(total)
    }
}
