//! End-to-end tests of the `uellm` binary: every subcommand on the tiny corpus, the `--json`
//! outputs, and the error paths (each must fail with one clear line on stderr, never a panic).
#![cfg(not(target_arch = "wasm32"))]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ultra_efficient_llm::{TrainOptions, Trainer};

mod common;
use common::{command_of, finish, p, run, run_with_stdin, tiny, train_tiny, Run, Tmp, UELLM};

const TINY: &str = include_str!("fixtures/corpus/tiny.txt");
const PROMPT: &str = "It is a truth";
/// KenLM's perplexity of `lmplz -o 3` on tiny.txt, scored on the same text
/// (`../shared/reference/README.md`).
const KENLM_TINY_O3_PPL: f64 = 9.6721;

fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command_of(UELLM, args)
}

fn uellm<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(command(args))
}

fn uellm_stdin<I, S>(args: I, input: &[u8]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_stdin(command(args), input)
}

#[test]
fn train_writes_the_library_model_and_generation_is_reproducible() {
    let tmp = Tmp::new("train");
    let model = train_tiny(&tmp);
    assert!(!tmp.path("tiny.uelm.tmp").exists());

    // The CLI reads in chunks; the model must be the one the library makes from the whole text.
    let mut t = Trainer::new(TrainOptions {
        max_pattern_length: 3,
        ..Default::default()
    })
    .unwrap();
    t.feed(TINY);
    assert!(std::fs::read(&model).unwrap() == t.finish().unwrap().to_bytes());

    let args = [
        OsStr::new("generate"),
        p(&model),
        OsStr::new(PROMPT),
        OsStr::new("--seed"),
        OsStr::new("42"),
        OsStr::new("--max-tokens"),
        OsStr::new("40"),
    ];
    let a = uellm(args).ok();
    let b = uellm(args).ok();
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.starts_with(PROMPT), "{}", a.stdout);
    assert!(a.stdout.len() > PROMPT.len() + 10, "{}", a.stdout);
    assert!(
        a.stderr.contains("seed 42") && a.stderr.contains("tokens/s"),
        "{}",
        a.stderr
    );
    assert!(a.stderr.contains("cache hit rate n/a"), "{}", a.stderr);

    // A shaped configuration is reproducible too, and reports its cache.
    let shaped = [
        "generate",
        "",
        "--seed",
        "7",
        "-t",
        "0.8",
        "-k",
        "40",
        "--no-stop",
        "-n",
        "30",
    ];
    let mut shaped: Vec<&OsStr> = shaped.iter().map(OsStr::new).collect();
    shaped[1] = p(&model);
    let a = uellm(&shaped).ok();
    assert_eq!(a.stdout, uellm(&shaped).ok().stdout);
    assert!(
        a.stderr.contains("30 tokens") && a.stderr.contains("shaped"),
        "{}",
        a.stderr
    );

    let human = uellm([OsStr::new("inspect"), p(&model)]).ok();
    for needle in [
        "order       3",
        "1-grams 1,697",
        "modified-kneser-ney",
        "discounts",
    ] {
        assert!(human.stdout.contains(needle), "{needle}:\n{}", human.stdout);
    }
}

#[test]
fn json_outputs_parse() {
    let tmp = Tmp::new("json");
    let model = tmp.path("m.uelm");
    let train = uellm([
        OsStr::new("train"),
        p(&tiny()),
        OsStr::new("-o"),
        p(&model),
        OsStr::new("--order"),
        OsStr::new("3"),
        OsStr::new("--json"),
    ])
    .ok()
    .json();
    assert_eq!(train["info"]["order"], 3);
    assert_eq!(train["info"]["ngrams"].as_array().unwrap().len(), 3);
    assert_eq!(train["bytes"], TINY.len());

    let args = [
        OsStr::new("generate"),
        p(&model),
        OsStr::new(PROMPT),
        OsStr::new("--seed"),
        OsStr::new("42"),
        OsStr::new("-n"),
        OsStr::new("40"),
    ];
    let g = uellm(args.iter().chain([&OsStr::new("--json")]))
        .ok()
        .json();
    assert_eq!(g["stats"]["seed"], 42);
    assert_eq!(
        g["stats"]["tokens"].as_u64().unwrap() as usize,
        g["tokens"].as_array().unwrap().len()
    );
    // The streamed text is the prompt and the same continuation.
    let streamed = uellm(args).ok().stdout;
    let text = g["text"].as_str().unwrap();
    assert_eq!(
        streamed.trim_end_matches('\n'),
        format!("{PROMPT}{text}").trim_end_matches('\n')
    );

    let info = uellm([OsStr::new("inspect"), p(&model), OsStr::new("--json")])
        .ok()
        .json();
    assert_eq!(info["order"], 3);
    assert_eq!(info["vocab_size"], 1697);
    assert_eq!(info["patterns"], 1697 + 6806 + 9801);
    assert!(info["bytes_per_ngram"].as_f64().unwrap() > 0.0);
    assert_eq!(info["training"]["options"]["max_pattern_length"], 3);

    let ppl = uellm([
        OsStr::new("perplexity"),
        p(&model),
        p(&tiny()),
        OsStr::new("--json"),
    ])
    .ok()
    .json();
    let f = &ppl["files"][0];
    assert_eq!(f["tokens"], 11_405);
    assert_eq!(f["oov"], 0);
    let got = f["perplexity"].as_f64().unwrap();
    assert!((got - KENLM_TINY_O3_PPL).abs() < 1e-3, "{got}");
    assert!(ppl["total"].is_null());
}

