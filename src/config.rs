//! Options for training and generation, with their defaults and the named presets.
//!
//! Field names follow the original project's names (`max_pattern_length`, `min_frequency`, ...)
//! so that configurations carry over. Every option is validated before use; an out-of-range value
//! is an [`Error::InvalidOption`], never a silent clamp.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The highest n-gram order the trainer accepts.
pub const MAX_ORDER: usize = 16;

/// The longest sentence, in bytes: a longer line is split into several (see
/// [`Trainer::feed`](crate::Trainer::feed)), so one huge line can neither hold the whole input
/// in memory nor make the counts depend on how the text was chunked.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The largest `activation_cache_size`: a million prepared distributions, far more than any
/// request visits, and a bound that keeps a mistyped size an error rather than a huge number.
pub const MAX_ACTIVATION_CACHE_SIZE: usize = 1_000_000;

/// Reads the declaration of an options struct (the fields [`train_option_fields`] and
/// [`generate_option_fields`] list) and hands it to the macro `$m`, after the tokens `ARGS`
/// given with it, in one line per field:
///
/// ```text
/// $m! { ARGS; KIND name: Type ["doc line", ...] "js_doc" = default, ... }
/// ```
///
/// The options macros are called as `train_option_fields!(option_fields [m ARGS])`: the form of
/// a declaration is read here only, for the core and the bindings alike.
#[doc(hidden)]
#[macro_export]
macro_rules! option_fields {
    ([$m:ident $($args:tt)*];
        $(
            $(#[doc = $doc:literal])*
            #[js_doc = $js_doc:literal]
            $kind:ident $name:ident : $ty:ty = $default:expr,
        )*
    ) => {
        $m! { $($args)*; $($kind $name: $ty [$($doc),*] $js_doc = $default,)* }
    };
}

/// The declaration of every field of [`TrainOptions`], in order, as [`generate_option_fields`]
/// declares the generation options (every kind is `call`).
#[macro_export]
macro_rules! train_option_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// The n-gram order: patterns of 1 to `max_pattern_length` words are learned
            /// (default 6, 1..=16).
            #[js_doc = "n-gram order: patterns of 1 to this many words are learned (default 6, 1..=16)."]
            call max_pattern_length: usize = 6,
            /// Patterns of two or more words seen fewer times than this are pruned (default 1:
            /// keep all). Their probability mass goes to the shorter patterns, so the model stays
            /// normalized.
            #[js_doc = "Patterns of two or more words seen fewer times are pruned (default 1: keep all)."]
            call min_frequency: u32 = 1,
            /// Upper bound on stored patterns (all orders, unigrams included; 0 = no bound). When
            /// more are seen, the most frequent are kept, shorter before longer on ties, so every
            /// kept pattern's prefix and suffix are kept too. Unigrams are never dropped.
            #[js_doc = "Upper bound on stored patterns (0 = no bound, the default)."]
            call max_patterns: u64 = 0,
        }
    };
}

