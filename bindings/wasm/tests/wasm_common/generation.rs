//! Generation in the browser: the native golden text, the clock of the statistics, and `onToken`
//! (streaming, stopping, exceptions, re-entrant calls).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm::{clock, GenerateOptions};
use ultra_efficient_llm_wasm::WasmModel;

use super::*;

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
