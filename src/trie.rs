//! The pattern trie in breadth-first order: the shape every model has, whatever its source
//! (training, a model file, an ARPA file).
//!
//! Node 0 is the root (the empty context). Level 1 holds one node per vocabulary word, node
//! `1 + id` for word `id`, so unigram look-ups need no search. Each deeper level lists the
//! children of the previous level's nodes parent by parent, each parent's children sorted by
//! word. Children of consecutive parents are therefore contiguous, and one `child_start` array
//! of offsets describes the whole tree. This is also the order of the model file, so a file
//! decodes straight into these arrays.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::mem::prefetch_at;
use crate::progress::{cost, Meter, Tick};

/// Breadth-first pattern trie (structure only; values live beside it, indexed by node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trie {
    /// `level_start[k]` is the first node of level `k`; the last entry is the node count.
    pub level_start: Vec<u32>,
    /// Last word of each node's pattern (0 for the root).
    pub word: Vec<u32>,
    /// Children of node `i` are `child_start[i]..child_start[i + 1]`, for every node that can
    /// have children (levels below the order).
    pub child_start: Vec<u32>,
}

impl Trie {
    /// The n-gram order (deepest level).
    pub fn order(&self) -> usize {
        self.level_start.len() - 2
    }

    /// Number of nodes, root included.
    pub fn nodes(&self) -> usize {
        self.word.len()
    }

    /// Nodes of level `k`.
    pub fn level(&self, k: usize) -> Range<usize> {
        self.level_start[k] as usize..self.level_start[k + 1] as usize
    }

    /// Children of `node` (empty for nodes of the deepest level).
    pub fn children(&self, node: usize) -> Range<usize> {
        if node + 1 < self.child_start.len() {
            self.child_start[node] as usize..self.child_start[node + 1] as usize
        } else {
            0..0
        }
    }

    /// The children of the consecutive nodes `nodes`, which are consecutive too (empty below
    /// the deepest contexts).
    pub fn descendants(&self, nodes: Range<usize>) -> Range<usize> {
        if nodes.end < self.child_start.len() {
            self.child_start[nodes.start] as usize..self.child_start[nodes.end] as usize
        } else {
            0..0
        }
    }

    /// Vocabulary size (level 1 holds one node per word).
    pub fn vocab_len(&self) -> usize {
        (self.level_start[2] - self.level_start[1]) as usize
    }

    /// The child of `node` whose word is `word`, by binary search.
    #[cfg(test)]
    pub fn find_child(&self, node: usize, word: u32) -> Option<usize> {
        let r = self.children(node);
        let slice = &self.word[r.clone()];
        slice.binary_search(&word).ok().map(|i| r.start + i)
    }

