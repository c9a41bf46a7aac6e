//! ARPA back-off model files: export any model, import files made by KenLM and other tools.
//!
//! Export writes each n-gram's full log10 probability and, for n-grams that are contexts, its
//! log10 back-off, as `f32` in shortest round-trip form, so an exported model imports back with
//! the same scores. An imported model keeps the file's probabilities (`f32`, 8 bytes per
//! pattern in the model file) and recovers the interpolation weights from them, so it can
//! generate as well as score.

use std::io::{self, Write};

use rustc_hash::FxHashMap;

use crate::config::MAX_ORDER;
use crate::error::{Error, Result};
use crate::index::ROOT;
use crate::model::Model;
use crate::parts::{Parts, Values};
use crate::trie::Trie;
use crate::vocab::{Vocab, BOS, RESERVED};

/// log10 probability written for words the file gives none (KenLM's convention for `<s>` is 0;
/// this is for a missing `<unk>` or `</s>`).
const ABSENT: f32 = -99.0;

impl Model {
    /// Writes the model as an ARPA file.
    ///
    /// # Errors
    /// Any error of `out`.
    pub fn write_arpa<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        let index = &self.index;
        let order = index.order;
        writeln!(out, "\\data\\")?;
        for (k, n) in self.info.ngrams.iter().enumerate() {
            writeln!(out, "ngram {}={}", k + 1, n)?;
        }
        // Contexts of the current level with their words, flattened with stride `k`.
        let mut frontier: Vec<u32> = vec![ROOT];
        let mut paths: Vec<u32> = Vec::new();
        let mut line = String::new();
        // A model's index lists each pattern once; one from damaged bytes (an index image made
        // elsewhere) could list them without end.
        let mut written = 0u64;
        for k in 1..=order {
            writeln!(out, "\n\\{k}-grams:")?;
            let mut next_frontier = Vec::new();
            let mut next_paths = Vec::new();
            for (j, &ctx) in frontier.iter().enumerate() {
                let path = &paths[j * (k - 1)..j * (k - 1) + (k - 1)];
                let c = index.ctx(ctx);
                for i in 0..c.n {
                    written += 1;
                    if written > index.patterns {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "the model's index lists more patterns than the model has: it is damaged",
                        ));
                    }
                    let w = c.word(i);
                    let lp = if k == 1 && w == BOS {
                        0.0
                    } else {
                        arpa_log_prob(libm::log10(index.prob(ctx, w).0))
                    };
                    line.clear();
                    line.push_str(&fmt_f32(lp));
                    line.push('\t');
                    for &p in path {
                        line.push_str(self.vocab.word(p));
                        line.push(' ');
                    }
                    line.push_str(self.vocab.word(w));
                    if k < order {
                        let nx = c.next(i);
                        let bo = if index.depth_of(nx) as usize == k && nx != ROOT {
                            next_frontier.push(nx);
                            next_paths.extend_from_slice(path);
                            next_paths.push(w);
                            arpa_log_backoff(libm::log10(index.ctx(nx).mass().gamma as f64))
                        } else {
                            0.0
                        };
                        line.push('\t');
                        line.push_str(&fmt_f32(bo));
                    }
                    line.push('\n');
                    out.write_all(line.as_bytes())?;
                }
            }
            frontier = next_frontier;
            paths = next_paths;
        }
        writeln!(out, "\n\\end\\")?;
        Ok(())
    }

    /// The model as an ARPA file in memory.
    pub fn to_arpa(&self) -> String {
        let mut v = Vec::new();
        // Writing to a Vec cannot fail, and every token is UTF-8.
        let _ = self.write_arpa(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    /// Reads an ARPA file (as written by KenLM's `lmplz`, SRILM, or [`Model::write_arpa`]).
    ///
    /// # Errors
    /// [`Error::Arpa`] with the line number for malformed input, or when an n-gram's prefix or
    /// suffix is missing (the index needs both).
    pub fn from_arpa(text: &str) -> Result<Model> {
        let parts = parse(text)?;
        Model::from_parts(parts, None, None, &crate::progress::Meter::none()).map_err(|e| match e {
            Error::Corrupted(m) => Error::Arpa { line: 0, reason: m },
            other => other,
        })
    }
}

/// A log10 probability as an ARPA file may hold it: never above 0 (recomputing a probability of
/// 1 can round to +1e-8, which KenLM refuses: "Positive log probability"), and finite (a
/// probability of 0, such as a missing `<unk>`'s, is written as -99, SRILM's and this module's
/// "never"; a damaged model's NaN too), so that every exported file imports again.
fn arpa_log_prob(lp: f64) -> f32 {
    if lp.is_nan() || lp < f64::from(ABSENT) {
        ABSENT
    } else {
        (lp as f32).min(0.0)
    }
}

/// A log10 back-off weight as an ARPA file may hold it: finite, within ±99 (a weight of 0 is
/// written -99); NaN, which only a damaged model can give, as 0.
fn arpa_log_backoff(lb: f64) -> f32 {
    if lb.is_nan() {
        0.0
    } else {
        lb.clamp(-99.0, 99.0) as f32
    }
}

/// Log10 probabilities above 0 and up to this are taken as 0 on import: earlier exports could
/// round a probability of 1 to +1e-8. Anything higher is a probability above 1: an error.
const POSITIVE_SLACK: f32 = 1e-6;

fn fmt_f32(x: f32) -> String {
    if x == 0.0 {
        "0".to_owned()
    } else {
        format!("{x}")
    }
}

fn err(line: usize, reason: impl Into<String>) -> Error {
    Error::Arpa {
        line,
        reason: reason.into(),
    }
}

#[derive(Clone)]
struct Gram {
    parent: u32,
    word: u32,
    prob: f32,
    backoff: f32,
}

/// Reads an ARPA file: the `\data\` counts, then each order's section, into [`Parts`].
fn parse(text: &str) -> Result<Parts> {
    // Blank lines may come anywhere; line numbers stay those of the file.
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let expect = read_counts(&mut lines)?;
    let mut sections = Sections::new(expect);
    for (no, l) in lines {
        if l.starts_with('\\') {
            if sections.end_section(no, l)? {
                return sections.build();
            }
        } else {
            sections.gram(no, l)?;
        }
    }
    Err(err(0, "no \\end\\"))
}

/// The `\data\` section up to the `\1-grams:` line: the number of n-grams of each order.
fn read_counts<'t>(lines: &mut impl Iterator<Item = (usize, &'t str)>) -> Result<Vec<u64>> {
    match lines.next() {
        None => return Err(err(0, "no \\data\\ section")),
        Some((no, l)) if l != "\\data\\" => return Err(err(no, "expected \\data\\")),
        Some(_) => {}
    }
    let mut expect: Vec<u64> = Vec::new();
    for (no, l) in lines {
        if let Some(rest) = l.strip_prefix("ngram ") {
            let (k, n) = rest
                .split_once('=')
                .ok_or_else(|| err(no, "expected ngram K=N"))?;
            let k: usize = k.trim().parse().map_err(|_| err(no, "bad order"))?;
            let n: u64 = n.trim().parse().map_err(|_| err(no, "bad count"))?;
            if k != expect.len() + 1 || k > MAX_ORDER {
                return Err(err(
                    no,
                    format!("orders must run 1, 2, … up to {MAX_ORDER}"),
                ));
            }
            expect.push(n);
            continue;
        }
        if l == "\\1-grams:" {
            if expect.is_empty() {
                break;
            }
            return Ok(expect);
        }
        return Err(err(no, "expected ngram K=N or \\1-grams:"));
    }
    Err(err(0, "no n-gram counts or sections"))
}

