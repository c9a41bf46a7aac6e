//! `uellm bench`: the project benchmark, with fixed seeds, medians over runs.
//!
//! Per corpus file:
//! * training at order 5 without pruning on the whole file, timed from the first byte read to the
//!   finished model (the same code path as `uellm train`, without writing the file); the model
//!   file size; loading it back with `Model::from_bytes`;
//! * generation on one thread from the loaded model (a cold activation cache per run):
//!   `requests` requests of `tokens` tokens with `stop_at_sentence_end: false` and seeds
//!   `0..requests`, with the exact sampler through `generate_ids` (sampler only) and `generate`
//!   (with the detokenizer), and with a shaped configuration (temperature 0.8, top-k 40);
//! * dev-split perplexity at orders 3 and 5 next to KenLM's figures.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use serde::Serialize;
use ultra_efficient_llm::tokenizer::tokenize;
use ultra_efficient_llm::{GenerateOptions, Model, Perplexity, TrainOptions, Trainer};

use super::files::{self, display};
use super::report::{self, fixed, percent, round_thousands, thousands, Table};
use super::CliError;

/// Order of the timed training runs.
const TRAIN_ORDER: usize = 5;
/// Orders of the dev-split perplexity.
const DEV_ORDERS: [usize; 2] = [3, 5];
/// Every this-many-th non-empty line is dev, the rest fit.
const DEV_EVERY: u64 = 20;
/// The shaped generation configuration.
const SHAPED_TEMPERATURE: f64 = 0.8;
const SHAPED_TOP_K: usize = 40;

/// KenLM's dev-split figures (`lmplz` + `query`): the table "Dev-split perplexity" of
/// `../shared/reference/README.md`. Fields: file, order, perplexity incl. OOV, excl. OOV, OOV
/// tokens, tokens (with `</s>`).
const KENLM_DEV: [(&str, usize, f64, f64, u64, u64); 4] = [
    ("en-train.txt", 3, 133.380, 120.923, 572, 53_316),
    ("en-train.txt", 5, 130.167, 117.998, 572, 53_316),
    ("es-train.txt", 3, 77.893, 63.839, 793, 39_201),
    ("es-train.txt", 5, 69.292, 56.702, 793, 39_201),
];

/// The targets, checked on `en-train.txt`.
const TARGET_FILE: &str = "en-train.txt";
const TARGET_TRAIN_SECONDS: f64 = 0.5;
const TARGET_BYTES_PER_NGRAM: f64 = 4.0;
const TARGET_LOAD_MS: f64 = 100.0;
const TARGET_TOKENS_PER_SECOND: f64 = 3_000_000.0;

/// Arguments of `uellm bench`.
#[derive(Debug, Args)]
#[command(after_help = "\
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
}

#[derive(Debug, Serialize)]
struct Document {
    tool: String,
    unix_time: u64,
    machine: Machine,
    settings: Settings,
    corpora: Vec<Corpus>,
    targets: Option<Targets>,
}

#[derive(Debug, Serialize)]
struct Machine {
    nproc: usize,
    cpu: Option<String>,
    os: &'static str,
    arch: &'static str,
    debug_build: bool,
}

#[derive(Debug, Serialize)]
struct Settings {
    runs: u32,
    train_order: usize,
    requests: u64,
    shaped_requests: u64,
    tokens_per_request: u64,
    seeds: String,
    stop_at_sentence_end: bool,
    shaped_temperature: f64,
    shaped_top_k: usize,
    dev_every: u64,
    dev_orders: [usize; 2],
    /// `--like-wasm`: one thread, no huge pages.
    like_wasm: bool,
}

/// The raw values of one run.
#[derive(Debug, Clone, Default, Serialize)]
struct Run {
    train_seconds: f64,
    train_mb_per_second: f64,
    /// The same training into the model file only (`Trainer::finish_file`, no index), as the
    /// browser's training worker does it.
    train_file_seconds: f64,
    load_ms: f64,
    /// Exact sampler, `generate_ids`.
    sampler_tokens_per_second: f64,
    /// Exact sampler, `generate`.
    text_tokens_per_second: f64,
    /// Median time of one `generate` request, exact sampler.
    text_us_per_request: f64,
    /// Shaped sampler, `generate`.
    shaped_tokens_per_second: f64,
    /// Median time of one `generate` request, shaped sampler.
    shaped_us_per_request: f64,
    /// Activation-cache hit rate over the shaped requests (cold cache at the start of the run).
    shaped_cache_hit_rate: f64,
}

