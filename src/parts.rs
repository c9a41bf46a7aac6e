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

/// The declaration of [`TrainingStats`], the one list of its fields:
/// `training_stats_fields!(result_fields [m ARGS])` hands it to the macro `m`
/// (the form: `src/shapes.rs`). The core makes the struct from it, the WebAssembly bindings its
/// JavaScript object and TypeScript interface.
#[macro_export]
macro_rules! training_stats_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// Facts about how a model was trained, stored in the model file.
            #[js_doc = "How a model was trained (stored in the model file)."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
            #[non_exhaustive]
            struct TrainingStats {
                /// Options used.
                #[js_doc = "Options used."]
                options: TrainOptions,
                /// Bytes of text fed.
                #[js_doc = "Bytes of text fed."]
                bytes: u64,
                /// Sentences (non-empty lines) counted.
                #[js_doc = "Sentences (non-empty lines) counted."]
                sentences: u64,
                /// Tokens counted, one `</s>` per sentence included.
                #[js_doc = "Tokens counted, one </s> per sentence included."]
                tokens: u64,
                /// Per order 1..=n, the three discounts D1, D2, D3+.
                #[js_doc = "Per order 1..n, the discounts [D1, D2, D3+]."]
                discounts: Vec<[f64; 3]>,
                /// Orders (1-based) whose counts could not give modified Kneser-Ney discounts
                /// (too little text), so the fallback 0.5 / 1.0 / 1.5 was used, as
                /// `lmplz --discount_fallback` does.
                #[js_doc = "Orders (1-based) that used the fallback discounts 0.5 / 1 / 1.5."]
                discount_fallback: Vec<u8>,
                /// Patterns removed by `min_frequency` and `max_patterns`.
                #[js_doc = "Patterns removed by minFrequency and maxPatterns."]
                pruned_patterns: u64,
            }
        }
    };
}

training_stats_fields!(result_fields[declare_result]);
