//! Browser tests shared by `tests/wasm.rs` (a page) and `tests/wasm_worker.rs` (a dedicated
//! worker): each of those files picks the context and includes this module.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm::wasm::WasmModel;
use ultra_efficient_llm::{clock, GenerateOptions, Model, TrainOptions, Trainer};

const TINY: &str = include_str!("../fixtures/corpus/tiny.txt");
/// Written by the native golden test (`tests/golden.rs`): the browser must generate the same.
const TINY_O3_SEED42: &str = include_str!("../fixtures/tiny-o3.seed42.txt");
const PROMPT: &str = "It is a truth";

/// `wasm-bindgen-test` does not run the module's `#[wasm_bindgen(start)]` function, so each test
/// installs the clock itself (idempotent).
fn setup() {
    ultra_efficient_llm::wasm::install_clock();
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

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

/// Asserts that `err` is a JavaScript `Error` with the given `name` and `code`.
fn assert_js_error(err: &JsValue, name: &str, code: &str) {
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "not an Error: {err:?}"
    );
    assert_eq!(get(err, "name").as_string().as_deref(), Some(name));
    assert_eq!(get(err, "code").as_string().as_deref(), Some(code));
    let message = err.unchecked_ref::<js_sys::Error>().message();
    assert!(!String::from(message).is_empty());
}

#[wasm_bindgen_test]
fn seeded_generation_matches_the_native_golden_text() {
    setup();
    let model = tiny_o3();
    let opts = GenerateOptions {
        seed: Some(42),
        max_tokens: 40,
        ..Default::default()
    };
    let out = model.generate(PROMPT, &opts).unwrap();
    assert_eq!(out.text, TINY_O3_SEED42);
    assert_eq!(out.stats.seed, 42);
    assert!(out.stats.tokens > 0);
    // The clock is installed: performance.now() of this global scope, never the 0 fallback.
    assert!(clock::now_ms() > 0.0);
    assert!(out.stats.elapsed_ms.is_finite() && out.stats.elapsed_ms >= 0.0);
    assert!(out.stats.tokens_per_second.is_finite() && out.stats.tokens_per_second >= 0.0);
}

#[wasm_bindgen_test]
fn clock_is_monotonic_and_advances() {
    setup();
    let a = clock::now_ms();
    let mut b = a;
    // performance.now() is coarsened (100 µs in Chromium): spin until it moves, with a bound.
    for _ in 0..10_000_000 {
        b = clock::now_ms();
        if b > a {
            break;
        }
    }
    assert!(a > 0.0 && b > a, "{a} -> {b}");
}

#[wasm_bindgen_test]
fn model_bytes_round_trip_and_load_errors_are_typed() {
    setup();
    let model = tiny_o3();
    let bytes = model.to_bytes();
    let again = Model::from_bytes(&bytes).unwrap();
    assert_eq!(again.to_bytes(), bytes);
    assert_eq!(again.info(), model.info());

    let err = Model::from_bytes(b"junk").unwrap_err();
    assert_eq!(err.code(), "NOT_A_MODEL");
    let err = Model::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
    assert_eq!(err.code(), "TRUNCATED");
}

#[wasm_bindgen_test]
fn errors_cross_into_javascript_as_typed_errors() {
    setup();
    let err = WasmModel::from_bytes(b"junk").unwrap_err();
    assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");

    let err = WasmModel::train(TINY, options(r#"{"max_pattern_length": 0}"#)).unwrap_err();
    assert_js_error(&err, "InvalidOptionError", "INVALID_OPTION");
    // An unknown option is rejected rather than silently ignored.
    let err = WasmModel::train(TINY, options(r#"{"maxPatternLength": 3}"#)).unwrap_err();
    assert_js_error(&err, "InvalidOptionError", "INVALID_OPTION");
    let err = WasmModel::train("", JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "EmptyInputError", "EMPTY_INPUT");

    let model = WasmModel::train(TINY, options(r#"{"max_pattern_length": 3}"#)).unwrap();
    let err = model
        .generate(PROMPT, options(r#"{"temperature": -1}"#))
        .unwrap_err();
    assert_js_error(&err, "InvalidOptionError", "INVALID_OPTION");
}

#[wasm_bindgen_test]
fn the_javascript_model_class_works_end_to_end() {
    setup();
    let model = WasmModel::train(TINY, options(r#"{"max_pattern_length": 3}"#)).unwrap();

    let out = model
        .generate(PROMPT, options(r#"{"seed": 42, "max_tokens": 40}"#))
        .unwrap();
    assert_eq!(
        get(&out, "text").as_string().as_deref(),
        Some(TINY_O3_SEED42)
    );
    let stats = get(&out, "stats");
    assert_eq!(get(&stats, "seed").as_f64(), Some(42.0));
    assert!(get(&stats, "elapsed_ms").as_f64().unwrap().is_finite());
    assert!(js_sys::Array::is_array(&get(&out, "tokens")));
    // Absent values are null (JSON-friendly), not undefined.
    assert!(get(&stats, "cache_hit_rate").is_null());

    // Without a seed, the drawn seed is a plain number that reproduces the text.
    let drawn = model.generate(PROMPT, JsValue::NULL).unwrap();
    let seed = get(&get(&drawn, "stats"), "seed").as_f64().unwrap();
    assert!(seed.fract() == 0.0 && seed <= 9_007_199_254_740_991.0);
    let replay = model
        .generate(PROMPT, options(&format!(r#"{{"seed": {seed}}}"#)))
        .unwrap();
    assert_eq!(
        get(&replay, "text").as_string(),
        get(&drawn, "text").as_string()
    );

    let info = model.info().unwrap();
    assert_eq!(get(&info, "order").as_f64(), Some(3.0));
    let ppl = model
        .perplexity("It is a truth universally acknowledged.")
        .unwrap();
    assert!(get(&ppl, "perplexity").as_f64().unwrap() > 1.0);

    let bytes = model.to_bytes();
    let again = WasmModel::from_bytes(&bytes).unwrap();
    assert_eq!(again.to_bytes(), bytes);
    assert_eq!(again.model().info(), model.model().info());
}
