//! Browser tests shared by `tests/wasm.rs` (a page) and `tests/wasm_worker.rs` (a dedicated
//! worker): each of those files picks the context and includes this module.
//!
//! The JavaScript API is called through its Rust wrappers (`WasmModel`, `WasmTrainer` and the
//! free functions), with options built as plain JavaScript objects, so what is tested is what a
//! JavaScript caller gets: camelCase objects and `Error`s with `name` and `code`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm::{clock, format, GenerateOptions, Model, TrainOptions, Trainer};
use ultra_efficient_llm_wasm::{self as js, WasmModel, WasmTrainer};

const TINY: &str = include_str!("../../../../tests/fixtures/corpus/tiny.txt");
const ES_TINY: &str = include_str!("../../../../tests/fixtures/corpus/es-tiny.txt");
/// Made by KenLM's `lmplz -o 3` from `tiny.txt`.
const TINY_O3_ARPA: &str = include_str!("../../../../tests/fixtures/kenlm/tiny.o3.arpa");
/// Written by the native golden test (`tests/golden.rs`): the browser must generate the same.
const TINY_O3_SEED42: &str = include_str!("../../../../tests/fixtures/tiny-o3.seed42.txt");
const PROMPT: &str = "It is a truth";

/// `wasm-bindgen-test` does not run the module's `#[wasm_bindgen(start)]` function, so each test
/// installs the clock itself (idempotent).
fn setup() {
    js::install_clock();
}

fn tiny_o3() -> Model {
    let mut t = Trainer::new(TrainOptions {
        max_pattern_length: 3,
        ..Default::default()
    })
    .unwrap();
    t.feed(TINY);
    t.finish().unwrap()
}

/// A plain JavaScript object with these properties (built without `eval` or JSON).
fn obj(props: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (key, value) in props {
        Reflect::set(&o, &JsValue::from_str(key), value).unwrap();
    }
    o.into()
}

/// A `Uint8Array` of `bytes`, as the bindings' byte parameters take.
fn b(bytes: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(bytes).into()
}

/// A JavaScript string, as the bindings' string parameters take.
fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

fn num(n: f64) -> JsValue {
    JsValue::from_f64(n)
}

fn order3() -> JsValue {
    obj(&[("maxPatternLength", num(3.0))])
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

fn get_f64(target: &JsValue, key: &str) -> f64 {
    get(target, key)
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number"))
}

fn get_str(target: &JsValue, key: &str) -> String {
    get(target, key)
        .as_string()
        .unwrap_or_else(|| panic!("`{key}` is not a string"))
}

/// The own property names of an object, sorted.
fn keys(value: &JsValue) -> Vec<String> {
    let mut k: Vec<String> = Object::keys(value.unchecked_ref::<Object>())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    k.sort_unstable();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    v.sort_unstable();
    v
}

/// Asserts that `err` is a JavaScript `Error` with the given `name` and `code`; returns its
/// message.
fn assert_js_error(err: &JsValue, name: &str, code: &str) -> String {
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "not an Error: {err:?}"
    );
    assert_eq!(get(err, "name").as_string().as_deref(), Some(name));
    assert_eq!(get(err, "code").as_string().as_deref(), Some(code));
    let message = String::from(err.unchecked_ref::<js_sys::Error>().message());
    assert!(!message.is_empty());
    message
}

fn assert_invalid_option(err: &JsValue, mentions: &str) {
    let message = assert_js_error(err, "InvalidOptionError", "INVALID_OPTION");
    assert!(message.contains(mentions), "{message:?} lacks {mentions:?}");
}

/// The `(piece, token)` pairs an `onToken` callback received.
type Calls = Rc<RefCell<Vec<(String, String)>>>;
/// A Rust closure callable from JavaScript as `onToken`; `Err` throws.
type OnToken = Closure<dyn FnMut(String, String) -> Result<JsValue, JsValue>>;

/// An `onToken` callback that records `(piece, token)` and returns `answer(count so far)`.
fn recorder(answer: impl Fn(usize) -> Result<JsValue, JsValue> + 'static) -> (OnToken, Calls) {
    let calls: Calls = Rc::default();
    let seen = Rc::clone(&calls);
    let closure = OnToken::new(move |piece: String, token: String| {
        seen.borrow_mut().push((piece, token));
        let n = seen.borrow().len();
        answer(n)
    });
    (closure, calls)
}

#[wasm_bindgen_test]
fn seeded_generation_matches_the_native_golden_text() {
    setup();
    let model = tiny_o3();
    let opts = GenerateOptions {
        seed: Some(42),
        max_tokens: 40,
        ..Default::default()
    };
    let out = model.generate(PROMPT, &opts).unwrap();
    assert_eq!(out.text, TINY_O3_SEED42);
    assert_eq!(out.stats.seed, 42);
    assert!(out.stats.tokens > 0);
    // The clock is installed: performance.now() of this global scope, never the 0 fallback.
    assert!(clock::now_ms() > 0.0);
    assert!(out.stats.elapsed_ms.is_finite() && out.stats.elapsed_ms >= 0.0);
    assert!(out.stats.tokens_per_second.is_finite() && out.stats.tokens_per_second >= 0.0);
}

#[wasm_bindgen_test]
fn clock_is_monotonic_and_advances() {
    setup();
    let a = clock::now_ms();
    let mut b = a;
    // performance.now() is coarsened (100 µs in Chromium): spin until it moves, with a bound.
    for _ in 0..10_000_000 {
        b = clock::now_ms();
        if b > a {
            break;
        }
    }
    assert!(a > 0.0 && b > a, "{a} -> {b}");
}

