//! What applications ask of a language model besides text: the likeliest next words
//! ([`Model::predict`], for suggestions and word completion), each token's score
//! ([`Model::score`], KenLM `query`'s per-token output) and candidates ordered by their
//! probability ([`Model::rank`], the call a spell-checker makes).
//!
//! Prediction is exact: every probability is the one [`Model::log10_prob`] gives, summed over
//! every back-off level in the same order. It does not score the whole vocabulary: a word that
//! follows none of the context's non-root levels has the probability `W·u(w) + c`, with the same
//! `W` and `c` for all of them, so among those words the root's own order (by `u`, computed once
//! per model) is their order; only the successors of the non-root levels are scored one by one.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::{Index, NONE, ROOT};
use crate::model::Model;
use crate::tokenizer::{tokenize, Tokens};
use crate::vocab::{BOS, EOS, UNK};

/// What [`Model::predict`] returns and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PredictOptions {
    /// How many words, at most (default 10; 0 gives none).
    pub k: usize,
    /// Only words that start with this (the part of a word typed so far); empty: any word.
    pub prefix: String,
    /// Match `prefix` whatever the letters' case (default false).
    pub ignore_case: bool,
    /// `</s>`, the end of the sentence, may be predicted (default false).
    pub allow_end: bool,
    /// Leave out words less likely than this (default 0).
    pub min_probability: f64,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            k: 10,
            prefix: String::new(),
            ignore_case: false,
            allow_end: false,
            min_probability: 0.0,
        }
    }
}

/// The declaration of [`Prediction`] (the form: `src/shapes.rs`).
#[macro_export]
macro_rules! prediction_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// One predicted next word.
            #[js_doc = "One predicted next word."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[non_exhaustive]
            struct Prediction {
                /// The word (`</s>` for the end of the sentence).
                #[js_doc = "The word (\"</s>\" for the end of the sentence)."]
                word: String,
                /// Its probability after the context, as [`Model::log10_prob`] gives it.
                #[js_doc = "Its exact probability after the context."]
                probability: f64,
                /// `log10(probability)`.
                #[js_doc = "log10(probability)."]
                log10_prob: f64,
            }
        }
    };
}

/// The declaration of [`TokenScore`] (the form: `src/shapes.rs`).
#[macro_export]
macro_rules! token_score_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// One token's score in [`Model::score`].
            #[js_doc = "One token's score, as KenLM's `query -v word` gives it."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[non_exhaustive]
            struct TokenScore {
                /// The token as written (`</s>` for the end of the sentence).
                #[js_doc = "The token as written (\"</s>\" for the end of the sentence)."]
                token: String,
                /// log10 of its probability after the tokens before it in its sentence.
                #[js_doc = "log10 of its probability after the tokens before it in its sentence."]
                log10_prob: f64,
                /// The length of the longest n-gram of the model that ends in it (KenLM's
                /// `ngram_length`; 1 for an unknown token).
                #[js_doc = "Length of the longest n-gram of the model ending in it (1 when unknown)."]
                ngram_length: u32,
                /// Not in the vocabulary (scored as `<unk>`).
                #[js_doc = "Not in the vocabulary (scored as <unk>)."]
                oov: bool,
            }
        }
    };
}

/// The declaration of [`SentenceScore`] (the form: `src/shapes.rs`).
#[macro_export]
macro_rules! sentence_score_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// One sentence's scores in [`Model::score`].
            #[js_doc = "One sentence's scores: its tokens, then </s>, and their total."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[non_exhaustive]
            struct SentenceScore {
                /// Its tokens, then `</s>`.
                #[js_doc = "Its tokens, then </s>."]
                tokens: Vec<TokenScore>,
                /// The sum of their log10 probabilities (KenLM's `Total`).
                #[js_doc = "The sum of their log10 probabilities (KenLM's Total)."]
                log10_prob: f64,
            }
        }
    };
}

