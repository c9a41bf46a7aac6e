//! Relative-entropy pruning (Stolcke 1998, the criterion of SRILM's `-prune`): drop the
//! patterns whose removal changes the model's distribution least.
//!
//! Removing the pattern `h·w` moves its adjusted count into its context's removed mass (as
//! count pruning does), so `h`'s back-off weight grows by exactly the pattern's own weight:
//! `γ'(h) = γ(h) + u(h·w)`, and every word's probability after `h` changes:
//!
//! * `w`: from `u(h·w) + γ(h)·p(w|h')` to `γ'(h)·p(w|h')`;
//! * each other word `v` seen after `h`: from `u(h·v) + γ(h)·p(v|h')` to `u(h·v) + γ'(h)·p(v|h')`;
//! * every word never seen after `h`: from `γ(h)·p(v|h')` to `γ'(h)·p(v|h')`.
//!
//! The cost of the removal is the relative entropy between the two distributions, weighted by
//! the probability of the context, `ΔH = p(h) · D(p(·|h) ‖ p'(·|h))`, in nats: for small
//! values, the relative increase of the model's perplexity. It is exact for one removal, and
//! each pattern's is computed against the unpruned model, as Stolcke does. The sum over the
//! words seen after `h` depends on the removed pattern only through `u(h·w)`, which takes few
//! values in a context (one per distinct adjusted count), so it is computed once per value.
//!
//! `p(h)` is the context's relative frequency in the training text (its raw count over the
//! tokens), not the model's own chain-rule estimate: Kneser-Ney's lower orders are continuation
//! distributions, poor estimates of how often a context occurs, and pruning weighted by them
//! is known to suffer for it (Chelba et al. 2010).
//!
//! Unigrams are never pruned, and the kept set stays closed under prefixes and suffixes: a
//! pattern that a kept pattern needs as its context or its back-off is kept.

use serde::{Deserialize, Serialize};

use crate::count::Counted;
use crate::error::{Error, Result};
use crate::trie::Trie;

/// How much relative-entropy pruning removes (see the module docs of `entropy`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntropyPruning {
    /// Remove every pattern whose removal costs less than this relative entropy, in nats
    /// (about the relative increase of perplexity it causes, as SRILM's `-prune` threshold).
    Threshold(f64),
    /// The smallest threshold that leaves at most this many patterns (unigrams included).
    Patterns(u64),
    /// The smallest threshold whose model file is at most this many bytes.
    FileBytes(u64),
}

impl EntropyPruning {
    /// Checks the value.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a negative or non-finite threshold, or a target of 0.
    pub fn validate(&self) -> Result<()> {
        match *self {
            EntropyPruning::Threshold(t) if !(t.is_finite() && t >= 0.0) => Err(Error::option(
                "prune_entropy",
                format!("the threshold must be a finite number ≥ 0, got {t}"),
            )),
            EntropyPruning::Patterns(0) | EntropyPruning::FileBytes(0) => {
                Err(Error::option("prune_entropy", "the target must be above 0"))
            }
            _ => Ok(()),
        }
    }
}

/// The unpruned model's figures the costs are made of.
struct Kn {
    /// Per context: the sum of its children's adjusted counts, and its back-off weight.
    s: Vec<f64>,
    gamma: Vec<f64>,
    /// Per node: its word's full probability after its context.
    q: Vec<f64>,
}

