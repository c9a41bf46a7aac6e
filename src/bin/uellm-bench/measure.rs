//! The timed measurements of one corpus file: training (to a model, and to the model file
//! only), loading, and generation with the exact and the shaped samplers; medians over runs.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use ultra_efficient_llm::{
    GenerateOptions, Model, ModelInfo, PredictOptions, TrainOptions, Trainer,
};

use super::bench::BenchArgs;
use super::curve::{self, Curve};
use super::dev::{self, Dev};
use super::files::{self, display};
use super::CliError;

/// Order of the timed training runs.
pub const TRAIN_ORDER: usize = 5;
/// The shaped generation configuration.
pub const SHAPED_TEMPERATURE: f64 = 0.8;
pub const SHAPED_TOP_K: usize = 40;

/// The raw values of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Run {
    pub train_seconds: f64,
    pub train_mb_per_second: f64,
    /// The same training into the model file only (`Trainer::finish_file`, no index), as the
    /// browser's training worker does it.
    pub train_file_seconds: f64,
    pub load_ms: f64,
    /// The same model loaded from its index image (`Model::from_image`, the bytes in memory).
    pub load_image_ms: f64,
    /// Exact sampler, `generate_ids`.
    pub sampler_tokens_per_second: f64,
    /// Exact sampler, `generate`.
    pub text_tokens_per_second: f64,
    /// Median time of one `generate` request, exact sampler.
    pub text_us_per_request: f64,
    /// Shaped sampler, `generate`.
    pub shaped_tokens_per_second: f64,
    /// Median time of one `generate` request, shaped sampler.
    pub shaped_us_per_request: f64,
    /// Activation-cache hit rate over the shaped requests (cold cache at the start of the run).
    pub shaped_cache_hit_rate: f64,
    /// Median time of `predict` with k = 10 and no prefix, over the contexts of `predictions`.
    pub predict_us: f64,
    /// The same with a one-letter prefix (the first letter of the word that follows).
    pub predict_prefix_us: f64,
    /// `Model::scores` (streamed, as `uellm score` prints them) of the whole file, tokens per
    /// second.
    pub score_tokens_per_second: f64,
    /// `Model::score` (every token an owned result, as the bindings return them), tokens per
    /// second.
    pub score_owned_tokens_per_second: f64,
}

/// Everything measured on one corpus file.
#[derive(Debug, Serialize)]
pub struct Corpus {
    pub file: String,
    pub path: String,
    pub bytes: u64,
    pub sentences: u64,
    pub tokens: u64,
    pub vocab_size: usize,
    pub order: usize,
    pub ngrams: Vec<u64>,
    pub patterns: u64,
    pub model_file_bytes: u64,
    pub bytes_per_ngram: f64,
    pub memory_bytes: u64,
    /// The loaded model's memory by part after the shaped requests, in bytes.
    pub memory_parts: MemoryParts,
    pub discount_fallback: Vec<u8>,
    /// Tokens generated per configuration and run (all requests).
    pub generated_tokens: u64,
    pub runs: Vec<Run>,
    pub median: Run,
    pub dev_split: Vec<Dev>,
    /// The size/quality curve (none with `--no-curve`).
    pub curve: Option<Curve>,
}

/// A model's memory by part ([`ultra_efficient_llm::MemoryUse`]), in bytes.
#[derive(Debug, Serialize)]
pub struct MemoryParts {
    pub index: u64,
    pub file: u64,
    pub vocab: u64,
    /// The activation cache as the shaped requests left it.
    pub cache: u64,
    pub total: u64,
}

/// What one run leaves besides its [`Run`]: the model's description and sizes.
struct Made {
    info: ModelInfo,
    memory: MemoryParts,
    file_bytes: u64,
    bytes_in: u64,
    generated_tokens: u64,
}

/// The generation configurations: exact and shaped, `--tokens` tokens, no stop at a sentence end.
fn configurations(args: &BenchArgs) -> (GenerateOptions, GenerateOptions) {
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
    (exact, shaped)
}

