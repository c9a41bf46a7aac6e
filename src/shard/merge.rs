//! Merging shards: their vocabularies into one, then each level's sorted pattern streams into
//! one sorted level of the merged trie (a k-way merge that sums equal patterns).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{Read, Write};

use super::read::Shard;
use super::write::{Body, LevelWriter};
use super::CountShard;
use crate::config::MAX_ORDER;
use crate::error::{Error, Result};
use crate::trie::Trie;
use crate::vocab::RESERVED;

/// A pattern's words in the merged numbering (unused places 0), as the heap orders them.
type Key = [u32; MAX_ORDER];

fn corrupted(what: impl std::fmt::Display) -> Error {
    Error::corrupted(format!("count shard: {what}"))
}

/// One shard's place in the merge of a level.
struct Cursor {
    /// The last pattern read, in the shard's numbering.
    words: Vec<u32>,
    first: bool,
    /// The shard's word ids in the merged numbering.
    map: Vec<u32>,
}

/// What a merge makes of the merged counts, given in order: the head, the unigrams' counts,
/// then each level's patterns, rising.
pub(super) trait Sink {
    /// The order, the bytes and sentences of all the text, the merged vocabulary.
    fn head(&mut self, order: usize, bytes: u64, sentences: u64, vocab: &[Box<str>]) -> Result<()>;
    /// Each word's count, in vocabulary order.
    fn unigrams(&mut self, counts: &[u32]) -> Result<()>;
    /// The start of the level of `k` words.
    fn level(&mut self, k: usize) -> Result<()>;
    /// The level's next pattern (its `k` words) and its count.
    fn pattern(&mut self, words: &[u32], count: u32) -> Result<()>;
    /// The end of the level.
    fn level_end(&mut self) -> Result<()>;
}

/// Merges `shards` into `sink`; an error in reading one of several names it (its place, from 1).
pub(super) fn merge<R: Read>(shards: Vec<Shard<R>>, sink: &mut impl Sink) -> Result<()> {
    let n = shards.len();
    let mut reading = 0;
    merge_all(shards, sink, &mut reading).map_err(|e| {
        let of = |m: String| format!("{m} (shard {} of {n})", reading + 1);
        match e {
            _ if n < 2 => e,
            Error::Corrupted(m) => Error::Corrupted(of(m)),
            Error::NotAModel(m) => Error::NotAModel(of(m)),
            Error::Io(m) => Error::Io(of(m)),
            e => e,
        }
    })
}

/// [`merge`], keeping in `reading` the place of the shard being read.
fn merge_all<R: Read>(
    mut shards: Vec<Shard<R>>,
    sink: &mut impl Sink,
    reading: &mut usize,
) -> Result<()> {
    if shards.is_empty() {
        return Err(Error::EmptyInput);
    }
    let mut heads = Vec::with_capacity(shards.len());
    for (i, shard) in shards.iter_mut().enumerate() {
        *reading = i;
        heads.push(shard.head()?);
    }
    let order = heads[0].order;
    if let Some((i, h)) = heads.iter().enumerate().find(|(_, h)| h.order != order) {
        *reading = i;
        return Err(corrupted(format!(
            "shards of different orders ({order} and {}) do not merge",
            h.order
        )));
    }
    // The merged vocabulary: the reserved words, then every shard's others, sorted, once each.
    let mut vocab: Vec<Box<str>> = heads[0].vocab[..RESERVED as usize].to_vec();
    let mut others: Vec<&str> = heads
        .iter()
        .flat_map(|h| h.vocab[RESERVED as usize..].iter().map(|w| &**w))
        .collect();
    others.sort_unstable();
    others.dedup();
    vocab.extend(others.iter().map(|&w| Box::<str>::from(w)));
    drop(others);
    let v = vocab.len();
    let mut cursors: Vec<Cursor> = heads
        .iter()
        .map(|h| {
            let map = h
                .vocab
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i < RESERVED as usize {
                        i as u32
                    } else {
                        // Present: the merged vocabulary holds every shard's words.
                        vocab[RESERVED as usize..]
                            .binary_search(w)
                            .map_or(0, |at| RESERVED + at as u32)
                    }
                })
                .collect();
            Cursor {
                words: Vec::new(),
                first: true,
                map,
            }
        })
        .collect();
    let bytes = heads.iter().fold(0u64, |a, h| a.saturating_add(h.bytes));
    let sentences = heads
        .iter()
        .fold(0u64, |a, h| a.saturating_add(h.sentences));
    drop(heads);
    sink.head(order, bytes, sentences, &vocab)?;
    drop(vocab);

    // Level 1: every word, its counts added.
    let mut count = vec![0u32; v];
    for (i, (shard, c)) in shards.iter_mut().zip(&cursors).enumerate() {
        *reading = i;
        for &to in &c.map {
            let n = shard.varint()?.min(u32::MAX as u64) as u32;
            let at = &mut count[to as usize];
            *at = at.saturating_add(n);
        }
    }
    sink.unigrams(&count)?;
    drop(count);

    // Patterns compare as one integer when their words fit in 128 bits (most vocabularies
    // up to order 6), as arrays otherwise.
    let bits = super::word_bits(v);
    for k in 2..=order {
        sink.level(k)?;
        if k as u32 * bits <= 128 {
            merge_level::<u128, R>(&mut shards, &mut cursors, sink, k, bits, reading)?;
        } else {
            merge_level::<Key, R>(&mut shards, &mut cursors, sink, k, bits, reading)?;
        }
        sink.level_end()?;
    }
    for (i, shard) in shards.iter_mut().enumerate() {
        *reading = i;
        shard.finish()?;
    }
    Ok(())
}

