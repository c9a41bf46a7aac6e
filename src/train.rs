//! Training: count every pattern of 1..=order words in a stream of text, then smooth the counts
//! with interpolated modified Kneser-Ney (as KenLM's `lmplz` computes it) into a [`Model`].
//!
//! Text is fed incrementally ([`Trainer::feed`], [`Trainer::feed_bytes`]); the trainer keeps
//! only the token ids (4 bytes a token, less than the text), never the text.
//!
//! [`Trainer::finish`] counts level by level, and the counting itself lays the patterns out in
//! the final breadth-first [`Trie`] order. It keeps the occurrences of the current level grouped
//! by pattern, in node order (level 1: the positions of each word, by a counting sort). Every
//! occurrence of a k-gram is an occurrence of its (k-1)-word prefix followed by the next word, so
//! extending each occurrence by one word yields the k-gram occurrences already grouped by parent;
//! sorting each (mostly tiny) group by word puts equal k-grams together in exactly the order the
//! trie wants. One scan then numbers and counts them and lists their occurrences for the next
//! level. All passes are sequential over flat arrays, with no hash table and no per-pattern
//! allocation; suffix links and Kneser-Ney continuation counts follow from the finished trie.

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use crate::config::TrainOptions;
use crate::count::{count, Plan};
use crate::entropy::EntropyPruning;
use crate::error::{Error, Result};
use crate::mem;
use crate::model::{Model, ModelFile};
use crate::parts::Parts;
use crate::progress::{cost, Meter, Tick};
use crate::shard::{CountShard, LevelRuns, Words};
use crate::smooth::{parts_of, EntropyPrune, TextFacts};
use crate::tokenizer::tokenize;
use crate::vocab::{frequency_order, Vocab, BOS, EOS, RESERVED};

pub use crate::config::MAX_LINE_BYTES;

/// What the trainer is doing, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading text: [`Trainer::feed`] turns it into token ids as it comes.
    Counting,
    /// The first part of [`Trainer::finish`] (or [`Trainer::finish_file`]): counting the
    /// patterns of the text, computing their discounts, pruning.
    Smoothing,
    /// The rest of it: writing the model file and, for [`Trainer::finish`], building the
    /// generation index.
    Indexing,
    /// Finished.
    Done,
}

/// A progress report: `bytes_seen` of `bytes_total` (when the total was announced), and how much
/// of the build is done.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Bytes of text fed so far.
    pub bytes_seen: u64,
    /// Bytes announced with [`Trainer::set_total_bytes`], if any.
    pub bytes_total: Option<u64>,
    /// How much of the build ([`Trainer::finish`] or [`Trainer::finish_file`]) is done, from 0
    /// to 1: 0 while text is fed ([`Phase::Counting`]), then rising through
    /// [`Phase::Smoothing`] and [`Phase::Indexing`] with the work done, never going back, and
    /// 1 at [`Phase::Done`] (and only there). See [`Trainer::on_progress`].
    pub fraction: f64,
}

/// Incremental trainer: feed text, then [`Trainer::finish`] into a [`Model`].
///
/// ```
/// use ultra_efficient_llm::{Trainer, TrainOptions};
/// let mut t = Trainer::new(TrainOptions { max_pattern_length: 3, ..Default::default() })?;
/// t.feed("the cat sat on the mat.\nthe dog sat on the cat.\n");
/// let model = t.finish()?;
/// assert_eq!(model.info().order, 3);
/// # Ok::<(), ultra_efficient_llm::Error>(())
/// ```
pub struct Trainer {
    opts: TrainOptions,
    vocab: Vocab,
    /// Every sentence as `<s> w1 … wm </s>`, in vocabulary ids of first sight.
    tokens: Vec<u32>,
    /// Occurrences per word id.
    freq: Vec<u64>,
    pending: String,
    pending_bytes: Vec<u8>,
    bytes_seen: u64,
    bytes_total: Option<u64>,
    sentences: u64,
    progress: Option<Box<dyn FnMut(Progress)>>,
    entropy: Option<EntropyPrune>,
    spill: Option<Spill>,
    /// Only the words are counted, no token kept: the first pass of a
    /// [`BoundedTrainer`](crate::BoundedTrainer).
    words_only: bool,
}

