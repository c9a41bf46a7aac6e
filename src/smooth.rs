//! Smoothing and pruning of the counted patterns into the parts of a model: Kneser-Ney adjusted
//! counts, modified Kneser-Ney discounts (as KenLM's `lmplz` computes them), pruning by count
//! and by a cap on patterns, and the compaction of the trie to the patterns kept.

use crate::config::TrainOptions;
use crate::count::{Counted, Plan};
use crate::entropy::{self, EntropyPruning};
use crate::error::Result;
use crate::mem;
use crate::parts::{Counts, Parts, TrainingStats, Values};
use crate::progress::{cost, Meter, Tick};
use crate::trie::Trie;
use crate::vocab::{Vocab, BOS, UNK};

/// Adjusted counts: raw at the top order and for patterns that start with `<s>`, continuation
/// counts (distinct left extensions, counted first in place) elsewhere, zero for `<s>` and
/// `<unk>` themselves.
pub(crate) fn adjusted_counts(counted: &Counted, meter: &Meter) -> Vec<u32> {
    let t = &counted.trie;
    let order = t.order();
    let mut a = mem::zeroed_u32(t.nodes());
    let first_deep = t.level_start[2.min(order + 1)] as usize;
    mem::for_chunks(first_deep..t.nodes(), |r| {
        meter.add(cost::ADJUST * r.len() as u64);
        for &s in &counted.suffix[r] {
            a[s as usize] = a[s as usize].saturating_add(1);
        }
    });
    // The patterns that start with `<s>`: the subtree of the unigram `<s>`, which is one run
    // of nodes per level (children of consecutive nodes are consecutive).
    let mut from_bos = t.level(1).start + BOS as usize..t.level(1).start + 1 + BOS as usize;
    for k in 1..=order {
        mem::for_chunks(t.level(k), |r| {
            meter.add(cost::ADJUST * r.len() as u64);
            for n in r {
                if k == 1 && (t.word[n] == BOS || t.word[n] == UNK) {
                    a[n] = 0;
                } else if k == order || from_bos.contains(&n) {
                    a[n] = counted.count[n];
                }
            }
        });
        from_bos = t.descendants(from_bos);
    }
    a
}

/// Modified Kneser-Ney discounts per order from the counts of adjusted counts 1..=4, with
/// lmplz's fallback (0.5, 1, 1.5) where they are undefined or out of range.
pub(crate) fn discounts(t: &Trie, a: &[u32], meter: &Meter) -> (Vec<[f64; 3]>, Vec<u8>) {
    let mut out = Vec::with_capacity(t.order());
    let mut fallback = Vec::new();
    for k in 1..=t.order() {
        let mut n = [0u64; 5];
        mem::for_chunks(t.level(k), |r| {
            meter.add(cost::DISCOUNT * r.len() as u64);
            for &c in &a[r] {
                if (1..=4).contains(&c) {
                    n[c as usize] += 1;
                }
            }
        });
        match modified_kn_discounts(&n) {
            Some(d) => out.push(d),
            None => {
                out.push([0.5, 1.0, 1.5]);
                fallback.push(k as u8);
            }
        }
    }
    (out, fallback)
}

/// D1..D3 from n1..n4 (index 1..=4 of `n`), or `None` when lmplz would refuse them.
pub(crate) fn modified_kn_discounts(n: &[u64; 5]) -> Option<[f64; 3]> {
    if n[1] == 0 || n[2] == 0 || n[3] == 0 {
        return None;
    }
    let nf = n.map(|x| x as f64);
    let y = nf[1] / (nf[1] + 2.0 * nf[2]);
    let mut d = [0.0; 3];
    for j in 1..=3 {
        let dj = j as f64 - (j as f64 + 1.0) * y * nf[j + 1] / nf[j];
        if !(0.0..=j as f64).contains(&dj) {
            return None;
        }
        d[j - 1] = dj;
    }
    Some(d)
}

