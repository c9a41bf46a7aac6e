//! Fuzz target `count_shard`: the body is `ultra_efficient_llm_fuzz::count_shard` (fuzz/src/lib.rs),
//! shared with the regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // One thread, as in the other model targets (see model_decoder.rs).
        ultra_efficient_llm::set_native_extras(false);
    },
    |data: &[u8]| ultra_efficient_llm_fuzz::count_shard(data)
);
