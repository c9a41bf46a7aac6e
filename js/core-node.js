// `ultra-efficient-llm/core` under Node.js (the package's exports map picks this file with the
// "node" condition; browsers and bundlers get the wasm-pack glue itself). Everything is the glue's,
// except the default `init()`: the glue fetches the .wasm next to itself, and Node's fetch does not
// read file: URLs (it fails with a bare "fetch failed"). Here a file: URL or a path is read from
// disk and handed to the glue as bytes; anything else (bytes, a WebAssembly.Module, a Response,
// an http(s) URL) goes to the glue unchanged.
import { readFile } from 'node:fs/promises';
import glueInit from './ultra_efficient_llm.js';

export * from './ultra_efficient_llm.js';

const DEFAULT_WASM = new URL('./ultra_efficient_llm_bg.wasm', import.meta.url);

/** A file: URL (or a path string) to read from disk; null for anything the glue takes itself. */
function localFile(source) {
  if (source === undefined || source === null) return DEFAULT_WASM;
  if (source instanceof URL) return source.protocol === 'file:' ? source : null;
  if (typeof source === 'string') {
    if (/^file:/i.test(source)) return new URL(source);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return null; // http(s) and other schemes
    return source; // a path
  }
  return null;
}

/**
 * Initialises the module; resolves to its exports. Same arguments as the glue's `init`
 * (`{ module_or_path }`, or the source itself); with none, reads ultra_efficient_llm_bg.wasm from
 * this package's folder.
 */
export default async function init(arg) {
  const wrapped = arg !== null && typeof arg === 'object' && Object.getPrototypeOf(arg) === Object.prototype;
  const source = wrapped ? arg.module_or_path : arg;
  const file = localFile(source);
  if (file === null) return glueInit(arg);
  const bytes = await readFile(file);
  return glueInit(wrapped ? { ...arg, module_or_path: bytes } : { module_or_path: bytes });
}
