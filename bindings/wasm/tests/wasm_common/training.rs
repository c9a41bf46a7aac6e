//! Training through the bindings: a `Trainer` fed in chunks (bytes split inside characters, text
//! split inside lines) equals training on the whole text; `finishFile`; typed input errors.

use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm_wasm::{WasmModel, WasmTrainer};

use super::*;

#[wasm_bindgen_test]
fn trainer_fed_in_chunks_equals_training_on_the_whole_text() {
    setup();
    let whole = WasmModel::train(s(ES_TINY), order3()).unwrap().to_bytes();

    // Raw bytes, the first chunk ending inside a two-byte character.
    let bytes = ES_TINY.as_bytes();
    let split = bytes.iter().position(|&b| b >= 0xC0).unwrap() + 1;
    let mut trainer = WasmTrainer::new(order3()).unwrap();
    trainer.set_total_bytes(bytes.len() as f64).unwrap();
    trainer.feed_bytes(b(&bytes[..split])).unwrap();
    // The held-back lead byte is not counted until its character is complete.
    assert_eq!(trainer.bytes_seen(), (split - 1) as f64);
    trainer.feed_bytes(b(&bytes[split..split + 1])).unwrap();
    assert_eq!(trainer.bytes_seen(), (split + 1) as f64);
    let mut at = split + 1;
    for (i, chunk) in bytes[at..].chunks(997).enumerate() {
        trainer.feed_bytes(b(chunk)).unwrap();
        at += chunk.len();
        // Chunk ends may fall inside characters: bytes seen lag by at most 3 bytes.
        let seen = trainer.bytes_seen();
        assert!(seen <= at as f64 && seen + 3.0 >= at as f64, "chunk {i}");
    }
    assert_eq!(trainer.bytes_seen(), bytes.len() as f64);
    assert_eq!(
        trainer.finish(JsValue::UNDEFINED).unwrap().to_bytes(),
        whole
    );

    // Text, in chunks that split lines.
    let mut trainer = WasmTrainer::new(order3()).unwrap();
    let mut rest = ES_TINY;
    while !rest.is_empty() {
        let mut cut = rest.len().min(1234);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        trainer.feed(s(&rest[..cut])).unwrap();
        rest = &rest[cut..];
    }
    assert_eq!(trainer.bytes_seen(), ES_TINY.len() as f64);
    assert_eq!(
        trainer.finish(JsValue::UNDEFINED).unwrap().to_bytes(),
        whole
    );

    // Typed errors.
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    let err = trainer.feed_bytes(b(b"text\0more")).unwrap_err();
    assert_js_error(&err, "NotTextError", "NOT_TEXT");
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    let err = trainer.feed_bytes(b(b"caf\xff")).unwrap_err();
    assert_js_error(&err, "NotTextError", "NOT_TEXT");
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    trainer
        .feed_bytes(b("caf\u{e9}".as_bytes().split_last().unwrap().1))
        .unwrap();
    let err = trainer.finish(JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "NotTextError", "NOT_TEXT");
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    trainer.feed(s(" \n\n")).unwrap();
    let err = trainer.finish(JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "EmptyInputError", "EMPTY_INPUT");
    let err = WasmModel::train(s(""), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "EmptyInputError", "EMPTY_INPUT");
}

#[wasm_bindgen_test]
fn finish_file_gives_the_file_and_info_of_finish() {
    setup();
    let model = WasmModel::train(s(ES_TINY), order3()).unwrap();
    let mut trainer = WasmTrainer::new(order3()).unwrap();
    trainer.feed(s(ES_TINY)).unwrap();
    let file = trainer.finish_file(JsValue::UNDEFINED).unwrap();
    assert_eq!(sorted(&["bytes", "info"]), keys(&file));
    let bytes = js_sys::Uint8Array::from(get(&file, "bytes")).to_vec();
    assert_eq!(bytes, model.to_bytes());
    // The same plain object as Model.info(), field for field.
    let info = get(&file, "info");
    let want = model.info().unwrap();
    assert_eq!(keys(&info), keys(&want));
    assert_eq!(
        js_sys::JSON::stringify(&info).unwrap(),
        js_sys::JSON::stringify(&want).unwrap()
    );
    let loaded = WasmModel::from_bytes(b(&bytes), JsValue::UNDEFINED)
        .unwrap()
        .info()
        .unwrap();
    assert_eq!(
        js_sys::JSON::stringify(&loaded).unwrap(),
        js_sys::JSON::stringify(&info).unwrap()
    );

    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    trainer.feed(s(" \n\n")).unwrap();
    let err = trainer.finish_file(JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "EmptyInputError", "EMPTY_INPUT");
}