impl Kn {
    fn of(c: &Counted, a: &[u32], discounts: &[[f64; 3]]) -> Kn {
        let t = &c.trie;
        let order = t.order();
        let v = t.vocab_len();
        let ctx_end = t.level_start[order] as usize;
        let mut s = vec![0.0f64; ctx_end];
        let mut gamma = vec![1.0f64; ctx_end];
        for k in 0..order {
            for h in t.level(k) {
                let (mut sum, mut dsum) = (0.0, 0.0);
                for ch in t.children(h) {
                    sum += a[ch] as f64;
                    dsum += discount(discounts, k + 1, a[ch]);
                }
                s[h] = sum;
                if sum > 0.0 {
                    gamma[h] = dsum / sum;
                }
            }
        }
        let mut kn = Kn {
            s,
            gamma,
            q: vec![0.0f64; t.nodes()],
        };
        // q = u + γ(h)·q(suffix); the root's back-off mass spread uniformly, a share of it
        // given to each word (as the index does).
        let uniform = if v > 1 {
            kn.gamma[0] / (v - 1) as f64
        } else {
            0.0
        };
        for ch in t.level(1) {
            kn.q[ch] = kn.u(discounts, 1, 0, a[ch]) + uniform;
        }
        for k in 2..=order {
            for h in t.level(k - 1) {
                for ch in t.children(h) {
                    kn.q[ch] =
                        kn.u(discounts, k, h, a[ch]) + kn.gamma[h] * kn.q[c.suffix[ch] as usize];
                }
            }
        }
        kn
    }

    /// The weight `u` of a pattern of `k` words with adjusted count `x` in context `h`.
    fn u(&self, discounts: &[[f64; 3]], k: usize, h: usize, x: u32) -> f64 {
        if self.s[h] <= 0.0 {
            0.0
        } else {
            ((x as f64 - discount(discounts, k, x)) / self.s[h]).max(0.0)
        }
    }
}

/// The discount of an adjusted count `x` at order `k` (0 for 0).
fn discount(discounts: &[[f64; 3]], k: usize, x: u32) -> f64 {
    match x {
        0 => 0.0,
        x => discounts[k - 1][(x.min(3) - 1) as usize],
    }
}

/// Each node's cost of removal `ΔH` (+∞ for the root and the unigrams, which stay), from the
/// raw counts of `c`, the adjusted counts `a` and the discounts per order.
pub(crate) fn costs(c: &Counted, a: &[u32], discounts: &[[f64; 3]]) -> Vec<f64> {
    let t = &c.trie;
    let n = t.nodes();
    let order = t.order();
    let kn = Kn::of(c, a, discounts);
    let (q, gamma) = (&kn.q, &kn.gamma);
    let tokens: f64 = t.level(1).map(|i| c.count[i] as f64).sum::<f64>().max(1.0);
    let mut cost = vec![f64::INFINITY; n];
    let mut values: Vec<u32> = Vec::new();
    let mut sums: Vec<(u32, f64)> = Vec::new();
    for k in 2..=order {
        for h in t.level(k - 1) {
            let kids = t.children(h);
            if kids.is_empty() {
                continue;
            }
            let g = gamma[h];
            let ph = c.count[h] as f64 / tokens;
            let seen_lower: f64 = kids.clone().map(|ch| q[c.suffix[ch] as usize]).sum();
            let unseen = (1.0 - seen_lower).max(0.0);
            // F(u) = Σ over the words seen after h of p ln(p / (p + u·r)), per distinct u.
            values.clear();
            values.extend(kids.clone().map(|ch| a[ch]));
            values.sort_unstable();
            values.dedup();
            sums.clear();
            for &x in &values {
                let ux = kn.u(discounts, k, h, x);
                let f: f64 = kids
                    .clone()
                    .map(|ch| {
                        let (p, r) = (q[ch], q[c.suffix[ch] as usize]);
                        if p > 0.0 {
                            p * (p / (p + ux * r)).ln()
                        } else {
                            0.0
                        }
                    })
                    .sum();
                sums.push((x, f));
            }
            for ch in kids {
                let uw = kn.u(discounts, k, h, a[ch]);
                let (p, r) = (q[ch], q[c.suffix[ch] as usize]);
                let f = sums[values.partition_point(|&x| x < a[ch])].1;
                let g2 = g + uw;
                let mut kl = f;
                if p > 0.0 {
                    // The word itself: its term in F assumed it stayed seen.
                    kl -= p * (p / (p + uw * r)).ln();
                    kl += if r > 0.0 && g2 > 0.0 {
                        p * (p / (g2 * r)).ln()
                    } else {
                        f64::INFINITY
                    };
                }
                if g > 0.0 && unseen > 0.0 {
                    kl += g * unseen * (g / g2).ln();
                }
                cost[ch] = ph * kl.max(0.0);
            }
        }
    }
    cost
}