/// Makes [`TrainOptions`] and its `Default` from the declaration in [`train_option_fields`].
macro_rules! declare_train_options {
    (; $(call $name:ident: $ty:ty [$($doc:literal),*] $js_doc:literal = $default:expr,)*) => {
        /// Options of [`crate::Trainer`]. Declared in [`train_option_fields`].
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct TrainOptions {
            $(
                $(#[doc = $doc])*
                pub $name: $ty,
            )*
        }

        impl Default for TrainOptions {
            fn default() -> Self {
                TrainOptions {
                    $($name: $default,)*
                }
            }
        }
    };
}

train_option_fields!(option_fields[declare_train_options]);

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

/// The declaration of every field of [`GenerateOptions`], in order:
/// `generate_option_fields!(option_fields [m ARGS])` hands it to the macro `m` ([`option_fields`]
/// reads it), where each field is
///
/// ```text
/// /// Rust documentation
/// #[js_doc = "its one-line documentation for JavaScript and TypeScript users"]
/// KIND name: Type = default,
/// ```
///
/// `KIND` is `shaping` for an option that shapes the prepared distributions the activation cache
/// keeps (a change of it empties the cache), `call` for the others. This is the one declaration
/// of the generation options: the core makes [`GenerateOptions`], its `Default` and
/// [`GenerateOverrides`] from it, and the WebAssembly bindings their JavaScript names, key
/// tables, readers and TypeScript. A new option is declared here (and checked in
/// [`GenerateOptions::validate`] when it has a range); the compiler then asks the CLI for its
/// flag, and the sampler uses it.
#[macro_export]
macro_rules! generate_option_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// Most tokens to generate (default 50).
            #[js_doc = "Most tokens to generate (default 50)."]
            call max_tokens: usize = 50,
            /// How many of the last tokens are matched against the patterns (default 6). The
            /// model never uses more than `max_pattern_length - 1`; a smaller window makes text
            /// less coherent and more varied.
            #[js_doc = "How many of the last tokens are matched against the patterns (default 6)."]
            call context_window: usize = 6,
            /// Seed of the random generator; the same seed and options give the same text on
            /// every platform. `None` draws a fresh seed per call ([`Model::next_seed`]); the
            /// seed used is reported in [`GenerationStats::seed`].
            ///
            /// [`Model::next_seed`]: crate::Model::next_seed
            /// [`GenerationStats::seed`]: crate::GenerationStats::seed
            #[js_doc = "0 to 2^53 - 1; the same seed and options give the same text. Drawn when absent."]
            call seed: Option<u64> = None,
            /// Softmax temperature (default 1.0 = the model's own distribution; lower is more
            /// conservative). Must be finite and not negative; 0 is greedy decoding: always the
            /// likeliest next token (ties to the lower word id), the same text whatever the seed.
            #[js_doc = "Softmax temperature, ≥ 0 (default 1); 0 is greedy: always the likeliest token, whatever the seed."]
            shaping temperature: f64 = 1.0,
            /// Keep only the `top_k` most likely next tokens (0 = off, the default).
            #[js_doc = "Keep only the k likeliest next tokens (0 = off, the default)."]
            shaping top_k: usize = 0,
            /// Nucleus sampling: keep the smallest set of likeliest tokens whose mass reaches
            /// `top_p` (default 1.0 = off). In (0, 1].
            #[js_doc = "Nucleus sampling mass in (0, 1] (default 1 = off)."]
            shaping top_p: f64 = 1.0,
            /// Stop at the end of a sentence (default true). When false, a sentence end starts a
            /// new sentence and generation goes on to `max_tokens`.
            #[js_doc = "Stop at the end of a sentence (default true)."]
            call stop_at_sentence_end: bool = true,
            /// Do not end before this share of `max_tokens` is generated (default 0.0, in
            /// [0, 1]).
            #[js_doc = "Do not end before this share of maxTokens (default 0, in [0, 1])."]
            call min_generated_tokens_ratio: f64 = 0.0,
            /// Cap on candidate patterns examined from the longest matching context when a
            /// shaped distribution is prepared (default 1000; see
            /// [`GenerateOptions::is_exact`]).
            ///
            /// [`GenerateOptions::is_exact`]: crate::GenerateOptions::is_exact
            #[js_doc = "Candidate cap of the longest matching context, shaped sampling (default 1000)."]
            shaping max_patterns_per_query: usize = 1000,
            /// Cap on candidate patterns examined from all shorter (backed-off) contexts
            /// together when a shaped distribution is prepared (default 200).
            #[js_doc = "Candidate cap of the backed-off contexts, shaped sampling (default 200)."]
            shaping max_backup_patterns: usize = 200,
            /// Candidates whose probability is below this are dropped from a shaped
            /// distribution (default 0.0). The most likely candidate is always kept.
            #[js_doc = "Drop candidates below this probability, in [0, 1) (default 0)."]
            shaping activation_threshold: f64 = 0.0,
            /// When true (default) candidates are weighted by their smoothed (Kneser-Ney)
            /// probability, mixing all context lengths. When false they are weighted by the raw
            /// pattern frequency of the longest matching context alone, with no smoothing and no
            /// mixing.
            #[js_doc = "Smoothed probabilities (true, default) or raw frequencies of the longest context."]
            shaping frequency_normalization: bool = true,
            /// Entries in the activation cache: prepared next-token distributions by context
            /// (default 1000; 0 disables the cache; at most [`MAX_ACTIVATION_CACHE_SIZE`]).
            /// Nothing is allocated for it up front, and its entries never hold more than
            /// [`ACTIVATION_CACHE_MAX_BYTES`] together.
            ///
            /// [`MAX_ACTIVATION_CACHE_SIZE`]: crate::MAX_ACTIVATION_CACHE_SIZE
            /// [`ACTIVATION_CACHE_MAX_BYTES`]: crate::ACTIVATION_CACHE_MAX_BYTES
            #[js_doc = "Entries of the activation cache (default 1000; 0 disables it)."]
            call activation_cache_size: usize = 1000,
        }
    };
}

