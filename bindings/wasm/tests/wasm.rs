//! Browser tests on a page (headless Chromium through `wasm-bindgen-test`):
//! `wasm-pack test --headless --chrome bindings/wasm --test wasm`. The tests themselves are in
//! `tests/wasm_common/mod.rs`, shared with the dedicated-worker run (`tests/wasm_worker.rs`).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod wasm_common;
