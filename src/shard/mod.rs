//! Count shards: the raw counts of every pattern of 1..=order words of some text, in a file of
//! their own, that merge into the counts of all their texts at once.
//!
//! Counting is the part of training that grows with the corpus; a shard is its result, so a
//! corpus larger than one machine (or than one run's memory) is counted piece by piece, by any
//! batch engine, and the pieces merge into the model that training on all of the text at once
//! makes, byte for byte: [`Trainer::finish_counts`](crate::Trainer::finish_counts) counts,
//! [`CountShard::merge`] merges, [`CountShard::into_file`] smooths and writes the model.
//!
//! A shard's words are numbered in one order that every shard agrees on without knowing the
//! others: the reserved tokens (`<unk>`, `<s>`, `</s>`) first, then the words by their UTF-8
//! bytes. Each level lists its patterns sorted by those numbers, so merging is a k-way merge of
//! sorted streams that sums equal patterns, read front to back: no shard is ever held whole.
//! The model's own numbering (by falling frequency) is known only once every count is in, and is
//! applied after the merge (`renumber.rs`).
//!
//! The file (version 1):
//!
//! ```text
//! offset  size  field
//!      0     8  magic "UELMCNTS"
//!      8     2  format version (u16 LE), SHARD_VERSION
//!     10     2  flags (u16 LE), 0
//!     12     …  LEB128 varints:
//!                 order, bytes of text, sentences, V (words, the reserved three included)
//!                 V words: length, UTF-8 bytes (the reserved three, then strictly rising)
//!                 level 1: V counts, one per word, in word order
//!                 levels 2..=order: the patterns of k words, rising, each: the length of
//!                   the prefix it shares with the pattern before (< k), the rise of its next
//!                   word from that one's (≥ 1; the first pattern rises from one below word 0),
//!                   the words after it, its count (≥ 1); then k, which ends the level
//!   end - 4     4  CRC-32 of everything from offset 12 (u32 LE)
//! ```
//!
//! Nothing in it needs to be known before it is written (not even a level's size), so a merge
//! writes its shard as it goes ([`CountShard::merge_into`]). The checksum comes last, for the
//! same reason; a reader checks it when it
//! reaches it, and checks every field on the way (sorted words and patterns, words within the
//! vocabulary, a prefix for every pattern), so that no bytes make it panic or allocate more than
//! the bytes it has read justify.

mod build;
mod merge;
mod read;
mod records;
mod renumber;
mod runs;
mod store;
mod write;

use std::io::{Read, Write};

use crate::config::TrainOptions;
use crate::count::Counted;
pub use build::{Built, Steps};
pub use runs::bytes_per_token;
pub(crate) use runs::{changed_text, LevelRuns, Words};
pub use store::Disk;
pub(crate) use store::Store;

use crate::entropy::EntropyPruning;
use crate::error::{Error, Result};
use crate::model::{Model, ModelFile};
use crate::progress::Meter;
use crate::trie::Trie;

pub use crate::format::SHARD_MAGIC;
/// Shard format version this build reads and writes.
pub const SHARD_VERSION: u16 = 1;

/// The raw counts of every pattern of 1..=order words of some text (see the [module
/// docs](self)): what [`Trainer::finish_counts`](crate::Trainer::finish_counts) makes of the
/// text fed to it, or [`CountShard::merge`] of several such shards.
///
/// ```
/// use ultra_efficient_llm::{CountShard, TrainOptions, Trainer};
/// let opts = TrainOptions { max_pattern_length: 3, ..Default::default() };
/// let count = |text: &str| -> Result<Vec<u8>, ultra_efficient_llm::Error> {
///     let mut t = Trainer::new(opts.clone())?;
///     t.feed(text);
///     Ok(t.finish_counts()?.to_bytes())
/// };
/// let (a, b) = (count("the cat sat\n")?, count("the dog sat\n")?);
/// let merged = CountShard::merge([&a[..], &b[..]])?;
/// let mut t = Trainer::new(opts.clone())?;
/// t.feed("the cat sat\nthe dog sat\n");
/// assert_eq!(merged.into_file(&opts)?.bytes, t.finish_file()?.bytes);
/// # Ok::<(), ultra_efficient_llm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CountShard {
    /// The words in shard order: the reserved three, then by bytes.
    vocab: Vec<Box<str>>,
    /// The patterns, breadth-first, words numbered in shard order.
    trie: Trie,
    /// Raw count per node (the root's slot is 0).
    count: Vec<u32>,
    bytes: u64,
    sentences: u64,
}

