//! `uellm count`: the raw counts of text files into a count shard, in bounded memory: the text
//! is counted in runs that fit `--memory`, each written to a temporary file, and the runs are
//! merged into the shard as it is written.

use std::cell::RefCell;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use ultra_efficient_llm::shard::{bytes_per_token, Built};
use ultra_efficient_llm::BoundedTrainer;
use ultra_efficient_llm::{CountShard, Error, TrainOptions, Trainer, MAX_ORDER};

use super::files::{self, display};
use super::report::{self, fixed, thousands};
use super::train::{
    check_paths, names, open_shards, options, progress_bar, read_into, trainer, TrainArgs,
    DEFAULT_ORDER,
};
use super::CliError;

/// Arguments of `uellm count`.
#[derive(Debug, Args)]
#[command(after_help = "\
The shard holds the raw counts of every pattern of 1 to N words of the files (read as `train` \
reads them: each file's last line ends with the file). Shards of any parts of a corpus, counted \
anywhere, merge with `uellm train --from-counts SHARD... -o MODEL` into the model that training \
on the whole corpus makes, byte for byte. Text beyond --memory is counted in runs, each written \
to a temporary file in --temp and merged into SHARD at the end (then removed): the shard is the \
same. SHARD is written atomically, as `train` writes MODEL.")]
pub struct CountArgs {
    /// UTF-8 text files, one sentence a line (`-` reads standard input)
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Where to write the count shard
    #[arg(short, long, value_name = "SHARD")]
    pub output: PathBuf,
    /// n-gram order: patterns of 1 to N words are counted
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ORDER,
          value_parser = clap::value_parser!(u8).range(1..=MAX_ORDER as i64))]
    pub order: u8,
    /// Memory for counting (K, M, G: powers of 1000; KiB, MiB, GiB: of 1024) [default: half
    /// of the machine's memory]
    #[arg(long, value_name = "SIZE", value_parser = report::parse_size)]
    pub memory: Option<u64>,
    /// Folder for the runs beyond --memory [default: the system's temporary folder]
    #[arg(long, value_name = "DIR")]
    pub temp: Option<PathBuf>,
    /// Print a JSON summary on stdout (no progress bar)
    #[arg(long)]
    pub json: bool,
}

/// The temporary run files of one count, removed when it ends, whatever happens.
pub(super) struct Runs {
    dir: PathBuf,
    pub(super) paths: Vec<PathBuf>,
}

impl Runs {
    /// Runs in `dir`, which must exist.
    pub(super) fn new(dir: Option<&Path>) -> Result<Runs, CliError> {
        Ok(Runs {
            dir: temp_dir(dir)?,
            paths: Vec::new(),
        })
    }

    /// The runs, open for reading.
    pub(super) fn open(&self) -> Result<Vec<Box<dyn Read>>, CliError> {
        self.paths
            .iter()
            .map(|p| {
                let f = File::open(p).map_err(|e| CliError::io(p.display(), &e))?;
                Ok(Box::new(BufReader::new(f)) as Box<dyn Read>)
            })
            .collect()
    }

    /// Writes `shard` as the next run.
    pub(super) fn put(&mut self, shard: &CountShard) -> Result<(), Error> {
        let path = self.dir.join(format!(
            ".uellm-count-{}-{}.run",
            std::process::id(),
            self.paths.len()
        ));
        let file = File::create(&path).map_err(|e| run_error(&path, &e))?;
        self.paths.push(path.clone());
        let mut w = BufWriter::new(file);
        shard.write_to(&mut w)?;
        w.into_inner()
            .map_err(|e| run_error(&path, e.error()))?
            .sync_all()
            .map_err(|e| run_error(&path, &e))
    }
}

/// The folder for temporary files: `dir`, or the system's; it must exist.
fn temp_dir(dir: Option<&Path>) -> Result<PathBuf, CliError> {
    let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    if !dir.is_dir() {
        return Err(CliError::io_msg(format!(
            "{}: the folder for temporary files does not exist",
            dir.display()
        )));
    }
    Ok(dir)
}

fn run_error(path: &Path, e: &io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

impl Drop for Runs {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = fs::remove_file(p);
        }
    }
}

