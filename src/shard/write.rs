//! Writing a shard in one pass (the format: the [module docs](super)).

use std::io::{self, Write};

use super::{for_each_pattern, CountShard, SHARD_MAGIC, SHARD_VERSION};
use crate::varint::put;

/// Bytes gathered before each write (and checksum update).
const CHUNK: usize = 1 << 16;

/// The varint stream after the fixed header: buffered, checksummed as it goes out.
struct Body<W: Write> {
    out: W,
    buf: Vec<u8>,
    crc: crc32fast::Hasher,
}

impl<W: Write> Body<W> {
    fn put(&mut self, v: u64) -> io::Result<()> {
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

pub(super) fn write<W: Write>(shard: &CountShard, mut out: W) -> io::Result<()> {
    let mut head = [0u8; 12];
    head[..8].copy_from_slice(SHARD_MAGIC);
    head[8..10].copy_from_slice(&SHARD_VERSION.to_le_bytes());
    out.write_all(&head)?;
    let mut b = Body {
        out,
        buf: Vec::with_capacity(CHUNK + 64),
        crc: crc32fast::Hasher::new(),
    };
    let trie = &shard.trie;
    b.put(trie.order() as u64)?;
    b.put(shard.bytes)?;
    b.put(shard.sentences)?;
    b.put(shard.vocab.len() as u64)?;
    for w in &shard.vocab {
        b.put(w.len() as u64)?;
        b.bytes(w.as_bytes())?;
    }
    for node in trie.level(1) {
        b.put(shard.count[node] as u64)?;
    }
    let mut last: Vec<u32> = Vec::new();
    for k in 2..=trie.order() {
        let mut failed = Ok(());
        b.put(trie.level(k).len() as u64)?;
        last.clear();
        for_each_pattern(trie, k, |words, node| {
            if failed.is_err() {
                return;
            }
            failed = (|| {
                if last.is_empty() {
                    for &w in words {
                        b.put(w as u64)?;
                    }
                } else {
                    let shared = words.iter().zip(&last).take_while(|(a, b)| a == b).count();
                    b.put(shared as u64)?;
                    b.put((words[shared] - last[shared]) as u64)?;
                    for &w in &words[shared + 1..] {
                        b.put(w as u64)?;
                    }
                }
                last.clear();
                last.extend_from_slice(words);
                b.put(shard.count[node] as u64)
            })();
        });
        failed?;
    }
    b.flush_buf()?;
    let crc = b.crc.finalize();
    b.out.write_all(&crc.to_le_bytes())?;
    b.out.flush()
}
