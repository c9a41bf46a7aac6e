//! The JavaScript `Model` class.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::options::{
    bytes_arg, generate_options, js_error, options, string_arg, JsPredictOptions, JsTrainOptions,
};
use crate::results::{generation_to_js, result_to_js};
use crate::{progress_callback, thrown_error, Progress, MAX_SAFE_INTEGER};
use ultra_efficient_llm::format::{self, HEADER_LEN};
use ultra_efficient_llm::{Error, GenerationCache, Model, Trainer};

/// A trained or loaded model, the JavaScript `Model` class.
///
/// The core model is held through an `Arc`, so that in the threaded build (one
/// `WebAssembly.Memory` shared by several workers, see `share`) the instances of
/// every worker can hold the same model: one copy for the whole page.
#[derive(Debug)]
#[wasm_bindgen(js_name = Model)]
pub struct WasmModel {
    model: Arc<Model>,
    /// Every token's string by id, made on first use (see [`WasmModel::token_strings`]).
    tokens: OnceCell<js_sys::Array>,
    /// This object's activation cache: each worker holding a shared model keeps its own, so
    /// that concurrent shaped generations in several workers all hit their caches (the model's
    /// own cache serves one request at a time).
    cache: RefCell<GenerationCache>,
}

/// Writes into a JavaScript array from the start, as [`Model::write_image`] asks.
struct JsArrayWriter<'a> {
    out: &'a js_sys::Uint8Array,
    at: u32,
}

