//! # ultra-efficient-llm
//!
//! A pattern (n-gram) language model that trains in well under a second and generates text at
//! millions of tokens per second, natively and in the browser (WebAssembly).
//!
//! The pipeline:
//!
//! ```text
//! text ─► tokenizer ─► Trainer (count patterns, prune) ─► Model (vocabulary + index)
//!                                                           ├─► generate(prompt)  seeded sampling
//!                                                           ├─► perplexity(text)  KenLM semantics
//!                                                           └─► to_bytes / ARPA   model files
//! ```
//!
//! * [`tokenizer`] splits lines into word runs and single punctuation marks (KenLM's reference
//!   tokenization) and joins tokens back into natural text.
//! * [`Trainer`] counts every pattern of 1..=`max_pattern_length` words and smooths the counts
//!   with interpolated modified Kneser-Ney, as KenLM's `lmplz` does (its ARPA output is matched
//!   to 1e-4 in the tests). [`Trainer::finish`] gives a ready [`Model`];
//!   [`Trainer::finish_file`] only its file ([`ModelFile`]), for a model that is stored or
//!   handed on.
//! * [`Model`] generates by matching the last `context_window` tokens against the patterns,
//!   backing off to shorter contexts, with seeded sampling (temperature, top-k, top-p), an
//!   activation cache and per-request statistics; it scores text (perplexity) and serializes to
//!   a compact, versioned, checksummed format ([`mod@format`]) or ARPA.
//!
//! The core has no WebAssembly or web dependency, and compiles to `wasm32` as plain Rust: the
//! browser bindings are a crate of their own (`bindings/wasm` in the repository), built on this
//! public API.
//!
//! ```
//! use ultra_efficient_llm::{GenerateOptions, Model, TrainOptions, Trainer};
//!
//! let mut trainer = Trainer::new(TrainOptions { max_pattern_length: 3, ..Default::default() })?;
//! trainer.feed("It is a truth universally acknowledged.\nIt is a fine day.\n");
//! let model = trainer.finish()?;
//!
//! let out = model.generate("It is", &GenerateOptions { seed: Some(42), ..Default::default() })?;
//! assert!(out.stats.tokens > 0);
//!
//! let bytes = model.to_bytes();
//! let again = Model::from_bytes(&bytes)?;
//! assert_eq!(again.to_bytes(), bytes);
//! # Ok::<(), ultra_efficient_llm::Error>(())
//! ```

#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

// First: its macros declare the result structs of the modules below (textual scope).
#[macro_use]
mod shapes;

mod arpa;
mod bounded;
mod cache;
pub mod clock;
mod config;
mod count;
mod entropy;
mod error;
pub mod format;
mod generate;
pub mod image;
mod index;
mod mem;
mod model;
mod parts;
mod perplexity;
mod predict;
mod progress;
mod sample;
pub mod shard;
mod smooth;
mod testing;
pub mod tokenizer;
mod train;
mod trie;
mod varint;
mod vocab;
mod weights;

pub use bounded::{BoundedTrainer, SecondPass};
pub use cache::{CacheStats, ACTIVATION_CACHE_MAX_BYTES};
pub use config::{
    GenerateOptions, GenerateOverrides, Preset, TrainOptions, MAX_ACTIVATION_CACHE_SIZE, MAX_ORDER,
};
pub use entropy::EntropyPruning;
pub use error::{Error, Result};
pub use generate::{Generation, GenerationCache, GenerationStats, StopReason};
pub use mem::{native_extras, set_native_extras};
pub use model::{MemoryUse, Model, ModelFile, ModelInfo};
pub use parts::TrainingStats;
pub use perplexity::{Perplexity, PerplexityScorer};
pub use predict::{PredictOptions, Prediction, Ranked, Scored, Scores, SentenceScore, TokenScore};
pub use shard::CountShard;
pub use shard::Disk;
pub use train::{Phase, Progress, Trainer, MAX_LINE_BYTES};
pub use vocab::{Vocab, BOS, EOS, UNK};