#[derive(Debug, Serialize)]
struct Corpus {
    file: String,
    path: String,
    bytes: u64,
    sentences: u64,
    tokens: u64,
    vocab_size: usize,
    order: usize,
    ngrams: Vec<u64>,
    patterns: u64,
    model_file_bytes: u64,
    bytes_per_ngram: f64,
    memory_bytes: u64,
    discount_fallback: Vec<u8>,
    /// Tokens generated per configuration and run (all requests).
    generated_tokens: u64,
    runs: Vec<Run>,
    median: Run,
    dev_split: Vec<Dev>,
}

#[derive(Debug, Serialize)]
struct Dev {
    order: usize,
    fit_sentences: u64,
    dev_sentences: u64,
    train_seconds: f64,
    measured: Perplexity,
    kenlm: Option<Kenlm>,
    /// (measured / KenLM - 1) in percent.
    diff_percent: Option<Diff>,
}

#[derive(Debug, Serialize)]
struct Kenlm {
    perplexity: f64,
    perplexity_excluding_oov: f64,
    oov: u64,
    tokens: u64,
}

#[derive(Debug, Serialize)]
struct Diff {
    perplexity: f64,
    perplexity_excluding_oov: f64,
}

#[derive(Debug, Serialize)]
struct Targets {
    file: String,
    rows: Vec<Target>,
}

#[derive(Debug, Serialize)]
struct Target {
    what: &'static str,
    goal: String,
    measured: f64,
    unit: &'static str,
    met: bool,
}

/// `uellm bench`.
pub fn bench(args: BenchArgs) -> Result<(), CliError> {
    ultra_efficient_llm::set_native_extras(!args.like_wasm);
    if let Some(model) = &args.generation_slices {
        return generation_slices(model, io::stdin().lock(), &mut io::stdout().lock());
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
        corpora.push(bench_corpus(p, &args, &say)?);
    }
    let targets = corpora
        .iter()
        .find(|c| c.file == TARGET_FILE)
        .map(targets_of);
    let doc = Document {
        tool: format!("uellm {}", env!("CARGO_PKG_VERSION")),
        unix_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: machine(),
        settings: Settings {
            runs: args.runs,
            train_order: TRAIN_ORDER,
            requests: args.requests,
            shaped_requests: shaped_requests(&args),
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
    };
    files::write_atomic(&args.json_out, |w| report::write_json(w, &doc))?;
    let mut out = io::stdout().lock();
    if args.json {
        report::write_json(&mut out, &doc)?;
    } else {
        write!(out, "{}", render(&doc))?;
        writeln!(out, "\nwrote {}", args.json_out.display())?;
    }
    Ok(())
}

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

fn shaped_requests(args: &BenchArgs) -> u64 {
    args.shaped_requests.unwrap_or(args.requests)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| display(path), |n| n.to_string_lossy().into_owned())
}

