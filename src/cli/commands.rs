//! The model commands: generate, perplexity, export-arpa, import-arpa, inspect.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use serde_json::json;
use ultra_efficient_llm::format::FORMAT_VERSION;
use ultra_efficient_llm::{
    Error, GenerateOptions, GenerateOverrides, Model, ModelInfo, PredictOptions, Preset,
    TrainingStats,
};

use super::files::{self, display};
use super::report::{self, fixed, percent, round_thousands, thousands, Table};
use super::CliError;

// ---------------------------------------------------------------------------------------------
// generate

/// Named generation presets.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PresetArg {
    /// 500 patterns per query
    Development,
    /// 2000 patterns per query
    Production,
    /// 5000 patterns per query, a 5000-entry activation cache
    #[value(name = "high_performance", alias = "high-performance")]
    HighPerformance,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Preset {
        match p {
            PresetArg::Development => Preset::Development,
            PresetArg::Production => Preset::Production,
            PresetArg::HighPerformance => Preset::HighPerformance,
        }
    }
}

/// Arguments of `uellm generate`.
#[derive(Debug, Args)]
#[command(after_help = "\
Options left out take the preset's value (or the library default). Default options use the exact \
sampler (the model's own distribution); --temperature, --top-k, --top-p, --activation-threshold or \
--raw-frequencies switch to the shaped sampler, which uses the activation cache. Without --seed a \
seed is drawn from the clock; it is printed with the statistics so the text can be reproduced.")]
pub struct GenerateArgs {
    /// Model file
    pub model: PathBuf,
    /// Text to continue (`-` reads it from standard input; none: start a sentence)
    pub prompt: Option<String>,
    #[arg(short = 'n', long, value_name = "N",
          help = dflt(
              "Most tokens to generate",
              defaults().max_tokens))]
    pub max_tokens: Option<usize>,
    #[arg(short, long, value_name = "T",
          help = dflt(
              "Softmax temperature, ≥ 0 (1 = the model's distribution, 0 = greedy)",
              defaults().temperature))]
    pub temperature: Option<f64>,
    #[arg(short = 'k', long, value_name = "K",
          help = dflt(
              "Keep only the K likeliest next tokens (0 = off)",
              defaults().top_k))]
    pub top_k: Option<usize>,
    #[arg(short = 'p', long, value_name = "P",
          help = dflt(
              "Nucleus sampling: smallest set of tokens with this much mass, in (0, 1]",
              defaults().top_p))]
    pub top_p: Option<f64>,
    /// Random seed: the same seed and options give the same text
    #[arg(short, long, value_name = "S")]
    pub seed: Option<u64>,
    #[arg(long, value_name = "N",
          help = dflt(
              "Tokens of context matched against the patterns",
              defaults().context_window))]
    pub context_window: Option<usize>,
    /// Start from a named configuration
    #[arg(long, value_enum, value_name = "NAME")]
    pub preset: Option<PresetArg>,
    /// Do not stop at the end of a sentence: go on to --max-tokens (a new line per sentence)
    #[arg(long)]
    pub no_stop: bool,
    #[arg(long, value_name = "R",
          help = dflt(
              "Do not end before this share of --max-tokens, in [0, 1]",
              defaults().min_generated_tokens_ratio))]
    pub min_ratio: Option<f64>,
    #[arg(long, value_name = "N",
          help = dflt(
              "Candidate patterns from the longest context (shaped sampler)",
              defaults().max_patterns_per_query))]
    pub max_patterns_per_query: Option<usize>,
    #[arg(long, value_name = "N",
          help = dflt(
              "Candidate patterns from shorter contexts (shaped sampler)",
              defaults().max_backup_patterns))]
    pub max_backup_patterns: Option<usize>,
    #[arg(long, value_name = "P",
          help = dflt(
              "Drop candidates less likely than this, in [0, 1)",
              defaults().activation_threshold))]
    pub activation_threshold: Option<f64>,
    /// Weight candidates by raw frequency of the longest context (no smoothing)
    #[arg(long)]
    pub raw_frequencies: bool,
    #[arg(long, value_name = "N",
          help = dflt(
              "Entries of the activation cache (0 disables it)",
              defaults().activation_cache_size))]
    pub cache_size: Option<usize>,
    /// Print the whole result (text, tokens, statistics) as JSON instead of streaming
    #[arg(long)]
    pub json: bool,
}

