//! The `uellm` command line: arguments, dispatch, errors and exit codes.
//!
//! * [`commands`]: `generate`, `perplexity`, `predict`, `score`, `export-arpa`, `import-arpa`,
//!   `image`, `inspect`;
//! * [`train`], `train`: check the files, train, write the model, report;
//! * [`count`], `count`: the counts of text files into a count shard, in runs that fit a memory
//!   bound;
//! * [`error`]: [`CliError`] and the exit status;
//! * [`files`]: reading text and models, writing files atomically;
//! * [`report`]: number formatting, tables, JSON output.
//!
//! `error`, `files` and `report` are shared with the benchmark binary, `uellm-bench`
//! (`src/bin/uellm-bench/`), which includes them by path.
//!
//! Nothing here panics on bad input: every failure is a [`CliError`], printed as one line on
//! stderr (and as a JSON object on stdout with `--json`), with exit status 1.

mod commands;
mod count;
mod error;
mod files;
mod report;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::CliError;

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

/// `uellm`: train, generate, score, convert, inspect.
#[derive(Debug, Parser)]
#[command(name = "uellm", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on UTF-8 text files (one sentence a line) and write it to a file
    Train(train::TrainArgs),
    /// Count the patterns of UTF-8 text files into a count shard, which `train --from-counts`
    /// merges with others into a model
    Count(count::CountArgs),
    /// Generate text after a prompt; the text streams to stdout, statistics go to stderr
    Generate(commands::GenerateArgs),
    /// Perplexity of text files under a model (KenLM `query` definitions)
    Perplexity(commands::PerplexityArgs),
    /// The likeliest next words after a context, with their exact probabilities (word completion
    /// with --prefix)
    Predict(commands::PredictArgs),
    /// Per-token scores of a text, as KenLM's `query -v word` gives them
    Score(commands::ScoreArgs),
    /// Write a model as an ARPA back-off file
    ExportArpa(commands::ExportArpaArgs),
    /// Read an ARPA file (KenLM, SRILM, or export-arpa) into a model file
    ImportArpa(commands::ImportArpaArgs),
    /// Write a model's index image: a file that every command loads like the model file, in
    /// milliseconds and without building the index, about 4 times the file's size
    Image(commands::ImageArgs),
    /// Show what a model file holds: order, vocabulary, n-grams, size, training statistics
    Inspect(commands::InspectArgs),
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Command::Train(a) => a.json,
            Command::Count(a) => a.json,
            Command::Generate(a) => a.json,
            Command::Perplexity(a) => a.json,
            Command::Predict(a) => a.json,
            Command::Score(a) => a.json,
            Command::ExportArpa(a) => a.json,
            Command::ImportArpa(a) => a.json,
            Command::Image(a) => a.json,
            Command::Inspect(a) => a.json,
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.command.json();
    let result = match cli.command {
        Command::Train(a) => train::train(a),
        Command::Count(a) => count::count(a),
        Command::Generate(a) => commands::generate(a),
        Command::Perplexity(a) => commands::perplexity(a),
        Command::Predict(a) => commands::predict(a),
        Command::Score(a) => commands::score(a),
        Command::ExportArpa(a) => commands::export_arpa(a),
        Command::ImportArpa(a) => commands::import_arpa(a),
        Command::Image(a) => commands::image(a),
        Command::Inspect(a) => commands::inspect(a),
    };
    error::exit_code(result, json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
