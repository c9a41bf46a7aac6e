//! The dev split: every [`DEV_EVERY`]-th non-empty line of a corpus file is held out, a model is
//! trained on the rest at each of [`DEV_ORDERS`], and its perplexity on the held-out lines is set
//! next to KenLM's on the same split.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use ultra_efficient_llm::tokenizer::tokenize;
use ultra_efficient_llm::{Perplexity, TrainOptions, Trainer};

use super::files;
use super::CliError;

/// Orders of the dev-split perplexity.
pub const DEV_ORDERS: [usize; 2] = [3, 5];
/// Every this-many-th non-empty line is dev, the rest fit.
pub const DEV_EVERY: u64 = 20;

/// KenLM's dev-split figures (`lmplz` + `query`): the table "Dev-split perplexity" of
/// `../shared/reference/README.md`. Fields: file, order, perplexity incl. OOV, excl. OOV, OOV
/// tokens, tokens (with `</s>`).
const KENLM_DEV: [(&str, usize, f64, f64, u64, u64); 4] = [
    ("en-train.txt", 3, 133.380, 120.923, 572, 53_316),
    ("en-train.txt", 5, 130.167, 117.998, 572, 53_316),
    ("es-train.txt", 3, 77.893, 63.839, 793, 39_201),
    ("es-train.txt", 5, 69.292, 56.702, 793, 39_201),
];

/// The dev-split figures at one order.
#[derive(Debug, Serialize)]
pub struct Dev {
    pub order: usize,
    pub fit_sentences: u64,
    pub dev_sentences: u64,
    pub train_seconds: f64,
    pub measured: Perplexity,
    pub kenlm: Option<Kenlm>,
    /// (measured / KenLM - 1) in percent.
    pub diff_percent: Option<Diff>,
}

/// KenLM's figures for the same file, order and split.
#[derive(Debug, Serialize)]
pub struct Kenlm {
    pub perplexity: f64,
    pub perplexity_excluding_oov: f64,
    pub oov: u64,
    pub tokens: u64,
}

/// Relative differences from KenLM, in percent.
#[derive(Debug, Serialize)]
pub struct Diff {
    pub perplexity: f64,
    pub perplexity_excluding_oov: f64,
}

/// Splits the text: the non-empty lines (lines with a token) are numbered from 1, every
/// [`DEV_EVERY`]-th is dev, the rest fit. Returns (fit, dev, fit lines, dev lines).
pub fn split(text: &str) -> (String, String, u64, u64) {
    let (mut fit, mut dev) = (String::new(), String::new());
    let (mut n_fit, mut n_dev) = (0u64, 0u64);
    let mut n = 0u64;
    for line in text.lines() {
        if tokenize(line).next().is_none() {
            continue;
        }
        n += 1;
        let (dst, count) = if n % DEV_EVERY == 0 {
            (&mut dev, &mut n_dev)
        } else {
            (&mut fit, &mut n_fit)
        };
        dst.push_str(line);
        dst.push('\n');
        *count += 1;
    }
    (fit, dev, n_fit, n_dev)
}

/// The dev-split figures of the file at `path` (named `name`, as KenLM's table names it) at
/// each of [`DEV_ORDERS`].
pub fn dev_split(path: &Path, name: &str) -> Result<Vec<Dev>, CliError> {
    let text = files::read_text(path)?;
    let (fit, dev, fit_sentences, dev_sentences) = split(&text);
    drop(text);
    let mut out = Vec::with_capacity(DEV_ORDERS.len());
    for order in DEV_ORDERS {
        let t0 = Instant::now();
        let mut trainer = Trainer::new(TrainOptions {
            max_pattern_length: order,
            min_frequency: 1,
            max_patterns: 0,
        })?;
        trainer.set_total_bytes(fit.len() as u64);
        trainer.feed(&fit);
        let model = trainer
            .finish()
            .map_err(|e| CliError::about(format!("{name} (fit split)"), e))?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let measured = model.perplexity(&dev);
        let kenlm = kenlm(name, order);
        let diff_percent = kenlm.as_ref().map(|k| diff(&measured, k));
        out.push(Dev {
            order,
            fit_sentences,
            dev_sentences,
            train_seconds,
            measured,
            kenlm,
            diff_percent,
        });
    }
    Ok(out)
}

/// KenLM's figures for the file `name` at `order`, when [`KENLM_DEV`] has them.
fn kenlm(name: &str, order: usize) -> Option<Kenlm> {
    KENLM_DEV
        .iter()
        .find(|k| k.0 == name && k.1 == order)
        .map(|k| Kenlm {
            perplexity: k.2,
            perplexity_excluding_oov: k.3,
            oov: k.4,
            tokens: k.5,
        })
}

/// How far `measured` is from KenLM's `k`, in percent.
fn diff(measured: &Perplexity, k: &Kenlm) -> Diff {
    Diff {
        perplexity: (measured.perplexity / k.perplexity - 1.0) * 100.0,
        perplexity_excluding_oov: (measured.perplexity_excluding_oov / k.perplexity_excluding_oov
            - 1.0)
            * 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_numbers_non_empty_lines() {
        let text: String = (1..=45).map(|i| format!("w{i}\n\n")).collect();
        let (fit, dev, n_fit, n_dev) = split(&text);
        assert_eq!((n_fit, n_dev), (43, 2));
        assert_eq!(dev, "w20\nw40\n");
        assert!(!fit.contains("w20\n") && fit.starts_with("w1\n"));
    }
}
