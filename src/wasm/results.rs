//! camelCase mirrors of the core's result structs, as handed to JavaScript.
//!
//! Each `From` destructures the core struct completely, so a field added to the core fails to
//! compile here until the mirror (and the TypeScript in `typescript.rs`) says what to do with it.

use std::cell::OnceCell;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{
    CacheStats, GenerateOptions, GenerationStats, ModelInfo, Perplexity, StopReason, TrainOptions,
    TrainingStats,
};

/// `value` as a plain JavaScript object (`null` for absent values, numbers for integers).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_sys::Error::new(&format!("cannot convert the result: {e}")).into())
}

/// The JavaScript `TrainOptions` (every field present).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsTrainOptionsOut {
    max_pattern_length: usize,
    min_frequency: u32,
    max_patterns: u64,
}

impl From<TrainOptions> for JsTrainOptionsOut {
    fn from(o: TrainOptions) -> Self {
        let TrainOptions {
            max_pattern_length,
            min_frequency,
            max_patterns,
        } = o;
        JsTrainOptionsOut {
            max_pattern_length,
            min_frequency,
            max_patterns,
        }
    }
}

/// The JavaScript `GenerateOptions` (every field present; `seed` only when set).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsGenerateOptionsOut {
    max_tokens: usize,
    context_window: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    temperature: f64,
    top_k: usize,
    top_p: f64,
    stop_at_sentence_end: bool,
    min_generated_tokens_ratio: f64,
    max_patterns_per_query: usize,
    max_backup_patterns: usize,
    activation_threshold: f64,
    frequency_normalization: bool,
    activation_cache_size: usize,
}

impl From<GenerateOptions> for JsGenerateOptionsOut {
    fn from(o: GenerateOptions) -> Self {
        let GenerateOptions {
            max_tokens,
            context_window,
            seed,
            temperature,
            top_k,
            top_p,
            stop_at_sentence_end,
            min_generated_tokens_ratio,
            max_patterns_per_query,
            max_backup_patterns,
            activation_threshold,
            frequency_normalization,
            activation_cache_size,
        } = o;
        JsGenerateOptionsOut {
            max_tokens,
            context_window,
            seed,
            temperature,
            top_k,
            top_p,
            stop_at_sentence_end,
            min_generated_tokens_ratio,
            max_patterns_per_query,
            max_backup_patterns,
            activation_threshold,
            frequency_normalization,
            activation_cache_size,
        }
    }
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

#[wasm_bindgen]
extern "C" {
    /// A plain object, written with `object[key] = value` (no `Reflect.set`, no boxing of
    /// numbers: each property is one call into JavaScript).
    #[wasm_bindgen(extends = js_sys::Object)]
    type PlainObject;

    #[wasm_bindgen(method, structural, indexing_setter)]
    fn set(this: &PlainObject, key: &JsValue, value: &JsValue);

    #[wasm_bindgen(method, structural, indexing_setter)]
    fn set_f64(this: &PlainObject, key: &JsValue, value: f64);

    #[wasm_bindgen(method, structural, indexing_setter)]
    fn set_bool(this: &PlainObject, key: &JsValue, value: bool);
}

/// JavaScript strings [`generation_to_js`] uses on every call, made once.
struct GenerationKeys {
    text: JsValue,
    tokens: JsValue,
    stats: JsValue,
    /// The `GenerationStats` property names, in [`JsGenerationStats`] order.
    stat: [JsValue; 12],
    /// The `stopReason` values: `max_tokens`, `sentence_end`, `cancelled`.
    stop_reasons: [JsValue; 3],
}

thread_local! {
    static GENERATION_KEYS: OnceCell<GenerationKeys> = const { OnceCell::new() };
}

/// The JavaScript `Generation` `{ text, tokens, stats }`, built directly rather than through
/// serde: serde-wasm-bindgen converts every token on its own (a `TextDecoder.decode` each) and
/// every number through a boxed `JsValue`, which made this conversion a large share of a short
/// request. Here `tokens` makes the token array (from strings made once per model), and the
/// statistics are written one call per property with their names made once.
///
/// # Errors
/// Those of [`to_js`] for a count above `Number.MAX_SAFE_INTEGER` (never expected).
pub(crate) fn generation_to_js(
    text: String,
    ids: &[u32],
    stats: GenerationStats,
    tokens: impl FnOnce(&[u32]) -> js_sys::Array,
) -> Result<JsValue, JsValue> {
    let stats = JsGenerationStats::from(stats);
    let JsGenerationStats {
        tokens: n,
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
        n as u64,
        patterns_activated,
        patterns_total,
        cache_hits,
        cache_misses,
        seed,
    ];
    if integers.iter().any(|&x| x > super::MAX_SAFE_INTEGER) {
        // serde reports the value that JavaScript cannot hold.
        return to_js(&stats);
    }
    GENERATION_KEYS.with(|cell| {
        let k = cell.get_or_init(|| GenerationKeys {
            text: "text".into(),
            tokens: "tokens".into(),
            stats: "stats".into(),
            stat: [
                "tokens",
                "elapsedMs",
                "tokensPerSecond",
                "sparsity",
                "patternsActivated",
                "patternsTotal",
                "cacheHits",
                "cacheMisses",
                "cacheHitRate",
                "seed",
                "stopReason",
                "exact",
            ]
            .map(JsValue::from),
            stop_reasons: ["max_tokens", "sentence_end", "cancelled"].map(JsValue::from),
        });
        let st: PlainObject = js_sys::Object::new().unchecked_into();
        st.set_f64(&k.stat[0], n as f64);
        st.set_f64(&k.stat[1], elapsed_ms);
        st.set_f64(&k.stat[2], tokens_per_second);
        st.set_f64(&k.stat[3], sparsity);
        st.set_f64(&k.stat[4], patterns_activated as f64);
        st.set_f64(&k.stat[5], patterns_total as f64);
        st.set_f64(&k.stat[6], cache_hits as f64);
        st.set_f64(&k.stat[7], cache_misses as f64);
        match cache_hit_rate {
            Some(rate) => st.set_f64(&k.stat[8], rate),
            None => st.set(&k.stat[8], &JsValue::NULL),
        }
        st.set_f64(&k.stat[9], seed as f64);
        let reason = match stop_reason {
            StopReason::MaxTokens => &k.stop_reasons[0],
            StopReason::SentenceEnd => &k.stop_reasons[1],
            StopReason::Cancelled => &k.stop_reasons[2],
        };
        st.set(&k.stat[10], reason);
        st.set_bool(&k.stat[11], exact);

        let out: PlainObject = js_sys::Object::new().unchecked_into();
        out.set(&k.text, &JsValue::from_str(&text));
        out.set(&k.tokens, &tokens(ids));
        out.set(&k.stats, &st);
        Ok(out.into())
    })
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
