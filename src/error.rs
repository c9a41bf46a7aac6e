//! The one error type of the core.
//!
//! Every fallible operation of the model returns [`Error`]. Each variant has a stable
//! machine-readable [`Error::code`] so that the JavaScript boundary, the CLI's `--json` output and
//! tests can match on it without parsing messages. Messages are lowercase and say what to do.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in training, generation, evaluation and (de)serialization.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not of the kind expected (a model file, an index image, a count shard):
    /// their first bytes are not its magic bytes. The message says what they are instead.
    #[error("{0}")]
    NotAModel(String),

    /// The file is a model file of a format version this build cannot read.
    #[error(
        "unsupported model format version {found} (this build reads version {expected}); {hint}"
    )]
    UnsupportedVersion {
        /// Version written in the file.
        found: u16,
        /// Version this build reads and writes.
        expected: u16,
        /// What to do about it.
        hint: &'static str,
    },

    /// The file ends before the length its header announces.
    #[error("model file is truncated: expected {expected} bytes, found {found}; the copy is incomplete, save or download it again")]
    Truncated {
        /// Total bytes the header announces.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },

    /// The checksum does not match, or the body is inconsistent: of a model file, or of a count
    /// shard (a message that starts with `count shard: `).
    #[error("{}", corrupted_message(.0))]
    Corrupted(String),

    /// An option is out of its valid range.
    #[error("invalid option `{name}`: {reason}")]
    InvalidOption {
        /// Option name as documented.
        name: &'static str,
        /// Why the value is rejected.
        reason: String,
    },

    /// Training saw no token at all.
    #[error("no training text: the input has no words; give at least one non-empty line of text")]
    EmptyInput,

    /// Training input is not text.
    #[error("input is not text: {0}")]
    NotText(String),

    /// An ARPA file could not be parsed.
    #[error("invalid ARPA file at line {line}: {reason}")]
    Arpa {
        /// 1-based line number.
        line: usize,
        /// What is wrong there.
        reason: String,
    },

    /// The input or model is beyond a limit of this build (32-bit ids and offsets).
    #[error("too large: {what}; this build's limit is {limit}: train on less text, a lower order or with pruning (min_frequency, max_patterns)")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// The limit, in words.
        limit: &'static str,
    },

    /// Reading or writing a stream failed (a count shard's file, for instance).
    #[error("input/output error: {0}")]
    Io(String),

    /// An invariant of the code itself failed: a bug, not a problem of the input.
    #[error("internal error: {0}; this is a bug in ultra-efficient-llm, please report it with the input that caused it")]
    Internal(String),
}

/// What [`Error::Corrupted`] says: of a model file, or of a count shard (whose messages start
/// with `count shard: `).
fn corrupted_message(what: &str) -> String {
    match what.strip_prefix("count shard: ") {
        Some(rest) => format!(
            "count shard is corrupted: {rest}; count its text again or restore it from a good copy"
        ),
        None => format!(
            "model file is corrupted: {what}; the model cannot be loaded, retrain or restore it from a good copy"
        ),
    }
}

impl Error {
    /// A stable identifier for the kind of error, e.g. `"CORRUPTED"`.
    ///
    /// These strings are part of the public API (JavaScript `error.code`, CLI JSON output) and do
    /// not change between versions.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAModel(_) => "NOT_A_MODEL",
            Error::UnsupportedVersion { .. } => "UNSUPPORTED_VERSION",
            Error::Truncated { .. } => "TRUNCATED",
            Error::Corrupted(_) => "CORRUPTED",
            Error::InvalidOption { .. } => "INVALID_OPTION",
            Error::EmptyInput => "EMPTY_INPUT",
            Error::NotText(_) => "NOT_TEXT",
            Error::Arpa { .. } => "INVALID_ARPA",
            Error::TooLarge { .. } => "TOO_LARGE",
            Error::Io(_) => "IO_ERROR",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// A stable `PascalCase` name, used as the JavaScript `Error.name`.
    pub fn name(&self) -> &'static str {
        match self {
            Error::NotAModel(_) => "NotAModelError",
            Error::UnsupportedVersion { .. } => "UnsupportedVersionError",
            Error::Truncated { .. } => "TruncatedError",
            Error::Corrupted(_) => "CorruptedError",
            Error::InvalidOption { .. } => "InvalidOptionError",
            Error::EmptyInput => "EmptyInputError",
            Error::NotText(_) => "NotTextError",
            Error::Arpa { .. } => "ArpaError",
            Error::TooLarge { .. } => "TooLargeError",
            Error::Io(_) => "IoError",
            Error::Internal(_) => "InternalError",
        }
    }

    pub(crate) fn corrupted(what: impl Into<String>) -> Self {
        Error::Corrupted(what.into())
    }

    pub(crate) fn io(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }

    pub(crate) fn internal(what: impl Into<String>) -> Self {
        Error::Internal(what.into())
    }

    pub(crate) fn option(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidOption {
            name,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_distinct() {
        let all = [
            Error::NotAModel(String::new()),
            Error::UnsupportedVersion {
                found: 9,
                expected: 1,
                hint: "",
            },
            Error::Truncated {
                expected: 1,
                found: 0,
            },
            Error::Corrupted(String::new()),
            Error::option("x", ""),
            Error::EmptyInput,
            Error::NotText(String::new()),
            Error::Arpa {
                line: 1,
                reason: String::new(),
            },
            Error::TooLarge {
                what: "x",
                limit: "y",
            },
            Error::Io(String::new()),
            Error::Internal(String::new()),
        ];
        let mut codes: Vec<_> = all.iter().map(Error::code).collect();
        let mut names: Vec<_> = all.iter().map(Error::name).collect();
        codes.sort_unstable();
        codes.dedup();
        names.sort_unstable();
        names.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn corruption_says_what_was_damaged() {
        let model = Error::corrupted("bad level table").to_string();
        assert!(
            model.starts_with("model file is corrupted: bad level table; "),
            "{model}"
        );
        let shard = Error::corrupted("count shard: a word is not UTF-8").to_string();
        assert!(
            shard.starts_with("count shard is corrupted: a word is not UTF-8; count its text"),
            "{shard}"
        );
    }

    #[test]
    fn version_message_says_what_to_do() {
        let e = Error::UnsupportedVersion {
            found: 7,
            expected: 1,
            hint: "upgrade ultra-efficient-llm",
        };
        let msg = e.to_string();
        assert!(msg.contains('7') && msg.contains("upgrade"), "{msg}");
    }
}
