//! Writing a shard in one pass (the format: the [module docs](super)).

use std::io::{self, Write};

use super::{for_each_pattern, CountShard, SHARD_MAGIC, SHARD_VERSION};
use crate::varint::put;

/// Bytes gathered before each write (and checksum update).
const CHUNK: usize = 1 << 16;

/// The varint stream after the fixed header: buffered, checksummed as it goes out.
pub(super) struct Body<W: Write> {
    out: W,
    buf: Vec<u8>,
    crc: crc32fast::Hasher,
}

impl<W: Write> Body<W> {
    /// Writes the fixed header; the body follows.
    pub(super) fn start(mut out: W) -> io::Result<Self> {
        let mut head = [0u8; 12];
        head[..8].copy_from_slice(SHARD_MAGIC);
        head[8..10].copy_from_slice(&SHARD_VERSION.to_le_bytes());
        out.write_all(&head)?;
        Ok(Body {
            out,
            buf: Vec::with_capacity(CHUNK + 64),
            crc: crc32fast::Hasher::new(),
        })
    }

    /// What comes before the counts.
    pub(super) fn head(
        &mut self,
        order: usize,
        bytes: u64,
        sentences: u64,
        vocab: &[Box<str>],
    ) -> io::Result<()> {
        self.put(order as u64)?;
        self.put(bytes)?;
        self.put(sentences)?;
        self.put(vocab.len() as u64)?;
        for w in vocab {
            self.put(w.len() as u64)?;
            self.bytes(w.as_bytes())?;
        }
        Ok(())
    }

    /// The checksum after the body.
    pub(super) fn finish(mut self) -> io::Result<()> {
        self.flush_buf()?;
        let crc = self.crc.finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()
    }

    pub(super) fn put(&mut self, v: u64) -> io::Result<()> {
        put(&mut self.buf, v);
        if self.buf.len() >= CHUNK {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.crc.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Writes the patterns of one level, each after the one before.
pub(super) struct LevelWriter {
    last: Vec<u32>,
    first: bool,
}

impl LevelWriter {
    pub(super) fn new(k: usize) -> Self {
        LevelWriter {
            last: vec![0; k],
            first: true,
        }
    }

    /// The next pattern (greater than the one before) and its count.
    pub(super) fn put<W: Write>(
        &mut self,
        b: &mut Body<W>,
        words: &[u32],
        count: u32,
    ) -> io::Result<()> {
        let (shared, rise) = if self.first {
            // The first pattern rises from one below word 0.
            (0, words[0] as u64 + 1)
        } else {
            let shared = words
                .iter()
                .zip(&self.last)
                .take_while(|(a, b)| a == b)
                .count();
            (shared, (words[shared] - self.last[shared]) as u64)
        };
        b.put(shared as u64)?;
        b.put(rise)?;
        for &w in &words[shared + 1..] {
            b.put(w as u64)?;
        }
        self.last.copy_from_slice(words);
        self.first = false;
        b.put(count as u64)
    }

    /// The level's end: a shared prefix as long as its patterns.
    pub(super) fn end<W: Write>(self, b: &mut Body<W>) -> io::Result<()> {
        b.put(self.last.len() as u64)
    }
}

pub(super) fn write<W: Write>(shard: &CountShard, out: W) -> io::Result<()> {
    let mut b = Body::start(out)?;
    b.head(shard.order(), shard.bytes, shard.sentences, &shard.vocab)?;
    let trie = &shard.trie;
    for node in trie.level(1) {
        b.put(shard.count[node] as u64)?;
    }
    for k in 2..=trie.order() {
        let mut level = LevelWriter::new(k);
        let mut failed = Ok(());
        for_each_pattern(trie, k, |words, node| {
            if failed.is_ok() {
                failed = level.put(&mut b, words, shard.count[node]);
            }
        });
        failed?;
        level.end(&mut b)?;
    }
    b.finish()
}
