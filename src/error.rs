//! Small errors shared by several machines.
//!
//! Each operation has its own `#[non_exhaustive]` error enum in its module;
//! the two here are the building blocks those enums wrap.

use core::fmt;

/// The caller's output buffer cannot hold what was to be written.
///
/// Nothing was written and no state changed: retry with a buffer of at least
/// `needed` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// Bytes the buffer would need in total.
    pub needed: usize,
    /// Bytes the buffer has.
    pub available: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "output buffer too small: {} bytes needed, {} available; nothing was written, retry with a larger buffer",
            self.needed, self.available
        )
    }
}

impl core::error::Error for BufferTooSmall {}

/// Input ended before a complete field could be read.
///
/// From the network this means a truncated or malformed message: drop it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated {
    /// Bytes the field needed.
    pub needed: usize,
    /// Bytes that were left.
    pub available: usize,
}

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "input truncated: field needs {} bytes, {} left",
            self.needed, self.available
        )
    }
}

impl core::error::Error for Truncated {}