/// The declaration of [`Ranked`] (the form: `src/shapes.rs`).
#[macro_export]
macro_rules! ranked_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// One candidate of [`Model::rank`].
            #[js_doc = "One candidate of `rank`, with its score."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[non_exhaustive]
            struct Ranked {
                /// The candidate as given.
                #[js_doc = "The candidate as given."]
                candidate: String,
                /// log10 of the probability of its tokens, one after the other, after the
                /// context.
                #[js_doc = "log10 of the probability of its tokens, one after the other, after the context."]
                log10_prob: f64,
                /// Its tokens.
                #[js_doc = "How many tokens it has."]
                tokens: u32,
            }
        }
    };
}

prediction_fields!(result_fields[declare_result]);
token_score_fields!(result_fields[declare_result]);
sentence_score_fields!(result_fields[declare_result]);
ranked_fields!(result_fields[declare_result]);

/// One token's score as [`Model::scores`] makes it, borrowing the token from the text.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Scored<'t> {
    /// The sentence's place among the text's non-empty lines, from 0.
    pub sentence: usize,
    /// The token as written (`</s>` for the end of the sentence).
    pub token: &'t str,
    /// log10 of its probability after the tokens before it in its sentence.
    pub log10_prob: f64,
    /// The length of the longest n-gram of the model that ends in it (1 when unknown).
    pub ngram_length: u32,
    /// Not in the vocabulary (scored as `<unk>`).
    pub oov: bool,
    /// It is the sentence's `</s>`, its last token.
    pub end: bool,
}

/// The iterator of [`Model::scores`].
#[derive(Debug)]
pub struct Scores<'m, 't> {
    model: &'m Model,
    lines: std::str::Lines<'t>,
    /// The tokens of the line being scored, and whether any was scored.
    tokens: Option<(Tokens<'t>, bool)>,
    state: u32,
    sentence: usize,
}

impl<'t> Iterator for Scores<'_, 't> {
    type Item = Scored<'t>;

    fn next(&mut self) -> Option<Scored<'t>> {
        let index = &self.model.index;
        loop {
            let Some((tokens, any)) = &mut self.tokens else {
                self.tokens = Some((tokenize(self.lines.next()?), false));
                self.state = index.bos;
                continue;
            };
            let (token, id) = match tokens.next() {
                Some(tok) => {
                    *any = true;
                    (tok, self.model.vocab.id_or_unk(tok))
                }
                None if *any => ("</s>", EOS),
                None => {
                    self.tokens = None;
                    continue;
                }
            };
            let end = id == EOS;
            let (p, next, matched) = index.prob_matched(self.state, id);
            let scored = Scored {
                sentence: self.sentence,
                token,
                log10_prob: libm::log10(p),
                ngram_length: matched,
                oov: id == UNK,
                end,
            };
            self.state = next;
            if end {
                self.tokens = None;
                self.sentence += 1;
            }
            return Some(scored);
        }
    }
}

/// The root's successors (their places in its block), likeliest first, ties by word: the order
/// of every word that follows no other level of a context (`Model::root_order`, made once per
/// model on first use).
fn root_order(index: &Index) -> Vec<u32> {
    let root = index.ctx(ROOT);
    let m = root.mass();
    let mut order: Vec<(u32, u32, u32)> = (0..root.n)
        .map(|i| (root.u(i, m).to_bits(), root.word(i), i as u32))
        .collect();
    // Positive f32 bits order as the floats do.
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    order.into_iter().map(|(_, _, i)| i).collect()
}

