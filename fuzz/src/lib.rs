//! The bodies of the fuzz targets, shared by the fuzz crate (`fuzz/fuzz_targets/*.rs`, one
//! line each) and the regression test (`tests/fuzz_regressions.rs`), which includes this file
//! with `#[path]`: a crasher is replayed under `cargo test` through exactly the checks that
//! found it, and the two can never drift apart.
//!
//! Every check takes the fuzzer's raw bytes. The crate's rule is "no panic on any input", so
//! each public call made here must return, and every property below is an `assert!`: a broken
//! one is a crash to the fuzzer and a failing test to `cargo test`.
//!
//! Only the crate's public API is used, so this file builds against the library unchanged.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use ultra_efficient_llm::format::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use ultra_efficient_llm::image::{IMAGE_MAGIC, IMAGE_VERSION};
use ultra_efficient_llm::shard::{SHARD_MAGIC, SHARD_VERSION};
use ultra_efficient_llm::tokenizer::{detokenize, is_word_char, tokenize, Detokenizer};
use ultra_efficient_llm::{
    CountShard, GenerateOptions, Model, Preset, StopReason, TrainOptions, Trainer, MAX_ORDER,
};

/// The targets, by the names of their files in `fuzz/fuzz_targets/` and of their folders in
/// `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: [&str; 7] = [
    "model_decoder",
    "model_body",
    "arpa_reader",
    "tokenizer",
    "options",
    "index_image",
    "count_shard",
];