/// Counting in runs ([`Trainer::spill_counts`]): the tokens a run may hold, what takes each
/// run's counts, how many it took, and its first error.
struct Spill {
    tokens: usize,
    to: SpillTo,
    runs: u64,
    failed: Option<Error>,
}

/// Where the runs' counts go.
enum SpillTo {
    /// To the caller of [`Trainer::spill_counts`], as count shards.
    Shards(Box<dyn FnMut(CountShard) -> Result<()>>),
    /// To a bounded build's files, in the model's numbering (the second pass of a
    /// [`BoundedTrainer`](crate::BoundedTrainer), whose vocabulary is known).
    Levels(LevelRuns),
}

impl Trainer {
    /// A trainer with validated options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when an option is out of range.
    pub fn new(opts: TrainOptions) -> Result<Self> {
        opts.validate()?;
        Ok(Trainer {
            opts,
            vocab: Vocab::new(),
            tokens: Vec::new(),
            freq: vec![0; RESERVED as usize],
            pending: String::new(),
            pending_bytes: Vec::new(),
            bytes_seen: 0,
            bytes_total: None,
            sentences: 0,
            progress: None,
            entropy: None,
            spill: None,
            words_only: false,
        })
    }

    /// A trainer that counts only the words (their spellings and counts), keeping no token:
    /// the first pass of a bounded build.
    pub(crate) fn words_only(opts: TrainOptions) -> Result<Self> {
        let mut t = Trainer::new(opts)?;
        t.words_only = true;
        Ok(t)
    }

    /// The end of a [`Trainer::words_only`] pass: the words in the model's numbering (by
    /// falling frequency, ties by spelling, the reserved ones first) and their counts.
    ///
    /// # Errors
    /// As [`Trainer::finish`] for empty or cut input.
    pub(crate) fn finish_words(mut self) -> Result<Words> {
        self.end_input(false)?;
        let v = self.vocab.len();
        let by_freq = frequency_order(v, |w| self.freq[w as usize], |w| self.vocab.word(w));
        let order: Vec<u32> = (0..RESERVED).chain(by_freq).collect();
        Ok(Words {
            words: order
                .iter()
                .map(|&w| Box::from(self.vocab.word(w)))
                .collect(),
            counts: order.iter().map(|&w| self.freq[w as usize]).collect(),
            bytes: self.bytes_seen,
            sentences: self.sentences,
        })
    }

    /// A trainer whose words are numbered as `words` are (the model's numbering, so that
    /// counting lays the patterns out in the model's order), counting into `runs` in runs that
    /// fit their memory (see [`LevelRuns::first_run`]): the second pass of a bounded build.
    pub(crate) fn counting_levels(
        opts: TrainOptions,
        words: &Words,
        runs: LevelRuns,
    ) -> Result<Self> {
        let tokens = runs.first_run();
        let mut t = Trainer::new(opts)?;
        t.vocab = Vocab::from_words(words.words.iter())
            .ok_or_else(|| Error::internal("the first pass's words do not make a vocabulary"))?;
        t.freq = vec![0; t.vocab.len()];
        t.spill = Some(Spill {
            tokens: tokens.max(1),
            to: SpillTo::Levels(runs),
            runs: 0,
            failed: None,
        });
        Ok(t)
    }

    /// The end of a [`Trainer::counting_levels`] pass: its last run counted, its runs and
    /// what it read (to check against the first pass).
    ///
    /// # Errors
    /// The first error of a run; as [`Trainer::finish`] for cut input.
    pub(crate) fn finish_levels(mut self) -> Result<(LevelRuns, Words)> {
        self.end_input(true)?;
        if !self.tokens.is_empty() {
            self.spill_run();
        }
        let spill = self
            .spill
            .take()
            .ok_or_else(|| Error::internal("a counting pass without runs"))?;
        if let Some(e) = spill.failed {
            return Err(e);
        }
        let SpillTo::Levels(runs) = spill.to else {
            return Err(Error::internal("a counting pass with shards"));
        };
        let seen = Words {
            words: self.vocab.words().map(Box::from).collect(),
            counts: self.freq,
            bytes: self.bytes_seen,
            sentences: self.sentences,
        };
        Ok((runs, seen))
    }

