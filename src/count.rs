//! Counting: every pattern of 1..=order words of the training tokens, laid out breadth-first.
//!
//! The occurrences of the current level are kept grouped by pattern, in node order (level 1:
//! the positions of each word, by a counting sort). Every occurrence of a k-gram is an
//! occurrence of its (k-1)-word prefix followed by the next word, so extending each occurrence
//! by one word yields the k-gram occurrences already grouped by parent; sorting each (mostly
//! tiny) group by word puts equal k-grams together in exactly the order the trie wants. One scan
//! then numbers and counts them and lists their occurrences for the next level. All passes are
//! sequential over flat arrays, with no hash table and no per-pattern allocation.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::mem;
use crate::progress::{cost, Meter, Tick};
use crate::trie::Trie;
use crate::vocab::BOS;

/// The work of a build as far as it is known, in [`cost`] units, for its progress fraction:
/// exact for the levels counted so far, an upper bound for the others (each occurrence of a
/// pattern extends to at most one occurrence of a pattern one word longer, and each pattern has
/// an occurrence, so the last level counted bounds the occurrences and the patterns of every
/// level to come). The bound only tightens as levels are counted, so the fraction never goes
/// back; it may jump ahead.
pub(crate) struct Plan {
    pub tokens: u64,
    pub vocab: u64,
    pub order: usize,
    /// Whether the build makes the generation index (as [`Trainer::finish`] does).
    pub with_index: bool,
    /// Whether `max_patterns` may rank the patterns.
    pub ranks: bool,
    /// Whether pruning may drop patterns (and the trie be compacted).
    pub may_prune: bool,
    /// Per level counted so far, 1 first: the occurrences of its patterns (the tokens, at 1).
    pub occurrences: Vec<u64>,
    /// Per level counted so far: its patterns (the vocabulary, at 1).
    pub nodes: Vec<u64>,
}

impl Plan {
    /// The whole build's work.
    pub(crate) fn units(&self) -> u64 {
        let k = self.order;
        let bound = self.occurrences.last().copied().unwrap_or(self.tokens);
        let occ = |j: usize| self.occurrences.get(j - 1).copied().unwrap_or(bound);
        let nodes = |j: usize| self.nodes.get(j - 1).copied().unwrap_or(bound);
        let mut units = (cost::RENUMBER + cost::TALLY + cost::SPREAD) * self.tokens;
        for j in 2..=k {
            units += cost::EXTEND * occ(j - 1) + cost::GROUP * occ(j);
        }
        units += cost::SUFFIX * (3..=k).map(nodes).sum::<u64>();
        let deep: u64 = (2..=k).map(nodes).sum();
        let all = 1 + self.vocab + deep;
        units += cost::ADJUST * (deep + all - 1) + cost::DISCOUNT * (all - 1);
        units += 2 * cost::PRUNE * deep;
        if self.ranks {
            units += cost::RANK * deep;
        }
        if self.may_prune {
            units += cost::COMPACT * all;
        }
        let contexts = 1 + (1..k).map(nodes).sum::<u64>();
        units + self.finishing_work(all, contexts)
    }

    /// The work after pruning, for a trie of `nodes` nodes, `contexts` of them below the
    /// deepest level: the model file, and the index if the build makes one.
    pub(crate) fn finishing_work(&self, nodes: u64, contexts: u64) -> u64 {
        let index = if self.with_index {
            cost::index(nodes, contexts)
        } else {
            0
        };
        cost::encode(nodes, contexts, self.vocab) + index
    }
}

/// The counted, unpruned pattern trie with its per-node figures.
pub(crate) struct Counted {
    pub trie: Trie,
    pub count: Vec<u32>,
    pub suffix: Vec<u32>,
}

