//! Reading a shard front to back, checking every field and, at its end, the checksum (the
//! format: the [module docs](super)).

use std::io::Read;

use super::{SHARD_MAGIC, SHARD_VERSION};
use crate::error::{Error, Result};
use crate::vocab::RESERVED_TOKENS;

/// Bytes read from the source at a time.
const CHUNK: usize = 1 << 16;
/// The longest word a shard may hold (a token is at most a line, cut at 1 MiB).
const MAX_WORD: u64 = crate::config::MAX_LINE_BYTES as u64;

/// A shard being read: a buffered source whose bytes are checksummed as they are used.
pub(crate) struct Shard<R: Read> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// `buf[..hashed]` is in `crc`.
    hashed: usize,
    crc: crc32fast::Hasher,
}

/// What a shard says before its counts.
pub(crate) struct Head {
    pub order: usize,
    pub bytes: u64,
    pub sentences: u64,
    /// The words in shard order.
    pub vocab: Vec<Box<str>>,
}

fn corrupted(what: &str) -> Error {
    Error::corrupted(format!("count shard: {what}"))
}

impl<R: Read> Shard<R> {
    pub(crate) fn new(src: R) -> Self {
        Shard {
            src,
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            hashed: 0,
            crc: crc32fast::Hasher::new(),
        }
    }

    /// Reads more bytes after those not used yet; false at the end of the source.
    fn refill(&mut self) -> Result<bool> {
        self.crc.update(&self.buf[self.hashed..self.pos]);
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        self.hashed = 0;
        loop {
            match self.src.read(&mut self.buf[self.len..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.len += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(e)),
            }
        }
    }

    #[inline]
    fn byte(&mut self) -> Result<u8> {
        if self.pos == self.len && !self.refill()? {
            return Err(corrupted("it ends early (the copy is incomplete)"));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// The next LEB128 varint.
    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let low = (b & 0x7f) as u64;
            if shift == 63 && low > 1 {
                break;
            }
            v |= low << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupted("a number is too long"))
    }

    /// The next varint, at most `max`.
    #[inline]
    pub(crate) fn at_most(&mut self, max: u64, what: &str) -> Result<u64> {
        let v = self.varint()?;
        if v > max {
            return Err(corrupted(what));
        }
        Ok(v)
    }

    /// The magic, the version and what comes before the counts.
    pub(crate) fn head(&mut self) -> Result<Head> {
        let mut fixed = [0u8; 12];
        for b in &mut fixed {
            *b = match self.byte() {
                Ok(b) => b,
                Err(_) => {
                    return Err(Error::NotAModel(
                        "not a count shard: it is too short to be one".into(),
                    ))
                }
            };
        }
        if &fixed[..8] != SHARD_MAGIC {
            let what = if &fixed[..8] == crate::format::MAGIC {
                "not a count shard: this is a model file (`uellm count` writes shards)"
            } else {
                "not a count shard: the first bytes are not \"UELMCNTS\""
            };
            return Err(Error::NotAModel(what.into()));
        }
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        if version != SHARD_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                expected: SHARD_VERSION,
                hint: "this count shard was written by another version: count its text again",
            });
        }
        // The fixed header is not checksummed.
        self.crc = crc32fast::Hasher::new();
        self.hashed = self.pos;
        let order = self.at_most(crate::config::MAX_ORDER as u64, "bad order")? as usize;
        if order == 0 {
            return Err(corrupted("bad order"));
        }
        let bytes = self.varint()?;
        let sentences = self.varint()?;
        let words = self.at_most(u32::MAX as u64 - 1, "too many words")?;
        if words < RESERVED_TOKENS.len() as u64 {
            return Err(corrupted("the reserved words are missing"));
        }
        // Grown as words are read: a count in the header reserves nothing.
        let mut vocab: Vec<Box<str>> = Vec::new();
        let mut raw = Vec::new();
        for i in 0..words {
            let n = self.at_most(MAX_WORD, "a word is too long")? as usize;
            raw.clear();
            for _ in 0..n {
                raw.push(self.byte()?);
            }
            let w = std::str::from_utf8(&raw).map_err(|_| corrupted("a word is not UTF-8"))?;
            let ok = match RESERVED_TOKENS.get(i as usize) {
                Some(r) => w == *r,
                None => {
                    !w.is_empty()
                        && !w.contains(char::is_whitespace)
                        && !RESERVED_TOKENS.contains(&w)
                        && (vocab.len() == RESERVED_TOKENS.len()
                            || vocab.last().is_some_and(|p| **p < *w))
                }
            };
            if !ok {
                return Err(corrupted("the words are not a sorted vocabulary"));
            }
            vocab.push(w.into());
        }
        Ok(Head {
            order,
            bytes,
            sentences,
            vocab,
        })
    }

    /// The next pattern of a level of `k` words into `words` (which holds the one before, or
    /// nothing at the level's start: `first`), of a vocabulary of `vocab` words; returns its
    /// count, or none at the level's end.
    #[inline]
    pub(crate) fn pattern(
        &mut self,
        words: &mut [u32],
        first: bool,
        vocab: u32,
    ) -> Result<Option<u32>> {
        let k = words.len();
        let max = vocab as u64 - 1;
        let shared = self.at_most(k as u64, "bad shared prefix")? as usize;
        if shared == k {
            return Ok(None);
        }
        let rise = self.varint()?;
        // The first pattern rises from one below word 0.
        let from = if first {
            if shared != 0 {
                return Err(corrupted("bad shared prefix"));
            }
            rise.wrapping_sub(1)
        } else {
            words[shared] as u64 + rise
        };
        if rise == 0 || from > max {
            return Err(corrupted("the patterns are not sorted"));
        }
        words[shared] = from as u32;
        for w in &mut words[shared + 1..] {
            *w = self.at_most(max, "a word is out of the vocabulary")? as u32;
        }
        let count = self.varint()?;
        if count == 0 {
            return Err(corrupted("a pattern's count is 0"));
        }
        Ok(Some(count.min(u32::MAX as u64) as u32))
    }

    /// Checks the checksum and that nothing follows it.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.crc.update(&self.buf[self.hashed..self.pos]);
        self.hashed = self.pos;
        let crc = std::mem::take(&mut self.crc).finalize();
        let mut stored = [0u8; 4];
        for b in &mut stored {
            *b = self.byte()?;
        }
        if u32::from_le_bytes(stored) != crc {
            return Err(corrupted(
                "the checksum does not match (the shard is damaged)",
            ));
        }
        if self.pos < self.len || self.refill()? {
            return Err(corrupted("bytes follow the checksum"));
        }
        Ok(())
    }
}