#[test]
fn perplexity_reads_stdin_and_totals_several_files() {
    let tmp = Tmp::new("ppl");
    let model = train_tiny(&tmp);
    let r = uellm_stdin(
        [OsStr::new("perplexity"), p(&model), OsStr::new("-")],
        TINY.as_bytes(),
    )
    .ok();
    assert!(
        r.stdout.contains("<stdin>") && r.stdout.contains("9.672"),
        "{}",
        r.stdout
    );

    let es = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/es-tiny.txt");
    let r = uellm([
        OsStr::new("perplexity"),
        p(&model),
        p(&tiny()),
        p(&es),
        OsStr::new("--json"),
    ])
    .ok()
    .json();
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let sum = files[0]["tokens"].as_u64().unwrap() + files[1]["tokens"].as_u64().unwrap();
    assert_eq!(r["total"]["tokens"].as_u64().unwrap(), sum);
    assert!(files[1]["oov"].as_u64().unwrap() > 0);
}

#[test]
fn arpa_export_import_round_trip() {
    let tmp = Tmp::new("arpa");
    let model = train_tiny(&tmp);
    let arpa = tmp.path("tiny.arpa");
    let back = tmp.path("back.uelm");
    uellm([
        OsStr::new("export-arpa"),
        p(&model),
        OsStr::new("-o"),
        p(&arpa),
    ])
    .ok();
    let text = std::fs::read_to_string(&arpa).unwrap();
    assert!(
        text.starts_with("\\data\\\nngram 1=1697\n"),
        "{}",
        &text[..40]
    );
    assert!(!tmp.path("tiny.arpa.tmp").exists());

    let r = uellm([
        OsStr::new("import-arpa"),
        p(&arpa),
        OsStr::new("-o"),
        p(&back),
        OsStr::new("--json"),
    ])
    .ok()
    .json();
    assert_eq!(r["info"]["smoothing"], "arpa");
    assert_eq!(r["info"]["patterns"], 1697 + 6806 + 9801);

    let ppl = |m: &Path| {
        uellm([
            OsStr::new("perplexity"),
            p(m),
            p(&tiny()),
            OsStr::new("--json"),
        ])
        .ok()
        .json()["files"][0]["perplexity"]
            .as_f64()
            .unwrap()
    };
    let (a, b) = (ppl(&model), ppl(&back));
    assert!((a - b).abs() / a < 1e-4, "{a} vs {b}");

    // KenLM's own file imports and scores as KenLM does.
    let kenlm = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kenlm/tiny.o3.arpa");
    let from_kenlm = tmp.path("kenlm.uelm");
    uellm([
        OsStr::new("import-arpa"),
        p(&kenlm),
        OsStr::new("-o"),
        p(&from_kenlm),
    ])
    .ok();
    let k = ppl(&from_kenlm);
    assert!((k - KENLM_TINY_O3_PPL).abs() < 1e-3, "{k}");
    let inspect = uellm([OsStr::new("inspect"), p(&from_kenlm)]).ok();
    assert!(inspect.stdout.contains("arpa"), "{}", inspect.stdout);
}