impl CountShard {
    /// The longest patterns counted.
    pub fn order(&self) -> usize {
        self.trie.order()
    }

    /// Patterns counted, of every length (each word of the vocabulary is one).
    pub fn patterns(&self) -> u64 {
        self.trie.nodes() as u64 - 1
    }

    /// Words of the vocabulary, the reserved three (`<unk>`, `<s>`, `</s>`) included.
    pub fn vocab_len(&self) -> usize {
        self.vocab.len()
    }

    /// Bytes of text counted.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Sentences (non-empty lines) counted.
    pub fn sentences(&self) -> u64 {
        self.sentences
    }

    /// Its figures, as [`CountShard::merge_into`] reports them.
    pub fn summary(&self) -> Summary {
        Summary {
            order: self.order(),
            bytes: self.bytes,
            sentences: self.sentences,
            vocab_len: self.vocab_len(),
            patterns: self.patterns(),
        }
    }

    /// Writes the shard to `out` (see the [module docs](self) for the format).
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_to<W: Write>(&self, out: W) -> Result<()> {
        write::write(self, out).map_err(Error::io)
    }

    /// The shard's bytes, as [`CountShard::write_to`] writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a vector cannot fail.
        let _ = write::write(self, &mut out);
        out
    }

    /// Reads one shard.
    ///
    /// # Errors
    /// As [`CountShard::merge`].
    pub fn from_bytes(bytes: &[u8]) -> Result<CountShard> {
        Self::merge([bytes])
    }

    /// Merges shards: the counts of all their texts at once (equal patterns' counts summed, the
    /// bytes and sentences added). Each shard is read front to back, once, as the merge goes.
    ///
    /// # Errors
    /// [`Error::NotAModel`] for bytes that are not a count shard; [`Error::UnsupportedVersion`];
    /// [`Error::Corrupted`] for a damaged shard (a bad checksum or field) or shards of different
    /// orders; [`Error::Truncated`] for one that ends early; [`Error::Io`] when reading fails;
    /// [`Error::EmptyInput`] for no shard at all; [`Error::TooLarge`] beyond 2^32 - 1 patterns.
    pub fn merge<R: Read>(shards: impl IntoIterator<Item = R>) -> Result<CountShard> {
        let mut sink = merge::TrieSink::default();
        merge::merge(
            shards.into_iter().map(read::Shard::new).collect(),
            &mut sink,
        )?;
        Ok(sink.finish())
    }

    /// Merges shards as [`CountShard::merge`] does, writing the merged shard to `out` as the
    /// merge goes: its memory is the merged vocabulary's, whatever the counts' size. The bytes
    /// are those of [`CountShard::write_to`] of the merge.
    ///
    /// # Errors
    /// As [`CountShard::merge`]; [`Error::Io`] when writing fails.
    pub fn merge_into<R: Read, W: Write>(
        shards: impl IntoIterator<Item = R>,
        out: W,
    ) -> Result<Summary> {
        let mut sink = merge::WriteSink::new(out);
        merge::merge(
            shards.into_iter().map(read::Shard::new).collect(),
            &mut sink,
        )?;
        sink.finish()
    }

    /// The order of the shard that `r` starts with, from its head.
    ///
    /// # Errors
    /// As [`CountShard::merge`], for its head.
    pub fn order_of<R: Read>(r: R) -> Result<usize> {
        Ok(read::Shard::new(r).head()?.order)
    }

    /// Merges shards and smooths their counts into the model file that
    /// [`CountShard::into_file`] of their merge makes (the same bytes), written to `out`, in
    /// about `memory` bytes whatever the counts' size: the counts go through files in `dir`
    /// (removed at the end), sorted there, and the file's streams are written level by level
    /// (see `src/shard/build.rs`). Pruning by `min_frequency` only; at most 128 bits of words
    /// a pattern (order × the bits of a word id).
    ///
    /// # Errors
    /// As [`CountShard::merge`] and [`CountShard::into_file`]; [`Error::InvalidOption`] for
    /// `max_patterns`; [`Error::TooLarge`] beyond 128 bits a pattern; [`Error::Io`] when a
    /// temporary file or `out` fails.
    pub fn build_file<R: Read>(
        shards: impl IntoIterator<Item = R>,
        opts: &TrainOptions,
        memory: u64,
        dir: &std::path::Path,
        out: &mut dyn Write,
    ) -> Result<Built> {
        build::build(
            shards.into_iter().map(read::Shard::new).collect(),
            opts,
            memory,
            &Store::Dir(dir.to_path_buf()),
            out,
        )
    }

    /// Smooths the counts into a model, as [`Trainer::finish`](crate::Trainer::finish) does
    /// with the same `opts` (its `max_pattern_length` must be the shard's order).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for options out of range or of another order; as
    /// [`Trainer::finish`](crate::Trainer::finish).
    pub fn into_model(self, opts: &TrainOptions) -> Result<Model> {
        let (parts, suffix) = self.into_parts(opts, None)?;
        Model::from_parts(parts, Some(suffix), None, &Meter::none())
    }

    /// Smooths the counts into a model file, as
    /// [`Trainer::finish_file`](crate::Trainer::finish_file) does with the same `opts`: the
    /// same bytes as training on all the shards' text at once.
    ///
    /// # Errors
    /// As [`CountShard::into_model`].
    pub fn into_file(self, opts: &TrainOptions) -> Result<ModelFile> {
        let (parts, suffix) = self.into_parts(opts, None)?;
        ModelFile::from_parts(&parts, &suffix, &Meter::none())
    }

    /// [`CountShard::into_file`], then pruned by relative entropy (see [`EntropyPruning`]):
    /// what [`Trainer::set_entropy_pruning`](crate::Trainer::set_entropy_pruning) makes of the
    /// same text.
    ///
    /// # Errors
    /// As [`CountShard::into_file`]; [`Error::InvalidOption`] for a bad `entropy`.
    pub fn into_file_pruned(
        self,
        opts: &TrainOptions,
        entropy: EntropyPruning,
    ) -> Result<ModelFile> {
        let (parts, suffix) = self.into_parts(opts, Some(entropy))?;
        ModelFile::from_parts(&parts, &suffix, &Meter::none())
    }

    fn into_parts(
        self,
        opts: &TrainOptions,
        entropy: Option<EntropyPruning>,
    ) -> Result<(crate::parts::Parts, Vec<u32>)> {
        opts.validate()?;
        if let Some(e) = &entropy {
            e.validate()?;
        }
        if opts.max_pattern_length != self.order() {
            return Err(Error::option(
                "max_pattern_length",
                format!(
                    "the counts are of patterns of up to {} words, not {}",
                    self.order(),
                    opts.max_pattern_length
                ),
            ));
        }
        let (bytes, sentences) = (self.bytes, self.sentences);
        let (vocab, counted) = renumber::by_frequency(self)?;
        let tokens = counted.count[1..=vocab.len()]
            .iter()
            .map(|&c| c as u64)
            .sum::<u64>()
            - counted.count[1 + crate::vocab::BOS as usize] as u64;
        let text = crate::smooth::TextFacts {
            bytes,
            sentences,
            tokens,
        };
        let prune = entropy.map(crate::smooth::EntropyPrune::new);
        crate::smooth::parts_of(counted, vocab, opts, text, &Meter::none(), None, prune)
    }

    /// A shard of counts in shard order (`counted`'s suffix links are not kept).
    pub(crate) fn of_counted(
        vocab: Vec<Box<str>>,
        counted: Counted,
        bytes: u64,
        sentences: u64,
    ) -> CountShard {
        CountShard {
            vocab,
            trie: counted.trie,
            count: counted.count,
            bytes,
            sentences,
        }
    }
}

