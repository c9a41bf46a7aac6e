//! Training within a memory bound through the bindings (`BoundedTrainer`, `SecondPass`): the
//! model file is `Trainer.finishFile`'s, byte for byte, with the temporary files in an object
//! with a sync access handle's methods (on a page and in a worker) and in a real OPFS
//! `FileSystemSyncAccessHandle` (in a dedicated worker, the only place that can open one).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use ultra_efficient_llm_wasm::{SyncHandle, WasmBoundedTrainer, WasmTrainer};

use super::*;

#[wasm_bindgen(inline_js = r#"
// A sync access handle's read/write/truncate over a growing Uint8Array; `fail` makes writes
// throw as a full OPFS quota does.
export function memoryHandle() {
  let bytes = new Uint8Array(0);
  return globalThis.lastMemoryHandle = {
    fail: false, peak: 0,
    read(buf, { at }) {
      const n = Math.max(0, Math.min(buf.length, bytes.length - at));
      buf.set(bytes.subarray(at, at + n));
      return n;
    },
    write(buf, { at }) {
      if (this.fail) throw new DOMException('no room left', 'QuotaExceededError');
      if (at + buf.length > bytes.length) {
        const grown = new Uint8Array(Math.max(at + buf.length, bytes.length * 2));
        grown.set(bytes);
        bytes = grown.subarray(0, at + buf.length);
      }
      bytes.set(buf, at);
      this.peak = Math.max(this.peak, bytes.length);
      return buf.length;
    },
    truncate(n) { bytes = bytes.slice(0, n); },
    size() { return bytes.length; },
  };
}

// A real OPFS sync access handle (dedicated workers only), or null where there is none.
// An onProgress that keeps what it is called with, and what it kept.
export function collector() {
  globalThis.collected = [];
  return (f) => { globalThis.collected.push(f); };
}
export function collected() { return globalThis.collected; }

// [size, peak] of the last memory handle made.
export function lastHandleStats() {
  const h = globalThis.lastMemoryHandle;
  return [h.size(), h.peak];
}

export async function opfsHandle(name) {
  if (!globalThis.navigator?.storage?.getDirectory) return null;
  const dir = await navigator.storage.getDirectory();
  const file = await dir.getFileHandle(name, { create: true });
  if (typeof file.createSyncAccessHandle !== 'function') return null;
  return file.createSyncAccessHandle();
}

export async function removeOpfs(name) {
  const dir = await navigator.storage.getDirectory();
  await dir.removeEntry(name);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = memoryHandle)]
    fn memory_handle() -> JsValue;
    fn collector() -> JsValue;
    fn collected() -> Vec<f64>;
    #[wasm_bindgen(js_name = lastHandleStats)]
    fn last_handle_stats() -> Vec<f64>;
    #[wasm_bindgen(js_name = opfsHandle)]
    fn opfs_handle(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = removeOpfs)]
    fn remove_opfs(name: &str) -> js_sys::Promise;
}

/// The file `Trainer.finishFile` makes of `text` at `options`.
fn in_memory(text: &str, options: &JsValue) -> Vec<u8> {
    let mut t = WasmTrainer::new(options.clone()).unwrap();
    t.feed(s(text)).unwrap();
    let file = t.finish_file(JsValue::UNDEFINED).unwrap();
    field(&file, "bytes")
        .unchecked_into::<js_sys::Uint8Array>()
        .to_vec()
}

/// The `{bytes, info}` of a bounded training of `text` (fed as bytes in pieces of 999) within
/// `memory` bytes, its files in `handle`.
fn bounded(
    text: &str,
    options: &JsValue,
    memory: f64,
    handle: &JsValue,
) -> Result<JsValue, JsValue> {
    let handle: SyncHandle = handle.clone().unchecked_into();
    let mut first = WasmBoundedTrainer::new(options.clone(), memory, handle)?;
    for piece in text.as_bytes().chunks(999) {
        first.feed_bytes(b(piece))?;
    }
    assert_eq!(first.bytes_seen(), text.len() as f64);
    let mut second = first.second_pass()?;
    for piece in text.as_bytes().chunks(999) {
        second.feed_bytes(b(piece))?;
    }
    second.finish_file(collector())
}

/// `get`, with the value in the message when it is no object.
fn field(v: &JsValue, k: &str) -> JsValue {
    assert!(v.is_object(), "{k} of {v:?}");
    get(v, k)
}