/// Which nodes survive `min_frequency` (fewer occurrences drop a pattern of two or more
/// words) and `max_patterns` (0: no cap).
pub(crate) fn prune(
    c: &Counted,
    min_frequency: u32,
    max_patterns: u64,
    meter: &Meter,
) -> Vec<bool> {
    let t = &c.trie;
    let n = t.nodes();
    let first_deep = t.level_start[2.min(t.order() + 1)] as usize;
    let min = min_frequency;
    let mut kept = vec![true; n];
    mem::for_chunks(first_deep..n, |r| {
        meter.add(cost::PRUNE * r.len() as u64);
        for i in r {
            kept[i] = c.count[i] >= min;
        }
    });
    let cap = max_patterns;
    let unigrams = (first_deep - 1) as u64;
    let candidates = kept[first_deep..].iter().filter(|&&k| k).count();
    if cap > 0 && unigrams + candidates as u64 > cap {
        let room = cap.saturating_sub(unigrams) as usize;
        // Rank by count (high first), then order (short first), then node: every prefix
        // and suffix of a pattern ranks before it, so any cut keeps the set closed.
        let level_of = |i: usize| t.level_start.partition_point(|&s| s as usize <= i) - 1;
        let mut rank: Vec<(u32, u8, u32)> = (first_deep..n)
            .filter(|&i| kept[i])
            .map(|i| (u32::MAX - c.count[i], level_of(i) as u8, i as u32))
            .collect();
        if room < rank.len() {
            if room > 0 {
                rank.select_nth_unstable(room - 1);
            }
            for &(_, _, i) in &rank[room..] {
                kept[i as usize] = false;
            }
        }
        meter.add(cost::RANK * rank.len() as u64);
    }
    // Breadth-first order puts parents and suffixes first, so one forward pass closes the
    // set even where counts saturated.
    mem::for_chunks(1..t.level_start[t.order()] as usize, |parents| {
        meter.add(cost::PRUNE * t.descendants(parents.clone()).len() as u64);
        for p in parents {
            for i in t.children(p) {
                if !(kept[p] && kept[c.suffix[i] as usize]) {
                    kept[i] = false;
                }
            }
        }
    });
    kept
}

/// Drops the nodes not `kept` (a set closed under parent and suffix), keeping breadth-first
/// order, and sums the adjusted counts of dropped children per kept context.
pub(crate) fn compact(
    c: &Counted,
    a: &[u32],
    kept: &[bool],
) -> (Trie, Vec<u32>, Vec<u32>, Vec<u32>) {
    let t = &c.trie;
    let n = t.nodes();
    let mut new_id = vec![u32::MAX; n];
    let mut next = 0u32;
    for (i, &k) in kept.iter().enumerate() {
        if k {
            new_id[i] = next;
            next += 1;
        }
    }
    let total = next as usize;
    let mut word = Vec::with_capacity(total);
    let mut a2 = Vec::with_capacity(total);
    let mut suffix = Vec::with_capacity(total);
    for i in (0..n).filter(|&i| kept[i]) {
        word.push(t.word[i]);
        a2.push(a[i]);
        suffix.push(if i == 0 {
            0
        } else {
            new_id[c.suffix[i] as usize]
        });
    }
    let level_start: Vec<u32> = t
        .level_start
        .iter()
        .map(|&s| kept[..s as usize].iter().filter(|&&k| k).count() as u32)
        .collect();
    let ctx_end = level_start[t.order()] as usize;
    let mut child_start = Vec::with_capacity(ctx_end + 1);
    let mut pruned = vec![0u32; ctx_end];
    for i in (0..t.level_start[t.order()] as usize).filter(|&i| kept[i]) {
        let kids = t.children(i);
        let first_kept = kids
            .clone()
            .find(|&ch| kept[ch])
            .map_or(u32::MAX, |ch| new_id[ch]);
        child_start.push(first_kept);
        let p = new_id[i] as usize;
        for ch in kids.filter(|&ch| !kept[ch]) {
            pruned[p] = pruned[p].saturating_add(a[ch]);
        }
    }
    child_start.push(total as u32);
    // Contexts with no kept child start where the next kept child starts.
    for i in (0..child_start.len() - 1).rev() {
        if child_start[i] == u32::MAX {
            child_start[i] = child_start[i + 1];
        }
    }
    (
        Trie {
            level_start,
            word,
            child_start,
        },
        a2,
        suffix,
        pruned,
    )
}

