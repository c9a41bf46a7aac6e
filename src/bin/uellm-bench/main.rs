//! `uellm-bench`: the project benchmark (native only), with fixed seeds, medians over runs.
//!
//! A binary of its own, apart from the user's CLI (`uellm`), as KenLM and tokenizers keep their
//! benchmarks: it holds the project's targets and reference figures and reads this repository's
//! `../shared` corpus by default. `bash scripts/bench.sh` builds and runs it.
//!
//! Per corpus file:
//! * [`measure`]: training at order 5 without pruning on the whole file, timed from the first
//!   byte read to the finished model (the same code path as `uellm train`, without writing the
//!   file); the model file size; loading it back with `Model::from_bytes`; generation on one
//!   thread from the loaded model (a cold activation cache per run): `requests` requests of
//!   `tokens` tokens with `stop_at_sentence_end: false` and seeds `0..requests`, with the exact
//!   sampler through `generate_ids` (sampler only) and `generate` (with the detokenizer), and
//!   with a shaped configuration (temperature 0.8, top-k 40);
//! * [`dev`]: dev-split perplexity at orders 3 and 5 next to KenLM's figures;
//! * [`curve`]: the size/quality curve, dev-split perplexity of models pruned to 0.5–4 MB files
//!   by each pruning method (a table, and an SVG plot beside the JSON);
//! * [`targets`]: the project's targets, checked on `en-train.txt`;
//! * [`render`]: the tables for people (the JSON document is [`bench::Document`]).
//!
//! [`slices`] is another mode (`--generation-slices MODEL`): generation timed in slices that a
//! harness asks for on stdin (the browser benchmark, `bench/browser/`); [`scale`] another
//! (`--scale MB`, Linux): a model trained on MB megabytes of sampled text, and the time and
//! memory its load takes.
//!
//! Errors, file reading and writing, and number formatting are the CLI's (`src/cli/error.rs`,
//! `files.rs`, `report.rs`), included by path so that both binaries share one copy: a failure
//! is one `error: ...` line on stderr (and a JSON object on stdout with `--json`), status 1.
//! On `wasm32` this binary is an empty stub, like `uellm`.

#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod curve;
#[cfg(not(target_arch = "wasm32"))]
mod dev;
#[cfg(not(target_arch = "wasm32"))]
mod measure;
#[cfg(not(target_arch = "wasm32"))]
mod render;
#[cfg(target_os = "linux")]
mod scale;
#[cfg(not(target_arch = "wasm32"))]
mod slices;
#[cfg(not(target_arch = "wasm32"))]
mod targets;

// The CLI's helpers, shared with `uellm` (`src/cli/`). The benchmark uses only some of them.
#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code)]
#[path = "../../cli/error.rs"]
mod error;
#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code)]
#[path = "../../cli/files.rs"]
mod files;
#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code)]
#[path = "../../cli/report.rs"]
mod report;

/// `files.rs` names the error type `super::CliError`, as in `src/cli/mod.rs`.
#[cfg(not(target_arch = "wasm32"))]
use error::CliError;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;
    let args = bench::BenchArgs::parse();
    let json = args.json;
    error::exit_code(bench::bench(args), json)
}

#[cfg(target_arch = "wasm32")]
fn main() {}
