//! Perplexity: scoring text under a model with KenLM `query`'s definitions, in one call
//! ([`Model::perplexity`]) or streamed in pieces of any size ([`PerplexityScorer`]), which
//! holds no more than the longest run of text without whitespace.

use serde::{Deserialize, Serialize};

use crate::index::Index;
use crate::model::Model;
use crate::tokenizer::tokenize;
use crate::vocab::{EOS, UNK};

/// The declaration of [`Perplexity`], the one list of its fields:
/// `perplexity_fields!(result_fields [m ARGS])` hands it to the macro `m`
/// (the form: `src/shapes.rs`). The core makes the struct from it, the WebAssembly bindings its
/// JavaScript object and TypeScript interface.
#[macro_export]
macro_rules! perplexity_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// Perplexity of a text under the model, with KenLM `query`'s definitions.
            #[js_doc = "Perplexity with KenLM `query`'s definitions."]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[non_exhaustive]
            struct Perplexity {
                /// 10^(-log10 P / tokens), every token counted.
                #[js_doc = "10^(-log10Prob / tokens), every token counted."]
                perplexity: f64,
                /// The same without out-of-vocabulary tokens in sum or count.
                #[js_doc = "The same without out-of-vocabulary tokens in sum or count."]
                perplexity_excluding_oov: f64,
                /// Sum of log10 probabilities.
                #[js_doc = "Sum of log10 probabilities."]
                log10_prob: f64,
                /// Sum of log10 probabilities of the in-vocabulary tokens (so results of several
                /// texts can be combined: `10^(-sum / (tokens - oov))`).
                #[js_doc = "Sum of log10 probabilities of the in-vocabulary tokens."]
                log10_prob_excluding_oov: f64,
                /// Tokens scored, one `</s>` per sentence included.
                #[js_doc = "Tokens scored, one </s> per sentence included."]
                tokens: u64,
                /// Tokens not in the vocabulary (scored as `<unk>`).
                #[js_doc = "Tokens not in the vocabulary (scored as <unk>)."]
                oov: u64,
                /// Sentences (non-empty lines).
                #[js_doc = "Sentences (non-empty lines)."]
                sentences: u64,
            }
        }
    };
}

perplexity_fields!(result_fields[declare_result]);

/// Scores text fed in pieces of any size, as [`Model::perplexity`] scores it whole: the same
/// sums in the same order, so the same result to the last bit.
///
/// ```
/// use ultra_efficient_llm::{TrainOptions, Trainer};
/// let mut t = Trainer::new(TrainOptions { max_pattern_length: 3, ..Default::default() })?;
/// t.feed("the cat sat on the mat.\nthe dog sat on the log.\n");
/// let model = t.finish()?;
/// let mut scorer = model.perplexity_scorer();
/// scorer.feed("the cat sat on");
/// scorer.feed(" the log.\nthe dog");
/// assert_eq!(scorer.finish(), model.perplexity("the cat sat on the log.\nthe dog"));
/// # Ok::<(), ultra_efficient_llm::Error>(())
/// ```
pub struct PerplexityScorer<'m> {
    model: &'m Model,
    /// The end of the current line that may still continue a token.
    pending: String,
    /// The current line's state, and whether it has a token yet.
    state: u32,
    any: bool,
    sum: f64,
    sum_known: f64,
    tokens: u64,
    oov: u64,
    sentences: u64,
}

impl<'m> PerplexityScorer<'m> {
    /// Scores `text`, continuing the line the previous piece ended in. Each newline ends a
    /// sentence (a `\r` before it is ignored, as [`str::lines`] does).
    pub fn feed(&mut self, text: &str) {
        let mut rest = text;
        while let Some(nl) = rest.find('\n') {
            let line = &rest[..nl];
            rest = &rest[nl + 1..];
            if self.pending.is_empty() {
                self.tokens_of(line.strip_suffix('\r').unwrap_or(line));
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.push_str(line);
                self.tokens_of(whole.strip_suffix('\r').unwrap_or(&whole));
                whole.clear();
                self.pending = whole;
            }
            self.end_line();
        }
        // No token spans whitespace: the text up to the last whitespace can be scored now.
        match rest.rfind(char::is_whitespace) {
            Some(ws) => {
                let (done, tail) = rest.split_at(ws);
                let mut whole = std::mem::take(&mut self.pending);
                whole.push_str(done);
                self.tokens_of(&whole);
                whole.clear();
                whole.push_str(tail);
                self.pending = whole;
            }
            None => self.pending.push_str(rest),
        }
    }

