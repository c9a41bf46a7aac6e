//! Browser tests shared by `tests/wasm.rs` (a page) and `tests/wasm_worker.rs` (a dedicated
//! worker): each of those files picks the context and includes this module, which holds the
//! fixtures and helpers; the tests are in its submodules, one concern each (see tests/README.md).
//!
//! The JavaScript API is called through its Rust wrappers (`WasmModel`, `WasmTrainer` and the
//! free functions), with options built as plain JavaScript objects, so what is tested is what a
//! JavaScript caller gets: camelCase objects and `Error`s with `name` and `code`.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use ultra_efficient_llm::{Model, TrainOptions, Trainer};
use ultra_efficient_llm_wasm as js;

mod bounded;
mod errors;
mod generation;
mod model_files;
mod options;
mod progress;
mod results;
mod storage;
mod threads;
mod training;

const TINY: &str = include_str!("../../../../tests/fixtures/corpus/tiny.txt");
const ES_TINY: &str = include_str!("../../../../tests/fixtures/corpus/es-tiny.txt");
/// Made by KenLM's `lmplz -o 3` from `tiny.txt`.
const TINY_O3_ARPA: &str = include_str!("../../../../tests/fixtures/kenlm/tiny.o3.arpa");
/// Written by the native golden test (`tests/golden.rs`): the browser must generate the same.
const TINY_O3_SEED42: &str = include_str!("../../../../tests/fixtures/tiny-o3.seed42.txt");
const PROMPT: &str = "It is a truth";

/// `wasm-bindgen-test` does not run the module's `#[wasm_bindgen(start)]` function, so each test
/// installs the clock itself (idempotent).
fn setup() {
    js::install_clock();
}

fn tiny_o3() -> Model {
    let mut t = Trainer::new(TrainOptions {
        max_pattern_length: 3,
        ..Default::default()
    })
    .unwrap();
    t.feed(TINY);
    t.finish().unwrap()
}

/// A plain JavaScript object with these properties (built without `eval` or JSON).
fn obj(props: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (key, value) in props {
        Reflect::set(&o, &JsValue::from_str(key), value).unwrap();
    }
    o.into()
}

/// A `Uint8Array` of `bytes`, as the bindings' byte parameters take.
fn b(bytes: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(bytes).into()
}

/// A JavaScript string, as the bindings' string parameters take.
fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

fn num(n: f64) -> JsValue {
    JsValue::from_f64(n)
}

fn order3() -> JsValue {
    obj(&[("maxPatternLength", num(3.0))])
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

fn get_f64(target: &JsValue, key: &str) -> f64 {
    get(target, key)
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number"))
}

fn get_str(target: &JsValue, key: &str) -> String {
    get(target, key)
        .as_string()
        .unwrap_or_else(|| panic!("`{key}` is not a string"))
}

/// The own property names of an object, sorted.
fn keys(value: &JsValue) -> Vec<String> {
    let mut k: Vec<String> = Object::keys(value.unchecked_ref::<Object>())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    k.sort_unstable();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    v.sort_unstable();
    v
}

// The package's error classes (js/errors.js): the module that the bindings make their errors
// with (as this crate's snippet, under its `test-snippets` feature) and that js/storage.js imports.
#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    /// The base class of every error of the package.
    type UellmError;
}

/// Asserts that `err` is the package's `UellmError` (so an `Error`) with the given `name` and
/// `code`; returns its message.
fn assert_js_error(err: &JsValue, name: &str, code: &str) -> String {
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "not an Error: {err:?}"
    );
    assert!(
        err.is_instance_of::<UellmError>(),
        "not a UellmError: {err:?}"
    );
    assert_eq!(get(err, "name").as_string().as_deref(), Some(name));
    assert_eq!(get(err, "code").as_string().as_deref(), Some(code));
    let message = String::from(err.unchecked_ref::<js_sys::Error>().message());
    assert!(!message.is_empty());
    message
}

fn assert_invalid_option(err: &JsValue, mentions: &str) {
    let message = assert_js_error(err, "InvalidOptionError", "INVALID_OPTION");
    assert!(message.contains(mentions), "{message:?} lacks {mentions:?}");
}
