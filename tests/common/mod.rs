//! Helpers shared by the tests of the binaries (`tests/cli.rs`, `tests/bench.rs`): temporary
//! folders, a finished run and its checks, the tiny corpus. Each test crate uses a part of them.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// A fresh directory under the system temporary folder, removed at the end of the test.
pub struct Tmp(pub PathBuf);

impl Tmp {
    pub fn new(name: &str) -> Tmp {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("uellm-test-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Tmp(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "uellm failed\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Exit status 1, one `error: ...` line on stderr that contains every `needle`, no panic.
    pub fn fails_with(&self, needles: &[&str]) {
        assert_eq!(self.code, Some(1), "stderr: {}", self.stderr);
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "{}",
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "want one line on stderr, got:\n{}",
            self.stderr
        );
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        for n in needles {
            assert!(lines[0].contains(n), "{:?} not in {:?}", n, lines[0]);
        }
    }
}

pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `command` with `input` on stdin.
pub fn run_with_stdin(mut command: Command, input: &[u8]) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    // A child that fails early may close its stdin before reading it all: not the test's error.
    let _ = child.stdin.take().unwrap().write_all(input);
    finish(child.wait_with_output().unwrap())
}

pub fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/tiny.txt")
}

pub fn p(path: &Path) -> &OsStr {
    path.as_os_str()
}

/// Runs `command` with nothing on stdin.
pub fn run(mut command: Command) -> Run {
    finish(
        command
            .stdin(Stdio::null())
            .output()
            .expect("run the binary"),
    )
}

/// The `uellm` binary.
pub const UELLM: &str = env!("CARGO_BIN_EXE_uellm");
/// The `uellm-bench` binary.
pub const UELLM_BENCH: &str = env!("CARGO_BIN_EXE_uellm-bench");

/// `BIN ARGS`, not started yet.
pub fn command_of<I, S>(bin: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(bin);
    c.args(args);
    c
}

/// Trains tiny.txt at order 3 into `DIR/tiny.uelm` (with `uellm train`).
pub fn train_tiny(tmp: &Tmp) -> PathBuf {
    let model = tmp.path("tiny.uelm");
    let corpus = tiny();
    let train = [
        OsStr::new("train"),
        p(&corpus),
        OsStr::new("-o"),
        p(&model),
        OsStr::new("--order"),
        OsStr::new("3"),
    ];
    run(command_of(UELLM, train)).ok();
    model
}
