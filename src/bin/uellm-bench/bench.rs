//! The benchmark's command line, the JSON document it writes, and the run over the corpus files.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde::Serialize;

use super::dev::{DEV_EVERY, DEV_ORDERS};
use super::measure::{self, Corpus, SHAPED_TEMPERATURE, SHAPED_TOP_K, TRAIN_ORDER};
use super::targets::{self, Targets, TARGET_FILE};
use super::{files, render, report, slices, CliError};

const ABOUT: &str = "Run the project benchmark (training, loading, generation, dev-split \
                     perplexity): ultra-efficient-llm's native benchmark.";

/// `uellm-bench`: the project benchmark.
#[derive(Debug, Parser)]
#[command(name = "uellm-bench", version, about = ABOUT, after_help = "\
Prints tables on stdout (progress on stderr when it is a terminal) and writes every run's raw \
values and the medians as JSON to --json-out. Build with --release (scripts/bench.sh does).")]
pub struct BenchArgs {
    /// Corpus files [default: DIR/en-train.txt and DIR/es-train.txt]
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Folder of the default corpus files
    #[arg(long, value_name = "DIR", default_value = "../shared/corpus")]
    pub corpus: PathBuf,
    /// Runs per measurement (medians are reported)
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Where to write the JSON results
    #[arg(long, value_name = "PATH", default_value = "target/bench.json")]
    pub json_out: PathBuf,
    /// Generation requests per configuration and run (seeds 0..N)
    #[arg(long, value_name = "N", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: u64,
    /// Requests of the shaped configuration per run [default: --requests]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub shaped_requests: Option<u64>,
    /// Tokens per generation request
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub tokens: u64,
    /// Print the JSON document on stdout instead of the tables
    #[arg(long)]
    pub json: bool,
    /// Skip the size/quality curve (models pruned to 0.5–4 MB by each method; about a minute
    /// a corpus file)
    #[arg(long)]
    pub no_curve: bool,
    /// Run as the WebAssembly build runs in a browser: one thread, no huge pages (the
    /// reference that isolates what WebAssembly itself costs; results are the same)
    #[arg(long)]
    pub like_wasm: bool,
    /// Instead of the benchmark: load MODEL, then time generation in slices asked for on stdin,
    /// one line `REQUESTS TOKENS SEED0 [GROUP]` each (exact sampler, `generate`, seeds
    /// SEED0..; the median request time over groups of GROUP requests, default 1), and answer
    /// each with one JSON line; for a harness that alternates these with measurements of
    /// another runtime, so that both see the machine in the same state
    /// (scripts/bench-browser.sh)
    #[arg(long, value_name = "MODEL", conflicts_with_all = ["files", "json"])]
    pub generation_slices: Option<PathBuf>,
    /// Instead of the benchmark (Linux): sample MB megabytes of text from an order-5 model of
    /// the first corpus file (kept in the folder scale/ beside --json-out), train an order-5 model on it with `uellm
    /// train`, and measure its training and its load (time, the model's memory, each process's
    /// peak memory); JSON to --json-out
    #[arg(long, value_name = "MB", conflicts_with = "generation_slices",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub scale: Option<u64>,
    /// With --scale: also train within this memory (`uellm train --memory SIZE`, the `uellm`
    /// binary beside this one), and report its time and peak memory
    #[arg(long, value_name = "SIZE", requires = "scale", value_parser = super::report::parse_size)]
    pub scale_memory: Option<u64>,
    /// Load MODEL once and print its load time and memory as one JSON line (what --scale runs
    /// in a process of its own)
    #[arg(long, value_name = "MODEL", hide = true)]
    pub load_once: Option<PathBuf>,
    /// With --load-once: then score the first 20 MB of TEXT with the loaded model (streamed
    /// per-token scores) and report the tokens per second
    #[arg(long, value_name = "TEXT", hide = true, requires = "load_once")]
    pub score_text: Option<PathBuf>,
    /// Train an order-5 model on TEXT into the model file MODEL and print the time and the peak
    /// memory as one JSON line (what --scale runs in a process of its own)
    #[arg(long, value_names = ["TEXT", "MODEL"], num_args = 2, hide = true)]
    pub train_once: Option<Vec<PathBuf>>,
    /// Write the index image of the model file MODEL to IMAGE (what --scale runs in a process
    /// of its own)
    #[arg(long, value_names = ["MODEL", "IMAGE"], num_args = 2, hide = true)]
    pub make_image: Option<Vec<PathBuf>>,
}

