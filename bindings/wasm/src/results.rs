//! camelCase mirrors of the core's result structs, as handed to JavaScript.
//!
//! The core's result structs are `#[non_exhaustive]`, so each `From` names the fields it passes
//! on and ends with `..`; the browser test `every_field_of_the_core_results_reaches_javascript`
//! fails when a field added to the core does not reach JavaScript here (and the TypeScript in
//! `typescript.rs` should say what it is).

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::options::JsTrainOptionsOut;
use ultra_efficient_llm::{
    CacheStats, GenerationStats, ModelInfo, Perplexity, StopReason, TrainingStats,
};

/// `value` as a plain JavaScript object (`null` for absent values, numbers for integers).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_sys::Error::new(&format!("cannot convert the result: {e}")).into())
}

/// The JavaScript `GenerationStats`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsGenerationStats {
    tokens: usize,
    elapsed_ms: f64,
    tokens_per_second: f64,
    sparsity: f64,
    patterns_activated: u64,
    patterns_total: u64,
    cache_hits: u64,
    cache_misses: u64,
    cache_hit_rate: Option<f64>,
    seed: u64,
    /// `"max_tokens"`, `"sentence_end"` or `"cancelled"`.
    stop_reason: StopReason,
    exact: bool,
}

impl From<GenerationStats> for JsGenerationStats {
    fn from(s: GenerationStats) -> Self {
        let GenerationStats {
            tokens,
            elapsed_ms,
            tokens_per_second,
            sparsity,
            patterns_activated,
            patterns_total,
            cache_hits,
            cache_misses,
            cache_hit_rate,
            seed,
            stop_reason,
            exact,
            ..
        } = s;
        JsGenerationStats {
            tokens,
            elapsed_ms,
            tokens_per_second,
            sparsity,
            patterns_activated,
            patterns_total,
            cache_hits,
            cache_misses,
            cache_hit_rate,
            seed,
            stop_reason,
            exact,
        }
    }
}

#[wasm_bindgen(module = "/src/generation.js")]
extern "C" {
    /// `{ text, tokens, stats }` in one call: `tokens` is `ids.map(id => strings[id])`, `ids`
    /// read straight from wasm memory; `stopReason` indexes `max_tokens`, `sentence_end`,
    /// `cancelled`; a `cacheHitRate` of `None` becomes `null`.
    #[allow(clippy::too_many_arguments)]
    fn generation(
        text: &str,
        strings: &js_sys::Array,
        ids: &[u32],
        tokens: f64,
        elapsed_ms: f64,
        tokens_per_second: f64,
        sparsity: f64,
        patterns_activated: f64,
        patterns_total: f64,
        cache_hits: f64,
        cache_misses: f64,
        cache_hit_rate: Option<f64>,
        seed: f64,
        stop_reason: u32,
        exact: bool,
    ) -> JsValue;
}

/// The JavaScript `Generation` `{ text, tokens, stats }`, built in one call into JavaScript
/// rather than through serde: serde-wasm-bindgen converts every token on its own (a
/// `TextDecoder.decode` each) and every number through a boxed `JsValue`, which made this
/// conversion a large share of a short request. `strings` holds the model's token strings by
/// id (each made once per model).
///
/// # Errors
/// Those of [`to_js`] for a count above `Number.MAX_SAFE_INTEGER` (never expected).
pub(crate) fn generation_to_js(
    text: &str,
    ids: &[u32],
    stats: GenerationStats,
    strings: &js_sys::Array,
) -> Result<JsValue, JsValue> {
    let stats = JsGenerationStats::from(stats);
    let JsGenerationStats {
        tokens,
        elapsed_ms,
        tokens_per_second,
        sparsity,
        patterns_activated,
        patterns_total,
        cache_hits,
        cache_misses,
        cache_hit_rate,
        seed,
        ref stop_reason,
        exact,
    } = stats;
    let integers = [
        tokens as u64,
        patterns_activated,
        patterns_total,
        cache_hits,
        cache_misses,
        seed,
    ];
    if integers.iter().any(|&x| x > crate::MAX_SAFE_INTEGER) {
        // serde reports the value that JavaScript cannot hold.
        return to_js(&stats);
    }
    let stop_reason = match stop_reason {
        StopReason::MaxTokens => 0,
        StopReason::SentenceEnd => 1,
        StopReason::Cancelled => 2,
    };
    Ok(generation(
        text,
        strings,
        ids,
        tokens as f64,
        elapsed_ms,
        tokens_per_second,
        sparsity,
        patterns_activated as f64,
        patterns_total as f64,
        cache_hits as f64,
        cache_misses as f64,
        cache_hit_rate,
        seed as f64,
        stop_reason,
        exact,
    ))
}

/// The JavaScript `Perplexity`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsPerplexity {
    perplexity: f64,
    perplexity_excluding_oov: f64,
    log10_prob: f64,
    log10_prob_excluding_oov: f64,
    tokens: u64,
    oov: u64,
    sentences: u64,
}

impl From<Perplexity> for JsPerplexity {
    fn from(p: Perplexity) -> Self {
        let Perplexity {
            perplexity,
            perplexity_excluding_oov,
            log10_prob,
            log10_prob_excluding_oov,
            tokens,
            oov,
            sentences,
            ..
        } = p;
        JsPerplexity {
            perplexity,
            perplexity_excluding_oov,
            log10_prob,
            log10_prob_excluding_oov,
            tokens,
            oov,
            sentences,
        }
    }
}

/// The JavaScript `TrainingStats`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsTrainingStats {
    options: JsTrainOptionsOut,
    bytes: u64,
    sentences: u64,
    tokens: u64,
    /// Per order, `[D1, D2, D3+]` (arrays of three numbers).
    discounts: Vec<[f64; 3]>,
    discount_fallback: Vec<u8>,
    pruned_patterns: u64,
}

impl From<TrainingStats> for JsTrainingStats {
    fn from(t: TrainingStats) -> Self {
        let TrainingStats {
            options,
            bytes,
            sentences,
            tokens,
            discounts,
            discount_fallback,
            pruned_patterns,
            ..
        } = t;
        JsTrainingStats {
            options: options.into(),
            bytes,
            sentences,
            tokens,
            discounts,
            discount_fallback,
            pruned_patterns,
        }
    }
}

/// The JavaScript `ModelInfo`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsModelInfo {
    order: usize,
    vocab_size: usize,
    ngrams: Vec<u64>,
    patterns: u64,
    contexts: u64,
    smoothing: String,
    memory_bytes: u64,
    file_bytes: u64,
    training: Option<JsTrainingStats>,
}

impl From<ModelInfo> for JsModelInfo {
    fn from(i: ModelInfo) -> Self {
        let ModelInfo {
            order,
            vocab_size,
            ngrams,
            patterns,
            contexts,
            smoothing,
            memory_bytes,
            file_bytes,
            training,
            ..
        } = i;
        JsModelInfo {
            order,
            vocab_size,
            ngrams,
            patterns,
            contexts,
            smoothing,
            memory_bytes,
            file_bytes,
            training: training.map(Into::into),
        }
    }
}

/// The JavaScript `CacheStats` (the core's field names are already single words).
pub(crate) type JsCacheStats = CacheStats;
