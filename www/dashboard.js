// Dashboard panel: health, live worker-pool counts, per-op latency (table + uPlot chart over
// time), cache hit rate and model memory. Refreshed every 500 ms while the tab is visible (and the
// page is); nothing runs while it is hidden. uPlot (npm `uplot`, MIT) is copied into ./vendor/ by
// scripts/build-www.sh and imported on first use; it only draws on a canvas and sets styles through
// the CSSOM, so it works under the page's CSP (no 'unsafe-inline', no eval).
import { $, describeError, formatBytes, formatInt, formatMs, formatPct, show, workerCount } from './ui.js';

const TICK_MS = 500;
const MAX_POINTS = 600; // 5 minutes of samples

export function initDashboard(app) {
  const chartBox = $('dash-chart');
  const chartEmpty = $('dash-chart-empty');
  const msg = $('dash-msg');
  const rows = $('dash-op-rows');
  // Columns of the chart: time (s since epoch), generate p50 (ms), generate p95 (ms).
  const series = [[], [], []];
  let timer = null;
  let plot = null;
  let uPlotPromise = null;
  let lastCount = -1; // generate calls seen at the latest sample
  let resizeObs = null;

  const visible = () => app.tab === 'dashboard' && document.visibilityState === 'visible';

  function loadUPlot() {
    uPlotPromise ??= import('./vendor/uPlot.esm.js').then((m) => m.default);
    return uPlotPromise;
  }

  function chartWidth() {
    return Math.max(240, Math.floor(chartBox.clientWidth || chartBox.parentElement.clientWidth || 600));
  }

  async function ensurePlot() {
    if (plot) return plot;
    let UPlot;
    try {
      UPlot = await loadUPlot();
    } catch (err) {
      show(msg, `Could not load the chart library: ${describeError(err)}`, 'error');
      return null;
    }
    if (plot) return plot;
    const opts = {
      width: chartWidth(),
      height: 240,
      cursor: { drag: { x: false, y: false } },
      // A legend of the series names only: live values under the cursor read "--" when idle.
      legend: { live: false },
      scales: { x: { time: true }, y: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: '#5b6475', grid: { stroke: '#eceef3' } },
        { stroke: '#5b6475', grid: { stroke: '#eceef3' }, label: 'ms', size: 50 },
      ],
      series: [
        {},
        { label: 'generate p50', stroke: '#1f5fbf', width: 2, value: (u, v) => (v == null ? '–' : `${v.toFixed(1)} ms`) },
        { label: 'generate p95', stroke: '#d9822b', width: 2, dash: [6, 4], value: (u, v) => (v == null ? '–' : `${v.toFixed(1)} ms`) },
      ],
    };
    plot = new UPlot(opts, series, chartBox);
    resizeObs = new ResizeObserver(() => {
      if (plot && chartBox.clientWidth) plot.setSize({ width: chartWidth(), height: 240 });
    });
    resizeObs.observe(chartBox);
    return plot;
  }

  function renderOps(ops) {
    const names = Object.keys(ops).sort();
    rows.replaceChildren(...names.map((name) => {
      const o = ops[name];
      const tr = document.createElement('tr');
      tr.dataset.op = name;
      const cells = [name, formatInt(o.count), formatInt(o.errors), ms(o.p50Ms), ms(o.p95Ms), ms(o.maxMs),
        o.worker ? ms(o.worker.meanMs) : '–'];
      for (const [i, text] of cells.entries()) {
        const td = document.createElement('td');
        td.textContent = text;
        if (i > 0) td.className = 'num';
        tr.append(td);
      }
      return tr;
    }));
  }

  async function tick() {
    const llm = app.llm;
    if (!llm) {
      $('dash-status').textContent = 'starting';
      return;
    }
    let h;
    let m;
    try {
      h = llm.health();
      m = llm.metrics();
    } catch (err) {
      show(msg, describeError(err), 'error');
      return;
    }
    $('dash-status').textContent = h.status;
    $('dash-status').dataset.status = h.status;
    $('dash-model').textContent = h.modelLoaded ? 'yes' : 'no';
    $('dash-time').textContent = new Date(h.timestamp).toLocaleTimeString();
    $('dash-busy').textContent = String(h.workers.busy);
    $('dash-idle').textContent = String(h.workers.idle);
    $('dash-queued').textContent = String(h.queued);
    $('dash-training').textContent = h.training.busy ? `busy (${h.training.queued} queued)` : `idle (${h.training.queued} queued)`;
    for (const id of ['dash-busy', 'dash-idle', 'dash-queued']) $(id).dataset.value = $(id).textContent;

    // One copy of the model per generation worker, and what the pool's workers hold in all
    // (WebAssembly memory never shrinks: it stays after an unload).
    const copies = m.memory.workers.filter((w) => w.modelBytes > 0).length;
    const pool = `pool: ${formatBytes(m.memory.totalWasmBytes)} of WebAssembly memory`;
    $('dash-memory').textContent = m.modelMemoryBytes
      ? `${formatBytes(m.modelMemoryBytes)} × ${workerCount(copies)} · ${pool}` : `– · ${pool}`;
    $('dash-file').textContent = m.modelFileBytes ? formatBytes(m.modelFileBytes) : '–';
    $('dash-cache').textContent = m.cache.hitRate == null ? '–'
      : `${formatPct(m.cache.hitRate)} (${formatInt(m.cache.hits)} hits / ${formatInt(m.cache.misses)} misses)`;
    $('dash-rps').textContent = `${m.throughput.requestsPerSecond.toFixed(1)} req/s · ${formatInt(m.throughput.tokensPerSecond)} tokens/s`;
    renderOps(m.ops);

    const g = m.ops.generate;
    if (!g || g.count === 0) {
      chartEmpty.hidden = false;
      return;
    }
    chartEmpty.hidden = true;
    // One point per tick while the tab is visible (a flat stretch: no new calls in the window).
    const now = Date.now() / 1000;
    series[0].push(now);
    series[1].push(g.p50Ms);
    series[2].push(g.p95Ms);
    if (series[0].length > MAX_POINTS) for (const s of series) s.shift();
    lastCount = g.count;
    chartBox.dataset.points = String(series[0].length);
    chartBox.dataset.calls = String(lastCount);
    const p = await ensurePlot();
    if (p) p.setData(series);
  }

  function schedule() {
    if (visible()) {
      if (!timer) {
        tick();
        timer = setInterval(tick, TICK_MS);
      }
    } else if (timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  app.events.addEventListener('tab', schedule);
  app.events.addEventListener('ready', schedule);
  document.addEventListener('visibilitychange', schedule);
  schedule();
}

const ms = (v) => (Number.isFinite(v) ? (v < 10 ? `${v.toFixed(1)} ms` : formatMs(v)) : '–');