fn bench_corpus(path: &Path, args: &BenchArgs, say: &dyn Fn(String)) -> Result<Corpus, CliError> {
    let name = file_name(path);
    let size = files::input_size(path)?;
    let exact = GenerateOptions {
        max_tokens: args.tokens as usize,
        stop_at_sentence_end: false,
        ..GenerateOptions::default()
    };
    let shaped = GenerateOptions {
        temperature: SHAPED_TEMPERATURE,
        top_k: SHAPED_TOP_K,
        ..exact.clone()
    };
    let mut runs = Vec::with_capacity(args.runs as usize);
    let mut last = None;
    let mut generated = 0;
    for r in 1..=args.runs {
        let run = format!("{name}: run {r}/{}", args.runs);
        say(format!("{run}: training at order {TRAIN_ORDER}"));
        let t0 = Instant::now();
        let mut trainer = Trainer::new(TrainOptions {
            max_pattern_length: TRAIN_ORDER,
            min_frequency: 1,
            max_patterns: 0,
        })?;
        if let Some(n) = size {
            trainer.set_total_bytes(n);
        }
        let bytes_in = files::read_text_chunks(path, |s| trainer.feed(s))?;
        let model = trainer.finish().map_err(|e| CliError::about(&name, e))?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let mut trainer = Trainer::new(model.info().training.unwrap_or_default().options)?;
        if let Some(n) = size {
            trainer.set_total_bytes(n);
        }
        files::read_text_chunks(path, |s| trainer.feed(s))?;
        let file = trainer
            .finish_file()
            .map_err(|e| CliError::about(&name, e))?;
        let train_file_seconds = t0.elapsed().as_secs_f64();
        drop(file);
        let data = model.to_bytes();
        let info = model.info();
        drop(model);

        let t0 = Instant::now();
        let model = Model::from_bytes(&data).map_err(|e| CliError::about(&name, e))?;
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;

        say(format!("{run}: generation, exact sampler"));
        let (ids_tokens, ids_s) = generate_ids(&model, &exact, args.requests)?;
        let text = generate_text(&model, &exact, 0..args.requests)?;
        say(format!("{run}: generation, shaped sampler"));
        let c0 = model.cache_stats();
        let sh = generate_text(&model, &shaped, 0..shaped_requests(args))?;
        let c1 = model.cache_stats();
        let (hits, misses) = (c1.hits - c0.hits, c1.misses - c0.misses);
        generated = ids_tokens;
        runs.push(Run {
            train_seconds,
            train_mb_per_second: bytes_in as f64 / 1e6 / train_seconds,
            train_file_seconds,
            load_ms,
            sampler_tokens_per_second: ids_tokens as f64 / ids_s,
            text_tokens_per_second: text.tokens as f64 / text.seconds,
            text_us_per_request: text.median_us(1),
            shaped_tokens_per_second: sh.tokens as f64 / sh.seconds,
            shaped_us_per_request: sh.median_us(1),
            shaped_cache_hit_rate: if hits + misses > 0 {
                hits as f64 / (hits + misses) as f64
            } else {
                f64::NAN
            },
        });
        last = Some((info, data.len() as u64, bytes_in));
    }
    let Some((info, file_bytes, bytes_in)) = last else {
        return Err(CliError::io_msg("--runs must be at least 1"));
    };
    let median = medians(&runs);

    say(format!("{name}: dev-split perplexity"));
    let dev_split = dev_split(path, &name)?;

    let training = info.training.clone().unwrap_or_default();
    Ok(Corpus {
        file: name,
        path: display(path),
        bytes: bytes_in,
        sentences: training.sentences,
        tokens: training.tokens,
        vocab_size: info.vocab_size,
        order: info.order,
        bytes_per_ngram: file_bytes as f64 / info.patterns.max(1) as f64,
        ngrams: info.ngrams,
        patterns: info.patterns,
        model_file_bytes: file_bytes,
        memory_bytes: info.memory_bytes,
        discount_fallback: training.discount_fallback,
        generated_tokens: generated,
        runs,
        median,
        dev_split,
    })
}

/// Tokens and seconds of `requests` sampler-only requests with seeds `0..requests`.
fn generate_ids(
    model: &Model,
    base: &GenerateOptions,
    requests: u64,
) -> Result<(u64, f64), CliError> {
    let mut opts = base.clone();
    let mut out = Vec::with_capacity(base.max_tokens);
    let mut tokens = 0u64;
    let t0 = Instant::now();
    for seed in 0..requests {
        opts.seed = Some(seed);
        tokens += model.generate_ids(&[], &opts, &mut out)?.tokens as u64;
        std::hint::black_box(&out);
    }
    Ok((tokens, t0.elapsed().as_secs_f64()))
}

struct TextRun {
    tokens: u64,
    seconds: f64,
    /// Each request's time in µs.
    per_request: Vec<f64>,
}

impl TextRun {
    /// The median time of one request, in µs, over the means of consecutive groups of `group`
    /// requests (1: of the requests themselves).
    fn median_us(&self, group: usize) -> f64 {
        median(
            self.per_request
                .chunks(group.max(1))
                .map(|g| g.iter().sum::<f64>() / g.len() as f64)
                .collect(),
        )
    }
}