impl Model {
    /// The `k` likeliest next words after `context` (tokenized as training text is; its start
    /// is the start of a sentence), best first (ties by vocabulary order), each with its exact
    /// probability: what [`Model::log10_prob`] gives for it. `<s>` and `<unk>` are never
    /// predicted; `</s>` only with [`PredictOptions::allow_end`].
    ///
    /// ```
    /// # use ultra_efficient_llm::{PredictOptions, TrainOptions, Trainer};
    /// # let mut t = Trainer::new(TrainOptions { max_pattern_length: 3, ..Default::default() })?;
    /// # t.feed("the cat sat on the mat.\nthe cat ate.\nthe dog sat.\n");
    /// # let model = t.finish()?;
    /// let next = model.predict("the", &PredictOptions { k: 2, ..Default::default() })?;
    /// assert_eq!(next[0].word, "cat");
    /// let typed = model.predict("the", &PredictOptions { prefix: "d".into(), ..Default::default() })?;
    /// assert_eq!(typed[0].word, "dog");
    /// # Ok::<(), ultra_efficient_llm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a `min_probability` that is not a number.
    pub fn predict(&self, context: &str, opts: &PredictOptions) -> Result<Vec<Prediction>> {
        if opts.min_probability.is_nan() {
            return Err(Error::option("min_probability", "must be a number"));
        }
        if opts.k == 0 {
            return Ok(Vec::new());
        }
        let index = &self.index;
        let state = self.state_after(context);
        let wanted = Filter::new(self, opts);
        // The successors of every level above the root, with the sum of their weights, by word:
        // each level's words are sorted, so the levels merge in one pass each, and every sum is
        // made in the order `prob` makes it (the longest context first).
        let mut acc: Vec<(u32, f64)> = Vec::new();
        let mut level: Vec<(u32, f64)> = Vec::new();
        let mut merged: Vec<(u32, f64)> = Vec::new();
        let mut scale = 1.0f64;
        let mut s = state;
        loop {
            let c = index.ctx(s);
            if c.backoff == NONE {
                break;
            }
            let m = c.mass();
            level.clear();
            level.extend(
                (0..c.n)
                    .map(|i| (c.word(i), i))
                    .filter(|&(w, _)| wanted.word(w))
                    .map(|(w, i)| (w, scale * c.u(i, m) as f64)),
            );
            merge_sums(&acc, &level, &mut merged);
            std::mem::swap(&mut acc, &mut merged);
            scale *= m.gamma as f64;
            s = c.backoff;
        }
        let root = index.ctx(ROOT);
        let rm = root.mass();
        let uniform = if index.uniform_root {
            scale * rm.gamma as f64 / (index.vocab_len - 1) as f64
        } else {
            0.0
        };
        // The sum `prob` makes: the levels above, then the root's weight, then its uniform part.
        // A root of every word holds word `w` at place `w` (its words are sorted).
        let dense = root.n == index.vocab_len as usize;
        let total = |above: f64, w: u32| {
            let at = if dense {
                Some(w as usize)
            } else {
                root.find(w)
            };
            let u = at.map_or(0.0, |i| scale * root.u(i, rm) as f64);
            above + u + uniform
        };
        let mut out: Vec<(f64, u32)> = acc.iter().map(|&(w, a)| (total(a, w), w)).collect();
        let mut scored = vec![0u64; (index.vocab_len as usize).div_ceil(64)];
        for &(w, _) in &acc {
            scored[w as usize / 64] |= 1 << (w % 64);
        }
        // Then the others in the root's order, until `k` of them (and any tied with the last).
        let order = self.root_order.get_or_init(|| root_order(index));
        let mut taken = 0;
        let mut last = f64::INFINITY;
        for &i in order {
            let w = root.word(i as usize);
            if scored[w as usize / 64] >> (w % 64) & 1 == 1 || !wanted.word(w) {
                continue;
            }
            let p = scale * root.u(i as usize, rm) as f64 + uniform;
            if taken >= opts.k && p < last {
                break;
            }
            out.push((p, w));
            taken += 1;
            last = p;
        }
        // Likeliest first, ties by word: the best k selected, then only they sorted.
        let order = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if out.len() > opts.k {
            out.select_nth_unstable_by(opts.k - 1, order);
            out.truncate(opts.k);
        }
        out.sort_unstable_by(order);
        Ok(out
            .into_iter()
            .filter(|&(p, _)| p >= opts.min_probability)
            .map(|(p, w)| Prediction {
                word: self.vocab.word(w).to_owned(),
                probability: p,
                log10_prob: libm::log10(p),
            })
            .collect())
    }

