//! The JavaScript `BoundedTrainer` class: training within a memory bound, the text read twice,
//! the temporary files in one OPFS `FileSystemSyncAccessHandle` (or any object with its
//! `read`, `write` and `truncate`), as the training worker does with a `memory` bound.
//!
//! ```text
//! const handle = await (await dir.getFileHandle('t', { create: true })).createSyncAccessHandle();
//! const first = new BoundedTrainer({ maxPatternLength: 5 }, 256 * 2 ** 20, handle);
//! first.feedBytes(chunk);                 // the whole text
//! const second = first.secondPass();      // consumes the first
//! second.feedBytes(chunk);                // the same text again
//! const { bytes, built } = second.finishFile();    // built.fileBytes, built.runs, ...
//! ```

use std::cell::RefCell;
use std::io;

use wasm_bindgen::prelude::*;

use crate::options::{js_error, options, JsTrainOptions};
use crate::{progress_callback, Progress};
use ultra_efficient_llm::{BoundedTrainer, Disk, Error, SecondPass};

#[wasm_bindgen]
extern "C" {
    /// What the temporary files go to: the methods of an OPFS `FileSystemSyncAccessHandle`
    /// that a bounded build uses (an object with the same three, over Node's `fs`, serves too).
    #[wasm_bindgen(typescript_type = "SyncAccessHandle")]
    pub type SyncHandle;

    #[wasm_bindgen(method, catch)]
    fn read(this: &SyncHandle, buf: &js_sys::Uint8Array, opts: &JsValue) -> Result<f64, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn write(this: &SyncHandle, buf: &js_sys::Uint8Array, opts: &JsValue) -> Result<f64, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn truncate(this: &SyncHandle, len: f64) -> Result<(), JsValue>;
}

thread_local! {
    /// The handles of the live builds of this thread, by slot: a handle is a JavaScript value,
    /// which may not leave its thread, and a [`Disk`] must be `Send` (the native build shares
    /// it between threads); a disk holds its slot, and finds its handle here.
    static HANDLES: RefCell<Vec<Option<SyncHandle>>> = const { RefCell::new(Vec::new()) };
}

/// A [`Disk`] over the handle in its slot of [`HANDLES`]. Bytes go through a JavaScript
/// array, not a view of the module's memory: a sync access handle refuses a view of the
/// threaded build's shared memory.
struct JsDisk {
    slot: usize,
}

impl JsDisk {
    fn new(handle: SyncHandle) -> JsDisk {
        HANDLES.with(|h| {
            let mut h = h.borrow_mut();
            let slot = h.iter().position(Option::is_none).unwrap_or(h.len());
            if slot == h.len() {
                h.push(None);
            }
            h[slot] = Some(handle);
            JsDisk { slot }
        })
    }

    fn with<T>(&self, f: impl FnOnce(&SyncHandle) -> Result<T, JsValue>) -> io::Result<T> {
        HANDLES.with(|h| {
            let h = h.borrow();
            let handle = h.get(self.slot).and_then(Option::as_ref).ok_or_else(|| {
                io::Error::other("the temporary file's handle is not on this thread")
            })?;
            f(handle).map_err(|e| io::Error::other(js_message(&e)))
        })
    }
}

impl Drop for JsDisk {
    fn drop(&mut self) {
        HANDLES.with(|h| {
            if let Some(s) = h.borrow_mut().get_mut(self.slot) {
                *s = None;
            }
        });
    }
}

/// `{at}`, the options of a read or write at `at`.
fn at(at: u64) -> JsValue {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &JsValue::from_str("at"), &JsValue::from_f64(at as f64));
    o.into()
}