/// The patterns kept after smoothing and pruning, with what the model file holds of them.
struct Smoothed {
    trie: Trie,
    /// Adjusted counts, per node.
    a: Vec<u32>,
    suffix: Vec<u32>,
    /// Per context, the mass of its pruned children (empty when nothing was pruned).
    pruned: Vec<u32>,
    discounts: Vec<[f64; 3]>,
    /// The orders whose discounts are the fallback.
    fallback: Vec<u8>,
    pruned_patterns: u64,
}

/// What a model's training facts say of its text.
#[derive(Clone, Copy)]
pub(crate) struct TextFacts {
    pub bytes: u64,
    pub sentences: u64,
    /// Tokens, each sentence's `</s>` included (its `<s>` not).
    pub tokens: u64,
}

/// The model's parts and the trie's suffix links, from the counts of every pattern (in the
/// trainer's numbering) and the vocabulary: smoothing and pruning by `opts`, then by relative
/// entropy when asked. With a `plan`, sets `meter`'s total to the whole build's work once the
/// patterns kept are known.
///
/// # Errors
/// Those of encoding the model file, which [`EntropyPruning::FileBytes`] does to measure it.
pub(crate) fn parts_of(
    counted: Counted,
    vocab: Vocab,
    opts: &TrainOptions,
    text: TextFacts,
    meter: &Meter,
    plan: Option<&Plan>,
    by_entropy: Option<EntropyPrune>,
) -> Result<(Parts, Vec<u32>)> {
    let order = opts.max_pattern_length;
    let a = adjusted_counts(&counted, meter);
    let (discounts, fallback) = discounts(&counted.trie, &a, meter);
    let mut kept = prune(&counted, opts.min_frequency, opts.max_patterns, meter);
    if let Some(e) = by_entropy {
        let what = Pruning {
            counted: &counted,
            a: &a,
            discounts: &discounts,
            fallback: &fallback,
            vocab: &vocab,
            opts,
            text,
        };
        (e.by)(&what, e.entropy, &mut kept)?;
    }
    let s = if kept.iter().all(|&k| k) {
        let Counted {
            trie,
            suffix,
            count,
        } = counted;
        drop(count);
        Smoothed {
            trie,
            a,
            suffix,
            pruned: Vec::new(),
            discounts,
            fallback,
            pruned_patterns: 0,
        }
    } else {
        // What the model does not need is dropped here, not at the end of the build: the
        // file and index are made next, and peak memory is what a fresh WebAssembly instance
        // pays for page by page.
        let s = compacted(&counted, &a, &kept, discounts, fallback);
        meter.add(cost::COMPACT * counted.trie.nodes() as u64);
        s
    };
    drop(kept);
    if let Some(plan) = plan {
        // The file and index are made of the patterns kept: the rest of the work is known now.
        let (nodes, contexts) = (s.trie.nodes() as u64, s.trie.level_start[order] as u64);
        let total = meter.done() + plan.finishing_work(nodes, contexts);
        // Once every level is counted, the plan is the exact work (pruning aside, which it
        // bounds): the figures of each pass match what the pass adds.
        debug_assert!(plan.may_prune || plan.ranks || plan.units() == total);
        meter.set_total(total);
    }
    Ok(assemble(s, vocab, opts, text))
}