/// Full `generate` requests (strings, detokenizer), one per seed.
fn generate_text(
    model: &Model,
    base: &GenerateOptions,
    seeds: std::ops::Range<u64>,
) -> Result<TextRun, CliError> {
    let mut opts = base.clone();
    let mut per_request = Vec::with_capacity(seeds.clone().count());
    let mut tokens = 0u64;
    let t0 = Instant::now();
    for seed in seeds {
        opts.seed = Some(seed);
        let r0 = Instant::now();
        let g = model.generate("", &opts)?;
        per_request.push(r0.elapsed().as_secs_f64() * 1e6);
        tokens += g.stats.tokens as u64;
        std::hint::black_box(&g.text);
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(TextRun {
        tokens,
        seconds,
        per_request,
    })
}

/// One slice of `--generation-slices`, as answered on stdout.
#[derive(Debug, Serialize)]
struct Slice {
    requests: u64,
    tokens_per_request: u64,
    seed0: u64,
    /// Requests per group: `us_per_request` is the median of the groups' mean times.
    group: u64,
    /// Tokens generated (all requests).
    tokens: u64,
    seconds: f64,
    /// Median time of one request: of the requests, or of the means of groups of `group`
    /// requests (as a harness with a coarse clock measures).
    us_per_request: f64,
}

/// `--generation-slices`: loads `model`, then answers each `REQUESTS TOKENS SEED0 [GROUP]` line
/// of `input` with one JSON [`Slice`] line on `output`, until the input ends.
///
/// # Errors
/// The model's load error; `INVALID_OPTION` for a malformed line (nothing is answered to it).
fn generation_slices(
    model: &Path,
    input: impl io::BufRead,
    output: &mut impl Write,
) -> Result<(), CliError> {
    let model = files::load_model(model)?;
    for line in input.lines() {
        let line = line.map_err(|e| CliError::io("stdin", &e))?;
        if line.trim().is_empty() {
            continue;
        }
        let nums: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| slice_error(&line))?;
        let (requests, tokens, seed0, group) = match nums[..] {
            [r, t, s] => (r, t, s, 1),
            [r, t, s, g] => (r, t, s, g),
            _ => return Err(slice_error(&line)),
        };
        // REQUESTS sizes the per-request timings: bounded, so a typo cannot abort allocating.
        if !(1..=MAX_SLICE_REQUESTS).contains(&requests)
            || !(1..=1_000_000).contains(&tokens)
            || group == 0
        {
            return Err(slice_error(&line));
        }
        let opts = GenerateOptions {
            max_tokens: tokens as usize,
            stop_at_sentence_end: false,
            ..GenerateOptions::default()
        };
        let run = generate_text(&model, &opts, seed0..seed0.saturating_add(requests))?;
        let slice = Slice {
            requests,
            tokens_per_request: tokens,
            seed0,
            tokens: run.tokens,
            seconds: run.seconds,
            group,
            us_per_request: run.median_us(group as usize),
        };
        // io::Error::from keeps a broken pipe's kind (the reader went away: exit 0).
        serde_json::to_writer(&mut *output, &slice).map_err(io::Error::from)?;
        writeln!(output)?;
        output.flush()?;
    }
    Ok(())
}

/// The most requests one `--generation-slices` line may ask for.
const MAX_SLICE_REQUESTS: u64 = 1_000_000;

/// A stdin line of `--generation-slices` that is not `REQUESTS TOKENS SEED0`.
fn slice_error(line: &str) -> CliError {
    CliError::from(ultra_efficient_llm::Error::InvalidOption {
        name: "generation_slices",
        reason: format!(
            "expected lines `REQUESTS TOKENS SEED0 [GROUP]` on stdin (1 ≤ REQUESTS ≤ \
             {MAX_SLICE_REQUESTS}, 1 ≤ TOKENS ≤ 1000000, GROUP ≥ 1), got {line:?}"
        ),
    })
}

/// The median (the mean of the two middle values for an even count); NaN for none.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| !x.is_nan());
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_unstable_by(f64::total_cmp);
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

fn medians(runs: &[Run]) -> Run {
    let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    Run {
        train_seconds: m(|r| r.train_seconds),
        train_mb_per_second: m(|r| r.train_mb_per_second),
        train_file_seconds: m(|r| r.train_file_seconds),
        load_ms: m(|r| r.load_ms),
        sampler_tokens_per_second: m(|r| r.sampler_tokens_per_second),
        text_tokens_per_second: m(|r| r.text_tokens_per_second),
        text_us_per_request: m(|r| r.text_us_per_request),
        shaped_tokens_per_second: m(|r| r.shaped_tokens_per_second),
        shaped_us_per_request: m(|r| r.shaped_us_per_request),
        shaped_cache_hit_rate: m(|r| r.shaped_cache_hit_rate),
    }
}