    /// Checks the invariants that the rest of the crate relies on: levels are consistent, every
    /// node but the root has exactly one parent, children are sorted, words are in range.
    ///
    /// # Errors
    /// [`Error::Corrupted`] describing the first violation.
    pub fn validate(&self) -> Result<()> {
        let n = self.nodes();
        let order = self.level_start.len().saturating_sub(2);
        if self.level_start.len() < 3 || self.level_start[0] != 0 || self.level_start[1] != 1 {
            return Err(Error::corrupted("bad level table"));
        }
        if self.level_start.windows(2).any(|w| w[0] > w[1])
            || *self.level_start.last().unwrap() as usize != n
        {
            return Err(Error::corrupted("level table does not match node count"));
        }
        let vocab = self.vocab_len();
        if self.child_start.len() != self.level_start[order] as usize + 1 {
            return Err(Error::corrupted("child table has the wrong length"));
        }
        if self.child_start[0] != 1 || self.child_start[1] as usize != 1 + vocab {
            return Err(Error::corrupted("root must have every word as a child"));
        }
        if self.child_start.windows(2).any(|w| w[0] > w[1])
            || *self.child_start.last().unwrap() as usize != n
        {
            return Err(Error::corrupted("child offsets are not monotone"));
        }
        for (i, &w) in self.word[1..=vocab].iter().enumerate() {
            if w as usize != i {
                return Err(Error::corrupted("unigram level out of order"));
            }
        }
        for k in 1..order {
            for p in self.level(k) {
                let c = self.children(p);
                let ws = &self.word[c];
                if ws.iter().any(|&w| w as usize >= vocab) || ws.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(Error::corrupted(format!(
                        "children of a level-{k} pattern are not sorted words"
                    )));
                }
            }
            let c = self.level(k + 1);
            if self.child_start[self.level_start[k] as usize] as usize != c.start {
                return Err(Error::corrupted(
                    "children of a level do not start the next level",
                ));
            }
        }
        Ok(())
    }

    /// Suffix links: for every node `w1..wk` the node of `w2..wk` (the root for unigrams).
    ///
    /// Every pattern's suffix must itself be a pattern (true of any model trained here, and of
    /// any ARPA file made by a correct trainer). Children of a parent and of the parent's suffix
    /// are both sorted, so one galloping merge per parent finds them all.
    ///
    /// # Errors
    /// [`Error::Corrupted`] when a suffix is missing.
    pub fn suffix_links(&self) -> Result<Vec<u32>> {
        self.suffix_links_metered(&Meter::none())
    }

    /// [`Trie::suffix_links`], adding [`cost::SUFFIX`] per pattern of three or more words to
    /// `meter` as it goes.
    pub(crate) fn suffix_links_metered(&self, meter: &Meter) -> Result<Vec<u32>> {
        let n = self.nodes();
        let mut suffix = crate::mem::zeroed_u32(n);
        if self.order() >= 2 {
            // Level 2: the suffix of `a b` is the unigram `b`, found by index.
            for c in self.level(2) {
                suffix[c] = 1 + self.word[c];
            }
        }
        for k in 2..self.order() {
            // Children of the first half of the parents precede those of the second half, so
            // the two halves write disjoint parts of this level's links and run in parallel.
            let parents = self.level(k);
            let (done, rest) = suffix.split_at_mut(self.level_start[k + 1] as usize);
            let done: &[u32] = done;
            let level = &mut rest[..self.level(k + 1).len()];
            let base = self.level_start[k + 1] as usize;
            // Balance by children, not parents: frequent words have far more of them.
            let first = self.child_start[parents.start];
            let half = first + (self.child_start[parents.end] - first) / 2;
            let mid =
                parents.start + self.child_start[parents.clone()].partition_point(|&c| c < half);
            // In pieces (`mem::try_for_chunks`), so that a browser's optimized code takes over
            // within a level.
            fn link<T: Tick>(
                trie: &Trie,
                k: usize,
                parents: Range<usize>,
                (done, out, base): (&[u32], &mut [u32], usize),
                tick: &T,
            ) -> Result<()> {
                crate::mem::try_for_chunks(parents, |piece| {
                    tick.add(cost::SUFFIX * trie.descendants(piece.clone()).len() as u64);
                    trie.link_children(k, piece, done, out, base)
                })
            }
            // Split only where the halves run at once: in one thread the second half would
            // report its progress only at its end.
            if parents.len() < crate::mem::PARALLEL_MIN || !crate::mem::native_extras() {
                link(self, k, parents, (done, level, base), meter)?;
            } else {
                let cut = self.child_start[mid] as usize - base;
                let (lo, hi) = level.split_at_mut(cut);
                let tally = meter.tally();
                let (a, b) = crate::mem::join(
                    || link(self, k, parents.start..mid, (done, lo, base), meter),
                    || link(self, k, mid..parents.end, (done, hi, base + cut), &tally),
                );
                a?;
                b?;
                meter.poll();
            }
        }
        Ok(suffix)
    }
}

