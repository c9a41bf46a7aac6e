//! Options for training and generation, with their defaults and the named presets.
//!
//! Field names follow the original project's names (`max_pattern_length`, `min_frequency`, ...)
//! so that configurations carry over. Every option is validated before use; an out-of-range value
//! is an [`Error::InvalidOption`], never a silent clamp.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The highest n-gram order the trainer accepts.
pub const MAX_ORDER: usize = 16;

/// The largest `activation_cache_size`: a million prepared distributions, far more than any
/// request visits, and a bound that keeps a mistyped size an error rather than a huge number.
pub const MAX_ACTIVATION_CACHE_SIZE: usize = 1_000_000;

/// Options of [`crate::Trainer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainOptions {
    /// The n-gram order: patterns of 1 to `max_pattern_length` words are learned (default 6,
    /// 1..=16).
    pub max_pattern_length: usize,
    /// Patterns of two or more words seen fewer times than this are pruned (default 1: keep all).
    /// Their probability mass goes to the shorter patterns, so the model stays normalized.
    pub min_frequency: u32,
    /// Upper bound on stored patterns (all orders, unigrams included; 0 = no bound). When more are
    /// seen, the most frequent are kept, shorter before longer on ties, so every kept pattern's
    /// prefix and suffix are kept too. Unigrams are never dropped.
    pub max_patterns: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            max_pattern_length: 6,
            min_frequency: 1,
            max_patterns: 0,
        }
    }
}

impl TrainOptions {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_ORDER).contains(&self.max_pattern_length) {
            return Err(Error::option(
                "max_pattern_length",
                format!(
                    "must be between 1 and {MAX_ORDER}, got {}",
                    self.max_pattern_length
                ),
            ));
        }
        if self.min_frequency == 0 {
            return Err(Error::option(
                "min_frequency",
                "must be at least 1 (1 keeps every pattern)",
            ));
        }
        Ok(())
    }
}

/// Options of [`crate::Model::generate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateOptions {
    /// Most tokens to generate (default 50).
    pub max_tokens: usize,
    /// How many of the last tokens are matched against the patterns (default 6). The model never
    /// uses more than `max_pattern_length - 1`; a smaller window makes text less coherent and
    /// more varied.
    pub context_window: usize,
    /// Seed of the random generator; the same seed and options give the same text on every
    /// platform. `None` draws a fresh seed per call (a counter started from the clock); the seed
    /// used is reported in [`crate::GenerationStats::seed`].
    pub seed: Option<u64>,
    /// Softmax temperature (default 1.0 = the model's own distribution; lower is more
    /// conservative). Must be finite and not negative; 0 is greedy decoding: always the likeliest
    /// next token (ties to the lower word id), the same text whatever the seed.
    pub temperature: f64,
    /// Keep only the `top_k` most likely next tokens (0 = off, the default).
    pub top_k: usize,
    /// Nucleus sampling: keep the smallest set of likeliest tokens whose mass reaches `top_p`
    /// (default 1.0 = off). In (0, 1].
    pub top_p: f64,
    /// Stop at the end of a sentence (default true). When false, a sentence end starts a new
    /// sentence and generation goes on to `max_tokens`.
    pub stop_at_sentence_end: bool,
    /// Do not end before this share of `max_tokens` is generated (default 0.0, in [0, 1]).
    pub min_generated_tokens_ratio: f64,
    /// Cap on candidate patterns examined from the longest matching context when a shaped
    /// distribution is prepared (default 1000; see [`GenerateOptions::is_exact`]).
    pub max_patterns_per_query: usize,
    /// Cap on candidate patterns examined from all shorter (backed-off) contexts together when a
    /// shaped distribution is prepared (default 200).
    pub max_backup_patterns: usize,
    /// Candidates whose probability is below this are dropped from a shaped distribution (default
    /// 0.0). The most likely candidate is always kept.
    pub activation_threshold: f64,
    /// When true (default) candidates are weighted by their smoothed (Kneser-Ney) probability,
    /// mixing all context lengths. When false they are weighted by the raw pattern frequency of the
    /// longest matching context alone, with no smoothing and no mixing.
    pub frequency_normalization: bool,
    /// Entries in the activation cache: prepared next-token distributions by context (default
    /// 1000; 0 disables the cache; at most [`MAX_ACTIVATION_CACHE_SIZE`]). Nothing is allocated
    /// for it up front, and its entries never hold more than
    /// [`crate::ACTIVATION_CACHE_MAX_BYTES`] together.
    pub activation_cache_size: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_tokens: 50,
            context_window: 6,
            seed: None,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            stop_at_sentence_end: true,
            min_generated_tokens_ratio: 0.0,
            max_patterns_per_query: 1000,
            max_backup_patterns: 200,
            activation_threshold: 0.0,
            frequency_normalization: true,
            activation_cache_size: 1000,
        }
    }
}

