//! JavaScript options objects: camelCase mirrors of the core's [`TrainOptions`] and
//! [`GenerateOptions`], read with a strict check for unknown properties.
//!
//! [`options`] (serde-wasm-bindgen plus a key check) is the reference reader. `generate` runs
//! once per request, where that reader cost several microseconds, so [`generate_options`] reads
//! the usual objects directly and hands everything unusual to [`options`].

use std::cell::OnceCell;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::{to_js_error, MAX_SAFE_INTEGER};
use ultra_efficient_llm::{Error, GenerateOptions, Preset, TrainOptions};

/// The JavaScript `TrainOptions` object. Every property is optional; `undefined` or `null` means
/// the core default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct JsTrainOptions {
    max_pattern_length: Option<usize>,
    min_frequency: Option<u32>,
    max_patterns: Option<u64>,
}

impl JsTrainOptions {
    /// The core options (not validated yet: [`ultra_efficient_llm::Trainer::new`] does that).
    pub(crate) fn into_core(self) -> TrainOptions {
        let d = TrainOptions::default();
        TrainOptions {
            max_pattern_length: self.max_pattern_length.unwrap_or(d.max_pattern_length),
            min_frequency: self.min_frequency.unwrap_or(d.min_frequency),
            max_patterns: self.max_patterns.unwrap_or(d.max_patterns),
        }
    }
}

/// The JavaScript `GenerateOptions` object: `preset` is applied first, then every property that
/// is set (not `undefined`/`null`) overrides it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct JsGenerateOptions {
    preset: Option<Preset>,
    max_tokens: Option<usize>,
    context_window: Option<usize>,
    seed: Option<u64>,
    temperature: Option<f64>,
    top_k: Option<usize>,
    top_p: Option<f64>,
    stop_at_sentence_end: Option<bool>,
    min_generated_tokens_ratio: Option<f64>,
    max_patterns_per_query: Option<usize>,
    max_backup_patterns: Option<usize>,
    activation_threshold: Option<f64>,
    frequency_normalization: Option<bool>,
    activation_cache_size: Option<usize>,
}

impl JsGenerateOptions {
    /// The core options (range checks are left to the core, except the seed's JavaScript bound).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a seed above `Number.MAX_SAFE_INTEGER`.
    pub(crate) fn into_core(self) -> Result<GenerateOptions, Error> {
        let JsGenerateOptions {
            preset,
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
        } = self;
        if seed.is_some_and(|s| s > MAX_SAFE_INTEGER) {
            return Err(Error::InvalidOption {
                name: "seed",
                reason: "must be an integer from 0 to 2^53 - 1 (Number.MAX_SAFE_INTEGER)".into(),
            });
        }
        let mut o = preset.map_or_else(GenerateOptions::default, GenerateOptions::preset);
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *field = v;
            }
        }
        set(&mut o.max_tokens, max_tokens);
        set(&mut o.context_window, context_window);
        o.seed = seed.or(o.seed);
        set(&mut o.temperature, temperature);
        set(&mut o.top_k, top_k);
        set(&mut o.top_p, top_p);
        set(&mut o.stop_at_sentence_end, stop_at_sentence_end);
        set(
            &mut o.min_generated_tokens_ratio,
            min_generated_tokens_ratio,
        );
        set(&mut o.max_patterns_per_query, max_patterns_per_query);
        set(&mut o.max_backup_patterns, max_backup_patterns);
        set(&mut o.activation_threshold, activation_threshold);
        set(&mut o.frequency_normalization, frequency_normalization);
        set(&mut o.activation_cache_size, activation_cache_size);
        Ok(o)
    }
}

/// The property names of [`JsGenerateOptions`], in the order of its fields (serde reads them in
/// that order, and getters may observe it).
const GENERATE_KEYS: [&str; 14] = [
    "preset",
    "maxTokens",
    "contextWindow",
    "seed",
    "temperature",
    "topK",
    "topP",
    "stopAtSentenceEnd",
    "minGeneratedTokensRatio",
    "maxPatternsPerQuery",
    "maxBackupPatterns",
    "activationThreshold",
    "frequencyNormalization",
    "activationCacheSize",
];

// `plain_object_keys` marks the keys present as bits of a `u32`.
const _: () = assert!(GENERATE_KEYS.len() <= 32);

thread_local! {
    /// [`GENERATE_KEYS`] as JavaScript strings, made once: passing a Rust string to JavaScript
    /// costs an encoding and an allocation per call.
    static GENERATE_JS_KEYS: OnceCell<Vec<JsValue>> = const { OnceCell::new() };
}

