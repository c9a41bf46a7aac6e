//! `uellm train`: check the files, read them into a trainer, write the model, report.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use ultra_efficient_llm::{
    CountShard, EntropyPruning, Error, ModelFile, ModelInfo, Phase, TrainOptions, Trainer,
    MAX_ORDER,
};

use super::commands::list;
use super::files::{self, display};
use super::report::{self, fixed, thousands};
use super::CliError;

/// Arguments of `uellm train`.
#[derive(Debug, Args)]
#[command(after_help = "\
Files are read in 1 MiB chunks and must be UTF-8 text: a NUL byte, invalid UTF-8, an empty or a \
missing file stops training with a message naming the file. The output is checked before \
training. The model goes to a temporary file of this run beside MODEL (.MODEL.PID-N.uellm-tmp), \
which takes an existing MODEL's mode, is synced and renamed over MODEL at the end, so a failed or \
concurrent run never damages an existing MODEL. A symlink is followed (the file it names is \
replaced); a FIFO or character device (/dev/null) is written through; a directory, block device \
or socket is refused.")]
pub struct TrainArgs {
    /// UTF-8 text files, one sentence a line (`-` reads standard input)
    #[arg(value_name = "FILES", required_unless_present = "from_counts")]
    pub files: Vec<PathBuf>,
    /// Train from count shards (written by `uellm count`) instead of text: the model is the one
    /// that training on all of their text at once makes, byte for byte; the order is theirs
    #[arg(long, value_name = "SHARD", num_args = 1.., conflicts_with = "files")]
    pub from_counts: Vec<PathBuf>,
    /// Where to write the model
    #[arg(short, long, value_name = "MODEL")]
    pub output: PathBuf,
    /// n-gram order: patterns of 1 to N words are learned [default: 6, or the shards' order]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u8).range(1..=MAX_ORDER as i64))]
    pub order: Option<u8>,
    /// Prune patterns of two or more words seen fewer than N times (1 keeps all)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub min_frequency: u32,
    /// Keep at most N patterns in all, the most frequent (0: no limit)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_patterns: u64,
    /// Relative-entropy pruning (Stolcke; SRILM's -prune): remove the patterns whose removal
    /// costs less than this (in nats: about the relative increase of perplexity), e.g. 1e-7
    #[arg(long, value_name = "THRESHOLD", group = "entropy")]
    pub prune_entropy: Option<f64>,
    /// Relative-entropy pruning to a model file of at most SIZE bytes (K, M, G: powers of
    /// 1000; KiB, MiB, GiB: of 1024), e.g. 1M
    #[arg(long, value_name = "SIZE", group = "entropy", value_parser = report::parse_size)]
    pub target_size: Option<u64>,
    /// Relative-entropy pruning to at most N patterns in all
    #[arg(long, value_name = "N", group = "entropy")]
    pub target_ngrams: Option<u64>,
    /// Train within this memory (K, M, G: powers of 1000; KiB, MiB, GiB: of 1024): the text
    /// is read twice, its counts go through temporary files in --temp and the model file is
    /// written from them level by level, the same bytes as in memory; prunes by
    /// --min-frequency only [default: in memory, unless the input looks too large for 80% of
    /// the machine's memory: then within that]
    #[arg(long, value_name = "SIZE", value_parser = report::parse_size,
          conflicts_with_all = ["entropy", "max_patterns"])]
    pub memory: Option<u64>,
    /// Folder for the temporary files of a bounded build [default: the system's temporary
    /// folder]
    #[arg(long, value_name = "DIR")]
    pub temp: Option<PathBuf>,
    /// Print a JSON summary on stdout (no progress bar)
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    /// The relative-entropy pruning asked for, if any.
    fn entropy(&self) -> Option<EntropyPruning> {
        self.prune_entropy
            .map(EntropyPruning::Threshold)
            .or(self.target_size.map(EntropyPruning::FileBytes))
            .or(self.target_ngrams.map(EntropyPruning::Patterns))
    }
}

/// The order when neither `--order` nor shards give one.
pub(super) const DEFAULT_ORDER: u8 = 6;

