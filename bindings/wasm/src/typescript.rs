//! The TypeScript declarations of the plain objects the bindings take and return, added to the
//! generated `.d.ts`. The options' fields and the result interfaces come from the core's
//! declarations of them (`options.rs`: [`TRAIN_TS`], [`GENERATE_TS`]; `results.rs`:
//! [`GENERATION_STATS_TS`] and the others); what is written here are the types that only the
//! bindings have (callbacks, `Generation` and `ModelFile`, which the bindings assemble
//! themselves, the errors) and the core's enums.

use wasm_bindgen::prelude::*;

use crate::options::{GENERATE_TS, PREDICT_TS, TRAIN_TS};
use crate::results::{
    CACHE_STATS_TS, GENERATION_STATS_TS, MODEL_INFO_TS, PERPLEXITY_TS, PREDICTION_TS, RANKED_TS,
    SENTENCE_SCORE_TS, TOKEN_SCORE_TS, TRAINING_STATS_TS,
};

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
"#,
    GENERATION_STATS_TS,
    r#"/** The result of `generate`: `prompt + text` reads naturally. */
export interface Generation {
  text: string;
  /** Generated tokens; "</s>" marks a sentence break. */
  tokens: string[];
  stats: GenerationStats;
}
"#,
    PERPLEXITY_TS,
    PREDICT_TS,
    PREDICTION_TS,
    TOKEN_SCORE_TS,
    SENTENCE_SCORE_TS,
    RANKED_TS,
    TRAINING_STATS_TS,
    MODEL_INFO_TS,
    r#"/**
 * The part of an OPFS `FileSystemSyncAccessHandle` (which a dedicated worker opens with
 * `createSyncAccessHandle()`) that a `BoundedTrainer` writes its temporary files to; any object
 * with these three methods serves.
 */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
}

/** A model file made by `SecondPass.finishFile()`, and the figures of its build. */
export interface BoundedFile {
  bytes: Uint8Array;
  built: {
    fileBytes: number;
    /** Patterns per order, 1 first. */
    ngrams: number[];
    /** Patterns removed by `minFrequency`. */
    prunedPatterns: number;
    sentences: number;
    /** Tokens counted, each sentence's `</s>` included. */
    tokens: number;
    vocabSize: number;
    /** Runs the patterns were counted in. */
    runs: number;
    /** Seconds of the build's steps after counting. */
    seconds: { merge: number; derive: number; streams: number; write: number };
  };
}

/** A model file made by `Trainer.finishFile()`, and the `info()` of the model it holds. */
export interface ModelFile {
  bytes: Uint8Array;
  info: ModelInfo;
}
"#,
    CACHE_STATS_TS,
    r#"/** The `code` of every error the bindings throw. */
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
  | "IO_ERROR"
  | "INTERNAL";

/**
 * Every error the bindings throw is a `UellmError`, the package's error class (`errors.js`, also
 * exported by the package's main module, `ultra-efficient-llm`), with a stable `name` (such as
 * `NotAModelError`) and a `code` from `UellmErrorCode`.
 */
import type { UellmError } from "./errors.js";
export type { UellmError };
"#
]);