/// A pattern's words in the merged numbering, as the merge's heap orders them.
trait MergeKey: Ord + Copy {
    /// The key of `words` (in a shard's numbering, `map` to the merged one), of `bits` each.
    fn pack(words: &[u32], map: &[u32], bits: u32) -> Self;
    /// Its words, into `out`.
    fn unpack(self, bits: u32, out: &mut [u32]);
}

impl MergeKey for u128 {
    #[inline]
    fn pack(words: &[u32], map: &[u32], bits: u32) -> Self {
        words
            .iter()
            .fold(0u128, |acc, &w| acc << bits | map[w as usize] as u128)
    }

    #[inline]
    fn unpack(mut self, bits: u32, out: &mut [u32]) {
        let mask = (1u128 << bits) - 1;
        for w in out.iter_mut().rev() {
            *w = (self & mask) as u32;
            self >>= bits;
        }
    }
}

impl MergeKey for Key {
    #[inline]
    fn pack(words: &[u32], map: &[u32], _: u32) -> Self {
        let mut key = [0u32; MAX_ORDER];
        for (k, &w) in key.iter_mut().zip(words) {
            *k = map[w as usize];
        }
        key
    }

    #[inline]
    fn unpack(self, _: u32, out: &mut [u32]) {
        out.copy_from_slice(&self[..out.len()]);
    }
}

/// Merges every shard's level of `k` words into `sink`.
fn merge_level<K: MergeKey, R: Read>(
    shards: &mut [Shard<R>],
    cursors: &mut [Cursor],
    sink: &mut impl Sink,
    k: usize,
    bits: u32,
    reading: &mut usize,
) -> Result<()> {
    // Equal patterns of several shards come out one after the other (in any order: their
    // counts are added, saturating, which is the same in any order).
    let mut heap: BinaryHeap<Reverse<(K, usize, u32)>> = BinaryHeap::with_capacity(shards.len());
    for (i, (shard, c)) in shards.iter_mut().zip(cursors.iter_mut()).enumerate() {
        *reading = i;
        c.words.clear();
        c.words.resize(k, 0);
        c.first = true;
        if let Some((key, n)) = next::<K, R>(shard, c, bits)? {
            heap.push(Reverse((key, i, n)));
        }
    }
    let mut words = vec![0u32; k];
    let mut pending: Option<(K, u32)> = None;
    while let Some(Reverse((key, i, n))) = heap.pop() {
        *reading = i;
        if let Some((k2, n2)) = next::<K, R>(&mut shards[i], &mut cursors[i], bits)? {
            heap.push(Reverse((k2, i, n2)));
        }
        match &mut pending {
            Some((p, c)) if *p == key => *c = c.saturating_add(n),
            _ => {
                if let Some((p, c)) = pending.take() {
                    p.unpack(bits, &mut words);
                    sink.pattern(&words, c)?;
                }
                pending = Some((key, n));
            }
        }
    }
    if let Some((p, c)) = pending.take() {
        p.unpack(bits, &mut words);
        sink.pattern(&words, c)?;
    }
    Ok(())
}

