//! The `uellm` command line: arguments, dispatch, errors and exit codes.
//!
//! * [`commands`]: `train`, `generate`, `perplexity`, `export-arpa`, `import-arpa`, `inspect`;
//! * [`bench`](mod@bench): the project benchmark;
//! * [`files`]: reading text and models, writing files atomically;
//! * [`report`]: number formatting, tables, JSON output.
//!
//! Nothing here panics on bad input: every failure is a [`CliError`], printed as one line on
//! stderr (and as a JSON object on stdout with `--json`), with exit status 1.

mod bench;
mod commands;
mod files;
mod report;

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ultra_efficient_llm::Error;

const ABOUT: &str = "Train, run and measure pattern (n-gram) language models with Kneser-Ney \
                     smoothing: ultra-efficient-llm's command line.";

const AFTER_HELP: &str = "\
Exit status:
  0  success (also when stdout is closed early, as in `uellm generate ... | head`)
  1  the command failed: missing or unreadable file, input that is not UTF-8 text, empty input,
     a file that is not a model (or of another format version, truncated, corrupted), an invalid
     ARPA file, an option value out of range, a write error
  2  the command line is wrong (unknown subcommand or flag, missing argument, malformed number)

Errors are one line on stderr: `error: FILE: what is wrong`. With --json, stdout also gets
{\"error\": {\"code\": ..., \"name\": ..., \"message\": ...}}, where code is stable: NOT_A_MODEL,
UNSUPPORTED_VERSION, TRUNCATED, CORRUPTED, INVALID_OPTION, EMPTY_INPUT, NOT_TEXT, INVALID_ARPA,
TOO_LARGE, INTERNAL (the library's Error::code) or IO_ERROR (file system).";

/// `uellm`: train, generate, score, convert, inspect, benchmark.
#[derive(Debug, Parser)]
#[command(name = "uellm", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on UTF-8 text files (one sentence a line) and write it to a file
    Train(commands::TrainArgs),
    /// Generate text after a prompt; the text streams to stdout, statistics go to stderr
    Generate(commands::GenerateArgs),
    /// Perplexity of text files under a model (KenLM `query` definitions)
    Perplexity(commands::PerplexityArgs),
    /// Write a model as an ARPA back-off file
    ExportArpa(commands::ExportArpaArgs),
    /// Read an ARPA file (KenLM, SRILM, or export-arpa) into a model file
    ImportArpa(commands::ImportArpaArgs),
    /// Show what a model file holds: order, vocabulary, n-grams, size, training statistics
    Inspect(commands::InspectArgs),
    /// Run the project benchmark (training, loading, generation, dev-split perplexity)
    Bench(bench::BenchArgs),
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Command::Train(a) => a.json,
            Command::Generate(a) => a.json,
            Command::Perplexity(a) => a.json,
            Command::ExportArpa(a) => a.json,
            Command::ImportArpa(a) => a.json,
            Command::Inspect(a) => a.json,
            Command::Bench(a) => a.json,
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.command.json();
    let result = match cli.command {
        Command::Train(a) => commands::train(a),
        Command::Generate(a) => commands::generate(a),
        Command::Perplexity(a) => commands::perplexity(a),
        Command::ExportArpa(a) => commands::export_arpa(a),
        Command::ImportArpa(a) => commands::import_arpa(a),
        Command::Inspect(a) => commands::inspect(a),
        Command::Bench(a) => bench::bench(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): nothing is left to say to it.
        Err(e) if e.code == BROKEN_PIPE => ExitCode::SUCCESS,
        Err(e) => {
            e.print(json);
            ExitCode::FAILURE
        }
    }
}

const BROKEN_PIPE: &str = "BROKEN_PIPE";

/// A failure of a command: a stable code and name (the library's when it comes from there) and
/// a one-line message that names the file concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct CliError {
    /// Stable machine-readable code, e.g. `NOT_A_MODEL` or `IO_ERROR`.
    pub code: &'static str,
    /// Stable `PascalCase` name, e.g. `NotAModelError`.
    pub name: &'static str,
    /// One line for people.
    pub message: String,
}

impl CliError {
    /// A file-system error about `what` (usually a file name).
    pub fn io(what: impl fmt::Display, e: &io::Error) -> Self {
        CliError {
            code: "IO_ERROR",
            name: "IoError",
            message: format!("{what}: {}", describe_io(e)),
        }
    }

    /// A file-system error with a message of our own.
    pub fn io_msg(message: impl Into<String>) -> Self {
        CliError {
            code: "IO_ERROR",
            name: "IoError",
            message: message.into(),
        }
    }

    /// A library error about `what` (usually a file name).
    pub fn about(what: impl fmt::Display, e: Error) -> Self {
        let mut err = CliError::from(e);
        err.message = format!("{what}: {}", err.message);
        err
    }

    fn print(&self, json: bool) {
        if json {
            let v = serde_json::json!({
                "error": { "code": self.code, "name": self.name, "message": self.message }
            });
            let mut out = io::stdout().lock();
            let _ = report::write_json(&mut out, &v);
            let _ = out.flush();
        }
        let one_line = self.message.replace('\n', " ");
        let _ = writeln!(io::stderr().lock(), "error: {one_line}");
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let mut message = e.to_string();
        if let Error::InvalidOption { name, reason } = &e {
            if let Some(flag) = flag_of(name) {
                message = format!("invalid value for {flag}: {reason}");
            }
        }
        if matches!(e, Error::NotAModel(_)) && message.contains("ARPA") {
            message.push_str(" (`uellm import-arpa FILE -o MODEL`)");
        }
        CliError {
            code: e.code(),
            name: e.name(),
            message,
        }
    }
}

/// Errors writing to stdout (`?` on `writeln!(out, ...)`).
impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            CliError {
                code: BROKEN_PIPE,
                name: "BrokenPipeError",
                message: "standard output was closed".into(),
            }
        } else {
            CliError::io("cannot write to standard output", &e)
        }
    }
}

/// The command-line flag of a library option, for messages.
fn flag_of(option: &str) -> Option<&'static str> {
    Some(match option {
        "max_pattern_length" => "--order",
        "min_frequency" => "--min-frequency",
        "max_patterns" => "--max-patterns",
        "max_tokens" => "--max-tokens",
        "context_window" => "--context-window",
        "temperature" => "--temperature",
        "top_k" => "--top-k",
        "top_p" => "--top-p",
        "min_generated_tokens_ratio" => "--min-ratio",
        "max_patterns_per_query" => "--max-patterns-per-query",
        "max_backup_patterns" => "--max-backup-patterns",
        "activation_threshold" => "--activation-threshold",
        "activation_cache_size" => "--cache-size",
        "preset" => "--preset",
        "generation_slices" => "--generation-slices",
        _ => return None,
    })
}

/// `io::Error` in words, without the `(os error N)` suffix for the common cases.
fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::AlreadyExists => "already exists".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn option_errors_name_the_flag() {
        let e = CliError::from(Error::InvalidOption {
            name: "top_p",
            reason: "must be in (0, 1], got 2".into(),
        });
        assert_eq!(e.code, "INVALID_OPTION");
        assert!(
            e.message.starts_with("invalid value for --top-p"),
            "{}",
            e.message
        );
    }
}
