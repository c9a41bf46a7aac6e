//! What every model is made of before it is indexed: the vocabulary, the pattern tree and the
//! values it carries (adjusted counts of a trained model, or an ARPA file's probabilities), and
//! how it was trained. The trainer and the ARPA reader make [`Parts`]; the model file stores
//! and restores them; the model indexes them.

use serde::{Deserialize, Serialize};

use crate::config::TrainOptions;
use crate::trie::Trie;
use crate::vocab::Vocab;

/// The values a trie carries, by source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// Adjusted (Kneser-Ney) counts per node, the removed mass per context, and the discounts:
    /// everything else is recomputed on load. Lossless and small.
    Counts {
        a: Counts,
        /// Sum of the adjusted counts of pruned children, per context-capable node (empty when
        /// nothing was pruned).
        pruned: Vec<u32>,
        discounts: Vec<[f64; 3]>,
    },
    /// log10 probabilities and back-offs per node, as read from an ARPA file.
    Probs {
        log_prob: Vec<f32>,
        /// Per context-capable node (levels below the order).
        log_backoff: Vec<f32>,
    },
}

/// Everything a model is made of, before indexing.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    pub vocab: Vocab,
    pub trie: Trie,
    pub values: Values,
    pub training: Option<TrainingStats>,
}

/// Adjusted counts, one per node from node 1 (the root has none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Counts {
    /// Decoded, indexed by node (the root's slot is 0).
    Decoded(Vec<u32>),
    /// Still encoded in the model file being loaded: the byte range of their varint stream.
    /// The index build, which reads each count once and in node order, decodes them as it
    /// goes, so a load never holds them all as an array (4 bytes a pattern).
    InFile(std::ops::Range<usize>),
}

/// Facts about how a model was trained, stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct TrainingStats {
    /// Options used.
    pub options: TrainOptions,
    /// Bytes of text fed.
    pub bytes: u64,
    /// Sentences (non-empty lines) counted.
    pub sentences: u64,
    /// Tokens counted, one `</s>` per sentence included.
    pub tokens: u64,
    /// Per order 1..=n, the three discounts D1, D2, D3+.
    pub discounts: Vec<[f64; 3]>,
    /// Orders (1-based) whose counts could not give modified Kneser-Ney discounts (too little
    /// text), so the fallback 0.5 / 1.0 / 1.5 was used, as `lmplz --discount_fallback` does.
    pub discount_fallback: Vec<u8>,
    /// Patterns removed by `min_frequency` and `max_patterns`.
    pub pruned_patterns: u64,
}