#[wasm_bindgen_test]
fn model_bytes_round_trip_and_load_errors_are_typed() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let bytes = model.to_bytes();
    assert_eq!(bytes, tiny_o3().to_bytes());
    let again = WasmModel::from_bytes(b(&bytes), JsValue::UNDEFINED).unwrap();
    assert_eq!(again.to_bytes(), bytes);
    assert_eq!(again.model().info(), model.model().info());

    let err = WasmModel::from_bytes(b(b"junk"), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");
    let err = WasmModel::from_bytes(b(&[]), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");
    let err = WasmModel::from_bytes(b(&bytes[..bytes.len() / 2]), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "TruncatedError", "TRUNCATED");
    let err = WasmModel::from_bytes(b(&bytes[..10]), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "TruncatedError", "TRUNCATED");

    // A file of a future format version: bytes 8..10 hold the version, little-endian.
    let mut future = bytes.clone();
    future[8..10].copy_from_slice(&(format::FORMAT_VERSION + 1).to_le_bytes());
    let err = WasmModel::from_bytes(b(&future), JsValue::UNDEFINED).unwrap_err();
    let message = assert_js_error(&err, "UnsupportedVersionError", "UNSUPPORTED_VERSION");
    assert!(message.contains("upgrade"), "{message}");

    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let err = WasmModel::from_bytes(b(&flipped), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "CorruptedError", "CORRUPTED");

    // checkHeader reads the header only: the same typed errors for junk, truncated and future
    // files; a damaged body passes it (fromBytes finds it).
    let check = |b: &[u8]| WasmModel::check_header(js_sys::Uint8Array::from(b).into());
    check(&bytes).unwrap();
    check(&flipped).unwrap();
    for (b, name, code) in [
        (&b"junk"[..], "NotAModelError", "NOT_A_MODEL"),
        (&[][..], "NotAModelError", "NOT_A_MODEL"),
        (&bytes[..bytes.len() / 2], "TruncatedError", "TRUNCATED"),
        (&bytes[..10], "TruncatedError", "TRUNCATED"),
        (
            &future[..],
            "UnsupportedVersionError",
            "UNSUPPORTED_VERSION",
        ),
    ] {
        assert_js_error(&check(b).unwrap_err(), name, code);
    }
}

#[wasm_bindgen_test]
fn camel_case_options_are_accepted_and_unknown_keys_rejected() {
    setup();
    // Training options.
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    assert_eq!(get_f64(&model.info().unwrap(), "order"), 3.0);
    let trainer = WasmTrainer::new(obj(&[
        ("maxPatternLength", num(2.0)),
        ("minFrequency", num(1.0)),
        ("maxPatterns", num(0.0)),
    ]))
    .unwrap();
    assert_eq!(trainer.bytes_seen(), 0.0);
    // `undefined`/`null` mean the defaults, for the object or one field.
    WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    WasmTrainer::new(JsValue::NULL).unwrap();
    WasmTrainer::new(obj(&[("maxPatternLength", JsValue::NULL)])).unwrap();

    for (bad, mentions) in [
        (
            obj(&[("max_pattern_length", num(3.0))]),
            "max_pattern_length",
        ),
        (obj(&[("order", num(3.0))]), "order"),
        (obj(&[("maxPatternLength", num(0.0))]), "maxPatternLength"),
        (obj(&[("minFrequency", num(0.0))]), "minFrequency"),
        (obj(&[("maxPatternLength", num(2.5))]), "`maxPatternLength`"),
        (
            obj(&[("maxPatternLength", "3".into())]),
            "`maxPatternLength`",
        ),
        (num(3.0), "options"),
    ] {
        let err = WasmTrainer::new(bad.clone()).map(|_| ()).unwrap_err();
        assert_invalid_option(&err, mentions);
        let err = WasmModel::train(s(TINY), bad).unwrap_err();
        assert_invalid_option(&err, mentions);
    }

    // Generation options: every camelCase name is known.
    let all = obj(&[
        ("maxTokens", num(40.0)),
        ("contextWindow", num(6.0)),
        ("seed", num(42.0)),
        ("temperature", num(1.0)),
        ("topK", num(0.0)),
        ("topP", num(1.0)),
        ("stopAtSentenceEnd", JsValue::TRUE),
        ("minGeneratedTokensRatio", num(0.0)),
        ("maxPatternsPerQuery", num(1000.0)),
        ("maxBackupPatterns", num(200.0)),
        ("activationThreshold", num(0.0)),
        ("frequencyNormalization", JsValue::TRUE),
        ("activationCacheSize", num(1000.0)),
    ]);
    let out = model.generate(s(PROMPT), all, JsValue::UNDEFINED).unwrap();
    assert_eq!(get_str(&out, "text"), TINY_O3_SEED42);
    // A preset is applied first, then the fields set override it.
    let preset = obj(&[
        ("preset", "high_performance".into()),
        ("seed", num(42.0)),
        ("maxTokens", num(40.0)),
    ]);
    let out = model.generate(s(PROMPT), preset, JsValue::NULL).unwrap();
    assert_eq!(get_str(&out, "text"), TINY_O3_SEED42);
    let shaped = obj(&[("preset", "development".into()), ("topK", num(5.0))]);
    let out = model.generate(s(PROMPT), shaped, JsValue::NULL).unwrap();
    assert_eq!(get(&get(&out, "stats"), "exact"), JsValue::FALSE);
    // Temperature 0 is greedy, as WebLLM's is: the same text whatever the seed.
    let greedy = |seed: f64| {
        let opts = obj(&[("temperature", num(0.0)), ("seed", num(seed))]);
        get_str(
            &model.generate(s(PROMPT), opts, JsValue::NULL).unwrap(),
            "text",
        )
    };
    assert_eq!(greedy(1.0), greedy(2.0));

    for (bad, mentions) in [
        (obj(&[("max_tokens", num(5.0))]), "max_tokens"),
        (obj(&[("maxTokenz", num(5.0))]), "maxTokenz"),
        (obj(&[("temperature", num(-1.0))]), "temperature"),
        (obj(&[("topP", num(2.0))]), "topP"),
        (obj(&[("contextWindow", num(0.0))]), "contextWindow"),
        (
            obj(&[("activationThreshold", num(1.0))]),
            "activationThreshold",
        ),
        (obj(&[("preset", "fast".into())]), "fast"),
        // The cache grows lazily, but an absurd size is a mistake, not a request.
        (
            obj(&[("activationCacheSize", num(1e9)), ("topK", num(5.0))]),
            "activationCacheSize",
        ),
        (
            obj(&[("activationCacheSize", num(1.8446744073709552e19))]),
            "activationCacheSize",
        ),
        (obj(&[("seed", num(-1.0))]), "`seed`"),
        (obj(&[("seed", num(1.5))]), "`seed`"),
        (obj(&[("seed", num(9_007_199_254_740_992.0))]), "`seed`"),
        // A BigInt seed is read, but stats.seed must stay a number: at most 2^53 - 1.
        (obj(&[("seed", JsValue::from(1u64 << 53))]), "`seed`"),
        (
            obj(&[("stopAtSentenceEnd", num(1.0))]),
            "`stopAtSentenceEnd`",
        ),
    ] {
        let err = model
            .generate(s(PROMPT), bad, JsValue::UNDEFINED)
            .unwrap_err();
        assert_invalid_option(&err, mentions);
    }
    let err = model
        .generate(s(PROMPT), JsValue::UNDEFINED, num(1.0))
        .unwrap_err();
    assert_invalid_option(&err, "onToken");

    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    for bad in [-1.0, 1.5, f64::NAN, 1e300] {
        let err = trainer.set_total_bytes(bad).unwrap_err();
        assert_invalid_option(&err, "totalBytes");
    }
    trainer.set_total_bytes(TINY.len() as f64).unwrap();
}

#[wasm_bindgen_test]
fn arguments_of_the_wrong_type_are_invalid_options_not_traps() {
    // wasm-bindgen's glue checks no `&str` argument in release builds: a number passed as the
    // prompt used to trap the module's allocator and leave the instance unusable.
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    for bad in [
        num(42.0),
        JsValue::NULL,
        JsValue::UNDEFINED,
        obj(&[("a", num(1.0))]),
        js_sys::Array::new().into(),
        JsValue::TRUE,
    ] {
        let err = model
            .generate(bad.clone(), JsValue::UNDEFINED, JsValue::UNDEFINED)
            .unwrap_err();
        assert_invalid_option(&err, "`prompt`: must be a string");
        let err = model.perplexity(bad.clone()).unwrap_err();
        assert_invalid_option(&err, "`text`: must be a string");
        let err = WasmModel::train(bad.clone(), order3()).unwrap_err();
        assert_invalid_option(&err, "`text`");
        let err = WasmModel::from_arpa(bad.clone()).unwrap_err();
        assert_invalid_option(&err, "`text`");
        let mut trainer = WasmTrainer::new(order3()).unwrap();
        let err = trainer.feed(bad).unwrap_err();
        assert_invalid_option(&err, "`text`");
    }
    let err = model
        .generate(num(42.0), JsValue::UNDEFINED, JsValue::UNDEFINED)
        .unwrap_err();
    assert_invalid_option(&err, "got number");
    let err = model.perplexity(JsValue::NULL).unwrap_err();
    assert_invalid_option(&err, "got null");

    // Bytes: a Uint8Array, an ArrayBuffer or an array of numbers; nothing else, not even an
    // object whose `length` would have been taken as the size to allocate.
    let file = model.to_bytes();
    for bad in [
        num(42.0),
        s("UELMODEL"),
        JsValue::NULL,
        JsValue::UNDEFINED,
        obj(&[("length", num(1e10))]),
    ] {
        let err = WasmModel::from_bytes(bad.clone(), JsValue::UNDEFINED).unwrap_err();
        assert_invalid_option(&err, "`bytes`: must be a Uint8Array");
        let err = WasmModel::check_header(bad.clone()).unwrap_err();
        assert_invalid_option(&err, "`bytes`");
        let mut trainer = WasmTrainer::new(order3()).unwrap();
        let err = trainer.feed_bytes(bad).unwrap_err();
        assert_invalid_option(&err, "`bytes`");
    }
    let buffer = js_sys::Uint8Array::from(&file[..]).buffer();
    WasmModel::check_header(buffer.clone().into()).unwrap();
    let from_buffer = WasmModel::from_bytes(buffer.into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(from_buffer.to_bytes(), file);
    let numbers: js_sys::Array = file.iter().map(|&x| num(x.into())).collect();
    assert_eq!(
        WasmModel::from_bytes(numbers.into(), JsValue::UNDEFINED)
            .unwrap()
            .to_bytes(),
        file
    );
    // The instance is still sound: the golden text, as before.
    let out = model
        .generate(
            s(PROMPT),
            obj(&[("seed", num(42.0)), ("maxTokens", num(40.0))]),
            JsValue::UNDEFINED,
        )
        .unwrap();
    assert_eq!(get_str(&out, "text"), TINY_O3_SEED42);
}

#[wasm_bindgen_test]
fn trainer_fed_in_chunks_equals_training_on_the_whole_text() {
    setup();
    let whole = WasmModel::train(s(ES_TINY), order3()).unwrap().to_bytes();

    // Raw bytes, the first chunk ending inside a two-byte character.
    let bytes = ES_TINY.as_bytes();
    let split = bytes.iter().position(|&b| b >= 0xC0).unwrap() + 1;
    let mut trainer = WasmTrainer::new(order3()).unwrap();
    trainer.set_total_bytes(bytes.len() as f64).unwrap();
    trainer.feed_bytes(b(&bytes[..split])).unwrap();
    // The held-back lead byte is not counted until its character is complete.
    assert_eq!(trainer.bytes_seen(), (split - 1) as f64);
    trainer.feed_bytes(b(&bytes[split..split + 1])).unwrap();
    assert_eq!(trainer.bytes_seen(), (split + 1) as f64);
    let mut at = split + 1;
    for (i, chunk) in bytes[at..].chunks(997).enumerate() {
        trainer.feed_bytes(b(chunk)).unwrap();
        at += chunk.len();
        // Chunk ends may fall inside characters: bytes seen lag by at most 3 bytes.
        let seen = trainer.bytes_seen();
        assert!(seen <= at as f64 && seen + 3.0 >= at as f64, "chunk {i}");
    }
    assert_eq!(trainer.bytes_seen(), bytes.len() as f64);
    assert_eq!(
        trainer.finish(JsValue::UNDEFINED).unwrap().to_bytes(),
        whole
    );

    // Text, in chunks that split lines.
    let mut trainer = WasmTrainer::new(order3()).unwrap();
    let mut rest = ES_TINY;
    while !rest.is_empty() {
        let mut cut = rest.len().min(1234);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        trainer.feed(s(&rest[..cut])).unwrap();
        rest = &rest[cut..];
    }
    assert_eq!(trainer.bytes_seen(), ES_TINY.len() as f64);
    assert_eq!(
        trainer.finish(JsValue::UNDEFINED).unwrap().to_bytes(),
        whole
    );

    // Typed errors.
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    let err = trainer.feed_bytes(b(b"text\0more")).unwrap_err();
    assert_js_error(&err, "NotTextError", "NOT_TEXT");
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    let err = trainer.feed_bytes(b(b"caf\xff")).unwrap_err();
    assert_js_error(&err, "NotTextError", "NOT_TEXT");
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    trainer
        .feed_bytes(b("caf\u{e9}".as_bytes().split_last().unwrap().1))
        .unwrap();
    let err = trainer.finish(JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "NotTextError", "NOT_TEXT");
    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    trainer.feed(s(" \n\n")).unwrap();
    let err = trainer.finish(JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "EmptyInputError", "EMPTY_INPUT");
    let err = WasmModel::train(s(""), JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "EmptyInputError", "EMPTY_INPUT");
}

#[wasm_bindgen_test]
fn finish_file_gives_the_file_and_info_of_finish() {
    setup();
    let model = WasmModel::train(s(ES_TINY), order3()).unwrap();
    let mut trainer = WasmTrainer::new(order3()).unwrap();
    trainer.feed(s(ES_TINY)).unwrap();
    let file = trainer.finish_file(JsValue::UNDEFINED).unwrap();
    assert_eq!(sorted(&["bytes", "info"]), keys(&file));
    let bytes = js_sys::Uint8Array::from(get(&file, "bytes")).to_vec();
    assert_eq!(bytes, model.to_bytes());
    // The same plain object as Model.info(), field for field.
    let info = get(&file, "info");
    let want = model.info().unwrap();
    assert_eq!(keys(&info), keys(&want));
    assert_eq!(
        js_sys::JSON::stringify(&info).unwrap(),
        js_sys::JSON::stringify(&want).unwrap()
    );
    let loaded = WasmModel::from_bytes(b(&bytes), JsValue::UNDEFINED)
        .unwrap()
        .info()
        .unwrap();
    assert_eq!(
        js_sys::JSON::stringify(&loaded).unwrap(),
        js_sys::JSON::stringify(&info).unwrap()
    );

    let mut trainer = WasmTrainer::new(JsValue::UNDEFINED).unwrap();
    trainer.feed(s(" \n\n")).unwrap();
    let err = trainer.finish_file(JsValue::UNDEFINED).unwrap_err();
    assert_js_error(&err, "EmptyInputError", "EMPTY_INPUT");
}

/// A Rust closure callable from JavaScript as `onProgress`; `Err` throws.
type OnProgress = Closure<dyn FnMut(f64) -> Result<JsValue, JsValue>>;

/// An `onProgress` callback that records the fractions and returns `answer(count so far)`.
fn fractions(
    answer: impl Fn(usize) -> Result<JsValue, JsValue> + 'static,
) -> (OnProgress, Rc<RefCell<Vec<f64>>>) {
    let seen: Rc<RefCell<Vec<f64>>> = Rc::default();
    let to = Rc::clone(&seen);
    let closure = OnProgress::new(move |f: f64| {
        to.borrow_mut().push(f);
        let n = to.borrow().len();
        answer(n)
    });
    (closure, seen)
}

/// From 0 to 1, never back, with fractions in between.
fn assert_rising(f: &[f64], what: &str) {
    assert_eq!(f.first(), Some(&0.0), "{what}: {f:?}");
    assert_eq!(f.last(), Some(&1.0), "{what}: {f:?}");
    assert!(f.windows(2).all(|w| w[0] <= w[1]), "{what}: {f:?}");
    let between = f.iter().filter(|&&x| x > 0.0 && x < 1.0).count();
    assert!(between >= 3, "{what}: {f:?}");
}

#[wasm_bindgen_test]
fn finish_and_from_bytes_report_rising_fractions_to_on_progress() {
    setup();
    let text = format!("{TINY}\n{ES_TINY}");
    let trained = |on_progress: JsValue, file: bool| {
        let mut trainer = WasmTrainer::new(order3()).unwrap();
        trainer.feed(s(&text)).unwrap();
        if file {
            let out = trainer.finish_file(on_progress)?;
            Ok::<_, JsValue>(js_sys::Uint8Array::from(get(&out, "bytes")).to_vec())
        } else {
            Ok(trainer.finish(on_progress)?.to_bytes())
        }
    };
    let bytes = trained(JsValue::UNDEFINED, true).unwrap();
    for file in [true, false] {
        let (callback, seen) = fractions(|_| Ok(JsValue::UNDEFINED));
        assert_eq!(trained(callback.as_ref().clone(), file).unwrap(), bytes);
        assert_rising(&seen.borrow(), if file { "finishFile" } else { "finish" });
    }
    let (callback, seen) = fractions(|_| Ok(JsValue::UNDEFINED));
    let loaded = WasmModel::from_bytes(b(&bytes), callback.as_ref().clone()).unwrap();
    assert_eq!(loaded.to_bytes(), bytes);
    assert_rising(&seen.borrow(), "fromBytes");

    // Not a function: refused before any work.
    let err = WasmModel::from_bytes(b(&bytes), num(1.0)).unwrap_err();
    assert_invalid_option(&err, "onProgress");
    let err = trained(s("50%"), true).unwrap_err();
    assert_invalid_option(&err, "onProgress");

    // What it throws is thrown once the call ends, and it is not called again.
    for file in [Some(true), Some(false), None] {
        let thrown: JsValue = js_sys::RangeError::new("progress failed").into();
        let to_throw = thrown.clone();
        let (callback, seen) = fractions(move |n| {
            if n == 2 {
                Err(to_throw.clone())
            } else {
                Ok(JsValue::UNDEFINED)
            }
        });
        let err = match file {
            Some(file) => trained(callback.as_ref().clone(), file).unwrap_err(),
            None => WasmModel::from_bytes(b(&bytes), callback.as_ref().clone()).unwrap_err(),
        };
        assert!(js_sys::Object::is(&err, &thrown), "{file:?}");
        assert_eq!(seen.borrow().len(), 2, "{file:?}");
    }
}

#[wasm_bindgen_test]
fn on_token_streams_the_text_and_can_stop_it() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let seeded = || obj(&[("seed", num(42.0)), ("maxTokens", num(40.0))]);

    // Streamed pieces add up to the text, token by token, and change nothing.
    let (callback, calls) = recorder(|_| Ok(JsValue::UNDEFINED));
    let out = model
        .generate(s(PROMPT), seeded(), callback.as_ref().clone())
        .unwrap();
    let text = get_str(&out, "text");
    assert_eq!(text, TINY_O3_SEED42);
    let pieces: String = calls.borrow().iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pieces, text);
    let tokens: Vec<String> = Array::from(&get(&out, "tokens"))
        .iter()
        .map(|t| t.as_string().unwrap())
        .collect();
    let streamed: Vec<String> = calls.borrow().iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(streamed, tokens);
    let stats = get(&out, "stats");
    assert_eq!(get_f64(&stats, "tokens") as usize, tokens.len());
    assert_ne!(get_str(&stats, "stopReason"), "cancelled");

    // Only `false` stops (here after the 5th token); `true` and other values go on.
    let (callback, calls) = recorder(|n| Ok(if n == 5 { JsValue::FALSE } else { n.into() }));
    let long = obj(&[
        ("seed", num(7.0)),
        ("maxTokens", num(100.0)),
        ("stopAtSentenceEnd", JsValue::FALSE),
    ]);
    let out = model
        .generate(s(PROMPT), long, callback.as_ref().clone())
        .unwrap();
    let stats = get(&out, "stats");
    assert_eq!(get_str(&stats, "stopReason"), "cancelled");
    assert_eq!(get_f64(&stats, "tokens"), 5.0);
    assert_eq!(calls.borrow().len(), 5);
    let pieces: String = calls.borrow().iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pieces, get_str(&out, "text"));

    // An exception thrown by onToken stops generation and is rethrown as it is.
    let thrown: JsValue = js_sys::TypeError::new("stop here").into();
    let to_throw = thrown.clone();
    let (callback, calls) = recorder(move |n| {
        if n == 3 {
            Err(to_throw.clone())
        } else {
            Ok(JsValue::TRUE)
        }
    });
    let err = model
        .generate(s(PROMPT), seeded(), callback.as_ref().clone())
        .unwrap_err();
    assert!(js_sys::Object::is(&err, &thrown));
    assert_eq!(calls.borrow().len(), 3);
    // A thrown non-Error becomes an Error whose cause it is.
    let (callback, _) = recorder(|_| Err(JsValue::from_str("plain string")));
    let err = model
        .generate(s(PROMPT), seeded(), callback.as_ref().clone())
        .unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(
        get(&err, "cause").as_string().as_deref(),
        Some("plain string")
    );

    // onToken may generate again with the same model (shaped requests too: the inner one uses
    // a private activation cache), which changes nothing in the outer text; reading the cache
    // statistics meanwhile never waits.
    let model = Rc::new(model);
    let shaped = obj(&[
        ("seed", num(1.0)),
        ("temperature", num(0.8)),
        ("maxTokens", num(30.0)),
    ]);
    let alone = get_str(
        &model
            .generate(s(PROMPT), shaped.clone(), JsValue::UNDEFINED)
            .unwrap(),
        "text",
    );
    let inner = Rc::clone(&model);
    let inner_opts = shaped.clone();
    let (callback, calls) =
        recorder(move |_| inner.generate(s("She"), inner_opts.clone(), JsValue::NULL));
    let out = model
        .generate(s(PROMPT), shaped.clone(), callback.as_ref().clone())
        .unwrap();
    assert_eq!(get_str(&out, "text"), alone);
    assert!(!calls.borrow().is_empty());
    let inner = Rc::clone(&model);
    let (callback, seen) = recorder(move |_| inner.cache_stats());
    model
        .generate(s(PROMPT), shaped.clone(), callback.as_ref().clone())
        .unwrap();
    assert!(!seen.borrow().is_empty());
    model.generate(s(PROMPT), shaped, JsValue::NULL).unwrap();
    let stats = model.cache_stats().unwrap();
    assert!(get(&stats, "misses").as_f64().unwrap_or(0.0) > 0.0);
}

