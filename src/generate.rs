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

use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::cache::{ActivationCache, CacheStats, Prepared, Scratch};
use crate::clock::now_ms;
use crate::config::GenerateOptions;
use crate::error::Result;
use crate::index::{Index, NONE, ROOT};
use crate::model::Model;
use crate::tokenizer::{tokenize, Detokenizer};
use crate::vocab::{BOS, EOS, UNK};

/// Draws that may land on `</s>` before `min_generated_tokens_ratio` is met before the most
/// likely word is taken instead.
const EOS_RETRIES: usize = 16;

/// Contexts with more successors than this keep a ranking by weight in the activation cache, so
/// capping their candidates costs a slice instead of a selection.
const RANKED_MIN: usize = 256;

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

/// Statistics of one generation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    /// Tokens generated (a sentence break counts as one).
    pub tokens: usize,
    /// Wall time of the request in milliseconds (0 where no clock is set).
    pub elapsed_ms: f64,
    /// `tokens / elapsed`, 0 when the time is 0.
    pub tokens_per_second: f64,
    /// Share of stored patterns that belong to no context the request consulted.
    pub sparsity: f64,
    /// Patterns in the contexts the request consulted.
    pub patterns_activated: u64,
    /// Patterns stored in the model.
    pub patterns_total: u64,
    /// Activation-cache hits of this request.
    pub cache_hits: u64,
    /// Activation-cache misses of this request.
    pub cache_misses: u64,
    /// `hits / (hits + misses)`, `None` when the cache was not consulted (the exact sampler
    /// needs no prepared distributions).
    pub cache_hit_rate: Option<f64>,
    /// The seed used (the one given, or the one drawn): pass it back to reproduce the text.
    pub seed: u64,
    /// Why generation stopped.
    pub stop_reason: StopReason,
    /// True when the exact sampler was used (see [`GenerateOptions::is_exact`]).
    pub exact: bool,
}

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
        let prompt_tokens: Vec<&str> = tokenize(prompt).collect();
        let ids: Vec<u32> = prompt_tokens
            .iter()
            .map(|t| self.vocab.id_or_unk(t))
            .collect();
        let mut detok = Detokenizer::continuing(prompt_tokens.iter().copied());
        let mut text = String::new();
        let mut out = Vec::with_capacity(opts.max_tokens.min(1 << 16));
        let stats = self.run(&ids, opts, |id| {
            let start = text.len();
            let token = self.vocab.word(id);
            if id == EOS {
                detok = Detokenizer::new();
                text.push('\n');
            } else {
                detok.push_to(token, &mut text);
            }
            out.push(id);
            on_token(&text[start..], token)
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
        let prompt_tokens: Vec<&str> = tokenize(prompt).collect();
        let ids: Vec<u32> = prompt_tokens
            .iter()
            .map(|t| self.vocab.id_or_unk(t))
            .collect();
        let mut detok = Detokenizer::continuing(prompt_tokens.iter().copied());
        let mut piece = String::new();
        self.run(&ids, opts, |id| {
            piece.clear();
            let token = self.vocab.word(id);
            if id == EOS {
                detok = Detokenizer::new();
                piece.push('\n');
            } else {
                detok.push_to(token, &mut piece);
            }
            on_token(&piece, token)
        })
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
        self.run(prompt, opts, |id| {
            out.push(id);
            true
        })
    }

    /// Cumulative activation-cache figures over all finished requests. Never waits, so it may
    /// be called at any time, also from inside an `on_token` callback.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache_figures.stats()
    }

    fn run(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        mut emit: impl FnMut(u32) -> bool,
    ) -> Result<GenerationStats> {
        opts.validate()?;
        let t0 = now_ms();
        let index = &self.index;
        let seed = opts.seed.unwrap_or_else(|| self.next_seed());
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let exact = opts.is_exact();
        // The shared cache is held for the whole request. A request that finds it taken (another
        // thread's, or one started from inside an `on_token` callback) uses a private cache
        // rather than wait, so nothing can deadlock.
        let mut shared;
        let mut private;
        let mut uses_shared = false;
        let mut cache: Option<&mut ActivationCache> = if exact {
            None
        } else {
            let c = match self.cache.try_lock() {
                Ok(guard) => {
                    shared = guard;
                    uses_shared = true;
                    &mut *shared
                }
                Err(std::sync::TryLockError::Poisoned(e)) => {
                    shared = e.into_inner();
                    uses_shared = true;
                    &mut *shared
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    private = ActivationCache::default();
                    &mut private
                }
            };
            c.configure(opts);
            Some(c)
        };
        let (hits0, misses0) = cache.as_ref().map_or((0, 0), |c| (c.hits, c.misses));
        let mut state = index.bos;
        for &id in prompt {
            state = index.advance(state, if id < index.vocab_len { id } else { UNK });
        }
        let min_tokens = (opts.min_generated_tokens_ratio * opts.max_tokens as f64).ceil() as usize;
        let mut visited = Vec::with_capacity(opts.max_tokens.min(1 << 16) * 2);
        // Only the distinct contexts visited matter (for sparsity): a long request compacts the
        // list now and then, so its memory is bounded by the model, not by the tokens asked for.
        let mut compact_at = VISITED_COMPACT_MIN;
        let mut generated = 0usize;
        let mut stop = StopReason::MaxTokens;
        while generated < opts.max_tokens {
            let start = index.truncate(state, opts.context_window);
            let mut pick = (EOS, ROOT);
            for _ in 0..EOS_RETRIES {
                pick = match cache.as_deref_mut() {
                    None => draw_exact(index, start, &mut rng, &mut visited),
                    Some(c) => draw_shaped(index, start, opts, c, &mut rng, &mut visited),
                };
                if pick.0 != EOS || generated >= min_tokens {
                    break;
                }
            }
            if pick.0 == EOS && generated < min_tokens {
                let w = index.fallback_word;
                pick = (w, index.advance(start, w));
            }
            let (w, next) = pick;
            if w == EOS && opts.stop_at_sentence_end {
                stop = StopReason::SentenceEnd;
                break;
            }
            generated += 1;
            state = if w == EOS { index.bos } else { next };
            if visited.len() >= compact_at {
                visited.sort_unstable();
                visited.dedup();
                compact_at = (2 * visited.len()).max(VISITED_COMPACT_MIN);
            }
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
        let activated = activated_patterns(index, &visited);
        let total = index.patterns.max(1);
        let elapsed_ms = (now_ms() - t0).max(0.0);
        Ok(GenerationStats {
            tokens: generated,
            elapsed_ms,
            tokens_per_second: if elapsed_ms > 0.0 {
                generated as f64 * 1000.0 / elapsed_ms
            } else {
                0.0
            },
            sparsity: 1.0 - (activated.min(total) as f64 / total as f64),
            patterns_activated: activated,
            patterns_total: index.patterns,
            cache_hits: hits,
            cache_misses: misses,
            cache_hit_rate: if hits + misses > 0 {
                Some(hits as f64 / (hits + misses) as f64)
            } else {
                None
            },
            seed,
            stop_reason: stop,
            exact,
        })
    }
}