/// The next pattern of `c`'s shard at this level, in the merged numbering, and its count; none
/// when the level is done.
fn next<K: MergeKey, R: Read>(
    shard: &mut Shard<R>,
    c: &mut Cursor,
    bits: u32,
) -> Result<Option<(K, u32)>> {
    let Some(n) = shard.pattern(&mut c.words, c.first, c.map.len() as u32)? else {
        return Ok(None);
    };
    c.first = false;
    Ok(Some((K::pack(&c.words, &c.map, bits), n)))
}

/// A merge into a [`CountShard`] in memory: the merged trie.
#[derive(Default)]
pub(super) struct TrieSink {
    bytes: u64,
    sentences: u64,
    vocab: Vec<Box<str>>,
    word: Vec<u32>,
    count: Vec<u32>,
    level_start: Vec<u32>,
    child_start: Vec<u32>,
    level: Option<Level>,
}

impl TrieSink {
    /// The merged counts.
    pub(super) fn finish(mut self) -> CountShard {
        self.child_start.push(self.word.len() as u32);
        CountShard {
            vocab: self.vocab,
            trie: Trie {
                level_start: self.level_start,
                word: self.word,
                child_start: self.child_start,
            },
            count: self.count,
            bytes: self.bytes,
            sentences: self.sentences,
        }
    }
}

impl Sink for TrieSink {
    fn head(&mut self, _: usize, bytes: u64, sentences: u64, vocab: &[Box<str>]) -> Result<()> {
        self.bytes = bytes;
        self.sentences = sentences;
        self.vocab = vocab.to_vec();
        Ok(())
    }

    fn unigrams(&mut self, counts: &[u32]) -> Result<()> {
        let v = counts.len();
        self.word = std::iter::once(0).chain(0..v as u32).collect();
        self.count = std::iter::once(0).chain(counts.iter().copied()).collect();
        self.level_start = vec![0, 1, 1 + v as u32];
        self.child_start = vec![1];
        Ok(())
    }

    fn level(&mut self, k: usize) -> Result<()> {
        self.level = Some(Level::new(&self.level_start, k));
        Ok(())
    }

    fn pattern(&mut self, words: &[u32], count: u32) -> Result<()> {
        let level = self
            .level
            .as_mut()
            .ok_or_else(|| Error::internal("a pattern before its level"))?;
        level.add(
            words,
            count,
            &mut self.word,
            &mut self.count,
            &mut self.child_start,
        )
    }

    fn level_end(&mut self) -> Result<()> {
        if let Some(mut level) = self.level.take() {
            level.close(&mut self.child_start, self.word.len());
        }
        crate::count::check_patterns(self.word.len())?;
        self.level_start.push(self.word.len() as u32);
        Ok(())
    }
}

/// A merge written straight to a shard file: nothing but the vocabulary is kept.
pub(super) struct WriteSink<W: Write> {
    body: Option<Body<W>>,
    out: Option<W>,
    level: Option<LevelWriter>,
    pub(super) summary: super::Summary,
}

impl<W: Write> WriteSink<W> {
    pub(super) fn new(out: W) -> Self {
        WriteSink {
            body: None,
            out: Some(out),
            level: None,
            summary: super::Summary::default(),
        }
    }

    /// Writes the checksum; what was merged.
    pub(super) fn finish(self) -> Result<super::Summary> {
        match self.body {
            Some(b) => b.finish().map_err(Error::io)?,
            None => return Err(Error::internal("a merge finished before its head")),
        }
        Ok(self.summary)
    }

    fn body(&mut self) -> Result<&mut Body<W>> {
        self.body
            .as_mut()
            .ok_or_else(|| Error::internal("counts before the head"))
    }
}