/// `--runs` runs on the file at `path`, their medians, and the dev split.
pub fn bench_corpus(
    path: &Path,
    args: &BenchArgs,
    say: &dyn Fn(String),
) -> Result<Corpus, CliError> {
    let name = file_name(path);
    let size = files::input_size(path)?;
    let mut runs = Vec::with_capacity(args.runs as usize);
    let mut last = None;
    for r in 1..=args.runs {
        let run = format!("{name}: run {r}/{}", args.runs);
        let (run, made) = one_run(path, size, &run, args, say)?;
        runs.push(run);
        last = Some(made);
    }
    let Some(made) = last else {
        return Err(CliError::io_msg("--runs must be at least 1"));
    };
    let median = medians(&runs);

    say(format!("{name}: dev-split perplexity"));
    let dev_split = dev::dev_split(path, &name)?;
    let curve = if args.no_curve {
        None
    } else {
        say(format!("{name}: size/quality curve"));
        Some(curve::curve(&files::read_text(path)?, say)?)
    };

    let info = made.info;
    let training = info.training.clone().unwrap_or_default();
    Ok(Corpus {
        file: name,
        path: display(path),
        bytes: made.bytes_in,
        sentences: training.sentences,
        tokens: training.tokens,
        vocab_size: info.vocab_size,
        order: info.order,
        bytes_per_ngram: made.file_bytes as f64 / info.patterns.max(1) as f64,
        ngrams: info.ngrams,
        patterns: info.patterns,
        model_file_bytes: made.file_bytes,
        memory_bytes: info.memory_bytes,
        memory_parts: made.memory,
        discount_fallback: training.discount_fallback,
        generated_tokens: made.generated_tokens,
        runs,
        median,
        dev_split,
        curve,
    })
}

/// One run on the file at `path` (of `size` bytes, when known): train, train to the file only,
/// load, generate. `run` names it in the progress messages.
fn one_run(
    path: &Path,
    size: Option<u64>,
    run: &str,
    args: &BenchArgs,
    say: &dyn Fn(String),
) -> Result<(Run, Made), CliError> {
    let name = file_name(path);
    say(format!("{run}: training at order {TRAIN_ORDER}"));
    let t0 = Instant::now();
    let mut trainer = Trainer::new(TrainOptions {
        max_pattern_length: TRAIN_ORDER,
        min_frequency: 1,
        max_patterns: 0,
    })?;
    let bytes_in = feed(&mut trainer, path, size)?;
    let model = trainer.finish().map_err(|e| CliError::about(&name, e))?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let train_file_seconds = train_file_only(path, &name, size, &model)?;
    let data = model.to_bytes();
    let info = model.info();
    drop(model);

    let t0 = Instant::now();
    let model = Model::from_bytes(&data).map_err(|e| CliError::about(&name, e))?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let image = model.to_image();
    drop(model);
    let t0 = Instant::now();
    let model = Model::from_image(&image).map_err(|e| CliError::about(&name, e))?;
    let load_image_ms = t0.elapsed().as_secs_f64() * 1e3;
    drop(image);

    let (exact, shaped) = configurations(args);
    say(format!("{run}: generation, exact sampler"));
    let (ids_tokens, ids_s) = generate_ids(&model, &exact, args.requests)?;
    let text = generate_text(&model, &exact, 0..args.requests)?;
    say(format!("{run}: generation, shaped sampler"));
    let c0 = model.cache_stats();
    let sh = generate_text(&model, &shaped, 0..args.shaped_requests())?;
    let c1 = model.cache_stats();
    say(format!("{run}: predict and score"));
    let corpus = files::read_text(path)?;
    let (predict_us, predict_prefix_us) = predictions(&model, &corpus)?;
    let t0 = Instant::now();
    // The sum keeps the scores from being optimized away.
    let (scored, sum) = model
        .scores(&corpus)
        .fold((0usize, 0.0), |(n, s), t| (n + 1, s + t.log10_prob));
    let score_tokens_per_second = scored as f64 / t0.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    let t0 = Instant::now();
    let owned: usize = model.score(&corpus).iter().map(|s| s.tokens.len()).sum();
    let score_owned_tokens_per_second = owned as f64 / t0.elapsed().as_secs_f64();
    drop(corpus);
    let m = model.memory_use();
    let memory = MemoryParts {
        index: m.index,
        file: m.file,
        vocab: m.vocab,
        cache: m.cache,
        total: m.total(),
    };
    let (hits, misses) = (c1.hits - c0.hits, c1.misses - c0.misses);
    let run = Run {
        train_seconds,
        train_mb_per_second: bytes_in as f64 / 1e6 / train_seconds,
        train_file_seconds,
        load_ms,
        load_image_ms,
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
        predict_us,
        predict_prefix_us,
        score_tokens_per_second,
        score_owned_tokens_per_second,
    };
    let made = Made {
        info,
        memory,
        file_bytes: data.len() as u64,
        bytes_in,
        generated_tokens: ids_tokens,
    };
    Ok((run, made))
}

