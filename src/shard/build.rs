//! A model file made from count shards in bounded memory: the merged counts go to files in a
//! temporary folder, sorted there, and the model file's streams are written from them level by
//! level, never holding more than a level's two arrays of 4 bytes a pattern and one sort
//! buffer. The bytes are those of [`CountShard::into_file`](super::CountShard::into_file).
//!
//! The steps, for order N (a pattern's words packed into one 128-bit key, the first word
//! highest, in the model's numbering, so that keys sort as the model's trie does):
//! 1. the merge of the shards ([`super::merge`]) gives the words and their counts, hence the
//!    model's numbering, then each level's patterns, which an external sort puts in trie order
//!    into a file of its own;
//! 2. from the deepest level down, each level's patterns sorted by their suffix give the
//!    continuation counts of the level above (Kneser-Ney's adjusted counts) and each pattern's
//!    suffix (its back-off) as a place in that level, and the discounts follow;
//! 3. from level 1 up, each pattern is kept or pruned (its count, its context and its back-off
//!    kept), and the model file's streams (children counts, words, adjusted counts, removed
//!    masses) are written for the patterns kept;
//! 4. the file is the header and the body assembled from those streams.

use std::io::{self, Read, Write};

use super::merge::Sink;
use super::records::{In, Item, Out};
use super::store::{io_err, Store, TempFile};
use crate::clock::now_ms;
use crate::config::TrainOptions;
use crate::error::{Error, Result};
use crate::format::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use crate::parts::TrainingStats;
use crate::smooth::modified_kn_discounts;
use crate::varint::put;
use crate::vocab::{frequency_order, BOS, RESERVED, UNK};

/// The bits of a word id in a key, for `v` words at `order`.
///
/// # Errors
/// [`Error::TooLarge`] when a pattern's words take more than 128 bits.
pub(super) fn key_bits(v: usize, order: usize) -> Result<u32> {
    let bits = super::word_bits(v);
    if order as u32 * bits > 128 {
        return Err(Error::TooLarge {
            what: "a vocabulary this large at this order, in bounded memory",
            limit: "order × bits of a word id ≤ 128",
        });
    }
    Ok(bits)
}

/// Buffer of each file read or written.
pub(super) const IO_BUF: usize = 1 << 20;

/// What a build of bound `memory` gives its runs and sorts: the bound less about what the rest
/// of the process holds beside them (the program, the vocabulary, buffers), and at least half
/// of it (a small bound).
pub(super) fn working_memory(memory: u64) -> u64 {
    memory.saturating_sub(16 << 20).max(memory / 2)
}

/// The temporary files of one build, removed when it ends.
pub(super) struct Temp {
    store: Store,
    made: Vec<TempFile>,
}

impl Temp {
    pub(super) fn new(store: &Store) -> Temp {
        Temp {
            store: store.clone(),
            made: Vec::new(),
        }
    }

    /// A new file, open for writing (the caller buffers).
    pub(super) fn create_raw(&mut self, what: &str) -> Result<(TempFile, Box<dyn Write + Send>)> {
        let (file, w) = self.store.create(what)?;
        self.made.push(file.clone());
        Ok((file, w))
    }

    /// Takes over the files of `other` (removed with these).
    fn adopt(&mut self, mut other: Temp) {
        self.made.append(&mut other.made);
    }

    pub(super) fn remove(&mut self, file: &TempFile) {
        file.remove();
        self.made.retain(|p| p != file);
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        for p in &self.made {
            p.remove();
        }
    }
}

/// An external sort of records: sorted runs that fit a buffer, in files, merged.
struct Sorter<T> {
    buf: Vec<T>,
    cap: usize,
    runs: Vec<TempFile>,
}