/// Counts every pattern of 1..=`order` words of `tokens` (sentences `<s> … </s>`, words
/// numbered 0..`vocab`), laid out breadth-first (see the module docs), with the suffix links
/// when `links` (empty otherwise: a count shard needs none). Adds its work to `meter`, and
/// after each level, tightens the meter's total with what `plan` learns from it.
pub(crate) fn count(
    tokens: &[u32],
    vocab: usize,
    order: usize,
    links: bool,
    meter: &Meter,
    plan: &mut Plan,
) -> Result<Counted> {
    if tokens.len() >= u32::MAX as usize {
        return Err(Error::TooLarge {
            what: "training text of over 4 billion tokens",
            limit: "2^32 - 1 tokens",
        });
    }
    let mut levels = Levels::unigrams(tokens, vocab, meter);
    let mut occ = Occurrences::of_words(tokens, &levels.count, vocab, meter);
    let mut ext = Extensions::default();
    for k in 2..=order {
        levels.extend(tokens, k, &mut occ, &mut ext, meter)?;
        let bound = plan.units();
        plan.occurrences.push(occ.node.len() as u64);
        plan.nodes
            .push((levels.word.len() - levels.level_start[k] as usize) as u64);
        debug_assert!(plan.units() <= bound, "the bound of the work grew");
        meter.set_total(plan.units());
    }
    // The arrays grew by doubling: give back the unused tail before the next allocations.
    drop((occ, ext));
    levels.finish(links, meter)
}

/// Checks that `n` nodes can be numbered with 32 bits.
///
/// # Errors
/// [`Error::TooLarge`] beyond 2^32 - 1.
pub(crate) fn check_patterns(n: usize) -> Result<()> {
    if n >= u32::MAX as usize {
        return Err(Error::TooLarge {
            what: "over 4 billion patterns",
            limit: "2^32 - 1 patterns",
        });
    }
    Ok(())
}

/// The trie as it is counted, level by level: per node its word and count, the level table,
/// and the first child of every node of the levels before the last.
struct Levels {
    word: Vec<u32>,
    count: Vec<u32>,
    level_start: Vec<u32>,
    child_start: Vec<u32>,
}

/// The occurrences of the current level's patterns, grouped by pattern in node order: each
/// one's node and the position of its last word.
struct Occurrences {
    node: Vec<u32>,
    pos: Vec<u32>,
}

/// Scratch of [`Levels::extend`]: the extended occurrences (word and position, packed), and
/// how many each pattern of the level before has.
#[derive(Default)]
struct Extensions {
    items: Vec<u64>,
    group_len: Vec<u32>,
}

impl Levels {
    /// The root and the unigrams, with the words' counts.
    fn unigrams(tokens: &[u32], vocab: usize, meter: &Meter) -> Levels {
        let word: Vec<u32> = std::iter::once(0).chain(0..vocab as u32).collect();
        let mut count = vec![0u32; 1 + vocab];
        // The long loops here and below run in pieces (`mem::for_chunks`): in a browser, a loop
        // that runs once per training would otherwise run in baseline code from start to end.
        mem::for_chunks(0..tokens.len(), |r| {
            meter.add(cost::TALLY * r.len() as u64);
            for &t in &tokens[r] {
                let c = &mut count[1 + t as usize];
                *c = c.saturating_add(1);
            }
        });
        Levels {
            word,
            count,
            level_start: vec![0u32, 1, 1 + vocab as u32],
            child_start: vec![1u32],
        }
    }

    /// Counts level `k` from the occurrences of level `k - 1`, which become level `k`'s.
    ///
    /// # Errors
    /// [`Error::TooLarge`] beyond 2^32 - 1 patterns.
    fn extend(
        &mut self,
        tokens: &[u32],
        k: usize,
        occ: &mut Occurrences,
        ext: &mut Extensions,
        meter: &Meter,
    ) -> Result<()> {
        let (pbase, pend) = (
            self.level_start[k - 1] as usize,
            self.level_start[k] as usize,
        );
        ext.gather(tokens, occ, pbase..pend, meter);
        occ.node.clear();
        occ.pos.clear();
        let mut at = 0usize;
        mem::for_chunks(pbase..pend, |r| {
            let first = at;
            for p in r {
                self.child_start.push(self.word.len() as u32);
                let n = ext.group_len[p - pbase] as usize;
                self.number_group(&mut ext.items[at..at + n], occ);
                at += n;
            }
            meter.add(cost::GROUP * (at - first) as u64);
        });
        check_patterns(self.word.len())?;
        self.level_start.push(self.word.len() as u32);
        Ok(())
    }