    /// Prunes the model by relative entropy as well (see [`EntropyPruning`]), after
    /// `min_frequency` and `max_patterns`; `None` (the default) does not. The choice is not
    /// part of [`TrainOptions`], which the model file stores in a fixed form; the patterns it
    /// removes count in [`TrainingStats::pruned_patterns`](crate::TrainingStats).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a bad value ([`EntropyPruning::validate`]).
    pub fn set_entropy_pruning(&mut self, entropy: Option<EntropyPruning>) -> Result<()> {
        if let Some(e) = &entropy {
            e.validate()?;
        }
        self.entropy = entropy.map(EntropyPrune::new);
        Ok(())
    }

    /// Announces how many bytes will be fed in all, for progress reports and to size buffers.
    pub fn set_total_bytes(&mut self, total: u64) {
        self.bytes_total = Some(total);
        // Prose has about one token per 4.5 bytes.
        let expect = (total / 4).min(1 << 30) as usize;
        self.tokens
            .reserve(expect.saturating_sub(self.tokens.len()));
    }

    /// Bytes of text fed so far (a character split across [`Trainer::feed_bytes`] calls counts
    /// once it is complete).
    pub fn bytes_seen(&self) -> u64 {
        self.bytes_seen
    }

    /// Calls `f` after every fed chunk ([`Phase::Counting`], `fraction` 0) and during
    /// [`Trainer::finish`] or [`Trainer::finish_file`]: at the start of each of its phases
    /// ([`Phase::Smoothing`] with `fraction` 0, [`Phase::Indexing`], [`Phase::Done`] with 1),
    /// and in between each time the build's `fraction` has grown by 1/200 (so at most about 200
    /// times, however large the text).
    ///
    /// The fraction is the share of the build's work done: each pass (counting the patterns of
    /// each length, their suffix links, the discounts, pruning, writing the file, the index)
    /// adds its items as it goes, weighted by what an item of that pass costs (measured), so the
    /// fraction follows the time. The number of patterns is known only once they are counted:
    /// until then the work still to come is taken at its upper bound (a text of `n` tokens has
    /// at most `n` patterns of each length), so the fraction may jump ahead when the counting
    /// ends, never back. Reporting costs nothing measurable: a few hundred calls per build.
    pub fn on_progress(&mut self, f: impl FnMut(Progress) + 'static) {
        self.progress = Some(Box::new(f));
    }

    fn report(&mut self, phase: Phase) {
        let p = Progress {
            phase,
            bytes_seen: self.bytes_seen,
            bytes_total: self.bytes_total,
            fraction: 0.0,
        };
        if let Some(f) = self.progress.as_mut() {
            f(p);
        }
    }

    /// Feeds text. Lines may be split across calls: a line is counted when its newline (or the
    /// end of input in [`Trainer::finish`]) arrives.
    ///
    /// A line longer than [`MAX_LINE_BYTES`] is counted as several sentences. While more than
    /// `MAX_LINE_BYTES` of it remain, a sentence is cut off its front: up to the last whitespace
    /// character that starts within its first `MAX_LINE_BYTES` bytes (that character is dropped),
    /// or, when there is none after its first byte, at the last character boundary within
    /// them. The cuts depend on the line alone, never on how it was split across calls, and
    /// cost linear time; the trainer holds at most `MAX_LINE_BYTES` plus one call's text.
    pub fn feed(&mut self, text: &str) {
        self.bytes_seen += text.len() as u64;
        let mut rest = text;
        while let Some(nl) = rest.find('\n') {
            let (line, tail) = rest.split_at(nl);
            rest = &tail[1..];
            if self.pending.is_empty() {
                let used = self.add_long_line_front(line);
                self.add_line(&line[used..]);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.push_str(line);
                let used = self.add_long_line_front(&whole);
                self.add_line(&whole[used..]);
                whole.clear();
                self.pending = whole;
            }
        }
        self.pending.push_str(rest);
        if self.pending.len() > MAX_LINE_BYTES {
            let pending = std::mem::take(&mut self.pending);
            let used = self.add_long_line_front(&pending);
            self.pending = pending;
            self.pending.drain(..used);
        }
        self.report(Phase::Counting);
    }