    /// Scores `text` token by token with KenLM `query`'s definitions (its `-v word` output):
    /// each non-empty line is a sentence, from `<s>`, whose tokens and then `</s>` get their
    /// log10 probability, the length of the n-gram matched and whether they are unknown.
    ///
    /// Every token becomes an owned [`TokenScore`]; to read the scores as they are made, with
    /// no allocation, use [`Model::scores`].
    pub fn score(&self, text: &str) -> Vec<SentenceScore> {
        let mut out: Vec<SentenceScore> = Vec::new();
        let mut tokens = Vec::new();
        let mut sum = 0.0;
        for t in self.scores(text) {
            sum += t.log10_prob;
            tokens.push(TokenScore {
                token: t.token.to_owned(),
                log10_prob: t.log10_prob,
                ngram_length: t.ngram_length,
                oov: t.oov,
            });
            if t.end {
                out.push(SentenceScore {
                    tokens: std::mem::take(&mut tokens),
                    log10_prob: sum,
                });
                sum = 0.0;
            }
        }
        out
    }

    /// [`Model::score`]'s scores one token at a time, borrowed from `text`, made as they are
    /// read: for text of any size, at the speed of the lookups themselves.
    ///
    /// ```
    /// # use ultra_efficient_llm::{TrainOptions, Trainer};
    /// let mut trainer = Trainer::new(TrainOptions::default())?;
    /// trainer.feed("the cat sat\n");
    /// let model = trainer.finish()?;
    /// let tokens: Vec<_> = model.scores("the cat\n\nthe dog").map(|t| t.token).collect();
    /// assert_eq!(tokens, ["the", "cat", "</s>", "the", "dog", "</s>"]);
    /// # Ok::<(), ultra_efficient_llm::Error>(())
    /// ```
    pub fn scores<'m, 't>(&'m self, text: &'t str) -> Scores<'m, 't> {
        Scores {
            model: self,
            lines: text.lines(),
            tokens: None,
            state: self.index.bos,
            sentence: 0,
        }
    }