impl GenerateOptions {
    /// Options of a named preset; see [`Preset`].
    pub fn preset(preset: Preset) -> Self {
        let (per_query, cache) = match preset {
            Preset::Development => (500, 1000),
            Preset::Production => (2000, 1000),
            Preset::HighPerformance => (5000, 5000),
        };
        GenerateOptions {
            max_patterns_per_query: per_query,
            activation_cache_size: cache,
            ..GenerateOptions::default()
        }
    }

    /// True when the options ask for the model's own distribution, which is sampled exactly from
    /// the pattern index without preparing candidate lists (the fast path). Temperature, top-k,
    /// top-p, an activation threshold or unnormalized frequencies make the generator prepare a
    /// shaped distribution per context instead, which the activation cache then keeps.
    pub fn is_exact(&self) -> bool {
        self.temperature == 1.0
            && self.top_k == 0
            && self.top_p >= 1.0
            && self.activation_threshold <= 0.0
            && self.frequency_normalization
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::option(
                "temperature",
                format!("must be a number ≥ 0 (0: greedy), got {}", self.temperature),
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::option(
                "top_p",
                format!("must be in (0, 1], got {}", self.top_p),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_generated_tokens_ratio) {
            return Err(Error::option(
                "min_generated_tokens_ratio",
                format!("must be in [0, 1], got {}", self.min_generated_tokens_ratio),
            ));
        }
        if !(0.0..1.0).contains(&self.activation_threshold) {
            return Err(Error::option(
                "activation_threshold",
                format!("must be in [0, 1), got {}", self.activation_threshold),
            ));
        }
        if self.context_window == 0 {
            return Err(Error::option("context_window", "must be at least 1"));
        }
        if self.activation_cache_size > MAX_ACTIVATION_CACHE_SIZE {
            return Err(Error::option(
                "activation_cache_size",
                format!(
                    "must be at most {MAX_ACTIVATION_CACHE_SIZE}, got {}",
                    self.activation_cache_size
                ),
            ));
        }
        if self.max_patterns_per_query == 0 {
            return Err(Error::option(
                "max_patterns_per_query",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Named configurations from the original project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Small caps for fast iteration: 500 patterns per query.
    Development,
    /// Balanced: 2000 patterns per query.
    Production,
    /// Largest caps: 5000 patterns per query, a 5000-entry activation cache.
    HighPerformance,
}

impl std::str::FromStr for Preset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "development" => Ok(Preset::Development),
            "production" => Ok(Preset::Production),
            "high_performance" => Ok(Preset::HighPerformance),
            other => Err(Error::option(
                "preset",
                format!(
                    "unknown preset `{other}`; use development, production or high_performance"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_exact() {
        TrainOptions::default().validate().unwrap();
        let g = GenerateOptions::default();
        g.validate().unwrap();
        assert!(g.is_exact());
    }

    #[test]
    fn out_of_range_options_are_named() {
        let bad = TrainOptions {
            max_pattern_length: 0,
            ..Default::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidOption {
                name: "max_pattern_length",
                ..
            })
        ));
        let bad = GenerateOptions {
            temperature: -0.5,
            ..Default::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidOption {
                name: "temperature",
                ..
            })
        ));
        let bad = GenerateOptions {
            top_p: f64::NAN,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn absurd_cache_sizes_are_refused() {
        for size in [usize::MAX, 1_000_000_000, MAX_ACTIVATION_CACHE_SIZE + 1] {
            let bad = GenerateOptions {
                activation_cache_size: size,
                ..Default::default()
            };
            assert!(matches!(
                bad.validate(),
                Err(Error::InvalidOption {
                    name: "activation_cache_size",
                    ..
                })
            ));
        }
        GenerateOptions {
            activation_cache_size: MAX_ACTIVATION_CACHE_SIZE,
            ..Default::default()
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn presets_parse_and_differ() {
        let d: Preset = "development".parse().unwrap();
        let h: Preset = "high_performance".parse().unwrap();
        assert_ne!(GenerateOptions::preset(d), GenerateOptions::preset(h));
        assert!("fast".parse::<Preset>().is_err());
    }
}
