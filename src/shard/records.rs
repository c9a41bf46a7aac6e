//! Sorted records in the bounded build's temporary files, each coded as its rise from the one
//! before (LEB128 varints): a level's patterns take about 4 bytes each instead of 20, and a
//! file is written once and read up to four times, so the bytes moved through the page cache,
//! not the coding, are what costs.

use std::io::{Read, Write};
use std::marker::PhantomData;

use super::build::{Temp, IO_BUF};
use super::store::{io_err, TempFile};
use crate::error::{Error, Result};

/// A record of a sorted file.
pub(super) trait Item: Copy + Ord + Send {
    /// The record before the first.
    const ZERO: Self;
    /// The most bytes a record takes.
    const MAX_BYTES: usize;
    /// Appends `self`, coded against `prev` (which a rising record is not below).
    fn encode(self, prev: Self, out: &mut Vec<u8>);
    /// The record after `prev` at `b[*at..]`, or `None` for bad bytes.
    fn decode(b: &[u8], at: &mut usize, prev: Self) -> Option<Self>;
}

#[inline]
fn put(out: &mut Vec<u8>, mut v: u128) {
    let mut b = [0u8; 19];
    let mut n = 0;
    while v >= 0x80 {
        b[n] = v as u8 | 0x80;
        v >>= 7;
        n += 1;
    }
    b[n] = v as u8;
    out.extend_from_slice(&b[..=n]);
}

#[inline(always)]
fn get(b: &[u8], at: &mut usize) -> Option<u128> {
    // A varint of up to 8 bytes, from one 8-byte load: its length from the first byte
    // without the high bit, its 7-bit groups gathered in three steps.
    if let Some(w) = b.get(*at..*at + 8) {
        let x = u64::from_le_bytes(w.try_into().unwrap_or_default());
        let stops = !x & 0x8080_8080_8080_8080;
        if stops != 0 {
            let len = (stops.trailing_zeros() / 8 + 1) as usize;
            *at += len;
            let x = if len == 8 {
                x
            } else {
                x & ((1u64 << (8 * len)) - 1)
            };
            let x = x & 0x7f7f_7f7f_7f7f_7f7f;
            let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
            let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
            let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
            return Some(x as u128);
        }
    }
    get_slow(b, at)
}

/// [`get`] byte by byte: near the end of the buffer, or beyond 8 bytes.
#[inline(never)]
fn get_slow(b: &[u8], at: &mut usize) -> Option<u128> {
    let mut v = 0u128;
    let mut shift = 0;
    loop {
        let x = *b.get(*at)?;
        *at += 1;
        if shift > 126 {
            return None;
        }
        v |= ((x & 0x7f) as u128) << shift;
        if x < 0x80 {
            return Some(v);
        }
        shift += 7;
    }
}

/// A pattern of a level: its key and its count, by rising key.
impl Item for (u128, u32) {
    const ZERO: Self = (0, 0);
    const MAX_BYTES: usize = 19 + 5;
    #[inline]
    fn encode(self, prev: Self, out: &mut Vec<u8>) {
        debug_assert!(self >= prev, "records out of order");
        put(out, self.0.wrapping_sub(prev.0));
        put(out, self.1 as u128);
    }
    #[inline(always)]
    fn decode(b: &[u8], at: &mut usize, prev: Self) -> Option<Self> {
        let key = prev.0.checked_add(get(b, at)?)?;
        let count = u32::try_from(get(b, at)?).ok()?;
        Some((key, count))
    }
}

/// A number (a suffix and a place packed together), rising: written whole, as its rises
/// (mostly a random place's) save little and cost a sort's spill more to code than to copy.
impl Item for u128 {
    const ZERO: Self = 0;
    const MAX_BYTES: usize = 16;
    #[inline]
    fn encode(self, _prev: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn decode(b: &[u8], at: &mut usize, _prev: Self) -> Option<Self> {
        let x = b.get(*at..*at + 16)?;
        *at += 16;
        Some(u128::from_le_bytes(x.try_into().ok()?))
    }
}

/// A value of a file of values in no order (a level's adjusted counts, its suffixes' places),
/// written whole.
impl Item for u32 {
    const ZERO: Self = 0;
    const MAX_BYTES: usize = 4;
    #[inline]
    fn encode(self, _prev: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline(always)]
    fn decode(b: &[u8], at: &mut usize, _prev: Self) -> Option<Self> {
        let x = b.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_le_bytes(x.try_into().ok()?))
    }
}

/// A file of records, written in order.
pub(super) struct Out<T> {
    path: TempFile,
    f: Box<dyn Write + Send>,
    buf: Vec<u8>,
    prev: T,
    n: u64,
}

impl<T: Item> Out<T> {
    /// A new file of `temp`.
    pub(super) fn create(temp: &mut Temp, what: &str) -> Result<Out<T>> {
        let (path, f) = temp.create_raw(what)?;
        Ok(Out {
            path,
            f,
            buf: Vec::with_capacity(IO_BUF + T::MAX_BYTES),
            prev: T::ZERO,
            n: 0,
        })
    }

    /// Appends `x`, which is not below the record before.
    #[inline]
    pub(super) fn put(&mut self, x: T) -> Result<()> {
        x.encode(self.prev, &mut self.buf);
        self.prev = x;
        self.n += 1;
        if self.buf.len() >= IO_BUF {
            self.flush()?;
        }
        Ok(())
    }