/// Makes [`GenerateOptions`], its `Default`, [`GenerateOverrides`] and [`ShapingOptions`] from
/// the declaration in [`generate_option_fields`].
macro_rules! declare_generate_options {
    (; $($kind:ident $name:ident: $ty:ty [$($doc:literal),*] $js_doc:literal = $default:expr,)*) => {
        /// Options of [`crate::Model::generate`]. Declared in [`generate_option_fields`].
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct GenerateOptions {
            $(
                $(#[doc = $doc])*
                pub $name: $ty,
            )*
        }

        impl Default for GenerateOptions {
            fn default() -> Self {
                GenerateOptions {
                    $($name: $default,)*
                }
            }
        }

        /// Explicit choices that override a preset's [`GenerateOptions`] (`None`: keep the
        /// preset's value), as the CLI's flags and the JavaScript options object give them; see
        /// [`GenerateOptions::resolve`].
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct GenerateOverrides {
            $(
                #[doc = concat!("[`GenerateOptions::", stringify!($name), "`], when set.")]
                pub $name: Option<$ty>,
            )*
        }

        impl GenerateOptions {
            /// The options of `preset` ([`GenerateOptions::default`] when `None`), then every
            /// override that is set: the one "preset, then explicit overrides" rule of the CLI
            /// and the bindings. Not validated yet ([`GenerateOptions::validate`]).
            ///
            /// ```
            /// use ultra_efficient_llm::{GenerateOptions, GenerateOverrides, Preset};
            /// let o = GenerateOptions::resolve(
            ///     Some(Preset::HighPerformance),
            ///     GenerateOverrides { top_k: Some(3), ..Default::default() },
            /// );
            /// assert_eq!(o.top_k, 3);
            /// assert_eq!(o.max_patterns_per_query, 5000);
            /// ```
            pub fn resolve(preset: Option<Preset>, overrides: GenerateOverrides) -> Self {
                let mut o = preset.map_or_else(GenerateOptions::default, GenerateOptions::preset);
                let GenerateOverrides { $($name,)* } = overrides;
                $(
                    if let Some(v) = $name {
                        o.$name = v;
                    }
                )*
                o
            }

            /// The options that shape a prepared distribution, the activation cache's key.
            pub(crate) fn shaping(&self) -> ShapingOptions {
                ShapingOptions {
                    $($name: shaping_field!($kind, self.$name),)*
                }
            }
        }

        /// The `shaping` options of a [`GenerateOptions`] (the others are `()`): the prepared
        /// distributions the activation cache holds were made for one value of it.
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[allow(dead_code)] // compared as a whole
        pub(crate) struct ShapingOptions {
            $(pub(crate) $name: shaping_field!($kind: $ty),)*
        }
    };
}

/// A field of [`ShapingOptions`]: its type and value for a `shaping` option, `()` for a `call`
/// option (any other kind is a compile error).
macro_rules! shaping_field {
    (shaping: $ty:ty) => {
        $ty
    };
    (call: $ty:ty) => {
        ()
    };
    (shaping, $value:expr) => {
        $value
    };
    (call, $value:expr) => {
        ()
    };
}

generate_option_fields!(option_fields[declare_generate_options]);

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
    fn overrides_apply_over_the_preset() {
        let p = GenerateOptions::preset(Preset::HighPerformance);
        assert_eq!(
            GenerateOptions::resolve(Some(Preset::HighPerformance), Default::default()),
            p
        );
        assert_eq!(
            GenerateOptions::resolve(None, Default::default()),
            GenerateOptions::default()
        );
        let o = GenerateOptions::resolve(
            Some(Preset::HighPerformance),
            GenerateOverrides {
                max_tokens: Some(7),
                seed: Some(Some(9)),
                frequency_normalization: Some(false),
                ..Default::default()
            },
        );
        assert_eq!(
            o,
            GenerateOptions {
                max_tokens: 7,
                seed: Some(9),
                frequency_normalization: false,
                ..p
            }
        );
    }

    #[test]
    fn only_shaping_options_key_the_cache() {
        let d = GenerateOptions::default();
        let same = GenerateOptions {
            max_tokens: 3,
            seed: Some(1),
            context_window: 2,
            stop_at_sentence_end: false,
            min_generated_tokens_ratio: 0.5,
            activation_cache_size: 10,
            ..d.clone()
        };
        assert_eq!(same.shaping(), d.shaping());
        for other in [
            GenerateOptions {
                temperature: 0.5,
                ..d.clone()
            },
            GenerateOptions {
                top_k: 5,
                ..d.clone()
            },
            GenerateOptions {
                top_p: 0.9,
                ..d.clone()
            },
            GenerateOptions {
                max_patterns_per_query: 5,
                ..d.clone()
            },
            GenerateOptions {
                max_backup_patterns: 5,
                ..d.clone()
            },
            GenerateOptions {
                activation_threshold: 0.1,
                ..d.clone()
            },
            GenerateOptions {
                frequency_normalization: false,
                ..d.clone()
            },
        ] {
            assert_ne!(other.shaping(), d.shaping(), "{other:?}");
        }
    }

    #[test]
    fn presets_parse_and_differ() {
        let d: Preset = "development".parse().unwrap();
        let h: Preset = "high_performance".parse().unwrap();
        assert_ne!(GenerateOptions::preset(d), GenerateOptions::preset(h));
        assert!("fast".parse::<Preset>().is_err());
    }
}
