//! JavaScript options objects: camelCase mirrors of the core's [`TrainOptions`] and
//! [`GenerateOptions`], read with a strict check for unknown properties.
//!
//! Both are made from the core's one declaration of the options
//! ([`ultra_efficient_llm::train_option_fields`], [`ultra_efficient_llm::generate_option_fields`]):
//! the structs read and written here, their camelCase names and key table, the fast reader's
//! positional reads and the TypeScript interfaces all follow from it, so a new core option needs
//! no edit here.
//!
//! [`options`] (serde-wasm-bindgen plus a key check) is the reference reader. `generate` runs
//! once per request, where that reader cost several microseconds, so [`generate_options`] reads
//! the usual objects directly and hands everything unusual to [`options`].

use std::cell::OnceCell;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::{to_js_error, MAX_SAFE_INTEGER};
use ultra_efficient_llm::{
    generate_option_fields, option_fields, train_option_fields, Error, GenerateOptions,
    GenerateOverrides, Preset, TrainOptions,
};

/// The type of an option's value as JavaScript passes and gets it.
pub(crate) trait JsField: Sized {
    /// Its TypeScript type.
    #[allow(dead_code)] // used by the TypeScript section only, which the lint does not see
    const TS: &'static str;
    /// A plain JavaScript value of the type, as the reference reader ([`options`]) would read
    /// it; `None` for anything else (left to that reader).
    fn read(v: &JsValue) -> Option<Self>;
    /// True when the value is absent (an unset seed): then it is left out of the object.
    fn is_unset(&self) -> bool {
        false
    }
}

macro_rules! unsigned_fields {
    ($($t:ty),*) => {$(
        impl JsField for $t {
            const TS: &'static str = "number";
            fn read(v: &JsValue) -> Option<Self> {
                unsigned(v)
            }
        }
    )*};
}
unsigned_fields!(usize, u32, u64);

impl JsField for f64 {
    const TS: &'static str = "number";
    fn read(v: &JsValue) -> Option<Self> {
        v.as_f64()
    }
}

impl JsField for bool {
    const TS: &'static str = "boolean";
    fn read(v: &JsValue) -> Option<Self> {
        v.as_bool()
    }
}

/// An optional number (the seed): set when the property is.
impl JsField for Option<u64> {
    const TS: &'static str = "number";
    fn read(v: &JsValue) -> Option<Self> {
        unsigned(v).map(Some)
    }
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

/// Makes, from the core's declaration of [`TrainOptions`]: [`JsTrainOptions`] (read),
/// [`JsTrainOptionsOut`] (written), [`TRAIN_NAMES`] and [`TRAIN_TS`].
macro_rules! js_train_options {
    (; $($kind:ident $name:ident: $ty:ty [$($doc:literal),*] $js_doc:literal = $default:expr,)*) => {
        /// The JavaScript `TrainOptions` object. Every property is optional; `undefined` or
        /// `null` means the core default.
        #[derive(Debug, Default, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub(crate) struct JsTrainOptions {
            $($name: Option<$ty>,)*
        }

        impl JsTrainOptions {
            /// The core options (not validated yet: [`ultra_efficient_llm::Trainer::new`] does
            /// that).
            pub(crate) fn into_core(self) -> TrainOptions {
                let d = TrainOptions::default();
                let JsTrainOptions { $($name,)* } = self;
                TrainOptions {
                    $($name: $name.unwrap_or(d.$name),)*
                }
            }
        }

        /// The JavaScript `TrainOptions` (every field present).
        #[derive(Debug, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub(crate) struct JsTrainOptionsOut {
            $($name: $ty,)*
        }

        impl From<TrainOptions> for JsTrainOptionsOut {
            fn from(o: TrainOptions) -> Self {
                let TrainOptions { $($name,)* } = o;
                JsTrainOptionsOut { $($name,)* }
            }
        }

        /// `(core name, JavaScript name)` of every train option.
        const TRAIN_NAMES: &[(&str, &str)] = &[$((stringify!($name), camel!(stringify!($name))),)*];

        /// The TypeScript fields of `TrainOptions`.
        #[allow(dead_code)] // used by the TypeScript section only, which the lint does not see
        pub(crate) const TRAIN_TS: &str = const_str!(&[
            $("  /** ", $js_doc, " */\n  ", camel!(stringify!($name)), "?: ", <$ty as JsField>::TS, ";\n",)*
        ]);
    };
}

train_option_fields!(option_fields[js_train_options]);