/// Contexts a request lists before it first drops repeats (4 MiB): more than any ordinary
/// request visits, so only very long ones ever pay for a sort.
const VISITED_COMPACT_MIN: usize = 1 << 20;

/// The patterns of the distinct contexts in `visited` (a context's patterns are its
/// successors), for the sparsity figure.
///
/// Duplicates are dropped with a small open-addressing set rather than by sorting: sorting and
/// deduplicating took about an eighth of a 100-token request in WebAssembly.
fn activated_patterns(index: &Index, visited: &[u32]) -> u64 {
    let bits = (visited.len() * 2)
        .next_power_of_two()
        .max(16)
        .trailing_zeros();
    let mask = (1usize << bits) - 1;
    // No context starts at offset NONE (the index is smaller), so it marks a free slot.
    let mut slots = vec![NONE; mask + 1];
    let mut sum = 0u64;
    for &s in visited {
        // Fibonacci hashing: the top bits of the product spread nearby offsets apart.
        let mut i = (s.wrapping_mul(0x9E37_79B9) as u64 >> (32 - bits.min(32))) as usize & mask;
        loop {
            let slot = slots[i];
            if slot == s {
                break;
            }
            if slot == NONE {
                slots[i] = s;
                sum += index.successors(s) as u64;
                break;
            }
            i = (i + 1) & mask;
        }
    }
    sum
}

