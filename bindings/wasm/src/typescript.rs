//! The TypeScript declarations of the plain objects the bindings take and return, added to the
//! generated `.d.ts`. The options' fields come from the core's declaration of the options
//! (`options.rs`: [`TRAIN_TS`], [`GENERATE_TS`]); the results' are written here: keep them in
//! step with `results.rs`.

use wasm_bindgen::prelude::*;

use crate::options::{GENERATE_TS, TRAIN_TS};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = const_str!(&[
    "
/** Options of `new Trainer(options)` and `Model.train(text, options)`; every field optional. */
export interface TrainOptions {
",
    TRAIN_TS,
    r#"}

/** A named set of generation options; its values are `presets()[name]`. */
export type Preset = "development" | "production" | "high_performance";

/**
 * Options of `model.generate(prompt, options)`; every field optional. `preset` is applied
 * first, then every field that is set overrides it.
 */
export interface GenerateOptions {
  preset?: Preset;
"#,
    GENERATE_TS,
    r#"}

/**
 * Called after every generated token with the text appended for it (`piece`, with its leading
 * space) and the token (`"</s>"` for a sentence break). Returning `false` stops generation
 * (`stopReason: "cancelled"`); an exception thrown here is rethrown by `generate`.
 */
export type OnToken = (piece: string, token: string) => boolean | void;

/**
 * Called during `Trainer.finish`, `Trainer.finishFile` and `Model.fromBytes` with the share of
 * the call's work done: 0 first, then rising with the work (at most about 200 calls, each at
 * least the one before), and 1 when it is done. What it throws is thrown once the call ends.
 */
export type OnProgress = (fraction: number) => void;

/** Why generation stopped. */
export type StopReason = "max_tokens" | "sentence_end" | "cancelled";

/** Statistics of one `generate` call. */
export interface GenerationStats {
  tokens: number;
  elapsedMs: number;
  tokensPerSecond: number;
  /** Share of stored patterns in no context the request consulted. */
  sparsity: number;
  patternsActivated: number;
  patternsTotal: number;
  cacheHits: number;
  cacheMisses: number;
  /** null when the activation cache was not consulted (exact sampling). */
  cacheHitRate: number | null;
  /** The seed used: pass it back to reproduce the text. */
  seed: number;
  stopReason: StopReason;
  /** True when the model's own distribution was sampled exactly. */
  exact: boolean;
}

/** The result of `generate`: `prompt + text` reads naturally. */
export interface Generation {
  text: string;
  /** Generated tokens; "</s>" marks a sentence break. */
  tokens: string[];
  stats: GenerationStats;
}

/** Perplexity with KenLM `query`'s definitions. */
export interface Perplexity {
  perplexity: number;
  perplexityExcludingOov: number;
  log10Prob: number;
  log10ProbExcludingOov: number;
  tokens: number;
  oov: number;
  sentences: number;
}

/** How a model was trained (stored in the model file). */
export interface TrainingStats {
  options: Required<TrainOptions>;
  bytes: number;
  sentences: number;
  tokens: number;
  /** Per order 1..n, the discounts [D1, D2, D3+]. */
  discounts: [number, number, number][];
  /** Orders (1-based) that used the fallback discounts 0.5 / 1 / 1.5. */
  discountFallback: number[];
  prunedPatterns: number;
}

/** Summary figures of a model. */
export interface ModelInfo {
  order: number;
  vocabSize: number;
  /** Patterns per order, 1-grams first. */
  ngrams: number[];
  patterns: number;
  contexts: number;
  /** "modified-kneser-ney" for trained models, "arpa" for imported ones. */
  smoothing: string;
  memoryBytes: number;
  fileBytes: number;
  /** null for a model imported from ARPA. */
  training: TrainingStats | null;
}

/** A model file made by `Trainer.finishFile()`, and the `info()` of the model it holds. */
export interface ModelFile {
  bytes: Uint8Array;
  info: ModelInfo;
}

/** Cumulative activation-cache figures of a model. */
export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  capacity: number;
  /** Memory the entries hold now, in bytes (approximately; at most 64 MiB plus one entry). */
  bytes: number;
}

/** The `code` of every error the bindings throw. */
export type UellmErrorCode =
  | "NOT_A_MODEL"
  | "UNSUPPORTED_VERSION"
  | "TRUNCATED"
  | "CORRUPTED"
  | "INVALID_OPTION"
  | "EMPTY_INPUT"
  | "NOT_TEXT"
  | "INVALID_ARPA"
  | "TOO_LARGE"
  | "INTERNAL";

/** Every error the bindings throw is an `Error` with a stable `name` and `code`. */
export interface UellmError extends Error {
  name:
    | "NotAModelError"
    | "UnsupportedVersionError"
    | "TruncatedError"
    | "CorruptedError"
    | "InvalidOptionError"
    | "EmptyInputError"
    | "NotTextError"
    | "ArpaError"
    | "TooLargeError"
    | "InternalError";
  code: UellmErrorCode;
}
"#
]);
