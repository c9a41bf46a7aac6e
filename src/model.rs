//! The trained model: vocabulary, index, and what it was made from.
//!
//! A model is immutable once built; generation keeps its only mutable state (the activation
//! cache and the seed counter) behind a mutex and an atomic, so one model can serve several
//! threads (natively) or requests (in a worker).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::cache::{ActivationCache, CacheFigures};
use crate::error::Result;
use crate::format;
use crate::index::Index;
use crate::parts::{Parts, TrainingStats, Values};
use crate::progress::{cost, Meter, Tick};
use crate::vocab::{Vocab, EOS};
use crate::weights::Weights;

/// The declaration of [`ModelInfo`], the one list of its fields:
/// `model_info_fields!(result_fields [m ARGS])` hands it to the macro `m`
/// (the form: `src/shapes.rs`). The core makes the struct from it, the WebAssembly bindings its
/// JavaScript object and TypeScript interface.
#[macro_export]
macro_rules! model_info_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// Summary of a model, for display and metrics.
            #[js_doc = "Summary figures of a model."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[non_exhaustive]
            struct ModelInfo {
                /// n-gram order (longest pattern, in words).
                #[js_doc = "n-gram order (longest pattern, in words)."]
                order: usize,
                /// Vocabulary size, `<unk>`, `<s>` and `</s>` included.
                #[js_doc = "Vocabulary size, <unk>, <s> and </s> included."]
                vocab_size: usize,
                /// Patterns per order, 1-grams first.
                #[js_doc = "Patterns per order, 1-grams first."]
                ngrams: Vec<u64>,
                /// All patterns.
                #[js_doc = "All patterns."]
                patterns: u64,
                /// Patterns that some longer pattern extends (index blocks).
                #[js_doc = "Patterns that some longer pattern extends."]
                contexts: u64,
                /// `"modified-kneser-ney"` for trained models, `"arpa"` for imported ones.
                #[js_doc = "\"modified-kneser-ney\" for trained models, \"arpa\" for imported ones."]
                smoothing: String,
                /// Bytes of memory the model holds (index, vocabulary, model file).
                #[js_doc = "Bytes of memory the model holds (index, vocabulary, model file)."]
                memory_bytes: u64,
                /// Bytes of the model file ([`Model::to_bytes`]).
                ///
                /// [`Model::to_bytes`]: crate::Model::to_bytes
                #[js_doc = "Bytes of the model file (toBytes())."]
                file_bytes: u64,
                /// How the model was trained, when it was.
                #[js_doc = "How the model was trained; null for a model imported from ARPA."]
                training: Option<TrainingStats>,
            }
        }
    };
}

model_info_fields!(result_fields[declare_result]);

/// Bytes of memory a model holds, by part ([`Model::memory_use`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct MemoryUse {
    /// The generation and scoring index: every context next to its successors.
    pub index: u64,
    /// The model file, kept so saving needs no encoding ([`Model::as_bytes`]).
    pub file: u64,
    /// The vocabulary: its words and their look-up table.
    pub vocab: u64,
    /// The activation cache of shaped generation, as filled so far ([`CacheStats::bytes`]).
    ///
    /// [`CacheStats::bytes`]: crate::CacheStats::bytes
    pub cache: u64,
}

impl MemoryUse {
    /// All parts together.
    pub fn total(&self) -> u64 {
        self.index + self.file + self.vocab + self.cache
    }
}

/// A model file made without building the model ([`Trainer::finish_file`]), with the summary
/// of the model it holds.
///
/// [`Trainer::finish_file`]: crate::Trainer::finish_file
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The file, as [`Model::to_bytes`] gives it.
    pub bytes: Vec<u8>,
    /// What [`Model::info`] says of the model once loaded.
    pub info: ModelInfo,
}

impl ModelFile {
    /// The file of `parts`, adding its work ([`cost::encode`]) to `meter`.
    pub(crate) fn from_parts(parts: &Parts, suffix: &[u32], meter: &Meter) -> Result<ModelFile> {
        let bytes = encode(parts, suffix, meter)?;
        let weights = Weights::of(&parts.trie, suffix, &parts.values, &bytes)?;
        let (contexts, index_bytes) = Index::size(&parts.trie, &weights)?;
        let info = summary(
            parts,
            contexts,
            index_bytes + parts.vocab.heap_bytes() + bytes.len(),
            bytes.len(),
        );
        Ok(ModelFile { bytes, info })
    }
}