/// Feeds the file at `path` (of `size` bytes, when known) to `trainer`; returns the bytes read.
fn feed(trainer: &mut Trainer, path: &Path, size: Option<u64>) -> Result<u64, CliError> {
    if let Some(n) = size {
        trainer.set_total_bytes(n);
    }
    files::read_text_chunks(path, |s| trainer.feed(s))
}

/// Seconds to train again with `model`'s options into the model file only (no index).
fn train_file_only(
    path: &Path,
    name: &str,
    size: Option<u64>,
    model: &Model,
) -> Result<f64, CliError> {
    let t0 = Instant::now();
    let mut trainer = Trainer::new(model.info().training.unwrap_or_default().options)?;
    feed(&mut trainer, path, size)?;
    let file = trainer
        .finish_file()
        .map_err(|e| CliError::about(name, e))?;
    let seconds = t0.elapsed().as_secs_f64();
    drop(file);
    Ok(seconds)
}

/// The last component of `path` (the corpus's name in the tables and the JSON).
fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| display(path), |n| n.to_string_lossy().into_owned())
}

/// Sentences of the file whose every prefix is a `predict` context.
const PREDICT_SENTENCES: usize = 300;

/// Median µs of `predict` (k = 10) after every prefix of the first words (up to 12) of
/// [`PREDICT_SENTENCES`] sentences spread over `text`: without a prefix, and with the first
/// letter of the word that follows as the prefix (a word being typed).
fn predictions(model: &Model, text: &str) -> Result<(f64, f64), CliError> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let step = (lines.len() / PREDICT_SENTENCES).max(1);
    let mut cases: Vec<(String, String)> = Vec::new();
    for line in lines.iter().step_by(step).take(PREDICT_SENTENCES) {
        let words: Vec<&str> = ultra_efficient_llm::tokenizer::tokenize(line).collect();
        for i in 0..words.len().min(12) {
            let first = words[i]
                .chars()
                .next()
                .map(String::from)
                .unwrap_or_default();
            cases.push((words[..i].join(" "), first));
        }
    }
    let time = |prefixed: bool| -> Result<f64, CliError> {
        let mut us = Vec::with_capacity(cases.len());
        for (context, first) in &cases {
            let opts = PredictOptions {
                prefix: if prefixed {
                    first.clone()
                } else {
                    String::new()
                },
                ..PredictOptions::default()
            };
            let t0 = Instant::now();
            let p = model.predict(context, &opts)?;
            us.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(p);
        }
        Ok(median(us))
    };
    Ok((time(false)?, time(true)?))
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

/// Timings of full `generate` requests.
pub struct TextRun {
    pub tokens: u64,
    pub seconds: f64,
    /// Each request's time in µs.
    pub per_request: Vec<f64>,
}

impl TextRun {
    /// The median time of one request, in µs, over the means of consecutive groups of `group`
    /// requests (1: of the requests themselves).
    pub fn median_us(&self, group: usize) -> f64 {
        median(
            self.per_request
                .chunks(group.max(1))
                .map(|g| g.iter().sum::<f64>() / g.len() as f64)
                .collect(),
        )
    }
}

/// Full `generate` requests (strings, detokenizer), one per seed.
pub fn generate_text(
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

/// The median (the mean of the two middle values for an even count); NaN for none.
pub fn median(mut xs: Vec<f64>) -> f64 {
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

/// Each figure's median over the runs.
fn medians(runs: &[Run]) -> Run {
    let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    Run {
        train_seconds: m(|r| r.train_seconds),
        train_mb_per_second: m(|r| r.train_mb_per_second),
        train_file_seconds: m(|r| r.train_file_seconds),
        load_ms: m(|r| r.load_ms),
        load_image_ms: m(|r| r.load_image_ms),
        sampler_tokens_per_second: m(|r| r.sampler_tokens_per_second),
        text_tokens_per_second: m(|r| r.text_tokens_per_second),
        text_us_per_request: m(|r| r.text_us_per_request),
        shaped_tokens_per_second: m(|r| r.shaped_tokens_per_second),
        shaped_us_per_request: m(|r| r.shaped_us_per_request),
        shaped_cache_hit_rate: m(|r| r.shaped_cache_hit_rate),
        predict_us: m(|r| r.predict_us),
        predict_prefix_us: m(|r| r.predict_prefix_us),
        score_tokens_per_second: m(|r| r.score_tokens_per_second),
        score_owned_tokens_per_second: m(|r| r.score_owned_tokens_per_second),
    }
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
}