    #[inline(never)]
    fn flush(&mut self) -> Result<()> {
        self.f
            .write_all(&self.buf)
            .map_err(|e| io_err(&self.path, e))?;
        self.buf.clear();
        Ok(())
    }

    /// The file, written, and its records.
    pub(super) fn finish(mut self) -> Result<(TempFile, u64)> {
        self.flush()?;
        Ok((self.path, self.n))
    }
}

/// A file of records, read in order, a buffer at a time.
pub(super) struct In<T> {
    path: TempFile,
    f: Box<dyn Read + Send>,
    buf: Vec<u8>,
    at: usize,
    len: usize,
    eof: bool,
    prev: T,
    item: PhantomData<T>,
}

impl<T: Item> In<T> {
    pub(super) fn open(path: &TempFile) -> Result<In<T>> {
        In::open_sized(path, IO_BUF)
    }

    /// As [`In::open`], read `buf` bytes at a time (at least a record's).
    pub(super) fn open_sized(path: &TempFile, buf: usize) -> Result<In<T>> {
        Ok(In {
            path: path.clone(),
            f: path.open()?,
            buf: vec![0; buf.max(2 * T::MAX_BYTES)],
            at: 0,
            len: 0,
            eof: false,
            prev: T::ZERO,
            item: PhantomData,
        })
    }

    /// The next record, or `None` at the end.
    #[inline(always)]
    pub(super) fn next(&mut self) -> Result<Option<T>> {
        if self.len - self.at < T::MAX_BYTES && !self.eof {
            self.refill()?;
        }
        if self.at == self.len {
            return Ok(None);
        }
        match T::decode(&self.buf[..self.len], &mut self.at, self.prev) {
            Some(x) => {
                self.prev = x;
                Ok(Some(x))
            }
            None => Err(Error::Io(format!("{}: a record is cut or bad", self.path))),
        }
    }

    /// The next record, which must be there (the file holds one for each one asked for).
    #[inline(always)]
    pub(super) fn next_value(&mut self) -> Result<T> {
        match self.next()? {
            Some(x) => Ok(x),
            None => Err(Error::Io(format!("{}: ends early", self.path))),
        }
    }

    #[inline(never)]
    fn refill(&mut self) -> Result<()> {
        self.buf.copy_within(self.at..self.len, 0);
        self.len -= self.at;
        self.at = 0;
        while self.len < self.buf.len() {
            let n = self
                .f
                .read(&mut self.buf[self.len..])
                .map_err(|e| io_err(&self.path, e))?;
            if n == 0 {
                self.eof = true;
                break;
            }
            self.len += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written_and_bad_bytes_are_errors() {
        let dir = std::env::temp_dir().join(format!("uellm-records-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut temp = Temp::new(&super::super::store::Store::Dir(dir.clone()));
        let raw = |temp: &mut Temp, bytes: &[u8]| {
            let (file, mut w) = temp.create_raw("bad").unwrap();
            w.write_all(bytes).unwrap();
            file
        };
        // Rises of every size, equal neighbours, the largest key and count; more than a buffer.
        let mut pairs = vec![(0u128, 0u32), (0, 7), (1, u32::MAX), (1 << 64, 1)];
        let mut k = 1u128 << 64;
        for i in 1..300_000u128 {
            k += i * i * i;
            pairs.push((k, (i % 300) as u32));
        }
        pairs.push((u128::MAX, 3));
        let mut out = Out::create(&mut temp, "pairs").unwrap();
        for &x in &pairs {
            out.put(x).unwrap();
        }
        let (path, n) = out.finish().unwrap();
        assert_eq!(n, pairs.len() as u64);
        let mut r = In::<(u128, u32)>::open(&path).unwrap();
        for &x in &pairs {
            assert_eq!(r.next().unwrap(), Some(x));
        }
        assert_eq!(r.next().unwrap(), None);
        let mut out = Out::create(&mut temp, "numbers").unwrap();
        for x in [0u128, 5, 5, 1 << 100, u128::MAX] {
            out.put(x).unwrap();
        }
        let (numbers, _) = out.finish().unwrap();
        let mut r = In::<u128>::open(&numbers).unwrap();
        let read: Vec<u128> = std::iter::from_fn(|| r.next().unwrap()).collect();
        assert_eq!(read, [0, 5, 5, 1 << 100, u128::MAX]);
        // A cut record, an overlong varint, a count beyond 32 bits, a key past the largest.
        for bad in [
            &[0x80u8][..],
            &[0x80; 20][..],
            &[0, 0x80, 0x80, 0x80, 0x80, 0x10][..],
        ] {
            let path = raw(&mut temp, bad);
            let mut r = In::<(u128, u32)>::open(&path).unwrap();
            assert_eq!(r.next().unwrap_err().code(), "IO_ERROR", "{bad:?}");
        }
        let mut past = vec![0xff; 18];
        past.push(0x03);
        past.extend([0x01]);
        let numbers = raw(&mut temp, &past);
        let mut r = In::<u128>::open(&numbers).unwrap();
        assert_eq!(r.next().unwrap(), Some(u128::MAX));
        assert_eq!(r.next().unwrap_err().code(), "IO_ERROR");
        drop(temp);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