fn defaults() -> GenerateOptions {
    GenerateOptions::default()
}

/// Help text with the library's default value.
fn dflt(text: &str, value: impl std::fmt::Display) -> String {
    format!("{text} [default: {value}]")
}

impl GenerateArgs {
    /// The preset, then the flags given ([`GenerateOptions::resolve`]). Every option is named
    /// here, so a new one does not compile until it has a flag (or `None`).
    fn options(&self) -> GenerateOptions {
        GenerateOptions::resolve(
            self.preset.map(Into::into),
            GenerateOverrides {
                max_tokens: self.max_tokens,
                context_window: self.context_window,
                seed: Some(Some(self.seed.unwrap_or_else(clock_seed))),
                temperature: self.temperature,
                top_k: self.top_k,
                top_p: self.top_p,
                stop_at_sentence_end: self.no_stop.then_some(false),
                min_generated_tokens_ratio: self.min_ratio,
                max_patterns_per_query: self.max_patterns_per_query,
                max_backup_patterns: self.max_backup_patterns,
                activation_threshold: self.activation_threshold,
                frequency_normalization: self.raw_frequencies.then_some(false),
                activation_cache_size: self.cache_size,
            },
        )
    }
}

/// A seed that differs between runs (the library's own default is a per-process counter, which
/// would give the same text on every invocation).
fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos ^ (u64::from(std::process::id()) << 32);
    // splitmix64 finalizer
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 11 // below 2^53: exact in JSON numbers read as doubles
}

