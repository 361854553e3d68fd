//! Checked reading and writing over byte slices.
//!
//! [`Reader`] is a cursor over `&[u8]` whose every read is bounds-checked and
//! returns [`Truncated`] instead of panicking. [`Writer`] is a cursor over a
//! caller's `&mut [u8]`; every write is checked first and a write that does not
//! fit returns [`BufferTooSmall`] and leaves the buffer and the cursor exactly
//! as they were. Encoders that write several fields call [`Writer::ensure`]
//! with the total length before the first field, so a too-small buffer is
//! detected before any byte is written.
//!
//! Integers are big-endian ("network order") unless the method name says `le`.

use crate::error::{BufferTooSmall, Truncated};

/// A bounds-checked read cursor over a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub const fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Consumes and returns the next `n` bytes.
    ///
    /// # Errors
    /// [`Truncated`] if fewer than `n` bytes remain; nothing is consumed.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated {
            needed: n,
            available: self.remaining(),
        })?;
        match self.buf.get(self.pos..end) {
            Some(s) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(Truncated {
                needed: n,
                available: self.remaining(),
            }),
        }
    }

    /// Consumes all remaining bytes.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let r = self.rest();
        self.pos = self.buf.len();
        r
    }

    /// Consumes the next `N` bytes as an array.
    ///
    /// # Errors
    /// [`Truncated`] if fewer than `N` bytes remain; nothing is consumed.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`Truncated`] at the end of input.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`Truncated`] if fewer than 2 bytes remain.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// [`Truncated`] if fewer than 4 bytes remain.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// [`Truncated`] if fewer than 8 bytes remain.
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    ///
    /// # Errors
    /// [`Truncated`] if fewer than 8 bytes remain.
    pub fn u64_le(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// A checked write cursor over a caller's buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer positioned at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Room left in the buffer.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Checks that `n` more bytes fit, without writing anything.
    ///
    /// # Errors
    /// [`BufferTooSmall`] naming the total size the buffer would need.
    pub fn ensure(&self, n: usize) -> Result<(), BufferTooSmall> {
        if n <= self.remaining() {
            Ok(())
        } else {
            Err(BufferTooSmall {
                needed: self.pos.saturating_add(n),
                available: self.buf.len(),
            })
        }
    }

    /// Appends `bytes`.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if they do not fit; nothing is written.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), BufferTooSmall> {
        self.ensure(bytes.len())?;
        let end = self.pos.saturating_add(bytes.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
                Ok(())
            }
            None => Err(BufferTooSmall {
                needed: end,
                available: self.buf.len(),
            }),
        }
    }

    /// Appends one byte.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if the buffer is full.
    pub fn u8(&mut self, v: u8) -> Result<(), BufferTooSmall> {
        self.put(&[v])
    }

    /// Appends a big-endian `u16`.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if 2 bytes do not fit; nothing is written.
    pub fn u16(&mut self, v: u16) -> Result<(), BufferTooSmall> {
        self.put(&v.to_be_bytes())
    }

    /// Appends a big-endian `u32`.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if 4 bytes do not fit; nothing is written.
    pub fn u32(&mut self, v: u32) -> Result<(), BufferTooSmall> {
        self.put(&v.to_be_bytes())
    }

    /// Appends a big-endian `u64`.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if 8 bytes do not fit; nothing is written.
    pub fn u64(&mut self, v: u64) -> Result<(), BufferTooSmall> {
        self.put(&v.to_be_bytes())
    }

    /// Appends a little-endian `u64`.
    ///
    /// # Errors
    /// [`BufferTooSmall`] if 8 bytes do not fit; nothing is written.
    pub fn u64_le(&mut self, v: u64) -> Result<(), BufferTooSmall> {
        self.put(&v.to_le_bytes())
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }

    /// Mutable access to the unwritten tail (for in-place encryption), and
    /// marks `n` of its bytes as written via [`Writer::advance`].
    pub fn tail_mut(&mut self) -> &mut [u8] {
        let pos = self.pos;
        self.buf.get_mut(pos..).unwrap_or(&mut [])
    }

    /// Marks `n` bytes of the tail as written (after filling them through
    /// [`Writer::tail_mut`]).
    ///
    /// # Errors
    /// [`BufferTooSmall`] if fewer than `n` bytes remain; the cursor does not move.
    pub fn advance(&mut self, n: usize) -> Result<(), BufferTooSmall> {
        self.ensure(n)?;
        self.pos = self.pos.saturating_add(n);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reads_big_endian_and_reports_truncation() {
        let data = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07];
        let mut r = Reader::new(&data);
        assert_eq!(r.u8(), Ok(0x01));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.position(), 3);
        assert_eq!(r.u32(), Ok(0x0405_0607));
        assert!(r.is_empty());
        assert_eq!(
            r.u8(),
            Err(Truncated {
                needed: 1,
                available: 0
            })
        );
        assert_eq!(r.position(), 7);
    }

    #[test]
    fn reader_failed_read_consumes_nothing() {
        let data = [0xaa, 0xbb, 0xcc];
        let mut r = Reader::new(&data);
        assert_eq!(
            r.u32(),
            Err(Truncated {
                needed: 4,
                available: 3
            })
        );
        assert_eq!(r.position(), 0);
        assert_eq!(
            r.take(usize::MAX),
            Err(Truncated {
                needed: usize::MAX,
                available: 3
            })
        );
        assert_eq!(r.u16(), Ok(0xaabb));
        assert_eq!(r.take_rest(), &[0xcc]);
    }

    #[test]
    fn writer_too_small_leaves_buffer_untouched() {
        let mut buf = [0x55u8; 5];
        let mut w = Writer::new(&mut buf);
        w.u16(0x0102).unwrap();
        assert_eq!(
            w.u32(0xdead_beef),
            Err(BufferTooSmall {
                needed: 6,
                available: 5
            })
        );
        assert_eq!(w.position(), 2);
        assert_eq!(
            w.ensure(4),
            Err(BufferTooSmall {
                needed: 6,
                available: 5
            })
        );
        w.u8(9).unwrap();
        assert_eq!(w.written(), &[1, 2, 9]);
        assert_eq!(buf, [1, 2, 9, 0x55, 0x55]);
    }

    #[test]
    fn writer_tail_and_advance() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.tail_mut()[..2].copy_from_slice(&[7, 8]);
        w.advance(2).unwrap();
        assert!(w.advance(3).is_err());
        assert_eq!(w.position(), 2);
        w.u16(0x0a0b).unwrap();
        assert_eq!(buf, [7, 8, 0x0a, 0x0b]);
    }
}