/// An index image stands in for its model file in every command, with the same results.
#[test]
fn index_images_load_in_place_of_model_files() {
    let tmp = Tmp::new("image");
    let model = train_tiny(&tmp);
    let image = tmp.path("tiny.img");
    let r = uellm([
        OsStr::new("image"),
        p(&model),
        OsStr::new("-o"),
        p(&image),
        OsStr::new("--json"),
    ])
    .ok()
    .json();
    let bytes = std::fs::metadata(&image).unwrap().len();
    assert_eq!(r["bytes"].as_u64(), Some(bytes));
    assert!(bytes > std::fs::metadata(&model).unwrap().len());
    let same = |args: &[&OsStr]| {
        let of = |m: &Path| {
            let mut a: Vec<&OsStr> = vec![args[0], p(m)];
            a.extend(&args[1..]);
            uellm(a).ok().stdout
        };
        assert_eq!(of(&model), of(&image), "{args:?}");
    };
    let tiny = tiny();
    same(&["generate", PROMPT, "--seed", "7", "-n", "40", "-k", "5"].map(OsStr::new));
    same(&[OsStr::new("perplexity"), p(&tiny)]);
    // An image of an image is the image.
    let again = tmp.path("again.img");
    uellm([OsStr::new("image"), p(&image), OsStr::new("-o"), p(&again)]).ok();
    assert_eq!(
        std::fs::read(&image).unwrap(),
        std::fs::read(&again).unwrap()
    );
    // A damaged image fails as a damaged model file does: one line, no panic.
    let mut junk = std::fs::read(&image).unwrap();
    let mid = junk.len() / 2;
    junk[mid] ^= 0x55;
    let bad = tmp.path("bad.img");
    std::fs::write(&bad, &junk).unwrap();
    let r = uellm([OsStr::new("inspect"), p(&bad)]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("bad.img"), "{}", r.stderr);
}

/// `predict` lists the library's predictions; `score` prints KenLM `query -v word`'s lines.
#[test]
fn predict_and_score() {
    let tmp = Tmp::new("predict");
    let model = train_tiny(&tmp);
    let r = uellm([
        OsStr::new("predict"),
        p(&model),
        OsStr::new("It is a"),
        OsStr::new("-k"),
        OsStr::new("3"),
        OsStr::new("--json"),
    ])
    .ok()
    .json();
    let m = ultra_efficient_llm::Model::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
    let want = m
        .predict(
            "It is a",
            &ultra_efficient_llm::PredictOptions {
                k: 3,
                ..Default::default()
            },
        )
        .unwrap();
    let got = r["predictions"].as_array().unwrap();
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["word"], w.word.as_str());
        assert_eq!(g["probability"].as_f64(), Some(w.probability));
    }
    let table = uellm([
        OsStr::new("predict"),
        p(&model),
        OsStr::new("she"),
        OsStr::new("--prefix"),
        OsStr::new("W"),
        OsStr::new("--ignore-case"),
    ])
    .ok();
    assert!(table.stdout.lines().skip(2).all(|l| l
        .split_whitespace()
        .nth(1)
        .is_some_and(|w| w.to_lowercase().starts_with('w'))));

    let input = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kenlm/tiny.o3.score-input.txt");
    let out = uellm([OsStr::new("score"), p(&model), p(&input)])
        .ok()
        .stdout;
    let kenlm = include_str!("fixtures/kenlm/tiny.o3.per-token.tsv");
    let want: Vec<&str> = kenlm.lines().filter(|l| !l.starts_with('#')).collect();
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        let (g, w): (Vec<&str>, Vec<&str>) = (g.split('\t').collect(), w.split('\t').collect());
        assert_eq!((g[0], g[1], g[2], g.get(4)), (w[0], w[1], w[2], w.get(4)));
        let (a, b): (f64, f64) = (g[3].parse().unwrap(), w[3].parse().unwrap());
        assert!((a - b).abs() < 1e-5, "{g:?} {w:?}");
    }
    let json = uellm([
        OsStr::new("score"),
        p(&model),
        p(&input),
        OsStr::new("--json"),
    ])
    .ok()
    .json();
    assert_eq!(json["sentences"].as_array().unwrap().len(), 16);
}

#[test]
fn bad_training_input_fails_cleanly_and_keeps_the_old_model() {
    let tmp = Tmp::new("badinput");
    let model = train_tiny(&tmp);
    let before = std::fs::read(&model).unwrap();
    let cases: [(&str, &[u8], &[&str]); 5] = [
        (
            "binary.dat",
            b"hello\0world\n",
            &["binary.dat", "not text", "NUL", "byte 5"],
        ),
        (
            "latin1.txt",
            b"caf\xe9 au lait\n",
            &["latin1.txt", "not text", "UTF-8", "byte 3"],
        ),
        ("cut.txt", b"ni\xc3", &["cut.txt", "not text", "UTF-8"]),
        ("empty.txt", b"", &["empty.txt", "empty"]),
        (
            "blank.txt",
            b"  \n\n\t\n",
            &["blank.txt", "no training text"],
        ),
    ];
    for (name, bytes, needles) in cases {
        let bad = tmp.write(name, bytes);
        let tiny = tiny();
        // A blank file is only an error alone; the others are errors after good text too.
        let mut args = vec![
            OsStr::new("train"),
            p(&tiny),
            p(&bad),
            OsStr::new("-o"),
            p(&model),
        ];
        if name == "blank.txt" {
            args.remove(1);
        }
        let r = uellm(&args);
        r.fails_with(needles);
        assert!(
            std::fs::read(&model).unwrap() == before,
            "{name} changed the model"
        );
        assert!(
            !tmp.path("tiny.uelm.tmp").exists(),
            "{name} left a temporary file"
        );
    }
    let missing = tmp.path("missing.txt");
    uellm([
        OsStr::new("train"),
        p(&missing),
        OsStr::new("-o"),
        p(&model),
    ])
    .fails_with(&["missing.txt", "no such file"]);
    uellm([
        OsStr::new("train"),
        p(&tiny()),
        OsStr::new("-o"),
        p(&tmp.path("no/such/dir/m.uelm")),
    ])
    .fails_with(&["does not exist"]);
    assert!(std::fs::read(&model).unwrap() == before);
}