/// The model file of `parts` (header and body), adding its work ([`cost::encode`]) to `meter`.
fn encode(parts: &Parts, suffix: &[u32], meter: &Meter) -> Result<Vec<u8>> {
    let bytes = format::with_header(&format::encode_body(parts, suffix, meter)?);
    meter.add(cost::FRAME * parts.trie.nodes() as u64);
    Ok(bytes)
}

/// The [`ModelInfo`] of a model made of `parts`.
fn summary(parts: &Parts, contexts: u64, memory_bytes: usize, file_bytes: usize) -> ModelInfo {
    let t = &parts.trie;
    ModelInfo {
        order: t.order(),
        vocab_size: parts.vocab.len(),
        ngrams: (1..=t.order()).map(|k| t.level(k).len() as u64).collect(),
        patterns: (t.nodes() - 1) as u64,
        contexts,
        smoothing: match parts.values {
            Values::Counts { .. } => "modified-kneser-ney",
            Values::Probs { .. } => "arpa",
        }
        .to_owned(),
        memory_bytes: memory_bytes as u64,
        file_bytes: file_bytes as u64,
        training: parts.training.clone(),
    }
}

/// The next [`Model::id`].
static NEXT_MODEL_ID: AtomicU64 = AtomicU64::new(1);

/// A trained or loaded pattern language model.
pub struct Model {
    pub(crate) vocab: Vocab,
    pub(crate) index: Index,
    pub(crate) info: ModelInfo,
    /// The model file (header and body), kept so saving is a copy.
    pub(crate) file: File,
    pub(crate) cache: Mutex<ActivationCache>,
    /// Cache figures as of the last finished request, readable without the lock.
    pub(crate) cache_figures: CacheFigures,
    /// The root's successors by weight, for [`Model::predict`] (made on first use).
    pub(crate) root_order: std::sync::OnceLock<Vec<u32>>,
    pub(crate) calls: AtomicU64,
    /// Distinct for every model made in this process: what a [`crate::GenerationCache`] checks
    /// so that it never serves one model's prepared distributions to another.
    pub(crate) id: u64,
}

/// Where a model keeps its file.
pub(crate) enum File {
    Own(Vec<u8>),
    /// In the index's buffer, before its blocks (an index image loaded in place).
    InIndex(std::ops::Range<usize>),
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("info", &self.info()).finish()
    }
}