    /// Sorts one parent's extended occurrences by word, numbers and counts the patterns they
    /// make (the parent's children, in trie order), and lists their occurrences.
    #[inline]
    fn number_group(&mut self, group: &mut [u64], occ: &mut Occurrences) {
        if group.len() > 1 {
            group.sort_unstable();
        }
        let mut last = u32::MAX;
        let mut node = 0usize;
        for &x in group.iter() {
            let w = (x >> 32) as u32;
            if w != last {
                last = w;
                node = self.word.len();
                self.word.push(w);
                self.count.push(0);
            }
            self.count[node] = self.count[node].saturating_add(1);
            occ.node.push(node as u32);
            occ.pos.push(x as u32);
        }
    }

    /// The finished trie, its counts and its suffix links.
    fn finish(mut self, links: bool, meter: &Meter) -> Result<Counted> {
        self.child_start.push(self.word.len() as u32);
        self.word.shrink_to_fit();
        self.count.shrink_to_fit();
        self.child_start.shrink_to_fit();
        let trie = Trie {
            level_start: self.level_start,
            word: self.word,
            child_start: self.child_start,
        };
        let suffix = if links {
            trie.suffix_links_metered(meter)?
        } else {
            Vec::new()
        };
        Ok(Counted {
            trie,
            count: self.count,
            suffix,
        })
    }
}

impl Occurrences {
    /// Level 1: the positions of each word, grouped by word (a counting sort).
    fn of_words(tokens: &[u32], count: &[u32], vocab: usize, meter: &Meter) -> Occurrences {
        let mut node = mem::zeroed_u32(tokens.len());
        let mut pos = mem::zeroed_u32(tokens.len());
        let mut fill = vec![0usize; vocab];
        for w in 1..vocab {
            fill[w] = fill[w - 1] + count[w] as usize;
        }
        mem::for_chunks(0..tokens.len(), |r| {
            meter.add(cost::SPREAD * r.len() as u64);
            for i in r {
                let t = tokens[i];
                let at = &mut fill[t as usize];
                node[*at] = 1 + t;
                pos[*at] = i as u32;
                *at += 1;
            }
        });
        Occurrences { node, pos }
    }
}

impl Extensions {
    /// Extends each occurrence of `occ` (patterns of the nodes `parents`) by the next word,
    /// unless its sentence ended. The occurrences come grouped by parent in node order, so the
    /// extensions do too, and sorting each group by word will give trie order.
    fn gather(&mut self, tokens: &[u32], occ: &Occurrences, parents: Range<usize>, meter: &Meter) {
        if self.items.capacity() == 0 {
            self.items = mem::with_capacity(tokens.len());
        }
        self.items.clear();
        self.group_len.clear();
        self.group_len.resize(parents.len(), 0);
        mem::for_chunks(0..occ.node.len(), |r| {
            meter.add(cost::EXTEND * r.len() as u64);
            for (&node, &pos) in occ.node[r.clone()].iter().zip(&occ.pos[r]) {
                let next = pos as usize + 1;
                if let Some(&w) = tokens.get(next) {
                    if w != BOS {
                        self.items.push((w as u64) << 32 | next as u64);
                        self.group_len[node as usize - parents.start] += 1;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_numbers_patterns_breadth_first() {
        // <s> a b </s> <s> a a </s> with words <unk>=0 <s>=1 </s>=2 a=3 b=4
        let tokens = [1, 3, 4, 2, 1, 3, 3, 2];
        let mut plan = Plan {
            tokens: tokens.len() as u64,
            vocab: 5,
            order: 3,
            with_index: false,
            ranks: false,
            may_prune: false,
            occurrences: vec![tokens.len() as u64],
            nodes: vec![5],
        };
        let c = count(&tokens, 5, 3, true, &Meter::none(), &mut plan).unwrap();
        c.trie.validate().unwrap();
        assert_eq!(c.trie.suffix_links().unwrap(), c.suffix);
        // Bigrams: (<s> a) (a a) (a b) (a </s>) (b </s>).
        assert_eq!(c.trie.level(2).len(), 5);
        let sa = c.trie.find_child(1 + 1, 3).unwrap();
        assert_eq!(c.count[sa], 2);
        // The bigrams that start with <s> are one run: the children of the unigram <s>.
        assert_eq!(c.trie.descendants(2..3), sa..sa + 1);
        // `a` follows <s> and a: two distinct left extensions.
        assert_eq!(c.suffix.iter().filter(|&&s| s == 1 + 3).count(), 2);
    }
}
