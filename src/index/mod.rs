//! The generation and scoring index: every context next to its successors in one `u32` array.
//!
//! Generation is bound by dependent memory misses, so the layout is the lever. A *context* (a
//! pattern that some longer pattern extends) is a block at an offset of one array:
//!
//! ```text
//! [n | depth << 27, backoff, gamma] [cum; n] [word; n] [next; n] [u; n]
//! ```
//!
//! * `cum` — cumulative interpolation weights `u(h·w)` of the successors, fixed point in units of
//!   2^-32 (the remainder up to 2^32 is the back-off weight `gamma(h)`), so one uniform `u32`
//!   draw and a binary search pick a successor or decide to back off;
//! * `word` — successor word ids, sorted, for look-ups by word (scoring, prompts);
//! * `next` — offset of the context to continue from after that successor (the longest suffix
//!   of `h·w` that is itself a context), so stepping needs no hashing;
//! * `u` — `u(h·w)` as `f32`, for exact probabilities; `gamma` is `f32` bits, `backoff` the offset
//!   of the context `h` without its first word (`u32::MAX` at the root).
//!
//! With interpolated Kneser-Ney, `p(w | h) = u(h·w) + gamma(h) · p(w | h')`, so drawing from the
//! successors of `h` with weights `u`, and otherwise from `h'`, samples the model's distribution
//! exactly. Small contexts (most of them) fit in one or two cache lines.

use crate::error::Result;
use crate::mem::touch_at;
use crate::progress::Meter;
use crate::trie::Trie;
use crate::vocab::{BOS, RESERVED, UNK};
use crate::weights::Weights;

mod fill;
use fill::{offsets, Fill};

/// Header words of a context block.
pub(crate) const HEADER: usize = 3;
/// The header's first word holds the successor count below this bit and the depth above it.
const DEPTH_SHIFT: u32 = 27;

/// `backoff` of the root.
pub(crate) const NONE: u32 = u32::MAX;
/// Offset of the root context.
pub(crate) const ROOT: u32 = 0;

/// The index (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub data: Vec<u32>,
    /// Context reached after `<s>` (the root if `<s>` starts nothing).
    pub bos: u32,
    pub vocab_len: u32,
    pub uniform_root: bool,
    /// Most likely generable unigram, used when a draw must avoid `</s>` and fails to.
    pub fallback_word: u32,
    pub patterns: u64,
    pub contexts: u64,
    pub order: usize,
}

/// Read-only view of one context block.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub n: usize,
    pub backoff: u32,
    pub gamma: f32,
    pub depth: u32,
    pub cum: &'a [u32],
    pub words: &'a [u32],
    pub next: &'a [u32],
    pub u: &'a [u32],
}

impl Index {
    /// The number of contexts of `trie` and the length of its index in `u32`s, without
    /// building it: every pattern but the root is the successor of exactly one context.
    pub fn size(trie: &Trie) -> (u64, usize) {
        let ctx_nodes = trie.level_start[trie.order()] as usize;
        let contexts = (0..ctx_nodes)
            .filter(|&n| !trie.children(n).is_empty())
            .count();
        (contexts as u64, HEADER * contexts + 4 * (trie.nodes() - 1))
    }

    /// Builds the index from the trie, its suffix links and its weights, adding its work
    /// ([`cost::index`]) to `meter` as it goes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the model is too large for 32-bit offsets.
    pub fn build(trie: &Trie, suffix: &[u32], w: &Weights, meter: &Meter) -> Result<Index> {
        let order = trie.order();
        let (offset, total, contexts) = offsets(trie, meter)?;
        debug_assert_eq!(Index::size(trie), (contexts, total));
        let fill = Fill {
            trie,
            suffix,
            w,
            offset: &offset,
        };
        let (data, best) = fill.all(total, meter)?;
        let bos = if trie.vocab_len() > BOS as usize {
            fill.next(1 + BOS as usize)
        } else {
            ROOT
        };
        let fallback_word = if best.1 == UNK {
            RESERVED.min(trie.vocab_len() as u32 - 1)
        } else {
            best.1
        };
        Ok(Index {
            data,
            bos,
            vocab_len: trie.vocab_len() as u32,
            uniform_root: match w {
                Weights::Counts { .. } => true,
                Weights::Table { uniform_root, .. } => *uniform_root,
            },
            fallback_word,
            patterns: (trie.nodes() - 1) as u64,
            contexts,
            order,
        })
    }