    /// Counts the sentences cut off the front of an unfinished `line` while more than
    /// [`MAX_LINE_BYTES`] of it remain (the rule in [`Trainer::feed`]); returns the bytes used.
    fn add_long_line_front(&mut self, line: &str) -> usize {
        let mut start = 0;
        while line.len() - start > MAX_LINE_BYTES {
            let (end, next) = long_line_cut(&line[start..]);
            self.add_line(&line[start..start + end]);
            start += next;
        }
        start
    }

    /// Feeds raw bytes that must be UTF-8 text; a multi-byte character may be split across calls.
    ///
    /// # Errors
    /// [`Error::NotText`] on a NUL byte (binary data) or invalid UTF-8, with the byte offset.
    pub fn feed_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        // `bytes_seen` counts what was fed as text; held-back bytes of a split character
        // follow it directly.
        let base = self.bytes_seen;
        if let Some(i) = bytes.iter().position(|&b| b == 0) {
            return Err(Error::NotText(format!(
                "binary data (a NUL byte) at byte {}",
                base + (self.pending_bytes.len() + i) as u64
            )));
        }
        let mut buf = std::mem::take(&mut self.pending_bytes);
        buf.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&buf) {
            Ok(_) => buf.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                return Err(Error::NotText(format!(
                    "invalid UTF-8 at byte {}",
                    base + e.valid_up_to() as u64
                )))
            }
        };
        let text = std::str::from_utf8(&buf[..valid])
            .map_err(|_| Error::NotText("invalid UTF-8".into()))?;
        self.feed(text);
        self.pending_bytes = buf[valid..].to_vec();
        Ok(())
    }

    /// Appends one line's tokens as a sentence (nothing for a line without tokens).
    fn add_line(&mut self, line: &str) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if self
            .spill
            .as_ref()
            .is_some_and(|s| self.tokens.len() >= s.tokens && s.failed.is_none())
            && tokenize(line).next().is_some()
        {
            self.spill_run();
        }
        // A words-only pass counts the words and keeps no token.
        let keep = !self.words_only;
        let start = self.tokens.len();
        let mut words = 0usize;
        if keep {
            self.tokens.push(BOS);
        }
        for tok in tokenize(line) {
            let id = self.vocab.insert(tok);
            if id as usize == self.freq.len() {
                self.freq.push(0);
            }
            self.freq[id as usize] += 1;
            if keep {
                self.tokens.push(id);
            }
            words += 1;
        }
        if words == 0 {
            self.tokens.truncate(start);
            return;
        }
        if keep {
            self.tokens.push(EOS);
        }
        self.freq[BOS as usize] += 1;
        self.freq[EOS as usize] += 1;
        self.sentences += 1;
    }

    /// Counts, smooths and indexes everything fed.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] when no token was fed; [`Error::NotText`] when the input ends inside
    /// a UTF-8 character.
    pub fn finish(mut self) -> Result<Model> {
        self.finishing(true, |parts, suffix, meter| {
            Model::from_parts(parts, Some(suffix), None, meter)
        })
    }

    /// Counts and smooths everything fed into a model file, without the generation index that
    /// [`Trainer::finish`] builds as well: for a model that is stored or handed on rather than
    /// used here (the browser's training worker). [`Model::from_vec`] of its bytes is the
    /// model [`Trainer::finish`] returns.
    ///
    /// # Errors
    /// As [`Trainer::finish`].
    pub fn finish_file(mut self) -> Result<ModelFile> {
        self.finishing(false, |parts, suffix, meter| {
            ModelFile::from_parts(&parts, &suffix, meter)
        })
    }

    /// [`Trainer::build`], then `make` of its parts (the phase [`Phase::Indexing`]), with
    /// progress reports (see [`Trainer::on_progress`]); `with_index`: whether `make` builds the
    /// generation index.
    fn finishing<R>(
        &mut self,
        with_index: bool,
        make: impl FnOnce(Parts, Vec<u32>, &Meter) -> Result<R>,
    ) -> Result<R> {
        if self.spill.is_some() || self.words_only {
            return Err(Error::option(
                "spill_counts",
                "a trainer that counts in runs is finished with finish_counts",
            ));
        }
        let mut sink = self.progress.take();
        let listening = sink.is_some();
        let phase = Cell::new(Phase::Smoothing);
        let (bytes_seen, bytes_total) = (self.bytes_seen, self.bytes_total);
        let mut report = |fraction: f64| {
            if let Some(f) = sink.as_mut() {
                f(Progress {
                    phase: phase.get(),
                    bytes_seen,
                    bytes_total,
                    fraction,
                });
            }
        };
        let meter = if listening {
            Meter::new(&mut report)
        } else {
            Meter::none()
        };
        let out = self.build(&meter, with_index).and_then(|(parts, suffix)| {
            phase.set(Phase::Indexing);
            meter.report();
            make(parts, suffix, &meter)
        });
        if out.is_ok() {
            // Every pass added exactly the work the total counts for it.
            debug_assert_eq!(meter.done(), meter.total());
            phase.set(Phase::Done);
            meter.finish();
        }
        out
    }

    /// Counts and smooths: the model's parts and the trie's suffix links. Reports the start
    /// of [`Phase::Smoothing`] to `meter` and sets its total to the work of the whole build
    /// (with the index when `with_index`), as far as it is known (see [`Plan`]).
    fn build(&mut self, meter: &Meter, with_index: bool) -> Result<(Parts, Vec<u32>)> {
        self.end_input(false)?;
        meter.report();
        let order = self.opts.max_pattern_length;
        let mut tokens = std::mem::take(&mut self.tokens);
        let mut plan = self.plan(tokens.len() as u64, with_index);
        meter.set_total(plan.units());
        let vocab = self.renumber_by_frequency(&mut tokens, meter)?;
        let counted = count(&tokens, vocab.len(), order, true, meter, &mut plan)?;
        drop(tokens);
        let text = self.text_facts();
        parts_of(
            counted,
            vocab,
            &self.opts,
            text,
            meter,
            Some(&plan),
            self.entropy,
        )
    }

    /// Counts everything fed, without smoothing: the raw counts of every pattern, as a
    /// [`CountShard`] that merges with others ([`CountShard::merge`]) into the counts of all
    /// their texts, and then into the model that training on all of it at once makes.
    ///
    /// After [`Trainer::spill_counts`], the counts of the text fed since the last run: the
    /// runs and this merge into the counts of all of it (this one holds the bytes of all the
    /// text, and may hold no sentence).
    ///
    /// # Errors
    /// As [`Trainer::finish`]; the first error of a run's spill.
    pub fn finish_counts(mut self) -> Result<CountShard> {
        if self.words_only {
            return Err(Error::internal("finish_counts of a words-only pass"));
        }
        // The last line first: it may start a last run.
        self.end_line();
        let spilled = match self.spill.as_mut() {
            Some(Spill {
                to: SpillTo::Levels(_),
                ..
            }) => return Err(Error::internal("finish_counts of a level-run pass")),
            Some(s) => {
                if let Some(e) = s.failed.take() {
                    return Err(e);
                }
                s.runs > 0
            }
            None => false,
        };
        // After runs, the text since the last one may hold no sentence.
        self.end_input(spilled)?;
        let bytes = self.bytes_seen;
        self.run_counts(bytes)
    }

    /// Counts in runs of at most about `tokens` tokens, for a memory bound: once that many
    /// have been fed, the counts of the text so far go to `to` as a [`CountShard`] (whose
    /// bytes are 0: [`Trainer::finish_counts`] gives the last run all of them), and the trainer
    /// starts afresh at the next line. The runs, and the counts `finish_counts` returns, merge
    /// ([`CountShard::merge`], [`CountShard::merge_into`]) into the counts of all the text:
    /// `uellm count --memory` writes each run to a temporary file and merges them into its
    /// output. Only `finish_counts` finishes such a trainer.
    ///
    /// The first error of `to` stops the runs; `finish_counts` returns it.
    pub fn spill_counts(
        &mut self,
        tokens: usize,
        to: impl FnMut(CountShard) -> Result<()> + 'static,
    ) {
        self.spill = Some(Spill {
            tokens: tokens.max(1),
            to: SpillTo::Shards(Box::new(to)),
            runs: 0,
            failed: None,
        });
    }

    /// Hands the counts of the text fed since the last run to the spill, and starts afresh.
    fn spill_run(&mut self) {
        let levels = matches!(
            self.spill,
            Some(Spill {
                to: SpillTo::Levels(_),
                ..
            })
        );
        let run = if levels {
            self.level_run()
        } else {
            self.shard_run()
        };
        if let (Some(s), Err(e)) = (self.spill.as_mut(), run) {
            s.failed = Some(e);
        }
    }

    /// Hands the counts of the tokens fed since the last run to the caller, as a shard.
    fn shard_run(&mut self) -> Result<()> {
        let shard = self.run_counts(0)?;
        let Some(Spill {
            to: SpillTo::Shards(to),
            runs,
            ..
        }) = self.spill.as_mut()
        else {
            return Err(Error::internal("a shard run without its taker"));
        };
        *runs += 1;
        to(shard)
    }

    /// Counts the tokens fed since the last run (in the model's numbering) into the next of
    /// the bounded build's runs; the tokens start afresh.
    fn level_run(&mut self) -> Result<()> {
        let order = self.opts.max_pattern_length;
        let mut plan = self.plan(self.tokens.len() as u64, false);
        let tokens = std::mem::take(&mut self.tokens);
        let v = self.vocab.len();
        let Some(Spill {
            tokens: limit,
            to: SpillTo::Levels(runs),
            runs: n,
            ..
        }) = self.spill.as_mut()
        else {
            return Err(Error::internal("a level run without its runs"));
        };
        *n += 1;
        // A word the first pass did not see: the text is not the same.
        if v != runs.vocab_len() {
            return Err(crate::shard::changed_text());
        }
        let counted = count(&tokens, v, order, false, &Meter::none(), &mut plan)?;
        *limit = runs.next_run(tokens.len(), counted.trie.word.len());
        drop(tokens);
        runs.add(&counted)
    }

    /// The counts of the tokens fed since the last run, in the shards' numbering, with `bytes`;
    /// the trainer's tokens, vocabulary and sentences start afresh.
    fn run_counts(&mut self, bytes: u64) -> Result<CountShard> {
        let order = self.opts.max_pattern_length;
        let mut plan = self.plan(self.tokens.len() as u64, false);
        let mut tokens = std::mem::take(&mut self.tokens);
        let vocab = std::mem::take(&mut self.vocab);
        self.freq = vec![0; RESERVED as usize];
        let sentences = std::mem::take(&mut self.sentences);
        // The shards' numbering: the reserved words, then the others by spelling.
        let v = vocab.len();
        let mut by_spelling: Vec<u32> = (RESERVED..v as u32).collect();
        by_spelling.sort_unstable_by(|&a, &b| vocab.word(a).cmp(vocab.word(b)));
        let mut new_word: Vec<u32> = (0..v as u32).collect();
        for (rank, &old) in by_spelling.iter().enumerate() {
            new_word[old as usize] = RESERVED + rank as u32;
        }
        for t in &mut tokens {
            *t = new_word[*t as usize];
        }
        let words: Vec<Box<str>> = (0..RESERVED)
            .chain(by_spelling)
            .map(|id| Box::from(vocab.word(id)))
            .collect();
        drop(vocab);
        let counted = count(&tokens, v, order, false, &Meter::none(), &mut plan)?;
        drop(tokens);
        Ok(CountShard::of_counted(words, counted, bytes, sentences))
    }

    /// The vocabulary and raw counts of everything fed, in the model's numbering (for tests
    /// of what is computed from them).
    #[cfg(test)]
    pub(crate) fn counted(mut self) -> Result<(Vocab, crate::count::Counted)> {
        self.end_input(false)?;
        let mut tokens = std::mem::take(&mut self.tokens);
        let mut plan = self.plan(tokens.len() as u64, false);
        let vocab = self.renumber_by_frequency(&mut tokens, &Meter::none())?;
        let order = self.opts.max_pattern_length;
        let counted = count(&tokens, vocab.len(), order, true, &Meter::none(), &mut plan)?;
        Ok((vocab, counted))
    }

    /// What the training facts say of the text fed.
    fn text_facts(&self) -> TextFacts {
        TextFacts {
            bytes: self.bytes_seen,
            sentences: self.sentences,
            tokens: self.freq.iter().sum::<u64>() - self.freq[BOS as usize],
        }
    }

    /// Ends the input: counts a last line without a newline.
    ///
    /// # Errors
    /// [`Error::NotText`] when the bytes fed end inside a UTF-8 character;
    /// [`Error::EmptyInput`] when there is no sentence, unless `may_be_empty` (after runs).
    fn end_input(&mut self, may_be_empty: bool) -> Result<()> {
        self.end_line();
        if !self.pending_bytes.is_empty() {
            return Err(Error::NotText(
                "the input ends inside a UTF-8 character".into(),
            ));
        }
        if self.sentences == 0 && !may_be_empty {
            return Err(Error::EmptyInput);
        }
        Ok(())
    }

    /// Counts a last line without a newline.
    fn end_line(&mut self) {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.add_line(&last);
        }
    }

    /// The build's work as known before counting, for `tokens` tokens.
    fn plan(&self, tokens: u64, with_index: bool) -> Plan {
        Plan {
            tokens,
            vocab: self.vocab.len() as u64,
            order: self.opts.max_pattern_length,
            with_index,
            ranks: self.opts.max_patterns > 0,
            may_prune: self.opts.max_patterns > 0
                || self.opts.min_frequency > 1
                || self.entropy.is_some(),
            occurrences: vec![tokens],
            nodes: vec![self.vocab.len() as u64],
        }
    }

    /// Renumbers words by falling frequency (ties by spelling): frequent words get small ids,
    /// hence small varints in the model file and index entries that sit together.
    fn renumber_by_frequency(&self, tokens: &mut [u32], meter: &Meter) -> Result<Vocab> {
        let v = self.vocab.len();
        let by_freq = frequency_order(v, |w| self.freq[w as usize], |w| self.vocab.word(w));
        let mut new_word: Vec<u32> = (0..v as u32).collect();
        for (rank, &old) in by_freq.iter().enumerate() {
            new_word[old as usize] = RESERVED + rank as u32;
        }
        mem::for_chunks(0..tokens.len(), |r| {
            meter.add(cost::RENUMBER * r.len() as u64);
            for t in &mut tokens[r] {
                *t = new_word[*t as usize];
            }
        });
        Vocab::from_words(
            (0..RESERVED)
                .chain(by_freq.iter().copied())
                .map(|id| self.vocab.word(id)),
        )
        .ok_or_else(|| Error::internal("vocabulary rebuild failed"))
    }
}