/// A thrown value's message (a `DOMException`'s name too: `QuotaExceededError`).
fn js_message(e: &JsValue) -> String {
    let get = |k: &str| {
        js_sys::Reflect::get(e, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
    };
    match (get("name"), get("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (None, Some(m)) => m,
        _ => format!("{e:?}"),
    }
}

impl Disk for JsDisk {
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<()> {
        let tmp = js_sys::Uint8Array::new_with_length(buf.len() as u32);
        let n = self.with(|h| h.read(&tmp, &at(pos)))?;
        if n as usize != buf.len() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        tmp.copy_to(buf);
        Ok(())
    }

    fn write_at(&mut self, pos: u64, buf: &[u8]) -> io::Result<()> {
        let tmp = js_sys::Uint8Array::from(buf);
        let n = self.with(|h| h.write(&tmp, &at(pos)))?;
        if n as usize != buf.len() {
            return Err(io::Error::other(format!(
                "the temporary file took {n} of {} bytes (is the storage quota full?)",
                buf.len()
            )));
        }
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.with(|h| h.truncate(len as f64))
    }
}

/// The model file as it is written, in JavaScript arrays: not in the module's memory, which
/// never shrinks, and which the bound is there to keep small.
#[derive(Default)]
struct JsChunks {
    chunks: Vec<js_sys::Uint8Array>,
    len: u32,
}

impl io::Write for JsChunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len = u32::try_from(buf.len())
            .ok()
            .and_then(|n| self.len.checked_add(n))
            .ok_or_else(|| io::Error::other("a model file of 4 GiB or more"))?;
        self.chunks.push(js_sys::Uint8Array::from(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl JsChunks {
    /// The chunks as one array.
    fn concat(self) -> js_sys::Uint8Array {
        let out = js_sys::Uint8Array::new_with_length(self.len);
        let mut at = 0;
        for c in self.chunks {
            out.set(&c, at);
            at += c.length();
        }
        out
    }
}

/// The memory bound, a whole number of bytes.
fn memory_arg(memory: f64) -> Result<u64, JsValue> {
    if !(memory >= 1.0 && memory.fract() == 0.0 && memory <= crate::MAX_SAFE_INTEGER as f64) {
        return Err(js_error(Error::InvalidOption {
            name: "memory",
            reason: format!("must be a whole number of bytes from 1 to 2^53 - 1, got {memory}"),
        }));
    }
    Ok(memory as u64)
}

/// The first pass of a training within a memory bound, the JavaScript `BoundedTrainer` class.
#[wasm_bindgen(js_name = BoundedTrainer)]
pub struct WasmBoundedTrainer {
    first: BoundedTrainer,
}

feeding!(WasmBoundedTrainer, BoundedTrainer, first);

#[wasm_bindgen(js_class = BoundedTrainer)]
impl WasmBoundedTrainer {
    /// `new BoundedTrainer(options, memory, handle)`: the first pass (which counts the words)
    /// of a training with `options` within about `memory` bytes of WebAssembly memory beyond
    /// the vocabulary, its temporary files in `handle` (an OPFS `FileSystemSyncAccessHandle`,
    /// which only a dedicated worker can open; it is cut back to 0 bytes when the training
    /// ends, and the caller closes it). The model file is the one `Trainer.finishFile` makes
    /// of the same text, byte for byte.
    ///
    /// # Errors
    /// `InvalidOptionError` for an unknown option, a value out of range, `maxPatterns` (not
    /// available in bounded memory) or a `memory` that is no whole number of bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "TrainOptions | undefined | null")] options: JsValue,
        memory: f64,
        handle: SyncHandle,
    ) -> Result<WasmBoundedTrainer, JsValue> {
        let opts = self::options::<JsTrainOptions>(options)?.into_core();
        let memory = memory_arg(memory)?;
        let disk = Box::new(JsDisk::new(handle));
        let first = BoundedTrainer::on_disk(opts, memory, disk).map_err(js_error)?;
        Ok(WasmBoundedTrainer { first })
    }

    /// Ends the first pass (this trainer is consumed) and starts the second, to which the same
    /// text is to be fed again.
    ///
    /// # Errors
    /// `EmptyInputError` when no word was fed; `NotTextError` when the input ends inside a
    /// UTF-8 character; `TooLargeError` when a pattern's words take more than 128 bits.
    #[wasm_bindgen(js_name = secondPass)]
    pub fn second_pass(self) -> Result<WasmSecondPass, JsValue> {
        let second = self.first.second_pass().map_err(js_error)?;
        Ok(WasmSecondPass { second })
    }
}

/// The second pass of a `BoundedTrainer`, the JavaScript `SecondPass` class.
#[wasm_bindgen(js_name = SecondPass)]
pub struct WasmSecondPass {
    second: SecondPass,
}

// The same text as the first pass, fed again.
feeding!(WasmSecondPass, SecondPass, second);

#[wasm_bindgen(js_class = SecondPass)]
impl WasmSecondPass {
    /// Writes the model file: `{bytes, built}`, where `built` gives the build's figures
    /// (`fileBytes`, `ngrams` per order, `prunedPatterns`, `sentences`, `tokens`, `vocabSize`,
    /// `runs`, and `seconds` of its steps: `merge`, `derive`, `streams`, `write`). The model's
    /// `info()` is not computed here: that would parse the model in this memory, which the bound
    /// is there to keep small. The pass is consumed; the temporary files are removed whatever
    /// happens. `onProgress(fraction)`, when given, is called with the share of the build done:
    /// 0, then about twice per pattern length, then 1 (what it throws is thrown once the build
    /// ends).
    ///
    /// # Errors
    /// `IoError` when the temporary file fails (a full quota, a closed handle) or when this
    /// pass did not read the first pass's text; `NotTextError` when the input ends inside a
    /// UTF-8 character; `InvalidOptionError` when `onProgress` is not a function; what it
    /// throws.
    #[wasm_bindgen(js_name = finishFile, unchecked_return_type = "BoundedFile")]
    pub fn finish_file(
        mut self,
        #[wasm_bindgen(js_name = onProgress, unchecked_optional_param_type = "OnProgress")]
        on_progress: JsValue,
    ) -> Result<JsValue, JsValue> {
        let progress = progress_callback(&on_progress)?.map(Progress::new);
        if let Some(p) = progress.clone() {
            self.second.on_progress(move |f| p.report(f));
        }
        let mut chunks = JsChunks::default();
        let built = self.second.finish(&mut chunks).map_err(js_error);
        let built = match &progress {
            Some(p) => p.rethrow(built)?,
            None => built?,
        };
        let set = |o: &js_sys::Object, k: &str, v: JsValue| {
            js_sys::Reflect::set(o, &JsValue::from_str(k), &v).map(|_| ())
        };
        let b = js_sys::Object::new();
        set(&b, "fileBytes", (built.file_bytes as f64).into())?;
        let ngrams: js_sys::Array = built
            .ngrams
            .iter()
            .map(|&n| JsValue::from(n as f64))
            .collect();
        set(&b, "ngrams", ngrams.into())?;
        set(&b, "prunedPatterns", (built.pruned_patterns as f64).into())?;
        set(&b, "sentences", (built.sentences as f64).into())?;
        set(&b, "tokens", (built.tokens as f64).into())?;
        set(&b, "vocabSize", (built.vocab_size as f64).into())?;
        set(&b, "runs", (built.runs as f64).into())?;
        let steps = js_sys::Object::new();
        set(&steps, "merge", built.steps.merge.into())?;
        set(&steps, "derive", built.steps.derive.into())?;
        set(&steps, "streams", built.steps.streams.into())?;
        set(&steps, "write", built.steps.write.into())?;
        set(&b, "seconds", steps.into())?;
        let out = js_sys::Object::new();
        set(&out, "bytes", chunks.concat().into())?;
        set(&out, "built", b.into())?;
        Ok(out.into())
    }
}