impl std::io::Write for JsArrayWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let end = self.at as usize + buf.len();
        if end > self.out.length() as usize {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        self.out.subarray(self.at, end as u32).copy_from(buf);
        self.at = end as u32;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl From<Model> for WasmModel {
    fn from(model: Model) -> Self {
        WasmModel::of(Arc::new(model))
    }
}

/// The models offered by [`WasmModel::share`], by handle. Weak: an entry keeps no model alive,
/// so the model is freed as soon as the last instance holding it lets it go (a pool's `unload`
/// needs nothing more), and a stale handle finds nothing rather than freed memory. In the
/// threaded build this static lives in the shared memory, so every worker's instance sees it.
static SHARED: Mutex<Option<SharedModels>> = Mutex::new(None);

#[derive(Default)]
struct SharedModels {
    next: u32,
    models: HashMap<u32, Weak<Model>>,
}

fn shared_models<T>(f: impl FnOnce(&mut SharedModels) -> T) -> T {
    // No code panics while holding the lock; a poisoned lock still holds a consistent map.
    let mut guard = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(guard.get_or_insert_with(SharedModels::default))
}

#[wasm_bindgen(js_class = Model)]
impl WasmModel {
    /// A handle to this model that another instance of the same memory turns into a `Model` of
    /// its own with `Model.fromShared`, without a copy: in the threaded
    /// build (`threaded()` is true) all the workers of a pool instantiate the module with one
    /// shared `WebAssembly.Memory`, and one of them loads the model for all. The handle is a
    /// small integer that keeps nothing alive: it finds the model as long as some instance
    /// still holds it. Calling it again gives the same handle.
    pub fn share(&self) -> u32 {
        let ptr = Arc::as_ptr(&self.model);
        shared_models(|shared| {
            shared.models.retain(|_, weak| weak.strong_count() > 0);
            if let Some((&id, _)) = shared
                .models
                .iter()
                .find(|(_, weak)| std::ptr::eq(weak.as_ptr(), ptr))
            {
                return id;
            }
            shared.next = shared.next.wrapping_add(1).max(1);
            let id = shared.next;
            shared.models.insert(id, Arc::downgrade(&self.model));
            id
        })
    }

    /// The model that `handle` (from `share()`, in an instance of the same
    /// memory) names, as a `Model` of this instance: the same model, not a copy. Freeing either
    /// object leaves the other working; the model goes when the last one is freed.
    ///
    /// # Errors
    /// `InvalidOptionError` when no live model has this handle (every holder freed it, or it
    /// was made in an instance of another memory: the plain build, or another pool).
    #[wasm_bindgen(js_name = fromShared)]
    pub fn from_shared(handle: u32) -> Result<WasmModel, JsValue> {
        shared_models(|shared| shared.models.get(&handle).and_then(Weak::upgrade))
            .map(WasmModel::of)
            .ok_or_else(|| {
                js_error(Error::InvalidOption {
                    name: "handle",
                    reason: format!(
                        "no model is shared under handle {handle} in this memory (all its \
                         holders freed it, or it comes from another memory)"
                    ),
                })
            })
    }

    /// How many `Model` objects, in all the instances of this memory, hold this model (1 when
    /// this one is the only one).
    #[wasm_bindgen(js_name = holders)]
    pub fn holders(&self) -> u32 {
        u32::try_from(Arc::strong_count(&self.model)).unwrap_or(u32::MAX)
    }

    /// Trains a model on all of `text` (for streamed input use `Trainer`).
    ///
    /// # Errors
    /// `InvalidOptionError` for bad options or a `text` that is not a string, `EmptyInputError`
    /// when the text has no word.
    pub fn train(
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TrainOptions")] options: JsValue,
    ) -> Result<WasmModel, JsValue> {
        let text = string_arg(&text, "text")?;
        let opts = self::options::<JsTrainOptions>(options)?.into_core();
        let mut trainer = Trainer::new(opts).map_err(js_error)?;
        trainer.feed(&text);
        trainer.finish().map(WasmModel::from).map_err(js_error)
    }

    /// Loads a model from bytes made by `toBytes` (or the CLI).
    ///
    /// `onProgress(fraction)`, when given, is called with the share of the load done: 0 first,
    /// then as the checksum, the decoding and the index advance (at most about 200 times, never
    /// going back), and 1 once the model is loaded. What it throws is thrown once the load
    /// ends (the load cannot stop midway; the model is dropped), and it is not called again.
    ///
    /// # Errors
    /// `NotAModelError`, `UnsupportedVersionError`, `TruncatedError` or `CorruptedError`;
    /// `InvalidOptionError` when `bytes` is not a `Uint8Array`, an `ArrayBuffer` or an array,
    /// or `onProgress` not a function; what `onProgress` throws.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | number[]")]
        bytes: JsValue,
        #[wasm_bindgen(js_name = onProgress, unchecked_optional_param_type = "OnProgress")]
        on_progress: JsValue,
    ) -> Result<WasmModel, JsValue> {
        let progress = progress_callback(&on_progress)?.map(Progress::new);
        // Owned: the one copy into wasm memory becomes the model's file (no second copy).
        let bytes = bytes_arg(&bytes, "bytes")?.to_vec();
        match progress {
            None => Model::from_vec(bytes)
                .map(WasmModel::from)
                .map_err(js_error),
            Some(p) => p.rethrow(
                Model::from_vec_with_progress(bytes, |f| p.report(f))
                    .map(WasmModel::from)
                    .map_err(js_error),
            ),
        }
    }

    /// Checks the header of `bytes` (magic, format version, length) without reading the rest,
    /// in no time: junk, foreign, future-version and truncated files fail here. `fromBytes`
    /// checks the checksum and content, and can still fail on bytes that pass.
    ///
    /// # Errors
    /// `NotAModelError`, `UnsupportedVersionError`, `TruncatedError` or `CorruptedError`;
    /// `InvalidOptionError` when `bytes` is not a `Uint8Array`, an `ArrayBuffer` or an array.
    #[wasm_bindgen(js_name = checkHeader)]
    pub fn check_header(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | number[]")]
        bytes: JsValue,
    ) -> Result<(), JsValue> {
        let bytes = bytes_arg(&bytes, "bytes")?;
        // Only the header crosses into wasm memory, not the file.
        let len = bytes.length();
        let head = bytes.subarray(0, len.min(HEADER_LEN as u32)).to_vec();
        format::check_prefix(&head, len.into()).map_err(js_error)
    }

    /// Loads a model from an ARPA file's text (for example one made by KenLM's `lmplz`).
    ///
    /// # Errors
    /// `ArpaError` (code `INVALID_ARPA`) naming the line at fault; `InvalidOptionError` when
    /// `text` is not a string.
    #[wasm_bindgen(js_name = fromArpa)]
    pub fn from_arpa(
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<WasmModel, JsValue> {
        Model::from_arpa(&string_arg(&text, "text")?)
            .map(WasmModel::from)
            .map_err(js_error)
    }

    /// Loads a model from an index image made by `toImage`: the built model itself, so nothing
    /// is built (a check of every block, no decoding or indexing), and the one copy of the
    /// bytes into wasm memory is all the memory the model takes.
    ///
    /// # Errors
    /// `NotAModelError` (a model file among others: load that with `fromBytes`),
    /// `UnsupportedVersionError` (an image of another build: make it again from the model
    /// file), `TruncatedError` or `CorruptedError`; `InvalidOptionError` when `bytes` is not a
    /// `Uint8Array`, an `ArrayBuffer` or an array.
    #[wasm_bindgen(js_name = fromImage)]
    pub fn from_image(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | number[]")]
        bytes: JsValue,
    ) -> Result<WasmModel, JsValue> {
        let bytes = bytes_arg(&bytes, "bytes")?.to_vec();
        Model::from_image_vec(bytes)
            .map(WasmModel::from)
            .map_err(js_error)
    }

    /// The model's index image: what `fromImage` loads without a build (about 8 bytes per
    /// n-gram more than `toBytes`): a cache to keep next to the model file, not an archive (a
    /// newer version may refuse it).
    #[wasm_bindgen(js_name = toImage)]
    pub fn to_image(&self) -> js_sys::Uint8Array {
        // Written straight into the JavaScript array, part by part: a copy of the image in wasm
        // memory first would grow it by the image's size for good (it never shrinks).
        let out = js_sys::Uint8Array::new_with_length(self.model.image_len() as u32);
        let mut w = JsArrayWriter { out: &out, at: 0 };
        // The array has exactly the image's length, so no write falls outside it.
        let _ = self.model.write_image(&mut w);
        out
    }

    /// The model file's bytes.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.model.to_bytes()
    }

    /// The model as an ARPA file's text.
    #[wasm_bindgen(js_name = toArpa)]
    pub fn to_arpa(&self) -> String {
        self.model.to_arpa()
    }

    /// Generates a continuation of `prompt`; returns `{ text, tokens, stats }`.
    ///
    /// `options` is a `GenerateOptions` object (`preset` first, then the fields set). Without a
    /// `seed` a fresh one is drawn below 2^53, so `stats.seed` always reproduces the text.
    ///
    /// `onToken(piece, token)`, when given, is called after every token; returning `false` stops
    /// generation (`stats.stopReason` is then `"cancelled"`). An exception it throws stops
    /// generation and is rethrown (a thrown non-`Error` value is wrapped in an `Error` whose
    /// `cause` it is). `onToken` may call `generate` again, on this model or another.
    ///
    /// # Errors
    /// `InvalidOptionError` for bad options, a `prompt` that is not a string or an `onToken`
    /// that is not a function; whatever `onToken` throws.
    #[wasm_bindgen(unchecked_return_type = "Generation")]
    pub fn generate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] prompt: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "GenerateOptions")] options: JsValue,
        #[wasm_bindgen(js_name = onToken, unchecked_optional_param_type = "OnToken")]
        on_token: JsValue,
    ) -> Result<JsValue, JsValue> {
        let prompt = string_arg(&prompt, "prompt")?;
        let prompt = prompt.as_str();
        let mut opts = generate_options(options)?.into_core().map_err(js_error)?;
        let callback = if on_token.is_undefined() || on_token.is_null() {
            None
        } else {
            Some(on_token.dyn_into::<js_sys::Function>().map_err(|_| {
                js_error(Error::InvalidOption {
                    name: "onToken",
                    reason: "must be a function (piece, token) => boolean | void".into(),
                })
            })?)
        };
        if opts.seed.is_none() {
            opts.seed = Some(self.model.next_seed() & MAX_SAFE_INTEGER);
        }
        // This object's cache; a generation started from inside an `onToken` callback of this
        // model (the cache is taken) uses the model's.
        let mut cache = self.cache.try_borrow_mut().ok();
        let mut run = |on_token: &mut dyn FnMut(&str, &str) -> bool| match cache.as_deref_mut() {
            Some(cache) => self
                .model
                .generate_text_cached(cache, prompt, &opts, on_token),
            None => self.model.generate_text(prompt, &opts, on_token),
        };
        let out = match callback {
            None => run(&mut |_, _| true),
            Some(f) => {
                let mut thrown = None;
                let out = run(&mut |piece, token| match f.call2(
                    &JsValue::UNDEFINED,
                    &JsValue::from_str(piece),
                    &JsValue::from_str(token),
                ) {
                    Ok(v) => v != JsValue::FALSE,
                    Err(e) => {
                        thrown = Some(e);
                        false
                    }
                });
                if let Some(e) = thrown {
                    return Err(thrown_error(e, "onToken"));
                }
                out
            }
        };
        let (text, ids, stats) = out.map_err(js_error)?;
        generation_to_js(&text, &ids, stats, self.token_strings())
    }

    /// Perplexity of `text` (KenLM `query` semantics).
    ///
    /// # Errors
    /// `InvalidOptionError` when `text` is not a string.
    #[wasm_bindgen(unchecked_return_type = "Perplexity")]
    pub fn perplexity(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<JsValue, JsValue> {
        let text = string_arg(&text, "text")?;
        result_to_js(self.model.perplexity(&text))
    }

    /// The likeliest next words after `context` (tokenized as training text is, from the start
    /// of a sentence), best first, each with its exact probability.
    ///
    /// # Errors
    /// `InvalidOptionError` when `context` is not a string or an option is malformed.
    #[wasm_bindgen(unchecked_return_type = "Prediction[]")]
    pub fn predict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] context: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PredictOptions | undefined")] options_value: JsValue,
    ) -> Result<JsValue, JsValue> {
        let context = string_arg(&context, "context")?;
        let opts = options::<JsPredictOptions>(options_value)?.into_core();
        result_to_js(self.model.predict(&context, &opts).map_err(js_error)?)
    }

    /// Per-token scores of `text`, as KenLM's `query -v word` gives them: one entry per
    /// sentence (non-empty line) with its tokens, then `</s>`, and their total.
    ///
    /// # Errors
    /// `InvalidOptionError` when `text` is not a string.
    #[wasm_bindgen(unchecked_return_type = "SentenceScore[]")]
    pub fn score(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<JsValue, JsValue> {
        let text = string_arg(&text, "text")?;
        result_to_js(self.model.score(&text))
    }

    /// `candidates` (words or phrases) ordered by their probability after `context`,
    /// likeliest first, with their log10 probabilities.
    ///
    /// # Errors
    /// `InvalidOptionError` when `context` is not a string or `candidates` not an array of
    /// strings.
    #[wasm_bindgen(unchecked_return_type = "Ranked[]")]
    pub fn rank(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] context: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string[]")] candidates: JsValue,
    ) -> Result<JsValue, JsValue> {
        let context = string_arg(&context, "context")?;
        let list: Vec<String> = if js_sys::Array::is_array(&candidates) {
            js_sys::Array::from(&candidates)
                .iter()
                .map(|c| string_arg(&c, "candidates"))
                .collect::<Result<_, _>>()?
        } else {
            return Err(js_error(Error::InvalidOption {
                name: "candidates",
                reason: "must be an array of strings".into(),
            }));
        };
        result_to_js(self.model.rank(&context, &list))
    }

    /// Summary figures: order, vocabulary size, patterns per order, sizes, how it was trained.
    ///
    /// # Errors
    /// Only if the result cannot be converted (never expected).
    #[wasm_bindgen(unchecked_return_type = "ModelInfo")]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        result_to_js(self.model.info())
    }

    /// Cumulative activation-cache figures over all finished `generate` calls (callable at any
    /// time, also from an `onToken` callback).
    ///
    /// # Errors
    /// Only if the result cannot be converted (never expected).
    #[wasm_bindgen(js_name = cacheStats, unchecked_return_type = "CacheStats")]
    pub fn cache_stats(&self) -> Result<JsValue, JsValue> {
        result_to_js(self.model.cache_stats())
    }
}

impl WasmModel {
    fn of(model: Arc<Model>) -> Self {
        WasmModel {
            model,
            tokens: OnceCell::new(),
            cache: RefCell::new(GenerationCache::default()),
        }
    }

    /// The core model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model's token strings by id, as one dense JavaScript array, made on first use: the
    /// vocabulary crosses as one string split in JavaScript (tokens hold no whitespace). A
    /// `JsValue::from_str` and an `Array.push` call per generated token cost about as much as
    /// drawing it, and an array filled id by id as tokens come is sparse and slow to read.
    fn token_strings(&self) -> &js_sys::Array {
        self.tokens.get_or_init(|| {
            let vocab = self.model.vocab();
            let mut joined = String::with_capacity(vocab.words().map(|w| w.len() + 1).sum());
            for (i, w) in vocab.words().enumerate() {
                if i > 0 {
                    joined.push('\n');
                }
                joined.push_str(w);
            }
            js_sys::JsString::from(joined).split("\n")
        })
    }
}