/// Where the front sentence of a line longer than [`MAX_LINE_BYTES`] ends (`end`) and the rest
/// begins (`next`): at the last whitespace character starting within the first
/// `MAX_LINE_BYTES` bytes, after the first byte (the whitespace is dropped); without one, at the
/// last character boundary within them. `next` is always past 0, so every cut makes progress,
/// and the bytes scanned between two cuts add up to linear time: after a cut at whitespace, the
/// scanned stretch beyond it holds none, so the next cut lies past the current window.
fn long_line_cut(line: &str) -> (usize, usize) {
    let mut limit = MAX_LINE_BYTES;
    while !line.is_char_boundary(limit) {
        limit -= 1;
    }
    // A whitespace character starting at `limit` itself still ends the window's sentence.
    let window_end = line[limit..]
        .chars()
        .next()
        .map_or(limit, |c| limit + c.len_utf8());
    match line[..window_end]
        .char_indices()
        .rev()
        .find(|&(i, c)| i > 0 && c.is_whitespace())
    {
        Some((i, c)) => (i, i + c.len_utf8()),
        None => (limit, limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_file_is_the_file_and_summary_of_finish() {
        let text = "the cat sat on the mat .\nthe dog sat on the cat .\na cat and a dog .\n";
        let pruning = [(1, 0), (2, 0), (1, 12)];
        for (min_frequency, max_patterns) in pruning {
            let opts = TrainOptions {
                max_pattern_length: 4,
                min_frequency,
                max_patterns,
            };
            let trained = |opts: &TrainOptions| {
                let mut t = Trainer::new(opts.clone()).unwrap();
                t.feed(text);
                t
            };
            let model = trained(&opts).finish().unwrap();
            let file = trained(&opts).finish_file().unwrap();
            assert_eq!(file.bytes, model.to_bytes());
            assert_eq!(file.info, model.info());
            assert_eq!(Model::from_vec(file.bytes).unwrap().info(), file.info);
        }
    }

    #[test]
    fn lines_split_across_feeds_count_once() {
        let whole = {
            let mut t = Trainer::new(TrainOptions::default()).unwrap();
            t.feed("a b c\nd e\n");
            t.finish().unwrap()
        };
        let split = {
            let mut t = Trainer::new(TrainOptions::default()).unwrap();
            t.feed("a b");
            t.feed(" c\nd");
            t.feed(" e\n");
            t.finish().unwrap()
        };
        assert_eq!(whole.to_bytes(), split.to_bytes());
    }

    #[test]
    fn utf8_split_across_chunks_is_accepted_and_nul_rejected() {
        let text = "año ¿qué?\n".as_bytes();
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        for b in text {
            t.feed_bytes(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(t.finish().unwrap().info().vocab_size, 3 + 4);
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        assert!(matches!(t.feed_bytes(b"ab\0c"), Err(Error::NotText(_))));
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        assert!(matches!(t.feed_bytes(b"ab\xffc"), Err(Error::NotText(_))));
    }

    /// A text with lines over [`MAX_LINE_BYTES`]: words and two-byte characters around the
    /// cut points, a word longer than the limit (a cut without whitespace), short lines between.
    fn over_long_lines() -> String {
        let mut text = String::from("a short line\n");
        let mut i = 0u32;
        while text.len() < 2 * MAX_LINE_BYTES + 12_345 {
            text.push_str(&format!("w{} é{} ", i % 997, i % 13));
            i += 1;
        }
        text.push_str(&"x".repeat(MAX_LINE_BYTES + 3));
        text.push_str(" tail words\nanother line\n");
        text.push_str(&"ñ".repeat(MAX_LINE_BYTES / 2 + 5));
        text
    }

    #[test]
    fn over_long_lines_count_the_same_however_chunked() {
        let text = over_long_lines();
        let train = |chunk: usize| {
            let mut t = Trainer::new(TrainOptions {
                max_pattern_length: 3,
                ..Default::default()
            })
            .unwrap();
            for piece in text.as_bytes().chunks(chunk) {
                t.feed_bytes(piece).unwrap();
            }
            t.finish().unwrap()
        };
        let whole = train(text.len());
        // Sentences of at most MAX_LINE_BYTES: the long line of words gives three cut at
        // whitespace, a hard cut in the long word and its tail; the line of ñ a hard cut and its
        // rest; and two short lines.
        let sentences = whole.info().training.as_ref().map(|t| t.sentences);
        assert_eq!(sentences, Some(5 + 2 + 2));
        let bytes = whole.to_bytes();
        for chunk in [4093, 65_536, MAX_LINE_BYTES - 1, MAX_LINE_BYTES + 7] {
            assert_eq!(train(chunk).to_bytes(), bytes, "chunks of {chunk} bytes");
        }
    }

    #[test]
    fn an_over_long_line_is_held_in_bounded_memory() {
        // The line's only whitespace is its first byte: every cut must still make progress.
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        let chunk = "a".repeat(65_536);
        t.feed(" ");
        for _ in 0..64 {
            t.feed(&chunk);
            assert!(t.pending.len() <= MAX_LINE_BYTES + chunk.len());
        }
        t.feed("\n");
        // 64 KiB × 64 plus the space: four sentences of MAX_LINE_BYTES and one byte.
        assert_eq!(t.sentences, 5);
    }

    #[test]
    fn empty_input_is_an_error() {
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        t.feed("   \n\n");
        assert!(matches!(t.finish(), Err(Error::EmptyInput)));
    }
}