    /// `candidates` (words or phrases, tokenized as training text is) ordered by the
    /// probability of their tokens after `context`, likeliest first (ties in the order given),
    /// each with its log10 probability: the sum over its tokens, each scored after the context
    /// and the tokens before it. A candidate of no tokens has log10 probability 0.
    pub fn rank<S: AsRef<str>>(&self, context: &str, candidates: &[S]) -> Vec<Ranked> {
        let index = &self.index;
        let start = self.state_after(context);
        let mut out: Vec<(usize, Ranked)> = candidates
            .iter()
            .enumerate()
            .map(|(place, c)| {
                let mut state = start;
                let (mut sum, mut n) = (0.0, 0);
                for tok in tokenize(c.as_ref()) {
                    let (p, next) = index.prob(state, self.vocab.id_or_unk(tok));
                    sum += libm::log10(p);
                    n += 1;
                    state = next;
                }
                let ranked = Ranked {
                    candidate: c.as_ref().to_owned(),
                    log10_prob: sum,
                    tokens: n,
                };
                (place, ranked)
            })
            .collect();
        // Ties in the order given: an unstable sort keyed by place too is a stable one.
        out.sort_unstable_by(|a, b| {
            b.1.log10_prob
                .total_cmp(&a.1.log10_prob)
                .then(a.0.cmp(&b.0))
        });
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// The state after `context`'s tokens, from the start of a sentence.
    fn state_after(&self, context: &str) -> u32 {
        let mut state = self.index.bos;
        for tok in tokenize(context) {
            state = self.index.advance(state, self.vocab.id_or_unk(tok));
        }
        state
    }
}

/// `a` and `b`, two lists of (word, weight) sorted by word, as one: the weights of a word in
/// both added, `a`'s first.
fn merge_sums(a: &[(u32, f64)], b: &[(u32, f64)], out: &mut Vec<(u32, f64)>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (wa, wb) = (a[i].0, b[j].0);
        if wa < wb {
            out.push(a[i]);
            i += 1;
        } else if wb < wa {
            out.push(b[j]);
            j += 1;
        } else {
            out.push((wa, a[i].1 + b[j].1));
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// Which words a prediction may give.
struct Filter<'a> {
    model: &'a Model,
    allow_end: bool,
    /// The prefix (lowercased when case is ignored), if any.
    prefix: Option<String>,
    ignore_case: bool,
}

impl<'a> Filter<'a> {
    fn new(model: &'a Model, opts: &PredictOptions) -> Self {
        let prefix = (!opts.prefix.is_empty()).then(|| {
            if opts.ignore_case {
                // char by char, as the words are compared (str::to_lowercase adds its own code
                // for a final sigma to the WebAssembly module, for no gain in a prefix)
                opts.prefix.chars().flat_map(char::to_lowercase).collect()
            } else {
                opts.prefix.clone()
            }
        });
        Filter {
            model,
            allow_end: opts.allow_end,
            prefix,
            ignore_case: opts.ignore_case,
        }
    }

    #[inline]
    fn word(&self, w: u32) -> bool {
        if w == UNK || w == BOS || (w == EOS && !self.allow_end) {
            return false;
        }
        let Some(prefix) = &self.prefix else {
            return true;
        };
        let word = self.model.vocab.word(w);
        if !self.ignore_case {
            return word.starts_with(prefix.as_str());
        }
        let mut lower = word.chars().flat_map(char::to_lowercase);
        prefix.chars().all(|c| lower.next() == Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The best `k` of the whole vocabulary, each word scored as `log10_prob` scores it (its
    /// probability before the logarithm).
    fn brute(model: &Model, context: &str, opts: &PredictOptions) -> Vec<Prediction> {
        let words: Vec<&str> = tokenize(context).collect();
        let mut state = model.index.bos;
        for w in &words {
            state = model.index.advance(state, model.vocab.id_or_unk(w));
        }
        let filter = Filter::new(model, opts);
        let mut all: Vec<(f64, u32)> = (0..model.vocab.len() as u32)
            .filter(|&w| filter.word(w))
            .map(|w| {
                let word = if w == EOS {
                    "</s>"
                } else {
                    model.vocab.word(w)
                };
                let p = model.index.prob(state, w).0;
                assert_eq!(libm::log10(p), model.log10_prob(&words, word));
                (p, w)
            })
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.truncate(opts.k);
        all.into_iter()
            .filter(|&(p, _)| p >= opts.min_probability)
            .map(|(p, w)| Prediction {
                word: model.vocab.word(w).to_owned(),
                probability: p,
                log10_prob: libm::log10(p),
            })
            .collect()
    }

    #[test]
    fn predictions_are_the_best_of_the_whole_vocabulary() {
        let contexts = [
            "",
            "It is a truth",
            "said Mr",
            "Zyzzyva quux",
            "she was",
            "Elizabeth ,",
            "of the",
        ];
        let options = [
            PredictOptions::default(),
            PredictOptions {
                k: 1,
                ..Default::default()
            },
            PredictOptions {
                k: 25,
                allow_end: true,
                ..Default::default()
            },
            PredictOptions {
                prefix: "s".into(),
                ..Default::default()
            },
            PredictOptions {
                prefix: "E".into(),
                ignore_case: true,
                k: 5,
                ..Default::default()
            },
            PredictOptions {
                prefix: "zz".into(),
                ..Default::default()
            },
            PredictOptions {
                k: 50,
                min_probability: 0.001,
                ..Default::default()
            },
        ];
        for model in crate::testing::tiny_models() {
            for context in contexts {
                for opts in &options {
                    let got = model.predict(context, opts).unwrap();
                    let want = brute(&model, context, opts);
                    assert_eq!(got.len(), want.len(), "{context:?} {opts:?}");
                    for (g, w) in got.iter().zip(&want) {
                        assert_eq!(g.word, w.word, "{context:?} {opts:?}");
                        // The same sums in the same order: the same number.
                        assert_eq!(g.probability, w.probability, "{context:?} {opts:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn scores_sum_to_the_perplexity() {
        let model = crate::testing::tiny_o3();
        let text = "It is a truth universally acknowledged .\n\nZyzzyva quux , it is .\n";
        let scores = model.score(text);
        assert_eq!(scores.len(), 2);
        let ppl = model.perplexity(text);
        let sum: f64 = scores.iter().map(|s| s.log10_prob).sum();
        assert!((sum - ppl.log10_prob).abs() < 1e-9);
        let tokens: Vec<&TokenScore> = scores.iter().flat_map(|s| &s.tokens).collect();
        assert_eq!(tokens.len() as u64, ppl.tokens);
        assert_eq!(tokens.iter().filter(|t| t.oov).count() as u64, ppl.oov);
        assert_eq!(scores[1].tokens[0].token, "Zyzzyva");
        assert!(scores[1].tokens[0].oov && scores[1].tokens[0].ngram_length == 1);
        assert_eq!(scores[0].tokens.last().unwrap().token, "</s>");
        assert!(tokens.iter().all(|t| (1..=3).contains(&t.ngram_length)));
    }

    #[test]
    fn streamed_scores_borrow_the_text_and_number_the_sentences() {
        let model = crate::testing::tiny_o3();
        let text = "\n  \nIt is a truth .\n\nZyzzyva quux\r\nit";
        let streamed: Vec<Scored> = model.scores(text).collect();
        let owned = model.score(text);
        assert_eq!(owned.len(), 3);
        let flat: Vec<(usize, &TokenScore)> = owned
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.tokens.iter().map(move |t| (i, t)))
            .collect();
        assert_eq!(streamed.len(), flat.len());
        let range = text.as_bytes().as_ptr_range();
        for (t, (sentence, o)) in streamed.iter().zip(&flat) {
            assert_eq!(t.sentence, *sentence);
            assert_eq!(
                (t.token, t.ngram_length, t.oov),
                (o.token.as_str(), o.ngram_length, o.oov)
            );
            assert_eq!(t.log10_prob.to_bits(), o.log10_prob.to_bits());
            assert_eq!(t.end, t.token == "</s>");
            if !t.end {
                assert!(
                    range.contains(&t.token.as_ptr()),
                    "{} is not borrowed",
                    t.token
                );
            }
        }
        // A sentence's total is the sum of its tokens in order, as the stream gives them.
        let mut sums = [0.0f64; 3];
        for t in &streamed {
            sums[t.sentence] += t.log10_prob;
        }
        for (s, o) in sums.iter().zip(&owned) {
            assert_eq!(s.to_bits(), o.log10_prob.to_bits());
        }
        assert_eq!(model.scores("").count(), 0);
        assert_eq!(model.scores("\n\n \t\n").count(), 0);
    }

    #[test]
    fn candidates_rank_by_probability() {
        let model = crate::testing::tiny_o3();
        let ranked = model.rank("It is a", &["truth", "zyzzyva", "truth universally", ""]);
        let by = |c: &str| ranked.iter().find(|r| r.candidate == c).unwrap();
        assert_eq!(by("").log10_prob, 0.0);
        assert_eq!(by("truth universally").tokens, 2);
        let truth = model.log10_prob(&["It", "is", "a"], "truth");
        assert_eq!(by("truth").log10_prob, truth);
        assert!(by("truth").log10_prob > by("zyzzyva").log10_prob);
        assert!(ranked
            .windows(2)
            .all(|w| w[0].log10_prob >= w[1].log10_prob));
    }
}