/// The `GenerateOptions` object of a `generate` call, as [`options`] reads it, but faster.
///
/// The fast path takes a plain object whose own keys are all known and whose set values are
/// plain numbers, booleans and preset names, which is what callers pass; it reads each property
/// it has once with `Reflect.get` and converts it in Rust. Anything else (not an object, an unknown key, a
/// value of the wrong type or out of range, a BigInt seed) goes to [`options`], so results and
/// error messages stay exactly those of the reference reader (getters of such objects then run
/// twice).
pub(crate) fn generate_options(value: JsValue) -> Result<JsGenerateOptions, JsValue> {
    if value.is_null_or_undefined() {
        return Ok(JsGenerateOptions::default());
    }
    if let Some(present) = plain_object_keys(&value, &GENERATE_KEYS) {
        let fast = GENERATE_JS_KEYS.with(|cell| {
            let keys = cell.get_or_init(|| {
                debug_assert_eq!(struct_fields::<JsGenerateOptions>(), GENERATE_KEYS);
                GENERATE_KEYS
                    .iter()
                    .map(|&k| JsValue::from_str(k))
                    .collect()
            });
            read_generate_options(&value, keys, present)
        })?;
        if let Some(opts) = fast {
            return Ok(opts);
        }
    }
    options(value)
}

thread_local! {
    /// `Object.prototype`, to tell plain objects (literals) from others.
    static OBJECT_PROTOTYPE: OnceCell<JsValue> = const { OnceCell::new() };
}

/// For a plain object (an object literal: its prototype is `Object.prototype`, so it inherits
/// no option) whose own enumerable keys are all in `known` (at most 32), the set of those keys
/// as bits by index in `known`; `None` for anything else.
///
/// The keys come over as one joined string (three calls into JavaScript, whatever their number,
/// instead of one string per key). A key containing the separator splits into more pieces than
/// there are keys, so the check stays exact: `None` then, and [`options`] names the key.
fn plain_object_keys(object: &JsValue, known: &[&str]) -> Option<u32> {
    if !object.is_object() {
        return None;
    }
    let object: &js_sys::Object = object.unchecked_ref();
    let prototype = js_sys::Object::get_prototype_of(object);
    let plain = OBJECT_PROTOTYPE.with(|p| {
        p.get_or_init(|| js_sys::Object::get_prototype_of(&js_sys::Object::new()).into())
            == &JsValue::from(prototype)
    });
    if !plain {
        return None;
    }
    let keys = js_sys::Object::keys(object);
    let count = keys.length() as usize;
    if count == 0 {
        return Some(0);
    }
    let joined = String::from(keys.join(","));
    let mut present = 0u32;
    let mut pieces = 0;
    for piece in joined.split(',') {
        let i = known.iter().position(|&k| k == piece)?;
        present |= 1 << i;
        pieces += 1;
    }
    (pieces == count).then_some(present)
}

/// The fast path of [`generate_options`]: `Ok(None)` when a value needs the reference reader.
///
/// # Errors
/// What a getter throws.
fn read_generate_options(
    object: &JsValue,
    keys: &[JsValue],
    present: u32,
) -> Result<Option<JsGenerateOptions>, JsValue> {
    // Only the keys the object has: an absent one reads as `undefined`.
    let get = |i: usize| {
        if present & (1 << i) == 0 {
            Ok(JsValue::UNDEFINED)
        } else {
            js_sys::Reflect::get(object, &keys[i])
        }
    };
    // `Some(None)`: unset (`undefined` or `null`); `None`: not a plain value of the type.
    macro_rules! read {
        ($i:expr, $convert:expr) => {{
            let v = get($i)?;
            if v.is_null_or_undefined() {
                None
            } else {
                match $convert(&v) {
                    Some(x) => Some(x),
                    None => return Ok(None),
                }
            }
        }};
    }
    Ok(Some(JsGenerateOptions {
        preset: read!(0, preset_name),
        max_tokens: read!(1, unsigned),
        context_window: read!(2, unsigned),
        seed: read!(3, unsigned),
        temperature: read!(4, JsValue::as_f64),
        top_k: read!(5, unsigned),
        top_p: read!(6, JsValue::as_f64),
        stop_at_sentence_end: read!(7, JsValue::as_bool),
        min_generated_tokens_ratio: read!(8, JsValue::as_f64),
        max_patterns_per_query: read!(9, unsigned),
        max_backup_patterns: read!(10, unsigned),
        activation_threshold: read!(11, JsValue::as_f64),
        frequency_normalization: read!(12, JsValue::as_bool),
        activation_cache_size: read!(13, unsigned),
    }))
}

/// A number serde-wasm-bindgen reads as this unsigned type: a safe integer (`Number.isSafeInteger`)
/// from 0 that fits. BigInts and everything else are left to it.
fn unsigned<T: TryFrom<u64>>(v: &JsValue) -> Option<T> {
    let n = v.as_f64()?;
    // NaN and the infinities fail `fract() == 0.0`.
    if n >= 0.0 && n <= MAX_SAFE_INTEGER as f64 && n.fract() == 0.0 {
        T::try_from(n as u64).ok()
    } else {
        None
    }
}

/// A preset name; an unknown one is left to serde for its error message.
fn preset_name(v: &JsValue) -> Option<Preset> {
    match v.as_string()?.as_str() {
        "development" => Some(Preset::Development),
        "production" => Some(Preset::Production),
        "high_performance" => Some(Preset::HighPerformance),
        _ => None,
    }
}

