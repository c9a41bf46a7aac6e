//! `onProgress` of `Trainer.finish`, `Trainer.finishFile` and `Model.fromBytes`: rising fractions
//! from 0 to 1, a non-function refused, what the callback throws thrown when the call ends.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm_wasm::{WasmModel, WasmTrainer};

use super::*;

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