/// Splits the text: the non-empty lines (lines with a token) are numbered from 1, every
/// [`DEV_EVERY`]-th is dev, the rest fit. Returns (fit, dev, fit lines, dev lines).
fn split(text: &str) -> (String, String, u64, u64) {
    let (mut fit, mut dev) = (String::new(), String::new());
    let (mut n_fit, mut n_dev) = (0u64, 0u64);
    let mut n = 0u64;
    for line in text.lines() {
        if tokenize(line).next().is_none() {
            continue;
        }
        n += 1;
        let (dst, count) = if n % DEV_EVERY == 0 {
            (&mut dev, &mut n_dev)
        } else {
            (&mut fit, &mut n_fit)
        };
        dst.push_str(line);
        dst.push('\n');
        *count += 1;
    }
    (fit, dev, n_fit, n_dev)
}

fn dev_split(path: &Path, name: &str) -> Result<Vec<Dev>, CliError> {
    let text = files::read_text(path)?;
    let (fit, dev, fit_sentences, dev_sentences) = split(&text);
    drop(text);
    let mut out = Vec::with_capacity(DEV_ORDERS.len());
    for order in DEV_ORDERS {
        let t0 = Instant::now();
        let mut trainer = Trainer::new(TrainOptions {
            max_pattern_length: order,
            min_frequency: 1,
            max_patterns: 0,
        })?;
        trainer.set_total_bytes(fit.len() as u64);
        trainer.feed(&fit);
        let model = trainer
            .finish()
            .map_err(|e| CliError::about(format!("{name} (fit split)"), e))?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let measured = model.perplexity(&dev);
        let kenlm = KENLM_DEV
            .iter()
            .find(|k| k.0 == name && k.1 == order)
            .map(|k| Kenlm {
                perplexity: k.2,
                perplexity_excluding_oov: k.3,
                oov: k.4,
                tokens: k.5,
            });
        let diff_percent = kenlm.as_ref().map(|k| Diff {
            perplexity: (measured.perplexity / k.perplexity - 1.0) * 100.0,
            perplexity_excluding_oov: (measured.perplexity_excluding_oov
                / k.perplexity_excluding_oov
                - 1.0)
                * 100.0,
        });
        out.push(Dev {
            order,
            fit_sentences,
            dev_sentences,
            train_seconds,
            measured,
            kenlm,
            diff_percent,
        });
    }
    Ok(out)
}