/// The n-gram sections as they are read.
struct Sections {
    /// N-grams per order, from the `\data\` section.
    expect: Vec<u64>,
    vocab: Vocab,
    /// Per word id, its log10 probability and back-off.
    uni: Vec<(f32, f32)>,
    /// Per order from 2 on, its n-grams.
    levels: Vec<Vec<Gram>>,
    /// Per finished order from 2 on, each n-gram's position by (parent, word).
    maps: Vec<FxHashMap<(u32, u32), u32>>,
    /// The order of the section being read.
    k: usize,
    /// N-grams read in it.
    seen: u64,
    /// The word ids of the line being read.
    ids: Vec<u32>,
}

impl Sections {
    fn new(expect: Vec<u64>) -> Sections {
        let order = expect.len();
        let mut uni: Vec<(f32, f32)> = vec![(ABSENT, 0.0); RESERVED as usize];
        uni[BOS as usize].0 = 0.0;
        Sections {
            expect,
            vocab: Vocab::new(),
            uni,
            levels: vec![Vec::new(); order + 1],
            maps: Vec::new(),
            k: 1,
            seen: 0,
            ids: Vec::with_capacity(order),
        }
    }

    /// At a line `l` that starts with `\`: checks the section just read is complete, then
    /// starts the next one. Returns true at `\end\`.
    fn end_section(&mut self, no: usize, l: &str) -> Result<bool> {
        let (k, order) = (self.k, self.expect.len());
        if self.seen != self.expect[k - 1] {
            return Err(err(
                no,
                format!(
                    "{k}-grams: header says {}, found {}",
                    self.expect[k - 1],
                    self.seen
                ),
            ));
        }
        if k >= 2 {
            finish_level(&mut self.levels, &mut self.maps, k, no)?;
        }
        if l == "\\end\\" {
            if k != order {
                return Err(err(no, "\\end\\ before the last order"));
            }
            return Ok(true);
        }
        self.k += 1;
        let k = self.k;
        if k > order || l != format!("\\{k}-grams:") {
            return Err(err(no, format!("expected \\{k}-grams:")));
        }
        self.seen = 0;
        Ok(false)
    }

