//! The samplers: one draw of the next token from the model's own distribution, straight from
//! the index (exact), or from a prepared, shaped distribution that the activation cache keeps
//! (temperature, top-k, top-p, threshold, raw frequencies); and the sparsity figure of the
//! contexts a request consulted.

use rand_core::RngCore;
use rand_xoshiro::Xoshiro256PlusPlus;
use rustc_hash::FxHashMap;

use crate::cache::{ActivationCache, Prepared, Scratch};
use crate::config::GenerateOptions;
use crate::index::{Ctx, Index, Mass, NONE, ROOT};
use crate::vocab::{BOS, EOS, UNK};

/// Draws that may land on `</s>` before `min_generated_tokens_ratio` is met before the most
/// likely word is taken instead.
const EOS_RETRIES: usize = 16;

/// Contexts with more successors than this keep a ranking by weight in the activation cache, so
/// capping their candidates costs a slice instead of a selection.
const RANKED_MIN: usize = 256;

/// The contexts a request consulted, for its sparsity. Only the distinct ones matter: a long
/// request drops repeats now and then, so its memory is bounded by the model, not by the
/// tokens asked for.
pub(crate) struct Visited {
    pub list: Vec<u32>,
    compact_at: usize,
}

impl Visited {
    pub(crate) fn new(max_tokens: usize) -> Visited {
        Visited {
            list: Vec::with_capacity(max_tokens.min(1 << 16) * 2),
            compact_at: VISITED_COMPACT_MIN,
        }
    }

    #[inline(always)]
    pub(crate) fn compact_when_long(&mut self) {
        if self.list.len() >= self.compact_at {
            self.list.sort_unstable();
            self.list.dedup();
            self.compact_at = (2 * self.list.len()).max(VISITED_COMPACT_MIN);
        }
    }
}

/// The next token after context `start` and the state it leads to: a draw from the exact or
/// the shaped distribution; before `may_end`, a drawn `</s>` is drawn again (up to
/// [`EOS_RETRIES`] times) and then replaced by the likeliest word.
#[inline(always)]
pub(crate) fn draw(
    index: &Index,
    start: u32,
    opts: &GenerateOptions,
    mut cache: Option<&mut ActivationCache>,
    rng: &mut Xoshiro256PlusPlus,
    visited: &mut Vec<u32>,
    may_end: bool,
) -> (u32, u32) {
    for _ in 0..EOS_RETRIES {
        let pick = match cache.as_deref_mut() {
            None => draw_exact(index, start, rng, visited),
            Some(c) => draw_shaped(index, start, opts, c, rng, visited),
        };
        if pick.0 != EOS || may_end {
            return pick;
        }
    }
    let w = index.fallback_word;
    (w, index.advance(start, w))
}

/// Contexts a request lists before it first drops repeats (4 MiB): more than any ordinary
/// request visits, so only very long ones ever pay for a sort.
const VISITED_COMPACT_MIN: usize = 1 << 20;