#[wasm_bindgen_test]
fn results_are_camel_case_objects() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let out = model
        .generate(s(PROMPT), obj(&[("seed", num(42.0))]), JsValue::UNDEFINED)
        .unwrap();
    assert_eq!(keys(&out), sorted(&["text", "tokens", "stats"]));
    assert!(Array::is_array(&get(&out, "tokens")));
    let stats = get(&out, "stats");
    assert_eq!(
        keys(&stats),
        sorted(&[
            "tokens",
            "elapsedMs",
            "tokensPerSecond",
            "sparsity",
            "patternsActivated",
            "patternsTotal",
            "cacheHits",
            "cacheMisses",
            "cacheHitRate",
            "seed",
            "stopReason",
            "exact",
        ])
    );
    assert_eq!(get_f64(&stats, "seed"), 42.0);
    assert!(get_f64(&stats, "elapsedMs").is_finite());
    // Absent values are null (JSON-friendly), not undefined.
    assert!(get(&stats, "cacheHitRate").is_null());
    assert_eq!(get(&stats, "exact"), JsValue::TRUE);

    // Without a seed, the drawn seed is a plain number that reproduces the text.
    let drawn = model
        .generate(s(PROMPT), JsValue::NULL, JsValue::UNDEFINED)
        .unwrap();
    let seed = get_f64(&get(&drawn, "stats"), "seed");
    assert!(seed.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&seed));
    let replay = model
        .generate(s(PROMPT), obj(&[("seed", num(seed))]), JsValue::UNDEFINED)
        .unwrap();
    assert_eq!(get_str(&replay, "text"), get_str(&drawn, "text"));

    // A shaped request consults the activation cache.
    let shaped = obj(&[
        ("seed", num(3.0)),
        ("temperature", num(0.8)),
        ("topK", num(40.0)),
    ]);
    let out = model
        .generate(s(PROMPT), shaped, JsValue::UNDEFINED)
        .unwrap();
    let stats = get(&out, "stats");
    assert_eq!(get(&stats, "exact"), JsValue::FALSE);
    assert!(get_f64(&stats, "cacheHitRate") >= 0.0);
    let cache = model.cache_stats().unwrap();
    assert_eq!(
        keys(&cache),
        sorted(&["hits", "misses", "entries", "capacity", "bytes"])
    );
    assert!(get_f64(&cache, "misses") > 0.0);
    assert!(get_f64(&cache, "bytes") > 0.0);
    assert_eq!(get_f64(&cache, "capacity"), 1000.0);

    let ppl = model
        .perplexity(s("It is a truth universally acknowledged."))
        .unwrap();
    assert_eq!(
        keys(&ppl),
        sorted(&[
            "perplexity",
            "perplexityExcludingOov",
            "log10Prob",
            "log10ProbExcludingOov",
            "tokens",
            "oov",
            "sentences",
        ])
    );
    assert!(get_f64(&ppl, "perplexity") > 1.0);
    assert_eq!(get_f64(&ppl, "sentences"), 1.0);

    let info = model.info().unwrap();
    assert_eq!(
        keys(&info),
        sorted(&[
            "order",
            "vocabSize",
            "ngrams",
            "patterns",
            "contexts",
            "smoothing",
            "memoryBytes",
            "fileBytes",
            "training",
        ])
    );
    assert_eq!(get_f64(&info, "order"), 3.0);
    assert_eq!(get_f64(&info, "fileBytes"), model.to_bytes().len() as f64);
    assert!(get_f64(&info, "memoryBytes") > 0.0);
    assert_eq!(Array::from(&get(&info, "ngrams")).length(), 3);
    let training = get(&info, "training");
    assert_eq!(
        keys(&training),
        sorted(&[
            "options",
            "bytes",
            "sentences",
            "tokens",
            "discounts",
            "discountFallback",
            "prunedPatterns",
        ])
    );
    assert_eq!(get_f64(&training, "bytes"), TINY.len() as f64);
    let options = get(&training, "options");
    assert_eq!(
        keys(&options),
        sorted(&["maxPatternLength", "minFrequency", "maxPatterns"])
    );
    assert_eq!(get_f64(&options, "maxPatternLength"), 3.0);
    let discounts = Array::from(&get(&training, "discounts"));
    assert_eq!(discounts.length(), 3);
    for d in discounts.iter() {
        let d = Array::from(&d);
        assert_eq!(d.length(), 3);
        assert!(d.iter().all(|x| x.as_f64().is_some_and(|x| x > 0.0)));
    }
    assert!(Array::is_array(&get(&training, "discountFallback")));
}

