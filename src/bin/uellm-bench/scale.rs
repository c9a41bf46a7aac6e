//! `--scale MB`: a large model, made the way a user would make one, and what loading it costs.
//!
//! The corpus of the benchmark is small (2.8 M n-grams at order 5); a model a hundred times
//! larger shows what the small one hides: how load time and memory grow. This mode trains a
//! model at order 5 on the first corpus file, samples MB megabytes of text from it (one sentence
//! a line, seeds 0, 1, … with the exact sampler, as `uellm generate` would), then runs, each in
//! a process of its own that reports its own peak resident memory (`VmHWM` of
//! `/proc/self/status`: a parent's `wait4` would count the parent's memory at the fork too):
//! * `uellm-bench --train-once TEXT MODEL`: what `uellm train TEXT -o MODEL --order 5` does
//!   (read, count, smooth, write the model file without an index), timed;
//! * with `--scale-memory SIZE`, `uellm train TEXT -o MODEL --order 5 --memory SIZE` (the
//!   `uellm` binary beside this one), timed, its peak from `wait4`, its model compared with the
//!   one trained in memory;
//! * `uellm-bench --load-once MODEL`: reads the file, then times `Model::from_vec` (load time,
//!   the loaded model's memory);
//! * the same for the model's index image (`Model::to_image`, written by `--make-image MODEL
//!   IMAGE`), loaded in place by `Model::from_image_vec`, which then scores the first 20 MB of
//!   the text (`Model::scores`, as `uellm score` does), timed.
//!
//! The text and the model are kept in the folder `scale/` beside `--json-out` (by default
//! `target/scale/`); the text is made again only when missing.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use ultra_efficient_llm::{GenerateOptions, Model, TrainOptions, Trainer};

use super::{files, CliError};

/// The order of the model the text is sampled from, and of the model trained on it.
const ORDER: usize = 5;

/// What `--load-once` prints: one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadOnce {
    pub load_ms: f64,
    /// The process's peak resident memory.
    pub peak_bytes: u64,
    pub memory_bytes: u64,
    pub index_bytes: u64,
    pub patterns: u64,
    pub file_bytes: u64,
    /// Streamed per-token scores of the first [`SCORE_BYTES`] of a text, after the load
    /// (`--score-text`), in tokens per second.
    #[serde(default)]
    pub score_tokens_per_second: Option<f64>,
}

/// How much of the sampled text `--scale` scores with the large model.
const SCORE_BYTES: usize = 20_000_000;

/// `--load-once MODEL [--score-text TEXT]`: reads MODEL, times its load (and scoring TEXT),
/// prints a [`LoadOnce`] line.
///
/// # Errors
/// The file's read or load error.
pub fn load_once(path: &Path, score: Option<&Path>) -> Result<(), CliError> {
    let bytes = files::read_bytes(path)?;
    let file_bytes = bytes.len() as u64;
    let t0 = Instant::now();
    let model = if bytes.starts_with(ultra_efficient_llm::image::IMAGE_MAGIC) {
        Model::from_image_vec(bytes)
    } else {
        Model::from_vec(bytes)
    }
    .map_err(|e| CliError::about(path.display(), e))?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let info = model.info();
    let peak = peak_bytes()?;
    let score_tokens_per_second = match score {
        Some(text) => {
            let mut text = files::read_text(text)?;
            if text.len() > SCORE_BYTES {
                let cut = text[..SCORE_BYTES].rfind('\n').map_or(0, |i| i + 1);
                text.truncate(cut);
            }
            let t0 = Instant::now();
            let (n, sum) = model
                .scores(&text)
                .fold((0u64, 0.0), |(n, s), t| (n + 1, s + t.log10_prob));
            std::hint::black_box(sum);
            Some(n as f64 / t0.elapsed().as_secs_f64())
        }
        None => None,
    };
    let line = LoadOnce {
        load_ms,
        peak_bytes: peak,
        memory_bytes: info.memory_bytes,
        index_bytes: model.memory_use().index,
        patterns: info.patterns,
        file_bytes,
        score_tokens_per_second,
    };
    println!(
        "{}",
        serde_json::to_string(&line).map_err(std::io::Error::from)?
    );
    Ok(())
}

