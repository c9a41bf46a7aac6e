//! Text generation: seeded sampling from the index, the activation cache, and statistics.
//!
//! Two samplers share one loop:
//! * the **exact** sampler (default options) draws from the model's own distribution straight
//!   from the index: one `u32` draw and a binary search per context visited, no allocation;
//! * the **shaped** sampler (temperature, top-k, top-p, an activation threshold, or unnormalized
//!   frequencies) prepares a candidate list per context: it mixes the successors of the context
//!   and of its back-off contexts (capped by `max_patterns_per_query` and
//!   `max_backup_patterns`), applies the options, and keeps the result in the activation cache
//!   (an LRU keyed by context) so repeated contexts cost one look-up.
//!
//! Both draw with xoshiro256++ seeded from `seed` and integer arithmetic, and `f64` math goes
//! through `libm`, so the same seed gives the same tokens natively and in WebAssembly.

use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::cache::{ActivationCache, CacheStats};
use crate::clock::now_ms;
use crate::config::GenerateOptions;
use crate::error::Result;
use crate::model::Model;
use crate::sample::{activated_patterns, draw, Visited};
use crate::tokenizer::{tokenize, Detokenizer};
use crate::vocab::{EOS, UNK};

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `max_tokens` reached.
    MaxTokens,
    /// The model ended the sentence (and `stop_at_sentence_end` is set).
    SentenceEnd,
    /// The token callback asked to stop.
    Cancelled,
}

/// The declaration of [`GenerationStats`], the one list of its fields:
/// `generation_stats_fields!(result_fields [m ARGS])` hands it to the macro `m`
/// (the form: `src/shapes.rs`). The core makes the struct from it, the WebAssembly bindings its
/// JavaScript object and TypeScript interface.
#[macro_export]
macro_rules! generation_stats_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// Statistics of one generation request.
            #[js_doc = "Statistics of one `generate` call."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[non_exhaustive]
            struct GenerationStats {
                /// Tokens generated (a sentence break counts as one).
                #[js_doc = "Tokens generated (a sentence break counts as one)."]
                tokens: usize,
                /// Wall time of the request in milliseconds (0 where no clock is set).
                #[js_doc = "Wall time of the call in milliseconds."]
                elapsed_ms: f64,
                /// `tokens / elapsed`, 0 when the time is 0.
                #[js_doc = "tokens / elapsed time, 0 when the time is 0."]
                tokens_per_second: f64,
                /// Share of stored patterns that belong to no context the request consulted.
                #[js_doc = "Share of stored patterns in no context the request consulted."]
                sparsity: f64,
                /// Patterns in the contexts the request consulted.
                #[js_doc = "Patterns in the contexts the request consulted."]
                patterns_activated: u64,
                /// Patterns stored in the model.
                #[js_doc = "Patterns stored in the model."]
                patterns_total: u64,
                /// Activation-cache hits of this request.
                #[js_doc = "Activation-cache hits of this call."]
                cache_hits: u64,
                /// Activation-cache misses of this request.
                #[js_doc = "Activation-cache misses of this call."]
                cache_misses: u64,
                /// `hits / (hits + misses)`, `None` when the cache was not consulted (the exact
                /// sampler needs no prepared distributions).
                #[js_doc = "null when the activation cache was not consulted (exact sampling)."]
                cache_hit_rate: Option<f64>,
                /// The seed used (the one given, or the one drawn): pass it back to reproduce the
                /// text.
                #[js_doc = "The seed used: pass it back to reproduce the text."]
                seed: u64,
                /// Why generation stopped.
                #[js_doc = "Why generation stopped."]
                stop_reason: StopReason,
                /// True when the exact sampler was used (see [`GenerateOptions::is_exact`]).
                ///
                /// [`GenerateOptions::is_exact`]: crate::GenerateOptions::is_exact
                #[js_doc = "True when the model's own distribution was sampled exactly."]
                exact: bool,
            }
        }
    };
}

generation_stats_fields!(result_fields[declare_result]);

