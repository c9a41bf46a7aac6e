//! The generation and scoring index: every context next to its successors, bit-packed in one
//! byte array.
//!
//! Generation is bound by dependent memory misses, so the layout is the lever, and memory is
//! what decides which models a page can hold. A *context* (a pattern that some longer pattern
//! extends) is a block at a byte offset of one array (its layout: [`block`]) holding, packed to
//! the bits they need, its successors' words (sorted, for look-ups by word), their values, and
//! for each the offset of the context to continue from after it (the longest suffix of `h·w`
//! that is itself a context), so stepping needs no hashing; and the offset of its back-off
//! context `h'` (`h` without its first word).
//!
//! With interpolated Kneser-Ney, `p(w | h) = u(h·w) + gamma(h) · p(w | h')`, so drawing from the
//! successors of `h` with weights `u`, and otherwise from `h'`, samples the model's distribution
//! exactly. A trained model's blocks keep adjusted counts and compute `u` and `gamma` from them
//! with the trainer's own arithmetic, so the weights are the smoothing's to the last bit; most
//! contexts (88% of en-train's at order 5) have one successor and take about nine bytes.

use crate::error::Result;
use crate::mem::touch_at;
use crate::progress::Meter;
use crate::trie::Trie;
use crate::vocab::{BOS, EOS, RESERVED, UNK};
use crate::weights::Weights;

mod bits;
mod block;
mod check;
mod fill;
use block::Layout;
pub(crate) use block::{Ctx, Mass};
use fill::{place, Fill};

/// `backoff` of the root.
pub(crate) const NONE: u32 = u32::MAX;
/// Offset of the root context.
pub(crate) const ROOT: u32 = 0;

/// The index (see the module docs). Serialized without its blocks, it is an index image's meta
/// (`crate::image`; read back by [`Index::with_blocks`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Index {
    /// From `at` on, the blocks, then [`bits::PAD`] zero bytes; before `at`, what an index image
    /// loaded in place holds there (its header, meta and model file), nothing otherwise.
    #[serde(skip)]
    data: Vec<u8>,
    #[serde(skip)]
    at: usize,
    pub(crate) layout: Layout,
    /// Per depth, the offset where its blocks end (blocks are in breadth-first order).
    level_end: Vec<u32>,
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

impl Index {
    /// The number of contexts of `trie` and the bytes of its index with the values `w`, without
    /// building it.
    ///
    /// # Errors
    /// As [`Index::build`].
    pub fn size(trie: &Trie, w: &Weights) -> Result<(u64, usize)> {
        let p = place(trie, w, &Meter::none())?;
        Ok((p.contexts, p.total + bits::PAD + p.level_end.len() * 4))
    }

    /// Builds the index from the trie, its suffix links and its weights, adding its work
    /// ([`cost::index`]) to `meter` as it goes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the model is too large for 32-bit offsets; [`Error::Corrupted`]
    /// on a malformed count stream.
    ///
    /// [`cost::index`]: crate::progress::cost::index
    /// [`Error::TooLarge`]: crate::Error::TooLarge
    /// [`Error::Corrupted`]: crate::Error::Corrupted
    pub fn build(trie: &Trie, suffix: &[u32], w: &Weights, meter: &Meter) -> Result<Index> {
        let order = trie.order();
        let placed = place(trie, w, meter)?;
        let fill = Fill {
            trie,
            suffix,
            w,
            offset: &placed.offset,
            layout: &placed.layout,
        };
        let data = fill.all(placed.total, meter)?;
        let bos = if trie.vocab_len() > BOS as usize {
            fill.next(1 + BOS as usize)
        } else {
            ROOT
        };
        let mut index = Index {
            data,
            at: 0,
            layout: placed.layout,
            level_end: placed.level_end,
            bos,
            vocab_len: trie.vocab_len() as u32,
            uniform_root: match w {
                Weights::Counts { .. } => true,
                Weights::Table { uniform_root, .. } => *uniform_root,
            },
            fallback_word: UNK,
            patterns: (trie.nodes() - 1) as u64,
            contexts: placed.contexts,
            order,
        };
        index.fallback_word = index.likeliest_unigram();
        Ok(index)
    }

