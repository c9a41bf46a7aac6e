//! `uellm`: the command-line interface of ultra-efficient-llm (native only).
//!
//! Train a model from text files, generate from it, score text, convert to and from ARPA,
//! inspect model files and run the project benchmark. See `uellm --help`; the code lives in
//! `src/cli/`. On `wasm32` this binary is an empty stub: the browser API is the bindings crate,
//! `bindings/wasm`.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