/// `uellm train`.
pub fn train(args: TrainArgs) -> Result<(), CliError> {
    if let Some(memory) = args.memory.or_else(|| auto_memory(&args)) {
        return super::count::train_bounded(&args, memory);
    }
    let t0 = Instant::now();
    let (file, read) = if args.from_counts.is_empty() {
        let total = check_paths(&args.files, &args.output)?;
        let opts = options(&args, args.order.unwrap_or(DEFAULT_ORDER));
        let (mut trainer, bar) = trainer(opts, total, args.json)?;
        trainer.set_entropy_pruning(args.entropy())?;
        read_into(trainer, &args.files, &bar, Trainer::finish_file)?
    } else {
        from_counts(&args)?
    };
    let train_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    files::write_atomic(&args.output, |w| w.write_all(&file.bytes))?;
    let summary = Summary {
        read,
        train_s,
        write_s: t1.elapsed().as_secs_f64(),
        info: file.info,
    };
    let mut out = io::stdout().lock();
    if args.json {
        summary.json(&args, &mut out)
    } else {
        summary.text(&args, &mut out)
    }
}

/// Without `--memory`, the bound a training takes on its own (as `lmplz -S 80%` does): 80% of
/// the machine's memory when the input looks too large for it in memory (see [`too_large`]),
/// with a line on stderr that says so. None (in memory) for standard input, whose size is not
/// known, and for pruning that needs every count in memory.
fn auto_memory(args: &TrainArgs) -> Option<u64> {
    if args.max_patterns > 0 || args.entropy().is_some() {
        return None;
    }
    let (inputs, shards) = if args.from_counts.is_empty() {
        (&args.files, false)
    } else {
        (&args.from_counts, true)
    };
    let mut bytes = 0u64;
    for path in inputs {
        if files::is_std(path) {
            return None;
        }
        bytes += std::fs::metadata(path).ok()?.len();
    }
    let machine = super::count::machine_memory()?;
    let order = args.order.unwrap_or(DEFAULT_ORDER) as usize;
    let (need, budget) = too_large(bytes, shards, order, machine)?;
    eprintln!(
        "note: training in memory would take about {} MB, more than 80% of this machine's {} MB; training within {} MB instead (the same model; --memory sets the bound)",
        need / 1_000_000,
        machine / 1_000_000,
        budget / 1_000_000
    );
    Some(budget)
}

/// Whether training on `bytes` of input (text, or count shards when `shards`) at `order` would
/// take more than 80% of `machine` bytes in memory: then its estimate and that bound. The
/// estimate errs high: a token for every 4 bytes of text, and 24 + 6 × order bytes a token
/// (on text sampled from en-train: 13.5 bytes a byte of text at order 5, against 9 to 10
/// measured); 12 bytes a byte of shard, against 10.
pub(super) fn too_large(
    bytes: u64,
    shards: bool,
    order: usize,
    machine: u64,
) -> Option<(u64, u64)> {
    let need = if shards {
        bytes.saturating_mul(12)
    } else {
        (bytes / 4).saturating_mul(24 + 6 * order.min(8) as u64)
    };
    let budget = machine / 5 * 4;
    (need > budget).then_some((need, budget))
}

/// `args`' training options at `order`.
pub(super) fn options(args: &TrainArgs, order: u8) -> TrainOptions {
    TrainOptions {
        max_pattern_length: order as usize,
        min_frequency: args.min_frequency,
        max_patterns: args.max_patterns,
    }
}

/// `uellm train --from-counts`: merges the shards and smooths their counts.
fn from_counts(args: &TrainArgs) -> Result<(ModelFile, Vec<u64>), CliError> {
    check_paths(&args.from_counts, &args.output)?;
    let shards = open_shards(&args.from_counts)?;
    let read = shards.iter().map(|(_, size)| *size).collect();
    let merged = CountShard::merge(shards.into_iter().map(|(f, _)| f))
        .map_err(|e| CliError::about(names(&args.from_counts), e))?;
    let order = merged.order() as u8;
    if args.order.is_some_and(|o| o != order) {
        return Err(CliError::about(
            names(&args.from_counts),
            Error::InvalidOption {
                name: "max_pattern_length",
                reason: format!("the shards hold patterns of up to {order} words"),
            },
        ));
    }
    let opts = options(args, order);
    let file = match args.entropy() {
        Some(e) => merged.into_file_pruned(&opts, e)?,
        None => merged.into_file(&opts)?,
    };
    Ok((file, read))
}

