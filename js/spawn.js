// How the pool's module workers are started, and what a failed start is reported as.
//
// * Cross-origin packages (a CDN): `new Worker(url)` only takes a same-origin script and throws a
//   SecurityError otherwise. Such a worker is started from a same-origin `blob:` module whose only
//   line imports the real worker.js; the real module's `import.meta.url` is its own (CDN) URL, so
//   its relative imports (core.js, the glue, the .wasm) resolve against the CDN as they should.
//   The CDN must send CORS headers (public npm CDNs do), and a page's CSP must allow `blob:`
//   workers (`worker-src blob:`).
// * A worker whose script cannot be loaded (a bundler such as esbuild that does not emit it, a
//   folder copied without it, a wrong MIME type) fires a bare `error` event with no message. The
//   pool turns that into a WorkerCrashedError; `explainStartFailure` looks at the URL itself and
//   turns it into a WorkerLoadError that names the URL, what the server answered, and what to do.
import { WorkerCrashedError, WorkerLoadError } from './errors.js';

const HINT = 'If your bundler does not emit the worker (esbuild, Rollup without a worker plugin), '
  + "bundle 'ultra-efficient-llm/worker.js' as an entry of its own, put ultra_efficient_llm_bg.wasm "
  + 'next to it, and pass its URL: create({ workerUrl }). Without a bundler, serve the whole '
  + 'package folder (index.js, worker.js, core.js, storage.js, errors.js, spawn.js, '
  + 'ultra_efficient_llm.js, ultra_efficient_llm_bg.wasm) as it is.';

/**
 * Where worker.js is when nothing rewrote the package's URLs (no bundler, a CDN, esbuild): next to
 * this module. Not written as `new URL('./worker.js', import.meta.url)`: bundlers take that form
 * for an asset reference (Vite would copy the unbundled worker.js a second time, webpack warns
 * about a "critical dependency" when the name is a variable).
 */
export function beside(file) {
  const base = import.meta.url;
  return new URL(file, base);
}

/** One bootstrap `blob:` URL per worker URL, kept for the page's life (a few bytes each). */
const bootstraps = new Map();
/** Worker URLs whose bootstrap the page's Content-Security-Policy refused (worker-src). */
const refusedByCsp = new Set();
let watchingCsp = false;

/**
 * Chromium does not throw when a CSP refuses a blob: worker: the worker just fails, as a missing
 * script would. The page's `securitypolicyviolation` event says which it was.
 */
function watchCsp() {
  if (watchingCsp || typeof globalThis.addEventListener !== 'function') return;
  watchingCsp = true;
  globalThis.addEventListener('securitypolicyviolation', (e) => {
    for (const [href, boot] of bootstraps) if (e.blockedURI === boot || e.blockedURI === 'blob') refusedByCsp.add(href);
  });
}

/**
 * Starts a worker: `direct()` (the `new Worker(...)` call, written out literally by the caller so
 * that bundlers see it), or, when the browser refuses it as cross-origin, a same-origin `blob:`
 * bootstrap that imports `url`. Throws a WorkerLoadError when neither is allowed.
 */
export function spawnWorker(url, options, direct) {
  try {
    return direct();
  } catch (err) {
    if (err?.name !== 'SecurityError' || !url) throw err;
    const href = String(url);
    let boot = bootstraps.get(href);
    try {
      if (!boot) {
        boot = URL.createObjectURL(new Blob([`import ${JSON.stringify(href)};\n`], { type: 'text/javascript' }));
        bootstraps.set(href, boot);
        watchCsp();
      }
      return new Worker(boot, options);
    } catch (again) {
      throw new WorkerLoadError(crossOriginMessage(href, `${again?.name ?? 'Error'}: ${again?.message ?? again}`),
        { url: href, cause: again });
    }
  }
}

/**
 * The error `create()` rejects with when the pool could not start. A bare worker crash during the
 * start is almost always a script that did not load: fetch the URL to say which and why. `url` is
 * where the worker was expected (`null` when unknown, e.g. a bundler rewrote it).
 */
export async function explainStartFailure(err, url) {
  if (!(err instanceof WorkerCrashedError) || !url) return err;
  const href = String(url);
  // A bundler (webpack) may replace import.meta.url with the source file's file: URL at build
  // time: then the URL computed here is not the one the worker used, and fetching it says nothing.
  const page = globalThis.location?.protocol;
  if (/^file:/.test(href) && page && page !== 'file:') return err;
  // (The violation event is queued when the worker is created, long before its error; one more
  // task lets a late one through.)
  if (bootstraps.has(href)) await new Promise((r) => { setTimeout(r, 0); });
  if (refusedByCsp.has(href)) {
    return new WorkerLoadError(crossOriginMessage(href, "the page's Content-Security-Policy refused the blob: worker"),
      { url: href, cause: err });
  }
  let answer;
  try {
    const res = await fetch(href, { cache: 'no-store' });
    const type = res.headers.get('content-type') ?? '';
    res.body?.cancel?.();
    if (!res.ok) answer = `the server answered HTTP ${res.status} ${res.statusText}`.trimEnd();
    else if (!/javascript|ecmascript/i.test(type)) answer = `it is served as "${type || 'no content type'}", not JavaScript`;
  } catch (e) {
    answer = `fetching it failed (${e?.message ?? e})`;
  }
  if (bootstraps.has(href)) {
    return new WorkerLoadError(crossOriginMessage(href, answer ?? 'the worker did not start'), { url: href, cause: err });
  }
  const message = answer
    ? `the worker script ${href} could not be loaded: ${answer}. ${HINT}`
    // The script itself is there: one of its imports (or the script's evaluation) failed.
    : `the worker script ${href} loads, but the worker did not start: a module it imports could not `
      + `be loaded or threw (${err.message}). ${HINT}`;
  return new WorkerLoadError(message, { url: href, cause: err });
}

/** What failed, and what to do, for a worker script on another origin (a CDN). */
function crossOriginMessage(href, why) {
  const page = globalThis.location?.origin;
  return `the worker script ${href} is on another origin than this page (${page}), so it is started `
    + `from a same-origin blob: module that imports it, and that failed: ${why}. The page's `
    + "Content-Security-Policy must allow blob: workers (worker-src 'self' blob:) and scripts and "
    + `fetches from ${new URL(href).origin}, and that server must send CORS headers `
    + '(Access-Control-Allow-Origin). Or serve the package from this page\'s origin, or pass '
    + 'create({ workerUrl }) with a same-origin copy of the worker.';
}