fn targets_of(c: &Corpus) -> Targets {
    let m = &c.median;
    let at_most = |what, goal: f64, unit, shown: String, measured: f64| Target {
        what,
        goal: format!("≤ {shown}"),
        measured,
        unit,
        met: measured <= goal,
    };
    let at_least = |what, goal: f64, unit, shown: String, measured: f64| Target {
        what,
        goal: format!("≥ {shown}"),
        measured,
        unit,
        met: measured >= goal,
    };
    Targets {
        file: c.file.clone(),
        rows: vec![
            at_most(
                "training time (order 5, whole file)",
                TARGET_TRAIN_SECONDS,
                "s",
                format!("{TARGET_TRAIN_SECONDS} s"),
                m.train_seconds,
            ),
            at_most(
                "model file size",
                TARGET_BYTES_PER_NGRAM,
                "bytes/n-gram",
                format!("{TARGET_BYTES_PER_NGRAM} bytes/n-gram"),
                c.bytes_per_ngram,
            ),
            at_most(
                "load time (Model::from_bytes)",
                TARGET_LOAD_MS,
                "ms",
                format!("{TARGET_LOAD_MS} ms"),
                m.load_ms,
            ),
            at_least(
                "generation, sampler (generate_ids)",
                TARGET_TOKENS_PER_SECOND,
                "tokens/s",
                format!("{} tokens/s", round_thousands(TARGET_TOKENS_PER_SECOND)),
                m.sampler_tokens_per_second,
            ),
            at_least(
                "generation, with text (generate)",
                TARGET_TOKENS_PER_SECOND,
                "tokens/s",
                format!("{} tokens/s", round_thousands(TARGET_TOKENS_PER_SECOND)),
                m.text_tokens_per_second,
            ),
        ],
    }
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

fn runs_of(runs: &[Run], f: fn(&Run) -> f64, decimals: usize) -> String {
    runs.iter()
        .map(|r| fixed(f(r), decimals))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn runs_of_rate(runs: &[Run], f: fn(&Run) -> f64) -> String {
    runs.iter()
        .map(|r| round_thousands(f(r)))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// A relative difference in percent with its sign; `0.000%` when it rounds to zero.
fn signed(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x.abs() < 0.0005 {
        "0.000%".into()
    } else {
        format!("{x:+.3}%")
    }
}

/// The tables for people.
fn render(doc: &Document) -> String {
    let s = &doc.settings;
    let m = &doc.machine;
    let mut o = String::new();
    o.push_str(&format!(
        "uellm bench: {} build, {} run{} (medians), {} requests x {} tokens per configuration, \
         seeds 0 to {}\n",
        if m.debug_build { "DEBUG" } else { "release" },
        s.runs,
        if s.runs == 1 { "" } else { "s" },
        thousands(s.requests),
        s.tokens_per_request,
        thousands(s.requests.max(s.shaped_requests) - 1)
    ));
    o.push_str(&format!(
        "machine: {} CPUs (nproc), {}, {} {}\n",
        m.nproc,
        m.cpu.as_deref().unwrap_or("CPU model unknown"),
        m.os,
        m.arch
    ));
    if s.like_wasm {
        o.push_str("--like-wasm: one thread, no huge pages (as WebAssembly runs in a browser)\n");
    }
    for c in &doc.corpora {
        let md = &c.median;
        o.push_str(&format!(
            "\n== {} ({} bytes, {} sentences, {} tokens with </s>) ==\n\n",
            c.file,
            thousands(c.bytes),
            thousands(c.sentences),
            thousands(c.tokens)
        ));
        o.push_str(&format!(
            "training at order {}, no pruning (read, count, smooth, index)\n",
            c.order
        ));
        let mut t = Table::new(&["measure", "median", "runs"])
            .right(&[1])
            .indent(2);
        t.row(vec![
            "wall time".into(),
            format!("{} s", fixed(md.train_seconds, 3)),
            runs_of(&c.runs, |r| r.train_seconds, 3),
        ]);
        t.row(vec![
            "throughput".into(),
            format!("{} MB/s", fixed(md.train_mb_per_second, 2)),
            runs_of(&c.runs, |r| r.train_mb_per_second, 2),
        ]);
        t.row(vec![
            "wall time, model file only (no index)".into(),
            format!("{} s", fixed(md.train_file_seconds, 3)),
            runs_of(&c.runs, |r| r.train_file_seconds, 3),
        ]);
        t.row(vec![
            "model file".into(),
            format!("{} bytes", thousands(c.model_file_bytes)),
            String::new(),
        ]);
        t.row(vec![
            "bytes per n-gram".into(),
            fixed(c.bytes_per_ngram, 3),
            String::new(),
        ]);
        t.row(vec![
            "memory".into(),
            format!("{} bytes", thousands(c.memory_bytes)),
            String::new(),
        ]);
        t.row(vec![
            "load (Model::from_bytes)".into(),
            format!("{} ms", fixed(md.load_ms, 1)),
            runs_of(&c.runs, |r| r.load_ms, 1),
        ]);
        o.push_str(&t.render());
        o.push_str(&format!(
            "  n-grams: {} · total {}\n",
            report::ngrams(&c.ngrams),
            thousands(c.patterns)
        ));
        if !c.discount_fallback.is_empty() {
            let orders: Vec<String> = c.discount_fallback.iter().map(u8::to_string).collect();
            o.push_str(&format!(
                "  discount fallback at order {}\n",
                orders.join(", ")
            ));
        }

        o.push_str(&format!(
            "\ngeneration, one thread, {} x {}-token requests{}, no stop at sentence end\n",
            thousands(s.requests),
            s.tokens_per_request,
            if s.shaped_requests == s.requests {
                String::new()
            } else {
                format!(
                    " ({} for the shaped configuration)",
                    thousands(s.shaped_requests)
                )
            }
        ));
        let mut t = Table::new(&[
            "configuration",
            "tokens/s",
            "µs/request",
            "cache hits",
            "tokens/s per run",
        ])
        .right(&[1, 2, 3])
        .indent(2);
        t.row(vec![
            "exact sampler, ids (generate_ids)".into(),
            round_thousands(md.sampler_tokens_per_second),
            "-".into(),
            "n/a".into(),
            runs_of_rate(&c.runs, |r| r.sampler_tokens_per_second),
        ]);
        t.row(vec![
            "exact sampler, text (generate)".into(),
            round_thousands(md.text_tokens_per_second),
            fixed(md.text_us_per_request, 1),
            "n/a".into(),
            runs_of_rate(&c.runs, |r| r.text_tokens_per_second),
        ]);
        t.row(vec![
            format!(
                "temperature {} top-k {}, text (generate)",
                s.shaped_temperature, s.shaped_top_k
            ),
            round_thousands(md.shaped_tokens_per_second),
            fixed(md.shaped_us_per_request, 1),
            percent(md.shaped_cache_hit_rate),
            runs_of_rate(&c.runs, |r| r.shaped_tokens_per_second),
        ]);
        o.push_str(&t.render());
        o.push_str("  (µs/request: median time of one request)\n");

        if let Some(d0) = c.dev_split.first() {
            o.push_str(&format!(
                "\ndev-split perplexity (every {}th non-empty line: {} dev, {} fit sentences), \
                 KenLM from ../shared/reference/README.md\n",
                s.dev_every,
                thousands(d0.dev_sentences),
                thousands(d0.fit_sentences)
            ));
        }
        let mut t = Table::new(&[
            "order",
            "ppl",
            "KenLM",
            "diff",
            "ppl excl. OOV",
            "KenLM",
            "diff",
            "OOV",
            "KenLM",
            "tokens",
            "KenLM",
        ])
        .right(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .indent(2);
        for d in &c.dev_split {
            let k = d.kenlm.as_ref();
            let p = &d.measured;
            t.row(vec![
                d.order.to_string(),
                fixed(p.perplexity, 3),
                k.map_or("-".into(), |k| fixed(k.perplexity, 3)),
                d.diff_percent
                    .as_ref()
                    .map_or("-".into(), |x| signed(x.perplexity)),
                fixed(p.perplexity_excluding_oov, 3),
                k.map_or("-".into(), |k| fixed(k.perplexity_excluding_oov, 3)),
                d.diff_percent
                    .as_ref()
                    .map_or("-".into(), |x| signed(x.perplexity_excluding_oov)),
                thousands(p.oov),
                k.map_or("-".into(), |k| thousands(k.oov)),
                thousands(p.tokens),
                k.map_or("-".into(), |k| thousands(k.tokens)),
            ]);
        }
        o.push_str(&t.render());
    }
    match &doc.targets {
        Some(tg) => {
            o.push_str(&format!(
                "\ntargets (from the issue), measured on {}\n",
                tg.file
            ));
            let mut t = Table::new(&["target", "goal", "measured", "status"])
                .right(&[2])
                .indent(2);
            for r in &tg.rows {
                let measured = match r.unit {
                    "tokens/s" => format!("{} tokens/s", round_thousands(r.measured)),
                    "ms" => format!("{} ms", fixed(r.measured, 1)),
                    "s" => format!("{} s", fixed(r.measured, 3)),
                    unit => format!("{} {unit}", fixed(r.measured, 3)),
                };
                t.row(vec![
                    r.what.into(),
                    r.goal.clone(),
                    measured,
                    if r.met { "met" } else { "NOT MET" }.into(),
                ]);
            }
            o.push_str(&t.render());
        }
        None => o.push_str(&format!(
            "\ntargets: not checked ({TARGET_FILE} is not among the benchmarked files)\n"
        )),
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn split_numbers_non_empty_lines() {
        let text: String = (1..=45).map(|i| format!("w{i}\n\n")).collect();
        let (fit, dev, n_fit, n_dev) = split(&text);
        assert_eq!((n_fit, n_dev), (43, 2));
        assert_eq!(dev, "w20\nw40\n");
        assert!(!fit.contains("w20\n") && fit.starts_with("w1\n"));
    }
}