/// One draw from the model's own distribution: successors of `start` by their weights, or with
/// the remaining (back-off) weight a draw from the shorter context, down to a uniform draw over
/// the vocabulary below the root.
#[inline]
fn draw_exact(
    index: &Index,
    start: u32,
    rng: &mut Xoshiro256PlusPlus,
    visited: &mut Vec<u32>,
) -> (u32, u32) {
    let mut s = start;
    loop {
        visited.push(s);
        let c = index.ctx(s);
        // The next context to touch is either the back-off context or the successor's: start
        // loading the first while this one is searched, and the second as soon as it is known.
        if c.backoff != NONE {
            index.prefetch(c.backoff);
        }
        let r = rng.next_u32();
        if c.n > 0 && r < c.cum[c.n - 1] {
            let i = c.cum.partition_point(|&x| x <= r);
            let w = c.words[i];
            let next = if s == start {
                c.next[i]
            } else {
                index.refine_next(start, s, w, c.next[i])
            };
            index.prefetch(next);
            return (w, next);
        }
        if c.backoff == NONE {
            let w = if index.uniform_root && index.vocab_len > EOS + 1 {
                // Uniform over every generable word: `</s>` and the vocabulary after it.
                let span = (index.vocab_len - EOS) as u64;
                EOS + ((rng.next_u32() as u64 * span) >> 32) as u32
            } else {
                index.fallback_word
            };
            return (w, index.refine_next(start, ROOT, w, c.next[w as usize]));
        }
        s = c.backoff;
    }
}

fn draw_shaped(
    index: &Index,
    start: u32,
    opts: &GenerateOptions,
    cache: &mut ActivationCache,
    rng: &mut Xoshiro256PlusPlus,
    visited: &mut Vec<u32>,
) -> (u32, u32) {
    let r = rng.next_u32();
    let pick = |p: &Prepared, visited: &mut Vec<u32>| {
        visited.extend_from_slice(p.visited());
        let i = p.cum().partition_point(|&x| x <= r).min(p.n - 1);
        (p.words()[i], p.next()[i])
    };
    if let Some(lru) = cache.lru.as_mut() {
        if let Some(p) = lru.get(&start) {
            cache.hits += 1;
            return pick(p, visited);
        }
        cache.misses += 1;
        let p = prepare(index, start, opts, &mut cache.ranked, &mut cache.scratch);
        let out = pick(&p, visited);
        cache.put(start, p);
        out
    } else {
        cache.misses += 1;
        let p = prepare(index, start, opts, &mut cache.ranked, &mut cache.scratch);
        pick(&p, visited)
    }
}

