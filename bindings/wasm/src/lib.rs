//! The WebAssembly bindings of [`ultra_efficient_llm`] (compiled only for `wasm32`; natively this
//! crate is empty): a thin JavaScript API over the core's public API, camelCase throughout.
//! `scripts/build-pkg.sh` builds them with wasm-pack into the npm package (`ultra_efficient_llm.js`
//! and `ultra_efficient_llm_bg.wasm` beside the JavaScript runtime of `js/`).
//!
//! ```text
//! const trainer = new Trainer({ maxPatternLength: 3 });      // options optional
//! trainer.setTotalBytes(file.size);                          // optional
//! trainer.feedBytes(chunk); trainer.bytesSeen();             // or feed(text), as often as needed
//! const model = trainer.finish();                            // consumes the trainer
//! trainer.finishFile((fraction) => bar.value = fraction);    // or only the file, with progress
//! new BoundedTrainer(options, memoryBytes, syncAccessHandle)  // within a memory bound: bounded.rs
//!
//! const model = Model.train(text, { maxPatternLength: 3 }); // all at once
//! const out = model.generate("It is", { seed: 42, maxTokens: 40, preset: "production" },
//!                            (piece, token) => { show(piece); return !stopped; });
//! out.text; out.tokens; out.stats.elapsedMs; out.stats.seed; out.stats.stopReason;
//! model.perplexity(text).perplexity; model.info().order; model.cacheStats().hits;
//! const bytes = model.toBytes(); Model.fromBytes(bytes);     // Uint8Array
//! Model.fromBytes(bytes, (fraction) => bar.value = fraction); // with progress
//! model.toArpa(); Model.fromArpa(arpaText);
//! formatVersion(); version(); presets().production; defaultGenerateOptions();
//! ```
//!
//! Options are plain objects with the camelCase names of
//! [`TrainOptions`](ultra_efficient_llm::TrainOptions) and [`GenerateOptions`] (plus `preset` for
//! generation); `undefined` or `null` (for the whole object or one field) means the default, and
//! an unknown field or a value of the wrong type is an `InvalidOptionError`. Results are plain camelCase objects with `null`
//! for absent values; the generated `.d.ts` declares them (`typescript.rs`).
//!
//! Every failure is thrown as the package's `UellmError` (a real JavaScript `Error`, of the class
//! that `js/errors.js` defines and the package exports), whose `name` is [`Error::name`] (for
//! example `"NotAModelError"`) and whose `code` property is [`Error::code`] (for example
//! `"NOT_A_MODEL"`), so callers can branch on `err.code` without parsing messages.
//!
//! Loading the module installs `performance.now()` as the statistics clock
//! ([`ultra_efficient_llm::clock::set_clock`]); this works on a page and in a dedicated worker.
#![cfg(target_arch = "wasm32")]

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use ultra_efficient_llm::{Error, GenerateOptions, Preset};

/// The `feed`, `feedBytes` and `bytesSeen` methods of a JavaScript class `$js` (the Rust type
/// `$ty`) whose field `$field` takes text as [`Trainer`](ultra_efficient_llm::Trainer) does: the
/// streaming trainer and both passes of a bounded one. (rustfmt moves the attributed parameter
/// further right each time it formats a macro's body: formatted by hand.)
#[rustfmt::skip]
macro_rules! feeding {
    ($ty:ident, $js:ident, $field:ident) => {
        #[wasm_bindgen::prelude::wasm_bindgen(js_class = $js)]
        impl $ty {
            /// Feeds text; lines may be split across calls.
            ///
            /// # Errors
            /// `InvalidOptionError` when `text` is not a string.
            pub fn feed(
                &mut self,
                #[wasm_bindgen(unchecked_param_type = "string")] text: wasm_bindgen::JsValue,
            ) -> Result<(), wasm_bindgen::JsValue> {
                self.$field
                    .feed(&crate::options::string_arg(&text, "text")?);
                Ok(())
            }

            /// Feeds raw UTF-8 bytes; a character may be split across calls.
            ///
            /// # Errors
            /// `NotTextError` on a NUL byte or invalid UTF-8 (with the byte offset);
            /// `InvalidOptionError` when `bytes` are no bytes.
            #[wasm_bindgen(js_name = feedBytes)]
            pub fn feed_bytes(
                &mut self,
                #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | number[]")]
                bytes: wasm_bindgen::JsValue,
            ) -> Result<(), wasm_bindgen::JsValue> {
                let bytes = crate::options::bytes_arg(&bytes, "bytes")?.to_vec();
                self.$field
                    .feed_bytes(&bytes)
                    .map_err(crate::options::js_error)
            }

            /// Bytes of text fed so far (bytes of a character split across `feedBytes` calls
            /// count once it is complete).
            #[wasm_bindgen(js_name = bytesSeen)]
            pub fn bytes_seen(&self) -> f64 {
                self.$field.bytes_seen() as f64
            }
        }
    };
}