#[wasm_bindgen_test]
fn arpa_files_load_and_export() {
    setup();
    let model = WasmModel::from_arpa(s(TINY_O3_ARPA)).unwrap();
    let info = model.info().unwrap();
    assert_eq!(get_f64(&info, "order"), 3.0);
    assert_eq!(get_str(&info, "smoothing"), "arpa");
    assert!(get(&info, "training").is_null());
    let out = model
        .generate(s(PROMPT), obj(&[("seed", num(42.0))]), JsValue::UNDEFINED)
        .unwrap();
    assert!(get_f64(&get(&out, "stats"), "tokens") > 0.0);
    let ppl = model.perplexity(s(TINY)).unwrap();
    assert!(get_f64(&ppl, "perplexity") > 1.0);
    assert_eq!(get_f64(&ppl, "oov"), 0.0);

    // Exported ARPA loads back with the same scores (to ARPA's printed precision), and the
    // model file round-trips.
    let log10 = |m: &WasmModel| get_f64(&m.perplexity(s(TINY)).unwrap(), "log10Prob");
    let again = WasmModel::from_arpa(s(&model.to_arpa())).unwrap();
    assert!(
        (log10(&again) - log10(&model)).abs() < 1e-2,
        "{}",
        log10(&again)
    );
    let loaded = WasmModel::from_bytes(b(&model.to_bytes()), JsValue::UNDEFINED).unwrap();
    assert_eq!(loaded.to_bytes(), model.to_bytes());
    assert_eq!(get_str(&loaded.info().unwrap(), "smoothing"), "arpa");
    // A trained model exports ARPA too.
    let trained = WasmModel::train(s(TINY), order3()).unwrap();
    assert!(trained.to_arpa().starts_with("\\data\\\n"));

    let err = WasmModel::from_arpa(s("not an arpa file")).unwrap_err();
    assert_js_error(&err, "ArpaError", "INVALID_ARPA");
    // Model bytes are not ARPA, and ARPA is not model bytes.
    let err = WasmModel::from_bytes(b(TINY_O3_ARPA.as_bytes()), JsValue::UNDEFINED).unwrap_err();
    let message = assert_js_error(&err, "NotAModelError", "NOT_A_MODEL");
    assert!(message.contains("ARPA"), "{message}");
}