/// The JavaScript (camelCase) name of a core option, for error messages.
pub(crate) fn js_option_name(name: &'static str) -> &'static str {
    match name {
        "max_pattern_length" => "maxPatternLength",
        "min_frequency" => "minFrequency",
        "max_patterns" => "maxPatterns",
        "max_tokens" => "maxTokens",
        "context_window" => "contextWindow",
        "top_k" => "topK",
        "top_p" => "topP",
        "stop_at_sentence_end" => "stopAtSentenceEnd",
        "min_generated_tokens_ratio" => "minGeneratedTokensRatio",
        "max_patterns_per_query" => "maxPatternsPerQuery",
        "max_backup_patterns" => "maxBackupPatterns",
        "activation_threshold" => "activationThreshold",
        "frequency_normalization" => "frequencyNormalization",
        "activation_cache_size" => "activationCacheSize",
        other => other,
    }
}

/// `value` as a Rust string, or an `InvalidOptionError` naming the argument `name`.
///
/// String parameters of the bindings are taken as `JsValue` and checked here: wasm-bindgen's glue
/// for a `&str` parameter checks nothing in release builds, and a number or an object passed
/// there is written into the module's memory with a bogus length, which traps its allocator and
/// leaves the instance unusable.
pub(crate) fn string_arg(value: &JsValue, name: &'static str) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| {
        js_error(Error::InvalidOption {
            name,
            reason: format!("must be a string, got {}", type_name(value)),
        })
    })
}

/// `value` as bytes: a `Uint8Array` as it is, an `ArrayBuffer` or an array of numbers (each
/// taken modulo 256, as `new Uint8Array(array)` does) viewed as one; anything else is an
/// `InvalidOptionError` naming the argument `name`. (For the reason, see [`string_arg`]: the
/// glue's unchecked `&[u8]` conversion would take any object's `length` as the size to
/// allocate.)
pub(crate) fn bytes_arg(
    value: &JsValue,
    name: &'static str,
) -> Result<js_sys::Uint8Array, JsValue> {
    if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(bytes.clone());
    }
    if value.is_instance_of::<js_sys::ArrayBuffer>() || js_sys::Array::is_array(value) {
        return Ok(js_sys::Uint8Array::new(value));
    }
    Err(js_error(Error::InvalidOption {
        name,
        reason: format!(
            "must be a Uint8Array, an ArrayBuffer or an array of bytes, got {}",
            type_name(value)
        ),
    }))
}

/// What a wrong argument is, for error messages: `typeof`, with `null` and arrays told apart.
fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".to_owned()
    } else if js_sys::Array::is_array(value) {
        "an array".to_owned()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// A core error as a JavaScript `Error`, with option names in their JavaScript spelling.
pub(crate) fn js_error(err: Error) -> JsValue {
    match err {
        Error::InvalidOption { name, reason } => to_js_error(&Error::InvalidOption {
            name: js_option_name(name),
            reason,
        }),
        other => to_js_error(&other),
    }
}

/// An options object (`undefined`/`null` = defaults) as `T`; a malformed one, or one with a
/// property `T` does not have, is an [`Error::InvalidOption`] (thrown as `InvalidOptionError`).
pub(crate) fn options<T: DeserializeOwned + Default>(value: JsValue) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    let fields = struct_fields::<T>();
    let invalid = |name: &'static str, e: serde_wasm_bindgen::Error| {
        // The message of a JavaScript Error, without its "Error: " prefix.
        let message = e.to_string();
        let reason = message
            .strip_prefix("Error: ")
            .unwrap_or(&message)
            .to_owned();
        to_js_error(&Error::InvalidOption { name, reason })
    };
    // serde-wasm-bindgen reads only the properties a struct names, so `deny_unknown_fields`
    // never fires: check the keys here, or a misspelled option would be silently ignored.
    let keys = match value.dyn_ref::<js_sys::Object>() {
        Some(object) => js_sys::Object::keys(object),
        None => js_sys::Array::new(),
    };
    for key in keys.iter() {
        let key = key.as_string().unwrap_or_default();
        if !fields.contains(&key.as_str()) {
            return Err(to_js_error(&Error::InvalidOption {
                name: "options",
                reason: format!(
                    "unknown option `{key}`; expected one of: {}",
                    fields.join(", ")
                ),
            }));
        }
    }
    serde_wasm_bindgen::from_value(value.clone()).map_err(|e| {
        // Name the property at fault: the first one that fails on its own.
        for &field in fields {
            let Ok(v) = js_sys::Reflect::get(&value, &JsValue::from_str(field)) else {
                continue;
            };
            if v.is_undefined() {
                continue;
            }
            let single = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&single, &JsValue::from_str(field), &v);
            if let Err(e) = serde_wasm_bindgen::from_value::<T>(single.into()) {
                return invalid(field, e);
            }
        }
        invalid("options", e)
    })
}

/// The field names a `Deserialize` struct asks for (empty for other types).
fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};

    /// A deserializer that only records the field list of `deserialize_struct`.
    struct Fields<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}
