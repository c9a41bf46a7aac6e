//! Options objects: camelCase names, unknown keys and bad values refused as `InvalidOptionError`,
//! presets and the defaults, and the options reader's fast and fallback paths.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm::{format, GenerateOptions};
use ultra_efficient_llm_wasm::{self as js, WasmModel, WasmTrainer};

use super::*;

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
        // A preset's options are valid generate options as they are.
        let model = WasmModel::train(s(TINY), order3()).unwrap();
        model.generate(s(PROMPT), p, JsValue::UNDEFINED).unwrap();
    }
}

/// `defaultGenerateOptions()` holds the core's defaults, and each preset differs from them only in
/// the fields the pool (`js/index.js`, via scripts/build-pkg.sh) sends as its `generateDefaults`.
#[wasm_bindgen_test]
fn default_generate_options_are_the_core_defaults() {
    setup();
    let d = js::default_generate_options().unwrap();
    let core = GenerateOptions::default();
    let presets = js::presets().unwrap();
    assert_eq!(keys(&d), keys(&get(&presets, "production")));
    assert!(get(&d, "seed").is_undefined());
    for (key, want) in [
        ("maxTokens", core.max_tokens as f64),
        ("contextWindow", core.context_window as f64),
        ("temperature", core.temperature),
        ("topK", core.top_k as f64),
        ("topP", core.top_p),
        ("minGeneratedTokensRatio", core.min_generated_tokens_ratio),
        ("maxPatternsPerQuery", core.max_patterns_per_query as f64),
        ("maxBackupPatterns", core.max_backup_patterns as f64),
        ("activationThreshold", core.activation_threshold),
        ("activationCacheSize", core.activation_cache_size as f64),
    ] {
        assert_eq!(get_f64(&d, key), want, "{key}");
    }
    for (key, want) in [
        ("stopAtSentenceEnd", core.stop_at_sentence_end),
        ("frequencyNormalization", core.frequency_normalization),
    ] {
        assert_eq!(get(&d, key).as_bool(), Some(want), "{key}");
    }
    // Given back to generate, they change nothing.
    let model = WasmModel::train(s(TINY), order3()).unwrap();
    Reflect::set(&d, &"seed".into(), &num(42.0)).unwrap();
    Reflect::set(&d, &"maxTokens".into(), &num(40.0)).unwrap();
    let out = model.generate(s(PROMPT), d, JsValue::UNDEFINED).unwrap();
    assert_eq!(get_str(&out, "text"), TINY_O3_SEED42);

    let d = js::default_generate_options().unwrap();
    for (name, differ) in [
        ("development", &["maxPatternsPerQuery"][..]),
        ("production", &["maxPatternsPerQuery"][..]),
        (
            "high_performance",
            &["activationCacheSize", "maxPatternsPerQuery"][..],
        ),
    ] {
        let p = get(&presets, name);
        let differing: Vec<String> = keys(&p)
            .into_iter()
            .filter(|k| !Object::is(&get(&p, k), &get(&d, k)))
            .collect();
        assert_eq!(differing, sorted(differ), "{name}");
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