/// Runs the check of `target` on `data`.
///
/// # Panics
/// When the check fails, or for an unknown target name.
pub fn check(target: &str, data: &[u8]) {
    match target {
        "model_decoder" => model_decoder(data),
        "model_body" => model_body(data),
        "arpa_reader" => arpa_reader(data),
        "tokenizer" => tokenizer(data),
        "options" => options(data),
        "index_image" => index_image(data),
        "count_shard" => count_shard(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// The model file decoder on arbitrary bytes: a typed error or a model that works.
pub fn model_decoder(data: &[u8]) {
    if let Ok(model) = Model::from_bytes(data) {
        // A model keeps the file it was loaded from: saving gives the same bytes back.
        assert_eq!(
            model.to_bytes(),
            data,
            "to_bytes differs from the loaded file"
        );
        exercise(&model);
    }
}

/// The decoder on arbitrary bodies: the input is sealed with a valid header and checksum, so
/// mutations reach the postcard body and the pattern-tree streams instead of dying at the
/// checksum (which a random mutation passes once in 2^32 tries).
pub fn model_body(body: &[u8]) {
    model_decoder(&seal(body))
}

/// `body` behind a valid header (magic, version, flags, length, CRC-32).
pub fn seal(body: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(HEADER_LEN + body.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&0u16.to_le_bytes());
    file.extend_from_slice(&(body.len() as u64).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    file.extend_from_slice(body);
    debug_assert_eq!(file.len(), HEADER_LEN + body.len());
    file
}

/// Index images (`Model::from_image`) on arbitrary bytes behind a valid image header: the input
/// is `meta length (u32 LE)`, `index length (u32 LE)`, then the meta, the model file and the
/// index, and gets a header with those lengths and a right checksum, so that mutations reach the
/// index's checks instead of dying at the checksum. A typed error, or a model that works and
/// makes the same image again.
pub fn index_image(data: &[u8]) {
    let Some(image) = image_of(data) else {
        return;
    };
    if let Ok(model) = Model::from_image(&image) {
        assert_eq!(
            model.to_image(),
            image,
            "to_image differs from the loaded image"
        );
        // An image's blocks are not checked, only read within bounds: bytes that pass its
        // checksum but were not made by `to_image` give a useless model, whose ARPA export need
        // not import again. Every query must still return.
        let opts = GenerateOptions {
            seed: Some(7),
            max_tokens: 16,
            ..Default::default()
        };
        let shaped = GenerateOptions {
            temperature: 0.8,
            top_k: 5,
            ..opts.clone()
        };
        for o in [&opts, &shaped] {
            let _ = model.generate("It is a", o);
        }
        let _ = model.perplexity("It is a truth universally acknowledged .");
        let _ = model.log10_prob(&["It", "is"], "a");
        let mut arpa = Vec::new();
        let _ = model.write_arpa(&mut arpa);
    }
}

/// The count shard reader on arbitrary bytes after a valid header and before a valid checksum
/// (so that the fuzzer explores the fields, not the checksum): a typed error, or counts that
/// write and read back the same, merge alone into the same bytes, and smooth into a model file
/// that loads (or a typed error).
pub fn count_shard(data: &[u8]) {
    let bytes = shard_of(data);
    let Ok(shard) = CountShard::from_bytes(&bytes) else {
        return;
    };
    let again = shard.to_bytes();
    assert_eq!(
        CountShard::from_bytes(&again).as_ref(),
        Ok(&shard),
        "a shard does not read back as written"
    );
    let mut merged = Vec::new();
    CountShard::merge_into([&bytes[..]], &mut merged).expect("a shard that reads merges");
    assert_eq!(merged, again, "a merge of one shard is not that shard");
    let opts = TrainOptions {
        max_pattern_length: shard.order(),
        ..Default::default()
    };
    if let Ok(file) = shard.into_file(&opts) {
        Model::from_bytes(&file.bytes).expect("a model made from counts loads");
    }
}

/// A count shard of the body `data`: the fixed header before it, its checksum after.
pub fn shard_of(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + data.len());
    out.extend_from_slice(SHARD_MAGIC);
    out.extend_from_slice(&SHARD_VERSION.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out
}

/// The index image whose meta, model file and index `data` holds (see [`index_image`]).
pub fn image_of(data: &[u8]) -> Option<Vec<u8>> {
    let len = |at: usize| Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?) as u64);
    let (meta, index) = (len(0)?, len(4)?);
    let rest = &data[8..];
    let file = (rest.len() as u64).checked_sub(meta.checked_add(index)?)?;
    let mut image = Vec::with_capacity(40 + rest.len());
    image.extend_from_slice(IMAGE_MAGIC);
    image.extend_from_slice(&IMAGE_VERSION.to_le_bytes());
    image.extend_from_slice(&0u16.to_le_bytes());
    image.extend_from_slice(&crc32fast::hash(rest).to_le_bytes());
    for l in [meta, index, file] {
        image.extend_from_slice(&l.to_le_bytes());
    }
    image.extend_from_slice(rest);
    Some(image)
}

/// The ARPA reader on arbitrary text (invalid UTF-8 replaced, so every input reaches the
/// parser): a typed error or a model that works.
pub fn arpa_reader(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(model) = Model::from_arpa(&text) {
        assert_eq!(model.info().smoothing, "arpa");
        exercise(&model);
    }
}

/// Python's `\s`, as the tokenizer documents it: Unicode `White_Space` plus U+001C..=U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The tokenizer and detokenizer on arbitrary text, with the properties their docs and unit
/// tests state.
pub fn tokenizer(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let tokens: Vec<&str> = tokenize(&text).collect();
    // `re.findall(r"\w+|[^\w\s]")` keeps every character that is not whitespace, in order,
    // in exactly one token, and only whitespace lies between tokens.
    let mut end = 0;
    for t in &tokens {
        // Tokens borrow from the text: their offsets are where they were found.
        let start = t.as_ptr() as usize - text.as_ptr() as usize;
        assert!(start >= end, "tokens out of order");
        assert!(
            text[end..start].chars().all(is_python_space),
            "skipped {:?}",
            &text[end..start]
        );
        end = start + t.len();
        let mut chars = t.chars();
        let first = chars.next().expect("tokens are never empty");
        if is_word_char(first) {
            assert!(t.chars().all(is_word_char), "mixed token {t:?}");
            // Word runs are maximal: no word character right before or after one.
            assert!(
                !text[..start].ends_with(is_word_char),
                "{t:?} starts mid-word"
            );
            assert!(
                !text[end..].starts_with(is_word_char),
                "{t:?} ends mid-word"
            );
        } else {
            assert!(
                chars.next().is_none(),
                "punctuation token {t:?} is one character"
            );
            assert!(!is_python_space(first), "whitespace token {t:?}");
        }
    }
    assert!(
        text[end..].chars().all(is_python_space),
        "the text's end was dropped"
    );
    // The detokenizer never glues two words (nor a word to a following word character), so
    // tokenizing its output gives the same tokens back (`random_strings_keep_the_invariants`).
    let joined = detokenize(tokens.iter().copied());
    let again: Vec<&str> = tokenize(&joined).collect();
    assert_eq!(again, tokens, "detokenized {joined:?}");
    // Streaming: the pieces concatenate to `detokenize`, and a detokenizer continuing any
    // prefix appends exactly the rest of the same text (the prompt + continuation contract).
    let mut d = Detokenizer::new();
    let pieces: String = tokens.iter().map(|t| d.piece(t)).collect();
    assert_eq!(pieces, joined);
    let splits: Vec<usize> = if tokens.len() <= 12 {
        (0..=tokens.len()).collect()
    } else {
        vec![tokens.len() / 3, tokens.len() / 2]
    };
    for k in splits {
        let mut text = detokenize(tokens[..k].iter().copied());
        let mut d = Detokenizer::continuing(tokens[..k].iter().copied());
        for t in &tokens[k..] {
            d.push_to(t, &mut text);
        }
        assert_eq!(text, joined, "continuing after {k} tokens");
    }
}

/// Options as the fuzzer builds them: any field of [`GenerateOptions`] over its whole type (so
/// out-of-range values reach `validate`), the others from a preset or the defaults, a prompt, a preset name, JSON configurations,
/// training options and a training text.
#[derive(Debug, Arbitrary)]
pub struct OptionsInput {
    max_tokens: Option<usize>,
    context_window: Option<usize>,
    seed: Option<u64>,
    temperature: Option<f64>,
    top_k: Option<usize>,
    top_p: Option<f64>,
    stop_at_sentence_end: Option<bool>,
    min_generated_tokens_ratio: Option<f64>,
    max_patterns_per_query: Option<usize>,
    max_backup_patterns: Option<usize>,
    activation_threshold: Option<f64>,
    frequency_normalization: Option<bool>,
    activation_cache_size: Option<usize>,
    /// Start from a preset (parsed from `preset`) rather than the defaults.
    use_preset: bool,
    preset: String,
    prompt: String,
    /// Token ids for `generate_ids`, which maps ids out of the vocabulary to `<unk>`.
    prompt_ids: Vec<u32>,
    generate_json: String,
    train_json: String,
    max_pattern_length: usize,
    min_frequency: u32,
    max_patterns: u64,
    train_text: String,
}

/// Most tokens any one generation here runs: a fuzzed `max_tokens` may be `usize::MAX`, which
/// the generator must accept; the token callback cancels at this many, so an input costs
/// microseconds whatever it asks for.
const TOKEN_BUDGET: usize = 48;

/// Training text beyond this is cut (at a character boundary) to keep an execution short.
const TRAIN_TEXT_MAX: usize = 2048;

/// Option parsing and validation, and generation and training with whatever validates, on a
/// small trained model: never a panic, and `validate` decides alone what is accepted.
pub fn options(data: &[u8]) {
    let Ok(input) = OptionsInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    // Preset names: exactly the three documented ones parse, and every preset is valid.
    match input.preset.parse::<Preset>() {
        Ok(p) => {
            assert!(
                ["development", "production", "high_performance"].contains(&input.preset.as_str())
            );
            GenerateOptions::preset(p)
                .validate()
                .expect("presets are valid");
        }
        Err(e) => assert_eq!(e.code(), "INVALID_OPTION"),
    }
    let base = match (input.use_preset, input.preset.parse::<Preset>()) {
        (true, Ok(p)) => GenerateOptions::preset(p),
        _ => GenerateOptions::default(),
    };
    let mut opts = base;
    if let Some(x) = input.max_tokens {
        opts.max_tokens = x;
    }
    if let Some(x) = input.context_window {
        opts.context_window = x;
    }
    // Always a given seed: a drawn one (`None`) would make a crash irreproducible.
    opts.seed = Some(input.seed.unwrap_or(0));
    if let Some(x) = input.temperature {
        opts.temperature = x;
    }
    if let Some(x) = input.top_k {
        opts.top_k = x;
    }
    if let Some(x) = input.top_p {
        opts.top_p = x;
    }
    if let Some(x) = input.stop_at_sentence_end {
        opts.stop_at_sentence_end = x;
    }
    if let Some(x) = input.min_generated_tokens_ratio {
        opts.min_generated_tokens_ratio = x;
    }
    if let Some(x) = input.max_patterns_per_query {
        opts.max_patterns_per_query = x;
    }
    if let Some(x) = input.max_backup_patterns {
        opts.max_backup_patterns = x;
    }
    if let Some(x) = input.activation_threshold {
        opts.activation_threshold = x;
    }
    if let Some(x) = input.frequency_normalization {
        opts.frequency_normalization = x;
    }
    if let Some(x) = input.activation_cache_size {
        opts.activation_cache_size = x;
    }
    let model = fixture_model();
    generate_checked(&model, &input.prompt, &opts);
    // A fresh model: `generate_ids` must not depend on what the first call cached.
    if opts.validate().is_ok() {
        let mut out = Vec::new();
        let stats = fixture_model()
            .generate_ids(&input.prompt_ids, &capped(&opts), &mut out)
            .expect("validated options are accepted");
        assert_eq!(stats.tokens, out.len());
    }

    // Configurations as JSON (the serde form of the options, unknown fields refused).
    if let Ok(o) = serde_json::from_str::<GenerateOptions>(&input.generate_json) {
        let o = GenerateOptions {
            seed: Some(o.seed.unwrap_or(0)),
            ..o
        };
        generate_checked(&fixture_model(), &input.prompt, &o);
    }
    if let Ok(t) = serde_json::from_str::<TrainOptions>(&input.train_json) {
        train_checked(
            t,
            "the cat sat on the mat.\nthe dog sat on the log.\n",
            &opts,
        );
    }

    let mut text = input.train_text.as_str();
    if text.len() > TRAIN_TEXT_MAX {
        let mut end = TRAIN_TEXT_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text = &text[..end];
    }
    let train = TrainOptions {
        max_pattern_length: input.max_pattern_length,
        min_frequency: input.min_frequency,
        max_patterns: input.max_patterns,
    };
    train_checked(train, text, &opts);
}

/// `opts` with `max_tokens` capped at [`TOKEN_BUDGET`], for calls without a token callback.
fn capped(opts: &GenerateOptions) -> GenerateOptions {
    GenerateOptions {
        max_tokens: opts.max_tokens.min(TOKEN_BUDGET),
        ..opts.clone()
    }
}

/// Generates with `opts`: an `INVALID_OPTION` error exactly when `validate` refuses them,
/// otherwise a result consistent with them, twice the same. `opts.seed` must be set (a drawn
/// seed differs from call to call).
fn generate_checked(model: &Model, prompt: &str, opts: &GenerateOptions) {
    let mut seen = 0usize;
    let result = model.generate_with(prompt, opts, |_, _| {
        seen += 1;
        seen < TOKEN_BUDGET
    });
    match (opts.validate(), result) {
        (Err(e), Err(g)) => {
            assert_eq!(e, g, "generate reports the error validate gives");
            assert_eq!(g.code(), "INVALID_OPTION");
        }
        (Ok(()), Ok(g)) => {
            assert_eq!(g.tokens.len(), g.stats.tokens);
            assert_eq!(g.stats.tokens, seen);
            assert!(g.stats.tokens <= opts.max_tokens.min(TOKEN_BUDGET));
            if let Some(seed) = opts.seed {
                assert_eq!(g.stats.seed, seed);
            }
            match g.stats.stop_reason {
                StopReason::MaxTokens => assert_eq!(g.stats.tokens, opts.max_tokens),
                StopReason::SentenceEnd => assert!(opts.stop_at_sentence_end),
                StopReason::Cancelled => assert_eq!(g.stats.tokens, TOKEN_BUDGET),
            }
            assert!(
                (0.0..=1.0).contains(&g.stats.sparsity),
                "{}",
                g.stats.sparsity
            );
            // The same seed and options give the same text, also when the second call finds
            // its distributions in the activation cache the first one filled.
            let mut n = 0usize;
            let again = model
                .generate_with(prompt, opts, |_, _| {
                    n += 1;
                    n < TOKEN_BUDGET
                })
                .expect("the same options are accepted twice");
            assert_eq!((&again.text, &again.tokens), (&g.text, &g.tokens));
        }
        (v, r) => panic!("validate says {v:?} but generate gave {r:?}"),
    }
}

/// Trains on `text` with `train` (an error exactly when the options are invalid or the text
/// has no token), then generates from the model with `opts`.
fn train_checked(train: TrainOptions, text: &str, opts: &GenerateOptions) {
    let valid = train.validate();
    let trainer = Trainer::new(train.clone());
    assert_eq!(valid.clone().err(), trainer.as_ref().err().cloned());
    let Ok(mut trainer) = trainer else {
        return;
    };
    trainer.feed(text);
    match trainer.finish() {
        Ok(model) => {
            assert!(model.info().order <= train.max_pattern_length);
            if train.max_patterns > 0 {
                // Unigrams are never dropped; beyond them the cap holds.
                let info = model.info();
                assert!(info.patterns <= train.max_patterns.max(info.ngrams[0]));
            }
            generate_checked(&model, text.lines().next().unwrap_or(""), opts);
            exercise(&model);
        }
        Err(e) => {
            assert_eq!(e.code(), "EMPTY_INPUT");
            assert_eq!(
                tokenize(text).next(),
                None,
                "training failed on {text:?}: {e}"
            );
        }
    }
}

/// A fresh copy of a small trained model (the first lines of the test corpus, order 4): fresh
/// so that no activation cache carries state from one input (or call) to the next, which would
/// make a crash depend on what ran before it. Loading it takes about 50 µs.
fn fixture_model() -> Model {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let corpus = include_str!("../../tests/fixtures/corpus/tiny.txt");
        let text: String = corpus.lines().take(20).flat_map(|l| [l, "\n"]).collect();
        let mut t = Trainer::new(TrainOptions {
            max_pattern_length: 4,
            ..Default::default()
        })
        .expect("valid options");
        t.feed(&text);
        t.finish().expect("the corpus trains").to_bytes()
    });
    Model::from_bytes(file).expect("a trained model's file loads")
}