/// The machine's memory (Linux: `MemTotal` of `/proc/meminfo`), if known.
pub(super) fn machine_memory() -> Option<u64> {
    let info = fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Half the machine's memory, if known.
fn default_memory() -> Option<u64> {
    machine_memory().map(|m| m / 2)
}

/// Makes blocks of 1 MiB and more come straight from the system and go back to it when freed.
/// glibc otherwise keeps freed blocks below its threshold (which rises as large blocks are
/// freed, up to 32 MiB) in the arena of the thread that freed them, so a bounded run's memory
/// once used, in each thread's arena, would count against the bound, not only its memory in use.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets a parameter of the allocator; it is called before any thread of
    // the bounded work starts, and a refused value (0 returned) only leaves the default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// `uellm count`.
pub fn count(args: CountArgs) -> Result<(), CliError> {
    release_freed_memory();
    let total = check_paths(&args.files, &args.output)?;
    let order = args.order as usize;
    let opts = TrainOptions {
        max_pattern_length: order,
        ..TrainOptions::default()
    };
    let runs = Rc::new(RefCell::new(Runs::new(args.temp.as_deref())?));
    let (mut counter, bar) = trainer(opts, total, args.json)?;
    if let Some(memory) = args.memory.or_else(default_memory) {
        let tokens = (memory / bytes_per_token(order)).max(1);
        let into = runs.clone();
        counter.spill_counts(tokens as usize, move |shard| into.borrow_mut().put(&shard));
    }
    let t0 = Instant::now();
    let (last, read) = read_into(counter, &args.files, &bar, Trainer::finish_counts)?;
    let runs = runs.borrow();
    let (merged, written) = if runs.paths.is_empty() {
        let written =
            files::write_atomic(&args.output, |w| last.write_to(w).map_err(io::Error::other))?;
        (last.summary(), written)
    } else {
        // The runs, then the counts still in memory, merged as the shard is written.
        let mut inputs = runs.open()?;
        let tail = last.to_bytes();
        drop(last);
        inputs.push(Box::new(io::Cursor::new(tail)));
        let mut merged = None;
        let written = files::write_atomic(&args.output, |w| {
            merged = Some(CountShard::merge_into(inputs, w).map_err(io::Error::other)?);
            Ok(())
        })?;
        let merged = merged.ok_or_else(|| CliError::io_msg("the merge wrote nothing"))?;
        (merged, written)
    };
    let count_s = t0.elapsed().as_secs_f64();
    let bytes: u64 = read.iter().sum();
    let n_runs = runs.paths.len() + 1;
    let mut out = io::stdout().lock();
    if args.json {
        let v = json!({
            "shard": args.output.display().to_string(),
            "inputs": args.files.iter().zip(&read)
                .map(|(p, n)| json!({ "path": display(p), "bytes": n }))
                .collect::<Vec<_>>(),
            "bytes": bytes,
            "seconds": count_s,
            "runs": n_runs,
            "order": merged.order,
            "sentences": merged.sentences,
            "vocab_size": merged.vocab_len,
            "patterns": merged.patterns,
            "shard_bytes": written,
        });
        report::write_json(&mut out, &v)?;
        return Ok(());
    }
    writeln!(
        out,
        "read     {} file{} ({}), {} bytes",
        args.files.len(),
        if args.files.len() == 1 { "" } else { "s" },
        names(&args.files),
        thousands(bytes)
    )?;
    writeln!(
        out,
        "counted  order {} in {} s ({} run{}): {} sentences, vocabulary {}, {} patterns",
        merged.order,
        fixed(count_s, 3),
        n_runs,
        if n_runs == 1 { "" } else { "s" },
        thousands(merged.sentences),
        thousands(merged.vocab_len as u64),
        thousands(merged.patterns)
    )?;
    writeln!(
        out,
        "shard    {}: {} bytes, {} bytes/pattern",
        args.output.display(),
        thousands(written),
        fixed(written as f64 / merged.patterns.max(1) as f64, 2)
    )?;
    Ok(())
}

/// `uellm train --memory`: the text read twice ([`BoundedTrainer`]: its words, then its
/// patterns counted in runs), or the shards of `--from-counts` merged
/// ([`CountShard::build_file`]), and the model file built within the bound.
pub(super) fn train_bounded(args: &TrainArgs, memory: u64) -> Result<(), CliError> {
    release_freed_memory();
    let t0 = Instant::now();
    let dir = temp_dir(args.temp.as_deref())?;
    let Bounded {
        built,
        read,
        order,
        build_s,
        passes,
    } = if args.from_counts.is_empty() {
        train_text(args, memory, &dir)?
    } else {
        check_paths(&args.from_counts, &args.output)?;
        let shards = open_shards(&args.from_counts)?;
        let read = shards.iter().map(|(_, size)| *size).collect();
        let inputs: Vec<Box<dyn Read>> = shards.into_iter().map(|(f, _)| f).collect();
        // The order is the shards' (the first one's head; the build checks them all against
        // it, and against --order).
        let order = match args.order {
            Some(o) => o,
            None => shard_order(&args.from_counts[0])?,
        };
        let opts = options(args, order);
        let t1 = Instant::now();
        let built = write_model(args, |w| {
            CountShard::build_file(inputs, &opts, memory, &dir, w)
        })
        .map_err(|e| e.about_shards(args))?;
        Bounded {
            built,
            read,
            order,
            build_s: t1.elapsed().as_secs_f64(),
            passes: None,
        }
    };
    let train_s = t0.elapsed().as_secs_f64();
    let n_runs = built.runs;
    let bytes: u64 = read.iter().sum();
    let patterns: u64 = built.ngrams.iter().sum();
    let mut out = io::stdout().lock();
    if args.json {
        let v = json!({
            "model": args.output.display().to_string(),
            "bytes": bytes,
            "seconds": train_s,
            "build_seconds": build_s,
            "words_seconds": passes.map(|p| p[0]),
            "count_seconds": passes.map(|p| p[1]),
            "steps": {
                "merge": built.steps.merge,
                "derive": built.steps.derive,
                "streams": built.steps.streams,
                "write": built.steps.write,
            },
            "memory": memory,
            "runs": n_runs,
            "order": order,
            "ngrams": built.ngrams,
            "patterns": patterns,
            "file_bytes": built.file_bytes,
            "pruned_patterns": built.pruned_patterns,
            "sentences": built.sentences,
            "tokens": built.tokens,
            "vocab_size": built.vocab_size,
        });
        report::write_json(&mut out, &v)?;
        return Ok(());
    }
    let inputs = if args.from_counts.is_empty() {
        &args.files
    } else {
        &args.from_counts
    };
    writeln!(
        out,
        "read     {} file{} ({}), {} bytes",
        inputs.len(),
        if inputs.len() == 1 { "" } else { "s" },
        names(inputs),
        thousands(bytes)
    )?;
    writeln!(
        out,
        "trained  order {} in {} s within --memory {} ({} counting run{}; the model file in {} s)",
        order,
        fixed(train_s, 3),
        thousands(memory),
        n_runs,
        if n_runs == 1 { "" } else { "s" },
        fixed(build_s, 3)
    )?;
    writeln!(
        out,
        "text     {} sentences, {} tokens, vocabulary {}",
        thousands(built.sentences),
        thousands(built.tokens),
        thousands(built.vocab_size as u64)
    )?;
    writeln!(
        out,
        "n-grams  {} · total {}",
        super::report::ngrams(&built.ngrams),
        thousands(patterns)
    )?;
    writeln!(
        out,
        "model    {}: {} bytes, {} bytes/n-gram",
        args.output.display(),
        thousands(built.file_bytes),
        fixed(built.file_bytes as f64 / patterns.max(1) as f64, 2)
    )?;
    if built.pruned_patterns > 0 {
        writeln!(
            out,
            "pruned   {} patterns (--min-frequency {})",
            thousands(built.pruned_patterns),
            args.min_frequency
        )?;
    }
    Ok(())
}

/// The order a count shard's head states.
fn shard_order(path: &Path) -> Result<u8, CliError> {
    let f = File::open(path).map_err(|e| CliError::io(path.display(), &e))?;
    let order =
        CountShard::order_of(BufReader::new(f)).map_err(|e| CliError::about(path.display(), e))?;
    Ok(order as u8)
}

/// A failed build of the model file, kept apart from the write's own error so that it is the
/// one reported (the model is left as it was).
enum BuildFailure {
    Build(Error),
    Write(CliError),
}

impl BuildFailure {
    /// The error, about the shards when it is theirs.
    fn about_shards(self, args: &TrainArgs) -> CliError {
        match self {
            BuildFailure::Build(e) => CliError::about(names(&args.from_counts), e),
            BuildFailure::Write(e) => e,
        }
    }

    fn plain(self) -> CliError {
        match self {
            BuildFailure::Build(e) => CliError::from(e),
            BuildFailure::Write(e) => e,
        }
    }
}

/// Writes `--output` atomically with `build`.
fn write_model(
    args: &TrainArgs,
    build: impl FnOnce(&mut dyn Write) -> Result<Built, Error>,
) -> Result<Built, BuildFailure> {
    let mut built = None;
    let mut failure = None;
    files::write_atomic(&args.output, |w| {
        match build(w) {
            Ok(b) => built = Some(b),
            Err(e) => {
                failure = Some(e);
                return Err(io::Error::other("the build failed"));
            }
        }
        Ok(())
    })
    .map_err(|e| match failure.take() {
        Some(f) => BuildFailure::Build(f),
        None => BuildFailure::Write(e),
    })?;
    built.ok_or_else(|| BuildFailure::Write(CliError::io_msg("the build wrote nothing")))
}

/// Standard input copied to a file in the temporary folder (a bounded build reads its text
/// twice), removed when dropped.
struct Spooled(Option<PathBuf>);

impl Spooled {
    fn of(paths: &[PathBuf], dir: &Path) -> Result<Spooled, CliError> {
        if !paths.iter().any(|p| files::is_std(p)) {
            return Ok(Spooled(None));
        }
        let path = dir.join(format!(".uellm-stdin-{}", std::process::id()));
        let spooled = Spooled(Some(path.clone()));
        let mut f =
            BufWriter::new(File::create(&path).map_err(|e| CliError::io(path.display(), &e))?);
        io::copy(&mut io::stdin().lock(), &mut f).map_err(|e| CliError::io("<stdin>", &e))?;
        f.flush().map_err(|e| CliError::io(path.display(), &e))?;
        Ok(spooled)
    }

    /// `path`, or the spooled copy for `-`.
    fn path<'a>(&'a self, path: &'a Path) -> &'a Path {
        match &self.0 {
            Some(s) if files::is_std(path) => s,
            _ => path,
        }
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

/// What a bounded training made and read, and how long it took.
struct Bounded {
    built: Built,
    /// Bytes read of each input.
    read: Vec<u64>,
    order: u8,
    /// Seconds of the model file's build.
    build_s: f64,
    /// From text, seconds of its two passes (the words, the patterns).
    passes: Option<[f64; 2]>,
}

/// `uellm train --memory` from text: the words, then the patterns, then the model file.
fn train_text(args: &TrainArgs, memory: u64, dir: &Path) -> Result<Bounded, CliError> {
    let total = check_paths(&args.files, &args.output)?;
    let order = args.order.unwrap_or(DEFAULT_ORDER);
    let spooled = Spooled::of(&args.files, dir)?;
    let bar = progress_bar(total.map(|t| 2 * t), args.json);
    let result = (|| {
        let t0 = Instant::now();
        let mut first = BoundedTrainer::new(options(args, order), memory, dir)?;
        let mut read = Vec::with_capacity(args.files.len());
        for path in &args.files {
            bar.set_message(format!("words: {}", display(path)));
            read.push(files::read_text_chunks(spooled.path(path), |s| {
                first.feed(s);
                bar.set_position(first.bytes_seen());
            })?);
        }
        let done = first.bytes_seen();
        let t1 = Instant::now();
        let mut second = first.second_pass().map_err(|e| match e {
            Error::EmptyInput => CliError::about(names(&args.files), e),
            e => CliError::from(e),
        })?;
        for path in &args.files {
            bar.set_message(format!("counting: {}", display(path)));
            files::read_text_chunks(spooled.path(path), |s| {
                second.feed(s);
                bar.set_position(done + second.bytes_seen());
            })?;
        }
        bar.set_message("building");
        let building = bar.clone();
        second.on_progress(move |f| building.set_message(format!("building {:.0}%", 100.0 * f)));
        let t2 = Instant::now();
        let built = write_model(args, |w| second.finish(w)).map_err(BuildFailure::plain)?;
        let passes = [(t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64()];
        Ok(Bounded {
            built,
            read,
            order,
            build_s: t2.elapsed().as_secs_f64(),
            passes: Some(passes),
        })
    })();
    bar.finish_and_clear();
    result
}
