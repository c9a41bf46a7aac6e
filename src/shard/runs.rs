//! The runs of a bounded training from text ([`BoundedTrainer`](crate::BoundedTrainer)): its
//! second pass counts the text in runs that fit the bound, in the model's numbering (known from
//! the first pass, which counted the words), so each run comes out of counting in the model's
//! trie order and goes to a file per level. The runs of a level merge into that level's file in
//! trie order, and the model file is written from the level files as
//! [`CountShard::build_file`](super::CountShard::build_file) writes it (see `build.rs`): the
//! same bytes as training in memory.
//!
//! The shards' path (counts numbered by spelling, merged, then each level sorted again into
//! the model's order) works on counts from anywhere; this one needs the text twice but skips a
//! sort and a write of every pattern.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

use super::build::{self, key_bits, Built, Levels, Temp};
use super::for_each_pattern;
use super::records::{In, Out};
use super::store::{Store, TempFile};
use crate::clock::now_ms;
use crate::config::TrainOptions;
use crate::count::Counted;
use crate::error::{Error, Result};

/// The words of the text in the model's numbering (the reserved ones first, then by falling
/// count, ties by spelling), their counts, and the bytes and sentences read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Words {
    pub(crate) words: Vec<Box<str>>,
    pub(crate) counts: Vec<u64>,
    pub(crate) bytes: u64,
    pub(crate) sentences: u64,
}

/// The error of a second pass that does not read what the first read.
pub(crate) fn changed_text() -> Error {
    Error::Io(
        "the text changed between the two passes of a bounded build (it must be read twice, the same)"
            .into(),
    )
}

/// The runs of the second pass: per level 2..=order, a file per run, each in trie order.
///
/// A run's file holds its patterns as varints: the rise of the key from the one before (the
/// first from 0), then the count; keys pack the words as in `build.rs`.
pub(crate) struct LevelRuns {
    temp: Temp,
    order: usize,
    vocab_len: usize,
    bits: u32,
    /// Per level (index k - 2), its runs' files.
    files: Vec<Vec<TempFile>>,
    runs: u64,
    /// The bound of the whole build.
    memory: u64,
}

impl LevelRuns {
    /// Runs in `store` of patterns of up to `order` words of `vocab_len` words, each counted
    /// within about `memory` bytes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when a pattern's words take more than 128 bits.
    pub(crate) fn new(
        store: &Store,
        order: usize,
        vocab_len: usize,
        memory: u64,
    ) -> Result<LevelRuns> {
        let bits = key_bits(vocab_len, order)?;
        Ok(LevelRuns {
            temp: Temp::new(store),
            order,
            vocab_len,
            bits,
            files: vec![Vec::new(); order.saturating_sub(1)],
            runs: 0,
            memory,
        })
    }

    /// The memory of a run ([`build::working_memory`]).
    fn run_memory(&self) -> u64 {
        build::working_memory(self.memory)
    }

    /// The tokens of the first run: as many as fit at [`bytes_per_token`], the figure of small
    /// runs.
    pub(crate) fn first_run(&self) -> usize {
        (self.run_memory() / bytes_per_token(self.order)).max(1) as usize
    }

    /// The tokens of the next run, after one of `tokens` tokens counted `patterns` patterns
    /// (of every length): 24 bytes a token and 14 a pattern, at the patterns a token brought in
    /// this run and a twentieth more (measured on text sampled from en-train, order 5: runs of
    /// 1 M and 4 M tokens peak at 88 and 235 MB within bounds of 100 and 300 MB, with freed
    /// memory given back, see `uellm`'s `release_freed_memory`). Longer runs bring fewer new
    /// patterns a token, so the runs grow towards the bound without passing it.
    pub(crate) fn next_run(&self, tokens: usize, patterns: usize) -> usize {
        let per_token = patterns as f64 / tokens.max(1) as f64;
        let bytes = 24.0 + 14.0 * 1.05 * per_token;
        ((self.run_memory() as f64 / bytes) as usize).max(1)
    }

    /// The words the runs are numbered for.
    pub(crate) fn vocab_len(&self) -> usize {
        self.vocab_len
    }