/// The result of [`Model::generate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The continuation, spaced so that `prompt + text` reads naturally.
    pub text: String,
    /// Generated tokens; `</s>` marks a sentence break when generation continues past one.
    pub tokens: Vec<String>,
    /// Statistics.
    pub stats: GenerationStats,
}

impl Model {
    /// Generates a continuation of `prompt`.
    ///
    /// The last `context_window` tokens (prompt included) are matched against the patterns,
    /// backing off to shorter contexts; see [`GenerateOptions`] for every knob. Unknown prompt
    /// words are fine: the model backs off to shorter contexts, down to the unigrams.
    ///
    /// ```
    /// use ultra_efficient_llm::{GenerateOptions, TrainOptions, Trainer};
    /// let mut t = Trainer::new(TrainOptions::default())?;
    /// t.feed("the cat sat on the mat.\nthe dog sat on the log.\n");
    /// let model = t.finish()?;
    /// let opts = GenerateOptions { seed: Some(7), max_tokens: 10, ..Default::default() };
    /// let a = model.generate("the", &opts)?;
    /// assert_eq!(a.text, model.generate("the", &opts)?.text);
    /// # Ok::<(), ultra_efficient_llm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] when an option is out of range.
    pub fn generate(&self, prompt: &str, opts: &GenerateOptions) -> Result<Generation> {
        self.generate_with(prompt, opts, |_, _| true)
    }

