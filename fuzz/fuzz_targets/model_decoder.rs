//! Fuzz target `model_decoder`: the body is `ultra_efficient_llm_fuzz::model_decoder` (fuzz/src/lib.rs), shared
//! with the regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // No second thread per load or training: a thread spawn per execution would cost more
        // than most executions. Results are the same either way (the WebAssembly conditions);
        // tests/fuzz_regressions.rs replays the inputs with the thread.
        ultra_efficient_llm::set_native_extras(false);
    },
    |data: &[u8]| ultra_efficient_llm_fuzz::model_decoder(data)
);