impl<W: Write> Sink for WriteSink<W> {
    fn head(&mut self, order: usize, bytes: u64, sentences: u64, vocab: &[Box<str>]) -> Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| Error::internal("a merge's head twice"))?;
        let mut body = Body::start(out).map_err(Error::io)?;
        body.head(order, bytes, sentences, vocab)
            .map_err(Error::io)?;
        self.body = Some(body);
        self.summary = super::Summary {
            order,
            bytes,
            sentences,
            vocab_len: vocab.len(),
            patterns: vocab.len() as u64,
        };
        Ok(())
    }

    fn unigrams(&mut self, counts: &[u32]) -> Result<()> {
        let b = self.body()?;
        for &c in counts {
            b.put(c as u64).map_err(Error::io)?;
        }
        Ok(())
    }

    fn level(&mut self, k: usize) -> Result<()> {
        self.level = Some(LevelWriter::new(k));
        Ok(())
    }

    fn pattern(&mut self, words: &[u32], count: u32) -> Result<()> {
        let mut level = self
            .level
            .take()
            .ok_or_else(|| Error::internal("a pattern before its level"))?;
        let done = level.put(self.body()?, words, count).map_err(Error::io);
        self.level = Some(level);
        self.summary.patterns += 1;
        done
    }

    fn level_end(&mut self) -> Result<()> {
        let level = self
            .level
            .take()
            .ok_or_else(|| Error::internal("a level's end before its start"))?;
        level.end(self.body()?).map_err(Error::io)
    }
}

/// The level being merged: where its patterns' parents are, in the level before.
struct Level {
    k: usize,
    /// The path to the current parent candidate: its node at each level 1..k-1 (`at[0]` unused).
    at: Vec<usize>,
    /// The level before: its first node and its end.
    parents: std::ops::Range<usize>,
    /// The end of each level 1..k-1 (`ends[0]` unused).
    ends: Vec<usize>,
    /// The next parent whose children's start is not written yet.
    opened: usize,
}

impl Level {
    fn new(level_start: &[u32], k: usize) -> Level {
        Level {
            k,
            at: (0..k).map(|d| level_start[d] as usize).collect(),
            parents: level_start[k - 1] as usize..level_start[k] as usize,
            ends: (0..k).map(|d| level_start[d + 1] as usize).collect(),
            opened: level_start[k - 1] as usize,
        }
    }

    /// Adds the pattern `key` (in order, after the level's patterns before it) with `count`,
    /// under the parent that is its prefix.
    fn add(
        &mut self,
        key: &[u32],
        count: u32,
        word: &mut Vec<u32>,
        counts: &mut Vec<u32>,
        child_start: &mut Vec<u32>,
    ) -> Result<()> {
        let k = self.k;
        let prefix = &key[..k - 1];
        loop {
            let p = self.at[k - 1];
            // The ancestors move on to the candidate's (the last node of a level is the parent
            // of everything after it, whose starts may not be written yet).
            for d in (1..k - 1).rev() {
                while self.at[d] + 1 < self.ends[d]
                    && (child_start[self.at[d] + 1] as usize) <= self.at[d + 1]
                {
                    self.at[d] += 1;
                }
            }
            // The parent candidate's words, from its path.
            let ord = (1..k).map(|d| word[self.at[d]]).cmp(prefix.iter().copied());
            match ord {
                std::cmp::Ordering::Equal => break,
                std::cmp::Ordering::Greater => {
                    return Err(corrupted("a pattern's prefix is not counted"))
                }
                std::cmp::Ordering::Less => {
                    if p + 1 >= self.parents.end {
                        return Err(corrupted("a pattern's prefix is not counted"));
                    }
                    self.at[k - 1] = p + 1;
                }
            }
        }
        let p = self.at[k - 1];
        while self.opened <= p {
            child_start.push(word.len() as u32);
            self.opened += 1;
        }
        word.push(key[k - 1]);
        counts.push(count);
        Ok(())
    }

    /// Writes the children's start of the parents left (they have no children).
    fn close(&mut self, child_start: &mut Vec<u32>, end: usize) {
        while self.opened < self.parents.end {
            child_start.push(end as u32);
            self.opened += 1;
        }
    }
}