impl Model {
    /// Indexes `parts`. `suffix` saves the suffix-link search when the caller has them; `file`
    /// saves re-encoding when the parts were just decoded from it. Adds the work of encoding
    /// (without `file`: [`encode_work`]) and indexing ([`cost::index`]) to `meter`.
    pub(crate) fn from_parts(
        parts: Parts,
        suffix: Option<Vec<u32>>,
        file: Option<Vec<u8>>,
        meter: &Meter,
    ) -> Result<Model> {
        let suffix = match suffix {
            Some(s) => s,
            None => parts.trie.suffix_links()?,
        };
        // The file first: its buffers are gone before the index (the largest allocation)
        // is made, which keeps the peak memory down.
        let file = match file {
            Some(f) => f,
            None => encode(&parts, &suffix, meter)?,
        };
        let weights = Weights::of(&parts.trie, &suffix, &parts.values, &file)?;
        if let Weights::Table { .. } = weights {
            // The other half of decoding probabilities (`format::decode_values`).
            meter.add(cost::PROBS / 2 * parts.trie.nodes() as u64);
        }
        let index = Index::build(&parts.trie, &suffix, &weights, meter)?;
        drop(weights);
        let info = summary(
            &parts,
            index.contexts,
            index.heap_bytes() + parts.vocab.heap_bytes() + file.len(),
            file.len(),
        );
        Ok(Model {
            vocab: parts.vocab,
            index,
            info,
            file: File::Own(file),
            cache: Mutex::new(ActivationCache::default()),
            cache_figures: CacheFigures::default(),
            root_order: Default::default(),
            calls: AtomicU64::new(crate::clock::entropy()),
            id: NEXT_MODEL_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The model of a checked `index` and the `file` (of `file_len` bytes) it was built from
    /// (an index image's), with what that file says of it.
    pub(crate) fn assemble(
        vocab: Vocab,
        index: Index,
        training: Option<TrainingStats>,
        (ngrams, probs): (Vec<u64>, bool),
        (file, file_len): (File, usize),
    ) -> Model {
        let info = ModelInfo {
            order: index.order,
            vocab_size: vocab.len(),
            ngrams,
            patterns: index.patterns,
            contexts: index.contexts,
            smoothing: if probs { "arpa" } else { "modified-kneser-ney" }.to_owned(),
            memory_bytes: (index.heap_bytes() + vocab.heap_bytes() + file_len) as u64,
            file_bytes: file_len as u64,
            training,
        };
        Model {
            id: NEXT_MODEL_ID.fetch_add(1, Ordering::Relaxed),
            vocab,
            index,
            info,
            file,
            cache: Mutex::new(ActivationCache::default()),
            cache_figures: CacheFigures::default(),
            root_order: Default::default(),
            calls: AtomicU64::new(crate::clock::entropy()),
        }
    }

    /// Serializes the model: header (magic, version, length, checksum) and postcard body. A
    /// copy of [`Model::as_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    /// The model file, as [`Model::to_bytes`] gives it, without a copy: the model keeps its
    /// file, so saving or sending it needs none.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.file {
            File::Own(f) => f,
            File::InIndex(r) => self.index.prefix().get(r.clone()).unwrap_or_default(),
        }
    }

    /// Loads a model from bytes made by [`Model::to_bytes`].
    ///
    /// # Errors
    /// [`Error::NotAModel`], [`Error::UnsupportedVersion`], [`Error::Truncated`] or
    /// [`Error::Corrupted`]; no input makes it panic or allocate more than the input justifies.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Model::from_vec(bytes.to_vec())
    }

    /// Checks the header of `bytes` (magic, format version, length) without reading the rest:
    /// what tells a model file of this version from junk, a foreign or future file, or a
    /// truncated one, at no cost. The checksum and content are checked by
    /// [`Model::from_bytes`], which can still fail on bytes that pass this.
    ///
    /// # Errors
    /// [`Error::NotAModel`], [`Error::UnsupportedVersion`], [`Error::Truncated`] or
    /// [`Error::Corrupted`] (unknown flags, bytes after the model), as [`Model::from_bytes`]
    /// would give for these bytes.
    pub fn check_header(bytes: &[u8]) -> Result<()> {
        format::check_frame(bytes).map(|_| ())
    }

    /// Like [`Model::from_bytes`], taking ownership of the bytes, which the model keeps as its
    /// file: no second copy of the file is made (loading is memory-bound, in WebAssembly most).
    ///
    /// # Errors
    /// As [`Model::from_bytes`].
    pub fn from_vec(bytes: Vec<u8>) -> Result<Model> {
        Model::load(bytes, &Meter::none())
    }

    /// [`Model::from_vec`], calling `on_progress` with the fraction of the load done: 0 first,
    /// then as the checksum, the decoding and the index build advance (at most about 200 times,
    /// each fraction at least the one before, in proportion to the work done: see
    /// [`Trainer::on_progress`] for how it is measured), and 1 once the model is loaded. A load
    /// that fails reports no 1. The model is the one [`Model::from_vec`] gives.
    ///
    /// ```
    /// # use ultra_efficient_llm::{Model, Trainer, TrainOptions};
    /// # let mut t = Trainer::new(TrainOptions::default())?;
    /// # t.feed("the cat sat on the mat.\n");
    /// # let bytes = t.finish()?.to_bytes();
    /// let mut seen = Vec::new();
    /// let model = Model::from_vec_with_progress(bytes, |f| seen.push(f))?;
    /// assert_eq!((seen[0], *seen.last().unwrap()), (0.0, 1.0));
    /// # Ok::<(), ultra_efficient_llm::Error>(())
    /// ```
    ///
    /// [`Trainer::on_progress`]: crate::Trainer::on_progress
    ///
    /// # Errors
    /// As [`Model::from_bytes`].
    pub fn from_vec_with_progress(
        bytes: Vec<u8>,
        mut on_progress: impl FnMut(f64),
    ) -> Result<Model> {
        let meter = Meter::new(&mut on_progress);
        let model = Model::load(bytes, &meter)?;
        meter.finish();
        Ok(model)
    }

