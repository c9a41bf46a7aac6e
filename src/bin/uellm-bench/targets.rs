//! The project's targets (the goals for the native build), checked on [`TARGET_FILE`].

use serde::Serialize;

use super::curve::METHODS;
use super::measure::Corpus;
use super::report::round_thousands;

/// The file the targets are checked on.
pub const TARGET_FILE: &str = "en-train.txt";
const TARGET_TRAIN_SECONDS: f64 = 0.5;
const TARGET_BYTES_PER_NGRAM: f64 = 4.0;
const TARGET_LOAD_MS: f64 = 100.0;
/// Issue 14's native load figure, reached by loading the index image instead of building.
const TARGET_IMAGE_LOAD_MS: f64 = 50.0;
/// Issue 15's figures: `predict` k = 10 without and with a one-letter prefix, `score`.
const TARGET_PREDICT_US: f64 = 20.0;
const TARGET_PREDICT_PREFIX_US: f64 = 100.0;
const TARGET_SCORE_TOKENS_PER_SECOND: f64 = 2_000_000.0;
const TARGET_TOKENS_PER_SECOND: f64 = 3_000_000.0;
/// Issue 16's size/quality figure: the model file size it is checked at.
const TARGET_CURVE_BYTES: u64 = 1_000_000;

/// The targets as checked on one file.
#[derive(Debug, Serialize)]
pub struct Targets {
    pub file: String,
    pub rows: Vec<Target>,
}

/// One target: its goal, the median measured, and whether it is met.
#[derive(Debug, Serialize)]
pub struct Target {
    pub what: &'static str,
    pub goal: String,
    pub measured: f64,
    pub unit: &'static str,
    pub met: bool,
}

/// The targets checked on the medians of `c`.
pub fn targets_of(c: &Corpus) -> Targets {
    let m = &c.median;
    let at_most = |what, goal: f64, unit, shown: String, measured: f64| Target {
        what,
        goal: format!("≤ {shown}"),
        measured,
        unit,
        met: measured <= goal,
    };
    let at_least = |what, goal: f64, unit, shown: String, measured: f64| Target {
        what,
        goal: format!("≥ {shown}"),
        measured,
        unit,
        met: measured >= goal,
    };
    let tokens_per_second = format!("{} tokens/s", round_thousands(TARGET_TOKENS_PER_SECOND));
    Targets {
        file: c.file.clone(),
        rows: vec![
            at_most(
                "training time (order 5, whole file)",
                TARGET_TRAIN_SECONDS,
                "s",
                format!("{TARGET_TRAIN_SECONDS} s"),
                m.train_seconds,
            ),
            at_most(
                "model file size",
                TARGET_BYTES_PER_NGRAM,
                "bytes/n-gram",
                format!("{TARGET_BYTES_PER_NGRAM} bytes/n-gram"),
                c.bytes_per_ngram,
            ),
            at_most(
                "load time (Model::from_bytes)",
                TARGET_LOAD_MS,
                "ms",
                format!("{TARGET_LOAD_MS} ms"),
                m.load_ms,
            ),
            at_most(
                "load time, index image (Model::from_image)",
                TARGET_IMAGE_LOAD_MS,
                "ms",
                format!("{TARGET_IMAGE_LOAD_MS} ms"),
                m.load_image_ms,
            ),
            at_least(
                "generation, sampler (generate_ids)",
                TARGET_TOKENS_PER_SECOND,
                "tokens/s",
                tokens_per_second.clone(),
                m.sampler_tokens_per_second,
            ),
            at_least(
                "generation, with text (generate)",
                TARGET_TOKENS_PER_SECOND,
                "tokens/s",
                tokens_per_second,
                m.text_tokens_per_second,
            ),
            at_most(
                "predict, k = 10, median",
                TARGET_PREDICT_US,
                "µs",
                format!("{TARGET_PREDICT_US} µs"),
                m.predict_us,
            ),
            at_most(
                "predict, k = 10, one-letter prefix, median",
                TARGET_PREDICT_PREFIX_US,
                "µs",
                format!("{TARGET_PREDICT_PREFIX_US} µs"),
                m.predict_prefix_us,
            ),
            at_least(
                "score (per-token scores, streamed)",
                TARGET_SCORE_TOKENS_PER_SECOND,
                "tokens/s",
                format!(
                    "{} tokens/s",
                    round_thousands(TARGET_SCORE_TOKENS_PER_SECOND)
                ),
                m.score_tokens_per_second,
            ),
        ],
    }
    .with_curve(c)
}

impl Targets {
    /// Issue 16's figure, when the curve was made: at a model file of at most 1 MB, the best
    /// pruning method's dev perplexity is below count pruning's (the best `min_frequency`
    /// model of at most 1 MB).
    fn with_curve(mut self, c: &Corpus) -> Targets {
        let Some(curve) = &c.curve else {
            return self;
        };
        let count = curve.point(METHODS[0], TARGET_CURVE_BYTES);
        let best = METHODS[1..]
            .iter()
            .filter_map(|m| curve.point(m, TARGET_CURVE_BYTES))
            .min_by(|a, b| a.perplexity.total_cmp(&b.perplexity));
        if let (Some(count), Some(best)) = (count, best) {
            self.rows.push(Target {
                what: "dev perplexity, model file ≤ 1 MB (best pruning)",
                goal: format!(
                    "< {} (min_frequency)",
                    super::report::fixed(count.perplexity, 2)
                ),
                measured: best.perplexity,
                unit: "",
                met: best.perplexity < count.perplexity,
            });
        }
        self
    }
}