/// Makes, from the core's declaration of [`GenerateOptions`]: [`JsGenerateOptions`] (read, with
/// `preset` first), its fast reader [`read_generate_options`], [`JsGenerateOptionsOut`]
/// (written), [`GENERATE_KEYS`], [`GENERATE_NAMES`] and [`GENERATE_TS`].
macro_rules! js_generate_options {
    (; $($kind:ident $name:ident: $ty:ty [$($doc:literal),*] $js_doc:literal = $default:expr,)*) => {
        /// The JavaScript `GenerateOptions` object: `preset` is applied first, then every
        /// property that is set (not `undefined`/`null`) overrides it.
        #[derive(Debug, Default, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub(crate) struct JsGenerateOptions {
            preset: Option<Preset>,
            $($name: Option<$ty>,)*
        }

        impl JsGenerateOptions {
            /// The preset and the overrides as the core takes them.
            fn into_parts(self) -> (Option<Preset>, GenerateOverrides) {
                let JsGenerateOptions { preset, $($name,)* } = self;
                (preset, GenerateOverrides { $($name,)* })
            }
        }

        /// The property names of [`JsGenerateOptions`], in the order of its fields (serde reads
        /// them in that order, and getters may observe it).
        const GENERATE_KEYS: &[&str] = &["preset", $(camel!(stringify!($name)),)*];

        /// `(core name, JavaScript name)` of every generation option.
        const GENERATE_NAMES: &[(&str, &str)] =
            &[$((stringify!($name), camel!(stringify!($name))),)*];

        /// The fast path of [`generate_options`]: `Ok(None)` when a value needs the reference
        /// reader. `keys` are [`GENERATE_KEYS`] as JavaScript strings, `present` the bits of
        /// those the object has.
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
            // `Some(None)`: unset (`undefined` or `null`); `None`: not a plain value of the
            // type.
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
            // Field by field in the order of GENERATE_KEYS (a struct expression evaluates its
            // fields in the order written).
            let mut i = 0;
            Ok(Some(JsGenerateOptions {
                preset: read!(0, preset_name),
                $($name: {
                    i += 1;
                    read!(i, <$ty as JsField>::read)
                },)*
            }))
        }

        /// The JavaScript `GenerateOptions` (every field present; `seed` only when set).
        #[derive(Debug, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub(crate) struct JsGenerateOptionsOut {
            $(
                #[serde(skip_serializing_if = "JsField::is_unset")]
                $name: $ty,
            )*
        }

        impl From<GenerateOptions> for JsGenerateOptionsOut {
            fn from(o: GenerateOptions) -> Self {
                let GenerateOptions { $($name,)* } = o;
                JsGenerateOptionsOut { $($name,)* }
            }
        }

        /// The TypeScript fields of `GenerateOptions` (after `preset`).
        #[allow(dead_code)] // as TRAIN_TS
        pub(crate) const GENERATE_TS: &str = const_str!(&[
            $("  /** ", $js_doc, " */\n  ", camel!(stringify!($name)), "?: ", <$ty as JsField>::TS, ";\n",)*
        ]);
    };
}

generate_option_fields!(option_fields[js_generate_options]);

impl JsGenerateOptions {
    /// The core options: the preset, then the fields set ([`GenerateOptions::resolve`]). Range
    /// checks are left to the core, except the seed's JavaScript bound.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a seed above `Number.MAX_SAFE_INTEGER`.
    pub(crate) fn into_core(self) -> Result<GenerateOptions, Error> {
        let (preset, overrides) = self.into_parts();
        if overrides
            .seed
            .flatten()
            .is_some_and(|s| s > MAX_SAFE_INTEGER)
        {
            return Err(Error::InvalidOption {
                name: "seed",
                reason: "must be an integer from 0 to 2^53 - 1 (Number.MAX_SAFE_INTEGER)".into(),
            });
        }
        Ok(GenerateOptions::resolve(preset, overrides))
    }
}

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
/// it has once with `Reflect.get` and converts it in Rust. Anything else (not an object, an
/// unknown key, a value of the wrong type or out of range, a BigInt seed) goes to [`options`], so
/// results and error messages stay exactly those of the reference reader (getters of such
/// objects then run twice).
pub(crate) fn generate_options(value: JsValue) -> Result<JsGenerateOptions, JsValue> {
    if value.is_null_or_undefined() {
        return Ok(JsGenerateOptions::default());
    }
    if let Some(present) = plain_object_keys(&value, GENERATE_KEYS) {
        let fast = GENERATE_JS_KEYS.with(|cell| {
            let keys = cell.get_or_init(|| {
                // serde's camelCase names are the table's.
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
    v.as_string()?.parse().ok()
}

/// The JavaScript (camelCase) name of a core option, for error messages.
pub(crate) fn js_option_name(name: &'static str) -> &'static str {
    TRAIN_NAMES
        .iter()
        .chain(GENERATE_NAMES)
        .find(|(core, _)| *core == name)
        .map_or(name, |&(_, js)| js)
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

/// The JavaScript `PredictOptions` object: every property optional (the core's defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct JsPredictOptions {
    k: Option<u32>,
    prefix: Option<String>,
    ignore_case: Option<bool>,
    allow_end: Option<bool>,
    min_probability: Option<f64>,
}

impl JsPredictOptions {
    /// The core options.
    pub(crate) fn into_core(self) -> ultra_efficient_llm::PredictOptions {
        let d = ultra_efficient_llm::PredictOptions::default();
        ultra_efficient_llm::PredictOptions {
            k: self.k.map_or(d.k, |k| k as usize),
            prefix: self.prefix.unwrap_or(d.prefix),
            ignore_case: self.ignore_case.unwrap_or(d.ignore_case),
            allow_end: self.allow_end.unwrap_or(d.allow_end),
            min_probability: self.min_probability.unwrap_or(d.min_probability),
        }
    }
}

/// The TypeScript interface `PredictOptions`.
#[allow(dead_code)] // used by the TypeScript section only, which the lint does not see
pub(crate) const PREDICT_TS: &str =
    "/** Options of `predict(context, options)`; every field optional. */
export interface PredictOptions {
  /** How many words, at most (default 10). */
  k?: number;
  /** Only words that start with this: the part of a word typed so far (default: any word). */
  prefix?: string;
  /** Match `prefix` whatever the letters' case (default false). */
  ignoreCase?: boolean;
  /** \"</s>\", the end of the sentence, may be predicted (default false). */
  allowEnd?: boolean;
  /** Leave out words less likely than this (default 0). */
  minProbability?: number;
}

";

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