/// Relative-entropy pruning as [`parts_of`] applies it: the choice, and the function that
/// does it ([`entropy_prune`]), which only the callers that offer the choice name, so that a
/// build without them (the WebAssembly bindings) leaves its code out.
#[derive(Clone, Copy)]
pub(crate) struct EntropyPrune {
    pub entropy: EntropyPruning,
    pub by: fn(&Pruning<'_>, EntropyPruning, &mut Vec<bool>) -> Result<()>,
}

impl EntropyPrune {
    pub(crate) fn new(entropy: EntropyPruning) -> Self {
        EntropyPrune {
            entropy,
            by: entropy_prune,
        }
    }
}

/// What relative-entropy pruning reads: the counts and what a model file of them is made of.
pub(crate) struct Pruning<'a> {
    counted: &'a Counted,
    a: &'a [u32],
    discounts: &'a [[f64; 3]],
    fallback: &'a [u8],
    vocab: &'a Vocab,
    opts: &'a TrainOptions,
    text: TextFacts,
}

/// Narrows `kept` by relative entropy (see [`crate::entropy`]).
fn entropy_prune(w: &Pruning<'_>, e: EntropyPruning, kept: &mut Vec<bool>) -> Result<()> {
    let cost = entropy::costs(w.counted, w.a, w.discounts);
    let (t, suffix) = (&w.counted.trie, &w.counted.suffix);
    let threshold = match e {
        EntropyPruning::Threshold(x) => x,
        EntropyPruning::Patterns(n) => entropy::smallest_fitting(&cost, |x| {
            // The root is no pattern.
            Ok(entropy::kept_count(&entropy::keep(t, suffix, &cost, x, kept)) - 1 <= n)
        })?,
        EntropyPruning::FileBytes(n) => entropy::smallest_fitting(&cost, |x| {
            let k = entropy::keep(t, suffix, &cost, x, kept);
            let s = compacted(
                w.counted,
                w.a,
                &k,
                w.discounts.to_vec(),
                w.fallback.to_vec(),
            );
            let (parts, suffix) = assemble(s, w.vocab.clone(), w.opts, w.text);
            let body = crate::format::encode_body(&parts, &suffix, &Meter::none())?;
            Ok((crate::format::HEADER_LEN + body.len()) as u64 <= n)
        })?,
    };
    *kept = entropy::keep(t, suffix, &cost, threshold, kept);
    Ok(())
}

/// The patterns `kept` of `c`, compacted.
fn compacted(
    c: &Counted,
    a: &[u32],
    kept: &[bool],
    discounts: Vec<[f64; 3]>,
    fallback: Vec<u8>,
) -> Smoothed {
    let pruned_patterns = kept.iter().filter(|&&k| !k).count() as u64;
    let (trie, a, suffix, pruned) = compact(c, a, kept);
    Smoothed {
        trie,
        a,
        suffix,
        pruned,
        discounts,
        fallback,
        pruned_patterns,
    }
}

/// The parts of a model of the smoothed patterns `s`.
fn assemble(s: Smoothed, vocab: Vocab, opts: &TrainOptions, text: TextFacts) -> (Parts, Vec<u32>) {
    let training = TrainingStats {
        options: opts.clone(),
        bytes: text.bytes,
        sentences: text.sentences,
        tokens: text.tokens,
        discounts: s.discounts.clone(),
        discount_fallback: s.fallback,
        pruned_patterns: s.pruned_patterns,
    };
    let parts = Parts {
        vocab,
        trie: s.trie,
        values: Values::Counts {
            a: Counts::Decoded(s.a),
            pruned: s.pruned,
            discounts: s.discounts,
        },
        training: Some(training),
    };
    (parts, s.suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounts_follow_the_formula_and_fall_back() {
        let d = modified_kn_discounts(&[0, 100, 40, 20, 10]).unwrap();
        let y = 100.0 / 180.0;
        assert!((d[0] - (1.0 - 2.0 * y * 40.0 / 100.0)).abs() < 1e-12);
        assert!(modified_kn_discounts(&[0, 5, 0, 1, 1]).is_none());
    }
}
