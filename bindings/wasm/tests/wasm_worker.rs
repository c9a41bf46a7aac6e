//! The browser tests of `tests/wasm_common/mod.rs` again, in a dedicated worker (where there is
//! no `window`): `wasm-pack test --headless --chrome bindings/wasm --test wasm_worker`.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod wasm_common;