/// Builds the shaped next-token distribution of context `start`.
fn prepare(
    index: &Index,
    start: u32,
    opts: &GenerateOptions,
    ranked: &mut FxHashMap<u32, Vec<u32>>,
    scratch: &mut Scratch,
) -> Prepared {
    let Scratch {
        seen,
        round,
        cand,
        picks,
        visited,
    } = scratch;
    if seen.len() != index.vocab_len as usize || *round == u32::MAX {
        seen.clear();
        seen.resize(index.vocab_len as usize, (0, 0));
        *round = 0;
    }
    *round += 1;
    let round = *round;
    cand.clear();
    visited.clear();
    let mut scale = 1.0f64;
    let mut s = start;
    let mut backup_left = opts.max_backup_patterns;
    let mut first = true;
    loop {
        visited.push(s);
        let c = index.ctx(s);
        let cap = if first {
            opts.max_patterns_per_query
        } else {
            backup_left
        };
        picks.clear();
        let usable = |i: &u32| {
            let (w, u) = (c.words[*i as usize], f32::from_bits(c.u[*i as usize]));
            w != BOS && w != UNK && u > 0.0
        };
        if c.n > RANKED_MIN && cap < c.n {
            // Big contexts (the root, frequent words) are met again and again: rank them once.
            let order = ranked.entry(s).or_insert_with(|| {
                let mut o: Vec<u32> = (0..c.n as u32).filter(usable).collect();
                // Positive f32 bits order like the floats; ties by word for determinism.
                o.sort_unstable_by_key(|&i| {
                    (std::cmp::Reverse(c.u[i as usize]), c.words[i as usize])
                });
                o
            });
            picks.extend(order.iter().take(cap).map(|&i| i as usize));
        } else {
            picks.extend((0..c.n as u32).filter(usable).map(|i| i as usize));
            if picks.len() > cap {
                let key = |i: &usize| (std::cmp::Reverse(c.u[*i]), c.words[*i]);
                if cap > 0 {
                    picks.select_nth_unstable_by_key(cap - 1, key);
                }
                picks.truncate(cap);
            }
        }
        if !first {
            backup_left -= picks.len();
        }
        for &i in picks.iter() {
            let w = c.words[i];
            let add = scale * f32::from_bits(c.u[i]) as f64;
            let mark = &mut seen[w as usize];
            if mark.0 == round {
                cand[mark.1 as usize].0 += add;
            } else {
                *mark = (round, cand.len() as u32);
                let next = if s == start {
                    c.next[i]
                } else {
                    index.refine_next(start, s, w, c.next[i])
                };
                cand.push((add, w, next));
            }
        }
        let done = (!opts.frequency_normalization && !cand.is_empty())
            || c.backoff == NONE
            || (!first && backup_left == 0);
        if done {
            break;
        }
        scale *= c.gamma as f64;
        s = c.backoff;
        first = false;
    }
    if cand.is_empty() {
        let w = index.fallback_word;
        cand.push((1.0, w, index.advance(start, w)));
    }
    shape(cand, visited, opts)
}

