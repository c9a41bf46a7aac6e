//! Model files and ARPA in the browser: bytes round-trip, and loading junk, truncated, future or
//! damaged files gives the core's typed errors (`fromBytes`, `checkHeader`).

use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm::format;
use ultra_efficient_llm_wasm::WasmModel;

use super::*;

#[wasm_bindgen_test]
fn model_bytes_round_trip_and_load_errors_are_typed() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let bytes = model.to_bytes();
    assert_eq!(bytes, tiny_o3().to_bytes());
    let again = WasmModel::from_bytes(b(&bytes), JsValue::UNDEFINED).unwrap();
    assert_eq!(again.to_bytes(), bytes);
    assert_eq!(again.model().info(), model.model().info());

    let err = WasmModel::from_bytes(b(b"junk"), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");
    let err = WasmModel::from_bytes(b(&[]), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");
    let err = WasmModel::from_bytes(b(&bytes[..bytes.len() / 2]), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "TruncatedError", "TRUNCATED");
    let err = WasmModel::from_bytes(b(&bytes[..10]), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "TruncatedError", "TRUNCATED");

    // A file of a future format version: bytes 8..10 hold the version, little-endian.
    let mut future = bytes.clone();
    future[8..10].copy_from_slice(&(format::FORMAT_VERSION + 1).to_le_bytes());
    let err = WasmModel::from_bytes(b(&future), JsValue::UNDEFINED).unwrap_err();
    let message = assert_js_error(&err, "UnsupportedVersionError", "UNSUPPORTED_VERSION");
    assert!(message.contains("upgrade"), "{message}");

    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let err = WasmModel::from_bytes(b(&flipped), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "CorruptedError", "CORRUPTED");

    // checkHeader reads the header only: the same typed errors for junk, truncated and future
    // files; a damaged body passes it (fromBytes finds it).
    let check = |b: &[u8]| WasmModel::check_header(js_sys::Uint8Array::from(b).into());
    check(&bytes).unwrap();
    check(&flipped).unwrap();
    for (b, name, code) in [
        (&b"junk"[..], "NotAModelError", "NOT_A_MODEL"),
        (&[][..], "NotAModelError", "NOT_A_MODEL"),
        (&bytes[..bytes.len() / 2], "TruncatedError", "TRUNCATED"),
        (&bytes[..10], "TruncatedError", "TRUNCATED"),
        (
            &future[..],
            "UnsupportedVersionError",
            "UNSUPPORTED_VERSION",
        ),
    ] {
        assert_js_error(&check(b).unwrap_err(), name, code);
    }
}

/// An index image loads into the same model in wasm: the same file, figures and seeded text as
/// the native model's image; model files and damaged images are refused with typed errors.
#[wasm_bindgen_test]
fn index_images_load_without_a_build() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let image = model.to_image().to_vec();
    assert_eq!(image, tiny_o3().to_image(), "the same image as natively");
    let again = WasmModel::from_image(b(&image)).unwrap();
    assert_eq!(again.to_bytes(), model.to_bytes());
    assert_eq!(again.model().info(), model.model().info());
    let opts = || obj(&[("seed", num(42.0))]);
    let text = |m: &WasmModel| {
        get_str(
            &m.generate(s(PROMPT), opts(), JsValue::UNDEFINED).unwrap(),
            "text",
        )
    };
    assert_eq!(text(&again), text(&model));

    let err = WasmModel::from_image(b(&model.to_bytes())).unwrap_err();
    let message = assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");
    assert!(
        message.contains("fromBytes") || message.contains("from_bytes"),
        "{message}"
    );
    let err = WasmModel::from_image(b(&image[..image.len() - 3])).unwrap_err();
    assert_js_error(&err, "TruncatedError", "TRUNCATED");
    let mut flipped = image.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x10;
    let err = WasmModel::from_image(b(&flipped)).unwrap_err();
    assert_js_error(&err, "CorruptedError", "CORRUPTED");
}

#[wasm_bindgen_test]
fn arpa_files_load_and_export() {
    setup();
    let model = WasmModel::from_arpa(s(TINY_O3_ARPA)).unwrap();
    let info = model.info().unwrap();
    assert_eq!(get_f64(&info, "order"), 3.0);
    assert_eq!(get_str(&info, "smoothing"), "arpa");
    assert!(get(&info, "training").is_null());
    let out = model
        .generate(s(PROMPT), obj(&[("seed", num(42.0))]), JsValue::UNDEFINED)
        .unwrap();
    assert!(get_f64(&get(&out, "stats"), "tokens") > 0.0);
    let ppl = model.perplexity(s(TINY)).unwrap();
    assert!(get_f64(&ppl, "perplexity") > 1.0);
    assert_eq!(get_f64(&ppl, "oov"), 0.0);

    // Exported ARPA loads back with the same scores (to ARPA's printed precision), and the
    // model file round-trips.
    let log10 = |m: &WasmModel| get_f64(&m.perplexity(s(TINY)).unwrap(), "log10Prob");
    let again = WasmModel::from_arpa(s(&model.to_arpa())).unwrap();
    assert!(
        (log10(&again) - log10(&model)).abs() < 1e-2,
        "{}",
        log10(&again)
    );
    let loaded = WasmModel::from_bytes(b(&model.to_bytes()), JsValue::UNDEFINED).unwrap();
    assert_eq!(loaded.to_bytes(), model.to_bytes());
    assert_eq!(get_str(&loaded.info().unwrap(), "smoothing"), "arpa");
    // A trained model exports ARPA too.
    let trained = WasmModel::train(s(TINY), order3()).unwrap();
    assert!(trained.to_arpa().starts_with("\\data\\\n"));

    let err = WasmModel::from_arpa(s("not an arpa file")).unwrap_err();
    assert_js_error(&err, "ArpaError", "INVALID_ARPA");
    // Model bytes are not ARPA, and ARPA is not model bytes.
    let err = WasmModel::from_bytes(b(TINY_O3_ARPA.as_bytes()), JsValue::UNDEFINED).unwrap_err();
    let message = assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");
    assert!(message.contains("ARPA"), "{message}");
}
