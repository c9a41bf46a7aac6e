// Compiled (never run) by tests/e2e/types.test.mjs with `tsc --strict` against the package's
// declarations, as an outside TypeScript app would import them. Each `@ts-expect-error` line
// must be an error: if a declaration loosened to `any`, tsc would report the directive unused.
import {
  create, presets, resolveConfig, deviceWorkers, fromWire, toWire, threadsAvailable,
  UellmError, QueueFullError, TimeoutError, UnsupportedEnvironmentError, InvalidOptionError,
  ModelExistsError, FetchError, WorkerLoadError, StorageError, InvalidOpError,
  type Config, type Generation, type GenerationStream, type Health, type Metrics, type ModelInfo,
  type SavedModel, type StorageInfo, type TrainProgress, type Uellm,
  type GenerateOptions, type GenerateCallOptions, type TrainOptions, type Perplexity, type PresetName,
  type GenerationPreset, type CoreErrorCode, type ErrorCode, type PoolMemory, type WorkerMemory,
  type PredictOptions, type Prediction, type SentenceScore, type TokenScore, type Ranked,
} from 'ultra-efficient-llm';
import init, {
  initSync, Model, Trainer, threaded as isThreadedBuild, type Generation as CoreGeneration, type GenerateOptions as CoreGenerateOptions,
  type TrainOptions as CoreTrainOptions, type Perplexity as CorePerplexity, type ModelInfo as CoreModelInfo,
  type Preset, type OnToken, type UellmError as CoreError, type UellmErrorCode,
} from 'ultra-efficient-llm/core';

export async function app(file: File): Promise<string> {
  const config: Config = { preset: 'production', workers: 2, slowOpMs: null, log: 'quiet' };
  const llm: Uellm = await create(config);
  const info: ModelInfo = await llm.train([file, 'more text\n', new ArrayBuffer(8), new URL('https://example.org/a.txt'),
    await fetch('/b.txt')], { maxPatternLength: 5 }, {
    onProgress: (p: TrainProgress) => { const share: number = p.fraction; void [share, p.elapsedMs, p.phase === 'installing']; },
    signal: new AbortController().signal,
  });
  const order: number = info.order;
  const out: Generation = await llm.generate('It is a truth', { seed: 42, maxTokens: 40, topK: 40, preset: 'production' }, {
    onToken: (piece: string) => piece.length < 100,
    timeoutMs: 1000,
  });
  const stream: GenerationStream = llm.stream('It is', { maxTokens: 10 }, { signal: new AbortController().signal });
  for await (const piece of stream) { const text: string = piece; void text; }
  const streamed: Generation = await stream.result;
  const tokensPerSecond: number = out.stats.tokensPerSecond;
  const saved: SavedModel = await llm.save();
  await llm.save(saved.name, { overwrite: true });
  const all: SavedModel[] = await llm.list();
  await llm.load(saved.name, { onProgress: (p) => { void p.fraction; } });
  const blob: Blob = await llm.exportModel(saved.name);
  await llm.importModel(blob, 'copy', { overwrite: false });
  const ppl: number = (await llm.perplexity('Some held-out text.')).perplexity;
  const next: Prediction[] = await llm.predict('It is a', { k: 5, prefix: 't', ignoreCase: true, allowEnd: false, minProbability: 0 });
  const best: string | undefined = next[0]?.word;
  const p1: number = (next[0]?.probability ?? 0) + (next[0]?.log10Prob ?? 0);
  const sentences: SentenceScore[] = await llm.score('It is a truth .', { timeoutMs: 1000 });
  const token: TokenScore | undefined = sentences[0]?.tokens[0];
  const length: number = (token?.ngramLength ?? 0) + (token?.oov ? 1 : 0) + (sentences[0]?.log10Prob ?? 0);
  const ranked: Ranked[] = await llm.rank('It is a', ['truth', 'fact']);
  const top: string | undefined = ranked[0]?.candidate;
  const opts: PredictOptions = { k: 3 };
  const fromUrl: ModelInfo = await llm.loadUrl('/models/en.uelm', {
    integrity: 'sha256-abc', cache: true, timeoutMs: 60_000,
    onProgress: (p) => { const total: number | null = p.bytesTotal; void total; },
  });
  void fromUrl;
  // @ts-expect-error: predict takes its options, not generation's
  await llm.predict('It is', { topK: 3 });
  void [best, p1, length, top, opts];
  const health: Health = llm.health();
  const metrics: Metrics = llm.metrics();
  const p95: number | undefined = metrics.ops.generate?.p95Ms;
  const memory: number = metrics.workerMemoryBytes.generation;
  const pool: PoolMemory = health.memory;
  const perWorker: WorkerMemory[] = metrics.memory.workers;
  const modelCopies: number = pool.modelBytes + pool.totalWasmBytes + (perWorker[0]?.wasmBytes ?? 0);
  const unloaded: Promise<void> = llm.unload();
  await unloaded;
  const current: Blob | null = llm.modelFile;
  const storage: StorageInfo = await llm.storageInfo();
  const kept: boolean = storage.persisted ?? await llm.persistStorage();
  llm.terminate();

  // @ts-expect-error: the prompt is a string
  await llm.generate(42);
  // @ts-expect-error: an unknown option name
  await llm.generate('x', { maxToken: 10 });
  // @ts-expect-error: seeds are numbers (0 to 2^53 - 1), not bigints
  await llm.generate('x', { seed: 42n });
  // @ts-expect-error: an unknown core preset
  await llm.generate('x', { preset: 'fastest' });
  // @ts-expect-error: overwrite is a boolean
  await llm.save('x', { overwrite: 'yes' });
  // @ts-expect-error: an unknown preset
  await create({ preset: 'fastest' });
  // A bundler that does not emit the worker: its URL, given as a URL or a string.
  await create({ workerUrl: new URL('./uellm-worker.js', 'https://app.example/'), wasmUrl: '/ultra_efficient_llm_bg.wasm' });
  // The threaded build (one model for all workers) where the page is cross-origin isolated.
  const threaded: boolean = (await create({ threads: threadsAvailable(), threadsWasmUrl: '/threads/ultra_efficient_llm_bg.wasm' })).threaded;
  const resolved: boolean = resolveConfig({}).threads;
  void [threaded, resolved];
  // @ts-expect-error: threads is a boolean
  await create({ threads: 'auto' });
  // Node: the default init() reads the .wasm from disk.
  await init();
  // @ts-expect-error: unload() resolves to nothing
  const freed: number = await llm.unload();
  // @ts-expect-error: health() is synchronous
  const h: Promise<Health> = llm.health();

  return [order, tokensPerSecond, streamed.stats.seed, all.length, ppl, health.workers.ready, p95, memory, current?.size,
    resolveConfig({ workers: 3 }).workers, presets.development.workers, h, storage.usage, kept, modelCopies, freed,
    deviceWorkers()].join(' ');
}

