//! The JavaScript forms of the core's result structs, made from the core's one declaration of
//! each ([`generation_stats_fields`], [`perplexity_fields`], [`model_info_fields`],
//! [`training_stats_fields`], [`cache_stats_fields`]): a camelCase mirror that serde turns into a
//! plain object, and its TypeScript interface for the generated `.d.ts` (`typescript.rs`). A
//! field added to the core reaches both without an edit here; a field of a new type asks for its
//! [`JsResult`] implementation (its TypeScript type) before it compiles.
//!
//! The browser test `every_field_of_the_core_results_reaches_javascript` checks the outcome:
//! every field the core serializes is a property of the JavaScript object.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::options::JsTrainOptionsOut;
use crate::to_js_error;
use ultra_efficient_llm::{
    cache_stats_fields, generation_stats_fields, model_info_fields, perplexity_fields,
    prediction_fields, ranked_fields, result_fields, sentence_score_fields, token_score_fields,
    training_stats_fields, CacheStats, Error, GenerationStats, ModelInfo, Perplexity, Prediction,
    Ranked, SentenceScore, StopReason, TokenScore, TrainOptions, TrainingStats,
};

/// `value` as a plain JavaScript object (`null` for absent values, numbers for integers).
///
/// # Errors
/// An `InternalError` when serde cannot write it (a count above `Number.MAX_SAFE_INTEGER`,
/// which no model reaches).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| to_js_error(&Error::Internal(format!("cannot convert the result: {e}"))))
}

/// A core result as a plain JavaScript object (its camelCase mirror, serialized by [`to_js`]).
pub(crate) fn result_to_js<T: JsResult>(value: T) -> Result<JsValue, JsValue> {
    to_js(&value.into_js())
}

/// The type of a result field as JavaScript gets it.
pub(crate) trait JsResult {
    /// Its TypeScript type.
    #[allow(dead_code)] // used by the TypeScript section only, which the lint does not see
    const TS: &'static str;
    /// The value serde writes for JavaScript.
    type Js: Serialize;
    /// The value as serde writes it for JavaScript.
    fn into_js(self) -> Self::Js;
}

/// Types that JavaScript gets as serde writes them, with their TypeScript type.
macro_rules! as_is {
    ($($t:ty => $ts:literal,)*) => {$(
        impl JsResult for $t {
            const TS: &'static str = $ts;
            type Js = Self;
            fn into_js(self) -> Self {
                self
            }
        }
    )*};
}

as_is! {
    usize => "number",
    u32 => "number",
    u64 => "number",
    f64 => "number",
    bool => "boolean",
    String => "string",
    Option<f64> => "number | null",
    Vec<u8> => "number[]",
    Vec<u64> => "number[]",
    Vec<[f64; 3]> => "[number, number, number][]",
    StopReason => "StopReason",
}

/// The options a model was trained with: every field present.
impl JsResult for TrainOptions {
    const TS: &'static str = "Required<TrainOptions>";
    type Js = JsTrainOptionsOut;
    fn into_js(self) -> JsTrainOptionsOut {
        self.into()
    }
}

/// A model's training facts, `null` for a model imported from ARPA.
impl JsResult for Option<TrainingStats> {
    const TS: &'static str = "TrainingStats | null";
    type Js = Option<JsTrainingStats>;
    fn into_js(self) -> Option<JsTrainingStats> {
        self.map(JsResult::into_js)
    }
}

/// Makes, from the core's declaration of a result struct (as `result_fields!` hands it over):
/// its camelCase mirror `$js` (serde writes it as a plain object), its [`JsResult`]
/// implementation, and `$ts`, its TypeScript interface.
macro_rules! js_result {
    ($js:ident $ts:ident; $name:ident [$($attr:meta),*] $js_doc:literal {
        $($field:ident: $ty:ty [$($doc:literal),*] $field_js_doc:literal,)*
    }) => {
        #[doc = concat!("The JavaScript `", stringify!($name), "`: the core's fields, camelCase.")]
        #[derive(Debug, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub(crate) struct $js {
            $($field: <$ty as JsResult>::Js,)*
        }

        impl JsResult for $name {
            const TS: &'static str = stringify!($name);
            type Js = $js;
            fn into_js(self) -> $js {
                // `..`: the core's struct is `#[non_exhaustive]`; the declaration names every
                // field it has.
                let $name { $($field,)* .. } = self;
                $js {
                    $($field: JsResult::into_js($field),)*
                }
            }
        }

        #[doc = concat!("The TypeScript interface `", stringify!($name), "`.")]
        #[allow(dead_code)] // used by the TypeScript section only, which the lint does not see
        pub(crate) const $ts: &str = const_str!(&[
            "/** ", $js_doc, " */\nexport interface ", stringify!($name), " {\n",
            $("  /** ", $field_js_doc, " */\n  ", camel!(stringify!($field)), ": ",
                <$ty as JsResult>::TS, ";\n",)*
            "}\n\n",
        ]);
    };
}

generation_stats_fields!(result_fields [js_result JsGenerationStats GENERATION_STATS_TS]);
perplexity_fields!(result_fields [js_result JsPerplexity PERPLEXITY_TS]);
training_stats_fields!(result_fields [js_result JsTrainingStats TRAINING_STATS_TS]);
model_info_fields!(result_fields [js_result JsModelInfo MODEL_INFO_TS]);
cache_stats_fields!(result_fields [js_result JsCacheStats CACHE_STATS_TS]);
prediction_fields!(result_fields [js_result JsPrediction PREDICTION_TS]);
token_score_fields!(result_fields [js_result JsTokenScore TOKEN_SCORE_TS]);
sentence_score_fields!(result_fields [js_result JsSentenceScore SENTENCE_SCORE_TS]);
ranked_fields!(result_fields [js_result JsRanked RANKED_TS]);

/// Lists of results: arrays of their JavaScript forms.
macro_rules! js_list {
    ($($t:ty => $ts:literal,)*) => {$(
        impl JsResult for Vec<$t> {
            const TS: &'static str = $ts;
            type Js = Vec<<$t as JsResult>::Js>;
            fn into_js(self) -> Self::Js {
                self.into_iter().map(JsResult::into_js).collect()
            }
        }
    )*};
}

js_list! {
    Prediction => "Prediction[]",
    TokenScore => "TokenScore[]",
    SentenceScore => "SentenceScore[]",
    Ranked => "Ranked[]",
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
    let stats = stats.into_js();
    // Every field by name (no `..`): a field added to the core's declaration is a compile error
    // here until `generation.js` passes it on too.
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