    /// The perplexity of everything fed (a last line without a newline counts).
    pub fn finish(mut self) -> Perplexity {
        let last = std::mem::take(&mut self.pending);
        self.tokens_of(last.strip_suffix('\r').unwrap_or(&last));
        self.end_line();
        let ppl = |s: f64, n: u64| {
            if n == 0 {
                f64::NAN
            } else {
                libm::pow(10.0, -s / n as f64)
            }
        };
        Perplexity {
            perplexity: ppl(self.sum, self.tokens),
            perplexity_excluding_oov: ppl(self.sum_known, self.tokens - self.oov),
            log10_prob: self.sum,
            log10_prob_excluding_oov: self.sum_known,
            tokens: self.tokens,
            oov: self.oov,
            sentences: self.sentences,
        }
    }

    fn index(&self) -> &'m Index {
        &self.model.index
    }

    fn tokens_of(&mut self, text: &str) {
        let index = self.index();
        for tok in tokenize(text) {
            self.any = true;
            let id = self.model.vocab.id_or_unk(tok);
            let (p, next) = index.prob(self.state, id);
            let lp = libm::log10(p);
            self.sum += lp;
            if id == UNK {
                self.oov += 1;
            } else {
                self.sum_known += lp;
            }
            self.tokens += 1;
            self.state = next;
        }
    }

    /// Ends a sentence: `</s>` after its tokens, if it had any.
    fn end_line(&mut self) {
        if self.any {
            let lp = libm::log10(self.index().prob(self.state, EOS).0);
            self.sum += lp;
            self.sum_known += lp;
            self.tokens += 1;
            self.sentences += 1;
        }
        self.state = self.index().bos;
        self.any = false;
    }
}

impl Model {
    /// Perplexity of `text`: each non-empty line is a sentence scored from `<s>` to `</s>`.
    pub fn perplexity(&self, text: &str) -> Perplexity {
        let mut scorer = self.perplexity_scorer();
        scorer.feed(text);
        scorer.finish()
    }

    /// A scorer for text that comes in pieces (a large file, several files): see
    /// [`PerplexityScorer`].
    pub fn perplexity_scorer(&self) -> PerplexityScorer<'_> {
        PerplexityScorer {
            model: self,
            pending: String::new(),
            state: self.index.bos,
            any: false,
            sum: 0.0,
            sum_known: 0.0,
            tokens: 0,
            oov: 0,
            sentences: 0,
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn pieces_of_any_size_score_as_the_whole() {
        let corpus = crate::testing::TINY;
        let model = crate::testing::tiny_o3();
        // Windows line ends, blank lines, unknown words, a last line without a newline.
        let text = format!(
            "{}\r\n\r\n\nZyzzyva quux, it is.\r\nIt is a truth",
            &corpus[..3000].replace('\n', "\r\n")
        );
        let whole = model.perplexity(&text);
        assert!(whole.oov > 0 && whole.sentences > 10);
        for size in [1, 2, 7, 64, 1000, text.len()] {
            let mut scorer = model.perplexity_scorer();
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let mut cut = size.min(rest.len());
                while !rest.is_char_boundary(cut) {
                    cut += 1;
                }
                scorer.feed(&rest[..cut]);
                rest = &rest[cut..];
            }
            assert_eq!(scorer.finish(), whole, "pieces of {size} bytes");
        }
        // The sums of the old whole-text loop, which each line's tokens then its </s> add in order.
        let lines: Vec<&str> = text.lines().collect();
        let sentences = lines
            .iter()
            .filter(|l| crate::tokenizer::tokenize(l).next().is_some())
            .count();
        assert_eq!(whole.sentences, sentences as u64);
    }
}