/// Applies threshold, top-k, temperature and top-p to raw candidate weights.
fn shape(cand: &mut Vec<(f64, u32, u32)>, visited: &[u32], opts: &GenerateOptions) -> Prepared {
    let total: f64 = cand.iter().map(|c| c.0).sum();
    for c in cand.iter_mut() {
        c.0 /= total;
    }
    // Likeliest first, ties by word id, so truncation is deterministic. Top-k and the threshold
    // keep a prefix of this order, and temperature does not change it, so select the top k
    // first and only sort (and temper) those.
    let order = |a: &(f64, u32, u32), b: &(f64, u32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    // Temperature 0 is greedy: only the likeliest candidate stays.
    let top_k = if opts.temperature == 0.0 {
        1
    } else {
        opts.top_k
    };
    if top_k > 0 && cand.len() > top_k {
        cand.select_nth_unstable_by(top_k - 1, order);
        cand.truncate(top_k);
    }
    cand.sort_unstable_by(order);
    if opts.activation_threshold > 0.0 {
        let keep = cand
            .iter()
            .skip(1)
            .take_while(|c| c.0 >= opts.activation_threshold)
            .count()
            + 1;
        cand.truncate(keep);
    }
    if opts.temperature != 1.0 && opts.temperature != 0.0 {
        let inv = 1.0 / opts.temperature;
        let top = cand[0].0;
        // Relative to the top candidate, so a low temperature cannot underflow every weight.
        for c in cand.iter_mut() {
            c.0 = libm::exp(libm::log(c.0 / top) * inv);
        }
    }
    if opts.top_p < 1.0 {
        let total: f64 = cand.iter().map(|c| c.0).sum();
        let mut acc = 0.0;
        let mut keep = cand.len();
        for (i, c) in cand.iter().enumerate() {
            acc += c.0 / total;
            if acc >= opts.top_p {
                keep = i + 1;
                break;
            }
        }
        cand.truncate(keep);
    }
    let n = cand.len();
    let total: f64 = cand.iter().map(|c| c.0).sum();
    let mut data = Vec::with_capacity(3 * n + visited.len());
    let mut acc = 0.0;
    data.extend(cand.iter().map(|c| {
        acc += c.0 / total;
        (acc * 4_294_967_296.0).min(4_294_967_295.0) as u32
    }));
    data[n - 1] = u32::MAX;
    data.extend(cand.iter().map(|c| c.1));
    data.extend(cand.iter().map(|c| c.2));
    data.extend_from_slice(visited);
    Prepared {
        n,
        data: data.into_boxed_slice(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TrainOptions, Trainer, MAX_ACTIVATION_CACHE_SIZE};

    fn tiny() -> Model {
        let mut t = Trainer::new(TrainOptions {
            max_pattern_length: 3,
            ..Default::default()
        })
        .unwrap();
        t.feed(include_str!("../tests/fixtures/corpus/tiny.txt"));
        t.finish().unwrap()
    }

    /// The open-addressing set counts each visited context once, as sorting and deduplicating
    /// would, from empty lists to ones that make the set grow and collide.
    #[test]
    fn activated_patterns_count_each_context_once() {
        let model = tiny();
        let index = &model.index;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let mut visited = Vec::new();
        let mut state = index.bos;
        for len in [0usize, 1, 2, 17, 100, 5_000] {
            while visited.len() < len {
                let (w, next) = draw_exact(index, state, &mut rng, &mut visited);
                state = if w == EOS { index.bos } else { next };
            }
            let list = &visited[..len];
            let mut distinct = list.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            let expected: u64 = distinct.iter().map(|&s| index.ctx(s).n as u64).sum();
            assert_eq!(activated_patterns(index, list), expected, "{len} visits");
        }
    }

    /// The exact sampler must draw from the same distribution that perplexity scores.
    #[test]
    fn exact_draws_follow_the_model_distribution() {
        let model = tiny();
        let index = &model.index;
        let v = model.vocab.len() as u32;
        let after_it_is = ["It", "is"]
            .iter()
            .fold(index.bos, |s, w| index.advance(s, model.vocab.id_or_unk(w)));
        for state in [index.bos, after_it_is, ROOT] {
            let total: f64 = (0..v)
                .filter(|&w| w != BOS)
                .map(|w| index.prob(state, w).0)
                .sum();
            assert!((total - 1.0).abs() < 1e-4, "probabilities sum to {total}");
            let draws = 200_000;
            let mut seen = vec![0u32; v as usize];
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
            let mut visited = Vec::new();
            for _ in 0..draws {
                let (w, next) = draw_exact(index, state, &mut rng, &mut visited);
                assert_eq!(next, index.advance(state, w), "next state of word {w}");
                seen[w as usize] += 1;
                visited.clear();
            }
            for w in 0..v {
                let p = index.prob(state, w).0;
                let f = seen[w as usize] as f64 / draws as f64;
                let sigma = (p * (1.0 - p) / draws as f64).sqrt();
                if w != UNK && w != BOS {
                    assert!(
                        (f - p).abs() < 5.0 * sigma + 1e-4,
                        "word {w}: drawn {f}, model {p}"
                    );
                }
            }
        }
    }

    #[test]
    fn shaped_options_narrow_the_choice() {
        let model = tiny();
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
        let model = tiny();
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
        let model = tiny();
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
        let model = tiny();
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

    #[test]
    fn a_large_cache_size_allocates_nothing_up_front() {
        let model = tiny();
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
        let model = tiny();
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
