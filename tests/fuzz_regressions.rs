//! Replays the fuzz targets' inputs under plain `cargo test` (stable, no cargo-fuzz): the
//! committed seed corpus (`fuzz/corpus/<target>/seed-*`) and every crasher the fuzzers found
//! (`fuzz/regressions/<target>/*`, minimized, each fixed in the crate). The checks are the fuzz
//! targets' own bodies (`fuzz/src/lib.rs`), so a regression replays exactly what failed.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz;

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable folder").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Runs `target`'s check on every file of `dir`, naming the file that fails.
fn replay(target: &str, paths: &[PathBuf]) {
    for path in paths {
        let data = std::fs::read(path).expect("a readable input");
        let outcome = std::panic::catch_unwind(|| fuzz::check(target, &data));
        if let Err(e) = outcome {
            std::panic::resume_unwind(Box::new(format!(
                "{target}: {} fails: {:?}",
                path.display(),
                e.downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
            )));
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn every_seed_passes_its_target() {
    for target in fuzz::TARGETS {
        let seeds: Vec<PathBuf> = files(&root().join("corpus").join(target))
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("seed-"))
            })
            .collect();
        // A missing or emptied seed folder would make this test pass on nothing.
        assert!(!seeds.is_empty(), "no seeds for {target}");
        replay(target, &seeds);
    }
}

#[test]
fn every_fuzz_crasher_stays_fixed() {
    let dir = root().join("regressions");
    // Each folder is a target's: a misnamed one would never be replayed.
    for entry in files(&dir).into_iter().chain(
        std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .map(|e| e.expect("a readable folder").path())
            .filter(|p| p.is_dir()),
    ) {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            entry.is_dir() && fuzz::TARGETS.contains(&name),
            "{} is not a target's folder",
            entry.display()
        );
    }
    for target in fuzz::TARGETS {
        replay(target, &files(&dir.join(target)));
    }
}