/// The nodes kept when every pattern whose `cost` is below `threshold` goes, among those
/// `kept` (a set closed under prefixes and suffixes), closed again: a pattern kept keeps its
/// context and its back-off.
pub(crate) fn keep(
    t: &Trie,
    suffix: &[u32],
    cost: &[f64],
    threshold: f64,
    kept: &[bool],
) -> Vec<bool> {
    let mut out: Vec<bool> = kept
        .iter()
        .zip(cost)
        .map(|(&k, &c)| k && c >= threshold)
        .collect();
    for k in (2..=t.order()).rev() {
        for h in t.level(k - 1) {
            for ch in t.children(h) {
                if out[ch] {
                    out[h] = true;
                    out[suffix[ch] as usize] = true;
                }
            }
        }
    }
    out
}

/// The patterns `keep` leaves at `threshold`.
pub(crate) fn kept_count(kept: &[bool]) -> u64 {
    kept.iter().filter(|&&k| k).count() as u64
}

/// The smallest threshold among the costs (or 0) for which `fits` holds of the kept set, by
/// bisection over the sorted costs: the set shrinks as the threshold grows.
pub(crate) fn smallest_fitting(
    cost: &[f64],
    mut fits: impl FnMut(f64) -> Result<bool>,
) -> Result<f64> {
    if fits(0.0)? {
        return Ok(0.0);
    }
    let mut sorted: Vec<f64> = cost.iter().copied().filter(|c| c.is_finite()).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted.dedup();
    // Thresholds just above each cost: the one at `i` removes sorted[..=i].
    let above = |i: usize| -> f64 {
        let c = sorted[i];
        if c == 0.0 {
            f64::MIN_POSITIVE
        } else {
            c * (1.0 + 4.0 * f64::EPSILON)
        }
    };
    let (mut lo, mut hi) = (0usize, sorted.len());
    // Invariant: thresholds below `above(lo)` do not fit; `above(hi - 1)` (all removed) is
    // the fallback.
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fits(above(mid))? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(if lo < sorted.len() {
        above(lo)
    } else {
        f64::INFINITY
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ROOT;
    use crate::model::Model;
    use crate::progress::Meter;
    use crate::smooth::{adjusted_counts, compact, discounts};
    use crate::testing::TINY;
    use crate::vocab::Vocab;
    use crate::{TrainOptions, Trainer};

    fn tiny(order: usize) -> (Vocab, Counted, Vec<u32>, Vec<[f64; 3]>, Model) {
        let opts = TrainOptions {
            max_pattern_length: order,
            ..Default::default()
        };
        let mut t = Trainer::new(opts.clone()).unwrap();
        t.feed(TINY);
        let (vocab, c) = t.counted().unwrap();
        let a = adjusted_counts(&c, &Meter::none());
        let (d, _) = discounts(&c.trie, &a, &Meter::none());
        let mut t = Trainer::new(opts).unwrap();
        t.feed(TINY);
        (vocab, c, a, d, t.finish().unwrap())
    }

    /// Each node's words.
    fn patterns(c: &Counted) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); c.trie.nodes()];
        for k in 1..=c.trie.order() {
            crate::shard::for_each_pattern(&c.trie, k, |w, node| out[node] = w.to_vec());
        }
        out
    }

    /// `p(word | context)` as the model's index gives it, from the context itself (not from
    /// the start of a sentence).
    fn prob(m: &Model, context: &[u32], word: u32) -> f64 {
        let mut st = ROOT;
        for &w in context {
            st = m.index.advance(st, w);
        }
        m.index.prob(st, word).0
    }

    #[test]
    fn probabilities_are_the_models() {
        let (_, c, a, d, model) = tiny(3);
        let kn = Kn::of(&c, &a, &d);
        let words = patterns(&c);
        for (node, pattern) in words.iter().enumerate().skip(1) {
            let (ctx, w) = pattern.split_at(pattern.len() - 1);
            let want = prob(&model, ctx, w[0]);
            // The index keeps each weight as an f32.
            assert!(
                (kn.q[node] - want).abs() <= 1e-6 * want,
                "node {node}: {} against {want}",
                kn.q[node]
            );
        }
    }

    #[test]
    fn a_cost_is_the_relative_entropy_of_removing_the_pattern() {
        let (vocab, c, a, d, model) = tiny(3);
        let cost = costs(&c, &a, &d);
        let words = patterns(&c);
        let tokens: f64 = c.trie.level(1).map(|i| c.count[i] as f64).sum();
        // Patterns of the deepest level: nothing else needs them, so each goes alone.
        let level = c.trie.level(3);
        let mut checked = 0;
        for node in level.step_by(97) {
            let mut kept = vec![true; c.trie.nodes()];
            kept[node] = false;
            let (trie, a2, suffix, pruned) = compact(&c, &a, &kept);
            let parts = crate::parts::Parts {
                vocab: vocab.clone(),
                trie,
                values: crate::parts::Values::Counts {
                    a: crate::parts::Counts::Decoded(a2),
                    pruned,
                    discounts: d.clone(),
                },
                training: None,
            };
            let smaller = Model::from_parts(parts, Some(suffix), None, &Meter::none()).unwrap();
            let ctx = &words[node][..2];
            let mut kl = 0.0;
            let mut total = 0.0;
            // `<s>` is never predicted; its share of the root's uniform mass goes nowhere.
            for v in (0..vocab.len() as u32).filter(|&v| v != crate::vocab::BOS) {
                let (p, p2) = (prob(&model, ctx, v), prob(&smaller, ctx, v));
                total += p;
                if p > 0.0 {
                    kl += p * (p / p2).ln();
                }
            }
            assert!(
                (total - 1.0).abs() < 1e-3,
                "the context's probabilities sum to {total}"
            );
            let parent = c
                .trie
                .level(2)
                .find(|&h| c.trie.children(h).contains(&node))
                .unwrap();
            let want = c.count[parent] as f64 / tokens * kl;
            assert!(
                (cost[node] - want).abs() <= 1e-3 * want + 1e-12,
                "node {node}: cost {} against {want}",
                cost[node]
            );
            checked += 1;
        }
        assert!(checked > 10);
    }

    #[test]
    fn the_kept_set_is_closed_and_shrinks_with_the_threshold() {
        let (_, c, a, d, _) = tiny(4);
        let cost = costs(&c, &a, &d);
        let all = vec![true; c.trie.nodes()];
        let mut last = u64::MAX;
        for threshold in [0.0, 1e-7, 1e-6, 1e-5, 1e-4, f64::INFINITY] {
            let kept = keep(&c.trie, &c.suffix, &cost, threshold, &all);
            let n = kept_count(&kept);
            assert!(n <= last);
            last = n;
            // Every unigram stays; a kept pattern's context and back-off stay.
            assert!(c.trie.level(1).all(|i| kept[i]));
            for k in 2..=c.trie.order() {
                for h in c.trie.level(k - 1) {
                    for ch in c.trie.children(h) {
                        if kept[ch] {
                            assert!(kept[h] && kept[c.suffix[ch] as usize]);
                        }
                    }
                }
            }
        }
        assert_eq!(last, 1 + c.trie.level(1).len() as u64);
        assert_eq!(
            kept_count(&keep(&c.trie, &c.suffix, &cost, 0.0, &all)),
            c.trie.nodes() as u64
        );
    }

    #[test]
    fn the_smallest_fitting_threshold_is_found() {
        let (_, c, a, d, _) = tiny(4);
        let cost = costs(&c, &a, &d);
        let all = vec![true; c.trie.nodes()];
        let count = |x: f64| kept_count(&keep(&c.trie, &c.suffix, &cost, x, &all));
        let total = c.trie.nodes() as u64;
        for target in [
            total,
            total - 1,
            total / 2,
            total / 10,
            1 + c.trie.level(1).len() as u64,
        ] {
            let x = smallest_fitting(&cost, |x| Ok(count(x) <= target)).unwrap();
            assert!(count(x) <= target);
            // Any smaller threshold among the costs keeps too many.
            let below: Vec<f64> = cost.iter().copied().filter(|&c| c < x).collect();
            if let Some(&m) = below.iter().max_by(|a, b| a.total_cmp(b)) {
                assert!(count(m) > target, "target {target}: {m} fits too");
            }
        }
    }

    fn pruned(order: usize, e: Option<EntropyPruning>) -> Vec<u8> {
        let mut t = Trainer::new(TrainOptions {
            max_pattern_length: order,
            ..Default::default()
        })
        .unwrap();
        t.set_entropy_pruning(e).unwrap();
        t.feed(TINY);
        t.finish_file().unwrap().bytes
    }

    #[test]
    fn training_prunes_to_a_target() {
        let whole = pruned(4, None);
        assert_eq!(pruned(4, Some(EntropyPruning::Threshold(0.0))), whole);
        let info = |b: &[u8]| Model::from_bytes(b).unwrap().info();
        let all = info(&whole).patterns;
        for n in [all / 2, all / 4] {
            let b = pruned(4, Some(EntropyPruning::Patterns(n)));
            let i = info(&b);
            assert!(
                i.patterns <= n && i.patterns > n * 9 / 10,
                "{} for {n}",
                i.patterns
            );
            assert_eq!(
                i.training.unwrap().pruned_patterns,
                all - i.patterns,
                "every pattern removed is counted"
            );
        }
        for size in [whole.len() as u64 / 2, whole.len() as u64 / 3] {
            let b = pruned(4, Some(EntropyPruning::FileBytes(size)));
            assert!(
                b.len() as u64 <= size && b.len() as u64 > size * 9 / 10,
                "{} for {size}",
                b.len()
            );
        }
        // A threshold removes more as it grows, and a pruned model still scores all text.
        let (a, b) = (
            pruned(4, Some(EntropyPruning::Threshold(1e-6))),
            pruned(4, Some(EntropyPruning::Threshold(1e-5))),
        );
        assert!(b.len() < a.len() && a.len() < whole.len());
        let ppl = Model::from_bytes(&b).unwrap().perplexity(TINY).perplexity;
        assert!(
            ppl.is_finite()
                && ppl
                    > Model::from_bytes(&whole)
                        .unwrap()
                        .perplexity(TINY)
                        .perplexity
        );
        // The same from count shards.
        let mut t = Trainer::new(TrainOptions {
            max_pattern_length: 4,
            ..Default::default()
        })
        .unwrap();
        t.feed(TINY);
        let shard = t.finish_counts().unwrap();
        let opts = TrainOptions {
            max_pattern_length: 4,
            ..Default::default()
        };
        assert_eq!(
            shard
                .into_file_pruned(&opts, EntropyPruning::Threshold(1e-5))
                .unwrap()
                .bytes,
            b
        );
        for bad in [
            EntropyPruning::Threshold(-1.0),
            EntropyPruning::Threshold(f64::NAN),
            EntropyPruning::Patterns(0),
            EntropyPruning::FileBytes(0),
        ] {
            let mut t = Trainer::new(TrainOptions::default()).unwrap();
            assert_eq!(
                t.set_entropy_pruning(Some(bad)).unwrap_err().code(),
                "INVALID_OPTION"
            );
        }
    }
}