impl<T: Item> Sorter<T> {
    /// A sort holding up to `bytes` of records in memory.
    fn new(bytes: u64) -> Sorter<T> {
        Sorter {
            buf: Vec::new(),
            cap: (bytes / std::mem::size_of::<T>() as u64).max(1024) as usize,
            runs: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, temp: &mut Temp, item: T) -> Result<()> {
        if self.buf.capacity() == 0 {
            // All at once: grown by doubling, the buffer could take up to twice its share.
            self.buf.reserve_exact(self.cap);
        }
        self.buf.push(item);
        if self.buf.len() >= self.cap {
            self.spill(temp)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn spill(&mut self, temp: &mut Temp) -> Result<()> {
        let mut out = Out::create(temp, "run")?;
        sorted(&mut self.buf, |item| out.put(item))?;
        self.buf.clear();
        self.runs.push(out.finish()?.0);
        Ok(())
    }

    /// Calls `f` with every record in order; the runs are removed.
    fn drain(mut self, temp: &mut Temp, mut f: impl FnMut(T) -> Result<()>) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        if self.runs.is_empty() {
            return sorted(&mut buf, f);
        }
        // The last records stay in memory: their sorted halves merge with the runs.
        let mid = sort_halves(&mut buf);
        let (a, b) = buf.split_at(mid);
        let mut halves = [a.iter(), b.iter()];
        // The runs' read buffers share the sort's memory (a small bound makes many runs).
        let each = fan_in_buffer(
            self.cap as u64 * std::mem::size_of::<T>() as u64,
            self.runs.len(),
        );
        let mut inputs = self
            .runs
            .iter()
            .map(|r| In::<T>::open_sized(r, each))
            .collect::<Result<Vec<_>>>()?;
        let mut heads = inputs
            .iter_mut()
            .map(|r| r.next())
            .collect::<Result<Vec<_>>>()?;
        let files = heads.len();
        heads.extend(halves.iter_mut().map(|h| h.next().copied()));
        // A few inputs: the smallest head found by a scan beats a heap's bookkeeping.
        loop {
            let mut best: Option<(usize, T)> = None;
            for (i, h) in heads.iter().enumerate() {
                if let Some(x) = *h {
                    if best.map_or(true, |(_, b)| x < b) {
                        best = Some((i, x));
                    }
                }
            }
            let Some((i, x)) = best else { break };
            f(x)?;
            heads[i] = match i.checked_sub(files) {
                None => inputs[i].next()?,
                Some(h) => halves[h].next().copied(),
            };
        }
        drop(inputs);
        for p in &self.runs {
            temp.remove(p);
        }
        Ok(())
    }
}

/// The read buffer of each of `files` files merged at once within `bytes`: a share of them, from
/// 16 KiB (where a merge of many small runs takes more than its share) to [`IO_BUF`].
pub(super) fn fan_in_buffer(bytes: u64, files: usize) -> usize {
    (bytes / files.max(1) as u64).clamp(16 << 10, IO_BUF as u64) as usize
}

/// Sorts the two halves of `buf`, on two threads where there are; returns where the second
/// starts.
fn sort_halves<T: Item>(buf: &mut [T]) -> usize {
    let mid = buf.len() / 2;
    let (a, b) = buf.split_at_mut(mid);
    if mid < 1 << 16 || !crate::mem::native_extras() {
        a.sort_unstable();
        b.sort_unstable();
    } else {
        std::thread::scope(|s| {
            s.spawn(|| a.sort_unstable());
            b.sort_unstable();
        });
    }
    mid
}

/// Sorts `buf`, its halves on two threads, and calls `f` with its records in order.
fn sorted<T: Item>(buf: &mut [T], mut f: impl FnMut(T) -> Result<()>) -> Result<()> {
    let mid = sort_halves(buf);
    let (a, b) = buf.split_at(mid);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j == b.len() || (i < a.len() && a[i] <= b[j]);
        let x = if take_a {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        f(x)?;
    }
    Ok(())
}

/// A stream of the model file's body (varints), in a temporary file.
struct Stream {
    path: TempFile,
    f: Box<dyn Write + Send>,
    len: u64,
    buf: Vec<u8>,
    crc: crc32fast::Hasher,
}

/// A finished stream: its file, its length and its checksum (combined into the body's, so the
/// file is read once, to be copied).
struct Part {
    path: TempFile,
    len: u64,
    crc: crc32fast::Hasher,
}

impl Stream {
    fn create(temp: &mut Temp, what: &str) -> Result<Stream> {
        let (path, f) = temp.create_raw(what)?;
        Ok(Stream {
            path,
            f,
            len: 0,
            buf: Vec::with_capacity(IO_BUF + 16),
            crc: crc32fast::Hasher::new(),
        })
    }

    #[inline]
    fn put(&mut self, v: u64) -> Result<()> {
        put(&mut self.buf, v);
        if self.buf.len() >= IO_BUF {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffer out, checksummed in one piece.
    #[inline(never)]
    fn flush(&mut self) -> Result<()> {
        self.len += self.buf.len() as u64;
        self.crc.update(&self.buf);
        self.f
            .write_all(&self.buf)
            .map_err(|e| io_err(&self.path, e))?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<Part> {
        self.flush()?;
        Ok(Part {
            path: self.path,
            len: self.len,
            crc: self.crc,
        })
    }
}

/// Step 1: the merge's output, each level sorted into trie order in a file of its own.
pub(super) struct Levels<'t> {
    temp: &'t mut Temp,
    /// The bound of the whole build (half of it for a level's sort).
    memory: u64,
    pub order: usize,
    pub bytes: u64,
    pub sentences: u64,
    /// Shard numbering → the model's.
    new_id: Vec<u32>,
    /// The words in the model's numbering.
    pub words: Vec<Box<str>>,
    /// Bits of a word in a key.
    pub bits: u32,
    /// Per word (model numbering), its count.
    pub unigrams: Vec<u32>,
    sorter: Option<Sorter<(u128, u32)>>,
    k: usize,
    /// Per level 2..=N: its file and its size.
    pub files: Vec<(TempFile, u64)>,
    shard_vocab: Vec<Box<str>>,
    /// Called with the share of the build done (see [`Levels::advance`]).
    progress: Box<dyn FnMut(f64) + 't>,
    /// Patterns of 2 words and more derived, and streamed, so far.
    derived: u64,
    streamed: u64,
}

impl<'t> Levels<'t> {
    pub(super) fn new(temp: &'t mut Temp, memory: u64) -> Levels<'t> {
        Levels {
            temp,
            memory,
            order: 0,
            bytes: 0,
            sentences: 0,
            new_id: Vec::new(),
            words: Vec::new(),
            bits: 1,
            unigrams: Vec::new(),
            sorter: None,
            k: 0,
            files: Vec::new(),
            shard_vocab: Vec::new(),
            progress: Box::new(|_| {}),
            derived: 0,
            streamed: 0,
        }
    }

    /// Calls `f` with the share of the build done as it goes: 0.2 once the levels are in their
    /// files (the merge), then each level's share of the patterns as step 2 derives it (up to
    /// 0.6) and as step 3 writes it (up to 1, which the caller reports once the file is
    /// written). A build of 100 MB of text at order 5 spent about those shares there.
    pub(super) fn on_progress(&mut self, f: impl FnMut(f64) + 't) {
        self.progress = Box::new(f);
    }

    /// Counts `derived` and `streamed` more patterns, and reports the share done.
    fn advance(&mut self, derived: u64, streamed: u64) {
        self.derived += derived;
        self.streamed += streamed;
        let total = self.files.iter().map(|f| f.1).sum::<u64>().max(1) as f64;
        let share =
            0.2 + 0.4 * (self.derived as f64 / total) + 0.4 * (self.streamed as f64 / total);
        (self.progress)(share.min(0.999));
    }
}

impl<'t> Levels<'t> {
    /// The levels of a bounded build's runs, already merged into their files in trie order
    /// (`files`: per level 2..=order, its file and its size), with the words in the model's
    /// numbering and their counts.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn of_runs(
        temp: &'t mut Temp,
        memory: u64,
        order: usize,
        bits: u32,
        bytes: u64,
        sentences: u64,
        words: Vec<Box<str>>,
        unigrams: Vec<u32>,
        files: Vec<(TempFile, u64)>,
    ) -> Levels<'t> {
        let mut lv = Levels::new(temp, memory);
        lv.order = order;
        lv.bytes = bytes;
        lv.sentences = sentences;
        lv.bits = bits;
        lv.words = words;
        lv.unigrams = unigrams;
        lv.files = files;
        lv
    }
}

impl Sink for Levels<'_> {
    fn head(&mut self, order: usize, bytes: u64, sentences: u64, vocab: &[Box<str>]) -> Result<()> {
        self.order = order;
        self.bytes = bytes;
        self.sentences = sentences;
        self.shard_vocab = vocab.to_vec();
        Ok(())
    }

    fn unigrams(&mut self, counts: &[u32]) -> Result<()> {
        let v = counts.len();
        let words = std::mem::take(&mut self.shard_vocab);
        // The trainer's numbering (`Trainer::renumber_by_frequency`).
        let by_freq = frequency_order(v, |w| counts[w as usize] as u64, |w| &words[w as usize]);
        let mut new_id: Vec<u32> = (0..v as u32).collect();
        for (rank, &old) in by_freq.iter().enumerate() {
            new_id[old as usize] = RESERVED + rank as u32;
        }
        let order: Vec<u32> = (0..RESERVED).chain(by_freq).collect();
        self.unigrams = order.iter().map(|&o| counts[o as usize]).collect();
        self.words = order.iter().map(|&o| words[o as usize].clone()).collect();
        self.new_id = new_id;
        self.bits = key_bits(v, self.order)?;
        Ok(())
    }

    fn level(&mut self, k: usize) -> Result<()> {
        self.k = k;
        self.sorter = Some(Sorter::new(self.memory / 2));
        Ok(())
    }

    fn pattern(&mut self, words: &[u32], count: u32) -> Result<()> {
        let bits = self.bits;
        let key = words.iter().fold(0u128, |acc, &w| {
            acc << bits | self.new_id[w as usize] as u128
        });
        let sorter = self
            .sorter
            .as_mut()
            .ok_or_else(|| Error::internal("a pattern before its level"))?;
        sorter.push(self.temp, (key, count))
    }

    fn level_end(&mut self) -> Result<()> {
        let sorter = self
            .sorter
            .take()
            .ok_or_else(|| Error::internal("a level's end before its start"))?;
        let mut out = Out::create(self.temp, &format!("level{}", self.k))?;
        sorter.drain(self.temp, |x| out.put(x))?;
        self.files.push(out.finish()?);
        Ok(())
    }
}

/// A sort of a level's patterns by their suffixes: (suffix, place) pairs, packed into one
/// number when the suffix's words fit in 96 bits.
enum SuffixSorter {
    Packed(Sorter<u128>),
    Pairs(Sorter<(u128, u32)>),
}

impl SuffixSorter {
    fn new(bytes: u64, suffix_bits: usize) -> SuffixSorter {
        if suffix_bits <= 96 {
            SuffixSorter::Packed(Sorter::new(bytes))
        } else {
            SuffixSorter::Pairs(Sorter::new(bytes))
        }
    }

    #[inline]
    fn push(&mut self, temp: &mut Temp, suffix: u128, place: u32) -> Result<()> {
        match self {
            SuffixSorter::Packed(s) => s.push(temp, suffix << 32 | place as u128),
            SuffixSorter::Pairs(s) => s.push(temp, (suffix, place)),
        }
    }

    /// Calls `f` with every (suffix, place) by rising suffix.
    fn drain(self, temp: &mut Temp, mut f: impl FnMut(u128, u32) -> Result<()>) -> Result<()> {
        match self {
            SuffixSorter::Packed(s) => s.drain(temp, |x| f(x >> 32, x as u32)),
            SuffixSorter::Pairs(s) => s.drain(temp, |(g, p)| f(g, p)),
        }
    }
}

/// Per level (index k - 1): its adjusted counts' file (levels below N) and its suffixes' file
/// (levels 2 and up: each pattern's back-off, as a place in the level above).
struct Derived {
    adjusted: Vec<Option<TempFile>>,
    suffixes: Vec<Option<TempFile>>,
    discounts: Vec<[f64; 3]>,
    fallback: Vec<u8>,
}

/// The next record of a level (key, count), read in order.
type Next<'a> = Box<dyn FnMut() -> Result<Option<(u128, u32)>> + 'a>;

/// The first word of a key of `len` words.
fn first_word(key: u128, len: usize, bits: u32) -> u32 {
    (key >> (bits as usize * (len - 1))) as u32
}

/// What step 2 made of one level k: the adjusted counts of level k - 1 and its tally of them,
/// the suffixes of level k, the tally of level k's counts when it is the top, and the files.
struct LevelDerived {
    adjusted: TempFile,
    suffixes: TempFile,
    n: [u64; 5],
    top: [u64; 5],
    temp: Temp,
}

/// Counts of adjusted counts 1..=4, for the discounts.
fn tally(n: &mut [u64; 5], a: u32) {
    if (1..=4).contains(&a) {
        n[a as usize] += 1;
    }
}

/// Step 2 for level k (see the module docs), its temporary files in `store`, its sort within
/// `sort_bytes`.
#[allow(clippy::too_many_arguments)]
fn derive_level(
    k: usize,
    order: usize,
    bits: u32,
    files: &[(TempFile, u64)],
    unigrams: &[u32],
    sort_bytes: u64,
    store: &Store,
) -> Result<LevelDerived> {
    let mut temp = Temp::new(store);
    let mut n = [0u64; 5];
    let mut top = [0u64; 5];
    let (path, size) = files[k - 2].clone();
    // Each pattern's suffix (its words after the first) and its place.
    let suffix_mask = (1u128 << (bits as usize * (k - 1))) - 1;
    let mut sorter = SuffixSorter::new(sort_bytes, bits as usize * (k - 1));
    {
        let mut r = In::<(u128, u32)>::open(&path)?;
        let mut p = 0u32;
        while let Some((key, c)) = r.next()? {
            if k == order {
                tally(&mut top, c);
            }
            sorter.push(&mut temp, key & suffix_mask, p)?;
            p += 1;
        }
    }
    let mut suffix_of = vec![0u32; size as usize];
    let mut pending = std::collections::VecDeque::with_capacity(AHEAD);
    // The level above in trie order, beside the suffixes in the same order.
    let mut above: Next<'_> = if k == 2 {
        let mut w = 0u32;
        let unigrams = unigrams.to_vec();
        Box::new(move || {
            let out = unigrams.get(w as usize).map(|&c| (w as u128, c));
            w += 1;
            Ok(out)
        })
    } else {
        let mut r = In::<(u128, u32)>::open(&files[k - 3].0)?;
        Box::new(move || r.next())
    };
    let mut a_out = Out::<u32>::create(&mut temp, &format!("adjusted{}", k - 1))?;
    let mut q = 0u32;
    let mut cur: Option<(u128, u32)> = above()?;
    let mut group = 0u32;
    let above_len = k - 1;
    // Writes the adjusted count of the pattern at `cur` (level k - 1), then moves on.
    let mut emit = |cur: &mut Option<(u128, u32)>,
                    q: &mut u32,
                    group: &mut u32,
                    above: &mut Next<'_>|
     -> Result<()> {
        let (key, c) = cur.ok_or_else(|| Error::internal("past the level above"))?;
        let first = first_word(key, above_len, bits);
        let a = if above_len == 1 && (first == BOS || first == UNK) {
            0
        } else if first == BOS {
            c
        } else {
            *group
        };
        tally(&mut n, a);
        a_out.put(a)?;
        *group = 0;
        *q += 1;
        *cur = above()?;
        Ok(())
    };
    sorter.drain(&mut temp, |g, p| {
        while let Some((key, _)) = cur {
            if key >= g {
                break;
            }
            emit(&mut cur, &mut q, &mut group, &mut above)?;
        }
        match cur {
            Some((key, _)) if key == g => {}
            _ => {
                return Err(Error::corrupted(
                    "count shard: a pattern's suffix is not counted",
                ))
            }
        }
        group = group.saturating_add(1);
        // Places come at random: each is written AHEAD places after it is asked for.
        crate::mem::prefetch_at(&suffix_of, p as usize);
        if pending.len() == AHEAD {
            if let Some((p0, q0)) = pending.pop_front() {
                suffix_of[p0 as usize] = q0;
            }
        }
        pending.push_back((p, q));
        Ok(())
    })?;
    for (p0, q0) in pending.drain(..) {
        suffix_of[p0 as usize] = q0;
    }
    while cur.is_some() {
        emit(&mut cur, &mut q, &mut group, &mut above)?;
    }
    let adjusted = a_out.finish()?.0;
    let mut s_out = Out::<u32>::create(&mut temp, &format!("suffix{k}"))?;
    for &s in &suffix_of {
        s_out.put(s)?;
    }
    let suffixes = s_out.finish()?.0;
    Ok(LevelDerived {
        adjusted,
        suffixes,
        n,
        top,
        temp,
    })
}

/// Step 2 (see the module docs): the levels two at a time where there are threads (the
/// largest beside the smallest), each within its share of the memory beside the other's
/// suffixes.
fn derive(lv: &mut Levels<'_>) -> Result<Derived> {
    let order = lv.order;
    let bits = lv.bits;
    let mut adjusted = vec![None; order];
    let mut suffixes = vec![None; order];
    // Counts of adjusted counts 1..=4 per level, for the discounts.
    let mut n = vec![[0u64; 5]; order];
    // The top level's adjusted counts are its counts (tallied as its file is read for its
    // suffixes); an order-1 model's are its words'.
    if order == 1 {
        for (w, &c) in lv.unigrams.iter().enumerate() {
            let a = if w as u32 == BOS || w as u32 == UNK {
                0
            } else {
                c
            };
            tally(&mut n[0], a);
        }
    }
    for (_, size) in &lv.files {
        if *size > u32::MAX as u64 {
            return Err(Error::TooLarge {
                what: "over 4 billion patterns of one length",
                limit: "2^32 - 1 patterns",
            });
        }
    }
    let mut ks: std::collections::VecDeque<usize> = (2..=order).rev().collect();
    let both = crate::mem::native_extras();
    let memory = working_memory(lv.memory);
    let store = lv.temp.store.clone();
    while let Some(a) = ks.pop_front() {
        let b = if both { ks.pop_back() } else { None };
        let suffix_bytes = |k: usize| 4 * lv.files[k - 2].1;
        let (files, unigrams) = (&lv.files[..], &lv.unigrams[..]);
        let done = match b {
            Some(b) => {
                let share =
                    (memory.saturating_sub(suffix_bytes(a) + suffix_bytes(b)) / 2).max(memory / 8);
                let (ra, rb) = crate::mem::join(
                    || derive_level(a, order, bits, files, unigrams, share, &store),
                    || derive_level(b, order, bits, files, unigrams, share, &store),
                );
                vec![(a, ra?), (b, rb?)]
            }
            None => {
                let share = memory.saturating_sub(suffix_bytes(a)).max(memory / 4);
                vec![(
                    a,
                    derive_level(a, order, bits, files, unigrams, share, &store)?,
                )]
            }
        };
        for (k, d) in done {
            lv.advance(lv.files[k - 2].1, 0);
            lv.temp.adopt(d.temp);
            n[k - 2] = d.n;
            if k == order {
                n[order - 1] = d.top;
            }
            adjusted[k - 2] = Some(d.adjusted);
            suffixes[k - 1] = Some(d.suffixes);
        }
    }
    let mut discounts = Vec::with_capacity(order);
    let mut fallback = Vec::new();
    for (k, counts) in n.iter().enumerate() {
        match modified_kn_discounts(counts) {
            Some(d) => discounts.push(d),
            None => {
                discounts.push([0.5, 1.0, 1.5]);
                fallback.push(k as u8 + 1);
            }
        }
    }
    Ok(Derived {
        adjusted,
        suffixes,
        discounts,
        fallback,
    })
}

/// What step 3 wrote.
struct Written {
    child_counts: Vec<Part>,
    words: Vec<Part>,
    values: Vec<Part>,
    pruned: Vec<Part>,
    level_sizes: Vec<u64>,
    pruned_patterns: u64,
}

/// The children of one parent as step 3 goes through them.
#[derive(Default)]
struct Siblings {
    /// Those kept so far.
    kids: u32,
    /// The adjusted counts of those removed.
    mass: u32,
    /// The word stream's value of the last one kept.
    prev: Option<u32>,
}

impl Siblings {
    /// The parent's entries, when it is `kept`: its children kept and its removed mass; then
    /// the next parent's.
    fn close(&mut self, kept: bool, child_counts: &mut Stream, pruned: &mut Stream) -> Result<()> {
        if kept {
            child_counts.put(self.kids as u64)?;
            pruned.put(self.mass as u64)?;
        }
        *self = Siblings::default();
        Ok(())
    }
}

/// A pattern of step 3: its key, its count, its adjusted count and its suffix's place.
type Quad = (u128, u32, u32, u32);

/// Patterns a batch of step 3 holds.
const BATCH: usize = 1 << 14;

/// A level's patterns for step 3, each beside its adjusted count (its count at the top) and its
/// suffix's place.
struct Quads {
    records: In<(u128, u32)>,
    adjusted: Option<In<u32>>,
    suffixes: In<u32>,
}

impl Quads {
    /// Reads up to [`BATCH`] patterns into `out`; none at the end.
    fn fill(&mut self, out: &mut Vec<Quad>) -> Result<()> {
        out.clear();
        while out.len() < BATCH {
            let Some((key, count)) = self.records.next()? else {
                break;
            };
            let a = match self.adjusted.as_mut() {
                Some(a) => a.next_value()?,
                None => count,
            };
            out.push((key, count, a, self.suffixes.next_value()?));
        }
        Ok(())
    }