#[macro_use]
mod const_str;
mod bounded;
mod model;
mod options;
mod results;
mod trainer;
mod typescript;

pub use bounded::{SyncHandle, WasmBoundedTrainer, WasmSecondPass};
pub use model::WasmModel;
pub use trainer::WasmTrainer;

/// Largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[wasm_bindgen]
extern "C" {
    /// The `performance` object of a window or a worker.
    type Performance;

    #[wasm_bindgen(method)]
    fn now(this: &Performance) -> f64;
}

thread_local! {
    static PERFORMANCE: OnceCell<Option<Performance>> = const { OnceCell::new() };
}

/// `performance.now()` of the global scope, or `Date.now()` where there is no `performance`.
fn performance_now() -> f64 {
    PERFORMANCE.with(|cell| {
        let perf = cell.get_or_init(|| {
            js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
                .ok()
                .filter(|p| p.is_object())
                .map(JsCast::unchecked_into::<Performance>)
        });
        match perf {
            Some(p) => p.now(),
            None => js_sys::Date::now(),
        }
    })
}

/// Runs when the module is instantiated: installs the clock (see [`install_clock`]).
#[wasm_bindgen(start)]
pub fn start() {
    install_clock();
}

/// Installs `performance.now()` of the global scope (window or worker) as the clock of the
/// statistics. The module's start function does this; calling it again does nothing. Tests run
/// by `wasm-bindgen-test` call it themselves.
pub fn install_clock() {
    ultra_efficient_llm::clock::set_clock(performance_now);
}

// The package's error classes: the JavaScript runtime's `js/errors.js`, which the package ships
// next to this module's glue as `./errors.js` and the runtime imports by that name too, so that
// the errors thrown here are instances of the very classes the package exports (one module, one
// `UellmError`). The browser tests load the glue from a folder of their own, where only what
// wasm-bindgen copies is served: there (feature `test-snippets`) the same file is imported as a
// snippet of this crate, which the tests' own imports of `/js/...` share.
#[cfg_attr(
    not(feature = "test-snippets"),
    wasm_bindgen(raw_module = "./errors.js")
)]
#[cfg_attr(feature = "test-snippets", wasm_bindgen(module = "/js/errors.js"))]
extern "C" {
    /// `new UellmError(message)` with that name and code (of the runtime's class of that name,
    /// such as `InvalidOptionError`, when it has one).
    #[wasm_bindgen(js_name = makeError)]
    fn make_error(name: &str, code: &str, message: &str) -> JsValue;
}

/// Turns a core error into the package's JavaScript `UellmError` (`js/errors.js`), with `name` =
/// [`Error::name`] and `code` = [`Error::code`].
pub fn to_js_error(err: &Error) -> JsValue {
    make_error(err.name(), err.code(), &err.to_string())
}

/// An `onProgress` argument: `undefined` or `null` (none), or a function of the fraction done.
///
/// # Errors
/// `InvalidOptionError` for anything else.
fn progress_callback(value: &JsValue) -> Result<Option<js_sys::Function>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .clone()
        .dyn_into::<js_sys::Function>()
        .map(Some)
        .map_err(|_| {
            to_js_error(&Error::InvalidOption {
                name: "onProgress",
                reason: "must be a function (fraction) => void".into(),
            })
        })
}