#[wasm_bindgen_test]
fn free_functions_report_versions_and_presets() {
    setup();
    assert_eq!(js::format_version(), format::FORMAT_VERSION);
    assert_eq!(js::version(), env!("CARGO_PKG_VERSION"));
    let presets = js::presets().unwrap();
    assert_eq!(
        keys(&presets),
        sorted(&["development", "production", "high_performance"])
    );
    for (name, per_query) in [
        ("development", 500.0),
        ("production", 2000.0),
        ("high_performance", 5000.0),
    ] {
        let p = get(&presets, name);
        assert_eq!(get_f64(&p, "maxPatternsPerQuery"), per_query);
        assert_eq!(get_f64(&p, "maxTokens"), 50.0);
        assert!(get(&p, "seed").is_undefined());
        assert_eq!(keys(&p).len(), 12, "{name}: {:?}", keys(&p));
        // presetOptions(name) is presets()[name], key for key.
        let one = js::preset_options(s(name)).unwrap();
        let json = |v: &JsValue| String::from(js_sys::JSON::stringify(v).unwrap());
        assert_eq!(json(&one), json(&p));
        // A preset's options are valid generate options as they are.
        let model = WasmModel::train(s(TINY), order3()).unwrap();
        model.generate(s(PROMPT), p, JsValue::UNDEFINED).unwrap();
    }
    for bad in [s("fast"), num(1.0), JsValue::UNDEFINED] {
        let err = js::preset_options(bad).unwrap_err();
        assert_js_error(&err, "InvalidOptionError", "INVALID_OPTION");
    }
}

