//! LEB128 varints: the encoding of every number stream in a model file ([`crate::format`]) and
//! of the counts the index build reads straight from the file.

use crate::error::{Error, Result};

/// Appends `v` as an LEB128 varint (7 bits a byte, low bits first).
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// LEB128 reader over one stream; running out of bytes or overlong values are errors.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Result<u32> {
        // Most values are one byte; keep that path branch-light and inlined.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(b as u32);
            }
        }
        self.varint_long()
    }

    #[inline(never)]
    fn varint_long(&mut self) -> Result<u32> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(Error::corrupted("a value stream ends early"));
            };
            self.pos += 1;
            v |= ((byte & 0x7f) as u64) << shift;
            if byte < 0x80 {
                return u32::try_from(v).map_err(|_| Error::corrupted("value out of range"));
            }
            shift += 7;
            if shift > 28 {
                return Err(Error::corrupted("overlong value"));
            }
        }
    }

    pub(crate) fn finish(&self, what: &str) -> Result<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(Error::corrupted(format!("extra bytes after the {what}")))
        }
    }

    /// Where the next value starts.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// A reader that starts after the first `n` values of `buf` (a value ends at each byte
    /// below 0x80).
    ///
    /// # Errors
    /// [`Error::Corrupted`] when `buf` holds fewer values.
    pub(crate) fn skipping(buf: &'a [u8], n: usize) -> Result<Self> {
        let mut pos = 0;
        if n > 0 {
            pos = buf
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b < 0x80)
                .nth(n - 1)
                .map(|(i, _)| i + 1)
                .ok_or_else(|| Error::corrupted("a value stream ends early"))?;
        }
        Ok(Reader { buf, pos })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overlong() {
        let mut out = Vec::new();
        let vals = [0u64, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64];
        for &v in &vals {
            put(&mut out, v);
        }
        let mut r = Reader::new(&out);
        for &v in &vals {
            assert_eq!(r.varint().unwrap() as u64, v);
        }
        r.finish("test").unwrap();
        assert!(Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
            .varint()
            .is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
        let mut big = Vec::new();
        put(&mut big, u32::MAX as u64 + 1);
        assert!(Reader::new(&big).varint().is_err());
    }
}