impl Trie {
    /// Suffix links of the children of `parents` (level `k`), written to `out`, which holds
    /// the links of nodes `base..`; `done` holds the links of every level up to `k`.
    fn link_children(
        &self,
        k: usize,
        parents: Range<usize>,
        done: &[u32],
        out: &mut [u32],
        base: usize,
    ) -> Result<()> {
        // Each parent's suffix sits somewhere else in memory; prefetching a few parents ahead
        // (first the suffix's child offsets, then its children) overlaps those misses.
        const AHEAD: usize = 16;
        let end = parents.end;
        for parent in parents {
            if parent + AHEAD < end {
                prefetch_at(&self.child_start, done[parent + AHEAD] as usize);
            }
            if parent + AHEAD / 2 < end {
                let s = done[parent + AHEAD / 2] as usize;
                prefetch_at(&self.word, self.child_start[s] as usize);
            }
            let kids = self.children(parent);
            if kids.is_empty() {
                continue;
            }
            let target = self.children(done[parent] as usize);
            let hay = &self.word[target.clone()];
            let mut pos = 0usize;
            // Few children in a long list: plain binary searches beat galloping from the start.
            let sparse = kids.len() * 16 < hay.len();
            for c in kids {
                let w = self.word[c];
                pos = if sparse {
                    pos + hay[pos..].partition_point(|&x| x < w)
                } else {
                    gallop(hay, pos, w)
                };
                if pos >= hay.len() || hay[pos] != w {
                    return Err(Error::corrupted(format!(
                        "a level-{} pattern has no suffix pattern (an n-gram's last n-1 words must be an n-gram too)",
                        k + 1
                    )));
                }
                out[c - base] = (target.start + pos) as u32;
            }
        }
        Ok(())
    }
}

/// First index `>= from` whose value is `>= w` in the sorted `hay`, by exponential then binary
/// search: cheap when successive targets are close, as sorted children usually are.
#[inline]
fn gallop(hay: &[u32], from: usize, w: u32) -> usize {
    let mut lo = from;
    let mut step = 1usize;
    let mut hi = from;
    while hi < hay.len() && hay[hi] < w {
        lo = hi + 1;
        hi = from + step;
        step <<= 1;
    }
    let hi = hi.min(hay.len());
    lo + hay[lo..hi].partition_point(|&x| x < w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vocabulary of 5 words (0..5); bigrams (1,2) (1,3) (2,3); trigram (1,2,3).
    pub(crate) fn small() -> Trie {
        // root 0; unigrams 1..=5; level 2: children of word 1 (node 2): words 2,3 -> nodes 6,7;
        // children of word 2 (node 3): word 3 -> node 8; level 3: child of (1,2) (node 6): word 3
        // -> node 9.
        Trie {
            level_start: vec![0, 1, 6, 9, 10],
            word: vec![0, 0, 1, 2, 3, 4, 2, 3, 3, 3],
            child_start: vec![1, 6, 6, 8, 9, 9, 9, 10, 10, 10],
        }
    }

    #[test]
    fn small_trie_is_valid_and_links_suffixes() {
        let t = small();
        t.validate().unwrap();
        assert_eq!(t.order(), 3);
        assert_eq!(t.find_child(2, 3), Some(7));
        assert_eq!(t.find_child(2, 4), None);
        let s = t.suffix_links().unwrap();
        assert_eq!(s[6], 3); // (1,2) -> (2)
        assert_eq!(s[7], 4); // (1,3) -> (3)
        assert_eq!(s[9], 8); // (1,2,3) -> (2,3)
    }

    #[test]
    fn missing_suffix_is_an_error() {
        let mut t = small();
        t.word[8] = 4; // (2,4) instead of (2,3): (1,2,3) has no suffix now
        assert!(t.suffix_links().is_err());
    }

    #[test]
    fn validate_rejects_unsorted_children() {
        let mut t = small();
        t.word.swap(6, 7);
        assert!(t.validate().is_err());
    }

    #[test]
    fn gallop_finds_lower_bound() {
        let hay = [1, 3, 5, 7, 9, 11, 13];
        for from in 0..hay.len() {
            for w in 0..15 {
                let want = from + hay[from..].partition_point(|&x| x < w);
                assert_eq!(gallop(&hay, from, w), want, "from {from} w {w}");
            }
        }
    }
}
