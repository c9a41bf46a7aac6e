//! Training from text in bounded memory, in two passes over the text: the first counts the
//! words, which gives the model's numbering (by falling frequency); the second counts the
//! patterns in runs that fit the bound, already numbered as the model numbers them (see
//! `src/shard/runs.rs`), and the model file is written from them level by level
//! (`src/shard/build.rs`): the same bytes as training in memory.

use std::io::Write;
use std::path::Path;

use crate::config::TrainOptions;
use crate::error::{Error, Result};
use crate::shard::{changed_text, Built, Disk, LevelRuns, Store, Words};
use crate::train::Trainer;

/// Training from text within a memory bound, in two passes over the same text: this is the
/// first, which counts the words; [`BoundedTrainer::second_pass`] starts the second, which
/// counts the patterns in runs that go to temporary files, and [`SecondPass::finish`] writes
/// the model file from them. The file is the one [`Trainer::finish_file`] makes of the same
/// text, byte for byte, with about `memory` bytes at most, beyond the vocabulary.
///
/// The text must be fed the same in both passes (however it is cut into calls); a second pass
/// that reads other text is an error. Pruning by `min_frequency` only (not `max_patterns`).
///
/// ```
/// use ultra_efficient_llm::{BoundedTrainer, TrainOptions};
/// let text = "the cat sat\nthe dog sat\n";
/// let opts = TrainOptions { max_pattern_length: 3, ..TrainOptions::default() };
/// let mut first = BoundedTrainer::new(opts.clone(), 64 << 20, &std::env::temp_dir())?;
/// first.feed(text);
/// let mut second = first.second_pass()?;
/// second.feed(text);
/// let mut file = Vec::new();
/// second.finish(&mut file)?;
///
/// let mut t = ultra_efficient_llm::Trainer::new(opts)?;
/// t.feed(text);
/// assert_eq!(file, t.finish_file()?.bytes);
/// # Ok::<(), ultra_efficient_llm::Error>(())
/// ```
pub struct BoundedTrainer {
    opts: TrainOptions,
    memory: u64,
    store: Store,
    words: Trainer,
}

/// The second pass of a [`BoundedTrainer`]: the patterns counted in runs.
pub struct SecondPass {
    opts: TrainOptions,
    words: Words,
    counting: Trainer,
    progress: Option<Box<dyn FnMut(f64)>>,
}

impl BoundedTrainer {
    /// The first pass of training with `opts` within about `memory` bytes, with temporary files
    /// in `dir`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for options out of range, or `max_patterns` (not available in
    /// bounded memory).
    pub fn new(opts: TrainOptions, memory: u64, dir: &Path) -> Result<BoundedTrainer> {
        BoundedTrainer::with_store(opts, memory, Store::Dir(dir.to_path_buf()))
    }

    /// As [`BoundedTrainer::new`], with the temporary files in blocks of one `disk` rather
    /// than in a folder: for a place with no folder of temporary files, as a browser's
    /// origin-private file system, where the WebAssembly bindings give a sync access handle.
    /// The disk grows to about the size of the largest level's files (a few bytes a pattern),
    /// and is cut back to 0 bytes when the build ends.
    ///
    /// # Errors
    /// As [`BoundedTrainer::new`].
    pub fn on_disk(opts: TrainOptions, memory: u64, disk: Box<dyn Disk>) -> Result<BoundedTrainer> {
        BoundedTrainer::with_store(opts, memory, Store::disk(disk))
    }

    fn with_store(opts: TrainOptions, memory: u64, store: Store) -> Result<BoundedTrainer> {
        opts.validate()?;
        if opts.max_patterns > 0 {
            return Err(Error::option(
                "max_patterns",
                "is not available in bounded memory (use min_frequency or relative-entropy pruning on a model trained in memory)",
            ));
        }
        Ok(BoundedTrainer {
            words: Trainer::words_only(opts.clone())?,
            opts,
            memory,
            store,
        })
    }

    /// Feeds text, as [`Trainer::feed`] does.
    pub fn feed(&mut self, text: &str) {
        self.words.feed(text);
    }

    /// Feeds raw bytes, as [`Trainer::feed_bytes`] does.
    ///
    /// # Errors
    /// As [`Trainer::feed_bytes`].
    pub fn feed_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.words.feed_bytes(bytes)
    }

    /// Bytes fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.words.bytes_seen()
    }

    /// Ends the first pass; the same text is to be fed again to the pass returned.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] when there is no sentence; [`Error::NotText`] when the input ends
    /// inside a UTF-8 character; [`Error::TooLarge`] when a pattern's words take more than 128
    /// bits (order × the bits of a word id).
    pub fn second_pass(self) -> Result<SecondPass> {
        let words = self.words.finish_words()?;
        let order = self.opts.max_pattern_length;
        let runs = LevelRuns::new(&self.store, order, words.words.len(), self.memory)?;
        let counting = Trainer::counting_levels(self.opts.clone(), &words, runs)?;
        Ok(SecondPass {
            opts: self.opts,
            words,
            counting,
            progress: None,
        })
    }
}

impl SecondPass {
    /// Feeds text, as [`Trainer::feed`] does: the text of the first pass again.
    pub fn feed(&mut self, text: &str) {
        self.counting.feed(text);
    }

    /// Feeds raw bytes, as [`Trainer::feed_bytes`] does.
    ///
    /// # Errors
    /// As [`Trainer::feed_bytes`].
    pub fn feed_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.counting.feed_bytes(bytes)
    }

    /// Bytes fed to this pass so far.
    pub fn bytes_seen(&self) -> u64 {
        self.counting.bytes_seen()
    }

    /// Has [`SecondPass::finish`] call `f` with the share of its work done: 0 first, then
    /// about once per level as each of the build's steps gets through it (merging the runs is
    /// the first fifth), and 1 once the file is written. Its shares follow the time that the
    /// steps took on 100 MB of text, not a measure of each one's work as [`Trainer`]'s do.
    pub fn on_progress(&mut self, f: impl FnMut(f64) + 'static) {
        self.progress = Some(Box::new(f));
    }

    /// Writes the model file to `out`; its temporary files are removed whatever happens.
    ///
    /// # Errors
    /// [`Error::Io`] when a temporary file or `out` fails, or when this pass did not read the
    /// first pass's text; [`Error::NotText`] when the input ends inside a UTF-8 character.
    pub fn finish(mut self, out: &mut dyn Write) -> Result<Built> {
        let (runs, seen) = self.counting.finish_levels()?;
        if seen != self.words {
            return Err(changed_text());
        }
        let mut progress = self.progress.take().unwrap_or_else(|| Box::new(|_| {}));
        let built = runs.build(self.words, &self.opts, out, &mut *progress)?;
        progress(1.0);
        Ok(built)
    }
}
