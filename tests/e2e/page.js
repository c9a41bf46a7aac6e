import * as uellm from 'ultra-efficient-llm';

window.uellm = uellm;

/** `{ok: true, value}` or `{ok: false, ...error fields}` so tests can inspect errors. */
window.settle = async (promise) => {
  try {
    return { ok: true, value: await promise };
  } catch (e) {
    return { ok: false, name: e?.name, code: e?.code, message: e?.message, isError: e instanceof Error,
      isUellmError: e instanceof uellm.UellmError };
  }
};

/** CRC-32 (IEEE, as the model header's checksum), to make files with a valid checksum. */
window.crc32 = (bytes) => {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
};

/** Records the longest requestAnimationFrame gap and long tasks while `fn` runs. */
window.measureResponsiveness = async (fn) => {
  const longTasks = [];
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push(e.duration);
    });
    observer.observe({ type: 'longtask', buffered: false });
  } catch { /* longtask not supported */ }
  let maxGap = 0;
  let frames = 0;
  let last = performance.now();
  let running = true;
  const tick = (t) => {
    if (!running) return;
    maxGap = Math.max(maxGap, t - last);
    last = t;
    frames++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame((t) => { last = t; requestAnimationFrame(tick); });
  const t0 = performance.now();
  const value = await fn();
  const elapsedMs = performance.now() - t0;
  // Let one more frame land so a gap at the end is counted.
  await new Promise((r) => requestAnimationFrame(() => r()));
  running = false;
  observer?.disconnect();
  return { value, maxGapMs: maxGap, frames, elapsedMs, longTasks: longTasks.length,
    longestTaskMs: longTasks.length ? Math.max(...longTasks) : 0 };
};

document.getElementById('status').textContent = 'ready';
window.pageReady = true;