#[test]
fn foreign_files_are_not_models() {
    let tmp = Tmp::new("junk");
    let junk = tmp.write("junk.bin", b"this is certainly not a model file\n");
    for cmd in ["inspect", "generate", "export-arpa", "perplexity"] {
        let mut args = vec![OsStr::new(cmd), p(&junk)];
        match cmd {
            "export-arpa" => args.extend([OsStr::new("-o"), OsStr::new("-")]),
            "perplexity" => args.push(p(&junk)),
            _ => {}
        }
        uellm(&args).fails_with(&["junk.bin", "not a model file"]);
    }
    let r = uellm([OsStr::new("inspect"), p(&junk), OsStr::new("--json")]);
    r.fails_with(&["not a model file"]);
    assert_eq!(r.json()["error"]["code"], "NOT_A_MODEL");

    // An ARPA file given as a model says what to do.
    let arpa = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kenlm/tiny.o3.arpa");
    uellm([OsStr::new("inspect"), p(&arpa)]).fails_with(&["not a model file", "import-arpa"]);
    // A truncated model.
    let model = train_tiny(&tmp);
    let bytes = std::fs::read(&model).unwrap();
    let cut = tmp.write("cut.uelm", &bytes[..bytes.len() / 2]);
    uellm([OsStr::new("inspect"), p(&cut)]).fails_with(&["cut.uelm", "truncated"]);
    // A model where an ARPA file is expected.
    let out = tmp.path("x.uelm");
    uellm([
        OsStr::new("import-arpa"),
        p(&junk),
        OsStr::new("-o"),
        p(&out),
    ])
    .fails_with(&["junk.bin", "ARPA"]);
    assert!(!out.exists());
    uellm([OsStr::new("inspect"), p(&tmp.path("nope.uelm"))])
        .fails_with(&["nope.uelm", "no such file"]);
    uellm([OsStr::new("inspect"), p(&tmp.0)]).fails_with(&["directory"]);
}