/// `--make-image MODEL IMAGE`: writes the index image of the model file MODEL to IMAGE, prints
/// `{}`.
///
/// # Errors
/// Loading MODEL or writing IMAGE.
pub fn make_image(model: &Path, image: &Path) -> Result<(), CliError> {
    let m = files::load_model(model)?;
    fs::write(image, m.to_image()).map_err(|e| CliError::io(image.display(), &e))?;
    println!("{{}}");
    Ok(())
}

/// Training within a memory bound, by the `uellm` binary beside this one.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bounded {
    pub memory: u64,
    pub seconds: f64,
    /// Its peak resident memory (`ru_maxrss` of `wait4`).
    pub peak_bytes: u64,
    /// Its model file is byte for byte the one trained in memory.
    pub same_model: bool,
}

/// Runs `uellm train TEXT -o MODEL --order 5 --memory MEMORY --temp DIR` (the `uellm` binary
/// beside this one) and measures it.
fn bounded(text: &Path, model: &Path, reference: &Path, memory: u64) -> Result<Bounded, CliError> {
    let exe = std::env::current_exe().map_err(|e| CliError::io("uellm-bench", &e))?;
    let uellm = exe.with_file_name("uellm");
    if !uellm.is_file() {
        return Err(CliError::io_msg(format!(
            "{}: not built (cargo build --release --bin uellm)",
            uellm.display()
        )));
    }
    let dir = model.parent().unwrap_or(Path::new("."));
    let t0 = Instant::now();
    let child = Command::new(&uellm)
        .arg("train")
        .arg(text)
        .arg("-o")
        .arg(model)
        .args([
            "--order",
            &ORDER.to_string(),
            "--memory",
            &memory.to_string(),
        ])
        .arg("--temp")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CliError::io(uellm.display(), &e))?;
    let mut status = 0i32;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct, which `wait4` fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are valid for writes; the child is ours and not yet reaped
    // (its `Child` is dropped without waiting).
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let seconds = t0.elapsed().as_secs_f64();
    drop(child);
    if r < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(CliError::io_msg(format!(
            "{} train --memory failed",
            uellm.display()
        )));
    }
    let same_model = fs::read(model).map_err(|e| CliError::io(model.display(), &e))?
        == fs::read(reference).map_err(|e| CliError::io(reference.display(), &e))?;
    Ok(Bounded {
        memory,
        seconds,
        peak_bytes: usage.ru_maxrss as u64 * 1024,
        same_model,
    })
}

/// What `--train-once` prints: one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainOnce {
    pub seconds: f64,
    /// The process's peak resident memory.
    pub peak_bytes: u64,
}

/// `--train-once TEXT MODEL`: trains an order-[`ORDER`] model on TEXT into the model file MODEL
/// (no index, as `uellm train`), prints a [`TrainOnce`] line.
///
/// # Errors
/// Reading TEXT, training, or writing MODEL.
pub fn train_once(text: &Path, model: &Path) -> Result<(), CliError> {
    let t0 = Instant::now();
    let mut trainer = Trainer::new(TrainOptions {
        max_pattern_length: ORDER,
        ..TrainOptions::default()
    })?;
    if let Some(n) = files::input_size(text)? {
        trainer.set_total_bytes(n);
    }
    files::read_text_chunks(text, |s| trainer.feed(s))?;
    let file = trainer
        .finish_file()
        .map_err(|e| CliError::about(text.display(), e))?;
    fs::write(model, &file.bytes).map_err(|e| CliError::io(model.display(), &e))?;
    let line = TrainOnce {
        seconds: t0.elapsed().as_secs_f64(),
        peak_bytes: peak_bytes()?,
    };
    println!(
        "{}",
        serde_json::to_string(&line).map_err(std::io::Error::from)?
    );
    Ok(())
}

/// This process's peak resident memory (`VmHWM`), in bytes.
fn peak_bytes() -> Result<u64, CliError> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| CliError::io("/proc/self/status", &e))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| CliError::io_msg("no VmHWM in /proc/self/status"))
}

/// What `--scale` measured.
#[derive(Debug, Serialize)]
pub struct Scale {
    pub text_path: String,
    pub text_bytes: u64,
    pub train: TrainOnce,
    /// `uellm train --memory` on the same text: the bound, the run, and whether its model is
    /// the same file.
    pub bounded: Option<Bounded>,
    pub load: LoadOnce,
    /// Loading the model's index image instead.
    pub load_image: LoadOnce,
}

