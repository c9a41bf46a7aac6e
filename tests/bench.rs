//! End-to-end tests of the `uellm-bench` binary (the project benchmark) on the tiny corpus: the
//! benchmark's tables and JSON, and the `--generation-slices` mode the browser benchmark uses.
#![cfg(not(target_arch = "wasm32"))]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{command_of, p, run, run_with_stdin, tiny, train_tiny, Run, Tmp, UELLM_BENCH};

/// `uellm-bench ARGS`, not started yet.
fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command_of(UELLM_BENCH, args)
}

/// `uellm-bench ARGS` with nothing on stdin.
fn bench<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(command(args))
}

/// `uellm-bench ARGS` with `input` on stdin.
fn bench_stdin<I, S>(args: I, input: &[u8]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_stdin(command(args), input)
}

/// `uellm-bench tiny.txt --runs 1 --requests 20 --json-out OUT [extra]`: its stdout and JSON.
fn bench_tiny(out: &Path, extra: &[&str]) -> (String, Value) {
    let corpus = tiny();
    let mut args = vec![
        p(&corpus),
        OsStr::new("--runs"),
        OsStr::new("1"),
        OsStr::new("--requests"),
        OsStr::new("20"),
        OsStr::new("--json-out"),
        p(out),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let r = bench(args).ok();
    let doc = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    (r.stdout, doc)
}

#[test]
fn bench_runs_on_a_small_file_and_writes_json() {
    let tmp = Tmp::new("bench");
    let out = tmp.path("sub/bench.json");
    let (stdout, doc) = bench_tiny(&out, &[]);
    for needle in [
        "tiny.txt",
        "training at order 5",
        "dev-split perplexity",
        "targets",
    ] {
        assert!(stdout.contains(needle), "{needle}:\n{stdout}");
    }
    let c = &doc["corpora"][0];
    assert_eq!(c["file"], "tiny.txt");
    assert_eq!(c["runs"].as_array().unwrap().len(), 1);
    assert_eq!(c["generated_tokens"], 20 * 100);
    assert!(c["median"]["sampler_tokens_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(c["ngrams"].as_array().unwrap().len(), 5);
    assert_eq!(c["dev_split"].as_array().unwrap().len(), 2);
    assert!(doc["machine"]["nproc"].as_u64().unwrap() >= 1);
    assert_eq!(doc["settings"]["like_wasm"], false);

    // WebAssembly's conditions: the same model, said in the output and the JSON.
    let (stdout, like) = bench_tiny(&tmp.path("like.json"), &["--like-wasm"]);
    assert!(stdout.contains("--like-wasm: one thread"), "{stdout}");
    assert_eq!(like["settings"]["like_wasm"], true);
    assert_eq!(like["corpora"][0]["ngrams"], c["ngrams"]);
    assert_eq!(
        like["corpora"][0]["model_file_bytes"],
        c["model_file_bytes"]
    );

    bench([
        OsStr::new("--corpus"),
        p(&tmp.path("nowhere")),
        OsStr::new("--json-out"),
        p(&out),
    ])
    .fails_with(&["no benchmark corpus"]);
}

#[test]
fn bench_generation_slices_answer_each_line_with_json() {
    let tmp = Tmp::new("slices");
    let model = train_tiny(&tmp);
    let args = [OsStr::new("--generation-slices"), p(&model)];
    // From a folder without the benchmark corpus: the mode needs none.
    let mut c = command(args);
    c.current_dir(&tmp.0);
    let r = run_with_stdin(c, b"3 20 0\n\n10 5 100 4\n").ok();
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    let (a, b) = (&lines[0], &lines[1]);
    assert_eq!(
        (
            &a["requests"],
            &a["tokens_per_request"],
            &a["seed0"],
            &a["group"]
        ),
        (&3.into(), &20.into(), &0.into(), &1.into())
    );
    // No stop at a sentence end: every request makes all its tokens.
    assert_eq!(a["tokens"], 60);
    assert_eq!((&b["tokens"], &b["group"]), (&50.into(), &4.into()));
    for x in [a, b] {
        assert!(x["seconds"].as_f64().unwrap() > 0.0, "{x}");
        assert!(x["us_per_request"].as_f64().unwrap() > 0.0, "{x}");
    }

    // A malformed line ends the process with one error line, after the slices before it.
    for bad in [
        "2 20\n",
        "0 20 0\n",
        "2 20 0 0\n",
        "2 twenty 0\n",
        "2 0 0\n",
        // REQUESTS sizes a vector: a huge number is refused, not an abort.
        "18446744073709551615 5 0\n",
        "1000001 5 0\n",
    ] {
        let r = bench_stdin(args, format!("1 5 0\n{bad}").as_bytes());
        assert_eq!(r.stdout.lines().count(), 1, "{bad:?}: {}", r.stdout);
        r.fails_with(&["--generation-slices", "REQUESTS TOKENS SEED0"]);
    }
    bench_stdin(
        [
            OsStr::new("--generation-slices"),
            p(&tmp.path("missing.uelm")),
        ],
        b"1 5 0\n",
    )
    .fails_with(&["missing.uelm"]);
}

/// `--scale 1` on the tiny corpus: samples 1 MB of text, trains on it and loads the model, each
/// in a process of its own, and reports what they took; a second run reuses the text.
#[cfg(target_os = "linux")]
#[test]
fn bench_scale_trains_and_loads_a_model_of_sampled_text() {
    let tmp = Tmp::new("bench-scale");
    let out = tmp.0.join("scale.json");
    let corpus = tiny();
    let args = [
        p(&corpus),
        OsStr::new("--scale"),
        OsStr::new("1"),
        OsStr::new("--json-out"),
        p(&out),
    ];
    let r = bench(args).ok();
    assert!(r.stdout.contains("load peak memory"), "{}", r.stdout);
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let text_bytes = doc["text_bytes"].as_u64().unwrap();
    assert!((1_000_000..1_010_000).contains(&text_bytes), "{doc}");
    let load = &doc["load"];
    let patterns = load["patterns"].as_u64().unwrap();
    assert!(patterns > 100_000, "{doc}");
    // The model holds its index, file and vocabulary; the process held more while loading.
    let memory = load["memory_bytes"].as_u64().unwrap();
    assert!(memory > load["index_bytes"].as_u64().unwrap() + load["file_bytes"].as_u64().unwrap());
    assert!(load["peak_bytes"].as_u64().unwrap() > memory, "{doc}");
    assert!(doc["train"]["peak_bytes"].as_u64().unwrap() > 0);
    // The text is made once: a second run finds it (same size, same bytes).
    let text = std::path::PathBuf::from(doc["text_path"].as_str().unwrap());
    let before = std::fs::read(&text).unwrap();
    bench(args).ok();
    assert_eq!(std::fs::read(&text).unwrap(), before);
}