#[test]
fn option_and_usage_errors() {
    let tmp = Tmp::new("options");
    let model = train_tiny(&tmp);
    let r = uellm([
        OsStr::new("generate"),
        p(&model),
        OsStr::new("--temperature=-1"),
    ]);
    r.fails_with(&["--temperature", "≥ 0"]);
    // Temperature 0 is greedy: the same text whatever the seed.
    let greedy = |seed: &str| {
        uellm([
            OsStr::new("generate"),
            p(&model),
            OsStr::new(PROMPT),
            OsStr::new("--temperature"),
            OsStr::new("0"),
            OsStr::new("-s"),
            OsStr::new(seed),
        ])
        .ok()
        .stdout
    };
    assert_eq!(greedy("1"), greedy("2"));
    uellm([
        OsStr::new("generate"),
        p(&model),
        OsStr::new("--top-p"),
        OsStr::new("1.5"),
    ])
    .fails_with(&["--top-p"]);
    for size in ["18446744073709551615", "1000000000"] {
        uellm([
            OsStr::new("generate"),
            p(&model),
            OsStr::new("--top-k"),
            OsStr::new("5"),
            OsStr::new("--cache-size"),
            OsStr::new(size),
        ])
        .fails_with(&["--cache-size", "at most 1000000"]);
    }

    // Malformed command lines are clap's: exit status 2, no panic.
    for args in [
        vec!["train"],
        vec!["frobnicate"],
        vec!["train", "x.txt", "-o", "m", "--order", "0"],
        vec!["generate", "m", "--preset", "fastest"],
    ] {
        let r = uellm(&args);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
    }
    let help = uellm(["--help"]).ok().stdout;
    for sub in [
        "train",
        "generate",
        "perplexity",
        "export-arpa",
        "import-arpa",
        "inspect",
        "Exit status",
    ] {
        assert!(help.contains(sub), "{sub} not in --help");
    }
    // The benchmark is a binary of its own (`uellm-bench`, tests/bench.rs).
    assert!(!help.contains("bench"), "{help}");
    let r = uellm(["bench"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

/// The file names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn several_files_each_end_a_line() {
    let tmp = Tmp::new("manyfiles");
    let a = tmp.write("a.txt", b"the cat sat");
    let b = tmp.write("b.txt", b"on the mat\n");
    let model = tmp.path("m.uelm");
    uellm([
        OsStr::new("train"),
        p(&a),
        p(&b),
        OsStr::new("-o"),
        p(&model),
        OsStr::new("--order"),
        OsStr::new("2"),
    ])
    .ok();
    let m = ultra_efficient_llm::Model::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
    let vocab = m.vocab();
    assert!(vocab.get("sat").is_some() && vocab.get("on").is_some());
    assert_eq!(vocab.get("saton"), None);
    assert_eq!(m.info().training.as_ref().unwrap().sentences, 2);
}

#[test]
#[cfg(unix)]
fn outputs_are_replaced_safely() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = Tmp::new("outputs");
    let model = train_tiny(&tmp);
    let train_to = |out: &Path| {
        uellm([
            OsStr::new("train"),
            p(&tiny()),
            OsStr::new("-o"),
            p(out),
            OsStr::new("--order"),
            OsStr::new("2"),
        ])
        .ok()
    };
    // A file of the user's named like the old temporary file survives.
    let mine = tmp.write("tiny.uelm.tmp", b"my notes");
    // An existing model keeps its mode.
    std::fs::set_permissions(&model, std::fs::Permissions::from_mode(0o640)).unwrap();
    // A killed run's temporary file (no such process) goes; a live process's stays.
    let stale = tmp.write(".tiny.uelm.4194399-0.uellm-tmp", b"partial");
    let live = tmp.write(".tiny.uelm.1-0.uellm-tmp", b"being written");
    train_to(&model);
    assert_eq!(std::fs::read(&mine).unwrap(), b"my notes");
    let mode = std::fs::metadata(&model).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert!(!stale.exists(), "a stale temporary file was left");
    assert!(
        live.exists(),
        "another process's temporary file was removed"
    );
    std::fs::remove_file(&live).unwrap();
    assert_eq!(listing(&tmp.0), ["tiny.uelm", "tiny.uelm.tmp"]);
    let order2 = std::fs::read(&model).unwrap();

    // A symlink is followed: the link stays, the file it names is replaced.
    let real = tmp.path("real.uelm");
    std::fs::write(&real, b"old").unwrap();
    let link = tmp.path("link.uelm");
    std::os::unix::fs::symlink("real.uelm", &link).unwrap();
    train_to(&link);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), order2);
    // A symlink that leads nowhere is refused, naming the link.
    let dangling = tmp.path("dangling.uelm");
    std::os::unix::fs::symlink("no-such-dir/x.uelm", &dangling).unwrap();
    uellm([
        OsStr::new("train"),
        p(&tiny()),
        OsStr::new("-o"),
        p(&dangling),
    ])
    .fails_with(&["dangling.uelm", "symlink"]);
}

#[test]
#[cfg(unix)]
fn non_regular_outputs_are_written_through_or_refused() {
    let tmp = Tmp::new("nonregular");
    let model = train_tiny(&tmp);
    let want = std::fs::read(&model).unwrap();
    // A FIFO is written through (as root, it used to be replaced by a regular file).
    let fifo = tmp.path("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (sent, read) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || sent.send(std::fs::read(fifo).unwrap()));
    }
    uellm([
        OsStr::new("train"),
        p(&tiny()),
        OsStr::new("-o"),
        p(&fifo),
        OsStr::new("--order"),
        OsStr::new("3"),
    ])
    .ok();
    // A run that replaced the FIFO never writes to it: the reader would wait forever.
    let got = read.recv_timeout(std::time::Duration::from_secs(30));
    assert_eq!(got.expect("nothing was written to the FIFO"), want);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A socket is refused before any work, and stays.
    let sock = tmp.path("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    uellm([OsStr::new("train"), p(&tiny()), OsStr::new("-o"), p(&sock)]).fails_with(&[
        "sock",
        "a socket",
        "/dev/null",
    ]);
    assert!(std::fs::metadata(&sock).unwrap().file_type().is_socket());
    uellm([OsStr::new("train"), p(&tiny()), OsStr::new("-o"), p(&tmp.0)])
        .fails_with(&["is a directory"]);
}