/// `uellm generate`.
pub fn generate(args: GenerateArgs) -> Result<(), CliError> {
    let opts = args.options();
    opts.validate()?;
    let model = files::load_model(&args.model)?;
    let prompt = match args.prompt.as_deref() {
        Some("-") => {
            let text = String::from_utf8(files::read_bytes(Path::new("-"))?).map_err(|_| {
                CliError::about(
                    "<stdin>",
                    Error::NotText("invalid UTF-8 in the prompt".into()),
                )
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        }
        Some(p) => p.to_owned(),
        None => String::new(),
    };

    if args.json {
        let g = model.generate(&prompt, &opts)?;
        report::write_json(&mut io::stdout().lock(), &g)?;
        return Ok(());
    }

    let stdout = io::stdout();
    let live = stdout.is_terminal();
    let mut out = BufWriter::new(stdout.lock());
    out.write_all(prompt.as_bytes())?;
    let mut failed: Option<io::Error> = None;
    // Whether the output so far ends with a newline (the prompt's, then each piece's).
    let mut at_line_start = prompt.is_empty() || prompt.ends_with('\n');
    let mut wrote = !prompt.is_empty();
    // Streamed: nothing is kept per token, so any -n runs in constant memory.
    let s = model.generate_stream(&prompt, &opts, |piece, _| {
        if !piece.is_empty() {
            at_line_start = piece.ends_with('\n');
            wrote = true;
        }
        let r = out
            .write_all(piece.as_bytes())
            .and_then(|()| if live { out.flush() } else { Ok(()) });
        match r {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    // End the output with a newline (the text may end with a sentence break already).
    if wrote && !at_line_start {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    drop(out);

    let s = &s;
    let stop = serde_json::to_value(s.stop_reason)
        .ok()
        .and_then(|v| v.as_str().map(|x| x.replace('_', " ")))
        .unwrap_or_default();
    let _ = writeln!(
        io::stderr().lock(),
        "{} tokens in {} ms ({} tokens/s) · sparsity {} · cache hit rate {} · {} sampler · seed {} · \
         stopped: {}",
        s.tokens,
        fixed(s.elapsed_ms, 3),
        round_thousands(s.tokens_per_second),
        percent(s.sparsity),
        s.cache_hit_rate.map_or_else(|| "n/a".to_owned(), percent),
        if s.exact { "exact" } else { "shaped" },
        s.seed,
        stop
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// perplexity

/// Arguments of `uellm perplexity`.
#[derive(Debug, Args)]
#[command(after_help = "\
Each non-empty line is a sentence, scored from <s> to </s> (</s> counted as a token); unknown \
words are scored as <unk> and counted as OOV, as KenLM's `query` does. With several files a \
total over all of them is added.")]
pub struct PerplexityArgs {
    /// Model file
    pub model: PathBuf,
    /// UTF-8 text files to score (`-` reads standard input)
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
}

/// `uellm perplexity`.
pub fn perplexity(args: PerplexityArgs) -> Result<(), CliError> {
    let model = files::load_model(&args.model)?;
    for path in &args.files {
        files::input_size(path)?;
    }
    // Streamed: each file is scored as it is read, by its own scorer and the total's, so no
    // file is held in memory whatever its size.
    let mut results = Vec::with_capacity(args.files.len());
    let mut all = model.perplexity_scorer();
    for path in &args.files {
        let mut one = model.perplexity_scorer();
        let bytes = files::read_text_chunks(path, |text| {
            one.feed(text);
            all.feed(text);
        })?;
        if bytes == 0 {
            return Err(CliError::about(
                display(path),
                Error::NotText("the input is empty".into()),
            ));
        }
        results.push((display(path), one.finish()));
    }
    let total = (args.files.len() > 1).then(|| all.finish());
    let mut out = io::stdout().lock();
    if args.json {
        let files: Vec<_> = results
            .iter()
            .map(|(name, p)| {
                let mut v = serde_json::to_value(p).unwrap_or_default();
                if let Some(m) = v.as_object_mut() {
                    m.insert("file".into(), name.clone().into());
                }
                v
            })
            .collect();
        let v = json!({ "model": display(&args.model), "files": files, "total": total });
        report::write_json(&mut out, &v)?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "file",
        "sentences",
        "tokens",
        "OOV",
        "perplexity",
        "ppl excl. OOV",
        "log10 prob",
    ])
    .right(&[1, 2, 3, 4, 5, 6]);
    let rows = results
        .iter()
        .map(|(n, p)| (n.as_str(), p))
        .chain(total.as_ref().map(|p| ("total", p)));
    for (name, p) in rows {
        t.row(vec![
            name.to_owned(),
            thousands(p.sentences),
            thousands(p.tokens),
            thousands(p.oov),
            fixed(p.perplexity, 3),
            fixed(p.perplexity_excluding_oov, 3),
            fixed(p.log10_prob, 2),
        ]);
    }
    write!(out, "{}", t.render())?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// export-arpa / import-arpa

/// Arguments of `uellm export-arpa`.
#[derive(Debug, Args)]
pub struct ExportArpaArgs {
    /// Model file
    pub model: PathBuf,
    /// ARPA file to write (`-`: standard output); written atomically, as `train` writes MODEL
    #[arg(short, long, value_name = "OUT.arpa")]
    pub output: PathBuf,
    /// Print a JSON summary on stdout
    #[arg(long)]
    pub json: bool,
}

/// `uellm export-arpa`.
pub fn export_arpa(args: ExportArpaArgs) -> Result<(), CliError> {
    if args.json && files::is_std(&args.output) {
        return Err(CliError::io_msg(
            "--json and -o - both want standard output: write the ARPA file to a file",
        ));
    }
    write_converted(
        &args.model,
        &args.output,
        args.json,
        |model, w| model.write_arpa(w),
        |info, bytes, secs| {
            let v = json!({
                "output": args.output.display().to_string(),
                "bytes": bytes,
                "seconds": secs,
                "order": info.order,
                "ngrams": info.ngrams,
            });
            let line = format!(
                "wrote {}: {} bytes, order {}, {} n-grams ({}) in {} s",
                args.output.display(),
                thousands(bytes),
                info.order,
                thousands(info.patterns),
                report::ngrams(&info.ngrams),
                fixed(secs, 3)
            );
            (v, line)
        },
    )
}

/// Loads `model`, writes what `write` makes of it to `output` atomically, and reports it on
/// stdout: with `json` the object, else the line, that `report_of(info, bytes, seconds)` gives
/// (nothing when the output is stdout itself).
fn write_converted(
    model: &Path,
    output: &Path,
    json: bool,
    write: impl FnOnce(&Model, &mut dyn Write) -> io::Result<()>,
    report_of: impl FnOnce(&ModelInfo, u64, f64) -> (serde_json::Value, String),
) -> Result<(), CliError> {
    files::check_output_dir(output)?;
    let model = files::load_model(model)?;
    let t0 = Instant::now();
    let bytes = files::write_atomic(output, |w| write(&model, w))?;
    let secs = t0.elapsed().as_secs_f64();
    if files::is_std(output) {
        return Ok(());
    }
    let (v, line) = report_of(&model.info(), bytes, secs);
    let mut out = io::stdout().lock();
    if json {
        report::write_json(&mut out, &v)?;
    } else {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Arguments of `uellm predict`.
#[derive(Debug, Args)]
#[command(after_help = "\
The context is tokenized as training text is, from the start of a sentence. Probabilities are \
exact: each is what the model gives that word after the context (`uellm score` of the context \
followed by it), over every back-off level.")]
pub struct PredictArgs {
    /// Model file (or index image)
    pub model: PathBuf,
    /// The words so far (empty: the start of a sentence)
    #[arg(default_value = "")]
    pub context: String,
    /// How many words
    #[arg(short, default_value_t = 10)]
    pub k: usize,
    /// Only words that start with this (a word being typed)
    #[arg(long, value_name = "P", default_value = "")]
    pub prefix: String,
    /// Match the prefix whatever the case
    #[arg(long)]
    pub ignore_case: bool,
    /// `</s>` (the end of the sentence) may be predicted
    #[arg(long)]
    pub allow_end: bool,
    /// Leave out words less likely than this
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub min_probability: f64,
    /// Print the predictions as JSON
    #[arg(long)]
    pub json: bool,
}

/// `uellm predict`.
pub fn predict(args: PredictArgs) -> Result<(), CliError> {
    let model = files::load_model(&args.model)?;
    let opts = PredictOptions {
        k: args.k,
        prefix: args.prefix.clone(),
        ignore_case: args.ignore_case,
        allow_end: args.allow_end,
        min_probability: args.min_probability,
    };
    let t0 = Instant::now();
    let predictions = model.predict(&args.context, &opts)?;
    let us = t0.elapsed().as_secs_f64() * 1e6;
    let mut out = io::stdout().lock();
    if args.json {
        let v =
            json!({ "context": args.context, "prefix": args.prefix, "predictions": predictions });
        report::write_json(&mut out, &v)?;
        return Ok(());
    }
    let mut t = Table::new(&["", "word", "probability", "log10"]).right(&[0, 2, 3]);
    for (i, p) in predictions.iter().enumerate() {
        t.row(vec![
            (i + 1).to_string(),
            p.word.clone(),
            format!("{:.6}", p.probability),
            fixed(p.log10_prob, 4),
        ]);
    }
    write!(out, "{}", t.render())?;
    if io::stderr().is_terminal() {
        eprintln!("{} predictions in {} µs", predictions.len(), fixed(us, 1));
    }
    Ok(())
}

/// Arguments of `uellm score`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints one line per token, `</s>` included, as KenLM's `query -v word` scores it: the sentence's \
number (non-empty lines, from 1), the token, the length of the longest n-gram of the model that \
ends in it, its log10 probability, and `oov` for a word not in the vocabulary (scored as \
<unk>), tab-separated. With --json, one object per sentence with its tokens and total.")]
pub struct ScoreArgs {
    /// Model file (or index image)
    pub model: PathBuf,
    /// UTF-8 text file to score (`-` reads standard input)
    pub file: PathBuf,
    /// Print the scores as JSON
    #[arg(long)]
    pub json: bool,
}

/// `uellm score`: streamed, whole lines at a time.
pub fn score(args: ScoreArgs) -> Result<(), CliError> {
    let model = files::load_model(&args.model)?;
    files::input_size(&args.file)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut pending = String::new();
    let mut sentence = 0u64;
    let mut first = true;
    let mut failed = None;
    let mut emit = |lines: &str, out: &mut BufWriter<io::StdoutLock<'_>>| -> io::Result<()> {
        if args.json {
            for s in model.score(lines) {
                sentence += 1;
                let sep = if first { "" } else { "," };
                first = false;
                let v =
                    json!({ "sentence": sentence, "log10_prob": s.log10_prob, "tokens": s.tokens });
                write!(
                    out,
                    "{sep}\n  {}",
                    serde_json::to_string(&v).unwrap_or_default()
                )?;
            }
            return Ok(());
        }
        // Straight from the stream of scores: nothing is kept.
        let before = sentence;
        for t in model.scores(lines) {
            sentence = before + 1 + t.sentence as u64;
            let oov = if t.oov { "\toov" } else { "" };
            writeln!(
                out,
                "{sentence}\t{}\t{}\t{}{oov}",
                t.token, t.ngram_length, t.log10_prob
            )?;
        }
        Ok(())
    };
    if args.json {
        write!(out, "{{\"sentences\": [")?;
    }
    let bytes = files::read_text_chunks(&args.file, |text| {
        if failed.is_some() {
            return;
        }
        pending.push_str(text);
        if let Some(nl) = pending.rfind('\n') {
            let rest = pending.split_off(nl + 1);
            if let Err(e) = emit(&pending, &mut out) {
                failed = Some(e);
            }
            pending = rest;
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    emit(&pending, &mut out)?;
    if bytes == 0 {
        return Err(CliError::about(
            display(&args.file),
            Error::NotText("the input is empty".into()),
        ));
    }
    if args.json {
        writeln!(out, "\n]}}")?;
    }
    out.flush()?;
    Ok(())
}

/// Arguments of `uellm image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Model file (or an index image)
    pub model: PathBuf,
    /// Index image to write; written atomically, as `train` writes MODEL
    #[arg(short, long, value_name = "OUT.img")]
    pub output: PathBuf,
    /// Print a JSON summary on stdout
    #[arg(long)]
    pub json: bool,
}

/// `uellm image`: writes the model's index image, which every command loads in place of the
/// model file without building the index (about 4 times the file's size).
pub fn image(args: ImageArgs) -> Result<(), CliError> {
    if files::is_std(&args.output) {
        return Err(CliError::io_msg(
            "an index image is loaded from a file: write it to a file, not to standard output",
        ));
    }
    write_converted(
        &args.model,
        &args.output,
        args.json,
        |model, w| model.write_image(w),
        |info, bytes, secs| {
            let v = json!({
                "output": args.output.display().to_string(),
                "bytes": bytes,
                "seconds": secs,
                "file_bytes": info.file_bytes,
                "patterns": info.patterns,
            });
            let line = format!(
                "wrote {}: {} bytes ({} per n-gram; the model file: {}) in {} s",
                args.output.display(),
                thousands(bytes),
                fixed(bytes as f64 / info.patterns.max(1) as f64, 2),
                thousands(info.file_bytes),
                fixed(secs, 3)
            );
            (v, line)
        },
    )
}

/// Arguments of `uellm import-arpa`.
#[derive(Debug, Args)]
pub struct ImportArpaArgs {
    /// ARPA file (`-` reads standard input)
    #[arg(value_name = "IN.arpa")]
    pub input: PathBuf,
    /// Model file to write; written atomically, as `train` writes MODEL
    #[arg(short, long, value_name = "MODEL")]
    pub output: PathBuf,
    /// Print a JSON summary on stdout
    #[arg(long)]
    pub json: bool,
}

/// `uellm import-arpa`.
pub fn import_arpa(args: ImportArpaArgs) -> Result<(), CliError> {
    if files::is_std(&args.output) {
        return Err(CliError::io_msg(
            "the model must go to a file: give -o MODEL (not `-`)",
        ));
    }
    files::check_output_dir(&args.output)?;
    let t0 = Instant::now();
    let text = files::read_text(&args.input)?;
    let model = Model::from_arpa(&text).map_err(|e| CliError::about(display(&args.input), e))?;
    drop(text);
    files::write_atomic(&args.output, |w| w.write_all(model.as_bytes()))?;
    let secs = t0.elapsed().as_secs_f64();
    let info = model.info();
    let mut out = io::stdout().lock();
    if args.json {
        let v = json!({
            "model": args.output.display().to_string(),
            "seconds": secs,
            "info": info,
        });
        report::write_json(&mut out, &v)?;
    } else {
        writeln!(
            out,
            "imported {} into {}: order {}, {} n-grams ({}), {} bytes in {} s",
            display(&args.input),
            args.output.display(),
            info.order,
            thousands(info.patterns),
            report::ngrams(&info.ngrams),
            thousands(info.file_bytes),
            fixed(secs, 3)
        )?;
    }
    Ok(())
}

/// `xs` as a comma-separated list.
pub(super) fn list(xs: &[u8]) -> String {
    xs.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------------------------------------
// inspect

/// Arguments of `uellm inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Model file
    pub model: PathBuf,
    /// Print the model information as JSON
    #[arg(long)]
    pub json: bool,
}

/// `uellm inspect`.
pub fn inspect(args: InspectArgs) -> Result<(), CliError> {
    let t0 = Instant::now();
    let model = files::load_model(&args.model)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let info = model.info();
    let per_ngram = info.file_bytes as f64 / info.patterns.max(1) as f64;
    let mut out = io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&info).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.insert("path".into(), display(&args.model).into());
            m.insert("format_version".into(), FORMAT_VERSION.into());
            m.insert("bytes_per_ngram".into(), per_ngram.into());
            m.insert("load_ms".into(), load_ms.into());
        }
        report::write_json(&mut out, &v)?;
        return Ok(());
    }
    write!(out, "{}", describe(&display(&args.model), &info, load_ms))?;
    Ok(())
}

/// The text of `uellm inspect`: one `key  value` line per figure of the model.
fn describe(name: &str, info: &ModelInfo, load_ms: f64) -> String {
    let per_ngram = info.file_bytes as f64 / info.patterns.max(1) as f64;
    let mut s = String::new();
    line(
        &mut s,
        "model",
        format!("{name} (format version {FORMAT_VERSION})"),
    );
    line(&mut s, "order", info.order.to_string());
    line(
        &mut s,
        "vocabulary",
        format!(
            "{} words (<unk>, <s>, </s> included)",
            thousands(info.vocab_size as u64)
        ),
    );
    line(&mut s, "n-grams", report::ngrams(&info.ngrams));
    line(
        &mut s,
        "patterns",
        format!(
            "{} ({} contexts)",
            thousands(info.patterns),
            thousands(info.contexts)
        ),
    );
    line(&mut s, "smoothing", info.smoothing.clone());
    line(
        &mut s,
        "file",
        format!(
            "{} bytes, {} bytes/n-gram",
            thousands(info.file_bytes),
            fixed(per_ngram, 2)
        ),
    );
    line(
        &mut s,
        "memory",
        format!(
            "{} bytes ({}), loaded in {} ms",
            thousands(info.memory_bytes),
            report::bytes(info.memory_bytes),
            fixed(load_ms, 1)
        ),
    );
    match &info.training {
        None => line(&mut s, "training", "none recorded (imported model)".into()),
        Some(t) => describe_training(&mut s, t),
    }
    s
}

/// Appends the line `key  value` to `s`.
fn line(s: &mut String, key: &str, value: String) {
    s.push_str(&format!("{key:<12}{value}\n"));
}

/// The lines of `uellm inspect` on the training: its options, its text, what was pruned and
/// the discounts of each order.
fn describe_training(s: &mut String, t: &TrainingStats) {
    line(
        s,
        "training",
        format!(
            "--order {} --min-frequency {} --max-patterns {}",
            t.options.max_pattern_length, t.options.min_frequency, t.options.max_patterns
        ),
    );
    line(
        s,
        "text",
        format!(
            "{} bytes, {} sentences, {} tokens",
            thousands(t.bytes),
            thousands(t.sentences),
            thousands(t.tokens)
        ),
    );
    line(
        s,
        "pruned",
        format!("{} patterns", thousands(t.pruned_patterns)),
    );
    line(
        s,
        "fallback",
        if t.discount_fallback.is_empty() {
            "none (every order has modified Kneser-Ney discounts)".into()
        } else {
            format!(
                "order {}: discounts 0.5 / 1 / 1.5 (too little text)",
                list(&t.discount_fallback)
            )
        },
    );
    let mut table = Table::new(&["order", "D1", "D2", "D3+", ""]).right(&[0, 1, 2, 3]);
    for (k, d) in t.discounts.iter().enumerate() {
        let fb = t.discount_fallback.contains(&((k + 1) as u8));
        table.row(vec![
            (k + 1).to_string(),
            fixed(d[0], 4),
            fixed(d[1], 4),
            fixed(d[2], 4),
            if fb { "fallback".into() } else { String::new() },
        ]);
    }
    // The table's lines continue the key column: its header line is the `discounts` line.
    for (i, row) in table.render().lines().enumerate() {
        let key = if i == 0 { "discounts" } else { "" };
        s.push_str(&format!("{key:<12}{row}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Command, Parser};

    #[test]
    fn documented_generation_defaults_are_the_library_defaults() {
        let d = GenerateOptions::default();
        let cmd = GenerateArgs::augment_args(Command::new("generate"));
        let help = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default()
        };
        for (id, v) in [
            ("max_tokens", d.max_tokens.to_string()),
            ("temperature", d.temperature.to_string()),
            ("top_k", d.top_k.to_string()),
            ("top_p", d.top_p.to_string()),
            ("context_window", d.context_window.to_string()),
            ("min_ratio", d.min_generated_tokens_ratio.to_string()),
            (
                "max_patterns_per_query",
                d.max_patterns_per_query.to_string(),
            ),
            ("max_backup_patterns", d.max_backup_patterns.to_string()),
            ("activation_threshold", d.activation_threshold.to_string()),
            ("cache_size", d.activation_cache_size.to_string()),
        ] {
            let h = help(id);
            assert!(h.ends_with(&format!("[default: {v}]")), "{id}: {h}");
        }
    }

    #[derive(Parser)]
    struct G {
        #[command(flatten)]
        g: GenerateArgs,
    }

    #[test]
    fn flags_override_the_preset() {
        let g = G::parse_from([
            "g",
            "m",
            "--preset",
            "high_performance",
            "-n",
            "7",
            "-k",
            "3",
        ])
        .g;
        let o = g.options();
        let p = GenerateOptions::preset(Preset::HighPerformance);
        assert_eq!(o.max_tokens, 7);
        assert_eq!(o.top_k, 3);
        assert_eq!(o.max_patterns_per_query, p.max_patterns_per_query);
        assert_eq!(o.activation_cache_size, p.activation_cache_size);
        assert!(o.seed.is_some());
        let g = G::parse_from(["g", "m", "--seed", "9", "--no-stop", "--raw-frequencies"]).g;
        let o = g.options();
        assert_eq!(o.seed, Some(9));
        assert!(!o.stop_at_sentence_end && !o.frequency_normalization);
    }
}