/// `generate` reads usual options objects on a fast path and hands the rest to the serde reader:
/// both must agree, and the result must be the core's generation, token for token.
#[wasm_bindgen_test]
fn generate_options_fast_and_fallback_paths_agree() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let text = |opts: JsValue| {
        get_str(
            &model.generate(s(PROMPT), opts, JsValue::NULL).unwrap(),
            "text",
        )
    };
    let plain = text(obj(&[("seed", num(42.0)), ("maxTokens", num(40.0))]));
    assert_eq!(plain, TINY_O3_SEED42);
    // A BigInt seed and a null-prototype object take the serde reader; nulls mean defaults.
    assert_eq!(
        text(obj(&[
            ("seed", JsValue::from(42u64)),
            ("maxTokens", num(40.0))
        ])),
        plain
    );
    let bare: Object = Object::create(JsValue::NULL.unchecked_ref::<Object>());
    Reflect::set(&bare, &"seed".into(), &num(42.0)).unwrap();
    Reflect::set(&bare, &"maxTokens".into(), &num(40.0)).unwrap();
    assert_eq!(text(bare.into()), plain);
    let with_nulls = obj(&[
        ("seed", num(42.0)),
        ("maxTokens", num(40.0)),
        ("topK", JsValue::NULL),
        ("preset", JsValue::UNDEFINED),
    ]);
    assert_eq!(text(with_nulls), plain);
    // A key that joins like two known ones is still unknown, and named.
    let err = model
        .generate(
            s(PROMPT),
            obj(&[("maxTokens,seed", num(5.0))]),
            JsValue::NULL,
        )
        .unwrap_err();
    assert_invalid_option(&err, "maxTokens,seed");
    let err = model
        .generate(s(PROMPT), obj(&[("", num(5.0))]), JsValue::NULL)
        .unwrap_err();
    assert_invalid_option(&err, "unknown option");
    let err = model
        .generate(s(PROMPT), obj(&[("maxTokens", num(1e10))]), JsValue::NULL)
        .unwrap_err();
    assert_invalid_option(&err, "`maxTokens`");

    // The result holds exactly the core's text, tokens and statistics.
    for (seed, tokens, stop) in [(7.0, 100.0, false), (3.0, 0.0, false), (42.0, 40.0, true)] {
        let opts = obj(&[
            ("seed", num(seed)),
            ("maxTokens", num(tokens)),
            ("stopAtSentenceEnd", JsValue::from_bool(stop)),
        ]);
        let out = model.generate(s(PROMPT), opts, JsValue::NULL).unwrap();
        let core = model
            .model()
            .generate(
                PROMPT,
                &GenerateOptions {
                    seed: Some(seed as u64),
                    max_tokens: tokens as usize,
                    stop_at_sentence_end: stop,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(get_str(&out, "text"), core.text);
        let got: Vec<String> = Array::from(&get(&out, "tokens"))
            .iter()
            .map(|t| t.as_string().unwrap())
            .collect();
        assert_eq!(got, core.tokens);
        let stats = get(&out, "stats");
        assert_eq!(get_f64(&stats, "tokens") as usize, core.stats.tokens);
        assert_eq!(
            get_f64(&stats, "patternsTotal") as u64,
            core.stats.patterns_total
        );
        assert_eq!(
            get_f64(&stats, "patternsActivated") as u64,
            core.stats.patterns_activated
        );
        let reason = if core.stats.stop_reason == ultra_efficient_llm::StopReason::SentenceEnd {
            "sentence_end"
        } else {
            "max_tokens"
        };
        assert_eq!(get_str(&stats, "stopReason"), reason);
    }
}

// The JavaScript runtime's IndexedDB storage (js/storage.js, which the workers use), imported
// here so that its round trip runs in every browser and context these tests run in. errors.js is
// imported too: wasm-bindgen copies each imported module next to the test, and storage.js
// imports './errors.js'. (`/js/` is bindings/wasm/js, a link to the repository's js/.)
#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = saveModel)]
    /// `target`: `{ name, overwrite }`.
    fn save_model(target: &JsValue, bytes: &js_sys::Uint8Array, info: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = loadModelFile)]
    fn load_model_file(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = listModels)]
    fn list_models() -> js_sys::Promise;
    #[wasm_bindgen(js_name = removeModel)]
    fn remove_model(name: &str) -> js_sys::Promise;
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    /// `{name, code, message}`: what crosses `postMessage` from a worker.
    #[wasm_bindgen(js_name = toWire)]
    fn to_wire(err: &JsValue) -> JsValue;
}