#[test]
#[cfg(target_os = "linux")]
fn an_unwritable_output_fails_before_training() {
    // /proc takes no new file, even from root. Standard input stays open and silent: a run that
    // checked the output only after training would wait for it forever.
    let mut child = command(["train", "-", "-o", "/proc/uellm-test.uelm"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let t0 = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("uellm train waited for its input before checking its output");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(stdin);
    finish(child.wait_with_output().unwrap()).fails_with(&["/proc/uellm-test.uelm"]);
}

#[test]
fn concurrent_runs_to_one_output_leave_a_whole_model() {
    let tmp = Tmp::new("concurrent");
    let model = tmp.path("same.uelm");
    for _round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|i| {
                let order = (2 + i % 2).to_string();
                command([
                    OsStr::new("train"),
                    p(&tiny()),
                    OsStr::new("-o"),
                    p(&model),
                    OsStr::new("--order"),
                    OsStr::new(&order),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for c in children {
            finish(c.wait_with_output().unwrap()).ok();
        }
        let m = ultra_efficient_llm::Model::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
        assert!(matches!(m.info().order, 2 | 3));
        assert_eq!(listing(&tmp.0), ["same.uelm"]);
    }
}

/// Runs `uellm ARGS`, its output drained; returns its peak resident memory in KiB (from wait4,
/// so other tests' children do not count) and the bytes it wrote.
#[cfg(target_os = "linux")]
#[allow(clippy::zombie_processes)] // reaped by wait4, which std's Child cannot see
fn peak_kib(args: &[&OsStr]) -> (i64, u64) {
    let mut child = command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let drained = std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let mut status = 0;
    // SAFETY: a plain struct of integers, filled in by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: waits for our child, which std has not reaped (we never called wait on it).
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    (usage.ru_maxrss, drained)
}

/// [`peak_kib`] of `uellm generate MODEL -n TOKENS --no-stop -s 1`.
#[cfg(target_os = "linux")]
fn generate_peak_kib(model: &Path, tokens: usize) -> i64 {
    let n = tokens.to_string();
    let args = [
        OsStr::new("generate"),
        p(model),
        OsStr::new("-n"),
        OsStr::new(&n),
        OsStr::new("--no-stop"),
        OsStr::new("-s"),
        OsStr::new("1"),
    ];
    let (peak, drained) = peak_kib(&args);
    assert!(
        drained > tokens as u64,
        "{drained} bytes for {tokens} tokens"
    );
    peak
}

#[test]
#[cfg(target_os = "linux")]
fn streamed_generation_runs_in_constant_memory() {
    let tmp = Tmp::new("stream-memory");
    let model = train_tiny(&tmp);
    // Keeping each token cost about 60 bytes: 2 M tokens held over 100 MB more than 200 k.
    let small = generate_peak_kib(&model, 200_000);
    let large = generate_peak_kib(&model, 2_000_000);
    assert!(
        large - small < 32 * 1024,
        "peak {small} KiB for 200k tokens, {large} KiB for 2M"
    );
}

#[test]
fn json_to_a_reader_that_goes_away_exits_0() {
    let tmp = Tmp::new("json-pipe");
    let model = train_tiny(&tmp);
    // Megabytes of JSON: far more than a pipe holds, so writing meets the closed pipe.
    let mut child = command([
        OsStr::new("generate"),
        p(&model),
        OsStr::new("--json"),
        OsStr::new("-n"),
        OsStr::new("300000"),
        OsStr::new("--no-stop"),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    drop(child.stdout.take());
    let r = finish(child.wait_with_output().unwrap());
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(r.stderr, "");
}

#[test]
#[cfg(target_os = "linux")]
fn perplexity_streams_its_files() {
    let tmp = Tmp::new("ppl-memory");
    let model = train_tiny(&tmp);
    let big = TINY.repeat((8 << 20) / TINY.len() + 1);
    let a = tmp.write("a.txt", big.as_bytes());
    let b = tmp.write("b.txt", big.as_bytes());
    let small = tmp.write("small.txt", TINY.as_bytes());
    let ppl = OsStr::new("perplexity");
    let (base, _) = peak_kib(&[ppl, p(&model), p(&small), p(&small)]);
    // Holding both files and their concatenation for the total took 4 × 8 MB more.
    let (peak, _) = peak_kib(&[ppl, p(&model), p(&a), p(&b)]);
    assert!(
        peak - base < 12 * 1024,
        "peak {base} KiB for two small files, {peak} KiB for two of {} MB",
        big.len() >> 20
    );
}

#[test]
fn count_shards_merge_into_the_model_of_all_their_text() {
    let tmp = Tmp::new("shards");
    // Three pieces of the tiny corpus, the first without a last newline: each file's last line
    // ends with the file, in `count` as in `train`.
    let lines: Vec<&str> = TINY.lines().collect();
    let third = lines.len() / 3;
    let pieces = [
        lines[..third].join("\n"),
        lines[third..2 * third].join("\n") + "\n",
        lines[2 * third..].join("\n") + "\n",
    ];
    let mut texts = Vec::new();
    let mut shards = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let text = tmp.write(&format!("part{i}.txt"), piece.as_bytes());
        let shard = tmp.path(&format!("part{i}.cnt"));
        let r = uellm([
            OsStr::new("count"),
            p(&text),
            OsStr::new("-o"),
            p(&shard),
            OsStr::new("--order"),
            OsStr::new("4"),
            OsStr::new("--json"),
        ])
        .ok();
        let v = r.json();
        assert_eq!(v["order"], 4);
        assert_eq!(v["shard_bytes"], std::fs::metadata(&shard).unwrap().len());
        texts.push(text);
        shards.push(shard);
    }
    let whole = tmp.path("whole.uelm");
    let merged = tmp.path("merged.uelm");
    let mut args = vec![OsStr::new("train")];
    args.extend(texts.iter().map(|t| p(t)));
    args.extend([
        OsStr::new("-o"),
        p(&whole),
        OsStr::new("--order"),
        OsStr::new("4"),
    ]);
    args.extend([OsStr::new("--min-frequency"), OsStr::new("2")]);
    uellm(&args).ok();
    let mut args = vec![OsStr::new("train"), OsStr::new("--from-counts")];
    args.extend(shards.iter().map(|s| p(s)));
    args.extend([
        OsStr::new("-o"),
        p(&merged),
        OsStr::new("--min-frequency"),
        OsStr::new("2"),
    ]);
    let out = uellm(&args).ok();
    assert!(out.stdout.contains("3 files"), "{}", out.stdout);
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&whole).unwrap()
    );

    // A wrong order, a model given as a shard, text and shards at once.
    uellm([
        OsStr::new("train"),
        OsStr::new("--from-counts"),
        p(&shards[0]),
        OsStr::new("-o"),
        p(&merged),
        OsStr::new("--order"),
        OsStr::new("3"),
    ])
    .fails_with(&["part0.cnt", "--order", "up to 4 words"]);
    uellm([
        OsStr::new("train"),
        OsStr::new("--from-counts"),
        p(&shards[0]),
        p(&whole),
        OsStr::new("-o"),
        p(&merged),
    ])
    .fails_with(&["not a count shard", "model file", "shard 2 of 2"]);
    let r = uellm([
        OsStr::new("train"),
        p(&texts[0]),
        OsStr::new("--from-counts"),
        p(&shards[0]),
        OsStr::new("-o"),
        p(&merged),
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    // The failed runs left the model as it was.
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&whole).unwrap()
    );
}

#[test]
fn entropy_pruning_reaches_a_size() {
    let tmp = Tmp::new("entropy");
    let whole = tmp.path("whole.uelm");
    let small = tmp.path("small.uelm");
    let corpus = tiny();
    let train = |extra: &[&str], out: &Path| {
        let mut args = vec![OsStr::new("train"), p(&corpus), OsStr::new("-o"), p(out)];
        args.extend([OsStr::new("--order"), OsStr::new("4")]);
        args.extend(extra.iter().map(OsStr::new));
        uellm(&args)
    };
    train(&[], &whole).ok();
    let full = std::fs::metadata(&whole).unwrap().len();
    let target = full / 3;
    let out = train(&["--target-size", &target.to_string(), "--json"], &small).ok();
    let size = std::fs::metadata(&small).unwrap().len();
    assert!(
        size <= target && size > target * 9 / 10,
        "{size} for {target}"
    );
    let pruned = out.json()["info"]["training"]["pruned_patterns"]
        .as_u64()
        .unwrap();
    assert!(pruned > 0);
    // A size with a unit; a threshold; a bad one; two ways at once.
    let r = train(&["--target-size", "2KiB"], &small).ok();
    assert!(r.stdout.contains("--target-size 2048"), "{}", r.stdout);
    train(&["--prune-entropy", "1e-6"], &small).ok();
    train(&["--prune-entropy=-1"], &small).fails_with(&["--prune-entropy", "≥ 0"]);
    let r = train(
        &["--prune-entropy", "1e-6", "--target-ngrams", "10"],
        &small,
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

#[test]
fn counting_in_runs_within_a_memory_bound_makes_the_same_shard() {
    let tmp = Tmp::new("runs");
    let whole = tmp.path("whole.cnt");
    let runs = tmp.path("runs.cnt");
    let temp = tmp.path("temp");
    std::fs::create_dir(&temp).unwrap();
    let count = |out: &Path, memory: &str| {
        uellm([
            OsStr::new("count"),
            p(&tiny()),
            OsStr::new("-o"),
            p(out),
            OsStr::new("--order"),
            OsStr::new("4"),
            OsStr::new("--memory"),
            OsStr::new(memory),
            OsStr::new("--temp"),
            p(&temp),
            OsStr::new("--json"),
        ])
        .ok()
        .json()
    };
    assert_eq!(count(&whole, "1G")["runs"], 1);
    // About 200 tokens a run.
    let v = count(&runs, "12K");
    assert!(v["runs"].as_u64().unwrap() > 5, "{v}");
    assert_eq!(
        std::fs::read(&runs).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    // The runs are gone.
    assert_eq!(std::fs::read_dir(&temp).unwrap().count(), 0);
    uellm([
        OsStr::new("count"),
        p(&tiny()),
        OsStr::new("-o"),
        p(&runs),
        OsStr::new("--temp"),
        p(&tmp.path("missing")),
    ])
    .fails_with(&["missing", "does not exist"]);
}

#[test]
fn training_within_a_memory_bound_makes_the_same_model() {
    let tmp = Tmp::new("bounded");
    let corpus = tiny();
    let temp = tmp.path("temp");
    std::fs::create_dir(&temp).unwrap();
    let train = |out: &Path, extra: &[&OsStr]| {
        let mut args = vec![OsStr::new("train"), p(&corpus), OsStr::new("-o"), p(out)];
        args.extend([OsStr::new("--order"), OsStr::new("4")]);
        args.extend([OsStr::new("--min-frequency"), OsStr::new("2")]);
        args.extend(extra);
        uellm(&args)
    };
    let (whole, bounded) = (tmp.path("whole.uelm"), tmp.path("bounded.uelm"));
    train(&whole, &[]).ok();
    // A bound small enough that counting runs several times and every sort goes to files.
    let v = train(
        &bounded,
        &[
            OsStr::new("--memory"),
            OsStr::new("64K"),
            OsStr::new("--temp"),
            p(&temp),
            OsStr::new("--json"),
        ],
    )
    .ok()
    .json();
    assert!(v["runs"].as_u64().unwrap() > 2, "{v}");
    assert_eq!(
        std::fs::read(&bounded).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    assert_eq!(v["file_bytes"], std::fs::metadata(&whole).unwrap().len());
    assert_eq!(
        std::fs::read_dir(&temp).unwrap().count(),
        0,
        "temporary files left"
    );
    // Standard input, which the bound reads twice (through a copy in --temp).
    let text = std::fs::read(&corpus).unwrap();
    let from_stdin = tmp.path("stdin.uelm");
    uellm_stdin(
        [
            OsStr::new("train"),
            OsStr::new("-"),
            OsStr::new("-o"),
            p(&from_stdin),
            OsStr::new("--order"),
            OsStr::new("4"),
            OsStr::new("--min-frequency"),
            OsStr::new("2"),
            OsStr::new("--memory"),
            OsStr::new("64K"),
            OsStr::new("--temp"),
            p(&temp),
        ],
        &text,
    )
    .ok();
    assert_eq!(
        std::fs::read(&from_stdin).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    assert_eq!(std::fs::read_dir(&temp).unwrap().count(), 0);
    // From shards too; options the bound cannot take are refused before any work.
    let shard = tmp.path("all.cnt");
    uellm([
        OsStr::new("count"),
        p(&corpus),
        OsStr::new("-o"),
        p(&shard),
        OsStr::new("--order"),
        OsStr::new("4"),
    ])
    .ok();
    uellm([
        OsStr::new("train"),
        OsStr::new("--from-counts"),
        p(&shard),
        OsStr::new("-o"),
        p(&bounded),
        OsStr::new("--min-frequency"),
        OsStr::new("2"),
        OsStr::new("--memory"),
        OsStr::new("100K"),
    ])
    .ok();
    assert_eq!(
        std::fs::read(&bounded).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    let r = train(
        &bounded,
        &[
            OsStr::new("--memory"),
            OsStr::new("1M"),
            OsStr::new("--max-patterns"),
            OsStr::new("100"),
        ],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

#[test]
fn a_count_shard_is_not_taken_for_a_model() {
    let tmp = Tmp::new("shard-as-model");
    let shard = tmp.path("s.cnt");
    uellm([
        OsStr::new("count"),
        p(&tiny()),
        OsStr::new("-o"),
        p(&shard),
        OsStr::new("--order"),
        OsStr::new("2"),
    ])
    .ok();
    uellm([OsStr::new("inspect"), p(&shard)]).fails_with(&[
        "s.cnt",
        "count shard",
        "--from-counts",
    ]);
}
