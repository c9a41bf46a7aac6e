//! The error of a command, [`CliError`], and how a binary ends with it.
//!
//! Shared by both binaries: `uellm` (as `cli::error`) and `uellm-bench`, which includes this
//! file, `files.rs` and `report.rs` by path (`src/bin/uellm-bench/main.rs`), so that the two
//! report failures alike: one line on stderr, a JSON object on stdout with `--json`, status 1.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use ultra_efficient_llm::Error;

use super::report;

/// The code of a write to a closed standard output (`| head`): not a failure.
const BROKEN_PIPE: &str = "BROKEN_PIPE";

/// The exit status of a command's `result`: success, also when the reader of standard output
/// went away (`| head`: nothing is left to say to it); otherwise the error is printed (see
/// [`CliError::print`]) and the status is 1.
pub fn exit_code(result: Result<(), CliError>, json: bool) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.code == BROKEN_PIPE => ExitCode::SUCCESS,
        Err(e) => {
            e.print(json);
            ExitCode::FAILURE
        }
    }
}

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

    /// Prints the error: one line on stderr, and with `json` also a JSON object on stdout.
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
        "prune_entropy" => "--prune-entropy / --target-size / --target-ngrams",
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
