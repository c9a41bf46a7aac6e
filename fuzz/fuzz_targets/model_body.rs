//! Fuzz target `model_body`: the body is `ultra_efficient_llm_fuzz::model_body` (fuzz/src/lib.rs), shared
//! with the regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ultra_efficient_llm_fuzz::model_body(data));