    /// Calls `f` with the patterns, batch by batch: read on a second thread where there are
    /// threads (decoding the files takes about as long as the rest), here otherwise.
    fn each_batch(mut self, f: &mut dyn FnMut(&[Quad]) -> Result<()>) -> Result<()> {
        if !crate::mem::native_extras() {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                self.fill(&mut batch)?;
                if batch.is_empty() {
                    return Ok(());
                }
                f(&batch)?;
            }
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Quad>>>(4);
        std::thread::scope(|scope| {
            scope.spawn(move || loop {
                let mut batch = Vec::with_capacity(BATCH);
                let read = self.fill(&mut batch);
                let end = read.is_err() || batch.is_empty();
                // A closed channel: the reader stopped at an error of its own.
                if tx.send(read.map(|()| batch)).is_err() || end {
                    return;
                }
            });
            loop {
                let batch = rx
                    .recv()
                    .map_err(|_| Error::internal("the reading thread stopped"))??;
                if batch.is_empty() {
                    return Ok(());
                }
                f(&batch)?;
            }
        })
    }
}

/// How far ahead reads at random places are asked for.
const AHEAD: usize = 16;

/// Step 3 (see the module docs): only `min_frequency` prunes here.
fn write_streams(lv: &mut Levels<'_>, d: &Derived, min_frequency: u32) -> Result<Written> {
    let order = lv.order;
    let bits = lv.bits;
    let v = lv.unigrams.len();
    let mut out = Written {
        child_counts: Vec::new(),
        words: Vec::new(),
        values: Vec::new(),
        pruned: Vec::new(),
        level_sizes: vec![v as u64],
        pruned_patterns: 0,
    };
    // Level 1: every word is kept; its values.
    let mut values = Stream::create(lv.temp, "values1")?;
    {
        let mut a = match &d.adjusted[0] {
            Some(p) => Some(In::<u32>::open(p)?),
            None => None,
        };
        for (w, &c) in lv.unigrams.iter().enumerate() {
            let x = match a.as_mut() {
                Some(a) => a.next_value()?,
                None if w as u32 == BOS || w as u32 == UNK => 0,
                None => c,
            };
            values.put(x as u64)?;
        }
    }
    out.values.push(values.finish()?);
    // The root's removed mass (its children, the words, all stay).
    let mut root = Stream::create(lv.temp, "pruned0")?;
    root.put(0)?;
    out.pruned.push(root.finish()?);
    // The level above's kept patterns and their ranks among their kept siblings.
    let mut kept_above: Vec<bool> = vec![true; v];
    let mut rank_above: Vec<u32> = (0..v as u32).collect();
    for k in 2..=order {
        let (path, size) = lv.files[k - 2].clone();
        let mut kept = vec![false; size as usize];
        let mut rank = vec![0u32; size as usize];
        let quads = Quads {
            records: In::<(u128, u32)>::open(&path)?,
            adjusted: match &d.adjusted[k - 1] {
                Some(p) => Some(In::<u32>::open(p)?),
                None => None,
            },
            suffixes: In::<u32>::open(
                d.suffixes[k - 1]
                    .as_ref()
                    .ok_or_else(|| Error::internal("no suffixes"))?,
            )?,
        };
        // The level above, in order: its keys, to find each pattern's parent.
        let mut parents: Box<dyn FnMut() -> Result<Option<u128>>> = if k == 2 {
            let mut w = 0u128;
            Box::new(move || {
                let out = (w < v as u128).then_some(w);
                w += 1;
                Ok(out)
            })
        } else {
            let mut r = In::<(u128, u32)>::open(&lv.files[k - 3].0)?;
            Box::new(move || Ok(r.next()?.map(|(key, _)| key)))
        };
        let mut child_counts = Stream::create(lv.temp, &format!("children{}", k - 1))?;
        let mut pruned = Stream::create(lv.temp, &format!("pruned{}", k - 1))?;
        let mut words = Stream::create(lv.temp, &format!("words{k}"))?;
        let mut values = Stream::create(lv.temp, &format!("values{k}"))?;
        let mut parent: Option<u128> = parents()?;
        let mut pq = 0usize;
        let mut group = Siblings::default();
        let mut kept_here = 0u64;
        let mut p = 0usize;
        // The level's patterns come in batches, read on a second thread where there are.
        let mut step = |batch: &[Quad]| -> Result<()> {
            for (i, &(key, count, a, s)) in batch.iter().enumerate() {
                let s = s as usize;
                // The level above is read at random places (the suffixes'): ask for them early.
                if let Some(ahead) = batch.get(i + AHEAD) {
                    crate::mem::prefetch_at(&kept_above, ahead.3 as usize);
                    crate::mem::prefetch_at(&rank_above, ahead.3 as usize);
                }
                let prefix = key >> bits;
                loop {
                    match parent {
                        Some(pk) if pk == prefix => break,
                        Some(pk) if pk < prefix => {
                            group.close(kept_above[pq], &mut child_counts, &mut pruned)?;
                            pq += 1;
                            parent = parents()?;
                        }
                        _ => {
                            return Err(Error::corrupted(
                                "count shard: a pattern's prefix is not counted",
                            ))
                        }
                    }
                }
                let keep = count >= min_frequency && kept_above[pq] && kept_above[s];
                if keep {
                    let x = if k == 2 {
                        (key & ((1u128 << bits) - 1)) as u32
                    } else {
                        rank_above[s]
                    };
                    words.put(match group.prev {
                        None => x as u64,
                        Some(pv) => (x - pv - 1) as u64,
                    })?;
                    group.prev = Some(x);
                    values.put(a as u64)?;
                    kept[p] = true;
                    rank[p] = group.kids;
                    group.kids += 1;
                    kept_here += 1;
                } else {
                    group.mass = group.mass.saturating_add(a);
                }
                p += 1;
            }
            Ok(())
        };
        quads.each_batch(&mut step)?;
        // The parents after the last pattern (they have no children).
        while parent.is_some() {
            group.close(kept_above[pq], &mut child_counts, &mut pruned)?;
            pq += 1;
            parent = parents()?;
        }
        out.pruned_patterns += size - kept_here;
        out.level_sizes.push(kept_here);
        out.child_counts.push(child_counts.finish()?);
        out.pruned.push(pruned.finish()?);
        out.words.push(words.finish()?);
        out.values.push(values.finish()?);
        kept_above = kept;
        rank_above = rank;
        lv.advance(0, size);
    }
    Ok(out)
}

/// The body's bytes, in order: small parts in memory, streams in files.
enum Piece {
    Bytes(Vec<u8>),
    Files(Vec<Part>),
}

/// The pieces' length and checksum, without reading their files.
fn sum_pieces(pieces: &[Piece]) -> (u64, u32) {
    let mut crc = crc32fast::Hasher::new();
    let mut len = 0;
    for piece in pieces {
        match piece {
            Piece::Bytes(b) => {
                crc.update(b);
                len += b.len() as u64;
            }
            Piece::Files(parts) => {
                for part in parts {
                    crc.combine(&part.crc);
                    len += part.len;
                }
            }
        }
    }
    (len, crc.finalize())
}

/// Writes the pieces to `w`.
fn write_pieces(pieces: &[Piece], w: &mut dyn Write) -> Result<()> {
    for piece in pieces {
        match piece {
            Piece::Bytes(b) => w.write_all(b).map_err(Error::io)?,
            Piece::Files(parts) => {
                for part in parts {
                    let mut r = io::BufReader::with_capacity(IO_BUF, part.path.open()?);
                    io::copy(&mut r, w).map_err(|e| io_err(&part.path, e))?;
                }
            }
        }
    }
    Ok(())
}

/// A stream's bytes as postcard frames them: its length, then them.
fn framed(files: Vec<Part>, pieces: &mut Vec<Piece>) {
    let len: u64 = files.iter().map(|p| p.len).sum();
    let mut b = Vec::new();
    put(&mut b, len);
    pieces.push(Piece::Bytes(b));
    pieces.push(Piece::Files(files));
}

/// Seconds of each step of a bounded build (0 where a clock is not available).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Steps {
    /// Merging the shards or runs into a file per level, in the model's order.
    pub merge: f64,
    /// Sorting each level by suffix: continuation counts, back-offs, discounts.
    pub derive: f64,
    /// Pruning and writing the model file's streams to temporary files.
    pub streams: f64,
    /// Copying the streams into the model file.
    pub write: f64,
}

