//! Results are plain camelCase objects with exactly the declared fields (`typescript.rs`), absent
//! values `null`: generation, its statistics, the cache, perplexity, model info.

use js_sys::Array;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm_wasm::WasmModel;

use super::*;

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

/// The core's result structs are `#[non_exhaustive]` (they will grow), so the bindings' mirrors
/// (`src/results.rs`) cannot name every field at compile time. This is the guard instead: every
/// field of each core result, as the core itself serializes it, reaches JavaScript, camelCased.
#[wasm_bindgen_test]
fn every_field_of_the_core_results_reaches_javascript() {
    setup();
    let mut trainer = Trainer::new(TrainOptions {
        max_pattern_length: 3,
        ..Default::default()
    })
    .unwrap();
    trainer.feed(TINY);
    let core = trainer.finish().unwrap();
    let js = WasmModel::train(s(TINY), order3()).unwrap();
    let seeded = ultra_efficient_llm::GenerateOptions {
        seed: Some(42),
        ..Default::default()
    };
    let core_stats = core.generate(PROMPT, &seeded).unwrap().stats;
    let js_out = js
        .generate(s(PROMPT), obj(&[("seed", num(42.0))]), JsValue::UNDEFINED)
        .unwrap();
    let info = core.info();
    let first = |list: JsValue| Array::from(&list).get(0);
    let predicted = core
        .predict(PROMPT, &ultra_efficient_llm::PredictOptions::default())
        .unwrap();
    let scored = core.score(TINY);
    let ranked = core.rank(PROMPT, &["truth"]);
    let js_scored = first(js.score(s(TINY)).unwrap());
    let pairs: [(&str, JsValue, JsValue); 9] = [
        (
            "Prediction",
            ser(&predicted[0]),
            first(js.predict(s(PROMPT), JsValue::UNDEFINED).unwrap()),
        ),
        ("SentenceScore", ser(&scored[0]), js_scored.clone()),
        (
            "TokenScore",
            ser(&scored[0].tokens[0]),
            first(get(&js_scored, "tokens")),
        ),
        (
            "Ranked",
            ser(&ranked[0]),
            first(js.rank(s(PROMPT), Array::of1(&s("truth")).into()).unwrap()),
        ),
        ("GenerationStats", ser(&core_stats), get(&js_out, "stats")),
        (
            "Perplexity",
            ser(&core.perplexity(TINY)),
            js.perplexity(s(TINY)).unwrap(),
        ),
        ("ModelInfo", ser(&info), js.info().unwrap()),
        (
            "TrainingStats",
            ser(&info.training),
            get(&js.info().unwrap(), "training"),
        ),
        (
            "CacheStats",
            ser(&core.cache_stats()),
            js.cache_stats().unwrap(),
        ),
    ];
    for (what, core_value, js_value) in pairs {
        let js_keys = keys(&js_value);
        for field in keys(&core_value) {
            let camel = camel_case(&field);
            assert!(
                js_keys.contains(&camel),
                "{what}.{field} does not reach JavaScript as `{camel}` (keys: {js_keys:?})"
            );
        }
    }
}

/// A core value as the core's own serde derive names its fields.
fn ser<T: serde::Serialize>(value: &T) -> JsValue {
    serde_wasm_bindgen::to_value(value).unwrap()
}

/// `snake_case` → `camelCase`, as the bindings name fields.
fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').enumerate() {
        let mut chars = part.chars();
        match (i, chars.next()) {
            (0, Some(c)) => out.push(c),
            (_, Some(c)) => out.extend(c.to_uppercase()),
            (_, None) => {}
        }
        out.extend(chars);
    }
    out
}