    /// The most likely unigram that can be drawn (not `<unk>`, `<s>` or `</s>`; the first of
    /// equal weights), or the first word after the reserved ones when there is none.
    fn likeliest_unigram(&self) -> u32 {
        let root = self.ctx(ROOT);
        let m = root.mass();
        let mut best = (f64::MIN, UNK);
        for i in 0..root.n {
            let w = root.word(i);
            if w == UNK || w == BOS || w == EOS {
                continue;
            }
            let u = root.weight(i, m);
            if u > best.0 {
                best = (u, w);
            }
        }
        if best.1 == UNK {
            RESERVED.min(self.vocab_len.saturating_sub(1))
        } else {
            best.1
        }
    }

    /// The blocks and their padding.
    #[inline(always)]
    pub(crate) fn blocks(&self) -> &[u8] {
        &self.data[self.at..]
    }

    /// What the index's buffer holds before its blocks (see [`Index::with_blocks`]).
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.data[..self.at]
    }

    /// The depth of the context whose block is at `off`.
    #[inline(always)]
    pub fn depth_of(&self, off: u32) -> u32 {
        // At most the deepest contexts' depth, even for an offset past the blocks.
        let past = self.level_end.iter().take_while(|&&end| end <= off).count();
        past.min(self.order - 1) as u32
    }

    /// The number of successors of the context at `off`.
    #[inline(always)]
    pub fn successors(&self, off: u32) -> usize {
        block::successors(self.blocks(), off, self.vocab_len)
    }

    /// Starts loading the header of the context at `off` into the cache.
    #[inline(always)]
    pub fn prefetch(&self, off: u32) {
        touch_at(self.blocks(), off as usize);
    }

    /// Shortens `state` by backing off until it holds at most `window` words.
    #[inline]
    pub fn truncate(&self, mut state: u32, window: usize) -> u32 {
        while self.depth_of(state) as usize > window {
            state = self.ctx(state).backoff;
        }
        state
    }

    /// Probability of `word` after the context `state`, and the state after it, with KenLM's
    /// query semantics (interpolated weights summed down to the root).
    pub fn prob(&self, state: u32, word: u32) -> (f64, u32) {
        let (p, next, _) = self.prob_matched(state, word);
        (p, next)
    }

    /// [`Index::prob`], and the length of the longest n-gram of the model that ends in `word`
    /// after `state` (KenLM's `ngram_length`: 1 for a word known only as a unigram, or unknown).
    pub fn prob_matched(&self, state: u32, word: u32) -> (f64, u32, u32) {
        let mut p = 0.0f64;
        let mut weight = 1.0f64;
        let mut s = state;
        let mut next = None;
        let mut matched = 1;
        loop {
            let c = self.ctx(s);
            // The walk is bound by memory: start loading the next level (and, once known, the
            // state the next token starts from) while this one is read.
            if c.backoff != NONE {
                self.prefetch(c.backoff);
            }
            let m = c.mass();
            if let Some(i) = c.find(word) {
                p += weight * c.u(i, m) as f64;
                // The state after `word` here is the next token's context at this level: the
                // next walk visits each of them, so each is loaded now, all at once.
                let n = c.next(i);
                self.prefetch(n);
                if next.is_none() {
                    next = Some(n);
                    matched = c.depth + 1;
                }
            }
            if c.backoff == NONE {
                if self.uniform_root {
                    p += weight * m.gamma as f64 / (self.vocab_len - 1) as f64;
                }
                break;
            }
            weight *= m.gamma as f64;
            s = c.backoff;
        }
        (p, next.unwrap_or(ROOT), matched)
    }

    /// The state after `word` in context `state` (no probability).
    pub fn advance(&self, state: u32, word: u32) -> u32 {
        let mut s = state;
        loop {
            let c = self.ctx(s);
            if let Some(i) = c.find(word) {
                return c.next(i);
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
            if let Some(i) = c.find(word) {
                return c.next(i);
            }
            s = c.backoff;
        }
        next
    }

    /// Bytes held by the index (its buffer's prefix apart).
    pub fn heap_bytes(&self) -> usize {
        self.data.len() - self.at + self.level_end.len() * 4
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
        assert_eq!(idx.depth_of(after_a), 1);
        assert_eq!(idx.advance(after_a, 4), idx.advance(ROOT, 4));
        assert_eq!(idx.truncate(after_a, 0), ROOT);
        assert_eq!(idx.fallback_word, 3);
    }
}
