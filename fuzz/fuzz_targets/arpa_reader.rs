//! Fuzz target `arpa_reader`: the body is `ultra_efficient_llm_fuzz::arpa_reader` (fuzz/src/lib.rs), shared
//! with the regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ultra_efficient_llm_fuzz::arpa_reader(data));