export function errors(e: unknown): string {
  if (e instanceof QueueFullError) { const code: 'QUEUE_FULL' = e.code; return code; }
  if (e instanceof TimeoutError) return e.code;
  if (e instanceof InvalidOptionError) { const code: 'INVALID_OPTION' = e.code; return code; }
  if (e instanceof UnsupportedEnvironmentError) { const code: 'UNSUPPORTED_ENVIRONMENT' = e.code; return code; }
  if (e instanceof ModelExistsError) { const code: 'MODEL_EXISTS' = e.code; return code; }
  if (e instanceof FetchError) { const code: 'FETCH_FAILED' = e.code; return code; }
  if (e instanceof WorkerLoadError) { const url: string | null = e.url; return `${e.code} ${url}`; }
  if (e instanceof StorageError) { const code: 'STORAGE_ERROR' = e.code; return code; }
  if (e instanceof InvalidOpError) { const code: 'INVALID_OP' = e.code; return code; }
  if (e instanceof UellmError) return `${e.name} ${e.code}`;
  return fromWire(toWire(e)).message;
}

export function core(wasm: Uint8Array, text: string): string {
  initSync({ module: wasm });
  const trainer = new Trainer({ maxPatternLength: 3 });
  trainer.feed(text);
  const model: Model = trainer.finish();
  const g: CoreGeneration = model.generate('It is', { seed: 42, maxTokens: 40 }, (piece) => { void piece; });
  const again: Model = Model.fromBytes(model.toBytes());
  // @ts-expect-error: fromBytes takes bytes, not text
  Model.fromBytes(text);
  // One model in several instances of a shared memory (the threaded build).
  const handle: number = model.share();
  const same: Model = Model.fromShared(handle);
  const holders: number = same.holders();
  void [holders, isThreadedBuild()];
  return g.text + again.info().order;
}

/** True when X and Y are the same type (optional and readonly fields included), else false. */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;

// The pool's types are the core's (imported by index.d.ts, not restated): each line fails to
// compile when they part.
export function agree(options: CoreGenerateOptions, info: CoreModelInfo, generation: CoreGeneration,
  error: CoreError): string {
  const same: true[] = [
    true as Equal<GenerateOptions, CoreGenerateOptions>,
    true as Equal<TrainOptions, CoreTrainOptions>,
    true as Equal<Generation, CoreGeneration>,
    true as Equal<Perplexity, CorePerplexity>,
    // The pool's ModelInfo is the core's, and info() adds one worker's cache figures.
    true as Equal<Omit<ModelInfo, 'cache'>, CoreModelInfo>,
    true as Equal<PresetName, Preset>,
    true as Equal<GenerationPreset, Preset>,
    true as Equal<CoreErrorCode, UellmErrorCode>,
    // The errors the core module throws are the package's UellmError class, not a look-alike.
    true as Equal<CoreError, UellmError>,
    // generate's onToken is the core's.
    true as Equal<GenerateCallOptions['onToken'], OnToken | undefined>,
  ];
  // @ts-expect-error: the check itself works: a copy that lost a field is another type
  const drifted: true = true as Equal<Omit<CoreGenerateOptions, 'seed'>, CoreGenerateOptions>;
  // What the core takes and gives is what the pool takes and gives.
  const poolOptions: GenerateOptions = options;
  const poolInfo: ModelInfo = info;
  const poolGeneration: Generation = generation;
  const fromPreset: CoreGenerateOptions | undefined = presets.high_performance.generateDefaults;
  // One error type: a core error is a pool UellmError, its code one of the pool's codes.
  const poolError: UellmError = error;
  const code: ErrorCode = error.code;
  // @ts-expect-error: a code of the pool only is no core error code
  const notCore: CoreErrorCode = 'QUEUE_FULL';
  return [same.length, drifted, poolOptions.seed, poolInfo.order, poolGeneration.stats.stopReason,
    fromPreset?.maxPatternsPerQuery, poolError.code, code, notCore].join(' ');
}