    /// Like [`Model::generate`], calling `on_token(piece, token)` after each token, where
    /// `piece` is the text appended for it (with its leading space, if any). Returning `false`
    /// stops generation ([`StopReason::Cancelled`]).
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] when an option is out of range.
    pub fn generate_with(
        &self,
        prompt: &str,
        opts: &GenerateOptions,
        on_token: impl FnMut(&str, &str) -> bool,
    ) -> Result<Generation> {
        let (text, ids, stats) = self.generate_text(prompt, opts, on_token)?;
        Ok(Generation {
            text,
            tokens: ids
                .iter()
                .map(|&id| self.vocab.word(id).to_owned())
                .collect(),
            stats,
        })
    }

    /// [`Model::generate_with`] with the tokens as ids of [`Model::vocab`] (`</s>` is
    /// [`EOS`]): `(text, ids, stats)`. Spares one allocation per token for callers that keep
    /// their own token strings, such as the WebAssembly bindings.
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] when an option is out of range.
    pub fn generate_text(
        &self,
        prompt: &str,
        opts: &GenerateOptions,
        mut on_token: impl FnMut(&str, &str) -> bool,
    ) -> Result<(String, Vec<u32>, GenerationStats)> {
        let mut text = String::new();
        let mut out = Vec::with_capacity(opts.max_tokens.min(1 << 16));
        let stats = self.stream(prompt, opts, |piece, token, id| {
            text.push_str(piece);
            out.push(id);
            on_token(piece, token)
        })?;
        Ok((text, out, stats))
    }

    /// Like [`Model::generate_with`], but keeps nothing per token: `on_token(piece, token)` gets
    /// each piece of text as it is made, and only the statistics are returned. Memory stays
    /// constant however many tokens are asked for (the CLI's streamed output uses it).
    ///
    /// ```
    /// use ultra_efficient_llm::{GenerateOptions, TrainOptions, Trainer};
    /// let mut t = Trainer::new(TrainOptions::default())?;
    /// t.feed("the cat sat on the mat.\nthe dog sat on the log.\n");
    /// let model = t.finish()?;
    /// let opts = GenerateOptions { seed: Some(7), max_tokens: 10, ..Default::default() };
    /// let mut text = String::new();
    /// let stats = model.generate_stream("the", &opts, |piece, _| {
    ///     text.push_str(piece);
    ///     true
    /// })?;
    /// assert_eq!(text, model.generate("the", &opts)?.text);
    /// assert_eq!(stats.tokens, model.generate("the", &opts)?.stats.tokens);
    /// # Ok::<(), ultra_efficient_llm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] when an option is out of range.
    pub fn generate_stream(
        &self,
        prompt: &str,
        opts: &GenerateOptions,
        mut on_token: impl FnMut(&str, &str) -> bool,
    ) -> Result<GenerationStats> {
        self.stream(prompt, opts, |piece, token, _| on_token(piece, token))
    }

    /// The generation behind [`Model::generate_stream`] and [`Model::generate_text`]: calls
    /// `on_token(piece, token, id)` after each token, with the text it appends (its leading
    /// space, if any; a newline for `</s>`), keeping nothing per token itself.
    fn stream(
        &self,
        prompt: &str,
        opts: &GenerateOptions,
        on_token: impl FnMut(&str, &str, u32) -> bool,
    ) -> Result<GenerationStats> {
        self.stream_in(prompt, opts, None, on_token)
    }

    /// [`Model::stream`] with the caller's cache (`None`: the model's, see [`Model::run`]).
    fn stream_in(
        &self,
        prompt: &str,
        opts: &GenerateOptions,
        caller: Option<&mut ActivationCache>,
        mut on_token: impl FnMut(&str, &str, u32) -> bool,
    ) -> Result<GenerationStats> {
        let prompt_tokens: Vec<&str> = tokenize(prompt).collect();
        let ids: Vec<u32> = prompt_tokens
            .iter()
            .map(|t| self.vocab.id_or_unk(t))
            .collect();
        let mut detok = Detokenizer::continuing(prompt_tokens.iter().copied());
        let mut piece = String::new();
        self.run(&ids, opts, caller, |id| {
            piece.clear();
            let token = self.vocab.word(id);
            if id == EOS {
                detok = Detokenizer::new();
                piece.push('\n');
            } else {
                detok.push_to(token, &mut piece);
            }
            on_token(&piece, token, id)
        })
    }

    /// [`Model::generate_text`] with the caller's own activation cache instead of the model's:
    /// for callers that share one model between threads (the threaded WebAssembly build's
    /// workers, or native threads) and want each to keep its shaped distributions between its
    /// requests. The model's cache serves one request at a time (another one at the same moment
    /// gets a fresh private cache rather than wait, see [`Model::generate_text`]), so under
    /// concurrent shaped requests only one thread would get cache hits; with a cache per thread,
    /// each does. The same seed and options give the same text with any cache. A cache used with
    /// another model starts empty again.
    ///
    /// ```
    /// use ultra_efficient_llm::{GenerateOptions, GenerationCache, TrainOptions, Trainer};
    /// let mut t = Trainer::new(TrainOptions::default())?;
    /// t.feed("the cat sat on the mat.\nthe dog sat on the log.\n");
    /// let model = t.finish()?;
    /// let opts = GenerateOptions { seed: Some(7), max_tokens: 10, top_k: 2, ..Default::default() };
    /// let mut cache = GenerationCache::default();
    /// let (text, _, _) = model.generate_text_cached(&mut cache, "the", &opts, |_, _| true)?;
    /// assert_eq!(text, model.generate("the", &opts)?.text);
    /// let (_, _, again) = model.generate_text_cached(&mut cache, "the", &opts, |_, _| true)?;
    /// assert!(again.cache_hits > 0);
    /// # Ok::<(), ultra_efficient_llm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] when an option is out of range.
    pub fn generate_text_cached(
        &self,
        cache: &mut GenerationCache,
        prompt: &str,
        opts: &GenerateOptions,
        mut on_token: impl FnMut(&str, &str) -> bool,
    ) -> Result<(String, Vec<u32>, GenerationStats)> {
        if cache.model != Some(self.id) {
            *cache = GenerationCache {
                cache: ActivationCache::default(),
                model: Some(self.id),
            };
        }
        let mut text = String::new();
        let mut out = Vec::with_capacity(opts.max_tokens.min(1 << 16));
        let stats = self.stream_in(prompt, opts, Some(&mut cache.cache), |piece, token, id| {
            text.push_str(piece);
            out.push(id);
            on_token(piece, token)
        })?;
        Ok((text, out, stats))
    }

    /// Generates token ids only (no strings): the sampler alone, for benchmarks and callers that
    /// keep their own vocabulary. `prompt` ids come from [`crate::Vocab::id_or_unk`].
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] when an option is out of range.
    pub fn generate_ids(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        out: &mut Vec<u32>,
    ) -> Result<GenerationStats> {
        out.clear();
        self.run(prompt, opts, None, |id| {
            out.push(id);
            true
        })
    }

    /// Cumulative activation-cache figures over all finished requests. Never waits, so it may
    /// be called at any time, also from inside an `on_token` callback.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache_figures.stats()
    }

    /// Takes the model's activation cache for one shaped request, or, when another request
    /// holds it (another thread's, or one started from inside an `on_token` callback), a
    /// private one rather than wait, so nothing can deadlock.
    fn cache_slot(&self, opts: &GenerateOptions) -> CacheSlot<'_> {
        let mut slot = match self.cache.try_lock() {
            Ok(guard) => CacheSlot::Shared(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => CacheSlot::Shared(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => CacheSlot::Private(Box::default()),
        };
        slot.get().configure(opts);
        slot
    }

    /// One request: `caller` is the caller's own cache ([`Model::generate_text_cached`]); without
    /// it, shaped requests take the model's ([`Model::cache_slot`]).
    fn run(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        caller: Option<&mut ActivationCache>,
        mut emit: impl FnMut(u32) -> bool,
    ) -> Result<GenerationStats> {
        opts.validate()?;
        let t0 = now_ms();
        let index = &self.index;
        let seed = opts.seed.unwrap_or_else(|| self.next_seed());
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let exact = opts.is_exact();
        // The shared cache is held for the whole request.
        let mut slot = (!exact).then(|| match caller {
            Some(cache) => {
                cache.configure(opts);
                CacheSlot::Caller(cache)
            }
            None => self.cache_slot(opts),
        });
        // The figures of the cache that persists (the model's or the caller's).
        let uses_shared = matches!(slot, Some(CacheSlot::Shared(_) | CacheSlot::Caller(_)));
        let mut cache = slot.as_mut().map(CacheSlot::get);
        let (hits0, misses0) = cache.as_ref().map_or((0, 0), |c| (c.hits, c.misses));
        let mut state = index.bos;
        for &id in prompt {
            state = index.advance(state, if id < index.vocab_len { id } else { UNK });
        }
        let min_tokens = (opts.min_generated_tokens_ratio * opts.max_tokens as f64).ceil() as usize;
        let mut visited = Visited::new(opts.max_tokens);
        let mut generated = 0usize;
        let mut stop = StopReason::MaxTokens;
        while generated < opts.max_tokens {
            let start = index.truncate(state, opts.context_window);
            let may_end = generated >= min_tokens;
            let (w, next) = draw(
                index,
                start,
                opts,
                cache.as_deref_mut(),
                &mut rng,
                &mut visited.list,
                may_end,
            );
            if w == EOS && opts.stop_at_sentence_end {
                stop = StopReason::SentenceEnd;
                break;
            }
            generated += 1;
            state = if w == EOS { index.bos } else { next };
            visited.compact_when_long();
            if !emit(w) {
                stop = StopReason::Cancelled;
                break;
            }
        }
        let (hits, misses) = cache
            .as_ref()
            .map_or((0, 0), |c| (c.hits - hits0, c.misses - misses0));
        let shared = cache.as_deref().filter(|_| uses_shared);
        self.cache_figures.record(hits, misses, shared);
        let activated = activated_patterns(index, &visited.list);
        Ok(GenerationStats::of(
            generated,
            now_ms() - t0,
            (activated, index.patterns),
            (hits, misses),
            seed,
            stop,
            exact,
        ))
    }
}