async fn settle(p: js_sys::Promise) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(p).await
}

/// The bytes of a `Blob`.
async fn blob_bytes(blob: &JsValue) -> Vec<u8> {
    let read = get(blob, "arrayBuffer").unchecked_into::<js_sys::Function>();
    let buffer = settle(read.call0(blob).unwrap().unchecked_into())
        .await
        .unwrap();
    js_sys::Uint8Array::new(&buffer).to_vec()
}

#[wasm_bindgen_test]
async fn storage_round_trip_in_indexeddb() {
    setup();
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    let bytes = model.to_bytes();
    let name = "wasm-bindgen-test round trip";
    let info = obj(&[("order", num(3.0)), ("patterns", num(18_304.0))]);
    let target = obj(&[("name", name.into()), ("overwrite", JsValue::TRUE)]);
    let meta = settle(save_model(
        &target,
        &js_sys::Uint8Array::from(&bytes[..]),
        &info,
    ))
    .await
    .unwrap();
    assert_eq!(get_str(&meta, "name"), name);
    assert_eq!(get_f64(&meta, "bytes"), bytes.len() as f64);

    // Read back as a Blob, byte for byte; loaded, it writes the native golden text.
    let file = settle(load_model_file(name)).await.unwrap();
    assert!(file.is_instance_of::<js_sys::Object>());
    let stored = blob_bytes(&file).await;
    assert_eq!(stored, bytes);
    let loaded = WasmModel::from_bytes(b(&stored), JsValue::UNDEFINED).unwrap();
    let opts = obj(&[("seed", num(42.0)), ("maxTokens", num(40.0))]);
    let out = loaded
        .generate(s(PROMPT), opts, JsValue::UNDEFINED)
        .unwrap();
    assert_eq!(get_str(&out, "text"), TINY_O3_SEED42);

    let list = settle(list_models()).await.unwrap();
    let names: Vec<String> = Array::from(&list)
        .iter()
        .map(|m| get_str(&m, "name"))
        .collect();
    assert!(names.iter().any(|n| n == name), "{names:?}");

    // A missing name is a typed error, also in its wire form.
    settle(remove_model(name)).await.unwrap();
    let err = settle(load_model_file(name)).await.unwrap_err();
    assert_js_error(&err, "NotFoundError", "NOT_FOUND");
    let wire = to_wire(&err);
    assert_eq!(get_str(&wire, "name"), "NotFoundError");
    assert_eq!(get_str(&wire, "code"), "NOT_FOUND");
    let err = settle(remove_model(name)).await.unwrap_err();
    assert_js_error(&err, "NotFoundError", "NOT_FOUND");
}