    /// Writes the patterns of 2 words and more of `counted` (counted from tokens in the
    /// model's numbering) as the next run.
    ///
    /// # Errors
    /// [`Error::Io`] when a file fails.
    pub(crate) fn add(&mut self, counted: &Counted) -> Result<()> {
        self.runs += 1;
        let bits = self.bits;
        for k in 2..=self.order {
            let mut out = Out::create(&mut self.temp, &format!("run-level{k}"))?;
            let mut failed = None;
            for_each_pattern(&counted.trie, k, |words, node| {
                let key = words.iter().fold(0u128, |acc, &w| acc << bits | w as u128);
                if failed.is_none() {
                    failed = out.put((key, counted.count[node])).err();
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            self.files[k - 2].push(out.finish()?.0);
        }
        Ok(())
    }

    /// The model file of the runs, with the first pass's `words`, written to `out` within
    /// about the runs' memory; `progress` is called with the share done as it goes (0 first;
    /// the caller reports the end).
    ///
    /// # Errors
    /// [`Error::Io`] when a file fails or `out` does; as [`CountShard::build_file`](
    /// super::CountShard::build_file).
    pub(crate) fn build(
        mut self,
        words: Words,
        opts: &TrainOptions,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Built> {
        progress(0.0);
        let t0 = now_ms();
        // Each level's runs merge apart from the others': two levels at a time, where there
        // are threads, the largest first, each to the thread with less to do so far.
        let mut jobs = Vec::with_capacity(self.files.len());
        for k in 2..=self.order {
            let runs = std::mem::take(&mut self.files[k - 2]);
            let size: u64 = runs.iter().map(TempFile::len).sum();
            let out = Out::create(&mut self.temp, &format!("level{k}"))?;
            jobs.push(Merge { k, size, runs, out });
        }
        jobs.sort_by_key(|j| std::cmp::Reverse(j.size));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut size_a, mut size_b) = (0, 0);
        for j in jobs {
            if size_a <= size_b {
                size_a += j.size;
                a.push(j);
            } else {
                size_b += j.size;
                b.push(j);
            }
        }
        // The two merges share the runs' memory for their read buffers.
        let share = self.run_memory() / 2;
        let (ra, rb) = crate::mem::join(|| merge_all(a, share), || merge_all(b, share));
        let mut merged = ra?;
        merged.extend(rb?);
        merged.sort_by_key(|m| m.0);
        let mut levels = Vec::with_capacity(merged.len());
        for (_, level, runs) in merged {
            for r in &runs {
                self.temp.remove(r);
            }
            levels.push(level);
        }
        let unigrams = words
            .counts
            .iter()
            .map(|&c| u32::try_from(c).unwrap_or(u32::MAX))
            .collect();
        let mut lv = Levels::of_runs(
            &mut self.temp,
            self.memory,
            self.order,
            self.bits,
            words.bytes,
            words.sentences,
            words.words,
            unigrams,
            levels,
        );
        let merge_s = (now_ms() - t0) / 1e3;
        lv.on_progress(progress);
        let mut built = build::finish(&mut lv, opts, out)?;
        built.runs = self.runs;
        built.steps.merge = merge_s;
        Ok(built)
    }
}

/// One level's merge: its runs, their bytes, and its file.
struct Merge {
    k: usize,
    size: u64,
    runs: Vec<TempFile>,
    out: Out<(u128, u32)>,
}

/// The level file of one merge and its patterns, and the runs merged (to remove).
type Merged = (usize, (TempFile, u64), Vec<TempFile>);

/// Merges each level of `jobs` into its file.
fn merge_all(jobs: Vec<Merge>, memory: u64) -> Result<Vec<Merged>> {
    let mut done = Vec::with_capacity(jobs.len());
    for mut j in jobs {
        let out = &mut j.out;
        merge_runs(&j.runs, memory, |key, count| out.put((key, count)))?;
        done.push((j.k, j.out.finish()?, j.runs));
    }
    Ok(done)
}

/// Runs merged by scanning their heads rather than through a heap.
const SCAN_MAX: usize = 8;

/// Calls `f` with every pattern of the `runs` in trie order (their read buffers within
/// `memory`), once, with its counts summed
/// (saturating, as merging shards does).
fn merge_runs(
    runs: &[TempFile],
    memory: u64,
    mut f: impl FnMut(u128, u32) -> Result<()>,
) -> Result<()> {
    let each = build::fan_in_buffer(memory, runs.len());
    let mut inputs = runs
        .iter()
        .map(|r| In::<(u128, u32)>::open_sized(r, each))
        .collect::<Result<Vec<_>>>()?;
    if let [only] = &mut inputs[..] {
        while let Some((k, c)) = only.next()? {
            f(k, c)?;
        }
        return Ok(());
    }
    if inputs.len() <= SCAN_MAX {
        // A few runs: the smallest head found by a scan, every head equal to it taken.
        let mut heads = inputs
            .iter_mut()
            .map(|r| r.next())
            .collect::<Result<Vec<_>>>()?;
        loop {
            let Some(key) = heads.iter().flatten().map(|h| h.0).min() else {
                return Ok(());
            };
            let mut count = 0u32;
            for (h, r) in heads.iter_mut().zip(&mut inputs) {
                if let Some((k, c)) = *h {
                    if k == key {
                        count = count.saturating_add(c);
                        *h = r.next()?;
                    }
                }
            }
            f(key, count)?;
        }
    }
    let mut counts = vec![0u32; inputs.len()];
    let mut heap = BinaryHeap::with_capacity(inputs.len());
    for (i, r) in inputs.iter_mut().enumerate() {
        if let Some((k, c)) = r.next()? {
            counts[i] = c;
            heap.push(Reverse((k, i)));
        }
    }
    let mut cur: Option<(u128, u32)> = None;
    while let Some(Reverse((k, i))) = heap.pop() {
        let c = counts[i];
        match &mut cur {
            Some((ck, cc)) if *ck == k => *cc = cc.saturating_add(c),
            _ => {
                if let Some((ck, cc)) = cur {
                    f(ck, cc)?;
                }
                cur = Some((k, c));
            }
        }
        if let Some((k2, c2)) = inputs[i].next()? {
            counts[i] = c2;
            heap.push(Reverse((k2, i)));
        }
    }
    if let Some((ck, cc)) = cur {
        f(ck, cc)?;
    }
    Ok(())
}

/// Memory a run takes per token of its text, at order `order`: the tokens and the counting's
/// arrays (about 24 bytes), and its patterns (about 12 bytes each). A token brings up to
/// `order - 1` new patterns of two words or more, the more the smaller the run: measured on
/// text sampled from en-train at order 5, 73 bytes a token in runs of 2 M tokens, 45 in runs
/// of 19 M; this takes the small runs' figure, so that a bound holds at any size.
pub fn bytes_per_token(order: usize) -> u64 {
    24 + 10 * order.min(8) as u64
}