/// An input opened for reading, and its size (0 for standard input).
type Opened = (Box<dyn io::Read>, u64);

/// Each shard file, buffered, with its size.
pub(super) fn open_shards(paths: &[PathBuf]) -> Result<Vec<Opened>, CliError> {
    paths
        .iter()
        .map(|p| {
            let size = files::input_size(p)?.unwrap_or(0);
            let read: Box<dyn io::Read> = Box::new(io::BufReader::new(files::open(p)?));
            Ok((read, size))
        })
        .collect()
}

/// Checks every input and the output before any work, so that a typo in the last file fails at
/// once; returns the inputs' total size when every one has a size (standard input has none).
pub(super) fn check_paths(
    inputs: &[PathBuf],
    output: &std::path::Path,
) -> Result<Option<u64>, CliError> {
    let mut total = Some(0u64);
    for path in inputs {
        let size = files::input_size(path)?;
        total = total.zip(size).map(|(t, s)| t + s);
    }
    if inputs.iter().filter(|p| files::is_std(p)).count() > 1 {
        return Err(CliError::io_msg(
            "standard input (`-`) can be given only once",
        ));
    }
    if files::is_std(output) {
        return Err(CliError::io_msg(
            "the output must go to a file: give -o FILE (not `-`)",
        ));
    }
    files::check_output_dir(output)?;
    Ok(total)
}

/// The trainer of `opts`, expecting `total` bytes, and the progress bar it reports to.
pub(super) fn trainer(
    opts: TrainOptions,
    total: Option<u64>,
    json: bool,
) -> Result<(Trainer, ProgressBar), CliError> {
    let mut trainer = Trainer::new(opts)?;
    if let Some(t) = total {
        trainer.set_total_bytes(t);
    }
    let bar = progress_bar(total, json);
    let b = bar.clone();
    // The bar counts bytes read; the build after the last byte shows its share done in the
    // message (at most about 200 updates, see `Trainer::on_progress`).
    trainer.on_progress(move |p| {
        b.set_position(p.bytes_seen);
        let percent = (p.fraction * 100.0).floor();
        match p.phase {
            Phase::Counting => {}
            Phase::Smoothing => b.set_message(format!("counting {percent}%")),
            Phase::Indexing => b.set_message(format!("writing {percent}%")),
            _ => b.set_message("done"),
        }
    });
    Ok((trainer, bar))
}

/// Feeds every file of `paths` to `trainer` and finishes it with `finish` (the model file, or
/// the counts), with the bytes read of each path. The bar is cleared whatever happens.
pub(super) fn read_into<T>(
    mut trainer: Trainer,
    paths: &[PathBuf],
    bar: &ProgressBar,
    finish: impl FnOnce(Trainer) -> Result<T, Error>,
) -> Result<(T, Vec<u64>), CliError> {
    let mut read = Vec::with_capacity(paths.len());
    let counted = (|| {
        for path in paths {
            bar.set_message(display(path));
            read.push(files::read_text_chunks(path, |s| trainer.feed(s))?);
        }
        Ok::<_, CliError>(())
    })();
    if let Err(e) = counted {
        bar.finish_and_clear();
        return Err(e);
    }
    // Only the file is written (no generation index), or the counts.
    let file = finish(trainer);
    bar.finish_and_clear();
    let file = file.map_err(|e| match e {
        Error::EmptyInput => CliError::about(names(paths), e),
        e => CliError::from(e),
    })?;
    Ok((file, read))
}

/// What a training run did, for the report.
struct Summary {
    /// Bytes read of each input.
    read: Vec<u64>,
    /// Seconds from the first byte read to the model file.
    train_s: f64,
    /// Seconds writing the model file.
    write_s: f64,
    info: ModelInfo,
}

impl Summary {
    fn bytes_in(&self) -> u64 {
        self.read.iter().sum()
    }

    fn mb_per_second(&self) -> f64 {
        self.bytes_in() as f64 / 1e6 / self.train_s.max(1e-9)
    }

    fn bytes_per_ngram(&self) -> f64 {
        self.info.file_bytes as f64 / self.info.patterns.max(1) as f64
    }