    /// One n-gram line of the current section: a unigram's values go by its word id, a longer
    /// n-gram joins its level under its prefix.
    fn gram(&mut self, no: usize, l: &str) -> Result<()> {
        let k = self.k;
        let (prob, backoff) = self.fields(no, l)?;
        self.seen += 1;
        let ids = &self.ids;
        if k == 1 {
            let id = ids[0] as usize;
            if id >= self.uni.len() {
                self.uni.resize(id + 1, (ABSENT, 0.0));
            } else if id >= RESERVED as usize {
                return Err(err(no, "duplicate unigram"));
            }
            self.uni[id] = (if id == BOS as usize { 0.0 } else { prob }, backoff);
        } else {
            let mut parent = 1 + ids[0];
            for (j, &w) in ids[1..k - 1].iter().enumerate() {
                parent = *self.maps[j]
                    .get(&(parent, w))
                    .ok_or_else(|| err(no, "n-gram whose prefix is missing"))?;
            }
            self.levels[k].push(Gram {
                parent,
                word: ids[k - 1],
                prob,
                backoff,
            });
        }
        Ok(())
    }

    /// The fields of the n-gram line `l`: its words' ids into `ids` (a unigram's word is added
    /// to the vocabulary), and its log10 probability (at most 0) and back-off (0 if absent).
    fn fields(&mut self, no: usize, l: &str) -> Result<(f32, f32)> {
        let k = self.k;
        let mut f = l.split_whitespace();
        let prob: f32 = f
            .next()
            .and_then(|x| x.parse().ok())
            .ok_or_else(|| err(no, "bad probability"))?;
        self.ids.clear();
        for _ in 0..k {
            let w = f
                .next()
                .ok_or_else(|| err(no, format!("expected {k} words")))?;
            self.ids.push(if k == 1 {
                self.vocab.insert(w)
            } else {
                self.vocab
                    .get(w)
                    .ok_or_else(|| err(no, format!("word `{w}` is not a unigram")))?
            });
        }
        let backoff: f32 = match f.next() {
            Some(x) => x.parse().map_err(|_| err(no, "bad back-off"))?,
            None => 0.0,
        };
        if f.next().is_some() || !prob.is_finite() || !backoff.is_finite() {
            return Err(err(no, "malformed n-gram line"));
        }
        if prob > POSITIVE_SLACK {
            return Err(err(
                no,
                format!("log10 probability {prob} is above 0 (a probability above 1)"),
            ));
        }
        Ok((prob.min(0.0), backoff))
    }

    /// The parts of the sections read.
    fn build(self) -> Result<Parts> {
        let order = self.expect.len();
        build(self.vocab, self.uni, self.levels, order)
    }
}