    /// [`Model::from_bytes`] with progress reports: see [`Model::from_vec_with_progress`].
    ///
    /// # Errors
    /// As [`Model::from_bytes`].
    pub fn from_bytes_with_progress(bytes: &[u8], on_progress: impl FnMut(f64)) -> Result<Model> {
        Model::from_vec_with_progress(bytes.to_vec(), on_progress)
    }

    /// Loads `bytes`, reporting to `meter` (see [`cost::load`] for the work counted).
    fn load(bytes: Vec<u8>, meter: &Meter) -> Result<Model> {
        meter.report();
        let body = format::check_header(&bytes)?;
        // The checksum's work is counted once the body says how much the rest is.
        let crc_units = cost::CRC * body.len() as u64;
        // The body runs to the end of the file (check_header refuses bytes after it).
        let (parts, suffix) =
            format::decode_body(body, bytes.len() - body.len(), crc_units, meter)?;
        // For a well-formed file, every pass adds exactly the work `cost::load` counts for it
        // (a test checks it); a damaged file that still loads may differ, which only moves the
        // fraction, so it is not asserted here.
        Model::from_parts(parts, Some(suffix), Some(bytes), meter)
    }

    /// The bytes of memory the model holds now, by part: [`ModelInfo::memory_bytes`] is the
    /// sum of all but the activation cache, which grows with shaped generation.
    pub fn memory_use(&self) -> MemoryUse {
        MemoryUse {
            index: self.index.heap_bytes() as u64,
            file: self.as_bytes().len() as u64,
            vocab: self.vocab.heap_bytes() as u64,
            cache: self.cache_stats().bytes as u64,
        }
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Summary figures.
    pub fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    /// log10 probability of `word` after the context `words` (at most order-1 of its last words
    /// count), with KenLM's query semantics; unknown words are scored as `<unk>`.
    pub fn log10_prob(&self, words: &[&str], word: &str) -> f64 {
        let mut state = self.index.bos;
        for w in words {
            state = self.index.advance(state, self.vocab.id_or_unk(w));
        }
        libm::log10(self.index.prob(state, self.word_id(word)).0)
    }

    fn word_id(&self, word: &str) -> u32 {
        match word {
            "</s>" => EOS,
            w => self.vocab.id_or_unk(w),
        }
    }

    /// The seed [`Model::generate`] draws for a call without [`GenerateOptions::seed`]: a
    /// counter per model, mixed (splitmix64), so successive calls get distinct seeds. Callers
    /// that must report or bound the seed before generating (the WebAssembly bindings keep it
    /// below 2^53) draw it here and pass it in the options.
    ///
    /// [`GenerateOptions::seed`]: crate::GenerateOptions::seed
    pub fn next_seed(&self) -> u64 {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        // splitmix64 of the call counter: distinct, well-mixed seeds without an OS entropy source.
        let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TrainOptions, Trainer};

    /// Every pass of a load adds exactly the work `cost::load` counts for it, for every kind of
    /// well-formed model file: trained, pruned by count or by a cap, imported from ARPA.
    #[test]
    fn a_load_adds_exactly_its_counted_work() {
        let text = crate::testing::TINY;
        let mut files = Vec::new();
        for (min_frequency, max_patterns) in [(1, 0), (2, 0), (1, 3000)] {
            let mut t = Trainer::new(TrainOptions {
                max_pattern_length: 4,
                min_frequency,
                max_patterns,
            })
            .unwrap();
            t.feed(text);
            files.push(t.finish().unwrap().to_bytes());
        }
        let arpa = include_str!("../tests/fixtures/kenlm/tiny.o3.arpa");
        files.push(Model::from_arpa(arpa).unwrap().to_bytes());
        for bytes in files {
            let mut seen = 0;
            let mut count = |_: f64| seen += 1;
            let meter = Meter::new(&mut count);
            Model::load(bytes, &meter).unwrap();
            assert_eq!(meter.done(), meter.total());
        }
    }
}