/// The activation cache one request uses: the model's own, a private one, or the caller's.
enum CacheSlot<'m> {
    Shared(std::sync::MutexGuard<'m, ActivationCache>),
    Private(Box<ActivationCache>),
    Caller(&'m mut ActivationCache),
}

impl CacheSlot<'_> {
    fn get(&mut self) -> &mut ActivationCache {
        match self {
            CacheSlot::Shared(guard) => guard,
            CacheSlot::Private(own) => own,
            CacheSlot::Caller(cache) => cache,
        }
    }
}

/// An activation cache of the caller's own, for [`Model::generate_text_cached`]: one per thread
/// (or worker) that generates with a model shared between several. It holds the shaped
/// distributions of one model at a time (bounded as the model's own cache: by
/// `activation_cache_size` entries and [`crate::ACTIVATION_CACHE_MAX_BYTES`]), allocated as it
/// fills; used with another model, it starts empty again.
#[derive(Default)]
pub struct GenerationCache {
    cache: ActivationCache,
    /// The [`Model::id`] its entries belong to.
    model: Option<u64>,
}

impl std::fmt::Debug for GenerationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationCache")
            .field("model", &self.model)
            .field("hits", &self.cache.hits)
            .field("misses", &self.cache.misses)
            .finish_non_exhaustive()
    }
}

