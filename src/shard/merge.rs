//! Merging shards: their vocabularies into one, then each level's sorted pattern streams into
//! one sorted level of the merged trie (a k-way merge that sums equal patterns).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Read;

use super::read::Shard;
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
    /// Patterns of the level still to read.
    left: u64,
    /// The last pattern read, in the shard's numbering.
    words: Vec<u32>,
    first: bool,
    /// The shard's word ids in the merged numbering.
    map: Vec<u32>,
}

/// Merges `shards`; an error in reading one of several names it (its place, from 1).
pub(super) fn merge<R: Read>(shards: Vec<Shard<R>>) -> Result<CountShard> {
    let n = shards.len();
    let mut reading = 0;
    merge_all(shards, &mut reading).map_err(|e| {
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
fn merge_all<R: Read>(mut shards: Vec<Shard<R>>, reading: &mut usize) -> Result<CountShard> {
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
                left: 0,
                words: Vec::new(),
                first: true,
                map,
            }
        })
        .collect();

    // Level 1: every word, its counts added.
    let mut word: Vec<u32> = std::iter::once(0).chain(0..v as u32).collect();
    let mut count = vec![0u32; 1 + v];
    for (i, (shard, c)) in shards.iter_mut().zip(&cursors).enumerate() {
        *reading = i;
        for &to in &c.map {
            let n = shard.varint()?.min(u32::MAX as u64) as u32;
            let at = &mut count[1 + to as usize];
            *at = at.saturating_add(n);
        }
    }
    let mut level_start = vec![0u32, 1, 1 + v as u32];
    let mut child_start = vec![1u32];

    for k in 2..=order {
        // Equal patterns of several shards come out one after the other (in any order: their
        // counts are added, saturating, which is the same in any order).
        let mut heap: BinaryHeap<Reverse<(Key, usize, u32)>> =
            BinaryHeap::with_capacity(shards.len());
        for (i, (shard, c)) in shards.iter_mut().zip(&mut cursors).enumerate() {
            *reading = i;
            c.left = shard.varint()?;
            c.words.clear();
            c.words.resize(k, 0);
            c.first = true;
            if let Some((key, n)) = next(shard, c)? {
                heap.push(Reverse((key, i, n)));
            }
        }
        let mut level = Level::new(&level_start, k);
        let mut pending: Option<(Key, u32)> = None;
        while let Some(Reverse((key, i, n))) = heap.pop() {
            *reading = i;
            if let Some((k2, n2)) = next(&mut shards[i], &mut cursors[i])? {
                heap.push(Reverse((k2, i, n2)));
            }
            match &mut pending {
                Some((p, c)) if *p == key => *c = c.saturating_add(n),
                _ => {
                    if let Some((p, c)) = pending.take() {
                        level.add(&p, c, &mut word, &mut count, &mut child_start)?;
                    }
                    pending = Some((key, n));
                }
            }
        }
        if let Some((p, c)) = pending.take() {
            level.add(&p, c, &mut word, &mut count, &mut child_start)?;
        }
        level.close(&mut child_start, word.len());
        if word.len() >= u32::MAX as usize {
            return Err(Error::TooLarge {
                what: "over 4 billion patterns",
                limit: "2^32 - 1 patterns",
            });
        }
        level_start.push(word.len() as u32);
    }
    child_start.push(word.len() as u32);
    for (i, shard) in shards.iter_mut().enumerate() {
        *reading = i;
        shard.finish()?;
    }
    let trie = Trie {
        level_start,
        word,
        child_start,
    };
    let bytes = heads.iter().fold(0u64, |a, h| a.saturating_add(h.bytes));
    let sentences = heads
        .iter()
        .fold(0u64, |a, h| a.saturating_add(h.sentences));
    Ok(CountShard {
        vocab,
        trie,
        count,
        bytes,
        sentences,
    })
}

/// The next pattern of `c`'s shard at this level, in the merged numbering, and its count; none
/// when the level is done.
fn next<R: Read>(shard: &mut Shard<R>, c: &mut Cursor) -> Result<Option<(Key, u32)>> {
    if c.left == 0 {
        return Ok(None);
    }
    c.left -= 1;
    let n = shard.pattern(&mut c.words, c.first, c.map.len() as u32)?;
    c.first = false;
    let mut key = [0u32; MAX_ORDER];
    for (k, &w) in key.iter_mut().zip(&c.words) {
        *k = c.map[w as usize];
    }
    Ok(Some((key, n)))
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
        key: &Key,
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
