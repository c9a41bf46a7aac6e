//! `uellm`: the command-line interface of ultra-efficient-llm (native only).
//!
//! Train a model from text files, generate from it, score text, convert to and from ARPA and
//! inspect model files. See `uellm --help`; the code lives in `src/cli/`. The project benchmark
//! is a binary of its own, `uellm-bench` (`src/bin/uellm-bench/`). On `wasm32` this binary is an
//! empty stub: the browser API is the bindings crate, `bindings/wasm`.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
