//! Arguments of the wrong type (a number as the prompt, an object as bytes) are
//! `InvalidOptionError`s, never traps that would leave the instance unusable.

use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm_wasm::{WasmModel, WasmTrainer};

use super::*;

#[wasm_bindgen_test]
fn arguments_of_the_wrong_type_are_invalid_options_not_traps() {
    // wasm-bindgen's glue checks no `&str` argument in release builds: a number passed as the
    // prompt used to trap the module's allocator and leave the instance unusable.
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    for bad in [
        num(42.0),
        JsValue::NULL,
        JsValue::UNDEFINED,
        obj(&[("a", num(1.0))]),
        js_sys::Array::new().into(),
        JsValue::TRUE,
    ] {
        let err = model
            .generate(bad.clone(), JsValue::UNDEFINED, JsValue::UNDEFINED)
            .unwrap_err();
        assert_invalid_option(&err, "`prompt`: must be a string");
        let err = model.perplexity(bad.clone()).unwrap_err();
        assert_invalid_option(&err, "`text`: must be a string");
        let err = WasmModel::train(bad.clone(), order3()).unwrap_err();
        assert_invalid_option(&err, "`text`");
        let err = WasmModel::from_arpa(bad.clone()).unwrap_err();
        assert_invalid_option(&err, "`text`");
        let mut trainer = WasmTrainer::new(order3()).unwrap();
        let err = trainer.feed(bad).unwrap_err();
        assert_invalid_option(&err, "`text`");
    }
    let err = model
        .generate(num(42.0), JsValue::UNDEFINED, JsValue::UNDEFINED)
        .unwrap_err();
    assert_invalid_option(&err, "got number");
    let err = model.perplexity(JsValue::NULL).unwrap_err();
    assert_invalid_option(&err, "got null");

    // Bytes: a Uint8Array, an ArrayBuffer or an array of numbers; nothing else, not even an
    // object whose `length` would have been taken as the size to allocate.
    let file = model.to_bytes();
    for bad in [
        num(42.0),
        s("UELMODEL"),
        JsValue::NULL,
        JsValue::UNDEFINED,
        obj(&[("length", num(1e10))]),
    ] {
        let err = WasmModel::from_bytes(bad.clone(), JsValue::UNDEFINED).unwrap_err();
        assert_invalid_option(&err, "`bytes`: must be a Uint8Array");
        let err = WasmModel::check_header(bad.clone()).unwrap_err();
        assert_invalid_option(&err, "`bytes`");
        let mut trainer = WasmTrainer::new(order3()).unwrap();
        let err = trainer.feed_bytes(bad).unwrap_err();
        assert_invalid_option(&err, "`bytes`");
    }
    let buffer = js_sys::Uint8Array::from(&file[..]).buffer();
    WasmModel::check_header(buffer.clone().into()).unwrap();
    let from_buffer = WasmModel::from_bytes(buffer.into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(from_buffer.to_bytes(), file);
    let numbers: js_sys::Array = file.iter().map(|&x| num(x.into())).collect();
    assert_eq!(
        WasmModel::from_bytes(numbers.into(), JsValue::UNDEFINED)
            .unwrap()
            .to_bytes(),
        file
    );
    // The instance is still sound: the golden text, as before.
    let out = model
        .generate(
            s(PROMPT),
            obj(&[("seed", num(42.0)), ("maxTokens", num(40.0))]),
            JsValue::UNDEFINED,
        )
        .unwrap();
    assert_eq!(get_str(&out, "text"), TINY_O3_SEED42);
}