/// A shard's figures ([`CountShard::summary`]), and what [`CountShard::merge_into`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// The longest patterns counted.
    pub order: usize,
    /// Bytes of text counted.
    pub bytes: u64,
    /// Sentences counted.
    pub sentences: u64,
    /// Words of the vocabulary, the reserved three included.
    pub vocab_len: usize,
    /// Patterns counted, of every length (each word of the vocabulary is one).
    pub patterns: u64,
}

/// The bits of a word id among `v` words, as patterns pack their words into one key.
fn word_bits(v: usize) -> u32 {
    32 - (v.max(2) as u32 - 1).leading_zeros()
}

/// Calls `f` with the words of every pattern of level `k` of `trie`, in node order, and its node.
pub(crate) fn for_each_pattern(trie: &Trie, k: usize, mut f: impl FnMut(&[u32], usize)) {
    // `at[d]`: the node of level d on the path to the current node; each only moves forward.
    let mut at: Vec<usize> = (0..=k).map(|d| trie.level_start[d] as usize).collect();
    let mut words = vec![0u32; k];
    for node in trie.level(k) {
        at[k] = node;
        for d in (1..k).rev() {
            while (trie.child_start[at[d] + 1] as usize) <= at[d + 1] {
                at[d] += 1;
            }
        }
        for d in 1..=k {
            words[d - 1] = trie.word[at[d]];
        }
        f(&words, node);
    }
}

#[cfg(test)]
mod tests;