impl BenchArgs {
    /// Requests of the shaped configuration per run.
    pub fn shaped_requests(&self) -> u64 {
        self.shaped_requests.unwrap_or(self.requests)
    }
}

/// What `--json-out` gets: the settings, the machine, every corpus's runs and medians.
#[derive(Debug, Serialize)]
pub struct Document {
    pub tool: String,
    pub unix_time: u64,
    pub machine: Machine,
    pub settings: Settings,
    pub corpora: Vec<Corpus>,
    pub targets: Option<Targets>,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: Option<String>,
    pub os: &'static str,
    pub arch: &'static str,
    pub debug_build: bool,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub runs: u32,
    pub train_order: usize,
    pub requests: u64,
    pub shaped_requests: u64,
    pub tokens_per_request: u64,
    pub seeds: String,
    pub stop_at_sentence_end: bool,
    pub shaped_temperature: f64,
    pub shaped_top_k: usize,
    pub dev_every: u64,
    pub dev_orders: [usize; 2],
    /// `--like-wasm`: one thread, no huge pages.
    pub like_wasm: bool,
}

/// `uellm-bench`: the benchmark, or with `--generation-slices` the slices mode.
pub fn bench(args: BenchArgs) -> Result<(), CliError> {
    ultra_efficient_llm::set_native_extras(!args.like_wasm);
    if let Some(model) = &args.generation_slices {
        return slices::generation_slices(model, io::stdin().lock(), &mut io::stdout().lock());
    }
    if let Some(model) = &args.load_once {
        return load_once(model, args.score_text.as_deref());
    }
    if let Some([text, model]) = args.train_once.as_deref() {
        return train_once(text, model);
    }
    #[cfg(target_os = "linux")]
    if let Some([model, image]) = args.make_image.as_deref() {
        return super::scale::make_image(model, image);
    }
    if let Some(mb) = args.scale {
        return scale(&args, mb);
    }
    let paths = corpus_files(&args)?;
    for p in &paths {
        files::input_size(p)?;
    }
    if let Some(dir) = args.json_out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| CliError::io(dir.display(), &e))?;
    }
    files::check_output_dir(&args.json_out)?;
    let verbose = io::stderr().is_terminal();
    let say = |msg: String| {
        if verbose {
            let _ = writeln!(io::stderr().lock(), "bench: {msg}");
        }
    };
    if cfg!(debug_assertions) {
        let _ = writeln!(
            io::stderr().lock(),
            "warning: this is a debug build; timings mean little (use scripts/bench.sh)"
        );
    }

    let mut corpora = Vec::with_capacity(paths.len());
    for p in &paths {
        corpora.push(measure::bench_corpus(p, &args, &say)?);
    }
    let doc = document(&args, corpora);
    files::write_atomic(&args.json_out, |w| report::write_json(w, &doc))?;
    let curves: Vec<(&str, &super::curve::Curve)> = doc
        .corpora
        .iter()
        .filter_map(|c| c.curve.as_ref().map(|v| (c.file.as_str(), v)))
        .collect();
    let plot = args.json_out.with_file_name("size-quality.svg");
    if !curves.is_empty() {
        let svg = super::curve::svg(&curves);
        files::write_atomic(&plot, |w| w.write_all(svg.as_bytes()))?;
    }
    let mut out = io::stdout().lock();
    if args.json {
        report::write_json(&mut out, &doc)?;
    } else {
        write!(out, "{}", render::render(&doc))?;
        writeln!(out, "\nwrote {}", args.json_out.display())?;
        if !curves.is_empty() {
            writeln!(out, "wrote {} (the size/quality curve)", plot.display())?;
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn load_once(model: &std::path::Path, text: Option<&std::path::Path>) -> Result<(), CliError> {
    super::scale::load_once(model, text)
}

#[cfg(target_os = "linux")]
fn train_once(text: &std::path::Path, model: &std::path::Path) -> Result<(), CliError> {
    super::scale::train_once(text, model)
}

/// `--scale MB`: measures, prints a table and writes the JSON to `--json-out`.
#[cfg(target_os = "linux")]
fn scale(args: &BenchArgs, mb: u64) -> Result<(), CliError> {
    let paths = corpus_files(args)?;
    let say = |msg: String| {
        let _ = writeln!(io::stderr().lock(), "bench: {msg}");
    };
    let out_dir = args.json_out.parent().unwrap_or(std::path::Path::new(""));
    let s = super::scale::scale(
        &paths[0],
        &out_dir.join("scale"),
        mb,
        args.scale_memory,
        &say,
    )?;
    files::write_atomic(&args.json_out, |w| report::write_json(w, &s))?;
    write!(io::stdout().lock(), "{}", render::scale(&s))?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn load_once(_: &std::path::Path, _: Option<&std::path::Path>) -> Result<(), CliError> {
    Err(CliError::io_msg(
        "--load-once measures memory through Linux's /proc: Linux only",
    ))
}

#[cfg(not(target_os = "linux"))]
fn train_once(_: &std::path::Path, _: &std::path::Path) -> Result<(), CliError> {
    Err(CliError::io_msg(
        "--train-once measures memory through Linux's /proc: Linux only",
    ))
}

#[cfg(not(target_os = "linux"))]
fn scale(_: &BenchArgs, _: u64) -> Result<(), CliError> {
    Err(CliError::io_msg(
        "--scale measures memory through Linux's /proc: Linux only",
    ))
}

/// The document of a benchmark of `corpora`; the targets are checked on [`TARGET_FILE`].
fn document(args: &BenchArgs, corpora: Vec<Corpus>) -> Document {
    let targets = corpora
        .iter()
        .find(|c| c.file == TARGET_FILE)
        .map(targets::targets_of);
    Document {
        tool: format!("uellm-bench {}", env!("CARGO_PKG_VERSION")),
        unix_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: machine(),
        settings: Settings {
            runs: args.runs,
            train_order: TRAIN_ORDER,
            requests: args.requests,
            shaped_requests: args.shaped_requests(),
            tokens_per_request: args.tokens,
            seeds: format!("0..{}", args.requests),
            stop_at_sentence_end: false,
            shaped_temperature: SHAPED_TEMPERATURE,
            shaped_top_k: SHAPED_TOP_K,
            dev_every: DEV_EVERY,
            dev_orders: DEV_ORDERS,
            like_wasm: args.like_wasm,
        },
        corpora,
        targets,
    }
}

/// The files given, or those of the default corpus (`--corpus`) that exist.
fn corpus_files(args: &BenchArgs) -> Result<Vec<PathBuf>, CliError> {
    if !args.files.is_empty() {
        return Ok(args.files.clone());
    }
    let defaults: Vec<PathBuf> = ["en-train.txt", "es-train.txt"]
        .iter()
        .map(|f| args.corpus.join(f))
        .collect();
    let found: Vec<PathBuf> = defaults.iter().filter(|p| p.is_file()).cloned().collect();
    if found.is_empty() {
        return Err(CliError::io_msg(format!(
            "no benchmark corpus: neither {} nor {} exists; give corpus FILES or --corpus DIR",
            defaults[0].display(),
            defaults[1].display()
        )));
    }
    Ok(found)
}

fn machine() -> Machine {
    let cpu = fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    });
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu,
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        debug_build: cfg!(debug_assertions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        BenchArgs::command().debug_assert();
    }
}