/// What any loaded model must do: summarize itself, generate (exactly and shaped), score,
/// export ARPA, and save a file that loads back as the same model.
pub fn exercise(model: &Model) {
    let info = model.info();
    assert!(
        (1..=MAX_ORDER).contains(&info.order),
        "order {}",
        info.order
    );
    assert_eq!(info.ngrams.len(), info.order);
    assert_eq!(info.patterns, info.ngrams.iter().sum::<u64>());
    assert_eq!(info.vocab_size, model.vocab().len());
    let file = model.to_bytes();
    assert_eq!(info.file_bytes, file.len() as u64);
    // Words are tokens, as the tokenizer or an ARPA file's fields make them: the ARPA export
    // writes them separated by spaces, and a word with whitespace would not read back.
    for w in model.vocab().words() {
        assert!(
            !w.is_empty() && !w.contains(char::is_whitespace),
            "vocabulary word {w:?}"
        );
    }

    // A prompt and a text from the model's own words, so contexts match, and a fixed one.
    let own: Vec<&str> = model.vocab().words().skip(3).take(4).collect();
    let own = own.join(" ");
    for prompt in ["It is a", own.as_str()] {
        for opts in [
            GenerateOptions {
                seed: Some(7),
                max_tokens: 8,
                ..Default::default()
            },
            GenerateOptions {
                seed: Some(7),
                max_tokens: 8,
                temperature: 0.7,
                top_k: 3,
                top_p: 0.9,
                stop_at_sentence_end: false,
                ..Default::default()
            },
        ] {
            let g = model
                .generate(prompt, &opts)
                .expect("valid options are accepted");
            assert!(g.stats.tokens <= 8);
            assert_eq!(g.tokens.len(), g.stats.tokens);
        }
    }
    let text = format!("It is a truth.\n\n{own}\n{own} {own} .");
    let ppl = model.perplexity(&text);
    let expected: u64 = text
        .lines()
        .map(|l| tokenize(l).count() as u64)
        .filter(|&n| n > 0)
        .map(|n| n + 1)
        .sum();
    assert_eq!(
        ppl.tokens, expected,
        "one score per token and per sentence end"
    );
    assert!(ppl.oov <= ppl.tokens);
    let _ = model.log10_prob(&["It", "is"], "a");

    let mut arpa = Vec::new();
    model
        .write_arpa(&mut arpa)
        .expect("writing into a Vec cannot fail");
    let arpa = String::from_utf8(arpa).expect("the ARPA export is UTF-8");
    // Every export imports again (and so into KenLM): finite log10 probabilities never above
    // 0, finite back-offs, words without whitespace.
    if let Err(e) = Model::from_arpa(&arpa) {
        panic!("the ARPA export does not import again: {e}");
    }

    let again = Model::from_bytes(&file).expect("a model's own file loads");
    assert_eq!(again.to_bytes(), file, "the file does not round-trip");
    let (a, b) = (again.info(), info);
    assert_eq!(
        (
            a.order,
            a.vocab_size,
            &a.ngrams,
            a.patterns,
            a.contexts,
            &a.smoothing
        ),
        (
            b.order,
            b.vocab_size,
            &b.ngrams,
            b.patterns,
            b.contexts,
            &b.smoothing
        )
    );
}
