//! The JavaScript `Trainer` class: text fed in chunks (as a worker streams a file), then
//! `finish()` into a `Model`, or `finishFile()` into the model's file only.

use wasm_bindgen::prelude::*;

use crate::model::WasmModel;
use crate::options::{js_error, options, JsTrainOptions};
use crate::results::result_to_js;
use crate::{progress_callback, Progress, MAX_SAFE_INTEGER};
use ultra_efficient_llm::{Error, Phase, Trainer};

/// An incremental trainer, the JavaScript `Trainer` class.
#[wasm_bindgen(js_name = Trainer)]
pub struct WasmTrainer {
    trainer: Trainer,
}

// `feed`, `feedBytes`, `bytesSeen`, as the bounded trainer's passes have them.
feeding!(WasmTrainer, Trainer, trainer);

#[wasm_bindgen(js_class = Trainer)]
impl WasmTrainer {
    /// `new Trainer(options?)` with a `TrainOptions` object.
    ///
    /// # Errors
    /// `InvalidOptionError` for an unknown option or a value out of range.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "TrainOptions")] options: JsValue,
    ) -> Result<WasmTrainer, JsValue> {
        let opts = self::options::<JsTrainOptions>(options)?.into_core();
        let trainer = Trainer::new(opts).map_err(js_error)?;
        Ok(WasmTrainer { trainer })
    }

    /// Announces how many bytes will be fed in all (sizes buffers; optional).
    ///
    /// # Errors
    /// `InvalidOptionError` unless `n` is an integer from 0 to 2^53 - 1.
    #[wasm_bindgen(js_name = setTotalBytes)]
    pub fn set_total_bytes(&mut self, n: f64) -> Result<(), JsValue> {
        if !(n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE_INTEGER as f64) {
            return Err(js_error(Error::InvalidOption {
                name: "totalBytes",
                reason: format!("must be an integer from 0 to 2^53 - 1, got {n}"),
            }));
        }
        self.trainer.set_total_bytes(n as u64);
        Ok(())
    }

    /// Counts, smooths and indexes everything fed into a `Model`. The trainer is consumed
    /// (freed), whether this succeeds or not.
    ///
    /// `onProgress(fraction)`, when given, is called with the share of the work done: 0 first,
    /// then as the patterns are counted, smoothed and indexed (at most about 200 times, never
    /// going back; it may jump ahead when the counting ends, as the work that remains is known
    /// only then), and 1 at the end. What it throws is thrown once the call ends (it cannot stop
    /// midway; the model is dropped), and it is not called again.
    ///
    /// # Errors
    /// `EmptyInputError` when no word was fed; `NotTextError` when the input ends inside a UTF-8
    /// character; `InvalidOptionError` when `onProgress` is not a function; what it throws.
    pub fn finish(
        mut self,
        #[wasm_bindgen(js_name = onProgress, unchecked_optional_param_type = "OnProgress")]
        on_progress: JsValue,
    ) -> Result<WasmModel, JsValue> {
        let progress = self.listen(&on_progress)?;
        let out = self.trainer.finish().map(WasmModel::from).map_err(js_error);
        match progress {
            Some(p) => p.rethrow(out),
            None => out,
        }
    }

    /// Counts and smooths everything fed into a model file, without building the model (no
    /// generation index: faster, and less memory): `{bytes, info}`, where
    /// `Model.fromBytes(bytes)` is the model `finish()` would return and `info` its `info()`.
    /// For a model used elsewhere, as the training worker's is. The trainer is consumed.
    /// `onProgress` as for `finish()`.
    ///
    /// # Errors
    /// As `finish()`.
    #[wasm_bindgen(js_name = finishFile, unchecked_return_type = "ModelFile")]
    pub fn finish_file(
        mut self,
        #[wasm_bindgen(js_name = onProgress, unchecked_optional_param_type = "OnProgress")]
        on_progress: JsValue,
    ) -> Result<JsValue, JsValue> {
        let progress = self.listen(&on_progress)?;
        let file = self.trainer.finish_file().map_err(js_error);
        let file = match progress {
            Some(p) => p.rethrow(file)?,
            None => file?,
        };
        let out = js_sys::Object::new();
        let bytes = js_sys::Uint8Array::from(&file.bytes[..]);
        js_sys::Reflect::set(&out, &JsValue::from_str("bytes"), &bytes)?;
        let info = result_to_js(file.info)?;
        js_sys::Reflect::set(&out, &JsValue::from_str("info"), &info)?;
        Ok(out.into())
    }
}

impl WasmTrainer {
    /// Has the core report the build's fraction to `on_progress` (when it is a function).
    fn listen(&mut self, on_progress: &JsValue) -> Result<Option<Progress>, JsValue> {
        let Some(progress) = progress_callback(on_progress)?.map(Progress::new) else {
            return Ok(None);
        };
        let p = progress.clone();
        // Reports while text is fed carry no fraction of the build.
        self.trainer.on_progress(move |r| {
            if r.phase != Phase::Counting {
                p.report(r.fraction);
            }
        });
        Ok(Some(progress))
    }
}
