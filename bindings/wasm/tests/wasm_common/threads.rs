//! The two builds: `threaded()` says which one runs (the threaded build's memory is a
//! SharedArrayBuffer, which needs a cross-origin isolated context: the test runner serves COOP
//! and COEP), and a model shared by handle (`share`, `fromShared`) is the same model, not a copy:
//! it generates the native golden texts, counts its holders, and is gone once they are.
//! (Several workers of one memory: tests/e2e/threads.test.mjs.)

use js_sys::{Reflect, SharedArrayBuffer};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm::GenerateOptions;
use ultra_efficient_llm_wasm::WasmModel;

use super::*;

/// Written by the native golden test (`tests/golden.rs`, `shaped()`).
const TINY_O3_SEED42_SHAPED: &str =
    include_str!("../../../../tests/fixtures/tiny-o3.seed42.shaped.txt");

fn text_of(model: &WasmModel, options: JsValue) -> String {
    let out = model
        .generate(s(PROMPT), options, JsValue::UNDEFINED)
        .unwrap();
    Reflect::get(&out, &"text".into())
        .unwrap()
        .as_string()
        .unwrap()
}

fn exact() -> JsValue {
    obj(&[("seed", num(42.0)), ("maxTokens", num(40.0))])
}

/// tests/golden.rs `shaped()`.
fn shaped() -> JsValue {
    obj(&[
        ("seed", num(42.0)),
        ("maxTokens", num(40.0)),
        ("temperature", num(0.8)),
        ("topK", num(40.0)),
        ("topP", num(0.95)),
    ])
}

#[wasm_bindgen_test]
fn the_build_says_whether_it_is_threaded_and_its_memory_agrees() {
    setup();
    let threaded = ultra_efficient_llm_wasm::threaded();
    assert_eq!(threaded, cfg!(target_feature = "atomics"));
    let buffer = wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer();
    assert_eq!(buffer.is_instance_of::<SharedArrayBuffer>(), threaded);
    if threaded {
        // Shared memory exists only in a cross-origin isolated context.
        let isolated = Reflect::get(&js_sys::global(), &"crossOriginIsolated".into()).unwrap();
        assert_eq!(isolated, JsValue::TRUE);
    }
    assert!(
        ultra_efficient_llm_wasm::compiled_module().is_instance_of::<js_sys::WebAssembly::Module>()
    );
}

#[wasm_bindgen_test]
fn seeded_texts_are_the_native_golden_ones_in_this_build() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    assert_eq!(text_of(&model, exact()), TINY_O3_SEED42);
    assert_eq!(text_of(&model, shaped()), TINY_O3_SEED42_SHAPED);
    // And the core's own call, in this build.
    let core = model
        .model()
        .generate(
            PROMPT,
            &GenerateOptions {
                seed: Some(42),
                max_tokens: 40,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(core.text, TINY_O3_SEED42);
}

#[wasm_bindgen_test]
fn a_shared_model_is_the_same_model_until_its_last_holder_frees_it() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    assert_eq!(model.holders(), 1);
    let handle = model.share();
    assert_ne!(handle, 0);
    assert_eq!(model.share(), handle, "sharing again gives the same handle");
    // A handle keeps nothing alive by itself.
    assert_eq!(model.holders(), 1);

    let other = WasmModel::from_shared(handle).unwrap();
    assert_eq!(model.holders(), 2);
    assert_eq!(other.holders(), 2);
    assert!(
        std::ptr::eq(model.model(), other.model()),
        "the same model, not a copy"
    );
    assert_eq!(text_of(&other, exact()), TINY_O3_SEED42);
    assert_eq!(text_of(&other, shaped()), TINY_O3_SEED42_SHAPED);

    // Either may go first; the model stays while one holds it.
    drop(model);
    assert_eq!(other.holders(), 1);
    let third = WasmModel::from_shared(handle).unwrap();
    assert_eq!(text_of(&third, exact()), TINY_O3_SEED42);
    drop(other);
    drop(third);

    // Gone: the handle finds nothing (an error, never freed memory).
    let err = WasmModel::from_shared(handle).unwrap_err();
    assert_js_error(&err, "InvalidOptionError", "INVALID_OPTION");
    let err = WasmModel::from_shared(0).unwrap_err();
    assert_js_error(&err, "InvalidOptionError", "INVALID_OPTION");

    // Another model gets another handle.
    let a = WasmModel::train(s(TINY), order3()).unwrap();
    let b = WasmModel::train(s(TINY), order3()).unwrap();
    assert_ne!(a.share(), b.share());
}