/// Calls a JavaScript progress callback from the core's reports. The core's long calls cannot
/// stop midway, so the first exception the callback throws is kept (and the callback not called
/// again) for the binding to throw once the call returns ([`Progress::rethrow`]).
#[derive(Clone)]
struct Progress {
    f: js_sys::Function,
    thrown: Rc<RefCell<Option<JsValue>>>,
}

impl Progress {
    fn new(f: js_sys::Function) -> Self {
        Progress {
            f,
            thrown: Rc::new(RefCell::new(None)),
        }
    }

    fn report(&self, fraction: f64) {
        if self.thrown.borrow().is_some() {
            return;
        }
        if let Err(e) = self
            .f
            .call1(&JsValue::UNDEFINED, &JsValue::from_f64(fraction))
        {
            *self.thrown.borrow_mut() = Some(e);
        }
    }

    /// `result`, unless the callback threw: then what it threw (see [`thrown_error`]).
    fn rethrow<T>(&self, result: Result<T, JsValue>) -> Result<T, JsValue> {
        match self.thrown.borrow_mut().take() {
            Some(e) => Err(thrown_error(e, "onProgress")),
            None => result,
        }
    }
}

/// A value thrown by the callback `name`, as an `Error`: an `Error` as it is, anything else
/// wrapped (with the value as `cause`).
fn thrown_error(thrown: JsValue, name: &str) -> JsValue {
    if thrown.is_instance_of::<js_sys::Error>() {
        return thrown;
    }
    let text = js_sys::JSON::stringify(&thrown)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{thrown:?}"));
    let err = js_sys::Error::new(&format!("{name} threw a non-Error value: {text}"));
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("cause"), &thrown);
    err.into()
}

/// The model file format version this build reads and writes.
#[wasm_bindgen(js_name = formatVersion)]
pub fn format_version() -> u16 {
    ultra_efficient_llm::format::FORMAT_VERSION
}

/// Whether this is the threaded build (compiled with `+atomics`: its memory is a shared
/// `WebAssembly.Memory`, which several workers' instances can use at once, and whose models
/// `Model.share`/`Model.fromShared` pass between them), not the plain one.
#[wasm_bindgen]
pub fn threaded() -> bool {
    cfg!(target_feature = "atomics")
}

/// This instance's `WebAssembly.Module`, for starting more instances of the same compiled code
/// (in the threaded build, with the same memory: `init({ module_or_path, memory })`).
#[wasm_bindgen(js_name = compiledModule, unchecked_return_type = "WebAssembly.Module")]
pub fn compiled_module() -> JsValue {
    wasm_bindgen::module()
}

/// The version of this package (the crate's version).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The generation options `generate` uses where none is set and no `preset` is named (the core's
/// defaults); `presets()` gives each preset's. The pool (`js/`) sends a preset's differences from
/// these as its `generateDefaults`, which `scripts/build-pkg.sh` reads from here.
///
/// # Errors
/// Only if the result cannot be converted (never expected).
#[wasm_bindgen(js_name = defaultGenerateOptions, unchecked_return_type = "GenerateOptions")]
pub fn default_generate_options() -> Result<JsValue, JsValue> {
    results::to_js(&options::JsGenerateOptionsOut::from(
        GenerateOptions::default(),
    ))
}

/// The generation options of the presets, keyed by the names `preset` accepts: `development`,
/// `production`, `high_performance`.
///
/// # Errors
/// Only if the result cannot be converted (never expected).
#[wasm_bindgen(unchecked_return_type = "Record<Preset, GenerateOptions>")]
pub fn presets() -> Result<JsValue, JsValue> {
    let out = js_sys::Object::new();
    for (name, preset) in [
        ("development", Preset::Development),
        ("production", Preset::Production),
        ("high_performance", Preset::HighPerformance),
    ] {
        let opts = options::JsGenerateOptionsOut::from(GenerateOptions::preset(preset));
        js_sys::Reflect::set(&out, &JsValue::from_str(name), &results::to_js(&opts)?)?;
    }
    Ok(out.into())
}