/// Sorts level `k` by (parent, word) and maps each n-gram to its position in the level, for
/// the prefix look-ups of level `k + 1`.
fn finish_level(
    levels: &mut [Vec<Gram>],
    maps: &mut Vec<FxHashMap<(u32, u32), u32>>,
    k: usize,
    no: usize,
) -> Result<()> {
    let g = &mut levels[k];
    g.sort_unstable_by_key(|x| (x.parent, x.word));
    if g.windows(2)
        .any(|w| w[0].parent == w[1].parent && w[0].word == w[1].word)
    {
        return Err(err(no, format!("duplicate {k}-gram")));
    }
    let mut m = FxHashMap::default();
    m.reserve(g.len());
    for (i, x) in g.iter().enumerate() {
        m.insert((x.parent, x.word), i as u32);
    }
    maps.push(m);
    Ok(())
}

/// Lays the parsed n-grams out as a breadth-first [`Trie`]. Level-2 parents are unigram nodes;
/// deeper parents are positions within the previous level, which sorting made breadth-first.
fn build(
    vocab: Vocab,
    mut uni: Vec<(f32, f32)>,
    levels: Vec<Vec<Gram>>,
    order: usize,
) -> Result<Parts> {
    let v = vocab.len();
    uni.resize(v, (ABSENT, 0.0));
    let mut level_start = vec![0u32, 1, 1 + v as u32];
    for l in &levels[2..] {
        let last = level_start[level_start.len() - 1];
        level_start.push(last + l.len() as u32);
    }
    let total = level_start[order + 1] as usize;
    let ctx_end = level_start[order] as usize;
    let mut word = vec![0u32; total];
    let mut log_prob = vec![0f32; total];
    let mut log_backoff = vec![0f32; ctx_end];
    for (id, &(p, b)) in uni.iter().enumerate() {
        word[1 + id] = id as u32;
        log_prob[1 + id] = p;
        if 1 + id < ctx_end {
            log_backoff[1 + id] = b;
        }
    }
    let mut child_start = vec![0u32; ctx_end + 1];
    child_start[0] = 1;
    for k in 2..=order {
        let (ps, pe) = (level_start[k - 1] as usize, level_start[k] as usize);
        let off = if k == 2 { 0 } else { ps };
        let mut counts = vec![0u32; pe - ps];
        for g in &levels[k] {
            counts[g.parent as usize + off - ps] += 1;
        }
        let mut acc = level_start[k];
        for (i, c) in counts.iter().enumerate() {
            child_start[ps + i] = acc;
            acc += c;
        }
        for (i, g) in levels[k].iter().enumerate() {
            let n = level_start[k] as usize + i;
            word[n] = g.word;
            log_prob[n] = g.prob;
            if n < ctx_end {
                log_backoff[n] = g.backoff;
            }
        }
    }
    child_start[ctx_end] = total as u32;
    let trie = Trie {
        level_start,
        word,
        child_start,
    };
    trie.validate().map_err(|e| err(0, e.to_string()))?;
    Ok(Parts {
        vocab,
        trie,
        values: Values::Probs {
            log_prob,
            log_backoff,
        },
        training: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_values_are_finite_and_probabilities_at_most_0() {
        // log10 of a probability recomputed as 1 + 3e-8.
        assert_eq!(arpa_log_prob(1.3e-8), 0.0);
        assert_eq!(arpa_log_prob(f64::NEG_INFINITY), ABSENT);
        assert_eq!(arpa_log_prob(f64::NAN), ABSENT);
        assert_eq!(arpa_log_prob(-150.0), ABSENT);
        assert_eq!(arpa_log_prob(-2.5), -2.5);
        assert_eq!(fmt_f32(arpa_log_prob(-0.0)), "0");
        assert_eq!(arpa_log_backoff(f64::NEG_INFINITY), -99.0);
        assert_eq!(arpa_log_backoff(f64::INFINITY), 99.0);
        assert_eq!(arpa_log_backoff(f64::NAN), 0.0);
        assert_eq!(arpa_log_backoff(0.25), 0.25);
    }
}