/// `--scale MB` on `corpus` (see the module docs).
///
/// # Errors
/// Reading the corpus, writing the text or the model, or a child process that fails.
pub fn scale(
    corpus: &Path,
    dir: &Path,
    mb: u64,
    memory: Option<u64>,
    say: &dyn Fn(String),
) -> Result<Scale, CliError> {
    fs::create_dir_all(dir).map_err(|e| CliError::io(dir.display(), &e))?;
    let stem = corpus
        .file_stem()
        .map_or_else(|| "corpus".into(), |s| s.to_string_lossy().into_owned());
    let text = dir.join(format!("{stem}.o{ORDER}.{mb}MB.txt"));
    if !text.is_file() {
        say(format!(
            "scale: sampling {mb} MB of text into {}",
            text.display()
        ));
        sample_text(corpus, &text, mb * 1_000_000)?;
    }
    let text_bytes = fs::metadata(&text)
        .map_err(|e| CliError::io(text.display(), &e))?
        .len();
    let model = dir.join(format!("{stem}.o{ORDER}.{mb}MB.uelm"));
    let exe = std::env::current_exe().map_err(|e| CliError::io("uellm-bench", &e))?;
    say(format!(
        "scale: training order {ORDER} on {}",
        text.display()
    ));
    let train = child(
        Command::new(&exe)
            .arg("--train-once")
            .arg(&text)
            .arg(&model),
    )?;
    let bounded = match memory {
        Some(m) => {
            say(format!("scale: training order {ORDER} within --memory {m}"));
            let out = dir.join(format!("{stem}.o{ORDER}.{mb}MB.bounded.uelm"));
            let b = bounded(&text, &out, &model, m)?;
            let _ = fs::remove_file(&out);
            Some(b)
        }
        None => None,
    };
    say(format!("scale: loading {}", model.display()));
    let load = child(Command::new(&exe).arg("--load-once").arg(&model))?;
    let image = model.with_extension("uelmimg");
    say(format!(
        "scale: loading its index image {}",
        image.display()
    ));
    child::<serde_json::Value>(
        Command::new(&exe)
            .arg("--make-image")
            .arg(&model)
            .arg(&image),
    )?;
    let load_image = child(
        Command::new(&exe)
            .arg("--load-once")
            .arg(&image)
            .arg("--score-text")
            .arg(&text),
    )?;
    Ok(Scale {
        text_path: text.display().to_string(),
        text_bytes,
        train,
        bounded,
        load,
        load_image,
    })
}

/// Trains an order-[`ORDER`] model on `corpus` and writes sentences sampled from it to `out`
/// until it holds at least `bytes` bytes.
fn sample_text(corpus: &Path, out: &Path, bytes: u64) -> Result<(), CliError> {
    let mut trainer = Trainer::new(TrainOptions {
        max_pattern_length: ORDER,
        ..TrainOptions::default()
    })?;
    files::read_text_chunks(corpus, |s| trainer.feed(s))?;
    let model = trainer
        .finish()
        .map_err(|e| CliError::about(corpus.display(), e))?;
    let tmp = out.with_extension("partial");
    let file = fs::File::create(&tmp).map_err(|e| CliError::io(tmp.display(), &e))?;
    let mut w = BufWriter::new(file);
    let mut opts = GenerateOptions {
        max_tokens: 1_000,
        stop_at_sentence_end: true,
        ..GenerateOptions::default()
    };
    let (mut written, mut seed) = (0u64, 0u64);
    while written < bytes {
        opts.seed = Some(seed);
        seed += 1;
        let g = model.generate("", &opts)?;
        let line = g.text.trim();
        if line.is_empty() {
            continue;
        }
        writeln!(w, "{line}").map_err(|e| CliError::io(tmp.display(), &e))?;
        written += line.len() as u64 + 1;
    }
    w.flush().map_err(|e| CliError::io(tmp.display(), &e))?;
    drop(w);
    fs::rename(&tmp, out).map_err(|e| CliError::io(out.display(), &e))
}

/// Runs `cmd` to the end, its stderr passed through, and reads the JSON line it prints.
fn child<T: serde::de::DeserializeOwned>(cmd: &mut Command) -> Result<T, CliError> {
    let what = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| CliError::io(&what, &e))?;
    if !out.status.success() {
        return Err(CliError::io_msg(format!("{what} failed ({})", out.status)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim())
        .map_err(|e| CliError::io_msg(format!("{what} printed {text:?}: {e}")))
}
