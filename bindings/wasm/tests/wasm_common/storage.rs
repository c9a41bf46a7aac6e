//! The JavaScript runtime's IndexedDB storage (`js/storage.js`) and its errors' wire form
//! (`js/errors.js`), run in every browser and context these tests run in.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm_wasm::WasmModel;

use super::*;

// The JavaScript runtime's IndexedDB storage (js/storage.js, which the workers use), imported
// here so that its round trip runs in every browser and context these tests run in. errors.js is
// imported too: wasm-bindgen copies each imported module next to the test, and storage.js
// imports './errors.js'. (`/js/` is bindings/wasm/js, a link to the repository's js/.)
#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = saveModel)]
    /// `target`: `{ name, overwrite }`.
    fn save_model(target: &JsValue, bytes: &js_sys::Uint8Array, info: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = loadModelFile)]
    fn load_model_file(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = listModels)]
    fn list_models() -> js_sys::Promise;
    #[wasm_bindgen(js_name = removeModel)]
    fn remove_model(name: &str) -> js_sys::Promise;
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    /// `{name, code, message}`: what crosses `postMessage` from a worker.
    #[wasm_bindgen(js_name = toWire)]
    fn to_wire(err: &JsValue) -> JsValue;
}

async fn settle(p: js_sys::Promise) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(p).await
}

/// The bytes of a `Blob`.
async fn blob_bytes(blob: &JsValue) -> Vec<u8> {
    let read = get(blob, "arrayBuffer").unchecked_into::<js_sys::Function>();
    let buffer = settle(read.call0(blob).unwrap().unchecked_into())
        .await
        .unwrap();
    js_sys::Uint8Array::new(&buffer).to_vec()
}

#[wasm_bindgen_test]
async fn storage_round_trip_in_indexeddb() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let bytes = model.to_bytes();
    let name = "wasm-bindgen-test round trip";
    let info = obj(&[("order", num(3.0)), ("patterns", num(18_304.0))]);
    let target = obj(&[("name", name.into()), ("overwrite", JsValue::TRUE)]);
    let meta = settle(save_model(
        &target,
        &js_sys::Uint8Array::from(&bytes[..]),
        &info,
    ))
    .await
    .unwrap();
    assert_eq!(get_str(&meta, "name"), name);
    assert_eq!(get_f64(&meta, "bytes"), bytes.len() as f64);

    // Read back as a Blob, byte for byte; loaded, it writes the native golden text.
    let file = settle(load_model_file(name)).await.unwrap();
    assert!(file.is_instance_of::<js_sys::Object>());
    let stored = blob_bytes(&file).await;
    assert_eq!(stored, bytes);
    let loaded = WasmModel::from_bytes(b(&stored), JsValue::UNDEFINED).unwrap();
    let opts = obj(&[("seed", num(42.0)), ("maxTokens", num(40.0))]);
    let out = loaded
        .generate(s(PROMPT), opts, JsValue::UNDEFINED)
        .unwrap();
    assert_eq!(get_str(&out, "text"), TINY_O3_SEED42);

    let list = settle(list_models()).await.unwrap();
    let names: Vec<String> = Array::from(&list)
        .iter()
        .map(|m| get_str(&m, "name"))
        .collect();
    assert!(names.iter().any(|n| n == name), "{names:?}");

    // A missing name is a typed error, also in its wire form.
    settle(remove_model(name)).await.unwrap();
    let err = settle(load_model_file(name)).await.unwrap_err();
    assert_js_error(&err, "NotFoundError", "NOT_FOUND");
    let wire = to_wire(&err);
    assert_eq!(get_str(&wire, "name"), "NotFoundError");
    assert_eq!(get_str(&wire, "code"), "NOT_FOUND");
    let err = settle(remove_model(name)).await.unwrap_err();
    assert_js_error(&err, "NotFoundError", "NOT_FOUND");
}