fn bytes_of(file: &JsValue) -> Vec<u8> {
    field(file, "bytes")
        .unchecked_into::<js_sys::Uint8Array>()
        .to_vec()
}

#[wasm_bindgen_test]
fn a_bounded_training_makes_the_file_of_training_in_memory() {
    setup();
    let o5 = obj(&[("maxPatternLength", num(5.0)), ("minFrequency", num(2.0))]);
    for options in [order3(), o5] {
        let whole = in_memory(TINY, &options);
        // 32 KB: dozens of runs, and sorts that spill; 1 GB: one run.
        for memory in [32768.0, 1e9] {
            let handle = memory_handle();
            let file = bounded(TINY, &options, memory, &handle).unwrap();
            assert!(bytes_of(&file) == whole, "memory {memory}");
            let built = field(&file, "built");
            assert_eq!(get_f64(&built, "fileBytes"), whole.len() as f64);
            assert_eq!(
                get_f64(&built, "runs") > 1.0,
                memory < 1e6,
                "memory {memory}"
            );
            // The temporary files went to the handle, and it is empty again.
            let [size, peak] = last_handle_stats()[..] else {
                panic!("no handle stats")
            };
            assert_eq!(size, 0.0);
            assert!(peak > 0.0);
        }
    }
}

#[wasm_bindgen_test]
fn a_bounded_training_gives_typed_errors() {
    setup();
    let handle = memory_handle();
    // A full quota fails the build with an IoError that says so.
    Reflect::set(&handle, &s("fail"), &JsValue::TRUE).unwrap();
    let err = bounded(TINY, &order3(), 4096.0, &handle).unwrap_err();
    let message = assert_js_error(&err, "IoError", "IO_ERROR");
    assert!(message.contains("QuotaExceededError"), "{message}");
    // Another text in the second pass.
    let handle = memory_handle();
    let h: SyncHandle = handle.clone().unchecked_into();
    let mut first = WasmBoundedTrainer::new(order3(), 4096.0, h).unwrap();
    first.feed(s("a b c\n")).unwrap();
    let mut second = first.second_pass().unwrap();
    second.feed(s("a b d\n")).unwrap();
    let message = assert_js_error(
        &second.finish_file(JsValue::UNDEFINED).unwrap_err(),
        "IoError",
        "IO_ERROR",
    );
    assert!(
        message.contains("changed between the two passes"),
        "{message}"
    );
    // A bound that is no whole number of bytes; maxPatterns; no text.
    for memory in [0.0, 1.5, f64::NAN] {
        let h: SyncHandle = memory_handle().unchecked_into();
        let err = WasmBoundedTrainer::new(order3(), memory, h).err().unwrap();
        assert_invalid_option(&err, "memory");
    }
    let h: SyncHandle = memory_handle().unchecked_into();
    let capped = obj(&[("maxPatterns", num(10.0))]);
    let err = WasmBoundedTrainer::new(capped, 4096.0, h).err().unwrap();
    assert_invalid_option(&err, "maxPatterns");
    let h: SyncHandle = memory_handle().unchecked_into();
    let first = WasmBoundedTrainer::new(order3(), 4096.0, h).unwrap();
    assert_js_error(
        &first.second_pass().err().unwrap(),
        "EmptyInputError",
        "EMPTY_INPUT",
    );
}

#[wasm_bindgen_test]
async fn a_bounded_training_spills_to_the_origin_private_file_system() {
    setup();
    let name = "uellm-bounded-test";
    let handle = wasm_bindgen_futures::JsFuture::from(opfs_handle(name))
        .await
        .unwrap();
    if handle.is_null() {
        // A page: sync access handles exist in dedicated workers only (wasm_worker.rs).
        assert!(Reflect::has(&js_sys::global(), &s("document")).unwrap());
        return;
    }
    let options = obj(&[("maxPatternLength", num(4.0))]);
    let file = bounded(TINY, &options, 32768.0, &handle);
    let size = get(&handle, "getSize").unchecked_into::<js_sys::Function>();
    let left = size.call0(&handle).unwrap().as_f64();
    let close = get(&handle, "close").unchecked_into::<js_sys::Function>();
    close.call0(&handle).unwrap();
    wasm_bindgen_futures::JsFuture::from(remove_opfs(name))
        .await
        .unwrap();
    assert!(bytes_of(&file.unwrap()) == in_memory(TINY, &options));
    assert_eq!(left, Some(0.0));
}
