//! Browser bindings (compiled only for `wasm32`).
//!
//! The JavaScript API is a `Model` class:
//!
//! ```text
//! const model = Model.train(text, { max_pattern_length: 3 });   // options: snake_case, optional
//! const out = model.generate("It is", { seed: 42, max_tokens: 40 });
//! out.text; out.tokens; out.stats.elapsed_ms; out.stats.seed;
//! model.perplexity(text).perplexity;
//! model.info().order;
//! const bytes = model.toBytes();                                 // Uint8Array
//! const again = Model.fromBytes(bytes);
//! ```
//!
//! Options are plain objects with the field names of [`TrainOptions`] and [`GenerateOptions`];
//! `undefined` or `null` means the defaults, and an unknown field or a value of the wrong type is
//! an `InvalidOptionError`. Results are plain objects (the [`Generation`](crate::Generation),
//! [`Perplexity`](crate::Perplexity) and [`ModelInfo`](crate::ModelInfo) structs, with `null`
//! for absent values).
//!
//! Every failure is thrown as a real JavaScript `Error` whose `name` is [`Error::name`] (for
//! example `"NotAModelError"`) and whose `code` property is [`Error::code`] (for example
//! `"NOT_A_MODEL"`), so callers can branch on `err.code` without parsing messages.
//!
//! Loading the module installs `performance.now()` as the statistics clock
//! ([`crate::clock::set_clock`]); this works on a page and in a dedicated worker.

use std::cell::OnceCell;

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::{Error, GenerateOptions, Model, TrainOptions, Trainer};

/// Largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[wasm_bindgen]
extern "C" {
    /// The `performance` object of a window or a worker.
    type Performance;

    #[wasm_bindgen(method)]
    fn now(this: &Performance) -> f64;
}

thread_local! {
    static PERFORMANCE: OnceCell<Option<Performance>> = const { OnceCell::new() };
}

/// `performance.now()` of the global scope, or `Date.now()` where there is no `performance`.
fn performance_now() -> f64 {
    PERFORMANCE.with(|cell| {
        let perf = cell.get_or_init(|| {
            js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
                .ok()
                .filter(|p| p.is_object())
                .map(JsCast::unchecked_into::<Performance>)
        });
        match perf {
            Some(p) => p.now(),
            None => js_sys::Date::now(),
        }
    })
}

/// Runs when the module is instantiated: installs the clock (see [`install_clock`]).
#[wasm_bindgen(start)]
pub fn start() {
    install_clock();
}

/// Installs `performance.now()` of the global scope (window or worker) as the clock of the
/// statistics. The module's start function does this; calling it again does nothing. Tests run
/// by `wasm-bindgen-test` call it themselves.
pub fn install_clock() {
    crate::clock::set_clock(performance_now);
}

/// Turns a core error into a JavaScript `Error` with `name` = [`Error::name`] and a `code`
/// property = [`Error::code`].
pub fn to_js_error(err: &Error) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name(err.name());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(
        &js,
        &JsValue::from_str("code"),
        &JsValue::from_str(err.code()),
    );
    js.into()
}

/// An options object (`undefined`/`null` = defaults) as `T`; a malformed one, or one with a
/// property `T` does not have, is an [`Error::InvalidOption`].
fn options<T: DeserializeOwned + Default>(value: JsValue) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    let invalid = |reason: String| {
        to_js_error(&Error::InvalidOption {
            name: "options",
            reason,
        })
    };
    // serde-wasm-bindgen reads only the properties a struct names, so `deny_unknown_fields`
    // never fires: check the keys here, or a misspelled option would be silently ignored.
    if let Some(object) = value.dyn_ref::<js_sys::Object>() {
        let fields = struct_fields::<T>();
        for key in js_sys::Object::keys(object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !fields.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "unknown option `{key}`; expected one of: {}",
                    fields.join(", ")
                )));
            }
        }
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        // The message of a JavaScript Error, without its "Error: " prefix.
        let message = e.to_string();
        invalid(
            message
                .strip_prefix("Error: ")
                .unwrap_or(&message)
                .to_owned(),
        )
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

/// `value` as a plain JavaScript object (`null` for absent values).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_sys::Error::new(&format!("cannot convert the result: {e}")).into())
}

/// A trained or loaded model, the JavaScript `Model` class.
#[derive(Debug)]
#[wasm_bindgen(js_name = Model)]
pub struct WasmModel(Model);

#[wasm_bindgen(js_class = Model)]
impl WasmModel {
    /// Trains a model on `text` with `options` (a `TrainOptions` object, or `undefined`).
    ///
    /// # Errors
    /// `InvalidOptionError` for bad options, `EmptyInputError` when the text has no word.
    pub fn train(text: &str, options: JsValue) -> Result<WasmModel, JsValue> {
        let opts: TrainOptions = self::options(options)?;
        let mut trainer = Trainer::new(opts).map_err(|e| to_js_error(&e))?;
        trainer.feed(text);
        trainer.finish().map(WasmModel).map_err(|e| to_js_error(&e))
    }

    /// Generates a continuation of `prompt` with `options` (a `GenerateOptions` object, or
    /// `undefined`); returns `{ text, tokens, stats }`.
    ///
    /// Without a `seed` a fresh one is drawn below 2^53, so `stats.seed` is always a plain number
    /// that reproduces the text when passed back.
    ///
    /// # Errors
    /// `InvalidOptionError` for bad options.
    pub fn generate(&self, prompt: &str, options: JsValue) -> Result<JsValue, JsValue> {
        let mut opts: GenerateOptions = self::options(options)?;
        if opts.seed.is_none() {
            opts.seed = Some(self.0.next_seed() & MAX_SAFE_INTEGER);
        }
        let mut out = self
            .0
            .generate(prompt, &opts)
            .map_err(|e| to_js_error(&e))?;
        let seed = out.stats.seed;
        if seed <= MAX_SAFE_INTEGER {
            return to_js(&out);
        }
        // A seed given as a BigInt beyond 2^53 goes back as a BigInt.
        out.stats.seed = 0;
        let js = to_js(&out)?;
        let stats = js_sys::Reflect::get(&js, &JsValue::from_str("stats"))?;
        js_sys::Reflect::set(&stats, &JsValue::from_str("seed"), &JsValue::from(seed))?;
        Ok(js)
    }

    /// Perplexity of `text` (KenLM `query` semantics): `{ perplexity, perplexity_excluding_oov,
    /// log10_prob, tokens, oov, sentences }`.
    ///
    /// # Errors
    /// Only if the result cannot be converted (never expected).
    pub fn perplexity(&self, text: &str) -> Result<JsValue, JsValue> {
        to_js(&self.0.perplexity(text))
    }

    /// Summary figures (`ModelInfo`): order, vocabulary size, patterns per order, sizes, how it
    /// was trained.
    ///
    /// # Errors
    /// Only if the result cannot be converted (never expected).
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.0.info())
    }

    /// The model file's bytes, as a `Uint8Array`.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Loads a model from bytes made by `toBytes` (or the CLI).
    ///
    /// # Errors
    /// `NotAModelError`, `UnsupportedVersionError`, `TruncatedError` or `CorruptedError`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<WasmModel, JsValue> {
        Model::from_bytes(bytes)
            .map(WasmModel)
            .map_err(|e| to_js_error(&e))
    }
}

impl WasmModel {
    /// The core model.
    pub fn model(&self) -> &Model {
        &self.0
    }
}