/// The patterns of the distinct contexts in `visited` (a context's patterns are its
/// successors), for the sparsity figure.
///
/// Duplicates are dropped with a small open-addressing set rather than by sorting: sorting and
/// deduplicating took about an eighth of a 100-token request in WebAssembly.
pub(crate) fn activated_patterns(index: &Index, visited: &[u32]) -> u64 {
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
    let mut c = index.ctx(s);
    // The contexts backed off from, as parsed: where the drawn word's next state is refined
    // (see `refined`), without parsing them again.
    let mut chain: [Option<Ctx<'_>>; CHAIN] = [None; CHAIN];
    let mut depth = 0;
    loop {
        visited.push(s);
        // The next context to touch is either the back-off context or the successor's: start
        // loading the first while this one is searched, and the second as soon as it is known.
        if c.backoff != NONE {
            index.prefetch(c.backoff);
        }
        let r = rng.next_u32();
        if let Some(i) = c.draw(r) {
            let w = c.word(i);
            let next = refined(index, &chain, depth, start, s, w, c.next(i));
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
            return (
                w,
                refined(index, &chain, depth, start, ROOT, w, c.next(w as usize)),
            );
        }
        if depth < CHAIN {
            chain[depth] = Some(c);
        }
        depth += 1;
        s = c.backoff;
        c = index.ctx(s);
    }
}

/// Contexts a draw keeps parsed for [`refined`]: one per back-off step, up to this many.
const CHAIN: usize = 8;

/// [`Index::refine_next`] for a word drawn at the context `found`, `depth` back-off steps from
/// `start`, with the contexts on the way as `chain` holds them (parsed already).
#[inline(always)]
fn refined(
    index: &Index,
    chain: &[Option<Ctx<'_>>; CHAIN],
    depth: usize,
    start: u32,
    found: u32,
    word: u32,
    next: u32,
) -> u32 {
    if depth > CHAIN {
        return index.refine_next(start, found, word, next);
    }
    for c in chain[..depth].iter().flatten() {
        if let Some(i) = c.find(word) {
            return c.next(i);
        }
    }
    next
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
        let (w, next, found) = (p.words()[i], p.next()[i], p.found()[i]);
        let next = if found == start {
            next
        } else {
            index.refine_next(start, found, w, next)
        };
        (w, next)
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

/// Builds the shaped next-token distribution of context `start`: the capped successors of
/// `start` and of its back-off contexts, merged by word with each context's share of the
/// probability mass, then shaped ([`shape`]).
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
    let round = next_round(seen, round, index.vocab_len as usize);
    cand.clear();
    visited.clear();
    let mut cand = Candidates { seen, round, cand };
    let mut scale = 1.0f64;
    let mut s = start;
    let mut backup_left = opts.max_backup_patterns;
    let mut first = true;
    loop {
        visited.push(s);
        let c = index.ctx(s);
        let m = c.mass();
        let cap = if first {
            opts.max_patterns_per_query
        } else {
            backup_left
        };
        pick(&c, m, s, cap, ranked, picks);
        if !first {
            backup_left -= picks.len();
        }
        cand.add(s, &c, picks, scale);
        let done = (!opts.frequency_normalization && !cand.cand.is_empty())
            || c.backoff == NONE
            || (!first && backup_left == 0);
        if done {
            break;
        }
        scale *= m.gamma as f64;
        s = c.backoff;
        first = false;
    }
    let cand = cand.cand;
    if cand.is_empty() {
        let w = index.fallback_word;
        cand.push((1.0, w, index.advance(start, w), start));
    }
    shape(cand, visited, opts)
}

/// Starts a new preparation's marks in `seen` (one per word of a vocabulary of `vocab_len`):
/// returns its round, clearing the marks when the vocabulary changed or the rounds ran out.
#[inline]
fn next_round(seen: &mut Vec<(u32, u32)>, round: &mut u32, vocab_len: usize) -> u32 {
    if seen.len() != vocab_len || *round == u32::MAX {
        seen.clear();
        seen.resize(vocab_len, (0, 0));
        *round = 0;
    }
    *round += 1;
    *round
}

/// The successors of the context `c` (at offset `s`) that can be drawn (not `<s>` or `<unk>`,
/// weight above 0), with their weights `u`, into `picks`: the `cap` likeliest (ties by word)
/// when there are more. Each weight is computed once (a division, from the block's counts).
#[inline]
fn pick(
    c: &Ctx<'_>,
    m: Mass,
    s: u32,
    cap: usize,
    ranked: &mut FxHashMap<u32, Vec<u32>>,
    picks: &mut Vec<(usize, f32)>,
) {
    picks.clear();
    let usable = |i: usize, u: f32| {
        let w = c.word(i);
        w != BOS && w != UNK && u > 0.0
    };
    // Likeliest first (positive f32 bits order like the floats), ties by word for determinism.
    let key = |&(i, u): &(usize, f32)| (std::cmp::Reverse(u.to_bits()), c.word(i));
    if c.n > RANKED_MIN && cap < c.n {
        // Big contexts (the root, frequent words) are met again and again: rank them once.
        let order = ranked.entry(s).or_insert_with(|| {
            let mut o: Vec<_> = (0..c.n)
                .map(|i| (i, c.u(i, m)))
                .filter(|&(i, u)| usable(i, u))
                .map(|p| (key(&p), p.0 as u32))
                .collect();
            o.sort_unstable();
            o.into_iter().map(|(_, i)| i).collect()
        });
        picks.extend(
            order
                .iter()
                .take(cap)
                .map(|&i| (i as usize, c.u(i as usize, m))),
        );
    } else {
        picks.extend(
            (0..c.n)
                .map(|i| (i, c.u(i, m)))
                .filter(|&(i, u)| usable(i, u)),
        );
        if picks.len() > cap {
            if cap > 0 {
                picks.select_nth_unstable_by_key(cap - 1, key);
            }
            picks.truncate(cap);
        }
    }
}

/// The candidates of one preparation, one per word.
struct Candidates<'s> {
    /// Per word, the round that last saw it and its place in `cand` (see [`Scratch::seen`]).
    seen: &'s mut [(u32, u32)],
    round: u32,
    /// (weight, word, next state at the context found at, that context)
    cand: &'s mut Vec<(f64, u32, u32, u32)>,
}

impl Candidates<'_> {
    /// Adds the successors `picks` of the context `c` (at offset `s`), weighted by `scale`,
    /// the back-off weights on the way: to the candidate of their word if it has one, else as
    /// a new candidate.
    #[inline]
    fn add(&mut self, s: u32, c: &Ctx<'_>, picks: &[(usize, f32)], scale: f64) {
        for &(i, u) in picks {
            let w = c.word(i);
            let add = scale * u as f64;
            let mark = &mut self.seen[w as usize];
            if mark.0 == self.round {
                self.cand[mark.1 as usize].0 += add;
            } else {
                *mark = (self.round, self.cand.len() as u32);
                self.cand.push((add, w, c.next(i), s));
            }
        }
    }
}

/// Applies threshold, top-k, temperature and top-p to raw candidate weights.
fn shape(
    cand: &mut Vec<(f64, u32, u32, u32)>,
    visited: &[u32],
    opts: &GenerateOptions,
) -> Prepared {
    let total: f64 = cand.iter().map(|c| c.0).sum();
    for c in cand.iter_mut() {
        c.0 /= total;
    }
    // Likeliest first, ties by word id, so truncation is deterministic. Top-k and the threshold
    // keep a prefix of this order, and temperature does not change it, so select the top k
    // first and only sort (and temper) those.
    let order = |a: &(f64, u32, u32, u32), b: &(f64, u32, u32, u32)| {
        b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
    };
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
    let mut data = Vec::with_capacity(4 * n + visited.len());
    let mut acc = 0.0;
    data.extend(cand.iter().map(|c| {
        acc += c.0 / total;
        (acc * 4_294_967_296.0).min(4_294_967_295.0) as u32
    }));
    data[n - 1] = u32::MAX;
    data.extend(cand.iter().map(|c| c.1));
    data.extend(cand.iter().map(|c| c.2));
    data.extend(cand.iter().map(|c| c.3));
    data.extend_from_slice(visited);
    Prepared {
        n,
        data: data.into_boxed_slice(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    /// The open-addressing set counts each visited context once, as sorting and deduplicating
    /// would, from empty lists to ones that make the set grow and collide.
    #[test]
    fn activated_patterns_count_each_context_once() {
        let model = crate::testing::tiny_o3();
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
        let model = crate::testing::tiny_o3();
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
}