    /// The context block at `off`.
    #[inline(always)]
    pub fn ctx(&self, off: u32) -> Ctx<'_> {
        let o = off as usize;
        let d = &self.data;
        let n = (d[o] & ((1 << DEPTH_SHIFT) - 1)) as usize;
        let body = &d[o + HEADER..o + HEADER + 4 * n];
        Ctx {
            n,
            backoff: d[o + 1],
            gamma: f32::from_bits(d[o + 2]),
            depth: d[o] >> DEPTH_SHIFT,
            cum: &body[..n],
            words: &body[n..2 * n],
            next: &body[2 * n..3 * n],
            u: &body[3 * n..],
        }
    }

    /// The number of successors of the context at `off` (its header only).
    #[inline(always)]
    pub fn successors(&self, off: u32) -> usize {
        (self.data[off as usize] & ((1 << DEPTH_SHIFT) - 1)) as usize
    }

    /// Starts loading the header of the context at `off` into the cache.
    #[inline(always)]
    pub fn prefetch(&self, off: u32) {
        touch_at(&self.data, off as usize);
    }

    /// Shortens `state` by backing off until it holds at most `window` words.
    #[inline]
    pub fn truncate(&self, mut state: u32, window: usize) -> u32 {
        while (self.data[state as usize] >> DEPTH_SHIFT) as usize > window {
            state = self.data[state as usize + 1];
        }
        state
    }

    /// Probability of `word` after the context `state`, and the state after it, with KenLM's
    /// query semantics (interpolated weights summed down to the root).
    pub fn prob(&self, state: u32, word: u32) -> (f64, u32) {
        let mut p = 0.0f64;
        let mut weight = 1.0f64;
        let mut s = state;
        let mut next = None;
        loop {
            let c = self.ctx(s);
            if let Ok(i) = c.words.binary_search(&word) {
                p += weight * f32::from_bits(c.u[i]) as f64;
                next.get_or_insert(c.next[i]);
            }
            if c.backoff == NONE {
                if self.uniform_root {
                    p += weight * c.gamma as f64 / (self.vocab_len - 1) as f64;
                }
                break;
            }
            weight *= c.gamma as f64;
            s = c.backoff;
        }
        (p, next.unwrap_or(ROOT))
    }

    /// The state after `word` in context `state` (no probability).
    pub fn advance(&self, state: u32, word: u32) -> u32 {
        let mut s = state;
        loop {
            let c = self.ctx(s);
            if let Ok(i) = c.words.binary_search(&word) {
                return c.next[i];
            }
            if c.backoff == NONE {
                return ROOT;
            }
            s = c.backoff;
        }
    }

    /// Where generation continues after `word` was drawn at the backed-off context `found`
    /// (whose successor `next` it was) while the request's context was `start`: the longest
    /// context between them that also has `word` as a successor wins, as in scoring.
    #[inline]
    pub fn refine_next(&self, start: u32, found: u32, word: u32, next: u32) -> u32 {
        let mut s = start;
        while s != found {
            let c = self.ctx(s);
            if let Ok(i) = c.words.binary_search(&word) {
                return c.next[i];
            }
            s = c.backoff;
        }
        next
    }

    /// Bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.data.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> (Trie, Vec<u32>) {
        // Vocabulary <unk> <s> </s> a b; patterns: all unigrams, (<s> a) (a b) (b </s>).
        let t = Trie {
            level_start: vec![0, 1, 6, 9],
            word: vec![0, 0, 1, 2, 3, 4, 3, 4, 2],
            child_start: vec![1, 6, 6, 7, 7, 8, 9],
        };
        t.validate().unwrap();
        let s = t.suffix_links().unwrap();
        (t, s)
    }

    #[test]
    fn probabilities_sum_to_one_and_states_follow_patterns() {
        let (t, s) = tiny();
        // Unigrams: </s> .3 a .3 b .3, gamma(root) .1 uniform over 4 words (all but <s>).
        let mut u = vec![0.0; t.nodes()];
        u[3] = 0.3;
        u[4] = 0.3;
        u[5] = 0.3;
        u[6] = 0.5; // <s> a
        u[7] = 0.6; // a b
        u[8] = 0.7; // b </s>
        let mut gamma = vec![1.0; 6];
        gamma[0] = 0.1;
        gamma[2] = 0.5;
        gamma[4] = 0.4;
        gamma[5] = 0.3;
        let w = Weights::Table {
            u,
            gamma,
            uniform_root: true,
        };
        let idx = Index::build(&t, &s, &w, &Meter::none()).unwrap();
        for state in [ROOT, idx.bos] {
            let total: f64 = (0..5)
                .filter(|&w| w != BOS)
                .map(|w| idx.prob(state, w).0)
                .sum();
            assert!((total - 1.0).abs() < 1e-6, "state {state}: {total}");
        }
        let (p, after_a) = idx.prob(idx.bos, 3);
        assert!((p - (0.5 + 0.5 * (0.3 + 0.1 / 4.0))).abs() < 1e-6);
        assert_eq!(idx.ctx(after_a).depth, 1);
        assert_eq!(idx.advance(after_a, 4), idx.advance(ROOT, 4));
        assert_eq!(idx.truncate(after_a, 0), ROOT);
        assert_eq!(idx.fallback_word, 3);
    }
}