    /// The `--json` summary.
    fn json(&self, args: &TrainArgs, out: &mut impl Write) -> Result<(), CliError> {
        let inputs: Vec<_> = inputs(args)
            .iter()
            .zip(&self.read)
            .map(|(p, n)| json!({ "path": display(p), "bytes": n }))
            .collect();
        let v = json!({
            "model": args.output.display().to_string(),
            "inputs": inputs,
            "bytes": self.bytes_in(),
            "seconds": self.train_s,
            "mb_per_second": self.mb_per_second(),
            "write_seconds": self.write_s,
            "bytes_per_ngram": self.bytes_per_ngram(),
            "info": self.info,
        });
        report::write_json(out, &v)?;
        Ok(())
    }

    /// The summary as lines of text.
    fn text(&self, args: &TrainArgs, out: &mut impl Write) -> Result<(), CliError> {
        let info = &self.info;
        let n = inputs(args).len();
        writeln!(
            out,
            "read     {} file{} ({}), {} bytes",
            n,
            if n == 1 { "" } else { "s" },
            names(inputs(args)),
            thousands(self.bytes_in())
        )?;
        writeln!(
            out,
            "trained  order {} in {} s ({} MB/s)",
            info.order,
            fixed(self.train_s, 3),
            fixed(self.mb_per_second(), 2)
        )?;
        if let Some(t) = &info.training {
            writeln!(
                out,
                "text     {} sentences, {} tokens, vocabulary {}",
                thousands(t.sentences),
                thousands(t.tokens),
                thousands(info.vocab_size as u64)
            )?;
        }
        writeln!(
            out,
            "n-grams  {} · total {}",
            report::ngrams(&info.ngrams),
            thousands(info.patterns)
        )?;
        writeln!(
            out,
            "model    {}: {} bytes, {} bytes/n-gram (written in {} ms)",
            args.output.display(),
            thousands(info.file_bytes),
            fixed(self.bytes_per_ngram(), 2),
            fixed(self.write_s * 1e3, 1)
        )?;
        if let Some(t) = &info.training {
            if t.pruned_patterns > 0 {
                let entropy = match args.entropy() {
                    Some(EntropyPruning::Threshold(x)) => format!(", --prune-entropy {x}"),
                    Some(EntropyPruning::FileBytes(n)) => format!(", --target-size {n}"),
                    Some(EntropyPruning::Patterns(n)) => format!(", --target-ngrams {n}"),
                    None => String::new(),
                };
                writeln!(
                    out,
                    "pruned   {} patterns (--min-frequency {}, --max-patterns {}{entropy})",
                    thousands(t.pruned_patterns),
                    t.options.min_frequency,
                    t.options.max_patterns
                )?;
            }
            if !t.discount_fallback.is_empty() {
                writeln!(
                    out,
                    "note     too little text for Kneser-Ney discounts at order {}: used the \
                     fallback 0.5 / 1 / 1.5 (as lmplz --discount_fallback)",
                    list(&t.discount_fallback)
                )?;
            }
        }
        Ok(())
    }
}

pub(super) fn progress_bar(total: Option<u64>, json: bool) -> ProgressBar {
    if json || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{spinner} {msg:20!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
    } else {
        "{spinner} {msg:20!} {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The files a model was made from: the text, or the count shards.
fn inputs(args: &TrainArgs) -> &[PathBuf] {
    if args.from_counts.is_empty() {
        &args.files
    } else {
        &args.from_counts
    }
}

/// The paths, comma-separated.
pub(super) fn names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| display(p))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::too_large;

    #[test]
    fn training_bounds_itself_only_when_the_input_looks_too_large() {
        const GB: u64 = 1_000_000_000;
        // 400 MB of text at order 5 takes about 3.6 GB in memory: bounded on a 4 GB machine,
        // not on a 24 GB one.
        assert_eq!(
            too_large(400_000_000, false, 5, 4 * GB),
            Some((5_400_000_000, 3_200_000_000))
        );
        assert_eq!(too_large(400_000_000, false, 5, 24 * GB), None);
        // Shards: about 12 bytes a byte.
        assert_eq!(
            too_large(GB, true, 5, 8 * GB),
            Some((12 * GB, 6_400_000_000))
        );
        assert_eq!(too_large(GB, true, 5, 16 * GB), None);
        // Nothing overflows.
        assert!(too_large(u64::MAX, false, 16, GB).is_some());
    }
}
