//! The interpolation weights `u` and back-off weights `gamma` the index is built from: computed
//! per context from a trained model's adjusted counts (modified Kneser-Ney), or from an ARPA
//! file's probabilities, which are turned back into weights once.

use crate::error::{Error, Result};
use crate::parts::{Counts, Values};
use crate::trie::Trie;
use crate::vocab::BOS;

/// Where the interpolation weights `u` and back-off weights `gamma` come from.
pub(crate) enum Weights<'a> {
    /// Modified Kneser-Ney from adjusted counts, which the index keeps and computes the weights
    /// from as it reads them: `u(h·w) = (a - D(a)) / S(h)`, `gamma(h) = (sum of D(a) + P) / S(h)`
    /// with `S(h)` the sum of the children's `a` plus `P`, the mass of pruned children. The
    /// root's back-off mass goes to a uniform distribution over all words but `<s>`.
    Counts {
        a: CountsRef<'a>,
        pruned: &'a [u32],
        discounts: &'a [[f64; 3]],
    },
    /// Precomputed per node (`u`) and per context-capable node (`gamma`), e.g. from ARPA.
    Table {
        u: Vec<f64>,
        gamma: Vec<f64>,
        uniform_root: bool,
    },
}

/// Adjusted counts as the index build reads them.
#[derive(Clone, Copy)]
pub(crate) enum CountsRef<'a> {
    /// One per node.
    Decoded(&'a [u32]),
    /// Their varint stream from node 1 on, in a model file being loaded: each fill reads its
    /// children's counts in node order, from a [`Reader`] of its own.
    Encoded(&'a [u8]),
}

impl<'a> Weights<'a> {
    /// Interpolation weights `u` and back-off weights `gamma` from the stored values.
    /// `file` is the model file, where counts not decoded yet ([`Counts::InFile`]) are.
    pub(crate) fn of(
        trie: &Trie,
        suffix: &[u32],
        values: &'a Values,
        file: &'a [u8],
    ) -> Result<Weights<'a>> {
        match values {
            Values::Counts {
                a,
                pruned,
                discounts,
            } => Weights::of_counts(trie, a, pruned, discounts, file),
            Values::Probs {
                log_prob,
                log_backoff,
            } => Weights::of_probs(trie, suffix, log_prob, log_backoff),
        }
    }

    /// [`Weights::Counts`]: checks the adjusted counts, pruned masses and discounts against
    /// the trie; the weights themselves are computed while indexing.
    ///
    /// # Errors
    /// [`Error::Corrupted`] when they do not match the trie or a discount is out of range.
    fn of_counts(
        trie: &Trie,
        a: &'a Counts,
        pruned: &'a [u32],
        discounts: &'a [[f64; 3]],
        file: &'a [u8],
    ) -> Result<Weights<'a>> {
        let order = trie.order();
        let ctx_nodes = trie.level_start[order] as usize;
        let a = match a {
            Counts::Decoded(a) if a.len() == trie.nodes() => CountsRef::Decoded(a),
            Counts::InFile(at) if at.end <= file.len() && at.start <= at.end => {
                CountsRef::Encoded(&file[at.clone()])
            }
            _ => {
                return Err(Error::corrupted(
                    "value arrays do not match the pattern tree",
                ))
            }
        };
        if discounts.len() != order || !(pruned.is_empty() || pruned.len() == ctx_nodes) {
            return Err(Error::corrupted(
                "value arrays do not match the pattern tree",
            ));
        }
        // D1 within [0, 1], D2 within [0, 2], D3+ within [0, 3], as modified Kneser-Ney gives.
        for (k, d) in discounts.iter().enumerate() {
            if d.iter()
                .enumerate()
                .any(|(j, &x)| !(0.0..=(j + 1) as f64).contains(&x))
            {
                return Err(Error::corrupted(format!(
                    "discounts of order {} out of range",
                    k + 1
                )));
            }
        }
        Ok(Weights::Counts {
            a,
            pruned,
            discounts,
        })
    }

    /// [`Weights::Table`] from log10 probabilities and back-offs (an ARPA file's): `gamma` is
    /// the back-off weight, and `u(h·w)` what remains of `p(w | h)` once the back-off's share,
    /// `gamma(h) · p(w | h')`, is taken away.
    ///
    /// # Errors
    /// [`Error::Corrupted`] when the arrays do not match the trie.
    fn of_probs(
        trie: &Trie,
        suffix: &[u32],
        log_prob: &[f32],
        log_backoff: &[f32],
    ) -> Result<Weights<'a>> {
        let nodes = trie.nodes();
        if log_prob.len() != nodes || log_backoff.len() != trie.level_start[trie.order()] as usize {
            return Err(Error::corrupted(
                "value arrays do not match the pattern tree",
            ));
        }
        let p = |node: usize| libm::pow(10.0, log_prob[node] as f64);
        let mut u = vec![0.0f64; nodes];
        // `<s>` has no probability of its own (ARPA writes 0 by convention).
        for c in trie.level(1) {
            u[c] = if trie.word[c] == BOS { 0.0 } else { p(c) };
        }
        let mut gamma: Vec<f64> = log_backoff
            .iter()
            .map(|&b| libm::pow(10.0, b as f64))
            .collect();
        gamma[0] = 0.0;
        for (h, &g) in gamma.iter().enumerate().skip(trie.level_start[1] as usize) {
            for c in trie.children(h) {
                // p(h·w) = u(h·w) + gamma(h) p(h'·w): recover u from the stored full p.
                u[c] = (p(c) - g * p(suffix[c] as usize)).max(0.0);
            }
        }
        Ok(Weights::Table {
            u,
            gamma,
            uniform_root: false,
        })
    }
}
