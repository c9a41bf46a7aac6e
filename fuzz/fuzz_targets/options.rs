//! Fuzz target `options`: the body is `ultra_efficient_llm_fuzz::options` (fuzz/src/lib.rs), shared
//! with the regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ultra_efficient_llm_fuzz::options(data));