impl GenerationStats {
    /// The statistics of a request that made `tokens` in `elapsed_ms`, consulting contexts of
    /// `activated` of the model's `total` patterns, with these cache `hits` and `misses`.
    fn of(
        tokens: usize,
        elapsed_ms: f64,
        (activated, total): (u64, u64),
        (hits, misses): (u64, u64),
        seed: u64,
        stop_reason: StopReason,
        exact: bool,
    ) -> GenerationStats {
        let elapsed_ms = elapsed_ms.max(0.0);
        let all = total.max(1);
        GenerationStats {
            tokens,
            elapsed_ms,
            tokens_per_second: if elapsed_ms > 0.0 {
                tokens as f64 * 1000.0 / elapsed_ms
            } else {
                0.0
            },
            sparsity: 1.0 - (activated.min(all) as f64 / all as f64),
            patterns_activated: activated,
            patterns_total: total,
            cache_hits: hits,
            cache_misses: misses,
            cache_hit_rate: if hits + misses > 0 {
                Some(hits as f64 / (hits + misses) as f64)
            } else {
                None
            },
            seed,
            stop_reason,
            exact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_ACTIVATION_CACHE_SIZE;

    /// The open-addressing set counts each visited context once, as sorting and deduplicating
    /// would, from empty lists to ones that make the set grow and collide.
    #[test]
    fn shaped_options_narrow_the_choice() {
        let model = crate::testing::tiny_o3();
        let greedy = GenerateOptions {
            top_k: 1,
            seed: Some(3),
            max_tokens: 20,
            ..Default::default()
        };
        let a = model.generate("It is", &greedy).unwrap();
        let b = model
            .generate(
                "It is",
                &GenerateOptions {
                    seed: Some(4),
                    ..greedy.clone()
                },
            )
            .unwrap();
        assert_eq!(
            a.text, b.text,
            "top_k = 1 is deterministic whatever the seed"
        );
        assert!(a.stats.cache_hit_rate.is_some() && !a.stats.exact);
        let again = model.generate("It is", &greedy).unwrap();
        assert!(
            again.stats.cache_hits > 0,
            "repeated contexts hit the activation cache"
        );
    }

    #[test]
    fn temperature_zero_is_greedy_whatever_the_seed() {
        let model = crate::testing::tiny_o3();
        let opts = |seed, temperature, top_k| GenerateOptions {
            seed: Some(seed),
            temperature,
            top_k,
            max_tokens: 30,
            ..Default::default()
        };
        let greedy = model.generate("It is", &opts(1, 1.0, 1)).unwrap().text;
        for seed in [1, 2, 99, u64::from(u32::MAX)] {
            for top_k in [0, 1, 40] {
                let g = model.generate("It is", &opts(seed, 0.0, top_k)).unwrap();
                assert_eq!(g.text, greedy, "seed {seed}, top_k {top_k}");
                assert!(!g.stats.exact);
            }
        }
        // A tiny positive temperature is nearly greedy, but still a sampler.
        assert!(opts(1, 1e-9, 0).validate().is_ok());
        assert!(opts(1, -0.0001, 0).validate().is_err());
    }

    #[test]
    fn stops_and_ratios_are_honoured() {
        let model = crate::testing::tiny_o3();
        let o = GenerateOptions {
            max_tokens: 30,
            seed: Some(1),
            stop_at_sentence_end: false,
            ..Default::default()
        };
        let g = model.generate("", &o).unwrap();
        assert_eq!(g.stats.tokens, 30);
        assert_eq!(g.stats.stop_reason, StopReason::MaxTokens);
        let o = GenerateOptions {
            max_tokens: 30,
            min_generated_tokens_ratio: 1.0,
            ..o
        };
        for seed in 0..20 {
            let g = model
                .generate(
                    "",
                    &GenerateOptions {
                        seed: Some(seed),
                        stop_at_sentence_end: true,
                        ..o.clone()
                    },
                )
                .unwrap();
            assert_eq!(g.stats.tokens, 30, "ratio 1.0 forbids an early end");
        }
        let mut n = 0;
        let g = model
            .generate_with("It is", &o, |_, _| {
                n += 1;
                n < 5
            })
            .unwrap();
        assert_eq!(
            (g.stats.tokens, g.stats.stop_reason),
            (5, StopReason::Cancelled)
        );
        let s = g.stats.sparsity;
        assert!(s > 0.0 && s < 1.0, "sparsity {s}");
    }

    #[test]
    fn a_shaped_request_inside_a_token_callback_does_not_deadlock() {
        let model = crate::testing::tiny_o3();
        let shaped = GenerateOptions {
            top_k: 5,
            seed: Some(2),
            max_tokens: 5,
            ..Default::default()
        };
        let mut inner = 0;
        model
            .generate_with("It is", &shaped, |_, _| {
                inner += model.generate("She", &shaped).unwrap().stats.tokens;
                true
            })
            .unwrap();
        assert!(inner > 0);
    }

    /// Threads sharing one model, each with its own cache, generate at once the text the model's
    /// own cache gives, and each hits its cache on its second request; a cache moved to another
    /// model starts empty.
    #[test]
    fn callers_sharing_a_model_keep_caches_of_their_own() {
        let model = std::sync::Arc::new(crate::testing::tiny_o3());
        let shaped = GenerateOptions {
            temperature: 0.8,
            top_k: 40,
            seed: Some(42),
            max_tokens: 40,
            ..Default::default()
        };
        let want = model.generate("It is", &shaped).unwrap().text;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (model, opts) = (model.clone(), shaped.clone());
                std::thread::spawn(move || {
                    let mut cache = GenerationCache::default();
                    let run = |cache: &mut GenerationCache| {
                        model
                            .generate_text_cached(cache, "It is", &opts, |_, _| true)
                            .unwrap()
                    };
                    let (first, _, _) = run(&mut cache);
                    let (second, _, stats) = run(&mut cache);
                    (first, second, stats.cache_hits, cache)
                })
            })
            .collect();
        for t in threads {
            let (first, second, hits, mut cache) = t.join().unwrap();
            assert_eq!(
                (first.as_str(), second.as_str()),
                (want.as_str(), want.as_str())
            );
            assert!(hits > 0, "the second request hits its own cache");
            let other = crate::testing::tiny_o3();
            let (text, _, stats) = other
                .generate_text_cached(&mut cache, "It is", &shaped, |_, _| true)
                .unwrap();
            assert_eq!(text, want);
            assert_eq!(stats.cache_hits, 0, "another model's cache starts empty");
        }
    }

    #[test]
    fn a_large_cache_size_allocates_nothing_up_front() {
        let model = crate::testing::tiny_o3();
        let opts = GenerateOptions {
            seed: Some(1),
            top_k: 5,
            activation_cache_size: MAX_ACTIVATION_CACHE_SIZE,
            ..Default::default()
        };
        let out = model.generate("It is", &opts).unwrap();
        let stats = model.cache_stats();
        assert_eq!(stats.capacity, MAX_ACTIVATION_CACHE_SIZE);
        assert!(out.stats.tokens > 0);
        assert_eq!(stats.entries as u64, stats.misses);
        assert!(stats.bytes > 0 && stats.bytes < 1 << 20, "{}", stats.bytes);
    }

    #[test]
    fn unknown_prompt_words_still_generate() {
        let model = crate::testing::tiny_o3();
        let g = model
            .generate(
                "zzyzx qwertyuiop",
                &GenerateOptions {
                    seed: Some(5),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(g.stats.tokens > 0);
    }
}