/// What a bounded build made: the model file's figures.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Built {
    /// Bytes of the model file.
    pub file_bytes: u64,
    /// Patterns per order, 1 first.
    pub ngrams: Vec<u64>,
    /// Patterns removed by `min_frequency`.
    pub pruned_patterns: u64,
    /// Sentences of the text counted.
    pub sentences: u64,
    /// Tokens of the text counted, each sentence's `</s>` included.
    pub tokens: u64,
    /// Words of the vocabulary.
    pub vocab_size: usize,
    /// Seconds of each step of the build.
    pub steps: Steps,
    /// Runs the text was counted in ([`BoundedTrainer`](crate::BoundedTrainer)); 0 for a
    /// build from shards.
    pub runs: u64,
}

/// The model file of the merged `shards` with `opts`, written to `out`, within about `memory`
/// bytes, its temporary files in `store`: the bytes of [`CountShard::into_file`](
/// super::CountShard::into_file). Only `min_frequency` prunes here (not `max_patterns`).
pub(super) fn build<R: Read>(
    shards: Vec<super::read::Shard<R>>,
    opts: &TrainOptions,
    memory: u64,
    store: &Store,
    out: &mut dyn Write,
) -> Result<Built> {
    opts.validate()?;
    if opts.max_patterns > 0 {
        return Err(Error::option(
            "max_patterns",
            "is not available in bounded memory (use min_frequency or relative-entropy pruning on a model trained in memory)",
        ));
    }
    let mut temp = Temp::new(store);
    let mut lv = Levels::new(&mut temp, memory);
    let t0 = now_ms();
    super::merge::merge(shards, &mut lv)?;
    let merge_s = (now_ms() - t0) / 1e3;
    if lv.order != opts.max_pattern_length {
        return Err(Error::option(
            "max_pattern_length",
            format!(
                "the counts are of patterns of up to {} words, not {}",
                lv.order, opts.max_pattern_length
            ),
        ));
    }
    let mut built = finish(&mut lv, opts, out)?;
    built.steps.merge = merge_s;
    Ok(built)
}

