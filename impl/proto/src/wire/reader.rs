//! A bounds-checked cursor over a byte slice that remembers absolute offsets.
//!
//! Every read is checked, so decoding never indexes out of range (and so never panics), and every
//! error can name the offset of the octet at fault counted from the start of the message, even
//! inside encapsulated options (RFC 3315 §22.1 TLVs nested in IA_NA, CLIENT_DATA, ...).

use super::error::DecodeError;

/// A cursor over `buf`, whose first octet sits at offset `base` of the whole message.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole message (offsets start at 0).
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// Absolute offset of the next octet to read.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Octets left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Take the next `n` octets, or report `what` as truncated.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                what,
                offset: self.offset(),
                needed: n,
                available: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Take everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// A sub-reader over the next `n` octets (an option's data), advancing past them.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let base = self.offset();
        let buf = self.take(n, what)?;
        Ok(Reader { buf, pos: 0, base })
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn array16(&mut self, what: &'static str) -> Result<[u8; 16], DecodeError> {
        let b = self.take(16, what)?;
        let mut out = [0u8; 16];
        out.copy_from_slice(b);
        Ok(out)
    }
}

/// Write a big-endian `u16` length at `at`, which the caller reserved earlier (the "length
/// prefixed" guard of the rustls/quinn codec shape, without the drop magic).
pub(crate) fn patch_u16(out: &mut [u8], at: usize, value: u16) {
    out[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked_and_offsets_absolute() {
        let bytes = [0, 1, 2, 3, 4, 5, 6, 7];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u16("a").unwrap(), 0x0001);
        let mut s = r.sub(4, "sub").unwrap();
        assert_eq!(s.offset(), 2);
        assert_eq!(s.u24("b").unwrap(), 0x020304);
        assert_eq!(
            s.u32("c"),
            Err(DecodeError::Truncated {
                what: "c",
                offset: 5,
                needed: 4,
                available: 1
            })
        );
        assert_eq!(r.remaining(), 2);
        assert_eq!(r.rest(), &[6, 7]);
    }
}