/// Steps 2 to 4 (see the module docs), once each level is in trie order in its file.
pub(super) fn finish(
    lv: &mut Levels<'_>,
    opts: &TrainOptions,
    out: &mut dyn Write,
) -> Result<Built> {
    let t0 = now_ms();
    lv.advance(0, 0);
    let derived = derive(lv)?;
    let t1 = now_ms();
    let written = write_streams(lv, &derived, opts.min_frequency)?;
    let t2 = now_ms();
    let order = lv.order;
    let tokens =
        lv.unigrams.iter().map(|&c| c as u64).sum::<u64>() - lv.unigrams[BOS as usize] as u64;
    let training = TrainingStats {
        options: opts.clone(),
        bytes: lv.bytes,
        sentences: lv.sentences,
        tokens,
        discounts: derived.discounts.clone(),
        discount_fallback: derived.fallback.clone(),
        pruned_patterns: written.pruned_patterns,
    };
    // The body, field by field as postcard writes `format::Body`.
    let mut head = vec![order as u8];
    let vocab = lv.words.join("\n");
    put(&mut head, vocab.len() as u64);
    head.extend_from_slice(vocab.as_bytes());
    put(&mut head, written.level_sizes.len() as u64);
    for &n in &written.level_sizes {
        put(&mut head, n);
    }
    head.push(0); // KIND_COUNTS
    put(&mut head, derived.discounts.len() as u64);
    for d in &derived.discounts {
        for x in d {
            head.extend_from_slice(&x.to_le_bytes());
        }
    }
    let mut pieces = vec![Piece::Bytes(head)];
    let Written {
        child_counts,
        words,
        values,
        pruned,
        level_sizes,
        pruned_patterns,
    } = written;
    framed(child_counts, &mut pieces);
    framed(words, &mut pieces);
    framed(values, &mut pieces);
    if pruned_patterns > 0 {
        framed(pruned, &mut pieces);
    } else {
        pieces.push(Piece::Bytes(vec![0]));
    }
    let tail = postcard::to_allocvec(&Some(training))
        .map_err(|e| Error::internal(format!("training facts: {e}")))?;
    pieces.push(Piece::Bytes(tail));
    // The checksum and length first, then the header and the body.
    let (len, crc) = sum_pieces(&pieces);
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(&crc.to_le_bytes());
    out.write_all(&header).map_err(Error::io)?;
    write_pieces(&pieces, out)?;
    out.flush().map_err(Error::io)?;
    let t3 = now_ms();
    Ok(Built {
        file_bytes: HEADER_LEN as u64 + len,
        ngrams: level_sizes,
        pruned_patterns,
        sentences: lv.sentences,
        tokens,
        vocab_size: lv.words.len(),
        runs: 0,
        steps: Steps {
            derive: (t1 - t0) / 1e3,
            streams: (t2 - t1) / 1e3,
            write: (t3 - t2) / 1e3,
            ..Steps::default()
        },
    })
}
